/*
 * whois.c — the RFC 3912 port: one query line, one answer, close.
 *
 * A connection is a small state machine (enum whois_state).  A line over
 * max_query_len, bytes that are not text, or silence for idle_timeout get
 * a clear `status: invalid` answer, never a silent close; the close is
 * lingering, so the answer is not destroyed by a reset when the client
 * still has bytes in flight.
 */
#include <sys/queue.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "common/linger.h"
#include "common/log.h"
#include "common/pool.h"
#include "common/util.h"
#include "daemons/whoisd/whoisd.h"

/** Connection states. */
enum whois_state {
	WS_READING,	/**< waiting for the query line */
	WS_LOOKUP,	/**< lookup in progress */
	WS_WRITING,	/**< answer queued; close when written */
};

struct whois_conn {
	struct bufferevent	*wc_bev;
	enum whois_state	 wc_state;
	struct lookup		*wc_lookup;
	int			 wc_starting;	/* inside lookup_start() */
	LIST_ENTRY(whois_conn)	 wc_entry;
};

static LIST_HEAD(, whois_conn)	whois_conns = LIST_HEAD_INITIALIZER(whois_conns);
static struct event_base	*whois_base;

void
whois_init(struct event_base *base)
{
	whois_base = base;
}

static void
whois_close(struct whois_conn *c, int linger)
{
	int	fd = bufferevent_getfd(c->wc_bev);

	if (c->wc_lookup != NULL)
		lookup_cancel(c->wc_lookup);
	LIST_REMOVE(c, wc_entry);
	bufferevent_free(c->wc_bev);
	if (linger)
		linger_close(whois_base, fd, 2.0);
	else
		close(fd);
	if (c->wc_state == WS_LOOKUP)
		pool_req_end();
	free(c);
	pool_conn_done();
}

/* The answer as the whois port (and /v1/whois) shows it. */
void
whois_format(struct evbuffer *out, const struct answer *a, const char *note)
{
	char	ts[32];

	evbuffer_add_printf(out, "domain: %s\n", a->a_domain);
	if (a->a_ace[0] != '\0')
		evbuffer_add_printf(out, "ace: %s\n", a->a_ace);
	evbuffer_add_printf(out, "status: %s\n", a->a_status);
	if (a->a_reason[0] != '\0')
		evbuffer_add_printf(out, "reason: %s\n", a->a_reason);
	if (strcmp(a->a_status, "invalid") != 0) {
		if (a->a_source[0] != '\0')
			evbuffer_add_printf(out, "source: %s\n", a->a_source);
		fmt_iso8601(a->a_checked, ts, sizeof(ts));
		evbuffer_add_printf(out, "checked: %s\n", ts);
		if (a->a_registry[0] != '\0')
			evbuffer_add_printf(out, "registry: %s\n",
			    a->a_registry);
		evbuffer_add_printf(out, "registry-latency-ms: %llu\n",
		    (unsigned long long)a->a_latency_ms);
	}
	if (a->a_retry_after > 0)
		evbuffer_add_printf(out, "retry-after: %llu\n",
		    (unsigned long long)a->a_retry_after);
	if (a->a_rule[0] != '\0')
		evbuffer_add_printf(out, "rule: %s\n", a->a_rule);
	if (a->a_matched[0] != '\0')
		evbuffer_add_printf(out, "matched: %s\n", a->a_matched);
	if (note != NULL)
		evbuffer_add_printf(out, "note: %s\n", note);
	if (a->a_text != NULL && a->a_text_len > 0) {
		evbuffer_add(out, "\n", 1);
		evbuffer_add(out, a->a_text, a->a_text_len);
		if (a->a_text[a->a_text_len - 1] != '\n')
			evbuffer_add(out, "\n", 1);
	}
}

/*
 * Write what is queued now, without waiting for the loop: most answers
 * fit the socket buffer, and the connection then closes at once.  Returns
 * -1 if the connection is gone (closed here), 0 if the rest waits for
 * EV_WRITE (whois_write_cb closes it).
 */
static int
whois_flush(struct whois_conn *c)
{
	struct evbuffer	*out = bufferevent_get_output(c->wc_bev);
	int		 fd = bufferevent_getfd(c->wc_bev), pending = 0;

	while (evbuffer_get_length(out) > 0)
		if (evbuffer_write(out, fd) <= 0)
			break;
	if (evbuffer_get_length(out) > 0) {
		bufferevent_enable(c->wc_bev, EV_WRITE);
		return 0;
	}
	/* Linger only if the client sent more than we read: else a plain
	 * close cannot reset anything. */
	if (evbuffer_get_length(bufferevent_get_input(c->wc_bev)) > 0 ||
	    ioctl(fd, FIONREAD, &pending) == -1 || pending > 0)
		whois_close(c, 1);
	else
		whois_close(c, 0);
	return -1;
}

static void
whois_answered(const struct answer *a, const char *note, void *arg)
{
	struct whois_conn	*c = arg;

	c->wc_lookup = NULL;
	if (c->wc_state == WS_LOOKUP)
		pool_req_end();
	c->wc_state = WS_WRITING;
	whois_format(bufferevent_get_output(c->wc_bev), a, note);
	/* Answered inside lookup_start(): whois_input() flushes. */
	if (!c->wc_starting)
		(void)whois_flush(c);
}

