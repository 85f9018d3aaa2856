/*
 * main.c — whoisd-query: config, links to the cache and the errdb, the
 * spool, and the pool callbacks.  The request's path is in serve.c, the
 * reports to the cache and the errdb in report.c, a registry
 * conversation in session.c, pacing and back-off in budget.c, the IANA
 * fallback in iana.c.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <event2/dns.h>
#include <event2/event.h>

#include "common/log.h"
#include "common/pool.h"
#include "common/pslist.h"
#include "common/tldtab.h"
#include "common/spool.h"
#include "common/util.h"
#include "daemons/query/classify.h"
#include "daemons/query/dns.h"
#include "daemons/query/query.h"
#include "daemons/query/rdap.h"
#include "daemons/query/registries.h"
#include "proto/auth.h"
#include "proto/client.h"

#ifndef SYSCONF_WHOISD
#define SYSCONF_WHOISD	"etc"
#endif

#define QCOFF(f)	offsetof(struct query_conf, f)
static const struct conf_key query_keys[] = {
	{ "cache_addr", CONF_ADDR, QCOFF(qc_cache_addr), 0, 0, "127.0.0.1:4701",
	  "whoisd-cache (answers are put, timings reported)" },
	{ "errdb_addr", CONF_ADDR, QCOFF(qc_errdb_addr), 0, 0, "127.0.0.1:4703",
	  "whoisd-errdb (error events, registry health)" },
	{ "registries", CONF_STR, QCOFF(qc_registries), 0, 0,
	  SYSCONF_WHOISD "/registries.conf", "registries file" },
	{ "tld_whois", CONF_STR, QCOFF(qc_tld_whois), 0, 0,
	  SYSCONF_WHOISD "/tld-whois.conf", "the whois server (or none) of "
	  "every TLD of the root zone, for a TLD without a block in the "
	  "registries file; empty = ask IANA" },
	{ "public_suffix_list", CONF_STR, QCOFF(qc_public_suffix_list), 0, 0,
	  PSLIST_DEFAULT, "Public Suffix List (ICANN section): what is "
	  "registrable" },
	{ "registry_override", CONF_ADDR, QCOFF(qc_registry_override), 0, 0,
	  NULL, "send every registry, referral and IANA query to this "
	  "host:port (the simulator); empty = off" },
	{ "registry_rate_override", CONF_DOUBLE,
	  QCOFF(qc_registry_rate_override), 0, 100000, "0",
	  "queries/s replacing every registry's budget; 0 = off" },
	{ "connect_timeout", CONF_DOUBLE, QCOFF(qc_connect_timeout), 0.05, 300,
	  "3", "seconds to resolve and connect to a registry" },
	{ "first_byte_timeout", CONF_DOUBLE, QCOFF(qc_first_byte_timeout), 0.05,
	  600, "10", "seconds from the query to the reply's first byte" },
	{ "total_timeout", CONF_DOUBLE, QCOFF(qc_total_timeout), 0.1, 600, "20",
	  "seconds a registry conversation may take in all" },
	{ "adapt_min", CONF_DOUBLE, QCOFF(qc_adapt_min), 0.1, 600, "2",
	  "shortest per-registry timeout (3 x its recent p99)" },
	{ "adapt_max", CONF_DOUBLE, QCOFF(qc_adapt_max), 0, 600, "30",
	  "longest per-registry timeout; 0 = always total_timeout" },
	{ "adapt_refresh", CONF_DOUBLE, QCOFF(qc_adapt_refresh), 0.1, 3600,
	  "30", "seconds a child reuses a registry's timing figures" },
	{ "max_reply", CONF_BYTES, QCOFF(qc_max_reply), 1024, 64 * 1024 * 1024,
	  "1M", "longest registry reply; more is truncated (unknown)" },
	{ "spool_dir", CONF_STR, QCOFF(qc_spool_dir), 0, 0,
	  "/tmp/whoisd-spool-query", "error events wait here for the errdb" },
	{ "host_id", CONF_STR, QCOFF(qc_host_id), 0, 0, NULL,
	  "this host in error events (default: the hostname)" },
	{ "backoff_default", CONF_DOUBLE, QCOFF(qc_backoff_default), 1, 86400,
	  "30", "back-off after a throttle without retry-after, doubling "
	  "per consecutive throttle" },
	{ "backoff_max", CONF_DOUBLE, QCOFF(qc_backoff_max), 1, 86400, "900",
	  "longest default back-off" },
	{ "health_refresh", CONF_DOUBLE, QCOFF(qc_health_refresh), 0.1, 3600,
	  "2", "seconds between back-off refreshes from the errdb" },
	{ "max_frame", CONF_BYTES, QCOFF(qc_max_frame), 1024, 1 << 30, "16M",
	  "largest internal frame" },
	{ "compress_min", CONF_BYTES, QCOFF(qc_compress_min), 0, 1 << 30,
	  "8k", "internal frame bodies above this are deflated (0 = never)" },
	{ "link_frame_timeout", CONF_DOUBLE, QCOFF(qc_link_frame_timeout), 0.1,
	  3600, "10", "seconds an internal frame may take from its first byte "
	  "to its last" },
	{ "link_hello_timeout", CONF_DOUBLE, QCOFF(qc_link_hello_timeout), 0.1,
	  3600, "10", "seconds a new link may stay silent before goaway" },
	{ "link_idle_timeout", CONF_DOUBLE, QCOFF(qc_link_idle_timeout), 0.1,
	  86400, "300", "seconds a link with nothing in flight is kept (clients "
	  "ping theirs every 60)" },
	{ "dns_override", CONF_ADDR, QCOFF(qc_dns_override), 0, 0, NULL,
	  "send every DNS pre-check to this ip:port (a test's server) "
	  "instead of the TLD's; empty = off" },
	{ "dns_servers", CONF_STR, QCOFF(qc_dns_servers), 0, 0,
	  SYSCONF_WHOISD "/tld-servers.conf", "the TLDs' authoritative "
	  "servers for the DNS pre-check (TLD ip ip ...); empty = none" },
	{ "dns_timeout", CONF_DOUBLE, QCOFF(qc_dns_timeout), 0.05, 10, "0.8",
	  "seconds a DNS pre-check query may take; one retry" },
	{ "dns_rate", CONF_DOUBLE, QCOFF(qc_dns_rate), 0, 100000, "50",
	  "DNS pre-check queries/s per server set, shared by the children; "
	  "over it the pre-check is skipped; 0 = pre-check off" },
	{ "rdap_bootstrap", CONF_STR, QCOFF(qc_rdap_bootstrap), 0, 0,
	  SYSCONF_WHOISD "/rdap-dns.json", "IANA's RDAP bootstrap file for "
	  "DNS (RFC 9224): each TLD's RDAP base URL; empty = none" },
	{ "rdap_override", CONF_STR, QCOFF(qc_rdap_override), 0, 0, NULL,
	  "send every RDAP query to this https://host:port (the simulator), "
	  "path kept; empty = off" },
	{ "rdap_ca_file", CONF_STR, QCOFF(qc_rdap_ca_file), 0, 0, NULL,
	  "CA certificates (PEM) RDAP servers are verified against; empty = "
	  "the system's" },
	{ "rdap_max_body", CONF_BYTES, QCOFF(qc_rdap_max_body), 1024,
	  64 * 1024 * 1024, "256k", "largest RDAP body; more is unknown "
	  "(body-too-large)" },
	{ NULL, 0, 0, 0, 0, NULL, NULL }
};

static int	query_check(void *, char *, size_t);

static const struct conf_spec query_spec = {
	"whoisd-query", query_keys, sizeof(struct query_conf),
	SYSCONF_WHOISD "/whoisd-query.conf", query_check, NULL
};

static struct registries	*q_regs;
static struct client		*q_cache_c, *q_errdb_c;
static struct spool		*q_spool;
static struct evdns_base	*q_dns;
static char			 q_host_id[256];
static struct rdap_boot		*q_rdap_boot;

struct query_conf *
query_conf(void)
{
	return pool_conf();
}

struct registries *
query_registries(void)
{
	return q_regs;
}

struct client *
query_cache(void)
{
	return q_cache_c;
}

struct client *
query_errdb(void)
{
	return q_errdb_c;
}

struct spool *
query_spool(void)
{
	return q_spool;
}

struct evdns_base *
query_dns(void)
{
	return q_dns;
}

const char *
query_host_id(void)
{
	return q_host_id;
}

const char *
query_override(void)
{
	const char	*o = query_conf()->qc_registry_override;

	return o != NULL && *o != '\0' ? o : NULL;
}

const struct rdap_boot *
query_rdap_boot(void)
{
	return q_rdap_boot;
}

const char *
query_rdap_override(void)
{
	const char	*o = query_conf()->qc_rdap_override;

	return o != NULL && *o != '\0' ? o : NULL;
}

int
query_rdap_on(void)
{
	return query_override() == NULL || query_rdap_override() != NULL;
}

/* The bootstrap file, or NULL with err filled (none named: NULL, err ""). */
static struct rdap_boot *
query_rdap_boot_load(struct query_conf *qc, char *err, size_t errlen)
{
	err[0] = '\0';
	if (qc->qc_rdap_bootstrap == NULL || *qc->qc_rdap_bootstrap == '\0')
		return NULL;
	return rdap_boot_load(qc->qc_rdap_bootstrap, err, errlen);
}

