"""A real systemd in a container, for tests: systemd-nspawn booting the
host's own /usr with an empty, volatile root.

    with Machine("whoisd-test", binds={"/opt/whoisd": destdir}) as m:
        m.run("systemctl", "start", "whoisd.target")

/etc and /var inside are tmpfs, so every boot starts clean.  The
container shares the host's network: a socket it listens on is on the
host's loopback.  Entered with nsenter (machinectl and `systemctl -M`
do not work when the host's PID 1 is not systemd).
"""
import os
import shutil
import signal
import subprocess
import time


class NspawnUnavailable(Exception):
    pass


def nspawn_problem():
    """None if systemd-nspawn can be used here, else why not."""
    if os.geteuid() != 0:
        return "systemd-nspawn needs root"
    for tool in ("systemd-nspawn", "nsenter"):
        if shutil.which(tool) is None:
            return "%s is not installed (Debian: systemd-container)" % tool
    if not os.path.isdir("/sys/fs/cgroup"):
        return "no cgroup file system"
    return None


class Machine:
    def __init__(self, name, binds=None, ro_binds=None, log=None, root=None):
        """root: a writable root directory to boot instead of the host's
        own (an overlay of it, for a package manager to write to)."""
        self.name = name
        self.root = root
        self.binds = binds or {}
        self.ro_binds = ro_binds or {}
        self.log = log or "/tmp/%s.console" % name
        self.proc = None
        self.leader = None

    def __enter__(self):
        self.boot()
        return self

    def __exit__(self, *exc):
        self.halt()

    def boot(self, timeout=60):
        argv = ["systemd-nspawn", "-q", "-D", self.root or "/"] + \
            (["--volatile=yes"] if self.root is None else []) + \
            ["--boot", "--register=no", "--keep-unit", "--console=pipe",
             "-M", self.name]
        for dst, src in self.ro_binds.items():
            argv.append("--bind-ro=%s:%s" % (src, dst))
        for dst, src in self.binds.items():
            argv.append("--bind=%s:%s" % (src, dst))
        argv.append("systemd.mask=systemd-firstboot.service")
        self.logf = open(self.log, "wb")
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                                     stdout=self.logf,
                                     stderr=subprocess.STDOUT,
                                     start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise NspawnUnavailable("systemd-nspawn exited %d: %s" % (
                    self.proc.returncode, open(self.log, "rb").read()[-2000:]))
            kids = self._children(self.proc.pid)
            if kids:
                self.leader = kids[0]
                r = self.run("systemctl", "is-system-running", check=False)
                if r.stdout.strip() in ("running", "degraded"):
                    return
            time.sleep(0.1)
        raise NspawnUnavailable("container did not boot in %ds" % timeout)

    @staticmethod
    def _children(pid):
        try:
            with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
                return [int(x) for x in f.read().split()]
        except OSError:
            return []

    def run(self, *argv, check=True, timeout=120, input=None):
        # The machine has its own /etc/whoisd/keys: not the host tests'.
        env = {k: v for k, v in os.environ.items() if k != "WHOISD_KEYS"}
        r = subprocess.run(["nsenter", "-t", str(self.leader), "-a"] +
                           list(argv), capture_output=True, text=True,
                           timeout=timeout, input=input, env=env)
        if check and r.returncode != 0:
            raise AssertionError("in %s: %s -> %d\n%s%s" % (
                self.name, " ".join(argv), r.returncode, r.stdout, r.stderr))
        return r

    def sh(self, script, check=True, timeout=120):
        return self.run("/bin/sh", "-c", script, check=check, timeout=timeout)

    def write(self, path, text):
        self.run("/bin/sh", "-c", "mkdir -p \"$(dirname '%s')\" && cat > '%s'"
                 % (path, path), input=text)

    def show(self, unit, prop):
        return self.run("systemctl", "show", "-p", prop, "--value",
                        unit).stdout.strip()

    def main_pid(self, unit):
        return int(self.show(unit, "MainPID"))

    def host_pid(self, unit):
        """The MainPID as seen from the host (pid namespaces differ)."""
        pid = self.main_pid(unit)
        r = self.run("/bin/sh", "-c", "readlink /proc/%d/ns/pid; cat "
                     "/proc/%d/stat" % (pid, pid))
        start = r.stdout.split("\n")[1].split()[21]
        for d in os.listdir("/proc"):
            if not d.isdigit():
                continue
            try:
                with open("/proc/%s/status" % d) as f:
                    st = f.read()
                nspid = [l for l in st.splitlines()
                         if l.startswith("NSpid:")][0].split()[1:]
                with open("/proc/%s/stat" % d) as f:
                    s2 = f.read()
            except (OSError, IndexError):
                continue
            if len(nspid) > 1 and int(nspid[-1]) == pid and \
                    s2[s2.rfind(")") + 2:].split()[19] == start:
                return int(d)
        raise AssertionError("host pid of %s not found" % unit)

    def halt(self, timeout=30):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.send_signal(signal.SIGTERM)
                try:
                    self.proc.wait(10)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait(10)
        self.logf.close()
        # nspawn leaves empty cgroup folders behind.
        for base in ("/sys/fs/cgroup/unified", "/sys/fs/cgroup/systemd"):
            for sub in ("payload", "supervisor"):
                d = os.path.join(base, sub)
                if os.path.isdir(d):
                    for root, dirs, _ in os.walk(d, topdown=False):
                        for x in dirs:
                            try:
                                os.rmdir(os.path.join(root, x))
                            except OSError:
                                pass
                    try:
                        os.rmdir(d)
                    except OSError:
                        pass
        self.proc = None
