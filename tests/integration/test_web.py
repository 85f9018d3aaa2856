"""The web page at / and the operator view at /status.html, in a real
browser: Debian's chromium, headless, driven by chromedriver through
python3-selenium, against the whole suite (regsim, errdb, cache, query,
front) with the front serving the repository's www/.

The simulator's data file says what each name is; the page must show
exactly that.  EURid's budget is cut to one query an hour, so once it is
spent a .eu name is unknown / rate-budget and the page counts down its
retry_after.  Screenshots go to tests/artifacts/web/ (gitignored).
"""
import http.client
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.request

import pytest

from conftest import BIN, TOP, Procs, remove_tmp, sanitizer_reports
from suite import Suite, regsim_data

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"

try:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait
    SELENIUM = None
except ImportError as e:           # pragma: no cover
    SELENIUM = "python3-selenium is not installed (%s)" % e


def _no_browser():
    if SELENIUM:
        return SELENIUM
    for p in (CHROMIUM, CHROMEDRIVER):
        if not os.access(p, os.X_OK):
            return "%s is absent (make deps installs chromium " \
                   "chromium-driver)" % p
    return None


pytestmark = [
    pytest.mark.skipif(
        not all(os.path.exists(os.path.join(BIN, b)) for b in
                ("whoisd", "whoisd-cache", "whoisd-query", "whoisd-errdb",
                 "whoisd-regsim")),
        reason="the daemons are not built"),
    pytest.mark.skipif(_no_browser() is not None,
                       reason=_no_browser() or ""),
]

WWW = os.path.join(TOP, "www")
ARTIFACTS = os.path.join(TOP, "tests", "artifacts", "web")
WORD = "webwordx"
# The page's own TLD list (www/app.js) and what the simulator answers
# for WORD in each: the data file below, and Google's registry (.app,
# .dev), which has no whois service.
TRUTH = {
    WORD + ".com": "available",
    WORD + ".net": "registered",
    WORD + ".org": "available",
    WORD + ".io": "registered",
    WORD + ".dev": "unknown",
    WORD + ".app": "unknown",
}
PASTED = {
    WORD + ".be": "reserved",
    WORD + ".it": "reserved",
    "free-" + WORD + ".de": "available",
    "taken-" + WORD + ".co.uk": "registered",
}
DATA = """
latency * uniform:5:60
available {w}.com {w}.org
registered {w}.net {w}.io
reserved {w}.be {w}.it
""".format(w=WORD)


def page_tlds_args():
    """A front with /v1/suggest checks a word in its suggest_tlds, not
    the page's list: make them the same, so TRUTH holds either way."""
    r = subprocess.run([os.path.join(BIN, "whoisd"), "--help"],
                       capture_output=True, text=True, timeout=10)
    if "suggest_tlds" not in r.stdout + r.stderr:
        return []
    return ["--suggest_tlds=" + " ".join(n.split(".", 1)[1] for n in TRUTH)]


def registries_eurid_hourly(tmp):
    """etc/registries.conf with EURid's budget cut to 1 an hour."""
    with open(os.path.join(TOP, "etc", "registries.conf")) as f:
        text = f.read()
    t2 = re.sub(r"(registry eurid\n(?:  .*\n|#.*\n)*?)  quota [0-9]+ min\n",
                r"\1  quota 1 hour\n", text)
    assert t2 != text
    path = os.path.join(tmp, "registries.conf")
    with open(path, "w") as f:
        f.write(t2)
    return path


@pytest.fixture(scope="module")
def suite():
    tmp = tempfile.mkdtemp(prefix="whoisd-web-")
    data = regsim_data(tmp, DATA)
    ps = Procs(tmp)
    try:
        # One front child: /status is the figures of the child that
        # answers it, and the page's checks went through that one.
        s = Suite(ps, tmp, regsim=["--data=" + data],
                  query=["--registries=" + registries_eurid_hourly(tmp)],
                  front=["--http_www=" + WWW, "--min_servers=1",
                         "--max_servers=1", "--min_spare_servers=0",
                         "--max_spare_servers=1"] + page_tlds_args()
                  ).start()
        s.tmp = tmp
        yield s
    finally:
        ps.stop_all()
        reports = sanitizer_reports(ps)
        remove_tmp(tmp)
        if reports:
            pytest.fail("\n".join(reports))


