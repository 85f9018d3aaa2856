/*
 * test_frame.c — the frame layer: round trips, compression, every prefix
 * of a frame, corrupt headers, a 4 GB length and a zip bomb.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <event2/buffer.h>
#include <zlib.h>

#include "proto/frame.h"

static struct evbuffer *
evb(void)
{
	struct evbuffer	*b = evbuffer_new();

	assert_non_null(b);
	return b;
}

static void
test_roundtrip_small(void **state)
{
	struct evbuffer		*b = evb();
	struct frame		 fr;
	const char		 body[] = "\x81\xa1v\x02";
	uint8_t			 hdr[FRAME_HDRLEN];
	char			 err[128];

	(void)state;
	assert_int_equal(frame_write(b, body, 4, NULL), 0);
	assert_int_equal(evbuffer_get_length(b), FRAME_HDRLEN + 4);
	evbuffer_copyout(b, hdr, sizeof(hdr));
	/* length counts the flags byte and the body, big-endian */
	assert_int_equal(hdr[0], 0);
	assert_int_equal(hdr[1], 0);
	assert_int_equal(hdr[2], 0);
	assert_int_equal(hdr[3], 5);
	assert_int_equal(hdr[4], 0);
	assert_int_equal(frame_read(b, NULL, &fr, err, sizeof(err)), 1);
	assert_int_equal(fr.fr_len, 4);
	assert_memory_equal(fr.fr_body, body, 4);
	assert_int_equal(fr.fr_flags, 0);
	assert_int_equal(evbuffer_get_length(b), 0);
	frame_free(&fr);
	/* nothing left: need more */
	assert_int_equal(frame_read(b, NULL, &fr, err, sizeof(err)), 0);
	evbuffer_free(b);
}

static void
test_compress_threshold(void **state)
{
	struct frame_limits	 fl = { 0, 100 };
	struct evbuffer		*b = evb();
	struct frame		 fr;
	uint8_t			 body[1000], hdr[FRAME_HDRLEN];
	char			 err[128];
	size_t			 i;

	(void)state;
	memset(body, 'a', sizeof(body));
	/* at the threshold: not deflated */
	assert_int_equal(frame_write(b, body, 100, &fl), 0);
	evbuffer_copyout(b, hdr, sizeof(hdr));
	assert_int_equal(hdr[4], 0);
	assert_int_equal(frame_read(b, &fl, &fr, err, sizeof(err)), 1);
	frame_free(&fr);
	/* above: deflated, and smaller */
	assert_int_equal(frame_write(b, body, 1000, &fl), 0);
	evbuffer_copyout(b, hdr, sizeof(hdr));
	assert_int_equal(hdr[4], FRAME_F_DEFLATE);
	assert_true(evbuffer_get_length(b) < 100);
	assert_int_equal(frame_read(b, &fl, &fr, err, sizeof(err)), 1);
	assert_int_equal(fr.fr_len, 1000);
	assert_memory_equal(fr.fr_body, body, 1000);
	frame_free(&fr);
	/* incompressible: sent plain even above the threshold */
	srand(7);
	for (i = 0; i < sizeof(body); i++)
		body[i] = (uint8_t)rand();
	assert_int_equal(frame_write(b, body, 1000, &fl), 0);
	evbuffer_copyout(b, hdr, sizeof(hdr));
	assert_int_equal(hdr[4], 0);
	assert_int_equal(frame_read(b, &fl, &fr, err, sizeof(err)), 1);
	assert_memory_equal(fr.fr_body, body, 1000);
	frame_free(&fr);
	evbuffer_free(b);
}

