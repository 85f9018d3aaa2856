"""Authenticated internal links (proto/auth.h): no peer is served before
it proves a role with its key, and each role may send only its own
message types.  Real daemons, real keys made by `whoisctl keygen`, the
handshake spoken by frames.py and by the C client (whoisctl, the front,
whoisd-query)."""
import os
import shutil
import signal
import struct
import subprocess
import time

import pytest
from cryptography.exceptions import InvalidSignature

import frames as F
from conftest import BIN, KEYS, free_port, start_store, wait_for
from suite import Suite

pytestmark = pytest.mark.skipif(KEYS is None, reason="whoisctl not built")

REGISTERED = "example.com"      # the simulator's data: registered


def start_cache(procs, tmp, *args):
    return start_store(procs, tmp, "cache", "cache.db", *args)


def start_errdb(procs, tmp, *args):
    return start_store(procs, tmp, "errdb", "errdb.db", *args)


def refused(c, t, **fields):
    """Send t on c and expect the daemon to refuse and close: the err
    code it gave."""
    r = c.call(t, **fields)
    assert r["t"] == "err", r
    with pytest.raises((F.Closed, ConnectionResetError)):
        c.recv()
    return r["code"]


def whoisctl(*args, keys=None):
    env = dict(os.environ)
    if keys is not None:
        env["WHOISD_KEYS"] = keys
    return subprocess.run([os.path.join(BIN, "whoisctl")] + list(args),
                          capture_output=True, text=True, timeout=20, env=env)


def other_keys(tmp, name="other"):
    """A key directory of our own making: right format, wrong keys."""
    d = os.path.join(tmp, name)
    r = whoisctl("keygen", d)
    assert r.returncode == 0, r
    return d


def test_a_forged_put_cannot_make_a_registered_name_available(
        procs, tmpdir_path):
    s = Suite(procs, tmpdir_path).start()
    assert s.check([REGISTERED])[0]["status"] == "registered"
    s.ctl("purge", REGISTERED)
    # The attack of the report: a put of `available`, checked in the far
    # future, sent by a local process with no key, then with keys that
    # are not the suite's.
    forged = F.answer(REGISTERED, "available", checked=time.time() + 1e11)
    with F.Conn(s.port["cache"], role=None) as c:
        assert refused(c, "put", a=forged) == "unauthenticated"
    with pytest.raises(InvalidSignature):
        # Our client refuses the real cache: its hello_r is signed with
        # a key the forger's directory does not know.
        F.Conn(s.port["cache"], keys=other_keys(tmpdir_path))
    with F.Conn(s.port["cache"], role="front") as c:
        r = c.call("put", a=forged)
        assert r["t"] == "err" and r["code"] == "forbidden", r
        assert not c.call("get", domain=REGISTERED)["found"]
    a = s.check([REGISTERED])[0]
    assert a["status"] == "registered" and a["source"] == "registry", a
    log = s.p["cache"].logtext()
    assert "refused: hello first" in log and "put of available refused to role front" \
        in log, log[-2000:]


def test_each_role_sends_only_its_own_types(procs, tmpdir_path):
    cache = start_cache(procs, tmpdir_path)
    errdb = start_errdb(procs, tmpdir_path)
    ev = F.error_event("e-1", kind="ratelimited", registry="whois.r.test",
                       t=time.time(), retry_after=600)
    with F.Conn(cache.port, role="query") as q, \
            F.Conn(cache.port, role="front") as fr, \
            F.Conn(cache.port, role="ctl") as ctl:
        assert q.server_role == "cache"
        assert F.put(q, F.answer("r1.com", "registered"))["t"] == "ok"
        # Reads are open to every role.
        for c in (q, fr, ctl):
            assert c.call("get", domain="r1.com")["found"]
            assert c.call("stats")["t"] == "stats_r"
        for c, typ, f in ((fr, "put", {"a": F.answer("r2.com",
                                                         "available")}),
                        (ctl, "put", {"a": F.answer("r2.com",
                                                          "available")}),
                        (fr, "timing", {"registry": "whois.r.test",
                                        "ms": 5}),
                        (q, "purge", {"all": True}),
                        (fr, "purge", {"domain": "r1.com"})):
            r = c.call(typ, **f)
            assert r["t"] == "err" and r["code"] == "forbidden", (typ, r)
        # A forbidden request leaves the link open.
        assert fr.call("get", domain="r1.com")["found"]
        # The front may release a lease it holds: an unknown, not stored.
        assert fr.call("get", domain="r3.com", lease=True)["lease"]
        assert F.put(fr, F.answer("r3.com", "unknown"))["t"] == "ok"
        assert not q.call("get", domain="r3.com")["found"]
        assert F.purge(ctl, all=True)["n"] == 1
    with pytest.raises(F.AuthError):
        F.Conn(errdb.port, role="front")      # no link of the front's
    with F.Conn(errdb.port, role="query") as q, \
            F.Conn(errdb.port, role="ctl") as ctl:
        assert ctl.call("error", **ev)["code"] == "forbidden"
        assert q.call("error", **ev)["t"] == "ok"
        r = q.call("health_clear", registry="whois.r.test")
        assert r["t"] == "err" and r["code"] == "forbidden", r
        assert ctl.call("health_clear", registry="whois.r.test")["t"] == "ok"


