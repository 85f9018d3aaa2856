"""The front's memo under memo_max_memory: far more names than the bound
holds are asked over and over, on both ports; every answer is still the
right one (its own domain, status and registry text), the children stay
up, and a bound below the key's minimum is refused."""
import os
import subprocess

from conftest import BUILD
from suite import Suite


def test_memo_evicts_within_its_bound(procs, tmpdir_path):
    # 64 KB holds ~15 registered names (1.9 KB entry + ~2 KB text):
    # 60 names asked in turn evict all the time.
    s = Suite(procs, tmpdir_path, front=["--memo_max_memory=64k",
                                         "--memo_ttl=30"]).start()
    names = ["memo-bound-%02d.com" % i for i in range(60)]
    for r in s.check(names):
        assert r["status"] == "registered", r
    children = set(int(p) for p in subprocess.run(
        ["pgrep", "-P", str(s.p["front"].pid)], capture_output=True,
        text=True).stdout.split())
    for rnd in range(3):
        for r, n in zip(s.check(names), names):
            assert r["domain"] == n and r["status"] == "registered", r
        for n in names[rnd::7]:
            a = s.whois(n)
            assert a["domain"] == n and a["status"] == "registered", a
            assert a["source"] == "cache", a
            assert n.upper() in a.text.upper(), a
    now = set(int(p) for p in subprocess.run(
        ["pgrep", "-P", str(s.p["front"].pid)], capture_output=True,
        text=True).stdout.split())
    assert children and children == now, (children, now)


def test_memo_bound_minimum():
    r = subprocess.run([os.path.join(BUILD, "bin", "whoisd"), "-n",
                        "-f", "/dev/null", "--memo_max_memory=1k"],
                       capture_output=True, text=True)
    assert r.returncode != 0 and "memo_max_memory" in r.stderr, r
