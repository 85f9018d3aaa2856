/*
 * http_parse.h — the HTTP port's request parsing, apart from the
 * connections (http.c) so unit tests and fuzzing call it on plain bytes.
 *
 * A connection's unread input is buf[0..len).  http.c skips the empty
 * lines before a request (http_blank_len()), finds the request head
 * (http_head_len(): complete, incomplete, or over the head limit), then
 * splits and checks it in place (http_parse_head()).
 */
#ifndef WHOISD_HTTP_PARSE_H
#define WHOISD_HTTP_PARSE_H

#include <sys/types.h>

#include <stddef.h>

/* What the parser found in a request head; pointers into the head. */
struct http_head {
	char		*hh_method;
	char		*hh_path;		/* NUL-terminated, no query */
	char		*hh_query;		/* NULL if none */
	int		 hh_http10;
	int		 hh_conn_close;
	int		 hh_conn_keepalive;
	int		 hh_body;		/* Content-Length > 0 or chunked */
	int		 hh_keepalive;		/* the connection goes on after */
	long long	 hh_clen;		/* Content-Length, or -1 */
	int		 hh_chunked;		/* Transfer-Encoding: chunked */
	int		 hh_te_other;		/* another transfer coding */
	int		 hh_cenc;		/* a Content-Encoding, not identity */
	int		 hh_continue;		/* Expect: 100-continue */
	int		 hh_ndjson;		/* Accept: application/x-ndjson */
	int		 hh_host;		/* a Host header */
	int		 hh_gzip;		/* Accept-Encoding allows gzip */
	char		*hh_origin;		/* Origin, or NULL */
	char		*hh_acr_method;		/* Access-Control-Request-Method */
	char		*hh_acr_headers;	/* ...-Request-Headers, or NULL */
	char		*hh_inm;		/* If-None-Match, or NULL */
};

/*
 * A chunked request body being decoded (RFC 9112 7.1): fed the bytes as
 * they arrive, it writes the data to the caller's buffer.  Extensions
 * and trailers are read and dropped; CRLF is required everywhere.
 */
struct http_chunked {
	int		 ck_state;
	unsigned long long ck_left;		/* of the current chunk */
	size_t		 ck_line;		/* bytes of the current line */
	size_t		 ck_total;		/* data so far */
	size_t		 ck_max;		/* more data is HTTP_CK_BIG */
	int		 ck_digits;
};

#define HTTP_CK_MORE	0	/* needs more input, or more room */
#define HTTP_CK_DONE	1	/* the last chunk and trailers are in */
#define HTTP_CK_BAD	(-1)	/* malformed: 400 */
#define HTTP_CK_BIG	(-2)	/* over ck_max: 413 */

/* The names of a POST /v1/check body, and its optional wait. */
struct http_names {
	size_t		 hn_n;
	char		**hn_name;		/* NUL-terminated, in order */
	size_t		*hn_len;
	double		 hn_wait;		/* seconds, or -1 */
	int		 hn_fresh;		/* "fresh":true */
	double		 hn_max_age;		/* "max_age", seconds, or -1 */
	const char	*hn_code;		/* on error: its problem code */
};

/* The CR and LF bytes buf starts with: not a request (RFC 9112 2.2). */
size_t	 http_blank_len(const char *buf, size_t len);

/*
 * The length of the request head at buf (through its empty line, counting
 * the empty lines before it), or 0 if it has not all arrived.
 */
size_t	 http_head_end(const char *buf, size_t len);

/*
 * http_head_end(), and -1 when no complete head is within the first `max`
 * bytes and `len` is already that much (answered 431, then closed).
 */
ssize_t	 http_head_len(const char *buf, size_t len, size_t max);

/*
 * Split and check a head found by http_head_end() in place (NUL bytes
 * end its lines, the method and the path).  0 with hh filled, or the
 * status to answer with: 400 malformed, 505 an HTTP version other than
 * 1.0 and 1.1.
 */
int	 http_parse_head(char *head, size_t len, struct http_head *hh);

/*
 * Decode a query component in place (%XX, and '+' for a space as forms
 * send it).  Its new length (it may hold NUL bytes), or -1 for a bad
 * escape.
 */
ssize_t	 http_query_decode(char *s, size_t len);

void	 http_chunked_init(struct http_chunked *, size_t max);

/*
 * Decode from in[0..len): *used is what was taken, *outlen what was
 * written to out[0..room).  HTTP_CK_MORE with *used < len when out is
 * full; HTTP_CK_DONE leaves what follows the body in in[*used..len).
 */
int	 http_chunked_feed(struct http_chunked *, const char *in, size_t len,
	    size_t *used, char *out, size_t room, size_t *outlen);

/*
 * Parse a POST /v1/check body, {"domains":[NAME,...], "wait":SECONDS,
 * "fresh":BOOL, "max_age":SECONDS}, with jansson: at most max_names names; members other than these are
 * ignored.  0 with hn filled (free with http_names_free()), or -1 with
 * what is wrong in err, meant for the client.
 */
int	 http_names_parse(const char *body, size_t len, size_t max_names,
	    struct http_names *hn, char *err, size_t errlen);
void	 http_names_free(struct http_names *);

/* Does the Accept value ask for media type `type` (with q > 0)? */
int	 http_accepts(const char *accept, const char *type);

#endif
