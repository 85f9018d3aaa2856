/*
 * rdap_json.c — what an RDAP reply says, on plain bytes: the domain
 * object (jansson), the verdict with its rule and evidence, and the
 * IANA bootstrap file.  No network here, so tests and fuzzing call it.
 *
 * The verdict is safe first: a domain object must name the very name
 * asked to count as registered, and only a 404 from a registry whose
 * RDAP profile makes 404 mean "not registered" reads available.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <jansson.h>

#include "daemons/query/rdap.h"
#include "daemons/query/registries.h"

/* A bootstrap file larger than this is not IANA's (about 90 KB now). */
#define RDAP_BOOT_MAX		(4 * 1024 * 1024)
#define RDAP_BOOT_ENTRIES_MAX	8192

struct rdap_boot_entry {
	char	*be_suffix;
	char	*be_url;
};

struct rdap_boot {
	struct rdap_boot_entry	*rb_ent;	/* sorted by suffix */
	size_t			 rb_n;
	char			 rb_pub[40];
};

static void
lower_copy(char *dst, size_t len, const char *src)
{
	size_t	i;

	for (i = 0; src[i] != '\0' && i + 1 < len; i++)
		dst[i] = (char)tolower((unsigned char)src[i]);
	dst[i] = '\0';
}

/* Append s (and a separator) while it fits; a full buffer keeps what it has. */
static void
list_add(char *buf, size_t len, const char *sep, const char *s)
{
	size_t	have = strlen(buf), need = strlen(s) + (have ? strlen(sep) : 0);

	if (have + need + 1 > len)
		return;
	if (have > 0)
		strcat(buf, sep);
	strcat(buf, s);
}

double
rdap_time(const char *s)
{
	struct tm	 tm;
	const char	*p;
	time_t		 t;
	int		 sign, oh, om;

	memset(&tm, 0, sizeof(tm));
	if ((p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm)) == NULL)
		return -1;
	if (*p == '.')
		for (p++; isdigit((unsigned char)*p); p++)
			;
	if ((t = timegm(&tm)) == (time_t)-1)
		return -1;
	if (*p == 'Z' || *p == 'z')
		return p[1] == '\0' ? (double)t : -1;
	if (*p == '\0')
		return (double)t;
	if ((*p != '+' && *p != '-') || sscanf(p + 1, "%2d:%2d", &oh, &om) != 2 ||
	    strlen(p) != 6 || oh > 23 || om > 59)
		return -1;
	sign = *p == '+' ? 1 : -1;
	return (double)t - sign * (oh * 3600.0 + om * 60.0);
}

static void
rdap_events(json_t *events, struct rdap_domain *d)
{
	json_t		*ev;
	const char	*action, *date;
	size_t		 i;
	double		 t;

	if (!json_is_array(events))
		return;
	json_array_foreach(events, i, ev) {
		action = json_string_value(json_object_get(ev, "eventAction"));
		date = json_string_value(json_object_get(ev, "eventDate"));
		if (action == NULL || date == NULL || (t = rdap_time(date)) < 0)
			continue;
		if (strcasecmp(action, "registration") == 0 && d->rd_created == 0)
			d->rd_created = t;
		else if (strcasecmp(action, "expiration") == 0 &&
		    d->rd_expires == 0)
			d->rd_expires = t;
	}
}

static void
rdap_nameservers(json_t *nss, struct rdap_domain *d)
{
	json_t		*ns;
	const char	*ldh;
	char		 host[NAME_ACE_BUF];
	size_t		 i;

	if (!json_is_array(nss))
		return;
	json_array_foreach(nss, i, ns) {
		if (d->rd_nns >= RDAP_NS_MAX)
			break;
		if ((ldh = json_string_value(json_object_get(ns, "ldhName"))) ==
		    NULL || *ldh == '\0' || strlen(ldh) >= sizeof(host) ||
		    strpbrk(ldh, " \t\r\n") != NULL)
			continue;
		lower_copy(host, sizeof(host), ldh);
		list_add(d->rd_ns, sizeof(d->rd_ns), " ", host);
		d->rd_nns++;
	}
}

static void
rdap_statuses(json_t *st, struct rdap_domain *d)
{
	json_t		*s;
	const char	*v;
	size_t		 i;

	if (!json_is_array(st))
		return;
	json_array_foreach(st, i, s) {
		if ((v = json_string_value(s)) == NULL)
			continue;
		/* A registry's own word for a name it holds back. */
		if (strcasestr(v, "reserved") != NULL ||
		    strcasestr(v, "blocked") != NULL)
			d->rd_reserved = 1;
		list_add(d->rd_status, sizeof(d->rd_status), ", ", v);
	}
}

