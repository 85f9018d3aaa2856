/*
 * registries.c — load, validate and query the registries data file.
 *
 * The file is line-oriented, `key value...` like every whoisd config,
 * grouped in `registry NAME` blocks; see docs/registries.md.  Loading is
 * all or nothing: the first problem is reported as "file:line: message"
 * and nothing is returned, so a reload with a broken file keeps the old
 * table.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <ctype.h>
#include <errno.h>
#include <locale.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/name.h"
#include "common/regfile.h"
#include "common/suffix.h"
#include "daemons/query/registries.h"

#define RS_RETRY_MAX	86400

/*
 * Pattern budget.  glibc's regcomp copies a parse tree once per
 * repetition and keeps an epsilon closure per node, so a short pattern
 * can cost gigabytes; rs_pattern_cost() estimates the size first.  The
 * shipped file's largest pattern is about 200, its total about 250000.
 */
#define RS_PATTERN_LEN_MAX	1024	/* bytes */
#define RS_DUP_MAX		255	/* bound in {m,n} */
#define RS_NEST_MAX		32	/* ( depth */
#define RS_COST_MAX		2048	/* estimated nodes, one pattern */
#define RS_COST_FILE_MAX	((uint64_t)1 << 24)	/* sum of squares */
#define RS_COST_SAT		((uint64_t)1 << 40)

struct registries {
	struct registry		**rs_regs;
	size_t			  rs_nregs;
	struct suffixes		 *rs_sfx;	/* data: the registry */
	const struct registry	 *rs_default;
	char			 *rs_iana;
	int			  rs_iana_port;
};

/* Lines a pattern for "available" must never match: disclaimers, traps. */
static const char *const rs_traps[] = {
	"Status: NOT AVAILABLE",
	"Status:\tNOT AVAILABLE",
	"NOT AVAILABLE",
	"not available",
	"Not available for registration.",
	"unavailable",
	"Service temporarily unavailable.",
	"% is still available or not and to obtain information related to",
	"It allows persons to check whether a specific domain name",
	"The full WHOIS output may be available to individuals",
	"may be available at the registrar",
	"NOTE: FAILURE TO LOCATE A RECORD IN THE WHOIS DATABASE IS NOT "
	    "INDICATIVE OF THE AVAILABILITY OF A DOMAIN NAME.",
	"domains that might appear as available in whois might not actually "
	    "be available",
	"Access to the Whois and RDAP services is rate limited.",
	"",
};

struct rs_parser {
	struct regfile		 p_rf;
	struct registries	*p_rs;
	struct registry		*p_cur;		/* block being read */
	int			 p_cur_ntld;	/* its tld lines */
	const struct rs_keyword	*p_kw;		/* key of the line being read */
	uint64_t		 p_cost;	/* patterns so far: sum of cost^2 */
};

/* Where a key may appear. */
#define RS_TOP		0x01	/* before the first registry block */
#define RS_BLOCK	0x02	/* inside a registry block */

/* One key of the file: its values, where it goes, what stores it. */
struct rs_keyword {
	const char	*kw_name;
	int		 kw_min;	/* values after the key */
	int		 kw_max;
	int		 kw_where;	/* RS_TOP, RS_BLOCK */
	/* val: the values, NULL-terminated; p_kw is this row */
	int		(*kw_set)(struct rs_parser *, char **val);
	int		 kw_arg;	/* the pattern kind, for pattern keys */
};

