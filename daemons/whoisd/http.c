/*
 * http.c — the HTTP/JSON API: a small HTTP/1.1 keep-alive server of our
 * own on the pool's accept path.
 *
 *	GET /v1/check?domain=a.com&domain=b.net	verdicts, JSON (<= http_max_names)
 *	POST /v1/check {"domains":[...]}	the same for a JSON body; with
 *						Accept: application/x-ndjson a
 *						line per name as it is known
 *	GET /v1/whois?domain=a.com		the whois answer and registry text
 *	GET /status				pool, links, registries, JSON
 *	GET /, /status.html, ...		the web page (static.c)
 *	GET /metrics				Prometheus text
 *	GET /healthz, GET /readyz		liveness, readiness (health.c)
 *
 * Why not evhttp: it costs four epoll_ctl() calls, a readv, a writev and
 * an ioctl per keep-alive request plus malloc'd header lists and request
 * objects (docs/performance.md has the comparison).  This server
 * reads with one read(), parses the request in place, answers memo hits
 * at once and writes with one writev(); a connection's read event is
 * added once, when it is accepted.
 *
 * Only what the API needs: GET and HEAD, and POST of /v1/check (anything
 * else: 405); only that POST has a body (Content-Length or chunked, up
 * to http_max_body; any other request with one is answered and the
 * connection closed); answers framed by Content-Length, or chunked for a
 * streamed NDJSON answer; pipelining (requests are answered in order,
 * one at a time: the next is parsed when the current one is answered,
 * streamed or not).  The parsing itself, on plain bytes, is http_parse.c.
 *
 * A connection is one of:
 *	HC_READING	waiting for (the rest of) a request head
 *	HC_BODY		reading a POST's body (head and body within
 *			http_idle_timeout of the head's first byte)
 *	HC_BUSY		a request's lookups are under way
 * plus hc_eof (the client sent EOF: answer what it asked, then close) and
 * hc_closing (close once the queued output is written).
 */
#include <sys/ioctl.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <zlib.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "common/linger.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/name.h"
#include "common/pool.h"
#include "common/util.h"
#include "daemons/whoisd/access_log.h"
#include "daemons/whoisd/http_parse.h"
#include "daemons/whoisd/whoisd.h"
#include "proto/client.h"

#include "docs/openapi_json.h"	/* openapi_json[], from the Makefile */

#define HTTP_READ_CHUNK		4096
#define HTTP_MIN_HEAD_MAX	(64 * 1024)	/* request head limit, at least */
#define HTTP_OUT_HIGH		(256 * 1024)	/* stop parsing above this */
/*
 * A request that would start lookups waits while the child has this many
 * under way.  A lookup is not an answer yet, so http_max_unsent does not
 * see it: without this, a cold child's pipelining clients could hold a
 * lookup for every name of every connection's request at once.
 */
#define HTTP_MAX_LOOKUPS	16384
#define HTTP_LOOKUPS_ROOM	(HTTP_MAX_LOOKUPS / 2)	/* resume at */
#define HTTP_COPY_MAX		4096	/* smaller bodies are copied */
#define HTTP_STREAMED		((size_t)-1)	/* no Content-Length */
/* Problem types: URNs, stable names for the codes docs/api.md lists. */
#define HTTP_PROBLEM_BASE	"urn:whoisd:problem:"
#define HTTP_ORIGIN_MAX		256

enum hc_state {
	HC_READING,		/* waiting for a request head */
	HC_BODY,		/* reading a POST's body */
	HC_BUSY			/* a request's lookups are under way */
};

struct hreq;

/* What a check asks beside its names (query parameters, a POST's body). */
struct hopts {
	int	ho_flags;	/* LOOKUP_FRESH */
	double	ho_max_age;	/* seconds, or -1 */
	double	ho_wait;	/* seconds, or -1 */
	int	ho_ndjson;	/* stream a line per name */
};

/* A POST /v1/check body being read. */
struct hbody {
	char			*hb_buf;
	size_t			 hb_len, hb_cap, hb_max;
	long long		 hb_left;	/* Content-Length still to come */
	int			 hb_chunked;
	struct http_chunked	 hb_ck;
	int			 hb_ndjson;	/* Accept: application/x-ndjson */
	struct hopts		 hb_opts;	/* from the query */
};

struct hconn {
	int			 hc_fd;
	enum hc_state		 hc_state;
	int			 hc_closing;	/* close once the output is out */
	int			 hc_eof;	/* the client will send nothing more */
	int			 hc_abort;	/* shed: close with a reset */
	int			 hc_error;	/* answered a request with an error */
	int			 hc_keepalive;	/* of the request being answered */
	int			 hc_head;	/* ... which is a HEAD */
	int			 hc_http10;	/* ... which is HTTP/1.0 */
	int			 hc_gzip_ok;	/* ... whose client takes gzip */
	int			 hc_gz;		/* the response being queued: gzip */
	int			 hc_vary_ae;	/* ... depends on Accept-Encoding */
	long long		 hc_maxage;	/* ... may be reused (s), or -1 */
	char			 hc_origin[HTTP_ORIGIN_MAX]; /* allowed, or "" */
	struct event		*hc_rev;	/* EV_READ|EV_PERSIST */
	struct event		*hc_wev;	/* EV_WRITE, while output waits */
	struct event		*hc_timer;	/* idle or head deadline */
	double			 hc_idle_since;	/* monotonic: last answer queued */
	double			 hc_head_start;	/* monotonic: first byte of a head */
	double			 hc_req_start;	/* ... of the one being read */
	struct hbody		*hc_body;	/* HC_BODY */
	int			 hc_rev_on;
	int			 hc_wev_on;
	char			*hc_in;		/* input: [hc_off, hc_len) unread */
	size_t			 hc_off, hc_len, hc_cap;
	struct evbuffer		*hc_out;
	struct hreq		*hc_req;	/* HC_BUSY */
	int			 hc_cl;		/* limits.c entry, or -1 */
	struct unsent		 hc_us;		/* hc_out not yet written */
	struct alog_rec		 hc_alog;	/* the request's access log line */
	LIST_ENTRY(hconn)	 hc_entry;
	int			 hc_parked;	/* on http_parked */
	TAILQ_ENTRY(hconn)	 hc_pentry;
};

/*
 * One /v1/check or /v1/whois request and its lookups.  A streamed one
 * (NDJSON) sends each answer as it comes instead of keeping its part.
 */
struct hreq {
	struct hconn		*hr_conn;
	int			 hr_whois;	/* /v1/whois: text answer */
	int			 hr_n;
	int			 hr_done;
	int			 hr_started;	/* all lookups started */
	int			 hr_stream;	/* 0, HR_CHUNKED or HR_UNTIL_CLOSE */
	int			 hr_nostore;	/* an answer nobody should reuse */
	double			 hr_trust;	/* wall clock: the first expiry */
	double			 hr_start;	/* monotonic */
	struct evbuffer		*hr_pend;	/* streamed lines not yet sent */
	struct event		*hr_wait;	/* the POST's wait bound */
	struct http_names	 hr_names;	/* a POST's names */
	struct lookup		**hr_lookups;
	struct evbuffer		**hr_parts;	/* one answer per name */
	/*
	 * A JSON answer: {"results":[ and the parts answered in order so
	 * far (hr_next of them); a part that comes early waits in hr_parts.
	 * Memo hits, answered as the lookups start, go straight in.
	 */
	struct evbuffer		*hr_body;
	int			 hr_next;
	struct hslot		*hr_slots;
};

#define HR_CHUNKED	1	/* HTTP/1.1: chunked transfer coding */
#define HR_UNTIL_CLOSE	2	/* HTTP/1.0: the close ends the answer */

struct hslot {
	struct hreq	*hs_req;
	int		 hs_i;
	char		*hs_name;	/* decoded, in the connection's input */
	size_t		 hs_len;	/* (it may hold NUL bytes) */
	int		 hs_later;	/* unknown, for the registry's budget */
	uint64_t	 hs_retry;	/* its retry_after */
};

static struct event_base	*http_base;
static struct timeval		 http_idle_tv;
static double			 http_idle_s;
/*
 * The monotonic clock, read once at each way into this file (an event,
 * an accept, a lookup's answer): a request needs the time four times,
 * and once is enough.
 */
static double			 http_now;
static size_t			 http_head_max;
static size_t			 http_body_max;
static int			 http_draining;
static LIST_HEAD(, hconn)	 http_conns = LIST_HEAD_INITIALIZER(http_conns);
/* Connections whose next request waits for HTTP_LOOKUPS_ROOM, in order. */
static TAILQ_HEAD(, hconn)	 http_parked =
				    TAILQ_HEAD_INITIALIZER(http_parked);
static size_t			 http_nparked;
static int			 http_resuming;	/* in http_resume_cb */
static struct event		*http_resume_ev;

static void	http_process(struct hconn *);
static void	http_flush(struct hconn *);
static void	http_problem(struct hconn *, int, const char *, const char *,
		    const char *);
static void	http_arm_timer(struct hconn *);

/* ---------------------------------------------------------- connections */

/* A request is over (answered, or its client gone): stop what is still
 * under way and free it. */
static void
hreq_free(struct hreq *hr)
{
	int	i;

	for (i = 0; i < hr->hr_n; i++) {
		if (hr->hr_lookups[i] != NULL)
			lookup_cancel(hr->hr_lookups[i]);
		if (hr->hr_parts[i] != NULL)
			evbuffer_free(hr->hr_parts[i]);
	}
	if (hr->hr_pend != NULL)
		evbuffer_free(hr->hr_pend);
	if (hr->hr_body != NULL)
		evbuffer_free(hr->hr_body);
	if (hr->hr_wait != NULL)
		event_free(hr->hr_wait);
	http_names_free(&hr->hr_names);
	free(hr);		/* one block with its arrays */
	pool_req_end();
}

