/*
 * server.c — the simulator's whois port: accept, read one query line,
 * count it, and answer as the registry of its TLD would, after the
 * registry's latency, within its rate limit, or with the fault the name
 * (or the command line, or the data file) asks for.
 *
 * One libevent loop, every socket non-blocking; latency, drip and hold
 * are timers, never sleeps, so thousands of connections wait at once.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "common/log.h"
#include "common/util.h"
#include "tests/regsim/regsim.h"

#define ACCEPT_BURST		256	/* accepts per wake-up */
#define ACCEPT_PAUSE_MS		100	/* after EMFILE and the like */
#define RESET_DELAY_MS		50	/* let the partial answer land */
#define DRAIN_TIMEOUT_S		5	/* wait for the client's EOF */
#define HOUSEKEEP_S		5

enum conn_state {
	CS_READ,	/**< waiting for the query line */
	CS_WAIT,	/**< the registry's latency timer runs */
	CS_WRITE,	/**< writing the answer; finish once it is drained */
	CS_DRIP,	/**< one byte per tick from c_out */
	CS_RESET,	/**< part of the answer written; RST once it landed */
	CS_HOLD,	/**< fault-timeout: never answer, until hold_max */
	CS_DRAIN	/**< our FIN is sent; wait for the client's EOF */
};

struct conn {
	TAILQ_ENTRY(conn)	 c_entry;
	struct regsim		*c_rs;
	struct bufferevent	*c_bev;
	struct event		*c_timer;
	struct evbuffer		*c_out;		/* the answer, unwritten */
	enum conn_state		 c_state;
	enum rs_fault		 c_fault;
	int			 c_eof;		/* the client sent FIN */
	char			 c_addr[64];	/* client address (rate limit) */
	char			 c_peer[80];	/* address:port, for logs */
};

/* Realistic filler for fault-big, after the registry's own answer. */
static const char *big_lines[] = {
	"Name Server: NS%u.EXAMPLE-DNS-HOSTING.NET",
	"Domain Status: clientTransferProhibited "
	    "https://icann.org/epp#clientTransferProhibited",
	"Remarks: %u. The data in this record is provided for information "
	    "purposes only, and the registry does not guarantee its accuracy.",
	"Remarks: %u. By submitting a whois query you agree to use this data "
	    "only for lawful purposes and not to enable high volume, automated,",
	"Remarks: electronic processes that send queries or data to the "
	    "systems of the registry, a registrar, or their affiliates.",
	"DNSSEC: signedDelegation",
	"DS Data: %u 13 2 "
	    "4F8A6C1E2B3D5A7C9E0F1A2B3C4D5E6F708192A3B4C5D6E7F8091A2B3C4D5E6F",
};

static void	conn_free(struct conn *);
static void	conn_finish(struct conn *);

static void
ms_tv(double ms, struct timeval *tv)
{
	if (ms < 0)
		ms = 0;
	tv->tv_sec = (time_t)(ms / 1000);
	tv->tv_usec = (suseconds_t)((ms - tv->tv_sec * 1000.0) * 1000);
}

enum { OPT_LATENCY, OPT_RATE, OPT_FAULT };

static int
opt_has(const struct tldopt *to, int what)
{
	switch (what) {
	case OPT_LATENCY:
		return to->to_has_latency;
	case OPT_RATE:
		return to->to_has_rate;
	default:
		return to->to_has_fault;
	}
}

/*
 * A registry's setting: the most specific TLD first (co.uk, uk, then *),
 * the command line before the data file at each step.
 */
static const struct tldopt *
server_opt(struct regsim *rs, const char *tld, int what)
{
	const struct tldopt	*to;
	const char		*p = tld, *dot;

	for (;;) {
		to = rs_tldopts_find(&rs->rs_opts->ro_opts, p);
		if (to != NULL && opt_has(to, what))
			return to;
		if (rs->rs_have_data) {
			to = rs_tldopts_find(&rs->rs_data.da_opts, p);
			if (to != NULL && opt_has(to, what))
				return to;
		}
		if (strcmp(p, "*") == 0)
			return NULL;
		dot = strchr(p, '.');
		p = dot != NULL ? dot + 1 : "*";
	}
}

