"""The front's HTTP/JSON port, byte by byte: framing, keep-alive,
pipelining, HEAD, methods, errors, malformed and oversized requests,
HTTP/1.0, idle timeouts, clients that vanish, and many clients at once.

The real curl is the client wherever curl can say what is tested; raw
sockets (every read with a timeout) do the byte-level cases.  Most tests
share one suite (started once for this module, on free ports); the idle
timeout and the vanishing clients need their own.  After every test on
the shared suite the front must still run, and its log must hold no dead
child and no sanitizer report.

In the shared suite's simulator, .org names answer after 400 ms (a data
file with `latency org 400`): a .org name asked for the first time is a
slow cache miss; every other registry answers at once.
"""
import asyncio
import json
import os
import random
import socket
import struct
import subprocess
import tempfile
import threading
import time
from urllib.parse import quote

import pytest

from conftest import (BIN, SANITIZER_MARKS, Procs, remove_tmp,
                      sanitizer_reports)
from suite import Suite, regsim_data

pytestmark = pytest.mark.skipif(
    not all(os.path.exists(os.path.join(BIN, b)) for b in
            ("whoisd", "whoisd-cache", "whoisd-query", "whoisd-errdb",
             "whoisd-regsim")),
    reason="the daemons are not built")

HOST = "127.0.0.1"
TIMEOUT = 10.0          # every socket read gives up after this
CLOSE_WAIT = 5.0        # how long a test waits for the server to close
SLOW_MS = 400           # the simulator's latency for .org names
CRASH_MARKS = ("died of signal", "exited with status") + SANITIZER_MARKS


# ------------------------------------------------------------- raw HTTP

class Closed(Exception):
    """The server closed the connection (EOF or reset)."""


class Response:
    def __init__(self, version, status, reason, headers, body, framing,
                 raw_head):
        self.version, self.status, self.reason = version, status, reason
        self.headers = headers          # [(name, value)] in order
        self.body = body
        self.framing = framing          # length, chunked, close or none
        self.raw_head = raw_head

    def header(self, name):
        """All values of a header (case-insensitive), joined, or None."""
        vals = [v for k, v in self.headers if k.lower() == name.lower()]
        return ", ".join(vals) if vals else None

    def tokens(self, name):
        v = self.header(name) or ""
        return {t.strip().lower() for t in v.split(",") if t.strip()}

    def text(self):
        return self.body.decode("utf-8", "replace")

    def json(self):
        try:
            return json.loads(self.body)
        except ValueError as e:
            raise AssertionError("body is not JSON (%s): %r" % (e, self))

    def __repr__(self):
        return "<HTTP %s %s framing=%s head=%r body=%r>" % (
            self.status, self.reason, self.framing,
            self.raw_head.decode("latin-1")[:600], self.body[:400])


def parse_head(raw):
    """Status line and headers of a response head (without the blank line)."""
    lines = raw.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    assert len(parts) >= 2 and parts[0].startswith("HTTP/") and \
        parts[1].isdigit(), "not an HTTP status line: %r" % raw[:300]
    headers = []
    for line in lines[1:]:
        k, sep, v = line.partition(":")
        assert sep, "response header line without a colon: %r in %r" % (
            line, raw[:600])
        headers.append((k.strip(), v.strip()))
    return parts[0], int(parts[1]), parts[2] if len(parts) > 2 else "", \
        headers


def request(method, target, version="HTTP/1.1", headers=(), body=b""):
    """The bytes of one request; HTTP/1.1 ones carry a Host header."""
    lines = ["%s %s %s" % (method, target, version)]
    if version == "HTTP/1.1":
        lines.append("Host: %s" % HOST)
    lines += list(headers)
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def get(target, **kw):
    return request("GET", target, **kw)


def check_path(names):
    return "/v1/check?" + "&".join("domain=" + quote(n, safe="")
                                   for n in names)


