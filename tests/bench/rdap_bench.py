#!/usr/bin/python3
"""rdap_bench.py — the RDAP channel's figures (docs/performance.md,
"RDAP"): an RDAP miss's latency through the suite against the simulator
asked directly, at 1 and 100 concurrent; TLS handshakes per RDAP query
at steady state (connection reuse); CPU per RDAP miss in whoisd-query.

    WHOISD_BUILD=build /usr/bin/python3 tests/bench/rdap_bench.py [-n N]

The suite is the integration tests' (tests/integration/suite.py): the
real daemons, whoisd-regsim's RDAP port as every RDAP server, `.app` names
(RDAP only), budgets lifted.  Prints one JSON object.
"""
import argparse
import concurrent.futures as cf
import http.client
import json
import os
import shutil
import ssl
import statistics
import sys
import tempfile
import threading
import time

TOP = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(TOP, "tests", "integration"))

from conftest import BIN, Procs, read_all  # noqa: E402
from test_rdap import RdapSim  # noqa: E402
from suite import Suite  # noqa: E402


def pct(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(p / 100.0 * len(v)))]


def summary(ms):
    return {"n": len(ms), "p50_ms": round(pct(ms, 50), 2),
            "p99_ms": round(pct(ms, 99), 2),
            "mean_ms": round(statistics.mean(ms), 2)}


def tree_cpu(pid):
    """utime + stime (s) of pid and its descendants."""
    tot = 0.0
    tck = os.sysconf("SC_CLK_TCK")
    pids = [pid]
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open("/proc/%s/stat" % d) as f:
                    st = f.read().rsplit(")", 1)[1].split()
                if int(st[1]) == pid:
                    pids.append(int(d))
            except OSError:
                pass
    for p in pids:
        try:
            with open("/proc/%d/stat" % p) as f:
                st = f.read().rsplit(")", 1)[1].split()
            tot += (int(st[11]) + int(st[12])) / tck
        except OSError:
            pass
    return tot


def run(fn, names, conc):
    lat = []
    lock = threading.Lock()

    def one(n):
        t = time.monotonic()
        fn(n)
        d = (time.monotonic() - t) * 1000
        with lock:
            lat.append(d)
    t0 = time.monotonic()
    with cf.ThreadPoolExecutor(conc) as ex:
        list(ex.map(one, names))
    return lat, time.monotonic() - t0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=400, help="misses per run")
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="whoisd-rdap-bench-")
    procs = Procs(tmp)
    out = {}
    try:
        sim = RdapSim(tmp)
        s = Suite(procs, tmp, regsim=sim.args + ["--log-level=1"], query=[
            "--rdap_override=" + sim.url, "--rdap_ca_file=" + sim.ca,
            "--dns_rate=0", "--registry_rate_override=100000",
            "--log_level=2", "--min_servers=1", "--max_servers=1", "--min_spare_servers=0",
            "--max_spare_servers=1"],
            front=["--log_level=2"], cache=["--log_level=2"]).start()
        # The whois simulator itself is not measured: quiet.
        port = s.port["whois"]

        def via_suite(n):
            r = read_all(port, (n + "\r\n").encode(), timeout=30)
            assert b"status: registered" in r, r[:300]

        local = threading.local()

        def direct(n):
            c = getattr(local, "c", None)
            if c is None:
                c = local.c = http.client.HTTPSConnection(
                    "127.0.0.1", sim.port, context=sim.ctx, timeout=30)
            c.request("GET", "/domain/" + n)
            r = c.getresponse()
            r.read()
            assert r.status == 200

        via_suite("warm-0.app")
        qpid = s.p["query"].pid
        for conc in (1, 100):
            names = ["d%d-%d-%d.app" % (conc, i, os.getpid())
                     for i in range(args.n)]
            lat, _ = run(direct, names, conc)
            out["direct_c%d" % conc] = summary(lat)
            names = ["m%d-%d-%d.app" % (conc, i, os.getpid())
                     for i in range(args.n)]
            before = sim.stats()
            cpu0 = tree_cpu(qpid)
            lat, took = run(via_suite, names, conc)
            cpu1 = tree_cpu(qpid)
            after = sim.stats()
            q = after["total"] - before["total"]
            out["suite_c%d" % conc] = dict(summary(lat),
                                           per_s=round(len(lat) / took, 1))
            out["handshakes_per_query_c%d" % conc] = round(
                (after["connections"] - before["connections"]) / max(q, 1),
                4)
            out["query_cpu_ms_per_miss_c%d" % conc] = round(
                (cpu1 - cpu0) * 1000 / max(q, 1), 3)
        out["cpus"] = os.cpu_count()
        print(json.dumps(out, indent=1))
    finally:
        procs.stop_all()
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
