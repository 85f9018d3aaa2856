/*
 * test_suffix.c — the front's suffix list: the same registrable name as
 * whoisd-query's registries_lookup() for names under every suffix of the
 * shipped file and under none, and the same errors for the lines it reads;
 * registrable names from the Public Suffix List (common/pslist.c).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "common/pslist.h"
#include "common/suffix.h"
#include "daemons/query/registries.h"
#include "tests/unit/unit_util.h"

/* Both answers for one name; 1 if they agree. */
static int
same(const char *ace)
{
	struct registry_match	rm;
	struct suffix_match	sm;
	int			rc, sc;

	rc = registries_lookup(unit_regs, ace, &rm);
	sc = suffix_lookup(unit_sfx, ace, &sm);
	if (rc == sc && (rc == -1 ||
	    (strcmp(rm.rm_suffix, sm.sm_suffix) == 0 &&
	    strcmp(rm.rm_registrable, sm.sm_registrable) == 0 &&
	    rm.rm_below == sm.sm_below)))
		return 1;
	fprintf(stderr, "%s: registries %d %s %s %d, suffix %d %s %s %d\n",
	    ace, rc, rm.rm_suffix, rm.rm_registrable, rm.rm_below, sc,
	    sm.sm_suffix, sm.sm_registrable, sm.sm_below);
	return 0;
}

static void
test_every_suffix(void **state)
{
	static const char *const pre[] = { "", "example.", "www.example.",
	    "a.b.c.example.", "xn--bcher-kva.", "co.", "uk." };
	const char	*s;
	char		 name[NAME_ACE_BUF * 2];
	size_t		 i, j;
	int		 bad = 0;

	(void)state;
	for (i = 0; (s = registries_suffix(unit_regs, i, NULL)) != NULL; i++)
		for (j = 0; j < sizeof(pre) / sizeof(pre[0]); j++) {
			snprintf(name, sizeof(name), "%s%s", pre[j], s);
			bad += !same(name);
		}
	assert_true(i >= 60);
	assert_int_equal(bad, 0);
}

static void
test_names(void **state)
{
	static const char *const names[] = {
	    "example.com", "www.example.com", "com", "co.uk", "uk",
	    "example.co.uk", "www.example.co.uk", "example.uk",
	    "example.zz", "www.example.zz", "zz", "co.zz", "a.b.c.zz",
	    "example.com.zz", "com.zz", "example.de", "xn--mnchen-3ya.de",
	    "example.xn--p1ai", "", ".", "a.", ".com", "a..com",
	};
	char	 longname[NAME_ACE_BUF + 8];
	size_t	 i;
	int	 bad = 0;

	(void)state;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		bad += !same(names[i]);
	/* 253 octets is the longest name; 254 is refused by both. */
	for (i = 0; i < 254; i += 2)
		memcpy(longname + i, "a.", 2);
	memcpy(longname + 250, "com", 4);
	assert_int_equal(strlen(longname), 253);
	bad += !same(longname);
	memcpy(longname + 250, "comm", 5);
	bad += !same(longname);
	assert_int_equal(bad, 0);
}

static void
test_lookup(void **state)
{
	struct suffix_match	m;

	(void)state;
	assert_int_equal(suffix_lookup(unit_sfx, "www.example.co.uk", &m), 0);
	assert_string_equal(m.sm_suffix, "co.uk");
	assert_string_equal(m.sm_registrable, "example.co.uk");
	assert_int_equal(m.sm_below, 1);
	assert_int_equal(suffix_lookup(unit_sfx, "example.com", &m), 0);
	assert_int_equal(m.sm_below, 0);
	assert_int_equal(suffix_lookup(unit_sfx, "www.example.zz", &m), 1);
	assert_string_equal(m.sm_suffix, "zz");
	assert_string_equal(m.sm_registrable, "example.zz");
	assert_int_equal(suffix_lookup(unit_sfx, "co.uk", &m), -1);
	assert_int_equal(suffix_lookup(unit_sfx, "zz", &m), -1);
	assert_int_equal(suffix_lookup(unit_sfx, NULL, &m), -1);
}

