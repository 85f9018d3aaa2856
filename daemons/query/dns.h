/*
 * dns.h — the DNS pre-check: is a name delegated in its TLD's zone?
 * Asked of the TLD's authoritative servers (never a recursive resolver),
 * with c-ares on the child's libevent loop.  A delegation proves the
 * name registered; nothing else proves anything, so the pre-check has
 * exactly two outcomes and none of them is "available".
 */
#ifndef WHOISD_QUERY_DNS_H
#define WHOISD_QUERY_DNS_H

#include <stddef.h>

#include "proto/msg.h"

struct event_base;
struct answer;

/*
 * What a pre-check can prove.  There is deliberately no value for a
 * free name: registered names can be undelegated (serverHold, no NS),
 * so an absent name in the zone says nothing and the registry decides.
 */
enum dns_outcome {
	DNS_NOTHING,	/**< no verdict: the registry is asked as before */
	DNS_DELEGATED	/**< NS records for the name: registered */
};

#define DNS_SERVER_LEN	64

struct dns_result {
	enum dns_outcome dr_outcome;
	char		 dr_ns[ANSWER_MATCHED_LEN];	/* "NS a, b" */
	const char	*dr_why;	/* DNS_NOTHING: why, for the log */
	char		 dr_server[DNS_SERVER_LEN];	/* who was asked */
	double		 dr_ms;
};

/*
 * Read a reply to a non-recursive NS query for `name` (lower case, no
 * final dot): DNS_DELEGATED with ns "NS a, b" when the answer or the
 * authority section holds NS records owned by the name itself, else
 * DNS_NOTHING with *why.  A referral to a zone above the name (a lame
 * server's upward referral, a TLD's second-level zone) is not one.
 */
enum dns_outcome dns_parse(const unsigned char *buf, size_t len,
	    const char *name, char *ns, size_t nslen, const char **why);

/*
 * The answer of a delegation: registered, channel dns, rule
 * ANSWER_RULE_DNS, the NS names as matched.  The only way a pre-check
 * becomes an answer, and it has no status to choose.
 */
void	 dns_answer(struct answer *, const struct dns_result *);

/* The servers file: "TLD ip ip ..." lines.  0, or -1 with err. */
struct dns_hints;
struct dns_hints *dns_hints_load(const char *path, char *err, size_t errlen);
void	 dns_hints_free(struct dns_hints *);
/* The servers of `suffix` or of the nearest parent listed; NULL: none. */
const char *dns_hints_find(const struct dns_hints *, const char *suffix,
	    const char **zone);

/* Master: the shared per-server rate table (before forking). */
int	 dns_master_init(void);
/* Child: c-ares on this loop, the servers file; 0, or -1 (pre-check off). */
int	 dns_init(struct event_base *);
void	 dns_fini(void);

struct dns_check;
typedef void (*dns_done_cb)(const struct dns_result *, void *arg);
/*
 * Ask whether `name` (registrable, A-label) is delegated under `suffix`.
 * 0: asked, cb runs once unless dns_cancel(); -1: not asked (no servers
 * for the suffix, over the rate, pre-check off), *why says which.
 */
int	 dns_check(const char *name, const char *suffix, dns_done_cb cb,
	    void *arg, struct dns_check **cp, const char **why);
void	 dns_cancel(struct dns_check *);

#endif
