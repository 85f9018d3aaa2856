/*
 * test_query_line.c — the whois port's query line on plain bytes
 * (daemons/whoisd/query_line.c): where it ends, the limit, EOF, control
 * bytes, and the bytes after it.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "daemons/whoisd/query_line.h"

static enum query_line
ql(const char *buf, size_t len, int eof, size_t max, size_t *ll, int *extra)
{
	*ll = 12345;
	*extra = 0;
	return query_line(buf, len, eof, max, ll, extra);
}

static void
test_lines(void **state)
{
	size_t	ll;
	int	extra;

	(void)state;
	assert_int_equal(ql("example.com\r\n", 13, 0, 16, &ll, &extra),
	    QL_LINE);
	assert_int_equal(ll, 11);
	assert_int_equal(extra, 0);
	assert_int_equal(ql("example.com\n", 12, 0, 16, &ll, &extra), QL_LINE);
	assert_int_equal(ll, 11);
	/* Only one CR goes with the LF. */
	assert_int_equal(ql("a.com\r\r\n", 8, 0, 16, &ll, &extra), QL_BINARY);
	assert_int_equal(ql("\r\n", 2, 0, 16, &ll, &extra), QL_LINE);
	assert_int_equal(ll, 0);
	/* Bytes after the line: the close lingers. */
	assert_int_equal(ql("a.com\nb.com\n", 12, 0, 16, &ll, &extra),
	    QL_LINE);
	assert_int_equal(ll, 5);
	assert_int_equal(extra, 1);
	/* Part of a line waits; EOF takes it as it is. */
	assert_int_equal(ql("a.com", 5, 0, 16, &ll, &extra), QL_MORE);
	assert_int_equal(ll, 12345);
	assert_int_equal(ql("a.com", 5, 1, 16, &ll, &extra), QL_LINE);
	assert_int_equal(ll, 5);
	assert_int_equal(ql("", 0, 0, 16, &ll, &extra), QL_MORE);
	assert_int_equal(ql("", 0, 1, 16, &ll, &extra), QL_HUNGUP);
	/* Control bytes and DEL in the line; not in what follows it. */
	assert_int_equal(ql("a\x01.com\n", 8, 0, 16, &ll, &extra), QL_BINARY);
	assert_int_equal(ql("a\0.com\n", 7, 0, 16, &ll, &extra), QL_BINARY);
	assert_int_equal(ql("a\x7f.com\n", 8, 0, 16, &ll, &extra), QL_BINARY);
	assert_int_equal(ql("a\tb.com", 7, 1, 16, &ll, &extra), QL_BINARY);
	assert_int_equal(ql("a\x01", 2, 0, 16, &ll, &extra), QL_MORE);
	assert_int_equal(ql("a.com\n\x01", 7, 0, 16, &ll, &extra), QL_LINE);
	assert_int_equal(ql("b\xc3\xbc" "cher.de\n", 11, 0, 16, &ll, &extra),
	    QL_LINE);
}

static void
test_limit(void **state)
{
	char	buf[32];
	size_t	ll;
	int	extra;

	(void)state;
	memset(buf, 'a', sizeof(buf));
	/* max bytes and the end of line: fine; one more: too long. */
	memcpy(buf + 16, "\r\n", 2);
	assert_int_equal(ql(buf, 18, 0, 16, &ll, &extra), QL_LINE);
	assert_int_equal(ll, 16);
	memcpy(buf + 16, "a\n", 2);
	assert_int_equal(ql(buf, 18, 0, 16, &ll, &extra), QL_TOO_LONG);
	/* Without an end of line: max waits, max + 1 is too long. */
	assert_int_equal(ql(buf, 16, 0, 16, &ll, &extra), QL_MORE);
	assert_int_equal(ql(buf, 17, 0, 16, &ll, &extra), QL_TOO_LONG);
	assert_int_equal(ql(buf, 17, 1, 16, &ll, &extra), QL_TOO_LONG);
	/*
	 * max bytes and the CR of the end of line, its LF not come yet:
	 * wait (fuzz_query_line found them refused as too long, and the
	 * same bytes in one read answered).
	 */
	buf[16] = '\r';
	assert_int_equal(ql(buf, 17, 0, 16, &ll, &extra), QL_MORE);
	assert_int_equal(ql(buf, 17, 1, 16, &ll, &extra), QL_TOO_LONG);
	buf[17] = 'a';
	assert_int_equal(ql(buf, 18, 0, 16, &ll, &extra), QL_TOO_LONG);
	buf[17] = '\n';
	assert_int_equal(ql(buf, 18, 0, 16, &ll, &extra), QL_LINE);
	assert_int_equal(ll, 16);
	buf[16] = 'a';
	/* Too long wins over control bytes. */
	buf[0] = '\x01';
	assert_int_equal(ql(buf, 17, 0, 16, &ll, &extra), QL_TOO_LONG);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lines),
		cmocka_unit_test(test_limit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
