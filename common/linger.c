/*
 * linger.c — close a client connection without resetting it.
 *
 * Closing a socket that still has unread input makes the kernel send a
 * RST, and a RST can destroy the reply we just wrote before the client
 * reads it (the "overlong query" case).  So: shut down our side, read
 * and discard what the client still sends for a short while, then close.
 * nginx calls this lingering close.
 */
#include <sys/socket.h>

#include <stdlib.h>
#include <unistd.h>

#include <event2/event.h>

#include "common/linger.h"
#include "common/util.h"

#define LINGER_MAX_BYTES	(4 * 1024 * 1024)

struct lingerer {
	struct event	*lg_ev;
	size_t		 lg_bytes;
	void		(*lg_done)(void *);
	void		*lg_arg;
};

static void
linger_cb(evutil_socket_t fd, short what, void *arg)
{
	struct lingerer	*lg = arg;
	char		 buf[16384];
	ssize_t		 n;
	void		(*done)(void *);
	void		*done_arg;

	if (what & EV_READ) {
		while ((n = read(fd, buf, sizeof(buf))) > 0) {
			lg->lg_bytes += (size_t)n;
			if (lg->lg_bytes > LINGER_MAX_BYTES)
				break;
		}
		if (n == -1 && lg->lg_bytes <= LINGER_MAX_BYTES)
			return;		/* EAGAIN: wait for more or EOF */
	}
	/* EOF, error, too much, or the timeout. */
	done = lg->lg_done;
	done_arg = lg->lg_arg;
	event_free(lg->lg_ev);
	close(fd);
	free(lg);
	if (done != NULL)
		done(done_arg);		/* last: it may end the process */
}

void
linger_close(struct event_base *base, int fd, double secs)
{
	linger_close_then(base, fd, secs, NULL, NULL);
}

void
linger_close_then(struct event_base *base, int fd, double secs,
    void (*done)(void *), void *arg)
{
	struct lingerer	*lg;
	struct timeval	 tv;

	if (shutdown(fd, SHUT_WR) == -1) {
		close(fd);
		if (done != NULL)
			done(arg);
		return;
	}
	lg = xcalloc(1, sizeof(*lg));
	lg->lg_done = done;
	lg->lg_arg = arg;
	lg->lg_ev = event_new(base, fd, EV_READ | EV_PERSIST, linger_cb, lg);
	tv_from_seconds(&tv, secs);
	event_add(lg->lg_ev, &tv);
}
