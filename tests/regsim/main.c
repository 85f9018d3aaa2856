/*
 * main.c — whoisd-regsim: command line, limits, signals and the loop.
 * The simulator is one process (a test tool needs no pool); see
 * docs/regsim.md.
 */
#include <sys/resource.h>

#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "common/log.h"
#include "common/util.h"
#include "tests/regsim/regsim.h"

#define DEFAULT_LISTEN	"127.0.0.1:4300"

static struct event_base	*main_base;
static struct regsim		*main_rs;

static void
usage(FILE *fp)
{
	fprintf(fp,
"usage: whoisd-regsim [--key=value ...]\n"
"A whois server (RFC 3912) that answers as the registries would; for tests.\n"
"\n"
"  --listen=HOST:PORT       listen address (default " DEFAULT_LISTEN
"; port 0: any)\n"
"  --data=FILE              data file: names, latency, rate limits, faults\n"
"                           (default tests/regsim/regsim.conf; \"none\": no file)\n"
"  --corpus=DIR             reply templates DIR/<tld>/<status>*.txt\n"
"                           (default tests/corpus, else tests/regsim/fixtures)\n"
"  --latency-ms=N           answer after N ms (every registry)\n"
"  --latency=SPEC           N, fixed:N, uniform:MIN:MAX or normal:MEAN:SD (ms)\n"
"  --ratelimit=[TLD:]N/s    per-client budget (N/s, N/m, N/h, N/Ts); repeatable\n"
"  --fault=[TLD:]KIND[:PCT] timeout, reset, garbage, drip, empty, big, none\n"
"                           for every query (of TLD), or PCT%% of them; repeatable\n"
"  --throttle-seconds=N     {{seconds}} of a throttle answer with no limiter (60)\n"
"  --drip-ms=N              fault drip: ms between bytes (200)\n"
"  --big-size=BYTES         fault big: answer size (65536)\n"
"  --hold-max=S             fault timeout: close after S seconds (300)\n"
"  --idle-timeout=S         close a client that sends no query in S s (30)\n"
"  --backlog=N              listen(2) backlog (4096)\n"
"  --seed=N                 random seed for latency, faults and garbage\n"
"  --log-level=N            0 errors .. 3 one line per query .. 4 debug (2)\n"
"  --log-file=DEST          stderr (default), syslog, journal or a path\n"

"  --rdap-listen=HOST:PORT  also serve RDAP over HTTPS there (docs/regsim.md)\n"
"  --rdap-cert=PEM, --rdap-key=PEM  its certificate chain and key\n"
"  --rdap-fault=TLD:KIND    404 429 500 slow endless huge badjson othername\n"
"                           ctype loop tohttp redirect; repeatable\n"
"  --rdap-ratelimit=TLD:N/s 429 over N queries per window\n"
"  --rdap-slow-ms=N         fault slow: answer after N ms (3000)\n"
"  -n                       check the data file and corpus, then exit\n"
"  --help, --version\n"
"\n"
"Queries: NAME, domain NAME, =NAME, -T dn,ace NAME, NAME/e, --show-handles\n"
"NAME.  \"stats\" or \"#stats\" answers the counters in JSON, \"#reset\" zeroes\n"
"them.  SIGHUP reloads the data file and the corpus.\n");
}

static void
on_stop(evutil_socket_t sig, short ev, void *arg)
{
	(void)ev;
	(void)arg;
	log_notice("signal %d: stopping", (int)sig);
	event_base_loopbreak(main_base);
}

static void
on_hup(evutil_socket_t sig, short ev, void *arg)
{
	(void)sig;
	(void)ev;
	(void)arg;
	rs_server_reload(main_rs);
}

static void
on_usr1(evutil_socket_t sig, short ev, void *arg)
{
	(void)sig;
	(void)ev;
	(void)arg;
	log_reopen();
}

/* Thousands of concurrent clients need thousands of descriptors. */
static void
raise_nofile(void)
{
	struct rlimit	rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1) {
		log_warn("getrlimit");
		return;
	}
	if (rl.rlim_cur == rl.rlim_max)
		return;
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) == -1) {
		rl.rlim_cur = 65536;
		if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
			log_warn("setrlimit RLIMIT_NOFILE");
	}
	getrlimit(RLIMIT_NOFILE, &rl);
	log_info("open files limit %llu", (unsigned long long)rl.rlim_cur);
}

