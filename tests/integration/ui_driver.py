#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Drives the dashboard in headless Chromium (Debian's chromium and
chromium-driver, through Debian's python3-selenium) against a real bsdpd.

Run inside the lab's namespace by tests/integration/test_ui.sh (mode
"lab") and test_qemu_policy.sh (mode "qemu"), so the browser reaches only
the namespaced bsdpd.  Prints one "ok - ..." or "not ok - ..." line per
check; the shell counts them (lib.sh).  Screenshots go to --artifacts.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

from selenium import webdriver
from selenium.common.exceptions import (NoAlertPresentException, NoSuchElementException,
                                        StaleElementReferenceException, TimeoutException,
                                        WebDriverException)
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select, WebDriverWait

HOSTILE = "<img src=x onerror=alert(1)>"
results = []


def report(ok, desc, why=""):
    results.append(ok)
    print(("ok - " if ok else "not ok - ") + desc + ("" if ok or not why else " (" + why + ")"),
          flush=True)


def check(desc, fn):
    try:
        ok = fn()
        report(bool(ok), desc, "" if ok else "condition false")
    except (WebDriverException, AssertionError, urllib.error.URLError, KeyError,
            ValueError) as e:
        report(False, desc, type(e).__name__ + ": " + str(e).splitlines()[0][:200])


def browser(args, user_data_dir):
    opts = webdriver.ChromeOptions()
    opts.binary_location = "/usr/bin/chromium"
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
                 "--window-size=1280,800", "--user-data-dir=" + user_data_dir):
        opts.add_argument(flag)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    service = Service("/usr/bin/chromedriver",
                      log_path=os.path.join(args.artifacts, "chromedriver.log"))
    d = webdriver.Chrome(service=service, options=opts)
    viewport(d, 1280, 800)
    d.set_page_load_timeout(30)
    d.set_script_timeout(30)
    return d


def viewport(d, width, height):
    """The page's own size, whatever the window around it."""
    d.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
        "width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600})


def wait(d, fn, timeout=15):
    def safe(drv):
        try:
            return fn(drv)
        except (NoSuchElementException, StaleElementReferenceException):
            return False
    return WebDriverWait(d, timeout, poll_frequency=0.2).until(safe)


def api(args, method, path, body=None):
    req = urllib.request.Request(args.base + "/api/v1" + path, method=method,
                                 headers={"Authorization": "Bearer " + args.token,
                                          "Content-Type": "application/json"},
                                 data=json.dumps(body).encode() if body is not None else None)
    with urllib.request.urlopen(req, timeout=10) as r:
        text = r.read()
        return json.loads(text) if text else None


def shot(d, args, name):
    d.save_screenshot(os.path.join(args.artifacts, name + ".png"))


def goto(d, page):
    d.find_element(By.CSS_SELECTOR, '#nav a[data-page="%s"]' % page).click()
    wait(d, lambda drv: drv.find_element(By.CSS_SELECTOR, "main h1").is_displayed())


def sign_in(d, args):
    d.get(args.base + "/ui/")
    wait(d, lambda drv: drv.find_element(By.ID, "token"))
    tok = d.find_element(By.ID, "token")
    tok.send_keys(args.token)
    tok.send_keys(Keys.ENTER)
    wait(d, lambda drv: drv.find_element(By.CSS_SELECTOR, "main h1").text == "Boots")


def live(d):
    return d.find_element(By.ID, "live").get_attribute("data-state") == "live"


def stage_classes(d, mac):
    row = d.find_element(By.CSS_SELECTOR, 'article.boot[data-mac="%s"]' % mac)
    return {li.get_attribute("data-stage"): li.get_attribute("class")
            for li in row.find_elements(By.CSS_SELECTOR, "li.stage")}


def console_errors(d, allowed):
    """SEVERE console entries, less the network errors a check provoked on
    purpose (each given as a substring of the failed URL and status)."""
    bad = []
    for e in d.get_log("browser"):
        if e.get("level") != "SEVERE":
            continue
        msg = e.get("message", "")
        if e.get("source") == "network" and any(a in msg for a in allowed):
            continue
        bad.append(msg)
    return bad


# ---- the lab scenario -------------------------------------------------------

