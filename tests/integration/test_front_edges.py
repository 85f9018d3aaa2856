"""The front's two ports at their edges: what a careful review of the
bare-socket servers found, each shown by the input that triggered it.

- whois: an answer too big for two writes to a slow reader is written
  to the end (the write event was not re-armed after its first use);
  a query of exactly max_query_len ending in CRLF is a query.
- slowloris on both ports: a request head trickling in a byte at a time
  is cut off idle_timeout after its first byte, not kept alive by every
  byte.
- HTTP: an empty line after a request is not half a request (no 408, no
  stalled drain); a 431 after a HEAD carries its body; the idle timer
  starts after a slow answer, not at the request.
- drain (HUP): a connection whose answer is still being written is
  closed once it is out; a child does not exit while a lingering close
  still reads the client's input (the client saw a reset instead of its
  answer).
- a 15 s fuzz of both ports (pipelined, split, half-closed and reset
  connections, slow misses, timeouts) with a HUP every 3 s: no sanitizer
  report, no miscounted connection, no child left busy.
"""
import json
import os
import random
import signal
import socket
import struct
import subprocess
import threading
import time

from suite import Suite, regsim_data

HOST = "127.0.0.1"


def log(*a):
    print(*a)

def conn(port, rcvbuf=None):
    s = socket.socket()
    if rcvbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.connect((HOST, port))
    return s

def read_all(s, timeout):
    s.settimeout(timeout)
    buf = b""
    try:
        while True:
            d = s.recv(65536)
            if not d:
                return buf, "eof"
            buf += d
    except socket.timeout:
        return buf, "timeout"
    except ConnectionResetError:
        return buf, "reset"


def test_whois_big_slow_reader(procs, tmpdir_path):
    s = Suite(procs, tmpdir_path, regsim=["--big-size=3000000"], query=["--max_reply=8M"]).start()
    # warm: make the cache hold it, so the answer is immediate
    c = conn(s.port["whois"])
    c.sendall(b"fault-big-a1.com\r\n")
    buf, how = read_all(c, 20)
    log("warm answer", len(buf), how)
    c.close()
    c = conn(s.port["whois"], rcvbuf=4096)
    c.sendall(b"fault-big-a1.com\r\n")
    time.sleep(2)
    # read slowly then fast
    got = b""
    c.settimeout(0.5)
    for i in range(20):
        try:
            got += c.recv(2048)
        except socket.timeout:
            pass
        time.sleep(0.05)
    buf, how = read_all(c, 15)
    log("slow reader got", len(got) + len(buf), how)
    assert how == "eof", (len(got) + len(buf), how)

def test_http_slowloris(procs, tmpdir_path):
    s = Suite(procs, tmpdir_path, front=["--http_idle_timeout=1"]).start()
    c = conn(s.port["http"])
    req = b"GET /v1/check?domain=example.com HTTP/1.1\r\nHost: x\r\nX-Pad: " + b"a" * 20
    t0 = time.monotonic()
    for b in req:
        c.sendall(bytes([b]))
        time.sleep(0.5)
    c.sendall(b"\r\n\r\n")
    buf, how = read_all(c, 3)
    log("after %.1fs with idle timeout 1s: %r" % (time.monotonic() - t0, buf[:40]))
    assert b"200 OK" not in buf

def test_whois_slowloris(procs, tmpdir_path):
    s = Suite(procs, tmpdir_path, front=["--idle_timeout=1"]).start()
    c = conn(s.port["whois"])
    t0 = time.monotonic()
    for b in b"example.com" + b"x" * 10:
        c.sendall(bytes([b]))
        time.sleep(0.5)
    c.sendall(b"\r\n")
    buf, how = read_all(c, 3)
    log("whois after %.1fs with idle timeout 1s: %r" % (time.monotonic() - t0, buf[:60]))
    assert b"timeout" in buf

def test_http_trailing_crlf(procs, tmpdir_path):
    s = Suite(procs, tmpdir_path, front=["--http_idle_timeout=2"]).start()
    c = conn(s.port["http"])
    c.sendall(b"GET /status HTTP/1.1\r\nHost: x\r\n\r\n\r\n")
    time.sleep(0.3)
    c.settimeout(1)
    c.recv(65536)
    buf, how = read_all(c, 4)
    log("unsolicited after idle:", buf[:80], how)
    assert b"408" not in buf

def test_http_431_after_head(procs, tmpdir_path):
    s = Suite(procs, tmpdir_path).start()
    c = conn(s.port["http"])
    c.sendall(b"HEAD /status HTTP/1.1\r\nHost: x\r\n\r\n")
    time.sleep(0.3)
    c.settimeout(1)
    c.recv(65536)
    c.sendall(b"GET /status HTTP/1.1\r\nX: " + b"a" * 70000)
    buf, how = read_all(c, 4)
    log("431 response:", buf, how)
    assert b"Content-Length: 0" in buf or buf.endswith(b"}\n")


