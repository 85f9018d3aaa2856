/*
 * msg_link.c — the messages every link speaks whatever its daemon: ok
 * (with dup for errdb), err, ping, pong and goaway.  proto/link.c answers
 * with them; clients read ok and err.
 */
#include <stdint.h>

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
