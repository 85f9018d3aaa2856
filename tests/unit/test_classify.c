/*
 * test_classify.c — the classifier over the whole corpus (table-driven
 * from tests/corpus/EXPECT), plus trap, line-ending and charset cases,
 * blanks around whole lines, UTF-8 patterns and held statuses.
 * Run from the source tree, or set WHOISD_SRCDIR.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "daemons/query/registries.h"
#include "daemons/query/classify.h"
#include "tests/unit/unit_util.h"

static char *
read_file(const char *path, size_t *len)
{
	FILE	*fp;
	char	*buf;
	long	 n;

	if ((fp = fopen(path, "rb")) == NULL)
		return NULL;
	fseek(fp, 0, SEEK_END);
	n = ftell(fp);
	fseek(fp, 0, SEEK_SET);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, fp), (size_t)n);
	buf[n] = '\0';
	fclose(fp);
	*len = (size_t)n;
	return buf;
}

/* Replace every occurrence of a placeholder; returns a new buffer. */
static char *
subst(char *text, size_t *len, const char *ph, const char *val)
{
	size_t	 phl = strlen(ph), vl = strlen(val), i, o = 0, n = 0;
	char	*out;

	for (i = 0; i + phl <= *len; i++)
		if (memcmp(text + i, ph, phl) == 0)
			n++;
	out = malloc(*len + n * vl + 1);
	assert_non_null(out);
	for (i = 0; i < *len;) {
		if (i + phl <= *len && memcmp(text + i, ph, phl) == 0) {
			memcpy(out + o, val, vl);
			o += vl;
			i += phl;
		} else
			out[o++] = text[i++];
	}
	out[o] = '\0';
	free(text);
	*len = o;
	return out;
}

struct expect {
	char	 e_file[128];
	char	 e_status[32];
	char	 e_reason[32];
	char	 e_rule[96];
	char	 e_retry[32];
};

static int
read_expect(struct expect **out)
{
	char		 path[600], line[512];
	FILE		*fp;
	struct expect	*e = NULL;
	int		 n = 0;

	snprintf(path, sizeof(path), "%s/tests/corpus/EXPECT", unit_srcdir());
	fp = fopen(path, "r");
	assert_non_null(fp);
	while (fgets(line, sizeof(line), fp) != NULL) {
		if (line[0] == '#' || line[0] == '\n')
			continue;
		e = realloc(e, (size_t)(n + 1) * sizeof(*e));
		assert_non_null(e);
		assert_int_equal(sscanf(line, "%127s %31s %31s %95s %31s",
		    e[n].e_file, e[n].e_status, e[n].e_reason, e[n].e_rule,
		    e[n].e_retry), 5);
		n++;
	}
	fclose(fp);
	*out = e;
	return n;
}

/*
 * A corpus file's text, placeholders filled in, and the registry the
 * query daemon would ask for its directory's suffix.
 */
static char *
corpus_text(const struct expect *e, size_t *len, const struct registry **rg)
{
	struct registry_match	 m;
	char			 path[800], dir[128], dom[300], udom[300];
	char			*text, *slash;
	size_t			 i;
	int			 rc;

	snprintf(dir, sizeof(dir), "%s", e->e_file);
	slash = strchr(dir, '/');
	assert_non_null(slash);
	*slash = '\0';
	snprintf(dom, sizeof(dom), "whoisd-test.%s", dir);
	for (i = 0; dom[i] != '\0'; i++)
		udom[i] = (char)(dom[i] >= 'a' && dom[i] <= 'z' ?
		    dom[i] - 32 : dom[i]);
	udom[i] = '\0';

	rc = registries_lookup(unit_regs, dom, &m);
	if (rc != 0)
		fail_msg("%s: no registry entry for %s", e->e_file, dom);
	*rg = m.rm_reg;
	assert_string_equal(m.rm_registrable, dom);

	snprintf(path, sizeof(path), "%s/tests/corpus/%s", unit_srcdir(),
	    e->e_file);
	text = read_file(path, len);
	if (text == NULL)
		fail_msg("cannot read %s", path);
	text = subst(text, len, "{{domain}}", dom);
	text = subst(text, len, "{{DOMAIN}}", udom);
	text = subst(text, len, "{{seconds}}", "42");
	assert_null(strstr(text, "{{"));
	return text;
}

/* Classify one corpus file as the query daemon would. */
static void
classify_corpus_file(const struct expect *e, struct verdict *v)
{
	const struct registry	*rg;
	char			*text;
	size_t			 len;

	text = corpus_text(e, &len, &rg);
	classify(rg, text, len, CLT_OK, v);
	free(text);
}

