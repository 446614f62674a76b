#!/usr/bin/env python3
"""The Debian package is a complete deployment.

Opt-in (it installs a package system-wide): runs only with
BOUNCEINFO_TEST_PACKAGE=1 (set by .ci/run on a throwaway CI machine, as
root); otherwise exits 77 (SKIP).  It
  1. copies the source tree and builds the package there with
     `dpkg-buildpackage -us -uc -b` (DEB_BUILD_OPTIONS=nocheck: the suite
     that runs this test already ran the checks);
  2. installs it with `apt-get install ./dovecot-bounceinfo_*.deb`;
  3. checks the installed files, the precompiled default Sieve script and
     the CLI;
  4. starts a private Dovecot whose configuration is only the base test
     setup plus `!include` of the installed conf.d snippet (nothing from
     the build tree: system module directories, installed data), delivers
     one bounce and one ordinary mail over LMTP and checks where they
     landed, their keywords, `doveadm bounceinfo list` (the installed
     doveadm plugin) and that Pigeonhole logged no error;
  5. copies the snippet into the machine's own /etc/dovecot/conf.d (Debian's
     default configuration: passwd userdb, mbox), delivers the same two
     mails to a temporary system user with dovecot-lda run as that user
     (as an MTA's local delivery does; "-d user" needs a running Dovecot's
     auth service and CI keeps system services stopped), checks the mbox
     files, then removes snippet, user and mail;
  6. purges the package again unless it was installed before.
Exit 0 pass, 1 fail, 77 skip."""

import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.dont_write_bytecode = True
# the installed package's own settings module, not the build tree's
# (dovecot_env.py, Dovecot 2.4)
os.environ["BOUNCEINFO_SYSTEM_SETTINGS"] = "1"
from dovecot_env import (DovecotEnv, DovecotEnvUnavailable,  # noqa: E402
                         is_dovecot24)
from bounceinfo_testlib import check, srcdir  # noqa: E402

SRCDIR = srcdir()
PKG = "dovecot-bounceinfo"
SNIPPET = "/usr/share/dovecot-bounceinfo/conf.d/90-bounceinfo.conf"
INSTALLED = [
    "/usr/lib/dovecot/modules/lib20_bounceinfo_plugin.so",
    "/usr/lib/dovecot/modules/sieve/lib90_sieve_bounceinfo_plugin.so",
    "/usr/lib/dovecot/modules/doveadm/lib20_doveadm_bounceinfo_plugin.so",
    "/usr/bin/bounceinfo",
    "/usr/share/dovecot-bounceinfo/rules/status.map",
    "/usr/share/dovecot-bounceinfo/explanations/en.txt",
    "/usr/share/dovecot-bounceinfo/rules/signs/en.signs",
    "/usr/share/dovecot-bounceinfo/sieve/bounceinfo-default.sieve",
    SNIPPET,
]
if is_dovecot24():
    # the settings module that makes doveconf know bounceinfo_*
    INSTALLED.append(
        "/usr/lib/dovecot/modules/settings/libbounceinfo_settings.so")
SVBIN = "/var/lib/dovecot-bounceinfo/sieve/bounceinfo-default.svbin"
BOUNCE = os.path.join(SRCDIR, "samples", "sisimai", "lhost-exim-61.eml")
ORDINARY = os.path.join(SRCDIR, "samples", "ordinary", "meeting.eml")


def run(cmd, **kw):
    print("+ " + " ".join(cmd))
    sys.stdout.flush()
    return subprocess.run(cmd, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, **kw)


def copy_tree(dst):
    """The source files only: git's view when there is a repository (a
    developer tree full of build output), else the whole (dist) tree."""
    if os.path.isdir(os.path.join(SRCDIR, ".git")):
        files = subprocess.run(
            ["git", "-C", SRCDIR, "ls-files", "-co", "--exclude-standard",
             "-z"], stdout=subprocess.PIPE, check=True).stdout.split(b"\0")
        for f in files:
            if not f:
                continue
            f = f.decode()
            src = os.path.join(SRCDIR, f)
            if not os.path.lexists(src):
                continue  # deleted in the working tree
            os.makedirs(os.path.dirname(os.path.join(dst, f)), exist_ok=True)
            shutil.copy2(src, os.path.join(dst, f), follow_symlinks=False)
    else:
        shutil.copytree(SRCDIR, dst, dirs_exist_ok=True, symlinks=True,
                        ignore=shutil.ignore_patterns(
                            "_build", "__pycache__", "*.o", "*.lo", ".libs",
                            "autom4te.cache"))


