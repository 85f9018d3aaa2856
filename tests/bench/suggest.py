"""The bench's suggestion scenario (docs/performance.md, "Fresh names:
the suggestion scenario"): a name-suggestion frontend checks N fresh
names over five TLDs while an interactive client asks one fresh name a
second, with the DNS pre-check on (NSD from Debian, zones built from
the simulator's rule) and off, back to back in one run.

The registries are paced at their etc/registries.conf budgets (no
registry_rate_override) and the simulator enforces the same budget per
registry (--ratelimit), with 150-300 ms of latency.  The flood is sent as
a client can today: one whois connection per name, SUGGEST_CONC at once
from 127.0.0.1; a name answered `unknown` (rate-budget, back-off, ...) is
asked again after its retry-after, as a frontend would.  The interactive
client asks /v1/check with one free name a second from 127.0.0.2.

    s = Suggest(bench, n=1000)
    s.run()           # adds RESULT-like dicts, targets and report lines
"""
import asyncio
import http.client
import json
import os
import random
import re
import socket
import struct
import sys
import threading
import time

from conftest import TOP, free_port
from nsd_helper import NSD, Nsd, make_query, parse_reply

TLDS = ("com", "org", "de", "io", "uk")
SIM_LATENCY = (150, 300)        # ms, uniform per query
SUGGEST_CONC = 256              # flood whois connections in flight
SHARE = (0.70, 0.05)            # delegated, registered without delegation
B_SOURCE = "127.0.0.2"
# With dns_override every TLD shares one pre-check bucket, where real
# TLDs have one each; the default 50/s would send most of a burst to the
# registry (docs/performance.md).
DNS_RATE = 1000
DEFINITE = ("registered", "available", "reserved")
# Delegated names asked once each, before the DNS-on flood, by the C load
# generator: the suite's own latency for a name the DNS answers, next to
# NSD asked directly for the same names at the same concurrency.  The
# flood's Python client costs ~20 ms p50 at 256 connections even against
# the bench's limit server, so its figures say more of the client.
PROBE_N = 500


def log(msg):
    print("bench: " + msg, flush=True)


def registry_budgets(path, tlds):
    """{tld: (registry, queries a second)} from a registries file; a
    block without `rate` gets the cautious default of 1/s."""
    per = {"s": 1.0, "min": 60.0, "h": 3600.0, "day": 86400.0}
    blocks, cur = {}, None
    with open(path) as f:
        for line in f:
            w = line.split("#")[0].split()
            if not w:
                continue
            if w[0] == "registry":
                cur = blocks.setdefault(w[1], {"tld": [], "rate": 1.0})
            elif cur is not None and w[0] == "tld":
                cur["tld"] += w[1:]
            elif cur is not None and w[0] == "rate":
                m = re.match(r"([0-9.]+)/(s|min|h|day)$", w[1])
                cur["rate"] = float(m.group(1)) / per[m.group(2)]
    out = {}
    for t in tlds:
        for name, b in blocks.items():
            if t in b["tld"]:
                out[t] = (name, b["rate"])
    return out


