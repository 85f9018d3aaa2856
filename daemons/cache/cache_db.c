/*
 * cache_db.c: whoisd-cache's SQLite store: answers, leases, timing DB.
 *
 * The only file of whoisd-cache that talks to SQLite (STYLE.md).  zlib is
 * used here too, for the registry text at rest: that is storage, not
 * framing, so proto/frame.c stays the only user of zlib on the wire.
 *
 * Durability: WAL with synchronous=NORMAL.  A commit returns once its
 * frames are written to the -wal file; they are in the OS page cache, so
 * kill -9 of the writer (or any process) loses no committed write.  Only
 * an OS crash or power cut may roll back the last commits before the next
 * checkpoint, and never corrupts the file.  synchronous=FULL would add an
 * fsync per commit (milliseconds) to every put and timing sample; a cache
 * can refill a lost answer, so NORMAL is the right trade here.
 */
#include <sys/stat.h>

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>
#include <zlib.h>

#include "common/sqldb.h"
#include "daemons/cache/cache_db.h"

/*
 * schema/cache.sql, byte for byte (test_cache_db checks it).  After an
 * edit of the .sql file, regenerate this literal with
 *   sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/^/\t"/' -e 's/$/\\n"/' \
 *       schema/cache.sql
 */
static const char cache_db_schema_sql[] =
	"-- schema/cache.sql: the SQLite database of whoisd-cache (db_path).\n"
	"--\n"
	"-- This file is the source of truth for the schema, version 1.\n"
	"-- daemons/cache/cache_db.c embeds it byte for byte (cache_db_schema_sql);\n"
	"-- tests/unit/test_cache_db.c fails if the two differ.  A fresh database\n"
	"-- gets this text whole; an older one gets the migrations in cache_db.c,\n"
	"-- which must end at the same tables.  A change here is a new version:\n"
	"-- bump user_version, add the migration, copy the text into cache_db.c.\n"
	"--\n"
	"-- One file holds three things, each child of whoisd-cache opening its own\n"
	"-- connection (WAL mode, so readers never wait for the writer):\n"
	"--   answers          the verdict cache, one row per ACE name\n"
	"--   leases           coalescing: which request is asking the registry\n"
	"--   timing*          the timing DB, per registry server\n"
	"-- Times are seconds since the epoch.  Rows are kept small on purpose\n"
	"-- (issue 6: at most 100 bytes per name without registry text at 10\n"
	"-- million names): WITHOUT ROWID, integer times, strings that repeat on\n"
	"-- every row (registry, rule) interned in atoms.\n"
	"\n"
	"-- Interned strings: registry servers and classifier rules.  Rows are\n"
	"-- never deleted, so an id stays valid forever.\n"
	"CREATE TABLE atoms (\n"
	"	id		INTEGER PRIMARY KEY,\n"
	"	s		TEXT NOT NULL UNIQUE\n"
	");\n"
	"\n"
	"-- The answer cache.  status: 1 available, 2 registered, 3 reserved\n"
	"-- (unknown and invalid are never cached).  text is the registry's reply,\n"
	"-- deflated with zlib when that makes it smaller, stored as is otherwise;\n"
	"-- text_len is its inflated length, so length(text) = text_len means raw.\n"
	"CREATE TABLE answers (\n"
	"	ace		TEXT PRIMARY KEY,\n"
	"	status		INTEGER NOT NULL CHECK (status BETWEEN 1 AND 3),\n"
	"	checked		INTEGER NOT NULL,\n"
	"	expires		INTEGER NOT NULL,\n"
	"	registry	INTEGER,	-- atoms.id\n"
	"	latency_ms	INTEGER,\n"
	"	rule		INTEGER,	-- atoms.id\n"
	"	reason		TEXT,\n"
	"	matched		TEXT,\n"
	"	text		BLOB,\n"
	"	text_len	INTEGER\n"
	") WITHOUT ROWID;\n"
	"\n"
	"-- Expiry sweeps and the fresh/expired counts of stats read this index.\n"
	"CREATE INDEX answers_expires ON answers (expires);\n"
	"\n"
	"-- One live lease per name being filled.  holder is the caller's id;\n"
	"-- a lease past its expiry is free for the next asker, so a holder that\n"
	"-- dies costs one lease TTL.  A put of the name deletes its lease.\n"
	"CREATE TABLE leases (\n"
	"	ace		TEXT PRIMARY KEY,\n"
	"	holder		INTEGER NOT NULL,\n"
	"	expires		REAL NOT NULL\n"
	") WITHOUT ROWID;\n"
	"\n"
	"-- Timing DB: lifetime counters per registry server, and a ring of the\n"
	"-- last 1000 samples (slot = next_slot, advanced on every sample), so the\n"
	"-- table never grows and needs no cleanup.  outcome: 0 ok, 1 fail,\n"
	"-- 2 rate-limited.\n"
	"CREATE TABLE timing (\n"
	"	registry	INTEGER PRIMARY KEY,	-- atoms.id\n"
	"	next_slot	INTEGER NOT NULL,\n"
	"	ok		INTEGER NOT NULL,\n"
	"	fail		INTEGER NOT NULL,\n"
	"	ratelimited	INTEGER NOT NULL,\n"
	"	last_ratelimit	REAL\n"
	");\n"
	"\n"
	"CREATE TABLE timing_samples (\n"
	"	registry	INTEGER NOT NULL,	-- atoms.id\n"
	"	slot		INTEGER NOT NULL,\n"
	"	t		REAL NOT NULL,\n"
	"	ms		INTEGER NOT NULL,\n"
	"	outcome		INTEGER NOT NULL,\n"
	"	PRIMARY KEY (registry, slot)\n"
	") WITHOUT ROWID;\n"
	"\n"
	"-- For operators at the sqlite3 prompt: the answers as text.\n"
	"CREATE VIEW answers_v AS\n"
	"SELECT a.ace,\n"
	"       CASE a.status WHEN 1 THEN 'available' WHEN 2 THEN 'registered'\n"
	"           WHEN 3 THEN 'reserved' END AS status,\n"
	"       datetime(a.checked, 'unixepoch') AS checked,\n"
	"       datetime(a.expires, 'unixepoch') AS expires,\n"
	"       r.s AS registry, a.latency_ms, u.s AS rule, a.reason, a.matched,\n"
	"       a.text_len\n"
	"FROM answers a\n"
	"LEFT JOIN atoms r ON r.id = a.registry\n"
	"LEFT JOIN atoms u ON u.id = a.rule;\n"
	"\n"
	"PRAGMA user_version = 1;\n";

