"""Storage faults: a full disk, I/O errors, damaged database files and an
unwritable spool.  Each test injects the fault into the real daemons and
checks that they keep answering, warn once per episode, and recover when
the fault goes away.

I/O errors come from the LD_PRELOAD shim of tests/faults/ (the Makefile
builds it as BUILD/lib/libfaultfs.so): while the flag file exists, writes
to the database fail with the errno the flag file names.  The full disk
is a real one: a 2 MB tmpfs mounted by the test (as root).
"""
import glob
import os
import re
import sqlite3
import stat
import subprocess
import time

import pytest

import frames as F
from conftest import BIN, BUILD, free_port, listening, wait_for

SHIM = os.path.join(BUILD, "lib", "libfaultfs.so")

FAILING = "cache writes failing"
RECOVERED = "cache writes succeed again"


def shim_env(tmp, match):
    if not os.path.exists(SHIM):
        pytest.fail("%s is missing: run make all" % SHIM)
    flag = os.path.join(tmp, "fault-flag")
    env = {"LD_PRELOAD": SHIM, "WHOISD_FAULT_FLAG": flag,
           "WHOISD_FAULT_MATCH": match,
           # A sanitizer build wants its runtime first; the shim has none.
           "ASAN_OPTIONS": "verify_asan_link_order=0:" +
                           os.environ.get("ASAN_OPTIONS", "")}
    return env, flag


def start(procs, tmp, daemon, db, *args, env=None, ready=True):
    """One daemon with one child, its database (if any) at db."""
    port = free_port()
    argv = [os.path.join(BIN, daemon), "-f", "/dev/null",
            "--listen=127.0.0.1:%d" % port,
            "--min_servers=1", "--max_servers=2",
            "--min_spare_servers=0", "--max_spare_servers=1",
            "--log_level=2"] + (["--db_path=" + db] if db else []) + list(args)
    p = procs.start(argv, name=daemon, env=env)
    p.port = port
    if ready:
        listening(p, port, wait_ready=False)
    return p


def set_flag(flag, what):
    with open(flag, "w") as f:
        f.write(what)


def count(p, text):
    return p.logtext().count(text)


def warnings_per_pid(p, text):
    """How many lines with text each process logged."""
    n = {}
    for line in p.logtext().splitlines():
        if text in line:
            m = re.search(r"\[(\d+)\]", line)
            n[m.group(1) if m else "?"] = n.get(m.group(1) if m else "?",
                                                0) + 1
    return n


def put_many(c, prefix, n, text=None):
    """Put n answers; the replies (ok, or err while writes fail)."""
    out = []
    for i in range(n):
        a = F.answer("%s%d.com" % (prefix, i), "registered",
                     text=text if text is not None else
                     b"Domain Name: %d\n" % i)
        out.append(F.put(c, a)["t"])
    return out


def found(c, name):
    r = F.get(c, name)
    assert r["t"] == "get_r", r
    return r["found"]


def test_cache_io_errors_one_warning_and_recovery(procs, tmpdir_path):
    env, flag = shim_env(tmpdir_path, "cache.db")
    p = start(procs, tmpdir_path, "whoisd-cache",
              os.path.join(tmpdir_path, "cache.db"), env=env)
    with F.Conn(p.port) as c:
        assert put_many(c, "before", 5) == ["ok"] * 5
        set_flag(flag, "EIO")
        replies = put_many(c, "during", 300)
        # Nothing was stored, and the cache said so; gets still answer.
        assert "ok" not in replies, replies[:5]
        assert not found(c, "during7.com")
        assert found(c, "before3.com")
        for i in range(50):
            r = F.get(c, "lease%d.com" % i, lease=True)
            assert r["t"] in ("get_r", "err"), r
        assert warnings_per_pid(p, FAILING) == {
            k: 1 for k in warnings_per_pid(p, FAILING)}
        assert count(p, FAILING) == 1, p.logtext()[-3000:]
        assert "disk I/O error" in p.logtext()
        # Only the one warning: the failed puts are not logged each.
        assert p.logtext().count("warning:") == 1, p.logtext()[-3000:]
        assert count(p, RECOVERED) == 0
        os.unlink(flag)
        # The next commit ends the episode, without a restart.
        assert put_many(c, "after", 3) == ["ok"] * 3
        assert found(c, "after1.com")
    p.wait_log(RECOVERED, timeout=5)
    m = re.search(r"(\d+) writes failed over (\d+) seconds", p.logtext())
    assert m and int(m.group(1)) >= 1, p.logtext()[-2000:]
    assert count(p, RECOVERED) == 1
    assert count(p, FAILING) == 1


