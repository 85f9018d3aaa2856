/*
 * client.c — asynchronous request/reply client over frames (client.h).
 *
 * A request lives in the id hash from client_call() until its callback,
 * and in exactly one place besides: the client's queue (waiting for a
 * connection), a connection's sent list, or nowhere (a failure waiting
 * for its deferred callback).  Its timer is the deadline, or a zero
 * timeout that delivers a failure decided inside client_call().
 */
#include <sys/queue.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "common/log.h"
#include "common/util.h"
#include "proto/auth.h"
#include "proto/client.h"

#define CLIENT_NHASH		1024	/* power of two; ids are sequential */
#define CLIENT_MAX_QUEUE	1024
#define CLIENT_BACKOFF_MIN_MS	50
#define CLIENT_BACKOFF_MAX_MS	2000
#define CLIENT_CONNECT_MS	1000
#define CLIENT_DEADLINE_MS	5000
/* A fifth of the servers' default link_idle_timeout (300 s). */
#define CLIENT_PING_MS		60000

enum creq_where {
	RQ_NONE,	/**< failure decided, callback deferred */
	RQ_QUEUED,	/**< waiting for a connection */
	RQ_SENT,	/**< written to a connection, awaiting the reply */
};

enum cconn_state {
	CN_CONNECTING,	/**< connect(2) in progress */
	CN_HELLO,	/**< connected; hello sent, waiting for hello_r */
	CN_UP,		/**< the current connection */
	CN_GOAWAY,	/**< the server said goaway: replies only */
};

struct cconn;

struct creq {
	TAILQ_ENTRY(creq)	 r_entry;	/* queue or sent list */
	LIST_ENTRY(creq)	 r_hentry;
	struct client		*r_c;
	struct cconn		*r_conn;
	enum creq_where		 r_where;
	uint64_t		 r_id;
	uint8_t			*r_body;
	size_t			 r_len;
	size_t			 r_id_off;
	size_t			 r_v_off;
	int			 r_flags;
	int			 r_retried;	/* resent after goaway or loss */
	int			 r_downgraded;	/* resent after bad-version */
	double			 r_start;	/* mono */
	double			 r_deadline;	/* mono */
	struct event		*r_timer;
	const char		*r_fail;	/* deferred failure kind */
	char			 r_failmsg[160];
	client_cb		 r_cb;
	void			*r_arg;
};

TAILQ_HEAD(creq_list, creq);

struct cconn {
	TAILQ_ENTRY(cconn)	 cn_entry;	/* c_draining */
	struct client		*cn_c;
	struct bufferevent	*cn_bev;
	enum cconn_state	 cn_state;
	struct creq_list	 cn_sent;
	struct event		*cn_ctimer;	/* connect timeout */
	struct event		*cn_ping_ev;	/* keep-alive */
	int			 cn_version;
	uint64_t		 cn_ping_id;	/* last ping sent */
	uint64_t		 cn_hello_id;
	uint64_t		 cn_auth_id;
	uint8_t			 cn_nonce[AUTH_NONCE_LEN];
	int			 cn_hello_retried;	/* after bad-version */
	int			 cn_refused;	/* the server refused our auth */
	double			 cn_last_send;	/* mono */
	double			 cn_since;
	uint64_t		 cn_frames;	/* frames received */
};

struct client {
	struct event_base	*c_base;
	char			 c_addr[300];
	char			 c_name[64];
	struct client_opts	 c_opts;
	struct cconn		*c_cur;		/* connecting or up */
	TAILQ_HEAD(, cconn)	 c_draining;	/* after goaway */
	struct creq_list	 c_queue;
	size_t			 c_nqueue;
	size_t			 c_nsent;
	LIST_HEAD(, creq)	 c_hash[CLIENT_NHASH];
	uint64_t		 c_nextid;
	struct event		*c_retry;	/* back-off timer */
	int			 c_backoff_ms;	/* last delay; 0 = none */
	double			 c_next_attempt;	/* mono, while c_retry pends */
	double			 c_down_since;	/* mono; 0 while a link is up */
	struct event		*c_down_ev;	/* co_down_wait_ms after that */
	int			 c_version;
	int			 c_freeing;
	struct log_limit	 c_ll_auth;	/* refused handshakes */
	struct client_stats	 c_st;
};

static void	client_connect(struct client *);
static void	cconn_up(struct cconn *);
static void	cconn_connect_failed(struct cconn *, const char *);
static void	cconn_readcb(struct bufferevent *, void *);
static void	cconn_eventcb(struct bufferevent *, short, void *);

/*
 * When a request waiting for a connection gives up: its deadline, or,
 * with co_down_wait_ms, that long after the link went down, whichever
 * comes first.
 */
static double
client_wait_end(const struct client *c, const struct creq *r)
{
	double	end;

	if (c->c_opts.co_down_wait_ms <= 0 || c->c_down_since == 0)
		return r->r_deadline;
	end = c->c_down_since + c->c_opts.co_down_wait_ms / 1000.0;
	return end < r->r_deadline ? end : r->r_deadline;
}

