/*
 * test_msg.c — msgpack messages: golden byte vectors for every type,
 * round trips, version rules, and corrupt or mistyped bodies.
 *
 * The vectors in tests/vectors/<name>.hex are the bytes the builders give
 * for the samples below (protocol version 2 unless the name says v1).
 * After a deliberate wire change, regenerate them with
 *	build/tests/test_msg --write-vectors tests/vectors
 * and review the diff: every changed byte is a protocol change.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "proto/auth.h"
#include "proto/msg.h"
#include "proto/msg_priv.h"

static const char *vector_dir = "tests/vectors";

/* ------------------------------------------------------------------ */
/* Samples */

static void
sample_answer(struct answer *a)
{
	memset(a, 0, sizeof(*a));
	snprintf(a->a_domain, sizeof(a->a_domain), "bücher.example");
	snprintf(a->a_ace, sizeof(a->a_ace), "xn--bcher-kva.example");
	a->a_status = AS_REGISTERED;
	a->a_source = SRC_REGISTRY;
	a->a_checked = 1795309200.25;
	a->a_expires = 1795395600.5;
	snprintf(a->a_registry, sizeof(a->a_registry), "whois.example.net");
	a->a_latency_ms = 123;
	snprintf(a->a_rule, sizeof(a->a_rule), "registered-pattern");
	snprintf(a->a_matched, sizeof(a->a_matched), "Domain Name: XN--BCHER-KVA.EXAMPLE");
	answer_set_text(a, "Domain Name: XN--BCHER-KVA.EXAMPLE\r\n", 36);
}

/* A delegation seen in the TLD's DNS: no registry text. */
static void
sample_dns_answer(struct answer *a)
{
	answer_free(a);
	sample_answer(a);
	answer_free(a);
	a->a_expires = 0;
	a->a_channel = CH_DNS;
	snprintf(a->a_rule, sizeof(a->a_rule), "%s", ANSWER_RULE_DNS);
	snprintf(a->a_matched, sizeof(a->a_matched),
	    "NS ns1.example.net, ns2.example.net");
}

/* Fixed bytes for the handshake's vectors: a nonce, a signature. */
static const uint8_t *
sample_nonce(int seed)
{
	static uint8_t	n[AUTH_NONCE_LEN];
	int		i;

	for (i = 0; i < AUTH_NONCE_LEN; i++)
		n[i] = (uint8_t)(seed + i);
	return n;
}

static const uint8_t *
sample_sig(void)
{
	static uint8_t	s[AUTH_SIG_LEN];
	int		i;

	for (i = 0; i < AUTH_SIG_LEN; i++)
		s[i] = (uint8_t)(0xa0 + i);
	return s;
}

static void
sample_event(struct errevent *e, int i)
{
	memset(e, 0, sizeof(*e));
	snprintf(e->ev_eid, sizeof(e->ev_eid), "host1-4242-%d", i);
	snprintf(e->ev_host, sizeof(e->ev_host), "host1");
	snprintf(e->ev_daemon, sizeof(e->ev_daemon), "whoisd-query");
	snprintf(e->ev_registry, sizeof(e->ev_registry), "whois.example.net");
	snprintf(e->ev_domain, sizeof(e->ev_domain), "example%d.net", i);
	snprintf(e->ev_kind, sizeof(e->ev_kind), i ? "timeout" : "ratelimited");
	snprintf(e->ev_msg, sizeof(e->ev_msg), "no answer in 5000 ms");
	e->ev_time = 1795309200.0 + i;
	e->ev_retry_after = i ? 0 : 60;
}

/* Build the sample of one vector name into b. */
static int
build_sample(const char *name, struct msgb *b)
{
	struct answer		a;
	struct errevent		ev[2];
	int			r = -2;

	sample_answer(&a);
	if (strcmp(name, "ok") == 0)
		r = msg_pack_ok(b, 7, 2);
	else if (strcmp(name, "ok_dup") == 0)
		r = msg_pack_ok_dup(b, 7, 2, 1);
	else if (strcmp(name, "err") == 0)
		r = msg_pack_err(b, 7, 2, MSG_E_BAD_REQUEST, "missing key domain");
	else if (strcmp(name, "goaway") == 0)
		r = msg_pack_goaway(b, 2);
	else if (strcmp(name, "ping") == 0)
		r = msg_pack_ping(b, 1, 2);
	else if (strcmp(name, "pong") == 0)
		r = msg_pack_pong(b, 1, 2);
	else if (strcmp(name, "get") == 0) {
		struct msg_get g = { .g_domain = "xn--bcher-kva.example",
		    .g_lease = 1 };
		r = msg_pack_get(b, 42, 2, &g);
	} else if (strcmp(name, "get_notext") == 0) {
		struct msg_get g = { .g_domain = "example.com", .g_lease = 1,
		    .g_notext = 1 };
		r = msg_pack_get(b, 45, 2, &g);
	} else if (strcmp(name, "get_if") == 0) {
		struct msg_get g = { .g_domain = "example.com", .g_lease = 1,
		    .g_if_checked = 1795309100.0, .g_if_expires = 1795395500.0,
		    .g_if_status = AS_REGISTERED };
		r = msg_pack_get(b, 46, 2, &g);
	} else if (strcmp(name, "get_r_same") == 0) {
		struct msg_get_r gr;
		memset(&gr, 0, sizeof(gr));
		gr.gr_found = 1;
		gr.gr_same = 1;
		snprintf(gr.gr_lease, sizeof(gr.gr_lease), "none");
		r = msg_pack_get_r(b, 46, 2, &gr);
	} else if (strcmp(name, "get_r") == 0) {
		struct msg_get_r gr;
		memset(&gr, 0, sizeof(gr));
		gr.gr_found = 1;
		gr.gr_stale = 1;
		snprintf(gr.gr_lease, sizeof(gr.gr_lease), "granted");
		gr.gr_answer = a;
		r = msg_pack_get_r(b, 42, 2, &gr);
	} else if (strcmp(name, "get_r_miss") == 0) {
		struct msg_get_r gr;
		memset(&gr, 0, sizeof(gr));
		snprintf(gr.gr_lease, sizeof(gr.gr_lease), "granted");
		r = msg_pack_get_r(b, 43, 2, &gr);
	} else if (strcmp(name, "put") == 0)
		r = msg_pack_put(b, 44, 2, &a);
	else if (strcmp(name, "timing") == 0) {
		struct msg_timing t = { "whois.example.net", 123, "ok" };
		r = msg_pack_timing(b, 45, 2, &t);
	} else if (strcmp(name, "timing_get") == 0)
		r = msg_pack_timing_get(b, 46, 2, "whois.example.net");
	else if (strcmp(name, "timing_r") == 0) {
		struct msg_timing_r t = { "whois.example.net", 200, 80, 250,
		    900, 190, 10, 1795309100.0 };
		r = msg_pack_timing_r(b, 46, 2, &t);
	} else if (strcmp(name, "stats") == 0)
		r = msg_pack_stats(b, 47, 2);
	else if (strcmp(name, "stats_r") == 0) {
		struct msg_counter c[3] = { { "hits", 1000 }, { "misses", 42 },
		    { "entries", 70000 } };
		r = msg_pack_stats_r(b, 47, 2, c, 3);
	} else if (strcmp(name, "purge") == 0) {
		struct msg_purge p = { "example.com", 0 };
		r = msg_pack_purge(b, 48, 2, &p);
	} else if (strcmp(name, "purge_all") == 0) {
		struct msg_purge p = { "", 1 };
		r = msg_pack_purge(b, 49, 2, &p);
	} else if (strcmp(name, "purge_r") == 0)
		r = msg_pack_purge_r(b, 48, 2, 3);
	else if (strcmp(name, "query") == 0) {
		struct msg_query q = { .q_domain = "xn--bcher-kva.example",
		    .q_deadline_ms = 4000 };
		r = msg_pack_query(b, 50, 2, &q);
	} else if (strcmp(name, "query_fair") == 0) {
		struct msg_query q = { "xn--bcher-kva.example", 4000,
		    "192.0.2.7", 1, 1 };
		r = msg_pack_query(b, 56, 2, &q);
	} else if (strcmp(name, "query_r") == 0)
		r = msg_pack_query_r(b, 50, 2, &a);
	else if (strcmp(name, "query_r_v1") == 0)
		r = msg_pack_query_r(b, 50, 1, &a);
	else if (strcmp(name, "query_r_dns") == 0) {
		sample_dns_answer(&a);
		r = msg_pack_query_r(b, 51, 2, &a);
	}
	else if (strcmp(name, "error") == 0) {
		sample_event(&ev[0], 0);
		r = msg_pack_error(b, 51, 2, &ev[0]);
	} else if (strcmp(name, "health") == 0)
		r = msg_pack_health(b, 52, 2, "whois.example.net");
	else if (strcmp(name, "health_all") == 0)
		r = msg_pack_health(b, 53, 2, NULL);
	else if (strcmp(name, "health_r") == 0) {
		struct reghealth h[2] = {
			{ "whois.example.net", "backoff", 1795309260.0, 12 },
			{ "whois.example.org", "ok", 0, 0 } };
		r = msg_pack_health_r(b, 52, 2, h, 2);
	} else if (strcmp(name, "errors") == 0) {
		struct msg_errors q = { "whois.example.net", "timeout",
		    1795300000.0, 50 };
		r = msg_pack_errors(b, 54, 2, &q);
	} else if (strcmp(name, "errors_r") == 0) {
		sample_event(&ev[0], 0);
		sample_event(&ev[1], 1);
		r = msg_pack_errors_r(b, 54, 2, ev, 2);
	} else if (strcmp(name, "health_clear") == 0)
		r = msg_pack_health_clear(b, 55, 2, "whois.example.net");
	else if (strcmp(name, "ok_n") == 0)
		r = msg_pack_ok_n(b, 55, 2, 3);
	else if (strcmp(name, "hello") == 0)
		r = msg_pack_hello(b, 1, 2, ROLE_QUERY, sample_nonce(0x10));
	else if (strcmp(name, "hello_r") == 0)
		r = msg_pack_hello_r(b, 1, 2, ROLE_CACHE, sample_nonce(0x20),
		    sample_sig());
	else if (strcmp(name, "auth") == 0)
		r = msg_pack_auth(b, 2, 2, sample_sig());
	answer_free(&a);
	return r;
}

