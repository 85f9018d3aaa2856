/*
 * msg.c — typed msgpack builders and readers (see msg.h).
 *
 * Builders write keys in a fixed order and count the fields they were
 * promised; readers check every required key's presence and type.  Bodies
 * are pre-scanned before msgpack-c sees them, so a container that claims
 * more elements than the body could hold is refused before msgpack-c
 * allocates room for them.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <msgpack.h>

#include "common/util.h"
#include "proto/msg.h"

struct msg {
	uint8_t			*m_body;	/* msgpack-c points into it */
	size_t			 m_len;
	msgpack_unpacked	 m_unp;
	const msgpack_object	*m_map;
	int			 m_version;
	uint64_t		 m_id;
	enum msg_type		 m_type;
	char			 m_tname[32];
};

static const char *msg_names[MSG_NTYPES] = {
	[MSG_UNKNOWN] = NULL,
	[MSG_OK] = "ok",
	[MSG_ERR] = "err",
	[MSG_GOAWAY] = "goaway",
	[MSG_PING] = "ping",
	[MSG_PONG] = "pong",
	[MSG_GET] = "get",
	[MSG_GET_R] = "get_r",
	[MSG_PUT] = "put",
	[MSG_TIMING] = "timing",
	[MSG_TIMING_GET] = "timing_get",
	[MSG_TIMING_R] = "timing_r",
	[MSG_STATS] = "stats",
	[MSG_STATS_R] = "stats_r",
	[MSG_PURGE] = "purge",
	[MSG_PURGE_R] = "purge_r",
	[MSG_QUERY] = "query",
	[MSG_QUERY_R] = "query_r",
	[MSG_ERROR] = "error",
	[MSG_HEALTH] = "health",
	[MSG_HEALTH_R] = "health_r",
	[MSG_ERRORS] = "errors",
	[MSG_ERRORS_R] = "errors_r",
};

static const char *answer_statuses[] = { "available", "registered",
    "reserved", "invalid", "unknown", NULL };
static const char *answer_sources[] = { "cache", "registry", "stale", NULL };

const char *
msg_type_name(enum msg_type t)
{
	if ((int)t <= MSG_UNKNOWN || t >= MSG_NTYPES)
		return NULL;
	return msg_names[t];
}

enum msg_type
msg_type_lookup(const char *s, size_t len)
{
	int	i;

	for (i = MSG_UNKNOWN + 1; i < MSG_NTYPES; i++)
		if (strlen(msg_names[i]) == len &&
		    memcmp(msg_names[i], s, len) == 0)
			return (enum msg_type)i;
	return MSG_UNKNOWN;
}

/* ------------------------------------------------------------------ */
/* Builder */

#define MSGB_CHECK(b, expr) do {					\
	if ((expr) != 0)						\
		(b)->mb_err = 1;					\
} while (0)

void
msgb_init(struct msgb *b)
{
	memset(b, 0, sizeof(*b));
	msgpack_sbuffer_init(&b->mb_sbuf);
	msgpack_packer_init(&b->mb_pk, &b->mb_sbuf, msgpack_sbuffer_write);
}

void
msgb_free(struct msgb *b)
{
	msgpack_sbuffer_destroy(&b->mb_sbuf);
	memset(b, 0, sizeof(*b));
}

/* One item is about to be written at the current level. */
static void
msgb_take(struct msgb *b, int keyed)
{
	int	d = b->mb_depth;

	if (b->mb_left[d] == 0 || (keyed != 0) != (b->mb_isarr[d] == 0)) {
		b->mb_err = 1;
		return;
	}
	b->mb_left[d]--;
	while (b->mb_depth > 0 && b->mb_left[b->mb_depth] == 0)
		b->mb_depth--;
}

static void
msgb_push(struct msgb *b, uint32_t n, int isarr)
{
	if (n == 0)
		return;
	if (b->mb_depth + 1 >= MSGB_DEPTH) {
		b->mb_err = 1;
		return;
	}
	b->mb_depth++;
	b->mb_left[b->mb_depth] = n;
	b->mb_isarr[b->mb_depth] = isarr;
}

static void
msgb_key(struct msgb *b, const char *key)
{
	size_t	len = strlen(key);

	msgb_take(b, 1);
	MSGB_CHECK(b, msgpack_pack_str(&b->mb_pk, len));
	MSGB_CHECK(b, msgpack_pack_str_body(&b->mb_pk, key, len));
}

void
msgb_begin(struct msgb *b, const char *type, uint64_t id, uint32_t nfields,
    int version)
{
	uint8_t	raw[9];
	int	i;

	msgpack_sbuffer_clear(&b->mb_sbuf);
	b->mb_version = version;
	b->mb_depth = 0;
	b->mb_err = 0;
	b->mb_isarr[0] = 0;
	b->mb_left[0] = 3 + nfields;
	if (version < 1 || version > 127 || nfields > UINT32_MAX - 3)
		b->mb_err = 1;
	MSGB_CHECK(b, msgpack_pack_map(&b->mb_pk, 3 + nfields));
	msgb_key(b, "v");
	/* A positive fixint: one byte the client may patch (downgrade). */
	b->mb_v_off = b->mb_sbuf.size;
	MSGB_CHECK(b, msgpack_pack_uint8(&b->mb_pk, (uint8_t)(version & 0x7f)));
	msgb_str(b, "t", type);
	msgb_key(b, "id");
	b->mb_id_off = b->mb_sbuf.size + 1;
	/* Always uint64 (0xcf), so msgb_set_id() patches in place. */
	raw[0] = 0xcf;
	for (i = 0; i < 8; i++)
		raw[1 + i] = (uint8_t)(id >> (56 - 8 * i));
	MSGB_CHECK(b, msgpack_sbuffer_write(&b->mb_sbuf, (char *)raw,
	    sizeof(raw)));
}

