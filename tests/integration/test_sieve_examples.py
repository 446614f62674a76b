#!/usr/bin/env python3
"""Every script of sieve-scripts/examples/ run in real LMTP delivery, as a
user's personal script, each with one user of its own in one private
Dovecot (mail plugin and Sieve plugin loaded, bounceinfo_headers = yes,
editheader enabled, sendmail_path pointing at a capture script):

- by-class.sieve, hard-soft.sieve, many-recipients.sieve, by-domain.sieve,
  backscatter.sieve: each message is in exactly the folder the script
  promises (by-domain: no "." in the folder names, which Maildir++
  refuses);
- tag-header.sieve: the headers it adds are on the delivered bounce;
- notify-user.sieve: exactly one notification per bounce (the same bounce
  delivered twice notifies once, a soft bounce not at all), sent to the
  user's own address and not from the bounce's sender, whose body carries
  the failed recipient, the class, the server's words and the explanation
  in the user's language (Polish here).
Exit 0 pass, 1 fail, 77 skip."""

import email
import email.header
import glob
import os
import re
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dovecot_env import DovecotEnvUnavailable, ensure_user  # noqa: E402
from bounceinfo_testlib import (Checker, add_user, imap_locate,  # noqa: E402
                                log_errors,
                                imap_login, make_dsn, srcdir, start_env)

PASSWORD = "examples-test-password"
ID = "X-Test-Id"

CAPTURE = """#!/bin/sh
# sendmail_path for the test: keep the arguments and the message
f=$(mktemp "%s/mail.XXXXXX") || exit 75
printf 'ARGS: %%s\\n' "$*" > "$f"
cat >> "$f"
"""


def dsn(rcpts, mid="<orig-1@localhost>"):
    """A DSN for [(address, status)]."""
    return make_dsn([(a, st, "550 %s <%s>: rejected" % (st, a))
                     for a, st in rcpts], mid, subject="Quarterly report",
                    to="user@localhost")


def read(*path):
    with open(os.path.join(srcdir(), *path), "rb") as f:
        return f.read()


def example(name):
    return read("sieve-scripts", "examples", name).decode()


def with_id(raw, ident):
    return ("%s: %s\r\n" % (ID, ident)).encode() + raw


def locations(env, user):
    """{test id: [(folder, flags, raw header)]}"""
    return imap_locate(env, user, PASSWORD, ID)


HARD = read("tests", "sieve", "messages", "hard-dsn.eml")
QUOTA = read("tests", "samples", "en-qmail-user-over-quota.eml")
UNKNOWN = read("tests", "samples", "pl-qmail-no-such-user.eml")
ORDINARY = read("tests", "samples", "en-ordinary-mail-about-bounces.eml")
THREE = read("tests", "sieve", "messages", "multi-recipient-dsn.eml")
FIVE = dsn([("a%d@example.org" % i, "5.1.1") for i in range(5)])
POLICY = dsn([("boss@corp.example.com", "5.7.1")])

# user: (example, userdb fields, [(id, message, sender, {folder}, flags)])
CASES = {
    "byclass": ("by-class.sieve", "", [
        ("quota", QUOTA, "", "Bounces/quota", None),
        ("unknown", UNKNOWN, "", "Bounces/user-unknown", None),
        ("ordinary", ORDINARY, "a@example.org", "INBOX", None)]),
    "hardsoft": ("hard-soft.sieve", "", [
        ("quota", QUOTA, "", "Bounces/Soft", None),
        ("unknown", UNKNOWN, "", "Bounces/Hard", "$BounceHard"),
        ("ordinary", ORDINARY, "a@example.org", "INBOX", None)]),
    "many": ("many-recipients.sieve", "", [
        ("five", FIVE, "", "Bounces/Mass failure", None),
        ("three", THREE, "", "INBOX", None)]),
    "bydomain": ("by-domain.sieve", "", [
        ("five", FIVE, "", "Bounces/Mass failure", None),
        ("policy", POLICY, "", "Bounces/Policy 5_7_1", None),
        ("hard", HARD, "", "Bounces/By domain/example", None),
        ("ordinary", ORDINARY, "a@example.org", "INBOX", None)]),
    "backscatter": ("backscatter.sieve", "userdb_bounceinfo_verify=yes", [
        ("genuine", dsn([("bob@example.org", "5.1.1")],
                        mid="<sent-by-user-1@localhost>"), "", "Bounces",
         None),
        ("forged", dsn([("bob@example.org", "5.1.1")],
                       mid="<never-sent@spammer.example>"), "", "Junk",
         None)]),
    "tagheader": ("tag-header.sieve", "userdb_bounceinfo_headers=no", [
        ("unknown", UNKNOWN, "", "INBOX", None)]),
    "notify@localhost": ("notify-user.sieve",
                         "userdb_bounceinfo_language=pl", [
        ("hard", HARD, "", "INBOX", None),
        ("hard-again", HARD, "", "INBOX", None),
        ("soft", QUOTA, "", "INBOX", None)]),
}


