/*
 * serve.c — whoisd-errdb's requests, one child: error, health, errors,
 * stats, health_clear; plus the retention prune of the slot-0 child.
 *
 * The link server (proto/link_server.c) accepts the connections and
 * hands each request to its row of errdb_handlers; proto/link.c reads
 * the frames, answers ping and refuses bad frames.  Every request is
 * answered at once from SQLite; an `error` is acknowledged only after
 * its commit, so a sender that saw `ok` may forget the event (its spool
 * entry), and a sender that did not may send it again: the eid makes
 * that harmless.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "common/metrics.h"
#include "common/log.h"
#include "common/pool.h"
#include "common/util.h"
#include "daemons/errdb/errdb.h"
#include "daemons/errdb/errdb_db.h"
#include "proto/link_server.h"

/* Bounds on what a peer may send: year 5138, and one year of retry_after
 * (stored as sent; the back-off it causes is capped, errdb_db.h). */
#define ERRDB_TIME_MAX		1e11
#define ERRDB_RETRY_AFTER_MAX	(365ULL * 86400)
/* Clock skew allowed between hosts: a later event time would stretch the
 * back-off it causes, so it is refused. */
#define ERRDB_TIME_SKEW		300

/* This child's counters (errors: link_server_errors()), in its slot of
 * a shared area so /metrics can sum them. */
static struct errdb_counters	 es_cnt_local;
static struct errdb_counters	*es_cntp = &es_cnt_local;
static void			*es_slots;
#define es_cnt	(*es_cntp)

static struct link_server	*es_srv;
static struct errdb_db		*es_db;
static struct event		*es_prune_ev;

/* Copy s into dst, cut at a UTF-8 character boundary if it is too long. */
static void
copy_utf8(char *dst, size_t len, const char *s)
{
	size_t	n = strlen(s);

	if (n >= len) {
		n = len - 1;
		while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
			n--;
	}
	memcpy(dst, s, n);
	dst[n] = '\0';
}

static void
errdb_error(struct link *l, struct msg *m)
{
	static struct log_limit	future;
	struct errevent		ev;
	struct errdb_event	ee;
	struct msgb		b;
	uint64_t		id = msg_id(m);
	char			err[256];
	int			dup = 0;

	if (msg_read_error(m, &ev, err, sizeof(err)) == -1) {
		link_server_reply_err(l, id, MSG_E_BAD_REQUEST, "error", err);
		return;
	}
	if (ev.ev_eid[0] == '\0' || ev.ev_kind[0] == '\0' ||
	    !(ev.ev_time > 0)) {
		link_server_reply_err(l, id, MSG_E_BAD_REQUEST, "error",
		    "eid, kind and time are required");
		return;
	}
	if (!(ev.ev_time < ERRDB_TIME_MAX) ||
	    ev.ev_retry_after > ERRDB_RETRY_AFTER_MAX) {
		link_server_reply_err(l, id, MSG_E_BAD_REQUEST, "error",
		    "time or retry_after out of range");
		return;
	}
	if (ev.ev_time > now_wall() + ERRDB_TIME_SKEW) {
		log_warnx_limited(&future, "event %s refused: time %.0f s "
		    "ahead of ours", ev.ev_eid, ev.ev_time - now_wall());
		link_server_reply_err(l, id, MSG_E_BAD_REQUEST, "error",
		    "time in the future");
		return;
	}
	memset(&ee, 0, sizeof(ee));
	ee.ee_eid = ev.ev_eid;
	ee.ee_host = ev.ev_host;
	ee.ee_daemon = ev.ev_daemon;
	ee.ee_registry = ev.ev_registry;
	ee.ee_domain = ev.ev_domain;
	ee.ee_kind = ev.ev_kind;
	ee.ee_message = ev.ev_msg;
	ee.ee_time = ev.ev_time;
	ee.ee_retry_after = (double)ev.ev_retry_after;
	if (errdb_db_add(es_db, &ee, &dup) == -1) {
		link_server_reply_err(l, id, MSG_E_INTERNAL, "error",
		    errdb_db_errmsg(es_db));
		return;
	}
	if (dup)
		es_cnt.dups++;
	else {
		es_cnt.added++;
		log_info("event %s: %s %s %s", ev.ev_eid, ev.ev_kind,
		    ev.ev_registry[0] ? ev.ev_registry : "-",
		    ev.ev_domain[0] ? ev.ev_domain : "-");
	}
	msgb_init(&b);
	msg_pack_ok_dup(&b, id, msg_version(m), dup);
	link_server_reply(l, id, &b);
	msgb_free(&b);
}