class Conn:
    """One client connection: send bytes, read responses one by one."""

    def __init__(self, port, timeout=TIMEOUT):
        self.timeout = timeout
        self.sock = socket.create_connection((HOST, port), timeout=timeout)
        self.buf = b""
        self.eof = False

    def send(self, data):
        self.sock.sendall(data)

    def _fill(self, what):
        if self.eof:
            raise Closed("connection closed while waiting for %s; "
                         "unparsed bytes: %r" % (what, self.buf[:600]))
        try:
            d = self.sock.recv(65536)
        except socket.timeout:
            raise AssertionError("no %s within %.1fs; received so far: %r"
                                 % (what, self.sock.gettimeout(),
                                    self.buf[:600])) from None
        except ConnectionResetError:
            self.eof = True
            raise Closed("connection reset while waiting for %s; unparsed "
                         "bytes: %r" % (what, self.buf[:600])) from None
        if not d:
            self.eof = True
            raise Closed("connection closed while waiting for %s; "
                         "unparsed bytes: %r" % (what, self.buf[:600]))
        self.buf += d

    def _take(self, n, what):
        while len(self.buf) < n:
            self._fill(what)
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def _line(self, what):
        while b"\r\n" not in self.buf:
            self._fill(what)
        line, _, self.buf = self.buf.partition(b"\r\n")
        return line

    def read_response(self, head_request=False):
        """One response.  The body follows Content-Length (or chunked, or
        the close), none for a HEAD request; Response.framing says which."""
        while b"\r\n\r\n" not in self.buf:
            try:
                self._fill("a response head")
            except Closed:
                if self.buf:
                    raise AssertionError(
                        "connection closed inside a response head: %r"
                        % self.buf[:600]) from None
                raise
        raw, _, self.buf = self.buf.partition(b"\r\n\r\n")
        version, status, reason, headers = parse_head(raw)
        r = Response(version, status, reason, headers, b"", "none", raw)
        te = r.header("Transfer-Encoding")
        cl = r.header("Content-Length")
        if head_request or status in (204, 304) or 100 <= status < 200:
            return r
        if te and "chunked" in te.lower():
            r.framing = "chunked"
            body = b""
            while True:
                size = int(self._line("a chunk size").split(b";")[0], 16)
                if size == 0:
                    while self._line("the trailer"):
                        pass
                    break
                body += self._take(size, "a chunk")
                self._take(2, "a chunk's CRLF")
            r.body = body
        elif cl is not None:
            assert cl.isdigit(), "bad Content-Length in %r" % r
            r.framing = "length"
            r.body = self._take(int(cl), "a %s-byte body" % cl)
        else:
            r.framing = "close"
            try:
                while True:
                    self._fill("the end of a close-delimited body")
            except Closed:
                pass
            r.body, self.buf = self.buf, b""
        return r

    def wait_closed(self, timeout=CLOSE_WAIT):
        """Wait for the server to close.  Returns (how, seconds, extra):
        how is "eof", "reset" or None (still open after timeout); extra
        is whatever arrived before the close."""
        t0 = time.monotonic()
        extra, self.buf = self.buf, b""
        if self.eof:
            return "eof", 0.0, extra
        deadline = t0 + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return None, time.monotonic() - t0, extra
            self.sock.settimeout(left)
            try:
                d = self.sock.recv(65536)
            except socket.timeout:
                return None, time.monotonic() - t0, extra
            except ConnectionResetError:
                self.eof = True
                return "reset", time.monotonic() - t0, extra
            finally:
                self.sock.settimeout(self.timeout)
            if not d:
                self.eof = True
                return "eof", time.monotonic() - t0, extra
            extra += d

    def assert_closed(self, after, timeout=CLOSE_WAIT):
        """The server closes (a FIN; a reset is reported too) and sends
        nothing more after `after` (a Response, for the message)."""
        how, secs, extra = self.wait_closed(timeout)
        assert how is not None, (
            "connection still open %.1fs after %r; received meanwhile: %r"
            % (secs, after, extra[:400]))
        assert extra == b"", ("bytes after %r, before the close: %r"
                              % (after, extra[:600]))
        return how

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()


def fetch(port, data, head_request=False, timeout=TIMEOUT):
    """A fresh connection, one request, one response; the Conn stays open."""
    c = Conn(port, timeout)
    c.send(data)
    return c, c.read_response(head_request=head_request)


def expected_status(name):
    return "available" if name.split(".")[0].startswith("free") \
        else "registered"


def assert_check(r, names, what="response"):
    """r is a 200 /v1/check answer for names, in order, each correct."""
    assert r.status == 200, "%s: want 200 for %s, got %r" % (what, names, r)
    results = r.json().get("results")
    assert isinstance(results, list) and len(results) == len(names), (
        "%s: want %d results for %s, got %r" % (what, len(names), names, r))
    for n, x in zip(names, results):
        assert x.get("domain") == n, (
            "%s: want %s in this place, got %r (all: %s)"
            % (what, n, x, [y.get("domain") for y in results]))
        assert x.get("status") == expected_status(n), (
            "%s: %s should be %s: %r" % (what, n, expected_status(n), x))
        assert x.get("source") in ("cache", "registry", "stale"), (
            "%s: %s has no source: %r" % (what, n, x))
    return results


def assert_serving(port, name="example.com"):
    """A fresh connection still gets a correct 200 answer."""
    with Conn(port) as c:
        c.send(get(check_path([name])))
        assert_check(c.read_response(), [name], "fresh connection")


def curl(port, path, *args, timeout=20):
    """The real curl, -i: (Response, stderr).  path is sent as is (-g)."""
    r = subprocess.run(["curl", "-sS", "-i", "-g", "--http1.1",
                        "--max-time", str(timeout)] + list(args) +
                       ["http://%s:%d%s" % (HOST, port, path)],
                       capture_output=True, timeout=timeout + 5)
    out = r.stdout
    assert r.returncode == 0 and b"\r\n\r\n" in out, (
        "curl %s %s failed (exit %d): stderr %r stdout %r"
        % (" ".join(args), path, r.returncode, r.stderr[-400:], out[:400]))
    raw, _, body = out.partition(b"\r\n\r\n")
    version, status, reason, headers = parse_head(raw)
    resp = Response(version, status, reason, headers, body,
                    "chunked" if "chunked" in (dict(
                        (k.lower(), v) for k, v in headers).get(
                        "transfer-encoding", "")).lower() else "length",
                    raw)
    return resp, r.stderr.decode("utf-8", "replace")


