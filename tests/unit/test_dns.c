/*
 * test_dns.c — the DNS pre-check's reading of replies (dns_parse), its
 * answer (dns_answer) and the servers file: a delegation is the only
 * thing that proves anything, and it proves registered.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <setjmp.h>
#include <cmocka.h>

#include "daemons/query/dns.h"
#include "daemons/query/query.h"
#include "proto/msg.h"

/* dns.c's links to the rest of whoisd-query, unused by what is tested. */
static struct query_conf	test_qc;

struct query_conf *
query_conf(void)
{
	return &test_qc;
}

const char *
query_override(void)
{
	return NULL;
}

/* A reply under construction. */
struct pkt {
	unsigned char	b[1024];
	size_t		n;
};

static void
put16(struct pkt *p, unsigned int v)
{
	p->b[p->n++] = (unsigned char)(v >> 8);
	p->b[p->n++] = (unsigned char)v;
}

static void
put32(struct pkt *p, uint32_t v)
{
	put16(p, v >> 16);
	put16(p, v & 0xffff);
}

static void
putname(struct pkt *p, const char *name)
{
	const char	*s = name, *dot;
	size_t		 l;

	while (*s != '\0') {
		dot = strchr(s, '.');
		l = dot != NULL ? (size_t)(dot - s) : strlen(s);
		p->b[p->n++] = (unsigned char)l;
		memcpy(p->b + p->n, s, l);
		p->n += l;
		s += l;
		if (*s == '.')
			s++;
	}
	p->b[p->n++] = 0;
}

/* Header and the question "name NS IN". */
static void
begin(struct pkt *p, unsigned int flags, unsigned int an, unsigned int ns,
    const char *qname)
{
	p->n = 0;
	put16(p, 0x1234);
	put16(p, flags);
	put16(p, 1);
	put16(p, an);
	put16(p, ns);
	put16(p, 0);
	putname(p, qname);
	put16(p, 2);
	put16(p, 1);
}

static void
rr_ns(struct pkt *p, const char *owner, const char *target)
{
	size_t	len_at;

	putname(p, owner);
	put16(p, 2);
	put16(p, 1);
	put32(p, 3600);
	len_at = p->n;
	put16(p, 0);
	putname(p, target);
	p->b[len_at] = (unsigned char)((p->n - len_at - 2) >> 8);
	p->b[len_at + 1] = (unsigned char)(p->n - len_at - 2);
}

/* owner SOA with a short rdata (the parser skips it). */
static void
rr_soa(struct pkt *p, const char *owner)
{
	putname(p, owner);
	put16(p, 6);
	put16(p, 1);
	put32(p, 3600);
	put16(p, 20);
	putname(p, "a.b");		/* 5 */
	putname(p, "c.d");		/* 5 */
	put32(p, 1);			/* serial; the rest cut short */
	put16(p, 0);
	put16(p, 0);
	put16(p, 0);
}

static enum dns_outcome
parse(const struct pkt *p, const char *name, char *ns, size_t nslen,
    const char **why)
{
	return dns_parse(p->b, p->n, name, ns, nslen, why);
}

#define QR	0x8000
#define AA	0x0400
#define TC	0x0200

static void
test_referral(void **state)
{
	struct pkt	 p;
	char		 ns[ANSWER_MATCHED_LEN];
	const char	*why;

	(void)state;
	/* A TLD server's referral: NS in the authority section. */
	begin(&p, QR, 0, 2, "example.com");
	rr_ns(&p, "example.com", "ns1.example.net");
	rr_ns(&p, "EXAMPLE.COM", "NS2.Example.ORG");
	assert_int_equal(parse(&p, "example.com", ns, sizeof(ns), &why),
	    DNS_DELEGATED);
	assert_string_equal(ns, "NS ns1.example.net, ns2.example.org");

	/* A server authoritative for both: NS in the answer. */
	begin(&p, QR | AA, 1, 0, "example.com");
	rr_ns(&p, "example.com", "a.example.com");
	assert_int_equal(parse(&p, "example.com", ns, sizeof(ns), &why),
	    DNS_DELEGATED);
	assert_string_equal(ns, "NS a.example.com");

	/* The evidence is cut to fit, never overflows. */
	begin(&p, QR, 0, 2, "example.com");
	rr_ns(&p, "example.com", "ns1.example.net");
	rr_ns(&p, "example.com", "ns2.example.net");
	assert_int_equal(parse(&p, "example.com", ns, 12, &why),
	    DNS_DELEGATED);
	assert_string_equal(ns, "NS ns1.exam");
}

