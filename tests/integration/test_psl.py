"""Registrable names from the Public Suffix List, end to end through the
real whois client and curl: a name under a public suffix the registries
file does not list is asked as itself, a name below a registrable one is
asked for that one, and a public suffix itself is invalid."""
import os

import pytest

from conftest import BIN
from suite import Suite

pytestmark = pytest.mark.skipif(
    not all(os.path.exists(os.path.join(BIN, b)) for b in
            ("whoisd", "whoisd-cache", "whoisd-query", "whoisd-errdb")),
    reason="the four daemons are not built")


@pytest.fixture
def suite(procs, tmpdir_path):
    return Suite(procs, tmpdir_path).start()


def test_asked_as_the_registrable_name(suite):
    a = suite.whois("example.com.mx")
    assert a["ace"] == "example.com.mx", a
    assert a.get("note") is None, a
    a = suite.whois("www.shop.com.tr")
    assert a["ace"] == "shop.com.tr", a
    assert "registrable name shop.com.tr" in a["note"], a
    r = suite.check(["www.shop.com.tr", "example.com.mx"])
    assert [x["ace"] for x in r] == ["shop.com.tr", "example.com.mx"], r
    # A private suffix is no registry: asked for the host's own name.
    a = suite.whois("me.blogspot.com")
    assert a["ace"] == "blogspot.com", a
    assert suite.sim_count("blogspot.com") == 1
    assert suite.sim_count("com.mx") == 0 and suite.sim_count("com.tr") == 0


def test_public_suffix_is_invalid(suite):
    for name in ("co.uk", "com.mx", "com.tr", "kawasaki.jp"):
        a = suite.whois(name)
        assert a["status"] == "invalid", (name, a)
        assert a["reason"] == "public suffix", (name, a)
        r = suite.check([name])[0]
        assert r["status"] == "invalid", (name, r)
        assert r["reason"] == "public suffix", (name, r)
    assert suite.sim_stats()["total"] == 0


def test_a_bad_list_is_refused_at_start(procs, tmpdir_path):
    bad = os.path.join(tmpdir_path, "psl.dat")
    with open(bad, "w") as f:
        f.write("com\nnet\n")
    s = Suite(procs, tmpdir_path, front=["--public_suffix_list=" + bad])
    s.start(skip=("front",))
    with pytest.raises(Exception):
        s.start_one("front")
    assert "public_suffix_list" in s.p["front"].logtext(), \
        s.p["front"].logtext()[-2000:]
    assert "not a public suffix list" in s.p["front"].logtext()
