/*
 * iana_reply.c — read a whois.iana.org reply for a TLD: its whois server,
 * no port-43 service, or no such TLD.  Kept apart from iana.c's look-up
 * (sessions, the cache) so unit tests and the fuzz target link it alone.
 */
#include <string.h>
#include <strings.h>

#include "common/name.h"
#include "daemons/query/query.h"

enum iana_reply
iana_reply_parse(const char *reply, size_t len, char *host, size_t hostlen)
{
	const char	*p = reply, *end = reply + len, *eol, *v;
	char		 val[NAME_ACE_BUF + 64];
	size_t		 n;
	int		 domain = 0, zero = 0, whois = 0, port;

	if (host != NULL && hostlen > 0)
		host[0] = '\0';
	val[0] = '\0';
	for (; p < end; p = eol + 1) {
		if ((eol = memchr(p, '\n', (size_t)(end - p))) == NULL)
			eol = end;
		n = (size_t)(eol - p);
		if (n > 0 && p[n - 1] == '\r')
			n--;
		if (n >= 7 && strncasecmp(p, "domain:", 7) == 0)
			domain = 1;
		else if (n >= 30 && memmem(p, n, "returned 0 objects", 18))
			zero = 1;
		else if (n >= 6 && strncasecmp(p, "whois:", 6) == 0 &&
		    !whois) {
			whois = 1;
			for (v = p + 6; v < p + n && (*v == ' ' || *v == '\t');
			    v++)
				;
			n = (size_t)(p + n - v);
			if (n >= sizeof(val))
				return IANA_BAD;
			memcpy(val, v, n);
			val[n] = '\0';
		}
		if (eol == end)
			break;
	}
	if (zero && !domain)
		return IANA_NOTLD;
	if (!domain)
		return IANA_BAD;
	if (val[0] == '\0')
		return IANA_NOWHOIS;
	if (registries_check_host(val, NULL, host, hostlen, &port, NULL,
	    0) == -1 || port != 43)
		return IANA_BAD;
	return IANA_WHOIS;
}
