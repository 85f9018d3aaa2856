/*
 * adapt.c — per-registry timeouts from the timing DB.
 *
 * A registry that usually answers in 80 ms should not hold a worker for
 * the configured 20 s when it hangs, and one that takes 4 s should not be
 * cut at 2.  So the total timeout of a conversation is 3 times the
 * registry's recent p99 (from whoisd-cache's timing DB), clamped to
 * adapt_min..adapt_max, once at least ADAPT_MIN_SAMPLES successes are
 * known.  Each child keeps the figures it fetched for adapt_refresh seconds
 * and refreshes them in the background: a query never waits for this.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/util.h"
#include "daemons/query/query.h"
#include "proto/client.h"
#include "proto/msg.h"

#define ADAPT_SLOTS		256
#define ADAPT_MIN_SAMPLES	20
#define ADAPT_FACTOR		3.0

struct adapt {
	char		ad_registry[ANSWER_REGISTRY_LEN];
	double		ad_at;		/* monotonic; 0 = never fetched */
	int		ad_pending;
	uint64_t	ad_n;
	uint64_t	ad_p99;		/* ms */
};

static struct adapt	adapt_tab[ADAPT_SLOTS];

static struct adapt *
adapt_slot(const char *registry)
{
	uint32_t	h = str_hash(registry);
	int		i, idx;

	/* Linear probing; a full table reuses the home slot. */
	for (i = 0; i < ADAPT_SLOTS; i++) {
		idx = (h + i) % ADAPT_SLOTS;
		if (adapt_tab[idx].ad_registry[0] == '\0' ||
		    strcmp(adapt_tab[idx].ad_registry, registry) == 0)
			break;
	}
	if (i == ADAPT_SLOTS)
		idx = h % ADAPT_SLOTS;
	if (strcmp(adapt_tab[idx].ad_registry, registry) != 0) {
		memset(&adapt_tab[idx], 0, sizeof(adapt_tab[idx]));
		snprintf(adapt_tab[idx].ad_registry,
		    sizeof(adapt_tab[idx].ad_registry), "%s", registry);
	}
	return &adapt_tab[idx];
}

static void
adapt_cb(const struct client_result *r, void *arg)
{
	struct adapt		*ad = arg;
	struct msg_timing_r	 tr;
	char			 err[128];

	ad->ad_pending = 0;
	ad->ad_at = now_mono();
	if (r->cr_err != NULL || msg_type(r->cr_msg) != MSG_TIMING_R ||
	    msg_read_timing_r(r->cr_msg, &tr, err, sizeof(err)) == -1)
		return;
	ad->ad_n = tr.tr_n;
	ad->ad_p99 = tr.tr_p99;
}

static void
adapt_refresh(struct adapt *ad)
{
	struct msgb	b;

	ad->ad_pending = 1;
	msgb_init(&b);
	if (msg_pack_timing_get(&b, 0, PROTO_VERSION, ad->ad_registry) == -1 ||
	    client_call(query_cache(), &b, 2000, CLIENT_IDEMPOTENT, adapt_cb,
	    ad) == 0)
		ad->ad_pending = 0;
	msgb_free(&b);
}

/* The total timeout for a conversation with this registry, in seconds. */
double
adapt_total_timeout(const char *registry)
{
	struct query_conf	*qc = query_conf();
	struct adapt		*ad;
	double			 t;

	if (qc->qc_adapt_max <= 0)
		return qc->qc_total_timeout;
	ad = adapt_slot(registry);
	if (!ad->ad_pending && (ad->ad_at == 0 ||
	    now_mono() - ad->ad_at > qc->qc_adapt_refresh))
		adapt_refresh(ad);
	if (ad->ad_n < ADAPT_MIN_SAMPLES)
		return qc->qc_total_timeout;
	t = ADAPT_FACTOR * (double)ad->ad_p99 / 1000.0;
	return fmax(qc->qc_adapt_min, fmin(t, qc->qc_adapt_max));
}