static void
hbody_free(struct hconn *hc)
{
	if (hc->hc_body == NULL)
		return;
	free(hc->hc_body->hb_buf);
	free(hc->hc_body);
	hc->hc_body = NULL;
}

static void
http_close(struct hconn *hc)
{
	struct hreq	*hr = hc->hc_req;
	size_t		 unread = hc->hc_len - hc->hc_off;
	int		 pending = 0;

	if (hr != NULL)
		hreq_free(hr);	/* the client went away mid-request */
	hbody_free(hc);
	unsent_update(&hc->hc_us, 0);
	limits_conn_close(hc->hc_cl);
	LIST_REMOVE(hc, hc_entry);
	if (hc->hc_parked) {
		TAILQ_REMOVE(&http_parked, hc, hc_pentry);
		http_nparked--;
	}
	event_free(hc->hc_rev);
	event_free(hc->hc_wev);
	event_free(hc->hc_timer);
	evbuffer_free(hc->hc_out);
	free(hc->hc_in);
	/*
	 * Input we did not read (a body we refused, an oversized head, a
	 * request pipelined after a close) would turn close() into a RST
	 * that destroys our answer in the client's buffer: after an error
	 * always, else when input is waiting, close half-way and let the
	 * rest drain.  A client that sent EOF has nothing more to send.
	 */
	if (hc->hc_abort)
		limits_abort_close(hc->hc_fd);
	else if (!hc->hc_eof && (unread > 0 || hc->hc_error ||
	    ioctl(hc->hc_fd, FIONREAD, &pending) == -1 || pending > 0))
		pool_conn_linger(hc->hc_fd, 2.0);
	else {
		close(hc->hc_fd);
		pool_conn_done();
	}
	free(hc);
}

/*
 * The connection's one timer.  Waiting between requests, it fires
 * http_idle_timeout after the last answer; with part of a request head
 * in, http_idle_timeout after the head's first byte, however slowly the
 * rest trickles in (a slowloris client does not hold a connection
 * longer).  Busy with a request: none (the lookups have their deadline);
 * an answer waiting to be written: the write event's own timeout.
 */
static void
http_arm_timer(struct hconn *hc)
{
	struct timeval	tv;
	double		left;

	if (hc->hc_state == HC_BODY) {
		/* However slowly the body trickles in. */
		left = hc->hc_req_start + http_idle_s - http_now;
		tv_from_seconds(&tv, left < 0.001 ? 0.001 : left);
		event_add(hc->hc_timer, &tv);
		return;
	}
	if (hc->hc_state != HC_READING || hc->hc_parked ||
	    evbuffer_get_length(hc->hc_out) > 0 || hc->hc_closing) {
		event_del(hc->hc_timer);
		return;
	}
	left = (hc->hc_len > hc->hc_off ? hc->hc_head_start :
	    hc->hc_idle_since) + http_idle_s - http_now;
	if (left < 0.001)
		left = 0.001;
	tv_from_seconds(&tv, left);
	event_add(hc->hc_timer, &tv);
}

static void
http_timer_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct hconn	*hc = arg;

	(void)fd; (void)ev;
	http_now = now_mono();
	if (hc->hc_state == HC_BODY) {
		if (http_now - hc->hc_req_start < http_idle_s) {
			http_arm_timer(hc);
			return;
		}
		/* A head, then not all of its body in time. */
		hbody_free(hc);
		hc->hc_state = HC_READING;
		hc->hc_keepalive = 0;
		hc->hc_off = hc->hc_len;
		http_problem(hc, 408, "request-timeout",
		    "no complete request body within http_idle_timeout", NULL);
		http_flush(hc);
		return;
	}
	if (hc->hc_state != HC_READING || evbuffer_get_length(hc->hc_out) > 0)
		return;
	if (hc->hc_len > hc->hc_off) {
		if (http_now - hc->hc_head_start < http_idle_s) {
			http_arm_timer(hc);	/* a newer head */
			return;
		}
		/* Part of a request, then not the rest in time. */
		hc->hc_keepalive = 0;
		hc->hc_head = 0;
		hc->hc_off = hc->hc_len;
		http_problem(hc, 408, "request-timeout",
		    "no complete request within http_idle_timeout", NULL);
		http_flush(hc);
		return;
	}
	if (http_now - hc->hc_idle_since < http_idle_s) {
		http_arm_timer(hc);
		return;
	}
	http_close(hc);
}

/*
 * No more answers for this connection now: its output is above
 * HTTP_OUT_HIGH, or the child is over http_max_unsent and the client has
 * not taken its last answer yet (its write event resumes it).
 */
static int
http_out_full(struct hconn *hc)
{
	size_t	len = evbuffer_get_length(hc->hc_out);

	return len >= HTTP_OUT_HIGH || (len > 0 && unsent_over());
}

/*
 * Read only while there is a use for it: not once the connection is
 * closing or the client sent EOF, not while the input buffer is full of
 * pipelined requests (grown only for a head that does not fit, never
 * while a request is under way), not while the output is full (a
 * client that pipelines without reading its answers gets no more of our
 * memory).  The read event is level-triggered: left on with nothing read,
 * it would spin.
 */
static void
http_want_read(struct hconn *hc)
{
	int	room = hc->hc_len < hc->hc_cap || hc->hc_off > 0 ||
		    (hc->hc_cap < http_head_max && hc->hc_state == HC_READING);
	int	on = !hc->hc_closing && !hc->hc_eof && room &&
		    !hc->hc_parked && !http_out_full(hc);

	if (on && !hc->hc_rev_on)
		event_add(hc->hc_rev, NULL);
	else if (!on && hc->hc_rev_on)
		event_del(hc->hc_rev);
	hc->hc_rev_on = on;
	http_arm_timer(hc);
}

/* Read what the socket has.  0 ok (maybe nothing), -1 EOF or error. */
static int
http_read(struct hconn *hc)
{
	ssize_t	n;

	if (hc->hc_off > 0 && hc->hc_off == hc->hc_len)
		hc->hc_off = hc->hc_len = 0;
	if (hc->hc_len == hc->hc_cap) {
		if (hc->hc_off > 0) {
			memmove(hc->hc_in, hc->hc_in + hc->hc_off,
			    hc->hc_len - hc->hc_off);
			hc->hc_len -= hc->hc_off;
			hc->hc_off = 0;
		} else if (hc->hc_cap < http_head_max) {
			hc->hc_cap = hc->hc_cap * 2 < http_head_max ?
			    hc->hc_cap * 2 : http_head_max;
			hc->hc_in = xrealloc(hc->hc_in, hc->hc_cap + 1);
		} else
			return 0;	/* full: the parser says 431 */
	}
	n = read(hc->hc_fd, hc->hc_in + hc->hc_len, hc->hc_cap - hc->hc_len);
	if (n > 0) {
		if (hc->hc_len == hc->hc_off)
			hc->hc_head_start = http_now;	/* a new head */
		hc->hc_len += (size_t)n;
		return 0;
	}
	if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK ||
	    errno == EINTR))
		return 0;
	return -1;
}

static void
http_read_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct hconn	*hc = arg;

	(void)fd; (void)ev;
	http_now = now_mono();
	if (http_read(hc) == -1) {
		/* EOF or reset.  A client that half-closes after sending its
		 * requests still gets the answers, then the close. */
		hc->hc_eof = 1;
		http_want_read(hc);
		if (hc->hc_state == HC_READING &&
		    evbuffer_get_length(hc->hc_out) == 0 &&
		    http_head_end(hc->hc_in + hc->hc_off,
		    hc->hc_len - hc->hc_off) == 0) {
			http_close(hc);
			return;
		}
	}
	http_process(hc);
	if (hc->hc_eof && hc->hc_state == HC_BODY) {
		http_close(hc);		/* a body that cannot end now */
		return;
	}
	http_flush(hc);
	if (unsent_over())
		unsent_shed();
}

static void
http_write_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct hconn	*hc = arg;

	(void)fd;
	http_now = now_mono();
	hc->hc_wev_on = 0;
	if (ev & EV_TIMEOUT) {
		/* The client stopped reading its answers. */
		http_close(hc);
		return;
	}
	http_flush(hc);
}

/*
 * Write what is queued.  Closes the connection when it is closing (or
 * the client sent EOF and nothing of its is left to answer) once
 * everything is out, or when the write fails; parses the next pipelined
 * request once the output has room again.
 */
static void
http_flush(struct hconn *hc)
{
	struct evbuffer	*out = hc->hc_out;
	int		 n = 0;

	while (evbuffer_get_length(out) > 0)
		if ((n = evbuffer_write(out, hc->hc_fd)) <= 0)
			break;
	unsent_update(&hc->hc_us, evbuffer_get_length(out));
	if (evbuffer_get_length(out) > 0) {
		if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK &&
		    errno != EINTR)) {
			http_close(hc);
			return;
		}
		if (!hc->hc_wev_on) {
			event_add(hc->hc_wev, &http_idle_tv);
			hc->hc_wev_on = 1;
		}
	} else if (hc->hc_state == HC_READING && hc->hc_len > hc->hc_off &&
	    !hc->hc_closing) {
		/* Pipelined requests held back by a full output buffer. */
		http_process(hc);
		if (evbuffer_get_length(out) > 0) {
			http_flush(hc);
			return;
		}
	}
	if (evbuffer_get_length(out) == 0 && hc->hc_state == HC_READING &&
	    !hc->hc_parked && (hc->hc_closing || hc->hc_eof ||
	    (http_draining && hc->hc_len == hc->hc_off))) {
		http_close(hc);
		return;
	}
	http_want_read(hc);
}

/* Over http_max_unsent, this connection is among those with the most
 * waiting. */
static void
http_shed(struct unsent *u)
{
	struct hconn	*hc = (struct hconn *)(void *)((char *)u -
			    offsetof(struct hconn, hc_us));

	http_now = now_mono();
	hc->hc_abort = 1;
	http_close(hc);
}

