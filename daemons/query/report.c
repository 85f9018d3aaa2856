/*
 * report.c — whoisd-query's reports: timings and answers (put) to the
 * cache, error events to the errdb through the spool (common/spool.c),
 * the registries' back-offs learnt from the errdb (health), and the hold
 * that keeps a draining child alive until that work is done.
 *
 * Reports are fire and forget: a lost one is logged, never retried here
 * (the spool retries error events).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "common/log.h"
#include "common/pool.h"
#include "common/spool.h"
#include "common/util.h"
#include "daemons/query/query.h"
#include "proto/client.h"
#include "proto/msg.h"

#define QUERY_REPORT_MS		5000

static struct report_stats	 rp_stats;
static size_t			 rp_holds;
static int			 rp_drain_held;
static unsigned long		 rp_eid_counter;
static struct event		*rp_health_ev;
static uint64_t			 rp_health_call;

/* ------------------------------------------------------------ holds */

/*
 * Work that outlives its reply (a registry conversation, a put, a
 * report) holds the child while it drains: as one more connection to
 * the pool, given back by the last report_release().
 */
static void
report_hold_child(void)
{
	if (rp_holds > 0 && !rp_drain_held) {
		rp_drain_held = 1;
		pool_conn_add();
	}
}

void
report_hold(void)
{
	rp_holds++;
	/* Work may start during the drain too: a draining link still
	 * answers what its peer sent before it saw the goaway. */
	if (pool_draining())
		report_hold_child();
}

void
report_release(void)
{
	if (rp_holds == 0) {
		log_warnx("%s: unbalanced", __func__);
		return;
	}
	if (--rp_holds == 0 && rp_drain_held) {
		rp_drain_held = 0;
		/* May exit the child: nothing may follow this call. */
		pool_conn_done();
	}
}

/* ------------------------------------------------------------ reports */

static void
report_cb(const struct client_result *r, void *arg)
{
	static struct log_limit	 lost, refused;
	const char	*what = arg;
	char		 code[32], text[256], err[128];

	/* A lost put costs a registry query later, and its lease holds
	 * the name's waiters until lease_ttl: worth a warning, but one a
	 * minute, as a cache whose disk is full refuses every put. */
	if (r->cr_err != NULL && strcmp(what, "put") == 0)
		log_warnx_limited(&lost, "cache put not stored: %s: %s",
		    r->cr_err, r->cr_errmsg);
	else if (r->cr_err != NULL)
		log_debug("cache %s: %s %s", what, r->cr_err, r->cr_errmsg);
	else if (msg_type(r->cr_msg) == MSG_ERR) {
		msg_read_err(r->cr_msg, code, sizeof(code), text, sizeof(text),
		    err, sizeof(err));
		log_warnx_limited(&refused, "cache %s: %s: %s", what, code,
		    text);
	}
	report_release();
}

void
report_timing(const char *registry, double ms, const char *outcome)
{
	struct msg_timing	tm;
	struct msgb		b;

	memset(&tm, 0, sizeof(tm));
	snprintf(tm.tm_registry, sizeof(tm.tm_registry), "%s", registry);
	tm.tm_ms = ms > 0 ? (uint64_t)llround(ms) : 0;
	snprintf(tm.tm_outcome, sizeof(tm.tm_outcome), "%s", outcome);
	msgb_init(&b);
	if (msg_pack_timing(&b, 0, PROTO_VERSION, &tm) == 0) {
		report_hold();
		if (client_call(query_cache(), &b, QUERY_REPORT_MS, 0,
		    report_cb, "timing") == 0)
			report_release();
	}
	msgb_free(&b);
}

