"""The suite end to end: the four real daemons, the simulator as every
registry, and the real Debian whois client and curl as the clients."""
import asyncio
import json
import os
import re
import signal
import socket
import struct
import time

import pytest

from conftest import BIN, read_all, recv_all, wait_for
from suite import Answer, Suite

pytestmark = pytest.mark.skipif(
    not all(os.path.exists(os.path.join(BIN, b)) for b in
            ("whoisd", "whoisd-cache", "whoisd-query", "whoisd-errdb")),
    reason="the four daemons are not built")


@pytest.fixture
def suite(procs, tmpdir_path):
    return Suite(procs, tmpdir_path).start()


def test_verdicts_on_both_ports(suite):
    a = suite.whois("example.com")
    assert a["status"] == "registered", a
    assert a["source"] == "registry"
    assert a["ace"] == "example.com"
    assert a["registry"]
    assert a.get("rule"), a
    assert "Domain Name: EXAMPLE.COM" in a.text
    a = suite.whois("free-one.com")
    assert a["status"] == "available", a
    assert re.match(r'No match for "FREE-ONE.COM"\.', a["matched"]), a
    a = suite.whois("reserved-one.be")
    assert a["status"] == "reserved", a
    r = {x["domain"]: x for x in suite.check(
        ["example.com", "free-one.com", "reserved-one.be", "free-two.de"])}
    assert r["example.com"]["status"] == "registered"
    assert r["example.com"]["source"] == "cache"
    assert r["free-one.com"]["status"] == "available"
    assert r["reserved-one.be"]["status"] == "reserved"
    assert r["free-two.de"]["status"] == "available"
    assert r["free-two.de"]["source"] == "registry"
    assert r["free-two.de"]["rule"] and r["free-two.de"]["matched"]


def test_invalid_names_on_both_ports(suite):
    bad = {"": "empty", "a" * 300 + ".com": "too long",
           "a" * 64 + ".com": "label too long", "bad..name.com": "empty label",
           "-bad.com": "hyphen"}
    for name, why in bad.items():
        a = suite.whois_raw(name.encode() + b"\r\n")
        assert a["status"] == "invalid", (name, a)
        assert why in a["reason"], (name, a)
        r = suite.check([name])[0]
        assert r["status"] == "invalid" and why in r["reason"], (name, r)
    # Binary bytes: a clear answer, not a dropped connection.
    a = suite.whois_raw(b"\x00\x01\xfe\xff.com\r\n")
    assert a["status"] == "invalid" and a["reason"], a
    code, body = suite.http("/v1/check?domain=%00%ff.com")
    assert code == 200 and json.loads(body)["results"][0]["status"] == "invalid"
    # An overlong line on the whois port.
    a = suite.whois_raw(b"x" * 100000 + b"\r\n")
    assert a["status"] == "invalid" and "too long" in a["reason"], a
    # More than http_max_names names, and no name at all.
    code, body = suite.http("/v1/check?" + "&".join(
        "domain=a%d.com" % i for i in range(1001)))
    assert code == 400 and "at most 1000" in body
    code, body = suite.http("/v1/check")
    assert code == 400
    assert suite.sim_stats()["total"] == 0


def test_idn_answered_under_ace(suite):
    a = suite.whois("bücher.de")
    assert a["ace"] == "xn--bcher-kva.de", a
    assert a["status"] in ("registered", "available"), a
    r = suite.check(["BÜCHER.de"])[0]
    assert r["ace"] == "xn--bcher-kva.de"
    assert r["source"] == "cache"
    assert suite.sim_count("xn--bcher-kva.de") == 1


def test_below_registrable_name(suite):
    a = suite.whois("www.example.co.uk")
    assert a["ace"] == "example.co.uk"
    assert "registrable name example.co.uk" in a["note"]
    assert suite.sim_count("example.co.uk") == 1


def test_second_ask_from_cache(suite):
    assert suite.whois("example.org")["source"] == "registry"
    assert suite.whois("example.org")["source"] == "cache"
    r = suite.check(["example.org"])[0]
    assert r["source"] == "cache"
    assert suite.sim_count("example.org") == 1