static int
rs_error(struct rs_parser *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* An error on the line being read. */
static int
rs_error(struct rs_parser *p, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	regfile_verror(&p->p_rf, p->p_rf.rf_line, fmt, ap);
	va_end(ap);
	return -1;
}

static void
rs_pattern_free(struct registry_pattern *rp)
{
	if (rp->rp_src == NULL)
		return;
	registry_regfree(rp);
	free(rp->rp_src);
	rp->rp_src = NULL;
}

static void
rs_registry_free(struct registry *rg)
{
	int	 k, i;

	if (rg == NULL)
		return;
	for (k = 0; k < RGK_NKINDS; k++)
		for (i = 0; i < rg->rg_npats[k]; i++)
			rs_pattern_free(&rg->rg_pats[k][i]);
	for (i = 0; i < rg->rg_nretry; i++)
		rs_pattern_free(&rg->rg_retry[i]);
	if (rg->rg_has_referral)
		rs_pattern_free(&rg->rg_referral);
	free(rg->rg_name);
	free(rg->rg_server);
	free(rg->rg_query);
	free(rg->rg_rdap);
	free(rg);
}

void
registries_free(struct registries *rs)
{
	size_t	 i;

	if (rs == NULL)
		return;
	for (i = 0; i < rs->rs_nregs; i++)
		rs_registry_free(rs->rs_regs[i]);
	suffix_free(rs->rs_sfx);
	free(rs->rs_regs);
	free(rs->rs_iana);
	free(rs);
}

/* A host name as written in the file: LDH labels, at least one dot. */
static int
rs_valid_hostname(const char *s)
{
	size_t	 len = strlen(s), lab = 0, i;

	if (len == 0 || len > NAME_ACE_MAX || strchr(s, '.') == NULL)
		return 0;
	for (i = 0; i < len; i++) {
		if (s[i] == '.') {
			if (lab == 0 || s[i - 1] == '-')
				return 0;
			lab = 0;
			continue;
		}
		if (!isalnum((unsigned char)s[i]) && s[i] != '-')
			return 0;
		if (s[i] == '-' && lab == 0)
			return 0;
		if (++lab > NAME_LABEL_MAX)
			return 0;
	}
	return lab > 0 && s[len - 1] != '-';
}

/*
 * POSIX regex has no \t, \n, \r, \d or \s: written in a pattern they
 * silently mean something else.  Use [[:blank:]], [0-9], [[:space:]].
 */
static int
rs_check_escapes(struct rs_parser *p, const char *key, const char *src)
{
	const char	*q;

	for (q = src; *q != '\0'; q++) {
		if (q[0] != '\\' || q[1] == '\0')
			continue;
		if (strchr("tnrdDsSwW", q[1]) != NULL)
			return rs_error(p, "%s: \"\\%c\" is not POSIX "
			    "regex; use a bracket class like [[:blank:]] or "
			    "[0-9]", key, q[1]);
		q++;
	}
	return 0;
}

static uint64_t
rs_cost_add(uint64_t a, uint64_t b)
{
	return a + b > RS_COST_SAT ? RS_COST_SAT : a + b;
}

static uint64_t
rs_cost_mul(uint64_t a, uint64_t b)
{
	if (a != 0 && b > RS_COST_SAT / a)
		return RS_COST_SAT;
	return a * b;
}

/* Past a bracket expression at q ('['): its classes may hold ']'. */
static const char *
rs_skip_bracket(const char *q)
{
	const char	*e;

	q++;
	if (*q == '^')
		q++;
	if (*q == ']')
		q++;
	while (*q != '\0' && *q != ']') {
		if (q[0] == '[' && strchr(":.=", q[1]) != NULL &&
		    q[1] != '\0') {
			for (e = q + 2; *e != '\0' && !(e[0] == q[1] &&
			    e[1] == ']'); e++)
				;
			q = *e != '\0' ? e + 2 : q + 1;
		} else
			q++;
	}
	return *q == ']' ? q + 1 : q;
}

/*
 * An interval at q ('{'): "{m}", "{m,}", "{m,n}", "{,n}" as glibc reads
 * them.  0 and *end past it, *max -1 when unbounded; -1 if not one.
 */
static int
rs_interval(const char *q, long *min, long *max, const char **end)
{
	long	*v = min;
	int	 digits = 0, comma = 0;

	*min = 0;
	*max = -1;
	for (q++; *q != '}'; q++) {
		if (isdigit((unsigned char)*q)) {
			if (*v < 0)
				*v = 0;
			if (*v <= RS_DUP_MAX)
				*v = *v * 10 + (*q - '0');
			digits = 1;
		} else if (*q == ',' && !comma) {
			comma = 1;
			v = max;
		} else
			return -1;
	}
	if (!digits && !comma)
		return -1;
	if (!comma)
		*max = *min;
	*end = q + 1;
	return 0;
}

/*
 * Estimated size of src once compiled: atoms count 1, a repetition
 * multiplies what it repeats ("+" by 2, "*" and "?" by 2, "{m,n}" by
 * n + 1), stacked and nested repetitions multiply again.  Fills why and
 * returns RS_COST_SAT for what is refused outright: that includes "+" or
 * "{m,}" on what can match nothing ("^a*+++++$", "^(a|)+"), which
 * regcomp's epsilon closures take exponential time over (five such
 * took seconds, nine hours) whatever the size; "*" says the same.
 */
static uint64_t
rs_pattern_cost(const char *src, char *why, size_t whylen)
{
	struct {
		uint64_t	 alt;	/* finished branches of the group */
		uint64_t	 seq;	/* the branch being read */
		uint64_t	 last;	/* its last atom, for a repetition */
		int		 alt_empty;	/* a branch can match "" */
		int		 pre_empty;	/* the branch before its last atom */
		int		 last_empty;	/* its last atom (1 if none) */
	}		 st[RS_NEST_MAX + 1];
	const char	*q = src, *end;
	uint64_t	 t, mult;
	long		 min, max;
	int		 d = 0, empty, loop;

	memset(st, 0, sizeof(st));
	st[0].pre_empty = st[0].last_empty = 1;
	while (*q != '\0') {
		mult = 0;
		t = 1;
		empty = *q == '^' || *q == '$';
		loop = 0;
		switch (*q) {
		case '\\':
			q += q[1] != '\0' ? 2 : 1;
			break;
		case '[':
			q = rs_skip_bracket(q);
			break;
		case '(':
			if (d == RS_NEST_MAX) {
				snprintf(why, whylen, "groups nested over %d "
				    "deep", RS_NEST_MAX);
				return RS_COST_SAT;
			}
			memset(&st[++d], 0, sizeof(st[0]));
			st[d].pre_empty = st[d].last_empty = 1;
			q++;
			continue;
		case ')':
			if (d > 0) {
				t = rs_cost_add(rs_cost_add(st[d].alt,
				    st[d].seq), 1);
				empty = st[d].alt_empty || (st[d].pre_empty &&
				    st[d].last_empty);
				d--;
			}
			q++;
			break;
		case '|':
			st[d].alt = rs_cost_add(st[d].alt, st[d].seq);
			st[d].seq = st[d].last = 0;
			st[d].alt_empty |= st[d].pre_empty && st[d].last_empty;
			st[d].pre_empty = st[d].last_empty = 1;
			q++;
			continue;
		case '*':
		case '?':
		case '+':
			mult = 2;
			loop = *q == '+';
			empty = *q != '+';
			q++;
			break;
		case '{':
			if (rs_interval(q, &min, &max, &end) == -1) {
				q++;
				break;
			}
			if (min > RS_DUP_MAX || max > RS_DUP_MAX) {
				snprintf(why, whylen, "repetition bound over "
				    "%d", RS_DUP_MAX);
				return RS_COST_SAT;
			}
			mult = (uint64_t)(max < 0 ? min + 2 : max + 1);
			loop = max < 0 && min > 0;
			empty = min <= 0;
			q = end;
			break;
		default:
			q++;
			break;
		}
		if (mult == 0) {
			st[d].pre_empty = st[d].pre_empty && st[d].last_empty;
			st[d].last_empty = empty;
			st[d].last = t;
			st[d].seq = rs_cost_add(st[d].seq, t);
		} else {
			if (loop && st[d].last > 0 && st[d].last_empty) {
				snprintf(why, whylen, "\"+\" or \"{m,}\" on what "
				    "can match nothing; write \"*\"");
				return RS_COST_SAT;
			}
			st[d].last_empty = st[d].last_empty || empty;
			st[d].seq -= st[d].last;
			st[d].last = rs_cost_add(rs_cost_mul(st[d].last, mult),
			    1);
			st[d].seq = rs_cost_add(st[d].seq, st[d].last);
		}
	}
	/* An unclosed group: regcomp refuses it, count it anyway. */
	for (; d > 0; d--)
		st[d - 1].seq = rs_cost_add(st[d - 1].seq,
		    rs_cost_add(st[d].alt, st[d].seq));
	return rs_cost_add(st[0].alt, st[0].seq);
}

/* Refuse, before regcomp sees it, a pattern too costly to compile. */
static int
rs_check_cost(struct rs_parser *p, const char *key, const char *src)
{
	char		 why[64] = "";
	size_t		 len = strlen(src);
	uint64_t	 c;

	if (len > RS_PATTERN_LEN_MAX)
		return rs_error(p, "%s: pattern too complex (%zu bytes, over "
		    "%d)", key, len, RS_PATTERN_LEN_MAX);
	c = rs_pattern_cost(src, why, sizeof(why));
	if (why[0] != '\0')
		return rs_error(p, "%s: pattern too complex (%s)", key, why);
	if (c > RS_COST_MAX)
		return rs_error(p, "%s: pattern too complex (size estimate "
		    "%llu, over %d)", key, (unsigned long long)c, RS_COST_MAX);
	/* Memory grows with the square of the size: bound the file too. */
	p->p_cost = rs_cost_add(p->p_cost, c * c);
	if (p->p_cost > RS_COST_FILE_MAX)
		return rs_error(p, "%s: pattern too complex (the file's "
		    "patterns together are over budget)", key);
	return 0;
}

locale_t
registry_utf8_locale(void)
{
	static const char *const names[] = { "C.UTF-8", "C.utf8",
	    "en_US.UTF-8" };
	static locale_t	 loc;
	static int	 tried;
	size_t		 i;

	if (!tried) {
		tried = 1;
		for (i = 0; i < sizeof(names) / sizeof(names[0]) &&
		    loc == (locale_t)0; i++)
			loc = newlocale(LC_CTYPE_MASK, names[i], (locale_t)0);
	}
	return loc;
}

int
registry_regcomp(struct registry_pattern *rp, const char *src, int cflags)
{
	int	 rc;

	rp->rp_has8 = 0;
	rp->rp_src8 = NULL;
	if ((rc = regcomp(&rp->rp_re, src, cflags)) != 0)
		return rc;
	rp->rp_cflags = cflags;
	if ((rp->rp_src8 = strdup(src)) == NULL)
		rp->rp_has8 = -1;
	return 0;
}

/*
 * The UTF-8 copy, compiled when a reply first needs it: most registries
 * answer in ASCII, and the copies of every pattern cost glibc about
 * 1.2 MB a process.  The pattern is const to its users; this only fills
 * in what they would read.
 */
static const regex_t *
registry_re8(const struct registry_pattern *rp)
{
	struct registry_pattern	*w = (struct registry_pattern *)rp;
	locale_t		 loc, old;

	if (w->rp_has8 == 0) {
		w->rp_has8 = -1;
		if ((loc = registry_utf8_locale()) != (locale_t)0) {
			old = uselocale(loc);
			if (regcomp(&w->rp_re8, w->rp_src8, w->rp_cflags) == 0)
				w->rp_has8 = 1;
			uselocale(old);
		}
	}
	return w->rp_has8 == 1 ? &w->rp_re8 : NULL;
}

void
registry_regfree(struct registry_pattern *rp)
{
	regfree(&rp->rp_re);
	if (rp->rp_has8 == 1)
		regfree(&rp->rp_re8);
	rp->rp_has8 = 0;
	free(rp->rp_src8);
	rp->rp_src8 = NULL;
}

int
registry_text_utf8(const char *text)
{
	const unsigned char	*c;

	for (c = (const unsigned char *)text; *c != '\0'; c++)
		if (*c >= 0x80)
			return 1;
	return 0;
}

/* rp on text, in the UTF-8 locale when the text is UTF-8 and rp has a
 * copy compiled there. */
static int
registry_exec(const struct registry_pattern *rp, const char *text, int utf8,
    size_t nmatch, regmatch_t *m, int eflags)
{
	const regex_t	*re8;
	locale_t	 old;
	int		 rc;

	if (!utf8 || (re8 = registry_re8(rp)) == NULL)
		return regexec(&rp->rp_re, text, nmatch, m, eflags);
	old = uselocale(registry_utf8_locale());
	rc = regexec(re8, text, nmatch, m, eflags);
	uselocale(old);
	return rc;
}

int
registry_regexec(const struct registry_pattern *rp, const char *text,
    int utf8, size_t nmatch, regmatch_t *m)
{
	return registry_exec(rp, text, utf8, nmatch, m, 0);
}

int
registry_regexec_line(const struct registry_pattern *rp, const char *text,
    size_t so, size_t eo, int utf8, regmatch_t *m)
{
	m[0].rm_so = (regoff_t)so;
	m[0].rm_eo = (regoff_t)eo;
	return registry_exec(rp, text, utf8, 1, m, REG_STARTEND);
}

static int
rs_compile(struct rs_parser *p, struct registry_pattern *rp, const char *key,
    const char *src, int icase, int ngroups)
{
	char		 buf[256];
	regmatch_t	 m[1];
	int		 rc;

	if (*src == '\0')
		return rs_error(p, "%s: empty pattern", key);
	if (rs_check_escapes(p, key, src) == -1 ||
	    rs_check_cost(p, key, src) == -1)
		return -1;
	rc = registry_regcomp(rp, src, REG_EXTENDED | REG_NEWLINE |
	    (icase ? REG_ICASE : 0));
	if (rc != 0) {
		regerror(rc, &rp->rp_re, buf, sizeof(buf));
		return rs_error(p, "%s: bad regex \"%s\": %s", key,
		    src, buf);
	}
	rp->rp_src = strdup(src);
	rp->rp_line = p->p_rf.rf_line;
	if (rp->rp_src == NULL) {
		registry_regfree(rp);
		return rs_error(p, "out of memory");
	}
	if (rp->rp_re.re_nsub < (size_t)ngroups) {
		rs_pattern_free(rp);
		return rs_error(p, "%s: pattern needs a capture "
		    "group", key);
	}
	/* A pattern that matches nothing at all would match every reply. */
	if (registry_regexec(rp, "", 0, 1, m) == 0) {
		rs_pattern_free(rp);
		return rs_error(p, "%s: pattern \"%s\" matches an "
		    "empty line", key, src);
	}
	return 0;
}

/* An available pattern must not match any known trap line. */
static int
rs_check_traps(struct rs_parser *p, struct registry_pattern *rp)
{
	size_t	 i;

	for (i = 0; i < sizeof(rs_traps) / sizeof(rs_traps[0]); i++) {
		if (registry_regexec(rp, rs_traps[i],
		    registry_text_utf8(rs_traps[i]), 0, NULL) == 0)
			return rs_error(p, "available: pattern "
			    "\"%s\" matches the trap line \"%s\"", rp->rp_src,
			    rs_traps[i]);
	}
	return 0;
}

/* N/s, N/min, N/h or N/day into *n per *per seconds. */
static int
rs_parse_rate(struct rs_parser *p, const char *key, const char *v,
    unsigned int *np, unsigned int *per)
{
	static const struct {
		const char	*u;
		unsigned int	 secs;
	} units[] = {
		{ "s", 1 }, { "sec", 1 }, { "min", 60 }, { "h", 3600 },
		{ "hour", 3600 }, { "day", 86400 },
	};
	const char	*slash;
	char		*end;
	unsigned long	 n;
	size_t		 i;

	if (!isdigit((unsigned char)v[0]) || (slash = strchr(v, '/')) == NULL)
		return rs_error(p, "%s: expected N/s, N/min, N/h "
		    "or N/day, got \"%s\"", key, v);
	errno = 0;
	n = strtoul(v, &end, 10);
	if (end != slash || errno != 0 || n == 0 || n > 1000000)
		return rs_error(p, "%s: bad count in \"%s\"", key, v);
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcmp(slash + 1, units[i].u) == 0) {
			*np = (unsigned int)n;
			*per = units[i].secs;
			return 0;
		}
	}
	return rs_error(p, "%s: unknown unit in \"%s\"", key, v);
}

