/*
 * data.c — the simulator's data file: which names are registered,
 * reserved or free, and per-registry latency, rate limits and faults.
 *
 *   # comment
 *   registered example.com www.example.net     STATUS NAME-OR-GLOB...
 *   reserved nic.de
 *   available free-name.com
 *   registered *.org                           fnmatch(3) glob
 *   registered-thin *.net                      STATUS-VARIANT: that template
 *   latency de 200                             TLD|* LATENCY (ms)
 *   latency uk uniform:20:80
 *   ratelimit uk 5/s                           TLD|* N/s|N/m|N/h|N/Ts
 *   fault de timeout 10%                       TLD|* KIND [PERCENT%]
 *
 * Names are looked up exactly first, then against the globs in file
 * order; the first match wins.  A name no rule matches gets the default
 * rule (rs_data_classify).  docs/regsim.md has the full description.
 */
#include <ctype.h>
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "tests/regsim/regsim.h"

static void
rule_free(void *p)
{
	struct rule	*ru = p;

	free(ru->ru_pattern);
	free(ru->ru_variant);
	free(ru);
}

struct tldopt *
rs_tldopts_get(struct tldopts *tos, const char *tld)
{
	struct tldopt	*to;
	int		 i;

	for (i = 0; i < tos->tos_n; i++)
		if (strcmp(tos->tos_v[i].to_tld, tld) == 0)
			return &tos->tos_v[i];
	tos->tos_v = xrealloc(tos->tos_v, (tos->tos_n + 1) *
	    sizeof(*tos->tos_v));
	to = &tos->tos_v[tos->tos_n++];
	memset(to, 0, sizeof(*to));
	to->to_tld = xstrdup(tld);
	return to;
}

const struct tldopt *
rs_tldopts_find(const struct tldopts *tos, const char *tld)
{
	int	i;

	for (i = 0; i < tos->tos_n; i++)
		if (strcmp(tos->tos_v[i].to_tld, tld) == 0)
			return &tos->tos_v[i];
	return NULL;
}

void
rs_tldopts_free(struct tldopts *tos)
{
	int	i;

	for (i = 0; i < tos->tos_n; i++)
		free(tos->tos_v[i].to_tld);
	free(tos->tos_v);
	tos->tos_v = NULL;
	tos->tos_n = 0;
}

static void
lower(char *s)
{
	for (; *s != '\0'; s++)
		*s = tolower((unsigned char)*s);
}

static int
data_line(struct data *da, char **w, int nw, char *err, size_t errlen)
{
	struct tldopt	*to;
	struct rule	*ru;
	struct strmap_entry *e;
	char		*end;
	long		 pct;
	int		 st, f, i;

	if (strcmp(w[0], "latency") == 0) {
		if (nw != 3) {
			snprintf(err, errlen, "latency: want TLD LATENCY");
			return -1;
		}
		to = rs_tldopts_get(&da->da_opts, w[1]);
		if (rs_latency_parse(w[2], &to->to_latency, err, errlen) == -1)
			return -1;
		to->to_has_latency = 1;
		return 0;
	}
	if (strcmp(w[0], "ratelimit") == 0) {
		if (nw != 3) {
			snprintf(err, errlen, "ratelimit: want TLD N/s");
			return -1;
		}
		to = rs_tldopts_get(&da->da_opts, w[1]);
		if (rs_rate_parse(w[2], &to->to_rate_n, &to->to_rate_window,
		    err, errlen) == -1)
			return -1;
		to->to_has_rate = 1;
		return 0;
	}
	if (strcmp(w[0], "fault") == 0) {
		if (nw != 3 && nw != 4) {
			snprintf(err, errlen,
			    "fault: want TLD KIND [PERCENT%%]");
			return -1;
		}
		if ((f = rs_fault_parse(w[2])) == -1) {
			snprintf(err, errlen, "fault: unknown kind \"%s\" "
			    "(none, timeout, reset, garbage, drip, empty, big)",
			    w[2]);
			return -1;
		}
		pct = 100;
		if (nw == 4) {
			errno = 0;
			pct = strtol(w[3], &end, 10);
			if (end == w[3] || errno != 0 || pct < 0 || pct > 100 ||
			    (*end != '%' && *end != '\0') ||
			    (*end == '%' && end[1] != '\0')) {
				snprintf(err, errlen, "fault: bad percentage "
				    "\"%s\"", w[3]);
				return -1;
			}
		}
		to = rs_tldopts_get(&da->da_opts, w[1]);
		to->to_has_fault = 1;
		to->to_fault = f;
		to->to_fault_pct = (int)pct;
		return 0;
	}
	if ((st = rs_status_parse(w[0], strlen(w[0]))) == -1) {
		snprintf(err, errlen, "unknown directive \"%s\"", w[0]);
		return -1;
	}
	if (nw < 2) {
		snprintf(err, errlen, "%s: want one or more names or globs",
		    w[0]);
		return -1;
	}
	for (i = 1; i < nw; i++) {
		ru = xcalloc(1, sizeof(*ru));
		ru->ru_pattern = xstrdup(w[i]);
		ru->ru_status = st;
		if (strcmp(w[0], rs_status_name(st)) != 0)
			ru->ru_variant = xstrdup(w[0]);
		ru->ru_glob = strpbrk(w[i], "*?[") != NULL;
		if (ru->ru_glob) {
			da->da_rules = xrealloc(da->da_rules,
			    (da->da_nrules + 1) * sizeof(*da->da_rules));
			da->da_rules[da->da_nrules++] = *ru;
			free(ru);
			continue;
		}
		/* An exact name listed twice: the last line wins. */
		e = rs_strmap_add(&da->da_exact, ru->ru_pattern, NULL);
		if (e->se_ptr != NULL)
			rule_free(e->se_ptr);
		e->se_ptr = ru;
	}
	return 0;
}

