/*
 * sqldb.c — open, WAL, pragmas and schema migration for every whoisd
 * SQLite file (see sqldb.h).
 */
#include <stdio.h>
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

sqlite3 *
sqldb_open(const char *path, const struct sqldb_schema *sc, char *err,
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
