-- schema/cache.sql: the SQLite database of whoisd-cache (db_path).
--
-- This file is the only copy of the schema, version 3: the Makefile
-- turns it into $(B)/gen/schema/cache_sql.h, which daemons/cache/cache_db.c
-- embeds byte for byte.  A fresh database gets this text whole; an older
-- one gets the migrations in cache_db.c, which must end at the same tables.
-- A change here is a new version: bump user_version and CACHE_DB_VERSION,
-- and add the migration.
--
-- One file holds three things, each child of whoisd-cache opening its own
-- connection (WAL mode, so readers never wait for the writer):
--   answers, texts   the verdict cache, one row per ACE name, and the
--                    registry replies (deflated against dicts)
--   leases           coalescing: which request is asking the registry
--   timing*          the timing DB, per registry server
-- Times are seconds since the epoch.  Rows are kept small on purpose
-- (at most 100 bytes per name without registry text at 10 million
-- names): WITHOUT ROWID, integer times, strings that repeat on
-- every row (registry, rule) interned in atoms, the registry text in a
-- table of its own.

-- Interned strings: registry servers and classifier rules.  Rows are
-- never deleted, so an id stays valid forever.
CREATE TABLE atoms (
	id		INTEGER PRIMARY KEY,
	s		TEXT NOT NULL UNIQUE
);

-- Preset dictionaries for the registry texts: a reply of the registry
-- itself (one per registry and status), so a stored text costs little
-- more than what differs from it.  A registry whose replies drift from
-- its dictionary gets a new one; rows are never changed or deleted, so
-- every text can name the dictionary it was deflated with, forever.
CREATE TABLE dicts (
	id		INTEGER PRIMARY KEY,
	registry	INTEGER NOT NULL,	-- atoms.id
	status		INTEGER NOT NULL,
	data		BLOB NOT NULL
);

-- Registry replies, in a rowid table so that ids grow and rows are
-- appended to full pages (in the WITHOUT ROWID answers, a reply over a
-- quarter page took an overflow page of its own).  data is a zlib
-- stream, deflated with dicts.id = dict as preset dictionary, or with
-- none when dict is NULL.  dict 0 marks a text moved from version 1 as
-- it was: raw when length(data) = answers.text_len, else a zlib stream.
CREATE TABLE texts (
	id		INTEGER PRIMARY KEY,
	dict		INTEGER,	-- dicts.id
	data		BLOB NOT NULL
);

-- The answer cache.  status: 1 available, 2 registered, 3 reserved
-- (unknown and invalid are never cached).  text_len is the length of the
-- registry text texts.text_id (NULL: none).  crc is a CRC-32 over the row
-- as cache_store.c reads it (registry and rule as strings) and is checked
-- on every read: a row that does not match is dropped, never served.
-- It is NULL only in a file just migrated from version 1, until the
-- open that migrated it has sealed the old rows.  reg_created and
-- reg_expires (whole seconds) and nameservers (space-separated) are the
-- registration data of an RDAP reply, NULL when it gave none; they come
-- last because version 3 added them with ALTER TABLE (no table rewrite).
CREATE TABLE answers (
	ace		TEXT PRIMARY KEY,
	status		INTEGER NOT NULL CHECK (status BETWEEN 1 AND 3),
	checked		INTEGER NOT NULL,
	expires		INTEGER NOT NULL,
	registry	INTEGER,	-- atoms.id
	latency_ms	INTEGER,
	rule		INTEGER,	-- atoms.id
	reason		TEXT,
	matched		TEXT,
	text_id		INTEGER,	-- texts.id
	text_len	INTEGER,
	crc		INTEGER,
	reg_created	INTEGER,
	reg_expires	INTEGER,
	nameservers	TEXT
) WITHOUT ROWID;

-- Expiry sweeps and the fresh/expired counts of stats read this index.
CREATE INDEX answers_expires ON answers (expires);

-- A text lives as long as the answer naming it, however the answer goes
-- (purge, expiry sweep, a put replacing it, or the sqlite3 shell).
CREATE TRIGGER answers_text_delete AFTER DELETE ON answers
WHEN old.text_id IS NOT NULL
BEGIN
	DELETE FROM texts WHERE id = old.text_id;
END;

CREATE TRIGGER answers_text_update AFTER UPDATE OF text_id ON answers
WHEN old.text_id IS NOT NULL AND old.text_id IS NOT new.text_id
BEGIN
	DELETE FROM texts WHERE id = old.text_id;
END;

-- One live lease per name being filled.  holder is the caller's id;
-- a lease past its expiry is free for the next asker, so a holder that
-- dies costs one lease TTL.  A put of the name deletes its lease.
CREATE TABLE leases (
	ace		TEXT PRIMARY KEY,
	holder		INTEGER NOT NULL,
	expires		REAL NOT NULL
) WITHOUT ROWID;

-- Timing DB: lifetime counters per registry server, and a ring of the
-- last 1000 samples (slot = next_slot, advanced on every sample), so the
-- table never grows and needs no cleanup.  outcome: 0 ok, 1 fail,
-- 2 rate-limited.
CREATE TABLE timing (
	registry	INTEGER PRIMARY KEY,	-- atoms.id
	next_slot	INTEGER NOT NULL,
	ok		INTEGER NOT NULL,
	fail		INTEGER NOT NULL,
	ratelimited	INTEGER NOT NULL,
	last_ratelimit	REAL
);

CREATE TABLE timing_samples (
	registry	INTEGER NOT NULL,	-- atoms.id
	slot		INTEGER NOT NULL,
	t		REAL NOT NULL,
	ms		INTEGER NOT NULL,
	outcome		INTEGER NOT NULL,
	PRIMARY KEY (registry, slot)
) WITHOUT ROWID;

-- For operators at the sqlite3 prompt: the answers as text.
CREATE VIEW answers_v AS
SELECT a.ace,
       CASE a.status WHEN 1 THEN 'available' WHEN 2 THEN 'registered'
           WHEN 3 THEN 'reserved' END AS status,
       datetime(a.checked, 'unixepoch') AS checked,
       datetime(a.expires, 'unixepoch') AS expires,
       r.s AS registry, a.latency_ms, u.s AS rule, a.reason, a.matched,
       a.text_len,
       datetime(a.reg_created, 'unixepoch') AS reg_created,
       datetime(a.reg_expires, 'unixepoch') AS reg_expires,
       a.nameservers
FROM answers a
LEFT JOIN atoms r ON r.id = a.registry
LEFT JOIN atoms u ON u.id = a.rule;

PRAGMA user_version = 3;
