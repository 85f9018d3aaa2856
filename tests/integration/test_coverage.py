"""`whoisctl registries --coverage`: the classes counted from the files
alone, on the shipped files and on small ones made here."""
import os
import subprocess

from conftest import BIN, TOP

CTL = os.path.join(BIN, "whoisctl")


def run(*args):
    return subprocess.run([CTL, "--config_dir=etc", "registries"] + list(args),
                          cwd=TOP,
                          capture_output=True, text=True, timeout=20)


def figures(out):
    f = {}
    for line in out.splitlines():
        k, sep, v = line.partition(":")
        if sep and k in ("verified available rule", "route without one",
                         "no public channel"):
            f[k] = int(v.split()[0])
    return f


def test_shipped_files():
    r = run("--coverage")
    assert r.returncode == 0, r.stderr
    f = figures(r.stdout)
    assert sum(f.values()) > 1400, r.stdout
    assert f["verified available rule"] >= 50
    assert r.stderr == ""
    lines = dict(l.split("\t", 1) for l in run("--coverage", "--list")
                 .stdout.splitlines() if "\t" in l)
    assert lines["com"].startswith("verified"), lines["com"]
    assert lines["mx"] == "route\twhois"
    assert lines["va"] == "none\t-"


def test_classes(tmpdir_path):
    tab = os.path.join(tmpdir_path, "tld-whois.conf")
    regs = os.path.join(tmpdir_path, "registries.conf")
    with open(tab, "w") as f:
        f.write("a whois.a.test\nb no-service rdap\nc no-service\n"
                "d whois.d.test rdap\ne whois.e.test\n")
    with open(regs, "w") as f:
        f.write('registry default\n  available "^x$"\n'
                'registry ra\n  server whois.a.test\n  available "^free$"\n'
                '  tld a\n'
                'registry rb\n  no-whois\n  rdap_404 available\n  tld b\n'
                'registry re\n  server whois.e.test\n  registered "^t$"\n'
                '  tld e zz\n')
    r = run("--coverage", "--registries=" + regs, "--tld_whois=" + tab)
    assert r.returncode == 0, r.stderr
    assert figures(r.stdout) == {"verified available rule": 2,
                                 "route without one": 2,
                                 "no public channel": 1}, r.stdout
    # A block's TLD outside the root zone is reported.
    assert "tld zz is not in" in r.stderr
    r = run("--coverage", "--tld_whois=/nonexistent")
    assert r.returncode == 1 and "/nonexistent" in r.stderr
    assert run().returncode == 2
