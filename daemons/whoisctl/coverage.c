/*
 * coverage.c — `whoisctl registries --coverage [--list]
 * [--registries=FILE] [--tld_whois=FILE]`; the files default to those of
 * the installed configs (--config_dir).
 *
 * Every TLD of the TLD table (etc/tld-whois.conf, the root zone) is put in
 * one class:
 *   verified   its registries block has an available pattern on a whois
 *              server, or "rdap_404 available" and an RDAP service;
 *   route      a whois server or an RDAP service, but no verified rule:
 *              registered or unknown at best, never available;
 *   none       no public channel: unknown, always.
 * The registries file is read through common/regfile.c only: its patterns
 * are whoisd-query's to compile, here it is enough that a block has one.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/regfile.h"
#include "common/tldtab.h"
#include "daemons/whoisctl/coverage.h"
#include "daemons/whoisctl/whoisctl.h"

#define CV_BLOCKS_MAX	1024
#define CV_TLDS_MAX	4096

/* What a registries block says about its channels. */
struct cv_block {
	int	 cb_server;	/* a whois server */
	int	 cb_nowhois;
	int	 cb_available;	/* available patterns */
	int	 cb_rdap_url;	/* its own RDAP base URL */
	int	 cb_rdap_404;	/* "rdap_404 available" */
};

struct cv_tld {
	char	*ct_tld;
	int	 ct_block;
};

struct cv_parser {
	struct regfile	 p_rf;
	struct cv_block	 p_blocks[CV_BLOCKS_MAX];
	int		 p_nblocks;
	int		 p_cur;		/* -1: none, or the default block */
	struct cv_tld	 p_tlds[CV_TLDS_MAX];
	int		 p_ntlds;
};

static int
cv_line(void *arg, char **tok, int n)
{
	struct cv_parser	*p = arg;
	struct cv_block		*b;
	int			 i;

	if (strcmp(tok[0], "registry") == 0) {
		if (n > 1 && strcmp(tok[1], "default") == 0) {
			p->p_cur = -1;
			return 0;
		}
		if (p->p_nblocks == CV_BLOCKS_MAX)
			return regfile_error(&p->p_rf, p->p_rf.rf_line,
			    "too many registry blocks");
		p->p_cur = p->p_nblocks++;
		memset(&p->p_blocks[p->p_cur], 0, sizeof(struct cv_block));
		return 0;
	}
	if (p->p_cur < 0)
		return 0;
	b = &p->p_blocks[p->p_cur];
	if (strcmp(tok[0], "server") == 0)
		b->cb_server = 1;
	else if (strcmp(tok[0], "no-whois") == 0)
		b->cb_nowhois = 1;
	else if (strcmp(tok[0], "available") == 0)
		b->cb_available++;
	else if (strcmp(tok[0], "rdap") == 0)
		b->cb_rdap_url = 1;
	else if (strcmp(tok[0], "rdap_404") == 0)
		b->cb_rdap_404 = n > 1 && strcmp(tok[1], "available") == 0;
	else if (strcmp(tok[0], "tld") == 0) {
		for (i = 1; i < n; i++) {
			/* Second-level suffixes route under their TLD. */
			if (strchr(tok[i], '.') != NULL)
				continue;
			if (p->p_ntlds == CV_TLDS_MAX)
				return regfile_error(&p->p_rf, p->p_rf.rf_line,
				    "too many tlds");
			p->p_tlds[p->p_ntlds].ct_tld = strdup(tok[i]);
			p->p_tlds[p->p_ntlds].ct_block = p->p_cur;
			if (p->p_tlds[p->p_ntlds].ct_tld == NULL)
				return regfile_error(&p->p_rf, p->p_rf.rf_line,
				    "out of memory");
			p->p_ntlds++;
		}
	}
	return 0;
}

static const struct cv_block *
cv_block_of(const struct cv_parser *p, const char *tld)
{
	int	 i;

	for (i = 0; i < p->p_ntlds; i++)
		if (strcmp(p->p_tlds[i].ct_tld, tld) == 0)
			return &p->p_blocks[p->p_tlds[i].ct_block];
	return NULL;
}

static void
cv_usage(void)
{
	fprintf(stderr, "usage: whoisctl registries --coverage [--list] "
	    "[--registries=FILE] [--tld_whois=FILE]\n");
}

