"""Fair, deadline-aware registry budgets, against the registry simulator.

The simulator plays every registry at a low budget (RATE queries a second,
enforced by its own --ratelimit, so a window over the budget shows up as a
throttled answer), and whoisd-query paces at the same RATE.  The figures:
an interactive client's answers during a bulk flood, the bulk client's
throughput and wasted tokens, names answered at once when their turn would
come after their deadline, quota windows, and the referral hop spent only
for the full record.
"""
import http.client
import json
import os
import re
import threading
import time
from urllib.parse import quote

import pytest

import frames as F
from conftest import BIN, TOP
from suite import Answer, Suite

pytestmark = pytest.mark.skipif(
    not all(os.path.exists(os.path.join(BIN, b)) for b in
            ("whoisd", "whoisd-cache", "whoisd-query", "whoisd-errdb",
             "whoisd-regsim")),
    reason="the daemons are not built")

RATE = 4.0              # queries a second, at the simulator and ours
LATENCY = 0.020         # the simulator's latency
SPACING = 1.02 / RATE   # budget.c's spacing: 1/rate and its 2 % margin
# One child, unless a test is about children (docs/architecture.md).
ONE_CHILD = ["--min_servers=1", "--max_servers=2", "--min_spare_servers=0",
             "--max_spare_servers=1"]


def slow_suite(procs, tmp, query=(), front=(), regsim=()):
    return Suite(procs, tmp,
                 regsim=["--latency=fixed:%d" % (LATENCY * 1000),
                         "--ratelimit=%d/s" % RATE] + list(regsim),
                 query=["--registry_rate_override=%g" % RATE] + ONE_CHILD +
                 list(query),
                 front=list(front))


