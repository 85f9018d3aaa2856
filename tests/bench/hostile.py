"""What each attack of the hostile tests costs the whole suite, on two
builds back to back: `make bench-hostile BUILD=build BEFORE=../old/build`.

Each attack runs against a fresh suite (regsim, errdb, cache, query,
front) started by tests/integration/suite.py, from a process of its own
(WHOISD_BUILD names the build).  While it runs, the memory of every
daemon (master and children summed, Rss and Pss from smaps_rollup) is
sampled every 0.5 s, and the suite is asked, over whois and HTTP, about
names whose answer the simulator fixes (verify()).  Reported per attack
and build: peak memory per daemon, the checks answered right during and
after the attack, and the log lines each daemon wrote meanwhile.

    hostile.py --build build --before /path/to/old/build [--attacks 1,3]
    hostile.py --one 4 --json out.json    (one attack, WHOISD_BUILD set)

Writes tests/bench/results/YYYY-MM-DD-HHMM-hostile.{md,json}.
"""
import argparse
import datetime
import json
import os
import platform
import resource
import selectors
import socket
import subprocess
import sys
import tempfile
import threading
import time

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(TOP, "tests", "integration"))

DAEMONS = ("front", "query", "cache", "errdb", "regsim")
HOST = "127.0.0.1"
SAMPLE_EVERY = 0.5
CHECK_EVERY = 2.0

ATTACKS = {
    "1": "2,000 idle/slowloris HTTP clients (35 s)",
    "2": "2,000 HTTP slow readers (20 s)",
    "3": "1,100 idle sockets on the cache port, then front restart",
    "4": "unknown-version frames to the cache, never read (30 s)",
    "5": "16 KB deflated nil-array bombs, repeated (10 s)",
    "6": "garbage / 4 GB length / malformed frames (15 s)",
    "7": "forged put: available, checked far ahead",
}


def attacker_addrs(n, per):
    """Source addresses for n attacking sockets, per to an address: the
    attack comes from many hosts, so the front's per-address limit does
    not refuse it (and the checks, from 127.0.0.1, are not counted in)."""
    return ["127.0.1.%d" % (1 + i // per) for i in range(n)]


def raise_nofile(want):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(want, hard), hard))


# ---------------------------------------------------------------- memory

def smaps_kb(pid):
    """(Rss, Pss) of pid in kB, (0, 0) once it is gone."""
    rss = pss = 0
    try:
        with open("/proc/%d/smaps_rollup" % pid) as f:
            for line in f:
                if line.startswith("Rss:"):
                    rss = int(line.split()[1])
                elif line.startswith("Pss:"):
                    pss = int(line.split()[1])
    except OSError:
        pass
    return rss, pss


