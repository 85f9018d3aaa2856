/*
 * pool.c — the preforking process manager: one master, many children.
 *
 * The master never serves a client.  It binds (or takes from systemd) the
 * listening sockets, forks children, and then only waits for signals with
 * sigtimedwait(): no signal handlers, no event loop, nothing that can
 * race.  Every 200 ms, and after every signal, it runs pool_maintain(),
 * which reads the scoreboard (one struct sb_slot per child, in shared
 * memory) and decides what to spawn, retire and kill.
 *
 * A child runs a libevent loop.  It waits on the shared listeners, each
 * registered in libevent's epoll instance with EPOLLEXCLUSIVE, so the
 * kernel wakes one waiting child per connection instead of all of them
 * (see pool_child.c).  Because the listeners stay open in the master, a
 * child that exits never takes queued connections with it (which is what
 * goes wrong with one SO_REUSEPORT socket per child).
 *
 * Children learn that the master died from EOF on a pipe whose write end
 * only the master holds; they finish their clients and exit.
 *
 * pool_master.c is the master, pool_child.c a child.  This file holds
 * what both share: the conf in effect and its CIDR lists, the listeners
 * and the scoreboard, all set up by the master before it forks.
 */
#include <sys/types.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "common/net.h"
#include "common/pool.h"
#include "common/pool_priv.h"
#include "common/sd.h"
#include "common/util.h"

const struct pool_daemon	*pool_pd;
void				*pool_cf;
struct listener			 pool_ls[NET_MAX_LISTENERS];
int				 pool_nls;
struct sb_head			*pool_sb_head;
struct sb_slot			*pool_sb;
struct sb_priv			*pool_sb_priv;
int				 pool_alive_pipe[2] = { -1, -1 };

static struct cidr_list		 pool_allow, pool_deny;

void *
pool_conf(void)
{
	return pool_cf;
}

int
pool_apply_conf(void *conf, char *err, size_t errlen)
{
	struct pool_conf	*p = conf;
	struct cidr_list	 a, d;

	if (cidr_list_parse(&p->pc_cidr_allow, &a, err, errlen) == -1 ||
	    cidr_list_parse(&p->pc_cidr_deny, &d, err, errlen) == -1) {
		cidr_list_free(&a);
		return -1;
	}
	cidr_list_free(&pool_allow);
	cidr_list_free(&pool_deny);
	pool_allow = a;
	pool_deny = d;
	log_level = (int)p->pc_log_level;
	return 0;
}

int
pool_client_allowed(const struct sockaddr *sa, const char *where)
{
	char	addr[INET6_ADDRSTRLEN + 16];

	if (cidr_allowed(&pool_allow, &pool_deny, sa))
		return 1;
	sockaddr_str(sa, addr, sizeof(addr));
	log_notice("refused connection from %s on %s: %s", addr, where,
	    cidr_allowed(&pool_allow, &(struct cidr_list){ NULL, 0 }, sa) ?
	    "matches cidr_deny" : "not in cidr_allow");
	return 0;
}

/*
 * TCP_DEFER_ACCEPT on the daemon's public listeners: the kernel hands a
 * connection to accept() once its first bytes are in, so the read right
 * after accept() finds the query instead of EAGAIN, and a one-shot
 * connection needs no epoll registration at all.  A client that connects
 * and says nothing is accepted after about pd_defer_accept seconds (when
 * it acknowledges the retransmitted SYN-ACK) and then meets idle_timeout.
 * nginx's `listen ... deferred` is the same option.
 */
static void
pool_defer_accept(void)
{
	int	i, secs = pool_pd->pd_defer_accept;

	if (secs <= 0)
		return;
	for (i = 0; i < pool_nls; i++)
		if (setsockopt(pool_ls[i].l_fd, IPPROTO_TCP, TCP_DEFER_ACCEPT,
		    &secs, sizeof(secs)) == -1)
			log_warn("TCP_DEFER_ACCEPT on %s", pool_ls[i].l_name);
}

