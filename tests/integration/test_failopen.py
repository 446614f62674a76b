#!/usr/bin/env python3
"""Fail open and configuration errors, in a real Dovecot:
- a broken, an unreadable and a missing bounceinfo_rules file: bounces and
  ordinary mail are still delivered into INBOX (untouched, no keywords) and
  the error, naming the file, is in the log;
- a rules file with a pattern that does not compile (patterns are compiled
  when first tried): the bounce is delivered and classified by the other
  rules, the error naming file:line and pcre2's message is logged once;
- an invalid setting value (bounceinfo_keywords = maybe, a bad size) fails
  the user's initialization with an error naming the setting and the value:
  LMTP answers 4xx (the MTA keeps the mail and retries), doveadm fails.
  On Dovecot 2.4 the settings parser refuses such a configuration, naming
  the setting, and Dovecot does not start (doc/dovecot-2.4.md).
Exit 0 pass, 1 fail, 77 skip."""

import os
import re
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dovecot_env import (DovecotEnv, DovecotEnvError,  # noqa: E402
                         DovecotEnvUnavailable, is_dovecot24)
from bounceinfo_testlib import (check, corpus_missing,  # noqa: E402
                               read_corpus, write_readable)

BOUNCE = "lhost-amavis-01.eml"
ORDINARY = b"""\
From: Dave <dave@example.org>
To: testuser@localhost
Subject: weekend plans
Message-ID: <ordinary-4@example.org>

See you.
"""


def inbox(env):
    """[(flags, body)] of INBOX over IMAP"""
    im = env.imap()
    try:
        im.select("INBOX")
        typ, data = im.fetch("1:*", "(FLAGS BODY.PEEK[])")
        mails = []
        for item in data:
            if isinstance(item, tuple):
                flags = re.search(rb"FLAGS \(([^)]*)\)", item[0]).group(1)
                mails.append((set(flags.decode().split()), item[1]))
        return mails
    finally:
        im.logout()


def crlf(raw):
    return re.sub(rb"\r?\n", b"\r\n", raw)


def fail_open_case(what, rules_path, bounce):
    env = DovecotEnv(sieve=False, plugin_settings={
        "bounceinfo_keywords": "yes", "bounceinfo_rules": rules_path})
    env.start()
    try:
        env.lmtp_deliver(bounce)
        env.lmtp_deliver(ORDINARY, mail_from="dave@example.org")
        mails = inbox(env)
        check(len(mails) == 2, "%s: both mails delivered into INBOX" % what)
        # LMTP adds Return-Path/Delivered-To/Received on top
        check(mails[0][1].endswith(crlf(bounce)),
              "%s: the bounce is stored unchanged" % what)
        check(not any(k.startswith("$Bounce") for f, _ in mails for k in f),
              "%s: no keywords (classification disabled)" % what)
        try:
            m = env.wait_for_log(r"Error: .*bounceinfo: Failed to load rules.*")
        except DovecotEnvError:
            m = None
        check(m is not None and rules_path in m.group(0),
              "%s: error logged naming the file: %s"
              % (what, m.group(0) if m else None))
    finally:
        env.stop()


def broken_pattern_case(rules_path, bounce):
    env = DovecotEnv(sieve=False, plugin_settings={
        "bounceinfo_keywords": "yes", "bounceinfo_rules": rules_path})
    env.start()
    try:
        env.lmtp_deliver(bounce)
        env.lmtp_deliver(bounce)
        env.lmtp_deliver(ORDINARY, mail_from="dave@example.org")
        mails = inbox(env)
        check(len(mails) == 3, "broken pattern: the mails delivered")
        check(mails[0][1].endswith(crlf(bounce)),
              "broken pattern: the bounce is stored unchanged")
        check(all({"$Bounce", "$Bounce_user_unknown"} <= f
                  for f, _ in mails[:2]) and
              not any(k.startswith("$Bounce") for k in mails[2][0]),
              "broken pattern: the bounces classified without the rule: %r"
              % [sorted(f) for f, _ in mails])
        want = ("%s:2: pcre2 error at offset 27: missing closing "
                "parenthesis" % rules_path)
        try:
            # the log service writes asynchronously
            env.wait_for_log(re.escape(want))
        except DovecotEnvError:
            pass
        log = env.log_text()
        errors = [ln for ln in log.splitlines() if want in ln]
        # once per process (each keeps its compiled rules): two LMTP
        # processes may have delivered the two bounces
        pids = [m.group(1) for m in
                (re.search(r"lmtp\([^)]*\)<(\d+)>", ln) for ln in errors)
                if m]
        check(1 <= len(errors) <= 2 and len(pids) == len(errors) and
              len(set(pids)) == len(pids) and
              all("Error:" in ln for ln in errors),
              "broken pattern: logged once per process as an error: %r"
              % errors)
        # the shared rules log as the user being delivered to, and the
        # "bounceinfo: " prefix is there once (library and plugin events
        # used to stack theirs)
        check(all(("lmtp(%s)" % env.user) in ln and
                  ln.count("bounceinfo: ") == 1 for ln in errors),
              "broken pattern: logged with the user's prefix and one "
              "bounceinfo prefix: %r" % errors)
        check("Failed to load rules" not in log and "Panic" not in log and
              "Fatal" not in log,
              "broken pattern: the rules load, no crash")
    finally:
        env.stop()