class Sampler(threading.Thread):
    """Every SAMPLE_EVERY s: each daemon's master plus children, summed.
    Keeps the first sample (idle) and the peak of each."""

    def __init__(self, suite):
        super().__init__(daemon=True)
        self.s = suite
        self.stop_ev = threading.Event()
        self.base = {}
        self.peak = {}
        self.samples = 0

    def sample(self):
        from conftest import live_children
        for name in DAEMONS:
            p = self.s.p.get(name)
            if p is None or not p.running():
                continue
            rss = pss = 0
            for pid in [p.pid] + live_children(p.pid):
                r, q = smaps_kb(pid)
                rss += r
                pss += q
            self.base.setdefault(name, (rss, pss))
            br, bp = self.peak.get(name, (0, 0))
            self.peak[name] = (max(br, rss), max(bp, pss))
        self.samples += 1

    def run(self):
        while not self.stop_ev.is_set():
            self.sample()
            self.stop_ev.wait(SAMPLE_EVERY)

    def finish(self):
        self.stop_ev.set()
        self.join(5)
        self.sample()

    def reset_hwm(self):
        """Peaks between samples: each child's VmHWM from here on
        (test_hostile_frames' helpers); a child that exits takes its
        own with it."""
        from conftest import live_children
        from test_hostile_frames import reset_peak
        for name in DAEMONS:
            p = self.s.p.get(name)
            for pid in live_children(p.pid) if p else []:
                try:
                    reset_peak(pid)
                except OSError:
                    pass

    def child_hwm(self):
        """The largest VmHWM (kB) of any live child, per daemon."""
        from conftest import live_children
        from test_hostile_frames import peak_rss
        out = {}
        for name in DAEMONS:
            p = self.s.p.get(name)
            for pid in live_children(p.pid) if p else []:
                try:
                    out[name] = max(out.get(name, 0), peak_rss(pid) // 1024)
                except (OSError, AssertionError):
                    pass
        return out


# ---------------------------------------------------------------- checks

class Verifier:
    """Names whose answer the simulator fixes (tests/regsim/regsim.conf
    and its default rule): two cached, two fresh ones per round."""

    CACHED = (("example.com", "registered"), ("free-name.com", "available"))

    def __init__(self, suite, tag):
        self.s = suite
        self.tag = tag
        self.n = 0

    def names(self):
        self.n += 1
        return list(self.CACHED) + [
            ("free-%s-%d.com" % (self.tag, self.n), "available"),
            ("taken-%s-%d.de" % (self.tag, self.n), "registered")]

    def once(self, timeout=10):
        """[] when every answer is right, else what went wrong."""
        bad = []
        names = self.names()
        for name, want in names[::2]:
            try:
                got = self.s.whois(name, timeout=timeout).get("status")
            except subprocess.TimeoutExpired:
                got = "no answer in %d s" % timeout
            if got != want:
                bad.append("whois %s: %s" % (name, got))
        try:
            code, body = self.s.http("/v1/check?" + "&".join(
                "domain=" + n for n, _ in names[1::2]), timeout=timeout)
            if code != 200:
                bad.append("http: %s %s" % (code, body[:80]))
            else:
                res = json.loads(body)["results"]
                for (name, want), r in zip(names[1::2], res):
                    if r.get("status") != want:
                        bad.append("http %s: %s" % (name, r.get("status")))
        except (subprocess.TimeoutExpired, ValueError) as e:
            bad.append("http: %s" % e)
        return bad


class Checking(threading.Thread):
    """verify() every CHECK_EVERY s until finish()."""

    def __init__(self, ver):
        super().__init__(daemon=True)
        self.ver = ver
        self.ok = 0
        self.bad = []
        self.stop_ev = threading.Event()
        # Held by an attack while it stops a daemon on purpose.
        self.lock = threading.Lock()

    def run(self):
        while not self.stop_ev.is_set():
            with self.lock:
                b = self.ver.once()
            if b:
                self.bad.append(b)
            else:
                self.ok += 1
            self.stop_ev.wait(CHECK_EVERY)

    def finish(self):
        self.stop_ev.set()
        self.join(60)


def log_lines(p):
    """Lines of p's log above info (the suite logs at info: a line per
    query would drown what an attack makes a daemon say)."""
    n = 0
    try:
        with open(p.log, "rb") as f:
            for line in f:
                if b" info: " not in line and b" debug: " not in line:
                    n += 1
    except OSError:
        pass
    return n


# ---------------------------------------------------------------- attacks

def a1_slowloris(s, chk, hold=35.0, n=2000):
    """Half connect and send nothing; half send a request line, then a
    header byte a second.  Held past http_idle_timeout (30 s)."""
    raise_nofile(n + 500)
    socks = []
    for i, src in enumerate(attacker_addrs(n, 250)):
        c = socket.socket()
        c.bind((src, 0))
        c.settimeout(5)
        c.connect((HOST, s.port["http"]))
        if i % 2:
            c.sendall(b"GET /v1/check?domain=example.com HTTP/1.1\r\n"
                      b"Host: x\r\nX-Pad: ")
        socks.append(c)
    t_end = time.monotonic() + hold
    cut = set()
    while time.monotonic() < t_end:
        for i in range(1, n, 2):
            if i in cut:
                continue
            try:
                socks[i].send(b"a")
            except OSError:
                cut.add(i)
        time.sleep(1)
    from test_front_limits import TCP_ESTABLISHED, tcp_state
    closed = sum(1 for c in socks if tcp_state(c) != TCP_ESTABLISHED)
    for c in socks:
        c.close()
    return "%d of %d closed by the front within %.0f s" % (closed, n, hold)


def a2_slow_readers(s, chk, hold=20.0, n=2000):
    """test_front_limits.test_slow_readers_bounded with the front's own
    defaults: each client pipelines ~1 MB worth of answers, never reads."""
    raise_nofile(n + 500)
    names = ["slow%02d.com" % i for i in range(100)]
    for _ in range(8):                  # warm: a memo hit in every child
        s.check(names)
    q = "&".join("domain=" + x for x in names)
    blob = ("GET /v1/check?%s HTTP/1.1\r\nHost: x\r\n\r\n" % q).encode() * 60
    sel = selectors.DefaultSelector()
    socks, left = [], {}
    for src in attacker_addrs(n, 250):
        c = socket.socket()
        c.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        c.bind((src, 0))
        c.connect((HOST, s.port["http"]))
        c.setblocking(False)
        socks.append(c)
        left[c] = memoryview(blob)
        sel.register(c, selectors.EVENT_WRITE)
    t_end = time.monotonic() + hold
    while time.monotonic() < t_end:
        for key, _ in sel.select(0.2):
            c = key.fileobj
            try:
                k = c.send(left[c])
            except BlockingIOError:
                continue
            except OSError:
                k = len(left[c])
            left[c] = left[c][k:]
            if not len(left[c]):
                sel.unregister(c)
                del left[c]
    from test_front_limits import TCP_ESTABLISHED, tcp_state
    closed = sum(1 for c in socks if tcp_state(c) != TCP_ESTABLISHED)
    for c in socks:
        c.close()
    sel.close()
    return "%d of %d closed by the front" % (closed, n)


def timed(what, fn, timeout):
    t0 = time.monotonic()
    try:
        fn()
        return "%s ok (%.1f s)" % (what, time.monotonic() - t0)
    except Exception as e:     # noqa: BLE001 (any failure is the figure)
        # Suite.ctl() fails with (args, stdout, stderr): stderr says why.
        why = e.args[0][-1] if e.args and isinstance(e.args[0], tuple) \
            else str(e)
        return "%s FAILED after %.1f s (%s)" % (
            what, time.monotonic() - t0, why.strip().splitlines()[0][:70])


def a3_idle_cache_sockets(s, chk, n=1100, hold=10.0):
    """test_hostile_links.test_idle_sockets_do_not_lock_out_a_client
    against the suite's cache at its defaults; meanwhile the front is
    restarted (its links made anew) and whoisctl asks the cache."""
    raise_nofile(n + 500)
    idle = []
    for _ in range(n):
        c = socket.socket()
        c.settimeout(5)
        c.connect((HOST, s.port["cache"]))
        idle.append(c)
    time.sleep(hold)
    out = []
    out.append(timed("whoisctl stats", lambda: s.ctl("stats", "cache"), 20))

    def restart():
        s.stop_one("front")
        s.start_one("front")
        bad = Verifier(s, "restart").once(timeout=15)
        assert not bad, bad[0]
    # The checks wait meanwhile: a stopped front is no finding.
    with chk.lock:
        out.append(timed("restarted front answers", restart, 40))
    for c in idle:
        c.close()
    return "; ".join(out)


def a4_unknown_version_flood(s, chk, seconds=30.0):
    """test_hostile_links.test_flood_without_reading (unknown version)
    for seconds: frames are sent as long as the cache takes them."""
    import frames as F
    c = F.Conn(s.port["cache"], timeout=5)
    assert c.call("ping")["t"] == "pong"
    chunk = F.frame(F.pack({"v": 99, "t": "ping", "id": 1})) * 10000
    sent = 0
    t0 = time.monotonic()
    how = "still open"
    while time.monotonic() - t0 < seconds:
        try:
            c.sock.sendall(chunk)
            sent += 10000
        except socket.timeout:
            how = "cache stopped reading"
            time.sleep(0.5)
        except OSError:
            how = "closed by the cache after %.1f s" % (time.monotonic() - t0)
            break
    c.close()
    return "%d frames sent, %s" % (sent, how)


def a5_nil_bomb(s, chk, seconds=10.0):
    """test_hostile_frames' hostile frames (16 KB deflated 16M-nil arrays
    and a zip bomb past max_frame) to the cache, query and errdb, one
    connection each, in rounds for seconds (one round at least)."""
    import frames as F
    from test_hostile_frames import hostile_frames
    frames = hostile_frames()
    replies = {}
    rounds = 0
    t0 = time.monotonic()
    while not rounds or time.monotonic() - t0 < seconds:
        rounds += 1
        for d in ("cache", "query", "errdb"):
            for name, data, _ in frames:
                c = F.Conn(s.port[d], timeout=30)
                try:
                    c.send_raw(data)
                    c.sock.shutdown(socket.SHUT_WR)
                    got = F.split_frames(c.read_to_eof(timeout=30))
                    r = got[-1].get("code", got[-1].get("t")) if got \
                        else "closed"
                except OSError as e:
                    r = type(e).__name__
                c.close()
                replies.setdefault(r, 0)
                replies[r] += 1
    return "%d frames; replies %s" % (
        rounds * 3 * len(frames),
        ", ".join("%s x%d" % kv for kv in sorted(replies.items())))


def a6_malformed(s, chk, seconds=15.0):
    """frames.malformed_inputs() to the cache, query and errdb, each on
    a connection of its own, all of a round at once, for seconds."""
    import frames as F
    inputs = F.malformed_inputs(16 * 1024 * 1024)
    t0 = time.monotonic()
    rounds = hung = 0
    while time.monotonic() - t0 < seconds:
        conns = []
        for d in ("cache", "query", "errdb"):
            for name, data, closes in inputs:
                try:
                    c = F.Conn(s.port[d], timeout=5)
                    c.send_raw(data)
                    if closes:
                        c.sock.shutdown(socket.SHUT_WR)
                    conns.append((c, closes))
                except OSError:
                    pass
        deadline = time.monotonic() + 5
        for c, closes in conns:
            if closes:
                c.sock.settimeout(max(0.1, deadline - time.monotonic()))
                try:
                    while c.sock.recv(65536):
                        pass
                except socket.timeout:
                    hung += 1
                except OSError:
                    pass
            c.close()
        rounds += 1
    return "%d rounds of %d inputs x 3 daemons; %d left open past 5 s" % (
        rounds, len(inputs), hung)


def forge_future_put(s, name, status="available"):
    """The forging step on its own: a local peer without the suite's keys
    puts an answer for name checked in the year 5138 straight into the
    cache.  The reply (or how the link ended) is returned; a hardened
    cache refuses it."""
    import frames as F
    try:
        with F.Conn(s.port["cache"], timeout=5, role=None) as c:
            r = F.put(c, F.answer(name, status, checked=99999999999.0))
            return r.get("code") or r.get("t")
    except (F.Closed, OSError) as e:
        return "link ended (%s)" % type(e).__name__


def a7_forged_put(s, chk):
    """A registered name, asked once (cached), then forged available; and
    a registered name never asked, forged first."""
    out = []
    for name, asked in (("forged-asked.com", True),
                        ("forged-fresh.com", False)):
        if asked:
            s.whois(name)
        r = forge_future_put(s, name)
        time.sleep(1.5)                 # past the front's memo_ttl
        st = s.whois(name, timeout=15).get("status")
        out.append("%s: put %s, whois says %s%s" % (
            name, r, st, "" if st == "registered" else " (WRONG)"))
    return "; ".join(out)


RUN = {"1": a1_slowloris, "2": a2_slow_readers, "3": a3_idle_cache_sockets,
       "4": a4_unknown_version_flood, "5": a5_nil_bomb, "6": a6_malformed,
       "7": a7_forged_put}


def run_one(attack):
    """One attack against a fresh suite of WHOISD_BUILD's binaries."""
    from conftest import BUILD, Procs, remove_tmp
    from suite import Suite
    tmp = tempfile.mkdtemp(prefix="whoisd-hostile-")
    procs = Procs(tmp)
    res = {"attack": attack, "build": BUILD}
    try:
        # The registries file of the build's own tree: its keys change
        # from one version to the next.
        regs = "--registries=" + os.path.join(os.path.dirname(BUILD), "etc",
                                              "registries.conf")
        s = Suite(procs, tmp, query=[regs], front=[regs]).start()
        ver = Verifier(s, "a%s" % attack)
        warm = ver.once()
        res["warm"] = warm
        time.sleep(1)
        samp = Sampler(s)
        samp.start()
        time.sleep(1)
        lines = {n: log_lines(s.p[n]) for n in DAEMONS}
        logs = {n: s.p[n] for n in DAEMONS}
        samp.reset_hwm()
        chk = Checking(ver)
        chk.start()
        t0 = time.monotonic()
        try:
            res["note"] = RUN[attack](s, chk)
        except Exception as e:     # noqa: BLE001
            res["note"] = "attack failed: %s: %s" % (type(e).__name__, e)
        res["seconds"] = round(time.monotonic() - t0, 1)
        chk.finish()
        time.sleep(2)
        res["child_hwm_kb"] = samp.child_hwm()
        after = ver.once(timeout=15)
        samp.finish()
        # The front may have been restarted: count from both its logs.
        res["log_lines"] = {}
        for n in DAEMONS:
            if s.p.get(n) is not None and s.p[n] is not logs[n]:
                res["log_lines"][n] = log_lines(logs[n]) - lines[n] + \
                    log_lines(s.p[n])
            else:
                res["log_lines"][n] = log_lines(logs[n]) - lines[n]
        res["during_ok"] = chk.ok
        res["during_total"] = chk.ok + len(chk.bad)
        res["during_bad"] = chk.bad[:3]
        res["after_bad"] = after
        res["alive"] = {n: bool(s.p.get(n) and s.p[n].running())
                        for n in DAEMONS}
        res["base_kb"] = samp.base
        res["peak_kb"] = samp.peak
        res["samples"] = samp.samples
    finally:
        procs.stop_all()
        res["log_tail"] = {}
        for p in procs.procs:
            res["log_tail"][os.path.basename(p.log)] = tail(p.log)
        remove_tmp(tmp)
    return res


def tail(path, n=4000):
    try:
        with open(path, "rb") as f:
            f.seek(0, 2)
            size = f.tell()
            f.seek(max(0, size - n))
            return f.read().decode("utf-8", "replace")
    except OSError:
        return ""


# ---------------------------------------------------------------- report

def mb(kb):
    return "%.0f" % (kb / 1024.0)


def row(label, r):
    if "peak_kb" not in r:
        return "| %s | %s | %s |" % (r["attack"], label,
                                     " | ".join(["-"] * 8))
    cells = []
    for n in DAEMONS[:4]:
        rss, pss = r["peak_kb"].get(n, (0, 0))
        cells.append("%s / %s" % (mb(rss), mb(pss)))
    during = "%d/%d" % (r["during_ok"], r["during_total"])
    after = "yes" if not r["after_bad"] else "NO: " + r["after_bad"][0]
    if not all(r["alive"].values()):
        after += " (down: %s)" % ",".join(
            n for n, up in r["alive"].items() if not up)
    lines = " ".join("%s %d" % (n, r["log_lines"][n])
                     for n in DAEMONS if r["log_lines"].get(n))
    return "| %s | %s | %s | %s | %s | %s | %s |" % (
        r["attack"], label, " | ".join(cells), during, after,
        lines or "0", r["note"].replace("|", "/"))


def report(results, builds, elapsed):
    out = ["# Hostile peers, before and after (%s)" %
           datetime.datetime.now().strftime("%Y-%m-%d %H:%M"), ""]
    out.append("Builds: " + ", ".join("%s = `%s` (%s)" % (k, v, rev(v))
                                       for k, v in builds))
    out.append("Machine: %s, %d cores, load before: %s; %.0f s in all." % (
        platform.node(), os.cpu_count() or 0, load(), elapsed))
    out.append("")
    out.append("Peak memory per daemon in MB, master and children summed "
               "(Rss / Pss from smaps_rollup, sampled every %.1f s).  "
               "Right answers: rounds of verify() (whois and HTTP, cached "
               "and fresh names) all right, while the attack ran.  After: "
               "one round 2 s after it ended.  Log lines: written during "
               "the attack, above info level." % SAMPLE_EVERY)
    out.append("")
    out.append("| attack | build | front | query | cache | errdb | "
               "right answers during | right after | log lines | what "
               "happened |")
    out.append("|---|---|---|---|---|---|---|---|---|---|")
    for a in sorted({r["attack"] for _, r in results}):
        for label, r in results:
            if r["attack"] == a:
                out.append(row(label, r))
    out.append("")
    out.append("Attacks:")
    for a in sorted({r["attack"] for _, r in results}):
        out.append("%s. %s" % (a, ATTACKS[a]))
    out.append("")
    out.append("Idle memory (first sample, MB Rss / Pss):")
    out.append("")
    out.append("| attack | build | " + " | ".join(DAEMONS) + " |")
    out.append("|---|---|" + "---|" * len(DAEMONS))
    for label, r in sorted(results, key=lambda x: x[1]["attack"]):
        if "base_kb" in r:
            out.append("| %s | %s | %s |" % (r["attack"], label, " | ".join(
                "%s / %s" % tuple(mb(x) for x in r["base_kb"].get(n, (0, 0)))
                for n in DAEMONS)))
    out.append("")
    out.append("Largest peak of one child (VmHWM, MB; children alive at "
               "the end of the attack):")
    out.append("")
    out.append("| attack | build | " + " | ".join(DAEMONS[:4]) + " |")
    out.append("|---|---|" + "---|" * 4)
    for label, r in sorted(results, key=lambda x: x[1]["attack"]):
        if "child_hwm_kb" in r:
            out.append("| %s | %s | %s |" % (r["attack"], label, " | ".join(
                mb(r["child_hwm_kb"].get(n, 0)) for n in DAEMONS[:4])))
    bad = [(label, r) for label, r in results
           if r.get("during_bad") or r.get("after_bad") or r.get("warm")]
    if bad:
        out.append("")
        out.append("Wrong or missing answers (first of each):")
        out.append("")
        for label, r in bad:
            out.append("- %s %s: during %s; after %s; before the attack %s"
                       % (r["attack"], label, r.get("during_bad", [])[:1],
                          r.get("after_bad"), r.get("warm")))
    return "\n".join(out) + "\n"


def rev(build):
    top = os.path.dirname(os.path.abspath(os.path.join(TOP, build)))
    try:
        return subprocess.run(["git", "-C", top, "rev-parse", "--short",
                               "HEAD"], capture_output=True, text=True,
                              timeout=10).stdout.strip() or "?"
    except OSError:
        return "?"


def load():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--before", default="")
    ap.add_argument("--attacks", default=",".join(sorted(ATTACKS)))
    ap.add_argument("--one")
    ap.add_argument("--json")
    args = ap.parse_args()
    if args.one:
        res = run_one(args.one)
        with open(args.json, "w") as f:
            json.dump(res, f)
        return 0
    builds = ([("before", args.before)] if args.before else []) + \
        [("after", args.build)]
    for _, b in builds:
        if not os.path.exists(os.path.join(TOP, b, "bin", "whoisd")):
            sys.exit("hostile: %s/bin/whoisd missing: build it first" % b)
    t0 = time.monotonic()
    results = []
    for a in args.attacks.split(","):
        # The builds alternate per attack: a neighbour's load hits both.
        for label, b in builds:
            fd, path = tempfile.mkstemp(suffix=".json")
            os.close(fd)
            env = dict(os.environ, WHOISD_BUILD=b)
            print("hostile: attack %s (%s) on %s" % (a, ATTACKS[a], label),
                  flush=True)
            subprocess.run([sys.executable, os.path.abspath(__file__),
                            "--one", a, "--json", path], env=env, cwd=TOP)
            try:
                with open(path) as f:
                    r = json.load(f)
            except ValueError:
                r = {"attack": a, "note": "no result"}
            os.unlink(path)
            results.append((label, r))
            if "peak_kb" in r:
                print(row(label, r), flush=True)
    md = report(results, builds, time.monotonic() - t0)
    stamp = datetime.datetime.now().strftime("%Y-%m-%d-%H%M")
    rdir = os.path.join(TOP, "tests", "bench", "results")
    os.makedirs(rdir, exist_ok=True)
    base = os.path.join(rdir, stamp + "-hostile")
    with open(base + ".md", "w") as f:
        f.write(md)
    with open(base + ".json", "w") as f:
        json.dump([{"label": label, **r} for label, r in results], f,
                  indent=1)
    print(md)
    print("hostile: wrote %s.md" % base)
    return 0


if __name__ == "__main__":
    sys.exit(main())
