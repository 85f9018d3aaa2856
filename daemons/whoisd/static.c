/*
 * static.c — the web page and the operator view: a fixed set of files
 * from http_www, read by the master at start and on HUP (children
 * inherit them), so a request never touches the disk and no path a
 * client sends ever reaches open(2).
 *
 * Each file keeps its bytes and the header lines of its answers: ETag
 * (a hash of the bytes, so a reinstalled page that did not change is
 * still a 304), Last-Modified, Cache-Control: no-cache (the names are
 * not versioned: a browser asks again, and the usual answer is a 304).
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "common/util.h"
#include "daemons/whoisd/whoisd.h"

#define STATIC_MAX_FILE		(1024 * 1024)	/* a page, not a download */

static const struct {
	const char	*sn_path;	/* as requested */
	const char	*sn_file;	/* in http_www */
	const char	*sn_ctype;
} static_names[] = {
	{ "/", "index.html", "text/html; charset=utf-8" },
	{ "/index.html", "index.html", "text/html; charset=utf-8" },
	{ "/app.js", "app.js", "text/javascript; charset=utf-8" },
	{ "/style.css", "style.css", "text/css; charset=utf-8" },
	{ "/status.html", "status.html", "text/html; charset=utf-8" },
	{ "/status.js", "status.js", "text/javascript; charset=utf-8" },
};
#define STATIC_N	(sizeof(static_names) / sizeof(static_names[0]))

/*
 * Scripts and styles only from this origin, no inline script, no
 * framing: what the page needs and no more.
 */
#define STATIC_CSP	"Content-Security-Policy: default-src 'self'; " \
	"script-src 'self'; style-src 'self'; img-src 'self' data:; " \
	"connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; " \
	"form-action 'self'\r\n"

static struct static_file	*static_files[STATIC_N];
static char			*static_dir;

static void
static_free(struct static_file *sf)
{
	if (sf == NULL)
		return;
	free(sf->sf_body);
	free(sf->sf_headers);
	free(sf);
}

/* 64-bit FNV-1a: an ETag needs to change with the bytes, not resist an
 * attacker (the bytes are ours). */
static uint64_t
static_hash(const char *p, size_t len)
{
	uint64_t	h = 14695981039346656037ULL;
	size_t		i;

	for (i = 0; i < len; i++) {
		h ^= (unsigned char)p[i];
		h *= 1099511628211ULL;
	}
	return h;
}

static struct static_file *
static_read(const char *dir, const char *file, const char *ctype)
{
	struct static_file	*sf;
	struct stat		 st;
	struct tm		 tm;
	char			 path[4096], date[64];
	ssize_t			 n;
	size_t			 got = 0;
	int			 fd;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		log_warn("http_www: %s", path);
		return NULL;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    st.st_size > STATIC_MAX_FILE) {
		log_warnx("http_www: %s: not a regular file of at most %d "
		    "bytes", path, STATIC_MAX_FILE);
		close(fd);
		return NULL;
	}
	sf = xcalloc(1, sizeof(*sf));
	sf->sf_ctype = ctype;
	sf->sf_body = xmalloc((size_t)st.st_size + 1);
	while (got < (size_t)st.st_size) {
		n = read(fd, sf->sf_body + got, (size_t)st.st_size - got);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			log_warn("http_www: read %s", path);
			close(fd);
			static_free(sf);
			return NULL;
		}
		got += (size_t)n;
	}
	close(fd);
	sf->sf_len = got;
	snprintf(sf->sf_etag, sizeof(sf->sf_etag), "\"%016llx\"",
	    (unsigned long long)static_hash(sf->sf_body, got));
	gmtime_r(&st.st_mtime, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
	if (asprintf(&sf->sf_headers, "Cache-Control: no-cache\r\n"
	    "ETag: %s\r\nLast-Modified: %s\r\n"
	    "X-Content-Type-Options: nosniff\r\n%s", sf->sf_etag, date,
	    strncmp(ctype, "text/html", 9) == 0 ? STATIC_CSP : "") == -1)
		fatal("%s: asprintf", __func__);
	return sf;
}

void
static_load(const char *dir)
{
	struct static_file	*loaded[STATIC_N];
	struct stat		 st;
	size_t			 i, j, ok = 0;
	int			 have;

	/* No directory: one line says so, not one per file. */
	have = dir != NULL && *dir != '\0';
	if (have && (stat(dir, &st) == -1 || !S_ISDIR(st.st_mode))) {
		log_warnx("http_www: %s is not a directory; the API is served "
		    "without the page", dir);
		have = 0;
	}
	for (i = 0; i < STATIC_N; i++) {
		loaded[i] = NULL;
		if (!have)
			continue;
		/* Two paths may name one file: read it once. */
		for (j = 0; j < i; j++)
			if (strcmp(static_names[j].sn_file,
			    static_names[i].sn_file) == 0)
				break;
		if (j < i) {
			if (loaded[j] != NULL) {
				loaded[i] = loaded[j];
				loaded[j]->sf_refs++;
			}
			continue;
		}
		loaded[i] = static_read(dir, static_names[i].sn_file,
		    static_names[i].sn_ctype);
		if (loaded[i] != NULL) {
			loaded[i]->sf_refs = 1;
			ok++;
		}
	}
	for (i = 0; i < STATIC_N; i++) {
		if (static_files[i] != NULL && --static_files[i]->sf_refs == 0)
			static_free(static_files[i]);
		static_files[i] = loaded[i];
	}
	free(static_dir);
	static_dir = dir != NULL ? xstrdup(dir) : NULL;
	if (ok > 0)
		log_info("http_www: %zu files from %s", ok, dir);
	else if (have)
		log_warnx("http_www: no page in %s; the API is served without "
		    "it", dir);
}

const struct static_file *
static_find(const char *path)
{
	size_t	i;

	for (i = 0; i < STATIC_N; i++)
		if (strcmp(path, static_names[i].sn_path) == 0)
			return static_files[i];
	return NULL;
}

int
static_path(const char *path)
{
	size_t	i;

	for (i = 0; i < STATIC_N; i++)
		if (strcmp(path, static_names[i].sn_path) == 0)
			return 1;
	return 0;
}

const char *
static_dir_name(void)
{
	return static_dir != NULL ? static_dir : "";
}

/*
 * Does an If-None-Match value match the file (RFC 9110 13.1.2: "*", or
 * any of its entity tags compared weakly)?
 */
int
static_not_modified(const struct static_file *sf, const char *inm)
{
	const char	*p = inm, *e;
	size_t		 tl = strlen(sf->sf_etag);

	if (inm == NULL)
		return 0;
	while (*p != '\0') {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (*p == '*')
			return 1;
		if (strncmp(p, "W/", 2) == 0)
			p += 2;
		e = p + strcspn(p, ",");
		while (e > p && (e[-1] == ' ' || e[-1] == '\t'))
			e--;
		if ((size_t)(e - p) == tl && strncmp(p, sf->sf_etag, tl) == 0)
			return 1;
		p += strcspn(p, ",");
	}
	return 0;
}
