/*
 * test_util.c — the hand-made time and number formatting against libc.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "common/util.h"

static void
libc_iso8601(double t, char *buf, size_t len)
{
	time_t		tt = (time_t)t;
	struct tm	tm;

	gmtime_r(&tt, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void
test_iso8601_matches_gmtime(void **state)
{
	char		a[32], b[32];
	uint64_t	x = 88172645463325252ULL;	/* xorshift */
	double		fixed[] = { 0, 59, 60, 3599, 3600, 86399, 86400,
			    951782400, 951868800,	/* 2000-02-29, 03-01 */
			    1709164800,			/* 2024-02-29 */
			    4107542400.0,		/* 2100-03-01 */
			    1795741200.5, 253402300799.0 };
	size_t		i;

	(void)state;
	for (i = 0; i < nitems(fixed); i++) {
		fmt_iso8601(fixed[i], a, sizeof(a));
		libc_iso8601(fixed[i], b, sizeof(b));
		assert_string_equal(a, b);
	}
	for (i = 0; i < 200000; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		double t = (double)(x % 253402300800ULL);

		fmt_iso8601(t, a, sizeof(a));
		libc_iso8601(t, b, sizeof(b));
		assert_string_equal(a, b);
	}
	/* Outside 1970-9999: the libc way, same text. */
	fmt_iso8601(-1, a, sizeof(a));
	libc_iso8601(-1, b, sizeof(b));
	assert_string_equal(a, b);
}

static void
test_u64(void **state)
{
	char		a[24], b[24];
	uint64_t	v[] = { 0, 1, 9, 10, 99, 100, 12345, 4294967296ULL,
			    18446744073709551615ULL };
	size_t		i, n;

	(void)state;
	for (i = 0; i < nitems(v); i++) {
		n = fmt_u64(v[i], a);
		snprintf(b, sizeof(b), "%llu", (unsigned long long)v[i]);
		assert_string_equal(a, b);
		assert_int_equal(n, strlen(b));
	}
}

/* Timer timevals: the fraction is cut, not rounded; negatives are 0. */
static void
test_timeval(void **state)
{
	struct timeval	tv;

	(void)state;
	tv_from_seconds(&tv, 1.5);
	assert_int_equal(tv.tv_sec, 1);
	assert_int_equal(tv.tv_usec, 500000);
	tv_from_seconds(&tv, 0.0000019);
	assert_int_equal(tv.tv_sec, 0);
	assert_int_equal(tv.tv_usec, 1);
	tv_from_seconds(&tv, -2.5);
	assert_int_equal(tv.tv_sec, 0);
	assert_int_equal(tv.tv_usec, 0);
	tv_from_ms(&tv, 2500);
	assert_int_equal(tv.tv_sec, 2);
	assert_int_equal(tv.tv_usec, 500000);
	tv_from_ms(&tv, -1);
	assert_int_equal(tv.tv_sec, 0);
	assert_int_equal(tv.tv_usec, 0);
}

/* str_copy: snprintf("%s")'s result, cut and terminated, for any size. */
static void
test_str_copy(void **state)
{
	const char	*src[] = { "", "a", "abc", "abcdefgh" };
	char		 a[16], b[16];
	size_t		 i, size;

	(void)state;
	for (i = 0; i < nitems(src); i++)
		for (size = 1; size <= 10; size++) {
			memset(a, 'x', sizeof(a));
			memset(b, 'x', sizeof(b));
			assert_int_equal(str_copy(a, src[i], size),
			    strlen(src[i]));
			snprintf(b, size, "%s", src[i]);
			assert_memory_equal(a, b, sizeof(a));
		}
	/* Size 0 writes nothing. */
	a[0] = 'x';
	assert_int_equal(str_copy(a, "abc", 0), 3);
	assert_int_equal(a[0], 'x');
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_iso8601_matches_gmtime),
		cmocka_unit_test(test_u64),
		cmocka_unit_test(test_timeval),
		cmocka_unit_test(test_str_copy),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
