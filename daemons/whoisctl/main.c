/*
 * whoisctl — the operator's command line.
 *
 *	whoisctl [--front=H:P] [--cache=H:P] [--errdb=H:P] [--keys=DIR]
 *	    [--link_auth=require|prefer] COMMAND ...
 *	  status                 the front's pools and links (GET /status)
 *	  check NAME...          verdicts through the front (GET /v1/check)
 *	  stats                  whoisd-cache's counters
 *	  purge NAME | --all     drop cached answers
 *	  health [REGISTRY]      registry health and back-off from whoisd-errdb
 *	  health --clear REGISTRY  end the registry's back-off
 *	  errors [REGISTRY]      recent error events from whoisd-errdb
 *	  reload PID STATUSFILE  HUP a daemon and wait until the reload is done
 *	  keygen DIR [USER]      make the missing role keys of the links
 *
 * Commands on internal links prove the role ctl with DIR/ctl.key (--keys,
 * else $WHOISD_KEYS, else /etc/whoisd/keys): only its holder may purge or
 * clear a back-off.  keygen gives the daemons' keys to USER (the one the
 * daemons run as) and leaves ctl.key to the caller.
 *
 * `reload` is systemd's ExecReload=: it returns 0 once the daemon's new
 * children serve, 1 if the reload failed (the old config stays), so
 * `systemctl reload` means "done" rather than "signal sent".
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <pwd.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "common/log.h"
#include "common/net.h"
#include "common/util.h"
#include "daemons/whoisctl/coverage.h"
#include "proto/auth.h"
#include "proto/client.h"
#include "proto/msg.h"

static const char	*ctl_front = "127.0.0.1:8043";
static const char	*ctl_cache = "127.0.0.1:4701";
static const char	*ctl_errdb = "127.0.0.1:4703";
static const char	*ctl_keys = "/etc/whoisd/keys";
static const char	*ctl_link_auth = "require";

static void
usage(void)
{
	fprintf(stderr,
	    "usage: whoisctl [--front=H:P] [--cache=H:P] [--errdb=H:P] "
	    "[--keys=DIR]\n"
	    "                [--link_auth=require|prefer] COMMAND\n"
	    "  status                 pools and links of the front\n"
	    "  check NAME...          verdicts through the front\n"
	    "  stats                  whoisd-cache counters\n"
	    "  purge NAME | --all     drop cached answers\n"
	    "  health [REGISTRY]      registry health and back-off\n"
	    "  health --clear REGISTRY  end the registry's back-off\n"
	    "  errors [REGISTRY]      recent error events\n"
	    "  reload PID STATUSFILE  HUP a daemon, wait for the reload\n"
	    "  keygen DIR [USER]      make missing link keys; USER owns the "
	    "daemons'\n");
	exit(2);
}

/* ---------------------------------------------------------- reload */

static int
status_read(const char *path, unsigned long *gen, int *reloading,
    unsigned long *reloads, char *last, size_t lastlen)
{
	FILE	*fp;
	char	 line[512];

	if ((fp = fopen(path, "r")) == NULL)
		return -1;
	*gen = 0;
	*reloading = 0;
	*reloads = 0;
	last[0] = '\0';
	while (fgets(line, sizeof(line), fp) != NULL) {
		line[strcspn(line, "\n")] = '\0';
		if (strncmp(line, "generation ", 11) == 0)
			*gen = strtoul(line + 11, NULL, 10);
		else if (strncmp(line, "reloading ", 10) == 0)
			*reloading = atoi(line + 10);
		else if (strncmp(line, "reloads ", 8) == 0)
			*reloads = strtoul(line + 8, NULL, 10);
		else if (strncmp(line, "last_reload ", 12) == 0)
			snprintf(last, lastlen, "%.200s", line + 12);
	}
	fclose(fp);
	return 0;
}

