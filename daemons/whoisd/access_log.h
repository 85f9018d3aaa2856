/*
 * access_log.h — the front's access log: one line per request on either
 * port, like nginx's, to a file (reopened on USR1), the journal, or
 * nowhere (`access_log`), one request in `access_log_sample`.
 */
#ifndef WHOISD_ACCESS_LOG_H
#define WHOISD_ACCESS_LOG_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "proto/msg.h"

/* What one request's line says, gathered while it is answered. */
struct alog_rec {
	double		 ar_start;	/* monotonic */
	int		 ar_open;	/* begun and not yet written */
	int		 ar_n;		/* names answered */
	int		 ar_code;	/* HTTP status, 0 on the whois port */
	size_t		 ar_bytes;	/* answer body bytes */
	char		 ar_path[48];
	char		 ar_name[80];	/* the first name, escaped */
	uint32_t	 ar_status[AS_NSTATUS];
	uint32_t	 ar_source[SRC_NSOURCE];
};

extern int	 alog_on;	/* access_log is not off */

int	 alog_master_init(void *conf, int check);	/* the destination */
void	 alog_child_init(void *conf);

static inline void
alog_begin(struct alog_rec *ar, double start)
{
	if (!alog_on)
		return;
	ar->ar_start = start;
	ar->ar_open = 1;
	ar->ar_n = 0;
	ar->ar_code = 0;
	ar->ar_bytes = 0;
	ar->ar_path[0] = ar->ar_name[0] = '\0';
	memset(ar->ar_status, 0, sizeof(ar->ar_status));
	memset(ar->ar_source, 0, sizeof(ar->ar_source));
}
void	 alog_path(struct alog_rec *, const char *path);
void	 alog_answer(struct alog_rec *, const struct answer *);
/* Write the line (if sampled): the client on fd, port http or whois. */
void	 alog_end(struct alog_rec *, int fd, int http, double now);

#endif
