/*
 * msg.h — typed msgpack messages for every internal link.
 *
 * A message is one msgpack map with string keys.  Every map carries
 * `v` (protocol version), `t` (type) and `id` (request id; a reply has its
 * request's id).  Builders (struct msgb) write the keys in a fixed order,
 * so the same call always gives the same bytes.  Readers (struct msg) fail
 * with "missing key X" / "key X: expected string" on a missing or mistyped
 * required key, and ignore keys they do not know.
 *
 * The model is smtpd's m_create/m_add/m_close and m_get/m_end: the builder
 * counts the fields it was promised, and msgb_end() fails if the count is
 * off.  See docs/protocol.md for every type and field.
 *
 * msg.c is the core (builder, reader, type names); each family of
 * messages has its own msg_*.c, named in the headings below.
 */
#ifndef WHOISD_PROTO_MSG_H
#define WHOISD_PROTO_MSG_H

#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

#ifndef PROTO_VERSION
#define PROTO_VERSION		2
#endif
/* Oldest version this build accepts: one below its own, never below 1. */
#define PROTO_VERSION_MIN	(PROTO_VERSION > 1 ? PROTO_VERSION - 1 : 1)
#define PROTO_VERSION_OK(v)	((v) >= PROTO_VERSION_MIN && (v) <= PROTO_VERSION)

enum msg_type {
	MSG_UNKNOWN = 0,	/**< a `t` this build does not know */
	MSG_OK,
	MSG_ERR,
	MSG_GOAWAY,
	MSG_PING,
	MSG_PONG,
	MSG_GET,		/**< cache */
	MSG_GET_R,
	MSG_PUT,
	MSG_TIMING,
	MSG_TIMING_GET,
	MSG_TIMING_R,
	MSG_STATS,
	MSG_STATS_R,
	MSG_PURGE,
	MSG_PURGE_R,
	MSG_QUERY,		/**< query */
	MSG_QUERY_R,
	MSG_ERROR,		/**< errdb */
	MSG_HEALTH,
	MSG_HEALTH_R,
	MSG_ERRORS,
	MSG_ERRORS_R,
	MSG_HEALTH_CLEAR,
	MSG_HELLO,		/**< every link: the handshake (auth.h) */
	MSG_HELLO_R,
	MSG_AUTH,
	MSG_NTYPES
};

/* Error codes of an `err` reply. */
#define MSG_E_BAD_FRAME		"bad-frame"	/* unreadable frame or v/t/id */
#define MSG_E_BAD_VERSION	"bad-version"	/* v not accepted */
#define MSG_E_UNKNOWN_TYPE	"unknown-type"
#define MSG_E_BAD_REQUEST	"bad-request"	/* a field missing or mistyped */
#define MSG_E_UNAVAILABLE	"unavailable"	/* a backend is down */
#define MSG_E_TIMEOUT		"timeout"
#define MSG_E_OVERLOADED	"overloaded"
#define MSG_E_INTERNAL		"internal"
#define MSG_E_AUTH_FAILED	"auth-failed"	/* handshake refused; link closes */
#define MSG_E_UNAUTHENTICATED	"unauthenticated"	/* request before the handshake */
#define MSG_E_FORBIDDEN		"forbidden"	/* not for the peer's role */

const char	*msg_type_name(enum msg_type);	/* "get_r"; NULL if none */
enum msg_type	 msg_type_lookup(const char *s, size_t len);

/* ------------------------------------------------------------------ */
/* msg.c: builder */

#define MSGB_DEPTH	8

struct msgb {
	msgpack_sbuffer	 mb_sbuf;
	msgpack_packer	 mb_pk;
	int		 mb_version;
	size_t		 mb_id_off;	/* offset of the 8-byte id, for msgb_set_id */
	size_t		 mb_v_off;	/* offset of the 1-byte version */
	int		 mb_depth;
	uint32_t	 mb_left[MSGB_DEPTH];	/* items still owed per level */
	uint8_t		 mb_isarr[MSGB_DEPTH];
	int		 mb_err;	/* a misuse was seen; msgb_end fails */
};

void	 msgb_init(struct msgb *);
void	 msgb_free(struct msgb *);
/*
 * Start a message: writes v, t, id and promises `nfields` more fields at
 * the top level.  Clears anything built before.  `id` is always written
 * as a uint64 (0xcf + 8 bytes) so msgb_set_id() can patch it in place.
 */
void	 msgb_begin(struct msgb *, const char *type, uint64_t id, uint32_t nfields,
	    int version);
