#!/usr/bin/python3
"""mkcorpus.py — write the fuzz seeds, tests/fuzz/corpus/NAME/, from the
repository's real inputs: golden frames (tests/vectors/), registry replies
(tests/corpus/), etc/*.conf.  Run from the top of the tree; it replaces
the seed directories it writes.  Each seed carries the leading selector
bytes its target expects (see the header of tests/fuzz/fuzz_NAME.c).
"""
import os
import re
import shutil
import zlib

OUT = "tests/fuzz/corpus"
# proto/msg.h enum msg_type order.
MSG_TYPES = ["unknown", "ok", "err", "goaway", "ping", "pong", "get", "get_r",
             "put", "timing", "timing_get", "timing_r", "stats", "stats_r",
             "purge", "purge_r", "query", "query_r", "error", "health",
             "health_r", "errors", "errors_r", "health_clear", "hello",
             "hello_r", "auth"]
# Replies kept small: seeds are for shape, not bulk.
SEED_MAX = 8192


def reset(name):
    # Inputs a target once failed on (found-*) are kept: every run
    # replays them first.
    d = os.path.join(OUT, name)
    os.makedirs(d, exist_ok=True)
    for f in os.listdir(d):
        if not f.startswith("found-"):
            os.remove(os.path.join(d, f))
    return d


def put(d, fname, data):
    with open(os.path.join(d, fname), "wb") as f:
        f.write(data)


def vector(path):
    with open(path) as f:
        return bytes.fromhex(f.read())


def frame(body, deflate=False):
    flags = 0
    if deflate:
        body, flags = zlib.compress(body, 1), 1
    return (len(body) + 1).to_bytes(4, "big") + bytes([flags]) + body


def msg_type(body):
    # The `t` value: fixstr key "t" then a fixstr value.
    i = body.index(b"\xa1t")
    n = body[i + 2] & 0x1f
    return body[i + 3:i + 3 + n].decode()


def msg_seeds():
    d = reset("msg")
    for v in sorted(os.listdir("tests/vectors")):
        body = vector(os.path.join("tests/vectors", v))
        t = MSG_TYPES.index(msg_type(body))
        name = v[:-4]
        put(d, name, bytes([t]) + frame(body))
        # The same deflated, in 13-byte chains, with a low compress_min.
        put(d, name + "-z", bytes([t | 0xc0]) + frame(body, True))
    # Two frames back to back.
    ping = vector("tests/vectors/ping.hex")
    put(d, "ping-ping", bytes([MSG_TYPES.index("ping")]) +
        frame(ping) + frame(ping))


def registries():
    """Registry names in file order (registries_get() order)."""
    names = []
    with open("etc/registries.conf") as f:
        for line in f:
            m = re.match(r"registry\s+(\S+)", line)
            if m:
                names.append(m.group(1))
    return names


def expect():
    """(file, registry name) from tests/corpus/EXPECT."""
    with open("tests/corpus/EXPECT") as f:
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            fields = line.split()
            yield fields[0], fields[3].split(":")[0]


def reply(path):
    with open(os.path.join("tests/corpus", path), "rb") as f:
        data = f.read()
    return data.replace(b"{{domain}}", b"whoisd-test.example") \
        .replace(b"{{DOMAIN}}", b"WHOISD-TEST.EXAMPLE") \
        .replace(b"{{seconds}}", b"42")[:SEED_MAX]


def classify_seeds():
    d = reset("classify")
    regs = registries()
    for path, reg in expect():
        if reg not in regs:
            continue
        # byte 0: registry index, byte 1: transport outcome (0 = ok).
        put(d, path.replace("/", "-"),
            bytes([regs.index(reg) % 256, 0]) + reply(path))


def referral_seeds():
    d = reset("referral")
    # Mode 0 (byte 0 & 3): a reply through the first registry that has a
    # referral rule (verisign: com).
    for path, reg in expect():
        if path.startswith("com/") or path.startswith("net/"):
            put(d, "reply-" + path.replace("/", "-"), b"\x00" + reply(path))
    values = [b"whois.example-registrar.com", b"whois.example.com:4343",
              b"http://whois.example.net/", b"[2a00:1450::1]:43",
              b"127.1", b"whois.internal", b"rwhois://whois.example.org:4321"]
    for i, v in enumerate(values):
        put(d, "host-%d" % i, bytes([1 + i % 2]) + v)
    iana = (b"% IANA WHOIS server\n\ndomain:       COM\n\n"
            b"whois:        whois.verisign-grs.com\n\nstatus:       ACTIVE\n")
    put(d, "iana-com", b"\x03" + iana)
    put(d, "iana-none", b"\x03% This query returned 0 objects.\n")


