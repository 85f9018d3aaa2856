/*
 * rdap.c — the RDAP channel's HTTPS client: libcurl's multi interface
 * driven by the child's libevent loop (curl_multi_socket_action, with
 * curl's socket and timer callbacks mapped to events), so a slow
 * registry never blocks the child.  One multi handle per child keeps
 * the connections (keep-alive, HTTP/2 multiplexing) for the next query.
 *
 * TLS is always verified (rdap_ca_file only names the CAs); a redirect
 * is followed once and only to https; the body stops at max_body.
 */
#include <sys/queue.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>
#include <event2/event.h>

#include "common/log.h"
#include "common/util.h"
#include "daemons/query/rdap.h"

struct rdap_req {
	CURL			*rq_easy;
	rdap_done_cb		 rq_cb;
	void			*rq_arg;
	char			*rq_body;
	size_t			 rq_len;
	size_t			 rq_max;
	int			 rq_too_big;
	long			 rq_retry_after;
	struct curl_slist	*rq_hdrs;
	char			 rq_err[CURL_ERROR_SIZE];
	double			 rq_start;
	TAILQ_ENTRY(rdap_req)	 rq_entry;
};

struct rdap_sock {
	struct event	*rs_ev;
};

static struct event_base	*rd_base;
static CURLM			*rd_multi;
static struct event		*rd_timer;
static TAILQ_HEAD(, rdap_req)	 rd_reqs = TAILQ_HEAD_INITIALIZER(rd_reqs);
static unsigned long		 rd_requests, rd_connects;

static void	rdap_check_done(void);

static void
rdap_sock_event_cb(evutil_socket_t fd, short what, void *arg)
{
	int	action = 0, running;

	(void)arg;
	if (what & EV_READ)
		action |= CURL_CSELECT_IN;
	if (what & EV_WRITE)
		action |= CURL_CSELECT_OUT;
	curl_multi_socket_action(rd_multi, fd, action, &running);
	rdap_check_done();
}

static void
rdap_timer_event_cb(evutil_socket_t fd, short what, void *arg)
{
	int	running;

	(void)fd; (void)what; (void)arg;
	curl_multi_socket_action(rd_multi, CURL_SOCKET_TIMEOUT, 0, &running);
	rdap_check_done();
}

/* curl says which events a socket wants now (or that it is gone). */
static int
rdap_sock_cb(CURL *e, curl_socket_t s, int what, void *userp, void *sockp)
{
	struct rdap_sock	*rs = sockp;
	short			 kind;

	(void)e; (void)userp;
	if (what == CURL_POLL_REMOVE) {
		if (rs != NULL) {
			event_free(rs->rs_ev);
			free(rs);
			curl_multi_assign(rd_multi, s, NULL);
		}
		return 0;
	}
	kind = EV_PERSIST | ((what & CURL_POLL_IN) ? EV_READ : 0) |
	    ((what & CURL_POLL_OUT) ? EV_WRITE : 0);
	if (rs == NULL) {
		rs = xcalloc(1, sizeof(*rs));
		curl_multi_assign(rd_multi, s, rs);
	} else
		event_free(rs->rs_ev);
	rs->rs_ev = event_new(rd_base, s, kind, rdap_sock_event_cb, NULL);
	event_add(rs->rs_ev, NULL);
	return 0;
}

/* curl's one timer: never act from inside it, only schedule. */
static int
rdap_timer_cb(CURLM *m, long ms, void *userp)
{
	struct timeval	tv;

	(void)m; (void)userp;
	if (ms < 0) {
		evtimer_del(rd_timer);
		return 0;
	}
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_add(rd_timer, &tv);
	return 0;
}

static size_t
rdap_write_cb(char *ptr, size_t size, size_t n, void *arg)
{
	struct rdap_req	*rq = arg;
	size_t		 len = size * n;

	if (rq->rq_len + len > rq->rq_max) {
		rq->rq_too_big = 1;
		return 0;		/* CURLE_WRITE_ERROR ends the transfer */
	}
	rq->rq_body = xrealloc(rq->rq_body, rq->rq_len + len + 1);
	memcpy(rq->rq_body + rq->rq_len, ptr, len);
	rq->rq_len += len;
	rq->rq_body[rq->rq_len] = '\0';
	return len;
}

/* Retry-After: delta-seconds or an HTTP-date; the last reply's counts. */
static size_t
rdap_header_cb(char *ptr, size_t size, size_t n, void *arg)
{
	struct rdap_req	*rq = arg;
	size_t		 len = size * n;
	char		 v[64], *end;
	struct tm	 tm;
	long		 secs;
	size_t		 k;

	if (len >= 5 && strncmp(ptr, "HTTP/", 5) == 0) {
		rq->rq_retry_after = -1;
		return len;
	}
	if (len < 12 || strncasecmp(ptr, "retry-after:", 12) != 0)
		return len;
	for (k = 12; k < len && (ptr[k] == ' ' || ptr[k] == '\t'); k++)
		;
	if (len - k >= sizeof(v))
		return len;
	memcpy(v, ptr + k, len - k);
	v[len - k] = '\0';
	v[strcspn(v, "\r\n")] = '\0';
	if (isdigit((unsigned char)v[0])) {
		secs = strtol(v, &end, 10);
		if (*end == '\0' && secs >= 0)
			rq->rq_retry_after = secs;
		return len;
	}
	memset(&tm, 0, sizeof(tm));
	if (strptime(v, "%a, %d %b %Y %H:%M:%S GMT", &tm) != NULL) {
		secs = (long)(timegm(&tm) - time(NULL));
		rq->rq_retry_after = secs > 0 ? secs : 0;
	}
	return len;
}

