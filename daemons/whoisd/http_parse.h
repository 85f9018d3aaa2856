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

#endif
