/*
 * pslist.h — registrable names from the Public Suffix List (libpsl), its
 * ICANN section only: a private suffix such as a blog host is nobody's
 * registry, so "me.blogspot.com" is asked as "blogspot.com".
 *
 * One list per process, loaded by the master to refuse a bad file and by
 * each child; suffix_lookup() uses it once loaded.
 */
#ifndef WHOISD_PSLIST_H
#define WHOISD_PSLIST_H

#include <stddef.h>

/* Debian's publicsuffix package. */
#define PSLIST_DEFAULT	"/usr/share/publicsuffix/public_suffix_list.dat"

/*
 * Load the list at path, replacing this process's list on success.  -1
 * with err filled ("path: strerror", "path: not a public suffix list")
 * and the old list kept on failure.
 */
int		 pslist_load(const char *path, char *err, size_t errlen);
void		 pslist_free(void);
int		 pslist_loaded(void);

/* Rules of the ICANN section in the list loaded (0 if none). */
int		 pslist_rules(void);

/*
 * The registrable name of a lower-case A-label name: a pointer into ace
 * ("shop.com.tr" for "www.shop.com.tr"), or NULL when ace is itself a
 * public suffix ("co.uk", "com.mx", any single label) or nothing is
 * loaded.  Names under a TLD the list lacks take its default rule: the
 * TLD and one label.
 */
const char	*pslist_registrable(const char *ace);

#endif
