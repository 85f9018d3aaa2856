/*
 * pool_master.c — the pool's master: it takes its signals in a
 * sigtimedwait() loop, forks children (pool_child.c), reaps them,
 * reloads into a new generation on HUP, tells systemd how it goes
 * (READY=1, STATUS=, WATCHDOG=1) and, every TICK, runs pool_maintain(),
 * one pass of named steps over the scoreboard.  It never serves a client.
 */
#include <sys/types.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <malloc.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "common/metrics.h"
#include "common/net.h"
#include "common/pool.h"
#include "common/pool_priv.h"
#include "common/sd.h"
#include "common/util.h"

#define TICK			0.2	/* seconds between maintenance passes */
#define STATUS_EVERY		5.0	/* seconds between STATUS= lines */
#define RETIRE_AT_ONCE		2	/* children retiring for max_requests at once */
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

static int			 pool_argc;
static char			**pool_argv;
static struct child		 children[SB_MAX];

static int			 m_stopping;	/* 'T' now, 'Q' graceful */
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

static void
pool_fork(void)
{
	pid_t	pid;
	int	slot;

	for (slot = 0; slot < SB_MAX; slot++)
		if (children[slot].ch_pid == 0 && pool_sb[slot].sb_pid == 0)
			break;
	if (slot == SB_MAX) {
		log_warnx("%s: scoreboard full", __func__);
		return;
	}
	memset((void *)&pool_sb[slot], 0, sizeof(pool_sb[slot]));
	memset((void *)&pool_sb_priv[slot], 0, sizeof(pool_sb_priv[slot]));
	pool_sb[slot].sb_state = SB_STARTING;
	pool_sb[slot].sb_gen = pool_sb_head->sh_gen;
	pool_sb[slot].sb_started = now_wall();

	switch (pid = fork()) {
	case -1:
		log_warn("%s: fork", __func__);
		pool_sb[slot].sb_state = SB_EMPTY;
		return;
	case 0:
		srandom((unsigned)(getpid() ^ (unsigned)(now_wall() * 1e6)));
		pool_sb[slot].sb_pid = getpid();
		pool_child_main(slot);
		/* NOTREACHED */
	default:
		break;
	}
	pool_sb[slot].sb_pid = pid;
	children[slot].ch_pid = pid;
	children[slot].ch_gen = pool_sb_head->sh_gen;
	children[slot].ch_quit_sent = 0;
	children[slot].ch_stuck_at = 0;
	children[slot].ch_killed = 0;
	pool_sb_head->sh_spawned++;
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
		pool_sb_head->sh_reaped++;
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
		memset((void *)&pool_sb[slot], 0, sizeof(pool_sb[slot]));
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
		struct sb_slot	*s = &pool_sb[slot];

		if (ch->ch_pid == 0)
			continue;
		c->total++;
		c->clients += s->sb_clients;
		c->requests += s->sb_requests;
		if (ch->ch_quit_sent || s->sb_state == SB_RETIRING) {
			c->retiring++;
			continue;
		}
		if (ch->ch_gen != pool_sb_head->sh_gen) {
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
	    pool_sb_head->sh_gen, m_reloading, (unsigned long long)m_reloads,
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
	    (unsigned long long)pool_sb_head->sh_spawned);
	if (force || now - m_last_status >= STATUS_EVERY) {
		m_last_status = now;
		systemd_notify("STATUS=%s", m_status);
		pool_write_status();
	}
}

/* A hung request would hold its child forever: dump it (USR2), then kill. */
static void
maintain_stuck(double now)
{
	struct pool_conf	*p = pc();
	int			 slot;

	for (slot = 0; slot < SB_MAX && p->pc_child_timeout > 0; slot++) {
		struct child	*ch = &children[slot];
		struct sb_slot	*s = &pool_sb[slot];

		if (ch->ch_pid == 0 || ch->ch_killed || s->sb_req_active == 0)
			continue;
		if (now - pool_sb_priv[slot].sp_heartbeat <=
		    p->pc_child_timeout ||
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
			pool_sb_head->sh_killed++;
			kill(ch->ch_pid, SIGKILL);
		}
	}
}

