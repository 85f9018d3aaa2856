/*
 * whois.c — the RFC 3912 port: one query line, one answer, close.
 *
 * A connection is a small state machine (enum whois_state) on its bare
 * socket: no bufferevent, because a one-shot connection that is answered
 * from the memo should cost accept, read, write and close and nothing
 * else (a bufferevent added allocations, epoll_ctl() calls and ioctls).
 * The query is read when the connection is accepted; only a connection
 * whose line has not fully arrived waits for EV_READ, only an answer the
 * socket cannot take at once waits for EV_WRITE, and a lookup in progress
 * waits for nothing (it has its own deadline).
 *
 * A line over max_query_len, bytes that are not text, or silence for
 * idle_timeout get a clear `status: invalid` answer, never a silent close;
 * the close lingers when the client has sent more than its line, so the
 * answer is not destroyed by a reset.
 */
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "common/linger.h"
#include "common/log.h"
#include "common/pool.h"
#include "common/util.h"
#include "daemons/whoisd/access_log.h"
#include "daemons/whoisd/query_line.h"
#include "daemons/whoisd/whoisd.h"

/** Connection states. */
enum whois_state {
	WS_READING,	/**< waiting for the rest of the query line */
	WS_LOOKUP,	/**< lookup in progress */
	WS_WRITING,	/**< answer queued; close when written */
};

struct whois_conn {
	int			 wc_fd;
	enum whois_state	 wc_state;
	struct lookup		*wc_lookup;
	int			 wc_starting;	/* inside lookup_start() */
	int			 wc_extra;	/* sent more than its line */
	double			 wc_deadline;	/* monotonic: the line is due */
	double			 wc_start;	/* monotonic: the line was read */
	struct event		*wc_ev;		/* EV_READ or EV_WRITE, or NULL */
	char			*wc_in;		/* a line still arriving */
	size_t			 wc_len;
	struct evbuffer		*wc_out;	/* what the socket did not take */
	int			 wc_cl;		/* limits.c entry, or -1 */
	int			 wc_abort;	/* close without lingering */
	struct unsent		 wc_us;		/* wc_out's length */
	struct alog_rec		 wc_alog;	/* the access log's line */
};

static struct event_base	*whois_base;
static struct evbuffer		*whois_scratch;	/* answers are formatted here */
static char			*whois_rbuf;	/* max_query_len + 2 */
static size_t			 whois_rcap;
static struct timeval		 whois_idle_tv;

static void	whois_write(struct whois_conn *, struct evbuffer *);
static void	whois_read_cb(evutil_socket_t, short, void *);

void
whois_init(struct event_base *base)
{
	double	t = front_conf()->wc_idle_timeout;

	whois_base = base;
	if ((whois_scratch = evbuffer_new()) == NULL)
		fatalx("out of memory");
	whois_rcap = (size_t)front_conf()->wc_max_query_len + 2;
	whois_rbuf = xmalloc(whois_rcap);
	tv_from_seconds(&whois_idle_tv, t);
}

static void
whois_close(struct whois_conn *c)
{
	int	pending = 0;

	if (c->wc_lookup != NULL)
		lookup_cancel(c->wc_lookup);
	if (c->wc_ev != NULL)
		event_free(c->wc_ev);
	if (c->wc_out != NULL)
		evbuffer_free(c->wc_out);
	free(c->wc_in);
	if (c->wc_state == WS_LOOKUP)
		pool_req_end();
	unsent_update(&c->wc_us, 0);
	limits_conn_close(c->wc_cl);
	/*
	 * Linger only if the client sent more than we read: else a plain
	 * close cannot reset anything.  (Bytes landing between this check
	 * and close() still reset the connection, and with the answer's
	 * tail held by MSG_MORE the client then gets none of it: only a
	 * client that writes after its query line, within microseconds,
	 * and a shutdown() per connection to close that window would cost
	 * every well-behaved client a system call.)
	 */
	if (c->wc_abort)
		limits_abort_close(c->wc_fd);
	else if (c->wc_extra || ioctl(c->wc_fd, FIONREAD, &pending) == -1 ||
	    pending > 0)
		pool_conn_linger(c->wc_fd, 2.0);
	else {
		close(c->wc_fd);
		pool_conn_done();
	}
	free(c);
}

