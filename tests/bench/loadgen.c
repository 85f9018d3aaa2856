/*
 * loadgen.c: whoisd-loadgen, the load generator behind `make bench`.
 *
 * Two request models over loopback TCP, driven by epoll with non-blocking
 * sockets, one event loop per thread:
 *
 *   whois  one-shot: connect, write one query line, read to EOF, close
 *          (RFC 3912, and the reference line servers);
 *   http   HTTP/1.1 keep-alive: one GET after the other on each
 *          connection, the reply framed by Content-Length or chunked.
 *
 * Each of the -c connections keeps exactly one request in flight, so -c is
 * the concurrency.  Names come from --names=FILE (one a line) and are
 * cycled by a global request sequence, so with -n a run of -n requests
 * asks -n consecutive names: distinct names when the file is long enough.
 *
 * Output: a human summary, then one line `RESULT {json}` for scripts.
 * Latency is from the connect (whois) or the request write (http) to the
 * last byte of the reply; only successful requests are in the latency
 * figures.  Errors are counted by kind: refused (connect refused), reset
 * (ECONNRESET/EPIPE), timeout (no full reply within --timeout), short
 * (EOF before a full reply, a bad HTTP status, or a reply that lacks
 * --expect or is under --min-bytes), other (any other errno: EMFILE,
 * EADDRNOTAVAIL, ...).
 */
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "common/util.h"

#define LG_RBUF_MIN	4096
#define LG_MAX_EVENTS	256

enum lg_mode { LG_WHOIS, LG_HTTP };
enum lg_err { LG_E_REFUSED, LG_E_RESET, LG_E_TIMEOUT, LG_E_SHORT,
	LG_E_OTHER, LG_E_MAX };
static const char *lg_err_names[LG_E_MAX] =
    { "refused", "reset", "timeout", "short", "other" };

enum lg_state { LG_IDLE, LG_CONNECTING, LG_WRITING, LG_READING };

struct lg_conf {
	enum lg_mode	 lc_mode;
	struct sockaddr_in lc_addr;
	char		 lc_host[64];
	int		 lc_conc;
	int		 lc_threads;
	double		 lc_duration;
	double		 lc_warmup;
	uint64_t	 lc_count;		/* 0: run for lc_duration */
	int		 lc_timeout_ms;
	char		 lc_path[256];
	int		 lc_per_req;		/* names per HTTP request */
	char		*lc_expect;
	size_t		 lc_min_bytes;
	char		 lc_label[128];
	char		**lc_names;
	size_t		 lc_nnames;
	int		 lc_quiet;
};

struct lg_conn {
	int		 cn_fd;
	enum lg_state	 cn_state;
	double		 cn_start;		/* of the current request */
	double		 cn_deadline;
	double		 cn_retry_at;		/* idle: reconnect after this */
	char		*cn_out;		/* the request */
	size_t		 cn_outlen, cn_outoff, cn_outcap;
	char		*cn_in;			/* the reply so far */
	size_t		 cn_inlen, cn_incap;
	int		 cn_reused;		/* keep-alive: not the first request */
};

struct lg_thread {
	int		 th_id;
	int		 th_epfd;
	int		 th_nconn;
	struct lg_conn	*th_conns;
	uint32_t	*th_lat;		/* microseconds */
	size_t		 th_nlat, th_caplat;
	uint64_t	 th_ok;
	uint64_t	 th_err[LG_E_MAX];
	uint64_t	 th_bytes;
	pthread_t	 th_tid;
};

static struct lg_conf	 lg;
static atomic_uint_fast64_t lg_seq;	/* request tickets */
static double		 lg_t0, lg_tend, lg_twarm;

