#!/usr/bin/env python3
"""Delivery cost of the plugins (issue 10): rules loaded once per process,
each delivered mail classified at most once.

1. Sieve extension alone (sieve_plugins = sieve_bounceinfo, no mail
   plugin): Pigeonhole makes a Sieve instance for every delivery and
   unloads its plugins after it, yet the compiled rules are kept for the
   process: several bounces delivered over one LMTP connection (one lmtp
   process) log "Loaded the rules for this process" once, a user whose
   rules settings differ gets a classifier of its own (a second line), and
   the library's debug lines carry the prefix of the delivery they belong
   to (not that of the delivery that loaded the rules).
2. Mail plugin + Sieve, with a sieve_before script and a user script that
   test bounceinfo, add headers (editheader: Sieve then works on a
   modified copy) and fileinto twice: each delivered bounce is classified
   once (the mail plugin's one "Classified message" line, the Sieve
   extension never classifies on its own but takes the mail plugin's
   result) and the bounceinfo_classified counter rises by one per
   delivery, with keywords and trusted headers on (as conf.d ships).
3. Trusted headers (bounceinfo_headers = yes) replace each delivered
   bounce by a copy opened in a raw mail user, and no raw user is made
   per delivery: bounces over one LMTP connection use LMTP's own (no
   internal user initialized during any delivery), a transaction to three
   recipients makes one for the two later recipients (who get the first
   one's saved copy) and frees it after the transaction, and every
   recipient's copy carries the headers. (Internal users are counted by
   the mail plugin's debug line for every user it is set up for.)
Exit 0 pass, 1 fail, 77 skip."""

import os
import re
import smtplib
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bounceinfo_testlib import (Checker, add_user,  # noqa: E402
                                corpus_missing, imap_login, read_corpus,
                                start_env)

BOUNCES = ["lhost-amavis-01.eml", "lhost-exim-04.eml",
           "lhost-gmail-01.eml", "lhost-courier-01.eml"]
LOADED = "bounceinfo: Loaded the rules for this process"
# An administrator's rules file whose rule the library warns about while
# loading it: one warning per rules load, with the old code as with this
# one (a load counter that does not depend on the plugin's debug line).
ADMIN_RULES = "[user-unknown]\nhard: zz-load-probe-never-matches\n"
LOAD_WARNING = r"Warning: [^\n]*hard: on a user-unknown rule only repeats"

SIEVE_ONLY_SCRIPT = """\
require ["bounceinfo", "variables", "fileinto", "mailbox"];
if bounceinfo :kind ["dsn", "ndr", "delayed"] {
  set "why" "${bounceinfo.explanation}";
  if bounceinfo :class "user-unknown" {
    fileinto :create "Bounces/user-unknown";
  }
}
"""

BEFORE_SCRIPT = """\
require ["bounceinfo", "editheader", "variables"];
if bounceinfo :kind ["dsn", "ndr"] {
  addheader "X-Before" "${bounceinfo.class}";
}
"""
USER_SCRIPT = """\
require ["bounceinfo", "editheader", "fileinto", "mailbox", "variables"];
if bounceinfo :kind ["dsn", "ndr"] {
  addheader "X-Seen" "bounce";
  if bounceinfo :severity "hard" {
    set "why" "${bounceinfo.explanation}";
    fileinto :create "Bounces";
    addheader "X-After-Fileinto" "${bounceinfo.class}";
  }
  if bounceinfo :class ["quota", "user-unknown", "blocklist"] {
    fileinto :create "Classified";
  }
}
"""
METRIC = """
metric bounceinfo_bounces {
  filter = event=bounceinfo_classified
  group_by = class
}
"""


def deliver_session(env, messages, rcpt):
    """All messages over one LMTP connection (one lmtp process), one
    transaction each, null sender as for real bounces."""
    lmtp = smtplib.LMTP("127.0.0.1", env.lmtp_port, timeout=60)
    try:
        lmtp.ehlo("localhost")
        for raw in messages:
            code, msg = lmtp.mail("<>")
            assert code == 250, (code, msg)
            code, msg = lmtp.rcpt(rcpt)
            assert code in (250, 251), (code, msg)
            code, msg = lmtp.data(raw.replace(b"\r\n", b"\n")
                                  .replace(b"\n", b"\r\n"))
            assert code == 250, (code, msg, env.log_tail())
    finally:
        lmtp.quit()


