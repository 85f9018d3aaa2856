"""The Debian package under a real systemd: `dpkg -i` in a systemd-nspawn
container installs, creates the user, starts whoisd.target and serves;
the rolling-restart scenario runs on it under a steady load (restarts
and reloads of each service, then a package upgrade, whose postinst
restarts the daemons one at a time) with no failed or refused query;
`dpkg --purge` removes all but what the operator asked to keep.

The container boots an overlay of the host's root (a tmpfs on top), so
dpkg can write /usr, /etc and its database without touching the host;
it shares the host's network, so the load and the registry simulator
run on the host, on ports of the test's own (set before the install:
the configs are preseeded and kept with --force-confold, the sockets
moved by drop-ins).
"""
import os
import re
import shutil
import subprocess
import time

import pytest

from conftest import BIN, TOP, free_port, port_open, read_all, wait_for
from nspawn import Machine, NspawnUnavailable, nspawn_problem
from suite import Answer

problem = nspawn_problem() or (
    None if shutil.which("dpkg-buildpackage") and shutil.which("lintian")
    else "dpkg-buildpackage or lintian missing")
pytestmark = pytest.mark.skipif(problem is not None, reason=str(problem))

DAEMONS = ["whoisd-errdb", "whoisd-cache", "whoisd-query", "whoisd"]
SOCKETS = {"whoisd.socket": "whois", "whoisd-http.socket": "http",
           "whoisd-cache.socket": "cache", "whoisd-query.socket": "query",
           "whoisd-errdb.socket": "errdb"}


def remap_ports(text, port_map):
    return re.sub(r"127\.0\.0\.1:(\d+)\b",
                  lambda mo: "127.0.0.1:%d" % port_map[mo.group(1)]
                  if mo.group(1) in port_map else mo.group(0), text)


def repack(deb, dst, version):
    """The same package under another version: the upgrade's .deb."""
    d = dst + ".d"
    subprocess.run(["dpkg-deb", "-R", deb, d], check=True)
    ctl = os.path.join(d, "DEBIAN", "control")
    with open(ctl) as f:
        text = re.sub(r"^Version: .*$", "Version: " + version, f.read(),
                      flags=re.M)
    with open(ctl, "w") as f:
        f.write(text)
    subprocess.run(["dpkg-deb", "-Zgzip", "-b", d, dst], check=True,
                   stdout=subprocess.DEVNULL)
    shutil.rmtree(d)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    from test_deb import build_deb
    deb = build_deb()
    tmp = str(tmp_path_factory.mktemp("systemd-deb"))
    debs = os.path.join(tmp, "debs")
    os.makedirs(debs)
    shutil.copy2(deb, os.path.join(debs, "whoisd.deb"))
    repack(deb, os.path.join(debs, "whoisd-up.deb"), "0.1.0+up1")
    stage = os.path.join(tmp, "stage")
    subprocess.run(["dpkg-deb", "-x", deb, stage], check=True)

    # An overlay of the host's root, its writes in a tmpfs.
    ovl = os.path.join(tmp, "ovl")
    root = os.path.join(ovl, "root")
    os.makedirs(root)
    os.makedirs(os.path.join(ovl, "t"))
    subprocess.run(["mount", "-t", "tmpfs", "tmpfs", os.path.join(ovl, "t")],
                   check=True)
    os.makedirs(os.path.join(ovl, "t", "upper"))
    os.makedirs(os.path.join(ovl, "t", "work"))
    r = subprocess.run(["mount", "-t", "overlay", "overlay", "-o",
                        "lowerdir=/,upperdir=%s/t/upper,workdir=%s/t/work"
                        % (ovl, ovl), root], capture_output=True, text=True)
    if r.returncode != 0:
        subprocess.run(["umount", os.path.join(ovl, "t")])
        pytest.skip("cannot mount an overlay of /: %s" % r.stderr.strip())

    ports = {k: free_port() for k in ("whois", "http", "cache", "query",
                                      "errdb", "regsim")}
    regsim = subprocess.Popen([os.path.join(BIN, "whoisd-regsim"),
                               "--listen=127.0.0.1:%d" % ports["regsim"],
                               "--latency-ms=20"], cwd=TOP,
                              stdout=open(os.path.join(tmp, "regsim.log"),
                                          "wb"),
                              stderr=subprocess.STDOUT, start_new_session=True)
    wait_for(lambda: port_open(ports["regsim"]), what="regsim")
    m = Machine("whoisd-d%d" % os.getpid(), ro_binds={"/mnt/debs": debs},
                log=os.path.join(tmp, "console.log"), root=root)
    try:
        try:
            m.boot()
        except NspawnUnavailable as e:
            pytest.skip("systemd-nspawn cannot boot here: %s" % e)
        preseed(m, stage, ports)
        yield {"m": m, "ports": ports, "tmp": tmp}
    finally:
        m.halt()
        regsim.kill()
        regsim.wait()
        subprocess.run(["umount", root])
        subprocess.run(["umount", os.path.join(ovl, "t")])