/* ------------------------------------------------------------------ */
/* Requests */

static struct creq *
client_find(struct client *c, uint64_t id)
{
	struct creq	*r;

	LIST_FOREACH(r, &c->c_hash[id & (CLIENT_NHASH - 1)], r_hentry)
		if (r->r_id == id)
			return r;
	return NULL;
}

/* Take a request out of whatever list holds it. */
static void
creq_unlink(struct creq *r)
{
	struct client	*c = r->r_c;

	switch (r->r_where) {
	case RQ_QUEUED:
		TAILQ_REMOVE(&c->c_queue, r, r_entry);
		c->c_nqueue--;
		break;
	case RQ_SENT:
		TAILQ_REMOVE(&r->r_conn->cn_sent, r, r_entry);
		c->c_nsent--;
		break;
	case RQ_NONE:
		break;
	}
	r->r_where = RQ_NONE;
	r->r_conn = NULL;
}

static void
creq_free(struct creq *r)
{
	creq_unlink(r);
	LIST_REMOVE(r, r_hentry);
	event_free(r->r_timer);
	free(r->r_body);
	free(r);
}

/* The end of a request: one callback, then it is gone. */
static void
creq_finish(struct creq *r, struct msg *reply, const char *kind,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void
creq_finish(struct creq *r, struct msg *reply, const char *kind,
    const char *fmt, ...)
{
	struct client_result	 res;
	struct client		*c = r->r_c;
	client_cb		 cb = r->r_cb;
	void			*arg = r->r_arg;
	char			 text[256];
	va_list			 ap;

	text[0] = '\0';
	if (fmt != NULL) {
		va_start(ap, fmt);
		vsnprintf(text, sizeof(text), fmt, ap);
		va_end(ap);
	}
	memset(&res, 0, sizeof(res));
	res.cr_msg = reply;
	res.cr_err = kind;
	res.cr_errmsg = text;
	res.cr_ms = (now_mono() - r->r_start) * 1000.0;
	if (kind == NULL)
		c->c_st.cs_replies++;
	else if (strcmp(kind, CLIENT_E_TIMEOUT) == 0)
		c->c_st.cs_timeouts++;
	else if (strcmp(kind, CLIENT_E_LINK_LOST) == 0)
		c->c_st.cs_link_lost++;
	else if (strcmp(kind, CLIENT_E_UNAVAILABLE) == 0)
		c->c_st.cs_unavailable++;
	else if (strcmp(kind, CLIENT_E_OVERLOADED) == 0)
		c->c_st.cs_overloaded++;
	creq_free(r);
	if (cb != NULL)
		cb(&res, arg);
}

static void
creq_timer(evutil_socket_t fd, short ev, void *arg)
{
	struct creq	*r = arg;

	(void)fd;
	(void)ev;
	if (r->r_fail != NULL)
		creq_finish(r, NULL, r->r_fail, "%s", r->r_failmsg);
	else
		creq_finish(r, NULL, CLIENT_E_TIMEOUT, "%s: no reply within "
		    "%.0f ms", r->r_c->c_name,
		    (r->r_deadline - r->r_start) * 1000.0);
}

/* Fail from inside client_call(): the callback runs on the next pass. */
static void
creq_defer_fail(struct creq *r, const char *kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
creq_defer_fail(struct creq *r, const char *kind, const char *fmt, ...)
{
	struct timeval	tv = { 0, 0 };
	va_list		ap;

	creq_unlink(r);
	r->r_fail = kind;
	va_start(ap, fmt);
	vsnprintf(r->r_failmsg, sizeof(r->r_failmsg), fmt, ap);
	va_end(ap);
	evtimer_add(r->r_timer, &tv);
}

static void
creq_send(struct creq *r, struct cconn *cn)
{
	struct client	*c = r->r_c;

	creq_unlink(r);
	r->r_body[r->r_v_off] = (uint8_t)cn->cn_version;
	if (frame_write(bufferevent_get_output(cn->cn_bev), r->r_body,
	    r->r_len, &c->c_opts.co_limits) == -1) {
		creq_defer_fail(r, CLIENT_E_OVERLOADED, "%s: out of memory "
		    "writing a request", c->c_name);
		return;
	}
	TAILQ_INSERT_TAIL(&cn->cn_sent, r, r_entry);
	r->r_where = RQ_SENT;
	r->r_conn = cn;
	c->c_nsent++;
	cn->cn_last_send = now_mono();
}

static void
creq_enqueue(struct creq *r, int front)
{
	struct client	*c = r->r_c;

	if (front)
		TAILQ_INSERT_HEAD(&c->c_queue, r, r_entry);
	else
		TAILQ_INSERT_TAIL(&c->c_queue, r, r_entry);
	r->r_where = RQ_QUEUED;
	c->c_nqueue++;
}

/* ------------------------------------------------------------------ */
/* Connections */

static void
cconn_free(struct cconn *cn)
{
	struct client	*c = cn->cn_c;

	if (c->c_cur == cn)
		c->c_cur = NULL;
	else if (cn->cn_state == CN_GOAWAY)
		TAILQ_REMOVE(&c->c_draining, cn, cn_entry);
	if (cn->cn_bev != NULL)
		bufferevent_free(cn->cn_bev);
	if (cn->cn_ctimer != NULL)
		event_free(cn->cn_ctimer);
	if (cn->cn_ping_ev != NULL)
		event_free(cn->cn_ping_ev);
	free(cn);
}

/*
 * A ping outside the request accounting: it has no callback, deadline
 * or stats; its answer (pong, or `err` from an older server) is matched
 * by cn_ping_id.  Any id will do, so it comes from the requests' count.
 */
static void
cconn_ping(struct cconn *cn)
{
	struct client	*c = cn->cn_c;
	struct msgb	 b;

	msgb_init(&b);
	cn->cn_ping_id = ++c->c_nextid;
	if (msg_pack_ping(&b, cn->cn_ping_id, cn->cn_version) == 0)
		(void)frame_write(bufferevent_get_output(cn->cn_bev),
		    msgb_data(&b), msgb_len(&b), &c->c_opts.co_limits);
	msgb_free(&b);
	cn->cn_last_send = now_mono();
}

static void
cconn_ping_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct cconn	*cn = arg;
	struct timeval	 tv;
	double		 every, left;

	(void)fd;
	(void)ev;
	if (cn->cn_state != CN_UP)
		return;
	every = cn->cn_c->c_opts.co_ping_ms / 1000.0;
	left = cn->cn_last_send + every - now_mono();
	if (left <= 0) {
		cconn_ping(cn);
		left = every;
	}
	tv_from_seconds(&tv, left);
	evtimer_add(cn->cn_ping_ev, &tv);
}

static void
client_retry_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct client	*c = arg;

	(void)fd;
	(void)ev;
	if (c->c_cur == NULL)
		client_connect(c);
}

