"""whoisd-cache over real sockets with a real SQLite file.

Each test starts the real binary (WHOISD_BUILD) on a free port with its
database in the test's temporary directory and talks to it with the
frames.py client.
"""
import base64
import os
import signal
import socket
import sqlite3
import time

import pytest

import frames as F
from conftest import (BIN, check_malformed, free_port, start_store, wait_for,
                      writing)


def start_cache(procs, tmp, *args, port=None, db="cache.db", servers=1):
    return start_store(procs, tmp, "cache", db,
                       "--max_clients_per_child=2048", *args, port=port,
                       servers=servers)


def assert_none_lost(port, names):
    """Every one of names (acknowledged puts) is in the cache on port."""
    with F.Conn(port) as c:
        ids = {c.send("get", domain=d): d for d in names}
        missing = [ids[i] for i, r in c.recv_ids(list(ids)).items()
                   if not r["found"]]
        assert not missing, "%d of %d acknowledged puts lost: %s" % (
            len(missing), len(names), missing[:5])


def rand_text(n):
    """Registry-like text that deflate shrinks, but not to nothing."""
    raw = base64.b64encode(os.urandom(n))[:n]
    return b"\n".join(raw[i:i + 70] for i in range(0, len(raw), 70))[:n]


def test_put_then_get_64k_text_intact(procs, tmpdir_path):
    p = start_cache(procs, tmpdir_path)
    text = rand_text(65536)
    with F.Conn(p.port) as c:
        r = F.get(c, "big-text.com", lease=True)
        assert r["t"] == "get_r" and not r["found"], r
        assert r["lease"] == "granted"
        a = F.answer("big-text.com", "registered", text=text,
                     registry="whois.verisign-grs.com", latency_ms=321,
                     rule="registered-default", matched="Domain Name: X")
        assert F.put(c, a)["t"] == "ok"
        r = F.get(c, "big-text.com")
        # The reply came deflated (64 KB body > compress_min).
        assert c.frames_in[-1][0] & F.FLAG_DEFLATE
        assert r["found"] and not r["stale"] and r["lease"] == "none"
        got = r["a"]
        assert got["text"] == text
        assert got["status"] == "registered" and got["source"] == "cache"
        assert got["registry"] == "whois.verisign-grs.com"
        assert got["latency_ms"] == 321
        assert got["rule"] == "registered-default"
        assert got["matched"] == "Domain Name: X"
        assert got["checked"] == float(int(a["checked"]))
        assert got["expires"] == got["checked"] + 86400
        st = F.stats(c)
        assert st["entries"] == 1 and st["hits"] == 1 and st["puts"] == 1


def test_get_if_answers_same_only_for_the_very_answer(procs, tmpdir_path):
    """A get with "if" (the asker's checked, expires and status) is
    answered `same` without the answer only when the fresh entry is that
    answer; any difference, or an expired entry, gets the whole answer."""
    p = start_cache(procs, tmpdir_path, "--ttl_available=2",
                    "--ttl_registered=86400", "--ttl_reserved=86400")
    with F.Conn(p.port) as c:
        assert F.put(c, F.answer("same.com", "registered",
                                 text=b"Domain Name: SAME.COM\n"))["t"] == "ok"
        full = F.get(c, "same.com")["a"]
        have = dict(if_checked=full["checked"], if_expires=full["expires"],
                    if_status=full["status"])
        r = c.call("get", domain="same.com", lease=True, **have)
        assert r["t"] == "get_r" and r["found"] and r["same"], r
        assert not r["stale"] and r["lease"] == "none" and "a" not in r, r
        assert F.stats(c)["same"] == 1
        # Any one of the three differs: the whole answer, text and all.
        for k, v in (("if_checked", full["checked"] - 1),
                     ("if_expires", full["expires"] + 1),
                     ("if_status", "available")):
            r = c.call("get", domain="same.com", lease=True,
                       **dict(have, **{k: v}))
            assert r["found"] and not r.get("same"), (k, r)
            assert r["a"]["status"] == "registered", (k, r)
            assert r["a"]["text"] == b"Domain Name: SAME.COM\n", (k, r)
        # A new put within the same second (checked is kept in whole
        # seconds) and the same TTL, but another status: not `same`.
        assert F.put(c, F.answer("same.com", "reserved",
                                 checked=full["checked"] + 0.5))["t"] == "ok"
        again = F.get(c, "same.com")["a"]
        assert again["checked"] == full["checked"], again
        assert again["expires"] == full["expires"], again
        r = c.call("get", domain="same.com", lease=True, **have)
        assert not r.get("same") and r["a"]["status"] == "reserved", r
        # An expired entry is never `same`: the stale path, with a lease.
        assert F.put(c, F.answer("gone.com", "available"))["t"] == "ok"
        now = F.get(c, "gone.com")["a"]
        wait_for(lambda: F.get(c, "gone.com")["stale"], timeout=5,
                 what="the entry expired")
        r = c.call("get", domain="gone.com", lease=True,
                   if_checked=now["checked"], if_expires=now["expires"],
                   if_status=now["status"])
        assert r["found"] and r["stale"] and not r.get("same"), r
        assert r["lease"] == "granted", r
        # "if_checked" without a status is a bad request, not a guess.
        r = c.call("get", domain="gone.com", if_checked=now["checked"])
        assert r["t"] == "err", r
        assert F.stats(c)["same"] == 1


