/*
 * pool_child.c — one child of the pool: its event loop, accepting from
 * the shared listeners, counting its connections and requests on the
 * scoreboard, and draining and exiting when the master (or max_requests,
 * or the master's death) says so.  pool_master.c forks it and calls
 * pool_child_main(); it never returns.
 */
#include <sys/types.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>

#include <errno.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "common/linger.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/net.h"
#include "common/pool.h"
#include "common/pool_priv.h"
#include "common/util.h"

#define ACCEPT_BATCH		16	/* connections accepted per wake-up */
#define TRIM_IDLE_MS		250	/* quiet time before the heap is trimmed */

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
static struct event		*c_trim_ev;
static int			 c_trim_armed;
static uint64_t			 c_trim_seen;	/* activity at the last check */
static int			(*c_make_room)(void *, int);
static void			*c_make_room_arg;

static void	child_stop_accepting(void);
static void	child_start_accepting(void);
static void	child_maybe_exit(void);
static void	child_exit(int) __attribute__((noreturn));
static void	child_trim_arm(void);

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

/* ------------------------------------------- connection accounting -- */

static void
child_set_state(void)
{
	struct sb_slot	*s = &pool_sb[c_slot];

	s->sb_clients = (uint32_t)c_clients;
	if (c_draining)
		s->sb_state = SB_RETIRING;
	else if (c_clients > 0)
		s->sb_state = SB_BUSY;
	else
		s->sb_state = SB_IDLE;
}

