/*
 * msg_priv.h — what msg.c shares with the per-family msg_*.c files and
 * the daemons must not see: the unpacked message, the typed map readers
 * (mo_*) and the field tables that pack and read a flat record.
 */
#ifndef WHOISD_PROTO_MSG_PRIV_H
#define WHOISD_PROTO_MSG_PRIV_H

#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

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

/*
 * What msg_unpack() lets msgpack-c build: one 24-byte msgpack_object per
 * object (strings and bins point into the body, not copied), so a body
 * costs at most 24 MiB beside itself, 1.5 times the default max_frame.
 */
/* 5x the largest message sent: errors_r of 10000 events, 190k objects. */
#define MSG_MAX_OBJECTS		(1u << 20)
/* Twice what a builder can nest (MSGB_DEPTH); msgpack-c gives up at 32. */
#define MSG_MAX_DEPTH		(2 * MSGB_DEPTH)

/* A per-type reader was handed the wrong type of message. */
int	msg_expect(const struct msg *, enum msg_type, char *err, size_t errlen);

/*
 * Typed readers on one map object: 0, 1 absent (only with MO_OPT; the
 * output is left as it was, except a string, which becomes ""), -1 with
 * err filled.
 */
#define MO_OPT		0x01	/* absent is fine */
#define MO_CUT		0x02	/* a string too long is cut, not refused */

int	mo_str(const msgpack_object *map, const char *key, char *buf,
	    size_t len, int flags, char *err, size_t errlen);
/* str or bin, pointing into the body. */
int	mo_bytes(const msgpack_object *map, const char *key, const void **p,
	    size_t *len, int flags, char *err, size_t errlen);
int	mo_uint(const msgpack_object *map, const char *key, uint64_t *v,
	    int flags, char *err, size_t errlen);
int	mo_bool(const msgpack_object *map, const char *key, int *v, int flags,
	    char *err, size_t errlen);
int	mo_float(const msgpack_object *map, const char *key, double *v,
	    int flags, char *err, size_t errlen);
int	mo_container(const msgpack_object *map, const char *key,
	    msgpack_object_type type, const msgpack_object **o, int flags,
	    char *err, size_t errlen);
/*
 * The index of val in the NULL-ended list, or -1 with "key K: bad value"
 * if it is not there.
 */
int	mo_oneof(const char *key, const char *val, const char *const *allowed,
	    char *err, size_t errlen);
/* Prefix err with "where: " (errors inside nested maps); returns -1. */
int	mo_where(const char *where, char *err, size_t errlen);

/*
 * Field tables.  A record whose fields are plain members of one struct
 * is described once, as rows in wire order ending with a NULL key; the
 * same rows count, pack and read it, so the promised field count cannot
 * drift from what is written.
 */
enum mf_type {
	MF_STR,		/**< char[mf_size] */
	MF_UINT,	/**< uint64_t */
	MF_FLOAT,	/**< double */
	MF_BOOL,	/**< int */
	MF_ENUM		/**< an enum, the index of its name in mf_names */
};

/* Row flags, beside MO_OPT and MO_CUT that the reader takes. */
#define MF_OMIT		0x04	/* not packed when "" or 0 */
#define MF_SINCE_V2	0x08	/* packed only to a version 2+ peer */

struct msg_field {
	const char	 *mf_key;
	enum mf_type	  mf_type;
	size_t		  mf_off;	/* offsetof() the member */
	size_t		  mf_size;	/* MF_STR: the buffer's size; MF_ENUM:
					   the longest name on the wire, +1 */
	int		  mf_flags;	/* MO_* and MF_* */
	const char *const *mf_names;	/* MF_ENUM: NULL-ended, by value */
};

/* sizeof a struct member, for the mf_size of an MF_STR row. */
#define MF_SIZE(type, member)	sizeof(((type *)0)->member)

/* The fields of *s that mf_pack() writes for this version. */
uint32_t mf_count(const struct msg_field *, const void *s, int version);
/* Into the current map, which must owe mf_count() fields. */
void	 mf_pack(struct msgb *, const struct msg_field *, const void *s);
/* Every row in order: the first failure fills err and returns -1. */
int	 mf_read(const msgpack_object *map, const struct msg_field *, void *s,
	    char *err, size_t errlen);

/* A whole message of type t whose fields are one record. */
int	msg_pack_record(struct msgb *, enum msg_type t, uint64_t id,
	    int version, const struct msg_field *, const void *s);
int	msg_read_record(const struct msg *, enum msg_type t,
	    const struct msg_field *, void *s, char *err, size_t errlen);

/*
 * A whole message of type t whose one field `key` is an array of `n`
 * records of `size` bytes.  The reader refuses an item that is not a
 * map, prefixes an item's error with "key[i]: ", runs `check` (if not
 * NULL) on each item, and hands back a malloc'd array in *out.
 */
int	msg_pack_records(struct msgb *, enum msg_type t, uint64_t id,
	    int version, const char *key, const struct msg_field *,
	    const void *base, size_t size, size_t n);
int	msg_read_records(const struct msg *, enum msg_type t, const char *key,
	    const struct msg_field *, size_t size,
	    int (*check)(const void *, char *, size_t), void **out, size_t *n,
	    char *err, size_t errlen);

#endif
