/*
 * test_link_server.c — proto/link_server.c over a socketpair, in one
 * event loop: dispatch by the table, unknown types, replies over
 * max_frame, drain (goaway), the closed hook, a reply that arrives
 * after its link ended, and making room at the connection limit.
 */
#include <sys/socket.h>

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

#include "common/util.h"
#include "proto/frame.h"
#include "proto/link_server.h"
#include "proto/msg.h"

#define T_MAX_FRAME	4096

struct tls {
	struct event_base	*t_base;
	struct link_server	*t_srv;
	struct evbuffer		*t_in;
	int			 t_fd;		/* our end, blocking */
};

static int		 t_stats;	/* stats requests handled */
static int		 t_closed;	/* lso_closed calls */
static struct link	*t_held;	/* a request answered later */
static uint64_t		 t_held_id;

static void
h_stats(struct link *l, struct msg *m)
{
	struct msg_counter	c;
	struct msgb		b;

	t_stats++;
	memset(&c, 0, sizeof(c));
	snprintf(c.mc_name, sizeof(c.mc_name), "n");
	c.mc_value = 7;
	msgb_init(&b);
	msg_pack_stats_r(&b, msg_id(m), link_version(l), &c, 1);
	link_server_reply(l, msg_id(m), &b);
	msgb_free(&b);
}

/* A reply over max_frame: the link server answers `err` instead. */
static void
h_query(struct link *l, struct msg *m)
{
	struct answer	a;
	struct msgb	b;
	char		text[T_MAX_FRAME * 2];

	memset(&a, 0, sizeof(a));
	snprintf(a.a_domain, sizeof(a.a_domain), "x.example");
	a.a_status = AS_REGISTERED;
	memset(text, 'a', sizeof(text));
	answer_set_text(&a, text, sizeof(text));
	msgb_init(&b);
	msg_pack_query_r(&b, msg_id(m), link_version(l), &a);
	link_server_reply(l, msg_id(m), &b);
	msgb_free(&b);
	answer_free(&a);
}

/* Held: answered by the test, after the peer has gone. */
static void
h_purge(struct link *l, struct msg *m)
{
	t_held = l;
	t_held_id = msg_id(m);
}

static void
t_closed_cb(struct link *l)
{
	(void)l;
	t_closed++;
}

static const struct link_handler t_handlers[] = {
	{ MSG_STATS,	h_stats,	0,	0 },
	{ MSG_QUERY,	h_query,	0,	0 },
	{ MSG_PURGE,	h_purge,	0,	0 },
};

static void
run_for(struct event_base *base, double sec)
{
	struct timeval	tv = { 0, 2000 };
	double		t0 = now_mono();

	while (now_mono() - t0 < sec) {
		event_base_loopexit(base, &tv);
		event_base_dispatch(base);
	}
}

static int
setup(void **state)
{
	struct link_server_opts	 lo;
	struct tls		*t;
	int			 sv[2];

	t = calloc(1, sizeof(*t));
	t->t_base = event_base_new();
	t->t_in = evbuffer_new();
	memset(&lo, 0, sizeof(lo));
	lo.lso_max_frame = T_MAX_FRAME;
	lo.lso_compress_min = 0;	/* never: the size check sees raw bytes */
	lo.lso_flags = LSO_WARN_UNKNOWN;
	lo.lso_closed = t_closed_cb;
	t->t_srv = link_server_new(t->t_base, t_handlers, nitems(t_handlers),
	    &lo);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	t->t_fd = sv[0];
	link_server_accept(t->t_srv, sv[1], NULL, 0);
	t_stats = t_closed = 0;
	t_held = NULL;
	*state = t;
	return 0;
}

static int
teardown(void **state)
{
	struct tls	*t = *state;

	if (t->t_fd != -1)
		close(t->t_fd);
	run_for(t->t_base, 0.02);
	link_server_free(t->t_srv);
	evbuffer_free(t->t_in);
	event_base_free(t->t_base);
	free(t);
	return 0;
}

static void
send_msg(struct tls *t, struct msgb *b)
{
	struct evbuffer	*out = evbuffer_new();
	uint8_t		 buf[4096];
	int		 n;

	assert_int_equal(frame_write(out, msgb_data(b), msgb_len(b), NULL), 0);
	n = evbuffer_remove(out, buf, sizeof(buf));
	assert_int_equal(write(t->t_fd, buf, (size_t)n), n);
	evbuffer_free(out);
	msgb_free(b);
}

