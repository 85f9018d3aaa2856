/*
 * link_server.c — the links of one daemon child: accept, the list,
 * dispatch by a table of message types, drain, close, `err` counts.
 *
 * Each link's arg is its lsconn, which outlives the connection until the
 * link itself is freed (lc_free): a reply that arrives after the close
 * still finds its server through link_arg().
 *
 * An unknown or forbidden type is logged, rate-limited per process: a
 * peer repeating it, or opening link after link to send it, must not
 * write a line per frame.  Making room is rate-limited per process.
 */
#include <sys/queue.h>
#include <sys/socket.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/pool.h"
#include "common/util.h"
#include "proto/link_server.h"

/* link.c's default link_hello_timeout, for a server without one. */
#define LS_HELLO_DEFAULT	10.0
/* Our clients speak within a round trip of connecting: a link silent
 * this long is not about to. */
#define LS_SILENT_MIN_AGE	1.0

struct lsconn {
	struct link		*lc_link;
	struct link_server	*lc_srv;
	LIST_ENTRY(lsconn)	 lc_entry;
};

struct link_server {
	struct event_base		*ls_base;
	const struct link_handler	*ls_handlers;
	size_t				 ls_nhandlers;
	struct link_server_opts		 ls_opts;
	struct link_opts		 ls_link;	/* every link's */
	LIST_HEAD(, lsconn)		 ls_conns;
	size_t				 ls_nlinks;
	uint64_t			 ls_errors;
};

static struct log_limit	ll_evict, ll_unknown, ll_forbidden;

static int	ls_request(struct link *, struct msg *, void *);
static int	ls_make_room(void *, int);
static void	ls_closed(struct link *, void *);
static void	ls_free(struct link *, void *);

static const struct link_cb ls_link_cb = {
	ls_request, ls_closed, ls_free
};

struct link_server *
link_server_new(struct event_base *base, const struct link_handler *h,
    size_t nh, const struct link_server_opts *opts)
{
	struct link_server	*ls;
	size_t			 i;

	ls = xcalloc(1, sizeof(*ls));
	ls->ls_base = base;
	ls->ls_handlers = h;
	ls->ls_nhandlers = nh;
	if (opts != NULL)
		ls->ls_opts = *opts;
	ls->ls_link.lo_limits.fl_max_frame = ls->ls_opts.lso_max_frame > 0 ?
	    (size_t)ls->ls_opts.lso_max_frame : 0;
	ls->ls_link.lo_limits.fl_compress_min =
	    frame_compress_min_conf(ls->ls_opts.lso_compress_min);
	ls->ls_link.lo_frame_timeout_ms =
	    (int)(ls->ls_opts.lso_frame_timeout * 1000);
	ls->ls_link.lo_hello_timeout_ms =
	    (int)(ls->ls_opts.lso_hello_timeout * 1000);
	ls->ls_link.lo_idle_timeout_ms =
	    (int)(ls->ls_opts.lso_idle_timeout * 1000);
	for (i = 0; i < nh; i++)
		ls->ls_link.lo_auth_roles |= h[i].lh_roles != 0 ?
		    h[i].lh_roles : ROLES_ALL;
	LIST_INIT(&ls->ls_conns);
	pool_set_make_room(ls_make_room, ls);
	return ls;
}

void
link_server_free(struct link_server *ls)
{
	struct lsconn	*c;

	if (ls == NULL)
		return;
	pool_set_make_room(NULL, NULL);
	while ((c = LIST_FIRST(&ls->ls_conns)) != NULL)
		link_close(c->lc_link);
	free(ls);
}

static struct link_server *
ls_of(const struct link *l)
{
	const struct lsconn	*c = link_arg(l);

	return c->lc_srv;
}

static int
ls_request(struct link *l, struct msg *m, void *arg)
{
	struct lsconn			*c = arg;
	struct link_server		*ls = c->lc_srv;
	const struct link_handler	*h = NULL;
	char				 key[SB_KEYLEN];
	size_t				 i;
	int				 req;

	for (i = 0; i < ls->ls_nhandlers; i++)
		if (ls->ls_handlers[i].lh_type == msg_type(m)) {
			h = &ls->ls_handlers[i];
			break;
		}
	if (h == NULL) {
		ls->ls_errors++;
		if (ls->ls_opts.lso_flags & LSO_WARN_UNKNOWN)
			log_warnx_limited(&ll_unknown, "%s: unknown "
			    "message type \"%s\"", link_peer(l),
			    log_escape(msg_tname(m), strlen(msg_tname(m)), key,
			    sizeof(key)));
		return -1;	/* link.c answers unknown-type */
	}
	if (h->lh_roles != 0 && !(link_roles(l) & h->lh_roles)) {
		ls->ls_errors++;
		role_mask_str(h->lh_roles, key, sizeof(key));
		log_warnx_limited(&ll_forbidden, "%s: %s refused to "
		    "role %s (allowed: %s)", link_peer(l), msg_tname(m),
		    link_role_str(l), key);
		link_reply_err(l, msg_id(m), MSG_E_FORBIDDEN, "%s is not "
		    "allowed to role %s", msg_tname(m), link_role_str(l));
		return 0;
	}
	req = h->lh_flags & (LH_REQ | LH_REQ_LATER);
	if (req) {
		snprintf(key, sizeof(key), "%s from %s", msg_tname(m),
		    link_peer(l));
		pool_req_begin(key);
	}
	h->lh_fn(l, m);
	if (req == LH_REQ)
		pool_req_end();
	return 0;
}