static const char *vector_names[] = {
	"ok", "ok_dup", "err", "goaway", "ping", "pong", "get", "get_notext",
	"get_if", "get_r", "get_r_same",
	"get_r_miss", "put", "timing", "timing_get", "timing_r", "stats",
	"stats_r", "purge", "purge_all", "purge_r", "query", "query_r",
	"query_r_v1", "query_r_dns", "error", "health", "health_all",
	"health_r", "errors", "errors_r", "health_clear", "ok_n", "hello",
	"hello_r", "auth", "query_fair", NULL
};

static char *
hexdump(const void *p, size_t len)
{
	const uint8_t	*u = p;
	char		*s = malloc(len * 3 + len / 32 + 2), *q = s;
	size_t		 i;

	for (i = 0; i < len; i++)
		q += sprintf(q, "%02x%s", u[i],
		    (i + 1) % 32 == 0 || i + 1 == len ? "\n" : " ");
	*q = '\0';
	return s;
}

static char *
read_file(const char *path)
{
	FILE	*fp = fopen(path, "r");
	char	*s;
	long	 n;

	if (fp == NULL)
		return NULL;
	fseek(fp, 0, SEEK_END);
	n = ftell(fp);
	fseek(fp, 0, SEEK_SET);
	s = calloc(1, (size_t)n + 1);
	if (fread(s, 1, (size_t)n, fp) != (size_t)n) {
		free(s);
		s = NULL;
	}
	fclose(fp);
	return s;
}