static int
rs_set_rate(struct rs_parser *p, char **val)
{
	struct registry	*rg = p->p_cur;

	if (rs_parse_rate(p, "rate", val[0], &rg->rg_rate_n,
	    &rg->rg_rate_per) == -1)
		return -1;
	rg->rg_rate_set = 1;
	return 0;
}

/* rdap_rate: the RDAP channel's own budget. */
static int
rs_set_rdap_rate(struct rs_parser *p, char **val)
{
	struct registry	*rg = p->p_cur;

	if (rs_parse_rate(p, "rdap_rate", val[0], &rg->rg_rdap_rate_n,
	    &rg->rg_rdap_rate_per) == -1)
		return -1;
	rg->rg_rdap_rate_set = 1;
	return 0;
}

/* rdap URL: the registry's RDAP base, https only. */
static int
rs_set_rdap(struct rs_parser *p, char **val)
{
	struct registry	*rg = p->p_cur;
	const char	*v = val[0], *h;
	size_t		 i;

	if (rg->rg_rdap != NULL)
		return rs_error(p, "rdap: given twice");
	if (strncasecmp(v, "https://", 8) != 0)
		return rs_error(p, "rdap: \"%s\" is not an https:// URL", v);
	h = v + 8;
	if (*h == '\0' || *h == '/' || strlen(v) > 256)
		return rs_error(p, "rdap: bad URL \"%s\"", v);
	for (i = 0; v[i] != '\0'; i++)
		if ((unsigned char)v[i] <= 0x20 || (unsigned char)v[i] >= 0x7f ||
		    strchr("\"<>\\{}|^`", v[i]) != NULL)
			return rs_error(p, "rdap: bad character in \"%s\"", v);
	if ((rg->rg_rdap = strdup(v)) == NULL)
		return rs_error(p, "out of memory");
	return 0;
}

