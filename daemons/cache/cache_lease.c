/*
 * cache_lease.c: whoisd-cache's leases (table leases), the coalescing of
 * misses: of the askers of one name, one is granted the right to ask the
 * registry, the others wait for its put (serve.c, wait.c).
 */
#include <stdint.h>
#include <string.h>

#include <sqlite3.h>

#include "common/sqldb.h"
#include "daemons/cache/cache_db.h"
#include "daemons/cache/cache_db_int.h"

/* Read the lease of ace: 1 with holder/expiry, 0 none, -1 error. */
static int
lease_read(struct cache_db *db, const char *ace, int64_t *holder,
    double *expires)
{
	sqlite3_stmt	*st;
	int		 rc;

	st = sqldb_stmt(&db->cd_db, CACHE_ST_LEASE_GET);
	sqlite3_bind_text(st, 1, ace, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*holder = sqlite3_column_int64(st, 0);
		*expires = sqlite3_column_double(st, 1);
	}
	sqlite3_reset(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		sqldb_sqlerr(&db->cd_db, "lease");
		return -1;
	}
	return rc == SQLITE_ROW;
}

int
cache_db_lease(struct cache_db *db, const char *ace, int64_t holder,
    double now, double ttl, double *until)
{
	struct sqldb	*sd = &db->cd_db;
	sqlite3_stmt	*st;
	int64_t		 h, fresh;
	double		 exp;
	int		 rc;

	if (ace[0] == '\0' || strlen(ace) >= CACHE_ACE_LEN || holder == 0 ||
	    !(ttl > 0)) {
		sqldb_seterr(sd, "lease: bad name, holder or ttl");
		return -1;
	}
	/*
	 * Waiters poll: a live lease of someone else is answered from a
	 * read, without queueing for the write lock.
	 */
	if ((rc = lease_read(db, ace, &h, &exp)) == -1)
		return -1;
	if (rc == 1 && exp > now && h != holder) {
		if (until != NULL)
			*until = exp;
		return 0;
	}

	if (cache_db_write_begin(db) == -1)
		return -1;
	/* A put may have landed since the caller's miss. */
	st = sqldb_stmt(sd, CACHE_ST_FRESH);
	sqlite3_bind_text(st, 1, ace, -1, SQLITE_STATIC);
	if (sqldb_int64(sd, st, &fresh, "lease") == -1)
		goto fail;
	if (fresh > now) {
		if (cache_db_write_end(db) == -1)
			return -1;
		return 2;
	}
	if ((rc = lease_read(db, ace, &h, &exp)) == -1)
		goto fail;
	if (rc == 1 && exp > now && h != holder) {
		if (cache_db_write_end(db) == -1)
			return -1;
		if (until != NULL)
			*until = exp;
		return 0;
	}
	st = sqldb_stmt(sd, CACHE_ST_LEASE_SET);
	sqlite3_bind_text(st, 1, ace, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, holder);
	sqlite3_bind_double(st, 3, now + ttl);
	if (sqldb_run(sd, st, "lease") == -1)
		goto fail;
	if (cache_db_write_end(db) == -1)
		return -1;
	if (until != NULL)
		*until = now + ttl;
	return 1;
 fail:
	cache_db_write_abort(db);
	return -1;
}

int
cache_db_lease_release(struct cache_db *db, const char *ace, int64_t holder)
{
	struct sqldb	*sd = &db->cd_db;
	sqlite3_stmt	*st;
	int64_t		 n;

	if (cache_db_write_begin(db) == -1)
		return -1;
	if (holder != 0) {
		st = sqldb_stmt(sd, CACHE_ST_LEASE_DEL_HOLDER);
		sqlite3_bind_int64(st, 2, holder);
	} else
		st = sqldb_stmt(sd, CACHE_ST_LEASE_DEL);
	sqlite3_bind_text(st, 1, ace, -1, SQLITE_STATIC);
	if (sqldb_run(sd, st, "lease release") == -1) {
		cache_db_write_abort(db);
		return -1;
	}
	n = sqlite3_changes64(sd->sd_sql);
	if (cache_db_write_end(db) == -1)
		return -1;
	return n > 0;
}
