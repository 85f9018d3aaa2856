/*
 * whoisd.h — the front daemon: the public whois port and the HTTP/JSON
 * API.  It validates names, asks whoisd-cache, then whoisd-query, and
 * answers within request_timeout, whatever the daemons behind it do.
 */
#ifndef WHOISD_FRONT_H
#define WHOISD_FRONT_H

#include <sys/queue.h>

#include <stdint.h>

#include "common/config.h"
#include "common/pool.h"
#include "proto/msg.h"

struct event_base;
struct suffixes;
struct client;

struct whoisd_conf {
	struct pool_conf	 wc_pool;
	struct conf_list	 wc_http_listen;
	char			*wc_cache_addr;
	char			*wc_query_addr;
	char			*wc_registries;
	char			*wc_public_suffix_list;
	char			*wc_http_cors_origins;
	char			*wc_suggest_tlds;
	double			 wc_request_timeout;
	double			 wc_link_down_wait;
	double			 wc_cache_timeout;
	long			 wc_max_query_len;
	long			 wc_http_max_names;
	long			 wc_http_max_body;
	double			 wc_idle_timeout;
	double			 wc_http_idle_timeout;
	long			 wc_max_frame;
	long			 wc_compress_min;
	double			 wc_memo_ttl;
	long			 wc_memo_max_memory;
	long			 wc_http_max_unsent;
	long			 wc_limit_conn;
	double			 wc_limit_req;
	long			 wc_limit_burst;
	char			*wc_access_log;
	long			 wc_access_log_sample;
	char			*wc_http_www;
};

/* Counters for /metrics, per child. */
struct front_counts {
	uint64_t	fs_whois_requests;
	uint64_t	fs_http_requests;
	uint64_t	fs_answers[AS_NSTATUS];		/* by status */
	uint64_t	fs_source[SRC_NSOURCE];		/* by source */
	uint64_t	fs_cache_errors;
	uint64_t	fs_cache_same;	/* memo refreshes the cache said `same` to */
	uint64_t	fs_query_errors;
	uint64_t	fs_timeouts;
	uint64_t	fs_memo_hits;
};

/*
 * Each child's counters live in its scoreboard slot of a mapping shared
 * with the master (front_metrics.c), so a scrape can sum them all.
 */
extern struct front_counts *front_statsp;
#define front_stats	(*front_statsp)

/* front_metrics.c: the front's /metrics. */
void		 front_metrics_register(void);
int		 front_metrics_master_init(void);
void		 front_metrics_child_init(void);
/* One name answered after `secs`, on the HTTP port or the whois one. */
void		 front_metrics_lookup(int http, const struct answer *,
		    double secs);

/* health.c: GET /healthz and /readyz; the HTTP status, body in b. */
struct evbuffer;
int		 health_live(struct evbuffer *b);
int		 health_ready(struct evbuffer *b);

/* main.c */
struct whoisd_conf *front_conf(void);
struct suffixes	*front_suffixes(void);
struct client	*front_cache(void);
struct client	*front_query(void);

/* lookup.c: one name, from cache, registry or stale, within a deadline. */
struct lookup;
/*
 * The answer: a->a_domain is the name as asked (escaped for display),
 * a_ace its A-label form.  `note` is set when the answer is for the
 * registrable name above the one asked ("www.example.com").  The answer
 * is valid during the callback only.
 */
typedef void (*lookup_cb)(const struct answer *a, const char *note, void *arg);
#define LOOKUP_TEXT	0x01	/* the registry's text is wanted */
#define LOOKUP_BULK	0x02	/* the client's request holds more names */
#define LOOKUP_FULL	0x04	/* the registrar's record too (thin registry) */
#define LOOKUP_FRESH	0x08	/* the registry's answer now: no memo, cache
				 * or stale entry */
struct lookup	*lookup_start(const char *name, size_t len, int flags,
		    lookup_cb cb, void *arg);
/*
 * The same for the client on connection fd (whoisd-query shares a
 * registry's slots fairly between clients by their address, read only
 * when the registry is asked); lookup_start() is anonymous.
 */
struct lookup	*lookup_start_as(const char *name, size_t len, int flags,
		    int fd, lookup_cb cb, void *arg);
/*
 * The same, accepting a memo or cache answer only if it was checked at
 * most max_age seconds ago (-1: any the cache still trusts); an older
 * one is asked of the registry, and never served stale.
 */
struct lookup	*lookup_start_aged(const char *name, size_t len, int flags,
		    int fd, double max_age, lookup_cb cb, void *arg);
