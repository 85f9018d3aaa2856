/*
 * test_name.c — domain-name validation, IDN conversion both ways, and
 * registrable names through the suffix table.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "common/name.h"
#include "daemons/query/registries.h"

struct name_case {
	const char	*in;
	const char	*out;		/* A-label, or NULL if invalid */
	const char	*reason;	/* expected reason (prefix for idn:) */
};

static const struct name_case cases[] = {
	{ "example.com", "example.com", NULL },
	{ "EXAMPLE.COM.", "example.com", NULL },
	{ "  example.com\t", "example.com", NULL },
	{ "www.example.co.uk", "www.example.co.uk", NULL },
	{ "a-b.c0.de", "a-b.c0.de", NULL },
	{ "bücher.de", "xn--bcher-kva.de", NULL },
	{ "BÜCHER.DE", "xn--bcher-kva.de", NULL },
	{ "xn--bcher-kva.de", "xn--bcher-kva.de", NULL },
	{ "XN--BCHER-KVA.DE", "xn--bcher-kva.de", NULL },
	{ "faß.de", "xn--fa-hia.de", NULL },	/* non-transitional */
	{ "例え.jp", "xn--r8jz45g.jp", NULL },
	{ "example。com", "example.com", NULL },	/* U+3002 maps to a dot */
	{ "пример.рф", "xn--e1afmkfd.xn--p1ai", NULL },
	{ "", NULL, "empty" },
	{ "   ", NULL, "empty" },
	{ ".", NULL, "empty" },
	{ "com", NULL, "no tld" },
	{ "com.", NULL, "no tld" },
	{ "a..com", NULL, "empty label" },
	{ ".a.com", NULL, "empty label" },
	{ "a.com..", NULL, "empty label" },
	{ "-a.com", NULL, "bad hyphen" },
	{ "a-.com", NULL, "bad hyphen" },
	{ "a.-com", NULL, "bad hyphen" },
	{ "ab--cd.com", NULL, "bad hyphen" },
	{ "a_b.com", NULL, "bad character" },
	{ "a b.com", NULL, "bad character" },
	{ "a\x01.com", NULL, "bad character" },
	{ "a\x7f.com", NULL, "bad character" },
	{ "a\r\n.com", NULL, "bad character" },
	{ "a/b.com", NULL, "bad character" },
	{ "\xff.com", NULL, "bad encoding" },
	{ "\xc3.com", NULL, "bad encoding" },
	{ "\xc0\xae.com", NULL, "bad encoding" },	/* overlong dot */
	{ "\xed\xa0\x80.com", NULL, "bad encoding" },	/* surrogate */
	{ "1.2.3.4", NULL, "numeric tld" },
	{ "xn--zz.com", NULL, "idn: " },		/* bad punycode */
	/* Punycode for a space, which libidn2 took (fuzz_query_line). */
	{ "xn--6a.com", NULL, "idn: " },
	{ "a.xn--6a.example.com", NULL, "idn: " },
	{ "bücher.xn--6a.de", NULL, "idn: " },
	{ "a☃.com", NULL, "idn: " },			/* disallowed */
	{ "a\xe2\x80\x8b" "b.com", "ab.com", NULL },	/* UTS#46: ZWSP ignored */
	{ "a\xcd\xb8.com", NULL, "idn: " },		/* unassigned U+0378 */
};

static void
test_normalise(void **state)
{
	char	 ace[NAME_ACE_BUF], why[NAME_REASON_BUF];
	size_t	 i;
	int	 rc, bad = 0;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		strcpy(why, "");
		rc = name_normalise(cases[i].in, ace, sizeof(ace), why,
		    sizeof(why));
		if (cases[i].out != NULL ? rc != 0 ||
		    strcmp(ace, cases[i].out) != 0 :
		    rc != -1 || strncmp(why, cases[i].reason,
		    strlen(cases[i].reason)) != 0 ||
		    (strcmp(cases[i].reason, "idn: ") != 0 &&
		    strcmp(why, cases[i].reason) != 0) || ace[0] != '\0') {
			fprintf(stderr, "case %zu \"%s\": rc %d ace \"%s\" "
			    "reason \"%s\"\n", i, cases[i].in, rc, ace, why);
			bad++;
		}
	}
	assert_int_equal(bad, 0);
	assert_int_equal(name_normalise(NULL, ace, sizeof(ace), why,
	    sizeof(why)), -1);
	assert_string_equal(why, "empty");
	/* The reason buffer may be absent. */
	assert_int_equal(name_normalise("-a.com", ace, sizeof(ace), NULL, 0),
	    -1);
}

