/*
 * http.c — the HTTP/JSON API on libevent's evhttp.
 *
 *	GET /v1/check?domain=a.com&domain=b.net	verdicts, JSON (<= http_max_names)
 *	GET /v1/whois?domain=a.com		the whois answer and registry text
 *	GET /status				pool and links, JSON
 *	GET /metrics				Prometheus text
 *
 * evhttp accepts on the HTTP listener itself (it has no call to adopt a
 * socket accepted elsewhere), so the pool hands this listener over
 * (pd_child_own_listener) and we make its registration exclusive
 * (pool_exclusive).  A connection is counted in the pool from its first
 * request until evhttp closes it.
 */
#include <sys/queue.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "common/log.h"
#include "common/pool.h"
#include "common/util.h"
#include "daemons/whoisd/whoisd.h"
#include "proto/client.h"

#define HTTP_MAX_LISTENERS	8
#define HTTP_DRAIN_GRACE	1.0	/* seconds for accepted, unread requests */

struct hconn {
	struct evhttp_connection	*hc_evcon;
	int				 hc_pending;	/* requests not answered */
	LIST_ENTRY(hconn)		 hc_entry;
};

/* One /v1/check or /v1/whois request and its lookups. */
struct hreq {
	struct evhttp_request	*hr_req;
	struct hconn		*hr_conn;
	int			 hr_whois;	/* /v1/whois: text answer */
	int			 hr_n;
	int			 hr_done;
	int			 hr_started;	/* all lookups started */
	struct lookup		**hr_lookups;
	struct evbuffer		**hr_parts;	/* one JSON object per name */
	struct hslot		*hr_slots;
};

struct hslot {
	struct hreq	*hs_req;
	int		 hs_i;
};

static struct event_base		*http_base;
static struct evhttp			*http_srv;
static struct listener			*http_ls[HTTP_MAX_LISTENERS];
static struct evhttp_bound_socket	*http_bound[HTTP_MAX_LISTENERS];
static int				 http_nls;
static int				 http_draining;
static LIST_HEAD(, hconn)		 http_conns =
    LIST_HEAD_INITIALIZER(http_conns);

int
http_own_listener(struct listener *l)
{
	if (strcmp(l->l_name, "http") != 0)
		return 0;
	if (http_nls == HTTP_MAX_LISTENERS)
		fatalx("too many http listeners");
	http_ls[http_nls++] = l;
	return 1;
}

static void
http_conn_closed(struct evhttp_connection *evcon, void *arg)
{
	struct hconn *hc = arg;

	(void)evcon;
	LIST_REMOVE(hc, hc_entry);
	free(hc);
	pool_conn_done();
}

static struct hconn *
http_conn(struct evhttp_request *req)
{
	struct evhttp_connection	*evcon;
	struct hconn			*hc;

	if ((evcon = evhttp_request_get_connection(req)) == NULL)
		return NULL;
	LIST_FOREACH(hc, &http_conns, hc_entry)
		if (hc->hc_evcon == evcon)
			return hc;
	hc = xcalloc(1, sizeof(*hc));
	hc->hc_evcon = evcon;
	LIST_INSERT_HEAD(&http_conns, hc, hc_entry);
	/* Counted even over max_clients_per_child: it is already accepted. */
	(void)pool_conn_add();
	evhttp_connection_set_closecb(evcon, http_conn_closed, hc);
	return hc;
}

static void
http_send(struct evhttp_request *req, struct hconn *hc, int code,
    const char *reason, const char *ctype, struct evbuffer *body)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);

	evhttp_add_header(h, "Content-Type", ctype);
	evhttp_add_header(h, "Cache-Control", "no-store");
	if (http_draining)
		evhttp_add_header(h, "Connection", "close");
	if (hc != NULL)
		hc->hc_pending--;
	evhttp_send_reply(req, code, reason, body);
}

static void
http_error(struct evhttp_request *req, struct hconn *hc, int code,
    const char *reason, const char *msg)
{
	struct evbuffer	*b = evbuffer_new();

	evbuffer_add_printf(b, "{\"error\":");
	json_str(b, msg);
	evbuffer_add_printf(b, "}\n");
	http_send(req, hc, code, reason, "application/json", b);
	evbuffer_free(b);
}

