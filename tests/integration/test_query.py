"""whoisd-query against the registry simulator (and small fakes).

Real processes on loopback: whoisd-regsim on a free port, whoisd-query
with --registry_override pointing at it and a private spool directory.
The cache and the errdb are played by FakeDaemon (a frame server in this
file) where a test needs to see what whoisd-query sends them; IANA and
unusual registries by FakeWhois.  Needs python3-msgpack.
"""
import glob
import json
import os
import re
import signal
import socket
import struct
import threading
import time
import zlib
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

import msgpack
import pytest

import frames as F
from conftest import BIN, free_port, port_open, proc_state, wait_for
from regsim_helper import Regsim

QUERY = os.path.join(BIN, "whoisd-query")


# ------------------------------------------------------------ frames

def frame(m):
    body = msgpack.packb(m, use_bin_type=True)
    return struct.pack(">IB", len(body) + 1, 0) + body


def read_frame(sock, buf):
    """One message off sock; returns (msg, rest of buf)."""
    while len(buf) < 5:
        d = sock.recv(65536)
        if not d:
            raise EOFError("connection closed")
        buf += d
    n, flags = struct.unpack(">IB", buf[:5])
    while len(buf) < 4 + n:
        d = sock.recv(65536)
        if not d:
            raise EOFError("connection closed mid-frame")
        buf += d
    body, buf = buf[5:4 + n], buf[4 + n:]
    if flags & 1:
        body = zlib.decompress(body)
    return msgpack.unpackb(body, raw=False), buf


class QueryConn:
    """One link to whoisd-query (as the front), or to the errdb (as the
    operator); requests one at a time."""

    def __init__(self, port, timeout=30, role="front"):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buf = b""
        self.id = 0
        if F.keys_dir():
            F.authenticate(self.call, role)

    def call(self, t, **fields):
        self.id += 1
        self.s.sendall(frame(dict(v=2, t=t, id=self.id, **fields)))
        while True:
            m, self.buf = read_frame(self.s, self.buf)
            if m["t"] != "goaway":
                assert m["id"] == self.id, m
                return m

    def query(self, domain, deadline_ms=8000, **extra):
        m = self.call("query", domain=domain, deadline_ms=deadline_ms,
                      **extra)
        assert m["t"] == "query_r", m
        return m["a"]

    def pid(self):
        m = self.call("stats")
        return dict((k, v) for k, v in m["c"].items())["pid"]

    def close(self):
        self.s.close()


def query(port, domain, deadline_ms=8000, **extra):
    c = QueryConn(port)
    try:
        return c.query(domain, deadline_ms, **extra)
    finally:
        c.close()


class FakeServer:
    """A loopback server on a thread of its own: handle(c) for each
    connection it accepts, until close()."""

    def __init__(self, port=None):
        self.port = port or free_port()
        self.ls = socket.socket()
        self.ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.ls.bind(("127.0.0.1", self.port))
        self.ls.listen(64)
        self.ls.settimeout(0.2)
        self.stop = False
        threading.Thread(target=self.accept_loop, daemon=True).start()

    def accept_loop(self):
        while not self.stop:
            try:
                c, _ = self.ls.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            self.handle(c)

    def close(self):
        self.stop = True
        self.ls.close()


