/*
 * metrics.c — counters and histograms shared by a daemon's processes,
 * rendered in Prometheus' text format 0.0.4.
 *
 * The mapping is a fixed array of series.  A series is claimed by the
 * first process that needs it with a compare-and-swap on its state
 * (free, claiming, ready), so no lock is ever held: a child killed in
 * the middle of a claim leaves one unused slot behind, nothing stuck.
 * Two children claiming the same new series at once may each get one;
 * the scrape adds such twins together.  Values are 64-bit atomic adds;
 * a histogram's sum is kept in microseconds so it can be one too.
 */
#include <sys/types.h>
#include <sys/mman.h>
#include <sys/socket.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "common/log.h"
#include "common/metrics.h"
#include "common/pool.h"
#include "common/pool_priv.h"
#include "common/util.h"

#define METRICS_SERIES		2048
#define METRICS_LABELS		384
#define METRICS_CACHE		1024	/* per-process index, a power of 2 */
#define METRICS_HTTP_HEAD	4096
#define METRICS_HTTP_TIMEOUT	10

enum { MS_FREE = 0, MS_CLAIMING, MS_READY };

struct metric_series {
	uint32_t	ms_state;
	uint32_t	ms_fam;
	char		ms_labels[METRICS_LABELS];
	/* Counter: v[0].  Histogram: a count per bucket, +Inf last, then
	 * the sum in microseconds. */
	uint64_t	ms_v[METRIC_MAX_BUCKETS + 2];
};

const double metrics_latency_buckets[METRICS_LATENCY_NBUCKETS] = {
	0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
	2.5, 5, 10
};

enum { MP_REQUESTS, MP_ACCEPTS, MP_N };

static const struct metric_family metrics_pool_fams[MP_N] = {
	{ "whoisd_pool_requests_total", METRIC_COUNTER,
	  "Requests the daemon's children served", NULL, 0 },
	{ "whoisd_pool_connections_total", METRIC_COUNTER,
	  "Connections the daemon's children accepted", NULL, 0 },
};

static const struct metric_family *metrics_fams;	/* the daemon's */
static int			 metrics_nfams;
static struct metric_series	*metrics_shm;
static void			(*metrics_collector)(struct evbuffer *);
static int16_t			 metrics_cache[METRICS_CACHE];
static int			 metrics_full_logged, metrics_long_logged;

void
metrics_register(const struct metric_family *fams, int n)
{
	metrics_fams = fams;
	metrics_nfams = n;
}

void
metrics_set_collector(void (*fn)(struct evbuffer *))
{
	metrics_collector = fn;
}

int
metrics_map(void)
{
	void	*p;

	if (metrics_shm != NULL)
		return 0;
	/* Untouched pages cost nothing: only claimed series are backed. */
	p = mmap(NULL, METRICS_SERIES * sizeof(struct metric_series),
	    PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE,
	    -1, 0);
	if (p == MAP_FAILED) {
		log_warn("%s: mmap", __func__);
		return -1;
	}
	metrics_shm = p;
	return 0;
}

static const struct metric_family *
metrics_fam(uint32_t fam)
{
	if (fam < MP_N)
		return &metrics_pool_fams[fam];
	if (fam - MP_N < (uint32_t)metrics_nfams)
		return &metrics_fams[fam - MP_N];
	return NULL;
}

