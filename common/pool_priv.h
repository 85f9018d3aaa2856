/*
 * pool_priv.h — what the pool's master (pool_master.c) and its children
 * (pool_child.c) share through pool.c; the daemons see only pool.h.
 */
#ifndef WHOISD_POOL_PRIV_H
#define WHOISD_POOL_PRIV_H

#include <stddef.h>
#include <stdint.h>

#include "common/net.h"
#include "common/pool.h"

#define SB_MAX			1024	/* ceiling on max_servers */

/* Fields shared with children through the scoreboard mapping. */
struct sb_head {
	volatile uint32_t	 sh_gen;
	volatile pid_t		 sh_master;
	volatile uint64_t	 sh_spawned;
	volatile uint64_t	 sh_reaped;
	volatile uint64_t	 sh_killed;
};

/* Private per-child flag, beside the public sb_slot fields. */
struct sb_priv {
	volatile int		 sp_want_retire;
	volatile double		 sp_heartbeat;	/* monotonic */
};

/*
 * Set up by the master before it forks, so every child inherits them
 * (pool.c).
 */
extern const struct pool_daemon	*pool_pd;
extern void			*pool_cf;	/* conf in effect */
extern struct listener		 pool_ls[NET_MAX_LISTENERS];
extern int			 pool_nls;
extern struct sb_head		*pool_sb_head;
extern struct sb_slot		*pool_sb;	/* SB_MAX slots */
extern struct sb_priv		*pool_sb_priv;	/* SB_MAX slots */
extern int			 pool_alive_pipe[2];

static inline struct pool_conf *
pc(void)
{
	return pool_cf;
}

/* pool.c */
int	pool_apply_conf(void *conf, char *err, size_t errlen);
int	pool_open_listeners(void *conf, char *err, size_t errlen);
void	pool_close_listeners(void);
void	pool_scoreboard_map(void);

/* pool_child.c */
void	pool_child_main(int slot) __attribute__((noreturn));

#endif
