"""Start and drive whoisd-regsim, the registry simulator, from pytest.

    from regsim_helper import Regsim

    with Regsim("--latency-ms=50") as rs:
        rs.query("example.com")      # raw socket, bytes of the answer
        rs.whois("example.com")      # the Debian whois client, str
        rs.stats()["total"]          # queries that reached "the registry"

The binary is $WHOISD_BUILD/bin/whoisd-regsim (WHOISD_BUILD defaults to
"build", relative to the top of the tree).  Each instance listens on a free
loopback port, is started from the top of the tree, logs at level 3 (one
line per query) into a temporary file, and is stopped by pid.  With no
corpus= or data= it uses the simulator's defaults (tests/corpus, else
tests/regsim/fixtures; tests/regsim/regsim.conf); data="none" means the
default rule only.  close() (or leaving the with block) fails unless the
process exited 0 with no sanitizer report in its log.
"""

import json
import os
import select
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from ports import free_port

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "regsim" / "fixtures"


def build_dir():
    b = Path(os.environ.get("WHOISD_BUILD", "build"))
    return b if b.is_absolute() else ROOT / b


def regsim_binary():
    return build_dir() / "bin" / "whoisd-regsim"




def raw_query(port, line, host="127.0.0.1", timeout=10.0, source=None,
              eol=b"\r\n", half_close=False):
    """Send one query line, read to EOF; the answer as bytes."""
    if isinstance(line, str):
        line = line.encode()
    with socket.create_connection((host, port), timeout=timeout,
                                  source_address=(source, 0) if source else None) as s:
        s.sendall(line + eol)
        if half_close:
            s.shutdown(socket.SHUT_WR)
        chunks = []
        while True:
            b = s.recv(65536)
            if not b:
                break
            chunks.append(b)
        return b"".join(chunks)


class Regsim:
    """One whoisd-regsim process on a free port."""

    def __init__(self, *args, data=None, corpus=None, log_level=3,
                 cwd=ROOT, start=True):
        self.args = list(args)
        self.data = data
        self.corpus = corpus
        self.log_level = log_level
        self.cwd = cwd
        self.proc = None
        self.port = None
        self.host = "127.0.0.1"
        self._log = tempfile.NamedTemporaryFile(prefix="regsim-", suffix=".log",
                                                delete=False)
        if start:
            self.start()

    def command(self):
        cmd = [str(regsim_binary()), "--listen=127.0.0.1:%d" % self.port,
               "--log-level=%d" % self.log_level]
        if self.corpus is not None:
            cmd.append("--corpus=%s" % self.corpus)
        if self.data is not None:
            cmd.append("--data=%s" % self.data)
        return cmd + self.args

    def start(self, timeout=10.0):
        self.port = free_port()
        self.proc = subprocess.Popen(self.command(), cwd=str(self.cwd),
                                     stdout=subprocess.PIPE,
                                     stderr=self._log)
        deadline = time.monotonic() + timeout
        line = b""
        while time.monotonic() < deadline:
            r, _, _ = select.select([self.proc.stdout], [], [], 0.1)
            if r:
                line = self.proc.stdout.readline()
                break
            if self.proc.poll() is not None:
                break
        if not line.startswith(b"regsim: listening on "):
            self.stop()
            raise RuntimeError("whoisd-regsim did not start: %r\n%s"
                               % (line, self.log()))
        addr = line.decode().split()[-1]
        assert addr == "127.0.0.1:%d" % self.port, addr
        return self

    def query(self, line, **kw):
        return raw_query(self.port, line, host=self.host, **kw)

    def whois(self, name, timeout=20):
        """Ask with the real Debian whois client."""
        out = subprocess.run(["whois", "-h", self.host, "-p", str(self.port),
                              name], capture_output=True, timeout=timeout)
        return out.stdout.decode("utf-8", "replace")

    def stats(self):
        return json.loads(self.query("#stats"))

    def reset(self):
        return json.loads(self.query("#reset"))

    def send_signal(self, sig):
        self.proc.send_signal(sig)

    def log(self):
        with open(self._log.name, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def wait_log(self, text, timeout=5.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.log():
                return True
            time.sleep(0.02)
        return False

    def stop(self, sig=signal.SIGTERM, timeout=10.0):
        """Stop by pid; the exit status (killed with SIGKILL if it hangs)."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc.stdout:
            self.proc.stdout.close()
        return self.proc.returncode

    def close(self, check=True):
        """Stop it; with check, fail unless it exited 0 with a clean log
        (no sanitizer report, no error line)."""
        rc = self.stop()
        log = self.log()
        try:
            os.unlink(self._log.name)
        except OSError:
            pass
        self._log.close()
        if check and rc is not None:
            bad = [l for l in log.splitlines()
                   if "Sanitizer" in l or "runtime error" in l
                   or " error: " in l]
            if rc != 0 or bad:
                raise AssertionError("whoisd-regsim exited %s:\n%s"
                                     % (rc, log[-4000:]))

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        self.close(check=exc_type is None)
