/*
 * reply.c — whoisd-cache's replies: get_r built from an entry, and the
 * group commit of the replies that acknowledge a write.
 *
 * The writes of one event-loop pass (leases, puts, timing samples) share
 * one SQLite transaction, opened by the first of them and committed by
 * an event that runs after every callback already queued in that pass
 * (rp_commit_ev).  A pass that only stores answers and timings keeps its
 * transaction open for CACHE_COMMIT_DELAY_MS, so the puts of a burst of
 * misses share a few commits: nobody waits on their `ok` (the name's
 * waiters in this child are answered from the put itself).  A reply
 * that acknowledges a write (put and timing `ok`, purge_r, a get_r
 * granting a lease) waits in rp_pending until that commit, and becomes
 * `err` internal if the commit fails, so nothing is acknowledged before
 * it is in the WAL.  A lease grant or a purge commits at the end of its
 * pass, as its asker waits for it.  Replies that only carry an answer
 * (hits, waiters filled from a put) leave at once.
 */
#include <sys/queue.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "common/log.h"
#include "common/util.h"
#include "daemons/cache/cache.h"
#include "daemons/cache/cache_db.h"
#include "proto/link_server.h"

/* A reply held back until the batch holding its write commits. */
struct cache_pending {
	TAILQ_ENTRY(cache_pending) cp_entry;
	struct link		*cp_link;	/* kept allocated by the link
						   until it is answered */
	uint64_t		 cp_id;
	const char		*cp_what;	/* "put", ... (static) */
	struct msgb		 cp_b;		/* the finished reply */
};

/* How long a batch of puts and timings may stay open: the write lock
 * held that much longer against a commit (WAL pages and a checkpoint's
 * share) per loop pass; 5 ms saved no more than 2. */
#define CACHE_COMMIT_DELAY_MS	2

static struct event		*rp_commit_ev;
static int			 rp_commit_now;	/* rp_commit_ev is active */
static TAILQ_HEAD(, cache_pending) rp_pending =
    TAILQ_HEAD_INITIALIZER(rp_pending);

/*
 * Send a finished reply that acknowledges a write: now if no batch is
 * open (the write is committed), else after the batch's commit.
 */
void
cache_reply_committed(struct link *l, uint64_t id, const struct msgb *b,
    const char *what)
{
	struct cache_pending	*cp;

	if (link_server_reply_check(l, id, b) == -1)
		return;
	if (!cache_db_batch_open(cache_db())) {
		link_reply(l, b);
		return;
	}
	/* Only a put's or a timing's sender does not wait for its ok. */
	if (!rp_commit_now && strcmp(what, "put") != 0 &&
	    strcmp(what, "timing") != 0) {
		rp_commit_now = 1;
		event_active(rp_commit_ev, EV_TIMEOUT, 0);
	}
	cp = xcalloc(1, sizeof(*cp));
	cp->cp_link = l;
	cp->cp_id = id;
	cp->cp_what = what;
	if (msgb_copy(&cp->cp_b, b) == -1)
		fatalx("%s: out of memory", __func__);
	TAILQ_INSERT_TAIL(&rp_pending, cp, cp_entry);
}

void
cache_reply_ok_committed(struct link *l, uint64_t id, const char *what)
{
	struct msgb	b;

	msgb_init(&b);
	msg_pack_ok(&b, id, link_version(l));
	cache_reply_committed(l, id, &b, what);
	msgb_free(&b);
}

/*
 * The end of a pass: commit the batch, then send what waited for it, or
 * `err` internal to each if it is lost (the writes were rolled back: a
 * put's sender logs it; a get whose lease was lost asks the registry
 * itself, as for any cache error).
 */
static void
cache_batch_commit(void)
{
	struct cache_pending	*cp;
	char			 why[512];
	int			 rc;

	/* The delayed commit's timer, or this pass's activation. */
	event_del(rp_commit_ev);
	rp_commit_now = 0;
	rc = cache_db_batch_commit(cache_db());
	cache_cnt.cn_commits++;
	if (rc == -1) {
		str_copy(why, cache_db_errmsg(cache_db()), sizeof(why));
		if (!cache_db_fault(cache_db()))
			log_warnx("group commit: %s", why);
	}
	while ((cp = TAILQ_FIRST(&rp_pending)) != NULL) {
		TAILQ_REMOVE(&rp_pending, cp, cp_entry);
		cache_cnt.cn_committed++;
		if (rc == 0)
			link_reply(cp->cp_link, &cp->cp_b);
		else {
			link_server_count_err(cp->cp_link);
			link_reply_err(cp->cp_link, cp->cp_id, MSG_E_INTERNAL,
			    "%s: %s", cp->cp_what, why);
		}
		msgb_free(&cp->cp_b);
		free(cp);
	}
}