/* DIR/../../rel, DIR being the binary's folder (build/bin/). */
static char *
near_binary(const char *rel)
{
	char	exe[PATH_MAX], path[PATH_MAX + 64];
	ssize_t	n;

	if ((n = readlink("/proc/self/exe", exe, sizeof(exe) - 1)) <= 0)
		return NULL;
	exe[n] = '\0';
	snprintf(path, sizeof(path), "%s/../../%s", dirname(exe), rel);
	return xstrdup(path);
}

/* The first of rel (from the cwd) or rel next to the binary that loads. */
static int
default_corpus(struct regsim *rs, struct regsim_opts *o, const char *rel)
{
	char	 err[512];
	char	*cand[2];
	int	 i, ok = 0;

	cand[0] = xstrdup(rel);
	cand[1] = near_binary(rel);
	for (i = 0; i < 2 && !ok; i++) {
		if (cand[i] == NULL)
			continue;
		if (rs_corpus_load(&rs->rs_corpus, cand[i], err,
		    sizeof(err)) == 0) {
			o->ro_corpus = xstrdup(cand[i]);
			ok = 1;
		} else
			log_debug("%s", err);
	}
	free(cand[0]);
	free(cand[1]);
	return ok ? 0 : -1;
}

static char *
default_data(void)
{
	const char	*rel = "tests/regsim/regsim.conf";
	char		*p;

	if (access(rel, R_OK) == 0)
		return xstrdup(rel);
	if ((p = near_binary(rel)) != NULL && access(p, R_OK) == 0)
		return p;
	free(p);
	return NULL;
}

static int
num_arg(const char *key, const char *v, double min, double max, double *out)
{
	char	*end;

	errno = 0;
	*out = strtod(v, &end);
	if (end == v || *end != '\0' || errno != 0 || *out < min ||
	    *out > max) {
		fprintf(stderr, "whoisd-regsim: --%s=%s: want a number from "
		    "%g to %g\n", key, v, min, max);
		return -1;
	}
	return 0;
}

/* --fault=[TLD:]KIND[:PCT] */
static int
fault_arg(struct regsim_opts *o, const char *v)
{
	struct tldopt	*to;
	char		*s, *tld = "*", *kind, *pct, *end;
	long		 p = 100;
	int		 f, rc = -1;

	s = xstrdup(v);
	kind = s;
	if ((pct = strchr(s, ':')) != NULL)
		*pct++ = '\0';
	if (rs_fault_parse(kind) == -1 && pct != NULL) {
		tld = s;
		kind = pct;
		if ((pct = strchr(kind, ':')) != NULL)
			*pct++ = '\0';
	}
	if ((f = rs_fault_parse(kind)) == -1)
		goto out;
	if (pct != NULL) {
		errno = 0;
		p = strtol(pct, &end, 10);
		if (end == pct || errno != 0 || p < 0 || p > 100 ||
		    (*end != '\0' && strcmp(end, "%") != 0))
			goto out;
	}
	to = rs_tldopts_get(&o->ro_opts, tld);
	to->to_has_fault = 1;
	to->to_fault = f;
	to->to_fault_pct = (int)p;
	rc = 0;
out:
	if (rc == -1)
		fprintf(stderr, "whoisd-regsim: --fault=%s: want [TLD:]KIND[:PCT]"
		    " with KIND one of timeout, reset, garbage, drip, empty, "
		    "big, none\n", v);
	free(s);
	return rc;
}