void
http_accept(int fd, int ref)
{
	struct hconn	*hc;

	http_now = now_mono();
	hc = xcalloc(1, sizeof(*hc));
	hc->hc_fd = fd;
	hc->hc_cl = ref;
	hc->hc_us.us_shed = http_shed;
	hc->hc_state = HC_READING;
	hc->hc_keepalive = 1;
	hc->hc_maxage = -1;
	hc->hc_cap = HTTP_READ_CHUNK;
	hc->hc_in = xmalloc(hc->hc_cap + 1);
	hc->hc_out = evbuffer_new();
	hc->hc_rev = event_new(http_base, fd, EV_READ | EV_PERSIST,
	    http_read_cb, hc);
	hc->hc_wev = event_new(http_base, fd, EV_WRITE, http_write_cb, hc);
	hc->hc_timer = evtimer_new(http_base, http_timer_cb, hc);
	hc->hc_idle_since = hc->hc_head_start = http_now;
	if (hc->hc_out == NULL || hc->hc_rev == NULL || hc->hc_wev == NULL ||
	    hc->hc_timer == NULL)
		fatalx("out of memory for an HTTP connection");
	LIST_INSERT_HEAD(&http_conns, hc, hc_entry);
	/*
	 * The first request usually arrived with the connection: read it
	 * now and a memo hit is answered before the next epoll_wait().
	 */
	if (http_read(hc) == -1) {
		http_close(hc);
		return;
	}
	http_process(hc);
	http_flush(hc);		/* and start reading */
}

/* ------------------------------------------------------------ responses */

/* The reason phrase of the statuses we answer with. */
static const char *
http_reason(int code)
{
	switch (code) {
	case 200: return "OK";
	case 204: return "No Content";
	case 400: return "Bad Request";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 413: return "Content Too Large";
	case 415: return "Unsupported Media Type";
	case 429: return "Too Many Requests";
	case 431: return "Request Header Fields Too Large";
	case 501: return "Not Implemented";
	case 505: return "HTTP Version Not Supported";
	default: return "Error";
	}
}

/*
 * "Date: <IMF-fixdate>\r\n", formatted again only when the second
 * changes: every response carries it (RFC 9110 6.6.1).
 */
static const char *
http_date(void)
{
	static char	 buf[48];
	static time_t	 at = -1;
	time_t		 t = time(NULL);
	struct tm	 tm;

	if (t != at) {
		gmtime_r(&t, &tm);
		strftime(buf, sizeof(buf),
		    "Date: %a, %d %b %Y %H:%M:%S GMT\r\n", &tm);
		at = t;
	}
	return buf;
}

/*
 * Queue a response's status line and headers, for a body of `len` bytes
 * that the caller adds to hc_out next, unless hc_head (a HEAD request);
 * HTTP_STREAMED: a body sent as it comes, chunked (HTTP/1.1) or ended by
 * the close (HTTP/1.0).  `extra` is more header lines or NULL.  What
 * the request set for its response (hc_maxage, hc_gz, hc_vary_ae) is
 * used up here; ctype NULL: no body at all (204).
 */
static void
http_respond_head(struct hconn *hc, int code, const char *reason,
    const char *ctype, size_t len, const char *extra)
{
	struct evbuffer	*out = hc->hc_out;
	const char	*cors = front_conf()->wc_http_cors_origins;

	if (http_draining)
		hc->hc_keepalive = 0;
	if (code >= 400)
		hc->hc_error = 1;
	hc->hc_idle_since = http_now;
	hc->hc_alog.ar_code = code;
	if (len != HTTP_STREAMED) {
		hc->hc_alog.ar_bytes = hc->hc_head ? 0 : len;
		alog_end(&hc->hc_alog, hc->hc_fd, 1, http_now);
	}
	out_str(out, "HTTP/1.1 ");
	out_u64(out, (uint64_t)code);
	out_str(out, " ");
	out_str(out, reason);
	out_str(out, "\r\n");
	out_str(out, http_date());
	if (ctype != NULL) {
		out_str(out, "Content-Type: ");
		out_str(out, ctype);
		if (len != HTTP_STREAMED) {
			out_str(out, "\r\nContent-Length: ");
			out_u64(out, len);
		} else if (!hc->hc_http10)
			out_str(out, "\r\nTransfer-Encoding: chunked");
		else
			hc->hc_keepalive = 0;	/* HTTP/1.0: the close ends */
		out_str(out, "\r\n");
	}
	if (hc->hc_gz)
		out_str(out, "Content-Encoding: gzip\r\n");
	/* The page's files say how they may be kept (static.c). */
	if (extra != NULL && strncmp(extra, "Cache-Control:", 14) == 0)
		;
	else if (hc->hc_maxage >= 0) {
		out_str(out, "Cache-Control: max-age=");
		out_u64(out, (uint64_t)hc->hc_maxage);
		out_str(out, "\r\n");
	} else
		out_str(out, "Cache-Control: no-store\r\n");
	/* Caches keep one copy per Origin and per coding. */
	if (cors[0] != '\0' && hc->hc_vary_ae)
		out_str(out, "Vary: Origin, Accept-Encoding\r\n");
	else if (cors[0] != '\0')
		out_str(out, "Vary: Origin\r\n");
	else if (hc->hc_vary_ae)
		out_str(out, "Vary: Accept-Encoding\r\n");
	if (hc->hc_origin[0] != '\0') {
		out_str(out, "Access-Control-Allow-Origin: ");
		out_str(out, hc->hc_origin);
		out_str(out, "\r\nAccess-Control-Expose-Headers: Retry-After, "
		    "Date, Content-Encoding\r\n");
	}
	if (!hc->hc_keepalive)
		out_str(out, "Connection: close\r\n");
	else if (hc->hc_http10)
		out_str(out, "Connection: keep-alive\r\n");
	if (extra != NULL)
		out_str(out, extra);
	out_str(out, "\r\n");
	hc->hc_maxage = -1;
	hc->hc_gz = 0;
	hc->hc_vary_ae = 0;
	if (!hc->hc_keepalive)
		hc->hc_closing = 1;	/* http_flush() stops reading */
}

/*
 * Append all of `b` to the output (it is left empty).  A small body is
 * copied rather than its chain moved: a queue of small answers then
 * costs about its bytes, not a mostly empty chain each, which is what
 * http_max_unsent counts.
 */
static void
http_out_add(struct hconn *hc, struct evbuffer *b)
{
	size_t	len = evbuffer_get_length(b);

	if (len > HTTP_COPY_MAX) {
		evbuffer_add_buffer(hc->hc_out, b);
		return;
	}
	evbuffer_add(hc->hc_out, evbuffer_pullup(b, -1), len);
	evbuffer_drain(b, len);
}

/*
 * Replace `b` with its gzip form (level 1: a bulk answer is mostly
 * repeated keys, and the fastest level already takes 80% off).  -1 and
 * `b` untouched if zlib fails.
 */
static int
http_gzip(struct evbuffer *b)
{
	z_stream		 z;
	struct evbuffer_iovec	 v;
	struct evbuffer		*out;
	size_t			 len = evbuffer_get_length(b);
	int			 r;

	memset(&z, 0, sizeof(z));
	/* 15 + 16: a gzip wrapper, not zlib's. */
	if (deflateInit2(&z, 1, Z_DEFLATED, 15 + 16, 8,
	    Z_DEFAULT_STRATEGY) != Z_OK)
		return -1;
	if ((out = evbuffer_new()) == NULL) {
		deflateEnd(&z);
		return -1;
	}
	z.next_in = evbuffer_pullup(b, -1);
	z.avail_in = (uInt)len;
	do {
		if (evbuffer_reserve_space(out, deflateBound(&z, len) + 64, &v,
		    1) != 1)
			break;
		z.next_out = v.iov_base;
		z.avail_out = (uInt)v.iov_len;
		r = deflate(&z, Z_FINISH);
		v.iov_len -= z.avail_out;
		evbuffer_commit_space(out, &v, 1);
	} while (r == Z_OK);
	deflateEnd(&z);
	if (r != Z_STREAM_END) {
		evbuffer_free(out);
		return -1;
	}
	evbuffer_drain(b, len);
	evbuffer_add_buffer(b, out);
	evbuffer_free(out);
	return 0;
}

/*
 * A body over this is worth compressing for a client that accepts gzip
 * (below it, the headers and the CPU cost more than the bytes saved).
 */
#define HTTP_GZIP_MIN	1024

/*
 * Queue one response whose body is all of `body` (moved out of it),
 * gzipped when it is large and the client accepts that.
 */
static void
http_respond(struct hconn *hc, int code, const char *reason,
    const char *ctype, struct evbuffer *body, const char *extra)
{
	if (body != NULL && evbuffer_get_length(body) > HTTP_GZIP_MIN) {
		hc->hc_vary_ae = 1;
		if (hc->hc_gzip_ok && http_gzip(body) == 0)
			hc->hc_gz = 1;
	}
	http_respond_head(hc, code, reason, ctype,
	    body != NULL ? evbuffer_get_length(body) : 0, extra);
	if (body != NULL && !hc->hc_head)
		http_out_add(hc, body);
}

/*
 * The one writer of errors: an RFC 9457 problem details object, with a
 * stable `code` for programs (the `detail` is for people and may
 * change).  `extra`: more header lines (Allow, Retry-After) or NULL.
 */
static void
http_problem(struct hconn *hc, int status, const char *code,
    const char *detail, const char *extra)
{
	struct evbuffer	*b = evbuffer_new();

	if (b == NULL)
		fatalx("out of memory for an HTTP answer");
	out_str(b, "{\"type\":\"" HTTP_PROBLEM_BASE);
	out_str(b, code);
	out_str(b, "\",\"title\":");
	json_str(b, http_reason(status));
	out_str(b, ",\"status\":");
	out_u64(b, (uint64_t)status);
	out_str(b, ",\"code\":");
	json_str(b, code);
	out_str(b, ",\"detail\":");
	json_str(b, detail);
	out_str(b, "}\n");
	hc->hc_maxage = -1;
	http_respond(hc, status, http_reason(status),
	    "application/problem+json", b, extra);
	evbuffer_free(b);
}