static void
lg_usage(void)
{
	fprintf(stderr,
"usage: whoisd-loadgen --port=N [options]\n"
"  --host=IP          server address (127.0.0.1)\n"
"  --port=N           server port (required)\n"
"  --mode=whois|http  one-shot whois lines, or HTTP/1.1 keep-alive (whois)\n"
"  -c, --conc=N       concurrent connections (16)\n"
"  -d, --duration=S   run S seconds (5), or\n"
"  -n, --count=N      run exactly N requests, then stop\n"
"  -t, --threads=N    event-loop threads (1)\n"
"  --warmup=S         leave the first S seconds out of the figures (0)\n"
"  --names=FILE       names to cycle through, one a line\n"
"  --name=NAME        one name (repeatable) instead of a file\n"
"  --path=PATH        HTTP path (/v1/check); names go in ?domain=...\n"
"  --per-request=N    HTTP: names per request (1)\n"
"  --timeout=MS       a request not answered in MS is an error (10000)\n"
"  --expect=STR       a reply without STR is a short reply\n"
"  --min-bytes=N      a reply under N bytes is a short reply (1)\n"
"  --label=TEXT       label in the RESULT line\n"
"  -q                 only the RESULT line\n");
	exit(2);
}

/* ---------------------------------------------------------------- names */

static void
lg_add_name(const char *s, size_t len)
{
	static size_t cap;

	if (lg.lc_nnames == cap) {
		cap = cap ? cap * 2 : 1024;
		lg.lc_names = xrealloc(lg.lc_names, cap * sizeof(char *));
	}
	lg.lc_names[lg.lc_nnames++] = xstrndup(s, len);
}

static void
lg_load_names(const char *path)
{
	FILE	*f;
	char	*line = NULL;
	size_t	 cap = 0;
	ssize_t	 n;

	if ((f = fopen(path, "r")) == NULL) {
		fprintf(stderr, "whoisd-loadgen: %s: %s\n", path,
		    strerror(errno));
		exit(2);
	}
	while ((n = getline(&line, &cap, f)) != -1) {
		while (n > 0 && isspace((unsigned char)line[n - 1]))
			n--;
		if (n > 0 && line[0] != '#')
			lg_add_name(line, (size_t)n);
	}
	free(line);
	fclose(f);
}

/* ---------------------------------------------------------------- requests */

static void
lg_out_reserve(struct lg_conn *cn, size_t more)
{
	if (cn->cn_outlen + more + 1 > cn->cn_outcap) {
		cn->cn_outcap = (cn->cn_outlen + more + 1) * 2;
		cn->cn_out = xrealloc(cn->cn_out, cn->cn_outcap);
	}
}

static void
lg_out_add(struct lg_conn *cn, const char *s, size_t len)
{
	lg_out_reserve(cn, len);
	memcpy(cn->cn_out + cn->cn_outlen, s, len);
	cn->cn_outlen += len;
	cn->cn_out[cn->cn_outlen] = '\0';
}

/* Percent-encode what a query value must not carry raw. */
static void
lg_out_qvalue(struct lg_conn *cn, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	char	 e[3];

	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;
		if (isalnum(c) || c == '.' || c == '-' || c == '_') {
			lg_out_add(cn, s, 1);
			continue;
		}
		e[0] = '%';
		e[1] = hex[c >> 4];
		e[2] = hex[c & 15];
		lg_out_add(cn, e, 3);
	}
}

/* Build the next request for seq; 0, or -1 when the count is used up. */
static int
lg_build(struct lg_conn *cn)
{
	uint64_t	 seq;
	const char	*name;
	int		 i, per;

	seq = atomic_fetch_add(&lg_seq, 1);
	if (lg.lc_count > 0 && seq >= lg.lc_count)
		return -1;
	cn->cn_outlen = cn->cn_outoff = 0;
	if (lg.lc_mode == LG_WHOIS) {
		name = lg.lc_names[seq % lg.lc_nnames];
		lg_out_add(cn, name, strlen(name));
		lg_out_add(cn, "\r\n", 2);
		return 0;
	}
	per = lg.lc_per_req;
	lg_out_add(cn, "GET ", 4);
	lg_out_add(cn, lg.lc_path, strlen(lg.lc_path));
	for (i = 0; i < per; i++) {
		name = lg.lc_names[(seq * (uint64_t)per + (uint64_t)i) %
		    lg.lc_nnames];
		lg_out_add(cn, i == 0 ? "?domain=" : "&domain=", 8);
		lg_out_qvalue(cn, name);
	}
	lg_out_add(cn, " HTTP/1.1\r\nHost: ", 17);
	lg_out_add(cn, lg.lc_host, strlen(lg.lc_host));
	lg_out_add(cn, "\r\nUser-Agent: whoisd-loadgen\r\n\r\n", 32);
	return 0;
}

