/*
 * test_static.c — the web page's files (daemons/whoisd/static.c): only
 * the fixed set of paths, read once, an ETag that follows the bytes,
 * If-None-Match as RFC 9110 reads it, a missing or partial directory.
 */
#include <sys/stat.h>

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "daemons/whoisd/whoisd.h"

static char	dir[64];

static void
put(const char *name, const char *text)
{
	char	 path[128];
	FILE	*f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	assert_non_null(f = fopen(path, "w"));
	fputs(text, f);
	fclose(f);
}

static int
setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/test_static.XXXXXX");
	assert_non_null(mkdtemp(dir));
	put("index.html", "<!doctype html><title>x</title>\n");
	put("app.js", "\"use strict\";\n");
	put("style.css", "body{}\n");
	put("status.html", "<!doctype html>\n");
	put("status.js", "1;\n");
	put("secret.txt", "no\n");
	return 0;
}

static int
teardown(void **state)
{
	char	cmd[128];

	(void)state;
	static_load(NULL);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void
test_fixed_set(void **state)
{
	const struct static_file	*sf, *idx;

	(void)state;
	static_load(dir);
	assert_non_null(idx = static_find("/"));
	assert_ptr_equal(static_find("/index.html"), idx);
	assert_int_equal(idx->sf_len, strlen("<!doctype html><title>x</title>\n"));
	assert_memory_equal(idx->sf_body, "<!doctype html>", 15);
	assert_string_equal(idx->sf_ctype, "text/html; charset=utf-8");
	assert_non_null(strstr(idx->sf_headers, "Content-Security-Policy"));
	assert_non_null(sf = static_find("/app.js"));
	assert_string_equal(sf->sf_ctype, "text/javascript; charset=utf-8");
	assert_null(strstr(sf->sf_headers, "Content-Security-Policy"));
	assert_non_null(strstr(sf->sf_headers, "Cache-Control: no-cache\r\n"));
	assert_non_null(static_find("/style.css"));
	assert_non_null(static_find("/status.html"));
	assert_non_null(static_find("/status.js"));
	/* Anything else is not the page's, whatever is on the disk. */
	assert_null(static_find("/secret.txt"));
	assert_null(static_find("/../secret.txt"));
	assert_null(static_find("//app.js"));
	assert_null(static_find("/app.js/"));
	assert_null(static_find("/APP.JS"));
	assert_false(static_path("/secret.txt"));
	assert_true(static_path("/status.js"));
}

static void
test_etag(void **state)
{
	const struct static_file	*sf;
	char				 etag[24], inm[128];

	(void)state;
	static_load(dir);
	sf = static_find("/style.css");
	snprintf(etag, sizeof(etag), "%s", sf->sf_etag);
	assert_int_equal(strlen(etag), 18);
	assert_true(static_not_modified(sf, etag));
	assert_true(static_not_modified(sf, "*"));
	snprintf(inm, sizeof(inm), "\"x\", W/%s ,\"y\"", etag);
	assert_true(static_not_modified(sf, inm));
	assert_false(static_not_modified(sf, NULL));
	assert_false(static_not_modified(sf, ""));
	assert_false(static_not_modified(sf, "\"0000000000000000\""));
	etag[5] ^= 1;
	assert_false(static_not_modified(sf, etag));
	/* New bytes, a new tag, once read again (a reload). */
	snprintf(etag, sizeof(etag), "%s", sf->sf_etag);
	put("style.css", "body{color:red}\n");
	assert_string_equal(static_find("/style.css")->sf_etag, etag);
	static_load(dir);
	assert_string_not_equal(static_find("/style.css")->sf_etag, etag);
}

static void
test_missing(void **state)
{
	char	path[128];

	(void)state;
	static_load("/nonexistent/www");
	assert_null(static_find("/"));
	assert_true(static_path("/"));
	assert_string_equal(static_dir_name(), "/nonexistent/www");
	/* One file missing, one a directory: the others are served. */
	snprintf(path, sizeof(path), "%s/status.js", dir);
	unlink(path);
	assert_int_equal(mkdir(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/app.js", dir);
	unlink(path);
	static_load(dir);
	assert_null(static_find("/app.js"));
	assert_null(static_find("/status.js"));
	assert_non_null(static_find("/"));
	static_load("");
	assert_null(static_find("/"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fixed_set),
		cmocka_unit_test(test_etag),
		cmocka_unit_test(test_missing),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
