/*
 * session.c — one whois conversation (RFC 3912) with a registry, an IANA
 * server or a registrar, as an explicit state machine:
 *
 *	SS_RESOLVING --> SS_RESOLVED --go--> SS_CONNECTING --> SS_SENDING
 *	                                                          |
 *	              SS_DONE <---- EOF, cap, error, timeout -- SS_READING
 *
 * Every state can end in SS_DONE.  The name is resolved first (evdns, so
 * a slow resolver never blocks the child), then the caller gates the
 * connect on its rate budget (session_go), so the registry sees our sends
 * spaced as the budget says, not as DNS happened to answer.
 *
 * Timeouts: connect_timeout covers resolving and connecting; the first
 * byte must come first_byte_timeout after the query was written; the
 * whole exchange (from go) ends at total_timeout.  A reply over
 * max_reply bytes is cut and reported truncated.
 *
 * Callbacks never run from inside session_start() or session_go(): each
 * goes through a deferred event, so a caller can always store the handle
 * first.  The session is freed after its done callback returns.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/dns.h>
#include <event2/event.h>
#include <event2/util.h>

#include "common/log.h"
#include "common/util.h"
#include "daemons/query/classify.h"
#include "daemons/query/query.h"

#define SESSION_ADDRS_MAX	8

struct session {
	enum session_state	 s_state;
	struct event_base	*s_base;
	char			*s_server;
	char			*s_host;	/* what is resolved and connected */
	char			 s_port[8];
	int			 s_public_only;
	char			*s_query;
	size_t			 s_qlen, s_qoff;
	double			 s_connect_to, s_first_byte_to, s_total_to;
	size_t			 s_max;

	struct sockaddr_storage	 s_addrs[SESSION_ADDRS_MAX];
	socklen_t		 s_addrlens[SESSION_ADDRS_MAX];
	int			 s_naddrs, s_cur;
	struct evdns_getaddrinfo_request *s_dnsreq;
	int			 s_cancelled;

	int			 s_fd;
	struct event		*s_io;
	struct event		*s_timer;
	struct event		*s_kick;	/* deferred callbacks */
	int			 s_kick_ready;

	double			 s_started;	/* resolve start (monotonic) */
	double			 s_go;		/* connect start */
	double			 s_sent;	/* query fully written */
	char			*s_buf;
	size_t			 s_len, s_cap;

	const char		*s_pace_name;
	char			 s_pace_name_buf[BUDGET_NAME_LEN];
	double			 s_pace_rate;
	int			 s_pace_prio;

	struct session_result	 s_res;
	char			 s_msg[256];

	session_ready_cb	 s_ready_cb;
	session_done_cb		 s_done_cb;
	void			*s_arg;
};

static void	session_io_cb(evutil_socket_t, short, void *);
static void	session_timer_cb(evutil_socket_t, short, void *);
static void	session_kick_cb(evutil_socket_t, short, void *);
static void	session_connect_next(struct session *);
static void	session_release(struct session *);
static void	session_write(struct session *);

enum session_state
session_state(const struct session *s)
{
	return s->s_state;
}

int
session_addr_private(const struct sockaddr *sa)
{
	const uint8_t	*a;
	uint32_t	 v4;

	if (sa->sa_family == AF_INET) {
		v4 = ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr);
		goto v4;
	}
	if (sa->sa_family != AF_INET6)
		return 1;
	a = ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;
	/* v4-mapped: judge the v4 address. */
	if (memcmp(a, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12) == 0) {
		v4 = ((uint32_t)a[12] << 24) | ((uint32_t)a[13] << 16) |
		    ((uint32_t)a[14] << 8) | a[15];
		goto v4;
	}
	if (memcmp(a, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 15) == 0)
		return 1;			/* :: and ::1 */
	if ((a[0] & 0xfe) == 0xfc)		/* fc00::/7 unique local */
		return 1;
	if (a[0] == 0xfe && (a[1] & 0xc0) == 0x80)	/* fe80::/10 */
		return 1;
	if (a[0] == 0xff)			/* multicast */
		return 1;
	if (a[0] == 0x20 && a[1] == 0x01 && a[2] == 0x0d && a[3] == 0xb8)
		return 1;			/* 2001:db8::/32 documentation */
	if (a[0] == 0x00 && a[1] == 0x64 && a[2] == 0xff && a[3] == 0x9b)
		return 1;			/* 64:ff9b::/96 NAT64 */
	return 0;
