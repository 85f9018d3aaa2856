/*
 * fuzz_http_body.c — libFuzzer target for the request bodies of the
 * HTTP port (daemons/whoisd/http_parse.c): the chunked decoder and the
 * JSON of POST /v1/check.
 *
 * Input: a chunked body as a client sends it.  It is decoded whole and
 * in random pieces into a buffer grown as http.c grows it: the status,
 * the data and where the body ended must not depend on how the bytes
 * arrived, and the data never exceeds the limit.  Whatever was decoded
 * (else the input itself) is then parsed as a POST /v1/check body: an
 * accepted one has 1..FB_MAX_NAMES names, each NUL-terminated at its
 * length and holding no NUL byte, and a wait of -1 or 0..3600.
 * Build and run: make fuzz.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemons/whoisd/http_parse.h"
#include "tests/fuzz/fuzz.h"

#define FB_MAX_BODY	4096
#define FB_MAX_NAMES	50

struct fb_out {
	int	 fo_r;
	size_t	 fo_used;	/* input taken */
	size_t	 fo_len;
	char	 fo_buf[FB_MAX_BODY];
};

static uint64_t
fb_rand(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* Feed data in pieces (seed 0: whole), the room grown 64 bytes at once. */
static void
fb_decode(const uint8_t *data, size_t size, uint64_t seed, struct fb_out *o)
{
	struct http_chunked	ck;
	size_t			pos = 0, want, used, got, cap = 0;

	http_chunked_init(&ck, FB_MAX_BODY);
	memset(o, 0, sizeof(*o));
	o->fo_r = HTTP_CK_MORE;
	while (pos < size) {
		want = size - pos;
		if (seed != 0 && want > 1)
			want = 1 + fb_rand(&seed) % (want < 40 ? want : 40);
		if (cap == o->fo_len)
			cap = cap + 64 < FB_MAX_BODY ? cap + 64 : FB_MAX_BODY;
		o->fo_r = http_chunked_feed(&ck, (const char *)data + pos, want,
		    &used, o->fo_buf + o->fo_len, cap - o->fo_len, &got);
		if (used > want || got > cap - o->fo_len)
			abort();
		o->fo_len += got;
		pos += used;
		if (o->fo_r != HTTP_CK_MORE)
			break;
		if (used < want && cap == FB_MAX_BODY && o->fo_len == cap)
			abort();	/* full, yet not over the limit? */
	}
	o->fo_used = pos;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fb_out	whole, piece;
	struct http_names	hn;
	uint64_t		seed = 0xcbf29ce484222325ULL;
	char			err[256];
	const char		*b;
	size_t			i, len;

	for (i = 0; i < size; i++)
		seed = (seed ^ data[i]) * 0x100000001b3ULL;
	seed |= 1;
	fb_decode(data, size, 0, &whole);
	fb_decode(data, size, seed, &piece);
	if (whole.fo_r != piece.fo_r)
		abort();
	if (whole.fo_r == HTTP_CK_DONE && (whole.fo_used != piece.fo_used ||
	    whole.fo_len != piece.fo_len ||
	    memcmp(whole.fo_buf, piece.fo_buf, whole.fo_len) != 0))
		abort();
	if (whole.fo_len > FB_MAX_BODY)
		abort();

	if (whole.fo_r == HTTP_CK_DONE) {
		b = whole.fo_buf;
		len = whole.fo_len;
	} else {
		b = (const char *)data;
		len = size;
	}
	if (http_names_parse(b, len, FB_MAX_NAMES, &hn, err, sizeof(err)) ==
	    0) {
		if (hn.hn_n == 0 || hn.hn_n > FB_MAX_NAMES ||
		    (hn.hn_wait != -1 && !(hn.hn_wait >= 0 &&
		    hn.hn_wait <= 3600)))
			abort();
		for (i = 0; i < hn.hn_n; i++)
			if (strlen(hn.hn_name[i]) != hn.hn_len[i])
				abort();
		http_names_free(&hn);
	} else if (err[0] == '\0')
		abort();
	return 0;
}