void
report_put(const struct answer *a)
{
	struct msgb	b;

	msgb_init(&b);
	if (msg_pack_put(&b, 0, PROTO_VERSION, a) == 0) {
		report_hold();
		if (client_call(query_cache(), &b, QUERY_REPORT_MS,
		    CLIENT_IDEMPOTENT, report_cb, "put") == 0)
			report_release();
	} else
		log_warnx("%s: cannot pack the answer for %s", __func__,
		    a->a_domain);
	msgb_free(&b);
}

/* The errdb answered one spooled event. */
static void
report_event_cb(const struct client_result *r, void *arg)
{
	char	code[32], text[256], err[128];
	int	outcome = SPOOL_RETRY;

	if (r->cr_err != NULL)
		log_debug("errdb: event not delivered: %s %s", r->cr_err,
		    r->cr_errmsg);
	else if (msg_type(r->cr_msg) == MSG_OK)
		outcome = SPOOL_DELIVERED;	/* dup too: stored once */
	else if (msg_type(r->cr_msg) == MSG_ERR) {
		msg_read_err(r->cr_msg, code, sizeof(code), text, sizeof(text),
		    err, sizeof(err));
		log_warnx("errdb refused an event: %s: %s", code, text);
		if (strcmp(code, MSG_E_BAD_REQUEST) == 0 ||
		    strcmp(code, MSG_E_BAD_FRAME) == 0)
			outcome = SPOOL_REJECTED;
	}
	if (outcome != SPOOL_DELIVERED)
		rp_stats.rs_events_failed++;
	if (query_spool() != NULL)
		spool_done(query_spool(), arg, outcome);
	report_release();
}

/*
 * The spool's sender: the file holds an `error` body; it is read back
 * (a corrupt file is set aside, not resent forever) and sent afresh.
 */
void
report_spool_send(struct spool *sp, const void *body, size_t len, void *token,
    void *arg)
{
	struct msg	*m;
	struct errevent	 ev;
	struct msgb	 b;
	char		 err[256];

	(void)arg;
	if ((m = msg_unpack_copy(body, len, err, sizeof(err))) == NULL ||
	    msg_type(m) != MSG_ERROR ||
	    msg_read_error(m, &ev, err, sizeof(err)) == -1) {
		if (m != NULL && msg_type(m) != MSG_ERROR)
			snprintf(err, sizeof(err), "not an error event");
		log_warnx("spool: unreadable event: %s", err);
		msg_free(m);
		spool_done(sp, token, SPOOL_REJECTED);
		return;
	}
	msg_free(m);
	msgb_init(&b);
	if (msg_pack_error(&b, 0, PROTO_VERSION, &ev) == -1) {
		msgb_free(&b);
		spool_done(sp, token, SPOOL_REJECTED);
		return;
	}
	report_hold();
	if (client_call(query_errdb(), &b, QUERY_REPORT_MS, CLIENT_IDEMPOTENT,
	    report_event_cb, token) == 0) {
		spool_done(sp, token, SPOOL_RETRY);
		report_release();
	}
	msgb_free(&b);
}