v4:
	if ((v4 >> 24) == 0 || (v4 >> 24) == 10 || (v4 >> 24) == 127 ||
	    (v4 >> 16) == 0xa9fe ||		/* 169.254/16 */
	    (v4 >> 20) == 0xac1 ||		/* 172.16/12 */
	    (v4 >> 16) == 0xc0a8 ||		/* 192.168/16 */
	    (v4 >> 22) == (0x64400000u >> 22) ||	/* 100.64/10 CGNAT */
	    (v4 >> 8) == 0xc00000 ||		/* 192.0.0/24 */
	    (v4 >> 8) == 0xc00002 ||		/* 192.0.2/24 */
	    (v4 >> 17) == (0xc6120000u >> 17) ||	/* 198.18/15 */
	    (v4 >> 8) == 0xc63364 ||		/* 198.51.100/24 */
	    (v4 >> 8) == 0xcb0071 ||		/* 203.0.113/24 */
	    (v4 >> 28) >= 0xe)			/* multicast, reserved */
		return 1;
	return 0;
}

static void
session_timer_set(struct session *s, double secs)
{
	struct timeval	tv;

	tv_from_seconds(&tv, secs);
	evtimer_add(s->s_timer, &tv);
}

/* Drop the connection, if any: its event and its socket. */
static void
session_disconnect(struct session *s)
{
	if (s->s_io != NULL) {
		event_free(s->s_io);
		s->s_io = NULL;
	}
	if (s->s_fd != -1) {
		close(s->s_fd);
		s->s_fd = -1;
	}
}

/*
 * The registry closed first and every byte is in: let the close send a
 * reset instead of a FIN.  Nothing is left unread on either side, and
 * both ends are spared the closing handshake and the registry its
 * TIME_WAIT socket.
 */
