#!/usr/bin/python3
"""The config-key lists of the man pages, from the daemons' own --help.

    docs/man/keys.py BIN_DIR update   rewrite each page's key list
    docs/man/keys.py BIN_DIR check    exit 1 if a page and --help differ

A page's list sits between the lines `.\\" keys: begin` and
`.\\" keys: end`: whoisd(8), whoisd-query(8), whoisd-cache(8) and
whoisd-errdb(8) list their daemon's own keys, whoisd.conf(5) the pool's
(those every daemon has).  Everything else in the pages is written by
hand; a key added to a daemon's table shows up here with its --help
text, to be worded better by hand if need be (check compares only the
names and defaults).
"""
import os
import re
import subprocess
import sys
import textwrap

HERE = os.path.dirname(os.path.abspath(__file__))
PAGES = {"whoisd": "whoisd.8", "whoisd-query": "whoisd-query.8",
         "whoisd-cache": "whoisd-cache.8", "whoisd-errdb": "whoisd-errdb.8"}
POOL_PAGE = "whoisd.conf.5"
BEGIN, END = '.\\" keys: begin', '.\\" keys: end'


def help_keys(bindir, daemon):
    """{'daemon': [(key, default, help)], 'pool': [...]} from --help."""
    out = subprocess.run([os.path.join(bindir, daemon), "--help"],
                         capture_output=True, text=True, check=True).stdout
    keys = {"daemon": [], "pool": []}
    part = None
    for line in out.splitlines():
        if line.startswith("daemon keys"):
            part = "daemon"
        elif line.startswith("pool keys"):
            part = "pool"
        elif part and line.startswith("  "):
            m = re.match(r"  (\S+)\s+(.*?)(?: \[([^\]]*)\])?$", line)
            keys[part].append((m.group(1), m.group(3), m.group(2)))
    return keys


def mdoc_text(s):
    s = s.replace("\\", "\\e")
    return "\\&" + s if s[:1] in ".'" else s


def render(keys):
    lines = [BEGIN, ".Bl -tag -width Ds"]
    for k, default, text in keys:
        lines.append(".It Ic %s" % k)
        for w in textwrap.wrap(text[:1].upper() + text[1:] + ".", 72,
                               break_on_hyphens=False):
            lines.append(mdoc_text(w))
        if default is not None and default != "":
            lines.append("Default:")
            lines.append(".Ql %s ." % default.replace("\\", "\\e"))
    lines += [".El", END]
    return lines


def page_keys(path):
    """[(key, default)] of a page's key list."""
    with open(path) as f:
        text = f.read().split("\n")
    b, e = text.index(BEGIN), text.index(END)
    out = []
    for i in range(b, e):
        if text[i].startswith(".It Ic "):
            default = None
            for j in range(i + 1, e):
                if text[j].startswith(".It "):
                    break
                if text[j].startswith(".Ql ") and text[j - 1] == "Default:":
                    default = text[j][4:].rsplit(" .", 1)[0].replace(
                        "\\e", "\\")
            out.append((text[i].split()[2], default))
    return out


def targets(bindir):
    """(page file, [(key, default, help)]) for every page with a list."""
    out = []
    for daemon, page in PAGES.items():
        k = help_keys(bindir, daemon)
        out.append((page, k["daemon"]))
        if daemon == "whoisd-cache":
            # A pool default some daemon changes is noted by hand.
            out.append((POOL_PAGE, k["pool"]))
    return out


def main():
    bindir, mode = sys.argv[1], sys.argv[2]
    bad = 0
    for page, keys in targets(bindir):
        path = os.path.join(HERE, page)
        if mode == "update":
            with open(path) as f:
                text = f.read().split("\n")
            b, e = text.index(BEGIN), text.index(END)
            text[b:e + 1] = render(keys)
            with open(path, "w") as f:
                f.write("\n".join(text))
        else:
            want = [(k, d or None) for k, d, _ in keys]
            have = page_keys(path)
            if want != have:
                bad = 1
                print("%s: key list differs from --help:" % page)
                for x in sorted(set(want) - set(have)):
                    print("  missing from the page: %s [%s]" % x)
                for x in sorted(set(have) - set(want)):
                    print("  only in the page: %s [%s]" % x)
                if set(want) == set(have):
                    print("  (same keys, another order)")
    sys.exit(bad)


if __name__ == "__main__":
    main()