/*
 * Forward migrations: cache_db_migrations[v] takes version v to v + 1.
 * Version 0 is an empty file and gets cache_db_schema_sql whole, so [0]
 * is unused.  Version 1 is the first schema; the next change adds [1].
 */
static const char *const cache_db_migrations[CACHE_DB_VERSION] = {
	NULL,
};

enum {
	ST_BEGIN,
	ST_BEGIN_READ,
	ST_COMMIT,
	ST_ROLLBACK,
	ST_SAVEPOINT,
	ST_RELEASE,
	ST_ROLLBACK_TO,
	ST_ATOM_GET,
	ST_ATOM_ADD,
	ST_GET,
	ST_PUT,
	ST_FRESH,
	ST_PURGE_ONE,
	ST_PURGE_ALL,
	ST_EXPIRE,
	ST_LEASE_GET,
	ST_LEASE_SET,
	ST_LEASE_DEL,
	ST_LEASE_DEL_HOLDER,
	ST_LEASE_EXPIRE,
	ST_TIMING_UP,
	ST_TIMING_SAMPLE,
	ST_TIMING_CTR,
	ST_TIMING_SAMPLES,
	ST_TIMING_NAMES,
	ST_COUNT_ALL,
	ST_COUNT_FRESH,
	ST_COUNT_LEASES,
	ST_PAGE_COUNT,
	ST_PAGE_SIZE,
	ST_FREELIST,
	ST_DATA_VERSION,
	ST__N
};

static const char *const cache_db_sql[ST__N] = {
	[ST_BEGIN] = "BEGIN IMMEDIATE",
	[ST_BEGIN_READ] = "BEGIN",
	[ST_COMMIT] = "COMMIT",
	[ST_ROLLBACK] = "ROLLBACK",
	[ST_SAVEPOINT] = "SAVEPOINT op",
	[ST_RELEASE] = "RELEASE op",
	[ST_ROLLBACK_TO] = "ROLLBACK TO op",
	[ST_ATOM_GET] = "SELECT id FROM atoms WHERE s = ?1",
	[ST_ATOM_ADD] = "INSERT INTO atoms (s) VALUES (?1)",
	[ST_GET] =
	    "SELECT a.status, a.checked, a.expires, r.s, a.latency_ms, u.s,"
	    " a.reason, a.matched, a.text, a.text_len"
	    " FROM answers a"
	    " LEFT JOIN atoms r ON r.id = a.registry"
	    " LEFT JOIN atoms u ON u.id = a.rule"
	    " WHERE a.ace = ?1",
	[ST_PUT] =
	    "INSERT OR REPLACE INTO answers (ace, status, checked, expires,"
	    " registry, latency_ms, rule, reason, matched, text, text_len)"
	    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
	[ST_FRESH] = "SELECT expires FROM answers WHERE ace = ?1",
	[ST_PURGE_ONE] = "DELETE FROM answers WHERE ace = ?1",
	[ST_PURGE_ALL] = "DELETE FROM answers",
	[ST_EXPIRE] =
	    "DELETE FROM answers WHERE ace IN (SELECT ace FROM answers"
	    " WHERE expires < ?1 ORDER BY expires LIMIT ?2)",
	[ST_LEASE_GET] = "SELECT holder, expires FROM leases WHERE ace = ?1",
	[ST_LEASE_SET] =
	    "INSERT OR REPLACE INTO leases (ace, holder, expires)"
	    " VALUES (?1, ?2, ?3)",
	[ST_LEASE_DEL] = "DELETE FROM leases WHERE ace = ?1",
	[ST_LEASE_DEL_HOLDER] =
	    "DELETE FROM leases WHERE ace = ?1 AND holder = ?2",
	[ST_LEASE_EXPIRE] = "DELETE FROM leases WHERE expires <= ?1",
	[ST_TIMING_UP] =
	    "INSERT INTO timing (registry, next_slot, ok, fail, ratelimited,"
	    " last_ratelimit) VALUES (?1, 0, ?2, ?3, ?4, ?5)"
	    " ON CONFLICT (registry) DO UPDATE SET"
	    " next_slot = (next_slot + 1) % ?6,"
	    " ok = ok + excluded.ok, fail = fail + excluded.fail,"
	    " ratelimited = ratelimited + excluded.ratelimited,"
	    " last_ratelimit = coalesce(excluded.last_ratelimit, last_ratelimit)"
	    " RETURNING next_slot",
	[ST_TIMING_SAMPLE] =
	    "INSERT OR REPLACE INTO timing_samples (registry, slot, t, ms,"
	    " outcome) VALUES (?1, ?2, ?3, ?4, ?5)",
	[ST_TIMING_CTR] =
	    "SELECT ok, fail, ratelimited, last_ratelimit FROM timing"
	    " WHERE registry = ?1",
	[ST_TIMING_SAMPLES] =
	    "SELECT ms, outcome FROM timing_samples"
	    " WHERE registry = ?1 AND t > ?2",
	[ST_TIMING_NAMES] =
	    "SELECT a.s FROM timing t JOIN atoms a ON a.id = t.registry"
	    " ORDER BY a.s",
	[ST_COUNT_ALL] = "SELECT count(*) FROM answers",
	[ST_COUNT_FRESH] = "SELECT count(*) FROM answers WHERE expires > ?1",
	[ST_COUNT_LEASES] = "SELECT count(*) FROM leases WHERE expires > ?1",
	[ST_PAGE_COUNT] = "PRAGMA page_count",
	[ST_PAGE_SIZE] = "PRAGMA page_size",
	[ST_FREELIST] = "PRAGMA freelist_count",
	[ST_DATA_VERSION] = "PRAGMA data_version",
};