static int
write_vectors(const char *dir)
{
	struct msgb	 b;
	char		 path[512], *hex;
	FILE		*fp;
	int		 i;

	msgb_init(&b);
	for (i = 0; vector_names[i] != NULL; i++) {
		if (build_sample(vector_names[i], &b) != 0) {
			fprintf(stderr, "%s: build failed\n", vector_names[i]);
			return 1;
		}
		snprintf(path, sizeof(path), "%s/%s.hex", dir, vector_names[i]);
		if ((fp = fopen(path, "w")) == NULL) {
			perror(path);
			return 1;
		}
		hex = hexdump(msgb_data(&b), msgb_len(&b));
		fputs(hex, fp);
		free(hex);
		fclose(fp);
		printf("wrote %s (%zu bytes)\n", path, msgb_len(&b));
	}
	msgb_free(&b);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Golden vectors */

static void
test_vectors(void **state)
{
	struct msgb	 b;
	char		 path[512], *want, *got;
	int		 i;

	(void)state;
	msgb_init(&b);
	for (i = 0; vector_names[i] != NULL; i++) {
		assert_int_equal(build_sample(vector_names[i], &b), 0);
		snprintf(path, sizeof(path), "%s/%s.hex", vector_dir,
		    vector_names[i]);
		want = read_file(path);
		if (want == NULL)
			fail_msg("missing vector %s", path);
		got = hexdump(msgb_data(&b), msgb_len(&b));
		if (strcmp(want, got) != 0)
			fail_msg("%s differs:\nwant\n%sgot\n%s", path, want, got);
		free(want);
		free(got);
		/* deterministic: the same call twice, the same bytes */
		{
			struct msgb	b2;
			msgb_init(&b2);
			assert_int_equal(build_sample(vector_names[i], &b2), 0);
			assert_int_equal(msgb_len(&b), msgb_len(&b2));
			assert_memory_equal(msgb_data(&b), msgb_data(&b2),
			    msgb_len(&b));
			msgb_free(&b2);
		}
	}
	msgb_free(&b);
}

/* A hand-written vector pins the header layout independently. */
static void
test_ok_bytes(void **state)
{
	struct msgb	b;
	const uint8_t	want[] = {
		0x83,			/* map of 3 */
		0xa1, 'v', 0x02,
		0xa1, 't', 0xa2, 'o', 'k',
		0xa2, 'i', 'd', 0xcf, 0, 0, 0, 0, 0, 0, 0x01, 0x02,
	};

	(void)state;
	msgb_init(&b);
	assert_int_equal(msg_pack_ok(&b, 0x102, 2), 0);
	assert_int_equal(msgb_len(&b), sizeof(want));
	assert_memory_equal(msgb_data(&b), want, sizeof(want));
	msgb_set_id(&b, 0x0a0b);
	assert_int_equal(((const uint8_t *)msgb_data(&b))[19], 0x0a);
	assert_int_equal(((const uint8_t *)msgb_data(&b))[20], 0x0b);
	msgb_free(&b);
}

/* ------------------------------------------------------------------ */
/* Round trips */

static struct msg *
reparse(const struct msgb *b)
{
	char		 err[256];
	struct msg	*m;

	m = msg_unpack_copy(msgb_data(b), msgb_len(b), err, sizeof(err));
	if (m == NULL)
		fail_msg("unpack: %s", err);
	return m;
}

static void
assert_answer_eq(const struct answer *x, const struct answer *y, int v2)
{
	assert_string_equal(x->a_domain, y->a_domain);
	assert_string_equal(x->a_ace, y->a_ace);
	assert_int_equal(x->a_status, y->a_status);
	assert_string_equal(x->a_reason, y->a_reason);
	assert_int_equal(x->a_source, y->a_source);
	assert_true(x->a_checked == y->a_checked);
	assert_true(x->a_expires == y->a_expires);
	assert_string_equal(x->a_registry, y->a_registry);
	assert_int_equal(x->a_latency_ms, y->a_latency_ms);
	if (v2) {
		assert_string_equal(x->a_rule, y->a_rule);
		assert_string_equal(x->a_matched, y->a_matched);
	} else {
		assert_string_equal(y->a_rule, "");
		assert_string_equal(y->a_matched, "");
	}
	assert_int_equal(x->a_text_len, y->a_text_len);
	if (x->a_text_len)
		assert_memory_equal(x->a_text, y->a_text, x->a_text_len);
	assert_int_equal(x->a_retry_after, y->a_retry_after);
}

static void
test_roundtrip_all(void **state)
{
	struct msgb	 b;
	struct msg	*m;
	struct answer	 a, a2;
	char		 err[256], s1[256], s2[256];
	int		 i, dup;
	uint64_t	 n;

	(void)state;
	msgb_init(&b);
	sample_answer(&a);

	/* every vector parses and has the right type name */
	for (i = 0; vector_names[i] != NULL; i++) {
		assert_int_equal(build_sample(vector_names[i], &b), 0);
		m = reparse(&b);
		assert_int_not_equal(msg_type(m), MSG_UNKNOWN);
		assert_non_null(strstr(vector_names[i], msg_tname(m)));
		msg_free(m);
	}

	build_sample("ok_dup", &b);
	m = reparse(&b);
	assert_int_equal(msg_id(m), 7);
	assert_int_equal(msg_version(m), 2);
	assert_int_equal(msg_read_ok_dup(m, &dup, err, sizeof(err)), 0);
	assert_int_equal(dup, 1);
	msg_free(m);
	build_sample("ok", &b);
	m = reparse(&b);
	assert_int_equal(msg_read_ok_dup(m, &dup, err, sizeof(err)), 0);
	assert_int_equal(dup, 0);
	msg_free(m);

	build_sample("err", &b);
	m = reparse(&b);
	assert_int_equal(msg_type(m), MSG_ERR);
	assert_int_equal(msg_read_err(m, s1, sizeof(s1), s2, sizeof(s2), err,
	    sizeof(err)), 0);
	assert_string_equal(s1, "bad-request");
	assert_string_equal(s2, "missing key domain");
	msg_free(m);

	{
		struct msg_get g;
		build_sample("get", &b);
		m = reparse(&b);
		assert_int_equal(msg_read_get(m, &g, err, sizeof(err)), 0);
		assert_string_equal(g.g_domain, "xn--bcher-kva.example");
		assert_int_equal(g.g_lease, 1);
		/* the wrong reader for the type fails */
		assert_int_equal(msg_read_put(m, &a2, err, sizeof(err)), -1);
		assert_non_null(strstr(err, "expected a put message"));
		msg_free(m);
	}
	{
		struct msg_get_r gr;
		build_sample("get_r", &b);
		m = reparse(&b);
		assert_int_equal(msg_read_get_r(m, &gr, err, sizeof(err)), 0);
		assert_int_equal(gr.gr_found, 1);
		assert_int_equal(gr.gr_stale, 1);
		assert_string_equal(gr.gr_lease, "granted");
		assert_answer_eq(&a, &gr.gr_answer, 1);
		answer_free(&gr.gr_answer);
		msg_free(m);
		build_sample("get_r_miss", &b);
		m = reparse(&b);
		assert_int_equal(msg_read_get_r(m, &gr, err, sizeof(err)), 0);
		assert_int_equal(gr.gr_found, 0);
		assert_null(gr.gr_answer.a_text);
		msg_free(m);
		/* same: found, no answer */
		build_sample("get_r_same", &b);
		m = reparse(&b);
		assert_int_equal(msg_read_get_r(m, &gr, err, sizeof(err)), 0);
		assert_int_equal(gr.gr_found, 1);
		assert_int_equal(gr.gr_same, 1);
		assert_int_equal(gr.gr_stale, 0);
		assert_string_equal(gr.gr_answer.a_domain, "");
		assert_null(gr.gr_answer.a_text);
		msg_free(m);
	}
	{
		struct msg_get g;
		build_sample("get_if", &b);
		m = reparse(&b);
		assert_int_equal(msg_read_get(m, &g, err, sizeof(err)), 0);
		assert_string_equal(g.g_domain, "example.com");
		assert_true(g.g_if_checked == 1795309100.0);
		assert_true(g.g_if_expires == 1795395500.0);
		assert_int_equal(g.g_if_status, AS_REGISTERED);
		msg_free(m);
		/* a plain get has no "if" */
		build_sample("get", &b);
		m = reparse(&b);
		assert_int_equal(msg_read_get(m, &g, err, sizeof(err)), 0);
		assert_true(g.g_if_checked == 0);
		msg_free(m);
	}
	build_sample("put", &b);
	m = reparse(&b);
	assert_int_equal(msg_read_put(m, &a2, err, sizeof(err)), 0);
	assert_answer_eq(&a, &a2, 1);
	answer_free(&a2);
	msg_free(m);

	build_sample("query_r_v1", &b);
	m = reparse(&b);
	if (PROTO_VERSION_OK(1)) {
		assert_non_null(m);
		assert_int_equal(msg_version(m), 1);
		assert_int_equal(msg_read_query_r(m, &a2, err, sizeof(err)), 0);
		assert_answer_eq(&a, &a2, 0);
		answer_free(&a2);
	}
	msg_free(m);
	{
		struct msg_timing t;
		struct msg_timing_r tr;
		build_sample("timing", &b);
		m = reparse(&b);
		assert_int_equal(msg_read_timing(m, &t, err, sizeof(err)), 0);
		assert_string_equal(t.tm_registry, "whois.example.net");
		assert_int_equal(t.tm_ms, 123);
		assert_string_equal(t.tm_outcome, "ok");
		msg_free(m);
		build_sample("timing_get", &b);
		m = reparse(&b);
		assert_int_equal(msg_read_timing_get(m, s1, sizeof(s1), err,
		    sizeof(err)), 0);
		assert_string_equal(s1, "whois.example.net");
		msg_free(m);
		build_sample("timing_r", &b);
		m = reparse(&b);
		assert_int_equal(msg_read_timing_r(m, &tr, err, sizeof(err)), 0);
		assert_int_equal(tr.tr_n, 200);
		assert_int_equal(tr.tr_p50, 80);
		assert_int_equal(tr.tr_p90, 250);
		assert_int_equal(tr.tr_p99, 900);
		assert_int_equal(tr.tr_ok, 190);
		assert_int_equal(tr.tr_fail, 10);
		assert_true(tr.tr_last_ratelimit == 1795309100.0);
		msg_free(m);
	}
	{
		struct msg_counter *c;
		size_t nc;
		build_sample("stats_r", &b);
		m = reparse(&b);
		assert_int_equal(msg_read_stats_r(m, &c, &nc, err, sizeof(err)), 0);
		assert_int_equal(nc, 3);
		assert_string_equal(c[2].mc_name, "entries");
		assert_int_equal(c[2].mc_value, 70000);
		free(c);
		msg_free(m);
	}
	{
		struct msg_purge p;
		build_sample("purge", &b);
		m = reparse(&b);
		assert_int_equal(msg_read_purge(m, &p, err, sizeof(err)), 0);
		assert_string_equal(p.pg_domain, "example.com");
		assert_int_equal(p.pg_all, 0);
		msg_free(m);
		build_sample("purge_all", &b);
		m = reparse(&b);
		assert_int_equal(msg_read_purge(m, &p, err, sizeof(err)), 0);
		assert_string_equal(p.pg_domain, "");
		assert_int_equal(p.pg_all, 1);
		msg_free(m);
		build_sample("purge_r", &b);
		m = reparse(&b);
		assert_int_equal(msg_read_purge_r(m, &n, err, sizeof(err)), 0);
		assert_int_equal(n, 3);
		msg_free(m);
	}
	{
		struct msg_query q;
		memset(&q, 0, sizeof(q));
		build_sample("query", &b);
		m = reparse(&b);
		assert_int_equal(msg_read_query(m, &q, err, sizeof(err)), 0);
		assert_string_equal(q.q_domain, "xn--bcher-kva.example");
		assert_int_equal(q.q_deadline_ms, 4000);
		/* An older front's query: one anonymous client, not bulk. */
		assert_string_equal(q.q_client, "");
		assert_int_equal(q.q_bulk, 0);
		assert_int_equal(q.q_full, 0);
		msg_free(m);
		build_sample("query_fair", &b);
		m = reparse(&b);
		assert_int_equal(msg_read_query(m, &q, err, sizeof(err)), 0);
		assert_string_equal(q.q_client, "192.0.2.7");
		assert_int_equal(q.q_bulk, 1);
		assert_int_equal(q.q_full, 1);
		msg_free(m);
		build_sample("query_r", &b);
		m = reparse(&b);
		assert_int_equal(msg_read_query_r(m, &a2, err, sizeof(err)), 0);
		assert_answer_eq(&a, &a2, 1);
		answer_free(&a2);
		msg_free(m);
	}
	{
		struct errevent e, want, *ev;
		size_t ne;
		build_sample("error", &b);
		m = reparse(&b);
		assert_int_equal(msg_read_error(m, &e, err, sizeof(err)), 0);
		sample_event(&want, 0);
		assert_memory_equal(&e, &want, sizeof(e));
		msg_free(m);
		build_sample("errors_r", &b);
		m = reparse(&b);
		assert_int_equal(msg_read_errors_r(m, &ev, &ne, err,
		    sizeof(err)), 0);
		assert_int_equal(ne, 2);
		sample_event(&want, 1);
		assert_memory_equal(&ev[1], &want, sizeof(want));
		free(ev);
		msg_free(m);
	}
	{
		struct msg_errors q;
		build_sample("errors", &b);
		m = reparse(&b);
		assert_int_equal(msg_read_errors(m, &q, err, sizeof(err)), 0);
		assert_string_equal(q.es_registry, "whois.example.net");
		assert_string_equal(q.es_kind, "timeout");
		assert_true(q.es_since == 1795300000.0);
		assert_int_equal(q.es_limit, 50);
		msg_free(m);
	}
	{
		struct reghealth *h;
		size_t nh;
		build_sample("health", &b);
		m = reparse(&b);
		assert_int_equal(msg_read_health(m, s1, sizeof(s1), err,
		    sizeof(err)), 0);
		assert_string_equal(s1, "whois.example.net");
		msg_free(m);
		build_sample("health_all", &b);
		m = reparse(&b);
		assert_int_equal(msg_read_health(m, s1, sizeof(s1), err,
		    sizeof(err)), 0);
		assert_string_equal(s1, "");
		msg_free(m);
		build_sample("health_r", &b);
		m = reparse(&b);
		assert_int_equal(msg_read_health_r(m, &h, &nh, err,
		    sizeof(err)), 0);
		assert_int_equal(nh, 2);
		assert_string_equal(h[0].rh_state, "backoff");
		assert_true(h[0].rh_until == 1795309260.0);
		assert_int_equal(h[0].rh_recent, 12);
		assert_string_equal(h[1].rh_registry, "whois.example.org");
		free(h);
		msg_free(m);
	}
	{
		build_sample("health_clear", &b);
		m = reparse(&b);
		assert_int_equal(msg_read_health_clear(m, s1, sizeof(s1), err,
		    sizeof(err)), 0);
		assert_string_equal(s1, "whois.example.net");
		msg_free(m);
		/* The registry is what is cleared: none is a bad request. */
		msgb_begin(&b, "health_clear", 56, 0, 2);
		assert_int_equal(msgb_end(&b), 0);
		m = reparse(&b);
		assert_int_equal(msg_read_health_clear(m, s1, sizeof(s1), err,
		    sizeof(err)), -1);
		msg_free(m);
		assert_int_equal(msg_pack_health_clear(&b, 57, 2, ""), 0);
		m = reparse(&b);
		assert_int_equal(msg_read_health_clear(m, s1, sizeof(s1), err,
		    sizeof(err)), -1);
		msg_free(m);
		build_sample("ok_n", &b);
		m = reparse(&b);
		assert_int_equal(msg_read_ok_n(m, &n, err, sizeof(err)), 0);
		assert_int_equal(n, 3);
		msg_free(m);
	}
	{
		enum link_role	role;
		uint8_t		nonce[AUTH_NONCE_LEN], sig[AUTH_SIG_LEN];

		build_sample("hello", &b);
		m = reparse(&b);
		assert_int_equal(msg_read_hello(m, &role, nonce, err,
		    sizeof(err)), 0);
		assert_int_equal(role, ROLE_QUERY);
		assert_memory_equal(nonce, sample_nonce(0x10), AUTH_NONCE_LEN);
		msg_free(m);
		build_sample("hello_r", &b);
		m = reparse(&b);
		assert_int_equal(msg_read_hello_r(m, &role, nonce, sig, err,
		    sizeof(err)), 0);
		assert_int_equal(role, ROLE_CACHE);
		assert_memory_equal(sig, sample_sig(), AUTH_SIG_LEN);
		msg_free(m);
		build_sample("auth", &b);
		m = reparse(&b);
		assert_int_equal(msg_read_auth(m, sig, err, sizeof(err)), 0);
		msg_free(m);
		/* A role this build does not know, a short nonce, a long
		 * signature: refused, not truncated. */
		msgb_begin(&b, "hello", 3, 2, 2);
		msgb_str(&b, "role", "root");
		msgb_bin(&b, "nonce", sample_nonce(1), AUTH_NONCE_LEN);
		assert_int_equal(msgb_end(&b), 0);
		m = reparse(&b);
		assert_int_equal(msg_read_hello(m, &role, nonce, err,
		    sizeof(err)), -1);
		assert_non_null(strstr(err, "unknown role"));
		msg_free(m);
		msgb_begin(&b, "hello", 3, 2, 2);
		msgb_str(&b, "role", "front");
		msgb_bin(&b, "nonce", sample_nonce(1), AUTH_NONCE_LEN - 1);
		assert_int_equal(msgb_end(&b), 0);
		m = reparse(&b);
		assert_int_equal(msg_read_hello(m, &role, nonce, err,
		    sizeof(err)), -1);
		msg_free(m);
		msgb_begin(&b, "auth", 4, 1, 2);
		msgb_bin(&b, "sig", sample_sig(), AUTH_SIG_LEN);
		assert_int_equal(msgb_end(&b), 0);
		m = reparse(&b);
		assert_int_equal(msg_read_auth(m, sig, err, sizeof(err)), 0);
		msg_free(m);
	}
	answer_free(&a);
	msgb_free(&b);
}

/* A 64 KB registry text survives packing, framing with deflate, and
 * reading back. */
#include <event2/buffer.h>
#include "proto/frame.h"

static void
test_big_text_compressed(void **state)
{
	struct msgb		 b;
	struct answer		 a, a2;
	struct evbuffer		*eb = evbuffer_new();
	struct frame		 fr;
	struct msg		*m;
	char			*text, err[256];
	size_t			 n = 70000, i;
	uint8_t			 flags;

	(void)state;
	sample_answer(&a);
	text = malloc(n);
	for (i = 0; i < n; i++)
		text[i] = "Registrar: Example\r\nStatus: ok\r\n"[i % 32];
	answer_set_text(&a, text, n);
	msgb_init(&b);
	assert_int_equal(msg_pack_put(&b, 9, 2, &a), 0);
	assert_int_equal(frame_write(eb, msgb_data(&b), msgb_len(&b), NULL), 0);
	evbuffer_copyout(eb, &flags, 0);
	{
		uint8_t hdr[5];
		evbuffer_copyout(eb, hdr, 5);
		assert_int_equal(hdr[4], FRAME_F_DEFLATE);
	}
	assert_true(evbuffer_get_length(eb) < n / 4);
	assert_int_equal(frame_read(eb, NULL, &fr, err, sizeof(err)), 1);
	m = msg_unpack(fr.fr_body, fr.fr_len, NULL, NULL, NULL, err, sizeof(err));
	assert_non_null(m);
	assert_int_equal(msg_read_put(m, &a2, err, sizeof(err)), 0);
	assert_int_equal(a2.a_text_len, n);
	assert_memory_equal(a2.a_text, text, n);
	assert_int_equal(a2.a_text[n], '\0');
	answer_free(&a2);
	msg_free(m);
	answer_free(&a);
	msgb_free(&b);
	evbuffer_free(eb);
	free(text);
}

/* ------------------------------------------------------------------ */
/* Versions */

static void
test_versions(void **state)
{
	struct msgb	 b;
	struct msg	*m;
	struct answer	 a;
	char		 err[256];
	uint64_t	 id;
	int		 v;
	const char	*code;
	void		*copy;

	(void)state;
	assert_true(PROTO_VERSION_OK(PROTO_VERSION));
	assert_true(PROTO_VERSION_OK(PROTO_VERSION - 1) == (PROTO_VERSION > 1));
	assert_false(PROTO_VERSION_OK(PROTO_VERSION + 1));
	assert_false(PROTO_VERSION_OK(0));
	msgb_init(&b);
	/* two versions ahead and zero: refused, id and v still reported */
	msg_pack_ping(&b, 77, PROTO_VERSION + 1);
	copy = malloc(msgb_len(&b));
	memcpy(copy, msgb_data(&b), msgb_len(&b));
	m = msg_unpack(copy, msgb_len(&b), &id, &v, &code, err, sizeof(err));
	assert_null(m);
	assert_int_equal(id, 77);
	assert_int_equal(v, PROTO_VERSION + 1);
	assert_string_equal(code, MSG_E_BAD_VERSION);
	assert_non_null(strstr(err, "not supported"));
	/* a v1 peer gets no rule/matched */
	sample_answer(&a);
	msg_pack_query_r(&b, 1, 1, &a);
	assert_null(memmem(msgb_data(&b), msgb_len(&b), "matched", 7));
	assert_null(memmem(msgb_data(&b), msgb_len(&b), "rule", 4));
	msg_pack_query_r(&b, 1, 2, &a);
	assert_non_null(memmem(msgb_data(&b), msgb_len(&b), "matched", 7));
	answer_free(&a);
	msgb_free(&b);
}

/* ------------------------------------------------------------------ */
/* Corrupt and mistyped bodies, built byte by byte */

static void
expect_unpack_fail(const void *body, size_t len, const char *errpart,
    uint64_t wantid)
{
	struct msg	*m;
	void		*copy = malloc(len ? len : 1);
	char		 err[256] = "";
	uint64_t	 id = 999;

	memcpy(copy, body, len);
	m = msg_unpack(copy, len, &id, NULL, NULL, err, sizeof(err));
	if (m != NULL)
		fail_msg("unpacked, expected \"%s\"", errpart);
	assert_true(err[0] != '\0');
	if (strstr(err, errpart) == NULL)
		fail_msg("err \"%s\", expected \"%s\"", err, errpart);
	assert_int_equal(id, wantid);
}

static void
test_corrupt_bodies(void **state)
{
	/* {"v":2,"t":"ok","id":5} in pieces */
	const uint8_t	good[] = { 0x83, 0xa1, 'v', 0x02, 0xa1, 't', 0xa2, 'o',
	    'k', 0xa2, 'i', 'd', 0x05 };
	const uint8_t	arr[] = { 0x91, 0x01 };
	const uint8_t	str[] = { 0xa2, 'h', 'i' };
	const uint8_t	nov[] = { 0x82, 0xa1, 't', 0xa2, 'o', 'k', 0xa2, 'i',
	    'd', 0x05 };
	const uint8_t	not[] = { 0x82, 0xa1, 'v', 0x02, 0xa2, 'i', 'd', 0x05 };
	const uint8_t	noid[] = { 0x82, 0xa1, 'v', 0x02, 0xa1, 't', 0xa2, 'o',
	    'k' };
	const uint8_t	tint[] = { 0x83, 0xa1, 'v', 0x02, 0xa1, 't', 0x07, 0xa2,
	    'i', 'd', 0x05 };
	const uint8_t	idneg[] = { 0x83, 0xa1, 'v', 0x02, 0xa1, 't', 0xa2,
	    'o', 'k', 0xa2, 'i', 'd', 0xff };
	const uint8_t	vstr[] = { 0x83, 0xa1, 'v', 0xa1, '2', 0xa1, 't', 0xa2,
	    'o', 'k', 0xa2, 'i', 'd', 0x05 };
	/* a map claiming 2^32-1 pairs in 6 bytes */
	const uint8_t	huge[] = { 0xdf, 0xff, 0xff, 0xff, 0xff, 0x00 };
	/* a str32 claiming 4 GB */
	const uint8_t	hstr[] = { 0x81, 0xa1, 'x', 0xdb, 0xff, 0xff, 0xff,
	    0xff };
	const uint8_t	c1[] = { 0x81, 0xa1, 'x', 0xc1 };
	uint8_t		buf[64];
	size_t		i;
	struct msg	*m;
	char		err[128];

	(void)state;
	m = msg_unpack_copy(good, sizeof(good), err, sizeof(err));
	assert_non_null(m);
	assert_int_equal(msg_type(m), MSG_OK);
	msg_free(m);
	expect_unpack_fail(arr, sizeof(arr), "not a map", 0);
	expect_unpack_fail(str, sizeof(str), "not a map", 0);
	expect_unpack_fail(nov, sizeof(nov), "missing key v", 5);
	expect_unpack_fail(not, sizeof(not), "missing key t", 5);
	expect_unpack_fail(noid, sizeof(noid), "missing key id", 0);
	expect_unpack_fail(tint, sizeof(tint), "key t: expected string", 5);
	expect_unpack_fail(idneg, sizeof(idneg), "key id: expected uint", 0);
	expect_unpack_fail(vstr, sizeof(vstr), "key v: expected uint", 5);
	expect_unpack_fail(huge, sizeof(huge), "exceeds the body", 0);
	expect_unpack_fail(hstr, sizeof(hstr), "exceeds the body", 0);
	expect_unpack_fail(c1, sizeof(c1), "bad msgpack byte 0xc1", 0);
	expect_unpack_fail("", 0, "truncated", 0);
	/* trailing bytes after the map */
	memcpy(buf, good, sizeof(good));
	buf[sizeof(good)] = 0xc0;
	expect_unpack_fail(buf, sizeof(good) + 1, "trailing", 0);
	/* every truncation of a good body fails cleanly (as truncated, or
	 * as a container larger than what is left) */
	for (i = 0; i < sizeof(good); i++) {
		m = msg_unpack_copy(good, i, err, sizeof(err));
		assert_null(m);
		assert_true(strstr(err, "truncated") != NULL ||
		    strstr(err, "exceeds the body") != NULL);
	}
}

/* ------------------------------------------------------------------ */
/* The unpacking budget */

/* The most events an errors_r lists (ERRDB_LIST_MAX in whoisd-errdb). */
#define ERRORS_R_MAX	10000

/*
 * {"v":2,"t":"ping","id":7, then `nkeys` keys "k" holding nil, then
 * "pad": an array32 of `npad` nils, or of {"k": nil} maps if `maps`} in
 * a malloc'd buffer.
 */
static uint8_t *
ping_with(size_t nkeys, size_t npad, int maps, size_t *len)
{
	msgpack_sbuffer	 sb;
	msgpack_packer	 pk;
	uint8_t		*p;
	size_t		 i;

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, 4 + nkeys);
	msgpack_pack_str_with_body(&pk, "v", 1);
	msgpack_pack_uint8(&pk, 2);
	msgpack_pack_str_with_body(&pk, "t", 1);
	msgpack_pack_str_with_body(&pk, "ping", 4);
	msgpack_pack_str_with_body(&pk, "id", 2);
	msgpack_pack_uint8(&pk, 7);
	for (i = 0; i < nkeys; i++) {
		msgpack_pack_str_with_body(&pk, "k", 1);
		msgpack_pack_nil(&pk);
	}
	msgpack_pack_str_with_body(&pk, "pad", 3);
	msgpack_pack_array(&pk, (uint32_t)npad);
	for (i = 0; i < npad; i++) {
		if (maps) {
			msgpack_pack_map(&pk, 1);
			msgpack_pack_str_with_body(&pk, "k", 1);
		}
		msgpack_pack_nil(&pk);
	}
	*len = sb.size;
	p = (uint8_t *)msgpack_sbuffer_release(&sb);
	msgpack_sbuffer_destroy(&sb);
	return p;
}

