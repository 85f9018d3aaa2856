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

#include "common/log.h"

struct sqldb_schema {
	const char		*ss_daemon;	/* "whoisd-cache", for errors */
	const char		*ss_what;	/* "cache", for storage faults */
	const char		*ss_loss;	/* what a failed write costs */
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
 *
 * Storage faults are tracked here, for every daemon alike.  A full disk
 * or an I/O error starts an episode: one warning, then the failed writes
 * are only counted until a write transaction commits again, which logs
 * one line with the count.  SQLITE_CORRUPT marks the file damaged: one
 * warning, and every later statement fails at once (the daemon answers
 * without its database) until a restart sets the file aside.
 */
struct sqldb {
	sqlite3		*sd_sql;
	sqlite3_stmt	*sd_tx[SQLDB_TX__N];
	sqlite3_stmt	**sd_st;
	int		 sd_nst;
	char		 sd_err[512];
	char		*sd_path;
	const char	*sd_what;	/* from the schema */
	const char	*sd_loss;
	int		 sd_fault;	/* the last error was a storage fault */
	int		 sd_damaged;	/* SQLITE_CORRUPT seen: not trusted */
	int		 sd_writing;	/* a write transaction is open */
	int		 sd_counted;	/* ... and its failure is counted */
	double		 sd_ep_start;	/* a write episode: 0 none */
	unsigned long	 sd_ep_failed;	/* writes failed in it */
	struct log_limit sd_ep_limit;
};

/*
 * Open (creating) path, WAL, pragmas, schema, then prepare sql[0..nsql-1]
 * as sd_st.  A file with a newer schema than ss_version is refused.  0, or
 * -1 with err filled ("path: why") and nothing left open.
 *
 * The first open of a path in a process (the master, before it forks the
 * children) checks the file with PRAGMA quick_check; a damaged file (or
 * one SQLite will not read: truncated, garbage) is renamed aside with its
 * -wal and -shm as PATH.corrupt-YYYYMMDDTHHMMZ and a new one is created,
 * with one warning naming both.
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

/*
 * 1 when the last error was a storage fault (full disk, I/O error, a
 * damaged file) already reported by the episode's one warning: callers
 * log it at debug level only.
 */
int	 sqldb_fault(const struct sqldb *);

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
