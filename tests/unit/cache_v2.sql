-- tests/unit/cache_v2.sql: a whoisd-cache database of schema version 2,
-- written by that version's cache_db_put() (three answers: a registered
-- one with a short RDAP text, an available one with a whois text, a
-- reserved one without text; every row sealed with its checksum) and
-- dumped with sqlite3 .dump.  test_cache_db migrates it to version 3.
PRAGMA foreign_keys=OFF;
BEGIN TRANSACTION;
CREATE TABLE atoms (
	id		INTEGER PRIMARY KEY,
	s		TEXT NOT NULL UNIQUE
);
INSERT INTO atoms VALUES(1,'rdap.denic.de');
INSERT INTO atoms VALUES(2,'rdap:registered');
INSERT INTO atoms VALUES(3,'whois.denic.de');
INSERT INTO atoms VALUES(4,'de-free');
CREATE TABLE dicts (
	id		INTEGER PRIMARY KEY,
	registry	INTEGER NOT NULL,	-- atoms.id
	status		INTEGER NOT NULL,
	data		BLOB NOT NULL
);
INSERT INTO dicts VALUES(1,1,2,X'7b226f626a656374436c6173734e616d65223a22646f6d61696e222c226c64684e616d65223a226578616d706c652e6465222c22737461747573223a5b22616374697665225d7d');
INSERT INTO dicts VALUES(2,3,1,X'5374617475733a2066726565');
CREATE TABLE texts (
	id		INTEGER PRIMARY KEY,
	dict		INTEGER,	-- dicts.id
	data		BLOB NOT NULL
);
INSERT INTO texts VALUES(1,1,X'78bb777d1871aba68e3100777d1871');
INSERT INTO texts VALUES(2,2,X'78bb1db004810b466203001db00481');
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
	crc		INTEGER
) WITHOUT ROWID;
INSERT INTO answers VALUES('example.de',2,1700000000,2700000000,1,42,2,NULL,'ldhName example.de',1,71,1059076928);
INSERT INTO answers VALUES('free-name.de',1,1700000100,2700000100,3,17,4,NULL,'Status: free',2,12,467862084);
INSERT INTO answers VALUES('reserved.com',3,1700000200,2700000200,NULL,0,NULL,'policy',NULL,NULL,NULL,2309494446);
CREATE TABLE leases (
	ace		TEXT PRIMARY KEY,
	holder		INTEGER NOT NULL,
	expires		REAL NOT NULL
) WITHOUT ROWID;
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
CREATE INDEX answers_expires ON answers (expires);
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
CREATE VIEW answers_v AS
SELECT a.ace,
       CASE a.status WHEN 1 THEN 'available' WHEN 2 THEN 'registered'
           WHEN 3 THEN 'reserved' END AS status,
       datetime(a.checked, 'unixepoch') AS checked,
       datetime(a.expires, 'unixepoch') AS expires,
       r.s AS registry, a.latency_ms, u.s AS rule, a.reason, a.matched,
       a.text_len
FROM answers a
LEFT JOIN atoms r ON r.id = a.registry
LEFT JOIN atoms u ON u.id = a.rule;
COMMIT;
PRAGMA user_version = 2;
