"""A throwaway, real Dovecot for the integration tests and the demo.

    from dovecot_env import DovecotEnv
    with DovecotEnv(builddir, srcdir, mail_plugins=True, sieve=True) as env:
        env.lmtp_deliver(raw_bytes, rcpt="testuser")
        imap = env.imap()
        env.doveadm("bounceinfo", "list", "-u", env.user, "ALL")

Everything lives in a private temporary directory (configuration, base_dir,
state_dir, log, the test user's Maildir); the daemon listens on 127.0.0.1
only, on ports picked free at start.  No system file is written, except that
an unprivileged system user (USER_NAME) is created once with useradd when it
does not exist: mail processes need a uid that is not root.

Plugins come from the build tree (libtool's .libs/ directories):
- mail plugin: a module directory of symlinks (all of Dovecot's modules plus
  ours) set as mail_plugin_dir;
- Sieve plugin: a directory of symlinks set as sieve_plugin_dir;
- Dovecot 2.4 settings module (libbounceinfo_settings.so, which tells
  every 2.4 process the bounceinfo_* settings): Dovecot reads it only from
  its compiled-in settings module directory.  On 2.4, importing this module
  as root with BOUNCEINFO_BUILDDIR set re-runs the test script in a private
  mount namespace (unshare --mount) where a copy of that directory plus the
  build tree's module is bind-mounted over it; every process the test
  starts inherits it, nothing outside sees it.  BOUNCEINFO_SYSTEM_SETTINGS=1
  (test_package.py) keeps the system's own directory.
- doveadm plugin: doveadm only loads plugins from its compiled-in
  DOVEADM_MODULEDIR (/usr/lib/dovecot/modules/doveadm, no setting or
  environment variable overrides it).  Rather than installing into that
  system directory, doveadm() runs doveadm in a private mount namespace
  (unshare --mount) where a private copy of that directory, with our plugin
  added, is bind-mounted over it.  Nothing outside that one doveadm process
  sees the change.  Without unshare (not root, or no CAP_SYS_ADMIN) doveadm
  runs with the system plugins only and doveadm_plugin_loaded is False.

Environment: BOUNCEINFO_KEEP_TMP=1 keeps the temporary directory (its path is
printed on exit) for post-mortem reading of dovecot.conf and dovecot.log.

Python 3 standard library only.
"""

import atexit
import glob
import imaplib
import os
import pwd
import re
import shutil
import signal
import smtplib
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

DOVECOT = "/usr/sbin/dovecot"
DOVECOT_LDA = "/usr/lib/dovecot/dovecot-lda"
DOVEADM = "/usr/bin/doveadm"
SIEVE_TEST = "/usr/bin/sieve-test"
SYSTEM_MODULEDIR = "/usr/lib/dovecot/modules"
SYSTEM_SIEVE_PLUGINDIR = SYSTEM_MODULEDIR + "/sieve"
SYSTEM_DOVEADM_MODULEDIR = SYSTEM_MODULEDIR + "/doveadm"
SYSTEM_SETTINGS_MODULEDIR = SYSTEM_MODULEDIR + "/settings"
SETTINGS_MODULE_DIR = "src/plugins/settings"
SETTINGS_MODULE_SO = "libbounceinfo_settings.so"

USER_NAME = "bounceinfo-test"  # system account owning the mail files
LOGIN = "testuser"             # Dovecot's (virtual) user name
PASSWORD = "bounceinfo-test-password"

# Build tree locations of the plugins (libtool outputs).
MAIL_PLUGIN_DIR = "src/plugins/bounceinfo"
SIEVE_PLUGIN_DIR = "src/plugins/sieve-bounceinfo"
DOVEADM_PLUGIN_DIR = "src/plugins/doveadm-bounceinfo"
MAIL_PLUGIN_SO = "lib20_bounceinfo_plugin.so"
SIEVE_PLUGIN_SO = "lib90_sieve_bounceinfo_plugin.so"


class DovecotEnvError(Exception):
    """Dovecot could not be set up, started or used."""


class DovecotEnvUnavailable(DovecotEnvError):
    """This machine cannot run the environment at all (e.g. not root).
    Test scripts should exit 77 (automake SKIP) on it."""


_live_envs = set()


def _atexit_stop_all():
    for env in list(_live_envs):
        try:
            env.stop()
        except Exception:
            pass


atexit.register(_atexit_stop_all)


def _install_sigterm_handler():
    """make check's timeout or a CI runner ends tests with SIGTERM, which
    would skip atexit: turn it into SystemExit so Dovecot is stopped."""
    try:
        if signal.getsignal(signal.SIGTERM) == signal.SIG_DFL:
            signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(143))
    except ValueError:
        pass  # not the main thread


def free_port():
    return free_ports(1)[0]


