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
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/config.h"
#include "common/log.h"
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
	{ "listen", CONF_LIST, POOLOFF(pc_listen), 0, 0, NULL,
	  "repeatable host:port to listen on" },
	{ "metrics_listen", CONF_LIST, POOLOFF(pc_metrics_listen), 0, 0, NULL,
	  "repeatable host:port serving GET /metrics (Prometheus)" },
	{ "cidr_allow", CONF_LIST, POOLOFF(pc_cidr_allow), 0, 0, NULL,
	  "repeatable CIDR allowed to connect" },
	{ "cidr_deny", CONF_LIST, POOLOFF(pc_cidr_deny), 0, 0, NULL,
	  "repeatable CIDR refused" },
	{ "link_keys", CONF_STR, POOLOFF(pc_link_keys), 0, 0,
	  "/etc/whoisd/keys", "directory of the internal links' role keys "
	  "(whoisctl keygen)" },
	{ "link_auth", CONF_STR, POOLOFF(pc_link_auth), 0, 0, "require",
	  "require: internal peers prove their role; prefer: also serve "
	  "the previous version's, during an upgrade" },
	{ NULL, 0, 0, 0, 0, NULL, NULL }
};

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
	char			*end, host[256];
	double			 d, mult = 1;
	struct conf_list	*l;
	int			 port;

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
		if (*val != '\0' && parse_hostport(val, host, sizeof(host),
		    &port, err, errlen) == -1)
			return -1;
		/* FALLTHROUGH */
	case CONF_STR:
		free(*(char **)p);
		*(char **)p = xstrdup(val);
		return 0;
	case CONF_LIST:
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
		if (k->ck_type == CONF_LIST && k->ck_default != NULL) {
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
	}
	free(line);
	fclose(fp);
	return 0;
fail:
	free(line);
	fclose(fp);
	return -1;
}

/* Net::Server's consistency rules for the pool's numbers. */
static int
conf_check_pool(struct pool_conf *pc, char *err, size_t errlen)
{
	if (strcmp(pc->pc_link_auth, "require") != 0 &&
	    strcmp(pc->pc_link_auth, "prefer") != 0) {
		snprintf(err, errlen, "link_auth: \"%s\" is neither require "
		    "nor prefer", pc->pc_link_auth);
		return -1;
	}
	if (pc->pc_max_servers < pc->pc_min_servers) {
		snprintf(err, errlen, "max_servers (%ld) must be >= "
		    "min_servers (%ld)", pc->pc_max_servers, pc->pc_min_servers);
		return -1;
	}
	if (pc->pc_min_spare_servers > pc->pc_max_spare_servers) {
		snprintf(err, errlen, "min_spare_servers (%ld) must be <= "
		    "max_spare_servers (%ld)", pc->pc_min_spare_servers,
		    pc->pc_max_spare_servers);
		return -1;
	}
	if (pc->pc_max_spare_servers >= pc->pc_max_servers &&
	    pc->pc_max_servers > 1) {
		snprintf(err, errlen, "max_spare_servers (%ld) must be < "
		    "max_servers (%ld)", pc->pc_max_spare_servers,
		    pc->pc_max_servers);
		return -1;
	}
	if (pc->pc_min_spare_servers >= pc->pc_max_servers &&
	    pc->pc_min_spare_servers > 0) {
		snprintf(err, errlen, "min_spare_servers (%ld) must be < "
		    "max_servers (%ld)", pc->pc_min_spare_servers,
		    pc->pc_max_servers);
		return -1;
	}
	if (strcmp(pc->pc_serialize, "epoll") != 0 &&
	    strcmp(pc->pc_serialize, "none") != 0) {
		snprintf(err, errlen, "serialize: \"%s\" is not supported "
		    "(epoll or none; see docs/architecture.md)", pc->pc_serialize);
		return -1;
	}
	if (pc->pc_group != NULL && pc->pc_user == NULL) {
		snprintf(err, errlen, "group is set but user is not");
		return -1;
	}
	return 0;
}

void
conf_usage(const struct conf_spec *spec, FILE *fp)
{
	const struct conf_key	*tabs[2] = { spec->cs_keys, pool_conf_keys };
	const char		*titles[2] = { "daemon keys", "pool keys" };
	const struct conf_key	*k;
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
			fprintf(fp, "  %-24s %s%s%s%s\n", k->ck_name, k->ck_help,
			    k->ck_default ? " [" : "",
			    k->ck_default ? k->ck_default : "",
			    k->ck_default ? "]" : "");
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
		if (conf_read_file(spec, conf, path, given, ngiven, err,
		    errlen) == -1)
			goto fail;
	} else
		path = "(defaults)";

	/* Second pass: the command line wins; a list replaces the file's. */
	for (i = 0; i < ngiven; i++) {
		k = conf_find(spec, given[i], strlen(given[i]));
		if (k->ck_type == CONF_LIST)
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
	}

	pc = conf;
	pc->pc_conf_path = xstrdup(path);
	if (conf_check_pool(pc, e, sizeof(e)) == -1) {
		snprintf(err, errlen, "%s: %s", path, e);
		goto fail;
	}
	if (spec->cs_check != NULL && spec->cs_check(conf, e, sizeof(e)) == -1) {
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
			else if (k->ck_type == CONF_LIST)
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