def http_get(port, path, source, timeout=60):
    """GET from a given loopback source address (a client of its own)."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout,
                                   source_address=(source, 0))
    try:
        c.request("GET", path)
        r = c.getresponse()
        return r.status, r.read().decode()
    finally:
        c.close()


def check_from(port, names, source, timeout=60):
    q = "&".join("domain=" + quote(n, safe="") for n in names)
    code, body = http_get(port, "/v1/check?" + q, source, timeout)
    assert code == 200, (code, body[:300])
    return json.loads(body)["results"]


def p99(xs):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(0.99 * (len(xs) - 1))))]


def throttled(s):
    return s.sim_stats()["per_outcome"].get("throttled", 0)


# ------------------------------------------------------- end to end

def test_interactive_client_during_bulk_flood(procs, tmpdir_path):
    s = slow_suite(procs, tmpdir_path,
                   front=["--request_timeout=20", "--http_max_names=200"])
    s.start()
    hport = s.port["http"]
    a_names = ["free-flood-%03d.com" % i for i in range(200)]
    a_out = {}

    def flood():
        t0 = time.monotonic()
        a_out["res"] = check_from(hport, a_names, "127.0.0.3")
        a_out["secs"] = time.monotonic() - t0

    # The path's own cost, before the flood: no slot to wait for.
    base = []
    for i in range(5):
        t0 = time.monotonic()
        check_from(hport, ["free-base-%d.com" % i], "127.0.0.2")
        base.append(time.monotonic() - t0)
        time.sleep(SPACING)
    ta = threading.Thread(target=flood)
    t_start = time.monotonic()
    ta.start()
    time.sleep(0.5)
    b_lat = []
    for i in range(15):
        t0 = time.monotonic()
        r = check_from(hport, ["free-single-%02d.com" % i], "127.0.0.2")
        b_lat.append(time.monotonic() - t0)
        assert r[0]["status"] == "available", r
        assert r[0]["source"] == "registry", r
        time.sleep(max(0, 1.0 - (time.monotonic() - t0)))
    ta.join(60)
    assert "res" in a_out
    res = a_out["res"]
    verdicts = [x for x in res if x["status"] == "available"]
    budget = [x for x in res if x["status"] == "unknown"]
    assert len(verdicts) + len(budget) == 200
    assert all(x["reason"] == "rate-budget" and x["retry_after"] >= 1
               for x in budget), budget[:3]
    stats = s.sim_stats()
    # The bucket is the law: the simulator, counting RATE a second, never
    # saw a query over it.
    assert stats["per_outcome"].get("throttled", 0) == 0, stats
    # No token wasted: every query the registry got made a verdict, once.
    assert stats["total"] == len(verdicts) + len(b_lat) + len(base), \
        stats["total"]
    assert all(v == 1 for v in stats["per_domain"].values())
    # A got the slots B left, at the budget rate.
    slots = (a_out["secs"] - 1.5) / SPACING
    assert stats["total"] >= 0.9 * slots, (stats["total"], a_out["secs"])
    bound = 1.0 / RATE + LATENCY + 0.050
    print("fairness: B p50 %.3fs p99 %.3fs (bound %.3fs, path alone %.3fs); "
          "A %d verdicts, %d rate-budget in %.1fs (%.2f/s)" %
          (sorted(b_lat)[len(b_lat) // 2], p99(b_lat), bound, min(base),
           len(verdicts), len(budget), a_out["secs"],
           (stats["total"] - len(base)) / (time.monotonic() - t_start)))
    # What this test guards is that B is never starved behind A's 200
    # names (that would take seconds); B's p99 against the bound is the
    # benchmark's figure.  The slack covers the front's path (cache,
    # links, sanitizer builds on a loaded machine), not the turn, which
    # test_a_newcomer_takes_the_next_slot checks at whoisd-query itself.
    assert p99(b_lat) <= bound + 0.200, sorted(b_lat)


# -------------------------------------------------- at whoisd-query

def qconn(s):
    return F.Conn(s.port["query"], role="front", timeout=60)


def send_all(c, names, deadline_ms, **extra):
    sent = {}
    for n in names:
        rid = c.send("query", domain=n, deadline_ms=deadline_ms, **extra)
        sent[rid] = (n, time.monotonic())
    return sent


def recv_all(c, sent, timeout=60):
    """Every reply, with the seconds it took: {name: (answer, secs)}."""
    got = {}
    end = time.monotonic() + timeout
    while len(got) < len(sent) and time.monotonic() < end:
        m = c.recv()
        if m.get("t") == "goaway" or m.get("id") not in sent:
            continue
        n, t0 = sent[m["id"]]
        assert m["t"] == "query_r", m
        got[n] = (m["a"], time.monotonic() - t0, len(got))
    return got


def test_over_deadline_names_answered_at_once(procs, tmpdir_path):
    s = slow_suite(procs, tmpdir_path).start(skip=("front",))
    c = qconn(s)
    names = ["free-late-%02d.com" % i for i in range(40)]
    # 3 s: a slot no later than 2 s from now (a second for the talk).
    got = recv_all(c, send_all(c, names, 3000, client="192.0.2.1",
                               bulk=True))
    assert len(got) == 40
    ok = [n for n, (a, _, _) in got.items() if a["status"] == "available"]
    late = {n: (a, t) for n, (a, t, _) in got.items()
            if a["status"] == "unknown"}
    assert len(ok) + len(late) == 40
    # The slots before the cut-off, and not one more.
    assert 2.0 / SPACING - 1 <= len(ok) <= 2.0 / SPACING + 2, len(ok)
    for n, (a, t) in late.items():
        assert a["reason"] == "rate-budget", a
        # The first free slot is 2.0-2.3 s away: the whole seconds
        # before it, so a client back then is queued when it comes.
        assert 1 <= a["retry_after"] <= 2, a
        assert t < 0.3, (n, t)          # at once, not after a wait
    assert s.sim_stats()["total"] == len(ok)
    assert throttled(s) == 0
    print("deadline: %d verdicts, %d answered at once (slowest %.3fs)" %
          (len(ok), len(late), max(t for _, t in late.values())))


def test_round_robin_and_single_names_first(procs, tmpdir_path):
    s = slow_suite(procs, tmpdir_path).start(skip=("front",))
    c = qconn(s)
    sent = send_all(c, ["free-x-%02d.com" % i for i in range(12)], 30000,
                    client="192.0.2.10", bulk=True)
    sent.update(send_all(c, ["free-y-%02d.com" % i for i in range(12)],
                         30000, client="192.0.2.11", bulk=True))
    time.sleep(1.0)
    # An older front: no client, no bulk: one anonymous interactive client.
    sent.update(send_all(c, ["free-z-single.com"], 30000))
    got = recv_all(c, sent)
    assert len(got) == 25
    assert all(a["status"] == "available" for a, _, _ in got.values())
    z_secs = got["free-z-single.com"][1]
    assert z_secs <= SPACING + LATENCY + 0.050, z_secs
    order = [n for n, _ in sorted(got.items(), key=lambda kv: kv[1][2])]
    order.remove("free-z-single.com")
    # X and Y take turns (Y, queued a moment after X, joins at the back
    # of the round): never more than two of one ahead of the other.
    xs = ys = 0
    for n in order:
        xs += n.startswith("free-x")
        ys += n.startswith("free-y")
        assert abs(xs - ys) <= 2, order
    assert sum(n.startswith("free-y") for n in order[:12]) >= 5, order
    assert s.sim_stats()["total"] == 25
    assert throttled(s) == 0
    print("round robin: single name in %.3fs (bound %.3fs)" %
          (z_secs, SPACING + LATENCY + 0.050))


def test_a_newcomer_takes_the_next_slot(procs, tmpdir_path):
    """Two interactive (not bulk) clients: the one that arrives while the
    other is being served gets the very next slot, not the one after."""
    s = slow_suite(procs, tmpdir_path).start(skip=("front",))
    c = qconn(s)
    sent = send_all(c, ["free-w-%02d.com" % i for i in range(8)], 30000,
                    client="192.0.2.30", bulk=False)
    for k in range(3):
        time.sleep(SPACING * 1.5)
        name = "free-new-%d.com" % k
        t = send_all(c, [name], 30000, client="192.0.2.%d" % (31 + k))
        got = recv_all(c, t)
        secs = got[name][1]
        assert secs <= SPACING + LATENCY + 0.050, (k, secs)
    assert len(sent) == 8 and throttled(s) == 0


def solo_beside_flood(procs, tmp, bulk):
    """Four children racing for every connection (serialize=none), so a
    flood of 32 names from one client over 8 connections spreads over
    all of them; then another client's six single names, one at a time.
    Their latencies, once every name is answered and nothing was spent
    twice or wasted."""
    children = ["--min_servers=4", "--max_servers=4",
                "--min_spare_servers=0", "--max_spare_servers=3",
                "--serialize=none"]
    s = Suite(procs, tmp,
              regsim=["--latency=fixed:%d" % (LATENCY * 1000),
                      "--ratelimit=%d/s" % RATE],
              query=["--registry_rate_override=%g" % RATE] + children)
    s.start(skip=("front",))
    time.sleep(0.5)             # every child up and listening
    flood = []
    for k in range(8):
        c = qconn(s)
        sent = send_all(c, ["free-flood-%d-%02d.com" % (k, i)
                            for i in range(4)], 30000,
                        client="192.0.2.50", bulk=bulk)
        flood.append((c, sent))
        time.sleep(0.05)
    time.sleep(1.0)
    lat = []
    for i in range(6):
        c = qconn(s)
        name = "free-solo-%02d.com" % i
        got = recv_all(c, send_all(c, [name], 30000,
                                   client="192.0.2.51"))
        lat.append(got[name][1])
        c.close()
        time.sleep(0.6)
    done = sum(len(recv_all(c, sent)) for c, sent in flood)
    assert done == 32
    # The bucket's law itself is checked, with fewer processes to jitter
    # it, by the tests above.
    assert s.sim_stats()["total"] == 32 + 6
    return lat


def test_single_name_not_behind_every_busy_child(procs, tmpdir_path):
    """Bulk work spread over several children, each holding a slot of
    its own: a single name, on whichever child, still waits one slot, not
    one per busy child."""
    lat = solo_beside_flood(procs, tmpdir_path, bulk=True)
    bound = SPACING + LATENCY + 0.050
    print("across children: single names %s (bound %.3fs)" %
          (["%.3f" % x for x in lat], bound))
    # Behind every busy child's slot this was 0.4-0.9 s; the slack is for
    # a loaded machine, not for a second turn.
    assert max(lat) <= bound + 0.150, lat


def test_a_flood_of_one_name_requests_is_bulk(procs, tmpdir_path):
    """The same flood sent one name a request, as a whois client sends:
    bulk work by its number, so the single names still wait one slot,
    not one per child holding a priority slot for the flood."""
    lat = solo_beside_flood(procs, tmpdir_path, bulk=False)
    bound = SPACING + LATENCY + 0.050
    print("one-name flood: single names %s (bound %.3fs)" %
          (["%.3f" % x for x in lat], bound))
    # Counted as interactive, the flood held a priority slot in every
    # child and a single name waited 0.9-5.5 s.
    assert max(lat) <= bound + 0.150, lat


def registries_with(tmp, block_edit):
    with open(os.path.join(TOP, "etc", "registries.conf")) as f:
        text = f.read()
    text = block_edit(text)
    path = os.path.join(tmp, "registries.conf")
    with open(path, "w") as f:
        f.write(text)
    return path


def test_quota_window_spent_in_a_burst(procs, tmpdir_path):
    # NASK's block with a small quota: 3 an hour, spent at once.
    def edit(t):
        t2 = re.sub(r"(registry nask\n(?:  .*\n)*?)  quota [0-9]+ day\n",
                    r"\1  quota 3 hour\n", t)
        assert t2 != t
        return t2
    path = registries_with(tmpdir_path, edit)
    s = Suite(procs, tmpdir_path,
              regsim=["--latency=fixed:20"],
              query=["--registry_rate_override=50",
                     "--registries=" + path] + ONE_CHILD).start(
                         skip=("front",))
    c = qconn(s)
    got = recv_all(c, send_all(c, ["free-quota-%d.pl" % i for i in range(6)],
                               5000, client="192.0.2.20", bulk=True))
    ok = [n for n, (a, _, _) in got.items() if a["status"] == "available"]
    late = [(a, t) for a, t, _ in got.values() if a["status"] == "unknown"]
    assert len(ok) == 3, got
    # A burst at the pacing rate, not a drip of one per 20 minutes.
    assert max(got[n][1] for n in ok) < 1.0
    assert len(late) == 3
    for a, t in late:
        assert a["reason"] == "rate-budget", a
        assert 3000 <= a["retry_after"] <= 3601, a
        assert t < 0.3
    assert s.sim_stats()["total"] == 3


# ------------------------------------------------------- referral

def test_referral_only_for_the_full_record(procs, tmpdir_path):
    s = Suite(procs, tmpdir_path).start()
    # A check of a registered .com name: one registry query, no referral.
    r = s.check(["taken-ref1.com"])
    assert r[0]["status"] == "registered", r
    assert s.sim_count("taken-ref1.com") == 1
    # /v1/whois without full: the registry's own record, one query.
    code, body = s.http("/v1/whois?domain=taken-ref2.com")
    assert code == 200, body
    assert "registrar whois" not in body
    assert s.sim_count("taken-ref2.com") == 1
    # The whois port: the registry's own record too (docs/protocol.md).
    a = s.whois("taken-ref3.com")
    assert a["status"] == "registered", a
    assert "registrar whois" not in a.text
    assert s.sim_count("taken-ref3.com") == 1
    # full=1: the registrar's record, one more query.
    code, body = s.http("/v1/whois?domain=taken-ref4.com&full=1")
    assert code == 200, body
    assert "--- registrar whois (whois.markmonitor.com) ---" in body
    assert s.sim_count("taken-ref4.com") == 2
    # A cached registered verdict does not serve full=1: asked again.
    code, body = s.http("/v1/whois?domain=taken-ref1.com&full=1")
    assert code == 200, body
    assert "--- registrar whois" in body
    assert s.sim_count("taken-ref1.com") == 3
    # ...and the cache kept the registry's text alone.
    r = s.check(["taken-ref4.com"])
    assert r[0]["source"] == "cache", r
    code, body = s.http("/v1/whois?domain=taken-ref4.com")
    assert "registrar whois" not in body
    assert s.sim_count("taken-ref4.com") == 2
    # A free name with full=1 has no registrar: one query.
    code, body = s.http("/v1/whois?domain=free-ref5.com&full=1")
    assert Answer(body)["status"] == "available", body
    assert s.sim_count("free-ref5.com") == 1
