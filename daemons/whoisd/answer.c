/*
 * answer.c — builds the whois text and the JSON of one answer.  The whois
 * port sends the text (straight from iovecs, see answer_whois_iov()),
 * /v1/whois the same text, /v1/check the JSON; the ports only carry them.
 */
#include <sys/uio.h>

#include <stdint.h>
#include <string.h>

#include <event2/buffer.h>

#include "common/name.h"
#include "common/util.h"
#include "daemons/whoisd/whoisd.h"

/*
 * The header lines of an answer (everything before the registry text)
 * go into a flat buffer: a cache hit is then one sendmsg() of the header
 * and the memo's text, with no copy of the text and no evbuffer.
 */
#define ANSWER_HEAD_MAX	(sizeof(struct answer) + NAME_ACE_BUF + 512)

struct answer_head {
	char	ah_buf[ANSWER_HEAD_MAX];
	size_t	ah_len;
};

static struct answer_head	answer_head;

static void
ah_add(struct answer_head *h, const char *s, size_t len)
{
	if (len > sizeof(h->ah_buf) - h->ah_len)
		len = sizeof(h->ah_buf) - h->ah_len;	/* cannot happen */
	memcpy(h->ah_buf + h->ah_len, s, len);
	h->ah_len += len;
}

static void
ah_str(struct answer_head *h, const char *s)
{
	ah_add(h, s, strlen(s));
}

/* "key" value "\n" */
static void
ah_line(struct answer_head *h, const char *key, const char *v)
{
	ah_str(h, key);
	ah_str(h, v);
	ah_add(h, "\n", 1);
}

static void
ah_u64(struct answer_head *h, const char *key, uint64_t v)
{
	char	buf[24];

	ah_str(h, key);
	ah_add(h, buf, fmt_u64(v, buf));
	ah_add(h, "\n", 1);
}

static void
answer_whois_head(struct answer_head *h, const struct answer *a,
    const char *note)
{
	char	ts[32];

	h->ah_len = 0;
	ah_line(h, "domain: ", a->a_domain);
	if (a->a_ace[0] != '\0')
		ah_line(h, "ace: ", a->a_ace);
	ah_line(h, "status: ", answer_status_name(a->a_status));
	if (a->a_reason[0] != '\0')
		ah_line(h, "reason: ", a->a_reason);
	if (a->a_status != AS_INVALID) {
		ah_line(h, "source: ", answer_source_name(a->a_source));
		ah_line(h, "channel: ", answer_channel_name(a->a_channel));
		fmt_iso8601(a->a_checked, ts, sizeof(ts));
		ah_line(h, "checked: ", ts);
		if (a->a_registry[0] != '\0')
			ah_line(h, "registry: ", a->a_registry);
		ah_u64(h, "registry-latency-ms: ", a->a_latency_ms);
	}
	if (a->a_retry_after > 0)
		ah_u64(h, "retry-after: ", a->a_retry_after);
	if (a->a_reg_created > 0) {
		fmt_iso8601(a->a_reg_created, ts, sizeof(ts));
		ah_line(h, "created: ", ts);
	}
	if (a->a_reg_expires > 0) {
		fmt_iso8601(a->a_reg_expires, ts, sizeof(ts));
		ah_line(h, "registration-expires: ", ts);
	}
	if (a->a_nameservers[0] != '\0')
		ah_line(h, "nameservers: ", a->a_nameservers);
	if (a->a_rule[0] != '\0')
		ah_line(h, "rule: ", a->a_rule);
	if (a->a_matched[0] != '\0')
		ah_line(h, "matched: ", a->a_matched);
	if (note != NULL)
		ah_line(h, "note: ", note);
}

int
answer_whois_iov(struct iovec *iov, const struct answer *a, const char *note)
{
	static char	nl[] = "\n";
	int		n = 0;

	answer_whois_head(&answer_head, a, note);
	iov[n].iov_base = answer_head.ah_buf;
	iov[n++].iov_len = answer_head.ah_len;
	if (a->a_text != NULL && a->a_text_len > 0) {
		iov[n].iov_base = nl;
		iov[n++].iov_len = 1;
		iov[n].iov_base = a->a_text;
		iov[n++].iov_len = a->a_text_len;
		if (a->a_text[a->a_text_len - 1] != '\n') {
			iov[n].iov_base = nl;
			iov[n++].iov_len = 1;
		}
	}
	return n;
}

/* The answer as the whois port (and /v1/whois) shows it. */
void
answer_whois(struct evbuffer *out, const struct answer *a, const char *note)
{
	struct iovec	iov[4];
	int		i, n;

	n = answer_whois_iov(iov, a, note);
	for (i = 0; i < n; i++)
		evbuffer_add(out, iov[i].iov_base, iov[i].iov_len);
}