/* Interned strings seen by this connection; ids never change. */
#define CACHE_ATOMS	256
struct cache_atom {
	int64_t	 at_id;
	char	*at_s;
};

struct cache_db {
	sqlite3			*cd_sql;
	sqlite3_stmt		*cd_st[ST__N];
	char			*cd_path;
	char			 cd_err[512];
	struct cache_atom	 cd_atoms[CACHE_ATOMS];
	int			 cd_natoms;
	/*
	 * One deflate stream for every put, reset between texts: a
	 * compress2() per put allocates and clears ~270 KB of zlib state,
	 * and freeing it trims the heap (brk) every time; that was 38% of
	 * the cache child's CPU on a burst of misses.
	 */
	z_stream		 cd_z;
	int			 cd_z_ready;
	unsigned char		*cd_zbuf;
	size_t			 cd_zcap;
	/* Group commit (cache_db_set_batching). */
	void			(*cd_batch_cb)(void *);
	void			*cd_batch_arg;
	int			 cd_batch;	/* a batch transaction is open */
	int			 cd_batch_lost;	/* ... and SQLite rolled it back */
};

static const char *const cache_status_names[] = {
	[CACHE_UNKNOWN] = "unknown",
	[CACHE_AVAILABLE] = "available",
	[CACHE_REGISTERED] = "registered",
	[CACHE_RESERVED] = "reserved",
	[CACHE_INVALID] = "invalid",
};

static void	 db_seterr(struct cache_db *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));

const char *
cache_status_name(int status)
{
	if (status < 0 || status >= (int)(sizeof(cache_status_names) /
	    sizeof(cache_status_names[0])))
		return "unknown";
	return cache_status_names[status];
}

int
cache_status_parse(const char *s)
{
	int	 i;

	if (s == NULL)
		return CACHE_UNKNOWN;
	for (i = 0; i < (int)(sizeof(cache_status_names) /
	    sizeof(cache_status_names[0])); i++)
		if (strcmp(s, cache_status_names[i]) == 0)
			return i;
	return CACHE_UNKNOWN;
}

double
cache_ttl_for(const struct cache_ttl *tl, int status)
{
	switch (status) {
	case CACHE_AVAILABLE:
		return tl->tl_available;
	case CACHE_REGISTERED:
		return tl->tl_registered;
	case CACHE_RESERVED:
		return tl->tl_reserved;
	default:
		return -1;
	}
}

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

void
cache_entry_clear(struct cache_entry *e)
{
	free(e->ce_text);
	e->ce_text = NULL;
	e->ce_text_len = 0;
}

const char *
cache_db_schema(void)
{
	return cache_db_schema_sql;
}

const char *
cache_db_errmsg(const struct cache_db *db)
{
	return db->cd_err;
}

void
cache_db_set_busy_timeout(struct cache_db *db, int ms)
{
	sqlite3_busy_timeout(db->cd_sql, ms);
}

/* ------------------------------------------------------------------ */
/* Helpers */

static void
db_seterr(struct cache_db *db, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(db->cd_err, sizeof(db->cd_err), fmt, ap);
	va_end(ap);
}

static void
db_sqlerr(struct cache_db *db, const char *what)
{
	db_seterr(db, "%s: %s", what, sqlite3_errmsg(db->cd_sql));
}

/* Copy a column's text into a fixed buffer, cutting if it must. */
static void
col_str(sqlite3_stmt *st, int col, char *buf, size_t len)
{
	const unsigned char	*s;
	size_t			 n;

	buf[0] = '\0';
	if ((s = sqlite3_column_text(st, col)) == NULL)
		return;
	n = (size_t)sqlite3_column_bytes(st, col);
	if (n >= len)
		n = len - 1;
	memcpy(buf, s, n);
	buf[n] = '\0';
}

/* Bind a fixed-size string field; "" is bound as NULL. */
static int
bind_field(sqlite3_stmt *st, int i, const char *s, size_t size)
{
	size_t	 n;

	n = s == NULL ? 0 : strnlen(s, size);
	if (n == 0)
		return sqlite3_bind_null(st, i);
	return sqlite3_bind_text(st, i, s, (int)n, SQLITE_STATIC);
}

static sqlite3_stmt *
st_get(struct cache_db *db, int id)
{
	sqlite3_stmt	*st = db->cd_st[id];

	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return st;
}

/* Step a statement that returns no row; 0 or -1. */
static int
st_run(struct cache_db *db, sqlite3_stmt *st, const char *what)
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

/* One integer from a one-row statement; 0 or -1. */
static int
st_int64(struct cache_db *db, sqlite3_stmt *st, int64_t *v, const char *what)
{
	int	 rc;

	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*v = sqlite3_column_int64(st, 0);
	else if (rc == SQLITE_DONE)
		*v = 0;
	sqlite3_reset(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		db_sqlerr(db, what);
		return -1;
	}
	return 0;
}

static void
atoms_forget(struct cache_db *db)
{
	int	 i;

	for (i = 0; i < db->cd_natoms; i++)
		free(db->cd_atoms[i].at_s);
	db->cd_natoms = 0;
}

/*
 * One write.  Without batching, its own transaction.  With batching, the
 * first write opens the batch's transaction (and tells the owner, who
 * commits it with cache_db_batch_commit()), and every write is a
 * savepoint of it, so a write that fails leaves the others alone.
 */
