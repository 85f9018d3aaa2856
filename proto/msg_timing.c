/*
 * msg_timing.c — registry latencies: whoisd-query reports each whois
 * exchange to whoisd-cache with timing, and asks for the percentiles it
 * adapts its timeouts to with timing_get, answered by timing_r.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "proto/msg.h"
#include "proto/msg_priv.h"

static const char *timing_outcomes[] = { TIMING_OK, TIMING_FAIL,
    TIMING_RATELIMITED, NULL };

static const struct msg_field timing_fields[] = {
	{ "registry", MF_STR, offsetof(struct msg_timing, tm_registry),
	    MF_SIZE(struct msg_timing, tm_registry), 0, NULL },
	{ "ms", MF_UINT, offsetof(struct msg_timing, tm_ms), 0, 0, NULL },
	{ "outcome", MF_STR, offsetof(struct msg_timing, tm_outcome),
	    MF_SIZE(struct msg_timing, tm_outcome), 0, timing_outcomes },
	{ NULL, 0, 0, 0, 0, NULL }
};

static const struct msg_field timing_r_fields[] = {
	{ "registry", MF_STR, offsetof(struct msg_timing_r, tr_registry),
	    MF_SIZE(struct msg_timing_r, tr_registry), 0, NULL },
	{ "n", MF_UINT, offsetof(struct msg_timing_r, tr_n), 0, 0, NULL },
	{ "p50", MF_UINT, offsetof(struct msg_timing_r, tr_p50), 0, 0, NULL },
	{ "p90", MF_UINT, offsetof(struct msg_timing_r, tr_p90), 0, 0, NULL },
	{ "p99", MF_UINT, offsetof(struct msg_timing_r, tr_p99), 0, 0, NULL },
	{ "ok", MF_UINT, offsetof(struct msg_timing_r, tr_ok), 0, 0, NULL },
	{ "fail", MF_UINT, offsetof(struct msg_timing_r, tr_fail), 0, 0,
	    NULL },
	{ "last_ratelimit", MF_FLOAT,
	    offsetof(struct msg_timing_r, tr_last_ratelimit), 0, 0, NULL },
	{ NULL, 0, 0, 0, 0, NULL }
};

int
msg_pack_timing(struct msgb *b, uint64_t id, int version,
    const struct msg_timing *t)
{
	return msg_pack_record(b, MSG_TIMING, id, version, timing_fields, t);
}

int
msg_read_timing(const struct msg *m, struct msg_timing *t, char *err,
    size_t errlen)
{
	memset(t, 0, sizeof(*t));
	return msg_read_record(m, MSG_TIMING, timing_fields, t, err, errlen);
}

int
msg_pack_timing_get(struct msgb *b, uint64_t id, int version,
    const char *registry)
{
	msgb_begin(b, "timing_get", id, 1, version);
	msgb_str(b, "registry", registry);
	return msgb_end(b);
}

int
msg_read_timing_get(const struct msg *m, char *registry, size_t len,
    char *err, size_t errlen)
{
	if (msg_expect(m, MSG_TIMING_GET, err, errlen) == -1)
		return -1;
	return mo_str(m->m_map, "registry", registry, len, 0, err, errlen);
}

int
msg_pack_timing_r(struct msgb *b, uint64_t id, int version,
    const struct msg_timing_r *t)
{
	return msg_pack_record(b, MSG_TIMING_R, id, version, timing_r_fields,
	    t);
}

int
msg_read_timing_r(const struct msg *m, struct msg_timing_r *t, char *err,
    size_t errlen)
{
	memset(t, 0, sizeof(*t));
	return msg_read_record(m, MSG_TIMING_R, timing_r_fields, t, err,
	    errlen);
}
