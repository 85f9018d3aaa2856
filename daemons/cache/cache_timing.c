/*
 * cache_timing.c: whoisd-cache's timing DB (tables timing and
 * timing_samples): per registry server, lifetime counters and a ring of
 * the last samples, from which latency percentiles are derived.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "common/sqldb.h"
#include "daemons/cache/cache_db.h"
#include "daemons/cache/cache_db_int.h"

int
cache_outcome_parse(const char *s)
{
	if (s == NULL)
		return -1;
	if (strcmp(s, "ok") == 0)
		return CACHE_TIMING_OK;
	if (strcmp(s, "fail") == 0)
		return CACHE_TIMING_FAIL;
	if (strcmp(s, "ratelimited") == 0)
		return CACHE_TIMING_RATELIMITED;
	return -1;
}

/*
 * One registry's counters: n samples more, of which the outcome counts
 * given; *last gets the ring slot of the newest.  0 or -1.
 */
static int
timing_count(struct cache_db *db, int64_t reg, int n, int ok, int fail,
    int rl, double rl_at, int64_t *last)
{
	struct sqldb	*sd = &db->cd_db;
	sqlite3_stmt	*st;
	int		 rc;

	*last = -1;
	st = sqldb_stmt(sd, CACHE_ST_TIMING_UP);
	sqlite3_bind_int64(st, 1, reg);
	sqlite3_bind_int(st, 2, ok);
	sqlite3_bind_int(st, 3, fail);
	sqlite3_bind_int(st, 4, rl);
	if (rl > 0)
		sqlite3_bind_double(st, 5, rl_at);
	sqlite3_bind_int(st, 6, CACHE_TIMING_RING);
	sqlite3_bind_int(st, 7, n);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		*last = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE || *last < 0) {
		sqldb_sqlerr(sd, "timing");
		return -1;
	}
	return 0;
}

static int
timing_sample(struct cache_db *db, int64_t reg, int64_t slot, double now,
    int ms, int outcome)
{
	struct sqldb	*sd = &db->cd_db;
	sqlite3_stmt	*st;

	st = sqldb_stmt(sd, CACHE_ST_TIMING_SAMPLE);
	sqlite3_bind_int64(st, 1, reg);
	sqlite3_bind_int64(st, 2, slot);
	sqlite3_bind_double(st, 3, now);
	sqlite3_bind_int(st, 4, ms);
	sqlite3_bind_int(st, 5, outcome);
	return sqldb_run(sd, st, "timing sample");
}

/* Keep a sample for the batch's commit; 0 or -1 (out of memory). */
static int
timing_pend(struct cache_db *db, int64_t reg, int ms, int outcome,
    double now)
{
	struct cache_tpend	*tp;
	size_t			 cap;

	if (db->cd_ntpend == db->cd_tpcap) {
		cap = db->cd_tpcap == 0 ? 64 : db->cd_tpcap * 2;
		if ((tp = realloc(db->cd_tpend, cap * sizeof(*tp))) ==
		    NULL) {
			sqldb_seterr(&db->cd_db, "timing: out of memory");
			return -1;
		}
		db->cd_tpend = tp;
		db->cd_tpcap = cap;
	}
	tp = &db->cd_tpend[db->cd_ntpend++];
	tp->tp_reg = reg;
	tp->tp_now = now;
	tp->tp_ms = ms;
	tp->tp_outcome = outcome;
	return 0;
}

/*
 * With group commit a sample waits in memory for the batch's commit,
 * which writes each registry's counters once for all of its samples
 * (cache_timing_flush()): the counters' upsert was most of a sample's
 * cost in a burst of misses.
 */
