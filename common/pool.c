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
 * (see child_start_accepting).  Because the listeners stay open in the
 * master, a child that exits never takes queued connections with it
 * (which is what goes wrong with one SO_REUSEPORT socket per child).
 *
 * Children learn that the master died from EOF on a pipe whose write end
 * only the master holds; they finish their clients and exit.
 */
#include <sys/types.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <malloc.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
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
#include "common/sd.h"
#include "common/util.h"

#define SB_MAX			1024	/* ceiling on max_servers */
#define TICK			0.2	/* seconds between maintenance passes */
#define STATUS_EVERY		5.0	/* seconds between STATUS= lines */
#define RETIRE_AT_ONCE		2	/* children retiring for max_requests at once */
#define ACCEPT_BATCH		16	/* connections accepted per wake-up */
#define STUCK_GRACE		1.0	/* seconds from the USR2 dump to SIGKILL */
#define POOL_FD_RESERVE		64	/* descriptors a child keeps besides clients */

/* Master-side bookkeeping per slot (the shared part is struct sb_slot). */
struct child {
	pid_t		 ch_pid;
	uint32_t	 ch_gen;
	int		 ch_quit_sent;		/* graceful stop requested */
	double		 ch_quit_at;
	double		 ch_stuck_at;		/* USR2 sent at (monotonic) */
	int		 ch_killed;		/* SIGKILL sent */
};

/* Fields shared with children through the scoreboard mapping. */
struct sb_head {
	volatile uint32_t	 sh_gen;
	volatile pid_t		 sh_master;
	volatile uint64_t	 sh_spawned;
	volatile uint64_t	 sh_reaped;
	volatile uint64_t	 sh_killed;
};

/* Private per-child flag, beside the public sb_slot fields. */
struct sb_priv {
	volatile int		 sp_want_retire;
	volatile double		 sp_heartbeat;	/* monotonic */
};

static const struct pool_daemon	*pool_pd;
static void			*pool_cf;	/* conf in effect */
static int			 pool_argc;
static char			**pool_argv;
static struct listener		 pool_ls[NET_MAX_LISTENERS];
static int			 pool_nls;
static struct cidr_list		 pool_allow, pool_deny;

static struct sb_head		*sb_head;
static struct sb_slot		*sb;
static struct sb_priv		*sb_priv;
static struct child		 children[SB_MAX];
static int			 alive_pipe[2] = { -1, -1 };

/* Master state. */
static int			 m_stopping;	/* 'T' now, 'Q' graceful */
static double			 m_stop_deadline;
static int			 m_reloading;
static double			 m_reload_started;
static int			 m_ready_sent;
static double			 m_spawn_window;	/* start of this second */
static int			 m_spawned_in_window;
static int			 m_spawn_batch = 1;
static double			 m_last_retire;
static double			 m_last_status;
static double			 m_last_watchdog;
static double			 m_last_dead_check;
static double			 m_watchdog;
static char			 m_status[256];
static uint64_t			 m_reloads;		/* finished, ok or not */
static char			 m_reload_result[160] = "none";
static int			 m_saturated;

/* Child state. */
static int			 c_slot = -1;
static struct event_base	*c_base;
static struct event		*c_accept_ev[NET_MAX_LISTENERS];
static int			 c_epfd = -1;	/* libevent's epoll instance */
static int			 c_accepting;
static int			 c_draining;
static unsigned long		 c_clients;
static uint64_t			 c_max_req;	/* max_requests + jitter, 0 = never */
static struct event		*c_alive_ev, *c_quit_ev, *c_usr1_ev, *c_tick_ev;
static struct event		*c_drain_timer;

static void	child_main(int slot) __attribute__((noreturn));
static void	child_stop_accepting(void);
static void	child_start_accepting(void);
static void	child_maybe_exit(void);
static void	pool_close_listeners(void);

static struct pool_conf *
pc(void)
{
	return pool_cf;
}

/* ================================================================ child == */

void *
pool_conf(void)
{
	return pool_cf;
}

struct event_base *
pool_base(void)
{
	return c_base;
}

int
pool_child_slot(void)
{
	return c_slot;
}

int
pool_draining(void)
{
	return c_draining;
}

static void
child_set_state(void)
{
	struct sb_slot	*s = &sb[c_slot];

	s->sb_clients = (uint32_t)c_clients;
	if (c_draining)
		s->sb_state = SB_RETIRING;
	else if (c_clients > 0)
		s->sb_state = SB_BUSY;
	else
		s->sb_state = SB_IDLE;
}

void
pool_req_begin(const char *key)
{
	struct sb_slot	*s = &sb[c_slot];
	size_t		 n;

	n = strlen(key);
	if (n >= SB_KEYLEN)
		n = SB_KEYLEN - 1;
	/* The key is copied first so a reader never sees an old key as new. */
	memcpy(s->sb_req_key, key, n);
	s->sb_req_key[n] = '\0';
	s->sb_req_start = now_mono();
	s->sb_req_active++;
}

void
pool_req_end(void)
{
	struct sb_slot	*s = &sb[c_slot];

	if (s->sb_req_active > 0)
		s->sb_req_active--;
	s->sb_requests++;
	if (c_max_req != 0 && s->sb_requests >= c_max_req &&
	    !sb_priv[c_slot].sp_want_retire) {
		/*
		 * Ask the master for permission instead of retiring at once:
		 * it lets only a few children retire together, so children
		 * started together do not all restart together.
		 */
		sb_priv[c_slot].sp_want_retire = 1;
		log_info("served %llu requests (limit %llu), asking to retire",
		    (unsigned long long)s->sb_requests,
		    (unsigned long long)c_max_req);
	}
}

void
pool_conn_done(void)
{
	if (c_clients == 0) {
		log_warnx("%s: more connections closed than accepted",
		    __func__);
		return;
	}
	c_clients--;
	child_set_state();
	if (!c_draining && !c_accepting &&
	    c_clients < (unsigned long)pc()->pc_max_clients_per_child)
		child_start_accepting();
	child_maybe_exit();
}

