/*
 * cache_store.c: whoisd-cache's answer store: get, put, purge and expire
 * the cached verdicts (table answers), the registry text deflated at rest.
 *
 * zlib is used here for that text: it is storage, not framing, so
 * proto/frame.c stays the only user of zlib on the wire.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>
#include <zlib.h>

#include "common/sqldb.h"
#include "daemons/cache/cache_db.h"
#include "daemons/cache/cache_db_int.h"

/* The status of each schema code. */
static const enum answer_status cache_statuses[] = {
	[CACHE_UNKNOWN] = AS_UNKNOWN,
	[CACHE_AVAILABLE] = AS_AVAILABLE,
	[CACHE_REGISTERED] = AS_REGISTERED,
	[CACHE_RESERVED] = AS_RESERVED,
	[CACHE_INVALID] = AS_INVALID,
};
#define CACHE_NCODES \
	((int)(sizeof(cache_statuses) / sizeof(cache_statuses[0])))

int
cache_status_code(enum answer_status s)
{
	int	 i;

	for (i = 0; i < CACHE_NCODES; i++)
		if (cache_statuses[i] == s)
			return i;
	return CACHE_UNKNOWN;
}

enum answer_status
cache_status_answer(int code)
{
	if (code < 0 || code >= CACHE_NCODES)
		return AS_UNKNOWN;
	return cache_statuses[code];
}

double
cache_ttl_for(const struct cache_ttl *tl, int status)
{
	switch (status) {
	case CACHE_AVAILABLE:
		return tl->tl_available;
	case CACHE_REGISTERED:
		return tl->tl_registered;
	case CACHE_RESERVED:
		return tl->tl_reserved;
	default:
		return -1;
	}
}

void
cache_entry_clear(struct cache_entry *e)
{
	free(e->ce_text);
	e->ce_text = NULL;
	e->ce_text_len = 0;
}

/* Copy a column's text into a fixed buffer, cutting if it must. */
static void
col_str(sqlite3_stmt *st, int col, char *buf, size_t len)
{
	const unsigned char	*s;
	size_t			 n;

	buf[0] = '\0';
	if ((s = sqlite3_column_text(st, col)) == NULL)
		return;
	n = (size_t)sqlite3_column_bytes(st, col);
	if (n >= len)
		n = len - 1;
	memcpy(buf, s, n);
	buf[n] = '\0';
}

/* Bind a fixed-size string field; "" is bound as NULL. */
static int
bind_field(sqlite3_stmt *st, int i, const char *s, size_t size)
{
	size_t	 n;

	n = s == NULL ? 0 : strnlen(s, size);
	if (n == 0)
		return sqlite3_bind_null(st, i);
	return sqlite3_bind_text(st, i, s, (int)n, SQLITE_STATIC);
}

/* ------------------------------------------------------------------ */
/* Get */

/* Read and inflate the text columns of CACHE_ST_GET; 0 or -1. */
static int
get_text(struct cache_db *db, sqlite3_stmt *st, struct cache_entry *out)
{
	const void	*blob;
	int64_t		 tlen;
	uLongf		 dlen;
	size_t		 blen;
	char		*buf;

	if (sqlite3_column_type(st, 8) == SQLITE_NULL)
		return 0;
	tlen = sqlite3_column_int64(st, 9);
	blob = sqlite3_column_blob(st, 8);
	blen = (size_t)sqlite3_column_bytes(st, 8);
	if (tlen < 0 || tlen > CACHE_TEXT_MAX || (blob == NULL && blen > 0)) {
		sqldb_seterr(&db->cd_db, "text of %s: bad length %" PRId64,
		    out->ce_ace, tlen);
		return -1;
	}
	if ((buf = malloc((size_t)tlen + 1)) == NULL) {
		sqldb_seterr(&db->cd_db, "text of %s: out of memory",
		    out->ce_ace);
		return -1;
	}
	if (blen == (size_t)tlen) {
		memcpy(buf, blob, blen);
	} else {
		dlen = (uLongf)tlen;
		if (uncompress((Bytef *)buf, &dlen, blob, (uLong)blen) != Z_OK ||
		    dlen != (uLongf)tlen) {
			free(buf);
			sqldb_seterr(&db->cd_db, "text of %s: corrupt deflated"
			    " data", out->ce_ace);
			return -1;
		}
	}
	buf[tlen] = '\0';
	out->ce_text = buf;
	out->ce_text_len = (size_t)tlen;
	return 0;
}

int
cache_db_get(struct cache_db *db, const char *ace, double now, int flags,
    struct cache_entry *out)
{
	sqlite3_stmt	*st;
	size_t		 n;
	int		 rc, ret;

