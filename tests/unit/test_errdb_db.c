/*
 * test_errdb_db.c: unit tests of daemons/errdb/errdb_db.c on real SQLite
 * files in a fresh mkdtemp directory per test.
 *
 * Needs schema/errdb.sql: run from the top of the tree, or set
 * WHOISD_SRCDIR.
 */
#include <sys/types.h>
#include <sys/wait.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "daemons/errdb/errdb_db.h"
#include "tests/unit/unit_util.h"

#define T0	1700000000.0

/* Each test gets a fresh directory with errdb.db in it. */
static int
setup(void **state)
{
	return unit_dir_setup(state, "errdb.db");
}

static struct errdb_db *
open_db(const struct unit_dir *f)
{
	struct errdb_db	*db;
	char		 err[512];

	if ((db = errdb_db_open(f->ud_path, err, sizeof(err))) == NULL)
		fail_msg("open: %s", err);
	return db;
}

/* Add one event; returns dup. */
static int
add(struct errdb_db *db, const char *eid, const char *registry,
    const char *kind, double t, double retry_after)
{
	struct errdb_event	 ev;
	int			 dup = -1;

	memset(&ev, 0, sizeof(ev));
	ev.ee_eid = eid;
	ev.ee_host = "host-a";
	ev.ee_daemon = "whoisd-query";
	ev.ee_registry = registry;
	ev.ee_domain = "example.com";
	ev.ee_kind = kind;
	ev.ee_message = "it went wrong";
	ev.ee_time = t;
	ev.ee_retry_after = retry_after;
	if (errdb_db_add(db, &ev, &dup) != 0)
		fail_msg("add %s: %s", eid, errdb_db_errmsg(db));
	return dup;
}

static int64_t
count(struct errdb_db *db)
{
	int64_t	 n;

	assert_int_equal(errdb_db_count(db, &n), 0);
	return n;
}

/* Health of one registry, copied out of the callback. */
struct hres {
	int			 n;
	struct errdb_health	 h[8];
	char			 names[8][64];
};

static int
health_cb(const struct errdb_health *h, void *arg)
{
	struct hres	*r = arg;

	if (r->n < 8) {
		r->h[r->n] = *h;
		snprintf(r->names[r->n], sizeof(r->names[0]), "%s",
		    h->eh_registry);
		r->h[r->n].eh_registry = r->names[r->n];
	}
	r->n++;
	return 0;
}

static struct errdb_health
health(struct errdb_db *db, const char *registry, double now)
{
	struct hres	 r;

	memset(&r, 0, sizeof(r));
	if (errdb_db_health(db, registry, now, health_cb, &r) != 1)
		fail_msg("health %s: %s", registry, errdb_db_errmsg(db));
	assert_int_equal(r.n, 1);
	assert_string_equal(r.names[0], registry);
	return r.h[0];
}

/* ------------------------------------------------------------------ */

static void
test_idempotent(void **state)
{
	struct unit_dir		*f = *state;
	struct errdb_db		*db = open_db(f);
	struct errdb_event	 ev;
	int			 dup;

	assert_int_equal(add(db, "e1", "whois.a.test", "timeout", T0, 0), 0);
	assert_int_equal(add(db, "e1", "whois.a.test", "timeout", T0, 0), 1);
	/* Same id, other content: still a duplicate; the first copy wins. */
	assert_int_equal(add(db, "e1", "whois.b.test", "reset", T0 + 5, 0), 1);
	assert_int_equal(add(db, "e2", "whois.a.test", "timeout", T0, 0), 0);
	assert_int_equal(count(db), 2);
	assert_int_equal(unit_sql_int(f->ud_path, "SELECT count(*) FROM events"
	    " WHERE eid = 'e1' AND registry = 'whois.a.test'"), 1);

	/* Survives reopen; a replay after restart is still a duplicate. */
	errdb_db_close(db);
	db = open_db(f);
	assert_int_equal(add(db, "e2", "whois.a.test", "timeout", T0, 0), 1);
	assert_int_equal(count(db), 2);

	/* Required fields. */
	memset(&ev, 0, sizeof(ev));
	ev.ee_kind = "timeout";
	ev.ee_time = T0;
	assert_int_equal(errdb_db_add(db, &ev, &dup), -1);
	ev.ee_eid = "";
	assert_int_equal(errdb_db_add(db, &ev, &dup), -1);
	ev.ee_eid = "e3";
	ev.ee_kind = NULL;
	assert_int_equal(errdb_db_add(db, &ev, &dup), -1);
	ev.ee_kind = "timeout";
	ev.ee_time = 0;
	assert_int_equal(errdb_db_add(db, &ev, &dup), -1);
	ev.ee_time = T0;
	/* Optional strings may be NULL. */
	assert_int_equal(errdb_db_add(db, &ev, &dup), 0);
	assert_int_equal(dup, 0);
	assert_int_equal(count(db), 3);
	errdb_db_close(db);
}

