/*
 * cache_db.h: whoisd-cache's storage layer over SQLite (schema/cache.sql):
 * cache_db.c the connection, cache_store.c the answers, cache_lease.c the
 * leases, cache_timing.c the timing DB.
 *
 * One struct cache_db is one SQLite connection with its prepared
 * statements.  Open it in the process that uses it, after fork: every
 * preforked child opens its own, and several children share one file
 * (WAL mode; readers never wait, writers take turns with BEGIN IMMEDIATE
 * and a 5 s busy timeout).  A connection is not for threads, and must
 * not cross a fork: the master may open and close one at startup (that
 * creates or migrates the file and reports a bad db_path before anything
 * is bound), but must close it before forking the children.
 *
 * Every write is committed before the function returns, so a daemon that
 * acknowledges after the call acknowledges committed data only; with
 * batching on (cache_db_set_batching, below) a write is committed by the
 * next cache_db_batch_commit() instead, and is acknowledged after it.  The
 * database runs with synchronous=NORMAL in WAL mode: a commit is in the
 * WAL file (the OS page cache) when the call returns, so kill -9 of any
 * process loses nothing; only an OS crash or power loss can lose the last
 * commits (never corrupting the file).  A cache can afford that.
 *
 * Functions return -1 on error (SQLITE_BUSY after the timeout included,
 * never a crash); cache_db_errmsg() says why.  Times are seconds since
 * the epoch (double), passed in by the caller so tests control the clock.
 */
#ifndef WHOISD_CACHE_DB_H
#define WHOISD_CACHE_DB_H

#include <stddef.h>
#include <stdint.h>

#include "proto/msg.h"

#define CACHE_DB_VERSION	3	/* PRAGMA user_version of schema/cache.sql */
#define CACHE_DB_BUSY_MS	5000
#define CACHE_DB_MMAP_BYTES	(512LL * 1024 * 1024)

/* Field sizes follow proto/msg.h's struct answer. */
#define CACHE_ACE_LEN		256
#define CACHE_REASON_LEN	64
#define CACHE_REGISTRY_LEN	128
#define CACHE_RULE_LEN		64
#define CACHE_MATCHED_LEN	512
#define CACHE_NS_LEN		512	/* nameservers, space-separated */
#define CACHE_TEXT_MAX		(4 * 1024 * 1024)	/* larger text is refused */

/* Timing DB: percentiles come from the last ring samples within window. */
#define CACHE_TIMING_RING	1000
#define CACHE_TIMING_WINDOW	300.0

/* The status codes of the schema's answers.status column. */
enum cache_status {
	CACHE_UNKNOWN = 0,	/* never stored */
	CACHE_AVAILABLE = 1,
	CACHE_REGISTERED = 2,
	CACHE_RESERVED = 3,
	CACHE_INVALID = 4	/* never stored */
};

/* The code of a status, and the status of a code (AS_UNKNOWN if none). */
int		 cache_status_code(enum answer_status);
enum answer_status cache_status_answer(int code);

/* TTL per status, seconds (config ttl_registered / ttl_available / ttl_reserved). */
struct cache_ttl {
	double	tl_registered;
	double	tl_available;
	double	tl_reserved;
};
#define CACHE_TTL_DEFAULTS	{ 86400.0, 600.0, 86400.0 }
/* The TTL for status, or -1 for a status that is never cached. */
double		 cache_ttl_for(const struct cache_ttl *, int status);

/*
 * One cached answer.  Strings are NUL-terminated; "" means absent (stored
 * as NULL).  For cache_db_put() the caller fills it (ce_expires is
 * ignored: put computes checked + ttl); cache_db_get() fills it, text
 * included only with CACHE_GET_TEXT, and ce_text is then malloc'd
 * (NUL-terminated too): release it with cache_entry_clear().
 * ce_reg_created and ce_reg_expires are the registration dates of an RDAP
 * reply, stored as whole seconds; 0 (or a value that is no date) is absent.
 */
struct cache_entry {
	char	 ce_ace[CACHE_ACE_LEN];
	int	 ce_status;			/* enum cache_status */
	char	 ce_reason[CACHE_REASON_LEN];
	char	 ce_registry[CACHE_REGISTRY_LEN];
	double	 ce_checked;			/* stored as whole seconds */
	double	 ce_expires;			/* stored as whole seconds */
	int	 ce_latency_ms;
	char	 ce_rule[CACHE_RULE_LEN];
	char	 ce_matched[CACHE_MATCHED_LEN];
	double	 ce_reg_created;		/* 0: none */
	double	 ce_reg_expires;		/* 0: none */
	char	 ce_nameservers[CACHE_NS_LEN];
	char	*ce_text;			/* NULL when none */
	size_t	 ce_text_len;
};
void		 cache_entry_clear(struct cache_entry *);	/* frees ce_text */

struct cache_stats {
	uint64_t	cs_entries;
	uint64_t	cs_fresh;
	uint64_t	cs_expired;
	uint64_t	cs_leases;		/* live leases */
	uint64_t	cs_db_bytes;		/* page_count * page_size */
	uint64_t	cs_free_bytes;		/* of which free pages */
	uint64_t	cs_wal_bytes;		/* size of the -wal file */
};

enum cache_outcome {
	CACHE_TIMING_OK = 0,
	CACHE_TIMING_FAIL = 1,
	CACHE_TIMING_RATELIMITED = 2
};
/* "ok" | "fail" | "ratelimited" (proto/msg.h TIMING_*); -1 if none. */
int		 cache_outcome_parse(const char *s);

