/*
 * config.c — the one `key value` parser, driven by key tables.
 *
 * The file format is Net::Server's: one `key value` per line (`key =
 * value` is accepted too), `#` starts a comment, blank lines are skipped,
 * repeatable keys (CONF_LIST) accumulate.  The same tables parse
 * `--key=value` on the command line, which wins over the file: a list
 * given on the command line replaces the file's list.  Every error names
 * the file, the line and the key, and nothing has been bound yet when it
 * is reported.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <grp.h>
#include <libgen.h>
#include <math.h>
#include <netdb.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/config.h"
#include "common/log.h"
#include "common/net.h"
#include "common/pool.h"
#include "common/util.h"

#define POOLOFF(f)	offsetof(struct pool_conf, f)

/*
 * Net::Server's meanings, with defaults for event-driven children: one
 * child serves max_clients_per_child connections at once, so one per
 * daemon fills a core, and four daemons fit a 2-core machine at rest.
 */
const struct conf_key pool_conf_keys[] = {
	{ "min_servers", CONF_INT, POOLOFF(pc_min_servers), 1, 4096, "1",
	  "children started at boot" },
	{ "max_servers", CONF_INT, POOLOFF(pc_max_servers), 1, 1024, "4",
	  "hard ceiling on children" },
	{ "min_spare_servers", CONF_INT, POOLOFF(pc_min_spare_servers), 0, 4096,
	  "1", "children able to take a client kept at least" },
	{ "max_spare_servers", CONF_INT, POOLOFF(pc_max_spare_servers), 1, 4096,
	  "2", "idle children kept at most" },
	{ "max_requests", CONF_INT, POOLOFF(pc_max_requests), 0, 1e12, "0",
	  "requests a child serves before it retires (0 = never)" },
	{ "max_requests_jitter", CONF_INT, POOLOFF(pc_max_requests_jitter), 0,
	  1e12, "0", "random 0..N added to max_requests per child" },
	{ "max_clients_per_child", CONF_INT, POOLOFF(pc_max_clients_per_child),
	  1, 65536, "256", "concurrent connections one child serves" },
	{ "child_timeout", CONF_DOUBLE, POOLOFF(pc_child_timeout), 0, 86400,
	  "60", "seconds one request may keep a child busy (0 = off)" },
	{ "check_for_dead", CONF_DOUBLE, POOLOFF(pc_check_for_dead), 0.05, 3600,
	  "30", "seconds between sweeps for children that died unseen" },
	{ "spawn_rate_max", CONF_INT, POOLOFF(pc_spawn_rate_max), 1, 1024, "32",
	  "children forked per second at most" },
	{ "shutdown_timeout", CONF_DOUBLE, POOLOFF(pc_shutdown_timeout), 0,
	  86400, "30", "seconds QUIT waits for in-flight requests" },
	{ "serialize", CONF_STR, POOLOFF(pc_serialize), 0, 0, "epoll",
	  "accept model: epoll (EPOLLEXCLUSIVE, default) or none" },
	{ "user", CONF_STR, POOLOFF(pc_user), 0, 0, NULL,
	  "drop privileges to this user after binding" },
	{ "group", CONF_STR, POOLOFF(pc_group), 0, 0, NULL,
	  "drop privileges to this group after binding" },
	{ "pid_file", CONF_STR, POOLOFF(pc_pid_file), 0, 0, NULL,
	  "write the master's pid here" },
	{ "status_file", CONF_STR, POOLOFF(pc_status_file), 0, 0, NULL,
	  "the master's state, for whoisctl reload" },
	{ "log_file", CONF_STR, POOLOFF(pc_log_file), 0, 0, "stderr",
	  "stderr (sd-daemon <N> prefixes when it is the journal's stream), "
	  "stderr-sd (always), syslog, journal (structured fields), or a file "
	  "path" },
	{ "log_level", CONF_INT, POOLOFF(pc_log_level), 0, 4, "2",
	  "0 errors .. 4 debug" },
	{ "background", CONF_BOOL, POOLOFF(pc_background), 0, 1, "0",
	  "detach from the terminal (not under systemd)" },
	{ "listen_backlog", CONF_INT, POOLOFF(pc_listen_backlog), 1, 65535,
	  "1024", "listen(2) backlog" },
	{ "listen", CONF_LISTEN, POOLOFF(pc_listen), 0, 0, NULL,
	  "repeatable host:port to listen on" },
	{ "metrics_listen", CONF_LISTEN, POOLOFF(pc_metrics_listen), 0, 0, NULL,
	  "repeatable host:port serving GET /metrics (Prometheus)" },
	{ "cidr_allow", CONF_CIDRS, POOLOFF(pc_cidr_allow), 0, 0, NULL,
	  "repeatable CIDR allowed to connect" },
	{ "cidr_deny", CONF_CIDRS, POOLOFF(pc_cidr_deny), 0, 0, NULL,
	  "repeatable CIDR refused" },
	{ "link_keys", CONF_STR, POOLOFF(pc_link_keys), 0, 0,
	  "/etc/whoisd/keys", "directory of the internal links' role keys "
	  "(whoisctl keygen)" },
	{ "link_auth", CONF_STR, POOLOFF(pc_link_auth), 0, 0, "require",
	  "require: internal peers prove their role; prefer: also serve "
	  "the previous version's, during an upgrade" },
	{ NULL, 0, 0, 0, 0, NULL, NULL }
};

