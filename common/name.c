/*
 * name.c — domain-name validation and IDN conversion with libidn2.
 *
 * Structural checks on the ASCII part come first so the client gets a
 * precise reason ("bad hyphen" rather than a libidn2 message); libidn2
 * then maps and converts U-labels (IDNA2008, UTS#46, non-transitional),
 * and the A-label result is checked again, since mapping can change the
 * label structure (U+3002 is a dot after mapping).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <idn2.h>

#include "common/name.h"
#include "common/util.h"

static void
name_reason(char *reason, size_t reasonlen, const char *msg)
{
	if (reason != NULL && reasonlen > 0)
		snprintf(reason, reasonlen, "%s", msg);
}

static int
name_is_ldh(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '-';
}

/*
 * Label checks on an A-label (ASCII) name: lengths, characters, hyphens.
 * Returns NULL if fine, or the reason.
 */
static const char *
name_check_ace(const char *s)
{
	const char	*lab, *end;
	size_t		 len, n;
	int		 numeric, labels = 0;

	if (strlen(s) > NAME_ACE_MAX)
		return "too long";
	for (lab = s;; lab = end + 1) {
		end = strchr(lab, '.');
		len = end != NULL ? (size_t)(end - lab) : strlen(lab);
		if (len == 0)
			return "empty label";
		if (len > NAME_LABEL_MAX)
			return "label too long";
		numeric = 1;
		for (n = 0; n < len; n++) {
			if (!name_is_ldh((unsigned char)lab[n]))
				return "bad character";
			if (lab[n] < '0' || lab[n] > '9')
				numeric = 0;
		}
		if (lab[0] == '-' || lab[len - 1] == '-')
			return "bad hyphen";
		/* "ab--cd" is reserved by IDNA2008 unless it is an A-label. */
		if (len >= 4 && lab[2] == '-' && lab[3] == '-' &&
		    !(lab[0] == 'x' && lab[1] == 'n'))
			return "bad hyphen";
		labels++;
		if (end == NULL)
			break;
	}
	if (labels < 2)
		return "no tld";
	if (numeric)
		return "numeric tld";
	return NULL;
}

static int	name_normalise_1(const char *, char *, size_t, char *, size_t,
		    int);

/*
 * libidn2 checks that an A-label survives its round trip, not that what
 * it decodes to is a valid U-label ("xn--6a" is a space): the decoded
 * name must normalise back to the same A-labels.
 */
static int
name_alabels_ok(const char *ace)
{
	char	*u = NULL, again[NAME_ACE_BUF];
	int	 ok;

	if (idn2_to_unicode_8z8z(ace, &u, 0) != IDN2_OK || u == NULL) {
		idn2_free(u);
		return 0;
	}
	ok = name_normalise_1(u, again, sizeof(again), NULL, 0, 0) == 0 &&
	    strcmp(again, ace) == 0;
	idn2_free(u);
	return ok;
}

int
name_normalise(const char *in, char *ace, size_t acelen, char *reason,
    size_t reasonlen)
{
	return name_normalise_1(in, ace, acelen, reason, reasonlen, 1);
}

