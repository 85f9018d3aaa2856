/*
 * rdap.c — the simulator's RDAP port: HTTPS (OpenSSL through libevent's
 * bufferevent_openssl) answering GET .../domain/NAME as the TLD's
 * registry would, with keep-alive, and faults on demand (docs/regsim.md,
 * "RDAP").  Slow and endless answers are timers, never sleeps.
 *
 * What a name is comes from the data file and the default rule, as for
 * the whois port; the body's shape from its TLD: Verisign (com, net),
 * PIR (org), Google Registry (app, dev, page), a ccTLD (two letters),
 * Identity Digital/CentralNic (the rest).
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "common/log.h"
#include "common/util.h"
#include "tests/regsim/regsim.h"

#define RDAP_HEAD_MAX		8192	/* a request head larger is refused */
#define RDAP_HUGE		(2 * 1024 * 1024)
#define RDAP_ENDLESS_MS		50

enum rdap_fault {
	RF_NONE, RF_404, RF_429, RF_500, RF_SLOW, RF_ENDLESS, RF_HUGE,
	RF_BADJSON, RF_OTHERNAME, RF_CTYPE, RF_LOOP, RF_TOHTTP, RF_REDIRECT,
	RF_N
};

static const char *const rf_names[RF_N] = {
	"none", "404", "429", "500", "slow", "endless", "huge", "badjson",
	"othername", "ctype", "loop", "tohttp", "redirect"
};

struct rconn {
	struct rdap_sim		*rc_sim;
	struct bufferevent	*rc_bev;
	struct event		*rc_timer;
	int			 rc_busy;	/* slow or endless under way */
	int			 rc_close;	/* close once written */
	char			 rc_path[RS_LINE_MAX];	/* the slow one's */
	TAILQ_ENTRY(rconn)	 rc_entry;
};

struct rdap_win {
	double	rw_start;
	long	rw_used;
};

struct rdap_sim {
	struct regsim		*rd_rs;
	SSL_CTX			*rd_ctx;
	struct evconnlistener	*rd_lis;
	int			 rd_port;
	double			 rd_slow_ms;
	uint64_t		 rd_total;
	uint64_t		 rd_conns;
	struct strmap		 rd_tld;	/* counts */
	struct strmap		 rd_domain;
	struct strmap		 rd_win;	/* tld -> struct rdap_win * */
	TAILQ_HEAD(, rconn)	 rd_cs;
};

static struct rdap_sim	*rd_sim;

int
rs_rdap_fault_parse(const char *s)
{
	int	i;

	for (i = 1; i < RF_N; i++)
		if (strcmp(s, rf_names[i]) == 0)
			return i;
	return -1;
}

static void
rconn_free(struct rconn *c)
{
	TAILQ_REMOVE(&c->rc_sim->rd_cs, c, rc_entry);
	if (c->rc_timer != NULL)
		event_free(c->rc_timer);
	bufferevent_free(c->rc_bev);
	free(c);
}

static void
count(struct strmap *m, const char *k)
{
	struct strmap_entry	*e;
	int			 created;

	e = rs_strmap_add(m, k, &created);
	e->se_val++;
}

static void
reply(struct rconn *c, int code, const char *reason, const char *ctype,
    const char *extra, struct evbuffer *body)
{
	struct evbuffer	*out = bufferevent_get_output(c->rc_bev);

	evbuffer_add_printf(out, "HTTP/1.1 %d %s\r\nServer: whoisd-regsim\r\n"
	    "Content-Type: %s\r\nContent-Length: %zu\r\n%s%s\r\n", code,
	    reason, ctype, body != NULL ? evbuffer_get_length(body) : 0,
	    extra != NULL ? extra : "", c->rc_close ? "Connection: close\r\n" :
	    "");
	if (body != NULL)
		evbuffer_add_buffer(out, body);
}

static void
reply_json(struct rconn *c, int code, const char *reason, const char *ctype,
    const char *extra, const char *fmt, ...) __attribute__((format(printf, 6, 7)));

static void
reply_json(struct rconn *c, int code, const char *reason, const char *ctype,
    const char *extra, const char *fmt, ...)
{
	struct evbuffer	*b = evbuffer_new();
	va_list		 ap;

	va_start(ap, fmt);
	evbuffer_add_vprintf(b, fmt, ap);
	va_end(ap);
	reply(c, code, reason, ctype, extra, b);
	evbuffer_free(b);
}

