/*
 * test_rdap.c — daemons/query/rdap_json.c: the domain object, the
 * verdict on every status and fault, the ISO 8601 dates, the bootstrap
 * file (the shipped one too), the registry keys and channel order.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "daemons/query/rdap.h"
#include "daemons/query/registries.h"

static const char verisign[] =
    "{\"objectClassName\":\"domain\",\"ldhName\":\"EXAMPLE.COM\","
    "\"status\":[\"client transfer prohibited\",\"pending delete\"],"
    "\"events\":[{\"eventAction\":\"registration\",\"eventDate\":"
    "\"1995-08-14T04:00:00Z\"},{\"eventAction\":\"expiration\","
    "\"eventDate\":\"2027-08-13T04:00:00Z\"}],\"nameservers\":["
    "{\"objectClassName\":\"nameserver\",\"ldhName\":\"A.IANA-SERVERS.NET\"},"
    "{\"objectClassName\":\"nameserver\",\"ldhName\":\"B.IANA-SERVERS.NET\"}]}";

static void
reply(struct rdap_reply *r, long code, const char *ct, const char *body)
{
	memset(r, 0, sizeof(*r));
	r->rr_transport = RDT_OK;
	r->rr_code = code;
	r->rr_ctype = ct;
	r->rr_body = body;
	r->rr_len = strlen(body);
	r->rr_retry_after = -1;
	r->rr_msg = "";
}

static void
test_verdicts(void **state)
{
	struct registry		rg;
	struct rdap_reply	r;
	struct rdap_domain	d;
	struct verdict		vd;
	const char		*ct = "application/rdap+json";

	(void)state;
	memset(&rg, 0, sizeof(rg));
	rg.rg_name = "t";
	reply(&r, 200, ct, verisign);
	/* Pending delete is still registered. */
	assert_int_equal(rdap_verdict(&rg, "example.com", &r, &vd, &d),
	    AS_REGISTERED);
	assert_string_equal(vd.vd_rule, "rdap:domain");
	assert_non_null(strstr(vd.vd_matched, "pending delete"));
	assert_true(d.rd_created == 808372800.0);
	assert_string_equal(d.rd_ns, "a.iana-servers.net b.iana-servers.net");
	/* Another name: unknown. */
	assert_int_equal(rdap_verdict(&rg, "example.net", &r, &vd, &d),
	    AS_UNKNOWN);
	assert_string_equal(vd.vd_reason, "other-name");
	/* 404 without the profile, then with it. */
	reply(&r, 404, ct, "{\"errorCode\":404}");
	assert_int_equal(rdap_verdict(&rg, "example.com", &r, &vd, &d),
	    AS_UNKNOWN);
	assert_string_equal(vd.vd_reason, "not-found-unconfirmed");
	rg.rg_rdap_404 = 1;
	assert_int_equal(rdap_verdict(&rg, "example.com", &r, &vd, &d),
	    AS_AVAILABLE);
	assert_string_equal(vd.vd_rule, "rdap:404-available");
	/* A 404 that did not come back whole is not a 404. */
	r.rr_transport = RDT_TIMEOUT;
	assert_int_equal(rdap_verdict(&rg, "example.com", &r, &vd, &d),
	    AS_UNKNOWN);
	assert_int_equal(rdap_verdict(NULL, "example.com", &r, &vd, &d),
	    AS_UNKNOWN);
	reply(&r, 429, ct, "");
	r.rr_retry_after = 7;
	assert_int_equal(rdap_verdict(&rg, "example.com", &r, &vd, &d),
	    AS_UNKNOWN);
	assert_string_equal(vd.vd_reason, "rate-limited");
	assert_int_equal(vd.vd_retry_after, 7);
	reply(&r, 503, ct, "");
	rdap_verdict(&rg, "example.com", &r, &vd, &d);
	assert_string_equal(vd.vd_reason, "registry-error");
	reply(&r, 200, "text/html", verisign);
	rdap_verdict(&rg, "example.com", &r, &vd, &d);
	assert_string_equal(vd.vd_reason, "bad-content-type");
	reply(&r, 200, "application/json; charset=utf-8", verisign);
	assert_int_equal(rdap_verdict(&rg, "example.com", &r, &vd, &d),
	    AS_REGISTERED);
	reply(&r, 200, ct, "{\"ldhName\": ");
	rdap_verdict(&rg, "example.com", &r, &vd, &d);
	assert_string_equal(vd.vd_reason, "bad-json");
	reply(&r, 200, ct, "{\"objectClassName\":\"entity\","
	    "\"ldhName\":\"example.com\"}");
	rdap_verdict(&rg, "example.com", &r, &vd, &d);
	assert_string_equal(vd.vd_reason, "not-a-domain");
	reply(&r, 200, ct, "{\"ldhName\":\"example.com.\",\"status\":"
	    "[\"Reserved\"]}");
	assert_int_equal(rdap_verdict(&rg, "example.com", &r, &vd, &d),
	    AS_RESERVED);
	/* Duplicate keys could say two things: refused. */
	reply(&r, 200, ct, "{\"ldhName\":\"x.com\",\"ldhName\":\"example.com\"}");
	rdap_verdict(&rg, "example.com", &r, &vd, &d);
	assert_string_equal(vd.vd_reason, "bad-json");
	reply(&r, 200, ct, verisign);
	r.rr_transport = RDT_TLS;
	rdap_verdict(&rg, "example.com", &r, &vd, &d);
	assert_string_equal(vd.vd_reason, "tls-failure");
	r.rr_transport = RDT_TOO_BIG;
	rdap_verdict(&rg, "example.com", &r, &vd, &d);
	assert_string_equal(vd.vd_reason, "body-too-large");
	r.rr_transport = RDT_REDIRECT;
	rdap_verdict(&rg, "example.com", &r, &vd, &d);
	assert_string_equal(vd.vd_reason, "bad-redirect");
}