/*
 * Wait once for `what` on the socket (EV_READ or EV_WRITE) for at most
 * `tv`, or (what == 0) for nothing.
 */
static void
whois_wait(struct whois_conn *c, short what, event_callback_fn cb,
    const struct timeval *tv)
{
	if (c->wc_ev != NULL && what != 0 && event_get_events(c->wc_ev) ==
	    what) {
		event_add(c->wc_ev, tv);	/* the same wait, again */
		return;
	}
	if (c->wc_ev != NULL) {
		event_free(c->wc_ev);
		c->wc_ev = NULL;
	}
	if (what == 0)
		return;
	c->wc_ev = event_new(whois_base, c->wc_fd, what, cb, c);
	event_add(c->wc_ev, tv);
}

/* The socket can take more of the answer (or the client is gone). */
static void
whois_write_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct whois_conn	*c = arg;

	(void)fd;
	if (ev & EV_TIMEOUT) {
		whois_close(c);		/* it stopped reading */
		return;
	}
	whois_write(c, c->wc_out);
}

/*
 * Every write of an answer: one sendmsg() with MSG_MORE set.  The answer
 * is the last thing this connection sends, and the close() that follows
 * at once puts the FIN on the same segment (tcp_send_fin() tacks it on
 * to an unsent tail), so an answer is one packet instead of two and the
 * client wakes once.
 */
static ssize_t
whois_sendv(int fd, struct iovec *iov, int n)
{
	struct msghdr	msg;

	memset(&msg, 0, sizeof(msg));
	msg.msg_iov = iov;
	msg.msg_iovlen = (size_t)n;
	return sendmsg(fd, &msg, MSG_MORE | MSG_NOSIGNAL | MSG_DONTWAIT);
}

/* What `out` holds, through whois_sendv(); returns what evbuffer_write()
 * would. */
static int
whois_send(int fd, struct evbuffer *out)
{
	struct evbuffer_iovec	 v[16];
	struct iovec		 iov[16];
	ssize_t			 n;
	int			 i, nv;

	nv = evbuffer_peek(out, -1, NULL, v, 16);
	if (nv > 16)
		nv = 16;
	for (i = 0; i < nv; i++) {
		iov[i].iov_base = v[i].iov_base;
		iov[i].iov_len = v[i].iov_len;
	}
	n = whois_sendv(fd, iov, nv);
	if (n > 0)
		evbuffer_drain(out, (size_t)n);
	return n > INT32_MAX ? INT32_MAX : (int)n;
}

/*
 * Write the answer in `out` (the scratch buffer, or the connection's
 * own).  What the socket does not take now moves to the connection and
 * waits for EV_WRITE; once everything is written the connection closes.
 */