static void
conn_free(struct conn *c)
{
	struct regsim	*rs = c->c_rs;

	TAILQ_REMOVE(&rs->rs_conns, c, c_entry);
	rs->rs_nconns--;
	event_free(c->c_timer);
	evbuffer_free(c->c_out);
	bufferevent_free(c->c_bev);	/* closes the socket */
	free(c);
}

/* RST instead of FIN: SO_LINGER with a zero timeout, then close. */
static void
conn_rst(struct conn *c)
{
	struct linger	lg = { 1, 0 };

	if (setsockopt(bufferevent_getfd(c->c_bev), SOL_SOCKET, SO_LINGER,
	    &lg, sizeof(lg)) == -1)
		log_warn("%s: SO_LINGER", c->c_peer);
	log_debug("%s: reset", c->c_peer);
	conn_free(c);
}

/* The answer is out: send FIN, then wait (briefly) for the client's. */
static void
conn_finish(struct conn *c)
{
	struct timeval	tv = { DRAIN_TIMEOUT_S, 0 };

	c->c_state = CS_DRAIN;
	if (c->c_eof) {
		conn_free(c);
		return;
	}
	/*
	 * Closing with unread client bytes would send RST and could destroy
	 * the answer in flight; half-close and read to EOF instead.
	 */
	if (shutdown(bufferevent_getfd(c->c_bev), SHUT_WR) == -1) {
		conn_free(c);
		return;
	}
	bufferevent_disable(c->c_bev, EV_WRITE);
	bufferevent_set_timeouts(c->c_bev, &tv, NULL);
	bufferevent_enable(c->c_bev, EV_READ);
}

static void
conn_start(struct conn *c)
{
	struct evbuffer	*half;
	struct timeval	 tv = { 0, 0 };
	size_t		 len;

	switch (c->c_fault) {
	case FAULT_EMPTY:
		conn_finish(c);
		return;
	case FAULT_RESET:
		len = evbuffer_get_length(c->c_out);
		half = evbuffer_new();
		evbuffer_remove_buffer(c->c_out, half, len > 1 ? len / 2 : len);
		c->c_state = CS_RESET;
		if (evbuffer_get_length(half) == 0) {
			evbuffer_free(half);
			conn_rst(c);
			return;
		}
		bufferevent_write_buffer(c->c_bev, half);
		evbuffer_free(half);
		return;
	case FAULT_DRIP:
		c->c_state = CS_DRIP;
		evtimer_add(c->c_timer, &tv);
		return;
	default:
		c->c_state = CS_WRITE;
		if (evbuffer_get_length(c->c_out) == 0) {
			conn_finish(c);
			return;
		}
		bufferevent_write_buffer(c->c_bev, c->c_out);
		return;
	}
}

static void
conn_timer(evutil_socket_t fd, short ev, void *arg)
{
	struct conn	*c = arg;
	struct timeval	 tv;
	char		 ch;

	(void)fd;
	(void)ev;
	switch (c->c_state) {
	case CS_WAIT:
		conn_start(c);
		break;
	case CS_DRIP:
		if (evbuffer_remove(c->c_out, &ch, 1) != 1) {
			conn_finish(c);
			break;
		}
		bufferevent_write(c->c_bev, &ch, 1);
		if (evbuffer_get_length(c->c_out) > 0) {
			ms_tv(c->c_rs->rs_opts->ro_drip_ms, &tv);
			evtimer_add(c->c_timer, &tv);
		}
		break;
	case CS_RESET:
		conn_rst(c);
		break;
	case CS_HOLD:
		log_debug("%s: fault-timeout hold over", c->c_peer);
		conn_free(c);
		break;
	default:
		break;
	}
}

