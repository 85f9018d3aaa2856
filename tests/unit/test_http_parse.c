/*
 * test_http_parse.c — the HTTP port's request parsing on plain bytes
 * (daemons/whoisd/http_parse.c): finding a head, the 431 limit, the
 * request line, the headers that decide keep-alive and bodies, what is
 * refused, and query decoding.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "daemons/whoisd/http_parse.h"

/* Parse `text` as one head (it must be one); the status. */
static int
parse(const char *text, char *buf, size_t len, struct http_head *hh)
{
	size_t	n = strlen(text);

	assert_true(n < len);
	memcpy(buf, text, n + 1);
	return http_parse_head(buf, n, hh);
}

static void
test_head_end(void **state)
{
	const char	*two = "\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\nGET /x";

	(void)state;
	assert_int_equal(http_blank_len("\r\n\n\rGET", 7), 4);
	assert_int_equal(http_blank_len("\r\n", 2), 2);
	assert_int_equal(http_blank_len("GET", 3), 0);
	/* Through the empty line, the blank lines before it counted. */
	assert_int_equal(http_head_end(two, strlen(two)), 29);
	assert_int_equal(http_head_end("GET / HTTP/1.1\n\n", 16), 16);
	assert_int_equal(http_head_end("GET / HTTP/1.1\r\n", 16), 0);
	assert_int_equal(http_head_end("GET / HTTP/1.1\r\n\r", 17), 0);
	assert_int_equal(http_head_end("", 0), 0);
	assert_int_equal(http_head_end("\r\n\r\n", 4), 0);
	/* The limit: incomplete and already max bytes is a 431. */
	assert_int_equal(http_head_len("GET / HTTP/1.1\r\n", 16, 16), -1);
	assert_int_equal(http_head_len("GET / HTTP/1.1\r\n", 16, 17), 0);
	assert_int_equal(http_head_len("GET / HTTP/1.1\n\n", 16, 16), 16);
}

static void
test_request_line(void **state)
{
	struct http_head	hh;
	char			buf[512];

	(void)state;
	assert_int_equal(parse("GET /v1/check?domain=a.com HTTP/1.1\r\n"
	    "Host: x\r\n\r\n", buf, sizeof(buf), &hh), 0);
	assert_string_equal(hh.hh_method, "GET");
	assert_string_equal(hh.hh_path, "/v1/check");
	assert_string_equal(hh.hh_query, "domain=a.com");
	assert_int_equal(hh.hh_http10, 0);
	assert_int_equal(hh.hh_keepalive, 1);
	assert_int_equal(hh.hh_body, 0);
	assert_true(hh.hh_method >= buf && hh.hh_query < buf + sizeof(buf));

	assert_int_equal(parse("HEAD /status#frag HTTP/1.0\r\n\r\n", buf,
	    sizeof(buf), &hh), 0);
	assert_string_equal(hh.hh_method, "HEAD");
	assert_string_equal(hh.hh_path, "/status");
	assert_null(hh.hh_query);
	assert_int_equal(hh.hh_http10, 1);
	assert_int_equal(hh.hh_keepalive, 0);

	/* Absolute form: the path is kept. */
	assert_int_equal(parse("GET HTTP://example.com:80/metrics?x HTTP/1.1"
	    "\r\n\r\n", buf, sizeof(buf), &hh), 0);
	assert_string_equal(hh.hh_path, "/metrics");
	assert_string_equal(hh.hh_query, "x");
	assert_int_equal(parse("GET https://example.com HTTP/1.1\r\n\r\n", buf,
	    sizeof(buf), &hh), 400);

	/* Leading empty lines, LF-only lines. */
	assert_int_equal(parse("\r\n\nGET / HTTP/1.1\nA: b\n\n", buf,
	    sizeof(buf), &hh), 0);
	assert_string_equal(hh.hh_path, "/");

	assert_int_equal(parse("GET / HTTP/2.0\r\n\r\n", buf, sizeof(buf),
	    &hh), 505);
	assert_int_equal(parse("GET / HTTP/1.1x\r\n\r\n", buf, sizeof(buf),
	    &hh), 400);
	assert_int_equal(parse("GET / HTTP/\r\n\r\n", buf, sizeof(buf),
	    &hh), 400);
	assert_int_equal(parse("GET /\r\n\r\n", buf, sizeof(buf), &hh), 400);
	assert_int_equal(parse("GET  / HTTP/1.1\r\n\r\n", buf, sizeof(buf),
	    &hh), 400);
	assert_int_equal(parse(" / HTTP/1.1\r\n\r\n", buf, sizeof(buf), &hh),
	    400);
	assert_int_equal(parse("G(T / HTTP/1.1\r\n\r\n", buf, sizeof(buf),
	    &hh), 400);
	assert_int_equal(parse("GET x HTTP/1.1\r\n\r\n", buf, sizeof(buf),
	    &hh), 400);
	assert_int_equal(parse("\r\n\r\n", buf, sizeof(buf), &hh), 400);
	/* A tab is no separator, nor part of a target (fuzz_http found
	 * "/v1/c\teck" taken as a path). */
	assert_int_equal(parse("GET /v1/c\teck?domain=a.com HTTP/1.0\r\n"
	    "\r\n", buf, sizeof(buf), &hh), 400);
	assert_int_equal(parse("GET\t/ HTTP/1.1\r\n\r\n", buf, sizeof(buf),
	    &hh), 400);
	assert_int_equal(parse("GET / HTTP/1.1\t\r\n\r\n", buf, sizeof(buf),
	    &hh), 400);
	/* Not a head http_head_end() found: no empty line. */
	assert_int_equal(parse("GET / HTTP/1.1\r\nA: b", buf, sizeof(buf),
	    &hh), 400);
}