async def _one(port, name):
    r, w = await asyncio.open_connection("127.0.0.1", port)
    w.write(name.encode() + b"\r\n")
    await w.drain()
    data = await r.read()
    w.close()
    return Answer(data.decode())


async def _many(port, names):
    return await asyncio.gather(*[_one(port, n) for n in names])


def test_500_concurrent_clients_one_registry_query(procs, tmpdir_path):
    s = Suite(procs, tmpdir_path, regsim=["--latency-ms=400"]).start()
    answers = asyncio.run(_many(s.port["whois"], ["free-herd.com"] * 500))
    assert len(answers) == 500
    bad = [a for a in answers if a.get("status") != "available"]
    assert not bad, bad[:3]
    assert s.sim_count("free-herd.com") == 1
    assert s.sim_stats()["total"] == 1


def test_one_front_child_holds_many_waiting_clients(procs, tmpdir_path):
    """Clients waiting on a slow registry cost a socket, not CPU: one
    front child keeps accepting past 256 of them (the old per-child cap,
    under which a burst waited a whole registry round trip for a slot)."""
    s = Suite(procs, tmpdir_path, regsim=["--latency-ms=2500"],
              front=["--min_servers=1", "--max_servers=1",
                     "--min_spare_servers=0", "--max_spare_servers=1"]
              ).start()
    n = 600
    socks = []
    try:
        for i in range(n):
            c = socket.create_connection(("127.0.0.1", s.port["whois"]), 5)
            c.sendall(b"free-wait-%03d.com\r\n" % i)
            socks.append(c)
        t0 = time.monotonic()
        clients = 0
        while time.monotonic() - t0 < 2.0 and clients < n:
            st = json.loads(s.http("/status")[1])
            clients = sum(ch["clients"] for ch in st["pool"]["children"])
            time.sleep(0.05)
        # Every client is in the child before the registry has answered
        # the first of them (2.5 s).
        assert clients >= n, (clients, st)
        assert len(st["pool"]["children"]) == 1, st
        for c in socks:
            c.settimeout(20)
            a = Answer(recv_all(c).decode())
            assert a.get("status") == "available", a
    finally:
        for c in socks:
            c.close()
    assert s.sim_stats()["total"] == n


def test_memo_refresh_asks_the_cache_if_its_answer_is_still_the_same(
        procs, tmpdir_path):
    """An expired memo entry is refreshed with a get that carries "if":
    the cache says `same` and the text is not sent again; the answer on
    the whois port is whole, from the cache, and the registry was asked
    once."""
    s = Suite(procs, tmpdir_path,
              front=["--min_servers=1", "--max_servers=1",
                     "--min_spare_servers=0", "--max_spare_servers=1",
                     "--memo_ttl=0.2"]).start()
    first = s.whois("example.org")
    assert first["status"] == "registered", first

    def refreshed():
        m = re.search(r"^whoisd_memo_refreshed_total(?:\{[^}]*\})? (\d+)$",
                      s.http("/metrics")[1], re.M)
        return int(m.group(1))
    assert refreshed() == 0
    for _ in range(3):
        time.sleep(0.3)
        a = s.whois("example.org")
        assert a["status"] == "registered" and a["source"] == "cache", a
        assert a.text == first.text
        assert "Domain Name: example.org" in a.text
    assert refreshed() >= 2
    assert s.sim_count("example.org") == 1


def test_rate_limited_registry_backs_off(procs, tmpdir_path):
    s = Suite(procs, tmpdir_path, regsim=["--ratelimit=uk:2/m"]).start()
    assert s.whois("one.uk")["status"] == "registered"
    assert s.whois("two.uk")["status"] == "registered"
    a = s.whois("three.uk")
    assert a["status"] == "unknown" and a["reason"] == "rate-limited", a
    assert int(a["retry-after"]) > 0
    total = s.sim_stats()["total"]
    # The errdb holds the event, and the registry is in back-off.
    wait_for(lambda: "ratelimited" in s.ctl("errors"), timeout=10,
             what="rate-limit event in the errdb")
    assert "backoff" in s.ctl("health")
    # No query reaches the registry while it is in back-off.
    for n in ("four.uk", "five.uk", "six.co.uk"):
        a = s.whois(n)
        assert a["status"] == "unknown", a
        assert a["reason"] == "registry-backoff", a
    assert s.sim_stats()["total"] == total


