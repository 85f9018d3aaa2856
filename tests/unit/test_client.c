/*
 * test_client.c — proto/client.c against a real loopback server built on
 * proto/link.c, in the same event loop: requests matched by id out of
 * order, deadlines, link loss, goaway, reconnect back-off, the bounded
 * queue, version downgrade, the link's answers to bad input, and the
 * link's timeouts and output limit against the client's keep-alive.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "common/util.h"
#include "proto/auth.h"
#include "proto/client.h"
#include "proto/frame.h"
#include "proto/link.h"
#include "proto/msg.h"

/* ------------------------------------------------------------------ */
/* The server */

enum srv_mode { SRV_REPLY, SRV_HOLD };

struct pend {
	struct link	*p_link;
	uint64_t	 p_id;
	char		 p_domain[ANSWER_DOMAIN_LEN];
};

struct srv {
	struct event_base	*s_base;
	struct evconnlistener	*s_lis;
	int			 s_port;
	enum srv_mode		 s_mode;
	int			 s_accepts;
	int			 s_closed;
	int			 s_requests;
	struct link		*s_links[16];
	int			 s_nlinks;
	struct pend		 s_pend[512];
	int			 s_npend;
	const struct link_opts	*s_opts;	/* NULL: the defaults */
};

static int
srv_reply(struct link *l, uint64_t id, const char *domain)
{
	struct msgb	b;
	struct answer	a;
	int		r;

	memset(&a, 0, sizeof(a));
	snprintf(a.a_domain, sizeof(a.a_domain), "%s", domain);
	snprintf(a.a_ace, sizeof(a.a_ace), "%s", domain);
	a.a_status = AS_AVAILABLE;
	a.a_source = SRC_REGISTRY;
	snprintf(a.a_registry, sizeof(a.a_registry), "sim");
	a.a_checked = 1;
	msgb_init(&b);
	assert_int_equal(msg_pack_query_r(&b, id, link_version(l), &a), 0);
	r = link_reply(l, &b);
	msgb_free(&b);
	return r;
}

static int
srv_request(struct link *l, struct msg *m, void *arg)
{
	struct srv		*s = arg;
	struct msg_query	 q;
	char			 err[128];

	if (msg_type(m) != MSG_QUERY)
		return -1;
	s->s_requests++;
	if (msg_read_query(m, &q, err, sizeof(err)) == -1)
		return link_reply_err(l, msg_id(m), MSG_E_BAD_REQUEST, "%s",
		    err), 0;
	if (s->s_mode == SRV_REPLY) {
		srv_reply(l, msg_id(m), q.q_domain);
		return 0;
	}
	assert_true(s->s_npend < (int)nitems(s->s_pend));
	s->s_pend[s->s_npend].p_link = l;
	s->s_pend[s->s_npend].p_id = msg_id(m);
	snprintf(s->s_pend[s->s_npend].p_domain, ANSWER_DOMAIN_LEN, "%s",
	    q.q_domain);
	s->s_npend++;
	return 0;
}

static void
srv_closed(struct link *l, void *arg)
{
	struct srv	*s = arg;
	int		 i;

	/* After this, the daemon may only use `l` to answer what is
	 * pending; forget it. */
	for (i = 0; i < s->s_nlinks; i++)
		if (s->s_links[i] == l)
			s->s_links[i] = NULL;
	s->s_closed++;
}

static const struct link_cb srv_cb = { srv_request, srv_closed, NULL };

static void
srv_accept(struct evconnlistener *lis, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct srv	*s = arg;
	struct link	*l;

	(void)lis;
	l = link_new(s->s_base, fd, sa, (socklen_t)salen, &srv_cb, s->s_opts,
	    s);
	assert_non_null(l);
	s->s_accepts++;
	if (s->s_nlinks < (int)nitems(s->s_links))
		s->s_links[s->s_nlinks++] = l;
}

static void
srv_listen(struct srv *s, int port)
{
	struct sockaddr_in	sin;
	socklen_t		len = sizeof(sin);

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons((uint16_t)port);
	s->s_lis = evconnlistener_new_bind(s->s_base, srv_accept, s,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE, 64,
	    (struct sockaddr *)&sin, sizeof(sin));
	assert_non_null(s->s_lis);
	getsockname(evconnlistener_get_fd(s->s_lis), (struct sockaddr *)&sin,
	    &len);
	s->s_port = ntohs(sin.sin_port);
}

/* A server on port (0: a fresh one) answering every request. */
static struct srv *
srv_new(struct event_base *base, int port)
{
	struct srv	*s = calloc(1, sizeof(*s));

	s->s_base = base;
	s->s_mode = SRV_REPLY;
	srv_listen(s, port);
	return s;
}

/* Answer the requests held, in the order they came. */
static void
srv_answer(struct srv *s)
{
	int	i;

	for (i = 0; i < s->s_npend; i++)
		srv_reply(s->s_pend[i].p_link, s->s_pend[i].p_id,
		    s->s_pend[i].p_domain);
	s->s_npend = 0;
}

/* Drop the requests held, unanswered. */
static void
srv_drop(struct srv *s)
{
	int	i;

	for (i = 0; i < s->s_npend; i++)
		link_reply_drop(s->s_pend[i].p_link);
	s->s_npend = 0;
}