/* Output drained to the kernel. */
static void
conn_write_cb(struct bufferevent *bev, void *arg)
{
	struct conn	*c = arg;
	struct timeval	 tv;

	(void)bev;
	switch (c->c_state) {
	case CS_WRITE:
		conn_finish(c);
		break;
	case CS_DRIP:
		if (evbuffer_get_length(c->c_out) == 0 &&
		    !evtimer_pending(c->c_timer, NULL))
			conn_finish(c);
		break;
	case CS_RESET:
		ms_tv(RESET_DELAY_MS, &tv);
		evtimer_add(c->c_timer, &tv);
		break;
	default:
		break;
	}
}

/* Render the registry's answer for status into c_out. */
static void
conn_render(struct conn *c, const struct registry *rg, enum rs_status st,
    const char *variant, const char *name, int seconds)
{
	const struct tmpl	*t = NULL;

	if (rg != NULL) {
		t = rs_corpus_template(rg, st, variant);
		/* A registry with no word for reserved says "taken". */
		if (t == NULL && st == RS_RESERVED)
			t = rs_corpus_template(rg, RS_REGISTERED, NULL);
		if (t == NULL && st == RS_THROTTLED)
			t = rs_corpus_template(rg, RS_ERROR, NULL);
		/*
		 * A registry whose every answer is unclassifiable (no whois
		 * service, "not in use" for free names) says that instead.
		 */
		if (t == NULL)
			t = rs_corpus_template(rg, RS_UNKNOWN, NULL);
	}
	if (t != NULL)
		rs_tmpl_render(t, name, seconds, c->c_out);
	else if (rg == NULL)
		evbuffer_add_printf(c->c_out,
		    "%% regsim: no registry serves \"%s\"\n", name);
	else
		evbuffer_add_printf(c->c_out,
		    "%% regsim: \"%s\": no %s template\n", name,
		    rs_status_name(st));
}

static void
conn_pad(struct conn *c, size_t size)
{
	size_t		len, l;
	unsigned	i = 0;
	char		line[256];

	while ((len = evbuffer_get_length(c->c_out)) < size) {
		snprintf(line, sizeof(line) - 1,
		    big_lines[i % nitems(big_lines)], i + 1);
		strcat(line, "\n");
		l = strlen(line);
		if (len + l > size) {
			/* Fill the last bytes exactly, still one text line. */
			l = size - len;
			memset(line, '%', l);
			line[l - 1] = '\n';
		}
		evbuffer_add(c->c_out, line, l);
		i++;
	}
}

static void
conn_garbage(struct conn *c)
{
	unsigned char	buf[2048];
	size_t		n, i;
	uint64_t	r = 0;

	evbuffer_drain(c->c_out, evbuffer_get_length(c->c_out));
	n = 256 + rs_rng_next() % (sizeof(buf) - 256);
	for (i = 0; i < n; i++) {
		if (i % 8 == 0)
			r = rs_rng_next();
		buf[i] = (unsigned char)(r >> (8 * (i % 8)));
	}
	evbuffer_add(c->c_out, buf, n);
}

static void
conn_control(struct conn *c, const char *q)
{
	struct regsim	*rs = c->c_rs;

	if (strcmp(q, "#reset") == 0) {
		rs_stats_reset(&rs->rs_stats);
		rs_ratelimit_free(&rs->rs_rl);
		rs_ratelimit_init(&rs->rs_rl);
		evbuffer_add_printf(c->c_out, "{\"reset\":true}\n");
		log_info("%s: counters reset", c->c_peer);
	} else {
		rs_stats_json(&rs->rs_stats, c->c_out);
		log_debug("%s: stats", c->c_peer);
	}
	c->c_fault = FAULT_NONE;
	conn_start(c);
}