class FakeDaemon(FakeServer):
    """A frame server standing in for whoisd-cache or whoisd-errdb (role):
    it proves that role with the tests' keys, records every request and
    answers ok (or health_r)."""

    def __init__(self, port=None, health=None, role="cache", legacy=False):
        self.role = role
        # legacy: a daemon of the version before the handshake, which
        # answers hello as any type it does not know.
        self.legacy = legacy
        self.msgs = []
        self.health = health or []
        self.lock = threading.Lock()
        super().__init__(port)

    def handle(self, c):
        threading.Thread(target=self.serve, args=(c,), daemon=True).start()

    def serve(self, c):
        buf = b""
        c.settimeout(0.5)
        while not self.stop:
            try:
                m, buf = read_frame(c, buf)
            except socket.timeout:
                continue
            except (EOFError, OSError):
                break
            if m["t"] in ("hello", "auth") and self.legacy:
                r = dict(v=2, t="err", id=m["id"], code="unknown-type",
                         msg='unknown message type "%s"' % m["t"])
                try:
                    c.sendall(frame(r))
                except OSError:
                    break
                continue
            if m["t"] in ("hello", "auth"):
                # The handshake is not a request the tests count.
                r = F.hello_r(m, self.role) if m["t"] == "hello" else \
                    dict(v=2, t="ok", id=m["id"])
                try:
                    c.sendall(frame(r))
                except OSError:
                    break
                continue
            with self.lock:
                self.msgs.append(m)
            if m["t"] == "health":
                r = dict(v=2, t="health_r", id=m["id"], regs=self.health)
            else:
                r = dict(v=2, t="ok", id=m["id"])
            try:
                c.sendall(frame(r))
            except OSError:
                break
        c.close()

    def of(self, t):
        with self.lock:
            return [m for m in self.msgs if m["t"] == t]


class FakeWhois(FakeServer):
    """A whois server answering from a function of the query line, one
    connection at a time; counts the lines it got."""

    def __init__(self, answer):
        self.answer = answer
        self.lines = []
        super().__init__()

    def handle(self, c):
        c.settimeout(2)
        buf = b""
        try:
            while b"\n" not in buf:
                d = c.recv(4096)
                if not d:
                    break
                buf += d
            line = buf.decode().strip()
            self.lines.append(line)
            c.sendall(self.answer(line).encode())
        except OSError:
            pass
        c.close()


# ------------------------------------------------------------ fixtures

@pytest.fixture
def qprocs(procs):
    """procs, plus a check of every log for sanitizer reports once all
    processes have stopped (leaks show at exit)."""
    yield procs
    procs.stop_all()
    for p in procs.procs:
        no_sanitizer_report(p)


@pytest.fixture
def regsim():
    rs = Regsim()
    yield rs
    rs.close(check=False)


def start_query(procs, tmpdir, override, *args, cache=None, errdb=None,
                spool=None, servers=2):
    port = free_port()
    spool = spool or os.path.join(tmpdir, "spool")
    argv = [QUERY, "-f", "/dev/null", "--listen=127.0.0.1:%d" % port,
            "--registry_override=127.0.0.1:%d" % override,
            "--spool_dir=%s" % spool, "--log_level=3",
            "--min_servers=%d" % servers, "--max_servers=%d" % (servers + 2),
            "--min_spare_servers=0", "--max_spare_servers=%d" % (servers + 1),
            "--cache_addr=127.0.0.1:%d" % (cache or free_port()),
            "--errdb_addr=127.0.0.1:%d" % (errdb or free_port()),
            "--host_id=testhost"] + list(args)
    p = procs.start(argv, name="whoisd-query")
    wait_for(lambda: port_open(port), 10, what="whoisd-query port")
    # Its children serving, so a timed request does not time their start.
    p.wait_log("ready:", timeout=10)
    p.port = port
    p.spool = spool
    return p


def no_sanitizer_report(p):
    log = p.logtext()
    assert "Sanitizer" not in log and "runtime error" not in log, log[-3000:]


# ------------------------------------------------------------ verdicts

