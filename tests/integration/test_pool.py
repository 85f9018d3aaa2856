"""The preforking pool, proven on test-echod with real processes and signals."""
import json
import os
import pwd
import re
import signal
import socket
import subprocess
import threading
import time

import pytest

from conftest import (BIN, LoadThreads, children_of, fd_count, free_port,
                      line_request, live_children, pid_alive, port_open,
                      read_all, wait_for, zombies_of)

ECHOD = os.path.join(BIN, "test-echod")


def start_echod(procs, *args, conf=None, env=None, name="echod", wait=True):
    port = free_port()
    argv = [ECHOD, "-f", conf or "/dev/null", "--listen=127.0.0.1:%d" % port,
            "--log_level=4"] + list(args)
    p = procs.start(argv, name=name, env=env)
    p.port = port
    if wait:
        p.wait_log("ready:", timeout=10)
    return p


def stats(port):
    return json.loads(line_request(port, "stats"))


class Load(LoadThreads):
    """A loop of one-shot requests from several threads; counts failures."""

    def __init__(self, port, line="hello", threads=4, expect=None):
        super().__init__(threads)
        self.port, self.line = port, line
        self.expect = expect

    def worker(self):
        while not self.stop_ev.is_set():
            try:
                r = line_request(self.port, self.line, timeout=10)
                good = r != "" and (self.expect is None or self.expect(r))
                with self.lock:
                    if good:
                        self.ok += 1
                    else:
                        self.failures.append(r)
            except OSError as e:
                with self.lock:
                    self.failures.append(repr(e))

    def workers(self):
        return [threading.Thread(target=self.worker, daemon=True)
                for _ in range(self.nthreads)]


def test_min_servers_started(procs):
    p = start_echod(procs, "--min_servers=4", "--max_servers=8",
                    "--min_spare_servers=0", "--max_spare_servers=6")
    wait_for(lambda: len(live_children(p.pid)) == 4, what="4 children")
    time.sleep(0.5)
    assert len(live_children(p.pid)) == 4
    assert line_request(p.port, "hello") == "hello"


def test_kill_child_replaced_fast_no_zombies_no_fd_leak(procs):
    p = start_echod(procs, "--min_servers=3", "--max_servers=6",
                    "--min_spare_servers=0", "--max_spare_servers=4",
                    "--spawn_rate_max=1024")
    wait_for(lambda: len(live_children(p.pid)) == 3)
    fds_before = fd_count(p.pid)
    # One kill: a replacement within 1 s.
    victim = live_children(p.pid)[0]
    t0 = time.monotonic()
    os.kill(victim, signal.SIGKILL)
    wait_for(lambda: victim not in children_of(p.pid) and
             len(live_children(p.pid)) == 3, timeout=1.0,
             what="replacement within 1 s")
    assert time.monotonic() - t0 < 1.0
    # 200 kills in a row.
    for i in range(200):
        kids = live_children(p.pid)
        assert kids, "no children left"
        victim = kids[i % len(kids)]
        os.kill(victim, signal.SIGKILL)
        # A killed child shows as running until the kernel has torn it
        # down (long for a sanitizer build's mappings): wait until it is
        # gone, or the next listing may name a child already reaped.
        wait_for(lambda: victim not in children_of(p.pid) and
                 len(live_children(p.pid)) == 3 and
                 not zombies_of(p.pid), timeout=2.0,
                 what="pool back to 3 after kill %d" % i)
    time.sleep(0.5)
    assert zombies_of(p.pid) == []
    assert fd_count(p.pid) == fds_before
    assert line_request(p.port, "hello") == "hello"
    assert pid_alive(p.pid)


def retire_intervals(log):
    """From the debug log: [retire time, exit time] per child pid."""
    starts, ends = {}, {}
    for m in re.finditer(r"^(\S+)Z \S+ master \w+: retiring child (\d+) "
                         r"\(max_requests reached\)", log, re.M):
        starts[m.group(2)] = m.group(1)
    for m in re.finditer(r"^(\S+)Z \S+ master \w+: child (\d+) exited", log,
                         re.M):
        ends[m.group(2)] = m.group(1)
    return starts, ends


