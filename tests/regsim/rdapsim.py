#!/usr/bin/python3
"""rdapsim.py — the RDAP half of the registry simulator: an HTTPS server
(RFC 7480-7483) on loopback answering GET .../domain/NAME the way real
registries do, with faults on demand.  See docs/regsim.md, "RDAP".

    rdapsim.py --listen=127.0.0.1:0 --cert=C.pem --key=K.pem

prints `rdapsim: listening on 127.0.0.1:PORT` once ready.  One thread
per connection (HTTP/1.1 keep-alive), so a slow or endless answer never
holds the others.

Which names are what follows whoisd-regsim's default rule on the first
label: free*/avail* -> 404, reserved* -> 200 with status "reserved",
anything else -> 200, registered; --data=FILE takes its exact
`registered`/`available`/`reserved` lines too.  The body's shape is the
TLD's registry's: com/net Verisign, org PIR, app/dev/page Google,
info/xyz/other gTLDs Identity Digital or CentralNic, two-letter TLDs a
ccTLD's.

Faults, per name (first label `rdap-KIND-rest`) or per TLD
(--fault=TLD:KIND, repeatable): 404 (whatever the name), 429 (with
Retry-After: 7), 500, slow (answer after --slow-ms), endless (a chunked
body that never ends), huge (a 2 MB body), badjson, othername (a domain
object for another name), ctype (text/html), loop (a redirect to
itself), tohttp (a redirect to http://), redirect (one redirect to
https, then the answer).  --ratelimit=TLD:N/s answers 429 over it.

GET /_stats: {"total", "connections", "tld": {}, "domain": {}};
POST /_reset clears them.
"""
import argparse
import json
import os
import re
import socket
import ssl
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

FAULTS = ("404", "429", "500", "slow", "endless", "huge", "badjson",
          "othername", "ctype", "loop", "tohttp", "redirect")


class State:
    def __init__(self, args):
        self.lock = threading.Lock()
        self.args = args
        self.faults = {}
        for f in args.fault:
            tld, _, kind = f.partition(":")
            self.faults[tld] = kind
        self.rates = {}
        for r in args.ratelimit:
            tld, _, spec = r.partition(":")
            n, _, per = spec.partition("/")
            self.rates[tld] = (int(n), {"s": 1, "m": 60, "h": 3600}[per])
        self.windows = {}
        self.exact = {}
        if args.data and args.data != "none":
            self.load(args.data)
        self.reset()

    def load(self, path):
        for line in open(path):
            w = line.split("#", 1)[0].split()
            if len(w) >= 2 and w[0] in ("registered", "available",
                                         "reserved"):
                for n in w[1:]:
                    if "*" not in n:
                        self.exact[n.lower()] = w[0]

    def reset(self):
        with self.lock:
            self.total = 0
            self.conns = 0
            self.tld = {}
            self.domain = {}

    def count(self, name, tld):
        with self.lock:
            self.total += 1
            self.tld[tld] = self.tld.get(tld, 0) + 1
            self.domain[name] = self.domain.get(name, 0) + 1

    def limited(self, tld):
        """True when tld's rate (a fixed window) is spent."""
        if tld not in self.rates:
            return False
        n, per = self.rates[tld]
        now = time.monotonic()
        with self.lock:
            start, used = self.windows.get(tld, (now, 0))
            if now - start >= per:
                start, used = now, 0
            used += 1
            self.windows[tld] = (start, used)
            return used > n

    def status(self, name):
        if name in self.exact:
            return self.exact[name]
        first = name.split(".")[0]
        if first.startswith(("free", "avail")):
            return "available"
        if first.startswith("reserved"):
            return "reserved"
        return "registered"


def events(created="2019-03-14T09:26:53Z", expires="2027-03-14T09:26:53Z"):
    return [{"eventAction": "registration", "eventDate": created},
            {"eventAction": "expiration", "eventDate": expires},
            {"eventAction": "last update of RDAP database",
             "eventDate": "2026-12-07T03:00:00Z"}]


def notices():
    return [{"title": "Terms of Use",
             "description": ["Service subject to Terms of Use."],
             "links": [{"href": "https://www.example/terms",
                        "rel": "terms-of-service",
                        "type": "text/html"}]}]