int
rdap_json_domain(const char *body, size_t len, struct rdap_domain *d,
    char *err, size_t errlen)
{
	json_error_t	 je;
	json_t		*root;
	const char	*s;

	memset(d, 0, sizeof(*d));
	/* No NUL inside, no duplicate keys that could say two things. */
	root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
	if (root == NULL) {
		snprintf(err, errlen, "not JSON: %s (line %d)", je.text,
		    je.line);
		return -1;
	}
	if (!json_is_object(root)) {
		json_decref(root);
		snprintf(err, errlen, "not a JSON object");
		return -1;
	}
	if ((s = json_string_value(json_object_get(root,
	    "objectClassName"))) != NULL)
		lower_copy(d->rd_class, sizeof(d->rd_class), s);
	if ((s = json_string_value(json_object_get(root, "ldhName"))) != NULL &&
	    strlen(s) < sizeof(d->rd_ldh))
		lower_copy(d->rd_ldh, sizeof(d->rd_ldh), s);
	rdap_statuses(json_object_get(root, "status"), d);
	rdap_events(json_object_get(root, "events"), d);
	rdap_nameservers(json_object_get(root, "nameservers"), d);
	json_decref(root);
	return 0;
}

static int
rdap_json_ctype(const char *ct)
{
	size_t	n;

	if (ct == NULL)
		return 0;
	while (*ct == ' ')
		ct++;
	n = strcspn(ct, "; ");
	return (n == 21 && strncasecmp(ct, "application/rdap+json", n) == 0) ||
	    (n == 16 && strncasecmp(ct, "application/json", n) == 0);
}

static enum answer_status
rdap_unknown(struct verdict *vd, const char *reason, const char *rule,
    const char *fmt, long code, const char *detail)
{
	vd->vd_status = AS_UNKNOWN;
	vd->vd_reason = reason;
	snprintf(vd->vd_rule, sizeof(vd->vd_rule), "rdap:%s", rule);
	snprintf(vd->vd_matched, sizeof(vd->vd_matched), fmt, code,
	    detail != NULL ? detail : "");
	return AS_UNKNOWN;
}

