/*
 * cache_store.c: whoisd-cache's answer store: get, put, purge and expire
 * the cached verdicts (table answers), with their registry texts (texts)
 * deflated against a preset dictionary made of a reply of the same
 * registry (dicts), and the checksum that every answer row carries.
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

#include "common/log.h"
#include "common/sqldb.h"
#include "daemons/cache/cache_db.h"
#include "daemons/cache/cache_db_int.h"

/*
 * A dictionary's puts are summed up over windows of this many texts; a
 * window that deflates much worse than the first one means the registry's
 * replies have drifted from it (a new format, new terms), and the next
 * reply becomes the new dictionary.
 */
#define DICT_WINDOW	256
#define DICT_DRIFT(base)	((base) * 1.5 + 0.02)

/* A registration date past 9999-12-31 is no date (ISO 8601 stops there). */
#define REG_TIME_MAX	253402300800.0

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
/* Row checksums */

/*
 * What an answer row's checksum covers, as stored: the strings (NULL
 * counts as empty) and the integers, in this order, then the
 * registration data of version 3 (RS_V3_*), only if the row has any.
 */
enum { RS_ACE, RS_REGISTRY, RS_RULE, RS_REASON, RS_MATCHED,
    RS_NAMESERVERS, RS__NSTR };
enum { RS_STATUS, RS_CHECKED, RS_EXPIRES, RS_LATENCY, RS_TEXT_ID,
    RS_TEXT_LEN, RS_REG_CREATED, RS_REG_EXPIRES, RS__NINT };
#define RS_V3_STR	RS_NAMESERVERS	/* the first string of version 3 */
#define RS_V3_INT	RS_REG_CREATED	/* the first integer of version 3 */
struct row_sum {
	const void	*rs_str[RS__NSTR];
	size_t		 rs_len[RS__NSTR];
	int64_t		 rs_int[RS__NINT];
};

static uLong
crc_u64(uLong c, uint64_t v)
{
	unsigned char	 b[8];
	int		 i;

	for (i = 0; i < 8; i++)
		b[i] = (unsigned char)(v >> (8 * i));
	return crc32(c, b, sizeof(b));
}

static uLong
crc_str(uLong c, const void *s, size_t len)
{
	c = crc_u64(c, len);
	if (len > 0)
		c = crc32(c, s, (uInt)len);
	return c;
}

/*
 * Each string goes in with its length, so no two rows collide by shifting
 * bytes from one field to the next.  The fields of version 3 go in only
 * when one is set: a row without them sums as version 2 summed it, so the
 * rows of a migrated file stay sealed, and one that gains or loses them
 * behind the cache's back does not.
 */
static int64_t
row_crc(const struct row_sum *rs)
{
	uLong	 c;
	int	 i, v3 = 0;

	c = crc32(0L, Z_NULL, 0);
	for (i = 0; i < RS_V3_STR; i++)
		c = crc_str(c, rs->rs_str[i], rs->rs_len[i]);
	for (i = 0; i < RS_V3_INT; i++)
		c = crc_u64(c, (uint64_t)rs->rs_int[i]);
	for (i = RS_V3_STR; i < RS__NSTR; i++)
		v3 |= rs->rs_len[i] > 0;
	for (i = RS_V3_INT; i < RS__NINT; i++)
		v3 |= rs->rs_int[i] != 0;
	if (v3) {
		for (i = RS_V3_STR; i < RS__NSTR; i++)
			c = crc_str(c, rs->rs_str[i], rs->rs_len[i]);
		for (i = RS_V3_INT; i < RS__NINT; i++)
			c = crc_u64(c, (uint64_t)rs->rs_int[i]);
	}
	return (int64_t)(c & 0xffffffffUL);
}

/* The checksummed fields of a row of CACHE_ROW_COLS from column 0 of st. */
static void
row_sum_stmt(struct row_sum *rs, sqlite3_stmt *st, const char *ace,
    size_t acelen)
{
	static const int	 strcol[RS__NSTR] = { -1, 3, 5, 6, 7, 13 };
	static const int	 intcol[RS__NINT] = {
	    0, 1, 2, 4, 8, 9, 11, 12 };
	int			 i;

	rs->rs_str[RS_ACE] = ace;
	rs->rs_len[RS_ACE] = acelen;
	for (i = RS_REGISTRY; i < RS__NSTR; i++) {
		rs->rs_str[i] = sqlite3_column_text(st, strcol[i]);
		rs->rs_len[i] = (size_t)sqlite3_column_bytes(st, strcol[i]);
	}
	for (i = 0; i < RS__NINT; i++)
		rs->rs_int[i] = sqlite3_column_int64(st, intcol[i]);
}

