/*
 * fuzz_http.c — libFuzzer target for the HTTP port's request parsing
 * (daemons/whoisd/http_parse.c), driven the way http.c drives it: the
 * bytes arrive in a buffer of at most FH_HEAD_MAX, empty lines are
 * skipped, each head is found, parsed and "answered" until one closes
 * the connection (an error, a body, Connection: close, HTTP/1.0 without
 * keep-alive, a head over the limit).
 *
 * Input: what a client sends on one connection.  It is fed whole, in
 * random pieces (split by a generator seeded from the bytes) and, when
 * short, a byte at a time: the requests seen and the answers' statuses
 * must not depend on how the bytes arrived.  Every parsed request's
 * method, path and query must lie inside its head, be NUL-terminated
 * there and hold no control byte; a head is never longer than the
 * limit.  Then the /v1/check query's domain values are decoded as
 * http.c decodes them.  Build and run: make fuzz.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemons/whoisd/http_parse.h"
#include "tests/fuzz/fuzz.h"

/* The daemon's limit is 64 KB or more; a small one gets to the 431. */
#define FH_HEAD_MAX	1024

/* What one connection saw, in order: a log compared between feeds. */
struct fh_log {
	char	*fl_buf;
	size_t	 fl_len, fl_cap;
};

struct fh_conn {
	char		 fc_in[FH_HEAD_MAX + 1];
	size_t		 fc_off, fc_len;
	int		 fc_closing;
	struct fh_log	 fc_log;
};

static void
fh_log_add(struct fh_log *l, const void *p, size_t n)
{
	if (l->fl_len + n > l->fl_cap) {
		l->fl_cap = (l->fl_len + n) * 2 + 64;
		if ((l->fl_buf = realloc(l->fl_buf, l->fl_cap)) == NULL)
			abort();
	}
	memcpy(l->fl_buf + l->fl_len, p, n);
	l->fl_len += n;
}

static void
fh_log_str(struct fh_log *l, const char *s)
{
	fh_log_add(l, s != NULL ? s : "(null)", strlen(s != NULL ? s :
	    "(null)") + 1);
}

static void
fh_log_int(struct fh_log *l, int v)
{
	fh_log_add(l, &v, sizeof(v));
}

static int
fh_same(const struct fh_log *a, const struct fh_log *b)
{
	return a->fl_len == b->fl_len && (a->fl_len == 0 ||
	    memcmp(a->fl_buf, b->fl_buf, a->fl_len) == 0);
}

