/*
 * regstat.c — what this child's fresh answers (not the cache's) say
 * about each registry, for the operator view (/status): verdicts and
 * failures, the back-off or budget wait its last answers carried, and
 * the latency of its recent replies (p50, p99).  Per child, like the
 * rest of /status: no figure here needs the other children, and none
 * costs a lock.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "common/util.h"
#include "daemons/whoisd/whoisd.h"

#define REGSTAT_MAX	256	/* registries; more are not tracked */
#define REGSTAT_LAT	256	/* latencies kept per registry */
#define REGSTAT_FAILING	3	/* unknowns in a row, budget aside */

struct regstat {
	char		 rs_name[ANSWER_REGISTRY_LEN];
	char		 rs_block[ANSWER_RULE_LEN];	/* registries.conf */
	uint64_t	 rs_status[AS_NSTATUS];
	uint64_t	 rs_waits;	/* unknown: rate-budget, back-off */
	uint64_t	 rs_fails;	/* unknown for any other reason */
	int		 rs_fail_run;
	int		 rs_nowhois;	/* it has no whois service */
	double		 rs_wait_until;	/* epoch: budget or back-off ends */
	double		 rs_last;	/* epoch: last answer */
	char		 rs_last_reason[ANSWER_REASON_LEN];
	uint32_t	 rs_lat[REGSTAT_LAT];
	size_t		 rs_nlat;	/* written so far (ring) */
};

static struct regstat	*regstat_tab[REGSTAT_MAX];
static int		 regstat_n;

static struct regstat *
regstat_get(const char *name)
{
	int	i;

	for (i = 0; i < regstat_n; i++)
		if (strcmp(regstat_tab[i]->rs_name, name) == 0)
			return regstat_tab[i];
	if (regstat_n == REGSTAT_MAX)
		return NULL;
	regstat_tab[regstat_n] = xcalloc(1, sizeof(struct regstat));
	snprintf(regstat_tab[regstat_n]->rs_name,
	    sizeof(regstat_tab[regstat_n]->rs_name), "%s", name);
	return regstat_tab[regstat_n++];
}

void
regstat_note(const struct answer *a)
{
	struct regstat	*rs;
	const char	*name = a->a_registry, *colon;
	char		 block[ANSWER_RULE_LEN];
	size_t		 n;
	int		 wait;

	/* Cached answers say nothing new, and bulk hits stay cheap. */
	if (a->a_source != SRC_REGISTRY)
		return;
	/* The rule names the registries.conf block ("verisign:available"). */
	block[0] = '\0';
	if ((colon = strchr(a->a_rule, ':')) != NULL) {
		n = (size_t)(colon - a->a_rule);
		snprintf(block, sizeof(block), "%.*s", (int)n, a->a_rule);
	}
	if (name[0] == '\0')
		name = block;	/* a registry without a whois server */
	if (name[0] == '\0' || a->a_status == AS_INVALID ||
	    a->a_status >= AS_NSTATUS || (rs = regstat_get(name)) == NULL)
		return;
	if (block[0] != '\0')
		snprintf(rs->rs_block, sizeof(rs->rs_block), "%s", block);
	rs->rs_status[a->a_status]++;
	rs->rs_last = a->a_checked > 0 ? a->a_checked : now_wall();
	snprintf(rs->rs_last_reason, sizeof(rs->rs_last_reason), "%s",
	    a->a_reason);
	wait = a->a_status == AS_UNKNOWN &&
	    (strcmp(a->a_reason, "rate-budget") == 0 ||
	    strcmp(a->a_reason, "registry-backoff") == 0);
	if (wait) {
		rs->rs_waits++;
		rs->rs_wait_until = now_wall() + (double)a->a_retry_after;
	} else if (a->a_status == AS_UNKNOWN &&
	    strcmp(a->a_reason, "no-public-channel") == 0)
		rs->rs_nowhois = 1;	/* how it is, not a failure */
	else if (a->a_status == AS_UNKNOWN) {
		rs->rs_fails++;
		rs->rs_fail_run++;
	} else
		rs->rs_fail_run = 0;
	/* Only a reply times the registry. */
	if (!wait && strcmp(a->a_reason, "timeout") != 0)
		rs->rs_lat[rs->rs_nlat++ % REGSTAT_LAT] =
		    a->a_latency_ms > UINT32_MAX ? UINT32_MAX :
		    (uint32_t)a->a_latency_ms;
}

static int
regstat_cmp(const void *a, const void *b)
{
	uint32_t	x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* The nearest-rank percentile of sorted v[0..n). */
static uint32_t
regstat_pct(const uint32_t *v, size_t n, int pct)
{
	size_t	rank = (n * (size_t)pct + 99) / 100;

	return v[rank > 0 ? rank - 1 : 0];
}

void
regstat_json(struct evbuffer *b)
{
	struct regstat	*rs;
	uint32_t	 lat[REGSTAT_LAT];
	double		 now = now_wall(), left;
	size_t		 n;
	int		 i, s;
	const char	*health;

	evbuffer_add(b, "[", 1);
	for (i = 0; i < regstat_n; i++) {
		rs = regstat_tab[i];
		left = rs->rs_wait_until - now;
		health = left > 0 ? "backing off" :
		    rs->rs_fail_run >= REGSTAT_FAILING ? "failing" :
		    rs->rs_nowhois ? "no whois service" : "ok";
		evbuffer_add_printf(b, "%s{\"registry\":", i > 0 ? "," : "");
		json_str(b, rs->rs_name);
		evbuffer_add_printf(b, ",\"block\":");
		json_str(b, rs->rs_block);
		evbuffer_add_printf(b, ",\"health\":\"%s\",\"backoff_s\":%llu,"
		    "\"answers\":{", health,
		    left > 0 ? (unsigned long long)(left + 0.999) : 0ULL);
		for (s = 0; s < AS_NSTATUS; s++)
			evbuffer_add_printf(b, "%s\"%s\":%llu", s > 0 ? "," : "",
			    answer_status_name(s),
			    (unsigned long long)rs->rs_status[s]);
		evbuffer_add_printf(b, "},\"waits\":%llu,\"failures\":%llu,"
		    "\"last_reason\":", (unsigned long long)rs->rs_waits,
		    (unsigned long long)rs->rs_fails);
		json_str(b, rs->rs_last_reason);
		evbuffer_add_printf(b, ",\"last\":%.0f", rs->rs_last);
		n = rs->rs_nlat < REGSTAT_LAT ? rs->rs_nlat : REGSTAT_LAT;
		evbuffer_add_printf(b, ",\"samples\":%zu", n);
		if (n > 0) {
			memcpy(lat, rs->rs_lat, n * sizeof(lat[0]));
			qsort(lat, n, sizeof(lat[0]), regstat_cmp);
			evbuffer_add_printf(b, ",\"p50\":%u,\"p99\":%u",
			    regstat_pct(lat, n, 50), regstat_pct(lat, n, 99));
		}
		evbuffer_add(b, "}", 1);
	}
	evbuffer_add(b, "]", 1);
}