def test_ttl_per_status_then_stale_with_lease(procs, tmpdir_path):
    p = start_cache(procs, tmpdir_path, "--ttl_available=1",
                    "--ttl_registered=500", "--ttl_reserved=700")
    now = time.time()
    with F.Conn(p.port) as c:
        for d, s in (("free-ttl.com", "available"),
                     ("taken-ttl.com", "registered"),
                     ("held-ttl.com", "reserved")):
            assert F.put(c, F.answer(d, s, checked=now))["t"] == "ok"
        exp = {d: F.get(c, d)["a"]["expires"] - F.get(c, d)["a"]["checked"]
               for d in ("free-ttl.com", "taken-ttl.com", "held-ttl.com")}
        assert exp["taken-ttl.com"] == 500 and exp["held-ttl.com"] == 700
        assert exp["free-ttl.com"] in (0, 1, 2)
        # Past its 1 s TTL the available answer is stale, not gone.
        wait_for(lambda: F.get(c, "free-ttl.com")["stale"], timeout=4,
                 what="available entry expired")
        r = F.get(c, "free-ttl.com")
        assert r["found"] and r["stale"] and r["lease"] == "none"
        assert r["a"]["source"] == "stale"
        assert r["a"]["status"] == "available"
        # Asking with lease: the expired entry comes back with the lease.
        r = F.get(c, "free-ttl.com", lease=True)
        assert r["found"] and r["stale"] and r["lease"] == "granted", r
        # The others are still fresh.
        for d in ("taken-ttl.com", "held-ttl.com"):
            r = F.get(c, d, lease=True)
            assert r["found"] and not r["stale"] and r["lease"] == "none"
        st = F.stats(c)
        assert st["entries"] == 3 and st["expired"] == 1 and st["fresh"] == 2
        # A put refreshes it and drops the lease.
        F.put(c, F.answer("free-ttl.com", "registered"))
        r = F.get(c, "free-ttl.com", lease=True)
        assert r["found"] and not r["stale"]
        assert r["a"]["status"] == "registered"


def test_stale_max_and_expiry_sweep(procs, tmpdir_path):
    p = start_cache(procs, tmpdir_path, "--ttl_available=1",
                    "--stale_max=1", "--sweep_interval=0.2")
    with F.Conn(p.port) as c:
        F.put(c, F.answer("sweep-me.com", "available"))
        F.put(c, F.answer("keep-me.com", "registered"))
        # Fresh, then stale, then past stale_max: neither served nor kept.
        wait_for(lambda: not F.get(c, "sweep-me.com")["found"], timeout=6,
                 what="entry past stale_max")
        wait_for(lambda: F.stats(c)["entries"] == 1, timeout=4,
                 what="swept")
        assert F.stats(c)["swept"] >= 1
        assert F.get(c, "keep-me.com")["found"]
    assert "expiry sweep: 1 answer(s) removed" in p.logtext()