/* Drop whatever is pending; links then free themselves. */
static void
srv_free(struct srv *s)
{
	int	i;

	srv_drop(s);
	for (i = 0; i < s->s_nlinks; i++)
		if (s->s_links[i] != NULL)
			link_close(s->s_links[i]);
	if (s->s_lis != NULL)
		evconnlistener_free(s->s_lis);
	free(s);
}

/* ------------------------------------------------------------------ */
/* The client side */

struct results {
	int	n, ok, timeout, lost, unavail, overloaded, shutdown, errreply;
	double	first_fail, last_fail;	/* mono, of link-lost */
	int	order[512];
	char	lasterr[256];
};

struct call {
	struct results	*c_res;
	int		 c_idx;
	char		 c_domain[64];
};

static void
on_result(const struct client_result *cr, void *arg)
{
	struct call	*c = arg;
	struct results	*r = c->c_res;
	struct answer	 a;
	char		 err[128];

	if (cr->cr_err == NULL) {
		if (msg_type(cr->cr_msg) == MSG_ERR)
			r->errreply++;
		else {
			assert_int_equal(msg_read_query_r(cr->cr_msg, &a, err,
			    sizeof(err)), 0);
			/* matched by id: the answer is for this request */
			assert_string_equal(a.a_domain, c->c_domain);
			answer_free(&a);
			r->ok++;
		}
	} else if (strcmp(cr->cr_err, CLIENT_E_TIMEOUT) == 0)
		r->timeout++;
	else if (strcmp(cr->cr_err, CLIENT_E_LINK_LOST) == 0) {
		if (r->lost == 0)
			r->first_fail = now_mono();
		r->last_fail = now_mono();
		r->lost++;
	} else if (strcmp(cr->cr_err, CLIENT_E_UNAVAILABLE) == 0)
		r->unavail++;
	else if (strcmp(cr->cr_err, CLIENT_E_OVERLOADED) == 0)
		r->overloaded++;
	else if (strcmp(cr->cr_err, CLIENT_E_SHUTDOWN) == 0)
		r->shutdown++;
	if (cr->cr_err != NULL)
		snprintf(r->lasterr, sizeof(r->lasterr), "%s: %s", cr->cr_err,
		    cr->cr_errmsg);
	if (r->n < (int)nitems(r->order))
		r->order[r->n] = c->c_idx;
	r->n++;
	free(c);
}

static uint64_t
call_query(struct client *cl, struct results *r, int idx, int deadline_ms,
    int flags)
{
	struct msgb		 b;
	struct msg_query	 q;
	struct call		*c = calloc(1, sizeof(*c));
	uint64_t		 id;

	c->c_res = r;
	c->c_idx = idx;
	snprintf(c->c_domain, sizeof(c->c_domain), "d%d.example", idx);
	memset(&q, 0, sizeof(q));
	snprintf(q.q_domain, sizeof(q.q_domain), "%s", c->c_domain);
	q.q_deadline_ms = (uint64_t)deadline_ms;
	msgb_init(&b);
	assert_int_equal(msg_pack_query(&b, 0, PROTO_VERSION, &q), 0);
	id = client_call(cl, &b, deadline_ms, flags, on_result, c);
	assert_true(id > 0);
	msgb_free(&b);
	return id;
}

/* Run the loop until *flag >= want or `sec` passed; returns the time. */
static double
run_until(struct event_base *base, const int *flag, int want, double sec)
{
	struct timeval	tv = { 0, 2000 };
	double		t0 = now_mono();

	while ((flag == NULL || *flag < want) && now_mono() - t0 < sec) {
		event_base_loopexit(base, &tv);
		event_base_dispatch(base);
	}
	return now_mono() - t0;
}

static struct client *
mkclient(struct event_base *base, int port, const struct client_opts *o)
{
	struct client	*cl;
	char		 addr[64], err[128];

	snprintf(addr, sizeof(addr), "127.0.0.1:%d", port);
	cl = client_new(base, addr, o, err, sizeof(err));
	assert_non_null(cl);
	return cl;
}

/* A loopback port nothing listens on. */
static int
free_port(void)
{
	struct sockaddr_in	sin;
	socklen_t		len = sizeof(sin);
	int			fd = socket(AF_INET, SOCK_STREAM, 0);

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	getsockname(fd, (struct sockaddr *)&sin, &len);
	close(fd);
	return ntohs(sin.sin_port);
}

/* One test's event loop, server and client. */
struct fixture {
	struct event_base	*base;
	struct srv		*s;	/* NULL while nothing listens */
	struct client		*cl;
	struct results		 r;
};

/*
 * The loop and a client with options o (NULL: the defaults).  Port 0: to
 * a server on a fresh port that holds every request; another port has
 * nothing listening yet.
 */
static void
fx_start(struct fixture *f, int port, const struct client_opts *o)
{
	memset(f, 0, sizeof(*f));
	f->base = event_base_new();
	if (port == 0) {
		f->s = srv_new(f->base, 0);
		f->s->s_mode = SRV_HOLD;
		port = f->s->s_port;
	}
	f->cl = mkclient(f->base, port, o);
}

/* Free the client and the server, let the links close, free the loop. */
static void
fx_end(struct fixture *f)
{
	if (f->cl != NULL)
		client_free(f->cl);
	if (f->s != NULL)
		srv_free(f->s);
	run_until(f->base, NULL, 0, 0.02);
	event_base_free(f->base);
}

/* ------------------------------------------------------------------ */

