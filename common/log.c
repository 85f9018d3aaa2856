/*
 * log.c — logging to stderr, syslog, the systemd journal or a file.
 *
 * One process-wide destination.  The level is checked before anything is
 * formatted.  errno is saved on entry and restored on exit so callers can
 * log and still report the original error.  In a file or on stderr each
 * line carries a timestamp, the daemon name, "master" or "child" and the
 * pid, so interleaved output of a pool stays readable.
 *
 * Under systemd (stderr is the journal stream JOURNAL_STREAM names, or
 * log_file is "stderr-sd") a line is instead "<N>" (the sd-daemon(3)
 * priority prefix) and the message: journald stores the priority and
 * adds the time and pid itself, so `journalctl -p warning` works.
 */
#include <sys/types.h>
#include <sys/stat.h>
#include <sys/uio.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "common/log.h"
#include "common/sd.h"

enum log_dest { LOGD_STDERR, LOGD_SYSLOG, LOGD_JOURNAL, LOGD_FILE, LOGD_SD };

int			 log_level = LOG_LVL_NOTICE;
static const char	*log_daemon = "whoisd";
static enum log_dest	 log_dest = LOGD_STDERR;
static char		*log_path;
static int		 log_filefd = 2;
static int		 log_is_child;
static void		(*log_reopen_hook)(void);

/* Is stderr the journal's stream?  systemd says so in JOURNAL_STREAM. */
static int
log_stderr_is_journal(void)
{
	const char		*js = getenv("JOURNAL_STREAM");
	struct stat		 st;
	unsigned long long	 dev, ino;

	if (js == NULL || sscanf(js, "%llu:%llu", &dev, &ino) != 2 ||
	    fstat(2, &st) == -1)
		return 0;
	return (unsigned long long)st.st_dev == dev &&
	    (unsigned long long)st.st_ino == ino;
}

void
log_init(const char *daemon, int level)
{
	log_daemon = daemon;
	log_level = level;
	/* Before the config names a destination: what it says at load. */
	if (log_dest == LOGD_STDERR && log_stderr_is_journal())
		log_dest = LOGD_SD;
}

void
log_set_child(int is_child)
{
	log_is_child = is_child;
}

int
log_fd(void)
{
	return log_dest == LOGD_FILE || log_dest == LOGD_STDERR ? log_filefd : 2;
}

int
log_sd_prefixed(void)
{
	return log_dest == LOGD_SD;
}

/*
 * Select the destination: "stderr", "syslog", "journal" or a file path.
 * A file is opened O_APPEND so several processes can share it.
 */
int
log_open(const char *dest, char *err, size_t errlen)
{
	int	fd;

	if (dest == NULL || *dest == '\0' || strcmp(dest, "stderr") == 0 ||
	    strcmp(dest, "stderr-sd") == 0) {
		log_dest = LOGD_STDERR;
		if (strcmp(dest != NULL ? dest : "", "stderr-sd") == 0 ||
		    log_stderr_is_journal())
			log_dest = LOGD_SD;
		log_filefd = 2;
		return 0;
	}
	if (strcmp(dest, "syslog") == 0) {
		openlog(log_daemon, LOG_PID | LOG_NDELAY, LOG_DAEMON);
		log_dest = LOGD_SYSLOG;
		return 0;
	}
	if (strcmp(dest, "journal") == 0) {
		log_dest = LOGD_JOURNAL;
		return 0;
	}
	fd = open(dest, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	if (fd == -1) {
		snprintf(err, errlen, "log_file %s: %s", dest, strerror(errno));
		return -1;
	}
	if (log_dest == LOGD_FILE && log_filefd > 2)
		close(log_filefd);
	free(log_path);
	log_path = strdup(dest);
	log_dest = LOGD_FILE;
	log_filefd = fd;
	return 0;
}

void
log_on_reopen(void (*fn)(void))
{
	log_reopen_hook = fn;
}

/* USR1: reopen the log file after logrotate moved it away. */
void
log_reopen(void)
{
	char	err[256];
	char	*p;

	if (log_reopen_hook != NULL)
		log_reopen_hook();
	if (log_dest != LOGD_FILE || log_path == NULL)
		return;
	p = strdup(log_path);
	if (p == NULL)
		return;
	if (log_open(p, err, sizeof(err)) == -1)
		log_warnx("%s", err);
	free(p);
}

static int
log_syslog_prio(int level)
{
	switch (level) {
	case LOG_LVL_ERR:	return LOG_ERR;
	case LOG_LVL_WARN:	return LOG_WARNING;
	case LOG_LVL_NOTICE:	return LOG_NOTICE;
	case LOG_LVL_INFO:	return LOG_INFO;
	default:		return LOG_DEBUG;
	}
}

static const char *
log_level_name(int level)
{
	static const char *names[] = { "error", "warning", "notice", "info",
	    "debug" };

	if (level < 0 || level > LOG_LVL_DEBUG)
		return "debug";
	return names[level];
}

static void
log_vwrite(int level, const char *fmt, va_list ap, const char *suffix)
{
	char		msg[2048], line[2200], ts[40];
	struct timespec	tsp;
	struct tm	tm;
	int		n;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (suffix != NULL) {
		size_t l = strlen(msg);
		snprintf(msg + l, sizeof(msg) - l, ": %s", suffix);
	}
	switch (log_dest) {
	case LOGD_SYSLOG:
		syslog(log_syslog_prio(level), "%s", msg);
		return;
	case LOGD_JOURNAL:
		systemd_journal(log_syslog_prio(level), log_daemon,
		    log_is_child, msg);
		return;
	case LOGD_SD:
		/* One line per message: a newline would start an info line. */
		for (n = 0; msg[n] != '\0'; n++)
			if (msg[n] == '\n' || msg[n] == '\r')
				msg[n] = ' ';
		n = snprintf(line, sizeof(line), "<%d>%s: %s\n",
		    log_syslog_prio(level), log_is_child ? "child" : "master",
		    msg);
		if (n < 0)
			return;
		if ((size_t)n >= sizeof(line)) {
			n = sizeof(line) - 1;
			line[n - 1] = '\n';
		}
		(void)!write(2, line, n);
		return;
	default:
		break;
	}
	clock_gettime(CLOCK_REALTIME, &tsp);
	gmtime_r(&tsp.tv_sec, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	n = snprintf(line, sizeof(line), "%s.%03ldZ %s[%ld] %s %s: %s\n", ts,
	    tsp.tv_nsec / 1000000, log_daemon, (long)getpid(),
	    log_is_child ? "child" : "master", log_level_name(level), msg);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line)) {
		n = sizeof(line) - 1;
		line[n - 1] = '\n';
	}
	/* One write(2) per line keeps lines whole when processes share it. */
	(void)!write(log_filefd, line, n);
}

