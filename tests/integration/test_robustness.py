#!/usr/bin/env python3
"""Regressions of issue #14 in a real Dovecot (LMTP, IMAP, doveadm, Sieve):

- defect 5: a data directory without explanations/ is not silent: the log
  says the directory is missing and which language fell back, and mail is
  still delivered and classified;
- defect 6: a bounce whose top-level header holds a 5 MB line gives the
  same result in the mail plugin (keywords, doveadm bounceinfo list), in
  the Sieve extension and in the bounceinfo CLI on the very bytes stored
  (the plugin said "not a bounce", the CLI "ndr");
- defect 4, through delivery: a lone CR in the NDR text reaches the
  diagnostic as a space (doveadm bounceinfo list shows no "userX-").
Exit 0 pass, 1 fail, 77 skip (not root or no Dovecot)."""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bounceinfo_testlib import (check, doveadm_list, imap_uid_flags,  # noqa
                               srcdir_builddir, start_env)

SCRIPT = """\
require ["variables", "bounceinfo", "fileinto", "mailbox"];
if bounceinfo :kind ["dsn", "ndr"] {
  if string :matches "${bounceinfo.explanation.pl}" "?*" {
    fileinto :create "Explained";
  } else {
    fileinto :create "Bounces";
  }
}
"""

NDR_TEXT = (b"I'm sorry to have to inform you that your message could not\n"
            b"be delivered to one or more recipients.\n\n"
            b"<user@example.net>: host mx.example.net[192.0.2.1] said:\n"
            b"    550 5.1.1 <user@example.net>: Recipient address rejected:\n"
            b"    User unknown in local recipient table (in reply to RCPT TO"
            b" command)\n")


def bounce(extra_header=b"", text=NDR_TEXT, msgid=b"<b1@example.org>"):
    return (b"From: MAILER-DAEMON@example.org (Mail Delivery System)\n"
            b"To: testuser@localhost\n"
            b"Subject: Undelivered Mail Returned to Sender\n"
            b"Message-ID: " + msgid + b"\n" + extra_header +
            b"Date: Mon, 23 Nov 2026 10:00:00 +0000\n\n" + text)


def fetch_bodies(env, mailbox="INBOX"):
    """{uid: raw message} as stored"""
    im = env.imap()
    try:
        typ, _ = im.select(mailbox)
        check(typ == "OK", "IMAP SELECT %s" % mailbox)
        typ, data = im.uid("FETCH", "1:*", "(BODY.PEEK[])")
        out = {}
        for item in data:
            if isinstance(item, tuple):
                uid = int(re.search(rb"UID (\d+)", item[0]).group(1))
                out[uid] = item[1]
        return out
    finally:
        im.logout()


def cli_kinds(builddir, srcdir, raws, tmpdir):
    """The CLI's kind for each raw message (the same bytes)."""
    kinds = []
    for n, raw in enumerate(raws):
        path = os.path.join(tmpdir, "m%d.eml" % n)
        with open(path, "wb") as f:
            f.write(raw)
        proc = subprocess.run(
            [os.path.join(builddir, "src", "cli", "bounceinfo"), "--json",
             "--datadir", srcdir, path], stdout=subprocess.PIPE,
            stderr=subprocess.PIPE)
        check(proc.returncode == 0, "CLI reads message %d (%s)"
              % (n, proc.stderr[-300:]))
        kinds.append(json.loads(proc.stdout)["kind"])
    return kinds


def no_explanations_case(srcdir):
    """defect 5"""
    datadir = tempfile.mkdtemp(prefix="bounceinfo-noexpl-")
    try:
        os.chmod(datadir, 0o755)
        shutil.copytree(os.path.join(srcdir, "rules"),
                        os.path.join(datadir, "rules"))
        for root, dirs, files in os.walk(datadir):
            for d in dirs:
                os.chmod(os.path.join(root, d), 0o755)
            for f in files:
                os.chmod(os.path.join(root, f), 0o644)
        env = start_env(sieve=True, user_sieve=SCRIPT, plugin_settings={
            "bounceinfo_keywords": "yes", "bounceinfo_datadir": datadir})
        if env is None:
            return False
        try:
            env.lmtp_deliver(bounce())
            typ, flags = imap_uid_flags(env, "Explained")
            check(typ == "OK" and len(flags) == 1,
                  "the bounce is delivered and filed with an explanation")
            check("$Bounce_user_unknown" in flags.get(1, set()),
                  "and classified: %s" % flags)
            env.wait_for_log(r"explanations does not exist")
            m = env.wait_for_log(
                r"No explanations for language 'pl' in \S*explanations: "
                r"using (the built-in English sentence|English)")
            check(True, "the log names the missing directory and the "
                  "language that fell back: %s" % m.group(0))
        finally:
            env.stop()
    finally:
        shutil.rmtree(datadir, ignore_errors=True)
    return True