static void
http_answer_json(struct evbuffer *b, const struct answer *a, const char *note)
{
	char	ts[32];

	evbuffer_add_printf(b, "{\"domain\":");
	json_str(b, a->a_domain);
	evbuffer_add_printf(b, ",\"ace\":");
	json_str(b, a->a_ace);
	evbuffer_add_printf(b, ",\"status\":\"%s\"", a->a_status);
	if (a->a_reason[0] != '\0') {
		evbuffer_add_printf(b, ",\"reason\":");
		json_str(b, a->a_reason);
	}
	if (strcmp(a->a_status, "invalid") != 0) {
		fmt_iso8601(a->a_checked, ts, sizeof(ts));
		evbuffer_add_printf(b, ",\"source\":\"%s\",\"checked\":\"%s\","
		    "\"registry\":", a->a_source, ts);
		json_str(b, a->a_registry);
		evbuffer_add_printf(b, ",\"latency_ms\":%llu",
		    (unsigned long long)a->a_latency_ms);
	}
	if (a->a_retry_after > 0)
		evbuffer_add_printf(b, ",\"retry_after\":%llu",
		    (unsigned long long)a->a_retry_after);
	if (a->a_rule[0] != '\0') {
		evbuffer_add_printf(b, ",\"rule\":");
		json_str(b, a->a_rule);
	}
	if (a->a_matched[0] != '\0') {
		evbuffer_add_printf(b, ",\"matched\":");
		json_str(b, a->a_matched);
	}
	if (note != NULL) {
		evbuffer_add_printf(b, ",\"note\":");
		json_str(b, note);
	}
	evbuffer_add_printf(b, "}");
}

static void
hreq_free(struct hreq *hr)
{
	int	i;

	for (i = 0; i < hr->hr_n; i++)
		if (hr->hr_parts[i] != NULL)
			evbuffer_free(hr->hr_parts[i]);
	free(hr->hr_parts);
	free(hr->hr_lookups);
	free(hr->hr_slots);
	free(hr);
}

static void
hreq_finish(struct hreq *hr)
{
	struct evbuffer	*b = evbuffer_new();
	int		 i;

	if (hr->hr_whois) {
		evbuffer_add_buffer(b, hr->hr_parts[0]);
		http_send(hr->hr_req, hr->hr_conn, 200, "OK",
		    "text/plain; charset=utf-8", b);
	} else {
		evbuffer_add_printf(b, "{\"results\":[");
		for (i = 0; i < hr->hr_n; i++) {
			if (i > 0)
				evbuffer_add(b, ",", 1);
			evbuffer_add_buffer(b, hr->hr_parts[i]);
		}
		evbuffer_add_printf(b, "]}\n");
		http_send(hr->hr_req, hr->hr_conn, 200, "OK",
		    "application/json", b);
	}
	evbuffer_free(b);
	pool_req_end();
	hreq_free(hr);
}

static void
hreq_answered(const struct answer *a, const char *note, void *arg)
{
	struct hslot	*hs = arg;
	struct hreq	*hr = hs->hs_req;
	struct evbuffer	*b;

	hr->hr_lookups[hs->hs_i] = NULL;
	b = hr->hr_parts[hs->hs_i] = evbuffer_new();
	if (hr->hr_whois)
		whois_format(b, a, note);	/* the whois port's answer */
	else
		http_answer_json(b, a, note);
	hr->hr_done++;
	if (hr->hr_started && hr->hr_done == hr->hr_n)
		hreq_finish(hr);
}

static void
http_lookups(struct evhttp_request *req, struct hconn *hc, int whois,
    const char *query)
{
	struct evkeyvalq	 args;
	struct evkeyval		*kv;
	struct hreq		*hr;
	int			 n = 0, i = 0, max;

	max = whois ? 1 : (int)front_conf()->wc_http_max_names;
	TAILQ_INIT(&args);
	if (query == NULL || evhttp_parse_query_str(query, &args) == -1) {
		http_error(req, hc, 400, "Bad Request",
		    "expected ?domain=NAME");
		evhttp_clear_headers(&args);
		return;
	}
	TAILQ_FOREACH(kv, &args, next)
		if (strcmp(kv->key, "domain") == 0)
			n++;
	if (n == 0 || n > max) {
		char	msg[96];

		snprintf(msg, sizeof(msg), n == 0 ? "expected ?domain=NAME" :
		    "at most %d domain parameters", max);
		http_error(req, hc, 400, "Bad Request", msg);
		evhttp_clear_headers(&args);
		return;
	}
	hr = xcalloc(1, sizeof(*hr));
	hr->hr_req = req;
	hr->hr_conn = hc;
	hr->hr_whois = whois;
	hr->hr_n = n;
	hr->hr_lookups = xcalloc(n, sizeof(*hr->hr_lookups));
	hr->hr_parts = xcalloc(n, sizeof(*hr->hr_parts));
	hr->hr_slots = xcalloc(n, sizeof(*hr->hr_slots));
	pool_req_begin(query);
	TAILQ_FOREACH(kv, &args, next) {
		if (strcmp(kv->key, "domain") != 0)
			continue;
		hr->hr_slots[i].hs_req = hr;
		hr->hr_slots[i].hs_i = i;
		hr->hr_lookups[i] = lookup_start(kv->value, strlen(kv->value),
		    whois ? LOOKUP_TEXT : 0, hreq_answered, &hr->hr_slots[i]);
		i++;
	}
	evhttp_clear_headers(&args);
	hr->hr_started = 1;
	if (hr->hr_done == hr->hr_n)
		hreq_finish(hr);
}