/* Objects in ping_with(nkeys, npad, 0): the map, its keys and values,
 * the array's nils. */
#define PING_OBJECTS(nkeys, npad)	(1 + 2 * (4 + (nkeys)) + (npad))

static void
expect_budget_fail(uint8_t *body, size_t len, const char *errpart)
{
	expect_unpack_fail(body, len, errpart, 0);
	free(body);
}

static void
test_budget_objects(void **state)
{
	const size_t	 n = 1024 * 1024;
	uint8_t		*p;
	size_t		 len;
	struct msg	*m;
	char		 err[256];

	(void)state;
	/* 1M nils, bare: a few bytes each, 24 for msgpack-c */
	p = malloc(5 + n);
	assert_non_null(p);
	memcpy(p, "\xdd\x00\x10\x00\x00", 5);	/* array32 of n */
	memset(p + 5, 0xc0, n);
	expect_budget_fail(p, 5 + n, "msgpack body of at least 1048577 "
	    "objects exceeds the budget of 1048576");
	/* the same under a ping whose v, t and id are fine */
	p = ping_with(0, n, 0, &len);
	expect_budget_fail(p, len, "exceeds the budget");
	/* a map of many small keys */
	p = ping_with(n / 2, 0, 0, &len);
	expect_budget_fail(p, len, "exceeds the budget");
	/* many small maps, 3 objects each */
	p = ping_with(0, n / 3, 1, &len);
	expect_budget_fail(p, len, "exceeds the budget");
	/* exactly the budget passes, one object more does not */
	p = ping_with(0, MSG_MAX_OBJECTS - PING_OBJECTS(0, 0), 0, &len);
	m = msg_unpack(p, len, NULL, NULL, NULL, err, sizeof(err));
	if (m == NULL)
		fail_msg("at the budget: %s", err);
	assert_int_equal(msg_type(m), MSG_PING);
	msg_free(m);
	p = ping_with(0, MSG_MAX_OBJECTS - PING_OBJECTS(0, 0) + 1, 0, &len);
	expect_budget_fail(p, len, "exceeds the budget");
}

