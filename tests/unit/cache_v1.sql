-- tests/unit/cache_v1.sql: a whoisd-cache database of schema version 1,
-- written by that version's cache_db_put() (three answers: a registered
-- one whose text is tests/corpus/xyz/registered.txt, deflated; an available
-- one whose short text was stored raw; a reserved one without text) and
-- dumped with sqlite3 .dump.  test_cache_db migrates it.
PRAGMA foreign_keys=OFF;
BEGIN TRANSACTION;
CREATE TABLE atoms (
	id		INTEGER PRIMARY KEY,
	s		TEXT NOT NULL UNIQUE
);
INSERT INTO atoms VALUES(1,'whois.denic.de');
INSERT INTO atoms VALUES(2,'de-registered');
INSERT INTO atoms VALUES(3,'de-free');
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
	text		BLOB,
	text_len	INTEGER
) WITHOUT ROWID;
INSERT INTO answers VALUES('example.de',2,1700000000,2646080000,1,42,2,NULL,'Status: connect',X'789c85946f8fe23610c6dfe7538cd4375b9584240bdc5eb45a35255c8b4461056c4fdd3795710cb19ad891ffc0d1d37df78e9d85cd5dbb2d8a10d8e399df3cf3c4856c0817b0240dcbe0f3e762f56b3e5f7ef912acd9816ba3ce507401f322836214a769dc7d92f476349ebc0b17ebd5fa124c147cfc6535dfc086a9235319f4369ed68b0c2a63da6c383c9d4ed1818892475436c1535b12c34a28f03b83344ec7613c09e3741bdf65c9284b93e760aa18315c8a6b4cfc3e8c6fc364b24dc6d928cde2f7cfafc0b34f2d77dc9774efde0a2548f8b3c3804dbee9a1cef365eefbbd4b7aabf9ce6a0653290ca10666284a9d01718b3fbef6f256f8632505d2fc9044a3bb78928ed2713c0e5e94dd1862acce80d69c09b35544e83d538f4a567cc79d304e358db2714a8488a43a0c59db7ef756f8ab101718617c37eb59914fb7b3023eacd6f0b89eff964f7f0f7a319d05fe2f6aa5b05bfe971f47f6620e0d3f9d01093e9d07b0584cfbe1536905b264f0b4095c81ab35844e7a1ef8662bed6d15cbcd6636cdc00acd0f02fb432781dc83a918cca7f972091f2bc935cc05a1d42a42cf58b4696be432f041aa26bb0ae87cf72ae289d3fd307878788005d106acb7a1cbdc7918ff911dd19d8726619284295a32c9e2189f67b8bfbf0f024c0f8d540cb8d863a5cea3f87444da0f16a82c991e405b33cc0647aeb9f9f79106c1167beace62fbb02ef247d0280aa70c57b04cabe491976889ddd9f77f1df5aa658a18a906fe2075ae4367f5a930c0ad71710023512cc3946006cace8302f5d7a07c3aa6ba02d22aa0561bd930a5233762abfdf1caf5d661c1595a4f460e8a31b77b937c0f421a57c4bd00449cbfc6504ca36d9dabb10ee0860f69ad6a25864bec4a610522a06448d274c4f22490a1e2ad1b4f1f790037e9b51ea2624acca8180a555ac4f3ac6e9208e10b9d087af4e6f61f8c153f54e151d6b661a8a1c5a6dd9d340056336a94149c3af1710e1a75c27372e715f6a9f74a365fa912bdbcfddea53db1f06783a91c66e9078557038aa21d9c9b992247d4c67bc8fb1b53380d349c785d6357dad6c6c5eebcd238d186083c509f615713fa67ed86574641905307ea30cd7f180a1795737ccd1b776f44707173d01bd8e01bc3aacb051722b096358b2873e0352ae45ed7616b77c393abf8c7c1f292085423f81b4e1a3091',1636);
INSERT INTO answers VALUES('free-name.de',1,1700000100,2646080100,1,17,3,NULL,'Status: free',X'5374617475733a2066726565',12);
INSERT INTO answers VALUES('reserved.com',3,1700000200,2646080200,NULL,0,NULL,'policy',NULL,NULL,NULL);
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
PRAGMA user_version = 1;