static void
pool_conn_lingered(void *arg)
{
	(void)arg;
	pool_conn_done();
}

void
pool_conn_linger(int fd, double secs)
{
	linger_close_then(c_base, fd, secs, pool_conn_lingered, NULL);
}

static void	child_exit(int) __attribute__((noreturn));

static void
child_exit(int code)
{
	if (pool_pd->pd_child_exit != NULL)
		pool_pd->pd_child_exit();
	sb[c_slot].sb_state = SB_RETIRING;
	log_debug("child exiting, served %llu requests",
	    (unsigned long long)sb[c_slot].sb_requests);
	_exit(code);
}

static void
child_maybe_exit(void)
{
	if (c_draining && c_clients == 0)
		child_exit(0);
}

static void
child_drain_timeout(evutil_socket_t fd, short ev, void *arg)
{
	(void)fd; (void)ev; (void)arg;
	log_warnx("shutdown_timeout (%.1fs) reached with %lu client(s) "
	    "still open; closing them", pc()->pc_shutdown_timeout, c_clients);
	child_exit(0);
}

/* Stop accepting, let the daemon wind down its connections, then exit. */
static void
child_drain(const char *why)
{
	struct timeval	tv;
	double		t;

	if (c_draining)
		return;
	c_draining = 1;
	log_info("child draining (%s), %lu client(s) open", why, c_clients);
	child_stop_accepting();
	pool_close_listeners();
	child_set_state();
	if (pool_pd->pd_child_drain != NULL)
		pool_pd->pd_child_drain();
	t = pc()->pc_shutdown_timeout;
	tv.tv_sec = (time_t)t;
	tv.tv_usec = (suseconds_t)((t - (double)tv.tv_sec) * 1e6);
	c_drain_timer = evtimer_new(c_base, child_drain_timeout, NULL);
	evtimer_add(c_drain_timer, &tv);
	child_maybe_exit();
}

static void
child_handle_conn(struct listener *l, int fd, struct sockaddr *sa,
    socklen_t salen)
{
	if (!pool_client_allowed(sa, l->l_name)) {
		linger_close(c_base, fd, 1.0);
		return;
	}
	if (pool_conn_add() == -1 ||
	    c_clients >= (unsigned long)pc()->pc_max_clients_per_child)
		child_stop_accepting();
	pool_pd->pd_child_accept(l, fd, sa, salen);
}

/* Accept up to ACCEPT_BATCH connections from one ready listener. */
static void
child_accept_from(struct listener *l)
{
	struct sockaddr_storage	ss;
	socklen_t		sl;
	int			i, fd;

	sb[c_slot].sb_wakeups++;
	for (i = 0; i < ACCEPT_BATCH && c_accepting; i++) {
		sl = sizeof(ss);
		fd = accept4(l->l_fd, (struct sockaddr *)&ss, &sl,
		    SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd == -1) {
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				if (i == 0)
					sb[c_slot].sb_wasted++;
			} else if (errno == EMFILE || errno == ENFILE) {
				/* Out of fds: stop until a client leaves. */
				log_warn("accept on %s", l->l_name);
				child_stop_accepting();
			} else if (errno != ECONNABORTED && errno != EINTR)
				log_warn("accept on %s", l->l_name);
			return;
		}
		child_handle_conn(l, fd, (struct sockaddr *)&ss, sl);
	}
}

static void
child_listener_cb(evutil_socket_t fd, short ev, void *arg)
{
	(void)fd; (void)ev;
	child_accept_from(arg);
}

/*
 * Exclusive wake-ups.  EPOLLEXCLUSIVE only works for a process blocked in
 * epoll_wait() on the very epoll instance that holds the listener: nested
 * in another epoll it wakes every child again (the kernel counts a
 * nested wake-up as nobody woken and moves on to the next waiter).  So
 * the listener goes into libevent's own epoll instance: libevent adds it
 * as usual, then we replace its registration with an identical one that
 * carries EPOLLEXCLUSIVE.  libevent's epoll backend keys events on
 * data.fd, which we keep; event_del() still removes it.
 */
static void	pool_exclusive(int fd);