/* rdap_404 available|unconfirmed: does this registry's 404 prove a name free? */
static int
rs_set_rdap_404(struct rs_parser *p, char **val)
{
	if (strcmp(val[0], "available") == 0)
		p->p_cur->rg_rdap_404 = 1;
	else if (strcmp(val[0], "unconfirmed") == 0)
		p->p_cur->rg_rdap_404 = 0;
	else
		return rs_error(p, "rdap_404: expected available or "
		    "unconfirmed, got \"%s\"", val[0]);
	return 0;
}

/* channels rdap whois: the order to ask in. */
static int
rs_set_channels(struct rs_parser *p, char **val)
{
	struct registry	*rg = p->p_cur;
	int		 i, c, j;

	if (rg->rg_nchan > 0)
		return rs_error(p, "channels: given twice");
	for (i = 0; val[i] != NULL && i < REGISTRY_CHANNELS_MAX; i++) {
		if (strcmp(val[i], "whois") == 0)
			c = RCH_WHOIS;
		else if (strcmp(val[i], "rdap") == 0)
			c = RCH_RDAP;
		else
			return rs_error(p, "channels: expected rdap or whois, "
			    "got \"%s\"", val[i]);
		for (j = 0; j < rg->rg_nchan; j++)
			if (rg->rg_chan[j] == c)
				return rs_error(p, "channels: \"%s\" twice",
				    val[i]);
		rg->rg_chan[rg->rg_nchan++] = c;
	}
	return 0;
}

/* quota N min|hour|day: at most N queries in any window that long. */
static int
rs_set_quota(struct rs_parser *p, char **val)
{
	struct registry	*rg = p->p_cur;
	char		*end;
	unsigned long	 n;

	errno = 0;
	n = strtoul(val[0], &end, 10);
	if (!isdigit((unsigned char)val[0][0]) || *end != '\0' || errno != 0 ||
	    n == 0 || n > REGISTRY_QUOTA_MAX)
		return rs_error(p, "quota: expected a count from 1 to %d, got "
		    "\"%s\"", REGISTRY_QUOTA_MAX, val[0]);
	if (strcmp(val[1], "min") == 0)
		rg->rg_quota_per = 60;
	else if (strcmp(val[1], "hour") == 0 || strcmp(val[1], "h") == 0)
		rg->rg_quota_per = 3600;
	else if (strcmp(val[1], "day") == 0)
		rg->rg_quota_per = 86400;
	else
		return rs_error(p, "quota: expected min, hour or day, got "
		    "\"%s\"", val[1]);
	rg->rg_quota_n = (unsigned int)n;
	return 0;
}

static int
rs_check_query(const char *q)
{
	int	 conv = 0;

	for (; *q != '\0'; q++) {
		if ((unsigned char)*q < 0x20)
			return -1;
		if (*q != '%')
			continue;
		if (q[1] == '%')
			q++;
		else if (q[1] == 's')
			conv++, q++;
		else
			return -1;
	}
	return conv == 1 ? 0 : -1;
}

/* Checks when a block ends (at the next "registry" or end of file). */
static int
rs_end_block(struct rs_parser *p)
{
	struct registry	*rg = p->p_cur;
	struct regfile	*rf = &p->p_rf;
	int		 isdef, k, npat = 0;

	if (rg == NULL)
		return 0;
	p->p_cur = NULL;
	isdef = strcmp(rg->rg_name, "default") == 0;
	for (k = 0; k < RGK_NKINDS; k++)
		npat += rg->rg_npats[k];
	if (isdef) {
		if (rg->rg_server != NULL || rg->rg_nowhois)
			return regfile_error(rf, rg->rg_line, "registry "
			    "\"default\": takes its server from IANA; no "
			    "server or no-whois");
		if (p->p_cur_ntld > 0)
			return regfile_error(rf, rg->rg_line, "registry "
			    "\"default\": has no tld");
	} else if (rg->rg_nowhois) {
		if (rg->rg_server != NULL || npat > 0 || rg->rg_nretry > 0 ||
		    rg->rg_has_referral)
			return regfile_error(rf, rg->rg_line, "registry \"%s\": "
			    "no-whois takes no server, patterns or referral",
			    rg->rg_name);
	} else if (rg->rg_server == NULL)
		return regfile_error(rf, rg->rg_line, "registry \"%s\": "
		    "missing server", rg->rg_name);
	if (!isdef && p->p_cur_ntld == 0)
		return regfile_error(rf, rg->rg_line, "registry \"%s\": "
		    "missing tld", rg->rg_name);
	for (k = 0; k < rg->rg_nchan; k++)
		if (rg->rg_chan[k] == RCH_WHOIS && (rg->rg_nowhois || isdef))
			return regfile_error(rf, rg->rg_line, "registry \"%s\": "
			    "channels names whois, which it has not",
			    rg->rg_name);
	if (rg->rg_nref_ports > 0 && !rg->rg_has_referral)
		return regfile_error(rf, rg->rg_line, "registry \"%s\": "
		    "referral_port without a referral rule", rg->rg_name);
	/*
	 * No available pattern is allowed: such a registry never answers
	 * "available", which is the safe side while its wording is unknown.
	 */
	if (!rg->rg_nowhois && rg->rg_npats[RGK_REGISTERED] == 0)
		return regfile_error(rf, rg->rg_line, "registry \"%s\": "
		    "missing registered pattern", rg->rg_name);
	if (rg->rg_query == NULL && (rg->rg_query = strdup("%s")) == NULL)
		return regfile_error(rf, rg->rg_line, "out of memory");
	return 0;
}

static int
rs_pattern_flag(struct rs_parser *p, const char *key, const char *flag,
    int *icase)
{
	*icase = 0;
	if (flag == NULL)
		return 0;
	if (strcmp(flag, "icase") == 0) {
		*icase = 1;
		return 0;
	}
	return rs_error(p, "%s: unknown flag \"%s\"", key, flag);
}

/* Append one "REGEX" [icase] to pats, which holds *npats so far. */
static int
rs_add_pattern(struct rs_parser *p, char **val, struct registry_pattern *pats,
    int *npats, int ngroups)
{
	const char	*key = p->p_kw->kw_name;
	int		 icase;

	if (rs_pattern_flag(p, key, val[1], &icase) == -1)
		return -1;
	if (*npats == REGISTRY_PATTERNS_MAX)
		return rs_error(p, "%s: more than %d patterns", key,
		    REGISTRY_PATTERNS_MAX);
	if (rs_compile(p, &pats[*npats], key, val[0], icase, ngroups) == -1)
		return -1;
	(*npats)++;
	return 0;
}

/* A classifier pattern of the kind kw_arg. */
static int
rs_set_pattern(struct rs_parser *p, char **val)
{
	struct registry	*rg = p->p_cur;
	int		 k = p->p_kw->kw_arg;

	if (rs_add_pattern(p, val, rg->rg_pats[k], &rg->rg_npats[k], 0) == -1)
		return -1;
	if (k == RGK_AVAILABLE &&
	    rs_check_traps(p, &rg->rg_pats[k][rg->rg_npats[k] - 1]) == -1)
		return -1;
	return 0;
}

