/*
 * query_metrics.c — whoisd-query's /metrics: registry latency by
 * registry and channel (a histogram in common/metrics.c), and each
 * registry's budget and back-off, read from the shared budget table at
 * scrape time.
 */
#include <stdio.h>
#include <string.h>

#include <event2/buffer.h>

#include "common/metrics.h"
#include "common/util.h"
#include "daemons/query/query.h"

enum { QM_REGISTRY, QM_N };

static const struct metric_family query_fams[QM_N] = {
	{ "whoisd_query_registry_duration_seconds", METRIC_HISTOGRAM,
	  "Time of one registry question, by registry, channel (whois, iana, "
	  "dns) and outcome", metrics_latency_buckets,
	  METRICS_LATENCY_NBUCKETS },
};

void
query_metrics_register(void)
{
	metrics_register(query_fams, QM_N);
}

void
query_metrics_registry(const char *registry, const char *channel,
    const char *outcome, double secs)
{
	char	labels[256], r[128], o[64];

	snprintf(labels, sizeof(labels),
	    "registry=\"%s\",channel=\"%s\",outcome=\"%s\"",
	    metrics_label(registry, r, sizeof(r)), channel,
	    metrics_label(outcome, o, sizeof(o)));
	metrics_observe(QM_REGISTRY, labels, secs);
}

struct qm_ctx {
	struct evbuffer	*qm_b;
	int		 qm_pass;
};

static void
query_metrics_entry(const char *name, double tokens, double wait,
    double backoff, uint64_t sends, void *arg)
{
	struct qm_ctx	*c = arg;
	char		 n[128];

	metrics_label(name, n, sizeof(n));
	switch (c->qm_pass) {
	case 0:
		evbuffer_add_printf(c->qm_b,
		    "whoisd_query_budget_tokens{registry=\"%s\"} %g\n", n, tokens);
		break;
	case 1:
		evbuffer_add_printf(c->qm_b,
		    "whoisd_query_budget_wait_seconds{registry=\"%s\"} %.3f\n", n,
		    wait);
		break;
	case 2:
		evbuffer_add_printf(c->qm_b,
		    "whoisd_query_backoff_seconds{registry=\"%s\"} %.3f\n", n,
		    backoff);
		break;
	default:
		evbuffer_add_printf(c->qm_b,
		    "whoisd_query_registry_sends_total{registry=\"%s\"} %llu\n",
		    n, (unsigned long long)sends);
		break;
	}
}

static void
query_metrics_collect(struct evbuffer *b)
{
	static const char	*heads[4][3] = {
		{ "whoisd_query_budget_tokens", "gauge",
		  "Sends a registry's pacing allows now (a bucket of depth one)" },
		{ "whoisd_query_budget_wait_seconds", "gauge",
		  "Seconds until a registry's next free send slot" },
		{ "whoisd_query_backoff_seconds", "gauge",
		  "Seconds of back-off left for a registry (0: none)" },
		{ "whoisd_query_registry_sends_total", "counter",
		  "Questions sent to a registry" },
	};
	struct qm_ctx		 c;

	c.qm_b = b;
	for (c.qm_pass = 0; c.qm_pass < 4; c.qm_pass++) {
		metrics_head(b, heads[c.qm_pass][0], heads[c.qm_pass][1],
		    heads[c.qm_pass][2]);
		budget_foreach(query_metrics_entry, &c);
	}
}

void
query_metrics_child_init(void)
{
	metrics_set_collector(query_metrics_collect);
}
