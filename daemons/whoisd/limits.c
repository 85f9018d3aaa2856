/*
 * limits.c — what one client address, and clients that do not read, may
 * cost the front.
 *
 * Per address (IPv4 /32, IPv6 /64), shared by every child: concurrent
 * connections (limit_conn_per_client) and a token bucket of requests
 * (limit_req_per_client, limit_req_burst).  The table is a fixed-size
 * set-associative hash in a shared mapping the master makes before it
 * forks: an address hashes to a group of CL_WAYS entries under one
 * spinlock, so a check is a hash, a lock and a few compares, and nothing
 * is allocated per client.  An entry holding no connection and a full
 * bucket is free for another address; when a group has no free entry
 * the address goes unlimited (fail open) rather than being refused.
 *
 * Per child: the bytes of answers queued for clients that do not read
 * them (both ports).  Over http_max_unsent, the connections with the most
 * waiting are closed until a quarter of the budget is free again.
 */
#include <sys/mman.h>
#include <sys/queue.h>
#include <sys/random.h>
#include <sys/socket.h>

#include <netinet/in.h>

#include <errno.h>
#include <math.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "common/linger.h"
#include "common/log.h"
#include "common/net.h"
#include "common/pool.h"
#include "common/util.h"
#include "daemons/whoisd/whoisd.h"

#define CL_WAYS		8
#define CL_GROUPS	2048		/* a power of two */
#define CL_ENTRIES	(CL_WAYS * CL_GROUPS)
/* Children (by scoreboard slot) whose connections are counted per row,
 * so the next child in a slot can give back what a killed one held. */
#define CL_ROWS		64

struct cl_entry {
	uint64_t	ce_key[2];
	uint32_t	ce_used;
	uint32_t	ce_conns;
	double		ce_tokens;
	double		ce_stamp;	/* monotonic: ce_tokens as of then */
};

struct cl_group {
	_Atomic pid_t	cg_lock;	/* the holder, 0 if none */
	struct cl_entry	cg_e[CL_WAYS];
};

struct cl_table {
	uint64_t	ct_seed;
	struct cl_group	ct_g[CL_GROUPS];
	uint32_t	ct_rows[CL_ROWS][CL_ENTRIES];
};

static struct cl_table		*cl_tab;	/* inherited from the master */
static uint32_t			*cl_row;	/* this child's row, or NULL */
static pid_t			 cl_pid;
static long			 cl_max_conn;
static double			 cl_rate, cl_burst;

size_t				 front_unsent;
size_t				 front_max_unsent;
static LIST_HEAD(, unsent)	 unsent_list = LIST_HEAD_INITIALIZER(unsent_list);
static size_t			 unsent_n;
static struct event		*unsent_ev;
static int			 unsent_pending;

static struct log_limit		 ll_shed, ll_conn, ll_req, ll_full;

/* ----------------------------------------------------- the shared table */