static void
test_out_of_order(void **state)
{
	struct fixture		 f;
	struct client_stats	 st;
	int			 i, n = 200;

	(void)state;
	fx_start(&f, 0, NULL);
	/* issued before the connection is up: queued, then sent */
	for (i = 0; i < n; i++)
		call_query(f.cl, &f.r, i, 5000, 0);
	run_until(f.base, &f.s->s_npend, n, 3);
	assert_int_equal(f.s->s_npend, n);
	assert_int_equal(f.s->s_accepts, 1);	/* one connection for all */
	assert_true(client_connected(f.cl));
	client_stats(f.cl, &st);
	assert_int_equal(st.cs_inflight, (size_t)n);
	/* answer in reverse order */
	for (i = n - 1; i >= 0; i--)
		srv_reply(f.s->s_pend[i].p_link, f.s->s_pend[i].p_id,
		    f.s->s_pend[i].p_domain);
	f.s->s_npend = 0;
	run_until(f.base, &f.r.n, n, 3);
	assert_int_equal(f.r.ok, n);
	assert_int_equal(f.r.order[0], n - 1);
	assert_int_equal(f.r.order[n - 1], 0);
	client_stats(f.cl, &st);
	assert_int_equal(st.cs_replies, (uint64_t)n);
	assert_int_equal(st.cs_inflight, 0);
	fx_end(&f);
}

static void
on_pong(const struct client_result *cr, void *arg)
{
	int	*n = arg;

	if (cr->cr_err == NULL && msg_type(cr->cr_msg) == MSG_PONG)
		(*n)++;
	else
		*n = -1000;
}

/* A ping sent with client_call() (the front's probe of a stalled cache)
 * gets its pong, though the client's keep-alive pings are its own. */
static void
test_called_ping_answered(void **state)
{
	struct fixture	 f;
	struct msgb	 b;
	int		 pongs = 0, i;

	(void)state;
	fx_start(&f, 0, NULL);
	for (i = 0; i < 3; i++) {
		msgb_init(&b);
		assert_int_equal(msg_pack_ping(&b, 0, PROTO_VERSION), 0);
		assert_true(client_call(f.cl, &b, 1000, 0, on_pong, &pongs) > 0);
		msgb_free(&b);
	}
	run_until(f.base, &pongs, 3, 2);
	assert_int_equal(pongs, 3);
	fx_end(&f);
}

static void
test_deadline(void **state)
{
	struct fixture		 f;
	struct client_stats	 st;
	double			 t;

	(void)state;
	fx_start(&f, 0, NULL);
	call_query(f.cl, &f.r, 1, 150, 0);
	call_query(f.cl, &f.r, 2, 5000, 0);
	t = run_until(f.base, &f.r.n, 1, 3);
	assert_int_equal(f.r.timeout, 1);
	assert_int_equal(f.r.order[0], 1);
	assert_true(t >= 0.14 && t < 1.0);
	/* the late reply is dropped, the other request is untouched */
	run_until(f.base, &f.s->s_npend, 2, 1);
	srv_answer(f.s);
	run_until(f.base, &f.r.n, 2, 2);
	assert_int_equal(f.r.ok, 1);
	run_until(f.base, NULL, 0, 0.02);
	client_stats(f.cl, &st);
	assert_int_equal(st.cs_late, 1);
	assert_int_equal(st.cs_timeouts, 1);
	fx_end(&f);
}

static void
test_link_drop(void **state)
{
	struct fixture	 f;
	double		 t;
	int		 i;

	(void)state;
	fx_start(&f, 0, NULL);
	/* one answered request: the link is known healthy */
	f.s->s_mode = SRV_REPLY;
	call_query(f.cl, &f.r, 99, 5000, 0);
	run_until(f.base, &f.r.n, 1, 3);
	assert_int_equal(f.r.ok, 1);
	memset(&f.r, 0, sizeof(f.r));
	f.s->s_mode = SRV_HOLD;
	for (i = 0; i < 20; i++)
		call_query(f.cl, &f.r, i, 10000, i % 2 ? CLIENT_IDEMPOTENT : 0);
	run_until(f.base, &f.s->s_npend, 20, 3);
	/* the server drops the connection (a daemon stopped or crashed):
	 * the 10 that may not be resent fail at once, long before their
	 * deadlines */
	link_close(f.s->s_links[0]);
	t = run_until(f.base, &f.r.n, 10, 3);
	assert_int_equal(f.r.lost, 10);
	assert_true(t < 1.0);
	assert_true(f.r.last_fail - f.r.first_fail < 0.01);
	assert_non_null(strstr(f.r.lasterr, "link-lost"));
	srv_drop(f.s);
	/* a healthy link that dropped is reconnected after the shortest
	 * back-off (not at once: the server may be exiting), and the 10
	 * idempotent ones are resent on it */
	t = run_until(f.base, &f.s->s_accepts, 2, 3);
	assert_int_equal(f.s->s_accepts, 2);
	assert_true(t >= 0.04 && t < 0.5);
	run_until(f.base, &f.s->s_npend, 10, 3);
	assert_int_equal(f.s->s_npend, 10);
	srv_answer(f.s);
	run_until(f.base, &f.r.n, 20, 3);
	assert_int_equal(f.r.ok, 10);
	assert_int_equal(f.r.lost, 10);
	/* resent once only: a second loss fails them */
	f.s->s_mode = SRV_HOLD;
	call_query(f.cl, &f.r, 100, 10000, CLIENT_IDEMPOTENT);
	run_until(f.base, &f.s->s_npend, 1, 3);
	link_close(f.s->s_links[1]);
	srv_drop(f.s);
	run_until(f.base, &f.s->s_npend, 1, 3);	/* the resend */
	assert_int_equal(f.s->s_accepts, 3);
	link_close(f.s->s_links[2]);
	srv_drop(f.s);
	run_until(f.base, &f.r.n, 21, 3);
	assert_int_equal(f.r.lost, 11);
	f.s->s_mode = SRV_REPLY;
	call_query(f.cl, &f.r, 101, 2000, 0);
	run_until(f.base, &f.r.n, 22, 3);
	assert_int_equal(f.r.n, 22);
	assert_int_equal(f.r.ok, 11);
	fx_end(&f);
}

