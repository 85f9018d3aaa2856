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
import stat
import subprocess
import time

import pytest

import frames as F
from conftest import BIN, BUILD, free_port, port_open, wait_for

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
        wait_for(lambda: port_open(port) or not p.running(), timeout=10,
                 what="%s listening" % daemon)
        assert p.running(), p.logtext()
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
