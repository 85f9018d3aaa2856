/*
 * regfile.h — the lines of the registries file (docs/registries.md): the
 * file read with a size limit, each line checked and split by the file's
 * quoting rules, errors worded "file:line: message".
 *
 * whoisd-query reads every key of the file and the front only its `tld`
 * lines (common/suffix.h); both read the lines here, so a file one of them
 * refuses for its bytes or quoting is refused by the other in the same
 * words.
 */
#ifndef WHOISD_REGFILE_H
#define WHOISD_REGFILE_H

#include <stdarg.h>
#include <stddef.h>

/* Values on one line, the key included. */
#define REGFILE_TOKENS_MAX	64

/* Where a reader is, for its error messages. */
struct regfile {
	const char	*rf_fname;
	int		 rf_line;	/* being read; after the last at the end */
	char		*rf_err;
	size_t		 rf_errlen;
};

/* fname NULL reads as "registries"; err (may be NULL) is emptied. */
void	 regfile_init(struct regfile *, const char *fname, char *err,
	    size_t errlen);

/* Fill the error as "file:line: message"; returns -1. */
int	 regfile_error(struct regfile *, int line, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
int	 regfile_verror(struct regfile *, int line, const char *fmt,
	    va_list ap) __attribute__((format(printf, 3, 0)));

/*
 * Split the file at path (or text, len bytes, when path is NULL) into
 * lines (LF or CR LF ended) and each line into tokens; fn gets every line
 * that has one, as tok[0..n-1] with tok[n] NULL, while rf_line is its
 * number.  A line too long, holding a NUL or a control character, or
 * badly quoted is an error, and so is a file that cannot be read or is
 * too large ("path: message").  0 at the end (with rf_line one past the
 * last line), -1 with the error filled.
 */
int	 regfile_parse(struct regfile *, const char *path, const char *text,
	    size_t len, int (*fn)(void *arg, char **tok, int n), void *arg);

#endif
