/*
 * suffix.c — the suffixes of the registries file, read from its `tld`
 * lines, and the registrable name under them.
 *
 * Every line is split as whoisd-query splits it (docs/registries.md), so
 * a file it refuses for its quoting or bytes is refused here with the
 * same "file:line: message"; of the keys only `registry` (where a block
 * starts) and `tld` are read.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/name.h"
#include "common/suffix.h"

#define SX_LINE_MAX	4096
#define SX_TOKENS_MAX	64
#define SX_FILE_MAX	(8 * 1024 * 1024)

struct suffix_entry {
	char		*se_suffix;
	int		 se_line;
};

struct suffixes {
	struct suffix_entry	*sx_ents;	/* sorted by se_suffix */
	size_t			 sx_n;
	size_t			 sx_cap;
};

struct sx_parser {
	const char		*p_fname;
	int			 p_line;
	char			*p_err;
	size_t			 p_errlen;
	struct suffixes		*p_sx;
	int			 p_block;	/* inside a registry block */
	int			 p_default;	/* ... the default one */
	int			 p_block_line;
};

static int
sx_error(struct sx_parser *p, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
sx_error(struct sx_parser *p, int line, const char *fmt, ...)
{
	char	 msg[512];
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (p->p_err != NULL && p->p_errlen > 0)
		snprintf(p->p_err, p->p_errlen, "%s:%d: %s", p->p_fname, line,
		    msg);
	return -1;
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

/*
 * Split a line into tokens in place, by the file's quoting rules: blanks
 * separate tokens, "..." is one token (\" a quote, any other backslash
 * kept with its character), # outside quotes starts a comment.  Returns
 * the count, or -1 with *why set.
 */
static int
sx_tokenize(char *line, char **tok, int max, const char **why)
{
	char	*r = line, *w;
	int	 n = 0;

	for (;;) {
		while (*r == ' ' || *r == '\t')
			r++;
		if (*r == '\0' || *r == '#')
			return n;
		if (n == max) {
			*why = "too many values";
			return -1;
		}
		if (*r != '"') {
			tok[n++] = r;
			for (; *r != '\0' && *r != ' ' && *r != '\t'; r++)
				if (*r == '"') {
					*why = "quote inside a value";
					return -1;
				}
			if (*r != '\0')
				*r++ = '\0';
			continue;
		}
		tok[n++] = w = ++r;
		while (*r != '"') {
			if (*r == '\0') {
				*why = "unterminated quote";
				return -1;
			}
			if (r[0] == '\\' && r[1] == '"') {
				*w++ = '"';
				r += 2;
			} else {
				if (r[0] == '\\' && r[1] != '\0')
					*w++ = *r++;
				*w++ = *r++;
			}
		}
		r++;
		if (*r != '\0' && *r != ' ' && *r != '\t') {
			*why = "text right after a closing quote";
			return -1;
		}
		*w = '\0';
		if (*r != '\0')
			r++;
	}
}

static int
sx_cmp(const void *a, const void *b)
{
	const struct suffix_entry *x = a, *y = b;

	return strcmp(x->se_suffix, y->se_suffix);
}

static int
sx_add(struct sx_parser *p, const char *v)
{
	struct suffixes		*sx = p->p_sx;
	struct suffix_entry	*e;
	char			 buf[NAME_ACE_BUF];
	size_t			 i, len = strlen(v);

	if (v[0] == '.')
		v++, len--;
	if (len == 0 || len >= sizeof(buf))
		return sx_error(p, p->p_line, "tld: bad suffix \"%s\"", v);
	for (i = 0; i <= len; i++)
		buf[i] = (char)tolower((unsigned char)v[i]);
	for (i = 0; i < len; i++) {
		if (!isalnum((unsigned char)buf[i]) && buf[i] != '-' &&
		    buf[i] != '.')
			return sx_error(p, p->p_line, "tld: bad suffix \"%s\"",
			    v);
		if (buf[i] == '.' && (i == 0 || buf[i - 1] == '.' ||
		    i == len - 1))
			return sx_error(p, p->p_line, "tld: bad suffix \"%s\"",
			    v);
	}
	/* Sorted only at the end; a linear scan names the first line. */
	for (i = 0; i < sx->sx_n; i++)
		if (strcmp(sx->sx_ents[i].se_suffix, buf) == 0)
			return sx_error(p, p->p_line, "duplicate tld \"%s\" "
			    "(first at line %d)", buf, sx->sx_ents[i].se_line);
	if (sx->sx_n == sx->sx_cap) {
		i = sx->sx_cap == 0 ? 64 : sx->sx_cap * 2;
		if ((e = realloc(sx->sx_ents, i * sizeof(*e))) == NULL)
			return sx_error(p, p->p_line, "out of memory");
		sx->sx_ents = e;
		sx->sx_cap = i;
	}
	e = &sx->sx_ents[sx->sx_n];
	if ((e->se_suffix = strdup(buf)) == NULL)
		return sx_error(p, p->p_line, "out of memory");
	e->se_line = p->p_line;
	sx->sx_n++;
	return 0;
}

static int
sx_line(struct sx_parser *p, char *line)
{
	char		*tok[SX_TOKENS_MAX];
	const char	*why = NULL;
	int		 n, i;

	if ((n = sx_tokenize(line, tok, SX_TOKENS_MAX, &why)) < 0)
		return sx_error(p, p->p_line, "%s", why);
	if (n == 0)
		return 0;
	if (strcmp(tok[0], "registry") == 0) {
		p->p_block = 1;
		p->p_default = n > 1 && strcmp(tok[1], "default") == 0;
		p->p_block_line = p->p_line;
		return 0;
	}
	if (strcmp(tok[0], "tld") != 0)
		return 0;
	if (!p->p_block)
		return sx_error(p, p->p_line, "tld: outside a registry block");
	if (p->p_default)
		return sx_error(p, p->p_block_line, "registry \"default\": "
		    "has no tld");
	if (n == 1)
		return sx_error(p, p->p_line, "tld: missing value");
	for (i = 1; i < n; i++)
		if (sx_add(p, tok[i]) == -1)
			return -1;
	return 0;
}

struct suffixes *
suffix_parse(const char *text, size_t len, const char *fname, char *err,
    size_t errlen)
{
	struct sx_parser	 p;
	struct suffixes		*sx;
	char			 line[SX_LINE_MAX];
	size_t			 pos = 0, eol, n;

	memset(&p, 0, sizeof(p));
	p.p_fname = fname != NULL ? fname : "registries";
	p.p_err = err;
	p.p_errlen = errlen;
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if ((sx = calloc(1, sizeof(*sx))) == NULL) {
		sx_error(&p, 0, "out of memory");
		return NULL;
	}
	p.p_sx = sx;
	while (pos < len) {
		p.p_line++;
		for (eol = pos; eol < len && text[eol] != '\n'; eol++)
			;
		n = eol - pos;
		if (n > 0 && text[pos + n - 1] == '\r')
			n--;
		if (n >= sizeof(line)) {
			sx_error(&p, p.p_line, "line too long");
			goto fail;
		}
		memcpy(line, text + pos, n);
		line[n] = '\0';
		if (memchr(line, '\0', n) != NULL) {
			sx_error(&p, p.p_line, "NUL byte");
			goto fail;
		}
		for (eol = 0; eol < n; eol++)
			if ((unsigned char)line[eol] < 0x20 &&
			    line[eol] != '\t') {
				sx_error(&p, p.p_line, "control character");
				goto fail;
			}
		if (sx_line(&p, line) == -1)
			goto fail;
		pos += n + (pos + n < len && text[pos + n] == '\r' ? 1 : 0) + 1;
	}
	if (sx->sx_n == 0) {
		sx_error(&p, p.p_line + 1, "no registry serves any tld");
		goto fail;
	}
	qsort(sx->sx_ents, sx->sx_n, sizeof(*sx->sx_ents), sx_cmp);
	return sx;
fail:
	suffix_free(sx);
	return NULL;
}

struct suffixes *
suffix_load(const char *path, char *err, size_t errlen)
{
	struct suffixes	*sx = NULL;
	FILE		*fp;
	char		*buf, *nb;
	size_t		 len = 0, cap = 65536, n;

	if ((fp = fopen(path, "r")) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if ((buf = malloc(cap)) == NULL) {
		fclose(fp);
		snprintf(err, errlen, "%s: out of memory", path);
		return NULL;
	}
	while ((n = fread(buf + len, 1, cap - len, fp)) > 0) {
		len += n;
		if (len < cap)
			continue;
		if (cap >= SX_FILE_MAX) {
			snprintf(err, errlen, "%s: file too large", path);
			goto done;
		}
		if ((nb = realloc(buf, cap * 2)) == NULL) {
			snprintf(err, errlen, "%s: out of memory", path);
			goto done;
		}
		buf = nb;
		cap *= 2;
	}
	if (ferror(fp))
		snprintf(err, errlen, "%s: read error", path);
	else
		sx = suffix_parse(buf, len, path, err, errlen);
done:
	fclose(fp);
	free(buf);
	return sx;
}

static const struct suffix_entry *
sx_find(const struct suffixes *sx, const char *s)
{
	struct suffix_entry	 key;

	key.se_suffix = (char *)(uintptr_t)s;
	return bsearch(&key, sx->sx_ents, sx->sx_n, sizeof(key), sx_cmp);
}

int
suffix_lookup(const struct suffixes *sx, const char *ace,
    struct suffix_match *m)
{
	const struct suffix_entry	*e = NULL;
	const char			*p, *reg;
	size_t				 len;

	memset(m, 0, sizeof(*m));
	if (ace == NULL || (len = strlen(ace)) == 0 || len > NAME_ACE_MAX)
		return -1;
	/* Longest first: try every suffix from the whole name down. */
	for (p = ace; p != NULL; p = (p = strchr(p, '.')) ? p + 1 : NULL)
		if ((e = sx_find(sx, p)) != NULL)
			break;
	if (e != NULL) {
		if (p == ace)
			return -1;	/* the name is itself a suffix */
		reg = name_suffix(ace, name_labels(p) + 1);
	} else {
		if ((p = name_suffix(ace, 1)) == NULL || p == ace)
			return -1;
		reg = name_suffix(ace, 2);
	}
	memcpy(m->sm_suffix, p, strlen(p) + 1);
	if (reg == NULL)
		return -1;
	memcpy(m->sm_registrable, reg, strlen(reg) + 1);
	m->sm_below = reg != ace;
	return e != NULL ? 0 : 1;
}
