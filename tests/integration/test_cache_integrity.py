"""whoisd-cache never serves a row changed behind its back.

An answer edited in the database file (the sqlite3 shell, a hex editor)
fails its row checksum: the real daemon treats it as a miss (the asker
gets the lease and asks the registry), logs the name once, and never
answers it, above all not a registered name as available.
"""
import os
import signal
import sqlite3

import frames as F
from test_cache import start_cache


def put_two(p, name):
    with F.Conn(p.port) as c:
        for n in (name, "untouched.com"):
            a = F.answer(n, "registered", text=b"Domain Name: %s\n" %
                         n.upper().encode(), registry="whois.example.net")
            assert F.put(c, a)["t"] == "ok"
    assert p.stop(signal.SIGTERM) == 0


def assert_miss_not_served(procs, tmp, port, name):
    p = start_cache(procs, tmp, port=port)
    with F.Conn(p.port) as c:
        r = F.get(c, name, lease=True)
        assert r["t"] == "get_r" and not r["found"], r
        assert r["lease"] == "granted"
        r = F.get(c, name)
        assert not r["found"], r
        r = F.get(c, "untouched.com")
        assert r["found"] and r["a"]["status"] == "registered", r
        assert F.stats(c)["entries"] == 1
    p.wait_log(name, timeout=5)
    assert "checksum" in p.logtext()


def test_status_edited_with_sql_is_a_miss(procs, tmpdir_path):
    p = start_cache(procs, tmpdir_path)
    put_two(p, "edited-status.com")
    db = sqlite3.connect(os.path.join(tmpdir_path, "cache.db"))
    db.execute("UPDATE answers SET status = 1 WHERE ace = ?",
               ("edited-status.com",))
    db.commit()
    db.close()
    assert_miss_not_served(procs, tmpdir_path, p.port, "edited-status.com")


def test_status_byte_patched_in_the_file_is_a_miss(procs, tmpdir_path):
    p = start_cache(procs, tmpdir_path)
    name = "patched-status.com"
    put_two(p, name)
    path = os.path.join(tmpdir_path, "cache.db")
    db = sqlite3.connect(path)
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    with open(path, "r+b") as fp:
        data = bytearray(fp.read())
        # In the table's record the status byte follows the key.
        key = name.encode() + b"\x02"
        at = [i for i in range(len(data)) if data.startswith(key, i)]
        assert len(at) == 1, at
        data[at[0] + len(name)] = 1
        fp.seek(0)
        fp.write(data)
    db = sqlite3.connect(path)
    assert db.execute("SELECT status FROM answers WHERE ace = ?",
                      (name,)).fetchone() == (1,)
    db.close()
    assert_miss_not_served(procs, tmpdir_path, p.port, name)