def test_verdicts_rule_and_matched(qprocs, tmpdir_path, regsim):
    cache = FakeDaemon()
    q = start_query(qprocs, tmpdir_path, regsim.port, cache=cache.port)
    try:
        a = query(q.port, "free-verdict1.de")
        assert a["status"] == "available", a
        assert a["rule"] == "denic:available"
        assert a["matched"] == "Status: free"
        assert a["domain"] == a["ace"] == "free-verdict1.de"
        assert a["source"] == "registry"
        assert a["registry"] == "whois.denic.de"
        assert abs(a["checked"] - time.time()) < 30

        a = query(q.port, "example.com")
        assert a["status"] == "registered", a
        assert a["rule"] == "verisign:registered"
        assert a["matched"].strip() == "Domain Name: EXAMPLE.COM"
        text = a["text"].decode()
        assert "Domain Name: EXAMPLE.COM" in text
        # A verdict costs one registry query: no referral unless asked.
        assert "registrar whois" not in text
        assert regsim.stats()["per_domain"]["example.com"] == 1
        # The full record: the registrar referral, followed once for the
        # text only (to the simulator, through registry_override).
        a = query(q.port, "example.com", full=True)
        text = a["text"].decode()
        assert "\n--- registrar whois (whois.markmonitor.com) ---\n" in text
        assert regsim.stats()["per_domain"]["example.com"] == 3

        a = query(q.port, "reserved-x.it")
        assert a["status"] == "reserved", a
        assert a["rule"] == "nic-it:reserved"
        assert a["matched"]

        # Every answer was put to the cache, and every conversation timed.
        wait_for(lambda: len(cache.of("put")) == 4, 5, what="4 puts")
        puts = {m["a"]["domain"]: m["a"] for m in cache.of("put")}
        # The cache gets the registry's own text, the full record or not.
        assert all(b"registrar whois" not in (m["a"].get("text") or b"")
                   for m in cache.of("put"))
        assert puts["free-verdict1.de"]["status"] == "available"
        assert puts["reserved-x.it"]["rule"] == "nic-it:reserved"
        wait_for(lambda: len(cache.of("timing")) >= 3, 5, what="timings")
        regs = {m["registry"]: m["outcome"] for m in cache.of("timing")}
        assert regs["whois.denic.de"] == "ok"
        assert regs["whois.verisign-grs.com"] == "ok"
        assert "Registrar WHOIS Server" in text
        log = q.logtext()
        assert re.search(r"info: registry whois.denic.de name "
                         r"free-verdict1.de outcome available", log), log
    finally:
        cache.close()
    no_sanitizer_report(q)


def time_wait_sockets(port):
    """TIME_WAIT sockets (state 06) on local port `port`, IPv4."""
    n = 0
    with open("/proc/net/tcp") as f:
        next(f)
        for line in f:
            fields = line.split()
            if fields[3] == "06" and \
                    int(fields[1].split(":")[1], 16) == port:
                n += 1
    return n


def test_registry_closes_first_and_keeps_no_time_wait(qprocs, tmpdir_path,
                                                      regsim):
    """A registry sends its reply and closes; whoisd-query has then read
    every byte and ends the connection with a reset, not a FIN: the
    registry keeps no TIME_WAIT socket for it, and the answers are
    whole."""
    cache = FakeDaemon()
    q = start_query(qprocs, tmpdir_path, regsim.port,
                    "--registry_rate_override=1000", cache=cache.port)
    try:
        for i in range(20):
            a = query(q.port, "free-tw%d.de" % i)
            assert a["status"] == "available", a
            a = query(q.port, "example.com")
            assert a["status"] == "registered", a
            assert "Domain Name: EXAMPLE.COM" in a["text"].decode()
        # Counted before stats(): its own connection ends with a FIN.
        assert time_wait_sockets(regsim.port) == 0
        assert regsim.stats()["total"] == 40
    finally:
        cache.close()


def test_no_whois_tld_is_never_asked(qprocs, tmpdir_path, regsim):
    cache = FakeDaemon()
    q = start_query(qprocs, tmpdir_path, regsim.port, cache=cache.port)
    try:
        for name in ("example.info", "free-thing.app"):
            a = query(q.port, name)
            assert a["status"] == "unknown", a
            assert a["reason"] == "no-public-channel"
            assert a["rule"].endswith(":no-whois")
        assert regsim.stats()["total"] == 0
        # Still put: the put releases the cache's coalescing lease.
        wait_for(lambda: len(cache.of("put")) == 2, 5, what="2 puts")
    finally:
        cache.close()


def test_invalid_input(qprocs, tmpdir_path, regsim):
    q = start_query(qprocs, tmpdir_path, regsim.port)
    a = query(q.port, "co.uk")
    assert a["status"] == "invalid", a
    a = query(q.port, "bad..name.com")
    assert a["status"] == "invalid", a
    c = QueryConn(q.port)
    m = c.call("query", deadline_ms=100)       # no domain
    assert m["t"] == "err" and m["code"] == "bad-request", m
    c.close()
    assert regsim.stats()["total"] == 0