/* ---------------------------------------------------------------- HTTP */

/*
 * Is the reply in buf complete?  1 yes (*status, *close, body in
 * [*body, *body + *blen) for a Content-Length reply; chunked bodies are
 * checked in place), 0 not yet, -1 malformed.
 */
static int
lg_http_done(const char *buf, size_t len, int *status, int *closeit,
    const char **body, size_t *blen)
{
	const char	*hend, *p, *eol, *b, *end;
	long long	 clen = -1;
	int		 chunked = 0;
	size_t		 hlen;

	if ((hend = memmem(buf, len, "\r\n\r\n", 4)) == NULL)
		return len > 65536 ? -1 : 0;
	hlen = (size_t)(hend - buf) + 4;
	if (len < 12 || strncmp(buf, "HTTP/1.", 7) != 0)
		return -1;
	*status = atoi(buf + 9);
	*closeit = strncmp(buf, "HTTP/1.0", 8) == 0;
	for (p = (const char *)memchr(buf, '\n', hlen) + 1; p < hend;
	    p = eol + 2) {
		eol = memmem(p, (size_t)(hend + 2 - p), "\r\n", 2);
		if (eol == NULL)
			break;
		if (strncasecmp(p, "content-length:", 15) == 0)
			clen = strtoll(p + 15, NULL, 10);
		else if (strncasecmp(p, "transfer-encoding:", 18) == 0 &&
		    memmem(p, (size_t)(eol - p), "chunked", 7) != NULL)
			chunked = 1;
		else if (strncasecmp(p, "connection:", 11) == 0) {
			if (memmem(p, (size_t)(eol - p), "close", 5) != NULL)
				*closeit = 1;
			else if (memmem(p, (size_t)(eol - p), "keep-alive",
			    10) != NULL)
				*closeit = 0;
		}
	}
	b = buf + hlen;
	end = buf + len;
	if (!chunked) {
		if (clen < 0)
			return -1;	/* we never ask for a read-to-close body */
		if ((size_t)(end - b) < (size_t)clen)
			return 0;
		*body = b;
		*blen = (size_t)clen;
		return 1;
	}
	for (p = b;;) {
		unsigned long	 sz;
		char		*q;

		if ((eol = memmem(p, (size_t)(end - p), "\r\n", 2)) == NULL)
			return 0;
		sz = strtoul(p, &q, 16);
		if (q == p)
			return -1;
		p = eol + 2;
		if (sz == 0) {
			/* Trailers are never sent to us; expect the last CRLF. */
			if (end - p < 2)
				return 0;
			*body = b;
			*blen = (size_t)(end - b);
			return 1;
		}
		if ((size_t)(end - p) < sz + 2)
			return 0;
		p += sz + 2;
	}
}

/* ---------------------------------------------------------------- loop */

static void
lg_lat_add(struct lg_thread *th, double secs)
{
	double	us = secs * 1e6;

	if (th->th_nlat == th->th_caplat) {
		th->th_caplat = th->th_caplat ? th->th_caplat * 2 : 65536;
		th->th_lat = xrealloc(th->th_lat,
		    th->th_caplat * sizeof(*th->th_lat));
	}
	th->th_lat[th->th_nlat++] = us > 4e9 ? 4000000000u : (uint32_t)us;
}

static int
lg_counts(double start)
{
	return start >= lg_twarm && start < lg_tend;
}

static void
lg_close(struct lg_thread *th, struct lg_conn *cn)
{
	if (cn->cn_fd != -1) {
		epoll_ctl(th->th_epfd, EPOLL_CTL_DEL, cn->cn_fd, NULL);
		close(cn->cn_fd);
	}
	cn->cn_fd = -1;
	cn->cn_state = LG_IDLE;
	cn->cn_reused = 0;
}

static void lg_start(struct lg_thread *, struct lg_conn *);
static void lg_send(struct lg_thread *, struct lg_conn *);

static void
lg_fail(struct lg_thread *th, struct lg_conn *cn, int kind)
{
	if (lg_counts(cn->cn_start) || lg.lc_count > 0)
		th->th_err[kind]++;
	lg_close(th, cn);
}