/* Plan the next connect attempt after a failure, with back-off. */
static void
client_schedule(struct client *c)
{
	struct timeval	tv;
	struct creq	*r, *next;

	if (c->c_backoff_ms == 0)
		c->c_backoff_ms = c->c_opts.co_backoff_min_ms;
	else if (c->c_backoff_ms < c->c_opts.co_backoff_max_ms) {
		c->c_backoff_ms *= 2;
		if (c->c_backoff_ms > c->c_opts.co_backoff_max_ms)
			c->c_backoff_ms = c->c_opts.co_backoff_max_ms;
	}
	c->c_next_attempt = now_mono() + c->c_backoff_ms / 1000.0;
	tv_from_seconds(&tv, c->c_backoff_ms / 1000.0);
	evtimer_add(c->c_retry, &tv);
	/* Queued requests that cannot last until then fail now. */
	for (r = TAILQ_FIRST(&c->c_queue); r != NULL; r = next) {
		next = TAILQ_NEXT(r, r_entry);
		if (client_wait_end(c, r) <= c->c_next_attempt)
			creq_defer_fail(r, CLIENT_E_UNAVAILABLE, "%s: cannot "
			    "connect to %s", c->c_name, c->c_addr);
	}
}

/* The link has been down for co_down_wait_ms: waiting requests fail,
 * and new ones fail at once until it is back (client_call()). */
static void
client_down_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct client	*c = arg;
	struct creq	*r;

	(void)fd;
	(void)ev;
	while ((r = TAILQ_FIRST(&c->c_queue)) != NULL)
		creq_defer_fail(r, CLIENT_E_UNAVAILABLE, "%s: no link to %s "
		    "for %d ms", c->c_name, c->c_addr,
		    c->c_opts.co_down_wait_ms);
}

/* No connection is up from now on (until cconn_up()). */
static void
client_down(struct client *c)
{
	struct timeval	tv;

	if (c->c_down_since != 0)
		return;
	c->c_down_since = now_mono();
	if (c->c_opts.co_down_wait_ms > 0) {
		tv_from_seconds(&tv, c->c_opts.co_down_wait_ms / 1000.0);
		evtimer_add(c->c_down_ev, &tv);
	}
}

/* The connection attempt failed. */
static void
cconn_connect_failed(struct cconn *cn, const char *why)
{
	struct client	*c = cn->cn_c;

	c->c_st.cs_connect_fails++;
	log_debug("%s: %s: connect to %s: %s", __func__, c->c_name, c->c_addr,
	    why);
	cconn_free(cn);
	client_schedule(c);
}

static void
cconn_ctimeout(evutil_socket_t fd, short ev, void *arg)
{
	(void)fd;
	(void)ev;
	cconn_connect_failed(arg, "timed out");
}