/*
 * Where the conf_load() in progress set each key (line 0: the command
 * line), so checks made after reading still name the file, line and key.
 */
struct conf_origin {
	const char	*co_name;
	int		 co_line;
};
static struct conf_origin	 conf_origins[128];
static int			 conf_norigins;
static const char		*conf_cur_path = "(defaults)";
static int			 conf_located;	/* err already says where */

static void
conf_origin_set(const struct conf_key *k, int line)
{
	int	i;

	for (i = 0; i < conf_norigins; i++)
		if (strcmp(conf_origins[i].co_name, k->ck_name) == 0)
			break;
	if (i == conf_norigins) {
		if (conf_norigins == (int)nitems(conf_origins))
			return;
		conf_norigins++;
	}
	conf_origins[i].co_name = k->ck_name;
	conf_origins[i].co_line = line;
}

int
conf_keyerr(char *err, size_t errlen, const char *key, const char *fmt, ...)
{
	char	msg[512];
	va_list	ap;
	int	i;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	for (i = 0; i < conf_norigins; i++)
		if (strcmp(conf_origins[i].co_name, key) == 0)
			break;
	if (i == conf_norigins)
		snprintf(err, errlen, "%s: %s: %s (the default)", conf_cur_path,
		    key, msg);
	else if (conf_origins[i].co_line == 0)
		snprintf(err, errlen, "command line: %s: %s", key, msg);
	else
		snprintf(err, errlen, "%s:%d: %s: %s", conf_cur_path,
		    conf_origins[i].co_line, key, msg);
	conf_located = 1;
	return -1;
}

static int
conf_is_list(const struct conf_key *k)
{
	return k->ck_type == CONF_LIST || k->ck_type == CONF_LISTEN ||
	    k->ck_type == CONF_CIDRS;
}

/*
 * A host:port that parses, with a port a socket can use, and a host that
 * is an address, "*" (listen only) or a well-formed name; a name to
 * listen on must resolve, since binding needs it to.
 */
static int
conf_check_addr(const char *val, int listen, char *err, size_t errlen)
{
	struct addrinfo	 hints, *res;
	unsigned char	 a[sizeof(struct in6_addr)];
	char		 host[256];
	const char	*p;
	int		 port, rc;

	if (parse_hostport(val, host, sizeof(host), &port, err, errlen) == -1)
		return -1;
	if (port < 1 || port > 65535) {
		snprintf(err, errlen, "\"%s\": port %d out of range 1..65535",
		    val, port);
		return -1;
	}
	if (inet_pton(AF_INET, host, a) == 1 ||
	    inet_pton(AF_INET6, host, a) == 1 ||
	    (listen && strcmp(host, "*") == 0))
		return 0;
	for (p = host; *p != '\0'; p++)
		if (!isalnum((unsigned char)*p) && *p != '-' && *p != '.' &&
		    *p != '_')
			break;
	if (*p != '\0' || host[0] == '-' || host[0] == '.') {
		snprintf(err, errlen, "\"%s\": bad host", val);
		return -1;
	}
	if (!listen)
		return 0;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE;
	if ((rc = getaddrinfo(host, NULL, &hints, &res)) != 0) {
		snprintf(err, errlen, "\"%s\": %s", val, gai_strerror(rc));
		return -1;
	}
	freeaddrinfo(res);
	return 0;
}