def settled_log(env, pattern, at_least, timeout=10):
    """The log once pattern matches at least at_least times (the log
    service writes asynchronously), plus a moment for stragglers."""
    deadline = time.time() + timeout
    while (len(re.findall(pattern, env.log_text())) < at_least and
           time.time() < deadline):
        time.sleep(0.1)
    time.sleep(0.5)
    return env.log_text()


def deliver_settled(env, bounces, pattern):
    """All bounces in one LMTP session to the test user; the log once
    pattern is in it once per bounce."""
    deliver_session(env, bounces, env.user)
    return settled_log(env, pattern, len(bounces))


def sieve_only(check, bounces):
    rules = os.path.join(os.environ.get("TMPDIR", "/tmp"),
                         "bounceinfo-once-%d.rules" % os.getpid())
    with open(rules, "w") as f:
        f.write(ADMIN_RULES)
    os.chmod(rules, 0o644)
    try:
        return sieve_only_rules(check, bounces, rules)
    finally:
        os.unlink(rules)


def sieve_only_rules(check, bounces, rules):
    env = start_env(mail_plugins=False, sieve=True, debug=True,
                    user_sieve=SIEVE_ONLY_SCRIPT,
                    plugin_settings={"bounceinfo_rules": rules},
                    extra_users=[{"name": "bob",
                                  "userdb": {"bounceinfo_max_recipients":
                                             "50"},
                                  "user_sieve": SIEVE_ONLY_SCRIPT}])
    if env is None:
        return 77
    try:
        n = len(bounces)
        log = deliver_settled(env, bounces, r"sieve: bounceinfo: kind=")
        pids = set(re.findall(r"lmtp\(%s\)<(\d+)>" % env.user, log))
        check(len(pids) == 1, "Sieve only: %d bounces in one lmtp process "
              "(%s)" % (n, sorted(pids)))
        loaded = re.findall(r".*%s.*" % LOADED, log)
        check(len(loaded) == 1, "Sieve only: the rules were loaded once "
              "for %d deliveries" % n, "\n".join(loaded) or log[-3000:])
        warned = re.findall(LOAD_WARNING, log)
        check(len(warned) == 1, "Sieve only: the library read the rules "
              "once for %d deliveries (%d load warnings)" % (n, len(warned)))
        own = re.findall(r"classifying the message in the Sieve extension",
                         log)
        check(len(own) == n, "Sieve only: the extension classified each of "
              "the %d bounces (%d)" % (n, len(own)))
        kinds = re.findall(r"sieve: bounceinfo: kind=(\w+)", log)
        check(len(kinds) == n and all(k in ("dsn", "ndr", "delayed")
                                      for k in kinds),
              "Sieve only: every delivery saw a bounce: %s" % kinds)
        # the library logs through the delivery it works for: one
        # session per delivery among its "classified ... as" lines
        sessions = set(re.findall(r"lmtp\(%s\)<\d+><([^>]+)>: [^\n]*"
                                  r"bounceinfo: classified " % env.user,
                                  log))
        check(len(sessions) == n, "Sieve only: the shared rules log with "
              "each delivery's own session prefix (%d sessions)"
              % len(sessions), repr(sorted(sessions)))
        check(re.search(r"lmtp\(\)[^\n]*bounceinfo: classified ", log)
              is None, "Sieve only: no library line without a user")

        # another user with other limits: a classifier of its own; the
        # first user's is still there for the next delivery
        deliver_session(env, bounces[:2], "bob")
        deliver_session(env, bounces[:1], env.user)
        log = settled_log(env, r"sieve: bounceinfo: kind=", n + 3)
        loaded = re.findall(r".*%s.*" % LOADED, log)
        per_pid = {}
        for line in loaded:
            m = re.search(r"lmtp\((\w+)\)<(\d+)>", line)
            per_pid.setdefault(m.group(2) if m else "?", []).append(
                m.group(1) if m else line)
        # (under valgrind a slow process may make the master start another
        # lmtp process: count per process)
        check(all(len(users) == len(set(users))
                  for users in per_pid.values()) and
              any("bob" in users for users in per_pid.values()) and
              sum(len(users) for users in per_pid.values()) <= 2 *
              len(per_pid),
              "Sieve only: bob's other settings load rules once more, "
              "nobody's twice in one process", repr(per_pid))
        warned = re.findall(LOAD_WARNING, log)
        check(len(warned) == len(loaded), "Sieve only: the library read "
              "the rules only for those loads (%d load warnings, %d loads, "
              "%d deliveries)" % (len(warned), len(loaded), n + 3))
        errors = [ln for ln in log.splitlines()
                  if re.search(r"\b(Error|Panic|Fatal|leaked)\b", ln)]
        check(not errors, "Sieve only: no errors in the log", "\n".join(errors))
        im = env.imap()
        try:
            typ, data = im.select("Bounces/user-unknown")
            check(typ == "OK" and int(data[0]) >= 1,
                  "Sieve only: the script filed by class")
        finally:
            im.logout()
    finally:
        env.stop()
    # the master stopped every process: a process exit frees the rules
    # without complaint
    log = env.log_text()
    check(re.search(r"leaked|Panic|Fatal", log) is None,
          "Sieve only: clean process exit",
          "\n".join(ln for ln in log.splitlines()
                    if re.search(r"leak|Panic|Fatal", ln)))
    return 0


