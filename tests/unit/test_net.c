/*
 * test_net.c — CIDR lists and host:port parsing.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <arpa/inet.h>
#include <cmocka.h>

#include "common/net.h"
#include "common/util.h"

static struct sockaddr_storage
addr(const char *s)
{
	struct sockaddr_storage	 ss;
	struct sockaddr_in	*s4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6	*s6 = (struct sockaddr_in6 *)&ss;

	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, s, &s4->sin_addr) == 1)
		s4->sin_family = AF_INET;
	else {
		assert_int_equal(inet_pton(AF_INET6, s, &s6->sin6_addr), 1);
		s6->sin6_family = AF_INET6;
	}
	return ss;
}

static int
allowed(const char **allow, int na, const char **deny, int nd, const char *a)
{
	struct conf_list	 la = { (char **)allow, na }, ld = { (char **)deny, nd };
	struct cidr_list	 ca, cd;
	struct sockaddr_storage	 ss = addr(a);
	char			 err[128];
	int			 r;

	assert_int_equal(cidr_list_parse(&la, &ca, err, sizeof(err)), 0);
	assert_int_equal(cidr_list_parse(&ld, &cd, err, sizeof(err)), 0);
	r = cidr_allowed(&ca, &cd, (struct sockaddr *)&ss);
	cidr_list_free(&ca);
	cidr_list_free(&cd);
	return r;
}

static void
cidr_rules(void **state)
{
	const char	*lan[] = { "10.0.0.0/8", "2001:db8::/32" };
	const char	*bad[] = { "10.1.2.0/23" };
	const char	*none[] = { NULL };

	(void)state;
	assert_true(allowed(none, 0, none, 0, "192.0.2.1"));
	assert_true(allowed(lan, 2, none, 0, "10.200.0.1"));
	assert_false(allowed(lan, 2, none, 0, "11.0.0.1"));
	assert_true(allowed(lan, 2, none, 0, "2001:db8:1::5"));
	assert_false(allowed(lan, 2, none, 0, "2001:db9::1"));
	/* Deny wins over allow; /23 covers .2 and .3, not .4. */
	assert_false(allowed(lan, 2, bad, 1, "10.1.3.7"));
	assert_true(allowed(lan, 2, bad, 1, "10.1.4.7"));
	/* IPv4-mapped IPv6 clients match IPv4 entries. */
	assert_false(allowed(none, 0, bad, 1, "::ffff:10.1.2.9"));
	assert_true(allowed(lan, 2, none, 0, "::ffff:10.0.0.1"));
}

static void
cidr_parse_errors(void **state)
{
	struct cidr	c;
	char		err[128];

	(void)state;
	assert_int_equal(cidr_parse("10.0.0.0/33", &c, err, sizeof(err)), -1);
	assert_int_equal(cidr_parse("::/129", &c, err, sizeof(err)), -1);
	assert_int_equal(cidr_parse("example.com", &c, err, sizeof(err)), -1);
	assert_int_equal(cidr_parse("10.0.0.0/", &c, err, sizeof(err)), -1);
	assert_int_equal(cidr_parse("10.0.0.1", &c, err, sizeof(err)), 0);
	assert_int_equal(c.c_bits, 32);
	assert_int_equal(cidr_parse("0.0.0.0/0", &c, err, sizeof(err)), 0);
}

static void
hostport(void **state)
{
	char	host[64], err[128];
	int	port;

	(void)state;
	assert_int_equal(parse_hostport("127.0.0.1:4343", host, sizeof(host),
	    &port, err, sizeof(err)), 0);
	assert_string_equal(host, "127.0.0.1");
	assert_int_equal(port, 4343);
	assert_int_equal(parse_hostport("[::1]:43", host, sizeof(host), &port,
	    err, sizeof(err)), 0);
	assert_string_equal(host, "::1");
	assert_int_equal(parse_hostport("::1:43", host, sizeof(host), &port,
	    err, sizeof(err)), -1);
	assert_int_equal(parse_hostport("host:99999", host, sizeof(host), &port,
	    err, sizeof(err)), -1);
	assert_int_equal(parse_hostport("host", host, sizeof(host), &port, err,
	    sizeof(err)), -1);
	assert_int_equal(parse_hostport(":43", host, sizeof(host), &port, err,
	    sizeof(err)), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(cidr_rules),
		cmocka_unit_test(cidr_parse_errors),
		cmocka_unit_test(hostport),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
