/*
 * serve.c — whoisd-query's requests: one `query` from the front, through
 * the registry, to the answer; and `stats`.
 *
 *	QR_DNS: delegated in the TLD's zone? --(yes: registered)------+
 *	   |  no verdict (NXDOMAIN, no NS, error, silence, over rate)  |
 *	QR_IANA -----(TLD not in the file: ask IANA, kept a day)-----+
 *	   |                                                          |
 *	QR_REGISTRY: no-whois? back-off? fair slot (fair.c) -> session+
 *	   |  verdict                                                 |
 *	QR_REFERRAL: registrar text, one hop, text only (full only)   |
 *	   |                                                          v
 *	QR_DONE: reply (once), put to the cache (always), free  <- unknown
 *
 * The reply goes out before deadline_ms whatever the registry does: at
 * the deadline the front gets `unknown`, reason timeout, and a registry
 * conversation already under way still finishes, reports its timing and
 * errors and puts its answer into the cache for the next asker.  A front
 * that went away cancels nothing: the link drops the reply quietly.
 *
 * A verdict costs one registry query: the registrar's referral of a thin
 * registry is followed only for a query that asks for the full record
 * (`full`), and what is put to the cache is the registry's own text, so
 * the cache holds one kind of answer whoever asked.
 *
 * Every answer is put to the cache, `unknown` included: the cache keeps
 * no unknowns, but the put releases the coalescing lease and wakes the
 * clients waiting on that name.  Puts, timings and error events are
 * sent by report.c.
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
#include "daemons/query/dns.h"
#include "daemons/query/query.h"
#include "daemons/query/rdap.h"
#include "proto/link_server.h"
#include "proto/msg.h"

/* The least time worth starting a registry conversation with. */
#define QUERY_MIN_SESSION	1.0
/* Replies leave this much before the caller's deadline. */
#define QUERY_REPLY_MARGIN	0.05
#define QUERY_REF_SEP		"\n--- registrar whois (%s) ---\n"

/** Where a request is. */
enum qreq_state {
	QR_DNS,		/**< the DNS pre-check (dns.c) */
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
	struct budget_law	 q_law;
	char			 q_client[QUERY_CLIENT_LEN];
	int			 q_bulk;
	int			 q_full;
	struct fair_waiter	 q_fw;
	size_t			 q_reg_len;	/* the registry's part of q_text */
	struct iana_waiter	*q_iw;
	struct dns_check	*q_dns;
	int			 q_via_iana;	/* the TLD is not in the file */
	struct session		*q_sess;
	struct answer		 q_ans;
	int			 q_have_verdict;
	char			*q_text;	/* registry text, UTF-8 */
	size_t			 q_text_len;
	char			 q_ref_host[NAME_ACE_BUF];
	/* The channels to try (registry_channels()) and the one in use. */
	int			 q_chans[REGISTRY_CHANNELS_MAX];
	int			 q_nchan;
	int			 q_chan_i;
	int			 q_chan_set;
	char			 q_rdap_url[RDAP_URL_MAX];
	char			 q_rdap_host[BUDGET_NAME_LEN - 8];
	char			 q_rdap_key[BUDGET_NAME_LEN];	/* "rdap:host" */
	struct rdap_req		*q_rdap;
	struct event		*q_pace;	/* RDAP: the bucket's spacing */
	int			 q_no_whois;	/* IANA: the TLD has no port 43 */
	TAILQ_ENTRY(qreq)	 q_entry;
};

struct serve_stats {
	uint64_t	ss_queries;
	uint64_t	ss_status[AS_NSTATUS];
	uint64_t	ss_conversations;
	uint64_t	ss_throttled;
	uint64_t	ss_backoff;
	uint64_t	ss_budget;
	uint64_t	ss_timeouts;
	uint64_t	ss_referrals;
	uint64_t	ss_dns_registered;	/* answered by a delegation */
	uint64_t	ss_dns_nothing;		/* asked; no verdict */
	uint64_t	ss_dns_skipped;		/* not asked (rate, no servers) */
	uint64_t	ss_rdap;		/* RDAP exchanges ended */
	uint64_t	ss_fallbacks;		/* another channel tried */
};

static struct event_base	*sv_base;
static TAILQ_HEAD(, qreq)	 sv_reqs = TAILQ_HEAD_INITIALIZER(sv_reqs);
static struct link_server	*sv_srv;
static struct serve_stats	 sv_stats;

static void	qreq_registry(struct qreq *);
static void	qreq_complete(struct qreq *);
static void	qreq_route(struct qreq *);

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

/* ------------------------------------------------------------ requests */