static int
db_begin(struct cache_db *db)
{
	if (db->cd_batch_cb == NULL)
		return st_run(db, st_get(db, ST_BEGIN), "begin");
	if (db->cd_batch && sqlite3_get_autocommit(db->cd_sql)) {
		/* SQLite gave up the transaction (disk full, I/O error):
		 * the writes before this one are gone. */
		db->cd_batch_lost = 1;
		db_seterr(db, "begin: the batch was rolled back");
		return -1;
	}
	if (!db->cd_batch) {
		if (st_run(db, st_get(db, ST_BEGIN), "begin") == -1)
			return -1;
		db->cd_batch = 1;
		db->cd_batch_cb(db->cd_batch_arg);
	}
	return st_run(db, st_get(db, ST_SAVEPOINT), "savepoint");
}

static void
db_rollback(struct cache_db *db)
{
	if (db->cd_batch) {
		/* Undo this write only; the batch goes on. */
		if (!sqlite3_get_autocommit(db->cd_sql)) {
			(void)sqlite3_step(st_get(db, ST_ROLLBACK_TO));
			sqlite3_reset(db->cd_st[ST_ROLLBACK_TO]);
			(void)sqlite3_step(st_get(db, ST_RELEASE));
			sqlite3_reset(db->cd_st[ST_RELEASE]);
		} else
			db->cd_batch_lost = 1;
	} else if (!sqlite3_get_autocommit(db->cd_sql)) {
		(void)sqlite3_step(st_get(db, ST_ROLLBACK));
		sqlite3_reset(db->cd_st[ST_ROLLBACK]);
	}
	/* Atoms added by the rolled-back transaction no longer exist. */
	atoms_forget(db);
}

/* End one write: committed, or (batching) part of the open batch. */
static int
db_commit(struct cache_db *db)
{
	if (st_run(db, st_get(db, db->cd_batch ? ST_RELEASE : ST_COMMIT),
	    "commit") == -1) {
		db_rollback(db);
		return -1;
	}
	return 0;
}

/* A read snapshot; inside an open batch, the batch is one already. */
static int
db_read_begin(struct cache_db *db, const char *what)
{
	if (db->cd_batch)
		return 0;
	return st_run(db, st_get(db, ST_BEGIN_READ), what);
}

static int
db_read_end(struct cache_db *db, const char *what)
{
	if (db->cd_batch)
		return 0;
	return st_run(db, st_get(db, ST_COMMIT), what);
}

static void
db_read_abort(struct cache_db *db)
{
	if (!db->cd_batch)
		db_rollback(db);
}

void
cache_db_set_batching(struct cache_db *db, void (*opened)(void *), void *arg)
{
	db->cd_batch_cb = opened;
	db->cd_batch_arg = arg;
}

int
cache_db_batch_open(const struct cache_db *db)
{
	return db->cd_batch;
}

int
cache_db_batch_commit(struct cache_db *db)
{
	int	 lost;

	if (!db->cd_batch)
		return 0;
	db->cd_batch = 0;
	lost = db->cd_batch_lost || sqlite3_get_autocommit(db->cd_sql);
	db->cd_batch_lost = 0;
	if (lost)
		db_seterr(db, "commit: the batch was rolled back");
	if (lost || st_run(db, st_get(db, ST_COMMIT), "commit") == -1) {
		db_rollback(db);
		return -1;
	}
	return 0;
}

/*
 * The id of an interned string: 1 found (or created when create is set,
 * which must be inside a write transaction), 0 absent, -1 error.  An
 * empty string is id 0, stored as NULL.
 */
static int
atom_id(struct cache_db *db, const char *s, size_t size, int create,
    int64_t *id)
{
	sqlite3_stmt	*st;
	size_t		 n;
	int		 i, rc;

	*id = 0;
	if ((n = strnlen(s, size)) == 0)
		return 1;
	for (i = 0; i < db->cd_natoms; i++)
		if (strncmp(db->cd_atoms[i].at_s, s, n) == 0 &&
		    db->cd_atoms[i].at_s[n] == '\0') {
			*id = db->cd_atoms[i].at_id;
			return 1;
		}
	st = st_get(db, ST_ATOM_GET);
	sqlite3_bind_text(st, 1, s, (int)n, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*id = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		db_sqlerr(db, "atom");
		return -1;
	}
	if (rc == SQLITE_DONE) {
		if (!create)
			return 0;
		st = st_get(db, ST_ATOM_ADD);
		sqlite3_bind_text(st, 1, s, (int)n, SQLITE_STATIC);
		if (st_run(db, st, "atom add") == -1)
			return -1;
		*id = sqlite3_last_insert_rowid(db->cd_sql);
	}
	if (db->cd_natoms < CACHE_ATOMS &&
	    (db->cd_atoms[db->cd_natoms].at_s = strndup(s, n)) != NULL)
		db->cd_atoms[db->cd_natoms++].at_id = *id;
	return 1;
}

/* ------------------------------------------------------------------ */
/* Open, migrate, close */

/* The integer a PRAGMA returns; 0 or -1. */
static int
db_pragma_int(struct cache_db *db, const char *sql, int *v)
{
	return sqldb_pragma_int(db->cd_sql, sql, v, db->cd_err,
	    sizeof(db->cd_err));
}

static int
db_exec(struct cache_db *db, const char *sql, const char *what)
{
	return sqldb_exec(db->cd_sql, sql, what, db->cd_err,
	    sizeof(db->cd_err));
}

