"""The RDAP channel end to end: the real daemons, whoisd-regsim for port
43 and for RDAP over HTTPS (its --rdap-listen port, with a CA made here
by openssl), the real Debian whois client and curl as clients.

Every verdict and fault of docs/registries.md ("RDAP"): registered from a
domain object naming the asked name, available only from a 404 of a
registry with `rdap_404 available`, and unknown with a reason for
everything else; then the fallback from one channel to the other."""
import json
import os
import ssl
import subprocess
import time
import urllib.request

import pytest

from conftest import BIN, TOP, free_port, wait_for
from suite import Suite

pytestmark = pytest.mark.skipif(
    not all(os.path.exists(os.path.join(BIN, b)) for b in
            ("whoisd", "whoisd-cache", "whoisd-query", "whoisd-errdb")),
    reason="the four daemons are not built")

def make_ca(d, cn="127.0.0.1"):
    """A CA and a server certificate for 127.0.0.1 it signed: (ca, cert,
    key) paths."""
    def run(*a):
        subprocess.run(a, check=True, capture_output=True, cwd=d)
    run("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
        "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
        "-subj", "/CN=whoisd test CA")
    with open(os.path.join(d, "san.cnf"), "w") as f:
        f.write("subjectAltName=IP:%s\nbasicConstraints=CA:FALSE\n" % cn)
    run("openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout",
        "srv.key", "-out", "srv.csr", "-subj", "/CN=" + cn)
    run("openssl", "x509", "-req", "-in", "srv.csr", "-CA", "ca.pem",
        "-CAkey", "ca.key", "-CAcreateserial", "-out", "srv.pem", "-days",
        "2", "-extfile", "san.cnf")
    return [os.path.join(d, x) for x in ("ca.pem", "srv.pem", "srv.key")]


class RdapSim:
    """The simulator's RDAP port: a CA and certificate made here, a free
    port, the whoisd-regsim options that serve it (give them to the
    suite's regsim), and its counters."""

    def __init__(self, tmp, *args, cert=None):
        self.ca, crt, key = make_ca(tmp)
        if cert is not None:
            crt, key = cert
        self.port = free_port()
        self.args = ["--rdap-listen=127.0.0.1:%d" % self.port,
                     "--rdap-cert=" + crt, "--rdap-key=" + key,
                     "--rdap-slow-ms=4000"] + list(args)
        self.ctx = ssl.create_default_context(cafile=self.ca)

    @property
    def url(self):
        return "https://127.0.0.1:%d" % self.port

    def stats(self):
        with urllib.request.urlopen(self.url + "/_stats",
                                    context=self.ctx, timeout=5) as r:
            return json.load(r)

    def count(self, name):
        return self.stats()["domain"].get(name, 0)


def rdap_suite(procs, tmp, sim, *query_args, regsim=()):
    return Suite(procs, tmp, regsim=list(regsim) + sim.args, query=[
        "--rdap_override=" + sim.url, "--rdap_ca_file=" + sim.ca,
        "--rdap_bootstrap=etc/rdap-dns.json", "--dns_rate=0",
        "--total_timeout=3", "--adapt_max=3"] + list(query_args)).start()


@pytest.fixture
def sim(tmpdir_path):
    return RdapSim(tmpdir_path)


@pytest.fixture
def suite(procs, tmpdir_path, sim):
    return rdap_suite(procs, tmpdir_path, sim)


def test_registered_with_dates_and_nameservers(suite, sim):
    a = suite.whois("example.com")
    assert a["status"] == "registered", a
    assert a["channel"] == "rdap", a
    assert a["rule"] == "rdap:domain", a
    assert 'ldhName "example.com"' in a["matched"], a
    assert a["created"] == "1995-08-14T04:00:00Z", a
    assert a["registration-expires"] == "2027-08-13T04:00:00Z", a
    assert a["nameservers"] == "a.iana-servers.net b.iana-servers.net", a
    assert a["registry"] == "rdap.verisign.com", a
    assert '"objectClassName"' in a.text
    # The same answer through /v1/check (from the cache now).
    r = suite.check(["example.com"])[0]
    assert r["status"] == "registered" and r["channel"] == "rdap", r
    # Not asked by whois at all: RDAP comes first for .com.
    assert suite.sim_count("example.com") == 0
    assert sim.count("example.com") == 1


