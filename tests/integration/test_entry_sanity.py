"""Values a local peer sends are checked where they enter a daemon.

The internal ports take any local peer: a forged put or error event must
not plant an answer or a back-off that outlives its sense, and a stalled
cache must not cost each front request its whole request_timeout.
"""
import asyncio
import os
import signal
import subprocess
import time

import frames as F
from conftest import BIN, children_of
from suite import Suite
from test_cache import start_cache
from test_errdb import errors, health, send_error, start_errdb
from test_suite import _many, _one

DAY = 86400


def test_put_with_a_name_that_is_no_domain_is_refused(procs, tmpdir_path):
    p = start_cache(procs, tmpdir_path)
    with F.Conn(p.port) as c:
        for bad in ("no-dot", "a..com", "-x.com", "UPPER.com", "x.123",
                    "a b.com", "x" * 64 + ".com"):
            r = F.put(c, F.answer(bad, "registered"))
            assert r["t"] == "err" and r["code"] == "bad-request", (bad, r)
            assert not F.get(c, bad)["found"], bad
        st = F.stats(c)
        assert st["entries"] == 0 and st["puts"] == 0, st
    assert "refused: not a domain name" in p.logtext()


def test_put_checked_far_ahead_is_refused_and_leaves_the_lease(
        procs, tmpdir_path):
    p = start_cache(procs, tmpdir_path)
    with F.Conn(p.port) as c, F.Conn(p.port) as c2:
        assert F.get(c, "forged.com", lease=True)["lease"] == "granted"
        year5138 = 99999999999.0
        forged = [F.answer("forged.com", "available", checked=year5138),
                  F.answer("forged.com", "available",
                           checked=time.time() + 3600),
                  # An unknown would free the lease: refused, it does not.
                  F.answer("forged.com", "unknown", checked=year5138),
                  F.answer("forged.com", "registered",
                           expires=time.time() + 1000 * 365 * DAY)]
        for a in forged:
            r = F.put(c2, a)
            assert r["t"] == "err" and r["code"] == "bad-request", r
        assert "checked in the future" in p.logtext()
        assert not F.get(c2, "forged.com")["found"]
        st = F.stats(c2)
        assert st["entries"] == 0 and st["leases"] == 1, st
        # The lease holder's real answer, a little skewed, goes in.
        r = F.put(c, F.answer("forged.com", "registered",
                              checked=time.time() + 60))
        assert r["t"] == "ok", r
        assert F.get(c, "forged.com")["found"]


def test_forged_year_long_retry_after_backs_off_a_day_at_most(
        procs, tmpdir_path):
    p = start_errdb(procs, tmpdir_path)
    now = time.time()
    with F.Conn(p.port) as c:
        r = send_error(c, F.error_event("forged-1", kind="ratelimited",
                                        registry="whois.victim.test", t=now,
                                        retry_after=365 * DAY))
        assert r["t"] == "ok", r
        h = health(c, "whois.victim.test")["whois.victim.test"]
        assert h["state"] == "backoff", h
        assert h["until"] <= now + DAY + 5, (h["until"] - now) / DAY
        # An event from the far future would stretch it: refused.
        for t in (now + 3600, now + 1000 * 365 * DAY):
            r = send_error(c, F.error_event("forged-%d" % t,
                                            kind="ratelimited",
                                            registry="whois.victim2.test",
                                            t=t, retry_after=DAY))
            assert r["t"] == "err" and r["code"] == "bad-request", r
        assert health(c, "whois.victim2.test")["whois.victim2.test"][
            "state"] == "ok"
        assert errors(c, registry="whois.victim2.test") == []
        # A real rate limit, a little skewed, still counts.
        r = send_error(c, F.error_event("real-1", kind="ratelimited",
                                        registry="whois.real.test",
                                        t=now + 60, retry_after=120))
        assert r["t"] == "ok", r
        assert health(c, "whois.real.test")["whois.real.test"][
            "state"] == "backoff"


