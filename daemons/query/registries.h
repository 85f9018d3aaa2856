/*
 * registries.h — the registries data file (etc/registries.conf): which
 * server serves a TLD, the query it wants, the patterns that classify its
 * replies, its referral rule and its rate budget.  Nothing per TLD is
 * hard-coded in C; docs/registries.md describes the file.
 *
 * Pure logic, no network: whoisd-query does the talking, the pacing and
 * the IANA cache; this module answers "who, how, and what did it say".
 */
#ifndef WHOISD_REGISTRIES_H
#define WHOISD_REGISTRIES_H

#include <stddef.h>
#include <locale.h>
#include <regex.h>

#include "common/name.h"

/* Pattern kinds, in the order the classifier tries them. */
enum registry_kind {
	RGK_THROTTLE,		/* rate-limited: unknown, retry later */
	RGK_ERROR,		/* registry failure: unknown */
	RGK_AVAILABLE,		/* the only way to "available" */
	RGK_RESERVED,		/* blocked, reserved, not for sale */
	RGK_REGISTERED,		/* evidence of a registration */
	RGK_NKINDS
};

enum registry_charset {
	RGC_UTF8,
	RGC_LATIN1		/* ISO-8859-1, converted to UTF-8 */
};

#define REGISTRY_PATTERNS_MAX	16	/* per kind, per registry */
#define REGISTRY_QUERY_MAX	512	/* a built query line, CRLF included */
#define REGISTRY_REF_PORTS_MAX	8	/* referral_port values */
#define REGISTRY_QUOTA_MAX	1024	/* quota N: at most this */
#define REGISTRY_CHANNELS_MAX	2

/* The channels a registry may be asked through. */
enum registry_channel {
	RCH_WHOIS = 1,
	RCH_RDAP = 2
};

struct registry_pattern {
	regex_t		 rp_re;
	char		*rp_src;	/* the pattern as written */
	int		 rp_line;	/* line in the file */
	regex_t		 rp_re8;	/* the same, in the UTF-8 locale */
	int		 rp_has8;	/* 0: not compiled yet; -1: failed */
	char		*rp_src8;	/* what rp_re8 is compiled from */
	int		 rp_cflags;
};

/*
 * Each pattern is compiled twice: in the C locale, and (on first use) in
 * a UTF-8 locale where an accented letter is one character (".",
 * brackets, icase).  A reply of ASCII alone matches the same either way
 * and is run on the first, since glibc's matcher is 3-6x faster there;
 * any other on the second.
 */
int	 registry_regcomp(struct registry_pattern *, const char *src,
	    int cflags);
void	 registry_regfree(struct registry_pattern *);
/* utf8: text has a byte beyond ASCII (registry_text_utf8()). */
int	 registry_regexec(const struct registry_pattern *, const char *text,
	    int utf8, size_t nmatch, regmatch_t *);
int	 registry_text_utf8(const char *text);
/* The same on text[so, eo) only (REG_STARTEND); m[0]: offsets in text. */
int	 registry_regexec_line(const struct registry_pattern *, const char *text,
	    size_t so, size_t eo, int utf8, regmatch_t *m);
/* The UTF-8 locale for such patterns; (locale_t)0 when there is none. */
locale_t registry_utf8_locale(void);

struct registry {
	char		*rg_name;	/* block name: "verisign", "default" */
	char		*rg_server;	/* NULL for no-whois and default */
	int		 rg_port;	/* 43 */
	char		*rg_query;	/* format with one %s: "domain %s" */
	enum registry_charset rg_charset;
	int		 rg_nowhois;	/* no port-43 service: never ask */
	int		 rg_dns_off;	/* "dns no": no DNS pre-check */
	int		 rg_line;	/* line of the "registry" key */
	struct registry_pattern rg_pats[RGK_NKINDS][REGISTRY_PATTERNS_MAX];
	int		 rg_npats[RGK_NKINDS];
	/*
	 * Bits 1 << RGK_RESERVED, 1 << RGK_REGISTERED: kinds whose match
	 * does not veto an available match ("available_despite").
	 */
	int		 rg_avail_despite;
	struct registry_pattern rg_retry[REGISTRY_PATTERNS_MAX];
	int		 rg_nretry;
	struct registry_pattern rg_referral;	/* group 1: the server */
	int		 rg_has_referral;
	/* Ports a referral may name; none listed: 43 only. */
	int		 rg_ref_ports[REGISTRY_REF_PORTS_MAX];
	int		 rg_nref_ports;
	unsigned int	 rg_rate_n;	/* budget: rg_rate_n queries ... */
	unsigned int	 rg_rate_per;	/* ... per rg_rate_per seconds */
	int		 rg_rate_set;	/* 0: the cautious default 1/s */
	unsigned int	 rg_quota_n;	/* quota: rg_quota_n queries in any */
	unsigned int	 rg_quota_per;	/* window of this many s; 0: none */
	/* RDAP: its base URL (NULL: the bootstrap file's), whether its 404
	 * means "not registered" (the gTLD profile), its own budget. */
	char		*rg_rdap;
	int		 rg_rdap_404;
	unsigned int	 rg_rdap_rate_n;
	unsigned int	 rg_rdap_rate_per;
	int		 rg_rdap_rate_set;
	/* "channels": the order to try them; none given: see registry_channels(). */
	int		 rg_chan[REGISTRY_CHANNELS_MAX];
	int		 rg_nchan;
};

