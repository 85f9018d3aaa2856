/*
 * query.c — the query line of each registry's whois dialect, and the small
 * words of the command line and the data file: statuses, faults,
 * latencies, rates.  Also the simulator's random numbers (seedable, so a
 * run can be replayed with --seed).
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "tests/regsim/regsim.h"

static const char *status_names[RS_NSTATUS] = {
	"available", "registered", "reserved", "throttled", "error", "unknown"
};

static const char *fault_names[FAULT_N] = {
	"none", "timeout", "reset", "garbage", "drip", "empty", "big"
};

/* Options that take an argument in the registries' query syntax. */
static const char *query_argopts[] = { "-T", "-C", "-i", "-s", "-t" };

static int
query_argopt(const char *tok)
{
	size_t	i;

	for (i = 0; i < sizeof(query_argopts) / sizeof(query_argopts[0]); i++)
		if (strcmp(tok, query_argopts[i]) == 0)
			return 1;
	return 0;
}

/*
 * Extract the domain from one query line in any registry's dialect:
 *   NAME                  plain (most registries)
 *   domain NAME, =NAME    Verisign (.com, .net)
 *   -T dn,ace NAME        DENIC (.de)
 *   NAME/e                JPRS (.jp, English output)
 *   --show-handles NAME   DK Hostmaster (.dk)
 * CR, LF and surrounding blanks are ignored; the name is lower-cased and
 * loses a trailing dot.  *format names the dialect seen.  Returns 0, or
 * -1 when no name is left.
 */
int
rs_query_parse(const char *line, char *name, size_t namelen,
    const char **format)
{
	char		 buf[RS_LINE_MAX + 1];
	char		*tok[64], *p, *n;
	const char	*fmt = "plain";
	int		 ntok = 0, i;
	size_t		 len;

	*format = fmt;
	name[0] = '\0';
	len = strlen(line);
	if (len > RS_LINE_MAX)
		len = RS_LINE_MAX;
	memcpy(buf, line, len);
	buf[len] = '\0';
	for (p = strtok(buf, " \t\r\n"); p != NULL && ntok < (int)(sizeof(tok) /
	    sizeof(tok[0])); p = strtok(NULL, " \t\r\n"))
		tok[ntok++] = p;
	if (ntok == 0)
		return -1;

	i = 0;
	while (i < ntok - 1 && tok[i][0] == '-') {
		if (strcmp(tok[i], "-T") == 0)
			fmt = "denic";
		else if (strcmp(tok[i], "--show-handles") == 0)
			fmt = "dk";
		else if (strcmp(fmt, "plain") == 0)
			fmt = "flags";
		if (query_argopt(tok[i]) && i + 1 < ntok - 1)
			i++;
		i++;
	}
	if (i < ntok - 1 && strcasecmp(tok[i], "domain") == 0) {
		fmt = "verisign";
		i++;
	}
	/* Anything else before the name is ignored: the name comes last. */
	n = tok[ntok - 1];
	if (n[0] == '=') {
		fmt = "verisign";
		n++;
	}
	len = strlen(n);
	if (len >= 2 && n[len - 2] == '/' && (n[len - 1] == 'e' ||
	    n[len - 1] == 'E' || n[len - 1] == 'j' || n[len - 1] == 'J')) {
		fmt = "jprs";
		n[len -= 2] = '\0';
	}
	while (len > 0 && n[len - 1] == '.')
		n[--len] = '\0';
	if (len == 0)
		return -1;
	if (len >= namelen)
		len = namelen - 1;
	for (i = 0; i < (int)len; i++)
		name[i] = tolower((unsigned char)n[i]);
	name[len] = '\0';
	*format = fmt;
	return 0;
}

const char *
rs_status_name(enum rs_status s)
{
	if ((int)s < 0 || s >= RS_NSTATUS)
		return "error";
	return status_names[s];
}

/* The status a word starts with ("registered-thin" -> RS_REGISTERED). */
int
rs_status_parse(const char *word, size_t len)
{
	size_t	i, l;

	for (i = 0; i < RS_NSTATUS; i++) {
		l = strlen(status_names[i]);
		if (len >= l && strncmp(word, status_names[i], l) == 0)
			return (int)i;
	}
	return -1;
}

const char *
rs_fault_name(enum rs_fault f)
{
	if ((int)f < 0 || f >= FAULT_N)
		return "none";
	return fault_names[f];
}

int
rs_fault_parse(const char *word)
{
	int	i;

	for (i = 0; i < FAULT_N; i++)
		if (strcmp(word, fault_names[i]) == 0)
			return i;
	return -1;
}

/*
 * The fault a name asks for by its first label: "fault-KIND" alone or
 * followed by "-anything".  *rest points past "fault-KIND-" so the rest of
 * the name can still pick the answer (fault-drip-free1.com drips an
 * "available" answer).
 */
