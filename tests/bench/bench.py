#!/usr/bin/env python3
"""The benchmark behind `make bench` (docs/performance.md); run.sh builds
the helpers and runs this.

    tests/bench/bench.py --build build [--quick] [--out tests/bench/results]

Reference servers (limitd, the Perl Net::Server::PreFork daemon, nginx)
and the real suite (the four daemons with whoisd-regsim as every
registry) are started in turn on free loopback ports, measured with
whoisd-loadgen, and stopped.  The report is one markdown file named after
the start time, with the raw RESULT lines next to it (.json) and a PNG
plot.  Every process is started by pid, in its own session, and killed by
pid at the end, whatever happens.
"""
import argparse
import datetime
import json
import os
import platform
import random
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# The integration tests' helpers for ports, sockets and /proc.
sys.path.insert(0, os.path.join(TOP, "tests", "integration"))
from conftest import (free_port, port_open, proc_stat, read_all,  # noqa: E402
                      stop_process)
from nsd_helper import NSD  # noqa: E402
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from suggest import Suggest  # noqa: E402

NPROC = os.cpu_count() or 1
SUITE_BINS = ("whoisd", "whoisd-cache", "whoisd-query", "whoisd-errdb",
              "whoisd-regsim", "whoisctl")
CLK_TCK = os.sysconf("SC_CLK_TCK")
BURST_ROUNDS = 3         # 1,000-connection bursts per scenario
MISS_OVERHEAD_MS = 15    # distinct misses: p99 over the simulator's own
SWEEP_ROUNDS = 3         # rounds of each reference/whoisd pair, alternated
SIM_LATENCY_MS = 50
BODY_SIZE = 224
MEM_DAEMONS = ("front", "cache", "query", "errdb")
MEM_IDLE_S = 1.0         # idle time before each memory reading
MEM_ANON_MB = 24         # the target: the suite's Pss_Anon at any moment


def log(msg):
    print("bench: " + msg, flush=True)


# ---------------------------------------------------------------- processes

class Procs:
    """Every process this run started, by pid, stopped at the end."""

    def __init__(self, work):
        self.work = work
        self.live = {}

    def start(self, name, argv, env=None, cwd=None):
        logf = open(os.path.join(self.work, name + ".log"), "ab")
        e = dict(os.environ)
        if env:
            e.update(env)
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=logf,
                             stderr=subprocess.STDOUT, env=e,
                             cwd=cwd or TOP, start_new_session=True)
        p.logpath = logf.name
        p.logf = logf
        p.bname = name
        self.live[p.pid] = p
        return p

    def stop(self, p, sig=signal.SIGTERM, timeout=10):
        """Stop p and everything left in its session, by pid."""
        if p.pid not in self.live:
            return
        stop_process(p, descendants(p.pid), sig, timeout)
        p.logf.close()
        del self.live[p.pid]

    def stop_all(self):
        for p in list(self.live.values()):
            self.stop(p)


def logtext(p):
    p.logf.flush()
    with open(p.logpath, "rb") as f:
        return f.read().decode("utf-8", "replace")


def ppid_map():
    m = {}
    for d in os.listdir("/proc"):
        st = proc_stat(d) if d.isdigit() else None
        if st is not None and st[0] != "Z":
            m.setdefault(int(st[1]), []).append(int(d))
    return m


def descendants(pid):
    m, out, todo = ppid_map(), [], [pid]
    while todo:
        for k in m.get(todo.pop(), []):
            out.append(k)
            todo.append(k)
    return out


PSS_KEYS = ("Pss", "Pss_Anon", "Pss_File", "Pss_Shmem")


def pss_kb(pid):
    """{key: kB} of PSS_KEYS from pid's smaps_rollup (zeros if gone):
    Pss_Anon is what the process itself holds (heap, stacks, anonymous
    mmaps, copy-on-write pages), Pss_File its share of mapped files
    (binaries, libraries, the databases' pages), Pss_Shmem its share of
    shared mappings (the scoreboard, the metrics)."""
    out = dict.fromkeys(PSS_KEYS, 0)
    try:
        with open("/proc/%d/smaps_rollup" % pid) as f:
            for line in f:
                k = line.split(":", 1)[0]
                if k in out:
                    out[k] = int(line.split()[1])
    except OSError:
        pass
    return out


def proc_cpu(pid, children=False):
    """CPU seconds (user + system) of pid; with children, also what its
    reaped children used (a pool's master reaps the children that exit)."""
    st = proc_stat(pid)
    if st is None:
        return 0.0
    t = int(st[11]) + int(st[12])
    if children:
        t += int(st[13]) + int(st[14])
    return t / CLK_TCK


def tree_cpu(pid):
    """CPU seconds of a daemon: its master, live children, reaped ones."""
    return proc_cpu(pid, True) + sum(proc_cpu(p) for p in descendants(pid))


def tree_pss(pid):
    """The memory of pid and all its descendants: {"pss", "anon", "file",
    "shmem": kB summed, "n": process count, "each": [(pid, Pss_Anon kB),
    ...] with pid's own first}."""
    pids = [pid] + descendants(pid)
    t = {"pss": 0, "anon": 0, "file": 0, "shmem": 0, "n": len(pids),
         "each": []}
    for p in pids:
        m = pss_kb(p)
        t["pss"] += m["Pss"]
        t["anon"] += m["Pss_Anon"]
        t["file"] += m["Pss_File"]
        t["shmem"] += m["Pss_Shmem"]
        t["each"].append((p, m["Pss_Anon"]))
    return t


def wait_ready(p, port, text=None, timeout=15):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if p.poll() is not None:
            raise RuntimeError("%s exited (%s):\n%s" % (
                p.bname, p.returncode, logtext(p)[-2000:]))
        if port_open(port) and (text is None or text in logtext(p)):
            return
        time.sleep(0.05)
    raise RuntimeError("%s not ready on port %d after %ds:\n%s" % (
        p.bname, port, timeout, logtext(p)[-2000:]))


def whois_query(port, line, timeout=10):
    return read_all(port, line.encode() + b"\r\n",
                    timeout=timeout).decode("utf-8", "replace")


# ---------------------------------------------------------------- the run