def test_errdb_full_disk_one_warning_and_recovery(procs, tmpdir_path):
    env, flag = shim_env(tmpdir_path, "errdb.db")
    p = start(procs, tmpdir_path, "whoisd-errdb",
              os.path.join(tmpdir_path, "errdb.db"), env=env)
    with F.Conn(p.port) as c:
        r = c.call("error", **F.error_event("before-1"))
        assert r["t"] == "ok", r
        set_flag(flag, "ENOSPC")
        for i in range(200):
            r = c.call("error", **F.error_event("during-%d" % i))
            # Refused, so the sender's spool keeps it for later.
            assert r["t"] == "err", r
        r = c.call("errors", limit=10)
        assert r["t"] == "errors_r" and len(r["events"]) == 1, r
        text = p.logtext()
        assert text.count("errdb writes failing: database or disk is "
                          "full") == 1, text[-3000:]
        assert text.count("warning:") == 1, text[-3000:]
        os.unlink(flag)
        r = c.call("error", **F.error_event("after-1"))
        assert r["t"] == "ok", r
    p.wait_log("errdb writes succeed again", timeout=5)
    assert re.search(r"\d+ writes failed over \d+ seconds", p.logtext())


@pytest.fixture
def small_tmpfs(tmpdir_path):
    d = os.path.join(tmpdir_path, "small")
    os.makedirs(d)
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", d],
                       capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip("cannot mount a tmpfs here (needs root): %s" %
                    r.stderr.strip())
    yield d
    subprocess.run(["umount", "-l", d])