static const struct conf_key *
conf_find(const struct conf_spec *spec, const char *name, size_t namelen)
{
	const struct conf_key	*tabs[2] = { pool_conf_keys, spec->cs_keys };
	const struct conf_key	*k;
	int			 i;

	for (i = 0; i < 2; i++) {
		if (tabs[i] == NULL)
			continue;
		for (k = tabs[i]; k->ck_name != NULL; k++)
			if (strlen(k->ck_name) == namelen &&
			    strncmp(k->ck_name, name, namelen) == 0)
				return k;
	}
	return NULL;
}

static void
conf_list_clear(struct conf_list *l)
{
	int	i;

	for (i = 0; i < l->cl_n; i++)
		free(l->cl_items[i]);
	free(l->cl_items);
	l->cl_items = NULL;
	l->cl_n = 0;
}

/* Store one value; 0 or -1 with err ("bad value"). */
static int
conf_set(void *conf, const struct conf_key *k, const char *val, char *err,
    size_t errlen)
{
	char			*p = (char *)conf + k->ck_off;
	char			*end;
	double			 d, mult = 1;
	struct conf_list	*l;
	struct cidr		 cidr;

	switch (k->ck_type) {
	case CONF_INT:
	case CONF_BYTES:
		errno = 0;
		d = strtod(val, &end);
		if (k->ck_type == CONF_BYTES && end != val) {
			if (*end == 'k' || *end == 'K')
				mult = 1024, end++;
			else if (*end == 'm' || *end == 'M')
				mult = 1024 * 1024, end++;
		}
		if (end == val || *end != '\0' || errno != 0 ||
		    d != floor(d)) {
			snprintf(err, errlen, "\"%s\" is not an integer", val);
			return -1;
		}
		d *= mult;
		if (d < k->ck_min || d > k->ck_max) {
			snprintf(err, errlen, "%s out of range %.0f..%.0f", val,
			    k->ck_min, k->ck_max);
			return -1;
		}
		*(long *)p = (long)d;
		return 0;
	case CONF_DOUBLE:
		errno = 0;
		d = strtod(val, &end);
		if (end == val || *end != '\0' || errno != 0 || isnan(d)) {
			snprintf(err, errlen, "\"%s\" is not a number", val);
			return -1;
		}
		if (d < k->ck_min || d > k->ck_max) {
			snprintf(err, errlen, "%s out of range %g..%g", val,
			    k->ck_min, k->ck_max);
			return -1;
		}
		*(double *)p = d;
		return 0;
	case CONF_BOOL:
		if (!strcmp(val, "1") || !strcasecmp(val, "yes") ||
		    !strcasecmp(val, "on") || !strcasecmp(val, "true"))
			*(int *)p = 1;
		else if (!strcmp(val, "0") || !strcasecmp(val, "no") ||
		    !strcasecmp(val, "off") || !strcasecmp(val, "false"))
			*(int *)p = 0;
		else {
			snprintf(err, errlen, "\"%s\" is not a boolean", val);
			return -1;
		}
		return 0;
	case CONF_ADDR:
		if (*val != '\0' && conf_check_addr(val, 0, err, errlen) == -1)
			return -1;
		/* FALLTHROUGH */
	case CONF_STR:
		free(*(char **)p);
		*(char **)p = xstrdup(val);
		return 0;
	case CONF_LISTEN:
		if (conf_check_addr(val, 1, err, errlen) == -1)
			return -1;
		goto list;
	case CONF_CIDRS:
		if (cidr_parse(val, &cidr, err, errlen) == -1)
			return -1;
		/* FALLTHROUGH */
	case CONF_LIST:
	list:
		l = (struct conf_list *)p;
		l->cl_items = xrealloc(l->cl_items,
		    (l->cl_n + 1) * sizeof(char *));
		l->cl_items[l->cl_n++] = xstrdup(val);
		return 0;
	case CONF_OBSOLETE:
		log_warnx("%s: obsolete key, ignored (%s)", k->ck_name,
		    k->ck_help);
		return 0;
	}
	snprintf(err, errlen, "internal: bad key type");
	return -1;
}

