/*
 * test_registries.c — the registries file: parsing, every validation
 * error with its line, longest-suffix match, registrable names, query
 * lines, rates, retry-after and referrals.
 */
#include <dirent.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "daemons/query/registries.h"
#include "tests/unit/unit_util.h"

static void
test_shipped_file(void **state)
{
	size_t	 n;

	(void)state;
	for (n = 0; registries_suffix(unit_regs, n, NULL) != NULL; n++)
		;
	assert_true(n >= 60);
	assert_true(registries_count(unit_regs) >= 40);
	assert_non_null(registries_default(unit_regs));
	assert_null(registries_default(unit_regs)->rg_server);
	assert_non_null(registries_find(unit_regs, "verisign"));
	assert_null(registries_find(unit_regs, "nosuch"));
	assert_null(registries_get(unit_regs, registries_count(unit_regs)));
}

#define MINI	"registry x\n  server whois.x.test\n" \
		"  available \"^free$\"\n  registered \"^taken$\"\n  tld x\n"

struct bad_case {
	const char	*text;
	const char	*err;	/* exact, or a prefix ending in '*' */
};

static const struct bad_case bad_cases[] = {
	{ "registry x\n  server whois.x.test\n  availble \"^a$\"\n",
	    "t.conf:3: unknown key \"availble\"" },
	{ "registry x\n  server whois.x.test\n  available \"^(a$\"\n",
	    "t.conf:3: available: bad regex \"^(a$\": *" },
	{ "registry x\n  server whois.x.test\n  throttle \"a[\"\n",
	    "t.conf:3: throttle: bad regex *" },
	/* Duplicate tlds: in test_suffix.c, which checks both readers. */
	{ "registry x\n  available \"^free$\"\n  registered \"^t$\"\n"
	    "  tld x\n",
	    "t.conf:1: registry \"x\": missing server" },
	{ "\n\nregistry x\n  server whois.x.test\n  available \"^free$\"\n"
	    "  registered \"^t$\"\nregistry y\n",
	    "t.conf:3: registry \"x\": missing tld" },
	{ "registry x\n  server whois.x.test\n  available \"^free$\"\n"
	    "  tld x\n",
	    "t.conf:1: registry \"x\": missing registered pattern" },
	{ MINI "registry x\n", "t.conf:6: duplicate registry \"x\"" },
	{ "server whois.x.test\n", "t.conf:1: server: outside a registry block" },
	{ "bogus 1\n", "t.conf:1: unknown key \"bogus\"" },
	{ "registry x\n  server whois.x.test\n  available \"AVAILABLE\"\n",
	    "t.conf:3: available: pattern \"AVAILABLE\" matches the trap line "
	    "\"Status: NOT AVAILABLE\"" },
	{ "registry x\n  server whois.x.test\n  available \"available\" icase\n",
	    "t.conf:3: available: pattern \"available\" matches the trap line *" },
	{ "registry x\n  server whois.x.test\n  available \"may be available\"\n",
	    "t.conf:3: available: pattern \"may be available\" matches the trap "
	    "line \"The full WHOIS output may be available to individuals\"" },
	{ "registry x\n  server whois.x.test\n  available \"^Status: .*AVAIL\"\n",
	    "t.conf:3: available: pattern \"^Status: .*AVAIL\" matches the trap "
	    "line \"Status: NOT AVAILABLE\"" },
	{ "registry x\n  server whois.x.test\n  registered \"x*\"\n",
	    "t.conf:3: registered: pattern \"x*\" matches an empty line" },
	{ "registry x\n  server whois.x.test\n  registered \"\"\n",
	    "t.conf:3: registered: empty pattern" },
	{ "registry x\n  server whois.x.test\n  registered \"^a\\tb$\"\n",
	    "t.conf:3: registered: \"\\t\" is not POSIX regex; *" },
	{ "registry x\n  server whois.x.test\n  registered \"^a$\" nocase\n",
	    "t.conf:3: registered: unknown flag \"nocase\"" },
	{ "registry x\n  query \"domain %s %s\"\n",
	    "t.conf:2: query: \"domain %s %s\" needs exactly one %s *" },
	{ "registry x\n  query \"domain\"\n",
	    "t.conf:2: query: \"domain\" needs exactly one %s *" },
	{ "registry x\n  query \"%d\"\n", "t.conf:2: query: *" },
	{ "registry x\n  rate 5\n", "t.conf:2: rate: expected N/s, *" },
	{ "registry x\n  rate 0/s\n", "t.conf:2: rate: bad count in \"0/s\"" },
	{ "registry x\n  rate 5/week\n",
	    "t.conf:2: rate: unknown unit in \"5/week\"" },
	{ "registry x\n  quota 5\n", "t.conf:2: quota*" },
	{ "registry x\n  quota 0 day\n",
	    "t.conf:2: quota: expected a count from 1 to 1024, got \"0\"" },
	{ "registry x\n  quota 1025 day\n",
	    "t.conf:2: quota: expected a count from 1 to 1024, got \"1025\"" },
	{ "registry x\n  quota 5 week\n",
	    "t.conf:2: quota: expected min, hour or day, got \"week\"" },
	{ "registry x\n  port 0\n", "t.conf:2: port: bad port \"0\"" },
	{ "registry x\n  port 43x\n", "t.conf:2: port: bad port \"43x\"" },
	{ "registry x\n  charset koi8-r\n",
	    "t.conf:2: charset: \"koi8-r\" is not utf-8 or iso-8859-1" },
	{ "registry x\n  server bad_host\n",
	    "t.conf:2: server: bad host name \"bad_host\"" },
	{ "registry x\n  server a.test\n  server b.test\n",
	    "t.conf:3: server: given twice" },
	{ "registry x\n  server\n", "t.conf:2: server: missing value" },
	{ "registry x\n  server a.test b.test\n",
	    "t.conf:2: server: too many values" },
	{ "registry x\n  available \"^a$\n", "t.conf:2: unterminated quote" },
	{ "registry x\n  available \"^a$\"x\n",
	    "t.conf:2: text right after a closing quote" },
	/* Patterns whose compilation would cost too much, refused first. */
	{ "registry x\n  registered \"^((a{1,100}){1,100}){1,100}$\"\n",
	    "t.conf:2: registered: pattern too complex (size estimate *" },
	{ "registry x\n  available \"^a++++++++++++++++++++++$\"\n",
	    "t.conf:2: available: pattern too complex (size estimate *" },
	{ "registry x\n  registered \"^a{1,256}$\"\n",
	    "t.conf:2: registered: pattern too complex (repetition bound "
	    "over 255)" },
	{ "registry x\n  registered \"^(a?){,999}$\"\n",
	    "t.conf:2: registered: pattern too complex (repetition bound "
	    "over 255)" },
	{ "registry x\n  registered \"^((a?){,200}){,200}$\"\n",
	    "t.conf:2: registered: pattern too complex (size estimate *" },
	{ "registry x\n  error \"^(((((((((((((((((((((((((((((((((a"
	    "))))))))))))))))))))))))))))))))$\"\n",
	    "t.conf:2: error: pattern too complex (groups nested over 32 "
	    "deep)" },
	{ "registry x\n  referral \"^((a|b)+(c|d)+(e|f)+){1,200}(.*)$\" "
	    "text-only\n",
	    "t.conf:2: referral: pattern too complex (size estimate *" },
	/* regcomp's time is exponential in "+" on what can match nothing. */
	{ "registry x\n  available \"^ *+++++$\"\n",
	    "t.conf:2: available: pattern too complex (\"+\" or \"{m,}\" on "
	    "what can match nothing; write \"*\")" },
	{ "registry x\n  registered \"^(a|b*)+c$\"\n",
	    "t.conf:2: registered: pattern too complex (\"+\" or \"{m,}\" "
	    "on what can match nothing; write \"*\")" },
	{ "registry x\n  registered \"^((^)){2,}c$\"\n",
	    "t.conf:2: registered: pattern too complex (\"+\" or \"{m,}\" "
	    "on what can match nothing; write \"*\")" },
	{ "registry x\n  registered \"^(a?b?)+c$\"\n",
	    "t.conf:2: registered: pattern too complex (\"+\" or \"{m,}\" "
	    "on what can match nothing; write \"*\")" },
	{ "registry x\n  referral_port 0\n",
	    "t.conf:2: referral_port: bad port \"0\"" },
	{ "registry x\n  referral_port 43 4321x\n",
	    "t.conf:2: referral_port: bad port \"4321x\"" },
	{ "registry x\n  referral_port 4321\n  referral_port 4322\n",
	    "t.conf:3: referral_port: given twice" },
	{ "registry x\n  server whois.x.test\n  registered \"^t$\"\n"
	    "  referral_port 4321\n  tld x\n",
	    "t.conf:1: registry \"x\": referral_port without a referral rule" },
	{ "registry x\n  available_despite free\n",
	    "t.conf:2: available_despite: \"free\" is not reserved or "
	    "registered" },
	{ "registry x\n  available_despite registered reserved x\n",
	    "t.conf:2: available_despite: too many values" },
	{ "registry x\n  referral \"^R: (.*)$\" follow\n",
	    "t.conf:2: referral: unknown rule \"follow\" *" },
	{ "registry x\n  referral \"^R: .*$\" text-only\n",
	    "t.conf:2: referral: pattern needs a capture group" },
	{ "registry x\n  retry_after \"wait [0-9]+\"\n",
	    "t.conf:2: retry_after: pattern needs a capture group" },
	{ "registry x\n  no-whois\n  server whois.x.test\n  tld x\n",
	    "t.conf:1: registry \"x\": no-whois takes no server, patterns or "
	    "referral" },
	{ "registry default\n  server whois.x.test\n"
	    "  registered \"^a$\"\n",
	    "t.conf:1: registry \"default\": takes its server from IANA; *" },
	{ "registry default\n  registered \"^a$\"\n  tld x\n",
	    "t.conf:1: registry \"default\": has no tld" },
	{ MINI "iana whois.iana.org\n",
	    "t.conf:6: iana: must come before the first registry block" },
	{ "iana 127.0.0.1\n" MINI, "t.conf:1: iana: bad server \"127.0.0.1\"" },
	{ "registry x\n  tld a..b\n", "t.conf:2: tld: bad suffix \"a..b\"" },
	{ "registry x y\n", "t.conf:1: registry: too many values" },
	{ "registry b@d\n", "t.conf:1: registry: bad name \"b@d\"" },
	{ "registry x\n  server whois.x.test\x01\n",
	    "t.conf:2: control character" },
	{ "registry x\n  dns maybe\n",
	    "t.conf:2: dns: expected yes or no, got \"maybe\"" },
	{ "registry x\n  dns\n", "t.conf:2: dns: missing value" },
	{ "dns no\n" MINI, "t.conf:1: dns: outside a registry block" },
	{ "", "t.conf:1: no registry serves any tld" },
	{ "# only a comment\n", "t.conf:2: no registry serves any tld" },
};