/* Bind each address of one listen key, as listeners named `name`. */
static int
pool_add_listeners(const struct conf_list *l, const char *name, int backlog,
    char *err, size_t errlen)
{
	int	j, fd;

	for (j = 0; j < l->cl_n; j++) {
		if (pool_nls == NET_MAX_LISTENERS) {
			snprintf(err, errlen, "too many listen addresses");
			return -1;
		}
		if ((fd = net_listen(l->cl_items[j], backlog, err,
		    errlen)) == -1)
			return -1;
		pool_ls[pool_nls].l_fd = fd;
		snprintf(pool_ls[pool_nls].l_name,
		    sizeof(pool_ls[pool_nls].l_name), "%s", name);
		snprintf(pool_ls[pool_nls].l_addr,
		    sizeof(pool_ls[pool_nls].l_addr), "%s", l->cl_items[j]);
		log_notice("listening on %s (%s)", l->cl_items[j], name);
		pool_nls++;
	}
	return 0;
}

int
pool_open_listeners(void *conf, char *err, size_t errlen)
{
	struct pool_conf	*p = conf;
	const struct conf_list	*lists[1 + 4 + 1];
	const char		*names[1 + 4 + 1];
	int			 nlists = 0, i, n;

	n = systemd_take_listeners(pool_ls, NET_MAX_LISTENERS, err, errlen);
	if (n < 0)
		return -1;
	if (n > 0) {
		pool_nls = n;
		for (i = 0; i < n; i++) {
			fd_nonblock(pool_ls[i].l_fd);
			fd_cloexec(pool_ls[i].l_fd);
			net_nodelay(pool_ls[i].l_fd);
			/* An unnamed socket is the daemon's main port. */
			if (strcmp(pool_ls[i].l_name, "listen") == 0 &&
			    pool_pd->pd_listen_name != NULL)
				snprintf(pool_ls[i].l_name,
				    sizeof(pool_ls[i].l_name), "%s",
				    pool_pd->pd_listen_name);
			log_notice("using socket \"%s\" from systemd",
			    pool_ls[i].l_name);
		}
		if (p->pc_listen.cl_n > 0)
			log_info("listen keys ignored: sockets come from systemd");
		/* A unit without a metrics socket: metrics_listen is bound here. */
		for (i = 0; i < n; i++)
			if (strcmp(pool_ls[i].l_name, "metrics") == 0)
				break;
		if (i == n && pool_add_listeners(&p->pc_metrics_listen,
		    "metrics", (int)p->pc_listen_backlog, err, errlen) == -1)
			return -1;
		pool_defer_accept();
		return 0;
	}

	if (p->pc_listen.cl_n == 0 && pool_pd->pd_default_listen != NULL) {
		p->pc_listen.cl_items = xcalloc(1, sizeof(char *));
		p->pc_listen.cl_items[0] = xstrdup(pool_pd->pd_default_listen);
		p->pc_listen.cl_n = 1;
	}
	lists[nlists] = &p->pc_listen;
	names[nlists++] = pool_pd->pd_listen_name ? pool_pd->pd_listen_name :
	    "listen";
	for (i = 0; i < pool_pd->pd_nextra; i++) {
		lists[nlists] = (const struct conf_list *)((char *)conf +
		    pool_pd->pd_extra_offs[i]);
		names[nlists++] = pool_pd->pd_extra_names[i];
	}
	lists[nlists] = &p->pc_metrics_listen;
	names[nlists++] = "metrics";
	for (i = 0; i < nlists; i++)
		if (pool_add_listeners(lists[i], names[i],
		    (int)p->pc_listen_backlog, err, errlen) == -1)
			return -1;
	if (pool_nls == 0) {
		snprintf(err, errlen, "nothing to listen on (no listen key and "
		    "no sockets from systemd)");
		return -1;
	}
	pool_defer_accept();
	return 0;
}