@pytest.fixture(scope="module")
def browser(suite):
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu",
              "--disable-dev-shm-usage", "--window-size=1200,900",
              "--no-first-run", "--disable-extensions",
              "--user-data-dir=" + os.path.join(suite.tmp, "chromium")):
        opts.add_argument(a)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    d = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    d.set_page_load_timeout(30)
    try:
        yield d
    finally:
        d.quit()


def shot(d, name):
    os.makedirs(ARTIFACTS, exist_ok=True)
    path = os.path.join(ARTIFACTS, name + ".png")
    d.save_screenshot(path)
    return path


def base(s):
    return "http://127.0.0.1:%d" % s.port["http"]


def shown(d):
    """{name: data-status} of the result rows on the page."""
    return d.execute_script(
        "var o = {}; document.querySelectorAll('#rows tr').forEach("
        "function (tr) { o[tr.getAttribute('data-name')] = "
        "tr.getAttribute('data-status'); }); return o;")


def wait_rows(d, names, timeout=20):
    """Until every name's row has left "checking": the rows as they were
    then (one snapshot, so a row redrawn meanwhile cannot go missing)."""
    want = set(n.lower() for n in names)

    def done(d):
        rows = shown(d)
        if want <= set(rows) and all(rows[n] != "checking" for n in want):
            return rows
        return False
    return WebDriverWait(d, timeout, 0.05).until(done)


def console_errors(d):
    """Errors in the browser's console, but the page's probe of
    /v1/suggest on a front without it (a 404 the page expects)."""
    return [e for e in d.get_log("browser") if e["level"] == "SEVERE" and
            not ("/v1/suggest?" in e["message"] and " 404 " in
                 e["message"])]


# ------------------------------------------------------------- serving

def test_files_served_from_memory_with_etag(suite):
    """Each file with its type, ETag and Cache-Control; If-None-Match
    gives a 304; HEAD has the headers; other paths are 404."""
    u = base(suite)
    for path, ctype in (("/", "text/html"), ("/index.html", "text/html"),
                        ("/app.js", "text/javascript"),
                        ("/style.css", "text/css"),
                        ("/status.html", "text/html"),
                        ("/status.js", "text/javascript")):
        with urllib.request.urlopen(u + path) as r:
            body = r.read()
            assert r.headers["Content-Type"].startswith(ctype), path
            assert r.headers["Cache-Control"] == "no-cache", path
            etag = r.headers["ETag"]
            assert etag and r.headers["Last-Modified"], path
        name = "index.html" if path == "/" else path[1:]
        with open(os.path.join(WWW, name), "rb") as f:
            assert body == f.read(), path
        req = urllib.request.Request(u + path,
                                     headers={"If-None-Match": etag})
        with pytest.raises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(req)
        assert e.value.code == 304, path
        assert e.value.headers["ETag"] == etag, path
        assert e.value.headers["Content-Length"] is None, path
        req = urllib.request.Request(u + path, method="HEAD")
        with urllib.request.urlopen(req) as r:
            assert r.read() == b"" and r.headers["ETag"] == etag
    # A 304 leaves a keep-alive connection ready for the next answer.
    c = http.client.HTTPConnection("127.0.0.1", suite.port["http"],
                                   timeout=10)
    c.request("GET", "/app.js")
    r = c.getresponse()
    etag = r.getheader("ETag")
    assert r.status == 200 and len(r.read()) > 0
    c.request("GET", "/app.js", headers={"If-None-Match": etag})
    r = c.getresponse()
    assert r.status == 304 and r.read() == b""
    c.request("GET", "/style.css")
    r = c.getresponse()
    assert r.status == 200 and r.read() == open(
        os.path.join(WWW, "style.css"), "rb").read()
    c.close()
    for bad in ("/../etc/passwd", "/www/app.js", "/x.js", "/.git/config",
                "/index.html/", "/%2e%2e/etc/passwd"):
        r = subprocess.run(["curl", "-s", "--path-as-is", "-o", "/dev/null",
                            "-w", "%{http_code}", u + bad],
                           capture_output=True, text=True, timeout=10)
        assert r.stdout == "404", (bad, r.stdout)


def test_page_missing_api_still_works(procs, tmpdir_path):
    """No www directory: / is a 404 that says why; the API answers."""
    s = Suite(procs, tmpdir_path,
              front=["--http_www=" + os.path.join(tmpdir_path, "none")]
              ).start()
    code, body = s.http("/")
    assert code == 404 and "not installed" in body, (code, body)
    assert s.check(["example.com"])[0]["status"] == "registered"


