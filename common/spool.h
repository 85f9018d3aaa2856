/*
 * spool.h — an on-disk outbox of messages for another daemon (error events
 * for the errdb), shared by every child of a daemon: nothing lost, nothing
 * sent twice at once.
 *
 * spool_put() writes the body as one file (fsync'd, with its directory)
 * BEFORE handing it to the daemon's send function, and the file is only
 * unlinked when spool_done() says the peer acknowledged it.  A sweep
 * (every sp_sweep seconds, in each process that opened the spool) resends
 * files older than sp_retry seconds.  A file is claimed by renaming it to
 * NAME.PID, so two processes never send the same file at once; a claim
 * whose process is gone (or older than sp_stale seconds) is taken over.
 * The receiving side must be idempotent (the errdb keys events by their
 * id), so a resend after a lost acknowledgement is stored once.
 *
 * A directory that cannot be written (read-only, full, missing) is not
 * fatal: messages wait in a queue in memory (1,000 at most, the oldest
 * dropped and counted), are sent and resent from there, and go to disk
 * again once a file can be written there.  One warning when that starts
 * (per process; children inherit the master's), one notice when it ends.
 * A message still in memory at exit is lost.
 *
 * Files: NAME = <sec>.<usec>-<pid>-<counter>.msg; ".tmp-*" while being
 * written; NAME.PID while claimed; NAME.rejected when the peer refused it
 * for good (kept for an operator, never resent).
 */
#ifndef WHOISD_SPOOL_H
#define WHOISD_SPOOL_H

#include <stddef.h>

struct event_base;
struct spool;

/* Outcomes for spool_done(). */
#define SPOOL_DELIVERED	0	/* acknowledged: the file goes */
#define SPOOL_RETRY	1	/* not delivered: the sweep resends it later */
#define SPOOL_REJECTED	2	/* refused for good: kept as NAME.rejected */

/*
 * Hand one body to the peer; call spool_done(sp, token, outcome) exactly
 * once, now or later.  The body is valid only during the call.
 */
typedef void (*spool_send_fn)(struct spool *, const void *body, size_t len,
	    void *token, void *arg);

struct spool_opts {
	double	 so_sweep;	/* seconds between sweeps; 0: 1.5 */
	double	 so_retry;	/* an unclaimed file older than this is resent; 0: 3 */
	double	 so_stale;	/* a claim older than this is taken over; 0: 60 */
	size_t	 so_batch;	/* files sent per sweep at most; 0: 64 */
	size_t	 so_max_body;	/* larger files are rejected; 0: 1 MiB */
};

/* Create the directory (mode 0700) if needed; 0 or -1 with err filled. */
int	 spool_mkdir(const char *dir, char *err, size_t errlen);
/*
 * The master's check before forking: create the directory if it can, or
 * log the one warning that messages will wait in memory.
 */
void	 spool_prepare(const char *dir);
/* Never NULL: an unwritable directory means messages wait in memory. */
struct spool *spool_open(struct event_base *, const char *dir,
	    const struct spool_opts *, spool_send_fn, void *arg,
	    char *err, size_t errlen);
/*
 * Write (durably, or into memory while the directory cannot be written)
 * and send.  0, or -1 with err filled for a body it refuses.
 */
int	 spool_put(struct spool *, const void *body, size_t len,
	    char *err, size_t errlen);
void	 spool_done(struct spool *, void *token, int outcome);
/* Sweep now (also done by the timer). */
void	 spool_sweep(struct spool *);
/*
 * Read a whole spool file back (name relative to dirfd): malloc'd, *lenp
 * set; NULL if it cannot be read, is empty or is over max_body bytes.
 * What the sweep hands to the send function; public for the fuzzer.
 */
void	*spool_read_file(int dirfd, const char *name, size_t max_body,
	    size_t *lenp);
/* Bodies handed to the send function and not yet done. */
size_t	 spool_inflight(const struct spool *);
/*
 * Stop the timer and forget in-flight sends (their files stay claimed
 * by this pid; another process takes them over once it is gone).
 * Pending tokens become invalid: spool_done() must not be called after.
 */
void	 spool_close(struct spool *);

#endif
