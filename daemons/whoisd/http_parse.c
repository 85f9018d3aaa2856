/*
 * http_parse.c — the HTTP port's request parsing on plain bytes: finding
 * a request head in what a connection has read, splitting and checking
 * it in place, decoding a query component.  No connection state: http.c
 * owns the buffer, the limits' values and what is answered.
 *
 * Only what the API needs is understood: the request line, Connection,
 * how a body is framed (Content-Length, chunked), Content-Encoding,
 * Expect, Accept, Accept-Encoding, Host, If-None-Match and the CORS
 * headers.  Anything that could make a proxy in front see
 * other request boundaries than we do (control bytes, a bare CR, line
 * folding, a malformed or doubled Content-Length, Content-Length with
 * Transfer-Encoding) is a 400.  The bodies themselves: a chunked
 * decoder fed as bytes arrive, and the JSON of POST /v1/check, parsed
 * by jansson once a count of its values is within bounds.
 */
#include <sys/types.h>

#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

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
		long long	n = 0;

		if (*v == '\0' || strspn(v, "0123456789") != strlen(v))
			return -1;
		/* Saturated: anything that long is over every limit. */
		for (; *v != '\0'; v++)
			n = n > (LLONG_MAX - 9) / 10 ? LLONG_MAX / 2 :
			    n * 10 + (*v - '0');
		/* Two lengths that differ: which one a proxy takes is
		 * anyone's guess. */
		if (hh->hh_clen != -1 && hh->hh_clen != n)
			return -1;
		hh->hh_clen = n;
		if (n > 0)
			hh->hh_body = 1;
	} else if (strcasecmp(line, "Transfer-Encoding") == 0) {
		hh->hh_body = 1;
		if (strcasecmp(v, "chunked") == 0 && !hh->hh_chunked)
			hh->hh_chunked = 1;
		else
			hh->hh_te_other = 1;
	} else if (strcasecmp(line, "Content-Encoding") == 0) {
		if (*v != '\0' && strcasecmp(v, "identity") != 0)
			hh->hh_cenc = 1;
	} else if (strcasecmp(line, "Expect") == 0) {
		if (has_token(v, "100-continue"))
			hh->hh_continue = 1;
	} else if (strcasecmp(line, "Accept") == 0) {
		if (http_accepts(v, "application/x-ndjson"))
			hh->hh_ndjson = 1;
	} else if (strcasecmp(line, "Host") == 0)
		hh->hh_host = 1;
	else if (strcasecmp(line, "Accept-Encoding") == 0) {
		/* "*" covers gzip unless gzip is named (maybe q=0). */
		if (http_accepts(v, "gzip") || (http_accepts(v, "*") &&
		    strcasestr(v, "gzip") == NULL))
			hh->hh_gzip = 1;
	} else if (strcasecmp(line, "Origin") == 0)
		hh->hh_origin = v;
	else if (strcasecmp(line, "Access-Control-Request-Method") == 0)
		hh->hh_acr_method = v;
	else if (strcasecmp(line, "Access-Control-Request-Headers") == 0)
		hh->hh_acr_headers = v;
	else if (strcasecmp(line, "If-None-Match") == 0)
		hh->hh_inm = v;
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
	hh->hh_clen = -1;
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
	/* Both framings: a proxy may take the other one (smuggling). */
	if (hh->hh_clen != -1 && (hh->hh_chunked || hh->hh_te_other))
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

/* ------------------------------------------------------------- accept */

int
http_accepts(const char *accept, const char *type)
{
	const char	*p = accept, *e, *semi, *q;
	size_t		 tl = strlen(type), l;

	while (*p != '\0') {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		e = p + strcspn(p, ",");
		semi = memchr(p, ';', (size_t)(e - p));
		l = (size_t)((semi != NULL ? semi : e) - p);
		while (l > 0 && (p[l - 1] == ' ' || p[l - 1] == '\t'))
			l--;
		if (l == tl && strncasecmp(p, type, tl) == 0) {
			/* q=0 means "not this one" (RFC 9110 12.4.2). */
			for (q = semi; q != NULL && q < e; q = memchr(q + 1,
			    ';', (size_t)(e - q - 1))) {
				q++;
				while (*q == ' ' || *q == '\t')
					q++;
				if ((*q == 'q' || *q == 'Q') && q[1] == '=' &&
				    strtod(q + 2, NULL) <= 0)
					return 0;
				q--;
			}
			return 1;
		}
		p = e;
	}
	return 0;
}

