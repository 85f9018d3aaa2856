"""Shared helpers for the integration tests: real binaries, real sockets.

Every process a test starts is recorded by pid and killed at teardown,
together with any child it left behind.  Ports come from the kernel (bind
to port 0).  WHOISD_BUILD names the build directory (build or build-san).
Set WHOISD_KEEP_LOGS=1 to keep each test's logs under /tmp.
"""
import atexit
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time

import pytest

import frames as F
from ports import free_port  # noqa: F401  (the tests import it from here)

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.path.join(TOP, os.environ.get("WHOISD_BUILD", "build"))
BIN = os.path.join(BUILD, "bin")
LINK_DAEMONS = ("whoisd", "whoisd-cache", "whoisd-query", "whoisd-errdb")


def make_keys():
    """One key directory per test run, as `whoisctl keygen` makes it at
    install; whoisctl and frames.py find it in $WHOISD_KEYS, daemons get
    --link_keys from Procs.start."""
    d = tempfile.mkdtemp(prefix="whoisd-keys-")
    atexit.register(shutil.rmtree, d, True)
    r = subprocess.run([os.path.join(BIN, "whoisctl"), "keygen",
                        os.path.join(d, "keys")], stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE, text=True)
    if r.returncode != 0 and "usage:" in r.stderr:
        return None     # a build from before the handshake (benchmarks)
    assert r.returncode == 0, r.stderr
    return os.path.join(d, "keys")


KEYS = make_keys() if os.path.exists(os.path.join(BIN, "whoisctl")) else None
if KEYS:
    os.environ["WHOISD_KEYS"] = KEYS


def with_keys(argv, keys=None):
    """argv of a daemon with --link_keys first (a later one in argv
    wins)."""
    if os.path.basename(argv[0]) in LINK_DAEMONS and (keys or KEYS):
        return [argv[0], "--link_keys=" + (keys or KEYS)] + list(argv[1:])
    return list(argv)




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


def proc_stat(pid):
    """The fields of /proc/<pid>/stat after the command name (state first,
    then the parent's pid), or None once pid is gone."""
    try:
        with open("/proc/%s/stat" % pid) as f:
            st = f.read()
    except OSError:
        return None
    return st[st.rfind(")") + 2:].split()


def children_of(pid):
    """Pids whose parent is pid (from /proc)."""
    out = []
    for d in os.listdir("/proc"):
        st = proc_stat(d) if d.isdigit() else None
        if st is not None and int(st[1]) == pid:
            out.append(int(d))
    return out


def proc_state(pid):
    st = proc_stat(pid)
    return st[0] if st is not None else None


def zombies_of(pid):
    return [c for c in children_of(pid) if proc_state(c) == "Z"]


def live_children(pid):
    return [c for c in children_of(pid) if proc_state(c) not in (None, "Z")]