def installed_version():
    proc = subprocess.run(["dpkg-query", "-W", "-f", "${Status}", PKG],
                          stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                          text=True)
    return "ok installed" in proc.stdout


SYS_USER = "bounceinfo-pkgtest"
SYS_SNIPPET = "/etc/dovecot/conf.d/90-bounceinfo.conf"


def system_config_delivery():
    """Deliver through the machine's own /etc/dovecot configuration (Debian's
    default: passwd userdb, mbox in ~/mail and /var/mail) with the snippet
    copied into conf.d exactly as the README tells a postmaster, using
    dovecot-lda (no daemon has to run: CI keeps services stopped).  The
    snippet, user and mail are removed again afterwards."""
    if os.path.exists(SYS_SNIPPET):
        print("note: %s already exists; system-configuration delivery "
              "not tested on this machine" % SYS_SNIPPET)
        return
    import pwd
    created_user = False
    home = tempfile.mkdtemp(prefix="bounceinfo-pkgtest-home-")
    os.rmdir(home)
    if is_dovecot24() and not os.path.exists("/home/" + SYS_USER):
        # Debian 13's default 10-mail.conf: mail_home = /home/%{user}
        home = "/home/" + SYS_USER
    try:
        try:
            pw = pwd.getpwnam(SYS_USER)
        except KeyError:
            # group mail: dot-locking in /var/mail, as for local users
            proc = run(["useradd", "-m", "-d", home, "-G", "mail", "-s",
                        "/usr/sbin/nologin", SYS_USER])
            check(proc.returncode == 0, "created test user %s" % SYS_USER)
            created_user = True
            pw = pwd.getpwnam(SYS_USER)
        shutil.copy(SNIPPET, SYS_SNIPPET)
        proc = run(["doveconf", "-n"])
        check(proc.returncode == 0, "system doveconf -n accepts the copied "
              "snippet%s" % ("" if proc.returncode == 0 else ":\n"
                             + proc.stdout[-2000:]))
        log = os.path.join(pw.pw_dir, "lda.log")
        open(log, "w").close()
        os.chmod(log, 0o666)
        for path, sender in ((BOUNCE, ""), (ORDINARY, "anna@example.org")):
            # As the user, the way an MTA's local delivery (Postfix's
            # mailbox_command) runs it: "-d user" would ask the auth
            # service of a running Dovecot for the user, and CI keeps the
            # system's services stopped.
            with open(path, "rb") as f:
                proc = subprocess.run(
                    ["runuser", "-u", SYS_USER, "--", "env",
                     "HOME=" + pw.pw_dir, "USER=" + SYS_USER,
                     "/usr/lib/dovecot/dovecot-lda", "-f", sender,
                     "-o", "log_path=" + log, "-o", "info_log_path=" + log],
                    input=f.read(), stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT, cwd="/")
            if proc.returncode != 0:
                print(proc.stdout.decode(errors="replace"))
                print(open(log, errors="replace").read())
            check(proc.returncode == 0, "dovecot-lda as %s < %s (system "
                  "config)" % (SYS_USER, os.path.basename(path)))
        ldalog = open(log, errors="replace").read()
        print(ldalog)
        bounces = glob.glob(os.path.join(pw.pw_dir, "mail", "Bounces", "*"))
        check(len(bounces) == 1, "the bounce was filed under ~/mail/Bounces/ "
              "(%s)" % [os.path.basename(b) for b in bounces])
        text = open(bounces[0], errors="replace").read()
        check("E1kSH9f-0005xf-18" in text, "...it is the bounce")
        check(re.search(r"^X-Keywords:.*\$Bounce\b", text, re.M),
              "...with the $Bounce keyword")
        inbox = open("/var/mail/" + SYS_USER, errors="replace").read()
        check("demo-meeting-1@example.org" in inbox
              and "E1kSH9f-0005xf-18" not in inbox,
              "the ordinary mail is in /var/mail/%s, the bounce is not"
              % SYS_USER)
        errors = [l for l in ldalog.splitlines() if "Error:" in l]
        check(not errors, "no errors logged by dovecot-lda%s"
              % ("" if not errors else ":\n" + "\n".join(errors[:10])))
    finally:
        if os.path.exists(SYS_SNIPPET):
            os.unlink(SYS_SNIPPET)
        if created_user:
            run(["userdel", "-r", SYS_USER])
            shutil.rmtree(home, ignore_errors=True)
            if os.path.exists("/var/mail/" + SYS_USER):
                os.unlink("/var/mail/" + SYS_USER)


