/*
 * errdb_db.c: whoisd-errdb's SQLite store: error events, and the health
 * and back-off of each registry derived from them.
 *
 * The only file of whoisd-errdb that talks to SQLite (STYLE.md).  The
 * open/migrate helpers repeat those of daemons/cache/cache_db.c on
 * purpose: SQLite stays in one *_db.c per daemon.
 *
 * Durability: WAL with synchronous=NORMAL; a commit is in the -wal file
 * when the call returns, so kill -9 loses no stored event (see
 * cache_db.c for the trade).
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#include "common/sqldb.h"
#include "daemons/errdb/errdb_db.h"

/*
 * schema/errdb.sql, byte for byte (test_errdb_db checks it).  After an
 * edit of the .sql file, regenerate this literal with
 *   sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/^/\t"/' -e 's/$/\\n"/' \
 *       schema/errdb.sql
 */
static const char errdb_db_schema_sql[] =
	"-- schema/errdb.sql: the SQLite database of whoisd-errdb (db_path).\n"
	"--\n"
	"-- This file is the source of truth for the schema, version 1.\n"
	"-- daemons/errdb/errdb_db.c embeds it byte for byte (errdb_db_schema_sql);\n"
	"-- tests/unit/test_errdb_db.c fails if the two differ.  A fresh database\n"
	"-- gets this text whole; an older one gets the migrations in errdb_db.c,\n"
	"-- which must end at the same tables.  A change here is a new version:\n"
	"-- bump user_version, add the migration, copy the text into errdb_db.c.\n"
	"--\n"
	"-- Every error event from every host, stored once per event id (eid) so\n"
	"-- a replayed event (the front's spool, a retried send) is not doubled.\n"
	"-- Health and back-off are derived from these rows when asked, never\n"
	"-- stored.  time is the event's own time (seconds since the epoch, from\n"
	"-- the reporting host's clock); received is the errdb's clock at insert.\n"
	"\n"
	"CREATE TABLE events (\n"
	"	id		INTEGER PRIMARY KEY,\n"
	"	eid		TEXT NOT NULL UNIQUE,\n"
	"	time		REAL NOT NULL,\n"
	"	received	REAL NOT NULL,\n"
	"	host		TEXT NOT NULL DEFAULT '',\n"
	"	daemon		TEXT NOT NULL DEFAULT '',\n"
	"	registry	TEXT NOT NULL DEFAULT '',\n"
	"	domain		TEXT NOT NULL DEFAULT '',\n"
	"	kind		TEXT NOT NULL,\n"
	"	message		TEXT NOT NULL DEFAULT '',\n"
	"	retry_after	REAL		-- seconds; NULL when the registry gave none\n"
	");\n"
	"\n"
	"-- Listing newest first, and retention pruning.\n"
	"CREATE INDEX events_time ON events (time);\n"
	"-- Health: recent errors of one registry.\n"
	"CREATE INDEX events_registry ON events (registry, time);\n"
	"-- Health: one registry's rate limits; listing by kind.\n"
	"CREATE INDEX events_registry_kind ON events (registry, kind, time);\n"
	"CREATE INDEX events_kind ON events (kind, time);\n"
	"\n"
	"PRAGMA user_version = 1;\n";

/*
 * Forward migrations: errdb_db_migrations[v] takes version v to v + 1.
 * Version 0 is an empty file and gets errdb_db_schema_sql whole, so [0]
 * is unused.  Version 1 is the first schema; the next change adds [1].
 */
static const char *const errdb_db_migrations[ERRDB_DB_VERSION] = {
	NULL,
};

#define EVCOLS	"eid, host, daemon, registry, domain, kind, message, time," \
		" retry_after, received"
#define PRUNE_BATCH	10000

enum {
	ST_BEGIN,
	ST_BEGIN_READ,
	ST_COMMIT,
	ST_ROLLBACK,
	ST_ADD,
	ST_RATELIMITS,
	ST_RECENT,
	ST_LAST,
	ST_REGISTRIES,
	ST_LIST_ALL,
	ST_LIST_REG,
	ST_LIST_KIND,
	ST_LIST_BOTH,
	ST_PRUNE,
	ST_COUNT,
	ST__N
};