static void
test_health_degraded(void **state)
{
	struct unit_dir		*f = *state;
	struct errdb_db		*db = open_db(f);
	struct errdb_health	 h;

	/* Never seen: ok. */
	h = health(db, "whois.a.test", T0);
	assert_int_equal(h.eh_state, ERRDB_OK);
	assert_true(h.eh_last == 0);

	/* An old error does not count. */
	add(db, "old", "whois.a.test", "timeout", T0 - 400, 0);
	add(db, "t1", "whois.a.test", "timeout", T0 - 100, 0);
	add(db, "t2", "whois.a.test", "reset", T0 - 50, 0);
	h = health(db, "whois.a.test", T0);
	assert_int_equal(h.eh_state, ERRDB_OK);
	assert_int_equal(h.eh_errors, 2);
	/* Other registries' errors do not count. */
	add(db, "b1", "whois.b.test", "timeout", T0 - 10, 0);
	h = health(db, "whois.a.test", T0);
	assert_int_equal(h.eh_state, ERRDB_OK);

	add(db, "t3", "whois.a.test", "garbage", T0 - 1, 0);
	h = health(db, "whois.a.test", T0);
	assert_int_equal(h.eh_state, ERRDB_DEGRADED);
	assert_int_equal(h.eh_errors, 3);
	assert_true(h.eh_until == 0);
	assert_true(h.eh_last == T0 - 1);
	assert_string_equal(errdb_state_name(h.eh_state), "degraded");

	/* Five minutes after the first of the three, ok again. */
	h = health(db, "whois.a.test", T0 + 200);
	assert_int_equal(h.eh_state, ERRDB_OK);
	assert_int_equal(h.eh_errors, 2);
	errdb_db_close(db);
}

static void
test_health_retry_after(void **state)
{
	struct unit_dir		*f = *state;
	struct errdb_db		*db = open_db(f);
	struct errdb_health	 h;

	add(db, "r1", "whois.a.test", ERRDB_KIND_RATELIMIT, T0, 120);
	h = health(db, "whois.a.test", T0 + 50);
	assert_int_equal(h.eh_state, ERRDB_BACKOFF);
	assert_true(h.eh_until == T0 + 120);
	assert_int_equal(h.eh_ratelimits, 1);
	assert_int_equal(h.eh_errors, 0);	/* rate limits are not errors */
	assert_string_equal(errdb_state_name(h.eh_state), "backoff");
	h = health(db, "whois.a.test", T0 + 120);
	assert_int_equal(h.eh_state, ERRDB_OK);
	assert_true(h.eh_until == 0);

	/* A longer retry_after that arrives during the back-off extends it. */
	add(db, "r2", "whois.a.test", ERRDB_KIND_RATELIMIT, T0 + 10, 3600);
	h = health(db, "whois.a.test", T0 + 200);
	assert_int_equal(h.eh_state, ERRDB_BACKOFF);
	assert_true(h.eh_until == T0 + 3610);

	/* Back-off wins over degraded. */
	add(db, "x1", "whois.a.test", "timeout", T0 + 190, 0);
	add(db, "x2", "whois.a.test", "timeout", T0 + 191, 0);
	add(db, "x3", "whois.a.test", "timeout", T0 + 192, 0);
	h = health(db, "whois.a.test", T0 + 200);
	assert_int_equal(h.eh_state, ERRDB_BACKOFF);
	assert_int_equal(h.eh_errors, 3);
	h = health(db, "whois.a.test", T0 + 3611);
	assert_int_equal(h.eh_state, ERRDB_OK);
	errdb_db_close(db);
}

