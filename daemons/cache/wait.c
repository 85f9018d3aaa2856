/*
 * wait.c — coalescing: `get`s parked behind another client's lease.
 *
 * The first miss for a name gets the lease (cache_db_lease) and its
 * client asks the registry; every later miss for that name, in any
 * child, is parked here instead of being answered, so one registry
 * query serves them all.  A parked get ends when:
 *
 *   - a `put` for the name arrives in this child (cache_wait_fill): every
 *     local waiter gets the put's answer, an `unknown` one included (it
 *     is never stored, but a registry that just failed us should not be
 *     asked again by each waiter);
 *   - the poll (one timer per child, every CACHE_WAIT_POLL_MS, running
 *     only while there are waiters) sees a fresh entry: the put landed
 *     in another child; every waiter of the name gets it;
 *   - the poll sees the lease gone without an entry (released by an
 *     unknown put elsewhere, or expired because its holder died): the
 *     oldest waiter takes the lease over and is answered `granted`, the
 *     others keep waiting behind it;
 *   - lease_ttl after it was parked: it takes the lease if it is free,
 *     else it is answered with what the cache has (a stale entry or
 *     nothing) and lease `none`, so no client waits longer than that.
 *
 * The poll is cheap when nothing happens: PRAGMA data_version tells
 * whether another connection committed since the last tick, and only
 * then, or when a lease or a waiter runs out, is a name looked at.
 */
#include <sys/queue.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "common/log.h"
#include "common/pool.h"
#include "common/util.h"
#include "daemons/cache/cache.h"
#include "daemons/cache/cache_db.h"
#include "proto/link_server.h"

#define CACHE_WAIT_POLL_MS	20
#define CACHE_WAIT_BUCKETS	256

struct waiter {
	TAILQ_ENTRY(waiter)	 w_entry;
	struct link		*w_link;
	uint64_t		 w_id;
	int			 w_version;
	double			 w_deadline;	/* wall clock */
};

/* The waiters of one name, oldest (and so first to time out) first. */
struct wname {
	LIST_ENTRY(wname)	 wn_entry;
	TAILQ_HEAD(, waiter)	 wn_waiters;
	size_t			 wn_n;
	double			 wn_until;	/* the lease's expiry, last seen */
	int			 wn_recheck;	/* look again at the next tick */
	char			 wn_ace[CACHE_ACE_LEN];
};

LIST_HEAD(wbucket, wname);

static struct wbucket	 wt_buckets[CACHE_WAIT_BUCKETS];
static struct event	*wt_timer;
static uint64_t		 wt_count;
static int64_t		 wt_data_version;
static uint32_t		 wt_holder_seq;

static unsigned
wait_hash(const char *s)
{
	return str_hash(s) % CACHE_WAIT_BUCKETS;
}

static struct wname *
wait_find(const char *ace)
{
	struct wname	*wn;

	LIST_FOREACH(wn, &wt_buckets[wait_hash(ace)], wn_entry)
		if (strcmp(wn->wn_ace, ace) == 0)
			return wn;
	return NULL;
}

/*
 * A lease holder id, unique among live askers of every child: the pid
 * in the high half, a per-child sequence in the low half.
 */
int64_t
cache_holder_new(void)
{
	if (++wt_holder_seq == 0)
		wt_holder_seq = 1;
	return ((int64_t)getpid() << 32) | wt_holder_seq;
}

uint64_t
cache_wait_count(void)
{
	return wt_count;
}

static void
wait_timer_update(void)
{
	struct timeval	tv = { 0, CACHE_WAIT_POLL_MS * 1000 };

	if (wt_count > 0 && !evtimer_pending(wt_timer, NULL)) {
		/* Start from the current version: only later commits count. */
		if (cache_db_data_version(cache_db(), &wt_data_version) == -1)
			wt_data_version = -1;
		evtimer_add(wt_timer, &tv);
	} else if (wt_count == 0 && evtimer_pending(wt_timer, NULL))
		evtimer_del(wt_timer);
}

/* Unlink one waiter; its request is over once the caller replied. */
static void
wait_remove(struct wname *wn, struct waiter *w)
{
	TAILQ_REMOVE(&wn->wn_waiters, w, w_entry);
	wn->wn_n--;
	wt_count--;
	free(w);
	pool_req_end();
}

static void
wait_name_free_if_empty(struct wname *wn)
{
	if (wn->wn_n > 0)
		return;
	LIST_REMOVE(wn, wn_entry);
	free(wn);
}

