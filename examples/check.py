#!/usr/bin/env python3
"""check.py — check names with whoisd's HTTP API, Python standard
library only.

    python3 examples/check.py http://127.0.0.1:8043 example.com free-name.com
    python3 examples/check.py http://127.0.0.1:8043 --suggest acme
    python3 examples/check.py http://127.0.0.1:8043 --fresh example.com

POST /v1/check answers all names in one JSON body (gzipped when large:
we say we accept gzip); errors are problem details with a stable code.
"""
import gzip
import json
import sys
import urllib.error
import urllib.parse
import urllib.request


class Problem(Exception):
    """The API refused the request: RFC 9457 problem details."""

    def __init__(self, status, problem, retry_after=None):
        super().__init__("%s: %s" % (problem.get("code"),
                                     problem.get("detail")))
        self.status, self.problem = status, problem
        self.retry_after = retry_after


def _call(req):
    req.add_header("Accept-Encoding", "gzip")
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            data = r.read()
            if r.headers.get("Content-Encoding") == "gzip":
                data = gzip.decompress(data)
            return json.loads(data)
    except urllib.error.HTTPError as e:
        data = e.read()
        if e.headers.get("Content-Encoding") == "gzip":
            data = gzip.decompress(data)
        raise Problem(e.code, json.loads(data),
                      e.headers.get("Retry-After")) from None


def check(base, names, fresh=False, max_age=None):
    """The results of names, in order (each name once)."""
    body = {"domains": list(names)}
    if fresh:
        body["fresh"] = True
    if max_age is not None:
        body["max_age"] = max_age
    req = urllib.request.Request(
        base + "/v1/check", data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"}, method="POST")
    return _call(req)["results"]


def suggest(base, word):
    q = urllib.parse.urlencode({"word": word})
    return _call(urllib.request.Request(base + "/v1/suggest?" + q))["results"]


def show(r):
    s = "%s %s" % (r["domain"], r["status"])
    if r.get("reason"):
        s += " (%s)" % r["reason"]
    if r.get("source"):
        s += " source=%s channel=%s checked=%s expires=%s" % (
            r["source"], r["channel"], r["checked"], r["expires"])
    if r.get("retry_after"):
        s += " retry_after=%d" % r["retry_after"]
    print(s)


def main(argv):
    if len(argv) < 2:
        print("usage: check.py BASE [--fresh] NAME... | BASE --suggest WORD",
              file=sys.stderr)
        return 2
    base = argv[0].rstrip("/")
    try:
        if argv[1] == "--suggest":
            results = suggest(base, argv[2])
        elif argv[1] == "--fresh":
            results = check(base, argv[2:], fresh=True)
        else:
            results = check(base, argv[1:])
    except Problem as e:
        print("error: %s" % e, file=sys.stderr)
        return 1
    for r in results:
        show(r)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