# ------------------------------------------------------------ IANA

IANA_REPLIES = {
    "zz": "% IANA WHOIS server\n\ndomain:       ZZ\n\nwhois:        whois.nic.zz\n"
          "\nstatus:       ACTIVE\n",
    "qq": "% IANA WHOIS server\n\ndomain:       QQ\n\norganisation: Nobody\n"
          "\nstatus:       ACTIVE\n",
    "xq": "% IANA WHOIS server\n% This query returned 0 objects.\n",
}


def fake_iana(line):
    if line in IANA_REPLIES:
        return IANA_REPLIES[line]
    if line.startswith("free"):
        return "Domain not found.\n"
    return "Domain Name: %s\nRegistrar: Someone\n" % line.upper()


def test_iana_fallback(qprocs, tmpdir_path):
    fw = FakeWhois(fake_iana)
    try:
        q = start_query(qprocs, tmpdir_path, fw.port, servers=1)
        # The default block's wording is nobody's verified reply.
        a = query(q.port, "free-one.zz")
        assert (a["status"], a["reason"]) == \
            ("unknown", "not-found-unconfirmed"), a
        assert a["rule"] == "default:available-unverified"
        assert a["registry"] == "whois.nic.zz"
        a = query(q.port, "taken.zz")
        assert a["status"] == "registered", a
        # The TLD's server is remembered: IANA was asked once.
        assert fw.lines.count("zz") == 1, fw.lines

        a = query(q.port, "something.qq")
        assert (a["status"], a["reason"]) == ("unknown", "no-public-channel"), a
        a = query(q.port, "something.xq")
        assert (a["status"], a["reason"]) == ("invalid", "no such TLD"), a
        # Neither was asked about the name itself.
        assert "something.qq" not in fw.lines
        assert "something.xq" not in fw.lines
    finally:
        fw.close()


def test_tld_table_routes_without_iana(qprocs, tmpdir_path):
    """A TLD with no block in the registries file but a line in
    etc/tld-whois.conf goes to its server at once; a no-service TLD is
    never asked; IANA is not asked about either."""
    fw = FakeWhois(fake_iana)
    try:
        q = start_query(qprocs, tmpdir_path, fw.port, servers=1)
        a = query(q.port, "taken.mx")
        assert a["status"] == "registered", a
        assert a["registry"] == "whois.mx", a
        a = query(q.port, "free-one.com.mx")
        assert (a["status"], a["reason"]) == \
            ("unknown", "not-found-unconfirmed"), a
        a = query(q.port, "something.va")
        assert (a["status"], a["reason"]) == ("unknown", "no-public-channel"), a
        assert fw.lines == ["taken.mx", "free-one.com.mx"], fw.lines
    finally:
        fw.close()


def test_tld_table_off_asks_iana(qprocs, tmpdir_path):
    fw = FakeWhois(fake_iana)
    try:
        q = start_query(qprocs, tmpdir_path, fw.port, "--tld_whois=",
                        servers=1)
        query(q.port, "taken.mx")
        assert fw.lines[0] == "mx", fw.lines
    finally:
        fw.close()


def test_iana_down_is_unknown(qprocs, tmpdir_path):
    fw = FakeWhois(lambda line: "garbage\n")
    try:
        q = start_query(qprocs, tmpdir_path, fw.port, servers=1)
        a = query(q.port, "free-one.zz")
        assert a["status"] == "unknown", a
        assert a["reason"] == "iana-unavailable"
    finally:
        fw.close()


# ------------------------------------------------------------ faults

