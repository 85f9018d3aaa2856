/*
 * lookup.c — answer one name: validate, then the cache, then the registry
 * (through whoisd-query), within request_timeout.
 *
 *	LK_CACHE --hit--------------------------------------> answer (cache)
 *	   |  miss (lease granted), expired, or cache down or stalled
 *	   v
 *	LK_QUERY --verdict----------------------------------> answer (registry)
 *	   |  unknown verdict, query daemon down, or deadline
 *	   v
 *	an expired cache entry if there is one ---> answer (stale)
 *	otherwise -----------------------------------------> unknown + reason
 *
 * Coalescing happens twice.  In this child, lookups of one name share one
 * cache get (a flight, below).  In the cache, the first miss for a name
 * gets a lease and asks the registry; later misses for the same name wait
 * inside the cache until whoisd-query puts the answer, then get it as a
 * hit.  Each lookup's own deadline covers every wait, so a client is
 * answered in time whatever the daemons behind us do.
 *
 * The query names the end client (its address) and whether its request
 * is bulk, for whoisd-query's fair share of a registry's slots.  A full
 * lookup (/v1/whois?full=1) wants the registrar's record of a thin
 * registry, which the cache does not keep: a registered answer from the
 * memo or the cache does not serve it, whoisd-query is asked with `full`.
 */
#include <sys/queue.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "common/log.h"
#include "common/name.h"
#include "common/suffix.h"
#include "common/util.h"
#include "daemons/whoisd/whoisd.h"
#include "proto/client.h"

/** Where a lookup is. */
enum lookup_state {
	LK_CACHE,	/**< waiting for whoisd-cache's get_r */
	LK_QUERY,	/**< waiting for whoisd-query's query_r */
	LK_DONE,	/**< answered; freed when the stack unwinds */
};

struct flight;

struct lookup {
	enum lookup_state	 lk_state;
	struct flight		*lk_flight;	/* LK_CACHE: the get it waits on */
	TAILQ_ENTRY(lookup)	 lk_fentry;
	int			 lk_flags;
	lookup_cb		 lk_cb;
	void			*lk_arg;
	char			 lk_asked[ANSWER_DOMAIN_LEN];
	char			 lk_ace[NAME_ACE_BUF];	/* what we check */
	int			 lk_below;	/* asked below lk_ace */
	int			 lk_fd;		/* the client's connection, or -1 */
	struct client		*lk_callc;	/* the pending call's client */
	uint64_t		 lk_call;
	struct event		*lk_deadline;
	double			 lk_start;	/* monotonic */
	int			 lk_leased;	/* holds the name's cache lease */
	double			 lk_max_age;	/* seconds, or -1 */
	/* A stale entry to fall back on, or NULL: on the heap, as most
	 * lookups have none and a child may hold tens of thousands. */
	struct answer		*lk_stale;
};

static struct event_base	*lk_base;
static size_t			 lk_live;	/* lookups under way */
static size_t			 lk_room_at;
static void			(*lk_room_fn)(void);

/*
 * How long the cache trusts an answer of each status, learnt from its
 * hits (expires - checked): a registry's answer carries no expiry (the
 * cache sets it when it stores the answer), and the client is told when
 * the cache will stop trusting it.  Until a hit is seen, the cache's
 * defaults.
 */
static double	lk_ttl[AS_NSTATUS];

static void
lookup_learn_ttl(const struct answer *a)
{
	if (a->a_expires > a->a_checked &&
	    (unsigned)a->a_status < AS_NSTATUS)
		lk_ttl[a->a_status] = a->a_expires - a->a_checked;
}

/* Too old for the lookup's max_age? */
static int
lookup_too_old(const struct lookup *lk, const struct answer *a)
{
	return lk->lk_max_age >= 0 && now_wall() - a->a_checked >
	    lk->lk_max_age;
}

/*
 * Flights: the cache gets under way in this child, one per name and text
 * wish.  A lookup of a name already in flight joins it instead of asking
 * again, so a hot name whose memo entry just expired costs one cache round
 * trip, not one per client asking at that moment.  Only a hit is shared.
 * On a miss the first member goes on with the lease the get was granted,
 * and the others ask again together, in a new flight that the cache parks
 * behind that lease until the answer is put.
 */
#define FLIGHT_BUCKETS	256

struct flight {
	char			 f_ace[NAME_ACE_BUF];
	int			 f_notext;
	int			 f_have_ok;	/* f_have was offered as "if" */
	struct answer		 f_have;	/* the expired memo entry, copied */
	uint64_t		 f_call;
	double			 f_probe_at;	/* monotonic; 0 = not on lk_probes */
	uint64_t		 f_ping;	/* the probe's ping in flight */
	int			 f_landed;	/* reply in hand, members being served */
	TAILQ_HEAD(, lookup)	 f_members;
	LIST_ENTRY(flight)	 f_entry;
	TAILQ_ENTRY(flight)	 f_pentry;	/* on lk_probes */
};

static LIST_HEAD(, flight)	lk_flights[FLIGHT_BUCKETS];

/* The memo entry lent to a callback (it is not evicted meanwhile), and
 * the answer unpacked from it, for lookup_memo_json(). */
static const struct memo	*lk_lent;
static const struct answer	*lk_lent_a;

/*
 * The probes due (cache_timeout: is the cache alive?), earliest first,
 * under one timer.  Every wait is the same cache_timeout / 2 from now, so
 * appending keeps the order, and a flight costs a list insert, not a
 * timer of its own.  The timer may be armed for a flight gone since: it
 * then fires early and is armed again for the head.
 */
static TAILQ_HEAD(, flight)	lk_probes = TAILQ_HEAD_INITIALIZER(lk_probes);
static struct event		*lk_probe_ev;
static int			 lk_probe_armed;

static unsigned
flight_bucket(const char *ace, int notext)
{
	return (str_hash(ace) ^ (uint32_t)notext) % FLIGHT_BUCKETS;
}

static struct flight *
flight_find(const char *ace, int notext)
{
	struct flight	*f;

	LIST_FOREACH(f, &lk_flights[flight_bucket(ace, notext)], f_entry)
		if (f->f_notext == notext && strcmp(f->f_ace, ace) == 0)
			return f;
	return NULL;
}