static int
query_check(void *conf, char *err, size_t errlen)
{
	struct query_conf	*qc = conf;
	struct registries	*r;
	unsigned char		 a[sizeof(struct in6_addr)];
	char			 host[256], e[512];
	int			 port;

	if (qc->qc_backoff_max < qc->qc_backoff_default) {
		snprintf(err, errlen, "backoff_max (%g) must be >= "
		    "backoff_default (%g)", qc->qc_backoff_max,
		    qc->qc_backoff_default);
		return -1;
	}
	/* c-ares takes addresses, never names, for its servers. */
	if (qc->qc_dns_override != NULL && *qc->qc_dns_override != '\0') {
		if (parse_hostport(qc->qc_dns_override, host, sizeof(host),
		    &port, err, errlen) == -1)
			return -1;
		if (inet_pton(AF_INET, host, a) != 1 &&
		    inet_pton(AF_INET6, host, a) != 1) {
			snprintf(err, errlen, "dns_override must be an IP "
			    "address and port, not \"%s\"",
			    qc->qc_dns_override);
			return -1;
		}
	}
	if (qc->qc_rdap_override != NULL && *qc->qc_rdap_override != '\0' &&
	    strncmp(qc->qc_rdap_override, "https://", 8) != 0)
		return conf_keyerr(err, errlen, "rdap_override",
		    "must be an https:// URL, not \"%s\"", qc->qc_rdap_override);
	if (qc->qc_spool_dir == NULL || *qc->qc_spool_dir == '\0')
		return conf_keyerr(err, errlen, "spool_dir", "must be set");
	/* Read before any port is bound: a broken file, or keys that cannot
	 * be loaded, are config errors. */
	if ((r = registries_load(qc->qc_registries, e, sizeof(e))) == NULL)
		return conf_keyerr(err, errlen, "registries", "%s", e);
	registries_free(r);
	return link_keys_check(conf, ROLE_QUERY, err, errlen);
}

