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
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "common/linger.h"
#include "common/log.h"
#include "common/name.h"
#include "common/pool.h"
#include "common/util.h"
#include "daemons/whoisd/http_parse.h"
#include "daemons/whoisd/whoisd.h"
#include "proto/client.h"

#define HTTP_READ_CHUNK		4096
#define HTTP_MIN_HEAD_MAX	(64 * 1024)	/* request head limit, at least */
#define HTTP_OUT_HIGH		(256 * 1024)	/* stop parsing above this */
#define HTTP_COPY_MAX		4096	/* smaller bodies are copied */
#define HTTP_STREAMED		((size_t)-1)	/* no Content-Length */

enum hc_state {
	HC_READING,		/* waiting for a request head */
	HC_BODY,		/* reading a POST's body */
	HC_BUSY			/* a request's lookups are under way */
};

struct hreq;

/* A POST /v1/check body being read. */
struct hbody {
	char			*hb_buf;
	size_t			 hb_len, hb_cap, hb_max;
	long long		 hb_left;	/* Content-Length still to come */
	int			 hb_chunked;
	struct http_chunked	 hb_ck;
	int			 hb_ndjson;	/* Accept: application/x-ndjson */
	double			 hb_wait;	/* ?wait=, or -1 */
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
	LIST_ENTRY(hconn)	 hc_entry;
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
	double			 hr_start;	/* monotonic */
	struct evbuffer		*hr_pend;	/* streamed lines not yet sent */
	struct event		*hr_wait;	/* the POST's wait bound */
	struct http_names	 hr_names;	/* a POST's names */
	struct lookup		**hr_lookups;
	struct evbuffer		**hr_parts;	/* one answer per name */
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

static void	http_process(struct hconn *);
static void	http_flush(struct hconn *);
static void	http_respond_error(struct hconn *, int, const char *,
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
	if (hc->hc_state != HC_READING ||
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
		http_respond_error(hc, 408, "Request Timeout",
		    "no complete request body within http_idle_timeout");
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
		http_respond_error(hc, 408, "Request Timeout",
		    "no complete request within http_idle_timeout");
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
		    !http_out_full(hc);

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
	    (hc->hc_closing || hc->hc_eof ||
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

/*
 * Queue a response's status line and headers, for a body of `len` bytes
 * that the caller adds to hc_out next, unless hc_head (a HEAD request);
 * HTTP_STREAMED: a body sent as it comes, chunked (HTTP/1.1) or ended by
 * the close (HTTP/1.0).  `extra` is more header lines or NULL.
 */
static void
http_respond_head(struct hconn *hc, int code, const char *reason,
    const char *ctype, size_t len, const char *extra)
{
	struct evbuffer	*out = hc->hc_out;

	if (http_draining)
		hc->hc_keepalive = 0;
	if (code >= 400)
		hc->hc_error = 1;
	hc->hc_idle_since = http_now;
	out_str(out, "HTTP/1.1 ");
	out_u64(out, (uint64_t)code);
	out_str(out, " ");
	out_str(out, reason);
	out_str(out, "\r\nContent-Type: ");
	out_str(out, ctype);
	/* A 304 has no body; a length there makes some clients wait for
	 * one (nginx sends none either). */
	if (code == 304)
		;
	else if (len != HTTP_STREAMED) {
		out_str(out, "\r\nContent-Length: ");
		out_u64(out, len);
	} else if (!hc->hc_http10)
		out_str(out, "\r\nTransfer-Encoding: chunked");
	else
		hc->hc_keepalive = 0;	/* HTTP/1.0: the close ends it */
	out_str(out, "\r\n");
	/* The page's files say how they may be kept (static.c). */
	if (extra == NULL || strncmp(extra, "Cache-Control:", 14) != 0)
		out_str(out, "Cache-Control: no-store\r\n");
	if (!hc->hc_keepalive)
		out_str(out, "Connection: close\r\n");
	else if (hc->hc_http10)
		out_str(out, "Connection: keep-alive\r\n");
	if (extra != NULL)
		out_str(out, extra);
	out_str(out, "\r\n");
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

/* Queue one response whose body is all of `body` (moved out of it). */
static void
http_respond(struct hconn *hc, int code, const char *reason,
    const char *ctype, struct evbuffer *body, const char *extra)
{
	http_respond_head(hc, code, reason, ctype,
	    body != NULL ? evbuffer_get_length(body) : 0, extra);
	if (body != NULL && !hc->hc_head)
		http_out_add(hc, body);
}

static void
http_respond_error_extra(struct hconn *hc, int code, const char *reason,
    const char *msg, const char *extra)
{
	struct evbuffer	*b = evbuffer_new();

	evbuffer_add_printf(b, "{\"error\":");
	json_str(b, msg);
	evbuffer_add_printf(b, "}\n");
	http_respond(hc, code, reason, "application/json", b, extra);
	evbuffer_free(b);
}

static void
http_respond_error(struct hconn *hc, int code, const char *reason,
    const char *msg)
{
	http_respond_error_extra(hc, code, reason, msg, NULL);
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

static void
hreq_finish(struct hreq *hr)
{
	struct hconn	*hc = hr->hr_conn;
	size_t		 len;
	int		 i;
	char		 extra[48];

	if (hr->hr_stream) {
		hreq_emit(hr);
		if (hr->hr_stream == HR_CHUNKED)
			evbuffer_add(hc->hc_out, "0\r\n\r\n", 5);
	} else if (hr->hr_whois) {
		http_respond(hc, 200, "OK", "text/plain; charset=utf-8",
		    hr->hr_parts[0], NULL);
	} else {
		/* {"results":[A,B,...]}\n, the parts moved, not copied. */
		len = 12 + (size_t)(hr->hr_n - 1) + 3;
		for (i = 0; i < hr->hr_n; i++)
			len += evbuffer_get_length(hr->hr_parts[i]);
		hreq_retry_after(hr, extra, sizeof(extra));
		http_respond_head(hc, 200, "OK", "application/json", len,
		    extra[0] != '\0' ? extra : NULL);
		if (!hc->hc_head) {
			evbuffer_add(hc->hc_out, "{\"results\":[", 12);
			for (i = 0; i < hr->hr_n; i++) {
				if (i > 0)
					evbuffer_add(hc->hc_out, ",", 1);
				http_out_add(hc, hr->hr_parts[i]);
			}
			evbuffer_add(hc->hc_out, "]}\n", 3);
		}
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

	http_now = now_mono();
	hr->hr_lookups[hs->hs_i] = NULL;
	hs->hs_later = a->a_status == AS_UNKNOWN &&
	    (strcmp(a->a_reason, "rate-budget") == 0 ||
	    strcmp(a->a_reason, "registry-backoff") == 0);
	hs->hs_retry = a->a_retry_after;
	if (hr->hr_stream) {
		answer_json(hr->hr_pend, a, note);
		evbuffer_add(hr->hr_pend, "\n", 1);
	} else {
		b = hr->hr_parts[hs->hs_i] = evbuffer_new();
		if (hr->hr_whois)
			answer_whois(b, a, note);  /* the whois port's answer */
		else
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

/* GET /v1/check or /v1/whois: start one lookup per domain parameter. */
static void
http_lookups(struct hconn *hc, int whois, char *query)
{
	struct hreq	*hr;
	char		*p, *amp, *eq, key[SB_KEYLEN];
	size_t		 qlen = query != NULL ? strlen(query) : 0;
	ssize_t		 vlen;
	int		 n = 0, i, max, flags = whois ? LOOKUP_TEXT : 0;

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
		char	msg[96];

		snprintf(msg, sizeof(msg), n == 0 ? "expected ?domain=NAME" :
		    "at most %d domain parameters", max);
		http_respond_error(hc, 400, "Bad Request", msg);
		return;
	}
	snprintf(key, sizeof(key), "%s", query);
	/* One allocation: the request, then its slots, lookups and parts. */
	hr = xcalloc(1, sizeof(*hr) + (size_t)n * (sizeof(*hr->hr_slots) +
	    sizeof(*hr->hr_lookups) + sizeof(*hr->hr_parts)));
	hr->hr_slots = (struct hslot *)(hr + 1);
	hr->hr_lookups = (struct lookup **)(hr->hr_slots + n);
	hr->hr_parts = (struct evbuffer **)(hr->hr_lookups + n);
	hr->hr_conn = hc;
	hr->hr_whois = whois;
	hr->hr_n = n;
	/* Decode every value before starting any lookup: a bad escape is
	 * the whole request's 400. */
	for (p = query, i = 0; p < query + qlen; p = amp + 1) {
		if ((amp = strchr(p, '&')) == NULL)
			amp = query + qlen;
		*amp = '\0';
		if (strncmp(p, "domain=", 7) == 0) {
			eq = p + 7;
			if ((vlen = http_query_decode(eq, (size_t)(amp - eq))) == -1) {
				free(hr);
				http_respond_error(hc, 400, "Bad Request",
				    "bad %-escape in the query");
				return;
			}
			hr->hr_slots[i].hs_req = hr;
			hr->hr_slots[i].hs_i = i;
			hr->hr_slots[i].hs_name = eq;
			hr->hr_slots[i].hs_len = (size_t)vlen;
			i++;
		}
	}
	pool_req_begin(key);
	hc->hc_req = hr;
	if (n > 1)
		flags |= LOOKUP_BULK;
	for (i = 0; i < n; i++)
		hr->hr_lookups[i] = lookup_start_as(hr->hr_slots[i].hs_name,
		    hr->hr_slots[i].hs_len, flags, hc->hc_fd, hreq_answered,
		    &hr->hr_slots[i]);
	hr->hr_started = 1;
	if (hr->hr_done == hr->hr_n)
		hreq_finish(hr);	/* every name answered at once */
	else
		hc->hc_state = HC_BUSY;
}

/* ------------------------------------------------------ POST /v1/check */

struct hkey {
	char	*hk_key;
	int	 hk_i;
};

static int
hkey_cmp(const void *a, const void *b)
{
	const struct hkey	*x = a, *y = b;
	int			 c;

	if ((c = strcmp(x->hk_key, y->hk_key)) != 0)
		return c;
	return x->hk_i < y->hk_i ? -1 : x->hk_i > y->hk_i;
}

/*
 * Mark the names that repeat an earlier one, compared as lookups see
 * them (the A-label form; a name that is invalid, as sent): each name is
 * answered once, where it first appears.  Returns the names kept.
 */
static int
http_dedup(const struct http_names *hn, char *dup)
{
	struct hkey	*k;
	char		 ace[NAME_ACE_BUF], reason[NAME_REASON_BUF];
	size_t		 i, n = hn->hn_n, kept = 0;

	k = xcalloc(n, sizeof(*k));
	for (i = 0; i < n; i++) {
		k[i].hk_i = (int)i;
		if (hn->hn_len[i] <= NAME_INPUT_MAX && name_normalise(
		    hn->hn_name[i], ace, sizeof(ace), reason,
		    sizeof(reason)) == 0)
			k[i].hk_key = xstrdup(ace);
		else if (asprintf(&k[i].hk_key, "\001%s", hn->hn_name[i]) == -1)
			fatal("%s: asprintf", __func__);
	}
	qsort(k, n, sizeof(*k), hkey_cmp);
	for (i = 0; i < n; i++) {
		dup[k[i].hk_i] = i > 0 &&
		    strcmp(k[i].hk_key, k[i - 1].hk_key) == 0;
		kept += !dup[k[i].hk_i];
	}
	for (i = 0; i < n; i++)
		free(k[i].hk_key);
	free(k);
	return (int)kept;
}

/* ?wait=SECONDS of a POST: 0 with *wait (-1 if absent), -1 if bad. */
static int
http_query_wait(char *query, double *wait)
{
	char	*p, *amp, *end;
	double	 w;

	*wait = -1;
	for (p = query; p != NULL && *p != '\0'; p = amp != NULL ? amp + 1 :
	    NULL) {
		amp = strchr(p, '&');
		if (strncmp(p, "wait=", 5) != 0)
			continue;
		w = strtod(p + 5, &end);
		if (end == p + 5 || (end != amp && *end != '\0') ||
		    !(w >= 0 && w <= 3600))
			return -1;
		*wait = w;
	}
	return 0;
}

/* The whole body is in: parse it and start the lookups. */
static void
http_post_check(struct hconn *hc, struct hbody *hb)
{
	struct whoisd_conf	*wc = front_conf();
	struct http_names	 hn;
	struct hreq		*hr;
	struct timeval		 tv;
	char			 err[256], key[SB_KEYLEN], *dup;
	double			 wait;
	size_t			 j;
	int			 n, i, flags = 0;

	if (http_names_parse(hb->hb_buf, hb->hb_len,
	    (size_t)wc->wc_http_max_names, &hn, err, sizeof(err)) == -1) {
		http_respond_error(hc, 400, "Bad Request", err);
		return;
	}
	wait = hb->hb_wait;
	if (hn.hn_wait >= 0 && (wait < 0 || hn.hn_wait < wait))
		wait = hn.hn_wait;
	dup = xcalloc(hn.hn_n, 1);
	n = http_dedup(&hn, dup);
	hr = xcalloc(1, sizeof(*hr) + (size_t)n * (sizeof(*hr->hr_slots) +
	    sizeof(*hr->hr_lookups) + sizeof(*hr->hr_parts)));
	hr->hr_slots = (struct hslot *)(hr + 1);
	hr->hr_lookups = (struct lookup **)(hr->hr_slots + n);
	hr->hr_parts = (struct evbuffer **)(hr->hr_lookups + n);
	hr->hr_conn = hc;
	hr->hr_n = n;
	hr->hr_start = http_now;
	for (j = 0, i = 0; j < hn.hn_n; j++) {
		if (dup[j])
			continue;
		hr->hr_slots[i].hs_req = hr;
		hr->hr_slots[i].hs_i = i;
		hr->hr_slots[i].hs_name = hn.hn_name[j];
		hr->hr_slots[i].hs_len = hn.hn_len[j];
		i++;
	}
	free(dup);
	hr->hr_names = hn;		/* the slots point into it */
	snprintf(key, sizeof(key), "POST /v1/check: %zu names", hn.hn_n);
	pool_req_begin(key);
	hc->hc_req = hr;
	if (hb->hb_ndjson) {
		hr->hr_stream = hc->hc_http10 ? HR_UNTIL_CLOSE : HR_CHUNKED;
		if ((hr->hr_pend = evbuffer_new()) == NULL)
			fatalx("out of memory for an HTTP answer");
		http_respond_head(hc, 200, "OK", "application/x-ndjson",
		    HTTP_STREAMED, NULL);
	}
	/* Past request_timeout every lookup has answered anyway. */
	if (wait >= 0 && wait < wc->wc_request_timeout) {
		if ((hr->hr_wait = evtimer_new(http_base, hreq_wait_cb,
		    hr)) == NULL)
			fatalx("out of memory for an HTTP request");
		tv_from_seconds(&tv, wait);
		evtimer_add(hr->hr_wait, &tv);
	}
	if (n > 1)
		flags |= LOOKUP_BULK;
	for (i = 0; i < n; i++)
		hr->hr_lookups[i] = lookup_start_as(hr->hr_slots[i].hs_name,
		    hr->hr_slots[i].hs_len, flags, hc->hc_fd, hreq_answered,
		    &hr->hr_slots[i]);
	hr->hr_started = 1;
	if (hr->hr_done == hr->hr_n)
		hreq_finish(hr);	/* every name answered at once */
	else {
		hc->hc_state = HC_BUSY;
		if (hr->hr_stream)
			hreq_emit(hr);	/* what the memo knew, at once */
	}
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
				http_respond_error(hc, 413, "Content Too Large",
				    "request body over http_max_body");
			else
				http_respond_error(hc, 400, "Bad Request",
				    "malformed chunked request body");
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
	double		 wait;

	/* Framed, the body is read whole: the connection can go on. */
	hc->hc_keepalive = hh->hh_http10 ? hh->hh_conn_keepalive :
	    !hh->hh_conn_close;
	if (hh->hh_te_other) {
		hc->hc_keepalive = 0;
		http_respond_error(hc, 501, "Not Implemented",
		    "only the chunked transfer coding is understood");
		return;
	}
	if (hh->hh_cenc) {
		/* Never inflated: no zip bomb gets to be one. */
		hc->hc_keepalive = 0;
		http_respond_error(hc, 415, "Unsupported Media Type",
		    "request bodies must not have a Content-Encoding");
		return;
	}
	if (hh->hh_clen > (long long)http_body_max) {
		/* Refused before a byte of it is read. */
		hc->hc_keepalive = 0;
		http_respond_error(hc, 413, "Content Too Large",
		    "request body over http_max_body");
		return;
	}
	if (http_query_wait(hh->hh_query, &wait) == -1) {
		if (hh->hh_clen > 0 || hh->hh_chunked)
			hc->hc_keepalive = 0;
		http_respond_error(hc, 400, "Bad Request",
		    "wait must be a number of seconds from 0 to 3600");
		return;
	}
	if (!hh->hh_chunked && hh->hh_clen <= 0) {
		http_respond_error(hc, 400, "Bad Request",
		    "expected a JSON body {\"domains\":[\"example.com\",...]}");
		return;
	}
	hb = xcalloc(1, sizeof(*hb));
	hb->hb_max = http_body_max;
	hb->hb_left = hh->hh_clen;
	hb->hb_chunked = hh->hh_chunked;
	http_chunked_init(&hb->hb_ck, http_body_max);
	hb->hb_ndjson = hh->hh_ndjson;
	hb->hb_wait = wait;
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
	    "\"protocol\":%d,\"child\":%ld,\"pool\":", WHOISD_VERSION,
	    PROTO_VERSION, (long)getpid());
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
	for (i = 0; i < AS_NSTATUS; i++)
		evbuffer_add_printf(b, "whoisd_answers_total{status=\"%s\","
		    "child=\"%ld\"} %llu\n", answer_status_name(i),
		    (long)getpid(), (unsigned long long)front_stats.fs_answers[i]);
	evbuffer_add_printf(b, "# HELP whoisd_answers_by_source_total Answers "
	    "by source.\n# TYPE whoisd_answers_by_source_total counter\n");
	for (i = 0; i < SRC_NSOURCE; i++)
		evbuffer_add_printf(b, "whoisd_answers_by_source_total{source="
		    "\"%s\",child=\"%ld\"} %llu\n", answer_source_name(i),
		    (long)getpid(), (unsigned long long)front_stats.fs_source[i]);
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
	    "# HELP whoisd_memo_refreshed_total Expired memo entries the cache "
	    "confirmed unchanged (no text sent).\n"
	    "# TYPE whoisd_memo_refreshed_total counter\n"
	    "whoisd_memo_refreshed_total{child=\"%ld\"} %llu\n"
	    "# HELP whoisd_timeouts_total Requests answered at request_timeout.\n"
	    "# TYPE whoisd_timeouts_total counter\n"
	    "whoisd_timeouts_total{child=\"%ld\"} %llu\n",
	    (long)getpid(), cs.cs_connected, (long)getpid(), qs.cs_connected,
	    (long)getpid(), (unsigned long long)front_stats.fs_cache_errors,
	    (long)getpid(), (unsigned long long)front_stats.fs_query_errors,
	    (long)getpid(), (unsigned long long)front_stats.fs_memo_hits,
	    (long)getpid(), (unsigned long long)front_stats.fs_cache_same,
	    (long)getpid(), (unsigned long long)front_stats.fs_timeouts);
	http_respond(hc, 200, "OK", "text/plain; version=0.0.4", b, NULL);
	evbuffer_free(b);
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
		http_respond_error(hc, 404, "Not Found", msg);
		return;
	}
	if (static_not_modified(sf, hh->hh_inm)) {
		http_respond_head(hc, 304, "Not Modified", sf->sf_ctype, 0,
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

/* Answer one parsed request. */
static void
http_route(struct hconn *hc, struct http_head *hh)
{
	const char	*path = hh->hh_path;
	int		 get = strcmp(hh->hh_method, "GET") == 0, wait;
	char		 extra[48];

	front_stats.fs_http_requests++;
	hc->hc_head = strcmp(hh->hh_method, "HEAD") == 0;
	if ((wait = limits_req(hc->hc_cl, http_now)) > 0) {
		snprintf(extra, sizeof(extra), "Retry-After: %d\r\n", wait);
		http_respond_error_extra(hc, 429, "Too Many Requests",
		    "too many requests from your address", extra);
		return;
	}
	if (!get && !hc->hc_head) {
		if (strcmp(path, "/v1/check") != 0)
			http_respond_error_extra(hc, 405, "Method Not Allowed",
			    "only GET and HEAD", "Allow: GET, HEAD\r\n");
		else if (strcmp(hh->hh_method, "POST") == 0)
			http_post_begin(hc, hh);
		else
			http_respond_error_extra(hc, 405, "Method Not Allowed",
			    "only GET, HEAD and POST",
			    "Allow: GET, HEAD, POST\r\n");
		return;
	}
	if (strcmp(path, "/v1/check") == 0)
		http_lookups(hc, 0, hh->hh_query);
	else if (strcmp(path, "/v1/whois") == 0)
		http_lookups(hc, 1, hh->hh_query);
	else if (strcmp(path, "/status") == 0)
		http_status(hc);
	else if (strcmp(path, "/metrics") == 0)
		http_metrics(hc);
	else if (static_path(path))
		http_static(hc, hh);
	else
		http_respond_error(hc, 404, "Not Found",
		    "unknown path; see /v1/check?domain=NAME");
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
				hc->hc_head = 0;
				hc->hc_keepalive = 0;
				hc->hc_off = hc->hc_len;
				http_respond_error(hc, 431, "Request Header "
				    "Fields Too Large", "request head too "
				    "large");
			} else if (hc->hc_eof)
				hc->hc_off = hc->hc_len; /* EOF mid-request */
			return;
		}
		head = hc->hc_in + hc->hc_off;
		hc->hc_off += (size_t)n;
		hc->hc_req_start = hc->hc_head_start;
		/* What follows in the buffer is the next head, begun by now. */
		hc->hc_head_start = http_now;
		hc->hc_head = 0;
		hc->hc_error = 0;
		if ((r = http_parse_head(head, (size_t)n, &hh)) != 0) {
			hc->hc_keepalive = 0;
			hc->hc_http10 = 0;
			http_respond_error(hc, r, r == 505 ?
			    "HTTP Version Not Supported" : "Bad Request",
			    r == 505 ? "HTTP/1.1 or HTTP/1.0 only" :
			    "malformed request");
			return;
		}
		hc->hc_http10 = hh.hh_http10;
		hc->hc_keepalive = hh.hh_keepalive;
		if (hh.hh_body) {
			/* We take no bodies, and cannot find where the next
			 * request starts: answer, then close. */
			if (strcmp(hh.hh_method, "GET") == 0 ||
			    strcmp(hh.hh_method, "HEAD") == 0) {
				http_respond_error(hc, 400, "Bad Request",
				    "a request body is not allowed");
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
