"""The HTTP API against its contract, docs/openapi.json: every endpoint's
success and error answers, sent through the real curl (raw sockets for
what curl will not send), each validated against the schemas, headers
and statuses the document declares (python3-jsonschema), so the
document cannot drift from the code.  The behaviours the document
promises (fresh, max_age, Cache-Control, CORS, gzip, Date, Host) are
checked here too.
"""
import gzip
import json
import os
import socket
import tempfile
import time

import pytest

from conftest import BIN, TOP, Procs, remove_tmp, sanitizer_reports
from suite import Suite
from test_http import HOST, Conn, check_path, curl, request

jsonschema = pytest.importorskip("jsonschema")

pytestmark = pytest.mark.skipif(
    not all(os.path.exists(os.path.join(BIN, b)) for b in
            ("whoisd", "whoisd-cache", "whoisd-query", "whoisd-errdb",
             "whoisd-regsim")),
    reason="the daemons are not built")

with open(os.path.join(TOP, "docs", "openapi.json")) as _f:
    DOC = json.load(_f)

ORIGIN = "https://app.example"
MAX_BODY = 100000


# ------------------------------------------------------------ the contract

def resolve(obj):
    while isinstance(obj, dict) and "$ref" in obj:
        node = DOC
        for part in obj["$ref"].lstrip("#/").split("/"):
            node = node[part]
        obj = node
    return obj


def validator(schema):
    resolver = jsonschema.RefResolver.from_schema(DOC)
    return jsonschema.Draft202012Validator(schema, resolver=resolver)


def validate(schema, instance, what):
    errors = sorted(validator(schema).iter_errors(instance),
                    key=lambda e: list(e.path))
    assert not errors, "%s: %s (instance %r)" % (
        what, "; ".join("%s at %s" % (e.message, list(e.path))
                        for e in errors[:5]), instance)


def conform(r, method, path):
    """Validate one real response against the document: its status is
    declared for the operation, its required headers are there and every
    declared header that is present fits its schema, its content type is
    declared, and its body fits that content's schema.  A path the
    document does not have is its NotFound response; a method a path
    does not have, its MethodNotAllowed."""
    p = path.split("?")[0]
    if p not in DOC["paths"]:
        assert r.status == 404, "%s is not in the document: %r" % (p, r)
        op = {"responses": {"404": DOC["components"]["responses"]
                            ["NotFound"]}}
    else:
        op = DOC["paths"][p].get(method.lower())
    if op is None:
        assert r.status == 405, "%s %s is not in the document: %r" % (
            method, p, r)
        op = {"responses": {"405": DOC["components"]["responses"]
                            ["MethodNotAllowed"]}}
    spec = op["responses"].get(str(r.status))
    assert spec is not None, "%s %s: status %d is not declared: %r" % (
        method, p, r.status, r)
    spec = resolve(spec)
    assert r.header("Date"), "no Date: %r" % r
    for name, h in spec.get("headers", {}).items():
        h = resolve(h)
        v = r.header(name)
        if h.get("required"):
            assert v is not None, "%s %s %d: no %s header: %r" % (
                method, p, r.status, name, r)
        if v is not None and "schema" in h:
            inst = int(v) if h["schema"].get("type") == "integer" else v
            validate(h["schema"], inst, "%s %s %d header %s" % (
                method, p, r.status, name))
    if method == "HEAD" or r.status == 204:
        assert r.body == b"", r
        return None
    ct = (r.header("Content-Type") or "").split(";")[0].strip().lower()
    content = spec.get("content", {})
    assert ct in content, "%s %s %d: Content-Type %r is not declared (%s)" % (
        method, p, r.status, ct, list(content))
    schema = content[ct].get("schema", {})
    what = "%s %s %d %s" % (method, p, r.status, ct)
    if ct == "application/x-ndjson":
        lines = [json.loads(l) for l in r.body.decode().splitlines() if l]
        assert lines, r
        for line in lines:
            validate(schema, line, what)
        return lines
    if ct.endswith("json"):
        body = r.json()
    else:
        body = r.body.decode("utf-8", "replace")
    validate(schema, body, what)
    return body


