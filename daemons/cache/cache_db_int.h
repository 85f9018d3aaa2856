/*
 * cache_db_int.h: what the files of whoisd-cache's storage layer share,
 * behind the API of cache_db.h: the connection (cache_db.c), the answer
 * store (cache_store.c), the leases (cache_lease.c) and the timing DB
 * (cache_timing.c).  Nothing else includes it but the benchmark fill in
 * tests/bench/, which writes rows the way cache_store.c does.
 */
#ifndef WHOISD_CACHE_DB_INT_H
#define WHOISD_CACHE_DB_INT_H

#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>
#include <zlib.h>

#include "common/sqldb.h"
#include "daemons/cache/cache_db.h"

/* Every statement of a connection, prepared once at open (cache_db.c). */
enum cache_st {
	/* atoms: cache_db.c */
	CACHE_ST_ATOM_GET,
	CACHE_ST_ATOM_ADD,
	/* answers, texts, dicts: cache_store.c */
	CACHE_ST_GET,
	CACHE_ST_PUT,
	CACHE_ST_TEXT_GET,
	CACHE_ST_TEXT_ADD,
	CACHE_ST_DICT_GET,
	CACHE_ST_DICT_FIND,
	CACHE_ST_DICT_ADD,
	CACHE_ST_PURGE_ONE,
	CACHE_ST_PURGE_ALL,
	CACHE_ST_EXPIRE,
	/* leases: cache_lease.c (and put, expire) */
	CACHE_ST_FRESH,
	CACHE_ST_LEASE_GET,
	CACHE_ST_LEASE_SET,
	CACHE_ST_LEASE_DEL,
	CACHE_ST_LEASE_DEL_HOLDER,
	CACHE_ST_LEASE_EXPIRE,
	/* timing DB: cache_timing.c */
	CACHE_ST_TIMING_UP,
	CACHE_ST_TIMING_SAMPLE,
	CACHE_ST_TIMING_CTR,
	CACHE_ST_TIMING_SAMPLES,
	CACHE_ST_TIMING_NAMES,
	/* stats and change detection: cache_db.c */
	CACHE_ST_COUNT_ALL,
	CACHE_ST_COUNT_FRESH,
	CACHE_ST_COUNT_LEASES,
	CACHE_ST_PAGE_COUNT,
	CACHE_ST_PAGE_SIZE,
	CACHE_ST_FREELIST,
	CACHE_ST_DATA_VERSION,
	CACHE_ST__N
};

/*
 * The columns of an answer row in the order cache_store.c reads (and
 * checksums) them: CACHE_ST_GET selects them.  The registration data
 * (version 3) comes after the crc, in the order of the table.
 */
#define CACHE_ROW_COLS							\
	"a.status, a.checked, a.expires, r.s, a.latency_ms, u.s,"	\
	" a.reason, a.matched, a.text_id, a.text_len, a.crc,"		\
	" a.reg_created, a.reg_expires, a.nameservers"
#define CACHE_ROW_FROM							\
	" FROM answers a"						\
	" LEFT JOIN atoms r ON r.id = a.registry"			\
	" LEFT JOIN atoms u ON u.id = a.rule"

/*
 * Preset dictionaries this connection knows (table dicts).  An entry with
 * dc_registry set is the one its puts of that registry and status use;
 * the others were loaded to read a text.  dc_raw, dc_zip and dc_n sum up
 * the current window of puts, dc_base is the ratio of the first one.
 */
#define CACHE_DICTS		64
#define CACHE_DICT_MAX		16384	/* bytes of a reply kept as dictionary */

/*
 * Deflate streams: one with an 8 KB window and a small hash for the
 * common short reply and its dictionary (a reset clears 8 KB of hash
 * instead of 64), one with zlib's defaults for the rest.
 */
#define CACHE_ZSTREAMS		2
#define CACHE_ZSMALL_BITS	13
#define CACHE_ZSMALL_MEMLEVEL	4
struct cache_dict {
	int64_t		 dc_id;
	char		*dc_registry;
	int		 dc_status;
	unsigned char	*dc_data;
	size_t		 dc_len;
	uint64_t	 dc_raw, dc_zip;
	unsigned	 dc_n;
	double		 dc_base;
	int		 dc_stale;	/* the next put makes a new one */
};