def metric_total(env):
    return sum(int(v) for v in re.findall(
        r'^dovecot_bounceinfo_bounces_total\{[^}]*\} (\d+)$',
        env.metrics(), re.M))


def with_mail_plugin(check, bounces):
    tmp_before = os.path.join(os.environ.get("TMPDIR", "/tmp"),
                              "bounceinfo-once-before-%d.sieve" % os.getpid())
    with open(tmp_before, "w") as f:
        f.write(BEFORE_SCRIPT)
    env = start_env(sieve=True, debug=True, user_sieve=USER_SCRIPT,
                    sieve_before=tmp_before, extra_conf=METRIC,
                    sieve_extensions="+bounceinfo +editheader",
                    plugin_settings={"bounceinfo_keywords": "yes",
                                     "bounceinfo_headers": "yes"})
    os.unlink(tmp_before)
    if env is None:
        return 77
    try:
        n = len(bounces)
        log = deliver_settled(env, bounces, r"bounceinfo: Classified message")
        # bounceinfo_parse() has two callers in a delivery, each logging
        # once per call: the mail plugin ("Classified message") and the
        # Sieve extension when it has to classify on its own
        classified = re.findall(r"bounceinfo: Classified message", log)
        own = re.findall(r"classifying the message in the Sieve extension",
                         log)
        check(len(classified) == n and not own, "mail plugin + Sieve: "
              "each of the %d bounces classified once (%d by the mail "
              "plugin, %d by the Sieve extension)"
              % (n, len(classified), len(own)),
              "\n".join(re.findall(r".*bounceinfo: (?:Classified|"
                                   r"classifying).*", log)))
        shared = re.findall(r"using the mail plugin's classification", log)
        # looked up once per delivery: the Sieve message context keeps it
        # for the next script and across header edits
        check(len(shared) == n, "mail plugin + Sieve: the Sieve extension "
              "took the mail plugin's result once per delivery (%d)"
              % len(shared))
        check(not re.search(r"Failed to compile|Error:", log),
              "mail plugin + Sieve: the scripts ran without errors",
              "\n".join(ln for ln in log.splitlines()
                        if "Failed to compile" in ln or "Error:" in ln))
        check(LOADED not in log, "mail plugin + Sieve: the extension "
              "loaded no rules of its own")
        deadline = time.time() + 10
        while metric_total(env) < n and time.time() < deadline:
            time.sleep(0.2)
        time.sleep(0.5)
        check(metric_total(env) == n, "mail plugin + Sieve: "
              "bounceinfo_classified counted once per delivery (%d)"
              % metric_total(env))
        im = env.imap()
        try:
            typ, data = im.select("Bounces")
            filed = int(data[0]) if typ == "OK" else 0
            check(filed >= 1, "the script filed hard bounces (%d)" % filed)
            typ, data = im.fetch("1:*", "(FLAGS BODY.PEEK[HEADER.FIELDS "
                                 "(X-Before X-Seen)])")
            text = b" ".join(b" ".join(d) if isinstance(d, tuple) else d
                             for d in data).decode("utf-8", "replace")
            check("$Bounce" in text and "X-Seen: bounce" in text and
                  "X-Before:" in text,
                  "the filed copies carry keywords and the added headers",
                  text[:600])
            typ, data = im.fetch("1:*", "(BODY.PEEK[HEADER.FIELDS "
                                 "(X-Bounce-Class)])")
            got = [d[1] for d in data if isinstance(d, tuple)]
            check(len(got) == filed and
                  all(b"X-Bounce-Class: " in h for h in got),
                  "and the trusted X-Bounce-Class header (shipped "
                  "bounceinfo_headers = yes), from the same classification",
                  repr(got))
        finally:
            im.logout()
    finally:
        env.stop()
    return 0