/* A child told to finish must not outstay shutdown_timeout either. */
static void
maintain_overdue(double now)
{
	int	slot;

	for (slot = 0; slot < SB_MAX; slot++) {
		struct child *ch = &children[slot];

		if (ch->ch_pid != 0 && ch->ch_quit_sent && !ch->ch_killed &&
		    now - ch->ch_quit_at > pc()->pc_shutdown_timeout + 2) {
			log_warnx("killing child %ld: still running %.0fs after "
			    "being told to finish", (long)ch->ch_pid,
			    now - ch->ch_quit_at);
			ch->ch_killed = 1;
			kill(ch->ch_pid, SIGKILL);
		}
	}
}

/* After HUP the old generation goes only once the new one serves. */
static void
maintain_generation(struct pool_counts *c, double now)
{
	int	slot;

	if (!m_reloading)
		return;
	/* Ten seconds is the most a reload waits for its new children. */
	if (c->ready < pc()->pc_min_servers && now - m_reload_started <= 10)
		return;
	for (slot = 0; slot < SB_MAX; slot++)
		if (children[slot].ch_pid != 0 &&
		    children[slot].ch_gen != pool_sb_head->sh_gen)
			pool_child_quit(slot, "reload");
	m_reloading = 0;
	m_reloads++;
	snprintf(m_reload_result, sizeof(m_reload_result), "ok");
	log_notice("reload done: generation %u serving with %d "
	    "children", pool_sb_head->sh_gen, c->ready);
	pool_count(c);
	pool_status(c, 1);
	systemd_notify("READY=1\nSTATUS=%s", m_status);
}

/* max_requests: a few children at a time, so they never restart together. */
static void
maintain_retire(struct pool_counts *c)
{
	int	slot, retiring_req = 0;

	for (slot = 0; slot < SB_MAX; slot++)
		if (children[slot].ch_pid != 0 && children[slot].ch_quit_sent)
			retiring_req++;
	for (slot = 0; slot < SB_MAX && retiring_req < RETIRE_AT_ONCE;
	    slot++) {
		if (children[slot].ch_pid != 0 &&
		    !children[slot].ch_quit_sent &&
		    pool_sb_priv[slot].sp_want_retire) {
			pool_child_quit(slot, "max_requests reached");
			retiring_req++;
		}
	}
	pool_count(c);
}

/* The min_servers floor at once; a shortage of spares on a ramp. */
static void
maintain_spawn(const struct pool_counts *c, double now)
{
	struct pool_conf	*p = pc();
	int			 need, allowed, i;

	if (now - m_spawn_window >= 1.0) {
		m_spawn_window = now;
		m_spawned_in_window = 0;
	}
	need = p->pc_min_servers - c->live;
	if (p->pc_min_spare_servers - c->spare > need)
		need = p->pc_min_spare_servers - c->spare;
	if (need > p->pc_max_servers - c->live)
		need = p->pc_max_servers - c->live;
	if (need > 0) {
		allowed = p->pc_min_servers - c->live > 0 ?
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
	} else if (p->pc_min_spare_servers - c->spare <= 0)
		m_spawn_batch = 1;
}

/* Saturation is said out loud, once per episode, and its end too. */
static void
maintain_saturation(const struct pool_counts *c)
{
	struct pool_conf	*p = pc();

	if (c->live >= p->pc_max_servers && c->spare == 0) {
		if (!m_saturated)
			log_warnx("saturated: every child busy at max_servers "
			    "(%ld); new connections wait in the listen queue",
			    p->pc_max_servers);
		m_saturated = 1;
	} else if (m_saturated && c->spare > 0) {
		log_notice("no longer saturated: %d children can take clients",
		    c->spare);
		m_saturated = 0;
	}
}

/* Idle children above max_spare_servers cost memory: one retires a second. */
static void
maintain_spares(const struct pool_counts *c, double now)
{
	struct pool_conf	*p = pc();
	int			 slot;

	if (c->idle <= p->pc_max_spare_servers ||
	    c->live <= p->pc_min_servers || now - m_last_retire < 1.0)
		return;
	for (slot = SB_MAX - 1; slot >= 0; slot--) {
		struct child *ch = &children[slot];

		if (ch->ch_pid != 0 && !ch->ch_quit_sent &&
		    ch->ch_gen == pool_sb_head->sh_gen &&
		    pool_sb[slot].sb_state == SB_IDLE) {
			m_last_retire = now;
			pool_child_quit(slot, "more idle children than "
			    "max_spare_servers");
			break;
		}
	}
}