def test_faults_give_unknown_with_reason(qprocs, tmpdir_path, regsim):
    q = start_query(qprocs, tmpdir_path, regsim.port, "--first_byte_timeout=5",
                    "--registry_rate_override=50")
    t0 = time.monotonic()
    a = query(q.port, "fault-timeout-x.de", deadline_ms=1500)
    took = time.monotonic() - t0
    assert (a["status"], a["reason"]) == ("unknown", "timeout"), a
    assert took < 1.6, took
    cases = {
        "fault-reset-x.de": "reset",
        "fault-empty-x.de": "empty-reply",
        "fault-garbage-x.de": "unrecognised-reply",
        "error-x.de": "registry-error",
    }
    for name, reason in cases.items():
        a = query(q.port, name)
        assert (a["status"], a["reason"]) == ("unknown", reason), (name, a)
    # A slow drip past the deadline: unknown in time, and the daemon
    # keeps serving.
    t0 = time.monotonic()
    a = query(q.port, "fault-drip-free1.de", deadline_ms=1000)
    assert a["reason"] == "timeout" and time.monotonic() - t0 < 1.2
    a = query(q.port, "free-after-faults.de")
    assert a["status"] == "available"
    no_sanitizer_report(q)


def test_reply_over_max_reply_is_truncated(qprocs, tmpdir_path, regsim):
    q = start_query(qprocs, tmpdir_path, regsim.port, "--max_reply=4096")
    a = query(q.port, "fault-big-x.de")
    assert (a["status"], a["reason"]) == ("unknown", "truncated"), a


# ------------------------------------------------------------ back-off

def test_throttle_puts_registry_in_backoff(qprocs, tmpdir_path):
    rs = Regsim("--throttle-seconds=3")
    errdb = FakeDaemon(role="errdb")
    try:
        q = start_query(qprocs, tmpdir_path, rs.port, servers=3,
                        errdb=errdb.port)
        a = query(q.port, "throttled-x.co.uk")
        assert (a["status"], a["reason"]) == ("unknown", "rate-limited"), a
        assert a["retry_after"] == 3
        # Every child sees the back-off at once; none asks the registry.
        conns = [QueryConn(q.port) for _ in range(6)]
        for i, c in enumerate(conns):
            a = c.query("free-backoff%d.co.uk" % i)
            assert (a["status"], a["reason"]) == ("unknown",
                                                  "registry-backoff"), a
            assert 1 <= a["retry_after"] <= 3
        for c in conns:
            c.close()
        assert rs.stats()["total"] == 1
        # Other registries are not affected.
        assert query(q.port, "free-ok.de")["status"] == "available"
        # The errdb heard of it, with the retry-after.
        ev = wait_for(lambda: [m for m in errdb.of("error")
                               if m["kind"] == "ratelimited"], 5,
                      what="ratelimited event")
        assert ev[0]["registry"] == "whois.nic.uk"
        assert ev[0]["retry_after"] == 3
        assert ev[0]["domain"] == "throttled-x.co.uk"
        # And it ends.
        time.sleep(3.2)
        a = query(q.port, "free-later.co.uk")
        assert a["status"] == "available", a
        assert rs.stats()["per_domain"]["free-later.co.uk"] == 1
    finally:
        errdb.close()
        rs.close(check=False)


def test_backoff_survives_hup(qprocs, tmpdir_path):
    rs = Regsim("--throttle-seconds=60")
    try:
        q = start_query(qprocs, tmpdir_path, rs.port, servers=2)
        a = query(q.port, "throttled-h.co.uk")
        assert a["reason"] == "rate-limited"
        old = QueryConn(q.port)
        oldpid = old.pid()
        old.close()
        q.sig(signal.SIGHUP)
        wait_for(lambda: proc_state(oldpid) in (None, "Z"), 10,
                 what="old child gone")
        a = query(q.port, "free-h.co.uk")
        assert a["reason"] == "registry-backoff", a
        assert rs.stats()["total"] == 1
    finally:
        rs.close(check=False)


def test_backoff_learnt_from_errdb(qprocs, tmpdir_path, regsim):
    errdb = FakeDaemon(role="errdb", health=[dict(registry="whois.denic.de",
                                    state="backoff",
                                    until=time.time() + 120, recent=3)])
    try:
        q = start_query(qprocs, tmpdir_path, regsim.port,
                        "--health_refresh=0.2", errdb=errdb.port)
        wait_for(lambda: errdb.of("health"), 5, what="a health request")
        time.sleep(0.5)
        a = query(q.port, "free-e.de")
        assert (a["status"], a["reason"]) == ("unknown", "registry-backoff")
        assert a["retry_after"] > 100
        assert regsim.stats()["total"] == 0
    finally:
        errdb.close()