/* ------------------------------------------------------ lookup requests */

/* Send the streamed lines gathered so far: one chunk. */
static void
hreq_emit(struct hreq *hr)
{
	struct hconn	*hc = hr->hr_conn;
	size_t		 len = evbuffer_get_length(hr->hr_pend);
	char		 sz[24];

	if (len == 0)
		return;
	hc->hc_alog.ar_bytes += len;
	if (hr->hr_stream == HR_CHUNKED) {
		evbuffer_add(hc->hc_out, sz, (size_t)snprintf(sz, sizeof(sz),
		    "%zx\r\n", len));
		http_out_add(hc, hr->hr_pend);
		evbuffer_add(hc->hc_out, "\r\n", 2);
	} else
		http_out_add(hc, hr->hr_pend);
}

/*
 * Retry-After when no name of the answer can be known before the
 * registry's budget (or its back-off) allows: the soonest of them.
 */
static void
hreq_retry_after(struct hreq *hr, char *extra, size_t len)
{
	uint64_t	min = UINT64_MAX, r;
	int		i;

	extra[0] = '\0';
	for (i = 0; i < hr->hr_n; i++) {
		if (!hr->hr_slots[i].hs_later)
			return;
		r = hr->hr_slots[i].hs_retry > 0 ? hr->hr_slots[i].hs_retry : 1;
		if (r < min)
			min = r;
	}
	if (hr->hr_n > 0)
		snprintf(extra, len, "Retry-After: %llu\r\n",
		    (unsigned long long)min);
}

/*
 * How long a client may reuse the answer: until the first of its
 * results stops being trusted by the cache; never when one is unknown
 * or stale.  Invalid names are invalid for as long as the suffix list
 * says so: an hour.
 */
static void
hreq_cache_control(struct hreq *hr)
{
	struct hconn	*hc = hr->hr_conn;
	double		 left;

	if (hr->hr_nostore)
		hc->hc_maxage = -1;
	else if (hr->hr_trust == 0)
		hc->hc_maxage = 3600;
	else {
		left = hr->hr_trust - now_wall();
		hc->hc_maxage = left > 0 ? (long long)left : 0;
	}
}

static void
hreq_finish(struct hreq *hr)
{
	struct hconn	*hc = hr->hr_conn;
	char		 extra[48];

	/* Its names' latencies, before anyone can read the answer. */
	metrics_flush();
	if (hr->hr_stream) {
		hreq_emit(hr);
		if (hr->hr_stream == HR_CHUNKED)
			evbuffer_add(hc->hc_out, "0\r\n\r\n", 5);
		alog_end(&hc->hc_alog, hc->hc_fd, 1, http_now);
	} else if (hr->hr_whois) {
		hreq_cache_control(hr);
		http_respond(hc, 200, "OK", "text/plain; charset=utf-8",
		    hr->hr_parts[0], NULL);
	} else {
		/* Every part is in hr_body now: close it. */
		evbuffer_add(hr->hr_body, "]}\n", 3);
		hreq_retry_after(hr, extra, sizeof(extra));
		hreq_cache_control(hr);
		http_respond(hc, 200, "OK", "application/json", hr->hr_body,
		    extra[0] != '\0' ? extra : NULL);
	}
	hreq_free(hr);
	hc->hc_req = NULL;
	if (hc->hc_state == HC_BUSY) {
		/* Answered later than the request came: go on with the
		 * connection (the next pipelined request, or the output). */
		hc->hc_state = HC_READING;
		http_process(hc);
		http_flush(hc);
	}
}

/*
 * One name's answer.  While the lookups are being started (or cut) it
 * is only kept; after, a streamed answer sends it at once.  The flush
 * may close the connection and free the request: nothing after it.
 */
static void
hreq_answered(const struct answer *a, const char *note, void *arg)
{
	struct hslot	*hs = arg;
	struct hreq	*hr = hs->hs_req;
	struct evbuffer	*b;

	if (hr->hr_started)
		http_now = now_mono();	/* else: the caller's is now */
	hr->hr_lookups[hs->hs_i] = NULL;
	front_metrics_lookup(1, a, http_now - hr->hr_conn->hc_req_start);
	alog_answer(&hr->hr_conn->hc_alog, a);
	hs->hs_later = a->a_status == AS_UNKNOWN &&
	    (strcmp(a->a_reason, "rate-budget") == 0 ||
	    strcmp(a->a_reason, "registry-backoff") == 0);
	hs->hs_retry = a->a_retry_after;
	if (a->a_status == AS_UNKNOWN || a->a_source == SRC_STALE ||
	    (a->a_status != AS_INVALID && a->a_expires <= 0))
		hr->hr_nostore = 1;
	else if (a->a_status != AS_INVALID && (hr->hr_trust == 0 ||
	    a->a_expires < hr->hr_trust))
		hr->hr_trust = a->a_expires;
	if (hr->hr_stream) {
		answer_json(hr->hr_pend, a, note);
		evbuffer_add(hr->hr_pend, "\n", 1);
	} else if (hr->hr_whois) {
		b = hr->hr_parts[hs->hs_i] = evbuffer_new();
		answer_whois(b, a, note);	/* the whois port's answer */
	} else if (hs->hs_i == hr->hr_next) {
		if (hs->hs_i > 0)
			evbuffer_add(hr->hr_body, ",", 1);
		answer_json(hr->hr_body, a, note);
		/* And the parts that came early, now in order. */
		while (++hr->hr_next < hr->hr_n &&
		    (b = hr->hr_parts[hr->hr_next]) != NULL) {
			evbuffer_add(hr->hr_body, ",", 1);
			evbuffer_add_buffer(hr->hr_body, b);
			evbuffer_free(b);
			hr->hr_parts[hr->hr_next] = NULL;
		}
	} else {
		b = hr->hr_parts[hs->hs_i] = evbuffer_new();
		answer_json(b, a, note);
	}
	hr->hr_done++;
	if (!hr->hr_started)
		return;
	if (hr->hr_done == hr->hr_n)
		hreq_finish(hr);
	else if (hr->hr_stream) {
		hreq_emit(hr);
		http_flush(hr->hr_conn);
	}
}

/*
 * The POST's wait is over: the names still open are answered unknown,
 * reason `wait`, with the time by which whoisd-query (which goes on)
 * has put its answer in the cache.
 */
static void
hreq_wait_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct hreq	*hr = arg;
	double		 left;
	uint64_t	 retry;
	int		 i;

	(void)fd; (void)ev;
	http_now = now_mono();
	left = front_conf()->wc_request_timeout - (http_now - hr->hr_start);
	retry = left > 1 ? (uint64_t)ceil(left) : 1;
	hr->hr_started = 0;	/* no answer may finish it mid-loop */
	for (i = 0; i < hr->hr_n; i++)
		if (hr->hr_lookups[i] != NULL)
			lookup_cut(hr->hr_lookups[i], "wait", retry);
	hr->hr_started = 1;
	if (hr->hr_done == hr->hr_n)
		hreq_finish(hr);
}

/*
 * fresh=, max_age= and wait= of a query.  0, or -1 with *code and msg
 * saying which is wrong.
 */
static int
http_query_opts(const char *query, struct hopts *ho, const char **code,
    char *msg, size_t msglen)
{
	const char	*p, *amp, *v, *end;
	double		 d;

	memset(ho, 0, sizeof(*ho));
	ho->ho_max_age = ho->ho_wait = -1;
	for (p = query; p != NULL && *p != '\0'; p = amp != NULL ? amp + 1 :
	    NULL) {
		amp = strchr(p, '&');
		end = amp != NULL ? amp : p + strlen(p);
		if (strncmp(p, "fresh=", 6) == 0) {
			v = p + 6;
			if ((end - v == 1 && *v == '1') ||
			    (end - v == 4 && strncmp(v, "true", 4) == 0))
				ho->ho_flags |= LOOKUP_FRESH;
			else if (!((end - v == 1 && *v == '0') ||
			    (end - v == 5 && strncmp(v, "false", 5) == 0))) {
				*code = "bad-fresh";
				snprintf(msg, msglen, "fresh must be 1, 0, "
				    "true or false");
				return -1;
			}
		} else if (strncmp(p, "max_age=", 8) == 0 ||
		    strncmp(p, "wait=", 5) == 0) {
			v = strchr(p, '=') + 1;
			d = strtod(v, (char **)&v);
			if (v == strchr(p, '=') + 1 || v != end || !(d >= 0 &&
			    d <= (p[0] == 'w' ? 3600 : 1e9))) {
				*code = p[0] == 'w' ? "bad-wait" :
				    "bad-max-age";
				snprintf(msg, msglen, p[0] == 'w' ? "wait must "
				    "be a number of seconds from 0 to 3600" :
				    "max_age must be a number of seconds from "
				    "0");
				return -1;
			}
			if (p[0] == 'w')
				ho->ho_wait = d;
			else
				ho->ho_max_age = d;
		}
	}
	return 0;
}

/* One block: the request, then its slots, lookups and parts. */
static struct hreq *
hreq_alloc(struct hconn *hc, int n)
{
	struct hreq	*hr;

	hr = xcalloc(1, sizeof(*hr) + (size_t)n * (sizeof(*hr->hr_slots) +
	    sizeof(*hr->hr_lookups) + sizeof(*hr->hr_parts)));
	hr->hr_slots = (struct hslot *)(hr + 1);
	hr->hr_lookups = (struct lookup **)(hr->hr_slots + n);
	hr->hr_parts = (struct evbuffer **)(hr->hr_lookups + n);
	hr->hr_conn = hc;
	hr->hr_n = n;
	hr->hr_start = http_now;
	if ((hr->hr_body = evbuffer_new()) == NULL)
		fatalx("out of memory for an HTTP request");
	evbuffer_add(hr->hr_body, "{\"results\":[", 12);
	return hr;
}