struct health_acc {
	struct reghealth	*ha_v;
	size_t			 ha_n, ha_cap;
};

static int
errdb_health_cb(const struct errdb_health *h, void *arg)
{
	struct health_acc	*ha = arg;
	struct reghealth	*r;

	if (ha->ha_n == ha->ha_cap) {
		ha->ha_cap = ha->ha_cap ? ha->ha_cap * 2 : 16;
		ha->ha_v = xrealloc(ha->ha_v, ha->ha_cap * sizeof(*ha->ha_v));
	}
	r = &ha->ha_v[ha->ha_n++];
	memset(r, 0, sizeof(*r));
	copy_utf8(r->rh_registry, sizeof(r->rh_registry),
	    h->eh_registry != NULL ? h->eh_registry : "");
	snprintf(r->rh_state, sizeof(r->rh_state), "%s",
	    errdb_state_name(h->eh_state));
	r->rh_until = h->eh_state == ERRDB_BACKOFF ? h->eh_until : 0;
	r->rh_recent = (uint64_t)(h->eh_errors > 0 ? h->eh_errors : 0) +
	    (uint64_t)(h->eh_ratelimits > 0 ? h->eh_ratelimits : 0);
	return 0;
}

static void
errdb_health(struct link *l, struct msg *m)
{
	struct health_acc	ha;
	struct msgb		b;
	uint64_t		id = msg_id(m);
	char			reg[ANSWER_REGISTRY_LEN], err[256];

	if (msg_read_health(m, reg, sizeof(reg), err, sizeof(err)) == -1) {
		link_server_reply_err(l, id, MSG_E_BAD_REQUEST, "health", err);
		return;
	}
	memset(&ha, 0, sizeof(ha));
	if (errdb_db_health(es_db, reg[0] != '\0' ? reg : NULL, now_wall(),
	    errdb_health_cb, &ha) == -1) {
		free(ha.ha_v);
		link_server_reply_err(l, id, MSG_E_INTERNAL, "health",
		    errdb_db_errmsg(es_db));
		return;
	}
	es_cnt.health++;
	msgb_init(&b);
	msg_pack_health_r(&b, id, msg_version(m), ha.ha_v, ha.ha_n);
	link_server_reply(l, id, &b);
	msgb_free(&b);
	free(ha.ha_v);
}

/* An operator ends a registry's back-off (whoisctl health --clear). */
static void
errdb_health_clear(struct link *l, struct msg *m)
{
	struct msgb	b;
	uint64_t	id = msg_id(m);
	int64_t		n;
	char		reg[ANSWER_REGISTRY_LEN], err[256];

	if (msg_read_health_clear(m, reg, sizeof(reg), err,
	    sizeof(err)) == -1) {
		link_server_reply_err(l, id, MSG_E_BAD_REQUEST, "health_clear",
		    err);
		return;
	}
	if ((n = errdb_db_clear_backoff(es_db, reg, now_wall())) == -1) {
		link_server_reply_err(l, id, MSG_E_INTERNAL, "health_clear",
		    errdb_db_errmsg(es_db));
		return;
	}
	es_cnt.cleared++;
	log_notice("back-off of %s cleared: %lld rate-limit event(s) removed",
	    reg, (long long)n);
	msgb_init(&b);
	msg_pack_ok_n(&b, id, msg_version(m), (uint64_t)n);
	link_server_reply(l, id, &b);
	msgb_free(&b);
}

struct list_acc {
	struct errevent	*la_v;
	size_t		 la_n, la_cap;
};