int
cache_db_timing_add(struct cache_db *db, const char *registry, int ms,
    int outcome, double now)
{
	struct sqldb	*sd = &db->cd_db;
	int64_t		 reg, slot;

	if (registry[0] == '\0' || strlen(registry) >= CACHE_REGISTRY_LEN ||
	    ms < 0 || outcome < CACHE_TIMING_OK ||
	    outcome > CACHE_TIMING_RATELIMITED || !(now > 0)) {
		sqldb_seterr(sd, "timing: bad registry, ms or outcome");
		return -1;
	}
	/* In an open batch, a registry already known needs no write yet. */
	if (db->cd_batch && !sqlite3_get_autocommit(sd->sd_sql) &&
	    cache_db_atom(db, registry, CACHE_REGISTRY_LEN, 0, &reg) == 1)
		return timing_pend(db, reg, ms, outcome, now);
	if (cache_db_write_begin(db) == -1)
		return -1;
	if (cache_db_atom(db, registry, CACHE_REGISTRY_LEN, 1, &reg) == -1)
		goto fail;
	if (db->cd_batch) {
		if (cache_db_write_end(db) == -1)
			return -1;
		return timing_pend(db, reg, ms, outcome, now);
	}
	if (timing_count(db, reg, 1, outcome == CACHE_TIMING_OK,
	    outcome == CACHE_TIMING_FAIL, outcome == CACHE_TIMING_RATELIMITED,
	    now, &slot) == -1 ||
	    timing_sample(db, reg, slot, now, ms, outcome) == -1)
		goto fail;
	return cache_db_write_end(db);
 fail:
	cache_db_write_abort(db);
	return -1;
}

void
cache_timing_drop(struct cache_db *db)
{
	db->cd_ntpend = 0;
}

/*
 * Per registry, in arrival order: the counters once, then each sample in
 * the ring slot it would have had alone.  A failure loses the batch (its
 * acknowledgements become errors), as the samples cannot be told apart.
 */
int
cache_timing_flush(struct cache_db *db)
{
	struct cache_tpend	*tp = db->cd_tpend, *t;
	size_t			 n = db->cd_ntpend, i, j;
	int64_t			 reg, last;
	double			 rl_at;
	int			 k, ok, fail, rl;

	if (n == 0)
		return 0;
	if (cache_db_write_begin(db) == -1)
		goto lost;
	for (i = 0; i < n; i++) {
		if ((reg = tp[i].tp_reg) == 0)
			continue;	/* done with an earlier registry */
		k = ok = fail = rl = 0;
		rl_at = 0;
		for (j = i; j < n; j++) {
			t = &tp[j];
			if (t->tp_reg != reg)
				continue;
			k++;
			ok += t->tp_outcome == CACHE_TIMING_OK;
			fail += t->tp_outcome == CACHE_TIMING_FAIL;
			if (t->tp_outcome == CACHE_TIMING_RATELIMITED) {
				rl++;
				rl_at = t->tp_now;
			}
		}
		if (timing_count(db, reg, k, ok, fail, rl, rl_at, &last) == -1)
			goto abort;
		/* The oldest sample's slot: k - 1 before the newest. */
		last = ((last - (k - 1)) % CACHE_TIMING_RING +
		    CACHE_TIMING_RING) % CACHE_TIMING_RING;
		for (j = i; j < n; j++) {
			t = &tp[j];
			if (t->tp_reg != reg)
				continue;
			if (timing_sample(db, reg, last, t->tp_now, t->tp_ms,
			    t->tp_outcome) == -1)
				goto abort;
			last = (last + 1) % CACHE_TIMING_RING;
			t->tp_reg = 0;
		}
	}
	if (cache_db_write_end(db) == -1)
		goto lost;
	cache_timing_drop(db);
	return 0;
 abort:
	cache_db_write_abort(db);
 lost:
	cache_timing_drop(db);
	db->cd_batch_lost = 1;
	return -1;
}

static int
int_cmp(const void *a, const void *b)
{
	int	 x = *(const int *)a, y = *(const int *)b;

	return (x > y) - (x < y);
}

/* Nearest rank: the smallest sample with at least p% at or below it. */
static int
percentile(const int *v, int n, int p)
{
	int	 rank;

	if (n == 0)
		return 0;
	rank = (p * n + 99) / 100;
	if (rank < 1)
		rank = 1;
	return v[rank - 1];
}

