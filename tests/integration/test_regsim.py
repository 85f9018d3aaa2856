"""whoisd-regsim, the registry simulator: answers, query formats, counting,
latency, rate limits, faults, concurrency and signals.

Runs the real binary ($WHOISD_BUILD/bin/whoisd-regsim) against the fixture
corpus in tests/regsim/fixtures, and queries it with the Debian whois
client and raw sockets.
"""

import asyncio
import json
import resource
import signal
import socket
import subprocess
import time

import pytest

import regsim_helper
from regsim_helper import FIXTURES, ROOT, regsim_binary

pytestmark = pytest.mark.skipif(not regsim_binary().exists(),
                                reason="whoisd-regsim not built")


def Regsim(*args, **kw):
    """The simulator on the fixture corpus, whose wording these tests know."""
    kw.setdefault("corpus", FIXTURES)
    return regsim_helper.Regsim(*args, **kw)


@pytest.fixture
def rs():
    r = Regsim()
    yield r
    r.close()


def write(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text)
    return p


# ------------------------------------------------------------ answers

@pytest.mark.parametrize("name,expect", [
    ("example.com", "   Domain Name: EXAMPLE.COM\n"),
    ("something-taken.com", "   Domain Name: SOMETHING-TAKEN.COM\n"),
    ("free-abc.com", 'No match for "FREE-ABC.COM".'),
    ("availnow.com", 'No match for "AVAILNOW.COM".'),
    ("example.de", "Status: connect"),
    ("free-abc.de", "Domain: free-abc.de\nStatus: free\n"),
    ("bbc.co.uk", "Registered until expiry date."),
    ("free-abc.co.uk", 'No match for "free-abc.co.uk".'),
    ("nic.uk", "contravenes the Nominet UK\n    naming rules"),
    ("reserved-name.co.uk", "the domain name is reserved"),
    ("free-name.uk", "This domain name has not been registered."),
])
def test_whois_client_gets_registry_template(rs, name, expect):
    assert expect in rs.whois(name)


def test_reserved_without_template_falls_back_to_registered(rs):
    # The fixture .de has no reserved*.txt: DENIC shows such names taken.
    assert "Status: connect" in rs.whois("nic.de")
    assert rs.stats()["per_outcome"] == {"reserved": 1}


def test_error_and_throttled_by_name(rs):
    assert rs.query("error-now.de") == b"% Error: 55000000001 Invalid query: error-now.de\n"
    assert b"access control limit reached" in rs.query("throttled-x.de")
    # No limiter configured: {{seconds}} is --throttle-seconds (60).
    assert b"replenished in 60 seconds" in rs.query("throttled-x.uk")
    st = rs.stats()
    assert st["per_outcome"] == {"error": 1, "throttled": 2}


def test_trap_and_statusless_files_are_never_served(rs):
    for n in ("example.com", "x.com", "free-x.com", "reserved-x.com",
              "throttled-x.com", "error-x.com"):
        a = rs.query(n)
        assert b"TRAP" not in a and b"Not a template" not in a


def test_unknown_tld_and_empty_query(rs):
    assert rs.query("foo.invalidtld") == b'% regsim: no registry serves "foo.invalidtld"\n'
    assert rs.query("") == b"% regsim: empty query\n"
    st = rs.stats()
    assert st["total"] == 1   # the empty line is not a query
    assert st["per_tld"] == {"invalidtld": 1}
    assert st["per_outcome"] == {"no-registry": 1}


def test_longest_suffix_wins(rs):
    rs.query("a.co.uk")
    rs.query("b.uk")
    rs.query("c.org.uk")
    assert rs.stats()["per_tld"] == {"co.uk": 1, "uk": 2}


def test_placeholders_filled_case(rs):
    a = rs.query("MiXeD.CoM").decode()
    assert "Domain Name: MIXED.COM" in a
    assert "{{" not in a
    assert "Domain: mixed.de" in rs.query("Mixed.De.").decode()


# ------------------------------------------------------- query formats