static int
err_matches(const char *got, const char *want)
{
	size_t	 n = strlen(want);

	if (n > 0 && want[n - 1] == '*')
		return strncmp(got, want, n - 1) == 0;
	return strcmp(got, want) == 0;
}

static void
test_errors(void **state)
{
	struct registries	*rs;
	char			 err[512];
	size_t			 i;
	int			 bad = 0;

	(void)state;
	for (i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		strcpy(err, "untouched");
		rs = registries_parse(bad_cases[i].text,
		    strlen(bad_cases[i].text), "t.conf", err, sizeof(err));
		if (rs != NULL || !err_matches(err, bad_cases[i].err)) {
			fprintf(stderr, "case %zu: got \"%s\"%s, want \"%s\"\n",
			    i, err, rs != NULL ? " (loaded!)" : "",
			    bad_cases[i].err);
			bad++;
		}
		registries_free(rs);
	}
	assert_int_equal(bad, 0);
	/* A missing file names the file. */
	assert_null(registries_load("/nonexistent/registries.conf", err,
	    sizeof(err)));
	assert_string_equal(err, "/nonexistent/registries.conf: No such file "
	    "or directory");
}

#define S(x)	x, sizeof(x) - 1

static double
ms_since(const struct timespec *t0)
{
	struct timespec	 t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (t1.tv_sec - t0->tv_sec) * 1e3 +
	    (t1.tv_nsec - t0->tv_nsec) / 1e6;
}