def test_max_requests_jitter_retires_few_at_once(procs):
    p = start_echod(procs, "--min_servers=6", "--max_servers=10",
                    "--min_spare_servers=0", "--max_spare_servers=8",
                    "--max_requests=30", "--max_requests_jitter=10",
                    "--max_clients_per_child=4")
    # Slow requests, so a retiring child has clients to finish.
    load = Load(p.port, line="sleep 0.05", threads=12,
                expect=lambda r: r == "slept 0.05")
    load.start()
    time.sleep(6)
    load.finish()
    log = p.logtext()
    starts, ends = retire_intervals(log)
    assert len(starts) >= 6, "expected several retirements, got %d" % len(starts)
    assert load.failures == [], load.failures[:5]
    assert load.ok > 300
    # Count how many children were retiring at once, from the log times.
    events = []
    for pid, t in starts.items():
        events.append((t, 1))
        if pid in ends:
            events.append((ends[pid], -1))
    events.sort(key=lambda e: (e[0], e[1]))
    cur = peak = 0
    for _, d in events:
        cur += d
        peak = max(peak, cur)
    assert 1 <= peak <= 2, "peak concurrent retirements %d" % peak
    assert pid_alive(p.pid)


def test_pool_grows_to_max_and_shrinks_back(procs):
    p = start_echod(procs, "--min_servers=2", "--max_servers=6",
                    "--min_spare_servers=1", "--max_spare_servers=3",
                    "--max_clients_per_child=1", "--spawn_rate_max=8")
    wait_for(lambda: len(live_children(p.pid)) >= 2)
    socks = []
    peak = 0
    # 10 slow clients: every child holds one, the pool must stop at 6.
    for _ in range(10):
        s = socket.create_connection(("127.0.0.1", p.port))
        s.sendall(b"sleep 4\n")
        socks.append(s)
    deadline = time.monotonic() + 3.5
    while time.monotonic() < deadline:
        n = len(live_children(p.pid))
        peak = max(peak, n)
        assert n <= 6, "pool above max_servers: %d" % n
        time.sleep(0.05)
    assert peak == 6, "pool did not grow to max_servers (peak %d)" % peak
    assert "saturated: every child busy" in p.logtext()
    # Everyone is answered eventually (the queued ones after the first 6).
    for s in socks:
        s.settimeout(15)
        assert s.recv(100) == b"slept 4\n"
        s.close()
    # Load gone: idle children above max_spare_servers retire, one a second.
    wait_for(lambda: len(live_children(p.pid)) == 3, timeout=12,
             what="shrink to max_spare_servers")
    time.sleep(1.5)
    assert len(live_children(p.pid)) == 3


def test_child_timeout_kills_stuck_child_and_names_request(procs):
    p = start_echod(procs, "--min_servers=2", "--max_servers=4",
                    "--min_spare_servers=1", "--max_spare_servers=3",
                    "--child_timeout=1")
    s = socket.create_connection(("127.0.0.1", p.port))
    s.sendall(b"block 30\n")
    wait_for(lambda: "killing child" in p.logtext(), timeout=6,
             what="child_timeout kill")
    log = p.logtext()
    assert re.search(r"killing child \d+: stuck [\d.]+s \(child_timeout "
                     r"1.0s\) on request 'block 30'", log), log
    assert "stuck past child_timeout on request 'block 30'" in log
    s.settimeout(5)
    assert s.recv(100) == b""      # its client is cut, nobody else's
    s.close()
    assert line_request(p.port, "hello") == "hello"