/* The series of (fam, labels), claimed if new; NULL when full. */
static struct metric_series *
metrics_series(uint32_t fam, const char *labels)
{
	struct metric_series	*s;
	uint32_t		 h, st, want;
	int			 i, idx;

	if (metrics_shm == NULL)
		return NULL;
	/* Cut, it would be another series at each call: dropped instead. */
	if (strlen(labels) >= METRICS_LABELS) {
		if (!metrics_long_logged++)
			log_warnx("%s: labels over %d bytes; not counted: %.80s",
			    __func__, METRICS_LABELS, labels);
		return NULL;
	}
	h = (str_hash(labels) ^ (fam * 2654435761u)) & (METRICS_CACHE - 1);
	if ((idx = metrics_cache[h] - 1) >= 0) {
		s = &metrics_shm[idx];
		if (s->ms_fam == fam && strcmp(s->ms_labels, labels) == 0)
			return s;
	}
	for (i = 0; i < METRICS_SERIES; i++) {
		s = &metrics_shm[i];
		st = __atomic_load_n(&s->ms_state, __ATOMIC_ACQUIRE);
		if (st == MS_READY) {
			if (s->ms_fam == fam &&
			    strcmp(s->ms_labels, labels) == 0)
				break;
			continue;
		}
		if (st != MS_FREE)
			continue;	/* being claimed, or its claimer died */
		want = MS_FREE;
		if (!__atomic_compare_exchange_n(&s->ms_state, &want,
		    MS_CLAIMING, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
			/* Lost the race: look at what the winner made. */
			i--;
			continue;
		}
		s->ms_fam = fam;
		snprintf(s->ms_labels, sizeof(s->ms_labels), "%s", labels);
		__atomic_store_n(&s->ms_state, MS_READY, __ATOMIC_RELEASE);
		break;
	}
	if (i == METRICS_SERIES) {
		if (!metrics_full_logged++)
			log_warnx("%s: all %d series in use; new ones are not "
			    "counted", __func__, METRICS_SERIES);
		return NULL;
	}
	metrics_cache[h] = (int16_t)(i + 1);
	return s;
}

static void
metrics_add_fam(uint32_t fam, const char *labels, uint64_t n)
{
	struct metric_series	*s;

	if ((s = metrics_series(fam, labels)) != NULL)
		__atomic_add_fetch(&s->ms_v[0], n, __ATOMIC_RELAXED);
}

void
metrics_add(int fam, const char *labels, uint64_t n)
{
	metrics_add_fam(MP_N + (uint32_t)fam, labels, n);
}

/* The bucket of v in f's histogram; its microseconds in *us. */
static int
metrics_bucket(const struct metric_family *f, double v, uint64_t *us)
{
	int	b;

	if (v < 0)
		v = 0;
	for (b = 0; b < f->mf_nbuckets && v > f->mf_buckets[b]; b++)
		;
	*us = (uint64_t)(v * 1e6 + 0.5);
	return b;
}

struct metric_series *
metrics_series_get(int fam, const char *labels)
{
	const struct metric_family	*f = metrics_fam(MP_N + (uint32_t)fam);

	if (f == NULL || f->mf_type != METRIC_HISTOGRAM)
		return NULL;
	return metrics_series(MP_N + (uint32_t)fam, labels);
}

void
metrics_observe_series(struct metric_series *s, double v)
{
	const struct metric_family	*f;
	uint64_t			 us;
	int				 b;

	if (s == NULL || (f = metrics_fam(s->ms_fam)) == NULL)
		return;
	b = metrics_bucket(f, v, &us);
	__atomic_add_fetch(&s->ms_v[b], 1, __ATOMIC_RELAXED);
	__atomic_add_fetch(&s->ms_v[f->mf_nbuckets + 1], us, __ATOMIC_RELAXED);
}

void
metrics_observe(int fam, const char *labels, double v)
{
	metrics_observe_series(metrics_series_get(fam, labels), v);
}

/*
 * Observations kept by the process until metrics_flush(): a bulk
 * request's names are a thousand observations of one or two series,
 * two atomic adds to a line the other children write each otherwise.
 */
#define METRICS_PENDING	8

struct metrics_pending {
	struct metric_series	*mp_s;
	int			 mp_nb;
	uint64_t		 mp_v[METRIC_MAX_BUCKETS + 2];
};

static struct metrics_pending	metrics_pend[METRICS_PENDING];
static int			metrics_npend;

void
metrics_flush(void)
{
	struct metrics_pending	*p;
	int			 i, k;

	for (i = 0; i < metrics_npend; i++) {
		p = &metrics_pend[i];
		for (k = 0; k <= p->mp_nb + 1; k++)
			if (p->mp_v[k] != 0)
				__atomic_add_fetch(&p->mp_s->ms_v[k],
				    p->mp_v[k], __ATOMIC_RELAXED);
	}
	metrics_npend = 0;
}

static void
metrics_flush_cb(evutil_socket_t fd, short ev, void *arg)
{
	(void)fd; (void)ev; (void)arg;
	metrics_flush();
}

/* Flush after the current callback; -1 without an event loop. */
static int
metrics_flush_soon(void)
{
	static struct event		*ev;
	static struct event_base	*ev_base;
	struct event_base		*base = pool_base();

	if (base == NULL)
		return -1;
	if (ev == NULL || ev_base != base) {
		/* A new loop (a child's first): the old event is its
		 * parent's, left alone. */
		if ((ev = event_new(base, -1, 0, metrics_flush_cb, NULL)) ==
		    NULL)
			return -1;
		ev_base = base;
	}
	event_active(ev, EV_TIMEOUT, 1);
	return 0;
}

void
metrics_observe_later(struct metric_series *s, double v)
{
	const struct metric_family	*f;
	struct metrics_pending		*p;
	uint64_t			 us;
	int				 i;

	if (s == NULL || (f = metrics_fam(s->ms_fam)) == NULL)
		return;
	for (i = 0; i < metrics_npend && metrics_pend[i].mp_s != s; i++)
		;
	if (i == metrics_npend) {
		if (i == METRICS_PENDING) {
			metrics_flush();
			i = 0;
		}
		if (i == 0 && metrics_flush_soon() == -1) {
			metrics_observe_series(s, v);
			return;
		}
		p = &metrics_pend[i];
		memset(p, 0, sizeof(*p));
		p->mp_s = s;
		p->mp_nb = f->mf_nbuckets;
		metrics_npend = i + 1;
	}
	p = &metrics_pend[i];
	p->mp_v[metrics_bucket(f, v, &us)]++;
	p->mp_v[p->mp_nb + 1] += us;
}

void
metrics_pool_request(void)
{
	metrics_add_fam(MP_REQUESTS, "", 1);
}

void
metrics_pool_accept(void)
{
	metrics_add_fam(MP_ACCEPTS, "", 1);
}

const char *
metrics_label(const char *v, char *buf, size_t len)
{
	size_t	o = 0;

	if (len == 0)
		return buf;
	for (; *v != '\0' && o + 3 < len; v++) {
		if (*v == '\\' || *v == '"') {
			buf[o++] = '\\';
			buf[o++] = *v;
		} else if (*v == '\n') {
			buf[o++] = '\\';
			buf[o++] = 'n';
		} else
			buf[o++] = *v;
	}
	buf[o] = '\0';
	return buf;
}

/* ------------------------------------------------ per-slot counter structs */

/* Slot SB_MAX is the retired total. */
void *
metrics_slots_map(size_t size)
{
	void	*p;

	p = mmap(NULL, (SB_MAX + 1) * size, PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED) {
		log_warn("%s: mmap", __func__);
		return NULL;
	}
	return p;
}

void *
metrics_slot_take(void *area, size_t size)
{
	uint64_t	*slot, *retired;
	size_t		 i, n = size / sizeof(uint64_t);
	int		 s = pool_child_slot();

	if (area == NULL || s < 0 || s >= SB_MAX)
		return NULL;
	slot = (uint64_t *)((char *)area + (size_t)s * size);
	retired = (uint64_t *)((char *)area + (size_t)SB_MAX * size);
	for (i = 0; i < n; i++) {
		__atomic_add_fetch(&retired[i], slot[i], __ATOMIC_RELAXED);
		slot[i] = 0;
	}
	return slot;
}

void
metrics_slots_sum(const void *area, size_t size, uint64_t *out)
{
	const uint64_t	*v;
	size_t		 i, n = size / sizeof(uint64_t);
	int		 s;

	memset(out, 0, size);
	if (area == NULL)
		return;
	for (s = 0; s <= SB_MAX; s++) {
		v = (const uint64_t *)((const char *)area + (size_t)s * size);
		for (i = 0; i < n; i++)
			out[i] += __atomic_load_n(&v[i], __ATOMIC_RELAXED);
	}
}

/* ------------------------------------------------------------ rendering */

void
metrics_head(struct evbuffer *b, const char *name, const char *type,
    const char *help)
{
	evbuffer_add_printf(b, "# HELP %s %s.\n# TYPE %s %s\n", name, help,
	    name, type);
}

/* The values of series i with those of its twins added. */
static void
metrics_sum(int i, int used, uint64_t *v, int nv)
{
	struct metric_series	*s = &metrics_shm[i], *t;
	int			 j, k;

	for (k = 0; k < nv; k++)
		v[k] = __atomic_load_n(&s->ms_v[k], __ATOMIC_RELAXED);
	for (j = i + 1; j < used; j++) {
		t = &metrics_shm[j];
		if (__atomic_load_n(&t->ms_state, __ATOMIC_ACQUIRE) !=
		    MS_READY || t->ms_fam != s->ms_fam ||
		    strcmp(t->ms_labels, s->ms_labels) != 0)
			continue;
		for (k = 0; k < nv; k++)
			v[k] += __atomic_load_n(&t->ms_v[k], __ATOMIC_RELAXED);
	}
}

/* Is series i the twin of an earlier one (already rendered with it)? */
static int
metrics_is_twin(int i)
{
	struct metric_series	*s = &metrics_shm[i], *t;
	int			 j;

	for (j = 0; j < i; j++) {
		t = &metrics_shm[j];
		if (__atomic_load_n(&t->ms_state, __ATOMIC_ACQUIRE) ==
		    MS_READY && t->ms_fam == s->ms_fam &&
		    strcmp(t->ms_labels, s->ms_labels) == 0)
			return 1;
	}
	return 0;
}

static void
metrics_render_fam(struct evbuffer *b, uint32_t fam, int used)
{
	const struct metric_family	*f = metrics_fam(fam);
	struct metric_series		*s;
	uint64_t			 v[METRIC_MAX_BUCKETS + 2], cum;
	const char			*sep;
	int				 i, k, any = 0, nb = f->mf_nbuckets;

	metrics_head(b, f->mf_name, f->mf_type == METRIC_COUNTER ? "counter" :
	    "histogram", f->mf_help);
	for (i = 0; i < used; i++) {
		s = &metrics_shm[i];
		if (__atomic_load_n(&s->ms_state, __ATOMIC_ACQUIRE) !=
		    MS_READY || s->ms_fam != fam || metrics_is_twin(i))
			continue;
		any = 1;
		if (f->mf_type == METRIC_COUNTER) {
			metrics_sum(i, used, v, 1);
			if (s->ms_labels[0] == '\0')
				evbuffer_add_printf(b, "%s %llu\n", f->mf_name,
				    (unsigned long long)v[0]);
			else
				evbuffer_add_printf(b, "%s{%s} %llu\n",
				    f->mf_name, s->ms_labels,
				    (unsigned long long)v[0]);
			continue;
		}
		metrics_sum(i, used, v, nb + 2);
		sep = s->ms_labels[0] != '\0' ? "," : "";
		for (k = 0, cum = 0; k <= nb; k++) {
			cum += v[k];
			if (k < nb)
				evbuffer_add_printf(b, "%s_bucket{%s%sle=\"%g\"} "
				    "%llu\n", f->mf_name, s->ms_labels, sep,
				    f->mf_buckets[k], (unsigned long long)cum);
			else
				evbuffer_add_printf(b, "%s_bucket{%s%sle="
				    "\"+Inf\"} %llu\n", f->mf_name,
				    s->ms_labels, sep, (unsigned long long)cum);
		}
		if (s->ms_labels[0] != '\0') {
			evbuffer_add_printf(b, "%s_sum{%s} %.6f\n", f->mf_name,
			    s->ms_labels, (double)v[nb + 1] / 1e6);
			evbuffer_add_printf(b, "%s_count{%s} %llu\n",
			    f->mf_name, s->ms_labels, (unsigned long long)cum);
		} else {
			evbuffer_add_printf(b, "%s_sum %.6f\n", f->mf_name,
			    (double)v[nb + 1] / 1e6);
			evbuffer_add_printf(b, "%s_count %llu\n", f->mf_name,
			    (unsigned long long)cum);
		}
	}
	/* A counter without labels is 0 before its first event. */
	if (!any && f->mf_type == METRIC_COUNTER)
		evbuffer_add_printf(b, "%s 0\n", f->mf_name);
}

/* What the pool knows for every daemon: its children and its build. */
static void
metrics_render_pool(struct evbuffer *b)
{
	static const char	*names[] = { "starting", "idle", "busy",
				    "retiring" };
	unsigned long		 by[4] = { 0, 0, 0, 0 }, clients = 0;
	int			 slot, st;

	for (slot = 0; slot < SB_MAX; slot++) {
		if (pool_sb[slot].sb_pid == 0)
			continue;
		st = pool_sb[slot].sb_state;
		if (st >= SB_STARTING && st <= SB_RETIRING)
			by[st - SB_STARTING]++;
		clients += pool_sb[slot].sb_clients;
	}
	metrics_head(b, "whoisd_pool_children", "gauge",
	    "Children of the daemon by state");
	for (st = 0; st < 4; st++)
		evbuffer_add_printf(b, "whoisd_pool_children{state=\"%s\"} %lu\n",
		    names[st], by[st]);
	metrics_head(b, "whoisd_pool_open_connections", "gauge",
	    "Connections the daemon's children hold open");
	evbuffer_add_printf(b, "whoisd_pool_open_connections %lu\n", clients);
	metrics_head(b, "whoisd_pool_children_spawned_total", "counter",
	    "Children the master forked");
	evbuffer_add_printf(b, "whoisd_pool_children_spawned_total %llu\n",
	    (unsigned long long)pool_sb_head->sh_spawned);
	metrics_head(b, "whoisd_pool_children_killed_total", "counter",
	    "Children the master killed (stuck past child_timeout)");
	evbuffer_add_printf(b, "whoisd_pool_children_killed_total %llu\n",
	    (unsigned long long)pool_sb_head->sh_killed);
	metrics_head(b, "whoisd_build_info", "gauge",
	    "The daemon's build: name, version and protocol");
	evbuffer_add_printf(b, "whoisd_build_info{daemon=\"%s\",version=\"%s\","
	    "protocol=\"%d\"} 1\n", pool_pd != NULL ? pool_pd->pd_name : "",
	    WHOISD_VERSION, PROTO_VERSION);
}

void
metrics_render(struct evbuffer *b)
{
	uint32_t	fam;
	int		used = 0;

	if (metrics_shm != NULL)
		while (used < METRICS_SERIES && __atomic_load_n(
		    &metrics_shm[used].ms_state, __ATOMIC_ACQUIRE) != MS_FREE)
			used++;
	for (fam = 0; fam < MP_N + (uint32_t)metrics_nfams; fam++)
		metrics_render_fam(b, fam, used);
	if (pool_sb != NULL)
		metrics_render_pool(b);
	if (metrics_collector != NULL)
		metrics_collector(b);
}

/* ------------------------------------------------ the metrics_listen port */

/*
 * One request per connection, answered and closed: a scraper comes every
 * few seconds, and a port this simple has nothing to keep alive.
 */
struct mconn {
	int		 mc_fd;
	struct event	*mc_ev;
	struct evbuffer	*mc_out;
	char		 mc_in[METRICS_HTTP_HEAD];
	size_t		 mc_len;
};

static void
mconn_end(struct mconn *mc)
{
	int	fd = mc->mc_fd;

	event_free(mc->mc_ev);
	evbuffer_free(mc->mc_out);
	free(mc);
	/* The lingering close calls pool_conn_done() when it is over. */
	pool_conn_linger(fd, 1.0);
}

static void
mconn_write_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct mconn	*mc = arg;

	if (ev & EV_TIMEOUT) {
		mconn_end(mc);
		return;
	}
	while (evbuffer_get_length(mc->mc_out) > 0) {
		if (evbuffer_write(mc->mc_out, fd) <= 0) {
			if (errno == EAGAIN || errno == EINTR)
				return;
			break;
		}
	}
	mconn_end(mc);
}

