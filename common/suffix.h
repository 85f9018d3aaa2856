/*
 * suffix.h — the suffixes of the registries file (its `tld` lines), and
 * the registrable name under them.
 *
 * The front asks about the registrable name ("www.example.co.uk" ->
 * "example.co.uk"), which the Public Suffix List decides once loaded
 * (common/pslist.h); the file's suffixes only route.  The front reads
 * them without compiling any classifier pattern.  whoisd-query keeps
 * its suffixes in the same table, so the answers are the same for every
 * name.
 */
#ifndef WHOISD_SUFFIX_H
#define WHOISD_SUFFIX_H

#include <stddef.h>

#include "common/name.h"
#include "common/regfile.h"

/* Opaque: the suffixes of one file. */
struct suffixes;

struct suffix_match {
	char	 sm_suffix[NAME_ACE_BUF];	/* "co.uk" (or the TLD) */
	char	 sm_registrable[NAME_ACE_BUF];	/* "example.co.uk" */
	int	 sm_below;	/* 1: the name was below it (www.) */
	const void *sm_data;	/* the suffix's, from suffix_tld() */
};

/*
 * Load a registries file (or text).  NULL with err filled on any problem,
 * worded as whoisd-query words it: "path: strerror" for a file that
 * cannot be read, else "file:line: message".  Checked are what the
 * suffixes depend on: the lines and their quoting, every `tld` value,
 * duplicate suffixes, a `tld` outside a block or in the default block,
 * and that some suffix is listed; patterns and servers are left to
 * whoisd-query.
 */
struct suffixes	*suffix_load(const char *path, char *err, size_t errlen);
struct suffixes	*suffix_parse(const char *text, size_t len, const char *fname,
		    char *err, size_t errlen);
void		 suffix_free(struct suffixes *);

/*
 * Building a table while reading the file (whoisd-query's parser):
 * suffix_tld() adds the values of one `tld` line (NULL-terminated), each
 * with data, refusing a bad or duplicate suffix as an error on rf's line;
 * suffix_finish() refuses an empty table and makes it ready for lookups.
 */
struct suffixes	*suffix_new(void);
int		 suffix_tld(struct suffixes *, struct regfile *rf, char **val,
		    const void *data);
int		 suffix_finish(struct suffixes *, struct regfile *rf);

/* The i-th suffix (sorted) and its data; NULL past the end. */
const char	*suffix_get(const struct suffixes *, size_t i,
		    const void **data);

/*
 * Route and registrable name of a lower-case A-label name (name_normalise()
 * output).  With a Public Suffix List loaded (pslist.h) the list gives the
 * registrable name and the file's longest suffix at or above the list's
 * public suffix gives the route; without one, the file's suffixes give
 * both.  0: under a listed suffix (sm_data its data); 1: not listed
 * (sm_suffix is the TLD); -1: the name is itself a public suffix
 * ("co.uk", "com.mx", "uk").
 */
int		 suffix_lookup(const struct suffixes *, const char *ace,
		    struct suffix_match *m);

#endif