/*
 * Master: refuse a broken registries file before forking (on HUP it
 * keeps the old config) and keep it, with the PSL, the TLD table and
 * the RDAP bootstrap, for the children it forks next; create the spool
 * directory, and map the shared budget table once, so every generation
 * of children shares it.
 */
static int
query_master_init(void *conf, int reload)
{
	struct query_conf	*qc = conf;
	struct registries	*r;
	struct rdap_boot	*rb = NULL;
	char			 err[512];

	/* Before any pattern is compiled; the children inherit it. */
	if (classify_init() == -1)
		log_warnx("no UTF-8 locale: accented patterns match bytes only");
	if ((r = registries_load(qc->qc_registries, err, sizeof(err))) == NULL) {
		log_errx("registries: %s", err);
		if (!reload)
			fprintf(stderr, "whoisd-query: registries: %s\n", err);
		return -1;
	}
	if (qc->qc_tld_whois != NULL && *qc->qc_tld_whois != '\0') {
		struct tldtab	*tt;

		if ((tt = tldtab_load(qc->qc_tld_whois, err, sizeof(err))) ==
		    NULL) {
			log_errx("tld_whois: %s", err);
			if (!reload)
				fprintf(stderr, "whoisd-query: tld_whois: %s\n",
				    err);
			goto fail;
		}
		tldtab_free(tt);
	}
	if (pslist_load(qc->qc_public_suffix_list, err, sizeof(err)) == -1) {
		log_errx("public_suffix_list: %s", err);
		if (!reload)
			fprintf(stderr, "whoisd-query: public_suffix_list: %s\n",
			    err);
		goto fail;
	}
	/* A broken bootstrap file is refused like a broken registries file. */
	if ((rb = query_rdap_boot_load(qc, err, sizeof(err))) == NULL &&
	    err[0] != '\0') {
		log_errx("rdap_bootstrap: %s", err);
		if (!reload)
			fprintf(stderr, "whoisd-query: rdap_bootstrap: %s\n",
			    err);
		goto fail;
	}
	if (rb != NULL)
		log_info("rdap_bootstrap: %zu suffixes, published %s",
		    rdap_boot_count(rb), rdap_boot_publication(rb));
	if (link_keys_master(conf, ROLE_QUERY, "whoisd-query", reload) == -1)
		goto fail;
	/* -n: check only.  A spool that cannot be written is no reason
	 * not to start (events wait in memory), but the check says so. */
	if (reload == 2) {
		registries_free(r);
		rdap_boot_free(rb);
		if (conf_check_writable(conf, "spool_dir", qc->qc_spool_dir, 1,
		    err, sizeof(err)) == -1) {
			fprintf(stderr, "whoisd-query: config error: %s\n", err);
			return -1;
		}
		return 0;
	}
	/*
	 * The tables every child reads are kept from here: the children
	 * share their pages (copy-on-write) instead of loading a copy each,
	 * about 3 MB a child.  Children already running keep theirs.
	 */
	if (iana_table_load(qc->qc_tld_whois, err, sizeof(err)) == -1) {
		log_errx("tld_whois: %s", err);
		goto fail;
	}
	registries_free(q_regs);
	q_regs = r;
	rdap_boot_free(q_rdap_boot);
	q_rdap_boot = rb;
	/* An unwritable spool is not fatal: events wait in memory. */
	spool_prepare(qc->qc_spool_dir);
	if (budget_init() == -1) {
		log_errx("cannot map the shared budget table");
		return -1;
	}
	if (dns_master_init() == -1) {
		log_errx("cannot map the shared DNS rate table");
		return -1;
	}
	return 0;
 fail:
	registries_free(r);
	rdap_boot_free(rb);
	return -1;
}