/* --ratelimit=[TLD:]N/s */
static int
rate_arg(struct regsim_opts *o, const char *v)
{
	struct tldopt	*to;
	const char	*colon, *rate = v;
	char		 tld[RS_NAME_MAX] = "*", err[256];
	long		 n;
	double		 w;

	if ((colon = strchr(v, ':')) != NULL) {
		if ((size_t)(colon - v) >= sizeof(tld) || colon == v) {
			fprintf(stderr, "whoisd-regsim: --ratelimit=%s: bad TLD\n",
			    v);
			return -1;
		}
		memcpy(tld, v, colon - v);
		tld[colon - v] = '\0';
		rate = colon + 1;
	}
	if (rs_rate_parse(rate, &n, &w, err, sizeof(err)) == -1) {
		fprintf(stderr, "whoisd-regsim: --ratelimit: %s\n", err);
		return -1;
	}
	to = rs_tldopts_get(&o->ro_opts, tld);
	to->to_has_rate = 1;
	to->to_rate_n = n;
	to->to_rate_window = w;
	return 0;
}

/* --rdap-fault=TLD:KIND, --rdap-ratelimit=TLD:N/s */
static int
rdap_arg(struct regsim_opts *o, const char *key, const char *v)
{
	struct tldopt	*to;
	char		 tld[RS_NAME_MAX], err[256];
	const char	*colon;
	long		 n;
	double		 w;
	int		 f;

	if ((colon = strchr(v, ':')) == NULL || colon == v ||
	    (size_t)(colon - v) >= sizeof(tld)) {
		fprintf(stderr, "whoisd-regsim: --%s=%s: want TLD:VALUE\n",
		    key, v);
		return -1;
	}
	memcpy(tld, v, colon - v);
	tld[colon - v] = '\0';
	to = rs_tldopts_get(&o->ro_rdap_opts, tld);
	if (strcmp(key, "rdap-fault") == 0) {
		if ((f = rs_rdap_fault_parse(colon + 1)) == -1) {
			fprintf(stderr, "whoisd-regsim: --%s=%s: unknown "
			    "fault\n", key, v);
			return -1;
		}
		to->to_has_fault = 1;
		to->to_fault = f;
		return 0;
	}
	if (rs_rate_parse(colon + 1, &n, &w, err, sizeof(err)) == -1) {
		fprintf(stderr, "whoisd-regsim: --%s: %s\n", key, err);
		return -1;
	}
	to->to_has_rate = 1;
	to->to_rate_n = n;
	to->to_rate_window = w;
	return 0;
}