# ------------------------------------------------------------ budget

def regsim_times(rs):
    """Arrival times (seconds) of the queries in the simulator's log."""
    out = []
    for line in rs.log().splitlines():
        if " info: query " not in line or "#stats" in line:
            continue
        ts = line.split()[0]
        out.append(datetime.strptime(ts, "%Y-%m-%dT%H:%M:%S.%fZ").timestamp())
    return sorted(out)


def test_shared_token_bucket(qprocs, tmpdir_path):
    rate = 5
    rs = Regsim("--ratelimit=de:%d/s" % rate)
    try:
        q = start_query(qprocs, tmpdir_path, rs.port,
                        "--registry_rate_override=%d" % rate,
                        "--max_clients_per_child=3", servers=4)
        # 12 links over 4 children (3 each at most): the budget must hold
        # across processes, not per child.
        conns = [QueryConn(q.port) for _ in range(12)]
        pids = {c.pid() for c in conns}
        assert len(pids) >= 3, pids
        n = 24
        with ThreadPoolExecutor(len(conns)) as ex:
            def one(i):
                c = conns[i % len(conns)]
                return c.query("free-burst%d.de" % i, deadline_ms=15000)
            # Per connection, one request at a time (QueryConn is simple).
            futs = [ex.submit(lambda k=k: [one(k + j * len(conns))
                                           for j in range(n // len(conns))])
                    for k in range(len(conns))]
            answers = [a for f in futs for a in f.result()]
        for c in conns:
            c.close()
        assert len(answers) == n
        bad = [a for a in answers if a["status"] != "available"]
        assert not bad, bad[:3]
        st = rs.stats()
        assert st["total"] == n
        assert "throttled" not in st["per_outcome"], st
        times = regsim_times(rs)
        assert len(times) == n
        worst = max(sum(1 for u in times if t <= u < t + 1.0) for t in times)
        assert worst <= rate, worst
        assert times[-1] - times[0] >= (n - 1) / rate - 0.05
    finally:
        rs.close(check=False)


def test_no_slot_before_deadline_is_rate_budget(qprocs, tmpdir_path, regsim):
    q = start_query(qprocs, tmpdir_path, regsim.port,
                    "--registry_rate_override=1", servers=1)
    with ThreadPoolExecutor(4) as ex:
        answers = list(ex.map(lambda i: query(q.port, "free-rb%d.de" % i,
                                              deadline_ms=1500), range(4)))
    reasons = sorted(a.get("reason", a["status"]) for a in answers)
    assert reasons.count("available") == 1, reasons
    assert reasons.count("rate-budget") == 3, reasons
    assert regsim.stats()["total"] == 1


# ------------------------------------------------------------ spool

def spool_files(d):
    return sorted(f for f in os.listdir(d) if not f.startswith("."))


def test_spool_keeps_events_until_errdb_acknowledges(qprocs, tmpdir_path,
                                                     regsim):
    errdb_port = free_port()
    q = start_query(qprocs, tmpdir_path, regsim.port,
                    "--registry_rate_override=50", servers=2, errdb=errdb_port)
    names = ["fault-empty-s%d.de" % i for i in range(3)] + \
            ["fault-reset-s1.de", "throttled-s.co.uk"]
    for n in names:
        assert query(q.port, n)["status"] == "unknown"
    wait_for(lambda: len(spool_files(q.spool)) == 5, 5, what="5 spool files")
    time.sleep(4)       # several sweeps with the errdb down
    files = spool_files(q.spool)
    assert len(files) == 5, files
    evs = []
    for f in files:
        with open(os.path.join(q.spool, f), "rb") as fh:
            evs.append(msgpack.unpackb(fh.read(), raw=False))
    assert {e["t"] for e in evs} == {"error"}
    assert sorted(e["domain"] for e in evs) == sorted(names)
    assert len({e["eid"] for e in evs}) == 5
    kinds = {e["domain"]: e["kind"] for e in evs}
    assert kinds["fault-empty-s0.de"] == "empty"
    assert kinds["fault-reset-s1.de"] == "reset"
    assert kinds["throttled-s.co.uk"] == "ratelimited"
    assert all(e["host"] == "testhost" and e["daemon"] == "whoisd-query"
               for e in evs)

    # The errdb comes up: every event is delivered and unlinked.  At least
    # once: an event whose link drops before its ok is sent again, and the
    # errdb stores an eid once (test_errdb); this fake counts each send.
    errdb = FakeDaemon(port=errdb_port, role="errdb")
    try:
        wait_for(lambda: not spool_files(q.spool), 20, what="empty spool")
        got = [m["eid"] for m in errdb.of("error")]
        assert sorted(set(got)) == sorted(e["eid"] for e in evs), got
        assert len(got) <= 2 * len(evs), got
        # A fresh event goes straight through.
        query(q.port, "fault-empty-s9.de")
        wait_for(lambda: len({m["eid"] for m in errdb.of("error")}) == 6, 5,
                 what="6th event")
        wait_for(lambda: not spool_files(q.spool), 5, what="empty spool")
    finally:
        errdb.close()


def test_spool_files_of_a_dead_child_are_taken_over(qprocs, tmpdir_path,
                                                    regsim):
    spool = os.path.join(tmpdir_path, "spool")
    os.makedirs(spool)
    # A claimed file of a process that no longer exists.
    ev = dict(v=2, t="error", id=0, eid="deadhost-1-1-1", host="deadhost",
              daemon="whoisd-query", registry="whois.denic.de",
              domain="x.de", kind="timeout", msg="m", time=time.time())
    dead = 4194303      # above any pid_max in use
    name = "1700000000.000000-%d-1.msg.%d" % (dead, dead)
    with open(os.path.join(spool, name), "wb") as f:
        f.write(msgpack.packb(ev, use_bin_type=True))
    errdb = FakeDaemon(role="errdb")
    try:
        start_query(qprocs, tmpdir_path, regsim.port, errdb=errdb.port,
                    spool=spool)
        wait_for(lambda: not spool_files(spool), 10, what="taken over")
        assert [m["eid"] for m in errdb.of("error")] == ["deadhost-1-1-1"]
    finally:
        errdb.close()


# ------------------------------------------------------------ lifecycle

def test_vanished_front_cancels_nothing_harmful(qprocs, tmpdir_path, regsim):
    cache = FakeDaemon()
    try:
        q = start_query(qprocs, tmpdir_path, regsim.port,
                        "--first_byte_timeout=1", cache=cache.port)
        for name in ("fault-timeout-v.de", "fault-drip-free-v.de"):
            c = QueryConn(q.port)
            c.s.sendall(frame(dict(v=2, t="query", id=1, domain=name,
                                   deadline_ms=3000)))
            time.sleep(0.1)
            c.close()
        # The conversations end on their own and still put their answers.
        got = wait_for(lambda: {m["a"]["domain"]: m["a"]
                                for m in cache.of("put")}
                       if len(cache.of("put")) == 2 else None, 15,
                       what="2 puts")
        assert got["fault-timeout-v.de"]["reason"] == "timeout"
        assert query(q.port, "free-v.de")["status"] == "available"
    finally:
        cache.close()


def test_quit_answers_in_flight_then_exits(qprocs, tmpdir_path):
    rs = Regsim("--latency-ms=800")
    try:
        q = start_query(qprocs, tmpdir_path, rs.port, servers=1)
        c = QueryConn(q.port)
        c.s.sendall(frame(dict(v=2, t="query", id=7, domain="free-q.de",
                               deadline_ms=5000)))
        time.sleep(0.2)
        q.sig(signal.SIGQUIT)
        seen = []
        while True:
            m, c.buf = read_frame(c.s, c.buf)
            seen.append(m["t"])
            if m["t"] == "query_r":
                break
        assert m["id"] == 7 and m["a"]["status"] == "available", m
        assert "goaway" in seen, seen
        c.close()
        wait_for(lambda: not q.running(), 10, what="master exit")
        assert q.p.returncode == 0
    finally:
        rs.close(check=False)


def test_a_query_read_after_goaway_still_puts_its_answer(qprocs,
                                                        tmpdir_path):
    """A draining child still answers what its peer sent before it saw the
    goaway; work started then holds the child like work started before:
    the registry conversation outlives its early `timeout` reply and the
    peer's close, and its answer is put in the cache."""
    rs = Regsim("--latency-ms=600")
    cache = FakeDaemon()
    try:
        q = start_query(qprocs, tmpdir_path, rs.port, cache=cache.port,
                        servers=1)
        c = QueryConn(q.port)
        c.pid()                         # the link is up, nothing in flight
        q.sig(signal.SIGQUIT)
        m, c.buf = read_frame(c.s, c.buf)
        assert m["t"] == "goaway", m
        c.s.sendall(frame(dict(v=2, t="query", id=9, domain="free-drain.de",
                               deadline_ms=150)))
        m, c.buf = read_frame(c.s, c.buf)
        assert m["id"] == 9 and m["a"]["status"] == "unknown", m
        assert m["a"]["reason"] == "timeout", m
        c.close()                       # as a front does after goaway
        wait_for(lambda: [p for p in cache.of("put")
                          if p["a"]["domain"] == "free-drain.de"], 10,
                 what="the answer put in the cache")
        put = [p for p in cache.of("put")
               if p["a"]["domain"] == "free-drain.de"][0]
        assert put["a"]["status"] == "available", put
        wait_for(lambda: not q.running(), 10, what="master exit")
        assert q.p.returncode == 0
    finally:
        cache.close()
        rs.close(check=False)


ERRDB = os.path.join(BIN, "whoisd-errdb")


@pytest.mark.skipif(not os.path.exists(ERRDB), reason="no whoisd-errdb")
def test_spool_to_real_errdb_and_shared_backoff(qprocs, tmpdir_path):
    """Events wait while the errdb is down and are stored exactly once when
    it comes up; a throttle seen by one host's workers reaches another
    host's workers through the errdb's health."""
    rs = Regsim("--throttle-seconds=120")
    try:
        errdb_port = free_port()
        q = start_query(qprocs, tmpdir_path, rs.port,
                        "--registry_rate_override=50", errdb=errdb_port)
        names = ["fault-empty-r%d.de" % i for i in range(4)]
        for n in names:
            assert query(q.port, n)["reason"] == "empty-reply"
        assert query(q.port, "throttled-r.co.uk")["reason"] == "rate-limited"
        wait_for(lambda: len(spool_files(q.spool)) == 5, 5, what="5 files")
        time.sleep(2)
        qprocs.start([ERRDB, "-f", "/dev/null",
                      "--listen=127.0.0.1:%d" % errdb_port,
                      "--db_path=%s" % os.path.join(tmpdir_path, "errdb.db"),
                      "--min_servers=1"], name="whoisd-errdb")
        wait_for(lambda: not spool_files(q.spool), 20, what="empty spool")
        c = QueryConn(errdb_port, role="ctl")
        m = c.call("errors", limit=100)
        c.close()
        assert m["t"] == "errors_r", m
        doms = sorted(e["domain"] for e in m["events"])
        assert doms == sorted(names + ["throttled-r.co.uk"]), doms

        # "Another host": a second whoisd-query with its own table learns
        # the back-off from the errdb and does not ask the registry.
        q2 = start_query(qprocs, tmpdir_path, rs.port, "--health_refresh=0.3",
                         errdb=errdb_port,
                         spool=os.path.join(tmpdir_path, "spool2"))
        before = rs.stats()["total"]
        time.sleep(1)
        a = query(q2.port, "free-other-host.co.uk")
        assert (a["status"], a["reason"]) == ("unknown", "registry-backoff"), a
        assert rs.stats()["total"] == before
    finally:
        rs.close(check=False)
