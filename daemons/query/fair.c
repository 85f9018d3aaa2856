/*
 * fair.c — who gets a registry's next send slot, within a child.
 *
 * The shared bucket (budget.c) says WHEN the registry may be asked; this
 * file says WHO: the names waiting for a registry wait in one queue per
 * end client, and the clients take turns, every client of single-name
 * requests before any client of bulk ones.  The child holds one
 * reserved slot per registry and gives it out when it comes, so a name
 * that arrives just before the slot can still take it: a client asking
 * one name waits at most one slot, however long a bulk client's queue.
 * Other children hold slots of their own, reserved in order; a single
 * name also takes a priority slot (budget_reserve_prio), the next the
 * spacing allows, so it does not wait behind every busy child's.
 * A client with more than FAIR_LIGHT names waiting, in all children, is
 * bulk work however it sends them, for a minute after: 256 one-name
 * connections from one address are a flood, not 256 people at a page.
 *
 * Every change of a queue projects each waiting name's slot (in the
 * order it will be served, at the bucket's spacing and quota): a name
 * whose slot falls after its deadline is answered at once, rate-budget
 * with the seconds until it could be asked, never after a silent wait.
 * Slots taken by other children make the projection optimistic; it is
 * made again at every slot, and a name that can no longer make it is
 * answered then.
 */
#include <sys/queue.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "common/log.h"
#include "common/pool.h"
#include "common/util.h"
#include "daemons/query/query.h"

#define FAIR_CLASSES	2	/* 0: single-name requests; 1: bulk */
/* Names one client may have waiting (every child) and stay class 0: a
 * page that checks a few names at once, one request each. */
#define FAIR_LIGHT	4
/* Seconds a client stays bulk after it was: longer than the retry-after
 * a flood's names are told to sleep out, at most a minute. */
#define FAIR_HEAVY_HOLD	60.0

struct fair_client {
	char			 fc_id[QUERY_CLIENT_LEN];
	int			 fc_bulk;
	struct fair_reg		*fc_reg;
	TAILQ_HEAD(, fair_waiter) fc_q;
	TAILQ_ENTRY(fair_client) fc_ring;
};

struct fair_reg {
	char			 fr_name[BUDGET_NAME_LEN];
	struct budget_law	 fr_law;
	TAILQ_HEAD(, fair_client) fr_ring[FAIR_CLASSES];
	/* The client served last, at its ring's tail: a newcomer goes in
	 * before it, or it would wait a second turn behind it. */
	struct fair_client	*fr_served[FAIR_CLASSES];
	size_t			 fr_n;		/* names waiting */
	double			 fr_slot;	/* reserved (monotonic); 0: none */
	double			 fr_pslot;	/* priority slot; 0: none */
	struct event		*fr_timer;	/* the slot */
	struct event		*fr_ptimer;	/* the priority slot */
	struct event		*fr_plan;	/* a deferred fair_plan() */
	LIST_ENTRY(fair_reg)	 fr_entry;
};

static struct event_base	*fair_base;
static LIST_HEAD(, fair_reg)	 fair_regs = LIST_HEAD_INITIALIZER(fair_regs);
static struct fair_stats	 fair_st;

static void	fair_slot_cb(evutil_socket_t, short, void *);
static void	fair_pslot_cb(evutil_socket_t, short, void *);
static void	fair_plan_cb(evutil_socket_t, short, void *);

void
fair_init(struct event_base *base)
{
	fair_base = base;
	budget_client_row(pool_child_slot());
}

const struct fair_stats *
fair_stats(void)
{
	return &fair_st;
}

static struct fair_reg *
fair_reg(const char *name)
{
	struct fair_reg	*fr;
	int		 c;

	LIST_FOREACH(fr, &fair_regs, fr_entry)
		if (strcmp(fr->fr_name, name) == 0)
			return fr;
	fr = xcalloc(1, sizeof(*fr));
	snprintf(fr->fr_name, sizeof(fr->fr_name), "%s", name);
	for (c = 0; c < FAIR_CLASSES; c++)
		TAILQ_INIT(&fr->fr_ring[c]);
	fr->fr_timer = evtimer_new(fair_base, fair_slot_cb, fr);
	fr->fr_ptimer = evtimer_new(fair_base, fair_pslot_cb, fr);
	fr->fr_plan = event_new(fair_base, -1, 0, fair_plan_cb, fr);
	if (fr->fr_timer == NULL || fr->fr_ptimer == NULL ||
	    fr->fr_plan == NULL)
		fatalx("%s: event_new", __func__);
	LIST_INSERT_HEAD(&fair_regs, fr, fr_entry);
	return fr;
}

/* Take w off its queue; its client leaves the ring when it has no more. */
static void
fair_unlink(struct fair_waiter *w)
{
	struct fair_client	*fc = w->fw_fc;
	struct fair_reg		*fr = fc->fc_reg;

	TAILQ_REMOVE(&fc->fc_q, w, fw_entry);
	w->fw_fc = NULL;
	fr->fr_n--;
	budget_client_done(fc->fc_id);
	if (TAILQ_EMPTY(&fc->fc_q)) {
		TAILQ_REMOVE(&fr->fr_ring[fc->fc_bulk], fc, fc_ring);
		if (fr->fr_served[fc->fc_bulk] == fc)
			fr->fr_served[fc->fc_bulk] = NULL;
		free(fc);
	}
}