/*
 * available_despite KIND...: the registry's real available reply also
 * carries a reserved or registered line (.ai prints "Domain Name:").
 */
static int
rs_set_avail_despite(struct rs_parser *p, char **val)
{
	struct registry	*rg = p->p_cur;
	int		 k;

	for (; *val != NULL; val++) {
		if (strcmp(*val, registry_kind_name(RGK_RESERVED)) == 0)
			k = RGK_RESERVED;
		else if (strcmp(*val, registry_kind_name(RGK_REGISTERED)) == 0)
			k = RGK_REGISTERED;
		else
			return rs_error(p, "available_despite: \"%s\" is not "
			    "reserved or registered", *val);
		rg->rg_avail_despite |= 1 << k;
	}
	return 0;
}

static int
rs_set_retry_after(struct rs_parser *p, char **val)
{
	struct registry	*rg = p->p_cur;

	return rs_add_pattern(p, val, rg->rg_retry, &rg->rg_nretry, 1);
}

static int
rs_set_referral(struct rs_parser *p, char **val)
{
	struct registry	*rg = p->p_cur;

	if (rg->rg_has_referral)
		return rs_error(p, "referral: given twice");
	if (strcmp(val[1], "text-only") != 0)
		return rs_error(p, "referral: unknown rule \"%s\" "
		    "(only text-only: the verdict always comes from the "
		    "registry)", val[1]);
	if (rs_compile(p, &rg->rg_referral, "referral", val[0], 0, 1) == -1)
		return -1;
	rg->rg_has_referral = 1;
	return 0;
}

/*
 * referral_port PORT...: whois is port 43; a registry whose registrars
 * really answer elsewhere lists the ports its referrals may name.
 */
static int
rs_set_referral_port(struct rs_parser *p, char **val)
{
	struct registry	*rg = p->p_cur;
	char		*end;
	long		 v;

	if (rg->rg_nref_ports > 0)
		return rs_error(p, "referral_port: given twice");
	for (; *val != NULL; val++) {
		errno = 0;
		v = strtol(*val, &end, 10);
		if (*end != '\0' || errno != 0 || v < 1 || v > 65535)
			return rs_error(p, "referral_port: bad port \"%s\"",
			    *val);
		rg->rg_ref_ports[rg->rg_nref_ports++] = (int)v;
	}
	return 0;
}

/* Close the block being read, then open a new one named val[0]. */
static int
rs_set_registry(struct rs_parser *p, char **val)
{
	struct registries	*rs = p->p_rs;
	struct registry		*rg, **regs;
	size_t			 i;

	if (rs_end_block(p) == -1)
		return -1;
	for (i = 0; val[0][i] != '\0'; i++)
		if (!isalnum((unsigned char)val[0][i]) &&
		    strchr("-_.", val[0][i]) == NULL)
			return rs_error(p, "registry: bad name "
			    "\"%s\"", val[0]);
	if (i == 0 || i > 64)
		return rs_error(p, "registry: bad name");
	/* "rdap:" and "dns:" begin the rules of those channels' verdicts. */
	if (strcmp(val[0], "rdap") == 0 || strcmp(val[0], "dns") == 0)
		return rs_error(p, "registry: \"%s\" is reserved", val[0]);
	if (registries_find(rs, val[0]) != NULL)
		return rs_error(p, "duplicate registry \"%s\"",
		    val[0]);
	if ((rg = calloc(1, sizeof(*rg))) == NULL ||
	    (rg->rg_name = strdup(val[0])) == NULL) {
		free(rg);
		return rs_error(p, "out of memory");
	}
	rg->rg_port = 43;
	rg->rg_rate_n = 1;
	rg->rg_rate_per = 1;
	rg->rg_line = p->p_rf.rf_line;
	regs = realloc(rs->rs_regs, (rs->rs_nregs + 1) * sizeof(*regs));
	if (regs == NULL) {
		rs_registry_free(rg);
		return rs_error(p, "out of memory");
	}
	rs->rs_regs = regs;
	rs->rs_regs[rs->rs_nregs++] = rg;
	if (strcmp(rg->rg_name, "default") == 0)
		rs->rs_default = rg;
	p->p_cur = rg;
	p->p_cur_ntld = 0;
	return 0;
}

static int
rs_set_iana(struct rs_parser *p, char **val)
{
	struct registries	*rs = p->p_rs;
	char			 hbuf[NAME_ACE_BUF];
	int			 port;

	if (registries_check_host(val[0], NULL, hbuf, sizeof(hbuf), &port,
	    NULL, 0) == -1)
		return rs_error(p, "iana: bad server \"%s\"",
		    val[0]);
	free(rs->rs_iana);
	if ((rs->rs_iana = strdup(hbuf)) == NULL)
		return rs_error(p, "out of memory");
	rs->rs_iana_port = port;
	return 0;
}

static int
rs_set_server(struct rs_parser *p, char **val)
{
	struct registry	*rg = p->p_cur;
	size_t		 i;

	if (rg->rg_server != NULL)
		return rs_error(p, "server: given twice");
	for (i = 0; val[0][i] != '\0'; i++)
		val[0][i] = (char)tolower((unsigned char)val[0][i]);
	if (!rs_valid_hostname(val[0]))
		return rs_error(p, "server: bad host name \"%s\"",
		    val[0]);
	if ((rg->rg_server = strdup(val[0])) == NULL)
		return rs_error(p, "out of memory");
	return 0;
}

static int
rs_set_port(struct rs_parser *p, char **val)
{
	char	*end;
	long	 v;

	errno = 0;
	v = strtol(val[0], &end, 10);
	if (*end != '\0' || errno != 0 || v < 1 || v > 65535)
		return rs_error(p, "port: bad port \"%s\"", val[0]);
	p->p_cur->rg_port = (int)v;
	return 0;
}

static int
rs_set_query(struct rs_parser *p, char **val)
{
	struct registry	*rg = p->p_cur;

	if (rg->rg_query != NULL)
		return rs_error(p, "query: given twice");
	if (rs_check_query(val[0]) == -1 ||
	    strlen(val[0]) > REGISTRY_QUERY_MAX - NAME_ACE_BUF - 3)
		return rs_error(p, "query: \"%s\" needs exactly "
		    "one %%s (and %%%% for a percent sign)", val[0]);
	if ((rg->rg_query = strdup(val[0])) == NULL)
		return rs_error(p, "out of memory");
	return 0;
}

static int
rs_set_charset(struct rs_parser *p, char **val)
{
	if (strcasecmp(val[0], "utf-8") == 0 || strcasecmp(val[0], "utf8") == 0)
		p->p_cur->rg_charset = RGC_UTF8;
	else if (strcasecmp(val[0], "iso-8859-1") == 0 ||
	    strcasecmp(val[0], "latin1") == 0)
		p->p_cur->rg_charset = RGC_LATIN1;
	else
		return rs_error(p, "charset: \"%s\" is not utf-8 "
		    "or iso-8859-1", val[0]);
	return 0;
}

static int
rs_set_nowhois(struct rs_parser *p, char **val)
{
	(void)val;
	p->p_cur->rg_nowhois = 1;
	return 0;
}

