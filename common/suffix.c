/*
 * suffix.c — the suffixes of the registries file, read from its `tld`
 * lines, and the registrable name under them.
 *
 * The front reads the file through common/regfile.c like whoisd-query, so
 * a file it refuses for its quoting or bytes is refused here with the
 * same "file:line: message"; of the keys only `registry` (where a block
 * starts) and `tld` are read.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/name.h"
#include "common/pslist.h"
#include "common/regfile.h"
#include "common/suffix.h"

struct suffix_entry {
	char		*se_suffix;
	const void	*se_data;
	int		 se_line;
};

struct suffixes {
	struct suffix_entry	*sx_ents;	/* sorted by se_suffix */
	size_t			 sx_n;
	size_t			 sx_cap;
};

/* The front's reader: the block it is in, for the `tld` checks. */
struct sx_parser {
	struct regfile		 p_rf;
	struct suffixes		*p_sx;
	int			 p_block;	/* inside a registry block */
	int			 p_default;	/* ... the default one */
	int			 p_block_line;
};

struct suffixes *
suffix_new(void)
{
	return calloc(1, sizeof(struct suffixes));
}

void
suffix_free(struct suffixes *sx)
{
	size_t	 i;

	if (sx == NULL)
		return;
	for (i = 0; i < sx->sx_n; i++)
		free(sx->sx_ents[i].se_suffix);
	free(sx->sx_ents);
	free(sx);
}

static int
sx_cmp(const void *a, const void *b)
{
	const struct suffix_entry *x = a, *y = b;

	return strcmp(x->se_suffix, y->se_suffix);
}

static int
sx_add(struct suffixes *sx, struct regfile *rf, const char *v,
    const void *data)
{
	struct suffix_entry	*e;
	char			 buf[NAME_ACE_BUF];
	size_t			 i, len = strlen(v);

	if (v[0] == '.')
		v++, len--;
	if (len == 0 || len >= sizeof(buf))
		return regfile_error(rf, rf->rf_line, "tld: bad suffix \"%s\"",
		    v);
	for (i = 0; i <= len; i++)
		buf[i] = (char)tolower((unsigned char)v[i]);
	for (i = 0; i < len; i++) {
		if (!isalnum((unsigned char)buf[i]) && buf[i] != '-' &&
		    buf[i] != '.')
			return regfile_error(rf, rf->rf_line, "tld: bad suffix "
			    "\"%s\"", v);
		if (buf[i] == '.' && (i == 0 || buf[i - 1] == '.' ||
		    i == len - 1))
			return regfile_error(rf, rf->rf_line, "tld: bad suffix "
			    "\"%s\"", v);
	}
	/* Sorted only at the end; a linear scan names the first line. */
	for (i = 0; i < sx->sx_n; i++)
		if (strcmp(sx->sx_ents[i].se_suffix, buf) == 0)
			return regfile_error(rf, rf->rf_line, "duplicate tld "
			    "\"%s\" (first at line %d)", buf,
			    sx->sx_ents[i].se_line);
	if (sx->sx_n == sx->sx_cap) {
		i = sx->sx_cap == 0 ? 64 : sx->sx_cap * 2;
		if ((e = realloc(sx->sx_ents, i * sizeof(*e))) == NULL)
			return regfile_error(rf, rf->rf_line, "out of memory");
		sx->sx_ents = e;
		sx->sx_cap = i;
	}
	e = &sx->sx_ents[sx->sx_n];
	if ((e->se_suffix = strdup(buf)) == NULL)
		return regfile_error(rf, rf->rf_line, "out of memory");
	e->se_data = data;
	e->se_line = rf->rf_line;
	sx->sx_n++;
	return 0;
}

int
suffix_tld(struct suffixes *sx, struct regfile *rf, char **val,
    const void *data)
{
	for (; *val != NULL; val++)
		if (sx_add(sx, rf, *val, data) == -1)
			return -1;
	return 0;
}

int
suffix_finish(struct suffixes *sx, struct regfile *rf)
{
	if (sx->sx_n == 0)
		return regfile_error(rf, rf->rf_line,
		    "no registry serves any tld");
	qsort(sx->sx_ents, sx->sx_n, sizeof(*sx->sx_ents), sx_cmp);
	return 0;
}

