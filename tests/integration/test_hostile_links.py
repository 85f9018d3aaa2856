"""Peers that never read, stall mid-frame, or just hold sockets open.

- A peer pipelining frames of an unknown version (or type) without ever
  reading the err replies: the serving child's memory and the log stay
  bounded (replies count against the output limit, reading pauses, the
  peer is closed once it reads nothing for the flush timeout; warnings
  are rate-limited).
- Half a frame, then nothing: closed after link_frame_timeout.  A link
  that never sends a frame gets goaway after link_hello_timeout; one with
  nothing in flight after link_idle_timeout.
- More idle sockets than the pool takes (max_clients_per_child x
  max_servers): a real client is still answered at once (the idlest link
  is sent goaway to make room).
- The front's links to the cache, idle past the cache's link_idle_timeout:
  every request is still answered, with no failure and no warning.
"""
import os
import resource
import socket
import time

import pytest

import frames as F
from conftest import BIN, BUILD, free_port, port_open, wait_for
from suite import Suite
from test_hostile_frames import peak_rss, reset_peak, serving_child

FLOOD = 1000 * 1000
# Growth of the serving child's peak RSS allowed during a flood: the
# 8 MiB output limit and change (ASan pads allocations).
RSS_LIMIT = (96 if BUILD.endswith("-san") else 64) * 1024 * 1024
LOG_LINES = 20
# ASan keeps up to 256 MB of freed blocks in quarantine by default: a
# million frames' buffers would fill it and hide what is really held.
SAN_ENV = {"ASAN_OPTIONS": os.environ.get("ASAN_OPTIONS", "") +
           ":quarantine_size_mb=8"} if BUILD.endswith("-san") else None


def start_cache(procs, tmp, *extra):
    port = free_port()
    p = procs.start([os.path.join(BIN, "whoisd-cache"), "-f", "/dev/null",
                     "--listen=127.0.0.1:%d" % port,
                     "--db_path=" + os.path.join(tmp, "cache.db"),
                     "--log_level=3"] + list(extra), name="whoisd-cache",
                    env=SAN_ENV)
    wait_for(lambda: port_open(port) or not p.running(), timeout=10,
             what="whoisd-cache listening")
    assert p.running(), p.logtext()
    p.wait_log("ready:", timeout=10)
    p.port = port
    return p


def log_lines(p):
    return p.logtext().count("\n")


@pytest.mark.parametrize("kind", ["unknown version", "unknown type"])
def test_flood_without_reading(procs, tmpdir_path, kind):
    p = start_cache(procs, tmpdir_path, "--min_servers=1", "--max_servers=2",
                    "--min_spare_servers=0", "--max_spare_servers=1")
    c = F.Conn(p.port, timeout=30)
    assert c.call("ping")["t"] == "pong"
    kid = wait_for(lambda: serving_child(p, c), timeout=5,
                   what="the child serving the link")
    if kind == "unknown version":
        one = F.frame(F.pack({"v": 99, "t": "ping", "id": 1}))
    else:
        one = F.frame(F.pack({"v": F.PROTO_VERSION, "t": "no-such-type",
                              "id": 1}))
    reset_peak(kid)
    before = peak_rss(kid)
    lines = log_lines(p)
    t0 = time.monotonic()
    try:
        # Never read: the daemon must stop reading us, then close us.
        c.sock.sendall(one * FLOOD)
    except (socket.timeout, OSError):
        pass
    # Whatever was taken in is answered (or the link closed) by now.
    time.sleep(1)
    grown = peak_rss(kid) - before
    added = log_lines(p) - lines
    print("%s: %d frames, child %d peak RSS grew by %.1f MB, %d log lines, "
          "%.1f s" % (kind, FLOOD, kid, grown / 1048576.0, added,
                      time.monotonic() - t0))
    c.close()
    assert grown < RSS_LIMIT, grown
    assert added < LOG_LINES, p.logtext()[-3000:]
    # The daemon still serves.
    with F.Conn(p.port, timeout=5) as d:
        assert d.call("ping")["t"] == "pong"


