/*
 * budget.c — each registry's pacing and back-off, shared by every child of
 * the host through one anonymous shared mapping made by the master before
 * it forks (and kept across HUP: the children of the new generation
 * inherit the same mapping, so a reload neither resets a back-off nor
 * grants a fresh burst).
 *
 * Pacing is a token bucket of depth one: sends of one registry are at
 * least 1/rate apart, whichever child makes them, so no window of a
 * registry's own counting (per second, per minute) ever sees more than
 * the budget.  A slot is reserved in order (budget_reserve) and the send
 * itself checked again (budget_send), because a timer can fire late and
 * two late slots must not go out together.  The spacing carries a 2 %
 * margin for the jitter between our clock and the registry's.
 *
 * A single-name request may take a priority slot (budget_reserve_prio):
 * the next send the spacing allows, ahead of the slots other children
 * reserved in order for bulk work.  Those children hold their slots
 * still, and their sends wait at budget_send until the priority slot has
 * gone out (be_pnext), so the registry sees no more than before and a
 * single name waits one slot, not one per busy child.
 *
 * A quota (so many queries an hour or a day) is a separate law over a
 * rolling window: the times of the last reservations are kept, and a
 * slot is granted only when fewer than N fall in the window before it.
 * The quota may so be spent in a burst at the pacing rate; a window
 * that is not aligned to the registry's own (its midnight is not ours)
 * can never see more than N either.
 *
 * Beside the registries, the table counts each end client's names
 * waiting for a slot, in every child (budget_client_wait): a client
 * with many names waiting at once is bulk work by its behaviour, even
 * when it sends them one per request, and stays so for a while: a flood
 * whose names sleep out a retry-after comes back in herds, each herd's
 * first names no heavier than one person's.  Each child counts in a row
 * of its own, cleared when a child takes the row, so a child that dies
 * with names queued leaves no count behind.
 *
 * A process-shared robust mutex guards the table: a child killed while
 * holding it (child_timeout, OOM) leaves EOWNERDEAD to the next one,
 * which marks it consistent; the entries are plain numbers, each update a
 * few stores, so the worst a dead owner leaves is one stale figure.
 */
#include <sys/mman.h>

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/util.h"
#include "daemons/query/query.h"

#define BUDGET_MARGIN	1.02	/* spacing factor over 1/rate */

struct budget_entry {
	char		be_name[BUDGET_NAME_LEN];	/* "" = free */
	int		be_quota;	/* 1 + index in bs_q; 0 = none yet */
	double		be_next;	/* monotonic: next slot to reserve */
	double		be_last;	/* monotonic: last actual send */
	double		be_pnext;	/* monotonic: after the last priority
					   slot; ordinary sends wait for it */
	double		be_until;	/* epoch: back-off end; 0 = none */
	unsigned int	be_streak;	/* consecutive throttles */
	uint64_t	be_sends;
};

struct budget_shm {
	pthread_mutex_t		bs_mu;
	/* The last slot is the overflow: registries beyond BUDGET_SLOTS
	 * share it, which is slower for them but never over budget. */
	struct budget_entry	bs_e[BUDGET_SLOTS + 1];
	/* The reservation times of registries with a quota, a ring each. */
	struct budget_quota {
		double		bq_t[BUDGET_QUOTA_MAX];
		unsigned int	bq_head;	/* next write */
		unsigned int	bq_count;	/* valid entries */
	}			bs_q[BUDGET_QUOTA_SLOTS];
	int			bs_nq;
	/* Names waiting per client hash, one row per child (atomics, no
	 * lock): a collision only merges two clients' counts. */
	int32_t			bs_waiting[BUDGET_CLIENT_ROWS]
				    [BUDGET_CLIENT_BUCKETS];
	/* Until when (monotonic ms) a client hash counts as bulk. */
	int64_t			bs_heavy[BUDGET_CLIENT_BUCKETS];
};

static struct budget_shm	*budget;
static int			 budget_row = -1;	/* this child's */

int
budget_init(void)
{
	pthread_mutexattr_t	 ma;
	void			*p;

	if (budget != NULL)
		return 0;
	p = mmap(NULL, sizeof(*budget), PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		log_warn("%s: mmap", __func__);
		return -1;
	}
	budget = p;
	memset(budget, 0, sizeof(*budget));
	if (pthread_mutexattr_init(&ma) != 0 ||
	    pthread_mutexattr_setpshared(&ma, PTHREAD_PROCESS_SHARED) != 0 ||
	    pthread_mutexattr_setrobust(&ma, PTHREAD_MUTEX_ROBUST) != 0 ||
	    pthread_mutex_init(&budget->bs_mu, &ma) != 0) {
		log_warnx("%s: cannot make a process-shared robust mutex",
		    __func__);
		munmap(p, sizeof(*budget));
		budget = NULL;
		return -1;
	}
	pthread_mutexattr_destroy(&ma);
	return 0;
}

