/*
 * sqldb.h — the SQLite plumbing every whoisd database shares: open or
 * create a file, switch it to WAL, apply pragmas, and create or migrate
 * its schema (versioned with PRAGMA user_version).  Each daemon's *_db.c
 * keeps its own statements; this is only the part they had in common.
 */
#ifndef WHOISD_SQLDB_H
#define WHOISD_SQLDB_H

#include <stddef.h>

#include <sqlite3.h>

struct sqldb_schema {
	const char		*ss_daemon;	/* "whoisd-cache", for errors */
	int			 ss_version;	/* the schema this build knows */
	const char		*ss_create;	/* the whole schema, for a new file */
	const char *const	*ss_migrations;	/* [v] takes version v to v + 1 */
	const char		*ss_pragmas;	/* run after WAL, before migrating */
	int			 ss_busy_ms;	/* busy timeout */
};

/*
 * Open (creating) path, WAL, pragmas, schema.  A file with a newer
 * schema than ss_version is refused.  NULL with err filled.
 */
sqlite3	*sqldb_open(const char *path, const struct sqldb_schema *,
	    char *err, size_t errlen);
int	 sqldb_exec(sqlite3 *, const char *sql, const char *what, char *err,
	    size_t errlen);
int	 sqldb_pragma_int(sqlite3 *, const char *sql, int *v, char *err,
	    size_t errlen);

#endif
