/*
 * classify.c — the verdict on a registry reply.
 *
 * The order of the checks is the contract (SPEC.md): a reply that is a
 * throttle and also says "not found" (AFNIC does that) must be read as a
 * throttle, so throttle and error patterns are tried before the available
 * ones, and "available" is never a default.  An available line next to a
 * registered or reserved line is a conflict, not a verdict, and so is one
 * next to a status that says the name is held (the EPP statuses of RFC
 * 5731/3915 and the registries' own words for quarantine, grace, blocked,
 * reserved): a registry that prints "not found" for a name it holds must
 * not make it available.
 */
#include <locale.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemons/query/registries.h"
#include "common/util.h"
#include "daemons/query/classify.h"

/*
 * Statuses of a held name, anywhere on a line, any case.  "reserved"
 * alone would match every "All rights reserved", so it counts only as a
 * status or next to "name"/"domain".
 */
static const char cl_held_src[] =
    "(^|[^[:alnum:]])("
    "pending[ _-]?(delete|create|renew|restore|transfer|update|release|"
    "purge|verification)|"
    "redemption([ _-]?period)?|(auto[ _-]?)?renew[ _-]?period|"
    "add[ _-]?period|transfer[ _-]?period|grace[ _-]?period|"
    "(server|client|dns)[ _-]?hold|"
    "(server|client)[ _-]?(delete|renew|transfer|update)[ _-]?prohibited|"
    "quarantined?|in[ _-]quarantaine|en[ _-]quarantaine|"
    "blocked|bloqué|gesperrt|not[ _-]open|on[ _-]hold|to[ _-]be[ _-]released|"
    "(is|status:?)[ \t]*(reserved|réservé|blocked)|"
    "reserved[ _-](name|domain|word)|réservée?|unassignable"
    ")([^[:alnum:]]|$)";

/*
 * Every alternative above contains one of these words (lower case; the
 * accented ones in both cases of their UTF-8 letter).  The pattern, with
 * its case-folded alternation, costs about 20 us on a 600-byte reply,
 * most of a miss's classifying; it runs only on the lines that hold one.
 * As REG_NEWLINE keeps every match within a line, nothing is missed.
 */
static const char *const cl_held_stems[] = {
	"pending", "redemption", "period", "hold", "prohibited", "quarant",
	"blocked", "bloqu", "gesperrt", "open", "released", "reserv",
	"r\xc3\xa9serv", "r\xc3\x89serv", "unassignable",
};
#define CL_HELD_LINES	32	/* lines to try; more: the whole text */

static struct registry_pattern	 cl_held;
static int	 cl_held_ok;	/* 0: not compiled yet, 1: ready, -1: failed */

int
classify_init(void)
{
	return registry_utf8_locale() == (locale_t)0 ? -1 : 0;
}

/* The held-status pattern, compiled on first use. */
static const struct registry_pattern *
cl_held_re(void)
{
	if (cl_held_ok == 0)
		cl_held_ok = registry_regcomp(&cl_held, cl_held_src,
		    REG_EXTENDED | REG_ICASE | REG_NEWLINE) == 0 ? 1 : -1;
	return cl_held_ok == 1 ? &cl_held : NULL;
}

char *
classify_text(const struct registry *rg, const char *reply, size_t len,
    size_t *outlen)
{
	const unsigned char	*s = (const unsigned char *)reply;
	unsigned char		*out, *w;
	size_t			 i, n;
	int			 latin1 = rg != NULL && rg->rg_charset == RGC_LATIN1;

	/* Worst case: every byte becomes U+FFFD (3 bytes). */
	if (len > (((size_t)-1) - 1) / 3)
		return NULL;
	if ((out = malloc(len * 3 + 1)) == NULL)
		return NULL;
	w = out;
	for (i = 0; i < len; i += n) {
		n = 1;
		if (s[i] == '\r') {
			*w++ = '\n';
			if (i + 1 < len && s[i + 1] == '\n')
				n = 2;
		} else if (s[i] == '\0') {
			*w++ = 0xef, *w++ = 0xbf, *w++ = 0xbd;
		} else if (s[i] < 0x80) {
			*w++ = s[i];
		} else if (latin1) {
			*w++ = 0xc0 | (s[i] >> 6);
			*w++ = 0x80 | (s[i] & 0x3f);
		} else if ((n = utf8_seqlen(s + i, len - i)) > 0) {
			memcpy(w, s + i, n);
			w += n;
		} else {
			*w++ = 0xef, *w++ = 0xbf, *w++ = 0xbd;
			n = 1;
		}
	}
	*w = '\0';
	if (outlen != NULL)
		*outlen = (size_t)(w - out);
	return (char *)out;
}