def assert_json_type(r):
    ct = r.header("Content-Type") or ""
    assert ct.split(";")[0].strip().lower() == "application/json", (
        "want Content-Type application/json, got %r" % r)


def assert_problem(r, status, code=None):
    """An RFC 9457 problem details answer with its stable code."""
    assert r.status == status, "want %d, got %r" % (status, r)
    ct = r.header("Content-Type") or ""
    assert ct.split(";")[0].strip().lower() == \
        "application/problem+json", r
    j = r.json()
    assert j["status"] == status and j["title"] and j["detail"], j
    assert j["type"] == "urn:whoisd:problem:" + j["code"], j
    if code is not None:
        assert j["code"] == code, (code, j)
    return j


def assert_length_framed(r):
    assert r.header("Transfer-Encoding") is None, (
        "want Content-Length framing, no Transfer-Encoding: %r" % r)
    cl = r.header("Content-Length")
    assert cl is not None and cl.isdigit() and int(cl) == len(r.body), (
        "want Content-Length equal to the body's %d bytes: %r"
        % (len(r.body), r))


def front_log_problems(s, since=0):
    front = s.p["front"]
    problems = []
    if not front.running():
        problems.append("the front's master exited (status %r)"
                        % front.p.returncode)
    text = front.logtext()[since:]
    for mark in CRASH_MARKS:
        if mark in text:
            i = text.index(mark)
            problems.append("%r in the front's log:\n%s"
                            % (mark, text[max(0, i - 300):i + 2000]))
    return problems


def assert_front_healthy(s, since=0):
    problems = front_log_problems(s, since)
    assert not problems, "\n".join(problems)


# ------------------------------------------------------------- fixtures

@pytest.fixture(scope="module")
def suite():
    """One suite for the module; .org names are slow (SLOW_MS) misses."""
    tmp = tempfile.mkdtemp(prefix="whoisd-http-")
    data = regsim_data(tmp, "latency org %d" % SLOW_MS)
    ps = Procs(tmp)
    try:
        s = Suite(ps, tmp, regsim=["--data=" + data]).start()
        yield s
    finally:
        ps.stop_all()
        reports = sanitizer_reports(ps)
        remove_tmp(tmp)
        if reports:
            pytest.fail("\n".join(reports))


@pytest.fixture
def s(suite):
    """The shared suite; after the test the front must not have crashed
    (master running, no dead child, no sanitizer report)."""
    since = len(suite.p["front"].logtext())
    yield suite
    assert_front_healthy(suite, since)


_seq = iter(range(1, 1 << 30))


def uniq(prefix, tld="com"):
    """A name no other test asks: a cache miss the first time."""
    return "%s-%d-%d.%s" % (prefix, os.getpid() % 10000, next(_seq), tld)


# ------------------------------------------------------------ 1. basics

def test_check_json_content_length_and_keepalive(s):
    """1. GET /v1/check with two names (curl): 200, application/json,
    Content-Length framing (no chunked), {"results":[...]} with one object
    per name in the order asked, each with domain, status and source; the
    connection stays open (curl reuses it for a second request), and the
    answer carries no Connection: close."""
    port = s.port["http"]
    names = [uniq("kept", "com"), uniq("free-kept", "de")]
    r, _ = curl(port, check_path(names))
    assert r.version == "HTTP/1.1", r
    assert_json_type(r)
    assert_length_framed(r)
    assert set(r.json()) == {"results"}, r
    assert_check(r, names)
    assert "close" not in r.tokens("Connection"), r
    # The same, the exact example of the contract.
    r, _ = curl(port, "/v1/check?domain=a.com&domain=b.de")
    assert_check(r, ["a.com", "b.de"])
    # Keep-alive by default: curl's second transfer reuses the connection.
    proc = subprocess.run(
        ["curl", "-sS", "-v", "--http1.1", "--max-time", "20",
         "-o", "/dev/null", "-o", "/dev/null",
         "-w", "%{http_code} %{num_connects}\n",
         "http://%s:%d%s" % (HOST, port, check_path(names)),
         "http://%s:%d/status" % (HOST, port)],
        capture_output=True, text=True, timeout=25)
    assert proc.stdout.split() == ["200", "1", "200", "0"], (
        "want two 200s on one connection (num_connects 1 then 0), got %r; "
        "curl -v: %s" % (proc.stdout, proc.stderr[-1500:]))
    assert "Re-using existing connection" in proc.stderr, proc.stderr[-1500:]


def test_keepalive_50_sequential_requests(s):
    """2. Fifty requests one after another on one raw connection, each
    answered (framed by Content-Length) with the right names; the server
    never closes in between, and the connection is still open after."""
    port = s.port["http"]
    pool = ["example.com", uniq("free-seq", "com"), "example.de",
            uniq("free-seq", "de"), uniq("seq", "net")]
    with Conn(port) as c:
        for i in range(50):
            names = [pool[i % len(pool)]]
            if i % 7 == 3:
                names.append(pool[(i + 1) % len(pool)])
            c.send(get(check_path(names)))
            r = c.read_response()
            assert r.framing == "length", "request %d: %r" % (i, r)
            assert_check(r, names, "request %d of 50" % (i + 1))
            assert "close" not in r.tokens("Connection"), (
                "request %d: the server wants to close: %r" % (i, r))
        c.send(get("/status"))
        r = c.read_response()
        assert r.status == 200 and r.json().get("daemon") == "whoisd", r