static void
flight_free(struct flight *f)
{
	if (f->f_ping != 0)
		client_cancel(front_cache(), f->f_ping);
	if (f->f_probe_at != 0)
		TAILQ_REMOVE(&lk_probes, f, f_pentry);
	answer_free(&f->f_have);
	free(f);
}

/* A member leaves before the reply (its client left, its deadline). */
static void
flight_leave(struct lookup *lk)
{
	struct flight	*f = lk->lk_flight;

	TAILQ_REMOVE(&f->f_members, lk, lk_fentry);
	lk->lk_flight = NULL;
	if (TAILQ_EMPTY(&f->f_members) && !f->f_landed) {
		/* Nobody waits for it any more. */
		client_cancel(front_cache(), f->f_call);
		LIST_REMOVE(f, f_entry);
		flight_free(f);
	}
}

/*
 * The memo: each child remembers its cache hits for memo_ttl seconds (1 by
 * default), so a name asked many times a second costs one cache round
 * trip a second.  Set-associative: a name hashes to one set of MEMO_WAYS
 * entries and, when the set is full, replaces the oldest of them, so two
 * busy names sharing a slot do not evict each other on every ask.  Never
 * holds an unknown or a stale answer.  Bounded by memo_max_memory too:
 * an entry is allocated when a name is put and freed when evicted, and
 * past the bound a clock hand frees the oldest entry of the sets it
 * passes, so the memo holds what its names cost, not its whole table.
 */
#define MEMO_SETS	512
#define MEMO_WAYS	8
#define LOOKUP_HIT_DEPTH 4	/* memo hits answered inside one another */

/*
 * A set's tags are 8 x 16 bytes, two cache lines: looking a name up reads
 * those and, on a tag match, one entry.
 */
struct memo_tag {
	uint32_t	 mt_hash;
	uint32_t	 mt_pad;
	double		 mt_at;		/* monotonic; 0 = empty */
};

/*
 * An entry holds the answer's numbers and, after itself in the same
 * block, its strings and text packed end to end: a whole struct answer
 * is 1.9 KB of mostly empty fixed fields, which was most of what the
 * memo held.  A hit unpacks it (memo_answer()) into an answer of its
 * own, lookup_memo_hit()'s.
 */
enum { MS_ACE, MS_REASON, MS_REGISTRY, MS_RULE, MS_MATCHED, MS_NS, MS_N };

/* Each string's room in a struct answer, NUL included. */
static const size_t memo_str_max[MS_N] = {
	ANSWER_DOMAIN_LEN, ANSWER_REASON_LEN, ANSWER_REGISTRY_LEN,
	ANSWER_RULE_LEN, ANSWER_MATCHED_LEN, ANSWER_NS_LEN
};

/* The answer's string fields, in MS_ order. */
static void
memo_fields(const struct answer *a, const char *f[MS_N])
{
	f[MS_ACE] = a->a_ace;
	f[MS_REASON] = a->a_reason;
	f[MS_REGISTRY] = a->a_registry;
	f[MS_RULE] = a->a_rule;
	f[MS_MATCHED] = a->a_matched;
	f[MS_NS] = a->a_nameservers;
}

struct memo {
	/* Its JSON after "domain", made at its first hit: a bulk answer of
	 * memo hits is then mostly copies, not formatting. */
	char		*mo_json;
	size_t		 mo_json_len;
	size_t		 mo_size;	/* the block */
	int		 mo_notext;	/* fetched without the registry text */
	enum answer_status mo_status;
	enum answer_source mo_source;
	enum answer_channel mo_channel;
	double		 mo_checked;
	double		 mo_expires;
	double		 mo_reg_created;
	double		 mo_reg_expires;
	uint64_t	 mo_latency_ms;
	uint64_t	 mo_retry_after;
	char		*mo_str[MS_N];	/* in the block, NUL-terminated */
	uint16_t	 mo_len[MS_N];
	char		*mo_text;	/* in the block, or NULL */
	size_t		 mo_text_len;
};

static struct memo_tag	*lk_memo_tags;	/* MEMO_SETS * MEMO_WAYS */
static struct memo	**lk_memo;	/* the same; NULL where empty */
static size_t		 lk_memo_bytes;	/* entries, their text and JSON */
static size_t		 lk_memo_hand;	/* the set the next eviction tries */

/*
 * A name's hash, 8 bytes a step: FNV a byte at a time was a visible part
 * of a bulk request, which hashes each name for its duplicates and its
 * memo entry.
 */
uint32_t
lookup_hash(const char *s, size_t len)
{
	uint64_t	h = 0x9e3779b97f4a7c15ULL ^ len, w;
	size_t		i;

	for (; len >= 8; s += 8, len -= 8) {
		memcpy(&w, s, 8);
		h = (h ^ w) * 0xff51afd7ed558ccdULL;
		h ^= h >> 32;
	}
	/* Not memcpy() of a variable length: a call into libc. */
	for (w = 0, i = 0; i < len; i++)
		w |= (uint64_t)(unsigned char)s[i] << (8 * i);
	/* murmur3's finaliser: names differing only at the end
	 * (bench-0001.com, bench-0002.com...) spread over the sets. */
	h ^= w;
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return (uint32_t)h;
}

static uint32_t
memo_hash(const char *ace)
{
	return lookup_hash(ace, strlen(ace));
}

/*
 * The memo's clock: CLOCK_MONOTONIC_COARSE, read without the TSC (a
 * tick's precision is plenty for a memo_ttl of a second, and a bulk
 * request reads it once a name).
 */
