/*
 * sqldb.c — open, WAL, pragmas, schema migration, prepared statements,
 * transactions and errors for every whoisd SQLite file (see sqldb.h).
 */
#include <sys/types.h>
#include <sys/stat.h>

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "common/sqldb.h"

/* Paths this process has checked: children inherit the master's list. */
#define SQLDB_CHECKED	8
static char	*sqldb_checked[SQLDB_CHECKED];

static int	 sqldb_refuse(void *);

static void
sqldb_err(sqlite3 *sq, const char *what, char *err, size_t errlen)
{
	snprintf(err, errlen, "%s: %s", what, sqlite3_errmsg(sq));
}

int
sqldb_exec(sqlite3 *sq, const char *sql, const char *what, char *err,
    size_t errlen)
{
	if (sqlite3_exec(sq, sql, NULL, NULL, NULL) != SQLITE_OK) {
		sqldb_err(sq, what, err, errlen);
		return -1;
	}
	return 0;
}

int
sqldb_pragma_int(sqlite3 *sq, const char *sql, int *v, char *err,
    size_t errlen)
{
	sqlite3_stmt	*st;
	int		 rc;

	if (sqlite3_prepare_v2(sq, sql, -1, &st, NULL) != SQLITE_OK) {
		sqldb_err(sq, sql, err, errlen);
		return -1;
	}
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*v = sqlite3_column_int(st, 0);
	else
		sqldb_err(sq, sql, err, errlen);
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 0 : -1;
}

/*
 * Switch to WAL.  The first opener of a new file changes the mode, which
 * needs the file to itself; others opening it at the same moment may see
 * SQLITE_BUSY, so retry for as long as the busy timeout.
 */
static int
sqldb_wal(sqlite3 *sq, int busy_ms, char *err, size_t errlen)
{
	struct timespec	 ts = { 0, 10 * 1000 * 1000 };
	sqlite3_stmt	*st;
	const char	*mode;
	int		 rc, tries;

	for (tries = 0; tries < busy_ms / 10 + 1; tries++) {
		if (sqlite3_prepare_v2(sq, "PRAGMA journal_mode = WAL", -1, &st,
		    NULL) != SQLITE_OK) {
			sqldb_err(sq, "journal_mode", err, errlen);
			return -1;
		}
		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW) {
			mode = (const char *)sqlite3_column_text(st, 0);
			if (mode == NULL || strcmp(mode, "wal") != 0) {
				snprintf(err, errlen, "cannot use WAL mode "
				    "(journal_mode is %s)", mode ? mode : "?");
				sqlite3_finalize(st);
				return -1;
			}
			sqlite3_finalize(st);
			return 0;
		}
		sqlite3_finalize(st);
		if ((rc & 0xff) != SQLITE_BUSY && (rc & 0xff) != SQLITE_LOCKED)
			break;
		nanosleep(&ts, NULL);
	}
	sqldb_err(sq, "journal_mode", err, errlen);
	return -1;
}

static int
sqldb_migrate(sqlite3 *sq, const struct sqldb_schema *sc, char *err,
    size_t errlen)
{
	int	 v;

	if (sqldb_pragma_int(sq, "PRAGMA user_version", &v, err, errlen) == -1)
		return -1;
	if (v == sc->ss_version)
		return 0;
	if (sqldb_exec(sq, "BEGIN IMMEDIATE", "migrate", err, errlen) == -1)
		return -1;
	/* Another process may have migrated while we waited for the lock. */
	if (sqldb_pragma_int(sq, "PRAGMA user_version", &v, err, errlen) == -1)
		goto fail;
	if (v > sc->ss_version) {
		snprintf(err, errlen, "schema version %d is newer than this %s"
		    " knows (%d): refusing to open it; run a newer %s"
		    " or point db_path at another file", v, sc->ss_daemon,
		    sc->ss_version, sc->ss_daemon);
		goto fail;
	}
	if (v == 0) {
		if (sqldb_exec(sq, sc->ss_create, "create schema", err,
		    errlen) == -1)
			goto fail;
	} else {
		for (; v < sc->ss_version; v++)
			if (sqldb_exec(sq, sc->ss_migrations[v], "migrate", err,
			    errlen) == -1)
				goto fail;
	}
	if (sqldb_pragma_int(sq, "PRAGMA user_version", &v, err, errlen) == -1)
		goto fail;
	if (v != sc->ss_version) {
		snprintf(err, errlen, "migration ended at schema version %d, "
		    "not %d", v, sc->ss_version);
		goto fail;
	}
	return sqldb_exec(sq, "COMMIT", "migrate commit", err, errlen);
 fail:
	(void)sqlite3_exec(sq, "ROLLBACK", NULL, NULL, NULL);
	return -1;
}