/* Keyed fields (in a map). */
void	 msgb_str(struct msgb *, const char *key, const char *val);
void	 msgb_strn(struct msgb *, const char *key, const char *val, size_t len);
void	 msgb_bin(struct msgb *, const char *key, const void *val, size_t len);
void	 msgb_uint(struct msgb *, const char *key, uint64_t val);
void	 msgb_int(struct msgb *, const char *key, int64_t val);
void	 msgb_bool(struct msgb *, const char *key, int val);
void	 msgb_float(struct msgb *, const char *key, double val);
/* A nested map of `n` pairs / array of `n` items follows under `key`. */
void	 msgb_map(struct msgb *, const char *key, uint32_t n);
void	 msgb_array(struct msgb *, const char *key, uint32_t n);
/* Array items. */
void	 msgb_item_map(struct msgb *, uint32_t n);
void	 msgb_item_str(struct msgb *, const char *val);
void	 msgb_item_uint(struct msgb *, uint64_t val);
/* 0, or -1 if the promised field counts were not met or a call misused. */
int	 msgb_end(const struct msgb *);
const void *msgb_data(const struct msgb *);
size_t	 msgb_len(const struct msgb *);
int	 msgb_version(const struct msgb *);
/* Rewrite the id of a finished message (the client numbers requests). */
void	 msgb_set_id(struct msgb *, uint64_t id);
/* dst (msgb_init()ed or freed) becomes a copy of the finished src: 0, -1. */
int	 msgb_copy(struct msgb *dst, const struct msgb *src);

/* ------------------------------------------------------------------ */
/* msg.c: reader */

struct msg;	/* opaque: one unpacked map and the body it points into */

/*
 * Unpack one frame body.  Takes ownership of `body` (malloc'd; freed on
 * every path).  Checks: exactly one map, nothing left over, `v` a uint
 * accepted by PROTO_VERSION_OK, `t` a string, `id` a uint.  On failure
 * returns NULL with err filled and *code set to MSG_E_BAD_FRAME or
 * MSG_E_BAD_VERSION; *idp / *vp get the id and version when they could be
 * read (else 0), so the caller can still address an `err` reply.
 * A `t` this build does not know is not an error: msg_type() says
 * MSG_UNKNOWN and msg_tname() gives the string.
 */
struct msg	*msg_unpack(void *body, size_t len, uint64_t *idp, int *vp,
		    const char **code, char *err, size_t errlen);
/* The same, copying the body. */
struct msg	*msg_unpack_copy(const void *body, size_t len, char *err,
		    size_t errlen);
void		 msg_free(struct msg *);

int		 msg_version(const struct msg *);
uint64_t	 msg_id(const struct msg *);
enum msg_type	 msg_type(const struct msg *);
const char	*msg_tname(const struct msg *);	/* NUL-terminated copy */

/*
 * Typed accessors on the top-level map.  msg_get_*: 0, or -1 with err
 * ("missing key X", "key X: expected uint", "key X: too long").
 * msg_opt_*: 0 found, 1 absent (the default is stored; nil counts as
 * absent), -1 mistyped.  Strings are copied NUL-terminated and must fit
 * (a string holding a NUL byte is refused).
 */
int	msg_get_str(const struct msg *, const char *key, char *buf, size_t len,
	    char *err, size_t errlen);
int	msg_opt_str(const struct msg *, const char *key, char *buf, size_t len,
	    char *err, size_t errlen);
/* str or bin, not copied: valid until msg_free(). */
int	msg_get_bytes(const struct msg *, const char *key, const void **p,
	    size_t *len, char *err, size_t errlen);
int	msg_get_uint(const struct msg *, const char *key, uint64_t *,
	    char *err, size_t errlen);
int	msg_opt_uint(const struct msg *, const char *key, uint64_t *, uint64_t def,
	    char *err, size_t errlen);
int	msg_get_int(const struct msg *, const char *key, int64_t *,
	    char *err, size_t errlen);
int	msg_get_bool(const struct msg *, const char *key, int *,
	    char *err, size_t errlen);
int	msg_opt_bool(const struct msg *, const char *key, int *, int def,
	    char *err, size_t errlen);
/* float32, float64 or an integer. */
int	msg_get_float(const struct msg *, const char *key, double *,
	    char *err, size_t errlen);
int	msg_opt_float(const struct msg *, const char *key, double *, double def,
	    char *err, size_t errlen);

/* ------------------------------------------------------------------ */
/* msg_link.c: replies common to every daemon */

