/*
 * test_tldtab.c — common/tldtab.c: the shipped etc/tld-whois.conf (every
 * TLD of the root zone, each TLD of the registries file in it, servers
 * where IANA lists them) and the errors of a bad table.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "common/tldtab.h"
#include "daemons/query/registries.h"
#include "tests/unit/unit_util.h"

static struct tldtab *
shipped(void)
{
	struct tldtab	*tt;
	char		 path[600], err[512];

	unit_src_path("etc/tld-whois.conf", path, sizeof(path));
	if ((tt = tldtab_load(path, err, sizeof(err))) == NULL)
		fail_msg("%s", err);
	return tt;
}

static void
test_shipped(void **state)
{
	const struct tldtab_entry	*e;
	struct tldtab			*tt = shipped();
	const char			*s;
	size_t				 i;
	int				 bad = 0;

	(void)state;
	/* The root zone held about 1,440 TLDs in 2026. */
	assert_true(tldtab_count(tt) > 1400 && tldtab_count(tt) < 2000);
	assert_non_null(e = tldtab_find(tt, "com"));
	assert_string_equal(e->te_whois, "whois.verisign-grs.com");
	assert_true(e->te_rdap);
	/* RDAP only since port 43 was switched off. */
	assert_non_null(e = tldtab_find(tt, "info"));
	assert_null(e->te_whois);
	assert_true(e->te_rdap);
	assert_non_null(e = tldtab_find(tt, "va"));
	assert_null(e->te_whois);
	assert_false(e->te_rdap);
	assert_non_null(e = tldtab_find(tt, "mx"));
	assert_string_equal(e->te_whois, "whois.mx");
	assert_non_null(tldtab_find(tt, "xn--p1ai"));
	assert_null(tldtab_find(tt, "zz"));
	assert_null(tldtab_find(tt, "COM"));
	/* Sorted, and every TLD of the registries file is in it. */
	for (i = 1; i < tldtab_count(tt); i++)
		assert_true(strcmp(tldtab_get(tt, i - 1)->te_tld,
		    tldtab_get(tt, i)->te_tld) < 0);
	assert_null(tldtab_get(tt, tldtab_count(tt)));
	for (i = 0; (s = registries_suffix(unit_regs, i, NULL)) != NULL; i++)
		if (strchr(s, '.') == NULL && tldtab_find(tt, s) == NULL) {
			fprintf(stderr, "%s: not in the table\n", s);
			bad++;
		}
	assert_int_equal(bad, 0);
	tldtab_free(tt);
}

static void
test_errors(void **state)
{
	static const struct {
		const char	*text;
		const char	*err;
	} cases[] = {
		{ "com\n", "t.conf:1: want" },
		{ "com a b c\n", "t.conf:1: want" },
		{ "Com whois.x.test\n", "t.conf:1: bad tld \"Com\"" },
		{ "-x whois.x.test\n", "t.conf:1: bad tld" },
		{ "x.y whois.x.test\n", "t.conf:1: bad tld" },
		{ "x whois\n", "t.conf:1: x: bad server \"whois\"" },
		{ "x whois..x\n", "t.conf:1: x: bad server" },
		{ "x 127.0.0.1:43\n", "t.conf:1: x: bad server" },
		{ "x no-service web\n", "t.conf:1: x: unknown flag \"web\"" },
		{ "x a.test\n\ny b.test\nx c.test\n",
		  "t.conf:4: duplicate tld \"x\"" },
		{ "# nothing\n", "t.conf:2: no tld listed" },
		{ "x \"a.test\n", "t.conf:1:" },
	};
	static const char good[] = "# c\nx\tno-service\trdap\r\ny a.test\n";
	struct tldtab	*tt;
	char		 err[256];
	size_t		 i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		tt = tldtab_parse(cases[i].text, strlen(cases[i].text),
		    "t.conf", err, sizeof(err));
		if (tt != NULL || strncmp(err, cases[i].err,
		    strlen(cases[i].err)) != 0)
			fail_msg("case %zu: %s", i, tt ? "loaded" : err);
	}
	tt = tldtab_parse(good, sizeof(good) - 1, "t.conf", err, sizeof(err));
	if (tt == NULL)
		fail_msg("%s", err);
	assert_int_equal(tldtab_count(tt), 2);
	assert_true(tldtab_find(tt, "x")->te_rdap);
	assert_null(tldtab_find(tt, "x")->te_whois);
	assert_string_equal(tldtab_find(tt, "y")->te_whois, "a.test");
	tldtab_free(tt);
	assert_null(tldtab_load("/nonexistent/tld-whois.conf", err,
	    sizeof(err)));
	assert_non_null(strstr(err, "No such file"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shipped),
		cmocka_unit_test(test_errors),
	};

	return cmocka_run_group_tests(tests, unit_registries_setup,
	    unit_registries_teardown);
}