/* s lies in [head, head + len), ends there and is text. */
static void
fh_check_str(const char *s, const char *head, size_t len)
{
	const char	*end = head + len;

	if (s < head || s >= end)
		abort();
	for (; s < end && *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			abort();
	if (s == end)
		abort();		/* not NUL-terminated inside */
}

static int
fh_tchar(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || (c != '\0' && strchr("!#$%&'*+-.^_`|~",
	    c) != NULL);
}

/* What http_lookups() does with the query: decode each domain value. */
static void
fh_query(const char *query)
{
	char		*q, *p, *amp;
	size_t		 qlen = strlen(query);
	ssize_t		 n;

	if ((q = strdup(query)) == NULL)
		abort();
	for (p = q; p < q + qlen; p = amp + 1) {
		if ((amp = strchr(p, '&')) == NULL)
			amp = q + qlen;
		*amp = '\0';
		if (strncmp(p, "domain=", 7) == 0) {
			n = http_query_decode(p + 7, (size_t)(amp - p - 7));
			if (n < -1 || n > amp - p - 7)
				abort();
		}
	}
	free(q);
}

static void
fh_request(struct fh_conn *fc, char *head, size_t n)
{
	struct http_head	 hh;
	const char		*m;
	int			 r;

	if (n == 0 || n > FH_HEAD_MAX)
		abort();
	r = http_parse_head(head, n, &hh);
	fh_log_int(&fc->fc_log, r);
	if (r != 0) {
		if (r != 400 && r != 505)
			abort();
		fc->fc_closing = 1;
		return;
	}
	fh_check_str(hh.hh_method, head, n);
	fh_check_str(hh.hh_path, head, n);
	if (hh.hh_method[0] == '\0' || hh.hh_path[0] != '/' ||
	    strpbrk(hh.hh_path, "?# ") != NULL)
		abort();
	for (m = hh.hh_method; *m != '\0'; m++)
		if (!fh_tchar((unsigned char)*m))
			abort();
	if (hh.hh_query != NULL) {
		fh_check_str(hh.hh_query, head, n);
		if (strpbrk(hh.hh_query, "# ") != NULL)
			abort();
		fh_query(hh.hh_query);
	}
	if (hh.hh_keepalive && (hh.hh_body || (hh.hh_http10 ?
	    !hh.hh_conn_keepalive : hh.hh_conn_close)))
		abort();
	fh_log_str(&fc->fc_log, hh.hh_method);
	fh_log_str(&fc->fc_log, hh.hh_path);
	fh_log_str(&fc->fc_log, hh.hh_query);
	fh_log_int(&fc->fc_log, hh.hh_http10 | hh.hh_conn_close << 1 |
	    hh.hh_conn_keepalive << 2 | hh.hh_body << 3 |
	    hh.hh_keepalive << 4);
	if (!hh.hh_keepalive)
		fc->fc_closing = 1;
}

/* http_process(): every complete head in the buffer, in order. */
static void
fh_process(struct fh_conn *fc)
{
	ssize_t	n;
	char	*head;

	for (;;) {
		fc->fc_off += http_blank_len(fc->fc_in + fc->fc_off,
		    fc->fc_len - fc->fc_off);
		if (fc->fc_closing || fc->fc_off == fc->fc_len)
			return;
		n = http_head_len(fc->fc_in + fc->fc_off,
		    fc->fc_len - fc->fc_off, FH_HEAD_MAX);
		if (n == 0)
			return;
		if (n == -1) {
			fh_log_int(&fc->fc_log, 431);
			fc->fc_closing = 1;
			fc->fc_off = fc->fc_len;
			return;
		}
		if ((size_t)n > fc->fc_len - fc->fc_off)
			abort();
		head = fc->fc_in + fc->fc_off;
		fc->fc_off += (size_t)n;
		fh_request(fc, head, (size_t)n);
	}
}

/* http_read(): take at most `want` bytes of data, as room allows. */
static size_t
fh_read(struct fh_conn *fc, const uint8_t *data, size_t want)
{
	size_t	n;

	if (fc->fc_off > 0 && fc->fc_off == fc->fc_len)
		fc->fc_off = fc->fc_len = 0;
	if (fc->fc_len == FH_HEAD_MAX && fc->fc_off > 0) {
		memmove(fc->fc_in, fc->fc_in + fc->fc_off,
		    fc->fc_len - fc->fc_off);
		fc->fc_len -= fc->fc_off;
		fc->fc_off = 0;
	}
	n = FH_HEAD_MAX - fc->fc_len;
	if (n > want)
		n = want;
	memcpy(fc->fc_in + fc->fc_len, data, n);
	fc->fc_len += n;
	return n;
}

/* A small generator for the piece sizes, seeded from the input. */
static uint64_t
fh_rand(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/*
 * One connection fed data in pieces: mode 0 whole (as room allows),
 * 1 random pieces, 2 one byte at a time.  The caller frees the log.
 */
static void
fh_feed(struct fh_conn *fc, const uint8_t *data, size_t size, int mode,
    uint64_t seed)
{
	size_t	pos = 0, want;

	memset(fc, 0, sizeof(*fc));
	while (pos < size && !fc->fc_closing) {
		want = size - pos;
		if (mode == 2)
			want = 1;
		else if (mode == 1) {
			uint64_t r = fh_rand(&seed);

			/* Mostly a few bytes, sometimes a whole head. */
			want = (r & 3) != 0 ? 1 + (r >> 8) % 16 :
			    1 + (r >> 8) % 600;
			if (want > size - pos)
				want = size - pos;
		}
		pos += fh_read(fc, data + pos, want);
		fh_process(fc);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fh_conn	 whole, piece;
	struct http_head	 hh;
	uint64_t		 seed = 0xcbf29ce484222325ULL;
	char			*copy;
	size_t			 i;
	ssize_t			 n;

	for (i = 0; i < size; i++)
		seed = (seed ^ data[i]) * 0x100000001b3ULL;
	seed |= 1;

	fh_feed(&whole, data, size, 0, seed);
	fh_feed(&piece, data, size, 1, seed);
	if (!fh_same(&whole.fc_log, &piece.fc_log))
		abort();		/* pieces saw other requests */
	free(piece.fc_log.fl_buf);
	if (size <= 512) {
		fh_feed(&piece, data, size, 2, seed);
		if (!fh_same(&whole.fc_log, &piece.fc_log))
			abort();
		free(piece.fc_log.fl_buf);
	}
	free(whole.fc_log.fl_buf);

	/* The parser on bytes no head search delimited, and the decoder. */
	if ((copy = malloc(size + 1)) == NULL)
		return 0;
	memcpy(copy, data, size);
	copy[size] = '\0';
	(void)http_parse_head(copy, size, &hh);
	memcpy(copy, data, size);
	n = http_query_decode(copy, size);
	if (n < -1 || n > (ssize_t)size)
		abort();
	free(copy);
	return 0;
}