def test_registration_data_served_from_the_cache(suite, sim):
    """The second ask of an RDAP-registered name comes from whoisd-cache
    and still carries created, registration-expires and nameservers,
    over port 43 (the whois client) and /v1/check (curl)."""
    want = {"created": "1995-08-14T04:00:00Z",
            "registration-expires": "2027-08-13T04:00:00Z",
            "nameservers": "a.iana-servers.net b.iana-servers.net"}
    for source in ("registry", "cache"):
        a = suite.whois("example.com")
        assert a["status"] == "registered" and a["channel"] == "rdap", a
        assert a["source"] == source, a
        for k, v in want.items():
            assert a[k] == v, (source, k, a)
    r = suite.check(["example.com"])[0]
    assert r["source"] == "cache", r
    assert r["created"] == want["created"], r
    assert r["registration_expires"] == want["registration-expires"], r
    assert r["nameservers"] == want["nameservers"].split(), r
    # The same through /v1/check alone: asked, then cached.
    for source in ("registry", "cache"):
        r = suite.check(["example.page"])[0]
        assert r["status"] == "registered" and r["channel"] == "rdap", r
        assert r["source"] == source, r
        assert r["created"] == "2019-03-14T09:26:53Z", (source, r)
        assert r["nameservers"] == ["ns-cloud-a1.googledomains.com"], \
            (source, r)
    a = suite.whois("example.page")
    assert a["source"] == "cache", a
    assert a["created"] == "2019-03-14T09:26:53Z", a
    assert a["nameservers"] == "ns-cloud-a1.googledomains.com", a
    # Each asked of the registry once.
    assert sim.count("example.com") == 1
    assert sim.count("example.page") == 1


def test_info_app_dev_answered_by_rdap(suite, sim):
    for name, shape in (("example.info", None), ("example.app", None),
                        ("example.dev", None), ("pending-x.info", None)):
        a = suite.whois(name)
        assert a["status"] == "registered", (name, a)
        assert a["channel"] == "rdap", (name, a)
    a = suite.whois("pending-x.info")
    assert "pending delete" in a["matched"], a
    for name in ("free-one.info", "free-one.app", "free-one.dev",
                 "free-one.org"):
        a = suite.whois(name)
        assert a["status"] == "available", (name, a)
        assert a["rule"] == "rdap:404-available", (name, a)
        assert a["matched"].startswith("HTTP 404"), (name, a)
    r = {x["domain"]: x for x in suite.check(["free-two.app",
                                               "example.page"])}
    assert r["free-two.app"]["status"] == "available", r
    assert r["free-two.app"]["channel"] == "rdap", r
    assert r["example.page"]["status"] == "registered", r
    assert r["example.page"]["created"] == "2019-03-14T09:26:53Z", r
    assert r["example.page"]["nameservers"] == \
        ["ns-cloud-a1.googledomains.com"], r


def test_reserved(suite):
    a = suite.whois("reserved-one.app")
    assert a["status"] == "reserved", a
    assert a["rule"] == "rdap:reserved", a


@pytest.mark.parametrize("name,reason", [
    ("rdap-500-x.app", "registry-error"),
    ("rdap-badjson-x.app", "bad-json"),
    ("rdap-othername-x.app", "other-name"),
    ("rdap-ctype-x.app", "bad-content-type"),
    ("rdap-huge-x.app", "body-too-large"),
    ("rdap-loop-x.app", "bad-redirect"),
    ("rdap-tohttp-x.app", "bad-redirect"),
])
def test_faults_are_unknown(suite, name, reason):
    a = suite.whois(name)
    assert a["status"] == "unknown", a
    assert a["reason"] == reason, a
    assert a["channel"] == "rdap", a
    assert a["rule"].startswith("rdap:"), a