static int
lg_errno_kind(int e)
{
	switch (e) {
	case ECONNREFUSED:
		return LG_E_REFUSED;
	case ECONNRESET:
	case EPIPE:
		return LG_E_RESET;
	case ETIMEDOUT:
		return LG_E_TIMEOUT;
	default:
		return LG_E_OTHER;
	}
}

static int
lg_connect(struct lg_thread *th, struct lg_conn *cn)
{
	struct epoll_event	 ev;
	int			 fd, one = 1;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return -1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	cn->cn_fd = fd;
	cn->cn_state = LG_CONNECTING;
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLOUT;
	ev.data.ptr = cn;
	if (epoll_ctl(th->th_epfd, EPOLL_CTL_ADD, fd, &ev) == -1) {
		close(fd);
		cn->cn_fd = -1;
		return -1;
	}
	if (connect(fd, (struct sockaddr *)&lg.lc_addr,
	    sizeof(lg.lc_addr)) == -1 && errno != EINPROGRESS)
		return -1;
	return 0;
}

static void
lg_want(struct lg_thread *th, struct lg_conn *cn, uint32_t events)
{
	struct epoll_event	ev;

	memset(&ev, 0, sizeof(ev));
	ev.events = events;
	ev.data.ptr = cn;
	epoll_ctl(th->th_epfd, EPOLL_CTL_MOD, cn->cn_fd, &ev);
}

static void
lg_write(struct lg_thread *th, struct lg_conn *cn)
{
	ssize_t	n;

	while (cn->cn_outoff < cn->cn_outlen) {
		n = send(cn->cn_fd, cn->cn_out + cn->cn_outoff,
		    cn->cn_outlen - cn->cn_outoff, MSG_NOSIGNAL);
		if (n == -1) {
			if (errno == EAGAIN || errno == EINTR) {
				if (cn->cn_state != LG_WRITING) {
					cn->cn_state = LG_WRITING;
					lg_want(th, cn, EPOLLOUT);
				}
				return;
			}
			lg_fail(th, cn, lg_errno_kind(errno));
			if (cn->cn_outoff == 0 && !cn->cn_reused) {
				/* Refused at once (lg_send() writes as
				 * connect() returns): retry from the sweep,
				 * not by recursing into a new connect. */
				cn->cn_retry_at = now_mono() + 0.01;
				return;
			}
			lg_start(th, cn);
			return;
		}
		cn->cn_outoff += (size_t)n;
	}
	cn->cn_state = LG_READING;
	cn->cn_inlen = 0;
	lg_want(th, cn, EPOLLIN | EPOLLRDHUP);
}

/* Start the next request on cn (a new connection unless kept alive). */
static void
lg_start(struct lg_thread *th, struct lg_conn *cn)
{
	double	now;

	if (lg_build(cn) == -1) {
		lg_close(th, cn);
		return;
	}
	now = now_mono();
	if (lg.lc_count == 0 && now >= lg_tend) {
		lg_close(th, cn);
		return;
	}
	cn->cn_start = now;
	cn->cn_deadline = now + lg.lc_timeout_ms / 1000.0;
	lg_send(th, cn);
}

/* Send cn's request: on its kept-alive link, or on a new connection. */
static void
lg_send(struct lg_thread *th, struct lg_conn *cn)
{
	cn->cn_outoff = 0;
	if (cn->cn_fd != -1) {
		cn->cn_reused = 1;
		lg_write(th, cn);
		return;
	}
	if (lg_connect(th, cn) == -1) {
		lg_fail(th, cn, lg_errno_kind(errno));
		/* Out of fds or ports: back off instead of spinning. */
		cn->cn_retry_at = now_mono() + 0.01;
		return;
	}
	/*
	 * Write at once, as whois(1) does: on loopback the handshake is
	 * done when connect() returns, so the query leaves now instead of
	 * after a wake-up (a burst of 1,000 connects otherwise sent its
	 * first query only once every connect was made).  Not connected
	 * yet: send() says EAGAIN and the EPOLLOUT registered by
	 * lg_connect() resumes the write; refused: send() says so.
	 */
	cn->cn_state = LG_WRITING;
	lg_write(th, cn);
}

