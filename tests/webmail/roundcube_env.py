"""A private Roundcube (Debian's package) for the webmail tests and the demo.

    from roundcube_env import RoundcubeEnv
    with RoundcubeEnv(plugin_dir, imap_port=..., managesieve_port=...) as rc:
        rc.url   # http://127.0.0.1:PORT/

Nothing system-wide changes: the served tree, the configuration directory,
the SQLite database, logs and temp files live in a temporary directory.
Roundcube's code stays in /usr/share/roundcube (symlinked); the tree gets
its own plugins/ (Debian's plugins plus ours) and config/. PHP's built-in
web server serves it on 127.0.0.1 with ROUNDCUBE_CONFIG_DIR pointing at
the private configuration (Debian's iniset.php reads it).

Needs: roundcube, roundcube-sqlite3, roundcube-plugins, php-cli
(scripts/install-deps-webmail). Python 3 standard library only.
"""

import atexit
import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request

RC_TREE = "/var/lib/roundcube"
RC_CODE = "/usr/share/roundcube"
RC_ETC = "/etc/roundcube"
PHP = "/usr/bin/php"


class RoundcubeUnavailable(Exception):
    """Debian's Roundcube or PHP is not installed."""


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def missing():
    """What is missing to run Roundcube here, or None."""
    for path in (RC_TREE + "/public_html/index.php", RC_CODE + "/program",
                 RC_CODE + "/plugins/managesieve", PHP,
                 RC_CODE + "/program/lib/Roundcube/db/sqlite.php"):
        if not os.path.exists(path):
            return path
    return None


class RoundcubeEnv:
    def __init__(self, plugin_dir, imap_port, managesieve_port=None,
                 plugins=("managesieve", "bounceinfo"), config=None,
                 tmpdir=None, port=None, language="en_US"):
        """plugin_dir: our roundcube/bounceinfo directory (symlinked in).
        config: dict of extra $config entries (PHP values written with
        php_value())."""
        self.plugin_dir = os.path.abspath(plugin_dir)
        self.imap_port = imap_port
        self.managesieve_port = managesieve_port
        self.plugins = list(plugins)
        self.config = dict(config or {})
        self.port = port or free_port()
        self.url = "http://127.0.0.1:%d/" % self.port
        self.language = language
        self.own_tmp = tmpdir is None
        self.tmpdir = tmpdir
        self.proc = None

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()
        return False

    # ---- set up ---------------------------------------------------------

    def _tree(self):
        tree = os.path.join(self.tmpdir, "roundcube")
        os.makedirs(tree)
        for name in os.listdir(RC_TREE):
            if name in ("plugins", "config", "logs", "temp", "public_html"):
                continue
            os.symlink(os.path.realpath(os.path.join(RC_TREE, name)),
                       os.path.join(tree, name))
        # public_html: its index.php derives INSTALL_PATH from its own
        # location, so it is copied, the rest symlinked
        pub = os.path.join(tree, "public_html")
        os.makedirs(pub)
        src_pub = os.path.join(RC_TREE, "public_html")
        for name in os.listdir(src_pub):
            src = os.path.join(src_pub, name)
            if name == "index.php":
                shutil.copy(src, os.path.join(pub, name))
            elif name in ("plugins", "skins"):
                os.symlink("../" + name, os.path.join(pub, name))
            elif name == ".htaccess":
                continue
            else:
                os.symlink(os.path.realpath(src), os.path.join(pub, name))
        plugins = os.path.join(tree, "plugins")
        os.makedirs(plugins)
        for name in os.listdir(RC_CODE + "/plugins"):
            os.symlink(os.path.join(RC_CODE, "plugins", name),
                       os.path.join(plugins, name))
        link = os.path.join(plugins, "bounceinfo")
        if os.path.lexists(link):
            os.unlink(link)
        os.symlink(self.plugin_dir, link)
        for name in ("logs", "temp"):
            os.makedirs(os.path.join(tree, name))
        self.tree = tree

    def _config(self):
        cfg = os.path.join(self.tmpdir, "config")
        os.makedirs(cfg)
        for name in ("defaults.inc.php", "mimetypes.php"):
            shutil.copy(os.path.join(RC_ETC, name), cfg)
        conf = {
            "db_dsnw": "sqlite:///%s/roundcube.sqlite?mode=0640" % self.tmpdir,
            "imap_host": "127.0.0.1:%d" % self.imap_port,
            "smtp_host": "",
            "des_key": secrets.token_hex(12),
            "plugins": self.plugins,
            "skin": "elastic",
            "language": self.language,
            "log_dir": os.path.join(self.tree, "logs"),
            "temp_dir": os.path.join(self.tree, "temp"),
            "enable_spellcheck": False,
            "support_url": "",
            "product_name": "Roundcube Webmail",
            "managesieve_raw_editor": True,
            "imap_cache": None,
            "messages_cache": False,
            "refresh_interval": 0,
        }
        if self.managesieve_port:
            conf["managesieve_host"] = "127.0.0.1:%d" % self.managesieve_port
        conf.update(self.config)
        lines = ["<?php", "$config = [];"]
        for key, value in conf.items():
            lines.append("$config[%s] = %s;" % (php_value(key), php_value(value)))
        with open(os.path.join(cfg, "config.inc.php"), "w") as f:
            f.write("\n".join(lines) + "\n")
        self.config_dir = cfg

    def start(self):
        what = missing()
        if what:
            raise RoundcubeUnavailable("missing %s (scripts/install-deps-webmail)" % what)
        if self.tmpdir is None:
            self.tmpdir = tempfile.mkdtemp(prefix="bounceinfo-roundcube-")
        self._tree()
        self._config()
        env = dict(os.environ, ROUNDCUBE_CONFIG_DIR=self.config_dir,
                   PHP_CLI_SERVER_WORKERS="4")
        self.server_log = open(os.path.join(self.tmpdir, "php-server.log"), "w")
        self.proc = subprocess.Popen(
            [PHP, "-S", "127.0.0.1:%d" % self.port,
             "-t", os.path.join(self.tree, "public_html")],
            env=env, cwd=self.tree, stdout=self.server_log,
            stderr=subprocess.STDOUT, start_new_session=True)
        # never leave a web server behind, even if the caller fails before
        # stop() (dovecot_env turns SIGTERM into SystemExit, so this runs)
        atexit.register(self.stop)
        deadline = time.time() + 20
        while time.time() < deadline:
            try:
                with urllib.request.urlopen(self.url, timeout=5) as r:
                    if r.status == 200:
                        return
            except Exception:
                time.sleep(0.2)
        raise RuntimeError("Roundcube did not answer on %s; %s" % (self.url, self.errors()))

    def errors(self):
        """Roundcube's error log and the PHP server's output."""
        out = []
        for path in (os.path.join(self.tree, "logs", "errors.log"),
                     os.path.join(self.tmpdir, "php-server.log")):
            try:
                with open(path, errors="replace") as f:
                    out.append("== %s\n%s" % (path, f.read()))
            except OSError:
                pass
        return "\n".join(out)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.proc = None
        if getattr(self, "server_log", None):
            self.server_log.close()
            self.server_log = None
        if self.own_tmp and self.tmpdir and not os.environ.get("BOUNCEINFO_KEEP_TMP"):
            shutil.rmtree(self.tmpdir, ignore_errors=True)


def php_value(v):
    if v is None:
        return "null"
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(php_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "[" + ", ".join("%s => %s" % (php_value(k), php_value(x))
                               for k, x in v.items()) + "]"
    return "'" + str(v).replace("\\", "\\\\").replace("'", "\\'") + "'"