static void
rdap_req_free(struct rdap_req *rq)
{
	TAILQ_REMOVE(&rd_reqs, rq, rq_entry);
	curl_multi_remove_handle(rd_multi, rq->rq_easy);
	curl_easy_cleanup(rq->rq_easy);
	curl_slist_free_all(rq->rq_hdrs);
	free(rq->rq_body);
	free(rq);
}

static int
rdap_transport(struct rdap_req *rq, CURLcode rc)
{
	switch (rc) {
	case CURLE_OK:
		return RDT_OK;
	case CURLE_OPERATION_TIMEDOUT:
		return RDT_TIMEOUT;
	case CURLE_WRITE_ERROR:
	case CURLE_FILESIZE_EXCEEDED:
		return rq->rq_too_big || rc == CURLE_FILESIZE_EXCEEDED ?
		    RDT_TOO_BIG : RDT_OTHER;
	case CURLE_TOO_MANY_REDIRECTS:
	case CURLE_UNSUPPORTED_PROTOCOL:
		return RDT_REDIRECT;
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_SSL_INVALIDCERTSTATUS:
		return RDT_TLS;
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_CONNECT:
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
		return RDT_CONNECT;
	default:
		return RDT_OTHER;
	}
}

static void
rdap_finish(struct rdap_req *rq, CURLcode rc)
{
	struct rdap_reply	 r;
	char			*ct = NULL;
	long			 code = 0, conns = 0, redirs = 0;

	curl_easy_getinfo(rq->rq_easy, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_getinfo(rq->rq_easy, CURLINFO_CONTENT_TYPE, &ct);
	curl_easy_getinfo(rq->rq_easy, CURLINFO_NUM_CONNECTS, &conns);
	curl_easy_getinfo(rq->rq_easy, CURLINFO_REDIRECT_COUNT, &redirs);
	rd_connects += (unsigned long)conns;
	memset(&r, 0, sizeof(r));
	r.rr_transport = rdap_transport(rq, rc);
	r.rr_code = code;
	r.rr_ctype = ct;
	r.rr_body = rq->rq_body != NULL ? rq->rq_body : "";
	r.rr_len = rq->rq_len;
	r.rr_retry_after = rq->rq_retry_after;
	r.rr_redirects = (int)redirs;
	r.rr_msg = rq->rq_err[0] != '\0' ? rq->rq_err : curl_easy_strerror(rc);
	r.rr_ms = (now_mono() - rq->rq_start) * 1000.0;
	rq->rq_cb(rq, &r, rq->rq_arg);
	rdap_req_free(rq);
}

static void
rdap_check_done(void)
{
	CURLMsg		*m;
	struct rdap_req	*rq;
	int		 left;

	while ((m = curl_multi_info_read(rd_multi, &left)) != NULL) {
		if (m->msg != CURLMSG_DONE)
			continue;
		rq = NULL;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, &rq);
		if (rq != NULL)
			rdap_finish(rq, m->data.result);
	}
}

int
rdap_init(struct event_base *base)
{
	if (rd_multi != NULL)
		return 0;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		log_warnx("%s: curl_global_init failed", __func__);
		return -1;
	}
	rd_base = base;
	if ((rd_multi = curl_multi_init()) == NULL) {
		log_warnx("%s: curl_multi_init failed", __func__);
		return -1;
	}
	rd_timer = evtimer_new(base, rdap_timer_event_cb, NULL);
	curl_multi_setopt(rd_multi, CURLMOPT_SOCKETFUNCTION, rdap_sock_cb);
	curl_multi_setopt(rd_multi, CURLMOPT_TIMERFUNCTION, rdap_timer_cb);
	/*
	 * At most 16 connections to one registry (more transfers queue in
	 * curl and reuse them), and enough kept warm for a few registries:
	 * a burst then costs no new handshakes.
	 */
	curl_multi_setopt(rd_multi, CURLMOPT_MAX_HOST_CONNECTIONS, 16L);
	curl_multi_setopt(rd_multi, CURLMOPT_MAXCONNECTS, 64L);
	curl_multi_setopt(rd_multi, CURLMOPT_PIPELINING, CURLPIPE_MULTIPLEX);
	return 0;
}

void
rdap_fini(void)
{
	struct rdap_req	*rq;

	if (rd_multi == NULL)
		return;
	while ((rq = TAILQ_FIRST(&rd_reqs)) != NULL)
		rdap_req_free(rq);
	curl_multi_cleanup(rd_multi);
	rd_multi = NULL;
	event_free(rd_timer);
	rd_timer = NULL;
	curl_global_cleanup();
}

