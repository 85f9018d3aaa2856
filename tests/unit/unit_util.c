/*
 * unit_util.c — helpers shared by the unit tests (see unit_util.h).
 */
#include <dirent.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <sqlite3.h>

#include "common/pslist.h"
#include "common/suffix.h"
#include "daemons/query/registries.h"
#include "tests/unit/unit_util.h"

struct registries	*unit_regs;
struct suffixes		*unit_sfx;

const char *
unit_srcdir(void)
{
	const char	*d = getenv("WHOISD_SRCDIR");

	return d != NULL ? d : ".";
}

void
unit_src_path(const char *rel, char *path, size_t len)
{
	const char	*src = getenv("WHOISD_SRCDIR");
	const char	*me = __FILE__, *cut;

	if (src != NULL) {
		snprintf(path, len, "%s/%s", src, rel);
		if (access(path, R_OK) == 0)
			return;
	}
	if ((cut = strstr(me, "tests/unit/")) != NULL) {
		snprintf(path, len, "%.*s%s", (int)(cut - me), me, rel);
		if (access(path, R_OK) == 0)
			return;
	}
	snprintf(path, len, "%s", rel);
	if (access(path, R_OK) != 0)
		fail_msg("%s not found: run from the top of the tree"
		    " or set WHOISD_SRCDIR", rel);
}

char *
unit_read_src(const char *rel, size_t *lenp)
{
	char		 path[1024];
	FILE		*fp;
	char		*buf;
	long		 n;

	unit_src_path(rel, path, sizeof(path));
	assert_non_null(fp = fopen(path, "r"));
	fseek(fp, 0, SEEK_END);
	n = ftell(fp);
	rewind(fp);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, fp), (size_t)n);
	buf[n] = '\0';
	fclose(fp);
	if (lenp != NULL)
		*lenp = (size_t)n;
	return buf;
}

void
unit_schema_file(const char *name, const char *embedded, int version)
{
	char	 rel[256], want[64], *file;
	size_t	 i, line = 1;

	snprintf(rel, sizeof(rel), "schema/%s", name);
	file = unit_read_src(rel, NULL);
	if (strcmp(file, embedded) != 0) {
		for (i = 0; file[i] == embedded[i]; i++)
			if (file[i] == '\n')
				line++;
		fail_msg("%s and the embedded schema differ from line %zu on:"
		    " rebuild (the Makefile generates the embedded copy)",
		    rel, line);
	}
	snprintf(want, sizeof(want), "PRAGMA user_version = %d;\n", version);
	assert_non_null(strstr(file, want));
	free(file);
}

int
unit_registries_setup(void **state)
{
	char	 path[600], err[512];

	(void)state;
	snprintf(path, sizeof(path), "%s/etc/registries.conf", unit_srcdir());
	if ((unit_regs = registries_load(path, err, sizeof(err))) == NULL ||
	    (unit_sfx = suffix_load(path, err, sizeof(err))) == NULL ||
	    pslist_load(PSLIST_DEFAULT, err, sizeof(err)) == -1) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	return 0;
}

int
unit_registries_teardown(void **state)
{
	(void)state;
	registries_free(unit_regs);
	suffix_free(unit_sfx);
	pslist_free();
	unit_regs = NULL;
	unit_sfx = NULL;
	return 0;
}

const struct registry *
unit_reg(const char *name)
{
	const struct registry	*rg = registries_find(unit_regs, name);

	assert_non_null(rg);
	return rg;
}

int
unit_dir_setup(void **state, const char *file)
{
	struct unit_dir	*f;

	f = calloc(1, sizeof(*f));
	assert_non_null(f);
	strcpy(f->ud_dir, "/tmp/whoisd-unit.XXXXXX");
	assert_non_null(mkdtemp(f->ud_dir));
	snprintf(f->ud_path, sizeof(f->ud_path), "%s/%s", f->ud_dir, file);
	*state = f;
	return 0;
}

int
unit_dir_teardown(void **state)
{
	struct unit_dir	*f = *state;
	struct dirent	*de;
	DIR		*d;
	char		 p[512];

	if ((d = opendir(f->ud_dir)) != NULL) {
		while ((de = readdir(d)) != NULL) {
			if (strcmp(de->d_name, ".") == 0 ||
			    strcmp(de->d_name, "..") == 0)
				continue;
			snprintf(p, sizeof(p), "%s/%s", f->ud_dir, de->d_name);
			unlink(p);
		}
		closedir(d);
	}
	rmdir(f->ud_dir);
	free(f);
	return 0;
}

int64_t
unit_sql_int(const char *path, const char *sql)
{
	sqlite3		*s;
	sqlite3_stmt	*st;
	int64_t		 v = -1;

	assert_int_equal(sqlite3_open(path, &s), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(s, sql, -1, &st, NULL), SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(s);
	return v;
}

void
unit_sql_exec(const char *path, const char *sql)
{
	sqlite3	*s;

	assert_int_equal(sqlite3_open(path, &s), SQLITE_OK);
	assert_int_equal(sqlite3_exec(s, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(s);
}
