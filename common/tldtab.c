/*
 * tldtab.c — the TLD table (etc/tld-whois.conf), read through
 * common/regfile.c so its lines, quoting and errors are the registries
 * file's.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/name.h"
#include "common/regfile.h"
#include "common/tldtab.h"

struct tldtab {
	struct tldtab_entry	*tt_ents;	/* sorted by te_tld */
	size_t			 tt_n;
	size_t			 tt_cap;
};

struct tt_parser {
	struct regfile		 p_rf;
	struct tldtab		*p_tt;
};

void
tldtab_free(struct tldtab *tt)
{
	size_t	 i;

	if (tt == NULL)
		return;
	for (i = 0; i < tt->tt_n; i++) {
		free(tt->tt_ents[i].te_tld);
		free(tt->tt_ents[i].te_whois);
	}
	free(tt->tt_ents);
	free(tt);
}

/* One label of letters, digits and inner hyphens (xn-- allowed). */
static int
tt_label(const char *s)
{
	size_t	 i, n = strlen(s);

	if (n == 0 || n > NAME_LABEL_MAX || s[0] == '-' || s[n - 1] == '-')
		return 0;
	for (i = 0; i < n; i++)
		if (!(islower((unsigned char)s[i]) ||
		    isdigit((unsigned char)s[i]) || s[i] == '-'))
			return 0;
	return 1;
}

/* A host name: two or more labels of the same kind. */
static int
tt_host(const char *s)
{
	char	 buf[NAME_ACE_BUF], *p, *save = NULL;
	int	 n = 0;

	if (strlen(s) >= sizeof(buf) || s[0] == '.' || s[strlen(s) - 1] == '.')
		return 0;
	memcpy(buf, s, strlen(s) + 1);
	for (p = strtok_r(buf, ".", &save); p != NULL;
	    p = strtok_r(NULL, ".", &save), n++)
		if (!tt_label(p))
			return 0;
	return n >= 2 && strstr(s, "..") == NULL;
}

static int
tt_cmp(const void *a, const void *b)
{
	const struct tldtab_entry *x = a, *y = b;

	return strcmp(x->te_tld, y->te_tld);
}

static int
tt_line(void *arg, char **tok, int n)
{
	struct tt_parser	*p = arg;
	struct regfile		*rf = &p->p_rf;
	struct tldtab		*tt = p->p_tt;
	struct tldtab_entry	*e;
	size_t			 cap;

	if (n < 2 || n > 3)
		return regfile_error(rf, rf->rf_line, "want \"TLD SERVER|"
		    "no-service [rdap]\"");
	if (!tt_label(tok[0]))
		return regfile_error(rf, rf->rf_line, "bad tld \"%s\"", tok[0]);
	if (strcmp(tok[1], "no-service") != 0 && !tt_host(tok[1]))
		return regfile_error(rf, rf->rf_line, "%s: bad server \"%s\"",
		    tok[0], tok[1]);
	if (n == 3 && strcmp(tok[2], "rdap") != 0)
		return regfile_error(rf, rf->rf_line, "%s: unknown flag \"%s\"",
		    tok[0], tok[2]);
	if (tt->tt_n == tt->tt_cap) {
		cap = tt->tt_cap == 0 ? 256 : tt->tt_cap * 2;
		if ((e = realloc(tt->tt_ents, cap * sizeof(*e))) == NULL)
			return regfile_error(rf, rf->rf_line, "out of memory");
		tt->tt_ents = e;
		tt->tt_cap = cap;
	}
	e = &tt->tt_ents[tt->tt_n];
	memset(e, 0, sizeof(*e));
	if ((e->te_tld = strdup(tok[0])) == NULL ||
	    (strcmp(tok[1], "no-service") != 0 &&
	    (e->te_whois = strdup(tok[1])) == NULL)) {
		free(e->te_tld);
		return regfile_error(rf, rf->rf_line, "out of memory");
	}
	e->te_rdap = n == 3;
	e->te_line = rf->rf_line;
	tt->tt_n++;
	return 0;
}

static struct tldtab *
tt_read(const char *path, const char *text, size_t len, const char *fname,
    char *err, size_t errlen)
{
	struct tt_parser	 p;
	size_t			 i;

	memset(&p, 0, sizeof(p));
	regfile_init(&p.p_rf, fname, err, errlen);
	if ((p.p_tt = calloc(1, sizeof(*p.p_tt))) == NULL) {
		regfile_error(&p.p_rf, 0, "out of memory");
		return NULL;
	}
	if (regfile_parse(&p.p_rf, path, text, len, tt_line, &p) == -1)
		goto fail;
	if (p.p_tt->tt_n == 0) {
		regfile_error(&p.p_rf, p.p_rf.rf_line, "no tld listed");
		goto fail;
	}
	qsort(p.p_tt->tt_ents, p.p_tt->tt_n, sizeof(*p.p_tt->tt_ents),
	    tt_cmp);
	for (i = 1; i < p.p_tt->tt_n; i++)
		if (strcmp(p.p_tt->tt_ents[i].te_tld,
		    p.p_tt->tt_ents[i - 1].te_tld) == 0) {
			regfile_error(&p.p_rf, p.p_tt->tt_ents[i].te_line,
			    "duplicate tld \"%s\"", p.p_tt->tt_ents[i].te_tld);
			goto fail;
		}
	return p.p_tt;
fail:
	tldtab_free(p.p_tt);
	return NULL;
}

struct tldtab *
tldtab_load(const char *path, char *err, size_t errlen)
{
	return tt_read(path, NULL, 0, path, err, errlen);
}

struct tldtab *
tldtab_parse(const char *text, size_t len, const char *fname, char *err,
    size_t errlen)
{
	return tt_read(NULL, text, len, fname, err, errlen);
}

const struct tldtab_entry *
tldtab_find(const struct tldtab *tt, const char *tld)
{
	struct tldtab_entry	 key;

	if (tt == NULL || tt->tt_n == 0 || tld == NULL)
		return NULL;
	key.te_tld = (char *)(uintptr_t)tld;
	return bsearch(&key, tt->tt_ents, tt->tt_n, sizeof(key), tt_cmp);
}

size_t
tldtab_count(const struct tldtab *tt)
{
	return tt != NULL ? tt->tt_n : 0;
}

const struct tldtab_entry *
tldtab_get(const struct tldtab *tt, size_t i)
{
	if (tt == NULL || i >= tt->tt_n)
		return NULL;
	return &tt->tt_ents[i];
}