static void
test_health_growing_default(void **state)
{
	struct unit_dir		*f = *state;
	struct errdb_db		*db = open_db(f);
	struct errdb_health	 h;
	/* Each rate limit arrives when the previous back-off has ended. */
	static const struct {
		double	at;		/* offset from T0 */
		double	until;		/* expected back-off end */
		int	level;
	} steps[] = {
		{    0,   30, 1 },	/* 30 s */
		{   35,   95, 2 },	/* 60 s */
		{  100,  220, 3 },	/* 120 s */
		{  230,  470, 4 },	/* 240 s */
		{  480,  960, 5 },	/* 480 s */
		{  970, 1870, 6 },	/* 960 s capped at 900 */
		{ 1880, 2780, 7 },	/* still capped */
		/* 10 min and more after the last back-off ended: reset. */
		{ 3381, 3411, 1 },
	};
	char			 eid[32];
	size_t			 i;

	for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		snprintf(eid, sizeof(eid), "rl%zu", i);
		add(db, eid, "whois.a.test", ERRDB_KIND_RATELIMIT,
		    T0 + steps[i].at, 0);
		h = health(db, "whois.a.test", T0 + steps[i].at + 1);
		assert_int_equal(h.eh_state, ERRDB_BACKOFF);
		if (h.eh_until != T0 + steps[i].until)
			fail_msg("step %zu: until +%.0f, want +%.0f", i,
			    h.eh_until - T0, steps[i].until);
		assert_int_equal(h.eh_level, steps[i].level);
		if (i == 0) {
			/*
			 * Rate limits from queries already in flight during
			 * the back-off do not double it.
			 */
			add(db, "burst1", "whois.a.test",
			    ERRDB_KIND_RATELIMIT, T0 + 0.2, 0);
			add(db, "burst2", "whois.a.test",
			    ERRDB_KIND_RATELIMIT, T0 + 3, 0);
			h = health(db, "whois.a.test", T0 + 5);
			assert_true(h.eh_until == T0 + 30);
			assert_int_equal(h.eh_level, 1);
			assert_int_equal(h.eh_ratelimits, 3);
			h = health(db, "whois.a.test", T0 + 30);
			assert_int_equal(h.eh_state, ERRDB_OK);
		}
	}
	/* Exactly 10 minutes after the end still doubles. */
	add(db, "chain", "whois.a.test", ERRDB_KIND_RATELIMIT, T0 + 4011, 0);
	h = health(db, "whois.a.test", T0 + 4012);
	assert_true(h.eh_until == T0 + 4011 + 60);
	/* Kinds other than ratelimited never cause a back-off. */
	add(db, "t", "whois.b.test", "timeout", T0, 0);
	h = health(db, "whois.b.test", T0 + 1);
	assert_int_equal(h.eh_state, ERRDB_OK);
	errdb_db_close(db);
}

