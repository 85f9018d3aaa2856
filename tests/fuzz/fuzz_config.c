/*
 * fuzz_config.c — libFuzzer target for the `key value` config parser
 * (common/config.c) reading a daemon's config file.
 *
 * Input: the bytes of the file, read by conf_load() through -f with a key
 * table that has the daemons' real key names and every key type (the pool
 * keys come along as in every daemon).  Besides memory safety and leaks it
 * checks that a refused file says which file in its error, and that an
 * accepted one left every value as its table allows: numbers within their
 * bounds and not NaN, booleans 0 or 1, addresses that parse, strings and
 * list items without '#', newline or a blank at either end, and the pool's
 * cross-key rules (max_servers >= min_servers, serialize epoll or none).
 */
#include <ctype.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/config.h"
#include "common/pool.h"
#include "common/util.h"
#include "tests/fuzz/fuzz.h"

struct fz_conf {
	struct pool_conf	 fc_pool;	/* first, as in every daemon */
	long			 fc_long[6];
	double			 fc_dbl[20];
	char			*fc_str[4];
	char			*fc_addr[4];
	struct conf_list	 fc_list;
};

#define FZL(i)	offsetof(struct fz_conf, fc_long) + (i) * sizeof(long)
#define FZD(i)	offsetof(struct fz_conf, fc_dbl) + (i) * sizeof(double)
#define FZS(i)	offsetof(struct fz_conf, fc_str) + (i) * sizeof(char *)
#define FZA(i)	offsetof(struct fz_conf, fc_addr) + (i) * sizeof(char *)

static const struct conf_key fz_keys[] = {
	{ "max_frame", CONF_BYTES, FZL(0), 1024, 1 << 30, "16m", "" },
	{ "compress_min", CONF_BYTES, FZL(1), 0, 1 << 30, "8k", "" },
	{ "max_reply", CONF_BYTES, FZL(2), 1024, 1 << 24, "1m", "" },
	{ "max_query_len", CONF_INT, FZL(3), 1, 4096, "255", "" },
	{ "http_max_names", CONF_INT, FZL(4), 1, 1000, "100", "" },
	{ "ttl_available", CONF_DOUBLE, FZD(0), 0, 1e9, "300", "" },
	{ "ttl_registered", CONF_DOUBLE, FZD(1), 0, 1e9, "86400", "" },
	{ "ttl_reserved", CONF_DOUBLE, FZD(2), 0, 1e9, "86400", "" },
	{ "total_timeout", CONF_DOUBLE, FZD(3), 0.1, 600, "10", "" },
	{ "sweep_interval", CONF_DOUBLE, FZD(4), 0.01, 86400, "60", "" },
	{ "stale_max", CONF_DOUBLE, FZD(5), 0, 1e9, "604800", "" },
	{ "retention", CONF_DOUBLE, FZD(6), 0, 1e9, "2592000", "" },
	{ "request_timeout", CONF_DOUBLE, FZD(7), 0.01, 600, "5", "" },
	{ "prune_interval", CONF_DOUBLE, FZD(8), 1, 86400, "3600", "" },
	{ "link_down_wait", CONF_DOUBLE, FZD(9), 0, 60, "0.5", "" },
	{ "lease_ttl", CONF_DOUBLE, FZD(10), 0, 600, "10", "" },
	{ "idle_timeout", CONF_DOUBLE, FZD(11), 0, 86400, "60", "" },
	{ "http_idle_timeout", CONF_DOUBLE, FZD(12), 0, 86400, "30", "" },
	{ "health_refresh", CONF_DOUBLE, FZD(13), 0.1, 3600, "5", "" },
	{ "first_byte_timeout", CONF_DOUBLE, FZD(14), 0.1, 600, "5", "" },
	{ "connect_timeout", CONF_DOUBLE, FZD(15), 0.1, 600, "3", "" },
	{ "backoff_max", CONF_DOUBLE, FZD(16), 0, 86400, "600", "" },
	{ "backoff_default", CONF_DOUBLE, FZD(17), 0, 86400, "60", "" },
	{ "registries", CONF_STR, FZS(0), 0, 0, "etc/registries.conf", "" },
	{ "db_path", CONF_STR, FZS(1), 0, 0, NULL, "" },
	{ "spool_dir", CONF_STR, FZS(2), 0, 0, NULL, "" },
	{ "host_id", CONF_STR, FZS(3), 0, 0, NULL, "" },
	{ "cache_addr", CONF_ADDR, FZA(0), 0, 0, "127.0.0.1:4401", "" },
	{ "query_addr", CONF_ADDR, FZA(1), 0, 0, "127.0.0.1:4402", "" },
	{ "errdb_addr", CONF_ADDR, FZA(2), 0, 0, NULL, "" },
	{ "registry_override", CONF_ADDR, FZA(3), 0, 0, NULL, "" },
	{ "old_key", CONF_OBSOLETE, 0, 0, 0, NULL, "read by nothing" },
	{ "http_listen", CONF_LIST, offsetof(struct fz_conf, fc_list), 0, 0,
	  "127.0.0.1:8080", "" },
	{ NULL, 0, 0, 0, 0, NULL, NULL }
};

