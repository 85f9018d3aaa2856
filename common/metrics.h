/*
 * metrics.h — a daemon's Prometheus counters and histograms, in memory
 * shared by the master and all its children.
 *
 * The master maps it once, before its first fork (pool_main), and never
 * again: a child that dies or retires leaves its counts behind, a HUP
 * keeps them, only a new master starts from zero.  Every update is an
 * atomic add, so any child's scrape sees the whole daemon, exactly.
 * Gauges are not stored: a collector the daemon sets renders them at
 * scrape time from what they measure (the scoreboard, the database...).
 */
#ifndef WHOISD_METRICS_H
#define WHOISD_METRICS_H

#include <stddef.h>
#include <stdint.h>

struct evbuffer;

enum metric_type {
	METRIC_COUNTER,
	METRIC_HISTOGRAM,
};

#define METRIC_MAX_BUCKETS	16

/* One family; a daemon declares its own in a table indexed by its enum. */
struct metric_family {
	const char		*mf_name;	/* "whoisd_lookup_duration_seconds" */
	enum metric_type	 mf_type;
	const char		*mf_help;
	const double		*mf_buckets;	/* upper bounds, ascending */
	int			 mf_nbuckets;	/* without +Inf */
};

/* Latency buckets in seconds, for request and registry histograms. */
extern const double	metrics_latency_buckets[];
#define METRICS_LATENCY_NBUCKETS	14

/*
 * The daemon's own families (it calls this from main(), before
 * pool_main()); the pool's families come first, these after.
 */
void	metrics_register(const struct metric_family *fams, int n);
/* Master, before forking: the shared mapping.  Idempotent. */
int	metrics_map(void);
/*
 * A series is its family and its label pairs, already rendered
 * (`port="http",source="cache"`, "" for none; metrics_label() escapes a
 * value).  Updates are dropped when the mapping is full or missing.
 */
void	metrics_add(int fam, const char *labels, uint64_t n);
void	metrics_observe(int fam, const char *labels, double v);

/*
 * A histogram series resolved once and kept by the caller (NULL: not
 * counted, ask again later), for observations too frequent to look the
 * series up by its labels each time.  metrics_observe_series() adds at
 * once; metrics_observe_later() keeps the observation in the process
 * until metrics_flush(), called by the event loop after the current
 * callback at the latest, or by the caller before it answers.
 */
struct metric_series;
struct metric_series *metrics_series_get(int fam, const char *labels);
void	metrics_observe_series(struct metric_series *, double v);
void	metrics_observe_later(struct metric_series *, double v);
void	metrics_flush(void);
/* Escape `v` as a label value into buf (always terminated). */
const char *metrics_label(const char *v, char *buf, size_t len);

/*
 * Gauges and other values rendered at scrape time by the daemon, after
 * the stored families.
 */
void	metrics_set_collector(void (*fn)(struct evbuffer *));
/* The whole exposition (text format 0.0.4) appended to b. */
void	metrics_render(struct evbuffer *b);
/* HELP and TYPE lines of a family a collector renders. */
void	metrics_head(struct evbuffer *b, const char *name, const char *type,
	    const char *help);

/*
 * A daemon's own struct of uint64_t counters, one per child slot, in
 * shared memory: the master maps the area before forking; a child takes
 * its slot at start, adding what the slot's previous child left to the
 * retired total and starting from zero, so the child's own figures stay
 * its own (whoisctl stats) while the sum over slots and the retired
 * total is the daemon's since the master started.  Plain stores: each
 * slot has one writer.
 */
void	*metrics_slots_map(size_t size);
void	*metrics_slot_take(void *area, size_t size);
/* out[i] = the daemon's total of counter i (size / 8 of them). */
void	 metrics_slots_sum(const void *area, size_t size, uint64_t *out);

/* Pool side: counted by the pool for every daemon. */
void	metrics_pool_request(void);
void	metrics_pool_accept(void);

/*
 * The `metrics_listen` port: a child hands it each accepted connection;
 * it answers GET /metrics (and /healthz) and closes, calling
 * pool_conn_done() when the connection is over.
 */
void	metrics_http_accept(int fd);

#define METRICS_CTYPE	"text/plain; version=0.0.4; charset=utf-8"

#endif