def test_a_signature_with_another_roles_key_is_refused(procs, tmpdir_path):
    p = start_cache(procs, tmpdir_path)
    # Claims ctl, signs with the front's key: what a front process that
    # could read only its own key would try.
    with pytest.raises(F.AuthError) as e:
        F.Conn(p.port, role="ctl", sign_as="front")
    assert "auth-failed" in str(e.value)
    # A role the server does not serve (errdb never talks to the cache)
    # is refused at hello.
    with pytest.raises(F.AuthError) as e:
        F.Conn(p.port, role="errdb")
    assert "not served here" in str(e.value)
    # A malformed hello (short nonce) is refused, not served.
    with F.Conn(p.port, role=None) as c:
        assert refused(c, "hello", role="query", nonce=b"x") == \
            "auth-failed"
    # One line for the first refusal; the others are rate-limited.
    log = p.logtext()
    assert log.count("refused:") == 1 and "bad signature for role ctl" \
        in log, log


def test_whoisctl_needs_the_operators_key(procs, tmpdir_path):
    p = start_cache(procs, tmpdir_path)
    with F.Conn(p.port) as c:
        F.put(c, F.answer("k1.com", "registered"))
    # Keys without ctl.key: what the whoisd user (or a daemon) has.
    nokey = os.path.join(tmpdir_path, "daemon-keys")
    shutil.copytree(KEYS, nokey)
    os.unlink(os.path.join(nokey, "ctl.key"))
    r = whoisctl("--cache=127.0.0.1:%d" % p.port, "purge", "--all",
                 keys=nokey)
    assert r.returncode == 1 and "ctl.key: No such file" in r.stderr, r
    # Someone else's operator key: the cache does not know its .pub, and
    # whoisctl cannot verify the cache either.
    r = whoisctl("--cache=127.0.0.1:%d" % p.port, "purge", "--all",
                 keys=other_keys(tmpdir_path))
    assert r.returncode == 1, r
    assert "failed to prove it is cache" in r.stderr, r.stderr
    with F.Conn(p.port) as c:
        assert c.call("get", domain="k1.com")["found"]
    r = whoisctl("--cache=127.0.0.1:%d" % p.port, "purge", "--all")
    assert r.returncode == 0, r
    assert r.stdout.split()[-3:] == ["--all", "(all)", "1"], r.stdout


def test_a_handshake_must_finish_within_the_hello_timeout(procs,
                                                          tmpdir_path):
    p = start_cache(procs, tmpdir_path, "--link_hello_timeout=1")
    with F.Conn(p.port, role=None) as c:
        r = c.call("hello", role="query", nonce=os.urandom(16))
        assert r["t"] == "hello_r"
        t0 = time.monotonic()
        with pytest.raises((F.Closed, ConnectionResetError)):
            c.recv()        # no auth: closed, nothing served
        assert time.monotonic() - t0 < 3
    p.wait_log("not authenticated 1000 ms after connecting")


def test_prefer_serves_a_peer_that_says_no_hello(procs, tmpdir_path):
    """link_auth prefer is the upgrade window: a previous version's peer
    (no hello) is served, with a warning; authenticated peers keep their
    roles."""
    p = start_cache(procs, tmpdir_path, "--link_auth=prefer")
    with F.Conn(p.port, role=None) as c:
        assert F.put(c, F.answer("old.com", "registered"))["t"] == "ok"
        assert F.purge(c, domain="old.com")["n"] == 1
    p.wait_log("no hello (an older version?): served unauthenticated")
    with F.Conn(p.port, role="front") as c:
        assert c.call("put", a=F.answer("x.com", "registered"))[
            "code"] == "forbidden"


