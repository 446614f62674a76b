#!/usr/bin/env python3
"""conf.d/90-bounceinfo.conf is valid Dovecot configuration: included from a
minimal dovecot.conf, `doveconf -n -c` accepts it and shows its settings; a
damaged copy is rejected (so this test can fail); every bounceinfo_* name in
it (also in comments) is a known setting.  Needs no root and no running
Dovecot.  Exit 0 pass, 1 fail, 77 skip (doveconf not installed)."""

import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bounceinfo_testlib import check, srcdir  # noqa: E402
from dovecot_env import is_dovecot24  # noqa: E402

SRCDIR = srcdir()
SNIPPET = os.path.join(SRCDIR, "conf.d", "90-bounceinfo.conf")
# the Dovecot 2.4 syntax (installed instead of the above on 2.4)
SNIPPET24 = os.path.join(SRCDIR, "conf.d", "2.4", "90-bounceinfo.conf")
DOVECONF = "/usr/bin/doveconf"

# plugin { } settings of the mail plugin and the Sieve extension (bounceinfo(7))
KNOWN_SETTINGS = {
    "bounceinfo_rules", "bounceinfo_language", "bounceinfo_keywords",
    "bounceinfo_verify", "bounceinfo_datadir", "bounceinfo_max_scan_bytes",
    "bounceinfo_max_recipients", "bounceinfo_headers",
}

MINIMAL24 = """\
dovecot_config_version = 2.4.1
dovecot_storage_version = 2.4.1
protocols = imap lmtp
ssl = no
base_dir = {tmp}/run
state_dir = {tmp}/state
mail_driver = maildir
mail_path = ~/Maildir
# doveconf loads every sieve_plugins entry: the build tree's
sieve_plugin_dir = {sieve_plugin_dir}
passdb static {{
  password = x
}}
userdb static {{
  fields {{
    uid = nobody
    gid = nogroup
    home = {tmp}/home
  }}
}}
!include {snippet}
"""

MINIMAL = """\
protocols = imap lmtp
ssl = no
base_dir = {tmp}/run
state_dir = {tmp}/state
mail_location = maildir:~/Maildir
passdb {{
  driver = static
  args = password=x
}}
userdb {{
  driver = static
  args = uid=nobody gid=nogroup home={tmp}/home
}}
!include {snippet}
"""


def doveconf(tmp, snippet, *args):
    conf = os.path.join(tmp, "dovecot.conf")
    with open(conf, "w") as f:
        f.write((MINIMAL24 if is_dovecot24() else MINIMAL).format(
            tmp=tmp, snippet=snippet, sieve_plugin_dir=os.path.join(
                os.environ.get("BOUNCEINFO_BUILDDIR", "."), "src", "plugins",
                "sieve-bounceinfo", ".libs")))
    return subprocess.run([DOVECONF, "-c", conf] + list(args),
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True)


def read_snippet(path):
    check(os.path.exists(path), "snippet exists: %s" % path)
    return open(path).read()


def accepted(tmp, snippet):
    """doveconf -n output of the minimal configuration with snippet"""
    proc = doveconf(tmp, snippet, "-n")
    check(proc.returncode == 0, "doveconf -n accepts the snippet%s"
          % ("" if proc.returncode == 0 else ": " + proc.stderr))
    return proc.stdout