static void
redirect(struct rconn *c, const char *fmt, const char *a, const char *b)
{
	char	loc[RS_LINE_MAX + 128], hdr[RS_LINE_MAX + 160];

	snprintf(loc, sizeof(loc), fmt, a, b);
	snprintf(hdr, sizeof(hdr), "Location: %s\r\n", loc);
	reply(c, 302, "Found", "text/plain", hdr, NULL);
}

static void
error_body(struct rconn *c, int code, const char *reason, const char *extra)
{
	reply_json(c, code, reason, "application/rdap+json", extra,
	    "{\"errorCode\":%d,\"title\":\"%s\",\"rdapConformance\":"
	    "[\"rdap_level_0\"]}", code, reason);
}

static void
upper(char *dst, size_t len, const char *src)
{
	size_t	i;

	for (i = 0; src[i] != '\0' && i + 1 < len; i++)
		dst[i] = (char)toupper((unsigned char)src[i]);
	dst[i] = '\0';
}

/* A domain object in the shape of tld's registry. */
static void
domain_body(struct evbuffer *b, const char *name, const char *tld,
    int reserved, const char *pad)
{
	const char	*st = reserved ? "\"reserved\"" :
			    "\"client transfer prohibited\","
			    "\"server delete prohibited\"";
	const char	*notices = "\"notices\":[{\"title\":\"Terms of Use\","
			    "\"description\":[\"Service subject to Terms of "
			    "Use.\"]}]";
	char		 up[RS_NAME_MAX];

	if (strcmp(tld, "com") == 0 || strcmp(tld, "net") == 0) {
		upper(up, sizeof(up), name);
		evbuffer_add_printf(b, "{\"objectClassName\":\"domain\","
		    "\"handle\":\"2336799_DOMAIN_COM-VRSN\",\"ldhName\":\"%s\","
		    "\"links\":[{\"value\":\"https://rdap.verisign.com/%s/v1/"
		    "domain/%s\",\"rel\":\"self\",\"href\":\"https://rdap."
		    "verisign.com/%s/v1/domain/%s\",\"type\":"
		    "\"application/rdap+json\"}],\"status\":[%s],"
		    "\"entities\":[{\"objectClassName\":\"entity\",\"handle\":"
		    "\"376\",\"roles\":[\"registrar\"]}],\"events\":["
		    "{\"eventAction\":\"registration\",\"eventDate\":"
		    "\"1995-08-14T04:00:00Z\"},{\"eventAction\":\"expiration\","
		    "\"eventDate\":\"2027-08-13T04:00:00Z\"},{\"eventAction\":"
		    "\"last update of RDAP database\",\"eventDate\":"
		    "\"2026-12-07T03:00:00Z\"}],\"secureDNS\":"
		    "{\"delegationSigned\":false},\"nameservers\":["
		    "{\"objectClassName\":\"nameserver\",\"ldhName\":"
		    "\"A.IANA-SERVERS.NET\"},{\"objectClassName\":\"nameserver\","
		    "\"ldhName\":\"B.IANA-SERVERS.NET\"}],\"rdapConformance\":"
		    "[\"rdap_level_0\",\"icann_rdap_technical_implementation_"
		    "guide_1\",\"icann_rdap_response_profile_1\"],%s%s}",
		    up, tld, up, tld, up, st, notices, pad);
		return;
	}
	if (strcmp(tld, "org") == 0) {
		evbuffer_add_printf(b, "{\"objectClassName\":\"domain\","
		    "\"handle\":\"D402200000000-LROR\",\"ldhName\":\"%s\","
		    "\"unicodeName\":\"%s\",\"status\":[%s%s],\"events\":["
		    "{\"eventAction\":\"registration\",\"eventDate\":"
		    "\"2019-03-14T09:26:53Z\"},{\"eventAction\":\"expiration\","
		    "\"eventDate\":\"2027-03-14T09:26:53Z\"}],\"nameservers\":["
		    "{\"objectClassName\":\"nameserver\",\"ldhName\":"
		    "\"ns1.example.org\"}],\"rdapConformance\":[\"rdap_level_0\","
		    "\"icann_rdap_response_profile_1\"],%s%s}", name, name, st,
		    reserved ? "" : ",\"active\"", notices, pad);
		return;
	}
	if (strcmp(tld, "app") == 0 || strcmp(tld, "dev") == 0 ||
	    strcmp(tld, "page") == 0) {
		evbuffer_add_printf(b, "{\"objectClassName\":\"domain\","
		    "\"handle\":\"1A2B3C-GOOGLE\",\"ldhName\":\"%s\",\"status\":"
		    "[%s],\"events\":[{\"eventAction\":\"registration\","
		    "\"eventDate\":\"2019-03-14T09:26:53Z\"},{\"eventAction\":"
		    "\"expiration\",\"eventDate\":\"2027-03-14T09:26:53Z\"}],"
		    "\"nameservers\":[{\"objectClassName\":\"nameserver\","
		    "\"ldhName\":\"ns-cloud-a1.googledomains.com\"}],"
		    "\"rdapConformance\":[\"rdap_level_0\"],%s%s}", name, st,
		    notices, pad);
		return;
	}
	if (strlen(tld) == 2) {
		/* A ccTLD: its own statuses, no expiration, an offset. */
		evbuffer_add_printf(b, "{\"objectClassName\":\"domain\","
		    "\"ldhName\":\"%s\",\"status\":[%s],\"events\":["
		    "{\"eventAction\":\"registration\",\"eventDate\":"
		    "\"2001-05-02T00:00:00+02:00\"}],\"nameservers\":["
		    "{\"objectClassName\":\"nameserver\",\"ldhName\":"
		    "\"ns1.dns.%s\"}],\"rdapConformance\":[\"rdap_level_0\"]%s}",
		    name, reserved ? st : "\"active\"", tld, pad);
		return;
	}
	evbuffer_add_printf(b, "{\"objectClassName\":\"domain\",\"handle\":"
	    "\"D503300000040403495-LRMS\",\"ldhName\":\"%s\",\"status\":[%s%s],"
	    "\"events\":[{\"eventAction\":\"registration\",\"eventDate\":"
	    "\"2012-05-25T18:03:28.000Z\"},{\"eventAction\":\"expiration\","
	    "\"eventDate\":\"2027-05-25T18:03:28.000Z\"}],\"nameservers\":["
	    "{\"objectClassName\":\"nameserver\",\"ldhName\":"
	    "\"ns1.example.info\"}],\"rdapConformance\":[\"rdap_level_0\","
	    "\"icann_rdap_response_profile_0\"],%s%s}", name, st,
	    strncmp(name, "pending", 7) == 0 ?
	    ",\"pending delete\",\"redemption period\"" : "", notices, pad);
}