struct cache_db *
cache_db_open(const char *path, char *err, size_t errlen)
{
	struct cache_db		*db;
	char			 pragmas[256];
	struct sqldb_schema	 sc;
	int			 i;

	if ((db = calloc(1, sizeof(*db))) == NULL ||
	    (db->cd_path = strdup(path)) == NULL) {
		snprintf(err, errlen, "%s: out of memory", path);
		free(db);
		return NULL;
	}
	snprintf(pragmas, sizeof(pragmas),
	    "PRAGMA synchronous = NORMAL;"
	    "PRAGMA mmap_size = %lld;"
	    "PRAGMA journal_size_limit = %d;"
	    "PRAGMA foreign_keys = OFF;",
	    (long long)CACHE_DB_MMAP_BYTES, 64 * 1024 * 1024);
	memset(&sc, 0, sizeof(sc));
	sc.ss_daemon = "whoisd-cache";
	sc.ss_version = CACHE_DB_VERSION;
	sc.ss_create = cache_db_schema_sql;
	sc.ss_migrations = cache_db_migrations;
	sc.ss_pragmas = pragmas;
	sc.ss_busy_ms = CACHE_DB_BUSY_MS;
	if ((db->cd_sql = sqldb_open(path, &sc, db->cd_err,
	    sizeof(db->cd_err))) == NULL)
		goto fail;
	for (i = 0; i < ST__N; i++) {
		if (sqlite3_prepare_v3(db->cd_sql, cache_db_sql[i], -1,
		    SQLITE_PREPARE_PERSISTENT, &db->cd_st[i], NULL) !=
		    SQLITE_OK) {
			db_sqlerr(db, cache_db_sql[i]);
			goto fail;
		}
	}
	return db;
 fail:
	snprintf(err, errlen, "%s: %s", path, db->cd_err);
	cache_db_close(db);
	return NULL;
}

void
cache_db_close(struct cache_db *db)
{
	int	 i;

	if (db == NULL)
		return;
	for (i = 0; i < ST__N; i++)
		sqlite3_finalize(db->cd_st[i]);
	atoms_forget(db);
	if (db->cd_z_ready)
		deflateEnd(&db->cd_z);
	free(db->cd_zbuf);
	/* The last connection to close checkpoints and removes the WAL. */
	sqlite3_close(db->cd_sql);
	free(db->cd_path);
	free(db);
}

/* ------------------------------------------------------------------ */
/* Answers */

/* Read and inflate the text columns of ST_GET; 0 or -1. */
static int
get_text(struct cache_db *db, sqlite3_stmt *st, struct cache_entry *out)
{
	const void	*blob;
	int64_t		 tlen;
	uLongf		 dlen;
	size_t		 blen;
	char		*buf;

	if (sqlite3_column_type(st, 8) == SQLITE_NULL)
		return 0;
	tlen = sqlite3_column_int64(st, 9);
	blob = sqlite3_column_blob(st, 8);
	blen = (size_t)sqlite3_column_bytes(st, 8);
	if (tlen < 0 || tlen > CACHE_TEXT_MAX || (blob == NULL && blen > 0)) {
		db_seterr(db, "text of %s: bad length %" PRId64, out->ce_ace,
		    tlen);
		return -1;
	}
	if ((buf = malloc((size_t)tlen + 1)) == NULL) {
		db_seterr(db, "text of %s: out of memory", out->ce_ace);
		return -1;
	}
	if (blen == (size_t)tlen) {
		memcpy(buf, blob, blen);
	} else {
		dlen = (uLongf)tlen;
		if (uncompress((Bytef *)buf, &dlen, blob, (uLong)blen) != Z_OK ||
		    dlen != (uLongf)tlen) {
			free(buf);
			db_seterr(db, "text of %s: corrupt deflated data",
			    out->ce_ace);
			return -1;
		}
	}
	buf[tlen] = '\0';
	out->ce_text = buf;
	out->ce_text_len = (size_t)tlen;
	return 0;
}

int
cache_db_get(struct cache_db *db, const char *ace, double now, int flags,
    struct cache_entry *out)
{
	sqlite3_stmt	*st;
	size_t		 n;
	int		 rc, ret;

	memset(out, 0, sizeof(*out));
	n = strlen(ace);
	if (n == 0 || n >= sizeof(out->ce_ace)) {
		db_seterr(db, "get: bad name length %zu", n);
		return -1;
	}
	memcpy(out->ce_ace, ace, n + 1);
	st = st_get(db, ST_GET);
	sqlite3_bind_text(st, 1, ace, (int)n, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		sqlite3_reset(st);
		return 0;
	}
	if (rc != SQLITE_ROW) {
		db_sqlerr(db, "get");
		sqlite3_reset(st);
		return -1;
	}
	out->ce_status = sqlite3_column_int(st, 0);
	out->ce_checked = (double)sqlite3_column_int64(st, 1);
	out->ce_expires = (double)sqlite3_column_int64(st, 2);
	col_str(st, 3, out->ce_registry, sizeof(out->ce_registry));
	out->ce_latency_ms = sqlite3_column_int(st, 4);
	col_str(st, 5, out->ce_rule, sizeof(out->ce_rule));
	col_str(st, 6, out->ce_reason, sizeof(out->ce_reason));
	col_str(st, 7, out->ce_matched, sizeof(out->ce_matched));
	ret = out->ce_expires > now ? 1 : 2;
	if ((flags & CACHE_GET_TEXT) && get_text(db, st, out) == -1)
		ret = -1;
	sqlite3_reset(st);
	return ret;
}

/*
 * Deflate len bytes of text into db->cd_zbuf with the connection's one
 * stream (zlib format, default level: what uncompress() reads back);
 * *zlen gets the deflated size.  0 or -1.
 */
static int
text_deflate(struct cache_db *db, const char *text, size_t len, size_t *zlen)
{
	z_stream	*zs = &db->cd_z;
	size_t		 bound;
	unsigned char	*nb;

	if (!db->cd_z_ready) {
		memset(zs, 0, sizeof(*zs));
		if (deflateInit(zs, Z_DEFAULT_COMPRESSION) != Z_OK) {
			db_seterr(db, "deflate: cannot initialise");
			return -1;
		}
		db->cd_z_ready = 1;
	} else if (deflateReset(zs) != Z_OK) {
		db_seterr(db, "deflate: cannot reset");
		return -1;
	}
	bound = deflateBound(zs, (uLong)len);
	if (bound > db->cd_zcap) {
		if ((nb = realloc(db->cd_zbuf, bound)) == NULL) {
			db_seterr(db, "deflate: out of memory");
			return -1;
		}
		db->cd_zbuf = nb;
		db->cd_zcap = bound;
	}
	zs->next_in = (Bytef *)(uintptr_t)text;
	zs->avail_in = (uInt)len;
	zs->next_out = db->cd_zbuf;
	zs->avail_out = (uInt)bound;
	if (deflate(zs, Z_FINISH) != Z_STREAM_END) {
		db_seterr(db, "deflate failed");
		return -1;
	}
	*zlen = bound - zs->avail_out;
	return 0;
}

