/*
 * cache_fill.c: the benchmark fill of a whoisd-cache database (see
 * cache_fill.h).  It writes through the storage layer's internals
 * (daemons/cache/cache_db_int.h), so the rows are those of the daemon's
 * own schema and statements; cache_fill_v1() writes the same rows in the
 * layout of schema version 1, to compare.
 */
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>
#include <zlib.h>

#include "common/sqldb.h"
#include "common/util.h"
#include "daemons/cache/cache_db.h"
#include "daemons/cache/cache_db_int.h"
#include "tests/bench/cache_fill.h"

#define FILL_REGISTRY	"whois.bulk.test"
#define FILL_RULE	"bulk"

/* Schema version 1, as schema/cache.sql had it (less its comments). */
static const char fill_v1_schema[] =
	"CREATE TABLE atoms (id INTEGER PRIMARY KEY, s TEXT NOT NULL UNIQUE);"
	"CREATE TABLE answers (ace TEXT PRIMARY KEY,"
	" status INTEGER NOT NULL CHECK (status BETWEEN 1 AND 3),"
	" checked INTEGER NOT NULL, expires INTEGER NOT NULL,"
	" registry INTEGER, latency_ms INTEGER, rule INTEGER, reason TEXT,"
	" matched TEXT, text BLOB, text_len INTEGER) WITHOUT ROWID;"
	"CREATE INDEX answers_expires ON answers (expires);"
	"CREATE TABLE leases (ace TEXT PRIMARY KEY, holder INTEGER NOT NULL,"
	" expires REAL NOT NULL) WITHOUT ROWID;"
	"CREATE TABLE timing (registry INTEGER PRIMARY KEY,"
	" next_slot INTEGER NOT NULL, ok INTEGER NOT NULL,"
	" fail INTEGER NOT NULL, ratelimited INTEGER NOT NULL,"
	" last_ratelimit REAL);"
	"CREATE TABLE timing_samples (registry INTEGER NOT NULL,"
	" slot INTEGER NOT NULL, t REAL NOT NULL, ms INTEGER NOT NULL,"
	" outcome INTEGER NOT NULL, PRIMARY KEY (registry, slot))"
	" WITHOUT ROWID;"
	"CREATE VIEW answers_v AS SELECT a.ace, a.status, a.text_len"
	" FROM answers a;"
	"PRAGMA user_version = 1;";

/*
 * Where the rows go: a batch is one transaction, row() writes one
 * answer (with its text, e->ce_text if any), abort() rolls back.
 */
struct fill_sink {
	int	(*fs_begin)(struct fill_sink *);
	int	(*fs_row)(struct fill_sink *, const struct cache_entry *,
		    int64_t checked, int64_t expires);
	int	(*fs_end)(struct fill_sink *);
	void	(*fs_abort)(struct fill_sink *);
	sqlite3			*fs_sql;	/* for the page cache */
	char			*fs_err;
	size_t			 fs_errlen;
	struct cache_db		*fs_db;		/* current layout */
	sqlite3_stmt		*fs_put;	/* version 1 */
	const struct cache_fill_opts *fs_opts;
	unsigned char		*fs_z;
	size_t			 fs_zcap;
};

static uint64_t
gcd64(uint64_t a, uint64_t b)
{
	uint64_t	 t;

	while (b != 0) {
		t = a % b;
		a = b;
		b = t;
	}
	return a;
}

/* One synthetic name of a bulk fill, formatted up front for sorting. */
struct bulk_row {
	uint64_t	 br_j;
	char		 br_name[CACHE_ACE_LEN];
};

static int
bulk_cmp(const void *a, const void *b)
{
	return strcmp(((const struct bulk_row *)a)->br_name,
	    ((const struct bulk_row *)b)->br_name);
}

/*
 * Copy len bytes of a reply template, every digit drawn anew from *x:
 * dates, ids and phone numbers then differ from name to name as they do
 * between real replies, and a dictionary cannot just match them.
 */
static void
copy_vary(char *dst, const char *src, size_t len, uint32_t *x)
{
	size_t	 i;

	for (i = 0; i < len; i++) {
		if (src[i] >= '0' && src[i] <= '9') {
			*x = *x * 1103515245 + 12345;
			dst[i] = (char)('0' + (*x >> 16) % 10);
		} else
			dst[i] = src[i];
	}
}