static void
cl_rule(struct verdict *out, const struct registry *rg, const char *what)
{
	snprintf(out->vd_rule, sizeof(out->vd_rule), "%s:%s",
	    rg != NULL ? rg->rg_name : "none", what);
}

/* Copy the whole line around text[off], cut at a UTF-8 boundary. */
static void
cl_matched(struct verdict *out, const char *text, size_t off)
{
	const char	*b = text + off, *e;
	size_t		 n;

	while (b > text && b[-1] != '\n')
		b--;
	if ((e = strchr(b, '\n')) == NULL)
		e = b + strlen(b);
	n = (size_t)(e - b);
	if (n >= sizeof(out->vd_matched)) {
		n = sizeof(out->vd_matched) - 1;
		while (n > 0 && ((unsigned char)b[n] & 0xc0) == 0x80)
			n--;
	}
	memcpy(out->vd_matched, b, n);
	out->vd_matched[n] = '\0';
}

/*
 * The reply as matched: the text itself, then the same with each line's
 * trailing blanks cut, then with its leading blanks cut too, so a
 * whole-line pattern survives a registry's padding and indentation while
 * a pattern that wants the indentation ("^ +Domain Name:") still finds it.
 */
#define CL_NTEXTS	3

struct cl_texts {
	const char	*ct_text[CL_NTEXTS];
	int		 ct_utf8;	/* a byte beyond ASCII: UTF-8 patterns */
};

static int
cl_isblank(char c)
{
	return c == ' ' || c == '\t' || c == '\v' || c == '\f';
}

static char *
cl_trim_lines(const char *text, size_t len, int leading)
{
	char		*out, *w;
	const char	*b, *e, *end = text + len;

	if ((out = malloc(len + 1)) == NULL)
		return NULL;
	w = out;
	for (b = text; b < end; b = e + 1) {
		if ((e = memchr(b, '\n', (size_t)(end - b))) == NULL)
			e = end;
		while (leading && b < e && cl_isblank(*b))
			b++;
		while (e > b && cl_isblank(e[-1]))
			e--;
		memcpy(w, b, (size_t)(e - b));
		w += e - b;
		/* Skip the blanks cut from the end, to the line's end. */
		while (e < end && *e != '\n')
			e++;
		if (e < end)
			*w++ = '\n';
	}
	*w = '\0';
	return out;
}

/*
 * First pattern of kind k that matches either text: its index, or -1;
 * *off and *which say where.
 */
static int
cl_match(const struct registry *rg, enum registry_kind k,
    const struct cl_texts *tx, size_t *off, int *which)
{
	regmatch_t	 m[1];
	int		 i, t;

	for (i = 0; i < rg->rg_npats[k]; i++) {
		for (t = 0; t < CL_NTEXTS; t++) {
			if (tx->ct_text[t] == NULL || registry_regexec(
			    &rg->rg_pats[k][i], tx->ct_text[t], tx->ct_utf8,
			    1, m) != 0)
				continue;
			*off = (size_t)m[0].rm_so;
			*which = t;
			return i;
		}
	}
	return -1;
}

/*
 * Does the text also match a reserved or registered pattern the registry
 * has not declared compatible with its available reply?
 */
