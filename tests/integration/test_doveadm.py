#!/usr/bin/env python3
"""doveadm bounceinfo list|stats|tag against a real Dovecot: bounces
delivered before keywords were enabled are listed (one JSON row per bounce,
ordinary mail left out), counted per class/severity/domain, restricted by a
search query, and tagged with $Bounce keywords afterwards; doveadm
bounceinfo check-rules compiles the rules the user's settings load and
names each pattern that does not compile.
Exit 0 pass, 1 fail, 77 skip."""

import json
import os
import re
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dovecot_env import DovecotEnv  # noqa: E402
from bounceinfo_testlib import (check, corpus_missing,  # noqa: E402
                               imap_uid_flags, read_corpus, start_env,
                               write_readable)

BOUNCES = ["lhost-amavis-01.eml", "lhost-amazonses-03.eml",
           "lhost-amavis-02.eml"]
ORDINARY = b"""\
From: Bob <bob@example.org>
To: testuser@localhost
Subject: notes
Message-ID: <ordinary-2@example.org>
Date: Mon, 23 Nov 2026 11:00:00 +0000

Just notes.
"""
LIST_FIELDS = {"mailbox", "uid", "date", "kind", "class", "severity",
               "recipient", "status", "mta", "verified", "rule",
               "smtp_command"}


def doveadm_json(env, *args):
    proc = env.doveadm("-f", "json", "bounceinfo", *args)
    try:
        return json.loads(proc.stdout)
    except ValueError:
        check(False, "doveadm bounceinfo %s prints JSON: %r"
              % (" ".join(args), proc.stdout))


def imap_flags(env):
    return imap_uid_flags(env)[1]