/*
 * whoisd_row_crc(ace, status, checked, expires, registry, latency_ms,
 * rule, reason, matched, text_id, text_len), for the seal below: the
 * arguments in the order of CACHE_ROW_COLS, the ace first.  Rows from
 * version 1 have no registration data.
 */
static void
row_crc_sql(sqlite3_context *cx, int argc, sqlite3_value **v)
{
	static const int	 strarg[RS_V3_STR] = { 0, 4, 6, 7, 8 };
	static const int	 intarg[RS_V3_INT] = { 1, 2, 3, 5, 9, 10 };
	struct row_sum		 rs;
	int			 i;

	(void)argc;
	memset(&rs, 0, sizeof(rs));
	for (i = 0; i < RS_V3_STR; i++) {
		rs.rs_str[i] = sqlite3_value_text(v[strarg[i]]);
		rs.rs_len[i] = (size_t)sqlite3_value_bytes(v[strarg[i]]);
	}
	for (i = 0; i < RS_V3_INT; i++)
		rs.rs_int[i] = sqlite3_value_int64(v[intarg[i]]);
	sqlite3_result_int64(cx, row_crc(&rs));
}

int
cache_store_seal(struct cache_db *db)
{
	struct sqldb	*sd = &db->cd_db;
	sqlite3_stmt	*st = NULL;
	int		 rc;

	if (sqlite3_prepare_v2(sd->sd_sql, "SELECT count(*) FROM sqlite_schema"
	    " WHERE name = 'answers_unsealed'", -1, &st, NULL) != SQLITE_OK) {
		sqldb_sqlerr(sd, "seal");
		return -1;
	}
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW && sqlite3_column_int(st, 0) == 0)
		rc = SQLITE_DONE;
	else if (rc == SQLITE_ROW)
		rc = SQLITE_OK;
	else
		sqldb_sqlerr(sd, "seal");
	sqlite3_finalize(st);
	if (rc != SQLITE_OK)
		return rc == SQLITE_DONE ? 0 : -1;
	if (sqlite3_create_function_v2(sd->sd_sql, "whoisd_row_crc", 11,
	    SQLITE_UTF8 | SQLITE_DETERMINISTIC, NULL, row_crc_sql, NULL, NULL,
	    NULL) != SQLITE_OK) {
		sqldb_sqlerr(sd, "seal");
		return -1;
	}
	/* Another process may have sealed them since: crc IS NULL then
	 * finds nothing, and the drop is IF EXISTS. */
	if (sqldb_exec(sd->sd_sql, "BEGIN IMMEDIATE;"
	    "UPDATE answers SET crc = whoisd_row_crc(ace, status, checked,"
	    " expires, (SELECT s FROM atoms WHERE id = registry), latency_ms,"
	    " (SELECT s FROM atoms WHERE id = rule), reason, matched, text_id,"
	    " text_len) WHERE crc IS NULL"
	    " AND EXISTS (SELECT 1 FROM sqlite_schema"
	    " WHERE name = 'answers_unsealed');"
	    "DROP TABLE IF EXISTS answers_unsealed;"
	    "COMMIT;", "seal", sd->sd_err, sizeof(sd->sd_err)) == -1) {
		(void)sqlite3_exec(sd->sd_sql, "ROLLBACK", NULL, NULL, NULL);
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* Dictionaries */

static void
dict_drop(struct cache_dict *dc)
{
	free(dc->dc_registry);
	free(dc->dc_data);
	memset(dc, 0, sizeof(*dc));
}

void
cache_store_forget(struct cache_db *db)
{
	int	 i;

	for (i = 0; i < db->cd_ndicts; i++)
		dict_drop(&db->cd_dicts[i]);
	db->cd_ndicts = 0;
	db->cd_dict_next = 0;
}

void
cache_store_free(struct cache_db *db)
{
	int	i;

	cache_store_forget(db);
	for (i = 0; i < CACHE_ZSTREAMS; i++) {
		if (db->cd_z_ready[i])
			deflateEnd(&db->cd_z[i]);
		db->cd_z_ready[i] = 0;
	}
	if (db->cd_zi_ready)
		inflateEnd(&db->cd_zi);
	db->cd_zi_ready = 0;
	free(db->cd_zbuf);
	db->cd_zbuf = NULL;
	db->cd_zcap = 0;
}

/* An empty slot for one more dictionary: a new one, or the next in turn. */
static struct cache_dict *
dict_slot(struct cache_db *db)
{
	struct cache_dict	*dc;

	if (db->cd_ndicts < CACHE_DICTS)
		return &db->cd_dicts[db->cd_ndicts++];
	dc = &db->cd_dicts[db->cd_dict_next];
	db->cd_dict_next = (db->cd_dict_next + 1) % CACHE_DICTS;
	dict_drop(dc);
	return dc;
}

/* Fill a slot; on a failed malloc it stays empty (id 0 matches nothing). */
static int
dict_fill(struct cache_db *db, struct cache_dict *dc, int64_t id,
    const void *data, size_t len)
{
	if ((dc->dc_data = malloc(len > 0 ? len : 1)) == NULL) {
		sqldb_seterr(&db->cd_db, "dictionary: out of memory");
		return -1;
	}
	memcpy(dc->dc_data, data, len);
	dc->dc_len = len;
	dc->dc_id = id;
	return 0;
}

/* Is dc the dictionary of puts of this registry and status? */
static int
dict_is_for(const struct cache_dict *dc, const char *reg, size_t reglen,
    int status)
{
	return dc->dc_registry != NULL && dc->dc_status == status &&
	    strncmp(dc->dc_registry, reg, reglen) == 0 &&
	    dc->dc_registry[reglen] == '\0';
}

/* Dictionary id for a read: 1 *out set, 0 no such row, -1 error. */
static int
dict_by_id(struct cache_db *db, int64_t id, struct cache_dict **out)
{
	struct sqldb	*sd = &db->cd_db;
	sqlite3_stmt	*st;
	int		 i, rc;

	for (i = 0; i < db->cd_ndicts; i++)
		if (db->cd_dicts[i].dc_id == id) {
			*out = &db->cd_dicts[i];
			return 1;
		}
	st = sqldb_stmt(sd, CACHE_ST_DICT_GET);
	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*out = dict_slot(db);
		rc = dict_fill(db, *out, id, sqlite3_column_blob(st, 0),
		    (size_t)sqlite3_column_bytes(st, 0)) == -1 ? -1 : 1;
	} else if (rc == SQLITE_DONE)
		rc = 0;
	else {
		sqldb_sqlerr(sd, "dictionary");
		rc = -1;
	}
	sqlite3_reset(st);
	return rc;
}