def test_hup_ttin_ttou_under_load(procs, tmpdir_path):
    conf = os.path.join(tmpdir_path, "echod.conf")
    with open(conf, "w") as f:
        f.write("# test config\nmin_servers 3\nmax_servers 10\n"
                "min_spare_servers 1\nmax_spare_servers 5\necho_prefix old:\n")
    p = start_echod(procs, conf=conf)
    master = p.pid
    load = Load(p.port, line="x", threads=6,
                expect=lambda r: r in ("old:x", "new:x"))
    load.start()
    time.sleep(0.5)
    with open(conf, "w") as f:
        f.write("min_servers 4\nmax_servers 10\nmin_spare_servers 1\n"
                "max_spare_servers 5\necho_prefix new:\n")
    p.sig(signal.SIGHUP)
    p.wait_log("reload done", timeout=10)
    for _ in range(3):
        p.sig(signal.SIGTTIN)
        time.sleep(0.3)
    wait_for(lambda: len(live_children(master)) >= 7, timeout=5,
             what="TTIN adds children")
    for _ in range(2):
        p.sig(signal.SIGTTOU)
        time.sleep(0.3)
    time.sleep(1)
    load.finish()
    assert load.failures == [], load.failures[:5]
    assert load.ok > 100
    assert pid_alive(master) and p.pid == master
    # New config in effect in every child: ask many times.
    for _ in range(20):
        assert line_request(p.port, "y") == "new:y"
    log = p.logtext()
    assert "TTIN: min_servers 5" in log and "TTOU: min_servers 6" in log


def test_hup_with_broken_config_keeps_running(procs, tmpdir_path):
    conf = os.path.join(tmpdir_path, "echod.conf")
    with open(conf, "w") as f:
        f.write("min_servers 2\necho_prefix a:\n")
    p = start_echod(procs, conf=conf)
    with open(conf, "w") as f:
        f.write("min_servers 2\nbogus_key 1\n")
    p.sig(signal.SIGHUP)
    p.wait_log("reload failed, keeping the running config", timeout=5)
    assert "echod.conf:2: bogus_key: unknown key" in p.logtext()
    assert line_request(p.port, "z") == "a:z"


def test_quit_finishes_inflight_term_stops_fast(procs):
    p = start_echod(procs, "--min_servers=2", "--shutdown_timeout=10")
    s = socket.create_connection(("127.0.0.1", p.port))
    s.sendall(b"sleep 1.5\n")
    time.sleep(0.3)
    p.sig(signal.SIGQUIT)
    s.settimeout(5)
    assert s.recv(100) == b"slept 1.5\n"
    s.close()
    p.p.wait(5)
    assert p.p.returncode == 0
    assert children_of(p.pid) == []

    q = start_echod(procs, "--min_servers=3", name="echod2")
    kids = live_children(q.pid)
    s = socket.create_connection(("127.0.0.1", q.port))
    s.sendall(b"sleep 30\n")
    time.sleep(0.2)
    t0 = time.monotonic()
    q.sig(signal.SIGTERM)
    q.p.wait(5)
    assert time.monotonic() - t0 < 1.0
    for k in kids:
        assert not pid_alive(k)
    s.close()


