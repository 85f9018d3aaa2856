/*
 * main.c — whoisd, the front: config, links to the other daemons, and the
 * pool callbacks.  The work is in lookup.c (answering one name), whois.c
 * (the whois port), http.c (the HTTP/JSON API) and answer.c (an answer's
 * whois text and JSON, for both ports).
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "common/log.h"
#include "common/pool.h"
#include "common/pslist.h"
#include "common/suffix.h"
#include "common/util.h"
#include "daemons/whoisd/access_log.h"
#include "daemons/whoisd/whoisd.h"
#include "proto/auth.h"
#include "proto/client.h"

#ifndef SYSCONF_WHOISD
#define SYSCONF_WHOISD	"etc"
#endif
#ifndef WHOISD_WWW
#define WHOISD_WWW	"/usr/local/share/whoisd/www"
#endif

#define WCOFF(f)	offsetof(struct whoisd_conf, f)
static const struct conf_key whoisd_keys[] = {
	{ "http_listen", CONF_LISTEN, WCOFF(wc_http_listen), 0, 0,
	  "127.0.0.1:8043", "repeatable host:port of the HTTP/JSON API" },
	{ "cache_addr", CONF_ADDR, WCOFF(wc_cache_addr), 0, 0, "127.0.0.1:4701",
	  "whoisd-cache" },
	{ "query_addr", CONF_ADDR, WCOFF(wc_query_addr), 0, 0, "127.0.0.1:4702",
	  "whoisd-query" },
	{ "errdb_addr", CONF_OBSOLETE, 0, 0, 0, NULL,
	  "the front does not talk to whoisd-errdb" },
	{ "registries", CONF_STR, WCOFF(wc_registries), 0, 0,
	  SYSCONF_WHOISD "/registries.conf",
	  "registries file (its suffixes; they route, nothing more)" },
	{ "public_suffix_list", CONF_STR, WCOFF(wc_public_suffix_list), 0, 0,
	  PSLIST_DEFAULT, "Public Suffix List (ICANN section): what is "
	  "registrable" },
	{ "request_timeout", CONF_DOUBLE, WCOFF(wc_request_timeout), 0.1, 300,
	  "10", "seconds before a request is answered unknown" },
	{ "link_down_wait", CONF_DOUBLE, WCOFF(wc_link_down_wait), 0, 300, "1",
	  "seconds requests wait for a lost cache or query link to come back "
	  "(0 = until request_timeout)" },
	{ "cache_timeout", CONF_DOUBLE, WCOFF(wc_cache_timeout), 0, 300, "1",
	  "seconds a stalled cache (no pong) holds a lookup before the "
	  "registry is asked without it (0 = until request_timeout)" },
	{ "max_query_len", CONF_INT, WCOFF(wc_max_query_len), 16, 65536, "1024",
	  "longest whois query line accepted" },
	{ "http_max_names", CONF_INT, WCOFF(wc_http_max_names), 1, 10000, "1000",
	  "names one /v1/check may ask about" },
	{ "http_max_body", CONF_BYTES, WCOFF(wc_http_max_body), 0, 1 << 30,
	  "0", "largest POST /v1/check body (0 = 16 KB + 1 KB x "
	  "http_max_names)" },
	{ "idle_timeout", CONF_DOUBLE, WCOFF(wc_idle_timeout), 0.1, 3600, "10",
	  "seconds a whois client may take to send its query" },
	{ "http_idle_timeout", CONF_DOUBLE, WCOFF(wc_http_idle_timeout), 0.1,
	  3600, "30", "seconds an idle HTTP keep-alive connection stays open" },
	{ "max_frame", CONF_BYTES, WCOFF(wc_max_frame), 1024, 1 << 30, "16M",
	  "largest internal frame" },
	{ "compress_min", CONF_BYTES, WCOFF(wc_compress_min), 0, 1 << 30, "8k",
	  "internal frame bodies above this are deflated (0 = never)" },
	{ "memo_ttl", CONF_DOUBLE, WCOFF(wc_memo_ttl), 0, 60, "1",
	  "seconds a child reuses a cache hit without asking again (0 = off)" },
	{ "memo_max_memory", CONF_BYTES, WCOFF(wc_memo_max_memory), 64 * 1024,
	  (double)(1L << 40), "4M", "memory a child's memo holds at most: its "
	  "entries, their registry text and JSON; past it, the oldest go" },
	{ "http_max_unsent", CONF_BYTES, WCOFF(wc_http_max_unsent), 0,
	  (double)(1L << 40), "64M",
	  "answer bytes a child holds for clients that do not read them (both "
	  "ports); over it, those with the most waiting are closed (0 = off)" },
	{ "limit_conn_per_client", CONF_INT, WCOFF(wc_limit_conn), 0, 1000000,
	  "1024", "connections one address (IPv4, IPv6 /64) may hold open on "
	  "both ports together; more are answered 429 and closed (0 = off)" },
	{ "limit_req_per_client", CONF_DOUBLE, WCOFF(wc_limit_req), 0, 1e6,
	  "0", "requests a second one address may make on both ports; more "
	  "are answered 429 with Retry-After (0 = off)" },
	{ "limit_req_burst", CONF_INT, WCOFF(wc_limit_burst), 1, 1000000,
	  "100", "requests over limit_req_per_client one address may make at "
	  "once" },
	{ "access_log", CONF_STR, WCOFF(wc_access_log), 0, 0, "off",
	  "one line per request: off, a file path (reopened on USR1), or "
	  "journal" },
	{ "access_log_sample", CONF_INT, WCOFF(wc_access_log_sample), 1, 1e9,
	  "1", "log one request in N (per child)" },
	{ "http_cors_origins", CONF_STR, WCOFF(wc_http_cors_origins), 0, 0, "",
	  "origins (space-separated, or *) whose pages may call the API" },
	{ "suggest_tlds", CONF_STR, WCOFF(wc_suggest_tlds), 0, 0,
	  "com net org io dev app", "TLDs /v1/suggest checks a word under" },
	{ "http_www", CONF_STR, WCOFF(wc_http_www), 0, 0, WHOISD_WWW,
	  "directory of the web page served at / and /status.html, read at "
	  "start and on HUP (empty = no page)" },
	{ NULL, 0, 0, 0, 0, NULL, NULL }
};

static int	whoisd_check(void *, char *, size_t);

/*
 * Two children: the front does most of the work of a cache hit (the
 * cache answers from its memo-thinned stream), so on 2 cores two front
 * children and one cache child use the machine without oversubscribing.
 * 4,000 clients a child: a client waiting on a slow registry costs a
 * socket and a few hundred bytes, not CPU, so a child must not stop
 * accepting at 256 of them (a burst of misses would wait a registry
 * round trip for a free slot).  4,000 and the pool's 64 spare
 * descriptors fit a 4,096 open-files limit.
 */
