/*
 * util.h — small helpers every process uses: allocation that never
 * returns NULL, monotonic and wall clocks, fd flags.
 */
#ifndef WHOISD_UTIL_H
#define WHOISD_UTIL_H

#include <sys/time.h>

#include <stddef.h>
#include <stdint.h>

#define nitems(a)	(sizeof(a) / sizeof((a)[0]))

void	*xmalloc(size_t);
void	*xcalloc(size_t, size_t);
void	*xrealloc(void *, size_t);
char	*xstrdup(const char *);
char	*xstrndup(const char *, size_t);

double	 now_mono(void);	/* seconds, CLOCK_MONOTONIC */
double	 now_wall(void);	/* seconds since the epoch */
void	 fmt_iso8601(double t, char *buf, size_t len);	/* 2026-11-22T01:00:00Z */
/* A timer's timeval: the fraction cut to whole microseconds; < 0 is 0. */
void	 tv_from_seconds(struct timeval *, double sec);
void	 tv_from_ms(struct timeval *, long ms);
/* Decimal digits of v into buf (21 bytes will do); returns their count. */
size_t	 fmt_u64(uint64_t v, char *buf);

int	 fd_nonblock(int fd);
int	 fd_cloexec(int fd);
/* Read len bytes, or up to EOF or an error; returns how many it got. */
size_t	 fd_read_full(int fd, void *buf, size_t len);

/*
 * Copy src into dst of size bytes, cut to fit and always terminated
 * (strlcpy's contract): what snprintf("%s") does, without the format
 * machinery, for the copies on every request's path.  Returns strlen(src).
 */
size_t	 str_copy(char *dst, const char *src, size_t size);

/* FNV-1a (32 bits) of a string, for the hash tables. */
uint32_t str_hash(const char *s);

/* Length of a valid UTF-8 sequence at s (n bytes left), or 0. */
size_t	 utf8_seqlen(const unsigned char *s, size_t n);

/* Split "host:port" / "[v6]:port"; 0 or -1 with err filled. */
int	 parse_hostport(const char *s, char *host, size_t hostlen, int *port,
	    char *err, size_t errlen);

#endif
