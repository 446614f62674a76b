#!/usr/bin/env python3
"""Real delivery through the Sieve extension: a throwaway Dovecot with the
default global script (sieve-scripts/bounceinfo-default.sieve as
sieve_before) receives bounces over LMTP, and IMAP shows where each landed.

Messages: every real bounce the repository carries (tests/data/sisimai), the
seed-based samples (tests/samples) and tests/sieve/messages.  Each gets an
X-Bounceinfo-Test-Id header so it can be found again over IMAP.

What is asserted, and what it proves:
- every message is in exactly one folder, the one the default script
  promises (sieve-scripts/folder-map.tsv) for the library's own
  classification of that message (the bounceinfo CLI): dsn/ndr bounces in
  Bounces/<folder of the first failed recipient's class>, delay warnings in
  Bounces/Delayed, everything else (ordinary mail, delivery reports,
  auto-replies, abuse reports) in INBOX.  This proves the plugin, the
  extension and the script file real mail as promised.  How often that
  classification is right is measured against the labels by tests/corpus;
  here the labels are only used to report, for information, how many
  corpus bounces landed in the folder their label calls for.
- the Sieve extension reused the mail plugin's classification when the
  mail plugin is loaded, and classified by itself when it is not (second
  Dovecot without the mail plugin, a subset of the messages).
- :verified with the mail plugin's spoof check: a bounce of a message
  present in Sent is "genuine", one of a message never sent is "forged"
  (sieve-scripts/examples/backscatter.sieve as the user's script).
- with a personal script as well, a bounce the global script filed is not
  passed on to it, ordinary mail is (sieve-scripts/README.md);
- ${bounceinfo.explanation} reaches a header through editheader
  (sieve-scripts/examples/tag-header.sieve), one line, no injection.
"""

import email
import os
import re
import shutil
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from dovecot_env import (DovecotEnv, DovecotEnvError,  # noqa: E402
                         DovecotEnvUnavailable)
from bounceinfo_testlib import (SKIP, Checker, eml_dir,  # noqa: E402
                                srcdir_builddir)

ID_HEADER = "X-Bounceinfo-Test-Id"

check = Checker()


def read_tsv(path):
    rows = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if line and not line.startswith("#"):
                rows.append(line.split("\t"))
    return rows


def first_failed(rcpts):
    for r in rcpts:
        if r.get("severity") != "none":
            return r
    return rcpts[0] if rcpts else None


def promised_folder(res, fmap):
    """Where bounceinfo-default.sieve files a message the library
    classified as res."""
    if res["kind"] == "delayed":
        return "Bounces/Delayed"
    if res["kind"] in ("dsn", "ndr"):
        r = first_failed(res["recipients"])
        return "Bounces/" + fmap.get(r["class"] if r else "", "Other")
    return "INBOX"


def label_folders(corpus, fmap):
    """Folder each corpus message's label (first recipient) calls for."""
    cmap = {r[0]: r[1] for r in read_tsv(os.path.join(corpus,
                                                      "class-map.tsv"))}
    out = {}
    for row in read_tsv(os.path.join(corpus, "sisimai", "labels.tsv")):
        name, reason = row[0], row[4]
        if name in out:
            continue
        cls = cmap.get(reason)
        if cls in ("delivery-report", "autoreply", "complaint"):
            out[name] = "INBOX"
        elif cls:
            out[name] = "Bounces/" + fmap.get(cls, "Other")
    return out


def with_id(raw, n):
    return ("%s: %d\r\n" % (ID_HEADER, n)).encode() + raw