/* Reservations nobody is left to use go back to the bucket. */
static void
fair_idle(struct fair_reg *fr)
{
	if (fr->fr_slot != 0 &&
	    fr->fr_n < 1 + (fr->fr_pslot != 0 ? 1 : 0)) {
		evtimer_del(fr->fr_timer);
		budget_release(fr->fr_name, &fr->fr_law, fr->fr_slot);
		fr->fr_slot = 0;
	}
	if (fr->fr_pslot != 0 && fr->fr_n == 0) {
		evtimer_del(fr->fr_ptimer);
		budget_release_prio(fr->fr_name, &fr->fr_law, fr->fr_pslot);
		fr->fr_pslot = 0;
	}
}

/* Answer w now: it cannot be asked in time (or the registry is off). */
static void
fair_late(struct fair_waiter *w, double retry_after, int backoff)
{
	if (backoff)
		fair_st.fs_backoff++;
	else
		fair_st.fs_late++;
	w->fw_late(w, retry_after, backoff, w->fw_arg);
}

/*
 * The waiting names in the order they will be served: round-robin over
 * the clients of each class, class 0 first.  Fills out (fr_n entries).
 */
static size_t
fair_order(struct fair_reg *fr, struct fair_waiter **out)
{
	struct fair_client	 *fc;
	struct fair_waiter	**cur;
	size_t			  n = 0, nc, i, left;
	int			  c;

	for (c = 0; c < FAIR_CLASSES; c++) {
		nc = 0;
		TAILQ_FOREACH(fc, &fr->fr_ring[c], fc_ring)
			nc++;
		if (nc == 0)
			continue;
		cur = xcalloc(nc, sizeof(*cur));
		i = 0;
		TAILQ_FOREACH(fc, &fr->fr_ring[c], fc_ring)
			cur[i++] = TAILQ_FIRST(&fc->fc_q);
		for (left = nc; left > 0; ) {
			for (i = 0; i < nc; i++) {
				if (cur[i] == NULL)
					continue;
				out[n++] = cur[i];
				if ((cur[i] = TAILQ_NEXT(cur[i], fw_entry)) ==
				    NULL)
					left--;
			}
		}
		free(cur);
	}
	return n;
}

/*
 * Project every waiting name's slot; answer at once those that would
 * get one after their deadline; hold a reservation for the next slot.
 */
static void
fair_plan(struct fair_reg *fr)
{
	struct fair_waiter	**order, **late;
	struct timeval		  tv;
	double			 *slot, now, backoff, wait, s, latest = 0;
	size_t			  n, i, k, nlate = 0, first, held;

	if (fr->fr_n == 0) {
		fair_idle(fr);
		return;
	}
	n = fr->fr_n;
	order = xcalloc(n, sizeof(*order));
	late = xcalloc(n, sizeof(*late));
	slot = xcalloc(n + 2, sizeof(*slot));	/* n, or the two slots held */
	fair_order(fr, order);
	now = now_mono();

	if ((backoff = budget_backoff_left(fr->fr_name)) > 0) {
		/* Throttled: nobody is asked until the back-off ends. */
		for (i = 0; i < n; i++)
			fair_unlink(order[i]);
		fair_idle(fr);
		for (i = 0; i < n; i++)
			fair_late(order[i], backoff, 1);
		goto out;
	}
	for (i = 0; i < n; i++)
		if (order[i]->fw_deadline > latest)
			latest = order[i]->fw_deadline;
	/* A single name waits: the next slot the spacing allows, unless
	 * the slot held already comes first. */
	if (fr->fr_pslot == 0 && !TAILQ_EMPTY(&fr->fr_ring[0]) &&
	    budget_reserve_prio(fr->fr_name, &fr->fr_law, latest - now,
	    fr->fr_slot, &wait, &s) == 0)
		fr->fr_pslot = s;
	held = (fr->fr_slot != 0) + (fr->fr_pslot != 0);
	if (fr->fr_slot == 0 && n > held) {
		if (budget_reserve_law(fr->fr_name, &fr->fr_law, latest - now,
		    &wait, &s) == 0)
			fr->fr_slot = s;
		else if (held == 0) {
			/* Not even the first slot is in anyone's time. */
			for (i = 0; i < n; i++)
				fair_unlink(order[i]);
			for (i = 0; i < n; i++)
				fair_late(order[i], wait, 0);
			goto out;
		}
	}
	/* The slots held come first, earliest first; the others as the
	 * bucket would give them. */
	k = 0;
	if (fr->fr_pslot != 0)
		slot[k++] = fr->fr_pslot;
	if (fr->fr_slot != 0) {
		if (k == 1 && fr->fr_slot < slot[0]) {
			slot[1] = slot[0];
			slot[0] = fr->fr_slot;
		} else
			slot[k] = fr->fr_slot;
		k++;
	}
	if (n > k)
		budget_project(fr->fr_name, &fr->fr_law, slot + k, n - k);
	for (i = 0, k = 0; i < n; i++) {
		if (slot[k] > order[i]->fw_deadline) {
			late[nlate++] = order[i];
			continue;
		}
		k++;
	}
	/* A late name's figure: the first slot after everyone kept. */
	first = k < n ? k : n - 1;
	for (i = 0; i < nlate; i++)
		fair_unlink(late[i]);
	fair_idle(fr);
	if (fr->fr_slot != 0) {
		tv_from_seconds(&tv, fr->fr_slot > now ? fr->fr_slot - now : 0);
		evtimer_add(fr->fr_timer, &tv);
	}
	if (fr->fr_pslot != 0) {
		tv_from_seconds(&tv, fr->fr_pslot > now ? fr->fr_pslot - now :
		    0);
		evtimer_add(fr->fr_ptimer, &tv);
	}
	/* In whole seconds rounded down: a client that comes back then
	 * waits in the queue for that slot; one that came back after it
	 * would leave the registry's token unspent. */
	for (i = 0; i < nlate; i++)
		fair_late(late[i], floor(slot[first] - now), 0);
out:
	free(order);
	free(late);
	free(slot);
}