static int
cmd_reload(int argc, char **argv)
{
	unsigned long	gen, reloads, g2, r2;
	int		reloading, rl2;
	char		last[256], last2[256];
	pid_t		pid;
	double		deadline;
	struct timespec	ts = { 0, 50 * 1000 * 1000 };

	if (argc != 3)
		usage();
	pid = (pid_t)strtol(argv[1], NULL, 10);
	if (pid <= 1) {
		fprintf(stderr, "whoisctl: reload: bad pid %s\n", argv[1]);
		return 1;
	}
	if (status_read(argv[2], &gen, &reloading, &reloads, last,
	    sizeof(last)) == -1) {
		fprintf(stderr, "whoisctl: reload: %s: %s\n", argv[2],
		    strerror(errno));
		return 1;
	}
	if (kill(pid, SIGHUP) == -1) {
		fprintf(stderr, "whoisctl: reload: kill %ld: %s\n", (long)pid,
		    strerror(errno));
		return 1;
	}
	deadline = now_mono() + 90;
	while (now_mono() < deadline) {
		nanosleep(&ts, NULL);
		if (status_read(argv[2], &g2, &rl2, &r2, last2,
		    sizeof(last2)) == -1)
			continue;
		if (r2 > reloads && !rl2) {
			if (strcmp(last2, "ok") == 0) {
				printf("reloaded: generation %lu\n", g2);
				return 0;
			}
			fprintf(stderr, "whoisctl: reload %s\n", last2);
			return 1;
		}
		if (kill(pid, 0) == -1) {
			fprintf(stderr, "whoisctl: reload: pid %ld is gone\n",
			    (long)pid);
			return 1;
		}
	}
	fprintf(stderr, "whoisctl: reload: no answer within 90 s\n");
	return 1;
}

/* ---------------------------------------------------------- HTTP */

/* A blocking GET to the front; prints the body. */
static int
http_get(const char *path)
{
	char		 host[256], err[256], req[4096], buf[65536];
	int		 port, fd, hdr = 1;
	ssize_t		 n;
	FILE		*fp;
	char		*p;

	if (parse_hostport(ctl_front, host, sizeof(host), &port, err,
	    sizeof(err)) == -1 ||
	    (fd = net_connect(ctl_front, err, sizeof(err))) == -1) {
		fprintf(stderr, "whoisctl: front %s: %s\n", ctl_front, err);
		return 1;
	}
	/* net_connect is non-blocking; wait for it by switching back. */
	{
		int fl = fcntl(fd, F_GETFL);
		fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
	}
	snprintf(req, sizeof(req), "GET %s HTTP/1.0\r\nHost: %s\r\n"
	    "Connection: close\r\n\r\n", path, host);
	if (write(fd, req, strlen(req)) != (ssize_t)strlen(req)) {
		fprintf(stderr, "whoisctl: front %s: %s\n", ctl_front,
		    strerror(errno));
		close(fd);
		return 1;
	}
	fp = fdopen(fd, "r");
	while ((n = fread(buf, 1, sizeof(buf) - 1, fp)) > 0) {
		buf[n] = '\0';
		p = buf;
		if (hdr) {
			char *e = strstr(buf, "\r\n\r\n");
			if (e == NULL)
				continue;
			if (strncmp(buf, "HTTP/1.", 7) == 0 &&
			    strncmp(buf + 9, "200", 3) != 0)
				fprintf(stderr, "whoisctl: %.*s\n",
				    (int)strcspn(buf, "\r"), buf);
			p = e + 4;
			hdr = 0;
		}
		fputs(p, stdout);
	}
	fclose(fp);
	return 0;
}

/* ---------------------------------------------------------- frames */

struct call {
	struct event_base	*c_base;
	int			 c_rc;
	enum msg_type		 c_want;
	void			(*c_print)(const struct msg *);
};

static void
call_cb(const struct client_result *r, void *arg)
{
	struct call	*c = arg;
	char		 code[64], text[512], err[256];

	if (r->cr_err != NULL) {
		fprintf(stderr, "whoisctl: %s: %s\n", r->cr_err, r->cr_errmsg);
		c->c_rc = 1;
	} else if (msg_type(r->cr_msg) == MSG_ERR) {
		msg_read_err(r->cr_msg, code, sizeof(code), text, sizeof(text),
		    err, sizeof(err));
		fprintf(stderr, "whoisctl: error %s: %s\n", code, text);
		c->c_rc = 1;
	} else if (msg_type(r->cr_msg) != c->c_want) {
		fprintf(stderr, "whoisctl: unexpected reply %s\n",
		    msg_tname(r->cr_msg));
		c->c_rc = 1;
	} else {
		c->c_print(r->cr_msg);
		c->c_rc = 0;
	}
	event_base_loopexit(c->c_base, NULL);
}