def imap_locations(env):
    """{test id: [folders]} over IMAP."""
    imap = env.imap()
    where = {}
    try:
        typ, data = imap.list()
        names = []
        for line in data:
            line = line.decode("utf-8", "replace")
            m = re.match(r'\((?P<flags>[^)]*)\) (?:"[^"]*"|NIL) (?P<name>.*)$',
                         line)
            if not m or "\\Noselect" in m.group("flags"):
                continue
            name = m.group("name")
            if name.startswith('"'):
                name = name[1:-1].replace('\\"', '"').replace("\\\\", "\\")
            names.append(name)
        for name in names:
            typ, data = imap.select('"%s"' % name, readonly=True)
            if typ != "OK" or int(data[0]) == 0:
                continue
            typ, data = imap.fetch(
                "1:*", "(BODY.PEEK[HEADER.FIELDS (%s)])" % ID_HEADER)
            for item in data:
                if not isinstance(item, tuple):
                    continue
                m = re.search(rb"%s:\s*(\d+)" % ID_HEADER.encode(), item[1],
                              re.I)
                if m:
                    where.setdefault(int(m.group(1)), []).append(name)
    finally:
        try:
            imap.logout()
        except Exception:
            pass
    return where


def collect_messages(srcdir):
    corpus = eml_dir(srcdir)
    paths = []
    eml = corpus
    if os.path.isdir(eml):
        paths += sorted(os.path.join(eml, f) for f in os.listdir(eml)
                        if f.endswith(".eml"))
    else:
        # the repository carries them: missing is a broken checkout
        raise SystemExit("FAIL: test messages missing at %s" % eml)
    for d in (os.path.join(srcdir, "tests", "samples"),
              os.path.join(srcdir, "tests", "sieve", "messages")):
        if os.path.isdir(d):
            paths += sorted(os.path.join(d, f) for f in os.listdir(d)
                            if f.endswith(".eml"))
    return corpus, paths


NORMAL_SENDER = "carol@example.com"


def prepare(paths, tmpdir, builddir, srcdir):
    """What each message is delivered as, and the library's classification
    of exactly that (with the Return-Path Dovecot will add).

    Bounces come from the null sender <>; mail the library does not see as
    a bounce at all (ordinary mail) comes from a normal sender, as it
    would in real life."""
    from sieve_common import cli_results, read_message
    plain = cli_results(builddir, srcdir, paths)
    deliveries = []
    copies = []
    for n, path in enumerate(paths):
        raw = with_id(read_message(path), n)
        sender = "" if plain[path]["kind"] != "none" else NORMAL_SENDER
        copy = os.path.join(tmpdir, "%d.eml" % n)
        with open(copy, "wb") as f:
            f.write(("Return-Path: <%s>\r\n" % sender).encode() + raw)
        copies.append(copy)
        deliveries.append((raw, sender))
    seen = cli_results(builddir, srcdir, copies)
    results = {}
    for n, path in enumerate(paths):
        results[path] = seen[copies[n]]
    return deliveries, results


def deliver_all(env, deliveries, indexes=None):
    for n, (raw, sender) in enumerate(deliveries):
        if indexes is None or n in indexes:
            env.lmtp_deliver(raw, mail_from=sender)


def test_default_script(srcdir, builddir, paths, deliveries, results, fmap,
                        labels):
    script = os.path.join(srcdir, "sieve-scripts", "bounceinfo-default.sieve")
    with DovecotEnv(builddir, srcdir, mail_plugins=True, sieve=True,
                    sieve_before=script, debug=True) as env:
        t0 = time.time()
        deliver_all(env, deliveries)
        print("delivered %d messages over LMTP in %.1fs"
              % (len(paths), time.time() - t0))
        where = imap_locations(env)
        log = env.log_text()

    wrong = []
    agree = disagree = 0
    for n, path in enumerate(paths):
        want = promised_folder(results[path], fmap)
        got = where.get(n, [])
        if got != [want]:
            wrong.append("  %s: in %r, promised %r (kind %s)"
                         % (os.path.basename(path), got, want,
                            results[path]["kind"]))
        name = os.path.basename(path)
        if name in labels:
            if labels[name] == want:
                agree += 1
            else:
                disagree += 1
    check(not wrong, "each of %d messages is in the folder promised for its "
          "classification (%d wrong)" % (len(paths), len(wrong)),
          "\n".join(wrong[:40]))
    bounces = sum(1 for p in paths if results[p]["kind"] in
                  ("dsn", "ndr", "delayed"))
    inbox = [p for p in paths if results[p]["kind"] not in
             ("dsn", "ndr", "delayed")]
    check(bounces > 0 and inbox, "both bounces (%d) and other mail (%d) "
          "were delivered" % (bounces, len(inbox)))
    own = [n for n, p in enumerate(paths)
           if p.endswith(os.path.join("sieve", "messages", "ordinary.eml"))]
    check(own and all(where.get(n) == ["INBOX"] for n in own),
          "ordinary mail stays in INBOX", repr([where.get(n) for n in own]))
    multi = [n for n, p in enumerate(paths)
             if p.endswith("multi-recipient-dsn.eml")]
    check(multi and all(where.get(n) == ["Bounces/Mailbox full"]
                        for n in multi),
          "a bounce for three recipients is filed by its first failed one "
          "(Bounces/Mailbox full)", repr([where.get(n) for n in multi]))
    if labels:
        print("info: %d corpus messages landed in the folder their label "
              "calls for, %d did not (classifier accuracy: tests/corpus)"
              % (agree, disagree))
    check("using the mail plugin's classification" in log,
          "the Sieve extension reused the mail plugin's classification",
          log[-3000:])
    check("Error" not in "".join(l for l in log.splitlines(True)
                                 if "bounceinfo" in l),
          "no bounceinfo errors in the log",
          "\n".join(l for l in log.splitlines() if "rror" in l)[:3000])
    return where


