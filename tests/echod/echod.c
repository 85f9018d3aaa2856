/*
 * echod.c — a line echo server on the pool, for the pool's own tests.
 *
 * Each line a client sends is one request.  The reply is the line with
 * `echo_prefix` in front, except for a few commands:
 *   sleep N   answer "slept N" after N seconds, without blocking the child
 *   block N   answer "blocked N" after N seconds, blocking the whole child
 *             (this is how tests make a child stuck for child_timeout)
 *   pid       answer this child's pid
 *   conf      answer the echo_prefix in effect (to see a reload)
 *   uid       answer the child's uid
 *   stats     answer the pool's scoreboard as JSON
 * A line longer than max_line, or one with NUL or other control bytes,
 * gets "ERR ..." and the connection is closed; a client that says nothing
 * for idle_timeout seconds gets "ERR idle timeout" and is closed.
 */
#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "common/config.h"
#include "common/linger.h"
#include "common/log.h"
#include "common/pool.h"
#include "common/util.h"

struct echod_conf {
	struct pool_conf	ec_pool;
	char			*ec_prefix;
	long			 ec_max_line;
	double			 ec_idle_timeout;
};

/** Connection states: one request at a time per connection. */
enum echo_state {
	ECHO_READING,	/**< waiting for a whole line */
	ECHO_WORKING,	/**< a request is in progress (sleep) */
	ECHO_CLOSING,	/**< reply queued, close once written */
};

struct echo_conn {
	struct bufferevent	*ecn_bev;
	struct event		*ecn_timer;
	enum echo_state		 ecn_state;
	unsigned long		 ecn_nreq;	/* requests answered */
	char			 ecn_reply[128];
	LIST_ENTRY(echo_conn)	 ecn_entry;
};

static LIST_HEAD(, echo_conn)	echo_conns = LIST_HEAD_INITIALIZER(echo_conns);
static struct event_base	*echo_base;

#define ECHOFF(f)	offsetof(struct echod_conf, f)
static const struct conf_key echod_keys[] = {
	{ "echo_prefix", CONF_STR, ECHOFF(ec_prefix), 0, 0, "",
	  "text put in front of every echoed line" },
	{ "max_line", CONF_INT, ECHOFF(ec_max_line), 16, 16 * 1024 * 1024,
	  "1024", "longest request line accepted" },
	{ "idle_timeout", CONF_DOUBLE, ECHOFF(ec_idle_timeout), 0.1, 3600, "5",
	  "seconds a client may stay silent" },
	{ NULL, 0, 0, 0, 0, NULL, NULL }
};

static const struct conf_spec echod_spec = {
	"test-echod", echod_keys, sizeof(struct echod_conf), "/dev/null", NULL, NULL
};

static struct echod_conf *
ec(void)
{
	return pool_conf();
}

/* Close; after a reply, linger so unread input cannot reset the reply. */
static void
echo_close(struct echo_conn *c, int linger)
{
	int	fd = bufferevent_getfd(c->ecn_bev);

	LIST_REMOVE(c, ecn_entry);
	if (c->ecn_timer != NULL)
		event_free(c->ecn_timer);
	bufferevent_free(c->ecn_bev);
	free(c);
	if (linger)
		pool_conn_linger(fd, 2.0);
	else {
		close(fd);
		pool_conn_done();
	}
}

static void
echo_idle(struct echo_conn *c)
{
	struct timeval	tv;
	double		t = ec()->ec_idle_timeout;

	tv.tv_sec = (time_t)t;
	tv.tv_usec = (suseconds_t)((t - (double)tv.tv_sec) * 1e6);
	bufferevent_set_timeouts(c->ecn_bev, &tv, NULL);
}

static void
echo_send(struct echo_conn *c, const char *s)
{
	evbuffer_add_printf(bufferevent_get_output(c->ecn_bev), "%s\n", s);
}

static void echo_read_cb(struct bufferevent *, void *);

/* A request finished: reply, then read the next line or close. */
static void
echo_done(struct echo_conn *c, const char *reply)
{
	echo_send(c, reply);
	c->ecn_nreq++;
	pool_req_end();
	if (pool_draining())
		c->ecn_state = ECHO_CLOSING;
	else {
		c->ecn_state = ECHO_READING;
		echo_idle(c);
		bufferevent_enable(c->ecn_bev, EV_READ);
		/* Lines that arrived while we worked. */
		echo_read_cb(c->ecn_bev, c);
	}
}

static void
echo_timer_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct echo_conn *c = arg;

	(void)fd; (void)ev;
	echo_done(c, c->ecn_reply);
}