static void
session_close_abort(struct session *s)
{
	struct linger	lg = { 1, 0 };

	(void)setsockopt(s->s_fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
}

static void
session_free(struct session *s)
{
	session_disconnect(s);
	event_free(s->s_timer);
	event_free(s->s_kick);
	free(s->s_server);
	free(s->s_host);
	free(s->s_query);
	free(s->s_buf);
	free(s);
}

/* End the conversation; the done callback runs from the loop. */
static void
session_finish(struct session *s, int transport, const char *kind,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void
session_finish(struct session *s, int transport, const char *kind,
    const char *fmt, ...)
{
	va_list	ap;
	double	from;

	if (s->s_state == SS_DONE)
		return;
	s->s_state = SS_DONE;
	session_disconnect(s);
	evtimer_del(s->s_timer);
	if (transport == CLT_OK && s->s_len == 0) {
		transport = CLT_EMPTY;
		kind = "empty";
		fmt = "closed without a byte";
	}
	s->s_res.sr_transport = transport;
	s->s_res.sr_kind = kind;
	if (fmt != NULL) {
		va_start(ap, fmt);
		vsnprintf(s->s_msg, sizeof(s->s_msg), fmt, ap);
		va_end(ap);
	}
	s->s_res.sr_msg = s->s_msg;
	s->s_res.sr_reply = s->s_buf != NULL ? s->s_buf : "";
	s->s_res.sr_len = s->s_len;
	from = s->s_go > 0 ? s->s_go : s->s_started;
	s->s_res.sr_ms = (now_mono() - from) * 1000.0;
	event_active(s->s_kick, EV_TIMEOUT, 0);
}

static void
session_kick_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct session	*s = arg;

	(void)fd; (void)ev;
	if (s->s_state == SS_DONE) {
		s->s_done_cb(s, &s->s_res, s->s_arg);
		session_release(s);
		return;
	}
	if (s->s_state == SS_RESOLVED && s->s_kick_ready) {
		s->s_kick_ready = 0;
		if (s->s_ready_cb != NULL)
			s->s_ready_cb(s, s->s_arg);
		else
			session_go(s);
	}
}

static void
session_dns_cb(int result, struct evutil_addrinfo *res, void *arg)
{
	struct session		*s = arg;
	struct evutil_addrinfo	*ai;
	int			 refused = 0;

	s->s_dnsreq = NULL;
	if (s->s_cancelled) {
		if (res != NULL)
			evutil_freeaddrinfo(res);
		session_free(s);
		return;
	}
	if (s->s_state != SS_RESOLVING) {
		/* Timed out already; the done callback is on its way. */
		if (res != NULL)
			evutil_freeaddrinfo(res);
		return;
	}
	if (result != 0) {
		session_finish(s, CLT_RESET, "refused", "resolve %s: %s",
		    s->s_host, evutil_gai_strerror(result));
		return;
	}
	for (ai = res; ai != NULL && s->s_naddrs < SESSION_ADDRS_MAX;
	    ai = ai->ai_next) {
		if (ai->ai_addrlen > sizeof(s->s_addrs[0]))
			continue;
		if (s->s_public_only && session_addr_private(ai->ai_addr)) {
			refused++;
			continue;
		}
		memcpy(&s->s_addrs[s->s_naddrs], ai->ai_addr, ai->ai_addrlen);
		s->s_addrlens[s->s_naddrs++] = (socklen_t)ai->ai_addrlen;
	}
	evutil_freeaddrinfo(res);
	if (s->s_naddrs == 0) {
		session_finish(s, CLT_RESET, "refused", "%s: %s", s->s_host,
		    refused ? "resolves only to private or loopback addresses" :
		    "no address");
		return;
	}
	evtimer_del(s->s_timer);	/* waiting for go has no timeout */
	s->s_state = SS_RESOLVED;
	s->s_kick_ready = 1;
	event_active(s->s_kick, EV_TIMEOUT, 0);
}

struct session *
session_start(struct event_base *base, const struct session_args *a,
    session_ready_cb ready, session_done_cb done, void *arg)
{
	struct session		*s;
	struct evutil_addrinfo	 hints;
	char			 host[NAME_ACE_BUF], err[128];
	int			 port;

	s = xcalloc(1, sizeof(*s));
	s->s_base = base;
	s->s_fd = -1;
	s->s_state = SS_RESOLVING;
	s->s_server = xstrdup(a->sa_server);
	s->s_public_only = a->sa_public_only;
	s->s_query = xstrdup(a->sa_query);
	s->s_qlen = strlen(a->sa_query);
	s->s_connect_to = a->sa_connect_timeout;
	s->s_first_byte_to = a->sa_first_byte_timeout;
	s->s_total_to = a->sa_total_timeout;
	s->s_max = a->sa_max_reply;
	s->s_ready_cb = ready;
	s->s_done_cb = done;
	s->s_arg = arg;
	s->s_started = now_mono();
	s->s_timer = evtimer_new(base, session_timer_cb, s);
	s->s_kick = event_new(base, -1, 0, session_kick_cb, s);

	if (a->sa_connect != NULL && *a->sa_connect != '\0') {
		if (parse_hostport(a->sa_connect, host, sizeof(host), &port,
		    err, sizeof(err)) == -1) {
			s->s_host = xstrdup(a->sa_connect);
			session_finish(s, CLT_RESET, "refused", "%s", err);
			return s;
		}
		s->s_host = xstrdup(host);
	} else {
		s->s_host = xstrdup(a->sa_server);
		port = a->sa_port;
	}
	snprintf(s->s_port, sizeof(s->s_port), "%d", port);
	session_timer_set(s, s->s_connect_to);

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_protocol = IPPROTO_TCP;
	hints.ai_flags = EVUTIL_AI_ADDRCONFIG;
	if (query_dns() != NULL)
		/* May call back at once (numeric hosts): the callback only
		 * stores the addresses and defers the rest. */
		s->s_dnsreq = evdns_getaddrinfo(query_dns(), s->s_host,
		    s->s_port, &hints, session_dns_cb, s);
	else {
		struct evutil_addrinfo	*res = NULL;
		int			 r;

		r = evutil_getaddrinfo(s->s_host, s->s_port, &hints, &res);
		session_dns_cb(r, res, s);
	}
	return s;
}

/*
 * The caller is done with s.  A pending resolver request still holds s
 * as its argument: cancel it and let its callback (which the resolver
 * always makes, EAI_CANCEL here) free s.
 */
static void
session_release(struct session *s)
{
	struct evdns_getaddrinfo_request *r;

	evtimer_del(s->s_timer);
	event_del(s->s_kick);
	session_disconnect(s);
	if (s->s_dnsreq != NULL) {
		if (!s->s_cancelled) {
			s->s_cancelled = 1;
			r = s->s_dnsreq;
			evdns_getaddrinfo_cancel(r);
		}
		return;
	}
	session_free(s);
}

void
session_cancel(struct session *s)
{
	if (s != NULL)
		session_release(s);
}

void
session_go(struct session *s)
{
	if (s->s_state != SS_RESOLVED)
		return;
	s->s_go = now_mono();
	s->s_cur = 0;
	session_connect_next(s);
}

void
session_pace(struct session *s, const char *name, double rate, double wait,
    int prio)
{
	double	more;

	if (s->s_state != SS_RESOLVED)
		return;
	if (s->s_pace_name != name) {
		snprintf(s->s_pace_name_buf, sizeof(s->s_pace_name_buf), "%s",
		    name);
		s->s_pace_name = s->s_pace_name_buf;
	}
	s->s_pace_rate = rate;
	s->s_pace_prio = prio;
	if (wait <= 0 && (more = budget_send(name, rate, prio)) > 0)
		wait = more;
	if (wait > 0) {
		session_timer_set(s, wait);
		return;
	}
	session_go(s);
}

/*
 * Right after connect(): 1 if the query went out (the session goes on
 * reading), or the connection failed and the next address is being
 * tried; 0 if still connecting (wait for writability).
 */
static int
session_send_early(struct session *s)
{
	ssize_t	n;

	do
		n = send(s->s_fd, s->s_query, s->s_qlen, MSG_NOSIGNAL);
	while (n == -1 && errno == EINTR);
	if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK ||
	    errno == ENOTCONN))
		return 0;
	if (n == -1) {
		/* Refused or reset: as a failed connect. */
		snprintf(s->s_msg, sizeof(s->s_msg), "connect to %s:%s: %s",
		    s->s_host, s->s_port, strerror(errno));
		close(s->s_fd);
		s->s_fd = -1;
		session_connect_next(s);
		return 1;
	}
	s->s_qoff = (size_t)n;
	s->s_state = SS_SENDING;
	session_write(s);
	return 1;
}