static void
test_corpus(void **state)
{
	struct expect	*e;
	struct verdict	 v;
	int		 n, i, bad = 0, retry;
	const char	*reason;

	(void)state;
	n = read_expect(&e);
	assert_true(n >= 150);
	for (i = 0; i < n; i++) {
		classify_corpus_file(&e[i], &v);
		reason = v.vd_reason[0] != '\0' ? v.vd_reason : "-";
		retry = strcmp(e[i].e_retry, "-") == 0 ? 0 :
		    strcmp(e[i].e_retry, "{{seconds}}") == 0 ? 42 :
		    atoi(e[i].e_retry);
		if (strcmp(answer_status_name(v.vd_status),
		    e[i].e_status) != 0 || strcmp(reason, e[i].e_reason) != 0 ||
		    strcmp(v.vd_rule, e[i].e_rule) != 0 ||
		    v.vd_retry_after != retry) {
			fprintf(stderr, "MISMATCH %s: got %s %s %s %d "
			    "(matched \"%s\"), want %s %s %s %s\n", e[i].e_file,
			    answer_status_name(v.vd_status), reason, v.vd_rule,
			    v.vd_retry_after, v.vd_matched, e[i].e_status,
			    e[i].e_reason, e[i].e_rule, e[i].e_retry);
			bad++;
		}
		/* A decided verdict always shows the line that decided it. */
		if (v.vd_status != AS_UNKNOWN && v.vd_matched[0] == '\0') {
			fprintf(stderr, "NO MATCHED LINE %s\n", e[i].e_file);
			bad++;
		}
		/* The file name starts with the status it expects. */
		if (strncmp(strchr(e[i].e_file, '/') + 1, "trap-", 5) != 0 &&
		    strncmp(strchr(e[i].e_file, '/') + 1, e[i].e_status,
		    strlen(e[i].e_status)) != 0 &&
		    !(strcmp(e[i].e_reason, "rate-limited") == 0 &&
		    strncmp(strchr(e[i].e_file, '/') + 1, "throttled", 9) == 0) &&
		    !(strcmp(e[i].e_reason, "registry-error") == 0 &&
		    strncmp(strchr(e[i].e_file, '/') + 1, "error", 5) == 0)) {
			fprintf(stderr, "BAD NAME %s for %s\n", e[i].e_file,
			    e[i].e_status);
			bad++;
		}
	}
	free(e);
	assert_int_equal(bad, 0);
}

static int
corpus_has(const char *dir, const char *prefix)
{
	struct expect	*e;
	int		 n, i, found = 0;
	size_t		 dl = strlen(dir);

	n = read_expect(&e);
	for (i = 0; i < n; i++)
		if (strncmp(e[i].e_file, dir, dl) == 0 &&
		    e[i].e_file[dl] == '/' &&
		    strncmp(e[i].e_file + dl + 1, prefix, strlen(prefix)) == 0)
			found = 1;
	free(e);
	return found;
}

/*
 * Coverage: every top-level TLD of a registry that is asked has a corpus
 * directory with a registered reply, an available one if the registry can
 * say available, and a throttled one where it has throttle patterns.
 */
static void
test_corpus_coverage(void **state)
{
	const struct registry	*rg;
	const char		*sfx;
	size_t			 i;
	int			 bad = 0;

	(void)state;
	for (i = 0; (sfx = registries_suffix(unit_regs, i, &rg)) != NULL; i++) {
		if (rg->rg_nowhois) {
			if (strchr(sfx, '.') == NULL && !corpus_has(sfx, "unknown")
			    && strcmp(sfx, "page") != 0) {
				fprintf(stderr, "no-whois %s: no corpus\n", sfx);
				bad++;
			}
			continue;
		}
		if (strchr(sfx, '.') != NULL && !corpus_has(sfx, "registered"))
			continue;	/* second level: its TLD's files serve */
		if (!corpus_has(sfx, "registered")) {
			fprintf(stderr, "%s: no registered reply\n", sfx);
			bad++;
		}
		if (rg->rg_npats[RGK_AVAILABLE] > 0 &&
		    !corpus_has(sfx, "available")) {
			fprintf(stderr, "%s: no available reply\n", sfx);
			bad++;
		}
	}
	/* Throttle wording: at least one file per registry that has one. */
	for (i = 0; i < registries_count(unit_regs); i++) {
		const struct registry	*r = registries_get(unit_regs, i);
		const struct registry	*r2;
		size_t			 j;
		int			 ok = 0;

		if (r->rg_npats[RGK_THROTTLE] == 0 ||
		    strcmp(r->rg_name, "default") == 0)
			continue;
		for (j = 0; (sfx = registries_suffix(unit_regs, j, &r2)) !=
		    NULL; j++)
			if (r2 == r && corpus_has(sfx, "throttled"))
				ok = 1;
		if (!ok) {
			fprintf(stderr, "%s: no throttled reply\n", r->rg_name);
			bad++;
		}
	}
	assert_int_equal(bad, 0);
}

