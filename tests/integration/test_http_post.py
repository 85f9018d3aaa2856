"""POST /v1/check: a JSON body of names, answered in one JSON body or
streamed as NDJSON (one line per name, as each is known), with curl and
raw sockets against the whole suite.

In the shared suite's simulator .org names answer after SLOW_MS (a data
file with `latency org SLOW_MS`); every other registry answers at once.
A cached .com name is answered in the first milliseconds, a fresh .org
one not before SLOW_MS: the order of a stream's lines shows which came
first.
"""
import json
import os
import select
import signal
import socket
import struct
import subprocess
import tempfile
import time

import pytest

from conftest import (BIN, Procs, children_of, remove_tmp,
                      sanitizer_reports)
from suite import Suite, regsim_data
from test_http import (HOST, Conn, Closed, assert_front_healthy,
                       assert_serving, check_path, curl, expected_status,
                       get, request)

pytestmark = pytest.mark.skipif(
    not all(os.path.exists(os.path.join(BIN, b)) for b in
            ("whoisd", "whoisd-cache", "whoisd-query", "whoisd-errdb",
             "whoisd-regsim")),
    reason="the daemons are not built")

SLOW_MS = 300
NDJSON = "Accept: application/x-ndjson"


@pytest.fixture(scope="module")
def suite():
    tmp = tempfile.mkdtemp(prefix="whoisd-post-")
    data = regsim_data(tmp, "latency org %d" % SLOW_MS)
    ps = Procs(tmp)
    try:
        s = Suite(ps, tmp, regsim=["--data=" + data],
                  front=["--http_idle_timeout=3"]).start()
        yield s
    finally:
        ps.stop_all()
        reports = sanitizer_reports(ps)
        remove_tmp(tmp)
        if reports:
            pytest.fail("\n".join(reports))


@pytest.fixture
def s(suite):
    since = len(suite.p["front"].logtext())
    yield suite
    assert_front_healthy(suite, since)


_seq = iter(range(1, 1 << 30))


def uniq(prefix, tld="com"):
    return "%s-%d-%d.%s" % (prefix, os.getpid() % 10000, next(_seq), tld)


def body(names, **kw):
    d = {"domains": names}
    d.update(kw)
    return json.dumps(d).encode()


def post(body_bytes, target="/v1/check", headers=(), chunked=False):
    if chunked:
        return request("POST", target, headers=["Transfer-Encoding: "
                                                 "chunked"] + list(headers),
                       body=body_bytes)
    return request("POST", target, headers=[
        "Content-Type: application/json",
        "Content-Length: %d" % len(body_bytes)] + list(headers),
        body=body_bytes)


def chunk(data):
    return b"%x\r\n%s\r\n" % (len(data), data)


def warm(s, names):
    """Answer names once, so the cache (and the memo) hold them."""
    for i in range(0, len(names), 100):
        s.check(names[i:i + 100])


class Stream:
    """Read a chunked NDJSON answer line by line, timing each line."""

    def __init__(self, conn):
        self.c = conn
        self.lines = []         # (seconds since t0, dict)
        self.pending = b""

    def head(self):
        c = self.c
        while b"\r\n\r\n" not in c.buf:
            c._fill("a response head")
        raw, _, c.buf = c.buf.partition(b"\r\n\r\n")
        return raw.decode("latin-1")

    def read_all(self, t0):
        c = self.c
        while True:
            size = int(c._line("a chunk size").split(b";")[0], 16)
            if size == 0:
                assert c._line("the end of the trailer") == b""
                break
            data = c._take(size, "a chunk")
            assert c._take(2, "a chunk's CRLF") == b"\r\n"
            now = time.monotonic() - t0
            self.pending += data
            while b"\n" in self.pending:
                line, _, self.pending = self.pending.partition(b"\n")
                self.lines.append((now, json.loads(line)))
        assert self.pending == b"", "a line without its newline"
        return self.lines


def read_json(c):
    r = c.read_response()
    return r, (r.json() if r.body else None)


# ------------------------------------------------------------- one body

def test_post_json_one_body(s):
    """curl --data-binary: 200, application/json, Content-Length, the
    results in the order sent, each right."""
    names = [uniq("post", "com"), uniq("free-post", "de"), uniq("post", "net")]
    r, _ = curl(s.port["http"], "/v1/check", "--data-binary",
                body(names).decode(), "-H", "Content-Type: application/json")
    assert r.status == 200, r
    assert r.header("Content-Type").startswith("application/json"), r
    assert r.header("Content-Length") == str(len(r.body)), r
    res = r.json()["results"]
    assert [x["domain"] for x in res] == names, res
    for n, x in zip(names, res):
        assert x["status"] == expected_status(n), x