static void
http_link_json(struct evbuffer *b, const char *name, struct client *c)
{
	struct client_stats	s;

	client_stats(c, &s);
	evbuffer_add_printf(b, "\"%s\":{\"addr\":", name);
	json_str(b, client_addr(c));
	evbuffer_add_printf(b, ",\"connected\":%s,\"requests\":%llu,"
	    "\"replies\":%llu,\"timeouts\":%llu,\"link_lost\":%llu,"
	    "\"unavailable\":%llu,\"inflight\":%zu,\"backoff_ms\":%d}",
	    s.cs_connected ? "true" : "false",
	    (unsigned long long)s.cs_requests,
	    (unsigned long long)s.cs_replies,
	    (unsigned long long)s.cs_timeouts,
	    (unsigned long long)s.cs_link_lost,
	    (unsigned long long)s.cs_unavailable, s.cs_inflight,
	    s.cs_backoff_ms);
}

static void
http_status(struct evhttp_request *req, struct hconn *hc)
{
	struct evbuffer	*b = evbuffer_new();
	char		*pool;
	size_t		 n;

	pool = xmalloc(256 * 1024);
	n = pool_status_json(pool, 256 * 1024);
	evbuffer_add_printf(b, "{\"daemon\":\"whoisd\",\"version\":\"%s\","
	    "\"protocol\":%d,\"child\":%ld,\"pool\":", WHOISD_VERSION,
	    PROTO_VERSION, (long)getpid());
	evbuffer_add(b, pool, n < 256 * 1024 ? n : 0);
	free(pool);
	evbuffer_add_printf(b, ",\"links\":{");
	http_link_json(b, "cache", front_cache());
	evbuffer_add(b, ",", 1);
	http_link_json(b, "query", front_query());
	evbuffer_add_printf(b, "}}\n");
	http_send(req, hc, 200, "OK", "application/json", b);
	evbuffer_free(b);
}

static void
http_metrics(struct evhttp_request *req, struct hconn *hc)
{
	static const char	*st[] = { "available", "registered", "reserved",
				    "invalid", "unknown" };
	static const char	*src[] = { "cache", "registry", "stale" };
	struct evbuffer		*b = evbuffer_new();
	struct client_stats	 cs, qs;
	int			 i;

	client_stats(front_cache(), &cs);
	client_stats(front_query(), &qs);
	evbuffer_add_printf(b,
	    "# HELP whoisd_requests_total Requests this child served, by port.\n"
	    "# TYPE whoisd_requests_total counter\n"
	    "whoisd_requests_total{port=\"whois\",child=\"%ld\"} %llu\n"
	    "whoisd_requests_total{port=\"http\",child=\"%ld\"} %llu\n",
	    (long)getpid(), (unsigned long long)front_stats.fs_whois_requests,
	    (long)getpid(), (unsigned long long)front_stats.fs_http_requests);
	evbuffer_add_printf(b, "# HELP whoisd_answers_total Answers by status.\n"
	    "# TYPE whoisd_answers_total counter\n");
	for (i = 0; i < 5; i++)
		evbuffer_add_printf(b, "whoisd_answers_total{status=\"%s\","
		    "child=\"%ld\"} %llu\n", st[i], (long)getpid(),
		    (unsigned long long)front_stats.fs_answers[i]);
	evbuffer_add_printf(b, "# HELP whoisd_answers_by_source_total Answers "
	    "by source.\n# TYPE whoisd_answers_by_source_total counter\n");
	for (i = 0; i < 3; i++)
		evbuffer_add_printf(b, "whoisd_answers_by_source_total{source="
		    "\"%s\",child=\"%ld\"} %llu\n", src[i], (long)getpid(),
		    (unsigned long long)front_stats.fs_source[i]);
	evbuffer_add_printf(b,
	    "# HELP whoisd_link_up Whether this child's link to a daemon is up.\n"
	    "# TYPE whoisd_link_up gauge\n"
	    "whoisd_link_up{peer=\"cache\",child=\"%ld\"} %d\n"
	    "whoisd_link_up{peer=\"query\",child=\"%ld\"} %d\n"
	    "# HELP whoisd_backend_errors_total Failed calls to a daemon.\n"
	    "# TYPE whoisd_backend_errors_total counter\n"
	    "whoisd_backend_errors_total{peer=\"cache\",child=\"%ld\"} %llu\n"
	    "whoisd_backend_errors_total{peer=\"query\",child=\"%ld\"} %llu\n"
	    "# HELP whoisd_memo_hits_total Cache hits answered from the child's memo.\n"
	    "# TYPE whoisd_memo_hits_total counter\n"
	    "whoisd_memo_hits_total{child=\"%ld\"} %llu\n"
	    "# HELP whoisd_timeouts_total Requests answered at request_timeout.\n"
	    "# TYPE whoisd_timeouts_total counter\n"
	    "whoisd_timeouts_total{child=\"%ld\"} %llu\n",
	    (long)getpid(), cs.cs_connected, (long)getpid(), qs.cs_connected,
	    (long)getpid(), (unsigned long long)front_stats.fs_cache_errors,
	    (long)getpid(), (unsigned long long)front_stats.fs_query_errors,
	    (long)getpid(), (unsigned long long)front_stats.fs_memo_hits,
	    (long)getpid(), (unsigned long long)front_stats.fs_timeouts);
	http_send(req, hc, 200, "OK", "text/plain; version=0.0.4", b);
	evbuffer_free(b);
}