/* Bind every column of ST_PUT but the text (10, 11). */
static void
put_bind(sqlite3_stmt *st, const struct cache_entry *e, size_t acelen,
    int64_t checked, int64_t expires, int64_t reg, int64_t rule)
{
	sqlite3_bind_text(st, 1, e->ce_ace, (int)acelen, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, e->ce_status);
	sqlite3_bind_int64(st, 3, checked);
	sqlite3_bind_int64(st, 4, expires);
	if (reg)
		sqlite3_bind_int64(st, 5, reg);
	sqlite3_bind_int(st, 6, e->ce_latency_ms < 0 ? 0 : e->ce_latency_ms);
	if (rule)
		sqlite3_bind_int64(st, 7, rule);
	bind_field(st, 8, e->ce_reason, sizeof(e->ce_reason));
	bind_field(st, 9, e->ce_matched, sizeof(e->ce_matched));
}

int
cache_db_put(struct cache_db *db, const struct cache_entry *e, double ttl)
{
	sqlite3_stmt	*st;
	const unsigned char *z = NULL;
	size_t		 zlen = 0;
	size_t		 acelen;
	int64_t		 checked, expires, reg, rule;

	acelen = strnlen(e->ce_ace, sizeof(e->ce_ace));
	if (acelen == 0 || acelen == sizeof(e->ce_ace)) {
		db_seterr(db, "put: bad name");
		return -1;
	}
	if (e->ce_status < CACHE_AVAILABLE || e->ce_status > CACHE_RESERVED) {
		db_seterr(db, "put %s: status %s is never cached", e->ce_ace,
		    cache_status_name(e->ce_status));
		return -1;
	}
	if (!(ttl > 0) || !isfinite(ttl) || !(e->ce_checked > 0) ||
	    !isfinite(e->ce_checked)) {
		db_seterr(db, "put %s: bad checked time or ttl", e->ce_ace);
		return -1;
	}
	if (e->ce_text_len > CACHE_TEXT_MAX ||
	    (e->ce_text_len > 0 && e->ce_text == NULL)) {
		db_seterr(db, "put %s: bad text (%zu bytes, at most %d)",
		    e->ce_ace, e->ce_text_len, CACHE_TEXT_MAX);
		return -1;
	}
	checked = (int64_t)floor(e->ce_checked);
	expires = (int64_t)floor(e->ce_checked + ttl);

	/* Deflate outside the lock: other writers need not wait for zlib. */
	if (e->ce_text_len > 0) {
		if (text_deflate(db, e->ce_text, e->ce_text_len, &zlen) == -1)
			return -1;
		/* Stored raw when deflating does not help; see schema. */
		if (zlen < e->ce_text_len)
			z = db->cd_zbuf;
	}

	if (db_begin(db) == -1)
		return -1;
	if (atom_id(db, e->ce_registry, sizeof(e->ce_registry), 1, &reg) == -1 ||
	    atom_id(db, e->ce_rule, sizeof(e->ce_rule), 1, &rule) == -1)
		goto rollback;
	st = st_get(db, ST_PUT);
	put_bind(st, e, acelen, checked, expires, reg, rule);
	if (e->ce_text_len > 0) {
		if (z != NULL)
			sqlite3_bind_blob(st, 10, z, (int)zlen, SQLITE_STATIC);
		else
			sqlite3_bind_blob(st, 10, e->ce_text,
			    (int)e->ce_text_len, SQLITE_STATIC);
		sqlite3_bind_int64(st, 11, (int64_t)e->ce_text_len);
	}
	if (st_run(db, st, "put") == -1)
		goto rollback;
	st = st_get(db, ST_LEASE_DEL);
	sqlite3_bind_text(st, 1, e->ce_ace, (int)acelen, SQLITE_STATIC);
	if (st_run(db, st, "put: lease") == -1)
		goto rollback;
	if (db_commit(db) == -1)
		return -1;
	return 0;
 rollback:
	db_rollback(db);
	return -1;
}

int64_t
cache_db_purge(struct cache_db *db, const char *ace)
{
	sqlite3_stmt	*st;
	int64_t		 n;

	if (db_begin(db) == -1)
		return -1;
	if (ace != NULL) {
		st = st_get(db, ST_PURGE_ONE);
		sqlite3_bind_text(st, 1, ace, -1, SQLITE_STATIC);
	} else
		st = st_get(db, ST_PURGE_ALL);
	if (st_run(db, st, "purge") == -1) {
		db_rollback(db);
		return -1;
	}
	n = sqlite3_changes64(db->cd_sql);
	if (db_commit(db) == -1)
		return -1;
	return n;
}

int64_t
cache_db_expire(struct cache_db *db, double now, double older_than,
    int64_t max_rows)
{
	sqlite3_stmt	*st;
	int64_t		 n;

	if (db_begin(db) == -1)
		return -1;
	st = st_get(db, ST_EXPIRE);
	/* expires is whole seconds: expires < ceil(t) is expires < t. */
	sqlite3_bind_int64(st, 1, (int64_t)ceil(now - older_than));
	sqlite3_bind_int64(st, 2, max_rows > 0 ? max_rows : -1);
	if (st_run(db, st, "expire") == -1)
		goto fail;
	n = sqlite3_changes64(db->cd_sql);
	st = st_get(db, ST_LEASE_EXPIRE);
	sqlite3_bind_double(st, 1, now);
	if (st_run(db, st, "expire leases") == -1)
		goto fail;
	if (db_commit(db) == -1)
		return -1;
	return n;
 fail:
	db_rollback(db);
	return -1;
}