@pytest.mark.parametrize("line,name,expect", [
    ("domain example.com", "example.com", b"Domain Name: EXAMPLE.COM"),
    ("DOMAIN free-q1.com", "free-q1.com", b'No match for "FREE-Q1.COM"'),
    ("=free-q2.com", "free-q2.com", b'No match for "FREE-Q2.COM"'),
    ("domain =free-q3.com", "free-q3.com", b'No match for "FREE-Q3.COM"'),
    ("-T dn,ace free-q4.de", "free-q4.de", b"Status: free"),
    ("-T dn taken-q5.de", "taken-q5.de", b"Status: connect"),
    ("free-q6.co.uk/e", "free-q6.co.uk", b"No match for"),
    ("--show-handles taken-q7.de", "taken-q7.de", b"Status: connect"),
    ("  free-q8.de  ", "free-q8.de", b"Status: free"),
])
def test_query_formats(rs, line, name, expect):
    assert expect in rs.query(line)
    st = rs.stats()
    assert st["per_domain"] == {name: 1}
    assert rs.log().count("domain=%s " % name) == 1


def test_line_endings_and_no_newline(rs):
    assert b"Status: free" in rs.query("free-lf.de", eol=b"\n")
    # No LF at all: the query ends with the client's FIN.
    assert b"Status: free" in rs.query("free-none.de", eol=b"", half_close=True)
    assert b"Status: free" in rs.query("free-cr.de", eol=b"\r\n\r\n")
    assert rs.stats()["total"] == 3


def test_half_closed_client_still_answered(rs):
    assert b"Status: free" in rs.query("free-half.de", half_close=True)


def test_bad_input_answered_not_dropped(rs):
    with socket.create_connection(("127.0.0.1", rs.port), timeout=5) as s:
        s.sendall(b"x" * 5000)
        assert s.recv(1000) == b"% regsim: query too long\n"
    a = rs.query(b"\x00\xff\xfe binary\x01.com")
    assert a
    st = rs.stats()   # still alive, and valid JSON despite the bytes
    assert st["total"] == 1
    assert rs.query("free-after.de").endswith(b"Status: free\n")


# ---------------------------------------------------- stats and reset

def test_stats_counts_and_reset(rs):
    for _ in range(3):
        rs.query("counted.com")
    rs.whois("free-counted.de")
    rs.query("domain counted.com")
    # Connections that send nothing (port probes) are not queries.
    socket.create_connection(("127.0.0.1", rs.port)).close()
    st = rs.stats()
    assert st["total"] == 5
    assert st["per_tld"] == {"com": 4, "de": 1}
    assert st["per_domain"] == {"counted.com": 4, "free-counted.de": 1}
    assert st["per_outcome"] == {"registered": 4, "available": 1}
    assert st["per_domain_overflow"] == 0
    # "stats" and "#stats" are the same and are not counted themselves.
    assert json.loads(rs.query("stats")) == rs.stats()
    assert rs.reset() == {"reset": True}
    st = rs.stats()
    assert st["total"] == 0 and st["per_domain"] == {} and st["per_tld"] == {}
    rs.query("after-reset.com")
    assert rs.stats()["per_domain"] == {"after-reset.com": 1}


def test_stats_via_whois_client(rs):
    rs.query("one.com")
    st = json.loads(rs.whois("#stats"))
    assert st["total"] == 1


def test_log_line_per_query(rs):
    rs.query("-T dn,ace logged.de")
    assert rs.wait_log('query 127.0.0.1:')
    line = [l for l in rs.log().splitlines() if "domain=logged.de" in l]
    assert len(line) == 1
    assert " info: " in line[0] and '"-T dn,ace logged.de" (denic)' in line[0]
    assert "tld=de -> registered" in line[0]


def test_per_domain_is_capped():
    with Regsim(log_level=2) as r:
        async def flood():
            sem = asyncio.Semaphore(200)

            async def one(i):
                async with sem:
                    rd, wr = await asyncio.open_connection("127.0.0.1", r.port)
                    wr.write(b"n%d.com\r\n" % i)
                    await rd.read()
                    wr.close()
            await asyncio.gather(*(one(i) for i in range(10050)))
        asyncio.run(flood())
        st = r.stats()
        assert st["total"] == 10050
        assert len(st["per_domain"]) == 10000
        assert st["per_domain_overflow"] == 50
        assert st["per_tld"] == {"com": 10050}


# ------------------------------------------------------------ data file

