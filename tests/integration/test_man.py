"""The manual pages: mdoc that `mandoc -Tlint` passes, installed by `make
install`, and each daemon's config keys (names and defaults) as its
--help lists them."""
import os
import re
import shutil
import subprocess
import sys

import pytest

from conftest import BIN, TOP

MAN = os.path.join(TOP, "docs", "man")
PAGES = ["whoisd.8", "whoisd-query.8", "whoisd-cache.8", "whoisd-errdb.8",
         "whoisctl.8", "whoisd.conf.5", "registries.conf.5"]
OURS = r"(whoisd|whoisd-query|whoisd-cache|whoisd-errdb|whoisctl|" \
       r"whoisd\.conf|registries\.conf) [58]"

pytestmark = pytest.mark.skipif(shutil.which("mandoc") is None,
                                reason="mandoc not installed")

sys.path.insert(0, MAN)
import keys  # noqa: E402


def test_every_page_is_there():
    assert sorted(PAGES) == sorted(
        p for p in os.listdir(MAN) if re.search(r"\.[58]$", p))


@pytest.mark.parametrize("page", PAGES)
def test_mandoc_lint_is_clean(page):
    r = subprocess.run(["mandoc", "-Tlint", os.path.join(MAN, page)],
                       capture_output=True, text=True)
    # The only message allowed: a reference to another of our pages,
    # which mandoc looks up among the installed ones.
    other = [l for l in (r.stdout + r.stderr).splitlines()
             if not re.search(r"STYLE: referenced manual not found: Xr "
                              + OURS + r"( \(\d+ times\))?$", l)]
    assert other == [], "\n".join(other)


@pytest.mark.parametrize("daemon", list(keys.PAGES))
def test_help_keys_match_the_man_page(daemon):
    k = keys.help_keys(BIN, daemon)
    page = os.path.join(MAN, keys.PAGES[daemon])
    assert keys.page_keys(page) == [(n, d or None) for n, d, _ in
                                    k["daemon"]], \
        "run `make man-keys` after changing %s's keys" % daemon
    # Pool keys: the same names in every daemon and whoisd.conf(5).
    pool = keys.page_keys(os.path.join(MAN, keys.POOL_PAGE))
    assert [n for n, _ in pool] == [n for n, _, _ in k["pool"]]


def test_pool_defaults_match_whoisd_conf_5():
    k = keys.help_keys(BIN, "whoisd-cache")["pool"]
    assert keys.page_keys(os.path.join(MAN, keys.POOL_PAGE)) == \
        [(n, d or None) for n, d, _ in k]


def test_the_fronts_own_pool_defaults_are_documented():
    text = open(os.path.join(MAN, "whoisd.8")).read()
    k = dict((n, d) for n, d, _ in keys.help_keys(BIN, "whoisd")["pool"])
    assert k["min_servers"] == "2" and k["max_clients_per_child"] == "4000"
    assert "min_servers No 2" in text and "max_clients_per_child No 4000" \
        in text


def test_whoisctl_commands_and_options_are_documented():
    text = open(os.path.join(MAN, "whoisctl.8")).read()
    out = subprocess.run([os.path.join(BIN, "whoisctl"), "--help"],
                         capture_output=True, text=True).stdout
    for cmd in re.findall(r"^  ([a-z]+) ", out.split("options")[0], re.M):
        assert ".It Cm %s" % cmd in text, cmd
    for opt in re.findall(r"^  --([a-z_]+)", out, re.M):
        assert "Fl -%s" % opt in text, opt


def test_make_install_installs_them(tmp_path):
    r = subprocess.run(["make", "-s", "install", "DESTDIR=%s" % tmp_path,
                        "PREFIX=/usr", "B=%s" % os.path.relpath(
                            os.path.dirname(BIN), TOP)],
                       cwd=TOP, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    for p in PAGES:
        sec = p[-1]
        assert os.path.isfile(os.path.join(tmp_path, "usr/share/man",
                                           "man" + sec, p)), p