static void
echo_request(struct echo_conn *c, char *line)
{
	struct timeval	tv;
	double		secs;
	char		buf[96 * 1024];

	pool_req_begin(line);
	buf[0] = '\0';
	if (sscanf(line, "sleep %lf", &secs) == 1 && secs >= 0) {
		snprintf(c->ecn_reply, sizeof(c->ecn_reply), "slept %g", secs);
		tv.tv_sec = (time_t)secs;
		tv.tv_usec = (suseconds_t)((secs - (double)tv.tv_sec) * 1e6);
		c->ecn_state = ECHO_WORKING;
		bufferevent_disable(c->ecn_bev, EV_READ);
		bufferevent_set_timeouts(c->ecn_bev, NULL, NULL);
		if (c->ecn_timer == NULL)
			c->ecn_timer = evtimer_new(echo_base, echo_timer_cb, c);
		evtimer_add(c->ecn_timer, &tv);
		return;
	}
	if (sscanf(line, "block %lf", &secs) == 1 && secs >= 0) {
		/* Signals (the master's USR2) must not cut the block short. */
		double until = now_mono() + secs;
		while (now_mono() < until)
			usleep(10000);
		snprintf(buf, sizeof(buf), "blocked %g", secs);
	} else if (strcmp(line, "pid") == 0)
		snprintf(buf, sizeof(buf), "%ld", (long)getpid());
	else if (strcmp(line, "uid") == 0)
		snprintf(buf, sizeof(buf), "%ld", (long)getuid());
	else if (strcmp(line, "stats") == 0)
		pool_status_json(buf, sizeof(buf));
	else if (strcmp(line, "conf") == 0)
		snprintf(buf, sizeof(buf), "prefix=%s", ec()->ec_prefix);
	else
		snprintf(buf, sizeof(buf), "%s%s", ec()->ec_prefix, line);
	echo_done(c, buf);
}

static void
echo_read_cb(struct bufferevent *bev, void *arg)
{
	struct echo_conn	*c = arg;
	struct evbuffer		*in = bufferevent_get_input(bev);
	char			*line;
	size_t			 len, i;

	while (c->ecn_state == ECHO_READING) {
		line = evbuffer_readln(in, &len, EVBUFFER_EOL_CRLF);
		if (line == NULL) {
			if (evbuffer_get_length(in) > (size_t)ec()->ec_max_line) {
				log_notice("client line over %ld bytes; closing",
				    ec()->ec_max_line);
				echo_send(c, "ERR line too long");
				c->ecn_state = ECHO_CLOSING;
				bufferevent_disable(bev, EV_READ);
			}
			return;
		}
		if (len > (size_t)ec()->ec_max_line) {
			free(line);
			echo_send(c, "ERR line too long");
			c->ecn_state = ECHO_CLOSING;
			bufferevent_disable(bev, EV_READ);
			return;
		}
		for (i = 0; i < len; i++)
			if ((unsigned char)line[i] < 0x20 || line[i] == 0x7f)
				break;
		if (i < len) {
			free(line);
			log_notice("client sent control bytes; closing");
			echo_send(c, "ERR bad bytes");
			c->ecn_state = ECHO_CLOSING;
			bufferevent_disable(bev, EV_READ);
			return;
		}
		echo_request(c, line);
		free(line);
	}
}

static void
echo_write_cb(struct bufferevent *bev, void *arg)
{
	struct echo_conn *c = arg;

	(void)bev;
	if (c->ecn_state == ECHO_CLOSING)
		echo_close(c, 1);
}

static void
echo_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct echo_conn *c = arg;

	if (what & BEV_EVENT_TIMEOUT) {
		echo_send(c, "ERR idle timeout");
		c->ecn_state = ECHO_CLOSING;
		bufferevent_disable(bev, EV_READ);
		bufferevent_enable(bev, EV_WRITE);
		return;
	}
	/* EOF or error: a request in progress still counts as ended. */
	if (c->ecn_state == ECHO_WORKING)
		pool_req_end();
	echo_close(c, 0);
}

static void
echod_accept(struct listener *l, int fd, struct sockaddr *sa, socklen_t salen)
{
	struct echo_conn	*c;

	(void)l; (void)sa; (void)salen;
	c = xcalloc(1, sizeof(*c));
	c->ecn_bev = bufferevent_socket_new(echo_base, fd, 0);
	c->ecn_state = ECHO_READING;
	LIST_INSERT_HEAD(&echo_conns, c, ecn_entry);
	bufferevent_setcb(c->ecn_bev, echo_read_cb, echo_write_cb,
	    echo_event_cb, c);
	echo_idle(c);
	bufferevent_enable(c->ecn_bev, EV_READ | EV_WRITE);
}

static void
echod_child_init(struct event_base *base, void *conf)
{
	(void)conf;
	echo_base = base;
}

/*
 * Draining: a connection between two requests closes now; one that has
 * not sent its first request yet is still served (its client already
 * sent, or is sending, a request we accepted); busy ones close after
 * their reply (echo_done).
 */
static void
echod_drain(void)
{
	struct echo_conn	*c, *next;

	for (c = LIST_FIRST(&echo_conns); c != NULL; c = next) {
		next = LIST_NEXT(c, ecn_entry);
		if (c->ecn_state == ECHO_READING && c->ecn_nreq > 0 &&
		    evbuffer_get_length(bufferevent_get_input(c->ecn_bev)) == 0 &&
		    evbuffer_get_length(bufferevent_get_output(c->ecn_bev)) == 0)
			echo_close(c, 0);
	}
}

static const struct pool_daemon echod = {
	.pd_name = "test-echod",
	.pd_spec = &echod_spec,
	.pd_child_init = echod_child_init,
	.pd_child_accept = echod_accept,
	.pd_child_drain = echod_drain,
};

int
main(int argc, char **argv)
{
	return pool_main(&echod, argc, argv);
}
