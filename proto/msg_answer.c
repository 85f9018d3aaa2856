/*
 * msg_answer.c — the lookup path: the answer record and the messages
 * that ask for it or carry it.  The front sends get and put to
 * whoisd-cache and query to whoisd-query; get_r and query_r bring the
 * answer back under key `a`.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <msgpack.h>

#include "common/util.h"
#include "proto/msg.h"
#include "proto/msg_priv.h"

/* The names by value, NULL-ended for the answer's MF_ENUM rows. */
static const char *const answer_statuses[AS_NSTATUS + 1] = {
	[AS_AVAILABLE] = "available",
	[AS_REGISTERED] = "registered",
	[AS_RESERVED] = "reserved",
	[AS_INVALID] = "invalid",
	[AS_UNKNOWN] = "unknown",
	[AS_NSTATUS] = NULL
};
static const char *const answer_sources[SRC_NSOURCE + 1] = {
	[SRC_CACHE] = "cache",
	[SRC_REGISTRY] = "registry",
	[SRC_STALE] = "stale",
	[SRC_NSOURCE] = NULL
};
static const char *const answer_channels[CH_NCHANNEL + 1] = {
	[CH_WHOIS] = "whois",
	[CH_DNS] = "dns",
	[CH_RDAP] = "rdap",
	[CH_NCHANNEL] = NULL
};

/* An MF_ENUM row reads and writes the member as an int. */
_Static_assert(sizeof(enum answer_status) == sizeof(int),
    "enum answer_status is not int-sized");
_Static_assert(sizeof(enum answer_source) == sizeof(int),
    "enum answer_source is not int-sized");

/*
 * The answer's fields in wire order, but for the text, which is packed
 * between these and answer_after_text (and read last).
 */
static const struct msg_field answer_fields[] = {
	{ "domain", MF_STR, offsetof(struct answer, a_domain),
	    MF_SIZE(struct answer, a_domain), 0, NULL },
	{ "ace", MF_STR, offsetof(struct answer, a_ace),
	    MF_SIZE(struct answer, a_ace), 0, NULL },
	{ "status", MF_ENUM, offsetof(struct answer, a_status),
	    ANSWER_STATUS_LEN, 0, answer_statuses },
	{ "reason", MF_STR, offsetof(struct answer, a_reason),
	    MF_SIZE(struct answer, a_reason), MF_OMIT | MO_OPT | MO_CUT, NULL },
	{ "source", MF_ENUM, offsetof(struct answer, a_source),
	    ANSWER_SOURCE_LEN, 0, answer_sources },
	{ "checked", MF_FLOAT, offsetof(struct answer, a_checked), 0, 0,
	    NULL },
	{ "expires", MF_FLOAT, offsetof(struct answer, a_expires), 0,
	    MF_OMIT | MO_OPT, NULL },
	{ "registry", MF_STR, offsetof(struct answer, a_registry),
	    MF_SIZE(struct answer, a_registry), 0, NULL },
	{ "latency_ms", MF_UINT, offsetof(struct answer, a_latency_ms), 0, 0,
	    NULL },
	{ "rule", MF_STR, offsetof(struct answer, a_rule),
	    MF_SIZE(struct answer, a_rule),
	    MF_SINCE_V2 | MF_OMIT | MO_OPT | MO_CUT, NULL },
	{ "matched", MF_STR, offsetof(struct answer, a_matched),
	    MF_SIZE(struct answer, a_matched),
	    MF_SINCE_V2 | MF_OMIT | MO_OPT | MO_CUT, NULL },
	{ NULL, 0, 0, 0, 0, NULL }
};