def lab(d, args):
    allowed = []
    d.get(args.base + "/ui/")
    check("the sign-in form is shown first", lambda: wait(d, lambda drv: drv.find_element(By.ID, "token").is_displayed()))
    tok = d.find_element(By.ID, "token")
    tok.send_keys("not-the-token")
    d.find_element(By.CSS_SELECTOR, "form.signin button[type=submit]").click()
    allowed.append("/api/v1/default - Failed to load resource: the server responded with a status of 401")
    check("a wrong token is refused, the error beside the token field", lambda: wait(
        d, lambda drv: drv.find_element(By.ID, "token-error").is_displayed() and
        "does not accept" in drv.find_element(By.ID, "token-error").text and
        drv.find_element(By.ID, "token").get_attribute("aria-invalid") == "true"))
    shot(d, args, "signin-error")
    tok.clear()
    tok.send_keys(args.token)
    tok.send_keys(Keys.ENTER)
    check("signed in with the API token: the Boots page", lambda: wait(
        d, lambda drv: drv.find_element(By.CSS_SELECTOR, "main h1").text == "Boots"))
    check("the token is kept in sessionStorage, not localStorage", lambda:
          d.execute_script("return sessionStorage.getItem('bsdpd.token')") == args.token and
          d.execute_script("return localStorage.length") == 0)
    check("the event stream is live", lambda: wait(d, live))
    check("the stream parser (api.js SseParser): CR, LF, CRLF, split chunks, comments, ids",
          lambda: sse_parser_cases(d))

    # A marker that a reload would wipe: the boot must arrive without one.
    d.execute_script("window.__noReload = 42;")
    check("the client machine is not on Boots yet", lambda: not d.find_elements(
        By.CSS_SELECTOR, 'article.boot[data-mac="%s"]' % args.mac))
    subprocess.run(args.bsdpc, shell=True, check=False, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, timeout=60)
    check("bsdpc LIST/SELECT: the machine appears on Boots live", lambda: wait(
        d, lambda drv: {"list", "select"} <= {k for k, c in stage_classes(drv, args.mac).items()
                                             if "stage-done" in c}, 20))
    check("... its booter download by TFTP too", lambda: wait(
        d, lambda drv: "stage-done" in stage_classes(drv, args.mac).get("booter", ""), 20))
    check("... without a reload", lambda: d.execute_script("return window.__noReload") == 42)
    shot(d, args, "boots-select")

    # Keyboard: the nav is links; Enter on one opens its page.
    link = d.find_element(By.CSS_SELECTOR, '#nav a[data-page="machines"]')
    d.execute_script("arguments[0].focus()", link)
    link.send_keys(Keys.ENTER)
    check("keyboard: Enter on a nav link opens Machines", lambda: wait(
        d, lambda drv: drv.find_element(By.CSS_SELECTOR, "main h1").text == "Machines"))
    check("Machines lists the client", lambda: wait(
        d, lambda drv: drv.find_element(By.CSS_SELECTOR, 'tr[data-mac="%s"]' % args.mac)))

    # Next boot in two clicks: open the list, pick the profile.
    def set_next_boot():
        sel = d.find_element(By.CSS_SELECTOR, 'select[data-focus="next:%s"]' % args.mac)
        sel.click()
        Select(sel).select_by_value(args.next_boot)
        return wait(d, lambda drv: (api(args, "GET", "/machines/" + args.mac).get("next_boot")
                                    == args.next_boot), 10)
    check("next boot set in the UI: the API shows it", set_next_boot)

    # The kernel of that next boot, downloaded slowly: Boots shows it
    # moving, with its rate, from the stream's transfer events.
    goto(d, "boots")
    dl = subprocess.Popen(args.download, shell=True, stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL)

    def kernel_moving(drv):
        li = drv.find_element(By.CSS_SELECTOR, 'article.boot[data-mac="%s"] li[data-stage="kernel"]'
                              % args.mac)
        bars = li.find_elements(By.TAG_NAME, "progress")
        return "stage-active" in li.get_attribute("class") and "/s" in li.text and \
            bars and float(bars[0].get_attribute("value")) > 0
    check("a download in flight: its stage, progress and rate on Boots", lambda: wait(d, kernel_moving, 15))
    shot(d, args, "boots-transfer")
    dl.wait(timeout=60)
    check("... then done, and the boot booted (next boot spent)", lambda: wait(
        d, lambda drv: "stage-done" in stage_classes(drv, args.mac).get("kernel", "") and
        drv.find_element(By.CSS_SELECTOR, 'article.boot[data-mac="%s"] .badge' % args.mac).text
        == "Booted", 15))
    shot(d, args, "boots")
    goto(d, "machines")

    hostile = d.find_element(By.CSS_SELECTOR, 'tr[data-mac="%s"]' % args.hostile_mac)
    check("the hostile hostname is shown as text", lambda:
          HOSTILE in hostile.find_element(By.CSS_SELECTOR, 'td[data-label="Hostname"]').text)
    check("... and made no element", lambda: not d.find_elements(By.CSS_SELECTOR, "main img"))
    check("... and ran no script", lambda: no_alert(d))
    check("the hostile model is shown as text", lambda:
          HOSTILE in hostile.find_element(By.CSS_SELECTOR, 'td[data-label="Model"]').text)
    shot(d, args, "machines")

    # A validation error beside its field: a hostname the API refuses.
    d.find_element(By.CSS_SELECTOR, 'button[data-focus="edit:%s"]' % args.mac).click()
    wait(d, lambda drv: drv.find_element(By.CSS_SELECTOR, "dialog[open]"))
    host = d.find_element(By.CSS_SELECTOR, 'dialog [data-field="hostname"]')
    host.clear()
    host.send_keys("lab 101!")
    d.find_element(By.CSS_SELECTOR, "dialog button[type=submit]").click()
    allowed.append("/api/v1/machines/%s - Failed to load resource: the server responded with a status of 400" % args.mac)

    def beside():
        err = d.find_element(By.CSS_SELECTOR, 'dialog .field[data-for="hostname"] .field-error')
        return err.is_displayed() and "byte" in err.text and \
            host.get_attribute("aria-invalid") == "true" and \
            err.get_attribute("id") in host.get_attribute("aria-describedby")
    check("a validation error is shown beside its field (hostname)", lambda: wait(d, lambda drv: beside()))
    shot(d, args, "machine-error")
    host.send_keys(Keys.ESCAPE)
    check("Escape closes the dialog", lambda: wait(d, lambda drv: not drv.find_elements(By.CSS_SELECTOR, "dialog[open]")))

    goto(d, "policy")
    check("Profiles & groups lists the profile", lambda: wait(
        d, lambda drv: args.next_boot in drv.find_element(By.CSS_SELECTOR, "main").text))
    check("the hostile description is shown as text", lambda: wait(
        d, lambda drv: HOSTILE in drv.find_element(By.CSS_SELECTOR, "main").text))
    d.find_element(By.XPATH, "//button[text()='New profile']").click()
    wait(d, lambda drv: drv.find_element(By.CSS_SELECTOR, "dialog[open]"))
    d.find_element(By.CSS_SELECTOR, 'dialog [data-field="name"]').send_keys("broken")
    d.find_element(By.CSS_SELECTOR, 'dialog [data-field="kernel"]').send_keys("../vmlinuz")
    d.find_element(By.CSS_SELECTOR, "dialog button[type=submit]").click()
    allowed.append("/api/v1/profiles/broken - Failed to load resource: the server responded with a status of 400")
    check("a validation error is shown beside its field (kernel)", lambda: wait(
        d, lambda drv: drv.find_element(By.CSS_SELECTOR,
                                        'dialog .field[data-for="kernel"] .field-error').is_displayed()))
    shot(d, args, "profile-error")
    d.find_element(By.CSS_SELECTOR, "dialog").send_keys(Keys.ESCAPE)
    wait(d, lambda drv: not drv.find_elements(By.CSS_SELECTOR, "dialog[open]"))
    shot(d, args, "policy")

    goto(d, "images")
    check("Images shows the catalog and its default", lambda: wait(
        d, lambda drv: "iPXE" in drv.find_element(By.CSS_SELECTOR, "main").text and
        drv.find_elements(By.CSS_SELECTOR, "main .badge-idle")))
    check("Images shows the bundle left out, with its problem", lambda: wait(
        d, lambda drv: "Broken.nbi" in drv.find_element(By.CSS_SELECTOR, "main").text))
    check("Images shows which Mac selected which image", lambda: wait(
        d, lambda drv: args.mac in drv.find_element(By.CSS_SELECTOR, "main").text))
    shot(d, args, "images")

    goto(d, "server")
    check("Server shows the counters and charts", lambda: wait(
        d, lambda drv: len(drv.find_elements(By.CSS_SELECTOR, "main figure.chart svg path.line")) >= 3 and
        "bytes sent" in drv.find_element(By.CSS_SELECTOR, "main").text, 15))
    shot(d, args, "server")

    viewport(d, 375, 812)
    for page in ("boots", "machines", "policy", "images", "server"):
        d.get(args.base + "/ui/#/" + page)
        wait(d, lambda drv: drv.find_element(By.CSS_SELECTOR, "main h1").is_displayed())
        time.sleep(0.8)
        width = d.execute_script("return document.documentElement.scrollWidth")
        check("375 px wide: %s fits without sideways scrolling (%s px)" % (page, width), lambda: width <= 376)
        shot(d, args, page + "-375")
    viewport(d, 1280, 800)

    errs = console_errors(d, allowed)
    check("the browser console shows no errors" + ("" if not errs else ": " + " | ".join(errs)[:300]),
          lambda: not errs)