static void
test_goaway(void **state)
{
	struct fixture		 f;
	struct client_stats	 st;
	struct link		*old;
	int			 i;

	(void)state;
	fx_start(&f, 0, NULL);
	for (i = 0; i < 5; i++)
		call_query(f.cl, &f.r, i, 5000, 0);
	run_until(f.base, &f.s->s_npend, 5, 3);
	old = f.s->s_links[0];
	link_goaway(old);
	/* the client opens a new connection at once */
	run_until(f.base, &f.s->s_accepts, 2, 3);
	assert_int_equal(f.s->s_accepts, 2);
	run_until(f.base, NULL, 0, 0.02);
	/* new requests go to the new connection */
	for (i = 5; i < 10; i++)
		call_query(f.cl, &f.r, i, 5000, 0);
	run_until(f.base, &f.s->s_npend, 10, 3);
	for (i = 5; i < 10; i++)
		assert_ptr_equal(f.s->s_pend[i].p_link, f.s->s_links[1]);
	/* the old ones are still answered on the old one, which then
	 * closes (the server closes it when the last reply is written) */
	assert_true(link_alive(old));
	srv_answer(f.s);
	run_until(f.base, &f.r.n, 10, 3);
	assert_int_equal(f.r.ok, 10);
	assert_int_equal(f.r.lost, 0);
	run_until(f.base, &f.s->s_closed, 1, 2);
	assert_int_equal(f.s->s_closed, 1);
	client_stats(f.cl, &st);
	assert_int_equal(st.cs_goaways, 1);
	assert_true(st.cs_connected);
	fx_end(&f);
}

/* After goaway, a connection that closes with requests unanswered: the
 * idempotent one is retried once on the new connection, the other fails. */
static void
test_goaway_retry(void **state)
{
	struct fixture		 f;
	struct client_stats	 st;
	struct link		*old;

	(void)state;
	fx_start(&f, 0, NULL);
	call_query(f.cl, &f.r, 1, 5000, CLIENT_IDEMPOTENT);
	call_query(f.cl, &f.r, 2, 5000, 0);
	run_until(f.base, &f.s->s_npend, 2, 3);
	old = f.s->s_links[0];
	link_goaway(old);
	run_until(f.base, &f.s->s_accepts, 2, 3);
	run_until(f.base, NULL, 0, 0.03);	/* goaway written and read */
	srv_drop(f.s);			/* both were sent on old */
	link_close(old);
	f.s->s_mode = SRV_REPLY;
	run_until(f.base, &f.r.n, 2, 3);
	assert_int_equal(f.r.ok, 1);
	assert_int_equal(f.r.lost, 1);
	assert_int_equal(f.r.order[0], 2);	/* the failure comes first */
	assert_int_equal(f.s->s_requests, 3);	/* 2 + the retry */
	client_stats(f.cl, &st);
	assert_int_equal(st.cs_retries, 1);
	fx_end(&f);
}

static void
test_backoff(void **state)
{
	struct fixture		 f;
	struct client_stats	 st;
	int			 port = free_port();
	double			 t;

	(void)state;
	fx_start(&f, port, NULL);
	/* attempts at 0, 50, 150, 350, 750 ms; the next at 1550 */
	run_until(f.base, NULL, 0, 1.0);
	client_stats(f.cl, &st);
	assert_true(st.cs_connect_fails >= 4 && st.cs_connect_fails <= 6);
	assert_int_equal(st.cs_backoff_ms, 800);
	assert_false(client_connected(f.cl));
	/* a short request cannot outlast the back-off: fails fast */
	call_query(f.cl, &f.r, 1, 100, 0);
	t = run_until(f.base, &f.r.n, 1, 1);
	assert_int_equal(f.r.unavail, 1);
	assert_true(t < 0.05);
	/* a long one waits for the connection */
	call_query(f.cl, &f.r, 2, 5000, 0);
	f.s = srv_new(f.base, port);
	t = run_until(f.base, &f.r.n, 2, 4);
	assert_int_equal(f.r.ok, 1);
	assert_true(t < 2.5);	/* the back-off is capped at 2 s */
	assert_true(client_connected(f.cl));
	client_stats(f.cl, &st);
	assert_int_equal(st.cs_connects, 1);
	assert_int_equal(st.cs_backoff_ms, 0);
	fx_end(&f);
}