/* "dns yes|no": may a delegation in the TLD's DNS answer registered? */
static int
rs_set_dns(struct rs_parser *p, char **val)
{
	if (strcmp(val[0], "yes") == 0)
		p->p_cur->rg_dns_off = 0;
	else if (strcmp(val[0], "no") == 0)
		p->p_cur->rg_dns_off = 1;
	else
		return rs_error(p, "dns: expected yes or no, got \"%s\"",
		    val[0]);
	return 0;
}

static int
rs_set_tld(struct rs_parser *p, char **val)
{
	p->p_cur_ntld++;
	return suffix_tld(p->p_rs->rs_sfx, &p->p_rf, val, p->p_cur);
}

/*
 * Every key of the file.  The pattern kinds come first, at their enum
 * index, so registry_kind_name() reads its names from here too.
 */
static const struct rs_keyword rs_keywords[] = {
	[RGK_THROTTLE] =
	{ "throttle",	 1, 2, RS_BLOCK, rs_set_pattern, RGK_THROTTLE },
	[RGK_ERROR] =
	{ "error",	 1, 2, RS_BLOCK, rs_set_pattern, RGK_ERROR },
	[RGK_AVAILABLE] =
	{ "available",	 1, 2, RS_BLOCK, rs_set_pattern, RGK_AVAILABLE },
	[RGK_RESERVED] =
	{ "reserved",	 1, 2, RS_BLOCK, rs_set_pattern, RGK_RESERVED },
	[RGK_REGISTERED] =
	{ "registered",	 1, 2, RS_BLOCK, rs_set_pattern, RGK_REGISTERED },
	{ "available_despite", 1, 2, RS_BLOCK, rs_set_avail_despite, 0 },
	{ "registry",	 1, 1, RS_TOP | RS_BLOCK, rs_set_registry, 0 },
	{ "iana",	 1, 1, RS_TOP, rs_set_iana, 0 },
	{ "server",	 1, 1, RS_BLOCK, rs_set_server, 0 },
	{ "port",	 1, 1, RS_BLOCK, rs_set_port, 0 },
	{ "query",	 1, 1, RS_BLOCK, rs_set_query, 0 },
	{ "charset",	 1, 1, RS_BLOCK, rs_set_charset, 0 },
	{ "no-whois",	 0, 0, RS_BLOCK, rs_set_nowhois, 0 },
	{ "retry_after", 1, 2, RS_BLOCK, rs_set_retry_after, 0 },
	{ "referral",	 2, 2, RS_BLOCK, rs_set_referral, 0 },
	{ "referral_port", 1, REGISTRY_REF_PORTS_MAX, RS_BLOCK,
	    rs_set_referral_port, 0 },
	{ "rate",	 1, 1, RS_BLOCK, rs_set_rate, 0 },
	{ "dns",	 1, 1, RS_BLOCK, rs_set_dns, 0 },
	{ "quota",	 2, 2, RS_BLOCK, rs_set_quota, 0 },
	{ "rdap",	 1, 1, RS_BLOCK, rs_set_rdap, 0 },
	{ "rdap_404",	 1, 1, RS_BLOCK, rs_set_rdap_404, 0 },
	{ "rdap_rate",	 1, 1, RS_BLOCK, rs_set_rdap_rate, 0 },
	{ "channels",	 1, REGISTRY_CHANNELS_MAX, RS_BLOCK, rs_set_channels, 0 },
	/* The tokenizer's cap bounds a tld line. */
	{ "tld",	 1, REGFILE_TOKENS_MAX, RS_BLOCK, rs_set_tld, 0 },
};

const char *
registry_kind_name(enum registry_kind k)
{
	if ((int)k < 0 || k >= RGK_NKINDS)
		return "?";
	return rs_keywords[k].kw_name;
}

static const struct rs_keyword *
rs_keyword_find(const char *name)
{
	size_t	 i;

	for (i = 0; i < sizeof(rs_keywords) / sizeof(rs_keywords[0]); i++)
		if (strcmp(rs_keywords[i].kw_name, name) == 0)
			return &rs_keywords[i];
	return NULL;
}

/* Is the key allowed here (before or inside a block), with its values? */
static int
rs_keyword_check(struct rs_parser *p, const struct rs_keyword *kw, int nval)
{
	if (p->p_cur == NULL && !(kw->kw_where & RS_TOP))
		return rs_error(p, "%s: outside a registry block",
		    kw->kw_name);
	if (p->p_cur != NULL && !(kw->kw_where & RS_BLOCK))
		return rs_error(p, "%s: must come before the first "
		    "registry block", kw->kw_name);
	if (nval < kw->kw_min)
		return rs_error(p, "%s: missing value",
		    kw->kw_name);
	if (nval > kw->kw_max)
		return rs_error(p, "%s: too many values",
		    kw->kw_name);
	return 0;
}

static int
rs_line(void *arg, char **tok, int n)
{
	struct rs_parser	*p = arg;
	const struct rs_keyword	*kw;

	if ((kw = rs_keyword_find(tok[0])) == NULL)
		return rs_error(p, "unknown key \"%s\"", tok[0]);
	if (rs_keyword_check(p, kw, n - 1) == -1)
		return -1;
	p->p_kw = kw;
	return kw->kw_set(p, tok + 1);
}

/* End of file: close the last block, sort the suffixes, default iana. */
static int
rs_finish(struct rs_parser *p)
{
	struct registries	*rs = p->p_rs;

	if (rs_end_block(p) == -1 || suffix_finish(rs->rs_sfx, &p->p_rf) == -1)
		return -1;
	if (rs->rs_iana == NULL) {
		if ((rs->rs_iana = strdup("whois.iana.org")) == NULL)
			return rs_error(p, "out of memory");
		rs->rs_iana_port = 43;
	}
	return 0;
}

/* The file at path, or text when path is NULL. */
static struct registries *
rs_read(const char *path, const char *text, size_t len, const char *fname,
    char *err, size_t errlen)
{
	struct rs_parser	 p;
	struct registries	*rs;

	memset(&p, 0, sizeof(p));
	regfile_init(&p.p_rf, fname, err, errlen);
	if ((rs = calloc(1, sizeof(*rs))) == NULL ||
	    (rs->rs_sfx = suffix_new()) == NULL) {
		free(rs);
		regfile_error(&p.p_rf, 0, "out of memory");
		return NULL;
	}
	p.p_rs = rs;
	if (regfile_parse(&p.p_rf, path, text, len, rs_line, &p) == -1 ||
	    rs_finish(&p) == -1) {
		registries_free(rs);
		return NULL;
	}
	return rs;
}

struct registries *
registries_parse(const char *text, size_t len, const char *fname, char *err,
    size_t errlen)
{
	return rs_read(NULL, text, len, fname, err, errlen);
}

struct registries *
registries_load(const char *path, char *err, size_t errlen)
{
	return rs_read(path, NULL, 0, path, err, errlen);
}

size_t
registries_count(const struct registries *rs)
{
	return rs->rs_nregs;
}

const struct registry *
registries_get(const struct registries *rs, size_t i)
{
	return i < rs->rs_nregs ? rs->rs_regs[i] : NULL;
}

const struct registry *
registries_find(const struct registries *rs, const char *name)
{
	size_t	 i;

	for (i = 0; i < rs->rs_nregs; i++)
		if (strcmp(rs->rs_regs[i]->rg_name, name) == 0)
			return rs->rs_regs[i];
	return NULL;
}