void
cache_wait_park(struct link *l, uint64_t id, int version, const char *ace,
    double lease_until)
{
	struct wname	*wn;
	struct waiter	*w;

	if ((wn = wait_find(ace)) == NULL) {
		wn = xcalloc(1, sizeof(*wn));
		snprintf(wn->wn_ace, sizeof(wn->wn_ace), "%s", ace);
		TAILQ_INIT(&wn->wn_waiters);
		LIST_INSERT_HEAD(&wt_buckets[wait_hash(ace)], wn, wn_entry);
	}
	wn->wn_until = lease_until;
	/*
	 * The holder's put may commit between our lease check and the
	 * version the poll starts from; the next tick looks regardless.
	 */
	wn->wn_recheck = 1;
	w = xcalloc(1, sizeof(*w));
	w->w_link = l;
	w->w_id = id;
	w->w_version = version;
	w->w_deadline = now_wall() + cache_conf()->cc_lease_ttl;
	TAILQ_INSERT_TAIL(&wn->wn_waiters, w, w_entry);
	wn->wn_n++;
	wt_count++;
	log_debug("get %s: lease held until %.3f, %zu waiting here", ace,
	    lease_until, wn->wn_n);
	wait_timer_update();
}

/*
 * Answer every waiter of wn with one answer: found, fresh, lease none.
 * The reply is packed once per protocol version and renumbered per
 * waiter (msgb_set_id), so 500 waiters cost one pack, not 500.
 */
static void
wait_answer_all(struct wname *wn, const struct answer *a)
{
	struct msg_get_r	 gr;
	struct msgb		 b[PROTO_VERSION + 1];
	int			 packed[PROTO_VERSION + 1];
	struct waiter		*w;
	int			 v;

	memset(&gr, 0, sizeof(gr));
	gr.gr_found = 1;
	snprintf(gr.gr_lease, sizeof(gr.gr_lease), "%s", GET_LEASE_NONE);
	gr.gr_answer = *a;
	memset(packed, 0, sizeof(packed));
	while ((w = TAILQ_FIRST(&wn->wn_waiters)) != NULL) {
		v = w->w_version;
		if (v < 1 || v > PROTO_VERSION)
			v = PROTO_VERSION;
		if (!packed[v]) {
			msgb_init(&b[v]);
			msg_pack_get_r(&b[v], w->w_id, v, &gr);
			packed[v] = 1;
		} else
			msgb_set_id(&b[v], w->w_id);
		link_server_reply(w->w_link, w->w_id, &b[v]);
		cache_cnt.cn_wait_filled++;
		wait_remove(wn, w);
	}
	for (v = 0; v <= PROTO_VERSION; v++)
		if (packed[v])
			msgb_free(&b[v]);
}

void
cache_wait_fill(const char *ace, const struct answer *a)
{
	struct wname	*wn;

	if ((wn = wait_find(ace)) == NULL)
		return;
	log_debug("put %s: answering %zu waiter(s)", ace, wn->wn_n);
	wait_answer_all(wn, a);
	wait_name_free_if_empty(wn);
	wait_timer_update();
}

/* One waiter is answered from the DB's entry (or its absence). */
static void
wait_answer_one(struct wname *wn, struct waiter *w, int r,
    struct answer *a, const char *lease)
{
	if (r == 1 || r == 2)
		cache_reply_get_r(w->w_link, w->w_id, w->w_version, a, 1,
		    r == 2, lease);
	else
		cache_reply_get_r(w->w_link, w->w_id, w->w_version, NULL, 0, 0,
		    lease);
	wait_remove(wn, w);
}

/*
 * Look at one name: a fresh entry ends every wait; a free lease goes to
 * the oldest waiter; waiters past their time end.  `changed` says that
 * another connection committed since the last tick (a lease may have
 * been released).
 */
