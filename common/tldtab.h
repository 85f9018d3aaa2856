/*
 * tldtab.h — the route of every TLD of IANA's root zone database: its
 * whois server, or none (etc/tld-whois.conf).
 *
 * whoisd-query routes a TLD the registries file has no block for by this
 * table before it would ask whois.iana.org, and `whoisctl registries
 * --coverage` counts from it.  Lines: "TLD SERVER|no-service [rdap]";
 * "rdap" notes that IANA's RDAP bootstrap lists the TLD.
 */
#ifndef WHOISD_TLDTAB_H
#define WHOISD_TLDTAB_H

#include <stddef.h>

struct tldtab;

struct tldtab_entry {
	char	*te_tld;	/* A-label, lower case: "com", "xn--p1ai" */
	char	*te_whois;	/* host name; NULL: no port-43 service */
	int	 te_rdap;	/* the RDAP bootstrap lists it */
	int	 te_line;
};

/*
 * Load a table (path) or text (path NULL, fname for the errors).  NULL
 * with err filled as "file:line: message" (or "path: strerror").
 */
struct tldtab	*tldtab_load(const char *path, char *err, size_t errlen);
struct tldtab	*tldtab_parse(const char *text, size_t len, const char *fname,
		    char *err, size_t errlen);
void		 tldtab_free(struct tldtab *);

/* The entry of a lower-case TLD, or NULL. */
const struct tldtab_entry *tldtab_find(const struct tldtab *, const char *tld);

/* Entries in TLD order; NULL past the end. */
size_t		 tldtab_count(const struct tldtab *);
const struct tldtab_entry *tldtab_get(const struct tldtab *, size_t i);

#endif
