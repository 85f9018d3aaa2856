/*
 * whoisctl.h — what whoisctl's command files share with main.c: the
 * options in effect, the daemons' addresses, HTTP to the front (libcurl)
 * and the output helpers (--json or an aligned table).
 */
#ifndef WHOISD_WHOISCTL_H
#define WHOISD_WHOISCTL_H

#include <stddef.h>

#include <jansson.h>

/* The four daemons whoisctl knows, in the order it shows them. */
enum ctl_daemon {
	CTL_FRONT,
	CTL_CACHE,
	CTL_QUERY,
	CTL_ERRDB,
	CTL_NDAEMONS
};

struct ctl_opts {
	const char	*co_addr[CTL_NDAEMONS];	/* host:port; front: HTTP */
	const char	*co_registries;	/* for registrable names */
	const char	*co_tld_whois;	/* the root zone's routes */
	const char	*co_keys;
	const char	*co_link_auth;
	const char	*co_confdir;
	double		 co_connect_timeout;	/* seconds */
	double		 co_timeout;		/* seconds, whole request */
	int		 co_json;
};
extern struct ctl_opts	ctl;
extern const char	*ctl_daemon_names[CTL_NDAEMONS];

struct ctl_http {
	long		 ch_code;	/* HTTP status, 0 if none came */
	char		*ch_body;	/* NUL-terminated */
	size_t		 ch_len;
	char		 ch_err[256];	/* transport error, if ch_code is 0 */
};

/*
 * One request to the front: path (already percent-encoded) and, for a
 * POST, a JSON body.  0 on a 2xx answer; -1 otherwise, with the reason
 * (transport error, or the status and the server's error) in ch_err.
 * ctl_http_free() in both cases.
 */
int	 ctl_http(const char *path, const char *post, struct ctl_http *);
void	 ctl_http_free(struct ctl_http *);
/* name percent-encoded for a query string, malloc'd. */
char	*ctl_urlencode(const char *name);

/* A table printed with aligned columns; cells are copied. */
struct ctl_table;
struct ctl_table *ctl_table_new(int ncols, ...);	/* the heading */
void	 ctl_table_row(struct ctl_table *, ...);	/* ncols strings */
void	 ctl_table_print(struct ctl_table *);		/* and frees it */

/* Print a JSON value on stdout (indented), and decref it. */
void	 ctl_json_print(json_t *);

#endif
