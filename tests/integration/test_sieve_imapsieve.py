#!/usr/bin/env python3
"""The bounceinfo Sieve extension under IMAPSieve: a script bound to a
mailbox runs when a message is APPENDed or COPYed into it over IMAP (no
delivery involved) and tags bounces with IMAP keywords named after their
class and severity.  Ordinary mail gets no keyword.
"""

import os
import re
import shutil
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from dovecot_env import (DovecotEnv, DovecotEnvUnavailable,  # noqa: E402
                         ensure_user)
from bounceinfo_testlib import SKIP, Checker, srcdir_builddir  # noqa: E402

check = Checker()


SCRIPT = """require ["bounceinfo", "variables", "imap4flags"];
if bounceinfo :matches :class "*" {
	addflag "bi-${1}";
}
if bounceinfo :severity "hard" {
	addflag "bi-hard";
}
"""


def flags_of(imap, mailbox):
    imap.select('"%s"' % mailbox, readonly=True)
    typ, data = imap.fetch("1:*", "(FLAGS)")
    out = []
    for item in data or []:
        if isinstance(item, bytes):
            m = re.search(rb"FLAGS \(([^)]*)\)", item)
            out.append(m.group(1).decode().split() if m else [])
    return out


def main():
    src, build = srcdir_builddir()
    own = os.path.join(src, "tests", "sieve", "messages")
    if os.geteuid() != 0:
        print("SKIP: needs root (Dovecot's mail uid switching)")
        return SKIP
    try:
        pw = ensure_user()
    except DovecotEnvUnavailable as e:
        print("SKIP: %s" % e)
        return SKIP
    # the script in a directory of its own the mail user can write (the
    # compiled binary is saved next to it)
    sdir = tempfile.mkdtemp(prefix="bounceinfo-imapsieve-")
    script = os.path.join(sdir, "imapsieve.sieve")
    with open(script, "w") as f:
        f.write(SCRIPT)
    for path in (sdir, script):
        os.chown(path, pw.pw_uid, pw.pw_gid)
    os.chmod(sdir, 0o755)
    env = DovecotEnv(build, src, mail_plugins=True, sieve=True,
                     plugin_settings={
                         "sieve_plugins": "sieve_imapsieve sieve_bounceinfo",
                         "imapsieve_mailbox1_name": "Review",
                         "imapsieve_mailbox1_causes": "APPEND COPY",
                         "imapsieve_mailbox1_before": "file:" + script,
                     },
                     extra_conf="protocol imap {\n"
                                "  mail_plugins = $mail_plugins imap_sieve\n"
                                "}\n")
    try:
        env.start()
        imap = env.imap()
        imap.create("Review")
        for name in ("multi-recipient-dsn.eml", "ordinary.eml"):
            with open(os.path.join(own, name), "rb") as f:
                typ, data = imap.append("Review", None, None, f.read())
            check(typ == "OK", "APPEND %s to Review" % name, repr(data))
        flags = flags_of(imap, "Review")
        imap.logout()
        log = env.log_tail(30)
    except DovecotEnvUnavailable as e:
        print("SKIP: %s" % e)
        return SKIP
    finally:
        env.stop()
        shutil.rmtree(sdir, ignore_errors=True)

    check(len(flags) == 2, "two messages in Review", repr(flags))
    if len(flags) == 2:
        check("bi-quota" in flags[0] and "bi-hard" in flags[0],
              "IMAPSieve: the bounce got keywords bi-quota and bi-hard",
              "%r\n%s" % (flags, log))
        check(not [f for f in flags[1] if f.startswith("bi-")],
              "IMAPSieve: ordinary mail got no bi- keyword",
              "%r\n%s" % (flags, log))
    return check.finish()


if __name__ == "__main__":
    sys.exit(main())
