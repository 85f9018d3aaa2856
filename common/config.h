/*
 * config.h — one table-driven `key value` parser for every daemon.
 *
 * A daemon's config struct starts with `struct pool_conf` (the pool's
 * keys, shared by all daemons) followed by its own fields, described by
 * its own key table.  The same tables read the file and `--key=value`
 * flags (the command line wins).  Errors come back as "file:line: key: msg".
 */
#ifndef WHOISD_CONFIG_H
#define WHOISD_CONFIG_H

#include <stddef.h>
#include <stdio.h>

enum conf_type {
	CONF_INT,	/* long, bounded by min/max */
	CONF_DOUBLE,	/* double (seconds and the like), bounded by min/max */
	CONF_BOOL,	/* 0/1, yes/no, on/off, true/false */
	CONF_STR,	/* char *, strdup'd */
	CONF_LIST,	/* struct conf_list: repeatable key */
	CONF_ADDR,	/* char * "host:port" to connect to, checked */
	CONF_LISTEN,	/* struct conf_list: repeatable "host:port" to bind */
	CONF_CIDRS,	/* struct conf_list: repeatable CIDR, checked */
	CONF_BYTES,	/* long, accepts k/K, m/M suffixes */
	/* A key a daemon no longer reads: accepted with a warning, so a
	 * config written for the previous version still starts it. */
	CONF_OBSOLETE,
};

struct conf_list {
	char	**cl_items;
	int	  cl_n;
};

struct conf_key {
	const char	*ck_name;
	enum conf_type	 ck_type;
	size_t		 ck_off;	/* offsetof() into the daemon's conf */
	double		 ck_min;
	double		 ck_max;
	const char	*ck_default;	/* NULL: no default (empty string / list) */
	const char	*ck_help;
};

/* The pool's own keys, in every daemon (see pool.h: struct pool_conf). */
extern const struct conf_key pool_conf_keys[];

struct conf_spec {
	const char		*cs_daemon;	/* "whoisd-cache" */
	const struct conf_key	*cs_keys;	/* daemon keys, ends with a NULL name */
	size_t			 cs_size;	/* sizeof the daemon's conf struct */
	const char		*cs_file;	/* default -f path */
	/* Cross-key checks after loading; 0 or -1 with err filled. */
	int			(*cs_check)(void *conf, char *err, size_t errlen);
	/* This daemon's own defaults for pool keys: "min_servers=2 ...". */
	const char		*cs_pool_defaults;
};

/*
 * Parse argv (-f FILE, --key=value, --help, --version, -n) and the file.
 * Returns a malloc'd conf of spec->cs_size bytes, or NULL with err filled.
 * *action is set to 'r' (run), 'h' (help printed), 'v' (version printed),
 * or 'n' (config checked).
 */
void	*conf_load(const struct conf_spec *spec, int argc, char **argv,
	    char *err, size_t errlen, int *action);
void	 conf_free(const struct conf_spec *spec, void *conf);
void	 conf_usage(const struct conf_spec *spec, FILE *fp);
const char *conf_path(void *conf);	/* the -f file in use */

/*
 * For cs_check functions: fill err with "file:line: key: msg" (where the
 * key was last set by the conf_load() in progress, the command line, or
 * its default) and return -1.
 */
int	 conf_keyerr(char *err, size_t errlen, const char *key,
	    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/*
 * Can the user the daemon will run as (`user`/`group` when started as
 * root, else this process) create files in path's directory, and write
 * path itself if it exists?  0, or -1 with err filled as conf_keyerr().
 */
int	 conf_check_writable(void *conf, const char *key, const char *path,
	    int isdir, char *err, size_t errlen);

#endif