def main24():
    """Dovecot 2.4: conf.d/2.4/90-bounceinfo.conf. doveconf knows the
    bounceinfo_* settings from the installed settings module and rejects a
    wrong value itself."""
    text = read_snippet(SNIPPET24)
    tmp = tempfile.mkdtemp(prefix="bounceinfo-conf-")
    try:
        out = accepted(tmp, SNIPPET24)
        for proto, want in (("lmtp", ("bounceinfo", "sieve")),
                            ("lda", ("bounceinfo", "sieve")),
                            ("imap", ("bounceinfo",))):
            proc = doveconf(tmp, SNIPPET24, "-f", "protocol=" + proto, "-h",
                            "mail_plugins")
            got = proc.stdout.split()
            check(proc.returncode == 0 and all(w in got for w in want),
                  "protocol %s: mail_plugins = %s" % (proto, " ".join(got)))
        proc = doveconf(tmp, SNIPPET24, "-h", "sieve_plugins")
        check(proc.returncode == 0 and "sieve_bounceinfo" in proc.stdout,
              "doveconf -h sieve_plugins: %s" % proc.stdout.strip())
        check(re.search(r"^sieve_script bounceinfo_default \{\n(.*\n)*?"
                        r"\s+type = before", out, re.M)
              and "bounceinfo-default.sieve" in out,
              "sieve_script of type before is the default script")
        proc = doveconf(tmp, SNIPPET24, "-h", "bounceinfo_keywords")
        check(proc.stdout.strip() == "yes", "bounceinfo_keywords = yes")
        proc = doveconf(tmp, SNIPPET24, "-h", "bounceinfo_max_scan_bytes")
        check(proc.returncode == 0 and proc.stdout.strip() == "256 k",
              "default bounceinfo_max_scan_bytes shown by doveconf: %r"
              % proc.stdout.strip())
        check(re.search(r"^metric bounceinfo_classified \{", out, re.M)
              and "filter = event=bounceinfo_classified" in out,
              "metric block for the bounceinfo_classified event")

        names = set(re.findall(r"\bbounceinfo_[a-z_]+(?=\s*=)", text))
        unknown = names - KNOWN_SETTINGS
        check(not unknown, "only known settings named (%s)"
              % ", ".join(sorted(names)))

        # typos in names and values are doveconf's own errors
        for old, new, what in (
                ("bounceinfo_keywords = yes", "bounceinfo_keyword = yes",
                 "unknown setting"),
                ("bounceinfo_keywords = yes", "bounceinfo_keywords = maybe",
                 "bad boolean"),
                ("#bounceinfo_max_scan_bytes = 256k",
                 "bounceinfo_max_scan_bytes = lots", "bad size"),
                ("#bounceinfo_datadir = /usr", "bounceinfo_datadir = usr",
                 "relative datadir"),
                ("bounceinfo_language = en", "bounceinfo_language = e/n",
                 "bad language tag")):
            broken = os.path.join(tmp, "broken.conf")
            check(old in text, "snippet has %r" % old)
            with open(broken, "w") as f:
                f.write(text.replace(old, new))
            proc = doveconf(tmp, broken, "-n")
            check(proc.returncode != 0 and new.split()[0] in proc.stderr,
                  "doveconf rejects %s (%s): %s" % (
                      what, new, proc.stderr.strip().splitlines()[-1:]))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


