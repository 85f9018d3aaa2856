/*
 * serve.c — whoisd-query's link handler: one `query` request from the
 * front, through the registry, to the answer.
 *
 *	QR_IANA -----(TLD not in the file: ask IANA, kept a day)-----+
 *	   |                                                          |
 *	QR_REGISTRY: no-whois? back-off? budget slot? --> session ----+
 *	   |  verdict                                                 |
 *	QR_REFERRAL: registrar text, one hop, text only (optional)    |
 *	   |                                                          v
 *	QR_DONE: reply (once), put to the cache (always), free  <- unknown
 *
 * The reply goes out before deadline_ms whatever the registry does: at
 * the deadline the front gets `unknown`, reason timeout, and a registry
 * conversation already under way still finishes, reports its timing and
 * errors and puts its answer into the cache for the next asker.  A front
 * that went away cancels nothing: the link drops the reply quietly.
 *
 * Every answer is put to the cache, `unknown` included: the cache keeps
 * no unknowns, but the put releases the coalescing lease and wakes the
 * clients waiting on that name.  Error events go to the errdb through
 * the spool (common/spool.c), timings to the cache.
 */
#include <sys/queue.h>
#include <sys/socket.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "common/log.h"
#include "common/name.h"
#include "common/pool.h"
#include "common/spool.h"
#include "common/util.h"
#include "daemons/query/classify.h"
#include "daemons/query/query.h"
#include "proto/client.h"
#include "proto/link.h"
#include "proto/msg.h"

/* The least time worth starting a registry conversation with. */
#define QUERY_MIN_SESSION	1.0
/* Replies leave this much before the caller's deadline. */
#define QUERY_REPLY_MARGIN	0.05
#define QUERY_REPORT_MS		5000
#define QUERY_REF_SEP		"\n--- registrar whois (%s) ---\n"

/** Where a request is. */
enum qreq_state {
	QR_IANA,	/**< waiting for the TLD's whois server from IANA */
	QR_REGISTRY,	/**< talking to the registry (or waiting for a slot) */
	QR_REFERRAL,	/**< verdict known; fetching the registrar's text */
	QR_DONE,	/**< answered and put; about to be freed */
};

struct qreq {
	enum qreq_state		 q_state;
	struct link		*q_link;
	uint64_t		 q_id;
	int			 q_version;
	int			 q_replied;
	char			 q_asked[ANSWER_DOMAIN_LEN];
	char			 q_name[NAME_ACE_BUF];	/* registrable, asked */
	char			 q_tld[NAME_ACE_BUF];
	double			 q_start;	/* monotonic */
	double			 q_deadline;	/* monotonic */
	struct event		*q_timer;
	const struct registry	*q_reg;
	char			 q_server[NAME_ACE_BUF];
	int			 q_port;
	double			 q_rate;
	struct iana_waiter	*q_iw;
	struct session		*q_sess;
	struct answer		 q_ans;
	int			 q_have_verdict;
	char			*q_text;	/* registry text, UTF-8 */
	size_t			 q_text_len;
	char			 q_ref_host[NAME_ACE_BUF];
	TAILQ_ENTRY(qreq)	 q_entry;
};

struct qlink {
	struct link		*ql_link;
	LIST_ENTRY(qlink)	 ql_entry;
};

struct serve_stats {
	uint64_t	ss_queries;
	uint64_t	ss_status[5];	/* available registered reserved invalid unknown */
	uint64_t	ss_conversations;
	uint64_t	ss_throttled;
	uint64_t	ss_backoff;
	uint64_t	ss_budget;
	uint64_t	ss_timeouts;
	uint64_t	ss_referrals;
	uint64_t	ss_events;
	uint64_t	ss_events_failed;
};

static struct event_base	*sv_base;
static TAILQ_HEAD(, qreq)	 sv_reqs = TAILQ_HEAD_INITIALIZER(sv_reqs);
static LIST_HEAD(, qlink)	 sv_links = LIST_HEAD_INITIALIZER(sv_links);
static struct serve_stats	 sv_stats;
static size_t			 sv_holds;
static int			 sv_drain_held;
static unsigned long		 sv_eid_counter;
static struct event		*sv_health_ev;
static uint64_t			 sv_health_call;

static void	qreq_registry(struct qreq *);

