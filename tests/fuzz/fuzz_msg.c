/*
 * fuzz_msg.c — libFuzzer target for what a peer sends down an internal
 * link: the frame reader (proto/frame.c) and the per-type msgpack readers
 * of proto/msg.h.
 *
 * Input: byte 0 picks the reader (msg_type, modulo MSG_NTYPES; seeds carry
 * the type of their frame) and, in its top bits, a small max_frame, a low
 * compress_min and a fragmented input buffer; the rest is wire bytes, read
 * frame after frame.  Besides memory safety it checks that frame_read()
 * drains exactly fr_wire bytes and keeps bodies within max_frame, that a
 * body written with frame_write() reads back the same, and that whatever
 * a reader accepts its builder writes, and reading and writing that again
 * gives the same bytes: a message relayed through whoisd is unchanged.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "proto/auth.h"
#include "proto/frame.h"
#include "proto/msg.h"
#include "tests/fuzz/fuzz.h"

#define FZ_SMALL_FRAME		0x20	/* max_frame 512 */
#define FZ_LOW_COMPRESS		0x40	/* compress_min 16 for the rewrite */
#define FZ_FRAGMENTS		0x80	/* one evbuffer chain per 13 bytes */
#define FZ_FRAMES_MAX		32

/* The builder refused what the reader accepted: a finding. */
static int
built(int r)
{
	if (r != 0)
		abort();
	return 0;
}

/*
 * Read m with the reader of type t and write it again into b.  0: b holds
 * the rewrite; 1: the reader refused m (or t has no reader).
 */
