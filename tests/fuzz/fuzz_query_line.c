/*
 * fuzz_query_line.c — libFuzzer target for the whois port's query line
 * (daemons/whoisd/query_line.c) and what the front does with the line:
 * the checks of lookup_start(), name_normalise() (libidn2) and the
 * registrable name under the suffixes of etc/registries.conf (or the
 * file in $WHOISD_REGISTRIES).
 *
 * Input: what a client sends on one connection.  It is read as whois.c
 * reads it (at most max_query_len + 2 bytes, then EOF), whole, in random
 * pieces and a byte at a time, with the default max_query_len and a
 * small one: the verdict and the line must not depend on how the bytes
 * arrived.  A line is never longer than the limit and holds no control
 * byte.  A name accepted must be a valid A-label name (lower case LDH
 * labels of 1 to 63 octets, at most 253 in all, two labels or more, no
 * numeric TLD), normalise to itself, come back from its display form,
 * and have a registrable name that ends it on a label boundary.  Build
 * and run: make fuzz.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/name.h"
#include "common/pslist.h"
#include "common/suffix.h"
#include "daemons/whoisd/query_line.h"
#include "tests/fuzz/fuzz.h"

#define FQ_MAX_DEFAULT	1024	/* max_query_len's default */
#define FQ_MAX_SMALL	24	/* reaches its edges in short inputs */

static struct suffixes	*sfx;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char	*path = getenv("WHOISD_REGISTRIES");
	char		 err[512];

	(void)argc;
	(void)argv;
	if (path == NULL)
		path = "etc/registries.conf";
	if ((sfx = suffix_load(path, err, sizeof(err))) == NULL) {
		fprintf(stderr, "fuzz_query_line: %s\n", err);
		exit(1);
	}
	/* The front's registrable names: the Public Suffix List's. */
	if (pslist_load(PSLIST_DEFAULT, err, sizeof(err)) == -1) {
		fprintf(stderr, "fuzz_query_line: %s\n", err);
		exit(1);
	}
	return 0;
}

struct fq_result {
	enum query_line	 fr_kind;
	size_t		 fr_len;	/* QL_LINE: the line's length */
	size_t		 fr_read;	/* bytes read when it was decided */
};