def fill(path):
    """Fill the file system of path up to the last byte."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        for chunk in (65536, 512):
            try:
                while True:
                    os.write(fd, b"\0" * chunk)
            except OSError:
                pass
    finally:
        os.close(fd)


def test_cache_on_a_full_tmpfs(procs, tmpdir_path, small_tmpfs):
    db = os.path.join(small_tmpfs, "cache.db")
    p = start(procs, tmpdir_path, "whoisd-cache", db)
    with F.Conn(p.port) as c:
        assert put_many(c, "before", 5) == ["ok"] * 5
        filler = os.path.join(small_tmpfs, "filler")
        fill(filler)
        replies = put_many(c, "during", 200, text=rand_text(20000))
        assert "err" in replies
        # Whatever is answered is right: stored answers, or nothing.
        assert found(c, "before2.com")
        for i in range(0, 200, 20):
            r = F.get(c, "during%d.com" % i)
            assert r["t"] == "get_r"
            assert (not r["found"]) == (replies[i] != "ok")
        assert count(p, FAILING) == 1, p.logtext()[-3000:]
        assert "database or disk is full" in p.logtext()
        os.unlink(filler)
        assert put_many(c, "after", 3, text=rand_text(20000)) == ["ok"] * 3
        assert found(c, "after2.com")
    p.wait_log(RECOVERED, timeout=5)
    assert count(p, FAILING) == 1
    assert p.logtext().count("warning:") == 1, p.logtext()[-3000:]


def rand_text(n):
    return os.urandom(n // 2).hex().encode()


def filled_cache(procs, tmpdir_path, n=3000):
    """A cache file with n answers, checkpointed and closed."""
    db = os.path.join(tmpdir_path, "cache.db")
    p = start(procs, tmpdir_path, "whoisd-cache", db)
    with F.Conn(p.port) as c:
        assert put_many(c, "fill", n) == ["ok"] * n
    p.stop()
    # Everything in the main file, so a damaged page is one of the data.
    q = sqlite3.connect(db)
    q.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    q.close()
    assert not os.path.exists(db + "-wal")
    return db


def asides(db):
    return glob.glob(db + ".corrupt-*")


def restart_on_damaged(procs, tmpdir_path, db):
    p = start(procs, tmpdir_path, "whoisd-cache", db)
    p.wait_log("is damaged", timeout=5)
    got = asides(db)
    assert len(got) == 1, got
    assert re.search(r"\.corrupt-\d{8}T\d{4}Z$", got[0]), got
    lines = [l for l in p.logtext().splitlines() if "is damaged" in l]
    assert len(lines) == 1 and db in lines[0] and got[0] in lines[0], lines
    assert "warning" in lines[0]
    # A new, empty file: the cache answers and stores again.
    with F.Conn(p.port) as c:
        assert not found(c, "fill10.com")
        assert put_many(c, "new", 3) == ["ok"] * 3
        assert found(c, "new1.com")
    return p


def test_truncated_database_is_set_aside(procs, tmpdir_path):
    db = filled_cache(procs, tmpdir_path)
    os.truncate(db, os.path.getsize(db) // 2)
    restart_on_damaged(procs, tmpdir_path, db)


def overwrite_middle_page(db, name=b"fill1500.com"):
    """Garbage over the page in the middle of the file that holds name,
    so the reads of the test are sure to meet it."""
    page = 4096
    with open(db, "rb") as f:
        data = f.read()
    # Stale copies may sit in free space too: every page that has it.
    pages = {m.start() // page for m in re.finditer(re.escape(name), data)}
    assert pages and 0 not in pages, "%s not in the file" % name
    with open(db, "r+b") as f:
        for n in pages:
            f.seek(n * page)
            f.write(os.urandom(page))


def test_overwritten_page_is_set_aside_at_start(procs, tmpdir_path):
    db = filled_cache(procs, tmpdir_path)
    overwrite_middle_page(db)
    restart_on_damaged(procs, tmpdir_path, db)


def test_overwritten_page_at_run_time_stops_trusting_the_file(
        procs, tmpdir_path):
    db = filled_cache(procs, tmpdir_path)
    p = start(procs, tmpdir_path, "whoisd-cache", db)
    with F.Conn(p.port) as c:
        # The child has opened and checked the file before it is damaged;
        # otherwise its start-up check may find the damage first and set
        # the file aside, which another test covers.
        assert found(c, "fill0.com")
        overwrite_middle_page(db)
        replies = []
        for i in [1500] + list(range(0, 3000, 7)):
            r = F.get(c, "fill%d.com" % i)
            replies.append(r["t"])
            if r["t"] == "get_r" and r["found"]:
                # Never a wrong answer: the name asked for, as stored.
                assert r["a"]["domain"] == "fill%d.com" % i
        assert "err" in replies, "no read met the damaged page"
        # From the first damage on, nothing is read or written there.
        first = replies.index("err")
        assert set(replies[first:]) == {"err"}, replies[first:]
        assert F.put(c, F.answer("late.com", "registered"))["t"] == "err"
    p.wait_log("is damaged", timeout=5)
    assert p.logtext().count("is damaged") == 1
    assert p.logtext().count("warning:") == 1, p.logtext()[-3000:]
    size = os.path.getsize(db)
    p.stop()
    # The next start sets it aside.
    restart_on_damaged(procs, tmpdir_path, db)


@pytest.fixture
def ro_spool(tmpdir_path):
    d = os.path.join(tmpdir_path, "spool")
    os.makedirs(d)
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m,ro", "tmpfs",
                        d], capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip("cannot mount a read-only tmpfs here (needs root): %s" %
                    r.stderr.strip())
    yield d
    subprocess.run(["umount", "-l", d])


def test_query_starts_with_a_read_only_spool(procs, tmpdir_path, ro_spool):
    from regsim_helper import Regsim
    from test_query import FakeDaemon, query, spool_files, start_query
    rs = Regsim()
    errdb = None
    try:
        errdb_port = free_port()
        q = start_query(procs, tmpdir_path, rs.port,
                        "--registry_rate_override=50", errdb=errdb_port,
                        spool=ro_spool)
        names = ["fault-empty-ro%d.de" % i for i in range(4)]
        for n in names:
            assert query(q.port, n)["status"] == "unknown"
        text = q.logtext()
        assert text.count("kept in memory") == 1, text[-3000:]
        assert "Read-only file system" in text
        assert spool_files(ro_spool) == []
        # The errdb comes up: the events kept in memory reach it.
        errdb = FakeDaemon(port=errdb_port, role="errdb")
        wait_for(lambda: len({m["eid"] for m in errdb.of("error")}) == 4,
                 15, what="4 events from memory")
        assert sorted({m["domain"] for m in errdb.of("error")}) == \
            sorted(names)
        errdb.close()
        errdb = None
        # The spool becomes writable: events go to disk again.
        r = subprocess.run(["mount", "-o", "remount,rw", ro_spool],
                           capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        q.wait_log("can be written again", timeout=10)
        assert query(q.port, "fault-empty-rw.de")["status"] == "unknown"
        wait_for(lambda: len(spool_files(ro_spool)) == 1, 5,
                 what="1 spool file")
        assert q.logtext().count("kept in memory (") == 1
    finally:
        if errdb is not None:
            errdb.close()
        rs.close(check=False)