/* Copy, cut to fit (informational fields: rule, matched, registry). */
static void
scopy(char *dst, size_t len, const char *src)
{
	size_t	n = strlen(src);

	if (n >= len)
		n = len - 1;
	memcpy(dst, src, n);
	dst[n] = '\0';
}
static void	qreq_complete(struct qreq *);

/* ------------------------------------------------------------ holds */

/*
 * Work that outlives its reply (a registry conversation, a put, a
 * report) holds the child while it drains: as one more connection to
 * the pool, given back by the last serve_release().
 */
static void
serve_hold_child(void)
{
	if (sv_holds > 0 && !sv_drain_held) {
		sv_drain_held = 1;
		pool_conn_add();
	}
}

void
serve_hold(void)
{
	sv_holds++;
	/* Work may start during the drain too: a draining link still
	 * answers what its peer sent before it saw the goaway. */
	if (pool_draining())
		serve_hold_child();
}

void
serve_release(void)
{
	if (sv_holds == 0) {
		log_warnx("%s: unbalanced", __func__);
		return;
	}
	if (--sv_holds == 0 && sv_drain_held) {
		sv_drain_held = 0;
		/* May exit the child: nothing may follow this call. */
		pool_conn_done();
	}
}

/* ------------------------------------------------------------ reports */

static void
serve_report_cb(const struct client_result *r, void *arg)
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
	serve_release();
}

void
serve_timing(const char *registry, double ms, const char *outcome)
{
	struct msg_timing	tm;
	struct msgb		b;

	memset(&tm, 0, sizeof(tm));
	snprintf(tm.tm_registry, sizeof(tm.tm_registry), "%s", registry);
	tm.tm_ms = ms > 0 ? (uint64_t)llround(ms) : 0;
	snprintf(tm.tm_outcome, sizeof(tm.tm_outcome), "%s", outcome);
	msgb_init(&b);
	if (msg_pack_timing(&b, 0, PROTO_VERSION, &tm) == 0) {
		serve_hold();
		if (client_call(query_cache(), &b, QUERY_REPORT_MS, 0,
		    serve_report_cb, "timing") == 0)
			serve_release();
	}
	msgb_free(&b);
}

static void
serve_put(const struct answer *a)
{
	struct msgb	b;

	msgb_init(&b);
	if (msg_pack_put(&b, 0, PROTO_VERSION, a) == 0) {
		serve_hold();
		if (client_call(query_cache(), &b, QUERY_REPORT_MS,
		    CLIENT_IDEMPOTENT, serve_report_cb, "put") == 0)
			serve_release();
	} else
		log_warnx("%s: cannot pack the answer for %s", __func__,
		    a->a_domain);
	msgb_free(&b);
}

/* The errdb answered one spooled event. */
static void
serve_event_cb(const struct client_result *r, void *arg)
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
		sv_stats.ss_events_failed++;
	if (query_spool() != NULL)
		spool_done(query_spool(), arg, outcome);
	serve_release();
}

/*
 * The spool's sender: the file holds an `error` body; it is read back
 * (a corrupt file is set aside, not resent forever) and sent afresh.
 */
void
serve_spool_send(struct spool *sp, const void *body, size_t len, void *token,
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
	serve_hold();
	if (client_call(query_errdb(), &b, QUERY_REPORT_MS, CLIENT_IDEMPOTENT,
	    serve_event_cb, token) == 0) {
		spool_done(sp, token, SPOOL_RETRY);
		serve_release();
	}
	msgb_free(&b);
}

void
serve_error_event(const char *registry, const char *domain, const char *kind,
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
	    ++sv_eid_counter);
	snprintf(ev.ev_host, sizeof(ev.ev_host), "%s", query_host_id());
	snprintf(ev.ev_daemon, sizeof(ev.ev_daemon), "whoisd-query");
	snprintf(ev.ev_registry, sizeof(ev.ev_registry), "%s", registry);
	snprintf(ev.ev_domain, sizeof(ev.ev_domain), "%s", domain);
	snprintf(ev.ev_kind, sizeof(ev.ev_kind), "%s", kind);
	snprintf(ev.ev_msg, sizeof(ev.ev_msg), "%s", msg);
	ev.ev_time = now;
	ev.ev_retry_after = retry_after;
	sv_stats.ss_events++;
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
		serve_hold();
		if (client_call(query_errdb(), &b, QUERY_REPORT_MS,
		    CLIENT_IDEMPOTENT, serve_report_cb, "error") == 0)
			serve_release();
	}
	msgb_free(&b);
}

