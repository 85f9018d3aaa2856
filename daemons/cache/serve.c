/*
 * serve.c — whoisd-cache's requests, one child: get, put, timing,
 * timing_get, stats, purge; plus the expiry sweep of the slot-0 child.
 *
 * Every accepted connection is a link (proto/link.c reads the frames,
 * answers ping and refuses bad frames); this file only sees requests
 * that unpacked.  Each is answered at once from SQLite, except a `get`
 * that finds another client filling its name: that one is parked in
 * wait.c until the fill arrives, the lease frees up or lease_ttl passes.
 *
 * Group commit: the writes of one event-loop pass (leases, puts, timing
 * samples) share one SQLite transaction, opened by the first of them and
 * committed by an event that runs after every callback already queued in
 * that pass (cs_commit_ev).  A reply that acknowledges a write (put and
 * timing `ok`, purge_r, a get_r granting a lease) waits in cs_pending
 * until that commit, and becomes `err` internal if the commit fails, so
 * nothing is acknowledged before it is in the WAL.  Replies that only
 * carry an answer (hits, waiters filled from a put) leave at once.
 */
#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include <limits.h>
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
#include "proto/link.h"

/* The expiry sweep: rows per transaction, and the pause between two
 * batches of one sweep, so the loop keeps serving while it runs. */
#define CACHE_SWEEP_BATCH	500
#define CACHE_SWEEP_PAUSE_MS	10
/* A `checked` time beyond this (year 5138) is a bad request. */
#define CACHE_CHECKED_MAX	1e11

struct cache_conn {
	struct link		*cn_link;
	LIST_ENTRY(cache_conn)	 cn_entry;
};

/* A reply held back until the batch holding its write commits. */
struct cache_pending {
	TAILQ_ENTRY(cache_pending) cp_entry;
	struct link		*cp_link;	/* kept allocated by the link
						   until it is answered */
	uint64_t		 cp_id;
	const char		*cp_what;	/* "put", ... (static) */
	struct msgb		 cp_b;		/* the finished reply */
};

struct cache_counters	 cache_cnt;

static LIST_HEAD(, cache_conn)	 cs_conns = LIST_HEAD_INITIALIZER(cs_conns);
static struct event_base	*cs_base;
static struct cache_db		*cs_db;
static struct event		*cs_sweep_ev;
static struct event		*cs_commit_ev;
static uint32_t			 cs_holder_seq;
static TAILQ_HEAD(, cache_pending) cs_pending =
    TAILQ_HEAD_INITIALIZER(cs_pending);

static int	cache_request(struct link *, struct msg *, void *);
static void	cache_closed(struct link *, void *);

static const struct link_cb cache_link_cb = {
	cache_request, cache_closed
};

struct cache_conf *
cache_conf(void)
{
	return pool_conf();
}

struct cache_db *
cache_db(void)
{
	return cs_db;
}

/*
 * A lease holder id, unique among live askers of every child: the pid
 * in the high half, a per-child sequence in the low half.
 */
int64_t
cache_holder_new(void)
{
	if (++cs_holder_seq == 0)
		cs_holder_seq = 1;
	return ((int64_t)getpid() << 32) | cs_holder_seq;
}

static struct cache_ttl
cache_ttls(void)
{
	struct cache_conf	*cc = cache_conf();
	struct cache_ttl	 t;

	t.tl_registered = cc->cc_ttl_registered;
	t.tl_available = cc->cc_ttl_available;
	t.tl_reserved = cc->cc_ttl_reserved;
	return t;
}

