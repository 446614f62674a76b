#!/usr/bin/env python3
"""Per-recipient results in multi-recipient LMTP transactions (issue #14,
defects 1 and 2), in a real Dovecot with the mail plugin and the Sieve
extension loaded.

One LMTP transaction (MAIL FROM:<>, RCPT per user, one DATA) delivers a
bounce to four users who differ in everything the plugin computes per
user:

  testuser  original in \\Sent, English, shipped rules, keywords on
  bob       empty \\Sent, German, a local rule that makes the bounce quota
  carol     original in \\Sent, keywords off, files into two folders
  dave      empty \\Sent, no Sieve script (plain keep)

Every order of the four recipients is delivered (24 transactions).  Each
user's copy must carry that user's verdict (genuine/forged), class,
explanation language and keywords, whoever came first in the
transaction: LMTP hands later recipients the first one's saved copy.
The Sieve scripts use addheader (editheader) and fileinto :copy, and the
bounceinfo_classified counter must still equal the number of delivered
copies (one per recipient per transaction), per verdict; an LDA delivery
with the addheader script adds exactly one.
Exit 0 pass, 1 fail, 77 skip."""

import email
import email.header
import itertools
import json
import os
import re
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bounceinfo_testlib import Checker, srcdir, start_env  # noqa: E402

SAMPLE = "tests/samples/en-postfix-relay-auth-required.eml"
ORIGINAL_ID = "<quote-0319@office.example.com>"
# bob's local rule makes the bounce this class (the shipped rules give the
# class pinned in tests/samples/expected.tsv)
BOB_CLASS = "quota"

# addheader (editheader) made the mail plugin classify and count twice
EDIT_SCRIPT = """\
require ["bounceinfo", "variables", "editheader"];
if bounceinfo :kind ["dsn", "ndr"] {
  addheader "X-Test-Bounceinfo"
    "verified=${bounceinfo.verified} class=${bounceinfo.class}";
  addheader "X-Test-Explanation" "${bounceinfo.explanation}";
  if bounceinfo :verified "genuine" {
    addheader "X-Test-Genuine" "yes";
  }
}
"""
# one delivered copy, two mailboxes
FILEINTO_SCRIPT = """\
require ["bounceinfo", "fileinto", "mailbox", "copy"];
if bounceinfo :verified "genuine" {
  fileinto :create :copy "Genuine";
  fileinto :create "Bounces";
} else {
  fileinto :create "Bounces";
}
"""
METRIC = """
metric bounceinfo_delivered {
  filter = event=bounceinfo_classified
  group_by = verified
}
"""


def shipped_class(src):
    """The sample's class by the shipped rules (tests/samples/expected.tsv)."""
    with open(os.path.join(src, "tests", "samples", "expected.tsv")) as f:
        for line in f:
            cols = line.rstrip("\n").split("\t")
            if cols[0] == os.path.basename(SAMPLE) and cols[1] in ("0", "-"):
                return cols[3]
    raise SystemExit("%s is not in expected.tsv" % SAMPLE)


def explanation_start(src, lang, cls):
    """The first words of the shipped explanation of cls in lang (long
    header values get folded)."""
    with open(os.path.join(src, "explanations", lang + ".txt"),
              encoding="utf-8") as f:
        for line in f:
            if line.startswith(cls + " = "):
                return " ".join(line.split(" = ", 1)[1].split()[:4])
    raise SystemExit("no %s explanation of %s" % (lang, cls))


def fetch(env, user, mailbox):
    """[(flags set, email.message.Message)] of user's mailbox."""
    proc = env.doveadm("-f", "json", "fetch", "-u", user, "flags hdr",
                       "mailbox", mailbox, "ALL", check=False)
    if proc.returncode != 0:
        return []
    out = []
    for row in json.loads(proc.stdout or "[]"):
        out.append((set(row["flags"].split()),
                    email.message_from_string(row["hdr"])))
    return out


def header(msg, name):
    """All values of header name, decoded, joined by " | " (None if
    absent): a value another recipient's script added would show."""
    values = msg.get_all(name)
    if not values:
        return None
    return " | ".join(str(email.header.make_header(
        email.header.decode_header(v))) for v in values)


def counters(env):
    return {m.group(1): int(m.group(2)) for m in re.finditer(
        r'^dovecot_bounceinfo_delivered_total\{verified="([^"]+)"\} (\d+)$',
        env.metrics(), re.M)}