def preseed(m, stage, ports):
    """What an operator sets before installing: the configs (the test's
    ports, the simulator as every registry) and the sockets' ports."""
    port_map = {"4343": ports["whois"], "8043": ports["http"],
                "4701": ports["cache"], "4702": ports["query"],
                "4703": ports["errdb"]}
    confs = os.path.join(stage, "etc", "whoisd")
    for c in os.listdir(confs):
        text = remap_ports(open(os.path.join(confs, c)).read(), port_map)
        if c == "whoisd-query.conf":
            text += ("\nregistry_override 127.0.0.1:%d\n"
                     "registry_rate_override 1000\n" % ports["regsim"])
        m.write("/etc/whoisd/" + c, text)
    for sock, name in SOCKETS.items():
        m.write("/etc/systemd/system/%s.d/port.conf" % sock,
                "[Socket]\nListenStream=\nListenStream=127.0.0.1:%d\n"
                % ports[name])
    # The host image forbids starting services from maintainer scripts;
    # this container is a real system.
    m.run("rm", "-f", "/usr/sbin/policy-rc.d")


def settle(m):
    for d in DAEMONS:
        wait_for(lambda: m.show(d + ".service", "ActiveState") == "active"
                 and m.show(d + ".service", "SubState") == "running",
                 timeout=60, what="%s running" % d)
    time.sleep(1.5)


def test_install_serves_then_rolling_restarts_and_upgrade(world):
    from test_systemd import Load
    m, ports = world["m"], world["ports"]
    r = m.run("dpkg", "-i", "--force-confold", "/mnt/debs/whoisd.deb",
              timeout=300)
    assert "Creating user 'whoisd'" in r.stdout + r.stderr, r.stdout
    # The postinst started the suite: nothing else was asked of systemd.
    settle(m)
    assert m.show("whoisd.target", "ActiveState") == "active"
    assert m.show("whoisd.target", "UnitFileState") == "enabled"
    assert m.run("test", "-s", "/etc/whoisd/keys/ctl.key").returncode == 0
    # whoisctl finds every daemon from the installed configs alone.
    r = m.run("whoisctl", "status", check=False)
    assert r.returncode == 0, r.stdout + r.stderr
    assert len([l for l in r.stdout.splitlines() if " up " in l]) == 4, \
        r.stdout
    a = Answer(read_all(ports["whois"], b"example.com\r\n",
                        timeout=15).decode())
    assert a["status"] == "registered", a

    load = Load(ports["whois"], ports["http"])
    load.start()
    time.sleep(3)
    for rnd in range(2):
        for d in DAEMONS:
            load.phase = "restart %s #%d" % (d, rnd)
            m.run("systemctl", "restart", d + ".service", timeout=120)
            settle(m)
    for d in DAEMONS:
        load.phase = "reload " + d
        m.sh("sed -i 's/^log_level.*/log_level 3/' /etc/whoisd/%s.conf" % d)
        m.run("systemctl", "reload", d + ".service", timeout=120)
        settle(m)
    pids = {d: m.main_pid(d + ".service") for d in DAEMONS}
    load.phase = "upgrade"
    r = m.run("dpkg", "-i", "--force-confold", "/mnt/debs/whoisd-up.deb",
              timeout=600)
    settle(m)
    time.sleep(2)
    load.finish(60)
    print("load: %d ok, %d failed, %d refused" % (
        load.ok, len(load.failures), load.refused))
    assert load.ok > 500, load.ok
    assert load.failures == [], load.failures[:10]
    assert load.refused == 0
    # The upgrade restarted every daemon (one at a time, by the postinst).
    for d in DAEMONS:
        assert m.main_pid(d + ".service") != pids[d], d
    assert m.run("dpkg-query", "-W", "-f", "${Version}",
                 "whoisd").stdout == "0.1.0+up1"
    # The operator's configs were kept (conffiles).
    assert "log_level 3" in m.run("cat", "/etc/whoisd/whoisd.conf").stdout
    for name, want in list(load.known.items())[:50]:
        a = Answer(read_all(ports["whois"], name.encode() + b"\r\n",
                            timeout=15).decode())
        assert a["status"] == want, (name, a)


def test_purge_keeps_only_what_the_operator_asks(world):
    m = world["m"]
    if m.run("dpkg-query", "-W", "whoisd", check=False).returncode != 0:
        m.run("dpkg", "-i", "--force-confold", "/mnt/debs/whoisd.deb",
              timeout=300)
    m.run("touch", "/var/lib/whoisd/KEEP")
    r = m.run("dpkg", "--purge", "whoisd", timeout=300)
    assert "/var/lib/whoisd kept" in r.stdout + r.stderr
    for d in DAEMONS:
        assert m.show(d + ".service", "ActiveState") in ("inactive",
                                                           "failed"), d
    assert not port_open(world["ports"]["whois"])
    gone = m.sh("ls -d /etc/whoisd /etc/whoisd/keys /usr/bin/whoisd "
                "/lib/systemd/system/whoisd.service 2>/dev/null; true")
    assert gone.stdout == "", gone.stdout
    kept = m.run("ls", "/var/lib/whoisd").stdout.split()
    assert "KEEP" in kept and "whoisd-cache.db" in kept, kept
    # The user stays (Debian's practice for system users).
    assert m.run("getent", "passwd", "whoisd", check=False).returncode == 0
