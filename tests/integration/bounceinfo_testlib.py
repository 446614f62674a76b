"""Helpers shared by the Python test scripts of tests/integration and
tests/sieve (through tests/sieve/sieve_common.py): where the source, build
and corpus directories are, reading corpus messages, and the two ways the
scripts report their checks.  Python 3 standard library only.
"""

import json
import os
import re
import sys

# automake's exit status for a skipped test
SKIP = 77

HERE = os.path.dirname(os.path.abspath(__file__))


def srcdir():
    """Top source directory: $BOUNCEINFO_SRCDIR (set by make check), else
    the checkout this file is in."""
    return os.path.abspath(os.environ.get("BOUNCEINFO_SRCDIR")
                           or os.path.join(HERE, "..", ".."))


def srcdir_builddir():
    """(top source directory, top build directory); the build directory is
    $BOUNCEINFO_BUILDDIR, else the source directory (in-tree build)."""
    src = srcdir()
    build = os.path.abspath(os.environ.get("BOUNCEINFO_BUILDDIR") or src)
    return src, build


def corpus_dir(src=None):
    """The full shared corpus: $BOUNCEINFO_CORPUS, else shared/corpus
    beside the source directory.  Only tests that need all of it (the
    accuracy test) may use it; everything else reads eml_dir()."""
    d = os.environ.get("BOUNCEINFO_CORPUS") or os.path.join(
        src or srcdir(), "..", "shared", "corpus")
    return os.path.abspath(d)


def eml_dir(src=None):
    """The real bounces the repository carries (tests/data/sisimai, a
    subset of the shared corpus, see tests/data/README.md): every test
    that needs real bounces reads them from here, so the suite runs whole
    from a plain clone."""
    return os.path.join(src or srcdir(), "tests", "data", "sisimai")


def read_corpus(name):
    """Raw bytes of the repository's real bounce eml_dir()/name."""
    with open(os.path.join(eml_dir(), name), "rb") as f:
        return f.read()


def write_readable(path, text):
    """Write a file (a rules file) that Dovecot's mail processes, running
    as another user, can read."""
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, 0o644)


def start_env(*args, **kwargs):
    """dovecot_env.DovecotEnv(*args, **kwargs), started; None, having
    printed the SKIP line, if Dovecot cannot run here (not root, not
    installed)."""
    # imported here: tests/sieve imports this module without a Dovecot
    from dovecot_env import DovecotEnv, DovecotEnvUnavailable
    try:
        env = DovecotEnv(*args, **kwargs)
        env.start()
    except DovecotEnvUnavailable as e:
        print("SKIP: %s" % e)
        return None
    return env


def doveadm_list(env, mailbox="INBOX"):
    """{uid: row} of doveadm -f json bounceinfo list for the test user's
    mailbox (needs env.doveadm_plugin_loaded)."""
    proc = env.doveadm("-f", "json", "bounceinfo", "list", "-u", env.user,
                       "mailbox", mailbox, "ALL")
    return {int(r["uid"]): r for r in json.loads(proc.stdout or "[]")}


def imap_uid_flags(env, mailbox="INBOX"):
    """(status of the IMAP SELECT, {uid: set of flags}) of the test
    user's mailbox; no flags if the SELECT failed."""
    im = env.imap()
    try:
        typ, _ = im.select(mailbox)
        flags = {}
        if typ != "OK":
            return typ, flags
        _, data = im.uid("FETCH", "1:*", "(FLAGS)")
        for item in data:
            if not item:
                continue
            line = (item if isinstance(item, bytes) else item[0]).decode()
            uid = re.search(r"UID (\d+)", line)
            fl = re.search(r"FLAGS \(([^)]*)\)", line)
            if uid and fl:
                flags[int(uid.group(1))] = set(fl.group(1).split())
        return typ, flags
    finally:
        im.logout()


def class_keyword(cls):
    """The IMAP keyword the mail plugin sets for a class:
    $Bounce_<class> with "-" as "_"."""
    return "$Bounce_" + cls.replace("-", "_")


def corpus_missing():
    """True, having printed a FAIL line, if the repository's test
    messages are missing (a broken checkout or tarball): that is an
    error, never a skip."""
    if os.path.isdir(eml_dir()):
        return False
    print("FAIL: test messages not found at %s" % eml_dir())
    raise SystemExit(1)


def check(cond, what):
    """Stop at the first failure: print "ok: what" or "FAIL: what" and
    exit 1 on failure."""
    print("%s: %s" % ("ok" if cond else "FAIL", what))
    # flushed now: a failing check exits, and subprocess output interleaves
    sys.stdout.flush()
    if not cond:
        raise SystemExit(1)