/* Refused quickly, with the refusal naming file, line and key. */
static void
expect_too_complex(const char *text, size_t len, const char *what)
{
	struct registries	*rs;
	struct timespec		 t0;
	char			 err[512];
	double			 ms;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	rs = registries_parse(text, len, "t.conf", err, sizeof(err));
	ms = ms_since(&t0);
	if (rs != NULL || strncmp(err, "t.conf:", 7) != 0 ||
	    strstr(err, ": pattern too complex (") == NULL || ms >= 100)
		fail_msg("%s: %s after %.1f ms: \"%s\"", what,
		    rs != NULL ? "loaded" : "refused", ms, err);
	registries_free(rs);
}

/*
 * glibc's regcomp can take gigabytes for a short pattern: the loader's
 * estimate refuses those before compiling them, the fuzzer's finds too.
 */
static void
test_pattern_budget(void **state)
{
	struct registries	*rs;
	struct dirent		*de;
	DIR			*dir;
	FILE			*fp;
	char			 path[600], err[512], *text, *big;
	size_t			 len, n;
	int			 files = 0, i;

	(void)state;
	snprintf(path, sizeof(path), "%s/tests/fuzz/crashes/registries",
	    unit_srcdir());
	dir = opendir(path);
	assert_non_null(dir);
	while ((de = readdir(dir)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/tests/fuzz/crashes/"
		    "registries/%s", unit_srcdir(), de->d_name);
		assert_non_null(fp = fopen(path, "rb"));
		text = malloc(65536);
		assert_non_null(text);
		len = fread(text, 1, 65536, fp);
		fclose(fp);
		expect_too_complex(text, len, de->d_name);
		free(text);
		files++;
	}
	closedir(dir);
	assert_true(files >= 3);

	/* Five "+" on "a*" after "^": 6.7 s in regcomp, without ASan. */
	expect_too_complex(S("registry x\n  registered \"^a*+++++$\"\n"),
	    "plus on empty");
	/* Nested bounds: 1.77 GB in regcomp. */
	expect_too_complex(S("registry x\n  registered "
	    "\"^((a{1,100}){1,100}){1,100}$\"\n"), "nested bounds");
	/* Over 1 KiB. */
	big = malloc(2048);
	assert_non_null(big);
	n = (size_t)snprintf(big, 2048, "registry x\n  registered \"^");
	memset(big + n, 'a', 1100);
	n += 1100;
	n += (size_t)snprintf(big + n, 2048 - n, "$\"\n");
	expect_too_complex(big, n, "long pattern");
	assert_null(registries_parse(big, n, "t.conf", err, sizeof(err)));
	assert_string_equal(err, "t.conf:2: registered: pattern too complex "
	    "(1102 bytes, over 1024)");
	free(big);
	/* Each pattern within bounds, together too much (memory is ~n^2). */
	big = malloc(8192);
	assert_non_null(big);
	n = (size_t)snprintf(big, 8192, "registry x\n  server whois.x.test\n");
	for (i = 0; i < 16; i++) {
		n += (size_t)snprintf(big + n, 8192 - n,
		    "  throttle \"^a+++++++++b%d$\"\n", i);
		n += (size_t)snprintf(big + n, 8192 - n,
		    "  registered \"^a+++++++++c%d$\"\n", i);
	}
	n += (size_t)snprintf(big + n, 8192 - n, "  tld x\n");
	expect_too_complex(big, n, "file total");
	assert_null(registries_parse(big, n, "t.conf", err, sizeof(err)));
	assert_true(strstr(err, "(the file's patterns together are over "
	    "budget)") != NULL);
	free(big);

	/* What real files use stays well inside. */
	rs = registries_parse(S("registry x\n  server whois.x.test\n"
	    "  registered \"^[a-z]{1,255}$\"\n"
	    "  registered \"^(Status|State): +[A-Za-z ]+( \\(.*\\))?$\"\n"
	    "  registered \"^x[]{}(]+[{]{2,3}$\"\n"
	    "  registered \"^[[:alpha:]]{1,3}[[.-.]]?(a|b?){40}$\"\n"
	    "  tld x\n"), "t.conf", err, sizeof(err));
	if (rs == NULL)
		fail_msg("%s", err);
	registries_free(rs);
}

