/*
 * classify.h — turn a registry's reply into a verdict.
 *
 * Checks run in this order only: transport outcome, throttle, error,
 * available, reserved, registered; anything else is unknown
 * ("unrecognised-reply").  Nothing but a match of the registry's own
 * available pattern yields "available", and not when a reserved or
 * registered pattern matches too ("conflicting-reply") unless the
 * registry's available_despite names that kind.
 */
#ifndef WHOISD_CLASSIFY_H
#define WHOISD_CLASSIFY_H

#include <stddef.h>

#include "proto/msg.h"

struct registry;

/* How the exchange with the registry ended, as seen by the caller. */
enum classify_transport {
	CLT_OK = 0,		/* reply read up to the server's close */
	CLT_TIMEOUT,		/* no complete reply in time */
	CLT_RESET,		/* connection refused, reset or dropped */
	CLT_TRUNCATED,		/* reply cut short (size limit, early EOF) */
	CLT_EMPTY		/* closed without a byte; also derived from len */
};

#define VERDICT_RULE_MAX	96
#define VERDICT_MATCHED_MAX	256

struct verdict {
	enum answer_status vd_status;	/* never AS_INVALID */
	/*
	 * Static string, "" for a decided verdict; for unknown one of
	 * timeout, reset, empty-reply, truncated, rate-limited,
	 * registry-error, conflicting-reply, unrecognised-reply,
	 * not-found-unconfirmed (the default block's available wording),
	 * no-public-channel, internal.
	 */
	const char	*vd_reason;
	char		 vd_rule[VERDICT_RULE_MAX];	/* "denic:available" */
	char		 vd_matched[VERDICT_MATCHED_MAX]; /* the whole line, UTF-8 */
	int		 vd_retry_after;	/* seconds; 0 = none given */
};

/*
 * Make the UTF-8 locale (C.UTF-8 first) in which patterns with accented
 * letters are compiled and run (registry_regcomp), so they match UTF-8
 * replies by character: brackets, ".", and icase.  -1 if no UTF-8 locale
 * exists (such patterns then match bytes; ASCII ones are unaffected).
 */
int	classify_init(void);

/*
 * Classify reply[0..len) (raw bytes from the registry; NUL bytes are
 * tolerated).  transport is an enum classify_transport.  Always fills out;
 * returns its status.
 */
enum answer_status classify(const struct registry *, const char *reply,
	    size_t len, int transport, struct verdict *out);

/*
 * The reply as shown to users and as matched by the patterns: converted
 * from the registry's charset to UTF-8 (invalid bytes and NULs become
 * U+FFFD), CRLF and bare CR turned into LF.  malloc'd and NUL-terminated,
 * *outlen (if not NULL) is its length; NULL only when out of memory.
 * reg may be NULL (UTF-8 assumed).
 */
char	*classify_text(const struct registry *, const char *reply, size_t len,
	    size_t *outlen);

#endif