/* The next message the server sent, or NULL at EOF or after 1 s. */
static struct msg *
read_msg(struct tls *t)
{
	struct frame	 fr;
	uint8_t		 buf[4096];
	char		 err[128];
	double		 t0 = now_mono();
	ssize_t		 n;

	while (now_mono() - t0 < 1) {
		if (frame_read(t->t_in, NULL, &fr, err, sizeof(err)) == 1) {
			/* The msg takes the body. */
			return msg_unpack(fr.fr_body, fr.fr_len, NULL, NULL,
			    NULL, err, sizeof(err));
		}
		run_for(t->t_base, 0.005);
		n = recv(t->t_fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n == 0)
			return NULL;
		if (n > 0)
			evbuffer_add(t->t_in, buf, (size_t)n);
	}
	return NULL;
}

static void
expect_err(struct tls *t, uint64_t id, const char *want)
{
	struct msg	*m;
	char		 code[32], text[256], err[128];

	m = read_msg(t);
	assert_non_null(m);
	assert_int_equal(msg_type(m), MSG_ERR);
	assert_int_equal(msg_id(m), id);
	assert_int_equal(msg_read_err(m, code, sizeof(code), text,
	    sizeof(text), err, sizeof(err)), 0);
	assert_string_equal(code, want);
	msg_free(m);
}

static void
test_dispatch(void **state)
{
	struct tls	*t = *state;
	struct msgb	 b;
	struct msg	*m;

	assert_int_equal(link_server_links(t->t_srv), 1);
	msgb_init(&b);
	msg_pack_stats(&b, 5, PROTO_VERSION);
	send_msg(t, &b);
	m = read_msg(t);
	assert_non_null(m);
	assert_int_equal(msg_type(m), MSG_STATS_R);
	assert_int_equal(msg_id(m), 5);
	msg_free(m);
	assert_int_equal(t_stats, 1);
	assert_int_equal(link_server_errors(t->t_srv), 0);
}

static void
test_unknown_type(void **state)
{
	struct tls	*t = *state;
	struct msgb	 b;

	msgb_init(&b);
	msg_pack_health(&b, 6, PROTO_VERSION, NULL);
	send_msg(t, &b);
	expect_err(t, 6, MSG_E_UNKNOWN_TYPE);
	assert_int_equal(link_server_errors(t->t_srv), 1);
	/* The link stays open. */
	msgb_init(&b);
	msg_pack_stats(&b, 7, PROTO_VERSION);
	send_msg(t, &b);
	msg_free(read_msg(t));
	assert_int_equal(t_stats, 1);
}

static void
test_over_max_frame(void **state)
{
	struct tls		*t = *state;
	struct msgb		 b;
	struct msg_query	 q = { .q_domain = "x.example", .q_deadline_ms = 10 };

	msgb_init(&b);
	msg_pack_query(&b, 8, PROTO_VERSION, &q);
	send_msg(t, &b);
	expect_err(t, 8, MSG_E_INTERNAL);
	assert_int_equal(link_server_errors(t->t_srv), 1);
}

static void
test_drain_and_close(void **state)
{
	struct tls	*t = *state;
	struct msg	*m;

	link_server_drain(t->t_srv);
	m = read_msg(t);
	assert_non_null(m);
	assert_int_equal(msg_type(m), MSG_GOAWAY);
	msg_free(m);
	close(t->t_fd);
	t->t_fd = -1;
	run_for(t->t_base, 0.05);
	assert_int_equal(t_closed, 1);
	assert_int_equal(link_server_links(t->t_srv), 0);
}

