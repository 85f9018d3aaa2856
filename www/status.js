// whoisd's operator view: GET /status (JSON) and GET /metrics (the
// Prometheus text) every 2 seconds, drawn as tables and small SVG charts.
// Figures a front does not serve are left out, not invented.
"use strict";

(function () {
  var PERIOD = 2000;
  var KEEP = 90;            // points per chart: 3 minutes
  var SVGNS = "http://www.w3.org/2000/svg";

  var hist = {};            // chart key -> [values]
  var lastLinks = {};       // link name -> previous counters, for rates
  var lastT = 0;

  function $(id) { return document.getElementById(id); }

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }

  function push(key, v) {
    var h = hist[key] || (hist[key] = []);
    h.push(typeof v === "number" && isFinite(v) ? v : null);
    if (h.length > KEEP) h.shift();
    return h;
  }

  // A sparkline of one or two series, scaled to their common maximum.
  function spark(label, a, b) {
    var w = 140, h = 36, max = 0;
    [a, b].forEach(function (s) {
      (s || []).forEach(function (v) { if (v !== null && v > max) max = v; });
    });
    var svg = document.createElementNS(SVGNS, "svg");
    svg.setAttribute("class", "spark");
    svg.setAttribute("viewBox", "0 0 " + w + " " + h);
    svg.setAttribute("preserveAspectRatio", "none");
    svg.setAttribute("role", "img");
    svg.setAttribute("aria-label", label);
    var t = document.createElementNS(SVGNS, "title");
    t.textContent = label;
    svg.appendChild(t);
    var base = document.createElementNS(SVGNS, "line");
    base.setAttribute("class", "base");
    base.setAttribute("x1", "0"); base.setAttribute("x2", String(w));
    base.setAttribute("y1", String(h - 1)); base.setAttribute("y2", String(h - 1));
    svg.appendChild(base);
    [a, b].forEach(function (s, i) {
      if (!s || s.length === 0) return;
      var pts = [], step = w / (KEEP - 1), x0 = w - (s.length - 1) * step;
      s.forEach(function (v, j) {
        if (v === null) return;
        var y = max > 0 ? h - 2 - (v / max) * (h - 4) : h - 2;
        pts.push((x0 + j * step).toFixed(1) + "," + y.toFixed(1));
      });
      if (pts.length === 1) pts.push(pts[0]);
      var pl = document.createElementNS(SVGNS, "polyline");
      pl.setAttribute("class", i === 0 ? "l1" : "l2");
      pl.setAttribute("points", pts.join(" "));
      svg.appendChild(pl);
    });
    return svg;
  }

  function kv(dl, pairs) {
    dl.textContent = "";
    pairs.forEach(function (p) {
      if (p[1] === undefined || p[1] === null) return;
      dl.appendChild(el("dt", null, p[0]));
      var dd = el("dd");
      if (p[1] instanceof Node) dd.appendChild(p[1]); else dd.textContent = p[1];
      dl.appendChild(dd);
    });
  }

  function fmtAge(s) {
    if (!(s >= 0)) return "\u2014";
    if (s < 120) return Math.round(s) + " s";
    if (s < 7200) return Math.round(s / 60) + " min";
    if (s < 172800) return Math.round(s / 3600) + " h";
    return Math.round(s / 86400) + " d";
  }

  function renderLinks(links, dt) {
    var box = $("links");
    box.textContent = "";
    Object.keys(links || {}).sort().forEach(function (name) {
      var l = links[name], prev = lastLinks[name];
      var rate = prev && dt > 0 ? Math.max(0, (l.requests - prev.requests) / dt) :
        null;
      lastLinks[name] = l;
      var card = el("div", "card");
      card.setAttribute("data-link", name);
      card.appendChild(el("h3", null, name));
      var state = el("span", l.connected ? "up" : "down",
        l.connected ? "connected" : "down");
      var dl = el("dl", "kv");
      kv(dl, [["address", l.addr], ["state", state],
        ["requests", l.requests], ["replies", l.replies],
        ["timeouts", l.timeouts], ["link lost", l.link_lost],
        ["unavailable", l.unavailable], ["in flight", l.inflight],
        ["back-off", (l.backoff_ms || 0) + " ms"]]);
      card.appendChild(dl);
      var rq = push("link-rate-" + name, rate);
      var fl = push("link-inflight-" + name, l.inflight);
      card.appendChild(spark(name + ": requests a second and in flight", rq, fl));
      var lg = el("p", "legend");
      lg.appendChild(el("span", "k1", "\u2014 requests/s "));
      lg.appendChild(el("span", "k2", "\u2014 in flight"));
      card.appendChild(lg);
      box.appendChild(card);
    });
  }

  function renderPool(st) {
    var p = st.pool || {};
    kv($("pool"), [["daemon", st.daemon + " " + (st.version || "")],
      ["protocol", st.protocol], ["master pid", p.master],
      ["answered by child", st.child], ["generation", p.generation],
      ["children spawned", p.spawned], ["children killed", p.killed],
      ["accepts", p.accepts], ["requests", p.requests]]);
    var tb = $("children").tBodies[0];
    tb.textContent = "";
    var now = Date.now() / 1000;
    (p.children || []).forEach(function (c) {
      var tr = el("tr");
      tr.setAttribute("data-pid", String(c.pid));
      [c.pid, c.state, c.gen, c.clients, c.requests, c.accepts,
       fmtAge(now - c.started)].forEach(function (v, i) {
        tr.appendChild(el("td", i >= 2 ? "num" : null,
          v === undefined ? "\u2014" : v));
      });
      tb.appendChild(tr);
    });
  }

  // ---- the Prometheus text: only series with a registry label ----

  function parseLabels(s) {
    var out = {}, re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g, m;
    while ((m = re.exec(s)) !== null)
      out[m[1]] = m[2].replace(/\\"/g, "\"").replace(/\\n/g, "\n")
        .replace(/\\\\/g, "\\");
    return out;
  }

  function parseMetrics(text) {
    var series = [];
    text.split("\n").forEach(function (line) {
      if (!line || line.charAt(0) === "#") return;
      var m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)/.exec(line);
      if (!m) return;
      series.push({ name: m[1], labels: parseLabels(m[3] || ""),
        value: parseFloat(m[4]) });
    });
    return series;
  }

  // The q-quantile of cumulative buckets [[le, count]], as Prometheus'
  // histogram_quantile() does: linear within the bucket.
  function quantile(q, buckets) {
    buckets.sort(function (a, b) { return a[0] - b[0]; });
    var n = buckets.length;
    if (n === 0) return null;
    var total = buckets[n - 1][1];
    if (!(total > 0)) return null;
    var rank = q * total, prevLe = 0, prevC = 0;
    for (var i = 0; i < n; i++) {
      var le = buckets[i][0], c = buckets[i][1];
      if (c >= rank) {
        if (le === Infinity) return prevLe;
        return prevLe + (le - prevLe) * ((rank - prevC) / Math.max(c - prevC, 1e-9));
      }
      prevLe = le; prevC = c;
    }
    return prevLe;
  }

  // Per registry: back-off, health and a latency histogram, from whatever
  // series carry a registry label (summed over children and channels).
  function registriesFromMetrics(series) {
    var regs = {};
    series.forEach(function (s) {
      var r = s.labels.registry;
      if (r === undefined) return;
      var g = regs[r] || (regs[r] = { name: r, buckets: {}, unit: 1 });
      if (/_bucket$/.test(s.name) && /latency|duration|seconds|_ms/.test(s.name)) {
        var le = s.labels.le === "+Inf" ? Infinity : parseFloat(s.labels.le);
        g.buckets[le] = (g.buckets[le] || 0) + s.value;
        g.unit = /_seconds/.test(s.name) ? 1000 : 1;
      } else if (/backoff/.test(s.name)) {
        var ms = /_seconds/.test(s.name) ? s.value * 1000 : s.value;
        g.backoff_ms = Math.max(g.backoff_ms || 0, ms);
      } else if (/health|_up$/.test(s.name)) {
        g.health = s.value > 0 ? "ok" : "down";
      }
    });
    return Object.keys(regs).sort().map(function (k) {
      var g = regs[k], b = Object.keys(g.buckets).map(function (le) {
        return [parseFloat(le), g.buckets[le]];
      });
      var p50 = quantile(0.5, b), p99 = quantile(0.99, b);
      return { name: g.name, health: g.health ||
          (g.backoff_ms > 0 ? "backing off" : "ok"),
        backoff_ms: g.backoff_ms || 0,
        p50: p50 === null ? null : p50 * g.unit,
        p99: p99 === null ? null : p99 * g.unit };
    });
  }

  // /status's own "registries", an array or an object by name.
  function registriesFromStatus(st) {
    var r = st.registries;
    if (!r) return [];
    var list = Array.isArray(r) ? r : Object.keys(r).map(function (k) {
      var o = r[k]; o.name = o.name || k; return o;
    });
    return list.map(function (o) {
      var lat = o.latency || o.latency_ms || {};
      return { name: o.registry || o.name, block: o.block,
        health: o.health || o.state ||
          (o.backoff_ms > 0 ? "backing off" : "ok"),
        backoff_ms: o.backoff_ms || (o.backoff_s || 0) * 1000,
        p50: o.p50 !== undefined ? o.p50 : lat.p50,
        p99: o.p99 !== undefined ? o.p99 : lat.p99,
        answers: o.answers, reason: o.last_reason };
    });
  }

  function fmtMs(v) {
    return v === null || v === undefined ? "\u2014" : Math.round(v) + "";
  }

  function renderRegistries(list) {
    var tbl = $("registries"), none = $("reg-none");
    if (list.length === 0) {
      tbl.hidden = true;
      none.hidden = false;
      none.textContent = "This front serves no per-registry figures: " +
        "neither /status nor /metrics has a registry in it yet.";
      return;
    }
    none.hidden = true;
    tbl.hidden = false;
    var tb = tbl.tBodies[0];
    tb.textContent = "";
    list.forEach(function (g) {
      var tr = el("tr");
      tr.setAttribute("data-registry", g.name);
      var name = el("td", null, g.name);
      if (g.block && g.block !== g.name) name.appendChild(el("span", "sub", g.block));
      tr.appendChild(name);
      var hd = el("td", /^(ok|up)$/.test(g.health) ? "up" : "down", g.health);
      if (g.answers && typeof g.answers === "object") {
        var n = 0, parts = [];
        Object.keys(g.answers).forEach(function (k) {
          if (g.answers[k] > 0) { n += g.answers[k]; parts.push(g.answers[k] + " " + k); }
        });
        hd.appendChild(el("span", "sub", parts.join(", ") || "no answers"));
      }
      if (g.health !== "ok" && g.reason) hd.appendChild(el("span", "sub", g.reason));
      tr.appendChild(hd);
      tr.appendChild(el("td", "num", g.backoff_ms > 0 ?
        fmtAge(g.backoff_ms / 1000) : "none"));
      tr.appendChild(el("td", "num", fmtMs(g.p50)));
      tr.appendChild(el("td", "num", fmtMs(g.p99)));
      var td = el("td");
      td.appendChild(spark(g.name + ": latency p50 and p99 in ms",
        push("reg-p50-" + g.name, g.p50), push("reg-p99-" + g.name, g.p99)));
      tr.appendChild(td);
      tb.appendChild(tr);
    });
  }

  function getText(path) {
    return fetch(path, { cache: "no-store" }).then(function (r) {
      if (!r.ok) throw new Error(path + ": " + r.status);
      return r.text();
    });
  }

  function poll() {
    var t = Date.now() / 1000, dt = lastT ? t - lastT : 0;
    Promise.all([
      getText("/status").then(JSON.parse),
      getText("/metrics").catch(function () { return ""; })
    ]).then(function (got) {
      var st = got[0];
      lastT = t;
      $("error").hidden = true;
      $("meta").textContent = "whoisd " + (st.version || "") + ", child " +
        st.child + ", at " + new Date().toLocaleTimeString();
      renderLinks(st.links, dt);
      renderPool(st);
      var regs = registriesFromStatus(st);
      if (regs.length === 0) regs = registriesFromMetrics(parseMetrics(got[1]));
      renderRegistries(regs);
      document.body.setAttribute("data-loaded", "1");
    }).catch(function (e) {
      $("error").textContent = "Cannot read the status: " + e.message;
      $("error").hidden = false;
    }).then(function () {
      setTimeout(poll, PERIOD);
    });
  }

  poll();
})();
