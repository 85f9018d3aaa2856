"""whoisd-errdb over real sockets with a real SQLite file."""
import os
import signal
import time

import frames as F
from conftest import (BIN, check_malformed, free_port, start_store, wait_for,
                      writing)


def start_errdb(procs, tmp, *args, port=None, servers=1):
    return start_store(procs, tmp, "errdb", "errdb.db", *args, port=port,
                       servers=servers)


def send_error(c, ev):
    return c.call("error", **ev)


def errors(c, **q):
    r = c.call("errors", **q)
    assert r["t"] == "errors_r", r
    return r["events"]


def health(c, registry=None):
    r = c.call("health", **({"registry": registry} if registry else {}))
    assert r["t"] == "health_r", r
    return {h["registry"]: h for h in r["regs"]}


def test_same_eid_twice_is_stored_once(procs, tmpdir_path):
    p = start_errdb(procs, tmpdir_path)
    with F.Conn(p.port) as c:
        ev = F.error_event("host1-42", kind="timeout", domain="a.com")
        r = send_error(c, ev)
        assert r["t"] == "ok" and not r.get("dup", False), r
        # A replay (spool, retry) is acknowledged as a duplicate...
        r = send_error(c, ev)
        assert r["t"] == "ok" and r["dup"] is True, r
        # ... even with different content: the first copy wins.
        r = send_error(c, dict(ev, msg="changed"))
        assert r["dup"] is True
        evs = errors(c)
        assert len(evs) == 1
        assert evs[0]["eid"] == "host1-42"
        assert evs[0]["msg"] == "something failed"
        assert evs[0]["domain"] == "a.com"


def test_health_backoff_and_degraded(procs, tmpdir_path):
    p = start_errdb(procs, tmpdir_path)
    now = time.time()
    with F.Conn(p.port) as c:
        send_error(c, F.error_event("rl-1", kind="ratelimited",
                                    registry="whois.nic.uk", t=now,
                                    retry_after=120))
        for i in range(3):
            send_error(c, F.error_event("to-%d" % i, kind="timeout",
                                        registry="whois.slow.test", t=now))
        send_error(c, F.error_event("to-x", kind="timeout",
                                    registry="whois.once.test", t=now))
        h = health(c)
        uk = h["whois.nic.uk"]
        assert uk["state"] == "backoff"
        assert abs(uk["until"] - (now + 120)) < 1.0, uk
        assert h["whois.slow.test"]["state"] == "degraded"
        assert h["whois.slow.test"]["recent"] == 3
        assert h["whois.slow.test"]["until"] == 0
        assert h["whois.once.test"]["state"] == "ok"
        # One registry asked by name; one never seen is ok.
        assert list(health(c, "whois.nic.uk")) == ["whois.nic.uk"]
        h = health(c, "whois.never.test")
        assert h["whois.never.test"]["state"] == "ok"
        # Without retry_after the back-off is the default 30 s.
        send_error(c, F.error_event("rl-2", kind="ratelimited",
                                    registry="whois.denic.de", t=now))
        de = health(c, "whois.denic.de")["whois.denic.de"]
        assert de["state"] == "backoff"
        assert abs(de["until"] - (now + 30)) < 1.0, de
        # An old rate limit is over.
        send_error(c, F.error_event("rl-old", kind="ratelimited",
                                    registry="whois.old.test", t=now - 3600,
                                    retry_after=60))
        assert health(c, "whois.old.test")["whois.old.test"]["state"] != \
            "backoff"


def test_errors_filtering(procs, tmpdir_path):
    p = start_errdb(procs, tmpdir_path)
    base = time.time() - 1000
    with F.Conn(p.port) as c:
        for i in range(30):
            reg = "whois.a.test" if i % 2 else "whois.b.test"
            kind = "timeout" if i % 3 else "reset"
            send_error(c, F.error_event("f-%d" % i, kind=kind, registry=reg,
                                        t=base + i, domain="d%d.test" % i))
        evs = errors(c)
        assert len(evs) == 30
        # Newest first.
        assert [e["eid"] for e in evs[:3]] == ["f-29", "f-28", "f-27"]
        evs = errors(c, registry="whois.a.test")
        assert len(evs) == 15
        assert all(e["registry"] == "whois.a.test" for e in evs)
        evs = errors(c, kind="reset")
        assert {e["eid"] for e in evs} == {"f-%d" % i for i in range(0, 30, 3)}
        evs = errors(c, registry="whois.b.test", kind="reset")
        assert {e["eid"] for e in evs} == {"f-%d" % i for i in range(0, 30, 6)}
        evs = errors(c, since=base + 25)
        assert {e["eid"] for e in evs} == {"f-%d" % i for i in range(25, 30)}
        evs = errors(c, limit=4)
        assert [e["eid"] for e in evs] == ["f-29", "f-28", "f-27", "f-26"]
        assert errors(c, registry="whois.none.test") == []
        r = c.call("errors", limit="many")
        assert r["t"] == "err" and r["code"] == "bad-request"


