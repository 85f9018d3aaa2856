/*
 * pool.h — the preforking process manager every whoisd daemon runs on.
 *
 * A master that never serves clients forks children; each child runs a
 * libevent loop, accepts from the shared listeners (one exclusive wake-up
 * per connection through EPOLLEXCLUSIVE) and serves up to
 * max_clients_per_child connections.  A daemon supplies only callbacks
 * (struct pool_daemon); see docs/architecture.md.
 */
#ifndef WHOISD_POOL_H
#define WHOISD_POOL_H

#include <sys/types.h>
#include <sys/socket.h>
#include <stdint.h>

#include "common/config.h"
#include "common/net.h"

struct event_base;

/* The pool's keys; every daemon's conf struct starts with this. */
struct pool_conf {
	long			 pc_min_servers;
	long			 pc_max_servers;
	long			 pc_min_spare_servers;
	long			 pc_max_spare_servers;
	long			 pc_max_requests;
	long			 pc_max_requests_jitter;
	long			 pc_max_clients_per_child;
	double			 pc_child_timeout;
	double			 pc_check_for_dead;
	long			 pc_spawn_rate_max;
	double			 pc_shutdown_timeout;
	char			*pc_serialize;
	char			*pc_user;
	char			*pc_group;
	char			*pc_pid_file;
	char			*pc_status_file;
	char			*pc_log_file;
	long			 pc_log_level;
	int			 pc_background;
	long			 pc_listen_backlog;
	struct conf_list	 pc_listen;
	struct conf_list	 pc_metrics_listen;
	struct conf_list	 pc_cidr_allow;
	struct conf_list	 pc_cidr_deny;
	char			*pc_link_keys;
	char			*pc_link_auth;
	/* Private: the -f path, set by conf_load. */
	char			*pc_conf_path;
};

/* What a daemon gives the pool. */
struct pool_daemon {
	const char		*pd_name;	/* "whoisd-cache" */
	const struct conf_spec	*pd_spec;
	/*
	 * Extra listener keys besides `listen` (for example the front's
	 * "http_listen"), each a CONF_LIST/CONF_ADDR in the daemon conf,
	 * named as systemd's FileDescriptorName= would name them.  The
	 * `listen` key itself is named pd_listen_name ("whois" for the
	 * front, NULL for "listen").
	 */
	const char		*pd_listen_name;
	const char		*pd_extra_names[4];
	size_t			 pd_extra_offs[4];	/* offsetof CONF_LIST */
	int			 pd_nextra;

	/* Master: after config load and privilege drop, before forking
	 * (open and migrate databases).  Also after a HUP with the new conf.
	 * 0 or -1 (startup: fatal; HUP: the old config stays). */
	int	(*pd_master_init)(void *conf, int reload);
	/* Child: after fork, with its own event base. */
	void	(*pd_child_init)(struct event_base *base, void *conf);
	/* Child: a connection was accepted on listener `l` (allowed by CIDR). */
	void	(*pd_child_accept)(struct listener *l, int fd,
		    struct sockaddr *sa, socklen_t salen);
	/* Child: stop taking new requests on open connections (goaway,
	 * close idle keep-alives); the pool exits once pool_conn_done() has
	 * been called for every connection. */
	void	(*pd_child_drain)(void);
	/* Child: about to exit (flush, close databases). May be NULL. */
	void	(*pd_child_exit)(void);
	/* `listen` when the config has none ("127.0.0.1:4701"). */
	const char		*pd_default_listen;
	/* TCP_DEFER_ACCEPT seconds on every listener, 0 for none: for
	 * public ports whose clients speak first (whois, HTTP). */
	int			 pd_defer_accept;
};

/* Run the daemon: parse argv, bind, fork children, loop. Returns exit code. */
int	pool_main(const struct pool_daemon *pd, int argc, char **argv);

/* ---- for children ---- */

/* The conf currently in effect in this child. */
void	*pool_conf(void);
struct event_base *pool_base(void);
/* A connection handed to pd_child_accept ended (call once per accept). */
void	 pool_conn_done(void);
/*
 * End a connection with a lingering close (common/linger.c) instead:
 * pool_conn_done() comes when the socket is really closed, so a draining
 * child stays until then and the client is not reset by its exit.
 */
void	 pool_conn_linger(int fd, double secs);
/* Mark the start and the end of one request (scoreboard, child_timeout,
 * max_requests).  `key` is what the log names if the child gets stuck. */
void	 pool_req_begin(const char *key);
void	 pool_req_end(void);
/* Count one more connection (the accept path does; a daemon may hold
 * its child open for work of its own the same way); pool_conn_done()
 * ends it.  It is always counted; returns -1 if that puts the child over
 * max_clients_per_child. */
int	 pool_conn_add(void);
/*
 * Making room at max_clients_per_child: fn(arg, 0) closes (or starts
 * closing) one idle connection and returns 0, or -1 if none may be
 * closed; fn(arg, 1) only says whether one may.  With it, a full child
 * keeps accepting while it has such a connection (checked again every
 * second) and each connection over the limit closes one, so idle sockets
 * cannot lock real peers out.  Without it (NULL), a full child stops
 * accepting until a connection ends.
 */
void	 pool_set_make_room(int (*fn)(void *arg, int dry), void *arg);
/* Is this connection's peer allowed by cidr_allow/cidr_deny? */
int	 pool_client_allowed(const struct sockaddr *sa, const char *where);
/* Is this child draining (retiring, HUP or QUIT)? */
int	 pool_draining(void);
/* Number of children and the index of this one (for shared budgets). */
int	 pool_child_slot(void);

/* The scoreboard as one JSON object (children, states, counters). */
size_t	 pool_status_json(char *buf, size_t len);

/* ---- scoreboard, readable by whoisctl and STATUS= ---- */

enum sb_state {
	SB_EMPTY = 0,	/**< slot unused */
	SB_STARTING,	/**< forked, not yet accepting */
	SB_IDLE,	/**< accepting, no client */
	SB_BUSY,	/**< at least one client */
	SB_RETIRING,	/**< stopped accepting, finishing its clients */
};

#define SB_KEYLEN	64

struct sb_slot {
	volatile pid_t		 sb_pid;
	volatile int		 sb_state;
	volatile uint32_t	 sb_gen;	/* config generation */
	volatile uint32_t	 sb_clients;
	volatile uint64_t	 sb_requests;
	volatile uint64_t	 sb_accepts;
	volatile uint64_t	 sb_wakeups;	/* listener wake-ups */
	volatile uint64_t	 sb_wasted;	/* wake-ups where accept found nothing */
	volatile double		 sb_started;	/* wall clock */
	volatile double		 sb_req_start;	/* monotonic; 0 = not in a request */
	volatile int		 sb_req_active;
	char			 sb_req_key[SB_KEYLEN];
};

#endif
