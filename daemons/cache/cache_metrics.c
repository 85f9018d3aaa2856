/*
 * cache_metrics.c — whoisd-cache's /metrics: its counters (one struct
 * per child slot, summed with what retired children left, see
 * common/metrics.h) and, at scrape time, the database's entries and
 * sizes.
 */
#include <stdio.h>
#include <string.h>

#include <event2/buffer.h>

#include "common/log.h"
#include "common/metrics.h"
#include "common/util.h"
#include "daemons/cache/cache.h"
#include "daemons/cache/cache_db.h"

static struct cache_counters	 cache_cnt_local;
struct cache_counters		*cache_cntp = &cache_cnt_local;
static void			*cache_slots;

int
cache_metrics_master_init(void)
{
	if (cache_slots == NULL &&
	    (cache_slots = metrics_slots_map(sizeof(struct cache_counters))) ==
	    NULL)
		return -1;
	return 0;
}

#define ULL(v)	((unsigned long long)(v))

static void
cache_counter(struct evbuffer *b, const char *name, const char *help,
    uint64_t v)
{
	metrics_head(b, name, "counter", help);
	evbuffer_add_printf(b, "%s %llu\n", name, ULL(v));
}

static void
cache_gauge(struct evbuffer *b, const char *name, const char *help,
    uint64_t v)
{
	metrics_head(b, name, "gauge", help);
	evbuffer_add_printf(b, "%s %llu\n", name, ULL(v));
}

static void
cache_metrics_collect(struct evbuffer *b)
{
	struct cache_counters	t;
	struct cache_stats	st;

	metrics_slots_sum(cache_slots, sizeof(t), (uint64_t *)&t);
	metrics_head(b, "whoisd_cache_gets_total", "counter",
	    "Gets answered, by result");
	evbuffer_add_printf(b, "whoisd_cache_gets_total{result=\"hit\"} %llu\n"
	    "whoisd_cache_gets_total{result=\"miss\"} %llu\n"
	    "whoisd_cache_gets_total{result=\"stale\"} %llu\n",
	    ULL(t.cn_hits), ULL(t.cn_misses), ULL(t.cn_stale));
	cache_counter(b, "whoisd_cache_gets_same_total",
	    "Hits answered `same` (the asker's copy is current)", t.cn_same);
	metrics_head(b, "whoisd_cache_puts_total", "counter",
	    "Puts, by whether the answer was stored");
	evbuffer_add_printf(b, "whoisd_cache_puts_total{stored=\"yes\"} %llu\n"
	    "whoisd_cache_puts_total{stored=\"no\"} %llu\n", ULL(t.cn_puts),
	    ULL(t.cn_puts_unstored));
	cache_counter(b, "whoisd_cache_leases_granted_total",
	    "Leases granted to a miss's asker", t.cn_lease_granted);
	cache_counter(b, "whoisd_cache_lease_waits_total",
	    "Gets parked behind another asker's lease", t.cn_lease_waits);
	cache_counter(b, "whoisd_cache_wait_filled_total",
	    "Parked gets answered by the put", t.cn_wait_filled);
	cache_counter(b, "whoisd_cache_wait_timeouts_total",
	    "Parked gets ended at lease_ttl", t.cn_wait_timeouts);
	cache_counter(b, "whoisd_cache_timings_total",
	    "Registry timings recorded", t.cn_timings);
	cache_counter(b, "whoisd_cache_purged_total", "Entries purged",
	    t.cn_purged);
	cache_counter(b, "whoisd_cache_swept_total",
	    "Rows removed by the expiry sweep", t.cn_swept);
	cache_counter(b, "whoisd_cache_commits_total",
	    "Group commits (batches of writes)", t.cn_commits);
	if (cache_db() == NULL ||
	    cache_db_stats(cache_db(), now_wall(), &st) == -1)
		return;
	cache_gauge(b, "whoisd_cache_entries", "Answers in the cache",
	    st.cs_entries);
	cache_gauge(b, "whoisd_cache_fresh_entries", "Answers not yet expired",
	    st.cs_fresh);
	cache_gauge(b, "whoisd_cache_leases", "Live leases", st.cs_leases);
	cache_gauge(b, "whoisd_cache_db_bytes", "Size of the database file",
	    st.cs_db_bytes);
	cache_gauge(b, "whoisd_cache_db_free_bytes",
	    "Free pages in the database file", st.cs_free_bytes);
	cache_gauge(b, "whoisd_cache_wal_bytes", "Size of the write-ahead log",
	    st.cs_wal_bytes);
}

void
cache_metrics_child_init(void)
{
	struct cache_counters	*mine;

	if ((mine = metrics_slot_take(cache_slots,
	    sizeof(struct cache_counters))) != NULL)
		cache_cntp = mine;
	metrics_set_collector(cache_metrics_collect);
}