static int
lg_valid(const char *b, size_t len)
{
	if (len < lg.lc_min_bytes)
		return 0;
	if (lg.lc_expect != NULL &&
	    memmem(b, len, lg.lc_expect, strlen(lg.lc_expect)) == NULL)
		return 0;
	return 1;
}

static void
lg_done(struct lg_thread *th, struct lg_conn *cn, int ok, int keep)
{
	double	now = now_mono();

	if (ok) {
		if (lg_counts(cn->cn_start) || lg.lc_count > 0) {
			th->th_ok++;
			th->th_bytes += cn->cn_inlen;
			lg_lat_add(th, now - cn->cn_start);
		}
	} else if (lg_counts(cn->cn_start) || lg.lc_count > 0)
		th->th_err[LG_E_SHORT]++;
	if (!keep || !ok)
		lg_close(th, cn);
	lg_start(th, cn);
}

static void
lg_read(struct lg_thread *th, struct lg_conn *cn)
{
	const char	*body;
	size_t		 blen;
	ssize_t		 n;
	int		 r, status, closeit;

	for (;;) {
		if (cn->cn_incap - cn->cn_inlen < 2048) {
			cn->cn_incap = cn->cn_incap ? cn->cn_incap * 2 :
			    LG_RBUF_MIN;
			cn->cn_in = xrealloc(cn->cn_in, cn->cn_incap);
		}
		n = recv(cn->cn_fd, cn->cn_in + cn->cn_inlen,
		    cn->cn_incap - cn->cn_inlen - 1, 0);
		if (n == -1) {
			if (errno == EAGAIN || errno == EINTR)
				break;
			lg_fail(th, cn, lg_errno_kind(errno));
			lg_start(th, cn);
			return;
		}
		if (n == 0) {
			if (lg.lc_mode == LG_WHOIS) {
				lg_done(th, cn, lg_valid(cn->cn_in,
				    cn->cn_inlen), 0);
				return;
			}
			/* A kept-alive link closed before any reply byte:
			 * the server's idle close raced our request. */
			if (cn->cn_reused && cn->cn_inlen == 0) {
				lg_close(th, cn);
				lg_send(th, cn);
				return;
			}
			lg_fail(th, cn, LG_E_SHORT);
			lg_start(th, cn);
			return;
		}
		cn->cn_inlen += (size_t)n;
		if (lg.lc_mode == LG_WHOIS)
			continue;
		r = lg_http_done(cn->cn_in, cn->cn_inlen, &status, &closeit,
		    &body, &blen);
		if (r == 0)
			continue;
		if (r == -1) {
			lg_fail(th, cn, LG_E_SHORT);
			lg_start(th, cn);
			return;
		}
		lg_done(th, cn, status == 200 && lg_valid(body, blen),
		    !closeit);
		return;
	}
}

static void
lg_event(struct lg_thread *th, struct lg_conn *cn, uint32_t events)
{
	socklen_t	 sl;
	int		 err = 0;

	switch (cn->cn_state) {
	case LG_CONNECTING:
		sl = sizeof(err);
		if (getsockopt(cn->cn_fd, SOL_SOCKET, SO_ERROR, &err,
		    &sl) == -1)
			err = errno;
		if (err == 0 && (events & (EPOLLERR | EPOLLHUP)))
			err = ECONNREFUSED;
		if (err != 0) {
			lg_fail(th, cn, lg_errno_kind(err));
			lg_start(th, cn);
			return;
		}
		cn->cn_state = LG_WRITING;
		lg_write(th, cn);
		return;
	case LG_WRITING:
		lg_write(th, cn);
		return;
	case LG_READING:
		lg_read(th, cn);
		return;
	case LG_IDLE:
		return;
	}
}

static void
lg_sweep(struct lg_thread *th, double now)
{
	struct lg_conn	*cn;
	int		 i;

	for (i = 0; i < th->th_nconn; i++) {
		cn = &th->th_conns[i];
		if (cn->cn_state == LG_IDLE) {
			if (cn->cn_retry_at > 0 && now >= cn->cn_retry_at) {
				cn->cn_retry_at = 0;
				lg_start(th, cn);
			}
			continue;
		}
		if (now >= cn->cn_deadline) {
			lg_fail(th, cn, LG_E_TIMEOUT);
			lg_start(th, cn);
		}
	}
}

