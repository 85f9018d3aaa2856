/*
 * link.h — the server side of one framed connection (see frame.h, msg.h).
 *
 * A daemon hands an accepted socket to link_new() with a request handler.
 * The link reads frames, unpacks and checks v/t/id, answers `ping` itself,
 * and gives every other request to the handler, which must answer it
 * exactly once with link_reply*(), now or later (asynchronously).
 *
 * Lifetime: the struct stays allocated until the connection has ended
 * AND every request given to the handler has been answered.  A reply to
 * a link whose connection has already ended is dropped quietly, so a
 * pending reply never has to ask whether its link is still there; it
 * just has to be sent (or dropped with link_reply_drop()).
 *
 * Bad frames (unreadable, over max_frame, not a map, v/t/id missing or
 * mistyped) are logged with the peer address, answered with `err`
 * (bad-frame) and the connection is closed once that is written.  A
 * version outside PROTO_VERSION_MIN..PROTO_VERSION gets `err`
 * (bad-version) and the link stays open; an unknown `t` gets `err`
 * (unknown-type) and the link stays open.  Their warnings are
 * rate-limited per link (log_warnx_limited); bad frames and closes for
 * the limits below per process.
 *
 * Limits against broken or hostile peers: every reply, `err` included,
 * counts against lo_out_high (reading pauses past it); a peer that reads
 * nothing for lo_flush_timeout_ms while output waits, or lets more than
 * twice lo_out_high plus one frame pile up, is closed.  A frame must be
 * whole lo_frame_timeout_ms after its first byte.  A link that sent no
 * frame lo_hello_timeout_ms after connecting, or has had nothing in
 * flight for lo_idle_timeout_ms, gets `goaway` (see link_goaway()).
 *
 * Authentication (auth.h): once the process has keys (link_keys_set()),
 * a link serves nothing before the peer's hello and auth prove its role;
 * the whole handshake must end within lo_hello_timeout_ms of connecting,
 * in frames of 4 KB at most (a peer without a key buffers no max_frame).
 * A failed handshake, or a request before it, is answered `err`
 * (auth-failed, unauthenticated) and the link closes; those lines are
 * rate-limited per process.  Under link_auth prefer, a first frame other
 * than hello makes the peer a legacy one, served with every role.
 */
#ifndef WHOISD_PROTO_LINK_H
#define WHOISD_PROTO_LINK_H

#include <sys/socket.h>

#include <stddef.h>
#include <stdint.h>

#include "proto/frame.h"
#include "proto/msg.h"

struct event_base;
struct link;

struct link_cb {
	/*
	 * A request.  Return 0 after replying or arranging to reply later;
	 * return -1 (without replying) for a type this daemon does not
	 * serve: the link answers `err` unknown-type.  The msg is freed when
	 * the handler returns: copy what a later reply needs.
	 */
	int	(*lc_request)(struct link *, struct msg *, void *arg);
	/* The connection ended; called exactly once (pool_conn_done()). */
	void	(*lc_closed)(struct link *, void *arg);
	/*
	 * May be NULL.  The struct is being freed: the connection has ended
	 * and every request is answered, so arg may go too (a reply after
	 * lc_closed may still reach link_arg()).
	 */
	void	(*lc_free)(struct link *, void *arg);
};

struct link_opts {
	struct frame_limits	lo_limits;
	size_t			lo_max_inflight;	/* 0: 1024; then reading pauses */
	size_t			lo_out_high;		/* 0: 8 MiB unsent; then reading pauses */
	int			lo_flush_timeout_ms;	/* 0: 10000; output left unread */
	int			lo_frame_timeout_ms;	/* 0: 10000; first byte to whole frame */
	int			lo_hello_timeout_ms;	/* 0: 10000; connect to first frame */
	int			lo_idle_timeout_ms;	/* 0: 300000; nothing in flight */
	/* Roles whose hello is answered (ROLE_BIT()s); 0: any with a key. */
	unsigned		lo_auth_roles;
};

/* Takes the (connected) fd; NULL opts mean the defaults. */
struct link	*link_new(struct event_base *, int fd, const struct sockaddr *sa,
		    socklen_t salen, const struct link_cb *,
		    const struct link_opts *, void *arg);

/* Send a finished reply (msgb_end()ed, carrying the request's id).
 * 0, or -1 if the connection has ended (the reply is dropped). */
int		 link_reply(struct link *, const struct msgb *);
int		 link_reply_ok(struct link *, uint64_t id);
int		 link_reply_err(struct link *, uint64_t id, const char *code,
		    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* Give up on answering one pending request (e.g. its work was cancelled). */
void		 link_reply_drop(struct link *);

/* Send `goaway` and close once the peer has its replies: requests it
 * sent before it saw the goaway are still read and answered; the peer
 * closes, or, after a short grace, the link closes itself when idle. */
void		 link_goaway(struct link *);
/* Close now; pending replies will be dropped. */
void		 link_close(struct link *);

/*
 * What the peer proved (auth.h): its role's ROLE_BIT once authenticated;
 * ROLES_ALL for a legacy peer under link_auth prefer or with no keys set;
 * 0 during the handshake.  link_role_str() names it for logs.
 */
unsigned	 link_roles(const struct link *);
const char	*link_role_str(const struct link *);
/* The peer's protocol version (of its last request): build replies in it. */
int		 link_version(const struct link *);
const char	*link_peer(const struct link *);	/* "127.0.0.1:4711" */
int		 link_alive(const struct link *);
/*
 * For making room at the connection limit: 0 unless the link is open
 * with nothing in flight, unsent or half-read; else when it became idle
 * (monotonic seconds).  *spoke: whether the peer ever sent a frame and
 * has proved its role.
 */
double		 link_idle_since(const struct link *, int *spoke);
size_t		 link_inflight(const struct link *);
void		*link_arg(const struct link *);

#endif