def test_data_file_rules(tmp_path):
    data = write(tmp_path, "d.conf", """
# exact, glob, variants
registered free-but-taken.com
available taken-but-free.de     # trailing comment
available *.freezone.com
reserved  res?.de
registered-thin thin.com *.thin.com
throttled busy.de
error broken.de
registered *.de
""")
    with Regsim(data=data) as r:
        assert b"Domain Name: FREE-BUT-TAKEN.COM" in r.query("free-but-taken.com")
        assert b"Status: free" in r.query("taken-but-free.de")
        assert b"No match for" in r.query("x.freezone.com")
        assert b"Status: connect" in r.query("res1.de")   # reserved -> fallback
        thin = r.query("thin.com")
        assert thin.startswith(b"   Domain Name: THIN.COM\n   Registrar:")
        assert b"NS1.THIN.COM" in thin and b"Registry Domain ID" not in thin
        assert b"NS1.A.THIN.COM" in r.query("a.thin.com")
        assert b"access control limit" in r.query("busy.de")
        assert b"55000000001" in r.query("broken.de")
        # The glob beats the default rule: free* is taken under *.de.
        assert b"Status: connect" in r.query("free-glob.de")
        # Not matched by any line: the default rule.
        assert b"No match for" in r.query("free-default.com")
        assert r.stats()["per_outcome"] == {
            "registered": 4, "available": 3, "reserved": 1,
            "throttled": 1, "error": 1}


def test_shipped_data_file_loads():
    with Regsim(data=ROOT / "tests" / "regsim" / "regsim.conf") as r:
        assert b"contravenes" in r.query("nic.co.uk")
        assert b"Status: free" in r.query("free-name.de")
        assert b"Domain Name: GOOGLE.COM" in r.query("google.com")
    out = subprocess.run([str(regsim_binary()), "-n", "--corpus=%s" % FIXTURES],
                         cwd=str(ROOT), capture_output=True, timeout=10)
    assert out.returncode == 0 and out.stdout == b"configuration OK\n"


@pytest.mark.parametrize("text,msg", [
    ("registered a.com\nbogus x\n", ":2: unknown directive \"bogus\""),
    ("latency de fast\n", ":1: bad latency \"fast\""),
    ("ratelimit uk 5/fortnight\n", ":1: bad rate \"5/fortnight\""),
    ("fault de explode\n", ":1: fault: unknown kind \"explode\""),
    ("available\n", ":1: available: want one or more names"),
])
def test_bad_data_file_refused_at_start(tmp_path, text, msg):
    data = write(tmp_path, "bad.conf", text)
    out = subprocess.run([str(regsim_binary()), "--listen=127.0.0.1:0",
                          "--corpus=%s" % FIXTURES, "--data=%s" % data],
                         capture_output=True, timeout=10)
    assert out.returncode != 0
    assert b"listening" not in out.stdout
    assert (str(data) + msg).encode() in out.stderr


def test_sighup_reloads_data_file(tmp_path):
    data = write(tmp_path, "d.conf", "registered free-flip.de\n")
    with Regsim(data=data) as r:
        assert b"Status: connect" in r.query("free-flip.de")
        data.write_text("available free-flip.de\nfault com empty\n")
        r.send_signal(signal.SIGHUP)
        assert r.wait_log("reloaded:")
        assert b"Status: free" in r.query("free-flip.de")
        assert r.query("x.com") == b""
        # A broken file on reload: the old rules stay, the process lives.
        data.write_text("nonsense here\n")
        r.send_signal(signal.SIGHUP)
        assert r.wait_log("keeping the old data")
        assert b"Status: free" in r.query("free-flip.de")
        # Counters survive a reload.
        assert r.stats()["total"] == 4


def test_missing_corpus_or_data_refused(tmp_path):
    for arg in ("--corpus=%s" % (tmp_path / "nope"), "--data=%s" % (tmp_path / "nope")):
        out = subprocess.run([str(regsim_binary()), "--listen=127.0.0.1:0",
                              "--corpus=%s" % FIXTURES, arg],
                             capture_output=True, timeout=10)
        assert out.returncode != 0 and b"nope" in out.stderr


def test_default_corpus_found_next_to_binary(tmp_path):
    # Started outside the tree with no --corpus/--data: the binary finds
    # tests/corpus (or the fixtures) through its own path.
    with Regsim(corpus=None, cwd=tmp_path) as r:
        assert r.query("example.com")
        assert "corpus " in r.log() and "templates" in r.log()


# -------------------------------------------------------------- latency

def timed(fn, *a, **kw):
    t = time.monotonic()
    r = fn(*a, **kw)
    return r, time.monotonic() - t


def test_fixed_latency_and_per_registry_override(tmp_path):
    data = write(tmp_path, "d.conf", "latency de 700\nlatency co.uk 0\n")
    with Regsim("--latency-ms=300", data=data) as r:
        a, t = timed(r.query, "x.com")
        assert b"Domain Name: X.COM" in a
        assert 0.28 <= t < 0.65
        a, t = timed(r.query, "x.de")
        assert b"Status: connect" in a and 0.68 <= t < 1.3
        _, t = timed(r.query, "x.co.uk")
        assert t < 0.25
        _, t = timed(r.query, "x.uk")   # uk is not co.uk: the global 300
        assert 0.28 <= t < 0.65
        _, t = timed(r.query, "#stats")   # control queries never wait
        assert t < 0.25


