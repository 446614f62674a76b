#!/usr/bin/env python3
"""Mail plugin in a real Dovecot: LMTP delivery of real bounces (Sisimai
corpus) and of ordinary mail with bounceinfo_keywords = yes.  Over IMAP the
bounces carry $Bounce and $Bounce_<class> (the class the plugin reports
through doveadm), the ordinary mail carries neither; a bounce APPENDed over
IMAP or delivered by dovecot-lda gets them too; with bounceinfo_keywords = no nothing is set.
Exit 0 pass, 1 fail, 77 skip."""

import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dovecot_env import DovecotEnv  # noqa: E402
from bounceinfo_testlib import (check, class_keyword,  # noqa: E402
                               corpus_missing, doveadm_list, imap_uid_flags,
                               read_corpus, start_env)

# real bounces whose labels are unambiguous: file -> expected class
BOUNCES = {
    "lhost-amavis-01.eml": "user-unknown",      # 5.1.1
    "lhost-amazonses-03.eml": "quota",          # mailbox full
}
ORDINARY = b"""\
From: Alice <alice@example.org>
To: testuser@localhost
Subject: lunch tomorrow?
Message-ID: <ordinary-1@example.org>
Date: Mon, 23 Nov 2026 10:00:00 +0000

Shall we meet at noon?  (This mail mentions "undeliverable" and
"mailbox full" but is no bounce.)
"""


def imap_flags(env, mailbox="INBOX"):
    """uid -> set of flags"""
    typ, flags = imap_uid_flags(env, mailbox)
    check(typ == "OK", "IMAP SELECT %s" % mailbox)
    return flags


def main():
    if corpus_missing():
        return 77
    env = start_env(sieve=False, plugin_settings={
        "bounceinfo_keywords": "yes"})
    if env is None:
        return 77
    try:
        names = sorted(BOUNCES)
        for name in names:
            env.lmtp_deliver(read_corpus(name))
        env.lmtp_deliver(ORDINARY, mail_from="alice@example.org")
        flags = imap_flags(env)
        check(len(flags) == len(names) + 1,
              "all %d mails delivered into INBOX" % (len(names) + 1))
        listed = doveadm_list(env) if env.doveadm_plugin_loaded else {}

        for uid, name in enumerate(names, start=1):
            f = flags[uid]
            check("$Bounce" in f, "%s (uid %d) has $Bounce: %s"
                  % (name, uid, sorted(f)))
            check(class_keyword(BOUNCES[name]) in f,
                  "%s has %s" % (name, class_keyword(BOUNCES[name])))
            bounce_kw = [k for k in f if k.startswith("$Bounce_")]
            check(len(bounce_kw) == 1, "exactly one class keyword: %s"
                  % bounce_kw)
            check(re.match(r"^\$Bounce_[a-z_]+$", bounce_kw[0]) is not None,
                  "class keyword is an IMAP atom of [a-z_]")
            if listed:
                check(class_keyword(listed[uid]["class"]) in f,
                      "keyword matches the class doveadm reports (%s)"
                      % listed[uid]["class"])
        ordinary_uid = len(names) + 1
        check(not any(k.startswith("$Bounce") for k in flags[ordinary_uid]),
              "ordinary mail has no $Bounce keyword: %s"
              % sorted(flags[ordinary_uid]))
        if listed:
            check(ordinary_uid not in listed,
                  "ordinary mail is not listed as a bounce")

        # IMAP APPEND of a bounce: keywords set after the save commits
        im = env.imap()
        try:
            raw = re.sub(rb"\r?\n", b"\r\n", read_corpus("lhost-amavis-01.eml"))
            typ, data = im.append("INBOX", None, None, raw)
            check(typ == "OK", "IMAP APPEND of a bounce")
        finally:
            im.logout()
        flags = imap_flags(env)
        appended = max(flags)
        check({"$Bounce", "$Bounce_user_unknown"} <= flags[appended],
              "APPENDed bounce has its keywords: %s" % sorted(flags[appended]))

        # dovecot-lda: the raw mail comes from stdin
        env.lda_deliver(read_corpus("lhost-amazonses-03.eml"), mail_from="")
        flags = imap_flags(env)
        lda_uid = max(flags)
        check(lda_uid == appended + 1 and
              {"$Bounce", "$Bounce_quota"} <= flags[lda_uid],
              "bounce delivered by dovecot-lda has its keywords: %s"
              % sorted(flags[lda_uid]))
        check("Error" not in env.log_text() and "Panic" not in env.log_text(),
              "no errors in the log")
    finally:
        env.stop()

    # keywords off: the plugin classifies but sets nothing
    env = DovecotEnv(sieve=False, plugin_settings={"bounceinfo_keywords": "no"})
    env.start()
    try:
        env.lmtp_deliver(read_corpus("lhost-amavis-01.eml"))
        flags = imap_flags(env)
        check(len(flags) == 1, "bounce delivered with bounceinfo_keywords = no")
        check(not any(k.startswith("$Bounce") for k in flags[1]),
              "no keywords with bounceinfo_keywords = no: %s" % sorted(flags[1]))
    finally:
        env.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