static int
conf_defaults(const struct conf_spec *spec, void *conf, char *err,
    size_t errlen)
{
	const struct conf_key	*tabs[2] = { pool_conf_keys, spec->cs_keys };
	const struct conf_key	*k;
	char			 e[256];
	int			 i;

	for (i = 0; i < 2; i++) {
		if (tabs[i] == NULL)
			continue;
		for (k = tabs[i]; k->ck_name != NULL; k++) {
			if (k->ck_default == NULL)
				continue;
			if (conf_set(conf, k, k->ck_default, e, sizeof(e)) == -1) {
				snprintf(err, errlen, "default of %s: %s",
				    k->ck_name, e);
				return -1;
			}
		}
	}
	if (spec->cs_pool_defaults != NULL) {
		char	*copy = xstrdup(spec->cs_pool_defaults), *tok, *save;
		char	*eq;

		for (tok = strtok_r(copy, " ", &save); tok != NULL;
		    tok = strtok_r(NULL, " ", &save)) {
			if ((eq = strchr(tok, '=')) == NULL ||
			    (k = conf_find(spec, tok, eq - tok)) == NULL ||
			    conf_set(conf, k, eq + 1, e, sizeof(e)) == -1) {
				snprintf(err, errlen, "bad pool default %s", tok);
				free(copy);
				return -1;
			}
		}
		free(copy);
	}
	return 0;
}