def test_bad_events_refused(procs, tmpdir_path):
    p = start_errdb(procs, tmpdir_path)
    with F.Conn(p.port) as c:
        ev = F.error_event("x")
        for bad in (dict(ev, eid=""), dict(ev, kind=""),
                    {k: v for k, v in ev.items() if k != "eid"},
                    dict(ev, time="yesterday"), dict(ev, eid="e" * 100),
                    dict(ev, time=1e300), dict(ev, time=float("nan")),
                    dict(ev, retry_after=2 ** 64 - 1)):
            r = send_error(c, bad)
            assert r["t"] == "err" and r["code"] == "bad-request", (bad, r)
        assert errors(c) == []
        assert send_error(c, ev)["t"] == "ok"


def test_events_survive_restart_and_kill9(procs, tmpdir_path):
    p = start_errdb(procs, tmpdir_path, servers=2)
    with F.Conn(p.port) as c:
        for i in range(100):
            assert send_error(c, F.error_event("r-%d" % i))["t"] == "ok"
    assert p.stop(signal.SIGTERM) == 0
    p = start_errdb(procs, tmpdir_path, port=p.port, servers=2)
    with F.Conn(p.port) as c:
        assert len(errors(c, limit=1000)) == 100
        assert send_error(c, F.error_event("r-7"))["dup"] is True

    # kill -9 of every process mid-stream: every acknowledged event stays.
    acked = []

    def write(c, k, i):
        eid = "k%d-%d" % (k, i)
        if send_error(c, F.error_event(eid))["t"] == "ok":
            acked.append(eid)

    with writing(p.port, write):
        wait_for(lambda: len(acked) >= 200, timeout=10, what="200 events")
        os.killpg(p.pid, signal.SIGKILL)
    p.stop()
    p = start_errdb(procs, tmpdir_path, port=p.port)
    with F.Conn(p.port) as c:
        stored = {e["eid"] for e in errors(c, limit=10000)}
        missing = [e for e in acked if e not in stored]
        assert not missing, "%d of %d acknowledged events lost" % (
            len(missing), len(acked))
        # Replaying them all (a spool after a crash) doubles nothing.
        for eid in acked[:50]:
            assert send_error(c, F.error_event(eid))["dup"] is True


def test_retention_prune(procs, tmpdir_path):
    p = start_errdb(procs, tmpdir_path, "--retention=30",
                    "--prune_interval=0.2")
    now = time.time()
    with F.Conn(p.port) as c:
        send_error(c, F.error_event("old", t=now - 40 * 86400))
        send_error(c, F.error_event("new", t=now - 20 * 86400))
        wait_for(lambda: [e["eid"] for e in errors(c)] == ["new"],
                 timeout=5, what="old event pruned")
    p.wait_log("retention prune: 1 event(s)")


def test_stats(procs, tmpdir_path):
    p = start_errdb(procs, tmpdir_path)
    with F.Conn(p.port) as c:
        send_error(c, F.error_event("s1"))
        send_error(c, F.error_event("s1"))
        r = c.call("stats")
        assert r["t"] == "stats_r"
        assert r["c"]["events"] == 1
        assert r["c"]["added"] == 1 and r["c"]["dups"] == 1


def test_malformed_frames_logged_and_daemon_keeps_serving(procs,
                                                         tmpdir_path):
    p = start_errdb(procs, tmpdir_path, "--max_frame=65536")

    def answers_health(c):
        assert c.call("health")["t"] == "health_r"

    def takes_events(c, name):
        assert send_error(c, F.error_event("after-" + name))["t"] == "ok"

    check_malformed(p, 65536, answers_health, takes_events)
    with F.Conn(p.port) as c:
        assert len(errors(c)) == len(F.malformed_inputs(65536))


def test_bad_db_path_fails_before_forking(procs, tmpdir_path):
    port = free_port()
    p = procs.start([os.path.join(BIN, "whoisd-errdb"), "-f", "/dev/null",
                     "--listen=127.0.0.1:%d" % port,
                     "--db_path=/nonexistent/dir/errdb.db"], name="errdb")
    assert p.p.wait(10) != 0
    assert "db_path: /nonexistent/dir/errdb.db" in p.logtext()