static void
budget_lock(void)
{
	int	r;

	if (budget == NULL)
		fatalx("%s: budget table not initialised", __func__);
	r = pthread_mutex_lock(&budget->bs_mu);
	if (r == EOWNERDEAD) {
		log_warnx("%s: a child died holding the budget lock; "
		    "recovering", __func__);
		pthread_mutex_consistent(&budget->bs_mu);
	} else if (r != 0)
		fatalx("%s: pthread_mutex_lock: %s", __func__, strerror(r));
}

static void
budget_unlock(void)
{
	pthread_mutex_unlock(&budget->bs_mu);
}

/* The entry of name, created if needed; called locked. */
static struct budget_entry *
budget_entry(const char *name)
{
	struct budget_entry	*e;
	uint32_t		 h, i;

	h = str_hash(name);
	for (i = 0; i < BUDGET_SLOTS; i++) {
		e = &budget->bs_e[(h + i) % BUDGET_SLOTS];
		if (e->be_name[0] == '\0') {
			snprintf(e->be_name, sizeof(e->be_name), "%s", name);
			return e;
		}
		if (strncmp(e->be_name, name, sizeof(e->be_name) - 1) == 0)
			return e;
	}
	return &budget->bs_e[BUDGET_SLOTS];
}

static double
budget_interval(double rate)
{
	if (rate <= 0)
		rate = 1;
	return BUDGET_MARGIN / rate;
}

/*
 * The quota ring of e, taken on first use; NULL when every ring is taken
 * (the registry is then paced but its quota is not enforced: logged).
 */
static struct budget_quota *
budget_quota(struct budget_entry *e)
{
	if (e->be_quota == 0) {
		if (budget->bs_nq >= BUDGET_QUOTA_SLOTS)
			return NULL;
		e->be_quota = ++budget->bs_nq;
	}
	return &budget->bs_q[e->be_quota - 1];
}

/* The earliest slot at or after `slot` that law's quota allows; locked. */
static double
budget_quota_slot(struct budget_entry *e, const struct budget_law *law,
    double slot)
{
	struct budget_quota	*q;
	unsigned int		 n = law->bl_quota, i;

	if (n == 0 || law->bl_quota_per <= 0 || (q = budget_quota(e)) == NULL)
		return slot;
	if (n > BUDGET_QUOTA_MAX)
		n = BUDGET_QUOTA_MAX;
	if (q->bq_count < n)
		return slot;
	/* The n-th most recent reservation must leave the window first. */
	i = (q->bq_head + BUDGET_QUOTA_MAX - n) % BUDGET_QUOTA_MAX;
	if (q->bq_t[i] + law->bl_quota_per > slot)
		slot = q->bq_t[i] + law->bl_quota_per;
	return slot;
}

static void
budget_quota_add(struct budget_entry *e, const struct budget_law *law,
    double slot)
{
	struct budget_quota	*q;

	if (law->bl_quota == 0 || (q = budget_quota(e)) == NULL)
		return;
	q->bq_t[q->bq_head] = slot;
	q->bq_head = (q->bq_head + 1) % BUDGET_QUOTA_MAX;
	if (q->bq_count < BUDGET_QUOTA_MAX)
		q->bq_count++;
}

int
budget_reserve_law(const char *name, const struct budget_law *law,
    double max_wait, double *wait, double *slotp)
{
	struct budget_entry	*e;
	double			 now, slot;
	int			 rc = 0;

	budget_lock();
	e = budget_entry(name);
	now = now_mono();
	slot = e->be_next > now ? e->be_next : now;
	slot = budget_quota_slot(e, law, slot);
	*wait = slot - now;
	if (slotp != NULL)
		*slotp = slot;
	if (*wait > max_wait)
		rc = -1;
	else {
		e->be_next = slot + budget_interval(law->bl_rate);
		budget_quota_add(e, law, slot);
	}
	budget_unlock();
	return rc;
}

int
budget_reserve(const char *name, double rate, double max_wait, double *wait)
{
	struct budget_law	law = { rate, 0, 0 };

	return budget_reserve_law(name, &law, max_wait, wait, NULL);
}

