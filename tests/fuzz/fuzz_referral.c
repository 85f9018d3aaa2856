/*
 * fuzz_referral.c — libFuzzer target for the referral extraction of
 * daemons/query/registries.h: registry_referral() on a registry's reply,
 * registries_check_host() on a bare value and iana_reply_parse() on
 * an IANA reply.  All three read what a remote whois server sent, and
 * the host they accept is the next one whoisd-query connects to.
 *
 * Input: byte 0, bits 0-1 pick the entry point (0 referral from a reply,
 * through a registry of etc/registries.conf or $WHOISD_REGISTRIES that has
 * a referral rule, picked by bits 2-7; 1 a value with no server; 2 a value
 * with a server to refuse; 3 an IANA reply); the rest is the text.
 * Besides memory safety it checks that an accepted host is lower-case, is
 * a bare host (no scheme, port, path, user info, brackets or blanks), is
 * not the asking server nor a loopback, private or local name, fits the
 * buffer, and is accepted again as itself (the check is idempotent); and
 * that a referral from a reply names port 43 or one its block lists.
 */
#include <arpa/inet.h>

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "daemons/query/classify.h"
#include "daemons/query/registries.h"
#include "daemons/query/query.h"
#include "tests/fuzz/fuzz.h"

#define FZ_SERVER	"whois.example.com"

static struct registries	*regs;
static const struct registry	*withref[64];
static size_t			 nwithref;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const struct registry	*rg;
	const char		*path = getenv("WHOISD_REGISTRIES");
	char			 err[512];
	size_t			 i;

	(void)argc;
	(void)argv;
	if (path == NULL)
		path = "etc/registries.conf";
	if ((regs = registries_load(path, err, sizeof(err))) == NULL) {
		fprintf(stderr, "fuzz_referral: %s\n", err);
		exit(1);
	}
	for (i = 0; (rg = registries_get(regs, i)) != NULL &&
	    nwithref < sizeof(withref) / sizeof(withref[0]); i++)
		if (rg->rg_has_referral)
			withref[nwithref++] = rg;
	if (nwithref == 0) {
		fprintf(stderr, "fuzz_referral: %s: no referral rule\n", path);
		exit(1);
	}
	return 0;
}

/* The host whoisd-query would connect to next: never a local one. */
static void
check_host(const char *host, const char *server, int port)
{
	struct in_addr	 a4;
	struct in6_addr	 a6;
	char		 again[256], err[256];
	const char	*c;
	size_t		 n;
	int		 port2;

	if (host[0] == '\0' || strlen(host) >= sizeof(again) ||
	    port < 1 || port > 65535 ||
	    strpbrk(host, "/?#@[] \t") != NULL ||
	    (strchr(host, ':') != NULL && inet_pton(AF_INET6, host, &a6) != 1))
		abort();
	for (c = host; *c != '\0'; c++)
		if (isupper((unsigned char)*c))
			abort();
	if (server != NULL && strcasecmp(host, server) == 0)
		abort();
	n = strlen(host);
	if (strcmp(host, "localhost") == 0 ||
	    (n > 6 && strcmp(host + n - 6, ".local") == 0))
		abort();
	if (inet_pton(AF_INET, host, &a4) == 1) {
		uint32_t ip = ntohl(a4.s_addr);

		if ((ip >> 24) == 127 || (ip >> 24) == 10 || (ip >> 24) == 0 ||
		    (ip >> 16) == (192u << 8 | 168))
			abort();
	}
	if (inet_pton(AF_INET6, host, &a6) == 1 &&
	    (IN6_IS_ADDR_LOOPBACK(&a6) || IN6_IS_ADDR_LINKLOCAL(&a6) ||
	    IN6_IS_ADDR_UNSPECIFIED(&a6)))
		abort();
	if (registries_check_host(host, server, again, sizeof(again), &port2,
	    err, sizeof(err)) != 0 || strcmp(again, host) != 0 || port2 != 43)
		abort();
}

/* whois is port 43, unless the block lists another. */
static int
referral_port_ok(const struct registry *rg, int port)
{
	int	 i;

	if (port == 43)
		return 1;
	for (i = 0; i < rg->rg_nref_ports; i++)
		if (rg->rg_ref_ports[i] == port)
			return 1;
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct registry	*rg;
	const char		*server;
	char			*text, host[256], err[256];
	size_t			 n;
	int			 port, r;

	if (size < 1)
		return 0;
	host[0] = '\0';
	err[0] = '\0';
	switch (data[0] & 3) {
	case 0:
		/* As the query daemon does: normalised text, then the rule. */
		rg = withref[(data[0] >> 2) % nwithref];
		if ((text = classify_text(rg, (const char *)data + 1, size - 1,
		    &n)) == NULL)
			return 0;
		r = registry_referral(rg, text, NULL, host, sizeof(host), &port,
		    err, sizeof(err));
		if (r == 0) {
			check_host(host, rg->rg_server, port);
			if (!referral_port_ok(rg, port))
				abort();
		} else if (err[0] == '\0')
			abort();
		free(text);
		return 0;
	case 1:
	case 2:
		server = (data[0] & 3) == 2 ? FZ_SERVER : NULL;
		if ((text = malloc(size)) == NULL)
			return 0;
		memcpy(text, data + 1, size - 1);
		text[size - 1] = '\0';
		r = registries_check_host(text, server, host, sizeof(host),
		    &port, err, sizeof(err));
		if (r == 0)
			check_host(host, server, port);
		else if (r != -1 || err[0] == '\0' || host[0] != '\0')
			abort();
		free(text);
		return 0;
	default:
		r = iana_reply_parse((const char *)data + 1, size - 1,
		    host, sizeof(host));
		if (r == IANA_WHOIS)
			check_host(host, NULL, 43);
		else if (r != IANA_NOWHOIS && r != IANA_NOTLD && r != IANA_BAD)
			abort();	/* host is only read for IANA_WHOIS */
		return 0;
	}
}