static void
wait_check(struct wname *wn, double now, int changed)
{
	struct cache_conf	*cc = cache_conf();
	struct cache_entry	 e;
	struct answer		 a;
	struct waiter		*w;
	double			 until = 0;
	int			 r, lr, tried = 0;

	memset(&a, 0, sizeof(a));
	r = cache_db_get(cache_db(), wn->wn_ace, now, CACHE_GET_TEXT, &e);
	if (r == 2 && now - e.ce_expires > cc->cc_stale_max) {
		cache_entry_clear(&e);
		r = 0;
	}
	if (r == -1) {
		/* Try again next tick; the deadline still bounds the wait. */
		log_warnx("waiters of %s: %s", wn->wn_ace,
		    cache_db_errmsg(cache_db()));
		r = 0;
	} else if (r == 1) {
		cache_entry_to_answer(&e, &a, SRC_CACHE);
		wait_answer_all(wn, &a);
		answer_free(&a);
		cache_entry_clear(&e);
		return;
	}
	if (r == 2)
		cache_entry_to_answer(&e, &a, SRC_STALE);
	cache_entry_clear(&e);

	w = TAILQ_FIRST(&wn->wn_waiters);
	if (changed || now >= wn->wn_until || now >= w->w_deadline) {
		tried = 1;
		lr = cache_db_lease(cache_db(), wn->wn_ace, cache_holder_new(),
		    now, cc->cc_lease_ttl, &until);
		switch (lr) {
		case 1:
			/* The lease was free: the oldest waiter fills it. */
			log_info("get %s: lease taken over by a waiter",
			    wn->wn_ace);
			cache_cnt.cn_lease_granted++;
			wn->wn_until = until;
			wait_answer_one(wn, w, r, r == 2 ? &a : NULL,
			    GET_LEASE_GRANTED);
			break;
		case 2:
			/* A put landed between the read and the lease. */
			answer_free(&a);
			wait_check(wn, now, 0);
			return;
		case 0:
			wn->wn_until = until;
			break;
		default:
			log_warnx("waiters of %s: lease: %s", wn->wn_ace,
			    cache_db_errmsg(cache_db()));
			break;
		}
	}
	/* Waiters whose time is up get what there is, lease none. */
	while ((w = TAILQ_FIRST(&wn->wn_waiters)) != NULL &&
	    now >= w->w_deadline) {
		cache_cnt.cn_wait_timeouts++;
		log_info("get %s: waited %.1fs for the lease holder; answering "
		    "without a lease%s", wn->wn_ace, cc->cc_lease_ttl,
		    tried ? "" : " (not tried)");
		wait_answer_one(wn, w, r, r == 2 ? &a : NULL, GET_LEASE_NONE);
	}
	answer_free(&a);
}

static void
wait_poll_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct wname	*wn, *next;
	struct waiter	*w;
	int64_t		 ver = -1;
	double		 now;
	int		 i, changed;

	(void)fd; (void)ev; (void)arg;
	if (cache_db_data_version(cache_db(), &ver) == -1) {
		log_warnx("waiters: data_version: %s",
		    cache_db_errmsg(cache_db()));
		ver = -1;
	}
	changed = ver == -1 || ver != wt_data_version;
	wt_data_version = ver;
	now = now_wall();
	for (i = 0; i < CACHE_WAIT_BUCKETS; i++) {
		for (wn = LIST_FIRST(&wt_buckets[i]); wn != NULL; wn = next) {
			next = LIST_NEXT(wn, wn_entry);
			w = TAILQ_FIRST(&wn->wn_waiters);
			if (w != NULL && (changed || wn->wn_recheck ||
			    now >= wn->wn_until || now >= w->w_deadline)) {
				wn->wn_recheck = 0;
				wait_check(wn, now, 1);
			}
			wait_name_free_if_empty(wn);
		}
	}
	if (wt_count > 0) {
		struct timeval tv = { 0, CACHE_WAIT_POLL_MS * 1000 };

		evtimer_add(wt_timer, &tv);
	}
}

/* The connection ended: its waiters will never be read. */
void
cache_wait_link_gone(struct link *l)
{
	struct wname	*wn, *next;
	struct waiter	*w, *wnext;
	int		 i;

	for (i = 0; i < CACHE_WAIT_BUCKETS; i++) {
		for (wn = LIST_FIRST(&wt_buckets[i]); wn != NULL; wn = next) {
			next = LIST_NEXT(wn, wn_entry);
			for (w = TAILQ_FIRST(&wn->wn_waiters); w != NULL;
			    w = wnext) {
				wnext = TAILQ_NEXT(w, w_entry);
				if (w->w_link != l)
					continue;
				link_reply_drop(l);
				wait_remove(wn, w);
			}
			wait_name_free_if_empty(wn);
		}
	}
	wait_timer_update();
}

void
cache_wait_init(struct event_base *base)
{
	int	i;

	for (i = 0; i < CACHE_WAIT_BUCKETS; i++)
		LIST_INIT(&wt_buckets[i]);
	wt_timer = evtimer_new(base, wait_poll_cb, NULL);
}

/* The child is exiting: nobody will read these replies. */
void
cache_wait_fini(void)
{
	struct wname	*wn;
	struct waiter	*w;
	int		 i;

	for (i = 0; i < CACHE_WAIT_BUCKETS; i++) {
		while ((wn = LIST_FIRST(&wt_buckets[i])) != NULL) {
			while ((w = TAILQ_FIRST(&wn->wn_waiters)) != NULL) {
				TAILQ_REMOVE(&wn->wn_waiters, w, w_entry);
				free(w);
			}
			LIST_REMOVE(wn, wn_entry);
			free(wn);
		}
	}
	wt_count = 0;
	if (wt_timer != NULL) {
		event_free(wt_timer);
		wt_timer = NULL;
	}
}