def test_unknown_and_invalid_never_stored(procs, tmpdir_path):
    p = start_cache(procs, tmpdir_path)
    with F.Conn(p.port) as c:
        assert F.get(c, "flaky.com", lease=True)["lease"] == "granted"
        r = F.put(c, F.answer("flaky.com", "unknown", reason="timeout"))
        assert r["t"] == "ok"
        # Not stored, and the lease is gone: the next asker gets it.
        r = F.get(c, "flaky.com", lease=True)
        assert not r["found"] and r["lease"] == "granted", r
        assert F.put(c, F.answer("bad..com", "invalid",
                                 reason="empty label"))["t"] == "ok"
        assert not F.get(c, "bad..com")["found"]
        st = F.stats(c)
        assert st["entries"] == 0 and st["puts_unstored"] == 2


def test_purge(procs, tmpdir_path):
    p = start_cache(procs, tmpdir_path)
    with F.Conn(p.port) as c, F.Conn(p.port, role="ctl") as ctl:
        for d in ("p1.com", "p2.com", "p3.com"):
            F.put(c, F.answer(d, "registered"))
        r = F.purge(ctl, domain="p2.com")
        assert r["t"] == "purge_r" and r["n"] == 1
        assert not F.get(c, "p2.com")["found"]
        assert F.purge(ctl, domain="p2.com")["n"] == 0
        assert F.purge(ctl, all=True)["n"] == 2
        assert F.stats(c)["entries"] == 0
        r = F.purge(ctl)
        assert r["t"] == "err" and r["code"] == "bad-request"


def test_timing(procs, tmpdir_path):
    p = start_cache(procs, tmpdir_path)
    with F.Conn(p.port) as c:
        for ms in range(1, 101):
            assert c.call("timing", registry="whois.t", ms=ms,
                          outcome="ok")["t"] == "ok"
        c.call("timing", registry="whois.t", ms=9000, outcome="fail")
        t0 = time.time()
        c.call("timing", registry="whois.t", ms=50, outcome="ratelimited")
        r = c.call("timing_get", registry="whois.t")
        assert r["t"] == "timing_r", r
        assert r["n"] == 100 and r["ok"] == 100 and r["fail"] == 1
        assert (r["p50"], r["p90"], r["p99"]) == (50, 90, 99)
        assert abs(r["last_ratelimit"] - t0) < 5
        r = c.call("timing_get", registry="whois.never")
        assert r["n"] == 0 and r["ok"] == 0
        r = c.call("timing", registry="whois.t", ms=1, outcome="meh")
        assert r["t"] == "err" and r["code"] == "bad-request"


def test_restart_keeps_every_entry(procs, tmpdir_path):
    p = start_cache(procs, tmpdir_path)
    names = ["keep%d.com" % i for i in range(300)]
    with F.Conn(p.port) as c:
        ids = [c.send("put", a=F.answer(n, "registered", text="t " + n))
               for n in names]
        assert all(r["t"] == "ok" for r in c.recv_ids(ids).values())
    assert p.stop(signal.SIGTERM) == 0
    p = start_cache(procs, tmpdir_path, port=p.port)
    with F.Conn(p.port) as c:
        ids = {c.send("get", domain=n, lease=False): n for n in names}
        for rid, r in c.recv_ids(list(ids)).items():
            assert r["found"] and not r["stale"], (ids[rid], r)
            assert r["a"]["text"] == ("t " + ids[rid]).encode()
        assert F.stats(c)["entries"] == 300


def test_kill9_loses_no_acknowledged_put(procs, tmpdir_path):
    p = start_cache(procs, tmpdir_path, servers=2)
    acked = []

    def write(c, k, i):
        n = "w%d-%d.com" % (k, i)
        if F.put(c, F.answer(n, "available"))["t"] == "ok":
            acked.append(n)

    with writing(p.port, write):
        wait_for(lambda: len(acked) >= 200, timeout=10, what="200 puts")
        # kill -9 every process of the daemon at once, mid-stream.
        os.killpg(p.pid, signal.SIGKILL)
    p.stop()
    p = start_cache(procs, tmpdir_path, port=p.port)
    assert_none_lost(p.port, acked)


