/*
 * fuzz_rdap_boot.c — libFuzzer target for the RDAP bootstrap reader
 * (RFC 9224 dns.json, daemons/query/rdap_json.c) and the URL built from
 * it.
 *
 * Besides memory safety and leaks it checks that every URL kept is https
 * and that a domain URL built from it fits or is refused.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "daemons/query/rdap.h"
#include "tests/fuzz/fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const sfx[] = { "com", "co.uk", "xn--p1ai", "a.b.c",
	    "" };
	struct rdap_boot	*rb;
	const char		*u;
	char			 err[256], url[RDAP_URL_MAX];
	size_t			 i;

	rb = rdap_boot_parse((const char *)data, size, err, sizeof(err));
	if (rb == NULL)
		return 0;
	for (i = 0; i < sizeof(sfx) / sizeof(sfx[0]); i++) {
		if ((u = rdap_boot_url(rb, sfx[i])) == NULL)
			continue;
		if (strncasecmp(u, "https://", 8) != 0)
			abort();
		if (rdap_url(u, "example.com", url, sizeof(url)) == 0 &&
		    strlen(url) >= sizeof(url))
			abort();
	}
	(void)rdap_boot_publication(rb);
	rdap_boot_free(rb);
	return 0;
}