static void
expect_verdict(const char *regname, const char *reply, size_t len, int tr,
    enum answer_status st, const char *reason, const char *rule)
{
	struct verdict	 v;

	classify(unit_reg(regname), reply, len, tr, &v);
	if (v.vd_status != st || strcmp(v.vd_reason, reason) != 0 ||
	    strcmp(v.vd_rule, rule) != 0)
		fail_msg("%s: got %s/%s/%s (\"%s\"), want %s/%s/%s", regname,
		    answer_status_name(v.vd_status), v.vd_reason, v.vd_rule,
		    v.vd_matched, answer_status_name(st), reason, rule);
	assert_string_equal(v.vd_reason, reason);
	assert_string_equal(v.vd_rule, rule);
}

#define S(x)	x, sizeof(x) - 1

static void
test_transport(void **state)
{
	static const char avail[] = "Domain: a.de\nStatus: free\n";

	(void)state;
	/* An available line in a reply that did not end well is no verdict. */
	expect_verdict("denic", S(avail), CLT_TIMEOUT, AS_UNKNOWN, "timeout",
	    "denic:transport");
	expect_verdict("denic", S(avail), CLT_RESET, AS_UNKNOWN, "reset",
	    "denic:transport");
	expect_verdict("denic", S(avail), CLT_TRUNCATED, AS_UNKNOWN,
	    "truncated", "denic:transport");
	expect_verdict("denic", S(avail), CLT_EMPTY, AS_UNKNOWN,
	    "empty-reply", "denic:transport");
	expect_verdict("denic", S(avail), 99, AS_UNKNOWN, "internal",
	    "denic:transport");
	expect_verdict("denic", "", 0, CLT_OK, AS_UNKNOWN, "empty-reply",
	    "denic:transport");
	expect_verdict("denic", S(" \r\n\t\n"), CLT_OK, AS_UNKNOWN,
	    "empty-reply", "denic:transport");
	expect_verdict("denic", NULL, 0, CLT_OK, AS_UNKNOWN, "empty-reply",
	    "denic:transport");
	expect_verdict("denic", S(avail), CLT_OK, AS_AVAILABLE, "",
	    "denic:available");
}

static void
test_traps(void **state)
{
	struct verdict	 v;

	(void)state;
	/* AFNIC: throttle and not-found in one reply is a throttle. */
	expect_verdict("afnic", S("%% Too many requests...\n%%\n\n"
	    "%% No entries found in the AFNIC Database.\n"), CLT_OK,
	    AS_UNKNOWN, "rate-limited", "afnic:throttle");
	/* NOT AVAILABLE contains AVAILABLE. */
	expect_verdict("dns-be", S("Domain:\ta.be\nStatus:\tNOT AVAILABLE\n"),
	    CLT_OK, AS_REGISTERED, "", "dns-be:registered");
	expect_verdict("eurid", S("Domain: a.eu\nStatus: NOT AVAILABLE\n"),
	    CLT_OK, AS_UNKNOWN, "unrecognised-reply", "eurid:unrecognised");
	expect_verdict("eurid", S("Status: unavailable\n"), CLT_OK,
	    AS_UNKNOWN, "unrecognised-reply", "eurid:unrecognised");
	/* Disclaimer prose about availability. */
	expect_verdict("eurid", S("% It allows persons to check whether a "
	    "specific domain name\n% is still available or not and to obtain "
	    "information\nStatus: AVAILABLE (not really)\n"), CLT_OK,
	    AS_UNKNOWN, "unrecognised-reply", "eurid:unrecognised");
	expect_verdict("godaddy-co", S("NOTE: FAILURE TO LOCATE A RECORD IN "
	    "THE WHOIS DATABASE IS NOT INDICATIVE OF THE AVAILABILITY OF A "
	    "DOMAIN NAME.\nThe domain may be available at your registrar.\n"),
	    CLT_OK, AS_UNKNOWN, "unrecognised-reply", "godaddy-co:unrecognised");
	/* Only the registry's own available pattern says available. */
	expect_verdict("denic", S("No match for \"A.COM\".\n"), CLT_OK,
	    AS_UNKNOWN, "unrecognised-reply", "denic:unrecognised");
	expect_verdict("verisign", S("Status: free\n"), CLT_OK, AS_UNKNOWN,
	    "unrecognised-reply", "verisign:unrecognised");
	/* Verisign "No match" not at the start of its line. */
	expect_verdict("verisign", S("   Registrar: No match for \"A.COM\".\n"),
	    CLT_OK, AS_UNKNOWN, "unrecognised-reply", "verisign:unrecognised");
	expect_verdict("verisign", S("   Domain Name: A.COM\n   Registrar: "
	    "No match for \"A.COM\".\n"), CLT_OK, AS_REGISTERED, "",
	    "verisign:registered");
	/* .name: "Not available for registration." is reserved. */
	expect_verdict("verisign-name", S("Not available for registration.\n"),
	    CLT_OK, AS_RESERVED, "", "verisign-name:reserved");
	/* CentralNic's standing notice is not a throttle. */
	expect_verdict("centralnic-xyz", S("Domain Name: A.XYZ\nAccess to the "
	    "Whois and RDAP services is rate limited.\n"), CLT_OK,
	    AS_REGISTERED, "", "centralnic-xyz:registered");
	/* No-whois registries never get a verdict. */
	expect_verdict("identity-info", S("Domain not found.\n"), CLT_OK,
	    AS_UNKNOWN, "no-public-channel", "identity-info:no-whois");
	/* No registry: no verdict. */
	assert_int_equal(classify(NULL, S("Status: free\n"), CLT_OK, &v),
	    AS_UNKNOWN);
	assert_string_equal(v.vd_reason, "internal");
}