/* ------------------------------------------------------------ health */

static void
serve_health_cb(const struct client_result *r, void *arg)
{
	struct reghealth	*rh = NULL;
	size_t			 n = 0, i;
	char			 err[128];
	double			 now = now_wall();

	(void)arg;
	sv_health_call = 0;
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
serve_health_tick(evutil_socket_t fd, short ev, void *arg)
{
	struct msgb	b;
	int		ms;

	(void)fd; (void)ev; (void)arg;
	if (sv_health_call != 0 || pool_draining())
		return;
	ms = (int)(query_conf()->qc_health_refresh * 1000);
	msgb_init(&b);
	if (msg_pack_health(&b, 0, PROTO_VERSION, NULL) == 0)
		sv_health_call = client_call(query_errdb(), &b,
		    ms < 1000 ? 1000 : ms, CLIENT_IDEMPOTENT, serve_health_cb,
		    NULL);
	msgb_free(&b);
}

/* ------------------------------------------------------------ requests */

static void
qreq_free(struct qreq *q)
{
	TAILQ_REMOVE(&sv_reqs, q, q_entry);
	if (q->q_timer != NULL)
		event_free(q->q_timer);
	if (q->q_iw != NULL)
		iana_cancel(q->q_iw);
	if (q->q_sess != NULL)
		session_cancel(q->q_sess);
	answer_free(&q->q_ans);
	free(q->q_text);
	free(q);
	serve_release();
}

static int
serve_status_index(const char *s)
{
	static const char *names[] = { "available", "registered", "reserved",
	    "invalid" };
	int	i;

	for (i = 0; i < 4; i++)
		if (strcmp(s, names[i]) == 0)
			return i;
	return 4;
}

/* Send `a` to the front, once; later calls do nothing. */
static void
qreq_reply(struct qreq *q, const struct answer *a)
{
	struct msgb	b;

	if (q->q_replied)
		return;
	q->q_replied = 1;
	sv_stats.ss_status[serve_status_index(a->a_status)]++;
	msgb_init(&b);
	if (msg_pack_query_r(&b, q->q_id, q->q_version, a) == 0)
		link_reply(q->q_link, &b);
	else {
		log_warnx("%s: cannot pack the answer for %s", __func__,
		    q->q_asked);
		link_reply_err(q->q_link, q->q_id, MSG_E_INTERNAL,
		    "cannot pack the answer");
	}
	msgb_free(&b);
	q->q_link = NULL;
	pool_req_end();
}

/* Fill the answer's fixed part. */
static void
qreq_set(struct qreq *q, const char *status, const char *reason)
{
	struct answer	*a = &q->q_ans;

	snprintf(a->a_domain, sizeof(a->a_domain), "%s", q->q_asked);
	snprintf(a->a_ace, sizeof(a->a_ace), "%s", q->q_asked);
	snprintf(a->a_status, sizeof(a->a_status), "%s", status);
	snprintf(a->a_reason, sizeof(a->a_reason), "%s", reason ? reason : "");
	snprintf(a->a_source, sizeof(a->a_source), "registry");
	scopy(a->a_registry, sizeof(a->a_registry), q->q_server);
	a->a_checked = now_wall();
}

/* An answer without a registry conversation (or after one failed). */
static void
qreq_finish(struct qreq *q, const char *status, const char *reason,
    uint64_t retry_after)
{
	qreq_set(q, status, reason);
	q->q_ans.a_retry_after = retry_after;
	qreq_complete(q);
}

/* Reply (if not yet), put (always), free. */
static void
qreq_complete(struct qreq *q)
{
	q->q_state = QR_DONE;
	if (q->q_sess != NULL) {
		session_cancel(q->q_sess);
		q->q_sess = NULL;
	}
	if (q->q_text != NULL && q->q_ans.a_text == NULL)
		answer_set_text(&q->q_ans, q->q_text, q->q_text_len);
	qreq_reply(q, &q->q_ans);
	serve_put(&q->q_ans);
	qreq_free(q);
}

static void
qreq_deadline_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct qreq	*q = arg;
	struct answer	 a;

	(void)fd; (void)ev;
	if (q->q_state == QR_REFERRAL) {
		/* The verdict is known: answer it without the registrar. */
		log_info("referral %s for %s: out of time", q->q_ref_host,
		    q->q_name);
		qreq_complete(q);
		return;
	}
	sv_stats.ss_timeouts++;
	if (q->q_state == QR_IANA) {
		qreq_finish(q, "unknown", "timeout", 0);
		return;
	}
	/*
	 * The registry is slower than the caller: answer now; the
	 * conversation goes on and its answer fills the cache.
	 */
	memset(&a, 0, sizeof(a));
	snprintf(a.a_domain, sizeof(a.a_domain), "%s", q->q_asked);
	snprintf(a.a_ace, sizeof(a.a_ace), "%s", q->q_asked);
	snprintf(a.a_status, sizeof(a.a_status), "unknown");
	snprintf(a.a_reason, sizeof(a.a_reason), "timeout");
	snprintf(a.a_source, sizeof(a.a_source), "registry");
	scopy(a.a_registry, sizeof(a.a_registry), q->q_server);
	a.a_checked = now_wall();
	a.a_latency_ms = (uint64_t)((now_mono() - q->q_start) * 1000);
	qreq_reply(q, &a);
}

