/*
 * bulkfill.c: fill a whoisd-cache database with N synthetic answers, for
 * the scale scenario of `make bench` and the bytes-per-name figures of
 * docs/performance.md.
 *
 *   bulkfill [-1] [-t REPLY_FILE]... DB_PATH N [PREFIX [SUFFIX]]
 *
 * Names are PREFIX<i>SUFFIX (default "scale-" and ".com"), i in 0..N-1,
 * status registered, fresh for a week: the rows whoisd-cache serves as
 * cache hits.  With -t, name i stores reply file i % (number of -t) as
 * its registry text, the name substituted for {{domain}} / {{DOMAIN}}
 * and every digit drawn per name (dates, ids), from the registry named
 * after the file's directory; without, no text.
 * -1 writes a new file in the layout of schema version 1 instead, to
 * compare.  Uses cache_fill() / cache_fill_v1() (cache_fill.c).  Prints
 * one line `BULKFILL {json}` with the row count, the time taken and the
 * file's bytes (after the WAL is folded back on close).
 */
#include <sys/stat.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

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

static void
usage(void)
{
	fprintf(stderr, "usage: bulkfill [-1] [-t REPLY_FILE]... DB_PATH N"
	    " [PREFIX [SUFFIX]]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	struct cache_db		*db = NULL;
	struct cache_stats	 st;
	struct cache_fill_opts	 fo;
	struct cache_fill_text	*texts = NULL;
	struct stat		 sb;
	char			 err[512];
	char			**files;
	size_t			 nfiles = 0;
	uint64_t		 n;
	int64_t			 got;
	double			 t0, secs;
	int			 ch, v1 = 0;

	if ((files = calloc((size_t)argc, sizeof(*files))) == NULL)
		return 1;
	while ((ch = getopt(argc, argv, "1t:")) != -1) {
		switch (ch) {
		case '1':
			v1 = 1;
			break;
		case 't':
			files[nfiles++] = optarg;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 2 || argc > 4)
		usage();
	n = strtoull(argv[1], NULL, 10);
	memset(&fo, 0, sizeof(fo));
	fo.fo_prefix = argc > 2 ? argv[2] : "scale-";
	fo.fo_suffix = argc > 3 ? argv[3] : ".com";
	fo.fo_status = CACHE_REGISTERED;
	fo.fo_now = now_wall();
	fo.fo_ttl = 7 * 86400.0;
	fo.fo_progress = bulkfill_progress;
	fo.fo_arg = &t0;
	if (nfiles > 0) {
		if (cache_fill_texts_load(files, nfiles, &texts, err,
		    sizeof(err)) == -1) {
			fprintf(stderr, "bulkfill: %s\n", err);
			return 1;
		}
		fo.fo_texts = texts;
		fo.fo_ntexts = nfiles;
	}
	t0 = now_mono();
	memset(&st, 0, sizeof(st));
	if (v1) {
		if (stat(argv[0], &sb) == 0) {
			fprintf(stderr, "bulkfill: -1 wants a new file\n");
			return 1;
		}
		if ((got = cache_fill_v1(argv[0], n, &fo, err,
		    sizeof(err))) < 0) {
			fprintf(stderr, "bulkfill: %s\n", err);
			return 1;
		}
		st.cs_entries = (uint64_t)got;
	} else {
		if ((db = cache_db_open(argv[0], err, sizeof(err))) == NULL) {
			fprintf(stderr, "bulkfill: %s: %s\n", argv[0], err);
			return 1;
		}
		if ((got = cache_fill(db, n, &fo)) < 0) {
			fprintf(stderr, "bulkfill: %s\n", cache_db_errmsg(db));
			cache_db_close(db);
			return 1;
		}
		if (cache_db_stats(db, now_wall(), &st) == -1)
			fprintf(stderr, "bulkfill: stats: %s\n",
			    cache_db_errmsg(db));
	}
	secs = now_mono() - t0;
	cache_db_close(db);
	if (stat(argv[0], &sb) == -1)
		sb.st_size = 0;
	printf("BULKFILL {\"rows\":%lld,\"entries\":%llu,\"seconds\":%.2f,"
	    "\"db_bytes\":%llu,\"free_bytes\":%llu,\"file_bytes\":%lld,"
	    "\"layout\":%d,\"texts\":%zu,\"bytes_per_name\":%.1f}\n",
	    (long long)got, (unsigned long long)st.cs_entries, secs,
	    (unsigned long long)st.cs_db_bytes,
	    (unsigned long long)st.cs_free_bytes, (long long)sb.st_size,
	    v1 ? 1 : CACHE_DB_VERSION, nfiles,
	    got > 0 ? (double)sb.st_size / (double)got : 0.0);
	cache_fill_texts_free(texts, nfiles);
	free(files);
	return 0;
}