def call(s, method, path, *args, data=None, ok=None, code=None):
    """curl METHOD path [args], validated against the document; `ok`:
    the status wanted, `code`: the problem code wanted."""
    a = ["-X", method] if method not in ("GET", "HEAD") else []
    if method == "HEAD":
        a = ["-I"]
    if data is not None:
        fd, fn = tempfile.mkstemp(prefix="whoisd-api-body-")
        with os.fdopen(fd, "w") as f:
            f.write(data)
        a += ["-H", "Expect:", "-H", "Content-Type: application/json",
              "--data-binary", "@" + fn]
    try:
        r, err = curl(s.port["http"], path, *(a + list(args)))
    finally:
        if data is not None:
            os.unlink(fn)
    body = conform(r, method, path)
    if ok is not None:
        assert r.status == ok, "want %d: %r" % (ok, r)
    if code is not None:
        assert body["code"] == code and body["status"] == r.status, body
        assert body["type"] == "urn:whoisd:problem:" + code, body
    return r, body


def raw(s, data, method, path):
    """Bytes curl will not send, then the answer validated."""
    with Conn(s.port["http"]) as c:
        c.send(data)
        r = c.read_response()
    return r, conform(r, method, path)


# ------------------------------------------------------------------ suites

def start(tmp, skip=(), **kw):
    ps = Procs(tmp)
    try:
        return ps, Suite(ps, tmp, **kw).start(skip=skip)
    except Exception:
        ps.stop_all()
        raise


@pytest.fixture(scope="module")
def s():
    tmp = tempfile.mkdtemp(prefix="whoisd-api-")
    ps, suite = start(tmp, front=["--http_cors_origins=" + ORIGIN +
                                  " https://other.example",
                                  "--http_max_body=%d" % MAX_BODY])
    try:
        yield suite
    finally:
        ps.stop_all()
        reports = sanitizer_reports(ps)
        remove_tmp(tmp)
        if reports:
            pytest.fail("\n".join(reports))


_seq = iter(range(1, 1 << 30))


def uniq(prefix, tld="com"):
    return "%s-%d-%d.%s" % (prefix, os.getpid() % 10000, next(_seq), tld)


def post_body(names, **kw):
    d = {"domains": names}
    d.update(kw)
    return json.dumps(d)


# ------------------------------------------------------- the document

def test_document_is_served_and_valid(s):
    """GET /v1/openapi.json is docs/openapi.json byte for byte, OpenAPI
    3.1, and every schema in it is a valid JSON Schema 2020-12."""
    r, body = call(s, "GET", "/v1/openapi.json", ok=200)
    with open(os.path.join(TOP, "docs", "openapi.json"), "rb") as f:
        assert r.body == f.read()
    assert body["openapi"].startswith("3.1.")
    for name, sch in DOC["components"]["schemas"].items():
        jsonschema.Draft202012Validator.check_schema(sch)
    # Every operation declares its responses, and every problem code the
    # front can answer with is in the Problem schema's enum.
    for p, item in DOC["paths"].items():
        for m, op in item.items():
            assert op.get("responses"), (p, m)
    with open(os.path.join(TOP, "daemons", "whoisd", "http.c")) as f:
        src = f.read()
    with open(os.path.join(TOP, "daemons", "whoisd", "http_parse.c")) as f:
        src += f.read()
    codes = set(DOC["components"]["schemas"]["Problem"]["properties"]
                ["code"]["enum"])
    import re
    used = set(re.findall(r'"([a-z]+(?:-[a-z]+)+)"', src))
    used = {c for c in used if c in codes or c.startswith(("bad-", "missing-",
                                                           "too-", "unknown-",
                                                           "body-"))}
    assert used <= codes, "codes not in the document: %s" % (used - codes)


def test_document_gzipped(s):
    r, _ = call(s, "GET", "/v1/openapi.json", "--compressed", ok=200)
    assert r.header("Content-Encoding") == "gzip", r
    assert "accept-encoding" in r.tokens("Vary"), r
    assert r.header("Cache-Control") == "max-age=3600", r


# ------------------------------------------------------------ /v1/check

def test_check_get(s):
    names = ["example.com", "free-name.com", "reserved-one.be", "bad..name",
             "www.example.org"]
    r, body = call(s, "GET", check_path(names), ok=200)
    res = {x["domain"]: x for x in body["results"]}
    assert res["example.com"]["status"] == "registered"
    assert res["free-name.com"]["status"] == "available"
    assert res["reserved-one.be"]["status"] == "reserved"
    assert res["bad..name"]["status"] == "invalid"
    assert "note" in res["www.example.org"]
    # From the cache the second time, with the same expiry.
    r2, body2 = call(s, "GET", check_path(names[:2]), ok=200)
    for x in body2["results"]:
        assert x["source"] == "cache", x
        assert x["expires"] == res[x["domain"]]["expires"], (x, res)
    assert r2.header("Cache-Control").startswith("max-age="), r2


