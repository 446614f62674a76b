#!/usr/bin/env python3
"""sievec / sieve-dump / sieve-test checks of the bounceinfo extension that
are not per-field: compile-time errors with their messages, the readable
binary dump, the shipped scripts (they compile and file what they promise),
values safe against header injection, and failing open.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sieve_common import Checker, SieveTools, folders  # noqa: E402

check = Checker()


REQ = 'require ["bounceinfo", "variables", "fileinto", "relational", ' \
      '"comparator-i;ascii-numeric"];\n'

# (script body, substrings every one of which the error output must hold)
COMPILE_ERRORS = [
    ('if bounceinfo :class "qouta" { keep; }',
     ['"qouta" is not a valid class', "valid values are:", "quota",
      "user-unknown", "host-unknown", "rate-limit"]),
    ('if bounceinfo "qouta" { keep; }',  # :class is the default field
     ['"qouta" is not a valid class', "quota"]),
    ('if bounceinfo :is :class ["quota", "mailbox-full"] { keep; }',
     ['"mailbox-full" is not a valid class']),
    ('if bounceinfo :severity "medium" { keep; }',
     ['"medium" is not a valid severity', "none, soft, hard"]),
    ('if bounceinfo :kind "bounce" { keep; }',
     ['"bounce" is not a valid kind', "dsn", "ndr", "delayed"]),
    ('if bounceinfo :kind ["dsn", "none"] { keep; }',
     [':kind "none" never matches', 'not bounceinfo :matches :kind "*"']),
    ('if bounceinfo :verified "yes" { keep; }',
     ['"yes" is not a valid :verified value', "genuine", "forged",
      "unchecked", "not-applicable"]),
    ('if bounceinfo :comparator "i;octet" :class "Quota" { keep; }',
     ['"Quota" is not a valid class', "case-sensitively"]),
    ('if bounceinfo :smtpcommand "RCPT TO" { keep; }',
     ['"RCPT TO" is not a valid SMTP command', "CONN, HELO, MAIL, RCPT, "
      "DATA"]),
    ('if bounceinfo :comparator "i;octet" :smtpcommand "rcpt" { keep; }',
     ['"rcpt" is not a valid SMTP command', "case-sensitively"]),
    ('if bounceinfo :kind :class "dsn" { keep; }',
     ["takes one field tag", ":kind", ":class"]),
    ('if bounceinfo :remote_mta "x" { keep; }',
     ["unknown tagged argument ':remote_mta'"]),
    ('if bounceinfo :class { keep; }',
     ["bounceinfo"]),
    ('set "bounceinfo.class" "quota";',
     ["cannot assign to `bounceinfo.class'", "read-only"]),
    ('if string "${bounceinfo.clas}" "" { keep; }',
     ["unknown variable `bounceinfo.clas'", "valid names are:",
      "remote_mta", "explanation.<language>"]),
    ('if string "${bounceinfo.class.pl}" "" { keep; }',
     ["unknown variable `bounceinfo.class.pl'"]),
]

# valid scripts that must compile
COMPILE_OK = [
    'if bounceinfo :contains :class "qouta" { keep; }',  # not :is: allowed
    'if bounceinfo :matches :class "quo*" { keep; }',
    'if bounceinfo :is :class "${x}" { keep; }',  # not known until runtime
    'if bounceinfo :comparator "i;ascii-casemap" :class "QUOTA" { keep; }',
    'if bounceinfo :count "ge" :comparator "i;ascii-numeric" :class "1" '
    '{ keep; }',
    'if bounceinfo :value "ge" :comparator "i;ascii-numeric" :code "500" '
    '{ keep; }',
    'if bounceinfo :is :kind ["dsn", "ndr", "delayed"] { keep; }',
    'if bounceinfo :verified "not-applicable" { keep; }',
    'if bounceinfo :smtpcommand ["RCPT", "data"] { keep; }',
    'if bounceinfo :comparator "i;octet" :smtpcommand "DATA" { keep; }',
    'if string "${bounceinfo.smtp_command}" "RCPT" { keep; }',
    'if bounceinfo :remotemta :contains "example" { keep; }',
    'if bounceinfo :reportingmta :contains "example" { keep; }',
    'if bounceinfo :originalmessageid :contains "@" { keep; }',
    'if bounceinfo :originalsubject :contains "x" { keep; }',
    'if string "${bounceinfo.explanation.pt_BR}" "" { keep; }',
    'if string "${bounceinfo.reporting_mta}" "" { keep; }',
]


def test_compile(tools):
    for body, needles in COMPILE_ERRORS:
        p = tools.sievec(tools.write_script(REQ + body + "\n"))
        out = p.stdout + p.stderr
        missing = [n for n in needles if n not in out]
        check(p.returncode != 0 and not missing,
              "compile error: %s" % body,
              "exit %d, missing %r in:\n%s" % (p.returncode, missing, out))
    for body in COMPILE_OK:
        p = tools.sievec(tools.write_script(REQ + body + "\n"))
        check(p.returncode == 0, "compiles: %s" % body, p.stdout + p.stderr)

    # without "variables" the namespace does not exist; the test still works
    p = tools.sievec(tools.write_script(
        'require ["bounceinfo", "fileinto"];\n'
        'if bounceinfo :class "quota" { fileinto "x"; }\n'))
    check(p.returncode == 0, "bounceinfo without variables compiles",
          p.stderr)
    p = tools.sievec(tools.write_script(
        'require "fileinto";\nif bounceinfo :class "quota" { keep; }\n'))
    check(p.returncode != 0, "bounceinfo without require is an error")


def test_dump(tools):
    script = tools.write_script(
        REQ + 'if bounceinfo :comparator "i;ascii-numeric" :count "ge" '
        ':remotemta "2" { fileinto "a/${bounceinfo.remote_mta}"; }\n'
        'if bounceinfo :matches :diagnostic "*quota*" { keep; }\n')
    binary = os.path.join(tools.tmpdir, "dump.svbin")
    p = tools.sievec(script, binary)
    check(p.returncode == 0, "sievec writes a binary", p.stderr)
    d = tools.sieve_dump(binary)
    for needle in ["bounceinfo", "BOUNCEINFO", "field: remotemta",
                   "match type: count-ge", "comparator: i;ascii-numeric",
                   "field: diagnostic", "match type: matches",
                   'key list: STR[7] "*quota*"',
                   "VAR ${bounceinfo.remote_mta}"]:
        check(needle in d.stdout, "sieve-dump shows %r" % needle, d.stdout)


def test_trace(tools, own):
    """sieve-test -t - shows what the test looked at."""
    script = tools.write_script(
        REQ + 'if bounceinfo :is :remotemta "mx.example.org" { keep; }\n'
        'if bounceinfo :class "quota" { keep; }\n')
    p = tools.sieve_test(script, os.path.join(own, "ordinary.eml"),
                         "-t", "-", "-Tlevel=matching")
    out = p.stdout + p.stderr
    for needle in ["bounceinfo test", "field: remotemta", "field: class",
                   "no values (not a bounce)"]:
        check(needle in out, "trace of ordinary mail shows %r" % needle, out)
    p = tools.sieve_test(script, os.path.join(own, "multi-recipient-dsn.eml"),
                         "-t", "-", "-Tlevel=matching")
    out = p.stdout + p.stderr
    check("mx.example.org" in out and "quota" in out,
          "trace of a bounce shows the values matched", out)


def test_multiscript(tools, own):
    """Several scripts for one message (as sieve_before + personal script):
    the message is classified once and both scripts see the result."""
    first = tools.write_script(REQ + 'if bounceinfo :class "virus" '
                               '{ fileinto "never"; }\n')
    second = tools.write_script(REQ + 'if bounceinfo :severity "hard" '
                                '{ fileinto "second-${bounceinfo.class}"; }\n')
    p = tools.sieve_test(second, os.path.join(own, "multi-recipient-dsn.eml"),
                         "-D", "-s", first)
    n = p.stderr.count("bounceinfo: classifying the message")
    check(n == 1 and folders(p.stdout) == ["second-quota"],
          "two scripts, one classification (%d)" % n, p.stdout + p.stderr)


def test_kept(tools, own):
    """bounceinfo_kept: true only for an explicit keep of an earlier script
    of the sequence (sieve-test -s runs those scripts first, as
    sieve_before or a personal script before sieve_after)."""
    bounce = os.path.join(own, "multi-recipient-dsn.eml")
    probe = tools.write_script(
        'require ["bounceinfo", "fileinto"];\n'
        'if bounceinfo_kept { fileinto "kept"; } else { fileinto "not"; }\n')
    for label, first, want in [
            ("alone", None, ["not"]),
            ("after keep", "keep;\n", ["kept"]),
            ("after keep :flags", 'require "imap4flags";\n'
             'keep :flags "\\\\Seen";\n', ["kept"]),
            ("after implicit keep", 'if false { keep; }\n', ["not"]),
            ("after stop", "stop;\n", ["not"]),
            ("after fileinto :copy", 'require ["fileinto", "copy"];\n'
             'fileinto :copy "copy";\n', ["copy", "not"]),
            ("after redirect :copy", 'require "copy";\n'
             'redirect :copy "user@example.org";\n', ["not"])]:
        args = ["-s", tools.write_script(first)] if first else []
        p = tools.sieve_test(probe, bounce, *args)
        check(p.returncode == 0 and folders(p.stdout) == want,
              "bounceinfo_kept %s: %r" % (label, want),
              p.stdout + p.stderr)
    # the script's own keep is not an earlier script's
    own_keep = tools.write_script(
        'require ["bounceinfo", "fileinto"];\n'
        'keep;\nif bounceinfo_kept { fileinto "kept"; }\n')
    p = tools.sieve_test(own_keep, bounce)
    check(p.returncode == 0 and folders(p.stdout) == ["INBOX"],
          "bounceinfo_kept ignores the script's own keep",
          p.stdout + p.stderr)

    p = tools.sievec(tools.write_script(
        'require "bounceinfo";\nif bounceinfo_kept "x" { stop; }\n'))
    check(p.returncode != 0, "bounceinfo_kept takes no argument",
          p.stdout + p.stderr)
    p = tools.sievec(tools.write_script('if bounceinfo_kept { stop; }\n'))
    check(p.returncode != 0, "bounceinfo_kept needs require \"bounceinfo\"",
          p.stdout + p.stderr)
    binary = os.path.join(tools.tmpdir, "kept.svbin")
    p = tools.sievec(probe, binary)
    d = tools.sieve_dump(binary)
    check(p.returncode == 0 and "BOUNCEINFO_KEPT" in d.stdout,
          "sieve-dump shows BOUNCEINFO_KEPT", d.stdout + p.stderr)

    # the shipped default script after a user's keep files nothing
    with open(os.path.join(tools.srcdir, "sieve-scripts",
                           "bounceinfo-default.sieve")) as f:
        default = tools.write_script(f.read())
    for label, first, want in [
            ("keep", "keep;\n", []),  # sieve-test prints a plain "keep"
            ("implicit keep", "stop;\n", ["Bounces/Mailbox full"])]:
        p = tools.sieve_test(default, bounce, "-s", tools.write_script(first))
        check(p.returncode == 0 and folders(p.stdout) == want
              and (want or "* keep" in p.stdout),
              "default script after a user's %s: %r" % (label, want),
              p.stdout + p.stderr)


def test_scripts(tools, own):
    sdir = os.path.join(tools.srcdir, "sieve-scripts")
    scripts = [os.path.join(sdir, "bounceinfo-default.sieve")]
    ex = os.path.join(sdir, "examples")
    scripts += sorted(os.path.join(ex, f) for f in os.listdir(ex)
                      if f.endswith(".sieve"))
    for path in scripts:
        # compile a private copy (the source tree may be read-only)
        with open(path, encoding="utf-8") as f:
            copy = tools.write_script(f.read(), os.path.basename(path))
        p = tools.sievec(copy)
        check(p.returncode == 0, "shipped script compiles: %s"
              % os.path.relpath(path, tools.srcdir), p.stdout + p.stderr)

    default = os.path.join(tools.tmpdir, "bounceinfo-default.sieve")
    # (message, folders the default script must store it in)
    for msg, want in [("multi-recipient-dsn.eml",
                       ["Bounces/Mailbox full"]),   # first failed rcpt
                      ("header-injection-dsn.eml", None),
                      ("ordinary.eml", ["INBOX"])]:
        p = tools.sieve_test(default, os.path.join(own, msg))
        got = folders(p.stdout)
        if want is None:
            ok = len(got) == 1 and got[0].startswith("Bounces/")
        else:
            ok = got == want
        check(p.returncode == 0 and ok,
              "default script files %s into %s"
              % (msg, want if want is not None else "Bounces/..."),
              "got %r\n%s%s" % (got, p.stdout, p.stderr))

    # by-class example uses the class name itself
    p = tools.sieve_test(os.path.join(tools.tmpdir, "by-class.sieve"),
                         os.path.join(own, "multi-recipient-dsn.eml"))
    check(folders(p.stdout) == ["Bounces/quota"],
          "by-class.sieve files into Bounces/quota", p.stdout + p.stderr)
    p = tools.sieve_test(os.path.join(tools.tmpdir, "hard-soft.sieve"),
                         os.path.join(own, "multi-recipient-dsn.eml"))
    check(folders(p.stdout) == ["Bounces/Hard"],
          "hard-soft.sieve: a hard recipient makes it hard",
          p.stdout + p.stderr)
    p = tools.sieve_test(os.path.join(tools.tmpdir, "backscatter.sieve"),
                         os.path.join(own, "multi-recipient-dsn.eml"))
    check(folders(p.stdout) == ["INBOX"],
          "backscatter.sieve does nothing when unchecked (no mail plugin)",
          p.stdout + p.stderr)


def test_notify(tools, own):
    """notify-user.sieve: a notification to the user (the envelope
    recipient), never to the bounce's sender; none for soft bounces and
    none for a bounce of a notification."""
    script = os.path.join(tools.tmpdir, "notify-user.sieve")
    hard = os.path.join(own, "hard-dsn.eml")
    p = tools.sieve_test(script, hard, "-a", "alice@example.net")
    out = p.stdout
    check("send notification with method 'mailto:'" in out and
          "To: alice@example.net" in out and
          "[undeliverable] typo@example.org: user-unknown" in out and
          "MAILER-DAEMON" not in out,
          "notify-user.sieve tells the user about a hard bounce", out)
    p = tools.sieve_test(script, os.path.join(own, "multi-recipient-dsn.eml"),
                         "-a", "alice@example.net")
    check("send notification" not in p.stdout,
          "notify-user.sieve: no notification when the first failed "
          "recipient is soft", p.stdout)
    with open(hard, "rb") as f:
        raw = f.read().replace(b"Subject: Meeting notes",
                               b"Subject: [undeliverable] x: user-unknown")
    loop = os.path.join(tools.tmpdir, "loop.eml")
    with open(loop, "wb") as f:
        f.write(raw)
    os.chmod(loop, 0o644)
    p = tools.sieve_test(script, loop, "-a", "alice@example.net")
    check("send notification" not in p.stdout,
          "notify-user.sieve: no notification about a bounced notification",
          p.stdout)


def test_message_values(tools, own):
    """Known values of the hand-written messages."""
    multi = os.path.join(own, "multi-recipient-dsn.eml")
    inj = os.path.join(own, "header-injection-dsn.eml")
    cases = [
        (multi, 'bounceinfo :is :reportingmta "mail.example.net"', True),
        (multi, 'string :is "${bounceinfo.reporting_mta}" '
                '"mail.example.net"', True),
        (multi, 'bounceinfo :is :recipient "someone@no-such-domain.example"',
         True),
        (multi, 'bounceinfo :is :status "5.4.4"', True),
        (multi, 'bounceinfo :count "eq" :comparator "i;ascii-numeric" '
                ':recipient "3"', True),
        (multi, 'bounceinfo :count "eq" :comparator "i;ascii-numeric" '
                ':remotemta "2"', True),  # the third has no Remote-MTA
        (multi, 'bounceinfo :count "eq" :comparator "i;ascii-numeric" '
                ':kind "1"', True),
        (multi, 'bounceinfo :is :originalmessageid '
                '"<quarterly-2026@example.net>"', True),
        (multi, 'bounceinfo :is :originalsubject "Quarterly report"', True),
        (multi, 'allof(bounceinfo :matches :recipient "*@*", '
                'string :is "${2}" "example.org")', True),
        (multi, 'string :is "${bounceinfo.count}" "3"', True),
        (multi, 'string :is "${bounceinfo.recipient}" "full@example.org"',
         True),
        (multi, 'bounceinfo :verified "unchecked"', True),
        # two refused at RCPT TO, the unknown domain at no command
        (multi, 'bounceinfo :count "eq" :comparator "i;ascii-numeric" '
                ':smtpcommand "2"', True),
        (multi, 'bounceinfo :smtpcommand "RCPT"', True),
        (multi, 'bounceinfo :smtpcommand "DATA"', False),
        (multi, 'string :is "${bounceinfo.smtp_command}" "RCPT"', True),
        (multi, 'string :is "${bounceinfo.verified}" "unchecked"', True),
        # header injection: CR LF TAB of the decoded subject are gone
        (inj, 'string :comparator "i;octet" :is '
              '"${bounceinfo.original_subject}" '
              '"hello Bcc: evil@example.com tab"', True),
        (inj, 'bounceinfo :comparator "i;octet" :is :originalsubject '
              '"hello Bcc: evil@example.com tab"', True),
    ]
    for path, test, expect in cases:
        script = tools.write_script(REQ + 'if %s { fileinto "T"; }\n' % test)
        p = tools.sieve_test(script, path)
        check(("T" in folders(p.stdout)) == expect,
              "%s: %s is %s" % (os.path.basename(path), test, expect),
              p.stdout + p.stderr)

    # the long diagnostic is cut at 256 bytes on a character boundary
    script = tools.write_script(
        REQ + 'set :length "n" "${bounceinfo.diagnostic}";\n'
        'fileinto "N${n}";\n'
        'if string :matches "${bounceinfo.diagnostic}" "550 5.7.1 *" '
        '{ fileinto "P"; }\n')
    p = tools.sieve_test(script, inj)
    got = folders(p.stdout)
    n = [int(f[1:]) for f in got if f.startswith("N")]
    # :length counts characters; 256 bytes of mostly 2-byte letters
    check(n and 128 <= n[0] <= 256 and "P" in got,
          "${bounceinfo.diagnostic} is capped (%s characters)"
          % (n[0] if n else "?"), p.stdout + p.stderr)
    script = tools.write_script(
        REQ + 'if string :comparator "i;octet" :matches '
        '"${bounceinfo.original_subject}" "*\t*" { fileinto "TAB"; }\n'
        'if string :comparator "i;octet" :matches '
        '"${bounceinfo.original_subject}" "*tab" { fileinto "END"; }\n')
    p = tools.sieve_test(script, inj)
    got = folders(p.stdout)
    check("TAB" not in got and "END" in got,
          "no TAB in ${bounceinfo.original_subject}", p.stdout)


def test_fail_open(own):
    """Rules that cannot be loaded: the test is false, the script goes
    on, the error is logged."""
    tools = SieveTools({"bounceinfo_datadir": "/nonexistent/bounceinfo"})
    try:
        script = tools.write_script(
            REQ + 'if bounceinfo :matches :class "*" { fileinto "B"; }\n'
            'if bounceinfo :count "eq" :comparator "i;ascii-numeric" '
            ':class "0" { fileinto "C0"; }\n'
            'fileinto "after-${bounceinfo.count}";\n')
        p = tools.sieve_test(script,
                             os.path.join(own, "multi-recipient-dsn.eml"))
        got = folders(p.stdout)
        check(p.returncode == 0 and got == ["C0", "after-0"],
              "fail open: broken datadir gives no values, script continues",
              "exit %d, got %r\n%s%s" % (p.returncode, got, p.stdout,
                                         p.stderr))
        check("bounceinfo" in p.stderr and "/nonexistent/bounceinfo"
              in p.stderr, "fail open: the error names the datadir",
              p.stderr)
    finally:
        tools.close()


def test_language_setting(own):
    """bounceinfo_language picks the language of ${bounceinfo.explanation};
    an unknown one is reported and English is used."""
    msg = os.path.join(own, "multi-recipient-dsn.eml")
    body = (REQ + 'if string :comparator "i;octet" :is '
            '"${bounceinfo.explanation}" "${bounceinfo.explanation.%s}" '
            '{ fileinto "same"; }\n')
    for lang, same_as, warn in (("pl", "pl", False), ("xx", "en", True)):
        tools = SieveTools({"bounceinfo_language": lang})
        try:
            p = tools.sieve_test(tools.write_script(body % same_as), msg)
            check(folders(p.stdout) == ["same"],
                  "bounceinfo_language=%s: ${bounceinfo.explanation} is "
                  "the %s text" % (lang, same_as), p.stdout + p.stderr)
            check(("bounceinfo_language=%s" % lang in p.stderr) == warn,
                  "bounceinfo_language=%s: %s" % (
                      lang, "warned about" if warn else "no warning"),
                  p.stderr)
        finally:
            tools.close()


def main():
    tools = SieveTools()
    own = os.path.join(tools.srcdir, "tests", "sieve", "messages")
    try:
        test_compile(tools)
        test_dump(tools)
        test_trace(tools, own)
        test_scripts(tools, own)
        test_notify(tools, own)
        test_multiscript(tools, own)
        test_kept(tools, own)
        test_message_values(tools, own)
    finally:
        tools.close()
    test_fail_open(own)
    test_language_setting(own)
    return check.finish()


if __name__ == "__main__":
    sys.exit(main())
