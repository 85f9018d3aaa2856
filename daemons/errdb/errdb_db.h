/*
 * errdb_db.h: whoisd-errdb's storage layer over SQLite (schema/errdb.sql).
 *
 * One struct errdb_db is one connection; open it after fork, one per
 * child, several children sharing the file (WAL, BEGIN IMMEDIATE for
 * writes, 5 s busy timeout); never across a fork (the master may open
 * and close one at startup to create or migrate the file).  Every write is committed before the call
 * returns; synchronous=NORMAL, so kill -9 loses nothing and only an OS
 * crash may lose the last commits (see cache_db.h).  Functions return -1
 * on error (SQLITE_BUSY after the timeout included); errdb_db_errmsg()
 * says why.  Times are seconds since the epoch, passed in by the caller.
 *
 * Health of a registry, derived from its events when asked:
 *   backoff   until T, while a rate limit is in force: an event of kind
 *             "ratelimited" with retry_after R holds until time + R (R at
 *             most ERRDB_RETRY_AFTER_CAP);
 *             without R the back-off is 30 s, doubled for each further
 *             rate limit that arrives within 10 min after the previous
 *             back-off ended, capped at 15 min.  Rate limits arriving
 *             while a back-off is in force (queries already in flight)
 *             do not double it, though a longer retry_after extends it.
 *   degraded  at least 3 events of other kinds in the last 5 minutes;
 *   ok        otherwise.
 * Back-off wins over degraded.  Events newer than `now` count (another
 * host's clock may run ahead).
 */
#ifndef WHOISD_ERRDB_DB_H
#define WHOISD_ERRDB_DB_H

#include <stddef.h>
#include <stdint.h>

#define ERRDB_DB_VERSION	1	/* PRAGMA user_version of schema/errdb.sql */
#define ERRDB_DB_BUSY_MS	5000

#define ERRDB_KIND_RATELIMIT	"ratelimited"	/* proto/msg.h ev_kind */
#define ERRDB_EID_MAX		128		/* bytes, without the NUL */
#define ERRDB_KIND_MAX		64
#define ERRDB_FIELD_MAX		65536		/* any other string */

#define ERRDB_BACKOFF_BASE	30.0	/* first default back-off, s */
#define ERRDB_BACKOFF_MAX	900.0	/* cap, s */
/* A retry_after holds a registry at most this long: one event (any local
 * peer may send one) must not stop every host for longer. */
#define ERRDB_RETRY_AFTER_CAP	86400.0
#define ERRDB_BACKOFF_CHAIN	600.0	/* rate limits this close double */
#define ERRDB_DEGRADED_WINDOW	300.0
#define ERRDB_DEGRADED_ERRORS	3
#define ERRDB_LOOKBACK		86400.0	/* older events do not affect health */
#define ERRDB_WALK_MAX		1000	/* newest rate limits examined */

#define ERRDB_LIST_DEFAULT	100	/* limit <= 0 */
#define ERRDB_LIST_MAX		10000

enum errdb_state {
	ERRDB_OK = 0,
	ERRDB_DEGRADED = 1,
	ERRDB_BACKOFF = 2
};
/* "ok" | "degraded" | "backoff" (proto/msg.h HEALTH_*). */
const char	*errdb_state_name(int state);

/*
 * One error event.  For errdb_db_add() the caller's strings (NULL = "");
 * eid, kind and time are required.  In errdb_db_list() callbacks the
 * strings point into SQLite and are valid during the callback only.
 */
struct errdb_event {
	const char	*ee_eid;	/* unique: the idempotency key */
	const char	*ee_host;
	const char	*ee_daemon;
	const char	*ee_registry;
	const char	*ee_domain;
	const char	*ee_kind;	/* "ratelimited", "timeout", ... */
	const char	*ee_message;
	double		 ee_time;	/* the event's time on its host */
	double		 ee_retry_after;	/* seconds; <= 0: none */
	double		 ee_received;	/* list only: when errdb stored it */
};

struct errdb_health {
	const char	*eh_registry;	/* valid during the callback */
	int		 eh_state;	/* enum errdb_state */
	double		 eh_until;	/* back-off end; 0 unless BACKOFF */
	int		 eh_level;	/* doublings of the last back-off, 1 = 30 s */
	int		 eh_errors;	/* other kinds, last 5 min */
	int		 eh_ratelimits;	/* rate limits, last 10 min */
	double		 eh_last;	/* newest event; 0 = none */
};

struct errdb_db;

struct errdb_db	*errdb_db_open(const char *path, char *err, size_t errlen);
void		 errdb_db_close(struct errdb_db *);
const char	*errdb_db_errmsg(const struct errdb_db *);
/* 1 when the last error was a storage fault logged already (sqldb.h). */
int		 errdb_db_fault(const struct errdb_db *);
const char	*errdb_db_schema(void);	/* embedded schema/errdb.sql */
/* How long a write waits for another writer (default ERRDB_DB_BUSY_MS). */
void		 errdb_db_set_busy_timeout(struct errdb_db *, int ms);

/* Store one event; *dup = 1 if its eid was already stored (nothing
 * changed: the first copy wins), else 0.  0 or -1. */
int		 errdb_db_add(struct errdb_db *, const struct errdb_event *,
		    int *dup);
/*
 * Health as of now.  With a registry: cb exactly once (state ok when it
 * has no events).  With NULL: cb for every registry with events in the
 * last ERRDB_LOOKBACK, by name.  A non-zero return from cb stops.
 * The number of callbacks, or -1.
 */
int		 errdb_db_health(struct errdb_db *, const char *registry,
		    double now,
		    int (*cb)(const struct errdb_health *, void *), void *arg);
/*
 * Events with time >= since, newest first, filtered by registry and kind
 * when not NULL/"", at most limit (<= 0: ERRDB_LIST_DEFAULT; capped at
 * ERRDB_LIST_MAX).  A non-zero return from cb stops.  The count, or -1.
 */
int		 errdb_db_list(struct errdb_db *, const char *registry,
		    const char *kind, double since, int limit,
		    int (*cb)(const struct errdb_event *, void *), void *arg);
/* Delete events older than older_than (an epoch time), in batches of
 * 10000 per transaction.  The count, or -1. */
int64_t		 errdb_db_prune(struct errdb_db *, double older_than);
/*
 * End the registry's back-off: its rate-limit events of the last
 * ERRDB_LOOKBACK (all that back-off derives from) are deleted.  The
 * count, or -1.
 */
int64_t		 errdb_db_clear_backoff(struct errdb_db *, const char *registry,
		    double now);
/* Events stored. */
int		 errdb_db_count(struct errdb_db *, int64_t *n);

#endif
