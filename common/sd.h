/*
 * sd.h — everything whoisd asks of systemd, in one place: readiness and
 * status notifications, the watchdog, socket activation, the journal.
 */
#ifndef WHOISD_SD_H
#define WHOISD_SD_H

#include "common/net.h"

void	systemd_notify(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Watchdog interval in seconds (0 = off), from WATCHDOG_USEC/WATCHDOG_PID. */
double	systemd_watchdog_interval(void);
/* Take sockets handed over by systemd; returns how many were added to ls. */
int	systemd_take_listeners(struct listener *ls, int max, char *err, size_t errlen);
void	systemd_journal(int prio, const char *daemon, int is_child, const char *msg);
/* A record with fields of its own ("NAME=value"), at priority info. */
void	systemd_journal_fields(const char *daemon, const char *msg,
	    const char **fields, int n);

#endif