def test_check_get_errors(s):
    call(s, "GET", "/v1/check", ok=400, code="missing-domain")
    call(s, "GET", check_path(["a%d.com" % i for i in range(101)])
         .replace("/v1/check?", "/v1/check?domain=x.com&") + "&" +
         "&".join("domain=b%d.com" % i for i in range(900)), ok=400,
         code="too-many-names")
    call(s, "GET", "/v1/check?domain=%zz", ok=400, code="bad-query")
    call(s, "GET", "/v1/check?domain=a.com&fresh=maybe", ok=400,
         code="bad-fresh")
    call(s, "GET", "/v1/check?domain=a.com&max_age=-1", ok=400,
         code="bad-max-age")


def test_check_head(s):
    r, _ = call(s, "HEAD", check_path(["example.com"]), ok=200)
    assert int(r.header("Content-Length")) > 0, r


def test_check_post(s):
    r, body = call(s, "POST", "/v1/check", data=post_body(
        ["example.com", "free-name.com", "EXAMPLE.com"]), ok=200)
    assert len(body["results"]) == 2, body     # each name once


def test_check_post_ndjson(s):
    names = [uniq("nd"), uniq("free-nd"), "example.com"]
    r, lines = call(s, "POST", "/v1/check", "-H",
                    "Accept: application/x-ndjson", data=post_body(names),
                    ok=200)
    assert sorted(x["domain"] for x in lines) == sorted(names)
    assert r.header("Content-Encoding") is None, r     # never compressed


def test_check_post_errors(s):
    call(s, "POST", "/v1/check", data="{nope", ok=400, code="bad-json")
    call(s, "POST", "/v1/check", data="[1]", ok=400, code="bad-body")
    call(s, "POST", "/v1/check", data='{"domains":[]}', ok=400,
         code="bad-body")
    call(s, "POST", "/v1/check", data='{"domains":[1]}', ok=400,
         code="bad-body")
    call(s, "POST", "/v1/check", data=post_body(
        ["n%d.com" % i for i in range(1001)]), ok=400, code="too-many-names")
    call(s, "POST", "/v1/check", data='{"domains":["a.com"],"fresh":1}',
         ok=400, code="bad-fresh")
    call(s, "POST", "/v1/check", data='{"domains":["a.com"],"max_age":-2}',
         ok=400, code="bad-max-age")
    call(s, "POST", "/v1/check", data='{"domains":["a.com"],"wait":-2}',
         ok=400, code="bad-wait")
    call(s, "POST", "/v1/check?wait=x", data='{"domains":["a.com"]}', ok=400,
         code="bad-wait")
    call(s, "POST", "/v1/check", "-H", "Content-Length: 0", ok=400,
         code="missing-body")
    call(s, "POST", "/v1/check", "-H", "Content-Encoding: gzip",
         data='{"domains":["a.com"]}', ok=415,
         code="unsupported-content-encoding")
    call(s, "POST", "/v1/check", data=post_body(["x" * 60 + ".com"] * 2000),
         ok=413, code="body-too-large")


def test_check_post_other_errors_raw(s):
    """What curl will not send: a transfer coding we do not know, a
    malformed chunked body, a GET with a body, HTTP/2.0, a huge head,
    no Host."""
    body = b'{"domains":["a.com"]}'
    raw(s, request("POST", "/v1/check", headers=[
        "Transfer-Encoding: gzip, chunked"]) + body, "POST", "/v1/check")
    r, j = raw(s, request("POST", "/v1/check", headers=[
        "Transfer-Encoding: chunked"]) + b"zz\r\n", "POST", "/v1/check")
    assert j["code"] == "bad-chunked", j
    r, j = raw(s, request("GET", "/status", headers=[
        "Content-Length: 3"]) + b"abc", "GET", "/status")
    assert j["code"] == "body-not-allowed", j
    r, j = raw(s, b"GET /status HTTP/2.0\r\nHost: x\r\n\r\n", "GET",
               "/status")
    assert r.status == 505 and j["code"] == "http-version", j
    r, j = raw(s, request("GET", "/status", headers=[
        "X-Pad: " + "a" * 70000]), "GET", "/status")
    assert r.status == 431 and j["code"] == "head-too-large", j
    r, j = raw(s, b"GET /status HTTP/1.1\r\n\r\n", "GET", "/status")
    assert r.status == 400 and j["code"] == "missing-host", j
    r, j = raw(s, b"GET /status HTTP/1.1\r\nHost: x\r\nBad Name: 1\r\n\r\n",
               "GET", "/status")
    assert r.status == 400 and j["code"] == "bad-request", j
    # HTTP/1.0 needs no Host.
    r, _ = raw(s, b"GET /status HTTP/1.0\r\n\r\n", "GET", "/status")
    assert r.status == 200, r