/* One query line: count it, decide the answer, and start it. */
static void
conn_query(struct conn *c, const char *line, size_t len)
{
	struct regsim		*rs = c->c_rs;
	const struct registry	*rg;
	const struct tldopt	*to;
	const char		*fmt, *rest, *variant, *tld, *dot;
	char			 name[RS_NAME_MAX], q[RS_LINE_MAX + 1];
	char			 esc[512], outcome[32];
	enum rs_status		 st;
	struct timeval		 tv;
	double			 ms = 0;
	int			 seconds, over = 0, lseconds = 0;
	size_t			 i, j;

	/* The line without surrounding blanks; NUL bytes are dropped. */
	for (i = 0; i < len && (line[i] == ' ' || line[i] == '\t'); i++)
		;
	for (j = 0; i < len && j < RS_LINE_MAX; i++)
		if (line[i] != '\0')
			q[j++] = line[i];
	while (j > 0 && (q[j - 1] == ' ' || q[j - 1] == '\t' ||
	    q[j - 1] == '\r' || q[j - 1] == '\n'))
		j--;
	q[j] = '\0';

	bufferevent_set_timeouts(c->c_bev, NULL, NULL);
	c->c_state = CS_WAIT;
	if (strcmp(q, "stats") == 0 || strcmp(q, "#stats") == 0 ||
	    strcmp(q, "#reset") == 0) {
		conn_control(c, q);
		return;
	}
	if (rs_query_parse(q, name, sizeof(name), &fmt) == -1) {
		log_info("%s: empty query", c->c_peer);
		evbuffer_add_printf(c->c_out, "%% regsim: empty query\n");
		c->c_fault = FAULT_NONE;
		conn_start(c);
		return;
	}

	rg = rs_corpus_match(&rs->rs_corpus, name);
	if (rg != NULL)
		tld = rg->rg_tld;
	else if ((dot = strrchr(name, '.')) != NULL)
		tld = dot + 1;
	else
		tld = "";

	/* Faults: by the name first, then per registry, then global. */
	c->c_fault = rs_fault_from_name(name, &rest);
	if (c->c_fault == FAULT_NONE &&
	    (to = server_opt(rs, tld, OPT_FAULT)) != NULL &&
	    (to->to_fault_pct >= 100 ||
	    rs_rng_uniform() * 100 < to->to_fault_pct))
		c->c_fault = to->to_fault;

	st = rs_data_classify(rs->rs_have_data ? &rs->rs_data : NULL, rest,
	    &variant);

	/* Every query spends the budget; only answers show the limit. */
	seconds = rs->rs_opts->ro_throttle_seconds;
	if ((to = server_opt(rs, tld, OPT_RATE)) != NULL &&
	    to->to_rate_n > 0) {
		over = rs_ratelimit_hit(&rs->rs_rl, c->c_addr, tld,
		    to->to_rate_n, to->to_rate_window, now_mono(), &lseconds);
		seconds = (int)(to->to_rate_window + 0.999);
	}
	if (over && c->c_fault == FAULT_NONE) {
		st = RS_THROTTLED;
		variant = NULL;
		seconds = lseconds;
	}

	if (c->c_fault != FAULT_NONE)
		snprintf(outcome, sizeof(outcome), "fault-%s",
		    rs_fault_name(c->c_fault));
	else if (rg == NULL)
		snprintf(outcome, sizeof(outcome), "no-registry");
	else
		snprintf(outcome, sizeof(outcome), "%s", rs_status_name(st));
	rs_stats_count(&rs->rs_stats, tld, name, outcome);
	log_info("query %s \"%s\" (%s) domain=%s tld=%s -> %s", c->c_peer,
	    log_escape(q, strlen(q), esc, sizeof(esc)), fmt, name,
	    *tld ? tld : "-", outcome);

	if (c->c_fault == FAULT_TIMEOUT) {
		c->c_state = CS_HOLD;
		ms_tv(rs->rs_opts->ro_hold_max * 1000, &tv);
		evtimer_add(c->c_timer, &tv);
		return;
	}
	if (c->c_fault == FAULT_GARBAGE)
		conn_garbage(c);
	else if (c->c_fault != FAULT_EMPTY) {
		conn_render(c, rg, st, variant, name, seconds);
		if (c->c_fault == FAULT_BIG)
			conn_pad(c, rs->rs_opts->ro_big_size);
	}

	if ((to = server_opt(rs, tld, OPT_LATENCY)) != NULL)
		ms = rs_latency_draw(&to->to_latency);
	if (ms > 0) {
		ms_tv(ms, &tv);
		evtimer_add(c->c_timer, &tv);
		return;
	}
	conn_start(c);
}