static void
http_cb(struct evhttp_request *req, void *arg)
{
	const struct evhttp_uri	*uri;
	const char		*path;
	struct hconn		*hc;

	(void)arg;
	front_stats.fs_http_requests++;
	hc = http_conn(req);
	if (hc != NULL)
		hc->hc_pending++;
	uri = evhttp_request_get_evhttp_uri(req);
	path = uri != NULL ? evhttp_uri_get_path(uri) : NULL;
	if (path == NULL) {
		http_error(req, hc, 400, "Bad Request", "bad request URI");
		return;
	}
	if (strcmp(path, "/v1/check") == 0)
		http_lookups(req, hc, 0, evhttp_uri_get_query(uri));
	else if (strcmp(path, "/v1/whois") == 0)
		http_lookups(req, hc, 1, evhttp_uri_get_query(uri));
	else if (strcmp(path, "/status") == 0)
		http_status(req, hc);
	else if (strcmp(path, "/metrics") == 0)
		http_metrics(req, hc);
	else
		http_error(req, hc, 404, "Not Found",
		    "unknown path; see /v1/check?domain=NAME");
}

void
http_init(struct event_base *base)
{
	struct whoisd_conf	*wc = front_conf();
	int			 i;

	http_base = base;
	if ((http_srv = evhttp_new(base)) == NULL)
		fatalx("evhttp_new failed");
	evhttp_set_allowed_methods(http_srv, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD);
	evhttp_set_timeout(http_srv, (int)(wc->wc_http_idle_timeout + 0.5));
	evhttp_set_max_headers_size(http_srv, 16 * 1024);
	evhttp_set_max_body_size(http_srv, 64 * 1024);
	evhttp_set_gencb(http_srv, http_cb, NULL);
	for (i = 0; i < http_nls; i++) {
		http_bound[i] = evhttp_accept_socket_with_handle(http_srv,
		    http_ls[i]->l_fd);
		if (http_bound[i] == NULL)
			fatalx("evhttp cannot accept on %s", http_ls[i]->l_addr);
		pool_exclusive(http_ls[i]->l_fd);
	}
}

static void
http_grace_done(evutil_socket_t fd, short ev, void *arg)
{
	(void)fd; (void)ev; (void)arg;
	pool_conn_done();
}

/*
 * Draining: stop accepting; close keep-alive connections that wait for
 * their next request (nginx does the same); answer in-flight requests
 * with Connection: close.  A connection accepted whose request has not
 * been read yet is invisible to us until it is, so the child stays one
 * second more for those.
 */
void
http_drain(void)
{
	struct hconn	*hc, *next;
	struct timeval	 tv = { (time_t)HTTP_DRAIN_GRACE, 0 };
	int		 i;

	http_draining = 1;
	/* Hold the child open for the grace period (released by the timer). */
	(void)pool_conn_add();
	event_base_once(http_base, -1, EV_TIMEOUT, http_grace_done, NULL, &tv);
	for (i = 0; i < http_nls; i++)
		if (http_bound[i] != NULL) {
			evhttp_del_accept_socket(http_srv, http_bound[i]);
			http_bound[i] = NULL;
		}
	for (hc = LIST_FIRST(&http_conns); hc != NULL; hc = next) {
		next = LIST_NEXT(hc, hc_entry);
		if (hc->hc_pending == 0)
			evhttp_connection_free(hc->hc_evcon);
	}
}
