/*
 * regsim.h — whoisd-regsim, the registry simulator: one whois server on
 * loopback that answers as many registries would, for tests, `make demo`
 * and `make bench`.  See docs/regsim.md.
 *
 * The prototypes of every file of tests/regsim/ live here, under a
 * heading per file.
 */
#ifndef WHOISD_REGSIM_H
#define WHOISD_REGSIM_H

#include <sys/queue.h>
#include <stddef.h>
#include <stdint.h>

struct evbuffer;
struct event_base;
struct event;

#define RS_NAME_MAX		256	/* longest name kept (domains: 253) */
#define RS_LINE_MAX		4096	/* longest query line read */
#define RS_DOMAIN_CAP		10000	/* per_domain entries kept by stats */

/* What a name is, and so which template answers it. */
enum rs_status {
	RS_AVAILABLE,
	RS_REGISTERED,
	RS_RESERVED,
	RS_THROTTLED,
	RS_ERROR,
	RS_UNKNOWN,	/* a reply no classifier can call (no whois...) */
	RS_NSTATUS
};

/* Faults on demand; see docs/regsim.md. */
enum rs_fault {
	FAULT_NONE,
	FAULT_TIMEOUT,	/* read the query, never answer, hold the connection */
	FAULT_RESET,	/* part of the answer, then RST */
	FAULT_GARBAGE,	/* random binary bytes, then close */
	FAULT_DRIP,	/* the answer one byte per drip interval */
	FAULT_EMPTY,	/* close without a byte */
	FAULT_BIG,	/* the answer padded to big_size bytes */
	FAULT_N
};

enum rs_latkind {
	LAT_FIXED,
	LAT_UNIFORM,
	LAT_NORMAL
};

/* A latency in milliseconds: fixed:A, uniform:A:B or normal:MEAN:SD. */
struct latency {
	enum rs_latkind	 lt_kind;
	double		 lt_a;
	double		 lt_b;
};

/* strmap.c: string-keyed chained hash table. */
struct strmap_entry {
	char			*se_key;
	long			 se_val;
	void			*se_ptr;
	struct strmap_entry	*se_next;
};

struct strmap {
	struct strmap_entry	**sm_tab;
	size_t			  sm_size;	/* buckets, a power of two */
	size_t			  sm_n;		/* entries */
};

void	 rs_strmap_init(struct strmap *);
struct strmap_entry *rs_strmap_get(const struct strmap *, const char *);
struct strmap_entry *rs_strmap_add(struct strmap *, const char *, int *created);
void	 rs_strmap_clear(struct strmap *, void (*)(void *));
void	 rs_strmap_free(struct strmap *, void (*)(void *));
/* Call fn for every entry; fn may not add or delete. */
void	 rs_strmap_each(const struct strmap *,
	    void (*)(const struct strmap_entry *, void *), void *);

/* query.c: query lines, names, statuses, latencies, faults. */
int	 rs_query_parse(const char *line, char *name, size_t namelen,
	    const char **format);
const char *rs_status_name(enum rs_status);
int	 rs_status_parse(const char *word, size_t len);
const char *rs_fault_name(enum rs_fault);
int	 rs_fault_parse(const char *word);
int	 rs_fault_from_name(const char *name, const char **rest);
int	 rs_latency_parse(const char *s, struct latency *, char *err,
	    size_t errlen);
int	 rs_rate_parse(const char *s, long *n, double *window, char *err,
	    size_t errlen);
void	 rs_rng_seed(uint64_t);
uint64_t rs_rng_next(void);
double	 rs_rng_uniform(void);	/* [0, 1) */
double	 rs_latency_draw(const struct latency *);	/* ms, >= 0 */

/* corpus.c: the registries' reply templates, tests/corpus/<tld>/<case>.txt */
struct tmpl {
	char		*t_name;	/* file name without .txt */
	enum rs_status	 t_status;
	char		*t_text;
	size_t		 t_len;
};

struct registry {
	char		*rg_tld;	/* "com", "co.uk" */
	struct tmpl	*rg_tmpl;	/* sorted by name */
	int		 rg_ntmpl;
};

struct corpus {
	char		*co_dir;
	struct registry	*co_reg;
	int		 co_nreg;
	int		 co_ntmpl;
};

int	 rs_corpus_load(struct corpus *, const char *dir, char *err,
	    size_t errlen);
void	 rs_corpus_free(struct corpus *);
const struct registry *rs_corpus_match(const struct corpus *, const char *name);
const struct tmpl *rs_corpus_template(const struct registry *, enum rs_status,
	    const char *variant);