/* ------------------------------------------------------------ chunked */

enum {
	CK_SIZE,		/* hex digits of a chunk size */
	CK_EXT,			/* ;extension up to the CR */
	CK_SIZE_LF,		/* the LF after a size line */
	CK_DATA,		/* ck_left bytes of data */
	CK_DATA_CR,		/* the CRLF after data */
	CK_DATA_LF,
	CK_TRAILER,		/* at the start of a trailer line */
	CK_TRAILER_LINE,	/* inside one */
	CK_TRAILER_LF,		/* the LF after a trailer line's CR */
	CK_END_LF,		/* the LF of the empty line */
	CK_DONE
};

/* A size line or a trailer longer than this is not a client of ours. */
#define CK_LINE_MAX	4096

void
http_chunked_init(struct http_chunked *ck, size_t max)
{
	memset(ck, 0, sizeof(*ck));
	ck->ck_state = CK_SIZE;
	ck->ck_max = max;
}

int
http_chunked_feed(struct http_chunked *ck, const char *in, size_t len,
    size_t *used, char *out, size_t room, size_t *outlen)
{
	size_t	i = 0, n;
	int	c, h;

	*outlen = 0;
	while (i < len && ck->ck_state != CK_DONE) {
		c = (unsigned char)in[i];
		switch (ck->ck_state) {
		case CK_SIZE:
			if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
			    (c >= 'A' && c <= 'F')) {
				h = c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
				if (++ck->ck_digits > 15)
					goto big;
				ck->ck_left = ck->ck_left * 16 + (unsigned)h;
				i++;
				break;
			}
			if (ck->ck_digits == 0)
				goto bad;
			if (ck->ck_left > ck->ck_max - ck->ck_total)
				goto big;	/* said before sent */
			if (c == ';') {
				ck->ck_state = CK_EXT;
				ck->ck_line = 0;
			} else if (c == '\r') {
				ck->ck_state = CK_SIZE_LF;
				i++;
			} else
				goto bad;
			break;
		case CK_EXT:
			if (c == '\r')
				ck->ck_state = CK_SIZE_LF;
			else if ((c < 0x20 && c != '\t') || c == 0x7f ||
			    ++ck->ck_line > CK_LINE_MAX)
				goto bad;
			i++;
			break;
		case CK_SIZE_LF:
			if (c != '\n')
				goto bad;
			i++;
			ck->ck_digits = 0;
			ck->ck_state = ck->ck_left > 0 ? CK_DATA : CK_TRAILER;
			break;
		case CK_DATA:
			if (room == *outlen) {
				*used = i;
				return HTTP_CK_MORE;	/* the caller grows out */
			}
			n = len - i;
			if (n > ck->ck_left)
				n = (size_t)ck->ck_left;
			if (n > room - *outlen)
				n = room - *outlen;
			memcpy(out + *outlen, in + i, n);
			*outlen += n;
			ck->ck_total += n;
			ck->ck_left -= n;
			i += n;
			if (ck->ck_left == 0)
				ck->ck_state = CK_DATA_CR;
			break;
		case CK_DATA_CR:
			if (c != '\r')
				goto bad;
			ck->ck_state = CK_DATA_LF;
			i++;
			break;
		case CK_DATA_LF:
			if (c != '\n')
				goto bad;
			ck->ck_state = CK_SIZE;
			i++;
			break;
		case CK_TRAILER:
			if (c == '\r') {
				ck->ck_state = CK_END_LF;
				i++;
				break;
			}
			ck->ck_state = CK_TRAILER_LINE;
			/* FALLTHROUGH */
		case CK_TRAILER_LINE:
			if (c == '\r')
				ck->ck_state = CK_TRAILER_LF;
			else if ((c < 0x20 && c != '\t') || c == 0x7f ||
			    ++ck->ck_line > CK_LINE_MAX)
				goto bad;
			i++;
			break;
		case CK_TRAILER_LF:
			if (c != '\n')
				goto bad;
			ck->ck_state = CK_TRAILER;
			i++;
			break;
		case CK_END_LF:
			if (c != '\n')
				goto bad;
			ck->ck_state = CK_DONE;
			i++;
			break;
		}
	}
	*used = i;
	return ck->ck_state == CK_DONE ? HTTP_CK_DONE : HTTP_CK_MORE;