static const char *const sqldb_tx_sql[SQLDB_TX__N] = {
	[SQLDB_BEGIN] = "BEGIN IMMEDIATE",
	[SQLDB_BEGIN_READ] = "BEGIN",
	[SQLDB_COMMIT] = "COMMIT",
	[SQLDB_ROLLBACK] = "ROLLBACK",
	[SQLDB_SAVEPOINT] = "SAVEPOINT op",
	[SQLDB_RELEASE] = "RELEASE op",
	[SQLDB_ROLLBACK_TO] = "ROLLBACK TO op",
};

/* SQLite will not read the file, or read garbage from it. */
static int
sqldb_is_damage(int rc)
{
	return (rc & 0xff) == SQLITE_CORRUPT || (rc & 0xff) == SQLITE_NOTADB;
}

/* The disk, not the statement: full, I/O error, file gone read-only. */
static int
sqldb_is_io(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_FULL:
	case SQLITE_READONLY:
	case SQLITE_CANTOPEN:
		return 1;
	case SQLITE_IOERR:
		return rc != SQLITE_IOERR_NOMEM;
	default:
		return 0;
	}
}

/*
 * PRAGMA quick_check: 0 the file is sound, 1 damaged (why says how), -1
 * it could not be checked (why says why: busy, permissions, ...).
 */
static int
sqldb_check(sqlite3 *sq, char *why, size_t whylen)
{
	sqlite3_stmt	*st;
	const char	*row;
	char		*p;
	int		 rc, ret;

	if (sqlite3_prepare_v2(sq, "PRAGMA quick_check", -1, &st, NULL) !=
	    SQLITE_OK) {
		snprintf(why, whylen, "%s", sqlite3_errmsg(sq));
		return sqldb_is_damage(sqlite3_extended_errcode(sq)) ? 1 : -1;
	}
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		row = (const char *)sqlite3_column_text(st, 0);
		ret = row == NULL || strcmp(row, "ok") != 0;
		snprintf(why, whylen, "quick_check: %s", row ? row : "?");
		for (p = why; *p != '\0'; p++)
			if (*p == '\n')
				*p = ' ';
	} else {
		snprintf(why, whylen, "%s", sqlite3_errmsg(sq));
		ret = sqldb_is_damage(rc) ? 1 : -1;
	}
	sqlite3_finalize(st);
	return ret;
}

/*
 * Open path and bring it to the current schema.  check: run quick_check
 * first.  A file SQLite finds damaged, by the check or at any step, sets
 * *damaged (err says why).
 */
static sqlite3 *
sqldb_file(const char *path, const struct sqldb_schema *sc, int check,
    int *damaged, char *err, size_t errlen)
{
	sqlite3	*sq = NULL;
	int	 rc;

	*damaged = 0;
	rc = sqlite3_open_v2(path, &sq, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		snprintf(err, errlen, "%s", sq ? sqlite3_errmsg(sq) :
		    sqlite3_errstr(rc));
		*damaged = sqldb_is_damage(rc);
		goto fail;
	}
	sqlite3_extended_result_codes(sq, 1);
	sqlite3_busy_timeout(sq, sc->ss_busy_ms);
	if (check && (rc = sqldb_check(sq, err, errlen)) != 0) {
		*damaged = rc == 1;
		goto fail;
	}
	if (sqldb_wal(sq, sc->ss_busy_ms, err, errlen) == -1)
		goto damage;
	if (sc->ss_pragmas != NULL &&
	    sqldb_exec(sq, sc->ss_pragmas, "pragmas", err, errlen) == -1)
		goto damage;
	if (sqldb_migrate(sq, sc, err, errlen) == -1)
		goto damage;
	return sq;
 damage:
	*damaged = sqldb_is_damage(sqlite3_extended_errcode(sq));
 fail:
	sqlite3_close(sq);
	return NULL;
}