static const char *const errdb_db_sql[ST__N] = {
	[ST_BEGIN] = "BEGIN IMMEDIATE",
	[ST_BEGIN_READ] = "BEGIN",
	[ST_COMMIT] = "COMMIT",
	[ST_ROLLBACK] = "ROLLBACK",
	[ST_ADD] =
	    "INSERT INTO events (eid, host, daemon, registry, domain, kind,"
	    " message, time, retry_after, received)"
	    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"
	    " ON CONFLICT (eid) DO NOTHING",
	[ST_RATELIMITS] =
	    "SELECT time, retry_after FROM events"
	    " WHERE registry = ?1 AND kind = '" ERRDB_KIND_RATELIMIT "'"
	    " AND time >= ?2 ORDER BY time DESC LIMIT ?3",
	[ST_RECENT] =
	    "SELECT count(*) FROM events"
	    " WHERE registry = ?1 AND time > ?2"
	    " AND kind != '" ERRDB_KIND_RATELIMIT "'",
	[ST_LAST] = "SELECT max(time) FROM events WHERE registry = ?1",
	[ST_REGISTRIES] =
	    "SELECT DISTINCT registry FROM events"
	    " WHERE time >= ?1 AND registry != '' ORDER BY registry",
	[ST_LIST_ALL] =
	    "SELECT " EVCOLS " FROM events WHERE time >= ?3"
	    " ORDER BY time DESC, id DESC LIMIT ?4",
	[ST_LIST_REG] =
	    "SELECT " EVCOLS " FROM events WHERE registry = ?1 AND time >= ?3"
	    " ORDER BY time DESC, id DESC LIMIT ?4",
	[ST_LIST_KIND] =
	    "SELECT " EVCOLS " FROM events WHERE kind = ?2 AND time >= ?3"
	    " ORDER BY time DESC, id DESC LIMIT ?4",
	[ST_LIST_BOTH] =
	    "SELECT " EVCOLS " FROM events WHERE registry = ?1 AND kind = ?2"
	    " AND time >= ?3 ORDER BY time DESC, id DESC LIMIT ?4",
	[ST_PRUNE] =
	    "DELETE FROM events WHERE id IN (SELECT id FROM events"
	    " WHERE time < ?1 LIMIT ?2)",
	[ST_COUNT] = "SELECT count(*) FROM events",
};

struct errdb_db {
	sqlite3		*ed_sql;
	sqlite3_stmt	*ed_st[ST__N];
	char		 ed_err[512];
};

static void	 db_seterr(struct errdb_db *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));

const char *
errdb_state_name(int state)
{
	switch (state) {
	case ERRDB_DEGRADED:
		return "degraded";
	case ERRDB_BACKOFF:
		return "backoff";
	default:
		return "ok";
	}
}

const char *
errdb_db_schema(void)
{
	return errdb_db_schema_sql;
}

const char *
errdb_db_errmsg(const struct errdb_db *db)
{
	return db->ed_err;
}

void
errdb_db_set_busy_timeout(struct errdb_db *db, int ms)
{
	sqlite3_busy_timeout(db->ed_sql, ms);
}

/* ------------------------------------------------------------------ */
/* Helpers */

static void
db_seterr(struct errdb_db *db, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(db->ed_err, sizeof(db->ed_err), fmt, ap);
	va_end(ap);
}

static void
db_sqlerr(struct errdb_db *db, const char *what)
{
	db_seterr(db, "%s: %s", what, sqlite3_errmsg(db->ed_sql));
}

static sqlite3_stmt *
st_get(struct errdb_db *db, int id)
{
	sqlite3_stmt	*st = db->ed_st[id];

	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return st;
}

static int
st_run(struct errdb_db *db, sqlite3_stmt *st, const char *what)
{
	int	 rc;

	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
		db_sqlerr(db, what);
		return -1;
	}
	return 0;
}

static int
db_begin(struct errdb_db *db)
{
	return st_run(db, st_get(db, ST_BEGIN), "begin");
}

static void
db_rollback(struct errdb_db *db)
{
	if (!sqlite3_get_autocommit(db->ed_sql))
		(void)sqlite3_step(st_get(db, ST_ROLLBACK));
	sqlite3_reset(db->ed_st[ST_ROLLBACK]);
}

static int
db_commit(struct errdb_db *db)
{
	if (st_run(db, st_get(db, ST_COMMIT), "commit") == -1) {
		db_rollback(db);
		return -1;
	}
	return 0;
}

/* Bind an optional string; NULL is bound as "" (the columns are NOT NULL). */
static void
bind_opt(sqlite3_stmt *st, int i, const char *s)
{
	sqlite3_bind_text(st, i, s != NULL ? s : "", -1, SQLITE_STATIC);
}