def test_latency_is_a_timer_not_a_sleep():
    with Regsim("--latency-ms=500", log_level=2) as r:
        async def many():
            async def one(i):
                rd, wr = await asyncio.open_connection("127.0.0.1", r.port)
                wr.write(b"par%d.de\r\n" % i)
                data = await rd.read()
                wr.close()
                return data
            return await asyncio.gather(*(one(i) for i in range(50)))
        t = time.monotonic()
        answers = asyncio.run(many())
        t = time.monotonic() - t
        assert all(b"Status: connect" in a for a in answers)
        assert t < 2.0   # 50 x 500 ms serially would be 25 s


@pytest.mark.parametrize("spec,lo,hi", [
    ("uniform:100:250", 0.09, 0.6),
    ("normal:200:10", 0.14, 0.6),
])
def test_latency_distributions(spec, lo, hi):
    with Regsim("--latency=" + spec, "--seed=7") as r:
        times = [timed(r.query, "free-%d.com" % i)[1] for i in range(8)]
        assert all(lo <= t < hi for t in times), times
        if spec.startswith("uniform"):
            assert max(times) - min(times) > 0.02, times


def test_bad_latency_flag():
    out = subprocess.run([str(regsim_binary()), "--latency=sometimes"],
                         capture_output=True, timeout=10)
    assert out.returncode == 2 and b"bad latency" in out.stderr


# ----------------------------------------------------------- rate limits

def test_ratelimit_answers_registry_throttle_text(tmp_path):
    data = write(tmp_path, "d.conf", "ratelimit uk 5/s\n")
    with Regsim(data=data) as r:
        answers = [r.query("n%d.co.uk" % i) for i in range(8)]
        assert all(b"Registered until expiry date" in a for a in answers[:5])
        for a in answers[5:]:
            assert a == (b"The WHOIS query quota for 127.0.0.1 has been "
                         b"exceeded and will be replenished in 1 seconds.\n")
        # Other registries and other clients have their own budgets.
        assert b"Status: connect" in r.query("x.de")
        assert b"Registered until" in r.query("other.co.uk", source="127.0.0.2")
        st = r.stats()
        assert st["total"] == 10   # throttled queries reached the registry
        assert st["per_outcome"]["throttled"] == 3
        time.sleep(1.1)
        assert b"Registered until" in r.query("again.co.uk")


def test_ratelimit_from_command_line_per_minute():
    with Regsim("--ratelimit=de:2/m", "--ratelimit=com:0/s") as r:
        assert b"Status: connect" in r.query("a.de")
        assert b"Status: free" in r.query("free-b.de")
        a = r.query("c.de")
        assert a == b"% Error: 55000000002 Connection refused; access control limit reached.\n"
        assert all(b"Domain Name" in r.query("c%d.com" % i) for i in range(10))  # 0 = off
        # #reset also forgets the rate windows.
        r.reset()
        assert b"Status: connect" in r.query("d.de")


def test_throttle_seconds_counts_down():
    with Regsim("--ratelimit=uk:1/10s") as r:
        r.query("a.uk")
        assert b"replenished in 10 seconds" in r.query("b.uk")
        time.sleep(1.2)
        assert b"replenished in 9 seconds" in r.query("c.uk")


# ---------------------------------------------------------------- faults

def test_fault_timeout_holds_connection(rs):
    with socket.create_connection(("127.0.0.1", rs.port), timeout=1.5) as s:
        s.sendall(b"fault-timeout-x.com\r\n")
        with pytest.raises(socket.timeout):
            s.recv(100)
    # Other clients are served meanwhile, and the query was counted.
    assert b"Domain Name" in rs.query("x.com")
    assert rs.stats()["per_outcome"] == {"fault-timeout": 1, "registered": 1}


def test_fault_timeout_hold_max():
    with Regsim("--hold-max=0.5") as r:
        with socket.create_connection(("127.0.0.1", r.port), timeout=5) as s:
            s.sendall(b"fault-timeout.de\r\n")
            t = time.monotonic()
            assert s.recv(100) == b""
            assert 0.4 < time.monotonic() - t < 3


