/*
 * cache.h — whoisd-cache: the answer cache, coalescing leases and the
 * timing DB, served over the frame protocol (proto/link.h).
 *
 * main.c holds the config, the pool callbacks and the child's accessors;
 * serve.c answers the requests of one child; reply.c builds the replies
 * and holds those that acknowledge a write until the group commit;
 * wait.c parks `get`s whose name another client is filling (coalescing)
 * and answers them; cache_db.c is the SQLite layer (cache_db.h).
 */
#ifndef WHOISD_CACHE_H
#define WHOISD_CACHE_H

#include <sys/socket.h>

#include <stdint.h>

#include "common/pool.h"
#include "proto/msg.h"

struct event_base;
struct link;
struct cache_db;
struct cache_entry;

struct cache_conf {
	struct pool_conf	 cc_pool;
	char			*cc_db_path;
	double			 cc_ttl_registered;
	double			 cc_ttl_available;
	double			 cc_ttl_reserved;
	double			 cc_lease_ttl;
	double			 cc_stale_max;
	double			 cc_sweep_interval;
	long			 cc_max_frame;
	long			 cc_compress_min;
	double			 cc_link_frame_timeout;
	double			 cc_link_hello_timeout;
	double			 cc_link_idle_timeout;
};

/* This child's counters (stats_r reports them with the DB's figures;
 * `errors` are the link server's). */
struct cache_counters {
	uint64_t	cn_hits;	/* get: fresh entry */
	uint64_t	cn_same;	/* of which answered `same` (no answer) */
	uint64_t	cn_misses;	/* get: nothing servable */
	uint64_t	cn_stale;	/* get: expired entry handed out */
	uint64_t	cn_puts;	/* put: stored */
	uint64_t	cn_puts_unstored;	/* put: unknown/invalid */
	uint64_t	cn_lease_granted;
	uint64_t	cn_lease_waits;	/* get parked behind another's lease */
	uint64_t	cn_wait_filled;	/* waiters answered with an answer */
	uint64_t	cn_wait_timeouts;	/* waiters ended at lease_ttl */
	uint64_t	cn_timings;
	uint64_t	cn_purged;
	uint64_t	cn_swept;	/* rows removed by the expiry sweep */
	uint64_t	cn_commits;	/* group commits (batches of writes) */
	uint64_t	cn_committed;	/* replies that waited for one */
};

/* main.c */
/* Each child's counters, in its slot of a shared area (cache_metrics.c). */
extern struct cache_counters	*cache_cntp;
#define cache_cnt	(*cache_cntp)
struct cache_conf *cache_conf(void);
struct cache_db	*cache_db(void);

/* cache_metrics.c */
int		 cache_metrics_master_init(void);
void		 cache_metrics_child_init(void);

/* serve.c */
void		 cache_serve_init(struct event_base *, struct cache_db *);
void		 cache_serve_accept(int fd, const struct sockaddr *, socklen_t);
void		 cache_serve_drain(void);
void		 cache_serve_exit(void);

/* reply.c */
void		 cache_reply_init(struct event_base *);
/* Commits the batch still open and answers what waited for it. */
void		 cache_reply_exit(void);
/* Build and send a get_r to one request; the answer may be NULL. */
void		 cache_reply_get_r(struct link *, uint64_t id, int version,
		    const struct answer *, int found, int stale,
		    const char *lease);
/* A get_r `same`: the asker's answer is still the entry. */
void		 cache_reply_same(struct link *, uint64_t id, int version);
/*
 * Send a finished reply that acknowledges a write once that write is
 * committed (`err` internal to it if the commit fails); `what` (static)
 * names the write in that err.
 */
void		 cache_reply_committed(struct link *, uint64_t id,
		    const struct msgb *, const char *what);
void		 cache_reply_ok_committed(struct link *, uint64_t id,
		    const char *what);
/* Fill an answer from a DB entry (moves the text). */
void		 cache_entry_to_answer(struct cache_entry *, struct answer *,
		    enum answer_source source);

/* wait.c */
void		 cache_wait_init(struct event_base *);
/* A new lease holder id, unique among the live askers of every child. */
int64_t		 cache_holder_new(void);
/* Park a get behind another holder's lease, valid until lease_until. */
void		 cache_wait_park(struct link *, uint64_t id, int version,
		    const char *ace, double lease_until);
/* A put for ace arrived in this child: answer its waiters with `a`. */
void		 cache_wait_fill(const char *ace, const struct answer *a);
/* The link ended: forget its waiters. */
void		 cache_wait_link_gone(struct link *);
uint64_t	 cache_wait_count(void);
void		 cache_wait_fini(void);

#endif