/* The file's forms: comments, CRLF, quotes, a leading dot, case. */
static void
test_forms(void **state)
{
	static const char text[] =
	    "# comment\r\n"
	    "registry x   # trailing comment\r\n"
	    "\tserver WHOIS.X.TEST\r\n"
	    "\tavailable \"^say \\\"free # not a comment\\\"$\"\r\n"
	    "\tregistered \"^a$\"\r\n"
	    "\ttld X \"y.X\" .Z.x";
	struct registries	*rs;
	struct suffixes		*sx;
	struct suffix_match	 m;
	char			 err[256];

	(void)state;
	/* The file's own suffixes, as read without a list. */
	pslist_free();
	if ((sx = suffix_parse(text, sizeof(text) - 1, "t.conf", err,
	    sizeof(err))) == NULL)
		fail_msg("%s", err);
	if ((rs = registries_parse(text, sizeof(text) - 1, "t.conf", err,
	    sizeof(err))) == NULL)
		fail_msg("%s", err);
	assert_int_equal(suffix_lookup(sx, "www.a.y.x", &m), 0);
	assert_string_equal(m.sm_suffix, "y.x");
	assert_string_equal(m.sm_registrable, "a.y.x");
	assert_int_equal(suffix_lookup(sx, "a.z.x", &m), 0);
	assert_string_equal(m.sm_registrable, "a.z.x");
	assert_int_equal(suffix_lookup(sx, "y.x", &m), -1);
	registries_free(rs);
	suffix_free(sx);
	if (pslist_load(PSLIST_DEFAULT, err, sizeof(err)) == -1)
		fail_msg("%s", err);
}

/* The Public Suffix List decides what is registrable; the file routes. */
static void
test_psl(void **state)
{
	static const struct {
		const char	*name;
		int		 rc;
		const char	*suffix, *registrable;
		int		 below;
	} cases[] = {
		/* No longer answered for "com.mx" and "com.tr". */
		{ "example.com.mx", 1, "mx", "example.com.mx", 0 },
		{ "www.shop.com.tr", 1, "tr", "shop.com.tr", 1 },
		{ "shop.com.tr", 1, "tr", "shop.com.tr", 0 },
		{ "www.example.co.uk", 0, "co.uk", "example.co.uk", 1 },
		{ "example.uk", 0, "uk", "example.uk", 0 },
		{ "a.b.example.com", 0, "com", "example.com", 1 },
		/* A wildcard rule and its exception. */
		{ "www.a.example.kawasaki.jp", 0, "jp", "a.example.kawasaki.jp",
		  1 },
		{ "www.city.kawasaki.jp", 0, "jp", "city.kawasaki.jp", 1 },
		{ "example.xn--p1ai", 0, "xn--p1ai", "example.xn--p1ai", 0 },
		/* Private section: a blog host is not a registry. */
		{ "me.blogspot.com", 0, "com", "blogspot.com", 1 },
		{ "blogspot.com", 0, "com", "blogspot.com", 0 },
		{ "x.github.io", 0, "io", "github.io", 1 },
		/* A TLD the list lacks: its default rule. */
		{ "www.example.zz", 1, "zz", "example.zz", 1 },
		/* Public suffixes themselves. */
		{ "co.uk", -1, NULL, NULL, 0 },
		{ "com.mx", -1, NULL, NULL, 0 },
		{ "com.tr", -1, NULL, NULL, 0 },
		{ "com", -1, NULL, NULL, 0 },
		{ "zz", -1, NULL, NULL, 0 },
		{ "example.kawasaki.jp", -1, NULL, NULL, 0 },
		/* libpsl: a wildcard's parent is a public suffix too. */
		{ "kawasaki.jp", -1, NULL, NULL, 0 },
	};
	struct suffix_match	m;
	size_t			i;

	(void)state;
	assert_true(pslist_loaded());
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (suffix_lookup(unit_sfx, cases[i].name, &m) != cases[i].rc)
			fail_msg("%s: rc %d, want %d", cases[i].name,
			    suffix_lookup(unit_sfx, cases[i].name, &m),
			    cases[i].rc);
		if (cases[i].rc == -1)
			continue;
		if (strcmp(m.sm_suffix, cases[i].suffix) != 0 ||
		    strcmp(m.sm_registrable, cases[i].registrable) != 0 ||
		    m.sm_below != cases[i].below)
			fail_msg("%s: %s %s %d", cases[i].name, m.sm_suffix,
			    m.sm_registrable, m.sm_below);
		assert_true(same(cases[i].name));
	}
}