def test_fault_reset_sends_part_then_rst(rs):
    full = rs.query("resetme.com")
    with socket.create_connection(("127.0.0.1", rs.port), timeout=5) as s:
        s.sendall(b"fault-reset-resetme.com\r\n")
        got = b""
        with pytest.raises(ConnectionResetError):
            while True:
                time.sleep(0.2)   # the RST arrives while data waits
                b = s.recv(65536)
                if not b:
                    break
                got += b
    assert 0 < len(got) < len(full.replace(b"RESETME.COM", b"FAULT-RESET-RESETME.COM"))
    assert got.startswith(b"   Domain Name: FAULT-RESET-RESETME.COM\n")


def test_fault_garbage(rs):
    a = rs.query("fault-garbage-1.de")
    assert 256 <= len(a) <= 2048
    assert any(c >= 0x80 or (c < 0x20 and c not in b"\r\n\t") for c in a)
    assert b"Status:" not in a


def test_fault_empty(rs):
    with socket.create_connection(("127.0.0.1", rs.port), timeout=5) as s:
        s.sendall(b"fault-empty-x.de\r\n")
        assert s.recv(100) == b""   # a clean FIN, not a reset


def test_fault_drip_is_slow(rs):
    with socket.create_connection(("127.0.0.1", rs.port), timeout=5) as s:
        s.sendall(b"fault-drip-free1.de\r\n")
        t = time.monotonic()
        got = b""
        while len(got) < 4:
            got += s.recv(100)
        t = time.monotonic() - t
    assert got == b"Doma"
    assert 0.5 <= t < 2.0    # bytes 2..4 come 200 ms apart


def test_fault_drip_whole_answer():
    with Regsim("--drip-ms=5") as r:
        a, t = timed(r.query, "fault-drip-free1.de")
        assert a == b"Domain: fault-drip-free1.de\nStatus: free\n"
        assert t >= len(a) * 0.004


def test_fault_big(rs):
    a = rs.query("fault-big.com")
    assert len(a) == 65536
    assert a.startswith(b"   Domain Name: FAULT-BIG.COM\n")
    assert a.endswith(b"\n")
    text = a.decode("ascii")
    assert all(l.isprintable() for l in text.splitlines())
    b = rs.query("fault-big-free-z.de")
    assert len(b) == 65536 and b.startswith(b"Domain: fault-big-free-z.de\nStatus: free\n")


def test_fault_big_size_flag():
    with Regsim("--big-size=200000") as r:
        assert len(r.query("fault-big.uk")) == 200000


def test_fault_names_only_by_first_label(rs):
    assert b"Domain Name: X.FAULT-EMPTY.COM" in rs.query("x.fault-empty.com")
    assert b"Domain Name: FAULT-EMPTYISH.COM" in rs.query("fault-emptyish.com")


def test_global_fault_flag():
    with Regsim("--fault=empty") as r:
        assert r.query("x.com") == b""
        assert r.query("free-y.de") == b""
        assert r.stats()["total"] == 2   # control queries still answer


def test_per_tld_fault_and_percentage():
    with Regsim("--fault=de:garbage", "--fault=com:empty:50", "--seed=1") as r:
        assert b"Status" not in r.query("x.de")
        assert b"Registered until" in r.query("x.uk")
        answers = [r.query("p%d.com" % i) for i in range(40)]
        empty = sum(1 for a in answers if a == b"")
        assert 5 < empty < 35
        assert all(a == b"" or b"Domain Name" in a for a in answers)
        # A name's own fault wins over the registry's.
        assert r.query("fault-big-x.de")[:16] == b"Domain: fault-bi"


def test_bad_fault_flag():
    out = subprocess.run([str(regsim_binary()), "--fault=explode"],
                         capture_output=True, timeout=10)
    assert out.returncode == 2 and b"--fault=explode" in out.stderr


# ----------------------------------------------------------- concurrency

def test_500_concurrent_connections_all_answered():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 2000:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 4096), hard))
    with Regsim("--latency=uniform:100:300", log_level=2) as r:
        async def run():
            conns = [await asyncio.open_connection("127.0.0.1", r.port)
                     for _ in range(500)]
            for i, (_, wr) in enumerate(conns):
                wr.write(b"c%d.co.uk\r\n" % i if i % 2 else b"free-c%d.de\r\n" % i)
            out = []
            for rd, wr in conns:
                out.append(await rd.read())
                wr.close()
            return out
        answers = asyncio.run(run())
        for i, a in enumerate(answers):
            if i % 2:
                assert b"Registered until expiry date" in a, i
            else:
                assert a == b"Domain: free-c%d.de\nStatus: free\n" % i
        st = r.stats()
        assert st["total"] == 500
        assert st["per_tld"] == {"co.uk": 250, "de": 250}


