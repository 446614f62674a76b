#!/usr/bin/env python3
"""Self-test of dovecot_env.py: a plain Dovecot (none of our plugins) starts,
takes one ordinary mail over LMTP, shows it over IMAP and through doveadm,
answers /metrics, and leaves no process behind when stopped.
Exit 0 pass, 1 fail, 77 skip (cannot run here, e.g. not root)."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bounceinfo_testlib import check, start_env  # noqa: E402

MAIL = b"""\
From: Alice <alice@example.org>
To: testuser@localhost
Subject: harness self-test
Message-ID: <harness-self-test@example.org>
Date: Mon, 23 Nov 2026 10:00:00 +0000

Hello.
.leading dot line survives dot-stuffing
"""


def main():
    env = start_env(mail_plugins=False, sieve=False)
    if env is None:
        return 77
    try:
        check(os.path.exists(env.conf_path), "config written to %s"
              % env.conf_path)
        env.lmtp_deliver(MAIL, rcpt=env.user, mail_from="alice@example.org")
        print("ok: LMTP delivery accepted on 127.0.0.1:%d" % env.lmtp_port)

        imap = env.imap()
        typ, data = imap.select("INBOX", readonly=True)
        check(typ == "OK" and data[0] == b"1", "IMAP INBOX has 1 message")
        typ, data = imap.fetch("1", "(BODY.PEEK[])")
        body = data[0][1]
        check(b"Subject: harness self-test" in body, "IMAP fetch shows it")
        check(b"\r\n.leading dot line" in body, "dot-stuffing undone")
        imap.logout()

        env.lda_deliver(MAIL.replace(b"harness-self-test@",
                                     b"harness-lda@"),
                        mail_from="alice@example.org")
        print("ok: dovecot-lda delivery accepted")
        out = env.doveadm("mailbox", "status", "-u", env.user, "messages",
                          "INBOX").stdout
        check(out.split() == ["INBOX", "messages=2"], "doveadm sees both: %r"
              % out.strip())
        bad = env.doveadm("mailbox", "status", "-u", env.user, "messages",
                          "NoSuchBox", check=False)
        check(bad.returncode != 0, "doveadm(check=False) reports failure")
        check(env.wait_for_log(r"lda\(%s\)" % env.user, timeout=5)
              is not None,
              "wait_for_log finds the LDA delivery")

        metrics = env.metrics()
        check(metrics.rstrip().endswith("# EOF"),
              "GET %s answers OpenMetrics" % env.metrics_url)
        check("starting up" in env.log_text(), "log shows the start")
    finally:
        tmpdir = env.tmpdir
        pid = env.master_pid
        env.stop()
    check(pid is not None, "master pid was known")
    left = env.remaining_processes(pid)
    check(not left, "no dovecot process left after stop (pids %s)" % left)
    check(os.environ.get("BOUNCEINFO_KEEP_TMP") == "1"
          or not os.path.exists(tmpdir), "temporary directory removed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