def test_whoisctl_health_clear_ends_a_backoff(procs, tmpdir_path):
    p = start_errdb(procs, tmpdir_path)
    now = time.time()
    with F.Conn(p.port) as c:
        for i, reg in enumerate(("whois.stuck.test", "whois.other.test")):
            send_error(c, F.error_event("rl-%d" % i, kind="ratelimited",
                                        registry=reg, t=now,
                                        retry_after=DAY))
        send_error(c, F.error_event("to-1", kind="timeout",
                                    registry="whois.stuck.test", t=now))
        assert health(c, "whois.stuck.test")["whois.stuck.test"][
            "state"] == "backoff"
    ctl = [os.path.join(BIN, "whoisctl"), "--errdb=127.0.0.1:%d" % p.port]
    out = subprocess.run(ctl + ["health", "--clear", "whois.stuck.test"],
                         capture_output=True, text=True, timeout=10)
    assert out.returncode == 0, out
    assert "1 rate-limit event(s) removed" in out.stdout, out.stdout
    with F.Conn(p.port) as c:
        assert health(c, "whois.stuck.test")["whois.stuck.test"][
            "state"] == "ok"
        # Only the rate limits go; the other registry keeps its back-off.
        kinds = [e["kind"] for e in errors(c, registry="whois.stuck.test")]
        assert kinds == ["timeout"], kinds
        assert health(c, "whois.other.test")["whois.other.test"][
            "state"] == "backoff"
    out = subprocess.run(ctl + ["health", "--clear"], capture_output=True,
                         text=True, timeout=10)
    assert out.returncode == 2, out
    assert "back-off of whois.stuck.test cleared" in p.logtext()


def _stall(pid, sig):
    for p in [pid] + children_of(pid):
        try:
            os.kill(p, sig)
        except ProcessLookupError:
            pass


def test_stalled_cache_costs_cache_timeout_not_request_timeout(
        procs, tmpdir_path):
    s = Suite(procs, tmpdir_path, regsim=["--latency-ms=200"]).start()
    assert s.whois("free-warm.com")["status"] == "available"
    cache = s.p["cache"].pid
    stalled = [cache] + children_of(cache)
    _stall(cache, signal.SIGSTOP)
    try:
        for name in ("free-stalled.com", "example.com"):
            t0 = time.monotonic()
            a = s.whois(name, timeout=15)
            took = time.monotonic() - t0
            # cache_timeout (1 s) and the registry, not request_timeout.
            assert took < 4.0, (name, took, a)
            assert a["source"] == "registry", a
        assert a["status"] == "registered", a
        assert s.sim_count("free-stalled.com") == 1
    finally:
        for p in stalled:
            try:
                os.kill(p, signal.SIGCONT)
            except ProcessLookupError:
                pass
    # Back to normal: the cache answers again, its leases intact.
    assert s.whois("free-warm.com")["source"] == "cache"


def test_stalled_cache_probe_times_each_flight_from_its_own_start(
        procs, tmpdir_path):
    """Gets started 0.2 s apart in one front child are each given up
    cache_timeout (1 s) after their own start: not at request_timeout
    (a probe that never fires), nor early (one probed before its time)."""
    s = Suite(procs, tmpdir_path, regsim=["--latency-ms=50"],
              front=["--min_servers=1", "--max_servers=1",
                     "--min_spare_servers=0", "--max_spare_servers=1"]
              ).start()
    assert s.whois("free-warm.com")["status"] == "available"
    cache = s.p["cache"].pid
    stalled = [cache] + children_of(cache)
    port = s.port["whois"]

    async def one(delay, name):
        await asyncio.sleep(delay)
        t0 = time.monotonic()
        a = await _one(port, name)
        return name, time.monotonic() - t0, a

    async def staggered():
        return await asyncio.gather(*[
            one(0.2 * i, "free-stagger-%d.com" % i) for i in range(5)])

    _stall(cache, signal.SIGSTOP)
    try:
        for name, took, a in asyncio.run(staggered()):
            assert a["source"] == "registry", (name, a)
            assert a["status"] == "available", (name, a)
            assert 0.95 < took < 3.5, (name, took)
    finally:
        for p in stalled:
            try:
                os.kill(p, signal.SIGCONT)
            except ProcessLookupError:
                pass
    assert s.whois("free-warm.com")["source"] == "cache"


def test_cache_parking_behind_a_slow_registry_is_not_a_stall(
        procs, tmpdir_path):
    """A get parked behind another asker's lease outlives cache_timeout
    while its cache is alive: the names still cost one registry query."""
    s = Suite(procs, tmpdir_path, regsim=["--latency-ms=2500"]).start()
    names = ["free-slow.com"] * 20
    answers = asyncio.run(_many(s.port["whois"], names))
    assert [a.get("status") for a in answers] == ["available"] * 20, \
        answers[:2]
    assert s.sim_count("free-slow.com") == 1