/* A refused query line: answered like an invalid name. */
static int
whois_refuse(struct whois_conn *c, const char *reason)
{
	struct evbuffer	*out = bufferevent_get_output(c->wc_bev);

	c->wc_state = WS_WRITING;
	bufferevent_disable(c->wc_bev, EV_READ);
	evbuffer_add_printf(out, "status: invalid\nreason: %s\n", reason);
	return whois_flush(c);
}

/* Look at what the client sent.  -1 if the connection is gone. */
static int
whois_input(struct whois_conn *c)
{
	struct bufferevent	*bev = c->wc_bev;
	struct evbuffer		*in = bufferevent_get_input(bev);
	struct evbuffer_ptr	 eol;
	struct lookup		*lk;
	size_t			 max = (size_t)front_conf()->wc_max_query_len;
	size_t			 len, i;
	char			*line, key[SB_KEYLEN];

	if (c->wc_state != WS_READING)
		return 0;
	eol = evbuffer_search_eol(in, NULL, &len, EVBUFFER_EOL_LF);
	if (eol.pos == -1) {
		if (evbuffer_get_length(in) > max)
			return whois_refuse(c, "query too long");
		return 0;
	}
	if ((size_t)eol.pos > max)
		return whois_refuse(c, "query too long");
	line = xmalloc(eol.pos + 1);
	evbuffer_remove(in, line, eol.pos);
	evbuffer_drain(in, len);
	len = eol.pos;
	if (len > 0 && line[len - 1] == '\r')
		len--;
	line[len] = '\0';
	for (i = 0; i < len; i++)
		if ((unsigned char)line[i] < 0x20 || line[i] == 0x7f)
			break;
	if (i < len) {
		free(line);
		return whois_refuse(c, "bad character (binary or control "
		    "bytes)");
	}
	bufferevent_disable(bev, EV_READ);
	bufferevent_set_timeouts(bev, NULL, NULL);
	front_stats.fs_whois_requests++;
	snprintf(key, sizeof(key), "whois %s", line);
	pool_req_begin(key);
	c->wc_state = WS_LOOKUP;
	c->wc_starting = 1;
	lk = lookup_start(line, len, LOOKUP_TEXT, whois_answered, c);
	c->wc_starting = 0;
	free(line);
	if (c->wc_state == WS_WRITING)
		return whois_flush(c);	/* answered already (memo, invalid) */
	c->wc_lookup = lk;
	return 0;
}

static void
whois_read_cb(struct bufferevent *bev, void *arg)
{
	(void)bev;
	(void)whois_input(arg);
}

static void
whois_write_cb(struct bufferevent *bev, void *arg)
{
	struct whois_conn *c = arg;

	(void)bev;
	if (c->wc_state == WS_WRITING &&
	    evbuffer_get_length(bufferevent_get_output(c->wc_bev)) == 0)
		(void)whois_flush(c);
}

static void
whois_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct whois_conn *c = arg;

	if ((what & BEV_EVENT_TIMEOUT) && c->wc_state == WS_READING) {
		(void)whois_refuse(c, "no query received (timeout)");
		return;
	}
	if ((what & BEV_EVENT_EOF) && c->wc_state == WS_READING &&
	    evbuffer_get_length(bufferevent_get_input(bev)) > 0) {
		/* A query without a newline, then EOF: answer it anyway. */
		evbuffer_add(bufferevent_get_input(bev), "\n", 1);
		(void)whois_input(c);
		return;
	}
	/* The client went away (or a write failed): drop everything. */
	whois_close(c, 0);
}

void
whois_accept(int fd, struct sockaddr *sa, socklen_t salen)
{
	struct whois_conn	*c;
	struct timeval		 tv;
	double			 t = front_conf()->wc_idle_timeout;
	int			 n;

	(void)sa; (void)salen;
	c = xcalloc(1, sizeof(*c));
	c->wc_bev = bufferevent_socket_new(whois_base, fd, 0);
	c->wc_state = WS_READING;
	LIST_INSERT_HEAD(&whois_conns, c, wc_entry);
	bufferevent_setcb(c->wc_bev, whois_read_cb, whois_write_cb,
	    whois_event_cb, c);
	tv.tv_sec = (time_t)t;
	tv.tv_usec = (suseconds_t)((t - (double)tv.tv_sec) * 1e6);
	bufferevent_set_timeouts(c->wc_bev, &tv, NULL);
	/*
	 * The query usually arrived with the connection: read it now, and a
	 * memo hit is answered and closed before the socket ever enters the
	 * event loop.
	 */
	n = evbuffer_read(bufferevent_get_input(c->wc_bev), fd,
	    (int)front_conf()->wc_max_query_len + 2);
	if (n > 0 && whois_input(c) == -1)
		return;
	if (n == 0 && c->wc_state == WS_READING) {
		whois_close(c, 0);	/* connected and hung up */
		return;
	}
	if (c->wc_state == WS_READING)
		bufferevent_enable(c->wc_bev, EV_READ);
}

/*
 * Draining: every whois connection is one request, and every accepted one
 * is answered (its client is sending the query now), so there is nothing
 * to cut short: the pool exits when the last one is done.
 */
void
whois_drain(void)
{
}