static const struct msg_field answer_after_text[] = {
	{ "retry_after", MF_UINT, offsetof(struct answer, a_retry_after), 0,
	    MF_OMIT | MO_OPT, NULL },
	/* Absent unless an RDAP reply gave them: older peers ignore them. */
	{ "reg_created", MF_FLOAT, offsetof(struct answer, a_reg_created), 0,
	    MF_OMIT | MO_OPT, NULL },
	{ "reg_expires", MF_FLOAT, offsetof(struct answer, a_reg_expires), 0,
	    MF_OMIT | MO_OPT, NULL },
	{ "nameservers", MF_STR, offsetof(struct answer, a_nameservers),
	    MF_SIZE(struct answer, a_nameservers), MF_OMIT | MO_OPT | MO_CUT,
	    NULL },
	{ NULL, 0, 0, 0, 0, NULL }
};

static const struct msg_field query_fields[] = {
	{ "domain", MF_STR, offsetof(struct msg_query, q_domain),
	    MF_SIZE(struct msg_query, q_domain), 0, NULL },
	{ "deadline_ms", MF_UINT, offsetof(struct msg_query, q_deadline_ms),
	    0, 0, NULL },
	/* Optional: an older front sends none, and its bytes are unchanged. */
	{ "client", MF_STR, offsetof(struct msg_query, q_client),
	    MF_SIZE(struct msg_query, q_client), MF_OMIT | MO_OPT | MO_CUT,
	    NULL },
	{ "bulk", MF_BOOL, offsetof(struct msg_query, q_bulk), 0,
	    MF_OMIT | MO_OPT, NULL },
	{ "full", MF_BOOL, offsetof(struct msg_query, q_full), 0,
	    MF_OMIT | MO_OPT, NULL },
	{ NULL, 0, 0, 0, 0, NULL }
};

/* The index of s in a NULL-ended table of names, or -1. */
static int
answer_name_index(const char *const *names, const char *s)
{
	int	i;

	for (i = 0; names[i] != NULL; i++)
		if (strcmp(s, names[i]) == 0)
			return i;
	return -1;
}

const char *
answer_status_name(enum answer_status s)
{
	if ((int)s < 0 || s >= AS_NSTATUS)
		return NULL;
	return answer_statuses[s];
}

int
answer_status_parse(const char *s, enum answer_status *out)
{
	int	i;

	if ((i = answer_name_index(answer_statuses, s)) == -1)
		return -1;
	*out = (enum answer_status)i;
	return 0;
}

const char *
answer_source_name(enum answer_source s)
{
	if ((int)s < 0 || s >= SRC_NSOURCE)
		return NULL;
	return answer_sources[s];
}

int
answer_source_parse(const char *s, enum answer_source *out)
{
	int	i;

	if ((i = answer_name_index(answer_sources, s)) == -1)
		return -1;
	*out = (enum answer_source)i;
	return 0;
}

const char *
answer_channel_name(enum answer_channel c)
{
	if ((int)c < 0 || c >= CH_NCHANNEL)
		return NULL;
	return answer_channels[c];
}

void
answer_free(struct answer *a)
{
	free(a->a_text);
	a->a_text = NULL;
	a->a_text_len = 0;
}

void
answer_set_text(struct answer *a, const void *text, size_t len)
{
	answer_free(a);
	if (text == NULL || len == 0)
		return;
	a->a_text = xmalloc(len + 1);
	memcpy(a->a_text, text, len);
	a->a_text[len] = '\0';
	a->a_text_len = len;
}

void
answer_copy(struct answer *dst, const struct answer *src)
{
	*dst = *src;
	dst->a_text = NULL;
	dst->a_text_len = 0;
	answer_set_text(dst, src->a_text, src->a_text_len);
}

/* Packs the answer as a map under `key`. */
static void
answer_pack(struct msgb *b, const char *key, const struct answer *a)
{
	const char	*ch = NULL;
	int		 v = b->mb_version;

	/* whois, the default, is never written: absent means whois. */
	if (a->a_channel != CH_WHOIS &&
	    (ch = answer_channel_name(a->a_channel)) == NULL)
		b->mb_err = 1;			/* msgb_end() fails */
	msgb_map(b, key, mf_count(answer_fields, a, v) + (ch != NULL) +
	    (a->a_text_len > 0) + mf_count(answer_after_text, a, v));
	mf_pack(b, answer_fields, a);
	if (ch != NULL)
		msgb_str(b, "channel", ch);
	if (a->a_text_len > 0)
		msgb_bin(b, "text", a->a_text, a->a_text_len);
	mf_pack(b, answer_after_text, a);
}