int
cmd_registries(int argc, char **argv)
{
	/* The installed configs' files, as whoisctl's other commands. */
	const char		*regs = ctl.co_registries;
	const char		*tabpath = ctl.co_tld_whois;
	const struct tldtab_entry *te;
	const struct cv_block	*b;
	struct cv_parser	*p;
	struct tldtab		*tt;
	char			 err[512];
	size_t			 i;
	int			 a, coverage = 0, list = 0, whois, rdap;
	int			 n_ver = 0, n_ver_whois = 0, n_ver_rdap = 0;
	int			 n_route = 0, n_route_whois = 0, n_route_rdap = 0;
	int			 n_route_both = 0, n_none = 0, n_block = 0;
	const char		*cls;

	for (a = 1; a < argc; a++) {
		if (strcmp(argv[a], "--coverage") == 0)
			coverage = 1;
		else if (strcmp(argv[a], "--list") == 0)
			list = 1;
		else if (strncmp(argv[a], "--registries=", 13) == 0)
			regs = argv[a] + 13;
		else if (strncmp(argv[a], "--tld_whois=", 12) == 0)
			tabpath = argv[a] + 12;
		else {
			cv_usage();
			return 2;
		}
	}
	if (!coverage) {
		cv_usage();
		return 2;
	}
	if ((tt = tldtab_load(tabpath, err, sizeof(err))) == NULL) {
		fprintf(stderr, "whoisctl: %s\n", err);
		return 1;
	}
	if ((p = calloc(1, sizeof(*p))) == NULL) {
		tldtab_free(tt);
		fprintf(stderr, "whoisctl: out of memory\n");
		return 1;
	}
	p->p_cur = -1;
	regfile_init(&p->p_rf, regs, err, sizeof(err));
	if (regfile_parse(&p->p_rf, regs, NULL, 0, cv_line, p) == -1) {
		fprintf(stderr, "whoisctl: %s\n", err);
		a = 1;
		goto done;
	}
	for (i = 0; (te = tldtab_get(tt, i)) != NULL; i++) {
		b = cv_block_of(p, te->te_tld);
		n_block += b != NULL;
		/* A block decides whois; the table (or the block) RDAP. */
		whois = b != NULL ? b->cb_server && !b->cb_nowhois :
		    te->te_whois != NULL;
		rdap = te->te_rdap || (b != NULL && b->cb_rdap_url);
		if (b != NULL && ((whois && b->cb_available > 0) ||
		    (rdap && b->cb_rdap_404))) {
			cls = "verified";
			n_ver++;
			n_ver_whois += whois && b->cb_available > 0;
			n_ver_rdap += rdap && b->cb_rdap_404;
		} else if (whois || rdap) {
			cls = "route";
			n_route++;
			n_route_whois += whois && !rdap;
			n_route_rdap += rdap && !whois;
			n_route_both += whois && rdap;
		} else {
			cls = "none";
			n_none++;
		}
		if (list)
			printf("%s\t%s\t%s%s%s\n", te->te_tld, cls,
			    whois ? "whois" : "", whois && rdap ? "," : "",
			    rdap ? "rdap" : (whois ? "" : "-"));
	}
	/* A block's TLD outside the root zone is a mistake in a file. */
	for (a = 0; a < p->p_ntlds; a++)
		if (tldtab_find(tt, p->p_tlds[a].ct_tld) == NULL)
			fprintf(stderr, "whoisctl: %s: tld %s is not in %s\n",
			    regs, p->p_tlds[a].ct_tld, tabpath);
	printf("TLDs in the root zone (%s): %zu, %d with a block in %s\n",
	    tabpath, tldtab_count(tt), n_block, regs);
	printf("verified available rule:     %5d  (whois %d, rdap 404 %d)\n",
	    n_ver, n_ver_whois, n_ver_rdap);
	printf("route without one:           %5d  (whois only %d, rdap only "
	    "%d, both %d)\n", n_route, n_route_whois, n_route_rdap,
	    n_route_both);
	printf("no public channel:           %5d\n", n_none);
	a = 0;
done:
	for (i = 0; i < (size_t)p->p_ntlds; i++)
		free(p->p_tlds[i].ct_tld);
	free(p);
	tldtab_free(tt);
	return a;
}