static double
memo_now(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The index of the first entry of the name's set. */
static size_t
memo_set(uint32_t h)
{
	if (lk_memo == NULL) {
		lk_memo_tags = xcalloc(MEMO_SETS * MEMO_WAYS,
		    sizeof(*lk_memo_tags));
		lk_memo = xcalloc(MEMO_SETS * MEMO_WAYS, sizeof(*lk_memo));
	}
	return (size_t)(h % MEMO_SETS) * MEMO_WAYS;
}

/* What an entry costs: itself, its text and its JSON. */
static size_t
memo_cost(const struct memo *mo)
{
	return mo->mo_size + (mo->mo_json != NULL ? mo->mo_json_len + 1 : 0);
}

static void
memo_drop(size_t i)
{
	struct memo	*mo = lk_memo[i];

	lk_memo_tags[i].mt_at = 0;
	if (mo == NULL)
		return;
	lk_memo_bytes -= memo_cost(mo);
	/* Its text lives in the same block (memo_put()). */
	free(mo->mo_json);
	free(mo);
	lk_memo[i] = NULL;
}

/*
 * Free the oldest entry of the next set that has one (not `keep`, nor
 * the entry lent to a callback).  -1 when there is none.
 */
static int
memo_evict(size_t keep)
{
	size_t	n, first, i, v;

	for (n = 0; n < MEMO_SETS; n++) {
		first = lk_memo_hand * MEMO_WAYS;
		lk_memo_hand = (lk_memo_hand + 1) % MEMO_SETS;
		v = SIZE_MAX;
		for (i = first; i < first + MEMO_WAYS; i++) {
			if (lk_memo[i] == NULL || i == keep ||
			    lk_memo[i] == lk_lent)
				continue;
			if (v == SIZE_MAX ||
			    lk_memo_tags[i].mt_at < lk_memo_tags[v].mt_at)
				v = i;
		}
		if (v != SIZE_MAX) {
			memo_drop(v);
			return 0;
		}
	}
	return -1;
}

/*
 * The name's entry if it serves `flags` (has the text when it is wanted):
 * fresh, or (with `expired` set) older than memo_ttl, which the cache is
 * then asked whether it still holds (a `get` with "if").
 */
static struct memo *
memo_find(const char *ace, int flags, int *expired)
{
	double		 ttl = front_conf()->wc_memo_ttl;
	uint32_t	 h;
	size_t		 first, i;

	*expired = 0;
	if (ttl <= 0)
		return NULL;
	h = memo_hash(ace);
	first = memo_set(h);
	for (i = first; i < first + MEMO_WAYS; i++) {
		if (lk_memo_tags[i].mt_hash != h || lk_memo_tags[i].mt_at == 0 ||
		    strcmp(lk_memo[i]->mo_str[MS_ACE], ace) != 0)
			continue;
		if (lk_memo[i]->mo_notext && (flags & LOOKUP_TEXT))
			return NULL;
		*expired = memo_now() - lk_memo_tags[i].mt_at > ttl;
		return lk_memo[i];
	}
	return NULL;
}

static struct memo *
memo_get(const char *ace, int flags)
{
	struct memo	*mo;
	int		 expired;

	mo = memo_find(ace, flags, &expired);
	return expired ? NULL : mo;
}

static void
memo_put(const char *ace, const struct answer *a, int notext)
{
	struct memo	*mo;
	const char	*str[MS_N];
	char		*p;
	uint32_t	 h;
	size_t		 first, i, v, max, need, len[MS_N];
	int		 k;

	memo_fields(a, str);
	str[MS_ACE] = ace;
	max = (size_t)front_conf()->wc_memo_max_memory;
	need = sizeof(*mo) + a->a_text_len + 1;
	for (k = 0; k < MS_N; k++)
		need += (len[k] = strnlen(str[k], memo_str_max[k] - 1)) + 1;
	if (front_conf()->wc_memo_ttl <= 0 || a->a_text_len > 64 * 1024 ||
	    need > max / 4)
		return;
	/* The name's own entry if it has one, else an empty or the oldest. */
	h = memo_hash(ace);
	first = v = memo_set(h);
	for (i = first; i < first + MEMO_WAYS; i++) {
		if (lk_memo_tags[i].mt_at != 0 && lk_memo_tags[i].mt_hash == h &&
		    strcmp(lk_memo[i]->mo_str[MS_ACE], ace) == 0) {
			/* A late reply (a text and a no-text flight for one
			 * name, or two cache children) must not replace a
			 * newer answer with an older one. */
			if (a->a_checked < lk_memo[i]->mo_checked)
				return;
			v = i;
			break;
		}
		if (lk_memo_tags[i].mt_at < lk_memo_tags[v].mt_at)
			v = i;
	}
	/* An answer is valid during its callback: the lent one stays. */
	if (lk_memo[v] != NULL && lk_memo[v] == lk_lent)
		return;
	memo_drop(v);
	while (lk_memo_bytes + need > max && memo_evict(v) == 0)
		;
	/* The entry, its strings and its text in one block: one
	 * allocation, and nothing left apart to hold a page when it goes. */
	mo = lk_memo[v] = xmalloc(need);
	memset(mo, 0, sizeof(*mo));
	mo->mo_size = need;
	mo->mo_status = a->a_status;
	mo->mo_source = a->a_source;
	mo->mo_channel = a->a_channel;
	mo->mo_checked = a->a_checked;
	mo->mo_expires = a->a_expires;
	mo->mo_reg_created = a->a_reg_created;
	mo->mo_reg_expires = a->a_reg_expires;
	mo->mo_latency_ms = a->a_latency_ms;
	mo->mo_retry_after = a->a_retry_after;
	p = (char *)(mo + 1);
	for (k = 0; k < MS_N; k++) {
		mo->mo_str[k] = p;
		mo->mo_len[k] = (uint16_t)len[k];
		memcpy(p, str[k], len[k]);
		p[len[k]] = '\0';
		p += len[k] + 1;
	}
	if (a->a_text != NULL && a->a_text_len > 0) {
		mo->mo_text = p;
		memcpy(p, a->a_text, a->a_text_len);
		p[a->a_text_len] = '\0';
		mo->mo_text_len = a->a_text_len;
	}
	mo->mo_notext = notext;
	lk_memo_bytes += memo_cost(mo);
	lk_memo_tags[v].mt_hash = h;
	lk_memo_tags[v].mt_at = memo_now();
}

static void	flight_probe_cb(evutil_socket_t, short, void *);

const char *
lookup_memo_json(const struct answer *a, size_t *len)
{
	if (lk_lent == NULL || a != lk_lent_a)
		return NULL;
	*len = lk_lent->mo_json_len;
	return lk_lent->mo_json;
}

/*
 * The entry's answer in `a`, its domain `asked`: the strings copied (a
 * few dozen bytes), the text pointing into the entry when `text`.
 */
static void
memo_answer(const struct memo *mo, struct answer *a, const char *asked,
    int text)
{
	const char	*to[MS_N];
	size_t		 n;
	int		 k;

	/* The fields are a's own, written through the const view. */
	memo_fields(a, to);
	for (k = 0; k < MS_N; k++)
		memcpy((char *)to[k], mo->mo_str[k],
		    (size_t)mo->mo_len[k] + 1);
	n = strlen(asked);
	if (n >= sizeof(a->a_domain))
		n = sizeof(a->a_domain) - 1;
	memcpy(a->a_domain, asked, n);
	a->a_domain[n] = '\0';
	a->a_status = mo->mo_status;
	a->a_source = mo->mo_source;
	a->a_channel = mo->mo_channel;
	a->a_checked = mo->mo_checked;
	a->a_expires = mo->mo_expires;
	a->a_reg_created = mo->mo_reg_created;
	a->a_reg_expires = mo->mo_reg_expires;
	a->a_latency_ms = mo->mo_latency_ms;
	a->a_retry_after = mo->mo_retry_after;
	a->a_text = text ? mo->mo_text : NULL;
	a->a_text_len = text ? mo->mo_text_len : 0;
}

/* The memo entry's JSON after "domain", made once from its answer. */
static void
memo_json(struct memo *mo, const struct answer *a)
{
	struct evbuffer	*b;

	if (mo->mo_json != NULL)
		return;
	if ((b = evbuffer_new()) == NULL)
		fatalx("%s: out of memory", __func__);
	answer_json_rest(b, a);
	mo->mo_json_len = evbuffer_get_length(b);
	mo->mo_json = xmalloc(mo->mo_json_len + 1);
	evbuffer_remove(b, mo->mo_json, mo->mo_json_len);
	evbuffer_free(b);
	lk_memo_bytes += mo->mo_json_len + 1;
}

size_t
lookup_live(void)
{
	return lk_live;
}

void
lookup_when_room(size_t at, void (*fn)(void))
{
	lk_room_at = at;
	lk_room_fn = fn;
}

void
lookup_init(struct event_base *base)
{
	lk_base = base;
	lk_ttl[AS_REGISTERED] = 86400;
	lk_ttl[AS_AVAILABLE] = 600;
	lk_ttl[AS_RESERVED] = 86400;
	if ((lk_probe_ev = evtimer_new(base, flight_probe_cb, NULL)) == NULL)
		fatalx("%s: evtimer_new", __func__);
}

static void
lookup_free(struct lookup *lk)
{
	if (lk->lk_flight != NULL)
		flight_leave(lk);
	if (lk->lk_deadline != NULL)
		event_free(lk->lk_deadline);
	if (lk->lk_stale != NULL) {
		answer_free(lk->lk_stale);
		free(lk->lk_stale);
	}
	free(lk);
	if (--lk_live == lk_room_at && lk_room_fn != NULL)
		lk_room_fn();
}

static void
lookup_answer(struct lookup *lk, struct answer *a)
{
	char	note[NAME_ACE_BUF + 64];

	snprintf(a->a_domain, sizeof(a->a_domain), "%s", lk->lk_asked);
	if (a->a_ace[0] == '\0')
		snprintf(a->a_ace, sizeof(a->a_ace), "%s", lk->lk_ace);
	if (a->a_expires == 0 && a->a_source == SRC_REGISTRY &&
	    (unsigned)a->a_status < AS_NSTATUS)
		a->a_expires = a->a_checked + lk_ttl[a->a_status];
	front_stats.fs_answers[a->a_status]++;
	front_stats.fs_source[a->a_source]++;
	regstat_note(a);
	lk->lk_state = LK_DONE;
	if (lk->lk_below)
		snprintf(note, sizeof(note),
		    "answered for the registrable name %s", lk->lk_ace);
	lk->lk_cb(a, lk->lk_below ? note : NULL, lk->lk_arg);
}

/* An `unknown` verdict for lk's name, checked now. */
static void
lookup_unknown(struct lookup *lk, const char *reason, struct answer *a)
{
	memset(a, 0, sizeof(*a));
	snprintf(a->a_domain, sizeof(a->a_domain), "%s", lk->lk_ace);
	snprintf(a->a_ace, sizeof(a->a_ace), "%s", lk->lk_ace);
	a->a_status = AS_UNKNOWN;
	snprintf(a->a_reason, sizeof(a->a_reason), "%s", reason);
	a->a_source = SRC_REGISTRY;
	a->a_checked = now_wall();
}

/* No verdict: the stale entry if we have one, else unknown with a reason. */
static void
lookup_fail(struct lookup *lk, const char *reason)
{
	struct answer	a;

	if (lk->lk_stale != NULL) {
		lk->lk_stale->a_source = SRC_STALE;
		snprintf(lk->lk_stale->a_reason,
		    sizeof(lk->lk_stale->a_reason), "%s", reason);
		lookup_answer(lk, lk->lk_stale);
		return;
	}
	lookup_unknown(lk, reason, &a);
	lookup_answer(lk, &a);
}

static int
lookup_remaining_ms(struct lookup *lk)
{
	double	left;

	left = front_conf()->wc_request_timeout - (now_mono() - lk->lk_start);
	return left < 0.001 ? 1 : (int)(left * 1000);
}

static void	lookup_query_cb(const struct client_result *, void *);
static int	lookup_query(struct lookup *);
static void	lookup_client_fd(int, char *, size_t);

static void
lookup_release_cb(const struct client_result *r, void *arg)
{
	(void)arg;
	if (r->cr_err != NULL)
		log_debug("cache lease release: %s %s", r->cr_err,
		    r->cr_errmsg);
}

/*
 * The lease holder will get no answer to put: whoisd-query could not be
 * asked.  Its put would have released the lease; an `unknown` put does
 * that instead (the cache stores no unknown), and tells the clients
 * parked behind the lease now, rather than after lease_ttl, with the
 * name held for that long.  Not after a timeout of ours: the query
 * daemon is still at it and will put the answer.
 */
static void
lookup_release_lease(struct lookup *lk, const char *reason)
{
	struct answer	a;
	struct msgb	b;

	if (!lk->lk_leased)
		return;
	lk->lk_leased = 0;
	lookup_unknown(lk, reason, &a);
	msgb_init(&b);
	if (msg_pack_put(&b, 0, PROTO_VERSION, &a) == 0)
		(void)client_call(front_cache(), &b, 2000, CLIENT_IDEMPOTENT,
		    lookup_release_cb, NULL);
	msgb_free(&b);
}

/* Ask whoisd-query.  -1 if the lookup was answered and freed already. */
static int
lookup_query(struct lookup *lk)
{
	struct msgb		b;
	struct msg_query	q;
	int			ms;

	lk->lk_state = LK_QUERY;
	memset(&q, 0, sizeof(q));
	snprintf(q.q_domain, sizeof(q.q_domain), "%s", lk->lk_ace);
	if (lk->lk_fd != -1)
		lookup_client_fd(lk->lk_fd, q.q_client, sizeof(q.q_client));
	q.q_bulk = (lk->lk_flags & LOOKUP_BULK) != 0;
	q.q_full = (lk->lk_flags & LOOKUP_FULL) != 0;
	/* Leave the query daemon a little less than we have. */
	ms = lookup_remaining_ms(lk);
	q.q_deadline_ms = ms > 100 ? (uint64_t)(ms - 50) : (uint64_t)ms;
	msgb_init(&b);
	msg_pack_query(&b, 0, PROTO_VERSION, &q);
	lk->lk_callc = front_query();
	lk->lk_call = client_call(front_query(), &b, ms, CLIENT_IDEMPOTENT,
	    lookup_query_cb, lk);
	msgb_free(&b);
	if (lk->lk_call == 0) {
		lk->lk_callc = NULL;
		lookup_release_lease(lk, "internal");
		lookup_fail(lk, "internal: cannot build query");
		lookup_free(lk);
		return -1;
	}
	return 0;
}

static void
lookup_query_cb(const struct client_result *r, void *arg)
{
	struct lookup	*lk = arg;
	struct answer	 a;
	const char	*failed = NULL;	/* whoisd-query gave no answer */
	char		 code[32], text[256], err[256];

	lk->lk_callc = NULL;
	lk->lk_call = 0;
	memset(&a, 0, sizeof(a));
	if (r->cr_err != NULL) {
		front_stats.fs_query_errors++;
		log_info("query %s: %s %s", lk->lk_ace, r->cr_err,
		    r->cr_errmsg);
		if (strcmp(r->cr_err, CLIENT_E_TIMEOUT) == 0)
			lookup_fail(lk, "timeout");	/* it will still put */
		else
			failed = "query-unavailable";
	} else if (msg_type(r->cr_msg) == MSG_ERR) {
		front_stats.fs_query_errors++;
		msg_read_err(r->cr_msg, code, sizeof(code), text, sizeof(text),
		    err, sizeof(err));
		log_warnx("query %s: error reply %s: %s", lk->lk_ace, code,
		    text);
		failed = "query-error";
	} else if (msg_read_query_r(r->cr_msg, &a, err, sizeof(err)) == -1) {
		front_stats.fs_query_errors++;
		log_warnx("query %s: bad query_r: %s", lk->lk_ace, err);
		failed = "query-error";
	} else if (a.a_status == AS_UNKNOWN && lk->lk_stale != NULL)
		lookup_fail(lk, a.a_reason[0] ? a.a_reason : "unknown");
	else
		lookup_answer(lk, &a);
	if (failed != NULL) {
		lookup_release_lease(lk, failed);
		lookup_fail(lk, failed);
	}
	answer_free(&a);
	lookup_free(lk);
}

/* A full lookup of a registered name: the registrar's record is wanted. */
static int
lookup_wants_full(const struct lookup *lk, const struct answer *a)
{
	return (lk->lk_flags & LOOKUP_FULL) && a->a_status == AS_REGISTERED;
}

static int	lookup_cache_get(struct lookup *);
static void	flight_probe_later(struct flight *);
static void	flight_land(struct flight *, const struct msg_get_r *,
		    const char *);

/*
 * One member's share of its flight's reply.  `gr` is NULL when the cache
 * failed (`cerr` says how: a timeout, or down/confused).  `first`: this
 * member holds the lease a miss was granted.
 */
static void
flight_serve(struct lookup *lk, const struct msg_get_r *gr, const char *cerr,
    int first)
{
	struct answer	a;

	if (gr == NULL) {
		if (cerr != NULL && strcmp(cerr, CLIENT_E_TIMEOUT) == 0) {
			/* The get ran out of the first member's time; one that
			 * joined later asks again with what it has left. */
			if (!first && lookup_remaining_ms(lk) > 100)
				(void)lookup_cache_get(lk);
			else {
				lookup_fail(lk, "timeout");
				lookup_free(lk);
			}
		} else
			(void)lookup_query(lk);	/* cache down: ask anyway */
		return;
	}
	if (gr->gr_found && !gr->gr_stale && lookup_too_old(lk,
	    &gr->gr_answer)) {
		(void)lookup_query(lk);	/* older than the client accepts */
		return;
	}
	if (gr->gr_found && !gr->gr_stale && !lookup_wants_full(lk,
	    &gr->gr_answer)) {
		a = gr->gr_answer;	/* lookup_answer() sets the names */
		a.a_source = SRC_CACHE;
		lookup_answer(lk, &a);
		lookup_free(lk);
		return;
	}
	if (gr->gr_found && gr->gr_stale && lk->lk_stale == NULL &&
	    lk->lk_max_age < 0) {
		lk->lk_stale = xcalloc(1, sizeof(*lk->lk_stale));
		answer_copy(lk->lk_stale, &gr->gr_answer);
	}
	if (first) {
		lk->lk_leased = strcmp(gr->gr_lease, GET_LEASE_GRANTED) == 0;
		(void)lookup_query(lk);	/* with the lease */
	} else if (gr->gr_found && !gr->gr_stale)
		(void)lookup_query(lk);	/* a full lookup of a registered name */
	else
		(void)lookup_cache_get(lk);	/* parked behind the lease */
}

static void
flight_cb(const struct client_result *r, void *arg)
{
	struct flight		*f = arg;
	struct msg_get_r	 gr, *grp = NULL;
	const char		*cerr = NULL;
	char			 err[256];

	LIST_REMOVE(f, f_entry);	/* new lookups start a new flight */
	f->f_landed = 1;
	if (f->f_ping != 0) {
		client_cancel(front_cache(), f->f_ping);
		f->f_ping = 0;
	}
	memset(&gr, 0, sizeof(gr));
	if (r->cr_err != NULL || msg_type(r->cr_msg) != MSG_GET_R) {
		front_stats.fs_cache_errors++;
		cerr = r->cr_err != NULL ? r->cr_err : "error reply";
		log_debug("cache get %s: %s", f->f_ace, cerr);
	} else if (msg_read_get_r(r->cr_msg, &gr, err, sizeof(err)) == -1) {
		front_stats.fs_cache_errors++;
		log_warnx("cache get %s: bad get_r: %s", f->f_ace, err);
		cerr = "bad reply";
	} else if (gr.gr_same && !f->f_have_ok) {
		front_stats.fs_cache_errors++;
		log_warnx("cache get %s: `same` to a get without \"if\"",
		    f->f_ace);
		cerr = "bad reply";
	} else {
		if (gr.gr_same) {
			/* Still the answer we hold: it goes on as the reply. */
			gr.gr_answer = f->f_have;
			memset(&f->f_have, 0, sizeof(f->f_have));
			f->f_have_ok = 0;
			front_stats.fs_cache_same++;
		}
		grp = &gr;
		if (gr.gr_found && !gr.gr_stale)
			lookup_learn_ttl(&gr.gr_answer);
		if (gr.gr_found && !gr.gr_stale &&
		    gr.gr_answer.a_status != AS_UNKNOWN)
			memo_put(f->f_ace, &gr.gr_answer, f->f_notext &&
			    gr.gr_answer.a_text == NULL);
	}
	flight_land(f, grp, cerr);
	answer_free(&gr.gr_answer);
}

/*
 * Serve the members one at a time, taking each off the list first: a
 * member's callback may cancel another (lookup_free() then takes it off
 * this list, and the flight stays until the loop ends).  Frees f.
 */
static void
flight_land(struct flight *f, const struct msg_get_r *grp, const char *cerr)
{
	struct lookup	*lk;
	int		 first = 1;

	while ((lk = TAILQ_FIRST(&f->f_members)) != NULL) {
		TAILQ_REMOVE(&f->f_members, lk, lk_fentry);
		lk->lk_flight = NULL;
		flight_serve(lk, grp, cerr, first);
		first = 0;
	}
	flight_free(f);
}

/*
 * The probe's ping: a pong says the cache's loop runs, and the get is
 * parked behind another asker's lease (its fill is worth waiting for);
 * no pong says the cache is stalled, and the members go to whoisd-query
 * as if it were down.  A lease it may still grant us is released by
 * whoisd-query's put, as after a lost link.
 */
static void
flight_ping_cb(const struct client_result *r, void *arg)
{
	struct flight	*f = arg;

	f->f_ping = 0;
	if (r->cr_err == NULL && msg_type(r->cr_msg) == MSG_PONG) {
		flight_probe_later(f);
		return;
	}
	front_stats.fs_cache_errors++;
	log_debug("cache get %s: no pong within cache_timeout: %s", f->f_ace,
	    r->cr_err != NULL ? r->cr_err : msg_tname(r->cr_msg));
	client_cancel(front_cache(), f->f_call);
	LIST_REMOVE(f, f_entry);	/* new lookups start a new flight */
	f->f_landed = 1;
	flight_land(f, NULL, "cache-stalled");
}

/* Probe f's cache after half of cache_timeout. */
static void
flight_probe_later(struct flight *f)
{
	struct timeval	tv;
	double		half = front_conf()->wc_cache_timeout / 2;

	f->f_probe_at = now_mono() + half;
	TAILQ_INSERT_TAIL(&lk_probes, f, f_pentry);
	if (!lk_probe_armed) {
		tv_from_seconds(&tv, half);
		evtimer_add(lk_probe_ev, &tv);
		lk_probe_armed = 1;
	}
}

/*
 * The gets unanswered after half of cache_timeout: ping their cache, on
 * the same link, with the other half.  A ping per flight, as each may be
 * parked behind a lease of its own.
 */
static void
flight_probe_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct flight	*f;
	struct msgb	 b;
	struct timeval	 tv;
	double		 now = now_mono();

	(void)fd; (void)ev; (void)arg;
	lk_probe_armed = 0;
	while ((f = TAILQ_FIRST(&lk_probes)) != NULL) {
		/* Due within a millisecond: pinged now, not after a wake-up. */
		if (f->f_probe_at > now + 0.001) {
			tv_from_seconds(&tv, f->f_probe_at - now);
			evtimer_add(lk_probe_ev, &tv);
			lk_probe_armed = 1;
			break;
		}
		TAILQ_REMOVE(&lk_probes, f, f_pentry);
		f->f_probe_at = 0;
		msgb_init(&b);
		msg_pack_ping(&b, 0, PROTO_VERSION);
		f->f_ping = client_call(front_cache(), &b,
		    (int)(front_conf()->wc_cache_timeout * 500), 0,
		    flight_ping_cb, f);
		msgb_free(&b);
	}
}