static const struct conf_spec whoisd_spec = {
	"whoisd", whoisd_keys, sizeof(struct whoisd_conf),
	SYSCONF_WHOISD "/whoisd.conf", whoisd_check,
	"min_servers=2 min_spare_servers=1 max_spare_servers=2 "
	"max_clients_per_child=4000"
};

static struct suffixes	*front_sfx;
static struct client	*front_cache_c, *front_query_c;

struct whoisd_conf *
front_conf(void)
{
	return pool_conf();
}

struct suffixes *
front_suffixes(void)
{
	return front_sfx;
}

struct client *
front_cache(void)
{
	return front_cache_c;
}

struct client *
front_query(void)
{
	return front_query_c;
}

/* Read before any port is bound: a broken registries file, or keys that
 * cannot be loaded, are config errors. */
static int
whoisd_check(void *conf, char *err, size_t errlen)
{
	struct whoisd_conf	*wc = conf;
	struct suffixes		*sx;
	char			 e[512];

	if ((sx = suffix_load(wc->wc_registries, e, sizeof(e))) == NULL)
		return conf_keyerr(err, errlen, "registries", "%s", e);
	suffix_free(sx);
	return link_keys_check(conf, ROLE_FRONT, err, errlen);
}

/*
 * Master: load the registries file's suffixes and the PSL, refusing
 * broken ones before forking (on HUP a broken one keeps the old
 * config), and keep them for the children it forks next.
 */