@pytest.mark.parametrize("fault,reasons", [
    ("timeout", ("timeout",)),
    ("reset", ("reset", "truncated")),
    ("empty", ("empty-reply",)),
    ("garbage", ("unrecognised-reply",)),
])
def test_registry_faults_answer_unknown_in_time(procs, tmpdir_path, fault,
                                                reasons):
    s = Suite(procs, tmpdir_path, query=["--total_timeout=2",
                                         "--first_byte_timeout=2"],
              front=["--request_timeout=4"]).start()
    t0 = time.monotonic()
    a = s.whois("fault-%s-x.com" % fault)
    assert time.monotonic() - t0 < 4.5
    assert a["status"] == "unknown", a
    assert a["reason"] in reasons, a
    # Never cached, and everything keeps serving.
    assert s.whois("example.net")["status"] == "registered"
    for n in ("front", "cache", "query", "errdb"):
        assert s.p[n].running()


def test_cache_restart_keeps_entries_and_front_survives_cache_down(suite):
    # Thick registries only: a thin one (.com) adds a registrar referral hop.
    names = ["example.org", "free-keep.org", "example.de", "free-keep.de"]
    first = {x["domain"]: x["status"] for x in suite.check(names)}
    total = suite.sim_stats()["total"]
    assert total == 4
    suite.stop_one("cache")
    suite.start_one("cache")
    again = suite.check(names)
    assert all(x["source"] == "cache" for x in again), \
        [(x["domain"], x["source"], x["checked"]) for x in again]
    assert {x["domain"]: x["status"] for x in again} == first
    assert suite.sim_stats()["total"] == total
    # With the cache down the front still answers, through the query
    # daemon: after link_down_wait (1 s), not request_timeout (10 s).
    suite.stop_one("cache")
    t0 = time.monotonic()
    r = suite.check(["example.net", "free-nocache.org"])
    assert time.monotonic() - t0 < 5
    assert [x["status"] for x in r] == ["registered", "available"], r
    assert all(x["source"] == "registry" for x in r)
    # Still down: no more waiting for it.
    t0 = time.monotonic()
    r = suite.check(["free-nocache2.org"])
    assert time.monotonic() - t0 < 2.5
    assert r[0]["status"] == "available" and r[0]["source"] == "registry"


def test_query_down_answers_unknown_soon_and_hits_still_served(suite):
    assert suite.whois("example.org")["status"] == "registered"
    suite.stop_one("query")
    # A miss: unknown after link_down_wait (1 s), not request_timeout.
    t0 = time.monotonic()
    a = suite.whois("free-qdown.org")
    assert time.monotonic() - t0 < 5
    assert a["status"] == "unknown" and a["reason"] == "query-unavailable", a
    # Still down: at once.
    t0 = time.monotonic()
    a = suite.whois("free-qdown2.org")
    assert time.monotonic() - t0 < 2.5
    assert a["status"] == "unknown", a
    # Cached names do not need it.
    a = suite.whois("example.org")
    assert a["status"] == "registered" and a["source"] == "cache", a
    # Back: the failed miss left no lease behind that would hold the
    # name for lease_ttl (10 s).
    suite.start_one("query")
    t0 = time.monotonic()
    wait_for(lambda: suite.whois("free-qdown.org")["status"] == "available",
             timeout=8, interval=0.2, what="free-qdown.org answered again")
    assert time.monotonic() - t0 < 5


def test_errdb_down_events_spooled_then_stored_once(suite):
    suite.stop_one("errdb")
    names = ["fault-reset-n%d.com" % i for i in range(50)]
    for chunk in range(0, 50, 10):
        r = suite.check(names[chunk:chunk + 10])
        assert all(x["status"] == "unknown" for x in r), r
    wait_for(lambda: len([f for f in os.listdir(suite.spool)
                          if not f.startswith(".")]) >= 50, timeout=10,
             what="50 spooled events")
    suite.start_one("errdb")
    wait_for(lambda: os.listdir(suite.spool) == [], timeout=30,
             what="spool drained")
    out = suite.ctl("errors")
    stored = [n for n in names if " %s " % n in out]
    # whoisctl shows the 50 most recent; every one is there, once.
    assert len(stored) == 50, out
    for n in names:
        assert out.count(" %s " % n) == 1, n