def pct(xs, p):
    """Nearest-rank percentile, as whoisd-loadgen reports them."""
    if not xs:
        return None
    xs = sorted(xs)
    k = max(0, min(len(xs) - 1, int(-(-p * len(xs) // 100)) - 1))
    return xs[k]


def head(text):
    """The whois answer's head, key -> value."""
    out = {}
    for line in text.split("\n\n", 1)[0].splitlines():
        k, sep, v = line.partition(": ")
        if sep and k not in out:
            out[k] = v.strip()
    return out


class BenchProcs:
    """nsd_helper.Nsd's view of the bench's process table."""

    def __init__(self, procs):
        self.procs = procs

    def start(self, argv, name):
        p = self.procs.start(name, argv)
        p.running = lambda: p.poll() is None
        p.logtext = lambda: open(p.logpath, "rb").read().decode(
            "utf-8", "replace")
        p.stop = lambda: self.procs.stop(p)
        return p


class StatsNsd(Nsd):
    """NSD that logs its counters every second (XSTATS RQ=, cumulative):
    the DNS queries a phase spent, counted at the server."""

    def write(self):
        super().write()
        with open(self.conf) as f:
            text = f.read()
        with open(self.conf, "w") as f:
            f.write(text.replace("  verbosity: 1\n",
                                 "  verbosity: 1\n  statistics: 1\n", 1))

    def queries(self):
        """(queries, of them over TCP) at the last statistics line."""
        last = None
        for line in self.p.logtext().splitlines():
            if "XSTATS" in line:
                last = line
        if last is None:
            return 0, 0
        kv = dict(x.split("=", 1) for x in last.split() if "=" in x)
        return int(kv.get("RQ", 0)), int(kv.get("RTCP", 0))


class Suggest:
    def __init__(self, bench, n):
        self.b = bench
        self.n = n
        self.rng = random.Random(13)
        self.tag = bench.runid
        self.budget = registry_budgets(
            os.path.join(TOP, "etc", "registries.conf"), TLDS)
        self.phases = {}
        self.lines = []             # the report's section

    # ---- names

    def counts(self):
        """Names per TLD, in proportion to its registry's budget, so every
        registry's share of the work takes the same time at its budget
        and the run's bound is the whole budget, not one registry's."""
        tot = sum(self.budget[t][1] for t in TLDS)
        raw = {t: self.n * self.budget[t][1] / tot for t in TLDS}
        out = {t: int(raw[t]) for t in TLDS}
        for t in sorted(TLDS, key=lambda t: raw[t] - out[t],
                        reverse=True)[:self.n - sum(out.values())]:
            out[t] += 1
        return out

    def make_names(self, phase):
        """[(name, tld, kind)] of a phase, shuffled as a suggestion list
        comes (TLDs and kinds interleaved); kind is delegated, held
        (registered at the registry, not in the zone) or free."""
        out = []
        p = "sg%s%s" % (self.tag, phase)
        for t, n in self.counts().items():
            nd = int(round(n * SHARE[0]))
            nh = int(round(n * SHARE[1]))
            for i in range(n):
                if i < nd:
                    out.append(("%s-d%05d.%s" % (p, i, t), t, "delegated"))
                elif i < nd + nh:
                    out.append(("%s-h%05d.%s" % (p, i, t), t, "held"))
                else:
                    out.append(("free-%s-%05d.%s" % (p, i, t), t, "free"))
        self.rng.shuffle(out)
        return out

    # ---- processes

    def start(self):
        b = self.b
        self.port = {n: free_port() for n in
                     ("regsim", "errdb", "cache", "query", "whois", "http")}
        a = lambda n: "127.0.0.1:%d" % self.port[n]
        binp = lambda n: os.path.join(b.bin, n)
        self.a = a
        self.work = os.path.join(b.work, "suggest")
        os.makedirs(os.path.join(self.work, "spool"), exist_ok=True)
        self.names = {ph: self.make_names(ph) for ph in ("on", "off")}
        self.probe = ["sg%sp-d%05d.%s" % (self.tag, i, TLDS[i % len(TLDS)])
                      for i in range(PROBE_N)]
        zones = {t: {} for t in TLDS}
        for ph in self.names.values():
            for name, t, kind in ph:
                if kind == "delegated":
                    zones[t][name] = ["ns1.dns-host.net", "ns2.dns-host.org"]
        for name in self.probe:
            zones[name.rsplit(".", 1)[1]][name] = ["ns1.dns-host.net",
                                                   "ns2.dns-host.org"]
        self.nsd = StatsNsd(BenchProcs(b.procs), self.work, zones).start()
        rl = ["--ratelimit=%s:%g/s" % (t, self.budget[t][1]) for t in TLDS]
        self.d = {}
        self.d["regsim"] = b.start_daemon("sg-regsim", [
            binp("whoisd-regsim"), "--listen=" + a("regsim"), "--data=none",
            "--latency=uniform:%d:%d" % SIM_LATENCY, "--seed=13",
            "--log-level=1"] + rl, self.port["regsim"])
        self.d["errdb"] = b.start_daemon("sg-errdb", [
            binp("whoisd-errdb"), "-f", "/dev/null", "--listen=" + a("errdb"),
            "--db_path=" + os.path.join(self.work, "errdb.db")],
            self.port["errdb"])
        self.d["cache"] = b.start_daemon("sg-cache", [
            binp("whoisd-cache"), "-f", "/dev/null", "--listen=" + a("cache"),
            "--db_path=" + os.path.join(self.work, "cache.db")],
            self.port["cache"])
        self.d["front"] = b.start_daemon("sg-front", [
            binp("whoisd"), "-f", "/dev/null", "--listen=" + a("whois"),
            "--http_listen=" + a("http"), "--cache_addr=" + a("cache"),
            "--query_addr=" + a("query"),
            "--registries=etc/registries.conf"], self.port["whois"])

    def start_query(self, dns):
        """whoisd-query at its defaults, the budgets of
        etc/registries.conf; with dns, every pre-check goes to NSD."""
        a = self.a
        argv = [os.path.join(self.b.bin, "whoisd-query"), "-f", "/dev/null",
                "--listen=" + a("query"), "--cache_addr=" + a("cache"),
                "--errdb_addr=" + a("errdb"),
                "--registry_override=" + a("regsim"),
                "--registries=etc/registries.conf",
                "--spool_dir=" + os.path.join(self.work, "spool"),
                "--log_level=%d" % int(os.environ.get("SUGGEST_LOG", "2"))]
        if dns:
            argv += ["--dns_override=127.0.0.1:%d" % self.nsd.port,
                     "--dns_rate=%d" % DNS_RATE]
        return self.b.start_daemon("sg-query-" + ("on" if dns else "off"),
                                   argv, self.port["query"])

    def sim(self, line):
        s = socket.create_connection(("127.0.0.1", self.port["regsim"]),
                                     timeout=5)
        try:
            s.sendall(line.encode() + b"\r\n")
            buf = b""
            while True:
                x = s.recv(65536)
                if not x:
                    break
                buf += x
        finally:
            s.close()
        return json.loads(buf)

    # ---- clients

    async def whois(self, name):
        r, w = await asyncio.open_connection("127.0.0.1", self.port["whois"])
        try:
            w.write(name.encode() + b"\r\n")
            data = await r.read()
        finally:
            w.close()
        return data.decode("utf-8", "replace")

    async def flood(self, names, give_up):
        """Every name until a definitive answer (or give_up seconds):
        {name: record}; and the interactive client's answers."""
        sem = asyncio.Semaphore(SUGGEST_CONC)
        t0 = time.monotonic()
        rec = {}
        done = asyncio.Event()
        left = [len(names)]

        async def one(name):
            r = rec[name] = {"asks": 0, "unknown": {}, "first_ms": None}
            while time.monotonic() - t0 < give_up:
                async with sem:
                    s = time.monotonic()
                    try:
                        h = head(await self.whois(name))
                    except OSError as e:
                        h = {"status": "unknown", "reason": "client: %s" % e}
                    e = time.monotonic()
                r["asks"] += 1
                if r["first_ms"] is None:
                    r["first_ms"] = (e - s) * 1000
                if h.get("status") in DEFINITE:
                    r.update(status=h["status"], channel=h.get("channel"),
                             at=e - t0, last_ms=(e - s) * 1000)
                    break
                why = h.get("reason", "?").split(";")[0]
                r["unknown"][why] = r["unknown"].get(why, 0) + 1
                wait = float(h.get("retry-after", 1))
                await asyncio.sleep(max(0.05, min(wait,
                                                  give_up - (e - t0))))
            left[0] -= 1
            if left[0] == 0:
                done.set()

        # The interactive client runs in a process of its own, as a person
        # at a browser would: on this loop it would wait behind the
        # flood's 256 connections, and the wait would count as ours.
        bp = await asyncio.create_subprocess_exec(
            sys.executable, os.path.abspath(__file__), "--interactive",
            str(self.port["http"]), B_SOURCE, self.phase_tag, repr(t0),
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            env=dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path)))

        async def interactive():
            await done.wait()
            bp.stdin.close()
            out = await bp.stdout.read()
            await bp.wait()
            return [json.loads(x) for x in out.decode().splitlines() if x]

        bt = asyncio.ensure_future(interactive())
        await asyncio.gather(*(one(n) for n, _, _ in names))
        secs = time.monotonic() - t0
        done.set()
        b_out = await bt
        return rec, b_out, secs

    # ---- the DNS server alone

    def nsd_direct(self, names, window):
        """Per-query seconds of NSD asked directly, the same NS question
        for the same names, `window` in flight."""
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        s.settimeout(2.0)
        addr = ("127.0.0.1", self.nsd.port)
        sent, lat, i, lost = {}, [], 0, 0
        while i < len(names) or sent:
            while i < len(names) and len(sent) < window:
                qid = i & 0xffff
                sent[qid] = time.monotonic()
                s.sendto(make_query(names[i], qid=qid), addr)
                i += 1
            try:
                buf, _ = s.recvfrom(65535)
            except socket.timeout:
                lost += len(sent)
                sent.clear()
                continue
            now = time.monotonic()
            r = parse_reply(buf)
            if r["id"] in sent:
                lat.append(now - sent.pop(r["id"]))
        s.close()
        return lat, lost

    # ---- one phase

    def phase(self, ph, dns):
        b = self.b
        names = self.names[ph]
        self.phase_tag = self.tag + ph
        q = self.start_query(dns)
        time.sleep(1.0)
        if dns:
            self.probe_res = b.run_load(
                "suggest-dlg-suite", self.port["whois"], SUGGEST_CONC,
                names=b.names_file("sg-probe", self.probe),
                count=len(self.probe), expect="channel: dns",
                timeout_ms=30000)
        self.sim("#reset")
        time.sleep(1.2)
        dq0 = self.nsd.queries()
        flood_names = {n for n, _, _ in names}
        undeleg = sum(1 for _, _, k in names if k != "delegated")
        need = {t: sum(1 for _, tt, k in names if tt == t and
                       (k != "delegated" or not dns)) for t in TLDS}
        bound0 = max(need[t] / self.budget[t][1] for t in TLDS)
        give_up = max(3 * bound0, bound0 + 60)
        log("suggestion, DNS %s: %d names (%d to the registry), "
               "bound %.0f s" % ("on" if dns else "off", len(names),
                                 undeleg if dns else len(names), bound0))
        rec, b_out, secs = asyncio.run(self.flood(names, give_up))
        time.sleep(1.5)             # one more statistics line from NSD
        dq1 = self.nsd.queries()
        st = self.sim("#stats")
        b.procs.stop(q)
        # What each registry had to carry: the flood's names it was asked
        # for, and the interactive client's names asked during the flood.
        b_at = {t: sum(1 for x in b_out if x["tld"] == t and
                       x["at"] < secs) for t in TLDS}
        bound = max((need[t] + b_at[t]) / self.budget[t][1] for t in TLDS)
        definite = [r for r in rec.values() if "status" in r]
        last = max((r["at"] for r in definite), default=None)
        per_dom = st.get("per_domain", {})
        flood_q = sum(v for k, v in per_dom.items() if k in flood_names)
        kinds = {n: k for n, _, k in names}
        wrong = [n for n, r in rec.items() if "status" in r and
                 r["status"] != ("available" if kinds[n] == "free"
                                 else "registered")]
        dlg = [rec[n] for n, _, k in names if k == "delegated"]
        dlg_first = [r["first_ms"] for r in dlg
                     if r.get("channel") == "dns" and r["asks"] == 1]
        dlg_at = [r["at"] * 1000 for r in dlg if "at" in r]
        dlg_whois = [n for n, _, k in names if k == "delegated" and
                     rec[n].get("channel") not in (None, "dns")]
        unknowns = {}
        for r in rec.values():
            for k, v in r["unknown"].items():
                unknowns[k] = unknowns.get(k, 0) + v
        chans = {}
        for r in definite:
            chans[r["channel"]] = chans.get(r["channel"], 0) + 1
        bl = [x["secs"] * 1000 for x in b_out]
        b_bad = [x for x in b_out if x["status"] not in DEFINITE]
        res = {
            "model": "suggest-dns-" + ("on" if dns else "off"),
            "names": len(names), "undelegated": undeleg,
            "registry_names": undeleg if dns else len(names),
            "definite": len(definite), "wrong": len(wrong),
            "secs_last": last, "secs_run": secs,
            "bound_s": bound, "bound_flood_only_s": bound0,
            "b_names_per_tld": b_at,
            "registry_queries_total": st.get("total", 0),
            "registry_queries_flood": flood_q,
            "registry_throttled": st.get("per_outcome", {}).get(
                "throttled", 0),
            "registry_per_tld": st.get("per_tld", {}),
            "dns_queries": dq1[0] - dq0[0], "dns_tcp": dq1[1] - dq0[1],
            "channels": chans, "asks": sum(r["asks"] for r in
                                           rec.values()),
            "unknown_answers": unknowns,
            "dlg_first_p50_ms": pct(dlg_first, 50),
            "dlg_first_p99_ms": pct(dlg_first, 99),
            "dlg_first_n": len(dlg_first),
            "dlg_via_registry": len(dlg_whois),
            "dlg_via_registry_some": dlg_whois[:5],
            "dlg_verdict_p50_ms": pct(dlg_at, 50),
            "dlg_verdict_p99_ms": pct(dlg_at, 99),
            "b_n": len(bl), "b_p50_ms": pct(bl, 50), "b_p99_ms": pct(bl, 99),
            "b_max_ms": max(bl) if bl else None,
            "b_not_definite": len(b_bad),
            "b_by_tld_p99_ms": {t: pct([x["secs"] * 1000 for x in b_out
                                        if x["tld"] == t], 99)
                                for t in TLDS},
            "conc": SUGGEST_CONC, "dns": dns}
        if wrong:
            b.notes.append("suggestion, DNS %s: %d wrong verdicts, e.g. %s"
                           % ("on" if dns else "off", len(wrong),
                              wrong[:3]))
        if b_bad:
            b.notes.append("suggestion, DNS %s: %d of the interactive "
                           "client's answers were not definitive, e.g. %s"
                           % ("on" if dns else "off", len(b_bad),
                              b_bad[:2]))
        b.results.append(res)
        self.phases[ph] = res
        log("suggestion, DNS %s: last verdict %.1f s (bound %.1f s), "
               "registry queries %d (flood %d), DNS queries %d, delegated "
               "p99 %s ms, interactive p99 %s ms" % (
                   "on" if dns else "off", last or -1, bound,
                   res["registry_queries_total"], flood_q,
                   res["dns_queries"], fmt(res["dlg_first_p99_ms"]),
                   fmt(res["b_p99_ms"])))
        return res

    def run(self):
        self.start()
        self.phase("on", True)
        self.phase("off", False)
        dlg = [n for n, _, k in self.names["on"] if k == "delegated"]
        seq, lost1 = self.nsd_direct(dlg, 1)
        win, lost2 = self.nsd_direct(dlg, SUGGEST_CONC)
        d = {"model": "suggest-nsd-direct", "names": len(dlg),
             "seq_p50_ms": pct(seq, 50) * 1000,
             "seq_p99_ms": pct(seq, 99) * 1000,
             "win_p50_ms": pct(win, 50) * 1000,
             "win_p99_ms": pct(win, 99) * 1000,
             "window": SUGGEST_CONC, "lost": lost1 + lost2}
        pwin, lost3 = self.nsd_direct(self.probe, SUGGEST_CONC)
        d.update(probe_p50_ms=pct(pwin, 50) * 1000,
                 probe_p99_ms=pct(pwin, 99) * 1000, probe_lost=lost3)
        # The same names, answered by limitd from memory: the floor of
        # a whois answer at this concurrency on this machine.
        self.limit_res = self.b.limit_load(
            "suggest-dlg-limit", self.b.names_file("sg-probe", self.probe),
            SUGGEST_CONC, len(self.probe))
        self.b.results.append(d)
        self.direct = d
        log("suggestion: NSD alone p99 %.3f ms (1 in flight), "
                    "%.3f ms (%d in flight)" % (d["seq_p99_ms"],
                                                d["win_p99_ms"],
                                                SUGGEST_CONC))
        for p in self.d.values():
            self.b.procs.stop(p)
        self.nsd.stop()

    # ---- verdicts and report

    def judge(self, T):
        on, off = self.phases.get("on"), self.phases.get("off")
        d = getattr(self, "direct", None)
        if not on:
            T.append(("suggestion", "run", "not run", "N/A"))
            return
        T.append(("suggestion, DNS on: registry queries",
                  "<= undelegated names (%d)" % on["undelegated"],
                  "%d (of %d in all with the interactive client's; "
                  "%d throttled)" % (on["registry_queries_flood"],
                                     on["registry_queries_total"],
                                     on["registry_throttled"]),
                  "PASS" if on["registry_queries_flood"] <=
                  on["undelegated"] and on["definite"] == on["names"]
                  else "MISS"))
        pr = getattr(self, "probe_res", None)
        lr = getattr(self, "limit_res", None)
        if d and pr:
            lim = d["probe_p99_ms"] + 5
            T.append(("suggestion, DNS on: delegated names' p99",
                      "<= NSD's own p99 + 5 ms",
                      "%.1f ms (p50 %.1f; %d names asked once each by "
                      "whoisd-loadgen, %d at once, %d errors; NSD asked "
                      "directly, same names, %d in flight: p99 %.1f ms). "
                      "In the flood, through its Python client: p99 %s ms. "
                      "limitd (a whois server answering from memory), "
                      "same names, %d at once: p99 %s ms"
                      % (pr["p99_ms"], pr["p50_ms"], len(self.probe),
                         SUGGEST_CONC, pr["errors"], d["window"],
                         d["probe_p99_ms"], fmt(on["dlg_first_p99_ms"]),
                         SUGGEST_CONC, fmt(lr and lr.get("p99_ms"))),
                      "PASS" if pr["p99_ms"] <= lim and pr["errors"] == 0
                      else "MISS"))
        for ph in (on, off):
            if not ph:
                continue
            what = "undelegated" if ph["dns"] else "all"
            ok = ph["secs_last"] is not None and \
                ph["definite"] == ph["names"] and \
                ph["secs_last"] <= 1.1 * ph["bound_s"]
            T.append(("suggestion, DNS %s: last definitive answer" %
                      ("on" if ph["dns"] else "off"),
                      "<= 1.1x the budget bound (%s names / budget)" % what,
                      "%s s = %sx of %.1f s (%d of %d definitive)" % (
                          fmt1(ph["secs_last"]),
                          "%.2f" % (ph["secs_last"] / ph["bound_s"])
                          if ph["secs_last"] else "-", ph["bound_s"],
                          ph["definite"], ph["names"]),
                      "PASS" if ok else "MISS"))
        slow = min(self.budget[t][1] for t in TLDS)
        lim = (1.02 / slow + SIM_LATENCY[1] / 1000.0 + 0.050) * 1000
        for ph in (on, off):
            if not ph or ph["b_p99_ms"] is None:
                continue
            T.append(("suggestion, DNS %s: interactive client's p99" %
                      ("on" if ph["dns"] else "off"),
                      "<= 1 token interval + registry latency + 50 ms "
                      "(%.0f ms)" % lim,
                      "%.0f ms (p50 %.0f, max %.0f, %d names, %d not "
                      "definitive)" % (ph["b_p99_ms"], ph["b_p50_ms"],
                                       ph["b_max_ms"], ph["b_n"],
                                       ph["b_not_definite"]),
                      "PASS" if ph["b_p99_ms"] <= lim and
                      not ph["b_not_definite"] else "MISS"))

    def report(self, w):
        on, off = self.phases.get("on"), self.phases.get("off")
        if not on:
            return
        w("## Fresh names: the suggestion scenario")
        w("")
        c = self.counts()
        w("%d fresh names a phase over %s (per TLD in proportion to its "
          "registry's budget: %s), %d%% delegated in NSD's zones, %d%% "
          "registered without delegation, the rest free; whois, %d "
          "connections at once from one address, every `unknown` asked "
          "again after its retry-after; an interactive client asks "
          "/v1/check with one free name a second (the TLDs in turn) from "
          "another address.  Simulator latency uniform %d-%d ms, its "
          "per-registry rate limit at the budget.  DNS on, then off, "
          "back to back." % (
              self.n, ", ".join(TLDS), ", ".join(
                  "%s %d (%s %g/s)" % (t, c[t], self.budget[t][0],
                                       self.budget[t][1]) for t in TLDS),
              SHARE[0] * 100, SHARE[1] * 100, SUGGEST_CONC,
              SIM_LATENCY[0], SIM_LATENCY[1]))
        w("")
        w("| | DNS on | DNS off |")
        w("|---|---|---|")
        rows = (
            ("names to the registry", lambda p: "%d" % p["registry_names"]),
            ("budget bound, s (with the interactive client's names)",
             lambda p: "%.1f" % p["bound_s"]),
            ("last definitive answer, s", lambda p: fmt1(p["secs_last"])),
            ("x bound", lambda p: "%.2f" % (p["secs_last"] / p["bound_s"])
             if p["secs_last"] else "-"),
            ("definitive / names", lambda p: "%d / %d" % (p["definite"],
                                                          p["names"])),
            ("registry queries: flood / all / throttled",
             lambda p: "%d / %d / %d" % (p["registry_queries_flood"],
                                         p["registry_queries_total"],
                                         p["registry_throttled"])),
            ("DNS queries at NSD (TCP)",
             lambda p: "%d (%d)" % (p["dns_queries"], p["dns_tcp"])),
            ("verdicts by channel", lambda p: ", ".join(
                "%s %d" % kv for kv in sorted(p["channels"].items()))),
            ("whois asks (first + again)", lambda p: "%d" % p["asks"]),
            ("unknown answers, by reason", lambda p: ", ".join(
                "%s %d" % kv for kv in sorted(p["unknown_answers"].items()))
             or "0"),
            ("delegated, first ask p50 / p99 ms (answered by DNS)",
             lambda p: "%s / %s (%d)" % (fmt(p["dlg_first_p50_ms"]),
                                         fmt(p["dlg_first_p99_ms"]),
                                         p["dlg_first_n"])
             if p["dlg_first_n"] else "-"),
            ("delegated, verdict after the flood's start p50 / p99 s",
             lambda p: "%s / %s" % (
                 fmt1(p["dlg_verdict_p50_ms"] and
                      p["dlg_verdict_p50_ms"] / 1000),
                 fmt1(p["dlg_verdict_p99_ms"] and
                      p["dlg_verdict_p99_ms"] / 1000))),
            ("interactive p50 / p99 / max ms (names)",
             lambda p: "%s / %s / %s (%d)" % (
                 fmt0(p["b_p50_ms"]), fmt0(p["b_p99_ms"]),
                 fmt0(p["b_max_ms"]), p["b_n"])),
            ("interactive p99 by TLD, ms", lambda p: ", ".join(
                "%s %s" % (t, fmt0(p["b_by_tld_p99_ms"][t]))
                for t in TLDS)),
        )
        for label, f in rows:
            w("| %s | %s | %s |" % (label, f(on), f(off) if off else "-"))
        w("")
        d = getattr(self, "direct", None)
        if d:
            w("NSD asked directly (UDP, the same NS question for the DNS-on "
              "phase's %d delegated names): one at a time p50 %.3f / p99 "
              "%.3f ms; %d in flight p50 %.3f / p99 %.3f ms; %d lost." % (
                  d["names"], d["seq_p50_ms"], d["seq_p99_ms"], d["window"],
                  d["win_p50_ms"], d["win_p99_ms"], d["lost"]))
            w("")
        lr = getattr(self, "limit_res", None)
        if lr:
            w("limitd (the bench's limit server: a whois server that "
              "answers from memory, no suite behind it) asked for the same "
              "%d names by whoisd-loadgen, %d at once: p50 %s / p99 %s ms, "
              "%d errors.  A whois answer over TCP at this concurrency "
              "costs at least this on this machine, whatever is behind "
              "the server." % (len(self.probe), SUGGEST_CONC,
                               fmt(lr.get("p50_ms")), fmt(lr.get("p99_ms")),
                               lr.get("errors", 0)))
            w("")


def fmt(v):
    return "-" if v is None else "%.1f" % v


def fmt1(v):
    return "-" if v is None else "%.1f" % v


def fmt0(v):
    return "-" if v is None else "%.0f" % v


def interactive_main(port, source, tag, t0):
    """The interactive client's process: GET /v1/check of one free name
    a second (the TLDs in turn) from `source`, from t0 + 0.5 s until
    standard input closes; then one JSON line per answer."""
    out, lock, threads = [], threading.Lock(), []
    stop = threading.Event()

    def one(k):
        t = TLDS[k % len(TLDS)]
        name = "free-sgb%s-%04d.%s" % (tag, k, t)
        s = time.monotonic()
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=120,
                                           source_address=(source, 0))
            c.request("GET", "/v1/check?domain=" + name)
            res = json.loads(c.getresponse().read())["results"][0]
            c.close()
        except (OSError, ValueError, IndexError, KeyError,
                http.client.HTTPException) as e:
            res = {"status": "error", "reason": str(e)}
        rec = {"name": name, "tld": t, "at": s - t0,
               "secs": time.monotonic() - s, "status": res.get("status"),
               "source": res.get("source"), "reason": res.get("reason")}
        with lock:
            out.append(rec)

    def watch():
        sys.stdin.read()
        stop.set()

    threading.Thread(target=watch, daemon=True).start()
    k = 0
    stop.wait(max(0.0, t0 + 0.5 - time.monotonic()))
    while not stop.is_set():
        th = threading.Thread(target=one, args=(k,))
        th.start()
        threads.append(th)
        k += 1
        stop.wait(max(0.0, t0 + 0.5 + k - time.monotonic()))
    for th in threads:
        th.join()
    for rec in out:
        print(json.dumps(rec))


if __name__ == "__main__" and sys.argv[1:2] == ["--interactive"]:
    interactive_main(int(sys.argv[2]), sys.argv[3], sys.argv[4],
                     float(sys.argv[5]))