/* An available line beside a registered or reserved one: no verdict. */
static void
test_conflict(void **state)
{
	struct verdict	 v;

	(void)state;
	expect_verdict("denic", S("Domain: a.de\nStatus: free\n"
	    "Status: connect\n"), CLT_OK, AS_UNKNOWN, "conflicting-reply",
	    "denic:conflict");
	/* Either order, and the available line is the one shown. */
	classify(unit_reg("denic"), S("Status: connect\nStatus: free\n"),
	    CLT_OK, &v);
	assert_string_equal(v.vd_reason, "conflicting-reply");
	assert_string_equal(v.vd_matched, "Status: free");
	expect_verdict("verisign", S("No match for \"A.COM\".\n"
	    "   Domain Name: A.COM\n"), CLT_OK, AS_UNKNOWN, "conflicting-reply",
	    "verisign:conflict");
	expect_verdict("eurid", S("Domain: a.eu\nStatus: AVAILABLE\n"
	    "Registrar:\n        Name: Example\n"), CLT_OK, AS_UNKNOWN,
	    "conflicting-reply", "eurid:conflict");
	expect_verdict("nominet", S("    No match for \"a.co.uk\".\n"
	    "    Registrant:\n        Example Ltd\n"), CLT_OK,
	    AS_UNKNOWN, "conflicting-reply", "nominet:conflict");
	/* Reserved vetoes too. */
	expect_verdict("dns-be", S("Domain:\ta.be\nStatus:\tAVAILABLE\n"
	    "Status:\tNOT ALLOWED\n"), CLT_OK, AS_UNKNOWN, "conflicting-reply",
	    "dns-be:conflict");
	expect_verdict("verisign-name", S("No match for \"A.NAME\".\n"
	    "Not available for registration.\n"), CLT_OK, AS_UNKNOWN,
	    "conflicting-reply", "verisign-name:conflict");
	/* IANA-found TLDs get no benefit of the doubt either. */
	expect_verdict("default", S("Domain Name: a.example\n"
	    "Domain not found.\n"), CLT_OK, AS_UNKNOWN, "conflicting-reply",
	    "default:conflict");
	/* Throttle and error still come first. */
	expect_verdict("afnic", S("%% Too many requests...\n"
	    "%% No entries found in the AFNIC Database.\n"
	    "domain:      a.fr\nstatus:      ACTIVE\n"), CLT_OK, AS_UNKNOWN,
	    "rate-limited", "afnic:throttle");
	/* Reserved beside registered stays reserved (.it prints "Domain:"). */
	expect_verdict("nic-it", S("Domain:             a.it\n"
	    "Status:             UNASSIGNABLE\n"), CLT_OK, AS_RESERVED, "",
	    "nic-it:reserved");
	/*
	 * available_despite registered: .ai and .it print a registered line
	 * in a real free reply, and stay available; a reserved line still
	 * vetoes for .it, which names only registered.
	 */
	expect_verdict("nic-ai", S("Domain Name: a.ai\n"
	    "Domain Status: No Object Found\n"), CLT_OK, AS_AVAILABLE, "",
	    "nic-ai:available");
	expect_verdict("nic-it", S("Domain:             a.it\n"
	    "Status:             AVAILABLE\n"), CLT_OK, AS_AVAILABLE, "",
	    "nic-it:available");
	expect_verdict("nic-it", S("Domain:             a.it\n"
	    "Status:             AVAILABLE\nStatus:             RESERVED\n"),
	    CLT_OK, AS_UNKNOWN, "conflicting-reply", "nic-it:conflict");
}

