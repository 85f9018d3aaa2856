"""Shared helpers for the integration tests: real binaries, real sockets.

Every process a test starts is recorded by pid and killed at teardown,
together with any child it left behind.  Ports come from the kernel (bind
to port 0).  WHOISD_BUILD names the build directory (build or build-san).
Set WHOISD_KEEP_LOGS=1 to keep each test's logs under /tmp.
"""
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import pytest

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.path.join(TOP, os.environ.get("WHOISD_BUILD", "build"))
BIN = os.path.join(BUILD, "bin")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_for(cond, timeout=5.0, interval=0.02, what="condition"):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = cond()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError("timed out after %.1fs waiting for %s (last: %r)"
                         % (timeout, what, last))


def port_open(port, host="127.0.0.1"):
    try:
        s = socket.create_connection((host, port), timeout=0.2)
        s.close()
        return True
    except OSError:
        return False


def children_of(pid):
    """Pids whose parent is pid (from /proc)."""
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                st = f.read()
        except OSError:
            continue
        rest = st[st.rfind(")") + 2:].split()
        if int(rest[1]) == pid:
            out.append(int(d))
    return out


def proc_state(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            st = f.read()
    except OSError:
        return None
    return st[st.rfind(")") + 2:].split()[0]


def zombies_of(pid):
    return [c for c in children_of(pid) if proc_state(c) == "Z"]


def live_children(pid):
    return [c for c in children_of(pid) if proc_state(c) not in (None, "Z")]


def fd_count(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def pid_alive(pid):
    st = proc_state(pid)
    return st is not None and st != "Z"


class Proc:
    """A started daemon: its pid, its log file, and a clean stop."""

    def __init__(self, argv, log, env=None, cwd=None):
        self.argv = argv
        self.log = log
        self.logf = open(log, "ab")
        e = dict(os.environ)
        if env:
            e.update(env)
        self.p = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                                  stdout=self.logf, stderr=subprocess.STDOUT,
                                  env=e, cwd=cwd or TOP,
                                  start_new_session=True)
        self.pid = self.p.pid

    def logtext(self):
        if not self.logf.closed:
            self.logf.flush()
        with open(self.log, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def wait_log(self, text, timeout=5.0):
        try:
            return wait_for(lambda: text in self.logtext(), timeout,
                            what="log line %r" % text)
        except AssertionError as e:
            raise AssertionError("%s; %s (%s) log:\n%s" % (
                e, os.path.basename(self.argv[0]), "running" if self.running() else
                "exited %s" % self.p.returncode,
                self.logtext()[-3000:])) from None

    def sig(self, sig):
        os.kill(self.pid, sig)

    def running(self):
        return self.p.poll() is None

    def stop(self, sig=signal.SIGTERM, timeout=5.0):
        kids = children_of(self.pid) if self.running() else []
        if self.running():
            try:
                os.kill(self.pid, sig)
            except ProcessLookupError:
                pass
            try:
                self.p.wait(timeout)
            except subprocess.TimeoutExpired:
                os.kill(self.pid, signal.SIGKILL)
                self.p.wait(5)
        # Whatever the master left behind goes too, by pid.
        for k in kids:
            try:
                os.kill(k, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.logf.close()
        return self.p.returncode


class Procs:
    def __init__(self, tmp):
        self.tmp = tmp
        self.procs = []

    def start(self, argv, name=None, env=None, cwd=None):
        name = name or os.path.basename(argv[0])
        log = os.path.join(self.tmp, "%s-%d.log" % (name, len(self.procs)))
        p = Proc(argv, log, env=env, cwd=cwd)
        self.procs.append(p)
        return p

    def stop_all(self):
        for p in reversed(self.procs):
            if p.logf.closed:
                continue
            p.stop(signal.SIGKILL if not p.running() else signal.SIGTERM)


@pytest.fixture
def tmpdir_path(request):
    d = tempfile.mkdtemp(prefix="whoisd-test-")
    yield d
    if os.environ.get("WHOISD_KEEP_LOGS"):
        print("logs kept in", d)
    else:
        shutil.rmtree(d, ignore_errors=True)


SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer",
                   "runtime error:")


@pytest.fixture
def procs(tmpdir_path):
    ps = Procs(tmpdir_path)
    yield ps
    ps.stop_all()
    # A sanitizer report in any process's log fails the test.
    for p in ps.procs:
        text = p.logtext() if os.path.exists(p.log) else ""
        for mark in SANITIZER_MARKS:
            if mark in text:
                i = text.index(mark)
                pytest.fail("%s in %s:\n%s" % (mark, p.log,
                                                text[max(0, i - 200):i + 3000]))


def line_request(port, line, timeout=5.0):
    """Connect, send one line, read one reply line."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        s.sendall(line.encode() + b"\n")
        buf = b""
        while b"\n" not in buf:
            d = s.recv(65536)
            if not d:
                break
            buf += d
        return buf.decode("utf-8", "replace").rstrip("\n")
    finally:
        s.close()


def recv_all(s):
    """Read a connected socket to EOF, then close it."""
    try:
        buf = b""
        while True:
            d = s.recv(65536)
            if not d:
                break
            buf += d
        return buf
    finally:
        s.close()


def read_all(port, data, timeout=10.0):
    """Connect, send data, read to EOF (the whois way)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        s.sendall(data)
    except OSError:
        s.close()
        raise
    return recv_all(s)
