/*
 * query.h — whoisd-query: the registry query workers.  A `query` request
 * becomes one whois conversation with the TLD's registry (session.c),
 * paced by a token bucket and a back-off shared by every child of the
 * host (budget.c), after an IANA look-up for a TLD the registries file
 * does not know (iana.c).  serve.c drives a request from the link to the
 * answer; report.c reports to the cache and, through the spool, to the
 * errdb.
 */
#ifndef WHOISD_QUERY_H
#define WHOISD_QUERY_H

#include <sys/queue.h>

#include <stddef.h>
#include <stdint.h>

#include "common/config.h"
#include "common/pool.h"
#include "daemons/query/registries.h"
#include "proto/msg.h"

struct event_base;
struct evdns_base;
struct client;
struct listener;
struct spool;
struct answer;
struct rdap_boot;

struct query_conf {
	struct pool_conf	 qc_pool;
	char			*qc_cache_addr;
	char			*qc_errdb_addr;
	char			*qc_registries;
	char			*qc_public_suffix_list;
	char			*qc_tld_whois;
	char			*qc_registry_override;	/* NULL or "": off */
	double			 qc_registry_rate_override;	/* 0: off */
	double			 qc_connect_timeout;
	double			 qc_first_byte_timeout;
	double			 qc_total_timeout;
	double			 qc_adapt_min;	/* adaptive timeout bounds */
	double			 qc_adapt_max;	/* 0: off */
	double			 qc_adapt_refresh;
	long			 qc_max_reply;
	char			*qc_spool_dir;
	char			*qc_host_id;
	double			 qc_backoff_default;
	double			 qc_backoff_max;
	double			 qc_health_refresh;
	long			 qc_max_frame;
	long			 qc_compress_min;
	double			 qc_link_frame_timeout;
	double			 qc_link_hello_timeout;
	double			 qc_link_idle_timeout;
	char			*qc_dns_override;	/* NULL or "": off */
	char			*qc_dns_servers;	/* the TLD servers file */
	double			 qc_dns_timeout;
	double			 qc_dns_rate;		/* 0: pre-check off */
	char			*qc_rdap_bootstrap;	/* "": none */
	char			*qc_rdap_override;	/* NULL or "": off */
	char			*qc_rdap_ca_file;	/* NULL or "": system CAs */
	long			 qc_rdap_max_body;
};

/* main.c */
struct query_conf *query_conf(void);
struct registries *query_registries(void);
struct client	*query_cache(void);
struct client	*query_errdb(void);
struct spool	*query_spool(void);
struct evdns_base *query_dns(void);
const char	*query_host_id(void);
/* registry_override, or NULL when it is off. */
const char	*query_override(void);
/* The RDAP bootstrap file loaded (NULL: none). */
const struct rdap_boot *query_rdap_boot(void);
/*
 * May RDAP be asked at all?  Not when registry_override points whois at
 * a simulator and rdap_override does not: a test never reaches a real
 * registry over RDAP.
 */
int		 query_rdap_on(void);
/* rdap_override, or NULL when it is off. */
const char	*query_rdap_override(void);

/* adapt.c */
double	adapt_total_timeout(const char *registry);

/* budget.c: per-registry pacing and back-off, shared by every child. */
#define BUDGET_SLOTS		512	/* registries by name; one more overflows */
#define BUDGET_NAME_LEN		128
int	 budget_init(void);		/* master, before forking; idempotent */
/*
 * Reserve the next send slot of `name` at `rate` queries/s.  0 with *wait
 * (seconds from now) when the slot is within max_wait; -1 with *wait the
 * wait that would be needed otherwise (nothing is reserved).
 */
int	 budget_reserve(const char *name, double rate, double max_wait,
	    double *wait);
/* The quota rings: registries with a quota, and the reservations kept. */
#define BUDGET_QUOTA_SLOTS	64
#define BUDGET_QUOTA_MAX	REGISTRY_QUOTA_MAX
/* A registry's law: pacing, and at most bl_quota sends in any window of
 * bl_quota_per seconds (0: no quota). */
struct budget_law {
	double		bl_rate;
	unsigned int	bl_quota;
	double		bl_quota_per;
};
/* budget_reserve() under a law; *slot: the slot's monotonic time. */
int	 budget_reserve_law(const char *name, const struct budget_law *,
	    double max_wait, double *wait, double *slot);
/*
 * A priority slot for single-name work: the next send the spacing allows,
 * ahead of ordinary reservations.  0 reserved (*wait, *slot), -1 not
 * within max_wait, 1 not taken: it would not come before `before` (0:
 * no such bound) or the law has a quota.
 */
