/*
 * link.c — server side of a framed connection on a bufferevent.
 *
 * States: OPEN reads and dispatches; DRAINING (after goaway) still reads
 * and dispatches what the peer sent before it saw the goaway, and ends
 * when the peer closes, or, after a short grace, once every in-flight
 * reply is written; CLOSING (after a bad frame) reads nothing and closes
 * once its err reply is written; CLOSED has no socket and only waits for
 * the pending replies to be dropped before the struct is freed.
 *
 * A reply is sent from the daemon's code, which may hold the link in its
 * own lists: nothing that ends the connection (and calls lc_closed back
 * into the daemon) runs inside link_reply(); it is deferred to l_later_ev.
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
#include "proto/auth.h"
#include "proto/link.h"

#define LINK_MAX_INFLIGHT	1024
#define LINK_OUT_HIGH		(8u * 1024 * 1024)
#define LINK_FLUSH_TIMEOUT_MS	10000
#define LINK_FRAME_TIMEOUT_MS	10000
#define LINK_HELLO_TIMEOUT_MS	10000
#define LINK_IDLE_TIMEOUT_MS	300000
/*
 * After goaway, requests the peer sent before it read the goaway are
 * still on their way (or already in our socket buffer): they are read
 * and answered.  The peer closes its side once it has its replies; one
 * that does not is closed this long after the goaway, once idle.
 */
#define LINK_DRAIN_GRACE_MS	500
/*
 * Before a peer has proved its role, a frame may be this big: hello and
 * auth are under 200 bytes, and a process without a key must not make
 * each of its connections buffer a max_frame.
 */
#define LINK_PREAUTH_MAX_FRAME	4096

/* Who the peer is (auth.h); requests are served from DONE, LEGACY, OFF. */
enum link_auth_state {
	LA_OFF,		/**< no keys set: no handshake (link-layer unit tests) */
	LA_WAIT_HELLO,
	LA_WAIT_AUTH,	/**< hello_r sent */
	LA_DONE,	/**< the peer proved l_role */
	LA_LEGACY,	/**< link_auth prefer: a peer that said no hello */
};

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
	struct frame_limits	 l_prelimits;	/* until the handshake is done */
	size_t			 l_inflight;	/* given to the handler, unanswered */
	int			 l_busy;	/* inside a callback: do not free */
	int			 l_paused;	/* reading paused for back-pressure */
	int			 l_version;
	int			 l_grace_over;	/* draining: stop waiting for EOF */
	int			 l_spoke;	/* a frame was read */
	enum link_auth_state	 l_auth;
	enum link_role		 l_role;	/* the peer's, once LA_DONE */
	uint8_t			 l_cnonce[AUTH_NONCE_LEN];
	uint8_t			 l_snonce[AUTH_NONCE_LEN];
	double			 l_born;	/* mono: accepted */
	struct log_limit	 l_ll_version;	/* bad versions from this peer */
	size_t			 l_out_hard;	/* unsent bytes that close the link */
	double			 l_last;	/* mono: last frame in or last reply
						 * with nothing left in flight */
	struct event		*l_grace_ev;
	struct event		*l_idle_ev;	/* hello, then idle timeout */
	struct event		*l_frame_ev;	/* a frame begun, not yet whole */
	struct event		*l_later_ev;	/* re-check after a reply */
	char			 l_peer[96];
};

/*
 * What ends a link is logged once per link at most, and then rate-limited
 * per process (one link server per child): a peer opening many links must
 * not get a line for each, bad frames included.
 */
static struct log_limit	ll_not_reading, ll_frame_stall, ll_silent, ll_bad;
/* Refused handshakes and legacy peers, per process: a peer retrying
 * with a wrong key must not write a line per attempt. */
static struct log_limit	ll_auth, ll_legacy;

static void	link_readcb(struct bufferevent *, void *);
static void	link_writecb(struct bufferevent *, void *);
static void	link_eventcb(struct bufferevent *, short, void *);
static void	link_idle_cb(evutil_socket_t, short, void *);
static void	link_frame_cb(evutil_socket_t, short, void *);
static void	link_later_cb(evutil_socket_t, short, void *);
static void	link_arm_flush_timeout(struct link *);
static void	link_dispatch(struct link *, struct msg *);