static void
test_parse_forms(void **state)
{
	static const char text[] =
	    "# comment\r\n"
	    "iana whois.iana.test:4343\r\n"
	    "registry x   # trailing comment\r\n"
	    "\tserver WHOIS.X.TEST\r\n"
	    "\tport 4300\r\n"
	    "\tquery \"%%q %s\"\r\n"
	    "\tcharset ISO-8859-1\r\n"
	    "\tavailable \"^say \\\"free\\\"$\"\r\n"
	    "\tavailable \"^FREE$\" icase\r\n"
	    "\tregistered \"^a\\\\b$\"\r\n"
	    "\tretry_after \"in ([0-9]+) s\"\r\n"
	    "\trate 15/min\r\n"
	    "\ttld X y.X";
	struct registries	*rs;
	const struct registry	*rg;
	struct registry_match	 m;
	char			 err[256], q[REGISTRY_QUERY_MAX];
	int			 port;

	(void)state;
	rs = registries_parse(text, sizeof(text) - 1, "t.conf", err,
	    sizeof(err));
	if (rs == NULL)
		fail_msg("%s", err);
	rg = registries_find(rs, "x");
	assert_string_equal(rg->rg_server, "whois.x.test");
	assert_int_equal(rg->rg_port, 4300);
	assert_int_equal(rg->rg_charset, RGC_LATIN1);
	assert_string_equal(rg->rg_pats[RGK_AVAILABLE][0].rp_src,
	    "^say \"free\"$");
	assert_int_equal(rg->rg_pats[RGK_AVAILABLE][0].rp_line, 8);
	assert_string_equal(rg->rg_pats[RGK_REGISTERED][0].rp_src, "^a\\\\b$");
	assert_int_equal(regexec(&rg->rg_pats[RGK_AVAILABLE][1].rp_re,
	    "free", 0, NULL, 0), 0);
	assert_int_equal(regexec(&rg->rg_pats[RGK_REGISTERED][0].rp_re,
	    "a\\b", 0, NULL, 0), 0);
	assert_int_equal(registry_query(rg, "a.y.x", q, sizeof(q)), 10);
	assert_string_equal(q, "%q a.y.x\r\n");
	assert_int_equal(registry_query(rg, "a.y.x", q, 10), -1);
	assert_true(registry_rate(rg) > 0.2499 && registry_rate(rg) < 0.2501);
	assert_string_equal(registries_iana_server(rs, &port),
	    "whois.iana.test");
	assert_int_equal(port, 4343);
	assert_null(registries_default(rs));
	/* The list, not the file, says what is registrable: x is unknown. */
	assert_int_equal(registries_lookup(rs, "www.a.y.x", &m), 0);
	assert_string_equal(m.rm_suffix, "x");
	assert_string_equal(m.rm_registrable, "y.x");
	registries_free(rs);
}