def test_get_unchanged(s):
    """GET /v1/check answers exactly as before: one result per parameter,
    duplicates included, Content-Length framing."""
    n = uniq("get", "com")
    r, _ = curl(s.port["http"], check_path([n, n]))
    assert r.status == 200 and r.header("Transfer-Encoding") is None, r
    assert [x["domain"] for x in r.json()["results"]] == [n, n], r


# ------------------------------------------------------------ streaming

def test_ndjson_cached_first_then_registry_keepalive(s):
    """NDJSON: chunked, one line per name; the cached names' lines arrive
    before a fresh .org name could have its registry answer (SLOW_MS);
    every name exactly once; then the connection serves a GET."""
    cached = [uniq("warm", "com") for _ in range(20)]
    warm(s, cached)
    fresh = [uniq("slow", "org") for _ in range(10)]
    names = fresh[:5] + cached + fresh[5:]
    with Conn(s.port["http"]) as c:
        t0 = time.monotonic()
        c.send(post(body(names), headers=[NDJSON]))
        st = Stream(c)
        head = st.head()
        assert head.startswith("HTTP/1.1 200"), head
        assert "application/x-ndjson" in head, head
        assert "Transfer-Encoding: chunked" in head, head
        assert "Content-Length" not in head, head
        lines = st.read_all(t0)
        got = [x["domain"] for _, x in lines]
        assert sorted(got) == sorted(names), got
        first_t, first = lines[0]
        assert first["domain"] in cached, lines[:3]
        assert first_t < SLOW_MS / 1000.0, (
            "first line after %.3fs, a registry answer takes %d ms"
            % (first_t, SLOW_MS))
        # Every cached line came before any registry answer.
        order = [x["domain"] in cached for _, x in lines]
        assert order == [True] * 20 + [False] * 10, got
        for _, x in lines:
            assert x["status"] == expected_status(x["domain"]), x
        assert min(t for t, x in lines if x["domain"] in fresh) >= \
            SLOW_MS / 1000.0 * 0.9
        # Keep-alive after a stream.
        c.send(get(check_path([cached[0]])))
        r = c.read_response()
        assert r.status == 200 and \
            r.json()["results"][0]["domain"] == cached[0], r


def test_ndjson_with_curl(s):
    """curl -N reads the stream: one JSON object per line."""
    names = [uniq("curl", "com"), uniq("free-curl", "org")]
    p = subprocess.run(["curl", "-sS", "-N", "--http1.1", "--max-time", "20",
                        "-H", NDJSON, "--data-binary", body(names).decode(),
                        "http://%s:%d/v1/check" % (HOST, s.port["http"])],
                       capture_output=True, timeout=25)
    assert p.returncode == 0, p.stderr
    lines = [json.loads(x) for x in p.stdout.decode().splitlines()]
    assert sorted(x["domain"] for x in lines) == sorted(names), lines


def test_duplicates_answered_once_first_appearance(s):
    """Names equal once normalised (case, a final dot) are answered once,
    in the place and spelling of their first appearance; invalid names
    repeated verbatim are one answer too."""
    a, b = uniq("dup", "com"), uniq("free-dup", "de")
    names = [a, a.upper(), b, a + ".", "-bad-.com", b, "-bad-.com", a]
    with Conn(s.port["http"]) as c:
        c.send(post(body(names)))
        r, j = read_json(c)
        assert r.status == 200, r
        assert [x["domain"] for x in j["results"]] == [a, b, "-bad-.com"], j
        assert j["results"][2]["status"] == "invalid", j
        c.send(post(body(names), headers=[NDJSON]))
        lines = Stream(c)
        lines.head()
        got = [x["domain"] for _, x in lines.read_all(time.monotonic())]
        assert sorted(got) == sorted([a, b, "-bad-.com"]), got