/* "a b c" as ,"nameservers":["a","b","c"] */
static void
answer_json_ns(struct evbuffer *b, const char *ns)
{
	char	host[ANSWER_NS_LEN];
	size_t	n;
	int	first = 1;

	out_str(b, ",\"nameservers\":[");
	while (*ns != '\0') {
		n = strcspn(ns, " ");
		if (n > 0) {
			memcpy(host, ns, n);
			host[n] = '\0';
			if (!first)
				out_str(b, ",");
			json_str(b, host);
			first = 0;
		}
		ns += n;
		while (*ns == ' ')
			ns++;
	}
	out_str(b, "]");
}

/*
 * The members of an answer's JSON after "domain" (which is the name as
 * asked, so not the memo's to keep), without the note and the closing
 * brace: what a memo entry keeps ready to copy.
 */
void
answer_json_rest(struct evbuffer *b, const struct answer *a)
{
	char	ts[32];

	out_str(b, ",\"ace\":");
	json_str(b, a->a_ace);
	out_str(b, ",\"status\":");
	json_str(b, answer_status_name(a->a_status));
	if (a->a_reason[0] != '\0') {
		out_str(b, ",\"reason\":");
		json_str(b, a->a_reason);
	}
	if (a->a_status != AS_INVALID) {
		fmt_iso8601(a->a_checked, ts, sizeof(ts));
		out_str(b, ",\"source\":");
		json_str(b, answer_source_name(a->a_source));
		out_str(b, ",\"channel\":");
		json_str(b, answer_channel_name(a->a_channel));
		out_str(b, ",\"checked\":\"");
		out_str(b, ts);
		/* Unknown is never trusted: it expires as it is checked. */
		fmt_iso8601(a->a_expires > a->a_checked ? a->a_expires :
		    a->a_checked, ts, sizeof(ts));
		out_str(b, "\",\"expires\":\"");
		out_str(b, ts);
		out_str(b, "\",\"registry\":");
		json_str(b, a->a_registry);
		out_str(b, ",\"latency_ms\":");
		out_u64(b, a->a_latency_ms);
	}
	if (a->a_retry_after > 0) {
		out_str(b, ",\"retry_after\":");
		out_u64(b, a->a_retry_after);
	}
	if (a->a_reg_created > 0) {
		fmt_iso8601(a->a_reg_created, ts, sizeof(ts));
		out_str(b, ",\"created\":");
		json_str(b, ts);
	}
	if (a->a_reg_expires > 0) {
		fmt_iso8601(a->a_reg_expires, ts, sizeof(ts));
		out_str(b, ",\"registration_expires\":");
		json_str(b, ts);
	}
	if (a->a_nameservers[0] != '\0')
		answer_json_ns(b, a->a_nameservers);
	if (a->a_rule[0] != '\0') {
		out_str(b, ",\"rule\":");
		json_str(b, a->a_rule);
	}
	if (a->a_matched[0] != '\0') {
		out_str(b, ",\"matched\":");
		json_str(b, a->a_matched);
	}
}

/* The answer as /v1/check shows it: one JSON object. */
void
answer_json(struct evbuffer *b, const struct answer *a, const char *note)
{
	const char		*rest, *d = a->a_domain;
	struct evbuffer_iovec	 v;
	char			*p;
	size_t			 len, dlen, i;

	/* A memo hit with a name that needs no escape: written in place,
	 * one copy of the entry's JSON. */
	if (note == NULL && (rest = lookup_memo_json(a, &len)) != NULL) {
		dlen = strlen(d);
		for (i = 0; i < dlen; i++)
			if ((unsigned char)d[i] < 0x20 || (unsigned char)d[i] >=
			    0x7f || d[i] == '"' || d[i] == '\\')
				break;
		if (i == dlen &&
		    evbuffer_reserve_space(b, 13 + dlen + len, &v, 1) == 1) {
			p = v.iov_base;
			memcpy(p, "{\"domain\":\"", 11);
			memcpy(p + 11, d, dlen);
			p[11 + dlen] = '"';
			memcpy(p + 12 + dlen, rest, len);
			p[12 + dlen + len] = '}';
			v.iov_len = 13 + dlen + len;
			if (evbuffer_commit_space(b, &v, 1) == 0)
				return;
		}
	}
	out_str(b, "{\"domain\":");
	json_str(b, a->a_domain);
	if ((rest = lookup_memo_json(a, &len)) != NULL)
		evbuffer_add(b, rest, len);
	else
		answer_json_rest(b, a);
	if (note != NULL) {
		out_str(b, ",\"note\":");
		json_str(b, note);
	}
	evbuffer_add(b, "}", 1);
}
