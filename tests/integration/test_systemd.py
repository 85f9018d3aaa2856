"""Operated by the real systemd: restart, reload, upgrade or kill -9 any one
daemon under a steady load, and no client query fails.

The suite is installed with `make install` into a staging root, bound
read-only into a systemd-nspawn container at /opt/whoisd (the units are
the shipped ones, with the test's ports), and started with
`systemctl start whoisd.target`.  The container shares the host's
network, so the load (whois and HTTP, hits and misses) and the registry
simulator run on the host.
"""
import http.client
import json
import os
import random
import re
import shutil
import socket
import subprocess
import threading
import time

import pytest

import frames as F
from conftest import (BIN, BUILD, TOP, LoadThreads, free_port, port_open,
                      read_all, wait_for)
from nspawn import Machine, NspawnUnavailable, nspawn_problem
from suite import Answer

problem = nspawn_problem()
pytestmark = pytest.mark.skipif(problem is not None,
                                reason="systemd-nspawn unusable here: %s" %
                                str(problem))

DAEMONS = ["whoisd-errdb", "whoisd-cache", "whoisd-query", "whoisd"]
OLD_BIN = os.path.join(BUILD + "-proto1", "bin")


class Load(LoadThreads):
    """Steady mixed load: whois one-shot and HTTP keep-alive, cache hits
    (names asked before) and misses (new names), from several threads.
    Its failures are (time, phase, what)."""

    def __init__(self, wport, hport, threads=6, rate=300):
        super().__init__(threads)
        self.wport, self.hport = wport, hport
        self.rate = rate
        self.refused = 0
        self.phase = "start"
        self.seq = 0
        self.known = {"example.com": "registered", "example.net": "registered",
                      "example.org": "registered", "example.de": "registered",
                      "free-name.com": "available"}

    def next_name(self, rnd):
        if rnd.random() < 0.5:
            with self.lock:
                items = list(self.known.items())
            return rnd.choice(items)
        with self.lock:
            self.seq += 1
            n = self.seq
        if n % 2:
            return "free-load-%d.com" % n, "available"
        return "taken-load-%d.de" % n, "registered"

    def fail(self, what):
        with self.lock:
            self.failures.append((time.monotonic(), self.phase, what))

    def refused_by(self, what):
        with self.lock:
            self.refused += 1
        self.fail(what + ": refused")

    def whois(self, rnd):
        name, want = self.next_name(rnd)
        try:
            buf = read_all(self.wport, name.encode() + b"\r\n", timeout=15)
        except ConnectionRefusedError:
            self.refused_by("whois %s" % name)
            return
        except OSError as e:
            self.fail("whois %s: %r" % (name, e))
            return
        a = Answer(buf.decode("utf-8", "replace"))
        if a.get("status") != want:
            self.fail("whois %s: %r" % (name, a.raw[:200]))
            return
        with self.lock:
            self.ok += 1
            self.known[name] = want

    def http_worker(self, rnd):
        conn = None
        while not self.stop_ev.is_set():
            name, want = self.next_name(rnd)
            try:
                if conn is None:
                    conn = http.client.HTTPConnection("127.0.0.1", self.hport,
                                                      timeout=15)
                conn.request("GET", "/v1/check?domain=" + name)
                r = conn.getresponse()
                body = r.read().decode()
                if r.getheader("Connection", "").lower() == "close":
                    conn.close()
                    conn = None
            except (http.client.RemoteDisconnected, BrokenPipeError,
                    ConnectionResetError) as e:
                # A keep-alive connection closed between two requests by a
                # draining child: any HTTP client retries on a new one.
                if conn is not None:
                    conn.close()
                conn = None
                try:
                    conn = http.client.HTTPConnection("127.0.0.1", self.hport,
                                                      timeout=15)
                    conn.request("GET", "/v1/check?domain=" + name)
                    r = conn.getresponse()
                    body = r.read().decode()
                except ConnectionRefusedError:
                    self.refused_by("http %s" % name)
                    conn = None
                    continue
                except OSError as e2:
                    self.fail("http %s: %r after %r" % (name, e2, e))
                    conn = None
                    continue
            except ConnectionRefusedError:
                self.refused_by("http %s" % name)
                conn = None
                continue
            except OSError as e:
                self.fail("http %s: %r" % (name, e))
                conn = None
                continue
            if '"status":"%s"' % want not in body:
                self.fail("http %s: %s" % (name, body[:200]))
                continue
            with self.lock:
                self.ok += 1
                self.known[name] = want
            time.sleep(self.nthreads / self.rate)

    def whois_worker(self, rnd):
        while not self.stop_ev.is_set():
            self.whois(rnd)
            time.sleep(self.nthreads / self.rate)

    def guarded(self, f, rnd):
        # A load thread that dies would quietly lower the load: count it.
        try:
            f(rnd)
        except Exception as e:      # noqa: BLE001 - recorded as a failure
            self.fail("load thread died: %r" % e)

    def workers(self):
        ts = []
        for i in range(self.nthreads):
            rnd = random.Random(i)
            f = self.http_worker if i % 3 == 0 else self.whois_worker
            ts.append(threading.Thread(target=self.guarded, args=(f, rnd),
                                       daemon=True))
        return ts