def main():
    with open(os.path.join(srcdir(), SAMPLE), "rb") as f:
        bounce = f.read()
    check = Checker()
    check(ORIGINAL_ID.encode() in bounce, "the sample quotes its original")
    cls = shipped_class(srcdir())
    check(cls != BOB_CLASS, "bob's local rule changes the class (%s)" % cls)

    rulesdir = tempfile.mkdtemp(prefix="bounceinfo-rules-")
    os.chmod(rulesdir, 0o755)
    bob_rules = os.path.join(rulesdir, "bob.rules")
    with open(bob_rules, "w") as f:
        f.write("# bob's site reads this phrasing as a full mailbox\n"
                "[%s]\nauthentication is required for relay\n" % BOB_CLASS)
    os.chmod(bob_rules, 0o644)

    users = ["testuser", "bob", "carol", "dave"]
    env = start_env(sieve=True, debug=True, extra_conf=METRIC,
                    user_sieve=EDIT_SCRIPT,
                    sieve_extensions="+bounceinfo +editheader",
                    plugin_settings={"bounceinfo_verify": "yes",
                                     "bounceinfo_keywords": "yes"},
                    extra_users=[
                        {"name": "bob", "user_sieve": EDIT_SCRIPT,
                         "userdb": {"bounceinfo_language": "de",
                                    "bounceinfo_rules": bob_rules}},
                        {"name": "carol", "user_sieve": FILEINTO_SCRIPT,
                         "userdb": {"bounceinfo_keywords": "no"}},
                        {"name": "dave"}])
    if env is None:
        shutil.rmtree(rulesdir)
        return 77
    try:
        original = ("From: %%s@localhost\nTo: partner@supplier.example.net\n"
                    "Subject: Quote request\nMessage-ID: %s\n"
                    "Date: Mon, 3 Mar 2025 10:00:00 +0100\n\nHello.\n"
                    % ORIGINAL_ID)
        for user in ("testuser", "carol"):
            env.doveadm("save", "-u", user, "-m", "Sent",
                        input=original % user)
        # bob and dave sent something else: their \Sent is not empty
        for user in ("bob", "dave"):
            env.doveadm("save", "-u", user, "-m", "Sent", input=(
                "From: %s@localhost\nTo: x@example.org\nSubject: other\n"
                "Message-ID: <other-%s@localhost>\n\nHi.\n" % (user, user)))

        orders = list(itertools.permutations(users))
        for order in orders:
            env.lmtp_deliver(bounce, rcpt=list(order))
        n = len(orders)

        expect = {
            "testuser": ("genuine", cls,
                         explanation_start(srcdir(), "en", cls)),
            "bob": ("forged", BOB_CLASS,
                    explanation_start(srcdir(), "de", BOB_CLASS)),
        }
        for user, (verdict, ucls, explain) in expect.items():
            mails = fetch(env, user, "INBOX")
            check(len(mails) == n, "%s got %d copies" % (user, n),
                  "got %d" % len(mails))
            got = [header(m, "X-Test-Bounceinfo") for _, m in mails]
            want = "verified=%s class=%s" % (verdict, ucls)
            check(all(g == want for g in got),
                  "%s: every copy says %s" % (user, want),
                  "\n".join(str(g) for g in got))
            check(all((header(m, "X-Test-Genuine") == "yes") ==
                      (verdict == "genuine") for _, m in mails),
                  "%s: bounceinfo :verified \"genuine\" is %s"
                  % (user, verdict == "genuine"))
            check(all(explain in (header(m, "X-Test-Explanation") or "")
                      for _, m in mails),
                  "%s: explanation in the user's language and class" % user,
                  "\n".join(str(header(m, "X-Test-Explanation"))
                            for _, m in mails))
            kw = "$Bounce_" + ucls.replace("-", "_")
            check(all("$Bounce" in f and kw in f and
                      not any(x.startswith("$Bounce_") and x != kw
                              for x in f) for f, _ in mails),
                  "%s: keywords $Bounce %s only" % (user, kw),
                  "\n".join(" ".join(sorted(f)) for f, _ in mails))

        genuine = fetch(env, "carol", "Genuine")
        bounces = fetch(env, "carol", "Bounces")
        check(len(genuine) == n and len(bounces) == n,
              "carol: every copy genuine (filed into Genuine and Bounces)",
              "Genuine %d, Bounces %d, INBOX %d" % (
                  len(genuine), len(bounces),
                  len(fetch(env, "carol", "INBOX"))))
        check(all(not any(x.startswith("$Bounce") for x in f)
                  for f, _ in genuine + bounces),
              "carol: no keywords (bounceinfo_keywords = no for her)")

        dave = fetch(env, "dave", "INBOX")
        kw = "$Bounce_" + cls.replace("-", "_")
        check(len(dave) == n and all(kw in f for f, _ in dave),
              "dave (no Sieve script): %d copies with %s" % (n, kw))

        # one event per delivered copy, whatever the scripts did: two
        # genuine (testuser, carol) and two forged (bob, dave) per
        # transaction
        want = {"genuine": 2 * n, "forged": 2 * n}
        deadline = time.time() + 15
        got = counters(env)
        while got != want and time.time() < deadline:
            time.sleep(0.3)
            got = counters(env)
        check(got == want, "bounceinfo_classified: %s" % want,
              "got %s" % got)

        # LDA: one delivery, an editheader script, one event
        env.lda_deliver(bounce, rcpt="bob", mail_from="")
        want["forged"] += 1
        deadline = time.time() + 15
        got = counters(env)
        while got != want and time.time() < deadline:
            time.sleep(0.3)
            got = counters(env)
        check(got == want, "LDA with addheader: one more forged event",
              "got %s" % got)
        mails = fetch(env, "bob", "INBOX")
        check(len(mails) == n + 1 and header(mails[-1][1], "X-Test-Bounceinfo")
              == "verified=forged class=%s" % BOB_CLASS,
              "LDA: bob's copy has his own verdict and class",
              str(header(mails[-1][1], "X-Test-Bounceinfo")))

        log = env.log_text()
        check("Failed to compile" not in log, "the Sieve scripts compiled")
        check(not re.search(r"(?:Error|Panic|Fatal):", log),
              "no errors in the log",
              "\n".join(l for l in log.splitlines()
                        if re.search(r"(?:Error|Panic|Fatal):", l)))
    finally:
        env.stop()
        shutil.rmtree(rulesdir, ignore_errors=True)
    return check.finish()


if __name__ == "__main__":
    sys.exit(main())
