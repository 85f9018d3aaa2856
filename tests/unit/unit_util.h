/*
 * unit_util.h — what several unit tests share: the source tree, the
 * shipped registries file loaded once for a group of tests, and a fresh
 * directory per test for the SQLite stores.  Linked into every unit test.
 */
#ifndef WHOISD_UNIT_UTIL_H
#define WHOISD_UNIT_UTIL_H

#include <stddef.h>
#include <stdint.h>

struct registries;
struct registry;
struct suffixes;

/* The top of the source tree: WHOISD_SRCDIR, or "." to run from it. */
const char	*unit_srcdir(void);

/*
 * A file of the source tree (e.g. "schema/cache.sql"), found from
 * WHOISD_SRCDIR, the path unit_util.c was built from or the cwd: its path
 * into path, or all of it, NUL-terminated, in a malloc'd buffer (length
 * into *lenp if not NULL).  The test fails if there is no such file.
 */
void		 unit_src_path(const char *rel, char *path, size_t len);
char		*unit_read_src(const char *rel, size_t *lenp);

/*
 * schema/<name> is the text a store embeds (the build generates the copy),
 * and it sets user_version to version.
 */
void		 unit_schema_file(const char *name, const char *embedded,
		    int version);

/*
 * cmocka group fixtures: load etc/registries.conf as whoisd-query does
 * (unit_regs) and as the front does (unit_sfx), and the Public Suffix
 * List both daemons load (Debian's), and free them.  Setup prints the
 * error and returns -1 if a load fails.
 */
extern struct registries	*unit_regs;
extern struct suffixes		*unit_sfx;
int		 unit_registries_setup(void **state);
int		 unit_registries_teardown(void **state);

/* A registry block of unit_regs; the test fails if there is none. */
const struct registry *unit_reg(const char *name);

/*
 * Per-test fixture of the SQLite store tests: a fresh mkdtemp directory and
 * the path of the database file in it.  A test file's setup calls
 * unit_dir_setup with its file name; the teardown removes the files the
 * test left, then the directory.
 */
struct unit_dir {
	char	ud_dir[64];
	char	ud_path[128];
};
int		 unit_dir_setup(void **state, const char *file);
int		 unit_dir_teardown(void **state);

/* Raw SQL on a database file, for tests that look under the API. */
int64_t		 unit_sql_int(const char *path, const char *sql);
void		 unit_sql_exec(const char *path, const char *sql);

#endif