/*
 * Percentiles are nearest-rank over the latencies of successful queries
 * among the last CACHE_TIMING_RING samples no older than
 * CACHE_TIMING_WINDOW; 0 when tm_n is 0.  tm_win_* count the samples of
 * that window by outcome; tm_ok/tm_fail/tm_ratelimited are lifetime
 * counters (tm_fail excludes rate limits).
 */
struct cache_timing {
	char		tm_registry[CACHE_REGISTRY_LEN];
	int		tm_n;
	int		tm_p50, tm_p90, tm_p99;		/* ms */
	int		tm_win_ok, tm_win_fail, tm_win_ratelimited;
	uint64_t	tm_ok, tm_fail, tm_ratelimited;
	double		tm_last_ratelimit;		/* 0 = never */
};

struct cache_db;

/* NULL with err filled: cannot open, not WAL-capable, newer schema, ... */
struct cache_db	*cache_db_open(const char *path, char *err, size_t errlen);
void		 cache_db_close(struct cache_db *);
const char	*cache_db_errmsg(const struct cache_db *);
/*
 * 1 when the last error was a storage fault (full disk, I/O error, a
 * damaged file) that the storage layer has logged already, once per
 * episode: log it at debug level only.
 */
int		 cache_db_fault(const struct cache_db *);
/* The embedded copy of schema/cache.sql. */
const char	*cache_db_schema(void);
/* How long a write waits for another writer (default CACHE_DB_BUSY_MS). */
void		 cache_db_set_busy_timeout(struct cache_db *, int ms);

/*
 * Group commit.  With batching on, the first write (put, lease, release,
 * timing, purge, expire) opens one transaction (BEGIN IMMEDIATE) and
 * calls opened(arg); that write and every later one run as savepoints of
 * it (a write that fails is undone alone and returns -1 as before), and
 * reads see them, until cache_db_batch_commit().  A write inside a batch
 * is NOT durable when its function returns: acknowledge it only after
 * cache_db_batch_commit() returned 0.  That returns 0 with nothing open
 * too, and -1 if the batch is lost (every write in it rolled back;
 * SQLite may also drop a transaction by itself on a full disk or an I/O
 * error, and then the writes after that fail too).  The batch holds the
 * write lock: commit it before waiting for anything (one event-loop pass
 * at most).  opened NULL turns batching off (the default).
 */
void		 cache_db_set_batching(struct cache_db *,
		    void (*opened)(void *), void *arg);
int		 cache_db_batch_open(const struct cache_db *);
int		 cache_db_batch_commit(struct cache_db *);

#define CACHE_GET_TEXT	0x01	/* also read and inflate the registry text */
/*
 * 1 found and fresh (expires > now), 2 found but expired (serve it as
 * `stale` when the registry cannot be asked), 0 absent, -1 error.  A row
 * that fails its checksum, or whose text (when asked for) does not read
 * back, is absent: it is deleted and logged, never returned.  *out is
 * overwritten whole: cache_entry_clear() a previous text first.
 */
int		 cache_db_get(struct cache_db *, const char *ace, double now,
		    int flags, struct cache_entry *out);
/*
 * Store (replace) one answer, expiring at ce_checked + ttl, and drop the
 * name's lease.  -1 for status unknown/invalid (never cached), ttl <= 0,
 * an empty ace or ce_checked <= 0, text over CACHE_TEXT_MAX.
 */
int		 cache_db_put(struct cache_db *, const struct cache_entry *,
		    double ttl);
/* Delete one name, or every answer if ace is NULL; the count, or -1. */
int64_t		 cache_db_purge(struct cache_db *, const char *ace);
/*
 * Delete at most max_rows answers that expired before now - older_than
 * (keeping younger expired ones for `stale`), and every dead lease.
 * The count of answers deleted, or -1; call again while it equals max_rows.
 */
int64_t		 cache_db_expire(struct cache_db *, double now,
		    double older_than, int64_t max_rows);
int		 cache_db_stats(struct cache_db *, double now,
		    struct cache_stats *);

/*
 * Coalescing.  cache_db_lease(): 1 granted to holder until now + ttl (no
 * lease, a dead one, or holder's own renewed); 0 another holder's lease
 * is live (*until, if not NULL, gets its expiry: wait for the put, then
 * get again); 2 no lease needed, a fresh answer is there now (get it);
 * -1 error.  holder is any non-zero id unique among live askers (e.g.
 * pid << 32 | counter).  The check and the grant are one transaction, so
 * of many concurrent askers exactly one is granted.
 */
int		 cache_db_lease(struct cache_db *, const char *ace,
		    int64_t holder, double now, double ttl, double *until);
/* Drop the lease of ace held by holder (0: by anyone); 1, 0 none, -1. */
int		 cache_db_lease_release(struct cache_db *, const char *ace,
		    int64_t holder);
/*
 * Cheap change detection for waiters: *version changes whenever another
 * connection has committed since the last call (PRAGMA data_version).
 */
int		 cache_db_data_version(struct cache_db *, int64_t *version);

/* Timing DB.  One small transaction per sample. */
int		 cache_db_timing_add(struct cache_db *, const char *registry,
		    int ms, int outcome, double now);
/* 1 filled, 0 registry never seen (*out zeroed), -1 error. */
int		 cache_db_timing_get(struct cache_db *, const char *registry,
		    double now, struct cache_timing *out);
/* cb for every registry with timing data, by name; count or -1.  A
 * non-zero return from cb stops the walk. */
int		 cache_db_timing_each(struct cache_db *, double now,
		    int (*cb)(const struct cache_timing *, void *), void *arg);

#endif
