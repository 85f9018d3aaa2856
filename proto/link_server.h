/*
 * link_server.h — the server side of every internal link of a daemon
 * child, on top of link.h: the daemon hands over a table of the message
 * types it serves and their handlers, and the link server accepts the
 * connections, keeps their list, dispatches, sends goaway on drain,
 * answers the pool (pool_conn_done()) when a link ends, and counts the
 * requests answered `err`.  At max_clients_per_child it makes room for a
 * new connection by sending goaway to the longest-idle link (one that
 * never sent a frame first): idle sockets cannot lock out a real peer.
 *
 *	static const struct link_handler cache_handlers[] = {
 *		{ MSG_GET,	cache_get,	LH_REQ_LATER,	0 },
 *		{ MSG_PUT,	cache_put,	LH_REQ,		ROLE_BIT(ROLE_QUERY) },
 *	};
 *
 * The last column is who may send the type: the roles a peer proves in
 * the link's handshake (auth.h), 0 for any.  Another role gets `err`
 * forbidden, counted and logged (rate-limited); the link stays.  A hello
 * from a role no row names is refused.
 *
 * A handler answers its request exactly once, now or later, with
 * link_server_reply(), link_server_reply_err() or link.h's link_reply*().
 */
#ifndef WHOISD_PROTO_LINK_SERVER_H
#define WHOISD_PROTO_LINK_SERVER_H

#include <sys/socket.h>

#include <stddef.h>
#include <stdint.h>

#include "proto/auth.h"
#include "proto/link.h"
#include "proto/msg.h"

struct event_base;
struct link_server;

/* One row of a daemon's table: a message type and its handler. */
struct link_handler {
	enum msg_type	  lh_type;
	/* The msg is freed when it returns: copy what a later reply needs. */
	void		(*lh_fn)(struct link *, struct msg *);
	int		  lh_flags;
	unsigned	  lh_roles;	/* ROLE_BIT()s allowed; 0: every role */
};

/* The handler runs inside a pool request, "<type> from <peer>"... */
#define LH_REQ		0x01
/* ...that its own work ends later (pool_req_end()), not the return. */
#define LH_REQ_LATER	0x02

/* The daemon's config values, as its keys read them. */
struct link_server_opts {
	long	  lso_max_frame;	/* max_frame */
	long	  lso_compress_min;	/* compress_min, 0: never deflate */
	double	  lso_frame_timeout;	/* link_frame_timeout, s; 0: 10 */
	double	  lso_hello_timeout;	/* link_hello_timeout, s; 0: 10 */
	double	  lso_idle_timeout;	/* link_idle_timeout, s; 0: 300 */
	int	  lso_flags;
	/* May be NULL.  A link ended: forget what waits on it. */
	void	(*lso_closed)(struct link *);
	/* May be NULL.  1 while the daemon's storage fault is already
	 * logged (once per episode): its `internal` errors go to debug. */
	int	(*lso_fault)(void);
};

/* A type not in the table is logged, rate-limited (it is counted as an
 * error and the link answers it `err` unknown-type either way). */
#define LSO_WARN_UNKNOWN	0x01

struct link_server *link_server_new(struct event_base *,
		    const struct link_handler *, size_t nhandlers,
		    const struct link_server_opts *);
/* Closes every link; only once no reply is pending (tests, exit). */
void		 link_server_free(struct link_server *);
/* A connection from the pool: takes the fd (pool_conn_done() when the
 * link ends). */
void		 link_server_accept(struct link_server *, int fd,
		    const struct sockaddr *, socklen_t);
/*
 * goaway to the link idle longest, 0, or -1 if none may go; dry: only
 * say.  A link that never sent a frame goes first, once a second old
 * (our clients speak as soon as they connect); one that did, only once idle
 * for link_hello_timeout, so two clients cannot keep pushing each other
 * out.  The pool's make-room hook (pool_set_make_room()).
 */
int		 link_server_make_room(struct link_server *, int dry);
/* goaway on every link: each answers what it has and closes. */
void		 link_server_drain(struct link_server *);
size_t		 link_server_links(const struct link_server *);
/* Requests answered `err` (unknown types included). */
uint64_t	 link_server_errors(const struct link_server *);

/*
 * Send a built reply to a link of a server; one that msgb_end() refuses
 * or that is over max_frame is logged and answered `err` internal
 * instead.  0, or -1 when `err` went instead.
 */
int		 link_server_reply(struct link *, uint64_t id,
		    const struct msgb *);
/* The same check, without sending b: 0 if b may be sent later. */
int		 link_server_reply_check(struct link *, uint64_t id,
		    const struct msgb *);
/* Would b, as it is, fit in one frame of this link? */
int		 link_server_fits(const struct link *, const struct msgb *);
/*
 * Log (the peer's text escaped: only bad-request carries it) and answer
 * `err` code with "what: why".
 */
void		 link_server_reply_err(struct link *, uint64_t id,
		    const char *code, const char *what, const char *why);
/* Count an `err` the daemon sent with link_reply_err() itself. */
void		 link_server_count_err(struct link *);

#endif