static void
mconn_respond(struct mconn *mc, int code, const char *reason,
    const char *ctype, struct evbuffer *body, int head)
{
	struct timeval	tv = { METRICS_HTTP_TIMEOUT, 0 };

	evbuffer_add_printf(mc->mc_out, "HTTP/1.1 %d %s\r\nContent-Type: %s\r\n"
	    "Content-Length: %zu\r\nCache-Control: no-store\r\n"
	    "Connection: close\r\n\r\n", code, reason, ctype,
	    evbuffer_get_length(body));
	if (!head)
		evbuffer_add_buffer(mc->mc_out, body);
	event_free(mc->mc_ev);
	mc->mc_ev = event_new(pool_base(), mc->mc_fd, EV_WRITE | EV_PERSIST,
	    mconn_write_cb, mc);
	event_add(mc->mc_ev, &tv);
	mconn_write_cb(mc->mc_fd, EV_WRITE, mc);
}

static void
mconn_request(struct mconn *mc)
{
	struct evbuffer	*body = evbuffer_new();
	char		*sp, *path, *end;
	int		 head = 0;

	mc->mc_in[mc->mc_len] = '\0';
	path = NULL;
	if ((sp = strchr(mc->mc_in, ' ')) != NULL) {
		*sp = '\0';
		path = sp + 1;
		if ((end = strpbrk(path, " ?\r\n")) != NULL)
			*end = '\0';
	}
	head = strcmp(mc->mc_in, "HEAD") == 0;
	if (path == NULL || (strcmp(mc->mc_in, "GET") != 0 && !head)) {
		evbuffer_add_printf(body, "only GET and HEAD\n");
		mconn_respond(mc, 405, "Method Not Allowed",
		    "text/plain; charset=utf-8", body, 0);
	} else if (strcmp(path, "/metrics") == 0) {
		metrics_render(body);
		mconn_respond(mc, 200, "OK", METRICS_CTYPE, body, head);
	} else if (strcmp(path, "/healthz") == 0) {
		evbuffer_add_printf(body, "ok\n");
		mconn_respond(mc, 200, "OK", "text/plain; charset=utf-8", body,
		    head);
	} else {
		evbuffer_add_printf(body, "not found; see /metrics\n");
		mconn_respond(mc, 404, "Not Found",
		    "text/plain; charset=utf-8", body, head);
	}
	evbuffer_free(body);
}