def same_result_case(srcdir, builddir):
    """defect 6 (and 4 through delivery)"""
    long_line = b"X-Long: " + b"a" * (5 * 1024 * 1024) + b"\n"
    raws = [
        bounce(long_line, msgid=b"<long@example.org>"),
        bounce(msgid=b"<plain@example.org>"),
        bounce(text=NDR_TEXT.replace(b"User unknown in local recipient "
                                     b"table", b"No such user\rX-Injected:"
                                     b" yes"), msgid=b"<cr@example.org>"),
    ]
    env = start_env(sieve=True, user_sieve=SCRIPT, plugin_settings={
        "bounceinfo_keywords": "yes"})
    if env is None:
        return False
    tmpdir = tempfile.mkdtemp(prefix="bounceinfo-same-")
    try:
        for raw in raws:
            env.lmtp_deliver(raw)
        stored = {}
        folder_of = {}
        for box in ("INBOX", "Bounces", "Explained"):
            typ, _ = imap_uid_flags(env, box)
            if typ != "OK":
                continue
            for uid, raw in fetch_bodies(env, box).items():
                mid = re.search(rb"Message-ID: (<[^>]+>)", raw).group(1)
                stored[mid] = (box, uid, raw)
                folder_of[mid] = box
        check(len(stored) == 3, "all 3 messages delivered: %s"
              % sorted(folder_of.items()))
        order = [b"<long@example.org>", b"<plain@example.org>",
                 b"<cr@example.org>"]
        cli = cli_kinds(builddir, srcdir, [stored[m][2] for m in order],
                        tmpdir)
        for mid, kind in zip(order, cli):
            box, uid, _ = stored[mid]
            typ, flags = imap_uid_flags(env, box)
            plugin_bounce = "$Bounce" in flags[uid]
            sieve_bounce = box != "INBOX"
            cli_bounce = kind in ("dsn", "ndr", "delayed")
            check(plugin_bounce == cli_bounce == sieve_bounce,
                  "%s: plugin keywords %s, Sieve filed into %s, CLI kind "
                  "%s: the same answer" % (mid.decode(), sorted(flags[uid]),
                                           box, kind))
            if env.doveadm_plugin_loaded:
                rows = doveadm_list(env, box)
                row = rows.get(uid)
                # (the list shows bounces only)
                check((row is not None and
                       row["kind"] in ("dsn", "ndr", "delayed")) ==
                      cli_bounce,
                      "%s: doveadm bounceinfo list agrees (%s)"
                      % (mid.decode(), row and row["kind"]))
        # the control: an ordinary-sized bounce is one everywhere
        check(cli[1] == "ndr", "the plain bounce is an ndr (%s)" % cli[1])
        # the long header line is cut by everyone alike: the bounce
        # behind it is still one
        check(cli[0] == "ndr", "the 5 MB header line bounce: ndr (%s)"
              % cli[0])
        # defect 4: the lone CR became a space in the diagnostic
        box, uid, raw = stored[b"<cr@example.org>"]
        proc = subprocess.run(
            [os.path.join(builddir, "src", "cli", "bounceinfo"), "--json",
             "--datadir", srcdir, os.path.join(tmpdir, "m2.eml")],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        diag = json.loads(proc.stdout)["recipients"][0].get("diagnostic")
        check(diag is not None and "userX-Injected" not in diag and
              "No such user X-Injected" in diag,
              "lone CR as a space in the diagnostic: %r" % diag)
    finally:
        env.stop()
        shutil.rmtree(tmpdir, ignore_errors=True)
    return True


def main():
    srcdir, builddir = srcdir_builddir()
    if not no_explanations_case(srcdir):
        return 77
    if not same_result_case(srcdir, builddir):
        return 77
    return 0


if __name__ == "__main__":
    sys.exit(main())