/*
 * Every registry that names available_despite KIND shows, with a real
 * reply in the corpus, that its free reply carries such a line: without
 * that kind the file would be a conflict.
 */
static void
test_available_despite_proved(void **state)
{
	static const enum registry_kind	 kinds[] = {
		RGK_RESERVED, RGK_REGISTERED
	};
	const struct registry		*rg, *frg;
	struct registry			 bare;
	struct expect			*e;
	struct verdict			 v;
	char				*text;
	size_t				 i, k, len;
	int				 n, j, users = 0, bad = 0, proved;

	(void)state;
	n = read_expect(&e);
	for (i = 0; (rg = registries_get(unit_regs, i)) != NULL; i++) {
		for (k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
			if (!(rg->rg_avail_despite & (1 << kinds[k])))
				continue;
			users++;
			bare = *rg;	/* shares the compiled patterns */
			bare.rg_avail_despite &= ~(1 << kinds[k]);
			proved = 0;
			for (j = 0; j < n && !proved; j++) {
				if (strcmp(e[j].e_status, "available") != 0 ||
				    strstr(e[j].e_file, "/trap-") != NULL)
					continue;
				text = corpus_text(&e[j], &len, &frg);
				if (frg == rg) {
					classify(&bare, text, len, CLT_OK, &v);
					proved = strcmp(v.vd_reason,
					    "conflicting-reply") == 0;
				}
				free(text);
			}
			if (!proved) {
				fprintf(stderr, "%s: available_despite %s with "
				    "no corpus reply that needs it\n",
				    rg->rg_name, registry_kind_name(kinds[k]));
				bad++;
			}
		}
	}
	free(e);
	assert_true(users >= 2);	/* nic-ai and nic-it */
	assert_int_equal(bad, 0);
}

static void
test_line_endings(void **state)
{
	struct verdict	 v;

	(void)state;
	expect_verdict("denic", S("Domain: a.de\r\nStatus: free\r\n"), CLT_OK,
	    AS_AVAILABLE, "", "denic:available");
	expect_verdict("denic", S("Domain: a.de\rStatus: free\r"), CLT_OK,
	    AS_AVAILABLE, "", "denic:available");
	expect_verdict("denic", S("Domain: a.de\nStatus: free"), CLT_OK,
	    AS_AVAILABLE, "", "denic:available");
	expect_verdict("denic", S("Domain: a.de\r\rStatus: free\n\r"), CLT_OK,
	    AS_AVAILABLE, "", "denic:available");
	/* "free" must be the whole line: CR before text is not a line end. */
	expect_verdict("denic", S("Status: freely\r\n"), CLT_OK, AS_UNKNOWN,
	    "unrecognised-reply", "denic:unrecognised");
	classify(unit_reg("eurid"),
	    S("% header\r\nStatus: AVAILABLE\r\n% tail\r\n"), CLT_OK, &v);
	assert_int_equal(v.vd_status, AS_AVAILABLE);
	assert_string_equal(v.vd_matched, "Status: AVAILABLE");
	/* A NUL byte hides nothing after it. */
	expect_verdict("denic", S("junk\0\nStatus: free\n"), CLT_OK,
	    AS_AVAILABLE, "", "denic:available");
}

static void
test_charset(void **state)
{
	char		*t;
	size_t		 n;
	struct verdict	 v;

	(void)state;
	/* ISO-8859-1 "Bøger" becomes UTF-8. */
	t = classify_text(unit_reg("punktum-dk"), S("Name: B\xf8ger\r\n"), &n);
	assert_non_null(t);
	assert_string_equal(t, "Name: B\xc3\xb8ger\n");
	assert_int_equal(n, strlen(t));
	free(t);
	/* Invalid UTF-8 from a UTF-8 registry becomes U+FFFD. */
	t = classify_text(unit_reg("denic"), S("a\xff" "b\xc3"), &n);
	assert_string_equal(t, "a\xef\xbf\xbd" "b\xef\xbf\xbd");
	free(t);
	t = classify_text(NULL, S("\xe2\x80\x99ok\0"), &n);
	assert_string_equal(t, "\xe2\x80\x99ok\xef\xbf\xbd");
	free(t);
	/* Overlong and surrogate encodings are invalid. */
	t = classify_text(NULL, S("\xc0\xaf\xed\xa0\x80"), &n);
	assert_int_equal(strspn(t, "\xef\xbf\xbd"), strlen(t));
	free(t);
	/* A Latin-1 registered reply matches, and shows UTF-8. */
	classify(unit_reg("punktum-dk"), S("Domain:               a.dk\n"
	    "Status:               Active\nCity: K\xf8" "benhavn\n"), CLT_OK, &v);
	assert_int_equal(v.vd_status, AS_REGISTERED);
	/* KISA's available line carries U+2019 in UTF-8. */
	expect_verdict("kisa", S("The requested domain was not found in the "
	    "Registry or Registrar\xe2\x80\x99s WHOIS Server.\n"), CLT_OK,
	    AS_AVAILABLE, "", "kisa:available");
}