static const struct conf_spec fz_spec = {
	"whoisd-fuzz", fz_keys, sizeof(struct fz_conf), "/nonexistent",
	NULL, "min_servers=2 max_servers=8"
};

static struct fuzz_file	fz_file;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_file_open(&fz_file, "fuzz-config");
	return 0;
}

static void
check_text(const char *s)
{
	size_t	n;

	if (s == NULL)
		return;
	n = strlen(s);
	if (strpbrk(s, "#\n") != NULL ||
	    (n > 0 && (isspace((unsigned char)s[n - 1]) || *s == ' ' ||
	    *s == '\t')))
		abort();
}

static void
check_key(const struct conf_key *k, const void *conf)
{
	const char		*p = (const char *)conf + k->ck_off;
	const struct conf_list	*l;
	char			 host[256], err[256];
	double			 d;
	int			 i, port;

	switch (k->ck_type) {
	case CONF_INT:
	case CONF_BYTES:
		d = (double)*(const long *)p;
		if (d < k->ck_min || d > k->ck_max)
			abort();
		break;
	case CONF_DOUBLE:
		d = *(const double *)p;
		if (isnan(d) || d < k->ck_min || d > k->ck_max)
			abort();
		break;
	case CONF_BOOL:
		if (*(const int *)p != 0 && *(const int *)p != 1)
			abort();
		break;
	case CONF_ADDR:
		if (*(char *const *)p != NULL && **(char *const *)p != '\0' &&
		    parse_hostport(*(char *const *)p, host, sizeof(host), &port,
		    err, sizeof(err)) == -1)
			abort();
		/* FALLTHROUGH */
	case CONF_STR:
		check_text(*(char *const *)p);
		break;
	case CONF_LIST:
	case CONF_LISTEN:
	case CONF_CIDRS:
		l = (const struct conf_list *)p;
		if (l->cl_n < 0 || (l->cl_n > 0 && l->cl_items == NULL))
			abort();
		for (i = 0; i < l->cl_n; i++) {
			if (l->cl_items[i] == NULL || l->cl_items[i][0] == '\0')
				abort();
			check_text(l->cl_items[i]);
		}
		break;
	case CONF_OBSOLETE:
		break;		/* stores nothing */
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct conf_key	*k;
	struct pool_conf	*pc;
	void			*conf;
	char			*argv[] = { "whoisd-fuzz", "-f", fz_file.ff_path, NULL };
	char			 err[512];
	int			 action;

	fuzz_file_set(&fz_file, data, size);
	err[0] = '\0';
	conf = conf_load(&fz_spec, 3, argv, err, sizeof(err), &action);
	if (conf == NULL) {
		/* Every refusal of a file names the file. */
		if (strncmp(err, fz_file.ff_path, strlen(fz_file.ff_path)) != 0)
			abort();
		return 0;
	}
	if (action != 'r' || strcmp(conf_path(conf), fz_file.ff_path) != 0)
		abort();
	for (k = pool_conf_keys; k->ck_name != NULL; k++)
		check_key(k, conf);
	for (k = fz_keys; k->ck_name != NULL; k++)
		check_key(k, conf);
	pc = conf;
	if (pc->pc_max_servers < pc->pc_min_servers ||
	    pc->pc_min_spare_servers > pc->pc_max_spare_servers ||
	    (strcmp(pc->pc_serialize, "epoll") != 0 &&
	    strcmp(pc->pc_serialize, "none") != 0) ||
	    (pc->pc_group != NULL && pc->pc_user == NULL))
		abort();
	conf_free(&fz_spec, conf);
	return 0;
}