def test_standalone(srcdir, builddir, paths, deliveries, results, fmap):
    """Without the mail plugin the extension classifies by itself."""
    script = os.path.join(srcdir, "sieve-scripts", "bounceinfo-default.sieve")
    subset = set(range(0, len(paths), 9)) | {len(paths) - 1}
    with DovecotEnv(builddir, srcdir, mail_plugins=False, sieve=True,
                    sieve_before=script, debug=True) as env:
        deliver_all(env, deliveries, subset)
        where = imap_locations(env)
        log = env.log_text()
    wrong = ["  %s: in %r" % (os.path.basename(paths[n]), where.get(n))
             for n in sorted(subset)
             if where.get(n) != [promised_folder(results[paths[n]], fmap)]]
    check(not wrong, "without the mail plugin: %d messages filed as "
          "promised" % len(subset), "\n".join(wrong[:20]))
    check("classifying the message in the Sieve extension (mail plugin "
          "not loaded)" in log, "without the mail plugin the extension "
          "classified by itself", log[-3000:])


def test_user_script_after_default(srcdir, builddir):
    """With the default script as sieve_before and a personal script that
    files everything: bounces are filed once by the global script, other
    mail reaches the personal script (as documented)."""
    from sieve_common import read_message
    script = os.path.join(srcdir, "sieve-scripts", "bounceinfo-default.sieve")
    own = os.path.join(srcdir, "tests", "sieve", "messages")
    with DovecotEnv(builddir, srcdir, mail_plugins=True, sieve=True,
                    sieve_before=script,
                    user_sieve='require ["fileinto", "mailbox"];\n'
                               'fileinto :create "Personal";\n') as env:
        env.lmtp_deliver(with_id(read_message(
            os.path.join(own, "multi-recipient-dsn.eml")), 1))
        env.lmtp_deliver(with_id(read_message(
            os.path.join(own, "ordinary.eml")), 2), mail_from=NORMAL_SENDER)
        where = imap_locations(env)
    check(where.get(1) == ["Bounces/Mailbox full"],
          "a bounce filed by sieve_before is not passed to the personal "
          "script", repr(where))
    check(where.get(2) == ["Personal"],
          "ordinary mail reaches the personal script", repr(where))


def dsn_for(message_id, rcpt="bob@example.org"):
    from bounceinfo_testlib import make_dsn
    return make_dsn([(rcpt, "5.1.1", "550 5.1.1 <%s>: User unknown" % rcpt)],
                    message_id, auto_submitted="auto-replied")


