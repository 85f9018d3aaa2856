/* linger.h — close a connection without a RST destroying the reply. */
#ifndef WHOISD_LINGER_H
#define WHOISD_LINGER_H

struct event_base;

/* Takes over fd: shut down writing, discard input for up to secs, close. */
void	linger_close(struct event_base *base, int fd, double secs);
/* The same, then done(arg) once fd is closed. */
void	linger_close_then(struct event_base *base, int fd, double secs,
	    void (*done)(void *), void *arg);

#endif