enum answer_status
rdap_verdict(const struct registry *rg, const char *name,
    const struct rdap_reply *r, struct verdict *vd, struct rdap_domain *d)
{
	char	err[160], esc[64];
	size_t	i;

	memset(vd, 0, sizeof(*vd));
	memset(d, 0, sizeof(*d));
	switch (r->rr_transport) {
	case RDT_OK:
		break;
	case RDT_TIMEOUT:
		return rdap_unknown(vd, "timeout", "timeout",
		    "no complete reply in time (HTTP %ld)%s", r->rr_code, NULL);
	case RDT_TLS:
		return rdap_unknown(vd, "tls-failure", "tls",
		    "TLS refused (HTTP %ld): %s", r->rr_code, r->rr_msg);
	case RDT_TOO_BIG:
		return rdap_unknown(vd, "body-too-large", "body-too-large",
		    "HTTP %ld: body over rdap_max_body%s", r->rr_code, NULL);
	case RDT_REDIRECT:
		return rdap_unknown(vd, "bad-redirect", "redirect",
		    "HTTP %ld: %s", r->rr_code, r->rr_msg);
	case RDT_CONNECT:
		return rdap_unknown(vd, "connect-failed", "connect",
		    "HTTP %ld: %s", r->rr_code, r->rr_msg);
	default:
		return rdap_unknown(vd, "rdap-error", "client",
		    "HTTP %ld: %s", r->rr_code, r->rr_msg);
	}
	if (r->rr_code == 429) {
		rdap_unknown(vd, "rate-limited", "429",
		    "HTTP %ld%s", r->rr_code, r->rr_retry_after >= 0 ?
		    " with Retry-After" : " without Retry-After");
		vd->vd_retry_after = r->rr_retry_after > 0 ?
		    (int)(r->rr_retry_after > 86400 ? 86400 :
		    r->rr_retry_after) : 0;
		return AS_UNKNOWN;
	}
	if (r->rr_code == 404) {
		/* Outside the gTLD profile a 404 may mean "not here" as much
		 * as "not registered". */
		if (rg == NULL || !rg->rg_rdap_404)
			return rdap_unknown(vd, "not-found-unconfirmed",
			    "404-unconfirmed", "HTTP %ld; the registry's 404 "
			    "is not known to mean not registered%s",
			    r->rr_code, NULL);
		vd->vd_status = AS_AVAILABLE;
		vd->vd_reason = "";
		snprintf(vd->vd_rule, sizeof(vd->vd_rule), "rdap:404-available");
		snprintf(vd->vd_matched, sizeof(vd->vd_matched), "HTTP 404; "
		    "registry %s: rdap_404 available", rg->rg_name);
		return AS_AVAILABLE;
	}
	if (r->rr_code >= 500)
		return rdap_unknown(vd, "registry-error", "5xx", "HTTP %ld%s",
		    r->rr_code, NULL);
	if (r->rr_code != 200)
		return rdap_unknown(vd, "unexpected-status", "status",
		    "HTTP %ld%s", r->rr_code, NULL);
	if (!rdap_json_ctype(r->rr_ctype)) {
		snprintf(esc, sizeof(esc), "%s", r->rr_ctype ? r->rr_ctype :
		    "none");
		for (i = 0; esc[i] != '\0'; i++)
			if ((unsigned char)esc[i] < 0x20 ||
			    (unsigned char)esc[i] > 0x7e)
				esc[i] = '?';
		return rdap_unknown(vd, "bad-content-type", "content-type",
		    "HTTP %ld; Content-Type %s", r->rr_code, esc);
	}
	if (rdap_json_domain(r->rr_body, r->rr_len, d, err, sizeof(err)) == -1)
		return rdap_unknown(vd, "bad-json", "json", "HTTP %ld; %s",
		    r->rr_code, err);
	if (d->rd_class[0] != '\0' && strcmp(d->rd_class, "domain") != 0)
		return rdap_unknown(vd, "not-a-domain", "object-class",
		    "HTTP %ld; objectClassName \"%.40s\"", r->rr_code,
		    d->rd_class);
	if (d->rd_ldh[0] == '\0')
		return rdap_unknown(vd, "not-a-domain", "ldhname",
		    "HTTP %ld; no ldhName%s", r->rr_code, NULL);
	/* A trailing dot is the same name. */
	i = strlen(d->rd_ldh);
	if (i > 1 && d->rd_ldh[i - 1] == '.')
		d->rd_ldh[i - 1] = '\0';
	if (strcmp(d->rd_ldh, name) != 0)
		return rdap_unknown(vd, "other-name", "other-name",
		    "HTTP %ld; ldhName \"%s\"", r->rr_code, d->rd_ldh);
	vd->vd_reason = "";
	if (d->rd_reserved) {
		vd->vd_status = AS_RESERVED;
		snprintf(vd->vd_rule, sizeof(vd->vd_rule), "rdap:reserved");
	} else {
		vd->vd_status = AS_REGISTERED;
		snprintf(vd->vd_rule, sizeof(vd->vd_rule), "rdap:domain");
	}
	snprintf(vd->vd_matched, sizeof(vd->vd_matched), "HTTP 200; "
	    "ldhName \"%.*s\"; status [%.*s]", 100, d->rd_ldh, 120,
	    d->rd_status);
	return vd->vd_status;
}

/* ------------------------------------------------------------ bootstrap */

static int
boot_cmp(const void *a, const void *b)
{
	const struct rdap_boot_entry	*x = a, *y = b;

	return strcmp(x->be_suffix, y->be_suffix);
}

void
rdap_boot_free(struct rdap_boot *rb)
{
	size_t	i;

	if (rb == NULL)
		return;
	for (i = 0; i < rb->rb_n; i++) {
		free(rb->rb_ent[i].be_suffix);
		free(rb->rb_ent[i].be_url);
	}
	free(rb->rb_ent);
	free(rb);
}

/* The first https URL of a service's list; an http one is never used. */
static const char *
boot_https(json_t *urls)
{
	json_t		*u;
	const char	*s;
	size_t		 i;

	json_array_foreach(urls, i, u) {
		if ((s = json_string_value(u)) != NULL &&
		    strncasecmp(s, "https://", 8) == 0 && strlen(s) > 8 &&
		    strlen(s) < RDAP_URL_MAX - NAME_ACE_BUF - 16 &&
		    strpbrk(s, " \t\r\n\"<>\\") == NULL)
			return s;
	}
	return NULL;
}

static int
boot_add(struct rdap_boot *rb, const char *suffix, const char *url)
{
	struct rdap_boot_entry	*e;
	char			 low[NAME_ACE_BUF];
	size_t			 i;

	if (*suffix == '\0' || strlen(suffix) >= sizeof(low))
		return 0;
	lower_copy(low, sizeof(low), suffix);
	for (i = 0; low[i] != '\0'; i++)
		if (!isalnum((unsigned char)low[i]) && low[i] != '-' &&
		    low[i] != '.')
			return 0;
	if (rb->rb_n >= RDAP_BOOT_ENTRIES_MAX)
		return -1;
	e = realloc(rb->rb_ent, (rb->rb_n + 1) * sizeof(*e));
	if (e == NULL)
		return -1;
	rb->rb_ent = e;
	e = &rb->rb_ent[rb->rb_n];
	if ((e->be_suffix = strdup(low)) == NULL ||
	    (e->be_url = strdup(url)) == NULL) {
		free(e->be_suffix);
		return -1;
	}
	rb->rb_n++;
	return 0;
}