static void
test_health_all(void **state)
{
	struct unit_dir	*f = *state;
	struct errdb_db	*db = open_db(f);
	struct hres	 r;

	add(db, "1", "whois.b.test", ERRDB_KIND_RATELIMIT, T0, 0);
	add(db, "2", "whois.a.test", "timeout", T0, 0);
	add(db, "3", "", "internal", T0, 0);	/* no registry: not listed */
	add(db, "4", "whois.old.test", "timeout", T0 - 2 * 86400, 0);
	memset(&r, 0, sizeof(r));
	assert_int_equal(errdb_db_health(db, NULL, T0 + 1, health_cb, &r), 2);
	assert_int_equal(r.n, 2);
	assert_string_equal(r.names[0], "whois.a.test");
	assert_int_equal(r.h[0].eh_state, ERRDB_OK);
	assert_int_equal(r.h[0].eh_errors, 1);
	assert_string_equal(r.names[1], "whois.b.test");
	assert_int_equal(r.h[1].eh_state, ERRDB_BACKOFF);
	assert_true(r.h[1].eh_until == T0 + 30);
	/* "" is the same as NULL. */
	memset(&r, 0, sizeof(r));
	assert_int_equal(errdb_db_health(db, "", T0 + 1, health_cb, &r), 2);
	errdb_db_close(db);
}

struct lres {
	int	n;
	char	eids[32][16];
	char	last_registry[64];
	double	last_retry;
};

static int
list_cb(const struct errdb_event *ev, void *arg)
{
	struct lres	*r = arg;

	if (r->n < 32)
		snprintf(r->eids[r->n], sizeof(r->eids[0]), "%s", ev->ee_eid);
	snprintf(r->last_registry, sizeof(r->last_registry), "%s",
	    ev->ee_registry);
	r->last_retry = ev->ee_retry_after;
	assert_string_equal(ev->ee_host, "host-a");
	assert_string_equal(ev->ee_daemon, "whoisd-query");
	assert_string_equal(ev->ee_domain, "example.com");
	assert_string_equal(ev->ee_message, "it went wrong");
	assert_true(ev->ee_received > T0);
	r->n++;
	return 0;
}

static int
stop_cb(const struct errdb_event *ev, void *arg)
{
	(void)ev;
	++*(int *)arg;
	return 1;
}

static void
check_list(struct errdb_db *db, const char *registry, const char *kind,
    double since, int limit, const char *want)
{
	struct lres	 r;
	char		 got[256] = "";
	int		 i, n;

	memset(&r, 0, sizeof(r));
	n = errdb_db_list(db, registry, kind, since, limit, list_cb, &r);
	assert_int_equal(n, r.n);
	for (i = 0; i < r.n && i < 32; i++) {
		strcat(got, r.eids[i]);
		strcat(got, " ");
	}
	assert_string_equal(got, want);
}

static void
test_list(void **state)
{
	struct unit_dir	*f = *state;
	struct errdb_db	*db = open_db(f);
	struct lres	 r;
	int		 stops = 0;

	add(db, "a1", "whois.a.test", "timeout", T0 + 1, 0);
	add(db, "b1", "whois.b.test", "timeout", T0 + 2, 0);
	add(db, "a2", "whois.a.test", ERRDB_KIND_RATELIMIT, T0 + 3, 60);
	add(db, "b2", "whois.b.test", ERRDB_KIND_RATELIMIT, T0 + 4, 0);
	add(db, "a3", "whois.a.test", "timeout", T0 + 5, 0);
	add(db, "a4", "whois.a.test", "timeout", T0 + 5, 0);	/* same time */

	check_list(db, NULL, NULL, 0, 0, "a4 a3 b2 a2 b1 a1 ");
	check_list(db, "whois.a.test", NULL, 0, 0, "a4 a3 a2 a1 ");
	check_list(db, NULL, ERRDB_KIND_RATELIMIT, 0, 0, "b2 a2 ");
	check_list(db, "whois.a.test", "timeout", 0, 0, "a4 a3 a1 ");
	check_list(db, "", "", T0 + 3, 0, "a4 a3 b2 a2 ");
	check_list(db, NULL, NULL, 0, 2, "a4 a3 ");
	check_list(db, "whois.none.test", NULL, 0, 0, "");

	memset(&r, 0, sizeof(r));
	assert_int_equal(errdb_db_list(db, NULL, ERRDB_KIND_RATELIMIT, T0 + 3,
	    1, list_cb, &r), 1);
	assert_string_equal(r.last_registry, "whois.b.test");
	assert_true(r.last_retry == 0);
	memset(&r, 0, sizeof(r));
	assert_int_equal(errdb_db_list(db, "whois.a.test",
	    ERRDB_KIND_RATELIMIT, 0, 0, list_cb, &r), 1);
	assert_true(r.last_retry == 60);
	/* A callback may stop the walk. */
	assert_int_equal(errdb_db_list(db, NULL, NULL, 0, 0, stop_cb, &stops),
	    1);
	assert_int_equal(stops, 1);
	errdb_db_close(db);
}