int
cache_db_stats(struct cache_db *db, double now, struct cache_stats *out)
{
	struct stat	 sb;
	sqlite3_stmt	*st;
	int64_t		 all, fresh, leases, pages, psize, freep;
	char		*wal;

	memset(out, 0, sizeof(*out));
	/* One read transaction: the counts come from one snapshot. */
	if (db_read_begin(db, "stats") == -1)
		return -1;
	if (st_int64(db, st_get(db, ST_COUNT_ALL), &all, "stats") == -1)
		goto fail;
	st = st_get(db, ST_COUNT_FRESH);
	/* Fresh means expires > now; expires is whole seconds. */
	sqlite3_bind_int64(st, 1, (int64_t)floor(now));
	if (st_int64(db, st, &fresh, "stats") == -1)
		goto fail;
	st = st_get(db, ST_COUNT_LEASES);
	sqlite3_bind_double(st, 1, now);
	if (st_int64(db, st, &leases, "stats") == -1 ||
	    st_int64(db, st_get(db, ST_PAGE_COUNT), &pages, "stats") == -1 ||
	    st_int64(db, st_get(db, ST_PAGE_SIZE), &psize, "stats") == -1 ||
	    st_int64(db, st_get(db, ST_FREELIST), &freep, "stats") == -1)
		goto fail;
	if (db_read_end(db, "stats") == -1)
		goto fail;
	out->cs_entries = (uint64_t)all;
	out->cs_fresh = (uint64_t)fresh;
	out->cs_expired = (uint64_t)(all - fresh);
	out->cs_leases = (uint64_t)leases;
	out->cs_db_bytes = (uint64_t)(pages * psize);
	out->cs_free_bytes = (uint64_t)(freep * psize);
	if (asprintf(&wal, "%s-wal", db->cd_path) != -1) {
		if (stat(wal, &sb) == 0)
			out->cs_wal_bytes = (uint64_t)sb.st_size;
		free(wal);
	}
	return 0;
 fail:
	db_read_abort(db);
	return -1;
}

int
cache_db_data_version(struct cache_db *db, int64_t *version)
{
	return st_int64(db, st_get(db, ST_DATA_VERSION), version,
	    "data_version");
}

/* ------------------------------------------------------------------ */
/* Leases */

/* Read the lease of ace: 1 with holder/expiry, 0 none, -1 error. */
static int
lease_read(struct cache_db *db, const char *ace, int64_t *holder,
    double *expires)
{
	sqlite3_stmt	*st;
	int		 rc;

	st = st_get(db, ST_LEASE_GET);
	sqlite3_bind_text(st, 1, ace, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*holder = sqlite3_column_int64(st, 0);
		*expires = sqlite3_column_double(st, 1);
	}
	sqlite3_reset(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		db_sqlerr(db, "lease");
		return -1;
	}
	return rc == SQLITE_ROW;
}

int
cache_db_lease(struct cache_db *db, const char *ace, int64_t holder,
    double now, double ttl, double *until)
{
	sqlite3_stmt	*st;
	int64_t		 h, fresh;
	double		 exp;
	int		 rc;

	if (ace[0] == '\0' || strlen(ace) >= CACHE_ACE_LEN || holder == 0 ||
	    !(ttl > 0)) {
		db_seterr(db, "lease: bad name, holder or ttl");
		return -1;
	}
	/*
	 * Waiters poll: a live lease of someone else is answered from a
	 * read, without queueing for the write lock.
	 */
	if ((rc = lease_read(db, ace, &h, &exp)) == -1)
		return -1;
	if (rc == 1 && exp > now && h != holder) {
		if (until != NULL)
			*until = exp;
		return 0;
	}

	if (db_begin(db) == -1)
		return -1;
	/* A put may have landed since the caller's miss. */
	st = st_get(db, ST_FRESH);
	sqlite3_bind_text(st, 1, ace, -1, SQLITE_STATIC);
	if (st_int64(db, st, &fresh, "lease") == -1)
		goto fail;
	if (fresh > now) {
		if (db_commit(db) == -1)
			return -1;
		return 2;
	}
	if ((rc = lease_read(db, ace, &h, &exp)) == -1)
		goto fail;
	if (rc == 1 && exp > now && h != holder) {
		if (db_commit(db) == -1)
			return -1;
		if (until != NULL)
			*until = exp;
		return 0;
	}
	st = st_get(db, ST_LEASE_SET);
	sqlite3_bind_text(st, 1, ace, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, holder);
	sqlite3_bind_double(st, 3, now + ttl);
	if (st_run(db, st, "lease") == -1)
		goto fail;
	if (db_commit(db) == -1)
		return -1;
	if (until != NULL)
		*until = now + ttl;
	return 1;
 fail:
	db_rollback(db);
	return -1;
}

int
cache_db_lease_release(struct cache_db *db, const char *ace, int64_t holder)
{
	sqlite3_stmt	*st;
	int64_t		 n;

	if (db_begin(db) == -1)
		return -1;
	if (holder != 0) {
		st = st_get(db, ST_LEASE_DEL_HOLDER);
		sqlite3_bind_int64(st, 2, holder);
	} else
		st = st_get(db, ST_LEASE_DEL);
	sqlite3_bind_text(st, 1, ace, -1, SQLITE_STATIC);
	if (st_run(db, st, "lease release") == -1) {
		db_rollback(db);
		return -1;
	}
	n = sqlite3_changes64(db->cd_sql);
	if (db_commit(db) == -1)
		return -1;
	return n > 0;
}

/* ------------------------------------------------------------------ */
/* Timing DB */

