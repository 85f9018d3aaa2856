/*
 * main.c — whoisd-cache: config, the pool callbacks and the child's
 * accessors.  The requests are answered in serve.c, replies built (and
 * held for the group commit) in reply.c, coalescing waiters live in
 * wait.c, SQLite in cache_db.c.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "common/log.h"
#include "common/pool.h"
#include "common/util.h"
#include "daemons/cache/cache.h"
#include "daemons/cache/cache_db.h"
#include "proto/auth.h"

#ifndef SYSCONF_WHOISD
#define SYSCONF_WHOISD	"etc"
#endif

#define CCOFF(f)	offsetof(struct cache_conf, f)
static const struct conf_key cache_keys[] = {
	{ "db_path", CONF_STR, CCOFF(cc_db_path), 0, 0,
	  "/tmp/whoisd-cache.db", "SQLite file of the cache and timing DB" },
	{ "ttl_registered", CONF_DOUBLE, CCOFF(cc_ttl_registered), 1,
	  365 * 86400.0, "86400", "seconds a `registered` answer stays fresh" },
	{ "ttl_available", CONF_DOUBLE, CCOFF(cc_ttl_available), 1,
	  365 * 86400.0, "600", "seconds an `available` answer stays fresh" },
	{ "ttl_reserved", CONF_DOUBLE, CCOFF(cc_ttl_reserved), 1,
	  365 * 86400.0, "86400", "seconds a `reserved` answer stays fresh" },
	{ "lease_ttl", CONF_DOUBLE, CCOFF(cc_lease_ttl), 0.1, 3600, "10",
	  "seconds a coalescing lease lives (and a waiter waits at most)" },
	{ "stale_max", CONF_DOUBLE, CCOFF(cc_stale_max), 0, 3650 * 86400.0,
	  "604800", "seconds past expiry an answer may still be served stale "
	  "(the expiry sweep keeps answers that long)" },
	{ "sweep_interval", CONF_DOUBLE, CCOFF(cc_sweep_interval), 0.1, 86400,
	  "60", "seconds between expiry sweeps (by one child)" },
	{ "max_frame", CONF_BYTES, CCOFF(cc_max_frame), 1024, 1 << 30, "16M",
	  "largest internal frame" },
	{ "compress_min", CONF_BYTES, CCOFF(cc_compress_min), 0, 1 << 30,
	  "8k", "frame bodies above this are deflated (0 = never)" },
	{ "link_frame_timeout", CONF_DOUBLE, CCOFF(cc_link_frame_timeout), 0.1,
	  3600, "10", "seconds an internal frame may take from its first byte "
	  "to its last" },
	{ "link_hello_timeout", CONF_DOUBLE, CCOFF(cc_link_hello_timeout), 0.1,
	  3600, "10", "seconds a new link may stay silent before goaway" },
	{ "link_idle_timeout", CONF_DOUBLE, CCOFF(cc_link_idle_timeout), 0.1,
	  86400, "300", "seconds a link with nothing in flight is kept (clients "
	  "ping theirs every 60)" },
	{ NULL, 0, 0, 0, 0, NULL, NULL }
};

static int	cache_check(void *, char *, size_t);

static const struct conf_spec cache_spec = {
	"whoisd-cache", cache_keys, sizeof(struct cache_conf),
	SYSCONF_WHOISD "/whoisd-cache.conf", cache_check, NULL
};

static struct cache_db	*cache_dbh;

struct cache_conf *
cache_conf(void)
{
	return pool_conf();
}

struct cache_db *
cache_db(void)
{
	return cache_dbh;
}

/* SQLite writes its WAL and lock files beside the database; the keys
 * are read before any port is bound. */
static int
cache_check(void *conf, char *err, size_t errlen)
{
	struct cache_conf	*cc = conf;

	if (conf_check_writable(conf, "db_path", cc->cc_db_path, 0, err,
	    errlen) == -1)
		return -1;
	return link_keys_check(conf, ROLE_CACHE, err, errlen);
}

/*
 * Master: open the database once, creating or migrating the schema, and
 * close it again, so a bad db_path fails before any child is forked.
 * Children open their own connection: SQLite handles must not cross a
 * fork.
 */
static int
cache_master_init(void *conf, int reload)
{
	struct cache_conf	*cc = conf;
	struct cache_db		*db;
	char			 err[512];

	if ((db = cache_db_open(cc->cc_db_path, err, sizeof(err))) == NULL) {
		log_errx("db_path %s: %s", cc->cc_db_path, err);
		if (!reload)
			fprintf(stderr, "whoisd-cache: db_path %s: %s\n",
			    cc->cc_db_path, err);
		return -1;
	}
	cache_db_close(db);
	log_info("database %s ready", cc->cc_db_path);
	if (cache_metrics_master_init() == -1)
		return -1;
	return link_keys_master(conf, ROLE_CACHE, "whoisd-cache", reload);
}

static void
cache_child_init(struct event_base *base, void *conf)
{
	struct cache_conf	*cc = conf;
	char			 err[512];

	if ((cache_dbh = cache_db_open(cc->cc_db_path, err, sizeof(err))) ==
	    NULL)
		fatalx("db_path %s: %s", cc->cc_db_path, err);
	cache_metrics_child_init();
	cache_serve_init(base, cache_dbh);
	cache_reply_init(base);
	cache_wait_init(base);
}

static void
cache_child_accept(struct listener *l, int fd, struct sockaddr *sa,
    socklen_t salen)
{
	(void)l;
	cache_serve_accept(fd, sa, salen);
}

static void
cache_child_exit(void)
{
	cache_wait_fini();
	cache_reply_exit();
	cache_serve_exit();
	if (cache_dbh != NULL) {
		cache_db_close(cache_dbh);
		cache_dbh = NULL;
	}
}

static const struct pool_daemon cache_daemon = {
	.pd_name = "whoisd-cache",
	.pd_spec = &cache_spec,
	.pd_master_init = cache_master_init,
	.pd_child_init = cache_child_init,
	.pd_child_accept = cache_child_accept,
	.pd_child_drain = cache_serve_drain,
	.pd_child_exit = cache_child_exit,
	.pd_default_listen = "127.0.0.1:4701",
};

int
main(int argc, char **argv)
{
	return pool_main(&cache_daemon, argc, argv);
}