int	msg_pack_ok(struct msgb *, uint64_t id, int version);
int	msg_pack_ok_dup(struct msgb *, uint64_t id, int version, int dup);
int	msg_pack_err(struct msgb *, uint64_t id, int version, const char *code,
	    const char *text);
int	msg_pack_goaway(struct msgb *, int version);
int	msg_pack_ping(struct msgb *, uint64_t id, int version);
int	msg_pack_pong(struct msgb *, uint64_t id, int version);
int	msg_read_err(const struct msg *, char *code, size_t codelen, char *text,
	    size_t textlen, char *err, size_t errlen);
int	msg_read_ok_dup(const struct msg *, int *dup, char *err, size_t errlen);

/* ------------------------------------------------------------------ */
/* msg_answer.c: the lookup path */

#define ANSWER_DOMAIN_LEN	256
#define ANSWER_STATUS_LEN	16	/* the longest status on the wire, +1 */
#define ANSWER_REASON_LEN	64
#define ANSWER_SOURCE_LEN	16	/* the longest source on the wire, +1 */
#define ANSWER_CHANNEL_LEN	16	/* the longest channel on the wire, +1 */
#define ANSWER_REGISTRY_LEN	128
#define ANSWER_RULE_LEN		64
#define ANSWER_MATCHED_LEN	512
#define ANSWER_NS_LEN		512	/* nameservers, space-separated */

/*
 * An answer's status and where it came from: names only on the wire and
 * in output.  The order is that of the counters by status and by source.
 */
enum answer_status {
	AS_AVAILABLE,
	AS_REGISTERED,
	AS_RESERVED,
	AS_INVALID,
	AS_UNKNOWN,
	AS_NSTATUS
};
enum answer_source {
	SRC_CACHE,
	SRC_REGISTRY,
	SRC_STALE,
	SRC_NSOURCE
};
/*
 * How the verdict was reached: a registry's whois, the TLD's DNS (a
 * delegation) or the registry's RDAP.  Absent on the wire means whois,
 * so older peers and the golden vectors of whois answers are unchanged.
 */
enum answer_channel {
	CH_WHOIS,
	CH_DNS,
	CH_RDAP,
	CH_NCHANNEL
};
/* Every RDAP verdict's rule starts so: the cache derives the channel. */
#define ANSWER_RULE_RDAP	"rdap:"

/* The rule of every DNS verdict: the cache derives the channel from it. */
#define ANSWER_RULE_DNS		"dns:delegated"

/* "available" etc.; NULL for a value out of range. */
const char	*answer_status_name(enum answer_status);
/* 0 with *out set, or -1 if s names no status. */
int		 answer_status_parse(const char *s, enum answer_status *out);
const char	*answer_source_name(enum answer_source);
int		 answer_source_parse(const char *s, enum answer_source *out);
const char	*answer_channel_name(enum answer_channel);

/*
 * The answer record.  Optional fields are absent when empty ("" for
 * strings, 0 for expires and retry_after, NULL for text).  rule and
 * matched exist from version 2 on and are left out for a v1 peer.
 * reason, rule and matched are informational: a longer value is cut
 * (at a UTF-8 boundary) rather than refused.
 */
struct answer {
	char		 a_domain[ANSWER_DOMAIN_LEN];	/* as asked */
	char		 a_ace[ANSWER_DOMAIN_LEN];	/* A-label form */
	enum answer_status a_status;
	char		 a_reason[ANSWER_REASON_LEN];	/* optional */
	enum answer_source a_source;
	double		 a_checked;			/* epoch seconds */
	double		 a_expires;			/* optional */
	char		 a_registry[ANSWER_REGISTRY_LEN];
	uint64_t	 a_latency_ms;
	char		 a_rule[ANSWER_RULE_LEN];	/* optional, v2+ */
	char		 a_matched[ANSWER_MATCHED_LEN];	/* optional, v2+ */
	enum answer_channel a_channel;			/* optional */
	char		*a_text;	/* optional, owned; NUL-terminated too */
	size_t		 a_text_len;
	uint64_t	 a_retry_after;			/* optional */
	/* What the registry says of the registration (RDAP), optional. */
	double		 a_reg_created;			/* epoch seconds */
	double		 a_reg_expires;
	char		 a_nameservers[ANSWER_NS_LEN];
};

void	answer_free(struct answer *);	/* frees a_text; the struct stays */
/* Copy a_text (a NULL or empty text clears it). */
void	answer_set_text(struct answer *, const void *text, size_t len);
/* dst = src with its own copy of the text (dst holds none before). */
void	answer_copy(struct answer *dst, const struct answer *src);

