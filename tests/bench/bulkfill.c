/*
 * bulkfill.c: fill a whoisd-cache database with N synthetic answers, for
 * the scale scenario of `make bench`.
 *
 *   bulkfill DB_PATH N [PREFIX [SUFFIX]]
 *
 * Names are PREFIX<i>SUFFIX (default "scale-" and ".com"), i in 0..N-1,
 * status registered, fresh for a week, no registry text: the rows
 * whoisd-cache serves as cache hits.  Uses cache_fill() (cache_fill.c),
 * which writes through whoisd-cache's own storage layer and schema.
 * Prints one line `BULKFILL {json}` with the row count, the time taken
 * and the database bytes (page_count * page_size, after the WAL is
 * folded back on close).
 */
#include <sys/stat.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/util.h"
#include "daemons/cache/cache_db.h"
#include "tests/bench/cache_fill.h"

static void
bulkfill_progress(uint64_t done, uint64_t n, void *arg)
{
	double	t0 = *(double *)arg;

	fprintf(stderr, "bulkfill: %llu/%llu rows, %.1f s\n",
	    (unsigned long long)done, (unsigned long long)n, now_mono() - t0);
}

int
main(int argc, char **argv)
{
	struct cache_db		*db;
	struct cache_stats	 st;
	struct stat		 sb;
	char			 err[256];
	const char		*prefix = "scale-", *suffix = ".com";
	uint64_t		 n;
	int64_t			 got;
	double			 t0, secs;

	if (argc < 3 || argc > 5) {
		fprintf(stderr, "usage: bulkfill DB_PATH N [PREFIX [SUFFIX]]\n");
		return 2;
	}
	n = strtoull(argv[2], NULL, 10);
	if (argc > 3)
		prefix = argv[3];
	if (argc > 4)
		suffix = argv[4];
	if ((db = cache_db_open(argv[1], err, sizeof(err))) == NULL) {
		fprintf(stderr, "bulkfill: %s: %s\n", argv[1], err);
		return 1;
	}
	t0 = now_mono();
	got = cache_fill(db, n, prefix, suffix, CACHE_REGISTERED,
	    now_wall(), 7 * 86400.0, bulkfill_progress, &t0);
	if (got < 0) {
		fprintf(stderr, "bulkfill: %s\n", cache_db_errmsg(db));
		cache_db_close(db);
		return 1;
	}
	secs = now_mono() - t0;
	memset(&st, 0, sizeof(st));
	if (cache_db_stats(db, now_wall(), &st) == -1)
		fprintf(stderr, "bulkfill: stats: %s\n", cache_db_errmsg(db));
	cache_db_close(db);
	if (stat(argv[1], &sb) == -1)
		sb.st_size = 0;
	printf("BULKFILL {\"rows\":%lld,\"entries\":%llu,\"seconds\":%.2f,"
	    "\"db_bytes\":%llu,\"free_bytes\":%llu,\"file_bytes\":%lld}\n",
	    (long long)got, (unsigned long long)st.cs_entries, secs,
	    (unsigned long long)st.cs_db_bytes,
	    (unsigned long long)st.cs_free_bytes, (long long)sb.st_size);
	return 0;
}