def test_verified(srcdir, builddir):
    with open(os.path.join(srcdir, "sieve-scripts", "examples",
                           "backscatter.sieve")) as f:
        user_script = f.read()
    with DovecotEnv(builddir, srcdir, mail_plugins=True, sieve=True,
                    user_sieve=user_script,
                    plugin_settings={"bounceinfo_verify": "yes"}) as env:
        sent_mid = "<sent-by-testuser-1@localhost>"
        imap = env.imap()
        msg = ("From: testuser@localhost\r\nTo: bob@example.org\r\n"
               "Subject: hello\r\nMessage-ID: %s\r\n\r\nhi\r\n" % sent_mid)
        typ, _ = imap.append("Sent", "(\\Seen)", None, msg.encode())
        imap.logout()
        check(typ == "OK", "original saved in Sent")
        env.lmtp_deliver(with_id(dsn_for(sent_mid), 1))
        env.lmtp_deliver(with_id(dsn_for("<never-sent-77@spammer.example>"),
                                 2))
        where = imap_locations(env)
        log = env.log_tail()
    check(where.get(1) == ["Bounces"],
          ':verified "genuine": bounce of a sent message filed in Bounces',
          "%r\n%s" % (where, log))
    check(where.get(2) == ["Junk"],
          ':verified "forged": backscatter filed in Junk',
          "%r\n%s" % (where, log))


def test_tag_header(srcdir, builddir, mail_plugins):
    """tag-header.sieve, with and without the mail plugin (which then sees
    the message edited by editheader being saved)."""
    with open(os.path.join(srcdir, "sieve-scripts", "examples",
                           "tag-header.sieve")) as f:
        user_script = f.read()
    with DovecotEnv(builddir, srcdir, mail_plugins=mail_plugins, sieve=True,
                    user_sieve=user_script,
                    sieve_extensions="+bounceinfo +editheader") as env:
        what = "with" if mail_plugins else "without"
        with open(os.path.join(srcdir, "tests", "sieve", "messages",
                               "header-injection-dsn.eml"), "rb") as f:
            try:
                env.lmtp_deliver(with_id(f.read(), 1))
            except DovecotEnvError as e:
                check(False, "tag-header.sieve: delivery %s the mail plugin"
                      % what, str(e))
                return
        imap = env.imap()
        imap.select("INBOX", readonly=True)
        typ, data = imap.fetch("1", "(BODY.PEEK[HEADER])")
        imap.logout()
        log = env.log_tail()
    hdr = data[0][1] if data and isinstance(data[0], tuple) else b""
    msg = email.message_from_bytes(hdr)
    expl = msg.get("X-Bounce-Explanation", "")
    check(expl != "" and msg.get("X-Bounce-Class"),
          "tag-header.sieve added X-Bounce-Class and X-Bounce-Explanation "
          "(%s the mail plugin)" % what,
          hdr.decode("utf-8", "replace") + "\n" + log)
    check(msg.get("Bcc") is None and b"\r\nBcc:" not in hdr,
          "no header injected from the bounce's original Subject (%s the "
          "mail plugin)" % what, hdr.decode("utf-8", "replace"))


def main():
    srcdir, builddir = srcdir_builddir()
    sys.path.insert(0, os.path.join(srcdir, "tests", "sieve"))

    fmap = {r[0]: r[1] for r in read_tsv(
        os.path.join(srcdir, "sieve-scripts", "folder-map.tsv"))}
    corpus, paths = collect_messages(srcdir)
    tmpdir = tempfile.mkdtemp(prefix="bounceinfo-delivery-")
    try:
        deliveries, results = prepare(paths, tmpdir, builddir, srcdir)
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)
    labels = {}
    if os.path.exists(os.path.join(corpus, "sisimai", "labels.tsv")):
        labels = label_folders(corpus, fmap)
    try:
        test_default_script(srcdir, builddir, paths, deliveries, results,
                            fmap, labels)
        test_standalone(srcdir, builddir, paths, deliveries, results, fmap)
        test_user_script_after_default(srcdir, builddir)
        test_verified(srcdir, builddir)
        test_tag_header(srcdir, builddir, False)
        test_tag_header(srcdir, builddir, True)
    except DovecotEnvUnavailable as e:
        print("SKIP: %s" % e)
        return SKIP
    return check.finish()


if __name__ == "__main__":
    sys.exit(main())
