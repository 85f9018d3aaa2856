/*
 * test_iana.c — the whois.iana.org reply parser: a TLD with a whois
 * server, without one, no such TLD, and replies it must refuse.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "daemons/query/query.h"

static void
test_reply(void **state)
{
	static const char ok[] =
	    "% IANA WHOIS server\r\n"
	    "% for more information on IANA, visit http://www.iana.org\r\n"
	    "% This query returned 1 object\r\n\r\n"
	    "domain:       ABC\r\n\r\n"
	    "organisation: Disney Enterprises, Inc.\r\n"
	    "whois:        whois.nic.abc\r\n\r\n"
	    "status:       ACTIVE\r\n";
	static const char nowhois[] =
	    "% This query returned 1 object\n\ndomain:       ZZZ\n\n"
	    "whois:\n\nstatus:       ACTIVE\n";
	static const char nowhois2[] =
	    "% This query returned 1 object\n\ndomain:       ZZZ\n";
	static const char notld[] =
	    "% IANA WHOIS server\n% for more information on IANA, visit "
	    "http://www.iana.org\n%\n% This query returned 0 objects.\n";
	static const char local[] =
	    "domain:       EVIL\nwhois:        127.0.0.1\n";
	char	 host[256];

	(void)state;
	assert_int_equal(iana_reply_parse(ok, sizeof(ok) - 1, host,
	    sizeof(host)), IANA_WHOIS);
	assert_string_equal(host, "whois.nic.abc");
	assert_int_equal(iana_reply_parse(nowhois, sizeof(nowhois) - 1,
	    host, sizeof(host)), IANA_NOWHOIS);
	assert_int_equal(iana_reply_parse(nowhois2, sizeof(nowhois2) - 1,
	    host, sizeof(host)), IANA_NOWHOIS);
	assert_int_equal(iana_reply_parse(notld, sizeof(notld) - 1,
	    host, sizeof(host)), IANA_NOTLD);
	assert_int_equal(iana_reply_parse(local, sizeof(local) - 1,
	    host, sizeof(host)), IANA_BAD);
	assert_int_equal(iana_reply_parse("garbage", 7, host,
	    sizeof(host)), IANA_BAD);
	assert_int_equal(iana_reply_parse("", 0, host, sizeof(host)),
	    IANA_BAD);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reply),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