static void
test_headers(void **state)
{
	struct http_head	hh;
	char			buf[512];

	(void)state;
	assert_int_equal(parse("GET / HTTP/1.1\r\nConnection: Upgrade, "
	    "CLOSE\r\n\r\n", buf, sizeof(buf), &hh), 0);
	assert_int_equal(hh.hh_conn_close, 1);
	assert_int_equal(hh.hh_keepalive, 0);
	assert_int_equal(parse("GET / HTTP/1.0\r\nconnection:\tkeep-alive\t"
	    "\r\n\r\n", buf, sizeof(buf), &hh), 0);
	assert_int_equal(hh.hh_keepalive, 1);
	assert_int_equal(parse("GET / HTTP/1.1\r\nConnection: closed\r\n\r\n",
	    buf, sizeof(buf), &hh), 0);
	assert_int_equal(hh.hh_keepalive, 1);

	/* A body, however announced, ends the connection. */
	assert_int_equal(parse("GET / HTTP/1.1\r\nContent-Length: 00\r\n\r\n",
	    buf, sizeof(buf), &hh), 0);
	assert_int_equal(hh.hh_body, 0);
	assert_int_equal(parse("POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\n",
	    buf, sizeof(buf), &hh), 0);
	assert_int_equal(hh.hh_body, 1);
	assert_int_equal(hh.hh_keepalive, 0);
	assert_int_equal(parse("GET / HTTP/1.0\r\nConnection: keep-alive\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n", buf, sizeof(buf), &hh), 0);
	assert_int_equal(hh.hh_body, 1);
	assert_int_equal(hh.hh_keepalive, 0);

	/* What a proxy could read otherwise. */
	assert_int_equal(parse("GET / HTTP/1.1\r\nContent-Length: +5\r\n\r\n",
	    buf, sizeof(buf), &hh), 400);
	assert_int_equal(parse("GET / HTTP/1.1\r\nContent-Length:\r\n\r\n",
	    buf, sizeof(buf), &hh), 400);
	assert_int_equal(parse("GET / HTTP/1.1\r\nContent-Length: 1, 1\r\n"
	    "\r\n", buf, sizeof(buf), &hh), 400);
	assert_int_equal(parse("GET / HTTP/1.1\r\nTransfer-Encoding : chunked"
	    "\r\n\r\n", buf, sizeof(buf), &hh), 400);
	assert_int_equal(parse("GET / HTTP/1.1\r\nA: b\r\n c\r\n\r\n", buf,
	    sizeof(buf), &hh), 400);
	assert_int_equal(parse("GET / HTTP/1.1\r\n: b\r\n\r\n", buf,
	    sizeof(buf), &hh), 400);
	assert_int_equal(parse("GET / HTTP/1.1\r\nA b\r\n\r\n", buf,
	    sizeof(buf), &hh), 400);
	assert_int_equal(parse("GET / HTTP/1.1\rHost: x\r\n\r\n", buf,
	    sizeof(buf), &hh), 400);
	assert_int_equal(parse("GET / HTTP/1.1\r\nHost: x\r\r\n\r\n", buf,
	    sizeof(buf), &hh), 400);
	assert_int_equal(parse("GET / HTTP/1.1\r\nHost: \x01\r\n\r\n", buf,
	    sizeof(buf), &hh), 400);
	assert_int_equal(parse("GET / HTTP/1.1\r\nHost: \x7f\r\n\r\n", buf,
	    sizeof(buf), &hh), 400);
	memcpy(buf, "GET / HTTP/1.1\r\nA: \0\r\n\r\n", 25);
	assert_int_equal(http_parse_head(buf, 25, &hh), 400);
}

static void
test_query_decode(void **state)
{
	char	s[64];

	(void)state;
	strcpy(s, "a%2Eb+c%41");
	assert_int_equal(http_query_decode(s, strlen(s)), 6);
	assert_memory_equal(s, "a.b cA", 6);
	strcpy(s, "a%00b");
	assert_int_equal(http_query_decode(s, strlen(s)), 3);
	assert_memory_equal(s, "a\0b", 3);
	strcpy(s, "%4");
	assert_int_equal(http_query_decode(s, strlen(s)), -1);
	strcpy(s, "%");
	assert_int_equal(http_query_decode(s, strlen(s)), -1);
	strcpy(s, "%zz");
	assert_int_equal(http_query_decode(s, strlen(s)), -1);
	assert_int_equal(http_query_decode(s, 0), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_head_end),
		cmocka_unit_test(test_request_line),
		cmocka_unit_test(test_headers),
		cmocka_unit_test(test_query_decode),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