struct stats_out {
	struct evbuffer	*so_b;
	int		 so_first;
};

static void
stats_each(const struct strmap_entry *e, void *arg)
{
	struct stats_out	*so = arg;

	if (!so->so_first)
		evbuffer_add(so->so_b, ",", 1);
	so->so_first = 0;
	rs_json_string(so->so_b, e->se_key);
	evbuffer_add_printf(so->so_b, ":%ld", e->se_val);
}

static void
stats_reply(struct rconn *c)
{
	struct rdap_sim		*sim = c->rc_sim;
	struct evbuffer		*b = evbuffer_new();
	struct stats_out	 so = { b, 1 };

	evbuffer_add_printf(b, "{\"total\":%llu,\"connections\":%llu,"
	    "\"tld\":{", (unsigned long long)sim->rd_total,
	    (unsigned long long)sim->rd_conns);
	rs_strmap_each(&sim->rd_tld, stats_each, &so);
	evbuffer_add_printf(b, "},\"domain\":{");
	so.so_first = 1;
	rs_strmap_each(&sim->rd_domain, stats_each, &so);
	evbuffer_add_printf(b, "}}");
	reply(c, 200, "OK", "application/json", NULL, b);
	evbuffer_free(b);
}

/* Over the TLD's --rdap-ratelimit in its fixed window? */
static int
limited(struct rdap_sim *sim, const char *tld)
{
	const struct tldopt	*to;
	struct strmap_entry	*e;
	struct rdap_win		*w;
	double			 now = now_mono();
	int			 created;

	to = rs_tldopts_find(&sim->rd_rs->rs_opts->ro_rdap_opts, tld);
	if (to == NULL || !to->to_has_rate || to->to_rate_n == 0)
		return 0;
	e = rs_strmap_add(&sim->rd_win, tld, &created);
	if ((w = e->se_ptr) == NULL)
		w = e->se_ptr = xcalloc(1, sizeof(*w));
	if (now - w->rw_start >= to->to_rate_window) {
		w->rw_start = now;
		w->rw_used = 0;
	}
	return ++w->rw_used > to->to_rate_n;
}