static void
test_nothing(void **state)
{
	struct pkt	 p;
	char		 ns[ANSWER_MATCHED_LEN];
	const char	*why;

	(void)state;
	begin(&p, QR | AA | 3, 0, 1, "free.com");
	rr_soa(&p, "com");
	assert_int_equal(parse(&p, "free.com", ns, sizeof(ns), &why),
	    DNS_NOTHING);
	assert_string_equal(why, "NXDOMAIN");
	assert_string_equal(ns, "");

	/* NODATA: the name exists, no delegation (e.g. held names). */
	begin(&p, QR | AA, 0, 1, "held.com");
	rr_soa(&p, "com");
	assert_int_equal(parse(&p, "held.com", ns, sizeof(ns), &why),
	    DNS_NOTHING);
	assert_string_equal(why, "no delegation");

	/* A referral to the zone above the name proves nothing. */
	begin(&p, QR, 0, 1, "example.com.au");
	rr_ns(&p, "com.au", "ns.com-au.test");
	assert_int_equal(parse(&p, "example.com.au", ns, sizeof(ns), &why),
	    DNS_NOTHING);
	/* Nor does a lame server's upward referral to the root. */
	begin(&p, QR, 0, 1, "example.com");
	rr_ns(&p, "", "a.root-servers.net");
	assert_int_equal(parse(&p, "example.com", ns, sizeof(ns), &why),
	    DNS_NOTHING);
	/* Nor NS records of a name below it. */
	begin(&p, QR, 0, 1, "example.com");
	rr_ns(&p, "www.example.com", "ns.test");
	assert_int_equal(parse(&p, "example.com", ns, sizeof(ns), &why),
	    DNS_NOTHING);

	/* SERVFAIL, REFUSED, truncated: even with NS records in them. */
	begin(&p, QR | 2, 0, 1, "example.com");
	rr_ns(&p, "example.com", "ns.test");
	assert_int_equal(parse(&p, "example.com", ns, sizeof(ns), &why),
	    DNS_NOTHING);
	assert_string_equal(why, "SERVFAIL");
	begin(&p, QR | 5, 0, 1, "example.com");
	rr_ns(&p, "example.com", "ns.test");
	assert_int_equal(parse(&p, "example.com", ns, sizeof(ns), &why),
	    DNS_NOTHING);
	begin(&p, QR | TC, 0, 1, "example.com");
	rr_ns(&p, "example.com", "ns.test");
	assert_int_equal(parse(&p, "example.com", ns, sizeof(ns), &why),
	    DNS_NOTHING);
	assert_string_equal(why, "truncated");

	/* A reply to another question, or a query. */
	begin(&p, QR, 0, 1, "other.com");
	rr_ns(&p, "example.com", "ns.test");
	assert_int_equal(parse(&p, "example.com", ns, sizeof(ns), &why),
	    DNS_NOTHING);
	begin(&p, 0, 0, 1, "example.com");
	rr_ns(&p, "example.com", "ns.test");
	assert_int_equal(parse(&p, "example.com", ns, sizeof(ns), &why),
	    DNS_NOTHING);
}