/*
 * The frame limits for the next frame: small until the peer has proved
 * its role, unless link_auth prefer lets a legacy peer's first request
 * (a put with its text) be the first frame.
 */
static const struct frame_limits *
link_limits(const struct link *l)
{
	if (l->l_auth == LA_WAIT_HELLO &&
	    link_keys_mode(link_keys_get()) == AUTH_PREFER)
		return &l->l_opts.lo_limits;
	return l->l_auth == LA_WAIT_HELLO || l->l_auth == LA_WAIT_AUTH ?
	    &l->l_prelimits : &l->l_opts.lo_limits;
}

/* Requests are served: the handshake is done, or not asked for. */
static int
link_serving(const struct link *l)
{
	return l->l_auth == LA_DONE || l->l_auth == LA_LEGACY ||
	    l->l_auth == LA_OFF;
}

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
	struct timeval	 tv;
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
	if (l->l_opts.lo_frame_timeout_ms <= 0)
		l->l_opts.lo_frame_timeout_ms = LINK_FRAME_TIMEOUT_MS;
	if (l->l_opts.lo_hello_timeout_ms <= 0)
		l->l_opts.lo_hello_timeout_ms = LINK_HELLO_TIMEOUT_MS;
	if (l->l_opts.lo_idle_timeout_ms <= 0)
		l->l_opts.lo_idle_timeout_ms = LINK_IDLE_TIMEOUT_MS;
	/* Past the pause point, only replies to requests already taken in
	 * can add output: a frame's worth of slack covers a big one. */
	l->l_out_hard = 2 * l->l_opts.lo_out_high +
	    frame_max(&l->l_opts.lo_limits) + FRAME_HDRLEN;
	l->l_last = l->l_born = now_mono();
	l->l_auth = link_keys_get() != NULL ? LA_WAIT_HELLO : LA_OFF;
	l->l_prelimits = l->l_opts.lo_limits;
	if (frame_max(&l->l_prelimits) > LINK_PREAUTH_MAX_FRAME)
		l->l_prelimits.fl_max_frame = LINK_PREAUTH_MAX_FRAME;
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
	l->l_idle_ev = evtimer_new(base, link_idle_cb, l);
	l->l_frame_ev = evtimer_new(base, link_frame_cb, l);
	l->l_later_ev = evtimer_new(base, link_later_cb, l);
	if (l->l_idle_ev == NULL || l->l_frame_ev == NULL ||
	    l->l_later_ev == NULL)
		fatalx("%s: evtimer_new", __func__);
	bufferevent_setcb(l->l_bev, link_readcb, link_writecb, link_eventcb, l);
	bufferevent_enable(l->l_bev, EV_READ | EV_WRITE);
	/* A peer that stops reading is closed whatever the state. */
	link_arm_flush_timeout(l);
	tv_from_ms(&tv, l->l_opts.lo_hello_timeout_ms);
	evtimer_add(l->l_idle_ev, &tv);
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
	event_free(l->l_idle_ev);
	event_free(l->l_frame_ev);
	event_free(l->l_later_ev);
	l->l_idle_ev = l->l_frame_ev = l->l_later_ev = NULL;
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
	size_t	out;
	int	pause;

	if (l->l_state != LINK_OPEN && l->l_state != LINK_DRAINING)
		return;
	out = evbuffer_get_length(bufferevent_get_output(l->l_bev));
	pause = l->l_inflight >= l->l_opts.lo_max_inflight ||
	    out > l->l_opts.lo_out_high;
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

/*
 * Reading stops at lo_out_high, but replies to requests already taken
 * in still add output: a peer that lets it pass the hard limit is not
 * reading and is closed.  Only from the link's own callbacks.
 */
static int
link_over_hard(struct link *l)
{
	size_t	out;

	if (l->l_state != LINK_OPEN && l->l_state != LINK_DRAINING)
		return 0;
	out = evbuffer_get_length(bufferevent_get_output(l->l_bev));
	if (out <= l->l_out_hard)
		return 0;
	log_warnx_limited(&ll_not_reading, "%s: %s: %zu bytes of replies "
	    "unread, closing", __func__, l->l_peer, out);
	link_shut(l);
	return 1;
}

