/*
 * log.h — logging for every whoisd process, in the style of OpenBSD's log.c.
 *
 * Levels 0-4: 0 errors only, 1 warnings, 2 notices (default), 3 info,
 * 4 debug.  Destinations: stderr (sd-daemon prefixed under systemd),
 * syslog, the journal, or a file (reopened on USR1).  The level is checked before anything is formatted.
 */
#ifndef WHOISD_LOG_H
#define WHOISD_LOG_H

#include <stdarg.h>

#define LOG_LVL_ERR	0
#define LOG_LVL_WARN	1
#define LOG_LVL_NOTICE	2
#define LOG_LVL_INFO	3
#define LOG_LVL_DEBUG	4

extern int log_level;

void	log_init(const char *daemon, int level);
int	log_open(const char *dest, char *err, size_t errlen);
void	log_reopen(void);
/* Also call fn on each log_reopen() (another file to reopen on USR1). */
void	log_on_reopen(void (*fn)(void));
void	log_set_child(int is_child);
int	log_fd(void);
/* Are lines sd-daemon prefixed ("<4>...") for the journal? */
int	log_sd_prefixed(void);
void	log_libevent(void);

void	log_warn(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_warnx(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_notice(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_info(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_debug(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_errx(const char *, ...) __attribute__((format(printf, 1, 2)));
void	fatal(const char *, ...) __attribute__((format(printf, 1, 2), noreturn));
void	fatalx(const char *, ...) __attribute__((format(printf, 1, 2), noreturn));

/*
 * A warning that may repeat many times a second (a full disk, a dead
 * peer): the first line is logged, the repeats within the next minute are
 * counted, and the first call after that minute logs its own line with
 * ": N more like this in the last minute".  Zero the struct to start.
 */
#define LOG_LIMIT_WINDOW	60	/* seconds */
struct log_limit {
	double		ll_start;	/* when the logged line was; 0 never */
	unsigned long	ll_more;	/* repeats not logged since */
};
void	log_warnx_limited(struct log_limit *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));

/* Escape untrusted text (registry replies, client queries) for a log line. */
const char *log_escape(const char *s, size_t len, char *buf, size_t buflen);

#endif