def check_notifications(check, capdir):
    mails = sorted(glob.glob(os.path.join(capdir, "mail.*")))
    check(len(mails) == 1, "notify-user.sieve: one notification for a "
          "hard bounce delivered twice and a soft one (got %d)" % len(mails))
    if not mails:
        return
    with open(mails[0], "rb") as f:
        raw = f.read()
    args, _, raw = raw.partition(b"\n")
    args = args.decode()
    msg = email.message_from_bytes(raw)
    check("notify@localhost" in args.split() and
          "MAILER-DAEMON" not in args,
          "sent to the user's own address, not the bounce's sender", args)
    check("notify@localhost" in msg["To"] and
          "MAILER-DAEMON" not in str(msg["To"]),
          "To: is the user", str(msg["To"]))
    subject = str(email.header.make_header(email.header.decode_header(
        msg["Subject"])))
    check(subject == "[undeliverable] typo@example.org: user-unknown",
          "Subject names the recipient and class", subject)
    body = msg.get_payload(decode=True).decode(
        msg.get_content_charset() or "utf-8")
    for what, needle in (("failed recipient", "typo@example.org"),
                         ("class", "user-unknown"),
                         ("diagnostic", "User unknown in virtual"),
                         ("original subject", "Meeting notes")):
        check(needle in body, "body carries the %s" % what, body)
    check(re.search(r"[ąćęłńóśźż]", body) is not None and
          "Notification of new message" not in body,
          "body carries the explanation in the user's language (pl)",
          body)
    check(msg["Auto-Submitted"] and
          msg["Auto-Submitted"].startswith("auto-notified"),
          "Auto-Submitted: auto-notified")


def main():
    check = Checker()
    try:
        pw = ensure_user()
    except DovecotEnvUnavailable as e:
        print("SKIP: %s" % e)
        return 77
    tmp = tempfile.mkdtemp(prefix="bounceinfo-examples-")
    capdir = os.path.join(tmp, "captured")
    os.makedirs(capdir)
    capture = os.path.join(tmp, "sendmail")
    with open(capture, "w") as f:
        f.write(CAPTURE % capdir)
    os.chmod(tmp, 0o755)
    os.chmod(capture, 0o755)
    os.chown(capdir, pw.pw_uid, pw.pw_gid)
    env = start_env(sieve=True, sieve_extensions="+bounceinfo +editheader",
                    plugin_settings={"bounceinfo_headers": "yes"},
                    extra_conf="sendmail_path = %s\n" % capture)
    if env is None:
        shutil.rmtree(tmp, ignore_errors=True)
        return 77
    try:
        for user, (script, extra, _) in CASES.items():
            add_user(env, user, PASSWORD, extra, example(script))
        im = imap_login(env, "backscatter", PASSWORD)
        im.append("Sent", "(\\Seen)", None,
                  b"From: user@localhost\r\nTo: bob@example.org\r\n"
                  b"Subject: hello\r\nMessage-ID: <sent-by-user-1@localhost>"
                  b"\r\n\r\nhi\r\n")
        im.logout()
        for user, (_, _, msgs) in CASES.items():
            for ident, raw, sender, _, _ in msgs:
                env.lmtp_deliver(with_id(raw, ident), rcpt=user,
                                 mail_from=sender)
        for user, (script, _, msgs) in CASES.items():
            where = locations(env, user)
            for ident, _, _, folder, flag in msgs:
                got = where.get(ident, [])
                check([g[0] for g in got] == [folder],
                      "%s: %s message in %s" % (script, ident, folder),
                      "got %r" % [g[0] for g in got])
                if flag and got:
                    check(flag in got[0][1], "%s: %s flag on the %s "
                          "message" % (script, flag, ident), repr(got[0][1]))
            if script == "tag-header.sieve" and where.get("unknown"):
                hdr = email.message_from_bytes(where["unknown"][0][2])
                check(str(hdr["X-Bounce-Class"]).startswith(
                      "user-unknown (hard)") and
                      hdr["X-Bounce-Explanation-PL"],
                      "tag-header.sieve: its headers are on the bounce",
                      str(hdr))
        check_notifications(check, capdir)
        errors = log_errors(env)
        check(not errors, "no error in the log", errors[:3000])
    finally:
        env.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    return check.finish()


if __name__ == "__main__":
    sys.exit(main())