bad:
	*used = i;
	return HTTP_CK_BAD;
big:
	*used = i;
	return HTTP_CK_BIG;
}

/* ------------------------------------------------------ a check's body */

/*
 * An upper bound of the values in a JSON text (its commas and opening
 * brackets, outside strings), counted before jansson builds them: a
 * small body of many tiny values ("[[],[],...]") must not cost the
 * child many times its size.
 */
static size_t
json_values_max(const char *p, size_t len)
{
	size_t	i, n = 1;
	int	in_str = 0;

	for (i = 0; i < len; i++) {
		if (in_str) {
			if (p[i] == '\\')
				i++;
			else if (p[i] == '"')
				in_str = 0;
		} else if (p[i] == '"')
			in_str = 1;
		else if (p[i] == ',' || p[i] == '[' || p[i] == '{')
			n++;
	}
	return n;
}

/*
 * jansson's allocations while a body is parsed come from one arena kept
 * by the child, dropped whole after: a json_t and a string per name
 * were a malloc and a free each.  Past the arena it is malloc again.
 */
static char	*ja_buf;
static size_t	 ja_size, ja_used, ja_spilt;	/* malloc'd while on */
static int	 ja_on;

static void *
ja_alloc(size_t n)
{
	size_t	 r = (n + 15) & ~(size_t)15;
	void	*p;

	if (ja_on && r >= n && r <= ja_size - ja_used) {
		p = ja_buf + ja_used;
		ja_used += r;
		return p;
	}
	ja_spilt += ja_on;
	return malloc(n);
}

static void
ja_free(void *p)
{
	if (ja_buf != NULL && (char *)p >= ja_buf && (char *)p < ja_buf +
	    ja_size)
		return;		/* the arena's: dropped with it */
	free(p);
}

/*
 * Room for a body of len bytes: its values, their strings, the lexer's;
 * at most JA_MAX, kept by the child.
 */
#define JA_MAX	(2 * 1024 * 1024)

static void
ja_begin(size_t len)
{
	static int	 set;
	size_t		 want = len < JA_MAX / 8 ? 8 * len + 16384 : JA_MAX;

	if (!set) {
		json_set_alloc_funcs(ja_alloc, ja_free);
		set = 1;
	}
	if (want > ja_size) {
		free(ja_buf);
		if ((ja_buf = malloc(want)) == NULL)
			want = 0;
		ja_size = want;
	}
	ja_used = 0;
	ja_spilt = 0;
	ja_on = 1;
}

static void
ja_end(json_t *root)
{
	/* Freeing the tree is a walk of every value: worth it only for
	 * what spilt past the arena. */
	if (ja_spilt > 0)
		json_decref(root);
	ja_on = 0;
	ja_used = 0;
}

void
http_names_free(struct http_names *hn)
{
	free(hn->hn_name);	/* one block: pointers, lengths, strings */
	memset(hn, 0, sizeof(*hn));
}

static int
names_fail_code(struct http_names *hn, const char *code, char *err,
    size_t errlen, const char *msg, size_t i)
{
	hn->hn_code = code;
	if (i == (size_t)-1)
		snprintf(err, errlen, "%s", msg);
	else
		snprintf(err, errlen, msg, i);
	return -1;
}

static int
names_fail(char *err, size_t errlen, const char *msg, size_t i)
{
	if (i == (size_t)-1)
		snprintf(err, errlen, "%s", msg);
	else
		snprintf(err, errlen, msg, i);
	return -1;
}