def install(stage):
    env = dict(os.environ)
    san = ["SANITIZE=1"] if BUILD.endswith("-san") else []
    subprocess.run(["make", "-s", "-C", TOP, "install", "PREFIX=/opt/whoisd",
                    "SYSCONFDIR=/etc", "DESTDIR=" + stage] + san, check=True,
                   env=env, stdout=subprocess.DEVNULL)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    tmp = str(tmp_path_factory.mktemp("systemd"))
    stage = os.path.join(tmp, "stage")
    install(stage)
    opt = os.path.join(stage, "opt", "whoisd")
    ports = {k: free_port() for k in ("whois", "http", "cache", "query",
                                      "errdb", "regsim")}
    regsim = subprocess.Popen([os.path.join(BIN, "whoisd-regsim"),
                               "--listen=127.0.0.1:%d" % ports["regsim"],
                               "--latency-ms=20"], cwd=TOP,
                              stdout=open(os.path.join(tmp, "regsim.log"), "wb"),
                              stderr=subprocess.STDOUT, start_new_session=True)
    wait_for(lambda: port_open(ports["regsim"]), what="regsim")
    m = Machine("whoisd-t%d" % os.getpid(), ro_binds={"/opt/whoisd": opt},
                log=os.path.join(tmp, "console.log"))
    try:
        m.boot()
    except NspawnUnavailable as e:
        regsim.kill()
        pytest.skip("systemd-nspawn cannot boot here: %s" % e)
    try:
        setup_machine(m, stage, ports)
        yield {"m": m, "ports": ports, "opt": opt, "tmp": tmp}
    finally:
        m.halt()
        regsim.kill()
        regsim.wait()


def remap_ports(text, port_map):
    """Swap the shipped ports for the test's in one pass: replacing them
    one after another would rewrite a test port that happens to start
    with a later shipped one (47025 -> 4702 -> 33233 + "5")."""
    return re.sub(r"127\.0\.0\.1:(\d+)\b",
                  lambda mo: "127.0.0.1:%d" % port_map[mo.group(1)]
                  if mo.group(1) in port_map else mo.group(0), text)


