/*
 * test_http_body.c — the request bodies of the HTTP port on plain bytes
 * (daemons/whoisd/http_parse.c): the headers that frame a body, the
 * chunked decoder fed in pieces, Accept, and the JSON of POST /v1/check
 * with its errors.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "daemons/whoisd/http_parse.h"

static int
parse(const char *text, struct http_head *hh)
{
	static char	buf[1024];
	size_t		n = strlen(text);

	assert_true(n < sizeof(buf));
	memcpy(buf, text, n + 1);
	return http_parse_head(buf, n, hh);
}

static void
test_framing_headers(void **state)
{
	struct http_head	hh;

	(void)state;
	assert_int_equal(parse("POST /v1/check HTTP/1.1\r\nContent-Length: "
	    "12\r\nExpect: 100-continue\r\nAccept: text/html, "
	    "application/x-ndjson;q=0.5\r\n\r\n", &hh), 0);
	assert_int_equal(hh.hh_clen, 12);
	assert_int_equal(hh.hh_continue, 1);
	assert_int_equal(hh.hh_ndjson, 1);
	assert_int_equal(hh.hh_chunked, 0);
	assert_int_equal(parse("POST / HTTP/1.1\r\nTransfer-Encoding: "
	    "Chunked\r\nContent-Encoding: gzip\r\n\r\n", &hh), 0);
	assert_int_equal(hh.hh_chunked, 1);
	assert_int_equal(hh.hh_te_other, 0);
	assert_int_equal(hh.hh_cenc, 1);
	assert_int_equal(hh.hh_clen, -1);
	assert_int_equal(parse("POST / HTTP/1.1\r\nTransfer-Encoding: "
	    "gzip, chunked\r\n\r\n", &hh), 0);
	assert_int_equal(hh.hh_te_other, 1);
	/* Two framings, or two lengths that differ: a proxy may differ. */
	assert_int_equal(parse("POST / HTTP/1.1\r\nContent-Length: 5\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n", &hh), 400);
	assert_int_equal(parse("POST / HTTP/1.1\r\nContent-Length: 5\r\n"
	    "Content-Length: 6\r\n\r\n", &hh), 400);
	assert_int_equal(parse("POST / HTTP/1.1\r\nContent-Length: 5\r\n"
	    "Content-Length: 5\r\n\r\n", &hh), 0);
	/* Saturated, never wrapped. */
	assert_int_equal(parse("POST / HTTP/1.1\r\nContent-Length: "
	    "99999999999999999999999999\r\n\r\n", &hh), 0);
	assert_true(hh.hh_clen > 1000000000);
	assert_int_equal(parse("POST / HTTP/1.1\r\nContent-Encoding: "
	    "identity\r\n\r\n", &hh), 0);
	assert_int_equal(hh.hh_cenc, 0);
}

static void
test_accepts(void **state)
{
	(void)state;
	assert_true(http_accepts("application/x-ndjson", "application/x-ndjson"));
	assert_true(http_accepts("a/b, APPLICATION/X-NDJSON ; q=1",
	    "application/x-ndjson"));
	assert_false(http_accepts("application/x-ndjson;q=0",
	    "application/x-ndjson"));
	assert_false(http_accepts("application/json", "application/x-ndjson"));
	assert_false(http_accepts("application/x-ndjsonx",
	    "application/x-ndjson"));
	assert_false(http_accepts("", "application/x-ndjson"));
}

/* Decode `in` fed `step` bytes at a time into out; the last status. */
static int
decode(const char *in, size_t step, size_t max, char *out, size_t *outlen,
    size_t *rest)
{
	struct http_chunked	ck;
	size_t			len = strlen(in), pos = 0, used, got, n;
	int			r = HTTP_CK_MORE;

	http_chunked_init(&ck, max);
	*outlen = 0;
	while (pos < len) {
		n = len - pos < step ? len - pos : step;
		r = http_chunked_feed(&ck, in + pos, n, &used, out + *outlen,
		    max - *outlen, &got);
		*outlen += got;
		pos += used;
		if (r != HTTP_CK_MORE)
			break;
		assert_int_equal(used, n);
	}
	*rest = len - pos;
	return r;
}