def test_one_redirect_to_https_is_followed(suite):
    a = suite.whois("rdap-redirect-x.app")
    assert a["status"] == "registered", a


def test_slow_and_endless_time_out(suite):
    t = time.monotonic()
    for name in ("rdap-slow-x.app", "rdap-endless-x.app"):
        a = suite.whois(name)
        assert a["status"] == "unknown", a
        assert a["reason"] == "timeout", a
    assert time.monotonic() - t < 15


def test_404_without_profile_is_unconfirmed(procs, tmpdir_path, sim):
    # .nl has whois first; its RDAP (bootstrap) is asked only as the
    # fallback, and a whois fault sends it there.
    s = rdap_suite(procs, tmpdir_path, sim, regsim=["--fault=nl:reset"])
    a = s.whois("free-one.nl")
    assert a["status"] == "unknown", a
    assert a["channel"] == "rdap", a
    assert a["reason"] == "not-found-unconfirmed", a
    assert sim.count("free-one.nl") == 1


def test_429_backs_off_rdap_and_falls_back_to_whois(suite, sim):
    a = suite.whois("rdap-429-x.com")
    # RDAP throttled: whois answered in the same request.
    assert a["status"] == "registered", a
    assert a.get("channel") == "whois", a
    assert suite.sim_count("rdap-429-x.com") == 1
    # RDAP is now backed off (Retry-After: 7): whois alone for a while.
    a = suite.whois("other-one.com")
    assert a["status"] == "registered" and a["channel"] == "whois", a
    assert sim.count("other-one.com") == 0
    out = suite.ctl("health")
    assert "rdap:rdap.verisign.com" in out, out


def test_429_retry_after_on_rdap_only_registry(suite):
    a = suite.whois("rdap-429-x.app")
    assert a["status"] == "unknown", a
    assert a["reason"] == "rate-limited", a
    assert 1 <= int(a["retry-after"]) <= 8, a
    # Backed off: the next .app name is not sent.
    a = suite.whois("other.app")
    assert (a["status"], a["reason"]) == ("unknown", "registry-backoff"), a


def test_whois_failure_falls_back_to_rdap(procs, tmpdir_path, sim):
    s = rdap_suite(procs, tmpdir_path, sim, regsim=["--fault=mobi:reset"])
    a = s.whois("example.mobi")
    assert a["status"] == "registered", a
    assert a["channel"] == "rdap", a


def test_rdap_budget_is_held(procs, tmpdir_path, sim):
    """rdap_rate paces the RDAP sends, whatever registry_rate_override
    does to whois: measured at the simulator."""
    reg = os.path.join(tmpdir_path, "registries.conf")
    with open(os.path.join(TOP, "etc", "registries.conf")) as f:
        text = f.read()
    text = text.replace("registry google\n  no-whois\n",
                        "registry google\n  no-whois\n  rdap_rate 5/s\n")
    with open(reg, "w") as f:
        f.write(text)
    s = Suite(procs, tmpdir_path, regsim=sim.args, query=[
        "--rdap_override=" + sim.url, "--rdap_ca_file=" + sim.ca,
        "--registries=" + reg, "--dns_rate=0",
        "--registry_rate_override=0"], front=["--registries=" + reg])
    s.start()
    names = ["burst-%d.app" % i for i in range(20)]
    t = time.monotonic()
    res = s.check(names, timeout=30)
    took = time.monotonic() - t
    sent = sim.stats()["tld"].get("app", 0)
    answered = [r for r in res if r["status"] == "registered"]
    # At 5/s, 20 names need about 4 s; the rest is rate-budget.
    assert sent == len(answered), (sent, res)
    assert sent <= 5 * took + 2, (sent, took)


def test_tls_is_verified(procs, tmpdir_path):
    """A certificate the CA did not sign is a tls-failure, never a
    verdict (and there is no switch to turn the check off)."""
    d = os.path.join(tmpdir_path, "other")
    os.makedirs(d)
    _, crt, key = make_ca(d)
    sim = RdapSim(tmpdir_path, cert=(crt, key))
    s = rdap_suite(procs, tmpdir_path, sim)
    a = s.whois("example.app")
    assert a["status"] == "unknown", a
    assert a["reason"] == "tls-failure", a