/* co_down_wait_ms: a link that stays down stops holding requests. */
static void
test_down_wait(void **state)
{
	struct fixture		 f;
	struct client_opts	 o;
	int			 port = free_port();
	double			 t;

	(void)state;
	memset(&o, 0, sizeof(o));
	o.co_down_wait_ms = 300;
	fx_start(&f, port, &o);
	/* nothing listens: a long request waits at most 300 ms, not 5 s
	 * (it gives up at the failed attempt of 150 ms: the next one, at
	 * 350, is past its wait) */
	call_query(f.cl, &f.r, 1, 5000, CLIENT_IDEMPOTENT);
	t = run_until(f.base, &f.r.n, 1, 3);
	assert_int_equal(f.r.unavail, 1);
	assert_true(t > 0.1 && t < 1.0);
	/* still down past the 300 ms: the next fails at once */
	run_until(f.base, NULL, 0, 0.3);
	call_query(f.cl, &f.r, 2, 5000, 0);
	t = run_until(f.base, &f.r.n, 2, 1);
	assert_int_equal(f.r.unavail, 2);
	assert_true(t < 0.05);
	assert_non_null(strstr(f.r.lasterr, "no link"));
	/* the server comes up: the client reconnects and serves again */
	f.s = srv_new(f.base, port);
	run_until(f.base, &f.s->s_accepts, 1, 4);
	run_until(f.base, NULL, 0, 0.02);
	assert_true(client_connected(f.cl));
	call_query(f.cl, &f.r, 3, 5000, 0);
	run_until(f.base, &f.r.n, 3, 2);
	assert_int_equal(f.r.ok, 1);
	/* it drops: a request made at once waits for the reconnect */
	link_close(f.s->s_links[0]);
	run_until(f.base, NULL, 0, 0.005);
	call_query(f.cl, &f.r, 4, 5000, 0);
	run_until(f.base, &f.r.n, 4, 2);
	assert_int_equal(f.r.ok, 2);
	fx_end(&f);
}

static void
test_overloaded_and_shutdown(void **state)
{
	struct fixture		 f;
	struct client_opts	 o;
	int			 i;

	(void)state;
	memset(&o, 0, sizeof(o));
	o.co_max_queue = 4;
	fx_start(&f, free_port(), &o);
	run_until(f.base, NULL, 0, 0.01);
	for (i = 0; i < 6; i++)
		call_query(f.cl, &f.r, i, 10000, 0);
	/* callbacks never run inside client_call() */
	assert_int_equal(f.r.n, 0);
	run_until(f.base, &f.r.n, 2, 1);
	assert_int_equal(f.r.overloaded, 2);
	client_free(f.cl);
	f.cl = NULL;
	assert_int_equal(f.r.shutdown, 4);
	fx_end(&f);
}

/* A client that speaks one version ahead is answered bad-version and
 * falls back to the server's version on that connection. */
static void
test_version_downgrade(void **state)
{
	struct fixture		 f;
	struct client_opts	 o;

	(void)state;
	memset(&o, 0, sizeof(o));
	o.co_version = PROTO_VERSION + 1;
	fx_start(&f, 0, &o);
	f.s->s_mode = SRV_REPLY;
	call_query(f.cl, &f.r, 1, 2000, 0);
	run_until(f.base, &f.r.n, 1, 3);
	assert_int_equal(f.r.ok, 1);
	call_query(f.cl, &f.r, 2, 2000, 0);
	run_until(f.base, &f.r.n, 2, 3);
	assert_int_equal(f.r.ok, 2);
	/* the v+1 ones never reached it */
	assert_int_equal(f.s->s_requests, 2);
	assert_int_equal(f.s->s_accepts, 1);
	fx_end(&f);
}

/* ------------------------------------------------------------------ */
/* The link, driven with raw bytes over a socketpair */

struct rawpeer {
	struct event_base	*base;
	struct srv		*s;
	int			 fd;	/* our end, blocking */
};

static void
raw_setup_opts(struct rawpeer *p, const struct link_opts *o)
{
	int	sv[2];

	p->base = event_base_new();
	p->s = calloc(1, sizeof(*p->s));
	p->s->s_base = p->base;
	p->s->s_mode = SRV_REPLY;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	p->fd = sv[0];
	p->s->s_links[p->s->s_nlinks++] = link_new(p->base, sv[1], NULL, 0,
	    &srv_cb, o, p->s);
}

static void
raw_setup(struct rawpeer *p)
{
	raw_setup_opts(p, NULL);
}

static void
raw_send_frame(struct rawpeer *p, const void *body, size_t len)
{
	struct evbuffer	*b = evbuffer_new();
	size_t		 n = 0;
	uint8_t		 buf[4096];

	frame_write(b, body, len, NULL);
	n = evbuffer_remove(b, buf, sizeof(buf));
	assert_int_equal(write(p->fd, buf, n), (ssize_t)n);
	evbuffer_free(b);
}

/* Read every frame the link sent; *eof set if it closed. */
static struct msg *
raw_read_msg(struct rawpeer *p, int *eof)
{
	static struct evbuffer	*in;
	struct frame		 fr;
	uint8_t			 buf[4096];
	char			 err[128];
	ssize_t			 n;

	if (in == NULL)
		in = evbuffer_new();
	*eof = 0;
	for (;;) {
		if (frame_read(in, NULL, &fr, err, sizeof(err)) == 1)
			return msg_unpack(fr.fr_body, fr.fr_len, NULL, NULL,
			    NULL, err, sizeof(err));
		run_until(p->base, NULL, 0, 0.01);
		n = recv(p->fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n == 0) {
			*eof = 1;
			return NULL;
		}
		if (n > 0)
			evbuffer_add(in, buf, (size_t)n);
	}
}

