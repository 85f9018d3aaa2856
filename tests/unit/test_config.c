/*
 * test_config.c — the table-driven key/value parser.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "common/config.h"
#include "common/pool.h"

struct tconf {
	struct pool_conf	 t_pool;
	char			*t_name;
	double			 t_timeout;
	long			 t_size;
	char			*t_addr;
};

static const struct conf_key tkeys[] = {
	{ "name", CONF_STR, offsetof(struct tconf, t_name), 0, 0, "anon", "x" },
	{ "timeout", CONF_DOUBLE, offsetof(struct tconf, t_timeout), 0.5, 60,
	  "10", "x" },
	{ "size", CONF_BYTES, offsetof(struct tconf, t_size), 0, 1e9, "1k", "x" },
	{ "addr", CONF_ADDR, offsetof(struct tconf, t_addr), 0, 0,
	  "127.0.0.1:4701", "x" },
	{ "old_key", CONF_OBSOLETE, 0, 0, 0, NULL, "read by nothing" },
	{ NULL, 0, 0, 0, 0, NULL, NULL }
};

static const struct conf_spec tspec = {
	"test", tkeys, sizeof(struct tconf), "/nonexistent/default.conf", NULL, NULL
};

static char tmpl[] = "/tmp/whoisd-conf-XXXXXX";

static const char *
write_conf(const char *text)
{
	static char	path[64];
	FILE		*fp;
	int		 fd;

	strcpy(path, tmpl);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	fp = fdopen(fd, "w");
	fputs(text, fp);
	fclose(fp);
	return path;
}

static struct tconf *
load(const char *text, char *err, int extra, char **extrav)
{
	char		*argv[16];
	int		 argc = 0, i, action;
	const char	*path = write_conf(text);
	struct tconf	*c;

	argv[argc++] = "test";
	argv[argc++] = "-f";
	argv[argc++] = (char *)path;
	for (i = 0; i < extra; i++)
		argv[argc++] = extrav[i];
	argv[argc] = NULL;
	c = conf_load(&tspec, argc, argv, err, 512, &action);
	unlink(path);
	return c;
}

static void
defaults_and_file(void **state)
{
	char		 err[512] = "";
	struct tconf	*c;

	(void)state;
	c = load("# comment\n\n  name   alpha  # trailing comment\n"
	    "timeout = 2.5\nsize 2M\nlisten 127.0.0.1:1\nlisten [::1]:2\n"
	    "cidr_allow 10.0.0.0/8\n", err, 0, NULL);
	assert_non_null(c);
	assert_string_equal(c->t_name, "alpha");
	assert_true(c->t_timeout == 2.5);
	assert_int_equal(c->t_size, 2 * 1024 * 1024);
	assert_string_equal(c->t_addr, "127.0.0.1:4701");
	assert_int_equal(c->t_pool.pc_listen.cl_n, 2);
	assert_string_equal(c->t_pool.pc_listen.cl_items[1], "[::1]:2");
	assert_int_equal(c->t_pool.pc_min_servers, 1);
	assert_int_equal(c->t_pool.pc_max_clients_per_child, 256);
	conf_free(&tspec, c);
}

/* A key the daemon no longer reads still loads, from the file and the
 * command line, and leaves the rest of the config as it was. */
static void
obsolete_key_accepted(void **state)
{
	char		 err[512] = "";
	char		*extra[] = { "--old_key=127.0.0.1:1" };
	struct tconf	*c;

	(void)state;
	c = load("old_key 127.0.0.1:4703\nname alpha\n", err, 1, extra);
	assert_non_null(c);
	assert_string_equal(c->t_name, "alpha");
	assert_string_equal(c->t_addr, "127.0.0.1:4701");
	conf_free(&tspec, c);
}

static void
command_line_wins(void **state)
{
	char		 err[512] = "";
	char		*extra[] = { "--name=beta", "--listen=127.0.0.1:9",
			    "--min_servers=3" };
	struct tconf	*c;

	(void)state;
	c = load("name alpha\nlisten 127.0.0.1:1\nlisten 127.0.0.1:2\n", err, 3,
	    extra);
	assert_non_null(c);
	assert_string_equal(c->t_name, "beta");
	/* A list on the command line replaces the file's list. */
	assert_int_equal(c->t_pool.pc_listen.cl_n, 1);
	assert_string_equal(c->t_pool.pc_listen.cl_items[0], "127.0.0.1:9");
	assert_int_equal(c->t_pool.pc_min_servers, 3);
	conf_free(&tspec, c);
}