def domain_body(name, tld, status):
    """A domain object shaped like tld's registry's."""
    st = ["reserved"] if status == "reserved" else \
        ["client transfer prohibited", "server delete prohibited"]
    if tld in ("com", "net"):
        # Verisign: upper-case ldhName, secureDNS, ns objects with ldhName.
        return {
            "objectClassName": "domain", "handle": "2336799_DOMAIN_COM-VRSN",
            "ldhName": name.upper(),
            "links": [{"value": "https://rdap.verisign.com/%s/v1/domain/%s"
                       % (tld, name.upper()), "rel": "self",
                       "href": "https://rdap.verisign.com/%s/v1/domain/%s"
                       % (tld, name.upper()),
                       "type": "application/rdap+json"}],
            "status": st, "entities": [{"objectClassName": "entity",
                                        "handle": "376", "roles":
                                        ["registrar"]}],
            "events": events("1995-08-14T04:00:00Z", "2027-08-13T04:00:00Z"),
            "secureDNS": {"delegationSigned": False},
            "nameservers": [{"objectClassName": "nameserver",
                             "ldhName": "A.IANA-SERVERS.NET"},
                            {"objectClassName": "nameserver",
                             "ldhName": "B.IANA-SERVERS.NET"}],
            "rdapConformance": ["rdap_level_0",
                                "icann_rdap_technical_implementation_guide_1",
                                "icann_rdap_response_profile_1"],
            "notices": notices()}
    if tld == "org":
        return {"objectClassName": "domain", "handle": "D402200000000-LROR",
                "ldhName": name, "unicodeName": name,
                "status": st + ["active"] if status != "reserved" else st,
                "events": events(),
                "nameservers": [{"objectClassName": "nameserver",
                                 "ldhName": "ns1.example.org",
                                 "unicodeName": "ns1.example.org"}],
                "rdapConformance": ["rdap_level_0",
                                    "icann_rdap_response_profile_1"],
                "notices": notices()}
    if tld in ("app", "dev", "page"):
        return {"objectClassName": "domain", "handle": "1A2B3C-GOOGLE",
                "ldhName": name, "status": st, "events": events(),
                "nameservers": [{"objectClassName": "nameserver",
                                 "ldhName": "ns-cloud-a1.googledomains.com"}],
                "rdapConformance": ["rdap_level_0"],
                "notices": notices()}
    if len(tld) == 2:
        # A ccTLD: lower-case, statuses in its own words, no expiration.
        return {"objectClassName": "domain", "ldhName": name,
                "status": st if status == "reserved" else ["active"],
                "events": [{"eventAction": "registration",
                            "eventDate": "2001-05-02T00:00:00+02:00"}],
                "nameservers": [{"objectClassName": "nameserver",
                                 "ldhName": "ns1.dns.%s" % tld}],
                "rdapConformance": ["rdap_level_0"]}
    # Identity Digital / CentralNic shape.
    return {"objectClassName": "domain", "handle": "D503300000040403495-LRMS",
            "ldhName": name,
            "status": st + ["pending delete", "redemption period"]
            if name.split(".")[0].startswith("pending") else st,
            "events": events("2012-05-25T18:03:28.000Z",
                             "2027-05-25T18:03:28.000Z"),
            "nameservers": [{"objectClassName": "nameserver",
                             "ldhName": "ns1.example.info"}],
            "rdapConformance": ["rdap_level_0",
                                "icann_rdap_response_profile_0"],
            "notices": notices()}


