"""whoisctl: HTTP through libcurl (encoding, timeouts, non-2xx is an
error), names normalised as the front does, --help, options anywhere,
addresses from the installed configs, status and stats of all four
daemons, --json on every command.  One test per error case of the
operator's report; a small HTTP server of our own plays a misbehaving
front where the real one cannot."""
import http.server
import json
import os
import socket
import subprocess
import threading
import time
from urllib.parse import parse_qs, urlsplit

import pytest

from conftest import BIN, KEYS, free_port
from suite import Suite

CTL = os.path.join(BIN, "whoisctl")
pytestmark = pytest.mark.skipif(KEYS is None, reason="whoisctl not built")


def ctl(*args, timeout=30):
    t = time.monotonic()
    r = subprocess.run([CTL] + list(args), capture_output=True, text=True,
                       timeout=timeout)
    r.elapsed = time.monotonic() - t
    return r


class FakeFront:
    """An HTTP server answering what a test says; records every request."""

    def __init__(self, code=200, body=None, delay=0):
        self.requests = []
        fake = self

        class H(http.server.BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def answer(self, names):
                time.sleep(delay)
                b = body if body is not None else json.dumps({"results": [
                    {"domain": n, "ace": n, "status": "available",
                     "source": "registry", "registry": "fake",
                     "latency_ms": 1} for n in names]})
                data = b.encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                u = urlsplit(self.path)
                names = parse_qs(u.query).get("domain", [])
                fake.requests.append(("GET", self.path, names))
                self.answer(names)

            def do_POST(self):
                n = int(self.headers.get("Content-Length", 0))
                names = json.loads(self.rfile.read(n))["domains"]
                fake.requests.append(("POST", self.path, names))
                self.answer(names)

        self.srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.srv.daemon_threads = True
        self.port = self.srv.server_address[1]
        self.addr = "--front=127.0.0.1:%d" % self.port
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()

    def close(self):
        self.srv.shutdown()
        self.srv.server_close()


@pytest.fixture
def fake():
    fronts = []

    def make(**kw):
        f = FakeFront(**kw)
        fronts.append(f)
        return f
    yield make
    for f in fronts:
        f.close()


# ---- the report's error cases, one test each ----

def test_http_404_exits_non_zero_with_the_servers_error(fake):
    f = fake(code=404, body='{"error":"no such path"}\n')
    r = ctl(f.addr, "check", "example.com")
    assert r.returncode == 1, r
    assert "404" in r.stderr and "no such path" in r.stderr, r.stderr
    assert r.stdout == ""


def test_http_400_from_the_real_front_exits_non_zero(procs, tmpdir_path):
    s = Suite(procs, tmpdir_path, front=["--http_max_names=2"]).start()
    r = ctl("--front=127.0.0.1:%d" % s.port["http"], "check", "a.com",
            "b.com", "c.com")
    assert r.returncode == 1, r
    assert "HTTP 400" in r.stderr, r.stderr


def test_http_503_exits_non_zero(fake):
    f = fake(code=503, body="")
    r = ctl(f.addr, "status", "whoisd")
    assert r.returncode == 1 and "503" in (r.stdout + r.stderr), r


def test_names_are_percent_encoded(fake):
    f = fake()
    r = ctl(f.addr, "check", "a.com&domain=example.org", "x y.com", "--json")
    assert r.returncode == 0, r
    assert [q[2] for q in f.requests] == [
        ["a.com&domain=example.org", "x y.com"]], f.requests
    assert "%26domain%3D" in f.requests[0][1]


def test_injection_asks_one_name_of_the_real_front(procs, tmpdir_path):
    s = Suite(procs, tmpdir_path).start()
    r = ctl("--front=127.0.0.1:%d" % s.port["http"], "--json", "check",
            "a.com&domain=example.org")
    assert r.returncode == 0, r
    res = json.loads(r.stdout)["results"]
    assert len(res) == 1 and res[0]["status"] == "invalid", res


def test_many_names_are_not_cut_and_do_not_wait(fake):
    """The old client cut a request at 4 KB and then waited 30 s."""
    f = fake()
    names = ["name-%04d-%s.com" % (i, "x" * 40) for i in range(1200)]
    r = ctl(f.addr, "--json", "check", *names)
    assert r.returncode == 0, r.stderr
    got = [n for q in f.requests for n in q[2]]
    assert got == names
    assert len(json.loads(r.stdout)["results"]) == 1200
    assert r.elapsed < 10, r.elapsed


def test_total_timeout(fake):
    f = fake(delay=5)
    r = ctl(f.addr, "--timeout=0.5", "check", "example.com")
    assert r.returncode == 1, r
    assert "timed out" in r.stderr.lower() or "timeout" in r.stderr.lower()
    assert r.elapsed < 3, r.elapsed


def test_connect_timeout():
    """A listener whose backlog is full: the connection is never accepted."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(0)
    port = srv.getsockname()[1]
    fillers = []
    try:
        for _ in range(8):
            c = socket.socket()
            c.setblocking(False)
            c.connect_ex(("127.0.0.1", port))
            fillers.append(c)
        r = ctl("--front=127.0.0.1:%d" % port, "--connect_timeout=0.5",
                "--timeout=20", "check", "example.com")
        assert r.returncode == 1, r
        assert r.elapsed < 10, r.elapsed
    finally:
        for c in fillers:
            c.close()
        srv.close()


def test_connection_refused():
    r = ctl("--front=127.0.0.1:%d" % free_port(), "check", "example.com")
    assert r.returncode == 1 and "front 127.0.0.1" in r.stderr, r


def test_check_normalises_idn_and_case(fake):
    f = fake()
    r = ctl(f.addr, "check", "BÜCHER.de", "EXAMPLE.ORG")
    assert r.returncode == 0, r
    assert f.requests[0][2] == ["xn--bcher-kva.de", "example.org"]


def test_purge_normalises_idn_case_and_registrable_name(procs, tmpdir_path):
    s = Suite(procs, tmpdir_path).start()
    names = ["xn--bcher-kva.de", "example.org", "example.com"]
    s.check(names)
    r = ctl("--cache=127.0.0.1:%d" % s.port["cache"],
            "--registries=etc/registries.conf", "--json",
            "purge", "bücher.de", "EXAMPLE.ORG", "www.Example.COM")
    assert r.returncode == 0, r
    out = json.loads(r.stdout)
    assert [p["purged_as"] for p in out["purges"]] == names
    assert [p["purged"] for p in out["purges"]] == [1, 1, 1], out
    # Gone: purging again finds nothing.
    r = ctl("--cache=127.0.0.1:%d" % s.port["cache"], "--json",
            "purge", "bücher.de")
    assert json.loads(r.stdout)["purged"] == 0


def test_purge_refuses_an_invalid_name():
    r = ctl("--cache=127.0.0.1:%d" % free_port(), "purge", "-bad-.com")
    assert r.returncode == 1 and "bad" in r.stderr.lower(), r


def test_help_on_stdout_status_0():
    for args in (["--help"], ["check", "--help"], ["-h"]):
        r = ctl(*args)
        assert r.returncode == 0 and r.stderr == "", r
        assert "usage: whoisctl" in r.stdout and "--json" in r.stdout


def test_usage_errors_status_2():
    for args in ([], ["nosuchcommand"], ["--nosuchoption", "status"],
                 ["check"]):
        r = ctl(*args)
        assert r.returncode == 2, (args, r)
        assert r.stdout == ""


def test_options_after_the_command_are_honoured(fake):
    f = fake()
    r = ctl("check", "example.com", f.addr, "--json")
    assert r.returncode == 0, r
    assert json.loads(r.stdout)["results"][0]["domain"] == "example.com"
    assert len(f.requests) == 1


def test_addresses_from_the_installed_configs(fake, tmpdir_path):
    f = fake()
    d = os.path.join(tmpdir_path, "etc")
    os.makedirs(d)
    with open(os.path.join(d, "whoisd.conf"), "w") as fp:
        fp.write("# the front\nlisten 127.0.0.1:1\n"
                 "http_listen = 0.0.0.0:%d  # all addresses\n" % f.port)
    r = ctl("--config_dir=" + d, "check", "example.com")
    assert r.returncode == 0, r
    assert len(f.requests) == 1


# ---- status and stats of all four daemons, --json everywhere ----

def suite_args(s):
    return ["--front=127.0.0.1:%d" % s.port["http"],
            "--cache=127.0.0.1:%d" % s.port["cache"],
            "--query=127.0.0.1:%d" % s.port["query"],
            "--errdb=127.0.0.1:%d" % s.port["errdb"]]


def test_status_and_stats_of_all_four(procs, tmpdir_path):
    s = Suite(procs, tmpdir_path).start()
    s.check(["example.com", "free-name.de"])
    a = suite_args(s)
    r = ctl(*a, "status")
    assert r.returncode == 0, r
    lines = r.stdout.splitlines()
    assert lines[0].split() == ["DAEMON", "ADDRESS", "STATE", "PID",
                                "DETAIL"]
    # Aligned: every column starts at the same offset on every line.
    col = lines[0].index("STATE")
    for line, d in zip(lines[1:], ["whoisd", "whoisd-cache", "whoisd-query",
                                   "whoisd-errdb"]):
        assert line.split()[0] == d and line[col:col + 2] == "up", lines
    j = json.loads(ctl(*a, "status", "--json").stdout)
    assert sorted(j) == sorted(["whoisd", "whoisd-cache", "whoisd-query",
                                "whoisd-errdb"])
    assert all(v["up"] for v in j.values()), j
    assert j["whoisd"]["status"]["links"]["cache"]["connected"] is True
    r = ctl(*a, "--json", "stats")
    assert r.returncode == 0, r
    st = json.loads(r.stdout)
    assert sorted(st) == sorted(j)
    assert st["whoisd-cache"]["entries"] >= 2
    assert "queries" in st["whoisd-query"]
    assert st["whoisd"]["requests"] >= 1
    r = ctl(*a, "stats", "cache")
    assert r.returncode == 0 and "whoisd-cache" in r.stdout
    assert "whoisd-query" not in r.stdout


def test_status_exits_1_when_a_daemon_is_down(procs, tmpdir_path):
    s = Suite(procs, tmpdir_path).start()
    s.stop_one("errdb")
    r = ctl(*suite_args(s), "--connect_timeout=1", "status")
    assert r.returncode == 1, r
    row = [l for l in r.stdout.splitlines() if l.startswith("whoisd-errdb")]
    assert row and " down " in row[0], r.stdout


def test_json_on_every_command(procs, tmpdir_path):
    s = Suite(procs, tmpdir_path).start()
    a = suite_args(s) + ["--json"]
    for cmd in (["status"], ["stats"], ["check", "example.com"],
                ["purge", "example.com"], ["purge", "--all"], ["health"],
                ["health", "--clear", "whois.verisign-grs.com"],
                ["errors"]):
        r = ctl(*(a + cmd))
        assert r.returncode == 0, (cmd, r)
        json.loads(r.stdout)
    r = ctl("--json", "keygen", os.path.join(tmpdir_path, "k"))
    assert r.returncode == 0, r
    assert json.loads(r.stdout)["keys"].endswith("/k")
