#!/usr/bin/python3
"""The upgrade from a version without link authentication, under load.

    tests/bench/upgrade.py OLD_BIN [NEW_BUILD]     (make bench-upgrade OLD=...)

Starts the suite from OLD_BIN (a build of the version before the
handshake: it knows no link_keys), then follows docs/operations.md:
each daemon in turn (errdb, cache, query, front) is stopped and its new
build started on the same port with `link_auth prefer`; once all four
are new, each is restarted with `link_auth require`.  Four threads ask
the whois port all along, for names the simulator holds registered and
for fresh ones; every answer is checked.  Prints one line per step and
a summary; exits 1 on any error or wrong answer.
"""
import os
import signal
import sys
import tempfile
import threading
import time

TOP = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(TOP, "tests", "integration"))

import conftest  # noqa: E402
from conftest import Procs, read_all  # noqa: E402
from suite import Answer, Suite  # noqa: E402

REGISTERED = ["example.com", "example.org", "example.net"]


class Load(threading.Thread):
    def __init__(self, port, k):
        super().__init__(daemon=True)
        self.port, self.k = port, k
        self.stop = threading.Event()
        self.n = self.errors = self.wrong = self.unknown = 0
        # Without systemd holding the socket, the whois port is closed
        # while the front restarts: refusals then are no upgrade error.
        self.port_closed = threading.Event()
        self.refused = 0
        self.samples = []

    def ask(self, name):
        buf = read_all(self.port, name.encode() + b"\r\n", timeout=20)
        return Answer(buf.decode("utf-8", "replace"))

    def run(self):
        i = 0
        while not self.stop.is_set():
            i += 1
            if i % 2:
                name, want = REGISTERED[i % len(REGISTERED)], "registered"
            else:
                name, want = "free-upg-%d-%d.com" % (self.k, i), "available"
            try:
                a = self.ask(name)
                st = a.get("status")
            except OSError as e:
                if self.port_closed.is_set():
                    self.refused += 1
                    time.sleep(0.05)
                    continue
                st = "error: %s" % e
            self.n += 1
            if st == want:
                pass
            elif st == "unknown":
                self.unknown += 1
            elif st in ("registered", "available", "reserved"):
                self.wrong += 1
                self.samples.append((name, want, st))
            else:
                self.errors += 1
                self.samples.append((name, want, st))
            time.sleep(0.005)


def main():
    old_bin = os.path.abspath(sys.argv[1])
    tmp = tempfile.mkdtemp(prefix="whoisd-upgrade-")
    keys = conftest.make_keys()
    # The old binaries know no link_keys: only the new ones get it.
    real_with_keys = conftest.with_keys
    conftest.with_keys = lambda argv, k=None: list(argv) if \
        argv[0].startswith(old_bin) else real_with_keys(argv, keys)
    procs = Procs(tmp)
    names = ("errdb", "cache", "query", "front")
    s = Suite(procs, tmp, bins={n: old_bin for n in names})
    loads = []
    try:
        s.start()
        print("old suite up (%s)" % old_bin)
        loads = [Load(s.port["whois"], k) for k in range(4)]
        for ld in loads:
            ld.start()
        time.sleep(3)
        for mode in ("prefer", "require"):
            for n in names:
                s.bins.pop(n, None)
                s.args[n] = [a for a in s.args[n]
                             if not a.startswith("--link_auth=")] + \
                    ["--link_auth=" + mode]
                for ld in loads:
                    if n == "front":
                        ld.port_closed.set()
                # QUIT, as the units' KillSignal: in-flight answers finish.
                s.stop_one(n, sig=signal.SIGQUIT)
                s.start_one(n)
                for ld in loads:
                    ld.port_closed.clear()
                print("%-6s new, link_auth %s: %d answers so far, %d errors,"
                      " %d wrong, %d unknown" % (
                          n, mode, sum(ld.n for ld in loads),
                          sum(ld.errors for ld in loads),
                          sum(ld.wrong for ld in loads),
                          sum(ld.unknown for ld in loads)), flush=True)
                time.sleep(3)
    finally:
        for ld in loads:
            ld.stop.set()
        for ld in loads:
            ld.join(30)
        logs = "".join(p.logtext() for p in procs.procs)
        procs.stop_all()
    n = sum(ld.n for ld in loads)
    errors = sum(ld.errors for ld in loads)
    wrong = sum(ld.wrong for ld in loads)
    unknown = sum(ld.unknown for ld in loads)
    print("upgrade: %d answers, %d errors, %d wrong, %d unknown (%d "
          "connections refused while the front's port was closed); legacy "
          "peers served under prefer: %s" % (
              n, errors, wrong, unknown, sum(ld.refused for ld in loads),
              "yes" if "served unauthenticated" in logs else "no"))
    for smp in [x for ld in loads for x in ld.samples][:10]:
        print("  ", smp)
    print("logs in", tmp)
    return 1 if errors or wrong else 0


if __name__ == "__main__":
    sys.exit(main())