/* cache: get -> get_r. The answer travels under key `a` when found. */
struct msg_get {
	char	g_domain[ANSWER_DOMAIN_LEN];	/* A-label */
	int	g_lease;
	int	g_notext;	/* optional "text": false, the text is not wanted */
	/*
	 * Optional "if": the asker holds the answer with this checked time,
	 * expiry and status (g_if_checked > 0).  A fresh entry with all
	 * three the same is answered `same`, without the answer: the memo
	 * refreshes what it has instead of fetching the text again.  An
	 * if_status this build does not know drops the "if" when read.
	 */
	double	g_if_checked;
	double	g_if_expires;
	enum answer_status g_if_status;
};
#define GET_LEASE_GRANTED	"granted"
#define GET_LEASE_NONE		"none"
struct msg_get_r {
	int		gr_found;
	int		gr_stale;
	int		gr_same;	/* found, fresh, the get's "if": no answer */
	char		gr_lease[16];	/* "granted" | "none" */
	struct answer	gr_answer;	/* valid when gr_found && !gr_same */
};
int	msg_pack_get(struct msgb *, uint64_t id, int version,
	    const struct msg_get *);
int	msg_read_get(const struct msg *, struct msg_get *, char *err, size_t errlen);
int	msg_pack_get_r(struct msgb *, uint64_t id, int version,
	    const struct msg_get_r *);
/* Fills gr_answer (caller: answer_free). */
int	msg_read_get_r(const struct msg *, struct msg_get_r *, char *err,
	    size_t errlen);

/* cache: put {a: answer} -> ok; query: query_r {a: answer}. */
int	msg_pack_put(struct msgb *, uint64_t id, int version,
	    const struct answer *);
int	msg_read_put(const struct msg *, struct answer *, char *err, size_t errlen);
int	msg_pack_query_r(struct msgb *, uint64_t id, int version,
	    const struct answer *);
int	msg_read_query_r(const struct msg *, struct answer *, char *err,
	    size_t errlen);

/*
 * query: query {domain, deadline_ms, client?, bulk?, full?} -> query_r
 * (above).  client names the end client (its address) for the fair share
 * of a registry's budget, bulk says its request holds more than one name,
 * full asks for the registrar's record too; absent: one anonymous
 * client, not bulk, not full.
 */
#define QUERY_CLIENT_LEN	64
struct msg_query {
	char		q_domain[ANSWER_DOMAIN_LEN];	/* A-label */
	uint64_t	q_deadline_ms;
	char		q_client[QUERY_CLIENT_LEN];	/* "" = anonymous */
	int		q_bulk;
	int		q_full;
};
int	msg_pack_query(struct msgb *, uint64_t id, int version,
	    const struct msg_query *);
int	msg_read_query(const struct msg *, struct msg_query *, char *err,
	    size_t errlen);

/* ------------------------------------------------------------------ */
/* msg_timing.c: registry latencies */

/* cache: timing -> ok. */
#define TIMING_OK		"ok"
#define TIMING_FAIL		"fail"
#define TIMING_RATELIMITED	"ratelimited"
struct msg_timing {
	char		tm_registry[ANSWER_REGISTRY_LEN];
	uint64_t	tm_ms;
	char		tm_outcome[16];	/* ok | fail | ratelimited */
};
int	msg_pack_timing(struct msgb *, uint64_t id, int version,
	    const struct msg_timing *);
int	msg_read_timing(const struct msg *, struct msg_timing *, char *err,
	    size_t errlen);

/* cache: timing_get {registry} -> timing_r. */
int	msg_pack_timing_get(struct msgb *, uint64_t id, int version,
	    const char *registry);
int	msg_read_timing_get(const struct msg *, char *registry, size_t len,
	    char *err, size_t errlen);
struct msg_timing_r {
	char		tr_registry[ANSWER_REGISTRY_LEN];
	uint64_t	tr_n;		/* latencies the percentiles come from */
	uint64_t	tr_p50, tr_p90, tr_p99;	/* ms */
	uint64_t	tr_ok, tr_fail;
	double		tr_last_ratelimit;	/* epoch; 0 = never */
};
int	msg_pack_timing_r(struct msgb *, uint64_t id, int version,
	    const struct msg_timing_r *);
int	msg_read_timing_r(const struct msg *, struct msg_timing_r *, char *err,
	    size_t errlen);

/* ------------------------------------------------------------------ */
/* msg_ctl.c: whoisctl's requests */