int
budget_reserve_prio(const char *name, const struct budget_law *law,
    double max_wait, double before, double *wait, double *slotp)
{
	struct budget_entry	*e;
	double			 now, slot, iv;
	int			 rc = 0;

	/* A quota's window keeps its reservations in order: none there. */
	if (law->bl_quota > 0)
		return 1;
	iv = budget_interval(law->bl_rate);
	budget_lock();
	e = budget_entry(name);
	now = now_mono();
	slot = now;
	if (e->be_sends > 0 && e->be_last + iv > slot)
		slot = e->be_last + iv;
	if (e->be_pnext > slot)
		slot = e->be_pnext;
	if (e->be_until > 0 && e->be_next > slot && e->be_until > now_wall())
		slot = e->be_next;	/* a throttle holds everyone */
	*wait = slot - now;
	*slotp = slot;
	if (before > 0 && slot >= before)
		rc = 1;
	else if (*wait > max_wait)
		rc = -1;
	else {
		e->be_pnext = slot + iv;
		/* The ordinary slots after it each move one spacing on. */
		e->be_next = (e->be_next > slot ? e->be_next : slot) + iv;
	}
	budget_unlock();
	return rc;
}

void
budget_release_prio(const char *name, const struct budget_law *law,
    double slot)
{
	struct budget_entry	*e;
	double			 iv = budget_interval(law->bl_rate);

	budget_lock();
	e = budget_entry(name);
	if (fabs(e->be_pnext - (slot + iv)) < 1e-9 && slot >= e->be_last) {
		e->be_pnext = slot;
		if (fabs(e->be_next - (slot + iv)) < 1e-9)
			e->be_next = slot;
	}
	budget_unlock();
}

double
budget_peek(const char *name, const struct budget_law *law)
{
	struct budget_entry	*e;
	double			 now, slot;

	budget_lock();
	e = budget_entry(name);
	now = now_mono();
	slot = e->be_next > now ? e->be_next : now;
	slot = budget_quota_slot(e, law, slot);
	budget_unlock();
	return slot - now;
}

void
budget_project(const char *name, const struct budget_law *law, double *out,
    size_t n)
{
	struct budget_entry	*e;
	struct budget_quota	*q = NULL;
	double			*t = NULL, now, slot, iv;
	unsigned int		 qn = law->bl_quota, have = 0, i;
	size_t			 j;

	if (n == 0)
		return;
	iv = budget_interval(law->bl_rate);
	if (qn > BUDGET_QUOTA_MAX)
		qn = BUDGET_QUOTA_MAX;
	budget_lock();
	e = budget_entry(name);
	now = now_mono();
	slot = e->be_next > now ? e->be_next : now;
	if (qn > 0 && law->bl_quota_per > 0 && (q = budget_quota(e)) != NULL) {
		/* The last qn reservations, oldest first, then the projection. */
		t = xcalloc(qn + n, sizeof(*t));
		have = q->bq_count < qn ? q->bq_count : qn;
		for (i = 0; i < have; i++)
			t[i] = q->bq_t[(q->bq_head + BUDGET_QUOTA_MAX - have + i) %
			    BUDGET_QUOTA_MAX];
	}
	budget_unlock();
	for (j = 0; j < n; j++) {
		if (t != NULL) {
			if (have >= qn && t[have - qn] + law->bl_quota_per > slot)
				slot = t[have - qn] + law->bl_quota_per;
			t[have++] = slot;
		}
		out[j] = slot;
		slot += iv;
	}
	free(t);
}

double
budget_spacing(double rate)
{
	return budget_interval(rate);
}

void
budget_release(const char *name, const struct budget_law *law, double slot)
{
	struct budget_entry	*e;
	struct budget_quota	*q;
	double			 iv = budget_interval(law->bl_rate);
	unsigned int		 last;

	budget_lock();
	e = budget_entry(name);
	/* Only the latest reservation can go back: a later one is built on it. */
	if (fabs(e->be_next - (slot + iv)) < 1e-9 && slot >= e->be_last) {
		e->be_next = slot;
		if (law->bl_quota > 0 && (q = budget_quota(e)) != NULL &&
		    q->bq_count > 0) {
			last = (q->bq_head + BUDGET_QUOTA_MAX - 1) %
			    BUDGET_QUOTA_MAX;
			if (fabs(q->bq_t[last] - slot) < 1e-9) {
				q->bq_head = last;
				q->bq_count--;
			}
		}
	}
	budget_unlock();
}

double
budget_send(const char *name, double rate, int prio)
{
	struct budget_entry	*e;
	double			 now, iv, left;

	budget_lock();
	e = budget_entry(name);
	now = now_mono();
	iv = budget_interval(rate);
	left = e->be_sends > 0 ? e->be_last + iv - now : 0;
	/* Bulk work leaves every pending priority slot its turn. */
	if (!prio && e->be_pnext - now > left)
		left = e->be_pnext - now;
	if (left > 0) {
		/* A single name's send waits a moment (a timer came early, or
		 * another send went first): a priority slot reserved in the
		 * meantime must not take its turn. */
		if (prio && e->be_pnext < now + left + iv)
			e->be_pnext = now + left + iv;
		budget_unlock();
		return left;
	}
	e->be_last = now;
	e->be_sends++;
	if (e->be_next < now + iv)
		e->be_next = now + iv;
	if (prio && e->be_pnext < now + iv)
		e->be_pnext = now + iv;
	budget_unlock();
	return 0;
}