/*
 * A text with {{domain}} and {{DOMAIN}} replaced by name and its digits
 * varied (copy_vary) with a seed from the name, into *buf (grown as
 * needed); its length, or -1 out of memory.
 */
static ssize_t
text_expand(const struct cache_fill_text *ft, const char *name, char **buf,
    size_t *cap)
{
	const char	*p = ft->ft_text, *end = p + ft->ft_len, *q;
	size_t		 nl = strlen(name), o = 0, need, i;
	uint32_t	 x = str_hash(name);
	char		*nb;
	int		 upper;

	need = ft->ft_len + 16 * nl + 1;
	if (need > *cap) {
		if ((nb = realloc(*buf, need)) == NULL)
			return -1;
		*buf = nb;
		*cap = need;
	}
	while (p < end) {
		q = memmem(p, (size_t)(end - p), "{{", 2);
		if (q == NULL || end - q < 10 || (memcmp(q, "{{domain}}", 10)
		    != 0 && memcmp(q, "{{DOMAIN}}", 10) != 0)) {
			q = q == NULL ? end : q + 2;
			copy_vary(*buf + o, p, (size_t)(q - p), &x);
			o += (size_t)(q - p);
			p = q;
			continue;
		}
		copy_vary(*buf + o, p, (size_t)(q - p), &x);
		o += (size_t)(q - p);
		if (o + nl + (size_t)(end - q) + 1 > *cap) {
			if ((nb = realloc(*buf, *cap * 2 + nl)) == NULL)
				return -1;
			*buf = nb;
			*cap = *cap * 2 + nl;
		}
		upper = q[2] == 'D';
		for (i = 0; i < nl; i++)
			(*buf)[o + i] = upper ?
			    (char)toupper((unsigned char)name[i]) : name[i];
		o += nl;
		p = q + 10;
	}
	(*buf)[o] = '\0';
	return (ssize_t)o;
}