static void
client_connect(struct client *c)
{
	struct addrinfo	 hints, *res = NULL;
	struct cconn	*cn;
	struct timeval	 tv;
	char		 host[256], port[16], err[128];
	int		 p, r, one = 1;

	if (c->c_cur != NULL)
		return;
	evtimer_del(c->c_retry);
	cn = xcalloc(1, sizeof(*cn));
	cn->cn_c = c;
	cn->cn_state = CN_CONNECTING;
	cn->cn_version = c->c_version;
	TAILQ_INIT(&cn->cn_sent);
	c->c_cur = cn;
	cn->cn_ctimer = evtimer_new(c->c_base, cconn_ctimeout, cn);
	cn->cn_ping_ev = evtimer_new(c->c_base, cconn_ping_cb, cn);
	cn->cn_bev = bufferevent_socket_new(c->c_base, -1,
	    BEV_OPT_CLOSE_ON_FREE);
	if (cn->cn_bev == NULL || cn->cn_ctimer == NULL ||
	    cn->cn_ping_ev == NULL) {
		cconn_connect_failed(cn, "out of memory");
		return;
	}
	if (parse_hostport(c->c_addr, host, sizeof(host), &p, err,
	    sizeof(err)) == -1) {
		cconn_connect_failed(cn, err);
		return;
	}
	snprintf(port, sizeof(port), "%d", p);
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	/* Link addresses are IPs or /etc/hosts names: this does not block
	 * for long.  Resolved on every attempt so a changed name is seen. */
	if ((r = getaddrinfo(host, port, &hints, &res)) != 0) {
		cconn_connect_failed(cn, gai_strerror(r));
		return;
	}
	/* Callbacks are set after: on an immediate failure libevent would
	 * run the event callback from inside the connect call. */
	r = bufferevent_socket_connect(cn->cn_bev, res->ai_addr,
	    (int)res->ai_addrlen);
	freeaddrinfo(res);
	if (r == -1) {
		cconn_connect_failed(cn, "connect failed");
		return;
	}
	bufferevent_setcb(cn->cn_bev, cconn_readcb, NULL, cconn_eventcb, cn);
	(void)setsockopt(bufferevent_getfd(cn->cn_bev), IPPROTO_TCP,
	    TCP_NODELAY, &one, sizeof(one));
	tv_from_seconds(&tv, c->c_opts.co_connect_timeout_ms / 1000.0);
	evtimer_add(cn->cn_ctimer, &tv);
	bufferevent_enable(cn->cn_bev, EV_READ | EV_WRITE);
}

/* The connection is up: send what waited for it. */
static void
cconn_up(struct cconn *cn)
{
	struct client	*c = cn->cn_c;
	struct creq	*r;
	struct timeval	 tv;

	evtimer_del(cn->cn_ctimer);
	cn->cn_state = CN_UP;
	cn->cn_since = now_mono();
	c->c_down_since = 0;
	evtimer_del(c->c_down_ev);
	c->c_st.cs_connects++;
	log_debug("%s: %s: connected to %s", __func__, c->c_name, c->c_addr);
	while ((r = TAILQ_FIRST(&c->c_queue)) != NULL)
		creq_send(r, cn);
	if (c->c_opts.co_ping_ms < 0)
		return;
	/* A link with nothing to say still says hello. */
	if (TAILQ_EMPTY(&cn->cn_sent))
		cconn_ping(cn);
	tv_from_ms(&tv, c->c_opts.co_ping_ms);
	evtimer_add(cn->cn_ping_ev, &tv);
}

/*
 * A connection that was up ended.  Its unanswered requests fail at once,
 * except idempotent ones not yet retried: those wait for the next
 * connection, as if just called.  A server that was stopped (or crashed)
 * may never have read them; resending one that it did answer is
 * harmless, which is what idempotent means.
 */
static void
cconn_lost(struct cconn *cn, const char *why)
{
	struct client		*c = cn->cn_c;
	struct creq		*r;
	struct creq_list	 dead;
	int			 was_cur = c->c_cur == cn;
	int			 healthy;

	/*
	 * A link that served is reconnected after the shortest back-off; one
	 * that drops right after connecting, without a word, backs off
	 * further.  Not at once: a link that ends without goaway usually
	 * means the server process is exiting, and for a moment its
	 * listening socket may still accept (then reset) a new connection.
	 */
	healthy = !cn->cn_refused && (cn->cn_frames > 0 ||
	    now_mono() - cn->cn_since >= c->c_opts.co_backoff_max_ms / 1000.0);

	TAILQ_INIT(&dead);
	while ((r = TAILQ_FIRST(&cn->cn_sent)) != NULL) {
		creq_unlink(r);
		if ((r->r_flags & CLIENT_IDEMPOTENT) && !r->r_retried) {
			r->r_retried = 1;
			c->c_st.cs_retries++;
			creq_enqueue(r, 1);
		} else {
			TAILQ_INSERT_TAIL(&dead, r, r_entry);
			r->r_where = RQ_NONE;
		}
	}
	cconn_free(cn);
	if (was_cur) {
		log_info("%s: %s: link to %s lost: %s", __func__, c->c_name,
		    c->c_addr, why);
		client_down(c);
		if (healthy)
			c->c_backoff_ms = 0;
		client_schedule(c);
	}
	/* Retried requests go out now if the current link is up. */
	if (c->c_cur != NULL && c->c_cur->cn_state == CN_UP)
		while ((r = TAILQ_FIRST(&c->c_queue)) != NULL)
			creq_send(r, c->c_cur);
	else if (c->c_cur == NULL && c->c_nqueue > 0 &&
	    !evtimer_pending(c->c_retry, NULL))
		client_connect(c);
	while ((r = TAILQ_FIRST(&dead)) != NULL) {
		TAILQ_REMOVE(&dead, r, r_entry);
		creq_finish(r, NULL, CLIENT_E_LINK_LOST, "%s: link to %s lost "
		    "before the reply: %s", c->c_name, c->c_addr, why);
	}
}