/*
 * Ask the cache for lk's name: join the flight for it, or start one.  -1
 * if the cache could not be asked and the lookup was answered and freed
 * on the way to the registry.
 */
static int
lookup_cache_get(struct lookup *lk)
{
	struct flight	*f;
	struct memo	*mo;
	struct msgb	 b;
	struct msg_get	 g;
	double		 ct;
	int		 notext = !(lk->lk_flags & LOOKUP_TEXT), expired;

	lk->lk_state = LK_CACHE;
	if ((f = flight_find(lk->lk_ace, notext)) == NULL) {
		f = xcalloc(1, sizeof(*f));
		snprintf(f->f_ace, sizeof(f->f_ace), "%s", lk->lk_ace);
		f->f_notext = notext;
		TAILQ_INIT(&f->f_members);
		memset(&g, 0, sizeof(g));
		snprintf(g.g_domain, sizeof(g.g_domain), "%s", lk->lk_ace);
		g.g_lease = 1;
		g.g_notext = notext;
		/*
		 * An expired memo entry: ask whether it is still the cache's
		 * answer, so a hot name's refresh costs a small reply, not
		 * the inflated text again.  The flight keeps a copy (the
		 * memo may reuse the slot before the reply).
		 */
		if ((mo = memo_find(lk->lk_ace, lk->lk_flags, &expired)) !=
		    NULL && expired && mo->mo_checked > 0) {
			struct answer	*tmp = xcalloc(1, sizeof(*tmp));

			memo_answer(mo, tmp, lk->lk_ace, 1);
			answer_copy(&f->f_have, tmp);
			free(tmp);
			f->f_have_ok = 1;
			g.g_if_checked = f->f_have.a_checked;
			g.g_if_expires = f->f_have.a_expires;
			g.g_if_status = f->f_have.a_status;
		}
		msgb_init(&b);
		msg_pack_get(&b, 0, PROTO_VERSION, &g);
		/*
		 * Not resent after a lost link: the lost child may have
		 * granted the lease and died before the reply, and a resend
		 * would be parked behind that orphan lease for lease_ttl.
		 * The lookup goes to whoisd-query instead, whose put
		 * releases it.  So does a get whose cache does not answer
		 * a ping within cache_timeout (flight_ping_cb()).
		 */
		f->f_call = client_call(front_cache(), &b,
		    lookup_remaining_ms(lk), 0, flight_cb, f);
		msgb_free(&b);
		if (f->f_call == 0) {
			flight_free(f);
			return lookup_query(lk);
		}
		LIST_INSERT_HEAD(&lk_flights[flight_bucket(lk->lk_ace,
		    notext)], f, f_entry);
		ct = front_conf()->wc_cache_timeout;
		if (ct > 0 && ct < front_conf()->wc_request_timeout)
			flight_probe_later(f);
	}
	TAILQ_INSERT_TAIL(&f->f_members, lk, lk_fentry);
	lk->lk_flight = f;
	return 0;
}