/*
 * The dictionary puts of this registry and status use: *idx its slot, or
 * -1 when there is none yet (or it has drifted): the text will be one.
 * 0 or -1.
 */
static int
dict_for_put(struct cache_db *db, const char *reg, size_t reglen,
    int status, int *idx)
{
	struct sqldb		*sd = &db->cd_db;
	struct cache_dict	*dc;
	sqlite3_stmt		*st;
	int			 i, rc;

	*idx = -1;
	for (i = 0; i < db->cd_ndicts; i++) {
		dc = &db->cd_dicts[i];
		if (dict_is_for(dc, reg, reglen, status)) {
			if (!dc->dc_stale)
				*idx = i;
			return 0;
		}
	}
	st = sqldb_stmt(sd, CACHE_ST_DICT_FIND);
	sqlite3_bind_text(st, 1, reg, (int)reglen, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, status);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		dc = dict_slot(db);
		if (dict_fill(db, dc, sqlite3_column_int64(st, 0),
		    sqlite3_column_blob(st, 1),
		    (size_t)sqlite3_column_bytes(st, 1)) == 0 &&
		    (dc->dc_registry = strndup(reg, reglen)) != NULL) {
			dc->dc_status = status;
			*idx = (int)(dc - db->cd_dicts);
		}
	} else if (rc != SQLITE_DONE) {
		sqldb_sqlerr(sd, "dictionary");
		sqlite3_reset(st);
		return -1;
	}
	sqlite3_reset(st);
	return 0;
}