static int
lg_busy(struct lg_thread *th)
{
	int	i;

	for (i = 0; i < th->th_nconn; i++)
		if (th->th_conns[i].cn_state != LG_IDLE ||
		    th->th_conns[i].cn_retry_at > 0)
			return 1;
	return 0;
}

static void *
lg_thread_main(void *arg)
{
	struct lg_thread	*th = arg;
	struct epoll_event	 evs[LG_MAX_EVENTS];
	double			 now, last_sweep = 0;
	int			 i, n;

	for (i = 0; i < th->th_nconn; i++)
		lg_start(th, &th->th_conns[i]);
	for (;;) {
		n = epoll_wait(th->th_epfd, evs, LG_MAX_EVENTS, 10);
		for (i = 0; i < n; i++)
			lg_event(th, evs[i].data.ptr, evs[i].events);
		now = now_mono();
		if (lg.lc_count == 0 && now >= lg_tend)
			break;
		if (lg.lc_count > 0 && atomic_load(&lg_seq) >= lg.lc_count &&
		    !lg_busy(th))
			break;
		if (now - last_sweep >= 0.01) {
			last_sweep = now;
			lg_sweep(th, now);
			if (!lg_busy(th))
				break;
		}
	}
	for (i = 0; i < th->th_nconn; i++)
		lg_close(th, &th->th_conns[i]);
	return NULL;
}

/* ---------------------------------------------------------------- report */

static int
lg_cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* Nearest-rank percentile, milliseconds. */
static double
lg_pct(const uint32_t *v, size_t n, double p)
{
	size_t	rank;

	if (n == 0)
		return 0;
	rank = (size_t)(p / 100.0 * (double)n + 0.999999);
	if (rank < 1)
		rank = 1;
	if (rank > n)
		rank = n;
	return v[rank - 1] / 1000.0;
}

static void
lg_json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s != '\0'; s++) {
		if (*s == '"' || *s == '\\')
			fputc('\\', f);
		if ((unsigned char)*s < 0x20)
			fprintf(f, "\\u%04x", *s);
		else
			fputc(*s, f);
	}
	fputc('"', f);
}

