/*
 * test_auth.c — proto/auth.c: key directories made by auth_keygen(),
 * loaded by link_keys_load(), and the handshake's signatures.
 */
#include <sys/stat.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "proto/auth.h"

struct keydir {
	char	kd_dir[64];
	char	kd_keys[96];
};

static int
setup(void **state)
{
	struct keydir	*k = calloc(1, sizeof(*k));
	char		 err[512];

	snprintf(k->kd_dir, sizeof(k->kd_dir), "/tmp/whoisd-test-keys-XXXXXX");
	if (mkdtemp(k->kd_dir) == NULL)
		return -1;
	snprintf(k->kd_keys, sizeof(k->kd_keys), "%s/keys", k->kd_dir);
	if (auth_keygen(k->kd_keys, -1, -1, NULL, err, sizeof(err)) == -1) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	*state = k;
	return 0;
}

static int
teardown(void **state)
{
	struct keydir	*k = *state;
	char		 cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", k->kd_dir);
	if (system(cmd) != 0)
		return -1;
	free(k);
	return 0;
}

static void
path_of(const struct keydir *k, const char *name, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s", k->kd_keys, name);
}

static void
test_roles(void **state)
{
	char	buf[64];
	int	r;

	(void)state;
	for (r = ROLE_NONE + 1; r < ROLE_N; r++)
		assert_int_equal(role_lookup(role_name(r)), r);
	assert_int_equal(role_lookup("root"), ROLE_NONE);
	assert_null(role_name(ROLE_NONE));
	role_mask_str(ROLE_BIT(ROLE_FRONT) | ROLE_BIT(ROLE_CTL), buf,
	    sizeof(buf));
	assert_string_equal(buf, "front,ctl");
	role_mask_str(ROLES_ALL, buf, sizeof(buf));
	assert_string_equal(buf, "any");
}

/* keygen makes 0600 keys and 0644 .pub files, and only what is missing. */
static void
test_keygen(void **state)
{
	struct keydir	*k = *state;
	struct stat	 st;
	char		 path[160], err[512];
	FILE		*fp;
	ino_t		 ino;

	path_of(k, "ctl.key", path, sizeof(path));
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	ino = st.st_ino;
	path_of(k, "front.pub", path, sizeof(path));
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0644);
	/* Again: nothing replaced, nothing printed. */
	fp = tmpfile();
	assert_int_equal(auth_keygen(k->kd_keys, -1, -1, fp, err,
	    sizeof(err)), 0);
	assert_int_equal(ftell(fp), 0);
	fclose(fp);
	path_of(k, "ctl.key", path, sizeof(path));
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_ino, ino);
	/* A .pub without its key is someone's mistake, not ours to fix. */
	path_of(k, "errdb.key", path, sizeof(path));
	assert_int_equal(unlink(path), 0);
	assert_int_equal(auth_keygen(k->kd_keys, -1, -1, NULL, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "errdb.pub exists without"));
}

static void
test_load_refusals(void **state)
{
	struct keydir		*k = *state;
	struct link_keys	*lk;
	char			 path[160], err[512];
	FILE			*fp;

	path_of(k, "front.key", path, sizeof(path));
	assert_int_equal(chmod(path, 0640), 0);
	lk = link_keys_load(k->kd_keys, ROLE_FRONT, "require", err,
	    sizeof(err));
	assert_null(lk);
	assert_non_null(strstr(err, "front.key: mode 0640 lets group or "
	    "others read it"));
	assert_int_equal(chmod(path, 0600), 0);
	lk = link_keys_load("/nonexistent", ROLE_FRONT, "require", err,
	    sizeof(err));
	assert_null(lk);
	assert_non_null(strstr(err, "whoisctl keygen"));
	lk = link_keys_load(k->kd_keys, ROLE_FRONT, "sometimes", err,
	    sizeof(err));
	assert_null(lk);
	assert_non_null(strstr(err, "link_auth"));
	/* A broken .pub is an error, not a role left out. */
	path_of(k, "query.pub", path, sizeof(path));
	fp = fopen(path, "w");
	fputs("-----BEGIN PUBLIC KEY-----\nnot base64\n", fp);
	fclose(fp);
	lk = link_keys_load(k->kd_keys, ROLE_FRONT, "prefer", err,
	    sizeof(err));
	assert_null(lk);
	assert_non_null(strstr(err, "query.pub: not a PEM public key"));
}

