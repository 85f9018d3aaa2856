/*
 * cache_fill.h: the benchmark fill of a whoisd-cache database, for
 * bulkfill (the scale scenario of `make bench`) and test_cache_db.
 */
#ifndef WHOISD_CACHE_FILL_H
#define WHOISD_CACHE_FILL_H

#include <stdint.h>

#include "daemons/cache/cache_db.h"

/*
 * n synthetic answers named <prefix><i><suffix>, i in 0..n-1, status as
 * given, checked spread over the hour before now, expiring after ttl,
 * registry "whois.bulk.test", rule "bulk", no text, written as
 * cache_db_put() writes them.  The names arrive in a scrambled order
 * (batches of n/16, at most CACHE_FILL_BATCH, each sorted), so pages fill
 * as under real random inserts and the bytes per name measured afterwards
 * are honest.  One transaction per batch (it holds the write lock for
 * seconds: fill before the daemons start).  Uses up to 1 GiB of page
 * cache while it runs.  Existing names are replaced.  progress (may be
 * NULL) is called every 100000 rows and at the end.  The count, or -1
 * (cache_db_errmsg() says why).
 */
#define CACHE_FILL_BATCH	1000000
int64_t	 cache_fill(struct cache_db *, uint64_t n, const char *prefix,
	    const char *suffix, int status, double now, double ttl,
	    void (*progress)(uint64_t done, uint64_t n, void *arg),
	    void *arg);

#endif