/* systemd waits for READY=1 until min_servers serve; STATUS= stays fresh. */
static void
maintain_notify(struct pool_counts *c)
{
	pool_count(c);
	if (!m_ready_sent && c->ready >= pc()->pc_min_servers) {
		m_ready_sent = 1;
		pool_status(c, 1);
		log_notice("ready: %d children serving", c->ready);
		systemd_notify("READY=1\nSTATUS=%s", m_status);
	}
	pool_status(c, 0);
}

/* Belt and braces: children that died without a SIGCHLD we saw. */
static void
maintain_vanished(double now)
{
	int	slot;

	if (now - m_last_dead_check < pc()->pc_check_for_dead)
		return;
	m_last_dead_check = now;
	for (slot = 0; slot < SB_MAX; slot++)
		if (children[slot].ch_pid != 0 &&
		    kill(children[slot].ch_pid, 0) == -1 && errno == ESRCH) {
			log_warnx("child %ld vanished",
			    (long)children[slot].ch_pid);
			memset(&children[slot], 0, sizeof(children[slot]));
			memset((void *)&pool_sb[slot], 0,
			    sizeof(pool_sb[slot]));
		}
}

/*
 * One pass, every TICK and after every signal: spawn, retire and kill
 * from what the scoreboard says.  Reaping comes first, so every later
 * step sees only live children.
 */
static void
pool_maintain(void)
{
	struct pool_counts	c;
	double			now = now_mono();

	pool_reap();
	pool_count(&c);
	/* pool_shutdown() looks after the children once stopping. */
	if (m_stopping)
		return;
	maintain_stuck(now);
	maintain_overdue(now);
	maintain_generation(&c, now);
	maintain_retire(&c);
	maintain_spawn(&c, now);
	maintain_saturation(&c);
	maintain_spares(&c, now);
	maintain_notify(&c);
	maintain_vanished(now);
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
	malloc_trim(0);
	pool_sb_head->sh_gen++;
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
		    pool_sb[slot].sb_state == SB_IDLE) {
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

/* Fork, and only the child goes on: the parent exits at once. */
static void
pool_background_fork(void)
{
	switch (fork()) {
	case -1:
		fatal("fork");
	case 0:
		break;
	default:
		_exit(0);
	}
}

static void
pool_background(void)
{
	int	fd;

	pool_background_fork();
	setsid();
	pool_background_fork();
	if ((fd = open("/dev/null", O_RDWR)) != -1) {
		dup2(fd, 0);
		dup2(fd, 1);
		if (log_fd() != 2)
			dup2(fd, 2);
		if (fd > 2)
			close(fd);
	}
}

/*
 * The signals the master takes with sigtimedwait(): blocked before the
 * first fork, so none can kill it or be lost between two waits.
 */
static void
pool_sigset(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGCHLD);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGQUIT);
	sigaddset(set, SIGHUP);
	sigaddset(set, SIGTTIN);
	sigaddset(set, SIGTTOU);
	sigaddset(set, SIGUSR1);
	sigaddset(set, SIGUSR2);
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

	pool_sigset(&set);

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
	pool_sigset(&set);
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

	pool_scoreboard_map();
	if (metrics_map() == -1)
		log_warnx("metrics: no shared mapping; counters stay at 0");

	if (pipe2(pool_alive_pipe, O_CLOEXEC) == -1)
		fatal("pipe");
	fd_nonblock(pool_alive_pipe[0]);

	if (pd->pd_master_init != NULL && pd->pd_master_init(pool_cf, 0) == -1)
		fatalx("initialisation failed");
	/* The files read and the tables checked and freed: given back
	 * before the children are forked, not kept in every one of them. */
	malloc_trim(0);

	m_watchdog = systemd_watchdog_interval();
	log_notice("master started (pid %ld, version %s, protocol %d), "
	    "%d listener(s)", (long)getpid(), WHOISD_VERSION, PROTO_VERSION,
	    pool_nls);
	m_last_dead_check = now_mono();
	pool_maintain();
	pool_master_loop();
	return pool_shutdown();
}