static void
conn_read_cb(struct bufferevent *bev, void *arg)
{
	struct conn	*c = arg;
	struct evbuffer	*in = bufferevent_get_input(bev);
	char		*line;
	size_t		 n;

	if (c->c_state != CS_READ) {
		/* Only one query per connection; the rest is ignored. */
		evbuffer_drain(in, evbuffer_get_length(in));
		return;
	}
	if ((line = evbuffer_readln(in, &n, EVBUFFER_EOL_CRLF)) == NULL) {
		if (evbuffer_get_length(in) > RS_LINE_MAX) {
			log_info("%s: query line longer than %d bytes",
			    c->c_peer, RS_LINE_MAX);
			evbuffer_drain(in, evbuffer_get_length(in));
			bufferevent_set_timeouts(c->c_bev, NULL, NULL);
			evbuffer_add_printf(c->c_out,
			    "%% regsim: query too long\n");
			c->c_fault = FAULT_NONE;
			conn_start(c);
		}
		return;
	}
	conn_query(c, line, n);
	free(line);
}

static void
conn_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct conn	*c = arg;
	struct evbuffer	*in = bufferevent_get_input(bev);
	char		*data;
	size_t		 n;

	if (what & BEV_EVENT_EOF) {
		c->c_eof = 1;
		switch (c->c_state) {
		case CS_READ:
			/* A last line without LF is still a query. */
			if ((n = evbuffer_get_length(in)) == 0) {
				conn_free(c);
				return;
			}
			data = xmalloc(n + 1);
			evbuffer_remove(in, data, n);
			data[n] = '\0';
			conn_query(c, data, n);
			free(data);
			return;
		case CS_DRAIN:
			conn_free(c);
			return;
		default:
			/*
			 * A half-close is not a hang-up: a client may shut
			 * its side after the query and still read the answer.
			 */
			return;
		}
	}
	if (what & BEV_EVENT_ERROR) {
		log_debug("%s: %s", c->c_peer, strerror(errno));
		conn_free(c);
		return;
	}
	if (what & BEV_EVENT_TIMEOUT) {
		if (c->c_state == CS_READ)
			log_debug("%s: no query within %gs", c->c_peer,
			    c->c_rs->rs_opts->ro_idle_timeout);
		conn_free(c);
	}
}