static void
ls_closed(struct link *l, void *arg)
{
	struct lsconn		*c = arg;
	struct link_server	*ls = c->lc_srv;

	if (ls->ls_opts.lso_closed != NULL)
		ls->ls_opts.lso_closed(l);
	LIST_REMOVE(c, lc_entry);
	ls->ls_nlinks--;
	/* May exit the child: nothing may follow this call. */
	pool_conn_done();
}

static void
ls_free(struct link *l, void *arg)
{
	(void)l;
	free(arg);
}

void
link_server_accept(struct link_server *ls, int fd, const struct sockaddr *sa,
    socklen_t salen)
{
	struct lsconn	*c;

	c = xcalloc(1, sizeof(*c));
	c->lc_srv = ls;
	/* Listed first: link_new does not call back, but lc_closed may later. */
	LIST_INSERT_HEAD(&ls->ls_conns, c, lc_entry);
	ls->ls_nlinks++;
	c->lc_link = link_new(ls->ls_base, fd, sa, salen, &ls_link_cb,
	    &ls->ls_link, c);
	if (c->lc_link == NULL) {
		LIST_REMOVE(c, lc_entry);
		ls->ls_nlinks--;
		free(c);
		pool_conn_done();
	}
}

/*
 * The pool is at max_clients_per_child and a new connection came: the
 * link idle longest says goaway (a request racing it is still answered).
 * Links that never sent a frame go first: our clients speak at once.
 */
int
link_server_make_room(struct link_server *ls, int dry)
{
	struct lsconn		*c, *best = NULL;
	double			 since, best_since = 0, hello, silent, now;
	int			 spoke, best_spoke = 1;

	now = now_mono();
	hello = ls->ls_link.lo_hello_timeout_ms > 0 ?
	    ls->ls_link.lo_hello_timeout_ms / 1000.0 : LS_HELLO_DEFAULT;
	/* Before its own hello timeout would end it. */
	silent = hello / 2 < LS_SILENT_MIN_AGE ? hello / 2 : LS_SILENT_MIN_AGE;
	LIST_FOREACH(c, &ls->ls_conns, lc_entry) {
		if (c->lc_link == NULL ||
		    (since = link_idle_since(c->lc_link, &spoke)) == 0 ||
		    now - since < (spoke ? hello : silent))
			continue;
		if (best == NULL || spoke < best_spoke ||
		    (spoke == best_spoke && since < best_since)) {
			best = c;
			best_since = since;
			best_spoke = spoke;
		}
	}
	if (best == NULL)
		return -1;
	if (dry)
		return 0;
	log_warnx_limited(&ll_evict, "at max_clients_per_child: goaway to "
	    "%s, %s for %.0f s", link_peer(best->lc_link),
	    best_spoke ? "idle" : "silent since connecting", now - best_since);
	link_goaway(best->lc_link);
	return 0;
}

static int
ls_make_room(void *arg, int dry)
{
	return link_server_make_room(arg, dry);
}

/* Every link says goaway, finishes what it has in flight, and closes. */
void
link_server_drain(struct link_server *ls)
{
	struct lsconn	*c, *next;

	for (c = LIST_FIRST(&ls->ls_conns); c != NULL; c = next) {
		next = LIST_NEXT(c, lc_entry);
		link_goaway(c->lc_link);
	}
}

size_t
link_server_links(const struct link_server *ls)
{
	return ls->ls_nlinks;
}

uint64_t
link_server_errors(const struct link_server *ls)
{
	return ls->ls_errors;
}

int
link_server_fits(const struct link *l, const struct msgb *b)
{
	return msgb_len(b) + FRAME_HDRLEN <=
	    frame_max(&ls_of(l)->ls_link.lo_limits);
}

int
link_server_reply_check(struct link *l, uint64_t id, const struct msgb *b)
{
	struct link_server	*ls = ls_of(l);
	size_t			 max = frame_max(&ls->ls_link.lo_limits);

	if (msgb_end(b) == -1) {
		ls->ls_errors++;
		log_warnx("%s: %s: reply could not be built", __func__,
		    link_peer(l));
		link_reply_err(l, id, MSG_E_INTERNAL, "reply could not be built");
		return -1;
	}
	if (!link_server_fits(l, b)) {
		ls->ls_errors++;
		log_warnx("%s: %s: reply of %zu bytes over max_frame %zu",
		    __func__, link_peer(l), msgb_len(b), max);
		link_reply_err(l, id, MSG_E_INTERNAL,
		    "reply of %zu bytes over max_frame", msgb_len(b));
		return -1;
	}
	return 0;
}

int
link_server_reply(struct link *l, uint64_t id, const struct msgb *b)
{
	if (link_server_reply_check(l, id, b) == -1)
		return -1;
	link_reply(l, b);
	return 0;
}

void
link_server_reply_err(struct link *l, uint64_t id, const char *code,
    const char *what, const char *why)
{
	char	esc[256];

	struct link_server	*ls = ls_of(l);

	ls->ls_errors++;
	if (strcmp(code, MSG_E_INTERNAL) == 0 &&
	    ls->ls_opts.lso_fault != NULL && ls->ls_opts.lso_fault())
		log_debug("%s: %s: %s", link_peer(l), what, why);
	else if (strcmp(code, MSG_E_BAD_REQUEST) == 0)
		log_warnx("%s: %s: %s", link_peer(l), what,
		    log_escape(why, strlen(why), esc, sizeof(esc)));
	else
		log_warnx("%s: %s: %s", link_peer(l), what, why);
	link_reply_err(l, id, code, "%s: %s", what, why);
}

void
link_server_count_err(struct link *l)
{
	ls_of(l)->ls_errors++;
}
