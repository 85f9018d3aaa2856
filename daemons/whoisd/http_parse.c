/*
 * http_parse.c — the HTTP port's request parsing on plain bytes: finding
 * a request head in what a connection has read, splitting and checking
 * it in place, decoding a query component.  No connection state: http.c
 * owns the buffer, the limits' values and what is answered.
 *
 * Only what the API needs is understood: the request line, Connection,
 * and whether a body follows (Content-Length or Transfer-Encoding); the
 * server takes no bodies, so a request with one is answered and the
 * connection closed.  Anything that could make a proxy in front see
 * other request boundaries than we do (control bytes, a bare CR, line
 * folding, a malformed Content-Length) is a 400.
 */
#include <sys/types.h>

#include <stddef.h>
#include <string.h>
#include <strings.h>

#include "daemons/whoisd/http_parse.h"

static int
is_tchar(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || (c != '\0' && strchr("!#$%&'*+-.^_`|~",
	    c) != NULL);
}

/* Does the comma-separated header value hold the token tok? */
static int
has_token(const char *v, const char *tok)
{
	size_t	tl = strlen(tok), l;

	while (*v != '\0') {
		while (*v == ' ' || *v == '\t' || *v == ',')
			v++;
		l = strcspn(v, ", \t");
		if (l == tl && strncasecmp(v, tok, tl) == 0)
			return 1;
		v += l;
	}
	return 0;
}

/*
 * Parse one header line "Name: value" (NUL-terminated, no CRLF).  Only
 * the headers that change how we answer are looked at.  -1 if malformed.
 */
static int
parse_header(char *line, struct http_head *hh)
{
	char	*colon, *v, *end;

	for (colon = line; *colon != '\0' && *colon != ':'; colon++)
		if (!is_tchar((unsigned char)*colon))
			return -1;
	if (*colon != ':' || colon == line)
		return -1;
	*colon = '\0';
	for (v = colon + 1; *v == ' ' || *v == '\t'; v++)
		;
	for (end = v + strlen(v); end > v && (end[-1] == ' ' ||
	    end[-1] == '\t'); end--)
		;
	*end = '\0';
	if (strcasecmp(line, "Connection") == 0) {
		if (has_token(v, "close"))
			hh->hh_conn_close = 1;
		if (has_token(v, "keep-alive"))
			hh->hh_conn_keepalive = 1;
	} else if (strcasecmp(line, "Content-Length") == 0) {
		if (*v == '\0' || strspn(v, "0123456789") != strlen(v))
			return -1;
		if (strspn(v, "0") != strlen(v))
			hh->hh_body = 1;
	} else if (strcasecmp(line, "Transfer-Encoding") == 0)
		hh->hh_body = 1;
	return 0;
}

/*
 * Parse the request line.  0 ok; else an HTTP status to answer with
 * (400 malformed, 505 a version we do not speak).
 */
static int
parse_request_line(char *line, struct http_head *hh)
{
	char	*sp1, *sp2, *target, *q;

	/* Only SP separates the parts: a proxy that splits at a tab too
	 * would see another target than ours. */
	if (strchr(line, '\t') != NULL)
		return 400;
	if ((sp1 = strchr(line, ' ')) == NULL ||
	    (sp2 = strchr(sp1 + 1, ' ')) == NULL || strchr(sp2 + 1, ' '))
		return 400;
	*sp1 = *sp2 = '\0';
	for (q = line; *q != '\0'; q++)
		if (!is_tchar((unsigned char)*q))
			return 400;
	if (line == sp1)
		return 400;
	hh->hh_method = line;
	if (strcmp(sp2 + 1, "HTTP/1.1") == 0)
		hh->hh_http10 = 0;
	else if (strcmp(sp2 + 1, "HTTP/1.0") == 0)
		hh->hh_http10 = 1;
	else if (strncmp(sp2 + 1, "HTTP/", 5) == 0 &&
	    strspn(sp2 + 6, "0123456789.") == strlen(sp2 + 6) &&
	    sp2[6] != '\0')
		return 505;
	else
		return 400;
	target = sp1 + 1;
	/* Absolute form (a proxy's): keep the path. */
	if (strncasecmp(target, "http://", 7) == 0 ||
	    strncasecmp(target, "https://", 8) == 0) {
		target = strchr(target, ':') + 3;
		if ((target = strchr(target, '/')) == NULL)
			return 400;
	}
	if (target[0] != '/')
		return 400;
	if ((q = strchr(target, '#')) != NULL)
		*q = '\0';
	if ((q = strchr(target, '?')) != NULL) {
		*q = '\0';
		hh->hh_query = q + 1;
	}
	hh->hh_path = target;
	return 0;
}

size_t
http_blank_len(const char *buf, size_t len)
{
	size_t	n = 0;

	while (n < len && (buf[n] == '\r' || buf[n] == '\n'))
		n++;
	return n;
}

size_t
http_head_end(const char *buf, size_t len)
{
	const char	*p = buf, *end = buf + len, *nl;

	p += http_blank_len(buf, len);
	for (;;) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			return 0;
		/* The empty line: "\n" or "\r\n". */
		if (nl == p || (nl == p + 1 && *p == '\r'))
			return (size_t)(nl + 1 - buf);
		p = nl + 1;
	}
}

ssize_t
http_head_len(const char *buf, size_t len, size_t max)
{
	size_t	n;

	if ((n = http_head_end(buf, len)) == 0 && len >= max)
		return -1;
	return (ssize_t)n;
}

int
http_parse_head(char *head, size_t len, struct http_head *hh)
{
	char	*p = head, *end = head + len, *nl, *line;
	size_t	 i;
	int	 first = 1, r;

	memset(hh, 0, sizeof(*hh));
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)head[i];

		if ((c < 0x20 && c != '\r' && c != '\n' && c != '\t') ||
		    c == 0x7f)
			return 400;
		/* A bare CR: a proxy in front may end the line there where
		 * we would not, and see another request than we do. */
		if (c == '\r' && (i + 1 == len || head[i + 1] != '\n'))
			return 400;
	}
	p += http_blank_len(head, len);
	while (p < end) {
		/* Not the head http_head_end() found: no empty line. */
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			return 400;
		line = p;
		p = nl + 1;
		if (nl > line && nl[-1] == '\r')
			nl--;
		*nl = '\0';
		if (line == nl)
			break;			/* the empty line */
		if (first) {
			if ((r = parse_request_line(line, hh)) != 0)
				return r;
			first = 0;
		} else if (line[0] == ' ' || line[0] == '\t')
			return 400;		/* obsolete line folding */
		else if (parse_header(line, hh) == -1)
			return 400;
	}
	if (first)
		return 400;
	/* A body we do not read hides where the next request starts. */
	hh->hh_keepalive = !hh->hh_body && (hh->hh_http10 ?
	    hh->hh_conn_keepalive : !hh->hh_conn_close);
	return 0;
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

ssize_t
http_query_decode(char *s, size_t len)
{
	size_t	i, o = 0;
	int	h, l;

	for (i = 0; i < len; i++) {
		if (s[i] == '%') {
			if (i + 2 >= len ||
			    (h = hexval((unsigned char)s[i + 1])) == -1 ||
			    (l = hexval((unsigned char)s[i + 2])) == -1)
				return -1;
			s[o++] = (char)(h * 16 + l);
			i += 2;
		} else if (s[i] == '+')
			s[o++] = ' ';
		else
			s[o++] = s[i];
	}
	return (ssize_t)o;
}