/* 0 if b can be sent; else `err` is sent in its place and -1 returned. */
static int
cache_reply_check(struct link *l, uint64_t id, struct msgb *b)
{
	size_t	max = (size_t)cache_conf()->cc_max_frame;

	if (msgb_end(b) == -1) {
		cache_cnt.cn_errors++;
		log_warnx("%s: %s: reply could not be built", __func__,
		    link_peer(l));
		link_reply_err(l, id, MSG_E_INTERNAL, "reply could not be built");
		return -1;
	}
	if (msgb_len(b) + FRAME_HDRLEN > max) {
		cache_cnt.cn_errors++;
		log_warnx("%s: %s: reply of %zu bytes over max_frame %zu",
		    __func__, link_peer(l), msgb_len(b), max);
		link_reply_err(l, id, MSG_E_INTERNAL,
		    "reply of %zu bytes over max_frame", msgb_len(b));
		return -1;
	}
	return 0;
}

void
cache_reply(struct link *l, uint64_t id, struct msgb *b)
{
	if (cache_reply_check(l, id, b) == 0)
		link_reply(l, b);
}

/*
 * Send a finished reply that acknowledges a write: now if no batch is
 * open (the write is committed), else after the batch's commit.
 */
static void
cache_reply_committed(struct link *l, uint64_t id, struct msgb *b,
    const char *what)
{
	struct cache_pending	*cp;

	if (cache_reply_check(l, id, b) == -1)
		return;
	if (!cache_db_batch_open(cs_db)) {
		link_reply(l, b);
		return;
	}
	cp = xcalloc(1, sizeof(*cp));
	cp->cp_link = l;
	cp->cp_id = id;
	cp->cp_what = what;
	if (msgb_copy(&cp->cp_b, b) == -1)
		fatalx("%s: out of memory", __func__);
	TAILQ_INSERT_TAIL(&cs_pending, cp, cp_entry);
}

static void
cache_reply_ok_committed(struct link *l, uint64_t id, const char *what)
{
	struct msgb	b;

	msgb_init(&b);
	msg_pack_ok(&b, id, link_version(l));
	cache_reply_committed(l, id, &b, what);
	msgb_free(&b);
}

/*
 * The end of a pass: commit the batch, then send what waited for it, or
 * `err` internal to each if it is lost (the writes were rolled back: a
 * put's sender logs it; a get whose lease was lost asks the registry
 * itself, as for any cache error).
 */
static void
cache_batch_commit(void)
{
	struct cache_pending	*cp;
	char			 why[512];
	int			 rc;

	rc = cache_db_batch_commit(cs_db);
	cache_cnt.cn_commits++;
	if (rc == -1) {
		snprintf(why, sizeof(why), "%s", cache_db_errmsg(cs_db));
		if (!cache_db_fault(cs_db))
			log_warnx("group commit: %s", why);
	}
	while ((cp = TAILQ_FIRST(&cs_pending)) != NULL) {
		TAILQ_REMOVE(&cs_pending, cp, cp_entry);
		cache_cnt.cn_committed++;
		if (rc == 0)
			link_reply(cp->cp_link, &cp->cp_b);
		else {
			cache_cnt.cn_errors++;
			link_reply_err(cp->cp_link, cp->cp_id, MSG_E_INTERNAL,
			    "%s: %s", cp->cp_what, why);
		}
		msgb_free(&cp->cp_b);
		free(cp);
	}
}

static void
cache_commit_cb(evutil_socket_t fd, short ev, void *arg)
{
	(void)fd; (void)ev; (void)arg;
	cache_batch_commit();
}

/* The first write of a pass opened a batch: commit it when the pass ends. */
static void
cache_batch_opened(void *arg)
{
	(void)arg;
	event_active(cs_commit_ev, EV_TIMEOUT, 0);
}

static void
cache_reply_err(struct link *l, uint64_t id, const char *code,
    const char *what, const char *why)
{
	char	esc[256];

	cache_cnt.cn_errors++;
	/* A storage fault is logged once per episode by the storage layer. */
	if (strcmp(code, MSG_E_INTERNAL) == 0 && cache_db_fault(cs_db))
		log_debug("%s: %s: %s", link_peer(l), what, why);
	else if (strcmp(code, MSG_E_BAD_REQUEST) == 0)
		log_warnx("%s: %s: %s", link_peer(l), what,
		    log_escape(why, strlen(why), esc, sizeof(esc)));
	else
		log_warnx("%s: %s: %s", link_peer(l), what, why);
	link_reply_err(l, id, code, "%s: %s", what, why);
}