/* Work that may end the connection, run outside the daemon's code. */
static void
link_later(struct link *l)
{
	if (l->l_later_ev != NULL)
		event_active(l->l_later_ev, EV_TIMEOUT, 0);
}

static void
link_later_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct link	*l = arg;

	(void)fd;
	(void)ev;
	l->l_busy++;
	if (!link_over_hard(l)) {
		link_flow(l);
		link_check_done(l);
	}
	l->l_busy--;
	link_maybe_free(l);
}

/*
 * The frame clock runs from a frame's first byte to its last; it is
 * stopped while reading is paused (the rest may be waiting in the
 * socket for us, not for the peer).  `fresh`: a frame was read since
 * the clock started, so what is left began later.
 */
static void
link_frame_clock(struct link *l, int fresh)
{
	struct timeval	tv;

	if ((l->l_state != LINK_OPEN && l->l_state != LINK_DRAINING) ||
	    l->l_paused ||
	    evbuffer_get_length(bufferevent_get_input(l->l_bev)) == 0) {
		evtimer_del(l->l_frame_ev);
		return;
	}
	if (fresh || !evtimer_pending(l->l_frame_ev, NULL)) {
		tv_from_ms(&tv, l->l_opts.lo_frame_timeout_ms);
		evtimer_add(l->l_frame_ev, &tv);
	}
}

static void
link_frame_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct link	*l = arg;

	(void)fd;
	(void)ev;
	log_warnx_limited(&ll_frame_stall, "%s: %s: frame not whole %d ms "
	    "after its first byte, closing", __func__, l->l_peer,
	    l->l_opts.lo_frame_timeout_ms);
	l->l_busy++;
	link_shut(l);
	l->l_busy--;
	link_maybe_free(l);
}

/*
 * A link that never sent a frame (lo_hello_timeout_ms), or has had
 * nothing in flight for lo_idle_timeout_ms, gets goaway: a request
 * the peer sends meanwhile is still answered, so a client loses
 * nothing and just reconnects.
 */
static void
link_idle_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct link	*l = arg;
	struct timeval	 tv;
	double		 limit, left;

	(void)fd;
	(void)ev;
	if (l->l_state != LINK_OPEN)
		return;
	if (!link_serving(l)) {
		/* The whole handshake fits in the hello timeout. */
		left = l->l_born + l->l_opts.lo_hello_timeout_ms / 1000.0 -
		    now_mono();
		if (left > 0) {
			tv_from_seconds(&tv, left);
			evtimer_add(l->l_idle_ev, &tv);
			return;
		}
		log_warnx_limited(&ll_silent, "%s: %s: not authenticated %d ms "
		    "after connecting, closing", __func__, l->l_peer,
		    l->l_opts.lo_hello_timeout_ms);
		l->l_busy++;
		link_shut(l);
		l->l_busy--;
		link_maybe_free(l);
		return;
	}
	limit = (l->l_spoke ? l->l_opts.lo_idle_timeout_ms :
	    l->l_opts.lo_hello_timeout_ms) / 1000.0;
	if (l->l_inflight > 0 ||
	    evbuffer_get_length(bufferevent_get_output(l->l_bev)) > 0)
		left = limit;
	else
		left = l->l_last + limit - now_mono();
	if (left > 0) {
		tv_from_seconds(&tv, left);
		evtimer_add(l->l_idle_ev, &tv);
		return;
	}
	if (l->l_spoke)
		log_debug("%s: %s: idle for %.0f s, goaway", __func__,
		    l->l_peer, limit);
	else
		log_warnx_limited(&ll_silent, "%s: %s: no frame %.0f s after "
		    "connecting, goaway", __func__, l->l_peer, limit);
	l->l_busy++;
	link_goaway(l);
	l->l_busy--;
	link_maybe_free(l);
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
	if (l->l_inflight == 0)
		l->l_last = now_mono();
	if (l->l_state == LINK_CLOSED) {
		link_maybe_free(l);
		return;
	}
	link_flow(l);
	/* Ending the connection calls back into the daemon: not from here. */
	if (l->l_state != LINK_OPEN ||
	    evbuffer_get_length(bufferevent_get_output(l->l_bev)) >
	    l->l_out_hard)
		link_later(l);
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

	log_warnx_limited(&ll_bad, "%s: %s: %s, closing", __func__, l->l_peer,
	    log_escape(why, strlen(why), esc, sizeof(esc)));
	link_send_err(l, id, PROTO_VERSION_OK(version) ? version : PROTO_VERSION,
	    code, why);
	link_stop_reading(l, LINK_CLOSING);
}