static const char *
qreq_outcome(const struct verdict *vd, int transport)
{
	if (transport != CLT_OK)
		return TIMING_FAIL;
	if (vd->vd_status != VS_UNKNOWN)
		return TIMING_OK;
	if (strcmp(vd->vd_reason, "rate-limited") == 0)
		return TIMING_RATELIMITED;
	if (strcmp(vd->vd_reason, "registry-error") == 0)
		return TIMING_FAIL;
	return TIMING_OK;	/* the registry answered; we could not read it */
}

static void
qreq_referral_done(struct session *s, const struct session_result *sr,
    void *arg)
{
	struct qreq	*q = arg;
	char		*text, hdr[NAME_ACE_BUF + 64];
	size_t		 len, hl;

	(void)s;
	q->q_sess = NULL;
	if (sr->sr_transport == CLT_OK && sr->sr_len > 0 &&
	    (text = classify_text(NULL, sr->sr_reply, sr->sr_len, &len)) !=
	    NULL) {
		hl = (size_t)snprintf(hdr, sizeof(hdr), QUERY_REF_SEP,
		    q->q_ref_host);
		q->q_text = xrealloc(q->q_text, q->q_text_len + hl + len + 1);
		memcpy(q->q_text + q->q_text_len, hdr, hl);
		memcpy(q->q_text + q->q_text_len + hl, text, len);
		q->q_text_len += hl + len;
		q->q_text[q->q_text_len] = '\0';
		free(text);
		log_info("referral %s for %s: %zu bytes (%.0f ms)",
		    q->q_ref_host, q->q_name, sr->sr_len, sr->sr_ms);
	} else
		log_info("referral %s for %s: %s: %s", q->q_ref_host,
		    q->q_name, sr->sr_kind ? sr->sr_kind : "empty", sr->sr_msg);
	qreq_complete(q);
}

static void
qreq_referral_ready(struct session *s, void *arg)
{
	struct qreq	*q = arg;
	double		 wait, left, rate;

	rate = query_conf()->qc_registry_rate_override > 0 ?
	    query_conf()->qc_registry_rate_override : 1.0;
	left = q->q_deadline - now_mono() - QUERY_MIN_SESSION / 2;
	if (left < 0 || budget_reserve(q->q_ref_host, rate, left, &wait) == -1) {
		log_info("referral %s for %s: no budget in time", q->q_ref_host,
		    q->q_name);
		session_cancel(s);
		q->q_sess = NULL;
		qreq_complete(q);
		return;
	}
	session_pace(s, q->q_ref_host, rate, wait);
}

