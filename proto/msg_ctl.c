/*
 * msg_ctl.c — what whoisctl asks the daemons: stats (every daemon's
 * counters) and purge (cache entries), with their replies.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <msgpack.h>

#include "common/log.h"
#include "common/util.h"
#include "proto/msg.h"
#include "proto/msg_priv.h"

/* A purge names a domain, or says all. */
static const struct msg_field purge_fields[] = {
	{ "domain", MF_STR, offsetof(struct msg_purge, pg_domain),
	    MF_SIZE(struct msg_purge, pg_domain), MF_OMIT | MO_OPT, NULL },
	{ "all", MF_BOOL, offsetof(struct msg_purge, pg_all), 0, MO_OPT,
	    NULL },
	{ NULL, 0, 0, 0, 0, NULL }
};

int
msg_pack_stats(struct msgb *b, uint64_t id, int version)
{
	msgb_begin(b, "stats", id, 0, version);
	return msgb_end(b);
}

void
msg_counters_add(struct msg_counters *cs, const char *name, uint64_t v)
{
	struct msg_counter	*c;

	if (cs->mcs_n == nitems(cs->mcs_c))
		fatalx("%s: no room for %s", __func__, name);
	c = &cs->mcs_c[cs->mcs_n++];
	snprintf(c->mc_name, sizeof(c->mc_name), "%s", name);
	c->mc_value = v;
}

int
msg_pack_stats_r(struct msgb *b, uint64_t id, int version,
    const struct msg_counter *c, size_t n)
{
	size_t	i;

	msgb_begin(b, "stats_r", id, 1, version);
	msgb_map(b, "c", (uint32_t)n);
	for (i = 0; i < n; i++)
		msgb_uint(b, c[i].mc_name, c[i].mc_value);
	return msgb_end(b);
}

int
msg_read_stats_r(const struct msg *m, struct msg_counter **out, size_t *n,
    char *err, size_t errlen)
{
	const msgpack_object	*o;
	const msgpack_object_kv	*kv;
	struct msg_counter	*c;
	uint32_t		 i;

	*out = NULL;
	*n = 0;
	if (msg_expect(m, MSG_STATS_R, err, errlen) == -1 ||
	    mo_container(m->m_map, "c", MSGPACK_OBJECT_MAP, &o, 0, err,
	    errlen) == -1)
		return -1;
	c = xcalloc(o->via.map.size, sizeof(*c));
	for (i = 0; i < o->via.map.size; i++) {
		kv = &o->via.map.ptr[i];
		if (kv->key.type != MSGPACK_OBJECT_STR ||
		    kv->key.via.str.size >= sizeof(c[i].mc_name) ||
		    memchr(kv->key.via.str.ptr, '\0',
		    kv->key.via.str.size) != NULL) {
			snprintf(err, errlen, "c: counter %u: bad name", i);
			goto fail;
		}
		memcpy(c[i].mc_name, kv->key.via.str.ptr, kv->key.via.str.size);
		if (kv->val.type != MSGPACK_OBJECT_POSITIVE_INTEGER) {
			snprintf(err, errlen, "c: key %s: expected uint",
			    c[i].mc_name);
			goto fail;
		}
		c[i].mc_value = kv->val.via.u64;
	}
	*out = c;
	*n = o->via.map.size;
	return 0;
fail:
	free(c);
	return -1;
}

int
msg_pack_purge(struct msgb *b, uint64_t id, int version,
    const struct msg_purge *p)
{
	return msg_pack_record(b, MSG_PURGE, id, version, purge_fields, p);
}

int
msg_read_purge(const struct msg *m, struct msg_purge *p, char *err,
    size_t errlen)
{
	memset(p, 0, sizeof(*p));
	return msg_read_record(m, MSG_PURGE, purge_fields, p, err, errlen);
}

int
msg_pack_purge_r(struct msgb *b, uint64_t id, int version, uint64_t n)
{
	msgb_begin(b, "purge_r", id, 1, version);
	msgb_uint(b, "n", n);
	return msgb_end(b);
}

int
msg_read_purge_r(const struct msg *m, uint64_t *n, char *err, size_t errlen)
{
	if (msg_expect(m, MSG_PURGE_R, err, errlen) == -1)
		return -1;
	return mo_uint(m->m_map, "n", n, 0, err, errlen);
}