def test_pipelining_20_requests_in_one_send(s):
    """3. Twenty requests written with ONE send(): /v1/check of cached
    names, two slow cache misses (.org, SLOW_MS at the registry) early in
    the batch, a two-name check and /status.  Exactly twenty responses come
    back, in the order asked, each for its own request (the fast ones are
    not answered ahead of the slow miss), and the connection stays usable."""
    port = s.port["http"]
    warm = ["example.com", uniq("free-pipe", "com"), "example.de",
            uniq("free-pipe", "de")]
    s.check(warm)               # in the cache (and the child's memo)
    slow = uniq("pipe-slow", "org")
    slow_free = uniq("free-pipe-slow", "org")
    plan = []
    for i in range(20):
        if i == 1:
            plan.append([slow])
        elif i == 9:
            plan.append([slow_free])
        elif i in (5, 14):
            plan.append("status")
        elif i == 17:
            plan.append([warm[0], slow, warm[3]])
        else:
            plan.append([warm[i % len(warm)]])
    data = b"".join(get("/status") if p == "status" else get(check_path(p))
                    for p in plan)
    with Conn(port, timeout=15) as c:
        t0 = time.monotonic()
        n = c.sock.send(data)
        assert n == len(data), "one send() took %d of %d bytes" % (n, len(data))
        for i, p in enumerate(plan):
            try:
                r = c.read_response()
            except Closed as e:
                pytest.fail("response %d of 20 missing: %s" % (i + 1, e))
            what = "pipelined response %d of 20" % (i + 1)
            assert r.framing == "length", "%s: %r" % (what, r)
            if p == "status":
                assert r.status == 200 and \
                    r.json().get("daemon") == "whoisd", (
                        "%s: want /status, got %r" % (what, r))
            else:
                res = assert_check(r, p, what)
                if p == [slow]:
                    assert res[0]["source"] == "registry", (
                        "%s: the slow name should be a miss: %r" % (what, r))
        elapsed = time.monotonic() - t0
        c.send(get(check_path(warm)))
        assert_check(c.read_response(), warm, "request after the batch")
    assert elapsed >= SLOW_MS / 1000.0 * 0.9, (
        "the batch took %.2fs: the slow miss was not slow" % elapsed)


def test_head_same_headers_no_body(s):
    """4. HEAD /v1/check answers 200 with the GET's headers, including a
    Content-Length equal to the GET body's length, and no body bytes: the
    response of the GET pipelined right after it starts at once."""
    port = s.port["http"]
    name = uniq("head", "com")
    path = check_path([name])
    s.check([name])
    s.check([name])             # now a cache hit with a settled answer
    with Conn(port) as c:
        c.send(request("HEAD", path) + get(path))
        h = c.read_response(head_request=True)
        # Whatever follows the HEAD's head must be the GET's status line.
        while len(c.buf) < 12:
            c._fill("the response after HEAD")
        assert c.buf.startswith(b"HTTP/1.1 200"), (
            "HEAD answered %r, then body bytes %r instead of the next "
            "response" % (h, c.buf[:300]))
        g = c.read_response()
    assert h.status == 200, h
    assert_check(g, [name], "GET after HEAD")
    assert_length_framed(g)
    assert h.header("Content-Length") == str(len(g.body)), (
        "HEAD's Content-Length %r, the GET body is %d bytes: %r / %r"
        % (h.header("Content-Length"), len(g.body), h, g))
    assert h.header("Content-Type") == g.header("Content-Type"), (h, g)
    assert h.header("Transfer-Encoding") is None, h


# --------------------------------------------------------- 5. methods

@pytest.mark.parametrize("method", ["PUT", "DELETE"])
def test_other_methods_405_with_allow(s, method):
    """5. PUT and DELETE (curl -X, no body) get 405, an Allow header
    naming exactly GET, HEAD, POST and OPTIONS (/v1/check takes a POST,
    test_http_post.py), and a problem, code method-not-allowed."""
    r, _ = curl(s.port["http"], check_path(["example.com"]), "-X", method)
    assert r.status == 405, "%s: want 405, got %r" % (method, r)
    allow = {m.strip().upper() for m in (r.header("Allow") or "").split(",")
             if m.strip()}
    assert allow == {"GET", "HEAD", "POST", "OPTIONS"}, (
        "%s: want Allow: GET, HEAD, POST, OPTIONS, got %r" % (method, r))
    assert_problem(r, 405, "method-not-allowed")


def test_options_204_with_allow(s):
    """5. OPTIONS (no CORS configured) is 204 with the path's Allow."""
    r, _ = curl(s.port["http"], check_path(["example.com"]), "-X",
                "OPTIONS")
    assert r.status == 204, r
    allow = {m.strip().upper() for m in (r.header("Allow") or "").split(",")}
    assert allow == {"GET", "HEAD", "POST", "OPTIONS"}, r
    assert r.header("Access-Control-Allow-Origin") is None, r


