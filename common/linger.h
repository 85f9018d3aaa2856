/* linger.h — close a connection without a RST destroying the reply. */
#ifndef WHOISD_LINGER_H
#define WHOISD_LINGER_H

struct event_base;

/* Takes over fd: shut down writing, discard input for up to secs, close. */
void	linger_close(struct event_base *base, int fd, double secs);

#endif