def test_wait_cuts_open_names(s):
    """wait= (query parameter or JSON member) bounds the answer: names
    still open then are unknown, reason wait, with retry_after; the
    stream ends at once after, and the cached name was answered."""
    cached = uniq("wc", "com")
    warm(s, [cached])
    for how in ("query", "member"):
        slow = [uniq("cut", "org") for _ in range(5)]
        names = [cached] + slow
        target, b = "/v1/check", body(names)
        if how == "query":
            target = "/v1/check?wait=0.1"
        else:
            b = body(names, wait=0.1)
        with Conn(s.port["http"]) as c:
            t0 = time.monotonic()
            c.send(post(b, target=target, headers=[NDJSON]))
            st = Stream(c)
            st.head()
            lines = st.read_all(t0)
            took = time.monotonic() - t0
            assert took < SLOW_MS / 1000.0, (how, took)
            by = {x["domain"]: x for _, x in lines}
            assert sorted(by) == sorted(names), (how, lines)
            assert by[cached]["status"] == "registered", by[cached]
            for n in slow:
                x = by[n]
                assert x["status"] == "unknown" and x["reason"] == "wait" \
                    and x["retry_after"] >= 1, (how, x)
        # The plain answer is cut the same way.
        with Conn(s.port["http"]) as c:
            c.send(post(body([uniq("cut", "org")], wait=0.05)))
            r, j = read_json(c)
            assert j["results"][0]["reason"] == "wait", j


def test_1000_names(s):
    """1,000 names in one POST (the default http_max_names): the first
    line before any registry answer could have come, every name exactly
    once; one more name is refused."""
    cached = ["k1000-%d-%d.com" % (os.getpid() % 10000, i)
              for i in range(100)]
    warm(s, cached)
    fresh = [uniq("t1000", "org") for _ in range(900)]
    names = fresh[:450] + cached + fresh[450:]
    with Conn(s.port["http"], timeout=30) as c:
        t0 = time.monotonic()
        c.send(post(body(names), headers=[NDJSON]))
        st = Stream(c)
        st.head()
        lines = st.read_all(t0)
        assert lines[0][0] < SLOW_MS / 1000.0, lines[:2]
        got = [x["domain"] for _, x in lines]
        assert len(got) == 1000 and set(got) == set(names)
        assert set(got[:100]) == set(cached)
        # The plain body of the same.
        c.send(post(body(names)))
        r, j = read_json(c)
        assert [x["domain"] for x in j["results"]] == names
        c.send(post(body(names + ["one-more.com"])))
        r, j = read_json(c)
        assert r.status == 400 and "at most 1000" in j["detail"], r


# ---------------------------------------------------------- bad bodies

@pytest.mark.parametrize("raw,what", [
    (b'{"domains":["a.com",}', "bad JSON"),
    (b'not json', "bad JSON"),
    (b'["a.com"]', "JSON object"),
    (b'{"names":["a.com"]}', "no \"domains\""),
    (b'{"domains":"a.com"}', "must be an array"),
    (b'{"domains":["a.com",7]}', "[1] is not a string"),
    (b'{"domains":[]}', "empty"),
    (b'{"domains":["a.com"],"wait":-1}', "wait"),
    (b'{"domains":["a.com"],"domains":["b.com"]}', "bad JSON"),
    (b'{"domains":["a\\u0000.com"]}', "bad JSON"),
])
def test_bad_bodies_400_keepalive(s, raw, what):
    """A body that is not {"domains":[strings]}: 400 with a JSON error
    saying what is wrong; the body was read whole, so the connection
    goes on."""
    with Conn(s.port["http"]) as c:
        c.send(post(raw))
        r, j = read_json(c)
        assert r.status == 400, r
        assert what in j["detail"], (what, j)
        assert "close" not in (r.header("Connection") or ""), r
        c.send(get("/status"))
        assert c.read_response().status == 200


def test_empty_and_bad_wait_400(s):
    with Conn(s.port["http"]) as c:
        c.send(request("POST", "/v1/check"))
        r, j = read_json(c)
        assert r.status == 400 and "expected a JSON body" in j["detail"], r
        c.send(post(body(["a.com"]), target="/v1/check?wait=x"))
        r, j = read_json(c)
        assert r.status == 400 and "wait" in j["detail"], r


def test_too_many_values_refused(s):
    """Many tiny JSON values cost jansson far more than their bytes: over
    the parse's memory budget it is a 400, not a big child."""
    raw = b'{"x":[' + b",".join([b"[]"] * 200000) + b'],"domains":["a.com"]}'
    with Conn(s.port["http"]) as c:
        c.send(post(raw))
        r, j = read_json(c)
        assert r.status == 400 and "too many values" in j["detail"], r


def test_too_big_body_413_unread(s):
    """A Content-Length over http_max_body: 413 at once, before any of
    the body is sent, then close."""
    with Conn(s.port["http"]) as c:
        c.send(request("POST", "/v1/check",
                       headers=["Content-Length: 100000000"]))
        r, j = read_json(c)
        assert r.status == 413 and "http_max_body" in j["detail"], r
        c.assert_closed(r)
    assert_serving(s.port["http"])