static void
test_budget_depth(void **state)
{
	uint8_t		 head[] = { 0x84, 0xa1, 'v', 0x02, 0xa1, 't', 0xa4, 'p',
	    'i', 'n', 'g', 0xa2, 'i', 'd', 0x07, 0xa1, 'x' };
	uint8_t		 buf[sizeof(head) + 64];
	struct msg	*m;
	char		 err[256];
	size_t		 len;
	int		 levels, i;

	(void)state;
	/* x: [[[...[nil]...]]]: the top map and `levels` arrays around it */
	for (levels = 1; levels <= 40; levels++) {
		memcpy(buf, head, sizeof(head));
		len = sizeof(head);
		for (i = 0; i < levels; i++)
			buf[len++] = 0x91;
		buf[len++] = 0xc0;
		if (1 + levels <= MSG_MAX_DEPTH) {
			m = msg_unpack_copy(buf, len, err, sizeof(err));
			if (m == NULL)
				fail_msg("%d levels: %s", 1 + levels, err);
			msg_free(m);
		} else
			expect_unpack_fail(buf, len, "msgpack body nested "
			    "deeper than 16 levels", 0);
	}
	/* an empty container holds nothing: one more level is free */
	memcpy(buf, head, sizeof(head));
	len = sizeof(head);
	for (i = 0; i < MSG_MAX_DEPTH - 1; i++)
		buf[len++] = 0x91;
	buf[len++] = 0x90;
	m = msg_unpack_copy(buf, len, err, sizeof(err));
	if (m == NULL)
		fail_msg("empty innermost array: %s", err);
	msg_free(m);
}