def _fuzz_worker(port, wport, seed, stop, stats):
    rnd = random.Random(seed)
    names = ["example.com", "google.com", "free-name.com", "slow-%d.org", "x%d.org",
             "fault-timeout-%d.com", "www.example.co.uk", "bad..name", "%00a.com", "a.org"]
    while not stop.is_set():
        try:
            if rnd.random() < 0.3:
                c = socket.create_connection((HOST, wport), timeout=5)
                n = rnd.choice(names)
                if "%d" in n: n = n % rnd.randint(0, 30)
                data = n.encode() + rnd.choice([b"\r\n", b"\n", b"\r\nEXTRA", b""])
                c.sendall(data)
                if rnd.random() < 0.3:
                    c.shutdown(socket.SHUT_WR)
                act = rnd.random()
                time.sleep(rnd.random() * 0.8)
                if act < 0.3:
                    c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                else:
                    read_all(c, 3)
                c.close()
                stats["w"] += 1
                continue
            c = socket.create_connection((HOST, port), timeout=5)
            reqs = b""
            for i in range(rnd.randint(1, 6)):
                k = rnd.randint(1, 5)
                q = "&".join("domain=" + ((lambda n: n % rnd.randint(0, 30) if "%d" in n else n)(rnd.choice(names))) for _ in range(k))
                path = rnd.choice(["/v1/check?" + q, "/v1/whois?domain=" + rnd.choice(names).replace("%d", "1"), "/status", "/nope", "/v1/check?domain=%zz"])
                meth = rnd.choice(["GET", "GET", "GET", "HEAD", "POST"])
                extra = rnd.choice([b"", b"Connection: close\r\n", b"Content-Length: 3\r\n", b""])
                reqs += b"%s %s HTTP/1.1\r\nHost: x\r\n%s\r\n" % (meth.encode(), path.encode(), extra)
                if rnd.random() < 0.1:
                    reqs += b"\r\n"
            cut = rnd.randint(1, len(reqs)) if rnd.random() < 0.3 else len(reqs)
            # send in random pieces
            i = 0
            while i < cut:
                j = min(cut, i + rnd.randint(1, 200))
                c.sendall(reqs[i:j]); i = j
                if rnd.random() < 0.2: time.sleep(0.01)
            if rnd.random() < 0.3:
                c.shutdown(socket.SHUT_WR)
            time.sleep(rnd.random() * 0.8)
            if rnd.random() < 0.4:
                c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            else:
                read_all(c, 2)
            c.close()
            stats["h"] += 1
        except OSError:
            stats["err"] += 1

def test_fuzz(procs, tmpdir_path):
    data = regsim_data(tmpdir_path, "latency org uniform:50:900")
    s = Suite(procs, tmpdir_path, regsim=["--data=" + data],
              front=["--request_timeout=0.6", "--memo_ttl=0.3", "--http_idle_timeout=1", "--idle_timeout=1"]).start()
    stop = threading.Event()
    stats = {"w": 0, "h": 0, "err": 0}
    ts = [threading.Thread(target=_fuzz_worker, args=(s.port["http"], s.port["whois"], i, stop, stats)) for i in range(24)]
    for t in ts: t.start()
    end = time.monotonic() + float(os.environ.get("FUZZ_SECS", "15"))
    hup = float(os.environ.get("FUZZ_HUP", "3"))
    while time.monotonic() < end:
        time.sleep(hup or 1)
        if hup:
            os.kill(s.p["front"].pid, signal.SIGHUP)
    stop.set()
    for t in ts: t.join()
    log("stats", stats)
    time.sleep(4)
    code, body = s.http("/status")
    st = json.loads(body)
    log(json.dumps(st["pool"]["children"]))
    text = s.p["front"].logtext()
    for mark in ("AddressSanitizer", "runtime error", "died of signal",
                 "more connections closed"):
        assert mark not in text, text[text.index(mark) - 200:
                                      text.index(mark) + 4000]
    busy = [c for c in st["pool"]["children"] if c["clients"] > 1 or c["request_age"] > 0]
    assert not busy, st

def _children(s):
    out = subprocess.run(["pgrep", "-P", str(s.p["front"].pid)], capture_output=True, text=True).stdout.split()
    return set(int(x) for x in out)

def _pid_alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().split()[2] != "Z"
    except OSError:
        return False

def _drain_case(s, c):
    old = _children(s)
    t0 = time.monotonic()
    os.kill(s.p["front"].pid, signal.SIGHUP)
    while any(_pid_alive(p) for p in old) and time.monotonic() - t0 < 25:
        time.sleep(0.1)
    return time.monotonic() - t0