int
limits_master_init(void)
{
	if (cl_tab != NULL)
		return 0;	/* a HUP: children keep sharing the same one */
	cl_tab = mmap(NULL, sizeof(*cl_tab), PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (cl_tab == MAP_FAILED) {
		cl_tab = NULL;
		log_warn("mmap of the client limits table");
		return -1;
	}
	/* A secret seed: an attacker cannot pick addresses that share a
	 * group and push each other out. */
	if (getrandom(&cl_tab->ct_seed, sizeof(cl_tab->ct_seed), 0) !=
	    sizeof(cl_tab->ct_seed))
		cl_tab->ct_seed = (uint64_t)getpid() ^
		    (uint64_t)(now_wall() * 1e6);
	return 0;
}

/*
 * A spinlock that names its holder: a child killed while it holds one
 * (child_timeout) must not stop every other child at that group for
 * good, so a waiter takes over the lock of a holder that is gone.
 */
static void
cl_lock(struct cl_group *g)
{
	pid_t	owner;
	int	spins = 0;

	for (;;) {
		owner = 0;
		if (atomic_compare_exchange_weak_explicit(&g->cg_lock, &owner,
		    cl_pid, memory_order_acquire, memory_order_relaxed))
			return;
		if (++spins % 64 != 0)
			continue;
		sched_yield();		/* the holder lost its CPU */
		if (owner != 0 && spins % 4096 == 0 && kill(owner, 0) == -1 &&
		    errno == ESRCH && atomic_compare_exchange_strong_explicit(
		    &g->cg_lock, &owner, cl_pid, memory_order_acquire,
		    memory_order_relaxed))
			return;
	}
}

static void
cl_unlock(struct cl_group *g)
{
	atomic_store_explicit(&g->cg_lock, 0, memory_order_release);
}

/* The address a limit counts: an IPv4 address, an IPv6 /64. */
static int
cl_key(const struct sockaddr *sa, uint64_t k[2])
{
	const struct sockaddr_in6	*s6;
	uint32_t			 a4;

	if (sa->sa_family == AF_INET) {
		memcpy(&a4, &((const struct sockaddr_in *)sa)->sin_addr, 4);
	} else if (sa->sa_family == AF_INET6) {
		s6 = (const struct sockaddr_in6 *)sa;
		if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr))
			memcpy(&a4, &s6->sin6_addr.s6_addr[12], 4);
		else {
			memcpy(&k[0], s6->sin6_addr.s6_addr, 8);
			k[1] = 6;
			return 0;
		}
	} else
		return -1;
	k[0] = a4;
	k[1] = 4;
	return 0;
}

static uint32_t
cl_hash(const uint64_t k[2])
{
	uint64_t	h;

	h = (k[0] ^ cl_tab->ct_seed) * 0x9e3779b97f4a7c15ULL;
	h = (h ^ k[1] ^ (h >> 29)) * 0xbf58476d1ce4e5b9ULL;
	h ^= h >> 32;
	return (uint32_t)h & (CL_GROUPS - 1);
}

/* Refill the bucket up to now. */
static void
cl_refill(struct cl_entry *e, double now)
{
	if (now > e->ce_stamp) {
		e->ce_tokens += (now - e->ce_stamp) * cl_rate;
		if (e->ce_tokens > cl_burst)
			e->ce_tokens = cl_burst;
		e->ce_stamp = now;
	}
}

/* An entry nothing depends on: no connection, a full bucket. */
static int
cl_idle(struct cl_entry *e, double now)
{
	if (!e->ce_used)
		return 1;
	if (e->ce_conns > 0)
		return 0;
	return cl_rate <= 0 ||
	    e->ce_tokens + (now - e->ce_stamp) * cl_rate >= cl_burst;
}

/*
 * A child starts in its scoreboard slot: counts a previous child in the
 * same slot left behind (it was killed with connections open) are given
 * back, so they do not hold its clients' addresses at the limit.
 */
static void
cl_child_init(void)
{
	struct cl_group	*g;
	int		 slot = pool_child_slot(), i;

	cl_pid = getpid();
	if (cl_tab == NULL || slot < 0 || slot >= CL_ROWS)
		return;
	cl_row = cl_tab->ct_rows[slot];
	for (i = 0; i < CL_ENTRIES; i++) {
		if (cl_row[i] == 0)
			continue;
		g = &cl_tab->ct_g[i / CL_WAYS];
		cl_lock(g);
		if (g->cg_e[i % CL_WAYS].ce_conns >= cl_row[i])
			g->cg_e[i % CL_WAYS].ce_conns -= cl_row[i];
		else
			g->cg_e[i % CL_WAYS].ce_conns = 0;
		cl_row[i] = 0;
		cl_unlock(g);
	}
}