void	 rs_tmpl_render(const struct tmpl *, const char *domain, int seconds,
	    struct evbuffer *out);

/* data.c: the data file (which names are what, per-registry settings). */
struct rule {
	char		*ru_pattern;
	int		 ru_glob;
	enum rs_status	 ru_status;
	char		*ru_variant;	/* "registered-thin", or NULL */
};

/* Per-registry settings; to_tld "*" applies to every registry. */
struct tldopt {
	char		*to_tld;
	int		 to_has_latency;
	struct latency	 to_latency;
	int		 to_has_rate;
	long		 to_rate_n;
	double		 to_rate_window;	/* seconds */
	int		 to_has_fault;
	enum rs_fault	 to_fault;
	int		 to_fault_pct;
};

struct tldopts {
	struct tldopt	*tos_v;
	int		 tos_n;
};

struct data {
	char		*da_path;
	struct rule	*da_rules;	/* globs, in file order */
	int		 da_nrules;
	struct strmap	 da_exact;	/* name -> struct rule * */
	struct tldopts	 da_opts;
};

int	 rs_data_load(struct data *, const char *path, char *err,
	    size_t errlen);
void	 rs_data_free(struct data *);
enum rs_status rs_data_classify(const struct data *, const char *name,
	    const char **variant);
struct tldopt *rs_tldopts_get(struct tldopts *, const char *tld);
void	 rs_tldopts_free(struct tldopts *);
const struct tldopt *rs_tldopts_find(const struct tldopts *, const char *tld);

/* stats.c: what reached "the registry". */
struct stats {
	uint64_t	 st_total;
	uint64_t	 st_domain_overflow;
	struct strmap	 st_tld;
	struct strmap	 st_domain;
	struct strmap	 st_outcome;
};

void	 rs_stats_init(struct stats *);
void	 rs_stats_count(struct stats *, const char *tld, const char *name,
	    const char *outcome);
void	 rs_stats_reset(struct stats *);
void	 rs_stats_free(struct stats *);
void	 rs_stats_json(const struct stats *, struct evbuffer *out);
void	 rs_json_string(struct evbuffer *out, const char *s);

/* ratelimit.c: a fixed window per (client, registry). */
struct ratelimit {
	struct strmap	 rl_map;	/* "client tld" -> struct rl_window * */
};

void	 rs_ratelimit_init(struct ratelimit *);
int	 rs_ratelimit_hit(struct ratelimit *, const char *client,
	    const char *tld, long n, double window, double now, int *seconds);
void	 rs_ratelimit_expire(struct ratelimit *, double now);
void	 rs_ratelimit_free(struct ratelimit *);

/* server.c: the listener, the connections and the answers. */
struct regsim_opts {
	char		*ro_listen;
	char		*ro_data;
	char		*ro_corpus;
	struct tldopts	 ro_opts;	/* --latency, --ratelimit, --fault */
	double		 ro_idle_timeout;	/* s, waiting for the query */
	double		 ro_hold_max;		/* s, fault-timeout cap */
	double		 ro_drip_ms;
	size_t		 ro_big_size;
	int		 ro_backlog;
	int		 ro_throttle_seconds;	/* {{seconds}}, no limiter */
	/* The RDAP port (rdap.c); off without ro_rdap_listen. */
	char		*ro_rdap_listen;
	char		*ro_rdap_cert;
	char		*ro_rdap_key;
	double		 ro_rdap_slow_ms;
	struct tldopts	 ro_rdap_opts;	/* --rdap-fault, --rdap-ratelimit */
};

struct conn;

struct regsim {
	struct event_base	*rs_base;
	struct regsim_opts	*rs_opts;
	struct corpus		 rs_corpus;
	struct data		 rs_data;
	int			 rs_have_data;
	struct stats		 rs_stats;
	struct ratelimit	 rs_rl;
	int			 rs_lfd;
	struct event		*rs_lev;
	struct event		*rs_accept_pause;
	struct event		*rs_housekeep;
	TAILQ_HEAD(, conn)	 rs_conns;
	uint64_t		 rs_accepted;
	int			 rs_nconns;
	char			 rs_addr[96];	/* bound address, for logs */
};

int	 rs_server_listen(struct regsim *, const char *hostport, char *err,
	    size_t errlen);
int	 rs_server_start(struct regsim *);
void	 rs_server_free(struct regsim *);
int	 rs_server_reload(struct regsim *);

/* rdap.c: the RDAP port (HTTPS). */
int	 rs_rdap_start(struct regsim *, char *err, size_t errlen);
void	 rs_rdap_free(void);
/* An RDAP fault's number, or -1. */
int	 rs_rdap_fault_parse(const char *);

#endif
