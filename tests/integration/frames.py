"""A small client for whoisd's internal frames (docs/protocol.md).

    uint32 length (big-endian, of what follows) | uint8 flags | body
    flags bit 0: body is zlib-deflated; body: one msgpack map

    c = Conn(port)
    r = c.call("get", domain="example.com", lease=True)
    r["t"] == "get_r" and r["found"]
    ids = [c.send("get", domain=d) for d in names]   # pipelined
    replies = c.recv_ids(ids)                         # {id: reply}

Messages are dicts with str keys; bytes values go as msgpack bin (the
`text` of an answer).  Bodies over compress_min are deflated, as the
daemons do.  frame()/deflated() build raw frames for malformed-input
tests.  Needs Debian's python3-msgpack and python3-cryptography.

A Conn first proves a role with the key directory $WHOISD_KEYS (the
tests' conftest makes one per run), as the daemons do (proto/auth.h):
Conn(port) is whoisd-query (or the front, to whoisd-query itself, which
serves no query role), Conn(port, role="ctl") the operator,
Conn(port, role=None) says no hello at all.
"""
import itertools
import os
import socket
import struct
import time
import zlib

import msgpack
from cryptography.hazmat.primitives import serialization

PROTO_VERSION = 2
COMPRESS_MIN = 1024
FLAG_DEFLATE = 0x01


def frame(body, flags=0):
    """One raw frame around body (bytes), flags as given."""
    return struct.pack(">IB", len(body) + 1, flags) + body


def pack(msg):
    return msgpack.packb(msg, use_bin_type=True)


def encode(msg, compress_min=COMPRESS_MIN):
    """A frame for msg (a dict), deflated when larger than compress_min
    and deflating helps."""
    body = pack(msg)
    if compress_min is not None and len(body) > compress_min:
        z = zlib.compress(body)
        if len(z) < len(body):
            return frame(z, FLAG_DEFLATE)
    return frame(body)


def decode_body(flags, body):
    if flags & ~FLAG_DEFLATE:
        raise ValueError("unknown flag bits %#x" % flags)
    if flags & FLAG_DEFLATE:
        body = zlib.decompress(body)
    return msgpack.unpackb(body, raw=False, strict_map_key=False)


def answer(domain, status, registry="whois.test", text=None, checked=None,
           latency_ms=12, reason=None, source="registry", **extra):
    """An answer record as put/get_r/query_r carry it."""
    a = {"domain": domain, "ace": domain, "status": status,
         "source": source, "checked": float(checked or time.time()),
         "registry": registry, "latency_ms": latency_ms}
    if reason:
        a["reason"] = reason
    if text is not None:
        a["text"] = text.encode() if isinstance(text, str) else text
    a.update(extra)
    return a


class Closed(Exception):
    """The daemon closed the connection."""


ROLES = {"front": 1, "query": 2, "cache": 3, "errdb": 4, "ctl": 5}
AUTH_CONTEXT = b"whoisd-link-auth-1\0"


def keys_dir():
    return os.environ.get("WHOISD_KEYS")


def load_key(role, private=True, keys=None):
    path = os.path.join(keys or keys_dir(), role + (".key" if private
                                                    else ".pub"))
    with open(path, "rb") as f:
        data = f.read()
    if private:
        return serialization.load_pem_private_key(data, None)
    return serialization.load_pem_public_key(data)


def transcript(side, cnonce, snonce, crole, srole):
    """The bytes a side signs (proto/auth.c)."""
    return (AUTH_CONTEXT + side + cnonce + snonce +
            bytes([ROLES[crole], ROLES[srole]]))


class AuthError(Exception):
    """The handshake failed (the daemon's err, or a bad signature)."""


def authenticate(call, role, keys=None, sign_as=None):
    """The client's side of the handshake over call(t, **fields) -> reply:
    hello, check hello_r, auth, ok.  sign_as signs with another role's
    key (a forgery the daemon must refuse).  Returns the server's role."""
    cnonce = os.urandom(16)
    r = call("hello", role=role, nonce=cnonce)
    if r.get("t") != "hello_r":
        raise AuthError("hello: %r" % (r,))
    srole, snonce = r["role"], r["nonce"]
    load_key(srole, False, keys).verify(
        r["sig"], transcript(b"S", cnonce, snonce, role, srole))
    sig = load_key(sign_as or role, True, keys).sign(
        transcript(b"C", cnonce, snonce, role, srole))
    r = call("auth", sig=sig)
    if r.get("t") != "ok":
        raise AuthError("auth: %r" % (r,))
    return srole


def hello_r(m, role, keys=None):
    """A fake server's reply, as role, to the hello m: signed with the
    role's real key, so the daemons' clients accept it."""
    snonce = os.urandom(16)
    sig = load_key(role, True, keys).sign(
        transcript(b"S", m["nonce"], snonce, m["role"], role))
    return {"v": m.get("v", PROTO_VERSION), "t": "hello_r", "id": m["id"],
            "role": role, "nonce": snonce, "sig": sig}