/* The operator's key, once per run. */
static int
ctl_keys_load(void)
{
	struct link_keys	*lk;
	char			 err[512];

	if (link_keys_get() != NULL)
		return 0;
	if ((lk = link_keys_load(ctl_keys, ROLE_CTL, ctl_link_auth, err,
	    sizeof(err))) == NULL) {
		fprintf(stderr, "whoisctl: %s\n", err);
		return -1;
	}
	link_keys_set(lk);
	return 0;
}

static int
cmd_keygen(int argc, char **argv)
{
	struct passwd	*pw = NULL;
	char		 err[512];

	if (argc < 2 || argc > 3)
		usage();
	if (argc == 3 && (pw = getpwnam(argv[2])) == NULL) {
		fprintf(stderr, "whoisctl: keygen: no user %s\n", argv[2]);
		return 1;
	}
	if (auth_keygen(argv[1], pw ? (long)pw->pw_uid : -1,
	    pw ? (long)pw->pw_gid : -1, stdout, err, sizeof(err)) == -1) {
		fprintf(stderr, "whoisctl: keygen: %s\n", err);
		return 1;
	}
	return 0;
}

static int
call(const char *addr, enum link_role role, struct msgb *b,
    enum msg_type want, void (*print)(const struct msg *))
{
	struct call		 c;
	struct client		*cl;
	struct client_opts	 co;
	char			 err[256];

	if (ctl_keys_load() == -1)
		return 1;
	memset(&co, 0, sizeof(co));
	co.co_peer_role = role;
	/* A refused handshake is retried after back-off until the
	 * deadline: two seconds of that say enough. */
	co.co_down_wait_ms = 2000;
	memset(&c, 0, sizeof(c));
	c.c_base = event_base_new();
	c.c_want = want;
	c.c_print = print;
	c.c_rc = 1;
	if ((cl = client_new(c.c_base, addr, &co, err, sizeof(err))) == NULL) {
		fprintf(stderr, "whoisctl: %s: %s\n", addr, err);
		return 1;
	}
	if (client_call(cl, b, 5000, 0, call_cb, &c) == 0) {
		fprintf(stderr, "whoisctl: cannot build the request\n");
		return 1;
	}
	event_base_dispatch(c.c_base);
	client_free(cl);
	event_base_free(c.c_base);
	return c.c_rc;
}

static void
print_stats(const struct msg *m)
{
	struct msg_counter	*cs;
	size_t			 n, i;
	char			 err[256];

	if (msg_read_stats_r(m, &cs, &n, err, sizeof(err)) == -1) {
		fprintf(stderr, "whoisctl: %s\n", err);
		return;
	}
	for (i = 0; i < n; i++)
		printf("%-24s %llu\n", cs[i].mc_name,
		    (unsigned long long)cs[i].mc_value);
	free(cs);
}

static void
print_purge(const struct msg *m)
{
	uint64_t	n = 0;
	char		err[256];

	msg_read_purge_r(m, &n, err, sizeof(err));
	printf("purged %llu\n", (unsigned long long)n);
}

static void
print_cleared(const struct msg *m)
{
	uint64_t	n = 0;
	char		err[256];

	msg_read_ok_n(m, &n, err, sizeof(err));
	printf("back-off cleared: %llu rate-limit event(s) removed\n",
	    (unsigned long long)n);
}

static void
print_health(const struct msg *m)
{
	struct reghealth	*h;
	size_t			 n, i;
	char			 err[256], ts[32];

	if (msg_read_health_r(m, &h, &n, err, sizeof(err)) == -1) {
		fprintf(stderr, "whoisctl: %s\n", err);
		return;
	}
	for (i = 0; i < n; i++) {
		if (h[i].rh_until > 0)
			fmt_iso8601(h[i].rh_until, ts, sizeof(ts));
		else
			snprintf(ts, sizeof(ts), "-");
		printf("%-32s %-9s until %s recent %llu\n", h[i].rh_registry,
		    h[i].rh_state, ts, (unsigned long long)h[i].rh_recent);
	}
	if (n == 0)
		printf("no registry has recent errors\n");
	free(h);
}

static void
print_errors(const struct msg *m)
{
	struct errevent	*e;
	size_t		 n, i;
	char		 err[256], ts[32];

	if (msg_read_errors_r(m, &e, &n, err, sizeof(err)) == -1) {
		fprintf(stderr, "whoisctl: %s\n", err);
		return;
	}
	for (i = 0; i < n; i++) {
		fmt_iso8601(e[i].ev_time, ts, sizeof(ts));
		printf("%s %s %s %s %s: %s\n", ts, e[i].ev_host,
		    e[i].ev_registry, e[i].ev_domain, e[i].ev_kind,
		    e[i].ev_msg);
	}
	free(e);
}