int
cache_db_timing_add(struct cache_db *db, const char *registry, int ms,
    int outcome, double now)
{
	sqlite3_stmt	*st;
	int64_t		 reg, slot = -1;
	int		 rc;

	if (registry[0] == '\0' || strlen(registry) >= CACHE_REGISTRY_LEN ||
	    ms < 0 || outcome < CACHE_TIMING_OK ||
	    outcome > CACHE_TIMING_RATELIMITED || !(now > 0)) {
		db_seterr(db, "timing: bad registry, ms or outcome");
		return -1;
	}
	if (db_begin(db) == -1)
		return -1;
	if (atom_id(db, registry, CACHE_REGISTRY_LEN, 1, &reg) == -1)
		goto fail;
	st = st_get(db, ST_TIMING_UP);
	sqlite3_bind_int64(st, 1, reg);
	sqlite3_bind_int(st, 2, outcome == CACHE_TIMING_OK);
	sqlite3_bind_int(st, 3, outcome == CACHE_TIMING_FAIL);
	sqlite3_bind_int(st, 4, outcome == CACHE_TIMING_RATELIMITED);
	if (outcome == CACHE_TIMING_RATELIMITED)
		sqlite3_bind_double(st, 5, now);
	sqlite3_bind_int(st, 6, CACHE_TIMING_RING);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		slot = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE || slot < 0) {
		db_sqlerr(db, "timing");
		goto fail;
	}
	st = st_get(db, ST_TIMING_SAMPLE);
	sqlite3_bind_int64(st, 1, reg);
	sqlite3_bind_int64(st, 2, slot);
	sqlite3_bind_double(st, 3, now);
	sqlite3_bind_int(st, 4, ms);
	sqlite3_bind_int(st, 5, outcome);
	if (st_run(db, st, "timing sample") == -1)
		goto fail;
	return db_commit(db);
 fail:
	db_rollback(db);
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
	sqlite3_stmt	*st;
	int		 ms[CACHE_TIMING_RING];
	int		 rc, n = 0, found = 0;

	st = st_get(db, ST_TIMING_CTR);
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
		db_sqlerr(db, "timing");
		return -1;
	}
	if (!found)
		return 0;
	st = st_get(db, ST_TIMING_SAMPLES);
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
		db_sqlerr(db, "timing samples");
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
		db_seterr(db, "timing: bad registry");
		return -1;
	}
	memcpy(out->tm_registry, registry, strlen(registry) + 1);
	if (db_read_begin(db, "timing") == -1)
		return -1;
	if ((rc = atom_id(db, registry, CACHE_REGISTRY_LEN, 0, &reg)) == 1)
		rc = timing_read(db, reg, now, out);
	if (rc == -1 || db_read_end(db, "timing") == -1) {
		db_read_abort(db);
		return -1;
	}
	return rc;
}

int
cache_db_timing_each(struct cache_db *db, double now,
    int (*cb)(const struct cache_timing *, void *), void *arg)
{
	struct cache_timing	 t;
	sqlite3_stmt		*st;
	char			**names = NULL, **nn;
	size_t			 n = 0, cap = 0, i;
	int			 rc, count = 0, failed = 0, stop = 0;

	/* Names first: timing_get runs its own read transaction. */
	st = st_get(db, ST_TIMING_NAMES);
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
		db_seterr(db, "timing: out of memory");
		failed = 1;
	} else if (rc != SQLITE_DONE) {
		db_sqlerr(db, "timing");
		failed = 1;
	}
	for (i = 0; i < n; i++) {
		if (!failed && !stop) {
			rc = cache_db_timing_get(db, names[i], now, &t);
			if (rc == -1)
				failed = 1;
			else if (rc == 1) {
				count++;
				stop = cb(&t, arg) != 0;
			}
		}
		free(names[i]);
	}
	free(names);
	return failed ? -1 : count;
}

/* ------------------------------------------------------------------ */
/* Benchmark fill */

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
cache_db_bulk_fill(struct cache_db *db, uint64_t n, const char *prefix,
    const char *suffix, int status, double now, double ttl,
    void (*progress)(uint64_t, uint64_t, void *), void *arg)
{
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
		db_seterr(db, "bulk fill: bad arguments");
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
	if (m > CACHE_BULK_BATCH)
		m = CACHE_BULK_BATCH;
	if ((rows = malloc(m * sizeof(*rows))) == NULL) {
		db_seterr(db, "bulk fill: out of memory");
		return -1;
	}
	if (db_pragma_int(db, "PRAGMA cache_size", &cache_size) == -1) {
		free(rows);
		return -1;
	}
	snprintf(restore, sizeof(restore), "PRAGMA cache_size = %d",
	    cache_size);
	/* Room for the whole working set while filling. */
	if (db_exec(db, "PRAGMA cache_size = -1048576", "bulk") == -1) {
		free(rows);
		return -1;
	}

	memset(&e, 0, sizeof(e));
	e.ce_status = status;
	if (db_begin(db) == -1)
		goto restore;
	if (atom_id(db, "whois.bulk.test", CACHE_REGISTRY_LEN, 1, &reg) == -1 ||
	    atom_id(db, "bulk", CACHE_RULE_LEN, 1, &rule) == -1)
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
			st = st_get(db, ST_PUT);
			put_bind(st, &e, strlen(e.ce_ace), checked,
			    checked + (int64_t)ttl, reg, rule);
			if (st_run(db, st, "bulk insert") == -1)
				goto fail;
			if (progress != NULL && ++done == next && done < n) {
				progress(done, n, arg);
				next += 100000;
			}
		}
		if (i + m < n && (db_commit(db) == -1 || db_begin(db) == -1))
			goto restore;
	}
	if (db_commit(db) == -1)
		goto restore;
	free(rows);
	/* Give the page cache back: the 1 GiB was for the fill only. */
	if (db_exec(db, restore, "bulk") == -1)
		return -1;
	if (progress != NULL)
		progress(n, n, arg);
	return (int64_t)n;
 fail:
	db_rollback(db);
 restore:
	free(rows);
	/* Keep the error of the failure, not of the restore. */
	(void)sqlite3_exec(db->cd_sql, restore, NULL, NULL, NULL);
	return -1;
}