static void
conn_new(struct regsim *rs, int fd, const struct sockaddr *sa)
{
	struct conn	*c;
	struct timeval	 tv;
	char		 host[INET6_ADDRSTRLEN];
	int		 port = 0;

	c = xcalloc(1, sizeof(*c));
	c->c_rs = rs;
	c->c_state = CS_READ;
	host[0] = '\0';
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const void *)sa;

		inet_ntop(AF_INET, &sin->sin_addr, host, sizeof(host));
		port = ntohs(sin->sin_port);
		snprintf(c->c_peer, sizeof(c->c_peer), "%s:%d", host, port);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const void *)sa;

		inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof(host));
		port = ntohs(sin6->sin6_port);
		snprintf(c->c_peer, sizeof(c->c_peer), "[%s]:%d", host, port);
	}
	snprintf(c->c_addr, sizeof(c->c_addr), "%s", host);
	c->c_bev = bufferevent_socket_new(rs->rs_base, fd,
	    BEV_OPT_CLOSE_ON_FREE);
	if (c->c_bev == NULL) {
		log_warnx("%s: bufferevent_socket_new failed", c->c_peer);
		close(fd);
		free(c);
		return;
	}
	c->c_timer = evtimer_new(rs->rs_base, conn_timer, c);
	c->c_out = evbuffer_new();
	if (c->c_timer == NULL || c->c_out == NULL)
		fatalx("conn_new: out of memory");
	bufferevent_setcb(c->c_bev, conn_read_cb, conn_write_cb, conn_event_cb,
	    c);
	bufferevent_setwatermark(c->c_bev, EV_READ, 0, RS_LINE_MAX + 2);
	ms_tv(rs->rs_opts->ro_idle_timeout * 1000, &tv);
	bufferevent_set_timeouts(c->c_bev, &tv, NULL);
	bufferevent_enable(c->c_bev, EV_READ | EV_WRITE);
	TAILQ_INSERT_TAIL(&rs->rs_conns, c, c_entry);
	rs->rs_nconns++;
	rs->rs_accepted++;
}

static void
server_accept_resume(evutil_socket_t fd, short ev, void *arg)
{
	struct regsim	*rs = arg;

	(void)fd;
	(void)ev;
	event_add(rs->rs_lev, NULL);
}

static void
server_accept(evutil_socket_t lfd, short ev, void *arg)
{
	struct regsim		*rs = arg;
	struct sockaddr_storage	 ss;
	struct timeval		 tv;
	socklen_t		 sl;
	int			 fd, i;

	(void)ev;
	for (i = 0; i < ACCEPT_BURST; i++) {
		sl = sizeof(ss);
		fd = accept4(lfd, (struct sockaddr *)&ss, &sl,
		    SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd != -1) {
			conn_new(rs, fd, (struct sockaddr *)&ss);
			continue;
		}
		switch (errno) {
		case EINTR:
		case ECONNABORTED:
			continue;
		case EAGAIN:
#if EWOULDBLOCK != EAGAIN
		case EWOULDBLOCK:
#endif
			return;
		case EMFILE:
		case ENFILE:
		case ENOBUFS:
		case ENOMEM:
			/* Out of descriptors: stop accepting for a moment. */
			log_warn("accept (%d connections open)", rs->rs_nconns);
			event_del(rs->rs_lev);
			ms_tv(ACCEPT_PAUSE_MS, &tv);
			evtimer_add(rs->rs_accept_pause, &tv);
			return;
		default:
			log_warn("accept");
			return;
		}
	}
}

static void
server_housekeep(evutil_socket_t fd, short ev, void *arg)
{
	struct regsim	*rs = arg;

	(void)fd;
	(void)ev;
	rs_ratelimit_expire(&rs->rs_rl, now_mono());
}

