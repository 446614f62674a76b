#!/usr/bin/env python3
"""ManageSieve with a real client (python3-sievelib) against a throwaway
Dovecot whose managesieve service loads the Sieve bounceinfo plugin:

- the server announces the "bounceinfo" extension in SIEVE capabilities;
- PUTSCRIPT and CHECKSCRIPT accept a script using the test and the
  bounceinfo.* variables;
- a misspelt class is refused at upload (PUTSCRIPT and CHECKSCRIPT) with a
  message that names the valid classes, and so is an unknown variable;
- the uploaded script, made active, files a bounce on real LMTP delivery.
"""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from bounceinfo_testlib import (SKIP, Checker, srcdir_builddir,  # noqa: E402
                               start_env)


try:
    from sievelib.managesieve import Client
except ImportError:
    # Debian's python3-sievelib when another python3 comes first in PATH
    sys.path.append("/usr/lib/python3/dist-packages")
    try:
        from sievelib.managesieve import Client
    except ImportError:
        print("SKIP: python3-sievelib is not installed")
        sys.exit(SKIP)

check = Checker()


GOOD = """require ["bounceinfo", "variables", "fileinto", "mailbox"];
if bounceinfo :is :class ["quota", "user-unknown"] {
	fileinto :create "Bounces/${bounceinfo.class}";
} elsif bounceinfo :severity "hard" {
	fileinto :create "Bounces/hard";
}
"""

MISSPELT = """require ["bounceinfo", "fileinto"];
if bounceinfo :class "qouta" {
	fileinto "Bounces/full";
}
"""

UNKNOWN_VARIABLE = """require ["bounceinfo", "variables", "fileinto"];
fileinto "Bounces/${bounceinfo.clas}";
"""


def text(v):
    if isinstance(v, bytes):
        return v.decode("utf-8", "replace")
    return str(v or "")


def main():
    src, build = srcdir_builddir()
    env = start_env(build, src, mail_plugins=False, sieve=True)
    if env is None:
        return SKIP
    try:
        c = Client("127.0.0.1", env.managesieve_port)
        check(c.connect(env.user, env.password, starttls=False,
                        authmech="PLAIN"), "ManageSieve login")
        caps = c.get_sieve_capabilities() or []
        caps = [text(x) for x in caps]
        check("bounceinfo" in caps, "SIEVE capability lists bounceinfo",
              repr(caps))

        check(c.checkscript(GOOD), "CHECKSCRIPT accepts a bounceinfo script",
              text(getattr(c, "errmsg", "")))
        check(c.putscript("bounces", GOOD),
              "PUTSCRIPT accepts a bounceinfo script", text(getattr(c, "errmsg", "")))

        ok = c.putscript("typo", MISSPELT)
        msg = text(getattr(c, "errmsg", ""))
        check(not ok, "PUTSCRIPT refuses a misspelt class", msg)
        valid = msg.partition("valid values are:")[2]
        check('"qouta" is not a valid class' in msg and
              all(x in valid for x in ("quota", "user-unknown",
                                       "host-unknown", "rate-limit")),
              "the refusal names the misspelling and the valid classes", msg)
        active, others = c.listscripts() or (None, [])
        names = [text(n) for n in others] + [text(active)]
        check("typo" not in names, "the refused script was not stored",
              repr(names))

        ok = c.checkscript(MISSPELT)
        msg = text(getattr(c, "errmsg", ""))
        check(not ok and "quota" in msg and "user-unknown" in msg,
              "CHECKSCRIPT refuses it too, naming the valid classes", msg)

        ok = c.putscript("typo2", UNKNOWN_VARIABLE)
        msg = text(getattr(c, "errmsg", ""))
        check(not ok and "unknown variable `bounceinfo.clas'" in msg
              and "remote_mta" in msg,
              "PUTSCRIPT refuses an unknown bounceinfo.* variable", msg)

        check(c.setactive("bounces"), "SETACTIVE", text(getattr(c, "errmsg", "")))
        c.logout()

        # the script uploaded over ManageSieve files a real bounce
        with open(os.path.join(src, "tests", "sieve", "messages",
                               "multi-recipient-dsn.eml"), "rb") as f:
            env.lmtp_deliver(f.read())
        imap = env.imap()
        typ, data = imap.select('"Bounces/quota"', readonly=True)
        imap.logout()
        check(typ == "OK" and int(data[0]) == 1,
              "the active uploaded script filed a bounce into Bounces/quota",
              "%s %r\n%s" % (typ, data, env.log_tail()))
    finally:
        env.stop()
    return check.finish()


if __name__ == "__main__":
    sys.exit(main())