static void	rconn_read_cb(struct bufferevent *, void *);

static void
endless_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct rconn	*c = arg;
	struct timeval	 tv = { 0, RDAP_ENDLESS_MS * 1000 };
	static const char chunk[] = "\"pad\":\"xxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\",";

	(void)fd; (void)ev;
	evbuffer_add_printf(bufferevent_get_output(c->rc_bev), "%zx\r\n%s\r\n",
	    sizeof(chunk) - 1, chunk);
	evtimer_add(c->rc_timer, &tv);
}

static void	answer(struct rconn *, const char *path, int after_slow);

static void
slow_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct rconn	*c = arg;

	(void)fd; (void)ev;
	c->rc_busy = 0;
	answer(c, c->rc_path, 1);
	/* Requests that came while it waited. */
	rconn_read_cb(c->rc_bev, c);
}

static void
answer(struct rconn *c, const char *path, int after_slow)
{
	struct rdap_sim		*sim = c->rc_sim;
	struct regsim		*rs = sim->rd_rs;
	const struct tldopt	*to;
	struct evbuffer		*b;
	const char		*p, *tld, *variant, *dash;
	char			 name[RS_NAME_MAX], real[RS_NAME_MAX];
	char			 kind[16];
	struct timeval		 tv;
	enum rs_status		 st;
	int			 f = RF_NONE, redirected;
	size_t			 i, n;

	if (strcmp(path, "/_stats") == 0) {
		stats_reply(c);
		return;
	}
	if ((p = strstr(path, "/domain/")) == NULL || p[8] == '\0' ||
	    strchr(p + 8, '/') != NULL || strlen(p + 8) >= sizeof(name)) {
		error_body(c, 400, "Bad Request", NULL);
		return;
	}
	for (i = 0; p[8 + i] != '\0'; i++)
		name[i] = (char)tolower((unsigned char)p[8 + i]);
	name[i] = '\0';
	tld = strrchr(name, '.') != NULL ? strrchr(name, '.') + 1 : name;
	redirected = strncmp(path, "/_r/", 4) == 0;
	if (!redirected && !after_slow) {
		sim->rd_total++;
		count(&sim->rd_tld, tld);
		if (sim->rd_domain.sm_n < RS_DOMAIN_CAP)
			count(&sim->rd_domain, name);
	}
	if ((to = rs_tldopts_find(&rs->rs_opts->ro_rdap_opts, tld)) != NULL &&
	    to->to_has_fault)
		f = to->to_fault;
	snprintf(real, sizeof(real), "%s", name);
	/* rdap-KIND-rest: the fault KIND, the name's status from rest. */
	if (strncmp(name, "rdap-", 5) == 0 && (dash = strpbrk(name + 5,
	    "-.")) != NULL && (n = (size_t)(dash - name - 5)) < sizeof(kind)) {
		memcpy(kind, name + 5, n);
		kind[n] = '\0';
		if (rs_rdap_fault_parse(kind) > 0) {
			f = rs_rdap_fault_parse(kind);
			snprintf(real, sizeof(real), "%s%s", *dash == '-' ?
			    "" : "x", *dash == '-' ? dash + 1 : dash);
		}
	}
	if (limited(sim, tld))
		f = RF_429;
	switch (f) {
	case RF_429:
		error_body(c, 429, "Too Many Requests", "Retry-After: 7\r\n");
		return;
	case RF_500:
		error_body(c, 500, "Internal Server Error", NULL);
		return;
	case RF_SLOW:
		if (after_slow)
			break;
		c->rc_busy = 1;
		snprintf(c->rc_path, sizeof(c->rc_path), "%s", path);
		if (c->rc_timer != NULL)
			event_free(c->rc_timer);
		c->rc_timer = evtimer_new(rs->rs_base, slow_cb, c);
		tv_from_ms(&tv, sim->rd_slow_ms);
		evtimer_add(c->rc_timer, &tv);
		return;
	case RF_LOOP:
		redirect(c, "/_loop%s%s", "", path);
		return;
	case RF_TOHTTP:
		snprintf(kind, sizeof(kind), "%d", sim->rd_port);
		redirect(c, "http://127.0.0.1:%s%s", kind, path);
		return;
	case RF_REDIRECT:
		if (!redirected) {
			redirect(c, "/_r%s%s", "", path);
			return;
		}
		snprintf(real, sizeof(real), "%s", name);
		break;
	case RF_ENDLESS:
		c->rc_busy = 1;
		evbuffer_add_printf(bufferevent_get_output(c->rc_bev),
		    "HTTP/1.1 200 OK\r\nContent-Type: application/rdap+json\r\n"
		    "Transfer-Encoding: chunked\r\n\r\n1\r\n{\r\n");
		if (c->rc_timer != NULL)
			event_free(c->rc_timer);
		c->rc_timer = evtimer_new(rs->rs_base, endless_cb, c);
		endless_cb(-1, 0, c);
		return;
	case RF_BADJSON:
		reply_json(c, 200, "OK", "application/rdap+json", NULL,
		    "{\"objectClassName\": \"domain\", \"ldhName\": ");
		return;
	default:
		break;
	}
	st = rs_data_classify(rs->rs_have_data ? &rs->rs_data : NULL, real,
	    &variant);
	if (f == RF_404 || st == RS_AVAILABLE) {
		error_body(c, 404, "Not Found", NULL);
		return;
	}
	b = evbuffer_new();
	if (f == RF_OTHERNAME)
		snprintf(real, sizeof(real), "some-other-name.%.200s", tld);
	if (f == RF_HUGE) {
		static const char	 pre[] = ",\"remarks\":[{\"description\":[\"";
		static const char	 post[] = "\"]}]";
		char			*pad;

		pad = xmalloc(sizeof(pre) - 1 + RDAP_HUGE + sizeof(post));
		memcpy(pad, pre, sizeof(pre) - 1);
		memset(pad + sizeof(pre) - 1, 'x', RDAP_HUGE);
		memcpy(pad + sizeof(pre) - 1 + RDAP_HUGE, post, sizeof(post));
		domain_body(b, real, tld, 0, pad);
		free(pad);
	} else
		domain_body(b, real, tld, st == RS_RESERVED, "");
	reply(c, 200, "OK", f == RF_CTYPE ? "text/html" :
	    "application/rdap+json", NULL, b);
	evbuffer_free(b);
}

