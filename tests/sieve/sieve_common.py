"""Shared helpers for the sieve-test / sievec based tests of the Sieve
bounceinfo extension (tests/sieve/).

Everything runs Pigeonhole's own command line tools against a tiny private
configuration that loads lib90_sieve_bounceinfo_plugin.so from the build
tree; no Dovecot daemon is started.  Python 3 standard library only.
"""

import json
import os
import pwd
import shutil
import subprocess
import sys
import tempfile

# the helpers shared with tests/integration (source, build and corpus
# directories, check reporting), re-exported from here
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "integration"))
from bounceinfo_testlib import (SKIP, Checker, corpus_dir, eml_dir,  # noqa: E402,F401,E501
                                srcdir_builddir)
from dovecot_env import (CONFIG_VERSION_24, is_dovecot24,  # noqa: E402
                         plugin_settings24)

SIEVE_TEST = "/usr/bin/sieve-test"
SIEVEC = "/usr/bin/sievec"
SIEVE_DUMP = "/usr/bin/sieve-dump"
# unprivileged account sieve-test switches to when run as root (the same
# one tests/integration/dovecot_env.py uses)
TEST_USER = "bounceinfo-test"


def skip(why):
    print("SKIP: " + why)
    sys.exit(SKIP)


def ensure_user():
    try:
        return pwd.getpwnam(TEST_USER)
    except KeyError:
        pass
    proc = subprocess.run(["useradd", "-r", "-M", "-s", "/usr/sbin/nologin",
                           TEST_USER], stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True)
    if proc.returncode != 0:
        skip("cannot create the test user %s: %s" % (TEST_USER, proc.stdout))
    return pwd.getpwnam(TEST_USER)


class SieveTools:
    """A private configuration for sieve-test/sievec/sieve-dump."""

    def __init__(self, extra_plugin_settings=None):
        self.srcdir, self.builddir = srcdir_builddir()
        for prog in (SIEVE_TEST, SIEVEC, SIEVE_DUMP):
            if not os.access(prog, os.X_OK):
                skip("%s is not installed (Pigeonhole)" % prog)
        self.plugin_dir = os.path.join(self.builddir, "src", "plugins",
                                       "sieve-bounceinfo", ".libs")
        so = os.path.join(self.plugin_dir,
                          "lib90_sieve_bounceinfo_plugin.so")
        if not os.path.exists(so):
            raise SystemExit("FAIL: %s not built" % so)
        self.tmpdir = tempfile.mkdtemp(prefix="bounceinfo-sieve-")
        os.chmod(self.tmpdir, 0o755)
        lines = ["mail_location = maildir:%s/mail" % self.tmpdir]
        if os.geteuid() == 0:
            pw = ensure_user()
            lines += ["mail_uid = %d" % pw.pw_uid,
                      "mail_gid = %d" % pw.pw_gid,
                      "first_valid_uid = %d" % pw.pw_uid]
            # binaries are saved next to the scripts as that user
            os.chown(self.tmpdir, pw.pw_uid, pw.pw_gid)
        plugin = {
            "sieve_plugin_dir": self.plugin_dir,
            "sieve_plugins": "sieve_bounceinfo",
            "sieve_extensions": "+editheader",
            "bounceinfo_datadir": self.srcdir,
            "bounceinfo_language": "en",
        }
        plugin.update(extra_plugin_settings or {})
        if is_dovecot24():
            # the same settings in Dovecot 2.4 syntax
            lines = ["dovecot_config_version = %s" % CONFIG_VERSION_24,
                     "dovecot_storage_version = %s" % CONFIG_VERSION_24,
                     "mail_driver = maildir",
                     "mail_path = %s/mail" % self.tmpdir] + lines[1:]
            lines.append(plugin_settings24(plugin))
        else:
            lines.append("plugin {")
            lines += ["  %s = %s" % kv for kv in plugin.items()]
            lines.append("}")
        self.conf = os.path.join(self.tmpdir, "dovecot.conf")
        with open(self.conf, "w") as f:
            f.write("\n".join(lines) + "\n")
        self.n = 0

    def close(self):
        if os.environ.get("BOUNCEINFO_KEEP_TMP") == "1":
            print("kept " + self.tmpdir)
        else:
            shutil.rmtree(self.tmpdir, ignore_errors=True)

    def write_script(self, text, name=None):
        self.n += 1
        path = os.path.join(self.tmpdir, name or "s%d.sieve" % self.n)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        os.chmod(path, 0o644)
        return path

    def run(self, argv):
        return subprocess.run(argv, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True,
                              errors="replace")

    def sievec(self, script_path, out=None):
        # (sievec takes "-" as a file name, not as standard output)
        if out is None:
            out = os.path.join(self.tmpdir, "sievec-out.svbin")
        return self.run([SIEVEC, "-c", self.conf, script_path, out])

    def sieve_dump(self, binary_path):
        return self.run([SIEVE_DUMP, "-c", self.conf, binary_path])

    def sieve_test(self, script_path, mail_path, *args):
        return self.run([SIEVE_TEST, "-c", self.conf] + list(args)
                        + [script_path, mail_path])