#define LOG_BODY(lvl, suffix) do {				\
	int	saved = errno;					\
	va_list	ap;						\
	if (log_level < (lvl))					\
		return;						\
	va_start(ap, fmt);					\
	log_vwrite((lvl), fmt, ap, (suffix));			\
	va_end(ap);						\
	errno = saved;						\
} while (0)

void
log_warn(const char *fmt, ...)
{
	const char *e = strerror(errno);

	LOG_BODY(LOG_LVL_WARN, e);
}

void
log_warnx(const char *fmt, ...)
{
	LOG_BODY(LOG_LVL_WARN, NULL);
}

void
log_errx(const char *fmt, ...)
{
	LOG_BODY(LOG_LVL_ERR, NULL);
}

void
log_notice(const char *fmt, ...)
{
	LOG_BODY(LOG_LVL_NOTICE, NULL);
}

void
log_info(const char *fmt, ...)
{
	LOG_BODY(LOG_LVL_INFO, NULL);
}

void
log_debug(const char *fmt, ...)
{
	LOG_BODY(LOG_LVL_DEBUG, NULL);
}

void
log_warnx_limited(struct log_limit *ll, const char *fmt, ...)
{
	struct timespec	 ts;
	double		 now;
	char		 more[64];
	int		 saved = errno;
	va_list		 ap;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
	if (ll->ll_start > 0 && now - ll->ll_start < LOG_LIMIT_WINDOW) {
		ll->ll_more++;
		return;
	}
	if (log_level >= LOG_LVL_WARN) {
		snprintf(more, sizeof(more), "%lu more like this in the last "
		    "minute", ll->ll_more);
		va_start(ap, fmt);
		log_vwrite(LOG_LVL_WARN, fmt, ap, ll->ll_more > 0 ? more : NULL);
		va_end(ap);
	}
	ll->ll_start = now;
	ll->ll_more = 0;
	errno = saved;
}

void
fatal(const char *fmt, ...)
{
	const char	*e = strerror(errno);
	va_list		 ap;

	va_start(ap, fmt);
	log_vwrite(LOG_LVL_ERR, fmt, ap, e);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vwrite(LOG_LVL_ERR, fmt, ap, NULL);
	va_end(ap);
	exit(1);
}

/* Escape control and non-ASCII bytes as \xNN; the result is always terminated. */
const char *
log_escape(const char *s, size_t len, char *buf, size_t buflen)
{
	size_t	i, o = 0;

	if (buflen == 0)
		return buf;
	for (i = 0; i < len && o + 5 < buflen; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c >= 0x20 && c < 0x7f && c != '\\')
			buf[o++] = c;
		else
			o += snprintf(buf + o, buflen - o, "\\x%02x", c);
	}
	if (i < len && o + 4 < buflen) {
		memcpy(buf + o, "...", 3);
		o += 3;
	}
	buf[o] = '\0';
	return buf;
}

static void
log_event_cb(int severity, const char *msg)
{
	if (severity >= EVENT_LOG_WARN)
		log_warnx("libevent: %s", msg);
	else
		log_debug("libevent: %s", msg);
}

/* Route libevent's own messages through us. */
void
log_libevent(void)
{
	event_set_log_callback(log_event_cb);
}
