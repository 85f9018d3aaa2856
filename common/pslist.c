/*
 * pslist.c — the Public Suffix List's ICANN section through libpsl.
 *
 * libpsl reads both sections of the file and its registrable-name call
 * honours both, so the file is cut at the private section's marker and
 * the ICANN part alone is given to psl_load_fp().
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpsl.h>

#include "common/pslist.h"

#define PSLIST_MAX	(16 * 1024 * 1024)	/* today's list: 250 KB */

static psl_ctx_t	*pl_ctx;
static int		 pl_rules;

void
pslist_free(void)
{
	psl_free(pl_ctx);
	pl_ctx = NULL;
	pl_rules = 0;
}

int
pslist_loaded(void)
{
	return pl_ctx != NULL;
}

int
pslist_rules(void)
{
	return pl_rules;
}

/* The whole file, NUL-terminated; NULL with err filled. */
static char *
pl_read(const char *path, size_t *lenp, char *err, size_t errlen)
{
	FILE	*f;
	char	*buf;
	size_t	 n;

	if ((f = fopen(path, "r")) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if ((buf = malloc(PSLIST_MAX + 1)) == NULL) {
		fclose(f);
		snprintf(err, errlen, "%s: out of memory", path);
		return NULL;
	}
	n = fread(buf, 1, PSLIST_MAX + 1, f);
	if (ferror(f) || n > PSLIST_MAX) {
		snprintf(err, errlen, "%s: %s", path, ferror(f) ?
		    strerror(errno) : "too large");
		fclose(f);
		free(buf);
		return NULL;
	}
	fclose(f);
	buf[n] = '\0';
	*lenp = n;
	return buf;
}

int
pslist_load(const char *path, char *err, size_t errlen)
{
	psl_ctx_t	*ctx;
	FILE		*f;
	char		*buf, *priv;
	size_t		 len;
	int		 rules;

	if ((buf = pl_read(path, &len, err, errlen)) == NULL)
		return -1;
	if (strstr(buf, "===BEGIN ICANN DOMAINS===") == NULL) {
		snprintf(err, errlen, "%s: not a public suffix list", path);
		free(buf);
		return -1;
	}
	if ((priv = strstr(buf, "===BEGIN PRIVATE DOMAINS===")) != NULL) {
		/* Back to the start of the marker's comment line. */
		while (priv > buf && priv[-1] != '\n')
			priv--;
		*priv = '\0';
		len = (size_t)(priv - buf);
	}
	if ((f = fmemopen(buf, len, "r")) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		free(buf);
		return -1;
	}
	ctx = psl_load_fp(f);
	fclose(f);
	free(buf);
	if (ctx == NULL || (rules = psl_suffix_count(ctx)) <= 0) {
		snprintf(err, errlen, "%s: not a public suffix list", path);
		psl_free(ctx);
		return -1;
	}
	pslist_free();
	pl_ctx = ctx;
	pl_rules = rules;
	return 0;
}

const char *
pslist_registrable(const char *ace)
{
	if (pl_ctx == NULL || ace == NULL)
		return NULL;
	return psl_registrable_domain(pl_ctx, ace);
}