/* Follow the registrar referral for the text, if the rule and time allow. */
static int
qreq_referral(struct qreq *q)
{
	struct query_conf	*qc = query_conf();
	struct session_args	 sa;
	char			 line[NAME_ACE_BUF + 4], err[256];
	double			 left;
	int			 port;

	/* Only a registered name has a registrar to refer to: an available
	 * answer (most of a miss burst) skips the scan of its text. */
	if (!q->q_reg->rg_has_referral || q->q_replied ||
	    strcmp(q->q_ans.a_status, "registered") != 0 || q->q_text == NULL)
		return -1;
	if (registry_referral(q->q_reg, q->q_text, q->q_server, q->q_ref_host,
	    sizeof(q->q_ref_host), &port, err, sizeof(err)) == -1) {
		log_debug("referral for %s: %s", q->q_name, err);
		return -1;
	}
	left = q->q_deadline - now_mono();
	if (left < QUERY_MIN_SESSION / 2)
		return -1;
	sv_stats.ss_referrals++;
	snprintf(line, sizeof(line), "%s\r\n", q->q_name);
	memset(&sa, 0, sizeof(sa));
	sa.sa_server = q->q_ref_host;
	sa.sa_port = port;
	sa.sa_connect = query_override();
	/* Never to a private or loopback address, unless tests point
	 * every connection at a local simulator. */
	sa.sa_public_only = query_override() == NULL;
	sa.sa_query = line;
	sa.sa_connect_timeout = fmin(qc->qc_connect_timeout, left);
	sa.sa_first_byte_timeout = fmin(qc->qc_first_byte_timeout, left);
	sa.sa_total_timeout = fmin(qc->qc_total_timeout, left);
	sa.sa_max_reply = (size_t)qc->qc_max_reply;
	q->q_state = QR_REFERRAL;
	q->q_sess = session_start(sv_base, &sa, qreq_referral_ready,
	    qreq_referral_done, q);
	return 0;
}

/* The registry conversation ended. */
static void
qreq_registry_done(struct session *s, const struct session_result *sr,
    void *arg)
{
	struct qreq		*q = arg;
	struct query_conf	*qc = query_conf();
	struct verdict		 vd;
	struct answer		*a = &q->q_ans;
	const char		*outcome, *kind = sr->sr_kind, *status;
	char			 msg[512], esc[200];
	double			 secs = 0;

	(void)s;
	q->q_sess = NULL;
	sv_stats.ss_conversations++;
	classify(q->q_reg, sr->sr_reply, sr->sr_len, sr->sr_transport, &vd);
	if (sr->sr_len > 0 && q->q_text == NULL)
		q->q_text = classify_text(q->q_reg, sr->sr_reply, sr->sr_len,
		    &q->q_text_len);
	status = vd.vd_status == VS_UNKNOWN ? "unknown" :
	    verdict_status_name(vd.vd_status);
	qreq_set(q, status, vd.vd_reason);
	scopy(a->a_rule, sizeof(a->a_rule), vd.vd_rule);
	scopy(a->a_matched, sizeof(a->a_matched), vd.vd_matched);
	a->a_latency_ms = (uint64_t)llround(sr->sr_ms);
	outcome = qreq_outcome(&vd, sr->sr_transport);
	snprintf(msg, sizeof(msg), "%s", sr->sr_msg);

	if (sr->sr_transport == CLT_OK && vd.vd_status == VS_UNKNOWN) {
		if (strcmp(vd.vd_reason, "rate-limited") == 0) {
			kind = "ratelimited";
			sv_stats.ss_throttled++;
			secs = budget_throttle(q->q_server, vd.vd_retry_after,
			    qc->qc_backoff_default, qc->qc_backoff_max);
			a->a_retry_after = (uint64_t)ceil(secs);
			snprintf(msg, sizeof(msg), "throttled (%s); back-off "
			    "%.0fs", vd.vd_retry_after > 0 ? "retry-after given" :
			    "default back-off", secs);
		} else {
			kind = strcmp(vd.vd_reason, "registry-error") == 0 ?
			    "registry-error" : "unrecognised-reply";
			snprintf(msg, sizeof(msg), "%s: %s", vd.vd_rule,
			    log_escape(vd.vd_matched, strlen(vd.vd_matched),
			    esc, sizeof(esc)));
			budget_ok(q->q_server);
		}
	} else if (sr->sr_transport == CLT_OK)
		budget_ok(q->q_server);

	serve_timing(q->q_server, sr->sr_ms, outcome);
	if (kind != NULL) {
		log_warnx("registry %s name %s: %s: %s (%.0f ms)", q->q_server,
		    q->q_name, kind, msg, sr->sr_ms);
		serve_error_event(q->q_server, q->q_name, kind, msg,
		    (uint64_t)ceil(secs));
	}
	log_info("registry %s name %s outcome %s%s%s rule %s %.0f ms",
	    q->q_server, q->q_name, status, vd.vd_reason[0] ? "/" : "",
	    vd.vd_reason, vd.vd_rule, sr->sr_ms);

	if (qreq_referral(q) == 0)
		return;
	qreq_complete(q);
}