# ------------------------------------------------------ signals and CLI

@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signals_stop_cleanly(sig):
    r = Regsim()
    try:
        held = socket.create_connection(("127.0.0.1", r.port))
        held.sendall(b"fault-timeout.com\r\n")
        r.query("x.com")
        t = time.monotonic()
        assert r.stop(sig) == 0
        assert time.monotonic() - t < 3
        assert "stopping" in r.log()
        held.settimeout(2)
        assert held.recv(10) == b""
        held.close()
    finally:
        r.close()


def test_help_version_and_bad_options():
    b = str(regsim_binary())
    out = subprocess.run([b, "--help"], capture_output=True, timeout=10)
    assert out.returncode == 0 and b"--latency=SPEC" in out.stdout
    out = subprocess.run([b, "--version"], capture_output=True, timeout=10)
    assert out.returncode == 0 and out.stdout.startswith(b"whoisd-regsim ")
    for bad in ("--frobnicate=1", "--listen", "stray"):
        out = subprocess.run([b, bad], capture_output=True, timeout=10)
        assert out.returncode == 2, bad


def test_listen_port_in_use_fails():
    with Regsim() as r:
        out = subprocess.run([str(regsim_binary()),
                              "--listen=127.0.0.1:%d" % r.port,
                              "--corpus=%s" % FIXTURES],
                             capture_output=True, timeout=10)
        assert out.returncode != 0 and b"Address already in use" in out.stderr


def test_idle_client_closed_and_not_counted():
    with Regsim("--idle-timeout=0.5") as r:
        with socket.create_connection(("127.0.0.1", r.port), timeout=5) as s:
            s.sendall(b"partial-without-newline")
            t = time.monotonic()
            assert s.recv(100) == b""
            assert 0.4 < time.monotonic() - t < 3
        assert r.stats()["total"] == 0


def corpus_tlds():
    d = ROOT / "tests" / "corpus"
    if not d.is_dir():
        return []
    return sorted(p.name for p in d.iterdir()
                  if p.is_dir() and any(not f.name.startswith("trap-")
                                        for f in p.glob("*.txt")))


@pytest.mark.skipif(not corpus_tlds(), reason="tests/corpus not populated")
def test_real_corpus_every_registry_answers():
    corpus = ROOT / "tests" / "corpus"
    with Regsim(corpus=corpus, data="none", log_level=2) as r:
        for tld in corpus_tlds():
            files = {f.stem for f in (corpus / tld).glob("*.txt")}
            for name, status in (("taken-x." + tld, "registered"),
                                 ("free-x." + tld, "available")):
                a = r.query(name)
                # Every registry answers in its own words (a registry with
                # only unknown-*.txt answers that), never with ours.
                assert a and b"{{" not in a and not a.startswith(b"% regsim:"), name
                if status in files:
                    want = (corpus / tld / (status + ".txt")).read_bytes()
                    want = want.replace(b"{{domain}}", name.encode()).replace(
                        b"{{DOMAIN}}", name.upper().encode())
                    assert a == want, name
        st = r.stats()
        assert st["total"] == 2 * len(corpus_tlds())
        assert set(st["per_tld"]) == set(corpus_tlds())


def test_unknown_status_and_fallback(tmp_path):
    corpus = tmp_path / "corpus"
    (corpus / "app").mkdir(parents=True)
    (corpus / "app" / "unknown-no-whois.txt").write_text("No whois server for {{domain}}.\n")
    (corpus / "za").mkdir()
    (corpus / "za" / "registered.txt").write_text("Domain Name: {{domain}}\nStatus: active\n")
    (corpus / "za" / "unknown-not-in-use.txt").write_text("Domain Name: {{domain}} is not in use\n")
    with Regsim(corpus=corpus, data="none") as r:
        assert r.query("x.app") == b"No whois server for x.app.\n"
        assert r.query("free-x.app") == b"No whois server for free-x.app.\n"
        assert r.query("x.za") == b"Domain Name: x.za\nStatus: active\n"
        assert r.query("free-x.za") == b"Domain Name: free-x.za is not in use\n"
        assert r.query("unknown-x.za") == b"Domain Name: unknown-x.za is not in use\n"
        assert r.stats()["per_outcome"] == {"registered": 2, "available": 2, "unknown": 1}