def test_reload_reads_the_page_again(procs, tmpdir_path):
    """The files are read at start and on HUP, not per request: a change
    on disk shows only after a reload."""
    www = os.path.join(tmpdir_path, "www")
    shutil.copytree(WWW, www)
    s = Suite(procs, tmpdir_path, front=["--http_www=" + www]).start()
    u = base(s) + "/style.css"

    def get():
        with urllib.request.urlopen(u) as r:
            return r.headers["ETag"], r.read()

    etag, body = get()
    with open(os.path.join(www, "style.css"), "ab") as f:
        f.write(b"/* changed */\n")
    assert get() == (etag, body)
    s.p["front"].sig(signal.SIGHUP)
    deadline = time.time() + 10
    while time.time() < deadline and get()[0] == etag:
        time.sleep(0.1)
    etag2, body2 = get()
    assert etag2 != etag and body2 == body + b"/* changed */\n"


# ------------------------------------------------------------- the page

def test_word_search_streams_the_simulators_truth(suite, browser):
    d = browser
    u = base(suite)
    d.get(u + "/")
    box = d.find_element(By.ID, "q")
    # The box has a label, the results a live region.
    assert d.find_element(By.CSS_SELECTOR, "label[for=q]").text
    assert d.find_element(By.ID, "summary").get_attribute("aria-live") == \
        "polite"
    box.send_keys(WORD)
    box.send_keys(Keys.ENTER)
    got = wait_rows(d, TRUTH)
    shot(d, "word-search")
    assert {n: got[n] for n in TRUTH} == TRUTH, got
    # The whole row of an answer: source, channel, checked, whois link.
    row = d.find_element(By.CSS_SELECTOR,
                         "#rows tr[data-name='%s.com']" % WORD)
    text = row.text
    assert "registry" in text and "whois" in text, text
    link = row.find_element(By.LINK_TEXT, "whois")
    assert link.get_attribute("href") == \
        u + "/v1/whois?domain=%s.com" % WORD
    assert row.find_element(By.TAG_NAME, "time").get_attribute("datetime")
    # The search is in the URL, to bookmark.
    assert d.current_url.endswith("/?q=" + WORD), d.current_url
    summary = d.find_element(By.ID, "summary").text
    assert "6 names" in summary, summary
    assert console_errors(d) == []
    # The whois link opens the registry's text.
    d.get(link.get_attribute("href"))
    assert "status: available" in d.find_element(By.TAG_NAME, "body").text
    d.get_log("browser")    # a text page: the browser asks for /favicon.ico


def test_pasted_names(suite, browser):
    d = browser
    d.get(base(suite) + "/")
    box = d.find_element(By.ID, "q")
    box.send_keys(" ".join(list(PASTED)[:2]))
    box.send_keys(Keys.SHIFT, Keys.ENTER)       # a new line, not a search
    # An address pasted from a browser counts as its host name.
    box.send_keys("https://%s/shop?x=1, %s" % tuple(list(PASTED)[2:]))
    d.find_element(By.ID, "go").click()
    got = wait_rows(d, PASTED)
    shot(d, "pasted-names")
    assert {n: got[n] for n in PASTED} == PASTED, got
    assert set(got) == set(PASTED), got
    assert console_errors(d) == []


def test_q_in_the_url_runs_the_search(suite, browser):
    d = browser
    d.get(base(suite) + "/?q=" + WORD)
    got = wait_rows(d, TRUTH)
    assert {n: got[n] for n in TRUTH} == TRUTH, got
    assert d.find_element(By.ID, "q").get_attribute("value") == WORD
    # Answered from the cache the second time.
    src = d.execute_script(
        "return document.querySelector(\"#rows tr[data-name='%s.com'] "
        "td.source\").textContent" % WORD)
    assert "cache" in src or "memo" in src, src


def test_rate_limited_name_counts_down(suite, browser):
    """EURid's one query an hour is spent: a .eu name is unknown /
    rate-budget, and its countdown runs down from retry_after."""
    spent = suite.check(["spend-" + WORD + ".eu"])[0]
    assert spent["status"] == "registered", spent
    d = browser
    name = WORD + ".eu"
    d.get(base(suite) + "/?q=" + name)
    got = wait_rows(d, [name])
    assert got[name] == "unknown", got
    sel = "#rows tr[data-name='%s'] .countdown" % name
    cd = d.find_element(By.CSS_SELECTOR, sel)
    assert "rate-budget" in d.find_element(
        By.CSS_SELECTOR, "#rows tr[data-name='%s'] td.status" % name).text
    first = int(cd.get_attribute("data-left"))
    assert 3000 <= first <= 3601, first
    assert cd.text.startswith("retry in "), cd.text
    shot(d, "rate-limited")
    time.sleep(2.2)
    later = int(cd.get_attribute("data-left"))
    assert first - 3 <= later <= first - 1, (first, later)


