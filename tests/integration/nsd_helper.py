"""A real authoritative DNS server for the tests: NSD from Debian, on a
free loopback port, serving TLD zones made from the registry
simulator's data, so DNS and the "registry" agree on every name.

    zones = sim_zones({"com": 1000, "de": 1000})
    ns = Nsd(procs, tmp, zones).start()
    ns.port                       # 127.0.0.1:ns.port, UDP and TCP
    ns.stop()                     # by pid; ns.start() again works

Also: query(port, name) asks a server one non-recursive NS question
(rcode, flags, NS owners and targets), and DNS fakes for the faults NSD
cannot make (silence, SERVFAIL, truncation).
"""
import os
import socket
import struct
import threading
import time

from conftest import TOP, free_port, wait_for

NSD = "/usr/sbin/nsd"
REGSIM_CONF = os.path.join(TOP, "tests", "regsim", "regsim.conf")


# ------------------------------------------------------------ the data

def regsim_status(name, exact):
    """The simulator's verdict on name (docs/regsim.md, "What a name
    is"): the data file's exact names first, then the first label."""
    name = name.lower()
    if name in exact:
        return exact[name]
    first = name.split(".")[0]
    for prefix, st in (("free", "available"), ("avail", "available"),
                       ("reserved", "reserved"), ("throttled", "throttled"),
                       ("error", "error"), ("unknown", "unknown")):
        if first.startswith(prefix):
            return st
    return "registered"


def regsim_exact(path=REGSIM_CONF):
    """The exact names of the simulator's data file, name -> status."""
    exact = {}
    with open(path) as f:
        for line in f:
            w = line.split("#")[0].split()
            if len(w) < 2 or w[0] in ("latency", "ratelimit", "fault"):
                continue
            st = w[0].split("-")[0].lower()
            for n in w[1:]:
                if not any(c in n for c in "*?["):
                    exact[n.lower()] = st
    return exact


def delegated_name(tld, i):
    return "dlg-%05d.%s" % (i, tld)


def held_name(tld, i):
    """Registered at the simulator, absent from the zone (serverHold)."""
    return "held-%05d.%s" % (i, tld)


def sim_zones(counts):
    """{zone: {name: [ns hosts]}}: per zone, counts[zone] generated
    delegations and every name the data file says is registered under
    it; each checked registered by the simulator's own rule."""
    exact = regsim_exact()
    zones = {}
    for tld, n in counts.items():
        z = zones.setdefault(tld, {})
        for i in range(n):
            z[delegated_name(tld, i)] = ["ns1.dns-host.net", "ns2.dns-host.org"]
        for name, st in exact.items():
            if st == "registered" and name.endswith("." + tld):
                z[name] = ["ns1.%s" % name, "ns2.dns-host.net"]
    for tld, z in zones.items():
        for name in z:
            assert regsim_status(name, exact) == "registered", name
    return zones


# ------------------------------------------------------------------ NSD

class Nsd:
    def __init__(self, procs, tmp, zones, port=None):
        self.procs, self.zones = procs, zones
        self.dir = os.path.join(tmp, "nsd")
        self.port = port or free_port()
        self.p = None
        os.makedirs(os.path.join(self.dir, "xfr"), exist_ok=True)
        self.write()

    def write(self):
        d = self.dir
        conf = ["server:",
                "  ip-address: 127.0.0.1",
                "  port: %d" % self.port,
                "  username: \"\"",
                "  chroot: \"\"",
                "  zonesdir: \"%s\"" % d,
                "  database: \"\"",
                "  zonelistfile: \"%s/zone.list\"" % d,
                "  xfrdfile: \"%s/xfrd.state\"" % d,
                "  xfrdir: \"%s/xfr\"" % d,
                "  pidfile: \"%s/nsd.pid\"" % d,
                "  server-count: 1",
                "  do-ip6: no",
                "  verbosity: 1",
                "  hide-version: yes",
                "remote-control:",
                "  control-enable: no"]
        for zone, names in sorted(self.zones.items()):
            conf += ["zone:", "  name: %s" % zone,
                     "  zonefile: %s.zone" % zone]
            lines = ["$ORIGIN %s." % zone, "$TTL 3600",
                     "@ IN SOA a.nic.test. hostmaster.nic.test. "
                     "1 3600 600 86400 300",
                     "@ IN NS a.nic.test.", "@ IN NS b.nic.test."]
            for name, hosts in sorted(names.items()):
                for h in hosts:
                    lines.append("%s. IN NS %s." % (name, h))
            with open(os.path.join(d, zone + ".zone"), "w") as f:
                f.write("\n".join(lines) + "\n")
        self.conf = os.path.join(d, "nsd.conf")
        with open(self.conf, "w") as f:
            f.write("\n".join(conf) + "\n")

    def start(self):
        """nsd in the foreground (-d) on the port, once it answers."""
        self.p = self.procs.start([NSD, "-d", "-c", self.conf], name="nsd")
        zone = sorted(self.zones)[0]

        def answers():
            assert self.p.running(), self.p.logtext()
            try:
                return query(self.port, zone, timeout=0.2)["rcode"] == 0
            except OSError:
                return False
        wait_for(answers, timeout=10, what="nsd answering")
        return self

    def stop(self):
        """By pid; the port then answers ICMP unreachable."""
        if self.p is not None and self.p.running():
            self.p.stop()
        self.p = None


# ------------------------------------------------- the DNS wire, small

def encode_name(name):
    out = b""
    for label in name.rstrip(".").split("."):
        if label:
            out += bytes([len(label)]) + label.encode()
    return out + b"\0"


