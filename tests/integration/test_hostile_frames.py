"""Small frames that would cost a daemon child far more memory than their
size: a 16 KB deflated frame inflating (within max_frame) to an array of
16 million nils, which msgpack-c would unpack into 24 bytes per nil.

Each daemon (whoisd-cache, whoisd-query, whoisd-errdb) must refuse it as
a bad frame (err bad-frame, link closed), keep answering ping, and the
child that served the link must not grow by more than a small bound.  A
zip bomb past max_frame gets the same checks.
The serving child is found by the socket it holds for our connection.
"""
import functools
import os
import socket
import struct
import zlib

import pytest

import frames as F
from conftest import BIN, BUILD, TOP, free_port, listening, live_children, \
    wait_for

NILS = 16 * 1000 * 1000
# Peak RSS a child may gain from one such frame: the inflated body (up to
# 16 MB at the default max_frame) and change.  ASan builds keep freed
# blocks in quarantine and pad every allocation, hence more room there.
RSS_LIMIT = (96 if BUILD.endswith("-san") else 32) * 1024 * 1024


def nil_array(n):
    """A msgpack array32 of n nils."""
    return b"\xdd" + struct.pack(">I", n) + b"\xc0" * n


@functools.lru_cache(maxsize=None)
def hostile_frames():
    """(name, frame, refusal): each a deflated frame of at most 64 KB
    (built once: the zip bomb takes a moment to deflate)."""
    bare = nil_array(NILS)
    # The same array under a well-formed ping: v, t and id all check out.
    head = F.pack({"v": F.PROTO_VERSION, "t": "ping", "id": 7})
    assert head[0] == 0x83
    wrapped = b"\x84" + head[1:] + F.pack("pad") + nil_array(NILS - 64)
    out = []
    for name, body in (("bare array", bare), ("array in a ping", wrapped)):
        z = zlib.compress(body, 9)
        assert len(z) < 32 * 1024 and len(body) < 16 * 1024 * 1024
        out.append((name, F.frame(z, F.FLAG_DEFLATE), "exceeds the budget"))
    # Past max_frame: refused while inflating, never inflated whole.
    z = zlib.compress(b"\0" * (64 * 1024 * 1024), 9)
    out.append(("zip bomb", F.frame(z, F.FLAG_DEFLATE),
                "inflated body exceeds max_frame"))
    return tuple(out)


def start(procs, tmp, name):
    port = free_port()
    pool = ["--min_servers=1", "--max_servers=2", "--min_spare_servers=0",
            "--max_spare_servers=1", "--log_level=3"]
    if name == "whoisd-cache":
        extra = ["--db_path=" + os.path.join(tmp, "cache.db")]
    elif name == "whoisd-errdb":
        extra = ["--db_path=" + os.path.join(tmp, "errdb.db")]
    else:
        # Nothing listens at the cache, errdb or registry: a ping needs none.
        extra = ["--registry_override=127.0.0.1:%d" % free_port(),
                 "--cache_addr=127.0.0.1:%d" % free_port(),
                 "--errdb_addr=127.0.0.1:%d" % free_port(),
                 "--registries=" + os.path.join(TOP, "etc/registries.conf"),
                 "--spool_dir=" + os.path.join(tmp, "spool"),
                 "--host_id=testhost"]
    p = procs.start([os.path.join(BIN, name), "-f", "/dev/null",
                     "--listen=127.0.0.1:%d" % port] + pool + extra,
                    name=name)
    return listening(p, port)


def socket_inode(daemon_port, our_port):
    """The inode of the daemon's end of our loopback connection."""
    want = ":%04X" % daemon_port, ":%04X" % our_port
    with open("/proc/net/tcp") as f:
        for line in f.readlines()[1:]:
            col = line.split()
            if col[1].endswith(want[0]) and col[2].endswith(want[1]):
                return col[9]
    return None


def serving_child(p, c):
    """The child of p that holds c's connection."""
    inode = socket_inode(p.port, c.sock.getsockname()[1])
    assert inode is not None
    link = "socket:[%s]" % inode
    for kid in live_children(p.pid):
        try:
            fds = os.listdir("/proc/%d/fd" % kid)
        except OSError:
            continue
        for fd in fds:
            try:
                if os.readlink("/proc/%d/fd/%s" % (kid, fd)) == link:
                    return kid
            except OSError:
                pass
    return None


def reset_peak(pid):
    """Make VmHWM start again from the current RSS (Linux clear_refs 5)."""
    with open("/proc/%d/clear_refs" % pid, "w") as f:
        f.write("5")


def peak_rss(pid):
    """VmHWM (peak resident set) of pid, in bytes."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM for pid %d" % pid)


@pytest.mark.parametrize("daemon", ["whoisd-cache", "whoisd-query",
                                    "whoisd-errdb"])
def test_nil_bomb_refused_within_memory_budget(procs, tmpdir_path, daemon):
    p = start(procs, tmpdir_path, daemon)
    for name, data, refusal in hostile_frames():
        c = F.Conn(p.port, timeout=30)
        # A ping first: the link is accepted and its child is serving it.
        assert c.call("ping")["t"] == "pong"
        kid = wait_for(lambda: serving_child(p, c), timeout=5,
                       what="the child serving the link")
        # The same child may serve every frame: measure each from here.
        reset_peak(kid)
        before = peak_rss(kid)
        c.send_raw(data)
        c.sock.shutdown(socket.SHUT_WR)
        replies = F.split_frames(c.read_to_eof(timeout=30))
        c.close()
        grown = peak_rss(kid) - before
        print("%s: %s: child %d peak RSS grew by %.1f MB" % (
            daemon, name, kid, grown / 1048576.0))
        assert replies, (name, "closed without an err reply")
        for r in replies:
            assert r["t"] == "err" and r["code"] == "bad-frame", (name, r)
        assert refusal in replies[-1]["msg"], (name, replies)
        assert grown < RSS_LIMIT, (name, "child peak RSS grew by %d bytes"
                                   % grown)
        assert p.running(), name
        with F.Conn(p.port) as ok:
            assert ok.call("ping")["t"] == "pong", name
    assert "exceeds the budget" in p.logtext()
