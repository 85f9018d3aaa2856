"""`-n` and start-up config checks: every error names file, line and key,
exits non-zero and comes before any socket is bound; `--help` shows each
daemon's own defaults."""
import os
import subprocess

import pytest

from conftest import BIN, TOP, free_port, port_open, with_keys

DAEMONS = ("whoisd", "whoisd-query", "whoisd-cache", "whoisd-errdb")
REGISTRIES = os.path.join(TOP, "etc", "registries.conf")


def run(daemon, *args, timeout=20):
    return subprocess.run(with_keys([os.path.join(BIN, daemon)] + list(args)),
                          capture_output=True, text=True, timeout=timeout,
                          cwd=TOP)


def conf(tmpdir, name, text):
    p = os.path.join(tmpdir, name)
    with open(p, "w") as f:
        f.write(text)
    return p


def check_fails(r, where, key):
    assert r.returncode != 0, r
    assert "configuration OK" not in r.stdout
    assert "%s: %s:" % (where, key) in r.stderr, r.stderr


def good_front(tmpdir, extra=""):
    return conf(tmpdir, "whoisd.conf",
                "listen 127.0.0.1:%d\nhttp_listen 127.0.0.1:%d\n"
                "registries %s\n%s" % (free_port(), free_port(), REGISTRIES,
                                       extra))


def test_good_config_is_ok(tmpdir_path):
    r = run("whoisd", "-n", "-f", good_front(tmpdir_path))
    assert r.returncode == 0 and "configuration OK" in r.stdout, r


@pytest.mark.parametrize("line,key", [
    ("listen 127.0.0.1:99999", "listen"),
    ("listen 127.0.0.1:0", "listen"),
    ("listen 127.0.0.1", "listen"),
    ("http_listen 127.0.0.1", "http_listen"),
    ("http_listen no_such_host.invalid:80", "http_listen"),
    ("cache_addr 127.0.0.1:70000", "cache_addr"),
    ("query_addr bad host:1", "query_addr"),
    ("cidr_allow 10.0.0.0/40", "cidr_allow"),
    ("user no-such-user-here", "user"),
    ("max_servers 1\nmin_servers 3", "max_servers"),
])
def test_front_bad_key_names_file_line_key(tmpdir_path, line, key):
    path = good_front(tmpdir_path, line + "\n")
    n = len(open(path).read().splitlines())
    lineno = n if key != "max_servers" else n - 1
    check_fails(run("whoisd", "-n", "-f", path), "%s:%d" % (path, lineno),
                key)


def test_unknown_group(tmpdir_path):
    path = good_front(tmpdir_path, "user nobody\ngroup no-such-group-x\n")
    check_fails(run("whoisd", "-n", "-f", path), path + ":5", "group")


needs_root = pytest.mark.skipif(os.geteuid() != 0,
                                reason="needs root to check as another user")


@needs_root
def test_unwritable_log_file(tmpdir_path):
    d = os.path.join(tmpdir_path, "private")
    os.makedirs(d, mode=0o700)
    path = good_front(tmpdir_path, "user nobody\nlog_file %s/x.log\n" % d)
    check_fails(run("whoisd", "-n", "-f", path), path + ":5", "log_file")


def test_log_file_in_missing_directory(tmpdir_path):
    path = good_front(tmpdir_path, "log_file %s/no/such/dir/x.log\n"
                      % tmpdir_path)
    check_fails(run("whoisd", "-n", "-f", path), path + ":4", "log_file")


@needs_root
@pytest.mark.parametrize("daemon", ["whoisd-cache", "whoisd-errdb"])
def test_unwritable_database_directory(tmpdir_path, daemon):
    d = os.path.join(tmpdir_path, "private")
    os.makedirs(d, mode=0o700)
    path = conf(tmpdir_path, daemon + ".conf",
                "listen 127.0.0.1:%d\nuser nobody\ndb_path %s/x.db\n"
                % (free_port(), d))
    check_fails(run(daemon, "-n", "-f", path), path + ":3", "db_path")


@needs_root
def test_unwritable_spool_directory(tmpdir_path):
    d = os.path.join(tmpdir_path, "spool")
    os.makedirs(d, mode=0o700)
    path = conf(tmpdir_path, "whoisd-query.conf",
                "listen 127.0.0.1:%d\nuser nobody\nspool_dir %s\n"
                "registries %s\n" % (free_port(), d, REGISTRIES))
    check_fails(run("whoisd-query", "-n", "-f", path), path + ":3",
                "spool_dir")


def test_bad_registries_file(tmpdir_path):
    bad = conf(tmpdir_path, "registries.conf", "tld\n")
    path = good_front(tmpdir_path, "registries %s\n" % bad)
    check_fails(run("whoisd", "-n", "-f", path), path + ":4", "registries")


def test_command_line_key(tmpdir_path):
    r = run("whoisd", "-n", "-f", good_front(tmpdir_path),
            "--http_listen=127.0.0.1:123456")
    check_fails(r, "command line", "http_listen")


def test_bad_http_listen_fails_before_the_whois_port_is_bound(tmpdir_path):
    """A real start, not -n: the whois port is never opened."""
    whois = free_port()
    path = conf(tmpdir_path, "whoisd.conf",
                "listen 127.0.0.1:%d\nhttp_listen 127.0.0.1\n"
                "registries %s\n" % (whois, REGISTRIES))
    p = subprocess.Popen(with_keys([os.path.join(BIN, "whoisd"), "-f", path]),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True, cwd=TOP)
    opened = False
    while p.poll() is None:
        opened = opened or port_open(whois)
    out, err = p.communicate()
    assert p.returncode != 0
    assert "%s:2: http_listen:" % path in err, err
    assert not opened and "listening on" not in err


def test_every_daemon_rejects_a_bad_listen(tmpdir_path):
    for d in DAEMONS:
        r = run(d, "-n", "--listen=127.0.0.1:65536")
        check_fails(r, "command line", "listen")


def test_help_shows_each_daemons_own_defaults():
    def defaults(daemon):
        r = run(daemon, "--help")
        assert r.returncode == 0 and r.stderr == "", r
        out = {}
        for line in r.stdout.splitlines():
            parts = line.split()
            if len(parts) > 1 and line.rstrip().endswith("]"):
                out[parts[0]] = line[line.rindex("[") + 1:-1]
        return out
    front = defaults("whoisd")
    assert front["min_servers"] == "2"
    assert front["max_clients_per_child"] == "4000"
    cache = defaults("whoisd-cache")
    assert cache["min_servers"] == "1"
    assert cache["max_clients_per_child"] == "256"


def test_link_keys_that_cannot_be_loaded(tmpdir_path):
    """Checked with the config, before any port is bound."""
    whois = free_port()
    path = conf(tmpdir_path, "whoisd.conf",
                "listen 127.0.0.1:%d\nhttp_listen 127.0.0.1:%d\n"
                "registries %s\nlink_keys %s/none\n"
                % (whois, free_port(), REGISTRIES, tmpdir_path))
    for args in (["-n"], []):
        r = subprocess.run([os.path.join(BIN, "whoisd"), "-f", path] + args,
                           capture_output=True, text=True, timeout=20,
                           cwd=TOP)
        check_fails(r, path + ":4", "link_keys")
        assert "whoisctl keygen" in r.stderr
        assert "listening on" not in r.stderr