/* The largest listing a daemon sends still fits the budget. */
static void
test_budget_largest_listing(void **state)
{
	struct errevent	*ev, *got = NULL;
	struct msgb	 b;
	struct msg	*m;
	size_t		 i, n = 0;
	char		 err[256];

	(void)state;
	ev = calloc(ERRORS_R_MAX, sizeof(*ev));
	assert_non_null(ev);
	for (i = 0; i < ERRORS_R_MAX; i++) {
		sample_event(&ev[i], (int)i);
		/* every field set; host and msg as long as they go */
		memset(ev[i].ev_host, 'h', sizeof(ev[i].ev_host) - 1);
		memset(ev[i].ev_msg, 'm', sizeof(ev[i].ev_msg) - 1);
		ev[i].ev_retry_after = 60;
	}
	msgb_init(&b);
	assert_int_equal(msg_pack_errors_r(&b, 9, 2, ev, ERRORS_R_MAX), 0);
	/* within the default max_frame */
	assert_true(msgb_len(&b) < 16u * 1024 * 1024);
	m = reparse(&b);
	assert_int_equal(msg_read_errors_r(m, &got, &n, err, sizeof(err)), 0);
	assert_int_equal(n, ERRORS_R_MAX);
	assert_string_equal(got[ERRORS_R_MAX - 1].ev_msg,
	    ev[ERRORS_R_MAX - 1].ev_msg);
	/* a map and 9 keyed fields per event: far from the limit */
	assert_true(ERRORS_R_MAX * 19 * 5 < MSG_MAX_OBJECTS);
	free(got);
	msg_free(m);
	msgb_free(&b);
	free(ev);
}