static void
qreq_free(struct qreq *q)
{
	TAILQ_REMOVE(&sv_reqs, q, q_entry);
	if (q->q_timer != NULL)
		event_free(q->q_timer);
	if (q->q_iw != NULL)
		iana_cancel(q->q_iw);
	if (q->q_dns != NULL)
		dns_cancel(q->q_dns);
	fair_cancel(&q->q_fw);
	if (q->q_sess != NULL)
		session_cancel(q->q_sess);
	if (q->q_rdap != NULL)
		rdap_cancel(q->q_rdap);
	if (q->q_pace != NULL)
		event_free(q->q_pace);
	answer_free(&q->q_ans);
	free(q->q_text);
	free(q);
	report_release();
}

/* Send `a` to the front, once; later calls do nothing. */
static void
qreq_reply(struct qreq *q, const struct answer *a)
{
	struct msgb	b;

	if (q->q_replied)
		return;
	q->q_replied = 1;
	sv_stats.ss_status[a->a_status]++;
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

/* Is q asking (or about to ask) by RDAP? */
static int
qreq_on_rdap(const struct qreq *q)
{
	return q->q_state == QR_REGISTRY && q->q_chan_i < q->q_nchan &&
	    q->q_chans[q->q_chan_i] == RCH_RDAP;
}

/* Fill the answer's fixed part. */
static void
qreq_set(struct qreq *q, enum answer_status status, const char *reason)
{
	struct answer	*a = &q->q_ans;

	snprintf(a->a_domain, sizeof(a->a_domain), "%s", q->q_asked);
	snprintf(a->a_ace, sizeof(a->a_ace), "%s", q->q_asked);
	a->a_status = status;
	snprintf(a->a_reason, sizeof(a->a_reason), "%s", reason ? reason : "");
	a->a_source = SRC_REGISTRY;
	scopy(a->a_registry, sizeof(a->a_registry), qreq_on_rdap(q) ?
	    q->q_rdap_host : q->q_server);
	if (qreq_on_rdap(q))
		a->a_channel = CH_RDAP;
	a->a_checked = now_wall();
}

/* An answer without a registry conversation (or after one failed). */
static void
qreq_finish(struct qreq *q, enum answer_status status, const char *reason,
    uint64_t retry_after)
{
	qreq_set(q, status, reason);
	q->q_ans.a_retry_after = retry_after;
	qreq_complete(q);
}

/*
 * The channel in use gave no verdict: ask the next one the registry
 * has, if the caller still waits and there is time.  0: under way.
 */
static int
qreq_next_channel(struct qreq *q)
{
	char	 why[ANSWER_REASON_LEN];

	if (q->q_state != QR_REGISTRY || q->q_replied ||
	    q->q_ans.a_status != AS_UNKNOWN ||
	    q->q_chan_i + 1 >= q->q_nchan ||
	    q->q_deadline - now_mono() < QUERY_MIN_SESSION / 2)
		return -1;
	snprintf(why, sizeof(why), "%s", q->q_ans.a_reason);
	fair_cancel(&q->q_fw);
	if (q->q_pace != NULL)
		evtimer_del(q->q_pace);
	q->q_chan_i++;
	sv_stats.ss_fallbacks++;
	log_info("name %s: no verdict from %s (%s); asking by %s", q->q_name,
	    q->q_chans[q->q_chan_i - 1] == RCH_RDAP ? "rdap" : "whois", why,
	    q->q_chans[q->q_chan_i] == RCH_RDAP ? "rdap" : "whois");
	/* The next channel writes its own answer and text. */
	answer_free(&q->q_ans);
	memset(&q->q_ans, 0, sizeof(q->q_ans));
	free(q->q_text);
	q->q_text = NULL;
	q->q_text_len = q->q_reg_len = 0;
	qreq_registry(q);
	return 0;
}

/* Reply (if not yet), put (always), free. */
static void
qreq_complete(struct qreq *q)
{
	if (q->q_sess != NULL) {
		session_cancel(q->q_sess);
		q->q_sess = NULL;
	}
	if (q->q_rdap != NULL) {
		rdap_cancel(q->q_rdap);
		q->q_rdap = NULL;
	}
	if (qreq_next_channel(q) == 0)
		return;
	q->q_state = QR_DONE;
	if (q->q_text != NULL && q->q_ans.a_text == NULL)
		answer_set_text(&q->q_ans, q->q_text, q->q_text_len);
	qreq_reply(q, &q->q_ans);
	/* The registrar's text went to this asker only. */
	if (q->q_text != NULL && q->q_text_len > q->q_reg_len &&
	    q->q_reg_len > 0)
		answer_set_text(&q->q_ans, q->q_text, q->q_reg_len);
	report_put(&q->q_ans);
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
	if (fair_waiting(&q->q_fw)) {
		/* Slots went to other children faster than projected. */
		fair_cancel(&q->q_fw);
		sv_stats.ss_budget++;
		qreq_finish(q, AS_UNKNOWN, "rate-budget", 1);
		return;
	}
	sv_stats.ss_timeouts++;
	if (q->q_state == QR_IANA) {
		qreq_finish(q, AS_UNKNOWN, "timeout", 0);
		return;
	}
	/*
	 * The registry is slower than the caller: answer now; the
	 * conversation goes on and its answer fills the cache.
	 */
	memset(&a, 0, sizeof(a));
	snprintf(a.a_domain, sizeof(a.a_domain), "%s", q->q_asked);
	snprintf(a.a_ace, sizeof(a.a_ace), "%s", q->q_asked);
	a.a_status = AS_UNKNOWN;
	snprintf(a.a_reason, sizeof(a.a_reason), "timeout");
	a.a_source = SRC_REGISTRY;
	scopy(a.a_registry, sizeof(a.a_registry), qreq_on_rdap(q) ?
	    q->q_rdap_host : q->q_server);
	if (qreq_on_rdap(q))
		a.a_channel = CH_RDAP;
	a.a_checked = now_wall();
	a.a_latency_ms = (uint64_t)((now_mono() - q->q_start) * 1000);
	qreq_reply(q, &a);
}

static const char *
qreq_outcome(const struct verdict *vd, int transport)
{
	if (transport != CLT_OK)
		return TIMING_FAIL;
	if (vd->vd_status != AS_UNKNOWN)
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
	session_pace(s, q->q_ref_host, rate, wait, 0);
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
	if (!q->q_full || !q->q_reg->rg_has_referral || q->q_replied ||
	    q->q_ans.a_status != AS_REGISTERED || q->q_text == NULL)
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
	const char		*outcome, *kind = sr->sr_kind;
	char			 msg[512], esc[200];
	double			 secs = 0;

	(void)s;
	q->q_sess = NULL;
	sv_stats.ss_conversations++;
	classify(q->q_reg, sr->sr_reply, sr->sr_len, sr->sr_transport, &vd);
	if (sr->sr_len > 0 && q->q_text == NULL)
		q->q_text = classify_text(q->q_reg, sr->sr_reply, sr->sr_len,
		    &q->q_text_len);
	q->q_reg_len = q->q_text_len;
	qreq_set(q, vd.vd_status, vd.vd_reason);
	scopy(a->a_rule, sizeof(a->a_rule), vd.vd_rule);
	scopy(a->a_matched, sizeof(a->a_matched), vd.vd_matched);
	a->a_latency_ms = (uint64_t)llround(sr->sr_ms);
	outcome = qreq_outcome(&vd, sr->sr_transport);
	snprintf(msg, sizeof(msg), "%s", sr->sr_msg);

	if (sr->sr_transport == CLT_OK && vd.vd_status == AS_UNKNOWN) {
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
			if (strcmp(vd.vd_reason, "registry-error") == 0 ||
			    strcmp(vd.vd_reason, "conflicting-reply") == 0)
				kind = vd.vd_reason;
			else
				kind = "unrecognised-reply";
			snprintf(msg, sizeof(msg), "%s: %s", vd.vd_rule,
			    log_escape(vd.vd_matched, strlen(vd.vd_matched),
			    esc, sizeof(esc)));
			budget_ok(q->q_server);
		}
	} else if (sr->sr_transport == CLT_OK)
		budget_ok(q->q_server);

	report_timing(q->q_server, sr->sr_ms, outcome);
	query_metrics_registry(q->q_server, "whois", outcome, sr->sr_ms / 1000);
	if (kind != NULL) {
		log_warnx("registry %s name %s: %s: %s (%.0f ms)", q->q_server,
		    q->q_name, kind, msg, sr->sr_ms);
		report_error_event(q->q_server, q->q_name, kind, msg,
		    (uint64_t)ceil(secs));
	}
	log_info("registry %s name %s outcome %s%s%s rule %s %.0f ms",
	    q->q_server, q->q_name, answer_status_name(vd.vd_status),
	    vd.vd_reason[0] ? "/" : "", vd.vd_reason, vd.vd_rule, sr->sr_ms);

	if (qreq_referral(q) == 0)
		return;
	qreq_complete(q);
}

