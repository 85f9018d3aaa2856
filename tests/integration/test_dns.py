"""The DNS pre-check end to end: NSD from Debian as the TLDs'
authoritative servers (zones made from the simulator's data), the
simulator as every registry, the whole suite, curl and the whois client.

A delegation answers registered with channel dns and no registry query;
everything else (no delegation, NXDOMAIN, silence, SERVFAIL, truncation
TCP cannot finish, a lame server, a stopped server) asks the registry
exactly as before; DNS never answers available.
"""
import os
import time

import pytest

from conftest import BIN, TOP
from nsd_helper import (NSD, FakeDns, Nsd, delegated_name, held_name,
                        sim_zones)
from suite import Suite

pytestmark = [
    pytest.mark.skipif(
        not all(os.path.exists(os.path.join(BIN, b)) for b in
                ("whoisd", "whoisd-cache", "whoisd-query", "whoisd-errdb")),
        reason="the four daemons are not built"),
    pytest.mark.skipif(not os.path.exists(NSD),
                       reason="nsd is not installed (make deps)")]

ZONES = {"com": 2000, "net": 500, "de": 1000, "uk": 500}


def dns_suite(procs, tmp, port, query=(), **kw):
    return Suite(procs, tmp, query=["--dns_override=127.0.0.1:%d" % port,
                                    "--dns_timeout=0.3"] + list(query),
                 **kw).start()


def asked(s, name):
    """Did the name reach the registry?  (A registered .com may be
    asked twice: the registry, then the registrar's referral.)"""
    return s.sim_count(name) >= 1


@pytest.fixture
def nsd(procs, tmpdir_path):
    return Nsd(procs, tmpdir_path, sim_zones(ZONES)).start()


@pytest.fixture
def fake():
    f = FakeDns()
    yield f
    f.close()


def test_delegated_registered_via_dns_no_registry_query(procs, tmpdir_path,
                                                        nsd):
    s = dns_suite(procs, tmpdir_path, nsd.port)
    names = [delegated_name("com", 7), delegated_name("de", 999),
             "example.co.uk", "google.com", delegated_name("net", 3)]
    for n in names:
        a = s.whois(n)
        assert a["status"] == "registered", a
        assert a["channel"] == "dns", a
        assert a["rule"] == "dns:delegated", a
        assert a["matched"].startswith("NS "), a
        assert s.sim_count(n) == 0, n
    a = s.whois(delegated_name("com", 7))
    assert a["matched"] == "NS ns1.dns-host.net, ns2.dns-host.org", a
    # The JSON says the same, from the cache now (channel kept).
    r = s.check([delegated_name("com", 7), delegated_name("com", 8)])
    assert [x["channel"] for x in r] == ["dns", "dns"], r
    assert [x["status"] for x in r] == ["registered"] * 2, r
    assert r[0]["source"] == "cache", r
    assert r[1]["source"] == "registry", r
    # Not one query reached the registry.
    assert s.sim_stats()["total"] == 0, s.sim_stats()


def test_undelegated_and_free_ask_the_registry(procs, tmpdir_path, nsd):
    s = dns_suite(procs, tmpdir_path, nsd.port)
    held = held_name("com", 1)
    a = s.whois(held)
    assert a["status"] == "registered", a
    assert a["channel"] == "whois", a
    assert asked(s, held)
    a = s.whois("free-dns-1.com")
    assert a["status"] == "available", a
    assert a["channel"] == "whois", a
    assert s.sim_count("free-dns-1.com") == 1
    r = s.check(["free-dns-2.de", held_name("de", 2)])
    assert [(x["status"], x["channel"]) for x in r] == \
        [("available", "whois"), ("registered", "whois")], r
    # A TLD NSD does not serve: REFUSED, a lame server for it.
    a = s.whois("lame-1.nl")
    assert a["status"] == "registered" and a["channel"] == "whois", a
    assert asked(s, "lame-1.nl")