static void
fair_plan_cb(evutil_socket_t fd, short ev, void *arg)
{
	(void)fd; (void)ev;
	fair_plan(arg);
}

/* A reserved slot has come: the next name in turn takes it. */
static void
fair_serve(struct fair_reg *fr, int prio)
{
	struct fair_client	*fc = NULL;
	struct fair_waiter	*w;
	int			 c;

	if (prio)
		fr->fr_pslot = 0;
	else
		fr->fr_slot = 0;
	if (budget_backoff_left(fr->fr_name) > 0) {
		fair_plan(fr);
		return;
	}
	for (c = 0; c < FAIR_CLASSES && fc == NULL; c++)
		fc = TAILQ_FIRST(&fr->fr_ring[c]);
	if (fc == NULL)
		return;		/* everyone left: the slot was released */
	w = TAILQ_FIRST(&fc->fc_q);
	/* The client goes to the back of its class for the next slot. */
	TAILQ_REMOVE(&fr->fr_ring[fc->fc_bulk], fc, fc_ring);
	TAILQ_INSERT_TAIL(&fr->fr_ring[fc->fc_bulk], fc, fc_ring);
	fr->fr_served[fc->fc_bulk] = fc;
	/* A single name sends ahead of bulk work whichever slot it took;
	 * so does whatever takes a priority slot, reserved as one. */
	w->fw_prio = prio || !fc->fc_bulk;
	fair_unlink(w);
	fair_st.fs_slots++;
	w->fw_go(w, w->fw_arg);
	fair_plan(fr);
}

static void
fair_slot_cb(evutil_socket_t fd, short ev, void *arg)
{
	(void)fd; (void)ev;
	fair_serve(arg, 0);
}

static void
fair_pslot_cb(evutil_socket_t fd, short ev, void *arg)
{
	(void)fd; (void)ev;
	fair_serve(arg, 1);
}

void
fair_wait(struct fair_waiter *w, const char *registry,
    const struct budget_law *law, const char *client, int bulk)
{
	struct fair_reg		*fr = fair_reg(registry);
	struct fair_client	*fc;
	int			 c, heavy;

	fr->fr_law = *law;
	if (client == NULL || *client == '\0')
		client = "-";
	heavy = budget_client_wait(client, FAIR_LIGHT, FAIR_HEAVY_HOLD);
	c = bulk || heavy ? 1 : 0;
	TAILQ_FOREACH(fc, &fr->fr_ring[c], fc_ring)
		if (strcmp(fc->fc_id, client) == 0)
			break;
	if (fc == NULL) {
		fc = xcalloc(1, sizeof(*fc));
		snprintf(fc->fc_id, sizeof(fc->fc_id), "%s", client);
		fc->fc_bulk = c;
		fc->fc_reg = fr;
		TAILQ_INIT(&fc->fc_q);
		if (fr->fr_served[c] != NULL)
			TAILQ_INSERT_BEFORE(fr->fr_served[c], fc, fc_ring);
		else
			TAILQ_INSERT_TAIL(&fr->fr_ring[c], fc, fc_ring);
	}
	TAILQ_INSERT_TAIL(&fc->fc_q, w, fw_entry);
	w->fw_fc = fc;
	fr->fr_n++;
	fair_st.fs_waits++;
	/* Once per loop pass, however many names arrived in it. */
	event_active(fr->fr_plan, EV_TIMEOUT, 0);
}

int
fair_waiting(const struct fair_waiter *w)
{
	return w->fw_fc != NULL;
}

void
fair_cancel(struct fair_waiter *w)
{
	struct fair_reg	*fr;

	if (w->fw_fc == NULL)
		return;
	fr = w->fw_fc->fc_reg;
	fair_unlink(w);
	fair_idle(fr);
}