/* Bind host:port (port 0: any free one); rs_addr says what was bound. */
int
rs_server_listen(struct regsim *rs, const char *hostport, char *err,
    size_t errlen)
{
	struct addrinfo		 hints, *res = NULL;
	struct sockaddr_storage	 ss;
	socklen_t		 sl = sizeof(ss);
	char			 host[256], portstr[16], addr[INET6_ADDRSTRLEN];
	int			 port, fd, on = 1, rc;

	if (parse_hostport(hostport, host, sizeof(host), &port, err,
	    errlen) == -1)
		return -1;
	snprintf(portstr, sizeof(portstr), "%d", port);
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	if ((rc = getaddrinfo(host, portstr, &hints, &res)) != 0) {
		snprintf(err, errlen, "%s: %s", hostport, gai_strerror(rc));
		return -1;
	}
	fd = socket(res->ai_family, res->ai_socktype | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, res->ai_protocol);
	if (fd == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) == -1 ||
	    bind(fd, res->ai_addr, res->ai_addrlen) == -1 ||
	    listen(fd, rs->rs_opts->ro_backlog) == -1 ||
	    getsockname(fd, (struct sockaddr *)&ss, &sl) == -1) {
		snprintf(err, errlen, "%s: %s", hostport, strerror(errno));
		if (fd != -1)
			close(fd);
		freeaddrinfo(res);
		return -1;
	}
	freeaddrinfo(res);
	if (ss.ss_family == AF_INET6) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

		inet_ntop(AF_INET6, &sin6->sin6_addr, addr, sizeof(addr));
		snprintf(rs->rs_addr, sizeof(rs->rs_addr), "[%s]:%d", addr,
		    ntohs(sin6->sin6_port));
	} else {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		inet_ntop(AF_INET, &sin->sin_addr, addr, sizeof(addr));
		snprintf(rs->rs_addr, sizeof(rs->rs_addr), "%s:%d", addr,
		    ntohs(sin->sin_port));
	}
	rs->rs_lfd = fd;
	return 0;
}

int
rs_server_start(struct regsim *rs)
{
	struct timeval	tv = { HOUSEKEEP_S, 0 };

	TAILQ_INIT(&rs->rs_conns);
	rs_stats_init(&rs->rs_stats);
	rs_ratelimit_init(&rs->rs_rl);
	rs->rs_lev = event_new(rs->rs_base, rs->rs_lfd, EV_READ | EV_PERSIST,
	    server_accept, rs);
	rs->rs_accept_pause = evtimer_new(rs->rs_base, server_accept_resume,
	    rs);
	rs->rs_housekeep = event_new(rs->rs_base, -1, EV_PERSIST,
	    server_housekeep, rs);
	if (rs->rs_lev == NULL || rs->rs_accept_pause == NULL ||
	    rs->rs_housekeep == NULL)
		return -1;
	event_add(rs->rs_lev, NULL);
	event_add(rs->rs_housekeep, &tv);
	return 0;
}

/* SIGHUP: re-read the data file and the corpus; on error keep the old. */
int
rs_server_reload(struct regsim *rs)
{
	char	err[512];
	int	rc = 0;

	if (rs->rs_opts->ro_data != NULL) {
		if (rs_data_load(&rs->rs_data, rs->rs_opts->ro_data, err,
		    sizeof(err)) == -1) {
			log_warnx("reload: %s; keeping the old data", err);
			rc = -1;
		} else
			rs->rs_have_data = 1;
	}
	if (rs_corpus_load(&rs->rs_corpus, rs->rs_opts->ro_corpus, err,
	    sizeof(err)) == -1) {
		log_warnx("reload: %s; keeping the old templates", err);
		rc = -1;
	}
	log_notice("reloaded: %d registries, %d templates, data %s%s",
	    rs->rs_corpus.co_nreg, rs->rs_corpus.co_ntmpl,
	    rs->rs_opts->ro_data != NULL ? rs->rs_opts->ro_data : "(none)",
	    rc == -1 ? " (with errors)" : "");
	return rc;
}

void
rs_server_free(struct regsim *rs)
{
	struct conn	*c;

	while ((c = TAILQ_FIRST(&rs->rs_conns)) != NULL)
		conn_free(c);
	if (rs->rs_lev != NULL)
		event_free(rs->rs_lev);
	if (rs->rs_accept_pause != NULL)
		event_free(rs->rs_accept_pause);
	if (rs->rs_housekeep != NULL)
		event_free(rs->rs_housekeep);
	if (rs->rs_lfd > 0)
		close(rs->rs_lfd);
	rs_stats_free(&rs->rs_stats);
	rs_ratelimit_free(&rs->rs_rl);
	rs_data_free(&rs->rs_data);
	rs_corpus_free(&rs->rs_corpus);
}
