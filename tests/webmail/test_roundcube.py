#!/usr/bin/python3
"""The Roundcube plugin bounceinfo in a real browser.

Debian's Roundcube served by PHP's built-in server on 127.0.0.1 from a
private tree and config (roundcube_env.py), a private Dovecot with this
build's plugins (tests/integration/dovecot_env.py: keywords, trusted
headers, Sieve, ManageSieve), headless Chromium driven by Selenium.

Scenarios: log in; bounces and ordinary mail delivered over LMTP; the
banner with the class and the explanation of the project's data, nothing
on ordinary mail; class marks in the list and the "Bounces" quick filter;
Settings > Bounces round trip (save, reload, change), Roundcube's filter
form editor lists the rules and saving a form filter keeps them, mail is
filed accordingly; a server-side error shown in full; a hostile diagnostic
and subject shown as text.

Screenshots of each step: <builddir>/tests/webmail/screenshots/.
Exit 0 pass, 1 fail, 77 skip (not root, packages missing).
"""

import imaplib
import os
import re
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "integration"))

from bounceinfo_testlib import SKIP, Checker, srcdir_builddir, start_env  # noqa: E402
import roundcube_env  # noqa: E402

try:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
except ImportError:
    print("SKIP: python3-selenium is not installed (scripts/install-deps-webmail)")
    sys.exit(SKIP)

CHROMEDRIVER = "/usr/bin/chromedriver"
FILTER = 'OR KEYWORD $Bounce HEADER X-Bounce-Class ""'
USER_SCRIPT = """require ["fileinto"];
# rule:[Newsletter]
if header :contains "subject" "newsletter"
{
\tfileinto "INBOX";
}
"""

src, build = srcdir_builddir()
shots = os.path.join(build, "tests", "webmail", "screenshots")
if os.path.isdir(shots):
    for old in os.listdir(shots):
        os.unlink(os.path.join(shots, old))
os.makedirs(shots, exist_ok=True)
check = Checker()


def explanations(lang):
    out = {}
    with open(os.path.join(src, "explanations", lang + ".txt"), encoding="utf-8") as f:
        for line in f:
            m = re.match(r"^([a-z][a-z0-9-]*)\s*=\s*(.+)$", line.strip())
            if m:
                out[m.group(1)] = m.group(2)
    return out


def first_sentence(text):
    m = re.match(r"^(.+?[.!?])\s", text)
    return m.group(1) if m else text


class Browser:
    def __init__(self, base, tmpdir):
        opts = webdriver.ChromeOptions()
        for a in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                  "--disable-gpu", "--window-size=1400,900", "--no-first-run",
                  "--user-data-dir=" + os.path.join(tmpdir, "chrome")):
            opts.add_argument(a)
        self.d = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
        self.d.implicitly_wait(0)
        self.base = base
        self.step = 0

    def get(self, query):
        self.d.get(self.base + query)
        self.wait_ready()

    def wait_ready(self, timeout=20):
        end = time.time() + timeout
        while time.time() < end:
            try:
                if self.d.execute_script(
                        "return document.readyState == 'complete' && !!window.jQuery"
                        " && (!window.rcmail || !rcmail.busy)"):
                    return
            except Exception:
                pass
            time.sleep(0.2)

    def wait(self, js, timeout=20):
        end = time.time() + timeout
        while time.time() < end:
            try:
                v = self.d.execute_script("return " + js)
                if v:
                    return v
            except Exception:
                pass
            time.sleep(0.25)
        return None

    def find(self, css):
        return self.d.find_elements(By.CSS_SELECTOR, css)

    def shot(self, name):
        self.step += 1
        path = os.path.join(shots, "%02d-%s.png" % (self.step, name))
        self.d.save_screenshot(path)
        return path

    def element_shot(self, css, name):
        """A PNG of one element (the pictures in doc/ are made of these)."""
        els = self.find(css)
        if els:
            els[0].screenshot(os.path.join(shots, "element-%s.png" % name))

    def quit(self):
        self.d.quit()