static void
test_time(void **state)
{
	(void)state;
	assert_true(rdap_time("1970-01-01T00:00:00Z") == 0);
	assert_true(rdap_time("1970-01-01T01:00:00.123+01:00") == 0);
	assert_true(rdap_time("1970-01-01T00:00:00-00:30") == 1800);
	assert_true(rdap_time("yesterday") < 0);
	assert_true(rdap_time("1970-01-01T00:00:00Zjunk") < 0);
}

static void
test_boot(void **state)
{
	static const char text[] = "{\"publication\":\"2026-01-01T00:00:00Z\","
	    "\"services\":[[[\"COM\",\"net\"],[\"http://x/\","
	    "\"https://rdap.example/com/v1/\"]],[[\"org\"],[\"http://y/\"]],"
	    "[[\"co.uk\"],[\"https://a/\"]],[[\"uk\"],[\"https://u/\"]]]}";
	struct rdap_boot	*rb;
	char			 err[256], url[RDAP_URL_MAX];

	(void)state;
	rb = rdap_boot_parse(text, sizeof(text) - 1, err, sizeof(err));
	assert_non_null(rb);
	assert_string_equal(rdap_boot_url(rb, "com"),
	    "https://rdap.example/com/v1/");
	assert_null(rdap_boot_url(rb, "org"));		/* http only */
	assert_string_equal(rdap_boot_url(rb, "co.uk"), "https://a/");
	assert_string_equal(rdap_boot_url(rb, "org.uk"), "https://u/");
	assert_null(rdap_boot_url(rb, "de"));
	assert_string_equal(rdap_boot_publication(rb), "2026-01-01T00:00:00Z");
	assert_int_equal(rdap_url(rdap_boot_url(rb, "com"), "example.com", url,
	    sizeof(url)), 0);
	assert_string_equal(url, "https://rdap.example/com/v1/domain/example.com");
	rdap_boot_free(rb);
	assert_null(rdap_boot_parse("[]", 2, err, sizeof(err)));
	assert_null(rdap_boot_parse("{", 1, err, sizeof(err)));
	/* The shipped file. */
	rb = rdap_boot_load("etc/rdap-dns.json", err, sizeof(err));
	assert_non_null(rb);
	assert_true(rdap_boot_count(rb) > 1000);
	assert_non_null(rdap_boot_url(rb, "app"));
	assert_non_null(rdap_boot_url(rb, "info"));
	rdap_boot_free(rb);
}

static void
test_keys(void **state)
{
	static const char good[] =
	    "registry a\n  server whois.a.example\n  registered \"^x$\"\n"
	    "  rdap https://rdap.a.example/\n  rdap_404 available\n"
	    "  rdap_rate 10/s\n  tld a\n"
	    "registry b\n  server whois.b.example\n  registered \"^x$\"\n"
	    "  channels whois rdap\n  tld b\n"
	    "registry c\n  no-whois\n  tld c\n";
	static const char *const bad[] = {
	    "registry a\n  no-whois\n  channels whois\n  tld a\n",
	    "registry a\n  no-whois\n  rdap http://x/\n  tld a\n",
	    "registry a\n  no-whois\n  rdap_404 maybe\n  tld a\n",
	    "registry a\n  no-whois\n  channels rdap rdap\n  tld a\n",
	    "registry a\n  no-whois\n  channels ftp\n  tld a\n",
	};
	struct registries	*rs;
	const struct registry	*rg;
	char			 err[256];
	int			 ch[REGISTRY_CHANNELS_MAX];
	size_t			 i;

	(void)state;
	rs = registries_parse(good, sizeof(good) - 1, "t", err, sizeof(err));
	assert_non_null(rs);
	rg = registries_find(rs, "a");
	assert_int_equal(rg->rg_rdap_404, 1);
	assert_true(registry_rdap_rate(rg) == 10);
	assert_true(registry_rate(rg) == 1);
	/* Its own rdap URL: RDAP first. */
	assert_int_equal(registry_channels(rg, 1, ch), 2);
	assert_int_equal(ch[0], RCH_RDAP);
	assert_int_equal(registry_channels(rg, 0, ch), 1);
	assert_int_equal(ch[0], RCH_WHOIS);
	rg = registries_find(rs, "b");
	assert_int_equal(registry_channels(rg, 1, ch), 2);
	assert_int_equal(ch[0], RCH_WHOIS);
	assert_int_equal(ch[1], RCH_RDAP);
	rg = registries_find(rs, "c");
	assert_int_equal(registry_channels(rg, 0, ch), 0);
	assert_int_equal(registry_channels(rg, 1, ch), 1);
	assert_int_equal(ch[0], RCH_RDAP);
	registries_free(rs);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		rs = registries_parse(bad[i], strlen(bad[i]), "t", err,
		    sizeof(err));
		assert_null(rs);
		assert_non_null(strstr(err, "t:"));
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_verdicts),
		cmocka_unit_test(test_time),
		cmocka_unit_test(test_boot),
		cmocka_unit_test(test_keys),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