void
report_error_event(const char *registry, const char *domain, const char *kind,
    const char *msg, uint64_t retry_after)
{
	struct errevent	 ev;
	struct msgb	 b;
	char		 err[256];
	double		 now = now_wall();

	memset(&ev, 0, sizeof(ev));
	/* Unique per host, process, time and counter: a resend after a
	 * lost acknowledgement is the same event to the errdb. */
	snprintf(ev.ev_eid, sizeof(ev.ev_eid), "%.24s-%ld-%lld-%lu",
	    query_host_id(), (long)getpid(), (long long)(now * 1000),
	    ++rp_eid_counter);
	snprintf(ev.ev_host, sizeof(ev.ev_host), "%s", query_host_id());
	snprintf(ev.ev_daemon, sizeof(ev.ev_daemon), "whoisd-query");
	snprintf(ev.ev_registry, sizeof(ev.ev_registry), "%s", registry);
	snprintf(ev.ev_domain, sizeof(ev.ev_domain), "%s", domain);
	snprintf(ev.ev_kind, sizeof(ev.ev_kind), "%s", kind);
	snprintf(ev.ev_msg, sizeof(ev.ev_msg), "%s", msg);
	ev.ev_time = now;
	ev.ev_retry_after = retry_after;
	rp_stats.rs_events++;
	msgb_init(&b);
	if (msg_pack_error(&b, 0, PROTO_VERSION, &ev) == -1) {
		log_warnx("%s: cannot pack event %s", __func__, ev.ev_eid);
		msgb_free(&b);
		return;
	}
	if (query_spool() == NULL ||
	    spool_put(query_spool(), msgb_data(&b), msgb_len(&b), err,
	    sizeof(err)) == -1) {
		/* No durable copy: at least try to deliver it now. */
		log_warnx("spool: %s; sending event %s unspooled",
		    query_spool() == NULL ? "not open" : err, ev.ev_eid);
		report_hold();
		if (client_call(query_errdb(), &b, QUERY_REPORT_MS,
		    CLIENT_IDEMPOTENT, report_cb, "error") == 0)
			report_release();
	}
	msgb_free(&b);
}

/* ------------------------------------------------------------ health */

static void
report_health_cb(const struct client_result *r, void *arg)
{
	struct reghealth	*rh = NULL;
	size_t			 n = 0, i;
	char			 err[128];
	double			 now = now_wall();

	(void)arg;
	rp_health_call = 0;
	if (r->cr_err != NULL) {
		log_debug("errdb health: %s %s", r->cr_err, r->cr_errmsg);
		return;
	}
	if (msg_type(r->cr_msg) != MSG_HEALTH_R ||
	    msg_read_health_r(r->cr_msg, &rh, &n, err, sizeof(err)) == -1) {
		log_debug("errdb health: unexpected reply");
		return;
	}
	for (i = 0; i < n; i++)
		if (rh[i].rh_until > now && rh[i].rh_registry[0] != '\0') {
			if (budget_backoff_left(rh[i].rh_registry) <
			    rh[i].rh_until - now - 1)
				log_info("errdb: %s in back-off for %.0fs",
				    rh[i].rh_registry, rh[i].rh_until - now);
			budget_merge(rh[i].rh_registry, rh[i].rh_until);
		}
	free(rh);
}

static void
report_health_tick(evutil_socket_t fd, short ev, void *arg)
{
	struct msgb	b;
	int		ms;

	(void)fd; (void)ev; (void)arg;
	if (rp_health_call != 0 || pool_draining())
		return;
	ms = (int)(query_conf()->qc_health_refresh * 1000);
	msgb_init(&b);
	if (msg_pack_health(&b, 0, PROTO_VERSION, NULL) == 0)
		rp_health_call = client_call(query_errdb(), &b,
		    ms < 1000 ? 1000 : ms, CLIENT_IDEMPOTENT, report_health_cb,
		    NULL);
	msgb_free(&b);
}

/* ------------------------------------------------------------ life */

const struct report_stats *
report_stats(void)
{
	return &rp_stats;
}

void
report_init(struct event_base *base)
{
	struct timeval	tv;
	double		t = query_conf()->qc_health_refresh;

	rp_health_ev = event_new(base, -1, EV_PERSIST, report_health_tick,
	    NULL);
	tv_from_seconds(&tv, t);
	event_add(rp_health_ev, &tv);
	/* Learn the current back-offs before the first query. */
	report_health_tick(-1, 0, NULL);
}

/*
 * Draining: no more health ticks, and the child stays alive while
 * registry conversations, reports and spooled sends finish
 * (shutdown_timeout bounds it).
 */
void
report_drain(void)
{
	if (rp_health_ev != NULL)
		event_del(rp_health_ev);
	report_hold_child();
}

void
report_fini(void)
{
	if (rp_health_ev != NULL) {
		event_free(rp_health_ev);
		rp_health_ev = NULL;
	}
}