def free_ports(count):
    """count distinct free TCP ports on 127.0.0.1 (all held open while
    choosing, so they differ from each other)."""
    socks = []
    try:
        for _ in range(count):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            socks.append(s)
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def ensure_user():
    """Return the pwd entry of the unprivileged test user, creating it."""
    try:
        return pwd.getpwnam(USER_NAME)
    except KeyError:
        pass
    if os.geteuid() != 0:
        raise DovecotEnvUnavailable(
            "system user %s is missing and only root can create it" % USER_NAME)
    proc = subprocess.run(
        ["useradd", "-r", "-M", "-s", "/usr/sbin/nologin", USER_NAME],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        return pwd.getpwnam(USER_NAME)
    except KeyError:
        raise DovecotEnvError("useradd %s failed: %s" % (USER_NAME, proc.stdout))


def _session_pids(sid):
    """Pids of live processes in session sid (Dovecot's master calls setsid
    when it daemonizes, so all its children share its session id)."""
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry) as f:
                stat = f.read()
        except OSError:
            continue
        # the command may contain spaces and parentheses: split after ')'
        fields = stat[stat.rfind(")") + 2:].split()
        # fields[0] = state, [1] = ppid, [2] = pgrp, [3] = session
        if len(fields) > 3 and fields[0] != "Z" and int(fields[3]) == sid:
            pids.append(int(entry))
    return pids


def _system_modules(directory):
    """Dovecot's installed modules, without an installed copy of ours
    (dovecot-bounceinfo package): the build tree's must be the one used."""
    return [so for so in glob.glob(os.path.join(directory, "*.so"))
            if "bounceinfo" not in os.path.basename(so)]


def _find_plugin(builddir, subdir, pattern, what):
    libs = os.path.join(builddir, subdir, ".libs")
    found = sorted(glob.glob(os.path.join(libs, pattern)))
    if not found:
        raise DovecotEnvError(
            "%s not built: no %s in %s (run make in %s first)"
            % (what, pattern, libs, builddir))
    return found[0]


_dovecot_version = None


def dovecot_version():
    """(major, minor) of the installed Dovecot, from dovecot --version."""
    global _dovecot_version
    if _dovecot_version is None:
        try:
            out = subprocess.run([DOVECOT, "--version"], stdout=subprocess.PIPE,
                                 stderr=subprocess.DEVNULL, text=True).stdout
        except OSError:
            out = ""
        m = re.match(r"(\d+)\.(\d+)", out.strip())
        _dovecot_version = (int(m.group(1)), int(m.group(2))) if m else (2, 3)
    return _dovecot_version


def is_dovecot24():
    return dovecot_version() >= (2, 4)


# Dovecot 2.4 configuration syntax (doc/dovecot-2.4.md): the tests give
# settings in 2.3 terms (plugin_settings, a few extra_conf idioms) and these
# helpers write them the 2.4 way, so every test runs on both versions.
CONFIG_VERSION_24 = "2.4.1"


def _boollist24(name, value, indent=""):
    """2.3 list value ("a b", "+a -b") as a 2.4 boollist block that adds
    to (+/-) or replaces (plain list) the default."""
    words = value.split()
    if words and all(w[0] in "+-" for w in words):
        out = "%s%s {\n" % (indent, name)
        for w in words:
            out += "%s  %s = %s\n" % (indent, w[1:], "yes" if w[0] == "+"
                                       else "no")
        return out + indent + "}\n"
    return "%s%s = %s\n" % (indent, name, value)


def _sieve_location24(location):
    """A 2.3 Sieve location "file:PATH;bindir=DIR" as 2.4 settings."""
    if location.startswith("file:"):
        location = location[len("file:"):]
    parts = location.split(";")
    lines = ["driver = file", "path = %s" % parts[0]]
    for opt in parts[1:]:
        key, _, val = opt.partition("=")
        if key == "bindir":
            lines.append("bin_path = %s" % val)
        elif key == "active":
            lines.append("active_path = %s" % val)
    return lines


def plugin_settings24(settings):
    """Translate 2.3 plugin { } settings (dict) into 2.4 configuration."""
    out = ""
    imapsieve = {}
    n = 0
    for key, value in settings.items():
        value = str(value)
        if key in ("sieve_plugins", "sieve_extensions",
                   "sieve_global_extensions"):
            if key == "sieve_plugins":
                value = " ".join("+" + w for w in value.split())
            out += _boollist24(key, value)
        elif key in ("sieve_before", "sieve_after") or re.match(
                r"sieve_(before|after)\d+$", key):
            n += 1
            out += "sieve_script %s_%d {\n  type = %s\n" % (
                key, n, "before" if "before" in key else "after")
            out += "".join("  %s\n" % l for l in _sieve_location24(value))
            out += "}\n"
        elif key == "sieve":
            out += "sieve_script personal {\n"
            out += "".join("  %s\n" % l for l in _sieve_location24(value))
            out += "}\n"
        elif re.match(r"imapsieve_mailbox\d+_", key):
            num, _, field = key[len("imapsieve_mailbox"):].partition("_")
            imapsieve.setdefault(num, {})[field] = value
        else:
            out += "%s = %s\n" % (key, value)
    for num, mb in sorted(imapsieve.items()):
        # 2.4: a sieve_script of type before inside the mailbox
        out += "namespace inbox {\n  mailbox %s {\n" % mb["name"]
        out += "    sieve_script imapsieve_%s {\n      type = before\n" % num
        if "causes" in mb:
            out += "      cause = %s\n" % mb["causes"].lower()
        out += "".join("      %s\n" % l
                       for l in _sieve_location24(mb.get("before", "")))
        out += "    }\n  }\n}\n"
    return out


def userdb_fields24(fields):
    """userdb extra fields (passwd-file, "a=b c=d") in 2.4 terms: a global
    script set to nothing for one user (sieve_after=) empties the path of
    the sieve_script block plugin_settings24() made of it."""
    def script(m):
        return "%ssieve_script/%s_1/path=%s" % (m.group(1), m.group(2),
                                               m.group(3))
    return re.sub(r"(\buserdb_)(sieve_before|sieve_after)=(\S*)", script,
                  fields)