int	 budget_reserve_prio(const char *name, const struct budget_law *,
	    double max_wait, double before, double *wait, double *slot);
void	 budget_release_prio(const char *name, const struct budget_law *,
	    double slot);
/* Seconds from now to the slot the next reservation would get. */
double	 budget_peek(const char *name, const struct budget_law *);
/* The times (monotonic) of the next n slots, were they reserved now. */
void	 budget_project(const char *name, const struct budget_law *,
	    double *out, size_t n);
/* The least spacing of two sends at `rate` (1/rate and a margin). */
double	 budget_spacing(double rate);
/* Give back a reservation not used, if no later one was built on it. */
void	 budget_release(const char *name, const struct budget_law *,
	    double slot);
/*
 * At the moment of sending: 0 (the send is recorded), or the seconds to
 * wait before the actual sends of `name` are `1/rate` apart (timers can
 * fire late; reserved slots alone could then bunch up).  prio: a single
 * name's send, or a priority slot's; other sends also wait until the
 * pending priority slots have gone.
 */
double	 budget_send(const char *name, double rate, int prio);
/* Seconds of back-off left for `name` (0: none). */
double	 budget_backoff_left(const char *name);
/*
 * A throttle reply: back off for retry_after seconds, or the default
 * doubled per consecutive throttle up to max.  Returns the seconds set.
 */
double	 budget_throttle(const char *name, double retry_after, double dflt,
	    double max);
/* A reply that was not a throttle: the doubling starts again. */
void	 budget_ok(const char *name);
/* A back-off learnt from the errdb (epoch seconds); the later end wins. */
void	 budget_merge(const char *name, double until);
void	 budget_foreach(void (*fn)(const char *name, double tokens,
	    double wait, double backoff, uint64_t sends, void *), void *arg);

/*
 * Names each end client has waiting for a slot, in every child: a row
 * per child (budget_client_row at child start, with pool_child_slot()),
 * client hashes in buckets.  wait: count one more name of client's and
 * say whether the client is bulk: over `light` names waiting in all
 * children now, or within `hold` seconds of the last time it was.
 * done: the name left the queue.
 */
#define BUDGET_CLIENT_ROWS	64
#define BUDGET_CLIENT_BUCKETS	512
void	 budget_client_row(int slot);
int	 budget_client_wait(const char *client, int light, double hold);
void	 budget_client_done(const char *client);

/* query_metrics.c: the daemon's /metrics. */
void	 query_metrics_register(void);
void	 query_metrics_child_init(void);
void	 query_metrics_registry(const char *registry, const char *channel,
	    const char *outcome, double secs);
/*
 * fair.c: the order in which a child's waiting names take a registry's
 * slots: per end client, in turns, single-name requests before bulk.
 */
struct fair_client;
struct fair_waiter {
	double		 fw_deadline;	/* monotonic: the last useful slot */
	/* The slot is now: send (session_pace with no wait). */
	void		(*fw_go)(struct fair_waiter *, void *arg);
	/* No slot in time (or back-off): answer now, retry_after seconds. */
	void		(*fw_late)(struct fair_waiter *, double retry_after,
			    int backoff, void *arg);
	void		*fw_arg;
	int		 fw_prio;	/* fw_go: send ahead of bulk work */
	struct fair_client *fw_fc;	/* fair.c's: NULL when not waiting */
	TAILQ_ENTRY(fair_waiter) fw_entry;
};
struct fair_stats {
	uint64_t	fs_waits;	/* names queued for a slot */
	uint64_t	fs_slots;	/* slots given out */
	uint64_t	fs_late;	/* answered at once: no slot in time */
	uint64_t	fs_backoff;	/* answered at once: registry throttled */
};
void	 fair_init(struct event_base *);
/* Queue w for registry's next slots (client "" or NULL: anonymous). */
void	 fair_wait(struct fair_waiter *, const char *registry,
	    const struct budget_law *, const char *client, int bulk);
int	 fair_waiting(const struct fair_waiter *);
/* Leave the queue; no callback. */
void	 fair_cancel(struct fair_waiter *);
const struct fair_stats *fair_stats(void);

/* session.c: one whois conversation. */
enum session_state {
	SS_RESOLVING,	/**< looking the server's name up (evdns) */
	SS_RESOLVED,	/**< address known, waiting for session_go() */
	SS_CONNECTING,	/**< non-blocking connect in progress */
	SS_SENDING,	/**< writing the query line */
	SS_READING,	/**< reading the reply up to the server's close */
	SS_DONE,	/**< finished; the callback ran or is about to */
};