def setup_machine(m, stage, ports):
    units = os.path.join(stage, "opt/whoisd/lib/systemd/system")
    port_map = {"4343": ports["whois"], "8043": ports["http"],
                "4701": ports["cache"], "4702": ports["query"],
                "4703": ports["errdb"]}
    for u in os.listdir(units):
        text = open(os.path.join(units, u)).read()
        text = remap_ports(text, port_map)
        # Tests want the watchdog quicker than production's 10 s.
        text = text.replace("WatchdogSec=10", "WatchdogSec=4")
        m.write("/etc/systemd/system/" + u, text)
    confs = os.path.join(stage, "etc/whoisd")
    for c in os.listdir(confs):
        text = open(os.path.join(confs, c)).read()
        text = remap_ports(text, port_map)
        if c == "whoisd-query.conf":
            text += ("\nregistry_override 127.0.0.1:%d\n"
                     "registry_rate_override 1000\n" % ports["regsim"])
        m.write("/etc/whoisd/" + c, text)
    if BUILD.endswith("-san"):
        # LeakSanitizer stops the world with ptrace at exit, which the
        # units' SystemCallFilter forbids: it would hang every stop.
        for d in DAEMONS:
            m.write("/etc/systemd/system/%s.service.d/asan.conf" % d,
                    "[Service]\nEnvironment=ASAN_OPTIONS=detect_leaks=0\n"
                    "TimeoutStopSec=60\n")
    m.run("systemd-sysusers", "/opt/whoisd/lib/sysusers.d/whoisd.conf")
    m.run("systemd-tmpfiles", "--create",
          "/opt/whoisd/lib/tmpfiles.d/whoisd.conf")
    m.run("systemctl", "daemon-reload")
    m.run("systemctl", "start", "whoisd.target")
    for d in DAEMONS:
        wait_for(lambda: m.show(d + ".service", "ActiveState") == "active",
                 timeout=30, what="%s active" % d)


def test_units_verify_and_security(world):
    m = world["m"]
    for u in DAEMONS:
        r = m.run("systemd-analyze", "verify", "--man=no",
                  "/etc/systemd/system/%s.service" % u, check=False)
        out = r.stdout + r.stderr
        assert r.returncode == 0 and out.strip() == "", out
        r = m.run("systemd-analyze", "security", "--no-pager", u + ".service",
                  check=False)
        line = [l for l in r.stdout.splitlines() if "Overall exposure" in l]
        assert line, r.stdout + r.stderr
        level = float(line[0].split("exposure level for")[1].split(":")[1]
                      .split()[0])
        print("%s: %s" % (u, line[0].strip()))
        assert level <= 2.0, line[0]


def test_keygen_unit_made_the_link_keys(world):
    """whoisd-keygen.service made the role keys before the daemons: the
    daemons' private keys are the whoisd user's, ctl.key stays root's,
    and the daemons serve only peers that prove a role."""
    m, ports = world["m"], world["ports"]
    modes = m.run("stat", "-c", "%n %a %U", *[
        "/etc/whoisd/keys/%s.key" % r for r in
        ("front", "query", "cache", "errdb", "ctl")]).stdout.split("\n")
    assert modes[:5] == ["/etc/whoisd/keys/front.key 600 whoisd",
                         "/etc/whoisd/keys/query.key 600 whoisd",
                         "/etc/whoisd/keys/cache.key 600 whoisd",
                         "/etc/whoisd/keys/errdb.key 600 whoisd",
                         "/etc/whoisd/keys/ctl.key 600 root"], modes
    assert m.show("whoisd-keygen.service", "ActiveState") == "active"
    # The whoisd user (what a daemon runs as) cannot act as the operator.
    r = m.run("setpriv", "--reuid=whoisd", "--regid=whoisd", "--init-groups",
              "/opt/whoisd/bin/whoisctl", "--cache=127.0.0.1:%d" %
              ports["cache"], "purge", "--all", check=False)
    assert r.returncode == 1 and "ctl.key: Permission denied" in r.stderr, r
    # A peer without a key gets nothing.
    with F.Conn(ports["cache"], role=None) as c:
        r = c.call("purge", all=True)
        assert r["t"] == "err" and r["code"] == "unauthenticated", r