def test_group_commit_kill9_loses_no_acknowledged_write(procs, tmpdir_path):
    """Pipelined puts, lease grants and timing samples share transactions
    (group commit); kill -9 mid-stream loses none that was acknowledged:
    every put answered ok is there after a restart, and every lease
    answered granted is still held."""
    p = start_cache(procs, tmpdir_path, "--lease_ttl=600")
    acked, granted, timed = [], [], []

    def write(c, k, batch):
        """40 of each, pipelined."""
        want = {}
        for i in range(batch * 40, batch * 40 + 40):
            n = "gc%d-%d.com" % (k, i)
            want[c.send("put", a=F.answer(
                n, "registered", text="t " + n))] = ("put", n)
            want[c.send("get", domain="lease-" + n,
                        lease=True)] = ("get", "lease-" + n)
            want[c.send("timing", registry="whois.gc", ms=i,
                        outcome="ok")] = ("timing", n)
        for rid, (what, n) in want.items():
            r = c.recv_id(rid)
            if what == "put" and r["t"] == "ok":
                acked.append(n)
            elif what == "get" and r.get("lease") == "granted":
                granted.append(n)
            elif what == "timing" and r["t"] == "ok":
                timed.append(n)

    with writing(p.port, write, threads=3):
        wait_for(lambda: len(acked) >= 300, timeout=20, what="300 puts")
        with F.Conn(p.port) as c:
            st = F.stats(c)
        # The writes did share commits.
        assert st["commits"] > 0 and st["committed"] > 2 * st["commits"], st
        os.killpg(p.pid, signal.SIGKILL)
    p.stop()
    acked, granted = list(acked), list(granted)
    assert granted and timed
    p = start_cache(procs, tmpdir_path, port=p.port)
    assert_none_lost(p.port, acked)
    with F.Conn(p.port) as c:
        tm = c.call("timing_get", registry="whois.gc")
        assert tm["ok"] >= len(timed), (tm, len(timed))
    db = sqlite3.connect(os.path.join(tmpdir_path, "cache.db"))
    held = {r[0] for r in db.execute("SELECT ace FROM leases")}
    db.close()
    lost = [n for n in granted if n not in held]
    assert not lost, "%d of %d granted leases lost: %s" % (
        len(lost), len(granted), lost[:5])


def _open_per_child(port, want_children, per_child):
    """Connections grouped by the pid of the child serving them."""
    by_pid = {}
    spare = []
    for _ in range(25):
        # Connected together before any of them speaks, so their accepts
        # queue up and reach more than the one idle child.
        socks = [socket.create_connection(("127.0.0.1", port), timeout=10)
                 for _ in range(16)]
        for s in socks:
            c = F.Conn(port, sock=s)
            pid = F.stats(c)["pid"]
            if len(by_pid.get(pid, [])) < per_child:
                by_pid.setdefault(pid, []).append(c)
            else:
                spare.append(c)
        if len(by_pid) == want_children and \
                all(len(v) == per_child for v in by_pid.values()):
            break
    for c in spare:
        c.close()
    assert len(by_pid) == want_children, "connections reached %d children" \
        % len(by_pid)
    return by_pid


