"""Smoke version of `make bench` scenario 1: whoisd-loadgen
against the whole suite for ~2 s at c=8, cache hits over whois one-shot.
It asserts only that the load generator runs and reports zero errors;
the figures themselves belong to `make bench` (tests/bench/)."""
import json
import os
import subprocess

import pytest

from conftest import BIN
from suite import Suite

NEEDED = ("whoisd", "whoisd-cache", "whoisd-query", "whoisd-errdb",
          "whoisd-regsim", "whoisd-loadgen")
MISSING = [b for b in NEEDED if not os.access(os.path.join(BIN, b), os.X_OK)]

pytestmark = pytest.mark.skipif(
    bool(MISSING), reason="bench smoke needs the whole suite; not built: "
    + ", ".join(MISSING))

NAMES = ["bench-smoke-%03d.com" % i for i in range(64)]


def loadgen(port, names_file, *args):
    r = subprocess.run([os.path.join(BIN, "whoisd-loadgen"),
                        "--port=%d" % port, "--names=" + names_file, "-q"]
                       + list(args), capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0, (r.stdout, r.stderr)
    lines = [l for l in r.stdout.splitlines() if l.startswith("RESULT ")]
    assert len(lines) == 1, r.stdout
    return json.loads(lines[0][len("RESULT "):])


def test_bench_smoke_whois_cache_hits(procs, tmpdir_path):
    s = Suite(procs, tmpdir_path,
              query=["--registry_rate_override=100000"]).start()
    names = os.path.join(tmpdir_path, "names")
    with open(names, "w") as f:
        f.write("\n".join(NAMES) + "\n")
    port = s.port["whois"]

    # Pre-fill: every name once, through the registry (the simulator).
    r = loadgen(port, names, "-c", "8", "-n", str(len(NAMES)),
                "--expect=status: registered", "--timeout=20000")
    assert r["ok"] == len(NAMES) and r["errors"] == 0, r

    # Scenario 1 in small: cache hits for ~2 s at c=8.
    before = s.sim_stats()["total"]
    r = loadgen(port, names, "-c", "8", "-d", "2", "--warmup=0.2",
                "--expect=source: cache", "--timeout=5000",
                "--label=smoke")
    assert r["errors"] == 0, r
    assert r["ok"] > 0, r
    assert r["p99_ms"] > 0, r
    # Hits never reach the registry.
    assert s.sim_stats()["total"] == before