static void
mconn_read_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct mconn	*mc = arg;
	ssize_t		 n;

	if (ev & EV_TIMEOUT) {
		mconn_end(mc);
		return;
	}
	n = read(fd, mc->mc_in + mc->mc_len, sizeof(mc->mc_in) - 1 -
	    mc->mc_len);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		mconn_end(mc);
		return;
	}
	mc->mc_len += (size_t)n;
	mc->mc_in[mc->mc_len] = '\0';
	/* The request line is all we read; a head too long is cut there. */
	if (strstr(mc->mc_in, "\r\n\r\n") != NULL ||
	    strstr(mc->mc_in, "\n\n") != NULL ||
	    mc->mc_len == sizeof(mc->mc_in) - 1)
		mconn_request(mc);
}

void
metrics_http_accept(int fd)
{
	struct mconn	*mc = xcalloc(1, sizeof(*mc));
	struct timeval	 tv = { METRICS_HTTP_TIMEOUT, 0 };

	mc->mc_fd = fd;
	mc->mc_out = evbuffer_new();
	mc->mc_ev = event_new(pool_base(), fd, EV_READ | EV_PERSIST,
	    mconn_read_cb, mc);
	event_add(mc->mc_ev, &tv);
	/* TCP_DEFER_ACCEPT: the request is usually in already. */
	mconn_read_cb(fd, EV_READ, mc);
}