int
msgb_copy(struct msgb *dst, const struct msgb *src)
{
	msgb_init(dst);
	if (msgb_end(src) == -1 || msgpack_sbuffer_write(&dst->mb_sbuf,
	    src->mb_sbuf.data, src->mb_sbuf.size) != 0) {
		msgb_free(dst);
		return -1;
	}
	dst->mb_version = src->mb_version;
	dst->mb_id_off = src->mb_id_off;
	dst->mb_v_off = src->mb_v_off;
	return 0;
}

void
msgb_set_id(struct msgb *b, uint64_t id)
{
	int	i;

	if (b->mb_id_off + 8 > b->mb_sbuf.size)
		return;
	for (i = 0; i < 8; i++)
		b->mb_sbuf.data[b->mb_id_off + i] = (char)(uint8_t)(id >> (56 - 8 * i));
}

void
msgb_strn(struct msgb *b, const char *key, const char *val, size_t len)
{
	msgb_key(b, key);
	MSGB_CHECK(b, msgpack_pack_str(&b->mb_pk, len));
	MSGB_CHECK(b, msgpack_pack_str_body(&b->mb_pk, val, len));
}

void
msgb_str(struct msgb *b, const char *key, const char *val)
{
	if (val == NULL)
		val = "";
	msgb_strn(b, key, val, strlen(val));
}

void
msgb_bin(struct msgb *b, const char *key, const void *val, size_t len)
{
	msgb_key(b, key);
	MSGB_CHECK(b, msgpack_pack_bin(&b->mb_pk, len));
	MSGB_CHECK(b, msgpack_pack_bin_body(&b->mb_pk, val, len));
}

void
msgb_uint(struct msgb *b, const char *key, uint64_t val)
{
	msgb_key(b, key);
	MSGB_CHECK(b, msgpack_pack_uint64(&b->mb_pk, val));
}

void
msgb_int(struct msgb *b, const char *key, int64_t val)
{
	msgb_key(b, key);
	MSGB_CHECK(b, msgpack_pack_int64(&b->mb_pk, val));
}

void
msgb_bool(struct msgb *b, const char *key, int val)
{
	msgb_key(b, key);
	MSGB_CHECK(b, val ? msgpack_pack_true(&b->mb_pk) :
	    msgpack_pack_false(&b->mb_pk));
}

void
msgb_float(struct msgb *b, const char *key, double val)
{
	msgb_key(b, key);
	MSGB_CHECK(b, msgpack_pack_double(&b->mb_pk, val));
}

void
msgb_map(struct msgb *b, const char *key, uint32_t n)
{
	msgb_key(b, key);
	MSGB_CHECK(b, msgpack_pack_map(&b->mb_pk, n));
	msgb_push(b, n, 0);
}

void
msgb_array(struct msgb *b, const char *key, uint32_t n)
{
	msgb_key(b, key);
	MSGB_CHECK(b, msgpack_pack_array(&b->mb_pk, n));
	msgb_push(b, n, 1);
}

void
msgb_item_map(struct msgb *b, uint32_t n)
{
	msgb_take(b, 0);
	MSGB_CHECK(b, msgpack_pack_map(&b->mb_pk, n));
	msgb_push(b, n, 0);
}

void
msgb_item_str(struct msgb *b, const char *val)
{
	size_t	len = strlen(val);

	msgb_take(b, 0);
	MSGB_CHECK(b, msgpack_pack_str(&b->mb_pk, len));
	MSGB_CHECK(b, msgpack_pack_str_body(&b->mb_pk, val, len));
}

void
msgb_item_uint(struct msgb *b, uint64_t val)
{
	msgb_take(b, 0);
	MSGB_CHECK(b, msgpack_pack_uint64(&b->mb_pk, val));
}

int
msgb_end(const struct msgb *b)
{
	if (b->mb_err || b->mb_depth != 0 || b->mb_left[0] != 0)
		return -1;
	return 0;
}

const void *
msgb_data(const struct msgb *b)
{
	return b->mb_sbuf.data;
}

size_t
msgb_len(const struct msgb *b)
{
	return b->mb_sbuf.size;
}

int
msgb_version(const struct msgb *b)
{
	return b->mb_version;
}

/* ------------------------------------------------------------------ */
/* Pre-scan */