int
http_names_parse(const char *body, size_t len, size_t max_names,
    struct http_names *hn, char *err, size_t errlen)
{
	json_t		*root, *doms, *w, *v;
	json_error_t	 je;
	size_t		 n, i, bytes;
	char		*p;
	double		 wait = -1;

	memset(hn, 0, sizeof(*hn));
	hn->hn_wait = -1;
	hn->hn_max_age = -1;
	/* A name costs two values; the rest is room for other members. */
	if (json_values_max(body, len) > 2 * max_names + 1024)
		return names_fail_code(hn, "too-many-values", err, errlen,
		    "the JSON body has too many "
		    "values", (size_t)-1);
	ja_begin(len);
	root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
	if (root == NULL) {
		ja_end(NULL);
		snprintf(err, errlen, "bad JSON at line %d column %d: %s",
		    je.line, je.column, je.text);
		hn->hn_code = "bad-json";
		return -1;
	}
	if (!json_is_object(root)) {
		ja_end(root);
		return names_fail(err, errlen, "the body must be a JSON object "
		    "{\"domains\":[...]}", (size_t)-1);
	}
	doms = json_object_get(root, "domains");
	if (doms == NULL || !json_is_array(doms)) {
		ja_end(root);
		return names_fail(err, errlen, doms == NULL ? "no \"domains\" "
		    "member: expected {\"domains\":[\"example.com\",...]}" :
		    "\"domains\" must be an array of strings", (size_t)-1);
	}
	if ((v = json_object_get(root, "fresh")) != NULL) {
		if (!json_is_boolean(v)) {
			ja_end(root);
			return names_fail_code(hn, "bad-fresh", err, errlen,
			    "\"fresh\" must be true "
			    "or false", (size_t)-1);
		}
		hn->hn_fresh = json_is_true(v);
	}
	if ((v = json_object_get(root, "max_age")) != NULL) {
		if (!json_is_number(v) || (hn->hn_max_age =
		    json_number_value(v)) < 0 || hn->hn_max_age > 1e9 ||
		    hn->hn_max_age != hn->hn_max_age) {
			ja_end(root);
			return names_fail_code(hn, "bad-max-age", err, errlen,
			    "\"max_age\" must be a "
			    "number of seconds from 0", (size_t)-1);
		}
	}
	if ((w = json_object_get(root, "wait")) != NULL) {
		if (!json_is_number(w) || (wait = json_number_value(w)) < 0 ||
		    wait > 3600 || wait != wait) {
			ja_end(root);
			return names_fail_code(hn, "bad-wait", err, errlen,
			    "\"wait\" must be a "
			    "number of seconds from 0 to 3600", (size_t)-1);
		}
	}
	n = json_array_size(doms);
	if (n == 0) {
		ja_end(root);
		return names_fail(err, errlen, "\"domains\" is empty",
		    (size_t)-1);
	}
	if (n > max_names) {
		ja_end(root);
		return names_fail_code(hn, "too-many-names", err, errlen,
		    "at most %zu names in "
		    "\"domains\"", max_names);
	}
	bytes = 0;
	json_array_foreach(doms, i, v) {
		if (!json_is_string(v)) {
			ja_end(root);
			return names_fail(err, errlen, "\"domains\"[%zu] is "
			    "not a string", i);
		}
		bytes += json_string_length(v) + 1;
	}
	/* One block: the pointers, the lengths, then the strings. */
	hn->hn_name = malloc(n * (sizeof(char *) + sizeof(size_t)) + bytes);
	if (hn->hn_name == NULL) {
		ja_end(root);
		return names_fail(err, errlen, "out of memory", (size_t)-1);
	}
	hn->hn_len = (size_t *)(hn->hn_name + n);
	p = (char *)(hn->hn_len + n);
	json_array_foreach(doms, i, v) {
		hn->hn_name[i] = p;
		hn->hn_len[i] = json_string_length(v);
		memcpy(p, json_string_value(v), hn->hn_len[i] + 1);
		p += hn->hn_len[i] + 1;
	}
	hn->hn_n = n;
	hn->hn_wait = wait;
	ja_end(root);
	return 0;
}
