/*
 * client.h — asynchronous client of one whoisd daemon, on libevent.
 *
 * Many requests share one connection and are matched to replies by `id`
 * (the client numbers them).  Every request has a deadline.  The client
 * connects at once, reconnects with capped exponential back-off, and
 * queues requests issued while it connects (bounded).
 *
 * Errors reach the callback as a kind (CLIENT_E_*) and a message:
 *  - "timeout"      the deadline passed first (a late reply is dropped);
 *  - "link-lost"    the connection dropped with the request sent, and
 *                   it may not be resent (see below): it fails at once,
 *                   not at its deadline;
 *  - "unavailable"  no connection, and none can be made before the
 *                   deadline (the server is down, back-off is pending),
 *                   or the link has been down for co_down_wait_ms;
 *  - "overloaded"   the queue of requests waiting for a connection is full;
 *  - "shutdown"     client_free() with the request pending.
 * An `err` reply from the server is a reply, not an error: cr_msg holds it.
 *
 * goaway: after the server sends it, new requests go to a new connection
 * while those already sent still get their replies on the old one.  A
 * request a connection never answered (after goaway, or because the
 * connection dropped) is resent once on the next connection if it was
 * marked CLIENT_IDEMPOTENT; otherwise it fails "link-lost".
 *
 * Versions: requests go out in the connection's version, at first
 * co_version.  A server one version older answers `err` bad-version in
 * its own version; the client then speaks that version on the connection
 * and resends the request once (readers ignore unknown keys, so a newer
 * body is readable by an older server).
 *
 * Keep-alive: a connection that comes up with nothing to send sends a
 * `ping` at once, and one that has sent nothing for co_ping_ms sends
 * another, so a server's hello and idle timeouts never end a link that
 * is in use.  A server that still closes an idle link sends `goaway`:
 * the client reconnects at once and loses nothing.
 *
 * Authentication: with co_peer_role set and keys loaded (auth.h), a new
 * connection says hello and sends requests only once the server has
 * proved that role; a server that fails is logged (rate-limited) and
 * retried after back-off, like one that refuses the connection.
 *
 * Callbacks are never called from inside client_call(); they may call
 * client_call() again.  client_free() must not be called from a callback.
 */
#ifndef WHOISD_PROTO_CLIENT_H
#define WHOISD_PROTO_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "proto/frame.h"
#include "proto/msg.h"

struct event_base;
struct client;

#define CLIENT_E_TIMEOUT	"timeout"
#define CLIENT_E_LINK_LOST	"link-lost"
#define CLIENT_E_UNAVAILABLE	"unavailable"
#define CLIENT_E_OVERLOADED	"overloaded"
#define CLIENT_E_SHUTDOWN	"shutdown"

#define CLIENT_IDEMPOTENT	0x01	/* may be resent once on a new link */

struct client_opts {
	struct frame_limits	co_limits;
	const char		*co_name;	/* for logs: "cache"; NULL: the address */
	size_t			 co_max_queue;	/* 0: 1024 waiting for a connection */
	int			 co_backoff_min_ms;	/* 0: 50 */
	int			 co_backoff_max_ms;	/* 0: 2000 */
	int			 co_connect_timeout_ms;	/* 0: 1000 */
	int			 co_default_deadline_ms; /* 0: 5000; for deadline 0 */
	int			 co_version;	/* 0: PROTO_VERSION */
	/* Once the link has been down this long, requests stop waiting for
	 * it and fail "unavailable" at once until it is back; 0: they wait
	 * until their deadline. */
	int			 co_down_wait_ms;
	int			 co_ping_ms;	/* 0: 60000; < 0: never */
	/* The server's role (auth.h): once the process has keys, every
	 * connection first proves both sides; ROLE_NONE (0): no handshake. */
	int			 co_peer_role;
};

struct client_result {
	struct msg	*cr_msg;	/* the reply; NULL on error; freed after
					 * the callback returns */
	const char	*cr_err;	/* NULL or CLIENT_E_* */
	const char	*cr_errmsg;	/* human-readable detail, or "" */
	double		 cr_ms;		/* call to reply/failure, milliseconds */
};

typedef void (*client_cb)(const struct client_result *, void *arg);

struct client_stats {
	uint64_t	cs_requests;
	uint64_t	cs_replies;
	uint64_t	cs_timeouts;
	uint64_t	cs_link_lost;
	uint64_t	cs_unavailable;
	uint64_t	cs_overloaded;
	uint64_t	cs_retries;	/* idempotent resends on a new link */
	uint64_t	cs_late;	/* replies after their deadline */
	uint64_t	cs_connects;
	uint64_t	cs_connect_fails;
	uint64_t	cs_goaways;
	size_t		cs_inflight;	/* sent, not answered */
	size_t		cs_queued;	/* waiting for a connection */
	int		cs_connected;
	int		cs_backoff_ms;	/* current back-off; 0 = none */
};

/* hostport: "127.0.0.1:4701" or "[::1]:4701"; NULL opts: defaults.
 * NULL with err filled only for a malformed address. */
struct client	*client_new(struct event_base *, const char *hostport,
		    const struct client_opts *, char *err, size_t errlen);
/* Fails every pending request with "shutdown", then frees. */
void		 client_free(struct client *);

/*
 * Send the finished message in `b` (its id is replaced by the client's).
 * deadline_ms: 0 means co_default_deadline_ms.  Returns the request's id
 * (> 0), or 0 if `b` is unfinished or over max_frame (no callback then).
 * Every other outcome, failures included, reaches `cb` exactly once.
 */
uint64_t	 client_call(struct client *, const struct msgb *b, int deadline_ms,
		    int flags, client_cb cb, void *arg);
/* Forget a pending request: its callback will not be called. 0 or -1. */
int		 client_cancel(struct client *, uint64_t id);

int		 client_connected(const struct client *);
void		 client_stats(const struct client *, struct client_stats *);
const char	*client_addr(const struct client *);

#endif