/* Every prefix of a valid frame is "need more", and nothing is drained. */
static void
test_every_prefix(void **state)
{
	struct evbuffer		*b = evb(), *p;
	struct frame		 fr;
	uint8_t			 body[3000], *wire;
	size_t			 wlen, n;
	char			 err[128];
	int			 deflated;

	(void)state;
	for (deflated = 0; deflated < 2; deflated++) {
		memset(body, deflated ? 'z' : 0, sizeof(body));
		if (!deflated)
			for (n = 0; n < sizeof(body); n++)
				body[n] = (uint8_t)(n * 131 + (n >> 3));
		assert_int_equal(frame_write(b, body, sizeof(body), NULL), 0);
		wlen = evbuffer_get_length(b);
		wire = malloc(wlen);
		evbuffer_remove(b, wire, wlen);
		for (n = 0; n < wlen; n++) {
			p = evb();
			evbuffer_add(p, wire, n);
			assert_int_equal(frame_read(p, NULL, &fr, err,
			    sizeof(err)), 0);
			assert_int_equal(evbuffer_get_length(p), n);
			evbuffer_free(p);
		}
		/* ...and the whole frame fed one byte at a time */
		p = evb();
		for (n = 0; n < wlen; n++) {
			evbuffer_add(p, wire + n, 1);
			if (n + 1 < wlen)
				assert_int_equal(frame_read(p, NULL, &fr, err,
				    sizeof(err)), 0);
		}
		assert_int_equal(frame_read(p, NULL, &fr, err, sizeof(err)), 1);
		assert_int_equal(fr.fr_len, sizeof(body));
		assert_memory_equal(fr.fr_body, body, sizeof(body));
		frame_free(&fr);
		evbuffer_free(p);
		free(wire);
	}
	evbuffer_free(b);
}

static void
expect_bad(const uint8_t *wire, size_t len, const struct frame_limits *fl,
    const char *errpart)
{
	struct evbuffer	*b = evb();
	struct frame	 fr;
	char		 err[128] = "";

	evbuffer_add(b, wire, len);
	assert_int_equal(frame_read(b, fl, &fr, err, sizeof(err)), -1);
	assert_non_null(strstr(err, errpart));
	assert_null(fr.fr_body);
	evbuffer_free(b);
}

static void
test_bad_headers(void **state)
{
	const uint8_t	flags2[] = { 0, 0, 0, 2, 0x02, 0x80 };
	const uint8_t	flags80[] = { 0, 0, 0, 2, 0x81, 0x80 };
	const uint8_t	zero[] = { 0, 0, 0, 0, 0 };
	const uint8_t	notz[] = { 0, 0, 0, 5, 0x01, 'a', 'b', 'c', 'd' };

	(void)state;
	expect_bad(flags2, sizeof(flags2), NULL, "bad frame flags 0x02");
	expect_bad(flags80, sizeof(flags80), NULL, "bad frame flags 0x81");
	expect_bad(zero, sizeof(zero), NULL, "zero frame length");
	expect_bad(notz, sizeof(notz), NULL, "inflate");
}

static void
test_huge_length(void **state)
{
	/* 4 GB announced: refused from the header alone (no allocation
	 * could satisfy it; the test would abort under ASan if tried). */
	const uint8_t	hdr[] = { 0xff, 0xff, 0xff, 0xff, 0x00 };
	const uint8_t	hdr2[] = { 0x01, 0x00, 0x00, 0x02, 0x00 };
	struct frame_limits fl = { 1024, 0 };

	(void)state;
	expect_bad(hdr, sizeof(hdr), NULL, "exceeds max_frame");
	/* 16 MiB + 1 body: one byte over the default */
	expect_bad(hdr2, sizeof(hdr2), NULL, "exceeds max_frame");
	/* a custom limit */
	{
		const uint8_t h[] = { 0, 0, 0x04, 0x02, 0x00 };	/* 1025 */
		expect_bad(h, sizeof(h), &fl, "1025 bytes exceeds max_frame 1024");
	}
	/* frame_write refuses a body over the limit */
	{
		struct evbuffer	*b = evb();
		char		 body[1025] = { 0 };

		assert_int_equal(frame_write(b, body, 1025, &fl), -1);
		assert_int_equal(frame_write(b, body, 1024, &fl), 0);
		evbuffer_free(b);
	}
}

/* A deflated frame made by hand with zlib. */
static struct evbuffer *
deflated_frame(const uint8_t *body, size_t len, int trailing)
{
	struct evbuffer	*b = evb();
	uLongf		 clen = compressBound(len);
	uint8_t		*z = malloc(clen + 1), hdr[FRAME_HDRLEN];
	uint32_t	 fl;

	assert_int_equal(compress2(z, &clen, body, len, 9), Z_OK);
	if (trailing)
		z[clen++] = 'x';
	fl = (uint32_t)clen + 1;
	hdr[0] = fl >> 24;
	hdr[1] = fl >> 16;
	hdr[2] = fl >> 8;
	hdr[3] = fl;
	hdr[4] = FRAME_F_DEFLATE;
	evbuffer_add(b, hdr, sizeof(hdr));
	evbuffer_add(b, z, clen);
	free(z);
	return b;
}

