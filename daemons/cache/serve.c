/*
 * serve.c — whoisd-cache's requests, one child: get, put, timing,
 * timing_get, stats, purge; plus the expiry sweep of the slot-0 child.
 *
 * The link server (proto/link_server.c) accepts the connections and
 * hands each request to its row of cache_handlers; proto/link.c reads
 * the frames, answers ping and refuses bad frames.  Each request is
 * answered at once from SQLite, except a `get` that finds another client
 * filling its name: that one is parked in wait.c until the fill arrives,
 * the lease frees up or lease_ttl passes.  Replies are built in reply.c,
 * where those that acknowledge a write wait for the group commit.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "common/log.h"
#include "common/name.h"
#include "common/pool.h"
#include "common/util.h"
#include "daemons/cache/cache.h"
#include "daemons/cache/cache_db.h"
#include "proto/link_server.h"

/* Answers and timings come only from whoisd-query, which asked the
 * registry; a purge only from the operator's whoisctl. */
#define CACHE_READERS	(ROLE_BIT(ROLE_FRONT) | ROLE_BIT(ROLE_QUERY) | \
			 ROLE_BIT(ROLE_CTL))
#define CACHE_WRITERS	ROLE_BIT(ROLE_QUERY)
/* ...and the front's lease releases (cache_put()). */
#define CACHE_PUTTERS	(ROLE_BIT(ROLE_QUERY) | ROLE_BIT(ROLE_FRONT))
#define CACHE_ADMIN	ROLE_BIT(ROLE_CTL)

/* The expiry sweep: rows per transaction, and the pause between two
 * batches of one sweep, so the loop keeps serving while it runs. */
#define CACHE_SWEEP_BATCH	500
#define CACHE_SWEEP_PAUSE_MS	10
/* A `checked` time beyond this (year 5138) is a bad request. */
#define CACHE_CHECKED_MAX	1e11
/* Clock skew allowed between hosts: a put checked later than this ahead
 * of our clock would stay "fresh" past its ttl, so it is refused. */
#define CACHE_CHECKED_SKEW	300
/* The most a put's `expires` may lie ahead of its `checked` (a year):
 * the cache sets the expiry itself, anything beyond is not an answer. */
#define CACHE_EXPIRES_SPAN	(366.0 * 86400)

static struct link_server	*cs_srv;
static struct cache_db		*cs_db;
static struct event		*cs_sweep_ev;

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
		cache_entry_to_answer(e, &a, r == 1 ? SRC_CACHE : SRC_STALE);
		cache_reply_get_r(l, id, version, &a, 1, r == 2, lease);
		answer_free(&a);
	} else
		cache_reply_get_r(l, id, version, NULL, 0, 0, lease);
}

/*
 * Answer a get now, or park it behind the lease of the name: 1 when
 * parked (its waiter ends the pool request), 0 when answered.
 */
