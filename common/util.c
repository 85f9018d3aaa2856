/*
 * util.c — allocation that never fails quietly, clocks, fd flags and reads,
 * host:port parsing.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "common/util.h"

void *
xmalloc(size_t n)
{
	void	*p;

	if ((p = malloc(n == 0 ? 1 : n)) == NULL)
		fatal("xmalloc: allocating %zu bytes", n);
	return p;
}

void *
xcalloc(size_t nmemb, size_t size)
{
	void	*p;

	if ((p = calloc(nmemb == 0 ? 1 : nmemb, size == 0 ? 1 : size)) == NULL)
		fatal("xcalloc: allocating %zu * %zu bytes", nmemb, size);
	return p;
}

void *
xrealloc(void *ptr, size_t n)
{
	void	*p;

	if ((p = realloc(ptr, n == 0 ? 1 : n)) == NULL)
		fatal("xrealloc: allocating %zu bytes", n);
	return p;
}

char *
xstrdup(const char *s)
{
	char	*p;

	if ((p = strdup(s)) == NULL)
		fatal("xstrdup");
	return p;
}

char *
xstrndup(const char *s, size_t n)
{
	char	*p;

	if ((p = strndup(s, n)) == NULL)
		fatal("xstrndup");
	return p;
}

double
now_mono(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

double
now_wall(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

void
tv_from_seconds(struct timeval *tv, double sec)
{
	if (sec < 0)
		sec = 0;
	tv->tv_sec = (time_t)sec;
	tv->tv_usec = (suseconds_t)((sec - (double)tv->tv_sec) * 1e6);
}

void
tv_from_ms(struct timeval *tv, long ms)
{
	if (ms < 0)
		ms = 0;
	tv->tv_sec = ms / 1000;
	tv->tv_usec = (suseconds_t)(ms % 1000) * 1000;
}

void
fmt_iso8601(double t, char *buf, size_t len)
{
	time_t		tt = (time_t)t;
	struct tm	tm;
	int64_t		days, secs, z, era, doe, yoe, y, doy, mp, d, m;
	char		out[21];
	int		i;

	/*
	 * Every answer carries one of these, so no gmtime_r()/strftime()
	 * (locale and time zone machinery) on the hot path: the civil date
	 * from days since the epoch (Howard Hinnant's days_from_civil,
	 * inverted), for years 1970-9999; anything else the slow way.
	 */
	if (t < 0 || t >= 253402300800.0 || len < sizeof(out)) {
		gmtime_r(&tt, &tm);
		strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
		return;
	}
	days = (int64_t)tt / 86400;
	secs = (int64_t)tt % 86400;
	z = days + 719468;
	era = z / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	y = yoe + era * 400;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	d = doy - (153 * mp + 2) / 5 + 1;
	m = mp < 10 ? mp + 3 : mp - 9;
	if (m <= 2)
		y++;
	memcpy(out, "0000-00-00T00:00:00Z", sizeof(out));
	for (i = 3; i >= 0; i--, y /= 10)
		out[i] = (char)('0' + y % 10);
	out[5] = (char)('0' + m / 10);
	out[6] = (char)('0' + m % 10);
	out[8] = (char)('0' + d / 10);
	out[9] = (char)('0' + d % 10);
	out[11] = (char)('0' + secs / 36000);
	out[12] = (char)('0' + secs / 3600 % 10);
	out[14] = (char)('0' + secs % 3600 / 600);
	out[15] = (char)('0' + secs % 3600 / 60 % 10);
	out[17] = (char)('0' + secs % 60 / 10);
	out[18] = (char)('0' + secs % 10);
	memcpy(buf, out, sizeof(out));
}

size_t
fmt_u64(uint64_t v, char *buf)
{
	char	tmp[20];
	size_t	n = 0, i;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v > 0);
	for (i = 0; i < n; i++)
		buf[i] = tmp[n - 1 - i];
	buf[n] = '\0';
	return n;
}

int
fd_nonblock(int fd)
{
	int	fl;

	if ((fl = fcntl(fd, F_GETFL)) == -1)
		return -1;
	return fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

int
fd_cloexec(int fd)
{
	int	fl;

	if ((fl = fcntl(fd, F_GETFD)) == -1)
		return -1;
	return fcntl(fd, F_SETFD, fl | FD_CLOEXEC);
}

uint32_t
str_hash(const char *s)
{
	uint32_t	h = 2166136261u;

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

size_t
fd_read_full(int fd, void *buf, size_t len)
{
	size_t	 off = 0;
	ssize_t	 n;

	while (off < len) {
		n = read(fd, (char *)buf + off, len - off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		off += (size_t)n;
	}
	return off;
}

int
parse_hostport(const char *s, char *host, size_t hostlen, int *port,
    char *err, size_t errlen)
{
	const char	*colon, *hs, *he;
	char		*end;
	long		 p;

	if (*s == '[') {
		hs = s + 1;
		if ((he = strchr(hs, ']')) == NULL || he[1] != ':') {
			snprintf(err, errlen, "\"%s\": expected [ipv6]:port", s);
			return -1;
		}
		colon = he + 1;
	} else {
		if ((colon = strrchr(s, ':')) == NULL) {
			snprintf(err, errlen, "\"%s\": expected host:port", s);
			return -1;
		}
		hs = s;
		he = colon;
		if (memchr(hs, ':', he - hs) != NULL) {
			snprintf(err, errlen,
			    "\"%s\": write IPv6 addresses as [addr]:port", s);
			return -1;
		}
	}
	if ((size_t)(he - hs) >= hostlen || he == hs) {
		snprintf(err, errlen, "\"%s\": bad host", s);
		return -1;
	}
	memcpy(host, hs, he - hs);
	host[he - hs] = '\0';
	errno = 0;
	p = strtol(colon + 1, &end, 10);
	if (colon[1] == '\0' || *end != '\0' || errno != 0 || p < 0 || p > 65535) {
		snprintf(err, errlen, "\"%s\": bad port", s);
		return -1;
	}
	*port = (int)p;
	return 0;
}

/*
 * Length of the valid UTF-8 sequence at s (n bytes left), or 0 for an
 * invalid one (bad lead or continuation byte, overlong form, surrogate,
 * beyond U+10FFFF).
 */
size_t
utf8_seqlen(const unsigned char *s, size_t n)
{
	size_t		 len, i;
	unsigned int	 cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4, cp = s[0] & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

size_t
str_copy(char *dst, const char *src, size_t size)
{
	size_t	len = strlen(src), n;

	if (size > 0) {
		n = len < size ? len : size - 1;
		memcpy(dst, src, n);
		dst[n] = '\0';
	}
	return len;
}