class Checker:
    """Carry on after a failure: check = Checker(); check(ok, what,
    detail) prints "ok   what" or "FAIL what" (and detail on failure) and
    counts the failures; finish() prints the count and returns the exit
    status."""

    def __init__(self):
        self.failures = 0

    def __call__(self, ok, what, detail=""):
        if ok:
            print("ok   " + what)
        else:
            self.failures += 1
            print("FAIL " + what + ("\n" + detail if detail else ""))

    def finish(self):
        print("%d failed" % self.failures)
        return 1 if self.failures else 0


def add_user(env, name, password, extra_fields="", user_sieve=None):
    """Add a user to a started DovecotEnv's passwd-file (read again by
    auth on change): its own home and Maildir owned by the mail uid,
    extra_fields as userdb extra fields (e.g.
    "userdb_bounceinfo_language=de"), user_sieve the text of its active
    personal script.  Returns the home directory."""
    home = os.path.join(env.tmpdir, "home-" + name)
    paths = [home, os.path.join(home, "Maildir")]
    os.makedirs(paths[1])
    if user_sieve is not None:
        paths.append(os.path.join(home, "sieve"))
        os.makedirs(paths[-1])
        script = os.path.join(home, "sieve", "user.sieve")
        with open(script, "w") as f:
            f.write(user_sieve)
        paths.append(script)
        link = os.path.join(home, ".dovecot.sieve")
        os.symlink("sieve/user.sieve", link)
        os.lchown(link, env.pw.pw_uid, env.pw.pw_gid)
    for p in paths:
        os.chown(p, env.pw.pw_uid, env.pw.pw_gid)
    os.chmod(home, 0o700)
    from dovecot_env import is_dovecot24, userdb_fields24
    if is_dovecot24():
        extra_fields = userdb_fields24(extra_fields)
    with open(env.passwd_path, "a") as f:
        f.write("%s:{PLAIN}%s:%d:%d::%s::%s\n"
                % (name, password, env.pw.pw_uid, env.pw.pw_gid, home,
                   extra_fields))
    return home


def imap_login(env, user, password):
    """A logged-in imaplib.IMAP4 connection as another user of env."""
    import imaplib
    conn = imaplib.IMAP4("127.0.0.1", env.imap_port)
    conn.login(user, password)
    return conn


def make_dsn(rcpts, message_id, subject="hello", auto_submitted=None,
             to="testuser@localhost"):
    """An RFC 3464 DSN (CRLF bytes) from mx.example.net returning a message
    of the test user with message_id and subject; rcpts:
    [(address, status, diagnostic text)], one failed recipient each."""
    blocks = "\n".join(
        "Final-Recipient: rfc822; %s\nAction: failed\nStatus: %s\n"
        "Diagnostic-Code: smtp; %s\n" % r for r in rcpts)
    return ("""From: Mail Delivery System <MAILER-DAEMON@mx.example.net>
To: %(to)s
Subject: Undelivered Mail Returned to Sender
Date: Mon, 23 Nov 2026 10:00:00 +0000
%(auto)sMIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="b1"

--b1
Content-Type: text/plain

Your message could not be delivered.

--b1
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.net

%(blocks)s
--b1
Content-Type: text/rfc822-headers

From: testuser@localhost
To: %(first)s
Subject: %(subject)s
Message-ID: %(mid)s

--b1--
""" % {"to": to, "blocks": blocks, "first": rcpts[0][0],
       "subject": subject, "mid": message_id,
       "auto": "Auto-Submitted: %s\n" % auto_submitted
       if auto_submitted else ""}).replace("\n", "\r\n").encode()


def imap_locate(env, user, password, id_header):
    """Where each test message of a user is: {value of id_header:
    [(folder, [flags], raw header bytes)]}, over IMAP, all folders."""
    im = imap_login(env, user, password)
    try:
        where = {}
        _, boxes = im.list()
        for line in boxes:
            name = re.search(rb'"/" (.*)$', line).group(1).decode()
            name = name.strip('"')
            typ, count = im.select('"%s"' % name, readonly=True)
            if typ != "OK" or count[0] == b"0":
                continue
            _, data = im.fetch("1:*", "(FLAGS BODY.PEEK[HEADER])")
            for item in data:
                if not isinstance(item, tuple):
                    continue
                m = re.search(rb"(?im)^%s: (\S+)" % id_header.encode(),
                              item[1])
                flags = re.search(rb"FLAGS \(([^)]*)\)", item[0])
                if m:
                    where.setdefault(m.group(1).decode(), []).append(
                        (name, flags.group(1).decode().split(), item[1]))
        return where
    finally:
        im.logout()


def imap_subscribed(env, user, password):
    """The set of a user's subscribed folders (IMAP LSUB)."""
    im = imap_login(env, user, password)
    try:
        _, subs = im.lsub()
        return {re.search(rb'"/" (.*)$', l).group(1).decode().strip('"')
                for l in subs if l}
    finally:
        im.logout()


def log_errors(env):
    """The Error/Panic/Fatal lines of a DovecotEnv's log, joined."""
    return "\n".join(l for l in env.log_text().splitlines()
                     if re.search(r"(Error|Panic|Fatal):", l))
