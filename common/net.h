/*
 * net.h — listening sockets (bound here or handed over by systemd) and
 * CIDR allow/deny lists for IPv4 and IPv6.
 */
#ifndef WHOISD_NET_H
#define WHOISD_NET_H

#include <sys/socket.h>
#include <netinet/in.h>
#include <stdint.h>

#include "common/config.h"

#define NET_MAX_LISTENERS	16

struct listener {
	int	 l_fd;
	char	 l_name[32];	/* FileDescriptorName= ("whois", "http") or "listen" */
	char	 l_addr[96];	/* what it is bound to, for logs */
	int	 l_from_systemd;
};

struct cidr {
	int	 c_family;	/* AF_INET or AF_INET6 */
	uint8_t	 c_addr[16];
	int	 c_bits;
};

struct cidr_list {
	struct cidr	*cl_v;
	int		 cl_n;
};

/* Bind "host:port" with SO_REUSEADDR, listen(backlog), non-blocking. */
int	net_listen(const char *hostport, int backlog, char *err, size_t errlen);
/* TCP_NODELAY (inherited by accepted sockets when set on a listener). */
void	net_nodelay(int fd);
/* Connect non-blocking to "host:port"; -1 on immediate failure. */
int	net_connect(const char *hostport, char *err, size_t errlen);

int	cidr_parse(const char *s, struct cidr *c, char *err, size_t errlen);
int	cidr_list_parse(const struct conf_list *in, struct cidr_list *out,
	    char *err, size_t errlen);
void	cidr_list_free(struct cidr_list *);
int	cidr_match(const struct cidr *c, const struct sockaddr *sa);
/*
 * Net::Server's rule: a client is refused if it matches a deny entry, or
 * if an allow list exists and it matches none of it.
 */
int	cidr_allowed(const struct cidr_list *allow, const struct cidr_list *deny,
	    const struct sockaddr *sa);
void	sockaddr_str(const struct sockaddr *sa, char *buf, size_t len);

#endif