def test_64k_answer_intact(suite):
    direct = read_all(suite.port["regsim"], b"fault-big-x.org\r\n")
    assert len(direct) == 65536
    a = suite.whois("fault-big-x.org")
    assert a["status"] == "registered", a
    assert len(a.text.encode()) >= 60000
    # The registry's text arrives byte for byte (line endings normalised).
    want = direct.decode().replace("\r\n", "\n").replace("\r", "\n")
    assert a.text.strip("\n") == want.strip("\n")
    # Twice: the second comes from the cache, deflated in SQLite.
    b = suite.whois("fault-big-x.org")
    assert b["source"] == "cache" and b.text == a.text


def frame(body, flags=0):
    return struct.pack(">IB", len(body) + 1, flags) + body


@pytest.mark.parametrize("target", ["cache", "query", "errdb"])
def test_malformed_frames_rejected_no_crash(suite, target):
    port = suite.port[target]
    bad = [b"GET / HTTP/1.0\r\n\r\n",                  # not a frame at all
           struct.pack(">IB", 0xFFFFFFF0, 0),          # a 4 GB length
           frame(b"\xc1"),                             # not msgpack
           frame(b"\x93\x01\x02\x03"),                 # an array, not a map
           frame(b"\x80", flags=0x80),                 # unknown flag bits
           frame(b"x\x9c" + b"\x00" * 20, flags=1)]    # broken deflate
    for data in bad:
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)
        got = b""
        try:
            while True:
                d = s.recv(65536)
                if not d:
                    break
                got += d
        except ConnectionResetError:
            pass
        s.close()
        # Either an err reply frame or a plain close; never a hang.
        if got:
            assert b"err" in got
    wait_for(lambda: "bad" in suite.p[target].logtext().lower() or
             "frame" in suite.p[target].logtext(), timeout=5,
             what="a log line about the bad frame")
    assert suite.p[target].running()
    assert suite.whois("example.com")["status"] == "registered"


def test_timeouts_follow_the_registrys_pace(procs, tmpdir_path):
    """A registry that answers in ~50 ms gets 3 x its p99 (clamped to
    adapt_min), not the configured 20 s, before a hang is called."""
    # One child each: the figures are each query child's own, so the
    # hang must reach the child that fetched them.
    one = ["--min_servers=1", "--max_servers=2", "--min_spare_servers=0",
           "--max_spare_servers=1"]
    s = Suite(procs, tmpdir_path, regsim=["--latency-ms=50"],
              query=["--adapt_min=1", "--adapt_refresh=0.2",
                     "--total_timeout=20", "--first_byte_timeout=20"] + one,
              front=["--request_timeout=15"] + one).start()
    for i in range(25):
        assert s.whois("pace%d.de" % i)["status"] == "registered"
    # Each ask after adapt_refresh starts a fetch of the timing figures
    # (the next ask uses them); several, since on a loaded machine the
    # 25 samples may reach the timing DB a while after their answers.
    for i in range(4):
        time.sleep(0.5)
        s.whois("pace-refresh%d.de" % i)
    t0 = time.monotonic()
    a = s.whois("fault-timeout-pace.de")
    took = time.monotonic() - t0
    assert a["status"] == "unknown" and a["reason"] == "timeout", a
    assert took < 3, took


def memo_hits(suite):
    code, body = suite.http("/metrics")
    assert code == 200, body
    return sum(int(l.rsplit(" ", 1)[1]) for l in body.splitlines()
               if l.startswith("whoisd_memo_hits_total"))


