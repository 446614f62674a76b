#!/usr/bin/env python3
"""Trusted bounce headers (bounceinfo_headers = yes) in real LMTP delivery.

- a bounce gets X-Bounce-Class/-Severity/-Kind/-Recipient/-Status/
  -Diagnostic/-Explanation, once each, folded, RFC 2047-encoded where the
  text is not ASCII (Polish explanation), and the sender's forged
  X-Bounce-* headers are gone;
- ordinary mail with a forged X-Bounce-Class arrives without it;
- the exact rules Roundcube's managesieve form writes (header :is /
  :contains "x-bounce-class") file the bounce, with fileinto and keep;
- several LMTP recipients each get headers in their own language;
- dovecot-lda does the same; an IMAPSieve script run on COPY sees them;
- rules that fail to load: the mail is delivered, forged headers removed;
- bounceinfo_headers = no leaves mail as it was sent.
Exit 0 pass, 1 fail, 77 skip."""

import email
import email.header
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bounceinfo_testlib import (Checker, add_user, imap_login,  # noqa: E402
                                srcdir, start_env)

PASSWORD2 = "second-user-password"
HEADERS = ["X-Bounce-Class", "X-Bounce-Severity", "X-Bounce-Kind",
           "X-Bounce-Recipient", "X-Bounce-Status", "X-Bounce-Diagnostic",
           "X-Bounce-Explanation"]

# What Roundcube 1.6's managesieve form writes for "Header X-Bounce-Class
# is quota -> Move message to Bounces/Quota" and "... contains user ->
# Move to ...": rcube_sieve_script::_print_test/as_text output.
ROUNDCUBE_SCRIPT = """\
require ["fileinto"];
# rule:[Quota bounces]
if header :is "x-bounce-class" "quota"
{
\tfileinto "Bounces/Quota";
}
# rule:[Unknown users]
if header :contains "x-bounce-class" "user-unknown"
{
\tfileinto "Bounces/Unknown";
}
"""


IMAPSIEVE_SCRIPT = """\
require ["imap4flags"];
if header :is "x-bounce-class" "quota" {
  addflag "bounce-quota";
}
"""


def decoded(value):
    return str(email.header.make_header(email.header.decode_header(
        str(value))))


def message(name):
    with open(os.path.join(srcdir(), "tests", "sieve", "messages", name),
              "rb") as f:
        return f.read()


def sample(name):
    with open(os.path.join(srcdir(), "tests", "samples", name), "rb") as f:
        return f.read()


def forge(raw):
    """The message with forged X-Bounce-* headers of a sender put first,
    one of them folded over two lines."""
    return (b"X-Bounce-Class: quota\r\nx-bounce-explanation: trust me\r\n"
            b"X-Bounce-Recipient: victim@example.org,\r\n"
            b"\tsecond@example.org\r\n" + raw)


def fetch_all(env, mailbox, user=None):
    """[raw message bytes] of a mailbox over IMAP (user: login name of an
    extra user, password PASSWORD2)."""
    im = env.imap() if user is None else imap_login(env, user, PASSWORD2)
    try:
        typ, _ = im.select('"%s"' % mailbox)
        if typ != "OK":
            return None
        _, data = im.uid("FETCH", "1:*", "(BODY.PEEK[])")
        return [item[1] for item in data if isinstance(item, tuple)]
    finally:
        im.logout()


def header_block(raw):
    return raw.split(b"\r\n\r\n", 1)[0]


