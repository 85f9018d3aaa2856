/*
 * main.c — whoisd-errdb: config and the pool callbacks.  The requests
 * are answered in serve.c, SQLite is errdb_db.c.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "common/log.h"
#include "common/pool.h"
#include "common/util.h"
#include "daemons/errdb/errdb.h"
#include "daemons/errdb/errdb_db.h"
#include "proto/auth.h"

#ifndef SYSCONF_WHOISD
#define SYSCONF_WHOISD	"etc"
#endif

#define ECOFF(f)	offsetof(struct errdb_conf, f)
static const struct conf_key errdb_keys[] = {
	{ "db_path", CONF_STR, ECOFF(ec_db_path), 0, 0,
	  "/tmp/whoisd-errdb.db", "SQLite file of the error events" },
	{ "retention", CONF_DOUBLE, ECOFF(ec_retention), 0.0001, 36500, "30",
	  "days an error event is kept" },
	{ "prune_interval", CONF_DOUBLE, ECOFF(ec_prune_interval), 0.1, 86400,
	  "600", "seconds between retention prunes (by one child)" },
	{ "max_frame", CONF_BYTES, ECOFF(ec_max_frame), 1024, 1 << 30, "16M",
	  "largest internal frame" },
	{ "compress_min", CONF_BYTES, ECOFF(ec_compress_min), 0, 1 << 30,
	  "8k", "frame bodies above this are deflated (0 = never)" },
	{ "link_frame_timeout", CONF_DOUBLE, ECOFF(ec_link_frame_timeout), 0.1,
	  3600, "10", "seconds an internal frame may take from its first byte "
	  "to its last" },
	{ "link_hello_timeout", CONF_DOUBLE, ECOFF(ec_link_hello_timeout), 0.1,
	  3600, "10", "seconds a new link may stay silent before goaway" },
	{ "link_idle_timeout", CONF_DOUBLE, ECOFF(ec_link_idle_timeout), 0.1,
	  86400, "300", "seconds a link with nothing in flight is kept (clients "
	  "ping theirs every 60)" },
	{ NULL, 0, 0, 0, 0, NULL, NULL }
};

static int	errdb_check(void *, char *, size_t);

static const struct conf_spec errdb_spec = {
	"whoisd-errdb", errdb_keys, sizeof(struct errdb_conf),
	SYSCONF_WHOISD "/whoisd-errdb.conf", errdb_check, NULL
};

static struct errdb_db	*errdb_dbh;

struct errdb_conf *
errdb_conf(void)
{
	return pool_conf();
}

/* SQLite writes its WAL and lock files beside the database; the keys
 * are read before any port is bound. */
static int
errdb_check(void *conf, char *err, size_t errlen)
{
	struct errdb_conf	*ec = conf;

	if (conf_check_writable(conf, "db_path", ec->ec_db_path, 0, err,
	    errlen) == -1)
		return -1;
	return link_keys_check(conf, ROLE_ERRDB, err, errlen);
}

/*
 * Master: open (create, migrate) and close the database, so a bad
 * db_path fails before forking; each child opens its own connection.
 */
static int
errdb_master_init(void *conf, int reload)
{
	struct errdb_conf	*ec = conf;
	struct errdb_db		*db;
	char			 err[512];

	if ((db = errdb_db_open(ec->ec_db_path, err, sizeof(err))) == NULL) {
		log_errx("db_path %s: %s", ec->ec_db_path, err);
		if (!reload)
			fprintf(stderr, "whoisd-errdb: db_path %s: %s\n",
			    ec->ec_db_path, err);
		return -1;
	}
	errdb_db_close(db);
	log_info("database %s ready", ec->ec_db_path);
	if (errdb_metrics_master_init() == -1)
		return -1;
	return link_keys_master(conf, ROLE_ERRDB, "whoisd-errdb", reload);
}

static void
errdb_child_init(struct event_base *base, void *conf)
{
	struct errdb_conf	*ec = conf;
	char			 err[512];

	if ((errdb_dbh = errdb_db_open(ec->ec_db_path, err, sizeof(err))) ==
	    NULL)
		fatalx("db_path %s: %s", ec->ec_db_path, err);
	errdb_serve_init(base, errdb_dbh);
}

static void
errdb_child_accept(struct listener *l, int fd, struct sockaddr *sa,
    socklen_t salen)
{
	(void)l;
	errdb_serve_accept(fd, sa, salen);
}

static void
errdb_child_exit(void)
{
	errdb_serve_exit();
	if (errdb_dbh != NULL) {
		errdb_db_close(errdb_dbh);
		errdb_dbh = NULL;
	}
}

static const struct pool_daemon errdb_daemon = {
	.pd_name = "whoisd-errdb",
	.pd_spec = &errdb_spec,
	.pd_master_init = errdb_master_init,
	.pd_child_init = errdb_child_init,
	.pd_child_accept = errdb_child_accept,
	.pd_child_drain = errdb_serve_drain,
	.pd_child_exit = errdb_child_exit,
	.pd_default_listen = "127.0.0.1:4703",
};

int
main(int argc, char **argv)
{
	return pool_main(&errdb_daemon, argc, argv);
}