static int
cl_conflict(const struct registry *rg, const struct cl_texts *tx)
{
	static const enum registry_kind	 against[] = {
		RGK_RESERVED, RGK_REGISTERED
	};
	size_t				 i, off;
	int				 which;

	for (i = 0; i < sizeof(against) / sizeof(against[0]); i++)
		if (!(rg->rg_avail_despite & (1 << against[i])) &&
		    cl_match(rg, against[i], tx, &off, &which) >= 0)
			return 1;
	return 0;
}

/* Add the start of the line holding low[at] to lines[], in order. */
static int
cl_held_line(const char *low, size_t at, size_t *lines, size_t *n)
{
	const char	*nl;
	size_t		 ls, i;

	nl = memrchr(low, '\n', at);
	ls = nl == NULL ? 0 : (size_t)(nl - low) + 1;
	for (i = 0; i < *n && lines[i] < ls; i++)
		;
	if (i < *n && lines[i] == ls)
		return 0;
	if (*n == CL_HELD_LINES)
		return -1;
	memmove(lines + i + 1, lines + i, (*n - i) * sizeof(*lines));
	lines[i] = ls;
	(*n)++;
	return 0;
}

/*
 * A status of a held name in the text: 1 with *off at its line; also 1
 * when the pattern could not be compiled, since then nothing proves the
 * name is not held.
 */
static int
cl_held_status(const char *text, size_t *off)
{
	const struct registry_pattern	*re;
	regmatch_t			 m[1];
	const char			*p, *end, *nl;
	char				*low;
	size_t				 len, i, n = 0, sl, lines[CL_HELD_LINES];
	int				 utf8, rc = 0, all = 0;

	*off = 0;
	if ((re = cl_held_re()) == NULL)
		return 1;
	len = strlen(text);
	low = xmalloc(len + 1);
	for (i = 0; i <= len; i++)
		low[i] = text[i] >= 'A' && text[i] <= 'Z' ? text[i] + 32 :
		    text[i];
	end = low + len;
	for (i = 0; i < sizeof(cl_held_stems) / sizeof(cl_held_stems[0]) &&
	    !all; i++) {
		sl = strlen(cl_held_stems[i]);
		for (p = low; (p = memmem(p, (size_t)(end - p),
		    cl_held_stems[i], sl)) != NULL; p += sl) {
			if (cl_held_line(low, (size_t)(p - low), lines,
			    &n) == -1) {
				all = 1;
				break;
			}
		}
	}
	free(low);
	utf8 = registry_text_utf8(text);
	if (all) {
		if (registry_regexec(re, text, utf8, 1, m) != 0)
			return 0;
		*off = (size_t)m[0].rm_so;
		return 1;
	}
	for (i = 0; i < n && !rc; i++) {
		nl = memchr(text + lines[i], '\n', len - lines[i]);
		if (registry_regexec_line(re, text, lines[i], nl == NULL ? len :
		    (size_t)(nl - text), utf8, m) == 0) {
			*off = (size_t)m[0].rm_so;
			rc = 1;
		}
	}
	return rc;
}

static int
cl_blank(const char *s, size_t len)
{
	size_t	 i;

	for (i = 0; i < len; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' &&
		    s[i] != '\n')
			return 0;
	return 1;
}