def test_keys_are_checked_at_start_and_reload(procs, tmpdir_path):
    keys = os.path.join(tmpdir_path, "keys")
    shutil.copytree(KEYS, keys)
    argv = [os.path.join(BIN, "whoisd-cache"), "-f", "/dev/null",
            "--db_path=" + os.path.join(tmpdir_path, "c.db"),
            "--listen=127.0.0.1:%d" % free_port()]
    os.chmod(os.path.join(keys, "cache.key"), 0o640)
    r = subprocess.run(argv + ["--link_keys=" + keys], capture_output=True,
                       text=True, timeout=20)
    assert r.returncode != 0 and "cache.key: mode 0640 lets group or " \
        "others read it" in r.stderr, r
    r = subprocess.run(argv + ["--link_keys=" + tmpdir_path + "/none"],
                       capture_output=True, text=True, timeout=20)
    assert r.returncode != 0 and "whoisctl keygen" in r.stderr, r
    r = subprocess.run(argv + ["--link_keys=" + keys, "--link_auth=maybe"],
                       capture_output=True, text=True, timeout=20)
    assert r.returncode != 0 and "link_auth" in r.stderr, r
    # A reload that cannot read the keys keeps the running ones.
    os.chmod(os.path.join(keys, "cache.key"), 0o600)
    p = start_cache(procs, tmpdir_path, "--link_keys=" + keys)
    os.unlink(os.path.join(keys, "cache.key"))
    p.sig(signal.SIGHUP)
    p.wait_log("reload failed, keeping the running config")
    with F.Conn(p.port) as c:
        assert c.server_role == "cache"
        assert F.put(c, F.answer("rl.com", "registered"))["t"] == "ok"


def test_the_suite_refuses_a_cache_with_other_keys(procs, tmpdir_path):
    """The C client checks the server: a process on the cache's port
    without the cache's key gets no request from whoisd-query or the
    front (a fake cache could otherwise answer `available`)."""
    fake = os.path.join(tmpdir_path, "fake")
    shutil.copytree(other_keys(tmpdir_path), fake)
    # The fake cache trusts the suite's front and query keys, so only
    # the suite's own check of the server stops it.
    for role in ("front", "query"):
        shutil.copy(os.path.join(KEYS, role + ".pub"), fake)
    s = Suite(procs, tmpdir_path, cache=["--link_keys=" + fake]).start()
    a = s.check([REGISTERED])[0]
    assert a["status"] == "registered" and a["source"] == "registry", a
    wait_for(lambda: "failed to prove it is cache" in
             s.p["front"].logtext(), what="front refuses the fake cache")
    wait_for(lambda: "failed to prove it is cache" in
             s.p["query"].logtext(), what="query refuses the fake cache")
    with F.Conn(s.port["cache"], keys=fake, role="ctl") as c:
        assert F.stats(c)["entries"] == 0


@pytest.mark.parametrize("mode", ["prefer", "require"])
def test_a_server_of_the_previous_version(procs, tmpdir_path, mode):
    """A cache of the version before the handshake answers hello
    `unknown-type`: under prefer whoisd-query uses it (an upgrade in
    progress), under require it sends it nothing."""
    from regsim_helper import Regsim
    from test_query import FakeDaemon, query, start_query
    rs = Regsim()
    old = FakeDaemon(legacy=True)
    try:
        q = start_query(procs, tmpdir_path, rs.port, "--link_auth=" + mode,
                        cache=old.port)
        a = query(q.port, "example.com")
        assert a["status"] == "registered", a
        if mode == "prefer":
            wait_for(lambda: old.of("put"), what="the put at the old cache")
            q.wait_log("does not authenticate (an older version?): used "
                       "unauthenticated")
        else:
            time.sleep(1.0)
            assert not old.of("put")
            q.wait_log("does not authenticate (an older version?), and "
                       "link_auth is require")
    finally:
        old.close()
        rs.close(check=False)


def test_a_peer_without_a_key_cannot_make_the_daemon_buffer_a_big_frame(
        procs, tmpdir_path):
    """Until the handshake is done a frame may be 4 KB: a length of
    16 MB is refused from its header, before any of it is buffered."""
    p = start_cache(procs, tmpdir_path)
    with F.Conn(p.port, role=None) as c:
        c.send_raw(struct.pack(">IB", 16 << 20, 0) + b"\x80" * 1000)
        r = F.decode_body(*split_one(c))
        assert r["t"] == "err" and r["code"] == "bad-frame", r
        assert "4096" in r["msg"], r
    # Once authenticated, the configured max_frame (16M) holds.
    with F.Conn(p.port) as c:
        big = F.answer("big-after-auth.com", "registered", text="x" * 200000)
        assert F.put(c, big)["t"] == "ok"


def split_one(c):
    """The next raw frame of c as (flags, body)."""
    c._fill(5)
    length, flags = struct.unpack(">IB", c.buf[:5])
    c._fill(4 + length)
    body, c.buf = c.buf[5:4 + length], c.buf[4 + length:]
    return flags, body
