/*
 * name.h — domain-name validation and IDN (libidn2, IDNA2008 with UTS#46
 * mapping, non-transitional).
 *
 * A query comes in as a U-label or A-label name; name_normalise() turns it
 * into the lower-case A-label form sent to registries, or refuses it with a
 * short reason meant for the client ("empty", "too long", "label too long",
 * "bad character", "bad encoding", "empty label", "bad hyphen",
 * "no tld", "numeric tld", "idn: <libidn2 message>").
 */
#ifndef WHOISD_NAME_H
#define WHOISD_NAME_H

#include <stddef.h>

#define NAME_ACE_MAX	253	/* octets of an A-label name, no trailing dot */
#define NAME_ACE_BUF	256	/* buffer for an A-label name */
#define NAME_LABEL_MAX	63
#define NAME_INPUT_MAX	1024	/* refused as "too long" before IDN work */
#define NAME_DISPLAY_BUF 1024	/* buffer for a U-label name */
#define NAME_REASON_BUF	128	/* buffer for a refusal reason */

/*
 * Validate and convert a query to its A-label form (lower case, no
 * trailing dot).  Surrounding blanks are ignored.  0 with ace filled, or -1
 * with reason filled.  acelen must be at least NAME_ACE_BUF.
 */
int	 name_normalise(const char *in, char *ace, size_t acelen,
	    char *reason, size_t reasonlen);

/*
 * The U-label form of an A-label name, for display.  Falls back to a copy
 * of the A-label name if it cannot be decoded.  0, or -1 if out is too
 * small (out then holds an empty string).
 */
int	 name_to_display(const char *ace, char *out, size_t outlen);

/* Number of labels in a name ("a.b.c" is 3; "" is 0). */
int	 name_labels(const char *name);

/*
 * The last nlabels labels of name: a pointer into name, or NULL if name
 * has fewer labels.  name_suffix("www.example.co.uk", 3) is
 * "example.co.uk".
 */
const char *name_suffix(const char *name, int nlabels);

#endif