static void
raw_teardown(struct rawpeer *p)
{
	close(p->fd);
	run_until(p->base, &p->s->s_closed, 1, 1);
	assert_int_equal(p->s->s_closed, 1);
	free(p->s);
	event_base_free(p->base);
}

/* Send what b holds, as one frame. */
static void
raw_send(struct rawpeer *p, struct msgb *b)
{
	raw_send_frame(p, msgb_data(b), msgb_len(b));
}

/* The next message must be of this type and id. */
static void
raw_expect(struct rawpeer *p, enum msg_type type, uint64_t id)
{
	struct msg	*m;
	int		 eof;

	m = raw_read_msg(p, &eof);
	assert_non_null(m);
	assert_int_equal(msg_type(m), type);
	assert_int_equal(msg_id(m), id);
	msg_free(m);
}

/* The next message must be an err with this code; its text into text. */
static struct msg *
raw_expect_err(struct rawpeer *p, const char *code, char *text,
    size_t textlen)
{
	struct msg	*m;
	char		 c[32], err[128];
	int		 eof;

	m = raw_read_msg(p, &eof);
	assert_non_null(m);
	assert_int_equal(msg_read_err(m, c, sizeof(c), text, textlen, err,
	    sizeof(err)), 0);
	assert_string_equal(c, code);
	return m;
}

/* The link must close without sending anything more. */
static void
raw_expect_eof(struct rawpeer *p)
{
	int	 eof;

	assert_null(raw_read_msg(p, &eof));
	assert_int_equal(eof, 1);
}

static void
test_link_answers(void **state)
{
	struct rawpeer	 p;
	struct msgb	 b;
	struct msg	*m;
	struct msg_query q = { .q_domain = "x.example", .q_deadline_ms = 10 };
	char		 text[256];
	int		 eof;

	(void)state;
	raw_setup(&p);
	msgb_init(&b);
	/* ping is answered by the link itself, in the peer's version */
	msg_pack_ping(&b, 11, PROTO_VERSION_MIN);
	raw_send(&p, &b);
	m = raw_read_msg(&p, &eof);
	assert_non_null(m);
	assert_int_equal(msg_type(m), MSG_PONG);
	assert_int_equal(msg_id(m), 11);
	assert_int_equal(msg_version(m), PROTO_VERSION_MIN);
	msg_free(m);
	/* unknown type: err unknown-type, the link stays open */
	msgb_begin(&b, "frobnicate", 12, 0, PROTO_VERSION);
	msgb_end(&b);
	raw_send(&p, &b);
	m = raw_expect_err(&p, "unknown-type", text, sizeof(text));
	assert_int_equal(msg_id(m), 12);
	msg_free(m);
	/* a mistyped field: the handler's bad-request, still open */
	msgb_begin(&b, "query", 13, 1, PROTO_VERSION);
	msgb_uint(&b, "domain", 1);
	msgb_end(&b);
	raw_send(&p, &b);
	m = raw_expect_err(&p, "bad-request", text, sizeof(text));
	assert_string_equal(text, "key domain: expected string");
	msg_free(m);
	/* a version two ahead: err bad-version, still open */
	msg_pack_query(&b, 14, PROTO_VERSION + 1, &q);
	raw_send(&p, &b);
	m = raw_expect_err(&p, "bad-version", text, sizeof(text));
	assert_int_equal(msg_id(m), 14);
	assert_int_equal(msg_version(m), PROTO_VERSION);
	msg_free(m);
	/* a good query still works */
	msg_pack_query(&b, 15, PROTO_VERSION, &q);
	raw_send(&p, &b);
	raw_expect(&p, MSG_QUERY_R, 15);
	/* a body that is not a map: err bad-frame, then the link closes */
	raw_send_frame(&p, "\x93\x01\x02\x03", 4);
	m = raw_expect_err(&p, "bad-frame", text, sizeof(text));
	assert_string_equal(text, "body is not a map");
	msg_free(m);
	raw_expect_eof(&p);
	msgb_free(&b);
	raw_teardown(&p);
}

static void
test_link_bad_flags_and_goaway(void **state)
{
	struct rawpeer	 p;
	struct msg	*m;
	struct msgb	 b;
	struct msg_query q = { .q_domain = "y.example", .q_deadline_ms = 10 };
	const uint8_t	 bad[] = { 0, 0, 0, 2, 0x04, 0xc0 };
	char		 text[256];

	(void)state;
	raw_setup(&p);
	assert_int_equal(write(p.fd, bad, sizeof(bad)), (ssize_t)sizeof(bad));
	m = raw_expect_err(&p, "bad-frame", text, sizeof(text));
	assert_string_equal(text, "bad frame flags 0x04");
	assert_int_equal(msg_id(m), 0);
	msg_free(m);
	raw_expect_eof(&p);
	raw_teardown(&p);

	/* goaway with a request in flight: goaway first, then the reply,
	 * then the close */
	raw_setup(&p);
	p.s->s_mode = SRV_HOLD;
	msgb_init(&b);
	msg_pack_query(&b, 21, PROTO_VERSION, &q);
	raw_send(&p, &b);
	run_until(p.base, &p.s->s_npend, 1, 1);
	link_goaway(p.s->s_links[0]);
	raw_expect(&p, MSG_GOAWAY, 0);
	/* a request the peer sent before it saw the goaway is still read
	 * and answered */
	msg_pack_query(&b, 22, PROTO_VERSION, &q);
	raw_send(&p, &b);
	run_until(p.base, &p.s->s_requests, 2, 1);
	assert_int_equal(p.s->s_requests, 2);
	assert_int_equal(p.s->s_closed, 0);
	srv_reply(p.s->s_pend[0].p_link, 21, "y.example");
	srv_reply(p.s->s_pend[1].p_link, 22, "y.example");
	raw_expect(&p, MSG_QUERY_R, 21);
	raw_expect(&p, MSG_QUERY_R, 22);
	/* a peer that does not close is closed after the grace, idle */
	assert_int_equal(p.s->s_closed, 0);
	raw_expect_eof(&p);
	assert_int_equal(p.s->s_closed, 1);
	msgb_free(&b);
	raw_teardown(&p);
}