/* Inside the write: the prepared text's head becomes a dictionary. */
static int
dict_add(struct cache_db *db, const struct cache_entry *e, int64_t reg,
    int64_t *id)
{
	struct sqldb		*sd = &db->cd_db;
	struct cache_dict	*dc;
	sqlite3_stmt		*st;
	size_t			 len, reglen;
	int			 i;

	len = e->ce_text_len < CACHE_DICT_MAX ? e->ce_text_len :
	    CACHE_DICT_MAX;
	st = sqldb_stmt(sd, CACHE_ST_DICT_ADD);
	sqlite3_bind_int64(st, 1, reg);
	sqlite3_bind_int(st, 2, e->ce_status);
	sqlite3_bind_blob(st, 3, e->ce_text, (int)len, SQLITE_STATIC);
	if (sqldb_run(sd, st, "put: dictionary") == -1)
		return -1;
	*id = sqlite3_last_insert_rowid(sd->sd_sql);
	/* The one it replaces stays, for the texts deflated with it. */
	reglen = strnlen(e->ce_registry, sizeof(e->ce_registry));
	for (i = 0; i < db->cd_ndicts; i++) {
		dc = &db->cd_dicts[i];
		if (dict_is_for(dc, e->ce_registry, reglen, e->ce_status)) {
			free(dc->dc_registry);
			dc->dc_registry = NULL;
		}
	}
	/* Not kept on a failed malloc: the next put finds it in dicts. */
	dc = dict_slot(db);
	if (dict_fill(db, dc, *id, e->ce_text, len) == 0 &&
	    (dc->dc_registry = strndup(e->ce_registry, reglen)) != NULL)
		dc->dc_status = e->ce_status;
	return 0;
}

/* Sum up one put; see DICT_WINDOW. */
static void
dict_account(struct cache_dict *dc, size_t raw, size_t zip)
{
	double	 r;

	dc->dc_raw += raw;
	dc->dc_zip += zip;
	if (++dc->dc_n < DICT_WINDOW)
		return;
	r = (double)dc->dc_zip / (double)dc->dc_raw;
	if (dc->dc_base == 0)
		dc->dc_base = r;
	else if (r > DICT_DRIFT(dc->dc_base))
		dc->dc_stale = 1;
	dc->dc_raw = dc->dc_zip = 0;
	dc->dc_n = 0;
}

/* ------------------------------------------------------------------ */
/* Get */

/*
 * Inflate a stored text into buf (len bytes exactly), fetching the
 * dictionary its stream asks for.  0, 1 the data is damaged, -1 error.
 */
static int
text_inflate(struct cache_db *db, const void *z, size_t zlen, int64_t dict,
    char *buf, size_t len)
{
	z_stream		*zs = &db->cd_zi;
	struct cache_dict	*dc;
	int			 rc;

	if (!db->cd_zi_ready) {
		memset(zs, 0, sizeof(*zs));
		if (inflateInit(zs) != Z_OK) {
			sqldb_seterr(&db->cd_db, "inflate: cannot initialise");
			return -1;
		}
		db->cd_zi_ready = 1;
	} else if (inflateReset(zs) != Z_OK) {
		sqldb_seterr(&db->cd_db, "inflate: cannot reset");
		return -1;
	}
	zs->next_in = (Bytef *)(uintptr_t)z;
	zs->avail_in = (uInt)zlen;
	zs->next_out = (Bytef *)buf;
	zs->avail_out = (uInt)len;
	rc = inflate(zs, Z_FINISH);
	if (rc == Z_NEED_DICT) {
		if (dict <= 0)
			return 1;
		if ((rc = dict_by_id(db, dict, &dc)) != 1)
			return rc == 0 ? 1 : -1;
		/* zlib checks the dictionary's Adler-32 against the stream's. */
		if (inflateSetDictionary(zs, dc->dc_data, (uInt)dc->dc_len) !=
		    Z_OK)
			return 1;
		rc = inflate(zs, Z_FINISH);
	}
	if (rc != Z_STREAM_END || zs->total_out != len || zs->avail_in != 0)
		return 1;
	return 0;
}

/* Read text id, len bytes, into out.  0, 1 damaged or missing, -1 error. */
static int
get_text(struct cache_db *db, int64_t id, int64_t len,
    struct cache_entry *out)
{
	struct sqldb	*sd = &db->cd_db;
	sqlite3_stmt	*st;
	const void	*blob;
	size_t		 blen;
	int64_t		 dict;
	char		*buf;
	int		 rc;