def registry_blocks():
    """etc/registries.conf as (head, [(name, block)]): the lines before
    the first registry, then each registry's lines, comments dropped."""
    head, blocks = [], []
    with open("etc/registries.conf") as f:
        for line in f:
            if line.lstrip().startswith("#") or not line.strip():
                continue
            m = re.match(r"registry\s+(\S+)", line)
            if m:
                blocks.append((m.group(1), []))
            (blocks[-1][1] if blocks else head).append(line)
    return "".join(head), [(n, "".join(b)) for n, b in blocks]


def file_seeds():
    # One small file per registry (the iana line and that block), and
    # the default block with the first two: every input compiles its
    # patterns, so a seed holding the whole file made each run compile
    # all of them (see tests/fuzz/registries.options).  The unit tests
    # load the whole file.
    d = reset("registries")
    head, blocks = registry_blocks()
    for name, block in blocks:
        if name == "default":
            block += "".join([b for n, b in blocks if n != name][:2])
        put(d, name + ".conf", (head + block).encode())
    d = reset("config")
    for c in sorted(os.listdir("etc")):
        if c.endswith(".conf") and c != "registries.conf":
            shutil.copy(os.path.join("etc", c), d)


def spool_seeds():
    # A spool file holds the body spool_put() was given, byte for byte:
    # whoisd-query's error events, as msg_pack_error() writes them.
    d = reset("spool")
    put(d, "error", b"\x00" + vector("tests/vectors/error.hex"))
    put(d, "error-small-max", b"\x01" + vector("tests/vectors/error.hex"))
    put(d, "not-an-event", b"\x00" + vector("tests/vectors/get.hex"))


def http_seeds():
    # What clients send on one connection: real requests, pipelines, and
    # the tricks a front proxy and we could read differently.
    d = reset("http")
    crlf = "\r\n"

    def req(line, *headers, end=crlf):
        return line + crlf + "".join(h + crlf for h in headers) + end

    host = "Host: whoisd.example"
    seeds = {
        "get-check": req("GET /v1/check?domain=example.com HTTP/1.1", host),
        "get-check-many": req("GET /v1/check?domain=a.com&domain=b.net"
                              "&domain=xn--bcher-kva.de&domain=b%C3%BCcher"
                              ".de&domain=a+b HTTP/1.1", host),
        "get-whois": req("GET /v1/whois?domain=example.org HTTP/1.1", host,
                         "Accept: text/plain"),
        "head-status": req("HEAD /status HTTP/1.1", host),
        "get-metrics-10": req("GET /metrics HTTP/1.0"),
        "keepalive-10": req("GET /v1/check?domain=a.com HTTP/1.0",
                            "Connection: keep-alive") +
        req("GET /status HTTP/1.0", "Connection: Keep-Alive"),
        "close": req("GET /status HTTP/1.1", host,
                     "Connection: upgrade, close") + req("GET / HTTP/1.1"),
        "pipelined": "".join(req("GET /v1/check?domain=n%d.com HTTP/1.1" % i,
                                 host) for i in range(4)),
        "blank-lines": crlf * 3 + req("GET /status HTTP/1.1") + "\n\n" +
        req("GET /metrics HTTP/1.1"),
        "lf-only": "GET /status HTTP/1.1\nHost: x\n\nGET / HTTP/1.1\n\n",
        "absolute": req("GET http://whoisd.example:8080/v1/check?domain=a.com"
                        "#frag HTTP/1.1", host),
        "absolute-nopath": req("GET https://whoisd.example HTTP/1.1"),
        "post": req("POST /v1/check HTTP/1.1", host, "Content-Length: 5") +
        "a.com",
        "chunked": req("GET /v1/check HTTP/1.1", host,
                       "Transfer-Encoding: chunked") + "5\r\na.com\r\n"
        "0\r\n\r\n",
        "cl-zero": req("GET /status HTTP/1.1", "Content-Length: 000") +
        req("GET /metrics HTTP/1.1"),
        "smuggle-cl-te": req("POST / HTTP/1.1", "Content-Length: 6",
                             "Transfer-Encoding: chunked") +
        "0\r\n\r\nGET /status HTTP/1.1\r\n\r\n",
        "smuggle-te-cl": req("POST / HTTP/1.1", "Transfer-Encoding: chunked",
                             "Content-Length: 3") + "8\r\nSMUGGLED\r\n"
        "0\r\n\r\n",
        "smuggle-cl-cl": req("GET / HTTP/1.1", "Content-Length: 0",
                             "Content-Length: 44") + req("GET /status "
                                                         "HTTP/1.1"),
        "smuggle-cl-sign": req("GET / HTTP/1.1", "Content-Length: +4") +
        "abcd",
        "smuggle-te-space": req("GET / HTTP/1.1",
                                "Transfer-Encoding : chunked") + "0\r\n\r\n",
        "smuggle-fold": req("GET / HTTP/1.1", "X-A: 1",
                            " Transfer-Encoding: chunked") + "0\r\n\r\n",
        "bare-cr": "GET /status HTTP/1.1\rHost: x\r\n\r\n",
        "bare-cr-end": "GET /status HTTP/1.1\r\nHost: x\r\r\n\r\n",
        "nul": req("GET /v1/check?domain=a\x00.com HTTP/1.1"),
        "tab-header": req("GET / HTTP/1.1", "Connection:\tclose\t"),
        "http2": req("GET / HTTP/2.0"),
        "http09": "GET /\r\n\r\n",
        "version-junk": req("GET / HTTP/1.1x"),
        "two-spaces": req("GET  / HTTP/1.1"),
        "no-slash": req("GET v1/check HTTP/1.1"),
        "bad-escape": req("GET /v1/check?domain=%zz&domain=%4 HTTP/1.1"),
        "odd-method": req("M-SEARCH * HTTP/1.1") + req("OPTIONS / HTTP/1.1"),
        "overlong-header": req("GET /status HTTP/1.1", "X-Pad: " + "a" * 1100),
        "overlong-target": req("GET /v1/check?domain=" + "a" * 1100 +
                               ".com HTTP/1.1"),
        "incomplete": "GET /v1/check?domain=a.com HTTP/1.1\r\nHost: x\r\n",
    }
    for name, text in seeds.items():
        put(d, name, text.encode("latin-1"))