/*
 * Read path into da.  On error da is left as it was and err holds
 * "path:line: message".
 */
int
rs_data_load(struct data *da, const char *path, char *err, size_t errlen)
{
	struct data	 nd;
	FILE		*fp;
	char		*line = NULL, *p, *w[64], e[256];
	size_t		 cap = 0;
	ssize_t		 n;
	int		 lineno = 0, nw;

	if ((fp = fopen(path, "r")) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	memset(&nd, 0, sizeof(nd));
	rs_strmap_init(&nd.da_exact);
	while ((n = getline(&line, &cap, fp)) != -1) {
		lineno++;
		if ((p = strchr(line, '#')) != NULL)
			*p = '\0';
		lower(line);
		nw = 0;
		for (p = strtok(line, " \t\r\n"); p != NULL;
		    p = strtok(NULL, " \t\r\n")) {
			if (nw == (int)nitems(w)) {
				snprintf(err, errlen, "%s:%d: too many words",
				    path, lineno);
				goto fail;
			}
			w[nw++] = p;
		}
		if (nw == 0)
			continue;
		if (data_line(&nd, w, nw, e, sizeof(e)) == -1) {
			snprintf(err, errlen, "%s:%d: %s", path, lineno, e);
			goto fail;
		}
	}
	if (ferror(fp)) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto fail;
	}
	free(line);
	fclose(fp);
	nd.da_path = xstrdup(path);
	rs_data_free(da);
	*da = nd;
	return 0;
fail:
	free(line);
	fclose(fp);
	rs_data_free(&nd);
	return -1;
}

void
rs_data_free(struct data *da)
{
	int	i;

	for (i = 0; i < da->da_nrules; i++) {
		free(da->da_rules[i].ru_pattern);
		free(da->da_rules[i].ru_variant);
	}
	free(da->da_rules);
	if (da->da_exact.sm_tab != NULL)
		rs_strmap_free(&da->da_exact, rule_free);
	rs_tldopts_free(&da->da_opts);
	free(da->da_path);
	memset(da, 0, sizeof(*da));
}

static int
label_starts(const char *name, const char *prefix)
{
	return strncmp(name, prefix, strlen(prefix)) == 0;
}

/*
 * What name is: the data file's rules first (da may be NULL), then the
 * default rule on the first label: free* and avail* are available,
 * reserved* reserved, throttled* throttled, error* an error answer,
 * unknown* the registry's unknown-*.txt, anything else registered.
 * *variant names a template, or is NULL.
 */
enum rs_status
rs_data_classify(const struct data *da, const char *name, const char **variant)
{
	const struct strmap_entry	*e;
	const struct rule		*ru;
	int				 i;

	*variant = NULL;
	if (da != NULL && da->da_exact.sm_tab != NULL) {
		if ((e = rs_strmap_get(&da->da_exact, name)) != NULL) {
			ru = e->se_ptr;
			*variant = ru->ru_variant;
			return ru->ru_status;
		}
		for (i = 0; i < da->da_nrules; i++) {
			ru = &da->da_rules[i];
			if (fnmatch(ru->ru_pattern, name, 0) == 0) {
				*variant = ru->ru_variant;
				return ru->ru_status;
			}
		}
	}
	if (label_starts(name, "free") || label_starts(name, "avail"))
		return RS_AVAILABLE;
	if (label_starts(name, "reserved"))
		return RS_RESERVED;
	if (label_starts(name, "throttled"))
		return RS_THROTTLED;
	if (label_starts(name, "error"))
		return RS_ERROR;
	if (label_starts(name, "unknown"))
		return RS_UNKNOWN;
	return RS_REGISTERED;
}