/* From the hello timeout to the idle one, once requests are served. */
static void
link_now_serving(struct link *l)
{
	struct timeval	tv;

	tv_from_ms(&tv, l->l_opts.lo_idle_timeout_ms);
	evtimer_add(l->l_idle_ev, &tv);
}

/* A handshake failed: say why, close once that is written. */
static void
link_refuse(struct link *l, uint64_t id, const char *code, const char *why)
{
	char	esc[256];

	log_warnx_limited(&ll_auth, "%s: %s: refused: %s", __func__,
	    l->l_peer, log_escape(why, strlen(why), esc, sizeof(esc)));
	link_send_err(l, id, l->l_version, code, why);
	link_stop_reading(l, LINK_CLOSING);
}

/* hello {role, nonce}: sign both nonces and roles as the server. */
static void
link_hello(struct link *l, const struct link_keys *lk, struct msg *m)
{
	struct msgb	b;
	enum link_role	role;
	uint8_t		sig[AUTH_SIG_LEN];
	unsigned	accept = l->l_opts.lo_auth_roles;
	char		err[256], why[320];

	if (msg_read_hello(m, &role, l->l_cnonce, err, sizeof(err)) == -1) {
		snprintf(why, sizeof(why), "hello: %s", err);
		link_refuse(l, msg_id(m), MSG_E_AUTH_FAILED, why);
		return;
	}
	if ((accept != 0 && !(accept & ROLE_BIT(role))) ||
	    !link_keys_has_pub(lk, role)) {
		snprintf(why, sizeof(why), "role %s is not served here",
		    role_name(role));
		link_refuse(l, msg_id(m), MSG_E_AUTH_FAILED, why);
		return;
	}
	if (auth_random(l->l_snonce, sizeof(l->l_snonce)) == -1 ||
	    auth_sign(lk, AUTH_SIDE_SERVER, l->l_cnonce, l->l_snonce, role,
	    link_keys_role(lk), sig, err, sizeof(err)) == -1) {
		log_warnx("%s: %s: %s", __func__, l->l_peer, err);
		link_refuse(l, msg_id(m), MSG_E_INTERNAL, "cannot sign");
		return;
	}
	l->l_role = role;
	l->l_auth = LA_WAIT_AUTH;
	l->l_inflight++;
	msgb_init(&b);
	msg_pack_hello_r(&b, msg_id(m), l->l_version, link_keys_role(lk),
	    l->l_snonce, sig);
	link_reply(l, &b);
	msgb_free(&b);
}

/* auth {sig}: the client's signature over the same nonces and roles. */
static void
link_auth(struct link *l, const struct link_keys *lk, struct msg *m)
{
	uint8_t	sig[AUTH_SIG_LEN];
	char	err[256], why[320];

	if (msg_read_auth(m, sig, err, sizeof(err)) == -1 ||
	    auth_verify(lk, l->l_role, AUTH_SIDE_CLIENT, l->l_cnonce,
	    l->l_snonce, l->l_role, link_keys_role(lk), sig, sizeof(sig), err,
	    sizeof(err)) == -1) {
		snprintf(why, sizeof(why), "auth as %s: %s",
		    role_name(l->l_role), err);
		link_refuse(l, msg_id(m), MSG_E_AUTH_FAILED, why);
		return;
	}
	l->l_auth = LA_DONE;
	log_debug("%s: %s: authenticated as %s", __func__, l->l_peer,
	    role_name(l->l_role));
	l->l_inflight++;
	link_reply_ok(l, msg_id(m));
	link_now_serving(l);
}