/* A reply for a link whose peer is gone is dropped; the link is freed
 * only then (ASan checks there is no use after free or leak). */
static void
test_link_reply_after_close(void **state)
{
	struct rawpeer	 p;
	struct msgb	 b;
	struct msg_query q = { .q_domain = "z.example", .q_deadline_ms = 10 };

	(void)state;
	raw_setup(&p);
	p.s->s_mode = SRV_HOLD;
	msgb_init(&b);
	msg_pack_query(&b, 31, PROTO_VERSION, &q);
	raw_send(&p, &b);
	run_until(p.base, &p.s->s_npend, 1, 1);
	close(p.fd);
	run_until(p.base, &p.s->s_closed, 1, 1);
	assert_int_equal(p.s->s_closed, 1);
	assert_false(link_alive(p.s->s_pend[0].p_link));
	assert_int_equal(link_inflight(p.s->s_pend[0].p_link), 1);
	assert_int_equal(srv_reply(p.s->s_pend[0].p_link, 31, "z.example"), -1);
	msgb_free(&b);
	free(p.s);
	event_base_free(p.base);
}

/* ------------------------------------------------------------------ */
/* Timeouts and limits against the keep-alive */

/* A client with nothing to send still says hello, then keeps its link
 * alive: the server's short hello and idle timeouts never end it. */
static void
test_keepalive(void **state)
{
	struct event_base	*base = event_base_new();
	struct srv		*s = srv_new(base, 0);
	struct link_opts	 lo;
	struct client_opts	 o;
	struct client		*cl;
	struct client_stats	 st;

	(void)state;
	memset(&lo, 0, sizeof(lo));
	lo.lo_hello_timeout_ms = 300;
	lo.lo_idle_timeout_ms = 500;
	s->s_opts = &lo;
	memset(&o, 0, sizeof(o));
	o.co_ping_ms = 150;
	cl = mkclient(base, s->s_port, &o);
	run_until(base, NULL, 0, 1.5);
	assert_int_equal(s->s_accepts, 1);
	assert_int_equal(s->s_closed, 0);
	client_stats(cl, &st);
	assert_true(st.cs_connected);
	assert_int_equal(st.cs_goaways, 0);
	assert_int_equal(st.cs_requests, 0);	/* pings are not requests */
	assert_int_equal(st.cs_late, 0);
	client_free(cl);
	srv_free(s);
	run_until(base, NULL, 0, 0.02);
	event_base_free(base);
}

/* A server that closes idle links (goaway) loses no request: the client
 * reconnects at once, without a failure. */
static void
test_idle_goaway_loses_nothing(void **state)
{
	struct event_base	*base = event_base_new();
	struct srv		*s = srv_new(base, 0);
	struct link_opts	 lo;
	struct client_opts	 o;
	struct client		*cl;
	struct client_stats	 st;
	struct results		 r;
	int			 i;

	(void)state;
	memset(&r, 0, sizeof(r));
	memset(&lo, 0, sizeof(lo));
	lo.lo_idle_timeout_ms = 100;
	s->s_opts = &lo;
	s->s_mode = SRV_REPLY;
	memset(&o, 0, sizeof(o));
	o.co_ping_ms = -1;
	o.co_down_wait_ms = 50;
	cl = mkclient(base, s->s_port, &o);
	for (i = 0; i < 5; i++) {
		call_query(cl, &r, i, 2000, 0);
		run_until(base, &r.n, i + 1, 2);
		run_until(base, NULL, 0, 0.25);
	}
	assert_int_equal(r.ok, 5);
	assert_int_equal(r.lost + r.unavail + r.timeout, 0);
	assert_true(s->s_accepts >= 3);
	client_stats(cl, &st);
	assert_true(st.cs_goaways >= 2);
	assert_int_equal(st.cs_link_lost, 0);
	client_free(cl);
	srv_free(s);
	run_until(base, NULL, 0, 0.02);
	event_base_free(base);
}

/* Half a frame, then nothing: closed after lo_frame_timeout_ms. */
static void
test_link_frame_timeout(void **state)
{
	struct rawpeer		 p;
	struct link_opts	 lo;
	const uint8_t		 half[] = { 0, 0, 0, 9, 0, 0x83 };
	double			 t0;

	(void)state;
	memset(&lo, 0, sizeof(lo));
	lo.lo_frame_timeout_ms = 200;
	raw_setup_opts(&p, &lo);
	t0 = now_mono();
	assert_int_equal(write(p.fd, half, sizeof(half)),
	    (ssize_t)sizeof(half));
	run_until(p.base, &p.s->s_closed, 1, 2);
	assert_int_equal(p.s->s_closed, 1);
	assert_true(now_mono() - t0 >= 0.15);
	close(p.fd);
	free(p.s);
	event_base_free(p.base);
}