class Bench:
    def __init__(self, args):
        self.a = args
        self.quick = args.quick
        self.build = os.path.abspath(args.build)
        self.bin = os.path.join(self.build, "bin")
        self.hbin = os.path.join(self.build, "bench")
        self.loadgen = os.path.join(self.bin, "whoisd-loadgen")
        self.stamp = datetime.datetime.now().strftime("%Y-%m-%d-%H%M")
        self.runid = "%d%d" % (os.getpid(), int(time.time()) % 100000)
        self.work = tempfile.mkdtemp(prefix="whoisd-bench-")
        self.procs = Procs(self.work)
        self.results = []          # every RESULT, with our tags
        self.mem = []              # (moment, {daemon: tree_pss()})
        self.notes = []
        self.limit = self.nginx = None     # (process, port) while running
        self.targets = []          # (name, target, measured, verdict)
        self.extra = {}
        self.cpu = {}              # model: CPU seconds by process, rounds
        self.sg = None             # the suggestion scenario, once run
        self.burst_rounds = args.rounds or BURST_ROUNDS
        if self.quick:
            self.dur, self.warm = 1.5, 0.3
            self.concs = [1, 16, 128]
            self.scale_n = args.scale_n or 100000
        else:
            self.dur, self.warm = 4.0, 1.0
            self.concs = [1, 16, 128]
            self.scale_n = args.scale_n or 10000000
        self.small_n = 10000
        self.nhit = 1000
        self.hits = self.names_file("hits", ["bench-%05d.com" % i
                                             for i in range(self.nhit)])

    def names_file(self, tag, names):
        path = os.path.join(self.work, tag + ".names")
        with open(path, "w") as f:
            f.write("\n".join(names) + "\n")
        return path

    def threads(self, conc):
        return max(1, min(NPROC, conc))

    # ---- loadgen

    def run_load(self, model, port, conc, mode="whois", per_request=1,
                 names=None, count=None, expect=None, timeout_ms=10000,
                 tags=None, duration=None):
        argv = [self.loadgen, "--port=%d" % port, "--mode=" + mode,
                "-c", str(conc), "-t", str(self.threads(conc)),
                "--timeout=%d" % timeout_ms, "-q",
                "--label=" + model]
        if count:
            argv += ["-n", str(count)]
        else:
            argv += ["-d", str(duration or self.dur),
                     "--warmup=%s" % self.warm]
        if mode == "http":
            argv += ["--per-request=%d" % per_request]
        if names:
            argv += ["--names=" + names]
        if expect:
            argv += ["--expect=" + expect]
        r = subprocess.run(argv, capture_output=True, text=True,
                           timeout=600)
        line = [l for l in r.stdout.splitlines() if l.startswith("RESULT ")]
        if r.returncode != 0 or not line:
            raise RuntimeError("loadgen failed (%d): %s %s" % (
                r.returncode, r.stdout, r.stderr))
        res = json.loads(line[-1][7:])
        res["model"] = model
        res.update(tags or {})
        self.results.append(res)
        log("%-22s c=%-4d %9.0f req/s  p99 %8.3f ms  errors %d" % (
            model + ("" if per_request == 1 else " x%d" % per_request),
            conc, res["rps"], res["p99_ms"], res["errors"]))
        return res

    def find(self, model, conc, **kw):
        """The result of model at conc; of several rounds, the median by
        req/s."""
        rs = sorted((r for r in self.results
                     if r["model"] == model and r["conc"] == conc and
                     all(r.get(k) == v for k, v in kw.items())),
                    key=lambda r: r["rps"])
        return rs[(len(rs) - 1) // 2] if rs else None

    def ratio(self, model, ref, conc, key="rps", **kw):
        """model over ref at conc: the median of the per-round ratios (a
        round's two runs are a minute apart at most, so each ratio sees
        one state of the machine), with the ratios themselves; a single
        run each: their plain ratio."""
        def rounds(m):
            return {r.get("round"): r for r in self.results
                    if r["model"] == m and r["conc"] == conc and
                    all(r.get(k) == v for k, v in kw.items())}
        a, b = rounds(model), rounds(ref)
        rs = [a[k][key] / b[k][key] for k in sorted(a, key=str)
              if k in b and b[k][key]]
        if not rs:
            x, y = self.find(model, conc, **kw), self.find(ref, conc)
            if not x or not y or not y[key]:
                return None, []
            rs = [x[key] / y[key]]
        return sorted(rs)[(len(rs) - 1) // 2], rs

    def groups(self, rows):
        """rows grouped by model, concurrency and names a request, in
        order: (the median round, every round)."""
        out, seen = [], {}
        for r in rows:
            k = (r["model"], r["conc"], r.get("per_request", 1),
                 r.get("tool"))
            if k not in seen:
                seen[k] = []
                out.append(seen[k])
            seen[k].append(r)
        return [(sorted(g, key=lambda r: r["rps"])[(len(g) - 1) // 2], g)
                for g in out]

    def pairs(self, a, b, mode="whois"):
        """Each concurrency SWEEP_ROUNDS times, the reference and whoisd
        one after the other (the order swapped every round), so both see
        the same machine: a shared machine's load moves by tens of
        percent between minutes, which sweeping one after the other
        would read as a difference between the servers."""
        for c in self.concs:
            for k in range(SWEEP_ROUNDS):
                for model, port, expect in (a, b) if k % 2 == 0 else (b, a):
                    self.run_load(model, port, c, mode=mode, names=self.hits,
                                  expect=expect, tags={"round": k})

    def sweep(self, model, port, **kw):
        for c in self.concs:
            self.run_load(model, port, c, **kw)

    # ---- references

    def ref_limit(self):
        port = free_port()
        p = self.procs.start("limitd", [os.path.join(self.hbin, "limitd"),
                                        "--port=%d" % port,
                                        "--names=" + self.hits])
        wait_ready(p, port, "listening")
        self.extra["limit_pss_kb"] = tree_pss(p.pid)
        # Kept running (idle, no CPU): measured in turn with whoisd.
        self.limit = (p, port)

    @staticmethod
    def cpu_per_request(acc, n):
        """us of CPU per request of process n in a with_cpu() total."""
        return acc.get(n, 0.0) * 1e6 / (1000.0 * acc["rounds"])

    def report_miss_floor(self, w):
        """What a miss must cost whatever the suite does: one registry
        connection on the client's side (whoisd-query) and one client
        connection on the server's side (the front)."""
        rb, dm = self.cpu.get("regsim-burst"), self.cpu.get("distinct-misses")
        if not rb or not dm:
            return
        per = self.cpu_per_request
        client = per(rb, "loadgen")
        suite = sum(per(dm, n) for n in ("front", "cache", "query", "errdb"))
        txt = ("**The floor under a miss.**  whoisd-query makes one registry "
               "connection a miss (RFC 3912: one query a connection).  The "
               "load generator, a bare C whois client, spent %.0f us a query "
               "on exactly that in the simulator's own burst; whoisd-query "
               "spent %.0f us a miss, classifying and reporting included."
               % (client, per(dm, "query")))
        wb = self.cpu.get("whoisd-burst")
        if wb:
            server = per(wb, "front")
            txt += ("  The front answering a whois client costs %.0f us a "
                    "request even for a cache hit (the all-hits burst).  "
                    "Those two connections alone are %.0f us of the suite's "
                    "%.0f us a miss." % (server, client + server, suite))
        w(txt)
        w("")

    def limit_load(self, model, names, conc, count):
        """limitd answering these names from memory, asked as `model`:
        the least any whois server costs at this concurrency here."""
        port = free_port()
        p = self.procs.start(model, [os.path.join(self.hbin, "limitd"),
                                     "--port=%d" % port, "--names=" + names])
        try:
            wait_ready(p, port, "listening")
            return self.run_load(model, port, conc, names=names,
                                 count=count, expect="status: registered",
                                 timeout_ms=30000)
        finally:
            self.procs.stop(p)

    def settle(self, names, quiet=0.005, most=5.0):
        """Wait until the suite is idle (under `quiet` CPU seconds in a
        tenth of a second, at most `most` seconds): a burst must not pay
        for the previous one's aftermath (its puts, timings, checkpoints,
        retiring children)."""
        t0 = time.monotonic()
        last = sum(tree_cpu(self.d[n].pid) for n in names)
        while time.monotonic() - t0 < most:
            time.sleep(0.1)
            now = sum(tree_cpu(self.d[n].pid) for n in names)
            if now - last < quiet:
                return
            last = now

    def with_cpu(self, model, run):
        """Run one 1,000-request burst and add the CPU each process of
        the suite (and the load generator) spent on it to self.cpu."""
        names = ("front", "cache", "query", "errdb", "regsim")
        self.settle(names)
        before = {n: tree_cpu(self.d[n].pid) for n in names}
        ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        r = run()
        ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        acc = self.cpu.setdefault(model, {"rounds": 0})
        acc["rounds"] += 1
        for n in names:
            acc[n] = acc.get(n, 0.0) + tree_cpu(self.d[n].pid) - before[n]
        acc["loadgen"] = acc.get("loadgen", 0.0) + \
            (ru1.ru_utime + ru1.ru_stime) - (ru0.ru_utime + ru0.ru_stime)
        return r

    def rounds(self, model):
        return [r for r in self.results if r["model"] == model]

    def median_round(self, model):
        rs = sorted(self.rounds(model), key=lambda r: r["p99_ms"])
        return rs[len(rs) // 2] if rs else None

    def ref_perl(self):
        port = free_port()
        p = self.procs.start("perl-whoisd", [
            "/usr/bin/perl", os.path.join(TOP, "tests/bench/perl-whoisd.pl"),
            str(port), self.hits])
        wait_ready(p, port)
        time.sleep(0.5)            # min_servers children
        self.extra["perl_pss_rest_kb"] = tree_pss(p.pid)
        self.sweep("perl-prefork", port, names=self.hits, expect="status: ")
        self.extra["perl_pss_after_kb"] = tree_pss(p.pid)
        self.procs.stop(p)

    def ref_nginx(self):
        if not shutil.which("nginx") and not os.path.exists("/usr/sbin/nginx"):
            self.notes.append("nginx is not installed: no HTTP reference.")
            return
        port = free_port()
        d = os.path.join(self.work, "nginx")
        os.makedirs(os.path.join(d, "tmp"), exist_ok=True)
        body = ('{"results":[{"domain":"bench-00001.com","ace":'
                '"bench-00001.com","status":"registered","source":"cache",'
                '"checked":"2026-11-22T01:00:00Z","registry":'
                '"whois.verisign-grs.com","latency_ms":123}]}')
        body = body[:-2] + ',"pad":"' + "x" * max(
            0, BODY_SIZE - len(body) - 10) + '"}]}'
        conf = os.path.join(d, "nginx.conf")
        with open(conf, "w") as f:
            f.write("""
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
    server {
        listen 127.0.0.1:%(port)d;
        location / {
            default_type application/json;
            return 200 '%(body)s\n';
        }
    }
}
""" % {"d": d, "port": port, "body": body})
        nginx = shutil.which("nginx") or "/usr/sbin/nginx"
        p = self.procs.start("nginx", [nginx, "-p", d, "-c", conf,
                                       "-e", os.path.join(d, "error.log")])
        wait_ready(p, port)
        self.extra["nginx_body_bytes"] = len(body) + 1
        self.extra["nginx_pss_kb"] = tree_pss(p.pid)
        if shutil.which("wrk"):
            for c in (16, 128):
                self.run_wrk("nginx-wrk", port, c)
        # Kept running (idle, no CPU): measured in turn with whoisd.
        self.nginx = (p, port)

    def run_wrk(self, model, port, conc):
        r = subprocess.run(["wrk", "-t2", "-c%d" % conc,
                            "-d%ds" % max(1, int(self.dur)), "--latency",
                            "http://127.0.0.1:%d/v1/check?domain=a.com" % port],
                           capture_output=True, text=True, timeout=120)
        rps, p99 = 0.0, 0.0
        for l in r.stdout.splitlines():
            l = l.strip()
            if l.startswith("Requests/sec:"):
                rps = float(l.split()[1])
            if l.startswith("99%"):
                v = l.split()[1]
                p99 = float(v[:-2]) if v.endswith("ms") else \
                    float(v[:-2]) / 1000 if v.endswith("us") else \
                    float(v[:-1]) * 1000
        res = {"model": model, "label": model, "mode": "http", "conc": conc,
               "threads": 2, "per_request": 1, "rps": rps, "p99_ms": p99,
               "errors": 0, "tool": "wrk"}
        self.results.append(res)
        log("%-22s c=%-4d %9.0f req/s  p99 %8.3f ms  (wrk -t2)" % (
            model, conc, rps, p99))

    # ---- the suite

    def suite_missing(self):
        return [b for b in SUITE_BINS
                if not os.access(os.path.join(self.bin, b), os.X_OK)]

    def link_keys(self):
        """The suite's role keys, made once per run as an install makes
        them (whoisctl keygen)."""
        keys = os.path.join(self.work, "keys")
        if not os.path.isdir(keys):
            subprocess.run([os.path.join(self.bin, "whoisctl"), "keygen",
                            keys], check=True, stdout=subprocess.DEVNULL)
        return keys

    def start_daemon(self, name, argv, port):
        if not name.endswith("regsim"):
            argv = argv[:1] + ["--link_keys=" + self.link_keys()] + argv[1:]
        p = self.procs.start(name, argv)
        wait_ready(p, port, None if name.endswith("regsim") else "ready:")
        return p

    def suite_start(self):
        self.port = {n: free_port() for n in
                     ("regsim", "errdb", "cache", "query", "whois", "http")}
        a = lambda n: "127.0.0.1:%d" % self.port[n]
        b = lambda n: os.path.join(self.bin, n)
        spool = os.path.join(self.work, "spool")
        os.makedirs(spool, exist_ok=True)
        self.cache_db = os.path.join(self.work, "cache.db")
        self.d = {}
        self.d["regsim"] = self.start_daemon("regsim", [
            b("whoisd-regsim"), "--listen=" + a("regsim"), "--data=none",
            "--latency-ms=%d" % SIM_LATENCY_MS, "--log-level=1"],
            self.port["regsim"])
        self.d["errdb"] = self.start_daemon("errdb", [
            b("whoisd-errdb"), "-f", "/dev/null", "--listen=" + a("errdb"),
            "--db_path=" + os.path.join(self.work, "errdb.db")],
            self.port["errdb"])
        self.d["cache"] = self.start_cache(self.cache_db)
        self.d["query"] = self.start_daemon("query", [
            b("whoisd-query"), "-f", "/dev/null", "--listen=" + a("query"),
            "--cache_addr=" + a("cache"), "--errdb_addr=" + a("errdb"),
            "--registry_override=" + a("regsim"),
            "--registry_rate_override=100000",
            "--registries=etc/registries.conf", "--spool_dir=" + spool],
            self.port["query"])
        self.d["front"] = self.start_daemon("front", [
            b("whoisd"), "-f", "/dev/null", "--listen=" + a("whois"),
            "--http_listen=" + a("http"), "--cache_addr=" + a("cache"),
            "--query_addr=" + a("query"),
            "--registries=etc/registries.conf", "--request_timeout=10"],
            self.port["whois"])

    def start_cache(self, db):
        return self.start_daemon("cache", [
            os.path.join(self.bin, "whoisd-cache"), "-f", "/dev/null",
            "--listen=127.0.0.1:%d" % self.port["cache"], "--db_path=" + db],
            self.port["cache"])

    def memory(self, moment):
        """The suite's memory at a moment: each daemon's tree (master and
        children) once the suite is idle, MEM_IDLE_S later, so a child's
        idle trim has had its chance, as it would between bursts."""
        self.settle(("front", "cache", "query", "errdb", "regsim"))
        time.sleep(MEM_IDLE_S)
        m = {}
        for n in MEM_DAEMONS + ("regsim",):
            m[n] = tree_pss(self.d[n].pid)
        self.mem.append((moment, m))
        s = lambda k: sum(m[n][k] for n in MEM_DAEMONS)
        log("memory %-26s suite Pss_Anon %.1f MB, Pss_File %.1f MB, "
            "PSS %.1f MB in %d processes (%s)" % (
                moment, s("anon") / 1024.0, s("file") / 1024.0,
                s("pss") / 1024.0, s("n"), ", ".join(
                    "%s %s" % (n, "+".join("%.1f" % (a / 1024.0)
                                           for _, a in m[n]["each"]))
                    for n in MEM_DAEMONS)))

    def sim_stats(self):
        return json.loads(whois_query(self.port["regsim"], "#stats"))

    def scenarios(self):
        wp, hp = self.port["whois"], self.port["http"]
        time.sleep(1.0)
        self.memory("at rest")
        # Pre-fill: every name asked once (a registry query each).
        r = self.run_load("prefill", wp, 64, names=self.hits,
                          count=self.nhit, expect="status: registered",
                          timeout_ms=30000)
        if r["errors"]:
            self.notes.append("pre-fill: %d of %d names failed." % (
                r["errors"], self.nhit))
        sample = whois_query(wp, "bench-00001.com")
        self.extra["sample_whois"] = sample
        if "source: cache" not in sample:
            self.notes.append("after the pre-fill, bench-00001.com was not "
                              "answered from the cache:\n\n    " +
                              sample[:300].replace("\n", "\n    "))
        # 1. cache hits, whois one-shot, in turn with the limit server.
        if self.limit:
            self.pairs(("limit", self.limit[1], "status: "),
                       ("whoisd", wp, "source: cache"))
        else:
            self.sweep("whoisd", wp, names=self.hits, expect="source: cache")
        self.memory("after 1 (whois hits)")
        # 2. cache hits, HTTP keep-alive, 1 and 100 names a request, in
        # turn with nginx.
        if self.nginx:
            self.pairs(("nginx", self.nginx[1], '"status"'),
                       ("whoisd-http", hp, '"cache"'), mode="http")
        else:
            self.sweep("whoisd-http", hp, mode="http", names=self.hits,
                       expect='"cache"')
        self.sweep("whoisd-http-100", hp, mode="http", per_request=100,
                   names=self.hits, expect='"cache"')
        self.memory("after 2 (HTTP hits)")
        # The same burst shape as 3 and 4, all cache hits: what the front
        # alone costs when 1,000 connections arrive at once, in turn with
        # the limit server (1,000 connections at once: the floor under
        # scenarios 3 and 4, whose every connection also arrives in one
        # burst).
        for k in range(self.burst_rounds):
            if self.limit:
                self.run_load("limit-burst", self.limit[1], 1000,
                              names=self.hits, count=1000,
                              expect="status: ", timeout_ms=30000,
                              tags={"round": k})
            self.hit_burst(k)
        for ref in (self.limit, self.nginx):
            if ref:
                self.procs.stop(ref[0])
        self.misses()

    def hit_burst(self, k):
        """1,000 connections at once, all cache hits: the front's cost of
        a whois client's connection, the server's side of a miss."""
        self.with_cpu("whoisd-burst", lambda: self.run_load(
            "whoisd-burst", self.port["whois"], 1000, names=self.hits,
            count=1000, expect="source: cache", timeout_ms=30000,
            tags={"round": k}))

    def misses(self):
        """The floor under 3, then scenarios 3 and 4."""
        wp = self.port["whois"]
        # The registry simulator asked directly by the same burst of
        # distinct free names: what the simulator and the load generator
        # alone cost on these cores, the floor under 3.
        for k in range(self.burst_rounds):
            direct = self.names_file("direct%d" % k, [
                "free-d%s-%d-%04d.com" % (self.runid, k, i)
                for i in range(1000)])
            self.with_cpu("regsim-burst", lambda: self.run_load(
                "regsim-burst", self.port["regsim"], 1000, names=direct,
                count=1000, expect="No match for", timeout_ms=30000,
                tags={"round": k}))
        # 3. 1,000 distinct concurrent misses, BURST_ROUNDS times (new
        # names each round; the report takes the median round).
        self.extra["distinct_sim_queries"] = []
        rec = self.perf_start("distinct")
        stat = self.perf_stat_start()
        for k in range(self.burst_rounds):
            miss = self.names_file("miss%d" % k, [
                "free-m%s-%d-%04d.com" % (self.runid, k, i)
                for i in range(1000)])
            before = self.sim_stats()
            self.with_cpu("distinct-misses", lambda: self.run_load(
                "distinct-misses", wp, 1000, names=miss, count=1000,
                expect="status: available", timeout_ms=30000,
                tags={"round": k}))
            after = self.sim_stats()
            self.extra["distinct_sim_queries"].append(
                after["total"] - before["total"])
        self.perf_stat_stop(stat, "distinct-misses",
                            1000 * self.burst_rounds)
        self.perf_stop(rec)
        self.memory("after 3 (distinct misses)")
        # 4. 1,000 identical concurrent misses, a new name each round.
        self.extra["identical_sim_queries"] = []
        self.extra["identical_sim_total"] = []
        rec = self.perf_start("identical")
        for k in range(self.burst_rounds):
            same = "free-s%s-%d.com" % (self.runid, k)
            before = self.sim_stats()
            self.with_cpu("identical-misses", lambda: self.run_load(
                "identical-misses", wp, 1000,
                names=self.names_file("same%d" % k, [same]), count=1000,
                expect="status: available", timeout_ms=30000,
                tags={"round": k}))
            after = self.sim_stats()
            full = after.get("per_domain_overflow", 0) > \
                before.get("per_domain_overflow", 0)
            if full and same not in after["per_domain"]:
                # The simulator's per-name table (RS_DOMAIN_CAP) is full;
                # this round asked only this name, so the total is it.
                n = after["total"] - before["total"]
            else:
                n = (after["per_domain"].get(same, 0) -
                     before["per_domain"].get(same, 0))
            self.extra["identical_sim_queries"].append(n)
            self.extra["identical_sim_total"].append(
                after["total"] - before["total"])
        self.perf_stop(rec)
        self.memory("after 4 (identical misses)")

    def daemon_stats(self):
        """whoisctl stats of the cache and query daemons (their counters:
        commits, leases, puts...), for reading a miss run."""
        r = subprocess.run([os.path.join(self.bin, "whoisctl"), "stats",
                            "cache", "query", "--json",
                            "--keys=" + self.link_keys(), "--config_dir=" +
                            self.work,
                            "--cache=127.0.0.1:%d" % self.port["cache"],
                            "--query=127.0.0.1:%d" % self.port["query"]],
                           capture_output=True, text=True, timeout=60)
        try:
            return json.loads(r.stdout)
        except ValueError:
            return {"error": (r.stdout + r.stderr)[-500:]}

    def perf_stat_start(self):
        """`perf stat -e task-clock` of each daemon's processes (master
        and children) over a scenario's rounds; None without perf."""
        if not shutil.which("perf"):
            return None
        out = {}
        for n in ("front", "cache", "query"):
            pids = [self.d[n].pid] + descendants(self.d[n].pid)
            path = os.path.join(self.work, "stat-%s.txt" % n)
            ev = "task-clock"
            if os.environ.get("BENCH_PERF_EVENTS"):
                ev += "," + os.environ["BENCH_PERF_EVENTS"]
            p = subprocess.Popen(["perf", "stat", "-e", ev, "-x",
                                  ",", "-o", path, "-p",
                                  ",".join("%d" % x for x in pids)],
                                 stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL)
            p.logf = open(os.devnull, "wb")
            p.bname = "perf"
            self.procs.live[p.pid] = p
            out[n] = (p, path)
        time.sleep(0.3)
        return out

    def perf_stat_stop(self, stat, model, requests):
        """task-clock us per request of each daemon, into self.extra."""
        if not stat:
            return
        res = {}
        for n, (p, path) in stat.items():
            p.send_signal(signal.SIGINT)
            p.wait(30)
            self.procs.stop(p)
            try:
                with open(path) as f:
                    for line in f:
                        f_ = line.split(",")
                        if len(f_) > 2 and f_[2].startswith("task-clock"):
                            res[n] = float(f_[0]) * 1000.0 / requests
                        elif len(f_) > 2 and f_[0].replace(".", "").isdigit():
                            # BENCH_PERF_EVENTS: counts per request, logged
                            log("perf stat %s %s: %.2f per request" % (
                                n, f_[2], float(f_[0]) / requests))
            except (OSError, ValueError):
                pass
        self.extra.setdefault("task_clock_us", {})[model] = res
        log("perf stat task-clock us per request, %s: %s" % (
            model, ", ".join("%s %.1f" % kv for kv in sorted(res.items()))))

    def perf_start(self, tag):
        """--perf DIR: `perf record -g` of the front, cache and query
        processes over a scenario's rounds, the data kept in DIR for
        `perf report --sort comm,dso,sym`."""
        if not self.a.perf or not shutil.which("perf"):
            return None
        os.makedirs(self.a.perf, exist_ok=True)
        out = os.path.join(self.a.perf, "%s-%s.data" % (self.stamp, tag))
        # The suite's own processes by pid: other work on the machine
        # may run the same binaries.
        pids = []
        for n in ("front", "cache", "query"):
            pids += [self.d[n].pid] + descendants(self.d[n].pid)
        rec = subprocess.Popen(["perf", "record", "-F", "1999"] + (
            ["--call-graph", "dwarf,16384"] if os.environ.get(
                "BENCH_PERF_DWARF") == "1" else ["-g"]) + [
                                "-p", ",".join("%d" % p for p in pids),
                                "-o", out], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
        rec.logf = open(os.devnull, "wb")
        rec.bname = "perf"
        self.procs.live[rec.pid] = rec
        time.sleep(0.5)
        return rec

    def perf_stop(self, rec):
        if rec:
            rec.send_signal(signal.SIGINT)
            rec.wait(60)
            self.procs.stop(rec)
            log("perf data in %s" % self.a.perf)

    def scale(self):
        """6: hit latency with 10k names against N names in the cache."""
        bulk = os.path.join(self.hbin, "bulkfill")
        if not os.access(bulk, os.X_OK):
            self.notes.append("bulkfill not built: no scale scenario.")
            return
        rng = random.Random(6)
        for tag, n in (("small", self.small_n), ("big", self.scale_n)):
            db = os.path.join(self.work, "scale-%s.db" % tag)
            log("scale: filling %d names into %s" % (n, db))
            t0 = time.monotonic()
            r = subprocess.run([bulk, db, str(n), "scale-", ".com"],
                               capture_output=True, text=True, timeout=1800)
            line = [l for l in r.stdout.splitlines()
                    if l.startswith("BULKFILL ")]
            if r.returncode != 0 or not line:
                self.notes.append("bulkfill %s failed: %s" % (
                    tag, r.stderr[-500:]))
                return
            fill = json.loads(line[0][9:])
            fill["wall"] = time.monotonic() - t0
            self.extra["fill_" + tag] = fill
            # Ask 10,000 names spread over the whole table.
            idx = rng.sample(range(n), min(n, self.small_n))
            names = self.names_file("scale-" + tag,
                                    ["scale-%d.com" % i for i in idx])
            self.procs.stop(self.d["cache"])
            self.d["cache"] = self.start_cache(db)
            # One pass to open the pages, as a warm cache would be.
            self.run_load("scale-warm-" + tag, self.port["whois"], 16,
                          names=names, count=len(idx), timeout_ms=30000)
            for c in (1, 16):
                self.run_load("scale-" + tag, self.port["whois"], c,
                              names=names, expect="source: cache",
                              tags={"scale_n": n})
            self.memory("after 6 (%s names)" % format(n, ","))

    def profile_front(self):
        """perf profile of the c=128 whois hit point, for a missed target."""
        if not shutil.which("perf"):
            return None
        out = os.path.join(self.work, "perf.data")
        rec = subprocess.Popen(["perf", "record", "-F", "499", "-a", "-g",
                                "-o", out, "--", "sleep",
                                str(max(2, int(self.dur)))],
                               stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
        self.procs.live[rec.pid] = rec
        rec.logf = open(os.devnull, "wb")
        rec.bname = "perf"
        self.run_load("profiled", self.port["whois"], 128, names=self.hits,
                      expect="source: cache",
                      duration=max(2, int(self.dur)))
        rec.wait(60)
        self.procs.stop(rec)
        text = []
        for sort, lim, n in (("comm", "0.5", 15), ("comm,dso,sym", "0.4", 45)):
            r = subprocess.run(["perf", "report", "-i", out, "--stdio",
                                "--no-children", "--sort", sort,
                                "--percent-limit", lim, "-g", "none"],
                               capture_output=True, text=True, timeout=180)
            lines = [l for l in r.stdout.splitlines()
                     if l.strip() and not l.startswith("#")]
            text += ["-- --sort %s --" % sort] + lines[:n] + [""]
        return "\n".join(text).strip() or None

    # ---- targets

    def judge(self):
        T = self.targets
        lim = self.find("limit", 128)
        wd = self.find("whoisd", 128)
        rounds = lambda rs: "" if len(rs) < 2 else \
            "; per round %s" % " / ".join("%.2f" % x for x in rs)
        if lim and wd:
            ratio, rs = self.ratio("whoisd", "limit", 128)
            errs = sum(r["errors"] for r in self.rounds("whoisd"))
            v = "PASS" if ratio >= 0.90 and errs == 0 else \
                "MISS (above the 0.80 floor)" if ratio >= 0.80 else "MISS"
            T.append(("whois cache hits, c=128", ">= 0.90x limit "
                      "(floor 0.80x)", "%.2fx (medians %.0f vs %.0f req/s%s)"
                      % (ratio, wd["rps"], lim["rps"], rounds(rs)), v))
            pr, rs = self.ratio("whoisd", "limit", 128, key="p99_ms")
            T.append(("whois cache hits p99, c=128", "<= 1.5x limit p99",
                      "%.2fx (medians %.2f vs %.2f ms%s)" % (
                          pr, wd["p99_ms"], lim["p99_ms"], rounds(rs)),
                      "PASS" if pr <= 1.5 else "MISS"))
        else:
            T.append(("whois cache hits, c=128", ">= 0.90x limit", "not run",
                      "N/A"))
        ng = self.find("nginx", 128)
        wh = self.find("whoisd-http", 128, per_request=1)
        if ng and wh:
            ratio, rs = self.ratio("whoisd-http", "nginx", 128,
                                   per_request=1)
            errs = sum(r["errors"] for r in self.rounds("whoisd-http"))
            T.append(("HTTP keep-alive hits, c=128", ">= 0.90x nginx",
                      "%.2fx (medians %.0f vs %.0f req/s%s)" % (
                          ratio, wh["rps"], ng["rps"], rounds(rs)),
                      "PASS" if ratio >= 0.90 and errs == 0 else "MISS"))
        else:
            T.append(("HTTP keep-alive hits, c=128", ">= 0.90x nginx",
                      "not run", "N/A"))
        floor = self.burst_floor()
        dm = self.median_round("distinct-misses")
        rb = self.median_round("regsim-burst")
        want = "all answered, p99 <= the simulator's own p99 + %d ms" % \
            MISS_OVERHEAD_MS
        if dm and rb:
            rs = self.rounds("distinct-misses")
            ok = all(r["ok"] == 1000 and r["errors"] == 0 for r in rs)
            over = dm["p99_ms"] - rb["p99_ms"]
            T.append(("1,000 distinct misses at %d ms" % SIM_LATENCY_MS,
                      want,
                      "%s answered, p99 %.1f ms (median of %s) against the "
                      "simulator's %.1f ms (median of %s): +%.1f ms%s" % (
                          "/".join("%d" % r["ok"] for r in rs),
                          dm["p99_ms"], ", ".join("%.0f" % r["p99_ms"]
                                                  for r in rs),
                          rb["p99_ms"], ", ".join(
                              "%.0f" % r["p99_ms"]
                              for r in self.rounds("regsim-burst")),
                          over, floor),
                      "PASS" if ok and over <= MISS_OVERHEAD_MS else "MISS"))
        else:
            T.append(("1,000 distinct misses", want, "not run", "N/A"))
        im = self.median_round("identical-misses")
        if im:
            rs = self.rounds("identical-misses")
            qs = self.extra.get("identical_sim_queries", [])
            lim_ms = SIM_LATENCY_MS + 10
            T.append(("1,000 identical misses",
                      "1 registry query, p99 <= %d ms" % lim_ms,
                      "registry queries %s, %s answered, p99 %.1f ms "
                      "(median of %s)%s" % (
                          "/".join("%d" % q for q in qs),
                          "/".join("%d" % r["ok"] for r in rs),
                          im["p99_ms"], ", ".join("%.0f" % r["p99_ms"]
                                                  for r in rs), floor),
                      "PASS" if qs and all(q == 1 for q in qs) and
                      all(r["ok"] == 1000 for r in rs) and
                      im["p99_ms"] <= lim_ms else "MISS"))
        else:
            T.append(("1,000 identical misses", "1 registry query",
                      "not run", "N/A"))
        if self.mem:
            sums = [(moment, sum(m[n]["anon"] for n in MEM_DAEMONS),
                     sum(m[n]["file"] for n in MEM_DAEMONS))
                    for moment, m in self.mem]
            worst = max(sums, key=lambda x: x[1])
            T.append(("suite Pss_Anon at every moment (default pools)",
                      "<= %d MB" % MEM_ANON_MB,
                      "max %.1f MB (%s); %s; Pss_File beside it %s" % (
                          worst[1] / 1024.0, worst[0],
                          " / ".join("%.1f" % (a / 1024.0)
                                     for _, a, _ in sums),
                          " / ".join("%.1f" % (f / 1024.0)
                                     for _, _, f in sums)),
                      "PASS" if worst[1] <= MEM_ANON_MB * 1024
                      else "MISS"))
        else:
            T.append(("suite Pss_Anon at every moment", "<= %d MB" %
                      MEM_ANON_MB, "not run", "N/A"))
        # One request at a time isolates the lookup from queueing; c=16
        # is shown too.
        sb, ss = self.find("scale-big", 1), self.find("scale-small", 1)
        sb16, ss16 = self.find("scale-big", 16), self.find("scale-small", 16)
        fb = self.extra.get("fill_big")
        if sb and ss and fb:
            pr = sb["p99_ms"] / ss["p99_ms"] if ss["p99_ms"] else 0
            m = "%.2fx (%.3f vs %.3f ms)" % (pr, sb["p99_ms"], ss["p99_ms"])
            if sb16 and ss16 and ss16["p99_ms"]:
                m += "; at c=16 %.2fx" % (sb16["p99_ms"] / ss16["p99_ms"])
            T.append(("%s names: hit p99, c=1" % format(self.scale_n, ","),
                      "<= 1.5x the 10,000-name p99", m,
                      "PASS" if pr <= 1.5 and sb["errors"] == 0
                      else "MISS"))
            bpn = fb["db_bytes"] / max(1, fb["rows"])
            T.append(("%s names: DB bytes per name" %
                      format(self.scale_n, ","), "<= 100",
                      "%.1f" % bpn, "PASS" if bpn <= 100 else "MISS"))
        else:
            T.append(("10 M names", "p99 <= 1.5x, <= 100 B/name",
                      "not run", "N/A"))

    def suggestion(self):
        """Fresh names: the suggestion scenario (tests/bench/suggest.py)."""
        if not os.path.exists(NSD):
            self.notes.append("nsd is not installed: no suggestion "
                              "scenario (apt-get install nsd).")
            return
        n = self.a.suggest_n or (200 if self.quick else 1000)
        log("suggestion: %d fresh names, DNS on then off" % n)
        self.sg = Suggest(self, n)
        self.sg.run()

    def burst_floor(self):
        """The same 1,000-connection burst served by the limit server and
        by whoisd from its cache, for reading the misses' p99."""
        lb, wb = self.median_round("limit-burst"), \
            self.median_round("whoisd-burst")
        rb = self.median_round("regsim-burst")
        if not lb or not wb:
            return ""
        return "; the same burst all hits: limit p99 %.0f ms, whoisd " \
            "%.0f ms%s" % (lb["p99_ms"], wb["p99_ms"],
                           "; the simulator asked directly: p99 %.0f ms" %
                           rb["p99_ms"] if rb else "")

    # ---- output

    def machine(self):
        model = "?"
        try:
            with open("/proc/cpuinfo") as f:
                for l in f:
                    if l.startswith("model name"):
                        model = l.split(":", 1)[1].strip()
                        break
        except OSError:
            pass
        mem = 0
        with open("/proc/meminfo") as f:
            for l in f:
                if l.startswith("MemTotal:"):
                    mem = int(l.split()[1]) // 1024
        return {"nproc": NPROC, "kernel": platform.release(),
                "cpu": model, "mem_mb": mem,
                "load": os.getloadavg()}

    def plot(self, png):
        if not shutil.which("gnuplot"):
            self.notes.append("gnuplot is not installed: no plot "
                              "(apt-get install gnuplot-nox).")
            return False
        models = [("limit", {}), ("perl-prefork", {}), ("whoisd", {}),
                  ("nginx", {}), ("whoisd-http", {}),
                  ("whoisd-http-100", {})]
        series = []
        for m, kw in models:
            pts = sorted((r["conc"], r["rps"], r["p99_ms"])
                         for r, _ in self.groups(
                             [x for x in self.results if x["model"] == m and
                              x.get("tool") != "wrk"]))
            if not pts:
                continue
            dat = os.path.join(self.work, m + ".dat")
            with open(dat, "w") as f:
                for c, rps, p99 in pts:
                    f.write("%d %.1f %.3f\n" % (c, rps, p99))
            series.append((m, dat))
        if not series:
            return False
        gp = os.path.join(self.work, "plot.gp")
        with open(gp, "w") as f:
            f.write('set terminal pngcairo size 1200,480 noenhanced\n'
                    if self.has_pngcairo() else
                    'set terminal png size 1200,480 noenhanced\n')
            f.write('set output "%s"\nset multiplot layout 1,2 title '
                    '"whoisd bench %s (%d cores)"\n' % (png, self.stamp,
                                                         NPROC))
            f.write('set logscale x 2\nset xlabel "concurrency"\n'
                    'set key top left\nset grid\n')
            f.write('set ylabel "requests/s"\nset title "throughput"\n')
            f.write("plot " + ", ".join(
                '"%s" using 1:2 with linespoints title "%s"' % (d, m)
                for m, d in series) + "\n")
            f.write('set logscale y 10\nset ylabel "p99 ms"\n'
                    'set title "p99 latency"\n')
            f.write("plot " + ", ".join(
                '"%s" using 1:3 with linespoints title "%s"' % (d, m)
                for m, d in series) + "\n")
            f.write("unset multiplot\n")
        r = subprocess.run(["gnuplot", gp], capture_output=True, text=True)
        if r.returncode != 0:
            self.notes.append("gnuplot failed: " + r.stderr[-300:])
            return False
        return True

    def has_pngcairo(self):
        r = subprocess.run(["gnuplot", "-e", "set terminal"],
                           capture_output=True, text=True)
        return "pngcairo" in (r.stdout + r.stderr)

    def report(self, md, png, has_plot, profile, elapsed):
        mach = self.machine()
        L = []
        w = L.append
        w("# whoisd bench %s%s" % (self.stamp, " (QUICK=1)" if self.quick
                                    else ""))
        w("")
        misses = [t for t in self.targets if t[3].startswith("MISS")]
        na = [t for t in self.targets if t[3] == "N/A"]
        w("**%d targets: %d PASS, %d MISS, %d not run.** "
          "Machine: %d cores, %s, Linux %s. Run took %.0f s." % (
              len(self.targets), len(self.targets) - len(misses) - len(na),
              len(misses), len(na), mach["nproc"], mach["cpu"],
              mach["kernel"], elapsed))
        w("")
        w("| target | wanted | measured | verdict |")
        w("|---|---|---|---|")
        for t in self.targets:
            w("| %s | %s | %s | **%s** |" % t)
        w("")
        if misses:
            w("Missed targets: " + "; ".join(t[0] for t in misses) +
              ". " + ("The perf profile of the c=128 whois hit point is "
                      "under *Profile* below." if profile else
                      "No perf profile was taken (it is taken when a whois "
                      "hit target is missed and perf is installed).") +
              (" Where the CPU of the misses goes, per process, is under "
               "*Where the CPU goes in a 1,000-connection burst*."
               if self.cpu else ""))
            w("")
        if self.notes:
            w("Notes:")
            w("")
            for n in self.notes:
                w("- " + n)
            w("")
        w("## Machine")
        w("")
        w("| nproc | CPU | kernel | memory | load at start |")
        w("|---|---|---|---|---|")
        w("| %d | %s | %s | %d MB | %.2f %.2f %.2f |" % (
            mach["nproc"], mach["cpu"], mach["kernel"], mach["mem_mb"],
            *self.load0))
        w("")
        w("Each point: %.1f s after a %.1f s warm-up, whoisd-loadgen with "
          "min(cores, c) threads on the same machine. Latency is per "
          "request (whois: connect to EOF; HTTP: request to last byte). "
          "The limit server and whoisd (whois), and nginx and whoisd "
          "(HTTP), are measured in turn, %d rounds at each concurrency, "
          "the order swapped every round; a table shows the median round "
          "by req/s with every round's req/s in brackets, and a ratio is "
          "the median of the per-round ratios." % (self.dur, self.warm,
                                                   SWEEP_ROUNDS))
        w("")
        if has_plot:
            w("![throughput and p99 against concurrency](%s)" %
              os.path.basename(png))
            w("")

        def table(title, rows, ref=None, refname=None, every=False):
            w("## " + title)
            w("")
            hdr = "| model | c | req/s | names/s | p50 ms | p90 ms | " \
                  "p99 ms | p99.9 ms | max ms | errors |"
            if ref:
                hdr += " x %s | p99 x %s |" % (refname, refname)
            w(hdr)
            w("|" + "---|" * (hdr.count("|") - 1))
            for r, rounds in ([(x, [x]) for x in rows] if every else
                              self.groups(rows)):
                errs = r.get("errors", 0)
                ek = ", ".join("%s %d" % (k[4:], r[k]) for k in
                               ("err_refused", "err_reset", "err_timeout",
                                "err_short", "err_other") if r.get(k))
                line = "| %s | %d | %s | %.0f | %s | %s | %.3f | %s | " \
                       "%s | %s |" % (
                           r["model"] + (" (wrk)" if r.get("tool") == "wrk"
                                         else ""), r["conc"],
                           "%.0f" % r["rps"] if len(rounds) == 1 else
                           "%.0f (%s)" % (r["rps"], "/".join(
                               "%.0f" % x["rps"] for x in rounds)),
                           r.get("names_per_s", r["rps"]),
                           fmt(r.get("p50_ms")), fmt(r.get("p90_ms")),
                           r["p99_ms"], fmt(r.get("p999_ms")),
                           fmt(r.get("max_ms")),
                           "%d (%s)" % (errs, ek) if errs else "0")
                if ref:
                    b = self.find(ref, r["conc"])
                    if r["model"] == ref:
                        line += " 1.00 | 1.00 |"
                    elif b and b["rps"] and b["p99_ms"] and \
                            r.get("per_request", 1) == 1:
                        x, _ = self.ratio(r["model"], ref, r["conc"])
                        y, _ = self.ratio(r["model"], ref, r["conc"],
                                          key="p99_ms")
                        line += " %.2f | %.2f |" % (x, y)
                    elif b and b["rps"]:
                        # Names/s against the reference's req/s: with 100
                        # names a request that is the work done per second.
                        line += " %.2f | - |" % (r["names_per_s"] / b["rps"])
                    else:
                        line += " - | - |"
                w(line)
            w("")

        sel = lambda *ms: [r for m in ms for r in self.results
                           if r["model"] == m]
        table("References: whois one-shot", sel("limit", "perl-prefork"),
              "limit", "limit")
        table("References: HTTP keep-alive", sel("nginx", "nginx-wrk"))
        if self.find("whoisd", 128):
            table("1. Cache hits, whois one-shot", sel("whoisd"),
                  "limit", "limit")
        if self.find("whoisd-http", 128):
            table("2. Cache hits, HTTP keep-alive (1 and 100 names a "
                  "request)", sel("whoisd-http", "whoisd-http-100"),
                  "nginx", "nginx")
        if self.rounds("limit-burst") or self.rounds("whoisd-burst"):
            table("1,000 connections at once, all cache hits (the floor "
                  "under 3 and 4)", sel("limit-burst", "whoisd-burst"),
                  every=True)
        if self.rounds("regsim-burst"):
            table("1,000 distinct free names asked of the registry "
                  "simulator directly (%d ms; the floor under 3)" %
                  SIM_LATENCY_MS, sel("regsim-burst"), every=True)
        if self.rounds("distinct-misses"):
            table("3. 1,000 concurrent distinct misses (registry latency "
                  "%d ms), %d rounds" % (SIM_LATENCY_MS, self.burst_rounds),
                  sel("distinct-misses"), every=True)
            w("Queries seen by the simulator, per round: %s." % ", ".join(
                "%d" % q for q in self.extra.get("distinct_sim_queries",
                                                 [])))
            w("")
        if self.rounds("identical-misses"):
            table("4. 1,000 concurrent identical misses (coalescing), %d "
                  "rounds" % self.burst_rounds, sel("identical-misses"),
                  every=True)
            w("Queries for the round's name seen by the simulator: **%s** "
              "(all queries in those intervals: %s)." % (
                  ", ".join("%d" % q for q in
                            self.extra.get("identical_sim_queries", [])),
                  ", ".join("%d" % q for q in
                            self.extra.get("identical_sim_total", []))))
            w("")
        if self.cpu:
            w("## Where the CPU goes in a 1,000-connection burst")
            w("")
            w("CPU time per request (us, user + system, mean over the "
              "rounds) of each process tree during the burst; the load "
              "generator shares the same %d cores." % NPROC)
            w("")
            cols = ("front", "cache", "query", "errdb", "regsim", "loadgen")
            w("| burst | " + " | ".join(cols) + " | suite | all |")
            w("|---|" + "---|" * (len(cols) + 2))
            for model in ("whoisd-burst", "regsim-burst",
                          "distinct-misses", "identical-misses"):
                acc = self.cpu.get(model)
                if not acc:
                    continue
                per = lambda n: self.cpu_per_request(acc, n)
                suite = sum(per(n) for n in cols[:4])
                w("| %s | %s | %.0f | %.0f |" % (
                    model, " | ".join("%.0f" % per(n) for n in cols),
                    suite, suite + per("regsim") + per("loadgen")))
            w("")
            self.report_miss_floor(w)
        tc = self.extra.get("task_clock_us")
        if tc:
            w("`perf stat -e task-clock` of each daemon's processes over "
              "the same bursts (includes the settle time between rounds; "
              "us per request):")
            w("")
            w("| burst | front | cache | query | suite |")
            w("|---|---|---|---|---|")
            for model, r in tc.items():
                w("| %s | %s | %.1f |" % (model, " | ".join(
                    "%.1f" % r.get(n, 0) for n in ("front", "cache",
                                                   "query")),
                    sum(r.values())))
            w("")
        w("## 5. Memory (MB, from /proc/PID/smaps_rollup; master and "
          "children)")
        w("")
        if self.mem:
            w("Each daemon: Pss_Anon (what its processes hold: heap, "
              "stacks, copy-on-write pages) / Pss_File (its share of the "
              "binaries, libraries and mapped database pages), and its "
              "process count. Read once the suite is idle, %.1f s later. "
              "Target: the suite's Pss_Anon <= %d MB at every moment." % (
                  MEM_IDLE_S, MEM_ANON_MB))
            w("")
            w("| moment | front | cache | query | errdb | **suite anon** "
              "| suite file | suite shmem | suite PSS | regsim PSS |")
            w("|---|---|---|---|---|---|---|---|---|---|")
            for moment, m in self.mem:
                s = lambda k: sum(m[n][k] for n in MEM_DAEMONS) / 1024.0
                w("| %s | %s | **%.1f** | %.1f | %.1f | %.1f | %.1f |" % (
                    moment, " | ".join(
                        "%.1f / %.1f (%d)" % (m[n]["anon"] / 1024.0,
                                              m[n]["file"] / 1024.0,
                                              m[n]["n"])
                        for n in MEM_DAEMONS),
                    s("anon"), s("file"), s("shmem"), s("pss"),
                    m["regsim"]["pss"] / 1024.0))
            w("")
            w("Pss_Anon per process (MB, master first):")
            w("")
            w("| moment | " + " | ".join(MEM_DAEMONS) + " |")
            w("|---|" + "---|" * len(MEM_DAEMONS))
            for moment, m in self.mem:
                w("| %s | %s |" % (moment, " | ".join(
                    " + ".join("%.1f" % (a / 1024.0)
                               for _, a in m[n]["each"])
                    for n in MEM_DAEMONS)))
            w("")
        refs = ", ".join(
            "%s PSS %.1f MB (anon %.1f) in %d processes" % (
                k, v["pss"] / 1024.0, v["anon"] / 1024.0, v["n"])
            for k, v in (("limitd", self.extra.get("limit_pss_kb")),
                         ("Perl Net::Server::PreFork at rest",
                          self.extra.get("perl_pss_rest_kb")),
                         ("Perl after its runs",
                          self.extra.get("perl_pss_after_kb")),
                         ("nginx", self.extra.get("nginx_pss_kb")))
            if v)
        if refs:
            w("References: " + refs + ".")
            w("")
        if self.find("scale-big", 16):
            table("6. Scale: cache hits with %s names against %s names "
                  "in the cache" % (format(self.scale_n, ","),
                                    format(self.small_n, ",")),
                  sel("scale-small", "scale-big"))
            w("| DB | rows | fill s | DB bytes | bytes/name |")
            w("|---|---|---|---|---|")
            for tag in ("small", "big"):
                f = self.extra.get("fill_" + tag)
                if f:
                    w("| %s | %s | %.1f | %s | %.1f |" % (
                        tag, format(f["rows"], ","), f["seconds"],
                        format(f["db_bytes"], ","),
                        f["db_bytes"] / max(1, f["rows"])))
            w("")
        if profile:
            w("## Profile")
            w("")
            w("`perf record -a -g` during a whois cache-hit run at c=128: "
              "CPU share by process, then by symbol:")
            w("")
            w("```")
            w(profile)
            w("```")
            w("")
        if self.sg is not None:
            self.sg.report(w)
        w("Raw RESULT lines: `%s.json`." % os.path.basename(md)[:-3])
        with open(md, "w") as f:
            f.write("\n".join(L) + "\n")

    def run(self):
        t0 = time.monotonic()
        self.load0 = os.getloadavg()
        os.makedirs(self.a.out, exist_ok=True)
        md = os.path.join(self.a.out, self.stamp + (
            "-suggest" if self.a.only_suggest else
            "-misses" if self.a.only_misses else "") + ".md")
        png = os.path.join(self.a.out, self.stamp + ".png")
        log("work dir %s; report %s" % (self.work, md))
        profile = None
        try:
            if self.a.only_suggest:
                self.suggestion()
                raise _Done()
            if self.a.only_misses:
                log("suite: starting the four daemons and whoisd-regsim")
                self.suite_start()
                time.sleep(1.0)
                self.memory("at rest")
                # The full run's pre-fill, for the same warm pools.
                self.run_load("prefill", self.port["whois"], 64,
                              names=self.hits, count=self.nhit,
                              expect="status: registered", timeout_ms=30000)
                for k in range(self.burst_rounds):
                    self.hit_burst(k)
                self.misses()
                self.extra["miss_stats"] = self.daemon_stats()
                for n in list(self.d):
                    self.procs.stop(self.d[n])
                raise _Done()
            log("reference: limitd (%d processes)" % NPROC)
            self.ref_limit()
            log("reference: Perl Net::Server::PreFork")
            self.ref_perl()
            log("reference: nginx (2 workers)")
            self.ref_nginx()
            missing = self.suite_missing()
            if missing:
                self.notes.append("the suite did not run: not built: " +
                                  ", ".join(missing) + ".")
                log("suite skipped, not built: " + ", ".join(missing))
                if self.limit:
                    self.sweep("limit", self.limit[1], names=self.hits,
                               expect="status: ")
                if self.nginx:
                    self.sweep("nginx", self.nginx[1], mode="http",
                               names=self.hits, expect='"status"')
            else:
                log("suite: starting the four daemons and whoisd-regsim")
                self.suite_start()
                self.scenarios()
                if not self.a.no_scale:
                    self.scale()
                self.judge()
                if any(t[3].startswith("MISS") for t in self.targets[:2]) \
                        and not self.a.no_profile:
                    self.procs.stop(self.d["cache"])
                    self.d["cache"] = self.start_cache(self.cache_db)
                    profile = self.profile_front()
                for n in list(self.d):
                    self.procs.stop(self.d[n])
                if not self.a.no_suggest:
                    self.suggestion()
        except _Done:
            pass
        except Exception as e:          # keep what was measured
            self.notes.append("the run stopped early: %s" % str(e)[:1500])
            log("ERROR: %s" % e)
        finally:
            self.procs.stop_all()
        if not self.targets and not self.a.only_suggest:
            self.judge()
        if self.sg is not None:
            self.sg.judge(self.targets)
        has_plot = self.plot(png)
        self.report(md, png, has_plot, profile, time.monotonic() - t0)
        with open(md[:-3] + ".json", "w") as f:
            json.dump({"stamp": self.stamp, "quick": self.quick,
                       "machine": self.machine(), "results": self.results,
                       "memory": self.mem, "extra": self.extra,
                       "cpu": self.cpu,
                       "targets": self.targets}, f, indent=1)
        if not self.a.keep:
            shutil.rmtree(self.work, ignore_errors=True)
        else:
            log("kept %s" % self.work)
        log("report: %s" % md)
        with open(md) as f:
            head = f.read().split("\n## Machine")[0]
        print(head)
        return 0


class _Done(Exception):
    """--only-suggest or --only-misses: that part alone has run."""


def fmt(v):
    return "-" if v is None else "%.3f" % v


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--out", default=os.path.join(TOP, "tests/bench/results"))
    ap.add_argument("--quick", action="store_true",
                    default=os.environ.get("QUICK") == "1")
    ap.add_argument("--scale-n", type=int, default=0)
    ap.add_argument("--no-scale", action="store_true")
    ap.add_argument("--no-profile", action="store_true")
    ap.add_argument("--no-suggest", action="store_true")
    ap.add_argument("--only-suggest", action="store_true",
                    default=os.environ.get("BENCH_ONLY") == "suggest")
    ap.add_argument("--suggest-n", type=int, default=0)
    ap.add_argument("--only-misses", action="store_true",
                    default=os.environ.get("BENCH_ONLY") == "misses",
                    help="the simulator's own burst and scenarios 3 and 4 "
                    "only")
    ap.add_argument("--rounds", type=int, default=0,
                    help="rounds of each 1,000-connection burst (default "
                    "%d)" % BURST_ROUNDS)
    ap.add_argument("--perf", metavar="DIR",
                    help="perf record -g the suite over the distinct misses "
                    "into DIR")
    ap.add_argument("--keep", action="store_true",
                    default=os.environ.get("BENCH_KEEP") == "1")
    args = ap.parse_args()
    b = Bench(args)

    def on_signal(sig, frame):
        raise KeyboardInterrupt()
    signal.signal(signal.SIGTERM, on_signal)
    try:
        return b.run()
    except KeyboardInterrupt:
        b.procs.stop_all()
        return 130


if __name__ == "__main__":
    sys.exit(main())