/* A path in a message may be cut: that is fine. */
static void __attribute__((format(printf, 3, 4)))
sqldb_errf(char *err, size_t errlen, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/*
 * Rename a damaged path, with its -wal and -shm, to PATH.corrupt-STAMP.
 * ino is the file found damaged: if path is another file by now (a
 * sibling process set it aside first), leave it.  0 or -1 (err filled).
 */
static int
sqldb_set_aside(const char *path, ino_t ino, const char *why, char *err,
    size_t errlen)
{
	static const char *const sides[] = { "-wal", "-shm" };
	char		 aside[PATH_MAX], from[PATH_MAX], to[PATH_MAX];
	char		 stamp[32];
	struct stat	 sb;
	struct tm	 tm;
	time_t		 now = time(NULL);
	size_t		 i;
	int		 n;

	if (stat(path, &sb) == -1 || sb.st_ino != ino)
		return 0;
	if (!S_ISREG(sb.st_mode)) {
		snprintf(err, errlen, "%s; not a regular file, left alone",
		    why);
		return -1;
	}
	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%MZ", &tm);
	for (n = 1; n < 100; n++) {
		if (n == 1)
			snprintf(aside, sizeof(aside), "%s.corrupt-%s", path,
			    stamp);
		else
			snprintf(aside, sizeof(aside), "%s.corrupt-%s-%d", path,
			    stamp, n);
		if (access(aside, F_OK) == -1 && errno == ENOENT)
			break;
	}
	if (rename(path, aside) == -1) {
		sqldb_errf(err, errlen, "%s; cannot set it aside as %s: %s",
		    why, aside, strerror(errno));
		return -1;
	}
	/* A -wal left behind would be replayed into the new file. */
	for (i = 0; i < sizeof(sides) / sizeof(sides[0]); i++) {
		snprintf(from, sizeof(from), "%s%s", path, sides[i]);
		snprintf(to, sizeof(to), "%s%s", aside, sides[i]);
		if (rename(from, to) == -1 && errno != ENOENT &&
		    unlink(from) == -1 && errno != ENOENT) {
			sqldb_errf(err, errlen, "%s; cannot move %s aside: %s",
			    why, from, strerror(errno));
			return -1;
		}
	}
	log_warnx("database %s is damaged (%s): set aside as %s; a new empty "
	    "database is created", path, why, aside);
	return 0;
}

static int
sqldb_was_checked(const char *path)
{
	int	 i;

	for (i = 0; i < SQLDB_CHECKED && sqldb_checked[i] != NULL; i++)
		if (strcmp(sqldb_checked[i], path) == 0)
			return 1;
	return 0;
}

static void
sqldb_set_checked(const char *path)
{
	int	 i;

	for (i = 0; i < SQLDB_CHECKED; i++)
		if (sqldb_checked[i] == NULL) {
			sqldb_checked[i] = strdup(path);
			return;
		}
}

static int
sqldb_prepare(struct sqldb *db, sqlite3_stmt **st, const char *sql)
{
	if (sqlite3_prepare_v3(db->sd_sql, sql, -1, SQLITE_PREPARE_PERSISTENT,
	    st, NULL) != SQLITE_OK) {
		sqldb_sqlerr(db, sql);
		return -1;
	}
	return 0;
}

int
sqldb_open(struct sqldb *db, const char *path, const struct sqldb_schema *sc,
    const char *const *sql, int nsql, char *err, size_t errlen)
{
	struct stat	 sb;
	ino_t		 ino;
	char		 why[sizeof(db->sd_err)];
	int		 i, check, damaged, tries;

	memset(db, 0, sizeof(*db));
	if ((db->sd_st = calloc((size_t)nsql, sizeof(*db->sd_st))) == NULL ||
	    (db->sd_path = strdup(path)) == NULL) {
		free(db->sd_st);
		snprintf(err, errlen, "%s: out of memory", path);
		return -1;
	}
	db->sd_nst = nsql;
	db->sd_what = sc->ss_what ? sc->ss_what : sc->ss_daemon;
	db->sd_loss = sc->ss_loss ? sc->ss_loss : "changes are lost";
	check = !sqldb_was_checked(path);
	for (tries = 0; ; tries++) {
		ino = stat(path, &sb) == 0 ? sb.st_ino : 0;
		if ((db->sd_sql = sqldb_file(path, sc, check, &damaged, why,
		    sizeof(why))) != NULL)
			break;
		snprintf(db->sd_err, sizeof(db->sd_err), "%s", why);
		if (!damaged || ino == 0 || tries > 0)
			goto fail;
		if (sqldb_set_aside(path, ino, why, db->sd_err,
		    sizeof(db->sd_err)) == -1)
			goto fail;
	}
	if (check)
		sqldb_set_checked(path);
	for (i = 0; i < SQLDB_TX__N; i++)
		if (sqldb_prepare(db, &db->sd_tx[i], sqldb_tx_sql[i]) == -1)
			goto fail;
	for (i = 0; i < nsql; i++)
		if (sqldb_prepare(db, &db->sd_st[i], sql[i]) == -1)
			goto fail;
	return 0;
 fail:
	snprintf(err, errlen, "%s: %s", path, db->sd_err);
	sqldb_close(db);
	return -1;
}

void
sqldb_close(struct sqldb *db)
{
	int	 i;

	for (i = 0; i < SQLDB_TX__N; i++)
		sqlite3_finalize(db->sd_tx[i]);
	for (i = 0; i < db->sd_nst; i++)
		sqlite3_finalize(db->sd_st[i]);
	free(db->sd_st);
	free(db->sd_path);
	/* The last connection to close checkpoints and removes the WAL. */
	sqlite3_close(db->sd_sql);
	memset(db, 0, sizeof(*db));
}

void
sqldb_seterr(struct sqldb *db, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(db->sd_err, sizeof(db->sd_err), fmt, ap);
	va_end(ap);
	db->sd_fault = 0;
}

static double
sqldb_mono(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A damaged file's connection fails every statement it runs. */
static int
sqldb_refuse(void *arg)
{
	(void)arg;
	return 1;
}

/*
 * An error of the file, not of the statement.  Damage: stop using the
 * file (the next start sets it aside).  Full or I/O: one warning when
 * the episode starts, and each failed write counted once.
 */
static void
sqldb_fault_note(struct sqldb *db, int rc)
{
	if (sqldb_is_damage(rc) && !db->sd_damaged) {
		db->sd_damaged = 1;
		sqlite3_progress_handler(db->sd_sql, 1, sqldb_refuse, NULL);
		log_warnx("database %s is damaged (%s): not used any more, %s; "
		    "restart the daemon to set it aside and start a new one",
		    db->sd_path, sqlite3_errstr(rc), db->sd_loss);
	}
	if (db->sd_damaged) {
		db->sd_fault = 1;
		return;
	}
	if (!sqldb_is_io(rc))
		return;
	db->sd_fault = 1;
	if (db->sd_ep_start == 0) {
		db->sd_ep_start = sqldb_mono();
		db->sd_ep_failed = 0;
		log_warnx_limited(&db->sd_ep_limit, "%s writes failing: %s; %s "
		    "until writes succeed", db->sd_what, sqlite3_errstr(rc),
		    db->sd_loss);
	}
	if (!db->sd_counted) {
		db->sd_counted = 1;
		db->sd_ep_failed++;
	}
}

/* A write transaction committed: the episode, if any, is over. */
static void
sqldb_fault_over(struct sqldb *db)
{
	if (db->sd_ep_start == 0)
		return;
	log_notice("%s writes succeed again: %lu writes failed over %.0f "
	    "seconds", db->sd_what, db->sd_ep_failed,
	    sqldb_mono() - db->sd_ep_start);
	db->sd_ep_start = 0;
	db->sd_ep_failed = 0;
}

int
sqldb_fault(const struct sqldb *db)
{
	return db->sd_fault;
}

void
sqldb_sqlerr(struct sqldb *db, const char *what)
{
	int	 rc = sqlite3_extended_errcode(db->sd_sql);

	if (db->sd_damaged)
		snprintf(db->sd_err, sizeof(db->sd_err), "%s: database %s is "
		    "damaged: not used until a restart", what, db->sd_path);
	else
		sqldb_err(db->sd_sql, what, db->sd_err, sizeof(db->sd_err));
	db->sd_fault = 0;
	sqldb_fault_note(db, rc);
}
sqlite3_stmt *
sqldb_stmt(struct sqldb *db, int id)
{
	sqlite3_stmt	*st = db->sd_st[id];

	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return st;
}

int
sqldb_run(struct sqldb *db, sqlite3_stmt *st, const char *what)
{
	int	 rc;

	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
		sqldb_sqlerr(db, what);
		return -1;
	}
	return 0;
}

/* Step a one-row statement for its first column, as *i or as *d. */
static int
sqldb_one(struct sqldb *db, sqlite3_stmt *st, int64_t *i, double *d,
    const char *what)
{
	int	 rc;

	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW && i != NULL)
		*i = sqlite3_column_int64(st, 0);
	else if (rc == SQLITE_ROW)
		*d = sqlite3_column_double(st, 0);
	sqlite3_reset(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		sqldb_sqlerr(db, what);
		return -1;
	}
	return 0;
}