static uint64_t
fq_rand(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/*
 * whois_accept() and whois_read_cb(): read into a buffer of max + 2 until
 * query_line() decides; EOF when the input is all read.  mode 0: as much
 * as fits per read, 1: random pieces, 2: a byte at a time.
 */
static void
fq_read(const uint8_t *data, size_t size, size_t max, int mode,
    uint64_t seed, char *buf, struct fq_result *fr)
{
	size_t	cap = max + 2, len = 0, n;
	int	extra = 0, eof;

	for (;;) {
		n = size - len;
		if (mode == 2 && n > 1)
			n = 1;
		else if (mode == 1 && n > 1)
			n = 1 + fq_rand(&seed) % (n < 40 ? n : 40);
		if (n > cap - len)
			n = cap - len;
		memcpy(buf + len, data + len, n);
		len += n;
		/* A read of 0 bytes is EOF: only once everything is read. */
		eof = n == 0;
		fr->fr_len = 0;
		fr->fr_kind = query_line(buf, len, eof, max, &fr->fr_len,
		    &extra);
		if (fr->fr_kind != QL_MORE)
			break;
		if (eof)
			abort();	/* EOF always decides */
	}
	fr->fr_read = len;
	if (extra && memchr(buf, '\n', len) == NULL)
		abort();
}

static void
fq_check_ace(const char *ace)
{
	const char	*lab, *end;
	size_t		 len, i, labels = 0;
	int		 numeric = 1;

	if (strlen(ace) == 0 || strlen(ace) > NAME_ACE_MAX)
		abort();
	for (lab = ace;; lab = end + 1) {
		end = strchr(lab, '.');
		len = end != NULL ? (size_t)(end - lab) : strlen(lab);
		if (len == 0 || len > NAME_LABEL_MAX || lab[0] == '-' ||
		    lab[len - 1] == '-')
			abort();
		numeric = 1;
		for (i = 0; i < len; i++) {
			if (!((lab[i] >= 'a' && lab[i] <= 'z') ||
			    (lab[i] >= '0' && lab[i] <= '9') || lab[i] == '-'))
				abort();
			if (lab[i] < '0' || lab[i] > '9')
				numeric = 0;
		}
		labels++;
		if (end == NULL)
			break;
	}
	if (labels < 2 || numeric)
		abort();
}

/* What lookup_start() does with the line before the memo and cache. */
static void
fq_name(const char *line, size_t len)
{
	struct suffix_match	 m;
	char			 buf[NAME_INPUT_MAX + 1], ace[NAME_ACE_BUF];
	char			 again[NAME_ACE_BUF], why[NAME_REASON_BUF];
	char			 disp[NAME_DISPLAY_BUF];
	size_t			 rl, sl;
	int			 rc;

	if (len > NAME_INPUT_MAX || memchr(line, '\0', len) != NULL)
		return;			/* refused there */
	memcpy(buf, line, len);
	buf[len] = '\0';
	if (name_normalise(buf, ace, sizeof(ace), why, sizeof(why)) == -1) {
		if (why[0] == '\0' || strlen(why) >= sizeof(why))
			abort();
		return;
	}
	fq_check_ace(ace);
	if (name_normalise(ace, again, sizeof(again), why, sizeof(why)) != 0 ||
	    strcmp(ace, again) != 0)
		abort();		/* not idempotent */
	if (name_to_display(ace, disp, sizeof(disp)) != 0 ||
	    name_normalise(disp, again, sizeof(again), why, sizeof(why)) != 0 ||
	    strcmp(ace, again) != 0)
		abort();		/* the display form is another name */
	rc = suffix_lookup(sfx, ace, &m);
	if (rc < -1 || rc > 1)
		abort();
	if (rc == -1)
		return;
	rl = strlen(m.sm_registrable);
	sl = strlen(m.sm_suffix);
	if (rl > strlen(ace) || strcmp(ace + strlen(ace) - rl,
	    m.sm_registrable) != 0 || (rl < strlen(ace) &&
	    ace[strlen(ace) - rl - 1] != '.'))
		abort();
	if (sl + 2 > rl || strcmp(m.sm_registrable + rl - sl,
	    m.sm_suffix) != 0 || m.sm_registrable[rl - sl - 1] != '.' ||
	    name_labels(m.sm_registrable) < name_labels(m.sm_suffix) + 1)
		abort();
	/* The list's answer, and a public suffix is never registrable. */
	if (pslist_registrable(ace) != ace + strlen(ace) - rl ||
	    pslist_registrable(m.sm_registrable) != m.sm_registrable)
		abort();
	if (m.sm_below != (rl < strlen(ace)))
		abort();
}

static void
fq_run(const uint8_t *data, size_t size, size_t max, uint64_t seed)
{
	struct fq_result	 whole, piece;
	char			*wbuf, *pbuf;
	size_t			 i;

	if ((wbuf = malloc(max + 2)) == NULL ||
	    (pbuf = malloc(max + 2)) == NULL)
		abort();
	fq_read(data, size, max, 0, seed, wbuf, &whole);
	for (i = 1; i <= 2; i++) {
		if (i == 2 && size > 4 * max)
			break;
		fq_read(data, size, max, (int)i, seed, pbuf, &piece);
		if (piece.fr_kind != whole.fr_kind ||
		    piece.fr_len != whole.fr_len)
			abort();	/* it depends on the pieces */
	}
	if (whole.fr_kind == QL_LINE) {
		if (whole.fr_len > max)
			abort();
		for (i = 0; i < whole.fr_len; i++)
			if ((unsigned char)wbuf[i] < 0x20 || wbuf[i] == 0x7f)
				abort();
		fq_name(wbuf, whole.fr_len);
	}
	free(wbuf);
	free(pbuf);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint64_t	seed = 0xcbf29ce484222325ULL;
	size_t		i;

	for (i = 0; i < size; i++)
		seed = (seed ^ data[i]) * 0x100000001b3ULL;
	seed |= 1;
	fq_run(data, size, FQ_MAX_DEFAULT, seed);
	fq_run(data, size, FQ_MAX_SMALL, seed);
	return 0;
}