static void
lookup_deadline_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct lookup	*lk = arg;

	(void)fd; (void)ev;
	front_stats.fs_timeouts++;
	if (lk->lk_callc != NULL && lk->lk_call != 0)
		client_cancel(lk->lk_callc, lk->lk_call);
	lk->lk_callc = NULL;
	if (lk->lk_flight != NULL)
		flight_leave(lk);
	lookup_fail(lk, "timeout");
	lookup_free(lk);
}

/* A printable copy of what the client asked, for the answer. */
static void
lookup_asked(const char *name, size_t len, char *out, size_t outlen)
{
	size_t	i, o = 0;

	for (i = 0; i < len && o + 1 < outlen && o < 120; i++) {
		unsigned char c = (unsigned char)name[i];

		out[o++] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
	}
	if (i < len && o + 4 < outlen) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = '\0';
}

static void
lookup_invalid(const char *asked, const char *ace, const char *reason,
    lookup_cb cb, void *arg)
{
	struct answer	a;

	memset(&a, 0, sizeof(a));
	snprintf(a.a_domain, sizeof(a.a_domain), "%s", asked);
	snprintf(a.a_ace, sizeof(a.a_ace), "%s", ace);
	a.a_status = AS_INVALID;
	snprintf(a.a_reason, sizeof(a.a_reason), "%s", reason);
	a.a_checked = now_wall();
	front_stats.fs_answers[AS_INVALID]++;
	cb(&a, NULL, arg);
}