static void
test_sign_verify(void **state)
{
	struct keydir		*k = *state;
	struct link_keys	*front, *cache;
	uint8_t			 cn[AUTH_NONCE_LEN], sn[AUTH_NONCE_LEN];
	uint8_t			 sig[AUTH_SIG_LEN];
	char			 err[512];

	front = link_keys_load(k->kd_keys, ROLE_FRONT, "require", err,
	    sizeof(err));
	assert_non_null(front);
	cache = link_keys_load(k->kd_keys, ROLE_CACHE, "prefer", err,
	    sizeof(err));
	assert_non_null(cache);
	assert_int_equal(link_keys_mode(cache), AUTH_PREFER);
	assert_int_equal(auth_random(cn, sizeof(cn)), 0);
	assert_int_equal(auth_random(sn, sizeof(sn)), 0);

	/* The front signs as the client; the cache checks it. */
	assert_int_equal(auth_sign(front, AUTH_SIDE_CLIENT, cn, sn,
	    ROLE_FRONT, ROLE_CACHE, sig, err, sizeof(err)), 0);
	assert_int_equal(auth_verify(cache, ROLE_FRONT, AUTH_SIDE_CLIENT, cn,
	    sn, ROLE_FRONT, ROLE_CACHE, sig, sizeof(sig), err, sizeof(err)), 0);
	/* The same signature proves nothing for another role, side, nonce
	 * or server. */
	assert_int_equal(auth_verify(cache, ROLE_QUERY, AUTH_SIDE_CLIENT, cn,
	    sn, ROLE_QUERY, ROLE_CACHE, sig, sizeof(sig), err, sizeof(err)),
	    -1);
	assert_non_null(strstr(err, "bad signature for role query"));
	assert_int_equal(auth_verify(cache, ROLE_FRONT, AUTH_SIDE_SERVER, cn,
	    sn, ROLE_FRONT, ROLE_CACHE, sig, sizeof(sig), err, sizeof(err)),
	    -1);
	sn[3] ^= 1;
	assert_int_equal(auth_verify(cache, ROLE_FRONT, AUTH_SIDE_CLIENT, cn,
	    sn, ROLE_FRONT, ROLE_CACHE, sig, sizeof(sig), err, sizeof(err)),
	    -1);
	sn[3] ^= 1;
	assert_int_equal(auth_verify(cache, ROLE_FRONT, AUTH_SIDE_CLIENT, cn,
	    sn, ROLE_FRONT, ROLE_QUERY, sig, sizeof(sig), err, sizeof(err)),
	    -1);
	sig[10] ^= 0x40;
	assert_int_equal(auth_verify(cache, ROLE_FRONT, AUTH_SIDE_CLIENT, cn,
	    sn, ROLE_FRONT, ROLE_CACHE, sig, sizeof(sig), err, sizeof(err)),
	    -1);
	assert_int_equal(auth_verify(cache, ROLE_FRONT, AUTH_SIDE_CLIENT, cn,
	    sn, ROLE_FRONT, ROLE_CACHE, sig, 63, err, sizeof(err)), -1);
	link_keys_free(front);
	link_keys_free(cache);
}

/* A role whose .pub is not in the directory cannot prove itself. */
static void
test_missing_pub(void **state)
{
	struct keydir		*k = *state;
	struct link_keys	*ctl, *cache;
	uint8_t			 n[AUTH_NONCE_LEN] = { 0 };
	uint8_t			 sig[AUTH_SIG_LEN];
	char			 path[160], err[512];

	ctl = link_keys_load(k->kd_keys, ROLE_CTL, "require", err,
	    sizeof(err));
	assert_non_null(ctl);
	path_of(k, "ctl.pub", path, sizeof(path));
	assert_int_equal(unlink(path), 0);
	cache = link_keys_load(k->kd_keys, ROLE_CACHE, "require", err,
	    sizeof(err));
	assert_non_null(cache);
	assert_false(link_keys_has_pub(cache, ROLE_CTL));
	assert_true(link_keys_has_pub(cache, ROLE_FRONT));
	assert_int_equal(auth_sign(ctl, AUTH_SIDE_CLIENT, n, n, ROLE_CTL,
	    ROLE_CACHE, sig, err, sizeof(err)), 0);
	assert_int_equal(auth_verify(cache, ROLE_CTL, AUTH_SIDE_CLIENT, n, n,
	    ROLE_CTL, ROLE_CACHE, sig, sizeof(sig), err, sizeof(err)), -1);
	assert_non_null(strstr(err, "no public key for role ctl"));
	link_keys_free(ctl);
	link_keys_free(cache);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roles),
		cmocka_unit_test_setup_teardown(test_keygen, setup, teardown),
		cmocka_unit_test_setup_teardown(test_load_refusals, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_sign_verify, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_missing_pub, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