/*
 * A stopping master, and a draining child, will never accept again: they
 * close their copies of the listening sockets.  Once every process has
 * (the children die or drain too), a connect is refused at once, and a
 * peer's client backs off and retries, instead of waiting in a backlog
 * that no one accepts from and being reset when the last copy closes.
 * A socket from systemd stays open in systemd, queueing connections for
 * the next instance; on a reload the new children keep theirs.
 */
void
pool_close_listeners(void)
{
	int	i;

	for (i = 0; i < pool_nls; i++)
		if (pool_ls[i].l_fd != -1) {
			close(pool_ls[i].l_fd);
			pool_ls[i].l_fd = -1;
		}
}

/*
 * The scoreboard: shared anonymous memory, so it survives nothing but
 * this master and its children.  Only touched pages cost memory.
 */
void
pool_scoreboard_map(void)
{
	size_t	 sbsize;
	void	*map;

	sbsize = sizeof(struct sb_head) + SB_MAX * (sizeof(struct sb_slot) +
	    sizeof(struct sb_priv));
	map = mmap(NULL, sbsize, PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (map == MAP_FAILED)
		fatal("mmap scoreboard");
	pool_sb_head = map;
	pool_sb = (struct sb_slot *)(pool_sb_head + 1);
	pool_sb_priv = (struct sb_priv *)(pool_sb + SB_MAX);
	pool_sb_head->sh_master = getpid();
	pool_sb_head->sh_gen = 1;
}

/*
 * The scoreboard as JSON, for /status, whoisctl and the tests.  Any child
 * can call it: the scoreboard is shared memory.
 */
size_t
pool_status_json(char *buf, size_t len)
{
	static const char	*names[] = { "empty", "starting", "idle", "busy",
				    "retiring" };
	size_t			 o = 0;
	int			 slot, first = 1, st;
	uint64_t		 acc = 0, wk = 0, ws = 0, req = 0;
	double			 now = now_mono();

#define OUT(...) do {							\
	int n_ = snprintf(buf + o, o < len ? len - o : 0, __VA_ARGS__);	\
	if (n_ > 0) o += (size_t)n_;					\
} while (0)
	OUT("{\"master\":%ld,\"generation\":%u,\"spawned\":%llu,"
	    "\"killed\":%llu,\"children\":[", (long)pool_sb_head->sh_master,
	    pool_sb_head->sh_gen, (unsigned long long)pool_sb_head->sh_spawned,
	    (unsigned long long)pool_sb_head->sh_killed);
	for (slot = 0; slot < SB_MAX; slot++) {
		struct sb_slot *s = &pool_sb[slot];

		if (s->sb_pid == 0)
			continue;
		st = s->sb_state;
		if (st < 0 || st > SB_RETIRING)
			st = 0;
		acc += s->sb_accepts;
		wk += s->sb_wakeups;
		ws += s->sb_wasted;
		req += s->sb_requests;
		OUT("%s{\"pid\":%ld,\"state\":\"%s\",\"gen\":%u,"
		    "\"clients\":%u,\"requests\":%llu,\"accepts\":%llu,"
		    "\"wakeups\":%llu,\"wasted\":%llu,\"started\":%.0f,"
		    "\"request_age\":%.3f}", first ? "" : ",",
		    (long)s->sb_pid, names[st], s->sb_gen, s->sb_clients,
		    (unsigned long long)s->sb_requests,
		    (unsigned long long)s->sb_accepts,
		    (unsigned long long)s->sb_wakeups,
		    (unsigned long long)s->sb_wasted, s->sb_started,
		    s->sb_req_active ? now - s->sb_req_start : 0.0);
		first = 0;
	}
	OUT("],\"accepts\":%llu,\"wakeups\":%llu,\"wasted\":%llu,"
	    "\"requests\":%llu}", (unsigned long long)acc,
	    (unsigned long long)wk, (unsigned long long)ws,
	    (unsigned long long)req);
#undef OUT
	return o;
}