def config_text24(text):
    """2.3 idioms of raw configuration text in 2.4 syntax: list appends
    "x = $x a b" become { a = yes } blocks, inet_listener address becomes
    listen, mail_location is split into mail_driver, mail_path, ...,
    service_count is restart_request_count, metric group_by = a b
    becomes group_by a { } group_by b { }."""
    def list_append(m):
        indent, name, words = m.group(1), m.group(2), m.group(3).split()
        out = "%s%s {\n" % (indent, name)
        for w in words:
            out += "%s  %s = yes\n" % (indent, w)
        return out + indent + "}"
    text = re.sub(r"(?m)^([ \t]*)(mail_plugins|sieve_plugins)[ \t]*=[ \t]*"
                  r"\$\2\b[ \t]*(.*)$", list_append, text)
    text = re.sub(r"(?m)^([ \t]*)address[ \t]*=", r"\1listen =", text)

    # mail_location = driver:path[:KEY=value...] is split up in 2.4
    def mail_location(m):
        indent, parts = m.group(1), m.group(2).strip().split(":")
        keys = {"INDEX": "mail_index_path", "CONTROL": "mail_control_path",
                "INBOX": "mail_inbox_path", "LAYOUT": "mailbox_list_layout"}
        out = ["%smail_driver = %s" % (indent, parts[0])]
        if len(parts) > 1:
            out.append("%smail_path = %s" % (indent, parts[1]))
        for opt in parts[2:]:
            key, _, val = opt.partition("=")
            out.append("%s%s = %s" % (indent, keys[key], val))
        return "\n".join(out)
    text = re.sub(r"(?m)^([ \t]*)mail_location[ \t]*=(.*)$", mail_location,
                  text)
    # renamed in 2.4
    text = re.sub(r"(?m)^([ \t]*)service_count[ \t]*=",
                  r"\1restart_request_count =", text)
    # metric { group_by = a b } is a list of named filters on 2.4
    def group_by(m):
        indent = m.group(1)
        return "\n".join("%sgroup_by %s {\n%s}" % (indent, w, indent)
                         for w in m.group(2).split())
    text = re.sub(r"(?m)^([ \t]*)group_by[ \t]*=[ \t]*(.*)$", group_by, text)
    return text


# The test user's mailboxes, the same in 2.3 and 2.4 syntax.
NAMESPACE_CONF = """\
namespace inbox {
  inbox = yes
  separator = /
  mailbox Drafts {
    special_use = \\Drafts
    auto = create
  }
  mailbox Sent {
    special_use = \\Sent
    auto = create
  }
  mailbox Junk {
    special_use = \\Junk
  }
  mailbox Trash {
    special_use = \\Trash
  }
}"""