def test_dns_outage_changes_only_latency(procs, tmpdir_path, nsd):
    s = dns_suite(procs, tmpdir_path, nsd.port)
    names = [delegated_name("com", 100), held_name("com", 100),
             "free-out-1.com"]
    before = [s.whois(n)["status"] for n in names]
    assert before == ["registered", "registered", "available"]
    nsd.stop()
    fresh = [delegated_name("com", 101), held_name("com", 101),
             "free-out-2.com"]
    t0 = time.monotonic()
    after = [s.whois(n) for n in fresh]
    took = time.monotonic() - t0
    assert [a["status"] for a in after] == before, after
    assert [a["channel"] for a in after] == ["whois"] * 3, after
    assert all(asked(s, n) for n in fresh)
    # At most two tries of dns_timeout each, per name.
    assert took < 3 * (2 * 0.3) + 3, took
    nsd.start()
    a = s.whois(delegated_name("com", 102))
    assert a["channel"] == "dns", a


def test_faults_fall_back_to_the_registry(procs, tmpdir_path, fake):
    s = dns_suite(procs, tmpdir_path, fake.port)
    # The fake's referral works: the channel is open.
    a = s.whois("plain-1.com")
    assert a["channel"] == "dns" and a["status"] == "registered", a
    assert a["matched"] == "NS ns1.fake.test, ns2.fake.test", a
    assert s.sim_count("plain-1.com") == 0
    # Truncated over UDP, answered over TCP: c-ares retried on TCP.
    a = s.whois("tc-1.com")
    assert a["channel"] == "dns" and a["status"] == "registered", a
    assert ("tc-1.com", "tcp") in fake.seen
    assert s.sim_count("tc-1.com") == 0
    for n in ("silent-1.com", "servfail-1.com", "tcfail-1.com",
              "upward-1.com", "nx-1.com"):
        t0 = time.monotonic()
        a = s.whois(n)
        took = time.monotonic() - t0
        assert a["status"] == "registered", (n, a)
        assert a["channel"] == "whois", (n, a)
        assert asked(s, n), n
        assert took < 2 * 0.3 + 2, (n, took)


def test_dns_never_answers_available(procs, tmpdir_path, fake):
    """Free names the DNS knows nothing of (NXDOMAIN, silence,
    SERVFAIL, an upward referral): "available" comes only from the
    registry, with channel whois."""
    s = dns_suite(procs, tmpdir_path, fake.port)
    for n in ("free-nx-2.com", "free-silent-3.com", "free-servfail-4.com",
              "free-upward-5.com"):
        a = s.whois(n)
        assert a["status"] == "available", a
        assert a["channel"] == "whois", a
        assert s.sim_count(n) == 1


def test_dns_no_turns_the_precheck_off(procs, tmpdir_path, nsd):
    with open(os.path.join(TOP, "etc", "registries.conf")) as f:
        text = f.read()
    text = text.replace("registry verisign\n", "registry verisign\n  dns no\n",
                        1)
    path = os.path.join(tmpdir_path, "registries.conf")
    with open(path, "w") as f:
        f.write(text)
    s = dns_suite(procs, tmpdir_path, nsd.port,
                  query=["--registries=" + path])
    com = delegated_name("com", 5)
    a = s.whois(com)
    assert a["status"] == "registered" and a["channel"] == "whois", a
    assert asked(s, com)
    # Other registries keep it.
    de = delegated_name("de", 5)
    a = s.whois(de)
    assert a["channel"] == "dns", a
    assert s.sim_count(de) == 0


def test_over_dns_rate_skips_the_precheck(procs, tmpdir_path, nsd):
    s = dns_suite(procs, tmpdir_path, nsd.port, query=["--dns_rate=0.2"])
    names = [delegated_name("com", 200 + i) for i in range(4)]
    r = s.check(names)
    chans = sorted(x["channel"] for x in r)
    assert all(x["status"] == "registered" for x in r), r
    # One token (the burst), then the registry for the rest.
    assert chans.count("dns") == 1, r
    assert sum(asked(s, n) for n in names) == 3


def test_no_precheck_with_registry_override_alone(procs, tmpdir_path):
    """Tests that point the registry at the simulator and give no DNS
    server never ask the real TLD servers."""
    s = Suite(procs, tmpdir_path).start()
    a = s.whois("example.com")
    assert a["channel"] == "whois", a
    assert asked(s, "example.com")
    assert "pre-check off: registry_override without dns_override" in \
        s.p["query"].logtext()