/* Try the next address; every failure path ends the session. */
static void
session_connect_next(struct session *s)
{
	char	 addr[96];
	int	 fd, one = 1;

	while (s->s_cur < s->s_naddrs) {
		struct sockaddr *sa = (struct sockaddr *)&s->s_addrs[s->s_cur];

		s->s_cur++;
		fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK |
		    SOCK_CLOEXEC, 0);
		if (fd == -1)
			continue;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		if (connect(fd, sa, s->s_addrlens[s->s_cur - 1]) == -1 &&
		    errno != EINPROGRESS) {
			sockaddr_str(sa, addr, sizeof(addr));
			snprintf(s->s_msg, sizeof(s->s_msg), "connect %s: %s",
			    addr, strerror(errno));
			close(fd);
			continue;
		}
		s->s_fd = fd;
		s->s_state = SS_CONNECTING;
		/*
		 * On loopback (a local simulator, a registry on the same
		 * network) the handshake is usually over by the time
		 * connect() returns: write the query now instead of waiting
		 * a loop pass for writability (two epoll_ctl calls saved).
		 * Still connecting: EAGAIN, and we wait as before.
		 */
		if (session_send_early(s))
			return;
		s->s_io = event_new(s->s_base, fd, EV_WRITE, session_io_cb, s);
		event_add(s->s_io, NULL);
		session_timer_set(s, s->s_connect_to);
		return;
	}
	session_finish(s, CLT_RESET, "refused", "%s",
	    s->s_msg[0] ? s->s_msg : "no address to connect to");
}

/* Arm the timer for the nearest deadline of the current state. */
static void
session_rearm(struct session *s)
{
	double	now = now_mono(), t;

	t = s->s_go + s->s_total_to;
	if (s->s_state == SS_READING && s->s_len == 0 &&
	    s->s_sent + s->s_first_byte_to < t)
		t = s->s_sent + s->s_first_byte_to;
	session_timer_set(s, t - now);
}

static void
session_timer_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct session	*s = arg;
	double		 now = now_mono();

	(void)fd; (void)ev;
	switch (s->s_state) {
	case SS_RESOLVED:
		/* session_pace(): the reserved slot has come. */
		session_pace(s, s->s_pace_name, s->s_pace_rate, 0,
		    s->s_pace_prio);
		break;
	case SS_RESOLVING:
		/* The resolver request is cancelled on release. */
		session_finish(s, CLT_TIMEOUT, "timeout",
		    "resolving %s took over %.1fs", s->s_host, s->s_connect_to);
		break;
	case SS_CONNECTING:
		/* Another address may answer; the total bound still holds. */
		session_disconnect(s);
		snprintf(s->s_msg, sizeof(s->s_msg), "connect to %s:%s took "
		    "over %.1fs", s->s_host, s->s_port, s->s_connect_to);
		if (s->s_cur < s->s_naddrs &&
		    now - s->s_go + s->s_connect_to < s->s_total_to) {
			session_connect_next(s);
			if (s->s_state == SS_CONNECTING)
				return;
		}
		session_finish(s, CLT_TIMEOUT, "timeout", "%s", s->s_msg);
		break;
	case SS_SENDING:
	case SS_READING:
		if (s->s_len == 0 && now - s->s_go < s->s_total_to)
			session_finish(s, CLT_TIMEOUT, "timeout",
			    "no reply from %s within %.1fs", s->s_server,
			    s->s_first_byte_to);
		else
			session_finish(s, CLT_TIMEOUT, "timeout",
			    "reply from %s not complete within %.1fs "
			    "(%zu bytes)", s->s_server, s->s_total_to,
			    s->s_len);
		break;
	default:
		break;
	}
}