class Conn:
    """One framed connection; requests may be pipelined."""

    _ids = itertools.count(1)

    def __init__(self, port, host="127.0.0.1", timeout=10.0, version=None,
                 compress_min=COMPRESS_MIN, role="auto", keys=None,
                 sign_as=None, sock=None):
        if role == "auto":
            try:
                self.__init__(port, host, timeout, version, compress_min,
                              "query", keys, sign_as, sock)
            except AuthError as e:
                if "not served here" not in str(e) or sock is not None:
                    raise
                self.__init__(port, host, timeout, version, compress_min,
                              "front", keys, sign_as)
            return
        # sock: a connection already made (many opened before any speaks).
        self.sock = sock or socket.create_connection((host, port),
                                                     timeout=timeout)
        self.sock.settimeout(timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""
        self.version = version or PROTO_VERSION
        self.compress_min = compress_min
        self.pending = {}       # replies read while waiting for another id
        self.frames_in = []     # (flags, wire length) of every frame read
        self.server_role = None
        if role is not None and (keys or keys_dir()):
            try:
                self.server_role = authenticate(self.call, role, keys,
                                                sign_as)
            except BaseException:
                self.sock.close()
                raise

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def send_raw(self, data):
        self.sock.sendall(data)

    def send(self, t, **fields):
        """Send one request; returns its id."""
        rid = fields.pop("id", None) or next(self._ids)
        msg = {"v": fields.pop("v", self.version), "t": t, "id": rid}
        msg.update(fields)
        self.sock.sendall(encode(msg, self.compress_min))
        return rid

    def _fill(self, n):
        while len(self.buf) < n:
            d = self.sock.recv(1 << 20)
            if not d:
                raise Closed("connection closed after %d bytes"
                             % len(self.buf))
            self.buf += d

    def recv(self):
        """The next frame off the wire, decoded."""
        self._fill(5)
        length, flags = struct.unpack(">IB", self.buf[:5])
        self._fill(4 + length)
        body = self.buf[5:4 + length]
        self.buf = self.buf[4 + length:]
        self.frames_in.append((flags, 4 + length))
        return decode_body(flags, body)

    def recv_id(self, rid):
        """The reply to request rid (others read meanwhile are kept)."""
        while rid not in self.pending:
            m = self.recv()
            if m.get("t") == "goaway":
                continue
            self.pending[m.get("id")] = m
        return self.pending.pop(rid)

    def recv_ids(self, ids):
        return {i: self.recv_id(i) for i in ids}

    def call(self, t, **fields):
        return self.recv_id(self.send(t, **fields))

    def read_to_eof(self, timeout=5.0):
        """Everything until the peer closes (raw bytes)."""
        self.sock.settimeout(timeout)
        out = self.buf
        self.buf = b""
        try:
            while True:
                d = self.sock.recv(65536)
                if not d:
                    break
                out += d
        except (ConnectionResetError, socket.timeout):
            pass
        return out


def split_frames(data):
    """Decode every whole frame in raw bytes (for replies read to EOF)."""
    out = []
    while len(data) >= 5:
        length, flags = struct.unpack(">IB", data[:5])
        if len(data) < 4 + length:
            break
        out.append(decode_body(flags, data[5:4 + length]))
        data = data[4 + length:]
    return out


# ---- typed helpers over one call ----

def get(c, domain, lease=False):
    return c.call("get", domain=domain, lease=bool(lease))


def put(c, a):
    return c.call("put", a=a)


def stats(c):
    r = c.call("stats")
    assert r["t"] == "stats_r", r
    return r["c"]


def purge(c, domain=None, all=False):
    f = {"all": bool(all)}
    if domain:
        f["domain"] = domain
    return c.call("purge", **f)


def error_event(eid, kind="timeout", registry="whois.test", domain="x.test",
                t=None, retry_after=None, host="host1", daemon="whoisd-query",
                msg="something failed"):
    e = {"eid": eid, "host": host, "daemon": daemon, "registry": registry,
         "domain": domain, "kind": kind, "msg": msg,
         "time": float(t if t is not None else time.time())}
    if retry_after:
        e["retry_after"] = int(retry_after)
    return e


def malformed_inputs(max_frame):
    """(name, bytes, closes) for malformed-input tests: what a daemon with
    this max_frame must refuse.  closes: the link must end after it (a
    bad frame); False: an err reply and the link stays open."""
    bomb = zlib.compress(b"\0" * (max_frame * 4), 9)
    return [
        ("garbage", b"GET / HTTP/1.0\r\n\r\n", True),
        ("4GB length", struct.pack(">IB", 0xFFFFFFF0, 0), True),
        ("over max_frame", struct.pack(">IB", max_frame + 64, 0) +
         b"\0" * 64, True),
        ("zip bomb", frame(bomb, FLAG_DEFLATE), True),
        ("broken deflate", frame(b"x\x9c" + b"\0" * 20, FLAG_DEFLATE), True),
        ("unknown flags", frame(pack({"v": 2, "t": "ping", "id": 1}), 0x80),
         True),
        ("not msgpack", frame(b"\xc1"), True),
        ("non-map body", frame(pack([2, "get", 1])), True),
        ("no t", frame(pack({"v": 2, "id": 5})), True),
        ("unknown type", frame(pack({"v": 2, "t": "no-such-type", "id": 7})),
         False),
    ]