static void
test_matched_line(void **state)
{
	struct verdict	 v;
	char		 buf[1200];
	size_t		 i;

	(void)state;
	classify(unit_reg("nominet"), S("\n    Error for \"a.uk\".\n\n    "
	    "The WHOIS query quota for 192.0.2.1 has been exceeded\n    "
	    "and will be replenished in 17 seconds.\n"), CLT_OK, &v);
	assert_string_equal(v.vd_reason, "rate-limited");
	assert_int_equal(v.vd_retry_after, 17);
	assert_string_equal(v.vd_matched, "    The WHOIS query quota for "
	    "192.0.2.1 has been exceeded");
	/* A throttle without a figure: retry_after 0, caller's default. */
	classify(unit_reg("pir"), S("WHOIS LIMIT EXCEEDED - SEE "
	    "WWW.PIR.ORG/WHOIS FOR DETAILS\n"), CLT_OK, &v);
	assert_int_equal(v.vd_retry_after, 0);
	assert_string_equal(v.vd_rule, "pir:throttle");
	/* A long matched line is cut on a UTF-8 boundary. */
	strcpy(buf, "Domain: a.de\nStatus: connect\n");
	classify(unit_reg("denic"), buf, strlen(buf), CLT_OK, &v);
	assert_string_equal(v.vd_matched, "Status: connect");
	strcpy(buf, "Domain Name: a.xyz");
	for (i = strlen(buf); i < 1100; i += 2)
		memcpy(buf + i, "\xc3\xa9", 2);
	buf[i] = '\0';
	memcpy(buf, "% x", 3);		/* not a registered line itself */
	strcat(buf, "\nDomain Name: A.XYZ\n");
	classify(unit_reg("centralnic-xyz"), buf, strlen(buf), CLT_OK, &v);
	assert_string_equal(v.vd_matched, "Domain Name: A.XYZ");
	strcpy(buf, "WHOIS LIMIT EXCEEDED - SEE WWW.PIR.ORG/WHOIS FOR DETAILS");
	classify(unit_reg("pir"), buf, strlen(buf), CLT_OK, &v);
	assert_string_equal(v.vd_matched, buf);
	/*
	 * Default rules, for TLDs routed without a block: their "not
	 * found" wording is nobody's verified reply, so never available.
	 */
	classify(registries_default(unit_regs), S("Domain not found.\n"),
	    CLT_OK, &v);
	assert_int_equal(v.vd_status, AS_UNKNOWN);
	assert_string_equal(v.vd_reason, "not-found-unconfirmed");
	assert_string_equal(v.vd_rule, "default:available-unverified");
	assert_string_equal(v.vd_matched, "Domain not found.");
	classify(registries_default(unit_regs), S("Domain Name: A.ZZ\n"),
	    CLT_OK, &v);
	assert_int_equal(v.vd_status, AS_REGISTERED);
	classify(registries_default(unit_regs), S("% Query rate of 61 per "
	    "minute exceeded, wait 30 seconds\nDomain not found.\n"), CLT_OK,
	    &v);
	assert_string_equal(v.vd_reason, "rate-limited");
	assert_int_equal(v.vd_retry_after, 30);
	classify(registries_default(unit_regs),
	    S("The domain may be available.\n"), CLT_OK, &v);
	assert_string_equal(v.vd_reason, "unrecognised-reply");
}

static void
test_long_line_boundary(void **state)
{
	struct verdict	 v;
	char		 buf[2000];
	size_t		 n;

	(void)state;
	/* "Status: connect" is not the match; make a long registered line. */
	strcpy(buf, "   Domain Name: ");
	n = strlen(buf);
	memset(buf + n, 'A', 300);
	strcpy(buf + n + 300, ".COM\n");
	classify(unit_reg("verisign"), buf, strlen(buf), CLT_OK, &v);
	assert_int_equal(v.vd_status, AS_REGISTERED);
	assert_int_equal(strlen(v.vd_matched), VERDICT_MATCHED_MAX - 1);
	/* Multi-byte text right at the cut: never half a character. */
	strcpy(buf, "   Domain Name: ");
	n = strlen(buf);
	memset(buf + n, 'A', 238);
	n += 238;
	strcpy(buf + n, "\xc3\xa9\xc3\xa9.COM\n");	/* not LDH: no match */
	classify(unit_reg("verisign"), buf, strlen(buf), CLT_OK, &v);
	assert_int_equal(v.vd_status, AS_UNKNOWN);
	classify(unit_reg("punktum-dk"), S("Domain:               a.dk\n"
	    "Status:               Active\n"), CLT_OK, &v);
	assert_string_equal(v.vd_matched, "Status:               Active");
}

