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

static void
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

static void
whois_answered(const struct answer *a, const char *note, void *arg)
{
	struct whois_conn	*c = arg;

	c->wc_lookup = NULL;
	if (c->wc_state == WS_LOOKUP)
		pool_req_end();
	c->wc_state = WS_WRITING;
	whois_format(bufferevent_get_output(c->wc_bev), a, note);
	bufferevent_enable(c->wc_bev, EV_WRITE);
}

/* A refused query line: answered like an invalid name. */
static void
whois_refuse(struct whois_conn *c, const char *reason)
{
	struct evbuffer	*out = bufferevent_get_output(c->wc_bev);

	c->wc_state = WS_WRITING;
	bufferevent_disable(c->wc_bev, EV_READ);
	evbuffer_add_printf(out, "status: invalid\nreason: %s\n", reason);
}

static void
whois_read_cb(struct bufferevent *bev, void *arg)
{
	struct whois_conn	*c = arg;
	struct evbuffer		*in = bufferevent_get_input(bev);
	struct evbuffer_ptr	 eol;
	size_t			 max = (size_t)front_conf()->wc_max_query_len;
	size_t			 len, i;
	char			*line, key[SB_KEYLEN];

	if (c->wc_state != WS_READING)
		return;
	eol = evbuffer_search_eol(in, NULL, &len, EVBUFFER_EOL_LF);
	if (eol.pos == -1) {
		if (evbuffer_get_length(in) > max)
			whois_refuse(c, "query too long");
		return;
	}
	if ((size_t)eol.pos > max) {
		whois_refuse(c, "query too long");
		return;
	}
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
		whois_refuse(c, "bad character (binary or control bytes)");
		return;
	}
	bufferevent_disable(bev, EV_READ);
	bufferevent_set_timeouts(bev, NULL, NULL);
	front_stats.fs_whois_requests++;
	snprintf(key, sizeof(key), "whois %s", line);
	pool_req_begin(key);
	c->wc_state = WS_LOOKUP;
	c->wc_lookup = lookup_start(line, len, LOOKUP_TEXT, whois_answered, c);
	free(line);
}

static void
whois_write_cb(struct bufferevent *bev, void *arg)
{
	struct whois_conn *c = arg;

	(void)bev;
	if (c->wc_state == WS_WRITING)
		whois_close(c, 1);
}

static void
whois_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct whois_conn *c = arg;

	if ((what & BEV_EVENT_TIMEOUT) && c->wc_state == WS_READING) {
		whois_refuse(c, "no query received (timeout)");
		bufferevent_enable(bev, EV_WRITE);
		return;
	}
	if ((what & BEV_EVENT_EOF) && c->wc_state == WS_READING &&
	    evbuffer_get_length(bufferevent_get_input(bev)) > 0) {
		/* A query without a newline, then EOF: answer it anyway. */
		evbuffer_add(bufferevent_get_input(bev), "\n", 1);
		whois_read_cb(bev, c);
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
	bufferevent_enable(c->wc_bev, EV_READ | EV_WRITE);
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