/*
 * Start a lookup.  Invalid names and memo hits are answered before this
 * returns (the callback runs, and NULL is returned); otherwise the
 * callback runs later and the handle can cancel it.
 */
/* The client identity of a connection: its peer's address, no port. */
static void
lookup_client_fd(int fd, char *buf, size_t len)
{
	struct sockaddr_storage	 ss;
	socklen_t		 sl = sizeof(ss);
	const void		*ip = NULL;

	buf[0] = '\0';
	if (getpeername(fd, (struct sockaddr *)&ss, &sl) == -1)
		return;
	if (ss.ss_family == AF_INET)
		ip = &((struct sockaddr_in *)&ss)->sin_addr;
	else if (ss.ss_family == AF_INET6)
		ip = &((struct sockaddr_in6 *)&ss)->sin6_addr;
	if (ip == NULL || inet_ntop(ss.ss_family, ip, buf, (socklen_t)len) ==
	    NULL)
		buf[0] = '\0';
}

struct lookup *
lookup_start(const char *name, size_t len, int flags, lookup_cb cb, void *arg)
{
	return lookup_start_as(name, len, flags, -1, cb, arg);
}

struct lookup *
lookup_start_as(const char *name, size_t len, int flags, int fd,
    lookup_cb cb, void *arg)
{
	return lookup_start_aged(name, len, flags, fd, -1, cb, arg);
}