def test_connection_reuse(suite, sim):
    names = ["reuse-%d.app" % i for i in range(30)]
    for n in names:
        suite.whois(n)
    st = sim.stats()
    assert st["total"] >= 30
    # One child with keep-alive: a handful of handshakes, not 30.
    assert st["connections"] <= 6, st


def test_bootstrap_reloaded_on_hup(procs, tmpdir_path, sim):
    """rdap_bootstrap is read at start and on HUP; a broken file at HUP
    is refused and the one in use stays."""
    import signal
    boot = os.path.join(tmpdir_path, "dns.json")
    with open(boot, "w") as f:
        json.dump({"publication": "2026-01-01T00:00:00Z", "services": [
            [["com"], ["https://rdap.verisign.com/com/v1/"]]]}, f)
    s = Suite(procs, tmpdir_path, regsim=sim.args, query=[
        "--rdap_override=" + sim.url, "--rdap_ca_file=" + sim.ca,
        "--rdap_bootstrap=" + boot, "--dns_rate=0"]).start()
    a = s.whois("before.app")
    assert (a["status"], a["reason"]) == ("unknown", "no-public-channel"), a
    with open(os.path.join(TOP, "etc", "rdap-dns.json")) as src, \
            open(boot + ".new", "w") as f:
        f.write(src.read())
    os.rename(boot + ".new", boot)
    s.p["query"].sig(signal.SIGHUP)
    n = [0]

    def by_rdap():
        n[0] += 1
        a = s.whois("after-%d.app" % n[0])
        return a.get("channel") == "rdap" and a["status"] == "registered"
    wait_for(by_rdap, 15, interval=0.3, what=".app by RDAP after HUP")
    with open(boot, "w") as f:
        f.write("{")
    s.p["query"].sig(signal.SIGHUP)
    s.p["query"].wait_log("rdap_bootstrap: line", 10)
    time.sleep(1)
    a = s.whois("still.app")
    assert a["status"] == "registered" and a["channel"] == "rdap", a


def test_tld_without_port43_found_through_iana(procs, tmpdir_path, sim):
    """A TLD the registries file does not know, whose IANA entry has no
    whois server, is asked by RDAP when the bootstrap file knows it; its
    404 stays unconfirmed (the default block has no rdap_404)."""
    import test_query as tq
    boot = os.path.join(tmpdir_path, "dns.json")
    with open(boot, "w") as f:
        json.dump({"publication": "2026-01-01T00:00:00Z", "services": [
            [["qq"], ["https://rdap.nic.qq/"]]]}, f)
    fw = tq.FakeWhois(tq.fake_iana)
    try:
        s = rdap_suite(procs, tmpdir_path, sim, "--rdap_bootstrap=" + boot,
                       "--registry_override=127.0.0.1:%d" % fw.port)
        a = s.whois("example.qq")
        assert a["status"] == "registered", a
        assert a["channel"] == "rdap", a
        assert a["registry"] == "rdap.nic.qq", a
        a = s.whois("free-one.qq")
        assert (a["status"], a["reason"]) == \
            ("unknown", "not-found-unconfirmed"), a
        assert "example.qq" not in fw.lines
    finally:
        fw.close()


def test_whois_throttle_falls_back_to_rdap(suite, sim):
    """The reverse of the 429 case: whois throttled (its own text), RDAP
    answers; while whois backs off, the next name goes to RDAP at once."""
    a = suite.whois("throttled-one.nl")
    assert a["status"] == "registered", a
    assert a["channel"] == "rdap", a
    assert suite.sim_count("throttled-one.nl") == 1
    a = suite.whois("example-two.nl")
    assert a["status"] == "registered" and a["channel"] == "rdap", a
    assert suite.sim_count("example-two.nl") == 0
    assert sim.count("example-two.nl") == 1