# the mail plugin's debug lines on internal users (raw mail users) made
# while a user is being delivered to, and those of the trusted headers'
# own raw user (bounceinfo-headers.c)
# (only those logged with a recipient's prefix, "lmtp(user)<pid>...":
# LMTP's own raw user of each connection is made between deliveries,
# "lmtp(pid)", and Dovecot 2.4 logs that one too)
INTERNAL_INIT = (r"lmtp\((?!\d+\))[^)]*\)<.*bounceinfo: Internal user "
                 r"raw[ -]mail[ -]user initialized")
HEADERS_RAW_CREATED = r"bounceinfo: Creating a raw user for the"
HEADERS_RAW_FREED = r"bounceinfo: Freeing the raw user of the copies"


def raw_user_reuse(check, bounces):
    env = start_env(sieve=True, debug=True,
                    plugin_settings={"bounceinfo_headers": "yes"})
    if env is None:
        return 77
    try:
        for name in ("second", "third"):
            add_user(env, name, env.password)
        n = len(bounces)
        log = deliver_settled(env, bounces, r"bounceinfo: Classified message")
        made = re.findall(INTERNAL_INIT, log)
        check(not made and not re.search(HEADERS_RAW_CREATED, log),
              "trusted headers: %d bounces over one LMTP connection made "
              "no raw user during their deliveries (%d)" % (n, len(made)))
        before = len(env.log_text())
        env.lmtp_deliver(bounces[0], rcpt=[env.user, "second", "third"])
        log = settled_log(env, HEADERS_RAW_FREED, 1)[before:]
        created = re.findall(HEADERS_RAW_CREATED, log)
        freed = re.findall(HEADERS_RAW_FREED, log)
        made = re.findall(INTERNAL_INIT, log)
        check(len(created) == 1 and len(made) == 1,
              "trusted headers: one transaction to three recipients made "
              "one raw user, for the later two (%d, %d internal users)"
              % (len(created), len(made)),
              "\n".join(re.findall(r".*bounceinfo: (?:Creating|Internal)"
                                   r".*", log)))
        check(len(freed) == len(created),
              "trusted headers: and freed it after the transaction "
              "(%d freed)" % len(freed))
        got = []
        for user in (env.user, "second", "third"):
            im = imap_login(env, user, env.password)
            try:
                im.select("INBOX", readonly=True)
                typ, data = im.fetch("*", "(BODY.PEEK[HEADER.FIELDS "
                                     "(X-Bounce-Class)])")
                got += [d[1] for d in data if isinstance(d, tuple)]
            finally:
                im.logout()
        check(len(got) == 3 and
              all(h.count(b"X-Bounce-Class: ") == 1 for h in got),
              "trusted headers: each of the three recipients' copies "
              "carries X-Bounce-Class once", repr(got))
        check(not re.search(r"Error:|Panic:|Fatal:", env.log_text()),
              "trusted headers: no errors logged")
    finally:
        env.stop()
    return 0


def main():
    if corpus_missing():
        return 1
    bounces = [read_corpus(name) for name in BOUNCES]
    check = Checker()
    for part in (sieve_only, with_mail_plugin, raw_user_reuse):

        if part(check, bounces) == 77:
            return 77
    return check.finish()


if __name__ == "__main__":
    sys.exit(main())