SSE_CASES = r"""
const { SseParser } = await import('./api.js');
const got = [];
const p = new SseParser((m) => got.push([m.type, m.data, m.id]));
for (const chunk of [': hello\n\n', 'id: 7\nevent: tftp\nda', 'ta: {"a":1}\r', '\n\r\n',
    'data: x\rdata: y\r', '\r', 'event: transfer\ndata:no-space\n\n', 'id\ndata\n\n',
    'retry: 10\n: ping\n\n', 'data: tail-without-blank-line\n']) p.push(chunk);
return JSON.stringify(got);
"""


def sse_parser_cases(d):
    got = d.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "(async () => {" + SSE_CASES + "})().then(done, (e) => done('error: ' + e));")
    want = [["tftp", '{"a":1}', "7"], ["message", "x\ny", "7"], ["transfer", "no-space", "7"],
            ["message", "", ""]]
    if json.loads(got) != want:
        raise AssertionError("got " + got)
    return True


def no_alert(d):
    try:
        d.switch_to.alert
        return False
    except NoAlertPresentException:
        return True


# ---- after a real VM's boot -------------------------------------------------

def qemu(d, args):
    sign_in(d, args)
    wanted = args.stages.split(",")
    check("Boots shows the VM", lambda: wait(d, lambda drv: drv.find_element(
        By.CSS_SELECTOR, 'article.boot[data-mac="%s"]' % args.mac), 20))
    for st in wanted:
        check("Boots shows the VM's stage " + st + " done", lambda st=st: wait(
            d, lambda drv: "stage-done" in stage_classes(drv, args.mac).get(st, ""), 10))
    check("Boots says the VM booted", lambda: wait(d, lambda drv: drv.find_element(
        By.CSS_SELECTOR, 'article.boot[data-mac="%s"] .badge' % args.mac).text == "Booted", 10))
    shot(d, args, "qemu-boots")
    # The same, cut to the row, as README.md shows it (docs/ui-boots.png).
    viewport(d, 1280, 300)
    time.sleep(0.3)
    shot(d, args, "qemu-boots-row")
    viewport(d, 1280, 800)
    errs = console_errors(d, [])
    check("the browser console shows no errors" + ("" if not errs else ": " + " | ".join(errs)[:300]),
          lambda: not errs)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("mode", choices=("lab", "qemu"))
    ap.add_argument("--base", required=True, help="http://ADDR:PORT of bsdpd")
    ap.add_argument("--token-file", required=True)
    ap.add_argument("--artifacts", required=True)
    ap.add_argument("--mac", required=True, help="the machine that boots")
    ap.add_argument("--hostile-mac", help="lab: the machine with the hostile hostname")
    ap.add_argument("--next-boot", help="lab: the profile to set as next boot")
    ap.add_argument("--bsdpc", help="lab: the command that makes the machine LIST and SELECT")
    ap.add_argument("--download", help="lab: a slow download of the next boot's kernel")
    ap.add_argument("--stages", help="qemu: the stages that must be shown done")
    args = ap.parse_args()
    with open(args.token_file) as f:
        args.token = f.read().strip()
    os.makedirs(args.artifacts, exist_ok=True)
    # A fresh profile each run: no cache, no stored token, nothing shared.
    with tempfile.TemporaryDirectory(prefix="bsdpd-chromium-") as user_data_dir:
        d = None
        try:
            d = browser(args, user_data_dir)
            (lab if args.mode == "lab" else qemu)(d, args)
        except (WebDriverException, TimeoutException) as e:
            report(False, "the browser session", type(e).__name__ + ": " + str(e).splitlines()[0][:200])
        finally:
            if d:
                d.quit()
    sys.exit(0 if results and all(results) else 1)


if __name__ == "__main__":
    main()