class DovecotEnv:
    def __init__(self, builddir=None, srcdir=None, mail_plugins=True,
                 sieve=True, extra_conf="", sieve_before=None,
                 sieve_after=None,
                 plugin_settings=None, doveadm_plugin=None,
                 sieve_extensions=None, debug=False, user_sieve=None,
                 start_timeout=20, installed=False, extra_users=None):
        """builddir/srcdir default to $BOUNCEINFO_BUILDDIR/$BOUNCEINFO_SRCDIR.
        mail_plugins: load our mail plugin (mail_plugins = ... bounceinfo).
        sieve: LMTP/LDA run Sieve with our sieve_bounceinfo plugin.
        sieve_before: path of a global script (file or directory), copied
          into the private directory so Pigeonhole can store its binary.
        sieve_after: the same for sieve_after (given to Dovecot as the
          plugin setting sieve_after): run after the user's script while
          the implicit keep stands.
        user_sieve: text of the user's active personal script, if any.
        extra_conf: raw text appended to dovecot.conf.
        plugin_settings: dict added to plugin { }.
        doveadm_plugin: load our doveadm plugin in doveadm() (default:
          same as mail_plugins).
        sieve_extensions: value for the sieve_extensions setting (default
          "+bounceinfo"; "" leaves the setting out: Pigeonhole's default).
        debug: mail_debug = yes (and auth_debug).
        installed: test an installed package instead of the build tree:
          Dovecot's own module directories and data directory, no plugin
          settings from here (mail_plugins and sieve are forced off; give
          the configuration in extra_conf, e.g. an !include of the
          installed conf.d snippet).
        extra_users: more users besides the test user, a list of dicts:
          {"name": "bob", "userdb": {"bounceinfo_language": "de"},
           "user_sieve": "..."}; userdb fields (optional) override plugin
          settings for that user only, as a real userdb would; each user
          has the test user's password and a home of its own
          (self.homes[name])."""
        self.builddir = os.path.abspath(
            builddir or os.environ.get("BOUNCEINFO_BUILDDIR") or ".")
        self.srcdir = os.path.abspath(
            srcdir or os.environ.get("BOUNCEINFO_SRCDIR") or self.builddir)
        self.installed = installed
        self.mail_plugins = mail_plugins and not installed
        self.sieve = sieve and not installed
        self.sieve_before = sieve_before
        self.sieve_after = sieve_after
        self.user_sieve = user_sieve
        self.extra_users = [dict(u) for u in (extra_users or [])]
        self.extra_conf = extra_conf or ""
        self.plugin_settings = dict(plugin_settings or {})
        self.doveadm_plugin = (self.mail_plugins if doveadm_plugin is None
                               else doveadm_plugin) and not installed
        self.sieve_extensions = sieve_extensions
        self.debug = debug
        self.start_timeout = start_timeout
        self.user = LOGIN
        self.password = PASSWORD
        self.host = "127.0.0.1"
        self.tmpdir = None
        self.master_pid = None
        self.doveadm_plugin_loaded = False
        self._started = False

    # ---- life cycle -------------------------------------------------------

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, exc_type, exc, tb):
        self.stop()
        return False

    def start(self):
        if os.geteuid() != 0:
            raise DovecotEnvUnavailable(
                "the Dovecot test environment must run as root "
                "(Dovecot's master and mail uid switching)")
        for prog in (DOVECOT, DOVEADM):
            if not os.access(prog, os.X_OK):
                raise DovecotEnvUnavailable("%s is not installed" % prog)
        self.pw = ensure_user()
        _install_sigterm_handler()
        self.tmpdir = tempfile.mkdtemp(prefix="bounceinfo-dovecot-")
        _live_envs.add(self)
        try:
            self._prepare()
            for attempt in range(3):
                try:
                    self._start_daemon()
                    break
                except DovecotEnvError as e:
                    # another process took a port between choosing and
                    # binding it: choose again
                    if "Address already in use" not in str(e) or \
                            attempt == 2 or self._started:
                        raise
                    self._write_config()
        except BaseException:
            self.stop()
            raise
        return self

    def _private_script(self, script, name):
        """Copy a global Sieve script (file or directory) into the private
        directory name, owned by the mail user so Pigeonhole can save the
        compiled binary beside it; return the path to configure."""
        dst = os.path.join(self.tmpdir, name)
        src = os.path.abspath(script)
        if os.path.isdir(src):
            shutil.copytree(src, dst)
            path = dst
        else:
            os.makedirs(dst)
            path = os.path.join(dst, os.path.basename(src))
            shutil.copy2(src, path)
        for dirpath, _, files in os.walk(dst):
            for p in [dirpath] + [os.path.join(dirpath, f) for f in files]:
                os.lchown(p, self.pw.pw_uid, self.pw.pw_gid)
        return path

    def _prepare(self):
        t = self.tmpdir
        if self.sieve_after:  # beside sieve_before's copy below
            self.plugin_settings.setdefault("sieve_after", self._private_script(
                self.sieve_after, "sieve-after"))
        os.chmod(t, 0o755)
        self.conf_path = os.path.join(t, "dovecot.conf")
        self.base_dir = os.path.join(t, "run")
        self.state_dir = os.path.join(t, "state")
        self.log_path = os.path.join(t, "dovecot.log")
        self.home = os.path.join(t, "home")
        self.maildir = os.path.join(self.home, "Maildir")
        self.passwd_path = os.path.join(t, "passwd")
        self.moduledir = os.path.join(t, "modules")
        self.sieve_plugindir = os.path.join(t, "sieve-plugins")
        self.doveadm_moduledir = os.path.join(t, "doveadm-modules")
        for d in (self.state_dir, self.moduledir):
            os.makedirs(d)
        os.makedirs(self.maildir)
        # the log is also written by dovecot-lda after it dropped root
        open(self.log_path, "a").close()
        os.chmod(self.log_path, 0o666)

        uid, gid = self.pw.pw_uid, self.pw.pw_gid
        self.homes = {self.user: self.home}
        with open(self.passwd_path, "w") as f:
            f.write("%s:{PLAIN}%s:%d:%d::%s::\n"
                    % (self.user, self.password, uid, gid, self.home))
            for u in self.extra_users:
                home = os.path.join(t, "home-" + u["name"])
                self.homes[u["name"]] = home
                os.makedirs(os.path.join(home, "Maildir"))
                fields = " ".join("userdb_%s=%s" % (k, v) for k, v in
                                  sorted(u.get("userdb", {}).items()))
                f.write("%s:{PLAIN}%s:%d:%d::%s::%s\n"
                        % (u["name"], self.password, uid, gid, home, fields))
        os.chmod(self.passwd_path, 0o644)

        # mail plugin directory: Dovecot's modules plus ours
        for so in _system_modules(SYSTEM_MODULEDIR):
            os.symlink(so, os.path.join(self.moduledir, os.path.basename(so)))
        if self.mail_plugins:
            so = _find_plugin(self.builddir, MAIL_PLUGIN_DIR,
                              "*bounceinfo_plugin.so", "mail plugin")
            os.symlink(so, os.path.join(self.moduledir, MAIL_PLUGIN_SO))

        # Pigeonhole plugin directory: Pigeonhole's plugins plus ours
        os.makedirs(self.sieve_plugindir)
        for so in _system_modules(SYSTEM_SIEVE_PLUGINDIR):
            os.symlink(so, os.path.join(self.sieve_plugindir,
                                        os.path.basename(so)))
        if self.sieve:
            so = _find_plugin(self.builddir, SIEVE_PLUGIN_DIR,
                              "*sieve_bounceinfo_plugin.so", "Sieve plugin")
            os.symlink(so, os.path.join(self.sieve_plugindir, SIEVE_PLUGIN_SO))

        # doveadm plugin directory: a copy (not symlinks: it is bind-mounted
        # over the system directory the symlinks would point into)
        if self.doveadm_plugin:
            os.makedirs(self.doveadm_moduledir)
            for so in _system_modules(SYSTEM_DOVEADM_MODULEDIR):
                shutil.copy2(so, self.doveadm_moduledir)
            so = _find_plugin(self.builddir, DOVEADM_PLUGIN_DIR,
                              "*doveadm_bounceinfo_plugin.so", "doveadm plugin")
            shutil.copy2(so, os.path.join(self.doveadm_moduledir,
                                          os.path.basename(so)))
            self.doveadm_plugin_loaded = self._can_unshare()

        # global Sieve script: private copy, owned by the mail user so
        # Pigeonhole can save the compiled binary next to it
        self.sieve_before_path = None
        if self.sieve_before:
            dst = os.path.join(t, "sieve-before")
            src = os.path.abspath(self.sieve_before)
            if os.path.isdir(src):
                shutil.copytree(src, dst)
                self.sieve_before_path = dst
            else:
                os.makedirs(dst)
                self.sieve_before_path = os.path.join(
                    dst, os.path.basename(src))
                shutil.copy2(src, self.sieve_before_path)
        scripts = [(self.home, self.user_sieve)] + [
            (self.homes[u["name"]], u.get("user_sieve"))
            for u in self.extra_users]
        for home, script in scripts:
            if script is None:
                continue
            sdir = os.path.join(home, "sieve")
            os.makedirs(sdir)
            with open(os.path.join(sdir, "user.sieve"), "w") as f:
                f.write(script)
            os.symlink("sieve/user.sieve",
                       os.path.join(home, ".dovecot.sieve"))

        for root in list(self.homes.values()) + (
                [os.path.join(t, "sieve-before")]
                if self.sieve_before else []):
            for dirpath, dirnames, filenames in os.walk(root):
                os.chown(dirpath, uid, gid)
                for name in filenames:
                    os.lchown(os.path.join(dirpath, name), uid, gid)
        for home in self.homes.values():
            os.chmod(home, 0o700)

        self._write_config()

    def _write_config(self):
        (self.imap_port, self.lmtp_port, self.managesieve_port,
         self.metrics_port) = free_ports(4)
        self.metrics_url = "http://127.0.0.1:%d/metrics" % self.metrics_port
        with open(self.conf_path, "w") as f:
            f.write(self._config())

    def _server_conf(self, protocols, moduledir):
        """The settings spelled the same in 2.3 and 2.4."""
        return """\
instance_name = bounceinfo-test-{port}
base_dir = {base_dir}
state_dir = {state_dir}
log_path = {log_path}
protocols = {protocols}
listen = 127.0.0.1
ssl = no
auth_mechanisms = plain login
hostname = localhost
postmaster_address = postmaster@localhost
first_valid_uid = {uid}
last_valid_uid = 0
mail_uid = {uid}
mail_gid = {gid}
mail_plugin_dir = {moduledir}
mail_debug = {debug}
auth_debug = {debug}
""".format(port=self.lmtp_port, base_dir=self.base_dir,
           state_dir=self.state_dir, log_path=self.log_path,
           protocols=protocols, uid=self.pw.pw_uid, gid=self.pw.pw_gid,
           moduledir=moduledir, debug="yes" if self.debug else "no")

    def _listeners(self, key):
        """imap, lmtp and the metrics endpoint on 127.0.0.1 (key: 2.3's
        address, 2.4's listen)"""
        return """\
service imap-login {{
  inet_listener imap {{
    {key} = 127.0.0.1
    port = {imap_port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service lmtp {{
  inet_listener lmtp {{
    {key} = 127.0.0.1
    port = {lmtp_port}
  }}
}}
service stats {{
  inet_listener http {{
    {key} = 127.0.0.1
    port = {metrics_port}
  }}
}}""".format(key=key, imap_port=self.imap_port, lmtp_port=self.lmtp_port,
             metrics_port=self.metrics_port)

    def _managesieve_listener(self, key, deprecated):
        """ManageSieve on 127.0.0.1 (key as for _listeners); 2.3 also has
        the deprecated port 2000 listener, switched off here"""
        conf = """\
service managesieve-login {{
  inet_listener sieve {{
    {key} = 127.0.0.1
    port = {port}
  }}
""".format(key=key, port=self.managesieve_port)
        if deprecated:
            conf += "  inet_listener sieve_deprecated {\n    port = 0\n  }\n"
        return conf + "}\n"

    def _plugin_settings(self):
        """The plugin { } settings (2.3 terms; translated for 2.4)."""
        plugin = {} if self.installed else {"bounceinfo_datadir": self.srcdir}
        if self.sieve:
            plugin["sieve"] = "file:~/sieve;active=~/.dovecot.sieve"
            plugin["sieve_plugin_dir"] = self.sieve_plugindir
            plugin["sieve_plugins"] = "sieve_bounceinfo"
            if self.sieve_before_path:
                plugin["sieve_before"] = self.sieve_before_path
            # the plugin registers the extension without enabling it
            # (like vnd.dovecot.pipe): enable it for every script
            if self.sieve_extensions is None:
                plugin["sieve_extensions"] = "+bounceinfo"
            elif self.sieve_extensions != "":
                plugin["sieve_extensions"] = self.sieve_extensions
        plugin.update(self.plugin_settings)
        return plugin

    def _config(self):
        if is_dovecot24():
            return self._config24()
        protocols = "imap lmtp" + (" sieve" if self.sieve else "")
        mail_plugins = "bounceinfo" if self.mail_plugins else ""
        moduledir = SYSTEM_MODULEDIR if self.installed else self.moduledir
        # installed: set up as a Sieve user's 20-lmtp.conf would be, before
        # the included conf.d snippet
        delivery_plugins = "$mail_plugins sieve" if (
            self.sieve or self.installed) else "$mail_plugins"
        conf = "# Generated by tests/integration/dovecot_env.py: a " \
            "throwaway Dovecot.\n" + self._server_conf(protocols, moduledir)
        conf += """\
disable_plaintext_auth = no
mail_location = maildir:~/Maildir
mail_plugins = {mail_plugins}

passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {passwd}
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {passwd}
}}

{namespace}

{listeners}
service pop3-login {{
  inet_listener pop3 {{
    port = 0
  }}
  inet_listener pop3s {{
    port = 0
  }}
}}
service submission-login {{
  inet_listener submission {{
    port = 0
  }}
}}

protocol lmtp {{
  mail_plugins = {delivery_plugins}
}}
protocol lda {{
  mail_plugins = {delivery_plugins}
}}
""".format(namespace=NAMESPACE_CONF, listeners=self._listeners("address"),
           mail_plugins=mail_plugins, passwd=self.passwd_path,
           delivery_plugins=delivery_plugins)
        if self.sieve:
            conf += self._managesieve_listener("address", deprecated=True)

        plugin = self._plugin_settings()
        conf += "plugin {\n"
        for k, v in plugin.items():
            conf += "  %s = %s\n" % (k, v)
        conf += "}\n"
        if self.extra_conf:
            conf += "\n# extra_conf\n" + self.extra_conf + "\n"
        return conf

    def _config24(self):
        """The same throwaway Dovecot in 2.4 syntax."""
        moduledir = SYSTEM_MODULEDIR if self.installed else self.moduledir
        protocols = "imap lmtp" + (" sieve" if self.sieve else "")

        def plugins_block(names, indent="  "):
            if not names:
                return ""
            return "%smail_plugins {\n%s%s}\n" % (
                indent, "".join("%s  %s = yes\n" % (indent, n) for n in names),
                indent)
        base = ["bounceinfo"] if self.mail_plugins else []
        delivery = base + (["sieve"] if (self.sieve or self.installed) else [])
        conf = """\
# Generated by tests/integration/dovecot_env.py: a throwaway Dovecot (2.4).
dovecot_config_version = {cv}
dovecot_storage_version = {cv}
""".format(cv=CONFIG_VERSION_24) + self._server_conf(protocols, moduledir)
        conf += """\
auth_allow_cleartext = yes
auth_username_format = %{user}
mail_driver = maildir
mail_path = ~/Maildir
"""
        conf += plugins_block(base, "")
        conf += """
passdb passwd-file {{
  passwd_file_path = {passwd}
}}
userdb passwd-file {{
  passwd_file_path = {passwd}
}}

{namespace}

{listeners}
""".format(namespace=NAMESPACE_CONF, listeners=self._listeners("listen"),
           passwd=self.passwd_path,
           imap_port=self.imap_port,
           lmtp_port=self.lmtp_port, metrics_port=self.metrics_port)
        for proto in ("lmtp", "lda"):
            conf += "protocol %s {\n%s}\n" % (proto,
                                              plugins_block(delivery))
        if self.sieve:
            conf += self._managesieve_listener("listen", deprecated=False)

        conf += plugin_settings24(self._plugin_settings())
        if self.extra_conf:
            conf += "\n# extra_conf\n" + config_text24(self.extra_conf) + "\n"
        return conf

    def _start_daemon(self):
        # not a pipe: the daemonized master would keep it open
        out_path = os.path.join(self.tmpdir, "dovecot.start.out")
        with open(out_path, "w+") as out:
            proc = subprocess.run([DOVECOT, "-c", self.conf_path],
                                  stdin=subprocess.DEVNULL, stdout=out,
                                  stderr=subprocess.STDOUT)
            out.seek(0)
            output = out.read()
        if proc.returncode != 0:
            raise DovecotEnvError(
                "dovecot -c %s failed (exit %d):\n%s\n--- log ---\n%s"
                % (self.conf_path, proc.returncode, output,
                   self.log_text()))
        self._started = True
        deadline = time.time() + self.start_timeout
        ports = [self.imap_port, self.lmtp_port]
        if self.sieve:
            ports.append(self.managesieve_port)
        while True:
            self.master_pid = self._read_master_pid()
            pending = [p for p in ports if not self._port_open(p)]
            if not pending and self.master_pid:
                return
            if time.time() > deadline:
                raise DovecotEnvError(
                    "dovecot did not open ports %s within %ds\n--- log ---\n%s"
                    % (pending, self.start_timeout, self.log_text()))
            if self.master_pid and not self._alive(self.master_pid):
                raise DovecotEnvError(
                    "dovecot exited during start\n--- log ---\n%s"
                    % self.log_text())
            time.sleep(0.1)

    def _read_master_pid(self):
        try:
            with open(os.path.join(self.base_dir, "master.pid")) as f:
                return int(f.read().strip())
        except (OSError, ValueError):
            return None

    @staticmethod
    def _alive(pid):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        try:
            with open("/proc/%d/stat" % pid) as f:
                return f.read().split(")")[-1].split()[0] != "Z"
        except OSError:
            return False

    @staticmethod
    def _port_open(port):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return True
        except OSError:
            return False

    def stop(self):
        """Stop Dovecot (doveadm stop, then signals) and remove the
        temporary directory.  Safe to call more than once."""
        if self.tmpdir is None:
            return
        pid = self.master_pid or self._read_master_pid()
        if self._started:
            try:
                subprocess.run([DOVEADM, "-c", self.conf_path, "stop"],
                               stdin=subprocess.DEVNULL,
                               stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, timeout=30)
            except (OSError, subprocess.TimeoutExpired):
                pass  # the signals below do it
            self._started = False
        if pid:
            deadline = time.time() + 10
            while self._alive(pid) and time.time() < deadline:
                time.sleep(0.1)
            if self._alive(pid):
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
            # children left behind (they share the master's session)
            deadline = time.time() + 5
            while time.time() < deadline:
                left = _session_pids(pid)
                if not left:
                    break
                for p in left:
                    try:
                        os.kill(p, signal.SIGTERM if time.time() + 3 < deadline
                                else signal.SIGKILL)
                    except OSError:
                        pass
                time.sleep(0.2)
        self.stopped_master_pid = pid
        _live_envs.discard(self)
        if os.environ.get("BOUNCEINFO_KEEP_TMP") == "1":
            print("dovecot_env: kept %s" % self.tmpdir)
        else:
            shutil.rmtree(self.tmpdir, ignore_errors=True)
        self.tmpdir = None

    def remaining_processes(self, pid=None):
        """Pids still running in the (stopped) Dovecot's session."""
        pid = pid or self.master_pid or getattr(self, "stopped_master_pid",
                                                None)
        if not pid:
            return []
        return ([pid] if self._alive(pid) else []) + [
            p for p in _session_pids(pid) if p != pid]

    # ---- delivery -------------------------------------------------------

    @staticmethod
    def _crlf(raw):
        if isinstance(raw, str):
            raw = raw.encode("utf-8")
        return re.sub(rb"\r?\n", b"\r\n", raw)

    def lmtp_deliver(self, raw, rcpt=None, mail_from=""):
        """Deliver raw (bytes) over LMTP.  rcpt: a user name or a list of
        them (default the test user); mail_from: envelope sender, default
        the null sender <> as for real bounces.  Raises DovecotEnvError
        unless every recipient got 2xx after DATA."""
        rcpts = [rcpt or self.user] if not isinstance(rcpt, (list, tuple)) \
            else list(rcpt)
        data = self._crlf(raw)
        lmtp = smtplib.LMTP("127.0.0.1", self.lmtp_port, timeout=60)
        try:
            code, msg = lmtp.ehlo("localhost")  # smtplib sends LHLO
            if code != 250:
                raise DovecotEnvError("LHLO: %d %s" % (code, msg))
            code, msg = lmtp.mail(mail_from)
            if code != 250:
                raise DovecotEnvError("MAIL FROM: %d %s" % (code, msg))
            for r in rcpts:
                code, msg = lmtp.rcpt(r)
                if code not in (250, 251):
                    raise DovecotEnvError("RCPT TO:<%s>: %d %s"
                                          % (r, code, msg))
            replies = []
            code, msg = lmtp.data(data)
            replies.append((code, msg))
            for _ in rcpts[1:]:  # LMTP: one reply per recipient
                replies.append(lmtp.getreply())
            lmtp.quit()
        except smtplib.SMTPException as e:
            raise DovecotEnvError("LMTP delivery failed: %s\n--- log ---\n%s"
                                  % (e, self.log_tail()))
        finally:
            lmtp.close()
        for r, (code, msg) in zip(rcpts, replies):
            if code // 100 != 2:
                raise DovecotEnvError(
                    "LMTP delivery to %s failed: %d %s\n--- log ---\n%s"
                    % (r, code, msg, self.log_tail()))
        return replies

    def lda_deliver(self, raw, *args, rcpt=None, mail_from=None, check=True):
        """dovecot-lda -c <conf> -d <rcpt> [-f mail_from] [args...]"""
        cmd = [DOVECOT_LDA, "-c", self.conf_path, "-d", rcpt or self.user]
        if mail_from is not None:
            cmd += ["-f", mail_from]
        cmd += list(args)
        if isinstance(raw, str):
            raw = raw.encode("utf-8")
        proc = subprocess.run(cmd, input=raw, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE)
        if check and proc.returncode != 0:
            raise DovecotEnvError(
                "%s exited %d: %s\n--- log ---\n%s"
                % (" ".join(cmd), proc.returncode,
                   proc.stderr.decode("utf-8", "replace"), self.log_tail()))
        return proc

    # ---- inspection -----------------------------------------------------

    def _can_unshare(self):
        if not shutil.which("unshare"):
            return False
        proc = subprocess.run(
            ["unshare", "--mount", "--propagation", "private", "true"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return proc.returncode == 0

    def doveadm_cmd(self, *args):
        """The argv that runs doveadm with this config (and our doveadm
        plugin, in a private mount namespace, when it is loaded)."""
        cmd = [DOVEADM, "-c", self.conf_path] + [str(a) for a in args]
        binds = []
        if self.doveadm_plugin_loaded:
            binds.append((self.doveadm_moduledir, SYSTEM_DOVEADM_MODULEDIR))
        if os.environ.get("BOUNCEINFO_SETTINGS_NS"):
            # 2.4: also the settings module, so that the command works
            # when run outside this test's namespace (the demo prints it)
            binds.append((os.environ["BOUNCEINFO_SETTINGS_NS"],
                          SYSTEM_SETTINGS_MODULEDIR))
        if binds:
            script = " && ".join('mount --bind "$%d" "$%d"' % (2 * i, 2 * i + 1)
                                 for i in range(len(binds)))
            cmd = ["unshare", "--mount", "--propagation", "private", "sh",
                   "-c", '%s && shift %d && exec "$@"' % (
                       script, 2 * len(binds) - 1)] + \
                [d for pair in binds for d in pair] + cmd
        return cmd

    def doveadm(self, *args, check=True, input=None):
        """Run doveadm -c <conf> args...; returns CompletedProcess with text
        stdout/stderr.  check: raise DovecotEnvError on non-zero exit."""
        if (self.doveadm_plugin and not self.doveadm_plugin_loaded
                and "bounceinfo" in args):
            raise DovecotEnvUnavailable(
                "doveadm %s: the build tree's doveadm plugin cannot be "
                "loaded here: doveadm reads plugins only from %s, and "
                "'unshare --mount' (private bind mount over it) is not "
                "permitted in this environment" % (
                    " ".join(map(str, args)), SYSTEM_DOVEADM_MODULEDIR))
        proc = subprocess.run(self.doveadm_cmd(*args), input=input,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True)
        if check and proc.returncode != 0:
            raise DovecotEnvError(
                "doveadm %s exited %d:\n%s%s"
                % (" ".join(map(str, args)), proc.returncode, proc.stdout,
                   proc.stderr))
        return proc

    def sieve_test_cmd(self, script, mail_path, *args):
        """argv for sieve-test with this config (our Sieve plugin loaded)."""
        return [SIEVE_TEST, "-c", self.conf_path] + list(args) + \
            [script, mail_path]

    def imap(self):
        """A logged-in imaplib.IMAP4 connection (caller logs out)."""
        conn = imaplib.IMAP4("127.0.0.1", self.imap_port)
        conn.login(self.user, self.password)
        return conn

    def metrics(self, timeout=10):
        """Text of GET /metrics from the stats service."""
        with urllib.request.urlopen(self.metrics_url, timeout=timeout) as r:
            return r.read().decode("utf-8", "replace")

    def log_text(self):
        try:
            with open(self.log_path, encoding="utf-8", errors="replace") as f:
                return f.read()
        except (OSError, AttributeError):
            return ""

    def log_tail(self, lines=40):
        return "\n".join(self.log_text().splitlines()[-lines:])

    def wait_for_log(self, pattern, timeout=10):
        """Wait until the log matches regex pattern; return the match.
        Raises DovecotEnvError with the log on timeout."""
        rx = re.compile(pattern)
        deadline = time.time() + timeout
        while True:
            m = rx.search(self.log_text())
            if m:
                return m
            if time.time() > deadline:
                raise DovecotEnvError("log never matched %r in %ss\n--- log "
                                      "---\n%s" % (pattern, timeout,
                                                   self.log_tail()))
            time.sleep(0.1)


def _settings_module_namespace():
    """Dovecot 2.4 only: re-exec this test in a private mount namespace
    with the build tree's settings module (see the module docstring)."""
    if os.environ.get("BOUNCEINFO_SETTINGS_NS"):
        if os.environ.get("BOUNCEINFO_SETTINGS_NS_PID") == str(os.getpid()):
            atexit.register(shutil.rmtree, os.environ["BOUNCEINFO_SETTINGS_NS"],
                            True)
        return
    if os.environ.get("BOUNCEINFO_SYSTEM_SETTINGS") == "1" or \
            os.geteuid() != 0 or "BOUNCEINFO_BUILDDIR" not in os.environ or \
            not shutil.which("unshare") or not is_dovecot24():
        return
    so = os.path.join(os.environ["BOUNCEINFO_BUILDDIR"], SETTINGS_MODULE_DIR,
                      ".libs", SETTINGS_MODULE_SO)
    if not os.path.exists(so):
        return  # DovecotEnv reports the missing build output
    tmp = tempfile.mkdtemp(prefix="bounceinfo-settings-")
    os.chmod(tmp, 0o755)
    for f in _system_modules(SYSTEM_SETTINGS_MODULEDIR):
        shutil.copy2(f, tmp)
    shutil.copy2(so, os.path.join(tmp, SETTINGS_MODULE_SO))
    os.environ["BOUNCEINFO_SETTINGS_NS"] = tmp
    os.environ["BOUNCEINFO_SETTINGS_NS_PID"] = str(os.getpid())
    sys.stdout.flush()
    sys.stderr.flush()
    # unshare and sh exec in place: the pid stays this test's
    os.execvp("unshare", [
        "unshare", "--mount", "--propagation", "private", "sh", "-c",
        'mount --bind "$0" "$1" && shift && exec "$@"', tmp,
        SYSTEM_SETTINGS_MODULEDIR, sys.executable] + sys.argv)


_settings_module_namespace()