def test_journal_priorities(world):
    """Under systemd stderr lines carry sd-daemon prefixes: journald
    stores a registry's failure as a warning, `journalctl -p warning`
    shows it and not the notice and info lines, and messages carry no
    timestamp of their own."""
    m, ports = world["m"], world["ports"]
    name = "fault-reset-jp%d.com" % os.getpid()
    s = socket.create_connection(("127.0.0.1", ports["whois"]), timeout=15)
    s.sendall(name.encode() + b"\r\n")
    while s.recv(65536):
        pass
    s.close()

    def warned():
        r = m.run("journalctl", "--no-pager", "-o", "cat", "-p", "warning",
                  "-u", "whoisd-query.service", check=False)
        return r.stdout if name in r.stdout else None
    text = wait_for(warned, timeout=15, what="the warning in the journal")
    assert "master started" not in text and "ready:" not in text, text
    assert not re.search(r"^\d{4}-\d\d-\d\dT", text, re.M), text
    assert not re.search(r"^<\d>", text, re.M), text
    r = m.run("journalctl", "--no-pager", "-o", "cat", "-u",
              "whoisd-query.service", check=False)
    assert "master: master started" in r.stdout, r.stdout[-3000:]


def test_access_log_to_the_journal(world):
    """access_log journal: one entry per request in the front's unit,
    its parts as fields of their own."""
    m, ports = world["m"], world["ports"]
    conf = m.run("cat", "/etc/whoisd/whoisd.conf").stdout
    m.write("/etc/whoisd/whoisd.conf", conf + "\naccess_log journal\n")
    try:
        m.run("systemctl", "reload", "whoisd.service")
        name = "example.com"
        for _ in range(3):
            s = socket.create_connection(("127.0.0.1", ports["whois"]),
                                         timeout=15)
            s.sendall(name.encode() + b"\r\n")
            while s.recv(65536):
                pass
            s.close()

        def entries():
            r = m.run("journalctl", "--no-pager", "-o", "json",
                      "-u", "whoisd.service", "WHOISD_ACCESS=1", check=False)
            got = [json.loads(l) for l in r.stdout.splitlines() if l]
            return got if len(got) >= 3 else None
        got = wait_for(entries, timeout=15, what="access entries")
        e = got[-1]
        assert e["WHOISD_PORT"] == "whois" and e["WHOISD_NAMES"] == name, e
        assert e["WHOISD_STATUSES"] == "registered", e
        assert e["PRIORITY"] == "6", e
        assert " whois - - %s registered " % name in e["MESSAGE"], e
    finally:
        m.write("/etc/whoisd/whoisd.conf", conf)
        m.run("systemctl", "reload", "whoisd.service")


def status_lines(m):
    return {d: m.show(d + ".service", "StatusText") for d in DAEMONS}