static void
test_lengths(void **state)
{
	char	 in[2048], ace[NAME_ACE_BUF], why[NAME_REASON_BUF];
	int	 i;

	(void)state;
	/* 63 octets is the limit of a label. */
	memset(in, 'a', 63);
	strcpy(in + 63, ".com");
	assert_int_equal(name_normalise(in, ace, sizeof(ace), why,
	    sizeof(why)), 0);
	memset(in, 'a', 64);
	strcpy(in + 64, ".com");
	assert_int_equal(name_normalise(in, ace, sizeof(ace), why,
	    sizeof(why)), -1);
	assert_string_equal(why, "label too long");

	/* 253 octets is the limit of a name: 4 * 62 + 5 = 253. */
	in[0] = '\0';
	for (i = 0; i < 4; i++) {
		memset(in + strlen(in), 'a', 61);
		in[i * 62 + 61] = '\0';
		strcat(in, ".");
	}
	strcat(in, "abcde");
	assert_int_equal((int)strlen(in), 253);
	assert_int_equal(name_normalise(in, ace, sizeof(ace), why,
	    sizeof(why)), 0);
	/* With a trailing dot it is still 253. */
	strcat(in, ".");
	assert_int_equal(name_normalise(in, ace, sizeof(ace), why,
	    sizeof(why)), 0);
	in[strlen(in) - 1] = 'f';
	assert_int_equal(name_normalise(in, ace, sizeof(ace), why,
	    sizeof(why)), -1);
	assert_string_equal(why, "too long");

	/* Far too long input is refused before any IDN work. */
	memset(in, 'a', 2000);
	in[2000] = '\0';
	assert_int_equal(name_normalise(in, ace, sizeof(ace), why,
	    sizeof(why)), -1);
	assert_string_equal(why, "too long");

	/* A U-label whose A-label passes 63 octets. */
	strcpy(in, "");
	for (i = 0; i < 62; i++)
		strcat(in, "ü");
	strcat(in, "x.de");
	assert_int_equal(name_normalise(in, ace, sizeof(ace), why,
	    sizeof(why)), -1);
	assert_true(strcmp(why, "label too long") == 0 ||
	    strncmp(why, "idn: ", 5) == 0);

	/* A small output buffer is a refusal, not an overflow. */
	assert_int_equal(name_normalise("example.com", ace, 5, why,
	    sizeof(why)), -1);
	assert_int_equal(name_normalise("bücher.de", ace, 5, why,
	    sizeof(why)), -1);
}

static void
test_display(void **state)
{
	char	 out[NAME_DISPLAY_BUF];

	(void)state;
	assert_int_equal(name_to_display("xn--bcher-kva.de", out,
	    sizeof(out)), 0);
	assert_string_equal(out, "bücher.de");
	assert_int_equal(name_to_display("example.com", out, sizeof(out)), 0);
	assert_string_equal(out, "example.com");
	assert_int_equal(name_to_display("xn--e1afmkfd.xn--p1ai", out,
	    sizeof(out)), 0);
	assert_string_equal(out, "пример.рф");
	/* Undecodable: the A-label form is shown as is. */
	assert_int_equal(name_to_display("xn--zz.com", out, sizeof(out)), 0);
	assert_string_equal(out, "xn--zz.com");
	assert_int_equal(name_to_display("xn--bcher-kva.de", out, 4), -1);
	assert_string_equal(out, "");
}

static void
test_labels(void **state)
{
	(void)state;
	assert_int_equal(name_labels(""), 0);
	assert_int_equal(name_labels(NULL), 0);
	assert_int_equal(name_labels("com"), 1);
	assert_int_equal(name_labels("www.example.co.uk"), 4);
	assert_string_equal(name_suffix("www.example.co.uk", 3),
	    "example.co.uk");
	assert_string_equal(name_suffix("www.example.co.uk", 1), "uk");
	assert_string_equal(name_suffix("www.example.co.uk", 4),
	    "www.example.co.uk");
	assert_null(name_suffix("www.example.co.uk", 5));
	assert_null(name_suffix("www.example.co.uk", 0));
	assert_null(name_suffix("", 1));
}

/* The registrable name comes from the suffix table. */
static void
test_registrable(void **state)
{
	static const char conf[] =
	    "registry v\n  server whois.v.test\n  available \"^free$\"\n"
	    "  registered \"^taken$\"\n  tld com\n"
	    "registry n\n  server whois.n.test\n  available \"^free$\"\n"
	    "  registered \"^taken$\"\n  tld uk co.uk\n";
	struct registries	*rs;
	struct registry_match	 m;
	char			 ace[NAME_ACE_BUF], why[NAME_REASON_BUF];
	char			 err[256];

	(void)state;
	rs = registries_parse(conf, sizeof(conf) - 1, "t.conf", err,
	    sizeof(err));
	assert_non_null(rs);
	assert_int_equal(name_normalise("WWW.Example.COM.", ace, sizeof(ace),
	    why, sizeof(why)), 0);
	assert_int_equal(registries_lookup(rs, ace, &m), 0);
	assert_string_equal(m.rm_registrable, "example.com");
	assert_int_equal(m.rm_below, 1);
	assert_int_equal(name_normalise("shop.bücher.co.uk", ace, sizeof(ace),
	    why, sizeof(why)), 0);
	assert_int_equal(registries_lookup(rs, ace, &m), 0);
	assert_string_equal(m.rm_registrable, "xn--bcher-kva.co.uk");
	assert_string_equal(m.rm_reg->rg_name, "n");
	registries_free(rs);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_normalise),
		cmocka_unit_test(test_lengths),
		cmocka_unit_test(test_display),
		cmocka_unit_test(test_labels),
		cmocka_unit_test(test_registrable),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