static void
test_lookup(void **state)
{
	struct registry_match	 m;

	(void)state;
	assert_int_equal(registries_lookup(unit_regs, "foo.co.uk", &m), 0);
	assert_string_equal(m.rm_reg->rg_name, "nominet");
	assert_string_equal(m.rm_suffix, "co.uk");
	assert_string_equal(m.rm_registrable, "foo.co.uk");
	assert_int_equal(m.rm_below, 0);

	assert_int_equal(registries_lookup(unit_regs, "www.example.co.uk", &m),
	    0);
	assert_string_equal(m.rm_suffix, "co.uk");
	assert_string_equal(m.rm_registrable, "example.co.uk");
	assert_int_equal(m.rm_below, 1);

	assert_int_equal(registries_lookup(unit_regs, "example.uk", &m), 0);
	assert_string_equal(m.rm_suffix, "uk");
	assert_string_equal(m.rm_registrable, "example.uk");

	assert_int_equal(registries_lookup(unit_regs, "a.b.example.com.au", &m),
	    0);
	assert_string_equal(m.rm_reg->rg_name, "auda");
	assert_string_equal(m.rm_registrable, "example.com.au");

	assert_int_equal(registries_lookup(unit_regs, "www.example.com", &m),
	    0);
	assert_string_equal(m.rm_reg->rg_name, "verisign");
	assert_string_equal(m.rm_registrable, "example.com");
	assert_int_equal(m.rm_below, 1);

	/* A suffix the file does not list under uk: falls back to uk. */
	assert_int_equal(registries_lookup(unit_regs, "x.example.zz.uk", &m),
	    0);
	assert_string_equal(m.rm_registrable, "zz.uk");

	assert_int_equal(registries_lookup(unit_regs, "example.info", &m), 0);
	assert_int_equal(m.rm_reg->rg_nowhois, 1);

	/* No entry: IANA + default rules; the TLD and two labels. */
	assert_int_equal(registries_lookup(unit_regs, "www.example.zz", &m), 1);
	assert_null(m.rm_reg);
	assert_string_equal(m.rm_suffix, "zz");
	assert_string_equal(m.rm_registrable, "example.zz");
	assert_int_equal(m.rm_below, 1);

	/* Nothing left of the suffix. */
	assert_int_equal(registries_lookup(unit_regs, "co.uk", &m), -1);
	assert_int_equal(registries_lookup(unit_regs, "uk", &m), -1);
	assert_int_equal(registries_lookup(unit_regs, "zz", &m), -1);
	assert_int_equal(registries_lookup(unit_regs, "", &m), -1);
	assert_int_equal(registries_lookup(unit_regs, NULL, &m), -1);
}

static void
test_query_lines(void **state)
{
	char	 q[REGISTRY_QUERY_MAX];

	(void)state;
	registry_query(unit_reg("verisign"), "example.com", q,
	    sizeof(q));
	assert_string_equal(q, "domain example.com\r\n");
	registry_query(unit_reg("denic"), "xn--bcher-kva.de", q,
	    sizeof(q));
	assert_string_equal(q, "-T dn,ace xn--bcher-kva.de\r\n");
	registry_query(unit_reg("jprs"), "example.jp", q,
	    sizeof(q));
	assert_string_equal(q, "example.jp/e\r\n");
	registry_query(unit_reg("punktum-dk"), "example.dk", q,
	    sizeof(q));
	assert_string_equal(q, "--show-handles example.dk\r\n");
	registry_query(unit_reg("nominet"), "example.co.uk", q,
	    sizeof(q));
	assert_string_equal(q, "example.co.uk\r\n");
	assert_int_equal(unit_reg("nominet")->rg_port, 43);
}