int
main(int argc, char **argv)
{
	struct msgb	b;
	int		i, rc;
	char		path[8192];
	size_t		o;

	log_init("whoisctl", LOG_LVL_WARN);
	signal(SIGPIPE, SIG_IGN);
	if (getenv("WHOISD_KEYS") != NULL && *getenv("WHOISD_KEYS") != '\0')
		ctl_keys = getenv("WHOISD_KEYS");
	for (i = 1; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
		if (strncmp(argv[i], "--front=", 8) == 0)
			ctl_front = argv[i] + 8;
		else if (strncmp(argv[i], "--cache=", 8) == 0)
			ctl_cache = argv[i] + 8;
		else if (strncmp(argv[i], "--errdb=", 8) == 0)
			ctl_errdb = argv[i] + 8;
		else if (strncmp(argv[i], "--keys=", 7) == 0)
			ctl_keys = argv[i] + 7;
		else if (strncmp(argv[i], "--link_auth=", 12) == 0)
			ctl_link_auth = argv[i] + 12;
		else if (strcmp(argv[i], "--version") == 0) {
			printf("whoisctl %s (protocol %d)\n", WHOISD_VERSION,
			    PROTO_VERSION);
			return 0;
		} else
			usage();
	}
	argc -= i;
	argv += i;
	if (argc < 1)
		usage();
	msgb_init(&b);
	if (strcmp(argv[0], "reload") == 0)
		rc = cmd_reload(argc, argv);
	else if (strcmp(argv[0], "keygen") == 0)
		rc = cmd_keygen(argc, argv);
	else if (strcmp(argv[0], "registries") == 0)
		rc = cmd_registries(argc, argv);
	else if (strcmp(argv[0], "status") == 0)
		rc = http_get("/status");
	else if (strcmp(argv[0], "check") == 0) {
		if (argc < 2)
			usage();
		o = (size_t)snprintf(path, sizeof(path), "/v1/check?");
		for (i = 1; i < argc && o < sizeof(path) - 300; i++)
			o += (size_t)snprintf(path + o, sizeof(path) - o,
			    "%sdomain=%s", i > 1 ? "&" : "", argv[i]);
		rc = http_get(path);
	} else if (strcmp(argv[0], "stats") == 0) {
		msg_pack_stats(&b, 0, PROTO_VERSION);
		rc = call(ctl_cache, ROLE_CACHE, &b, MSG_STATS_R, print_stats);
	} else if (strcmp(argv[0], "purge") == 0) {
		struct msg_purge pg;

		if (argc != 2)
			usage();
		memset(&pg, 0, sizeof(pg));
		if (strcmp(argv[1], "--all") == 0)
			pg.pg_all = 1;
		else
			snprintf(pg.pg_domain, sizeof(pg.pg_domain), "%s",
			    argv[1]);
		msg_pack_purge(&b, 0, PROTO_VERSION, &pg);
		rc = call(ctl_cache, ROLE_CACHE, &b, MSG_PURGE_R, print_purge);
	} else if (strcmp(argv[0], "health") == 0 && argc > 1 &&
	    strcmp(argv[1], "--clear") == 0) {
		if (argc != 3 || argv[2][0] == '\0')
			usage();
		msg_pack_health_clear(&b, 0, PROTO_VERSION, argv[2]);
		rc = call(ctl_errdb, ROLE_ERRDB, &b, MSG_OK, print_cleared);
	} else if (strcmp(argv[0], "health") == 0) {
		msg_pack_health(&b, 0, PROTO_VERSION, argc > 1 ? argv[1] : NULL);
		rc = call(ctl_errdb, ROLE_ERRDB, &b, MSG_HEALTH_R, print_health);
	} else if (strcmp(argv[0], "errors") == 0) {
		struct msg_errors es;

		memset(&es, 0, sizeof(es));
		if (argc > 1)
			snprintf(es.es_registry, sizeof(es.es_registry), "%s",
			    argv[1]);
		es.es_limit = 50;
		msg_pack_errors(&b, 0, PROTO_VERSION, &es);
		rc = call(ctl_errdb, ROLE_ERRDB, &b, MSG_ERRORS_R, print_errors);
	} else
		usage();
	msgb_free(&b);
	return rc;
}