def fd_count(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def pid_alive(pid):
    st = proc_state(pid)
    return st is not None and st != "Z"


def stop_process(p, kids, sig=signal.SIGTERM, timeout=5.0):
    """Stop p (a Popen) with sig, SIGKILL once timeout has passed; then
    SIGKILL kids (whatever it left behind), by pid."""
    if p.poll() is None:
        try:
            os.kill(p.pid, sig)
        except ProcessLookupError:
            pass
        try:
            p.wait(timeout)
        except subprocess.TimeoutExpired:
            os.kill(p.pid, signal.SIGKILL)
            p.wait(5)
    for k in kids:
        try:
            os.kill(k, signal.SIGKILL)
        except ProcessLookupError:
            pass


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
        stop_process(self.p, kids, sig, timeout)
        self.logf.close()
        return self.p.returncode


class Procs:
    def __init__(self, tmp):
        self.tmp = tmp
        self.procs = []

    def start(self, argv, name=None, env=None, cwd=None):
        name = name or os.path.basename(argv[0])
        argv = with_keys(argv)
        log = os.path.join(self.tmp, "%s-%d.log" % (name, len(self.procs)))
        p = Proc(argv, log, env=env, cwd=cwd)
        self.procs.append(p)
        return p

    def stop_all(self):
        for p in reversed(self.procs):
            if p.logf.closed:
                continue
            p.stop(signal.SIGKILL if not p.running() else signal.SIGTERM)


def listening(p, port, wait_ready=True):
    """p (a Proc) once it listens on port and, with wait_ready, has logged
    "ready:" (its children serve); p.port is port.  Fails as soon as p
    dies."""
    name = os.path.basename(p.argv[0])
    wait_for(lambda: port_open(port) or not p.running(), timeout=10,
             what="%s listening" % name)
    assert p.running(), "%s died:\n%s" % (name, p.logtext())
    if wait_ready:
        p.wait_log("ready:", timeout=10)
    p.port = port
    return p


def start_store(procs, tmp, daemon, db, *args, port=None, servers=1):
    """whoisd-<daemon> (cache or errdb) with its database at tmp/db and a
    pool of servers children, serving on port (a free one by default)."""
    port = port or free_port()
    argv = [os.path.join(BIN, "whoisd-" + daemon), "-f", "/dev/null",
            "--listen=127.0.0.1:%d" % port,
            "--db_path=" + os.path.join(tmp, db),
            "--min_servers=%d" % servers, "--max_servers=%d" % (servers + 1),
            "--min_spare_servers=0", "--max_spare_servers=%d" % servers,
            "--log_level=3"] + list(args)
    return listening(procs.start(argv, name=daemon), port)


@contextlib.contextmanager
def writing(port, write, threads=4):
    """threads writers, each on a connection of its own to port, calling
    write(c, k, i) for i = 0, 1, ... (k: which writer) until the block
    ends.  A writer whose connection breaks (the daemon killed under it)
    stops there."""
    stop = threading.Event()

    def writer(k):
        try:
            with F.Conn(port, timeout=5) as c:
                i = 0
                while not stop.is_set():
                    write(c, k, i)
                    i += 1
        except (F.Closed, OSError):
            pass

    ts = [threading.Thread(target=writer, args=(k,)) for k in range(threads)]
    for t in ts:
        t.start()
    try:
        yield
    finally:
        stop.set()
        for t in ts:
            t.join(10)


def check_malformed(p, max_frame, link_serves, serves):
    """Each of F.malformed_inputs(max_frame) on a connection of its own to
    p: a bad-frame err or a plain close, never a hang, or an unknown-type
    err on a link that stays open (link_serves(c) checks it); a log line
    about the first of each kind (later ones are rate-limited per
    process), p still up, and serves(c, name) on a new connection."""
    logged = set()
    for name, data, closes in F.malformed_inputs(max_frame):
        before = len(p.logtext())
        c = F.Conn(p.port)
        c.send_raw(data)
        if closes:
            c.sock.shutdown(socket.SHUT_WR)
            for r in F.split_frames(c.read_to_eof()):
                assert r["t"] == "err" and r["code"] == "bad-frame", (name, r)
        else:
            r = c.recv()
            assert r["t"] == "err" and r["code"] == "unknown-type", r
            link_serves(c)
        c.close()
        if closes not in logged:
            wait_for(lambda: len(p.logtext()) > before, timeout=5,
                     what="a log line about %s" % name)
            logged.add(closes)
        assert p.running(), name
        with F.Conn(p.port) as ok:
            serves(ok, name)
    # One line, not one per connection: a peer cannot flood the log.
    assert p.logtext().count("link_bad:") <= 2, p.logtext()[-3000:]


class LoadThreads(threading.Thread):
    """A steady load from several threads until finish(): run() starts
    the threads a subclass's workers() makes and waits for them.  They
    count ok and failures under lock and stop once stop_ev is set."""

    def __init__(self, threads):
        super().__init__(daemon=True)
        self.nthreads = threads
        self.ok = 0
        self.failures = []
        self.stop_ev = threading.Event()
        self.lock = threading.Lock()

    def run(self):
        ts = self.workers()
        for t in ts:
            t.start()
        for t in ts:
            t.join()

    def finish(self, timeout=30):
        self.stop_ev.set()
        self.join(timeout)


def remove_tmp(d):
    """Remove a test's temporary directory, unless WHOISD_KEEP_LOGS."""
    if os.environ.get("WHOISD_KEEP_LOGS"):
        print("logs kept in", d)
    else:
        shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def tmpdir_path(request):
    d = tempfile.mkdtemp(prefix="whoisd-test-")
    yield d
    remove_tmp(d)


SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer",
                   "runtime error:")


def sanitizer_reports(ps):
    """The first sanitizer report in the log of each process of ps (a
    Procs), with some context."""
    reports = []
    for p in ps.procs:
        text = p.logtext() if os.path.exists(p.log) else ""
        for mark in SANITIZER_MARKS:
            if mark in text:
                i = text.index(mark)
                reports.append("%s in %s:\n%s" % (
                    mark, p.log, text[max(0, i - 200):i + 3000]))
    return reports


@pytest.fixture
def procs(tmpdir_path):
    ps = Procs(tmpdir_path)
    yield ps
    ps.stop_all()
    # A sanitizer report in any process's log fails the test.
    reports = sanitizer_reports(ps)
    if reports:
        pytest.fail(reports[0])


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