static void
lg_report(struct lg_thread *ths, int nth, double elapsed)
{
	uint32_t	*all;
	size_t		 n = 0, k;
	uint64_t	 ok = 0, err[LG_E_MAX] = { 0 }, errs = 0, bytes = 0;
	double		 sum = 0, rps, p50, p90, p99, p999, mx, mean;
	int		 i, e;

	for (i = 0; i < nth; i++)
		n += ths[i].th_nlat;
	all = xmalloc((n ? n : 1) * sizeof(*all));
	for (n = 0, i = 0; i < nth; i++) {
		memcpy(all + n, ths[i].th_lat,
		    ths[i].th_nlat * sizeof(*all));
		n += ths[i].th_nlat;
		ok += ths[i].th_ok;
		bytes += ths[i].th_bytes;
		for (e = 0; e < LG_E_MAX; e++)
			err[e] += ths[i].th_err[e];
	}
	for (e = 0; e < LG_E_MAX; e++)
		errs += err[e];
	qsort(all, n, sizeof(*all), lg_cmp_u32);
	for (k = 0; k < n; k++)
		sum += all[k];
	mean = n ? sum / (double)n / 1000.0 : 0;
	p50 = lg_pct(all, n, 50);
	p90 = lg_pct(all, n, 90);
	p99 = lg_pct(all, n, 99);
	p999 = lg_pct(all, n, 99.9);
	mx = n ? all[n - 1] / 1000.0 : 0;
	rps = elapsed > 0 ? (double)ok / elapsed : 0;

	if (!lg.lc_quiet) {
		printf("%s: %s c=%d threads=%d, %.2f s\n",
		    lg.lc_label[0] ? lg.lc_label : "loadgen",
		    lg.lc_mode == LG_WHOIS ? "whois one-shot" :
		    "http keep-alive", lg.lc_conc, lg.lc_threads, elapsed);
		printf("  requests ok  %llu (%.0f req/s, %.1f MB/s)\n",
		    (unsigned long long)ok, rps, bytes / elapsed / 1e6);
		printf("  errors       %llu (", (unsigned long long)errs);
		for (e = 0; e < LG_E_MAX; e++)
			printf("%s%s %llu", e ? ", " : "", lg_err_names[e],
			    (unsigned long long)err[e]);
		printf(")\n");
		printf("  latency ms   p50 %.3f  p90 %.3f  p99 %.3f  "
		    "p99.9 %.3f  max %.3f  mean %.3f\n",
		    p50, p90, p99, p999, mx, mean);
	}
	printf("RESULT {\"label\":");
	lg_json_str(stdout, lg.lc_label);
	printf(",\"mode\":\"%s\",\"conc\":%d,\"threads\":%d,"
	    "\"per_request\":%d,\"elapsed\":%.3f,\"ok\":%llu,\"rps\":%.1f,"
	    "\"names_per_s\":%.1f,\"errors\":%llu,",
	    lg.lc_mode == LG_WHOIS ? "whois" : "http", lg.lc_conc,
	    lg.lc_threads, lg.lc_mode == LG_HTTP ? lg.lc_per_req : 1,
	    elapsed, (unsigned long long)ok, rps,
	    rps * (lg.lc_mode == LG_HTTP ? lg.lc_per_req : 1),
	    (unsigned long long)errs);
	for (e = 0; e < LG_E_MAX; e++)
		printf("\"err_%s\":%llu,", lg_err_names[e],
		    (unsigned long long)err[e]);
	printf("\"p50_ms\":%.3f,\"p90_ms\":%.3f,\"p99_ms\":%.3f,"
	    "\"p999_ms\":%.3f,\"max_ms\":%.3f,\"mean_ms\":%.3f}\n",
	    p50, p90, p99, p999, mx, mean);
	fflush(stdout);
	free(all);
}

/* ---------------------------------------------------------------- main */