static void
test_unknown_keys_and_types(void **state)
{
	struct msgb	 b;
	struct msg	*m;
	struct msg_query q;
	char		 err[256];

	(void)state;
	msgb_init(&b);
	/* extra keys are ignored by the reader */
	msgb_begin(&b, "query", 3, 4, 2);
	msgb_str(&b, "future", "x");
	msgb_str(&b, "domain", "example.com");
	msgb_map(&b, "nested", 1);
	msgb_uint(&b, "n", 1);
	msgb_uint(&b, "deadline_ms", 100);
	assert_int_equal(msgb_end(&b), 0);
	m = reparse(&b);
	assert_int_equal(msg_read_query(m, &q, err, sizeof(err)), 0);
	assert_string_equal(q.q_domain, "example.com");
	msg_free(m);
	/* a type this build does not know parses, as MSG_UNKNOWN */
	msgb_begin(&b, "frobnicate", 3, 0, 2);
	assert_int_equal(msgb_end(&b), 0);
	m = reparse(&b);
	assert_int_equal(msg_type(m), MSG_UNKNOWN);
	assert_string_equal(msg_tname(m), "frobnicate");
	msg_free(m);
	msgb_free(&b);
}

static void
test_field_errors(void **state)
{
	struct msgb	 b;
	struct msg	*m;
	struct msg_query q;
	struct answer	 a;
	struct msg_get	 g;
	char		 err[256], buf[8], big[300];
	uint64_t	 u;
	double		 d;
	int		 bo;

	(void)state;
	msgb_init(&b);
	msgb_begin(&b, "query", 3, 1, 2);
	msgb_uint(&b, "domain", 5);
	assert_int_equal(msgb_end(&b), 0);
	m = reparse(&b);
	assert_int_equal(msg_read_query(m, &q, err, sizeof(err)), -1);
	assert_string_equal(err, "key domain: expected string");
	assert_int_equal(msg_get_uint(m, "deadline_ms", &u, err, sizeof(err)), -1);
	assert_string_equal(err, "missing key deadline_ms");
	assert_int_equal(msg_opt_uint(m, "deadline_ms", &u, 9, err,
	    sizeof(err)), 1);
	assert_int_equal(u, 9);
	assert_int_equal(msg_get_float(m, "domain", &d, err, sizeof(err)), 0);
	assert_true(d == 5.0);
	assert_int_equal(msg_get_bool(m, "domain", &bo, err, sizeof(err)), -1);
	assert_string_equal(err, "key domain: expected bool");
	msg_free(m);

	/* a string longer than its field is refused, not cut */
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	msgb_begin(&b, "get", 3, 1, 2);
	msgb_str(&b, "domain", big);
	assert_int_equal(msgb_end(&b), 0);
	m = reparse(&b);
	assert_int_equal(msg_read_get(m, &g, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "key domain: too long"));
	assert_int_equal(msg_get_str(m, "domain", buf, sizeof(buf), err,
	    sizeof(err)), -1);
	msg_free(m);

	/* an embedded NUL is refused */
	msgb_begin(&b, "get", 3, 1, 2);
	msgb_strn(&b, "domain", "a\0b", 3);
	msgb_end(&b);
	m = reparse(&b);
	assert_int_equal(msg_read_get(m, &g, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "NUL"));
	msg_free(m);

	/* answers: a bad status, a missing field inside `a` */
	msgb_begin(&b, "put", 3, 1, 2);
	msgb_map(&b, "a", 7);
	msgb_str(&b, "domain", "x.com");
	msgb_str(&b, "ace", "x.com");
	msgb_str(&b, "status", "maybe");
	msgb_str(&b, "source", "cache");
	msgb_float(&b, "checked", 1);
	msgb_str(&b, "registry", "r");
	msgb_uint(&b, "latency_ms", 1);
	assert_int_equal(msgb_end(&b), 0);
	m = reparse(&b);
	assert_int_equal(msg_read_put(m, &a, err, sizeof(err)), -1);
	assert_string_equal(err, "a: key status: bad value \"maybe\"");
	msg_free(m);
	msgb_begin(&b, "put", 3, 1, 2);
	msgb_map(&b, "a", 2);
	msgb_str(&b, "domain", "x.com");
	msgb_str(&b, "ace", "x.com");
	msgb_end(&b);
	m = reparse(&b);
	assert_int_equal(msg_read_put(m, &a, err, sizeof(err)), -1);
	assert_string_equal(err, "a: missing key status");
	msg_free(m);

	/* a long `matched` is cut at a UTF-8 boundary, not refused */
	{
		struct answer	 x, y;
		size_t		 i;

		sample_answer(&x);
		msgb_begin(&b, "put", 3, 1, 2);
		msgb_map(&b, "a", 8);
		msgb_str(&b, "domain", x.a_domain);
		msgb_str(&b, "ace", x.a_ace);
		msgb_str(&b, "status", answer_status_name(x.a_status));
		msgb_str(&b, "source", answer_source_name(x.a_source));
		msgb_float(&b, "checked", x.a_checked);
		msgb_str(&b, "registry", x.a_registry);
		msgb_uint(&b, "latency_ms", 1);
		{
			char	 longm[1200];
			for (i = 0; i + 2 < sizeof(longm); i += 2) {
				longm[i] = (char)0xc3;	/* ü */
				longm[i + 1] = (char)0xbc;
			}
			longm[i] = '\0';
			msgb_str(&b, "matched", longm);
		}
		assert_int_equal(msgb_end(&b), 0);
		m = reparse(&b);
		assert_int_equal(msg_read_put(m, &y, err, sizeof(err)), 0);
		assert_int_equal(strlen(y.a_matched), 510);
		answer_free(&x);
		answer_free(&y);
		msg_free(m);
	}
	msgb_free(&b);
}