def main():
    if corpus_missing():
        return 77
    env = start_env(sieve=False)   # bounceinfo_keywords unset: no
    if env is None:
        return 77
    try:
        if not env.doveadm_plugin_loaded:
            print("SKIP: cannot load the doveadm plugin here (unshare)")
            return 77
        for name in BOUNCES:
            env.lmtp_deliver(read_corpus(name))
        env.lmtp_deliver(ORDINARY, mail_from="bob@example.org")
        ordinary_uid = len(BOUNCES) + 1

        # list
        rows = doveadm_json(env, "list", "-u", env.user, "ALL")
        check(len(rows) == len(BOUNCES),
              "list: one row per bounce, ordinary mail left out (%d rows)"
              % len(rows))
        for row in rows:
            check(set(row) == LIST_FIELDS, "list row fields: %s"
                  % sorted(row))
        by_uid = {int(r["uid"]): r for r in rows}
        check(sorted(by_uid) == [1, 2, 3], "list uids 1..3")
        r1 = by_uid[1]
        check(r1["mailbox"] == "INBOX" and r1["kind"] == "dsn" and
              r1["class"] == "user-unknown" and r1["severity"] == "hard",
              "uid 1: INBOX dsn user-unknown hard (%s)" % r1)
        check(r1["status"] == "5.1.1", "uid 1 status 5.1.1")
        check("@" in r1["recipient"], "uid 1 has a recipient address")
        check(re.match(r"^\d{4}-\d\d-\d\dT", r1["date"]) is not None,
              "uid 1 date in ISO 8601: %s" % r1["date"])
        check(r1["verified"] == "unchecked",
              "verified = unchecked without bounceinfo_verify")
        check(by_uid[2]["class"] == "quota", "uid 2 is a quota bounce")
        # the stable id of what decided: a text rule or a status entry
        check(all(re.match(r"^[a-z0-9.-]+/[A-Za-z0-9._:-]+$", r["rule"])
                  for r in by_uid.values()),
              "list rule ids: %s" % [r["rule"] for r in by_uid.values()])
        check(all(r["smtp_command"] in ("", "CONN", "HELO", "MAIL", "RCPT",
                                        "DATA") for r in by_uid.values()),
              "list smtp_command values: %s"
              % [r["smtp_command"] for r in by_uid.values()])
        check(ordinary_uid not in by_uid, "ordinary mail not listed")

        # a search query narrows the list
        rows = doveadm_json(env, "list", "-u", env.user, "mailbox", "INBOX",
                            "uid", "2")
        check([int(r["uid"]) for r in rows] == [2],
              "list with query 'uid 2' gives only uid 2")
        rows = doveadm_json(env, "list", "-u", env.user, "mailbox", "Sent",
                            "ALL")
        check(rows == [], "list of the empty Sent mailbox is empty")

        # table output has the header line
        proc = env.doveadm("bounceinfo", "list", "-u", env.user, "ALL")
        check(proc.stdout.splitlines()[0].split()[:3] ==
              ["mailbox", "uid", "date"], "table output has a header")

        # stats
        stats = doveadm_json(env, "stats", "-u", env.user, "ALL")
        counts = {(s["type"], s["name"]): int(s["count"]) for s in stats}
        check(counts.get(("total", "bounces")) == len(BOUNCES),
              "stats total = %d" % len(BOUNCES))
        check(counts.get(("class", "user-unknown")) == 2 and
              counts.get(("class", "quota")) == 1,
              "stats per class: %s" % {k: v for k, v in counts.items()
                                       if k[0] == "class"})
        check(sum(v for k, v in counts.items() if k[0] == "severity") ==
              len(BOUNCES), "stats per severity add up to the total")
        check(sum(v for k, v in counts.items() if k[0] == "domain") ==
              len(BOUNCES) and ("domain", r1["recipient"].split("@")[1]
                                .lower()) in counts,
              "stats per recipient domain: %s"
              % {k: v for k, v in counts.items() if k[0] == "domain"})

        # tag: keywords on mail delivered without them
        flags = imap_flags(env)
        check(not any(k.startswith("$Bounce") for f in flags.values()
                      for k in f), "no keywords before tag")
        tagged = doveadm_json(env, "tag", "-u", env.user, "ALL")
        check(sorted(int(t["uid"]) for t in tagged) == [1, 2, 3],
              "tag reports the 3 bounces")
        flags = imap_flags(env)
        check({"$Bounce", "$Bounce_user_unknown"} <= flags[1],
              "uid 1 tagged: %s" % sorted(flags[1]))
        check({"$Bounce", "$Bounce_quota"} <= flags[2],
              "uid 2 tagged: %s" % sorted(flags[2]))
        check(not any(k.startswith("$Bounce") for k in flags[ordinary_uid]),
              "ordinary mail untagged")
        tagged = doveadm_json(env, "tag", "-u", env.user, "ALL")
        check(tagged == [], "tag again: nothing left to tag (%s)" % tagged)

        # -A: all users of the userdb
        rows = doveadm_json(env, "list", "-A", "ALL")
        check(len(rows) == len(BOUNCES), "list -A finds the bounces")
    finally:
        env.stop()

    # doveadm plugin without the mail plugin: a clear configuration error
    env = DovecotEnv(sieve=False, mail_plugins=False, doveadm_plugin=True)
    env.start()
    try:
        proc = env.doveadm("bounceinfo", "list", "-u", env.user, "ALL",
                           check=False)
        check(proc.returncode == 78 and
              "add bounceinfo to mail_plugins" in proc.stderr,
              "without the mail plugin: exit 78 and a clear error (%d: %s)"
              % (proc.returncode, proc.stderr.strip()))
    finally:
        env.stop()

    # check-rules: the user's bounceinfo_rules, every pattern compiled
    tmp = tempfile.mkdtemp(prefix="bounceinfo-doveadm-")
    try:
        rules = os.path.join(tmp, "local.rules")
        write_readable(rules, "[policy]\nour own words\nmailbox (full\n")
        os.chmod(tmp, 0o755)
        env = DovecotEnv(sieve=False,
                         plugin_settings={"bounceinfo_rules": rules})
        env.start()
        try:
            proc = env.doveadm("-f", "json", "bounceinfo", "check-rules",
                               "-u", env.user, check=False)
            rows = json.loads(proc.stdout or "[]")
            check(proc.returncode == 78 and rows == [{
                "username": env.user,
                "error": "%s:3: pcre2 error at offset 13: missing "
                         "closing parenthesis" % rules}],
                  "check-rules names the broken pattern: exit %d, %r %r"
                  % (proc.returncode, proc.stdout, proc.stderr))
            write_readable(rules,
                           "[policy]\nour own words\nmailbox \\(full\n")
            proc = env.doveadm("-f", "json", "bounceinfo", "check-rules",
                               "-u", env.user, check=False)
            check(proc.returncode == 0 and
                  json.loads(proc.stdout or "[]") == [],
                  "check-rules: every pattern compiles: exit %d, %r %r"
                  % (proc.returncode, proc.stdout, proc.stderr))
        finally:
            env.stop()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
