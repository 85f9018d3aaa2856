/*
 * cache_speed.c: put and get speed of whoisd-cache's storage layer
 * through its public API only (cache_db.h), so the same file builds
 * against any version of the layer: a before/after of a storage change.
 *
 *   cache_speed DB_PATH N REPLY_FILE...
 *
 * Puts N names (speed-<i>.com, registered) with the reply files as their
 * texts in turn ({{domain}} / {{DOMAIN}} left in: the text is the same
 * file for every name of a registry), one transaction each as the
 * daemon does without group commit, then gets each with its text in a
 * scrambled order.  Prints `SPEED {json}`: microseconds per put and get
 * (median and 99th percentile).
 *
 * cc -D_GNU_SOURCE -I. -Ibuild/gen tests/bench/cache_speed.c \
 *     build/lib/libd_cache.a build/lib/libcommon.a \
 *     -lsqlite3 -lz -lm -levent -lsystemd
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemons/cache/cache_db.h"

static double
mono(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
dbl_cmp(const void *a, const void *b)
{
	double	 x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

int
main(int argc, char **argv)
{
	struct cache_db		*db;
	struct cache_entry	 e, g;
	char			 err[512], **text;
	size_t			*len, nt, i, n, k;
	double			*put, *get, t0, now = (double)time(NULL);
	FILE			*fp;
	long			 sz;

	if (argc < 4) {
		fprintf(stderr, "usage: cache_speed DB_PATH N REPLY_FILE...\n");
		return 2;
	}
	n = strtoul(argv[2], NULL, 10);
	nt = (size_t)argc - 3;
	text = calloc(nt, sizeof(*text));
	len = calloc(nt, sizeof(*len));
	put = calloc(n, sizeof(*put));
	get = calloc(n, sizeof(*get));
	if (text == NULL || len == NULL || put == NULL || get == NULL)
		return 1;
	for (i = 0; i < nt; i++) {
		if ((fp = fopen(argv[3 + i], "r")) == NULL ||
		    fseek(fp, 0, SEEK_END) == -1 || (sz = ftell(fp)) <= 0 ||
		    (text[i] = malloc((size_t)sz)) == NULL)
			return 1;
		rewind(fp);
		len[i] = fread(text[i], 1, (size_t)sz, fp);
		fclose(fp);
	}
	if ((db = cache_db_open(argv[1], err, sizeof(err))) == NULL) {
		fprintf(stderr, "cache_speed: %s\n", err);
		return 1;
	}
	for (i = 0; i < n; i++) {
		memset(&e, 0, sizeof(e));
		snprintf(e.ce_ace, sizeof(e.ce_ace), "speed-%zu.com", i);
		e.ce_status = CACHE_REGISTERED;
		e.ce_checked = now;
		e.ce_latency_ms = 100;
		/* One registry per reply file. */
		snprintf(e.ce_registry, sizeof(e.ce_registry), "whois.%zu",
		    i % nt);
		snprintf(e.ce_rule, sizeof(e.ce_rule), "speed");
		e.ce_text = text[i % nt];
		e.ce_text_len = len[i % nt];
		t0 = mono();
		if (cache_db_put(db, &e, 86400) == -1) {
			fprintf(stderr, "cache_speed: %s\n", cache_db_errmsg(db));
			return 1;
		}
		put[i] = mono() - t0;
	}
	for (i = 0, k = 7; i < n; i++, k = (k + 7919) % n) {
		snprintf(e.ce_ace, sizeof(e.ce_ace), "speed-%zu.com", k);
		t0 = mono();
		if (cache_db_get(db, e.ce_ace, now, CACHE_GET_TEXT, &g) != 1 ||
		    g.ce_text_len != len[k % nt]) {
			fprintf(stderr, "cache_speed: get %s\n", e.ce_ace);
			return 1;
		}
		get[i] = mono() - t0;
		cache_entry_clear(&g);
	}
	cache_db_close(db);
	qsort(put, n, sizeof(*put), dbl_cmp);
	qsort(get, n, sizeof(*get), dbl_cmp);
	printf("SPEED {\"names\":%zu,\"put_p50_us\":%.1f,\"put_p99_us\":%.1f,"
	    "\"get_p50_us\":%.1f,\"get_p99_us\":%.1f}\n",
	    n, put[n / 2] * 1e6, put[n * 99 / 100] * 1e6, get[n / 2] * 1e6,
	    get[n * 99 / 100] * 1e6);
	return 0;
}
