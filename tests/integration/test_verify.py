#!/usr/bin/env python3
"""Spoof check (bounceinfo_verify = yes) in a real Dovecot: the original of
one real bounce is first saved into the user's \\Sent mailbox (doveadm save
-m Sent); that bounce is then GENUINE, a bounce of mail the user never sent
is FORGED, a bounce that does not quote its original's Message-ID is
NOT-APPLICABLE.  The answer is checked in doveadm bounceinfo list -f json
and in the bounceinfo_classified event's field `verified` (a metric grouped
by it, read from /metrics).  Exit 0 pass, 1 fail, 77 skip."""

import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dovecot_env import DovecotEnv  # noqa: E402
from bounceinfo_testlib import (check, corpus_missing,  # noqa: E402
                               doveadm_list, read_corpus, start_env)

GENUINE = "lhost-amavis-01.eml"        # its original gets saved into Sent
FORGED = "lhost-amazonses-03.eml"      # original never sent by the user
NO_MSGID = "lhost-postfix-02.eml"      # returns no original Message-ID
METRIC = """
metric bounceinfo_verified {
  filter = event=bounceinfo_classified
  group_by = verified
}
"""


def original_message_id(raw):
    """Message-ID of the returned original: the last Message-ID header in
    the bounce that is not the bounce's own (the first)."""
    ids = re.findall(rb"^Message-ID:\s*(<[^>\r\n]+>)", raw, re.M | re.I)
    check(len(ids) >= 2, "the bounce quotes its original's Message-ID")
    return ids[-1].decode()


def add_user(env, name, password):
    """A second user in the harness's passwd-file (re-read on change)."""
    home = os.path.join(env.tmpdir, "home-" + name)
    os.makedirs(os.path.join(home, "Maildir"))
    for d in (home, os.path.join(home, "Maildir")):
        os.chown(d, env.pw.pw_uid, env.pw.pw_gid)
    with open(env.passwd_path, "a") as f:
        f.write("%s:{PLAIN}%s:%d:%d::%s::\n"
                % (name, password, env.pw.pw_uid, env.pw.pw_gid, home))


def verified_counters(env, want, timeout=10):
    deadline = time.time() + timeout
    while True:
        got = {m.group(1): int(m.group(2)) for m in re.finditer(
            r'^dovecot_bounceinfo_verified_total\{verified="([^"]+)"\} (\d+)$',
            env.metrics(), re.M)}
        if got == want or time.time() > deadline:
            return got
        time.sleep(0.2)