def imap_folder_uids(env, mailbox):
    imap = env.imap()
    try:
        typ, _ = imap.select('"%s"' % mailbox, readonly=True)
        if typ != "OK":
            return None
        typ, data = imap.uid("SEARCH", None, "ALL")
        return data[0].split() if typ == "OK" else None
    finally:
        try:
            imap.logout()
        except Exception:
            pass


def imap_subscribed(env):
    imap = env.imap()
    try:
        typ, data = imap.lsub('""', "*")
        return [d.decode(errors="replace") for d in data if d]
    finally:
        imap.logout()


def user_script(env):
    path = os.path.realpath(os.path.join(env.home, ".dovecot.sieve"))
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except OSError:
        return ""


def read(path):
    with open(path, "rb") as f:
        return f.read()


def main():
    missing = roundcube_env.missing()
    if missing or not os.path.exists(CHROMEDRIVER):
        print("SKIP: %s is missing (scripts/install-deps-webmail)" % (missing or CHROMEDRIVER))
        return SKIP

    env = start_env(build, src, mail_plugins=True, sieve=True, user_sieve=USER_SCRIPT,
                    plugin_settings={"bounceinfo_keywords": "yes",
                                     "bounceinfo_headers": "yes",
                                     "sieve_max_script_size": "3k"})
    if env is None:
        return SKIP
    rc = browser = None
    try:
        samples = os.path.join(src, "tests", "samples")
        env.lmtp_deliver(read(os.path.join(samples, "de-postfach-voll.eml")))
        env.lmtp_deliver(read(os.path.join(samples, "en-ordinary-mail-about-bounces.eml")),
                         mail_from="it-support@company.example.com")
        env.lmtp_deliver(read(os.path.join(HERE, "messages", "hostile-diagnostic.eml")))

        rc = roundcube_env.RoundcubeEnv(
            os.path.join(src, "roundcube", "bounceinfo"), env.imap_port,
            env.managesieve_port, tmpdir=os.path.join(env.tmpdir, "rc"),
            config={"bounceinfo_datadir": src,
                    "bounceinfo_folder_map": os.path.join(src, "sieve-scripts", "folder-map.tsv"),
                    "bounceinfo_server_rules": False})
        os.makedirs(rc.tmpdir)
        rc.start()
        browser = Browser(rc.url, env.tmpdir)
        scenarios(env, rc, browser)
    except Exception as e:  # a crash is a failure, with what we know
        import traceback
        traceback.print_exc()
        check(False, "no exception", repr(e))
    finally:
        if browser:
            try:
                browser.shot("last")
            except Exception:
                pass
            browser.quit()
        errors = None
        if rc:
            errors = rc.errors()
            rc.stop()
        env.stop()
        if errors is not None:
            check("PHP Fatal" not in errors and "PHP Parse" not in errors,
                  "no PHP fatal error in Roundcube's logs", errors[-2000:])
            ours = [l for l in errors.splitlines() if "/bounceinfo/" in l
                    and re.search(r"PHP (Warning|Notice|Deprecated|Fatal|Parse)", l)]
            check(not ours, "no PHP error or warning from the plugin", "\n".join(ours[-5:]))
    print("screenshots: %s" % shots)
    return check.finish()


