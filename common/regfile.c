/*
 * regfile.c — read the registries file's lines and split them into
 * tokens; what the keys mean is up to the caller.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/regfile.h"

#define RF_LINE_MAX	4096
#define RF_FILE_MAX	(8 * 1024 * 1024)

void
regfile_init(struct regfile *rf, const char *fname, char *err,
    size_t errlen)
{
	memset(rf, 0, sizeof(*rf));
	rf->rf_fname = fname != NULL ? fname : "registries";
	rf->rf_err = err;
	rf->rf_errlen = errlen;
	if (err != NULL && errlen > 0)
		err[0] = '\0';
}

int
regfile_verror(struct regfile *rf, int line, const char *fmt, va_list ap)
{
	char	 msg[512];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (rf->rf_err != NULL && rf->rf_errlen > 0)
		snprintf(rf->rf_err, rf->rf_errlen, "%s:%d: %s", rf->rf_fname,
		    line, msg);
	return -1;
}

int
regfile_error(struct regfile *rf, int line, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	regfile_verror(rf, line, fmt, ap);
	va_end(ap);
	return -1;
}

/*
 * Unquote the token that starts at r, just after its opening quote, in
 * place.  Where the next token may start, or NULL with *why set.
 */
static char *
rf_token_quoted(char *r, const char **why)
{
	char	*w = r;

	for (;;) {
		if (*r == '\0') {
			*why = "unterminated quote";
			return NULL;
		}
		if (*r == '"')
			break;
		if (r[0] == '\\' && r[1] == '"') {
			*w++ = '"';
			r += 2;
		} else if (r[0] == '\\' && r[1] != '\0') {
			*w++ = *r++;
			*w++ = *r++;
		} else
			*w++ = *r++;
	}
	r++;
	if (*r != '\0' && *r != ' ' && *r != '\t') {
		*why = "text right after a closing quote";
		return NULL;
	}
	*w = '\0';
	return *r != '\0' ? r + 1 : r;
}

/*
 * Split a line into tokens in place.  Blanks separate tokens; "..." is
 * one token, where \" is a quote and any other backslash is kept with the
 * character after it (so regex escapes pass through unchanged); # outside
 * quotes starts a comment.  Returns the count, or -1 with *why set.
 */
static int
rf_tokenize(char *line, char **tok, int max, const char **why)
{
	char	*r = line;
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
		if (*r == '"') {
			tok[n++] = r + 1;
			if ((r = rf_token_quoted(r + 1, why)) == NULL)
				return -1;
		} else {
			tok[n++] = r;
			while (*r != '\0' && *r != ' ' && *r != '\t') {
				if (*r == '"') {
					*why = "quote inside a value";
					return -1;
				}
				r++;
			}
			if (*r != '\0')
				*r++ = '\0';
		}
	}
}

/*
 * Copy the line that starts at text[*pos] into line (CR LF or LF ended)
 * and move *pos past it.  -1 with the error for a line that is too long
 * or holds a NUL or a control character.
 */
static int
rf_next_line(struct regfile *rf, const char *text, size_t len, size_t *pos,
    char *line, size_t linesz)
{
	size_t	 eol, n, i;

	for (eol = *pos; eol < len && text[eol] != '\n'; eol++)
		;
	n = eol - *pos;
	if (n > 0 && text[*pos + n - 1] == '\r')
		n--;
	if (n >= linesz)
		return regfile_error(rf, rf->rf_line, "line too long");
	memcpy(line, text + *pos, n);
	line[n] = '\0';
	if (memchr(line, '\0', n) != NULL)
		return regfile_error(rf, rf->rf_line, "NUL byte");
	for (i = 0; i < n; i++)
		if ((unsigned char)line[i] < 0x20 && line[i] != '\t')
			return regfile_error(rf, rf->rf_line,
			    "control character");
	*pos += n + (*pos + n < len && text[*pos + n] == '\r' ? 1 : 0) + 1;
	return 0;
}

static int
rf_lines(struct regfile *rf, const char *text, size_t len,
    int (*fn)(void *arg, char **tok, int n), void *arg)
{
	char		 line[RF_LINE_MAX], *tok[REGFILE_TOKENS_MAX + 1];
	const char	*why = NULL;
	size_t		 pos = 0;
	int		 n;

	while (pos < len) {
		rf->rf_line++;
		if (rf_next_line(rf, text, len, &pos, line, sizeof(line)) == -1)
			return -1;
		if ((n = rf_tokenize(line, tok, REGFILE_TOKENS_MAX, &why)) < 0)
			return regfile_error(rf, rf->rf_line, "%s", why);
		if (n == 0)
			continue;
		tok[n] = NULL;
		if (fn(arg, tok, n) == -1)
			return -1;
	}
	rf->rf_line++;
	return 0;
}

/* The whole file, in a malloc'ed buffer of *lenp bytes, or NULL. */
static char *
rf_read(struct regfile *rf, const char *path, size_t *lenp)
{
	char	*err = rf->rf_err;
	size_t	 errlen = rf->rf_err != NULL ? rf->rf_errlen : 0;
	FILE	*fp;
	char	*buf, *nb;
	size_t	 len = 0, cap = 65536, n;

	if ((fp = fopen(path, "r")) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if ((buf = malloc(cap)) == NULL) {
		snprintf(err, errlen, "%s: out of memory", path);
		goto fail;
	}
	while ((n = fread(buf + len, 1, cap - len, fp)) > 0) {
		len += n;
		if (len < cap)
			continue;
		if (cap >= RF_FILE_MAX) {
			snprintf(err, errlen, "%s: file too large", path);
			goto fail;
		}
		if ((nb = realloc(buf, cap * 2)) == NULL) {
			snprintf(err, errlen, "%s: out of memory", path);
			goto fail;
		}
		buf = nb;
		cap *= 2;
	}
	if (ferror(fp)) {
		snprintf(err, errlen, "%s: read error", path);
		goto fail;
	}
	fclose(fp);
	*lenp = len;
	return buf;
fail:
	fclose(fp);
	free(buf);
	return NULL;
}

int
regfile_parse(struct regfile *rf, const char *path, const char *text,
    size_t len, int (*fn)(void *arg, char **tok, int n), void *arg)
{
	char	*buf;
	int	 rc;

	if (path == NULL)
		return rf_lines(rf, text, len, fn, arg);
	if ((buf = rf_read(rf, path, &len)) == NULL)
		return -1;
	rc = rf_lines(rf, buf, len, fn, arg);
	free(buf);
	return rc;
}