def error_body(code, title):
    return {"errorCode": code, "title": title,
            "rdapConformance": ["rdap_level_0"]}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body are two writes: without this, Nagle and the
    # client's delayed ACK add 40 ms to every answer.
    disable_nagle_algorithm = True
    server_version = "rdapsim/1"
    st = None

    def setup(self):
        super().setup()
        with self.st.lock:
            self.st.conns += 1

    def log_message(self, fmt, *a):
        if self.st.args.log_level >= 3:
            sys.stderr.write("rdapsim: " + (fmt % a) + "\n")

    def send_json(self, code, obj, ctype="application/rdap+json",
                  extra=None):
        body = json.dumps(obj).encode() if not isinstance(obj, bytes) \
            else obj
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def redirect(self, where):
        self.send_response(302)
        self.send_header("Location", where)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_POST(self):
        if self.path == "/_reset":
            self.st.reset()
            self.send_json(200, {"ok": True}, "application/json")
        else:
            self.send_json(404, error_body(404, "not here"))

    def do_GET(self):
        st = self.st
        if self.path == "/_stats":
            with st.lock:
                obj = {"total": st.total, "connections": st.conns,
                       "tld": dict(st.tld), "domain": dict(st.domain)}
            self.send_json(200, obj, "application/json")
            return
        m = re.search(r"/domain/([^/?#]+)$", self.path)
        if not m:
            self.send_json(400, error_body(400, "bad request"))
            return
        name = m.group(1).lower()
        tld = name.rsplit(".", 1)[-1]
        redirected = self.path.startswith("/_r/")
        if not redirected:
            st.count(name, tld)
        first = name.split(".")[0]
        kind = st.faults.get(tld)
        fm = re.match(r"rdap-([a-z0-9]+)(?:-(.*))?$", first)
        if fm and fm.group(1) in FAULTS:
            kind = fm.group(1)
            real = (fm.group(2) or "x") + name[len(first):]
        else:
            real = name
        if st.limited(tld):
            kind = "429"
        if kind == "429":
            self.send_json(429, error_body(429, "Too Many Requests"),
                           extra={"Retry-After": "7"})
            return
        if kind == "500":
            self.send_json(500, error_body(500, "Internal Server Error"))
            return
        if kind == "slow":
            time.sleep(st.args.slow_ms / 1000.0)
        if kind == "loop":
            self.redirect("/_loop%d%s" % (int(time.time() * 1e6),
                                           self.path))
            return
        if kind == "tohttp":
            self.redirect("http://127.0.0.1:%d%s" %
                          (self.server.server_address[1], self.path))
            return
        if kind == "redirect":
            if not redirected:
                self.redirect("/_r" + self.path)
                return
            real = name
        if kind == "endless":
            self.send_response(200)
            self.send_header("Content-Type", "application/rdap+json")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            try:
                self.wfile.write(b"1\r\n{\r\n")
                while True:
                    chunk = b'"pad": "' + b"x" * 64 + b'",'
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                    self.wfile.flush()
                    time.sleep(0.05)
            except OSError:
                pass
            self.close_connection = True
            return
        if kind == "huge":
            obj = domain_body(real, tld, "registered")
            obj["remarks"] = [{"description": ["x" * 1000] * 2000}]
            self.send_json(200, obj)
            return
        if kind == "badjson":
            self.send_json(200, b'{"objectClassName": "domain", "ldhName": ')
            return
        if kind == "ctype":
            self.send_json(200, domain_body(real, tld, "registered"),
                           "text/html")
            return
        status = "available" if kind == "404" else st.status(real)
        if status == "available":
            self.send_json(404, error_body(404, "Not Found"))
            return
        obj = domain_body(real, tld, status)
        if kind == "othername":
            obj["ldhName"] = "some-other-name." + tld
        self.send_json(200, obj)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--listen", default="127.0.0.1:0")
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--data", default="none")
    ap.add_argument("--fault", action="append", default=[])
    ap.add_argument("--ratelimit", action="append", default=[])
    ap.add_argument("--slow-ms", type=int, default=3000)
    ap.add_argument("--log-level", type=int, default=2)
    args = ap.parse_args()
    host, _, port = args.listen.rpartition(":")
    Handler.st = State(args)

    class Server(ThreadingHTTPServer):
        daemon_threads = True
        request_queue_size = 1024
        allow_reuse_address = True

    srv = Server((host, int(port)), Handler)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(args.cert, args.key)
    # The handshake runs in the connection's thread, not the listener's.
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True,
                                 do_handshake_on_connect=False)
    srv.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    print("rdapsim: listening on %s:%d" % srv.server_address[:2],
          flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