enum answer_status
classify(const struct registry *rg, const char *reply, size_t len,
    int transport, struct verdict *out)
{
	static const struct {
		enum registry_kind	 k;
		enum answer_status	 s;
		const char		*reason;
	} order[] = {
		{ RGK_THROTTLE, AS_UNKNOWN, "rate-limited" },
		{ RGK_ERROR, AS_UNKNOWN, "registry-error" },
		{ RGK_AVAILABLE, AS_AVAILABLE, "" },
		{ RGK_RESERVED, AS_RESERVED, "" },
		{ RGK_REGISTERED, AS_REGISTERED, "" },
	};
	struct cl_texts	 tx;
	char		*text, *rtrim = NULL, *trimmed = NULL;
	size_t		 i, off = 0, len2;
	int		 r, which = 0;

	memset(out, 0, sizeof(*out));
	out->vd_status = AS_UNKNOWN;	/* not the memset's 0, AS_AVAILABLE */
	out->vd_reason = "internal";
	if (rg == NULL) {
		cl_rule(out, rg, "none");
		return out->vd_status;
	}
	if (rg->rg_nowhois) {
		out->vd_reason = "no-public-channel";
		cl_rule(out, rg, "no-whois");
		return out->vd_status;
	}

	/* 1. Transport: nothing read to the end is worth a verdict. */
	switch (transport) {
	case CLT_OK:
		break;
	case CLT_TIMEOUT:
		out->vd_reason = "timeout";
		break;
	case CLT_RESET:
		out->vd_reason = "reset";
		break;
	case CLT_TRUNCATED:
		out->vd_reason = "truncated";
		break;
	case CLT_EMPTY:
		out->vd_reason = "empty-reply";
		break;
	default:
		out->vd_reason = "internal";
		break;
	}
	if (transport == CLT_OK && (reply == NULL || cl_blank(reply, len)))
		out->vd_reason = "empty-reply";
	else if (transport == CLT_OK)
		out->vd_reason = NULL;
	if (out->vd_reason != NULL) {
		cl_rule(out, rg, "transport");
		return out->vd_status;
	}

	if ((text = classify_text(rg, reply, len, &len2)) == NULL ||
	    (rtrim = cl_trim_lines(text, len2, 0)) == NULL ||
	    (trimmed = cl_trim_lines(text, len2, 1)) == NULL) {
		free(rtrim);
		free(text);
		out->vd_reason = "internal";
		cl_rule(out, rg, "internal");
		return out->vd_status;
	}
	/* Cutting only removes bytes: same length, same text, not tried. */
	tx.ct_text[0] = text;
	tx.ct_text[1] = strlen(rtrim) != len2 ? rtrim : NULL;
	tx.ct_text[2] = strlen(trimmed) != strlen(rtrim) ? trimmed : NULL;
	tx.ct_utf8 = registry_text_utf8(text);

	/* 2-5. Patterns, in the contract's order; the first kind wins. */
	for (i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		if ((r = cl_match(rg, order[i].k, &tx, &off, &which)) < 0)
			continue;
		cl_matched(out, tx.ct_text[which], off);
		/* A broken or hostile reply saying both is no "available". */
		if (order[i].k == RGK_AVAILABLE && cl_conflict(rg, &tx)) {
			out->vd_reason = "conflicting-reply";
			cl_rule(out, rg, "conflict");
			break;
		}
		/* "Not found" for a name the registry holds: no verdict. */
		if (order[i].k == RGK_AVAILABLE && cl_held_status(text, &off)) {
			cl_matched(out, text, off);
			out->vd_reason = "conflicting-reply";
			cl_rule(out, rg, "held-status");
			break;
		}
		/*
		 * The default block's wordings are nobody's verified reply:
		 * for a TLD routed without a block, not found proves nothing.
		 */
		if (order[i].k == RGK_AVAILABLE &&
		    strcmp(rg->rg_name, "default") == 0) {
			out->vd_reason = "not-found-unconfirmed";
			cl_rule(out, rg, "available-unverified");
			break;
		}
		out->vd_status = order[i].s;
		out->vd_reason = order[i].reason;
		cl_rule(out, rg, registry_kind_name(order[i].k));
		if (order[i].k == RGK_THROTTLE) {
			r = registry_retry_after(rg, text);
			out->vd_retry_after = r > 0 ? r : 0;
		}
		break;
	}
	if (i == sizeof(order) / sizeof(order[0])) {
		/* 6. Nothing we know: never a guess. */
		out->vd_reason = "unrecognised-reply";
		cl_rule(out, rg, "unrecognised");
	}
	free(trimmed);
	free(rtrim);
	free(text);
	return out->vd_status;
}