static int
cache_get_answer(struct link *l, struct msg *m)
{
	struct msg_get		g;
	struct cache_entry	e;
	uint64_t		id = msg_id(m);
	int			v = msg_version(m);
	double			now, until = 0;
	char			err[256];
	int			r, lr;

	if (msg_read_get(m, &g, err, sizeof(err)) == -1) {
		link_server_reply_err(l, id, MSG_E_BAD_REQUEST, "get", err);
		return 0;
	}
	if (g.g_domain[0] == '\0') {
		link_server_reply_err(l, id, MSG_E_BAD_REQUEST, "get", "empty domain");
		return 0;
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
			link_server_reply_err(l, id, MSG_E_INTERNAL, "get",
			    cache_db_errmsg(cs_db));
			return 0;
		}
		if (r == 1 && e.ce_checked == g.g_if_checked &&
		    e.ce_expires == g.g_if_expires &&
		    cache_status_answer(e.ce_status) == g.g_if_status) {
			cache_cnt.cn_hits++;
			cache_cnt.cn_same++;
			cache_entry_clear(&e);
			cache_reply_same(l, id, v);
			return 0;
		}
		cache_entry_clear(&e);
	}
	/* A fresh hit for a client that wants no text skips inflating it. */
	if ((r = cache_lookup(g.g_domain, now, g.g_notext ? 0 : CACHE_GET_TEXT,
	    &e)) == -1) {
		link_server_reply_err(l, id, MSG_E_INTERNAL, "get",
		    cache_db_errmsg(cs_db));
		return 0;
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
		return 0;
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
			link_server_reply_err(l, id, MSG_E_INTERNAL, "get",
			    cache_db_errmsg(cs_db));
			return 0;
		}
		cache_cnt.cn_hits += r == 1;
		cache_get_reply(l, id, v, r, &e, GET_LEASE_NONE);
		break;
	case 0:
		cache_cnt.cn_lease_waits++;
		cache_wait_park(l, id, v, g.g_domain, until);
		cache_entry_clear(&e);
		return 1;
	default:
		link_server_reply_err(l, id, MSG_E_INTERNAL, "get lease",
		    cache_db_errmsg(cs_db));
		break;
	}
	cache_entry_clear(&e);
	return 0;
}

static void
cache_get(struct link *l, struct msg *m)
{
	if (cache_get_answer(l, m) == 0)
		pool_req_end();
}

/*
 * Why a put's answer may not be stored or released, or NULL.  A put comes
 * from any local peer, so what it says is checked where it enters: a name
 * that is not a normalised domain, or times far off ours, would sit in
 * the cache as a forged answer.
 */
static const char *
cache_put_refuse(struct answer *a, const char *ace, double now, char *why,
    size_t whylen)
{
	char	norm[NAME_ACE_BUF], reason[NAME_REASON_BUF];

	if (ace[0] == '\0' || strlen(ace) >= CACHE_ACE_LEN)
		return "no name";
	/* An invalid verdict is about a string that is no name: it is never
	 * stored, and only frees that string's lease. */
	if (a->a_status != AS_INVALID) {
		if (name_normalise(ace, norm, sizeof(norm), reason,
		    sizeof(reason)) == -1) {
			snprintf(why, whylen, "not a domain name: %s", reason);
			return why;
		}
		if (strcmp(norm, ace) != 0)
			return "name not in its normalised A-label form";
	}
	if (a->a_text_len > CACHE_TEXT_MAX)
		return "text over 4 MiB";
	if (!(a->a_checked > 0))
		a->a_checked = now;
	else if (!(a->a_checked < CACHE_CHECKED_MAX))
		/* Also keeps checked + ttl within an int64 in cache_db.c. */
		return "checked out of range";
	else if (a->a_checked > now + CACHE_CHECKED_SKEW)
		return "checked in the future";
	/* Never stored (the ttl is ours), but a nonsense value is no answer. */
	if (a->a_expires != 0 && !(a->a_expires >= 0 &&
	    a->a_expires <= a->a_checked + CACHE_EXPIRES_SPAN))
		return "expires out of range";
	return NULL;
}

