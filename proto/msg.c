/*
 * msg.c — the core of the typed msgpack messages (see msg.h): the
 * builder (msgb_*), the pre-scan and unpacking of a body with its v, t
 * and id, the typed map readers (mo_*), the field tables that pack and
 * read a flat record, and the type names.  Each message family lives in
 * its own msg_*.c on top of this.
 *
 * Builders write keys in a fixed order and count the fields they were
 * promised; readers check every required key's presence and type.  Bodies
 * are pre-scanned before msgpack-c sees them, so a container that claims
 * more elements than the body could hold, or a body of more objects or
 * deeper nesting than the budget in msg_priv.h, is refused before
 * msgpack-c allocates room for them.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <msgpack.h>

#include "common/util.h"
#include "proto/msg.h"
#include "proto/msg_priv.h"

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
	[MSG_HEALTH_CLEAR] = "health_clear",
	[MSG_HELLO] = "hello",
	[MSG_HELLO_R] = "hello_r",
	[MSG_AUTH] = "auth",
};

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
 * must span the buffer, no container may claim more elements than there
 * are bytes left (each element takes at least one), and what msgpack-c
 * would build must stay within MSG_MAX_OBJECTS and MSG_MAX_DEPTH.
 */
static int
msg_prescan(const uint8_t *p, size_t len, char *err, size_t errlen)
{
	size_t		pos = 0, need = 1, objs = 1, hdr, body, items;
	size_t		left[MSG_MAX_DEPTH + 1];	/* items owed per level */
	int		depth = 0;
	uint8_t		c;

	left[0] = 1;
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
		left[depth]--;
		if (items > 0) {
			/* Every object is the root or an item: a lower bound
			 * until the last container is seen. */
			objs += items;
			if (objs > MSG_MAX_OBJECTS) {
				snprintf(err, errlen, "msgpack body of at least "
				    "%zu objects exceeds the budget of %u", objs,
				    MSG_MAX_OBJECTS);
				return -1;
			}
			if (depth == MSG_MAX_DEPTH) {
				snprintf(err, errlen, "msgpack body nested "
				    "deeper than %d levels", MSG_MAX_DEPTH);
				return -1;
			}
			left[++depth] = items;
		}
		while (depth > 0 && left[depth] == 0)
			depth--;
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

int
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

int
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

int
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

int
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

int
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

int
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

int
mo_oneof(const char *key, const char *val, const char *const *allowed,
    char *err, size_t errlen)
{
	int	i;

	for (i = 0; allowed[i] != NULL; i++)
		if (strcmp(val, allowed[i]) == 0)
			return i;
	snprintf(err, errlen, "key %s: bad value \"%.32s\"", key, val);
	return -1;
}

int
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

int
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
/* Field tables */

static int
mf_empty(const struct msg_field *f, const void *s)
{
	const char	*p = (const char *)s + f->mf_off;

	switch (f->mf_type) {
	case MF_STR:
		return p[0] == '\0';
	case MF_UINT:
		return *(const uint64_t *)p == 0;
	case MF_FLOAT:
		return *(const double *)p == 0;
	case MF_BOOL:
		return *(const int *)p == 0;
	case MF_ENUM:
		return 0;	/* every value has a name */
	}
	return 0;
}

/* The name of an MF_ENUM row's value, or NULL if it has none. */
static const char *
mf_name(const struct msg_field *f, int v)
{
	int	i;

	if (v < 0)
		return NULL;
	for (i = 0; i < v; i++)
		if (f->mf_names[i] == NULL)
			return NULL;
	return f->mf_names[v];
}

static int
mf_written(const struct msg_field *f, const void *s, int version)
{
	if ((f->mf_flags & MF_SINCE_V2) && version < 2)
		return 0;
	return !(f->mf_flags & MF_OMIT) || !mf_empty(f, s);
}

uint32_t
mf_count(const struct msg_field *f, const void *s, int version)
{
	uint32_t	n = 0;

	for (; f->mf_key != NULL; f++)
		n += mf_written(f, s, version);
	return n;
}

void
mf_pack(struct msgb *b, const struct msg_field *f, const void *s)
{
	const char	*p, *name;

	for (; f->mf_key != NULL; f++) {
		if (!mf_written(f, s, b->mb_version))
			continue;
		p = (const char *)s + f->mf_off;
		switch (f->mf_type) {
		case MF_STR:
			msgb_str(b, f->mf_key, p);
			break;
		case MF_UINT:
			msgb_uint(b, f->mf_key, *(const uint64_t *)p);
			break;
		case MF_FLOAT:
			msgb_float(b, f->mf_key, *(const double *)p);
			break;
		case MF_BOOL:
			msgb_bool(b, f->mf_key, *(const int *)p);
			break;
		case MF_ENUM:
			if ((name = mf_name(f, *(const int *)p)) != NULL)
				msgb_str(b, f->mf_key, name);
			else
				b->mb_err = 1;	/* msgb_end() fails */
			break;
		}
	}
}

int
mf_read(const msgpack_object *map, const struct msg_field *f, void *s,
    char *err, size_t errlen)
{
	char	*p, name[64];
	int	 flags, r = -1;

	for (; f->mf_key != NULL; f++) {
		p = (char *)s + f->mf_off;
		flags = f->mf_flags & (MO_OPT | MO_CUT);
		switch (f->mf_type) {
		case MF_STR:
			r = mo_str(map, f->mf_key, p, f->mf_size, flags, err,
			    errlen);
			break;
		case MF_ENUM:
			r = mo_str(map, f->mf_key, name, f->mf_size <
			    sizeof(name) ? f->mf_size : sizeof(name), flags,
			    err, errlen);
			if (r == 0 && (r = mo_oneof(f->mf_key, name,
			    f->mf_names, err, errlen)) >= 0) {
				*(int *)p = r;
				r = 0;
			}
			break;
		case MF_UINT:
			r = mo_uint(map, f->mf_key, (uint64_t *)p, flags, err,
			    errlen);
			break;
		case MF_FLOAT:
			r = mo_float(map, f->mf_key, (double *)p, flags, err,
			    errlen);
			break;
		case MF_BOOL:
			r = mo_bool(map, f->mf_key, (int *)p, flags, err,
			    errlen);
			break;
		}
		if (r == -1)
			return -1;
	}
	return 0;
}

int
msg_pack_records(struct msgb *b, enum msg_type t, uint64_t id, int version,
    const char *key, const struct msg_field *f, const void *base, size_t size,
    size_t n)
{
	const char	*item;
	size_t		 i;

	msgb_begin(b, msg_names[t], id, 1, version);
	msgb_array(b, key, (uint32_t)n);
	for (i = 0; i < n; i++) {
		item = (const char *)base + i * size;
		msgb_item_map(b, mf_count(f, item, version));
		mf_pack(b, f, item);
	}
	return msgb_end(b);
}

int
msg_read_records(const struct msg *m, enum msg_type t, const char *key,
    const struct msg_field *f, size_t size,
    int (*check)(const void *, char *, size_t), void **out, size_t *n,
    char *err, size_t errlen)
{
	const msgpack_object	*arr, *o;
	char			*items;
	uint32_t		 i;
	char			 where[32];

	*out = NULL;
	*n = 0;
	if (msg_expect(m, t, err, errlen) == -1 ||
	    mo_container(m->m_map, key, MSGPACK_OBJECT_ARRAY, &arr, 0, err,
	    errlen) == -1)
		return -1;
	for (i = 0; i < arr->via.array.size; i++)
		if (arr->via.array.ptr[i].type != MSGPACK_OBJECT_MAP) {
			snprintf(err, errlen, "%s[%u]: expected map", key, i);
			return -1;
		}
	items = xcalloc(arr->via.array.size, size);
	for (i = 0; i < arr->via.array.size; i++) {
		o = &arr->via.array.ptr[i];
		if (mf_read(o, f, items + i * size, err, errlen) == -1 ||
		    (check != NULL && check(items + i * size, err,
		    errlen) == -1)) {
			snprintf(where, sizeof(where), "%s[%u]", key, i);
			mo_where(where, err, errlen);
			free(items);
			return -1;
		}
	}
	*out = items;
	*n = arr->via.array.size;
	return 0;
}

int
msg_pack_record(struct msgb *b, enum msg_type t, uint64_t id, int version,
    const struct msg_field *f, const void *s)
{
	msgb_begin(b, msg_names[t], id, mf_count(f, s, version), version);
	mf_pack(b, f, s);
	return msgb_end(b);
}

int
msg_read_record(const struct msg *m, enum msg_type t,
    const struct msg_field *f, void *s, char *err, size_t errlen)
{
	if (msg_expect(m, t, err, errlen) == -1)
		return -1;
	return mf_read(m->m_map, f, s, err, errlen);
}