static int
timing_read(struct cache_db *db, int64_t reg, double now,
    struct cache_timing *out)
{
	struct sqldb	*sd = &db->cd_db;
	sqlite3_stmt	*st;
	int		 ms[CACHE_TIMING_RING];
	int		 rc, n = 0, found = 0;

	st = sqldb_stmt(sd, CACHE_ST_TIMING_CTR);
	sqlite3_bind_int64(st, 1, reg);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		found = 1;
		out->tm_ok = (uint64_t)sqlite3_column_int64(st, 0);
		out->tm_fail = (uint64_t)sqlite3_column_int64(st, 1);
		out->tm_ratelimited = (uint64_t)sqlite3_column_int64(st, 2);
		out->tm_last_ratelimit = sqlite3_column_double(st, 3);
	}
	sqlite3_reset(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		sqldb_sqlerr(sd, "timing");
		return -1;
	}
	if (!found)
		return 0;
	st = sqldb_stmt(sd, CACHE_ST_TIMING_SAMPLES);
	sqlite3_bind_int64(st, 1, reg);
	sqlite3_bind_double(st, 2, now - CACHE_TIMING_WINDOW);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		switch (sqlite3_column_int(st, 1)) {
		case CACHE_TIMING_OK:
			out->tm_win_ok++;
			if (n < CACHE_TIMING_RING)
				ms[n++] = sqlite3_column_int(st, 0);
			break;
		case CACHE_TIMING_FAIL:
			out->tm_win_fail++;
			break;
		default:
			out->tm_win_ratelimited++;
			break;
		}
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		sqldb_sqlerr(sd, "timing samples");
		return -1;
	}
	qsort(ms, (size_t)n, sizeof(ms[0]), int_cmp);
	out->tm_n = n;
	out->tm_p50 = percentile(ms, n, 50);
	out->tm_p90 = percentile(ms, n, 90);
	out->tm_p99 = percentile(ms, n, 99);
	return 1;
}

int
cache_db_timing_get(struct cache_db *db, const char *registry, double now,
    struct cache_timing *out)
{
	int64_t	 reg;
	int	 rc;

	memset(out, 0, sizeof(*out));
	if (registry[0] == '\0' || strlen(registry) >= CACHE_REGISTRY_LEN) {
		sqldb_seterr(&db->cd_db, "timing: bad registry");
		return -1;
	}
	memcpy(out->tm_registry, registry, strlen(registry) + 1);
	/* This child's samples not yet committed count too. */
	if (cache_timing_flush(db) == -1)
		return -1;
	if (cache_db_read_begin(db, "timing") == -1)
		return -1;
	if ((rc = cache_db_atom(db, registry, CACHE_REGISTRY_LEN, 0,
	    &reg)) == 1)
		rc = timing_read(db, reg, now, out);
	if (rc == -1 || cache_db_read_end(db, "timing") == -1) {
		cache_db_read_abort(db);
		return -1;
	}
	return rc;
}

int
cache_db_timing_each(struct cache_db *db, double now,
    int (*cb)(const struct cache_timing *, void *), void *arg)
{
	struct cache_timing	 t;
	char			**names;
	size_t			 n, i;
	int			 rc, count = 0, failed = 0, stop = 0;

	/* Names first: timing_get runs its own read transaction. */
	if (cache_timing_flush(db) == -1)
		return -1;
	if (sqldb_names(&db->cd_db, sqldb_stmt(&db->cd_db,
	    CACHE_ST_TIMING_NAMES), "timing", &names, &n) == -1)
		return -1;
	for (i = 0; i < n && !failed && !stop; i++) {
		rc = cache_db_timing_get(db, names[i], now, &t);
		if (rc == -1)
			failed = 1;
		else if (rc == 1) {
			count++;
			stop = cb(&t, arg) != 0;
		}
	}
	sqldb_names_free(names, n);
	return failed ? -1 : count;
}