static void
test_prune(void **state)
{
	struct unit_dir		*f = *state;
	struct errdb_db		*db = open_db(f);
	char			 eid[32];
	int			 i;

	/* More than one batch of old events, in one transaction to be quick. */
	unit_sql_exec(f->ud_path, "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL"
	    " SELECT i + 1 FROM n WHERE i < 24999)"
	    " INSERT INTO events (eid, time, received, kind)"
	    " SELECT 'old' || i, 1600000000 + i, 1600000000, 'timeout' FROM n");
	for (i = 0; i < 10; i++) {
		snprintf(eid, sizeof(eid), "new%d", i);
		add(db, eid, "whois.a.test", "timeout", T0 + i, 0);
	}
	assert_int_equal(count(db), 25010);
	assert_int_equal(errdb_db_prune(db, T0), 25000);
	assert_int_equal(count(db), 10);
	assert_int_equal(errdb_db_prune(db, T0 + 5), 5);
	assert_int_equal(errdb_db_prune(db, T0 + 5), 0);
	assert_int_equal(count(db), 5);
	errdb_db_close(db);
}

static void
test_migrate_and_refuse(void **state)
{
	struct unit_dir	*f = *state;
	struct errdb_db	*db;
	char		 err[512], other[256];

	unit_sql_exec(f->ud_path,
	    "CREATE TABLE keep_me (x); INSERT INTO keep_me VALUES (7);");
	db = open_db(f);
	assert_int_equal(unit_sql_int(f->ud_path, "PRAGMA user_version"),
	    ERRDB_DB_VERSION);
	assert_int_equal(unit_sql_int(f->ud_path, "SELECT x FROM keep_me"), 7);
	assert_int_equal(unit_sql_int(f->ud_path, "SELECT journal_mode = 'wal'"
	    " FROM pragma_journal_mode"), 1);
	add(db, "m1", "whois.a.test", "timeout", T0, 0);
	errdb_db_close(db);
	db = open_db(f);
	assert_int_equal(count(db), 1);
	errdb_db_close(db);

	snprintf(other, sizeof(other), "%s/newer.db", f->ud_dir);
	unit_sql_exec(other, "PRAGMA user_version = 5;");
	assert_null(errdb_db_open(other, err, sizeof(err)));
	assert_non_null(strstr(err, "newer"));
	assert_non_null(strstr(err, other));
	assert_int_equal(unit_sql_int(other, "PRAGMA user_version"), 5);
}

static void
test_schema_file(void **state)
{
	(void)state;
	unit_schema_file("errdb.sql", errdb_db_schema(), ERRDB_DB_VERSION);
}

/*
 * 4 processes on one new file, each adding 250 events of its own and the
 * same 50 shared ones: 1050 rows, and each shared event reported as new
 * to exactly one process.
 */