/* Returns 0 to run, 1 to exit 0 (help, version), -1 to exit 2. */
static int
parse_args(int argc, char **argv, struct regsim_opts *o, int *level,
    char **logfile, int *check, uint64_t *seed)
{
	struct tldopt	*to;
	char		 err[256], *key, *v;
	double		 d;
	int		 i;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			usage(stdout);
			return 1;
		}
		if (strcmp(argv[i], "--version") == 0) {
			printf("whoisd-regsim %s (protocol %d)\n", WHOISD_VERSION,
			    PROTO_VERSION);
			return 1;
		}
		if (strcmp(argv[i], "-n") == 0) {
			*check = 1;
			continue;
		}
		if (strncmp(argv[i], "--", 2) != 0 ||
		    (v = strchr(argv[i], '=')) == NULL) {
			fprintf(stderr, "whoisd-regsim: %s: want --key=value "
			    "(see --help)\n", argv[i]);
			return -1;
		}
		key = argv[i] + 2;
		*v++ = '\0';
		if (strcmp(key, "listen") == 0) {
			free(o->ro_listen);
			o->ro_listen = xstrdup(v);
		} else if (strcmp(key, "data") == 0) {
			free(o->ro_data);
			o->ro_data = xstrdup(v);
		} else if (strcmp(key, "corpus") == 0) {
			free(o->ro_corpus);
			o->ro_corpus = xstrdup(v);
		} else if (strcmp(key, "latency-ms") == 0 ||
		    strcmp(key, "latency") == 0) {
			to = rs_tldopts_get(&o->ro_opts, "*");
			if (strcmp(key, "latency-ms") == 0 && strchr(v, ':')) {
				fprintf(stderr, "whoisd-regsim: --latency-ms=%s: "
				    "want milliseconds (see --latency)\n", v);
				return -1;
			}
			if (rs_latency_parse(v, &to->to_latency, err,
			    sizeof(err)) == -1) {
				fprintf(stderr, "whoisd-regsim: --%s: %s\n", key,
				    err);
				return -1;
			}
			to->to_has_latency = 1;
		} else if (strcmp(key, "ratelimit") == 0) {
			if (rate_arg(o, v) == -1)
				return -1;
		} else if (strcmp(key, "fault") == 0) {
			if (fault_arg(o, v) == -1)
				return -1;
		} else if (strcmp(key, "rdap-listen") == 0) {
			free(o->ro_rdap_listen);
			o->ro_rdap_listen = xstrdup(v);
		} else if (strcmp(key, "rdap-cert") == 0) {
			free(o->ro_rdap_cert);
			o->ro_rdap_cert = xstrdup(v);
		} else if (strcmp(key, "rdap-key") == 0) {
			free(o->ro_rdap_key);
			o->ro_rdap_key = xstrdup(v);
		} else if (strcmp(key, "rdap-fault") == 0 ||
		    strcmp(key, "rdap-ratelimit") == 0) {
			if (rdap_arg(o, key, v) == -1)
				return -1;
		} else if (strcmp(key, "rdap-slow-ms") == 0) {
			if (num_arg(key, v, 0, 600000, &d) == -1)
				return -1;
			o->ro_rdap_slow_ms = d;
		} else if (strcmp(key, "throttle-seconds") == 0) {
			if (num_arg(key, v, 0, 86400, &d) == -1)
				return -1;
			o->ro_throttle_seconds = (int)d;
		} else if (strcmp(key, "drip-ms") == 0) {
			if (num_arg(key, v, 1, 60000, &d) == -1)
				return -1;
			o->ro_drip_ms = d;
		} else if (strcmp(key, "big-size") == 0) {
			if (num_arg(key, v, 1, 64 * 1024 * 1024, &d) == -1)
				return -1;
			o->ro_big_size = (size_t)d;
		} else if (strcmp(key, "hold-max") == 0) {
			if (num_arg(key, v, 0.001, 86400, &d) == -1)
				return -1;
			o->ro_hold_max = d;
		} else if (strcmp(key, "idle-timeout") == 0) {
			if (num_arg(key, v, 0.001, 86400, &d) == -1)
				return -1;
			o->ro_idle_timeout = d;
		} else if (strcmp(key, "backlog") == 0) {
			if (num_arg(key, v, 1, 65535, &d) == -1)
				return -1;
			o->ro_backlog = (int)d;
		} else if (strcmp(key, "seed") == 0) {
			if (num_arg(key, v, 0, 1e18, &d) == -1)
				return -1;
			*seed = (uint64_t)d;
		} else if (strcmp(key, "log-level") == 0 ||
		    strcmp(key, "log_level") == 0) {
			if (num_arg(key, v, 0, 4, &d) == -1)
				return -1;
			*level = (int)d;
		} else if (strcmp(key, "log-file") == 0 ||
		    strcmp(key, "log_file") == 0) {
			free(*logfile);
			*logfile = xstrdup(v);
		} else {
			fprintf(stderr, "whoisd-regsim: unknown option --%s "
			    "(see --help)\n", key);
			return -1;
		}
	}
	return 0;
}