static int64_t
fill(struct fill_sink *fs, uint64_t n)
{
	const struct cache_fill_opts	*fo = fs->fs_opts;
	const struct cache_fill_text	*ft;
	struct cache_entry		 e;
	struct bulk_row			*rows = NULL;
	uint64_t			 i, j, k, m, stride, done = 0;
	uint64_t			 next = 100000;
	int64_t				 checked;
	char				 restore[64], *text = NULL;
	size_t				 cap = 0;
	ssize_t				 len;
	int				 cache_size;

	if (n == 0 || fo->fo_status < CACHE_AVAILABLE ||
	    fo->fo_status > CACHE_RESERVED || !(fo->fo_ttl > 0) ||
	    !(fo->fo_now > 0) || strlen(fo->fo_prefix) +
	    strlen(fo->fo_suffix) + 21 >= CACHE_ACE_LEN) {
		snprintf(fs->fs_err, fs->fs_errlen, "bulk fill: bad arguments");
		return -1;
	}
	/*
	 * Scramble the order with a stride coprime with n, so i -> j is a
	 * permutation: each batch's names land all over the B-tree as in
	 * real use, and the bytes per name measured afterwards are honest
	 * (pages split as they do under random inserts, not packed full as
	 * an append would leave them).  Within a batch the names are
	 * inserted sorted, which keeps the B-tree descents in the CPU cache:
	 * several times faster than inserting them in scrambled order.
	 */
	stride = (uint64_t)((double)n * 0.6180339887) | 1;
	while (gcd64(stride, n) != 1)
		stride++;
	stride %= n;
	if (stride == 0)
		stride = 1;
	/*
	 * At least 16 batches: a single sorted run into an empty WITHOUT
	 * ROWID table (an index B-tree, which splits pages in half, with no
	 * append fast path) would leave every page half full.
	 */
	m = n / 16 > 0 ? n / 16 : 1;
	if (m > CACHE_FILL_BATCH)
		m = CACHE_FILL_BATCH;
	if ((rows = malloc(m * sizeof(*rows))) == NULL) {
		snprintf(fs->fs_err, fs->fs_errlen, "bulk fill: out of memory");
		return -1;
	}
	if (sqldb_pragma_int(fs->fs_sql, "PRAGMA cache_size", &cache_size,
	    fs->fs_err, fs->fs_errlen) == -1) {
		free(rows);
		return -1;
	}
	snprintf(restore, sizeof(restore), "PRAGMA cache_size = %d",
	    cache_size);
	/* Room for the whole working set while filling. */
	if (sqldb_exec(fs->fs_sql, "PRAGMA cache_size = -1048576", "bulk",
	    fs->fs_err, fs->fs_errlen) == -1) {
		free(rows);
		return -1;
	}

	memset(&e, 0, sizeof(e));
	e.ce_status = fo->fo_status;
	snprintf(e.ce_rule, sizeof(e.ce_rule), FILL_RULE);
	if (fs->fs_begin(fs) == -1)
		goto restore;
	for (i = 0, j = 0; i < n; i += m) {
		if (m > n - i)
			m = n - i;
		for (k = 0; k < m; k++, j = (j + stride) % n) {
			rows[k].br_j = j;
			snprintf(rows[k].br_name, sizeof(rows[k].br_name),
			    "%s%" PRIu64 "%s", fo->fo_prefix, j,
			    fo->fo_suffix);
		}
		qsort(rows, m, sizeof(*rows), bulk_cmp);
		for (k = 0; k < m; k++) {
			memcpy(e.ce_ace, rows[k].br_name, sizeof(e.ce_ace));
			/*
			 * checked follows the sorted position, so the
			 * expires index is walked in order too; it still
			 * spreads over the hour before now.
			 */
			checked = (int64_t)fo->fo_now - (int64_t)(k * 3600 / m);
			e.ce_latency_ms = 20 + (int)(rows[k].br_j % 480);
			snprintf(e.ce_registry, sizeof(e.ce_registry), "%s",
			    FILL_REGISTRY);
			if (fo->fo_ntexts > 0) {
				ft = &fo->fo_texts[rows[k].br_j %
				    fo->fo_ntexts];
				if ((len = text_expand(ft, e.ce_ace, &text,
				    &cap)) == -1) {
					snprintf(fs->fs_err, fs->fs_errlen,
					    "bulk fill: out of memory");
					goto fail;
				}
				e.ce_text = text;
				e.ce_text_len = (size_t)len;
				snprintf(e.ce_registry, sizeof(e.ce_registry),
				    "%s", ft->ft_registry);
			}
			if (fs->fs_row(fs, &e, checked,
			    checked + (int64_t)fo->fo_ttl) == -1)
				goto fail;
			if (fo->fo_progress != NULL && ++done == next &&
			    done < n) {
				fo->fo_progress(done, n, fo->fo_arg);
				next += 100000;
			}
		}
		if (i + m < n && (fs->fs_end(fs) == -1 ||
		    fs->fs_begin(fs) == -1))
			goto restore;
	}
	if (fs->fs_end(fs) == -1)
		goto restore;
	free(rows);
	free(text);
	/* Give the page cache back: the 1 GiB was for the fill only. */
	if (sqldb_exec(fs->fs_sql, restore, "bulk", fs->fs_err,
	    fs->fs_errlen) == -1)
		return -1;
	if (fo->fo_progress != NULL)
		fo->fo_progress(n, n, fo->fo_arg);
	return (int64_t)n;
 fail:
	fs->fs_abort(fs);
 restore:
	free(rows);
	free(text);
	/* Keep the error of the failure, not of the restore. */
	(void)sqlite3_exec(fs->fs_sql, restore, NULL, NULL, NULL);
	return -1;
}

/* ------------------------------------------------------------------ */
/* The current layout, through the storage layer */

static int
cur_begin(struct fill_sink *fs)
{
	return cache_db_write_begin(fs->fs_db);
}

static int
cur_row(struct fill_sink *fs, const struct cache_entry *e, int64_t checked,
    int64_t expires)
{
	struct cache_text	 tx;

	if (cache_store_prepare(fs->fs_db, e, &tx) == -1)
		return -1;
	return cache_store_write(fs->fs_db, e, strlen(e->ce_ace), &tx, checked,
	    expires);
}

static int
cur_end(struct fill_sink *fs)
{
	return cache_db_write_end(fs->fs_db);
}

static void
cur_abort(struct fill_sink *fs)
{
	cache_db_write_abort(fs->fs_db);
}

