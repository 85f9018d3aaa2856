"""Every reply of tests/corpus through the whole suite: the simulator
serves each file as its registry's answer, and the client (the real whois
client) must see the verdict, reason and rule tests/corpus/EXPECT says.

The unit test (tests/unit/test_classify.c) checks the classifier on the
same files; this one checks that nothing between the registry and the
client (query workers, cache, front, frames) changes a verdict."""
import os
import re

import pytest

from conftest import BIN, TOP
from suite import Suite

CORPUS = os.path.join(TOP, "tests", "corpus")

pytestmark = pytest.mark.skipif(
    not os.path.exists(os.path.join(BIN, "whoisd-query")),
    reason="the daemons are not built")


def expectations():
    rows = []
    with open(os.path.join(CORPUS, "EXPECT")) as f:
        for line in f:
            if not line.strip() or line.startswith("#"):
                continue
            path, status, reason, rule, retry = line.split()[:5]
            d, case = path.split("/")
            case = case[:-4]
            if case.startswith("trap-"):
                continue        # traps are the classifier test's job
            rows.append((d, case, status, reason, rule, retry))
    return rows


def test_every_corpus_reply_through_the_suite(procs, tmpdir_path):
    rows = expectations()
    data = os.path.join(tmpdir_path, "corpus.conf")
    names = {}
    with open(data, "w") as f:
        for i, (d, case, *_ignored) in enumerate(rows):
            label = re.sub(r"[^a-z0-9-]", "-", "c%d-%s" % (i, case))
            name = "%s.%s" % (label, d)
            names[(d, case)] = name
            f.write("%s %s\n" % (case, name))
    s = Suite(procs, tmpdir_path,
              regsim=["--data=" + data, "--corpus=" + CORPUS,
                      "--throttle-seconds=42"]).start()
    # Throttles last: the first one puts its registry in back-off.
    order = sorted(rows, key=lambda r: r[1].startswith("throttled"))
    throttled_registry = set()
    failures = []
    for d, case, status, reason, rule, retry in order:
        name = names[(d, case)]
        a = s.whois(name)
        registry = rule.split(":")[0]
        got = (a.get("status"), a.get("reason", "-"), a.get("rule", "-"))
        if case.startswith("throttled") and registry in throttled_registry:
            # Its registry is already in back-off: not asked again.
            if got[:2] != ("unknown", "registry-backoff"):
                failures.append((name, "want registry-backoff", got))
            continue
        if got != (status, reason, rule):
            failures.append((name, (status, reason, rule), got, a.raw[:300]))
            continue
        if retry != "-":
            want = "42" if retry == "{{seconds}}" else retry
            if a.get("retry-after") != want:
                failures.append((name, "retry-after", want,
                                 a.get("retry-after")))
        if case.startswith("throttled"):
            throttled_registry.add(registry)
        # Never a false "available": the simulator's words must say it.
        if a.get("status") == "available":
            assert status == "available"
    assert not failures, "\n".join(map(repr, failures))
    assert len(rows) > 150
