/*
 * sd.c — the only file that includes libsystemd's headers.
 */
#include <sys/uio.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>
#include <systemd/sd-journal.h>

#include "common/sd.h"
#include "common/util.h"

void
systemd_notify(const char *fmt, ...)
{
	char	buf[1024];
	va_list	ap;

	if (getenv("NOTIFY_SOCKET") == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	/* NotifyAccess=main: only the master ever calls this. */
	(void)sd_notify(0, buf);
}

double
systemd_watchdog_interval(void)
{
	uint64_t	usec = 0;

	if (sd_watchdog_enabled(0, &usec) <= 0)
		return 0;
	return usec / 1e6;
}

int
systemd_take_listeners(struct listener *ls, int max, char *err, size_t errlen)
{
	char	**names = NULL;
	int	  n, i, got = 0;

	n = sd_listen_fds_with_names(1, &names);
	if (n < 0) {
		snprintf(err, errlen, "sd_listen_fds: %s", strerror(-n));
		return -1;
	}
	for (i = 0; i < n; i++) {
		int fd = SD_LISTEN_FDS_START + i;

		if (got >= max) {
			snprintf(err, errlen, "too many sockets from systemd");
			got = -1;
			break;
		}
		if (sd_is_socket(fd, AF_UNSPEC, SOCK_STREAM, 1) <= 0) {
			snprintf(err, errlen,
			    "socket %d from systemd is not a listening stream", fd);
			got = -1;
			break;
		}
		ls[got].l_fd = fd;
		snprintf(ls[got].l_name, sizeof(ls[got].l_name), "%s",
		    names && names[i] && strcmp(names[i], "unknown") != 0 ?
		    names[i] : "listen");
		snprintf(ls[got].l_addr, sizeof(ls[got].l_addr), "systemd fd %d",
		    fd);
		ls[got].l_from_systemd = 1;
		got++;
	}
	if (names != NULL) {
		for (i = 0; i < n; i++)
			free(names[i]);
		free(names);
	}
	return got;
}

void
systemd_journal(int prio, const char *daemon, int is_child, const char *msg)
{
	sd_journal_send("MESSAGE=%s", msg, "PRIORITY=%d", prio,
	    "SYSLOG_IDENTIFIER=%s", daemon, "DAEMON=%s", daemon,
	    is_child ? "CHILD_PID=%ld" : "MASTER_PID=%ld", (long)getpid(),
	    NULL);
}

/*
 * One access-log record: the line as MESSAGE and each of its parts as a
 * field of its own (fields[i] is "NAME=value"), for journalctl -o json.
 */
void
systemd_journal_fields(const char *daemon, const char *msg,
    const char **fields, int n)
{
	struct iovec	iov[24];
	char		m[2200], id[64];
	int		i, k = 0;

	snprintf(m, sizeof(m), "MESSAGE=%s", msg);
	snprintf(id, sizeof(id), "SYSLOG_IDENTIFIER=%s", daemon);
	iov[k].iov_base = m;
	iov[k++].iov_len = strlen(m);
	iov[k].iov_base = id;
	iov[k++].iov_len = strlen(id);
	iov[k].iov_base = (char *)"PRIORITY=6";
	iov[k++].iov_len = 10;
	for (i = 0; i < n && k < (int)nitems(iov); i++) {
		iov[k].iov_base = (char *)fields[i];
		iov[k++].iov_len = strlen(fields[i]);
	}
	sd_journal_sendv(iov, k);
}