/*
 * Start the lookups of a request whose slots are filled: GET and POST
 * /v1/check, /v1/whois and /v1/suggest all come here.  Streamed (NDJSON),
 * the head goes now and each line as its name is known.
 */
static void
hreq_run(struct hconn *hc, struct hreq *hr, int flags,
    const struct hopts *ho, const char *key)
{
	struct timeval	 tv;
	int		 i, n = hr->hr_n;

	pool_req_begin(key);
	hc->hc_req = hr;
	if (ho->ho_ndjson) {
		hr->hr_stream = hc->hc_http10 ? HR_UNTIL_CLOSE : HR_CHUNKED;
		if ((hr->hr_pend = evbuffer_new()) == NULL)
			fatalx("out of memory for an HTTP answer");
		http_respond_head(hc, 200, "OK", "application/x-ndjson",
		    HTTP_STREAMED, NULL);
	}
	/* Past request_timeout every lookup has answered anyway. */
	if (ho->ho_wait >= 0 && ho->ho_wait <
	    front_conf()->wc_request_timeout) {
		if ((hr->hr_wait = evtimer_new(http_base, hreq_wait_cb,
		    hr)) == NULL)
			fatalx("out of memory for an HTTP request");
		tv_from_seconds(&tv, ho->ho_wait);
		evtimer_add(hr->hr_wait, &tv);
	}
	/* One block for the whole JSON answer, about 300 bytes a name: its
	 * chain would otherwise grow, and be copied, as names come in. */
	if (!ho->ho_ndjson && !hr->hr_whois && n > 1)
		evbuffer_expand(hr->hr_body, (size_t)n * 320);
	flags |= ho->ho_flags;
	if (n > 1)
		flags |= LOOKUP_BULK;
	for (i = 0; i < n; i++)
		hr->hr_lookups[i] = lookup_start_aged(hr->hr_slots[i].hs_name,
		    hr->hr_slots[i].hs_len, flags, hc->hc_fd, ho->ho_max_age,
		    hreq_answered, &hr->hr_slots[i]);
	hr->hr_started = 1;
	if (hr->hr_done == hr->hr_n)
		hreq_finish(hr);	/* every name answered at once */
	else {
		hc->hc_state = HC_BUSY;
		if (hr->hr_stream)
			hreq_emit(hr);	/* what the memo knew, at once */
	}
}

/* GET /v1/check or /v1/whois: start one lookup per domain parameter. */
static void
http_lookups(struct hconn *hc, int whois, char *query)
{
	struct hreq	*hr;
	struct hopts	 ho;
	const char	*code;
	char		*p, *amp, *eq, key[SB_KEYLEN], msg[96];
	size_t		 qlen = query != NULL ? strlen(query) : 0;
	ssize_t		 vlen;
	int		 n = 0, i, max, flags = whois ? LOOKUP_TEXT : 0;

	if (http_query_opts(query, &ho, &code, msg, sizeof(msg)) == -1) {
		http_problem(hc, 400, code, msg, NULL);
		return;
	}
	ho.ho_wait = -1;	/* a POST's */
	max = whois ? 1 : (int)front_conf()->wc_http_max_names;
	/* Count first, so a request over the limit starts nothing. */
	for (p = query; p != NULL && *p != '\0'; p = amp != NULL ? amp + 1 :
	    NULL) {
		amp = strchr(p, '&');
		if (strncmp(p, "domain=", 7) == 0)
			n++;
		/* /v1/whois?full=1: the registrar's record of a thin registry. */
		else if (whois && strncmp(p, "full=1", 6) == 0 &&
		    (p[6] == '&' || p[6] == '\0'))
			flags |= LOOKUP_FULL;
	}
	if (n == 0 || n > max) {
		snprintf(msg, sizeof(msg), n == 0 ? "expected ?domain=NAME" :
		    "at most %d domain parameters", max);
		http_problem(hc, 400, n == 0 ? "missing-domain" :
		    "too-many-names", msg, NULL);
		return;
	}
	snprintf(key, sizeof(key), "%s", query);
	hr = hreq_alloc(hc, n);
	hr->hr_whois = whois;
	/* Decode every value before starting any lookup: a bad escape is
	 * the whole request's 400. */
	for (p = query, i = 0; p < query + qlen; p = amp + 1) {
		if ((amp = strchr(p, '&')) == NULL)
			amp = query + qlen;
		*amp = '\0';
		if (strncmp(p, "domain=", 7) == 0) {
			eq = p + 7;
			if ((vlen = http_query_decode(eq, (size_t)(amp - eq))) == -1) {
				evbuffer_free(hr->hr_body);
				free(hr);	/* not begun: no hreq_free() */
				http_problem(hc, 400, "bad-query",
				    "bad %-escape in the query", NULL);
				return;
			}
			hr->hr_slots[i].hs_req = hr;
			hr->hr_slots[i].hs_i = i;
			hr->hr_slots[i].hs_name = eq;
			hr->hr_slots[i].hs_len = (size_t)vlen;
			i++;
		}
	}
	hreq_run(hc, hr, flags, &ho, key);
}

/* ------------------------------------------------------ POST /v1/check */

/* Lower-case LDH, not empty, without a final dot. */
static int
http_ldh_lower(const char *s, size_t len)
{
	size_t	i;

	if (len == 0 || s[len - 1] == '.')
		return 0;
	for (i = 0; i < len; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' &&
		    s[i] <= '9') || s[i] == '-' || s[i] == '.'))
			return 0;
	return 1;
}

/*
 * Mark the names that repeat an earlier one, compared as lookups see
 * them (the A-label form; a name that is invalid, as sent): each name is
 * answered once, where it first appears.  Returns the names kept.  The
 * keys go in an open-addressing table at most half full.
 */
static int
http_dedup(const struct http_names *hn, char *dup)
{
	char		**key, **tab;
	char		 ace[NAME_ACE_BUF], reason[NAME_REASON_BUF];
	unsigned char	*own;
	size_t		 i, n = hn->hn_n, kept = 0, size = 16, h;

	while (size < 2 * n)
		size *= 2;
	key = xcalloc(n, sizeof(*key));
	own = xcalloc(n, 1);
	tab = xcalloc(size, sizeof(*tab));
	for (i = 0; i < n; i++) {
		/* Lower-case LDH without a final dot: its A-label form if
		 * valid, and a valid name's A-label is never an invalid
		 * name: itself. */
		if (http_ldh_lower(hn->hn_name[i], hn->hn_len[i]))
			key[i] = hn->hn_name[i];
		else if (own[i] = 1, hn->hn_len[i] <= NAME_INPUT_MAX &&
		    name_normalise(hn->hn_name[i], ace, sizeof(ace), reason,
		    sizeof(reason)) == 0)
			key[i] = xstrdup(ace);
		else if (asprintf(&key[i], "\001%s", hn->hn_name[i]) == -1)
			fatal("%s: asprintf", __func__);
		for (h = lookup_hash(key[i], strlen(key[i])) & (size - 1);
		    tab[h] != NULL && strcmp(tab[h], key[i]) != 0;
		    h = (h + 1) & (size - 1))
			;
		dup[i] = tab[h] != NULL;
		tab[h] = key[i];
		kept += !dup[i];
	}
	for (i = 0; i < n; i++)
		if (own[i])
			free(key[i]);
	free(tab);
	free(own);
	free(key);
	return (int)kept;
}

/*
 * Start the lookups of names in hn (taken over by the request), those
 * dup marks left out: each name once.
 */
static void
http_start_names(struct hconn *hc, struct http_names *hn, const char *dup,
    int n, const struct hopts *ho, const char *key)
{
	struct hreq	*hr;
	size_t		 j;
	int		 i;

	hr = hreq_alloc(hc, n);
	for (j = 0, i = 0; j < hn->hn_n; j++) {
		if (dup[j])
			continue;
		hr->hr_slots[i].hs_req = hr;
		hr->hr_slots[i].hs_i = i;
		hr->hr_slots[i].hs_name = hn->hn_name[j];
		hr->hr_slots[i].hs_len = hn->hn_len[j];
		i++;
	}
	hr->hr_names = *hn;		/* the slots point into it */
	hreq_run(hc, hr, 0, ho, key);
}

/* GET /v1/suggest: hn's names, each once (a POST's dedup is kept). */
static void
http_check_names(struct hconn *hc, struct http_names *hn,
    const struct hopts *ho, const char *key)
{
	char	*dup;
	int	 n;

	dup = xcalloc(hn->hn_n, 1);
	n = http_dedup(hn, dup);
	http_start_names(hc, hn, dup, n, ho, key);
	free(dup);
}

/*
 * The last POST body parsed and what it said: its names and which of
 * them repeat.  A client sending the same list again (polling with
 * wait=, a monitor) is not parsed again: jansson building the body's
 * tree was most of a bulk check of memo hits.  Only the request is
 * kept, never an answer: the lookups run each time.
 */
#define HTTP_PARSED_MAX	(1024 * 1024)

static struct {
	char			*pp_body;
	size_t			 pp_len;
	size_t			 pp_max_names;	/* the limit it was checked by */
	struct http_names	 pp_hn;
	char			*pp_dup;
	int			 pp_kept;
} http_parsed;

/* A copy of hn's one block (pointers, lengths, names), made its own. */
static void
http_names_copy(const struct http_names *from, struct http_names *to)
{
	const char	*base = (const char *)from->hn_name;
	size_t		 i, n = from->hn_n, size;
	char		*nb;

	size = (size_t)(from->hn_name[n - 1] + from->hn_len[n - 1] + 1 - base);
	nb = xmalloc(size);
	memcpy(nb, base, size);
	*to = *from;
	to->hn_name = (char **)nb;
	to->hn_len = (size_t *)(nb + ((const char *)from->hn_len - base));
	for (i = 0; i < n; i++)
		to->hn_name[i] = nb + (from->hn_name[i] - base);
}