/* check: verify the A-labels of the result (not when doing just that). */
static int
name_normalise_1(const char *in, char *ace, size_t acelen, char *reason,
    size_t reasonlen, int check)
{
	const unsigned char	*p;
	char			 buf[NAME_INPUT_MAX + 1], *out = NULL;
	const char		*why;
	size_t			 len, n;
	int			 rc, nonascii = 0, xn = 0;

	if (acelen > 0)
		ace[0] = '\0';
	if (in == NULL)
		in = "";
	while (*in == ' ' || *in == '\t')
		in++;
	len = strlen(in);
	while (len > 0 && (in[len - 1] == ' ' || in[len - 1] == '\t'))
		len--;
	if (len == 0) {
		name_reason(reason, reasonlen, "empty");
		return -1;
	}
	if (len > NAME_INPUT_MAX) {
		name_reason(reason, reasonlen, "too long");
		return -1;
	}
	memcpy(buf, in, len);
	buf[len] = '\0';

	/* Bytes first: no controls, valid UTF-8, only LDH and dots in ASCII. */
	for (p = (const unsigned char *)buf; *p != '\0'; p += n) {
		if (*p < 0x20 || *p == 0x7f) {
			name_reason(reason, reasonlen, "bad character");
			return -1;
		}
		if ((n = utf8_seqlen(p, len - (size_t)(p -
		    (const unsigned char *)buf))) == 0) {
			name_reason(reason, reasonlen, "bad encoding");
			return -1;
		}
		if (n > 1)
			nonascii = 1;
		else if (*p != '.' && !name_is_ldh(*p)) {
			name_reason(reason, reasonlen, "bad character");
			return -1;
		}
	}
	/* One trailing dot is the root; it is not part of the name. */
	if (buf[len - 1] == '.')
		buf[--len] = '\0';
	if (len == 0) {
		name_reason(reason, reasonlen, "empty");
		return -1;
	}
	if (buf[0] == '.' || strstr(buf, "..") != NULL) {
		name_reason(reason, reasonlen, "empty label");
		return -1;
	}

	if (!nonascii) {
		for (n = 0; n < len; n++)
			if (buf[n] >= 'A' && buf[n] <= 'Z')
				buf[n] += 'a' - 'A';
		if ((why = name_check_ace(buf)) != NULL) {
			name_reason(reason, reasonlen, why);
			return -1;
		}
		xn = strncmp(buf, "xn--", 4) == 0 || strstr(buf, ".xn--") != NULL;
		if (!xn) {
			if (len + 1 > acelen) {
				name_reason(reason, reasonlen, "too long");
				return -1;
			}
			memcpy(ace, buf, len + 1);
			return 0;
		}
	}

	/* U-labels, or A-labels that libidn2 must verify. */
	rc = idn2_to_ascii_8z(buf, &out, IDN2_NONTRANSITIONAL | IDN2_NFC_INPUT);
	if (rc != IDN2_OK) {
		if (reason != NULL && reasonlen > 0)
			snprintf(reason, reasonlen, "idn: %s", idn2_strerror(rc));
		return -1;
	}
	for (n = 0; out[n] != '\0'; n++)
		if (out[n] >= 'A' && out[n] <= 'Z')
			out[n] += 'a' - 'A';
	if (n > 0 && out[n - 1] == '.')
		out[--n] = '\0';
	if ((why = name_check_ace(out)) != NULL) {
		name_reason(reason, reasonlen, why);
		idn2_free(out);
		return -1;
	}
	if (n + 1 > acelen) {
		name_reason(reason, reasonlen, "too long");
		idn2_free(out);
		return -1;
	}
	if (check && (strncmp(out, "xn--", 4) == 0 ||
	    strstr(out, ".xn--") != NULL) && !name_alabels_ok(out)) {
		name_reason(reason, reasonlen, "idn: not a valid A-label");
		idn2_free(out);
		return -1;
	}
	memcpy(ace, out, n + 1);
	idn2_free(out);
	return 0;
}

int
name_to_display(const char *ace, char *out, size_t outlen)
{
	char	*u = NULL;
	size_t	 n;

	if (outlen == 0)
		return -1;
	out[0] = '\0';
	if (idn2_to_unicode_8z8z(ace, &u, 0) == IDN2_OK && u != NULL) {
		n = strlen(u);
		if (n + 1 <= outlen) {
			memcpy(out, u, n + 1);
			idn2_free(u);
			return 0;
		}
		idn2_free(u);
	} else if (u != NULL)
		idn2_free(u);
	n = strlen(ace);
	if (n + 1 > outlen)
		return -1;
	memcpy(out, ace, n + 1);
	return 0;
}

int
name_labels(const char *name)
{
	int	 n;

	if (name == NULL || *name == '\0')
		return 0;
	for (n = 1; *name != '\0'; name++)
		if (*name == '.')
			n++;
	return n;
}

const char *
name_suffix(const char *name, int nlabels)
{
	const char	*p;
	int		 seen = 0;

	if (nlabels <= 0 || name == NULL || *name == '\0')
		return NULL;
	for (p = name + strlen(name); p > name; p--) {
		if (p[-1] == '.' && ++seen == nlabels)
			return p;
	}
	return seen + 1 == nlabels ? name : NULL;
}
