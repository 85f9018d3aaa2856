/*
 * auth.c — role keys and the handshake's signatures (auth.h).
 *
 * Ed25519 from OpenSSL's libcrypto: Debian's well-kept implementation,
 * the one TLS between hosts will use too; keys are PEM files that
 * `openssl pkey` can read.  A signature costs tens of microseconds, once
 * per link.
 */
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "common/config.h"
#include "common/log.h"
#include "common/pool.h"
#include "common/util.h"
#include "proto/auth.h"

/* Names the protocol and its version inside every signed transcript. */
#define AUTH_CONTEXT	"whoisd-link-auth-1"

struct link_keys {
	enum link_role		 lk_role;
	enum link_auth_mode	 lk_mode;
	EVP_PKEY		*lk_self;		/* our private key */
	EVP_PKEY		*lk_pub[ROLE_N];	/* NULL: no ROLE.pub */
};

static const char *const role_names[ROLE_N] = {
	[ROLE_FRONT] = "front",
	[ROLE_QUERY] = "query",
	[ROLE_CACHE] = "cache",
	[ROLE_ERRDB] = "errdb",
	[ROLE_CTL] = "ctl",
};

static struct link_keys	*keys_current;

const char *
role_name(enum link_role r)
{
	return r > ROLE_NONE && r < ROLE_N ? role_names[r] : NULL;
}

enum link_role
role_lookup(const char *s)
{
	int	r;

	for (r = ROLE_NONE + 1; r < ROLE_N; r++)
		if (strcmp(s, role_names[r]) == 0)
			return r;
	return ROLE_NONE;
}

void
role_mask_str(unsigned mask, char *buf, size_t len)
{
	size_t	off = 0;
	int	r;

	if (mask == ROLES_ALL || mask == 0) {
		snprintf(buf, len, "%s", mask ? "any" : "none");
		return;
	}
	buf[0] = '\0';
	for (r = ROLE_NONE + 1; r < ROLE_N && off < len; r++)
		if (mask & ROLE_BIT(r))
			off += snprintf(buf + off, len - off, "%s%s",
			    off ? "," : "", role_names[r]);
}

/* OpenSSL's last error, or the errno text. */
static void
auth_err(char *err, size_t errlen, const char *what)
{
	unsigned long	e = ERR_get_error();
	char		buf[256];

	if (e != 0) {
		ERR_error_string_n(e, buf, sizeof(buf));
		ERR_clear_error();
		snprintf(err, errlen, "%s: %s", what, buf);
	} else
		snprintf(err, errlen, "%s: %s", what, strerror(errno));
}