def main():
    if os.environ.get("BOUNCEINFO_TEST_PACKAGE") != "1":
        print("SKIP: set BOUNCEINFO_TEST_PACKAGE=1 to build and install "
              "the Debian package (changes the system; CI does it)")
        return 77
    if os.geteuid() != 0:
        print("SKIP: installing a package needs root")
        return 77
    for tool in ("dpkg-buildpackage", "apt-get", "dh"):
        if not shutil.which(tool):
            print("SKIP: %s not installed (scripts/install-deps)" % tool)
            return 77

    was_installed = installed_version()
    work = tempfile.mkdtemp(prefix="bounceinfo-pkg-")
    try:
        tree = os.path.join(work, PKG)
        os.makedirs(tree)
        copy_tree(tree)
        env = dict(os.environ)
        env.pop("BOUNCEINFO_TEST_PACKAGE", None)
        env.pop("MAKEFLAGS", None)
        env.pop("MFLAGS", None)
        env["DEB_BUILD_OPTIONS"] = "nocheck"
        env["DEB_BUILD_PROFILES"] = "nocheck"
        proc = run(["dpkg-buildpackage", "-us", "-uc", "-b"], cwd=tree,
                   env=env, timeout=1800)
        if proc.returncode != 0:
            print(proc.stdout[-6000:])
        check(proc.returncode == 0, "dpkg-buildpackage -us -uc -b")
        debs = glob.glob(os.path.join(work, PKG + "_*.deb"))
        check(len(debs) == 1, "one binary package built: %s"
              % [os.path.basename(d) for d in debs])

        proc = run(["dpkg-deb", "-f", debs[0], "Depends"])
        check("dovecot-abi-" in proc.stdout and "dovecot-sieve" in
              proc.stdout, "Depends on the Dovecot ABI and dovecot-sieve: "
              + proc.stdout.strip())

        aenv = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        proc = run(["apt-get", "install", "-y", "--no-install-recommends",
                    "--allow-downgrades", "--reinstall", debs[0]], env=aenv,
                   timeout=600)
        if proc.returncode != 0:
            print(proc.stdout[-4000:])
        check(proc.returncode == 0, "apt-get install ./%s"
              % os.path.basename(debs[0]))
        check(installed_version(), "dpkg reports %s installed" % PKG)

        for path in INSTALLED:
            check(os.path.exists(path), "installed: " + path)
        for sub in ("rules", "explanations", "rules/signs", "sieve-scripts"):
            dest = "sieve" if sub == "sieve-scripts" else sub
            for f in sorted(os.listdir(os.path.join(SRCDIR, sub))):
                if f.endswith((".rules", ".map", ".txt", ".signs",
                               ".sieve")):
                    check(os.path.exists(os.path.join(
                        "/usr/share/dovecot-bounceinfo", dest, f)),
                        "installed: %s/%s" % (sub, f))
        # the Roundcube plugin, where Debian's Roundcube finds it
        check(os.path.exists("/usr/share/roundcube/plugins/bounceinfo/bounceinfo.php")
              and os.path.realpath("/var/lib/roundcube/plugins/bounceinfo")
              == "/usr/share/roundcube/plugins/bounceinfo",
              "installed: Roundcube plugin, linked from /var/lib/roundcube/plugins")
        check(os.path.exists("/usr/share/dovecot-bounceinfo/sieve/folder-map.tsv"),
              "installed: sieve/folder-map.tsv (the Roundcube plugin's folder names)")
        check(not glob.glob("/usr/lib/dovecot/modules/**/*bounceinfo*.la",
                            recursive=True), "no libtool .la files shipped")
        check(not os.path.exists("/etc/dovecot/conf.d/90-bounceinfo.conf"),
              "installing did not enable the plugin in /etc/dovecot")
        check(os.path.exists(SVBIN) and os.stat(SVBIN).st_mode & 0o004,
              "postinst precompiled the default script (world-readable "
              + SVBIN + ")")
        for page in glob.glob(os.path.join(SRCDIR, "doc", "*.[17]")):
            name = os.path.basename(page)
            check(glob.glob("/usr/share/man/man%s/%s*" % (name[-1], name)),
                  "man page installed: " + name)

        proc = run(["/usr/bin/bounceinfo", "--json", BOUNCE])
        check(proc.returncode == 0 and '"kind"' in proc.stdout,
              "installed CLI classifies a sample with the installed data: "
              + proc.stdout.strip()[:200])

        try:
            denv = DovecotEnv(SRCDIR, SRCDIR, installed=True,
                              extra_conf="!include %s\n" % SNIPPET)
            denv.start()
        except DovecotEnvUnavailable as e:
            print("SKIP: %s" % e)
            return 77
        try:
            conf = open(denv.conf_path).read()
            check(SRCDIR not in conf and denv.moduledir not in conf,
                  "the private config names nothing from the source or "
                  "build tree")
            with open(BOUNCE, "rb") as f:
                denv.lmtp_deliver(f.read(), mail_from="")
            with open(ORDINARY, "rb") as f:
                denv.lmtp_deliver(f.read(), mail_from="anna@example.org")
            rows = denv.doveadm("-f", "flow", "fetch", "-u", denv.user,
                                "mailbox flags hdr.message-id", "ALL").stdout
            print(rows)
            lines = rows.strip().splitlines()
            check(len(lines) == 2, "both mails stored")
            bounce = [l for l in lines if "Bounces/" in l]
            inbox = [l for l in lines if "mailbox=INBOX " in l]
            check(len(bounce) == 1, "the bounce was filed under Bounces/ "
                  "by the installed default script")
            check(len(inbox) == 1 and "demo-meeting-1" in inbox[0],
                  "the ordinary mail stayed in INBOX")
            check("$Bounce" in bounce[0], "the bounce has the $Bounce "
                  "keyword (installed mail plugin)")
            proc = denv.doveadm("bounceinfo", "list", "-u", denv.user,
                                "mailbox", "Bounces/*", check=False)
            print(proc.stdout + proc.stderr)
            check(proc.returncode == 0 and "user-unknown" in proc.stdout,
                  "doveadm bounceinfo list (installed doveadm plugin)")
            metrics = denv.metrics()
            check(re.search(r'^dovecot_bounceinfo_classified_total\{'
                            r'kind="[a-z]+",class="user-unknown"\} 1$',
                            metrics, re.M),
                  "the snippet's metric counted the bounce")
            log = denv.log_text()
            errors = [l for l in log.splitlines() if "Error:" in l]
            check(not errors, "no errors logged%s"
                  % ("" if not errors else ":\n" + "\n".join(errors[:10])))
            check("pre-compiled" not in log,
                  "Pigeonhole used the precompiled global script")
        finally:
            denv.stop()

        system_config_delivery()
    finally:
        if not was_installed and installed_version():
            proc = run(["dpkg", "--purge", PKG])
            print(proc.stdout[-2000:])
            check(proc.returncode == 0 and not os.path.exists(SVBIN)
                  and not os.path.exists("/var/lib/dovecot-bounceinfo"),
                  "dpkg --purge removes the package and its compiled script")
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
