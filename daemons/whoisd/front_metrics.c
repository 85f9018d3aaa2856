/*
 * front_metrics.c — the front's /metrics: its counters kept per child
 * slot in memory the master maps before forking, summed at the scrape,
 * and its latency histograms (common/metrics.c).
 *
 * A slot is the scoreboard's: a child that takes over a slot goes on
 * from the counts its predecessor left, so nothing is lost when a child
 * dies or retires, and only a new master starts from zero.  Each child
 * writes its own slot alone, with plain stores.
 */
#include <sys/mman.h>

#include <stdio.h>
#include <string.h>

#include <event2/buffer.h>

#include "common/log.h"
#include "common/metrics.h"
#include "common/pool.h"
#include "daemons/whoisd/whoisd.h"
#include "proto/client.h"

#define FRONT_SLOTS	1024	/* the pool's ceiling on max_servers */

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
	void	*p;

	if (front_slots != NULL)
		return 0;
	p = mmap(NULL, FRONT_SLOTS * sizeof(struct front_counts),
	    PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		log_warn("%s: mmap", __func__);
		return -1;
	}
	front_slots = p;
	return 0;
}

static void	front_metrics_collect(struct evbuffer *);

void
front_metrics_child_init(void)
{
	int	slot = pool_child_slot();

	if (front_slots != NULL && slot >= 0 && slot < FRONT_SLOTS)
		front_statsp = &front_slots[slot];
	metrics_set_collector(front_metrics_collect);
}

void
front_metrics_lookup(int http, const struct answer *a, double secs)
{
	char	labels[64];

	snprintf(labels, sizeof(labels), "port=\"%s\",source=\"%s\"",
	    http ? "http" : "whois", a->a_status == AS_INVALID ? "none" :
	    answer_source_name(a->a_source));
	metrics_observe(FM_LOOKUP, labels, secs);
}

static void
front_sum(struct front_counts *t)
{
	const struct front_counts	*s;
	int				 slot, i;

	memset(t, 0, sizeof(*t));
	if (front_slots == NULL) {
		*t = *front_statsp;
		return;
	}
	for (slot = 0; slot < FRONT_SLOTS; slot++) {
		s = &front_slots[slot];
		t->fs_whois_requests += s->fs_whois_requests;
		t->fs_http_requests += s->fs_http_requests;
		for (i = 0; i < AS_NSTATUS; i++)
			t->fs_answers[i] += s->fs_answers[i];
		for (i = 0; i < SRC_NSOURCE; i++)
			t->fs_source[i] += s->fs_source[i];
		t->fs_cache_errors += s->fs_cache_errors;
		t->fs_cache_same += s->fs_cache_same;
		t->fs_query_errors += s->fs_query_errors;
		t->fs_timeouts += s->fs_timeouts;
		t->fs_memo_hits += s->fs_memo_hits;
	}
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