/* Reads the answer map under key `a`. */
static int
answer_read_key(const struct msg *m, struct answer *a, char *err,
    size_t errlen)
{
	const msgpack_object	*o;
	const void		*text;
	size_t			 tlen;
	char			 ch[ANSWER_CHANNEL_LEN];
	int			 i;

	memset(a, 0, sizeof(*a));
	ch[0] = '\0';
	if (mo_container(m->m_map, "a", MSGPACK_OBJECT_MAP, &o, 0, err,
	    errlen) == -1)
		return -1;
	if (mf_read(o, answer_fields, a, err, errlen) == -1 ||
	    mf_read(o, answer_after_text, a, err, errlen) == -1 ||
	    mo_str(o, "channel", ch, sizeof(ch), MO_OPT | MO_CUT, err,
	    errlen) == -1 ||
	    mo_bytes(o, "text", &text, &tlen, MO_OPT, err, errlen) == -1)
		return mo_where("a", err, errlen);
	/*
	 * Informational, like rule and matched: a channel a newer peer
	 * added is read as whois rather than losing the verdict.
	 */
	if ((i = answer_name_index(answer_channels, ch)) > 0)
		a->a_channel = (enum answer_channel)i;
	answer_set_text(a, text, tlen);
	return 0;
}

int
msg_pack_get(struct msgb *b, uint64_t id, int version, const struct msg_get *g)
{
	msgb_begin(b, "get", id, 2 + (g->g_notext != 0) +
	    3 * (g->g_if_checked > 0), version);
	msgb_str(b, "domain", g->g_domain);
	msgb_bool(b, "lease", g->g_lease);
	/* Written only when false: older peers ignore it and send text. */
	if (g->g_notext)
		msgb_bool(b, "text", 0);
	/* Older caches ignore these and send the whole answer. */
	if (g->g_if_checked > 0) {
		msgb_float(b, "if_checked", g->g_if_checked);
		msgb_float(b, "if_expires", g->g_if_expires);
		msgb_str(b, "if_status", answer_status_name(g->g_if_status));
	}
	return msgb_end(b);
}

int
msg_read_get(const struct msg *m, struct msg_get *g, char *err, size_t errlen)
{
	char	status[ANSWER_STATUS_LEN];
	int	text;

	memset(g, 0, sizeof(*g));
	if (msg_expect(m, MSG_GET, err, errlen) == -1 ||
	    mo_str(m->m_map, "domain", g->g_domain, sizeof(g->g_domain), 0,
	    err, errlen) == -1 ||
	    mo_bool(m->m_map, "lease", &g->g_lease, MO_OPT, err, errlen) == -1)
		return -1;
	text = 1;
	if (mo_bool(m->m_map, "text", &text, MO_OPT, err, errlen) == -1)
		return -1;
	g->g_notext = !text;
	if (mo_float(m->m_map, "if_checked", &g->g_if_checked, MO_OPT, err,
	    errlen) == -1 ||
	    mo_float(m->m_map, "if_expires", &g->g_if_expires, MO_OPT, err,
	    errlen) == -1 ||
	    mo_str(m->m_map, "if_status", status, sizeof(status), MO_OPT,
	    err, errlen) == -1)
		return -1;
	if (g->g_if_checked > 0 && status[0] == '\0') {
		snprintf(err, errlen, "get: if_checked without if_status");
		return -1;
	}
	/* A status we do not know matches no entry: the whole answer. */
	if (g->g_if_checked > 0 && answer_status_parse(status,
	    &g->g_if_status) == -1)
		g->g_if_checked = 0;
	return 0;
}

