/*
 * strmap.c — a string-keyed chained hash table (FNV-1a), growing at a
 * load of one, for the simulator's counters, rules and rate windows.
 */
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "tests/regsim/regsim.h"

#define STRMAP_MIN	64

static uint64_t
strmap_hash(const char *s)
{
	uint64_t	h = 1469598103934665603ULL;

	for (; *s != '\0'; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return h;
}

void
rs_strmap_init(struct strmap *sm)
{
	sm->sm_size = STRMAP_MIN;
	sm->sm_n = 0;
	sm->sm_tab = xcalloc(sm->sm_size, sizeof(*sm->sm_tab));
}

struct strmap_entry *
rs_strmap_get(const struct strmap *sm, const char *key)
{
	struct strmap_entry	*e;

	for (e = sm->sm_tab[strmap_hash(key) & (sm->sm_size - 1)]; e != NULL;
	    e = e->se_next)
		if (strcmp(e->se_key, key) == 0)
			return e;
	return NULL;
}

static void
strmap_grow(struct strmap *sm)
{
	struct strmap_entry	**tab, *e, *next;
	size_t			  i, size, b;

	size = sm->sm_size * 2;
	tab = xcalloc(size, sizeof(*tab));
	for (i = 0; i < sm->sm_size; i++) {
		for (e = sm->sm_tab[i]; e != NULL; e = next) {
			next = e->se_next;
			b = strmap_hash(e->se_key) & (size - 1);
			e->se_next = tab[b];
			tab[b] = e;
		}
	}
	free(sm->sm_tab);
	sm->sm_tab = tab;
	sm->sm_size = size;
}

/* Find key, or add it with value 0 and no pointer. */
struct strmap_entry *
rs_strmap_add(struct strmap *sm, const char *key, int *created)
{
	struct strmap_entry	*e;
	size_t			 b;

	if ((e = rs_strmap_get(sm, key)) != NULL) {
		if (created != NULL)
			*created = 0;
		return e;
	}
	if (sm->sm_n >= sm->sm_size)
		strmap_grow(sm);
	e = xcalloc(1, sizeof(*e));
	e->se_key = xstrdup(key);
	b = strmap_hash(key) & (sm->sm_size - 1);
	e->se_next = sm->sm_tab[b];
	sm->sm_tab[b] = e;
	sm->sm_n++;
	if (created != NULL)
		*created = 1;
	return e;
}

static void
strmap_purge(struct strmap *sm, void (*freeptr)(void *))
{
	struct strmap_entry	*e, *next;
	size_t			 i;

	if (sm->sm_tab == NULL)
		return;
	for (i = 0; i < sm->sm_size; i++) {
		for (e = sm->sm_tab[i]; e != NULL; e = next) {
			next = e->se_next;
			if (freeptr != NULL && e->se_ptr != NULL)
				freeptr(e->se_ptr);
			free(e->se_key);
			free(e);
		}
	}
	free(sm->sm_tab);
	sm->sm_tab = NULL;
	sm->sm_size = sm->sm_n = 0;
}

/* Remove every entry; the table stays usable (back at its minimum size). */
void
rs_strmap_clear(struct strmap *sm, void (*freeptr)(void *))
{
	strmap_purge(sm, freeptr);
	rs_strmap_init(sm);
}

/* Remove every entry and the table itself. */
void
rs_strmap_free(struct strmap *sm, void (*freeptr)(void *))
{
	strmap_purge(sm, freeptr);
}

void
rs_strmap_each(const struct strmap *sm,
    void (*fn)(const struct strmap_entry *, void *), void *arg)
{
	struct strmap_entry	*e;
	size_t			 i;

	for (i = 0; i < sm->sm_size; i++)
		for (e = sm->sm_tab[i]; e != NULL; e = e->se_next)
			fn(e, arg);
}