/* A reply after the close still finds its server, then frees the link. */
static void
test_reply_after_close(void **state)
{
	struct tls		*t = *state;
	struct msgb		 b;
	struct msg_purge	 pg = { "x.example", 0 };

	msgb_init(&b);
	msg_pack_purge(&b, 9, PROTO_VERSION, &pg);
	send_msg(t, &b);
	run_for(t->t_base, 0.05);
	assert_non_null(t_held);
	close(t->t_fd);
	t->t_fd = -1;
	run_for(t->t_base, 0.05);
	assert_int_equal(t_closed, 1);
	assert_false(link_alive(t_held));
	link_server_count_err(t_held);	/* still its server's */
	assert_int_equal(link_server_errors(t->t_srv), 1);
	/* The last pending reply: dropped, and the link is freed. */
	msgb_init(&b);
	msg_pack_ok(&b, t_held_id, PROTO_VERSION);
	assert_int_equal(link_server_reply(t_held, t_held_id, &b), 0);
	msgb_free(&b);
	t_held = NULL;
}

/* Write one ping frame to fd. */
static void
ping_fd(int fd, uint64_t id)
{
	struct evbuffer	*out = evbuffer_new();
	struct msgb	 b;
	uint8_t		 buf[256];
	int		 n;

	msgb_init(&b);
	msg_pack_ping(&b, id, PROTO_VERSION);
	frame_write(out, msgb_data(&b), msgb_len(&b), NULL);
	msgb_free(&b);
	n = evbuffer_remove(out, buf, sizeof(buf));
	assert_int_equal(write(fd, buf, (size_t)n), n);
	evbuffer_free(out);
}

/*
 * At the connection limit a link that never sent a frame goes first,
 * once a second old; one that did only once idle for link_hello_timeout.
 */
static void
test_make_room(void **state)
{
	struct event_base	*base = event_base_new();
	struct link_server_opts	 lo;
	struct link_server	*ls;
	int			 silent[2], spoke[2];
	uint8_t			 buf[256];

	(void)state;
	memset(&lo, 0, sizeof(lo));
	lo.lso_hello_timeout = 2;
	ls = link_server_new(base, t_handlers, nitems(t_handlers), &lo);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, silent), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, spoke), 0);
	link_server_accept(ls, silent[1], NULL, 0);
	link_server_accept(ls, spoke[1], NULL, 0);
	ping_fd(spoke[0], 3);
	run_for(base, 0.05);
	assert_true(recv(spoke[0], buf, sizeof(buf), MSG_DONTWAIT) > 0);
	/* Both just connected: neither may go yet. */
	assert_int_equal(link_server_make_room(ls, 1), -1);

	run_for(base, 1.05);
	assert_int_equal(link_server_make_room(ls, 1), 0);
	assert_int_equal(link_server_make_room(ls, 0), 0);
	run_for(base, 0.05);
	assert_true(recv(silent[0], buf, sizeof(buf), MSG_DONTWAIT) > 0);
	/* The other one was active a second ago. */
	assert_int_equal(link_server_make_room(ls, 0), -1);
	run_for(base, 1.0);
	assert_int_equal(link_server_make_room(ls, 1), 0);
	assert_int_equal(link_server_make_room(ls, 0), 0);
	run_for(base, 0.05);
	assert_true(recv(spoke[0], buf, sizeof(buf), MSG_DONTWAIT) > 0);
	assert_int_equal(link_server_make_room(ls, 0), -1);
	close(silent[0]);
	close(spoke[0]);
	run_for(base, 0.05);
	assert_int_equal(link_server_links(ls), 0);
	link_server_free(ls);
	event_base_free(base);
}

/* A link with a request in flight, or just answered, does not go. */
static void
test_make_room_skips_busy(void **state)
{
	struct tls		*t = *state;
	struct msgb		 b;
	struct msg_purge	 pg = { "x.example", 0 };

	msgb_init(&b);
	msg_pack_purge(&b, 9, PROTO_VERSION, &pg);
	send_msg(t, &b);
	run_for(t->t_base, 0.05);
	assert_non_null(t_held);
	assert_int_equal(link_server_make_room(t->t_srv, 1), -1);
	msgb_init(&b);
	msg_pack_ok(&b, t_held_id, PROTO_VERSION);
	assert_int_equal(link_server_reply(t_held, t_held_id, &b), 0);
	msgb_free(&b);
	t_held = NULL;
	msg_free(read_msg(t));
	assert_int_equal(link_server_make_room(t->t_srv, 0), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_dispatch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unknown_type, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_over_max_frame, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_drain_and_close, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_reply_after_close, setup,
		    teardown),
		cmocka_unit_test(test_make_room),
		cmocka_unit_test_setup_teardown(test_make_room_skips_busy, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
