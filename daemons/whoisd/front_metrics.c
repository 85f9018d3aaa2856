/*
 * front_metrics.c — the front's /metrics: its counters, one struct per
 * child slot in memory the master maps before forking, summed at the
 * scrape with what retired children left (metrics_slots_*), and its
 * latency histograms (common/metrics.c).
 */
#include <stdio.h>
#include <string.h>

#include <event2/buffer.h>

#include "common/log.h"
#include "common/metrics.h"
#include "common/pool.h"
#include "daemons/whoisd/whoisd.h"
#include "proto/client.h"

static struct front_counts	 front_stats_local;
struct front_counts		*front_statsp = &front_stats_local;
static struct front_counts	*front_slots;

enum { FM_LOOKUP, FM_N };

static const struct metric_family front_fams[FM_N] = {
	{ "whoisd_lookup_duration_seconds", METRIC_HISTOGRAM,
	  "Time from a request to one name's answer, by port and source",
	  metrics_latency_buckets, METRICS_LATENCY_NBUCKETS },
};

void
front_metrics_register(void)
{
	metrics_register(front_fams, FM_N);
}

int
front_metrics_master_init(void)
{
	if (front_slots == NULL &&
	    (front_slots = metrics_slots_map(sizeof(struct front_counts))) ==
	    NULL)
		return -1;
	return 0;
}

static void	front_metrics_collect(struct evbuffer *);

/* Every name's answer passes here: its labels are made once, its
 * series found at its first use (a series shows once it has a count). */
static char			 front_lookup_labels[2][SRC_NSOURCE + 1][48];
static struct metric_series	*front_lookup_series[2][SRC_NSOURCE + 1];

void
front_metrics_child_init(void)
{
	struct front_counts	*mine;
	int			 p, s;

	for (p = 0; p < 2; p++)
		for (s = 0; s <= SRC_NSOURCE; s++)
			snprintf(front_lookup_labels[p][s],
			    sizeof(front_lookup_labels[p][s]),
			    "port=\"%s\",source=\"%s\"", p ? "http" : "whois",
			    s < SRC_NSOURCE ? answer_source_name(s) : "none");
	if ((mine = metrics_slot_take(front_slots,
	    sizeof(struct front_counts))) != NULL)
		front_statsp = mine;
	metrics_set_collector(front_metrics_collect);
}

void
front_metrics_lookup(int http, const struct answer *a, double secs)
{
	struct metric_series	**s;
	int			  src;

	src = a->a_status == AS_INVALID ||
	    (unsigned)a->a_source >= SRC_NSOURCE ? SRC_NSOURCE :
	    (int)a->a_source;
	s = &front_lookup_series[http != 0][src];
	if (*s == NULL)
		*s = metrics_series_get(FM_LOOKUP,
		    front_lookup_labels[http != 0][src]);
	/* The HTTP port's are added when its request answers (http.c
	 * flushes): a bulk request is a thousand of them. */
	if (http)
		metrics_observe_later(*s, secs);
	else
		metrics_observe_series(*s, secs);
}

static void
front_sum(struct front_counts *t)
{
	if (front_slots == NULL)
		*t = *front_statsp;
	else
		metrics_slots_sum(front_slots, sizeof(*t), (uint64_t *)t);
}

#define ULL(v)	((unsigned long long)(v))

static void
front_metrics_collect(struct evbuffer *b)
{
	struct front_counts	t;
	struct client_stats	cs, qs;
	int			i;

	front_sum(&t);
	metrics_head(b, "whoisd_requests_total", "counter",
	    "Requests the front served, by port");
	evbuffer_add_printf(b, "whoisd_requests_total{port=\"whois\"} %llu\n"
	    "whoisd_requests_total{port=\"http\"} %llu\n",
	    ULL(t.fs_whois_requests), ULL(t.fs_http_requests));
	metrics_head(b, "whoisd_answers_total", "counter",
	    "Names answered, by status");
	for (i = 0; i < AS_NSTATUS; i++)
		evbuffer_add_printf(b, "whoisd_answers_total{status=\"%s\"} "
		    "%llu\n", answer_status_name(i), ULL(t.fs_answers[i]));
	metrics_head(b, "whoisd_answers_by_source_total", "counter",
	    "Names answered, by source");
	for (i = 0; i < SRC_NSOURCE; i++)
		evbuffer_add_printf(b, "whoisd_answers_by_source_total{source="
		    "\"%s\"} %llu\n", answer_source_name(i),
		    ULL(t.fs_source[i]));
	metrics_head(b, "whoisd_backend_errors_total", "counter",
	    "Failed calls to a daemon behind the front");
	evbuffer_add_printf(b, "whoisd_backend_errors_total{peer=\"cache\"} "
	    "%llu\nwhoisd_backend_errors_total{peer=\"query\"} %llu\n",
	    ULL(t.fs_cache_errors), ULL(t.fs_query_errors));
	metrics_head(b, "whoisd_memo_hits_total", "counter",
	    "Cache hits answered from a child's memo");
	evbuffer_add_printf(b, "whoisd_memo_hits_total %llu\n",
	    ULL(t.fs_memo_hits));
	metrics_head(b, "whoisd_memo_refreshed_total", "counter",
	    "Expired memo entries the cache confirmed unchanged");
	evbuffer_add_printf(b, "whoisd_memo_refreshed_total %llu\n",
	    ULL(t.fs_cache_same));
	metrics_head(b, "whoisd_timeouts_total", "counter",
	    "Names answered unknown at request_timeout");
	evbuffer_add_printf(b, "whoisd_timeouts_total %llu\n",
	    ULL(t.fs_timeouts));
	/* The links are each child's own: this is the scraped child's view. */
	client_stats(front_cache(), &cs);
	client_stats(front_query(), &qs);
	metrics_head(b, "whoisd_link_up", "gauge",
	    "Whether the serving child's link to a daemon is up");
	evbuffer_add_printf(b, "whoisd_link_up{peer=\"cache\"} %d\n"
	    "whoisd_link_up{peer=\"query\"} %d\n", cs.cs_connected ? 1 : 0,
	    qs.cs_connected ? 1 : 0);
}
