/*
 * rdap.h — whoisd-query's RDAP channel (RFC 7480-7484, 9082, 9083, 9224):
 * the HTTPS client on the child's event loop (rdap.c), and what the JSON
 * says (rdap_json.c: the domain object, the verdict, the bootstrap file),
 * apart so unit tests and fuzzing call it without a network.
 */
#ifndef WHOISD_RDAP_H
#define WHOISD_RDAP_H

#include <stddef.h>

#include "common/name.h"
#include "daemons/query/classify.h"

struct event_base;
struct registry;

#define RDAP_NS_MAX		13	/* nameservers kept per answer */
#define RDAP_NS_BUF		512
#define RDAP_STATUS_BUF		256
#define RDAP_URL_MAX		512

/* What a domain object says (RFC 9083 section 5.3). */
struct rdap_domain {
	char	rd_class[32];		/* objectClassName, "" if absent */
	char	rd_ldh[NAME_ACE_BUF];	/* ldhName, lower-cased */
	char	rd_status[RDAP_STATUS_BUF];	/* "active, server hold" */
	int	rd_reserved;		/* a status says reserved or blocked */
	double	rd_created;		/* "registration" event; 0: none */
	double	rd_expires;		/* "expiration" event; 0: none */
	char	rd_ns[RDAP_NS_BUF];	/* "a.ns.example b.ns.example" */
	int	rd_nns;
};

/* How an RDAP exchange ended, before the body is read. */
enum rdap_transport {
	RDT_OK = 0,		/* a complete HTTP reply */
	RDT_TIMEOUT,		/* no complete reply in time */
	RDT_CONNECT,		/* resolve, connect or reset */
	RDT_TLS,		/* certificate or handshake refused */
	RDT_TOO_BIG,		/* body over rdap_max_body */
	RDT_REDIRECT,		/* a second redirect, or one not to https */
	RDT_OTHER		/* any other client failure */
};

struct rdap_reply {
	int		 rr_transport;	/* enum rdap_transport */
	long		 rr_code;	/* HTTP status; 0: none */
	const char	*rr_ctype;	/* Content-Type, NULL if none */
	const char	*rr_body;
	size_t		 rr_len;
	long		 rr_retry_after;	/* seconds; -1: none given */
	int		 rr_redirects;	/* 0 or 1 */
	const char	*rr_msg;	/* the client's own words, for logs */
	double		 rr_ms;
};

/* rdap_json.c */
/*
 * Read a domain object.  0 with d filled; -1 with err filled when the
 * body is not JSON or not an object.
 */
int	 rdap_json_domain(const char *body, size_t len, struct rdap_domain *d,
	    char *err, size_t errlen);
/*
 * The verdict on reply r for the lower-case A-label name: registered or
 * reserved only on a domain object about that very name; available only
 * on a 404 from a registry whose 404 means "not registered" (rdap_404);
 * unknown with a reason for everything else.  d gets the domain object's
 * facts (zeroed when there is none).
 */
enum answer_status rdap_verdict(const struct registry *, const char *name,
	    const struct rdap_reply *r, struct verdict *vd,
	    struct rdap_domain *d);
/* ISO 8601 ("2024-05-01T12:00:00Z", fraction and offset allowed) to
 * epoch seconds; -1 if unreadable. */
double	 rdap_time(const char *s);

/* The bootstrap file (RFC 9224 dns.json): TLD -> base URL. */
struct rdap_boot;
struct rdap_boot *rdap_boot_parse(const char *text, size_t len, char *err,
	    size_t errlen);
struct rdap_boot *rdap_boot_load(const char *path, char *err, size_t errlen);
void	 rdap_boot_free(struct rdap_boot *);
/* The base URL for suffix ("co.uk", "com"): its own entry or its TLD's;
 * NULL if none.  Only https URLs are kept. */
const char *rdap_boot_url(const struct rdap_boot *, const char *suffix);
size_t	 rdap_boot_count(const struct rdap_boot *);
const char *rdap_boot_publication(const struct rdap_boot *);
/* "https://rdap.example/" + "domain/" + name, or -1 if it does not fit. */
int	 rdap_url(const char *base, const char *name, char *buf, size_t len);

/* rdap.c: one GET on the child's loop (libcurl multi on libevent). */
struct rdap_args {
	const char	*ra_url;	/* https://... */
	const char	*ra_override;	/* "https://127.0.0.1:PORT" or NULL */
	const char	*ra_ca_file;	/* NULL: the system's CAs */
	double		 ra_timeout;	/* seconds, all in */
	double		 ra_connect_timeout;
	size_t		 ra_max_body;
};
struct rdap_req;
typedef void (*rdap_done_cb)(struct rdap_req *, const struct rdap_reply *,
	    void *arg);
int	 rdap_init(struct event_base *);
void	 rdap_fini(void);
/* NULL if the request cannot be made (err logged); cb runs exactly once
 * otherwise, never from inside rdap_get(). */
struct rdap_req *rdap_get(const struct rdap_args *, rdap_done_cb, void *arg);
/* Forget it: no callback. */
void	 rdap_cancel(struct rdap_req *);
/* TLS handshakes and requests so far (connection reuse figure). */
void	 rdap_counts(unsigned long *requests, unsigned long *connects);

#endif