	memset(out, 0, sizeof(*out));
	n = strlen(ace);
	if (n == 0 || n >= sizeof(out->ce_ace)) {
		sqldb_seterr(&db->cd_db, "get: bad name length %zu", n);
		return -1;
	}
	memcpy(out->ce_ace, ace, n + 1);
	st = sqldb_stmt(&db->cd_db, CACHE_ST_GET);
	sqlite3_bind_text(st, 1, ace, (int)n, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		sqlite3_reset(st);
		return 0;
	}
	if (rc != SQLITE_ROW) {
		sqldb_sqlerr(&db->cd_db, "get");
		sqlite3_reset(st);
		return -1;
	}
	out->ce_status = sqlite3_column_int(st, 0);
	out->ce_checked = (double)sqlite3_column_int64(st, 1);
	out->ce_expires = (double)sqlite3_column_int64(st, 2);
	col_str(st, 3, out->ce_registry, sizeof(out->ce_registry));
	out->ce_latency_ms = sqlite3_column_int(st, 4);
	col_str(st, 5, out->ce_rule, sizeof(out->ce_rule));
	col_str(st, 6, out->ce_reason, sizeof(out->ce_reason));
	col_str(st, 7, out->ce_matched, sizeof(out->ce_matched));
	ret = out->ce_expires > now ? 1 : 2;
	if ((flags & CACHE_GET_TEXT) && get_text(db, st, out) == -1)
		ret = -1;
	sqlite3_reset(st);
	return ret;
}

/* ------------------------------------------------------------------ */
/* Put */

/*
 * Deflate len bytes of text into db->cd_zbuf with the connection's one
 * stream (zlib format, default level: what uncompress() reads back);
 * *zlen gets the deflated size.  0 or -1.
 */
static int
text_deflate(struct cache_db *db, const char *text, size_t len, size_t *zlen)
{
	z_stream	*zs = &db->cd_z;
	size_t		 bound;
	unsigned char	*nb;

	if (!db->cd_z_ready) {
		memset(zs, 0, sizeof(*zs));
		if (deflateInit(zs, Z_DEFAULT_COMPRESSION) != Z_OK) {
			sqldb_seterr(&db->cd_db, "deflate: cannot initialise");
			return -1;
		}
		db->cd_z_ready = 1;
	} else if (deflateReset(zs) != Z_OK) {
		sqldb_seterr(&db->cd_db, "deflate: cannot reset");
		return -1;
	}
	bound = deflateBound(zs, (uLong)len);
	if (bound > db->cd_zcap) {
		if ((nb = realloc(db->cd_zbuf, bound)) == NULL) {
			sqldb_seterr(&db->cd_db, "deflate: out of memory");
			return -1;
		}
		db->cd_zbuf = nb;
		db->cd_zcap = bound;
	}
	zs->next_in = (Bytef *)(uintptr_t)text;
	zs->avail_in = (uInt)len;
	zs->next_out = db->cd_zbuf;
	zs->avail_out = (uInt)bound;
	if (deflate(zs, Z_FINISH) != Z_STREAM_END) {
		sqldb_seterr(&db->cd_db, "deflate failed");
		return -1;
	}
	*zlen = bound - zs->avail_out;
	return 0;
}

void
cache_store_bind(sqlite3_stmt *st, const struct cache_entry *e, size_t acelen,
    int64_t checked, int64_t expires, int64_t reg, int64_t rule)
{
	sqlite3_bind_text(st, 1, e->ce_ace, (int)acelen, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, e->ce_status);
	sqlite3_bind_int64(st, 3, checked);
	sqlite3_bind_int64(st, 4, expires);
	if (reg)
		sqlite3_bind_int64(st, 5, reg);
	sqlite3_bind_int(st, 6, e->ce_latency_ms < 0 ? 0 : e->ce_latency_ms);
	if (rule)
		sqlite3_bind_int64(st, 7, rule);
	bind_field(st, 8, e->ce_reason, sizeof(e->ce_reason));
	bind_field(st, 9, e->ce_matched, sizeof(e->ce_matched));
}

