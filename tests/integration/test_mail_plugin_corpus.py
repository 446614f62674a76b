#!/usr/bin/env python3
"""Every message of the real-bounce corpus delivered over LMTP with the
mail plugin on (keywords, spoof check): nothing is lost or altered, no
process crashes, and the keywords agree with doveadm bounceinfo list for
every message (bounces: $Bounce plus exactly one class keyword; anything
else: none).  Exit 0 pass, 1 fail, 77 skip."""

import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dovecot_env import DovecotEnv  # noqa: E402
from bounceinfo_testlib import (check, class_keyword,  # noqa: E402
                               corpus_missing, doveadm_list, eml_dir,
                               read_corpus, start_env)

CORPUS = eml_dir()
BOUNCE_KINDS = {"dsn", "ndr", "delayed"}


def strip_trace(body):
    """Drop the trace headers LMTP prepends (Return-Path, Delivered-To,
    Received: they carry times and session ids)."""
    lines = body.split(b"\r\n")
    i = 0
    while i < len(lines) and (
            re.match(rb"(?i)(return-path|delivered-to|received):", lines[i])
            or (i > 0 and lines[i][:1] in (b" ", b"\t"))):
        i += 1
    return b"\r\n".join(lines[i:])


def deliver_all(env, raws):
    for raw in raws:
        env.lmtp_deliver(raw)
    im = env.imap()
    try:
        typ, data = im.select("INBOX")
        check(int(data[0]) == len(raws),
              "all %d corpus messages delivered" % len(raws))
        typ, data = im.uid("FETCH", "1:*", "(FLAGS BODY.PEEK[])")
        mails = {}
        for item in data:
            if isinstance(item, tuple):
                head = item[0].decode()
                uid = int(re.search(r"UID (\d+)", head).group(1))
                flags = set(re.search(r"FLAGS \(([^)]*)\)", head)
                            .group(1).split())
                mails[uid] = (flags, item[1])
        return mails
    finally:
        im.logout()


def main():
    if corpus_missing():
        return 77
    names = sorted(n for n in os.listdir(CORPUS) if n.endswith(".eml"))
    env = start_env(sieve=False, plugin_settings={
        "bounceinfo_keywords": "yes", "bounceinfo_verify": "yes"})
    if env is None:
        return 77
    try:
        raws = []
        for name in names:
            raws.append(read_corpus(name))
        mails = deliver_all(env, raws)
        # the same messages through a Dovecot without our plugin: what
        # LMTP itself does to odd input (NULs, bare CRs) is not our doing
        control = DovecotEnv(sieve=False, mail_plugins=False,
                             doveadm_plugin=False)
        control.start()
        try:
            reference = deliver_all(control, raws)
        finally:
            control.stop()
        altered = [names[uid - 1] for uid, (_, body) in mails.items()
                   if strip_trace(body) != strip_trace(reference[uid][1])]
        check(not altered, "every message stored exactly as without the "
              "plugin (differing: %s)" % altered[:5])
        log = env.log_text()
        check(not re.search(r"Panic:|Fatal:|killed with signal", log),
              "no crash in the log")

        if env.doveadm_plugin_loaded:
            listed = doveadm_list(env)
        else:
            listed = None
        bounces = 0
        problems = []
        for uid, (flags, _) in sorted(mails.items()):
            name = names[uid - 1]
            kws = sorted(k for k in flags if k.startswith("$Bounce"))
            if "$Bounce" in flags:
                bounces += 1
                if len(kws) != 2:
                    problems.append("%s: %s" % (name, kws))
            elif kws:
                problems.append("%s: %s without $Bounce" % (name, kws))
            if listed is None:
                continue
            row = listed.get(uid)
            if row is not None and row["kind"] in BOUNCE_KINDS:
                want = class_keyword(row["class"])
                if want not in flags:
                    problems.append("%s: listed as %s, keywords %s"
                                    % (name, row["class"], kws))
            elif kws:
                problems.append("%s: keywords %s, listed as %s"
                                % (name, kws, row and row["kind"]))
        check(not problems, "keywords: $Bounce plus exactly the class "
              "doveadm lists, only on bounces (%d problems: %s)"
              % (len(problems), problems[:5]))
        print("ok: %d of %d corpus messages are bounces with keywords"
              % (bounces, len(names)))
        check(bounces > len(names) // 2, "most of the corpus is tagged")
        verified = {r["verified"] for r in (listed or {}).values()}
        check(listed is None or "genuine" not in verified,
              "nothing genuine: the test user's Sent is empty (%s)"
              % sorted(verified))
    finally:
        env.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
