/*
 * cache.h — whoisd-cache: the answer cache, coalescing leases and the
 * timing DB, served over the frame protocol (proto/link.h).
 *
 * main.c holds the config and the pool callbacks; serve.c answers the
 * requests of one child; wait.c parks `get`s whose name another client
 * is filling (coalescing) and answers them; cache_db.c is the SQLite
 * layer (cache_db.h).
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
};

/* This child's counters (stats_r reports them with the DB's figures). */
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
	uint64_t	cn_errors;	/* requests answered `err` */
	uint64_t	cn_commits;	/* group commits (batches of writes) */
	uint64_t	cn_committed;	/* replies that waited for one */
};

/* serve.c */
extern struct cache_counters	 cache_cnt;
void		 cache_serve_init(struct event_base *, struct cache_db *);
void		 cache_serve_accept(int fd, const struct sockaddr *, socklen_t);
void		 cache_serve_drain(void);
void		 cache_serve_exit(void);
struct cache_conf *cache_conf(void);
struct cache_db	*cache_db(void);
int64_t		 cache_holder_new(void);
/* Build and send a get_r to one request; the answer may be NULL. */
void		 cache_reply_get_r(struct link *, uint64_t id, int version,
		    const struct answer *, int found, int stale,
		    const char *lease);
/* Reply, or `err` if the reply would not fit in max_frame. */
void		 cache_reply(struct link *, uint64_t id, struct msgb *);
/* Fill an answer from a DB entry (moves the text). */
void		 cache_entry_to_answer(struct cache_entry *, struct answer *,
		    const char *source);

/* wait.c */
void		 cache_wait_init(struct event_base *);
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