int
limits_conn_open(const struct sockaddr *sa, int *ref)
{
	struct cl_group	*g;
	struct cl_entry	*e = NULL;
	uint64_t	 k[2];
	double		 now;
	int		 i, gi, fr = -1;
	char		 addr[64];

	*ref = -1;
	if (cl_tab == NULL || (cl_max_conn == 0 && cl_rate <= 0) ||
	    sa == NULL || cl_key(sa, k) == -1)
		return 0;
	now = now_mono();
	gi = (int)cl_hash(k);
	g = &cl_tab->ct_g[gi];
	cl_lock(g);
	for (i = 0; i < CL_WAYS; i++) {
		if (g->cg_e[i].ce_used && g->cg_e[i].ce_key[0] == k[0] &&
		    g->cg_e[i].ce_key[1] == k[1]) {
			e = &g->cg_e[i];
			break;
		}
		if (fr == -1 && cl_idle(&g->cg_e[i], now))
			fr = i;
	}
	if (e == NULL) {
		if (fr == -1) {
			cl_unlock(g);
			sockaddr_str(sa, addr, sizeof(addr));
			log_warnx_limited(&ll_full, "client limits table full: %s "
			    "is not limited", addr);
			return 0;
		}
		i = fr;
		e = &g->cg_e[i];
		e->ce_key[0] = k[0];
		e->ce_key[1] = k[1];
		e->ce_used = 1;
		e->ce_conns = 0;
		e->ce_tokens = cl_burst;
		e->ce_stamp = now;
	}
	if (cl_max_conn > 0 && e->ce_conns >= (uint32_t)cl_max_conn) {
		cl_unlock(g);
		sockaddr_str(sa, addr, sizeof(addr));
		log_warnx_limited(&ll_conn, "refused a connection from %s: over "
		    "limit_conn_per_client (%ld)", addr, cl_max_conn);
		return -1;
	}
	e->ce_conns++;
	*ref = gi * CL_WAYS + i;
	if (cl_row != NULL)
		cl_row[*ref]++;
	cl_unlock(g);
	return 0;
}

void
limits_conn_close(int ref)
{
	struct cl_group	*g;

	if (ref < 0)
		return;
	g = &cl_tab->ct_g[ref / CL_WAYS];
	cl_lock(g);
	if (g->cg_e[ref % CL_WAYS].ce_conns > 0)
		g->cg_e[ref % CL_WAYS].ce_conns--;
	if (cl_row != NULL && cl_row[ref] > 0)
		cl_row[ref]--;
	cl_unlock(g);
}

int
limits_req(int ref, double now)
{
	struct cl_group	*g;
	struct cl_entry	*e;
	double		 wait = 0;

	if (ref < 0 || cl_rate <= 0)
		return 0;
	if (now == 0)
		now = now_mono();
	g = &cl_tab->ct_g[ref / CL_WAYS];
	e = &g->cg_e[ref % CL_WAYS];
	cl_lock(g);
	cl_refill(e, now);
	if (e->ce_tokens >= 1)
		e->ce_tokens -= 1;
	else
		wait = (1 - e->ce_tokens) / cl_rate;
	cl_unlock(g);
	if (wait == 0)
		return 0;
	log_warnx_limited(&ll_req, "a client over limit_req_per_client (%g/s, "
	    "burst %g) answered 429", cl_rate, cl_burst);
	return wait < 1 ? 1 : (int)ceil(wait);
}

/* The answer to a connection over limit_conn_per_client, and its close. */
void
limits_refuse(int fd, int http)
{
	/* A problem details object, as every HTTP error of the front. */
	static const char	 hbody[] =
	    "{\"type\":\"urn:whoisd:problem:too-many-connections\","
	    "\"title\":\"Too Many Requests\",\"status\":429,"
	    "\"code\":\"too-many-connections\",\"detail\":\"too many "
	    "connections from your address\"}\n";
	static const char	 whois[] = "status: unknown\nreason: too many "
	    "connections from your address\n";
	char			 buf[640], date[48];
	time_t			 t = time(NULL);
	struct tm		 tm;
	int			 n;

	if (http) {
		gmtime_r(&t, &tm);
		strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
		n = snprintf(buf, sizeof(buf), "HTTP/1.1 429 Too Many "
		    "Requests\r\nDate: %s\r\n"
		    "Content-Type: application/problem+json\r\n"
		    "Content-Length: %zu\r\nCache-Control: no-store\r\n"
		    "Connection: close\r\nRetry-After: 1\r\n\r\n%s",
		    date, sizeof(hbody) - 1, hbody);
	} else
		n = snprintf(buf, sizeof(buf), "%s", whois);
	(void)send(fd, buf, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT);
	/* Its request is unread: a plain close would reset the answer. */
	pool_conn_linger(fd, 2.0);
}