/*
 * A suffix the file routes is a public suffix of the list's ICANN part,
 * or every name right under it is one (sch.uk: *.sch.uk).
 */
static void
test_psl_file(void **state)
{
	const char	*s, *reg;
	char		 name[NAME_ACE_BUF * 2 + 16];
	size_t		 i;
	int		 bad = 0;

	(void)state;
	for (i = 0; (s = suffix_get(unit_sfx, i, NULL)) != NULL; i++) {
		snprintf(name, sizeof(name), "whoisd-test.%s", s);
		reg = pslist_registrable(name);
		if (pslist_registrable(s) != NULL && reg != NULL) {
			fprintf(stderr, "%s: not a public suffix\n", s);
			bad++;
		}
	}
	assert_int_equal(bad, 0);
	assert_true(pslist_rules() > 5000);
}

/* A list that cannot be read or is not one keeps the one loaded. */
static void
test_psl_load(void **state)
{
	char	 err[256], path[] = "/tmp/whoisd-psl-XXXXXX";
	FILE	*f;
	int	 fd;

	(void)state;
	assert_int_equal(pslist_load("/nonexistent/psl.dat", err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "No such file"));
	assert_true(pslist_loaded());
	if ((fd = mkstemp(path)) == -1 || (f = fdopen(fd, "w")) == NULL)
		fail_msg("mkstemp");
	fputs("com\nnet\n", f);
	fclose(f);
	assert_int_equal(pslist_load(path, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "not a public suffix list"));
	/* The ICANN section alone is read: the private rule is ignored. */
	if ((f = fopen(path, "w")) == NULL)
		fail_msg("fopen");
	fputs("// ===BEGIN ICANN DOMAINS===\ncom\nco.zz\n"
	    "// ===END ICANN DOMAINS===\n"
	    "// ===BEGIN PRIVATE DOMAINS===\nblog.com\n"
	    "// ===END PRIVATE DOMAINS===\n", f);
	fclose(f);
	assert_int_equal(pslist_load(path, err, sizeof(err)), 0);
	assert_int_equal(pslist_rules(), 2);
	assert_string_equal(pslist_registrable("a.blog.com"), "blog.com");
	assert_string_equal(pslist_registrable("a.b.co.zz"), "b.co.zz");
	assert_null(pslist_registrable("co.zz"));
	unlink(path);
	if (pslist_load(PSLIST_DEFAULT, err, sizeof(err)) == -1)
		fail_msg("%s", err);
	assert_true(pslist_rules() > 5000);
}

#define MINI	"registry x\n  server whois.x.test\n" \
		"  available \"^free$\"\n  registered \"^taken$\"\n  tld x\n"

/*
 * Errors of the lines the suffix list reads: whoisd-query refuses the
 * same text in the same words.
 */
static const struct {
	const char	*text;
	const char	*err;
} bad_cases[] = {
	{ MINI "registry y\n  server whois.y.test\n  registered \"^t$\"\n"
	    "  tld y x\n",
	    "t.conf:9: duplicate tld \"x\" (first at line 5)" },
	{ MINI "registry y\n  server whois.y.test\n  registered \"^t$\"\n"
	    "  tld .X\n",
	    "t.conf:9: duplicate tld \"x\" (first at line 5)" },
	{ "registry x\n  tld a..b\n", "t.conf:2: tld: bad suffix \"a..b\"" },
	{ "registry x\n  tld a_b\n", "t.conf:2: tld: bad suffix \"a_b\"" },
	{ "registry x\n  tld x.\n", "t.conf:2: tld: bad suffix \"x.\"" },
	{ "registry x\n  tld .\n", "t.conf:2: tld: bad suffix \"\"" },
	{ "registry x\n  tld\n", "t.conf:2: tld: missing value" },
	{ "tld x\n", "t.conf:1: tld: outside a registry block" },
	{ "registry default\n  registered \"^a$\"\n  tld x\n",
	    "t.conf:1: registry \"default\": has no tld" },
	{ "registry x\n  available \"^a$\n", "t.conf:2: unterminated quote" },
	{ "registry x\n  available \"^a$\"x\n",
	    "t.conf:2: text right after a closing quote" },
	{ "registry x\n  tld a\"b\n", "t.conf:2: quote inside a value" },
	{ "registry x\n  server whois.x.test\x01\n",
	    "t.conf:2: control character" },
	{ "", "t.conf:1: no registry serves any tld" },
	{ "# only a comment\n", "t.conf:2: no registry serves any tld" },
};