def read_name(buf, off):
    labels, jumped, end = [], False, None
    while True:
        n = buf[off]
        if n & 0xc0 == 0xc0:
            if end is None:
                end = off + 2
            off = ((n & 0x3f) << 8) | buf[off + 1]
            continue
        off += 1
        if n == 0:
            break
        labels.append(buf[off:off + n].decode().lower())
        off += n
    return ".".join(labels), end if end is not None else off


def make_query(name, qid=0x1234, qtype=2):
    return struct.pack(">HHHHHH", qid, 0, 1, 0, 0, 0) + \
        encode_name(name) + struct.pack(">HH", qtype, 1)


def parse_reply(buf):
    qid, flags, qd, an, ns, ar = struct.unpack(">HHHHHH", buf[:12])
    off = 12
    for _ in range(qd):
        _, off = read_name(buf, off)
        off += 4
    recs = []
    for _ in range(an + ns):
        owner, off = read_name(buf, off)
        typ, _, _, rdlen = struct.unpack(">HHIH", buf[off:off + 10])
        off += 10
        if typ == 2:
            target, _ = read_name(buf, off)
            recs.append((owner, target))
        off += rdlen
    return {"id": qid, "rcode": flags & 0xf, "aa": bool(flags & 0x400),
            "tc": bool(flags & 0x200), "ns": recs}


def query(port, name, timeout=1.0):
    """One non-recursive NS question over UDP to 127.0.0.1:port."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(timeout)
    try:
        s.sendto(make_query(name), ("127.0.0.1", port))
        buf, _ = s.recvfrom(65535)
    finally:
        s.close()
    return parse_reply(buf)


# ---------------------------------------------------------- the fakes

def _question(q):
    """(id, rd flag, question bytes, name) of a query."""
    qid, flags = struct.unpack(">HH", q[:4])
    name, off = read_name(q, 12)
    return qid, flags & 0x100, q[12:off + 4], name


def _reply(q, rcode=0, tc=False, ns=()):
    """A reply to q: rcode, the TC bit, a referral to the NS hosts ns."""
    qid, rd, question, name = _question(q)
    flags = 0x8000 | rd | rcode | (0x200 if tc else 0)
    out = struct.pack(">HHHHHH", qid, flags, 1, 0, len(ns), 0) + question
    for h in ns:
        rdata = encode_name(h)
        out += encode_name(name) + struct.pack(">HHIH", 2, 1, 3600,
                                               len(rdata)) + rdata
    return out


class FakeDns:
    """A DNS server on UDP and TCP of one port that behaves by the
    queried name's first label:

      silent-*    reads and never replies
      servfail-*  SERVFAIL
      tc-*        UDP: TC bit, empty; TCP: a referral (delegated)
      tcfail-*    UDP: TC bit; TCP: closes without a word
      upward-*    a lame server's referral to the root (no verdict)
      nx-*        NXDOMAIN
      else        a referral: NS ns1.fake.test, ns2.fake.test

    A leading "free-" is skipped, so free-nx-1.com is NXDOMAIN here and
    available at the simulator.
    """

    def __init__(self, port=None):
        self.port = port or free_port()
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind(("127.0.0.1", self.port))
        self.tcp = socket.socket()
        self.tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.tcp.bind(("127.0.0.1", self.port))
        self.tcp.listen(16)
        self.seen = []
        self.stopping = False
        self.threads = [threading.Thread(target=f, daemon=True)
                        for f in (self._serve_udp, self._serve_tcp)]
        for t in self.threads:
            t.start()

    def answer(self, q, over_tcp):
        _, _, _, name = _question(q)
        self.seen.append((name, "tcp" if over_tcp else "udp"))
        first = name.split(".")[0]
        if first.startswith("free-"):
            first = first[5:]
        if first.startswith("silent"):
            return None
        if first.startswith("servfail"):
            return _reply(q, rcode=2)
        if first.startswith("nx"):
            return _reply(q, rcode=3)
        if first.startswith("tcfail"):
            return None if over_tcp else _reply(q, tc=True)
        if first.startswith("tc"):
            if not over_tcp:
                return _reply(q, tc=True)
            return _reply(q, ns=("ns1.fake.test", "ns2.fake.test"))
        if first.startswith("upward"):
            qid, rd, question, _ = _question(q)
            rdata = encode_name("a.root-servers.net")
            return struct.pack(">HHHHHH", qid, 0x8000 | rd, 1, 0, 1, 0) + \
                question + b"\0" + struct.pack(">HHIH", 2, 1, 3600,
                                               len(rdata)) + rdata
        return _reply(q, ns=("ns1.fake.test", "ns2.fake.test"))

    def _serve_udp(self):
        while not self.stopping:
            try:
                q, peer = self.udp.recvfrom(65535)
            except OSError:
                return
            try:
                r = self.answer(q, False)
            except Exception:
                continue
            if r is not None:
                self.udp.sendto(r, peer)

    def _serve_tcp(self):
        while not self.stopping:
            try:
                c, _ = self.tcp.accept()
            except OSError:
                return
            threading.Thread(target=self._tcp_conn, args=(c,),
                             daemon=True).start()

    def _tcp_conn(self, c):
        try:
            c.settimeout(5)
            hdr = c.recv(2, socket.MSG_WAITALL)
            (n,) = struct.unpack(">H", hdr)
            q = c.recv(n, socket.MSG_WAITALL)
            r = self.answer(q, True)
            if r is not None:
                c.sendall(struct.pack(">H", len(r)) + r)
                time.sleep(0.05)
        except (OSError, struct.error):
            pass
        finally:
            c.close()

    def close(self):
        self.stopping = True
        for s in (self.udp, self.tcp):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()