def test_memo_holds_a_busy_working_set(procs, tmpdir_path):
    """1,000 names asked again and again are answered from the child's
    memo, not one cache round trip each: the memo must hold all of them
    (a direct-mapped table of 1,024 slots held ~40%)."""
    s = Suite(procs, tmpdir_path,
              front=["--min_servers=1", "--max_servers=1", "--min_spare_servers=0",
                     "--max_spare_servers=1", "--memo_ttl=60"]
              ).start()
    names = ["memo-%04d.com" % i for i in range(1000)]
    batches = [names[i:i + 100] for i in range(0, len(names), 100)]
    sources, asked = [], []
    for rnd in range(3):       # registry, then cache, then memo
        before = memo_hits(s)
        for b in batches:
            sources += [r["source"] for r in s.check(b)]
        got = memo_hits(s) - before
        asked.append(s.sim_stats()["total"])
    assert sources.count("registry") == 1000, sources[:5]
    assert got >= 990, "memo answered %d of 1000 asks" % got
    assert asked[0] == asked[2], "registry asked again: %r" % asked


def test_whois_port_slow_silent_and_split_clients(procs, tmpdir_path):
    """The whois port's bare-socket state machine: a query split over
    several writes, a query without a newline before EOF, a client that
    says nothing (deferred accept, then idle_timeout), and a client that
    hangs up at once; the port keeps answering throughout."""
    s = Suite(procs, tmpdir_path, front=["--idle_timeout=1"]).start()
    port = s.port["whois"]
    # Split: the line arrives in three pieces.
    c = socket.create_connection(("127.0.0.1", port), timeout=10)
    for piece in (b"exam", b"ple.c", b"om\r\n"):
        c.sendall(piece)
        time.sleep(0.2)
    a = Answer(recv_all(c).decode())
    assert a["status"] == "registered" and a["domain"] == "example.com", a
    # No newline, then EOF: answered anyway.
    c = socket.create_connection(("127.0.0.1", port), timeout=10)
    c.sendall(b"free-eof.com")
    c.shutdown(socket.SHUT_WR)
    a = Answer(recv_all(c).decode())
    assert a["status"] == "available", a
    # Silent: a clear answer, within deferred accept + idle_timeout.
    t0 = time.monotonic()
    silent = socket.create_connection(("127.0.0.1", port), timeout=10)
    # Connect and hang up at once, many times: nothing to answer, no leak.
    for _ in range(50):
        socket.create_connection(("127.0.0.1", port), timeout=5).close()
    assert s.whois("example.com")["status"] == "registered"
    a = Answer(recv_all(silent).decode())
    took = time.monotonic() - t0
    assert a["status"] == "invalid" and "timeout" in a["reason"], a
    assert took < 8, took
    assert s.p["front"].running()



def cache_counters(s):
    import frames as F
    with F.Conn(s.port["cache"]) as c:
        return F.stats(c)


def test_front_shares_one_cache_get_per_name(procs, tmpdir_path):
    """Lookups of one name in one front child share a cache get (a
    flight): a hit is fetched once for everyone asking at that moment,
    and the clients behind a miss wait in the cache as one request, not
    one each.  The memo is off so that every ask reaches this path."""
    s = Suite(procs, tmpdir_path, regsim=["--latency-ms=400"],
              front=["--min_servers=1", "--max_servers=1",
                     "--min_spare_servers=0", "--max_spare_servers=1",
                     "--memo_ttl=0"]).start()
    assert s.check(["shared.com"])[0]["source"] == "registry"
    # 100 lookups of one cached name in one request: one cache get.
    before = cache_counters(s)
    res = s.check(["shared.com"] * 100)
    assert [r["source"] for r in res] == ["cache"] * 100, res[:3]
    after = cache_counters(s)
    assert after["hits"] - before["hits"] == 1, (before, after)
    # 300 clients at once behind one miss: one registry query, and the
    # 299 that came second wait in the cache as one or a few gets.
    before = cache_counters(s)
    answers = asyncio.run(_many(s.port["whois"], ["free-flight.com"] * 300))
    bad = [a for a in answers if a.get("status") != "available"]
    assert not bad, bad[:3]
    assert s.sim_count("free-flight.com") == 1
    after = cache_counters(s)
    waits = after["lease_waits"] - before["lease_waits"]
    assert waits <= 5, (waits, before, after)
