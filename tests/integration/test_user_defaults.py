#!/usr/bin/env python3
"""Defaults that yield, in real LMTP delivery: the shipped default script
(sieve-scripts/bounceinfo-default.sieve) as sieve_after, the shipped
bounceinfo_headers and lda_mailbox_autosubscribe, and one user per kind of
personal script.  Every message is delivered to all users in one LMTP
transaction (so the copies for further recipients are exercised too).

For each user the test asserts where each of three messages (a quota
bounce, a user-unknown bounce, ordinary mail) landed, that each is stored
exactly once (or, for the user who discards bounces, not at all; the user
who asks for a copy gets exactly the copy and the sorted original), and that
the folders the default script created are subscribed (IMAP LSUB).
Execution order (doc/for-sysadmins.md): the user's script first; the
default only for mail it left to the implicit keep, and not for mail it
kept with an explicit keep (bounceinfo_kept).  The README's Sieve
cookbook scripts are two of the users: they must do what it says.
Exit 0 pass, 1 fail, 77 skip."""

import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bounceinfo_testlib import (Checker, add_user, imap_locate,  # noqa: E402
                                log_errors,
                                imap_login, imap_subscribed, srcdir,
                                start_env)

PASSWORD = "defaults-test-password"
ID = "X-Test-Id"

QUOTA = "Bounces/Mailbox full"
UNKNOWN = "Bounces/Unknown recipient"

# name: (personal script or None, userdb extra fields, where each message
# lands: {message: [folders]})
USERS = {
    # no personal script: the defaults sort the bounces
    "noscript": (None, "", {"quota": [QUOTA], "unknown": [UNKNOWN],
                            "ordinary": ["INBOX"]}),
    # a quota rule of the user's own wins; other bounces: the default
    "quotarule": ('require ["bounceinfo", "fileinto", "mailbox"];\n'
                  'if bounceinfo :class "quota" {\n'
                  '  fileinto :create "My quota";\n}\n', "",
                  {"quota": ["My quota"], "unknown": [UNKNOWN],
                   "ordinary": ["INBOX"]}),
    # the same rule as Roundcube's form writes it (trusted header)
    "formrule": ('require ["fileinto"];\n'
                 '# rule:[quota]\n'
                 'if header :is "x-bounce-class" "quota"\n{\n'
                 '\tfileinto "Quota";\n}\n', "",
                 {"quota": ["Quota"], "unknown": [UNKNOWN],
                  "ordinary": ["INBOX"]}),
    # files everything elsewhere: the defaults never see anything
    "elsewhere": ('require ["fileinto", "mailbox"];\n'
                  'fileinto :create "Everything";\n', "",
                  {"quota": ["Everything"], "unknown": ["Everything"],
                   "ordinary": ["Everything"]}),
    # discards bounces: gone, not resurrected by the defaults
    "discarder": ('require ["bounceinfo"];\n'
                  'if bounceinfo :kind ["dsn", "ndr"] { discard; }\n', "",
                  {"quota": [], "unknown": [], "ordinary": ["INBOX"]}),
    # stop alone leaves the implicit keep: the defaults still sort
    "stopper": ('if header :contains "subject" "failure" { stop; }\n', "",
                {"quota": [QUOTA], "unknown": [UNKNOWN],
                 "ordinary": ["INBOX"]}),
    # keep; stop ("leave my bounces in INBOX"): Pigeonhole runs the
    # defaults after an explicit keep as after the implicit one, and the
    # default script's bounceinfo_kept test makes them yield: INBOX, once
    "keeper": ('if header :contains "subject" "failure" { keep; stop; }\n',
               "", {"quota": ["INBOX"], "unknown": ["INBOX"],
                    "ordinary": ["INBOX"]}),
    # keep for one class only, without stop: that class stays in INBOX,
    # the other bounce is still sorted by the defaults
    "quotakeeper": ('require ["bounceinfo"];\n'
                    'if bounceinfo :class "quota" { keep; }\n', "",
                    {"quota": ["INBOX"], "unknown": [UNKNOWN],
                     "ordinary": ["INBOX"]}),
    # keep with flags (imap4flags) is a keep as well
    "flagkeeper": ('require ["imap4flags"];\n'
                   'if header :contains "subject" "failure" '
                   '{ keep :flags "\\\\Flagged"; }\n', "",
                   {"quota": ["INBOX"], "unknown": ["INBOX"],
                    "ordinary": ["INBOX"]}),
    # a copy is not a keep: the user's copy plus the sorted original
    "copier": ('require ["bounceinfo", "fileinto", "copy", "mailbox"];\n'
               'if bounceinfo :class "quota" '
               '{ fileinto :copy :create "Copies"; }\n', "",
               {"quota": ["Copies", QUOTA], "unknown": [UNKNOWN],
                "ordinary": ["INBOX"]}),
    # the documented opt-out as Roundcube's form writes it
    # ("X-Bounce-Class exists -> Move message to Inbox"): once, in INBOX
    "optout": ('require ["fileinto"];\n'
               '# rule:[keep bounces in Inbox]\n'
               'if exists "x-bounce-class"\n{\n\tfileinto "INBOX";\n}\n',
               "", {"quota": ["INBOX"], "unknown": ["INBOX"],
                    "ordinary": ["INBOX"]}),
    # the same opt-out with Roundcube's "Keep message in Inbox" (README)
    "optoutkeep": ('# rule:[keep bounces in Inbox]\n'
                   'if exists "x-bounce-class"\n{\n\tkeep;\n}\n',
                   "", {"quota": ["INBOX"], "unknown": ["INBOX"],
                        "ordinary": ["INBOX"]}),
    # the administrator's opt-out for one user: empty sieve_after
    "adminoff": (None, "userdb_sieve_after=",
                 {"quota": ["INBOX"], "unknown": ["INBOX"],
                  "ordinary": ["INBOX"]}),
}