static int
errdb_list_cb(const struct errdb_event *e, void *arg)
{
	struct list_acc	*la = arg;
	struct errevent	*ev;

	if (la->la_n == la->la_cap) {
		la->la_cap = la->la_cap ? la->la_cap * 2 : 64;
		la->la_v = xrealloc(la->la_v, la->la_cap * sizeof(*la->la_v));
	}
	ev = &la->la_v[la->la_n++];
	memset(ev, 0, sizeof(*ev));
#define CP(f, s)	copy_utf8(ev->f, sizeof(ev->f), (s) != NULL ? (s) : "")
	CP(ev_eid, e->ee_eid);
	CP(ev_host, e->ee_host);
	CP(ev_daemon, e->ee_daemon);
	CP(ev_registry, e->ee_registry);
	CP(ev_domain, e->ee_domain);
	CP(ev_kind, e->ee_kind);
	CP(ev_msg, e->ee_message);
#undef CP
	ev->ev_time = e->ee_time;
	ev->ev_retry_after = !(e->ee_retry_after > 0) ? 0 :
	    e->ee_retry_after > (double)ERRDB_RETRY_AFTER_MAX ?
	    ERRDB_RETRY_AFTER_MAX : (uint64_t)(e->ee_retry_after + 0.5);
	return 0;
}

static void
errdb_errors(struct link *l, struct msg *m)
{
	struct msg_errors	q;
	struct list_acc		la;
	struct msgb		b;
	uint64_t		id = msg_id(m);
	size_t			n;
	char			err[256];
	int			limit;

	if (msg_read_errors(m, &q, err, sizeof(err)) == -1) {
		link_server_reply_err(l, id, MSG_E_BAD_REQUEST, "errors", err);
		return;
	}
	limit = q.es_limit == 0 ? ERRDB_LIST_DEFAULT :
	    q.es_limit > ERRDB_LIST_MAX ? ERRDB_LIST_MAX : (int)q.es_limit;
	memset(&la, 0, sizeof(la));
	if (errdb_db_list(es_db, q.es_registry, q.es_kind, q.es_since, limit,
	    errdb_list_cb, &la) == -1) {
		free(la.la_v);
		link_server_reply_err(l, id, MSG_E_INTERNAL, "errors",
		    errdb_db_errmsg(es_db));
		return;
	}
	es_cnt.lists++;
	/* Newest first: if the list does not fit a frame, send the newest
	 * that do. */
	msgb_init(&b);
	n = la.la_n;
	for (;;) {
		if (msg_pack_errors_r(&b, id, msg_version(m), la.la_v, n) == -1 ||
		    link_server_fits(l, &b) || n == 0)
			break;
		n /= 2;
	}
	if (n < la.la_n)
		log_notice("errors: %zu of %zu events fit in max_frame", n,
		    la.la_n);
	link_server_reply(l, id, &b);
	msgb_free(&b);
	free(la.la_v);
}

static void
errdb_stats(struct link *l, struct msg *m)
{
	struct msg_counters	cnt = { .mcs_n = 0 };
	struct msgb		b;
	uint64_t		id = msg_id(m);
	int64_t			events = 0;

	if (errdb_db_count(es_db, &events) == -1) {
		link_server_reply_err(l, id, MSG_E_INTERNAL, "stats",
		    errdb_db_errmsg(es_db));
		return;
	}
	msg_counters_add(&cnt, "events", events);
	msg_counters_add(&cnt, "pid", getpid());
	msg_counters_add(&cnt, "added", es_cnt.added);
	msg_counters_add(&cnt, "dups", es_cnt.dups);
	msg_counters_add(&cnt, "health", es_cnt.health);
	msg_counters_add(&cnt, "lists", es_cnt.lists);
	msg_counters_add(&cnt, "pruned", es_cnt.pruned);
	msg_counters_add(&cnt, "cleared", es_cnt.cleared);
	msg_counters_add(&cnt, "errors", link_server_errors(es_srv));
	msgb_init(&b);
	msg_pack_stats_r(&b, id, msg_version(m), cnt.mcs_c, cnt.mcs_n);
	link_server_reply(l, id, &b);
	msgb_free(&b);
}

/* Error events come only from whoisd-query; ending a back-off is the
 * operator's.  The front has no link here. */
#define ERRDB_READERS	(ROLE_BIT(ROLE_QUERY) | ROLE_BIT(ROLE_CTL))

static const struct link_handler errdb_handlers[] = {
	{ MSG_ERROR,	errdb_error,	LH_REQ,	ROLE_BIT(ROLE_QUERY) },
	{ MSG_HEALTH,	errdb_health,	LH_REQ,	ERRDB_READERS },
	{ MSG_ERRORS,	errdb_errors,	LH_REQ,	ERRDB_READERS },
	{ MSG_STATS,	errdb_stats,	LH_REQ,	ERRDB_READERS },
	{ MSG_HEALTH_CLEAR, errdb_health_clear, LH_REQ, ROLE_BIT(ROLE_CTL) },
};