def test_missing_host_with_curl(s):
    call(s, "GET", "/status", "-H", "Host:", ok=400, code="missing-host")


def test_methods_and_paths(s):
    r, _ = call(s, "PUT", "/v1/check", ok=405, code="method-not-allowed")
    assert r.tokens("Allow") == {"get", "head", "post", "options"}, r
    r, _ = call(s, "POST", "/v1/whois", ok=405, code="method-not-allowed")
    assert r.tokens("Allow") == {"get", "head", "options"}, r
    r, err = curl(s.port["http"], "/no/such/path")
    assert r.status == 404 and r.json()["code"] == "unknown-path", r


# ------------------------------------------------------------ /v1/suggest

def test_suggest(s):
    r, body = call(s, "GET", "/v1/suggest?word=acme", ok=200)
    got = [x["domain"] for x in body["results"]]
    assert got == ["acme." + t for t in "com net org io dev app".split()], got
    r, lines = call(s, "GET", "/v1/suggest?word=acme", "-H",
                    "Accept: application/x-ndjson", ok=200)
    assert len(lines) == 6, lines
    r, body = call(s, "GET", "/v1/suggest?word=acme", "--compressed", ok=200)
    assert r.header("Content-Encoding") == "gzip", r
    call(s, "GET", "/v1/suggest", ok=400, code="missing-word")
    call(s, "GET", "/v1/suggest?word=", ok=400, code="missing-word")
    call(s, "GET", "/v1/suggest?word=a.b", ok=400, code="bad-word")
    call(s, "GET", "/v1/suggest?word=a%20b", ok=400, code="bad-word")
    call(s, "GET", "/v1/suggest?word=a&fresh=2", ok=400, code="bad-fresh")
    call(s, "HEAD", "/v1/suggest?word=acme", ok=200)


def test_suggest_idn_word(s):
    r, body = call(s, "GET", "/v1/suggest?word=b%C3%BCcher", ok=200)
    assert body["results"][0]["ace"] == "xn--bcher-kva.com", body


# -------------------------------------------------------------- /v1/whois

def test_whois(s):
    r, text = call(s, "GET", "/v1/whois?domain=example.com", ok=200)
    assert "status: registered" in text, text
    call(s, "GET", "/v1/whois", ok=400, code="missing-domain")
    call(s, "GET", "/v1/whois?domain=a.com&domain=b.com", ok=400,
         code="too-many-names")
    call(s, "HEAD", "/v1/whois?domain=example.com", ok=200)


# ----------------------------------------------------- /status, /metrics

def test_status_and_metrics(s):
    call(s, "GET", "/status", ok=200)
    call(s, "HEAD", "/status", ok=200)
    call(s, "GET", "/metrics", ok=200)


# ------------------------------------------------------------------ CORS

def test_cors_preflight_and_simple(s):
    for path in ("/v1/check", "/v1/suggest", "/v1/whois", "/status"):
        r, _ = call(s, "OPTIONS", path, "-H", "Origin: " + ORIGIN, "-H",
                    "Access-Control-Request-Method: POST", "-H",
                    "Access-Control-Request-Headers: content-type", ok=204)
        assert r.header("Access-Control-Allow-Origin") == ORIGIN, r
        assert "get" in r.tokens("Access-Control-Allow-Methods"), r
        assert r.tokens("Access-Control-Allow-Headers") == {"content-type"}
        assert int(r.header("Access-Control-Max-Age")) > 0, r
        assert "origin" in r.tokens("Vary"), r
    r, _ = call(s, "GET", check_path(["example.com"]), "-H",
                "Origin: " + ORIGIN, ok=200)
    assert r.header("Access-Control-Allow-Origin") == ORIGIN, r
    assert "retry-after" in r.tokens("Access-Control-Expose-Headers"), r
    # Errors carry it too: a page can read the problem.
    r, _ = call(s, "GET", "/v1/check", "-H", "Origin: " + ORIGIN, ok=400)
    assert r.header("Access-Control-Allow-Origin") == ORIGIN, r
    # Another origin gets nothing to allow it, but the same Vary.
    for o in ("https://evil.example", "null"):
        r, _ = call(s, "OPTIONS", "/v1/check", "-H", "Origin: " + o, "-H",
                    "Access-Control-Request-Method: POST", ok=204)
        assert r.header("Access-Control-Allow-Origin") is None, r
        assert r.header("Access-Control-Allow-Methods") is None, r
        assert "origin" in r.tokens("Vary"), r
    r, _ = call(s, "OPTIONS", "/nope", ok=404, code="unknown-path")