void		 lookup_cancel(struct lookup *);
/* Answer it now, unknown for `reason` (or its stale entry), and free it. */
void		 lookup_cut(struct lookup *, const char *reason,
		    uint64_t retry_after);
void		 lookup_init(struct event_base *);
/* Lookups under way in this child (memo hits never are). */
size_t		 lookup_live(void);
/* Call fn (from the lookup's end: it must only schedule) each time the
 * lookups under way fall to `at`. */
void		 lookup_when_room(size_t at, void (*fn)(void));
/*
 * During a memo hit's callback, the answer's JSON after "domain" as the
 * memo keeps it (answer_json_rest()); NULL for any other answer.
 */
const char	*lookup_memo_json(const struct answer *, size_t *len);
/* A name's hash, for the memo and for finding a request's duplicates. */
uint32_t	 lookup_hash(const char *, size_t);

/* answer.c: the whois text and the JSON of one answer. */
struct evbuffer;
struct iovec;
/*
 * The whois text as iovecs, without a copy of the registry text: the
 * header lines (in answer.c's buffer, valid until the next call), then a
 * blank line and the text if any.  Returns the count, at most 4.
 */
int		 answer_whois_iov(struct iovec *, const struct answer *,
		    const char *note);
void		 answer_whois(struct evbuffer *, const struct answer *,
		    const char *note);
void		 answer_json(struct evbuffer *, const struct answer *,
		    const char *note);
void		 answer_json_rest(struct evbuffer *, const struct answer *);

/*
 * limits.c: per client address limits shared by all children (`ref` is
 * a connection's entry, -1 for none), and the child's budget of answer
 * bytes queued for clients that do not read them.
 */
int		 limits_master_init(void);
void		 limits_child_init(struct event_base *);
/* 0 (counted in *ref), or -1: over limit_conn_per_client. */
struct sockaddr;
int		 limits_conn_open(const struct sockaddr *, int *ref);
void		 limits_conn_close(int ref);
/* 0, or the seconds to wait: over limit_req_per_client.  `now`: the
 * monotonic clock, or 0 to read it only when the limit is on. */
int		 limits_req(int ref, double now);
/* Answer a connection over the limit on its port, and close it. */
void		 limits_refuse(int fd, int http);
/* Close a connection shed for http_max_unsent, with a reset. */
void		 limits_abort_close(int fd);

/* A connection's answer bytes not yet taken by its socket. */
struct unsent {
	size_t			 us_bytes;
	double			 us_since;	/* monotonic: began waiting */
	void			(*us_shed)(struct unsent *);	/* close it */
	LIST_ENTRY(unsent)	 us_entry;	/* while us_bytes > 0 */
};
extern size_t	 front_unsent, front_max_unsent;
void		 unsent_update_slow(struct unsent *, size_t);
void		 unsent_shed(void);

/* Cheap when nothing waits: the common case after a write. */
static inline void
unsent_update(struct unsent *u, size_t bytes)
{
	if (bytes != u->us_bytes)
		unsent_update_slow(u, bytes);
}

/* Is the child over http_max_unsent? */
static inline int
unsent_over(void)
{
	return front_max_unsent > 0 && front_unsent > front_max_unsent;
}

/* whois.c: the RFC 3912 port. */
void		 whois_accept(int fd, int ref);
void		 whois_init(struct event_base *);

/* http.c: the HTTP/JSON API, our own HTTP/1.1 keep-alive server. */
void		 http_accept(int fd, int ref);
void		 http_init(struct event_base *);
void		 http_drain(void);

/* static.c: the web page's files, read at start and on HUP. */
struct static_file {
	const char	*sf_ctype;
	char		*sf_body;
	size_t		 sf_len;
	char		 sf_etag[24];		/* "0123456789abcdef" */
	char		*sf_headers;		/* Cache-Control, ETag, ... */
	int		 sf_refs;		/* paths naming it */
};
void		 static_load(const char *dir);
/* The file a GET of path serves; NULL if none, or not installed. */
const struct static_file *static_find(const char *path);
int		 static_path(const char *path);	/* one of the page's? */
const char	*static_dir_name(void);
int		 static_not_modified(const struct static_file *,
		    const char *if_none_match);

/*
 * regstat.c: per registry, what this child's answers said (verdicts,
 * failures, budget waits, reply latency), for /status.
 */
void		 regstat_note(const struct answer *);
void		 regstat_json(struct evbuffer *);

/* json.c: JSON strings, and plain strings and numbers without printf. */
void		 json_str(struct evbuffer *, const char *s);
void		 out_str(struct evbuffer *, const char *s);
void		 out_u64(struct evbuffer *, uint64_t v);

#endif
