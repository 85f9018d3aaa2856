"""A long mixed load with a reload every 20 s: `make bench-mixed`.

A suite started by tests/integration/suite.py is asked, from whois and
HTTP threads at once, about cached names (warmed first) and fresh ones
(new to it), every name one whose answer the simulator fixes (its default
rule: free-* is available, anything else registered).  Every 20 s the
next daemon's master (front, query, cache, errdb) gets SIGHUP.  Counted:
requests, errors (no answer, a connection error, HTTP 5xx or another
non-200), wrong answers (a status other than the simulator's), unknown
answers (apart, with their reasons), and each daemon's memory (master and
children, Rss/Pss) every 10 s.

    mixed.py --build build [--seconds 600] [--append results.md]

Writes tests/bench/results/YYYY-MM-DD-HHMM-mixed.{md,json}.
"""
import argparse
import datetime
import http.client
import json
import os
import random
import signal
import socket
import sys
import tempfile
import threading
import time

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(TOP, "tests", "integration"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

RELOADED = ("front", "query", "cache", "errdb")
MEM_EVERY = 10.0
CACHED = 200            # names warmed before the load
FRESH_SHARE = 0.3       # requests about a name the suite has not seen


def expected(name):
    """The simulator's default rule (tests/regsim/regsim.conf)."""
    return "available" if name.startswith(("free", "avail")) else \
        "registered"


class Tally:
    def __init__(self):
        self.lock = threading.Lock()
        self.n = {}
        self.first = {}         # kind -> the first few, with their time
        self.unknown_why = {}
        self.lat = {}
        self.t0 = time.monotonic()

    def add(self, kind, what=None, port="", lat=None):
        with self.lock:
            self.n[kind] = self.n.get(kind, 0) + 1
            if lat is not None:
                self.lat.setdefault(port, []).append(lat)
            if what is not None:
                lst = self.first.setdefault(kind, [])
                if len(lst) < 50:
                    lst.append("%.1f s %s %s" % (
                        time.monotonic() - self.t0, port, what))

    def unknown(self, why):
        with self.lock:
            self.n["unknown"] = self.n.get("unknown", 0) + 1
            self.unknown_why[why] = self.unknown_why.get(why, 0) + 1


class Names:
    def __init__(self, tag):
        self.cached = ["free-%s-c%03d.com" % (tag, i) if i % 2 else
                       "%s-c%03d.%s" % (tag, i, "de" if i % 4 == 0 else "com")
                       for i in range(CACHED)]
        self.k = 0
        self.lock = threading.Lock()
        self.tag = tag

    def fresh(self):
        with self.lock:
            self.k += 1
            k = self.k
        return ("free-%s-f%06d.com" % (self.tag, k) if k % 2 else
                "%s-f%06d.%s" % (self.tag, k, "de" if k % 4 == 0 else "com"))

    def pick(self, rnd):
        if rnd.random() < FRESH_SHARE:
            return self.fresh(), "fresh"
        return rnd.choice(self.cached), "cached"


def judge(tally, port, name, status, reason):
    if status is None:
        tally.add("error", "%s: no status" % name, port)
    elif status == "unknown":
        tally.unknown(reason or "?")
    elif status != expected(name):
        tally.add("wrong", "%s: %s (want %s)" % (name, status,
                                                  expected(name)), port)
    else:
        tally.add("right")


def whois_worker(s, names, tally, stop, seed):
    from conftest import read_all
    from suite import Answer
    rnd = random.Random(seed)
    while not stop.is_set():
        name, _ = names.pick(rnd)
        t0 = time.monotonic()
        try:
            a = Answer(read_all(s.port["whois"], name.encode() + b"\r\n",
                                timeout=15).decode("utf-8", "replace"))
        except OSError as e:
            tally.add("error", "%s: %s" % (name, e), "whois")
            continue
        tally.add("requests", port="whois", lat=time.monotonic() - t0)
        judge(tally, "whois", name, a.get("status"), a.get("reason"))
        time.sleep(0.01)


def http_worker(s, names, tally, stop, seed):
    """Keep-alive, as a real client would.  A reused connection the
    front closed before answering (a reload drains idle keep-alive
    connections) is asked again on a new one, and counted as retried."""
    rnd = random.Random(seed)
    conn = None
    while not stop.is_set():
        batch = [names.pick(rnd)[0] for _ in range(rnd.randint(1, 5))]
        path = "/v1/check?" + "&".join("domain=" + n for n in batch)
        t0 = time.monotonic()
        for attempt in (0, 1):
            reused = conn is not None
            if conn is None:
                conn = http.client.HTTPConnection("127.0.0.1",
                                                  s.port["http"], timeout=15)
            try:
                conn.request("GET", path)
                r = conn.getresponse()
                body = r.read()
                break
            except (http.client.RemoteDisconnected, ConnectionResetError,
                    BrokenPipeError) as e:
                conn.close()
                conn = None
                if reused and attempt == 0:
                    tally.add("retried", "%s: %s" % (batch[0], e), "http")
                    continue
                tally.add("error", "%s: %s" % (batch, e), "http")
                r = None
                break
            except (OSError, http.client.HTTPException) as e:
                conn.close()
                conn = None
                tally.add("error", "%s: %s" % (batch, e), "http")
                r = None
                break
        if r is None:
            continue
        tally.add("requests", port="http", lat=time.monotonic() - t0)
        if r.status != 200:
            tally.add("error", "%s: HTTP %d %s" % (batch, r.status,
                                                   body[:100]), "http")
            continue
        try:
            res = json.loads(body)["results"]
        except ValueError:
            tally.add("error", "%s: bad JSON %r" % (batch, body[:100]),
                      "http")
            continue
        if len(res) != len(batch):
            tally.add("error", "%s: %d results" % (batch, len(res)), "http")
            continue
        for n, x in zip(batch, res):
            judge(tally, "http", n, x.get("status"), x.get("reason"))
        time.sleep(0.01)


def mem(s):
    from conftest import live_children
    from hostile import smaps_kb
    out = {}
    for name in RELOADED + ("regsim",):
        p = s.p[name]
        rss = pss = 0
        for pid in [p.pid] + live_children(p.pid):
            r, q = smaps_kb(pid)
            rss += r
            pss += q
        out[name] = (rss, pss)
    return out


def warnings(p, start):
    """Lines of p's log from byte start on, above info level."""
    with open(p.log, "rb") as f:
        f.seek(start)
        return [ln.decode("utf-8", "replace").rstrip() for ln in f
                if b" info: " not in ln and b" debug: " not in ln]


def pct(v, q):
    v = sorted(v)
    return v[min(len(v) - 1, int(q * len(v)))] if v else 0


def run(args):
    from conftest import BUILD, Procs, remove_tmp
    from suite import Suite
    tmp = tempfile.mkdtemp(prefix="whoisd-mixed-")
    procs = Procs(tmp)
    tally = Tally()
    stop = threading.Event()
    res = {"build": BUILD, "seconds": args.seconds, "reloads": [],
           "mem": []}
    try:
        s = Suite(procs, tmp).start()
        names = Names("mix")
        for i in range(0, CACHED, 50):
            s.check(names.cached[i:i + 50])
        logpos = {n: os.path.getsize(s.p[n].log) for n in RELOADED}
        ts = [threading.Thread(target=whois_worker,
                               args=(s, names, tally, stop, i), daemon=True)
              for i in range(args.whois_threads)]
        ts += [threading.Thread(target=http_worker,
                                args=(s, names, tally, stop, 100 + i),
                                daemon=True)
               for i in range(args.http_threads)]
        tally.t0 = t0 = time.monotonic()
        for t in ts:
            t.start()
        next_hup = t0 + args.reload_every
        next_mem = t0
        k = 0
        while time.monotonic() < t0 + args.seconds:
            now = time.monotonic()
            if now >= next_mem:
                res["mem"].append((round(now - t0), mem(s)))
                next_mem += MEM_EVERY
            if now >= next_hup:
                name = RELOADED[k % len(RELOADED)]
                os.kill(s.p[name].pid, signal.SIGHUP)
                res["reloads"].append((round(now - t0, 1), name))
                k += 1
                next_hup += args.reload_every
            time.sleep(0.2)
        stop.set()
        for t in ts:
            t.join(30)
        res["mem"].append((round(time.monotonic() - t0), mem(s)))
        res["elapsed"] = round(time.monotonic() - t0, 1)
        res["alive"] = {n: s.p[n].running() for n in RELOADED}
        res["warnings"] = {n: warnings(s.p[n], logpos[n]) for n in RELOADED}
    finally:
        stop.set()
        procs.stop_all()
        remove_tmp(tmp)
    res["n"] = tally.n
    res["first"] = tally.first
    res["unknown_why"] = tally.unknown_why
    res["lat_ms"] = {p: {"p50": round(pct(v, 0.5) * 1000, 1),
                         "p99": round(pct(v, 0.99) * 1000, 1),
                         "max": round(max(v) * 1000, 1) if v else 0}
                     for p, v in tally.lat.items()}
    return res


def report(res, args):
    n = res["n"]
    out = ["## Mixed load with reloads (%s)" %
           datetime.datetime.now().strftime("%Y-%m-%d %H:%M"), ""]
    out.append("Build `%s`; %.0f s, %d whois and %d HTTP threads, %d%% of "
               "names fresh; SIGHUP every %.0f s to front, query, cache, "
               "errdb in turn (%d reloads)." % (
                   res["build"], res["elapsed"], args.whois_threads,
                   args.http_threads, FRESH_SHARE * 100, args.reload_every,
                   len(res["reloads"])))
    out.append("")
    out.append("| requests | names judged | right | wrong | unknown | "
               "errors | HTTP retried on a closed keep-alive |")
    out.append("|---|---|---|---|---|---|---|")
    judged = n.get("right", 0) + n.get("wrong", 0) + n.get("unknown", 0)
    out.append("| %d | %d | %d | %d | %d | %d | %d |" % (
        n.get("requests", 0), judged, n.get("right", 0), n.get("wrong", 0),
        n.get("unknown", 0), n.get("error", 0), n.get("retried", 0)))
    out.append("")
    out.append("Latency (ms): " + "; ".join(
        "%s p50 %s, p99 %s, max %s" % (p, v["p50"], v["p99"], v["max"])
        for p, v in sorted(res["lat_ms"].items())))
    if res["unknown_why"]:
        out.append("")
        out.append("Unknown answers by reason: " + "; ".join(
            "%s x%d" % kv for kv in sorted(res["unknown_why"].items())))
    out.append("")
    out.append("Reloads at (s): " + ", ".join(
        "%s %s" % (t, n) for t, n in res["reloads"]))
    for kind in ("wrong", "error", "retried"):
        if res["first"].get(kind):
            out.append("")
            out.append("First %s (time into the load):" % kind)
            out.append("")
            out.extend("- " + x for x in res["first"][kind][:10])
    out.append("")
    out.append("Memory, MB Rss / Pss (master and children; sampled every "
               "%.0f s):" % MEM_EVERY)
    out.append("")
    out.append("| daemon | first | last | max |")
    out.append("|---|---|---|---|")
    for name in RELOADED + ("regsim",):
        v = [m[name] for _, m in res["mem"]]
        f = lambda x: "%.0f / %.0f" % (x[0] / 1024.0, x[1] / 1024.0)
        out.append("| %s | %s | %s | %s |" % (
            name, f(v[0]), f(v[-1]),
            f((max(x[0] for x in v), max(x[1] for x in v)))))
    out.append("")
    w = {k: v for k, v in res["warnings"].items() if v}
    out.append("Log lines above info during the load: " + (", ".join(
        "%s %d" % (k, len(v)) for k, v in w.items()) or "none") + ".")
    for k, v in w.items():
        kinds = {}
        for line in v:
            msg = line.split(": ", 1)[-1]
            msg = msg.split(" (pid")[0][:70]
            kinds[msg] = kinds.get(msg, 0) + 1
        out.append("- %s: %s" % (k, "; ".join(
            "%s x%d" % kv for kv in sorted(kinds.items(),
                                            key=lambda kv: -kv[1])[:6])))
    down = [k for k, up in res["alive"].items() if not up]
    if down:
        out.append("")
        out.append("Not running at the end: " + ", ".join(down))
    return "\n".join(out) + "\n"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--seconds", type=float, default=600)
    ap.add_argument("--reload-every", type=float, default=20)
    ap.add_argument("--whois-threads", type=int, default=4)
    ap.add_argument("--http-threads", type=int, default=4)
    ap.add_argument("--append", help="append the report to this file too")
    args = ap.parse_args()
    # conftest takes the build from the environment when imported.
    os.environ["WHOISD_BUILD"] = args.build
    res = run(args)
    md = report(res, args)
    stamp = datetime.datetime.now().strftime("%Y-%m-%d-%H%M")
    base = os.path.join(TOP, "tests", "bench", "results", stamp + "-mixed")
    with open(base + ".md", "w") as f:
        f.write(md)
    with open(base + ".json", "w") as f:
        json.dump(res, f, indent=1)
    if args.append:
        with open(args.append, "a") as f:
            f.write("\n" + md)
    print(md)
    print("mixed: wrote %s.md" % base)
    n = res["n"]
    return 1 if n.get("wrong") or n.get("error") else 0


if __name__ == "__main__":
    sys.exit(main())