int
pool_conn_add(void)
{
	c_clients++;
	pool_sb[c_slot].sb_accepts++;
	metrics_pool_accept();
	child_set_state();
	if (!c_trim_armed)
		child_trim_arm();
	return c_clients > (unsigned long)pc()->pc_max_clients_per_child ?
	    -1 : 0;
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

void
pool_set_make_room(int (*fn)(void *, int), void *arg)
{
	c_make_room = fn;
	c_make_room_arg = arg;
}

static int
child_make_room(int dry)
{
	if (c_make_room == NULL)
		return -1;
	return c_make_room(c_make_room_arg, dry);
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

void
pool_req_begin(const char *key)
{
	struct sb_slot	*s = &pool_sb[c_slot];
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
	struct sb_slot	*s = &pool_sb[c_slot];

	if (s->sb_req_active > 0)
		s->sb_req_active--;
	s->sb_requests++;
	metrics_pool_request();
	if (!c_trim_armed)
		child_trim_arm();
	if (c_max_req != 0 && s->sb_requests >= c_max_req &&
	    !pool_sb_priv[c_slot].sp_want_retire) {
		/*
		 * Ask the master for permission instead of retiring at once:
		 * it lets only a few children retire together, so children
		 * started together do not all restart together.
		 */
		pool_sb_priv[c_slot].sp_want_retire = 1;
		log_info("served %llu requests (limit %llu), asking to retire",
		    (unsigned long long)s->sb_requests,
		    (unsigned long long)c_max_req);
	}
}

/* ------------------------------------------------------- accepting -- */

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
static void
child_exclusive(int fd)
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
		child_exclusive(pool_ls[i].l_fd);
	}
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

/* The accept events go first: they refer to the descriptors closed next. */
static void
child_close_listeners(void)
{
	int	i;

	for (i = 0; i < pool_nls; i++)
		if (c_accept_ev[i] != NULL) {
			event_free(c_accept_ev[i]);
			c_accept_ev[i] = NULL;
		}
	pool_close_listeners();
}

static void
child_handle_conn(struct listener *l, int fd, struct sockaddr *sa,
    socklen_t salen)
{
	int	over;

	if (!pool_client_allowed(sa, l->l_name)) {
		linger_close(c_base, fd, 1.0);
		return;
	}
	over = pool_conn_add() == -1;
	/* Over the limit: room is made before the new one is listed. */
	if (over && child_make_room(0) == 0)
		over = 0;
	if (over || (c_clients >= (unsigned long)pc()->pc_max_clients_per_child &&
	    child_make_room(1) == -1))
		child_stop_accepting();
	/* Any child serves the whole daemon's metrics (common/metrics.c). */
	if (strcmp(l->l_name, "metrics") == 0)
		metrics_http_accept(fd);
	else
		pool_pd->pd_child_accept(l, fd, sa, salen);
}

/* Accept up to ACCEPT_BATCH connections from one ready listener. */
static void
child_accept_from(struct listener *l)
{
	struct sockaddr_storage	ss;
	socklen_t		sl;
	int			i, fd;

	pool_sb[c_slot].sb_wakeups++;
	for (i = 0; i < ACCEPT_BATCH && c_accepting; i++) {
		sl = sizeof(ss);
		fd = accept4(l->l_fd, (struct sockaddr *)&ss, &sl,
		    SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd == -1) {
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				if (i == 0)
					pool_sb[c_slot].sb_wasted++;
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

/* ---------------------------------------------- draining and exit -- */

static void
child_exit(int code)
{
	if (pool_pd->pd_child_exit != NULL)
		pool_pd->pd_child_exit();
	pool_sb[c_slot].sb_state = SB_RETIRING;
	log_debug("child exiting, served %llu requests",
	    (unsigned long long)pool_sb[c_slot].sb_requests);
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
	child_close_listeners();
	child_set_state();
	if (pool_pd->pd_child_drain != NULL)
		pool_pd->pd_child_drain();
	t = pc()->pc_shutdown_timeout;
	tv_from_seconds(&tv, t);
	c_drain_timer = evtimer_new(c_base, child_drain_timeout, NULL);
	evtimer_add(c_drain_timer, &tv);
	child_maybe_exit();
}

/* ------------------------------------------------ idle heap trim -- */

/* Requests and accepts so far: it moves while the child is busy. */
static uint64_t
child_activity(void)
{
	return pool_sb[c_slot].sb_requests + pool_sb[c_slot].sb_accepts;
}

static long
child_rss_kb(void)
{
	FILE	*f;
	long	 size, res;

	if ((f = fopen("/proc/self/statm", "r")) == NULL)
		return 0;
	if (fscanf(f, "%ld %ld", &size, &res) != 2)
		res = 0;
	fclose(f);
	return res * (sysconf(_SC_PAGESIZE) / 1024);
}

/*
 * TRIM_IDLE_MS after the last request or accept, give the heap a burst
 * left free back to the kernel: the trim threshold keeps it through the
 * burst (no brk up and down per request), not for hours afterwards.
 */
static void
child_trim_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct timeval	tv;
	uint64_t	now = child_activity();
	double		t0;
	long		before;

	(void)fd; (void)ev; (void)arg;
	if (now != c_trim_seen) {
		c_trim_seen = now;
		tv_from_ms(&tv, TRIM_IDLE_MS);
		evtimer_add(c_trim_ev, &tv);
		return;
	}
	c_trim_armed = 0;
	t0 = now_mono();
	before = log_level >= LOG_LVL_DEBUG ? child_rss_kb() : 0;
	malloc_trim(0);
	if (log_level >= LOG_LVL_DEBUG)
		log_debug("idle: heap trimmed, RSS %ld -> %ld kB in %.3f ms",
		    before, child_rss_kb(), (now_mono() - t0) * 1e3);
}

/* After the first request or accept since the last trim: check for
 * quiet every TRIM_IDLE_MS from now on. */
static void
child_trim_arm(void)
{
	struct timeval	tv;

	if (c_trim_ev == NULL)
		return;
	c_trim_armed = 1;
	c_trim_seen = child_activity();
	tv_from_ms(&tv, TRIM_IDLE_MS);
	evtimer_add(c_trim_ev, &tv);
}

/* ------------------------------------------------ signals and loop -- */

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
	pool_sb_priv[c_slot].sp_heartbeat = now_mono();
	/* Full: a connection may have become idle enough to make room. */
	if (!c_accepting && !c_draining &&
	    c_clients >= (unsigned long)pc()->pc_max_clients_per_child &&
	    child_make_room(1) == 0)
		child_start_accepting();
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
	if (log_sd_prefixed())
		APPEND("<4>");
	APPEND(pool_pd->pd_name);
	APPEND("[");
	v = (long)getpid();
	n = 0;
	do { num[n++] = '0' + v % 10; v /= 10; } while (v > 0 && n < 20);
	while (n > 0 && o < sizeof(buf) - 2)
		buf[o++] = num[--n];
	APPEND("] child warning: stuck past child_timeout on request '");
	for (n = 0; n < SB_KEYLEN && pool_sb[c_slot].sb_req_key[n] != '\0' &&
	    o < sizeof(buf) - 4; n++) {
		unsigned char c = pool_sb[c_slot].sb_req_key[n];
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

void
pool_child_main(int slot)
{
	struct timeval	one = { 1, 0 };
	char		title[32];
	int		i;
	long		jitter;

	c_slot = slot;
	log_set_child(1);
	close(pool_alive_pipe[1]);
	pool_alive_pipe[1] = -1;
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
	/* Signals: QUIT and USR1 through the loop; USR2 has a raw handler. */
	c_quit_ev = evsignal_new(c_base, SIGQUIT, child_quit_cb, NULL);
	c_usr1_ev = evsignal_new(c_base, SIGUSR1, child_usr1_cb, NULL);
	evsignal_add(c_quit_ev, NULL);
	evsignal_add(c_usr1_ev, NULL);
	child_signals();
	if (getppid() != pool_sb_head->sh_master) {
		/* The master died between fork and PDEATHSIG. */
		_exit(0);
	}

	c_alive_ev = event_new(c_base, pool_alive_pipe[0],
	    EV_READ | EV_PERSIST, child_alive_cb, NULL);
	event_add(c_alive_ev, NULL);
	c_tick_ev = event_new(c_base, -1, EV_PERSIST, child_tick_cb, NULL);
	event_add(c_tick_ev, &one);
	c_trim_ev = evtimer_new(c_base, child_trim_cb, NULL);
	pool_sb_priv[slot].sp_heartbeat = now_mono();

	for (i = 0; i < pool_nls; i++) {
		c_accept_ev[i] = event_new(c_base, pool_ls[i].l_fd,
		    EV_READ | EV_PERSIST, child_listener_cb, &pool_ls[i]);
	}
	if (strcmp(pc()->pc_serialize, "epoll") == 0 &&
	    (c_epfd = child_find_libevent_epoll()) == -1)
		log_warnx("cannot find libevent's epoll instance; accepting "
		    "without EPOLLEXCLUSIVE");

	/*
	 * Keep up to 4 MB of freed heap while busy instead of giving it back
	 * at once (child_trim_cb() gives it back once idle).  A burst grows
	 * a child's heap (a whoisd-query child holds an 8 KB read buffer per
	 * registry session, whoisd-cache SQLite's savepoint and page
	 * buffers per write) and frees it again; with glibc's
	 * 128 KB trim threshold the break then went down and up with every
	 * burst, each shrink a TLB shoot-down across cores and each regrowth
	 * page faults (docs/performance.md has the measurement).
	 * Setting the trim threshold pins glibc's mmap threshold, so that is
	 * set too, or every large buffer would be an mmap/munmap pair.
	 */
	mallopt(M_TRIM_THRESHOLD, 4 * 1024 * 1024);
	mallopt(M_TOP_PAD, 512 * 1024);
	mallopt(M_MMAP_THRESHOLD, 4 * 1024 * 1024);
	pool_pd->pd_child_init(c_base, pool_cf);
	/* What initialisation read and freed (files, tables) goes back now,
	 * not at the first idle moment after some traffic. */
	malloc_trim(0);
	child_start_accepting();
	pool_sb[slot].sb_state = SB_IDLE;
	log_debug("child started in slot %d, generation %u", slot,
	    pool_sb[slot].sb_gen);
	event_base_dispatch(c_base);
	child_exit(0);
}
