/*
 * link.c — server side of a framed connection on a bufferevent.
 *
 * States: OPEN reads and dispatches; DRAINING (after goaway) still reads
 * and dispatches what the peer sent before it saw the goaway, and ends
 * when the peer closes, or, after a short grace, once every in-flight
 * reply is written; CLOSING (after a bad frame) reads nothing and closes
 * once its err reply is written; CLOSED has no socket and only waits for
 * the pending replies to be dropped before the struct is freed.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "common/log.h"
#include "common/util.h"
#include "proto/link.h"

#define LINK_MAX_INFLIGHT	1024
#define LINK_OUT_HIGH		(8u * 1024 * 1024)
#define LINK_FLUSH_TIMEOUT_MS	10000
/*
 * After goaway, requests the peer sent before it read the goaway are
 * still on their way (or already in our socket buffer): they are read
 * and answered.  The peer closes its side once it has its replies; one
 * that does not is closed this long after the goaway, once idle.
 */
#define LINK_DRAIN_GRACE_MS	500

enum link_state {
	LINK_OPEN,	/**< reading and dispatching requests */
	LINK_DRAINING,	/**< goaway sent; answering what still arrives */
	LINK_CLOSING,	/**< bad frame; flushing the err reply */
	LINK_CLOSED,	/**< socket gone; waiting for pending replies */
};

struct link {
	struct bufferevent	*l_bev;
	enum link_state		 l_state;
	struct link_cb		 l_cb;
	void			*l_arg;
	struct link_opts	 l_opts;
	size_t			 l_inflight;	/* given to the handler, unanswered */
	int			 l_busy;	/* inside a callback: do not free */
	int			 l_paused;	/* reading paused for back-pressure */
	int			 l_version;
	int			 l_grace_over;	/* draining: stop waiting for EOF */
	struct event		*l_grace_ev;
	char			 l_peer[96];
};

static void	link_readcb(struct bufferevent *, void *);
static void	link_writecb(struct bufferevent *, void *);
static void	link_eventcb(struct bufferevent *, short, void *);