static uint64_t
msg_be(const uint8_t *p, int n)
{
	uint64_t	v = 0;
	int		i;

	for (i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

/*
 * Walk the msgpack encoding without building anything: exactly one object
 * must span the buffer, and no container may claim more elements than
 * there are bytes left (each element takes at least one).
 */
static int
msg_prescan(const uint8_t *p, size_t len, char *err, size_t errlen)
{
	size_t		pos = 0, need = 1, hdr, body, items;
	uint8_t		c;

	while (need > 0) {
		if (pos >= len) {
			snprintf(err, errlen, "truncated msgpack body");
			return -1;
		}
		c = p[pos];
		hdr = 1;
		body = 0;
		items = 0;
		if (c <= 0x7f || c >= 0xe0 || c == 0xc0 || c == 0xc2 ||
		    c == 0xc3)
			;
		else if (c >= 0x80 && c <= 0x8f)
			items = 2 * (size_t)(c & 0x0f);
		else if (c >= 0x90 && c <= 0x9f)
			items = c & 0x0f;
		else if (c >= 0xa0 && c <= 0xbf)
			body = c & 0x1f;
		else {
			int	lb = 0;	/* length bytes */

			switch (c) {
			case 0xc4: case 0xd9: lb = 1; break;
			case 0xc5: case 0xda: lb = 2; break;
			case 0xc6: case 0xdb: lb = 4; break;
			case 0xc7: lb = 1; body = 1; break;	/* ext: +type */
			case 0xc8: lb = 2; body = 1; break;
			case 0xc9: lb = 4; body = 1; break;
			case 0xca: body = 4; break;
			case 0xcb: body = 8; break;
			case 0xcc: case 0xd0: body = 1; break;
			case 0xcd: case 0xd1: body = 2; break;
			case 0xce: case 0xd2: body = 4; break;
			case 0xcf: case 0xd3: body = 8; break;
			case 0xd4: body = 2; break;
			case 0xd5: body = 3; break;
			case 0xd6: body = 5; break;
			case 0xd7: body = 9; break;
			case 0xd8: body = 17; break;
			case 0xdc: lb = 2; break;
			case 0xdd: lb = 4; break;
			case 0xde: lb = 2; break;
			case 0xdf: lb = 4; break;
			default:
				snprintf(err, errlen, "bad msgpack byte 0x%02x",
				    c);
				return -1;
			}
			if (lb > 0) {
				uint64_t	n;

				if (len - pos - 1 < (size_t)lb) {
					snprintf(err, errlen,
					    "truncated msgpack body");
					return -1;
				}
				n = msg_be(p + pos + 1, lb);
				hdr += lb;
				if (n > len) {
					snprintf(err, errlen, "msgpack length "
					    "%llu exceeds the body",
					    (unsigned long long)n);
					return -1;
				}
				if (c == 0xdc || c == 0xdd)
					items = n;
				else if (c == 0xde || c == 0xdf)
					items = 2 * n;
				else
					body += n;
			}
		}
		if (len - pos < hdr || len - pos - hdr < body) {
			snprintf(err, errlen, "truncated msgpack body");
			return -1;
		}
		pos += hdr + body;
		need--;
		if (items > len - pos) {
			snprintf(err, errlen, "msgpack container of %zu items "
			    "exceeds the body", items);
			return -1;
		}
		need += items;
		if (need > len - pos + 1) {
			snprintf(err, errlen, "truncated msgpack body");
			return -1;
		}
	}
	if (pos != len) {
		snprintf(err, errlen, "%zu trailing bytes after the map",
		    len - pos);
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* Generic readers on one map object */

#define MO_OPT		0x01	/* absent is fine */
#define MO_CUT		0x02	/* a string too long is cut, not refused */

static const msgpack_object *
mo_find(const msgpack_object *map, const char *key)
{
	size_t		 klen = strlen(key);
	uint32_t	 i;
	const msgpack_object_kv *kv;

	for (i = 0; i < map->via.map.size; i++) {
		kv = &map->via.map.ptr[i];
		if (kv->key.type == MSGPACK_OBJECT_STR &&
		    kv->key.via.str.size == klen &&
		    memcmp(kv->key.via.str.ptr, key, klen) == 0)
			return &kv->val;
	}
	return NULL;
}

/* Found and not nil: 0; absent: 1 (error unless optional). */
static int
mo_lookup(const msgpack_object *map, const char *key, int flags,
    const msgpack_object **o, char *err, size_t errlen)
{
	*o = mo_find(map, key);
	if (*o == NULL || (*o)->type == MSGPACK_OBJECT_NIL) {
		if (flags & MO_OPT)
			return 1;
		snprintf(err, errlen, "missing key %s", key);
		return -1;
	}
	return 0;
}

/* Cut at most len bytes, backing off over UTF-8 continuation bytes. */
static size_t
mo_utf8_cut(const char *s, size_t len)
{
	size_t	n = len;

	while (n > 0 && ((uint8_t)s[n] & 0xc0) == 0x80)
		n--;
	return n;
}

static int
mo_str(const msgpack_object *map, const char *key, char *buf, size_t len,
    int flags, char *err, size_t errlen)
{
	const msgpack_object	*o;
	size_t			 n;
	int			 r;

	buf[0] = '\0';
	if ((r = mo_lookup(map, key, flags, &o, err, errlen)) != 0)
		return r;
	if (o->type != MSGPACK_OBJECT_STR) {
		snprintf(err, errlen, "key %s: expected string", key);
		return -1;
	}
	n = o->via.str.size;
	if (memchr(o->via.str.ptr, '\0', n) != NULL) {
		snprintf(err, errlen, "key %s: NUL byte in string", key);
		return -1;
	}
	if (n >= len) {
		if (!(flags & MO_CUT)) {
			snprintf(err, errlen, "key %s: too long (%zu bytes, "
			    "at most %zu)", key, n, len - 1);
			return -1;
		}
		n = mo_utf8_cut(o->via.str.ptr, len - 1);
	}
	memcpy(buf, o->via.str.ptr, n);
	buf[n] = '\0';
	return 0;
}

static int
mo_bytes(const msgpack_object *map, const char *key, const void **p,
    size_t *len, int flags, char *err, size_t errlen)
{
	const msgpack_object	*o;
	int			 r;

	*p = NULL;
	*len = 0;
	if ((r = mo_lookup(map, key, flags, &o, err, errlen)) != 0)
		return r;
	if (o->type == MSGPACK_OBJECT_STR) {
		*p = o->via.str.ptr;
		*len = o->via.str.size;
	} else if (o->type == MSGPACK_OBJECT_BIN) {
		*p = o->via.bin.ptr;
		*len = o->via.bin.size;
	} else {
		snprintf(err, errlen, "key %s: expected bin or string", key);
		return -1;
	}
	return 0;
}

static int
mo_uint(const msgpack_object *map, const char *key, uint64_t *v, int flags,
    char *err, size_t errlen)
{
	const msgpack_object	*o;
	int			 r;

	if ((r = mo_lookup(map, key, flags, &o, err, errlen)) != 0)
		return r;
	if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER) {
		snprintf(err, errlen, "key %s: expected uint", key);
		return -1;
	}
	*v = o->via.u64;
	return 0;
}

static int
mo_int(const msgpack_object *map, const char *key, int64_t *v, int flags,
    char *err, size_t errlen)
{
	const msgpack_object	*o;
	int			 r;

	if ((r = mo_lookup(map, key, flags, &o, err, errlen)) != 0)
		return r;
	if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
		*v = o->via.i64;
	else if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER &&
	    o->via.u64 <= INT64_MAX)
		*v = (int64_t)o->via.u64;
	else {
		snprintf(err, errlen, "key %s: expected int", key);
		return -1;
	}
	return 0;
}

static int
mo_bool(const msgpack_object *map, const char *key, int *v, int flags,
    char *err, size_t errlen)
{
	const msgpack_object	*o;
	int			 r;

	if ((r = mo_lookup(map, key, flags, &o, err, errlen)) != 0)
		return r;
	if (o->type != MSGPACK_OBJECT_BOOLEAN) {
		snprintf(err, errlen, "key %s: expected bool", key);
		return -1;
	}
	*v = o->via.boolean ? 1 : 0;
	return 0;
}

static int
mo_float(const msgpack_object *map, const char *key, double *v, int flags,
    char *err, size_t errlen)
{
	const msgpack_object	*o;
	int			 r;

	if ((r = mo_lookup(map, key, flags, &o, err, errlen)) != 0)
		return r;
	switch (o->type) {
	case MSGPACK_OBJECT_FLOAT32:
	case MSGPACK_OBJECT_FLOAT64:
		*v = o->via.f64;
		break;
	case MSGPACK_OBJECT_POSITIVE_INTEGER:
		*v = (double)o->via.u64;
		break;
	case MSGPACK_OBJECT_NEGATIVE_INTEGER:
		*v = (double)o->via.i64;
		break;
	default:
		snprintf(err, errlen, "key %s: expected float", key);
		return -1;
	}
	return 0;
}

static int
mo_container(const msgpack_object *map, const char *key,
    msgpack_object_type type, const msgpack_object **o, int flags,
    char *err, size_t errlen)
{
	int	r;

	if ((r = mo_lookup(map, key, flags, o, err, errlen)) != 0)
		return r;
	if ((*o)->type != type) {
		snprintf(err, errlen, "key %s: expected %s", key,
		    type == MSGPACK_OBJECT_MAP ? "map" : "array");
		return -1;
	}
	return 0;
}

static int
mo_oneof(const char *key, const char *val, const char **allowed, char *err,
    size_t errlen)
{
	int	i;

	for (i = 0; allowed[i] != NULL; i++)
		if (strcmp(val, allowed[i]) == 0)
			return 0;
	snprintf(err, errlen, "key %s: bad value \"%.32s\"", key, val);
	return -1;
}

/* Prefix err with "where: " (errors inside nested maps). */
static int
mo_where(const char *where, char *err, size_t errlen)
{
	char	tmp[256];

	snprintf(tmp, sizeof(tmp), "%s", err);
	snprintf(err, errlen, "%s: %s", where, tmp);
	return -1;
}

/* ------------------------------------------------------------------ */
/* struct msg */

void
msg_free(struct msg *m)
{
	if (m == NULL)
		return;
	msgpack_unpacked_destroy(&m->m_unp);
	free(m->m_body);
	free(m);
}

struct msg *
msg_unpack(void *body, size_t len, uint64_t *idp, int *vp, const char **code,
    char *err, size_t errlen)
{
	struct msg		*m;
	const msgpack_object	*o;
	size_t			 off = 0;
	uint64_t		 v;
	int			 r;
	const char		*dummy;

	if (idp != NULL)
		*idp = 0;
	if (vp != NULL)
		*vp = 0;
	if (code == NULL)
		code = &dummy;
	*code = MSG_E_BAD_FRAME;
	if (msg_prescan(body, len, err, errlen) == -1) {
		free(body);
		return NULL;
	}
	m = xcalloc(1, sizeof(*m));
	m->m_body = body;
	m->m_len = len;
	msgpack_unpacked_init(&m->m_unp);
	r = msgpack_unpack_next(&m->m_unp, (const char *)m->m_body, len, &off);
	if (r != MSGPACK_UNPACK_SUCCESS || off != len) {
		snprintf(err, errlen, "bad msgpack body");
		goto fail;
	}
	o = &m->m_unp.data;
	if (o->type != MSGPACK_OBJECT_MAP) {
		snprintf(err, errlen, "body is not a map");
		goto fail;
	}
	m->m_map = o;
	/* id first, so even a bad version can be answered. */
	if (mo_uint(o, "id", &m->m_id, 0, err, errlen) == -1)
		goto fail;
	if (idp != NULL)
		*idp = m->m_id;
	if (mo_uint(o, "v", &v, 0, err, errlen) == -1)
		goto fail;
	if (vp != NULL)
		*vp = v > 127 ? 0 : (int)v;
	if (!PROTO_VERSION_OK(v)) {
		*code = MSG_E_BAD_VERSION;
		snprintf(err, errlen, "protocol version %llu not supported "
		    "(this side speaks %d..%d)", (unsigned long long)v,
		    PROTO_VERSION_MIN, PROTO_VERSION);
		goto fail;
	}
	m->m_version = (int)v;
	if ((o = mo_find(m->m_map, "t")) == NULL) {
		snprintf(err, errlen, "missing key t");
		goto fail;
	}
	if (o->type != MSGPACK_OBJECT_STR || o->via.str.size == 0) {
		snprintf(err, errlen, "key t: expected string");
		goto fail;
	}
	m->m_type = msg_type_lookup(o->via.str.ptr, o->via.str.size);
	snprintf(m->m_tname, sizeof(m->m_tname), "%.*s",
	    (int)(o->via.str.size < sizeof(m->m_tname) - 1 ?
	    o->via.str.size : sizeof(m->m_tname) - 1), o->via.str.ptr);
	return m;
fail:
	msg_free(m);
	return NULL;
}

struct msg *
msg_unpack_copy(const void *body, size_t len, char *err, size_t errlen)
{
	void	*p = xmalloc(len);

	memcpy(p, body, len);
	return msg_unpack(p, len, NULL, NULL, NULL, err, errlen);
}

int
msg_version(const struct msg *m)
{
	return m->m_version;
}

uint64_t
msg_id(const struct msg *m)
{
	return m->m_id;
}

enum msg_type
msg_type(const struct msg *m)
{
	return m->m_type;
}

const char *
msg_tname(const struct msg *m)
{
	return m->m_tname;
}

int
msg_get_str(const struct msg *m, const char *key, char *buf, size_t len,
    char *err, size_t errlen)
{
	return mo_str(m->m_map, key, buf, len, 0, err, errlen);
}

int
msg_opt_str(const struct msg *m, const char *key, char *buf, size_t len,
    char *err, size_t errlen)
{
	return mo_str(m->m_map, key, buf, len, MO_OPT, err, errlen);
}

int
msg_get_bytes(const struct msg *m, const char *key, const void **p,
    size_t *len, char *err, size_t errlen)
{
	return mo_bytes(m->m_map, key, p, len, 0, err, errlen);
}

int
msg_get_uint(const struct msg *m, const char *key, uint64_t *v, char *err,
    size_t errlen)
{
	return mo_uint(m->m_map, key, v, 0, err, errlen);
}

int
msg_opt_uint(const struct msg *m, const char *key, uint64_t *v, uint64_t def,
    char *err, size_t errlen)
{
	*v = def;
	return mo_uint(m->m_map, key, v, MO_OPT, err, errlen);
}

int
msg_get_int(const struct msg *m, const char *key, int64_t *v, char *err,
    size_t errlen)
{
	return mo_int(m->m_map, key, v, 0, err, errlen);
}

int
msg_get_bool(const struct msg *m, const char *key, int *v, char *err,
    size_t errlen)
{
	return mo_bool(m->m_map, key, v, 0, err, errlen);
}

int
msg_opt_bool(const struct msg *m, const char *key, int *v, int def, char *err,
    size_t errlen)
{
	*v = def;
	return mo_bool(m->m_map, key, v, MO_OPT, err, errlen);
}

int
msg_get_float(const struct msg *m, const char *key, double *v, char *err,
    size_t errlen)
{
	return mo_float(m->m_map, key, v, 0, err, errlen);
}

int
msg_opt_float(const struct msg *m, const char *key, double *v, double def,
    char *err, size_t errlen)
{
	*v = def;
	return mo_float(m->m_map, key, v, MO_OPT, err, errlen);
}

/* A per-type reader was handed the wrong type of message. */
static int
msg_expect(const struct msg *m, enum msg_type t, char *err, size_t errlen)
{
	if (m->m_type != t) {
		snprintf(err, errlen, "expected a %s message, got %s",
		    msg_names[t], m->m_tname);
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* Answers */

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

static uint32_t
answer_nfields(const struct answer *a, int version)
{
	uint32_t	n = 7;	/* domain ace status source checked registry
				 * latency_ms */

	n += a->a_reason[0] != '\0';
	n += a->a_expires != 0;
	if (version >= 2) {
		n += a->a_rule[0] != '\0';
		n += a->a_matched[0] != '\0';
	}
	n += a->a_text_len > 0;
	n += a->a_retry_after != 0;
	return n;
}

/* Packs the answer as a map under `key`. */
static void
answer_pack(struct msgb *b, const char *key, const struct answer *a)
{
	int	v = b->mb_version;

	msgb_map(b, key, answer_nfields(a, v));
	msgb_str(b, "domain", a->a_domain);
	msgb_str(b, "ace", a->a_ace);
	msgb_str(b, "status", a->a_status);
	if (a->a_reason[0] != '\0')
		msgb_str(b, "reason", a->a_reason);
	msgb_str(b, "source", a->a_source);
	msgb_float(b, "checked", a->a_checked);
	if (a->a_expires != 0)
		msgb_float(b, "expires", a->a_expires);
	msgb_str(b, "registry", a->a_registry);
	msgb_uint(b, "latency_ms", a->a_latency_ms);
	if (v >= 2 && a->a_rule[0] != '\0')
		msgb_str(b, "rule", a->a_rule);
	if (v >= 2 && a->a_matched[0] != '\0')
		msgb_str(b, "matched", a->a_matched);
	if (a->a_text_len > 0)
		msgb_bin(b, "text", a->a_text, a->a_text_len);
	if (a->a_retry_after != 0)
		msgb_uint(b, "retry_after", a->a_retry_after);
}

static int
answer_read(const msgpack_object *o, struct answer *a, char *err,
    size_t errlen)
{
	const void	*text;
	size_t		 tlen;

	memset(a, 0, sizeof(*a));
	if (mo_str(o, "domain", a->a_domain, sizeof(a->a_domain), 0, err,
	    errlen) == -1 ||
	    mo_str(o, "ace", a->a_ace, sizeof(a->a_ace), 0, err, errlen) == -1 ||
	    mo_str(o, "status", a->a_status, sizeof(a->a_status), 0, err,
	    errlen) == -1 ||
	    mo_oneof("status", a->a_status, answer_statuses, err, errlen) == -1 ||
	    mo_str(o, "reason", a->a_reason, sizeof(a->a_reason),
	    MO_OPT | MO_CUT, err, errlen) == -1 ||
	    mo_str(o, "source", a->a_source, sizeof(a->a_source), 0, err,
	    errlen) == -1 ||
	    mo_oneof("source", a->a_source, answer_sources, err, errlen) == -1 ||
	    mo_float(o, "checked", &a->a_checked, 0, err, errlen) == -1 ||
	    mo_float(o, "expires", &a->a_expires, MO_OPT, err, errlen) == -1 ||
	    mo_str(o, "registry", a->a_registry, sizeof(a->a_registry), 0,
	    err, errlen) == -1 ||
	    mo_uint(o, "latency_ms", &a->a_latency_ms, 0, err, errlen) == -1 ||
	    mo_str(o, "rule", a->a_rule, sizeof(a->a_rule), MO_OPT | MO_CUT,
	    err, errlen) == -1 ||
	    mo_str(o, "matched", a->a_matched, sizeof(a->a_matched),
	    MO_OPT | MO_CUT, err, errlen) == -1 ||
	    mo_uint(o, "retry_after", &a->a_retry_after, MO_OPT, err,
	    errlen) == -1 ||
	    mo_bytes(o, "text", &text, &tlen, MO_OPT, err, errlen) == -1)
		return -1;
	answer_set_text(a, text, tlen);
	return 0;
}

/* Reads the answer map under key `a`. */
static int
answer_read_key(const struct msg *m, struct answer *a, char *err,
    size_t errlen)
{
	const msgpack_object	*o;

	memset(a, 0, sizeof(*a));
	if (mo_container(m->m_map, "a", MSGPACK_OBJECT_MAP, &o, 0, err,
	    errlen) == -1)
		return -1;
	if (answer_read(o, a, err, errlen) == -1)
		return mo_where("a", err, errlen);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Common replies */

int
msg_pack_ok(struct msgb *b, uint64_t id, int version)
{
	msgb_begin(b, "ok", id, 0, version);
	return msgb_end(b);
}

int
msg_pack_ok_dup(struct msgb *b, uint64_t id, int version, int dup)
{
	msgb_begin(b, "ok", id, 1, version);
	msgb_bool(b, "dup", dup);
	return msgb_end(b);
}

int
msg_read_ok_dup(const struct msg *m, int *dup, char *err, size_t errlen)
{
	*dup = 0;
	if (msg_expect(m, MSG_OK, err, errlen) == -1)
		return -1;
	return mo_bool(m->m_map, "dup", dup, MO_OPT, err, errlen) == -1 ?
	    -1 : 0;
}

int
msg_pack_err(struct msgb *b, uint64_t id, int version, const char *code,
    const char *text)
{
	msgb_begin(b, "err", id, 2, version);
	msgb_str(b, "code", code);
	msgb_str(b, "msg", text);
	return msgb_end(b);
}

int
msg_read_err(const struct msg *m, char *code, size_t codelen, char *text,
    size_t textlen, char *err, size_t errlen)
{
	if (msg_expect(m, MSG_ERR, err, errlen) == -1 ||
	    mo_str(m->m_map, "code", code, codelen, 0, err, errlen) == -1 ||
	    mo_str(m->m_map, "msg", text, textlen, MO_CUT, err, errlen) == -1)
		return -1;
	return 0;
}

int
msg_pack_goaway(struct msgb *b, int version)
{
	msgb_begin(b, "goaway", 0, 0, version);
	return msgb_end(b);
}

int
msg_pack_ping(struct msgb *b, uint64_t id, int version)
{
	msgb_begin(b, "ping", id, 0, version);
	return msgb_end(b);
}

int
msg_pack_pong(struct msgb *b, uint64_t id, int version)
{
	msgb_begin(b, "pong", id, 0, version);
	return msgb_end(b);
}

/* ------------------------------------------------------------------ */
/* cache */

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
		msgb_str(b, "if_status", g->g_if_status);
	}
	return msgb_end(b);
}

int
msg_read_get(const struct msg *m, struct msg_get *g, char *err, size_t errlen)
{
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
	    mo_str(m->m_map, "if_status", g->g_if_status,
	    sizeof(g->g_if_status), MO_OPT, err, errlen) == -1)
		return -1;
	if (g->g_if_checked > 0 && g->g_if_status[0] == '\0') {
		snprintf(err, errlen, "get: if_checked without if_status");
		return -1;
	}
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

int
msg_pack_put(struct msgb *b, uint64_t id, int version, const struct answer *a)
{
	msgb_begin(b, "put", id, 1, version);
	answer_pack(b, "a", a);
	return msgb_end(b);
}

int
msg_read_put(const struct msg *m, struct answer *a, char *err, size_t errlen)
{
	memset(a, 0, sizeof(*a));
	if (msg_expect(m, MSG_PUT, err, errlen) == -1)
		return -1;
	return answer_read_key(m, a, err, errlen);
}

int
msg_pack_query_r(struct msgb *b, uint64_t id, int version,
    const struct answer *a)
{
	msgb_begin(b, "query_r", id, 1, version);
	answer_pack(b, "a", a);
	return msgb_end(b);
}

int
msg_read_query_r(const struct msg *m, struct answer *a, char *err,
    size_t errlen)
{
	memset(a, 0, sizeof(*a));
	if (msg_expect(m, MSG_QUERY_R, err, errlen) == -1)
		return -1;
	return answer_read_key(m, a, err, errlen);
}

static const char *timing_outcomes[] = { TIMING_OK, TIMING_FAIL,
    TIMING_RATELIMITED, NULL };

int
msg_pack_timing(struct msgb *b, uint64_t id, int version,
    const struct msg_timing *t)
{
	msgb_begin(b, "timing", id, 3, version);
	msgb_str(b, "registry", t->tm_registry);
	msgb_uint(b, "ms", t->tm_ms);
	msgb_str(b, "outcome", t->tm_outcome);
	return msgb_end(b);
}

int
msg_read_timing(const struct msg *m, struct msg_timing *t, char *err,
    size_t errlen)
{
	memset(t, 0, sizeof(*t));
	if (msg_expect(m, MSG_TIMING, err, errlen) == -1 ||
	    mo_str(m->m_map, "registry", t->tm_registry,
	    sizeof(t->tm_registry), 0, err, errlen) == -1 ||
	    mo_uint(m->m_map, "ms", &t->tm_ms, 0, err, errlen) == -1 ||
	    mo_str(m->m_map, "outcome", t->tm_outcome, sizeof(t->tm_outcome),
	    0, err, errlen) == -1 ||
	    mo_oneof("outcome", t->tm_outcome, timing_outcomes, err,
	    errlen) == -1)
		return -1;
	return 0;
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
	msgb_begin(b, "timing_r", id, 8, version);
	msgb_str(b, "registry", t->tr_registry);
	msgb_uint(b, "n", t->tr_n);
	msgb_uint(b, "p50", t->tr_p50);
	msgb_uint(b, "p90", t->tr_p90);
	msgb_uint(b, "p99", t->tr_p99);
	msgb_uint(b, "ok", t->tr_ok);
	msgb_uint(b, "fail", t->tr_fail);
	msgb_float(b, "last_ratelimit", t->tr_last_ratelimit);
	return msgb_end(b);
}

int
msg_read_timing_r(const struct msg *m, struct msg_timing_r *t, char *err,
    size_t errlen)
{
	const msgpack_object	*o = m->m_map;

	memset(t, 0, sizeof(*t));
	if (msg_expect(m, MSG_TIMING_R, err, errlen) == -1 ||
	    mo_str(o, "registry", t->tr_registry, sizeof(t->tr_registry), 0,
	    err, errlen) == -1 ||
	    mo_uint(o, "n", &t->tr_n, 0, err, errlen) == -1 ||
	    mo_uint(o, "p50", &t->tr_p50, 0, err, errlen) == -1 ||
	    mo_uint(o, "p90", &t->tr_p90, 0, err, errlen) == -1 ||
	    mo_uint(o, "p99", &t->tr_p99, 0, err, errlen) == -1 ||
	    mo_uint(o, "ok", &t->tr_ok, 0, err, errlen) == -1 ||
	    mo_uint(o, "fail", &t->tr_fail, 0, err, errlen) == -1 ||
	    mo_float(o, "last_ratelimit", &t->tr_last_ratelimit, 0, err,
	    errlen) == -1)
		return -1;
	return 0;
}

int
msg_pack_stats(struct msgb *b, uint64_t id, int version)
{
	msgb_begin(b, "stats", id, 0, version);
	return msgb_end(b);
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
	msgb_begin(b, "purge", id, 1 + (p->pg_domain[0] != '\0'), version);
	if (p->pg_domain[0] != '\0')
		msgb_str(b, "domain", p->pg_domain);
	msgb_bool(b, "all", p->pg_all);
	return msgb_end(b);
}

int
msg_read_purge(const struct msg *m, struct msg_purge *p, char *err,
    size_t errlen)
{
	memset(p, 0, sizeof(*p));
	if (msg_expect(m, MSG_PURGE, err, errlen) == -1 ||
	    mo_str(m->m_map, "domain", p->pg_domain, sizeof(p->pg_domain),
	    MO_OPT, err, errlen) == -1 ||
	    mo_bool(m->m_map, "all", &p->pg_all, MO_OPT, err, errlen) == -1)
		return -1;
	return 0;
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

/* ------------------------------------------------------------------ */
/* query */

int
msg_pack_query(struct msgb *b, uint64_t id, int version,
    const struct msg_query *q)
{
	msgb_begin(b, "query", id, 2, version);
	msgb_str(b, "domain", q->q_domain);
	msgb_uint(b, "deadline_ms", q->q_deadline_ms);
	return msgb_end(b);
}

int
msg_read_query(const struct msg *m, struct msg_query *q, char *err,
    size_t errlen)
{
	memset(q, 0, sizeof(*q));
	if (msg_expect(m, MSG_QUERY, err, errlen) == -1 ||
	    mo_str(m->m_map, "domain", q->q_domain, sizeof(q->q_domain), 0,
	    err, errlen) == -1 ||
	    mo_uint(m->m_map, "deadline_ms", &q->q_deadline_ms, 0, err,
	    errlen) == -1)
		return -1;
	return 0;
}

/* ------------------------------------------------------------------ */
/* errdb */

/* The error fields, into the current map (which must owe 8 or 9). */
static void
errevent_fields(struct msgb *b, const struct errevent *e)
{
	msgb_str(b, "eid", e->ev_eid);
	msgb_str(b, "host", e->ev_host);
	msgb_str(b, "daemon", e->ev_daemon);
	msgb_str(b, "registry", e->ev_registry);
	msgb_str(b, "domain", e->ev_domain);
	msgb_str(b, "kind", e->ev_kind);
	msgb_str(b, "msg", e->ev_msg);
	msgb_float(b, "time", e->ev_time);
	if (e->ev_retry_after != 0)
		msgb_uint(b, "retry_after", e->ev_retry_after);
}

static int
errevent_read(const msgpack_object *o, struct errevent *e, char *err,
    size_t errlen)
{
	memset(e, 0, sizeof(*e));
	if (mo_str(o, "eid", e->ev_eid, sizeof(e->ev_eid), 0, err,
	    errlen) == -1 ||
	    mo_str(o, "host", e->ev_host, sizeof(e->ev_host), 0, err,
	    errlen) == -1 ||
	    mo_str(o, "daemon", e->ev_daemon, sizeof(e->ev_daemon), 0, err,
	    errlen) == -1 ||
	    mo_str(o, "registry", e->ev_registry, sizeof(e->ev_registry), 0,
	    err, errlen) == -1 ||
	    mo_str(o, "domain", e->ev_domain, sizeof(e->ev_domain), 0, err,
	    errlen) == -1 ||
	    mo_str(o, "kind", e->ev_kind, sizeof(e->ev_kind), 0, err,
	    errlen) == -1 ||
	    mo_str(o, "msg", e->ev_msg, sizeof(e->ev_msg), MO_CUT, err,
	    errlen) == -1 ||
	    mo_float(o, "time", &e->ev_time, 0, err, errlen) == -1 ||
	    mo_uint(o, "retry_after", &e->ev_retry_after, MO_OPT, err,
	    errlen) == -1)
		return -1;
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
	msgb_begin(b, "error", id, 8 + (e->ev_retry_after != 0), version);
	errevent_fields(b, e);
	return msgb_end(b);
}

int
msg_read_error(const struct msg *m, struct errevent *e, char *err,
    size_t errlen)
{
	memset(e, 0, sizeof(*e));
	if (msg_expect(m, MSG_ERROR, err, errlen) == -1)
		return -1;
	return errevent_read(m->m_map, e, err, errlen);
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

static const char *health_states[] = { HEALTH_OK, HEALTH_DEGRADED,
    HEALTH_BACKOFF, NULL };

int
msg_pack_health_r(struct msgb *b, uint64_t id, int version,
    const struct reghealth *h, size_t n)
{
	size_t	i;

	msgb_begin(b, "health_r", id, 1, version);
	msgb_array(b, "regs", (uint32_t)n);
	for (i = 0; i < n; i++) {
		msgb_item_map(b, 4);
		msgb_str(b, "registry", h[i].rh_registry);
		msgb_str(b, "state", h[i].rh_state);
		msgb_float(b, "until", h[i].rh_until);
		msgb_uint(b, "recent", h[i].rh_recent);
	}
	return msgb_end(b);
}

/* The array under `key`, every item a map; *n items. */
static int
mo_maps(const struct msg *m, const char *key, const msgpack_object **arr,
    char *err, size_t errlen)
{
	uint32_t	i;

	if (mo_container(m->m_map, key, MSGPACK_OBJECT_ARRAY, arr, 0, err,
	    errlen) == -1)
		return -1;
	for (i = 0; i < (*arr)->via.array.size; i++)
		if ((*arr)->via.array.ptr[i].type != MSGPACK_OBJECT_MAP) {
			snprintf(err, errlen, "%s[%u]: expected map", key, i);
			return -1;
		}
	return 0;
}

int
msg_read_health_r(const struct msg *m, struct reghealth **out, size_t *n,
    char *err, size_t errlen)
{
	const msgpack_object	*arr, *o;
	struct reghealth	*h;
	uint32_t		 i;
	char			 where[32];

	*out = NULL;
	*n = 0;
	if (msg_expect(m, MSG_HEALTH_R, err, errlen) == -1 ||
	    mo_maps(m, "regs", &arr, err, errlen) == -1)
		return -1;
	h = xcalloc(arr->via.array.size, sizeof(*h));
	for (i = 0; i < arr->via.array.size; i++) {
		o = &arr->via.array.ptr[i];
		if (mo_str(o, "registry", h[i].rh_registry,
		    sizeof(h[i].rh_registry), 0, err, errlen) == -1 ||
		    mo_str(o, "state", h[i].rh_state, sizeof(h[i].rh_state), 0,
		    err, errlen) == -1 ||
		    mo_oneof("state", h[i].rh_state, health_states, err,
		    errlen) == -1 ||
		    mo_float(o, "until", &h[i].rh_until, 0, err, errlen) == -1 ||
		    mo_uint(o, "recent", &h[i].rh_recent, 0, err, errlen) == -1) {
			snprintf(where, sizeof(where), "regs[%u]", i);
			mo_where(where, err, errlen);
			free(h);
			return -1;
		}
	}
	*out = h;
	*n = arr->via.array.size;
	return 0;
}

int
msg_pack_errors(struct msgb *b, uint64_t id, int version,
    const struct msg_errors *q)
{
	uint32_t	n;

	n = (q->es_registry[0] != '\0') + (q->es_kind[0] != '\0') +
	    (q->es_since != 0) + (q->es_limit != 0);
	msgb_begin(b, "errors", id, n, version);
	if (q->es_registry[0] != '\0')
		msgb_str(b, "registry", q->es_registry);
	if (q->es_kind[0] != '\0')
		msgb_str(b, "kind", q->es_kind);
	if (q->es_since != 0)
		msgb_float(b, "since", q->es_since);
	if (q->es_limit != 0)
		msgb_uint(b, "limit", q->es_limit);
	return msgb_end(b);
}

int
msg_read_errors(const struct msg *m, struct msg_errors *q, char *err,
    size_t errlen)
{
	const msgpack_object	*o = m->m_map;

	memset(q, 0, sizeof(*q));
	if (msg_expect(m, MSG_ERRORS, err, errlen) == -1 ||
	    mo_str(o, "registry", q->es_registry, sizeof(q->es_registry),
	    MO_OPT, err, errlen) == -1 ||
	    mo_str(o, "kind", q->es_kind, sizeof(q->es_kind), MO_OPT, err,
	    errlen) == -1 ||
	    mo_float(o, "since", &q->es_since, MO_OPT, err, errlen) == -1 ||
	    mo_uint(o, "limit", &q->es_limit, MO_OPT, err, errlen) == -1)
		return -1;
	return 0;
}

int
msg_pack_errors_r(struct msgb *b, uint64_t id, int version,
    const struct errevent *e, size_t n)
{
	size_t	i;

	msgb_begin(b, "errors_r", id, 1, version);
	msgb_array(b, "events", (uint32_t)n);
	for (i = 0; i < n; i++) {
		msgb_item_map(b, 8 + (e[i].ev_retry_after != 0));
		errevent_fields(b, &e[i]);
	}
	return msgb_end(b);
}

int
msg_read_errors_r(const struct msg *m, struct errevent **out, size_t *n,
    char *err, size_t errlen)
{
	const msgpack_object	*arr;
	struct errevent		*e;
	uint32_t		 i;
	char			 where[32];

	*out = NULL;
	*n = 0;
	if (msg_expect(m, MSG_ERRORS_R, err, errlen) == -1 ||
	    mo_maps(m, "events", &arr, err, errlen) == -1)
		return -1;
	e = xcalloc(arr->via.array.size, sizeof(*e));
	for (i = 0; i < arr->via.array.size; i++)
		if (errevent_read(&arr->via.array.ptr[i], &e[i], err,
		    errlen) == -1) {
			snprintf(where, sizeof(where), "events[%u]", i);
			mo_where(where, err, errlen);
			free(e);
			return -1;
		}
	*out = e;
	*n = arr->via.array.size;
	return 0;
}