@pytest.mark.parametrize("body", [b"hello",
                                  b"GET /status HTTP/1.1\r\nHost: x\r\n\r\n"],
                         ids=["hello", "request-shaped-body"])
def test_post_with_body_405_then_close(s, body):
    """5. A POST with a body (Content-Length) to a path that takes none is
    answered 405 and the server closes after the response; the body is
    never parsed as a request (a body that looks like a GET gets no
    second response)."""
    port = s.port["http"]
    with Conn(port) as c:
        c.send(request("POST", "/v1/whois?domain=example.com",
                       headers=["Content-Length: %d" % len(body)], body=body))
        r = c.read_response()
        assert r.status == 405, "want 405, got %r" % r
        c.assert_closed(r)
    assert_serving(port)


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_chunked_request_refused_then_close(s, method):
    """5. Transfer-Encoding: chunked on a request gets an error status
    (any 4xx or 5xx) and the connection is closed; the chunks are not
    taken for requests."""
    port = s.port["http"]
    path = check_path(["example.com"]) if method == "GET" else "/status"
    with Conn(port) as c:
        c.send(request(method, path,
                       headers=["Transfer-Encoding: chunked"],
                       body=b"5\r\nhello\r\n0\r\n\r\n"))
        r = c.read_response()
        assert 400 <= r.status < 600, "want a 4xx/5xx, got %r" % r
        c.assert_closed(r)
    assert_serving(port)


# -------------------------------------------------- 6. paths and names

def test_unknown_path_404_json(s):
    """6. A path the API does not have: 404, problem unknown-path."""
    r, _ = curl(s.port["http"], "/v2/nothing?domain=example.com")
    assert_problem(r, 404, "unknown-path")


def test_check_without_domain_400(s):
    """6. /v1/check with no domain parameter: 400."""
    port = s.port["http"]
    for path in ("/v1/check", "/v1/check?", "/v1/check?name=example.com"):
        r, _ = curl(port, path)
        assert r.status == 400, "%s: want 400, got %r" % (path, r)


def test_more_than_1000_domains_400(s):
    """6. 1,001 names in one /v1/check: 400 saying "at most 1000"."""
    r, _ = curl(s.port["http"], check_path(
        ["a%d.com" % i for i in range(1001)]))
    assert r.status == 400, r
    assert "at most 1000" in r.text(), r


def test_whois_text(s):
    """6. /v1/whois?domain=example.com: 200, text/plain, the whois answer
    with "status: registered"."""
    r, _ = curl(s.port["http"], "/v1/whois?domain=example.com")
    assert r.status == 200, r
    ct = (r.header("Content-Type") or "").split(";")[0].strip().lower()
    assert ct == "text/plain", r
    assert_length_framed(r)
    assert "status: registered" in r.text(), r


# ----------------------------------------------------- 7. %-decoding

def test_percent_decoded_idn(s):
    """7. domain=b%C3%BCcher.de is bücher.de: answered under its A-label
    xn--bcher-kva.de."""
    r, _ = curl(s.port["http"], "/v1/check?domain=b%C3%BCcher.de")
    assert r.status == 200, r
    res = r.json()["results"]
    assert len(res) == 1 and res[0].get("ace") == "xn--bcher-kva.de", r
    assert res[0].get("status") in ("registered", "available"), r


@pytest.mark.parametrize("value", ["%zz.com", "abc%", "abc%4", "%g1.com",
                                   "ok.com%"])
def test_bad_percent_escape(s, value):
    """7. A bad %-escape in a domain value: 400, or 200 with status
    invalid for that name; no crash, and the server keeps serving."""
    port = s.port["http"]
    r, _ = curl(port, "/v1/check?domain=" + value)
    if r.status == 200:
        res = r.json()["results"]
        assert len(res) == 1 and res[0].get("status") == "invalid", (
            "%r: want 400 or status invalid, got %r" % (value, r))
    else:
        assert r.status == 400, "%r: want 400 or 200, got %r" % (value, r)
    assert_serving(port)


# ------------------------------------------------- 8. malformed requests

def _garbage():
    rnd = random.Random(20261122)
    b = bytes(rnd.randrange(256) for _ in range(300))
    return b.replace(b"\r", b"").replace(b"\n", b"") + b"\r\n\r\n"


MALFORMED = {
    "binary": _garbage(),
    "header-without-colon":
        b"GET /status HTTP/1.1\r\nHost: x\r\nNoColonHere\r\n\r\n",
    "space-in-header-name":
        b"GET /status HTTP/1.1\r\nHost: x\r\nBad Name: 1\r\n\r\n",
    "no-target":
        b"GET HTTP/1.1\r\nHost: x\r\n\r\n",
    "not-http-version":
        b"GET /status FOO/1.1\r\nHost: x\r\n\r\n",
}


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_malformed_request_400_then_close(s, name):
    """8. Malformed requests (binary bytes; a header line without a colon
    or with a space in its name; a request line without a target or with
    no HTTP version) get 400 and the close; a fresh connection still gets
    a correct answer."""
    port = s.port["http"]
    with Conn(port) as c:
        c.send(MALFORMED[name])
        r = c.read_response()
        assert r.status == 400, "%s: want 400, got %r" % (name, r)
        c.assert_closed(r)
    assert_serving(port)