/* Opaque: the loaded file. */
struct registries;

struct registry_match {
	const struct registry *rm_reg;	/* NULL: no entry, ask IANA */
	char		 rm_suffix[NAME_ACE_BUF];	/* "co.uk" (or the TLD) */
	char		 rm_registrable[NAME_ACE_BUF];	/* "example.co.uk" */
	int		 rm_below;	/* 1: the query was below it (www.) */
};

/*
 * Load and validate a file (or text).  NULL with err filled as
 * "file:line: message" on any problem.  Reload = load a new one and swap
 * it in on success; the old one stays valid until freed.
 */
struct registries *registries_load(const char *path, char *err, size_t errlen);
struct registries *registries_parse(const char *text, size_t len,
	    const char *fname, char *err, size_t errlen);
void	 registries_free(struct registries *);

/* Every registry block, default included, for per-registry state. */
size_t	 registries_count(const struct registries *);
const struct registry *registries_get(const struct registries *, size_t i);
const struct registry *registries_find(const struct registries *,
	    const char *name);

/* The i-th suffix of the file (sorted), and its registry; NULL past the end. */
const char *registries_suffix(const struct registries *, size_t i,
	    const struct registry **rg);

/* Rules for a TLD found via IANA; NULL if the file has no default block. */
const struct registry *registries_default(const struct registries *);

/* The IANA server ("iana" key, default whois.iana.org:43). */
const char *registries_iana_server(const struct registries *, int *port);

/*
 * Longest-suffix match of a lower-case A-label name (name_normalise()
 * output).  0: entry found (m->rm_reg set); 1: no entry (m->rm_reg NULL,
 * rm_suffix is the TLD, rm_registrable its last two labels); -1: the name
 * has no label of its own left of the suffix ("co.uk", "uk").
 */
int	 registries_lookup(const struct registries *, const char *ace,
	    struct registry_match *m);

/* The query line for ace: "domain example.com\r\n".  Length, or -1. */
int	 registry_query(const struct registry *, const char *ace, char *buf,
	    size_t buflen);

/* Budget in queries per second (the default 1/s if the file says none). */
double	 registry_rate(const struct registry *);
/* The RDAP budget: rdap_rate, else the whois one. */
double	 registry_rdap_rate(const struct registry *);
/*
 * The channels to try, in order, into out[REGISTRY_CHANNELS_MAX]; has_rdap
 * says an RDAP base URL is known (the block's or the bootstrap file's).
 * Without a "channels" key: RDAP first when the block names its own rdap
 * URL, else whois then RDAP.  Returns how many.
 */
int	 registry_channels(const struct registry *, int has_rdap, int *out);

/*
 * Retry-after seconds in a reply (normalised UTF-8 text, see
 * classify_text()), from the registry's retry_after patterns: group 1 is
 * the figure.  Clamped to 1..86400; -1 if none is found.
 */
int	 registry_retry_after(const struct registry *, const char *text);

/*
 * The registrar referral in a reply: 0 with host and *port filled (port
 * 43 unless the value says otherwise), -1 with err filled if the registry
 * has no referral rule, the reply has none, the value is refused by
 * registries_check_host(), or it names a port other than 43 that the
 * block's referral_port does not list.  The verdict never comes from the
 * referral: follow it once, for the text only.
 */
int	 registry_referral(const struct registry *, const char *text,
	    const char *server, char *host, size_t hostlen, int *port,
	    char *err, size_t errlen);

/*
 * Validate a referral value: "whois.example.com", "whois.example.com:43",
 * "http://whois.example.com/", "[2001:db8::1]:43".  Refuses (-1, err
 * filled): empty, malformed, the same host as server (case-insensitive;
 * server may be NULL), IP literals in loopback, private, link-local,
 * CGNAT, multicast or reserved ranges, numeric forms like "127.1", and
 * local names (localhost, *.localhost, *.local, *.internal, *.lan,
 * *.home.arpa, single labels).  DNS resolution checks are the caller's.
 */
int	 registries_check_host(const char *value, const char *server,
	    char *host, size_t hostlen, int *port, char *err, size_t errlen);

const char *registry_kind_name(enum registry_kind);

#endif
