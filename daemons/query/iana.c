/*
 * iana.c — the whois server of a TLD the registries file does not know,
 * asked of the IANA server ("com\r\n") and remembered for a day, in this
 * child's memory.  Requests for a TLD being looked up wait for that one
 * conversation instead of starting their own.  A failed look-up (IANA
 * down, a reply we cannot read) is not remembered: the next request asks
 * again, paced by IANA's own rate budget.
 *
 * The TLD table (etc/tld-whois.conf, common/tldtab.c) answers first: a
 * TLD of IANA's root zone database has its server, or none, without a
 * conversation; only a TLD newer than the table is asked of IANA.
 */
#include <sys/queue.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/tldtab.h"
#include "common/util.h"
#include "daemons/query/classify.h"
#include "daemons/query/query.h"
#include "proto/msg.h"

#define IANA_TTL	86400.0

struct iana_waiter {
	iana_cb			 iw_cb;
	void			*iw_arg;
	struct iana_entry	*iw_entry;
	LIST_ENTRY(iana_waiter)	 iw_link;
};

struct iana_entry {
	char			 ie_tld[NAME_ACE_BUF];
	struct iana_result	 ie_res;
	double			 ie_expires;	/* monotonic; 0 while asking */
	struct session		*ie_session;
	char			 ie_server[NAME_ACE_BUF];
	double			 ie_rate;
	LIST_HEAD(, iana_waiter) ie_waiters;
	TAILQ_ENTRY(iana_entry)	 ie_link;
};

static TAILQ_HEAD(, iana_entry)	iana_cache = TAILQ_HEAD_INITIALIZER(iana_cache);
static struct event_base	*iana_base;
static size_t			 iana_nbusy;
static struct tldtab		*iana_tab;

int
iana_table_load(const char *path, char *err, size_t errlen)
{
	struct tldtab	*tt = NULL;

	if (path != NULL && *path != '\0' &&
	    (tt = tldtab_load(path, err, errlen)) == NULL)
		return -1;
	tldtab_free(iana_tab);
	iana_tab = tt;
	return 0;
}

void
iana_init(struct event_base *base)
{
	iana_base = base;
}

static void
iana_entry_free(struct iana_entry *e)
{
	struct iana_waiter	*w;

	while ((w = LIST_FIRST(&e->ie_waiters)) != NULL) {
		LIST_REMOVE(w, iw_link);
		free(w);
	}
	if (e->ie_session != NULL) {
		session_cancel(e->ie_session);
		iana_nbusy--;
		report_release();
	}
	TAILQ_REMOVE(&iana_cache, e, ie_link);
	free(e);
}

void
iana_fini(void)
{
	struct iana_entry	*e;

	while ((e = TAILQ_FIRST(&iana_cache)) != NULL)
		iana_entry_free(e);
	tldtab_free(iana_tab);
	iana_tab = NULL;
}

size_t
iana_busy(void)
{
	return iana_nbusy;
}

void
iana_cancel(struct iana_waiter *w)
{
	if (w == NULL)
		return;
	LIST_REMOVE(w, iw_link);
	free(w);
}

/* The look-up ended: tell every waiter, keep a usable answer a day. */
static void
iana_complete(struct iana_entry *e, const struct iana_result *r)
{
	struct iana_waiter	*w;

	e->ie_res = *r;
	if (r->ir_kind >= 0)
		e->ie_expires = now_mono() + IANA_TTL;
	while ((w = LIST_FIRST(&e->ie_waiters)) != NULL) {
		LIST_REMOVE(w, iw_link);
		w->iw_cb(&e->ie_res, w->iw_arg);
		free(w);
	}
	if (r->ir_kind < 0)
		iana_entry_free(e);
}

static void
iana_fail(struct iana_entry *e, const char *fmt, const char *detail)
{
	struct iana_result	r;

	memset(&r, 0, sizeof(r));
	r.ir_kind = -1;
	snprintf(r.ir_err, sizeof(r.ir_err), fmt, detail);
	iana_complete(e, &r);
}