void
cache_entry_to_answer(struct cache_entry *e, struct answer *a,
    const char *source)
{
	memset(a, 0, sizeof(*a));
	snprintf(a->a_domain, sizeof(a->a_domain), "%s", e->ce_ace);
	snprintf(a->a_ace, sizeof(a->a_ace), "%s", e->ce_ace);
	snprintf(a->a_status, sizeof(a->a_status), "%s",
	    cache_status_name(e->ce_status));
	snprintf(a->a_reason, sizeof(a->a_reason), "%s", e->ce_reason);
	snprintf(a->a_source, sizeof(a->a_source), "%s", source);
	a->a_checked = e->ce_checked;
	a->a_expires = e->ce_expires;
	snprintf(a->a_registry, sizeof(a->a_registry), "%s", e->ce_registry);
	a->a_latency_ms = e->ce_latency_ms > 0 ? (uint64_t)e->ce_latency_ms : 0;
	snprintf(a->a_rule, sizeof(a->a_rule), "%s", e->ce_rule);
	snprintf(a->a_matched, sizeof(a->a_matched), "%s", e->ce_matched);
	/* The text moves: the entry no longer owns it. */
	a->a_text = e->ce_text;
	a->a_text_len = e->ce_text_len;
	e->ce_text = NULL;
	e->ce_text_len = 0;
}

/* Send a get_r.  A granted lease is a write: its holder must not hear of
 * it before it is committed. */
static void
cache_send_get_r(struct link *l, uint64_t id, int version,
    const struct msg_get_r *gr)
{
	struct msgb	b;

	msgb_init(&b);
	msg_pack_get_r(&b, id, version, gr);
	if (strcmp(gr->gr_lease, GET_LEASE_GRANTED) == 0)
		cache_reply_committed(l, id, &b, "get lease");
	else
		cache_reply(l, id, &b);
	msgb_free(&b);
}

void
cache_reply_get_r(struct link *l, uint64_t id, int version,
    const struct answer *a, int found, int stale, const char *lease)
{
	struct msg_get_r	gr;

	memset(&gr, 0, sizeof(gr));
	gr.gr_found = found && a != NULL;
	gr.gr_stale = gr.gr_found && stale;
	snprintf(gr.gr_lease, sizeof(gr.gr_lease), "%s", lease);
	if (gr.gr_found) {
		/* Shallow: the text stays the caller's. */
		gr.gr_answer = *a;
	}
	cache_send_get_r(l, id, version, &gr);
}

/* The asker's answer is still the entry: found, fresh, no answer. */
static void
cache_reply_same(struct link *l, uint64_t id, int version)
{
	struct msg_get_r	gr;

	memset(&gr, 0, sizeof(gr));
	gr.gr_found = 1;
	gr.gr_same = 1;
	snprintf(gr.gr_lease, sizeof(gr.gr_lease), "%s", GET_LEASE_NONE);
	cache_send_get_r(l, id, version, &gr);
}

/*
 * Read a name's entry.  1 fresh, 2 expired but still servable as stale,
 * 0 nothing servable, -1 error.  An entry expired longer than stale_max
 * ago counts as absent (the sweep has not removed it yet).
 */
static int
cache_lookup(const char *ace, double now, int flags, struct cache_entry *e)
{
	int	r;

	r = cache_db_get(cs_db, ace, now, flags, e);
	if (r == 2 && now - e->ce_expires > cache_conf()->cc_stale_max) {
		cache_entry_clear(e);
		r = 0;
	}
	return r;
}

/* Answer a get from an entry (or its absence). */
static void
cache_get_reply(struct link *l, uint64_t id, int version, int r,
    struct cache_entry *e, const char *lease)
{
	struct answer	a;

