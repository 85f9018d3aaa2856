/*
 * msg_link.c — the messages every link speaks whatever its daemon: ok
 * (with dup for errdb), err, ping, pong, goaway and the handshake's
 * hello, hello_r and auth.  proto/link.c answers with them; clients read
 * ok and err.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "proto/auth.h"
#include "proto/msg.h"
#include "proto/msg_priv.h"

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

/* A fixed-length bin field, copied out. */
static int
mo_fixed(const struct msg *m, const char *key, uint8_t *out, size_t len,
    char *err, size_t errlen)
{
	const void	*p;
	size_t		 n;

	if (mo_bytes(m->m_map, key, &p, &n, 0, err, errlen) == -1)
		return -1;
	if (n != len) {
		snprintf(err, errlen, "key %s: %zu bytes, not %zu", key, n, len);
		return -1;
	}
	memcpy(out, p, len);
	return 0;
}

/* A role name this build knows, not "none". */
static int
mo_role(const struct msg *m, enum link_role *role, char *err, size_t errlen)
{
	char	name[16];

	if (mo_str(m->m_map, "role", name, sizeof(name), 0, err, errlen) == -1)
		return -1;
	if ((*role = role_lookup(name)) == ROLE_NONE) {
		snprintf(err, errlen, "key role: unknown role \"%s\"", name);
		return -1;
	}
	return 0;
}

int
msg_pack_hello(struct msgb *b, uint64_t id, int version, enum link_role role,
    const uint8_t nonce[AUTH_NONCE_LEN])
{
	msgb_begin(b, "hello", id, 2, version);
	msgb_str(b, "role", role_name(role));
	msgb_bin(b, "nonce", nonce, AUTH_NONCE_LEN);
	return msgb_end(b);
}

int
msg_read_hello(const struct msg *m, enum link_role *role,
    uint8_t nonce[AUTH_NONCE_LEN], char *err, size_t errlen)
{
	if (msg_expect(m, MSG_HELLO, err, errlen) == -1 ||
	    mo_role(m, role, err, errlen) == -1 ||
	    mo_fixed(m, "nonce", nonce, AUTH_NONCE_LEN, err, errlen) == -1)
		return -1;
	return 0;
}

int
msg_pack_hello_r(struct msgb *b, uint64_t id, int version, enum link_role role,
    const uint8_t nonce[AUTH_NONCE_LEN], const uint8_t sig[AUTH_SIG_LEN])
{
	msgb_begin(b, "hello_r", id, 3, version);
	msgb_str(b, "role", role_name(role));
	msgb_bin(b, "nonce", nonce, AUTH_NONCE_LEN);
	msgb_bin(b, "sig", sig, AUTH_SIG_LEN);
	return msgb_end(b);
}

int
msg_read_hello_r(const struct msg *m, enum link_role *role,
    uint8_t nonce[AUTH_NONCE_LEN], uint8_t sig[AUTH_SIG_LEN], char *err,
    size_t errlen)
{
	if (msg_expect(m, MSG_HELLO_R, err, errlen) == -1 ||
	    mo_role(m, role, err, errlen) == -1 ||
	    mo_fixed(m, "nonce", nonce, AUTH_NONCE_LEN, err, errlen) == -1 ||
	    mo_fixed(m, "sig", sig, AUTH_SIG_LEN, err, errlen) == -1)
		return -1;
	return 0;
}

int
msg_pack_auth(struct msgb *b, uint64_t id, int version,
    const uint8_t sig[AUTH_SIG_LEN])
{
	msgb_begin(b, "auth", id, 1, version);
	msgb_bin(b, "sig", sig, AUTH_SIG_LEN);
	return msgb_end(b);
}

int
msg_read_auth(const struct msg *m, uint8_t sig[AUTH_SIG_LEN], char *err,
    size_t errlen)
{
	if (msg_expect(m, MSG_AUTH, err, errlen) == -1 ||
	    mo_fixed(m, "sig", sig, AUTH_SIG_LEN, err, errlen) == -1)
		return -1;
	return 0;
}
