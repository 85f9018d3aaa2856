"""The example clients of docs/api.md (examples/: JavaScript with fetch
streaming under node, Python's standard library, php-cli), each run
against the whole suite: every name's status as the simulator says,
errors shown with the problem's code.  A client whose interpreter is
missing is skipped with the reason (make deps installs them).
"""
import os
import shutil
import subprocess
import tempfile
import time

import pytest

from conftest import BIN, TOP, Procs, remove_tmp, sanitizer_reports
from suite import Suite, regsim_data

pytestmark = pytest.mark.skipif(
    not all(os.path.exists(os.path.join(BIN, b)) for b in
            ("whoisd", "whoisd-cache", "whoisd-query", "whoisd-errdb",
             "whoisd-regsim")),
    reason="the daemons are not built")

SLOW_MS = 1000

CLIENTS = {
    "js": ["node", os.path.join(TOP, "examples", "check.js")],
    "python": ["/usr/bin/python3", os.path.join(TOP, "examples", "check.py")],
    "php": ["php", os.path.join(TOP, "examples", "check.php")],
}


@pytest.fixture(scope="module")
def s():
    tmp = tempfile.mkdtemp(prefix="whoisd-examples-")
    ps = Procs(tmp)
    try:
        data = regsim_data(tmp, "latency org %d" % SLOW_MS)
        yield Suite(ps, tmp, regsim=["--data=" + data],
                    front=["--http_max_names=50"]).start()
    finally:
        ps.stop_all()
        reports = sanitizer_reports(ps)
        remove_tmp(tmp)
        if reports:
            pytest.fail("\n".join(reports))


def run(s, lang, *args):
    argv = CLIENTS[lang]
    if shutil.which(argv[0]) is None:
        pytest.skip("%s is not installed (make deps)" % argv[0])
    r = subprocess.run(argv + ["http://127.0.0.1:%d" % s.port["http"]] +
                       list(args), capture_output=True, text=True,
                       timeout=60)
    return r


def parse(out):
    """{domain: (status, fields)} of the clients' common output."""
    res = {}
    for line in out.splitlines():
        parts = line.split()
        fields = dict(p.split("=", 1) for p in parts[2:] if "=" in p)
        res[parts[0]] = (parts[1], fields)
    return res


@pytest.mark.parametrize("lang", sorted(CLIENTS))
def test_example_check(s, lang):
    names = ["example.com", "free-name.com", "free-%s-%d.net" % (
        lang, os.getpid()), "reserved-one.be", "bad..name"]
    r = run(s, lang, *names)
    assert r.returncode == 0, (r.stdout, r.stderr)
    res = parse(r.stdout)
    assert sorted(res) == sorted(names), r.stdout
    want = {"example.com": "registered", "free-name.com": "available",
            names[2]: "available", "reserved-one.be": "reserved",
            "bad..name": "invalid"}
    for n, st in want.items():
        assert res[n][0] == st, (n, r.stdout)
    f = res["example.com"][1]
    assert f["source"] in ("cache", "registry") and f["channel"] == "whois"
    assert f["expires"] > f["checked"], f


@pytest.mark.parametrize("lang", sorted(CLIENTS))
def test_example_fresh_and_suggest(s, lang):
    r = run(s, lang, "--fresh", "example.com")
    assert r.returncode == 0, (r.stdout, r.stderr)
    assert parse(r.stdout)["example.com"][1]["source"] == "registry", r.stdout
    r = run(s, lang, "--suggest", "acme")
    assert r.returncode == 0, (r.stdout, r.stderr)
    assert sorted(parse(r.stdout)) == sorted(
        "acme." + t for t in "com net org io dev app".split()), r.stdout


@pytest.mark.parametrize("lang", sorted(CLIENTS))
def test_example_problem(s, lang):
    """Over http_max_names (50 here): the problem's code, exit 1."""
    r = run(s, lang, *["n%d.com" % i for i in range(51)])
    assert r.returncode == 1, (r.stdout, r.stderr)
    assert "too-many-names" in r.stderr, r.stderr


def test_example_js_streams(s):
    """The JavaScript client prints each name as its line arrives: a
    cached name well before a slow registry's (.org answers after
    SLOW_MS here)."""
    if shutil.which("node") is None:
        pytest.skip("node is not installed (make deps)")
    run(s, "js", "example.com")         # cached now
    slow = "slow-%d.org" % os.getpid()
    t0 = time.monotonic()
    p = subprocess.Popen(CLIENTS["js"] + ["http://127.0.0.1:%d" %
                                          s.port["http"], slow,
                                          "example.com"],
                         stdout=subprocess.PIPE, text=True)
    seen = []
    for line in p.stdout:
        seen.append((time.monotonic() - t0, line.split()[0]))
    assert p.wait(timeout=30) == 0
    assert [n for _, n in seen] == ["example.com", slow], seen
    assert seen[1][0] - seen[0][0] > SLOW_MS / 1000 / 2, seen