def notify_listener(tmpdir_path):
    path = os.path.join(tmpdir_path, "notify.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.settimeout(0.2)
    msgs = []

    def drain(until, timeout=10):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                msgs.append(sock.recv(4096).decode())
            except socket.timeout:
                pass
            if until(msgs):
                return msgs
        raise AssertionError("notify: timed out; got %r" % msgs)
    return path, sock, msgs, drain


def test_sd_notify_messages(procs, tmpdir_path):
    path, sock, msgs, drain = notify_listener(tmpdir_path)
    p = start_echod(procs, "--min_servers=2",
                    env={"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "400000"})
    drain(lambda m: any("READY=1" in x for x in m))
    drain(lambda m: any(x.startswith("STATUS=children") or
                        "\nSTATUS=children" in x for x in m))
    drain(lambda m: sum("WATCHDOG=1" in x for x in m) >= 3, timeout=3)
    p.sig(signal.SIGHUP)
    drain(lambda m: any("RELOADING=1" in x for x in m))
    n = len(msgs)
    drain(lambda m: any("READY=1" in x for x in m[n:]))
    p.sig(signal.SIGTERM)
    drain(lambda m: any("STOPPING=1" in x for x in m))
    sock.close()


def listening_ports(pid):
    """TCP ports in LISTEN state among pid's sockets."""
    inodes = set()
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            t = os.readlink("/proc/%d/fd/%s" % (pid, fd))
        except OSError:
            continue
        if t.startswith("socket:["):
            inodes.add(t[8:-1])
    ports = set()
    for tab in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(tab) as f:
            for line in f.readlines()[1:]:
                parts = line.split()
                if parts[3] == "0A" and parts[9] in inodes:
                    ports.add(int(parts[1].split(":")[1], 16))
    return ports


def test_socket_activation(procs):
    port, other = free_port(), free_port()
    p = procs.start(["systemd-socket-activate", "-l", "127.0.0.1:%d" % port,
                     ECHOD, "-f", "/dev/null",
                     "--listen=127.0.0.1:%d" % other, "--min_servers=2"],
                    name="activated")
    wait_for(lambda: port_open(port), what="activation socket")
    # The first connection starts the daemon with the socket handed over.
    assert line_request(port, "hi", timeout=10) == "hi"
    p.wait_log("using socket \"listen\" from systemd")
    assert listening_ports(p.pid) == {port}
    assert not port_open(other)


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to drop privileges")
def test_privilege_drop_to_nobody(procs):
    nobody = pwd.getpwnam("nobody").pw_uid
    p = start_echod(procs, "--user=nobody", "--min_servers=2")
    assert line_request(p.port, "uid") == str(nobody)
    for k in live_children(p.pid):
        with open("/proc/%d/status" % k) as f:
            uids = [l for l in f if l.startswith("Uid:")][0].split()[1:]
        assert all(int(u) == nobody for u in uids)


def test_cidr_deny_refuses_and_logs(procs):
    p = start_echod(procs, "--cidr_deny=127.0.0.0/8")
    assert read_all(p.port, b"hello\n") == b""
    p.wait_log("refused connection from 127.0.0.1")
    assert "matches cidr_deny" in p.logtext()
    q = start_echod(procs, "--cidr_allow=10.0.0.0/8", name="echod-allow")
    assert read_all(q.port, b"hello\n") == b""
    q.wait_log("not in cidr_allow")
    r = start_echod(procs, "--cidr_allow=127.0.0.1/32", "--cidr_allow=::1",
                    name="echod-allow2")
    assert line_request(r.port, "hello") == "hello"


def test_bad_config_exits_with_file_and_line(tmpdir_path):
    conf = os.path.join(tmpdir_path, "bad.conf")
    port = free_port()
    with open(conf, "w") as f:
        f.write("# comment\n\nmin_servers 2\nmax_servers lots\n")
    r = subprocess.run([ECHOD, "-f", conf, "--listen=127.0.0.1:%d" % port],
                       capture_output=True, text=True, timeout=10)
    assert r.returncode != 0
    assert "bad.conf:4: max_servers: \"lots\" is not an integer" in r.stderr
    assert not port_open(port)
    with open(conf, "w") as f:
        f.write("min_servers 2\nno_such_key 1\n")
    r = subprocess.run([ECHOD, "-f", conf], capture_output=True, text=True,
                       timeout=10)
    assert r.returncode != 0 and "bad.conf:2: no_such_key: unknown key" in r.stderr
    r = subprocess.run([ECHOD, "-f", os.path.join(tmpdir_path, "missing")],
                       capture_output=True, text=True, timeout=10)
    assert r.returncode != 0 and "No such file" in r.stderr
    r = subprocess.run([ECHOD, "-f", "/dev/null", "--max_spare_servers=9",
                        "--max_servers=4"], capture_output=True, text=True,
                       timeout=10)
    assert r.returncode != 0 and "max_spare_servers (9) must be" in r.stderr
    r = subprocess.run([ECHOD, "--help"], capture_output=True, text=True)
    assert r.returncode == 0 and "max_clients_per_child" in r.stdout
    r = subprocess.run([ECHOD, "--version"], capture_output=True, text=True)
    assert r.returncode == 0 and "protocol" in r.stdout


def test_bad_input_answered_child_keeps_serving(procs):
    p = start_echod(procs, "--min_servers=1", "--max_servers=2",
                    "--min_spare_servers=0", "--max_spare_servers=1",
                    "--idle_timeout=1")
    kid = live_children(p.pid)
    # A 1 MB line.
    r = read_all(p.port, b"a" * (1 << 20) + b"\n")
    assert r == b"ERR line too long\n"
    # Binary bytes.
    assert read_all(p.port, b"\x00\x01\xff\xfe\n") == b"ERR bad bytes\n"
    # A client that connects and never writes is timed out...
    silent = socket.create_connection(("127.0.0.1", p.port))
    # ... while others are served meanwhile.
    assert line_request(p.port, "still here") == "still here"
    silent.settimeout(5)
    assert silent.recv(100) == b"ERR idle timeout\n"
    silent.close()
    assert live_children(p.pid) == kid


def ctx_switches(pids):
    total = 0
    for pid in pids:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("voluntary_ctxt_switches:"):
                    total += int(line.split()[1])
    return total


def test_no_thundering_herd(procs):
    """Count the children's wake-ups per connection: EPOLLEXCLUSIVE vs none.

    Every time a sleeping child is woken it makes one voluntary context
    switch when it sleeps again, so the children's summed
    voluntary_ctxt_switches over N sequential connections counts the
    wake-ups.  With one shared listener polled by every child (`none`),
    each connection wakes all 8 children; with EPOLLEXCLUSIVE about one.
    """
    def run(serialize, name):
        p = start_echod(procs, "--min_servers=8", "--max_servers=10",
                        "--min_spare_servers=0", "--max_spare_servers=9",
                        "--serialize=" + serialize, name=name)
        wait_for(lambda: len(stats(p.port)["children"]) == 8)
        time.sleep(0.3)
        kids = live_children(p.pid)
        before = stats(p.port)
        csw0 = ctx_switches(kids)
        for _ in range(300):
            assert line_request(p.port, "x") == "x"
            time.sleep(0.002)
        csw1 = ctx_switches(kids)
        after = stats(p.port)
        assert sorted(live_children(p.pid)) == sorted(kids)
        p.stop()
        acc = after["accepts"] - before["accepts"]
        return (csw1 - csw0) / acc, after["wasted"] - before["wasted"], acc
    wake_ex, wasted_ex, acc_ex = run("epoll", "echod-epoll")
    wake_none, wasted_none, acc_none = run("none", "echod-none")
    print("wake-ups per connection: epoll %.2f, none %.2f; accept() "
          "finding nothing: epoll %d, none %d, of %d"
          % (wake_ex, wake_none, wasted_ex, wasted_none, acc_ex))
    assert acc_ex >= 300 and acc_none >= 300
    # About one child woken per connection (the accept, plus the reply).
    assert wake_ex <= 3.0, wake_ex
    # A shared listener without exclusivity wakes every idle child.
    assert wake_none >= 5.0, wake_none
    assert wasted_ex <= acc_ex * 0.25, (wasted_ex, acc_ex)


def test_usr1_reopens_log_file(procs, tmpdir_path):
    log = os.path.join(tmpdir_path, "echod.log")
    p = start_echod(procs, "--log_file=" + log, "--min_servers=2", wait=False)
    wait_for(lambda: os.path.exists(log) and "ready:" in open(log).read())
    os.rename(log, log + ".1")
    p.sig(signal.SIGUSR1)
    wait_for(lambda: os.path.exists(log), what="a new log file")
    p.sig(signal.SIGHUP)
    wait_for(lambda: "reload done" in open(log).read(),
             what="lines in the new file")
    assert "reload done" not in open(log + ".1").read()


def test_background_and_pid_file(tmpdir_path):
    pidf = os.path.join(tmpdir_path, "echod.pid")
    log = os.path.join(tmpdir_path, "bg.log")
    port = free_port()
    r = subprocess.run([ECHOD, "-f", "/dev/null",
                        "--listen=127.0.0.1:%d" % port, "--background=1",
                        "--pid_file=" + pidf, "--log_file=" + log],
                       timeout=10)
    assert r.returncode == 0
    pid = int(wait_for(lambda: os.path.exists(pidf) and
                       open(pidf).read().strip(), what="pid file"))
    try:
        wait_for(lambda: line_request(port, "x") == "x" if port_open(port)
                 else False, what="background daemon serving")
        assert pid_alive(pid)
        with open("/proc/%d/stat" % pid) as f:
            st = f.read()
        # Detached: its own session, not ours.
        assert int(st[st.rfind(")") + 2:].split()[3]) != os.getsid(0)
    finally:
        kids = children_of(pid)
        os.kill(pid, signal.SIGTERM)
        wait_for(lambda: not pid_alive(pid), what="background daemon exit")
        for k in kids:
            if pid_alive(k):
                os.kill(k, signal.SIGKILL)
    assert not os.path.exists(pidf)


def test_whoisctl_reload_waits_and_reports(procs, tmpdir_path):
    conf = os.path.join(tmpdir_path, "echod.conf")
    status = os.path.join(tmpdir_path, "echod.status")
    with open(conf, "w") as f:
        f.write("min_servers 2\necho_prefix one:\nstatus_file %s\n" % status)
    p = start_echod(procs, conf=conf)
    wait_for(lambda: os.path.exists(status))
    with open(conf, "w") as f:
        f.write("min_servers 2\necho_prefix two:\nstatus_file %s\n" % status)
    ctl = os.path.join(BIN, "whoisctl")
    r = subprocess.run([ctl, "reload", str(p.pid), status],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    assert "generation 2" in r.stdout
    # When whoisctl returns, the new config is what every child answers.
    for _ in range(10):
        assert line_request(p.port, "x") == "two:x"
    with open(conf, "w") as f:
        f.write("min_servers 2\nbroken\n")
    r = subprocess.run([ctl, "reload", str(p.pid), status],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 1 and "failed" in r.stderr
    assert line_request(p.port, "x") == "two:x"


def start_echod_nofile(procs, port, nofile, log_level):
    """One echod child, max_clients_per_child=1000, under prlimit."""
    argv = ["prlimit", "--nofile=%s" % nofile, "--", ECHOD, "-f", "/dev/null",
            "--listen=127.0.0.1:%d" % port, "--log_level=%d" % log_level,
            "--min_servers=1", "--max_servers=1", "--min_spare_servers=0",
            "--max_spare_servers=1", "--max_clients_per_child=1000"]
    p = procs.start(argv, name="echod")
    p.wait_log("ready:", timeout=10)
    return p


def test_soft_open_files_limit_is_raised_for_max_clients_per_child(procs):
    """A soft limit below the hard one is raised to it (up to 65,536; the
    usual 1,024 is for select(), the pool uses epoll), and the children
    inherit it: max_clients_per_child is not lowered."""
    p = start_echod_nofile(procs, free_port(), "200:5000", 3)
    log = p.logtext()
    assert "does not fit" not in log, log
    kids = children_of(p.pid)
    assert kids
    for pid in [p.pid] + kids:
        with open("/proc/%d/limits" % pid) as f:
            line = [x for x in f if x.startswith("Max open files")][0]
        assert line.split()[3:5] == ["5000", "5000"], line


def test_max_clients_per_child_fits_the_open_files_limit(procs):
    """A child never takes more clients than its descriptors allow: under
    `ulimit -n 200` max_clients_per_child=1000 is lowered with a warning,
    and 250 slow clients (more than fit) are all answered, the rest
    waiting in the kernel's queue instead of failing with EMFILE."""
    port = free_port()
    p = start_echod_nofile(procs, port, "200:200", 4)
    assert "max_clients_per_child 1000 does not fit the open-files limit " \
        "200: using 136" in p.logtext()
    socks = []
    try:
        for i in range(250):
            c = socket.create_connection(("127.0.0.1", port), 5)
            c.sendall(b"sleep 0.3\n")
            socks.append(c)
        for c in socks:
            c.settimeout(20)
            assert c.makefile("rb").readline().strip() == b"slept 0.3"
    finally:
        for c in socks:
            c.close()
    log = p.logtext()
    assert "Too many open files" not in log, log[-2000:]