def test_chunked_over_limit_413(s):
    """A chunked body announced bigger than the limit: 413 as soon as the
    chunk size is read, then close."""
    with Conn(s.port["http"]) as c:
        c.send(post(b"", chunked=True).rstrip(b"\r\n") + b"\r\n\r\n" +
               b"40000000\r\n" + b"x" * 1000)
        r, j = read_json(c)
        assert r.status == 413, r
        c.assert_closed(r)


def test_content_encoding_415(s):
    """A gzip body (a zip bomb, say) is never inflated: 415, then close."""
    import gzip
    bomb = gzip.compress(b" " * 10000000)
    with Conn(s.port["http"]) as c:
        c.send(post(bomb, headers=["Content-Encoding: gzip"]))
        r, j = read_json(c)
        assert r.status == 415, r
        c.assert_closed(r)


def test_chunked_body(s):
    """A chunked body (split anywhere, an extension, a trailer) is the
    same request; the connection goes on after."""
    names = [uniq("chunk", "com"), uniq("free-chunk", "de")]
    b = body(names)
    data = chunk(b[:7]) + b"3;ext=1\r\n" + b[7:10] + b"\r\n" + \
        chunk(b[10:]) + b"0\r\nX-Trailer: 1\r\n\r\n"
    with Conn(s.port["http"]) as c:
        c.send(post(b"", chunked=True).rstrip(b"\r\n") + b"\r\n\r\n")
        for i in range(0, len(data), 5):
            c.send(data[i:i + 5])
            time.sleep(0.002)
        r, j = read_json(c)
        assert r.status == 200, r
        assert [x["domain"] for x in j["results"]] == names
        c.send(get("/status"))
        assert c.read_response().status == 200


@pytest.mark.parametrize("bad", [b"zz\r\n", b"5\r\nabcdeXX", b"5\nabcde\r\n",
                                 b"-1\r\n"])
def test_malformed_chunked_400_close(s, bad):
    with Conn(s.port["http"]) as c:
        c.send(post(b"", chunked=True).rstrip(b"\r\n") + b"\r\n\r\n" + bad)
        r, j = read_json(c)
        assert r.status == 400 and "chunked" in j["detail"], r
        c.assert_closed(r)


def test_both_framings_400(s):
    with Conn(s.port["http"]) as c:
        c.send(request("POST", "/v1/check", headers=[
            "Content-Length: 5", "Transfer-Encoding: chunked"],
            body=b"0\r\n\r\n"))
        r = c.read_response()
        assert r.status == 400, r
        c.assert_closed(r)


def test_slow_body_deadline_408(s):
    """Head and body must arrive within http_idle_timeout (3 s here) of
    the head's first byte, however slowly the body trickles in."""
    b = body([uniq("slowbody", "com")])
    with Conn(s.port["http"], timeout=15) as c:
        t0 = time.monotonic()
        c.send(post(b)[:-len(b)])
        took = None
        for i in range(len(b) - 1):
            c.send(b[i:i + 1])
            if select.select([c.sock], [], [], 0.2)[0]:
                took = time.monotonic() - t0
                break
        r, j = read_json(c)
        assert r.status == 408, r
        assert 2.5 < took < 5, took
        c.assert_closed(r)


def test_expect_100_continue(s):
    names = [uniq("expect", "com")]
    b = body(names)
    with Conn(s.port["http"]) as c:
        c.send(request("POST", "/v1/check", headers=[
            "Content-Length: %d" % len(b), "Expect: 100-continue"]))
        r = c.read_response()
        assert r.status == 100, r
        c.send(b)
        r, j = read_json(c)
        assert r.status == 200 and j["results"][0]["domain"] == names[0]


def test_methods_on_check_405_allow_post(s):
    r, _ = curl(s.port["http"], "/v1/check", "-X", "PUT")
    assert r.status == 405, r
    assert {m.strip() for m in r.header("Allow").split(",")} == \
        {"GET", "HEAD", "POST", "OPTIONS"}, r
    r, _ = curl(s.port["http"], "/status", "-X", "POST")
    assert r.status == 405 and r.header("Allow") == "GET, HEAD, OPTIONS", r


# ------------------------------------------------ pipelining and clients