static void
rconn_read_cb(struct bufferevent *bev, void *arg)
{
	struct rconn		*c = arg;
	struct evbuffer		*in = bufferevent_get_input(bev);
	struct evbuffer_ptr	 end;
	char			*head, *line_end, path[RS_LINE_MAX];
	size_t			 n;

	while (!c->rc_busy && !c->rc_close) {
		end = evbuffer_search(in, "\r\n\r\n", 4, NULL);
		if (end.pos == -1) {
			if (evbuffer_get_length(in) > RDAP_HEAD_MAX)
				goto bad;
			return;
		}
		n = (size_t)end.pos + 4;
		head = xmalloc(n + 1);
		evbuffer_remove(in, head, n);
		head[n] = '\0';
		line_end = strstr(head, "\r\n");
		*line_end = '\0';
		if (sscanf(head, "GET %4095s HTTP/1.%*c", path) != 1) {
			free(head);
			goto bad;
		}
		c->rc_close = strcasestr(line_end + 2, "\r\nConnection: close") !=
		    NULL || strncasecmp(line_end + 2, "Connection: close", 17) ==
		    0;
		free(head);
		answer(c, path, 0);
	}
	return;
bad:
	c->rc_close = 1;
	error_body(c, 400, "Bad Request", NULL);
}

static void
rconn_write_cb(struct bufferevent *bev, void *arg)
{
	struct rconn	*c = arg;

	(void)bev;
	if (c->rc_close && !c->rc_busy)
		rconn_free(c);
}

static void
rconn_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct rconn	*c = arg;

	(void)bev;
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT))
		rconn_free(c);
}