static void
test_malformed(void **state)
{
	struct pkt	 p, q;
	char		 ns[ANSWER_MATCHED_LEN];
	const char	*why;
	size_t		 i;
	unsigned int	 seed = 1;
	int		 k;

	(void)state;
	/* Every cut of a good referral: nothing, until it is whole. */
	begin(&p, QR, 0, 1, "example.com");
	rr_ns(&p, "example.com", "ns.test");
	for (i = 0; i < p.n; i++)
		assert_int_equal(dns_parse(p.b, i, "example.com", ns,
		    sizeof(ns), &why), DNS_NOTHING);
	assert_int_equal(parse(&p, "example.com", ns, sizeof(ns), &why),
	    DNS_DELEGATED);

	/* A compression loop. */
	begin(&p, QR, 0, 1, "example.com");
	p.b[p.n++] = 0xc0;
	p.b[p.n] = (unsigned char)p.n - 1;
	p.n++;
	put16(&p, 2);
	put16(&p, 1);
	put32(&p, 1);
	put16(&p, 2);
	p.b[p.n++] = 0xc0;
	p.b[p.n++] = 12;
	assert_int_equal(parse(&p, "example.com", ns, sizeof(ns), &why),
	    DNS_NOTHING);

	/* Random damage: two outcomes only, and no crash. */
	begin(&q, QR, 0, 2, "example.com");
	rr_ns(&q, "example.com", "ns1.test");
	rr_ns(&q, "example.com", "ns2.test");
	for (k = 0; k < 20000; k++) {
		p = q;
		for (i = 0; i < 3; i++)
			p.b[12 + rand_r(&seed) % (p.n - 12)] =
			    (unsigned char)rand_r(&seed);
		switch (parse(&p, "example.com", ns, sizeof(ns), &why)) {
		case DNS_NOTHING:
		case DNS_DELEGATED:
			break;
		default:
			fail_msg("a third outcome");
		}
	}
}

/* The answer of a pre-check is registered, whatever it is given. */
static void
test_answer(void **state)
{
	struct answer		a;
	struct dns_result	r;

	(void)state;
	_Static_assert(DNS_NOTHING == 0 && DNS_DELEGATED == 1,
	    "the pre-check has two outcomes");
	memset(&a, 0, sizeof(a));
	memset(&r, 0, sizeof(r));
	a.a_status = AS_AVAILABLE;
	snprintf(a.a_reason, sizeof(a.a_reason), "stale");
	r.dr_outcome = DNS_DELEGATED;
	snprintf(r.dr_ns, sizeof(r.dr_ns), "NS a.test, b.test");
	r.dr_ms = 2.6;
	dns_answer(&a, &r);
	assert_int_equal(a.a_status, AS_REGISTERED);
	assert_int_equal(a.a_channel, CH_DNS);
	assert_string_equal(a.a_reason, "");
	assert_string_equal(a.a_rule, ANSWER_RULE_DNS);
	assert_string_equal(a.a_matched, "NS a.test, b.test");
	assert_int_equal(a.a_latency_ms, 3);
}

static void
test_hints(void **state)
{
	struct dns_hints	*h;
	char			 path[] = "/tmp/test_dns_XXXXXX", err[256];
	const char		*zone, *csv;
	FILE			*fp;
	int			 fd;

	(void)state;
	assert_true((fd = mkstemp(path)) >= 0);
	fp = fdopen(fd, "w");
	fprintf(fp, "# comment\n\nuk 192.0.2.1 192.0.2.2  # two\n"
	    "COM 192.0.2.3 2001:db8::1\n");
	fclose(fp);
	h = dns_hints_load(path, err, sizeof(err));
	if (h == NULL)
		fail_msg("%s", err);
	assert_non_null(csv = dns_hints_find(h, "co.uk", &zone));
	assert_string_equal(zone, "uk");
	assert_string_equal(csv, "192.0.2.1:53,192.0.2.2:53");
	assert_non_null(csv = dns_hints_find(h, "com", &zone));
	assert_string_equal(csv, "192.0.2.3:53,[2001:db8::1]:53");
	assert_null(dns_hints_find(h, "de", &zone));
	dns_hints_free(h);

	fp = fopen(path, "w");
	fprintf(fp, "uk 192.0.2.1\nde 192.0.2.x\n");
	fclose(fp);
	assert_null(dns_hints_load(path, err, sizeof(err)));
	assert_non_null(strstr(err, ":2: de: bad address \"192.0.2.x\""));
	fp = fopen(path, "w");
	fprintf(fp, "uk\n");
	fclose(fp);
	assert_null(dns_hints_load(path, err, sizeof(err)));
	assert_non_null(strstr(err, ":1: uk: no address"));
	unlink(path);

	/* The shipped file loads and knows the TLDs of the tests. */
	h = dns_hints_load("etc/tld-servers.conf", err, sizeof(err));
	if (h == NULL)
		fail_msg("%s", err);
	assert_non_null(dns_hints_find(h, "com", &zone));
	assert_non_null(dns_hints_find(h, "co.uk", &zone));
	assert_string_equal(zone, "uk");
	dns_hints_free(h);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_referral),
		cmocka_unit_test(test_nothing),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_answer),
		cmocka_unit_test(test_hints),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