int
rs_fault_from_name(const char *name, const char **rest)
{
	const char	*k, *dot;
	size_t		 l;
	int		 i;

	*rest = name;
	if (strncmp(name, "fault-", 6) != 0)
		return FAULT_NONE;
	k = name + 6;
	dot = strchr(k, '.');
	for (i = 1; i < FAULT_N; i++) {
		l = strlen(fault_names[i]);
		if (strncmp(k, fault_names[i], l) != 0)
			continue;
		if (k[l] == '-') {
			*rest = k + l + 1;
			return i;
		}
		if (k[l] == '\0' || (dot != NULL && k + l == dot)) {
			*rest = k + l;
			return i;
		}
	}
	return FAULT_NONE;
}

static int
num_parse(const char *s, char **end, double *v)
{
	errno = 0;
	*v = strtod(s, end);
	if (*end == s || errno != 0 || !isfinite(*v) || *v < 0)
		return -1;
	return 0;
}

/* "N", "fixed:N", "uniform:MIN:MAX", "normal:MEAN:SD" (milliseconds). */
int
rs_latency_parse(const char *s, struct latency *lt, char *err, size_t errlen)
{
	const char	*p = s;
	char		*end;
	double		 a, b = 0;

	if (strncmp(p, "fixed:", 6) == 0) {
		lt->lt_kind = LAT_FIXED;
		p += 6;
	} else if (strncmp(p, "uniform:", 8) == 0) {
		lt->lt_kind = LAT_UNIFORM;
		p += 8;
	} else if (strncmp(p, "normal:", 7) == 0) {
		lt->lt_kind = LAT_NORMAL;
		p += 7;
	} else
		lt->lt_kind = LAT_FIXED;
	if (num_parse(p, &end, &a) == -1)
		goto bad;
	if (lt->lt_kind != LAT_FIXED) {
		if (*end != ':' || num_parse(end + 1, &end, &b) == -1)
			goto bad;
		if (lt->lt_kind == LAT_UNIFORM && b < a)
			goto bad;
	}
	if (*end != '\0')
		goto bad;
	lt->lt_a = a;
	lt->lt_b = b;
	return 0;
bad:
	snprintf(err, errlen, "bad latency \"%s\" (want N, fixed:N, "
	    "uniform:MIN:MAX or normal:MEAN:SD, in ms)", s);
	return -1;
}

/* "N/s", "N/m", "N/min", "N/h", "N/Ts" (N per T seconds); N 0 = off. */
int
rs_rate_parse(const char *s, long *n, double *window, char *err, size_t errlen)
{
	const char	*orig = s;
	char		*end;
	double		 t = 1;
	long		 v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (end == s || errno != 0 || v < 0 || *end != '/')
		goto bad;
	s = end + 1;
	if (isdigit((unsigned char)*s)) {
		if (num_parse(s, &end, &t) == -1 || t <= 0)
			goto bad;
		s = end;
	}
	if (strcmp(s, "s") == 0)
		;
	else if (strcmp(s, "m") == 0 || strcmp(s, "min") == 0)
		t *= 60;
	else if (strcmp(s, "h") == 0)
		t *= 3600;
	else
		goto bad;
	*n = v;
	*window = t;
	return 0;
bad:
	snprintf(err, errlen, "bad rate \"%s\" (want N/s, N/m, N/h or N/Ts)",
	    orig);
	return -1;
}

static uint64_t	rng_state = 0x9e3779b97f4a7c15ULL;

void
rs_rng_seed(uint64_t seed)
{
	rng_state = seed ^ 0x9e3779b97f4a7c15ULL;
}

/* splitmix64: small, fast, good enough for jitter and garbage. */
uint64_t
rs_rng_next(void)
{
	uint64_t	z;

	z = (rng_state += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

double
rs_rng_uniform(void)
{
	return (rs_rng_next() >> 11) * (1.0 / 9007199254740992.0);
}

double
rs_latency_draw(const struct latency *lt)
{
	double	u1, u2, v;

	switch (lt->lt_kind) {
	case LAT_UNIFORM:
		v = lt->lt_a + (lt->lt_b - lt->lt_a) * rs_rng_uniform();
		break;
	case LAT_NORMAL:
		/* Box-Muller; u1 is kept away from 0 for the log. */
		u1 = 1.0 - rs_rng_uniform();
		u2 = rs_rng_uniform();
		v = lt->lt_a + lt->lt_b * sqrt(-2.0 * log(u1)) *
		    cos(2.0 * M_PI * u2);
		break;
	default:
		v = lt->lt_a;
		break;
	}
	return v < 0 ? 0 : v;
}