static int
child_find_libevent_epoll(void)
{
	char	path[64], target[64];
	int	fd, found = -1, n = 0;
	ssize_t	len;

	for (fd = 0; fd < 1024; fd++) {
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		if ((len = readlink(path, target, sizeof(target) - 1)) <= 0)
			continue;
		target[len] = '\0';
		if (strcmp(target, "anon_inode:[eventpoll]") == 0) {
			found = fd;
			n++;
		}
	}
	return n == 1 ? found : -1;
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
static void
pool_close_listeners(void)
{
	int	i;

	for (i = 0; i < pool_nls; i++) {
		if (c_accept_ev[i] != NULL) {
			event_free(c_accept_ev[i]);
			c_accept_ev[i] = NULL;
		}
		if (pool_ls[i].l_fd != -1) {
			close(pool_ls[i].l_fd);
			pool_ls[i].l_fd = -1;
		}
	}
}

static void
child_start_accepting(void)
{
	int	i;

	if (c_accepting || c_draining)
		return;
	c_accepting = 1;
	for (i = 0; i < pool_nls; i++) {
		if (c_accept_ev[i] == NULL)
			continue;
		event_add(c_accept_ev[i], NULL);
		pool_exclusive(pool_ls[i].l_fd);
	}
}

static void
pool_exclusive(int fd)
{
	struct epoll_event	e;

	if (c_epfd == -1)
		return;
	memset(&e, 0, sizeof(e));
	e.events = EPOLLIN | EPOLLEXCLUSIVE;
	e.data.fd = fd;
	if (epoll_ctl(c_epfd, EPOLL_CTL_DEL, fd, NULL) == -1 ||
	    epoll_ctl(c_epfd, EPOLL_CTL_ADD, fd, &e) == -1)
		fatal("epoll_ctl: exclusive listener fd %d", fd);
}

int
pool_conn_add(void)
{
	c_clients++;
	sb[c_slot].sb_accepts++;
	child_set_state();
	return c_clients > (unsigned long)pc()->pc_max_clients_per_child ?
	    -1 : 0;
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

static void
child_stop_accepting(void)
{
	int	i;

	if (!c_accepting)
		return;
	c_accepting = 0;
	for (i = 0; i < pool_nls; i++)
		if (c_accept_ev[i] != NULL)
			event_del(c_accept_ev[i]);
}

static void
child_alive_cb(evutil_socket_t fd, short ev, void *arg)
{
	char	c;
	ssize_t	n;

	(void)ev; (void)arg;
	n = read(fd, &c, 1);
	if (n == 0 || (n == -1 && errno != EAGAIN && errno != EINTR)) {
		event_del(c_alive_ev);
		log_warnx("master died; finishing %lu client(s) and exiting",
		    c_clients);
		child_drain("master gone");
	}
}

static void
child_quit_cb(evutil_socket_t sig, short ev, void *arg)
{
	(void)sig; (void)ev; (void)arg;
	child_drain("asked by master");
}

static void
child_usr1_cb(evutil_socket_t sig, short ev, void *arg)
{
	(void)sig; (void)ev; (void)arg;
	log_reopen();
}

static void
child_tick_cb(evutil_socket_t fd, short ev, void *arg)
{
	(void)fd; (void)ev; (void)arg;
	sb_priv[c_slot].sp_heartbeat = now_mono();
}

/*
 * USR2 from the master: this child looks stuck.  The event loop is not
 * running (that is why the master thinks so), so this is a real signal
 * handler and uses only async-signal-safe calls to say which request it
 * was on.
 */
static void
child_usr2_handler(int sig)
{
	char		 buf[256];
	const char	*p;
	size_t		 o = 0;
	int		 saved = errno;
	long		 v;
	char		 num[24];
	int		 n;

	(void)sig;
#define APPEND(s) for (p = (s); *p && o < sizeof(buf) - 2; p++) buf[o++] = *p
	APPEND(pool_pd->pd_name);
	APPEND("[");
	v = (long)getpid();
	n = 0;
	do { num[n++] = '0' + v % 10; v /= 10; } while (v > 0 && n < 20);
	while (n > 0 && o < sizeof(buf) - 2)
		buf[o++] = num[--n];
	APPEND("] child warning: stuck past child_timeout on request '");
	for (n = 0; n < SB_KEYLEN && sb[c_slot].sb_req_key[n] != '\0' &&
	    o < sizeof(buf) - 4; n++) {
		unsigned char c = sb[c_slot].sb_req_key[n];
		buf[o++] = (c >= 0x20 && c < 0x7f) ? c : '?';
	}
	APPEND("'; the master will kill it");
#undef APPEND
	buf[o++] = '\n';
	(void)!write(log_fd(), buf, o);
	errno = saved;
}

static void
child_signals(void)
{
	struct sigaction	sa;
	sigset_t		set;
	int			sigs_dfl[] = { SIGTERM, SIGCHLD };
	int			sigs_ign[] = { SIGINT, SIGHUP, SIGTTIN, SIGTTOU,
				    SIGPIPE };
	size_t			i;

	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = SIG_DFL;
	for (i = 0; i < nitems(sigs_dfl); i++)
		sigaction(sigs_dfl[i], &sa, NULL);
	/* INT goes to the whole terminal's process group; the master decides. */
	sa.sa_handler = SIG_IGN;
	for (i = 0; i < nitems(sigs_ign); i++)
		sigaction(sigs_ign[i], &sa, NULL);
	sa.sa_handler = child_usr2_handler;
	sigaction(SIGUSR2, &sa, NULL);
	sigemptyset(&set);
	sigprocmask(SIG_SETMASK, &set, NULL);
}

static void
child_main(int slot)
{
	struct timeval	one = { 1, 0 };
	char		title[32];
	int		i;
	long		jitter;

	c_slot = slot;
	log_set_child(1);
	close(alive_pipe[1]);
	alive_pipe[1] = -1;
	/* A child must never outlive a master killed with -9 for long. */
	prctl(PR_SET_PDEATHSIG, SIGQUIT);
	/* The kernel keeps 15 bytes of a task name: "whoisd-cache:ch". */
	snprintf(title, sizeof(title), "%.12s:ch", pool_pd->pd_name);
	title[15] = '\0';
	prctl(PR_SET_NAME, title);

	jitter = pc()->pc_max_requests_jitter > 0 ?
	    random() % (pc()->pc_max_requests_jitter + 1) : 0;
	c_max_req = pc()->pc_max_requests > 0 ?
	    (uint64_t)(pc()->pc_max_requests + jitter) : 0;

	if ((c_base = event_base_new()) == NULL)
		fatalx("event_base_new failed");
	if (strcmp(event_base_get_method(c_base), "epoll") != 0)
		log_warnx("libevent uses %s, not epoll: no exclusive accept",
		    event_base_get_method(c_base));
	/* Signals: QUIT and USR1 through the loop; USR2 raw; see above. */
	c_quit_ev = evsignal_new(c_base, SIGQUIT, child_quit_cb, NULL);
	c_usr1_ev = evsignal_new(c_base, SIGUSR1, child_usr1_cb, NULL);
	evsignal_add(c_quit_ev, NULL);
	evsignal_add(c_usr1_ev, NULL);
	child_signals();
	if (getppid() != sb_head->sh_master) {
		/* The master died between fork and PDEATHSIG. */
		_exit(0);
	}

	c_alive_ev = event_new(c_base, alive_pipe[0], EV_READ | EV_PERSIST,
	    child_alive_cb, NULL);
	event_add(c_alive_ev, NULL);
	c_tick_ev = event_new(c_base, -1, EV_PERSIST, child_tick_cb, NULL);
	event_add(c_tick_ev, &one);
	sb_priv[slot].sp_heartbeat = now_mono();

	for (i = 0; i < pool_nls; i++) {
		c_accept_ev[i] = event_new(c_base, pool_ls[i].l_fd,
		    EV_READ | EV_PERSIST, child_listener_cb, &pool_ls[i]);
	}
	if (strcmp(pc()->pc_serialize, "epoll") == 0 &&
	    (c_epfd = child_find_libevent_epoll()) == -1)
		log_warnx("cannot find libevent's epoll instance; accepting "
		    "without EPOLLEXCLUSIVE");

	/*
	 * Keep up to 4 MB of freed heap instead of giving it back at once.
	 * A burst grows a child's heap (a whoisd-query child holds an 8 KB
	 * read buffer per registry session, whoisd-cache SQLite's savepoint
	 * and page buffers per write) and frees it again; with glibc's
	 * 128 KB trim threshold the break then went down and up with every
	 * burst, each shrink a TLB shoot-down across cores and each regrowth
	 * page faults (perf: ~10% of the cache's CPU in a miss burst).
	 * Setting the trim threshold pins glibc's mmap threshold, so that is
	 * set too, or every large buffer would be an mmap/munmap pair.
	 */
	mallopt(M_TRIM_THRESHOLD, 4 * 1024 * 1024);
	mallopt(M_TOP_PAD, 512 * 1024);
	mallopt(M_MMAP_THRESHOLD, 4 * 1024 * 1024);
	pool_pd->pd_child_init(c_base, pool_cf);
	child_start_accepting();
	sb[slot].sb_state = SB_IDLE;
	log_debug("child started in slot %d, generation %u", slot,
	    sb[slot].sb_gen);
	event_base_dispatch(c_base);
	child_exit(0);
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
	    "\"killed\":%llu,\"children\":[", (long)sb_head->sh_master,
	    sb_head->sh_gen, (unsigned long long)sb_head->sh_spawned,
	    (unsigned long long)sb_head->sh_killed);
	for (slot = 0; slot < SB_MAX; slot++) {
		struct sb_slot *s = &sb[slot];

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

/* =============================================================== master == */

static void
pool_fork(void)
{
	pid_t	pid;
	int	slot;

	for (slot = 0; slot < SB_MAX; slot++)
		if (children[slot].ch_pid == 0 && sb[slot].sb_pid == 0)
			break;
	if (slot == SB_MAX) {
		log_warnx("%s: scoreboard full", __func__);
		return;
	}
	memset((void *)&sb[slot], 0, sizeof(sb[slot]));
	memset((void *)&sb_priv[slot], 0, sizeof(sb_priv[slot]));
	sb[slot].sb_state = SB_STARTING;
	sb[slot].sb_gen = sb_head->sh_gen;
	sb[slot].sb_started = now_wall();

	switch (pid = fork()) {
	case -1:
		log_warn("%s: fork", __func__);
		sb[slot].sb_state = SB_EMPTY;
		return;
	case 0:
		srandom((unsigned)(getpid() ^ (unsigned)(now_wall() * 1e6)));
		sb[slot].sb_pid = getpid();
		child_main(slot);
		/* NOTREACHED */
	default:
		break;
	}
	sb[slot].sb_pid = pid;
	children[slot].ch_pid = pid;
	children[slot].ch_gen = sb_head->sh_gen;
	children[slot].ch_quit_sent = 0;
	children[slot].ch_stuck_at = 0;
	children[slot].ch_killed = 0;
	sb_head->sh_spawned++;
	log_debug("spawned child %ld in slot %d", (long)pid, slot);
}

static void
pool_child_quit(int slot, const char *why)
{
	struct child	*ch = &children[slot];

	if (ch->ch_pid == 0 || ch->ch_quit_sent)
		return;
	ch->ch_quit_sent = 1;
	ch->ch_quit_at = now_mono();
	log_info("retiring child %ld (%s)", (long)ch->ch_pid, why);
	kill(ch->ch_pid, SIGQUIT);
}

/* Reap until nothing is left to reap: never a zombie. */
static void
pool_reap(void)
{
	pid_t	pid;
	int	status, slot;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (slot = 0; slot < SB_MAX; slot++)
			if (children[slot].ch_pid == pid)
				break;
		sb_head->sh_reaped++;
		if (slot == SB_MAX) {
			log_debug("reaped unknown pid %ld", (long)pid);
			continue;
		}
		if (WIFSIGNALED(status) && !children[slot].ch_killed &&
		    WTERMSIG(status) != SIGTERM)
			log_warnx("child %ld died of signal %d%s", (long)pid,
			    WTERMSIG(status), WCOREDUMP(status) ?
			    " (core dumped)" : "");
		else if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
			log_warnx("child %ld exited with status %d", (long)pid,
			    WEXITSTATUS(status));
		else
			log_debug("child %ld exited", (long)pid);
		memset(&children[slot], 0, sizeof(children[slot]));
		memset((void *)&sb[slot], 0, sizeof(sb[slot]));
	}
}

struct pool_counts {
	int		live;		/* current generation, not retiring */
	int		idle;		/* of those: starting or idle */
	int		spare;		/* of those: able to take a client */
	int		busy;
	int		retiring;	/* quit sent or draining */
	int		old;		/* older generation, not yet told to quit */
	int		total;
	int		ready;		/* current generation, idle or busy */
	unsigned long	clients;
	uint64_t	requests;
};

static void
pool_count(struct pool_counts *c)
{
	int	slot;

	memset(c, 0, sizeof(*c));
	for (slot = 0; slot < SB_MAX; slot++) {
		struct child	*ch = &children[slot];
		struct sb_slot	*s = &sb[slot];

		if (ch->ch_pid == 0)
			continue;
		c->total++;
		c->clients += s->sb_clients;
		c->requests += s->sb_requests;
		if (ch->ch_quit_sent || s->sb_state == SB_RETIRING) {
			c->retiring++;
			continue;
		}
		if (ch->ch_gen != sb_head->sh_gen) {
			c->old++;
			continue;
		}
		c->live++;
		if (s->sb_state == SB_STARTING || s->sb_state == SB_IDLE)
			c->idle++;
		else
			c->busy++;
		/*
		 * A child of an event-driven daemon with clients is not
		 * "taken" the way a Net::Server child is: it can take more
		 * until max_clients_per_child.  Spawning looks at that
		 * spare capacity; retiring looks at truly idle children.
		 */
		if (s->sb_state == SB_STARTING ||
		    s->sb_clients < (uint32_t)pc()->pc_max_clients_per_child)
			c->spare++;
		if (s->sb_state == SB_IDLE || s->sb_state == SB_BUSY)
			c->ready++;
	}
}

/*
 * status_file: the master's state for whoisctl (`whoisctl reload` waits
 * on it, so `systemctl reload` returns when the reload is done).  Written
 * to a temporary file and renamed, so a reader never sees half of it.
 */
static void
pool_write_status(void)
{
	const char	*path = pc()->pc_status_file;
	char		 tmp[1024];
	FILE		*fp;

	if (path == NULL || *path == '\0')
		return;
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if ((fp = fopen(tmp, "w")) == NULL) {
		log_warn("status_file %s", tmp);
		return;
	}
	fprintf(fp, "pid %ld\ngeneration %u\nreloading %d\nreloads %llu\n"
	    "last_reload %s\nready %d\nstatus %s\n", (long)getpid(),
	    sb_head->sh_gen, m_reloading, (unsigned long long)m_reloads,
	    m_reload_result, m_ready_sent, m_status);
	if (fclose(fp) != 0 || rename(tmp, path) == -1)
		log_warn("status_file %s", path);
}

static void
pool_status(const struct pool_counts *c, int force)
{
	double	now = now_mono();

	snprintf(m_status, sizeof(m_status), "children %d (idle %d, busy %d, "
	    "retiring %d), clients %lu, requests %llu, spawned %llu",
	    c->total, c->idle, c->busy, c->retiring + c->old, c->clients,
	    (unsigned long long)c->requests,
	    (unsigned long long)sb_head->sh_spawned);
	if (force || now - m_last_status >= STATUS_EVERY) {
		m_last_status = now;
		systemd_notify("STATUS=%s", m_status);
		pool_write_status();
	}
}

/* Spawn, retire and kill, from what the scoreboard says. */
static void
pool_maintain(void)
{
	struct pool_counts	 c;
	struct pool_conf	*p = pc();
	double			 now = now_mono();
	int			 need, allowed, slot, i, retiring_req;

	pool_reap();
	pool_count(&c);

	if (m_stopping) {
		if (c.total == 0 || now >= m_stop_deadline)
			return;
		pool_status(&c, 0);
		return;
	}

	/* Children stuck in one request past child_timeout. */
	for (slot = 0; slot < SB_MAX && p->pc_child_timeout > 0; slot++) {
		struct child	*ch = &children[slot];
		struct sb_slot	*s = &sb[slot];

		if (ch->ch_pid == 0 || ch->ch_killed || s->sb_req_active == 0)
			continue;
		if (now - sb_priv[slot].sp_heartbeat <= p->pc_child_timeout ||
		    now - s->sb_req_start <= p->pc_child_timeout)
			continue;
		if (ch->ch_stuck_at == 0) {
			ch->ch_stuck_at = now;
			kill(ch->ch_pid, SIGUSR2);
		} else if (now - ch->ch_stuck_at >= STUCK_GRACE) {
			char	key[SB_KEYLEN * 4 + 8];

			log_escape(s->sb_req_key, strnlen(s->sb_req_key,
			    SB_KEYLEN), key, sizeof(key));
			log_warnx("killing child %ld: stuck %.1fs (child_timeout "
			    "%.1fs) on request '%s'", (long)ch->ch_pid,
			    now - s->sb_req_start, p->pc_child_timeout, key);
			ch->ch_killed = 1;
			sb_head->sh_killed++;
			kill(ch->ch_pid, SIGKILL);
		}
	}

	/* Retiring children that overstay shutdown_timeout are killed. */
	for (slot = 0; slot < SB_MAX; slot++) {
		struct child *ch = &children[slot];

		if (ch->ch_pid != 0 && ch->ch_quit_sent && !ch->ch_killed &&
		    now - ch->ch_quit_at > p->pc_shutdown_timeout + 2) {
			log_warnx("killing child %ld: still running %.0fs after "
			    "being told to finish", (long)ch->ch_pid,
			    now - ch->ch_quit_at);
			ch->ch_killed = 1;
			kill(ch->ch_pid, SIGKILL);
		}
	}

	/* After HUP: once the new generation serves, retire the old one. */
	if (m_reloading && (c.ready >= p->pc_min_servers ||
	    now - m_reload_started > 10)) {
		for (slot = 0; slot < SB_MAX; slot++)
			if (children[slot].ch_pid != 0 &&
			    children[slot].ch_gen != sb_head->sh_gen)
				pool_child_quit(slot, "reload");
		m_reloading = 0;
		m_reloads++;
		snprintf(m_reload_result, sizeof(m_reload_result), "ok");
		log_notice("reload done: generation %u serving with %d "
		    "children", sb_head->sh_gen, c.ready);
		pool_count(&c);
		pool_status(&c, 1);
		systemd_notify("READY=1\nSTATUS=%s", m_status);
	}

	/* max_requests: let a few children retire at a time, no storm. */
	retiring_req = 0;
	for (slot = 0; slot < SB_MAX; slot++)
		if (children[slot].ch_pid != 0 && children[slot].ch_quit_sent)
			retiring_req++;
	for (slot = 0; slot < SB_MAX && retiring_req < RETIRE_AT_ONCE; slot++) {
		if (children[slot].ch_pid != 0 && !children[slot].ch_quit_sent &&
		    sb_priv[slot].sp_want_retire) {
			pool_child_quit(slot, "max_requests reached");
			retiring_req++;
		}
	}
	pool_count(&c);

	/* Spawning: the min_servers floor at once, spares on a ramp. */
	if (now - m_spawn_window >= 1.0) {
		m_spawn_window = now;
		m_spawned_in_window = 0;
	}
	need = p->pc_min_servers - c.live;
	if (p->pc_min_spare_servers - c.spare > need)
		need = p->pc_min_spare_servers - c.spare;
	if (need > p->pc_max_servers - c.live)
		need = p->pc_max_servers - c.live;
	if (need > 0) {
		allowed = p->pc_min_servers - c.live > 0 ?
		    (int)p->pc_spawn_rate_max : m_spawn_batch;
		if (allowed > p->pc_spawn_rate_max)
			allowed = (int)p->pc_spawn_rate_max;
		allowed -= m_spawned_in_window;
		if (need > allowed)
			need = allowed;
		for (i = 0; i < need; i++) {
			pool_fork();
			m_spawned_in_window++;
		}
		if (need > 0 && m_spawned_in_window >= m_spawn_batch &&
		    m_spawn_batch < p->pc_spawn_rate_max) {
			/* Still short next second: fork twice as many. */
			m_spawn_batch *= 2;
		}
	} else if (p->pc_min_spare_servers - c.spare <= 0)
		m_spawn_batch = 1;

	/* Saturation is said out loud, once per episode. */
	if (c.live >= p->pc_max_servers && c.spare == 0) {
		if (!m_saturated)
			log_warnx("saturated: every child busy at max_servers "
			    "(%ld); new connections wait in the listen queue",
			    p->pc_max_servers);
		m_saturated = 1;
	} else if (m_saturated && c.spare > 0) {
		log_notice("no longer saturated: %d children can take clients",
		    c.spare);
		m_saturated = 0;
	}

	/* Too many idle children: retire one per second. */
	if (c.idle > p->pc_max_spare_servers && c.live > p->pc_min_servers &&
	    now - m_last_retire >= 1.0) {
		for (slot = SB_MAX - 1; slot >= 0; slot--) {
			struct child *ch = &children[slot];

			if (ch->ch_pid != 0 && !ch->ch_quit_sent &&
			    ch->ch_gen == sb_head->sh_gen &&
			    sb[slot].sb_state == SB_IDLE) {
				m_last_retire = now;
				pool_child_quit(slot, "more idle children than "
				    "max_spare_servers");
				break;
			}
		}
	}

	pool_count(&c);
	if (!m_ready_sent && c.ready >= p->pc_min_servers) {
		m_ready_sent = 1;
		pool_status(&c, 1);
		log_notice("ready: %d children serving", c.ready);
		systemd_notify("READY=1\nSTATUS=%s", m_status);
	}
	pool_status(&c, 0);

	/* Belt and braces: children that died without a SIGCHLD we saw. */
	if (now - m_last_dead_check >= p->pc_check_for_dead) {
		m_last_dead_check = now;
		for (slot = 0; slot < SB_MAX; slot++)
			if (children[slot].ch_pid != 0 &&
			    kill(children[slot].ch_pid, 0) == -1 &&
			    errno == ESRCH) {
				log_warnx("child %ld vanished",
				    (long)children[slot].ch_pid);
				memset(&children[slot], 0, sizeof(children[slot]));
				memset((void *)&sb[slot], 0, sizeof(sb[slot]));
			}
	}
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

static int
pool_open_listeners(void *conf, char *err, size_t errlen)
{
	struct pool_conf	*p = conf;
	const struct conf_list	*lists[1 + 4];
	const char		*names[1 + 4];
	int			 nlists = 0, i, j, n, fd;

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
	for (i = 0; i < nlists; i++) {
		for (j = 0; j < lists[i]->cl_n; j++) {
			if (pool_nls == NET_MAX_LISTENERS) {
				snprintf(err, errlen, "too many listen addresses");
				return -1;
			}
			fd = net_listen(lists[i]->cl_items[j],
			    (int)p->pc_listen_backlog, err, errlen);
			if (fd == -1)
				return -1;
			pool_ls[pool_nls].l_fd = fd;
			snprintf(pool_ls[pool_nls].l_name,
			    sizeof(pool_ls[pool_nls].l_name), "%s", names[i]);
			snprintf(pool_ls[pool_nls].l_addr,
			    sizeof(pool_ls[pool_nls].l_addr), "%s",
			    lists[i]->cl_items[j]);
			log_notice("listening on %s (%s)", lists[i]->cl_items[j],
			    names[i]);
			pool_nls++;
		}
	}
	if (pool_nls == 0) {
		snprintf(err, errlen, "nothing to listen on (no listen key and "
		    "no sockets from systemd)");
		return -1;
	}
	pool_defer_accept();
	return 0;
}

static void
pool_drop_privs(struct pool_conf *p)
{
	struct passwd	*pw;
	struct group	*gr;
	gid_t		 gid;

	if (p->pc_user == NULL || *p->pc_user == '\0')
		return;
	if (geteuid() != 0) {
		log_info("not root: user %s ignored", p->pc_user);
		return;
	}
	if ((pw = getpwnam(p->pc_user)) == NULL)
		fatalx("user %s: no such user", p->pc_user);
	gid = pw->pw_gid;
	if (p->pc_group != NULL && *p->pc_group != '\0') {
		if ((gr = getgrnam(p->pc_group)) == NULL)
			fatalx("group %s: no such group", p->pc_group);
		gid = gr->gr_gid;
	}
	if (setgroups(1, &gid) == -1 || setresgid(gid, gid, gid) == -1 ||
	    setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) == -1)
		fatal("cannot drop privileges to %s", p->pc_user);
	log_info("running as user %s (uid %ld, gid %ld)", p->pc_user,
	    (long)pw->pw_uid, (long)gid);
}

/*
 * A child never holds more client sockets than the open-files limit
 * leaves room for: past it accept() fails with EMFILE while the pool
 * still counts the child as having room.
 */
static void
pool_fit_fds(struct pool_conf *p)
{
	struct rlimit	 rl;
	long		 fit;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1 || rl.rlim_cur == RLIM_INFINITY)
		return;
	if ((rlim_t)p->pc_max_clients_per_child + POOL_FD_RESERVE <=
	    rl.rlim_cur)
		return;
	fit = rl.rlim_cur > POOL_FD_RESERVE + 1 ?
	    (long)(rl.rlim_cur - POOL_FD_RESERVE) : 1;
	log_warnx("max_clients_per_child %ld does not fit the open-files "
	    "limit %llu: using %ld (raise LimitNOFILE= or ulimit -n)",
	    p->pc_max_clients_per_child, (unsigned long long)rl.rlim_cur, fit);
	p->pc_max_clients_per_child = fit;
}

static int
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

static int
pool_same_list(const struct conf_list *a, const struct conf_list *b)
{
	int	i;

	if (a->cl_n != b->cl_n)
		return 0;
	for (i = 0; i < a->cl_n; i++)
		if (strcmp(a->cl_items[i], b->cl_items[i]) != 0)
			return 0;
	return 1;
}

static void
pool_reload_failed(const char *err)
{
	m_reloads++;
	snprintf(m_reload_result, sizeof(m_reload_result), "failed: %.140s",
	    err);
	systemd_notify("READY=1\nSTATUS=%s (reload failed: %.100s)", m_status,
	    err);
	pool_write_status();
}

static void
pool_reload(void)
{
	void		*conf, *old;
	char		 err[512];
	int		 action;
	struct pool_conf *np;

	systemd_notify("RELOADING=1\nSTATUS=reloading %s", conf_path(pool_cf));
	m_reloading = 1;
	pool_write_status();
	m_reloading = 0;
	log_notice("HUP: reloading %s", conf_path(pool_cf));
	conf = conf_load(pool_pd->pd_spec, pool_argc, pool_argv, err,
	    sizeof(err), &action);
	if (conf == NULL) {
		log_warnx("reload failed, keeping the running config: %s", err);
		pool_reload_failed(err);
		return;
	}
	np = conf;
	if (np->pc_log_file != NULL && pc()->pc_log_file != NULL &&
	    strcmp(np->pc_log_file, pc()->pc_log_file) != 0 &&
	    log_open(np->pc_log_file, err, sizeof(err)) == -1)
		log_warnx("reload: %s; keeping the old log", err);
	if (pool_apply_conf(conf, err, sizeof(err)) == -1 ||
	    (pool_pd->pd_master_init != NULL &&
	    pool_pd->pd_master_init(conf, 1) == -1)) {
		log_warnx("reload failed, keeping the running config: %s", err);
		conf_free(pool_pd->pd_spec, conf);
		pool_reload_failed(err);
		pool_apply_conf(pool_cf, err, sizeof(err));
		return;
	}
	if (!pool_same_list(&np->pc_listen, &pc()->pc_listen))
		log_warnx("reload: listen addresses changed; sockets are kept "
		    "until a restart");
	pool_fit_fds(np);
	old = pool_cf;
	pool_cf = conf;
	conf_free(pool_pd->pd_spec, old);
	sb_head->sh_gen++;
	m_reloading = 1;
	m_reload_started = now_mono();
	m_spawn_batch = 1;
	/* New children start on the new config; old ones quit once they serve. */
	pool_maintain();
}

static void
pool_signal_all(int sig)
{
	int	slot;

	for (slot = 0; slot < SB_MAX; slot++)
		if (children[slot].ch_pid != 0)
			kill(children[slot].ch_pid, sig);
}

static void
pool_ttin_ttou(int sig)
{
	struct pool_conf	*p = pc();
	int			 slot;

	if (sig == SIGTTIN) {
		if (p->pc_min_servers < SB_MAX) {
			p->pc_min_servers++;
			if (p->pc_max_servers < p->pc_min_servers)
				p->pc_max_servers = p->pc_min_servers;
		}
		log_notice("TTIN: min_servers %ld, max_servers %ld",
		    p->pc_min_servers, p->pc_max_servers);
		return;
	}
	if (p->pc_min_servers > 1)
		p->pc_min_servers--;
	log_notice("TTOU: min_servers %ld", p->pc_min_servers);
	for (slot = SB_MAX - 1; slot >= 0; slot--)
		if (children[slot].ch_pid != 0 && !children[slot].ch_quit_sent &&
		    sb[slot].sb_state == SB_IDLE) {
			pool_child_quit(slot, "TTOU");
			break;
		}
}

static void
pool_write_pidfile(const char *path)
{
	FILE	*fp;

	if (path == NULL || *path == '\0')
		return;
	if ((fp = fopen(path, "w")) == NULL)
		fatal("pid_file %s", path);
	fprintf(fp, "%ld\n", (long)getpid());
	fclose(fp);
}

static void
pool_background(void)
{
	int	fd;

	switch (fork()) {
	case -1:
		fatal("fork");
	case 0:
		break;
	default:
		_exit(0);
	}
	setsid();
	switch (fork()) {
	case -1:
		fatal("fork");
	case 0:
		break;
	default:
		_exit(0);
	}
	if ((fd = open("/dev/null", O_RDWR)) != -1) {
		dup2(fd, 0);
		dup2(fd, 1);
		if (log_fd() != 2)
			dup2(fd, 2);
		if (fd > 2)
			close(fd);
	}
}

/* Stop: TERM now, QUIT after in-flight requests (bounded). */
static int
pool_shutdown(void)
{
	struct pool_counts	c;
	struct timespec		ts = { 0, 50 * 1000 * 1000 };
	double			deadline;

	pool_close_listeners();
	pool_count(&c);
	systemd_notify("STOPPING=1\nSTATUS=stopping (%s), %d children",
	    m_stopping == 'Q' ? "graceful" : "now", c.total);
	log_notice("%s: stopping %d children", m_stopping == 'Q' ?
	    "QUIT" : "TERM", c.total);
	if (m_stopping == 'Q') {
		int slot;

		for (slot = 0; slot < SB_MAX; slot++)
			pool_child_quit(slot, "shutdown");
		deadline = now_mono() + pc()->pc_shutdown_timeout;
	} else {
		pool_signal_all(SIGTERM);
		deadline = now_mono() + 1.0;
	}
	for (;;) {
		pool_reap();
		pool_count(&c);
		if (c.total == 0)
			break;
		if (now_mono() >= deadline) {
			log_warnx("%d children still running; killing them",
			    c.total);
			pool_signal_all(SIGKILL);
			deadline = now_mono() + 5;
		}
		nanosleep(&ts, NULL);
	}
	if (pc()->pc_pid_file != NULL && *pc()->pc_pid_file != '\0')
		unlink(pc()->pc_pid_file);
	if (pc()->pc_status_file != NULL && *pc()->pc_status_file != '\0')
		unlink(pc()->pc_status_file);
	log_notice("master exiting");
	return 0;
}

static void
pool_master_loop(void)
{
	sigset_t		set;
	siginfo_t		si;
	struct timespec		ts;
	double			now, next;
	int			sig;

	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGQUIT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGTTIN);
	sigaddset(&set, SIGTTOU);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGUSR2);

	for (;;) {
		now = now_mono();
		next = TICK;
		if (m_watchdog > 0 && now - m_last_watchdog >= m_watchdog / 2) {
			m_last_watchdog = now;
			systemd_notify("WATCHDOG=1");
		}
		ts.tv_sec = 0;
		ts.tv_nsec = (long)(next * 1e9);
		sig = sigtimedwait(&set, &si, &ts);
		switch (sig) {
		case SIGCHLD:
			break;	/* pool_maintain() reaps */
		case SIGTERM:
		case SIGINT:
			m_stopping = 'T';
			return;
		case SIGQUIT:
			m_stopping = 'Q';
			return;
		case SIGHUP:
			pool_reload();
			break;
		case SIGTTIN:
		case SIGTTOU:
			pool_ttin_ttou(sig);
			break;
		case SIGUSR1:
			log_reopen();
			pool_signal_all(SIGUSR1);
			log_notice("USR1: log reopened");
			break;
		case SIGUSR2:
			/*
			 * Test hook for the watchdog test: with
			 * WHOISD_TEST_HANG set, USR2 makes the master stop
			 * answering the watchdog, like a hung daemon.
			 */
			if (getenv("WHOISD_TEST_HANG") != NULL) {
				log_warnx("USR2 with WHOISD_TEST_HANG: hanging");
				for (;;)
					pause();
			}
			break;
		default:
			break;
		}
		pool_maintain();
	}
}