static double
wall_now(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ------------------------------------------------------------------ */
/* Open, migrate, close */

struct errdb_db *
errdb_db_open(const char *path, char *err, size_t errlen)
{
	struct errdb_db		*db;
	struct sqldb_schema	 sc;
	int			 i;

	if ((db = calloc(1, sizeof(*db))) == NULL) {
		snprintf(err, errlen, "%s: out of memory", path);
		return NULL;
	}
	memset(&sc, 0, sizeof(sc));
	sc.ss_daemon = "whoisd-errdb";
	sc.ss_version = ERRDB_DB_VERSION;
	sc.ss_create = errdb_db_schema_sql;
	sc.ss_migrations = errdb_db_migrations;
	sc.ss_pragmas = "PRAGMA synchronous = NORMAL;"
	    "PRAGMA journal_size_limit = 67108864;";
	sc.ss_busy_ms = ERRDB_DB_BUSY_MS;
	if ((db->ed_sql = sqldb_open(path, &sc, db->ed_err,
	    sizeof(db->ed_err))) == NULL)
		goto fail;
	for (i = 0; i < ST__N; i++) {
		if (sqlite3_prepare_v3(db->ed_sql, errdb_db_sql[i], -1,
		    SQLITE_PREPARE_PERSISTENT, &db->ed_st[i], NULL) !=
		    SQLITE_OK) {
			db_sqlerr(db, errdb_db_sql[i]);
			goto fail;
		}
	}
	return db;
 fail:
	snprintf(err, errlen, "%s: %s", path, db->ed_err);
	errdb_db_close(db);
	return NULL;
}

void
errdb_db_close(struct errdb_db *db)
{
	int	 i;

	if (db == NULL)
		return;
	for (i = 0; i < ST__N; i++)
		sqlite3_finalize(db->ed_st[i]);
	sqlite3_close(db->ed_sql);
	free(db);
}

/* ------------------------------------------------------------------ */
/* Events */

static int
field_ok(const char *s, size_t max)
{
	return s == NULL || strnlen(s, max + 1) <= max;
}

int
errdb_db_add(struct errdb_db *db, const struct errdb_event *ev, int *dup)
{
	sqlite3_stmt	*st;

	if (dup != NULL)
		*dup = 0;
	if (ev->ee_eid == NULL || ev->ee_eid[0] == '\0' ||
	    strnlen(ev->ee_eid, ERRDB_EID_MAX + 1) > ERRDB_EID_MAX) {
		db_seterr(db, "add: event id missing or longer than %d",
		    ERRDB_EID_MAX);
		return -1;
	}
	if (ev->ee_kind == NULL || ev->ee_kind[0] == '\0' ||
	    strnlen(ev->ee_kind, ERRDB_KIND_MAX + 1) > ERRDB_KIND_MAX) {
		db_seterr(db, "add %s: kind missing or longer than %d",
		    ev->ee_eid, ERRDB_KIND_MAX);
		return -1;
	}
	if (!(ev->ee_time > 0) || !isfinite(ev->ee_time) ||
	    !isfinite(ev->ee_retry_after)) {
		db_seterr(db, "add %s: bad time or retry_after", ev->ee_eid);
		return -1;
	}
	if (!field_ok(ev->ee_host, ERRDB_FIELD_MAX) ||
	    !field_ok(ev->ee_daemon, ERRDB_FIELD_MAX) ||
	    !field_ok(ev->ee_registry, ERRDB_FIELD_MAX) ||
	    !field_ok(ev->ee_domain, ERRDB_FIELD_MAX) ||
	    !field_ok(ev->ee_message, ERRDB_FIELD_MAX)) {
		db_seterr(db, "add %s: a field is longer than %d", ev->ee_eid,
		    ERRDB_FIELD_MAX);
		return -1;
	}
	if (db_begin(db) == -1)
		return -1;
	st = st_get(db, ST_ADD);
	sqlite3_bind_text(st, 1, ev->ee_eid, -1, SQLITE_STATIC);
	bind_opt(st, 2, ev->ee_host);
	bind_opt(st, 3, ev->ee_daemon);
	bind_opt(st, 4, ev->ee_registry);
	bind_opt(st, 5, ev->ee_domain);
	sqlite3_bind_text(st, 6, ev->ee_kind, -1, SQLITE_STATIC);
	bind_opt(st, 7, ev->ee_message);
	sqlite3_bind_double(st, 8, ev->ee_time);
	if (ev->ee_retry_after > 0)
		sqlite3_bind_double(st, 9, ev->ee_retry_after);
	sqlite3_bind_double(st, 10, wall_now());
	if (st_run(db, st, "add") == -1) {
		db_rollback(db);
		return -1;
	}
	if (dup != NULL)
		*dup = sqlite3_changes(db->ed_sql) == 0;
	return db_commit(db);
}

/* ------------------------------------------------------------------ */
/* Health */

/* One double from a one-row statement (NULL: 0); 0 or -1. */
static int
st_double(struct errdb_db *db, sqlite3_stmt *st, double *v, const char *what)
{
	int	 rc;

	*v = 0;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*v = sqlite3_column_double(st, 0);
	sqlite3_reset(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		db_sqlerr(db, what);
		return -1;
	}
	return 0;
}

/*
 * Replay the registry's recent rate limits, oldest first, to find the
 * back-off in force and its doubling level (see errdb_db.h).
 */
static int
health_backoff(struct errdb_db *db, const char *registry, double now,
    struct errdb_health *h)
{
	double		 t[ERRDB_WALK_MAX], ra[ERRDB_WALK_MAX];
	sqlite3_stmt	*st;
	double		 until = 0, b;
	int		 n = 0, i, level = 0, rc;

	st = st_get(db, ST_RATELIMITS);
	sqlite3_bind_text(st, 1, registry, -1, SQLITE_STATIC);
	sqlite3_bind_double(st, 2, now - ERRDB_LOOKBACK);
	sqlite3_bind_int(st, 3, ERRDB_WALK_MAX);
	while (n < ERRDB_WALK_MAX && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		t[n] = sqlite3_column_double(st, 0);
		ra[n] = sqlite3_column_double(st, 1);	/* NULL: 0 */
		n++;
	}
	if (n == ERRDB_WALK_MAX)
		rc = SQLITE_DONE;
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		db_sqlerr(db, "health");
		return -1;
	}
	for (i = n - 1; i >= 0; i--) {
		if (t[i] > now - ERRDB_BACKOFF_CHAIN)
			h->eh_ratelimits++;
		if (level > 0 && t[i] < until) {
			/* Sent before the back-off began; no doubling. */
			if (ra[i] > 0 && t[i] + ra[i] > until)
				until = t[i] + ra[i];
			continue;
		}
		if (level > 0 && t[i] - until <= ERRDB_BACKOFF_CHAIN)
			level++;
		else
			level = 1;
		if (ra[i] > 0)
			b = ra[i];
		else if (level > 5)
			b = ERRDB_BACKOFF_MAX;
		else
			b = fmin(ERRDB_BACKOFF_BASE * (double)(1 << (level - 1)),
			    ERRDB_BACKOFF_MAX);
		until = t[i] + b;
	}
	h->eh_level = level;
	if (level > 0 && until > now) {
		h->eh_state = ERRDB_BACKOFF;
		h->eh_until = until;
	}
	return 0;
}