static void
test_rates(void **state)
{
	(void)state;
	assert_true(registry_rate(unit_reg("nominet")) == 5.0);
	assert_true(registry_rate(unit_reg("sidn")) == 1.0);
	assert_true(registry_rate(unit_reg("tcinet")) == 0.2);
	/* Windows, not drips: paced at the default, spent in a burst. */
	assert_true(registry_rate(unit_reg("eurid")) == 1.0);
	assert_int_equal(unit_reg("eurid")->rg_quota_n, 15);
	assert_int_equal(unit_reg("eurid")->rg_quota_per, 60);
	assert_true(registry_rate(unit_reg("nask")) == 1.0);
	assert_int_equal(unit_reg("nask")->rg_quota_n, 100);
	assert_int_equal(unit_reg("nask")->rg_quota_per, 86400);
	assert_int_equal(unit_reg("nominet")->rg_quota_n, 0);
	/* No published budget: the cautious default. */
	assert_int_equal(unit_reg("verisign")->rg_rate_set, 0);
	assert_true(registry_rate(unit_reg("verisign")) == 1.0);
}

/* "dns no" turns the DNS pre-check off for one block; yes is the default. */
static void
test_dns_keyword(void **state)
{
	static const char	 text[] = MINI
	    "registry y\n  server whois.y.test\n  registered \"^taken$\"\n"
	    "  dns no\n  tld y\n"
	    "registry z\n  server whois.z.test\n  registered \"^taken$\"\n"
	    "  dns no\n  dns yes\n  tld z\n";
	struct registries	*rs;
	struct registry_match	 m;
	char			 err[512];

	(void)state;
	rs = registries_parse(text, sizeof(text) - 1, "t.conf", err,
	    sizeof(err));
	if (rs == NULL)
		fail_msg("%s", err);
	assert_int_equal(registries_lookup(rs, "a.x", &m), 0);
	assert_int_equal(m.rm_reg->rg_dns_off, 0);
	assert_int_equal(registries_lookup(rs, "a.y", &m), 0);
	assert_int_equal(m.rm_reg->rg_dns_off, 1);
	assert_int_equal(registries_lookup(rs, "a.z", &m), 0);
	assert_int_equal(m.rm_reg->rg_dns_off, 0);
	registries_free(rs);
	/* The shipped file keeps the pre-check on everywhere. */
	assert_int_equal(unit_reg("verisign")->rg_dns_off, 0);
}

static void
test_retry_after(void **state)
{
	const struct registry	*nom = unit_reg("nominet");
	const struct registry	*eu = unit_reg("eurid");
	const struct registry	*be = unit_reg("dns-be");

	(void)state;
	assert_int_equal(registry_retry_after(nom, "    The WHOIS query quota "
	    "for 1.2.3.4 has been exceeded\n    and will be replenished in 56 "
	    "seconds.\n"), 56);
	assert_int_equal(registry_retry_after(eu,
	    "-1: Still in grace period, wait 7 seconds\n"), 7);
	assert_int_equal(registry_retry_after(eu,
	    "% Excessive querying, grace period of 3600 seconds.\n"), 3600);
	assert_int_equal(registry_retry_after(be,
	    "% Excessive querying, grace period of 120 seconds.\n"), 120);
	/* Clamped: never zero, never more than a day. */
	assert_int_equal(registry_retry_after(nom,
	    "replenished in 0 seconds"), 1);
	assert_int_equal(registry_retry_after(nom,
	    "replenished in 99999999999999999999 seconds"), 86400);
	assert_int_equal(registry_retry_after(nom, "no figure here\n"), -1);
	assert_int_equal(registry_retry_after(unit_reg("pir"),
	    "replenished in 5 seconds"), -1);
	assert_int_equal(registry_retry_after(registries_default(unit_regs),
	    "wait 30 seconds"), 30);
}

struct host_case {
	const char	*value;
	const char	*host;	/* NULL: refused */
	int		 port;
};