const char *
registries_suffix(const struct registries *rs, size_t i,
    const struct registry **rg)
{
	const void	*data;
	const char	*sfx;

	if ((sfx = suffix_get(rs->rs_sfx, i, &data)) != NULL && rg != NULL)
		*rg = data;
	return sfx;
}

const struct registry *
registries_default(const struct registries *rs)
{
	return rs->rs_default;
}

const char *
registries_iana_server(const struct registries *rs, int *port)
{
	if (port != NULL)
		*port = rs->rs_iana_port;
	return rs->rs_iana;
}

int
registries_lookup(const struct registries *rs, const char *ace,
    struct registry_match *m)
{
	struct suffix_match	 sm;
	int			 rc;

	rc = suffix_lookup(rs->rs_sfx, ace, &sm);
	m->rm_reg = sm.sm_data;
	memcpy(m->rm_suffix, sm.sm_suffix, sizeof(m->rm_suffix));
	memcpy(m->rm_registrable, sm.sm_registrable,
	    sizeof(m->rm_registrable));
	m->rm_below = sm.sm_below;
	return rc;
}

int
registry_query(const struct registry *rg, const char *ace, char *buf,
    size_t buflen)
{
	const char	*q;
	size_t		 n = 0, alen = strlen(ace);

	for (q = rg->rg_query; *q != '\0'; q++) {
		if (q[0] == '%' && q[1] == 's') {
			if (n + alen >= buflen)
				return -1;
			memcpy(buf + n, ace, alen);
			n += alen;
			q++;
			continue;
		}
		if (q[0] == '%' && q[1] == '%')
			q++;
		if (n + 1 >= buflen)
			return -1;
		buf[n++] = *q;
	}
	if (n + 3 > buflen)
		return -1;
	memcpy(buf + n, "\r\n", 3);
	return (int)(n + 2);
}

double
registry_rate(const struct registry *rg)
{
	if (rg->rg_rate_n == 0 || rg->rg_rate_per == 0)
		return 1.0;
	return (double)rg->rg_rate_n / rg->rg_rate_per;
}

double
registry_rdap_rate(const struct registry *rg)
{
	if (!rg->rg_rdap_rate_set || rg->rg_rdap_rate_per == 0)
		return registry_rate(rg);
	return (double)rg->rg_rdap_rate_n / rg->rg_rdap_rate_per;
}

int
registry_channels(const struct registry *rg, int has_rdap, int *out)
{
	int	i, n = 0;

	if (rg->rg_nchan > 0) {
		for (i = 0; i < rg->rg_nchan; i++)
			if (rg->rg_chan[i] != RCH_RDAP || has_rdap)
				out[n++] = rg->rg_chan[i];
		return n;
	}
	if (rg->rg_rdap != NULL && has_rdap)
		out[n++] = RCH_RDAP;
	if (!rg->rg_nowhois)
		out[n++] = RCH_WHOIS;
	if (has_rdap && rg->rg_rdap == NULL)
		out[n++] = RCH_RDAP;
	return n;
}

int
registry_retry_after(const struct registry *rg, const char *text)
{
	regmatch_t	 m[2];
	long		 v;
	int		 i, d, utf8 = registry_text_utf8(text);
	regoff_t	 o;

	for (i = 0; i < rg->rg_nretry; i++) {
		if (registry_regexec(&rg->rg_retry[i], text, utf8, 2, m) != 0 ||
		    m[1].rm_so < 0)
			continue;
		v = 0;
		d = 0;
		for (o = m[1].rm_so; o < m[1].rm_eo; o++) {
			if (!isdigit((unsigned char)text[o]))
				break;
			if (v < RS_RETRY_MAX)
				v = v * 10 + (text[o] - '0');
			d++;
		}
		if (d == 0)
			continue;
		if (v < 1)
			v = 1;
		if (v > RS_RETRY_MAX)
			v = RS_RETRY_MAX;
		return (int)v;
	}
	return -1;
}

static int
rs_ip4_refused(const struct in_addr *a)
{
	uint32_t	 ip = ntohl(a->s_addr);

	return (ip >> 24) == 0 ||		/* 0/8 "this network" */
	    (ip >> 24) == 10 ||			/* 10/8 */
	    (ip >> 24) == 127 ||		/* loopback */
	    (ip >> 22) == (100u << 2 | 1) ||	/* 100.64/10 CGNAT */
	    (ip >> 16) == (169u << 8 | 254) ||	/* link-local */
	    (ip >> 20) == (172u << 4 | 1) ||	/* 172.16/12 */
	    (ip >> 16) == (192u << 8 | 168) ||	/* 192.168/16 */
	    (ip >> 8) == (192u << 16 | 0 << 8 | 0) ||	/* 192.0.0/24 */
	    (ip >> 17) == (198u << 7 | 18 >> 1) ||	/* 198.18/15 */
	    (ip >> 28) >= 14;			/* multicast, reserved */
}

static int
rs_ip6_refused(const struct in6_addr *a)
{
	static const unsigned char	 zero[16];
	const unsigned char		*b = a->s6_addr;
	struct in_addr			 v4;

	if (memcmp(b, zero, 15) == 0 && (b[15] == 0 || b[15] == 1))
		return 1;			/* :: and ::1 */
	if (b[0] == 0xff)
		return 1;			/* multicast */
	if ((b[0] & 0xfe) == 0xfc)
		return 1;			/* fc00::/7 unique local */
	if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80)
		return 1;			/* fe80::/10 link-local */
	if (b[0] == 0xfe && (b[1] & 0xc0) == 0xc0)
		return 1;			/* fec0::/10 site-local */
	if (memcmp(b, zero, 10) == 0 && b[10] == 0xff && b[11] == 0xff) {
		memcpy(&v4.s_addr, b + 12, 4);	/* ::ffff:a.b.c.d */
		return rs_ip4_refused(&v4);
	}
	if (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x0d && b[3] == 0xb8)
		return 1;			/* documentation */
	return 0;
}

static int
rs_host_error(char *err, size_t errlen, const char *fmt, const char *arg)
{
	if (err != NULL && errlen > 0)
		snprintf(err, errlen, fmt, arg);
	return -1;
}

/* rs_host_error() for the steps that return a pointer. */
static char *
rs_host_null(char *err, size_t errlen, const char *fmt, const char *arg)
{
	rs_host_error(err, errlen, fmt, arg);
	return NULL;
}

static int
rs_ends_with(const char *s, const char *suffix)
{
	size_t	 a = strlen(s), b = strlen(suffix);

	return a >= b && strcmp(s + a - b, suffix) == 0;
}

/* The value without surrounding blanks, copied into buf. */
static int
rs_host_copy(const char *value, char *buf, size_t bufsz, char *err,
    size_t errlen)
{
	const char	*v = value != NULL ? value : "";
	size_t		 len;

	while (*v == ' ' || *v == '\t')
		v++;
	len = strlen(v);
	while (len > 0 && (v[len - 1] == ' ' || v[len - 1] == '\t'))
		len--;
	if (len == 0)
		return rs_host_error(err, errlen, "empty referral%s", "");
	if (len >= bufsz)
		return rs_host_error(err, errlen, "referral too long%s", "");
	memcpy(buf, v, len);
	buf[len] = '\0';
	return 0;
}

