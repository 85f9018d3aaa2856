"""Metrics, health endpoints, log priorities and the access log.

Every daemon's /metrics (the front's HTTP port and each metrics_listen)
passes `promtool check metrics`; counts are the whole daemon's from any
child, exact, and survive a child's death; /readyz follows the cache
link; stderr lines carry sd-daemon prefixes under systemd; the access
log has one line per request and is reopened on USR1.
"""
import concurrent.futures
import http.client
import json
import os
import re
import signal
import socket
import subprocess
import time

import pytest

from conftest import BIN, TOP, KEYS, free_port, wait_for
from suite import Suite


def get(port, path, timeout=10):
    """GET on a connection of its own (so successive calls may reach
    different children): (status, body)."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        c.request("GET", path, headers={"Connection": "close"})
        r = c.getresponse()
        return r.status, r.read().decode("utf-8", "replace")
    finally:
        c.close()


def samples(text):
    """{(name, labels): value} of an exposition."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = re.match(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$", line)
        assert m, line
        out[(m.group(1), m.group(2) or "")] = float(m.group(3))
    return out


def total(text, name, match=""):
    return sum(v for (n, l), v in samples(text).items()
               if n == name and match in l)


def promtool(text):
    r = subprocess.run(["promtool", "check", "metrics"], input=text,
                       capture_output=True, text=True, timeout=30)
    return r.returncode, r.stdout + r.stderr


def whois_once(port, name):
    with socket.create_connection(("127.0.0.1", port), timeout=20) as s:
        s.sendall(name.encode() + b"\r\n")
        buf = b""
        while True:
            d = s.recv(65536)
            if not d:
                return buf.decode("utf-8", "replace")
            buf += d


def metrics_suite(procs, tmp, front=(), cache=()):
    mp = {n: free_port() for n in ("errdb", "cache", "query", "front")}
    ml = lambda n: "--metrics_listen=127.0.0.1:%d" % mp[n]
    s = Suite(procs, tmp, errdb=[ml("errdb")],
              cache=[ml("cache")] + list(cache), query=[ml("query")],
              front=[ml("front")] + list(front))
    s.mport = mp
    return s.start()


def front_children(s):
    code, body = s.http("/status")
    assert code == 200, body
    return [c for c in json.loads(body)["pool"]["children"]
            if c["state"] in ("idle", "busy")]


def test_promtool_passes_on_every_endpoint(procs, tmpdir_path):
    s = metrics_suite(procs, tmpdir_path)
    s.whois("example.com")
    s.check(["example.org", "nosuchname-zz.com", "bad..name"])
    endpoints = {"front-http": s.port["http"]}
    endpoints.update(s.mport)
    for name, port in endpoints.items():
        code, text = get(port, "/metrics")
        assert code == 200, (name, text)
        rc, out = promtool(text)
        assert rc == 0, (name, out, text[:3000])
        assert "pid" not in text and "child=" not in text, name
        assert 'whoisd_build_info{daemon="' in text, name
    for port in s.mport.values():
        assert get(port, "/healthz")[0] == 200
        assert get(port, "/nowhere")[0] == 404
    # What each daemon adds of its own.
    front = get(s.port["http"], "/metrics")[1]
    assert total(front, "whoisd_lookup_duration_seconds_count") >= 4
    # Seconds, from the request: nothing here took a minute.
    for port in ("whois", "http"):
        n = total(front, "whoisd_lookup_duration_seconds_count",
                  'port="%s"' % port)
        sm = total(front, "whoisd_lookup_duration_seconds_sum",
                   'port="%s"' % port)
        assert n > 0 and 0 <= sm < 20 * n, (port, n, sm)
    query = get(s.mport["query"], "/metrics")[1]
    assert "whoisd_query_registry_duration_seconds_bucket" in query
    assert "whoisd_query_budget_tokens" in query
    cache = get(s.mport["cache"], "/metrics")[1]
    assert "whoisd_cache_entries " in cache
    assert "whoisd_cache_db_bytes " in cache