/* Interned strings seen by this connection; ids never change. */
#define CACHE_ATOMS	256
struct cache_atom {
	int64_t	 at_id;
	char	*at_s;
};

/* A timing sample waiting for its batch's commit (cache_timing.c). */
struct cache_tpend {
	int64_t		 tp_reg;
	double		 tp_now;
	int		 tp_ms;
	int		 tp_outcome;
};

struct cache_db {
	struct sqldb		 cd_db;		/* connection, statements, error */
	char			*cd_path;
	struct cache_atom	 cd_atoms[CACHE_ATOMS];
	int			 cd_natoms;
	/*
	 * One deflate stream for every put, reset between texts: a
	 * compress2() per put would allocate and clear ~270 KB of zlib
	 * state, and freeing it would trim the heap every time.
	 */
	z_stream		 cd_z[CACHE_ZSTREAMS];	/* [0] small, [1] default */
	int			 cd_z_ready[CACHE_ZSTREAMS];
	unsigned char		*cd_zbuf;
	size_t			 cd_zcap;
	z_stream		 cd_zi;		/* the same for reads */
	int			 cd_zi_ready;
	struct cache_dict	 cd_dicts[CACHE_DICTS];
	int			 cd_ndicts;
	int			 cd_dict_next;	/* the slot to reuse when full */
	/* Group commit (cache_db_set_batching). */
	void			(*cd_batch_cb)(void *);
	void			*cd_batch_arg;
	int			 cd_batch;	/* a batch transaction is open */
	int			 cd_batch_lost;	/* ... and SQLite rolled it back */
	/* Timing samples of the open batch, written at its commit. */
	struct cache_tpend	*cd_tpend;
	size_t			 cd_ntpend, cd_tpcap;
};

/* cache_db.c */
/*
 * One write: its own transaction, or with batching a savepoint of the
 * batch's.  End it with cache_db_write_end (commit; rolled back if that
 * fails) or cache_db_write_abort.  0 or -1.
 */
int	 cache_db_write_begin(struct cache_db *);
int	 cache_db_write_end(struct cache_db *);
void	 cache_db_write_abort(struct cache_db *);
/* One read snapshot (inside an open batch, the batch is one). */
int	 cache_db_read_begin(struct cache_db *, const char *what);
int	 cache_db_read_end(struct cache_db *, const char *what);
void	 cache_db_read_abort(struct cache_db *);
/*
 * The id of an interned string: 1 found (or created when create is set,
 * which must be inside a write), 0 absent, -1 error.  An empty string is
 * id 0, stored as NULL.
 */
int	 cache_db_atom(struct cache_db *, const char *s, size_t size,
	    int create, int64_t *id);

/* cache_timing.c */
/*
 * Write the open batch's timing samples into it (before its commit, or
 * before the timing DB is read); 0 or -1.  cache_timing_drop() forgets
 * them (the batch is gone, or the database closes).
 */
int	 cache_timing_flush(struct cache_db *);
void	 cache_timing_drop(struct cache_db *);

/* cache_store.c */
/*
 * A registry text made ready for the store by cache_store_prepare():
 * deflated into cd_zbuf (tx_zlen bytes) with the dictionary cd_dicts
 * [tx_dict] (-1: none), or, with tx_new, with its own head as dictionary,
 * which cache_store_write() adds to dicts first.
 */
struct cache_text {
	int	 tx_dict;
	int	 tx_new;
	size_t	 tx_zlen;
};
/* Deflate e's text, if any, outside the write lock; 0 or -1. */
int	 cache_store_prepare(struct cache_db *, const struct cache_entry *,
	    struct cache_text *);
/*
 * Inside a write: store e (its text as prepared) with these times, its
 * row checksummed; the name's lease is left alone.  0 or -1.
 */
int	 cache_store_write(struct cache_db *, const struct cache_entry *,
	    size_t acelen, const struct cache_text *, int64_t checked,
	    int64_t expires);
/* Checksum the rows a migration from version 1 left without; 0 or -1. */
int	 cache_store_seal(struct cache_db *);
/* Forget the dictionaries (a rollback may have removed some). */
void	 cache_store_forget(struct cache_db *);
/* Free the zlib streams and the dictionaries (cache_db_close). */
void	 cache_store_free(struct cache_db *);

#endif
