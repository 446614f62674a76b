#!/usr/bin/env python3
"""The Sieve extension on hostile messages: the catalogue written by
tests/adversarial/gen-hostile (huge headers, deep MIME nesting, thousands of
recipients, binary junk, encoded control characters, ...) plus this
directory's header-injection message and every corpus message.

For each message one sieve-test run must
- finish (exit 0, within a time limit) - the script always completes;
- give every bounceinfo.* variable without control characters and at most
  256 characters, and ${bounceinfo.count} as a number;
- give test values (read through :matches match variables) without control
  characters.
The script checks itself: it first verifies that its control-character
pattern does catch a TAB, so a check that could never fire is noticed.
"""

import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sieve_common import (SIEVE_TEST, SieveTools, eml_dir,  # noqa: E402
                          folders)

VARIABLES = ["class", "severity", "kind", "status", "code", "action",
             "recipient", "remote_mta", "reporting_mta", "diagnostic",
             "mta", "original_message_id", "original_subject", "verified",
             "explanation", "explanation.ru"]
FIELDS = ["class", "severity", "kind", "status", "code", "action",
          "recipient", "remotemta", "reportingmta", "diagnostic", "mta",
          "originalmessageid", "originalsubject", "verified"]
TIMEOUT = 120


def script():
    lines = ['require ["bounceinfo", "variables", "fileinto", "regex", '
             '"relational", "comparator-i;ascii-numeric"];',
             'set "bad" "";',
             # self-test: the pattern must catch a real TAB
             'if not string :regex "a\tb" "[[:cntrl:]]" '
             '{ set "bad" "${bad}.selftest"; }']
    for v in VARIABLES:
        lines.append('if string :regex "${bounceinfo.%s}" "[[:cntrl:]]" '
                     '{ set "bad" "${bad}.%s-cntrl"; }' % (v, v))
        lines.append('set :length "n" "${bounceinfo.%s}";' % v)
        lines.append('if string :value "gt" :comparator "i;ascii-numeric" '
                     '"${n}" "256" { set "bad" "${bad}.%s-long"; }' % v)
    lines.append('if not string :regex "${bounceinfo.count}" "^[0-9]+$" '
                 '{ set "bad" "${bad}.count"; }')
    for f in FIELDS:
        lines.append('if allof(bounceinfo :matches :%s "*", string :regex '
                     '"${1}" "[[:cntrl:]]") { set "bad" "${bad}.%s-value"; }'
                     % (f, f))
    lines.append('fileinto "R${bad}";')
    return "\n".join(lines) + "\n"


def main():
    tools = SieveTools()
    gen = os.path.join(tools.srcdir, "tests", "adversarial", "gen-hostile")
    hostile = tempfile.mkdtemp(prefix="bounceinfo-hostile-")
    failures = 0
    try:
        paths = [os.path.join(tools.srcdir, "tests", "sieve", "messages",
                              "header-injection-dsn.eml")]
        if os.access(gen, os.R_OK):
            proc = subprocess.run([sys.executable, gen, hostile],
                                  stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, text=True)
            if proc.returncode != 0:
                print("FAIL gen-hostile: %s" % proc.stdout)
                return 1
            os.chmod(hostile, 0o755)
            for f in sorted(os.listdir(hostile)):
                os.chmod(os.path.join(hostile, f), 0o644)
                paths.append(os.path.join(hostile, f))
        else:
            print("note: no %s" % gen)
        eml = eml_dir(tools.srcdir)
        if os.path.isdir(eml):
            paths += sorted(os.path.join(eml, f) for f in os.listdir(eml)
                            if f.endswith(".eml"))
        sc = tools.write_script(script())
        for path in paths:
            name = os.path.basename(path)
            try:
                p = subprocess.run(
                    [SIEVE_TEST, "-c",
                     tools.conf, sc, path], stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE, text=True, errors="replace",
                    timeout=TIMEOUT)
            except subprocess.TimeoutExpired:
                failures += 1
                print("FAIL %s: sieve-test did not finish in %ds"
                      % (name, TIMEOUT))
                continue
            got = folders(p.stdout)
            if p.returncode != 0 or got != ["R"]:
                failures += 1
                print("FAIL %s: exit %d, result %r\n%s"
                      % (name, p.returncode, got, p.stderr[-2000:]))
        print("%d messages, %d failed" % (len(paths), failures))
    finally:
        tools.close()
        shutil.rmtree(hostile, ignore_errors=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