def test_half_frame_closed_after_frame_timeout(procs, tmpdir_path):
    p = start_cache(procs, tmpdir_path, "--link_frame_timeout=1")
    c = F.Conn(p.port, timeout=5)
    assert c.call("ping")["t"] == "pong"
    whole = F.frame(F.pack({"v": F.PROTO_VERSION, "t": "ping", "id": 2}))
    t0 = time.monotonic()
    c.send_raw(whole[:len(whole) // 2])
    rest = c.read_to_eof(timeout=6)
    took = time.monotonic() - t0
    c.close()
    assert rest == b"" and 0.8 < took < 4, (rest, took)
    assert "frame not whole" in p.logtext()


def test_silent_and_idle_links_get_goaway(procs, tmpdir_path):
    p = start_cache(procs, tmpdir_path, "--link_hello_timeout=1",
                    "--link_idle_timeout=2")
    silent = F.Conn(p.port, timeout=5)
    idle = F.Conn(p.port, timeout=5)
    assert idle.call("ping")["t"] == "pong"
    t0 = time.monotonic()
    out = F.split_frames(silent.read_to_eof(timeout=6))
    took = time.monotonic() - t0
    assert [m["t"] for m in out] == ["goaway"] and 0.8 < took < 3, (out, took)
    out = F.split_frames(idle.read_to_eof(timeout=6))
    took = time.monotonic() - t0
    assert [m["t"] for m in out] == ["goaway"] and 1.5 < took < 4, (out, took)
    silent.close()
    idle.close()


def test_idle_sockets_do_not_lock_out_a_client(procs, tmpdir_path):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = 1400
    if soft < want:
        if hard != resource.RLIM_INFINITY and hard < want:
            pytest.skip("open-files hard limit %d" % hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    # 4 children of 256: the pool takes 1,024 connections.
    p = start_cache(procs, tmpdir_path, "--max_clients_per_child=256",
                    "--max_servers=4", "--min_servers=4",
                    "--min_spare_servers=1", "--max_spare_servers=3")
    idle = []
    try:
        for _ in range(1100):
            s = socket.socket()
            s.settimeout(5)
            s.connect(("127.0.0.1", p.port))
            idle.append(s)
        time.sleep(1)
        t0 = time.monotonic()
        with F.Conn(p.port, timeout=2) as c:
            assert c.call("ping")["t"] == "pong"
        took = time.monotonic() - t0
        print("answered in %.3f s past 1,100 idle sockets" % took)
        assert took < 2
        assert "at max_clients_per_child: goaway" in p.logtext()
    finally:
        for s in idle:
            s.close()
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_front_links_outlive_idle_timeout(procs, tmpdir_path):
    s = Suite(procs, tmpdir_path,
              cache=["--link_idle_timeout=1", "--link_hello_timeout=1"],
              front=["--memo_ttl=0"]).start()
    names = ["idle%d.com" % i for i in range(4)]
    for n in names:
        assert s.whois(n).get("status") is not None
    asked = {n: s.sim_count(n) for n in names}
    for rnd in range(3):
        # Past the cache's idle timeout: its links get goaway meanwhile.
        time.sleep(2.5)
        for n in names:
            a = s.whois(n)
            assert a.get("source") == "cache", (rnd, n, a)
        for r in s.check(names):
            assert r["source"] == "cache", (rnd, r)
    # Every later answer came from the cache: the registry was not asked.
    assert {n: s.sim_count(n) for n in names} == asked
    front = s.p["front"].logtext()
    assert "lost" not in front and "unavailable" not in front, front[-3000:]
    cache = s.p["cache"].logtext()
    assert "no frame" not in cache, cache[-3000:]
    for _ in range(4):
        code, body = s.http("/metrics")
        assert code == 200
        for line in body.splitlines():
            if line.startswith("whoisd_backend_errors_total"):
                assert line.endswith(" 0"), line