int
pool_main(const struct pool_daemon *pd, int argc, char **argv)
{
	char			 err[512];
	int			 action;
	sigset_t		 set;
	struct rlimit		 rl;
	size_t			 sbsize;
	void			*map;

	pool_pd = pd;
	pool_argc = argc;
	pool_argv = argv;
	log_init(pd->pd_name, LOG_LVL_NOTICE);
	log_libevent();

	pool_cf = conf_load(pd->pd_spec, argc, argv, err, sizeof(err), &action);
	if (pool_cf == NULL) {
		fprintf(stderr, "%s: config error: %s\n", pd->pd_name, err);
		return 1;
	}
	if (action == 'h' || action == 'v')
		return 0;
	if (pool_apply_conf(pool_cf, err, sizeof(err)) == -1) {
		fprintf(stderr, "%s: config error: %s: %s\n", pd->pd_name,
		    conf_path(pool_cf), err);
		return 1;
	}
	if (action == 'n') {
		if (pd->pd_master_init != NULL && pd->pd_master_init(pool_cf,
		    2) == -1)
			return 1;
		printf("%s: configuration OK\n", conf_path(pool_cf));
		return 0;
	}
	if (log_open(pc()->pc_log_file, err, sizeof(err)) == -1) {
		fprintf(stderr, "%s: %s\n", pd->pd_name, err);
		return 1;
	}

	/* Block the master's signals before anything can fork. */
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGQUIT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGTTIN);
	sigaddset(&set, SIGTTOU);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGUSR2);
	sigprocmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	/* Room for many clients per child. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max > 65536 ? 65536 : rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	pool_fit_fds(pool_cf);

	if (pool_open_listeners(pool_cf, err, sizeof(err)) == -1) {
		log_errx("%s", err);
		fprintf(stderr, "%s: %s\n", pd->pd_name, err);
		return 1;
	}
	if (pc()->pc_background)
		pool_background();
	pool_write_pidfile(pc()->pc_pid_file);
	pool_drop_privs(pc());

	/*
	 * The scoreboard: shared anonymous memory, so it survives nothing
	 * but this master and its children.  Only touched pages cost memory.
	 */
	sbsize = sizeof(struct sb_head) + SB_MAX * (sizeof(struct sb_slot) +
	    sizeof(struct sb_priv));
	map = mmap(NULL, sbsize, PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (map == MAP_FAILED)
		fatal("mmap scoreboard");
	sb_head = map;
	sb = (struct sb_slot *)(sb_head + 1);
	sb_priv = (struct sb_priv *)(sb + SB_MAX);
	sb_head->sh_master = getpid();
	sb_head->sh_gen = 1;

	if (pipe2(alive_pipe, O_CLOEXEC) == -1)
		fatal("pipe");
	fd_nonblock(alive_pipe[0]);

	if (pd->pd_master_init != NULL && pd->pd_master_init(pool_cf, 0) == -1)
		fatalx("initialisation failed");

	m_watchdog = systemd_watchdog_interval();
	log_notice("master started (pid %ld, version %s, protocol %d), "
	    "%d listener(s)", (long)getpid(), WHOISD_VERSION, PROTO_VERSION,
	    pool_nls);
	m_last_dead_check = now_mono();
	pool_maintain();
	pool_master_loop();
	return pool_shutdown();
}