	if (len <= 0 || len > CACHE_TEXT_MAX)
		return 1;
	st = sqldb_stmt(sd, CACHE_ST_TEXT_GET);
	sqlite3_bind_int64(st, 1, id);
	if ((rc = sqlite3_step(st)) != SQLITE_ROW) {
		if (rc != SQLITE_DONE)
			sqldb_sqlerr(sd, "get: text");
		sqlite3_reset(st);
		return rc == SQLITE_DONE ? 1 : -1;
	}
	dict = sqlite3_column_type(st, 0) == SQLITE_NULL ? -1 :
	    sqlite3_column_int64(st, 0);
	blob = sqlite3_column_blob(st, 1);
	blen = (size_t)sqlite3_column_bytes(st, 1);
	if ((buf = malloc((size_t)len + 1)) == NULL) {
		sqlite3_reset(st);
		sqldb_seterr(sd, "text of %s: out of memory", out->ce_ace);
		return -1;
	}
	/* A text from version 1 was kept raw when deflating did not help. */
	if (dict == 0 && blen == (size_t)len) {
		memcpy(buf, blob, blen);
		rc = 0;
	} else if (blob == NULL)
		rc = 1;
	else
		rc = text_inflate(db, blob, blen, dict, buf, (size_t)len);
	sqlite3_reset(st);
	if (rc != 0) {
		free(buf);
		return rc;
	}
	buf[len] = '\0';
	out->ce_text = buf;
	out->ce_text_len = (size_t)len;
	return 0;
}

/*
 * A row that fails its checksum, or whose text does not read back, was
 * changed behind the cache's back: it is never served (a false
 * "available" is the worst answer there is).  It is dropped, so the name
 * is asked again, and said once.  Returns 0, get's "absent".
 */
static int
get_damaged(struct cache_db *db, struct cache_entry *out, const char *why)
{
	char	 ace[CACHE_ACE_LEN];

	cache_entry_clear(out);
	memcpy(ace, out->ce_ace, sizeof(ace));
	memset(out, 0, sizeof(*out));
	memcpy(out->ce_ace, ace, sizeof(ace));
	if (cache_db_purge(db, ace) == -1)
		log_warnx("cache: %s: %s: not served; dropping it failed: %s",
		    ace, why, cache_db_errmsg(db));
	else
		log_warnx("cache: %s: %s: not served, dropped", ace, why);
	return 0;
}

int
cache_db_get(struct cache_db *db, const char *ace, double now, int flags,
    struct cache_entry *out)
{
	struct row_sum	 rs;
	sqlite3_stmt	*st;
	int64_t		 text_id, text_len;
	size_t		 n;
	int		 rc, ret, sealed;

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
	row_sum_stmt(&rs, st, ace, n);
	sealed = sqlite3_column_type(st, 10) != SQLITE_NULL &&
	    sqlite3_column_int64(st, 10) == row_crc(&rs);
	out->ce_status = sqlite3_column_int(st, 0);
	out->ce_checked = (double)sqlite3_column_int64(st, 1);
	out->ce_expires = (double)sqlite3_column_int64(st, 2);
	col_str(st, 3, out->ce_registry, sizeof(out->ce_registry));
	out->ce_latency_ms = sqlite3_column_int(st, 4);
	col_str(st, 5, out->ce_rule, sizeof(out->ce_rule));
	col_str(st, 6, out->ce_reason, sizeof(out->ce_reason));
	col_str(st, 7, out->ce_matched, sizeof(out->ce_matched));
	out->ce_reg_created = (double)sqlite3_column_int64(st, 11);
	out->ce_reg_expires = (double)sqlite3_column_int64(st, 12);
	col_str(st, 13, out->ce_nameservers, sizeof(out->ce_nameservers));
	text_id = sqlite3_column_int64(st, 8);
	text_len = sqlite3_column_int64(st, 9);
	sqlite3_reset(st);
	if (!sealed)
		return get_damaged(db, out, "row checksum mismatch");
	ret = out->ce_expires > now ? 1 : 2;
	if ((flags & CACHE_GET_TEXT) && text_id != 0) {
		if ((rc = get_text(db, text_id, text_len, out)) == 1)
			return get_damaged(db, out, "registry text damaged");
		if (rc == -1)
			ret = -1;
	}
	return ret;
}