static void
whois_write(struct whois_conn *c, struct evbuffer *out)
{
	int	n = 0;

	c->wc_state = WS_WRITING;
	while (evbuffer_get_length(out) > 0)
		if ((n = whois_send(c->wc_fd, out)) <= 0)
			break;
	if (evbuffer_get_length(out) == 0 || n == 0 ||
	    (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
		evbuffer_drain(out, evbuffer_get_length(out));
		whois_close(c);
		return;
	}
	if (c->wc_out == NULL) {
		if ((c->wc_out = evbuffer_new()) == NULL)
			fatalx("out of memory");
		evbuffer_add_buffer(c->wc_out, out);
	}
	unsent_update(&c->wc_us, evbuffer_get_length(c->wc_out));
	/* Each write that makes progress gives the client idle_timeout more
	 * to read the rest. */
	whois_wait(c, EV_WRITE, whois_write_cb, &whois_idle_tv);
}

/*
 * Send the answer straight from `a` (a memo hit lends its entry for the
 * call): one whois_sendv() of header and text.
 * What the socket does not take is copied to whois_scratch for
 * whois_write(); a socket that failed keeps nothing, so the connection
 * just closes.
 */
static void
whois_send_answer(struct whois_conn *c, const struct answer *a,
    const char *note)
{
	struct iovec	iov[4];
	ssize_t		w;
	size_t		left;
	int		i, n;

	n = answer_whois_iov(iov, a, note);
	if (alog_on) {
		c->wc_alog.ar_bytes = 0;
		for (i = 0; i < n; i++)
			c->wc_alog.ar_bytes += iov[i].iov_len;
	}
	if ((w = whois_sendv(c->wc_fd, iov, n)) == -1) {
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			return;
		w = 0;
	}
	left = (size_t)w;
	for (i = 0; i < n; i++) {
		if (left >= iov[i].iov_len) {
			left -= iov[i].iov_len;
			continue;
		}
		evbuffer_add(whois_scratch, (char *)iov[i].iov_base + left,
		    iov[i].iov_len - left);
		left = 0;
	}
}

static void
whois_answered(const struct answer *a, const char *note, void *arg)
{
	struct whois_conn	*c = arg;

	c->wc_lookup = NULL;
	front_metrics_lookup(0, a, now_mono() - c->wc_start);
	if (c->wc_state == WS_LOOKUP)
		pool_req_end();
	c->wc_state = WS_WRITING;
	whois_send_answer(c, a, note);
	if (alog_on) {
		alog_answer(&c->wc_alog, a);
		alog_end(&c->wc_alog, c->wc_fd, 0, now_mono());
	}
	/* Answered inside lookup_start(): whois_line() closes. */
	if (!c->wc_starting)
		whois_write(c, whois_scratch);
}

/* A refused query line: answered like an invalid name. */
static void
whois_refuse(struct whois_conn *c, const char *reason)
{
	c->wc_extra = 1;	/* whatever it still sends: linger */
	evbuffer_add_printf(whois_scratch, "status: invalid\nreason: %s\n",
	    reason);
	if (alog_on) {
		alog_begin(&c->wc_alog, c->wc_deadline -
		    front_conf()->wc_idle_timeout);
		c->wc_alog.ar_status[AS_INVALID]++;
		c->wc_alog.ar_bytes = evbuffer_get_length(whois_scratch);
		alog_end(&c->wc_alog, c->wc_fd, 0, now_mono());
	}
	whois_write(c, whois_scratch);
}

/*
 * The query line, without its end of line (query_line() checked it):
 * look it up.  The connection may be closed when this returns.
 */
static void
whois_line(struct whois_conn *c, const char *line, size_t len)
{
	char	key[SB_KEYLEN];
	size_t	i;
	int	wait;

	whois_wait(c, 0, NULL, NULL);
	front_stats.fs_whois_requests++;
	c->wc_start = now_mono();
	alog_begin(&c->wc_alog, c->wc_start);
	if ((wait = limits_req(c->wc_cl, 0)) > 0) {
		evbuffer_add_printf(whois_scratch, "status: unknown\nreason: "
		    "too many requests from your address; retry in %d s\n",
		    wait);
		c->wc_alog.ar_status[AS_UNKNOWN]++;
		c->wc_alog.ar_bytes = evbuffer_get_length(whois_scratch);
		alog_end(&c->wc_alog, c->wc_fd, 0, c->wc_start);
		whois_write(c, whois_scratch);
		return;
	}
	/* "whois NAME" for the scoreboard, without printf's cost. */
	memcpy(key, "whois ", 6);
	i = len < sizeof(key) - 7 ? len : sizeof(key) - 7;
	memcpy(key + 6, line, i);
	key[6 + i] = '\0';
	pool_req_begin(key);
	c->wc_state = WS_LOOKUP;
	c->wc_starting = 1;
	c->wc_lookup = lookup_start_as(line, len, LOOKUP_TEXT, c->wc_fd,
	    whois_answered, c);
	c->wc_starting = 0;
	if (c->wc_state == WS_WRITING) {
		c->wc_lookup = NULL;
		whois_write(c, whois_scratch);	/* answered already */
	}
}

/*
 * Look at what has arrived: buf[0..len) is everything read so far.  A
 * complete line is answered; more than max_query_len without an end of
 * line is refused; else wait for more.  `eof`: the client has finished
 * sending (a line without a newline is answered anyway).
 */
static void
whois_input(struct whois_conn *c, const char *buf, size_t len, int eof)
{
	size_t		 max = (size_t)front_conf()->wc_max_query_len;
	size_t		 ll = 0;
	struct timeval	 tv;
	double		 left;

	switch (query_line(buf, len, eof, max, &ll, &c->wc_extra)) {
	case QL_LINE:
		whois_line(c, buf, ll);
		return;
	case QL_TOO_LONG:
		whois_refuse(c, "query too long");
		return;
	case QL_BINARY:
		whois_refuse(c, "bad character (binary or control bytes)");
		return;
	case QL_HUNGUP:
		whois_close(c);		/* connected and hung up */
		return;
	case QL_MORE:
		break;
	}
	/*
	 * Part of a line: keep it and wait for the rest, until idle_timeout
	 * after the connection came, however the bytes trickle in (a
	 * slowloris must not hold the connection longer).
	 */
	if (c->wc_in == NULL)
		c->wc_in = xmalloc(whois_rcap);
	if (buf != c->wc_in)
		memcpy(c->wc_in, buf, len);
	c->wc_len = len;
	left = c->wc_deadline - now_mono();
	if (left < 0.001)
		left = 0.001;
	tv_from_seconds(&tv, left);
	whois_wait(c, EV_READ, whois_read_cb, &tv);
}

static void
whois_read_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct whois_conn	*c = arg;
	ssize_t			 n;

	(void)fd;
	if (ev & EV_TIMEOUT) {
		whois_refuse(c, "no query received (timeout)");
		return;
	}
	n = read(c->wc_fd, c->wc_in + c->wc_len, whois_rcap - c->wc_len);
	if (n == -1 && (errno == EAGAIN || errno == EINTR)) {
		whois_input(c, c->wc_in, c->wc_len, 0);	/* wait again */
		return;
	}
	if (n == -1) {
		whois_close(c);		/* reset: nobody to answer */
		return;
	}
	whois_input(c, c->wc_in, c->wc_len + (size_t)n, n == 0);
}

/* Over http_max_unsent, this answer is among the largest waiting. */
static void
whois_shed(struct unsent *u)
{
	struct whois_conn	*c = (struct whois_conn *)(void *)((char *)u -
				    offsetof(struct whois_conn, wc_us));

	c->wc_abort = 1;
	whois_close(c);
}

void
whois_accept(int fd, int ref)
{
	struct whois_conn	*c;
	ssize_t			 n;

	c = xcalloc(1, sizeof(*c));
	c->wc_fd = fd;
	c->wc_cl = ref;
	c->wc_us.us_shed = whois_shed;
	c->wc_state = WS_READING;
	c->wc_deadline = now_mono() + front_conf()->wc_idle_timeout;
	/*
	 * The query usually arrived with the connection: read it now, and a
	 * memo hit is answered and closed before the socket ever enters the
	 * event loop.
	 */
	n = read(fd, whois_rbuf, whois_rcap);
	if (n == -1 && errno != EAGAIN && errno != EINTR) {
		whois_close(c);
		return;
	}
	whois_input(c, whois_rbuf, n > 0 ? (size_t)n : 0, n == 0);
}
