/*
 * msg_error.c — whoisd-errdb's messages: whoisd-query reports a registry
 * failure with error and asks health before it tries a registry;
 * whoisctl lists the recorded events with errors, and ends a registry's
 * back-off with health_clear.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "proto/msg.h"
#include "proto/msg_priv.h"

static const struct msg_field errevent_fields[] = {
	{ "eid", MF_STR, offsetof(struct errevent, ev_eid),
	    MF_SIZE(struct errevent, ev_eid), 0, NULL },
	{ "host", MF_STR, offsetof(struct errevent, ev_host),
	    MF_SIZE(struct errevent, ev_host), 0, NULL },
	{ "daemon", MF_STR, offsetof(struct errevent, ev_daemon),
	    MF_SIZE(struct errevent, ev_daemon), 0, NULL },
	{ "registry", MF_STR, offsetof(struct errevent, ev_registry),
	    MF_SIZE(struct errevent, ev_registry), 0, NULL },
	{ "domain", MF_STR, offsetof(struct errevent, ev_domain),
	    MF_SIZE(struct errevent, ev_domain), 0, NULL },
	{ "kind", MF_STR, offsetof(struct errevent, ev_kind),
	    MF_SIZE(struct errevent, ev_kind), 0, NULL },
	{ "msg", MF_STR, offsetof(struct errevent, ev_msg),
	    MF_SIZE(struct errevent, ev_msg), MO_CUT, NULL },
	{ "time", MF_FLOAT, offsetof(struct errevent, ev_time), 0, 0, NULL },
	{ "retry_after", MF_UINT, offsetof(struct errevent, ev_retry_after),
	    0, MF_OMIT | MO_OPT, NULL },
	{ NULL, 0, 0, 0, 0, NULL }
};

static const char *health_states[] = { HEALTH_OK, HEALTH_DEGRADED,
    HEALTH_BACKOFF, NULL };

static const struct msg_field reghealth_fields[] = {
	{ "registry", MF_STR, offsetof(struct reghealth, rh_registry),
	    MF_SIZE(struct reghealth, rh_registry), 0, NULL },
	{ "state", MF_STR, offsetof(struct reghealth, rh_state),
	    MF_SIZE(struct reghealth, rh_state), 0, health_states },
	{ "until", MF_FLOAT, offsetof(struct reghealth, rh_until), 0, 0,
	    NULL },
	{ "recent", MF_UINT, offsetof(struct reghealth, rh_recent), 0, 0,
	    NULL },
	{ NULL, 0, 0, 0, 0, NULL }
};

/* Every filter is optional and left out when unset. */
static const struct msg_field errors_fields[] = {
	{ "registry", MF_STR, offsetof(struct msg_errors, es_registry),
	    MF_SIZE(struct msg_errors, es_registry), MF_OMIT | MO_OPT, NULL },
	{ "kind", MF_STR, offsetof(struct msg_errors, es_kind),
	    MF_SIZE(struct msg_errors, es_kind), MF_OMIT | MO_OPT, NULL },
	{ "since", MF_FLOAT, offsetof(struct msg_errors, es_since), 0,
	    MF_OMIT | MO_OPT, NULL },
	{ "limit", MF_UINT, offsetof(struct msg_errors, es_limit), 0,
	    MF_OMIT | MO_OPT, NULL },
	{ NULL, 0, 0, 0, 0, NULL }
};

/* The eid is the idempotency key: an event without one cannot be stored. */
static int
errevent_check(const void *p, char *err, size_t errlen)
{
	const struct errevent	*e = p;

	if (e->ev_eid[0] == '\0') {
		snprintf(err, errlen, "key eid: empty");
		return -1;
	}
	return 0;
}

int
msg_pack_error(struct msgb *b, uint64_t id, int version,
    const struct errevent *e)
{
	return msg_pack_record(b, MSG_ERROR, id, version, errevent_fields, e);
}