def test_coalescing_500_gets_one_lease_one_put(procs, tmpdir_path):
    p = start_cache(procs, tmpdir_path, "--lease_ttl=60")
    conns = [F.Conn(p.port) for _ in range(50)]
    sent = []
    for c in conns:
        for _ in range(10):
            sent.append((c, c.send("get", domain="herd.com", lease=True)))
    # Exactly one is answered now, with the lease; 499 wait.
    with F.Conn(p.port) as ctl:
        wait_for(lambda: F.stats(ctl)["waiters"] == 499, timeout=10,
                 what="499 waiters")
        st = F.stats(ctl)
        assert st["lease_granted"] == 1 and st["lease_waits"] == 499
        text = rand_text(20000)
        assert F.put(ctl, F.answer("herd.com", "available",
                                   text=text))["t"] == "ok"
        replies = [c.recv_id(i) for c, i in sent]
        granted = [r for r in replies if r["lease"] == "granted"]
        assert len(granted) == 1 and not granted[0]["found"]
        rest = [r for r in replies if r["lease"] != "granted"]
        assert len(rest) == 499
        for r in rest:
            assert r["found"] and not r["stale"], r
            assert r["a"]["status"] == "available"
            assert r["a"]["text"] == text
        st = F.stats(ctl)
        assert st["waiters"] == 0 and st["wait_filled"] == 499
    for c in conns:
        c.close()


def test_unknown_put_answers_waiters(procs, tmpdir_path):
    p = start_cache(procs, tmpdir_path, "--lease_ttl=60")
    with F.Conn(p.port) as c, F.Conn(p.port) as w:
        assert F.get(c, "throttled.com", lease=True)["lease"] == "granted"
        ids = [w.send("get", domain="throttled.com", lease=True)
               for _ in range(20)]
        wait_for(lambda: F.stats(c)["waiters"] == 20, timeout=5,
                 what="20 waiters")
        F.put(c, F.answer("throttled.com", "unknown", reason="rate-limited"))
        for r in w.recv_ids(ids).values():
            assert r["found"] and r["a"]["status"] == "unknown"
            assert r["a"]["reason"] == "rate-limited"
            assert r["lease"] == "none"
        assert F.stats(c)["entries"] == 0


def test_lease_expires_when_holder_never_puts(procs, tmpdir_path):
    p = start_cache(procs, tmpdir_path, "--lease_ttl=1")
    with F.Conn(p.port) as holder, F.Conn(p.port) as w:
        assert F.get(holder, "orphan.com", lease=True)["lease"] == "granted"
        t0 = time.monotonic()
        ids = [w.send("get", domain="orphan.com", lease=True)
               for _ in range(8)]
        replies = w.recv_ids(ids)
        took = time.monotonic() - t0
        # Nobody was answered before the lease ran out; all were by 1 s
        # after that (their own lease_ttl), and one of them took it over.
        assert 0.7 <= took < 2.5, took
        leases = sorted(r["lease"] for r in replies.values())
        assert leases == ["granted"] + ["none"] * 7, leases
        assert not any(r["found"] for r in replies.values())
        st = F.stats(w)
        assert st["waiters"] == 0 and st["wait_timeouts"] == 7


def test_waiters_across_two_children_answered_by_polling(procs,
                                                        tmpdir_path):
    p = start_cache(procs, tmpdir_path, "--lease_ttl=60", servers=2)
    by_pid = _open_per_child(p.port, 2, 3)
    (pa, ca), (pb, cb) = sorted(by_pid.items())
    # Child A's client holds the lease; both children park waiters.
    assert F.get(ca[0], "spread.com", lease=True)["lease"] == "granted"
    wa = [(c, c.send("get", domain="spread.com", lease=True))
          for c in ca[1:] for _ in range(25)]
    wb = [(c, c.send("get", domain="spread.com", lease=True))
          for c in cb for _ in range(25)]
    wait_for(lambda: F.stats(ca[0])["waiters"] == 50 and
             F.stats(cb[0])["waiters"] == 75, timeout=5,
             what="waiters parked in both children")
    # The put lands in child A: A's waiters directly, B's by polling.
    t0 = time.monotonic()
    F.put(ca[0], F.answer("spread.com", "registered", text="hello"))
    for c, i in wa + wb:
        r = c.recv_id(i)
        assert r["found"] and not r["stale"], r
        assert r["a"]["status"] == "registered"
        assert r["a"]["text"] == b"hello"
    assert time.monotonic() - t0 < 1.0
    sa, sb = F.stats(ca[0]), F.stats(cb[0])
    assert sa["wait_filled"] == 50 and sb["wait_filled"] == 75
    assert sa["lease_granted"] + sb["lease_granted"] == 1
    for cs in by_pid.values():
        for c in cs:
            c.close()