def scenarios(env, rc, b):
    en = explanations("en")

    # ---- log in ----------------------------------------------------------
    b.get("")
    b.shot("login")
    b.find("#rcmloginuser")[0].send_keys(env.user)
    b.find("#rcmloginpwd")[0].send_keys(env.password)
    b.find("#rcmloginsubmit")[0].click()
    ok = b.wait("document.querySelectorAll('#messagelist tbody tr').length >= 3")
    b.wait_ready()
    b.shot("inbox")
    check(bool(ok), "logged in, three messages in the list")

    # ---- list marks ------------------------------------------------------
    rows = b.d.execute_script("""
        return $('#messagelist tbody tr').map(function() {
          return {subject: $('td.subject span.subject a', this).text(),
                  cls: $(this).attr('data-bounce-class') || '',
                  badge: $('.bounceinfo-badge', this).text()};
        }).get();""")
    by_subject = {r["subject"]: r for r in rows}
    quota = [r for r in rows if r["subject"] == "Unzustellbare Nachricht"]
    check(quota and quota[0]["badge"] == "quota", "list: the quota bounce is marked 'quota'", rows)
    ordinary = [r for r in rows if "Why do I get" in r["subject"]]
    check(ordinary and ordinary[0]["badge"] == "" and ordinary[0]["cls"] == "",
          "list: ordinary mail is not marked", rows)
    hostile = [r for r in rows if r["subject"].startswith("Undelivered Mail")]
    check(hostile and hostile[0]["badge"] == "user-unknown",
          "list: the hostile bounce is marked 'user-unknown'", rows)
    check(hostile and "<script>" in hostile[0]["subject"],
          "list: the hostile subject is shown as text", hostile)
    check(not b.d.execute_script("return document.body.getAttribute('data-pwned')"),
          "list: no script of the message ran")

    # ---- the Bounces filter ---------------------------------------------
    option = b.d.execute_script(
        "var o = $('#searchfilter option').filter(function() { return this.value == arguments[0]; });"
        "return $('#searchfilter option').map(function() { return [[this.value, $(this).text()]]; }).get();")
    check([FILTER, "Bounces"] in option, "quick filter offers 'Bounces'", option)
    # as a user does: open the search options, pick "Bounces", press Search
    b.find("#layout-list .searchbar a.button.options")[0].click()
    b.wait("$('#searchmenu').is(':visible')", 5)
    from selenium.webdriver.support.ui import Select
    Select(b.find("#searchfilter")[0]).select_by_visible_text("Bounces")
    b.shot("filter-menu")
    b.find("#searchmenu button.search")[0].click()
    time.sleep(1)
    b.wait_ready()
    b.wait("$('#messagelist tbody tr').length == 2")
    subjects = b.d.execute_script(
        "return $('#messagelist tbody tr td.subject span.subject a').map(function() { return $(this).text(); }).get();")
    b.shot("filter-bounces")
    b.element_shot("#layout-list", "list")
    check(len(subjects) == 2 and not any("Why do I get" in s for s in subjects),
          "the Bounces filter lists the two bounces only", subjects)
    b.d.execute_script("$('#searchfilter').val('ALL'); rcmail.filter_mailbox('ALL');")
    b.wait("$('#messagelist tbody tr').length == 3")

    uids = {}
    for r in b.d.execute_script("""
            return $('#messagelist tbody tr').map(function() {
              return [[rcmail.message_list.rows[this.uid] ? this.uid : this.id,
                       $('td.subject span.subject a', this).attr('href')]];
            }).get();"""):
        m = re.search(r"_uid=(\d+)", r[1] or "")
        if m:
            uids[m.group(1)] = r[1]

    # ---- banner ----------------------------------------------------------
    def open_message(uid):
        b.get("?_task=mail&_mbox=INBOX&_uid=%s&_action=show" % uid)
        b.wait("document.getElementById('messagebody') != null")

    open_message(1)
    banner = b.find("#bounceinfo-banner")
    b.shot("banner-quota")
    b.element_shot("#bounceinfo-banner", "banner")
    text = banner[0].text if banner else ""
    check(banner and banner[0].get_attribute("data-class") == "quota",
          "banner on the quota bounce with class 'quota'", text)
    check(first_sentence(en["quota"]) in text,
          "banner explains it with the English text of explanations/en.txt", text)
    check("What to do:" in text, "banner says what to do", text)

    # the preview pane (what a click in the list opens) shows it too
    b.get("?_task=mail&_mbox=INBOX&_uid=1&_action=preview&_framed=1")
    b.wait("document.getElementById('messagebody') != null")
    check(b.find("#bounceinfo-banner") and
          b.find("#bounceinfo-banner")[0].get_attribute("data-class") == "quota",
          "banner in the preview pane too")

    open_message(2)
    b.shot("no-banner-ordinary")
    check(not b.find("#bounceinfo-banner"), "no banner on ordinary mail")

    open_message(3)
    b.shot("banner-hostile")
    banner = b.find("#bounceinfo-banner")
    check(bool(banner), "banner on the hostile bounce")
    if banner:
        inner = banner[0].get_attribute("innerHTML")
        check(not b.find("#bounceinfo-banner img, #bounceinfo-banner script"),
              "no markup of the message inside the banner", inner)
        details = b.find("#bounceinfo-banner details")
        if details:
            details[0].click()
            b.shot("banner-hostile-diagnostic")
            b.element_shot("#bounceinfo-banner", "banner-diagnostic")
            pre = b.find("#bounceinfo-banner details pre")
            check(pre and "<script>" in pre[0].text and "<img" in pre[0].text,
                  "the hostile diagnostic is shown as text", pre[0].text if pre else "")
        else:
            check(False, "the banner offers the diagnostic (X-Bounce-Diagnostic)",
                  "no X-Bounce-Diagnostic on the message: bounceinfo_headers not in this build?")
    check(not b.d.execute_script("return document.body.getAttribute('data-pwned')")
          and b.d.title != "1", "no script of the hostile message ran")

    # ---- forged X-Bounce-* headers on ordinary mail ------------------------
    env.lmtp_deliver(read(os.path.join(HERE, "messages", "forged-headers.eml")),
                     mail_from="news@shop.example")
    open_message(4)
    b.shot("forged-headers")
    check(b.d.execute_script("return $('h2.subject').text()").find("Forged bounce headers") >= 0,
          "the mail with forged X-Bounce-* headers is open")
    check(not b.find("#bounceinfo-banner"),
          "no banner on ordinary mail with forged X-Bounce-* headers (removed by bounceinfo_headers)")

    # ---- settings round trip ---------------------------------------------
    b.get("?_task=settings&_action=plugin.bounceinfo")
    b.shot("settings")
    page = b.d.find_element(By.TAG_NAME, "body").text
    check("Bounces" in page and b.find("#bounceinfo-quota"), "Settings > Bounces shows the form", page[:300])
    check(b.find("#bounceinfo-quota-folder")[0].get_attribute("value") == "Bounces/Mailbox full",
          "folder proposed for quota: Bounces/Mailbox full")

    def tick(cls, on, folder=None):
        b.d.execute_script("document.getElementById(arguments[0]).checked = arguments[1];",
                           "bounceinfo-" + cls, on)
        if folder is not None:
            field = b.find("#bounceinfo-%s-folder" % cls)[0]
            field.clear()
            field.send_keys(folder)

    def save(name):
        b.d.execute_script("var e = document.getElementById('bounceinfo-save');"
                           " e.scrollIntoView(); e.click();")
        time.sleep(0.5)
        b.wait("document.getElementById('bounceinfo-saved') || document.getElementById('bounceinfo-error')")
        b.wait_ready()
        return b.shot(name)

    tick("quota", True)
    tick("user-unknown", True)
    b.find("#bounceinfo-notify")[0]
    b.d.execute_script("document.getElementById('bounceinfo-notify').checked = true;")
    save("settings-saved")
    check(b.find("#bounceinfo-saved"), "settings saved",
          b.find("#bounceinfo-error")[0].text if b.find("#bounceinfo-error") else "")
    script = user_script(env)
    check('header :is "X-Bounce-Class" "quota"' in script
          and 'fileinto "Bounces/Mailbox full"' in script,
          "the active script files quota bounces with a header test", script)
    check("# rule:[Newsletter]" in script, "the user's other filter is kept", script)
    subscribed = imap_subscribed(env)
    check(any("Bounces/Mailbox full" in s for s in subscribed)
          and any("Bounces/Unknown recipient" in s for s in subscribed),
          "folders created and subscribed", subscribed)

    b.get("?_task=settings&_action=plugin.bounceinfo")
    state = b.d.execute_script(
        "return [document.getElementById('bounceinfo-quota').checked,"
        " document.getElementById('bounceinfo-user-unknown').checked,"
        " document.getElementById('bounceinfo-spam').checked,"
        " document.getElementById('bounceinfo-notify').checked];")
    b.shot("settings-reloaded")
    b.element_shot("#layout-content", "settings")
    check(state == [True, True, False, True], "reloaded: the saved choice is shown", state)

    tick("quota", False)
    tick("user-unknown", True, "Bounces/Gone")
    save("settings-changed")
    script = user_script(env)
    check('"quota"' not in script and 'fileinto "Bounces/Gone"' in script
          and "# rule:[Newsletter]" in script,
          "changed: quota rule removed, user-unknown files into Bounces/Gone", script)

    # ---- Roundcube's own filter editor -----------------------------------
    b.get("?_task=settings&_action=plugin.managesieve")
    b.wait("$('#filterslist tbody tr').length > 0")
    names = b.d.execute_script(
        "return $('#filterslist tbody tr').map(function() { return $(this).text().trim(); }).get();")
    b.shot("filters-list")
    check("Bounces: user-unknown" in names and "Newsletter" in names,
          "Settings > Filters lists the bounce rule and the user's filter", names)
    b.get("?_task=settings&_action=plugin.managesieve-action&_framed=1&_fid=0")
    form = b.d.execute_script(
        "return $('input, select').map(function() { return this.value; }).get();")
    b.shot("filter-form-bounce-rule")
    check("user-unknown" in form and "Bounces/Gone" in form
          and any(v.lower() == "x-bounce-class" for v in form),
          "the filter form shows the rule's header test and folder", form)
    # save the user's own filter in the form editor: the script is rewritten
    b.get("?_task=settings&_action=plugin.managesieve-action&_framed=1&_fid=1")
    check(b.d.execute_script("return $('#_name').val()") == "Newsletter",
          "the form editor opens the user's filter")
    b.d.execute_script("$('#_name').val('Newsletter (edited)'); rcmail.command('plugin.managesieve-save');")
    b.wait("/Newsletter \\(edited\\)/.test(document.body.innerHTML) && !rcmail.busy", 10)
    time.sleep(1)
    b.shot("filter-form-saved")
    script = user_script(env)
    check("# rule:[Newsletter (edited)]" in script
          and 'header :is "X-Bounce-Class" "user-unknown"' in script,
          "saving a form filter keeps the bounce rules", script)
    b.get("?_task=settings&_action=plugin.bounceinfo")
    check(b.d.execute_script("return document.getElementById('bounceinfo-user-unknown').checked"),
          "Settings > Bounces still reads the rules after the form editor saved")

    # ---- mail filed accordingly ------------------------------------------
    env.lmtp_deliver(read(os.path.join(src, "tests", "samples", "pl-qmail-no-such-user.eml")))
    gone = imap_folder_uids(env, "Bounces/Gone")
    check(gone is not None and len(gone) == 1,
          "a new user-unknown bounce is filed into Bounces/Gone (needs bounceinfo_headers)",
          "Bounces/Gone: %r" % (gone,))

    # ---- notification with the explanation -------------------------------
    b.get("?_task=mail&_mbox=INBOX")
    b.wait("$('#messagelist tbody tr').length > 0")
    b.d.execute_script("window.bounceinfo_seen = [];"
                       "var orig = rcmail.display_message;"
                       "rcmail.display_message = function(msg, type) {"
                       "  window.bounceinfo_seen.push(String(msg));"
                       "  return orig.apply(this, arguments); };")
    env.lmtp_deliver(read(os.path.join(src, "tests", "samples", "fr-boite-pleine.eml")))
    b.d.execute_script("rcmail.command('checkmail');")
    seen = b.wait("window.bounceinfo_seen.filter(function(m) { return /New bounce/.test(m); })", 20)
    b.shot("notification")
    want = "(quota): " + first_sentence(en["quota"]).replace("'", "&#039;")
    check(seen and any(want in m for m in seen),
          "a new bounce is announced with its explanation",
          repr(seen or b.d.execute_script("return window.bounceinfo_seen")))

    # ---- the user's language --------------------------------------------
    pl = explanations("pl")
    b.get("?_task=settings&_action=edit-prefs&_section=general&_framed=1")
    b.d.execute_script("$('#rcmfd_lang').val('pl_PL'); rcmail.command('save');")
    time.sleep(1.5)
    b.wait_ready()
    b.get("?_task=mail&_mbox=INBOX&_uid=1&_action=show")
    b.wait("document.getElementById('messagebody') != null")
    banner = b.find("#bounceinfo-banner")
    text = banner[0].text if banner else ""
    b.shot("banner-polish")
    check(first_sentence(pl["quota"]) in text and "Co zrobić:" in text,
          "in Polish the banner uses explanations/pl.txt and Polish labels", text)
    b.get("?_task=settings&_action=edit-prefs&_section=general&_framed=1")
    b.d.execute_script("$('#rcmfd_lang').val('en_US'); rcmail.command('save');")
    time.sleep(1.5)
    b.wait_ready()

    # ---- server-side error shown in full ---------------------------------
    b.get("?_task=settings&_action=plugin.bounceinfo")
    b.d.execute_script(
        "$('#bounceinfo-classes input[type=checkbox]').prop('checked', true);")
    save("settings-server-error")
    err = b.find("#bounceinfo-error")
    text = err[0].text if err else ""
    check(err and re.search(r"too large|size", text, re.I),
          "the server's refusal is shown in full", text)
    check('"Bounces/Gone"' in user_script(env), "a refused save leaves the script as it was")

    # ---- no active filter set: one is created and activated ----------------
    os.unlink(os.path.join(env.home, ".dovecot.sieve"))
    b.get("?_task=settings&_action=plugin.bounceinfo")
    state = b.d.execute_script(
        "return $('#bounceinfo-classes input[type=checkbox]:checked').length")
    check(state == 0, "without an active set nothing is shown as filed", state)
    tick("quota", True)
    save("settings-new-set")
    active = os.path.realpath(os.path.join(env.home, ".dovecot.sieve"))
    script = user_script(env)
    check(b.find("#bounceinfo-saved") and os.path.basename(active) == "roundcube.sieve"
          and 'header :is "X-Bounce-Class" "quota"' in script,
          "a new set 'roundcube' is created with the rule and activated", "%s\n%s" % (active, script))

    # ---- a forged request (no request token) changes nothing ---------------
    status = b.d.execute_async_script("""
        var done = arguments[arguments.length - 1], f = new FormData();
        f.append('_class[spam]', '1'); f.append('_folder[spam]', 'Bounces/Forged');
        fetch('?_task=settings&_action=plugin.bounceinfo-save', {method: 'POST', body: f})
          .then(function(r) { return r.text().then(function(t) { done([r.status, t]); }); },
                function(e) { done([0, String(e)]); });""")
    check("Forged" not in user_script(env) and "request check failed" in status[1].lower()
          and "bounceinfo-saved" not in status[1],
          "a save without Roundcube's request token is refused",
          "HTTP %r, script changed: %r, page: %r" % (
              status[0], "Forged" in user_script(env),
              " ".join(re.sub(r"(?s)<script.*?</script>|<[^>]+>", " ", status[1]).split())[:300]))


if __name__ == "__main__":
    sys.exit(main())