int
msg_read_error(const struct msg *m, struct errevent *e, char *err,
    size_t errlen)
{
	memset(e, 0, sizeof(*e));
	if (msg_read_record(m, MSG_ERROR, errevent_fields, e, err,
	    errlen) == -1)
		return -1;
	return errevent_check(e, err, errlen);
}

int
msg_pack_health(struct msgb *b, uint64_t id, int version,
    const char *registry)
{
	int	has = registry != NULL && registry[0] != '\0';

	msgb_begin(b, "health", id, has, version);
	if (has)
		msgb_str(b, "registry", registry);
	return msgb_end(b);
}

int
msg_read_health(const struct msg *m, char *registry, size_t len, char *err,
    size_t errlen)
{
	if (msg_expect(m, MSG_HEALTH, err, errlen) == -1)
		return -1;
	return mo_str(m->m_map, "registry", registry, len, MO_OPT, err,
	    errlen) == -1 ? -1 : 0;
}

int
msg_pack_health_r(struct msgb *b, uint64_t id, int version,
    const struct reghealth *h, size_t n)
{
	return msg_pack_records(b, MSG_HEALTH_R, id, version, "regs",
	    reghealth_fields, h, sizeof(*h), n);
}

int
msg_read_health_r(const struct msg *m, struct reghealth **out, size_t *n,
    char *err, size_t errlen)
{
	void	*p;
	int	 r;

	r = msg_read_records(m, MSG_HEALTH_R, "regs", reghealth_fields,
	    sizeof(**out), NULL, &p, n, err, errlen);
	*out = p;
	return r;
}

int
msg_pack_health_clear(struct msgb *b, uint64_t id, int version,
    const char *registry)
{
	msgb_begin(b, "health_clear", id, 1, version);
	msgb_str(b, "registry", registry != NULL ? registry : "");
	return msgb_end(b);
}

int
msg_read_health_clear(const struct msg *m, char *registry, size_t len,
    char *err, size_t errlen)
{
	if (msg_expect(m, MSG_HEALTH_CLEAR, err, errlen) == -1 ||
	    mo_str(m->m_map, "registry", registry, len, 0, err, errlen) == -1)
		return -1;
	if (registry[0] == '\0') {
		snprintf(err, errlen, "key registry: empty");
		return -1;
	}
	return 0;
}

int
msg_pack_ok_n(struct msgb *b, uint64_t id, int version, uint64_t n)
{
	msgb_begin(b, "ok", id, 1, version);
	msgb_uint(b, "n", n);
	return msgb_end(b);
}

int
msg_read_ok_n(const struct msg *m, uint64_t *n, char *err, size_t errlen)
{
	*n = 0;
	if (msg_expect(m, MSG_OK, err, errlen) == -1)
		return -1;
	return mo_uint(m->m_map, "n", n, 0, err, errlen);
}

int
msg_pack_errors(struct msgb *b, uint64_t id, int version,
    const struct msg_errors *q)
{
	return msg_pack_record(b, MSG_ERRORS, id, version, errors_fields, q);
}

int
msg_read_errors(const struct msg *m, struct msg_errors *q, char *err,
    size_t errlen)
{
	memset(q, 0, sizeof(*q));
	return msg_read_record(m, MSG_ERRORS, errors_fields, q, err, errlen);
}

int
msg_pack_errors_r(struct msgb *b, uint64_t id, int version,
    const struct errevent *e, size_t n)
{
	return msg_pack_records(b, MSG_ERRORS_R, id, version, "events",
	    errevent_fields, e, sizeof(*e), n);
}

int
msg_read_errors_r(const struct msg *m, struct errevent **out, size_t *n,
    char *err, size_t errlen)
{
	void	*p;
	int	 r;

	r = msg_read_records(m, MSG_ERRORS_R, "events", errevent_fields,
	    sizeof(**out), errevent_check, &p, n, err, errlen);
	*out = p;
	return r;
}
