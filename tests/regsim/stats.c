/*
 * stats.c — the queries that reached "the registry", so tests can assert
 * how many did: a total, per TLD, per domain (the first RS_DOMAIN_CAP
 * names; later new names only count in per_domain_overflow) and per
 * outcome (the answer given: registered, throttled, fault-reset...).
 */
#include <stdio.h>
#include <string.h>

#include <event2/buffer.h>

#include "tests/regsim/regsim.h"

void
rs_stats_init(struct stats *st)
{
	memset(st, 0, sizeof(*st));
	rs_strmap_init(&st->st_tld);
	rs_strmap_init(&st->st_domain);
	rs_strmap_init(&st->st_outcome);
}

void
rs_stats_count(struct stats *st, const char *tld, const char *name,
    const char *outcome)
{
	struct strmap_entry	*e;

	st->st_total++;
	rs_strmap_add(&st->st_tld, tld, NULL)->se_val++;
	rs_strmap_add(&st->st_outcome, outcome, NULL)->se_val++;
	if ((e = rs_strmap_get(&st->st_domain, name)) != NULL)
		e->se_val++;
	else if (st->st_domain.sm_n < RS_DOMAIN_CAP)
		rs_strmap_add(&st->st_domain, name, NULL)->se_val++;
	else
		st->st_domain_overflow++;
}

void
rs_stats_reset(struct stats *st)
{
	st->st_total = 0;
	st->st_domain_overflow = 0;
	rs_strmap_clear(&st->st_tld, NULL);
	rs_strmap_clear(&st->st_domain, NULL);
	rs_strmap_clear(&st->st_outcome, NULL);
}

/* Length of the valid UTF-8 sequence at s, or 0. */
static size_t
utf8_len(const unsigned char *s)
{
	size_t	n, i;

	if (s[0] < 0x80)
		return 1;
	if ((s[0] & 0xe0) == 0xc0 && s[0] >= 0xc2)
		n = 2;
	else if ((s[0] & 0xf0) == 0xe0)
		n = 3;
	else if ((s[0] & 0xf8) == 0xf0 && s[0] <= 0xf4)
		n = 4;
	else
		return 0;
	for (i = 1; i < n; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	return n;
}

/*
 * A JSON string.  Names come from clients, so anything may be in them:
 * valid UTF-8 passes, other bytes become \u00XX (still valid JSON).
 */
void
rs_json_string(struct evbuffer *out, const char *s)
{
	const unsigned char	*p = (const unsigned char *)s;
	size_t			 n;

	evbuffer_add(out, "\"", 1);
	while (*p != '\0') {
		if (*p == '"' || *p == '\\') {
			evbuffer_add_printf(out, "\\%c", *p);
			p++;
		} else if (*p < 0x20 || *p == 0x7f) {
			evbuffer_add_printf(out, "\\u%04x", *p);
			p++;
		} else if ((n = utf8_len(p)) == 0) {
			evbuffer_add_printf(out, "\\u%04x", *p);
			p++;
		} else {
			evbuffer_add(out, p, n);
			p += n;
		}
	}
	evbuffer_add(out, "\"", 1);
}

struct json_obj {
	struct evbuffer	*jo_out;
	int		 jo_first;
};

static void
stats_json_entry(const struct strmap_entry *e, void *arg)
{
	struct json_obj	*jo = arg;

	if (!jo->jo_first)
		evbuffer_add(jo->jo_out, ",", 1);
	jo->jo_first = 0;
	rs_json_string(jo->jo_out, e->se_key);
	evbuffer_add_printf(jo->jo_out, ":%ld", e->se_val);
}

static void
stats_json_map(struct evbuffer *out, const char *key, const struct strmap *sm)
{
	struct json_obj	jo = { out, 1 };

	evbuffer_add_printf(out, ",\"%s\":{", key);
	rs_strmap_each(sm, stats_json_entry, &jo);
	evbuffer_add(out, "}", 1);
}

/* {"total":N,"per_tld":{...},"per_domain":{...},"per_outcome":{...},...} */
void
rs_stats_json(const struct stats *st, struct evbuffer *out)
{
	evbuffer_add_printf(out, "{\"total\":%llu",
	    (unsigned long long)st->st_total);
	stats_json_map(out, "per_tld", &st->st_tld);
	stats_json_map(out, "per_domain", &st->st_domain);
	stats_json_map(out, "per_outcome", &st->st_outcome);
	evbuffer_add_printf(out, ",\"per_domain_overflow\":%llu}\n",
	    (unsigned long long)st->st_domain_overflow);
}

void
rs_stats_free(struct stats *st)
{
	rs_strmap_free(&st->st_tld, NULL);
	rs_strmap_free(&st->st_domain, NULL);
	rs_strmap_free(&st->st_outcome, NULL);
}