static int
whoisd_master_init(void *conf, int reload)
{
	struct whoisd_conf	*wc = conf;
	struct suffixes		*sx;
	char			 err[512];

	/* Shared by every child: made before the first fork. */
	if (limits_master_init() == -1 || front_metrics_master_init() == -1 ||
	    alog_master_init(conf, reload == 2) == -1)
		return -1;
	if ((sx = suffix_load(wc->wc_registries, err, sizeof(err))) == NULL) {
		log_errx("registries: %s", err);
		fprintf(stderr, "whoisd: registries: %s\n", err);
		return -1;
	}
	if (pslist_load(wc->wc_public_suffix_list, err, sizeof(err)) == -1) {
		log_errx("public_suffix_list: %s", err);
		fprintf(stderr, "whoisd: public_suffix_list: %s\n", err);
		suffix_free(sx);
		return -1;
	}
	if (link_keys_master(conf, ROLE_FRONT, "whoisd", reload) == -1) {
		suffix_free(sx);
		return -1;
	}
	if (reload == 2) {		/* -n: checked, nothing kept */
		suffix_free(sx);
		return 0;
	}
	/* Kept for the children, which share its pages (and the PSL's)
	 * instead of loading a copy each; running ones keep theirs. */
	suffix_free(front_sfx);
	front_sfx = sx;
	/* Read once here, shared by the children it forks next. */
	static_load(wc->wc_http_www);
	return 0;
}

static void
whoisd_child_init(struct event_base *base, void *conf)
{
	struct whoisd_conf	*wc = conf;
	struct client_opts	 co;
	char			 err[512];

	if (front_sfx == NULL || !pslist_loaded())
		fatalx("%s: the master loaded no suffixes", __func__);
	memset(&co, 0, sizeof(co));
	co.co_limits.fl_max_frame = (size_t)wc->wc_max_frame;
	co.co_limits.fl_compress_min =
	    frame_compress_min_conf(wc->wc_compress_min);
	co.co_default_deadline_ms = (int)(wc->wc_request_timeout * 1000);
	/*
	 * A restart of the cache or query daemon takes a fraction of a
	 * second: requests wait for it rather than send every name to the
	 * registry.  A daemon that stays down must not cost every request
	 * its whole request_timeout: after link_down_wait, the cache is
	 * skipped (names go to the registry) and a lost query link answers
	 * stale or unknown at once.
	 */
	co.co_down_wait_ms = (int)(wc->wc_link_down_wait * 1000);
	co.co_name = "cache";
	co.co_peer_role = ROLE_CACHE;
	if ((front_cache_c = client_new(base, wc->wc_cache_addr, &co, err,
	    sizeof(err))) == NULL)
		fatalx("cache_addr: %s", err);
	co.co_name = "query";
	co.co_peer_role = ROLE_QUERY;
	if ((front_query_c = client_new(base, wc->wc_query_addr, &co, err,
	    sizeof(err))) == NULL)
		fatalx("query_addr: %s", err);
	front_metrics_child_init();
	alog_child_init(conf);
	lookup_init(base);
	limits_child_init(base);
	whois_init(base);
	http_init(base);
}

static void
whoisd_child_accept(struct listener *l, int fd, struct sockaddr *sa,
    socklen_t salen)
{
	int	http = strcmp(l->l_name, "http") == 0, ref;

	(void)salen;
	if (limits_conn_open(sa, &ref) == -1)
		limits_refuse(fd, http);
	else if (http)
		http_accept(fd, ref);
	else
		whois_accept(fd, ref);
}

/*
 * Only HTTP keep-alive connections need cutting short: every whois
 * connection is one request, and every accepted one is answered (its
 * client is sending the query now), so the pool exits when the last one
 * is done.
 */
static void
whoisd_child_drain(void)
{
	http_drain();
}

static const struct pool_daemon whoisd_daemon = {
	.pd_name = "whoisd",
	.pd_spec = &whoisd_spec,
	.pd_listen_name = "whois",
	.pd_extra_names = { "http" },
	.pd_extra_offs = { WCOFF(wc_http_listen) },
	.pd_nextra = 1,
	.pd_master_init = whoisd_master_init,
	.pd_child_init = whoisd_child_init,
	.pd_child_accept = whoisd_child_accept,
	.pd_child_drain = whoisd_child_drain,
	.pd_default_listen = "127.0.0.1:4343",
	.pd_defer_accept = 1,
};

int
main(int argc, char **argv)
{
	front_metrics_register();
	return pool_main(&whoisd_daemon, argc, argv);
}