int
cache_db_put(struct cache_db *db, const struct cache_entry *e, double ttl)
{
	struct sqldb	*sd = &db->cd_db;
	sqlite3_stmt	*st;
	const unsigned char *z = NULL;
	size_t		 zlen = 0;
	size_t		 acelen;
	int64_t		 checked, expires, reg, rule;

	acelen = strnlen(e->ce_ace, sizeof(e->ce_ace));
	if (acelen == 0 || acelen == sizeof(e->ce_ace)) {
		sqldb_seterr(sd, "put: bad name");
		return -1;
	}
	if (e->ce_status < CACHE_AVAILABLE || e->ce_status > CACHE_RESERVED) {
		sqldb_seterr(sd, "put %s: status %s is never cached", e->ce_ace,
		    answer_status_name(cache_status_answer(e->ce_status)));
		return -1;
	}
	if (!(ttl > 0) || !isfinite(ttl) || !(e->ce_checked > 0) ||
	    !isfinite(e->ce_checked)) {
		sqldb_seterr(sd, "put %s: bad checked time or ttl", e->ce_ace);
		return -1;
	}
	if (e->ce_text_len > CACHE_TEXT_MAX ||
	    (e->ce_text_len > 0 && e->ce_text == NULL)) {
		sqldb_seterr(sd, "put %s: bad text (%zu bytes, at most %d)",
		    e->ce_ace, e->ce_text_len, CACHE_TEXT_MAX);
		return -1;
	}
	checked = (int64_t)floor(e->ce_checked);
	expires = (int64_t)floor(e->ce_checked + ttl);

	/* Deflate outside the lock: other writers need not wait for zlib. */
	if (e->ce_text_len > 0) {
		if (text_deflate(db, e->ce_text, e->ce_text_len, &zlen) == -1)
			return -1;
		/* Stored raw when deflating does not help; see schema. */
		if (zlen < e->ce_text_len)
			z = db->cd_zbuf;
	}

	if (cache_db_write_begin(db) == -1)
		return -1;
	if (cache_db_atom(db, e->ce_registry, sizeof(e->ce_registry), 1,
	    &reg) == -1 ||
	    cache_db_atom(db, e->ce_rule, sizeof(e->ce_rule), 1, &rule) == -1)
		goto rollback;
	st = sqldb_stmt(sd, CACHE_ST_PUT);
	cache_store_bind(st, e, acelen, checked, expires, reg, rule);
	if (e->ce_text_len > 0) {
		if (z != NULL)
			sqlite3_bind_blob(st, 10, z, (int)zlen, SQLITE_STATIC);
		else
			sqlite3_bind_blob(st, 10, e->ce_text,
			    (int)e->ce_text_len, SQLITE_STATIC);
		sqlite3_bind_int64(st, 11, (int64_t)e->ce_text_len);
	}
	if (sqldb_run(sd, st, "put") == -1)
		goto rollback;
	/* The answer is in: the name's lease has done its job. */
	st = sqldb_stmt(sd, CACHE_ST_LEASE_DEL);
	sqlite3_bind_text(st, 1, e->ce_ace, (int)acelen, SQLITE_STATIC);
	if (sqldb_run(sd, st, "put: lease") == -1)
		goto rollback;
	if (cache_db_write_end(db) == -1)
		return -1;
	return 0;
 rollback:
	cache_db_write_abort(db);
	return -1;
}

/* ------------------------------------------------------------------ */
/* Purge, expire */

int64_t
cache_db_purge(struct cache_db *db, const char *ace)
{
	struct sqldb	*sd = &db->cd_db;
	sqlite3_stmt	*st;
	int64_t		 n;

	if (cache_db_write_begin(db) == -1)
		return -1;
	if (ace != NULL) {
		st = sqldb_stmt(sd, CACHE_ST_PURGE_ONE);
		sqlite3_bind_text(st, 1, ace, -1, SQLITE_STATIC);
	} else
		st = sqldb_stmt(sd, CACHE_ST_PURGE_ALL);
	if (sqldb_run(sd, st, "purge") == -1) {
		cache_db_write_abort(db);
		return -1;
	}
	n = sqlite3_changes64(sd->sd_sql);
	if (cache_db_write_end(db) == -1)
		return -1;
	return n;
}

int64_t
cache_db_expire(struct cache_db *db, double now, double older_than,
    int64_t max_rows)
{
	struct sqldb	*sd = &db->cd_db;
	sqlite3_stmt	*st;
	int64_t		 n;

	if (cache_db_write_begin(db) == -1)
		return -1;
	st = sqldb_stmt(sd, CACHE_ST_EXPIRE);
	/* expires is whole seconds: expires < ceil(t) is expires < t. */
	sqlite3_bind_int64(st, 1, (int64_t)ceil(now - older_than));
	sqlite3_bind_int64(st, 2, max_rows > 0 ? max_rows : -1);
	if (sqldb_run(sd, st, "expire") == -1)
		goto fail;
	n = sqlite3_changes64(sd->sd_sql);
	st = sqldb_stmt(sd, CACHE_ST_LEASE_EXPIRE);
	sqlite3_bind_double(st, 1, now);
	if (sqldb_run(sd, st, "expire leases") == -1)
		goto fail;
	if (cache_db_write_end(db) == -1)
		return -1;
	return n;
 fail:
	cache_db_write_abort(db);
	return -1;
}