static EVP_PKEY *
keys_read(const char *dir, const char *name, int private, char *err,
    size_t errlen)
{
	char		 path[PATH_MAX], what[PATH_MAX + 32];
	struct stat	 st;
	EVP_PKEY	*k;
	FILE		*fp;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((fp = fopen(path, "r")) == NULL) {
		snprintf(err, errlen, "%s: %s", name, strerror(errno));
		return NULL;
	}
	/* As ssh does: a private key others can read is not private. */
	if (private && fstat(fileno(fp), &st) == 0 &&
	    (st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
		snprintf(err, errlen, "%s: mode %04o lets group or others read "
		    "it (chmod 600)", name, (unsigned)(st.st_mode & 07777));
		fclose(fp);
		return NULL;
	}
	k = private ? PEM_read_PrivateKey(fp, NULL, NULL, NULL) :
	    PEM_read_PUBKEY(fp, NULL, NULL, NULL);
	fclose(fp);
	snprintf(what, sizeof(what), "%s: not a PEM %s key", name,
	    private ? "private" : "public");
	if (k == NULL) {
		auth_err(err, errlen, what);
		return NULL;
	}
	if (EVP_PKEY_get_id(k) != EVP_PKEY_ED25519) {
		snprintf(err, errlen, "%s: not an Ed25519 key", name);
		EVP_PKEY_free(k);
		return NULL;
	}
	return k;
}

/* 1 if dir/name exists. */
static int
keys_exists(const char *dir, const char *name)
{
	char		path[PATH_MAX];
	struct stat	st;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return stat(path, &st) == 0;
}

struct link_keys *
link_keys_load(const char *dir, enum link_role role, const char *mode,
    char *err, size_t errlen)
{
	struct link_keys	*lk;
	char			 name[32], why[512];
	int			 r, missing;

	if (dir == NULL || dir[0] == '\0') {
		snprintf(err, errlen, "link_keys: no key directory set");
		return NULL;
	}
	lk = xcalloc(1, sizeof(*lk));
	lk->lk_role = role;
	if (mode == NULL || strcmp(mode, "require") == 0)
		lk->lk_mode = AUTH_REQUIRE;
	else if (strcmp(mode, "prefer") == 0)
		lk->lk_mode = AUTH_PREFER;
	else {
		snprintf(err, errlen, "link_auth: \"%s\" is neither require "
		    "nor prefer", mode);
		free(lk);
		return NULL;
	}
	snprintf(name, sizeof(name), "%s.key", role_name(role));
	missing = !keys_exists(dir, name);
	if ((lk->lk_self = keys_read(dir, name, 1, why, sizeof(why))) == NULL)
		goto fail;
	/* A role without its .pub here cannot prove itself to us. */
	for (r = ROLE_NONE + 1; r < ROLE_N; r++) {
		snprintf(name, sizeof(name), "%s.pub", role_names[r]);
		if (!keys_exists(dir, name))
			continue;
		if ((lk->lk_pub[r] = keys_read(dir, name, 0, why,
		    sizeof(why))) == NULL)
			goto fail;
	}
	return lk;
fail:
	snprintf(err, errlen, "link_keys %s: %s%s", dir, why, missing ?
	    " (make the keys with `whoisctl keygen DIR`)" : "");
	link_keys_free(lk);
	return NULL;
}

void
link_keys_free(struct link_keys *lk)
{
	int	r;

	if (lk == NULL)
		return;
	EVP_PKEY_free(lk->lk_self);
	for (r = 0; r < ROLE_N; r++)
		EVP_PKEY_free(lk->lk_pub[r]);
	free(lk);
}

enum link_role
link_keys_role(const struct link_keys *lk)
{
	return lk->lk_role;
}

enum link_auth_mode
link_keys_mode(const struct link_keys *lk)
{
	return lk->lk_mode;
}

int
link_keys_has_pub(const struct link_keys *lk, enum link_role r)
{
	return r > ROLE_NONE && r < ROLE_N && lk->lk_pub[r] != NULL;
}

/* Links made before a reload keep nothing of the old keys: they are
 * only read while a handshake runs. */
void
link_keys_set(struct link_keys *lk)
{
	link_keys_free(keys_current);
	keys_current = lk;
}

const struct link_keys *
link_keys_get(void)
{
	return keys_current;
}

int
link_keys_master(const void *conf, enum link_role role, const char *daemon,
    int reload)
{
	const struct pool_conf	*pc = conf;
	struct link_keys	*lk;
	char			 err[PATH_MAX + 256];

	if ((lk = link_keys_load(pc->pc_link_keys, role, pc->pc_link_auth, err,
	    sizeof(err))) == NULL) {
		log_errx("%s", err);
		if (reload != 1)
			fprintf(stderr, "%s: %s\n", daemon, err);
		return -1;
	}
	if (reload == 2) {
		link_keys_free(lk);
		return 0;
	}
	link_keys_set(lk);
	log_info("link keys %s: %s, link_auth %s", pc->pc_link_keys,
	    role_name(role), pc->pc_link_auth);
	return 0;
}

int
link_keys_check(const void *conf, enum link_role role, char *err,
    size_t errlen)
{
	const struct pool_conf	*pc = conf;
	struct link_keys	*lk;
	char			 e[PATH_MAX + 256];

	if ((lk = link_keys_load(pc->pc_link_keys, role, pc->pc_link_auth, e,
	    sizeof(e))) == NULL)
		return conf_keyerr(err, errlen, "link_keys", "%s", e);
	link_keys_free(lk);
	return 0;
}

int
auth_random(void *buf, size_t len)
{
	uint8_t	*p = buf;
	ssize_t	 n;

	while (len > 0) {
		if ((n = getrandom(p, len, 0)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* The bytes each side signs: context, side, both nonces, both roles. */
static size_t
auth_transcript(uint8_t *buf, size_t len, int side,
    const uint8_t cnonce[AUTH_NONCE_LEN], const uint8_t snonce[AUTH_NONCE_LEN],
    enum link_role crole, enum link_role srole)
{
	int	n;

	n = snprintf((char *)buf, len, "%s%c%c", AUTH_CONTEXT, '\0', side);
	if (n < 0 || (size_t)n + 2 * AUTH_NONCE_LEN + 2 > len)
		return 0;
	memcpy(buf + n, cnonce, AUTH_NONCE_LEN);
	memcpy(buf + n + AUTH_NONCE_LEN, snonce, AUTH_NONCE_LEN);
	n += 2 * AUTH_NONCE_LEN;
	buf[n++] = (uint8_t)crole;
	buf[n++] = (uint8_t)srole;
	return (size_t)n;
}

int
auth_sign(const struct link_keys *lk, int side,
    const uint8_t cnonce[AUTH_NONCE_LEN], const uint8_t snonce[AUTH_NONCE_LEN],
    enum link_role crole, enum link_role srole, uint8_t sig[AUTH_SIG_LEN],
    char *err, size_t errlen)
{
	EVP_MD_CTX	*ctx;
	uint8_t		 tbs[128];
	size_t		 n, siglen = AUTH_SIG_LEN;
	int		 ok;

	n = auth_transcript(tbs, sizeof(tbs), side, cnonce, snonce, crole,
	    srole);
	if ((ctx = EVP_MD_CTX_new()) == NULL) {
		auth_err(err, errlen, "sign");
		return -1;
	}
	ok = n > 0 &&
	    EVP_DigestSignInit(ctx, NULL, NULL, NULL, lk->lk_self) == 1 &&
	    EVP_DigestSign(ctx, sig, &siglen, tbs, n) == 1 &&
	    siglen == AUTH_SIG_LEN;
	EVP_MD_CTX_free(ctx);
	if (!ok) {
		auth_err(err, errlen, "sign");
		return -1;
	}
	return 0;
}

int
auth_verify(const struct link_keys *lk, enum link_role signer, int side,
    const uint8_t cnonce[AUTH_NONCE_LEN], const uint8_t snonce[AUTH_NONCE_LEN],
    enum link_role crole, enum link_role srole, const void *sig,
    size_t siglen, char *err, size_t errlen)
{
	EVP_MD_CTX	*ctx;
	uint8_t		 tbs[128];
	size_t		 n;
	int		 ok;

	if (!link_keys_has_pub(lk, signer)) {
		snprintf(err, errlen, "no public key for role %s here",
		    role_name(signer) ? role_name(signer) : "?");
		return -1;
	}
	if (siglen != AUTH_SIG_LEN) {
		snprintf(err, errlen, "signature of %zu bytes", siglen);
		return -1;
	}
	n = auth_transcript(tbs, sizeof(tbs), side, cnonce, snonce, crole,
	    srole);
	if ((ctx = EVP_MD_CTX_new()) == NULL) {
		auth_err(err, errlen, "verify");
		return -1;
	}
	ok = n > 0 &&
	    EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, lk->lk_pub[signer]) ==
	    1 && EVP_DigestVerify(ctx, sig, siglen, tbs, n) == 1;
	EVP_MD_CTX_free(ctx);
	ERR_clear_error();
	if (!ok) {
		snprintf(err, errlen, "bad signature for role %s",
		    role_name(signer));
		return -1;
	}
	return 0;
}

/* Write one PEM file with mode, created new (never over a file). */
static int
keygen_write(const char *path, mode_t mode, EVP_PKEY *k, int private,
    long uid, long gid, char *err, size_t errlen)
{
	FILE	*fp;
	int	 fd, ok;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)) ==
	    -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	(void)fchmod(fd, mode);	/* whatever the umask */
	if ((uid != -1 || gid != -1) &&
	    fchown(fd, (uid_t)uid, (gid_t)gid) == -1) {
		snprintf(err, errlen, "%s: chown: %s", path, strerror(errno));
		close(fd);
		unlink(path);
		return -1;
	}
	if ((fp = fdopen(fd, "w")) == NULL) {
		close(fd);
		unlink(path);
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	ok = private ? PEM_write_PrivateKey(fp, k, NULL, NULL, 0, NULL, NULL) :
	    PEM_write_PUBKEY(fp, k);
	if (fclose(fp) != 0 || !ok) {
		auth_err(err, errlen, path);
		unlink(path);
		return -1;
	}
	return 0;
}

int
auth_keygen(const char *dir, long uid, long gid, void *out, char *err,
    size_t errlen)
{
	char		 kpath[PATH_MAX], ppath[PATH_MAX];
	EVP_PKEY	*k;
	long		 ku, kg;
	int		 r, rc;

	if (mkdir(dir, 0755) == -1 && errno != EEXIST) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		return -1;
	}
	for (r = ROLE_NONE + 1; r < ROLE_N; r++) {
		snprintf(kpath, sizeof(kpath), "%s/%s.key", dir, role_names[r]);
		snprintf(ppath, sizeof(ppath), "%s/%s.pub", dir, role_names[r]);
		if (keys_exists(dir, strrchr(kpath, '/') + 1))
			continue;
		if (keys_exists(dir, strrchr(ppath, '/') + 1)) {
			snprintf(err, errlen, "%s exists without %s: remove it "
			    "or restore the key", ppath, kpath);
			return -1;
		}
		if ((k = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519")) == NULL) {
			auth_err(err, errlen, "keygen");
			return -1;
		}
		/* The operator's key stays the caller's: only its holder
		 * may purge or clear a back-off. */
		ku = r == ROLE_CTL ? -1 : uid;
		kg = r == ROLE_CTL ? -1 : gid;
		rc = keygen_write(kpath, 0600, k, 1, ku, kg, err, errlen);
		if (rc == 0 && (rc = keygen_write(ppath, 0644, k, 0, -1, -1,
		    err, errlen)) == -1)
			unlink(kpath);
		EVP_PKEY_free(k);
		if (rc == -1)
			return -1;
		if (out != NULL)
			fprintf(out, "%s: new %s key\n", kpath, role_names[r]);
	}
	return 0;
}
