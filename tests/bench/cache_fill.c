/*
 * cache_fill.c: the benchmark fill of a whoisd-cache database (see
 * cache_fill.h).  It writes through the storage layer's internals
 * (daemons/cache/cache_db_int.h), so the rows are those of the daemon's
 * own schema and statements.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "common/sqldb.h"
#include "daemons/cache/cache_db.h"
#include "daemons/cache/cache_db_int.h"
#include "tests/bench/cache_fill.h"

static uint64_t
gcd64(uint64_t a, uint64_t b)
{
	uint64_t	 t;

	while (b != 0) {
		t = a % b;
		a = b;
		b = t;
	}
	return a;
}

/* One synthetic name of a bulk fill, formatted up front for sorting. */
struct bulk_row {
	uint64_t	 br_j;
	char		 br_name[CACHE_ACE_LEN];
};

static int
bulk_cmp(const void *a, const void *b)
{
	return strcmp(((const struct bulk_row *)a)->br_name,
	    ((const struct bulk_row *)b)->br_name);
}

int64_t
cache_fill(struct cache_db *db, uint64_t n, const char *prefix,
    const char *suffix, int status, double now, double ttl,
    void (*progress)(uint64_t, uint64_t, void *), void *arg)
{
	struct sqldb		*sd = &db->cd_db;
	struct cache_entry	 e;
	struct bulk_row		*rows = NULL;
	sqlite3_stmt		*st;
	int64_t			 reg, rule, checked;
	uint64_t		 i, j, k, m, stride, done = 0, next = 100000;
	char			 restore[64];
	int			 cache_size;

	if (n == 0 || status < CACHE_AVAILABLE || status > CACHE_RESERVED ||
	    !(ttl > 0) || !(now > 0) ||
	    strlen(prefix) + strlen(suffix) + 21 >= CACHE_ACE_LEN) {
		sqldb_seterr(sd, "bulk fill: bad arguments");
		return -1;
	}
	/*
	 * Scramble the order with a stride coprime with n, so i -> j is a
	 * permutation: each batch's names land all over the B-tree as in
	 * real use, and the bytes per name measured afterwards are honest
	 * (pages split as they do under random inserts, not packed full as
	 * an append would leave them).  Within a batch the names are
	 * inserted sorted, which keeps the B-tree descents in the CPU cache:
	 * several times faster than inserting them in scrambled order.
	 */
	stride = (uint64_t)((double)n * 0.6180339887) | 1;
	while (gcd64(stride, n) != 1)
		stride++;
	stride %= n;
	if (stride == 0)
		stride = 1;
	/*
	 * At least 16 batches: a single sorted run into an empty WITHOUT
	 * ROWID table (an index B-tree, which splits pages in half, with no
	 * append fast path) would leave every page half full.
	 */
	m = n / 16 > 0 ? n / 16 : 1;
	if (m > CACHE_FILL_BATCH)
		m = CACHE_FILL_BATCH;
	if ((rows = malloc(m * sizeof(*rows))) == NULL) {
		sqldb_seterr(sd, "bulk fill: out of memory");
		return -1;
	}
	if (sqldb_pragma_int(sd->sd_sql, "PRAGMA cache_size", &cache_size,
	    sd->sd_err, sizeof(sd->sd_err)) == -1) {
		free(rows);
		return -1;
	}
	snprintf(restore, sizeof(restore), "PRAGMA cache_size = %d",
	    cache_size);
	/* Room for the whole working set while filling. */
	if (sqldb_exec(sd->sd_sql, "PRAGMA cache_size = -1048576", "bulk",
	    sd->sd_err, sizeof(sd->sd_err)) == -1) {
		free(rows);
		return -1;
	}

	memset(&e, 0, sizeof(e));
	e.ce_status = status;
	if (cache_db_write_begin(db) == -1)
		goto restore;
	if (cache_db_atom(db, "whois.bulk.test", CACHE_REGISTRY_LEN, 1,
	    &reg) == -1 ||
	    cache_db_atom(db, "bulk", CACHE_RULE_LEN, 1, &rule) == -1)
		goto fail;
	for (i = 0, j = 0; i < n; i += m) {
		if (m > n - i)
			m = n - i;
		for (k = 0; k < m; k++, j = (j + stride) % n) {
			rows[k].br_j = j;
			snprintf(rows[k].br_name, sizeof(rows[k].br_name),
			    "%s%" PRIu64 "%s", prefix, j, suffix);
		}
		qsort(rows, m, sizeof(*rows), bulk_cmp);
		for (k = 0; k < m; k++) {
			memcpy(e.ce_ace, rows[k].br_name, sizeof(e.ce_ace));
			/*
			 * checked follows the sorted position, so the
			 * expires index is walked in order too; it still
			 * spreads over the hour before now.
			 */
			checked = (int64_t)now - (int64_t)(k * 3600 / m);
			e.ce_latency_ms = 20 + (int)(rows[k].br_j % 480);
			st = sqldb_stmt(sd, CACHE_ST_PUT);
			cache_store_bind(st, &e, strlen(e.ce_ace), checked,
			    checked + (int64_t)ttl, reg, rule);
			if (sqldb_run(sd, st, "bulk insert") == -1)
				goto fail;
			if (progress != NULL && ++done == next && done < n) {
				progress(done, n, arg);
				next += 100000;
			}
		}
		if (i + m < n && (cache_db_write_end(db) == -1 ||
		    cache_db_write_begin(db) == -1))
			goto restore;
	}
	if (cache_db_write_end(db) == -1)
		goto restore;
	free(rows);
	/* Give the page cache back: the 1 GiB was for the fill only. */
	if (sqldb_exec(sd->sd_sql, restore, "bulk", sd->sd_err,
	    sizeof(sd->sd_err)) == -1)
		return -1;
	if (progress != NULL)
		progress(n, n, arg);
	return (int64_t)n;
 fail:
	cache_db_write_abort(db);
 restore:
	free(rows);
	/* Keep the error of the failure, not of the restore. */
	(void)sqlite3_exec(sd->sd_sql, restore, NULL, NULL, NULL);
	return -1;
}
