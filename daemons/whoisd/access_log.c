/*
 * access_log.c — one line per request, as nginx writes them:
 *
 *	TIME CLIENT PORT CODE PATH NAMES STATUSES SOURCES SECONDS BYTES
 *	2026-12-07T04:10:00.123Z 127.0.0.1 http 200 /v1/check 2 \
 *	    available:1,registered:1 cache:1,registry:1 0.031 412
 *	2026-12-07T04:10:00.456Z ::1 whois - - example.com registered \
 *	    cache 0.001 2048
 *
 * NAMES is the name when there is one (escaped), else their count;
 * STATUSES and SOURCES are the one value or value:count pairs; `-` is
 * none.  Each child appends whole lines to the file (O_APPEND, one
 * write each) and reopens it on USR1; `journal` sends the line with
 * each part as a field of its own.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "common/sd.h"
#include "daemons/whoisd/access_log.h"
#include "daemons/whoisd/whoisd.h"

int			 alog_on;
static int		 alog_journal;
static int		 alog_fd = -1;
static char		 alog_file[1024];
static unsigned long	 alog_sample = 1, alog_seq;

static int
alog_open(const char *path, char *err, size_t errlen)
{
	int	fd;

	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	if (fd == -1) {
		snprintf(err, errlen, "access_log %s: %s", path,
		    strerror(errno));
		return -1;
	}
	if (alog_fd != -1)
		close(alog_fd);
	alog_fd = fd;
	return 0;
}

/*
 * Refuse a file that cannot be opened before a child is forked; with -n
 * (check) only see that it could be, creating nothing.
 */
int
alog_master_init(void *conf, int check)
{
	struct whoisd_conf	*wc = conf;
	const char		*a = wc->wc_access_log;
	char			 err[1100];
	int			 fd;

	if (a == NULL || strcmp(a, "off") == 0 || strcmp(a, "journal") == 0)
		return 0;
	if (check) {
		char	dir[1024], *sl;

		snprintf(dir, sizeof(dir), "%s", a);
		if ((sl = strrchr(dir, '/')) != NULL)
			sl[sl == dir ? 1 : 0] = '\0';
		else
			snprintf(dir, sizeof(dir), ".");
		fd = access(a, W_OK) == 0 || (errno == ENOENT &&
		    access(dir, W_OK) == 0) ? 0 : -1;
	} else if ((fd = open(a, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
	    0640)) != -1)
		close(fd);
	if (fd == -1) {
		snprintf(err, sizeof(err), "access_log %s: %s", a,
		    strerror(errno));
		log_errx("%s", err);
		fprintf(stderr, "whoisd: %s\n", err);
		return -1;
	}
	return 0;
}

/* USR1 (through log_reopen()): logrotate has moved the file away. */
static void
alog_reopen(void)
{
	char	err[1100];

	if (alog_file[0] != '\0' && alog_open(alog_file, err,
	    sizeof(err)) == -1)
		log_warnx("%s", err);
}

void
alog_child_init(void *conf)
{
	struct whoisd_conf	*wc = conf;
	const char		*a = wc->wc_access_log;
	char			 err[1100];

	alog_sample = wc->wc_access_log_sample > 0 ?
	    (unsigned long)wc->wc_access_log_sample : 1;
	if (a == NULL || strcmp(a, "off") == 0)
		return;
	if (strcmp(a, "journal") == 0) {
		alog_journal = 1;
		alog_on = 1;
		return;
	}
	snprintf(alog_file, sizeof(alog_file), "%s", a);
	if (alog_open(alog_file, err, sizeof(err)) == -1) {
		log_warnx("%s; no access log", err);
		return;
	}
	log_on_reopen(alog_reopen);
	alog_on = 1;
}

void
alog_path(struct alog_rec *ar, const char *path)
{
	if (!alog_on)
		return;
	log_escape(path, strlen(path), ar->ar_path, sizeof(ar->ar_path));
}

void
alog_answer(struct alog_rec *ar, const struct answer *a)
{
	if (!alog_on || !ar->ar_open)
		return;
	if (ar->ar_n++ == 0)
		log_escape(a->a_domain, strlen(a->a_domain), ar->ar_name,
		    sizeof(ar->ar_name));
	if (a->a_status >= 0 && a->a_status < AS_NSTATUS)
		ar->ar_status[a->a_status]++;
	if (a->a_status != AS_INVALID && a->a_source >= 0 &&
	    a->a_source < SRC_NSOURCE)
		ar->ar_source[a->a_source]++;
}