def query_line_seeds():
    # What clients send to the whois port: a name and its end of line.
    d = reset("query_line")
    seeds = {
        "ascii": b"example.com\r\n",
        "lf": b"example.com\n",
        "upper": b"WWW.Example.CO.UK\r\n",
        "root-dot": b"example.com.\r\n",
        "blanks": b" \texample.net \r\n",
        "u-label": "b\u00fccher.de\r\n".encode(),
        "a-label": b"xn--bcher-kva.de\r\n",
        "ideographic-dot": "\u4f8b\u3048\u3002\u30c6\u30b9\u30c8\r\n".encode(),
        "fullwidth": "\uff45\uff58\uff41\uff4d\uff50\uff4c\uff45.com\r\n"
        .encode(),
        "bad-a-label": b"xn--zz.com\r\n",
        "hyphens": b"ab--cd.com\r\n",
        "numeric-tld": b"example.123\r\n",
        "public-suffix": b"co.uk\r\n",
        "no-eol": b"example.org",
        "extra": b"example.com\r\nexample.net\r\n",
        "binary": b"exa\x01mple.com\r\n",
        "nul": b"example\x00.com\r\n",
        "bad-utf8": b"ex\xc3\x28mple.com\r\n",
        "flags": b"-T domain example.com\r\n",
        "empty": b"\r\n",
        "long-label": b"a" * 64 + b".com\r\n",
        "long": b"a." * 600 + b"com\r\n",
    }
    for name, data in seeds.items():
        put(d, name, data)


def http_body_seeds():
    # POST /v1/check bodies: chunked framings (extensions, trailers, a
    # size over the limit) around JSON bodies good and bad.
    d = reset("http_body")

    def chunked(b, step=7, ext=b"", trailer=b""):
        out = b""
        for i in range(0, len(b), step):
            out += b"%x%s\r\n%s\r\n" % (len(b[i:i + step]), ext,
                                          b[i:i + step])
        return out + b"0\r\n" + trailer + b"\r\n"

    good = b'{"domains":["example.com","b\\u00fccher.de","a.org"],"wait":2}'
    seeds = {
        "json": good,
        "json-chunked": chunked(good),
        "json-ext-trailer": chunked(good, 5, b";a=b", b"X-T: 1\r\n"),
        "json-then-request": chunked(good) + b"GET / HTTP/1.1\r\n\r\n",
        "too-big": b"100000\r\n" + b"x" * 64,
        "bad-size": b"zz\r\n",
        "bad-json": chunked(b'{"domains":["a.com",}'),
        "wrong-types": b'{"domains":["a.com",1,null],"wait":"x"}',
        "nested": b"[" * 3000 + b"]" * 3000,
        "many-values": b'{"x":[' + b",".join([b"[]"] * 1000) + b']}',
        "dup-keys": b'{"domains":["a"],"domains":["b"]}',
        "nul": b'{"domains":["a\\u0000b"]}',
    }
    for name, data in seeds.items():
        put(d, name, data)


msg_seeds()
classify_seeds()
referral_seeds()
file_seeds()
spool_seeds()
http_seeds()
http_body_seeds()
query_line_seeds()