static void
rdap_accept_cb(struct evconnlistener *l, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct rdap_sim	*sim = arg;
	struct rconn	*c;
	SSL		*ssl;
	struct timeval	 idle = { 30, 0 };
	int		 on = 1;

	(void)l; (void)sa; (void)salen;
	if ((ssl = SSL_new(sim->rd_ctx)) == NULL) {
		evutil_closesocket(fd);
		return;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
	c = xcalloc(1, sizeof(*c));
	c->rc_sim = sim;
	c->rc_bev = bufferevent_openssl_socket_new(sim->rd_rs->rs_base, fd,
	    ssl, BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
	if (c->rc_bev == NULL) {
		SSL_free(ssl);
		evutil_closesocket(fd);
		free(c);
		return;
	}
	/* A client that hangs up is a clean end, not a TLS error. */
	bufferevent_openssl_set_allow_dirty_shutdown(c->rc_bev, 1);
	sim->rd_conns++;
	TAILQ_INSERT_TAIL(&sim->rd_cs, c, rc_entry);
	bufferevent_setcb(c->rc_bev, rconn_read_cb, rconn_write_cb,
	    rconn_event_cb, c);
	bufferevent_set_timeouts(c->rc_bev, &idle, NULL);
	bufferevent_enable(c->rc_bev, EV_READ | EV_WRITE);
}

int
rs_rdap_start(struct regsim *rs, char *err, size_t errlen)
{
	struct regsim_opts	*o = rs->rs_opts;
	struct rdap_sim		*sim;
	struct sockaddr_storage	 ss;
	socklen_t		 sl = sizeof(ss);
	int			 len = sizeof(ss);

	if (o->ro_rdap_listen == NULL)
		return 0;
	if (o->ro_rdap_cert == NULL || o->ro_rdap_key == NULL) {
		snprintf(err, errlen, "--rdap-listen needs --rdap-cert and "
		    "--rdap-key");
		return -1;
	}
	sim = xcalloc(1, sizeof(*sim));
	sim->rd_rs = rs;
	sim->rd_slow_ms = o->ro_rdap_slow_ms;
	rs_strmap_init(&sim->rd_tld);
	rs_strmap_init(&sim->rd_domain);
	rs_strmap_init(&sim->rd_win);
	TAILQ_INIT(&sim->rd_cs);
	if ((sim->rd_ctx = SSL_CTX_new(TLS_server_method())) == NULL ||
	    SSL_CTX_use_certificate_chain_file(sim->rd_ctx,
	    o->ro_rdap_cert) != 1 ||
	    SSL_CTX_use_PrivateKey_file(sim->rd_ctx, o->ro_rdap_key,
	    SSL_FILETYPE_PEM) != 1) {
		snprintf(err, errlen, "TLS: %s (%s, %s)",
		    ERR_reason_error_string(ERR_get_error()), o->ro_rdap_cert,
		    o->ro_rdap_key);
		return -1;
	}
	memset(&ss, 0, sizeof(ss));
	if (evutil_parse_sockaddr_port(o->ro_rdap_listen,
	    (struct sockaddr *)&ss, &len) == -1) {
		snprintf(err, errlen, "--rdap-listen=%s: want HOST:PORT",
		    o->ro_rdap_listen);
		return -1;
	}
	sim->rd_lis = evconnlistener_new_bind(rs->rs_base, rdap_accept_cb, sim,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC,
	    1024, (struct sockaddr *)&ss, len);
	if (sim->rd_lis == NULL) {
		snprintf(err, errlen, "--rdap-listen=%s: cannot listen",
		    o->ro_rdap_listen);
		return -1;
	}
	getsockname(evconnlistener_get_fd(sim->rd_lis), (struct sockaddr *)&ss,
	    &sl);
	sim->rd_port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
	rd_sim = sim;
	log_notice("rdap: listening on 127.0.0.1:%d", sim->rd_port);
	printf("rdap: listening on 127.0.0.1:%d\n", sim->rd_port);
	fflush(stdout);
	return 0;
}

static void
win_free(void *p)
{
	free(p);
}

void
rs_rdap_free(void)
{
	struct rconn	*c;

	if (rd_sim == NULL)
		return;
	while ((c = TAILQ_FIRST(&rd_sim->rd_cs)) != NULL)
		rconn_free(c);
	evconnlistener_free(rd_sim->rd_lis);
	SSL_CTX_free(rd_sim->rd_ctx);
	rs_strmap_free(&rd_sim->rd_tld, NULL);
	rs_strmap_free(&rd_sim->rd_domain, NULL);
	rs_strmap_free(&rd_sim->rd_win, win_free);
	free(rd_sim);
	rd_sim = NULL;
}