def test_http09_request_line_400_or_close(s):
    """8. "GET /" with no version (HTTP/0.9): a 400 and the close, or just
    the close; never an HTTP/0.9 answer, never a hang."""
    port = s.port["http"]
    with Conn(port) as c:
        c.send(b"GET /\r\n\r\n")
        how, secs, data = c.wait_closed(CLOSE_WAIT)
        assert how is not None, (
            "connection still open %.1fs after GET / (HTTP/0.9); received "
            "meanwhile: %r" % (secs, data[:300]))
        if data:
            assert data.startswith(b"HTTP/1."), (
                "want a 400 or the close, got %r" % data[:300])
            _, status, _, _ = parse_head(data.partition(b"\r\n\r\n")[0])
            assert status == 400, "want 400, got %r" % data[:300]
    assert_serving(port)


def test_http2_version_505(s):
    """8. GET / HTTP/2.0 over plain HTTP/1 framing: 505 (or 400) and the
    close; the server keeps serving."""
    port = s.port["http"]
    with Conn(port) as c:
        c.send(b"GET / HTTP/2.0\r\nHost: x\r\n\r\n")
        r = c.read_response()
        assert r.status in (505, 400), "want 505 (or 400), got %r" % r
        c.assert_closed(r)
    assert_serving(port)


# ---------------------------------------------------- 9. oversized heads

def _send_big(c, data):
    """Send a big request; the server may answer and stop reading early."""
    try:
        c.send(data)
        return None
    except (BrokenPipeError, ConnectionResetError) as e:
        return e


@pytest.mark.parametrize("shape", ["request-line", "headers",
                                   "line-without-end"])
def test_oversized_head_431_then_close(s, shape):
    """9. A request head over 64 KB (a 100 KB request line, 100 KB of
    headers, or 100 KB with no line end at all) gets 431 (or 414 or 400)
    and the close, promptly; the front survives and keeps serving."""
    port = s.port["http"]
    if shape == "request-line":
        data = get("/v1/check?domain=" + "a" * 100000 + ".com")
    elif shape == "headers":
        data = get("/status", headers=["X-Pad-%04d: %s" % (i, "v" * 100)
                                       for i in range(1000)])
    else:
        data = b"GET /v1/check?domain=" + b"b" * 100000
    with Conn(port) as c:
        err = _send_big(c, data)
        try:
            r = c.read_response()
        except Closed as e:
            pytest.fail("no answer to a %d-byte %s (send: %r): %s"
                        % (len(data), shape, err, e))
        assert r.status in (431, 414, 400), (
            "want 431 (or 414/400) for a %d-byte %s, got %r"
            % (len(data), shape, r))
        c.assert_closed(r)
    assert_serving(port)


def test_100_long_names_accepted(s):
    """9. A legitimate /v1/check with 100 names of 60 characters (a ~7 KB
    request line) is not mistaken for an oversized head: 200 with 100
    results in order."""
    names = []
    for i in range(100):
        pre = ("free-%03d-" if i % 2 else "long-%03d-") % i
        names.append(pre + "x" * (56 - len(pre)) + ".com")
    assert all(len(n) == 60 for n in names)
    path = check_path(names)
    assert len(path) > 6500, len(path)
    r, _ = curl(s.port["http"], path, timeout=30)
    assert_check(r, names, "100 long names")
    assert_length_framed(r)


# ------------------------------------------- 10. Connection and HTTP/1.0

def test_connection_close_from_client(s):
    """10. Connection: close from the client: the response says
    Connection: close and the server closes after it."""
    with Conn(s.port["http"]) as c:
        c.send(get(check_path(["example.com"]),
                   headers=["Connection: close"]))
        r = c.read_response()
        assert_check(r, ["example.com"])
        assert "close" in r.tokens("Connection"), r
        c.assert_closed(r)


def test_http10_without_keepalive_closes(s):
    """10. An HTTP/1.0 request without Connection: keep-alive is answered
    (Content-Length framed), then the connection is closed."""
    with Conn(s.port["http"]) as c:
        c.send(get(check_path(["example.com"]), version="HTTP/1.0"))
        r = c.read_response()
        assert_check(r, ["example.com"], "HTTP/1.0")
        assert r.framing == "length", r
        assert "keep-alive" not in r.tokens("Connection"), r
        c.assert_closed(r)


def test_http10_keepalive_kept_open(s):
    """10. HTTP/1.0 with Connection: keep-alive: answered with
    Connection: keep-alive and the connection kept open; a second such
    request on it is answered; a third without keep-alive is answered and
    then the connection is closed."""
    ka = ["Connection: keep-alive"]
    with Conn(s.port["http"]) as c:
        for i, name in enumerate(["example.com", "example.de"]):
            c.send(get(check_path([name]), version="HTTP/1.0", headers=ka))
            r = c.read_response()
            assert_check(r, [name], "HTTP/1.0 keep-alive request %d" % (i + 1))
            assert "keep-alive" in r.tokens("Connection"), r
        c.send(get("/status", version="HTTP/1.0"))
        r = c.read_response()
        assert r.status == 200, r
        c.assert_closed(r)


# ------------------------------------------------------- 11. idle timeout