def test_cors_off_by_default():
    tmp = tempfile.mkdtemp(prefix="whoisd-api-nocors-")
    ps, s = start(tmp, skip=("regsim", "errdb", "cache", "query"))
    try:
        r, _ = call(s, "OPTIONS", "/v1/check", "-H", "Origin: " + ORIGIN,
                    "-H", "Access-Control-Request-Method: POST", ok=204)
        assert r.header("Access-Control-Allow-Origin") is None, r
        assert r.header("Vary") is None, r
    finally:
        ps.stop_all()
        remove_tmp(tmp)


def test_cors_star():
    tmp = tempfile.mkdtemp(prefix="whoisd-api-star-")
    ps, s = start(tmp, skip=("regsim", "errdb", "cache", "query"),
                  front=["--http_cors_origins=*"])
    try:
        r, _ = call(s, "GET", "/status", "-H", "Origin: https://x.example",
                    ok=200)
        assert r.header("Access-Control-Allow-Origin") == "*", r
    finally:
        ps.stop_all()
        remove_tmp(tmp)


# ------------------------------------------------------- HTTP manners

def test_date_on_every_response(s):
    for args in ([], ["-X", "PUT"]):
        r, _ = curl(s.port["http"], "/status", *args)
        d = r.header("Date")
        assert d and d.endswith(" GMT"), r
        t = time.mktime(time.strptime(d, "%a, %d %b %Y %H:%M:%S GMT"))
        assert abs(t - time.mktime(time.gmtime())) < 5, d


def test_gzip_when_large_and_accepted(s):
    names = ["gz%d.com" % i for i in range(30)]
    r, _ = curl(s.port["http"], check_path(names))
    assert r.header("Content-Encoding") is None, r
    assert "accept-encoding" in r.tokens("Vary"), r
    plain = r.json()
    with Conn(s.port["http"]) as c:
        c.send(request("GET", check_path(names),
                       headers=["Accept-Encoding: gzip"]))
        g = c.read_response()
    assert g.header("Content-Encoding") == "gzip", g
    assert int(g.header("Content-Length")) == len(g.body)
    body = json.loads(gzip.decompress(g.body))
    assert [x["domain"] for x in body["results"]] == \
        [x["domain"] for x in plain["results"]]
    assert len(g.body) < len(r.body) / 3, (len(g.body), len(r.body))
    # Small answers, and clients that refuse gzip, are sent as they are.
    for ae in ("gzip", "gzip;q=0, identity", "identity"):
        hdr = ["Accept-Encoding: " + ae]
        nm = names if ae != "gzip" else names[:1]
        with Conn(s.port["http"]) as c:
            c.send(request("GET", check_path(nm), headers=hdr))
            x = c.read_response()
        assert x.header("Content-Encoding") is None, (ae, x)
        x.json()


# --------------------------------------------------------- freshness

def test_fresh_asks_the_registry(s):
    name = uniq("fresh")
    s.check([name])
    assert s.sim_count(name) == 1
    r, body = call(s, "GET", check_path([name]) + "&fresh=1", ok=200)
    x = body["results"][0]
    assert x["source"] == "registry" and s.sim_count(name) == 2, x
    r, body = call(s, "POST", "/v1/check",
                   data=post_body([name], fresh=True), ok=200)
    assert body["results"][0]["source"] == "registry", body
    assert s.sim_count(name) == 3
    # Not fresh: the cache (and this child's memo) answer.
    r, body = call(s, "GET", check_path([name]), ok=200)
    assert body["results"][0]["source"] == "cache", body
    assert s.sim_count(name) == 3