static void
query_child_init(struct event_base *base, void *conf)
{
	struct query_conf	*qc = conf;
	struct client_opts	 co;
	char			 err[512];

	/* The registries, the PSL, the TLD table and the RDAP bootstrap
	 * are the master's (query_master_init()). */
	if (q_regs == NULL || !pslist_loaded())
		fatalx("%s: the master loaded no registries", __func__);
	if (rdap_init(base) == -1)
		log_warnx("rdap: no HTTPS client; the RDAP channel is off");
	if (qc->qc_host_id != NULL && *qc->qc_host_id != '\0')
		snprintf(q_host_id, sizeof(q_host_id), "%s", qc->qc_host_id);
	else if (gethostname(q_host_id, sizeof(q_host_id) - 1) == -1 ||
	    q_host_id[0] == '\0')
		snprintf(q_host_id, sizeof(q_host_id), "localhost");
	memset(&co, 0, sizeof(co));
	co.co_limits.fl_max_frame = (size_t)qc->qc_max_frame;
	co.co_limits.fl_compress_min =
	    frame_compress_min_conf(qc->qc_compress_min);
	co.co_name = "cache";
	co.co_peer_role = ROLE_CACHE;
	if ((q_cache_c = client_new(base, qc->qc_cache_addr, &co, err,
	    sizeof(err))) == NULL)
		fatalx("cache_addr: %s", err);
	co.co_name = "errdb";
	co.co_peer_role = ROLE_ERRDB;
	if ((q_errdb_c = client_new(base, qc->qc_errdb_addr, &co, err,
	    sizeof(err))) == NULL)
		fatalx("errdb_addr: %s", err);
	/*
	 * Registry names are resolved asynchronously; without a resolver
	 * configuration the session falls back to getaddrinfo().
	 */
	if ((q_dns = evdns_base_new(base,
	    EVDNS_BASE_INITIALIZE_NAMESERVERS)) == NULL)
		log_warnx("evdns: no resolver configuration; resolving "
		    "registry names synchronously");
	if ((q_spool = spool_open(base, qc->qc_spool_dir, NULL,
	    report_spool_send, NULL, err, sizeof(err))) == NULL)
		log_warnx("spool: %s; error events are sent unspooled", err);
	iana_init(base);
	dns_init(base);
	report_init(base);
	serve_init(base);
	query_metrics_child_init();
}

static void
query_child_accept(struct listener *l, int fd, struct sockaddr *sa,
    socklen_t salen)
{
	(void)l;
	serve_accept(fd, sa, salen);
}

static void
query_child_drain(void)
{
	serve_drain();
}

static void
query_child_exit(void)
{
	report_fini();
	iana_fini();
	dns_fini();
	rdap_fini();
	rdap_boot_free(q_rdap_boot);
	q_rdap_boot = NULL;
	spool_close(q_spool);
	q_spool = NULL;
}

static const struct pool_daemon query_daemon = {
	.pd_name = "whoisd-query",
	.pd_spec = &query_spec,
	.pd_master_init = query_master_init,
	.pd_child_init = query_child_init,
	.pd_child_accept = query_child_accept,
	.pd_child_drain = query_child_drain,
	.pd_child_exit = query_child_exit,
	.pd_default_listen = "127.0.0.1:4702",
};

int
main(int argc, char **argv)
{
	query_metrics_register();
	return pool_main(&query_daemon, argc, argv);
}