def test_unknown_put_elsewhere_hands_the_lease_to_one_waiter(procs,
                                                            tmpdir_path):
    p = start_cache(procs, tmpdir_path, "--lease_ttl=60", servers=2)
    by_pid = _open_per_child(p.port, 2, 2)
    (pa, ca), (pb, cb) = sorted(by_pid.items())
    assert F.get(ca[0], "again.com", lease=True)["lease"] == "granted"
    ids = [cb[1].send("get", domain="again.com", lease=True)
           for _ in range(10)]
    wait_for(lambda: F.stats(cb[0])["waiters"] == 10, timeout=5,
             what="waiters in child B")
    # The holder's registry said nothing useful; its put lands in A.
    F.put(ca[0], F.answer("again.com", "unknown", reason="timeout"))
    # B's first waiter takes the lease over; the others wait behind it.
    first = cb[1].recv_id(ids[0])
    assert first["lease"] == "granted" and not first["found"], first
    time.sleep(0.2)
    assert F.stats(cb[0])["waiters"] == 9
    # Its fill (landing in A this time) answers the rest by polling.
    F.put(ca[0], F.answer("again.com", "available"))
    for i in ids[1:]:
        r = cb[1].recv_id(i)
        assert r["found"] and r["a"]["status"] == "available", r
    for cs in by_pid.values():
        for c in cs:
            c.close()


def test_closed_waiters_are_dropped(procs, tmpdir_path):
    p = start_cache(procs, tmpdir_path, "--lease_ttl=60")
    with F.Conn(p.port) as c:
        F.get(c, "gone.com", lease=True)
        w = F.Conn(p.port)
        for _ in range(5):
            w.send("get", domain="gone.com", lease=True)
        wait_for(lambda: F.stats(c)["waiters"] == 5, timeout=5,
                 what="5 waiters")
        w.close()
        wait_for(lambda: F.stats(c)["waiters"] == 0, timeout=5,
                 what="waiters dropped with their connection")
        assert F.put(c, F.answer("gone.com", "registered"))["t"] == "ok"
    assert p.running()


def test_malformed_frames_logged_and_daemon_keeps_serving(procs,
                                                         tmpdir_path):
    p = start_cache(procs, tmpdir_path, "--max_frame=65536")
    with F.Conn(p.port) as c:
        F.put(c, F.answer("still-here.com", "registered"))

    def serves(c, name=None):
        assert F.get(c, "still-here.com")["found"], name

    check_malformed(p, 65536, serves, serves)
    # Fields of a known type that do not check out: bad-request, link open.
    with F.Conn(p.port) as c:
        r = c.call("get", domain=12)
        assert r["t"] == "err" and r["code"] == "bad-request", r
        r = c.call("put", a={"domain": "x.com"})
        assert r["t"] == "err" and r["code"] == "bad-request", r
        r = F.put(c, F.answer("far.com", "registered", checked=1e300))
        assert r["t"] == "err" and r["code"] == "bad-request", r
        r = c.call("timing", registry="whois.t", ms=2 ** 64 - 1,
                   outcome="ok")
        assert r["t"] == "ok", r
        r = c.call("get", domain="x" * 300)
        assert r["t"] == "err" and r["code"] == "bad-request", r
        assert F.get(c, "still-here.com")["found"]
    log = p.logtext()
    assert "bad-frame" in log or "closing" in log


def test_old_protocol_version_answered_in_kind(procs, tmpdir_path):
    p = start_cache(procs, tmpdir_path)
    with F.Conn(p.port, version=1) as c:
        F.put(c, F.answer("v1.com", "registered", rule="r1"))
        r = F.get(c, "v1.com")
        assert r["v"] == 1 and r["found"]
        assert "rule" not in r["a"]   # v2-only field left out for v1
    with F.Conn(p.port) as c:
        r = F.get(c, "v1.com")
        assert r["v"] == 2 and r["a"]["rule"] == "r1"