def readme_cookbook():
    """The Sieve blocks of the README's cookbook, in order: what a user
    copies must do what the README says."""
    with open(os.path.join(srcdir(), "README.md")) as f:
        text = f.read()
    section = text.split("## Sieve cookbook", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```sieve\n(.*?)```", section, re.S)


COOKBOOK = readme_cookbook()
# the README's cookbook scripts as personal scripts
USERS["cookbook"] = (COOKBOOK[0], "", {"quota": [QUOTA], "unknown":
                                       ["Bounces/Hard"],
                                       "ordinary": ["INBOX"]})
USERS["cookbookform"] = (COOKBOOK[1], "", {"quota": ["Bounces/Full"],
                                           "unknown": [UNKNOWN],
                                           "ordinary": ["INBOX"]})

MESSAGES = [("quota", "en-qmail-user-over-quota.eml", ""),
            ("unknown", "pl-qmail-no-such-user.eml", ""),
            ("ordinary", "en-ordinary-mail-about-bounces.eml",
             "it-support@company.example.com")]


def with_id(raw, ident):
    return ("%s: %s\r\n" % (ID, ident)).encode() + raw


def locations(env, user):
    """({test id: [folders holding it]}, set of subscribed folders,
    {test id: [number of X-Bounce-Class lines of each copy]})"""
    where = imap_locate(env, user, PASSWORD, ID)
    return ({k: [f for f, _, _ in v] for k, v in where.items()},
            imap_subscribed(env, user, PASSWORD),
            {k: [len(re.findall(rb"(?im)^x-bounce-class:", h))
                 for _, _, h in v] for k, v in where.items()})


def main():
    check = Checker()
    default = os.path.join(srcdir(), "sieve-scripts",
                           "bounceinfo-default.sieve")
    env = start_env(sieve=True, sieve_after=default,
                    plugin_settings={"bounceinfo_headers": "yes",
                                     "bounceinfo_keywords": "yes"},
                    extra_conf="lda_mailbox_autosubscribe = yes\n")
    if env is None:
        return 77
    try:
        for user, (script, extra, _) in USERS.items():
            add_user(env, user, PASSWORD, extra, script)
        # Roundcube's form offers existing folders only
        for user, box in (("formrule", "Quota"),
                          ("cookbookform", "Bounces/Full")):
            im = imap_login(env, user, PASSWORD)
            im.create(box)
            im.subscribe(box)  # as Roundcube does for folders it creates
            im.logout()
        for ident, name, sender in MESSAGES:
            with open(os.path.join(srcdir(), "tests", "samples", name),
                      "rb") as f:
                raw = f.read()
            env.lmtp_deliver(with_id(raw, ident), rcpt=list(USERS),
                             mail_from=sender)

        for user, (_, _, want) in USERS.items():
            where, subscribed, classes = locations(env, user)
            check(all(n and set(n) == {1}
                      for k, n in classes.items() if k != "ordinary")
                  and classes.get("ordinary") == [0],
                  "%s: each stored bounce has one X-Bounce-Class, ordinary "
                  "mail none (keep, fileinto, :create alike)" % user,
                  repr(classes))
            for ident, folders in want.items():
                got = sorted(where.get(ident, []))
                check(got == sorted(folders),
                      "%s: %s message in %s" % (user, ident,
                                                folders or "no folder"),
                      "got %r" % got)
            created = {f for fs in where.values() for f in fs
                       if f.startswith("Bounces/")}
            check(created <= subscribed,
                  "%s: folders created by the default script are "
                  "subscribed (LSUB)" % user,
                  "created %r, subscribed %r" % (created, subscribed))
        where, subscribed, _ = locations(env, "noscript")
        check(QUOTA in subscribed and UNKNOWN in subscribed,
              "LSUB lists Bounces/Mailbox full and Bounces/Unknown "
              "recipient", repr(subscribed))
        errors = log_errors(env)
        check(not errors, "no error in the log", errors[:3000])
    finally:
        env.stop()
    return check.finish()


if __name__ == "__main__":
    sys.exit(main())