static void
test_chunked(void **state)
{
	const char	*ok = "5\r\nhello\r\n6;a=b\r\n world\r\n0\r\nX: 1\r\n"
			    "\r\nGET /";
	char		out[64];
	size_t		n, rest, step;

	(void)state;
	for (step = 1; step < 60; step++) {
		assert_int_equal(decode(ok, step, sizeof(out), out, &n, &rest),
		    HTTP_CK_DONE);
		assert_int_equal(n, 11);
		assert_memory_equal(out, "hello world", 11);
		assert_int_equal(rest, 5);	/* the next request */
	}
	assert_int_equal(decode("A\r\n0123456789\r\n0\r\n\r\n", 3, 10, out,
	    &n, &rest), HTTP_CK_DONE);
	/* Over the limit, said in the size line before the data. */
	assert_int_equal(decode("B\r\n", 3, 10, out, &n, &rest), HTTP_CK_BIG);
	assert_int_equal(decode("ffffffffffffffffff\r\n", 1, 10, out, &n,
	    &rest), HTTP_CK_BIG);
	assert_int_equal(decode("zz\r\n", 1, 10, out, &n, &rest), HTTP_CK_BAD);
	assert_int_equal(decode("\r\n", 1, 10, out, &n, &rest), HTTP_CK_BAD);
	assert_int_equal(decode("1\nx\r\n", 1, 10, out, &n, &rest),
	    HTTP_CK_BAD);
	assert_int_equal(decode("1\r\nxy", 1, 10, out, &n, &rest), HTTP_CK_BAD);
	assert_int_equal(decode("1 \r\nx\r\n", 1, 10, out, &n, &rest),
	    HTTP_CK_BAD);
	assert_int_equal(decode("0\r\nX: 1\n\r\n", 1, 10, out, &n, &rest),
	    HTTP_CK_BAD);
	assert_int_equal(decode("0\r\n\r\r", 1, 10, out, &n, &rest),
	    HTTP_CK_BAD);
	assert_int_equal(decode("3\r\nab", 1, 10, out, &n, &rest),
	    HTTP_CK_MORE);
}

static void
test_names(void **state)
{
	struct http_names	hn;
	char			err[256];
	const char		*b;

	(void)state;
	b = "{\"domains\":[\"a.com\",\"b\\u00e9.de\"],\"wait\":2.5,\"x\":{}}";
	assert_int_equal(http_names_parse(b, strlen(b), 10, &hn, err,
	    sizeof(err)), 0);
	assert_int_equal(hn.hn_n, 2);
	assert_string_equal(hn.hn_name[0], "a.com");
	assert_string_equal(hn.hn_name[1], "b\xc3\xa9.de");
	assert_int_equal(hn.hn_len[1], 6);
	assert_true(hn.hn_wait == 2.5);
	http_names_free(&hn);

#define BAD(body, max, what) do {					\
	assert_int_equal(http_names_parse(body, strlen(body), max, &hn,	\
	    err, sizeof(err)), -1);					\
	assert_non_null(strstr(err, what));				\
} while (0)
	BAD("{\"domains\":[\"a.com\"", 10, "bad JSON");
	BAD("[]", 10, "JSON object");
	BAD("{}", 10, "no \"domains\"");
	BAD("{\"domains\":{}}", 10, "array");
	BAD("{\"domains\":[\"a\",null]}", 10, "[1] is not a string");
	BAD("{\"domains\":[]}", 10, "empty");
	BAD("{\"domains\":[\"a\",\"b\",\"c\"]}", 2, "at most 2");
	BAD("{\"domains\":[\"a\"],\"wait\":\"1\"}", 10, "wait");
	BAD("{\"domains\":[\"a\"],\"wait\":3601}", 10, "wait");
	BAD("{\"domains\":[\"a\"],\"domains\":[\"b\"]}", 10, "duplicate");
	BAD("{\"domains\":[\"a\\u0000b\"]}", 10, "bad JSON");
#undef BAD
}

