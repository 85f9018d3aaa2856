"""The whole suite on free loopback ports: regsim, errdb, cache, query, front.

    s = Suite(procs, tmpdir).start()
    s.whois("example.com")        # the real Debian whois client -> Answer
    s.check(["a.com", "b.de"])    # curl GET /v1/check -> list of dicts
    s.sim_stats()                 # what reached "the registry"
    s.ctl("errors")               # the real whoisctl

Each daemon is a real process started by pid with its own SQLite file,
spool and log under the test's temporary directory.
"""
import json
import os
import signal
import subprocess

from conftest import BIN, TOP, free_port, listening, read_all


class Answer:
    """A whois-port answer: header fields and the registry text."""

    def __init__(self, raw):
        self.raw = raw
        head, _, self.text = raw.partition("\n\n")
        self.fields = {}
        for line in head.splitlines():
            k, sep, v = line.partition(": ")
            if sep:
                self.fields[k] = v

    def __getitem__(self, k):
        return self.fields[k]

    def get(self, k, d=None):
        return self.fields.get(k, d)

    def __repr__(self):
        return "Answer(%r)" % self.raw[:400]


def regsim_data(tmp, extra):
    """The simulator's tests/regsim/regsim.conf with the line extra after
    it, as a file in tmp for --data."""
    path = os.path.join(tmp, "regsim.conf")
    with open(os.path.join(TOP, "tests", "regsim", "regsim.conf")) as f:
        conf = f.read()
    with open(path, "w") as f:
        f.write(conf + "\n" + extra + "\n")
    return path


class Suite:
    def __init__(self, procs, tmp, regsim=(), errdb=(), cache=(), query=(),
                 front=(), bins=None):
        self.procs, self.tmp = procs, tmp
        # Per daemon, another build's bin/ (e.g. the previous protocol).
        self.bins = bins or {}
        self.args = {"regsim": list(regsim), "errdb": list(errdb),
                     "cache": list(cache), "query": list(query),
                     "front": list(front)}
        self.port = {n: free_port() for n in
                     ("regsim", "errdb", "cache", "query", "whois", "http")}
        self.p = {}
        self.spool = os.path.join(tmp, "spool")
        os.makedirs(self.spool, exist_ok=True)

    def argv(self, name):
        argv = self._argv(name)
        if name in self.bins:
            argv[0] = os.path.join(self.bins[name], os.path.basename(argv[0]))
        return argv

    def _argv(self, name):
        pt = self.port
        addr = lambda n: "127.0.0.1:%d" % pt[n]
        if name == "regsim":
            return [os.path.join(BIN, "whoisd-regsim"),
                    "--listen=" + addr("regsim"), "--log-level=3"] + \
                self.args["regsim"]
        if name == "errdb":
            return [os.path.join(BIN, "whoisd-errdb"), "-f", "/dev/null",
                    "--listen=" + addr("errdb"),
                    "--db_path=" + os.path.join(self.tmp, "errdb.db"),
                    "--min_servers=1", "--max_servers=2",
                    "--min_spare_servers=0", "--max_spare_servers=1",
                    "--log_level=3"] + self.args["errdb"]
        if name == "cache":
            return [os.path.join(BIN, "whoisd-cache"), "-f", "/dev/null",
                    "--listen=" + addr("cache"),
                    "--db_path=" + os.path.join(self.tmp, "cache.db"),
                    "--log_level=3"] + self.args["cache"]
        if name == "query":
            return [os.path.join(BIN, "whoisd-query"), "-f", "/dev/null",
                    "--listen=" + addr("query"),
                    "--cache_addr=" + addr("cache"),
                    "--errdb_addr=" + addr("errdb"),
                    "--registry_override=" + addr("regsim"),
                    "--registries=etc/registries.conf",
                    "--spool_dir=" + self.spool,
                    # The simulator is every registry: no 1/s pacing.
                    "--registry_rate_override=1000",
                    "--log_level=3"] + self.args["query"]
        if name == "front":
            return [os.path.join(BIN, "whoisd"), "-f", "/dev/null",
                    "--listen=" + addr("whois"),
                    "--http_listen=" + addr("http"),
                    "--cache_addr=" + addr("cache"),
                    "--query_addr=" + addr("query"),
                    "--registries=etc/registries.conf",
                    "--log_level=3"] + self.args["front"]
        raise KeyError(name)

    def start_one(self, name):
        p = self.procs.start(self.argv(name), name=name)
        self.p[name] = p
        port = self.port["whois" if name == "front" else name]
        return listening(p, port, wait_ready=name != "regsim")

    def start(self, skip=()):
        for n in ("regsim", "errdb", "cache", "query", "front"):
            if n not in skip:
                self.start_one(n)
        return self

    def stop_one(self, name, sig=signal.SIGTERM):
        p = self.p.pop(name)
        p.stop(sig)
        return p

    # ---- clients ----

    def whois(self, name, timeout=20):
        r = subprocess.run(["whois", "-h", "127.0.0.1", "-p",
                            str(self.port["whois"]), name],
                           capture_output=True, timeout=timeout)
        return Answer(r.stdout.decode("utf-8", "replace"))

    def whois_raw(self, data, timeout=20):
        buf = read_all(self.port["whois"], data, timeout=timeout)
        return Answer(buf.decode("utf-8", "replace"))

    def http(self, path, timeout=20):
        r = subprocess.run(["curl", "-s", "-g", "-w", "\n%{http_code}",
                            "http://127.0.0.1:%d%s" % (self.port["http"],
                                                       path)],
                           capture_output=True, timeout=timeout)
        body, _, code = r.stdout.decode("utf-8", "replace").rpartition("\n")
        return int(code), body

    def check(self, names, timeout=20):
        from urllib.parse import quote
        q = "&".join("domain=" + quote(n, safe="") for n in names)
        code, body = self.http("/v1/check?" + q, timeout=timeout)
        assert code == 200, (code, body)
        return json.loads(body)["results"]

    def sim_stats(self):
        return json.loads(read_all(self.port["regsim"], b"#stats\r\n",
                                   timeout=5))

    def sim_count(self, domain):
        return self.sim_stats()["per_domain"].get(domain, 0)

    def ctl(self, *args, check=True):
        r = subprocess.run([os.path.join(BIN, "whoisctl"),
                            "--front=127.0.0.1:%d" % self.port["http"],
                            "--cache=127.0.0.1:%d" % self.port["cache"],
                            "--query=127.0.0.1:%d" % self.port["query"],
                            "--errdb=127.0.0.1:%d" % self.port["errdb"]]
                           + list(args), capture_output=True, text=True,
                           timeout=20)
        if check:
            assert r.returncode == 0, (args, r.stdout, r.stderr)
        return r.stdout