static void
http_parsed_keep(const struct hbody *hb, size_t max_names,
    const struct http_names *hn, const char *dup, int kept)
{
	free(http_parsed.pp_body);
	free(http_parsed.pp_dup);
	http_names_free(&http_parsed.pp_hn);
	memset(&http_parsed, 0, sizeof(http_parsed));
	if (hb->hb_len > HTTP_PARSED_MAX)
		return;
	http_parsed.pp_body = xmalloc(hb->hb_len);
	memcpy(http_parsed.pp_body, hb->hb_buf, hb->hb_len);
	http_parsed.pp_len = hb->hb_len;
	http_parsed.pp_max_names = max_names;
	http_names_copy(hn, &http_parsed.pp_hn);
	http_parsed.pp_dup = xmalloc(hn->hn_n);
	memcpy(http_parsed.pp_dup, dup, hn->hn_n);
	http_parsed.pp_kept = kept;
}

/* The whole body is in: parse it and start the lookups. */
static void
http_post_check(struct hconn *hc, struct hbody *hb)
{
	struct http_names	 hn;
	struct hopts		 ho = hb->hb_opts;
	char			 err[256], key[SB_KEYLEN], *dup;
	size_t			 max = (size_t)front_conf()->wc_http_max_names;
	int			 n;

	if (http_parsed.pp_body != NULL && hb->hb_len == http_parsed.pp_len &&
	    max == http_parsed.pp_max_names &&
	    memcmp(hb->hb_buf, http_parsed.pp_body, hb->hb_len) == 0) {
		http_names_copy(&http_parsed.pp_hn, &hn);
		dup = xmalloc(hn.hn_n);
		memcpy(dup, http_parsed.pp_dup, hn.hn_n);
		n = http_parsed.pp_kept;
	} else {
		if (http_names_parse(hb->hb_buf, hb->hb_len, max, &hn, err,
		    sizeof(err)) == -1) {
			http_problem(hc, 400, hn.hn_code != NULL ?
			    hn.hn_code : "bad-body", err, NULL);
			return;
		}
		dup = xcalloc(hn.hn_n, 1);
		n = http_dedup(&hn, dup);
		http_parsed_keep(hb, max, &hn, dup, n);
	}
	/* The sooner wait of the query's and the body's. */
	if (hn.hn_wait >= 0 && (ho.ho_wait < 0 || hn.hn_wait < ho.ho_wait))
		ho.ho_wait = hn.hn_wait;
	if (hn.hn_fresh)
		ho.ho_flags |= LOOKUP_FRESH;
	if (hn.hn_max_age >= 0)
		ho.ho_max_age = hn.hn_max_age;
	ho.ho_ndjson = hb->hb_ndjson;
	snprintf(key, sizeof(key), "POST /v1/check: %zu names", hn.hn_n);
	http_start_names(hc, &hn, dup, n, &ho, key);
	free(dup);
}

/* ---------------------------------------------------- GET /v1/suggest */

/*
 * The word across suggest_tlds: word.com, word.net...  The word is one
 * label (U-label or A-label); whether each name is valid is each
 * result's own business.
 */
static void
http_suggest(struct hconn *hc, struct http_head *hh)
{
	struct hopts		 ho;
	struct http_names	 hn;
	const char		*code, *tlds = front_conf()->wc_suggest_tlds;
	const char		*t;
	char			*p, *amp, *word = NULL, key[SB_KEYLEN], msg[96];
	char			*s;
	size_t			 wlen = 0, tl, n, bytes, i;
	ssize_t			 vlen;

	if (http_query_opts(hh->hh_query, &ho, &code, msg, sizeof(msg)) ==
	    -1) {
		http_problem(hc, 400, code, msg, NULL);
		return;
	}
	for (p = hh->hh_query; p != NULL && *p != '\0'; p = amp != NULL ?
	    amp + 1 : NULL) {
		if ((amp = strchr(p, '&')) != NULL)
			*amp = '\0';
		if (strncmp(p, "word=", 5) == 0) {
			word = p + 5;
			if ((vlen = http_query_decode(word, strlen(word))) ==
			    -1) {
				http_problem(hc, 400, "bad-query",
				    "bad %-escape in the query", NULL);
				return;
			}
			wlen = (size_t)vlen;
		}
	}
	if (word == NULL || wlen == 0) {
		http_problem(hc, 400, "missing-word", "expected ?word=WORD",
		    NULL);
		return;
	}
	for (i = 0; i < wlen; i++)
		if ((unsigned char)word[i] <= ' ' || word[i] == '.' ||
		    word[i] == 0x7f)
			break;
	if (i < wlen || wlen > 255) {
		http_problem(hc, 400, "bad-word", "the word must be one label: "
		    "no dots, spaces or control bytes, at most 255 bytes",
		    NULL);
		return;
	}
	/* One block as http_names_parse() makes: pointers, lengths, names. */
	for (n = 0, bytes = 0, t = tlds; *(t += strspn(t, " ,\t")) != '\0';
	    t += tl, n++) {
		tl = strcspn(t, " ,\t");
		bytes += wlen + 1 + tl + 1;
	}
	if (n == 0) {
		http_problem(hc, 404, "unknown-path", "suggest_tlds is empty",
		    NULL);
		return;
	}
	memset(&hn, 0, sizeof(hn));
	hn.hn_name = xmalloc(n * (sizeof(char *) + sizeof(size_t)) + bytes);
	hn.hn_len = (size_t *)(hn.hn_name + n);
	s = (char *)(hn.hn_len + n);
	for (i = 0, t = tlds; *(t += strspn(t, " ,\t")) != '\0'; t += tl,
	    i++) {
		tl = strcspn(t, " ,\t");
		hn.hn_name[i] = s;
		memcpy(s, word, wlen);
		s[wlen] = '.';
		memcpy(s + wlen + 1, t, tl);
		hn.hn_len[i] = wlen + 1 + tl;
		s[hn.hn_len[i]] = '\0';
		s += hn.hn_len[i] + 1;
	}
	hn.hn_n = n;
	hn.hn_wait = hn.hn_max_age = -1;
	ho.ho_ndjson = hh->hh_ndjson;
	snprintf(key, sizeof(key), "GET /v1/suggest: %zu names", n);
	http_check_names(hc, &hn, &ho, key);
}

/*
 * Take what has arrived of the body.  1 when the request was answered or
 * started (the connection is HC_READING or HC_BUSY again), 0 when more
 * is needed.
 */
static int
http_body(struct hconn *hc)
{
	struct hbody	*hb = hc->hc_body;
	const char	*in = hc->hc_in + hc->hc_off;
	size_t		 avail = hc->hc_len - hc->hc_off, n, used, out;
	int		 r;

	if (!hb->hb_chunked) {
		n = (long long)avail < hb->hb_left ? avail :
		    (size_t)hb->hb_left;
		if (hb->hb_len + n > hb->hb_cap) {
			hb->hb_cap = (size_t)(hb->hb_len + hb->hb_left);
			hb->hb_buf = xrealloc(hb->hb_buf, hb->hb_cap);
		}
		memcpy(hb->hb_buf + hb->hb_len, in, n);
		hb->hb_len += n;
		hb->hb_left -= (long long)n;
		hc->hc_off += n;
		if (hb->hb_left > 0)
			return 0;
	} else {
		for (;;) {
			if (hb->hb_len == hb->hb_cap) {
				hb->hb_cap = hb->hb_cap < 2048 ? 4096 :
				    hb->hb_cap * 2;
				if (hb->hb_cap > hb->hb_max)
					hb->hb_cap = hb->hb_max;
				hb->hb_buf = xrealloc(hb->hb_buf, hb->hb_cap);
			}
			r = http_chunked_feed(&hb->hb_ck, in, avail, &used,
			    hb->hb_buf + hb->hb_len, hb->hb_cap - hb->hb_len,
			    &out);
			hb->hb_len += out;
			hc->hc_off += used;
			in += used;
			avail -= used;
			if (r == HTTP_CK_DONE)
				break;
			if (r == HTTP_CK_MORE && avail > 0 &&
			    hb->hb_len < hb->hb_max)
				continue;	/* out was full: grown above */
			if (r == HTTP_CK_MORE)
				return 0;
			/* Where the next request starts is lost: close. */
			hbody_free(hc);
			hc->hc_state = HC_READING;
			hc->hc_keepalive = 0;
			hc->hc_off = hc->hc_len;
			if (r == HTTP_CK_BIG)
				http_problem(hc, 413, "body-too-large",
				    "request body over http_max_body", NULL);
			else
				http_problem(hc, 400, "bad-chunked",
				    "malformed chunked request body", NULL);
			return 1;
		}
	}
	hc->hc_state = HC_READING;
	hc->hc_body = NULL;
	http_post_check(hc, hb);
	free(hb->hb_buf);
	free(hb);
	return 1;
}

