/*
 * ratelimit.c — a registry's per-client query budget: at most N queries
 * per window of T seconds from one client address to one registry.  The
 * window starts with the client's first query, as registries that count
 * "queries per minute" do; over the budget the answer is the registry's
 * own throttle text, with the seconds left until the window ends.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/util.h"
#include "tests/regsim/regsim.h"

struct rl_window {
	double	w_start;
	double	w_len;
	long	w_count;
};

void
rs_ratelimit_init(struct ratelimit *rl)
{
	rs_strmap_init(&rl->rl_map);
}

/*
 * Count one query; 1 if it is over the budget (with *seconds until the
 * window ends, at least 1), 0 if it is within.
 */
int
rs_ratelimit_hit(struct ratelimit *rl, const char *client, const char *tld,
    long n, double window, double now, int *seconds)
{
	struct strmap_entry	*e;
	struct rl_window	*w;
	char			 key[RS_NAME_MAX + 64];
	double			 left;

	snprintf(key, sizeof(key), "%s %s", client, tld);
	e = rs_strmap_add(&rl->rl_map, key, NULL);
	if ((w = e->se_ptr) == NULL)
		w = e->se_ptr = xcalloc(1, sizeof(*w));
	if (w->w_count == 0 || now >= w->w_start + w->w_len ||
	    w->w_len != window) {
		w->w_start = now;
		w->w_len = window;
		w->w_count = 0;
	}
	w->w_count++;
	if (w->w_count <= n)
		return 0;
	left = ceil(w->w_start + w->w_len - now);
	*seconds = left < 1 ? 1 : (int)left;
	return 1;
}

/* Forget the windows that have ended, so the table stays small. */
void
rs_ratelimit_expire(struct ratelimit *rl, double now)
{
	struct strmap_entry	**pp, *e;
	struct rl_window	 *w;
	size_t			  i;

	for (i = 0; i < rl->rl_map.sm_size; i++) {
		pp = &rl->rl_map.sm_tab[i];
		while ((e = *pp) != NULL) {
			w = e->se_ptr;
			if (w != NULL && now < w->w_start + w->w_len) {
				pp = &e->se_next;
				continue;
			}
			*pp = e->se_next;
			free(e->se_ptr);
			free(e->se_key);
			free(e);
			rl->rl_map.sm_n--;
		}
	}
}

void
rs_ratelimit_free(struct ratelimit *rl)
{
	rs_strmap_free(&rl->rl_map, free);
}