/* ------------------------------------------------------------------ */
/* Put */

/*
 * Deflate len bytes of text into db->cd_zbuf (zlib format, default
 * level), with dict as preset dictionary unless NULL; *zlen gets the
 * deflated size.  0 or -1.  When the dictionary and the text fit the
 * small stream's window, every match the default stream could find is
 * within its reach, and the output inflates the same way (inflate reads
 * the window size from the zlib header).
 */
static int
text_deflate(struct cache_db *db, const void *dict, size_t dictlen,
    const char *text, size_t len, size_t *zlen)
{
	z_stream	*zs;
	size_t		 bound;
	unsigned char	*nb;
	int		 big, r;

	/* 262: deflate's MIN_LOOKAHEAD, the window's unusable tail. */
	big = dictlen + len + 262 > ((size_t)1 << CACHE_ZSMALL_BITS);
	zs = &db->cd_z[big];
	if (!db->cd_z_ready[big]) {
		memset(zs, 0, sizeof(*zs));
		if (!big)
			r = deflateInit2(zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED,
			    CACHE_ZSMALL_BITS, CACHE_ZSMALL_MEMLEVEL,
			    Z_DEFAULT_STRATEGY);
		else
			r = deflateInit(zs, Z_DEFAULT_COMPRESSION);
		if (r != Z_OK) {
			sqldb_seterr(&db->cd_db, "deflate: cannot initialise");
			return -1;
		}
		db->cd_z_ready[big] = 1;
	} else if (deflateReset(zs) != Z_OK) {
		sqldb_seterr(&db->cd_db, "deflate: cannot reset");
		return -1;
	}
	if (dict != NULL && deflateSetDictionary(zs, dict, (uInt)dictlen) !=
	    Z_OK) {
		sqldb_seterr(&db->cd_db, "deflate: bad dictionary");
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

int
cache_store_prepare(struct cache_db *db, const struct cache_entry *e,
    struct cache_text *tx)
{
	struct cache_dict	*dc = NULL;
	const void		*dict = NULL;
	size_t			 dictlen = 0, reglen;

	memset(tx, 0, sizeof(*tx));
	tx->tx_dict = -1;
	if (e->ce_text_len == 0)
		return 0;
	/* Texts of no registry have no dictionary: plain zlib. */
	reglen = strnlen(e->ce_registry, sizeof(e->ce_registry));
	if (reglen > 0) {
		if (dict_for_put(db, e->ce_registry, reglen, e->ce_status,
		    &tx->tx_dict) == -1)
			return -1;
		if (tx->tx_dict >= 0) {
			dc = &db->cd_dicts[tx->tx_dict];
			dict = dc->dc_data;
			dictlen = dc->dc_len;
		} else {
			tx->tx_new = 1;
			dict = e->ce_text;
			dictlen = e->ce_text_len < CACHE_DICT_MAX ?
			    e->ce_text_len : CACHE_DICT_MAX;
		}
	}
	if (text_deflate(db, dict, dictlen, e->ce_text, e->ce_text_len,
	    &tx->tx_zlen) == -1)
		return -1;
	if (dc != NULL)
		dict_account(dc, e->ce_text_len, tx->tx_zlen);
	return 0;
}

/* A registration date as stored: whole seconds, 0 (NULL) when none. */
static int64_t
reg_time(double t)
{
	if (!(t >= 1) || !(t < REG_TIME_MAX))
		return 0;
	return (int64_t)floor(t);
}

int
cache_store_write(struct cache_db *db, const struct cache_entry *e,
    size_t acelen, const struct cache_text *tx, int64_t checked,
    int64_t expires)
{
	struct sqldb	*sd = &db->cd_db;
	struct row_sum	 rs;
	sqlite3_stmt	*st;
	int64_t		 reg, rule, dict = 0, text_id = 0, text_len = 0;
	int64_t		 created, rexpires;
	int		 latency;

	if (cache_db_atom(db, e->ce_registry, sizeof(e->ce_registry), 1,
	    &reg) == -1 ||
	    cache_db_atom(db, e->ce_rule, sizeof(e->ce_rule), 1, &rule) == -1)
		return -1;
	if (e->ce_text_len > 0) {
		if (tx->tx_new) {
			if (dict_add(db, e, reg, &dict) == -1)
				return -1;
		} else if (tx->tx_dict >= 0)
			dict = db->cd_dicts[tx->tx_dict].dc_id;
		st = sqldb_stmt(sd, CACHE_ST_TEXT_ADD);
		if (dict > 0)
			sqlite3_bind_int64(st, 1, dict);
		sqlite3_bind_blob(st, 2, db->cd_zbuf, (int)tx->tx_zlen,
		    SQLITE_STATIC);
		if (sqldb_run(sd, st, "put: text") == -1)
			return -1;
		text_id = sqlite3_last_insert_rowid(sd->sd_sql);
		text_len = (int64_t)e->ce_text_len;
	}
	latency = e->ce_latency_ms < 0 ? 0 : e->ce_latency_ms;
	st = sqldb_stmt(sd, CACHE_ST_PUT);
	sqlite3_bind_text(st, 1, e->ce_ace, (int)acelen, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, e->ce_status);
	sqlite3_bind_int64(st, 3, checked);
	sqlite3_bind_int64(st, 4, expires);
	if (reg)
		sqlite3_bind_int64(st, 5, reg);
	sqlite3_bind_int(st, 6, latency);
	if (rule)
		sqlite3_bind_int64(st, 7, rule);
	bind_field(st, 8, e->ce_reason, sizeof(e->ce_reason));
	bind_field(st, 9, e->ce_matched, sizeof(e->ce_matched));
	if (text_id) {
		sqlite3_bind_int64(st, 10, text_id);
		sqlite3_bind_int64(st, 11, text_len);
	}
	created = reg_time(e->ce_reg_created);
	rexpires = reg_time(e->ce_reg_expires);
	if (created)
		sqlite3_bind_int64(st, 13, created);
	if (rexpires)
		sqlite3_bind_int64(st, 14, rexpires);
	bind_field(st, 15, e->ce_nameservers, sizeof(e->ce_nameservers));
	rs.rs_str[RS_ACE] = e->ce_ace;
	rs.rs_len[RS_ACE] = acelen;
	rs.rs_str[RS_REGISTRY] = e->ce_registry;
	rs.rs_len[RS_REGISTRY] = strnlen(e->ce_registry,
	    sizeof(e->ce_registry));
	rs.rs_str[RS_RULE] = e->ce_rule;
	rs.rs_len[RS_RULE] = strnlen(e->ce_rule, sizeof(e->ce_rule));
	rs.rs_str[RS_REASON] = e->ce_reason;
	rs.rs_len[RS_REASON] = strnlen(e->ce_reason, sizeof(e->ce_reason));
	rs.rs_str[RS_MATCHED] = e->ce_matched;
	rs.rs_len[RS_MATCHED] = strnlen(e->ce_matched,
	    sizeof(e->ce_matched));
	rs.rs_str[RS_NAMESERVERS] = e->ce_nameservers;
	rs.rs_len[RS_NAMESERVERS] = strnlen(e->ce_nameservers,
	    sizeof(e->ce_nameservers));
	rs.rs_int[RS_STATUS] = e->ce_status;
	rs.rs_int[RS_CHECKED] = checked;
	rs.rs_int[RS_EXPIRES] = expires;
	rs.rs_int[RS_LATENCY] = latency;
	rs.rs_int[RS_TEXT_ID] = text_id;
	rs.rs_int[RS_TEXT_LEN] = text_len;
	rs.rs_int[RS_REG_CREATED] = created;
	rs.rs_int[RS_REG_EXPIRES] = rexpires;
	sqlite3_bind_int64(st, 12, row_crc(&rs));
	return sqldb_run(sd, st, "put");
}

int
cache_db_put(struct cache_db *db, const struct cache_entry *e, double ttl)
{
	struct sqldb		*sd = &db->cd_db;
	struct cache_text	 tx;
	sqlite3_stmt		*st;
	size_t			 acelen;
	int64_t			 checked, expires;

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
	if (cache_store_prepare(db, e, &tx) == -1)
		return -1;
	if (cache_db_write_begin(db) == -1)
		return -1;
	if (cache_store_write(db, e, acelen, &tx, checked, expires) == -1)
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