static void
test_zip_bomb(void **state)
{
	struct frame_limits	 fl = { 1024 * 1024, 0 };
	struct evbuffer		*b;
	struct frame		 fr;
	uint8_t			*zeros;
	size_t			 n = 100u * 1024 * 1024;
	char			 err[128];

	(void)state;
	zeros = calloc(1, n);
	assert_non_null(zeros);
	b = deflated_frame(zeros, n, 0);
	free(zeros);
	/* ~100 KB on the wire, well under max_frame */
	assert_true(evbuffer_get_length(b) < 200 * 1024);
	assert_int_equal(frame_read(b, &fl, &fr, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "inflated body exceeds max_frame 1048576"));
	assert_null(fr.fr_body);
	evbuffer_free(b);
}

static void
test_inflate_exact_limit(void **state)
{
	struct frame_limits	 fl = { 4096, 0 };
	struct evbuffer		*b;
	struct frame		 fr;
	uint8_t			 body[4097];
	char			 err[128];

	(void)state;
	memset(body, 'q', sizeof(body));
	b = deflated_frame(body, 4096, 0);	/* exactly max: fine */
	assert_int_equal(frame_read(b, &fl, &fr, err, sizeof(err)), 1);
	assert_int_equal(fr.fr_len, 4096);
	frame_free(&fr);
	evbuffer_free(b);
	b = deflated_frame(body, 4097, 0);	/* one over: refused */
	assert_int_equal(frame_read(b, &fl, &fr, err, sizeof(err)), -1);
	evbuffer_free(b);
	b = deflated_frame(body, 100, 1);	/* garbage after the stream */
	assert_int_equal(frame_read(b, &fl, &fr, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "trailing"));
	evbuffer_free(b);
}

static void
test_truncated_deflate(void **state)
{
	struct evbuffer	*b = evb();
	uint8_t		 body[5000], wire[6000], z[6000];
	struct frame	 fr;
	uLongf		 clen = sizeof(z);
	char		 err[128];

	(void)state;
	memset(body, 'k', sizeof(body));
	assert_int_equal(compress(z, &clen, body, sizeof(body)), Z_OK);
	/* the frame claims only half the deflated bytes */
	clen /= 2;
	wire[0] = 0;
	wire[1] = 0;
	wire[2] = (uint8_t)((clen + 1) >> 8);
	wire[3] = (uint8_t)(clen + 1);
	wire[4] = FRAME_F_DEFLATE;
	memcpy(wire + 5, z, clen);
	evbuffer_add(b, wire, 5 + clen);
	assert_int_equal(frame_read(b, NULL, &fr, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "truncated deflate"));
	evbuffer_free(b);
}

static void
test_many_frames_one_buffer(void **state)
{
	struct evbuffer	*b = evb();
	struct frame	 fr;
	char		 body[2048], err[128];
	int		 i;

	(void)state;
	for (i = 0; i < 50; i++) {
		memset(body, 'a' + i % 26, sizeof(body));
		assert_int_equal(frame_write(b, body, (size_t)(i * 40), NULL), 0);
	}
	for (i = 0; i < 50; i++) {
		assert_int_equal(frame_read(b, NULL, &fr, err, sizeof(err)), 1);
		assert_int_equal(fr.fr_len, (size_t)(i * 40));
		if (i > 0)
			assert_int_equal(fr.fr_body[fr.fr_len - 1], 'a' + i % 26);
		frame_free(&fr);
	}
	assert_int_equal(evbuffer_get_length(b), 0);
	evbuffer_free(b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip_small),
		cmocka_unit_test(test_compress_threshold),
		cmocka_unit_test(test_every_prefix),
		cmocka_unit_test(test_bad_headers),
		cmocka_unit_test(test_huge_length),
		cmocka_unit_test(test_zip_bomb),
		cmocka_unit_test(test_inflate_exact_limit),
		cmocka_unit_test(test_truncated_deflate),
		cmocka_unit_test(test_many_frames_one_buffer),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
