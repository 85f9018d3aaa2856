/*
 * spool.c — an on-disk outbox shared by the children of a daemon; see
 * spool.h for the contract and the file names.
 *
 * Every state change of a file is one rename(2) in one directory, so it is
 * atomic and exactly one process wins it:
 *
 *	.tmp-X ----> NAME.PID -----(acked)-----> unlinked
 *	 (written,    ^   |  \
 *	  fsync'd)    |   |   `---(refused)----> NAME.rejected
 *	              |   v
 *	     (sweep)  NAME  <---(not delivered)
 *
 * A new message is claimed by its writer from the start (the tmp file is
 * renamed straight to NAME.PID), so no sweep elsewhere can resend it
 * while its first send is in flight.
 *
 * When the directory cannot be written (read-only, full, missing), new
 * messages wait in a bounded queue in memory instead: sent like the
 * files, resent by the sweep, the oldest dropped (and counted) when it is
 * full.  Each sweep tries the directory again; once a file can be
 * written, what is still queued is written out and new messages go to
 * disk again.  One warning when that starts, one notice when it ends.
 */
#include <sys/types.h>
#include <sys/queue.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "common/log.h"
#include "common/spool.h"
#include "common/util.h"

#define SPOOL_NAME_MAX	96
#define SPOOL_SUFFIX	".msg"

#define SPOOL_MEM_MAX	1000	/* messages queued in memory at most */

struct spool_item {
	char			 si_name[SPOOL_NAME_MAX];	/* NAME */
	TAILQ_ENTRY(spool_item)	 si_entry;
	/* Queued in memory (sp_mem): the body itself. */
	void			*si_body;
	size_t			 si_len;
	int			 si_inflight;
	double			 si_sent;
};

struct spool {
	char			*sp_dir;
	int			 sp_dirfd;
	struct spool_opts	 sp_opts;
	spool_send_fn		 sp_send;
	void			*sp_arg;
	struct event		*sp_timer;
	pid_t			 sp_pid;
	unsigned long		 sp_counter;
	size_t			 sp_ninflight;
	TAILQ_HEAD(, spool_item) sp_inflight;
	/* The directory cannot be written: messages wait in sp_mem. */
	int			 sp_unwritable;
	double			 sp_unwritable_since;
	unsigned long		 sp_nkept;	/* queued in memory, this episode */
	unsigned long		 sp_ndropped;	/* ... and dropped */
	size_t			 sp_nmem;
	TAILQ_HEAD(, spool_item) sp_mem;
};

/*
 * This process has warned that the directory is unwritable; children
 * inherit it from the master, so a spool unwritable at start is one
 * warning, not one per process.
 */
static int	spool_warned;

static void	spool_timer_cb(evutil_socket_t, short, void *);

int
spool_mkdir(const char *dir, char *err, size_t errlen)
{
	char	 buf[PATH_MAX], *p;

	if (dir == NULL || *dir == '\0') {
		snprintf(err, errlen, "spool directory not set");
		return -1;
	}
	if (strlen(dir) >= sizeof(buf)) {
		snprintf(err, errlen, "%s: path too long", dir);
		return -1;
	}
	strcpy(buf, dir);
	for (p = buf + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) == -1 && errno != EEXIST) {
			snprintf(err, errlen, "mkdir %s: %s", buf,
			    strerror(errno));
			return -1;
		}
		*p = '/';
	}
	if (mkdir(buf, 0700) == -1 && errno != EEXIST) {
		snprintf(err, errlen, "mkdir %s: %s", buf, strerror(errno));
		return -1;
	}
	if (access(buf, R_OK | W_OK | X_OK) == -1) {
		snprintf(err, errlen, "%s: %s", buf, strerror(errno));
		return -1;
	}
	return 0;
}