/* The address is known: is the registry still askable, and when? */
static void
qreq_registry_ready(struct session *s, void *arg)
{
	struct qreq	*q = arg;
	double		 left, wait;

	if ((left = budget_backoff_left(q->q_server)) > 0) {
		session_cancel(s);
		q->q_sess = NULL;
		sv_stats.ss_backoff++;
		qreq_finish(q, "unknown", "registry-backoff",
		    (uint64_t)ceil(left));
		return;
	}
	/* Leave the conversation itself some time: a second, or half of
	 * what is left when the caller gave less. */
	left = q->q_deadline - now_mono();
	left -= fmin(QUERY_MIN_SESSION, left / 2);
	if (q->q_replied)
		left = query_conf()->qc_total_timeout;	/* for the cache */
	if (budget_reserve(q->q_server, q->q_rate, left > 0 ? left : 0,
	    &wait) == -1) {
		session_cancel(s);
		q->q_sess = NULL;
		sv_stats.ss_budget++;
		log_info("registry %s name %s: rate budget (%.2fs to wait, "
		    "%.2fs left)", q->q_server, q->q_name, wait, left);
		qreq_finish(q, "unknown", "rate-budget",
		    (uint64_t)ceil(wait > 1 ? wait : 1));
		return;
	}
	if (wait > 0)
		log_debug("registry %s name %s: slot in %.3fs", q->q_server,
		    q->q_name, wait);
	session_pace(s, q->q_server, q->q_rate, wait);
}

static void
qreq_registry(struct qreq *q)
{
	struct query_conf	*qc = query_conf();
	struct session_args	 sa;
	struct verdict		 vd;
	char			 line[REGISTRY_QUERY_MAX];
	double			 left;

	q->q_state = QR_REGISTRY;
	if (q->q_reg->rg_nowhois) {
		classify(q->q_reg, "", 0, CLT_OK, &vd);
		q->q_server[0] = '\0';
		qreq_set(q, "unknown", "no-whois-service");
		scopy(q->q_ans.a_rule, sizeof(q->q_ans.a_rule), vd.vd_rule);
		qreq_complete(q);
		return;
	}
	if (q->q_server[0] == '\0') {
		snprintf(q->q_server, sizeof(q->q_server), "%s",
		    q->q_reg->rg_server);
		q->q_port = q->q_reg->rg_port;
	}
	if ((left = budget_backoff_left(q->q_server)) > 0) {
		sv_stats.ss_backoff++;
		log_info("registry %s name %s: in back-off for %.0fs",
		    q->q_server, q->q_name, left);
		qreq_finish(q, "unknown", "registry-backoff",
		    (uint64_t)ceil(left));
		return;
	}
	if (registry_query(q->q_reg, q->q_name, line, sizeof(line)) == -1) {
		log_warnx("registry %s: cannot build the query for %s",
		    q->q_server, q->q_name);
		qreq_finish(q, "unknown", "internal", 0);
		return;
	}
	q->q_rate = qc->qc_registry_rate_override > 0 ?
	    qc->qc_registry_rate_override : registry_rate(q->q_reg);
	memset(&sa, 0, sizeof(sa));
	sa.sa_server = q->q_server;
	sa.sa_port = q->q_port;
	sa.sa_connect = query_override();
	sa.sa_query = line;
	/* The registry's own pace, from the timing DB (adapt.c). */
	sa.sa_total_timeout = adapt_total_timeout(q->q_server);
	sa.sa_connect_timeout = fmin(qc->qc_connect_timeout,
	    sa.sa_total_timeout);
	sa.sa_first_byte_timeout = fmin(qc->qc_first_byte_timeout,
	    sa.sa_total_timeout);
	sa.sa_max_reply = (size_t)qc->qc_max_reply;
	q->q_sess = session_start(sv_base, &sa, qreq_registry_ready,
	    qreq_registry_done, q);
}