def test_bad_db_path_fails_before_forking(procs, tmpdir_path):
    port = free_port()
    p = procs.start([os.path.join(BIN, "whoisd-cache"), "-f", "/dev/null",
                     "--listen=127.0.0.1:%d" % port,
                     "--db_path=/nonexistent/dir/cache.db"], name="cache")
    rc = p.p.wait(10)
    assert rc != 0
    assert "db_path: /nonexistent/dir/cache.db" in p.logtext()


def test_reload_keeps_parked_waiters(procs, tmpdir_path):
    """HUP: the old child says goaway but still answers its waiters (by
    polling, since the put lands in a new child); nothing is lost."""
    p = start_cache(procs, tmpdir_path, "--lease_ttl=60")
    with F.Conn(p.port) as holder, F.Conn(p.port) as w:
        assert F.get(holder, "reload.com", lease=True)["lease"] == "granted"
        ids = [w.send("get", domain="reload.com", lease=True)
               for _ in range(10)]
        old = F.stats(w)["pid"]
        wait_for(lambda: F.stats(holder)["waiters"] == 10, timeout=5,
                 what="10 waiters")
        p.sig(signal.SIGHUP)
        # A fresh connection reaches the new generation.
        def new_child():
            with F.Conn(p.port) as c:
                return F.stats(c)["pid"] != old
        wait_for(new_child, timeout=10, what="a child of the new generation")
        with F.Conn(p.port) as c:
            assert F.put(c, F.answer("reload.com", "reserved"))["t"] == "ok"
        for r in w.recv_ids(ids).values():
            assert r["found"] and r["a"]["status"] == "reserved", r
        # The old link then closes (goaway; in-flight requests were done).
        got = w.read_to_eof(timeout=5)
        assert all(m["t"] == "goaway" for m in F.split_frames(got))
    assert p.running()


def test_quit_answers_what_was_sent_before_the_goaway_and_refuses_new(
        procs, tmpdir_path):
    """QUIT: the goaway does not drop a put the peer sent before it read
    the goaway (it was on its way); the stopping daemon's port refuses new
    connections at once instead of queueing them for nobody."""
    p = start_cache(procs, tmpdir_path)
    with F.Conn(p.port) as c:
        assert F.get(c, "warm.com")["found"] is False
        p.sig(signal.SIGQUIT)
        assert c.recv()["t"] == "goaway"
        # In flight from the peer's side: sent before it saw the goaway.
        rid = c.send("put", a=F.answer("late-put.com", "registered"))
        assert c.recv_id(rid)["t"] == "ok"
        # Still draining (this link is open), yet the port refuses.
        assert p.running()
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", p.port), timeout=2)
        # The link closes by itself soon after (the grace), and the
        # daemon exits.
        t0 = time.monotonic()
        assert c.read_to_eof(timeout=5) == b""
        assert time.monotonic() - t0 < 4
    assert p.p.wait(timeout=10) == 0
    q = start_cache(procs, tmpdir_path)
    with F.Conn(q.port) as c:
        r = F.get(c, "late-put.com")
        assert r["found"] and r["a"]["status"] == "registered", r


def test_gets_answered_at_once_count_toward_max_requests(procs, tmpdir_path):
    """A get answered at once ends its pool request like any other, so a
    child retires after max_requests of them (a parked get ends its own
    when its waiter is answered)."""
    from conftest import children_of
    p = start_cache(procs, tmpdir_path, "--max_requests=20",
                    "--max_requests_jitter=0")
    first = set(children_of(p.pid))
    assert len(first) == 1, first
    for i in range(30):
        try:
            with F.Conn(p.port) as c:
                r = F.get(c, "retire%d.com" % i)
                assert r["t"] == "get_r" and not r["found"], r
        except (ConnectionError, OSError):
            pass    # the retiring child closed as we asked; ask again
    wait_for(lambda: set(children_of(p.pid)) - first, timeout=10,
             what="a new child after 20 gets")
    p.wait_log("retir", timeout=5)