/* fair.c's turn for q has come: send now (the bucket's spacing holds). */
static void
qreq_slot_go(struct fair_waiter *w, void *arg)
{
	struct qreq	*q = arg;

	session_pace(q->q_sess, q->q_server, q->q_law.bl_rate, 0,
	    w->fw_prio);
}

/* No slot before q's deadline, or the registry throttled us: say so now. */
static void
qreq_slot_late(struct fair_waiter *w, double retry_after, int backoff,
    void *arg)
{
	struct qreq	*q = arg;

	(void)w;
	session_cancel(q->q_sess);
	q->q_sess = NULL;
	if (backoff) {
		sv_stats.ss_backoff++;
		qreq_finish(q, AS_UNKNOWN, "registry-backoff",
		    (uint64_t)ceil(retry_after));
		return;
	}
	sv_stats.ss_budget++;
	log_info("registry %s name %s: rate budget (a slot in %.2fs, after "
	    "the deadline)", q->q_server, q->q_name, retry_after);
	qreq_finish(q, AS_UNKNOWN, "rate-budget",
	    (uint64_t)ceil(retry_after > 1 ? retry_after : 1));
}

/*
 * The address is known: is the registry still askable, and when?  The
 * name waits for its turn at the registry's slots (fair.c), which
 * answers it at once if its turn would come after its deadline.
 */
