/*
 * sqldb.h — the SQLite plumbing every whoisd database shares: open or
 * create a file, switch it to WAL, apply pragmas, create or migrate its
 * schema (versioned with PRAGMA user_version), prepare the daemon's
 * statements once, and the transaction and error helpers around them.
 * Each daemon's *_db.c keeps only its own statements.
 */
#ifndef WHOISD_SQLDB_H
#define WHOISD_SQLDB_H

#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

struct sqldb_schema {
	const char		*ss_daemon;	/* "whoisd-cache", for errors */
	int			 ss_version;	/* the schema this build knows */
	const char		*ss_create;	/* the whole schema, for a new file */
	const char *const	*ss_migrations;	/* [v] takes version v to v + 1 */
	const char		*ss_pragmas;	/* run after WAL, before migrating */
	int			 ss_busy_ms;	/* busy timeout */
};

/* The transaction statements every connection has prepared. */
enum sqldb_tx {
	SQLDB_BEGIN,		/* BEGIN IMMEDIATE: writers take turns */
	SQLDB_BEGIN_READ,	/* BEGIN: one read snapshot */
	SQLDB_COMMIT,
	SQLDB_ROLLBACK,
	SQLDB_SAVEPOINT,	/* one write inside an open transaction */
	SQLDB_RELEASE,
	SQLDB_ROLLBACK_TO,
	SQLDB_TX__N
};

/*
 * One connection and its prepared statements: the transaction ones, and
 * the daemon's own (sd_st, indexed by the daemon's ids).  sd_err says why
 * the last call failed.
 */
struct sqldb {
	sqlite3		*sd_sql;
	sqlite3_stmt	*sd_tx[SQLDB_TX__N];
	sqlite3_stmt	**sd_st;
	int		 sd_nst;
	char		 sd_err[512];
};

/*
 * Open (creating) path, WAL, pragmas, schema, then prepare sql[0..nsql-1]
 * as sd_st.  A file with a newer schema than ss_version is refused.  0, or
 * -1 with err filled ("path: why") and nothing left open.
 */
int	 sqldb_open(struct sqldb *, const char *path,
	    const struct sqldb_schema *, const char *const *sql, int nsql,
	    char *err, size_t errlen);
void	 sqldb_close(struct sqldb *);

int	 sqldb_exec(sqlite3 *, const char *sql, const char *what, char *err,
	    size_t errlen);
int	 sqldb_pragma_int(sqlite3 *, const char *sql, int *v, char *err,
	    size_t errlen);

void	 sqldb_seterr(struct sqldb *, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
/* sd_err = "what: " and SQLite's message. */
void	 sqldb_sqlerr(struct sqldb *, const char *what);

/* The daemon's statement id, reset and with its bindings cleared. */
sqlite3_stmt	*sqldb_stmt(struct sqldb *, int id);
/* Step a statement whose rows, if any, are not wanted; 0 or -1. */
int	 sqldb_run(struct sqldb *, sqlite3_stmt *, const char *what);
/* The first column of a one-row statement (no row, NULL: 0); 0 or -1. */
int	 sqldb_int64(struct sqldb *, sqlite3_stmt *, int64_t *,
	    const char *what);
int	 sqldb_double(struct sqldb *, sqlite3_stmt *, double *,
	    const char *what);
/*
 * The first column (text) of every row, strdup'd into a malloc'd array
 * that sqldb_names_free() releases.  0, or -1 with nothing to free.
 */
int	 sqldb_names(struct sqldb *, sqlite3_stmt *, const char *what,
	    char ***names, size_t *n);
void	 sqldb_names_free(char **, size_t);

/* Run one transaction statement; 0 or -1. */
int	 sqldb_tx(struct sqldb *, enum sqldb_tx, const char *what);
/* BEGIN IMMEDIATE; 0 or -1. */
int	 sqldb_begin(struct sqldb *);
/* COMMIT, and roll back if that fails; 0 or -1. */
int	 sqldb_commit(struct sqldb *);
/* Roll back the open transaction, if any; errors are ignored. */
void	 sqldb_rollback(struct sqldb *);
/* Undo and end the open savepoint; errors are ignored. */
void	 sqldb_rollback_to(struct sqldb *);

#endif