/*
 * Answer from the memo entry, if it serves the lookup (the caller has
 * ruled out a fresh one): not the full record of a registered name, and
 * within max_age.  0 when answered, else -1.
 */
static int
lookup_memo_hit(struct memo *memo, const char *asked, const char *reg,
    int below, int flags, double max_age, lookup_cb cb, void *arg)
{
	/* Callbacks may nest (a hit answered while another is being
	 * answered): one unpacked answer per depth. */
	static struct answer	 hits[LOOKUP_HIT_DEPTH];
	static int		 depth;
	struct answer		*a;
	const struct memo	*lent;
	const struct answer	*lent_a;

	if (((flags & LOOKUP_FULL) && memo->mo_status == AS_REGISTERED) ||
	    (max_age >= 0 && now_wall() - memo->mo_checked > max_age))
		return -1;
	if (depth == LOOKUP_HIT_DEPTH)
		return -1;	/* asked of the cache instead */
	/*
	 * Answered now, from this child's memory of a recent hit: the
	 * entry's answer unpacked (its strings, a few dozen bytes, not a
	 * 1.9 KB struct), the text lent from the entry, which is not
	 * evicted during the callback.
	 */
	a = &hits[depth++];
	memo_answer(memo, a, asked, (flags & LOOKUP_TEXT) != 0);
	front_stats.fs_answers[a->a_status]++;
	front_stats.fs_source[SRC_CACHE]++;
	front_stats.fs_memo_hits++;
	memo_json(memo, a);
	lent = lk_lent;
	lent_a = lk_lent_a;
	lk_lent = memo;
	lk_lent_a = a;
	if (below) {
		char note[NAME_ACE_BUF + 64];

		snprintf(note, sizeof(note), "answered for the "
		    "registrable name %s", reg);
		cb(a, note, arg);
	} else
		cb(a, NULL, arg);
	lk_lent = lent;
	lk_lent_a = lent_a;
	depth--;
	return 0;
}

