"""A PNG of a Superset dashboard, taken with Debian's headless Chromium (Selenium from Superset's venv).

Runs with Superset's interpreter (``.venv-bi/bin/python``), which has Selenium and Pillow;
imports nothing of SCIM. ``python screenshot.py URL DASHBOARD_PATH OUT.png --password P``
logs in as the admin, opens the dashboard, waits until every chart has drawn, and writes a
palette PNG (small enough for the docs).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

# Flags for a root user on a machine without a display or outside network (docs/bi.md).
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--hide-scrollbars"]


def take(base: str, path: str, out: str, user: str, password: str, charts: int, width: int, height: int,
         timeout: float) -> None:
    opts = webdriver.ChromeOptions()
    opts.binary_location = "/usr/bin/chromium"
    for flag in FLAGS + [f"--window-size={width},{height}", f"--user-data-dir={tempfile.mkdtemp(prefix='scim-chrome-')}"]:
        opts.add_argument(flag)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)
    try:
        wait = WebDriverWait(driver, timeout)
        driver.get(f"{base}/login/")
        wait.until(EC.presence_of_element_located((By.CSS_SELECTOR, "input#username, input[name=username]")))
        driver.find_element(By.CSS_SELECTOR, "input#username, input[name=username]").send_keys(user)
        driver.find_element(By.CSS_SELECTOR, "input#password, input[name=password]").send_keys(password)
        driver.find_element(By.CSS_SELECTOR, "button[type=submit], input[type=submit]").click()
        wait.until(lambda d: "/login" not in d.current_url)
        driver.get(f"{base}{path}")
        # every chart drawn: ECharts canvases for the line/bar/pie charts, a table for the table chart
        wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, ".dashboard-chart canvas, .dashboard-chart table"))
                   >= charts)
        wait.until(lambda d: not d.find_elements(By.CSS_SELECTOR, ".dashboard-chart .loading"))
        time.sleep(3)  # ECharts animates its first draw
        driver.save_screenshot(out)
    finally:
        driver.quit()
    try:
        from PIL import Image

        Image.open(out).convert("RGB").quantize(colors=128).save(out, optimize=True)
    except ImportError:  # pragma: no cover - Pillow comes with Superset
        pass


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("base", help="Superset's base URL, e.g. http://127.0.0.1:8088")
    p.add_argument("path", help="the dashboard's path, e.g. /superset/dashboard/scim-health/")
    p.add_argument("out", help="PNG to write")
    p.add_argument("--user", default="admin")
    p.add_argument("--password", required=True)
    p.add_argument("--charts", type=int, default=4, help="charts to wait for")
    p.add_argument("--width", type=int, default=1400)
    p.add_argument("--height", type=int, default=1000)
    p.add_argument("--timeout", type=float, default=120)
    a = p.parse_args()
    take(a.base, a.path, a.out, a.user, a.password, a.charts, a.width, a.height, a.timeout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