static int
health_one(struct errdb_db *db, const char *registry, double now,
    struct errdb_health *h)
{
	sqlite3_stmt	*st;
	double		 errors;

	memset(h, 0, sizeof(*h));
	h->eh_registry = registry;
	if (health_backoff(db, registry, now, h) == -1)
		return -1;
	st = st_get(db, ST_RECENT);
	sqlite3_bind_text(st, 1, registry, -1, SQLITE_STATIC);
	sqlite3_bind_double(st, 2, now - ERRDB_DEGRADED_WINDOW);
	if (st_double(db, st, &errors, "health") == -1)
		return -1;
	h->eh_errors = (int)errors;
	st = st_get(db, ST_LAST);
	sqlite3_bind_text(st, 1, registry, -1, SQLITE_STATIC);
	if (st_double(db, st, &h->eh_last, "health") == -1)
		return -1;
	if (h->eh_state != ERRDB_BACKOFF &&
	    h->eh_errors >= ERRDB_DEGRADED_ERRORS)
		h->eh_state = ERRDB_DEGRADED;
	return 0;
}

int
errdb_db_health(struct errdb_db *db, const char *registry, double now,
    int (*cb)(const struct errdb_health *, void *), void *arg)
{
	struct errdb_health	 h;
	sqlite3_stmt		*st;
	char			**names = NULL, **nn;
	size_t			 n = 0, cap = 0, i;
	int			 rc, count = 0, failed = 0, stop = 0;

	/* One snapshot for the whole answer. */
	if (st_run(db, st_get(db, ST_BEGIN_READ), "health") == -1)
		return -1;
	if (registry != NULL && registry[0] != '\0') {
		if (health_one(db, registry, now, &h) == -1)
			goto fail;
		if (st_run(db, st_get(db, ST_COMMIT), "health") == -1)
			goto fail;
		(void)cb(&h, arg);
		return 1;
	}
	st = st_get(db, ST_REGISTRIES);
	sqlite3_bind_double(st, 1, now - ERRDB_LOOKBACK);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			if ((nn = realloc(names, cap * sizeof(*names))) == NULL)
				break;
			names = nn;
		}
		if ((names[n] = strdup((const char *)
		    sqlite3_column_text(st, 0))) == NULL)
			break;
		n++;
	}
	sqlite3_reset(st);
	if (rc == SQLITE_ROW) {
		db_seterr(db, "health: out of memory");
		failed = 1;
	} else if (rc != SQLITE_DONE) {
		db_sqlerr(db, "health");
		failed = 1;
	}
	for (i = 0; i < n; i++) {
		if (!failed && !stop) {
			if (health_one(db, names[i], now, &h) == -1)
				failed = 1;
			else {
				count++;
				stop = cb(&h, arg) != 0;
			}
		}
		free(names[i]);
	}
	free(names);
	if (failed)
		goto fail;
	if (st_run(db, st_get(db, ST_COMMIT), "health") == -1)
		goto fail;
	return count;
 fail:
	db_rollback(db);
	return -1;
}

