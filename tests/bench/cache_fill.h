/*
 * cache_fill.h: the benchmark fill of a whoisd-cache database, for
 * bulkfill (the scale scenario of `make bench`) and test_cache_db.
 */
#ifndef WHOISD_CACHE_FILL_H
#define WHOISD_CACHE_FILL_H

#include <stddef.h>
#include <stdint.h>

#include "daemons/cache/cache_db.h"

/* A registry reply to store with the filled names ({{domain}} and
 * {{DOMAIN}} replaced by the name, every digit drawn per name), and the
 * registry it came from. */
struct cache_fill_text {
	char	*ft_registry;
	char	*ft_text;
	size_t	 ft_len;
};

struct cache_fill_opts {
	const char			*fo_prefix;
	const char			*fo_suffix;
	int				 fo_status;
	double				 fo_now;
	double				 fo_ttl;
	/* Name j gets text j % fo_ntexts; none (no text) when 0. */
	const struct cache_fill_text	*fo_texts;
	size_t				 fo_ntexts;
	/* Called every 100000 rows and at the end; may be NULL. */
	void	(*fo_progress)(uint64_t done, uint64_t n, void *arg);
	void				*fo_arg;
};

/*
 * n synthetic answers named <prefix><i><suffix>, i in 0..n-1, status as
 * given, checked spread over the hour before now, expiring after ttl,
 * rule "bulk", registry "whois.bulk.test" or the text's, written as
 * cache_db_put() writes them.  The names arrive in a scrambled order
 * (batches of n/16, at most CACHE_FILL_BATCH, each sorted), so pages fill
 * as under real random inserts and the bytes per name measured afterwards
 * are honest.  One transaction per batch (it holds the write lock for
 * seconds: fill before the daemons start).  Uses up to 1 GiB of page
 * cache while it runs.  Existing names are replaced.  The count, or -1
 * (cache_db_errmsg() says why).
 */
#define CACHE_FILL_BATCH	1000000
int64_t	 cache_fill(struct cache_db *, uint64_t n,
	    const struct cache_fill_opts *);
/*
 * The same rows in a new file at path laid out as schema version 1 had
 * them (the text deflated inline in answers), written with SQLite
 * directly: the reference the compact layout is measured against, and a
 * version-1 file to migrate.  The count, or -1 with err filled.
 */
int64_t	 cache_fill_v1(const char *path, uint64_t n,
	    const struct cache_fill_opts *, char *err, size_t errlen);

/*
 * Read reply files; each one's registry is "whois." and the name of the
 * directory it is in (tests/corpus/de/registered.txt: whois.de).  0, or
 * -1 with err filled and nothing to free.
 */
int	 cache_fill_texts_load(char *const *paths, size_t n,
	    struct cache_fill_text **texts, char *err, size_t errlen);
void	 cache_fill_texts_free(struct cache_fill_text *, size_t n);

#endif