/* A frame before the link serves: the handshake, or a legacy peer. */
static void
link_handshake(struct link *l, struct msg *m)
{
	const struct link_keys	*lk = link_keys_get();

	if (l->l_auth == LA_WAIT_HELLO && msg_type(m) == MSG_HELLO) {
		link_hello(l, lk, m);
		return;
	}
	if (l->l_auth == LA_WAIT_AUTH && msg_type(m) == MSG_AUTH) {
		link_auth(l, lk, m);
		return;
	}
	if (l->l_auth == LA_WAIT_HELLO && link_keys_mode(lk) == AUTH_PREFER) {
		log_warnx_limited(&ll_legacy, "%s: %s: no hello (an older "
		    "version?): served unauthenticated, as link_auth prefer "
		    "allows", __func__, l->l_peer);
		l->l_auth = LA_LEGACY;
		link_now_serving(l);
		link_dispatch(l, m);
		return;
	}
	link_refuse(l, msg_id(m), MSG_E_UNAUTHENTICATED, l->l_auth ==
	    LA_WAIT_HELLO ? "hello first: links here are authenticated "
	    "(link_auth require)" : "auth expected after hello_r");
}

static void
link_dispatch(struct link *l, struct msg *m)
{
	struct msgb	b;
	int		r;

	l->l_version = msg_version(m);
	if (!link_serving(l)) {
		link_handshake(l, m);
		return;
	}
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
	int		 r, v, fresh = 0;

	l->l_busy++;
	while ((l->l_state == LINK_OPEN || l->l_state == LINK_DRAINING) &&
	    !l->l_paused) {
		r = frame_read(in, link_limits(l), &fr, err, sizeof(err));
		if (r == 0)
			break;
		fresh = 1;
		if (r == -1) {
			link_bad(l, 0, 0, MSG_E_BAD_FRAME, err);
			break;
		}
		m = msg_unpack(fr.fr_body, fr.fr_len, &id, &v, &code, err,
		    sizeof(err));
		if (m == NULL) {
			if (strcmp(code, MSG_E_BAD_VERSION) == 0) {
				/* Readable, just not ours: answer, keep open;
				 * the answer counts like any other reply.  The
				 * link stays, so its repeats are rate-limited. */
				log_warnx_limited(&l->l_ll_version, "%s: %s: %s",
				    __func__, l->l_peer, err);
				link_send_err(l, id, PROTO_VERSION, code, err);
				if (!link_over_hard(l))
					link_flow(l);
				continue;
			}
			link_bad(l, id, v, code, err);
			break;
		}
		l->l_last = now_mono();
		if (!l->l_spoke) {
			l->l_spoke = 1;
			if (l->l_auth == LA_OFF)
				link_now_serving(l);
		}
		link_dispatch(l, m);
		msg_free(m);
		if (!link_over_hard(l))
			link_flow(l);
	}
	if (l->l_state != LINK_CLOSED)
		link_frame_clock(l, fresh);
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
	if (l->l_state != LINK_CLOSED)
		link_frame_clock(l, 0);
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
		log_warnx_limited(&ll_not_reading, "%s: %s: peer not reading "
		    "for %d ms, closing", __func__, l->l_peer,
		    l->l_opts.lo_flush_timeout_ms);
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
	evtimer_del(l->l_idle_ev);
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

unsigned
link_roles(const struct link *l)
{
	if (l->l_auth == LA_DONE)
		return ROLE_BIT(l->l_role);
	return l->l_auth == LA_LEGACY || l->l_auth == LA_OFF ? ROLES_ALL : 0;
}

const char *
link_role_str(const struct link *l)
{
	if (l->l_auth == LA_DONE)
		return role_name(l->l_role);
	return l->l_auth == LA_LEGACY ? "unauthenticated" : "any";
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

double
link_idle_since(const struct link *l, int *spoke)
{
	/* A peer still in its handshake has proved nothing: it makes room
	 * first, as a silent one does. */
	*spoke = l->l_spoke && link_serving(l);
	if (l->l_state != LINK_OPEN || l->l_inflight > 0 ||
	    evbuffer_get_length(bufferevent_get_output(l->l_bev)) > 0 ||
	    evbuffer_get_length(bufferevent_get_input(l->l_bev)) > 0)
		return 0;
	return l->l_last;
}

void *
link_arg(const struct link *l)
{
	return l->l_arg;
}