def test_drain_trailing_crlf(procs, tmpdir_path):
    s = Suite(procs, tmpdir_path, front=["--http_idle_timeout=15"]).start()
    c = conn(s.port["http"])
    c.sendall(b"GET /status HTTP/1.1\r\nHost: x\r\n\r\n\r\n")
    time.sleep(0.3); c.settimeout(1); c.recv(65536)
    d = _drain_case(s, c)
    log("drain with trailing CRLF took %.1fs" % d)
    c2 = conn(s.port["http"])
    c2.sendall(b"GET /status HTTP/1.1\r\nHost: x\r\n\r\n")
    time.sleep(0.3); c2.settimeout(1); c2.recv(65536)
    d2 = _drain_case(s, c2)
    log("drain with plain idle keep-alive took %.1fs" % d2)
    assert d < 2

def test_drain_pending_output(procs, tmpdir_path):
    s = Suite(procs, tmpdir_path, regsim=["--big-size=3000000"], query=["--max_reply=8M"],
              front=["--http_idle_timeout=15"]).start()
    c = conn(s.port["http"])
    c.sendall(b"GET /v1/whois?domain=fault-big-b1.com HTTP/1.1\r\nHost: x\r\n\r\n")
    time.sleep(3)
    old = _children(s)
    t0 = time.monotonic()
    os.kill(s.p["front"].pid, signal.SIGHUP)
    time.sleep(0.5)
    buf, how = read_all(c, 3)
    log("read", len(buf), how, b"Connection: close" in buf[:300])
    while any(_pid_alive(p) for p in old) and time.monotonic() - t0 < 25:
        time.sleep(0.1)
    d = time.monotonic() - t0
    log("drain with pending output took %.1fs" % d)
    assert d < 5

def test_idle_not_restarted_after_slow_answer(procs, tmpdir_path):
    data = regsim_data(tmpdir_path, "latency org 1500")
    s = Suite(procs, tmpdir_path, regsim=["--data=" + data], front=["--http_idle_timeout=2"]).start()
    c = conn(s.port["http"])
    t0 = time.monotonic()
    c.sendall(b"GET /v1/check?domain=slowx1.org HTTP/1.1\r\nHost: x\r\n\r\n")
    c.settimeout(5)
    c.recv(65536)
    t1 = time.monotonic()
    time.sleep(0.6)
    c.sendall(b"GET /status HTTP/1.1\r\nHost: x\r\n\r\n")
    buf, how = read_all(c, 2)
    log("answer after %.2fs; 2nd request %.2fs after the answer: got %r (%s)" % (t1 - t0, 0.6, buf[:20], how))
    assert buf.startswith(b"HTTP/1.1 200")

def test_whois_crlf_maxlen(procs, tmpdir_path):
    s = Suite(procs, tmpdir_path, front=["--max_query_len=16"]).start()
    name = b"abcdefghijkl.com"   # 16 octets
    for eol in (b"\n", b"\r\n"):
        c = conn(s.port["whois"]); c.sendall(name + eol)
        buf, how = read_all(c, 5)
        assert b"too long" not in buf and b"status: " in buf, (eol, buf[:200])

def test_drain_exit_resets_linger(procs, tmpdir_path):
    s = Suite(procs, tmpdir_path, regsim=["--big-size=1500000"], query=["--max_reply=8M"]).start()
    w = conn(s.port["http"])
    w.sendall(b"GET /v1/whois?domain=fault-big-c1.com HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    buf, how = read_all(w, 20)
    log("warm", len(buf), how)
    c = conn(s.port["http"], rcvbuf=16384)
    c.sendall(b"GET /v1/whois?domain=fault-big-c1.com HTTP/1.1\r\nHost: x\r\n\r\n"
              b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc" + b"Z" * 200000)
    time.sleep(1)
    os.kill(s.p["front"].pid, signal.SIGHUP)
    # More input while the draining child lingers.  The kernel may take
    # the whole answer at once, so the lingering close (2 s) can start
    # right after the request; input sent after it ends meets a closed
    # socket and draws a RST by TCP's rules, whatever the child does.
    time.sleep(0.3)
    c.sendall(b"Z" * 1000)
    buf = b""; how = "?"
    c.settimeout(5)
    try:
        while True:
            d = c.recv(16384)
            if not d:
                how = "eof"; break
            buf += d
            time.sleep(0.002)
    except ConnectionResetError:
        how = "reset"
    except socket.timeout:
        how = "timeout"
    log("got", len(buf), how, buf[:20])
    head, _, body = buf.partition(b"\r\n\r\n")
    cl = int([l for l in head.split(b"\r\n") if l.lower().startswith(b"content-length")][0].split(b":")[1])
    log("content-length", cl, "got body bytes", len(body), how, b"405" in body[cl:cl+40])
    assert how == "eof" and len(body) > cl and (b" 405 " in body[cl:] or b" 404 " in body[cl:])