def test_totals_exact_from_any_child_and_survive_a_kill(procs, tmpdir_path):
    s = metrics_suite(procs, tmpdir_path,
                      front=["--min_servers=3", "--max_servers=3",
                             "--min_spare_servers=0",
                             "--max_spare_servers=2"],
                      cache=["--min_servers=2", "--max_servers=2",
                             "--min_spare_servers=0",
                             "--max_spare_servers=1"])
    wait_for(lambda: len(front_children(s)) == 3, timeout=10,
             what="three front children")
    n_whois, n_http = 240, 120

    # Many at once, so the kernel hands connections to several children.
    def one(i):
        if i % 3 == 2:
            return get(s.port["http"], "/v1/check?domain=example.org")[0] \
                == 200
        return "status:" in whois_once(s.port["whois"], "example.com")
    with concurrent.futures.ThreadPoolExecutor(24) as ex:
        assert all(ex.map(one, range(n_whois + n_http)))
    served = [c for c in front_children(s) if c["requests"] > 0]
    assert len(served) >= 2, front_children(s)

    def check_totals(text):
        assert total(text, "whoisd_requests_total", 'port="whois"') == \
            n_whois
        assert total(text, "whoisd_lookup_duration_seconds_count",
                     'port="whois"') == n_whois
        assert total(text, "whoisd_lookup_duration_seconds_count",
                     'port="http"') == n_http
        assert total(text, "whoisd_answers_total") == n_whois + n_http
    for _ in range(8):
        check_totals(get(s.port["http"], "/metrics")[1])
        check_totals(get(s.mport["front"], "/metrics")[1])
    cache_before = total(get(s.mport["cache"], "/metrics")[1],
                         "whoisd_pool_requests_total")
    assert cache_before > 0

    # A child killed: what it counted stays.
    victim = front_children(s)[0]["pid"]
    os.kill(victim, signal.SIGKILL)
    wait_for(lambda: victim not in [c["pid"] for c in front_children(s)]
             and len(front_children(s)) == 3, timeout=10,
             what="the killed child replaced")
    for _ in range(6):
        check_totals(get(s.mport["front"], "/metrics")[1])
    for pid in [int(p) for p in os.listdir("/proc") if p.isdigit()]:
        try:
            with open("/proc/%d/stat" % pid) as f:
                st = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(st[1]) == s.p["cache"].pid:
            os.kill(pid, signal.SIGKILL)
            break
    time.sleep(0.5)
    after = get(s.mport["cache"], "/metrics")[1]
    assert total(after, "whoisd_pool_requests_total") >= cache_before
    assert total(after, "whoisd_pool_children_spawned_total") >= 3


def test_totals_survive_a_reload(procs, tmpdir_path):
    """HUP replaces every child; the counts stay (only a new master
    starts from zero)."""
    s = metrics_suite(procs, tmpdir_path)
    for i in range(20):
        assert "status:" in whois_once(s.port["whois"], "example.com")
    s.p["front"].sig(signal.SIGHUP)
    s.p["front"].wait_log("reload done", timeout=15)
    text = get(s.mport["front"], "/metrics")[1]
    assert total(text, "whoisd_requests_total", 'port="whois"') == 20
    assert total(text, "whoisd_lookup_duration_seconds_count",
                 'port="whois"') == 20


def test_readyz_follows_the_cache_link(procs, tmpdir_path):
    s = Suite(procs, tmpdir_path).start()
    assert s.http("/healthz")[0] == 200
    wait_for(lambda: s.http("/readyz")[0] == 200, timeout=10,
             what="ready")
    s.stop_one("cache")
    wait_for(lambda: s.http("/readyz")[0] == 503, timeout=10,
             what="503 with the cache down")
    code, body = s.http("/readyz")
    assert json.loads(body)["cache"] is False, body
    assert s.http("/healthz")[0] == 200
    s.start_one("cache")
    wait_for(lambda: s.http("/readyz")[0] == 200, timeout=15,
             what="200 with the cache back")


def test_stderr_priority_prefixes_under_systemd(procs, tmpdir_path):
    """With stderr the stream JOURNAL_STREAM names, each line is <N> and
    the message, without a timestamp; a warning is <4>, a notice <5>."""
    log = os.path.join(tmpdir_path, "stream.log")
    with open(log, "wb") as f:
        st = os.fstat(f.fileno())
        env = dict(os.environ, JOURNAL_STREAM="%d:%d" % (st.st_dev,
                                                         st.st_ino))
        r = subprocess.run([os.path.join(BIN, "whoisd"), "-f", "/dev/null",
                            "--link_keys=" + KEYS, "-n",
                            "--registries=etc/registries.conf",
                            "--errdb_addr=127.0.0.1:1"], stdout=f,
                           stderr=f, env=env, cwd=TOP, timeout=30)
    assert r.returncode == 0
    text = open(log).read()
    assert re.search(r"^<4>master: errdb_addr: obsolete key", text, re.M), \
        text
    # A running daemon with log_file stderr-sd.
    port = free_port()
    p = procs.start([os.path.join(BIN, "whoisd-errdb"), "-f", "/dev/null",
                     "--listen=127.0.0.1:%d" % port,
                     "--db_path=" + os.path.join(tmpdir_path, "e.db"),
                     "--log_file=stderr-sd", "--log_level=3"])
    p.wait_log("ready:")
    lines = [l for l in p.logtext().splitlines() if l]
    assert lines and all(re.match(r"^<[3-7]>(master|child): ", l)
                         for l in lines), lines
    assert any(l.startswith("<5>master: master started") for l in lines)
    assert any(l.startswith("<6>") for l in lines), lines


