/*
 * whoisctl — the operator's command line.
 *
 *	whoisctl [options] COMMAND [ARG...] [options]
 *	  status [DAEMON...]     is each daemon up (front: pools and links)
 *	  stats [DAEMON...]      each daemon's counters
 *	  check NAME...          verdicts through the front (/v1/check)
 *	  purge NAME... | --all  drop cached answers
 *	  health [REGISTRY]      registry health and back-off from whoisd-errdb
 *	  health --clear REGISTRY  end the registry's back-off
 *	  errors [REGISTRY]      recent error events from whoisd-errdb
 *	  reload PID STATUSFILE  HUP a daemon and wait until the reload is done
 *	  keygen DIR [USER]      make the missing role keys of the links
 *
 * Options may come before or after the command.  The daemons' addresses
 * come from the installed configs (--config_dir, /etc/whoisd by default:
 * the front's first http_listen, the others' first listen) unless given
 * as --front, --cache, --query, --errdb.  HTTP goes through libcurl with
 * connect and total timeouts; any answer but 2xx is an error.  Every
 * command prints a table for people, or JSON with --json; any failure
 * exits 1 with the reason on stderr, a usage error 2.
 *
 * Commands on internal links prove the role ctl with DIR/ctl.key (--keys,
 * else $WHOISD_KEYS, else the front's link_keys, else /etc/whoisd/keys):
 * only its holder may purge or clear a back-off.  keygen gives the
 * daemons' keys to USER (the one the daemons run as) and leaves ctl.key
 * to the caller.
 *
 * `reload` is systemd's ExecReload=: it returns 0 once the daemon's new
 * children serve, 1 if the reload failed (the old config stays), so
 * `systemctl reload` means "done" rather than "signal sent".
 */
#include <sys/types.h>

#include <ctype.h>
#include <errno.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <event2/event.h>
#include <jansson.h>

#include "common/log.h"
#include "common/name.h"
#include "common/suffix.h"
#include "common/util.h"
#include "daemons/whoisctl/coverage.h"
#include "daemons/whoisctl/whoisctl.h"
#include "proto/auth.h"
#include "proto/client.h"
#include "proto/msg.h"

#define CTL_CONFDIR	"/etc/whoisd"
/* Names per /v1/check request: well under the front's http_max_names. */
#define CTL_CHECK_BATCH	500

struct ctl_opts	ctl = {
	.co_link_auth = "require",
	.co_confdir = CTL_CONFDIR,
	.co_connect_timeout = 5,
	.co_timeout = 30,
};

const char	*ctl_daemon_names[CTL_NDAEMONS] = {
	"whoisd", "whoisd-cache", "whoisd-query", "whoisd-errdb"
};
/* Each daemon's config file and the key whoisctl connects to. */
static const char	*ctl_conf_files[CTL_NDAEMONS] = {
	"whoisd.conf", "whoisd-cache.conf", "whoisd-query.conf",
	"whoisd-errdb.conf"
};
static const char	*ctl_conf_keys[CTL_NDAEMONS] = {
	"http_listen", "listen", "listen", "listen"
};
static const char	*ctl_builtin[CTL_NDAEMONS] = {
	"127.0.0.1:8043", "127.0.0.1:4701", "127.0.0.1:4702", "127.0.0.1:4703"
};
static const enum link_role ctl_roles[CTL_NDAEMONS] = {
	ROLE_FRONT, ROLE_CACHE, ROLE_QUERY, ROLE_ERRDB
};

static const char usage_text[] =
    "usage: whoisctl [options] COMMAND [ARG...] [options]\n"
    "commands:\n"
    "  status [DAEMON...]       is each daemon up; the front's pools "
    "and links\n"
    "  stats [DAEMON...]        each daemon's counters\n"
    "  check NAME...            verdicts through the front\n"
    "  purge NAME... | --all    drop cached answers (names normalised "
    "as the front does)\n"
    "  health [REGISTRY]        registry health and back-off\n"
    "  health --clear REGISTRY  end the registry's back-off\n"
    "  errors [REGISTRY]        recent error events\n"
    "  reload PID STATUSFILE    HUP a daemon, wait for the reload\n"
    "  keygen DIR [USER]        make missing link keys; USER owns the "
    "daemons'\n"
    "  registries --coverage [--list] [--tld_whois=FILE]\n"
    "                           TLDs with a verified available rule, a "
    "route, none\n"
    "DAEMON: whoisd (or front), cache, query, errdb; all four by default\n"
    "options (before or after the command):\n"
    "  --front=HOST:PORT        the front's HTTP port [first http_listen "
    "of whoisd.conf]\n"
    "  --cache=HOST:PORT        whoisd-cache [first listen of "
    "whoisd-cache.conf]\n"
    "  --query=HOST:PORT        whoisd-query [first listen of "
    "whoisd-query.conf]\n"
    "  --errdb=HOST:PORT        whoisd-errdb [first listen of "
    "whoisd-errdb.conf]\n"
    "  --config_dir=DIR         the installed configs [" CTL_CONFDIR "]\n"
    "  --registries=FILE        registries file for registrable names "
    "[whoisd.conf's]\n"
    "  --keys=DIR               link keys [$WHOISD_KEYS, whoisd.conf's "
    "link_keys]\n"
    "  --link_auth=require|prefer  as the daemons' link_auth [require]\n"
    "  --connect_timeout=SECS   connecting to a daemon [5]\n"
    "  --timeout=SECS           one whole request [30]\n"
    "  --json                   JSON on stdout instead of a table\n"
    "  --help                   this text\n"
    "  --version                the version and protocol version\n";

static void
usage(void)
{
	fputs(usage_text, stderr);
	exit(2);
}