static char *
conf_trim(char *s)
{
	char	*e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

/*
 * Read the file.  `given` marks keys set on the command line: those lines
 * are skipped so the command line wins.
 */
static int
conf_read_file(const struct conf_spec *spec, void *conf, const char *path,
    const char **given, int ngiven, char *err, size_t errlen)
{
	FILE			*fp;
	char			*line = NULL, *s, *v, *hash, e[256];
	size_t			 cap = 0;
	ssize_t			 len;
	int			 lineno = 0, i, skip;
	const struct conf_key	*k, *seen[32];
	int			 nseen = 0;

	if ((fp = fopen(path, "r")) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	while ((len = getline(&line, &cap, fp)) != -1) {
		lineno++;
		if (memchr(line, '\0', len) != NULL) {
			snprintf(err, errlen, "%s:%d: binary data in config",
			    path, lineno);
			goto fail;
		}
		/* A '#' starts a comment unless the value needs one (none does). */
		if ((hash = strchr(line, '#')) != NULL)
			*hash = '\0';
		s = conf_trim(line);
		if (*s == '\0')
			continue;
		v = s + strcspn(s, " \t=");
		k = conf_find(spec, s, v - s);
		if (k == NULL) {
			*v = '\0';
			snprintf(err, errlen, "%s:%d: %s: unknown key", path,
			    lineno, s);
			goto fail;
		}
		v += strspn(v, " \t");
		if (*v == '=')
			v = conf_trim(v + 1);
		if (*v == '\0' && k->ck_type != CONF_STR) {
			snprintf(err, errlen, "%s:%d: %s: missing value", path,
			    lineno, k->ck_name);
			goto fail;
		}
		for (skip = 0, i = 0; i < ngiven; i++)
			if (strcmp(given[i], k->ck_name) == 0)
				skip = 1;
		if (skip)
			continue;
		/* The file's first value of a list replaces the default list. */
		if (conf_is_list(k) && k->ck_default != NULL) {
			for (i = 0; i < nseen; i++)
				if (seen[i] == k)
					break;
			if (i == nseen) {
				conf_list_clear((struct conf_list *)
				    ((char *)conf + k->ck_off));
				if (nseen < (int)nitems(seen))
					seen[nseen++] = k;
			}
		}
		if (conf_set(conf, k, v, e, sizeof(e)) == -1) {
			snprintf(err, errlen, "%s:%d: %s: %s", path, lineno,
			    k->ck_name, e);
			goto fail;
		}
		conf_origin_set(k, lineno);
	}
	free(line);
	fclose(fp);
	return 0;
fail:
	free(line);
	fclose(fp);
	return -1;
}

/*
 * The user and group the daemon will run as: `user`/`group` when started
 * as root (the pool drops to them), else this process's own.  0, or -1
 * with err filled.
 */
static int
conf_runas(struct pool_conf *pc, uid_t *uid, gid_t *gid, int *dropping,
    char *err, size_t errlen)
{
	struct passwd	*pw;
	struct group	*gr;

	*uid = geteuid();
	*gid = getegid();
	*dropping = 0;
	if (pc->pc_user != NULL && *pc->pc_user != '\0') {
		if ((pw = getpwnam(pc->pc_user)) == NULL)
			return conf_keyerr(err, errlen, "user", "no such user "
			    "\"%s\"", pc->pc_user);
		if (*uid == 0) {
			*uid = pw->pw_uid;
			*gid = pw->pw_gid;
			*dropping = 1;
		}
	}
	if (pc->pc_group != NULL && *pc->pc_group != '\0') {
		if ((gr = getgrnam(pc->pc_group)) == NULL)
			return conf_keyerr(err, errlen, "group", "no such group "
			    "\"%s\"", pc->pc_group);
		if (*dropping)
			*gid = gr->gr_gid;
	}
	return 0;
}

/* Write and search permission on st for uid/gid (after a drop to them). */
static int
conf_mode_allows(const struct stat *st, uid_t uid, gid_t gid, int dir)
{
	mode_t	w = dir ? S_IWOTH | S_IXOTH : S_IWOTH;

	if (uid == 0)
		return 1;
	if (st->st_uid == uid)
		w <<= 6;
	else if (st->st_gid == gid)
		w <<= 3;
	return (st->st_mode & w) == w;
}

int
conf_check_writable(void *conf, const char *key, const char *path,
    int isdir, char *err, size_t errlen)
{
	struct stat	 st;
	uid_t		 uid;
	gid_t		 gid;
	int		 dropping, exists;
	char		*copy, *dir;
	const char	*who;

	if (path == NULL || *path == '\0')
		return 0;
	if (conf_runas(conf, &uid, &gid, &dropping, err, errlen) == -1)
		return -1;
	who = dropping ? ((struct pool_conf *)conf)->pc_user : "this process";
	exists = stat(path, &st) == 0;
	if (exists && isdir && !S_ISDIR(st.st_mode))
		return conf_keyerr(err, errlen, key, "%s is not a directory",
		    path);
	if (exists && !isdir && S_ISDIR(st.st_mode))
		return conf_keyerr(err, errlen, key, "%s is a directory", path);
	if (exists && (dropping ? !conf_mode_allows(&st, uid, gid, isdir) :
	    access(path, isdir ? W_OK | X_OK : W_OK) == -1))
		return conf_keyerr(err, errlen, key, "%s is not writable by %s",
		    path, who);
	/* A file (and a missing directory) is created in its parent. */
	if (isdir && exists)
		return 0;
	copy = xstrdup(path);
	dir = dirname(copy);
	if (stat(dir, &st) == -1) {
		conf_keyerr(err, errlen, key, "%s: directory %s: %s", path, dir,
		    strerror(errno));
		free(copy);
		return -1;
	}
	if (dropping ? !conf_mode_allows(&st, uid, gid, 1) :
	    access(dir, W_OK | X_OK) == -1) {
		conf_keyerr(err, errlen, key, "%s: directory %s is not "
		    "writable by %s", path, dir, who);
		free(copy);
		return -1;
	}
	free(copy);
	return 0;
}

/* Net::Server's consistency rules for the pool's numbers, and what the
 * pool will need of the system (users, the log file). */
static int
conf_check_pool(struct pool_conf *pc, char *err, size_t errlen)
{
	uid_t	uid;
	gid_t	gid;
	int	dropping;

	if (strcmp(pc->pc_link_auth, "require") != 0 &&
	    strcmp(pc->pc_link_auth, "prefer") != 0)
		return conf_keyerr(err, errlen, "link_auth", "\"%s\" is "
		    "neither require nor prefer", pc->pc_link_auth);
	if (pc->pc_max_servers < pc->pc_min_servers)
		return conf_keyerr(err, errlen, "max_servers", "max_servers "
		    "(%ld) must be >= min_servers (%ld)", pc->pc_max_servers,
		    pc->pc_min_servers);
	if (pc->pc_min_spare_servers > pc->pc_max_spare_servers)
		return conf_keyerr(err, errlen, "min_spare_servers",
		    "min_spare_servers (%ld) must be <= max_spare_servers "
		    "(%ld)", pc->pc_min_spare_servers, pc->pc_max_spare_servers);
	if (pc->pc_max_spare_servers >= pc->pc_max_servers &&
	    pc->pc_max_servers > 1)
		return conf_keyerr(err, errlen, "max_spare_servers",
		    "max_spare_servers (%ld) must be < max_servers (%ld)",
		    pc->pc_max_spare_servers, pc->pc_max_servers);
	if (pc->pc_min_spare_servers >= pc->pc_max_servers &&
	    pc->pc_min_spare_servers > 0)
		return conf_keyerr(err, errlen, "min_spare_servers",
		    "min_spare_servers (%ld) must be < max_servers (%ld)",
		    pc->pc_min_spare_servers, pc->pc_max_servers);
	if (strcmp(pc->pc_serialize, "epoll") != 0 &&
	    strcmp(pc->pc_serialize, "none") != 0)
		return conf_keyerr(err, errlen, "serialize", "\"%s\" is not "
		    "supported (epoll or none; see docs/architecture.md)",
		    pc->pc_serialize);
	if (pc->pc_group != NULL && pc->pc_user == NULL)
		return conf_keyerr(err, errlen, "group", "group is set but "
		    "user is not");
	if (conf_runas(pc, &uid, &gid, &dropping, err, errlen) == -1)
		return -1;
	if (pc->pc_log_file != NULL && strcmp(pc->pc_log_file, "stderr") != 0 &&
	    strcmp(pc->pc_log_file, "syslog") != 0 &&
	    strcmp(pc->pc_log_file, "journal") != 0 &&
	    conf_check_writable(pc, "log_file", pc->pc_log_file, 0, err,
	    errlen) == -1)
		return -1;
	return 0;
}

/* The default a --help shows: the daemon's own for a pool key, if any. */
static const char *
conf_default_of(const struct conf_spec *spec, const struct conf_key *k,
    char *buf, size_t len)
{
	const char	*p = spec->cs_pool_defaults;
	size_t		 n = strlen(k->ck_name);

	while (p != NULL && *p != '\0') {
		p += strspn(p, " ");
		if (strncmp(p, k->ck_name, n) == 0 && p[n] == '=') {
			snprintf(buf, len, "%.*s", (int)strcspn(p + n + 1, " "),
			    p + n + 1);
			return buf;
		}
		p += strcspn(p, " ");
	}
	return k->ck_default;
}

void
conf_usage(const struct conf_spec *spec, FILE *fp)
{
	const struct conf_key	*tabs[2] = { spec->cs_keys, pool_conf_keys };
	const char		*titles[2] = { "daemon keys", "pool keys" };
	const struct conf_key	*k;
	const char		*def;
	char			 buf[64];
	int			 i;

	fprintf(fp, "usage: %s [-n] [-f FILE] [--key=value ...]\n"
	    "  -f FILE      config file (default %s)\n"
	    "  -n           check the configuration and exit\n"
	    "  --help       this text\n"
	    "  --version    print the version and protocol version\n",
	    spec->cs_daemon, spec->cs_file);
	for (i = 0; i < 2; i++) {
		if (tabs[i] == NULL || tabs[i]->ck_name == NULL)
			continue;
		fprintf(fp, "\n%s (in the file as `key value`, or --key=value):\n",
		    titles[i]);
		for (k = tabs[i]; k->ck_name != NULL; k++) {
			if (k->ck_type == CONF_OBSOLETE)
				continue;
			def = conf_default_of(spec, k, buf, sizeof(buf));
			fprintf(fp, "  %-24s %s%s%s%s\n", k->ck_name, k->ck_help,
			    def ? " [" : "", def ? def : "", def ? "]" : "");
		}
	}
}

void *
conf_load(const struct conf_spec *spec, int argc, char **argv, char *err,
    size_t errlen, int *action)
{
	void			*conf;
	struct pool_conf	*pc;
	const char		*path = spec->cs_file;
	const char		**given;
	const struct conf_key	*k;
	char			 e[256], *eq;
	int			 i, ngiven = 0, path_given = 0;

	*action = 'r';
	conf_norigins = 0;
	conf_located = 0;
	conf_cur_path = "(defaults)";
	conf = xcalloc(1, spec->cs_size);
	given = xcalloc(argc + 1, sizeof(char *));
	if (conf_defaults(spec, conf, err, errlen) == -1)
		goto fail;

	/* First pass: -f, --help, --version, -n. */
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-f") == 0) {
			if (i + 1 >= argc) {
				snprintf(err, errlen, "-f needs a file name");
				goto fail;
			}
			path = argv[++i];
			path_given = 1;
		} else if (strncmp(argv[i], "-f", 2) == 0 && argv[i][2] != '-') {
			path = argv[i] + 2;
			path_given = 1;
		} else if (strcmp(argv[i], "--help") == 0 ||
		    strcmp(argv[i], "-h") == 0) {
			conf_usage(spec, stdout);
			*action = 'h';
			goto done;
		} else if (strcmp(argv[i], "--version") == 0 ||
		    strcmp(argv[i], "-V") == 0) {
			printf("%s %s (protocol %d)\n", spec->cs_daemon,
			    WHOISD_VERSION, PROTO_VERSION);
			*action = 'v';
			goto done;
		} else if (strcmp(argv[i], "-n") == 0) {
			*action = 'n';
		} else if (strncmp(argv[i], "--", 2) == 0) {
			const char *name = argv[i] + 2;

			eq = strchr(name, '=');
			if (eq == NULL) {
				snprintf(err, errlen, "%s: expected --key=value",
				    argv[i]);
				goto fail;
			}
			if ((k = conf_find(spec, name, eq - name)) == NULL) {
				snprintf(err, errlen, "command line: %.*s: "
				    "unknown key", (int)(eq - name), name);
				goto fail;
			}
			given[ngiven++] = k->ck_name;
		} else {
			snprintf(err, errlen, "%s: unexpected argument (see --help)",
			    argv[i]);
			goto fail;
		}
	}

	/* A missing default file is fine; a missing named file is not. */
	if (path_given || access(path, F_OK) == 0) {
		conf_cur_path = path;
		if (conf_read_file(spec, conf, path, given, ngiven, err,
		    errlen) == -1)
			goto fail;
	} else
		path = "(defaults)";

	/* Second pass: the command line wins; a list replaces the file's. */
	for (i = 0; i < ngiven; i++) {
		k = conf_find(spec, given[i], strlen(given[i]));
		if (conf_is_list(k))
			conf_list_clear((struct conf_list *)((char *)conf +
			    k->ck_off));
	}
	for (i = 1; i < argc; i++) {
		const char *name = argv[i] + 2;

		if (strncmp(argv[i], "--", 2) != 0 ||
		    (eq = strchr(name, '=')) == NULL)
			continue;
		k = conf_find(spec, name, eq - name);
		if (conf_set(conf, k, eq + 1, e, sizeof(e)) == -1) {
			snprintf(err, errlen, "command line: %s: %s",
			    k->ck_name, e);
			goto fail;
		}
		conf_origin_set(k, 0);
	}

	pc = conf;
	pc->pc_conf_path = xstrdup(path);
	if (conf_check_pool(pc, e, sizeof(e)) == -1 ||
	    (spec->cs_check != NULL && spec->cs_check(conf, e,
	    sizeof(e)) == -1)) {
		if (conf_located)
			snprintf(err, errlen, "%s", e);
		else
			snprintf(err, errlen, "%s: %s", path, e);
		goto fail;
	}
done:
	free(given);
	return conf;
fail:
	free(given);
	conf_free(spec, conf);
	return NULL;
}

void
conf_free(const struct conf_spec *spec, void *conf)
{
	const struct conf_key	*tabs[2] = { pool_conf_keys, spec->cs_keys };
	const struct conf_key	*k;
	int			 i;

	if (conf == NULL)
		return;
	for (i = 0; i < 2; i++) {
		if (tabs[i] == NULL)
			continue;
		for (k = tabs[i]; k->ck_name != NULL; k++) {
			char *p = (char *)conf + k->ck_off;

			if (k->ck_type == CONF_STR || k->ck_type == CONF_ADDR)
				free(*(char **)p);
			else if (conf_is_list(k))
				conf_list_clear((struct conf_list *)p);
		}
	}
	free(((struct pool_conf *)conf)->pc_conf_path);
	free(conf);
}

const char *
conf_path(void *conf)
{
	return ((struct pool_conf *)conf)->pc_conf_path;
}