def invalid_setting_case24(setting, value):
    """Dovecot 2.4: the typed settings are checked when the configuration
    is read, so Dovecot refuses to start, naming the setting (no user ever
    runs with it, no mail is accepted)."""
    env = DovecotEnv(sieve=False, plugin_settings={setting: value})
    try:
        env.start()
        started, error = True, ""
    except DovecotEnvError as e:
        started, error = False, str(e).split("--- log ---")[0]
    finally:
        env.stop()
    check(not started, "%s = %s: Dovecot refuses the configuration"
          % (setting, value))
    check(setting in error and "Fatal" in error and
          "Unknown setting" not in error,
          "%s: the error names the setting: %s"
          % (setting, error.strip().splitlines()[-1:]))


def invalid_setting_case(setting, value):
    if is_dovecot24():
        return invalid_setting_case24(setting, value)
    env = DovecotEnv(sieve=False, plugin_settings={setting: value})
    env.start()
    try:
        expected = "%s: invalid value '%s'" % (setting, value)
        try:
            env.lmtp_deliver(ORDINARY, mail_from="dave@example.org")
            delivered = True
        except DovecotEnvError as e:
            delivered = False
            check(" 4" in str(e).split("\n")[0] or ": 4" in str(e),
                  "%s: LMTP answers a temporary failure: %s"
                  % (setting, str(e).split("\n")[0]))
        check(not delivered, "%s = %s: delivery refused, not half-done"
              % (setting, value))
        try:
            # the log service writes asynchronously
            env.wait_for_log(re.escape(expected))
            logged = True
        except DovecotEnvError:
            logged = False
        check(logged, "%s: log names the setting and value" % setting)
        proc = env.doveadm("mailbox", "list", "-u", env.user, check=False)
        check(proc.returncode != 0 and expected in proc.stderr,
              "%s: doveadm fails with the same error: %s"
              % (setting, proc.stderr.strip()))
    finally:
        env.stop()


def main():
    if corpus_missing():
        return 77
    bounce = read_corpus(BOUNCE)
    tmp = tempfile.mkdtemp(prefix="bounceinfo-failopen-")
    try:
        broken = os.path.join(tmp, "broken.rules")
        with open(broken, "w") as f:
            f.write("[quota\n(((unbalanced\n")
        os.chmod(broken, 0o644)
        unreadable = os.path.join(tmp, "unreadable.rules")
        with open(unreadable, "w") as f:
            f.write("# mail processes cannot read this file\n")
        os.chmod(unreadable, 0o000)
        os.chmod(tmp, 0o755)
        missing = os.path.join(tmp, "missing.rules")
        # "recipient address " is in the bounce: the rule is tried
        bad_pattern = os.path.join(tmp, "bad-pattern.rules")
        write_readable(bad_pattern, "[policy]\nrecipient address (rejected\n")
        try:
            broken_pattern_case(bad_pattern, bounce)
            fail_open_case("broken rules file", broken, bounce)
            fail_open_case("unreadable rules file", unreadable, bounce)
            fail_open_case("missing rules file", missing, bounce)
        except DovecotEnvUnavailable as e:
            print("SKIP: %s" % e)
            return 77
        invalid_setting_case("bounceinfo_keywords", "maybe")
        invalid_setting_case("bounceinfo_verify", "sometimes")
        invalid_setting_case("bounceinfo_max_scan_bytes", "lots")
        invalid_setting_case("bounceinfo_max_recipients", "-5")
        invalid_setting_case("bounceinfo_language", "../../etc")
        invalid_setting_case("bounceinfo_datadir", "relative/dir")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