static int
relay(enum msg_type t, const struct msg *m, struct msgb *b)
{
	union {
		struct msg_get		 get;
		struct msg_get_r	 get_r;
		struct answer		 a;
		struct msg_timing	 tm;
		struct msg_timing_r	 tr;
		struct msg_purge	 pg;
		struct msg_query	 q;
		struct errevent		 ev;
		struct msg_errors	 es;
	} u;
	struct msg_counter	*mc;
	struct reghealth	*rh;
	struct errevent		*evs;
	char			 err[256], code[32], text[256];
	char			 reg[ANSWER_REGISTRY_LEN];
	uint64_t		 id = msg_id(m), n;
	size_t			 cnt;
	int			 v = msg_version(m), dup, r;
	enum link_role		 role;
	uint8_t			 nonce[AUTH_NONCE_LEN], sig[AUTH_SIG_LEN];

	/* The readers check the type; these types have none to do it. */
	if ((t == MSG_GOAWAY || t == MSG_PING || t == MSG_PONG ||
	    t == MSG_STATS) && msg_type(m) != t)
		return 1;
	switch (t) {
	case MSG_OK:
		if (msg_read_ok_dup(m, &dup, err, sizeof(err)) == -1)
			return 1;
		return built(msg_pack_ok_dup(b, id, v, dup));
	case MSG_ERR:
		if (msg_read_err(m, code, sizeof(code), text, sizeof(text), err,
		    sizeof(err)) == -1)
			return 1;
		return built(msg_pack_err(b, id, v, code, text));
	/* No fields: the type alone is the message. */
	case MSG_GOAWAY:
		return built(msg_pack_goaway(b, v));
	case MSG_PING:
		return built(msg_pack_ping(b, id, v));
	case MSG_PONG:
		return built(msg_pack_pong(b, id, v));
	case MSG_STATS:
		return built(msg_pack_stats(b, id, v));
	case MSG_GET:
		if (msg_read_get(m, &u.get, err, sizeof(err)) == -1)
			return 1;
		return built(msg_pack_get(b, id, v, &u.get));
	case MSG_GET_R:
		if (msg_read_get_r(m, &u.get_r, err, sizeof(err)) == -1) {
			answer_free(&u.get_r.gr_answer);
			return 1;
		}
		r = msg_pack_get_r(b, id, v, &u.get_r);
		answer_free(&u.get_r.gr_answer);
		return built(r);
	case MSG_PUT:
	case MSG_QUERY_R:
		if ((t == MSG_PUT ? msg_read_put(m, &u.a, err, sizeof(err)) :
		    msg_read_query_r(m, &u.a, err, sizeof(err))) == -1) {
			answer_free(&u.a);
			return 1;
		}
		r = t == MSG_PUT ? msg_pack_put(b, id, v, &u.a) :
		    msg_pack_query_r(b, id, v, &u.a);
		answer_free(&u.a);
		return built(r);
	case MSG_TIMING:
		if (msg_read_timing(m, &u.tm, err, sizeof(err)) == -1)
			return 1;
		return built(msg_pack_timing(b, id, v, &u.tm));
	case MSG_TIMING_GET:
		if (msg_read_timing_get(m, reg, sizeof(reg), err,
		    sizeof(err)) == -1)
			return 1;
		return built(msg_pack_timing_get(b, id, v, reg));
	case MSG_TIMING_R:
		if (msg_read_timing_r(m, &u.tr, err, sizeof(err)) == -1)
			return 1;
		return built(msg_pack_timing_r(b, id, v, &u.tr));
	case MSG_STATS_R:
		if (msg_read_stats_r(m, &mc, &cnt, err, sizeof(err)) == -1)
			return 1;
		r = msg_pack_stats_r(b, id, v, mc, cnt);
		free(mc);
		return built(r);
	case MSG_PURGE:
		if (msg_read_purge(m, &u.pg, err, sizeof(err)) == -1)
			return 1;
		return built(msg_pack_purge(b, id, v, &u.pg));
	case MSG_PURGE_R:
		if (msg_read_purge_r(m, &n, err, sizeof(err)) == -1)
			return 1;
		return built(msg_pack_purge_r(b, id, v, n));
	case MSG_QUERY:
		if (msg_read_query(m, &u.q, err, sizeof(err)) == -1)
			return 1;
		return built(msg_pack_query(b, id, v, &u.q));
	case MSG_ERROR:
		if (msg_read_error(m, &u.ev, err, sizeof(err)) == -1)
			return 1;
		return built(msg_pack_error(b, id, v, &u.ev));
	case MSG_HEALTH:
		if (msg_read_health(m, reg, sizeof(reg), err, sizeof(err)) == -1)
			return 1;
		return built(msg_pack_health(b, id, v, reg));
	case MSG_HEALTH_CLEAR:
		if (msg_read_health_clear(m, reg, sizeof(reg), err,
		    sizeof(err)) == -1)
			return 1;
		return built(msg_pack_health_clear(b, id, v, reg));
	case MSG_HEALTH_R:
		if (msg_read_health_r(m, &rh, &cnt, err, sizeof(err)) == -1)
			return 1;
		r = msg_pack_health_r(b, id, v, rh, cnt);
		free(rh);
		return built(r);
	case MSG_ERRORS:
		if (msg_read_errors(m, &u.es, err, sizeof(err)) == -1)
			return 1;
		return built(msg_pack_errors(b, id, v, &u.es));
	case MSG_ERRORS_R:
		if (msg_read_errors_r(m, &evs, &cnt, err, sizeof(err)) == -1)
			return 1;
		r = msg_pack_errors_r(b, id, v, evs, cnt);
		free(evs);
		return built(r);
	case MSG_HELLO:
		if (msg_read_hello(m, &role, nonce, err, sizeof(err)) == -1)
			return 1;
		return built(msg_pack_hello(b, id, v, role, nonce));
	case MSG_HELLO_R:
		if (msg_read_hello_r(m, &role, nonce, sig, err,
		    sizeof(err)) == -1)
			return 1;
		return built(msg_pack_hello_r(b, id, v, role, nonce, sig));
	case MSG_AUTH:
		if (msg_read_auth(m, sig, err, sizeof(err)) == -1)
			return 1;
		return built(msg_pack_auth(b, id, v, sig));
	case MSG_UNKNOWN:
	case MSG_NTYPES:
		break;
	}
	return 1;
}