def main():
    if corpus_missing():
        return 77
    env = start_env(sieve=False, debug=True, extra_conf=METRIC,
                    plugin_settings={
        "bounceinfo_verify": "yes", "bounceinfo_keywords": "yes"})
    if env is None:
        return 77
    try:
        genuine = read_corpus(GENUINE)
        msgid = original_message_id(genuine)
        original = ("From: testuser@localhost\nTo: neko@example.co.jp\n"
                    "Subject: the original\nMessage-ID: %s\n"
                    "Date: Thu, 29 Apr 2010 23:34:45 +0900\n\nHello.\n"
                    % msgid)
        env.doveadm("save", "-u", env.user, "-m", "Sent", input=original)
        # a decoy whose Message-ID only contains the forged one's
        forged_id = original_message_id(read_corpus(FORGED))
        decoy = ("From: testuser@localhost\nTo: x@example.org\nSubject: decoy"
                 "\nMessage-ID: <x%s>\n\nHi.\n" % forged_id.strip("<>"))
        env.doveadm("save", "-u", env.user, "-m", "Sent", input=decoy)

        env.lmtp_deliver(genuine)
        env.lmtp_deliver(read_corpus(FORGED))
        env.lmtp_deliver(read_corpus(NO_MSGID))

        got = verified_counters(env, {"genuine": 1, "forged": 1,
                                      "not-applicable": 1})
        if got != {"genuine": 1, "forged": 1, "not-applicable": 1}:
            # diagnostics: which processes classified what
            print("\n".join(re.findall(r".*Classified message.*",
                                       env.log_text())))
        check(got.get("genuine") == 1,
              "event field verified=genuine for the bounce of sent mail: %s"
              % got)
        check(got.get("forged") == 1,
              "event field verified=forged for the backscatter: %s" % got)
        check(got.get("not-applicable") == 1,
              "event field verified=not-applicable without Message-ID: %s"
              % got)

        if env.doveadm_plugin_loaded:
            rows = doveadm_list(env)
            check(rows[1]["verified"] == "genuine",
                  "doveadm list: uid 1 genuine (%s)" % rows[1]["verified"])
            check(rows[2]["verified"] == "forged",
                  "doveadm list: uid 2 forged (%s)" % rows[2]["verified"])
            check(rows[3]["verified"] == "not-applicable",
                  "doveadm list: uid 3 not-applicable (%s)"
                  % rows[3]["verified"])

        # \Sent's Message-IDs are kept hashed next to its index, and only
        # messages saved since the last lookup are read: a message saved
        # now must be found by the next bounce
        hashes = os.path.join(env.maildir, ".Sent",
                              "dovecot-bounceinfo.msgids")
        check(os.path.isfile(hashes), "hashed Message-IDs kept in %s"
              % hashes)
        env.doveadm("save", "-u", env.user, "-m", "Sent", input=(
            "From: testuser@localhost\nSubject: sent later\n"
            "Message-ID: %s\n\nHello.\n" % forged_id))
        env.lmtp_deliver(read_corpus(FORGED))
        got = verified_counters(env, {"genuine": 2, "forged": 1,
                                      "not-applicable": 1})
        check(got.get("genuine") == 2, "a message saved into \\Sent after "
              "the last lookup is found: %s" % got)
        check(re.search(r"bounceinfo_verify: 1 Message-IDs of Sent added",
                        env.log_text()) is not None,
              "only the new message was read")
        log = env.log_text()
        check("Error:" not in log and "Panic:" not in log,
              "no errors in the log")
    finally:
        env.stop()

    # two LMTP recipients, the original is only in the first one's Sent:
    # each copy is checked against its own user's \Sent
    env = DovecotEnv(sieve=False, debug=True, plugin_settings={
        "bounceinfo_verify": "yes"})
    env.start()
    try:
        add_user(env, "user2", "password2")
        genuine = read_corpus(GENUINE)
        original = ("From: testuser@localhost\nSubject: the original\n"
                    "Message-ID: %s\n\nHello.\n" % original_message_id(genuine))
        env.doveadm("save", "-u", env.user, "-m", "Sent", input=original)
        env.lmtp_deliver(genuine, rcpt=[env.user, "user2"])
        # the recipient is "rcpt USER: " in 2.3's log prefix, the
        # process's user "lmtp(USER)<pid><session>: Debug: " in 2.4's
        rcpt_rx = r"(?:rcpt (%s)|lmtp\((%s)\)<[^>]*><[^>]*>: Debug)" \
            r": bounceinfo: Classified message"
        env.wait_for_log(rcpt_rx % ("user2", "user2"))
        log = env.log_text()
        lines = [(a or b, v) for a, b, v in re.findall(
            rcpt_rx % (r"\S+", r"[^)]+") + r".*verified=(\S+)", log)]
        check(("testuser", "genuine") in lines and ("user2", "forged") in lines,
              "two recipients: genuine for the sender, forged for the other "
              "(%s)" % lines)
    finally:
        env.stop()

    # a \Sent that Dovecot never indexed (maildir files copied in): the
    # first check syncs it before building the hash file
    env = DovecotEnv(sieve=False, extra_conf=METRIC,
                     plugin_settings={"bounceinfo_verify": "yes"})
    env.start()
    try:
        genuine = read_corpus(GENUINE)
        sent = os.path.join(env.maildir, ".Sent")
        for d in ("", "cur", "new", "tmp"):
            os.makedirs(os.path.join(sent, d), exist_ok=True)
            os.chown(os.path.join(sent, d), env.pw.pw_uid, env.pw.pw_gid)
        path = os.path.join(sent, "cur", "1700000000.M1P1.copied:2,S")
        with open(path, "w") as f:
            f.write("From: testuser@localhost\nSubject: the original\n"
                    "Message-ID: %s\n\nHello.\n"
                    % original_message_id(genuine))
        os.chown(path, env.pw.pw_uid, env.pw.pw_gid)
        env.lmtp_deliver(genuine)
        got = verified_counters(env, {"genuine": 1})
        check(got == {"genuine": 1},
              "never-indexed \\Sent: the copied-in original is found: %s"
              % got)
    finally:
        env.stop()

    # no index directory (INDEX=MEMORY): no hash file, the header search
    # answers
    env = DovecotEnv(sieve=False, debug=True, extra_conf=METRIC +
                     "mail_location = maildir:~/Maildir:INDEX=MEMORY\n",
                     plugin_settings={"bounceinfo_verify": "yes"})
    env.start()
    try:
        genuine = read_corpus(GENUINE)
        env.doveadm("save", "-u", env.user, "-m", "Sent", input=(
            "From: testuser@localhost\nSubject: the original\n"
            "Message-ID: %s\n\nHello.\n" % original_message_id(genuine)))
        env.lmtp_deliver(genuine)
        env.lmtp_deliver(read_corpus(FORGED))
        got = verified_counters(env, {"genuine": 1, "forged": 1})
        check(got == {"genuine": 1, "forged": 1},
              "INDEX=MEMORY: genuine and forged by the header search: %s"
              % got)
        check("hashed Message-IDs" not in env.log_text() and
              not os.path.exists(os.path.join(
                  env.maildir, ".Sent", "dovecot-bounceinfo.msgids")),
              "INDEX=MEMORY: no hash file")
    finally:
        env.stop()

    # bounceinfo_verify = no: unchecked
    env = DovecotEnv(sieve=False, extra_conf=METRIC)
    env.start()
    try:
        env.lmtp_deliver(read_corpus(GENUINE))
        got = verified_counters(env, {"unchecked": 1})
        check(got == {"unchecked": 1},
              "verified=unchecked with bounceinfo_verify = no: %s" % got)
    finally:
        env.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
