#!/usr/bin/python3
"""`strikeout report` pages opened in a real browser (Debian's headless Chromium).

For the bundled real logs (tests/fixtures/real-logs) and for a generated Postfix log
(bench/gen-postfix-log), the test writes a report, then has Chromium
  - dump the DOM it built: every plot is an <svg> and the timeline's three series each drew a
    non-empty path, the top lists drew bars;
  - take a screenshot into the test's output folder (a PNG of the page as a reader sees it);
  - log the page's console: a page with no script should log nothing, so any console line (a CSP
    violation from something trying to load, a parse error) fails the test.
A control page with a console.error first proves the console check sees errors at all.
The page must also be self-contained: a Content-Security-Policy forbidding every request, and no
address of anything outside the file.

Usage: browser_test.py STRIKEOUT GEN_POSTFIX_LOG FIXTURES_DIR OUTPUT_DIR
"""

import os
import re
import shutil
import subprocess
import sys
import tempfile

# As the machine notes say: without the background-networking flags Chromium tries Google's hosts
# at every start; a fresh profile each run so nothing carries over.
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--hide-scrollbars", "--enable-logging=stderr", "--v=0",
]


def chromium(url, extra, workdir):
    profile = tempfile.mkdtemp(prefix="profile-", dir=workdir)
    try:
        run = subprocess.run(["chromium", *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *extra, url],
                             capture_output=True, text=True, timeout=120, check=False)
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    if run.returncode != 0:
        sys.exit(f"chromium failed ({run.returncode}) on {url}:\n{run.stderr[-3000:]}")
    return run.stdout, run.stderr


def console_lines(stderr):
    return [line for line in stderr.splitlines() if ":CONSOLE" in line]


def check_page(name, html_path, outdir, workdir):
    url = "file://" + os.path.abspath(html_path)
    with open(html_path, encoding="utf-8") as f:
        text = f.read()
    problems = []
    if "Content-Security-Policy" not in text or "default-src 'none'" not in text:
        problems.append("no Content-Security-Policy forbidding requests")
    for pattern in (r"https?://", r"\ssrc=", r"<script", r"<link", r"url\("):
        if re.search(pattern, text):
            problems.append(f"the page refers to something outside itself ({pattern})")

    dom, err = chromium(url, ["--dump-dom"], workdir)
    plots = re.findall(r'<svg class="plot ([a-z]+)"', dom)
    if "timeline" not in plots:
        problems.append("no timeline plot in the DOM")
    if plots.count("bars") < 3:
        problems.append(f"only {plots.count('bars')} bar charts drawn")
    for series in ("failures", "strikes", "bans"):
        m = re.search(r'<path class="%s" d="([^"]*)"' % series, dom)
        if not m or not m.group(1).startswith("M"):
            problems.append(f"the timeline's {series} series drew nothing")
    if len(re.findall(r"<rect ", dom)) < 5:
        problems.append("fewer than 5 bars drawn")
    problems += [f"console: {line}" for line in console_lines(err)]

    png = os.path.join(outdir, f"{name}.png")
    _, err = chromium(url, ["--window-size=1040,2400", f"--screenshot={png}"], workdir)
    problems += [f"console: {line}" for line in console_lines(err)]
    if not os.path.exists(png) or os.path.getsize(png) < 20_000:
        problems.append(f"screenshot {png} missing or blank")
    else:
        with open(png, "rb") as f:
            if f.read(8) != b"\x89PNG\r\n\x1a\n":
                problems.append(f"{png} is not a PNG")
    print(f"{name}: {len(text)} bytes, plots {plots}, screenshot {png}")
    return problems


def main():
    strikeout, gen_log, fixtures, outdir = sys.argv[1:5]
    os.makedirs(outdir, exist_ok=True)
    problems = []
    with tempfile.TemporaryDirectory(prefix="report-browser-") as workdir:
        # The console check must see a console error when there is one.
        control = os.path.join(workdir, "control.html")
        with open(control, "w", encoding="utf-8") as f:
            f.write("<!DOCTYPE html><html><body><script>console.error('control-error')</script></body></html>")
        _, err = chromium("file://" + control, ["--dump-dom"], workdir)
        if not any("control-error" in line for line in console_lines(err)):
            sys.exit("the console check is blind: the control page's console.error was not seen")

        real_logs = sorted(os.path.join(fixtures, "real-logs", n)
                           for n in os.listdir(os.path.join(fixtures, "real-logs")) if n.endswith(".full.log"))
        generated = os.path.join(workdir, "generated.log")
        subprocess.run([sys.executable, gen_log, "--lines", "50000", "--seed", "7", "--out", generated], check=True,
                       stdout=subprocess.DEVNULL)
        for name, inputs in (("real-logs", real_logs), ("generated-50k", [generated])):
            page = os.path.join(outdir, f"{name}.html")
            subprocess.run([strikeout, "report", "--year", "2026", "-o", page, *inputs], check=True)
            problems += [f"{name}: {p}" for p in check_page(name, page, outdir, workdir)]
    if problems:
        print("\n".join(problems))
        sys.exit(1)
    print("report pages drawn in Chromium, no console output")


if __name__ == "__main__":
    main()
