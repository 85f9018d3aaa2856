"""Rolling upgrades mix versions: a daemon built with the previous
protocol version (make PROTO_VERSION=1, in build-proto1/) beside current
ones, in every position.  Answers must stay right."""
import os
import subprocess

import pytest

from conftest import BIN, BUILD, TOP
from suite import Suite

OLD = BUILD + "-proto1"
OLD_BIN = os.path.join(OLD, "bin")

pytestmark = pytest.mark.skipif(
    not os.path.exists(os.path.join(OLD_BIN, "whoisd-query")),
    reason="no previous-protocol build (make PROTO_VERSION=1)")


def version_of(binary):
    r = subprocess.run([binary, "--version"], capture_output=True, text=True)
    return r.stdout


@pytest.mark.parametrize("old", ["front", "cache", "query", "errdb"])
def test_previous_protocol_daemon_among_current_ones(procs, tmpdir_path, old):
    names = {"front": "whoisd", "cache": "whoisd-cache",
             "query": "whoisd-query", "errdb": "whoisd-errdb"}
    assert "protocol 1" in version_of(os.path.join(OLD_BIN, names[old]))
    assert "protocol 2" in version_of(os.path.join(BIN, names[old]))
    s = Suite(procs, tmpdir_path, regsim=["--ratelimit=uk:1/m"],
              bins={old: OLD_BIN}).start()
    a = s.whois("example.com")
    assert a["status"] == "registered", a
    assert s.whois("example.com")["source"] == "cache"
    r = {x["domain"]: x for x in s.check(["free-mix.com", "example.de",
                                          "reserved-mix.be"])}
    assert r["free-mix.com"]["status"] == "available"
    assert r["example.de"]["status"] == "registered"
    assert r["reserved-mix.be"]["status"] == "reserved"
    # Error events and back-off cross the mixed links too.
    s.whois("one.uk")
    a = s.whois("two.uk")
    assert a["status"] == "unknown", a
    assert "ratelimited" in s.ctl("errors")