/* POST /v1/check: its head is in; check how the body comes, then read. */
static void
http_post_begin(struct hconn *hc, struct http_head *hh)
{
	struct hbody	*hb;
	struct hopts	 ho;
	const char	*code;
	char		 msg[96];

	/* Framed, the body is read whole: the connection can go on. */
	hc->hc_keepalive = hh->hh_http10 ? hh->hh_conn_keepalive :
	    !hh->hh_conn_close;
	if (hh->hh_te_other) {
		hc->hc_keepalive = 0;
		http_problem(hc, 501, "unsupported-transfer-coding",
		    "only the chunked transfer coding is understood", NULL);
		return;
	}
	if (hh->hh_cenc) {
		/* Never inflated: no zip bomb gets to be one. */
		hc->hc_keepalive = 0;
		http_problem(hc, 415, "unsupported-content-encoding",
		    "request bodies must not have a Content-Encoding", NULL);
		return;
	}
	if (hh->hh_clen > (long long)http_body_max) {
		/* Refused before a byte of it is read. */
		hc->hc_keepalive = 0;
		http_problem(hc, 413, "body-too-large",
		    "request body over http_max_body", NULL);
		return;
	}
	if (http_query_opts(hh->hh_query, &ho, &code, msg, sizeof(msg)) ==
	    -1) {
		if (hh->hh_clen > 0 || hh->hh_chunked)
			hc->hc_keepalive = 0;
		http_problem(hc, 400, code, msg, NULL);
		return;
	}
	if (!hh->hh_chunked && hh->hh_clen <= 0) {
		http_problem(hc, 400, "missing-body",
		    "expected a JSON body {\"domains\":[\"example.com\",...]}",
		    NULL);
		return;
	}
	hb = xcalloc(1, sizeof(*hb));
	hb->hb_max = http_body_max;
	hb->hb_left = hh->hh_clen;
	hb->hb_chunked = hh->hh_chunked;
	http_chunked_init(&hb->hb_ck, http_body_max);
	hb->hb_ndjson = hh->hh_ndjson;
	hb->hb_opts = ho;
	hc->hc_body = hb;
	hc->hc_state = HC_BODY;
	/* A client that waits for our word before it sends the body. */
	if (hh->hh_continue && !hh->hh_http10 && hc->hc_len == hc->hc_off)
		out_str(hc->hc_out, "HTTP/1.1 100 Continue\r\n\r\n");
}

/* --------------------------------------------------------- other pages */

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
http_status(struct hconn *hc)
{
	struct evbuffer	*b = evbuffer_new();
	char		*pool;
	size_t		 n;

	pool = xmalloc(256 * 1024);
	n = pool_status_json(pool, 256 * 1024);
	evbuffer_add_printf(b, "{\"daemon\":\"whoisd\",\"version\":\"%s\","
	    "\"protocol\":%d,\"child\":%ld,\"lookups\":%zu,"
	    "\"parked\":%zu,\"pool\":", WHOISD_VERSION, PROTO_VERSION,
	    (long)getpid(), lookup_live(), http_nparked);
	evbuffer_add(b, pool, n < 256 * 1024 ? n : 0);
	free(pool);
	evbuffer_add_printf(b, ",\"links\":{");
	http_link_json(b, "cache", front_cache());
	evbuffer_add(b, ",", 1);
	http_link_json(b, "query", front_query());
	evbuffer_add_printf(b, "},\"registries\":");
	regstat_json(b);
	evbuffer_add_printf(b, "}\n");
	http_respond(hc, 200, "OK", "application/json", b, NULL);
	evbuffer_free(b);
}

static void
http_metrics(struct hconn *hc)
{
	struct evbuffer	*b = evbuffer_new();

	metrics_render(b);
	http_respond(hc, 200, "OK", METRICS_CTYPE, b, NULL);
	evbuffer_free(b);
}

/* /healthz and /readyz (health.c). */
static void
http_health(struct hconn *hc, int (*fn)(struct evbuffer *))
{
	struct evbuffer	*b = evbuffer_new();
	int		 code = fn(b);

	http_respond(hc, code, code == 200 ? "OK" : "Service Unavailable",
	    "application/json", b, NULL);
	evbuffer_free(b);
}

/* GET /v1/openapi.json: the API's contract, docs/openapi.json built in. */
static void
http_openapi(struct hconn *hc, struct http_head *hh)
{
	struct evbuffer	*b = evbuffer_new();

	(void)hh;
	if (b == NULL)
		fatalx("out of memory for an HTTP answer");
	evbuffer_add_reference(b, openapi_json, sizeof(openapi_json) - 1,
	    NULL, NULL);
	hc->hc_maxage = 3600;
	http_respond(hc, 200, "OK", "application/json", b, NULL);
	evbuffer_free(b);
}

static void
http_r_check(struct hconn *hc, struct http_head *hh)
{
	if (strcmp(hh->hh_method, "POST") == 0)
		http_post_begin(hc, hh);
	else
		http_lookups(hc, 0, hh->hh_query);
}

static void
http_r_whois(struct hconn *hc, struct http_head *hh)
{
	http_lookups(hc, 1, hh->hh_query);
}

static void
http_r_status(struct hconn *hc, struct http_head *hh)
{
	(void)hh;
	http_status(hc);
}

static void
http_r_metrics(struct hconn *hc, struct http_head *hh)
{
	(void)hh;
	http_metrics(hc);
}

static void
http_r_healthz(struct hconn *hc, struct http_head *hh)
{
	(void)hh;
	http_health(hc, health_live);
}

static void
http_r_readyz(struct hconn *hc, struct http_head *hh)
{
	(void)hh;
	http_health(hc, health_ready);
}

/*
 * The web page (static.c): from memory, 304 when the client has it.  A
 * page not installed is a 404 that says so; the API works without it.
 */
static void
http_static(struct hconn *hc, struct http_head *hh)
{
	const struct static_file	*sf = static_find(hh->hh_path);
	char				 msg[512];

	if (sf == NULL) {
		snprintf(msg, sizeof(msg), "the web page is not installed "
		    "(http_www %s); the API is at /v1/check?domain=NAME",
		    static_dir_name());
		http_problem(hc, 404, "unknown-path", msg, NULL);
		return;
	}
	if (static_not_modified(sf, hh->hh_inm)) {
		http_respond_head(hc, 304, "Not Modified", NULL, 0,
		    sf->sf_headers);
		return;
	}
	http_respond_head(hc, 200, "OK", sf->sf_ctype, sf->sf_len,
	    sf->sf_headers);
	if (!hc->hc_head)
		evbuffer_add_reference(hc->hc_out, sf->sf_body, sf->sf_len,
		    NULL, NULL);
}

/* -------------------------------------------------------------- requests */

#define HM_GET		0x01	/* and HEAD */
#define HM_POST		0x02

/*
 * The routes, one a line.  A path ending in '*' matches every path it
 * is a prefix of.  OPTIONS is answered for each from its methods.
 */
static const struct hroute {
	const char	*rt_path;
	int		 rt_methods;
	void		(*rt_fn)(struct hconn *, struct http_head *);
} http_routes[] = {
	{ "/v1/check",		HM_GET | HM_POST,	http_r_check },
	{ "/v1/whois",		HM_GET,			http_r_whois },
	{ "/v1/suggest",	HM_GET,			http_suggest },
	{ "/v1/openapi.json",	HM_GET,			http_openapi },
	{ "/status",		HM_GET,			http_r_status },
	{ "/metrics",		HM_GET,			http_r_metrics },
	{ "/",			HM_GET,			http_static },
	{ "/index.html",	HM_GET,			http_static },
	{ "/status.html",	HM_GET,			http_static },
	{ "/app.js",		HM_GET,			http_static },
	{ "/status.js",		HM_GET,			http_static },
	{ "/style.css",		HM_GET,			http_static },
	{ "/healthz",		HM_GET,			http_r_healthz },
	{ "/readyz",		HM_GET,			http_r_readyz },
};

static const struct hroute *
http_route_find(const char *path)
{
	size_t	i, l;

	for (i = 0; i < sizeof(http_routes) / sizeof(http_routes[0]); i++) {
		l = strlen(http_routes[i].rt_path);
		if (l > 0 && http_routes[i].rt_path[l - 1] == '*' ?
		    strncmp(path, http_routes[i].rt_path, l - 1) == 0 :
		    strcmp(path, http_routes[i].rt_path) == 0)
			return &http_routes[i];
	}
	return NULL;
}

static const char *
http_allow(const struct hroute *rt)
{
	return (rt->rt_methods & HM_POST) ? "GET, HEAD, POST, OPTIONS" :
	    "GET, HEAD, OPTIONS";
}

/*
 * The request's Origin, if http_cors_origins allows it: what
 * Access-Control-Allow-Origin says in every answer to it.
 */
static void
http_cors(struct hconn *hc, const struct http_head *hh)
{
	const char	*p = front_conf()->wc_http_cors_origins;
	size_t		 ol, l;

	hc->hc_origin[0] = '\0';
	if (p[0] == '\0' || hh->hh_origin == NULL ||
	    (ol = strlen(hh->hh_origin)) == 0 || ol >= sizeof(hc->hc_origin))
		return;
	for (; *(p += strspn(p, " ,\t")) != '\0'; p += l) {
		l = strcspn(p, " ,\t");
		if (l == 1 && *p == '*') {
			snprintf(hc->hc_origin, sizeof(hc->hc_origin), "*");
			return;
		}
		if (l == ol && strncasecmp(p, hh->hh_origin, l) == 0) {
			memcpy(hc->hc_origin, hh->hh_origin, ol + 1);
			return;
		}
	}
}

/*
 * OPTIONS: the methods of the path; for a CORS preflight from an
 * allowed origin, what the browser may send and for how long it may
 * remember that.
 */
static void
http_options(struct hconn *hc, struct http_head *hh, const struct hroute *rt)
{
	const char	*allow = rt != NULL ? http_allow(rt) :
			    "GET, HEAD, POST, OPTIONS";
	const char	*h = hh->hh_acr_headers;
	char		 extra[512];
	size_t		 i;

	/* Requested headers are echoed if they are a plain token list. */
	if (h != NULL)
		for (i = 0; h[i] != '\0'; i++)
			if (!((h[i] >= 'a' && h[i] <= 'z') ||
			    (h[i] >= 'A' && h[i] <= 'Z') ||
			    (h[i] >= '0' && h[i] <= '9') ||
			    strchr("-_, ", h[i]) != NULL) || i > 200) {
				h = NULL;
				break;
			}
	if (h == NULL || *h == '\0')
		h = "Content-Type, Accept";
	if (hc->hc_origin[0] != '\0' && hh->hh_acr_method != NULL)
		snprintf(extra, sizeof(extra), "Allow: %s\r\n"
		    "Access-Control-Allow-Methods: %s\r\n"
		    "Access-Control-Allow-Headers: %s\r\n"
		    "Access-Control-Max-Age: 86400\r\n", allow, allow, h);
	else
		snprintf(extra, sizeof(extra), "Allow: %s\r\n", allow);
	http_respond_head(hc, 204, "No Content", NULL, 0, extra);
}