static void
lg_raise_nofile(void)
{
	struct rlimit	rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "host",	 required_argument, NULL, 'H' },
		{ "port",	 required_argument, NULL, 'p' },
		{ "mode",	 required_argument, NULL, 'm' },
		{ "conc",	 required_argument, NULL, 'c' },
		{ "duration",	 required_argument, NULL, 'd' },
		{ "count",	 required_argument, NULL, 'n' },
		{ "threads",	 required_argument, NULL, 't' },
		{ "warmup",	 required_argument, NULL, 'w' },
		{ "names",	 required_argument, NULL, 'N' },
		{ "name",	 required_argument, NULL, 'a' },
		{ "path",	 required_argument, NULL, 'P' },
		{ "per-request", required_argument, NULL, 'r' },
		{ "timeout",	 required_argument, NULL, 'T' },
		{ "expect",	 required_argument, NULL, 'e' },
		{ "min-bytes",	 required_argument, NULL, 'b' },
		{ "label",	 required_argument, NULL, 'l' },
		{ "help",	 no_argument,	    NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct lg_thread	*ths;
	int			 ch, port = 0, i, j, per;
	double			 elapsed;

	lg.lc_mode = LG_WHOIS;
	lg.lc_conc = 16;
	lg.lc_threads = 1;
	lg.lc_duration = 5;
	lg.lc_timeout_ms = 10000;
	lg.lc_per_req = 1;
	lg.lc_min_bytes = 1;
	snprintf(lg.lc_host, sizeof(lg.lc_host), "127.0.0.1");
	snprintf(lg.lc_path, sizeof(lg.lc_path), "/v1/check");

	while ((ch = getopt_long(argc, argv, "c:d:n:t:qh", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'H':
			snprintf(lg.lc_host, sizeof(lg.lc_host), "%s", optarg);
			break;
		case 'p':
			port = atoi(optarg);
			break;
		case 'm':
			if (strcmp(optarg, "whois") == 0)
				lg.lc_mode = LG_WHOIS;
			else if (strcmp(optarg, "http") == 0)
				lg.lc_mode = LG_HTTP;
			else
				lg_usage();
			break;
		case 'c':
			lg.lc_conc = atoi(optarg);
			break;
		case 'd':
			lg.lc_duration = atof(optarg);
			break;
		case 'n':
			lg.lc_count = strtoull(optarg, NULL, 10);
			break;
		case 't':
			lg.lc_threads = atoi(optarg);
			break;
		case 'w':
			lg.lc_warmup = atof(optarg);
			break;
		case 'N':
			lg_load_names(optarg);
			break;
		case 'a':
			lg_add_name(optarg, strlen(optarg));
			break;
		case 'P':
			snprintf(lg.lc_path, sizeof(lg.lc_path), "%s", optarg);
			break;
		case 'r':
			lg.lc_per_req = atoi(optarg);
			break;
		case 'T':
			lg.lc_timeout_ms = atoi(optarg);
			break;
		case 'e':
			lg.lc_expect = optarg;
			break;
		case 'b':
			lg.lc_min_bytes = strtoul(optarg, NULL, 10);
			break;
		case 'l':
			snprintf(lg.lc_label, sizeof(lg.lc_label), "%s",
			    optarg);
			break;
		case 'q':
			lg.lc_quiet = 1;
			break;
		default:
			lg_usage();
		}
	}
	if (port <= 0 || port > 65535 || lg.lc_conc < 1 ||
	    lg.lc_threads < 1 || lg.lc_per_req < 1 || lg.lc_timeout_ms < 1 ||
	    (lg.lc_count == 0 && lg.lc_duration <= 0))
		lg_usage();
	if (lg.lc_threads > lg.lc_conc)
		lg.lc_threads = lg.lc_conc;
	if (lg.lc_nnames == 0)
		lg_add_name("example.com", 11);
	lg.lc_addr.sin_family = AF_INET;
	lg.lc_addr.sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, lg.lc_host, &lg.lc_addr.sin_addr) != 1) {
		fprintf(stderr, "whoisd-loadgen: --host wants an IPv4 "
		    "address\n");
		return 2;
	}
	lg_raise_nofile();

	ths = xcalloc((size_t)lg.lc_threads, sizeof(*ths));
	per = lg.lc_conc / lg.lc_threads;
	for (i = 0; i < lg.lc_threads; i++) {
		ths[i].th_id = i;
		ths[i].th_nconn = per + (i < lg.lc_conc % lg.lc_threads);
		ths[i].th_conns = xcalloc((size_t)ths[i].th_nconn,
		    sizeof(struct lg_conn));
		for (j = 0; j < ths[i].th_nconn; j++)
			ths[i].th_conns[j].cn_fd = -1;
		if ((ths[i].th_epfd = epoll_create1(EPOLL_CLOEXEC)) == -1) {
			perror("whoisd-loadgen: epoll_create1");
			return 1;
		}
	}
	lg_t0 = now_mono();
	lg_twarm = lg_t0 + (lg.lc_count ? 0 : lg.lc_warmup);
	lg_tend = lg.lc_count ? 1e300 : lg_t0 + lg.lc_warmup +
	    lg.lc_duration;
	for (i = 0; i < lg.lc_threads; i++)
		if (pthread_create(&ths[i].th_tid, NULL, lg_thread_main,
		    &ths[i]) != 0) {
			fprintf(stderr, "whoisd-loadgen: pthread_create "
			    "failed\n");
			return 1;
		}
	for (i = 0; i < lg.lc_threads; i++)
		pthread_join(ths[i].th_tid, NULL);
	elapsed = lg.lc_count ? now_mono() - lg_t0 : lg.lc_duration;
	lg_report(ths, lg.lc_threads, elapsed);
	/* Free everything, so a sanitizer build reports real leaks only. */
	for (i = 0; i < lg.lc_threads; i++) {
		int k;

		for (k = 0; k < ths[i].th_nconn; k++) {
			free(ths[i].th_conns[k].cn_in);
			free(ths[i].th_conns[k].cn_out);
		}
		free(ths[i].th_conns);
		free(ths[i].th_lat);
		close(ths[i].th_epfd);
	}
	free(ths);
	for (i = 0; i < (int)lg.lc_nnames; i++)
		free(lg.lc_names[i]);
	free(lg.lc_names);
	return 0;
}
