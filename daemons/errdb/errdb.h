/*
 * errdb.h — whoisd-errdb: the global error DB.  Every host's daemons
 * report error events here; health and back-off per registry are
 * derived from them when asked (errdb_db.h).
 *
 * main.c holds the config and the pool callbacks; serve.c answers the
 * requests of one child and runs the retention prune (slot-0 child);
 * errdb_db.c is the SQLite layer.
 */
#ifndef WHOISD_ERRDB_H
#define WHOISD_ERRDB_H

#include <sys/socket.h>

#include <stdint.h>

#include "common/pool.h"

struct event_base;
struct errdb_db;

struct errdb_conf {
	struct pool_conf	 ec_pool;
	char			*ec_db_path;
	double			 ec_retention;		/* days */
	double			 ec_prune_interval;	/* seconds */
	long			 ec_max_frame;
	long			 ec_compress_min;
	double			 ec_link_frame_timeout;
	double			 ec_link_hello_timeout;
	double			 ec_link_idle_timeout;
};

/* main.c */
struct errdb_conf *errdb_conf(void);

/* serve.c */
void		 errdb_serve_init(struct event_base *, struct errdb_db *);
void		 errdb_serve_accept(int fd, const struct sockaddr *, socklen_t);
void		 errdb_serve_drain(void);
void		 errdb_serve_exit(void);

/* This child's counters (serve.c). */
struct errdb_counters {
	uint64_t	added;
	uint64_t	dups;
	uint64_t	health;
	uint64_t	lists;
	uint64_t	pruned;
	uint64_t	cleared;
};
int	errdb_metrics_master_init(void);

#endif