static void
errors_name_file_line_key(void **state)
{
	char	 err[512];
	char	*bad[] = { "--nope=1" };
	char	*badval[] = { "--timeout=99" };

	(void)state;
	assert_null(load("name a\nbogus 1\n", err, 0, NULL));
	assert_non_null(strstr(err, ":2: bogus: unknown key"));
	assert_null(load("\n\n\nmin_servers two\n", err, 0, NULL));
	assert_non_null(strstr(err, ":4: min_servers: \"two\" is not an integer"));
	assert_null(load("timeout 0.1\n", err, 0, NULL));
	assert_non_null(strstr(err, ":1: timeout: 0.1 out of range"));
	assert_null(load("addr nohostport\n", err, 0, NULL));
	assert_non_null(strstr(err, ":1: addr:"));
	assert_null(load("background maybe\n", err, 0, NULL));
	assert_non_null(strstr(err, "background: \"maybe\" is not a boolean"));
	assert_null(load("min_servers\n", err, 0, NULL));
	assert_non_null(strstr(err, "min_servers: missing value"));
	assert_null(load("", err, 1, bad));
	assert_non_null(strstr(err, "nope: unknown key"));
	assert_null(load("", err, 1, badval));
	assert_non_null(strstr(err, "command line: timeout: 99 out of range"));
	/* Net::Server's consistency rules. */
	assert_null(load("min_servers 5\nmax_servers 4\n", err, 0, NULL));
	assert_non_null(strstr(err, "max_servers (4) must be >= min_servers (5)"));
	assert_null(load("max_servers 4\nmax_spare_servers 4\n", err, 0, NULL));
	assert_non_null(strstr(err, "max_spare_servers (4) must be < max_servers"));
	assert_null(load("min_spare_servers 3\nmax_spare_servers 2\n", err, 0,
	    NULL));
	assert_non_null(strstr(err, "min_spare_servers (3) must be <="));
	assert_null(load("serialize flock\n", err, 0, NULL));
	assert_non_null(strstr(err, "serialize: \"flock\" is not supported"));
}

static void
missing_file(void **state)
{
	char	 err[512];
	char	*argv[] = { "test", "-f", "/nonexistent/x.conf", NULL };
	int	 action;

	(void)state;
	assert_null(conf_load(&tspec, 3, argv, err, sizeof(err), &action));
	assert_non_null(strstr(err, "/nonexistent/x.conf: No such file"));
}

/* Checks made after reading still name the line the key was set on. */
static void
late_checks_name_the_line(void **state)
{
	char	 err[512];
	char	*user[] = { "--user=no-such-user-whoisd" };

	(void)state;
	assert_null(load("# x\nname a\nmax_servers 2\nmin_servers 3\n", err,
	    0, NULL));
	assert_non_null(strstr(err, ":3: max_servers: max_servers (2) must be"));
	assert_null(load("user no-such-user-whoisd\n", err, 0, NULL));
	assert_non_null(strstr(err, ":1: user: no such user"));
	assert_null(load("", err, 1, user));
	assert_non_null(strstr(err, "command line: user: no such user"));
	assert_null(load("\nlog_file /nonexistent/dir/x.log\n", err, 0, NULL));
	assert_non_null(strstr(err, ":2: log_file: /nonexistent/dir"));
}

static void
addresses_checked_when_read(void **state)
{
	char		 err[512];
	struct tconf	*c;

	(void)state;
	assert_null(load("listen 127.0.0.1:99999\n", err, 0, NULL));
	assert_non_null(strstr(err, ":1: listen:"));
	assert_null(load("\nlisten 127.0.0.1\n", err, 0, NULL));
	assert_non_null(strstr(err, ":2: listen:"));
	assert_null(load("listen [::1]:0\n", err, 0, NULL));
	assert_non_null(strstr(err, "out of range 1..65535"));
	assert_null(load("addr 127.0.0.1:0\n", err, 0, NULL));
	assert_non_null(strstr(err, ":1: addr:"));
	assert_null(load("addr bad/host:1\n", err, 0, NULL));
	assert_non_null(strstr(err, "bad host"));
	assert_null(load("cidr_deny 10.0.0.0/33\n", err, 0, NULL));
	assert_non_null(strstr(err, ":1: cidr_deny:"));
	c = load("listen *:4343\nlisten [::1]:4343\nlisten localhost:4343\n"
	    "addr host-1.example:4701\ncidr_allow 10.0.0.0/8\n", err, 0, NULL);
	assert_non_null(c);
	conf_free(&tspec, c);
}

/* --help shows the daemon's own pool defaults, not the pool's. */
static void
help_shows_own_defaults(void **state)
{
	static const struct conf_spec own = {
		"test", tkeys, sizeof(struct tconf), "/nonexistent/x.conf",
		NULL, "min_servers=2 max_clients_per_child=4000"
	};
	char	 buf[16384];
	FILE	*fp = fmemopen(buf, sizeof(buf), "w");

	(void)state;
	conf_usage(&own, fp);
	fclose(fp);
	assert_non_null(strstr(buf, "children started at boot [2]"));
	assert_non_null(strstr(buf, "one child serves [4000]"));
	assert_non_null(strstr(buf, "hard ceiling on children [4]"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(defaults_and_file),
		cmocka_unit_test(command_line_wins),
		cmocka_unit_test(obsolete_key_accepted),
		cmocka_unit_test(errors_name_file_line_key),
		cmocka_unit_test(missing_file),
		cmocka_unit_test(late_checks_name_the_line),
		cmocka_unit_test(addresses_checked_when_read),
		cmocka_unit_test(help_shows_own_defaults),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