/* ------------------------------------------------------------------ */
/* The handshake (auth.h): hello, check the server's hello_r, auth */

static void
cconn_send(struct cconn *cn, const struct msgb *b)
{
	(void)frame_write(bufferevent_get_output(cn->cn_bev), msgb_data(b),
	    msgb_len(b), &cn->cn_c->c_opts.co_limits);
	cn->cn_last_send = now_mono();
}

/* Connected: say who we are; requests wait until the server has proved
 * who it is (the connect timeout covers the handshake). */
static void
cconn_hello(struct cconn *cn)
{
	struct client	*c = cn->cn_c;
	struct msgb	 b;

	cn->cn_state = CN_HELLO;
	if (auth_random(cn->cn_nonce, sizeof(cn->cn_nonce)) == -1) {
		cconn_connect_failed(cn, "no random bytes for the handshake");
		return;
	}
	cn->cn_hello_id = ++c->c_nextid;
	msgb_init(&b);
	if (msg_pack_hello(&b, cn->cn_hello_id, cn->cn_version,
	    link_keys_role(link_keys_get()), cn->cn_nonce) == 0)
		cconn_send(cn, &b);
	msgb_free(&b);
}

/* The handshake failed: logged (rate-limited), retried after back-off. */
static int
cconn_refuse(struct cconn *cn, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static int
cconn_refuse(struct cconn *cn, const char *fmt, ...)
{
	struct client	*c = cn->cn_c;
	va_list		 ap;
	char		 why[400];

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	log_warnx_limited(&c->c_ll_auth, "%s: %s: %s: %s", __func__, c->c_name,
	    c->c_addr, why);
	cconn_connect_failed(cn, why);
	return -1;
}

/* The reply to our hello; 0, or -1 if the connection is gone. */
static int
cconn_hello_reply(struct cconn *cn, struct msg *m)
{
	struct client		*c = cn->cn_c;
	const struct link_keys	*lk = link_keys_get();
	struct msgb		 b;
	enum link_role		 srole, want = c->c_opts.co_peer_role;
	uint8_t			 snonce[AUTH_NONCE_LEN], sig[AUTH_SIG_LEN];
	char			 code[32], text[160], err[256];

	if (msg_type(m) == MSG_GOAWAY) {
		/* A draining server: try again, quietly. */
		cconn_connect_failed(cn, "goaway during the handshake");
		return -1;
	}
	if (msg_id(m) != cn->cn_hello_id)
		return cconn_refuse(cn, "%s before the handshake ended",
		    msg_tname(m));
	if (msg_type(m) == MSG_ERR) {
		if (msg_read_err(m, code, sizeof(code), text, sizeof(text), err,
		    sizeof(err)) == -1)
			return cconn_refuse(cn, "bad err: %s", err);
		if (strcmp(code, MSG_E_BAD_VERSION) == 0 &&
		    msg_version(m) < cn->cn_version && !cn->cn_hello_retried) {
			/* An older server: say hello in its version. */
			cn->cn_version = msg_version(m);
			cn->cn_hello_retried = 1;
			cconn_hello(cn);
			return 0;
		}
		if (strcmp(code, MSG_E_UNKNOWN_TYPE) == 0 &&
		    link_keys_mode(lk) == AUTH_PREFER) {
			log_warnx_limited(&c->c_ll_auth, "%s: %s: %s does not "
			    "authenticate (an older version?): used "
			    "unauthenticated, as link_auth prefer allows",
			    __func__, c->c_name, c->c_addr);
			cconn_up(cn);
			return 0;
		}
		if (strcmp(code, MSG_E_UNKNOWN_TYPE) == 0)
			return cconn_refuse(cn, "the server does not "
			    "authenticate (an older version?), and link_auth "
			    "is require");
		return cconn_refuse(cn, "hello refused: %s: %s", code, text);
	}
	if (msg_read_hello_r(m, &srole, snonce, sig, err, sizeof(err)) == -1)
		return cconn_refuse(cn, "bad hello_r: %s", err);
	if (srole != want)
		return cconn_refuse(cn, "the server is %s, not %s",
		    role_name(srole), role_name(want));
	if (auth_verify(lk, srole, AUTH_SIDE_SERVER, cn->cn_nonce, snonce,
	    link_keys_role(lk), srole, sig, sizeof(sig), err, sizeof(err)) == -1)
		return cconn_refuse(cn, "the server failed to prove it is %s: "
		    "%s", role_name(want), err);
	if (auth_sign(lk, AUTH_SIDE_CLIENT, cn->cn_nonce, snonce,
	    link_keys_role(lk), srole, sig, err, sizeof(err)) == -1)
		return cconn_refuse(cn, "%s", err);
	/* Requests may follow auth at once: the server reads in order. */
	cn->cn_auth_id = ++c->c_nextid;
	msgb_init(&b);
	if (msg_pack_auth(&b, cn->cn_auth_id, cn->cn_version, sig) == 0)
		cconn_send(cn, &b);
	msgb_free(&b);
	cconn_up(cn);
	return 0;
}

/* The server's answer to our auth: ok, or why it is closing. */
static void
cconn_auth_reply(struct cconn *cn, struct msg *m)
{
	struct client	*c = cn->cn_c;
	char		 code[32], text[160], err[64];

	cn->cn_auth_id = 0;
	if (msg_type(m) == MSG_OK)
		return;
	/* Back off: a server that refuses us will refuse again. */
	cn->cn_refused = 1;
	if (msg_read_err(m, code, sizeof(code), text, sizeof(text), err,
	    sizeof(err)) == -1)
		snprintf(text, sizeof(text), "%s", msg_tname(m));
	log_warnx_limited(&c->c_ll_auth, "%s: %s: %s refused our key: %s",
	    __func__, c->c_name, c->c_addr, text);
}

/* 1 if the connection was freed (nothing was pending on it). */
static int
cconn_goaway(struct cconn *cn)
{
	struct client	*c = cn->cn_c;

	c->c_st.cs_goaways++;
	if (cn->cn_state != CN_UP)
		return 0;
	log_debug("%s: %s: goaway from %s", __func__, c->c_name, c->c_addr);
	cn->cn_state = CN_GOAWAY;
	c->c_cur = NULL;
	client_down(c);
	TAILQ_INSERT_TAIL(&c->c_draining, cn, cn_entry);
	/* A server that says goaway is healthy: reconnect at once. */
	c->c_backoff_ms = 0;
	client_connect(c);
	if (TAILQ_EMPTY(&cn->cn_sent)) {
		cconn_free(cn);
		return 1;
	}
	return 0;
}

/* One reply frame from the server; 0, or -1 if the connection is gone. */
static int
cconn_reply(struct cconn *cn, struct msg *m)
{
	struct client	*c = cn->cn_c;
	struct creq	*r;
	char		 code[32], text[128], err[64];

	if (cn->cn_state == CN_HELLO)
		return cconn_hello_reply(cn, m);
	if (cn->cn_auth_id != 0 && msg_id(m) == cn->cn_auth_id) {
		cconn_auth_reply(cn, m);
		return 0;
	}
	cn->cn_frames++;
	if (msg_type(m) == MSG_GOAWAY)
		return cconn_goaway(cn) ? -1 : 0;
	c->c_backoff_ms = 0;	/* the server answers: it is healthy */
	/* The keep-alive's own ping: its pong (or the err of an older
	 * server) is ours, not a request's.  A ping that a caller sent with
	 * client_call() is a request like any other. */
	r = client_find(c, msg_id(m));
	if ((cn->cn_ping_id != 0 && msg_id(m) == cn->cn_ping_id) ||
	    (msg_type(m) == MSG_PONG && (r == NULL || r->r_conn != cn))) {
		/* An older server: new requests go out in its version. */
		if (msg_type(m) == MSG_ERR && msg_version(m) < cn->cn_version &&
		    msg_read_err(m, code, sizeof(code), text, sizeof(text),
		    err, sizeof(err)) == 0 &&
		    strcmp(code, MSG_E_BAD_VERSION) == 0) {
			log_info("%s: %s: %s speaks protocol version %d",
			    __func__, c->c_name, c->c_addr, msg_version(m));
			cn->cn_version = msg_version(m);
		}
		return 0;
	}
	if (r == NULL || r->r_conn != cn) {
		c->c_st.cs_late++;
		return 0;
	}
	/*
	 * Compare with the version this request carried, not the link's:
	 * with several requests in flight, the first bad-version reply has
	 * already lowered the link's version when the others arrive.
	 */
	if (msg_type(m) == MSG_ERR && !r->r_downgraded &&
	    msg_version(m) < (int)r->r_body[r->r_v_off] &&
	    msg_read_err(m, code, sizeof(code), text, sizeof(text), err,
	    sizeof(err)) == 0 && strcmp(code, MSG_E_BAD_VERSION) == 0) {
		/* An older server: speak its version on this link. */
		log_info("%s: %s: %s speaks protocol version %d", __func__,
		    c->c_name, c->c_addr, msg_version(m));
		if (msg_version(m) < cn->cn_version)
			cn->cn_version = msg_version(m);
		r->r_downgraded = 1;
		creq_send(r, cn);
		return 0;
	}
	creq_finish(r, m, NULL, NULL);
	if (cn->cn_state == CN_GOAWAY && TAILQ_EMPTY(&cn->cn_sent)) {
		cconn_free(cn);
		return -1;
	}
	return 0;
}

static void
cconn_readcb(struct bufferevent *bev, void *arg)
{
	struct cconn	*cn = arg;
	struct client	*c = cn->cn_c;
	struct evbuffer	*in = bufferevent_get_input(bev);
	struct frame	 fr;
	struct msg	*m;
	char		 err[256], why[300];
	int		 r;

	for (;;) {
		r = frame_read(in, &c->c_opts.co_limits, &fr, err, sizeof(err));
		if (r == 0)
			return;
		if (r == 1) {
			m = msg_unpack(fr.fr_body, fr.fr_len, NULL, NULL, NULL,
			    err, sizeof(err));
			if (m != NULL) {
				r = cconn_reply(cn, m);
				msg_free(m);
				if (r == -1)
					return;
				continue;
			}
		}
		log_warnx("%s: %s: bad frame from %s: %s", __func__, c->c_name,
		    c->c_addr, err);
		snprintf(why, sizeof(why), "bad frame: %s", err);
		cconn_lost(cn, why);
		return;
	}
}

static void
cconn_eventcb(struct bufferevent *bev, short what, void *arg)
{
	struct cconn	*cn = arg;
	char		 why[128];

	(void)bev;
	if (what & BEV_EVENT_CONNECTED) {
		if (link_keys_get() != NULL &&
		    cn->cn_c->c_opts.co_peer_role != ROLE_NONE)
			cconn_hello(cn);
		else
			cconn_up(cn);
		return;
	}
	if (what & BEV_EVENT_ERROR)
		snprintf(why, sizeof(why), "%s", evutil_socket_error_to_string(
		    EVUTIL_SOCKET_ERROR()));
	else
		snprintf(why, sizeof(why), "closed by the server");
	if (cn->cn_state == CN_CONNECTING || cn->cn_state == CN_HELLO)
		cconn_connect_failed(cn, why);
	else
		cconn_lost(cn, why);
}

/* ------------------------------------------------------------------ */
/* API */

struct client *
client_new(struct event_base *base, const char *hostport,
    const struct client_opts *opts, char *err, size_t errlen)
{
	struct client	*c;
	char		 host[256];
	int		 port, i;

	if (parse_hostport(hostport, host, sizeof(host), &port, err,
	    errlen) == -1)
		return NULL;
	c = xcalloc(1, sizeof(*c));
	c->c_base = base;
	snprintf(c->c_addr, sizeof(c->c_addr), "%s", hostport);
	if (opts != NULL)
		c->c_opts = *opts;
	snprintf(c->c_name, sizeof(c->c_name), "%s",
	    c->c_opts.co_name != NULL ? c->c_opts.co_name : hostport);
	c->c_opts.co_name = NULL;
	if (c->c_opts.co_max_queue == 0)
		c->c_opts.co_max_queue = CLIENT_MAX_QUEUE;
	if (c->c_opts.co_backoff_min_ms <= 0)
		c->c_opts.co_backoff_min_ms = CLIENT_BACKOFF_MIN_MS;
	if (c->c_opts.co_backoff_max_ms <= 0)
		c->c_opts.co_backoff_max_ms = CLIENT_BACKOFF_MAX_MS;
	if (c->c_opts.co_backoff_max_ms < c->c_opts.co_backoff_min_ms)
		c->c_opts.co_backoff_max_ms = c->c_opts.co_backoff_min_ms;
	if (c->c_opts.co_connect_timeout_ms <= 0)
		c->c_opts.co_connect_timeout_ms = CLIENT_CONNECT_MS;
	if (c->c_opts.co_default_deadline_ms <= 0)
		c->c_opts.co_default_deadline_ms = CLIENT_DEADLINE_MS;
	if (c->c_opts.co_ping_ms == 0)
		c->c_opts.co_ping_ms = CLIENT_PING_MS;
	c->c_version = c->c_opts.co_version > 0 ? c->c_opts.co_version :
	    PROTO_VERSION;
	TAILQ_INIT(&c->c_draining);
	TAILQ_INIT(&c->c_queue);
	for (i = 0; i < CLIENT_NHASH; i++)
		LIST_INIT(&c->c_hash[i]);
	if ((c->c_retry = evtimer_new(base, client_retry_cb, c)) == NULL ||
	    (c->c_down_ev = evtimer_new(base, client_down_cb, c)) == NULL)
		fatalx("%s: evtimer_new", __func__);
	client_down(c);		/* until the first connection is up */
	client_connect(c);
	return c;
}

void
client_free(struct client *c)
{
	struct creq	*r;
	struct cconn	*cn;
	int		 i;

	if (c == NULL)
		return;
	c->c_freeing = 1;
	/* Connections first, so callbacks cannot send on them. */
	if (c->c_cur != NULL) {
		while ((r = TAILQ_FIRST(&c->c_cur->cn_sent)) != NULL)
			creq_unlink(r);
		cconn_free(c->c_cur);
	}
	while ((cn = TAILQ_FIRST(&c->c_draining)) != NULL) {
		while ((r = TAILQ_FIRST(&cn->cn_sent)) != NULL)
			creq_unlink(r);
		cconn_free(cn);
	}
	evtimer_del(c->c_retry);
	evtimer_del(c->c_down_ev);
	for (i = 0; i < CLIENT_NHASH; i++)
		while ((r = LIST_FIRST(&c->c_hash[i])) != NULL)
			creq_finish(r, NULL, CLIENT_E_SHUTDOWN, "%s: client "
			    "shut down", c->c_name);
	event_free(c->c_retry);
	event_free(c->c_down_ev);
	free(c);
}

uint64_t
client_call(struct client *c, const struct msgb *b, int deadline_ms,
    int flags, client_cb cb, void *arg)
{
	struct creq	*r;
	struct timeval	 tv;
	size_t		 len = msgb_len(b);
	int		 i;

	if (c->c_freeing || msgb_end(b) == -1 || len > frame_max(
	    &c->c_opts.co_limits) || b->mb_id_off + 8 > len ||
	    b->mb_v_off >= len)
		return 0;
	if (deadline_ms <= 0)
		deadline_ms = c->c_opts.co_default_deadline_ms;
	r = xcalloc(1, sizeof(*r));
	r->r_c = c;
	r->r_id = ++c->c_nextid;
	r->r_body = xmalloc(len);
	memcpy(r->r_body, msgb_data(b), len);
	r->r_len = len;
	r->r_id_off = b->mb_id_off;
	r->r_v_off = b->mb_v_off;
	for (i = 0; i < 8; i++)
		r->r_body[r->r_id_off + i] = (uint8_t)(r->r_id >> (56 - 8 * i));
	r->r_flags = flags;
	r->r_cb = cb;
	r->r_arg = arg;
	r->r_start = now_mono();
	r->r_deadline = r->r_start + deadline_ms / 1000.0;
	if ((r->r_timer = evtimer_new(c->c_base, creq_timer, r)) == NULL)
		fatalx("%s: evtimer_new", __func__);
	LIST_INSERT_HEAD(&c->c_hash[r->r_id & (CLIENT_NHASH - 1)], r,
	    r_hentry);
	tv_from_seconds(&tv, deadline_ms / 1000.0);
	evtimer_add(r->r_timer, &tv);
	c->c_st.cs_requests++;

	if (c->c_cur != NULL && c->c_cur->cn_state == CN_UP) {
		creq_send(r, c->c_cur);
		return r->r_id;
	}
	if (c->c_nqueue >= c->c_opts.co_max_queue) {
		creq_defer_fail(r, CLIENT_E_OVERLOADED, "%s: %zu requests "
		    "already wait for a connection", c->c_name, c->c_nqueue);
		return r->r_id;
	}
	if (c->c_opts.co_down_wait_ms > 0 && c->c_down_since != 0 &&
	    !evtimer_pending(c->c_down_ev, NULL)) {
		creq_defer_fail(r, CLIENT_E_UNAVAILABLE, "%s: no link to %s "
		    "for %.0f ms", c->c_name, c->c_addr,
		    (now_mono() - c->c_down_since) * 1000.0);
		return r->r_id;
	}
	if (c->c_cur == NULL && evtimer_pending(c->c_retry, NULL) &&
	    client_wait_end(c, r) <= c->c_next_attempt) {
		creq_defer_fail(r, CLIENT_E_UNAVAILABLE, "%s: cannot connect "
		    "to %s (next attempt in %.0f ms)", c->c_name, c->c_addr,
		    (c->c_next_attempt - now_mono()) * 1000.0);
		return r->r_id;
	}
	creq_enqueue(r, 0);
	if (c->c_cur == NULL && !evtimer_pending(c->c_retry, NULL))
		client_connect(c);
	return r->r_id;
}

int
client_cancel(struct client *c, uint64_t id)
{
	struct creq	*r;

	if ((r = client_find(c, id)) == NULL)
		return -1;
	creq_free(r);
	return 0;
}

int
client_connected(const struct client *c)
{
	return c->c_cur != NULL && c->c_cur->cn_state == CN_UP;
}

void
client_stats(const struct client *c, struct client_stats *st)
{
	*st = c->c_st;
	st->cs_inflight = c->c_nsent;
	st->cs_queued = c->c_nqueue;
	st->cs_connected = client_connected(c);
	st->cs_backoff_ms = evtimer_pending(c->c_retry, NULL) ?
	    c->c_backoff_ms : 0;
}

const char *
client_addr(const struct client *c)
{
	return c->c_addr;
}