int
msg_pack_get_r(struct msgb *b, uint64_t id, int version,
    const struct msg_get_r *gr)
{
	int	same = gr->gr_found && gr->gr_same;

	msgb_begin(b, "get_r", id, 3 + (gr->gr_found != 0), version);
	msgb_bool(b, "found", gr->gr_found);
	msgb_bool(b, "stale", gr->gr_stale);
	msgb_str(b, "lease", gr->gr_lease[0] != '\0' ? gr->gr_lease :
	    GET_LEASE_NONE);
	/* Only to an asker that sent "if", so only peers that know it. */
	if (same)
		msgb_bool(b, "same", 1);
	else if (gr->gr_found)
		answer_pack(b, "a", &gr->gr_answer);
	return msgb_end(b);
}

int
msg_read_get_r(const struct msg *m, struct msg_get_r *gr, char *err,
    size_t errlen)
{
	memset(gr, 0, sizeof(*gr));
	if (msg_expect(m, MSG_GET_R, err, errlen) == -1 ||
	    mo_bool(m->m_map, "found", &gr->gr_found, 0, err, errlen) == -1 ||
	    mo_bool(m->m_map, "stale", &gr->gr_stale, MO_OPT, err,
	    errlen) == -1)
		return -1;
	if (mo_str(m->m_map, "lease", gr->gr_lease, sizeof(gr->gr_lease),
	    MO_OPT, err, errlen) == -1)
		return -1;
	if (gr->gr_lease[0] == '\0')
		snprintf(gr->gr_lease, sizeof(gr->gr_lease), "%s",
		    GET_LEASE_NONE);
	if (mo_bool(m->m_map, "same", &gr->gr_same, MO_OPT, err, errlen) == -1)
		return -1;
	if (gr->gr_same && (!gr->gr_found || gr->gr_stale)) {
		snprintf(err, errlen, "get_r: same without a fresh entry");
		return -1;
	}
	if (gr->gr_found && !gr->gr_same && answer_read_key(m,
	    &gr->gr_answer, err, errlen) == -1)
		return -1;
	return 0;
}

/* put and query_r: the answer alone, under key `a`. */
static int
answer_msg_pack(struct msgb *b, enum msg_type t, uint64_t id, int version,
    const struct answer *a)
{
	msgb_begin(b, msg_type_name(t), id, 1, version);
	answer_pack(b, "a", a);
	return msgb_end(b);
}

static int
answer_msg_read(const struct msg *m, enum msg_type t, struct answer *a,
    char *err, size_t errlen)
{
	memset(a, 0, sizeof(*a));
	if (msg_expect(m, t, err, errlen) == -1)
		return -1;
	return answer_read_key(m, a, err, errlen);
}

int
msg_pack_put(struct msgb *b, uint64_t id, int version, const struct answer *a)
{
	return answer_msg_pack(b, MSG_PUT, id, version, a);
}

int
msg_read_put(const struct msg *m, struct answer *a, char *err, size_t errlen)
{
	return answer_msg_read(m, MSG_PUT, a, err, errlen);
}

int
msg_pack_query(struct msgb *b, uint64_t id, int version,
    const struct msg_query *q)
{
	return msg_pack_record(b, MSG_QUERY, id, version, query_fields, q);
}

int
msg_read_query(const struct msg *m, struct msg_query *q, char *err,
    size_t errlen)
{
	memset(q, 0, sizeof(*q));
	return msg_read_record(m, MSG_QUERY, query_fields, q, err, errlen);
}

int
msg_pack_query_r(struct msgb *b, uint64_t id, int version,
    const struct answer *a)
{
	return answer_msg_pack(b, MSG_QUERY_R, id, version, a);
}

int
msg_read_query_r(const struct msg *m, struct answer *a, char *err,
    size_t errlen)
{
	return answer_msg_read(m, MSG_QUERY_R, a, err, errlen);
}