/*
 * Whether the name is lower-case LDH without a final dot, short enough
 * to be answered as asked: a valid one is then its own A-label.
 */
static int
lookup_plain(const char *name, size_t len)
{
	size_t	i;

	if (len == 0 || len > 120 || name[len - 1] == '.')
		return 0;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '.'))
			return 0;
	}
	return 1;
}

struct lookup *
lookup_start_aged(const char *name, size_t len, int flags, int fd,
    double max_age, lookup_cb cb, void *arg)
{
	struct lookup		*lk;
	struct suffix_match	 m;
	struct timeval		 tv;
	char			 asked[ANSWER_DOMAIN_LEN], ace[NAME_ACE_BUF];
	char			 reason[NAME_REASON_BUF], buf[NAME_INPUT_MAX + 1];
	struct memo		*memo;
	double			 t;
	int			 rc;

	if (flags & LOOKUP_FRESH)
		max_age = 0;
	/*
	 * A memo entry is keyed by a registrable name, valid and its own
	 * A-label: a plain name that is one of those is found before the
	 * IDN checks and the suffix lookup, most of a memo hit's cost.
	 */
	if (!(flags & LOOKUP_FRESH) && lookup_plain(name, len)) {
		memcpy(buf, name, len);
		buf[len] = '\0';
		if ((memo = memo_get(buf, flags)) != NULL &&
		    lookup_memo_hit(memo, buf, buf, 0, flags, max_age, cb,
		    arg) == 0)
			return NULL;
	}

	lookup_asked(name, len, asked, sizeof(asked));
	if (len > NAME_INPUT_MAX) {
		lookup_invalid(asked, "", "too long", cb, arg);
		return NULL;
	}
	memcpy(buf, name, len);
	buf[len] = '\0';
	if (memchr(name, '\0', len) != NULL) {
		lookup_invalid(asked, "", "bad character", cb, arg);
		return NULL;
	}
	if (name_normalise(buf, ace, sizeof(ace), reason, sizeof(reason)) == -1) {
		lookup_invalid(asked, "", reason, cb, arg);
		return NULL;
	}
	rc = suffix_lookup(front_suffixes(), ace, &m);
	if (rc == -1) {
		lookup_invalid(asked, ace, "public suffix", cb, arg);
		return NULL;
	}

	if (!(flags & LOOKUP_FRESH) &&
	    (memo = memo_get(m.sm_registrable, flags)) != NULL &&
	    lookup_memo_hit(memo, asked, m.sm_registrable, m.sm_below, flags,
	    max_age, cb, arg) == 0)
		return NULL;

	lk = xcalloc(1, sizeof(*lk));
	lk_live++;
	lk->lk_flags = flags;
	lk->lk_cb = cb;
	lk->lk_arg = arg;
	lk->lk_start = now_mono();
	lk->lk_fd = fd;
	lk->lk_max_age = max_age;
	snprintf(lk->lk_asked, sizeof(lk->lk_asked), "%s", asked);
	snprintf(lk->lk_ace, sizeof(lk->lk_ace), "%s", m.sm_registrable);
	lk->lk_below = m.sm_below;

	t = front_conf()->wc_request_timeout;
	tv_from_seconds(&tv, t);
	lk->lk_deadline = evtimer_new(lk_base, lookup_deadline_cb, lk);
	evtimer_add(lk->lk_deadline, &tv);

	/* Fresh: the registry only, within its budget (else unknown,
	 * rate-budget); no stale entry is ever looked for. */
	if (flags & LOOKUP_FRESH) {
		if (lookup_query(lk) == -1)
			return NULL;
		return lk;
	}
	if (lookup_cache_get(lk) == -1)
		return NULL;
	return lk;
}

/*
 * The request's own bound (a POST's wait) came before the lookup's:
 * answer now, the stale entry if there is one, else unknown with
 * `reason`, both with retry_after.  What whoisd-query is asking goes on
 * and reaches the cache.
 */
void
lookup_cut(struct lookup *lk, const char *reason, uint64_t retry_after)
{
	struct answer	a;

	if (lk == NULL || lk->lk_state == LK_DONE)
		return;
	if (lk->lk_callc != NULL && lk->lk_call != 0)
		client_cancel(lk->lk_callc, lk->lk_call);
	lk->lk_callc = NULL;
	if (lk->lk_flight != NULL)
		flight_leave(lk);
	if (lk->lk_stale != NULL) {
		lk->lk_stale->a_source = SRC_STALE;
		snprintf(lk->lk_stale->a_reason,
		    sizeof(lk->lk_stale->a_reason),
		    "%s", reason);
		lk->lk_stale->a_retry_after = retry_after;
		lookup_answer(lk, lk->lk_stale);
	} else {
		lookup_unknown(lk, reason, &a);
		a.a_retry_after = retry_after;
		lookup_answer(lk, &a);
	}
	lookup_free(lk);
}

/* The client went away: drop the pending work, never call back. */
void
lookup_cancel(struct lookup *lk)
{
	if (lk == NULL || lk->lk_state == LK_DONE)
		return;
	if (lk->lk_callc != NULL && lk->lk_call != 0)
		client_cancel(lk->lk_callc, lk->lk_call);
	lookup_free(lk);
}