struct rdap_boot *
rdap_boot_parse(const char *text, size_t len, char *err, size_t errlen)
{
	struct rdap_boot	*rb;
	json_error_t		 je;
	json_t			*root, *svcs, *svc, *tlds, *t;
	const char		*url, *pub;
	size_t			 i, j, k;

	if (len > RDAP_BOOT_MAX) {
		snprintf(err, errlen, "larger than %d bytes", RDAP_BOOT_MAX);
		return NULL;
	}
	if ((root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je)) ==
	    NULL) {
		snprintf(err, errlen, "line %d: %s", je.line, je.text);
		return NULL;
	}
	svcs = json_object_get(root, "services");
	if (!json_is_object(root) || !json_is_array(svcs)) {
		json_decref(root);
		snprintf(err, errlen, "no \"services\" array");
		return NULL;
	}
	if ((rb = calloc(1, sizeof(*rb))) == NULL) {
		json_decref(root);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if ((pub = json_string_value(json_object_get(root, "publication"))) !=
	    NULL)
		snprintf(rb->rb_pub, sizeof(rb->rb_pub), "%s", pub);
	json_array_foreach(svcs, i, svc) {
		tlds = json_array_get(svc, 0);
		if (!json_is_array(svc) || !json_is_array(tlds) ||
		    !json_is_array(json_array_get(svc, 1)) ||
		    (url = boot_https(json_array_get(svc, 1))) == NULL)
			continue;
		json_array_foreach(tlds, j, t) {
			if (!json_is_string(t))
				continue;
			if (boot_add(rb, json_string_value(t), url) == -1) {
				snprintf(err, errlen, "too many entries");
				json_decref(root);
				rdap_boot_free(rb);
				return NULL;
			}
		}
	}
	json_decref(root);
	if (rb->rb_n > 0)
		qsort(rb->rb_ent, rb->rb_n, sizeof(*rb->rb_ent), boot_cmp);
	/* The first of a duplicate suffix wins, as a lookup would find it. */
	for (i = k = 0; i < rb->rb_n; i++) {
		if (k > 0 && strcmp(rb->rb_ent[k - 1].be_suffix,
		    rb->rb_ent[i].be_suffix) == 0) {
			free(rb->rb_ent[i].be_suffix);
			free(rb->rb_ent[i].be_url);
			continue;
		}
		rb->rb_ent[k++] = rb->rb_ent[i];
	}
	rb->rb_n = k;
	return rb;
}

struct rdap_boot *
rdap_boot_load(const char *path, char *err, size_t errlen)
{
	struct rdap_boot	*rb;
	FILE			*f;
	char			*buf;
	size_t			 n;

	if ((f = fopen(path, "r")) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	buf = malloc(RDAP_BOOT_MAX + 1);
	if (buf == NULL) {
		fclose(f);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	n = fread(buf, 1, RDAP_BOOT_MAX + 1, f);
	if (ferror(f)) {
		snprintf(err, errlen, "%s: read error", path);
		rb = NULL;
	} else
		rb = rdap_boot_parse(buf, n, err, errlen);
	fclose(f);
	free(buf);
	return rb;
}

const char *
rdap_boot_url(const struct rdap_boot *rb, const char *suffix)
{
	struct rdap_boot_entry	 key, *e;
	char			 low[NAME_ACE_BUF];
	const char		*dot;

	if (rb == NULL || rb->rb_n == 0 || strlen(suffix) >= sizeof(low))
		return NULL;
	lower_copy(low, sizeof(low), suffix);
	key.be_suffix = low;
	for (;;) {
		e = bsearch(&key, rb->rb_ent, rb->rb_n, sizeof(*e), boot_cmp);
		if (e != NULL)
			return e->be_url;
		if ((dot = strchr(key.be_suffix, '.')) == NULL)
			return NULL;
		key.be_suffix = (char *)dot + 1;
	}
}

size_t
rdap_boot_count(const struct rdap_boot *rb)
{
	return rb != NULL ? rb->rb_n : 0;
}

const char *
rdap_boot_publication(const struct rdap_boot *rb)
{
	return rb != NULL ? rb->rb_pub : "";
}

int
rdap_url(const char *base, const char *name, char *buf, size_t len)
{
	size_t	bl = strlen(base);
	int	n;

	n = snprintf(buf, len, "%s%sdomain/%s", base,
	    bl > 0 && base[bl - 1] == '/' ? "" : "/", name);
	return n < 0 || (size_t)n >= len ? -1 : 0;
}
