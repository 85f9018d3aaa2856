#!/usr/bin/env python3
"""POST /v1/check of cached names, 100 and 1,000 a request, against nginx
serving a body of the same bytes (the answer whoisd gave, captured), in
turn in one run, with wrk (a Lua script makes its requests POSTs).

    /usr/bin/python3 tests/bench/bulk_post.py [--build build] [--seconds 5]
        [--rounds 3] [--conc 16] [--vary]

Prints one line per measurement and the ratio whoisd/nginx per size
(the median of the rounds); docs/performance.md keeps the figures.
--vary: each connection's POSTs to whoisd alternate two bodies of the
same names (spaced and not), so a body is seldom the one its child
parsed last: the figure of bodies never seen before.
"""
import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(
    __file__))))
sys.path.insert(0, os.path.join(TOP, "tests", "integration"))


def post(port, names, gz=False):
    req = urllib.request.Request(
        "http://127.0.0.1:%d/v1/check" % port,
        data=json.dumps({"domains": names}).encode(),
        headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(req, timeout=60) as r:
        return r.read()


def nginx_conf(d, port, www):
    # The captured bytes as files under www; static files refuse POST
    # (405), which error_page turns into the file itself (a `return 200`
    # string is limited to a 4 KB config token).
    locs = """
        location / {
            root %s;
            default_type application/json;
            error_page 405 =200 $uri;
        }""" % www
    return """
daemon off;
master_process on;
worker_processes 2;
pid %(d)s/nginx.pid;
error_log %(d)s/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    keepalive_requests 10000000;
    keepalive_timeout 120s;
    client_body_temp_path %(d)s/tmp;
    proxy_temp_path %(d)s/tmp;
    fastcgi_temp_path %(d)s/tmp;
    uwsgi_temp_path %(d)s/tmp;
    scgi_temp_path %(d)s/tmp;
    client_max_body_size 10m;
    client_body_buffer_size 1m;
    server {
        listen 127.0.0.1:%(port)d;%(locs)s
    }
}
""" % {"d": d, "port": port, "locs": "".join(locs)}


def wrk(port, path, body_file, secs, conc, vary=False):
    lua = body_file + ".lua"
    with open(body_file) as f:
        body = f.read()
    with open(lua, "w") as f:
        f.write('wrk.method = "POST"\n'
                'wrk.headers["Content-Type"] = "application/json"\n'
                'wrk.body = %s\n' % json.dumps(body))
        if vary:
            # The same names without spaces: every other request.
            other = json.dumps(json.loads(body), separators=(",", ":"))
            f.write('local bodies = { wrk.body, %s }\n'
                    'local i = 0\n'
                    'request = function()\n'
                    '    i = i + 1\n'
                    '    return wrk.format(nil, nil, nil, bodies[i %% 2 + 1])\n'
                    'end\n' % json.dumps(other))
    r = subprocess.run(["wrk", "-t2", "-c%d" % conc, "-d%ds" % secs, "-s",
                        lua, "http://127.0.0.1:%d%s" % (port, path)],
                       capture_output=True, text=True, timeout=secs + 60)
    m = re.search(r"Requests/sec:\s+([0-9.]+)", r.stdout)
    errs = re.search(r"Non-2xx or 3xx responses: (\d+)", r.stdout)
    if m is None or errs:
        raise SystemExit("wrk failed: %s %s" % (r.stdout, r.stderr))
    return float(m.group(1))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--seconds", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--conc", type=int, default=16)
    ap.add_argument("--vary", action="store_true")
    a = ap.parse_args()
    os.environ["WHOISD_BUILD"] = a.build
    os.chdir(TOP)
    from conftest import Procs, free_port
    from suite import Suite
    for tool in ("wrk", "nginx"):
        if not shutil.which(tool) and not os.path.exists("/usr/sbin/" + tool):
            raise SystemExit("bulk_post: %s is not installed" % tool)
    tmp = tempfile.mkdtemp(prefix="whoisd-bulkpost-")
    os.chmod(tmp, 0o755)        # nginx's workers read the bodies
    ps = Procs(tmp)
    nginx = None
    try:
        s = Suite(ps, tmp, query=["--registry_rate_override=100000"],
                  front=["--memo_ttl=60", "--min_servers=2"]).start()
        hp = s.port["http"]
        names = ["bulk-%05d.com" % i for i in range(1000)]
        for i in range(0, 1000, 100):
            post(hp, names[i:i + 100])
        sizes = {}
        for n in (100, 1000):
            req = os.path.join(tmp, "req-%d.json" % n)
            with open(req, "w") as f:
                json.dump({"domains": names[:n]}, f)
            ans = post(hp, names[:n])
            assert b'"source":"registry"' not in ans
            d = os.path.join(tmp, "nginx")
            os.makedirs(os.path.join(d, "www"), exist_ok=True)
            with open(os.path.join(d, "www", "b%d" % n), "wb") as f:
                f.write(ans)
            sizes[n] = (req, len(ans))
        os.makedirs(os.path.join(d, "tmp"))
        np = free_port()
        with open(os.path.join(d, "nginx.conf"), "w") as f:
            f.write(nginx_conf(d, np, os.path.join(d, "www")))
        nginx = subprocess.Popen([shutil.which("nginx") or "/usr/sbin/nginx",
                                  "-p", d, "-c", os.path.join(d, "nginx.conf"),
                                  "-e", os.path.join(d, "error.log")])
        time.sleep(1)
        for n in (100, 1000):
            req = urllib.request.Request("http://127.0.0.1:%d/b%d" % (np, n),
                                         data=b"{}", method="POST")
            with urllib.request.urlopen(req) as r:
                got = r.read()
            assert len(got) == sizes[n][1], (len(got), sizes[n][1])
        res = {}
        for rnd in range(a.rounds):
            for n in (100, 1000):
                req, blen = sizes[n]
                w = wrk(hp, "/v1/check", req, a.seconds, a.conc, a.vary)
                g = wrk(np, "/b%d" % n, req, a.seconds, a.conc)
                res.setdefault(n, []).append((w, g))
                print("round %d, %4d names (%d bytes): whoisd %.0f req/s "
                      "(%.0f names/s), nginx %.0f req/s: %.2fx" %
                      (rnd + 1, n, blen, w, w * n, g, w / g), flush=True)
        for n, v in res.items():
            print("%4d names: whoisd/nginx median %.2fx" %
                  (n, statistics.median(w / g for w, g in v)))
    finally:
        if nginx is not None:
            nginx.terminate()
            nginx.wait(10)
        ps.stop_all()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