/* cache: stats {} -> stats_r {c: {name: uint, ...}}. */
struct msg_counter {
	char		mc_name[64];
	uint64_t	mc_value;
};
/* A daemon's counters, added one by one; more than fit is a bug (fatal). */
struct msg_counters {
	struct msg_counter	mcs_c[32];
	size_t			mcs_n;
};
void	msg_counters_add(struct msg_counters *, const char *name, uint64_t);
int	msg_pack_stats(struct msgb *, uint64_t id, int version);
int	msg_pack_stats_r(struct msgb *, uint64_t id, int version,
	    const struct msg_counter *, size_t n);
/* *out is malloc'd (free()); names longer than 63 bytes are refused. */
int	msg_read_stats_r(const struct msg *, struct msg_counter **out,
	    size_t *n, char *err, size_t errlen);

/* cache: purge {domain?, all} -> purge_r {n}. */
struct msg_purge {
	char	pg_domain[ANSWER_DOMAIN_LEN];	/* "" = absent */
	int	pg_all;
};
int	msg_pack_purge(struct msgb *, uint64_t id, int version,
	    const struct msg_purge *);
int	msg_read_purge(const struct msg *, struct msg_purge *, char *err,
	    size_t errlen);
int	msg_pack_purge_r(struct msgb *, uint64_t id, int version, uint64_t n);
int	msg_read_purge_r(const struct msg *, uint64_t *n, char *err,
	    size_t errlen);

/* ------------------------------------------------------------------ */
/* msg_error.c: whoisd-errdb */

/* errdb: error -> ok {dup}. */
struct errevent {
	char		ev_eid[64];	/* unique; the idempotency key */
	char		ev_host[256];
	char		ev_daemon[32];
	char		ev_registry[ANSWER_REGISTRY_LEN];
	char		ev_domain[ANSWER_DOMAIN_LEN];
	char		ev_kind[32];	/* timeout|reset|refused|ratelimited|... */
	char		ev_msg[512];	/* cut at a UTF-8 boundary if longer */
	double		ev_time;
	uint64_t	ev_retry_after;	/* optional, 0 = absent */
};
int	msg_pack_error(struct msgb *, uint64_t id, int version,
	    const struct errevent *);
int	msg_read_error(const struct msg *, struct errevent *, char *err,
	    size_t errlen);

/* errdb: health {registry?} -> health_r {regs: [...]}. */
#define HEALTH_OK		"ok"
#define HEALTH_DEGRADED		"degraded"
#define HEALTH_BACKOFF		"backoff"
struct reghealth {
	char		rh_registry[ANSWER_REGISTRY_LEN];
	char		rh_state[16];	/* ok | degraded | backoff */
	double		rh_until;	/* back-off end, epoch; 0 = none */
	uint64_t	rh_recent;	/* recent error count */
};
int	msg_pack_health(struct msgb *, uint64_t id, int version,
	    const char *registry);	/* NULL or "" = every registry */
int	msg_read_health(const struct msg *, char *registry, size_t len,
	    char *err, size_t errlen);
int	msg_pack_health_r(struct msgb *, uint64_t id, int version,
	    const struct reghealth *, size_t n);
int	msg_read_health_r(const struct msg *, struct reghealth **out, size_t *n,
	    char *err, size_t errlen);

/*
 * errdb: health_clear {registry} -> ok {n}: ends the registry's back-off
 * (an operator's command); n is the number of events that were holding it.
 */
int	msg_pack_health_clear(struct msgb *, uint64_t id, int version,
	    const char *registry);
/* registry is required and not empty. */
int	msg_read_health_clear(const struct msg *, char *registry, size_t len,
	    char *err, size_t errlen);
int	msg_pack_ok_n(struct msgb *, uint64_t id, int version, uint64_t n);
int	msg_read_ok_n(const struct msg *, uint64_t *n, char *err,
	    size_t errlen);

/* errdb: errors {registry?, kind?, since?, limit?} -> errors_r {events}. */
struct msg_errors {
	char		es_registry[ANSWER_REGISTRY_LEN];	/* "" = any */
	char		es_kind[32];				/* "" = any */
	double		es_since;				/* 0 = any */
	uint64_t	es_limit;				/* 0 = default */
};
int	msg_pack_errors(struct msgb *, uint64_t id, int version,
	    const struct msg_errors *);
int	msg_read_errors(const struct msg *, struct msg_errors *, char *err,
	    size_t errlen);
int	msg_pack_errors_r(struct msgb *, uint64_t id, int version,
	    const struct errevent *, size_t n);
int	msg_read_errors_r(const struct msg *, struct errevent **out, size_t *n,
	    char *err, size_t errlen);

#endif
