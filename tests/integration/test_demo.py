#!/usr/bin/env python3
"""`scripts/demo --no-wait` (what `./run demo` shows a new user) works:
it exits 0, reports a folder for every bundled sample, ordinary mail and
the auto-reply stay in INBOX, the delay warning goes to Bounces/Delayed,
every other bounce lands under Bounces/, the summary adds up, no
connection details are printed for the Dovecot it stops, and nothing is
left running or on disk.  Then `scripts/demo` without --no-wait: the IMAP
details it prints log in, the doveadm command it prints runs and lists
the bounces, the sieve-connect line has --clearchan, and SIGTERM stops it.
Exit 0 pass, 1 fail, 77 skip (not root)."""

import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bounceinfo_testlib import check, srcdir_builddir  # noqa: E402

SRCDIR, BUILDDIR = srcdir_builddir()


def main():
    if os.geteuid() != 0:
        print("SKIP: the demo needs root")
        return 77
    samples = []
    for dirpath, _, files in os.walk(os.path.join(SRCDIR, "samples")):
        samples += [os.path.relpath(os.path.join(dirpath, f),
                                    os.path.join(SRCDIR, "samples"))
                    for f in files if f.endswith(".eml")]
    check(len(samples) >= 10, "%d bundled samples" % len(samples))

    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    proc = subprocess.run(
        [sys.executable, os.path.join(SRCDIR, "scripts", "demo"),
         "--no-wait", "--builddir", BUILDDIR],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env=env, timeout=300)
    out = proc.stdout
    print(out)
    check(proc.returncode == 0, "scripts/demo --no-wait exits 0")

    folders = dict(re.findall(r"^\[\s*\d+\] (\S+)\n\s+folder:\s+(.+)$", out,
                              re.M))
    check(sorted(folders) == sorted(samples),
          "every sample reported with its folder")
    check("NOT FOUND" not in out, "no message went missing")
    for name, folder in sorted(folders.items()):
        if name.startswith("ordinary/") or name.startswith("sisimai/rfc3834"):
            check(folder == "INBOX", "%s stays in INBOX (got %s)"
                  % (name, folder))
        elif name == "own/postfix-delayed.eml":
            check(folder == "Bounces/Delayed", "%s in Bounces/Delayed (got "
                  "%s)" % (name, folder))
        else:
            check(folder.startswith("Bounces/"), "%s filed under Bounces/ "
                  "(got %s)" % (name, folder))
    # quota bounces are in the folder of the demo user's own rule, which
    # wins over the default sorting (run after it, as sieve_after)
    rule = "Bounces/Quota (my rule)"
    per = re.findall(r"^\[\s*\d+\] (\S+)\n\s+folder:\s+(.+)\n\s+class:\s+(\S+)",
                     out, re.M)
    quota = [(n, f) for n, f, c in per if c == "quota"]
    check(quota and all(f == rule for _, f in quota),
          "the user's rule (header :is x-bounce-class quota) filed every "
          "quota bounce into %s: %r" % (rule, quota))
    check(all(c == "quota" for n, f, c in per if f == rule),
          "and nothing else")
    check(any(f.startswith("Bounces/") and f != rule for n, f, c in per),
          "the default sorting filed the other bounces")
    classes = re.findall(r"^\s+class:\s+(\S+)", out, re.M)
    check(len(classes) == len(samples) and "?" not in classes,
          "a class shown for every message")
    check(re.search(r"explanation: \S", out), "explanations shown")
    m = re.search(r"^\s+total\s+(\d+)$", out, re.M)
    check(m and int(m.group(1)) == len(samples), "summary total adds up")
    counts = re.findall(r"^  (INBOX|Bounces/.+?)\s+(\d+)  ", out, re.M)
    check(sum(int(c) for _, c in counts) == len(samples),
          "per-folder counts add up")
    check(re.search(r"^  dovecot_bounceinfo_classified_total\{.*\} \d+$", out,
                    re.M), "the conf.d example's metric counts the bounces "
          "(OpenMetrics endpoint)")
    check(not re.search(r"IMAP\s+host 127\.0\.0\.1, port", out),
          "--no-wait prints no connection details for the stopped Dovecot")
    tmp = re.search(r"running privately in (\S+)", out)
    check(tmp and not os.path.exists(tmp.group(1)),
          "temporary directory removed after --no-wait")
    left = subprocess.run(["pgrep", "-f", tmp.group(1)],
                          stdout=subprocess.PIPE, text=True).stdout.split()
    check(not left, "no process of the demo's Dovecot left (%s)" % left)
    return waiting_demo(env)


def waiting_demo(env):
    """The demo as a newcomer runs it: it keeps Dovecot running and says
    how to look; every command it prints must work."""
    import imaplib
    import shlex
    import signal
    import time

    proc = subprocess.Popen(
        [sys.executable, os.path.join(SRCDIR, "scripts", "demo"),
         "--builddir", BUILDDIR], stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True, env=env)
    out = ""
    try:
        deadline = time.time() + 300
        for line in proc.stdout:
            out += line
            if "Dovecot keeps running" in line or time.time() > deadline:
                break
        check("Dovecot keeps running" in out, "the demo keeps running")
        m = re.search(r"IMAP\s+host 127\.0\.0\.1, port (\d+), no TLS, "
                      r"user (\S+), password (\S+)", out)
        check(m is not None, "IMAP connection details printed")
        im = imaplib.IMAP4("127.0.0.1", int(m.group(1)))
        im.login(m.group(2), m.group(3))
        typ, _ = im.select("INBOX")
        im.logout()
        check(typ == "OK", "the printed IMAP details log in")
        check(re.search(r"sieve-connect --clearchan -s 127\.0\.0\.1 "
                        r"-p \d+ -u \S+", out),
              "sieve-connect hint with --clearchan")
        dm = re.search(r"^\s+(unshare .*doveadm .*bounceinfo list.*)$",
                       out, re.M)
        if dm is None:
            check("is not permitted here" in out,
                  "no doveadm command: says why")
        else:
            run = subprocess.run(shlex.split(dm.group(1)),
                                 stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True)
            check(run.returncode == 0 and "user-unknown" in run.stdout,
                  "the printed doveadm command lists the bounces "
                  "(exit %d): %s%s" % (run.returncode, run.stdout[:300],
                                       run.stderr[:300]))
        m = re.search(r"Metrics\s+curl -s (\S+)", out)
        check(m is not None, "metrics command printed")
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            rest, _ = proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            rest, _ = proc.communicate()
    out += rest
    print(out)
    check("Stopping Dovecot" in rest, "SIGTERM stops the demo")
    tmp = re.search(r"running privately in (\S+)", out)
    check(tmp and not os.path.exists(tmp.group(1)),
          "temporary directory removed after SIGTERM")
    return 0


if __name__ == "__main__":
    sys.exit(main())