int
main(int argc, char **argv)
{
	struct regsim_opts	 o;
	struct regsim		 rs;
	struct event		*ev_term, *ev_int, *ev_hup, *ev_usr1;
	char			 err[512], *logfile = NULL;
	uint64_t		 seed;
	int			 level = LOG_LVL_NOTICE, check = 0, rc;

	memset(&o, 0, sizeof(o));
	o.ro_listen = xstrdup(DEFAULT_LISTEN);
	o.ro_idle_timeout = 30;
	o.ro_hold_max = 300;
	o.ro_drip_ms = 200;
	o.ro_big_size = 65536;
	o.ro_backlog = 4096;
	o.ro_throttle_seconds = 60;
	o.ro_rdap_slow_ms = 3000;
	seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);

	if ((rc = parse_args(argc, argv, &o, &level, &logfile, &check,
	    &seed)) != 0) {
		rc = rc == 1 ? 0 : 2;
		goto out;
	}
	log_init("whoisd-regsim", level);
	if (log_open(logfile, err, sizeof(err)) == -1) {
		fprintf(stderr, "whoisd-regsim: %s\n", err);
		rc = 1;
		goto out;
	}
	rs_rng_seed(seed);

	memset(&rs, 0, sizeof(rs));
	rs.rs_opts = &o;
	rs.rs_lfd = -1;

	/* The data file: explicit, default, or none. */
	if (o.ro_data != NULL && (strcmp(o.ro_data, "none") == 0 ||
	    o.ro_data[0] == '\0')) {
		free(o.ro_data);
		o.ro_data = NULL;
	} else if (o.ro_data == NULL)
		o.ro_data = default_data();
	if (o.ro_data != NULL) {
		if (rs_data_load(&rs.rs_data, o.ro_data, err,
		    sizeof(err)) == -1)
			fatalx("%s", err);
		rs.rs_have_data = 1;
	}

	if (o.ro_corpus != NULL) {
		if (rs_corpus_load(&rs.rs_corpus, o.ro_corpus, err,
		    sizeof(err)) == -1)
			fatalx("%s", err);
	} else if (default_corpus(&rs, &o, "tests/corpus") == -1 &&
	    default_corpus(&rs, &o, "tests/regsim/fixtures") == -1)
		fatalx("no reply templates found: give --corpus=DIR "
		    "(DIR/<tld>/<status>*.txt)");
	log_notice("corpus %s: %d registries, %d templates; data %s",
	    o.ro_corpus, rs.rs_corpus.co_nreg, rs.rs_corpus.co_ntmpl,
	    o.ro_data != NULL ? o.ro_data : "(none, default rule only)");
	if (check) {
		printf("configuration OK\n");
		rs_data_free(&rs.rs_data);
		rs_corpus_free(&rs.rs_corpus);
		rc = 0;
		goto out;
	}

	signal(SIGPIPE, SIG_IGN);
	raise_nofile();
	log_libevent();
	if ((main_base = event_base_new()) == NULL)
		fatalx("event_base_new failed");
	rs.rs_base = main_base;
	main_rs = &rs;
	if (rs_server_listen(&rs, o.ro_listen, err, sizeof(err)) == -1)
		fatalx("listen %s", err);
	if (rs_server_start(&rs) == -1)
		fatalx("rs_server_start failed");
	if (rs_rdap_start(&rs, err, sizeof(err)) == -1)
		fatalx("rdap: %s", err);

	ev_term = evsignal_new(main_base, SIGTERM, on_stop, NULL);
	ev_int = evsignal_new(main_base, SIGINT, on_stop, NULL);
	ev_hup = evsignal_new(main_base, SIGHUP, on_hup, NULL);
	ev_usr1 = evsignal_new(main_base, SIGUSR1, on_usr1, NULL);
	if (ev_term == NULL || ev_int == NULL || ev_hup == NULL ||
	    ev_usr1 == NULL)
		fatalx("evsignal_new failed");
	event_add(ev_term, NULL);
	event_add(ev_int, NULL);
	event_add(ev_hup, NULL);
	event_add(ev_usr1, NULL);

	log_notice("listening on %s", rs.rs_addr);
	printf("regsim: listening on %s\n", rs.rs_addr);
	fflush(stdout);

	rc = event_base_dispatch(main_base) == -1 ? 1 : 0;

	log_notice("stopped: %llu connections served, %llu queries counted",
	    (unsigned long long)rs.rs_accepted,
	    (unsigned long long)rs.rs_stats.st_total);
	rs_rdap_free();
	rs_server_free(&rs);
	event_free(ev_term);
	event_free(ev_int);
	event_free(ev_hup);
	event_free(ev_usr1);
	event_base_free(main_base);
	libevent_global_shutdown();
out:
	rs_tldopts_free(&o.ro_opts);
	rs_tldopts_free(&o.ro_rdap_opts);
	free(o.ro_rdap_listen);
	free(o.ro_rdap_cert);
	free(o.ro_rdap_key);
	free(o.ro_listen);
	free(o.ro_data);
	free(o.ro_corpus);
	free(logfile);
	return rc;
}