static void
qreq_iana_result(struct qreq *q, const struct iana_result *r)
{
	const char	*iana;
	int		 port;

	switch (r->ir_kind) {
	case IANA_WHOIS:
		if ((q->q_reg = registries_default(query_registries())) ==
		    NULL) {
			log_warnx("registries file has no default block; "
			    "cannot use %s for .%s", r->ir_host, q->q_tld);
			qreq_finish(q, "unknown", "internal", 0);
			return;
		}
		snprintf(q->q_server, sizeof(q->q_server), "%s", r->ir_host);
		q->q_port = 43;
		qreq_registry(q);
		return;
	case IANA_NOWHOIS:
		iana = registries_iana_server(query_registries(), &port);
		snprintf(q->q_server, sizeof(q->q_server), "%s", iana);
		snprintf(q->q_ans.a_rule, sizeof(q->q_ans.a_rule),
		    "iana:no-whois");
		qreq_finish(q, "unknown", "no-whois-service", 0);
		return;
	case IANA_NOTLD:
		iana = registries_iana_server(query_registries(), &port);
		snprintf(q->q_server, sizeof(q->q_server), "%s", iana);
		snprintf(q->q_ans.a_rule, sizeof(q->q_ans.a_rule),
		    "iana:no-such-tld");
		qreq_finish(q, "invalid", "no such TLD", 0);
		return;
	default:
		iana = registries_iana_server(query_registries(), &port);
		snprintf(q->q_server, sizeof(q->q_server), "%s", iana);
		log_info("name %s: %s", q->q_name, r->ir_err);
		qreq_finish(q, "unknown", "iana-unavailable", 0);
		return;
	}
}

static void
qreq_iana_cb(const struct iana_result *r, void *arg)
{
	struct qreq	*q = arg;

	q->q_iw = NULL;
	qreq_iana_result(q, r);
}

static int
serve_request(struct link *l, struct msg *m)
{
	struct qreq		*q;
	struct msg_query	 mq;
	struct registry_match	 rm;
	struct iana_result	 ir;
	struct timeval		 tv;
	char			 err[256], ace[NAME_ACE_BUF], reason[NAME_REASON_BUF];
	double			 dl;
	int			 rc;

	if (msg_read_query(m, &mq, err, sizeof(err)) == -1) {
		link_reply_err(l, msg_id(m), MSG_E_BAD_REQUEST, "%s", err);
		return 0;
	}
	sv_stats.ss_queries++;
	pool_req_begin(mq.q_domain);
	serve_hold();
	q = xcalloc(1, sizeof(*q));
	TAILQ_INSERT_TAIL(&sv_reqs, q, q_entry);
	q->q_link = l;
	q->q_id = msg_id(m);
	q->q_version = link_version(l);
	q->q_start = now_mono();
	snprintf(q->q_asked, sizeof(q->q_asked), "%s", mq.q_domain);
	dl = mq.q_deadline_ms > 0 ? (double)mq.q_deadline_ms / 1000.0 :
	    query_conf()->qc_total_timeout;
	if (dl > 3600)
		dl = 3600;
	q->q_deadline = q->q_start + dl;
	/* Answer a little early, so the reply is there in time. */
	dl -= fmin(QUERY_REPLY_MARGIN, dl / 10);
	tv.tv_sec = (time_t)dl;
	tv.tv_usec = (suseconds_t)((dl - (double)tv.tv_sec) * 1e6);
	q->q_timer = evtimer_new(sv_base, qreq_deadline_cb, q);
	evtimer_add(q->q_timer, &tv);

	/* The front normalised it; a raw peer may not have. */
	if (name_normalise(mq.q_domain, ace, sizeof(ace), reason,
	    sizeof(reason)) == -1) {
		qreq_finish(q, "invalid", reason, 0);
		return 0;
	}
	rc = registries_lookup(query_registries(), ace, &rm);
	if (rc == -1) {
		qreq_finish(q, "invalid", "not a registrable name (a public "
		    "suffix)", 0);
		return 0;
	}
	snprintf(q->q_name, sizeof(q->q_name), "%s", rm.rm_registrable);
	snprintf(q->q_tld, sizeof(q->q_tld), "%s", rm.rm_suffix);
	if (rc == 0) {
		q->q_reg = rm.rm_reg;
		qreq_registry(q);
		return 0;
	}
	q->q_state = QR_IANA;
	if (iana_lookup(q->q_tld, q->q_deadline, qreq_iana_cb, q, &q->q_iw,
	    &ir) == 1)
		qreq_iana_result(q, &ir);
	return 0;
}

