/*
 * log.h — logging for every whoisd process, in the style of OpenBSD's log.c.
 *
 * Levels 0-4: 0 errors only, 1 warnings, 2 notices (default), 3 info,
 * 4 debug.  Destinations: stderr, syslog, the journal, or a file
 * (reopened on USR1).  The level is checked before anything is formatted.
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
void	log_set_child(int is_child);
int	log_fd(void);
void	log_libevent(void);

void	log_warn(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_warnx(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_notice(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_info(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_debug(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_errx(const char *, ...) __attribute__((format(printf, 1, 2)));
void	fatal(const char *, ...) __attribute__((format(printf, 1, 2), noreturn));
void	fatalx(const char *, ...) __attribute__((format(printf, 1, 2), noreturn));

/* Escape untrusted text (registry replies, client queries) for a log line. */
const char *log_escape(const char *s, size_t len, char *buf, size_t buflen);

#endif