int
sqldb_int64(struct sqldb *db, sqlite3_stmt *st, int64_t *v, const char *what)
{
	*v = 0;
	return sqldb_one(db, st, v, NULL, what);
}

int
sqldb_double(struct sqldb *db, sqlite3_stmt *st, double *v, const char *what)
{
	*v = 0;
	return sqldb_one(db, st, NULL, v, what);
}

int
sqldb_names(struct sqldb *db, sqlite3_stmt *st, const char *what,
    char ***namesp, size_t *np)
{
	char	**names = NULL, **nn;
	size_t	  n = 0, cap = 0;
	int	  rc;

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
	if (rc == SQLITE_ROW)
		sqldb_seterr(db, "%s: out of memory", what);
	else if (rc != SQLITE_DONE)
		sqldb_sqlerr(db, what);
	if (rc != SQLITE_DONE) {
		sqldb_names_free(names, n);
		return -1;
	}
	*namesp = names;
	*np = n;
	return 0;
}

void
sqldb_names_free(char **names, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

int
sqldb_tx(struct sqldb *db, enum sqldb_tx id, const char *what)
{
	sqlite3_stmt	*st = db->sd_tx[id];
	int		 rc;

	if (db->sd_damaged) {
		sqldb_seterr(db, "%s: database %s is damaged: not used until a "
		    "restart", what, db->sd_path);
		db->sd_fault = 1;
		return -1;
	}
	if (id == SQLDB_BEGIN || id == SQLDB_SAVEPOINT)
		db->sd_counted = 0;
	sqlite3_reset(st);
	rc = sqldb_run(db, st, what);
	switch (id) {
	case SQLDB_BEGIN:
		db->sd_writing = rc == 0;
		break;
	case SQLDB_COMMIT:
		if (rc == 0 && db->sd_writing)
			sqldb_fault_over(db);
		/* FALLTHROUGH */
	case SQLDB_ROLLBACK:
		db->sd_writing = 0;
		break;
	default:
		break;
	}
	return rc;
}

int
sqldb_begin(struct sqldb *db)
{
	return sqldb_tx(db, SQLDB_BEGIN, "begin");
}

int
sqldb_commit(struct sqldb *db)
{
	if (sqldb_tx(db, SQLDB_COMMIT, "commit") == -1) {
		sqldb_rollback(db);
		return -1;
	}
	return 0;
}

/* Step a transaction statement whose failure changes nothing for us. */
static void
sqldb_tx_quiet(struct sqldb *db, enum sqldb_tx id)
{
	sqlite3_reset(db->sd_tx[id]);
	(void)sqlite3_step(db->sd_tx[id]);
	sqlite3_reset(db->sd_tx[id]);
}

void
sqldb_rollback(struct sqldb *db)
{
	db->sd_writing = 0;
	if (!sqlite3_get_autocommit(db->sd_sql))
		sqldb_tx_quiet(db, SQLDB_ROLLBACK);
}

void
sqldb_rollback_to(struct sqldb *db)
{
	sqldb_tx_quiet(db, SQLDB_ROLLBACK_TO);
	sqldb_tx_quiet(db, SQLDB_RELEASE);
}