int64_t
cache_fill(struct cache_db *db, uint64_t n, const struct cache_fill_opts *fo)
{
	struct fill_sink	 fs;

	memset(&fs, 0, sizeof(fs));
	fs.fs_begin = cur_begin;
	fs.fs_row = cur_row;
	fs.fs_end = cur_end;
	fs.fs_abort = cur_abort;
	fs.fs_sql = db->cd_db.sd_sql;
	fs.fs_err = db->cd_db.sd_err;
	fs.fs_errlen = sizeof(db->cd_db.sd_err);
	fs.fs_db = db;
	fs.fs_opts = fo;
	return fill(&fs, n);
}

/* ------------------------------------------------------------------ */
/* Version 1: the text deflated inline, raw when that is not smaller */

static int
v1_exec(struct fill_sink *fs, const char *sql)
{
	return sqldb_exec(fs->fs_sql, sql, "bulk v1", fs->fs_err,
	    fs->fs_errlen);
}

static int
v1_begin(struct fill_sink *fs)
{
	return v1_exec(fs, "BEGIN IMMEDIATE");
}

static int
v1_end(struct fill_sink *fs)
{
	return v1_exec(fs, "COMMIT");
}

static void
v1_abort(struct fill_sink *fs)
{
	(void)sqlite3_exec(fs->fs_sql, "ROLLBACK", NULL, NULL, NULL);
}

/* The atom ids: FILL_RULE 1, FILL_REGISTRY 2, the texts' registries
 * from 3 in order (see v1_atoms). */
static int64_t
v1_registry(const struct fill_sink *fs, const char *reg)
{
	size_t	 i;

	for (i = 0; i < fs->fs_opts->fo_ntexts; i++)
		if (strcmp(fs->fs_opts->fo_texts[i].ft_registry, reg) == 0)
			return 3 + (int64_t)i;
	return 2;
}

static int
v1_row(struct fill_sink *fs, const struct cache_entry *e, int64_t checked,
    int64_t expires)
{
	sqlite3_stmt	*st = fs->fs_put;
	uLongf		 zlen;
	unsigned char	*nb;
	size_t		 bound;

	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	sqlite3_bind_text(st, 1, e->ce_ace, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, e->ce_status);
	sqlite3_bind_int64(st, 3, checked);
	sqlite3_bind_int64(st, 4, expires);
	sqlite3_bind_int64(st, 5, v1_registry(fs, e->ce_registry));
	sqlite3_bind_int(st, 6, e->ce_latency_ms);
	sqlite3_bind_int64(st, 7, 1);
	if (e->ce_text_len > 0) {
		bound = compressBound((uLong)e->ce_text_len);
		if (bound > fs->fs_zcap) {
			if ((nb = realloc(fs->fs_z, bound)) == NULL) {
				snprintf(fs->fs_err, fs->fs_errlen,
				    "bulk v1: out of memory");
				return -1;
			}
			fs->fs_z = nb;
			fs->fs_zcap = bound;
		}
		zlen = (uLongf)bound;
		if (compress2(fs->fs_z, &zlen, (const Bytef *)e->ce_text,
		    (uLong)e->ce_text_len, Z_DEFAULT_COMPRESSION) != Z_OK) {
			snprintf(fs->fs_err, fs->fs_errlen,
			    "bulk v1: deflate failed");
			return -1;
		}
		if (zlen < e->ce_text_len)
			sqlite3_bind_blob(st, 10, fs->fs_z, (int)zlen,
			    SQLITE_STATIC);
		else
			sqlite3_bind_blob(st, 10, e->ce_text,
			    (int)e->ce_text_len, SQLITE_STATIC);
		sqlite3_bind_int64(st, 11, (int64_t)e->ce_text_len);
	}
	if (sqlite3_step(st) != SQLITE_DONE) {
		snprintf(fs->fs_err, fs->fs_errlen, "bulk v1: %s",
		    sqlite3_errmsg(fs->fs_sql));
		return -1;
	}
	return 0;
}