const char *
suffix_get(const struct suffixes *sx, size_t i, const void **data)
{
	if (i >= sx->sx_n)
		return NULL;
	if (data != NULL)
		*data = sx->sx_ents[i].se_data;
	return sx->sx_ents[i].se_suffix;
}

/* Where a block starts and the `tld` lines; every other key is skipped. */
static int
sx_line(void *arg, char **tok, int n)
{
	struct sx_parser	*p = arg;
	struct regfile		*rf = &p->p_rf;

	if (strcmp(tok[0], "registry") == 0) {
		p->p_block = 1;
		p->p_default = n > 1 && strcmp(tok[1], "default") == 0;
		p->p_block_line = rf->rf_line;
		return 0;
	}
	if (strcmp(tok[0], "tld") != 0)
		return 0;
	if (!p->p_block)
		return regfile_error(rf, rf->rf_line, "tld: outside a registry "
		    "block");
	if (p->p_default)
		return regfile_error(rf, p->p_block_line, "registry "
		    "\"default\": has no tld");
	if (n == 1)
		return regfile_error(rf, rf->rf_line, "tld: missing value");
	return suffix_tld(p->p_sx, rf, tok + 1, NULL);
}

/* The suffixes of the file at path, or of text when path is NULL. */
static struct suffixes *
sx_read(const char *path, const char *text, size_t len, const char *fname,
    char *err, size_t errlen)
{
	struct sx_parser	 p;

	memset(&p, 0, sizeof(p));
	regfile_init(&p.p_rf, fname, err, errlen);
	if ((p.p_sx = suffix_new()) == NULL) {
		regfile_error(&p.p_rf, 0, "out of memory");
		return NULL;
	}
	if (regfile_parse(&p.p_rf, path, text, len, sx_line, &p) == -1 ||
	    suffix_finish(p.p_sx, &p.p_rf) == -1) {
		suffix_free(p.p_sx);
		return NULL;
	}
	return p.p_sx;
}

struct suffixes *
suffix_parse(const char *text, size_t len, const char *fname, char *err,
    size_t errlen)
{
	return sx_read(NULL, text, len, fname, err, errlen);
}

struct suffixes *
suffix_load(const char *path, char *err, size_t errlen)
{
	return sx_read(path, NULL, 0, path, err, errlen);
}

static const struct suffix_entry *
sx_find(const struct suffixes *sx, const char *s)
{
	struct suffix_entry	 key;

	if (sx->sx_n == 0)
		return NULL;
	key.se_suffix = (char *)(uintptr_t)s;
	return bsearch(&key, sx->sx_ents, sx->sx_n, sizeof(key), sx_cmp);
}

int
suffix_lookup(const struct suffixes *sx, const char *ace,
    struct suffix_match *m)
{
	const struct suffix_entry	*e = NULL;
	const char			*p, *reg = NULL, *ps;
	size_t				 len;

	memset(m, 0, sizeof(*m));
	if (ace == NULL || (len = strlen(ace)) == 0 || len > NAME_ACE_MAX)
		return -1;
	if (pslist_loaded()) {
		/* The list says what is registrable; the file only routes. */
		if ((reg = pslist_registrable(ace)) == NULL ||
		    (ps = strchr(reg, '.')) == NULL)
			return -1;
		ps++;
	} else
		ps = ace;
	/* Longest first: try every suffix from the whole name down. */
	for (p = ps; p != NULL; p = (p = strchr(p, '.')) ? p + 1 : NULL)
		if ((e = sx_find(sx, p)) != NULL)
			break;
	if (e != NULL) {
		if (p == ace)
			return -1;	/* the name is itself a suffix */
		m->sm_data = e->se_data;
		if (reg == NULL)
			reg = name_suffix(ace, name_labels(p) + 1);
	} else {
		if ((p = name_suffix(ace, 1)) == NULL || p == ace)
			return -1;
		if (reg == NULL)
			reg = name_suffix(ace, 2);
	}
	memcpy(m->sm_suffix, p, strlen(p) + 1);
	if (reg == NULL)
		return -1;
	memcpy(m->sm_registrable, reg, strlen(reg) + 1);
	m->sm_below = reg != ace;
	return e != NULL ? 0 : 1;
}