/* One frame body: unpack, relay it twice, compare the two rewrites. */
static void
check_body(enum msg_type t, const uint8_t *body, size_t len)
{
	struct msg	*m, *m2;
	struct msgb	 b1, b2;
	const char	*code, *name;
	char		 err[256];
	void		*copy;
	uint64_t	 id;
	int		 v;

	m = msg_unpack_copy(body, len, err, sizeof(err));
	if (m == NULL) {
		if (err[0] == '\0')
			abort();
		/* The same refusal with the id/version/code outputs. */
		if ((copy = malloc(len + 1)) == NULL)
			abort();
		memcpy(copy, body, len);
		if (msg_unpack(copy, len, &id, &v, &code, err,
		    sizeof(err)) != NULL ||
		    (strcmp(code, MSG_E_BAD_FRAME) != 0 &&
		    strcmp(code, MSG_E_BAD_VERSION) != 0))
			abort();
		return;
	}
	if (!PROTO_VERSION_OK(msg_version(m)) || msg_tname(m) == NULL)
		abort();
	if (msg_type(m) != MSG_UNKNOWN) {
		name = msg_type_name(msg_type(m));
		if (name == NULL || strcmp(name, msg_tname(m)) != 0 ||
		    msg_type_lookup(name, strlen(name)) != msg_type(m))
			abort();
	}
	msgb_init(&b1);
	msgb_init(&b2);
	if (relay(t, m, &b1) == 0) {
		/* The rewrite must read back, as the same type and id. */
		m2 = msg_unpack_copy(msgb_data(&b1), msgb_len(&b1), err,
		    sizeof(err));
		if (m2 == NULL || msg_type(m2) != msg_type(m) ||
		    (t != MSG_GOAWAY && msg_id(m2) != msg_id(m)) ||
		    relay(t, m2, &b2) != 0 ||
		    msgb_len(&b1) != msgb_len(&b2) ||
		    memcmp(msgb_data(&b1), msgb_data(&b2), msgb_len(&b1)) != 0)
			abort();
		msg_free(m2);
	}
	msgb_free(&b1);
	msgb_free(&b2);
	msg_free(m);
}

/* A body written as a frame reads back as itself. */
static void
check_rewrite(const struct frame *fr, const struct frame_limits *fl)
{
	struct evbuffer	*eb;
	struct frame	 back;
	char		 err[256];

	if ((eb = evbuffer_new()) == NULL)
		abort();
	if (frame_write(eb, fr->fr_body, fr->fr_len, fl) != 0 ||
	    frame_read(eb, fl, &back, err, sizeof(err)) != 1 ||
	    back.fr_len != fr->fr_len ||
	    (fr->fr_len > 0 && memcmp(back.fr_body, fr->fr_body,
	    fr->fr_len) != 0) ||
	    evbuffer_get_length(eb) != 0)
		abort();
	frame_free(&back);
	evbuffer_free(eb);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct frame_limits	 fl;
	struct evbuffer		*in;
	struct frame		 fr;
	enum msg_type		 t;
	char			 err[256];
	size_t			 off, chunk, before;
	int			 i, r;

	if (size < 1)
		return 0;
	t = (enum msg_type)((data[0] & 0x1f) % MSG_NTYPES);
	memset(&fl, 0, sizeof(fl));
	if (data[0] & FZ_SMALL_FRAME)
		fl.fl_max_frame = 512;
	if ((in = evbuffer_new()) == NULL)
		abort();
	/* By reference, each piece stays its own chain: inflating walks them. */
	for (off = 1; off < size; off += chunk) {
		chunk = data[0] & FZ_FRAGMENTS ? 13 : size - off;
		if (chunk > size - off)
			chunk = size - off;
		evbuffer_add_reference(in, data + off, chunk, NULL, NULL);
	}
	for (i = 0; i < FZ_FRAMES_MAX; i++) {
		before = evbuffer_get_length(in);
		err[0] = '\0';
		r = frame_read(in, &fl, &fr, err, sizeof(err));
		if (r == 0) {
			if (evbuffer_get_length(in) != before)
				abort();
			break;
		}
		if (r == -1) {
			if (err[0] == '\0' || fr.fr_body != NULL)
				abort();
			break;
		}
		if (r != 1 || fr.fr_body == NULL || fr.fr_len > frame_max(&fl) ||
		    before - evbuffer_get_length(in) != fr.fr_wire ||
		    (fr.fr_flags & ~FRAME_F_MASK) != 0)
			abort();
		check_body(t, fr.fr_body, fr.fr_len);
		fl.fl_compress_min = data[0] & FZ_LOW_COMPRESS ? 16 : 0;
		check_rewrite(&fr, &fl);
		fl.fl_compress_min = 0;
		frame_free(&fr);
	}
	evbuffer_free(in);
	return 0;
}
