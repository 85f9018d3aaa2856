"""Values a local peer sends are checked where they enter a daemon.

The internal ports take any local peer: a forged put or error event must
not plant an answer or a back-off that outlives its sense, and a stalled
cache must not cost each front request its whole request_timeout.
"""
import time

import frames as F
from test_cache import start_cache

DAY = 86400


def test_put_with_a_name_that_is_no_domain_is_refused(procs, tmpdir_path):
    p = start_cache(procs, tmpdir_path)
    with F.Conn(p.port) as c:
        for bad in ("no-dot", "a..com", "-x.com", "UPPER.com", "x.123",
                    "a b.com", "x" * 64 + ".com"):
            r = F.put(c, F.answer(bad, "registered"))
            assert r["t"] == "err" and r["code"] == "bad-request", (bad, r)
            assert not F.get(c, bad)["found"], bad
        st = F.stats(c)
        assert st["entries"] == 0 and st["puts"] == 0, st
    assert "refused: not a domain name" in p.logtext()


def test_put_checked_far_ahead_is_refused_and_leaves_the_lease(
        procs, tmpdir_path):
    p = start_cache(procs, tmpdir_path)
    with F.Conn(p.port) as c, F.Conn(p.port) as c2:
        assert F.get(c, "forged.com", lease=True)["lease"] == "granted"
        year5138 = 99999999999.0
        forged = [F.answer("forged.com", "available", checked=year5138),
                  F.answer("forged.com", "available",
                           checked=time.time() + 3600),
                  # An unknown would free the lease: refused, it does not.
                  F.answer("forged.com", "unknown", checked=year5138),
                  F.answer("forged.com", "registered",
                           expires=time.time() + 1000 * 365 * DAY)]
        for a in forged:
            r = F.put(c2, a)
            assert r["t"] == "err" and r["code"] == "bad-request", r
        assert "checked in the future" in p.logtext()
        assert not F.get(c2, "forged.com")["found"]
        st = F.stats(c2)
        assert st["entries"] == 0 and st["leases"] == 1, st
        # The lease holder's real answer, a little skewed, goes in.
        r = F.put(c, F.answer("forged.com", "registered",
                              checked=time.time() + 60))
        assert r["t"] == "ok", r
        assert F.get(c, "forged.com")["found"]