def main():
    if not os.access(DOVECONF, os.X_OK):
        print("SKIP: %s not installed" % DOVECONF)
        return 77
    if is_dovecot24():
        if os.geteuid() != 0:
            # the settings module comes in through a private mount
            # namespace (dovecot_env.py)
            print("SKIP: on Dovecot 2.4 this test needs root")
            return 77
        return main24()
    text = read_snippet(SNIPPET)
    tmp = tempfile.mkdtemp(prefix="bounceinfo-conf-")
    try:
        out = accepted(tmp, SNIPPET)
        check(re.search(r"^mail_plugins = .*\bbounceinfo\b", out, re.M),
              "global mail_plugins has bounceinfo")
        lmtp = re.search(r"^protocol lmtp \{\n(.*?)^\}", out, re.M | re.S)
        check(lmtp and re.search(r"mail_plugins = .*\bbounceinfo\b.*\bsieve\b",
                                 lmtp.group(1)),
              "protocol lmtp loads bounceinfo and sieve")
        check(re.search(r"^\s+sieve_plugins = .*\bsieve_bounceinfo\b", out,
                        re.M), "sieve_plugins has sieve_bounceinfo")
        check(re.search(r"^\s+sieve_after = .*bounceinfo-default\.sieve",
                        out, re.M), "sieve_after is the default script "
              "(it yields to the user's own)")
        check(not re.search(r"^\s+sieve_before = ", out, re.M),
              "no sieve_before: nothing runs ahead of the user's script")
        check(re.search(r"^\s+bounceinfo_headers = yes", out, re.M),
              "bounceinfo_headers = yes")
        check(re.search(r"^lda_mailbox_autosubscribe = yes", out, re.M),
              "lda_mailbox_autosubscribe = yes (created folders subscribed)")
        check(re.search(r"^\s+bounceinfo_keywords = yes", out, re.M),
              "bounceinfo_keywords = yes")
        check(re.search(r"^metric bounceinfo_classified \{", out, re.M)
              and "filter = event=bounceinfo_classified" in out,
              "metric block for the bounceinfo_classified event")

        # an admin's earlier protocol blocks (20-lmtp.conf, 20-imap.conf)
        # must not hide the plugin from those protocols
        earlier = os.path.join(tmp, "earlier.conf")
        with open(earlier, "w") as f:
            f.write("protocol lmtp {\n  mail_plugins = $mail_plugins sieve\n}\n"
                    "protocol lda {\n  mail_plugins = $mail_plugins sieve\n}\n"
                    "protocol imap {\n  mail_plugins = $mail_plugins "
                    "imap_quota\n}\n!include %s\n" % SNIPPET)
        for proto, want in (("lmtp", ("bounceinfo", "sieve")),
                            ("lda", ("bounceinfo", "sieve")),
                            ("imap", ("bounceinfo", "imap_quota"))):
            proc = doveconf(tmp, earlier, "-f", "protocol=" + proto, "-h",
                            "mail_plugins")
            got = proc.stdout.split()
            check(proc.returncode == 0 and all(w in got for w in want),
                  "after an earlier protocol %s block: mail_plugins = %s"
                  % (proto, " ".join(got)))

        # single settings, as a postmaster would query them
        proc = doveconf(tmp, SNIPPET, "-h", "plugin/sieve_plugins")
        check(proc.returncode == 0 and "sieve_bounceinfo" in proc.stdout,
              "doveconf -h plugin/sieve_plugins")

        # README's metrics instructions: uncommenting the listener block
        # at the end of the snippet gives the URL the README curls
        block = re.search(r"^#service stats \{\n(?:#.*\n)*?#\}\n", text, re.M)
        check(block is not None, "the snippet has a commented stats "
              "listener block")
        enabled = os.path.join(tmp, "enabled.conf")
        with open(enabled, "w") as f:
            f.write(text.replace(block.group(0), re.sub(
                r"^#", "", block.group(0), flags=re.M)))
        proc = doveconf(tmp, enabled, "-n")
        listener = re.search(r"inet_listener http \{\n(.*?)\}", proc.stdout,
                             re.S)
        check(proc.returncode == 0 and listener and
              re.search(r"address = 127\.0\.0\.1", listener.group(1)) and
              re.search(r"port = 9900", listener.group(1)),
              "uncommented, it is valid and listens on 127.0.0.1:9900")
        readme = open(os.path.join(SRCDIR, "README.md")).read()
        check("curl http://127.0.0.1:9900/metrics" in readme and
              "uncomment" in readme, "README says to uncomment it and "
              "curls that address")

        names = set(re.findall(r"\bbounceinfo_[a-z_]+(?=\s*=)", text))
        unknown = names - KNOWN_SETTINGS
        check(not unknown, "only known settings named (%s)"
              % ", ".join(sorted(names)))

        # a damaged copy must be rejected: the test can fail
        broken = os.path.join(tmp, "broken.conf")
        with open(broken, "w") as f:
            f.write(text.replace("group_by =", "group_by_typo ="))
        proc = doveconf(tmp, broken, "-n")
        check(proc.returncode != 0, "a damaged copy is rejected: %s"
              % proc.stderr.strip().splitlines()[-1:])
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