def test_max_age(s):
    name = uniq("aged")
    s.check([name])
    time.sleep(2.1)
    # Checked over 2 s ago: max_age=60 takes it, max_age=1 does not.
    r, body = call(s, "GET", check_path([name]) + "&max_age=60", ok=200)
    assert body["results"][0]["source"] == "cache", body
    assert s.sim_count(name) == 1
    r, body = call(s, "GET", check_path([name]) + "&max_age=1", ok=200)
    assert body["results"][0]["source"] == "registry", body
    assert s.sim_count(name) == 2
    r, body = call(s, "POST", "/v1/check", data=post_body([name], max_age=0),
                   ok=200)
    assert body["results"][0]["source"] == "registry", body


def test_expires_and_cache_control(s):
    reg, free = uniq("cc"), uniq("free-cc")
    r, body = call(s, "GET", check_path([reg, free]), ok=200)
    res = {x["domain"]: x for x in body["results"]}

    def ts(v):
        return time.mktime(time.strptime(v, "%Y-%m-%dT%H:%M:%SZ"))
    # The cache's defaults: a day for registered, 10 minutes available.
    assert ts(res[reg]["expires"]) - ts(res[reg]["checked"]) == 86400
    assert ts(res[free]["expires"]) - ts(res[free]["checked"]) == 600
    age = int(r.header("Cache-Control").split("=")[1])
    assert 590 <= age <= 600, r
    # Unknown (no whois service in the suite's registries) is no-store.
    r, body = call(s, "GET", check_path(["x.dev"]), ok=200)
    assert body["results"][0]["status"] == "unknown", body
    assert body["results"][0]["expires"] == body["results"][0]["checked"]
    assert r.header("Cache-Control") == "no-store", r
    r, _ = call(s, "GET", "/v1/check", ok=400)
    assert r.header("Cache-Control") == "no-store", r


@pytest.fixture(scope="module")
def slow():
    """A suite whose registries allow one query every 5 seconds, and
    whose front lets one address make 2 requests a second (burst 4)."""
    tmp = tempfile.mkdtemp(prefix="whoisd-api-slow-")
    ps, suite = start(tmp, query=["--registry_rate_override=0.2"],
                      front=["--request_timeout=2",
                             "--limit_req_per_client=2",
                             "--limit_req_burst=4"])
    try:
        yield suite
    finally:
        ps.stop_all()
        reports = sanitizer_reports(ps)
        remove_tmp(tmp)
        if reports:
            pytest.fail("\n".join(reports))


def test_fresh_over_budget_and_429(slow):
    """fresh=1 past the registry's budget: unknown / rate-budget with
    retry_after, never the cached answer; every name waiting: Retry-After.
    Then a client over its own request rate: 429 with Retry-After."""
    s = slow
    name = uniq("budget")
    r, body = call(s, "GET", check_path([name]), ok=200)  # the budget's one
    assert body["results"][0]["source"] == "registry", body
    r, body = call(s, "GET", check_path([name]) + "&fresh=1", ok=200)
    x = body["results"][0]
    assert x["status"] == "unknown" and x["reason"] == "rate-budget", x
    assert x["source"] == "registry" and x["retry_after"] >= 1, x
    assert int(r.header("Retry-After")) >= 1, r
    assert r.header("Cache-Control") == "no-store", r
    # Not fresh: the cache still has it.
    r, body = call(s, "GET", check_path([name]), ok=200)
    assert body["results"][0]["source"] == "cache", body
    deadline = time.time() + 10
    while True:
        r, _ = curl(s.port["http"], "/status")
        if r.status == 429:
            break
        assert time.time() < deadline, "never limited"
    conform(r, "GET", "/status")
    assert r.json()["code"] == "rate-limited", r
    assert int(r.header("Retry-After")) >= 1, r


def test_too_many_connections_problem():
    """Over limit_conn_per_client: a 429 problem too, with Retry-After,
    before the connection is closed."""
    tmp = tempfile.mkdtemp(prefix="whoisd-api-conn-")
    ps, s = start(tmp, skip=("regsim", "errdb", "cache", "query"),
                  front=["--limit_conn_per_client=2"])
    held = []
    try:
        for _ in range(2):
            c = socket.create_connection((HOST, s.port["http"]))
            c.sendall(b"GET /status HTTP/1.1\r\n")  # accepted, unfinished
            held.append(c)
        time.sleep(0.3)
        r, _ = call(s, "GET", "/status", ok=429, code="too-many-connections")
        assert int(r.header("Retry-After")) >= 1, r
    finally:
        for c in held:
            c.close()
        ps.stop_all()
        remove_tmp(tmp)
