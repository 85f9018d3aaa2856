"""The Debian package: `make deb` builds whoisd_VERSION_ARCH.deb with
dpkg-buildpackage -us -uc -b and lintian finds no error; the package
holds the binaries, units, sysusers/tmpfiles, configs (as conffiles),
man pages and docs; what it installs runs and its configs pass -n.
About 30 s (a full build of the daemons), so it is part of `make test`;
`make deb-test` runs it alone."""
import os
import re
import shutil
import subprocess

import pytest

from conftest import BUILD, KEYS, TOP

TOOLS = ("dpkg-buildpackage", "dh", "lintian", "dpkg-deb")
missing = [t for t in TOOLS if shutil.which(t) is None]
pytestmark = pytest.mark.skipif(bool(missing), reason="missing %s" % missing)

DEB_B = os.path.join(BUILD, "deb")
BINS = ["whoisd", "whoisd-query", "whoisd-cache", "whoisd-errdb", "whoisctl"]
UNITS = ["whoisd.service", "whoisd.socket", "whoisd-http.socket",
         "whoisd-cache.service", "whoisd-cache.socket",
         "whoisd-query.service", "whoisd-query.socket",
         "whoisd-errdb.service", "whoisd-errdb.socket",
         "whoisd-keygen.service", "whoisd.target"]
CONFS = ["whoisd.conf", "whoisd-query.conf", "whoisd-cache.conf",
         "whoisd-errdb.conf", "registries.conf", "tld-servers.conf",
         "tld-whois.conf", "rdap-dns.json"]
MAN = ["man5/whoisd.conf.5.gz", "man5/registries.conf.5.gz",
       "man8/whoisd.8.gz", "man8/whoisd-query.8.gz", "man8/whoisd-cache.8.gz",
       "man8/whoisd-errdb.8.gz", "man8/whoisctl.8.gz"]


def version():
    with open(os.path.join(TOP, "Makefile")) as f:
        return re.search(r"^VERSION\s*=\s*(\S+)", f.read(), re.M).group(1)


_built = []


def build_deb():
    """`make deb` once per test run; the .deb's path."""
    if _built:
        return _built[0]
    r = subprocess.run(["make", "-s", "deb", "B=" + os.path.relpath(BUILD,
                                                                  TOP)],
                       cwd=TOP, capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, (r.stdout[-3000:], r.stderr[-3000:])
    arch = subprocess.run(["dpkg", "--print-architecture"],
                          capture_output=True, text=True).stdout.strip()
    path = os.path.join(DEB_B, "whoisd_%s_%s.deb" % (version(), arch))
    assert os.path.isfile(path), os.listdir(DEB_B)
    _built.append(path)
    return path


@pytest.fixture(scope="module")
def deb():
    return build_deb()


def test_lintian_reports_no_error(deb):
    r = subprocess.run(["lintian", "--fail-on", "error", deb],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stdout
    tags = [l for l in r.stdout.splitlines() if re.match(r"[EW]: ", l)]
    assert tags == [], tags


def test_contents(deb):
    out = subprocess.run(["dpkg-deb", "-c", deb], capture_output=True,
                         text=True, check=True).stdout
    files = {l.split()[5].lstrip(".") for l in out.splitlines()}
    want = ["/usr/bin/" + b for b in BINS] + \
        ["/lib/systemd/system/" + u for u in UNITS] + \
        ["/etc/whoisd/" + c for c in CONFS] + \
        ["/usr/share/man/" + m for m in MAN] + \
        ["/usr/lib/sysusers.d/whoisd.conf", "/usr/lib/tmpfiles.d/whoisd.conf",
         "/usr/share/doc/whoisd/operations.md",
         "/usr/share/doc/whoisd/README.Debian",
         "/usr/share/doc/whoisd/copyright",
         "/usr/share/whoisd/schema/cache.sql"]
    assert [w for w in want if w not in files] == []
    # No test program, no state: that is made at run time.
    assert sorted(f for f in files if f.startswith("/usr/bin/") and
                  f != "/usr/bin/") == sorted("/usr/bin/" + b for b in BINS)
    assert not [f for f in files if f.startswith("/var/")]


def test_conffiles_and_maintainer_scripts(deb, tmp_path):
    subprocess.run(["dpkg-deb", "-e", deb, str(tmp_path)], check=True)
    with open(tmp_path / "conffiles") as f:
        assert sorted(f.read().split()) == sorted("/etc/whoisd/" + c
                                                  for c in CONFS)
    post = (tmp_path / "postinst").read_text()
    # The user before the state directory it owns.
    assert post.index("systemd-sysusers") < post.index("systemd-tmpfiles")
    assert "whoisd.target" in post
    postrm = (tmp_path / "postrm").read_text()
    assert "/var/lib/whoisd" in postrm and "KEEP" in postrm


def test_installed_files_run(deb, tmp_path):
    root = tmp_path / "root"
    subprocess.run(["dpkg-deb", "-x", deb, str(root)], check=True)
    bin_ = root / "usr" / "bin"
    for b in BINS:
        r = subprocess.run([str(bin_ / b), "--version"], capture_output=True,
                           text=True)
        assert r.returncode == 0 and version() in r.stdout, (b, r)
    # Units name the installed paths.
    for u in UNITS:
        text = (root / "lib/systemd/system" / u).read_text()
        assert "@BINDIR@" not in text and "@SYSCONFDIR@" not in text
        for exe in re.findall(r"^Exec\w+=(\S+)", text, re.M):
            assert exe.startswith("/usr/bin/"), (u, exe)
            assert (root / exe.lstrip("/")).exists(), (u, exe)
    # The shipped configs pass -n (paths moved into the scratch root).
    etc = root / "etc" / "whoisd"
    for d in BINS[:-1]:
        args = [str(bin_ / d), "-n", "-f", str(etc / (d + ".conf")),
                "--link_keys=" + KEYS, "--registries=%s" %
                (etc / "registries.conf")]
        if d == "whoisd-query":
            args += ["--dns_servers=%s" % (etc / "tld-servers.conf"),
                     "--tld_whois=%s" % (etc / "tld-whois.conf"),
                     "--rdap_bootstrap=%s" % (etc / "rdap-dns.json"),
                     "--spool_dir=%s" % (tmp_path / "spool")]
        if d in ("whoisd-cache", "whoisd-errdb"):
            args += ["--db_path=%s" % (tmp_path / (d + ".db"))]
        if d in ("whoisd-cache", "whoisd-errdb"):
            args = [a for a in args if not a.startswith("--registries")]
        r = subprocess.run(args, capture_output=True, text=True)
        assert r.returncode == 0 and "configuration OK" in r.stdout, (d, r)
    with open(etc / "whoisd-cache.conf") as f:
        assert re.search(r"^db_path\s+/var/lib/whoisd/", f.read(), re.M)
    for m in MAN:
        page = subprocess.run(["zcat", str(root / "usr/share/man" / m)],
                              capture_output=True, check=True).stdout
        r = subprocess.run(["mandoc", "-Tlint", "-Wwarning"], input=page,
                           capture_output=True)
        assert r.returncode == 0, (m, r.stdout + r.stderr)