static const struct host_case host_cases[] = {
	{ "whois.markmonitor.com", "whois.markmonitor.com", 43 },
	{ "  WHOIS.Example.COM.  ", "whois.example.com", 43 },
	{ "whois.example.com:43", "whois.example.com", 43 },
	{ "whois.example.com:4343", "whois.example.com", 4343 },
	{ "http://whois.example.com/", "whois.example.com", 43 },
	{ "https://whois.example.com:8043/whois?q=1", "whois.example.com",
	    8043 },
	{ "rwhois://rwhois.example.net:4321", "rwhois.example.net", 4321 },
	{ "8.8.8.8", "8.8.8.8", 43 },
	{ "[2001:4860:4860::8888]:43", "2001:4860:4860::8888", 43 },
	{ "2001:4860:4860::8888", "2001:4860:4860::8888", 43 },
	{ "", NULL, 0 },
	{ "   ", NULL, 0 },
	{ "http://", NULL, 0 },
	{ "whois.verisign-grs.com", NULL, 0 },		/* loop */
	{ "WHOIS.VERISIGN-GRS.COM.", NULL, 0 },		/* loop */
	{ "http://whois.verisign-grs.com:43/", NULL, 0 },	/* loop */
	{ "127.0.0.1", NULL, 0 },
	{ "127.0.0.1:43", NULL, 0 },
	{ "10.1.2.3", NULL, 0 },
	{ "172.16.5.4", NULL, 0 },
	{ "172.31.255.255", NULL, 0 },
	{ "192.168.0.1", NULL, 0 },
	{ "169.254.169.254", NULL, 0 },
	{ "100.64.0.1", NULL, 0 },
	{ "0.0.0.0", NULL, 0 },
	{ "224.0.0.1", NULL, 0 },
	{ "255.255.255.255", NULL, 0 },
	{ "127.1", NULL, 0 },
	{ "2130706433", NULL, 0 },
	{ "0x7f.0.0.1", NULL, 0 },
	{ "8.8.8", NULL, 0 },				/* odd numeric */
	{ "[::1]:43", NULL, 0 },
	{ "::1", NULL, 0 },
	{ "::", NULL, 0 },
	{ "fe80::1", NULL, 0 },
	{ "fd00::1", NULL, 0 },
	{ "::ffff:127.0.0.1", NULL, 0 },
	{ "[::ffff:10.0.0.1]", NULL, 0 },
	{ "localhost", NULL, 0 },
	{ "LOCALHOST.", NULL, 0 },
	{ "foo.localhost", NULL, 0 },
	{ "printer.local", NULL, 0 },
	{ "whois.corp.internal", NULL, 0 },
	{ "router.home.arpa", NULL, 0 },
	{ "intranet", NULL, 0 },			/* single label */
	{ "user@whois.example.com", NULL, 0 },
	{ "whois.example.com:0", NULL, 0 },
	{ "whois.example.com:99999", NULL, 0 },
	{ "whois.example.com:", NULL, 0 },
	{ "whois.exa mple.com", NULL, 0 },
	{ "whois_example.com", NULL, 0 },
	{ "-whois.example.com", NULL, 0 },
	{ "[whois.example.com]", NULL, 0 },
	{ "[::1", NULL, 0 },
};

static void
test_check_host(void **state)
{
	char	 host[256], err[256];
	size_t	 i;
	int	 port, rc, bad = 0;

	(void)state;
	for (i = 0; i < sizeof(host_cases) / sizeof(host_cases[0]); i++) {
		const struct host_case *c = &host_cases[i];

		err[0] = '\0';
		rc = registries_check_host(c->value, "whois.verisign-grs.com",
		    host, sizeof(host), &port, err, sizeof(err));
		if (c->host == NULL ? rc != -1 || err[0] == '\0' :
		    rc != 0 || strcmp(host, c->host) != 0 || port != c->port) {
			fprintf(stderr, "\"%s\": rc %d host \"%s\" port %d "
			    "err \"%s\"\n", c->value, rc, host, port, err);
			bad++;
		}
	}
	assert_int_equal(bad, 0);
	/* No server to compare with: only the address rules apply. */
	assert_int_equal(registries_check_host("whois.verisign-grs.com", NULL,
	    host, sizeof(host), &port, NULL, 0), 0);
	/* Too small a buffer is a refusal, not an overflow. */
	assert_int_equal(registries_check_host("whois.example.com", NULL,
	    host, 5, &port, err, sizeof(err)), -1);
}