static void
qreq_registry_ready(struct session *s, void *arg)
{
	struct qreq	*q = arg;
	double		 left, now = now_mono();

	if ((left = budget_backoff_left(q->q_server)) > 0) {
		session_cancel(s);
		q->q_sess = NULL;
		sv_stats.ss_backoff++;
		qreq_finish(q, AS_UNKNOWN, "registry-backoff",
		    (uint64_t)ceil(left));
		return;
	}
	/* Leave the conversation itself some time: a second, or half of
	 * what is left when the caller gave less. */
	left = q->q_deadline - now;
	left -= fmin(QUERY_MIN_SESSION, left / 2);
	if (q->q_replied)
		left = query_conf()->qc_total_timeout;	/* for the cache */
	q->q_fw.fw_deadline = now + (left > 0 ? left : 0);
	q->q_fw.fw_go = qreq_slot_go;
	q->q_fw.fw_late = qreq_slot_late;
	q->q_fw.fw_arg = q;
	fair_wait(&q->q_fw, q->q_server, &q->q_law, q->q_client, q->q_bulk);
}

static void
qreq_whois(struct qreq *q)
{
	struct query_conf	*qc = query_conf();
	struct session_args	 sa;
	char			 line[REGISTRY_QUERY_MAX];
	double			 left;

	if (q->q_server[0] == '\0') {
		snprintf(q->q_server, sizeof(q->q_server), "%s",
		    q->q_reg->rg_server);
		q->q_port = q->q_reg->rg_port;
	}
	if ((left = budget_backoff_left(q->q_server)) > 0) {
		sv_stats.ss_backoff++;
		log_info("registry %s name %s: in back-off for %.0fs",
		    q->q_server, q->q_name, left);
		qreq_finish(q, AS_UNKNOWN, "registry-backoff",
		    (uint64_t)ceil(left));
		return;
	}
	if (registry_query(q->q_reg, q->q_name, line, sizeof(line)) == -1) {
		log_warnx("registry %s: cannot build the query for %s",
		    q->q_server, q->q_name);
		qreq_finish(q, AS_UNKNOWN, "internal", 0);
		return;
	}
	q->q_law.bl_rate = qc->qc_registry_rate_override > 0 ?
	    qc->qc_registry_rate_override : registry_rate(q->q_reg);
	q->q_law.bl_quota = q->q_reg->rg_quota_n;
	q->q_law.bl_quota_per = q->q_reg->rg_quota_per;
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

/* ------------------------------------------------------------- RDAP */

/* An RDAP answer without an exchange (back-off, budget). */
static void
qreq_rdap_finish(struct qreq *q, const char *reason, const char *rule,
    uint64_t retry_after)
{
	qreq_set(q, AS_UNKNOWN, reason);
	scopy(q->q_ans.a_registry, sizeof(q->q_ans.a_registry),
	    q->q_rdap_host);
	q->q_ans.a_channel = CH_RDAP;
	scopy(q->q_ans.a_rule, sizeof(q->q_ans.a_rule), rule);
	q->q_ans.a_retry_after = retry_after;
	qreq_complete(q);
}

static const char *
qreq_rdap_outcome(const struct rdap_reply *r, const struct verdict *vd)
{
	if (r->rr_transport != RDT_OK && r->rr_transport != RDT_TOO_BIG &&
	    r->rr_transport != RDT_REDIRECT)
		return TIMING_FAIL;
	if (strcmp(vd->vd_reason, "rate-limited") == 0)
		return TIMING_RATELIMITED;
	if (strcmp(vd->vd_reason, "registry-error") == 0)
		return TIMING_FAIL;
	return TIMING_OK;
}

static void
qreq_rdap_done(struct rdap_req *rq, const struct rdap_reply *r, void *arg)
{
	struct qreq		*q = arg;
	struct query_conf	*qc = query_conf();
	struct verdict		 vd;
	struct rdap_domain	 d;
	struct answer		*a = &q->q_ans;
	const char		*kind = NULL;
	char			 msg[512], esc[300];
	double			 secs = 0;

	(void)rq;
	q->q_rdap = NULL;
	sv_stats.ss_rdap++;
	rdap_verdict(q->q_reg, q->q_name, r, &vd, &d);
	qreq_set(q, vd.vd_status, vd.vd_reason);
	scopy(a->a_registry, sizeof(a->a_registry), q->q_rdap_host);
	a->a_channel = CH_RDAP;
	scopy(a->a_rule, sizeof(a->a_rule), vd.vd_rule);
	scopy(a->a_matched, sizeof(a->a_matched), vd.vd_matched);
	a->a_latency_ms = (uint64_t)llround(r->rr_ms);
	if (vd.vd_status == AS_REGISTERED || vd.vd_status == AS_RESERVED) {
		a->a_reg_created = d.rd_created;
		a->a_reg_expires = d.rd_expires;
		scopy(a->a_nameservers, sizeof(a->a_nameservers), d.rd_ns);
	}
	/* The registry's JSON is the answer's text, as whois text is. */
	if (r->rr_transport == RDT_OK && r->rr_len > 0 && q->q_text == NULL)
		q->q_text = classify_text(NULL, r->rr_body, r->rr_len,
		    &q->q_text_len);
	q->q_reg_len = q->q_text_len;
	snprintf(msg, sizeof(msg), "%s", log_escape(vd.vd_matched,
	    strlen(vd.vd_matched), esc, sizeof(esc)));
	if (vd.vd_status == AS_UNKNOWN &&
	    strcmp(vd.vd_reason, "rate-limited") == 0) {
		kind = "ratelimited";
		sv_stats.ss_throttled++;
		secs = budget_throttle(q->q_rdap_key, vd.vd_retry_after,
		    qc->qc_backoff_default, qc->qc_backoff_max);
		a->a_retry_after = (uint64_t)ceil(secs);
		snprintf(msg, sizeof(msg), "throttled (%s); back-off %.0fs",
		    vd.vd_retry_after > 0 ? "retry-after given" :
		    "default back-off", secs);
	} else if (vd.vd_status == AS_UNKNOWN) {
		kind = vd.vd_reason;
		if (r->rr_transport == RDT_OK)
			budget_ok(q->q_rdap_key);
	} else
		budget_ok(q->q_rdap_key);
	report_timing(q->q_rdap_key, r->rr_ms, qreq_rdap_outcome(r, &vd));
	if (kind != NULL) {
		log_warnx("registry %s name %s: %s: %s (%.0f ms)",
		    q->q_rdap_key, q->q_name, kind, msg, r->rr_ms);
		report_error_event(q->q_rdap_key, q->q_name, kind, msg,
		    (uint64_t)ceil(secs));
	}
	log_info("registry %s name %s outcome %s%s%s rule %s %.0f ms",
	    q->q_rdap_key, q->q_name, answer_status_name(vd.vd_status),
	    vd.vd_reason[0] ? "/" : "", vd.vd_reason, vd.vd_rule, r->rr_ms);
	qreq_complete(q);
}

static void
qreq_rdap_send(struct qreq *q)
{
	struct query_conf	*qc = query_conf();
	struct rdap_args	 ra;

	memset(&ra, 0, sizeof(ra));
	ra.ra_url = q->q_rdap_url;
	ra.ra_override = query_rdap_override();
	ra.ra_ca_file = qc->qc_rdap_ca_file;
	/* The registry's own pace, from the timing DB (adapt.c). */
	ra.ra_timeout = adapt_total_timeout(q->q_rdap_key);
	ra.ra_connect_timeout = fmin(qc->qc_connect_timeout, ra.ra_timeout);
	ra.ra_max_body = (size_t)qc->qc_rdap_max_body;
	if ((q->q_rdap = rdap_get(&ra, qreq_rdap_done, q)) == NULL)
		qreq_rdap_finish(q, "internal", "rdap:client", 0);
}

static void	qreq_rdap_pace_cb(evutil_socket_t, short, void *);

/* Send once the actual sends are 1/rate apart (and bulk work has let
 * pending priority slots go first). */
static void
qreq_rdap_pace(struct qreq *q)
{
	struct timeval	 tv;
	double		 wait;

	if ((wait = budget_send(q->q_rdap_key, q->q_law.bl_rate,
	    q->q_fw.fw_prio)) <= 0) {
		qreq_rdap_send(q);
		return;
	}
	if (q->q_pace == NULL)
		q->q_pace = evtimer_new(sv_base, qreq_rdap_pace_cb, q);
	tv_from_seconds(&tv, wait);
	evtimer_add(q->q_pace, &tv);
}

static void
qreq_rdap_pace_cb(evutil_socket_t fd, short ev, void *arg)
{
	(void)fd; (void)ev;
	qreq_rdap_pace(arg);
}

/* fair.c's turn. */
static void
qreq_rdap_go(struct fair_waiter *w, void *arg)
{
	(void)w;
	qreq_rdap_pace(arg);
}

static void
qreq_rdap_late(struct fair_waiter *w, double retry_after, int backoff,
    void *arg)
{
	struct qreq	*q = arg;

	(void)w;
	if (backoff) {
		sv_stats.ss_backoff++;
		qreq_rdap_finish(q, "registry-backoff", "rdap:backoff",
		    (uint64_t)ceil(retry_after));
		return;
	}
	sv_stats.ss_budget++;
	log_info("registry %s name %s: rate budget (a slot in %.2fs, after "
	    "the deadline)", q->q_rdap_key, q->q_name, retry_after);
	qreq_rdap_finish(q, "rate-budget", "rdap:rate-budget",
	    (uint64_t)ceil(retry_after > 1 ? retry_after : 1));
}

static void
qreq_rdap(struct qreq *q)
{
	struct query_conf	*qc = query_conf();
	double			 left, now = now_mono();

	if ((left = budget_backoff_left(q->q_rdap_key)) > 0) {
		sv_stats.ss_backoff++;
		log_info("registry %s name %s: in back-off for %.0fs",
		    q->q_rdap_key, q->q_name, left);
		qreq_rdap_finish(q, "registry-backoff", "rdap:backoff",
		    (uint64_t)ceil(left));
		return;
	}
	q->q_law.bl_rate = qc->qc_registry_rate_override > 0 ?
	    qc->qc_registry_rate_override : registry_rdap_rate(q->q_reg);
	q->q_law.bl_quota = 0;
	q->q_law.bl_quota_per = 0;
	left = q->q_deadline - now;
	left -= fmin(QUERY_MIN_SESSION, left / 2);
	if (q->q_replied)
		left = qc->qc_total_timeout;	/* for the cache */
	q->q_fw.fw_deadline = now + (left > 0 ? left : 0);
	q->q_fw.fw_go = qreq_rdap_go;
	q->q_fw.fw_late = qreq_rdap_late;
	q->q_fw.fw_arg = q;
	fair_wait(&q->q_fw, q->q_rdap_key, &q->q_law, q->q_client, q->q_bulk);
}

/* The channels of q's registry, and the RDAP URL for its name. */
static void
qreq_channels(struct qreq *q)
{
	const char	*base = NULL, *h;
	size_t		 n;
	int		 has = 0;

	q->q_chan_set = 1;
	if (query_rdap_on())
		base = q->q_reg->rg_rdap != NULL ? q->q_reg->rg_rdap :
		    rdap_boot_url(query_rdap_boot(), q->q_tld);
	if (base != NULL && rdap_url(base, q->q_name, q->q_rdap_url,
	    sizeof(q->q_rdap_url)) == 0) {
		h = q->q_rdap_url + strlen("https://");
		n = strcspn(h, "/:");
		if (n > 0 && n < sizeof(q->q_rdap_host)) {
			memcpy(q->q_rdap_host, h, n);
			q->q_rdap_host[n] = '\0';
			snprintf(q->q_rdap_key, sizeof(q->q_rdap_key),
			    "rdap:%s", q->q_rdap_host);
			has = 1;
		}
	}
	q->q_nchan = registry_channels(q->q_reg, has, q->q_chans);
	if (q->q_no_whois && q->q_nchan > 0) {
		/* Only RDAP remains of the default block's channels. */
		q->q_nchan = 0;
		if (has)
			q->q_chans[q->q_nchan++] = RCH_RDAP;
	}
}

/* The registry's channels in turn (qreq_next_channel() moves on). */
static void
qreq_registry(struct qreq *q)
{
	struct verdict	vd;

	q->q_state = QR_REGISTRY;
	if (!q->q_chan_set)
		qreq_channels(q);
	if (q->q_nchan == 0) {
		classify(q->q_reg, "", 0, CLT_OK, &vd);
		q->q_server[0] = '\0';
		qreq_set(q, AS_UNKNOWN, "no-public-channel");
		scopy(q->q_ans.a_rule, sizeof(q->q_ans.a_rule), vd.vd_rule);
		qreq_complete(q);
		return;
	}
	if (q->q_chans[q->q_chan_i] == RCH_RDAP)
		qreq_rdap(q);
	else
		qreq_whois(q);
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
			qreq_finish(q, AS_UNKNOWN, "internal", 0);
			return;
		}
		snprintf(q->q_server, sizeof(q->q_server), "%s", r->ir_host);
		q->q_port = 43;
		qreq_registry(q);
		return;
	case IANA_NOWHOIS:
		/* No port 43, but the bootstrap file may know its RDAP. */
		if (query_rdap_on() && rdap_boot_url(query_rdap_boot(),
		    q->q_tld) != NULL &&
		    (q->q_reg = registries_default(query_registries())) !=
		    NULL) {
			q->q_no_whois = 1;
			q->q_server[0] = '\0';
			qreq_registry(q);
			return;
		}
		iana = registries_iana_server(query_registries(), &port);
		snprintf(q->q_server, sizeof(q->q_server), "%s", iana);
		snprintf(q->q_ans.a_rule, sizeof(q->q_ans.a_rule),
		    "iana:no-whois");
		qreq_finish(q, AS_UNKNOWN, "no-public-channel", 0);
		return;
	case IANA_NOTLD:
		iana = registries_iana_server(query_registries(), &port);
		snprintf(q->q_server, sizeof(q->q_server), "%s", iana);
		snprintf(q->q_ans.a_rule, sizeof(q->q_ans.a_rule),
		    "iana:no-such-tld");
		qreq_finish(q, AS_INVALID, "no such TLD", 0);
		return;
	default:
		iana = registries_iana_server(query_registries(), &port);
		snprintf(q->q_server, sizeof(q->q_server), "%s", iana);
		log_info("name %s: %s", q->q_name, r->ir_err);
		qreq_finish(q, AS_UNKNOWN, "iana-unavailable", 0);
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

/* After the DNS pre-check, or without one: the registry's way. */
static void
qreq_route(struct qreq *q)
{
	struct iana_result	 ir;

	if (!q->q_via_iana) {
		qreq_registry(q);
		return;
	}
	q->q_state = QR_IANA;
	if (iana_lookup(q->q_tld, q->q_deadline, qreq_iana_cb, q, &q->q_iw,
	    &ir) == 1)
		qreq_iana_result(q, &ir);
}

/* ---------------------------------------------------- DNS pre-check */

/*
 * A delegation answers registered at once, without the registry's
 * budget; anything else goes the registry's way as if never asked.
 * dns_answer() is the only writer of a DNS verdict, and it can only
 * write registered.
 */
static void
qreq_dns_done(const struct dns_result *r, void *arg)
{
	struct qreq	*q = arg;

	q->q_dns = NULL;
	if (r->dr_outcome != DNS_DELEGATED) {
		sv_stats.ss_dns_nothing++;
		log_info("dns %s name %s: no verdict (%s, %.0f ms)",
		    r->dr_server, q->q_name, r->dr_why, r->dr_ms);
		qreq_route(q);
		return;
	}
	sv_stats.ss_dns_registered++;
	log_info("dns %s name %s outcome registered %s %.0f ms",
	    r->dr_server, q->q_name, r->dr_ns, r->dr_ms);
	qreq_set(q, AS_REGISTERED, NULL);
	/* The registry that holds the name, when the file names it. */
	scopy(q->q_ans.a_registry, sizeof(q->q_ans.a_registry),
	    q->q_reg != NULL && q->q_reg->rg_server != NULL ?
	    q->q_reg->rg_server : "");
	dns_answer(&q->q_ans, r);
	qreq_complete(q);
}

/* 0: the pre-check is under way; -1: go to the registry now. */
static int
qreq_dns(struct qreq *q)
{
	const struct registry	*rg;
	const char		*why;

	rg = q->q_reg != NULL ? q->q_reg :
	    registries_default(query_registries());
	if (rg != NULL && rg->rg_dns_off)
		return -1;
	q->q_state = QR_DNS;
	if (dns_check(q->q_name, q->q_tld, qreq_dns_done, q, &q->q_dns,
	    &why) == -1) {
		if (strcmp(why, "off") != 0) {
			sv_stats.ss_dns_skipped++;
			log_debug("dns name %s: not asked (%s)", q->q_name, why);
		}
		return -1;
	}
	return 0;
}

static void
serve_request(struct link *l, struct msg *m)
{
	struct qreq		*q;
	struct msg_query	 mq;
	struct registry_match	 rm;
	struct timeval		 tv;
	char			 err[256], ace[NAME_ACE_BUF], reason[NAME_REASON_BUF];
	double			 dl;
	int			 rc;

	memset(&mq, 0, sizeof(mq));
	if (msg_read_query(m, &mq, err, sizeof(err)) == -1) {
		link_reply_err(l, msg_id(m), MSG_E_BAD_REQUEST, "%s", err);
		return;
	}
	sv_stats.ss_queries++;
	pool_req_begin(mq.q_domain);
	report_hold();
	q = xcalloc(1, sizeof(*q));
	TAILQ_INSERT_TAIL(&sv_reqs, q, q_entry);
	q->q_link = l;
	q->q_id = msg_id(m);
	q->q_version = link_version(l);
	q->q_start = now_mono();
	snprintf(q->q_asked, sizeof(q->q_asked), "%s", mq.q_domain);
	snprintf(q->q_client, sizeof(q->q_client), "%s", mq.q_client);
	q->q_bulk = mq.q_bulk;
	q->q_full = mq.q_full;
	dl = mq.q_deadline_ms > 0 ? (double)mq.q_deadline_ms / 1000.0 :
	    query_conf()->qc_total_timeout;
	if (dl > 3600)
		dl = 3600;
	q->q_deadline = q->q_start + dl;
	/* Answer a little early, so the reply is there in time. */
	dl -= fmin(QUERY_REPLY_MARGIN, dl / 10);
	tv_from_seconds(&tv, dl);
	q->q_timer = evtimer_new(sv_base, qreq_deadline_cb, q);
	evtimer_add(q->q_timer, &tv);

	/* The front normalised it; a raw peer may not have. */
	if (name_normalise(mq.q_domain, ace, sizeof(ace), reason,
	    sizeof(reason)) == -1) {
		qreq_finish(q, AS_INVALID, reason, 0);
		return;
	}
	rc = registries_lookup(query_registries(), ace, &rm);
	if (rc == -1) {
		qreq_finish(q, AS_INVALID, "not a registrable name (a public "
		    "suffix)", 0);
		return;
	}
	snprintf(q->q_name, sizeof(q->q_name), "%s", rm.rm_registrable);
	snprintf(q->q_tld, sizeof(q->q_tld), "%s", rm.rm_suffix);
	if (rc == 0)
		q->q_reg = rm.rm_reg;
	q->q_via_iana = rc != 0;
	if (qreq_dns(q) == 0)
		return;
	qreq_route(q);
}

static void
serve_stats_reply(struct link *l, struct msg *m)
{
	struct msg_counters	cnt = { .mcs_n = 0 };
	struct msgb		b;
	unsigned long		rq, rc;
	int			i;

	msg_counters_add(&cnt, "queries", sv_stats.ss_queries);
	for (i = 0; i < AS_NSTATUS; i++)
		msg_counters_add(&cnt, answer_status_name(i),
		    sv_stats.ss_status[i]);
	msg_counters_add(&cnt, "conversations", sv_stats.ss_conversations);
	msg_counters_add(&cnt, "throttled", sv_stats.ss_throttled);
	msg_counters_add(&cnt, "backoff_answers", sv_stats.ss_backoff);
	msg_counters_add(&cnt, "budget_answers", sv_stats.ss_budget);
	msg_counters_add(&cnt, "timeouts", sv_stats.ss_timeouts);
	msg_counters_add(&cnt, "referrals", sv_stats.ss_referrals);
	msg_counters_add(&cnt, "dns_registered", sv_stats.ss_dns_registered);
	msg_counters_add(&cnt, "dns_no_verdict", sv_stats.ss_dns_nothing);
	msg_counters_add(&cnt, "dns_skipped", sv_stats.ss_dns_skipped);
	rdap_counts(&rq, &rc);
	msg_counters_add(&cnt, "rdap_requests", rq);
	msg_counters_add(&cnt, "rdap_connects", rc);
	msg_counters_add(&cnt, "rdap_answers", sv_stats.ss_rdap);
	msg_counters_add(&cnt, "channel_fallbacks", sv_stats.ss_fallbacks);
	msg_counters_add(&cnt, "fair_waits", fair_stats()->fs_waits);
	msg_counters_add(&cnt, "fair_slots", fair_stats()->fs_slots);
	msg_counters_add(&cnt, "fair_late", fair_stats()->fs_late);
	msg_counters_add(&cnt, "error_events", report_stats()->rs_events);
	msg_counters_add(&cnt, "error_events_failed",
	    report_stats()->rs_events_failed);
	msg_counters_add(&cnt, "spool_inflight", spool_inflight(query_spool()));
	msg_counters_add(&cnt, "pid", getpid());
	msgb_init(&b);
	if (msg_pack_stats_r(&b, msg_id(m), link_version(l), cnt.mcs_c,
	    cnt.mcs_n) == 0)
		link_reply(l, &b);
	else
		link_reply_err(l, msg_id(m), MSG_E_INTERNAL, "stats");
	msgb_free(&b);
}

/* The front asks; the operator may too. */
#define QUERY_CLIENTS	(ROLE_BIT(ROLE_FRONT) | ROLE_BIT(ROLE_CTL))

static const struct link_handler serve_handlers[] = {
	/* No pool request here: a query begins one once it is read (the
	 * domain is its key) and ends it with its reply. */
	{ MSG_QUERY,	serve_request,		0,	QUERY_CLIENTS },
	{ MSG_STATS,	serve_stats_reply,	0,	QUERY_CLIENTS },
};

void
serve_accept(int fd, struct sockaddr *sa, socklen_t salen)
{
	link_server_accept(sv_srv, fd, sa, salen);
}

void
serve_init(struct event_base *base)
{
	struct query_conf	*qc = query_conf();
	struct link_server_opts	 lo;

	sv_base = base;
	fair_init(base);
	memset(&lo, 0, sizeof(lo));
	lo.lso_max_frame = qc->qc_max_frame;
	lo.lso_compress_min = qc->qc_compress_min;
	lo.lso_frame_timeout = qc->qc_link_frame_timeout;
	lo.lso_hello_timeout = qc->qc_link_hello_timeout;
	lo.lso_idle_timeout = qc->qc_link_idle_timeout;
	sv_srv = link_server_new(base, serve_handlers, nitems(serve_handlers),
	    &lo);
}

/*
 * Draining: goaway on every link (the front moves to a fresh child; the
 * requests in flight are still answered), and stay alive while registry
 * conversations, reports and spooled sends finish (report_drain()).
 */
void
serve_drain(void)
{
	link_server_drain(sv_srv);
	report_drain();
}