static void
link_peer_str(const struct sockaddr *sa, socklen_t salen, char *buf,
    size_t len)
{
	char	host[64], serv[16];

	if (sa == NULL || salen == 0 || sa->sa_family == AF_UNIX) {
		snprintf(buf, len, "local");
		return;
	}
	if (getnameinfo(sa, salen, host, sizeof(host), serv, sizeof(serv),
	    NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
		snprintf(buf, len, "unknown");
		return;
	}
	if (sa->sa_family == AF_INET6)
		snprintf(buf, len, "[%s]:%s", host, serv);
	else
		snprintf(buf, len, "%s:%s", host, serv);
}

struct link *
link_new(struct event_base *base, int fd, const struct sockaddr *sa,
    socklen_t salen, const struct link_cb *cb, const struct link_opts *opts,
    void *arg)
{
	struct link	*l;
	int		 one = 1;

	l = xcalloc(1, sizeof(*l));
	if (opts != NULL)
		l->l_opts = *opts;
	if (l->l_opts.lo_max_inflight == 0)
		l->l_opts.lo_max_inflight = LINK_MAX_INFLIGHT;
	if (l->l_opts.lo_out_high == 0)
		l->l_opts.lo_out_high = LINK_OUT_HIGH;
	if (l->l_opts.lo_flush_timeout_ms <= 0)
		l->l_opts.lo_flush_timeout_ms = LINK_FLUSH_TIMEOUT_MS;
	l->l_cb = *cb;
	l->l_arg = arg;
	l->l_version = PROTO_VERSION;
	link_peer_str(sa, salen, l->l_peer, sizeof(l->l_peer));
	/* Replies are small and latency matters more than packet count;
	 * fails harmlessly on a socketpair. */
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	fd_nonblock(fd);
	l->l_bev = bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (l->l_bev == NULL) {
		log_warnx("%s: %s: bufferevent_socket_new failed", __func__,
		    l->l_peer);
		close(fd);
		free(l);
		return NULL;
	}
	bufferevent_setcb(l->l_bev, link_readcb, link_writecb, link_eventcb, l);
	bufferevent_enable(l->l_bev, EV_READ | EV_WRITE);
	return l;
}

static void
link_maybe_free(struct link *l)
{
	if (l->l_state != LINK_CLOSED || l->l_inflight != 0 || l->l_busy != 0)
		return;
	if (l->l_cb.lc_free != NULL)
		l->l_cb.lc_free(l, l->l_arg);
	free(l);
}

/* End the connection (once) and tell the daemon. */
static void
link_shut(struct link *l)
{
	if (l->l_state == LINK_CLOSED)
		return;
	l->l_state = LINK_CLOSED;
	bufferevent_free(l->l_bev);
	l->l_bev = NULL;
	if (l->l_grace_ev != NULL) {
		event_free(l->l_grace_ev);
		l->l_grace_ev = NULL;
	}
	l->l_busy++;
	if (l->l_cb.lc_closed != NULL)
		l->l_cb.lc_closed(l, l->l_arg);
	l->l_busy--;
}

/*
 * A closing link whose reply is written is closed; so is a draining one
 * with nothing in flight, once its grace is over (before that, the peer's
 * own close ends it).
 */
static void
link_check_done(struct link *l)
{
	if (l->l_state == LINK_DRAINING && !l->l_grace_over)
		return;
	if ((l->l_state == LINK_DRAINING || l->l_state == LINK_CLOSING) &&
	    l->l_inflight == 0 &&
	    evbuffer_get_length(bufferevent_get_output(l->l_bev)) == 0)
		link_shut(l);
}

/* A link on its way out gives a peer that stops reading this long. */
static void
link_arm_flush_timeout(struct link *l)
{
	struct timeval	tv;

	tv_from_ms(&tv, l->l_opts.lo_flush_timeout_ms);
	bufferevent_set_timeouts(l->l_bev, NULL, &tv);
}

/* Stop reading and close once output is flushed (bounded by a timeout). */
static void
link_stop_reading(struct link *l, enum link_state st)
{
	l->l_state = st;
	bufferevent_disable(l->l_bev, EV_READ);
	link_arm_flush_timeout(l);
}

/* Pause reading while the peer is not reading our replies or too many
 * of its requests are unanswered; resume when both are back down. */
static void
link_flow(struct link *l)
{
	int	pause;

	if (l->l_state != LINK_OPEN && l->l_state != LINK_DRAINING)
		return;
	pause = l->l_inflight >= l->l_opts.lo_max_inflight ||
	    evbuffer_get_length(bufferevent_get_output(l->l_bev)) >
	    l->l_opts.lo_out_high;
	if (pause && !l->l_paused) {
		bufferevent_disable(l->l_bev, EV_READ);
		l->l_paused = 1;
	} else if (!pause && l->l_paused) {
		bufferevent_enable(l->l_bev, EV_READ);
		l->l_paused = 0;
		/* Frames may already sit in the input buffer. */
		if (evbuffer_get_length(bufferevent_get_input(l->l_bev)) > 0)
			bufferevent_trigger(l->l_bev, EV_READ, 0);
	}
}

static int
link_send(struct link *l, const void *body, size_t len)
{
	if (l->l_state == LINK_CLOSED)
		return -1;
	if (frame_write(bufferevent_get_output(l->l_bev), body, len,
	    &l->l_opts.lo_limits) == -1) {
		log_warnx("%s: %s: reply of %zu bytes not sent (over max_frame "
		    "or out of memory)", __func__, l->l_peer, len);
		return -1;
	}
	return 0;
}

/* Send an err outside the request accounting (bad frames). */
static void
link_send_err(struct link *l, uint64_t id, int version, const char *code,
    const char *text)
{
	struct msgb	b;

	msgb_init(&b);
	if (msg_pack_err(&b, id, version, code, text) == 0)
		link_send(l, msgb_data(&b), msgb_len(&b));
	msgb_free(&b);
}

/* One request was answered (or dropped). */
static void
link_done_one(struct link *l)
{
	if (l->l_inflight == 0) {
		log_warnx("%s: %s: reply without a pending request", __func__,
		    l->l_peer);
		return;
	}
	l->l_inflight--;
	if (l->l_state == LINK_CLOSED) {
		link_maybe_free(l);
		return;
	}
	link_flow(l);
	link_check_done(l);
}

int
link_reply(struct link *l, const struct msgb *b)
{
	int	r;

	r = link_send(l, msgb_data(b), msgb_len(b));
	link_done_one(l);
	return r;
}

int
link_reply_ok(struct link *l, uint64_t id)
{
	struct msgb	b;
	int		r;

	msgb_init(&b);
	msg_pack_ok(&b, id, l->l_version);
	r = link_reply(l, &b);
	msgb_free(&b);
	return r;
}

int
link_reply_err(struct link *l, uint64_t id, const char *code,
    const char *fmt, ...)
{
	struct msgb	b;
	va_list		ap;
	char		text[512];
	int		r;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	msgb_init(&b);
	msg_pack_err(&b, id, l->l_version, code, text);
	r = link_reply(l, &b);
	msgb_free(&b);
	return r;
}

void
link_reply_drop(struct link *l)
{
	link_done_one(l);
}

static void
link_bad(struct link *l, uint64_t id, int version, const char *code,
    const char *why)
{
	char	esc[256];

	log_warnx("%s: %s: %s, closing", __func__, l->l_peer,
	    log_escape(why, strlen(why), esc, sizeof(esc)));
	link_send_err(l, id, PROTO_VERSION_OK(version) ? version : PROTO_VERSION,
	    code, why);
	link_stop_reading(l, LINK_CLOSING);
}

static void
link_dispatch(struct link *l, struct msg *m)
{
	struct msgb	b;
	int		r;

	l->l_version = msg_version(m);
	switch (msg_type(m)) {
	case MSG_PING:
		l->l_inflight++;
		msgb_init(&b);
		msg_pack_pong(&b, msg_id(m), l->l_version);
		link_reply(l, &b);
		msgb_free(&b);
		return;
	case MSG_GOAWAY:
		/* A client going away needs no answer. */
		return;
	default:
		break;
	}
	l->l_inflight++;
	r = l->l_cb.lc_request(l, m, l->l_arg);
	if (r == -1)
		link_reply_err(l, msg_id(m), MSG_E_UNKNOWN_TYPE,
		    "unknown message type \"%s\"", msg_tname(m));
}

static void
link_readcb(struct bufferevent *bev, void *arg)
{
	struct link	*l = arg;
	struct evbuffer	*in = bufferevent_get_input(bev);
	struct frame	 fr;
	struct msg	*m;
	const char	*code;
	char		 err[256];
	uint64_t	 id;
	int		 r, v;

	l->l_busy++;
	while ((l->l_state == LINK_OPEN || l->l_state == LINK_DRAINING) &&
	    !l->l_paused) {
		r = frame_read(in, &l->l_opts.lo_limits, &fr, err, sizeof(err));
		if (r == 0)
			break;
		if (r == -1) {
			link_bad(l, 0, 0, MSG_E_BAD_FRAME, err);
			break;
		}
		m = msg_unpack(fr.fr_body, fr.fr_len, &id, &v, &code, err,
		    sizeof(err));
		if (m == NULL) {
			if (strcmp(code, MSG_E_BAD_VERSION) == 0) {
				/* Readable, just not ours: answer, keep open. */
				log_warnx("%s: %s: %s", __func__, l->l_peer,
				    err);
				link_send_err(l, id, PROTO_VERSION, code, err);
				continue;
			}
			link_bad(l, id, v, code, err);
			break;
		}
		link_dispatch(l, m);
		msg_free(m);
		link_flow(l);
	}
	l->l_busy--;
	link_maybe_free(l);
}

static void
link_writecb(struct bufferevent *bev, void *arg)
{
	struct link	*l = arg;

	(void)bev;
	l->l_busy++;
	link_flow(l);
	link_check_done(l);
	l->l_busy--;
	link_maybe_free(l);
}

static void
link_eventcb(struct bufferevent *bev, short what, void *arg)
{
	struct link	*l = arg;

	(void)bev;
	if (what & BEV_EVENT_ERROR)
		log_info("%s: %s: connection error: %s", __func__, l->l_peer,
		    evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
	else if (what & BEV_EVENT_TIMEOUT)
		log_warnx("%s: %s: peer not reading, closing", __func__,
		    l->l_peer);
	else
		log_debug("%s: %s: peer closed", __func__, l->l_peer);
	l->l_busy++;
	link_shut(l);
	l->l_busy--;
	link_maybe_free(l);
}

static void
link_grace_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct link	*l = arg;

	(void)fd;
	(void)ev;
	l->l_grace_over = 1;
	l->l_busy++;
	link_check_done(l);
	l->l_busy--;
	link_maybe_free(l);
}

/*
 * Reading goes on: what the peer sent before it saw the goaway is
 * answered, not dropped (a put in flight would be lost otherwise).  The
 * peer closes once it has its replies; the grace bounds a peer that
 * stays, and the flush timeout a peer that stops reading.
 */
void
link_goaway(struct link *l)
{
	struct msgb	b;
	struct timeval	tv;

	if (l->l_state != LINK_OPEN)
		return;
	msgb_init(&b);
	msg_pack_goaway(&b, l->l_version);
	link_send(l, msgb_data(&b), msgb_len(&b));
	msgb_free(&b);
	l->l_state = LINK_DRAINING;
	link_arm_flush_timeout(l);
	l->l_grace_ev = evtimer_new(bufferevent_get_base(l->l_bev),
	    link_grace_cb, l);
	if (l->l_grace_ev == NULL)
		l->l_grace_over = 1;
	else {
		tv_from_ms(&tv, LINK_DRAIN_GRACE_MS);
		evtimer_add(l->l_grace_ev, &tv);
	}
}

void
link_close(struct link *l)
{
	l->l_busy++;
	link_shut(l);
	l->l_busy--;
	link_maybe_free(l);
}

int
link_version(const struct link *l)
{
	return l->l_version;
}

const char *
link_peer(const struct link *l)
{
	return l->l_peer;
}

int
link_alive(const struct link *l)
{
	return l->l_state != LINK_CLOSED;
}

size_t
link_inflight(const struct link *l)
{
	return l->l_inflight;
}

void *
link_arg(const struct link *l)
{
	return l->l_arg;
}
