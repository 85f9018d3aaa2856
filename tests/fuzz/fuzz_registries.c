/*
 * fuzz_registries.c — libFuzzer target for the registries-file parser,
 * and for the other parsers that read untrusted text: referral values,
 * IANA replies and query names (fuzz_referral.c goes deeper into the
 * first two).
 *
 * Input: the file's bytes; then the same bytes as a referral value, an
 * IANA reply and a query name.  Besides memory safety and leaks it checks
 * that every refusal names file and line, that every suffix of an
 * accepted file looks up to its own registry and gets a query line, and
 * that a normalised name fits NAME_ACE_MAX.  Build and run: make fuzz.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/name.h"
#include "daemons/query/query.h"
#include "daemons/query/registries.h"
#include "tests/fuzz/fuzz.h"

/*
 * glibc's regcomp() makes thousands of small allocations per pattern, and
 * recording each one's call stack was a third of the run time.  Reports
 * still name the bad access; ASAN_OPTIONS=malloc_context_size=30 gives a
 * leak or use-after-free its allocation stack again when replaying it.
 */
const char	*__asan_default_options(void);

const char *
__asan_default_options(void)
{
	return "malloc_context_size=0";
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct registries	*rs;
	struct registry_match	 m;
	const struct registry	*rg;
	char			 err[512], host[256], q[REGISTRY_QUERY_MAX];
	char			 ace[NAME_ACE_BUF], why[NAME_REASON_BUF];
	char			 disp[NAME_DISPLAY_BUF], *s;
	size_t			 i;
	int			 port;

	rs = registries_parse((const char *)data, size, "fuzz", err,
	    sizeof(err));
	if (rs == NULL) {
		if (strncmp(err, "fuzz:", 5) != 0)
			abort();	/* every error names file and line */
	} else {
		for (i = 0; registries_suffix(rs, i, &rg) != NULL; i++) {
			/* A suffix near the length limit has no room for more. */
			if ((size_t)snprintf(ace, sizeof(ace), "www.x.%s",
			    registries_suffix(rs, i, NULL)) > NAME_ACE_MAX)
				continue;
			if (registries_lookup(rs, ace, &m) != 0 ||
			    m.rm_reg != rg)
				abort();
			if (!rg->rg_nowhois &&
			    registry_query(rg, ace, q, sizeof(q)) < 0)
				abort();
		}
		(void)registries_lookup(rs, "a.b.c", &m);
		registries_free(rs);
	}

	/* The same bytes as a referral value, an IANA reply and a name. */
	if ((s = malloc(size + 1)) == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	(void)registries_check_host(s, "whois.example.com", host,
	    sizeof(host), &port, err, sizeof(err));
	(void)iana_reply_parse((const char *)data, size, host, sizeof(host));
	if (name_normalise(s, ace, sizeof(ace), why, sizeof(why)) == 0) {
		if (strlen(ace) > NAME_ACE_MAX)
			abort();
		(void)name_to_display(ace, disp, sizeof(disp));
	}
	free(s);
	return 0;
}