/*
 * Cut buf down to the host: drop a URL's scheme and path, the brackets of
 * an IPv6 literal and a port (stored in *port).  The host, or NULL.
 */
static char *
rs_host_split(char *buf, const char *value, int *bracket, int *port,
    char *err, size_t errlen)
{
	char	*h = buf, *e, *c;
	long	 pv;

	/* URL shape: scheme://host[:port][/path] */
	if ((e = strstr(h, "://")) != NULL) {
		for (c = h; c < e; c++)
			if (!isalpha((unsigned char)*c))
				return rs_host_null(err, errlen,
				    "malformed referral \"%s\"", value);
		h = e + 3;
	}
	if ((e = strpbrk(h, "/?#")) != NULL)
		*e = '\0';
	if (strchr(h, '@') != NULL)
		return rs_host_null(err, errlen, "referral with user info "
		    "\"%s\"", value);
	if (*h == '[') {
		if ((e = strchr(h, ']')) == NULL)
			return rs_host_null(err, errlen, "malformed referral "
			    "\"%s\"", value);
		*e++ = '\0';
		h++;
		*bracket = 1;
		c = *e == ':' ? e : NULL;
		if (*e != '\0' && *e != ':')
			return rs_host_null(err, errlen, "malformed referral "
			    "\"%s\"", value);
	} else if ((c = strchr(h, ':')) != NULL && strchr(c + 1, ':') != NULL)
		c = NULL;		/* bare IPv6 literal, no port */
	if (c != NULL) {
		*c++ = '\0';
		errno = 0;
		pv = strtol(c, &e, 10);
		if (*c == '\0' || *e != '\0' || errno != 0 || pv < 1 ||
		    pv > 65535)
			return rs_host_null(err, errlen, "bad port in referral "
			    "\"%s\"", value);
		if (port != NULL)
			*port = (int)pv;
	}
	return h;
}

/* A host name (not an address) that is numeric-looking or local. */
static int
rs_host_name_refused(const char *h, char *err, size_t errlen)
{
	static const char *const local_suffixes[] = {
		".localhost", ".local", ".localdomain", ".internal", ".lan",
		".home.arpa", ".intranet", ".corp", ".home",
	};
	const char	*e, *c;
	size_t		 i;

	if (!rs_valid_hostname(h))
		return rs_host_error(err, errlen, "bad referral host \"%s\"",
		    h);
	e = strrchr(h, '.');
	for (c = e + 1; *c != '\0' && isdigit((unsigned char)*c); c++)
		;
	if (*c == '\0' || strncmp(e + 1, "0x", 2) == 0)
		return rs_host_error(err, errlen, "odd numeric referral "
		    "\"%s\"", h);
	if (strcmp(h, "localhost") == 0)
		return rs_host_error(err, errlen, "referral to a local name "
		    "\"%s\"", h);
	for (i = 0; i < sizeof(local_suffixes) / sizeof(local_suffixes[0]);
	    i++)
		if (rs_ends_with(h, local_suffixes[i]) ||
		    strcmp(h, local_suffixes[i] + 1) == 0)
			return rs_host_error(err, errlen, "referral to a local "
			    "name \"%s\"", h);
	return 0;
}

/* The lower-case host h: an address in a refused range, or a bad name. */
static int
rs_host_refused(const char *h, int bracket, const char *value, char *err,
    size_t errlen)
{
	struct in_addr	 a4;
	struct in6_addr	 a6;

	if (inet_pton(AF_INET6, h, &a6) == 1) {
		if (rs_ip6_refused(&a6))
			return rs_host_error(err, errlen, "referral to a "
			    "private or local address \"%s\"", h);
		return 0;
	}
	if (bracket)
		return rs_host_error(err, errlen, "malformed referral \"%s\"",
		    value);
	if (inet_aton(h, &a4) == 1) {
		/* inet_aton also reads "127.1" and "2130706433". */
		if (rs_ip4_refused(&a4))
			return rs_host_error(err, errlen, "referral to a "
			    "private or local address \"%s\"", h);
		if (inet_pton(AF_INET, h, &a4) != 1)
			return rs_host_error(err, errlen, "odd numeric "
			    "referral \"%s\"", h);
		return 0;
	}
	return rs_host_name_refused(h, err, errlen);
}

int
registries_check_host(const char *value, const char *server, char *host,
    size_t hostlen, int *port, char *err, size_t errlen)
{
	char	 buf[NAME_ACE_BUF + 16], *h;
	size_t	 len, i;
	int	 bracket = 0;

	if (host != NULL && hostlen > 0)
		host[0] = '\0';
	if (port != NULL)
		*port = 43;
	if (rs_host_copy(value, buf, sizeof(buf), err, errlen) == -1 ||
	    (h = rs_host_split(buf, value, &bracket, port, err,
	    errlen)) == NULL)
		return -1;
	len = strlen(h);
	if (len > 0 && h[len - 1] == '.' && !bracket)
		h[--len] = '\0';
	if (len == 0)
		return rs_host_error(err, errlen, "empty referral host%s", "");
	for (i = 0; i < len; i++)
		h[i] = (char)tolower((unsigned char)h[i]);
	if (rs_host_refused(h, bracket, value, err, errlen) == -1)
		return -1;
	if (server != NULL) {
		len = strlen(server);
		if (len > 0 && server[len - 1] == '.')
			len--;
		if (strlen(h) == len && strncasecmp(h, server, len) == 0)
			return rs_host_error(err, errlen, "referral back to the "
			    "registry itself \"%s\"", h);
	}
	if (host != NULL) {
		if (strlen(h) >= hostlen)
			return rs_host_error(err, errlen, "referral host too "
			    "long%s", "");
		memcpy(host, h, strlen(h) + 1);
	}
	return 0;
}

int
registry_referral(const struct registry *rg, const char *text,
    const char *server, char *host, size_t hostlen, int *port, char *err,
    size_t errlen)
{
	regmatch_t	 m[2];
	char		 val[NAME_ACE_BUF + 64];
	size_t		 n;
	int		 i, p;

	if (!rg->rg_has_referral)
		return rs_host_error(err, errlen, "no referral rule%s", "");
	if (registry_regexec(&rg->rg_referral, text,
	    registry_text_utf8(text), 2, m) != 0 ||
	    m[1].rm_so < 0)
		return rs_host_error(err, errlen, "no referral in reply%s", "");
	n = (size_t)(m[1].rm_eo - m[1].rm_so);
	if (n >= sizeof(val))
		return rs_host_error(err, errlen, "referral too long%s", "");
	memcpy(val, text + m[1].rm_so, n);
	val[n] = '\0';
	if (registries_check_host(val, server != NULL ? server :
	    rg->rg_server, host, hostlen, &p, err, errlen) == -1)
		return -1;
	if (port != NULL)
		*port = p;
	if (p == 43)
		return 0;
	for (i = 0; i < rg->rg_nref_ports; i++)
		if (rg->rg_ref_ports[i] == p)
			return 0;
	/* A reply must not steer whoisd-query to any service on a host. */
	if (host != NULL && hostlen > 0)
		host[0] = '\0';
	if (err != NULL && errlen > 0)
		snprintf(err, errlen, "referral to port %d, not 43", p);
	return -1;
}
