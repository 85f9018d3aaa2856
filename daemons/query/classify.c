/*
 * classify.c — the verdict on a registry reply.
 *
 * The order of the checks is the contract (SPEC.md): a reply that is a
 * throttle and also says "not found" (AFNIC does that) must be read as a
 * throttle, so throttle and error patterns are tried before the available
 * ones, and "available" is never a default.  An available line next to a
 * registered or reserved line is a conflict, not a verdict.
 */
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemons/query/registries.h"
#include "common/util.h"
#include "daemons/query/classify.h"

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

/* First pattern of kind k that matches: its index, or -1. */
static int
cl_match(const struct registry *rg, enum registry_kind k, const char *text,
    size_t *off)
{
	regmatch_t	 m[1];
	int		 i;

	for (i = 0; i < rg->rg_npats[k]; i++) {
		if (regexec(&rg->rg_pats[k][i].rp_re, text, 1, m, 0) == 0) {
			*off = (size_t)m[0].rm_so;
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
cl_conflict(const struct registry *rg, const char *text)
{
	static const enum registry_kind	 against[] = {
		RGK_RESERVED, RGK_REGISTERED
	};
	size_t				 i, off;

	for (i = 0; i < sizeof(against) / sizeof(against[0]); i++)
		if (!(rg->rg_avail_despite & (1 << against[i])) &&
		    cl_match(rg, against[i], text, &off) >= 0)
			return 1;
	return 0;
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
	char	*text;
	size_t	 i, off = 0;
	int	 r;

	memset(out, 0, sizeof(*out));
	out->vd_status = AS_UNKNOWN;	/* not the memset's 0, AS_AVAILABLE */
	out->vd_reason = "internal";
	if (rg == NULL) {
		cl_rule(out, rg, "none");
		return out->vd_status;
	}
	if (rg->rg_nowhois) {
		out->vd_reason = "no-whois-service";
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

	if ((text = classify_text(rg, reply, len, NULL)) == NULL) {
		out->vd_reason = "internal";
		cl_rule(out, rg, "internal");
		return out->vd_status;
	}

	/* 2-5. Patterns, in the contract's order; the first kind wins. */
	for (i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		if ((r = cl_match(rg, order[i].k, text, &off)) < 0)
			continue;
		cl_matched(out, text, off);
		/* A broken or hostile reply saying both is no "available". */
		if (order[i].k == RGK_AVAILABLE && cl_conflict(rg, text)) {
			out->vd_reason = "conflicting-reply";
			cl_rule(out, rg, "conflict");
			free(text);
			return out->vd_status;
		}
		out->vd_status = order[i].s;
		out->vd_reason = order[i].reason;
		cl_rule(out, rg, registry_kind_name(order[i].k));
		if (order[i].k == RGK_THROTTLE) {
			r = registry_retry_after(rg, text);
			out->vd_retry_after = r > 0 ? r : 0;
		}
		free(text);
		return out->vd_status;
	}

	/* 6. Nothing we know: never a guess. */
	out->vd_reason = "unrecognised-reply";
	cl_rule(out, rg, "unrecognised");
	free(text);
	return out->vd_status;
}