def test_phone_width(suite, browser):
    d = browser
    d.set_window_size(390, 844)
    try:
        d.get(base(suite) + "/?q=" + WORD)
        wait_rows(d, TRUTH)
        over = d.execute_script(
            "return document.documentElement.scrollWidth - "
            "window.innerWidth")
        shot(d, "phone")
        assert over <= 0, over
    finally:
        d.set_window_size(1200, 900)


def test_same_origin_without_cors(suite, browser):
    """The page needs no CORS: its fetches are same-origin, and nothing
    the Content-Security-Policy forbids is used (no console errors)."""
    d = browser
    d.get(base(suite) + "/?q=" + WORD)
    wait_rows(d, TRUTH)
    origin = d.execute_script("return window.location.origin")
    assert origin == base(suite)
    entries = d.execute_script(
        "return performance.getEntriesByType('resource')"
        ".map(function (e) { return e.name; })")
    assert entries and all(e.startswith(origin + "/") for e in entries), \
        entries
    assert any("/v1/check" in e or "/v1/suggest" in e for e in entries), \
        entries
    assert console_errors(d) == []


# ---------------------------------------------------- operator view

def test_status_page(suite, browser):
    """Links, children, and the registries this child's answers came
    from: verdicts and latency for Verisign, EURid backing off (its one
    query an hour is spent)."""
    eu = suite.check(["status-a-%s.eu" % WORD, "status-b-%s.eu" % WORD])
    assert eu[1]["reason"] == "rate-budget", eu
    assert suite.check(["free-status-%s.com" % WORD])[0]["status"] == \
        "available"
    d = browser
    d.set_window_size(1200, 1600)
    d.get(base(suite) + "/status.html")
    WebDriverWait(d, 10, 0.05).until(
        lambda d: d.find_element(By.TAG_NAME, "body")
        .get_attribute("data-loaded") == "1")
    # Two polls: the charts have a line.
    time.sleep(2.5)
    st = json.loads(suite.http("/status")[1])
    links = {e.get_attribute("data-link"): e.text for e in
             d.find_elements(By.CSS_SELECTOR, "#links .card")}
    assert set(links) == {"cache", "query"}, links
    for name, text in links.items():
        assert "connected" in text, text
        assert st["links"][name]["addr"] in text, text
    pids = {e.get_attribute("data-pid") for e in
            d.find_elements(By.CSS_SELECTOR, "#children tbody tr")}
    assert {str(c["pid"]) for c in st["pool"]["children"]} == pids, \
        (pids, st)
    assert d.find_elements(By.CSS_SELECTOR, "#links svg.spark polyline")
    regs = {e.get_attribute("data-registry"): e for e in
            d.find_elements(By.CSS_SELECTOR, "#registries tbody tr")}
    shot(d, "status")
    d.set_window_size(1200, 900)
    served = {r["registry"]: r for r in st["registries"]}
    assert set(regs) == set(served), (set(regs), set(served))
    com = regs["whois.verisign-grs.com"]
    cells = com.find_elements(By.TAG_NAME, "td")
    assert cells[1].text.startswith("ok"), com.text
    assert "available" in cells[1].text, com.text
    assert cells[3].text == str(served["whois.verisign-grs.com"]["p50"])
    assert cells[4].text == str(served["whois.verisign-grs.com"]["p99"])
    assert cells[5].find_elements(By.TAG_NAME, "polyline"), com.text
    assert served["whois.verisign-grs.com"]["p99"] >= 5, served
    assert regs["google"].find_elements(By.TAG_NAME, "td")[1].text \
        .startswith("no whois service"), regs["google"].text
    eu = regs["whois.eu"].find_elements(By.TAG_NAME, "td")
    assert eu[1].text.startswith("backing off"), regs["whois.eu"].text
    assert "rate-budget" in eu[1].text
    assert re.match(r"^\d+ min$", eu[2].text), eu[2].text
    assert console_errors(d) == []