	if (r == 1 || r == 2) {
		cache_entry_to_answer(e, &a, r == 1 ? "cache" : "stale");
		cache_reply_get_r(l, id, version, &a, 1, r == 2, lease);
		answer_free(&a);
	} else
		cache_reply_get_r(l, id, version, NULL, 0, 0, lease);
}

static void
cache_get(struct link *l, struct msg *m)
{
	struct msg_get		g;
	struct cache_entry	e;
	uint64_t		id = msg_id(m);
	int			v = msg_version(m);
	double			now, until = 0;
	char			err[256];
	int			r, lr;

	if (msg_read_get(m, &g, err, sizeof(err)) == -1) {
		cache_reply_err(l, id, MSG_E_BAD_REQUEST, "get", err);
		return;
	}
	if (g.g_domain[0] == '\0') {
		cache_reply_err(l, id, MSG_E_BAD_REQUEST, "get", "empty domain");
		return;
	}
	now = now_wall();
	/*
	 * The asker holds an answer ("if"): a fresh entry with the same
	 * checked time, expiry and status is that answer (a put always
	 * writes a new checked time, and the status is compared too, for
	 * two puts within one second), so say `same` and skip the text.
	 */
	if (g.g_if_checked > 0) {
		if ((r = cache_lookup(g.g_domain, now, 0, &e)) == -1) {
			cache_reply_err(l, id, MSG_E_INTERNAL, "get",
			    cache_db_errmsg(cs_db));
			return;
		}
		if (r == 1 && e.ce_checked == g.g_if_checked &&
		    e.ce_expires == g.g_if_expires &&
		    strcmp(cache_status_name(e.ce_status), g.g_if_status) == 0) {
			cache_cnt.cn_hits++;
			cache_cnt.cn_same++;
			cache_entry_clear(&e);
			cache_reply_same(l, id, v);
			return;
		}
		cache_entry_clear(&e);
	}
	/* A fresh hit for a client that wants no text skips inflating it. */
	if ((r = cache_lookup(g.g_domain, now, g.g_notext ? 0 : CACHE_GET_TEXT,
	    &e)) == -1) {
		cache_reply_err(l, id, MSG_E_INTERNAL, "get",
		    cache_db_errmsg(cs_db));
		return;
	}
	if (r == 1 || !g.g_lease) {
		if (r == 1)
			cache_cnt.cn_hits++;
		else if (r == 2)
			cache_cnt.cn_stale++;
		else
			cache_cnt.cn_misses++;
		cache_get_reply(l, id, v, r, &e, GET_LEASE_NONE);
		cache_entry_clear(&e);
		return;
	}

	/* Missing or expired, and the caller would fill it: coalesce. */
	lr = cache_db_lease(cs_db, g.g_domain, cache_holder_new(), now,
	    cache_conf()->cc_lease_ttl, &until);
	switch (lr) {
	case 1:
		cache_cnt.cn_lease_granted++;
		if (r == 2)
			cache_cnt.cn_stale++;
		else
			cache_cnt.cn_misses++;
		cache_get_reply(l, id, v, r, &e, GET_LEASE_GRANTED);
		break;
	case 2:
		/* Filled between our read and the lease: read it again. */
		cache_entry_clear(&e);
		if ((r = cache_lookup(g.g_domain, now, CACHE_GET_TEXT,
		    &e)) == -1) {
			cache_reply_err(l, id, MSG_E_INTERNAL, "get",
			    cache_db_errmsg(cs_db));
			return;
		}
		cache_cnt.cn_hits += r == 1;
		cache_get_reply(l, id, v, r, &e, GET_LEASE_NONE);
		break;
	case 0:
		cache_cnt.cn_lease_waits++;
		cache_wait_park(l, id, v, g.g_domain, until);
		break;
	default:
		cache_reply_err(l, id, MSG_E_INTERNAL, "get lease",
		    cache_db_errmsg(cs_db));
		break;
	}
	cache_entry_clear(&e);
}