struct session_args {
	const char	*sa_server;	/* nominal whois server (logs, checks) */
	int		 sa_port;
	const char	*sa_connect;	/* "host:port" override, or NULL */
	int		 sa_public_only;	/* refuse loopback/private addresses */
	const char	*sa_query;	/* the line, CRLF included */
	double		 sa_connect_timeout;
	double		 sa_first_byte_timeout;
	double		 sa_total_timeout;
	size_t		 sa_max_reply;
};

struct session_result {
	int		 sr_transport;	/* enum classify_transport */
	const char	*sr_kind;	/* NULL, or timeout|reset|refused|empty|truncated */
	const char	*sr_msg;	/* detail for logs and error events */
	const char	*sr_reply;	/* the bytes read (valid in the callback) */
	size_t		 sr_len;
	double		 sr_ms;		/* connect to end */
};

struct session;
/* ready: the address is known (NULL: go at once).  done: exactly once. */
typedef void (*session_ready_cb)(struct session *, void *arg);
typedef void (*session_done_cb)(struct session *,
	    const struct session_result *, void *arg);

struct session *session_start(struct event_base *, const struct session_args *,
	    session_ready_cb, session_done_cb, void *arg);
void	 session_go(struct session *);
/*
 * Go after `wait` seconds (a slot from budget_reserve), once the actual
 * sends of `name` are 1/rate apart (budget_send).
 */
void	 session_pace(struct session *, const char *name, double rate,
	    double wait, int prio);
/* Forget it: no callback; the session is freed. */
void	 session_cancel(struct session *);
enum session_state session_state(const struct session *);
/* Is sa a loopback, private, link-local, CGNAT, multicast or reserved address? */
int	 session_addr_private(const struct sockaddr *sa);

/* iana_reply.c: what a whois.iana.org reply says about a TLD. */
enum iana_reply {
	IANA_BAD = -1,		/* not an IANA reply we understand */
	IANA_WHOIS = 0,		/* host filled: the TLD's whois server */
	IANA_NOWHOIS = 1,	/* the TLD exists, no port-43 server */
	IANA_NOTLD = 2		/* no such TLD: the name is invalid */
};
/*
 * Parse a reply for a TLD: IANA_WHOIS with host filled, IANA_NOWHOIS,
 * IANA_NOTLD or IANA_BAD (also for a whois: value that
 * registries_check_host() refuses, or a port other than 43).
 */
enum iana_reply iana_reply_parse(const char *reply, size_t len, char *host,
	    size_t hostlen);

/* iana.c: the whois server of a TLD the registries file does not know. */
struct iana_result {
	int	 ir_kind;		/* enum iana_reply; -1 also for a failed look-up */
	char	 ir_host[NAME_ACE_BUF];
	char	 ir_err[128];		/* ir_kind -1: why */
};
struct iana_waiter;
typedef void (*iana_cb)(const struct iana_result *, void *arg);
void	 iana_init(struct event_base *);
void	 iana_fini(void);
/*
 * The TLD table at path (empty: none) replaces this process's; -1 with
 * err filled and the old one kept.
 */
int	 iana_table_load(const char *path, char *err, size_t errlen);
/*
 * 1: known, *out filled now.  0: asked (or being asked for someone
 * else); cb runs once with the result unless iana_cancel() is called.
 */
int	 iana_lookup(const char *tld, double deadline, iana_cb cb, void *arg,
	    struct iana_waiter **wp, struct iana_result *out);
void	 iana_cancel(struct iana_waiter *);
size_t	 iana_busy(void);

/* serve.c: the requests, and a query's path. */
void	 serve_init(struct event_base *);
void	 serve_accept(int fd, struct sockaddr *sa, socklen_t salen);
void	 serve_drain(void);

/* report.c: reports to the cache and the errdb; the draining child's hold. */
struct report_stats {
	uint64_t	rs_events;		/* error events raised */
	uint64_t	rs_events_failed;	/* not delivered (this try) */
};
void	 report_init(struct event_base *);
/* Stop the health ticks; hold the child while background work is left. */
void	 report_drain(void);
void	 report_fini(void);
const struct report_stats *report_stats(void);
/* Count background work (reports, sessions) so a draining child waits. */
void	 report_hold(void);
/* The last release of a draining child may exit it: nothing may follow. */
void	 report_release(void);
/* Put an answer to the cache (its lease goes, its waiters wake). */
void	 report_put(const struct answer *);
/* Send a timing record to the cache. */
void	 report_timing(const char *registry, double ms, const char *outcome);
/* Queue an error event for the errdb (through the spool). */
void	 report_error_event(const char *registry, const char *domain,
	    const char *kind, const char *msg, uint64_t retry_after);
/* The spool's sender (spool_send_fn) for error events. */
void	 report_spool_send(struct spool *, const void *body, size_t len,
	    void *token, void *arg);

#endif
