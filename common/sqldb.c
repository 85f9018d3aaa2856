/*
 * sqldb.c — open, WAL, pragmas, schema migration, prepared statements,
 * transactions and errors for every whoisd SQLite file (see sqldb.h).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/sqldb.h"

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

static sqlite3 *
sqldb_file(const char *path, const struct sqldb_schema *sc, char *err,
    size_t errlen)
{
	sqlite3	*sq = NULL;
	int	 rc;

	rc = sqlite3_open_v2(path, &sq, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		snprintf(err, errlen, "%s", sq ? sqlite3_errmsg(sq) :
		    sqlite3_errstr(rc));
		goto fail;
	}
	sqlite3_extended_result_codes(sq, 1);
	sqlite3_busy_timeout(sq, sc->ss_busy_ms);
	if (sqldb_wal(sq, sc->ss_busy_ms, err, errlen) == -1)
		goto fail;
	if (sc->ss_pragmas != NULL &&
	    sqldb_exec(sq, sc->ss_pragmas, "pragmas", err, errlen) == -1)
		goto fail;
	if (sqldb_migrate(sq, sc, err, errlen) == -1)
		goto fail;
	return sq;
 fail:
	sqlite3_close(sq);
	return NULL;
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
	int	 i;

	memset(db, 0, sizeof(*db));
	if ((db->sd_st = calloc((size_t)nsql, sizeof(*db->sd_st))) == NULL) {
		snprintf(err, errlen, "%s: out of memory", path);
		return -1;
	}
	db->sd_nst = nsql;
	if ((db->sd_sql = sqldb_file(path, sc, db->sd_err,
	    sizeof(db->sd_err))) == NULL)
		goto fail;
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
}

void
sqldb_sqlerr(struct sqldb *db, const char *what)
{
	sqldb_err(db->sd_sql, what, db->sd_err, sizeof(db->sd_err));
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

	sqlite3_reset(st);
	return sqldb_run(db, st, what);
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
	if (!sqlite3_get_autocommit(db->sd_sql))
		sqldb_tx_quiet(db, SQLDB_ROLLBACK);
}

void
sqldb_rollback_to(struct sqldb *db)
{
	sqldb_tx_quiet(db, SQLDB_ROLLBACK_TO);
	sqldb_tx_quiet(db, SQLDB_RELEASE);
}