/* fresh and max_age, and the problem code of each kind of bad body. */
static void
test_names_options(void **state)
{
	struct http_names	hn;
	char			err[256];
	const char		*b;

	(void)state;
	b = "{\"domains\":[\"a.com\"]}";
	assert_int_equal(http_names_parse(b, strlen(b), 10, &hn, err,
	    sizeof(err)), 0);
	assert_int_equal(hn.hn_fresh, 0);
	assert_true(hn.hn_max_age == -1);
	http_names_free(&hn);
	b = "{\"domains\":[\"a.com\"],\"fresh\":true,\"max_age\":30}";
	assert_int_equal(http_names_parse(b, strlen(b), 10, &hn, err,
	    sizeof(err)), 0);
	assert_int_equal(hn.hn_fresh, 1);
	assert_true(hn.hn_max_age == 30);
	http_names_free(&hn);

#define CODE(body, max, code) do {					\
	assert_int_equal(http_names_parse(body, strlen(body), max, &hn,	\
	    err, sizeof(err)), -1);					\
	if ((code) == NULL)						\
		assert_null(hn.hn_code);				\
	else								\
		assert_string_equal(hn.hn_code, (code));		\
} while (0)
	CODE("{\"domains\":[\"a\"],\"fresh\":1}", 10, "bad-fresh");
	CODE("{\"domains\":[\"a\"],\"max_age\":-1}", 10, "bad-max-age");
	CODE("{\"domains\":[\"a\"],\"max_age\":\"1\"}", 10, "bad-max-age");
	CODE("{\"domains\":[\"a\"],\"wait\":-1}", 10, "bad-wait");
	CODE("{\"domains\":[\"a\",\"b\"]}", 1, "too-many-names");
	CODE("{\"domains\":", 10, "bad-json");
	/* The shape of the body: the caller's bad-body. */
	CODE("[]", 10, NULL);
	CODE("{\"domains\":[]}", 10, NULL);
#undef CODE
}

/* Host, Accept-Encoding and the CORS headers. */
static void
test_api_headers(void **state)
{
	struct http_head	hh;

	(void)state;
	assert_int_equal(parse("GET / HTTP/1.1\r\n\r\n", &hh), 0);
	assert_int_equal(hh.hh_host, 0);
	assert_int_equal(hh.hh_gzip, 0);
	assert_null(hh.hh_origin);
	assert_int_equal(parse("GET / HTTP/1.1\r\nHost: a\r\nAccept-Encoding: "
	    "br, gzip;q=0.5\r\nOrigin: https://a.example\r\n"
	    "Access-Control-Request-Method: POST\r\n"
	    "Access-Control-Request-Headers: content-type\r\n\r\n", &hh), 0);
	assert_int_equal(hh.hh_host, 1);
	assert_int_equal(hh.hh_gzip, 1);
	assert_string_equal(hh.hh_origin, "https://a.example");
	assert_string_equal(hh.hh_acr_method, "POST");
	assert_string_equal(hh.hh_acr_headers, "content-type");
	assert_int_equal(parse("GET / HTTP/1.1\r\nAccept-Encoding: gzip;q=0, "
	    "*\r\n\r\n", &hh), 0);
	assert_int_equal(hh.hh_gzip, 0);
	assert_int_equal(parse("GET / HTTP/1.1\r\nAccept-Encoding: *\r\n\r\n",
	    &hh), 0);
	assert_int_equal(hh.hh_gzip, 1);
	assert_int_equal(parse("GET / HTTP/1.1\r\nAccept-Encoding: "
	    "identity\r\n\r\n", &hh), 0);
	assert_int_equal(hh.hh_gzip, 0);
}

static void
test_names_budget(void **state)
{
	struct http_names	hn;
	char			err[256], *b;
	size_t			i, n = 100000, len = 0;

	(void)state;
	/* 3 bytes a value: jansson's structures would be 30 times that. */
	b = malloc(n * 3 + 64);
	assert_non_null(b);
	len += (size_t)sprintf(b, "{\"domains\":[\"a\"],\"x\":[");
	for (i = 0; i < n; i++)
		len += (size_t)sprintf(b + len, "%s[]", i > 0 ? "," : "");
	len += (size_t)sprintf(b + len, "]}");
	assert_int_equal(http_names_parse(b, len, 10, &hn, err, sizeof(err)),
	    -1);
	assert_non_null(strstr(err, "too many values"));
	free(b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_framing_headers),
		cmocka_unit_test(test_accepts),
		cmocka_unit_test(test_chunked),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_names_budget),
		cmocka_unit_test(test_names_options),
		cmocka_unit_test(test_api_headers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
