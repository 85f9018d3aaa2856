/*
 * fuzz_classify.c — libFuzzer target for the classifier.
 *
 * Input: byte 0 picks a registry of etc/registries.conf (or the file in
 * $WHOISD_REGISTRIES), byte 1 the transport outcome, the rest is the
 * reply.  Besides memory errors it checks the one invariant that matters:
 * "available" only from a completed reply, with no throttle or error
 * line, through an available pattern, and with no reserved or registered
 * line unless the registry's available_despite names that kind.  Build
 * and run: make fuzz.
 */
#include <regex.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemons/query/registries.h"
#include "daemons/query/classify.h"
#include "tests/fuzz/fuzz.h"

static struct registries *regs;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char	*path = getenv("WHOISD_REGISTRIES");
	char		 err[512];

	(void)argc;
	(void)argv;
	if (path == NULL)
		path = "etc/registries.conf";
	(void)classify_init();
	if ((regs = registries_load(path, err, sizeof(err))) == NULL) {
		fprintf(stderr, "fuzz_classify: %s\n", err);
		exit(1);
	}
	return 0;
}

/* Each line of text without its trailing blanks, and its leading ones. */
static char *
trim(const char *text, int leading)
{
	char		*out = malloc(strlen(text) + 1), *w = out;
	const char	*b = text, *e, *f;

	if (out == NULL)
		abort();
	for (;;) {
		e = strchr(b, '\n');
		if (e == NULL)
			e = b + strlen(b);
		while (leading && b < e && (*b == ' ' || *b == '\t' ||
		    *b == '\v' || *b == '\f'))
			b++;
		f = e;
		while (f > b && (f[-1] == ' ' || f[-1] == '\t' ||
		    f[-1] == '\v' || f[-1] == '\f'))
			f--;
		memcpy(w, b, (size_t)(f - b));
		w += f - b;
		if (*e == '\0')
			break;
		*w++ = '\n';
		b = e + 1;
	}
	*w = '\0';
	return out;
}

/* A pattern of kind k matches the text as the classifier reads it. */
static int
any_match(const struct registry *rg, enum registry_kind k, const char *text)
{
	char	*t[3];
	int	 i, j, found = 0;

	t[0] = (char *)(uintptr_t)text;
	t[1] = trim(text, 0);
	t[2] = trim(text, 1);
	for (i = 0; i < rg->rg_npats[k] && !found; i++)
		for (j = 0; j < 3 && !found; j++)
			if (regexec(&rg->rg_pats[k][i].rp_re, t[j], 0, NULL,
			    0) == 0)
				found = 1;
	free(t[1]);
	free(t[2]);
	return found;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct registry	*rg;
	struct verdict		 v;
	char			*text, host[256], err[256];
	size_t			 n;
	int			 port, tr;

	if (size < 2)
		return 0;
	rg = registries_get(regs, data[0] % registries_count(regs));
	tr = data[1] % 6;
	classify(rg, (const char *)data + 2, size - 2, tr, &v);
	if (strlen(v.vd_matched) >= sizeof(v.vd_matched) ||
	    strlen(v.vd_rule) >= sizeof(v.vd_rule) || v.vd_reason == NULL)
		abort();
	text = classify_text(rg, (const char *)data + 2, size - 2, &n);
	if (text == NULL || strlen(text) > n)
		abort();
	if (v.vd_status == AS_AVAILABLE) {
		if (tr != CLT_OK || rg->rg_nowhois ||
		    any_match(rg, RGK_THROTTLE, text) ||
		    any_match(rg, RGK_ERROR, text) ||
		    !any_match(rg, RGK_AVAILABLE, text) ||
		    strstr(v.vd_rule, ":available") == NULL ||
		    strcmp(rg->rg_name, "default") == 0)
			abort();
		if ((!(rg->rg_avail_despite & (1 << RGK_RESERVED)) &&
		    any_match(rg, RGK_RESERVED, text)) ||
		    (!(rg->rg_avail_despite & (1 << RGK_REGISTERED)) &&
		    any_match(rg, RGK_REGISTERED, text)))
			abort();
	}
	/* A conflict is only ever an available line beside another. */
	if (strcmp(v.vd_reason, "conflicting-reply") == 0 &&
	    (v.vd_status != AS_UNKNOWN || !any_match(rg, RGK_AVAILABLE, text)))
		abort();
	if (v.vd_status == AS_UNKNOWN && v.vd_reason[0] == '\0')
		abort();
	(void)registry_retry_after(rg, text);
	(void)registry_referral(rg, text, NULL, host, sizeof(host), &port, err,
	    sizeof(err));
	free(text);
	return 0;
}