double
budget_backoff_left(const char *name)
{
	struct budget_entry	*e;
	double			 left;

	budget_lock();
	e = budget_entry(name);
	left = e->be_until - now_wall();
	budget_unlock();
	return left > 0 ? left : 0;
}

double
budget_throttle(const char *name, double retry_after, double dflt, double max)
{
	struct budget_entry	*e;
	double			 secs, until;

	budget_lock();
	e = budget_entry(name);
	if (e->be_streak < 30)
		e->be_streak++;
	if (retry_after > 0)
		secs = retry_after;
	else {
		secs = dflt * ldexp(1.0, (int)e->be_streak - 1);
		if (secs > max)
			secs = max;
	}
	until = now_wall() + secs;
	if (until > e->be_until)
		e->be_until = until;
	/* No slot reserved before the throttle may go out during it. */
	if (e->be_next < now_mono() + secs)
		e->be_next = now_mono() + secs;
	budget_unlock();
	return secs;
}

void
budget_ok(const char *name)
{
	struct budget_entry	*e;

	budget_lock();
	e = budget_entry(name);
	e->be_streak = 0;
	budget_unlock();
}

/*
 * Each registry's entry, for /metrics: tokens (1 if a send may go now),
 * seconds to the next slot, back-off left, sends.  The figures are
 * copied under the lock and reported after it.
 */
void
budget_foreach(void (*fn)(const char *, double, double, double, uint64_t,
    void *), void *arg)
{
	struct budget_entry	*copy;
	double			 mono = now_mono(), wall = now_wall(), w, bo;
	int			 i, n = 0;

	copy = xcalloc(BUDGET_SLOTS, sizeof(*copy));
	budget_lock();
	for (i = 0; i < BUDGET_SLOTS; i++)
		if (budget->bs_e[i].be_name[0] != '\0')
			copy[n++] = budget->bs_e[i];
	budget_unlock();
	for (i = 0; i < n; i++) {
		w = copy[i].be_next - mono;
		bo = copy[i].be_until - wall;
		fn(copy[i].be_name, w > 0 ? 0 : 1, w > 0 ? w : 0,
		    bo > 0 ? bo : 0, copy[i].be_sends, arg);
	}
	free(copy);
}

void
budget_merge(const char *name, double until)
{
	struct budget_entry	*e;

	budget_lock();
	e = budget_entry(name);
	if (until > e->be_until)
		e->be_until = until;
	budget_unlock();
}

/* ------------------------------------------------ clients' waiting names */

static unsigned int
budget_client_bucket(const char *client)
{
	const unsigned char	*p;
	uint32_t		 h = 2166136261u;	/* FNV-1a */

	for (p = (const unsigned char *)client; *p != '\0'; p++)
		h = (h ^ *p) * 16777619u;
	return h % BUDGET_CLIENT_BUCKETS;
}

void
budget_client_row(int slot)
{
	if (budget == NULL || slot < 0)
		return;
	budget_row = slot % BUDGET_CLIENT_ROWS;
	/* Children beyond the rows share one; clearing it then would
	 * drop a living child's counts. */
	if (slot < BUDGET_CLIENT_ROWS)
		memset(budget->bs_waiting[budget_row], 0,
		    sizeof(budget->bs_waiting[budget_row]));
}

int
budget_client_wait(const char *client, int light, double hold)
{
	unsigned int	b;
	int32_t		v;
	int		r, sum = 0;
	int64_t		now = (int64_t)(now_mono() * 1000);

	if (budget == NULL || budget_row < 0)
		return 0;
	b = budget_client_bucket(client);
	__atomic_add_fetch(&budget->bs_waiting[budget_row][b], 1,
	    __ATOMIC_RELAXED);
	for (r = 0; r < BUDGET_CLIENT_ROWS; r++) {
		v = __atomic_load_n(&budget->bs_waiting[r][b],
		    __ATOMIC_RELAXED);
		if (v > 0)
			sum += v;
	}
	if (sum > light) {
		/* A plain store: two children racing both write "now". */
		__atomic_store_n(&budget->bs_heavy[b],
		    now + (int64_t)(hold * 1000), __ATOMIC_RELAXED);
		return 1;
	}
	return __atomic_load_n(&budget->bs_heavy[b], __ATOMIC_RELAXED) > now;
}

void
budget_client_done(const char *client)
{
	if (budget == NULL || budget_row < 0)
		return;
	__atomic_sub_fetch(&budget->bs_waiting[budget_row]
	    [budget_client_bucket(client)], 1, __ATOMIC_RELAXED);
}