static void
cache_commit_cb(evutil_socket_t fd, short ev, void *arg)
{
	(void)fd; (void)ev; (void)arg;
	cache_batch_commit();
}

/*
 * The first write opened a batch: commit it within CACHE_COMMIT_DELAY_MS,
 * or at the end of the pass once a reply that someone waits for joins it
 * (cache_reply_committed()).
 */
static void
cache_batch_opened(void *arg)
{
	struct timeval	tv = { 0, CACHE_COMMIT_DELAY_MS * 1000 };

	(void)arg;
	evtimer_add(rp_commit_ev, &tv);
}

void
cache_entry_to_answer(struct cache_entry *e, struct answer *a,
    enum answer_source source)
{
	memset(a, 0, sizeof(*a));
	str_copy(a->a_domain, e->ce_ace, sizeof(a->a_domain));
	str_copy(a->a_ace, e->ce_ace, sizeof(a->a_ace));
	a->a_status = cache_status_answer(e->ce_status);
	str_copy(a->a_reason, e->ce_reason, sizeof(a->a_reason));
	a->a_source = source;
	a->a_checked = e->ce_checked;
	a->a_expires = e->ce_expires;
	str_copy(a->a_registry, e->ce_registry, sizeof(a->a_registry));
	a->a_latency_ms = e->ce_latency_ms > 0 ? (uint64_t)e->ce_latency_ms : 0;
	str_copy(a->a_rule, e->ce_rule, sizeof(a->a_rule));
	str_copy(a->a_matched, e->ce_matched, sizeof(a->a_matched));
	a->a_reg_created = e->ce_reg_created;
	a->a_reg_expires = e->ce_reg_expires;
	str_copy(a->a_nameservers, e->ce_nameservers,
	    sizeof(a->a_nameservers));
	/* The channel is not stored: a DNS verdict's rule names it. */
	if (strcmp(e->ce_rule, ANSWER_RULE_DNS) == 0)
		a->a_channel = CH_DNS;
	else if (strncmp(e->ce_rule, ANSWER_RULE_RDAP,
	    strlen(ANSWER_RULE_RDAP)) == 0)
		a->a_channel = CH_RDAP;
	/* The text moves: the entry no longer owns it. */
	a->a_text = e->ce_text;
	a->a_text_len = e->ce_text_len;
	e->ce_text = NULL;
	e->ce_text_len = 0;
}

/* Send a get_r.  A granted lease is a write: its holder must not hear of
 * it before it is committed. */
static void
cache_send_get_r(struct link *l, uint64_t id, int version,
    const struct msg_get_r *gr)
{
	struct msgb	b;

	msgb_init(&b);
	msg_pack_get_r(&b, id, version, gr);
	if (strcmp(gr->gr_lease, GET_LEASE_GRANTED) == 0)
		cache_reply_committed(l, id, &b, "get lease");
	else
		link_server_reply(l, id, &b);
	msgb_free(&b);
}

void
cache_reply_get_r(struct link *l, uint64_t id, int version,
    const struct answer *a, int found, int stale, const char *lease)
{
	struct msg_get_r	gr;

	memset(&gr, 0, sizeof(gr));
	gr.gr_found = found && a != NULL;
	gr.gr_stale = gr.gr_found && stale;
	str_copy(gr.gr_lease, lease, sizeof(gr.gr_lease));
	if (gr.gr_found) {
		/* Shallow: the text stays the caller's. */
		gr.gr_answer = *a;
	}
	cache_send_get_r(l, id, version, &gr);
}

/* The asker's answer is still the entry: found, fresh, no answer. */
void
cache_reply_same(struct link *l, uint64_t id, int version)
{
	struct msg_get_r	gr;

	memset(&gr, 0, sizeof(gr));
	gr.gr_found = 1;
	gr.gr_same = 1;
	str_copy(gr.gr_lease, GET_LEASE_NONE, sizeof(gr.gr_lease));
	cache_send_get_r(l, id, version, &gr);
}

void
cache_reply_init(struct event_base *base)
{
	rp_commit_ev = event_new(base, -1, 0, cache_commit_cb, NULL);
	cache_db_set_batching(cache_db(), cache_batch_opened, NULL);
}

void
cache_reply_exit(void)
{
	/* A batch still open is committed (and answered) before closing. */
	if (rp_commit_ev != NULL) {
		cache_batch_commit();
		cache_db_set_batching(cache_db(), NULL, NULL);
		event_free(rp_commit_ev);
		rp_commit_ev = NULL;
	}
}