/* "registered", "available:1,registered:2", or "-". */
static void
alog_counts(char *buf, size_t len, const uint32_t *c, int n,
    const char *(*name)(int))
{
	size_t	o = 0;
	int	i, kinds = 0, last = 0;

	for (i = 0; i < n; i++)
		if (c[i] > 0) {
			kinds++;
			last = i;
		}
	if (kinds == 0 || (kinds == 1 && c[last] == 1)) {
		snprintf(buf, len, "%s", kinds ? name(last) : "-");
		return;
	}
	buf[0] = '\0';
	for (i = 0; i < n && o < len; i++)
		if (c[i] > 0)
			o += (size_t)snprintf(buf + o, len - o, "%s%s:%u",
			    o > 0 ? "," : "", name(i), c[i]);
}

static const char *
alog_status_name(int i)
{
	return answer_status_name((enum answer_status)i);
}

static const char *
alog_source_name(int i)
{
	return answer_source_name((enum answer_source)i);
}

void
alog_end(struct alog_rec *ar, int fd, int http, double now)
{
	struct sockaddr_storage	 ss;
	socklen_t		 sl = sizeof(ss);
	struct timespec		 ts;
	struct tm		 tm;
	char			 line[1024], when[40], addr[64], names[96];
	char			 st[160], src[96], code[16], secs[24], bytes[24];
	char			 f[10][192];
	const char		*fp[10];
	int			 n, i;

	if (!alog_on || !ar->ar_open)
		return;
	ar->ar_open = 0;
	if (alog_sample > 1 && ++alog_seq % alog_sample != 0)
		return;
	snprintf(addr, sizeof(addr), "-");
	if (getpeername(fd, (struct sockaddr *)&ss, &sl) == 0) {
		if (ss.ss_family == AF_INET)
			inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr,
			    addr, sizeof(addr));
		else if (ss.ss_family == AF_INET6)
			inet_ntop(AF_INET6,
			    &((struct sockaddr_in6 *)&ss)->sin6_addr, addr,
			    sizeof(addr));
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = (int)strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(when + n, sizeof(when) - (size_t)n, ".%03ldZ",
	    ts.tv_nsec / 1000000);
	if (ar->ar_n == 1)
		snprintf(names, sizeof(names), "%s", ar->ar_name);
	else if (ar->ar_n == 0)
		snprintf(names, sizeof(names), "-");
	else
		snprintf(names, sizeof(names), "%d", ar->ar_n);
	alog_counts(st, sizeof(st), ar->ar_status, AS_NSTATUS,
	    alog_status_name);
	alog_counts(src, sizeof(src), ar->ar_source, SRC_NSOURCE,
	    alog_source_name);
	if (ar->ar_code > 0)
		snprintf(code, sizeof(code), "%d", ar->ar_code);
	else
		snprintf(code, sizeof(code), "-");
	snprintf(secs, sizeof(secs), "%.3f", now - ar->ar_start > 0 ?
	    now - ar->ar_start : 0.0);
	snprintf(bytes, sizeof(bytes), "%zu", ar->ar_bytes);
	n = snprintf(line, sizeof(line), "%s %s %s %s %s %s %s %s %s %s\n",
	    when, addr, http ? "http" : "whois", code,
	    ar->ar_path[0] != '\0' ? ar->ar_path : "-", names, st, src, secs,
	    bytes);
	if (n <= 0)
		return;
	if ((size_t)n >= sizeof(line)) {
		n = sizeof(line) - 1;
		line[n - 1] = '\n';
	}
	if (!alog_journal) {
		/* One write(2) per line keeps lines whole between children. */
		(void)!write(alog_fd, line, (size_t)n);
		return;
	}
	line[n - 1] = '\0';
	snprintf(f[0], sizeof(f[0]), "WHOISD_CLIENT=%s", addr);
	snprintf(f[1], sizeof(f[1]), "WHOISD_PORT=%s", http ? "http" : "whois");
	snprintf(f[2], sizeof(f[2]), "WHOISD_CODE=%s", code);
	snprintf(f[3], sizeof(f[3]), "WHOISD_PATH=%s", ar->ar_path);
	snprintf(f[4], sizeof(f[4]), "WHOISD_NAMES=%s", names);
	snprintf(f[5], sizeof(f[5]), "WHOISD_STATUSES=%s", st);
	snprintf(f[6], sizeof(f[6]), "WHOISD_SOURCES=%s", src);
	snprintf(f[7], sizeof(f[7]), "WHOISD_SECONDS=%s", secs);
	snprintf(f[8], sizeof(f[8]), "WHOISD_BYTES=%s", bytes);
	snprintf(f[9], sizeof(f[9]), "WHOISD_ACCESS=1");
	for (i = 0; i < 10; i++)
		fp[i] = f[i];
	systemd_journal_fields("whoisd", line, fp, 10);
}