/* Whole-line patterns survive indentation and trailing blanks. */
static void
test_blanks(void **state)
{
	struct verdict	 v;

	(void)state;
	expect_verdict("pir", S("  Domain not found. \t\r\n"), CLT_OK,
	    AS_AVAILABLE, "", "pir:available");
	expect_verdict("denic", S("Domain: a.de\n\tStatus: free  \n"),
	    CLT_OK, AS_AVAILABLE, "", "denic:available");
	expect_verdict("pir", S("Domain Name: A.ORG   \n"), CLT_OK,
	    AS_REGISTERED, "", "pir:registered");
	/* An indented registered line beside an available one: conflict. */
	expect_verdict("pir", S("Domain not found.\n   Domain Name: A.ORG\n"),
	    CLT_OK, AS_UNKNOWN, "conflicting-reply", "pir:conflict");
	/* A pattern that wants the indentation still finds it. */
	classify(unit_reg("verisign"), S("   Domain Name: A.COM  \n"), CLT_OK,
	    &v);
	assert_int_equal(v.vd_status, AS_REGISTERED);
	assert_string_equal(v.vd_matched, "   Domain Name: A.COM");
	/* Blanks inside the line are the registry's, not ours to drop. */
	expect_verdict("pir", S("Domain  not found.\n"), CLT_OK, AS_UNKNOWN,
	    "unrecognised-reply", "pir:unrecognised");
}

/* Accented wording: brackets, "." and icase work on characters. */
static void
test_utf8_patterns(void **state)
{
	static const char text[] =
	    "registry fr-test\n"
	    "  server whois.fr.test\n"
	    "  available \"^Aucun r.sultat pour [^ ]+$\"\n"
	    "  reserved \"^Nom de domaine r[ée]serv[ée]$\" icase\n"
	    "  registered \"^domaine : +[a-z0-9.-]+$\"\n"
	    "  tld fr-test\n";
	static const char latin1[] =
	    "registry l1\n  server whois.l1.test\n  charset iso-8859-1\n"
	    "  available \"^Dom[ée]nio n[ãa]o encontrado$\" icase\n"
	    "  registered \"^domain: +[a-z0-9.-]+$\"\n  tld l1\n";
	struct registries	*rs;
	struct verdict		 v;
	char			 err[256];

	(void)state;
	if ((rs = registries_parse(text, sizeof(text) - 1, "t.conf", err,
	    sizeof(err))) == NULL)
		fail_msg("%s", err);
	classify(registries_find(rs, "fr-test"), S("NOM DE DOMAINE RÉSERVÉ\n"),
	    CLT_OK, &v);
	assert_int_equal(v.vd_status, AS_RESERVED);
	assert_string_equal(v.vd_matched, "NOM DE DOMAINE RÉSERVÉ");
	classify(registries_find(rs, "fr-test"),
	    S("Aucun résultat pour a.fr-test\n"), CLT_OK, &v);
	assert_int_equal(v.vd_status, AS_AVAILABLE);
	/* "." is one character, not one byte: two accents are two. */
	classify(registries_find(rs, "fr-test"),
	    S("Aucun r\xc3\xa9\xc3\xa9sultat pour a.fr-test\n"), CLT_OK, &v);
	assert_int_equal(v.vd_status, AS_UNKNOWN);
	registries_free(rs);
	/* ISO-8859-1 bytes are converted first, then matched the same way. */
	if ((rs = registries_parse(latin1, sizeof(latin1) - 1, "t.conf", err,
	    sizeof(err))) == NULL)
		fail_msg("%s", err);
	classify(registries_find(rs, "l1"), S("DOM\xc9NIO N\xc3O ENCONTRADO\n"),
	    CLT_OK, &v);
	assert_int_equal(v.vd_status, AS_AVAILABLE);
	assert_string_equal(v.vd_matched, "DOMÉNIO NÃO ENCONTRADO");
	registries_free(rs);
}

/*
 * A held name's status beside a "not found" line is never available:
 * EPP statuses in either spelling, and the registries' own words.
 */