/* Frames of an unknown version from a peer that never reads: the err
 * replies count against lo_out_high, reading pauses, and the peer is
 * closed once it has read nothing for the flush timeout. */
static void
test_link_unread_err_replies(void **state)
{
	struct rawpeer		 p;
	struct link_opts	 lo;
	struct evbuffer		*out = evbuffer_new();
	struct msgb		 b;
	size_t			 len, off = 0;
	uint8_t			*data;
	ssize_t			 n;
	int			 i;

	(void)state;
	memset(&lo, 0, sizeof(lo));
	lo.lo_out_high = 4096;
	lo.lo_flush_timeout_ms = 200;
	raw_setup_opts(&p, &lo);
	msgb_init(&b);
	msg_pack_ping(&b, 1, 99);
	for (i = 0; i < 50000; i++)
		frame_write(out, msgb_data(&b), msgb_len(&b), NULL);
	msgb_free(&b);
	len = evbuffer_get_length(out);
	data = evbuffer_pullup(out, -1);
	while (off < len && p.s->s_closed == 0) {
		n = send(p.fd, data + off, len - off, MSG_DONTWAIT);
		if (n > 0)
			off += (size_t)n;
		run_until(p.base, NULL, 0, 0.01);
	}
	run_until(p.base, &p.s->s_closed, 1, 2);
	assert_int_equal(p.s->s_closed, 1);
	/* It stopped reading long before the end of the flood. */
	assert_true(off < len);
	evbuffer_free(out);
	close(p.fd);
	free(p.s);
	event_base_free(p.base);
}

/* ------------------------------------------------------------------ */
/* Authenticated links: client.c and link.c speak the handshake */

static void
keys_for(const char *dir, enum link_role role)
{
	struct link_keys	*lk;
	char			 err[512];

	lk = link_keys_load(dir, role, "require", err, sizeof(err));
	if (lk == NULL)
		fail_msg("%s", err);
	link_keys_set(lk);
}

/*
 * In one process both ends have the same role (the keys are the
 * process's): the client proves "query" to a server that proves
 * "query".  A client that wants another role refuses that server, and
 * the server serves nothing to a peer that skipped the handshake.
 */
static void
test_authenticated(void **state)
{
	struct fixture		 f;
	struct client_opts	 o;
	char			 dir[] = "/tmp/whoisd-test-auth-XXXXXX";
	char			 keys[64], err[512];

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(keys, sizeof(keys), "%s/keys", dir);
	assert_int_equal(auth_keygen(keys, -1, -1, NULL, err, sizeof(err)), 0);
	keys_for(keys, ROLE_QUERY);

	memset(&o, 0, sizeof(o));
	o.co_peer_role = ROLE_QUERY;
	fx_start(&f, 0, &o);
	f.s->s_mode = SRV_REPLY;
	call_query(f.cl, &f.r, 1, 3000, 0);
	run_until(f.base, &f.r.n, 1, 3);
	assert_int_equal(f.r.ok, 1);
	assert_non_null(f.s->s_links[0]);
	assert_int_equal(link_roles(f.s->s_links[0]), ROLE_BIT(ROLE_QUERY));
	fx_end(&f);

	/* Wanting the cache, it finds a query daemon: nothing is sent. */
	o.co_peer_role = ROLE_CACHE;
	o.co_down_wait_ms = 300;
	fx_start(&f, 0, &o);
	f.s->s_mode = SRV_REPLY;
	call_query(f.cl, &f.r, 2, 3000, 0);
	run_until(f.base, &f.r.n, 1, 3);
	assert_int_equal(f.r.unavail, 1);
	assert_int_equal(f.s->s_requests, 0);
	assert_false(client_connected(f.cl));
	fx_end(&f);

	/* No handshake (a client without a peer role): refused, closed. */
	o.co_peer_role = ROLE_NONE;
	o.co_down_wait_ms = 0;
	fx_start(&f, 0, &o);
	f.s->s_mode = SRV_REPLY;
	call_query(f.cl, &f.r, 3, 3000, 0);
	run_until(f.base, &f.r.n, 1, 3);
	assert_int_equal(f.s->s_requests, 0);
	assert_int_equal(f.r.errreply + f.r.lost, 1);
	fx_end(&f);

	link_keys_set(NULL);
	assert_int_equal(system("rm -rf /tmp/whoisd-test-auth-*"), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_out_of_order),
		cmocka_unit_test(test_deadline),
		cmocka_unit_test(test_called_ping_answered),
		cmocka_unit_test(test_link_drop),
		cmocka_unit_test(test_goaway),
		cmocka_unit_test(test_goaway_retry),
		cmocka_unit_test(test_backoff),
		cmocka_unit_test(test_down_wait),
		cmocka_unit_test(test_overloaded_and_shutdown),
		cmocka_unit_test(test_version_downgrade),
		cmocka_unit_test(test_link_answers),
		cmocka_unit_test(test_link_bad_flags_and_goaway),
		cmocka_unit_test(test_link_reply_after_close),
		cmocka_unit_test(test_keepalive),
		cmocka_unit_test(test_idle_goaway_loses_nothing),
		cmocka_unit_test(test_link_frame_timeout),
		cmocka_unit_test(test_link_unread_err_replies),
		cmocka_unit_test(test_authenticated),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
