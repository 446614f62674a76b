#!/usr/bin/env python3
"""Mail plugin and Sieve extension loaded together: a bounce is classified
once per delivery, not once per consumer.  The user's Sieve script files
bounces with the bounceinfo test, so the Sieve extension asks for the
classification first; the mail plugin then sets the keywords on the
filed copy and counts the event.  With mail_debug the plugin logs
"Classified message" once per classification: one delivery gives exactly
one such line, the Sieve extension says it used the mail plugin's result,
and the bounceinfo_classified counter rises by exactly one.
Exit 0 pass, 1 fail, 77 skip."""

import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dovecot_env import DovecotEnv  # noqa: E402
from bounceinfo_testlib import (check, corpus_missing,  # noqa: E402
                               read_corpus, start_env)

BOUNCE = "lhost-amavis-01.eml"
SCRIPT = """\
require ["bounceinfo", "fileinto", "mailbox"];
if bounceinfo :kind ["dsn", "ndr"] {
  fileinto :create "Bounces";
}
"""
METRIC = """
metric bounceinfo_bounces {
  filter = event=bounceinfo_classified
  group_by = class
}
"""


def classified_lines(env, at_least):
    """The plugin's "Classified message" debug lines, once at least
    at_least are there (the log service writes asynchronously)."""
    deadline = time.time() + 10
    while True:
        lines = re.findall(r".*bounceinfo: Classified message.*",
                           env.log_text())
        if len(lines) >= at_least or time.time() > deadline:
            time.sleep(0.3)
            return re.findall(r".*bounceinfo: Classified message.*",
                              env.log_text())
        time.sleep(0.1)


def metric_total(env):
    return sum(int(v) for v in re.findall(
        r'^dovecot_bounceinfo_bounces_total\{[^}]*\} (\d+)$',
        env.metrics(), re.M))


def main():
    if corpus_missing():
        return 77
    bounce = read_corpus(BOUNCE)
    env = start_env(sieve=True, debug=True, user_sieve=SCRIPT,
                    extra_conf=METRIC,
                    plugin_settings={"bounceinfo_keywords": "yes"})
    if env is None:
        return 77
    try:
        env.lmtp_deliver(bounce)
        classified = classified_lines(env, 1)
        env.wait_for_log(r"sieve: bounceinfo: kind=")
        log = env.log_text()
        check(len(classified) == 1,
              "one classification for one delivery: %s" % classified)
        check("kind=dsn" in classified[0], "it is the bounce's")
        # what decided, by its stable id, in the plugin's debug line, the
        # bounceinfo_classified event's and the library's own
        check(re.search(r"rule=[a-z0-9.-]+/[A-Za-z0-9._:-]+$",
                        classified[0]) is not None,
              "the debug line names the rule id: %s" % classified[0])
        check(re.search(r"user-unknown \(hard\) for \S+ by rule "
                        r"[a-z0-9.-]+/", log) is not None,
              "the bounceinfo_classified event's debug line names the rule")
        check(re.search(r"bounceinfo: classified \S+ as user-unknown "
                        r"\(hard\) by [a-z0-9.-]+/\S+ \[", log) is not None,
              "the library's debug line names the rule id and place")
        check("using the mail plugin's classification" in log,
              "the Sieve extension reused the mail plugin's result")
        check("classifying the message in the Sieve extension" not in log,
              "the Sieve extension did not classify on its own")

        im = env.imap()
        try:
            typ, _ = im.select("Bounces")
            check(typ == "OK", "Sieve filed the bounce into Bounces")
            typ, data = im.fetch("1:*", "(FLAGS)")
            flags = data[0].decode()
            check("$Bounce" in flags and "$Bounce_user_unknown" in flags,
                  "the filed copy has the keywords: %s" % flags)
            typ, data = im.select("INBOX")
            check(int(data[0]) == 0, "nothing kept in INBOX")
        finally:
            im.logout()

        deadline = time.time() + 10
        while metric_total(env) < 1 and time.time() < deadline:
            time.sleep(0.2)
        time.sleep(0.5)
        check(metric_total(env) == 1,
              "bounceinfo_classified counted once: %d" % metric_total(env))

        # a second delivery in a new LMTP session: again exactly once more
        env.lmtp_deliver(bounce)
        classified = classified_lines(env, 2)
        check(len(classified) == 2, "second delivery: one more (%s)"
              % classified)
    finally:
        env.stop()

    # A fresh LMTP process per connection: its first delivery's raw mail
    # belongs to a user created before the mail plugin was loaded (no
    # module context); the classification must still be shared.
    env = DovecotEnv(sieve=True, debug=True, user_sieve=SCRIPT,
                     extra_conf=METRIC + "service lmtp {\n"
                     "  service_count = 1\n}\n",
                     plugin_settings={"bounceinfo_keywords": "yes"})
    env.start()
    try:
        for n in (1, 2):
            env.lmtp_deliver(bounce)
            classified = classified_lines(env, n)
            check(len(classified) == n,
                  "fresh LMTP process, delivery %d: one classification "
                  "each (%d in all)" % (n, len(classified)))
        pids = set(re.findall(r"lmtp\(testuser\)<(\d+)>", env.log_text()))
        check(len(pids) == 2, "the deliveries ran in 2 processes: %s"
              % sorted(pids))
        im = env.imap()
        try:
            typ, data = im.select("Bounces")
            check(typ == "OK" and int(data[0]) == 2,
                  "both bounces filed into Bounces")
            typ, data = im.fetch("1:*", "(FLAGS)")
            check(all(b"$Bounce_user_unknown" in d for d in data),
                  "both carry the keywords: %s" % data)
        finally:
            im.logout()
    finally:
        env.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
