/*
 * auth.h — who is at the other end of an internal link.
 *
 * Every daemon and whoisctl has a role (front, query, cache, errdb,
 * ctl) and an Ed25519 key pair for it in the key directory (`link_keys`):
 * ROLE.key (private, mode 0600) and ROLE.pub.  A link begins with a
 * handshake in which each side signs both sides' fresh nonces and both
 * role names:
 *
 *	client -> hello   {role, nonce}
 *	server -> hello_r {role, nonce, sig}	server signs, client checks
 *	client -> auth    {sig}			client signs, server checks
 *	server -> ok, or err auth-failed and the link closes
 *
 * The server then serves the types its table allows the proven role
 * (link_server.h).  Signatures, not a shared secret: a daemon holds only
 * its own private key and the others' public keys, so a process that can
 * read the front's key still cannot speak as whoisd-query, and only the
 * holder of ctl.key (root, by default) may purge the cache.
 *
 * Upgrades: with `link_auth prefer`, a peer of the previous version that
 * sends no hello is served as before (with a warning) and a server that
 * answers hello `unknown-type` is used unauthenticated; `require` (the
 * default) refuses both.  docs/operations.md gives the order.
 */
#ifndef WHOISD_PROTO_AUTH_H
#define WHOISD_PROTO_AUTH_H

#include <stddef.h>
#include <stdint.h>

#include "proto/msg.h"

enum link_role {
	ROLE_NONE = 0,
	ROLE_FRONT,
	ROLE_QUERY,
	ROLE_CACHE,
	ROLE_ERRDB,
	ROLE_CTL,
	ROLE_N
};

#define ROLE_BIT(r)	(1u << (r))
/* Every role: a handler open to all, or a peer that did not say hello. */
#define ROLES_ALL	(ROLE_BIT(ROLE_FRONT) | ROLE_BIT(ROLE_QUERY) | \
			 ROLE_BIT(ROLE_CACHE) | ROLE_BIT(ROLE_ERRDB) | \
			 ROLE_BIT(ROLE_CTL))

enum link_auth_mode {
	AUTH_REQUIRE = 0,	/**< every peer proves its role */
	AUTH_PREFER,		/**< during an upgrade: legacy peers served */
};

#define AUTH_NONCE_LEN	16
#define AUTH_SIG_LEN	64

/* The signing side: who signs the transcript. */
#define AUTH_SIDE_SERVER	'S'
#define AUTH_SIDE_CLIENT	'C'

struct link_keys;	/* opaque */

const char	*role_name(enum link_role);	/* "front"; NULL if none */
enum link_role	 role_lookup(const char *);	/* ROLE_NONE if unknown */
/* "front,query" for a mask; "any" for ROLES_ALL, "none" for 0. */
void		 role_mask_str(unsigned mask, char *buf, size_t len);

/*
 * Load dir/ROLE.key (refused if group or others may read it) and every
 * dir/X.pub present.  mode: "require" or "prefer".  NULL with err filled
 * ("link_keys /etc/whoisd/keys: front.key: No such file or directory").
 */
struct link_keys *link_keys_load(const char *dir, enum link_role,
		    const char *mode, char *err, size_t errlen);
void		 link_keys_free(struct link_keys *);
enum link_role	 link_keys_role(const struct link_keys *);
enum link_auth_mode link_keys_mode(const struct link_keys *);
int		 link_keys_has_pub(const struct link_keys *, enum link_role);

/*
 * The process's keys, set by the daemon's master at start and on each
 * reload (children inherit them).  NULL until set: links then run
 * without a handshake (unit tests of the link layer).
 */
void		 link_keys_set(struct link_keys *);
const struct link_keys *link_keys_get(void);
/*
 * A daemon master's step at start (reload 0), on HUP (1) and for -n (2):
 * load role's keys as the pool keys link_keys and link_auth say (conf
 * starts with struct pool_conf) and, unless -n, make them the process's.
 * On failure: logged (and printed unless reloading), the keys in use
 * kept, -1.
 */
int		 link_keys_master(const void *conf, enum link_role,
		    const char *daemon, int reload);
/*
 * A daemon's config check, before any socket is bound: can role's keys
 * be loaded as link_keys and link_auth say?  0, or -1 with err worded
 * "file:line: link_keys: why" (conf_keyerr()).
 */
int		 link_keys_check(const void *conf, enum link_role, char *err,
		    size_t errlen);

/* Fill buf with len random bytes: 0 or -1. */
int		 auth_random(void *buf, size_t len);
/*
 * Sign, with our own key, the transcript of one side of a handshake.
 * 0, or -1 with err filled.
 */
int		 auth_sign(const struct link_keys *, int side,
		    const uint8_t cnonce[AUTH_NONCE_LEN],
		    const uint8_t snonce[AUTH_NONCE_LEN], enum link_role crole,
		    enum link_role srole, uint8_t sig[AUTH_SIG_LEN],
		    char *err, size_t errlen);
/* Check signer's signature (side, nonces, roles); 0 good, -1 not. */
int		 auth_verify(const struct link_keys *, enum link_role signer,
		    int side, const uint8_t cnonce[AUTH_NONCE_LEN],
		    const uint8_t snonce[AUTH_NONCE_LEN], enum link_role crole,
		    enum link_role srole, const void *sig, size_t siglen,
		    char *err, size_t errlen);

/*
 * Create dir (0755) and, for each role missing its pair, ROLE.key (0600)
 * and ROLE.pub (0644).  Daemon roles' files are given to uid/gid when
 * those are not -1 (ctl.key stays with the caller).  Prints one line per
 * key made to `out` when not NULL.  0, or -1 with err filled.
 */
int		 auth_keygen(const char *dir, long uid, long gid, void *out,
		    char *err, size_t errlen);

/* ------------------------------------------------------------------ */
/* The handshake's messages (msg_link.c) */

int	msg_pack_hello(struct msgb *, uint64_t id, int version,
	    enum link_role, const uint8_t nonce[AUTH_NONCE_LEN]);
int	msg_read_hello(const struct msg *, enum link_role *,
	    uint8_t nonce[AUTH_NONCE_LEN], char *err, size_t errlen);
int	msg_pack_hello_r(struct msgb *, uint64_t id, int version,
	    enum link_role, const uint8_t nonce[AUTH_NONCE_LEN],
	    const uint8_t sig[AUTH_SIG_LEN]);
int	msg_read_hello_r(const struct msg *, enum link_role *,
	    uint8_t nonce[AUTH_NONCE_LEN], uint8_t sig[AUTH_SIG_LEN],
	    char *err, size_t errlen);
int	msg_pack_auth(struct msgb *, uint64_t id, int version,
	    const uint8_t sig[AUTH_SIG_LEN]);
int	msg_read_auth(const struct msg *, uint8_t sig[AUTH_SIG_LEN],
	    char *err, size_t errlen);

#endif