static void
test_referral(void **state)
{
	const struct registry	*vs = unit_reg("verisign"), *rx;
	struct registries	*rs;
	char			 host[256], err[256];
	int			 port;

	(void)state;
	assert_int_equal(registry_referral(vs, "   Domain Name: A.COM\n"
	    "   Registrar WHOIS Server: whois.markmonitor.com  \n", NULL, host,
	    sizeof(host), &port, err, sizeof(err)), 0);
	assert_string_equal(host, "whois.markmonitor.com");
	assert_int_equal(port, 43);
	assert_int_equal(registry_referral(vs, "   Registrar WHOIS Server: "
	    "http://whois.example.com/\n", NULL, host, sizeof(host), &port, err,
	    sizeof(err)), 0);
	assert_string_equal(host, "whois.example.com");
	/* Loops, private addresses and empty values are refused. */
	assert_int_equal(registry_referral(vs, "   Registrar WHOIS Server: "
	    "whois.verisign-grs.com\n", NULL, host, sizeof(host), &port, err,
	    sizeof(err)), -1);
	assert_int_equal(registry_referral(vs, "   Registrar WHOIS Server: "
	    "whois.example.com\n", "whois.example.com", host, sizeof(host),
	    &port, err, sizeof(err)), -1);
	assert_int_equal(registry_referral(vs, "   Registrar WHOIS Server: "
	    "10.0.0.1\n", NULL, host, sizeof(host), &port, err, sizeof(err)),
	    -1);
	assert_int_equal(registry_referral(vs, "   Registrar WHOIS Server: \n",
	    NULL, host, sizeof(host), &port, err, sizeof(err)), -1);
	assert_int_equal(registry_referral(vs, "No match for \"A.COM\".\n",
	    NULL, host, sizeof(host), &port, err, sizeof(err)), -1);
	assert_string_equal(err, "no referral in reply");
	/* whois is port 43: a reply may not pick another service. */
	strcpy(host, "untouched");
	assert_int_equal(registry_referral(vs, "   Registrar WHOIS Server: "
	    "whois.example.com:4343\n", NULL, host, sizeof(host), &port, err,
	    sizeof(err)), -1);
	assert_string_equal(err, "referral to port 4343, not 43");
	assert_string_equal(host, "");
	assert_int_equal(registry_referral(vs, "   Registrar WHOIS Server: "
	    "https://whois.example.com:8043/whois\n", NULL, host, sizeof(host),
	    &port, err, sizeof(err)), -1);
	assert_int_equal(registry_referral(vs, "   Registrar WHOIS Server: "
	    "whois.example.com:25\n", NULL, host, sizeof(host), &port, err,
	    sizeof(err)), -1);
	assert_int_equal(registry_referral(vs, "   Registrar WHOIS Server: "
	    "[2001:4860:4860::8888]:443\n", NULL, host, sizeof(host), &port,
	    err, sizeof(err)), -1);
	assert_int_equal(registry_referral(vs, "   Registrar WHOIS Server: "
	    "whois.example.com:43\n", NULL, host, sizeof(host), &port, err,
	    sizeof(err)), 0);
	assert_int_equal(port, 43);
	/* Unless the block lists the port. */
	rs = registries_parse(S("registry x\n  server whois.x.test\n"
	    "  registered \"^t$\"\n  referral \"^R: (.*)$\" text-only\n"
	    "  referral_port 4321\n  tld x\n"), "t.conf", err, sizeof(err));
	assert_non_null(rs);
	rx = registries_find(rs, "x");
	assert_int_equal(registry_referral(rx, "R: rwhois://rwhois.example.net"
	    ":4321\n", NULL, host, sizeof(host), &port, err, sizeof(err)), 0);
	assert_string_equal(host, "rwhois.example.net");
	assert_int_equal(port, 4321);
	assert_int_equal(registry_referral(rx, "R: whois.example.net\n", NULL,
	    host, sizeof(host), &port, err, sizeof(err)), 0);
	assert_int_equal(port, 43);
	assert_int_equal(registry_referral(rx, "R: whois.example.net:4322\n",
	    NULL, host, sizeof(host), &port, err, sizeof(err)), -1);
	registries_free(rs);
	/* A registry without a referral rule. */
	assert_int_equal(registry_referral(unit_reg("denic"),
	    "Registrar WHOIS Server: whois.example.com\n", NULL, host,
	    sizeof(host), &port, err, sizeof(err)), -1);
	assert_string_equal(err, "no referral rule");
}

static void
test_reload_swap(void **state)
{
	struct registries	*a, *b;
	char			 err[256];

	(void)state;
	a = registries_parse(MINI, strlen(MINI), "a.conf", err, sizeof(err));
	assert_non_null(a);
	/* A broken new file leaves the old table as it was. */
	b = registries_parse(MINI "bogus\n", strlen(MINI) + 6, "b.conf", err,
	    sizeof(err));
	assert_null(b);
	assert_string_equal(err, "b.conf:6: unknown key \"bogus\"");
	assert_non_null(registries_find(a, "x"));
	registries_free(a);
	registries_free(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shipped_file),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_pattern_budget),
		cmocka_unit_test(test_parse_forms),
		cmocka_unit_test(test_lookup),
		cmocka_unit_test(test_query_lines),
		cmocka_unit_test(test_rates),
		cmocka_unit_test(test_dns_keyword),
		cmocka_unit_test(test_retry_after),
		cmocka_unit_test(test_check_host),
		cmocka_unit_test(test_referral),
		cmocka_unit_test(test_reload_swap),
	};

	return cmocka_run_group_tests(tests, unit_registries_setup,
	    unit_registries_teardown);
}