def read_lines(path):
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [l for l in f.read().splitlines() if l]


def test_access_log_one_line_per_request_and_usr1(procs, tmpdir_path):
    path = os.path.join(tmpdir_path, "access.log")
    s = Suite(procs, tmpdir_path, front=["--access_log=" + path]).start()
    for i in range(5):
        assert "status:" in whois_once(s.port["whois"], "example.com")
    assert get(s.port["http"], "/v1/check?domain=example.org")[0] == 200
    assert get(s.port["http"],
               "/v1/check?domain=example.org&domain=example.net")[0] == 200
    assert get(s.port["http"], "/nowhere")[0] == 404
    wait_for(lambda: len(read_lines(path)) >= 8, timeout=5,
             what="8 lines")
    time.sleep(0.2)
    lines = read_lines(path)
    assert len(lines) == 8, lines
    f = [l.split() for l in lines]
    whois = [x for x in f if x[2] == "whois"]
    assert len(whois) == 5
    assert all(x[1] == "127.0.0.1" and x[5] == "example.com" and
               x[4] == "-" and x[3] == "-" for x in whois), whois
    http = [x for x in f if x[2] == "http"]
    one = [x for x in http if x[5] == "example.org"]
    assert one and one[0][3] == "200" and one[0][4] == "/v1/check", http
    two = [x for x in http if x[5] == "2"]
    assert two and two[0][3] == "200", http
    nf = [x for x in http if x[3] == "404"]
    assert nf and nf[0][4] == "/nowhere" and nf[0][5] == "-", http
    for x in f:
        assert len(x) == 10, x
        assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$", x[0])
        float(x[8])
        int(x[9])

    # logrotate: move the file away, USR1, and lines go to a new one.
    rotated = path + ".1"
    os.rename(path, rotated)
    s.p["front"].sig(signal.SIGUSR1)
    wait_for(lambda: os.path.exists(path), timeout=5, what="reopened")
    time.sleep(0.5)     # every child has reopened it
    for i in range(3):
        assert "status:" in whois_once(s.port["whois"], "example.com")
    wait_for(lambda: len(read_lines(path)) >= 3, timeout=5,
             what="3 lines in the new file")
    assert len(read_lines(rotated)) == 8
    assert len(read_lines(path)) == 3


def test_access_log_sample(procs, tmpdir_path):
    path = os.path.join(tmpdir_path, "access.log")
    s = Suite(procs, tmpdir_path,
              front=["--access_log=" + path, "--access_log_sample=3",
                     "--min_servers=1", "--max_servers=1",
                     "--min_spare_servers=0",
                     "--max_spare_servers=1"]).start()
    for i in range(9):
        assert "status:" in whois_once(s.port["whois"], "example.com")
    time.sleep(0.3)
    assert len(read_lines(path)) == 3


def test_access_log_unwritable_refused_before_start(procs, tmpdir_path):
    r = subprocess.run([os.path.join(BIN, "whoisd"), "-f", "/dev/null",
                        "--link_keys=" + KEYS, "-n",
                        "--registries=etc/registries.conf",
                        "--access_log=/nonexistent/dir/a.log"],
                       capture_output=True, text=True, cwd=TOP, timeout=30)
    assert r.returncode != 0 and "access_log" in r.stderr, r
    assert not os.path.exists("/nonexistent/dir")
    ok = os.path.join(tmpdir_path, "sub", "a.log")
    os.mkdir(os.path.dirname(ok))
    r = subprocess.run([os.path.join(BIN, "whoisd"), "-f", "/dev/null",
                        "--link_keys=" + KEYS, "-n",
                        "--registries=etc/registries.conf",
                        "--access_log=" + ok],
                       capture_output=True, text=True, cwd=TOP, timeout=30)
    assert r.returncode == 0, r
    assert not os.path.exists(ok)     # -n creates nothing
    r = subprocess.run([os.path.join(BIN, "whoisd"), "-f", "/dev/null",
                        "--link_keys=" + KEYS,
                        "--registries=etc/registries.conf",
                        "--listen=127.0.0.1:%d" % free_port(),
                        "--http_listen=127.0.0.1:%d" % free_port(),
                        "--access_log=/nonexistent/dir/a.log"],
                       capture_output=True, text=True, cwd=TOP, timeout=30)
    assert r.returncode != 0
    assert "access_log /nonexistent/dir/a.log" in r.stderr, r.stderr