void
spool_prepare(const char *dir)
{
	char	 err[512];

	if (spool_mkdir(dir, err, sizeof(err)) == 0)
		return;
	log_warnx("spool: %s; error events are kept in memory (%d at most) "
	    "until it can be written", err, SPOOL_MEM_MAX);
	spool_warned = 1;
}

/* Writes to the directory fail: queue in memory from now on. */
static void
spool_unwritable(struct spool *sp, const char *why)
{
	if (sp->sp_unwritable)
		return;
	sp->sp_unwritable = 1;
	sp->sp_unwritable_since = now_wall();
	sp->sp_nkept = sp->sp_ndropped = 0;
	if (!spool_warned)
		log_warnx("spool: %s; error events are kept in memory (%d at "
		    "most) until it can be written", why, SPOOL_MEM_MAX);
	spool_warned = 1;
}

struct spool *
spool_open(struct event_base *base, const char *dir,
    const struct spool_opts *opts, spool_send_fn send, void *arg, char *err,
    size_t errlen)
{
	struct spool	*sp;
	struct timeval	 tv;

	sp = xcalloc(1, sizeof(*sp));
	sp->sp_dir = xstrdup(dir);
	TAILQ_INIT(&sp->sp_mem);
	if (spool_mkdir(dir, err, errlen) == -1)
		sp->sp_dirfd = -1;
	else if ((sp->sp_dirfd = open(dir, O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) == -1)
		snprintf(err, errlen, "open %s: %s", dir, strerror(errno));
	if (sp->sp_dirfd == -1)
		spool_unwritable(sp, err);
	if (opts != NULL)
		sp->sp_opts = *opts;
	if (sp->sp_opts.so_sweep <= 0)
		sp->sp_opts.so_sweep = 1.5;
	if (sp->sp_opts.so_retry <= 0)
		sp->sp_opts.so_retry = 3;
	if (sp->sp_opts.so_stale <= 0)
		sp->sp_opts.so_stale = 60;
	if (sp->sp_opts.so_batch == 0)
		sp->sp_opts.so_batch = 64;
	if (sp->sp_opts.so_max_body == 0)
		sp->sp_opts.so_max_body = 1024 * 1024;
	sp->sp_send = send;
	sp->sp_arg = arg;
	sp->sp_pid = getpid();
	TAILQ_INIT(&sp->sp_inflight);
	sp->sp_timer = event_new(base, -1, EV_PERSIST, spool_timer_cb, sp);
	tv_from_seconds(&tv, sp->sp_opts.so_sweep);
	event_add(sp->sp_timer, &tv);
	return sp;
}

void
spool_close(struct spool *sp)
{
	struct spool_item	*si;

	if (sp == NULL)
		return;
	while ((si = TAILQ_FIRST(&sp->sp_inflight)) != NULL) {
		TAILQ_REMOVE(&sp->sp_inflight, si, si_entry);
		free(si);
	}
	/* Never written anywhere: they go with the process. */
	if (sp->sp_nmem > 0)
		log_warnx("spool: %zu error event(s) kept in memory are lost",
		    sp->sp_nmem);
	while ((si = TAILQ_FIRST(&sp->sp_mem)) != NULL) {
		TAILQ_REMOVE(&sp->sp_mem, si, si_entry);
		free(si->si_body);
		free(si);
	}
	if (sp->sp_timer != NULL)
		event_free(sp->sp_timer);
	if (sp->sp_dirfd != -1)
		close(sp->sp_dirfd);
	free(sp->sp_dir);
	free(sp);
}

size_t
spool_inflight(const struct spool *sp)
{
	return sp == NULL ? 0 : sp->sp_ninflight;
}

/* Write all of buf; 0 or -1. */
static int
spool_write_all(int fd, const void *buf, size_t len)
{
	const char	*p = buf;
	ssize_t		 n;

	while (len > 0) {
		if ((n = write(fd, p, len)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

void *
spool_read_file(int dirfd, const char *name, size_t max_body, size_t *lenp)
{
	struct stat	 st;
	char		*buf;
	size_t		 off;
	int		 fd;

	if ((fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC)) == -1)
		return NULL;
	if (fstat(fd, &st) == -1 || st.st_size <= 0 ||
	    (size_t)st.st_size > max_body) {
		close(fd);
		errno = EFBIG;
		return NULL;
	}
	buf = xmalloc((size_t)st.st_size);
	off = fd_read_full(fd, buf, (size_t)st.st_size);
	close(fd);
	if (off != (size_t)st.st_size) {
		free(buf);
		errno = EIO;
		return NULL;
	}
	*lenp = off;
	return buf;
}

/* Read a whole (claimed) file; malloc'd, or NULL. */
static void *
spool_read(struct spool *sp, const char *name, size_t *lenp)
{
	return spool_read_file(sp->sp_dirfd, name, sp->sp_opts.so_max_body,
	    lenp);
}

static void
spool_claimed_name(struct spool *sp, const char *name, char *out, size_t len)
{
	snprintf(out, len, "%s.%ld", name, (long)sp->sp_pid);
}

/* Hand a file we hold (NAME.PID) to the daemon's sender. */
static void
spool_send(struct spool *sp, const char *name)
{
	struct spool_item	*si;
	char			 claimed[SPOOL_NAME_MAX + 24], rej[SPOOL_NAME_MAX + 16];
	void			*body;
	size_t			 len;

	spool_claimed_name(sp, name, claimed, sizeof(claimed));
	if ((body = spool_read(sp, claimed, &len)) == NULL) {
		log_warn("%s: %s/%s: cannot read; set aside", __func__,
		    sp->sp_dir, claimed);
		snprintf(rej, sizeof(rej), "%s.rejected", name);
		renameat(sp->sp_dirfd, claimed, sp->sp_dirfd, rej);
		return;
	}
	si = xcalloc(1, sizeof(*si));
	snprintf(si->si_name, sizeof(si->si_name), "%s", name);
	TAILQ_INSERT_TAIL(&sp->sp_inflight, si, si_entry);
	sp->sp_ninflight++;
	sp->sp_send(sp, body, len, si, sp->sp_arg);
	free(body);
}

/*
 * Write body durably as a new NAME: claimed by this process (NAME.PID),
 * or unclaimed for the sweep to send.  0, or -1 with err filled.
 */
static int
spool_write(struct spool *sp, const void *body, size_t len, int claim,
    char *name, size_t namelen, char *err, size_t errlen)
{
	struct timespec	 ts;
	char		 tmp[SPOOL_NAME_MAX + 8], dest[SPOOL_NAME_MAX + 24];
	int		 fd;

	if (sp->sp_dirfd == -1) {
		snprintf(err, errlen, "%s: cannot be opened", sp->sp_dir);
		return -1;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	snprintf(name, namelen, "%lld.%06ld-%ld-%lu" SPOOL_SUFFIX,
	    (long long)ts.tv_sec, ts.tv_nsec / 1000, (long)sp->sp_pid,
	    ++sp->sp_counter);
	snprintf(tmp, sizeof(tmp), ".tmp-%s", name);
	if (claim)
		spool_claimed_name(sp, name, dest, sizeof(dest));
	else
		snprintf(dest, sizeof(dest), "%s", name);
	fd = openat(sp->sp_dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
	    0600);
	if (fd == -1) {
		snprintf(err, errlen, "create %s/%s: %s", sp->sp_dir, tmp,
		    strerror(errno));
		return -1;
	}
	if (spool_write_all(fd, body, len) == -1 || fsync(fd) == -1) {
		snprintf(err, errlen, "write %s/%s: %s", sp->sp_dir, tmp,
		    strerror(errno));
		close(fd);
		unlinkat(sp->sp_dirfd, tmp, 0);
		return -1;
	}
	close(fd);
	if (renameat(sp->sp_dirfd, tmp, sp->sp_dirfd, dest) == -1) {
		snprintf(err, errlen, "rename %s/%s: %s", sp->sp_dir, tmp,
		    strerror(errno));
		unlinkat(sp->sp_dirfd, tmp, 0);
		return -1;
	}
	/* The rename must survive a crash too. */
	if (fsync(sp->sp_dirfd) == -1)
		log_warn("%s: fsync %s", __func__, sp->sp_dir);
	return 0;
}

/* Hand a message queued in memory to the daemon's sender. */
static void
spool_mem_send(struct spool *sp, struct spool_item *si)
{
	si->si_inflight = 1;
	si->si_sent = now_wall();
	sp->sp_ninflight++;
	/* May call spool_done() and free si at once. */
	sp->sp_send(sp, si->si_body, si->si_len, si, sp->sp_arg);
}

/* Queue a copy of body in memory, dropping the oldest idle one if full. */
static void
spool_mem_put(struct spool *sp, const void *body, size_t len)
{
	struct spool_item	*si;

	if (sp->sp_nmem >= SPOOL_MEM_MAX) {
		TAILQ_FOREACH(si, &sp->sp_mem, si_entry)
			if (!si->si_inflight)
				break;
		sp->sp_ndropped++;
		if (si == NULL)
			return;		/* all in flight: drop the new one */
		TAILQ_REMOVE(&sp->sp_mem, si, si_entry);
		sp->sp_nmem--;
		free(si->si_body);
		free(si);
	}
	si = xcalloc(1, sizeof(*si));
	si->si_body = xmalloc(len);
	memcpy(si->si_body, body, len);
	si->si_len = len;
	TAILQ_INSERT_TAIL(&sp->sp_mem, si, si_entry);
	sp->sp_nmem++;
	sp->sp_nkept++;
	spool_mem_send(sp, si);
}

int
spool_put(struct spool *sp, const void *body, size_t len, char *err,
    size_t errlen)
{
	char	 name[SPOOL_NAME_MAX];

	if (len == 0 || len > sp->sp_opts.so_max_body) {
		snprintf(err, errlen, "body of %zu bytes refused", len);
		return -1;
	}
	if (!sp->sp_unwritable) {
		if (spool_write(sp, body, len, 1, name, sizeof(name), err,
		    errlen) == 0) {
			spool_send(sp, name);
			return 0;
		}
		spool_unwritable(sp, err);
	}
	spool_mem_put(sp, body, len);
	return 0;
}

/*
 * The sweep while messages wait in memory: try the directory (a probe
 * file), write out what is queued once it works, and resend the rest.
 */
static void
spool_mem_sweep(struct spool *sp)
{
	struct spool_item	*si, *next;
	char			 name[SPOOL_NAME_MAX], err[512];
	double			 now = now_wall();
	size_t			 n = 0;

	if (sp->sp_dirfd == -1 && spool_mkdir(sp->sp_dir, err,
	    sizeof(err)) == 0)
		sp->sp_dirfd = open(sp->sp_dir, O_RDONLY | O_DIRECTORY |
		    O_CLOEXEC);
	if (sp->sp_unwritable && spool_write(sp, "probe", 5, 0, name,
	    sizeof(name), err, sizeof(err)) == 0) {
		unlinkat(sp->sp_dirfd, name, 0);
		sp->sp_unwritable = 0;
		spool_warned = 0;
		log_notice("spool: %s can be written again after %.0f seconds;"
		    " %lu error event(s) were kept in memory, %lu dropped",
		    sp->sp_dir, now - sp->sp_unwritable_since, sp->sp_nkept,
		    sp->sp_ndropped);
	}
	for (si = TAILQ_FIRST(&sp->sp_mem); si != NULL; si = next) {
		next = TAILQ_NEXT(si, si_entry);
		if (si->si_inflight)
			continue;
		if (!sp->sp_unwritable) {
			/* Unclaimed: the disk sweep sends it from now on. */
			if (spool_write(sp, si->si_body, si->si_len, 0, name,
			    sizeof(name), err, sizeof(err)) == -1) {
				spool_unwritable(sp, err);
				continue;
			}
			TAILQ_REMOVE(&sp->sp_mem, si, si_entry);
			sp->sp_nmem--;
			free(si->si_body);
			free(si);
		} else if (now - si->si_sent >= sp->sp_opts.so_retry &&
		    n++ < sp->sp_opts.so_batch)
			spool_mem_send(sp, si);
	}
}

void
spool_done(struct spool *sp, void *token, int outcome)
{
	struct spool_item	*si = token, *t;
	char			 claimed[SPOOL_NAME_MAX + 24];
	char			 dest[SPOOL_NAME_MAX + 16];

	TAILQ_FOREACH(t, &sp->sp_mem, si_entry)
		if (t == si && si->si_inflight)
			break;
	if (t != NULL) {
		si->si_inflight = 0;
		sp->sp_ninflight--;
		if (outcome == SPOOL_RETRY)
			return;
		if (outcome == SPOOL_REJECTED)
			log_warnx("%s: an event kept in memory was refused by "
			    "the peer; dropped", __func__);
		TAILQ_REMOVE(&sp->sp_mem, si, si_entry);
		sp->sp_nmem--;
		free(si->si_body);
		free(si);
		return;
	}
	TAILQ_FOREACH(t, &sp->sp_inflight, si_entry)
		if (t == si)
			break;
	if (t == NULL) {
		log_warnx("%s: unknown token", __func__);
		return;
	}
	TAILQ_REMOVE(&sp->sp_inflight, si, si_entry);
	sp->sp_ninflight--;
	spool_claimed_name(sp, si->si_name, claimed, sizeof(claimed));
	switch (outcome) {
	case SPOOL_DELIVERED:
		/*
		 * ENOENT: another process took the claim over as stale and
		 * sent it too; the receiver is idempotent.
		 */
		if (unlinkat(sp->sp_dirfd, claimed, 0) == -1 && errno != ENOENT)
			log_warn("%s: unlink %s/%s", __func__, sp->sp_dir,
			    claimed);
		break;
	case SPOOL_REJECTED:
		snprintf(dest, sizeof(dest), "%s.rejected", si->si_name);
		log_warnx("%s: %s/%s refused by the peer; kept as %s",
		    __func__, sp->sp_dir, si->si_name, dest);
		renameat(sp->sp_dirfd, claimed, sp->sp_dirfd, dest);
		break;
	default:
		/* Back to the pool of unclaimed files; its mtime (the claim
		 * time) makes the sweep wait so_retry before resending. */
		if (renameat(sp->sp_dirfd, claimed, sp->sp_dirfd,
		    si->si_name) == -1 && errno != ENOENT)
			log_warn("%s: rename %s/%s", __func__, sp->sp_dir,
			    claimed);
		break;
	}
	free(si);
}

static int
spool_is_inflight(struct spool *sp, const char *name)
{
	struct spool_item	*si;

	TAILQ_FOREACH(si, &sp->sp_inflight, si_entry)
		if (strcmp(si->si_name, name) == 0)
			return 1;
	return 0;
}

/*
 * Claim `from` (NAME or NAME.OTHERPID) as NAME.PID and stamp the claim
 * time.  0 if this process won the rename.
 */
static int
spool_claim(struct spool *sp, const char *from, const char *name)
{
	char			 claimed[SPOOL_NAME_MAX + 24];
	struct timespec		 ts[2];

	spool_claimed_name(sp, name, claimed, sizeof(claimed));
	if (renameat(sp->sp_dirfd, from, sp->sp_dirfd, claimed) == -1)
		return -1;	/* ENOENT: someone else was faster */
	ts[0].tv_nsec = UTIME_OMIT;
	ts[1].tv_nsec = UTIME_NOW;
	ts[0].tv_sec = ts[1].tv_sec = 0;
	utimensat(sp->sp_dirfd, claimed, ts, 0);
	return 0;
}

void
spool_sweep(struct spool *sp)
{
	DIR		*d;
	struct dirent	*de;
	struct stat	 st;
	char		 name[SPOOL_NAME_MAX], *dot, *end;
	char		 (*todo)[SPOOL_NAME_MAX] = NULL;
	size_t		 ntodo = 0, i, sl = strlen(SPOOL_SUFFIX), nl;
	double		 now = now_wall(), age;
	long		 pid;
	int		 fd, take;

	if (sp->sp_unwritable || sp->sp_nmem > 0)
		spool_mem_sweep(sp);
	/* The peer is slow or down: what is in flight will come back. */
	if (sp->sp_ninflight >= sp->sp_opts.so_batch || sp->sp_dirfd == -1)
		return;
	if ((fd = dup(sp->sp_dirfd)) == -1)
		return;
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return;
	}
	rewinddir(d);
	todo = xcalloc(sp->sp_opts.so_batch, sizeof(*todo));
	while ((de = readdir(d)) != NULL && ntodo < sp->sp_opts.so_batch) {
		if (de->d_name[0] == '.') {
			/* A writer that died mid-write left a tmp file: it
			 * was never acknowledged to anyone, so it can go. */
			if (strncmp(de->d_name, ".tmp-", 5) == 0 &&
			    fstatat(sp->sp_dirfd, de->d_name, &st, 0) == 0 &&
			    now - (double)st.st_mtime > sp->sp_opts.so_stale)
				unlinkat(sp->sp_dirfd, de->d_name, 0);
			continue;
		}
		nl = strlen(de->d_name);
		if (nl >= sizeof(name))
			continue;
		if (fstatat(sp->sp_dirfd, de->d_name, &st, 0) == -1 ||
		    !S_ISREG(st.st_mode))
			continue;
		age = now - ((double)st.st_mtim.tv_sec +
		    (double)st.st_mtim.tv_nsec / 1e9);
		take = 0;
		if (nl > sl && strcmp(de->d_name + nl - sl, SPOOL_SUFFIX) == 0) {
			/* Unclaimed: resend once it has rested. */
			memcpy(name, de->d_name, nl + 1);	/* nl < sizeof(name) */
			take = age >= sp->sp_opts.so_retry;
		} else if ((dot = strrchr(de->d_name, '.')) != NULL &&
		    (size_t)(dot - de->d_name) > sl &&
		    strncmp(dot - sl, SPOOL_SUFFIX, sl) == 0) {
			/* Claimed by dot+1: take it over if that process is
			 * gone, or the claim is stale (pid reuse, a hang). */
			pid = strtol(dot + 1, &end, 10);
			if (*end != '\0' || pid <= 0)
				continue;
			memcpy(name, de->d_name, (size_t)(dot - de->d_name));
			name[dot - de->d_name] = '\0';
			if (pid == (long)sp->sp_pid)
				take = !spool_is_inflight(sp, name) &&
				    age >= sp->sp_opts.so_retry;
			else
				take = (kill((pid_t)pid, 0) == -1 &&
				    errno == ESRCH) ||
				    age >= sp->sp_opts.so_stale;
		}
		if (!take)
			continue;
		if (spool_claim(sp, de->d_name, name) == 0)
			memcpy(todo[ntodo++], name, sizeof(name));
	}
	closedir(d);
	for (i = 0; i < ntodo; i++) {
		log_debug("%s: resending %s/%s", __func__, sp->sp_dir, todo[i]);
		spool_send(sp, todo[i]);
	}
	free(todo);
}

static void
spool_timer_cb(evutil_socket_t fd, short ev, void *arg)
{
	(void)fd; (void)ev;
	spool_sweep(arg);
}