def test_pipelined_after_stream(s):
    """A GET pipelined behind a streamed POST is answered after the
    stream's last chunk, never inside it."""
    slow = [uniq("pipe", "org") for _ in range(3)]
    cached = uniq("pipe", "com")
    warm(s, [cached])
    with Conn(s.port["http"]) as c:
        c.send(post(body(slow), headers=[NDJSON]) +
               get(check_path([cached])) +
               post(body([cached])))
        r1 = c.read_response()
        assert r1.status == 200 and r1.framing == "chunked", r1
        lines = [json.loads(x) for x in r1.body.splitlines()]
        assert sorted(x["domain"] for x in lines) == sorted(slow)
        r2 = c.read_response()
        assert r2.json()["results"][0]["domain"] == cached, r2
        r3 = c.read_response()
        assert r3.json()["results"][0]["domain"] == cached, r3


def test_http10_stream_until_close(s):
    names = [uniq("h10", "com"), uniq("h10", "org")]
    b = body(names)
    with Conn(s.port["http"]) as c:
        c.send(request("POST", "/v1/check", version="HTTP/1.0", headers=[
            NDJSON, "Content-Length: %d" % len(b)], body=b))
        r = c.read_response()
        assert r.status == 200 and r.framing == "close", r
        got = [json.loads(x)["domain"] for x in r.body.splitlines()]
        assert sorted(got) == sorted(names)


def front_fds(s):
    n = 0
    for pid in children_of(s.p["front"].pid):
        try:
            n += len(os.listdir("/proc/%d/fd" % pid))
        except OSError:
            pass
    return n


def test_client_vanishes_mid_stream(s):
    """Clients that reset or close after the first line of a stream: no
    crash, no descriptor left behind, the front keeps serving."""
    assert_serving(s.port["http"])
    before = front_fds(s)
    for i in range(20):
        cached = uniq("gone", "com")
        warm(s, [cached])
        c = Conn(s.port["http"])
        c.send(post(body([cached] + [uniq("gone", "org") for _ in range(5)]),
                    headers=[NDJSON]))
        st = Stream(c)
        st.head()
        c._line("a chunk size")
        if i % 2:
            c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                              struct.pack("ii", 1, 0))
        c.close()
    time.sleep(SLOW_MS / 1000.0 + 0.5)
    assert_serving(s.port["http"])
    after = front_fds(s)
    assert after <= before + 2, (before, after)


# ----------------------------------------------------- Retry-After

def test_retry_after_when_every_name_waits(procs, tmpdir_path):
    """With the registry's budget spent, an answer whose every name is
    unknown / rate-budget carries Retry-After: the smallest retry_after;
    one with any verdict does not."""
    s = Suite(procs, tmpdir_path,
              query=["--registry_rate_override=0.2", "--min_servers=1",
                     "--max_servers=2", "--min_spare_servers=0",
                     "--max_spare_servers=1"],
              front=["--request_timeout=2"]).start()
    port = s.port["http"]
    known = "rtknown.com"
    # The first name spends the token; the next have to wait ~5 s.
    s.check([known])
    with Conn(port) as c:
        c.send(post(body(["rt-%d.com" % i for i in range(3)])))
        r, j = read_json(c)
        res = j["results"]
        assert all(x["status"] == "unknown" and
                   x["reason"] == "rate-budget" for x in res), res
        ra = r.header("Retry-After")
        assert ra is not None and ra.isdigit(), r
        assert int(ra) == min(x["retry_after"] for x in res), (ra, res)
        # A verdict among them (the cached name): no header.
        c.send(post(body([known, "rt-9.com"])))
        r, j = read_json(c)
        assert r.header("Retry-After") is None, r
        # GET says the same.
        c.send(get(check_path(["rt-7.com"])))
        r = c.read_response()
        assert r.json()["results"][0]["reason"] == "rate-budget", r
        assert r.header("Retry-After") is not None, r


# -------------------------------------------------------------- drain

def test_stream_finishes_on_reload(procs, tmpdir_path):
    """A stream under way on a child told to drain (HUP) is finished, and
    the connection then closed."""
    tmp = tmpdir_path
    data = regsim_data(tmp, "latency org 1500")
    s = Suite(procs, tmp, regsim=["--data=" + data]).start()
    names = ["drain-%d.org" % i for i in range(3)] + ["drain.com"]
    with Conn(s.port["http"]) as c:
        c.send(post(body(names), headers=[NDJSON]))
        st = Stream(c)
        head = st.head()
        assert "200" in head.split("\r\n")[0]
        time.sleep(0.3)
        os.kill(s.p["front"].pid, signal.SIGHUP)
        lines = st.read_all(time.monotonic())
        assert sorted(x["domain"] for _, x in lines) == sorted(names)
        assert all(x["status"] == "registered" for _, x in lines), lines
        how, _, extra = c.wait_closed(5)
        assert how is not None and extra == b"", (how, extra)
