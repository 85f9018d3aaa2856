-- schema/errdb.sql: the SQLite database of whoisd-errdb (db_path).
--
-- This file is the only copy of the schema, version 1: the Makefile
-- turns it into $(B)/gen/schema/errdb_sql.h, which daemons/errdb/errdb_db.c
-- embeds byte for byte.  A fresh database gets this text whole; an older
-- one gets the migrations in errdb_db.c, which must end at the same tables.
-- A change here is a new version: bump user_version and ERRDB_DB_VERSION,
-- and add the migration.
--
-- Every error event from every host, stored once per event id (eid) so
-- a replayed event (the front's spool, a retried send) is not doubled.
-- Health and back-off are derived from these rows when asked, never
-- stored.  time is the event's own time (seconds since the epoch, from
-- the reporting host's clock); received is the errdb's clock at insert.

CREATE TABLE events (
	id		INTEGER PRIMARY KEY,
	eid		TEXT NOT NULL UNIQUE,
	time		REAL NOT NULL,
	received	REAL NOT NULL,
	host		TEXT NOT NULL DEFAULT '',
	daemon		TEXT NOT NULL DEFAULT '',
	registry	TEXT NOT NULL DEFAULT '',
	domain		TEXT NOT NULL DEFAULT '',
	kind		TEXT NOT NULL,
	message		TEXT NOT NULL DEFAULT '',
	retry_after	REAL		-- seconds; NULL when the registry gave none
);

-- Listing newest first, and retention pruning.
CREATE INDEX events_time ON events (time);
-- Health: recent errors of one registry.
CREATE INDEX events_registry ON events (registry, time);
-- Health: one registry's rate limits; listing by kind.
CREATE INDEX events_registry_kind ON events (registry, kind, time);
CREATE INDEX events_kind ON events (kind, time);

PRAGMA user_version = 1;