static int
v1_atoms(struct fill_sink *fs)
{
	sqlite3_stmt	*st;
	size_t		 i;
	int		 rc = 0;

	if (sqlite3_prepare_v2(fs->fs_sql, "INSERT INTO atoms (id, s)"
	    " VALUES (?1, ?2)", -1, &st, NULL) != SQLITE_OK)
		return -1;
	for (i = 0; i < fs->fs_opts->fo_ntexts + 2 && rc == 0; i++) {
		sqlite3_reset(st);
		sqlite3_bind_int64(st, 1, (int64_t)i + 1);
		sqlite3_bind_text(st, 2, i == 0 ? FILL_RULE : i == 1 ?
		    FILL_REGISTRY : fs->fs_opts->fo_texts[i - 2].ft_registry,
		    -1, SQLITE_STATIC);
		/* Texts of one registry share its atom. */
		if (i >= 2 && v1_registry(fs,
		    fs->fs_opts->fo_texts[i - 2].ft_registry) != (int64_t)i + 1)
			continue;
		if (sqlite3_step(st) != SQLITE_DONE)
			rc = -1;
	}
	sqlite3_finalize(st);
	return rc;
}

int64_t
cache_fill_v1(const char *path, uint64_t n, const struct cache_fill_opts *fo,
    char *err, size_t errlen)
{
	struct fill_sink	 fs;
	int64_t			 r = -1;

	memset(&fs, 0, sizeof(fs));
	fs.fs_begin = v1_begin;
	fs.fs_row = v1_row;
	fs.fs_end = v1_end;
	fs.fs_abort = v1_abort;
	fs.fs_err = err;
	fs.fs_errlen = errlen;
	fs.fs_opts = fo;
	if (sqlite3_open(path, &fs.fs_sql) != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", path, fs.fs_sql == NULL ?
		    "out of memory" : sqlite3_errmsg(fs.fs_sql));
		goto done;
	}
	if (v1_exec(&fs, "PRAGMA journal_mode = WAL") == -1 ||
	    v1_exec(&fs, "PRAGMA synchronous = NORMAL") == -1 ||
	    v1_exec(&fs, fill_v1_schema) == -1)
		goto done;
	if (v1_atoms(&fs) == -1 || sqlite3_prepare_v2(fs.fs_sql,
	    "INSERT OR REPLACE INTO answers (ace, status, checked, expires,"
	    " registry, latency_ms, rule, reason, matched, text, text_len)"
	    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)", -1,
	    &fs.fs_put, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "bulk v1: %s", sqlite3_errmsg(fs.fs_sql));
		goto done;
	}
	r = fill(&fs, n);
 done:
	sqlite3_finalize(fs.fs_put);
	sqlite3_close(fs.fs_sql);
	free(fs.fs_z);
	return r;
}

/* ------------------------------------------------------------------ */
/* Texts */

void
cache_fill_texts_free(struct cache_fill_text *t, size_t n)
{
	size_t	 i;

	if (t == NULL)
		return;
	for (i = 0; i < n; i++) {
		free(t[i].ft_registry);
		free(t[i].ft_text);
	}
	free(t);
}

int
cache_fill_texts_load(char *const *paths, size_t n,
    struct cache_fill_text **texts, char *err, size_t errlen)
{
	struct cache_fill_text	*t;
	const char		*p, *dir;
	FILE			*fp;
	long			 len;
	size_t			 i;
	int			 dl;

	if ((t = calloc(n > 0 ? n : 1, sizeof(*t))) == NULL) {
		snprintf(err, errlen, "texts: out of memory");
		return -1;
	}
	for (i = 0; i < n; i++) {
		p = paths[i];
		/* The directory the file is in names the registry. */
		if ((dir = strrchr(p, '/')) == NULL) {
			dl = 5;
			dir = "local";
		} else {
			for (dl = 0; dir > p && dir[-1] != '/'; dir--)
				dl++;
		}
		if ((fp = fopen(p, "r")) == NULL ||
		    fseek(fp, 0, SEEK_END) == -1 || (len = ftell(fp)) <= 0 ||
		    fseek(fp, 0, SEEK_SET) == -1 ||
		    (t[i].ft_text = malloc((size_t)len + 1)) == NULL ||
		    fread(t[i].ft_text, 1, (size_t)len, fp) != (size_t)len ||
		    asprintf(&t[i].ft_registry, "whois.%.*s", dl, dir) == -1) {
			snprintf(err, errlen, "texts: %s: cannot read", p);
			if (fp != NULL)
				fclose(fp);
			t[i].ft_registry = NULL;
			cache_fill_texts_free(t, i + 1);
			return -1;
		}
		fclose(fp);
		t[i].ft_text[len] = '\0';
		t[i].ft_len = (size_t)len;
	}
	*texts = t;
	return 0;
}