def folders(output):
    """Folders of the 'store message in folder:' actions sieve-test printed."""
    prefix = "store message in folder: "
    res = []
    for line in output.splitlines():
        line = line.strip()
        if line.startswith("* " + prefix):
            res.append(line[len("* " + prefix):])
    return res


def cli_results(builddir, srcdir, paths, lang=None):
    """The library's own view (bounceinfo --json) of each message:
    {path: result}."""
    cli = os.path.join(builddir, "src", "cli", "bounceinfo")
    if not os.access(cli, os.X_OK):
        raise SystemExit("FAIL: %s not built" % cli)
    env = dict(os.environ)
    env["LD_LIBRARY_PATH"] = "/usr/lib/dovecot" + (
        ":" + env["LD_LIBRARY_PATH"] if env.get("LD_LIBRARY_PATH") else "")
    argv = [cli, "--json", "-d", srcdir]
    if lang:
        argv.append("--lang=" + lang)
    res = {}
    # in chunks: argv length
    for i in range(0, len(paths), 200):
        proc = subprocess.run(argv + paths[i:i + 200],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, env=env)
        if proc.returncode not in (0, 1):
            raise SystemExit("FAIL: bounceinfo CLI exited %d: %s"
                             % (proc.returncode, proc.stderr))
        wanted = set(paths[i:i + 200])
        for line in proc.stdout.splitlines():
            if line.strip():
                obj = json.loads(line)
                name = obj["file"]
                if name not in wanted:
                    # a file starting with an mbox "From " line is read as
                    # an mbox: "<path>#1" is its (only) message
                    base = name.rsplit("#", 1)[0]
                    if base not in wanted or base in res:
                        continue
                    name = base
                res[name] = obj
    return res


def read_message(path):
    """The message as an MTA would hand it over: without a leading mbox
    "From " line."""
    with open(path, "rb") as f:
        raw = f.read()
    if raw.startswith(b"From "):
        raw = raw.split(b"\n", 1)[1] if b"\n" in raw else b""
    return raw


def sieve_quote(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


_CONTROL = set(range(0x00, 0x20)) | {0x7f} | set(range(0x80, 0xa0)) | \
    {0x2028, 0x2029}


def sanitize(value, max_bytes=0):
    """What the extension makes of a value (ext_bounceinfo_sanitize()):
    control characters become one space, runs of spaces collapse, ends are
    trimmed, and the UTF-8 is cut at max_bytes on a character boundary."""
    out = []
    space = True
    for ch in value:
        if ord(ch) in _CONTROL or ch == " ":
            if not space:
                out.append(" ")
            space = True
        else:
            out.append(ch)
            space = False
    s = "".join(out).rstrip(" ")
    if max_bytes:
        b = s.encode("utf-8")
        if len(b) > max_bytes:
            b = b[:max_bytes]
            s = b.decode("utf-8", "ignore")
    return s