/* ------------------------------------------------ unsent answer bytes */

/*
 * Close a connection shed for not reading with a reset: a FIN would wait
 * behind the answer it does not read, and the kernel would keep that
 * answer and the socket until the client gave up.
 */
void
limits_abort_close(int fd)
{
	struct linger	l = { 1, 0 };

	(void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
	close(fd);
	pool_conn_done();
}

static int
unsent_cmp(const void *a, const void *b)
{
	const struct unsent	*x = *(const struct unsent * const *)a;
	const struct unsent	*y = *(const struct unsent * const *)b;

	if (x->us_bytes != y->us_bytes)
		return x->us_bytes > y->us_bytes ? -1 : 1;
	return x->us_since < y->us_since ? -1 : x->us_since > y->us_since;
}

/*
 * Over http_max_unsent: close the readers with the most waiting.  Called
 * only where no connection is in the middle of its work: at the end of a
 * connection's read callback (so a burst of readers cannot each add an
 * answer before the loop turns), else from the deferred event.
 */
void
unsent_shed(void)
{
	struct unsent	**v, *u;
	size_t		  n = 0, i, goal = front_max_unsent / 4 * 3;
	double		  now = now_mono();

	if (front_unsent <= front_max_unsent || unsent_n == 0)
		return;
	v = xcalloc(unsent_n, sizeof(*v));
	LIST_FOREACH(u, &unsent_list, us_entry)
		v[n++] = u;
	qsort(v, n, sizeof(*v), unsent_cmp);
	for (i = 0; i < n && front_unsent > goal; i++) {
		log_warnx_limited(&ll_shed, "closed a client that does not read "
		    "its answers (%zu bytes waiting for %.1f s): this child "
		    "holds %zu, over http_max_unsent (%zu)", v[i]->us_bytes,
		    now - v[i]->us_since, front_unsent, front_max_unsent);
		v[i]->us_shed(v[i]);	/* closes: unsent_update(.., 0) */
	}
	free(v);
}

static void
unsent_shed_cb(evutil_socket_t fd, short ev, void *arg)
{
	(void)fd; (void)ev; (void)arg;
	unsent_pending = 0;
	unsent_shed();
}

void
unsent_update_slow(struct unsent *u, size_t bytes)
{
	if (u->us_bytes == 0) {
		LIST_INSERT_HEAD(&unsent_list, u, us_entry);
		unsent_n++;
		u->us_since = now_mono();
	}
	front_unsent += bytes - u->us_bytes;	/* modulo: a decrease too */
	u->us_bytes = bytes;
	if (bytes == 0) {
		LIST_REMOVE(u, us_entry);
		unsent_n--;
	}
	if (front_max_unsent > 0 && front_unsent > front_max_unsent &&
	    !unsent_pending && unsent_ev != NULL) {
		/* Not here: the caller is in the middle of a connection. */
		unsent_pending = 1;
		event_active(unsent_ev, EV_TIMEOUT, 0);
	}
}

void
limits_child_init(struct event_base *base)
{
	struct whoisd_conf	*wc = front_conf();

	cl_max_conn = wc->wc_limit_conn;
	cl_rate = wc->wc_limit_req;
	cl_burst = (double)wc->wc_limit_burst;
	if (cl_burst < 1)
		cl_burst = 1;
	front_max_unsent = (size_t)wc->wc_http_max_unsent;
	if ((unsent_ev = evtimer_new(base, unsent_shed_cb, NULL)) == NULL)
		fatalx("out of memory");
	cl_child_init();
}