/* The builder counts: too few or too many fields, or misplaced calls. */
static void
test_builder_checks(void **state)
{
	struct msgb	b;

	(void)state;
	msgb_init(&b);
	msgb_begin(&b, "query", 1, 2, 2);
	msgb_str(&b, "domain", "x");
	assert_int_equal(msgb_end(&b), -1);		/* one short */
	msgb_begin(&b, "query", 1, 1, 2);
	msgb_str(&b, "domain", "x");
	msgb_uint(&b, "deadline_ms", 1);
	assert_int_equal(msgb_end(&b), -1);		/* one over */
	msgb_begin(&b, "x", 1, 1, 2);
	msgb_array(&b, "arr", 2);
	msgb_item_uint(&b, 1);
	assert_int_equal(msgb_end(&b), -1);		/* array short */
	msgb_begin(&b, "x", 1, 1, 2);
	msgb_array(&b, "arr", 1);
	msgb_uint(&b, "key-in-array", 1);
	assert_int_equal(msgb_end(&b), -1);		/* keyed in an array */
	msgb_begin(&b, "x", 1, 1, 2);
	msgb_item_uint(&b, 1);
	assert_int_equal(msgb_end(&b), -1);		/* item in a map */
	msgb_begin(&b, "x", 1, 0, 0);
	assert_int_equal(msgb_end(&b), -1);		/* version 0 */
	msgb_begin(&b, "x", 1, 2, 2);			/* nested, exact */
	msgb_array(&b, "arr", 2);
	msgb_item_map(&b, 1);
	msgb_uint(&b, "a", 1);
	msgb_item_map(&b, 0);
	msgb_bool(&b, "after", 1);
	assert_int_equal(msgb_end(&b), 0);
	msgb_free(&b);
}

/* channel: absent is whois, dns round-trips, an unknown name reads as
 * whois (informational), a value out of range cannot be packed. */
static void
test_channel(void **state)
{
	struct msgb	 b;
	struct msg	*m;
	struct answer	 a, a2;
	char		 err[256], *p;
	size_t		 i, n;

	(void)state;
	msgb_init(&b);
	sample_answer(&a);
	assert_int_equal(msg_pack_query_r(&b, 1, 2, &a), 0);
	assert_null(memmem(msgb_data(&b), msgb_len(&b), "channel", 7));
	m = reparse(&b);
	assert_int_equal(msg_read_query_r(m, &a2, err, sizeof(err)), 0);
	assert_int_equal(a2.a_channel, CH_WHOIS);
	answer_free(&a2);
	msg_free(m);

	sample_dns_answer(&a);
	for (i = 1; i <= 2; i++) {
		assert_int_equal(msg_pack_query_r(&b, 1, (int)i, &a), 0);
		m = reparse(&b);
		assert_int_equal(msg_read_query_r(m, &a2, err, sizeof(err)),
		    0);
		assert_int_equal(a2.a_channel, CH_DNS);
		assert_string_equal(answer_channel_name(a2.a_channel), "dns");
		answer_free(&a2);
		msg_free(m);
	}

	/* A newer peer's channel, same length as "dns". */
	assert_int_equal(msg_pack_query_r(&b, 1, 2, &a), 0);
	p = (char *)msgb_data(&b);
	n = msgb_len(&b);
	for (i = 0; i + 4 <= n; i++)
		if (memcmp(p + i, "\xa3" "dns", 4) == 0)
			memcpy(p + i + 1, "xyz", 3);
	m = reparse(&b);
	assert_int_equal(msg_read_query_r(m, &a2, err, sizeof(err)), 0);
	assert_int_equal(a2.a_channel, CH_WHOIS);
	assert_int_equal(a2.a_status, AS_REGISTERED);
	answer_free(&a2);
	msg_free(m);

	/* An RDAP answer: its channel and the registration's facts. */
	a.a_channel = CH_RDAP;
	a.a_reg_created = 808372800;
	a.a_reg_expires = 1817870400.5;
	snprintf(a.a_nameservers, sizeof(a.a_nameservers), "a.ns.example "
	    "b.ns.example");
	assert_int_equal(msg_pack_query_r(&b, 1, 2, &a), 0);
	m = reparse(&b);
	assert_int_equal(msg_read_query_r(m, &a2, err, sizeof(err)), 0);
	assert_int_equal(a2.a_channel, CH_RDAP);
	assert_true(a2.a_reg_created == 808372800);
	assert_true(a2.a_reg_expires == 1817870400.5);
	assert_string_equal(a2.a_nameservers, "a.ns.example b.ns.example");
	answer_free(&a2);
	msg_free(m);
	a.a_reg_created = a.a_reg_expires = 0;
	a.a_nameservers[0] = '\0';

	a.a_channel = CH_NCHANNEL;
	assert_int_equal(msg_pack_query_r(&b, 1, 2, &a), -1);
	assert_null(answer_channel_name(CH_NCHANNEL));
	answer_free(&a);
	msgb_free(&b);
}

static void
test_type_names(void **state)
{
	int	i;

	(void)state;
	for (i = MSG_UNKNOWN + 1; i < MSG_NTYPES; i++) {
		const char *n = msg_type_name((enum msg_type)i);
		assert_non_null(n);
		assert_int_equal(msg_type_lookup(n, strlen(n)), i);
	}
	assert_null(msg_type_name(MSG_UNKNOWN));
	assert_int_equal(msg_type_lookup("get_", 4), MSG_UNKNOWN);
	assert_int_equal(msg_type_lookup("ge", 2), MSG_UNKNOWN);
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vectors),
		cmocka_unit_test(test_ok_bytes),
		cmocka_unit_test(test_roundtrip_all),
		cmocka_unit_test(test_big_text_compressed),
		cmocka_unit_test(test_versions),
		cmocka_unit_test(test_corrupt_bodies),
		cmocka_unit_test(test_budget_objects),
		cmocka_unit_test(test_budget_depth),
		cmocka_unit_test(test_budget_largest_listing),
		cmocka_unit_test(test_unknown_keys_and_types),
		cmocka_unit_test(test_field_errors),
		cmocka_unit_test(test_builder_checks),
		cmocka_unit_test(test_type_names),
		cmocka_unit_test(test_channel),
	};

	if (argc == 3 && strcmp(argv[1], "--write-vectors") == 0)
		return write_vectors(argv[2]);
	if (getenv("WHOISD_VECTORS") != NULL)
		vector_dir = getenv("WHOISD_VECTORS");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