def main():
    check = Checker()

    # --- headers on, user script = Roundcube form rules -----------------
    env = start_env(sieve=True, user_sieve=ROUNDCUBE_SCRIPT,
                    plugin_settings={"bounceinfo_headers": "yes",
                                     "bounceinfo_language": "pl"})
    if env is None:
        return 77
    try:
        # Roundcube's form offers existing folders only
        im = env.imap()
        for box in ("Bounces/Quota", "Bounces/Unknown"):
            im.create(box)
        im.logout()
        env.lmtp_deliver(forge(sample("en-qmail-user-over-quota.eml")))
        env.lmtp_deliver(forge(sample("pl-qmail-no-such-user.eml")))
        env.lmtp_deliver(forge(sample("en-ordinary-mail-about-bounces.eml")),
                         mail_from="it-support@company.example.com")

        quota = fetch_all(env, "Bounces/Quota")
        check(quota is not None and len(quota) == 1,
              "header :is \"x-bounce-class\" \"quota\" filed the quota "
              "bounce", repr(quota))
        unknown = fetch_all(env, "Bounces/Unknown")
        check(unknown is not None and len(unknown) == 1,
              "header :contains \"x-bounce-class\" \"user-unknown\" filed "
              "the user-unknown bounce", repr(unknown))
        inbox = fetch_all(env, "INBOX") or []
        check(len(inbox) == 1, "ordinary mail kept in INBOX (forged "
              "X-Bounce-Class: quota did not match the form rule)",
              repr(inbox))

        if quota:
            hdr = header_block(quota[0])
            msg = email.message_from_bytes(quota[0])
            for name in HEADERS:
                n = len(msg.get_all(name) or [])
                # the qmail bounce gives no enhanced status code
                check(n == 1 or (name == "X-Bounce-Status" and n == 0),
                      "%s at most once, present where known (%d)"
                      % (name, n))
            check(msg["X-Bounce-Class"] == "quota", "X-Bounce-Class: quota",
                  repr(msg["X-Bounce-Class"]))
            check(msg["X-Bounce-Severity"] == "soft", "X-Bounce-Severity")
            check(msg["X-Bounce-Kind"] == "ndr", "X-Bounce-Kind")
            check(str(msg["X-Bounce-Recipient"]).strip() ==
                  "grandson@isp.example.net", "X-Bounce-Recipient is the "
                  "failed recipient, not the forged one",
                  repr(msg["X-Bounce-Recipient"]))
            check(b"trust me" not in quota[0] and
                  b"victim@example.org" not in quota[0] and
                  b"second@example.org" not in quota[0],
                  "forged X-Bounce-* headers (and their continuation "
                  "lines) removed")
            lines = hdr.split(b"\r\n")
            check(all(len(l) <= 78 for l in lines
                      if l.lower().startswith(b"x-bounce-") or
                      l[:1] in (b" ", b"\t")),
                  "X-Bounce-* lines folded to 78 characters")
            check(all(b < 0x80 for b in hdr),
                  "the header is 7-bit (RFC 2047 for the Polish text)")
            expl = str(email.header.make_header(email.header.decode_header(
                msg["X-Bounce-Explanation"])))
            check(re.search(r"[ąćęłńóśźż]", expl) is not None,
                  "X-Bounce-Explanation decodes to Polish text", expl)
            diag = str(email.header.make_header(email.header.decode_header(
                msg["X-Bounce-Diagnostic"])))
            check("quota" in diag.lower() and len(diag) <= 200,
                  "X-Bounce-Diagnostic: bounded, one line", diag)
        if inbox:
            check(not re.search(rb"(?im)^x-bounce-", header_block(inbox[0])),
                  "no X-Bounce-* header at all on ordinary mail")
            check(b"Forward the bounce to us" in inbox[0],
                  "ordinary mail body intact")
    finally:
        env.stop()

    # --- several LMTP recipients, several failed recipients, LDA,
    #     imapsieve on COPY, one classification per delivery ------------
    env = start_env(sieve=True, debug=True,
                    plugin_settings={
                        "bounceinfo_headers": "yes",
                        "sieve_plugins": "sieve_imapsieve sieve_bounceinfo",
                        "imapsieve_mailbox1_name": "Review",
                        "imapsieve_mailbox1_causes": "COPY",
                        "imapsieve_mailbox1_before":
                            "file:~/imapsieve.sieve"},
                    extra_conf="protocol imap {\n"
                               "  mail_plugins = $mail_plugins imap_sieve\n"
                               "}\n")
    try:
        add_user(env, "second", PASSWORD2,
                 "userdb_bounceinfo_language=de")
        with open(os.path.join(env.home, "imapsieve.sieve"), "w") as f:
            f.write(IMAPSIEVE_SCRIPT)
        os.chown(os.path.join(env.home, "imapsieve.sieve"),
                 env.pw.pw_uid, env.pw.pw_gid)
        multi = message("multi-recipient-dsn.eml")
        env.lmtp_deliver(forge(multi), rcpt=[env.user, "second"])
        first = (fetch_all(env, "INBOX") or [None])[0]
        second = (fetch_all(env, "INBOX", user="second") or [None])[0]
        check(first is not None and second is not None,
              "both LMTP recipients got the bounce")
        if first is not None and second is not None:
            m1 = email.message_from_bytes(first)
            m2 = email.message_from_bytes(second)
            for name in HEADERS:
                check(len(m1.get_all(name) or []) == 1 and
                      len(m2.get_all(name) or []) == 1,
                      "%s exactly once for each LMTP recipient" % name)
            check(m1["X-Bounce-Class"] == "quota" and
                  m1["X-Bounce-Status"] == "5.2.2",
                  "class and status are those of the first failed "
                  "recipient", "%r %r" % (m1["X-Bounce-Class"],
                                          m1["X-Bounce-Status"]))
            rcpts = re.sub(r"\s+", " ", str(m1["X-Bounce-Recipient"]))
            check(rcpts == "full@example.org, nobody@example.org, "
                  "someone@no-such-domain.example",
                  "X-Bounce-Recipient lists every failed recipient, the "
                  "first one first", rcpts)
            e1 = decoded(m1["X-Bounce-Explanation"])
            e2 = decoded(m2["X-Bounce-Explanation"])
            check(e1 != e2 and re.search(r"[äöüß]|Postfach", e2) is not None,
                  "each LMTP recipient gets the explanation in their own "
                  "language (second: de)", "%r / %r" % (e1, e2))
            check(b"trust me" not in second,
                  "forged headers gone for the second recipient too")
        lines = [l for l in env.log_text().splitlines()
                 if "bounceinfo: Classified message" in l and
                 "kind=dsn" in l]
        check(len(lines) <= 2, "at most one classification per LMTP "
              "recipient with headers on", "\n".join(lines))

        # dovecot-lda takes the same path
        env.lda_deliver(forge(sample("en-qmail-user-over-quota.eml")),
                        mail_from="")
        inbox = fetch_all(env, "INBOX") or []
        m = email.message_from_bytes(inbox[-1]) if inbox else None
        check(m is not None and m["X-Bounce-Class"] == "quota" and
              len(m.get_all("X-Bounce-Class")) == 1 and
              b"trust me" not in inbox[-1],
              "dovecot-lda: trusted headers added, forged ones removed")

        # imapsieve: a COPY runs a script whose header test sees them
        im = env.imap()
        im.create("Review")
        im.select("INBOX")
        typ, _ = im.copy("1:*", "Review")
        check(typ == "OK", "COPY INBOX to Review")
        im.select("Review", readonly=True)
        _, data = im.fetch("1:*", "(FLAGS)")
        im.logout()
        flags = [re.search(rb"FLAGS \(([^)]*)\)", d).group(1).decode()
                 for d in data if isinstance(d, bytes)]
        check(len(flags) == 2 and all("bounce-quota" in f for f in flags),
              "imapsieve header :is \"x-bounce-class\" \"quota\" on COPY",
              repr(flags))
    finally:
        env.stop()

    # --- rules that fail to load, no Sieve: delivered, error logged -----
    env = start_env(sieve=False, plugin_settings={
        "bounceinfo_headers": "yes",
        "bounceinfo_rules": "/nonexistent/bounceinfo.rules"})
    try:
        env.lmtp_deliver(forge(sample("en-qmail-user-over-quota.eml")))
        inbox = fetch_all(env, "INBOX") or []
        check(len(inbox) == 1 and b"grandson@isp.example.net" in inbox[0],
              "rules failing to load: the bounce is still delivered")
        check(len(inbox) == 1 and
              not re.search(rb"(?im)^x-bounce-", header_block(inbox[0])),
              "... without any X-Bounce-* header (forged ones removed, "
              "none added)")
        check("nonexistent/bounceinfo.rules" in env.log_text(),
              "... and the error is logged")
    finally:
        env.stop()

    # --- headers off: nothing changes ----------------------------------
    env = start_env(sieve=True, plugin_settings={"bounceinfo_headers": "no"})
    try:
        env.lmtp_deliver(forge(sample("en-qmail-user-over-quota.eml")))
        inbox = fetch_all(env, "INBOX") or []
        check(len(inbox) == 1 and b"X-Bounce-Class: quota" in inbox[0] and
              b"trust me" in inbox[0],
              "bounceinfo_headers = no: mail delivered as it was sent")
    finally:
        env.stop()
    return check.finish()


if __name__ == "__main__":
    sys.exit(main())
