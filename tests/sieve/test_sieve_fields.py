#!/usr/bin/env python3
"""sieve-test over real messages: every field of the bounceinfo test with
every match type, comparators, :count/:value, match variables and the
bounceinfo.* variables.

What the extension must see is what the library itself reports for the
message (the bounceinfo CLI's JSON): this test checks the Sieve plumbing -
fields, multiple values, match types, variables, sanitising - not how well
the library classifies (tests/corpus does that).

Messages: a deterministic selection of the repository's real bounces (tests/data/sisimai)
chosen for what they contain (several recipients, a delay warning, an
auto-reply, a remote MTA, ...), plus the messages in tests/sieve/messages.
For each message one Sieve script holds all checks; every check that holds
appends its number to a variable, and a final fileinto shows the list, so
one sieve-test run checks ~100 expectations, each of which can fail.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sieve_common import (SieveTools, cli_results, eml_dir, folders,  # noqa
                          sanitize, sieve_quote)

CLASSES = ("unknown user-unknown quota disabled moved host-unknown no-mail "
           "spam virus blocklist reputation rdns auth relay sender-rejected "
           "filtered policy security size rate-limit content syntax system "
           "mailer network expired delivery-report autoreply "
           "complaint").split()
SEVERITIES = ["none", "soft", "hard"]
KINDS = ["dsn", "ndr", "delayed", "delivery-report", "autoreply",
         "complaint"]
VERIFIED = ["genuine", "forged", "unchecked", "not-applicable"]
SMTP_COMMANDS = ["CONN", "HELO", "MAIL", "RCPT", "DATA"]
MAX_VAR = 256

# tag -> (variable name, per-recipient JSON key or None, valid names)
RCPT_FIELDS = [
    ("class", "class", "class", CLASSES),
    ("severity", "severity", "severity", SEVERITIES),
    ("status", "status", "status", None),
    ("code", "code", "code", None),
    ("action", "action", "action", None),
    ("recipient", "recipient", "address", None),
    ("remotemta", "remote_mta", "remote_mta", None),
    ("diagnostic", "diagnostic", "diagnostic", None),
    ("smtpcommand", "smtp_command", "smtp_command", SMTP_COMMANDS),
]
MSG_FIELDS = [
    ("kind", "kind", KINDS),
    ("mta", "mta", None),
    ("originalmessageid", "original_message_id", None),
    ("originalsubject", "original_subject", None),
    ("verified", "verified", VERIFIED),
]


def s(v):
    return "" if v is None else str(v)


def first_failed(rcpts):
    for r in rcpts:
        if r.get("severity") != "none":
            return r
    return rcpts[0] if rcpts else None


def field_values(res):
    """{tag: [values]} as the test must see them; {} fields for non-bounces."""
    vals = {}
    bounce = res["kind"] != "none"
    for tag, _var, key, _names in RCPT_FIELDS:
        vals[tag] = []
        if bounce:
            for r in res["recipients"]:
                v = sanitize(s(r.get(key)))
                if v:
                    vals[tag].append(v)
    msgvals = {
        "kind": res["kind"],
        "mta": s(res.get("mta")),
        "originalmessageid": s(res["original"].get("message_id")),
        "originalsubject": s(res["original"].get("subject")),
        # the mail plugin is not loaded under sieve-test
        "verified": "unchecked",
    }
    for tag, _var, _names in MSG_FIELDS:
        v = sanitize(msgvals[tag]) if bounce else ""
        vals[tag] = [v] if v else []
    return vals


def variable_values(res, res_pl):
    bounce = res["kind"] != "none"
    out = {}
    r = first_failed(res["recipients"]) if bounce else None
    for _tag, var, key, _names in RCPT_FIELDS:
        out[var] = s(r.get(key)) if r else ""
    msg = field_values(res)
    for tag, var, _names in MSG_FIELDS:
        out[var] = msg[tag][0] if msg[tag] else ""
    out["count"] = str(len(res["recipients"])) if bounce else "0"
    out["explanation"] = s(r.get("explanation")) if r else ""
    rpl = first_failed(res_pl["recipients"]) if bounce else None
    out["explanation.pl"] = s(rpl.get("explanation")) if rpl else ""
    return {k: sanitize(v, MAX_VAR) for k, v in out.items()}


def usable(v):
    # "${" would be expanded by the variables extension inside the key
    return "${" not in v


class Script:
    def __init__(self):
        self.checks = []  # (test text, expected bool, description)

    def add(self, test, expect, what):
        self.checks.append((test, expect, what))

    def text(self):
        lines = ['require ["bounceinfo", "variables", "fileinto", '
                 '"relational", "regex", "comparator-i;ascii-numeric"];',
                 'set "r" ",";']
        for i, (test, expect, _w) in enumerate(self.checks):
            # only what went wrong is recorded: sieve-test shortens long
            # folder names
            lines.append('if %s%s { set "r" "${r}%d,"; }'
                         % ("not " if expect else "", test, i))
        lines.append('fileinto "R${r}";')
        return "\n".join(lines) + "\n"

    def single(self, i):
        test, _e, _w = self.checks[i]
        return ('require ["bounceinfo", "variables", "fileinto", '
                '"relational", "regex", "comparator-i;ascii-numeric"];\n'
                'if %s { fileinto "T"; }\n' % test)


def build_checks(res, res_pl):
    sc = Script()
    vals = field_values(res)
    q = sieve_quote
    for tag, _var, _key, names in RCPT_FIELDS:
        _field_checks(sc, tag, vals[tag], names)
    for tag, _var, names in MSG_FIELDS:
        _field_checks(sc, tag, vals[tag], names)

    # the default field is :class
    if vals["class"] and usable(vals["class"][0]):
        sc.add("bounceinfo %s" % q(vals["class"][0]), True,
               "default field is :class")

    # relational :value on the reply code, numerically
    for v in vals["code"][:1]:
        sc.add('bounceinfo :value "eq" :comparator "i;ascii-numeric" '
               ':code %s' % q(v), True, ":value eq on :code")
        sc.add('bounceinfo :value "gt" :comparator "i;ascii-numeric" '
               ':code %s' % q(str(int(v) - 1)), True, ":value gt on :code")
    if vals["code"]:
        low = str(min(int(v) for v in vals["code"]))
        sc.add('bounceinfo :value "lt" :comparator "i;ascii-numeric" '
               ':code %s' % q(low), False,
               ":value lt lowest :code (false)")

    # bounceinfo.* variables
    for var, expect in variable_values(res, res_pl).items():
        if not usable(expect):
            continue
        sc.add('string :comparator "i;octet" :is "${bounceinfo.%s}" %s'
               % (var, q(expect)), True,
               "${bounceinfo.%s} is %r" % (var, expect))
    # names are case-insensitive, like all Sieve variable names
    sc.add('string :comparator "i;octet" :is "${BounceInfo.Count}" '
           '"${bounceinfo.count}"', True, "variable names ignore case")
    return sc


def _field_checks(sc, tag, values, names):
    q = sieve_quote
    n = len(values)
    sc.add('bounceinfo :matches :%s "*"' % tag, n > 0,
           ":%s has %s" % (tag, "values" if n else "no values"))
    sc.add('bounceinfo :count "eq" :comparator "i;ascii-numeric" :%s %s'
           % (tag, q(str(n))), True, ":%s :count is %d" % (tag, n))
    sc.add('bounceinfo :count "gt" :comparator "i;ascii-numeric" :%s %s'
           % (tag, q(str(n))), False, ":%s :count gt %d (false)" % (tag, n))
    if not n:
        return
    first, last = values[0], values[-1]
    if usable(first):
        sc.add("bounceinfo :is :%s %s" % (tag, q(first)), True,
               ":is :%s %r" % (tag, first))
        # match variables: :matches "*" captures the first value whole
        sc.add('allof(bounceinfo :matches :%s "*", string :comparator '
               '"i;octet" :is "${1}" %s)' % (tag, q(first)), True,
               ":matches :%s sets ${1}" % tag)
        sc.add('allof(bounceinfo :comparator "i;octet" :is :%s %s)'
               % (tag, q(first)), True, "i;octet :is :%s" % tag)
        if len(first) >= 3:
            mid = first[1:-1] if len(first) > 3 else first[1:]
            if usable(mid):
                sc.add("bounceinfo :contains :%s %s" % (tag, q(mid)), True,
                       ":contains :%s" % tag)
        pre = first[:3]
        if pre.isascii() and pre.isalnum():
            sc.add('allof(bounceinfo :regex :%s "^(%s)", string :comparator '
                   '"i;octet" :is "${1}" %s)' % (tag, pre, q(pre)), True,
                   ":regex :%s sets ${1}" % tag)
        up = first.upper()
        if first.isascii() and up != first:
            sc.add("bounceinfo :is :%s %s" % (tag, q(up)), True,
                   "i;ascii-casemap ignores case on :%s" % tag)
            if names is None:
                # (a literal class in the wrong case under i;octet is a
                # compile error, see test_sieve_compile.py)
                sc.add('bounceinfo :comparator "i;octet" :is :%s %s'
                       % (tag, q(up)), False, "i;octet keeps case on :%s"
                       % tag)
    if usable(last):
        sc.add("bounceinfo :is :%s %s" % (tag, q(last)), True,
               "any value matches: last :%s %r" % (tag, last))
    absent = "bounceinfo-no-such-value"
    if names is not None:
        left = [x for x in names if x not in values]
        absent = left[0] if left else None
    if absent:
        sc.add("bounceinfo :is :%s %s" % (tag, q(absent)), False,
               ":is :%s %r (false)" % (tag, absent))


def pick_messages(srcdir, builddir):
    own = os.path.join(srcdir, "tests", "sieve", "messages")
    paths = sorted(os.path.join(own, f) for f in os.listdir(own)
                   if f.endswith(".eml"))
    eml = eml_dir(srcdir)
    if os.path.isdir(eml):
        corpus = sorted(os.path.join(eml, f) for f in os.listdir(eml)
                        if f.endswith(".eml"))
        res = cli_results(builddir, srcdir, corpus)
        wanted = [
            lambda r: r["kind"] == "dsn" and len(r["recipients"]) >= 3,
            lambda r: r["kind"] == "dsn" and len(r["recipients"]) == 2,
            lambda r: r["kind"] == "ndr",
            lambda r: r["kind"] == "delayed",
            lambda r: r["kind"] == "autoreply",
            lambda r: r["kind"] == "complaint",
            lambda r: r["kind"] == "delivery-report",
            lambda r: r.get("mta") is not None,
            lambda r: any(x.get("remote_mta") for x in r["recipients"]),
            lambda r: bool(r["original"].get("message_id")),
            lambda r: any(x.get("severity") == "hard"
                          for x in r["recipients"]),
            lambda r: any(x.get("severity") == "soft"
                          for x in r["recipients"]),
        ]
        for pred in wanted:
            for p in corpus:
                if p in res and pred(res[p]) and p not in paths:
                    paths.append(p)
                    break
    else:
        # the repository carries them: missing is a broken checkout
        raise SystemExit("FAIL: test messages missing at %s" % eml)
    return paths


def main():
    tools = SieveTools()
    failures = 0
    total = 0
    try:
        paths = pick_messages(tools.srcdir, tools.builddir)
        res = cli_results(tools.builddir, tools.srcdir, paths)
        res_pl = cli_results(tools.builddir, tools.srcdir, paths, lang="pl")
        for path in paths:
            sc = build_checks(res[path], res_pl[path])
            script = tools.write_script(sc.text())
            proc = tools.sieve_test(script, path)
            got = folders(proc.stdout)
            name = os.path.basename(path)
            if proc.returncode != 0 or len(got) != 1 or \
                    not got[0].startswith("R,"):
                print("FAIL %s: sieve-test exited %d, actions %r\n%s%s"
                      % (name, proc.returncode, got, proc.stdout,
                         proc.stderr))
                failures += 1
                total += 1
                continue
            total += len(sc.checks)
            if got[0] != "R,":
                # something failed: run each check alone to name it
                for i, (test, expect, what) in enumerate(sc.checks):
                    one = tools.write_script(sc.single(i))
                    p1 = tools.sieve_test(one, path)
                    if ("T" in folders(p1.stdout)) != expect:
                        failures += 1
                        print("FAIL %s: %s: expected %s: %s"
                              % (name, what, expect, test))
            print("ok   %s: %d checks (kind %s, %d recipients)"
                  % (name, len(sc.checks), res[path]["kind"],
                     len(res[path]["recipients"])))
    finally:
        tools.close()
    print("%d of %d checks failed" % (failures, total))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
