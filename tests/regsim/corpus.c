/*
 * corpus.c — the registries' reply templates.
 *
 * Layout: DIR/<tld>/<case>.txt, where <case> starts with the status it
 * answers (available, registered, reserved, throttled, error, unknown), e.g.
 * tests/corpus/de/available.txt or tests/corpus/com/registered-thin.txt.
 * trap-*.txt files (texts that must not fool a classifier) and files that
 * start with no status are not answers and are skipped.  Placeholders:
 * {{domain}}, {{DOMAIN}} (upper case) and {{seconds}}.
 */
#include <sys/stat.h>

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>

#include "common/log.h"
#include "common/util.h"
#include "tests/regsim/regsim.h"

#define TMPL_MAX	(1024 * 1024)

static int
tmpl_cmp(const void *a, const void *b)
{
	return strcmp(((const struct tmpl *)a)->t_name,
	    ((const struct tmpl *)b)->t_name);
}

static int
registry_cmp(const void *a, const void *b)
{
	return strcmp(((const struct registry *)a)->rg_tld,
	    ((const struct registry *)b)->rg_tld);
}

static int
corpus_readfile(int dfd, const char *fname, char **text, size_t *len,
    char *err, size_t errlen)
{
	struct stat	 st;
	char		*buf;
	size_t		 off;
	int		 fd;

	if ((fd = openat(dfd, fname, O_RDONLY | O_CLOEXEC)) == -1) {
		snprintf(err, errlen, "%s: %s", fname, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1 || st.st_size > TMPL_MAX) {
		snprintf(err, errlen, "%s: unreadable or larger than %d bytes",
		    fname, TMPL_MAX);
		close(fd);
		return -1;
	}
	buf = xmalloc((size_t)st.st_size + 1);
	off = fd_read_full(fd, buf, (size_t)st.st_size);
	close(fd);
	buf[off] = '\0';
	*text = buf;
	*len = off;
	return 0;
}

/* Load one registry folder; 0 with rg_ntmpl possibly 0, or -1. */
static int
corpus_load_tld(struct registry *rg, int dirfd, const char *tld, char *err,
    size_t errlen)
{
	DIR		*d;
	struct dirent	*de;
	struct tmpl	*t;
	size_t		 l;
	int		 fd, st, cap = 0;
	char		 e[400];

	if ((fd = openat(dirfd, tld, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) ==
	    -1 || (d = fdopendir(fd)) == NULL) {
		snprintf(err, errlen, "%s: %s", tld, strerror(errno));
		if (fd != -1)
			close(fd);
		return -1;
	}
	rg->rg_tld = xstrdup(tld);
	for (l = 0; rg->rg_tld[l] != '\0'; l++)
		rg->rg_tld[l] = tolower((unsigned char)rg->rg_tld[l]);
	while ((de = readdir(d)) != NULL) {
		l = strlen(de->d_name);
		if (de->d_name[0] == '.' || l <= 4 ||
		    strcmp(de->d_name + l - 4, ".txt") != 0)
			continue;
		if (strncmp(de->d_name, "trap-", 5) == 0)
			continue;
		if ((st = rs_status_parse(de->d_name, l - 4)) == -1) {
			log_debug("corpus: %s/%s: no status, skipped", tld,
			    de->d_name);
			continue;
		}
		if (rg->rg_ntmpl == cap) {
			cap = cap ? cap * 2 : 8;
			rg->rg_tmpl = xrealloc(rg->rg_tmpl,
			    cap * sizeof(*rg->rg_tmpl));
		}
		t = &rg->rg_tmpl[rg->rg_ntmpl];
		memset(t, 0, sizeof(*t));
		if (corpus_readfile(fd, de->d_name, &t->t_text, &t->t_len, e,
		    sizeof(e)) == -1) {
			snprintf(err, errlen, "%.100s/%.300s", tld, e);
			closedir(d);
			return -1;
		}
		t->t_name = xstrndup(de->d_name, l - 4);
		t->t_status = st;
		rg->rg_ntmpl++;
	}
	closedir(d);
	if (rg->rg_ntmpl > 1)
		qsort(rg->rg_tmpl, rg->rg_ntmpl, sizeof(*rg->rg_tmpl),
		    tmpl_cmp);
	return 0;
}

static void
registry_free(struct registry *rg)
{
	int	i;

	for (i = 0; i < rg->rg_ntmpl; i++) {
		free(rg->rg_tmpl[i].t_name);
		free(rg->rg_tmpl[i].t_text);
	}
	free(rg->rg_tmpl);
	free(rg->rg_tld);
}

/*
 * Load every DIR/<tld>/ folder.  Fails when DIR cannot be read or holds
 * no template at all; co is left untouched on failure.
 */
int
rs_corpus_load(struct corpus *co, const char *dir, char *err, size_t errlen)
{
	struct corpus	 nc;
	struct registry	 rg;
	struct dirent	*de;
	struct stat	 st;
	DIR		*d;
	int		 cap = 0;
	char		 e[512];

	memset(&nc, 0, sizeof(nc));
	if ((d = opendir(dir)) == NULL) {
		snprintf(err, errlen, "corpus %s: %s", dir, strerror(errno));
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (fstatat(dirfd(d), de->d_name, &st, 0) == -1 ||
		    !S_ISDIR(st.st_mode))
			continue;
		memset(&rg, 0, sizeof(rg));
		if (corpus_load_tld(&rg, dirfd(d), de->d_name, e,
		    sizeof(e)) == -1) {
			snprintf(err, errlen, "corpus %.100s: %.400s", dir, e);
			registry_free(&rg);
			closedir(d);
			rs_corpus_free(&nc);
			return -1;
		}
		if (rg.rg_ntmpl == 0) {
			registry_free(&rg);
			continue;
		}
		if (nc.co_nreg == cap) {
			cap = cap ? cap * 2 : 16;
			nc.co_reg = xrealloc(nc.co_reg,
			    cap * sizeof(*nc.co_reg));
		}
		nc.co_reg[nc.co_nreg++] = rg;
		nc.co_ntmpl += rg.rg_ntmpl;
	}
	closedir(d);
	if (nc.co_ntmpl == 0) {
		snprintf(err, errlen, "corpus %s: no templates "
		    "(want <tld>/<status>*.txt)", dir);
		rs_corpus_free(&nc);
		return -1;
	}
	qsort(nc.co_reg, nc.co_nreg, sizeof(*nc.co_reg), registry_cmp);
	nc.co_dir = xstrdup(dir);
	rs_corpus_free(co);
	*co = nc;
	return 0;
}

void
rs_corpus_free(struct corpus *co)
{
	int	i;

	for (i = 0; i < co->co_nreg; i++)
		registry_free(&co->co_reg[i]);
	free(co->co_reg);
	free(co->co_dir);
	memset(co, 0, sizeof(*co));
}

/* The registry of the longest TLD that name ends with (co.uk before uk). */
const struct registry *
rs_corpus_match(const struct corpus *co, const char *name)
{
	const struct registry	*best = NULL;
	size_t			 nl, tl, bl = 0;
	int			 i;

	nl = strlen(name);
	for (i = 0; i < co->co_nreg; i++) {
		tl = strlen(co->co_reg[i].rg_tld);
		if (tl + 1 >= nl || tl <= bl)
			continue;
		if (name[nl - tl - 1] == '.' &&
		    strcmp(name + nl - tl, co->co_reg[i].rg_tld) == 0) {
			best = &co->co_reg[i];
			bl = tl;
		}
	}
	return best;
}

/*
 * The template named variant if the registry has it, else <status>.txt,
 * else the first (by name) of that status; NULL when there is none.
 */
const struct tmpl *
rs_corpus_template(const struct registry *rg, enum rs_status status,
    const char *variant)
{
	const struct tmpl	*first = NULL;
	int			 i;

	if (variant != NULL)
		for (i = 0; i < rg->rg_ntmpl; i++)
			if (strcmp(rg->rg_tmpl[i].t_name, variant) == 0)
				return &rg->rg_tmpl[i];
	for (i = 0; i < rg->rg_ntmpl; i++) {
		if (rg->rg_tmpl[i].t_status != status)
			continue;
		if (strcmp(rg->rg_tmpl[i].t_name, rs_status_name(status)) == 0)
			return &rg->rg_tmpl[i];
		if (first == NULL)
			first = &rg->rg_tmpl[i];
	}
	return first;
}

/* Append the template to out with its placeholders filled in. */
void
rs_tmpl_render(const struct tmpl *t, const char *domain, int seconds,
    struct evbuffer *out)
{
	const char	*p = t->t_text, *end = t->t_text + t->t_len, *q;
	size_t		 i, dl = strlen(domain);
	char		 up[RS_NAME_MAX];

	for (i = 0; i < dl && i < sizeof(up) - 1; i++)
		up[i] = toupper((unsigned char)domain[i]);
	up[i] = '\0';
	while (p < end) {
		q = memmem(p, end - p, "{{", 2);
		if (q == NULL) {
			evbuffer_add(out, p, end - p);
			break;
		}
		evbuffer_add(out, p, q - p);
		p = q;
		if (end - p >= 10 && memcmp(p, "{{domain}}", 10) == 0) {
			evbuffer_add(out, domain, dl);
			p += 10;
		} else if (end - p >= 10 && memcmp(p, "{{DOMAIN}}", 10) == 0) {
			evbuffer_add(out, up, strlen(up));
			p += 10;
		} else if (end - p >= 11 &&
		    memcmp(p, "{{seconds}}", 11) == 0) {
			evbuffer_add_printf(out, "%d", seconds);
			p += 11;
		} else {
			evbuffer_add(out, p, 2);
			p += 2;
		}
	}
}