static int
serve_stats_reply(struct link *l, struct msg *m)
{
	struct msg_counter	c[16];
	struct msgb		b;
	size_t			n = 0;

#define CNT(name, v) do {						\
	snprintf(c[n].mc_name, sizeof(c[n].mc_name), "%s", name);	\
	c[n++].mc_value = (uint64_t)(v);				\
} while (0)
	CNT("queries", sv_stats.ss_queries);
	CNT("available", sv_stats.ss_status[0]);
	CNT("registered", sv_stats.ss_status[1]);
	CNT("reserved", sv_stats.ss_status[2]);
	CNT("invalid", sv_stats.ss_status[3]);
	CNT("unknown", sv_stats.ss_status[4]);
	CNT("conversations", sv_stats.ss_conversations);
	CNT("throttled", sv_stats.ss_throttled);
	CNT("backoff_answers", sv_stats.ss_backoff);
	CNT("budget_answers", sv_stats.ss_budget);
	CNT("timeouts", sv_stats.ss_timeouts);
	CNT("referrals", sv_stats.ss_referrals);
	CNT("error_events", sv_stats.ss_events);
	CNT("error_events_failed", sv_stats.ss_events_failed);
	CNT("spool_inflight", spool_inflight(query_spool()));
	CNT("pid", getpid());
#undef CNT
	msgb_init(&b);
	if (msg_pack_stats_r(&b, msg_id(m), link_version(l), c, n) == 0)
		link_reply(l, &b);
	else
		link_reply_err(l, msg_id(m), MSG_E_INTERNAL, "stats");
	msgb_free(&b);
	return 0;
}

static int
serve_link_request(struct link *l, struct msg *m, void *arg)
{
	(void)arg;
	switch (msg_type(m)) {
	case MSG_QUERY:
		return serve_request(l, m);
	case MSG_STATS:
		return serve_stats_reply(l, m);
	default:
		return -1;
	}
}

static void
serve_link_closed(struct link *l, void *arg)
{
	struct qlink	*ql = arg;

	(void)l;
	LIST_REMOVE(ql, ql_entry);
	free(ql);
	pool_conn_done();
}

void
serve_accept(int fd, struct sockaddr *sa, socklen_t salen)
{
	static const struct link_cb cb = { serve_link_request,
	    serve_link_closed };
	struct query_conf	*qc = query_conf();
	struct link_opts	 lo;
	struct qlink		*ql;

	memset(&lo, 0, sizeof(lo));
	lo.lo_limits.fl_max_frame = (size_t)qc->qc_max_frame;
	lo.lo_limits.fl_compress_min = qc->qc_compress_min == 0 ? SIZE_MAX :
	    (size_t)qc->qc_compress_min;
	ql = xcalloc(1, sizeof(*ql));
	LIST_INSERT_HEAD(&sv_links, ql, ql_entry);
	if ((ql->ql_link = link_new(sv_base, fd, sa, salen, &cb, &lo,
	    ql)) == NULL) {
		LIST_REMOVE(ql, ql_entry);
		free(ql);
		pool_conn_done();
	}
}

void
serve_init(struct event_base *base)
{
	struct timeval	tv;
	double		t = query_conf()->qc_health_refresh;

	sv_base = base;
	sv_health_ev = event_new(base, -1, EV_PERSIST, serve_health_tick, NULL);
	tv.tv_sec = (time_t)t;
	tv.tv_usec = (suseconds_t)((t - (double)tv.tv_sec) * 1e6);
	event_add(sv_health_ev, &tv);
	/* Learn the current back-offs before the first query. */
	serve_health_tick(-1, 0, NULL);
}

/*
 * Draining: goaway on every link (the front moves to a fresh child; the
 * requests in flight are still answered), and stay alive while registry
 * conversations, reports and spooled sends finish (shutdown_timeout
 * bounds it).
 */
void
serve_drain(void)
{
	struct qlink	*ql, *next;

	if (sv_health_ev != NULL)
		event_del(sv_health_ev);
	for (ql = LIST_FIRST(&sv_links); ql != NULL; ql = next) {
		next = LIST_NEXT(ql, ql_entry);
		link_goaway(ql->ql_link);
	}
	serve_hold_child();
}

void
serve_fini(void)
{
	if (sv_health_ev != NULL) {
		event_free(sv_health_ev);
		sv_health_ev = NULL;
	}
}