static void
session_write(struct session *s)
{
	ssize_t	n;

	while (s->s_qoff < s->s_qlen) {
		n = send(s->s_fd, s->s_query + s->s_qoff, s->s_qlen - s->s_qoff,
		    MSG_NOSIGNAL);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN) {
			if (s->s_io == NULL) {
				/* Sent early, in part: wait for room. */
				s->s_io = event_new(s->s_base, s->s_fd,
				    EV_WRITE | EV_PERSIST, session_io_cb, s);
				event_add(s->s_io, NULL);
				session_rearm(s);
			}
			return;		/* EV_WRITE again */
		}
		if (n == -1) {
			session_finish(s, CLT_RESET, "reset", "send to %s: %s",
			    s->s_server, strerror(errno));
			return;
		}
		s->s_qoff += (size_t)n;
	}
	s->s_sent = now_mono();
	s->s_state = SS_READING;
	if (s->s_io != NULL)
		event_free(s->s_io);
	s->s_io = event_new(s->s_base, s->s_fd, EV_READ | EV_PERSIST,
	    session_io_cb, s);
	event_add(s->s_io, NULL);
	session_rearm(s);
}

static void
session_read(struct session *s)
{
	ssize_t	n;
	size_t	room;

	for (;;) {
		if (s->s_cap - s->s_len < 4096) {
			s->s_cap = s->s_cap == 0 ? 8192 : s->s_cap * 2;
			if (s->s_cap > s->s_max + 1)
				s->s_cap = s->s_max + 1;
			s->s_buf = xrealloc(s->s_buf, s->s_cap + 1);
		}
		room = s->s_cap - s->s_len;
		n = recv(s->s_fd, s->s_buf + s->s_len, room, 0);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN)
			break;
		if (n == -1) {
			s->s_buf[s->s_len] = '\0';
			session_finish(s, CLT_RESET, "reset",
			    "reading from %s: %s (after %zu bytes)",
			    s->s_server, strerror(errno), s->s_len);
			return;
		}
		if (n == 0) {
			session_close_abort(s);
			s->s_buf[s->s_len] = '\0';
			session_finish(s, CLT_OK, NULL, "%zu bytes", s->s_len);
			return;
		}
		s->s_len += (size_t)n;
		if (s->s_len > s->s_max) {
			s->s_len = s->s_max;
			s->s_buf[s->s_len] = '\0';
			session_finish(s, CLT_TRUNCATED, "truncated",
			    "reply from %s over %zu bytes", s->s_server,
			    s->s_max);
			return;
		}
		if (s->s_cap == s->s_max + 1 && s->s_len == s->s_cap)
			continue;
	}
	s->s_buf[s->s_len] = '\0';
	session_rearm(s);
}

static void
session_io_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct session	*s = arg;
	socklen_t	 len;
	int		 err = 0;

	(void)ev;
	switch (s->s_state) {
	case SS_CONNECTING:
		len = sizeof(err);
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
			err = errno;
		if (err != 0) {
			snprintf(s->s_msg, sizeof(s->s_msg), "connect to %s:%s:"
			    " %s", s->s_host, s->s_port, strerror(err));
			session_disconnect(s);
			session_connect_next(s);
			return;
		}
		s->s_state = SS_SENDING;
		session_rearm(s);
		event_free(s->s_io);
		s->s_io = event_new(s->s_base, s->s_fd, EV_WRITE | EV_PERSIST,
		    session_io_cb, s);
		event_add(s->s_io, NULL);
		session_write(s);
		break;
	case SS_SENDING:
		session_write(s);
		break;
	case SS_READING:
		session_read(s);
		break;
	default:
		break;
	}
}