def test_idle_timeout(procs, tmpdir_path):
    """11. With --http_idle_timeout=1: an idle keep-alive connection is
    closed by the server within ~3 s (not at once); a client that sent half
    a request and stalls is closed within ~3 s (a 408 first is allowed);
    meanwhile a connection that keeps asking every 0.3 s for 2.4 s (longer
    than the timeout) is served throughout and a fresh one is served."""
    s = Suite(procs, tmpdir_path, front=["--http_idle_timeout=1"]).start()
    port = s.port["http"]
    s.check(["example.com"])
    out = {}

    def idle():
        try:
            with Conn(port) as c:
                c.send(get(check_path(["example.com"])))
                r = c.read_response()
                out["idle"] = (r,) + c.wait_closed(6)
        except Exception as e:          # reported below
            out["idle"] = e

    def half():
        try:
            with Conn(port) as c:
                c.send(b"GET /v1/check?dom")
                out["half"] = c.wait_closed(6)
        except Exception as e:
            out["half"] = e

    threads = [threading.Thread(target=idle), threading.Thread(target=half)]
    for t in threads:
        t.start()
    try:
        with Conn(port) as c:
            for i in range(8):
                c.send(get(check_path(["example.com"])))
                assert_check(c.read_response(), ["example.com"],
                             "busy connection, request %d" % (i + 1))
                time.sleep(0.3)
    finally:
        for t in threads:
            t.join(10)
    assert not isinstance(out.get("idle"), Exception), out.get("idle")
    r, how, secs, extra = out["idle"]
    assert r.status == 200, r
    assert how is not None, "idle connection still open after %.1fs" % secs
    assert extra == b"", "bytes before the idle close: %r" % extra[:300]
    assert 0.5 <= secs <= 3.0, (
        "idle keep-alive connection closed %.2fs after its answer "
        "(want ~1s, at most 3)" % secs)
    assert not isinstance(out.get("half"), Exception), out.get("half")
    how, secs, data = out["half"]
    assert how is not None, (
        "half-request connection still open after %.1fs (got %r)"
        % (secs, data[:300]))
    assert secs <= 3.0, "half request closed only after %.2fs" % secs
    if data:
        _, status, _, _ = parse_head(data.partition(b"\r\n\r\n")[0])
        assert status == 408, "want nothing or 408 before the close: %r" % (
            data[:300])
    assert_serving(port)
    assert_front_healthy(s)


# ---------------------------------------------------- 12. vanishing client

def test_clients_vanish_during_slow_miss(procs, tmpdir_path):
    """12. With a 1.5 s registry: ten clients ask for slow cache misses (one
    of them pipelines a second request behind it, half of them reset the
    connection instead of closing it) and go away at once, one of them
    asking the same name as a patient client.  The patient client gets its
    answer; the front does not crash (master running, no dead child, no
    sanitizer report), and later requests for every name are answered."""
    s = Suite(procs, tmpdir_path, regsim=["--latency-ms=1500"]).start()
    port = s.port["http"]
    shared = "vanish-shared.com"
    patient = Conn(port, timeout=15)
    patient.send(get(check_path([shared])))
    names = []
    for i in range(10):
        n = "vanish-%d.com" % i if i % 3 else "free-vanish-%d.de" % i
        ask = [n, shared] if i == 4 else [n]
        names.append(n)
        c = Conn(port)
        data = get(check_path(ask))
        if i == 7:
            data += get(check_path(["example.com"])) + get("/status")
        c.send(data)
        if i % 2:
            c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                              struct.pack("ii", 1, 0))   # a RST
        c.close()
    try:
        r = patient.read_response()
    finally:
        patient.close()
    assert_check(r, [shared], "the patient client")
    time.sleep(0.5)         # the vanished clients' lookups end meanwhile
    assert_front_healthy(s)
    with Conn(port, timeout=15) as c:
        for n in names + [shared]:
            c.send(get(check_path([n])))
            assert_check(c.read_response(), [n], "after the vanished clients")
    assert s.p["front"].running()
    assert_front_healthy(s)


# ------------------------------------------------------- 13. concurrency

async def _ka_client(port, plan, go):
    r, w = await asyncio.wait_for(asyncio.open_connection(HOST, port),
                                  TIMEOUT)
    try:
        await go.wait()
        out = []
        for j, names in enumerate(plan):
            w.write(get(check_path(names)))
            await w.drain()
            try:
                head = await asyncio.wait_for(r.readuntil(b"\r\n\r\n"),
                                              20)
                _, status, _, headers = parse_head(head[:-4])
                h = {k.lower(): v for k, v in headers}
                assert "content-length" in h, "no Content-Length: %r" % head
                body = await asyncio.wait_for(
                    r.readexactly(int(h["content-length"])), 20)
            except asyncio.TimeoutError:
                raise AssertionError("request %d (%s): no response within "
                                     "20s" % (j + 1, names)) from None
            except asyncio.IncompleteReadError as e:
                raise AssertionError("request %d (%s): connection closed; "
                                     "partial %r" % (j + 1, names,
                                                     e.partial[:200])) \
                    from None
            out.append((names, status, body))
        return out
    finally:
        w.close()