/* A block without a tld: whoisd-query names the block, the front the end. */
#define NO_TLD	"registry x\n  server whois.x.test\n  registered \"^a$\"\n"

static void
test_errors(void **state)
{
	struct registries	*rs;
	struct suffixes		*sx;
	char			 err[512], rerr[512], line[5000];
	size_t			 i;
	int			 bad = 0;

	(void)state;
	for (i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		strcpy(err, "untouched");
		strcpy(rerr, "untouched");
		sx = suffix_parse(bad_cases[i].text, strlen(bad_cases[i].text),
		    "t.conf", err, sizeof(err));
		rs = registries_parse(bad_cases[i].text,
		    strlen(bad_cases[i].text), "t.conf", rerr, sizeof(rerr));
		if (sx != NULL || rs != NULL ||
		    strcmp(err, bad_cases[i].err) != 0 ||
		    strcmp(rerr, bad_cases[i].err) != 0) {
			fprintf(stderr, "case %zu: got \"%s\"%s, whoisd-query "
			    "\"%s\"%s, want \"%s\"\n", i, err,
			    sx != NULL ? " (loaded!)" : "", rerr,
			    rs != NULL ? " (loaded!)" : "", bad_cases[i].err);
			bad++;
		}
		suffix_free(sx);
		registries_free(rs);
	}
	assert_int_equal(bad, 0);
	assert_null(suffix_parse(NO_TLD, strlen(NO_TLD), "t.conf", err,
	    sizeof(err)));
	assert_string_equal(err, "t.conf:4: no registry serves any tld");
	assert_null(registries_parse(NO_TLD, strlen(NO_TLD), "t.conf", rerr,
	    sizeof(rerr)));
	assert_string_equal(rerr, "t.conf:1: registry \"x\": missing tld");

	/* A NUL byte and a line over 4095 bytes, anywhere. */
	assert_null(suffix_parse("registry x\n\0\n", 13, "t.conf", err,
	    sizeof(err)));
	assert_string_equal(err, "t.conf:2: NUL byte");
	memset(line, ' ', sizeof(line));
	memcpy(line, "registry x\n#", 12);
	assert_null(suffix_parse(line, sizeof(line), "t.conf", err,
	    sizeof(err)));
	assert_string_equal(err, "t.conf:2: line too long");

	/* A file that cannot be read names the file, like whoisd-query. */
	assert_null(suffix_load("/nonexistent/registries.conf", err,
	    sizeof(err)));
	assert_null(registries_load("/nonexistent/registries.conf", rerr,
	    sizeof(rerr)));
	assert_string_equal(err, rerr);
	assert_string_equal(err, "/nonexistent/registries.conf: No such file "
	    "or directory");
	assert_null(suffix_load("/", err, sizeof(err)));
	assert_null(registries_load("/", rerr, sizeof(rerr)));
	assert_string_equal(err, rerr);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_suffix),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_lookup),
		cmocka_unit_test(test_forms),
		cmocka_unit_test(test_psl),
		cmocka_unit_test(test_psl_file),
		cmocka_unit_test(test_psl_load),
		cmocka_unit_test(test_errors),
	};

	return cmocka_run_group_tests(tests, unit_registries_setup,
	    unit_registries_teardown);
}