static void
test_concurrent(void **state)
{
	struct unit_dir	*f = *state;
	struct errdb_db	*db;
	pid_t		 pids[4];
	char		 eid[32];
	int		 i, k, st, fresh = 0;

	for (k = 0; k < 4; k++) {
		if ((pids[k] = fork()) == 0) {
			char	 err[512];
			int	 mine = 0, dup;

			if ((db = errdb_db_open(f->ud_path, err,
			    sizeof(err))) == NULL) {
				fprintf(stderr, "child %d: %s\n", k, err);
				_exit(255);
			}
			for (i = 0; i < 300; i++) {
				struct errdb_event	 ev;

				memset(&ev, 0, sizeof(ev));
				if (i % 6 == 0)
					snprintf(eid, sizeof(eid), "shared-%d",
					    i / 6);
				else
					snprintf(eid, sizeof(eid), "p%d-%d", k,
					    i);
				ev.ee_eid = eid;
				ev.ee_kind = "timeout";
				ev.ee_registry = "whois.a.test";
				ev.ee_time = T0 + i;
				if (errdb_db_add(db, &ev, &dup) != 0) {
					fprintf(stderr, "child %d: %s\n", k,
					    errdb_db_errmsg(db));
					_exit(254);
				}
				if (i % 6 == 0 && !dup)
					mine++;
			}
			errdb_db_close(db);
			_exit(mine);
		}
		assert_true(pids[k] > 0);
	}
	for (k = 0; k < 4; k++) {
		assert_int_equal(waitpid(pids[k], &st, 0), pids[k]);
		assert_true(WIFEXITED(st));
		assert_true(WEXITSTATUS(st) <= 50);
		fresh += WEXITSTATUS(st);
	}
	assert_int_equal(fresh, 50);
	db = open_db(f);
	assert_int_equal(count(db), 4 * 250 + 50);
	errdb_db_close(db);
}

static void
test_busy(void **state)
{
	struct unit_dir	*f = *state;
	struct errdb_db	*db = open_db(f);
	struct hres	 r;
	sqlite3		*s;

	assert_int_equal(sqlite3_open(f->ud_path, &s), SQLITE_OK);
	assert_int_equal(sqlite3_exec(s, "BEGIN IMMEDIATE", NULL, NULL, NULL),
	    SQLITE_OK);
	errdb_db_set_busy_timeout(db, 100);
	{
		struct errdb_event	 ev;
		int			 dup;

		memset(&ev, 0, sizeof(ev));
		ev.ee_eid = "busy";
		ev.ee_kind = "timeout";
		ev.ee_time = T0;
		assert_int_equal(errdb_db_add(db, &ev, &dup), -1);
		assert_non_null(strstr(errdb_db_errmsg(db), "locked"));
	}
	assert_int_equal(errdb_db_prune(db, T0), -1);
	/* Reads go on during the write (WAL). */
	memset(&r, 0, sizeof(r));
	assert_int_equal(errdb_db_health(db, "whois.a.test", T0, health_cb,
	    &r), 1);
	assert_int_equal(sqlite3_exec(s, "COMMIT", NULL, NULL, NULL),
	    SQLITE_OK);
	sqlite3_close(s);
	assert_int_equal(add(db, "busy", "whois.a.test", "timeout", T0, 0), 0);
	errdb_db_close(db);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_idempotent, setup,
		    unit_dir_teardown),
		cmocka_unit_test_setup_teardown(test_health_degraded, setup,
		    unit_dir_teardown),
		cmocka_unit_test_setup_teardown(test_health_retry_after, setup,
		    unit_dir_teardown),
		cmocka_unit_test_setup_teardown(test_health_growing_default,
		    setup, unit_dir_teardown),
		cmocka_unit_test_setup_teardown(test_health_all, setup,
		    unit_dir_teardown),
		cmocka_unit_test_setup_teardown(test_list, setup,
		    unit_dir_teardown),
		cmocka_unit_test_setup_teardown(test_prune, setup,
		    unit_dir_teardown),
		cmocka_unit_test_setup_teardown(test_migrate_and_refuse, setup,
		    unit_dir_teardown),
		cmocka_unit_test(test_schema_file),
		cmocka_unit_test_setup_teardown(test_concurrent, setup,
		    unit_dir_teardown),
		cmocka_unit_test_setup_teardown(test_busy, setup,
		    unit_dir_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
