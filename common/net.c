/*
 * net.c — listening and connecting sockets, CIDR access lists.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/net.h"
#include "common/util.h"

static int
net_resolve(const char *hostport, struct addrinfo **res, int passive,
    char *err, size_t errlen)
{
	struct addrinfo	hints;
	char		host[256], port[16];
	int		p, rc;

	if (parse_hostport(hostport, host, sizeof(host), &p, err, errlen) == -1)
		return -1;
	snprintf(port, sizeof(port), "%d", p);
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = passive ? AI_PASSIVE : 0;
	if (strcmp(host, "*") == 0)
		rc = getaddrinfo(NULL, port, &hints, res);
	else
		rc = getaddrinfo(host, port, &hints, res);
	if (rc != 0) {
		snprintf(err, errlen, "%s: %s", hostport, gai_strerror(rc));
		return -1;
	}
	return 0;
}

/*
 * A non-blocking socket on the first address of hostport that setup()
 * takes (it returns 0, or -1 with errno set), or -1 with err saying what
 * failed ("listen on", "connect to") and why.
 */
static int
net_socket(const char *hostport, int passive,
    int (*setup)(int, const struct addrinfo *, int), int arg,
    const char *what, char *err, size_t errlen)
{
	struct addrinfo	*res, *ai;
	int		 fd = -1, saved = 0;

	if (net_resolve(hostport, &res, passive, err, errlen) == -1)
		return -1;
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK |
		    SOCK_CLOEXEC, ai->ai_protocol);
		if (fd == -1) {
			saved = errno;
			continue;
		}
		if (setup(fd, ai, arg) == 0)
			break;
		saved = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd == -1)
		snprintf(err, errlen, "%s %s: %s", what, hostport,
		    strerror(saved));
	return fd;
}

static int
net_setup_listen(int fd, const struct addrinfo *ai, int backlog)
{
	int	one = 1;

	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ai->ai_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	net_nodelay(fd);
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) == -1 ||
	    listen(fd, backlog) == -1)
		return -1;
	return 0;
}

static int
net_setup_connect(int fd, const struct addrinfo *ai, int unused)
{
	(void)unused;
	net_nodelay(fd);
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) == -1 &&
	    errno != EINPROGRESS)
		return -1;
	return 0;
}

int
net_listen(const char *hostport, int backlog, char *err, size_t errlen)
{
	return net_socket(hostport, 1, net_setup_listen, backlog, "listen on",
	    err, errlen);
}

/*
 * TCP_NODELAY on a listener is inherited by the sockets it accepts (on
 * Linux), which is the only way to reach the ones evhttp accepts.  Without
 * it a keep-alive answer written in two pieces waits out the client's
 * delayed ACK (40 ms).
 */
void
net_nodelay(int fd)
{
	int	one = 1;

	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

int
net_connect(const char *hostport, char *err, size_t errlen)
{
	return net_socket(hostport, 0, net_setup_connect, 0, "connect to",
	    err, errlen);
}

int
cidr_parse(const char *s, struct cidr *c, char *err, size_t errlen)
{
	char		 buf[128], *slash, *end;
	long		 bits;
	int		 max;

	if (strlen(s) >= sizeof(buf)) {
		snprintf(err, errlen, "\"%s\": too long", s);
		return -1;
	}
	strcpy(buf, s);
	memset(c, 0, sizeof(*c));
	if ((slash = strchr(buf, '/')) != NULL)
		*slash++ = '\0';
	if (inet_pton(AF_INET, buf, c->c_addr) == 1) {
		c->c_family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, buf, c->c_addr) == 1) {
		c->c_family = AF_INET6;
		max = 128;
	} else {
		snprintf(err, errlen, "\"%s\": not an IPv4 or IPv6 address", s);
		return -1;
	}
	if (slash == NULL)
		bits = max;
	else {
		errno = 0;
		bits = strtol(slash, &end, 10);
		if (*slash == '\0' || *end != '\0' || errno || bits < 0 ||
		    bits > max) {
			snprintf(err, errlen, "\"%s\": bad prefix length", s);
			return -1;
		}
	}
	c->c_bits = (int)bits;
	return 0;
}

int
cidr_list_parse(const struct conf_list *in, struct cidr_list *out, char *err,
    size_t errlen)
{
	int	i;

	out->cl_n = 0;
	out->cl_v = xcalloc(in->cl_n + 1, sizeof(struct cidr));
	for (i = 0; i < in->cl_n; i++) {
		if (cidr_parse(in->cl_items[i], &out->cl_v[i], err, errlen) == -1)
			return -1;
		out->cl_n++;
	}
	return 0;
}

void
cidr_list_free(struct cidr_list *l)
{
	free(l->cl_v);
	l->cl_v = NULL;
	l->cl_n = 0;
}

static int
prefix_match(const uint8_t *a, const uint8_t *b, int bits)
{
	int	full = bits / 8, rest = bits % 8;

	if (memcmp(a, b, full) != 0)
		return 0;
	if (rest == 0)
		return 1;
	return ((a[full] ^ b[full]) & (0xff << (8 - rest))) == 0;
}

int
cidr_match(const struct cidr *c, const struct sockaddr *sa)
{
	const struct sockaddr_in	*s4;
	const struct sockaddr_in6	*s6;
	static const uint8_t		 mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0,
					    0, 0, 0xff, 0xff };

	if (sa->sa_family == AF_INET) {
		s4 = (const struct sockaddr_in *)sa;
		if (c->c_family != AF_INET)
			return 0;
		return prefix_match(c->c_addr, (const uint8_t *)&s4->sin_addr,
		    c->c_bits);
	}
	if (sa->sa_family == AF_INET6) {
		s6 = (const struct sockaddr_in6 *)sa;
		if (c->c_family == AF_INET6)
			return prefix_match(c->c_addr, s6->sin6_addr.s6_addr,
			    c->c_bits);
		/* An IPv4 client on a dual-stack socket arrives as ::ffff:a.b.c.d. */
		if (memcmp(s6->sin6_addr.s6_addr, mapped, 12) == 0)
			return prefix_match(c->c_addr,
			    s6->sin6_addr.s6_addr + 12, c->c_bits);
	}
	return 0;
}

int
cidr_allowed(const struct cidr_list *allow, const struct cidr_list *deny,
    const struct sockaddr *sa)
{
	int	i;

	if (sa->sa_family != AF_INET && sa->sa_family != AF_INET6)
		return 1;	/* unix sockets: the file mode decides */
	for (i = 0; i < deny->cl_n; i++)
		if (cidr_match(&deny->cl_v[i], sa))
			return 0;
	if (allow->cl_n == 0)
		return 1;
	for (i = 0; i < allow->cl_n; i++)
		if (cidr_match(&allow->cl_v[i], sa))
			return 1;
	return 0;
}

void
sockaddr_str(const struct sockaddr *sa, char *buf, size_t len)
{
	char	a[INET6_ADDRSTRLEN];

	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const void *)sa;
		inet_ntop(AF_INET, &s4->sin_addr, a, sizeof(a));
		snprintf(buf, len, "%s:%d", a, ntohs(s4->sin_port));
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const void *)sa;
		inet_ntop(AF_INET6, &s6->sin6_addr, a, sizeof(a));
		snprintf(buf, len, "[%s]:%d", a, ntohs(s6->sin6_port));
	} else
		snprintf(buf, len, "(local)");
}