/* Answer one parsed request. */
static void
http_route(struct hconn *hc, struct http_head *hh)
{
	const struct hroute	*rt;
	const char		*m = hh->hh_method;
	int			 wait;
	char			 extra[96];

	front_stats.fs_http_requests++;
	alog_path(&hc->hc_alog, hh->hh_path);
	hc->hc_head = strcmp(m, "HEAD") == 0;
	hc->hc_gzip_ok = hh->hh_gzip;
	if ((wait = limits_req(hc->hc_cl, http_now)) > 0) {
		snprintf(extra, sizeof(extra), "Retry-After: %d\r\n", wait);
		http_problem(hc, 429, "rate-limited",
		    "too many requests from your address", extra);
		return;
	}
	rt = http_route_find(hh->hh_path);
	if (strcmp(m, "OPTIONS") == 0) {
		if (rt == NULL && strcmp(hh->hh_path, "*") != 0)
			http_problem(hc, 404, "unknown-path", "unknown path; "
			    "see /v1/openapi.json", NULL);
		else
			http_options(hc, hh, rt);
		return;
	}
	if (rt == NULL) {
		http_problem(hc, 404, "unknown-path",
		    "unknown path; see /v1/openapi.json", NULL);
		return;
	}
	if (!(((strcmp(m, "GET") == 0 || hc->hc_head) &&
	    (rt->rt_methods & HM_GET)) ||
	    (strcmp(m, "POST") == 0 && (rt->rt_methods & HM_POST)))) {
		snprintf(extra, sizeof(extra), "Allow: %s\r\n", http_allow(rt));
		http_problem(hc, 405, "method-not-allowed", rt->rt_methods &
		    HM_POST ? "only GET, HEAD, POST and OPTIONS" :
		    "only GET, HEAD and OPTIONS", extra);
		return;
	}
	rt->rt_fn(hc, hh);
}

/* Would this head's request start lookups?  Its request line is enough. */
static int
http_head_looks_up(const char *head, size_t len)
{
	static const char *const starts[] = { "GET /v1/", "HEAD /v1/",
	    "POST /v1/" };
	size_t	i, n;

	for (i = 0; i < sizeof(starts) / sizeof(starts[0]); i++) {
		n = strlen(starts[i]);
		if (len >= n && memcmp(head, starts[i], n) == 0 &&
		    strncmp(head + n, "openapi.json", 12) != 0)
			return 1;
	}
	return 0;
}

/*
 * Must this head's request wait?  While any connection waits, so does
 * every new request that would start lookups, so that the waiting ones
 * go first and the lookups under way can only fall until they resume.
 */
static int
http_must_park(const char *head, size_t len)
{
	if (lookup_live() < HTTP_MAX_LOOKUPS &&
	    (TAILQ_EMPTY(&http_parked) || http_resuming))
		return 0;
	return http_head_looks_up(head, len);
}

/*
 * The connection's next request waits, read but not begun, and nothing
 * more is read from it.  It has no timer meanwhile; the lookups it waits
 * on have their deadlines.
 */
static void
http_park(struct hconn *hc)
{
	static struct log_limit	ll_park;

	if (hc->hc_parked)
		return;
	log_warnx_limited(&ll_park, "%zu lookups under way in this child: "
	    "new requests wait until they fall to %d", lookup_live(),
	    HTTP_LOOKUPS_ROOM);
	hc->hc_parked = 1;
	http_nparked++;
	TAILQ_INSERT_TAIL(&http_parked, hc, hc_pentry);
}

/* From lookup_free(): only schedule, the caller is mid-lookup. */
static void
http_lookups_room(void)
{
	if (!TAILQ_EMPTY(&http_parked))
		event_active(http_resume_ev, EV_TIMEOUT, 0);
}

/* Room again: the parked connections go on, first parked first. */
static void
http_resume_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct hconn	*hc;

	(void)fd; (void)ev; (void)arg;
	http_now = now_mono();
	http_resuming = 1;
	while ((hc = TAILQ_FIRST(&http_parked)) != NULL &&
	    lookup_live() < HTTP_MAX_LOOKUPS) {
		TAILQ_REMOVE(&http_parked, hc, hc_pentry);
		hc->hc_parked = 0;
		http_nparked--;
		http_process(hc);
		http_flush(hc);		/* may close it */
	}
	http_resuming = 0;
	if (unsent_over())
		unsent_shed();
}

/*
 * Parse and answer the requests that are buffered, one at a time, while
 * the connection is not busy with one and its output has room.
 */
static void
http_process(struct hconn *hc)
{
	struct http_head hh;
	ssize_t		 n;
	char		*head;
	int		 r;

	if (hc->hc_parked)
		return;		/* its turn comes in http_resume_cb */
	for (;;) {
		if (hc->hc_state == HC_BODY) {
			if (hc->hc_len == hc->hc_off || http_body(hc) == 0)
				return;
			continue;
		}
		/* Empty lines between requests are not a request. */
		hc->hc_off += http_blank_len(hc->hc_in + hc->hc_off,
		    hc->hc_len - hc->hc_off);
		if (hc->hc_state != HC_READING || hc->hc_closing ||
		    hc->hc_len == hc->hc_off || http_out_full(hc))
			break;
		if ((n = http_head_len(hc->hc_in + hc->hc_off,
		    hc->hc_len - hc->hc_off, http_head_max)) <= 0) {
			if (n == -1) {
				alog_begin(&hc->hc_alog, hc->hc_head_start);
				hc->hc_head = 0;
				hc->hc_keepalive = 0;
				hc->hc_off = hc->hc_len;
				http_problem(hc, 431, "head-too-large",
				    "request head too large", NULL);
			} else if (hc->hc_eof)
				hc->hc_off = hc->hc_len; /* EOF mid-request */
			return;
		}
		head = hc->hc_in + hc->hc_off;
		if (http_must_park(head, (size_t)n)) {
			http_park(hc);
			return;
		}
		hc->hc_off += (size_t)n;
		hc->hc_req_start = hc->hc_head_start;
		alog_begin(&hc->hc_alog, hc->hc_req_start);
		/* What follows in the buffer is the next head, begun by now. */
		hc->hc_head_start = http_now;
		hc->hc_head = 0;
		hc->hc_error = 0;
		hc->hc_origin[0] = '\0';
		hc->hc_gzip_ok = 0;
		if ((r = http_parse_head(head, (size_t)n, &hh)) != 0) {
			hc->hc_keepalive = 0;
			hc->hc_http10 = 0;
			http_problem(hc, r, r == 505 ? "http-version" :
			    "bad-request", r == 505 ? "HTTP/1.1 or HTTP/1.0 "
			    "only" : "malformed request", NULL);
			return;
		}
		hc->hc_http10 = hh.hh_http10;
		hc->hc_keepalive = hh.hh_keepalive;
		http_cors(hc, &hh);
		if (!hh.hh_http10 && !hh.hh_host) {
			/* RFC 9112 3.2: a server MUST answer 400. */
			if (hh.hh_body)
				hc->hc_off = hc->hc_len;
			http_problem(hc, 400, "missing-host",
			    "an HTTP/1.1 request must have a Host header",
			    NULL);
			if (hh.hh_body)
				return;
			continue;
		}
		if (hh.hh_body) {
			/* We take no bodies, and cannot find where the next
			 * request starts: answer, then close. */
			if (strcmp(hh.hh_method, "GET") == 0 ||
			    strcmp(hh.hh_method, "HEAD") == 0) {
				http_problem(hc, 400, "body-not-allowed",
				    "a request body is not allowed", NULL);
				return;
			}
		}
		http_route(hc, &hh);
	}
}

/* ------------------------------------------------------------- the pool */

void
http_init(struct event_base *base)
{
	struct whoisd_conf	*wc = front_conf();
	double			 t = wc->wc_http_idle_timeout;
	size_t			 need;

	http_base = base;
	http_idle_s = t;
	if ((http_resume_ev = evtimer_new(base, http_resume_cb, NULL)) == NULL)
		fatalx("out of memory");
	lookup_when_room(HTTP_LOOKUPS_ROOM, http_lookups_room);
	tv_from_seconds(&http_idle_tv, t);
	/*
	 * Room for 100 names of 253 octets, %-escaped as ACE, in a GET (or
	 * http_max_names if fewer); more go in a POST body, not a head that
	 * every connection may grow its buffer to.
	 */
	need = 16 * 1024 + (size_t)(wc->wc_http_max_names < 100 ?
	    wc->wc_http_max_names : 100) * 270;
	http_head_max = need > HTTP_MIN_HEAD_MAX ? need : HTTP_MIN_HEAD_MAX;
	/* A JSON name is at most a few hundred bytes, escaped: 1 KB each. */
	http_body_max = wc->wc_http_max_body > 0 ?
	    (size_t)wc->wc_http_max_body :
	    16 * 1024 + (size_t)wc->wc_http_max_names * 1024;
}

/*
 * Draining: the pool has stopped accepting.  Keep-alive connections that
 * wait for their next request are closed (nginx does the same); one with
 * a request under way or half read is answered with Connection: close.
 */
void
http_drain(void)
{
	struct hconn	*hc, *next;

	http_draining = 1;
	for (hc = LIST_FIRST(&http_conns); hc != NULL; hc = next) {
		next = LIST_NEXT(hc, hc_entry);
		if (hc->hc_state == HC_READING && hc->hc_len == hc->hc_off &&
		    evbuffer_get_length(hc->hc_out) == 0)
			http_close(hc);
	}
}