static void
iana_done_cb(struct session *s, const struct session_result *sr, void *arg)
{
	struct iana_entry	*e = arg;
	struct iana_result	 r;
	char			*text;
	size_t			 len;

	(void)s;
	e->ie_session = NULL;
	iana_nbusy--;
	report_timing(e->ie_server, sr->sr_ms,
	    sr->sr_transport == CLT_OK ? TIMING_OK : TIMING_FAIL);
	query_metrics_registry(e->ie_server, "iana", sr->sr_transport ==
	    CLT_OK ? TIMING_OK : TIMING_FAIL, sr->sr_ms / 1000);
	memset(&r, 0, sizeof(r));
	if (sr->sr_transport != CLT_OK) {
		log_warnx("iana %s for %s: %s: %s", e->ie_server, e->ie_tld,
		    sr->sr_kind, sr->sr_msg);
		report_error_event(e->ie_server, e->ie_tld, sr->sr_kind,
		    sr->sr_msg, 0);
		iana_fail(e, "iana: %s", sr->sr_kind);
		report_release();
		return;
	}
	text = classify_text(NULL, sr->sr_reply, sr->sr_len, &len);
	r.ir_kind = text == NULL ? IANA_BAD :
	    iana_reply_parse(text, len, r.ir_host, sizeof(r.ir_host));
	free(text);
	log_info("iana %s: tld %s: %s%s (%.0f ms)", e->ie_server, e->ie_tld,
	    r.ir_kind == IANA_WHOIS ? "whois " :
	    r.ir_kind == IANA_NOWHOIS ? "no whois service" :
	    r.ir_kind == IANA_NOTLD ? "no such TLD" : "unreadable reply",
	    r.ir_kind == IANA_WHOIS ? r.ir_host : "", sr->sr_ms);
	if (r.ir_kind == IANA_BAD) {
		report_error_event(e->ie_server, e->ie_tld, "unrecognised-reply",
		    "IANA reply without a usable whois: line", 0);
		iana_fail(e, "iana: %s", "unreadable reply");
	} else
		iana_complete(e, &r);
	report_release();
}

static void
iana_ready_cb(struct session *s, void *arg)
{
	struct iana_entry	*e = arg;
	double			 wait;

	/* Whatever waits, IANA gets its own budget (a cautious 1/s). */
	if (budget_reserve(e->ie_server, e->ie_rate,
	    query_conf()->qc_connect_timeout, &wait) == -1) {
		session_cancel(s);
		e->ie_session = NULL;
		iana_nbusy--;
		iana_fail(e, "iana: %s", "rate-budget");
		report_release();
		return;
	}
	session_pace(s, e->ie_server, e->ie_rate, wait, 0);
}

int
iana_lookup(const char *tld, double deadline, iana_cb cb, void *arg,
    struct iana_waiter **wp, struct iana_result *out)
{
	struct query_conf	*qc = query_conf();
	struct iana_entry	*e;
	struct iana_waiter	*w;
	struct session_args	 sa;
	const struct tldtab_entry *te;
	const char		*server;
	char			 line[NAME_ACE_BUF + 4];
	int			 port;

	(void)deadline;
	*wp = NULL;
	if ((te = tldtab_find(iana_tab, tld)) != NULL) {
		memset(out, 0, sizeof(*out));
		out->ir_kind = te->te_whois != NULL ? IANA_WHOIS : IANA_NOWHOIS;
		if (te->te_whois != NULL)
			snprintf(out->ir_host, sizeof(out->ir_host), "%s",
			    te->te_whois);
		return 1;
	}
	TAILQ_FOREACH(e, &iana_cache, ie_link)
		if (strcmp(e->ie_tld, tld) == 0)
			break;
	if (e != NULL && e->ie_expires > 0 && e->ie_expires < now_mono()) {
		iana_entry_free(e);
		e = NULL;
	}
	if (e != NULL && e->ie_expires > 0) {
		*out = e->ie_res;
		return 1;
	}
	if (e == NULL) {
		e = xcalloc(1, sizeof(*e));
		snprintf(e->ie_tld, sizeof(e->ie_tld), "%s", tld);
		LIST_INIT(&e->ie_waiters);
		TAILQ_INSERT_HEAD(&iana_cache, e, ie_link);
		server = registries_iana_server(query_registries(), &port);
		snprintf(e->ie_server, sizeof(e->ie_server), "%s", server);
		e->ie_rate = qc->qc_registry_rate_override > 0 ?
		    qc->qc_registry_rate_override : 1.0;
		snprintf(line, sizeof(line), "%s\r\n", tld);
		memset(&sa, 0, sizeof(sa));
		sa.sa_server = server;
		sa.sa_port = port;
		sa.sa_connect = query_override();
		sa.sa_query = line;
		sa.sa_connect_timeout = qc->qc_connect_timeout;
		sa.sa_first_byte_timeout = qc->qc_first_byte_timeout;
		sa.sa_total_timeout = qc->qc_total_timeout;
		sa.sa_max_reply = (size_t)qc->qc_max_reply;
		iana_nbusy++;
		report_hold();
		e->ie_session = session_start(iana_base, &sa, iana_ready_cb,
		    iana_done_cb, e);
	}
	w = xcalloc(1, sizeof(*w));
	w->iw_cb = cb;
	w->iw_arg = arg;
	w->iw_entry = e;
	LIST_INSERT_HEAD(&e->ie_waiters, w, iw_link);
	*wp = w;
	return 0;
}