static void
cache_put(struct link *l, struct msg *m)
{
	struct answer		a;
	struct cache_entry	e;
	struct cache_ttl	ttls = cache_ttls();
	uint64_t		id = msg_id(m);
	const char		*ace;
	double			ttl;
	char			err[256];
	int			status;

	memset(&a, 0, sizeof(a));
	if (msg_read_put(m, &a, err, sizeof(err)) == -1) {
		cache_reply_err(l, id, MSG_E_BAD_REQUEST, "put", err);
		answer_free(&a);
		return;
	}
	ace = a.a_ace[0] != '\0' ? a.a_ace : a.a_domain;
	if (ace[0] == '\0' || strlen(ace) >= CACHE_ACE_LEN) {
		cache_reply_err(l, id, MSG_E_BAD_REQUEST, "put", "no name");
		answer_free(&a);
		return;
	}
	if (a.a_text_len > CACHE_TEXT_MAX) {
		cache_reply_err(l, id, MSG_E_BAD_REQUEST, "put",
		    "text over 4 MiB");
		answer_free(&a);
		return;
	}
	if (!(a.a_checked > 0))
		a.a_checked = now_wall();
	else if (!(a.a_checked < CACHE_CHECKED_MAX)) {
		/* Also keeps checked + ttl within an int64 in cache_db.c. */
		cache_reply_err(l, id, MSG_E_BAD_REQUEST, "put",
		    "checked out of range");
		answer_free(&a);
		return;
	}

	status = cache_status_parse(a.a_status);
	if ((ttl = cache_ttl_for(&ttls, status)) > 0) {
		memset(&e, 0, sizeof(e));
		snprintf(e.ce_ace, sizeof(e.ce_ace), "%s", ace);
		e.ce_status = status;
		snprintf(e.ce_reason, sizeof(e.ce_reason), "%s", a.a_reason);
		snprintf(e.ce_registry, sizeof(e.ce_registry), "%s",
		    a.a_registry);
		e.ce_checked = a.a_checked;
		e.ce_latency_ms = a.a_latency_ms > INT_MAX ? INT_MAX :
		    (int)a.a_latency_ms;
		snprintf(e.ce_rule, sizeof(e.ce_rule), "%s", a.a_rule);
		snprintf(e.ce_matched, sizeof(e.ce_matched), "%s", a.a_matched);
		e.ce_text = a.a_text;		/* borrowed, not freed here */
		e.ce_text_len = a.a_text_len;
		if (cache_db_put(cs_db, &e, ttl) == -1) {
			cache_reply_err(l, id, MSG_E_INTERNAL, "put",
			    cache_db_errmsg(cs_db));
			answer_free(&a);
			return;
		}
		/* What a get would now read back. */
		a.a_expires = (double)(int64_t)(a.a_checked + ttl);
		a.a_checked = (double)(int64_t)a.a_checked;
		cache_cnt.cn_puts++;
	} else {
		/*
		 * unknown (or invalid) is never stored, but the name's
		 * lease goes so the next asker may try again, and the
		 * waiters below get this verdict instead of each asking a
		 * registry that has just failed us.
		 */
		if (cache_db_lease_release(cs_db, ace, 0) == -1 &&
		    !cache_db_fault(cs_db))
			log_warnx("put %s: lease release: %s", ace,
			    cache_db_errmsg(cs_db));
		cache_cnt.cn_puts_unstored++;
	}
	/*
	 * Acknowledged once committed (the batch's end); the waiters get
	 * the answer now: it is the registry's, stored or not.
	 */
	cache_reply_ok_committed(l, id, "put");
	snprintf(a.a_source, sizeof(a.a_source), "cache");
	cache_wait_fill(ace, &a);
	answer_free(&a);
}