async def _ka_many(port, plans):
    go = asyncio.Event()
    tasks = [asyncio.ensure_future(_ka_client(port, p, go)) for p in plans]
    await asyncio.sleep(0.5)      # every connection opened, then all go
    go.set()
    return await asyncio.wait_for(
        asyncio.gather(*tasks, return_exceptions=True), 40)


def test_200_concurrent_keepalive_connections(s):
    """13. 200 keep-alive connections at once, each doing 5 requests (cache
    hits, and a few misses): all 1,000 answered, each with its own names."""
    port = s.port["http"]
    warm = ["example.com", "example.net", "example.de", "google.com",
            "free-conc-a.com", "free-conc-b.de", "free-conc-c.net",
            "conc-d.com", "conc-e.de", "free-conc-f.com"]
    s.check(warm)
    plans = []
    for i in range(200):
        plan = [[warm[(i + j) % len(warm)]] for j in range(5)]
        if i % 20 == 0:
            plan[2] = [uniq("conc-miss", "com")]
        if i % 25 == 1:
            plan[3] = [warm[0], warm[5]]
        plans.append(plan)
    results = asyncio.run(_ka_many(port, plans))
    failures, answered = [], 0
    for i, res in enumerate(results):
        if isinstance(res, BaseException):
            failures.append("connection %d: %r" % (i, res))
            continue
        for names, status, body in res:
            try:
                x = json.loads(body)["results"]
                ok = status == 200 and [y["domain"] for y in x] == names \
                    and all(y["status"] == expected_status(y["domain"])
                            for y in x)
            except (ValueError, KeyError, TypeError):
                ok = False
            if ok:
                answered += 1
            else:
                failures.append("connection %d, %s: %d %r"
                                % (i, names, status, body[:200]))
    assert answered == 1000 and not failures, (
        "%d of 1000 answered correctly; %d failures, e.g.:\n%s"
        % (answered, len(failures), "\n".join(failures[:8])))


# ------------------------------------------------- 14. status and metrics

def test_status_and_metrics(s):
    """14. /status: 200 JSON with "daemon":"whoisd"; /metrics: 200 text
    with whoisd_requests_total."""
    port = s.port["http"]
    r, _ = curl(port, "/status")
    assert r.status == 200, r
    assert_json_type(r)
    assert_length_framed(r)
    assert r.json().get("daemon") == "whoisd", r
    r, _ = curl(port, "/metrics")
    assert r.status == 200, r
    assert (r.header("Content-Type") or "").lower().startswith("text/"), r
    assert_length_framed(r)
    assert "whoisd_requests_total" in r.text(), r


# --------------------------------------------- 15. header case-insensitive

@pytest.mark.parametrize("line", ["connection: CLOSE", "CONNECTION: close",
                                  "Connection: Close"])
def test_header_names_case_insensitive(s, line):
    """15. Header names (and the close token) are case-insensitive:
    `connection: CLOSE` closes the connection after the answer."""
    with Conn(s.port["http"]) as c:
        c.send(get(check_path(["example.com"]), headers=[line]))
        r = c.read_response()
        assert_check(r, ["example.com"])
        assert "close" in r.tokens("Connection"), r
        c.assert_closed(r)


def test_lowercase_content_length_is_a_body(s):
    """15. `content-length: 5` in lower case is a body too: the POST is
    answered 405 and the connection closed; the body is not a request."""
    with Conn(s.port["http"]) as c:
        c.send(request("POST", "/status", headers=["content-length: 5"],
                       body=b"hello"))
        r = c.read_response()
        assert r.status == 405, r
        c.assert_closed(r)


def front_children_cpu(s):
    """CPU seconds (user + system) of the front's children so far."""
    total = 0
    master = s.p["front"].pid
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % pid) as f:
                st = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(st[1]) == master:
            total += int(st[11]) + int(st[12])
    return total / os.sysconf("SC_CLK_TCK")


def test_pipelined_flood_without_reading_is_bounded(s):
    """A client that pipelines thousands of requests and reads nothing:
    the server stops parsing once its output is backed up and stops
    reading once its input is full, without spinning (CPU stays low while
    the client stalls); when the client reads, every answer arrives in
    order."""
    n = 30000                         # ~9 MB of answers: past any
    names = ["flood-%d.com" % (i % 50) for i in range(n)]   # kernel buffer
    warm, r = fetch(s.port["http"], get(check_path(names[:50])))
    assert_check(r, names[:50])       # cached: the flood is all hits
    warm.sock.close()
    c = Conn(s.port["http"], timeout=30)
    c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16384)
    data = b"".join(get(check_path([nm])) for nm in names)
    sender = threading.Thread(target=c.sock.sendall, args=(data,))
    sender.start()
    time.sleep(1.0)                   # buffers fill up
    cpu0 = front_children_cpu(s)
    time.sleep(2.0)                   # the client stalls
    spent = front_children_cpu(s) - cpu0
    assert spent < 0.5, "front children used %.2fs of CPU in 2s while " \
        "the client read nothing" % spent
    for i in range(n):
        r = c.read_response()
        assert r.status == 200, r
        assert r.json()["results"][0]["domain"] == names[i], (i, r)
    sender.join(timeout=30)
    assert not sender.is_alive()
    c.sock.close()