def test_restarts_reloads_upgrades_kills_under_load(world):
    m, ports, opt = world["m"], world["ports"], world["opt"]
    # Some error events and cache entries to find again at the end.
    load = Load(ports["whois"], ports["http"])
    for n in ("fault-reset-e1.com", "fault-reset-e2.com"):
        s = socket.create_connection(("127.0.0.1", ports["whois"]), timeout=15)
        s.sendall(n.encode() + b"\r\n")
        while s.recv(65536):
            pass
        s.close()
    load.start()
    time.sleep(3)

    def settle():
        for d in DAEMONS:
            wait_for(lambda: m.show(d + ".service", "ActiveState") == "active"
                     and m.show(d + ".service", "SubState") == "running",
                     timeout=30, what="%s running" % d)
        time.sleep(1.5)

    # Three rounds of restarts of each service in turn.
    for rnd in range(3):
        for d in DAEMONS:
            load.phase = "restart %s #%d" % (d, rnd)
            m.run("systemctl", "restart", d + ".service", timeout=120)
            settle()
    # Reload each (HUP: new config, new children).
    for d in DAEMONS:
        load.phase = "reload " + d
        before = m.sh("cat /run/%s/status" % d).stdout
        m.sh("sed -i 's/^log_level.*/log_level 3/' /etc/whoisd/%s.conf || "
             "echo 'log_level 3' >> /etc/whoisd/%s.conf" % (d, d))
        m.run("systemctl", "reload", d + ".service", timeout=120)
        after = m.sh("cat /run/%s/status" % d).stdout
        gen = lambda t: int([l for l in t.splitlines()
                             if l.startswith("generation")][0].split()[1])
        assert gen(after) == gen(before) + 1, (before, after)
        settle()
    # Swap whoisd-query for the previous protocol's build, and back.
    target = os.path.join(opt, "bin", "whoisd-query")
    keep = os.path.join(world["tmp"], "whoisd-query.current")
    shutil.copy2(target, keep)
    for src, label in ((os.path.join(OLD_BIN, "whoisd-query"), "old"),
                       (keep, "current")):
        load.phase = "swap whoisd-query to %s" % label
        # Replace by rename, as a package manager does.
        shutil.copy2(src, target + ".new")
        os.rename(target + ".new", target)
        m.run("systemctl", "restart", "whoisd-query.service", timeout=120)
        settle()
        time.sleep(2)
    clean_failures = list(load.failures)
    clean_ok = load.ok

    # kill -9 of each master: systemd restarts it; only that process's
    # in-flight requests may fail, and no connection is refused.
    for d in DAEMONS:
        load.phase = "kill -9 " + d
        pid = m.main_pid(d + ".service")
        m.run("kill", "-9", str(pid))
        wait_for(lambda: m.main_pid(d + ".service") not in (0, pid),
                 timeout=60, what="%s restarted" % d)
        settle()
    time.sleep(2)
    load.finish(60)

    print("load: %d ok, %d failed (%d before the kills), %d refused" % (
        load.ok, len(load.failures), len(clean_failures), load.refused))
    assert clean_ok > 1000, clean_ok
    assert clean_failures == [], clean_failures[:10]
    assert load.refused == 0, load.failures[:10]
    kill_failures = load.failures[len(clean_failures):]
    assert len(kill_failures) <= 20, kill_failures

    # Everything cached and every error event is still there.
    for name, want in list(load.known.items())[:200]:
        a = Answer(read_all(ports["whois"], name.encode() + b"\r\n",
                            timeout=15).decode())
        assert a["status"] == want and a["source"] == "cache", (name, a)
    out = m.run("/opt/whoisd/bin/whoisctl",
                "--errdb=127.0.0.1:%d" % ports["errdb"], "errors").stdout
    assert "fault-reset-e1.com" in out and "fault-reset-e2.com" in out, out
    # systemctl status shows each daemon's STATUS= line.
    for d, st in status_lines(m).items():
        assert st.startswith("children "), (d, st)
        r = m.run("systemctl", "status", "--no-pager", d + ".service",
                  check=False)
        assert "Status: \"children" in r.stdout, r.stdout


def test_watchdog_restarts_a_hung_daemon(world):
    m = world["m"]
    unit = "whoisd-errdb.service"
    m.write("/etc/systemd/system/%s.d/hang.conf" % unit,
            "[Service]\nEnvironment=WHOISD_TEST_HANG=1\n")
    m.run("systemctl", "daemon-reload")
    m.run("systemctl", "restart", unit)
    wait_for(lambda: m.show(unit, "SubState") == "running", timeout=30)
    restarts = int(m.show(unit, "NRestarts"))
    pid = m.main_pid(unit)
    m.run("kill", "-USR2", str(pid))
    wait_for(lambda: int(m.show(unit, "NRestarts")) > restarts and
             m.main_pid(unit) not in (0, pid), timeout=30,
             what="watchdog restart")
    r = m.run("journalctl", "--no-pager", "-u", unit, check=False)
    assert "Watchdog timeout" in r.stdout, r.stdout[-3000:]
    m.run("rm", "/etc/systemd/system/%s.d/hang.conf" % unit)
    m.run("systemctl", "daemon-reload")
    m.run("systemctl", "restart", unit)