static void
cache_timing(struct link *l, struct msg *m)
{
	struct msg_timing	t;
	uint64_t		id = msg_id(m);
	char			err[256];
	int			outcome;

	if (msg_read_timing(m, &t, err, sizeof(err)) == -1) {
		cache_reply_err(l, id, MSG_E_BAD_REQUEST, "timing", err);
		return;
	}
	if ((outcome = cache_outcome_parse(t.tm_outcome)) == -1) {
		cache_reply_err(l, id, MSG_E_BAD_REQUEST, "timing",
		    "outcome must be ok, fail or ratelimited");
		return;
	}
	if (t.tm_registry[0] == '\0') {
		cache_reply_err(l, id, MSG_E_BAD_REQUEST, "timing",
		    "empty registry");
		return;
	}
	if (cache_db_timing_add(cs_db, t.tm_registry, t.tm_ms > INT_MAX ?
	    INT_MAX : (int)t.tm_ms, outcome, now_wall()) == -1) {
		cache_reply_err(l, id, MSG_E_INTERNAL, "timing",
		    cache_db_errmsg(cs_db));
		return;
	}
	cache_cnt.cn_timings++;
	cache_reply_ok_committed(l, id, "timing");
}

static void
cache_timing_get(struct link *l, struct msg *m)
{
	struct cache_timing	ct;
	struct msg_timing_r	tr;
	struct msgb		b;
	uint64_t		id = msg_id(m);
	char			reg[ANSWER_REGISTRY_LEN], err[256];

	if (msg_read_timing_get(m, reg, sizeof(reg), err, sizeof(err)) == -1) {
		cache_reply_err(l, id, MSG_E_BAD_REQUEST, "timing_get", err);
		return;
	}
	if (reg[0] == '\0') {
		cache_reply_err(l, id, MSG_E_BAD_REQUEST, "timing_get",
		    "empty registry");
		return;
	}
	if (cache_db_timing_get(cs_db, reg, now_wall(), &ct) == -1) {
		cache_reply_err(l, id, MSG_E_INTERNAL, "timing_get",
		    cache_db_errmsg(cs_db));
		return;
	}
	memset(&tr, 0, sizeof(tr));
	snprintf(tr.tr_registry, sizeof(tr.tr_registry), "%s", reg);
	tr.tr_n = ct.tm_n > 0 ? (uint64_t)ct.tm_n : 0;
	tr.tr_p50 = ct.tm_p50 > 0 ? (uint64_t)ct.tm_p50 : 0;
	tr.tr_p90 = ct.tm_p90 > 0 ? (uint64_t)ct.tm_p90 : 0;
	tr.tr_p99 = ct.tm_p99 > 0 ? (uint64_t)ct.tm_p99 : 0;
	tr.tr_ok = ct.tm_ok;
	tr.tr_fail = ct.tm_fail;
	tr.tr_last_ratelimit = ct.tm_last_ratelimit;
	msgb_init(&b);
	msg_pack_timing_r(&b, id, msg_version(m), &tr);
	cache_reply(l, id, &b);
	msgb_free(&b);
}

#define CNT(n, v)	do {						\
	snprintf(c[nc].mc_name, sizeof(c[nc].mc_name), "%s", (n));	\
	c[nc++].mc_value = (uint64_t)(v);				\
} while (0)