static void
cache_put(struct link *l, struct msg *m)
{
	static struct log_limit	refused;
	struct answer		a;
	struct cache_entry	e;
	struct cache_ttl	ttls = cache_ttls();
	uint64_t		id = msg_id(m);
	const char		*ace, *why;
	double			ttl;
	char			err[256], buf[NAME_REASON_BUF + 32];
	char			esc[NAME_ACE_BUF];
	int			status;

	memset(&a, 0, sizeof(a));
	if (msg_read_put(m, &a, err, sizeof(err)) == -1) {
		link_server_reply_err(l, id, MSG_E_BAD_REQUEST, "put", err);
		answer_free(&a);
		return;
	}
	/* A front that holds a name's lease and cannot ask whoisd-query
	 * releases it with an unknown, which is never stored; verdicts come
	 * only from whoisd-query. */
	if (!(link_roles(l) & CACHE_WRITERS) && a.a_status != AS_UNKNOWN) {
		log_warnx_limited(&refused, "put of %s refused to role %s: "
		    "only unknown (a lease release)",
		    answer_status_name(a.a_status), link_role_str(l));
		link_server_count_err(l);
		link_reply_err(l, id, MSG_E_FORBIDDEN, "put: role %s may put "
		    "only unknown (a lease release)", link_role_str(l));
		answer_free(&a);
		return;
	}
	ace = a.a_ace[0] != '\0' ? a.a_ace : a.a_domain;
	if ((why = cache_put_refuse(&a, ace, now_wall(), buf,
	    sizeof(buf))) != NULL) {
		/* Nothing stored, and the name's lease stays its holder's. */
		log_warnx_limited(&refused, "put %s refused: %s",
		    log_escape(ace, strlen(ace), esc, sizeof(esc)), why);
		link_server_reply_err(l, id, MSG_E_BAD_REQUEST, "put", why);
		answer_free(&a);
		return;
	}

	status = cache_status_code(a.a_status);
	if ((ttl = cache_ttl_for(&ttls, status)) > 0) {
		memset(&e, 0, sizeof(e));
		str_copy(e.ce_ace, ace, sizeof(e.ce_ace));
		e.ce_status = status;
		str_copy(e.ce_reason, a.a_reason, sizeof(e.ce_reason));
		str_copy(e.ce_registry, a.a_registry,
		    sizeof(e.ce_registry));
		e.ce_checked = a.a_checked;
		e.ce_latency_ms = a.a_latency_ms > INT_MAX ? INT_MAX :
		    (int)a.a_latency_ms;
		str_copy(e.ce_rule, a.a_rule, sizeof(e.ce_rule));
		str_copy(e.ce_matched, a.a_matched, sizeof(e.ce_matched));
		e.ce_reg_created = a.a_reg_created;
		e.ce_reg_expires = a.a_reg_expires;
		str_copy(e.ce_nameservers, a.a_nameservers,
		    sizeof(e.ce_nameservers));
		e.ce_text = a.a_text;		/* borrowed, not freed here */
		e.ce_text_len = a.a_text_len;
		if (cache_db_put(cs_db, &e, ttl) == -1) {
			link_server_reply_err(l, id, MSG_E_INTERNAL, "put",
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
	a.a_source = SRC_CACHE;
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
		link_server_reply_err(l, id, MSG_E_BAD_REQUEST, "timing", err);
		return;
	}
	if ((outcome = cache_outcome_parse(t.tm_outcome)) == -1) {
		link_server_reply_err(l, id, MSG_E_BAD_REQUEST, "timing",
		    "outcome must be ok, fail or ratelimited");
		return;
	}
	if (t.tm_registry[0] == '\0') {
		link_server_reply_err(l, id, MSG_E_BAD_REQUEST, "timing",
		    "empty registry");
		return;
	}
	if (cache_db_timing_add(cs_db, t.tm_registry, t.tm_ms > INT_MAX ?
	    INT_MAX : (int)t.tm_ms, outcome, now_wall()) == -1) {
		link_server_reply_err(l, id, MSG_E_INTERNAL, "timing",
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
		link_server_reply_err(l, id, MSG_E_BAD_REQUEST, "timing_get", err);
		return;
	}
	if (reg[0] == '\0') {
		link_server_reply_err(l, id, MSG_E_BAD_REQUEST, "timing_get",
		    "empty registry");
		return;
	}
	if (cache_db_timing_get(cs_db, reg, now_wall(), &ct) == -1) {
		link_server_reply_err(l, id, MSG_E_INTERNAL, "timing_get",
		    cache_db_errmsg(cs_db));
		return;
	}
	memset(&tr, 0, sizeof(tr));
	str_copy(tr.tr_registry, reg, sizeof(tr.tr_registry));
	tr.tr_n = ct.tm_n > 0 ? (uint64_t)ct.tm_n : 0;
	tr.tr_p50 = ct.tm_p50 > 0 ? (uint64_t)ct.tm_p50 : 0;
	tr.tr_p90 = ct.tm_p90 > 0 ? (uint64_t)ct.tm_p90 : 0;
	tr.tr_p99 = ct.tm_p99 > 0 ? (uint64_t)ct.tm_p99 : 0;
	tr.tr_ok = ct.tm_ok;
	tr.tr_fail = ct.tm_fail;
	tr.tr_last_ratelimit = ct.tm_last_ratelimit;
	msgb_init(&b);
	msg_pack_timing_r(&b, id, msg_version(m), &tr);
	link_server_reply(l, id, &b);
	msgb_free(&b);
}

static void
cache_stats(struct link *l, struct msg *m)
{
	struct cache_stats	st;
	struct msg_counters	cnt = { .mcs_n = 0 };
	struct msgb		b;
	uint64_t		id = msg_id(m);

	if (cache_db_stats(cs_db, now_wall(), &st) == -1) {
		link_server_reply_err(l, id, MSG_E_INTERNAL, "stats",
		    cache_db_errmsg(cs_db));
		return;
	}
	/* The database, shared by every child. */
	msg_counters_add(&cnt, "entries", st.cs_entries);
	msg_counters_add(&cnt, "fresh", st.cs_fresh);
	msg_counters_add(&cnt, "expired", st.cs_expired);
	msg_counters_add(&cnt, "leases", st.cs_leases);
	msg_counters_add(&cnt, "db_bytes", st.cs_db_bytes);
	msg_counters_add(&cnt, "free_bytes", st.cs_free_bytes);
	msg_counters_add(&cnt, "wal_bytes", st.cs_wal_bytes);
	/* This child. */
	msg_counters_add(&cnt, "pid", getpid());
	msg_counters_add(&cnt, "slot", pool_child_slot());
	msg_counters_add(&cnt, "hits", cache_cnt.cn_hits);
	msg_counters_add(&cnt, "same", cache_cnt.cn_same);
	msg_counters_add(&cnt, "misses", cache_cnt.cn_misses);
	msg_counters_add(&cnt, "stale", cache_cnt.cn_stale);
	msg_counters_add(&cnt, "puts", cache_cnt.cn_puts);
	msg_counters_add(&cnt, "puts_unstored", cache_cnt.cn_puts_unstored);
	msg_counters_add(&cnt, "lease_granted", cache_cnt.cn_lease_granted);
	msg_counters_add(&cnt, "lease_waits", cache_cnt.cn_lease_waits);
	msg_counters_add(&cnt, "waiters", cache_wait_count());
	msg_counters_add(&cnt, "wait_filled", cache_cnt.cn_wait_filled);
	msg_counters_add(&cnt, "wait_timeouts", cache_cnt.cn_wait_timeouts);
	msg_counters_add(&cnt, "timings", cache_cnt.cn_timings);
	msg_counters_add(&cnt, "purged", cache_cnt.cn_purged);
	msg_counters_add(&cnt, "swept", cache_cnt.cn_swept);
	msg_counters_add(&cnt, "errors", link_server_errors(cs_srv));
	msg_counters_add(&cnt, "commits", cache_cnt.cn_commits);
	msg_counters_add(&cnt, "committed", cache_cnt.cn_committed);
	msgb_init(&b);
	msg_pack_stats_r(&b, id, msg_version(m), cnt.mcs_c, cnt.mcs_n);
	link_server_reply(l, id, &b);
	msgb_free(&b);
}

static void
cache_purge(struct link *l, struct msg *m)
{
	struct msg_purge	pg;
	struct msgb		b;
	uint64_t		id = msg_id(m);
	int64_t			n;
	char			err[256];

	if (msg_read_purge(m, &pg, err, sizeof(err)) == -1) {
		link_server_reply_err(l, id, MSG_E_BAD_REQUEST, "purge", err);
		return;
	}
	if (!pg.pg_all && pg.pg_domain[0] == '\0') {
		link_server_reply_err(l, id, MSG_E_BAD_REQUEST, "purge",
		    "give a domain or all");
		return;
	}
	n = cache_db_purge(cs_db, pg.pg_all ? NULL : pg.pg_domain);
	if (n == -1) {
		link_server_reply_err(l, id, MSG_E_INTERNAL, "purge",
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

static const struct link_handler cache_handlers[] = {
	/* A parked get ends its request in wait.c. */
	{ MSG_GET,		cache_get,	LH_REQ_LATER,	CACHE_READERS },
	{ MSG_PUT,		cache_put,		LH_REQ,	CACHE_PUTTERS },
	{ MSG_TIMING,		cache_timing,		LH_REQ,	CACHE_WRITERS },
	{ MSG_TIMING_GET,	cache_timing_get,	LH_REQ,	CACHE_READERS },
	{ MSG_STATS,		cache_stats,		LH_REQ,	CACHE_READERS },
	{ MSG_PURGE,		cache_purge,		LH_REQ,	CACHE_ADMIN },
};

void
cache_serve_accept(int fd, const struct sockaddr *sa, socklen_t salen)
{
	link_server_accept(cs_srv, fd, sa, salen);
}

/* Every link says goaway, finishes what it has in flight, and closes. */
void
cache_serve_drain(void)
{
	link_server_drain(cs_srv);
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

	(void)fd; (void)ev; (void)arg;
	n = cache_db_expire(cs_db, now_wall(), cc->cc_stale_max,
	    CACHE_SWEEP_BATCH);
	if (n == -1 && !cache_db_fault(cs_db))
		log_warnx("expiry sweep: %s", cache_db_errmsg(cs_db));
	else if (n > 0) {
		cache_cnt.cn_swept += (uint64_t)n;
		log_info("expiry sweep: %lld answer(s) removed", (long long)n);
	}
	if (n == CACHE_SWEEP_BATCH)
		tv_from_ms(&tv, CACHE_SWEEP_PAUSE_MS);
	else
		tv_from_seconds(&tv, cc->cc_sweep_interval);
	evtimer_add(cs_sweep_ev, &tv);
}

/* A storage fault is logged once per episode by the storage layer. */
static int
cache_serve_fault(void)
{
	return cache_db_fault(cs_db);
}

void
cache_serve_init(struct event_base *base, struct cache_db *db)
{
	struct cache_conf	*cc = cache_conf();
	struct link_server_opts	 lo;
	struct timeval		 tv = { 1, 0 };

	memset(&lo, 0, sizeof(lo));
	lo.lso_max_frame = cc->cc_max_frame;
	lo.lso_compress_min = cc->cc_compress_min;
	lo.lso_frame_timeout = cc->cc_link_frame_timeout;
	lo.lso_hello_timeout = cc->cc_link_hello_timeout;
	lo.lso_idle_timeout = cc->cc_link_idle_timeout;
	lo.lso_flags = LSO_WARN_UNKNOWN;
	/* Its waiters will never be read. */
	lo.lso_closed = cache_wait_link_gone;
	lo.lso_fault = cache_serve_fault;
	cs_srv = link_server_new(base, cache_handlers, nitems(cache_handlers),
	    &lo);
	cs_db = db;
	memset(&cache_cnt, 0, sizeof(cache_cnt));
	/* One sweeper is enough; slot 0 always exists while the pool runs. */
	if (pool_child_slot() == 0) {
		cs_sweep_ev = evtimer_new(base, cache_sweep_cb, NULL);
		evtimer_add(cs_sweep_ev, &tv);
	}
}

void
cache_serve_exit(void)
{
	if (cs_sweep_ev != NULL) {
		event_free(cs_sweep_ev);
		cs_sweep_ev = NULL;
	}
}