static void
test_held_status(void **state)
{
	static const char *const held[] = {
		"Domain Status: pendingDelete",
		"Domain Status: PENDING DELETE",
		"status: pending-delete",
		"Domain Status: redemptionPeriod",
		"Status: REDEMPTION",
		"Domain Status: autoRenewPeriod",
		"Domain Status: addPeriod",
		"Domain Status: renewPeriod",
		"Domain Status: transferPeriod",
		"Domain Status: pendingRestore",
		"Domain Status: pendingTransfer",
		"Domain Status: pendingCreate",
		"Domain Status: serverHold",
		"Domain Status: clientHold",
		"Domain Status: clientTransferProhibited",
		"Domain Status: serverDeleteProhibited",
		"Status: in quarantine",
		"state: quarantined",
		"Status: pending release",
		"Status: to be released",
		"Status: grace period",
		"Status: Blocked",
		"This TLD is not open for registration.",
		"Status: reserved",
		"This name is reserved",
		"Reserved name",
		"Status: dnsHold",
		"Status: UNASSIGNABLE",
		"Statut : réservé",
		"STATUT : RÉSERVÉ",
		"État : bloqué",
		"Status: gesperrt",
		"Status: on hold",
	};
	static const char *const free_prose[] = {
		"All rights reserved.",
		"We will reserve the right to remove access.",
		"Copyright (c) 2026 Registry. All Rights Reserved.",
		"Unblocked access is monitored.",
		"Pending a review of this service, see the web site.",
	};
	char		 buf[512], big[2048];
	struct verdict	 v;
	size_t		 i;

	(void)state;
	for (i = 0; i < sizeof(held) / sizeof(held[0]); i++) {
		snprintf(buf, sizeof(buf), "Domain not found.\n%s\n", held[i]);
		classify(unit_reg("pir"), buf, strlen(buf), CLT_OK, &v);
		if (v.vd_status != AS_UNKNOWN ||
		    strcmp(v.vd_rule, "pir:held-status") != 0)
			fail_msg("\"%s\": %s %s", held[i],
			    answer_status_name(v.vd_status), v.vd_rule);
		assert_string_equal(v.vd_reason, "conflicting-reply");
		assert_string_equal(v.vd_matched, held[i]);
	}
	for (i = 0; i < sizeof(free_prose) / sizeof(free_prose[0]); i++) {
		snprintf(buf, sizeof(buf), "%s\nDomain not found.\n",
		    free_prose[i]);
		classify(unit_reg("pir"), buf, strlen(buf), CLT_OK, &v);
		if (v.vd_status != AS_AVAILABLE)
			fail_msg("\"%s\": %s %s", free_prose[i],
			    answer_status_name(v.vd_status), v.vd_rule);
	}
	/* The first held line is the evidence, whichever word found it. */
	snprintf(buf, sizeof(buf), "Domain not found.\nStatus: on hold\n"
	    "Domain Status: pendingDelete\n");
	classify(unit_reg("pir"), buf, strlen(buf), CLT_OK, &v);
	assert_string_equal(v.vd_rule, "pir:held-status");
	assert_string_equal(v.vd_matched, "Status: on hold");
	/* More lines holding a status word than are tried one by one. */
	big[0] = '\0';
	strcat(big, "Domain not found.\n");
	for (i = 0; i < 40; i++)
		strcat(big, "All rights reserved.\n");
	strcat(big, "Status: serverHold\n");
	classify(unit_reg("pir"), big, strlen(big), CLT_OK, &v);
	assert_string_equal(v.vd_rule, "pir:held-status");
	assert_string_equal(v.vd_matched, "Status: serverHold");
	big[strlen(big) - strlen("Status: serverHold\n")] = '\0';
	classify(unit_reg("pir"), big, strlen(big), CLT_OK, &v);
	assert_int_equal(v.vd_status, AS_AVAILABLE);
	/* Without a "not found" line the registry's own rules decide. */
	expect_verdict("pir", S("Domain Name: A.ORG\n"
	    "Domain Status: pendingDelete\n"), CLT_OK, AS_REGISTERED, "",
	    "pir:registered");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_corpus),
		cmocka_unit_test(test_corpus_coverage),
		cmocka_unit_test(test_transport),
		cmocka_unit_test(test_traps),
		cmocka_unit_test(test_conflict),
		cmocka_unit_test(test_available_despite_proved),
		cmocka_unit_test(test_line_endings),
		cmocka_unit_test(test_charset),
		cmocka_unit_test(test_matched_line),
		cmocka_unit_test(test_long_line_boundary),
		cmocka_unit_test(test_blanks),
		cmocka_unit_test(test_utf8_patterns),
		cmocka_unit_test(test_held_status),
	};

	/* As whoisd-query does, before any pattern is compiled. */
	assert_int_equal(classify_init(), 0);

	return cmocka_run_group_tests(tests, unit_registries_setup,
	    unit_registries_teardown);
}