static void
cache_stats(struct link *l, struct msg *m)
{
	struct cache_stats	st;
	struct msg_counter	c[32];
	struct msgb		b;
	uint64_t		id = msg_id(m);
	size_t			nc = 0;

	if (cache_db_stats(cs_db, now_wall(), &st) == -1) {
		cache_reply_err(l, id, MSG_E_INTERNAL, "stats",
		    cache_db_errmsg(cs_db));
		return;
	}
	/* The database, shared by every child. */
	CNT("entries", st.cs_entries);
	CNT("fresh", st.cs_fresh);
	CNT("expired", st.cs_expired);
	CNT("leases", st.cs_leases);
	CNT("db_bytes", st.cs_db_bytes);
	CNT("free_bytes", st.cs_free_bytes);
	CNT("wal_bytes", st.cs_wal_bytes);
	/* This child. */
	CNT("pid", getpid());
	CNT("slot", pool_child_slot());
	CNT("hits", cache_cnt.cn_hits);
	CNT("same", cache_cnt.cn_same);
	CNT("misses", cache_cnt.cn_misses);
	CNT("stale", cache_cnt.cn_stale);
	CNT("puts", cache_cnt.cn_puts);
	CNT("puts_unstored", cache_cnt.cn_puts_unstored);
	CNT("lease_granted", cache_cnt.cn_lease_granted);
	CNT("lease_waits", cache_cnt.cn_lease_waits);
	CNT("waiters", cache_wait_count());
	CNT("wait_filled", cache_cnt.cn_wait_filled);
	CNT("wait_timeouts", cache_cnt.cn_wait_timeouts);
	CNT("timings", cache_cnt.cn_timings);
	CNT("purged", cache_cnt.cn_purged);
	CNT("swept", cache_cnt.cn_swept);
	CNT("errors", cache_cnt.cn_errors);
	CNT("commits", cache_cnt.cn_commits);
	CNT("committed", cache_cnt.cn_committed);
	msgb_init(&b);
	msg_pack_stats_r(&b, id, msg_version(m), c, nc);
	cache_reply(l, id, &b);
	msgb_free(&b);
}

#undef CNT

static void
cache_purge(struct link *l, struct msg *m)
{
	struct msg_purge	pg;
	struct msgb		b;
	uint64_t		id = msg_id(m);
	int64_t			n;
	char			err[256];

	if (msg_read_purge(m, &pg, err, sizeof(err)) == -1) {
		cache_reply_err(l, id, MSG_E_BAD_REQUEST, "purge", err);
		return;
	}
	if (!pg.pg_all && pg.pg_domain[0] == '\0') {
		cache_reply_err(l, id, MSG_E_BAD_REQUEST, "purge",
		    "give a domain or all");
		return;
	}
	n = cache_db_purge(cs_db, pg.pg_all ? NULL : pg.pg_domain);
	if (n == -1) {
		cache_reply_err(l, id, MSG_E_INTERNAL, "purge",
		    cache_db_errmsg(cs_db));
		return;
	}
	cache_cnt.cn_purged += (uint64_t)n;
	log_notice("purged %lld answer(s)%s%s", (long long)n,
	    pg.pg_all ? "" : " for ", pg.pg_all ? "" : pg.pg_domain);
	msgb_init(&b);
	msg_pack_purge_r(&b, id, msg_version(m), (uint64_t)n);
	cache_reply_committed(l, id, &b, "purge");
	msgb_free(&b);
}

static int
cache_request(struct link *l, struct msg *m, void *arg)
{
	enum msg_type	t = msg_type(m);
	char		key[SB_KEYLEN];

	(void)arg;
	switch (t) {
	case MSG_GET:
	case MSG_PUT:
	case MSG_TIMING:
	case MSG_TIMING_GET:
	case MSG_STATS:
	case MSG_PURGE:
		break;
	default:
		cache_cnt.cn_errors++;
		log_warnx("%s: unknown message type \"%s\"", link_peer(l),
		    log_escape(msg_tname(m), strlen(msg_tname(m)), key,
		    sizeof(key)));
		return -1;	/* link.c answers unknown-type */
	}
	snprintf(key, sizeof(key), "%s from %s", msg_tname(m), link_peer(l));
	pool_req_begin(key);
	switch (t) {
	case MSG_GET:
		/* A parked get ends its request in wait.c. */
		cache_get(l, m);
		return 0;
	case MSG_PUT:
		cache_put(l, m);
		break;
	case MSG_TIMING:
		cache_timing(l, m);
		break;
	case MSG_TIMING_GET:
		cache_timing_get(l, m);
		break;
	case MSG_STATS:
		cache_stats(l, m);
		break;
	case MSG_PURGE:
		cache_purge(l, m);
		break;
	default:
		break;
	}
	pool_req_end();
	return 0;
}

static void
cache_closed(struct link *l, void *arg)
{
	struct cache_conn	*cn = arg;

	(void)l;
	cache_wait_link_gone(cn->cn_link);
	LIST_REMOVE(cn, cn_entry);
	free(cn);
	pool_conn_done();
}