/* ------------------------------------------------------------------ */
/* Listing, pruning */

int
errdb_db_list(struct errdb_db *db, const char *registry, const char *kind,
    double since, int limit,
    int (*cb)(const struct errdb_event *, void *), void *arg)
{
	struct errdb_event	 ev;
	sqlite3_stmt		*st;
	int			 byreg, bykind, rc, count = 0;

	byreg = registry != NULL && registry[0] != '\0';
	bykind = kind != NULL && kind[0] != '\0';
	if (limit <= 0)
		limit = ERRDB_LIST_DEFAULT;
	if (limit > ERRDB_LIST_MAX)
		limit = ERRDB_LIST_MAX;
	st = st_get(db, byreg ? (bykind ? ST_LIST_BOTH : ST_LIST_REG) :
	    (bykind ? ST_LIST_KIND : ST_LIST_ALL));
	if (byreg)
		sqlite3_bind_text(st, 1, registry, -1, SQLITE_STATIC);
	if (bykind)
		sqlite3_bind_text(st, 2, kind, -1, SQLITE_STATIC);
	sqlite3_bind_double(st, 3, since);
	sqlite3_bind_int(st, 4, limit);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		ev.ee_eid = (const char *)sqlite3_column_text(st, 0);
		ev.ee_host = (const char *)sqlite3_column_text(st, 1);
		ev.ee_daemon = (const char *)sqlite3_column_text(st, 2);
		ev.ee_registry = (const char *)sqlite3_column_text(st, 3);
		ev.ee_domain = (const char *)sqlite3_column_text(st, 4);
		ev.ee_kind = (const char *)sqlite3_column_text(st, 5);
		ev.ee_message = (const char *)sqlite3_column_text(st, 6);
		ev.ee_time = sqlite3_column_double(st, 7);
		ev.ee_retry_after = sqlite3_column_double(st, 8);
		ev.ee_received = sqlite3_column_double(st, 9);
		count++;
		if (cb(&ev, arg) != 0) {
			rc = SQLITE_DONE;
			break;
		}
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		db_sqlerr(db, "list");
		return -1;
	}
	return count;
}

int64_t
errdb_db_prune(struct errdb_db *db, double older_than)
{
	sqlite3_stmt	*st;
	int64_t		 n, total = 0;

	/* Short transactions: adds from other children wait at most one. */
	do {
		if (db_begin(db) == -1)
			return -1;
		st = st_get(db, ST_PRUNE);
		sqlite3_bind_double(st, 1, older_than);
		sqlite3_bind_int(st, 2, PRUNE_BATCH);
		if (st_run(db, st, "prune") == -1) {
			db_rollback(db);
			return -1;
		}
		n = sqlite3_changes64(db->ed_sql);
		if (db_commit(db) == -1)
			return -1;
		total += n;
	} while (n == PRUNE_BATCH);
	return total;
}

int
errdb_db_count(struct errdb_db *db, int64_t *n)
{
	sqlite3_stmt	*st = st_get(db, ST_COUNT);
	int		 rc;

	*n = 0;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*n = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	if (rc != SQLITE_ROW) {
		db_sqlerr(db, "count");
		return -1;
	}
	return 0;
}
