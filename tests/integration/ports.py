"""Free loopback ports for the daemons the tests start.

A port the kernel hands out for bind(0) comes from the ephemeral range,
the same range it takes the source port of every outgoing connection
from: between our probe and the daemon's bind, a client socket of a busy
test run can take it (EADDRINUSE).  Ports are picked instead below that
range, at random, each checked free for TCP and UDP (NSD listens on
both), and never handed out twice in one process.
"""
import random
import socket

_given = set()


def _ephemeral_low():
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def _bindable(port, host):
    for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
        with socket.socket(socket.AF_INET, kind) as s:
            try:
                s.bind((host, port))
            except OSError:
                return False
    return True


def free_port(host="127.0.0.1"):
    hi = _ephemeral_low() - 1
    lo = 10000 if hi > 12000 else 1024
    for _ in range(1000):
        port = random.randint(lo, hi)
        if port not in _given and _bindable(port, host):
            _given.add(port)
            return port
    # A crowded range: the kernel's choice, as before.
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]