void
cache_serve_accept(int fd, const struct sockaddr *sa, socklen_t salen)
{
	struct cache_conf	*cc = cache_conf();
	struct cache_conn	*cn;
	struct link_opts	 lo;

	memset(&lo, 0, sizeof(lo));
	lo.lo_limits.fl_max_frame = (size_t)cc->cc_max_frame;
	lo.lo_limits.fl_compress_min = cc->cc_compress_min == 0 ? SIZE_MAX :
	    (size_t)cc->cc_compress_min;
	cn = xcalloc(1, sizeof(*cn));
	/* Listed first: link_new may not call back, but lc_closed may later. */
	LIST_INSERT_HEAD(&cs_conns, cn, cn_entry);
	cn->cn_link = link_new(cs_base, fd, sa, salen, &cache_link_cb, &lo, cn);
	if (cn->cn_link == NULL) {
		LIST_REMOVE(cn, cn_entry);
		free(cn);
		pool_conn_done();
	}
}

/* Every link says goaway, finishes what it has in flight, and closes. */
void
cache_serve_drain(void)
{
	struct cache_conn	*cn, *next;

	for (cn = LIST_FIRST(&cs_conns); cn != NULL; cn = next) {
		next = LIST_NEXT(cn, cn_entry);
		link_goaway(cn->cn_link);
	}
	if (cs_sweep_ev != NULL)
		event_del(cs_sweep_ev);
}

/*
 * The expiry sweep: answers expired longer than stale_max ago, and dead
 * leases, go in batches of CACHE_SWEEP_BATCH rows with a short pause in
 * between, so requests are served between two batches.
 */
static void
cache_sweep_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct cache_conf	*cc = cache_conf();
	struct timeval		 tv;
	int64_t			 n;
	double			 iv;

	(void)fd; (void)ev; (void)arg;
	n = cache_db_expire(cs_db, now_wall(), cc->cc_stale_max,
	    CACHE_SWEEP_BATCH);
	if (n == -1 && !cache_db_fault(cs_db))
		log_warnx("expiry sweep: %s", cache_db_errmsg(cs_db));
	else if (n > 0) {
		cache_cnt.cn_swept += (uint64_t)n;
		log_info("expiry sweep: %lld answer(s) removed", (long long)n);
	}
	if (n == CACHE_SWEEP_BATCH) {
		tv.tv_sec = 0;
		tv.tv_usec = CACHE_SWEEP_PAUSE_MS * 1000;
	} else {
		iv = cc->cc_sweep_interval;
		tv.tv_sec = (time_t)iv;
		tv.tv_usec = (suseconds_t)((iv - (double)tv.tv_sec) * 1e6);
	}
	evtimer_add(cs_sweep_ev, &tv);
}

void
cache_serve_init(struct event_base *base, struct cache_db *db)
{
	struct timeval	tv = { 1, 0 };

	cs_base = base;
	cs_db = db;
	memset(&cache_cnt, 0, sizeof(cache_cnt));
	cs_commit_ev = event_new(base, -1, 0, cache_commit_cb, NULL);
	cache_db_set_batching(db, cache_batch_opened, NULL);
	/* One sweeper is enough; slot 0 always exists while the pool runs. */
	if (pool_child_slot() == 0) {
		cs_sweep_ev = evtimer_new(base, cache_sweep_cb, NULL);
		evtimer_add(cs_sweep_ev, &tv);
	}
}

void
cache_serve_exit(void)
{
	/* A batch still open is committed (and answered) before closing. */
	if (cs_commit_ev != NULL) {
		cache_batch_commit();
		cache_db_set_batching(cs_db, NULL, NULL);
		event_free(cs_commit_ev);
		cs_commit_ev = NULL;
	}
	if (cs_sweep_ev != NULL) {
		event_free(cs_sweep_ev);
		cs_sweep_ev = NULL;
	}
}
