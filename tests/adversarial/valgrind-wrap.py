#!/usr/bin/env python3
"""Run one real-Dovecot test script with Dovecot's mail processes under
valgrind memcheck, then report the memcheck errors whose stack includes
this project's code.

    valgrind-wrap.py LOGDIR TEST_SCRIPT [ARGS...]

It imports tests/integration/dovecot_env.py and, before running the test
script in the same interpreter, patches DovecotEnv so that every Dovecot
it starts runs lmtp, imap and managesieve as
`valgrind --log-file=LOGDIR/vg.%p.log <binary>` (with no address space
limit, which valgrind needs), and so that dovecot-lda, doveadm and the
sieve-test/sievec/sieve-dump of tests/sieve/sieve_common.py run under
valgrind too. The test script is unchanged: it must pass as
usual. Exit status: the test's own if it failed; 1 if a valgrind log has
an error (invalid access, uninitialised value use, definite leak, ...)
whose stack mentions bounceinfo; else 0.
"""
import glob
import os
import re
import runpy
import stat
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
INTEGRATION = os.path.join(os.path.dirname(HERE), "integration")
VALGRIND = "/usr/bin/valgrind"
# memcheck options: full leak check of definite leaks, our frames visible
VG_OPTS = ("--tool=memcheck --leak-check=full --show-leak-kinds=definite "
           "--errors-for-leak-kinds=definite --num-callers=40 "
           "--track-origins=yes --child-silent-after-fork=yes "
           "--suppressions=%s" % os.path.join(HERE, "valgrind.supp"))
OUR_CODE = re.compile(r"bounceinfo", re.I)
SLOWDOWN = int(os.environ.get("VALGRIND_SLOWDOWN", "6"))


def make_wrapper(logdir, binary, name):
    path = os.path.join(logdir, "vg-" + name)
    with open(path, "w") as f:
        f.write("#!/bin/sh\nexec %s %s --log-file=%s/vg.%s.%%p.log %s "
                "\"$@\"\n" % (VALGRIND, VG_OPTS, logdir, name, binary))
    os.chmod(path, 0o755)
    return path


def patch(logdir):
    sys.path.insert(0, INTEGRATION)
    import dovecot_env

    dovecot_env.DOVECOT_LDA = make_wrapper(logdir, dovecot_env.DOVECOT_LDA,
                                           "dovecot-lda")
    dovecot_env.DOVEADM = make_wrapper(logdir, dovecot_env.DOVEADM,
                                       "doveadm")
    orig_config = dovecot_env.DovecotEnv._config

    def _config(self):
        conf = orig_config(self)
        conf += "\n# valgrind-wrap.py: memcheck every mail process\n"
        conf += "default_vsz_limit = 0\n"
        for svc in ("lmtp", "imap", "managesieve"):
            conf += ("service %s {\n  executable = %s %s "
                     "--log-file=%s/vg.%s.%%p.log /usr/lib/dovecot/%s\n"
                     "}\n" % (svc, VALGRIND, VG_OPTS, logdir, svc, svc))
        # valgrind makes process start-up slow
        conf += "service lmtp {\n  idle_kill = 60s\n}\n"
        return conf

    dovecot_env.DovecotEnv._config = _config

    # everything runs several times slower under memcheck: stretch the
    # harness' waits (the tests' own expectations are unchanged)
    orig_wait = dovecot_env.DovecotEnv.wait_for_log
    orig_init = dovecot_env.DovecotEnv.__init__

    def wait_for_log(self, pattern, timeout=10):
        return orig_wait(self, pattern, timeout=timeout * SLOWDOWN)

    def __init__(self, *args, **kwargs):
        orig_init(self, *args, **kwargs)
        self.start_timeout *= SLOWDOWN

    dovecot_env.DovecotEnv.wait_for_log = wait_for_log
    dovecot_env.DovecotEnv.__init__ = __init__

    # the sieve-test/sievec based tests (tests/sieve/sieve_common.py)
    sys.path.insert(0, os.path.join(os.path.dirname(HERE), "sieve"))
    try:
        import sieve_common
    except ImportError:
        return
    for var in ("SIEVE_TEST", "SIEVEC", "SIEVE_DUMP"):
        prog = getattr(sieve_common, var, None)
        if prog:
            setattr(sieve_common, var, make_wrapper(
                logdir, prog, os.path.basename(prog)))


# pcre2's JIT code scans subjects with wide loads that may read initialised
# string bytes together with the uninitialised slack behind the NUL in the
# same (data stack) block: memcheck reports "uninitialised value" in
# anonymous JIT code ("at 0x...: ???" as the first frame). Invalid reads or
# writes from JIT code are still counted.
JIT_UNINIT = re.compile(r"(Conditional jump or move depends on uninitialised|"
                        r"Use of uninitialised value)[^\n]*\n"
                        r"==\d+==    at 0x[0-9A-F]+: \?\?\?\n")


def scan(logdir):
    """Error blocks (as text) from the memcheck logs that name our code."""
    bad = []
    total = 0
    jit = 0
    for log in sorted(glob.glob(os.path.join(logdir, "vg.*.log"))):
        with open(log, errors="replace") as f:
            text = f.read()
        # an error block: lines "==PID== ..." separated by "==PID== " blanks
        blocks = re.split(r"\n==\d+== \n", text)
        for b in blocks:
            if re.search(r"(Invalid (read|write|free)|uninitialised|"
                         r"Mismatched free|are definitely lost|Syscall param|"
                         r"Source and destination overlap|"
                         r"Argument .* fishy|invalid file descriptor)", b):
                total += 1
                if JIT_UNINIT.search(b):
                    jit += 1
                elif OUR_CODE.search(b):
                    bad.append("%s:\n%s" % (log, b))
    return total, bad, jit


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    logdir = os.path.abspath(sys.argv[1])
    script = sys.argv[2]
    os.makedirs(logdir, exist_ok=True)
    # the mail processes run as the unprivileged test user
    os.chmod(logdir, os.stat(logdir).st_mode | stat.S_IWOTH | stat.S_IXOTH |
             stat.S_IROTH | stat.S_ISVTX)
    patch(logdir)
    # tests/adversarial/run-delivery's own time bound
    os.environ.setdefault("DELIVERY_SLOWDOWN", str(SLOWDOWN * 4))
    sys.argv = [script] + sys.argv[3:]
    rc = 0
    try:
        res = runpy.run_path(script, run_name="__main__")
    except SystemExit as e:
        rc = e.code if isinstance(e.code, int) else (0 if e.code is None
                                                     else 1)
    else:
        rc = 0
    total, bad, jit = scan(logdir)
    n_logs = len(glob.glob(os.path.join(logdir, "vg.*.log")))
    print("valgrind-wrap: %s: test exit %d, %d process logs, %d memcheck "
          "errors (%d pcre2 JIT read-ahead), %d in bounceinfo code"
          % (os.path.basename(script), rc, n_logs, total, jit, len(bad)))
    for b in bad:
        print(b)
    if rc not in (0, 77):
        return rc
    if rc == 77:
        return 77
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