/* The override keeps the URL's path and changes its scheme, host and port. */
static int
rdap_override_url(const char *url, const char *override, char *buf,
    size_t len)
{
	const char	*path;
	size_t		 ol = strlen(override);
	int		 n;

	if (strncasecmp(url, "https://", 8) != 0 ||
	    (path = strchr(url + 8, '/')) == NULL)
		return -1;
	if (ol > 0 && override[ol - 1] == '/')
		ol--;
	n = snprintf(buf, len, "%.*s%s", (int)ol, override, path);
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

struct rdap_req *
rdap_get(const struct rdap_args *a, rdap_done_cb cb, void *arg)
{
	struct rdap_req	*rq;
	char		 url[RDAP_URL_MAX + 128];
	CURLMcode	 mc;

	if (rd_multi == NULL)
		return NULL;
	if (a->ra_override != NULL) {
		if (rdap_override_url(a->ra_url, a->ra_override, url,
		    sizeof(url)) == -1) {
			log_warnx("%s: cannot override %s", __func__,
			    a->ra_url);
			return NULL;
		}
	} else
		snprintf(url, sizeof(url), "%s", a->ra_url);
	rq = xcalloc(1, sizeof(*rq));
	if ((rq->rq_easy = curl_easy_init()) == NULL) {
		free(rq);
		return NULL;
	}
	rq->rq_cb = cb;
	rq->rq_arg = arg;
	rq->rq_max = a->ra_max_body;
	rq->rq_retry_after = -1;
	rq->rq_start = now_mono();
	rq->rq_hdrs = curl_slist_append(NULL,
	    "Accept: application/rdap+json, application/json;q=0.9");
	curl_easy_setopt(rq->rq_easy, CURLOPT_URL, url);
	curl_easy_setopt(rq->rq_easy, CURLOPT_PRIVATE, rq);
	curl_easy_setopt(rq->rq_easy, CURLOPT_HTTPHEADER, rq->rq_hdrs);
	curl_easy_setopt(rq->rq_easy, CURLOPT_USERAGENT,
	    "whoisd/" WHOISD_VERSION);
	curl_easy_setopt(rq->rq_easy, CURLOPT_ERRORBUFFER, rq->rq_err);
	curl_easy_setopt(rq->rq_easy, CURLOPT_WRITEFUNCTION, rdap_write_cb);
	curl_easy_setopt(rq->rq_easy, CURLOPT_WRITEDATA, rq);
	curl_easy_setopt(rq->rq_easy, CURLOPT_HEADERFUNCTION, rdap_header_cb);
	curl_easy_setopt(rq->rq_easy, CURLOPT_HEADERDATA, rq);
	curl_easy_setopt(rq->rq_easy, CURLOPT_NOSIGNAL, 1L);
	/* https only, first and after a redirect; one redirect at most. */
	curl_easy_setopt(rq->rq_easy, CURLOPT_PROTOCOLS_STR, "https");
	curl_easy_setopt(rq->rq_easy, CURLOPT_REDIR_PROTOCOLS_STR, "https");
	curl_easy_setopt(rq->rq_easy, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(rq->rq_easy, CURLOPT_MAXREDIRS, 1L);
	curl_easy_setopt(rq->rq_easy, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(rq->rq_easy, CURLOPT_SSL_VERIFYHOST, 2L);
	if (a->ra_ca_file != NULL && *a->ra_ca_file != '\0')
		curl_easy_setopt(rq->rq_easy, CURLOPT_CAINFO, a->ra_ca_file);
	curl_easy_setopt(rq->rq_easy, CURLOPT_TIMEOUT_MS,
	    (long)(a->ra_timeout * 1000));
	curl_easy_setopt(rq->rq_easy, CURLOPT_CONNECTTIMEOUT_MS,
	    (long)(a->ra_connect_timeout * 1000));
	curl_easy_setopt(rq->rq_easy, CURLOPT_MAXFILESIZE_LARGE,
	    (curl_off_t)a->ra_max_body);
	curl_easy_setopt(rq->rq_easy, CURLOPT_ACCEPT_ENCODING, "");
	curl_easy_setopt(rq->rq_easy, CURLOPT_TCP_KEEPALIVE, 1L);
	TAILQ_INSERT_TAIL(&rd_reqs, rq, rq_entry);
	if ((mc = curl_multi_add_handle(rd_multi, rq->rq_easy)) != CURLM_OK) {
		log_warnx("%s: %s", __func__, curl_multi_strerror(mc));
		rdap_req_free(rq);
		return NULL;
	}
	rd_requests++;
	return rq;
}

void
rdap_cancel(struct rdap_req *rq)
{
	if (rq != NULL)
		rdap_req_free(rq);
}

void
rdap_counts(unsigned long *requests, unsigned long *connects)
{
	*requests = rd_requests;
	*connects = rd_connects;
}
