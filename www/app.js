// whoisd's search page: plain JavaScript, no build step.  It calls the
// same-origin API: POST /v1/check streamed as NDJSON (a line per name as
// each is known), or GET /v1/suggest?word= when the front has it.
"use strict";

(function () {
  // A word is checked in these TLDs when the front has no /v1/suggest.
  var TLDS = ["com", "net", "org", "io", "dev", "app"];
  var MAX_NAMES = 500;

  var form = document.getElementById("search");
  var box = document.getElementById("q");
  var errorEl = document.getElementById("error");
  var summary = document.getElementById("summary");
  var results = document.getElementById("results");
  var table = document.getElementById("table");
  var tbody = document.getElementById("rows");

  var rows = {};          // key (name as asked, lower case) -> row state
  var order = [];
  var current = null;     // the AbortController of the search under way
  var suggestMissing = false;
  var ticker = null;

  document.getElementById("tld-list").textContent =
    TLDS.map(function (t) { return "." + t; }).join(" ");

  function tokens(q) {
    return q.split(/[\s,;]+/).map(function (t) {
      // A pasted address: its host.
      return t.trim().replace(/^[a-z][a-z0-9+.-]*:\/\//i, "")
        .replace(/[\/?#].*$/, "").replace(/^\.+|\.+$/g, "");
    }).filter(function (t) { return t.length > 0; });
  }

  // What to check: names as given, a word (no dot) in every TLD.
  function expand(toks) {
    var seen = {}, out = [];
    toks.forEach(function (t) {
      var names = t.indexOf(".") >= 0 ? [t] :
        TLDS.map(function (tld) { return t + "." + tld; });
      names.forEach(function (n) {
        var k = n.toLowerCase();
        if (!seen[k]) { seen[k] = true; out.push(n); }
      });
    });
    return out;
  }

  function showError(msg) {
    errorEl.textContent = msg;
    errorEl.hidden = !msg;
  }

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = text;
    return e;
  }

  function addRow(name) {
    var key = name.toLowerCase();
    if (rows[key]) return rows[key];
    var tr = el("tr");
    var r = {
      name: name, tr: tr, answer: null, retryAt: 0,
      tdName: el("td", "name", name),
      tdStatus: el("td", "status"),
      tdSource: el("td", "source"),
      tdChecked: el("td", "checked"),
      tdExpires: el("td", "expires"),
      tdLink: el("td", "link")
    };
    r.tdStatus.setAttribute("data-label", "Status");
    r.tdSource.setAttribute("data-label", "Source");
    r.tdChecked.setAttribute("data-label", "Checked");
    r.tdExpires.setAttribute("data-label", "Cached until");
    tr.setAttribute("data-name", key);
    [r.tdName, r.tdStatus, r.tdSource, r.tdChecked, r.tdExpires,
     r.tdLink].forEach(function (td) { tr.appendChild(td); });
    r.tdStatus.appendChild(el("span", "badge st-checking", "checking\u2026"));
    tr.setAttribute("data-status", "checking");
    tbody.appendChild(tr);
    rows[key] = r;
    order.push(key);
    return r;
  }

  function fmtTime(iso) {
    if (!iso) return null;
    var d = new Date(iso);
    if (isNaN(d.getTime())) return null;
    return d;
  }

  function ago(d) {
    var s = Math.round((Date.now() - d.getTime()) / 1000);
    if (s < 5) return "just now";
    if (s < 90) return s + " s ago";
    if (s < 5400) return Math.round(s / 60) + " min ago";
    if (s < 172800) return Math.round(s / 3600) + " h ago";
    return d.toISOString().slice(0, 10);
  }

  function timeEl(d, text) {
    var t = el("time", null, text);
    t.setAttribute("datetime", d.toISOString());
    t.title = d.toISOString().replace("T", " ").replace(/\.\d+Z$/, " UTC");
    return t;
  }

  function fill(r, a) {
    r.answer = a;
    var st = String(a.status || "unknown");
    r.tr.setAttribute("data-status", st);
    r.tdStatus.textContent = "";
    var badge = el("span", "badge st-" + st.replace(/[^a-z-]/g, ""), st);
    r.tdStatus.appendChild(badge);
    if (a.reason) r.tdStatus.appendChild(el("span", "sub", a.reason));
    if (a.note) r.tdStatus.appendChild(el("span", "sub", a.note));
    r.retryAt = 0;
    if (st === "unknown" && a.retry_after > 0) {
      r.retryAt = Date.now() + a.retry_after * 1000;
      r.countdown = el("span", "countdown");
      r.countdown.setAttribute("data-retry-at", String(r.retryAt));
      r.tdStatus.appendChild(r.countdown);
      tick();
    }
    r.tdSource.textContent = "";
    if (a.source) r.tdSource.appendChild(document.createTextNode(a.source));
    if (a.channel) r.tdSource.appendChild(el("span", "sub", "via " + a.channel));
    if (a.registry) r.tdSource.appendChild(el("span", "sub", a.registry));
    r.tdChecked.textContent = "";
    var c = fmtTime(a.checked);
    if (c) {
      r.tdChecked.appendChild(timeEl(c, ago(c)));
      r.checkedAt = c;
    } else r.tdChecked.textContent = "\u2014";
    r.tdExpires.textContent = "";
    var e = fmtTime(a.expires);
    if (e) r.tdExpires.appendChild(timeEl(e,
      e.toISOString().replace("T", " ").replace(/:\d\d(\.\d+)?Z$/, " UTC")));
    else r.tdExpires.textContent = "\u2014";
    r.tdLink.textContent = "";
    if (st !== "invalid") {
      var link = el("a", null, "whois");
      link.href = "/v1/whois?domain=" + encodeURIComponent(a.ace || a.domain ||
        r.name);
      link.setAttribute("aria-label", "whois text of " + (a.domain || r.name));
      r.tdLink.appendChild(link);
    }
  }

  // The countdowns of unknown names, once a second while any runs.
  function tick() {
    var now = Date.now(), running = false;
    order.forEach(function (k) {
      var r = rows[k];
      if (!r || !r.retryAt || !r.countdown) return;
      var left = Math.ceil((r.retryAt - now) / 1000);
      if (left > 0) {
        running = true;
        r.countdown.textContent = "retry in " + fmtLeft(left);
        r.countdown.setAttribute("data-left", String(left));
      } else if (!r.retryButton) {
        r.countdown.textContent = "";
        r.countdown.setAttribute("data-left", "0");
        r.retryButton = el("button", "small", "Check again");
        r.retryButton.type = "button";
        r.retryButton.addEventListener("click", function () {
          run([r.name], null);
        });
        r.countdown.appendChild(r.retryButton);
      }
    });
    if (running && !ticker) ticker = setInterval(tick, 1000);
    if (!running && ticker) { clearInterval(ticker); ticker = null; }
  }

  function fmtLeft(s) {
    if (s < 120) return s + " s";
    if (s < 7200) return Math.floor(s / 60) + " min " + (s % 60) + " s";
    return Math.floor(s / 3600) + " h " + Math.floor((s % 3600) / 60) + " min";
  }

  function progress() {
    var done = 0, counts = {};
    order.forEach(function (k) {
      var st = rows[k].tr.getAttribute("data-status");
      if (st !== "checking") {
        done++;
        counts[st] = (counts[st] || 0) + 1;
      }
    });
    var parts = Object.keys(counts).sort().map(function (s) {
      return counts[s] + " " + s;
    });
    summary.textContent = done < order.length ?
      "Checked " + done + " of " + order.length + "\u2026" :
      order.length + (order.length === 1 ? " name" : " names") + ": " +
      parts.join(", ") + ".";
  }

  function answered(a) {
    var keys = [a.domain, a.ace].filter(Boolean).map(function (s) {
      return String(s).toLowerCase();
    });
    var r = null;
    for (var i = 0; i < keys.length && !r; i++) r = rows[keys[i]];
    if (!r) r = addRow(String(a.domain || a.ace || "?"));
    fill(r, a);
    progress();
  }

  // The message of an error answer: problem details, or {"error":...}.
  function errorText(res, text) {
    try {
      var j = JSON.parse(text);
      return j.detail || j.title || j.error || text;
    } catch (e) {
      return text || (res.status + " " + res.statusText);
    }
  }

  // Hand each NDJSON line to answered() as it arrives; a whole JSON
  // answer ({"results":[...]}) too.
  function readAnswer(res, signal) {
    var ctype = res.headers.get("Content-Type") || "";
    if (ctype.indexOf("ndjson") < 0 || !res.body || !res.body.getReader) {
      return res.text().then(function (t) {
        if (ctype.indexOf("ndjson") >= 0) {
          t.split("\n").forEach(line);
          return;
        }
        var j = JSON.parse(t);
        (j.results || []).forEach(answered);
      });
    }
    var reader = res.body.getReader();
    var dec = new TextDecoder();
    var buf = "";
    function line(s) {
      s = s.trim();
      if (s) answered(JSON.parse(s));
    }
    function pump() {
      return reader.read().then(function (step) {
        if (signal.aborted) return;
        if (step.done) {
          buf += dec.decode();
          line(buf);
          return;
        }
        buf += dec.decode(step.value, { stream: true });
        var nl;
        while ((nl = buf.indexOf("\n")) >= 0) {
          line(buf.slice(0, nl));
          buf = buf.slice(nl + 1);
        }
        return pump();
      });
    }
    return pump();
  }

  function check(names, signal) {
    return fetch("/v1/check", {
      method: "POST",
      headers: { "Content-Type": "application/json",
                 "Accept": "application/x-ndjson" },
      body: JSON.stringify({ domains: names }),
      signal: signal
    });
  }

  // A word through /v1/suggest when the front has it (its TLD list is the
  // operator's); a 404 means it has not, and the page's list is used.
  function suggest(word, signal) {
    if (suggestMissing) return Promise.resolve(null);
    return fetch("/v1/suggest?word=" + encodeURIComponent(word), {
      headers: { "Accept": "application/x-ndjson" }, signal: signal
    }).then(function (res) {
      if (res.status === 404 || res.status === 405) {
        suggestMissing = true;
        return null;
      }
      return res;
    });
  }

  function run(names, word) {
    if (current) current.abort();
    var ctl = new AbortController();
    current = ctl;
    showError("");
    if (word === null && names.length === 1 && rows[names[0].toLowerCase()]) {
      // A retry of one row: keep the others.
      var r = rows[names[0].toLowerCase()];
      r.retryButton = null;
      r.retryAt = 0;
      r.answer = null;
      r.tdStatus.textContent = "";
      r.tdStatus.appendChild(el("span", "badge st-checking", "checking\u2026"));
      r.tr.setAttribute("data-status", "checking");
    } else {
      tbody.textContent = "";
      rows = {};
      order = [];
      names.forEach(addRow);
    }
    table.hidden = false;
    results.setAttribute("aria-busy", "true");
    progress();
    var start = word !== null ? suggest(word, ctl.signal) :
      Promise.resolve(null);
    return start.then(function (res) {
      if (!res) return check(names, ctl.signal);
      // The front's own TLD list: rows come as its answers do.
      tbody.textContent = "";
      rows = {};
      order = [];
      return res;
    }).then(function (res) {
      if (!res.ok) {
        return res.text().then(function (t) {
          throw new Error(errorText(res, t));
        });
      }
      return readAnswer(res, ctl.signal);
    }).catch(function (e) {
      if (e.name !== "AbortError") showError("The search failed: " + e.message);
    }).then(function () {
      if (current === ctl) {
        current = null;
        order.forEach(function (k) {
          var r = rows[k];
          if (!r.answer && r.tr.getAttribute("data-status") === "checking") {
            r.tdStatus.textContent = "";
            r.tdStatus.appendChild(el("span", "badge st-unknown", "no answer"));
            r.tr.setAttribute("data-status", "no answer");
          }
        });
        results.setAttribute("aria-busy", "false");
        progress();
      }
    });
  }

  function search(q) {
    var toks = tokens(q);
    if (toks.length === 0) {
      showError("Type a word or a domain name.");
      return;
    }
    var names = expand(toks);
    if (names.length > MAX_NAMES) {
      showError("At most " + MAX_NAMES + " names at a time: the first " +
        MAX_NAMES + " are checked.");
      names = names.slice(0, MAX_NAMES);
    }
    var url = new URL(window.location.href);
    url.searchParams.set("q", toks.join(" "));
    history.replaceState(null, "", url.pathname + url.search);
    var word = toks.length === 1 && toks[0].indexOf(".") < 0 ? toks[0] : null;
    run(names, word);
  }

  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    search(box.value);
  });
  box.addEventListener("keydown", function (ev) {
    if (ev.key === "Enter" && !ev.shiftKey && !ev.isComposing) {
      ev.preventDefault();
      search(box.value);
    }
  });

  // "Checked" times age while the page is open.
  setInterval(function () {
    order.forEach(function (k) {
      var r = rows[k], t = r && r.checkedAt && r.tdChecked.firstChild;
      if (t && t.nodeName === "TIME") t.textContent = ago(r.checkedAt);
    });
  }, 15000);

  var q = new URLSearchParams(window.location.search).get("q");
  if (q) {
    box.value = q;
    search(q);
  }
})();