void
errdb_serve_accept(int fd, const struct sockaddr *sa, socklen_t salen)
{
	link_server_accept(es_srv, fd, sa, salen);
}

void
errdb_serve_drain(void)
{
	link_server_drain(es_srv);
	if (es_prune_ev != NULL)
		event_del(es_prune_ev);
}

/* Retention: events older than `retention` days go (by their own time). */
static void
errdb_prune_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct errdb_conf	*ec = errdb_conf();
	struct timeval		 tv;
	int64_t			 n;

	(void)fd; (void)ev; (void)arg;
	n = errdb_db_prune(es_db, now_wall() - ec->ec_retention * 86400.0);
	if (n == -1)
		log_warnx("retention prune: %s", errdb_db_errmsg(es_db));
	else if (n > 0) {
		es_cnt.pruned += (uint64_t)n;
		log_notice("retention prune: %lld event(s) older than %g days "
		    "removed", (long long)n, ec->ec_retention);
	}
	tv_from_seconds(&tv, ec->ec_prune_interval);
	evtimer_add(es_prune_ev, &tv);
}

/* A storage fault is logged once per episode by the storage layer. */
static int
errdb_serve_fault(void)
{
	return errdb_db_fault(es_db);
}

int
errdb_metrics_master_init(void)
{
	if (es_slots == NULL && (es_slots =
	    metrics_slots_map(sizeof(struct errdb_counters))) == NULL)
		return -1;
	return 0;
}

/* /metrics: the counters of every child there was, and the stored events. */
static void
errdb_metrics_collect(struct evbuffer *b)
{
	struct errdb_counters	t;
	int64_t			events = 0;

	metrics_slots_sum(es_slots, sizeof(t), (uint64_t *)&t);
	metrics_head(b, "whoisd_errdb_events_received_total", "counter",
	    "Error events received, by whether they were new");
	evbuffer_add_printf(b, "whoisd_errdb_events_received_total{new=\"yes\"} "
	    "%llu\nwhoisd_errdb_events_received_total{new=\"no\"} %llu\n",
	    (unsigned long long)t.added, (unsigned long long)t.dups);
	metrics_head(b, "whoisd_errdb_health_requests_total", "counter",
	    "Health (back-off) questions answered");
	evbuffer_add_printf(b, "whoisd_errdb_health_requests_total %llu\n",
	    (unsigned long long)t.health);
	metrics_head(b, "whoisd_errdb_pruned_total", "counter",
	    "Events removed by the retention prune");
	evbuffer_add_printf(b, "whoisd_errdb_pruned_total %llu\n",
	    (unsigned long long)t.pruned);
	if (es_db != NULL && errdb_db_count(es_db, &events) == 0) {
		metrics_head(b, "whoisd_errdb_events", "gauge",
		    "Error events stored");
		evbuffer_add_printf(b, "whoisd_errdb_events %lld\n",
		    (long long)events);
	}
}

void
errdb_serve_init(struct event_base *base, struct errdb_db *db)
{
	struct errdb_conf	*ec = errdb_conf();
	struct link_server_opts	 lo;
	struct timeval		 tv = { 1, 0 };
	struct errdb_counters	*mine;

	if ((mine = metrics_slot_take(es_slots,
	    sizeof(struct errdb_counters))) != NULL)
		es_cntp = mine;
	metrics_set_collector(errdb_metrics_collect);

	memset(&lo, 0, sizeof(lo));
	lo.lso_max_frame = ec->ec_max_frame;
	lo.lso_compress_min = ec->ec_compress_min;
	lo.lso_frame_timeout = ec->ec_link_frame_timeout;
	lo.lso_hello_timeout = ec->ec_link_hello_timeout;
	lo.lso_idle_timeout = ec->ec_link_idle_timeout;
	lo.lso_flags = LSO_WARN_UNKNOWN;
	lo.lso_fault = errdb_serve_fault;
	es_srv = link_server_new(base, errdb_handlers, nitems(errdb_handlers),
	    &lo);
	es_db = db;
	if (pool_child_slot() == 0) {
		es_prune_ev = evtimer_new(base, errdb_prune_cb, NULL);
		evtimer_add(es_prune_ev, &tv);
	}
}

void
errdb_serve_exit(void)
{
	if (es_prune_ev != NULL) {
		event_free(es_prune_ev);
		es_prune_ev = NULL;
	}
}