static void
ctl_warnx(const char *fmt, ...)
{
	va_list	ap;

	fputs("whoisctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* ---------------------------------------------------------- configs */

/* The first value of key in a `key value` file, or NULL. */
static char *
conf_value(const char *dir, const char *file, const char *key)
{
	FILE	*fp;
	char	 path[1024], line[1024], *s, *e, *v = NULL;
	size_t	 n = strlen(key);

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	if ((fp = fopen(path, "r")) == NULL)
		return NULL;
	while (v == NULL && fgets(line, sizeof(line), fp) != NULL) {
		line[strcspn(line, "#\r\n")] = '\0';
		s = line + strspn(line, " \t");
		if (strncmp(s, key, n) != 0 || strchr(" \t=", s[n]) == NULL ||
		    s[n] == '\0')
			continue;
		s += n;
		s += strspn(s, " \t=");
		for (e = s + strlen(s); e > s && isspace((unsigned char)e[-1]);)
			*--e = '\0';
		if (*s != '\0')
			v = xstrdup(s);
	}
	fclose(fp);
	return v;
}

/* A listen address as a client reaches it: a wildcard means this host. */
static char *
listen_to_connect(char *addr)
{
	char	*port, *out;

	if ((port = strrchr(addr, ':')) == NULL)
		return addr;
	out = xmalloc(strlen(port) + 16);
	if (strncmp(addr, "*:", 2) == 0 || strncmp(addr, "0.0.0.0:", 8) == 0)
		sprintf(out, "127.0.0.1%s", port);
	else if (strncmp(addr, "[::]:", 5) == 0)
		sprintf(out, "[::1]%s", port);
	else {
		free(out);
		return addr;
	}
	free(addr);
	return out;
}

static void
ctl_defaults(void)
{
	char	*v;
	int	 d;

	for (d = 0; d < CTL_NDAEMONS; d++) {
		if (ctl.co_addr[d] != NULL)
			continue;
		v = conf_value(ctl.co_confdir, ctl_conf_files[d],
		    ctl_conf_keys[d]);
		ctl.co_addr[d] = v != NULL ? listen_to_connect(v) :
		    ctl_builtin[d];
	}
	if (ctl.co_registries == NULL &&
	    (ctl.co_registries = conf_value(ctl.co_confdir, "whoisd.conf",
	    "registries")) == NULL) {
		static char	path[1024];

		snprintf(path, sizeof(path), "%s/registries.conf",
		    ctl.co_confdir);
		ctl.co_registries = path;
	}
	if ((ctl.co_tld_whois = conf_value(ctl.co_confdir, "whoisd-query.conf",
	    "tld_whois")) == NULL) {
		static char	path[1024];

		snprintf(path, sizeof(path), "%s/tld-whois.conf",
		    ctl.co_confdir);
		ctl.co_tld_whois = path;
	}
	if (ctl.co_keys == NULL && getenv("WHOISD_KEYS") != NULL &&
	    *getenv("WHOISD_KEYS") != '\0')
		ctl.co_keys = getenv("WHOISD_KEYS");
	if (ctl.co_keys == NULL)
		ctl.co_keys = conf_value(ctl.co_confdir, "whoisd.conf",
		    "link_keys");
	if (ctl.co_keys == NULL)
		ctl.co_keys = CTL_CONFDIR "/keys";
}

/* ---------------------------------------------------------- output */

struct ctl_table {
	int	  t_ncols;
	int	  t_nrows;
	char	**t_cells;	/* row-major, heading first */
};

struct ctl_table *
ctl_table_new(int ncols, ...)
{
	struct ctl_table	*t = xcalloc(1, sizeof(*t));
	va_list			 ap;
	int			 i;

	t->t_ncols = ncols;
	t->t_cells = xcalloc(ncols, sizeof(char *));
	va_start(ap, ncols);
	for (i = 0; i < ncols; i++)
		t->t_cells[i] = xstrdup(va_arg(ap, const char *));
	va_end(ap);
	t->t_nrows = 1;
	return t;
}

void
ctl_table_row(struct ctl_table *t, ...)
{
	va_list		 ap;
	const char	*s;
	int		 i, o = t->t_nrows * t->t_ncols;

	t->t_cells = xrealloc(t->t_cells, (size_t)(t->t_nrows + 1) *
	    t->t_ncols * sizeof(char *));
	va_start(ap, t);
	for (i = 0; i < t->t_ncols; i++) {
		s = va_arg(ap, const char *);
		t->t_cells[o + i] = xstrdup(s != NULL ? s : "-");
	}
	va_end(ap);
	t->t_nrows++;
}

/* Columns padded to their widest cell (in characters, not bytes). */
void
ctl_table_print(struct ctl_table *t)
{
	int		*w = xcalloc(t->t_ncols, sizeof(int));
	int		 r, c, n;
	const char	*s;

	for (r = 0; r < t->t_nrows; r++)
		for (c = 0; c < t->t_ncols; c++) {
			for (n = 0, s = t->t_cells[r * t->t_ncols + c]; *s; s++)
				n += ((unsigned char)*s & 0xc0) != 0x80;
			if (n > w[c])
				w[c] = n;
		}
	for (r = 0; r < t->t_nrows; r++) {
		for (c = 0; c < t->t_ncols; c++) {
			s = t->t_cells[r * t->t_ncols + c];
			if (c == t->t_ncols - 1) {
				printf("%s", s);
				break;
			}
			for (n = 0; *s; s++) {
				n += ((unsigned char)*s & 0xc0) != 0x80;
				putchar(*s);
			}
			printf("%*s", w[c] - n + 2, "");
		}
		putchar('\n');
	}
	for (r = 0; r < t->t_nrows * t->t_ncols; r++)
		free(t->t_cells[r]);
	free(t->t_cells);
	free(w);
	free(t);
}

void
ctl_json_print(json_t *j)
{
	json_dumpf(j, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	putchar('\n');
	json_decref(j);
}

static const char *
ctl_u64(uint64_t v, char *buf, size_t len)
{
	snprintf(buf, len, "%llu", (unsigned long long)v);
	return buf;
}

/* ---------------------------------------------------------- HTTP */

static size_t
http_write(char *p, size_t size, size_t n, void *arg)
{
	struct ctl_http	*h = arg;

	h->ch_body = xrealloc(h->ch_body, h->ch_len + size * n + 1);
	memcpy(h->ch_body + h->ch_len, p, size * n);
	h->ch_len += size * n;
	h->ch_body[h->ch_len] = '\0';
	return size * n;
}

char *
ctl_urlencode(const char *name)
{
	char	*e, *out;

	if ((e = curl_easy_escape(NULL, name, 0)) == NULL)
		fatalx("out of memory");
	out = xstrdup(e);
	curl_free(e);
	return out;
}

int
ctl_http(const char *path, const char *post, struct ctl_http *h)
{
	CURL			*cu;
	CURLcode		 rc;
	struct curl_slist	*hdr = NULL;
	json_t			*j;
	char			 host[256], url[8192], errbuf[CURL_ERROR_SIZE];
	const char		*msg;
	int			 port, ret = -1;

	memset(h, 0, sizeof(*h));
	if (parse_hostport(ctl.co_addr[CTL_FRONT], host, sizeof(host), &port,
	    h->ch_err, sizeof(h->ch_err)) == -1)
		return -1;
	if (strlen(path) > sizeof(url) - 300) {
		snprintf(h->ch_err, sizeof(h->ch_err), "request too long");
		return -1;
	}
	snprintf(url, sizeof(url), strchr(host, ':') ? "http://[%s]:%d%s" :
	    "http://%s:%d%s", host, port, path);
	if ((cu = curl_easy_init()) == NULL)
		fatalx("curl_easy_init failed");
	errbuf[0] = '\0';
	curl_easy_setopt(cu, CURLOPT_URL, url);
	curl_easy_setopt(cu, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(cu, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(cu, CURLOPT_CONNECTTIMEOUT_MS,
	    (long)(ctl.co_connect_timeout * 1000));
	curl_easy_setopt(cu, CURLOPT_TIMEOUT_MS, (long)(ctl.co_timeout * 1000));
	curl_easy_setopt(cu, CURLOPT_WRITEFUNCTION, http_write);
	curl_easy_setopt(cu, CURLOPT_WRITEDATA, h);
	curl_easy_setopt(cu, CURLOPT_USERAGENT, "whoisctl/" WHOISD_VERSION);
	/* No proxy: these are the operator's own hosts. */
	curl_easy_setopt(cu, CURLOPT_NOPROXY, "*");
	if (post != NULL) {
		hdr = curl_slist_append(hdr, "Content-Type: application/json");
		curl_easy_setopt(cu, CURLOPT_HTTPHEADER, hdr);
		curl_easy_setopt(cu, CURLOPT_POSTFIELDS, post);
	}
	rc = curl_easy_perform(cu);
	if (rc != CURLE_OK) {
		snprintf(h->ch_err, sizeof(h->ch_err), "front %.80s: %.160s",
		    ctl.co_addr[CTL_FRONT], errbuf[0] ? errbuf :
		    curl_easy_strerror(rc));
		goto done;
	}
	curl_easy_getinfo(cu, CURLINFO_RESPONSE_CODE, &h->ch_code);
	if (h->ch_body == NULL)
		h->ch_body = xstrdup("");
	if (h->ch_code >= 200 && h->ch_code < 300) {
		ret = 0;
		goto done;
	}
	/* The front's errors are {"error": "..."}; show that, else the body. */
	msg = NULL;
	j = json_loads(h->ch_body, 0, NULL);
	if (j != NULL && json_is_string(json_object_get(j, "error")))
		msg = json_string_value(json_object_get(j, "error"));
	snprintf(h->ch_err, sizeof(h->ch_err), "front %s: HTTP %ld: %.150s",
	    ctl.co_addr[CTL_FRONT], h->ch_code, msg != NULL ? msg :
	    h->ch_body[0] != '\0' ? h->ch_body : "(no body)");
	h->ch_err[strcspn(h->ch_err, "\r\n")] = '\0';
	json_decref(j);
done:
	curl_slist_free_all(hdr);
	curl_easy_cleanup(cu);
	return ret;
}

void
ctl_http_free(struct ctl_http *h)
{
	free(h->ch_body);
	h->ch_body = NULL;
}

/* GET path, the body as JSON; NULL (reason printed) on any failure. */
static json_t *
http_json(const char *path, const char *post, char *err, size_t errlen)
{
	struct ctl_http	 h;
	json_t		*j;
	json_error_t	 je;

	if (ctl_http(path, post, &h) == -1) {
		snprintf(err, errlen, "%s", h.ch_err);
		ctl_http_free(&h);
		return NULL;
	}
	if ((j = json_loads(h.ch_body, 0, &je)) == NULL)
		snprintf(err, errlen, "front %s: %s: not JSON: %s",
		    ctl.co_addr[CTL_FRONT], path, je.text);
	ctl_http_free(&h);
	return j;
}

/* ---------------------------------------------------------- links */

struct call {
	struct event_base	*c_base;
	int			 c_rc;
	enum msg_type		 c_want;
	int			(*c_take)(const struct msg *, void *);
	void			*c_arg;
	char			*c_err;
	size_t			 c_errlen;
};

static void
call_cb(const struct client_result *r, void *arg)
{
	struct call	*c = arg;
	char		 code[64], text[512], err[256];

	c->c_rc = -1;
	if (r->cr_err != NULL)
		snprintf(c->c_err, c->c_errlen, "%s: %s", r->cr_err,
		    r->cr_errmsg);
	else if (msg_type(r->cr_msg) == MSG_ERR) {
		msg_read_err(r->cr_msg, code, sizeof(code), text, sizeof(text),
		    err, sizeof(err));
		snprintf(c->c_err, c->c_errlen, "error %s: %s", code, text);
	} else if (msg_type(r->cr_msg) != c->c_want)
		snprintf(c->c_err, c->c_errlen, "unexpected reply %s",
		    msg_tname(r->cr_msg));
	else if (c->c_take(r->cr_msg, c->c_arg) == -1)
		snprintf(c->c_err, c->c_errlen, "bad %s reply",
		    msg_tname(r->cr_msg));
	else
		c->c_rc = 0;
	event_base_loopexit(c->c_base, NULL);
}

/* The operator's key, once per run. */
static int
ctl_keys_load(char *err, size_t errlen)
{
	struct link_keys	*lk;

	if (link_keys_get() != NULL)
		return 0;
	if ((lk = link_keys_load(ctl.co_keys, ROLE_CTL, ctl.co_link_auth, err,
	    errlen)) == NULL)
		return -1;
	link_keys_set(lk);
	return 0;
}

/*
 * One request to daemon d over an internal link; take() reads the reply.
 * 0, or -1 with err filled ("whoisd-cache 127.0.0.1:4701: ...").
 */
static int
call(enum ctl_daemon d, struct msgb *b, enum msg_type want,
    int (*take)(const struct msg *, void *), void *arg, char *err,
    size_t errlen)
{
	struct call		 c;
	struct client		*cl;
	struct client_opts	 co;
	char			 e[512];

	if (ctl_keys_load(e, sizeof(e)) == -1) {
		snprintf(err, errlen, "%s", e);
		return -1;
	}
	memset(&co, 0, sizeof(co));
	co.co_peer_role = ctl_roles[d];
	co.co_connect_timeout_ms = (int)(ctl.co_connect_timeout * 1000);
	/* A refused connection or handshake is retried after back-off
	 * until the deadline: the connect timeout says enough. */
	co.co_down_wait_ms = co.co_connect_timeout_ms;
	memset(&c, 0, sizeof(c));
	c.c_base = event_base_new();
	c.c_want = want;
	c.c_take = take;
	c.c_arg = arg;
	c.c_rc = -1;
	c.c_err = e;
	c.c_errlen = sizeof(e);
	snprintf(e, sizeof(e), "no answer");
	if ((cl = client_new(c.c_base, ctl.co_addr[d], &co, e,
	    sizeof(e))) == NULL) {
		snprintf(err, errlen, "%s %.100s: %.300s", ctl_daemon_names[d],
		    ctl.co_addr[d], e);
		event_base_free(c.c_base);
		return -1;
	}
	if (client_call(cl, b, (int)(ctl.co_timeout * 1000), 0, call_cb,
	    &c) == 0)
		snprintf(e, sizeof(e), "cannot build the request");
	else
		event_base_dispatch(c.c_base);
	client_free(cl);
	event_base_free(c.c_base);
	if (c.c_rc == -1)
		snprintf(err, errlen, "%s %.100s: %.300s", ctl_daemon_names[d],
		    ctl.co_addr[d], e);
	return c.c_rc;
}

/* ---------------------------------------------------------- names */

static struct suffixes	*ctl_sfx;
static int		 ctl_sfx_tried;

/*
 * The name as the front asks about it: IDN to A-label, lower case, and
 * (when the registries file can be read) the registrable name under its
 * suffix, which is what the cache keeps.  0, or -1 with reason filled.
 */
static int
ctl_name(const char *in, int registrable, char *out, size_t outlen,
    char *reason, size_t reasonlen)
{
	struct suffix_match	m;
	char			ace[NAME_ACE_BUF], r[NAME_REASON_BUF];
	char			err[512];

	if (name_normalise(in, ace, sizeof(ace), r, sizeof(r)) == -1) {
		snprintf(reason, reasonlen, "%s: %s", in, r);
		return -1;
	}
	if (registrable && !ctl_sfx_tried) {
		ctl_sfx_tried = 1;
		if ((ctl_sfx = suffix_load(ctl.co_registries, err,
		    sizeof(err))) == NULL && access(ctl.co_registries,
		    F_OK) == 0)
			ctl_warnx("registries: %s (names purged as given)", err);
	}
	if (registrable && ctl_sfx != NULL) {
		if (suffix_lookup(ctl_sfx, ace, &m) == -1) {
			snprintf(reason, reasonlen, "%s: not a registrable name "
			    "(a public suffix)", in);
			return -1;
		}
		snprintf(out, outlen, "%s", m.sm_registrable);
	} else
		snprintf(out, outlen, "%s", ace);
	return 0;
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
		ctl_warnx("reload: bad pid %s", argv[1]);
		return 1;
	}
	if (status_read(argv[2], &gen, &reloading, &reloads, last,
	    sizeof(last)) == -1) {
		ctl_warnx("reload: %s: %s", argv[2], strerror(errno));
		return 1;
	}
	if (kill(pid, SIGHUP) == -1) {
		ctl_warnx("reload: kill %ld: %s", (long)pid, strerror(errno));
		return 1;
	}
	deadline = now_mono() + 90;
	while (now_mono() < deadline) {
		nanosleep(&ts, NULL);
		if (status_read(argv[2], &g2, &rl2, &r2, last2,
		    sizeof(last2)) == -1)
			continue;
		if (r2 > reloads && !rl2) {
			if (strcmp(last2, "ok") != 0) {
				ctl_warnx("reload %s", last2);
				return 1;
			}
			if (ctl.co_json)
				ctl_json_print(json_pack("{s:b,s:I}",
				    "reloaded", 1, "generation",
				    (json_int_t)g2));
			else
				printf("reloaded: generation %lu\n", g2);
			return 0;
		}
		if (kill(pid, 0) == -1) {
			ctl_warnx("reload: pid %ld is gone", (long)pid);
			return 1;
		}
	}
	ctl_warnx("reload: no answer within 90 s");
	return 1;
}

static int
cmd_keygen(int argc, char **argv)
{
	struct passwd	*pw = NULL;
	char		 err[512];
	FILE		*out;

	if (argc < 2 || argc > 3)
		usage();
	if (argc == 3 && (pw = getpwnam(argv[2])) == NULL) {
		ctl_warnx("keygen: no user %s", argv[2]);
		return 1;
	}
	out = ctl.co_json ? fopen("/dev/null", "w") : stdout;
	if (out == NULL)
		out = stdout;
	if (auth_keygen(argv[1], pw ? (long)pw->pw_uid : -1,
	    pw ? (long)pw->pw_gid : -1, out, err, sizeof(err)) == -1) {
		ctl_warnx("keygen: %s", err);
		return 1;
	}
	if (out != stdout)
		fclose(out);
	if (ctl.co_json)
		ctl_json_print(json_pack("{s:s,s:s?}", "keys", argv[1],
		    "user", argc == 3 ? argv[2] : NULL));
	return 0;
}

/* ---------------------------------------------------------- status, stats */

static int
take_stats(const struct msg *m, void *arg)
{
	json_t			*o = arg;
	struct msg_counter	*cs;
	size_t			 n, i;
	char			 err[256];

	if (msg_read_stats_r(m, &cs, &n, err, sizeof(err)) == -1)
		return -1;
	for (i = 0; i < n; i++)
		json_object_set_new(o, cs[i].mc_name,
		    json_integer((json_int_t)cs[i].mc_value));
	free(cs);
	return 0;
}

/* Which daemons a status or stats names (all by default); -1: unknown. */
static int
ctl_pick(int argc, char **argv, int *want)
{
	int	i, d;

	for (d = 0; d < CTL_NDAEMONS; d++)
		want[d] = argc <= 1;
	for (i = 1; i < argc; i++) {
		for (d = 0; d < CTL_NDAEMONS; d++)
			if (strcmp(argv[i], ctl_daemon_names[d]) == 0 ||
			    (d > 0 && strcmp(argv[i],
			    ctl_daemon_names[d] + 7) == 0) ||
			    (d == 0 && strcmp(argv[i], "front") == 0))
				break;
		if (d == CTL_NDAEMONS) {
			ctl_warnx("%s: no such daemon (whoisd, cache, query, "
			    "errdb)", argv[i]);
			return -1;
		}
		want[d] = 1;
	}
	return 0;
}

/* One daemon's counters: the front's from /status, else a stats call. */
static json_t *
ctl_counters(enum ctl_daemon d, json_t **front_status, char *err,
    size_t errlen)
{
	json_t		*o, *st, *pool, *v;
	struct msgb	 b;
	const char	*k;
	int		 rc;

	if (d == CTL_FRONT) {
		if ((st = http_json("/status", NULL, err, errlen)) == NULL)
			return NULL;
		o = json_object();
		if (json_is_integer(json_object_get(st, "child")))
			json_object_set(o, "pid", json_object_get(st, "child"));
		if ((pool = json_object_get(st, "pool")) != NULL)
			json_object_foreach(pool, k, v)
				if (json_is_integer(v))
					json_object_set(o, k, v);
		if (front_status != NULL)
			*front_status = st;
		else
			json_decref(st);
		return o;
	}
	o = json_object();
	msgb_init(&b);
	msg_pack_stats(&b, 0, PROTO_VERSION);
	rc = call(d, &b, MSG_STATS_R, take_stats, o, err, errlen);
	msgb_free(&b);
	if (rc == -1) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* "2 children (1 idle, 1 busy), links: cache up, query down" */
static void
front_detail(json_t *st, char *buf, size_t len, int *links_up)
{
	json_t		*ch, *c, *links, *l;
	const char	*names[] = { "starting", "idle", "busy", "retiring" };
	int		 count[4] = { 0 }, i, n = 0;
	size_t		 o, idx;
	const char	*k;

	ch = json_object_get(json_object_get(st, "pool"), "children");
	json_array_foreach(ch, idx, c) {
		n++;
		for (i = 0; i < 4; i++)
			if (json_is_string(json_object_get(c, "state")) &&
			    strcmp(json_string_value(json_object_get(c,
			    "state")), names[i]) == 0)
				count[i]++;
	}
	o = (size_t)snprintf(buf, len, "%d children (", n);
	for (i = 0; i < 4 && o < len; i++)
		if (count[i] > 0)
			o += (size_t)snprintf(buf + o, len - o, "%s%d %s",
			    buf[o - 1] == '(' ? "" : ", ", count[i], names[i]);
	if (o < len)
		o += (size_t)snprintf(buf + o, len - o, "), links:");
	*links_up = 1;
	links = json_object_get(st, "links");
	json_object_foreach(links, k, l) {
		int up = json_is_true(json_object_get(l, "connected"));

		if (!up)
			*links_up = 0;
		if (o < len)
			o += (size_t)snprintf(buf + o, len - o, " %s %s", k,
			    up ? "up" : "down");
	}
}

static int
cmd_status(int argc, char **argv)
{
	struct ctl_table	*t = NULL;
	json_t			*all = json_object(), *o, *st, *one;
	char			 err[512], detail[512], pid[32];
	int			 want[CTL_NDAEMONS], d, rc = 0, links_up;

	if (ctl_pick(argc, argv, want) == -1)
		return 2;
	if (!ctl.co_json)
		t = ctl_table_new(5, "DAEMON", "ADDRESS", "STATE", "PID",
		    "DETAIL");
	for (d = 0; d < CTL_NDAEMONS; d++) {
		if (!want[d])
			continue;
		st = NULL;
		one = json_object();
		json_object_set_new(one, "address",
		    json_string(ctl.co_addr[d]));
		if ((o = ctl_counters(d, &st, err, sizeof(err))) == NULL) {
			rc = 1;
			json_object_set_new(one, "up", json_false());
			json_object_set_new(one, "error", json_string(err));
			if (t != NULL)
				ctl_table_row(t, ctl_daemon_names[d],
				    ctl.co_addr[d], "down", "-", err);
			json_object_set_new(all, ctl_daemon_names[d], one);
			continue;
		}
		json_object_set_new(one, "up", json_true());
		snprintf(pid, sizeof(pid), "%lld", (long long)json_integer_value(
		    json_object_get(o, "pid")));
		if (d == CTL_FRONT) {
			front_detail(st, detail, sizeof(detail), &links_up);
			json_object_set(one, "status", st);
			json_decref(st);
		} else if (d == CTL_CACHE)
			snprintf(detail, sizeof(detail), "%lld entries",
			    (long long)json_integer_value(json_object_get(o,
			    "entries")));
		else if (d == CTL_QUERY)
			snprintf(detail, sizeof(detail), "%lld queries (this "
			    "child)", (long long)json_integer_value(
			    json_object_get(o, "queries")));
		else
			snprintf(detail, sizeof(detail), "serving");
		json_object_set_new(one, "counters", o);
		json_object_set_new(all, ctl_daemon_names[d], one);
		if (t != NULL)
			ctl_table_row(t, ctl_daemon_names[d], ctl.co_addr[d],
			    "up", pid, detail);
	}
	if (t != NULL) {
		ctl_table_print(t);
		json_decref(all);
	} else
		ctl_json_print(all);
	return rc;
}

static int
cmd_stats(int argc, char **argv)
{
	struct ctl_table	*t = NULL;
	json_t			*all = json_object(), *o, *v;
	const char		*k;
	char			 err[512], num[32];
	int			 want[CTL_NDAEMONS], d, rc = 0;

	if (ctl_pick(argc, argv, want) == -1)
		return 2;
	if (!ctl.co_json)
		t = ctl_table_new(3, "DAEMON", "COUNTER", "VALUE");
	for (d = 0; d < CTL_NDAEMONS; d++) {
		if (!want[d])
			continue;
		if ((o = ctl_counters(d, NULL, err, sizeof(err))) == NULL) {
			ctl_warnx("%s", err);
			rc = 1;
			continue;
		}
		if (t != NULL)
			json_object_foreach(o, k, v)
				ctl_table_row(t, ctl_daemon_names[d], k,
				    ctl_u64((uint64_t)json_integer_value(v),
				    num, sizeof(num)));
		json_object_set_new(all, ctl_daemon_names[d], o);
	}
	if (t != NULL) {
		ctl_table_print(t);
		json_decref(all);
	} else
		ctl_json_print(all);
	return rc;
}

/* ---------------------------------------------------------- check */

/* One batch of names: GET while short, POST beyond (no URL limit). */
static int
check_batch(char **names, int n, json_t *results)
{
	json_t		*j, *arr, *r;
	char		*path, *e, *post = NULL, err[512];
	size_t		 len = 16, o, idx;
	int		 i;

	for (i = 0; i < n; i++)
		len += strlen(names[i]) * 3 + 8;
	if (len < 2048) {
		path = xmalloc(len);
		o = (size_t)snprintf(path, len, "/v1/check?");
		for (i = 0; i < n; i++) {
			e = ctl_urlencode(names[i]);
			o += (size_t)snprintf(path + o, len - o, "%sdomain=%s",
			    i > 0 ? "&" : "", e);
			free(e);
		}
	} else {
		arr = json_array();
		for (i = 0; i < n; i++)
			json_array_append_new(arr, json_string(names[i]));
		j = json_pack("{s:o}", "domains", arr);
		post = json_dumps(j, JSON_COMPACT);
		json_decref(j);
		path = xstrdup("/v1/check");
	}
	j = http_json(path, post, err, sizeof(err));
	free(path);
	free(post);
	if (j == NULL) {
		ctl_warnx("%s", err);
		return -1;
	}
	if (!json_is_array(arr = json_object_get(j, "results"))) {
		ctl_warnx("front %s: /v1/check: no results",
		    ctl.co_addr[CTL_FRONT]);
		json_decref(j);
		return -1;
	}
	json_array_foreach(arr, idx, r)
		json_array_append(results, r);
	json_decref(j);
	return 0;
}

static const char *
jstr(json_t *o, const char *k)
{
	json_t	*v = json_object_get(o, k);

	return json_is_string(v) ? json_string_value(v) : NULL;
}

static int
cmd_check(int argc, char **argv)
{
	struct ctl_table	*t;
	json_t			*results = json_array(), *r;
	char			**names, ace[NAME_ACE_BUF], reason[512];
	char			 lat[32];
	size_t			 idx;
	int			 i, n;

	if (argc < 2)
		usage();
	/* Valid names go as the front would write them; the front answers
	 * an invalid one `invalid` with its reason, so it is sent as is. */
	names = xcalloc(argc, sizeof(char *));
	for (i = 1; i < argc; i++)
		names[i - 1] = ctl_name(argv[i], 0, ace, sizeof(ace), reason,
		    sizeof(reason)) == 0 ? xstrdup(ace) : xstrdup(argv[i]);
	for (i = 0; i < argc - 1; i += n) {
		n = argc - 1 - i < CTL_CHECK_BATCH ? argc - 1 - i :
		    CTL_CHECK_BATCH;
		if (check_batch(names + i, n, results) == -1) {
			for (i = 0; i < argc - 1; i++)
				free(names[i]);
			free(names);
			json_decref(results);
			return 1;
		}
	}
	for (i = 0; i < argc - 1; i++)
		free(names[i]);
	free(names);
	if (ctl.co_json) {
		ctl_json_print(json_pack("{s:o}", "results", results));
		return 0;
	}
	t = ctl_table_new(6, "DOMAIN", "STATUS", "SOURCE", "REGISTRY",
	    "LATENCY_MS", "REASON");
	json_array_foreach(results, idx, r) {
		if (json_is_integer(json_object_get(r, "latency_ms")))
			snprintf(lat, sizeof(lat), "%lld", (long long)
			    json_integer_value(json_object_get(r,
			    "latency_ms")));
		else
			snprintf(lat, sizeof(lat), "-");
		/* As the operator typed it; the A-label is in --json. */
		ctl_table_row(t, json_array_size(results) == (size_t)argc - 1 ?
		    argv[idx + 1] : jstr(r, "domain"), jstr(r, "status"),
		    jstr(r, "source"), jstr(r, "registry") != NULL &&
		    *jstr(r, "registry") != '\0' ? jstr(r, "registry") : NULL,
		    lat, jstr(r, "reason"));
	}
	ctl_table_print(t);
	json_decref(results);
	return 0;
}

/* ---------------------------------------------------------- purge */

static int
take_purge(const struct msg *m, void *arg)
{
	char	err[256];

	return msg_read_purge_r(m, arg, err, sizeof(err));
}

static int
cmd_purge(int argc, char **argv)
{
	struct msg_purge	 pg;
	struct msgb		 b;
	struct ctl_table	*t = NULL;
	json_t			*arr = json_array();
	uint64_t		 n, total = 0;
	char			 err[512], num[32];
	int			 i, rc = 0;

	if (argc < 2)
		usage();
	if (!ctl.co_json)
		t = ctl_table_new(3, "NAME", "PURGED_AS", "ENTRIES");
	for (i = 1; i < argc; i++) {
		memset(&pg, 0, sizeof(pg));
		if (strcmp(argv[i], "--all") == 0)
			pg.pg_all = 1;
		else if (ctl_name(argv[i], 1, pg.pg_domain,
		    sizeof(pg.pg_domain), err, sizeof(err)) == -1) {
			ctl_warnx("purge: %s", err);
			rc = 1;
			continue;
		}
		n = 0;
		msgb_init(&b);
		msg_pack_purge(&b, 0, PROTO_VERSION, &pg);
		if (call(CTL_CACHE, &b, MSG_PURGE_R, take_purge, &n, err,
		    sizeof(err)) == -1) {
			ctl_warnx("%s", err);
			rc = 1;
		} else {
			total += n;
			if (t != NULL)
				ctl_table_row(t, argv[i], pg.pg_all ? "(all)" :
				    pg.pg_domain, ctl_u64(n, num, sizeof(num)));
			json_array_append_new(arr, json_pack("{s:s,s:s?,s:I}",
			    "name", argv[i], "purged_as", pg.pg_all ? NULL :
			    pg.pg_domain, "purged", (json_int_t)n));
		}
		msgb_free(&b);
	}
	if (t != NULL) {
		ctl_table_print(t);
		json_decref(arr);
	} else
		ctl_json_print(json_pack("{s:o,s:I}", "purges", arr, "purged",
		    (json_int_t)total));
	return rc;
}

/* ---------------------------------------------------------- errdb */

static int
take_ok(const struct msg *m, void *arg)
{
	char	err[256];

	return msg_read_ok_n(m, arg, err, sizeof(err));
}

static int
take_health(const struct msg *m, void *arg)
{
	struct reghealth	*h;
	size_t			 n, i;
	char			 err[256], ts[32];

	if (msg_read_health_r(m, &h, &n, err, sizeof(err)) == -1)
		return -1;
	for (i = 0; i < n; i++) {
		if (h[i].rh_until > 0)
			fmt_iso8601(h[i].rh_until, ts, sizeof(ts));
		json_array_append_new(arg, json_pack("{s:s,s:s,s:s?,s:I}",
		    "registry", h[i].rh_registry, "state", h[i].rh_state,
		    "until", h[i].rh_until > 0 ? ts : NULL, "recent",
		    (json_int_t)h[i].rh_recent));
	}
	free(h);
	return 0;
}

static int
take_errors(const struct msg *m, void *arg)
{
	struct errevent	*e;
	size_t		 n, i;
	char		 err[256], ts[32];

	if (msg_read_errors_r(m, &e, &n, err, sizeof(err)) == -1)
		return -1;
	for (i = 0; i < n; i++) {
		fmt_iso8601(e[i].ev_time, ts, sizeof(ts));
		json_array_append_new(arg, json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}",
		    "time", ts, "host", e[i].ev_host, "registry",
		    e[i].ev_registry, "domain", e[i].ev_domain, "kind",
		    e[i].ev_kind, "message", e[i].ev_msg));
	}
	free(e);
	return 0;
}

static int
cmd_health(int argc, char **argv)
{
	struct msgb		 b;
	struct ctl_table	*t;
	json_t			*arr, *r;
	uint64_t		 n = 0;
	size_t			 idx;
	char			 err[512], rec[32];
	int			 rc;

	msgb_init(&b);
	if (argc > 1 && strcmp(argv[1], "--clear") == 0) {
		if (argc != 3 || argv[2][0] == '\0')
			usage();
		msg_pack_health_clear(&b, 0, PROTO_VERSION, argv[2]);
		rc = call(CTL_ERRDB, &b, MSG_OK, take_ok, &n, err, sizeof(err));
		msgb_free(&b);
		if (rc == -1) {
			ctl_warnx("%s", err);
			return 1;
		}
		if (ctl.co_json)
			ctl_json_print(json_pack("{s:s,s:I}", "cleared",
			    argv[2], "removed", (json_int_t)n));
		else
			printf("back-off cleared: %llu rate-limit event(s) "
			    "removed\n", (unsigned long long)n);
		return 0;
	}
	if (argc > 2)
		usage();
	arr = json_array();
	msg_pack_health(&b, 0, PROTO_VERSION, argc > 1 ? argv[1] : NULL);
	rc = call(CTL_ERRDB, &b, MSG_HEALTH_R, take_health, arr, err,
	    sizeof(err));
	msgb_free(&b);
	if (rc == -1) {
		ctl_warnx("%s", err);
		json_decref(arr);
		return 1;
	}
	if (ctl.co_json) {
		ctl_json_print(json_pack("{s:o}", "registries", arr));
		return 0;
	}
	if (json_array_size(arr) == 0) {
		printf("no registry has recent errors\n");
		json_decref(arr);
		return 0;
	}
	t = ctl_table_new(4, "REGISTRY", "STATE", "UNTIL", "RECENT");
	json_array_foreach(arr, idx, r) {
		snprintf(rec, sizeof(rec), "%lld", (long long)
		    json_integer_value(json_object_get(r, "recent")));
		ctl_table_row(t, jstr(r, "registry"), jstr(r, "state"),
		    jstr(r, "until"), rec);
	}
	ctl_table_print(t);
	json_decref(arr);
	return 0;
}

static int
cmd_errors(int argc, char **argv)
{
	struct msg_errors	 es;
	struct msgb		 b;
	struct ctl_table	*t;
	json_t			*arr = json_array(), *r;
	size_t			 idx;
	char			 err[512];
	int			 rc;

	if (argc > 2)
		usage();
	memset(&es, 0, sizeof(es));
	if (argc > 1)
		snprintf(es.es_registry, sizeof(es.es_registry), "%s", argv[1]);
	es.es_limit = 50;
	msgb_init(&b);
	msg_pack_errors(&b, 0, PROTO_VERSION, &es);
	rc = call(CTL_ERRDB, &b, MSG_ERRORS_R, take_errors, arr, err,
	    sizeof(err));
	msgb_free(&b);
	if (rc == -1) {
		ctl_warnx("%s", err);
		json_decref(arr);
		return 1;
	}
	if (ctl.co_json) {
		ctl_json_print(json_pack("{s:o}", "errors", arr));
		return 0;
	}
	t = ctl_table_new(6, "TIME", "HOST", "REGISTRY", "DOMAIN", "KIND",
	    "MESSAGE");
	json_array_foreach(arr, idx, r)
		ctl_table_row(t, jstr(r, "time"), jstr(r, "host"),
		    jstr(r, "registry"), jstr(r, "domain"), jstr(r, "kind"),
		    jstr(r, "message"));
	ctl_table_print(t);
	json_decref(arr);
	return 0;
}

/* ---------------------------------------------------------- main */

static const struct ctl_cmd {
	const char	*cc_name;
	int		(*cc_fn)(int, char **);
} ctl_cmds[] = {
	{ "status",	cmd_status },
	{ "stats",	cmd_stats },
	{ "check",	cmd_check },
	{ "purge",	cmd_purge },
	{ "health",	cmd_health },
	{ "errors",	cmd_errors },
	{ "reload",	cmd_reload },
	{ "keygen",	cmd_keygen },
	{ "registries",	cmd_registries },
	{ NULL,		NULL }
};

/* A number of seconds, > 0. */
static double
opt_seconds(const char *opt, const char *v)
{
	char	*end;
	double	 d;

	errno = 0;
	d = strtod(v, &end);
	if (end == v || *end != '\0' || errno != 0 || !(d > 0) || d > 86400) {
		ctl_warnx("%s: \"%s\" is not a number of seconds", opt, v);
		exit(2);
	}
	return d;
}

/* --name=VALUE: VALUE if arg is that option, else NULL. */
static const char *
opt_val(const char *arg, const char *name)
{
	size_t	n = strlen(name);

	if (strncmp(arg, name, n) == 0 && arg[n] == '=')
		return arg + n + 1;
	return NULL;
}

/*
 * Take the options out of argv wherever they are (a command's own
 * --all and --clear stay); returns the number of arguments left.
 */
static int
parse_opts(int argc, char **argv)
{
	static const char	*addr_opts[CTL_NDAEMONS] = {
		"--front", "--cache", "--query", "--errdb"
	};
	const char		*v, *a;
	char			 host[256], err[256];
	int			 i, n = 0, d, rest = 0, port;

	for (i = 1; i < argc; i++) {
		a = argv[i];
		if (rest || strncmp(a, "--", 2) != 0 ||
		    strcmp(a, "--all") == 0 || strcmp(a, "--clear") == 0 ||
		    strcmp(a, "--coverage") == 0 || strcmp(a, "--list") == 0 ||
		    strncmp(a, "--tld_whois=", 12) == 0) {
			argv[n++] = argv[i];
			continue;
		}
		if (strcmp(a, "--") == 0) {
			rest = 1;
			continue;
		}
		for (d = 0; d < CTL_NDAEMONS; d++)
			if ((v = opt_val(a, addr_opts[d])) != NULL)
				break;
		if (d < CTL_NDAEMONS) {
			if (parse_hostport(v, host, sizeof(host), &port, err,
			    sizeof(err)) == -1 || port == 0) {
				ctl_warnx("%s: %s", addr_opts[d], port == 0 ?
				    "port 0" : err);
				exit(2);
			}
			ctl.co_addr[d] = v;
		} else if ((v = opt_val(a, "--keys")) != NULL)
			ctl.co_keys = v;
		else if ((v = opt_val(a, "--link_auth")) != NULL)
			ctl.co_link_auth = v;
		else if ((v = opt_val(a, "--config_dir")) != NULL)
			ctl.co_confdir = v;
		else if ((v = opt_val(a, "--registries")) != NULL)
			ctl.co_registries = v;
		else if ((v = opt_val(a, "--timeout")) != NULL)
			ctl.co_timeout = opt_seconds("--timeout", v);
		else if ((v = opt_val(a, "--connect_timeout")) != NULL)
			ctl.co_connect_timeout = opt_seconds(
			    "--connect_timeout", v);
		else if (strcmp(a, "--json") == 0)
			ctl.co_json = 1;
		else if (strcmp(a, "--help") == 0) {
			fputs(usage_text, stdout);
			exit(0);
		} else if (strcmp(a, "--version") == 0) {
			printf("whoisctl %s (protocol %d)\n", WHOISD_VERSION,
			    PROTO_VERSION);
			exit(0);
		} else {
			ctl_warnx("%s: unknown option (see --help)", a);
			exit(2);
		}
	}
	return n;
}

int
main(int argc, char **argv)
{
	const struct ctl_cmd	*c;
	int			 rc;

	log_init("whoisctl", LOG_LVL_WARN);
	signal(SIGPIPE, SIG_IGN);
	if (argc > 1 && (strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0)) {
		fputs(usage_text, stdout);
		return 0;
	}
	argc = parse_opts(argc, argv);
	if (argc < 1)
		usage();
	if (ctl.co_connect_timeout > ctl.co_timeout)
		ctl.co_connect_timeout = ctl.co_timeout;
	ctl_defaults();
	for (c = ctl_cmds; c->cc_name != NULL; c++)
		if (strcmp(argv[0], c->cc_name) == 0)
			break;
	if (c->cc_name == NULL) {
		ctl_warnx("%s: unknown command (see --help)", argv[0]);
		return 2;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
		fatalx("curl_global_init failed");
	rc = c->cc_fn(argc, argv);
	curl_global_cleanup();
	return rc;
}
