/*
 * dns.c — the DNS pre-check: one non-recursive NS query to the TLD's
 * authoritative servers, before the registry.  A referral (or answer)
 * with NS records owned by the name proves it registered; every other
 * reply, error or silence proves nothing and the registry is asked.
 *
 * c-ares does the protocol (UDP, TCP when the reply is truncated,
 * retries, matching replies to queries); this file drives it from the
 * child's libevent loop through its socket-state callback and a timer,
 * one c-ares channel per TLD's server set (or one for dns_override).
 * A per-check timer bounds the wait at two tries whatever c-ares does
 * with its servers, and a rate shared by the children keeps the
 * pre-check polite: over it the check is skipped, never queued.
 */
#include <sys/mman.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <arpa/inet.h>
#include <ares.h>
#include <event2/event.h>

#include "common/log.h"
#include "common/name.h"
#include "common/util.h"
#include "daemons/query/dns.h"
#include "daemons/query/query.h"
#include "proto/msg.h"

#define DNS_T_NS		2
#define DNS_C_IN		1
#define DNS_HDR_LEN		12
#define DNS_EDNS_SIZE		1232	/* no fragmentation on common paths */
#define DNS_TRIES		2	/* a query and one retry */
#define DNS_HINTS_MAX		(1024 * 1024)
#define DNS_HINT_ADDRS		16
/* The shared rate table: servers by hash; a collision is only stricter. */
#define DNS_RATE_SLOTS		256
/* Burst allowed above the rate, in seconds of it. */
#define DNS_RATE_BURST		1.0

/* ------------------------------------------------------------ parsing */

/*
 * Read the (possibly compressed) name at *off into out as lower-case
 * dotted text without a final dot ("" for the root).  *off moves past
 * the name in place.  0, or -1 for a malformed name.
 */
static int
dns_name_read(const unsigned char *buf, size_t len, size_t *off, char *out,
    size_t outlen)
{
	size_t	 p = *off, o = 0, end = 0;
	int	 jumps = 0, i;
	unsigned int	 l;

	for (;;) {
		if (p >= len)
			return -1;
		l = buf[p];
		if ((l & 0xc0) == 0xc0) {
			if (p + 1 >= len || ++jumps > 32)
				return -1;
			if (end == 0)
				end = p + 2;
			p = ((l & 0x3f) << 8) | buf[p + 1];
			continue;
		}
		if ((l & 0xc0) != 0)
			return -1;
		p++;
		if (l == 0)
			break;
		if (p + l > len || o + l + 2 > outlen)
			return -1;
		if (o > 0)
			out[o++] = '.';
		for (i = 0; i < (int)l; i++)
			out[o++] = (char)tolower(buf[p + i]);
		p += l;
	}
	out[o] = '\0';
	*off = end != 0 ? end : p;
	return 0;
}

static uint16_t
get16(const unsigned char *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* Append ", host" (or "NS host" first), cut to fit. */
static void
dns_ns_add(char *ns, size_t nslen, const char *host)
{
	size_t	 n = strlen(ns);

	snprintf(ns + n, nslen - n, "%s%s", n == 0 ? "NS " : ", ", host);
}

enum dns_outcome
dns_parse(const unsigned char *buf, size_t len, const char *name, char *ns,
    size_t nslen, const char **why)
{
	char		 owner[NAME_ACE_BUF], target[NAME_ACE_BUF];
	size_t		 off = DNS_HDR_LEN;
	unsigned int	 qd, an, ns_n, i;
	uint16_t	 type, class, rdlen;
	int		 found = 0;

	ns[0] = '\0';
	if (len < DNS_HDR_LEN) {
		*why = "short reply";
		return DNS_NOTHING;
	}
	if (!(buf[2] & 0x80) || (buf[2] & 0x78) != 0) {
		*why = "not a reply to a query";
		return DNS_NOTHING;
	}
	if (buf[2] & 0x02) {
		*why = "truncated";
		return DNS_NOTHING;
	}
	switch (buf[3] & 0x0f) {
	case 0:
		break;
	case 2:
		*why = "SERVFAIL";
		return DNS_NOTHING;
	case 3:
		*why = "NXDOMAIN";
		return DNS_NOTHING;
	case 5:
		*why = "REFUSED";
		return DNS_NOTHING;
	default:
		*why = "error rcode";
		return DNS_NOTHING;
	}
	qd = get16(buf + 4);
	an = get16(buf + 6);
	ns_n = get16(buf + 8);
	if (qd != 1) {
		*why = "no question";
		return DNS_NOTHING;
	}
	if (dns_name_read(buf, len, &off, owner, sizeof(owner)) == -1 ||
	    off + 4 > len) {
		*why = "malformed question";
		return DNS_NOTHING;
	}
	if (strcmp(owner, name) != 0 || get16(buf + off) != DNS_T_NS ||
	    get16(buf + off + 2) != DNS_C_IN) {
		*why = "reply to another question";
		return DNS_NOTHING;
	}
	off += 4;
	/* Answer and authority: NS records owned by the name itself. */
	for (i = 0; i < an + ns_n; i++) {
		if (dns_name_read(buf, len, &off, owner, sizeof(owner)) == -1 ||
		    off + 10 > len) {
			*why = "malformed record";
			return DNS_NOTHING;
		}
		type = get16(buf + off);
		class = get16(buf + off + 2);
		rdlen = get16(buf + off + 8);
		off += 10;
		if (off + rdlen > len) {
			*why = "malformed record";
			return DNS_NOTHING;
		}
		if (type == DNS_T_NS && class == DNS_C_IN &&
		    strcmp(owner, name) == 0) {
			size_t	t = off;

			if (dns_name_read(buf, off + rdlen, &t, target,
			    sizeof(target)) == -1 || t != off + rdlen ||
			    target[0] == '\0') {
				*why = "malformed NS record";
				return DNS_NOTHING;
			}
			dns_ns_add(ns, nslen, target);
			found++;
		}
		off += rdlen;
	}
	if (found == 0) {
		*why = an + ns_n == 0 ? "no records" : "no delegation";
		return DNS_NOTHING;
	}
	*why = NULL;
	return DNS_DELEGATED;
}

void
dns_answer(struct answer *a, const struct dns_result *r)
{
	a->a_status = AS_REGISTERED;
	a->a_reason[0] = '\0';
	a->a_channel = CH_DNS;
	snprintf(a->a_rule, sizeof(a->a_rule), "%s", ANSWER_RULE_DNS);
	snprintf(a->a_matched, sizeof(a->a_matched), "%s", r->dr_ns);
	a->a_latency_ms = r->dr_ms > 0 ? (uint64_t)(r->dr_ms + 0.5) : 0;
}

/* ------------------------------------------------------------- hints */

struct dns_hint {
	char	*dh_zone;
	char	*dh_csv;	/* "ip:53,ip:53" for c-ares */
};

struct dns_hints {
	struct dns_hint	*dh_v;
	size_t		 dh_n;
};

void
dns_hints_free(struct dns_hints *h)
{
	size_t	 i;

	if (h == NULL)
		return;
	for (i = 0; i < h->dh_n; i++) {
		free(h->dh_v[i].dh_zone);
		free(h->dh_v[i].dh_csv);
	}
	free(h->dh_v);
	free(h);
}

/* One "zone ip ip ..." line into h; 0, or -1 with err. */
static int
dns_hints_line(struct dns_hints *h, char *line, char *err, size_t errlen)
{
	struct in_addr	 a4;
	struct in6_addr	 a6;
	char		*tok, *save = NULL, csv[DNS_HINT_ADDRS * 48];
	char		*zone;
	size_t		 n = 0, o = 0;

	if ((zone = strtok_r(line, " \t", &save)) == NULL)
		return 0;
	if (strlen(zone) >= NAME_ACE_BUF) {
		snprintf(err, errlen, "zone name too long");
		return -1;
	}
	while ((tok = strtok_r(NULL, " \t", &save)) != NULL) {
		if (n == DNS_HINT_ADDRS) {
			snprintf(err, errlen, "%s: more than %d addresses",
			    zone, DNS_HINT_ADDRS);
			return -1;
		}
		if (inet_pton(AF_INET, tok, &a4) == 1)
			o += (size_t)snprintf(csv + o, sizeof(csv) - o,
			    "%s%s:53", n ? "," : "", tok);
		else if (inet_pton(AF_INET6, tok, &a6) == 1)
			o += (size_t)snprintf(csv + o, sizeof(csv) - o,
			    "%s[%s]:53", n ? "," : "", tok);
		else {
			snprintf(err, errlen, "%s: bad address \"%s\"", zone,
			    tok);
			return -1;
		}
		n++;
	}
	if (n == 0) {
		snprintf(err, errlen, "%s: no address", zone);
		return -1;
	}
	for (tok = zone; *tok != '\0'; tok++)
		*tok = (char)tolower((unsigned char)*tok);
	h->dh_v = xrealloc(h->dh_v, (h->dh_n + 1) * sizeof(*h->dh_v));
	h->dh_v[h->dh_n].dh_zone = xstrdup(zone);
	h->dh_v[h->dh_n].dh_csv = xstrdup(csv);
	h->dh_n++;
	return 0;
}

struct dns_hints *
dns_hints_load(const char *path, char *err, size_t errlen)
{
	struct dns_hints	*h;
	FILE			*fp;
	char			 line[4096], why[200];
	int			 ln = 0;

	if ((fp = fopen(path, "r")) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	h = xcalloc(1, sizeof(*h));
	while (fgets(line, sizeof(line), fp) != NULL) {
		ln++;
		line[strcspn(line, "#\r\n")] = '\0';
		if (dns_hints_line(h, line, why, sizeof(why)) == -1) {
			snprintf(err, errlen, "%s:%d: %s", path, ln, why);
			dns_hints_free(h);
			fclose(fp);
			return NULL;
		}
	}
	fclose(fp);
	return h;
}

const char *
dns_hints_find(const struct dns_hints *h, const char *suffix,
    const char **zone)
{
	const char	*s = suffix;
	size_t		 i;

	while (s != NULL && *s != '\0') {
		for (i = 0; i < h->dh_n; i++)
			if (strcmp(h->dh_v[i].dh_zone, s) == 0) {
				*zone = h->dh_v[i].dh_zone;
				return h->dh_v[i].dh_csv;
			}
		if ((s = strchr(s, '.')) != NULL)
			s++;
	}
	return NULL;
}

/* -------------------------------------------------------------- rate */

/*
 * GCRA per server set, in a mapping shared by the children: each slot
 * holds the theoretical arrival time in nanoseconds, moved with a
 * compare-and-swap, so no lock and no child can overtake the rate.
 */
static uint64_t	*dns_rate_tat;

int
dns_master_init(void)
{
	void	*p;

	if (dns_rate_tat != NULL)
		return 0;
	p = mmap(NULL, DNS_RATE_SLOTS * sizeof(uint64_t),
	    PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return -1;
	dns_rate_tat = p;
	return 0;
}

static uint64_t
dns_now_ns(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* May one more query go to `key` now?  Takes the slot when it may. */
static int
dns_rate_take(const char *key, double rate)
{
	uint64_t	*slot, tat, next, now, t, tau;
	uint32_t	 h = 2166136261u;
	const char	*p;

	if (dns_rate_tat == NULL)
		return 1;		/* no table (unit tests) */
	for (p = key; *p != '\0'; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	slot = &dns_rate_tat[h % DNS_RATE_SLOTS];
	t = (uint64_t)(1e9 / rate);
	tau = (uint64_t)(DNS_RATE_BURST * 1e9);
	if (tau < t)
		tau = t;
	now = dns_now_ns();
	tat = __atomic_load_n(slot, __ATOMIC_RELAXED);
	do {
		if (tat > now + tau - t)
			return 0;
		next = (tat > now ? tat : now) + t;
	} while (!__atomic_compare_exchange_n(slot, &tat, next, 0,
	    __ATOMIC_RELAXED, __ATOMIC_RELAXED));
	return 1;
}

/* ----------------------------------------------------------- c-ares */

struct dns_chan;

struct dns_sock {
	ares_socket_t		 ds_fd;
	struct event		*ds_ev;
	struct dns_chan		*ds_chan;
	LIST_ENTRY(dns_sock)	 ds_entry;
};

struct dns_chan {
	char			 dc_key[NAME_ACE_BUF];	/* zone, or the override */
	ares_channel		 dc_ch;
	struct event		*dc_timer;
	LIST_HEAD(, dns_sock)	 dc_socks;
	LIST_ENTRY(dns_chan)	 dc_entry;
};

struct dns_check {
	struct dns_chan		*dk_chan;
	dns_done_cb		 dk_cb;		/* NULL: detached */
	void			*dk_arg;
	struct event		*dk_timer;
	char			 dk_name[NAME_ACE_BUF];
	double			 dk_start;
	int			 dk_sync;	/* inside ares_send() */
	int			 dk_sync_done;
	struct dns_result	 dk_res;
};

static struct event_base	*dns_base;
static struct dns_hints		*dns_servers;
static LIST_HEAD(, dns_chan)	 dns_chans = LIST_HEAD_INITIALIZER(dns_chans);
static int			 dns_ready;

static void	dns_chan_arm(struct dns_chan *);

static void
dns_sock_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct dns_sock	*ds = arg;
	struct dns_chan	*dc = ds->ds_chan;

	/* c-ares may close the socket in here: ds is not touched after. */
	ares_process_fd(dc->dc_ch, (ev & EV_READ) ? fd : ARES_SOCKET_BAD,
	    (ev & EV_WRITE) ? fd : ARES_SOCKET_BAD);
	dns_chan_arm(dc);
}

/* c-ares opens, watches and closes its sockets through here. */
static void
dns_sock_state(void *data, ares_socket_t fd, int readable, int writable)
{
	struct dns_chan	*dc = data;
	struct dns_sock	*ds;
	short		 what;

	LIST_FOREACH(ds, &dc->dc_socks, ds_entry)
		if (ds->ds_fd == fd)
			break;
	if (!readable && !writable) {
		if (ds != NULL) {
			LIST_REMOVE(ds, ds_entry);
			event_free(ds->ds_ev);
			free(ds);
		}
		return;
	}
	if (ds == NULL) {
		ds = xcalloc(1, sizeof(*ds));
		ds->ds_fd = fd;
		ds->ds_chan = dc;
		LIST_INSERT_HEAD(&dc->dc_socks, ds, ds_entry);
	} else {
		event_free(ds->ds_ev);
	}
	what = EV_PERSIST | (readable ? EV_READ : 0) | (writable ? EV_WRITE : 0);
	ds->ds_ev = event_new(dns_base, fd, what, dns_sock_cb, ds);
	event_add(ds->ds_ev, NULL);
}

static void
dns_chan_timer_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct dns_chan	*dc = arg;

	(void)fd; (void)ev;
	ares_process_fd(dc->dc_ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
	dns_chan_arm(dc);
}

/* The channel's next timeout (retry, next server, give up), if any. */
static void
dns_chan_arm(struct dns_chan *dc)
{
	struct timeval	 tv, *tvp;

	if ((tvp = ares_timeout(dc->dc_ch, NULL, &tv)) == NULL)
		evtimer_del(dc->dc_timer);
	else
		evtimer_add(dc->dc_timer, tvp);
}

static struct dns_chan *
dns_chan_get(const char *key, const char *csv)
{
	struct query_conf	*qc = query_conf();
	struct ares_options	 o;
	struct dns_chan		*dc;
	int			 rc, mask;

	LIST_FOREACH(dc, &dns_chans, dc_entry)
		if (strcmp(dc->dc_key, key) == 0)
			return dc;
	dc = xcalloc(1, sizeof(*dc));
	snprintf(dc->dc_key, sizeof(dc->dc_key), "%s", key);
	LIST_INIT(&dc->dc_socks);
	memset(&o, 0, sizeof(o));
	o.flags = ARES_FLAG_NORECURSE | ARES_FLAG_NOSEARCH |
	    ARES_FLAG_NOALIASES | ARES_FLAG_EDNS;
	o.timeout = (int)(qc->qc_dns_timeout * 1000);
	o.tries = DNS_TRIES;
	o.ednspsz = DNS_EDNS_SIZE;
	o.sock_state_cb = dns_sock_state;
	o.sock_state_cb_data = dc;
	mask = ARES_OPT_FLAGS | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES |
	    ARES_OPT_EDNSPSZ | ARES_OPT_SOCK_STATE_CB | ARES_OPT_NOROTATE;
	if ((rc = ares_init_options(&dc->dc_ch, &o, mask)) != ARES_SUCCESS) {
		log_warnx("dns: %s: %s", key, ares_strerror(rc));
		free(dc);
		return NULL;
	}
	if ((rc = ares_set_servers_ports_csv(dc->dc_ch, csv)) != ARES_SUCCESS) {
		log_warnx("dns: %s: servers %s: %s", key, csv,
		    ares_strerror(rc));
		ares_destroy(dc->dc_ch);
		free(dc);
		return NULL;
	}
	dc->dc_timer = evtimer_new(dns_base, dns_chan_timer_cb, dc);
	LIST_INSERT_HEAD(&dns_chans, dc, dc_entry);
	return dc;
}

static void
dns_check_free(struct dns_check *dk)
{
	if (dk->dk_timer != NULL)
		event_free(dk->dk_timer);
	free(dk);
}

/* Hand the result to the caller once; the check stays until c-ares is done. */
static void
dns_check_report(struct dns_check *dk)
{
	dns_done_cb	 cb = dk->dk_cb;

	dk->dk_cb = NULL;
	evtimer_del(dk->dk_timer);
	dk->dk_res.dr_ms = (now_mono() - dk->dk_start) * 1000;
	query_metrics_registry(strrchr(dk->dk_name, '.') != NULL ?
	    strrchr(dk->dk_name, '.') + 1 : dk->dk_name, "dns",
	    dk->dk_res.dr_outcome == DNS_DELEGATED ? "delegated" : "nothing",
	    dk->dk_res.dr_ms / 1000);
	if (cb != NULL)
		cb(&dk->dk_res, dk->dk_arg);
}

static void
dns_reply_cb(void *arg, int status, int timeouts, unsigned char *abuf,
    int alen)
{
	struct dns_check	*dk = arg;
	struct dns_result	*r = &dk->dk_res;

	(void)timeouts;
	if (dk->dk_cb == NULL || status == ARES_EDESTRUCTION) {
		/* Given up on (timer, cancel) or the child is exiting. */
		if (dk->dk_sync)
			dk->dk_sync_done = 1;	/* dns_check() frees it */
		else
			dns_check_free(dk);
		return;
	}
	if (status != ARES_SUCCESS || abuf == NULL || alen <= 0) {
		r->dr_outcome = DNS_NOTHING;
		r->dr_why = ares_strerror(status);
	} else
		r->dr_outcome = dns_parse(abuf, (size_t)alen, dk->dk_name,
		    r->dr_ns, sizeof(r->dr_ns), &r->dr_why);
	if (dk->dk_sync) {
		dk->dk_sync_done = 1;
		return;
	}
	dns_check_report(dk);
	dns_check_free(dk);
}

/* Two tries' time has passed: no verdict; c-ares may still finish. */
static void
dns_check_timer_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct dns_check	*dk = arg;

	(void)fd; (void)ev;
	dk->dk_res.dr_outcome = DNS_NOTHING;
	dk->dk_res.dr_why = "timeout";
	dns_check_report(dk);
}

int
dns_check(const char *name, const char *suffix, dns_done_cb cb, void *arg,
    struct dns_check **cp, const char **why)
{
	struct query_conf	*qc = query_conf();
	struct dns_check	*dk;
	struct dns_chan		*dc;
	struct timeval		 tv;
	unsigned char		*qbuf;
	const char		*csv, *zone;
	int			 qlen;

	*cp = NULL;
	if (!dns_ready) {
		*why = "off";
		return -1;
	}
	if (qc->qc_dns_override != NULL && *qc->qc_dns_override != '\0') {
		csv = qc->qc_dns_override;
		zone = qc->qc_dns_override;
	} else if (dns_servers == NULL ||
	    (csv = dns_hints_find(dns_servers, suffix, &zone)) == NULL) {
		*why = "no servers for the suffix";
		return -1;
	}
	if (!dns_rate_take(zone, qc->qc_dns_rate)) {
		*why = "over dns_rate";
		return -1;
	}
	if ((dc = dns_chan_get(zone, csv)) == NULL) {
		*why = "no channel";
		return -1;
	}
	if (ares_create_query(name, DNS_C_IN, DNS_T_NS, 0, 0, &qbuf, &qlen,
	    DNS_EDNS_SIZE) != ARES_SUCCESS) {
		*why = "cannot build the query";
		return -1;
	}
	dk = xcalloc(1, sizeof(*dk));
	dk->dk_chan = dc;
	dk->dk_cb = cb;
	dk->dk_arg = arg;
	dk->dk_start = now_mono();
	snprintf(dk->dk_name, sizeof(dk->dk_name), "%s", name);
	snprintf(dk->dk_res.dr_server, sizeof(dk->dk_res.dr_server), "%s",
	    zone);
	dk->dk_timer = evtimer_new(dns_base, dns_check_timer_cb, dk);
	dk->dk_sync = 1;
	ares_send(dc->dc_ch, qbuf, qlen, dns_reply_cb, dk);
	ares_free_string(qbuf);
	dk->dk_sync = 0;
	if (dk->dk_sync_done) {
		/* Failed at once (no server, no memory): no verdict. */
		*why = dk->dk_res.dr_why != NULL ? dk->dk_res.dr_why :
		    "failed at once";
		dns_check_free(dk);
		return -1;
	}
	tv_from_seconds(&tv, qc->qc_dns_timeout * DNS_TRIES);
	evtimer_add(dk->dk_timer, &tv);
	dns_chan_arm(dc);
	*cp = dk;
	return 0;
}

void
dns_cancel(struct dns_check *dk)
{
	if (dk == NULL)
		return;
	dk->dk_cb = NULL;
	evtimer_del(dk->dk_timer);
}

int
dns_init(struct event_base *base)
{
	struct query_conf	*qc = query_conf();
	char			 err[512];
	int			 rc;

	dns_base = base;
	if (qc->qc_dns_rate <= 0) {
		log_info("dns: pre-check off (dns_rate 0)");
		return -1;
	}
	/* A simulator's names are unknown to the real TLD servers. */
	if ((qc->qc_dns_override == NULL || *qc->qc_dns_override == '\0') &&
	    query_override() != NULL) {
		log_info("dns: pre-check off: registry_override without "
		    "dns_override");
		return -1;
	}
	if ((rc = ares_library_init(ARES_LIB_INIT_ALL)) != ARES_SUCCESS) {
		log_warnx("dns: c-ares: %s; pre-check off", ares_strerror(rc));
		return -1;
	}
	if ((qc->qc_dns_override == NULL || *qc->qc_dns_override == '\0') &&
	    qc->qc_dns_servers != NULL && *qc->qc_dns_servers != '\0' &&
	    (dns_servers = dns_hints_load(qc->qc_dns_servers, err,
	    sizeof(err))) == NULL) {
		log_warnx("dns: %s; pre-check off", err);
		return -1;
	}
	dns_ready = 1;
	return 0;
}

void
dns_fini(void)
{
	struct dns_chan	*dc;
	struct dns_sock	*ds;

	while ((dc = LIST_FIRST(&dns_chans)) != NULL) {
		LIST_REMOVE(dc, dc_entry);
		/* Every pending query's callback runs with EDESTRUCTION. */
		ares_destroy(dc->dc_ch);
		while ((ds = LIST_FIRST(&dc->dc_socks)) != NULL) {
			LIST_REMOVE(ds, ds_entry);
			event_free(ds->ds_ev);
			free(ds);
		}
		event_free(dc->dc_timer);
		free(dc);
	}
	dns_hints_free(dns_servers);
	dns_servers = NULL;
	if (dns_ready)
		ares_library_cleanup();
	dns_ready = 0;
}
