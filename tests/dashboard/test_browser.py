"""The dashboard in a real headless Chromium (Debian's chromium + chromedriver, via selenium).

Against a live sensor with the scheduler and the sim radio: sign in with the first user's token,
create an acquire700c entry through the form (and see a validation error next to its field
first), wait for its acquisition, open its plot, and check that the drawn mean trace peaks at the
sim tone, 751 + 1 = 752 MHz (within one 15 kHz bin). With SCOS_UPDATE_SCREENSHOT=1 it also refreshes
docs/screenshot-dashboard.png (the README's picture); otherwise a test run leaves the tree as it was.
"""
from __future__ import annotations

import math
import os
import shutil
import time
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import Select, WebDriverWait

from tests.live_server import LiveServer

ROOT = Path(__file__).resolve().parents[2]
BIN_MHZ = 15.36 / 1024


@pytest.fixture
def browser(tmp_path):
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    driver_path = shutil.which("chromedriver") or "/usr/bin/chromedriver"
    assert Path(chromium).exists() and Path(driver_path).exists(), "chromium/chromedriver missing: run `make deps`"
    options = Options()
    options.binary_location = chromium
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--no-first-run", "--window-size=1280,1900", f"--user-data-dir={tmp_path / 'profile'}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    yield driver
    driver.quit()


def click(wait, css):
    """Click the element matching ``css``, retrying if a refresh replaced it meanwhile."""
    def attempt(driver):
        try:
            driver.find_element(By.CSS_SELECTOR, css).click()
            return True
        except (StaleElementReferenceException, NoSuchElementException):
            return False
    wait.until(attempt)


def _check_screenshot(shot: Path, docs_name: str) -> None:
    """A screenshot with something in it; copied to docs/``docs_name`` (the README's picture)
    when SCOS_UPDATE_SCREENSHOT=1, on request only."""
    assert shot.stat().st_size > 10_000
    if os.environ.get("SCOS_UPDATE_SCREENSHOT") == "1":
        shutil.copyfile(shot, ROOT / "docs" / docs_name)


def test_sign_in_schedule_and_see_the_sim_tone_in_the_plot(browser, tmp_path):
    with LiveServer(tmp_path / "data") as server:
        server.wait_scheduler("idle")
        wait = WebDriverWait(browser, 60)
        browser.get(server.url("/"))
        browser.find_element(By.ID, "token").send_keys("wrong")
        browser.find_element(By.ID, "signin-button").click()
        wait.until(EC.text_to_be_present_in_element((By.ID, "signin-error"), "Invalid token."))
        token_box = browser.find_element(By.ID, "token")
        token_box.clear()
        token_box.send_keys(server.token)
        browser.find_element(By.ID, "signin-button").click()
        wait.until(EC.visibility_of_element_located((By.ID, "new-entry")))
        wait.until(lambda d: "idle" in d.find_element(By.ID, "scheduler-state").text)
        assert browser.find_element(By.ID, "scheduler-detail").text == ""  # alive: nothing to explain

        form = browser.find_element(By.ID, "new-entry")
        form.find_element(By.NAME, "name").send_keys("bad name")
        Select(form.find_element(By.NAME, "action")).select_by_value("acquire700c")
        form.find_element(By.ID, "create").click()
        wait.until(EC.text_to_be_present_in_element((By.CSS_SELECTOR, '.error[data-field="name"]'), "slug"))

        name_box = form.find_element(By.NAME, "name")
        name_box.clear()
        name_box.send_keys("c-block")
        form.find_element(By.NAME, "interval").send_keys("2")
        form.find_element(By.NAME, "stop").send_keys("5")
        form.find_element(By.ID, "create").click()
        wait.until(EC.presence_of_element_located((By.CSS_SELECTOR, '#schedule tr[data-name="c-block"]')))
        wait.until(EC.element_to_be_clickable((By.CSS_SELECTOR, 'button.acq[data-entry="c-block"][data-task="2"]')))
        click(wait, 'button.acq[data-entry="c-block"][data-task="2"]')
        svg = wait.until(EC.presence_of_element_located((By.ID, "spectrum-svg")))
        wait.until(EC.presence_of_element_located((By.ID, "waterfall")))

        assert abs(float(svg.get_attribute("data-peak-mhz")) - 752.0) <= BIN_MHZ
        assert abs(float(svg.get_attribute("data-peak-dbm")) - (-42.9)) < 1.0
        # read the drawn path back: the highest point of the mean trace sits at 752 MHz on the x axis
        d = browser.find_element(By.CSS_SELECTOR, 'path.trace[data-detector="mean"]').get_attribute("d")
        points = [tuple(map(float, p.split(","))) for p in d.replace("M", "L").split("L") if p]
        x_peak = min(points, key=lambda p: p[1])[0]
        left, right = float(svg.get_attribute("data-plot-left")), float(svg.get_attribute("data-plot-right"))
        lo, hi = float(svg.get_attribute("data-x-min-mhz")), float(svg.get_attribute("data-x-max-mhz"))
        assert abs(lo + (x_peak - left) / (right - left) * (hi - lo) - 752.0) <= BIN_MHZ
        legend = [t.text for t in browser.find_elements(By.CSS_SELECTOR, "#spectrum-svg .legend text")]
        assert legend == ["min", "max", "mean", "median", "sample"]
        assert browser.find_elements(By.CSS_SELECTOR, "#tasks tbody tr")

        # pause, resume and delete an entry from its row
        name_box.send_keys("later")
        start_box = form.find_element(By.NAME, "start_in")
        start_box.clear()
        start_box.send_keys("600")
        form.find_element(By.ID, "create").click()
        row = '#schedule tr[data-name="later"]'
        wait.until(EC.presence_of_element_located((By.CSS_SELECTOR, row)))
        click(wait, f'{row} button[data-act="toggle"]')
        wait.until(EC.text_to_be_present_in_element((By.CSS_SELECTOR, row), "paused"))
        assert server.get("/api/v1/schedule/later/").json()["is_active"] is False
        click(wait, f'{row} button[data-act="toggle"]')
        wait.until(EC.text_to_be_present_in_element((By.CSS_SELECTOR, row), "active"))
        click(wait, f'{row} button[data-act="delete"]')
        wait.until(EC.invisibility_of_element_located((By.CSS_SELECTOR, row)))
        assert server.get("/api/v1/schedule/later/").status == 404
        click(wait, 'button.acq[data-entry="c-block"][data-task="2"]')
        wait.until(EC.presence_of_element_located((By.ID, "spectrum-svg")))
        time.sleep(0.5)
        shot = tmp_path / "dashboard.png"
        browser.save_screenshot(str(shot))
        _check_screenshot(shot, "screenshot-dashboard.png")


def test_a_sea_recording_shows_its_data_products_channel_by_channel(browser, tmp_path):
    """The SEA action on a TDD-like signal (a tone on for 3 ms of every 10 ms frame): the four
    products are plotted for each channel, the channel power summaries listed. With
    SCOS_UPDATE_SCREENSHOT=1 the products panel refreshes docs/screenshot-sea.png."""
    env = {"SCOS_RADIO": "sim,tones=1e6:-40,noise_dbm=-60,pulse=10e-3:0.3"}
    with LiveServer(tmp_path / "data", env=env) as server:
        server.wait_scheduler("idle")
        wait = WebDriverWait(browser, 120)
        browser.get(server.url("/"))
        browser.find_element(By.ID, "token").send_keys(server.token)
        browser.find_element(By.ID, "signin-button").click()
        form = wait.until(EC.visibility_of_element_located((By.ID, "new-entry")))
        form.find_element(By.NAME, "name").send_keys("sea")
        Select(form.find_element(By.NAME, "action")).select_by_value("sea_700MHz")
        form.find_element(By.ID, "create").click()
        wait.until(EC.element_to_be_clickable((By.CSS_SELECTOR, 'button.acq[data-entry="sea"][data-task="1"]')))
        click(wait, 'button.acq[data-entry="sea"][data-task="1"]')
        wait.until(EC.visibility_of_element_located((By.ID, "products-panel")))
        ids = ["product-power-spectral-density", "product-amplitude-probability-distribution", "product-power-vs-time",
               "product-periodic-frame-power"]
        wait.until(lambda d: [e.get_attribute("id") for e in d.find_elements(By.CSS_SELECTOR, "#products svg")] == ids)
        channels = [b.text for b in browser.find_elements(By.CSS_SELECTOR, "#channels button")]
        assert channels == ["739.0 MHz", "751.0 MHz", "763.0 MHz"]
        pfp = browser.find_element(By.ID, "product-periodic-frame-power")
        assert [t.text for t in pfp.find_elements(By.CSS_SELECTOR, ".legend text")] == [
            "min-of-mean", "max-of-mean", "mean-of-mean", "min-of-max", "max-of-max", "mean-of-max"]
        # the frame's on part (-40 dBm) and off part (the -60 dBm noise floor) are both drawn
        assert float(pfp.get_attribute("data-y-max")) >= -40 and float(pfp.get_attribute("data-y-min")) <= -60
        apd = browser.find_element(By.ID, "product-amplitude-probability-distribution")
        assert float(apd.get_attribute("data-x-min")) == -180 and float(apd.get_attribute("data-x-max")) == -30
        psd = browser.find_element(By.ID, "product-power-spectral-density")
        assert float(psd.get_attribute("data-x-min")) == pytest.approx(739 - 7, abs=0.1)
        rows = browser.find_elements(By.CSS_SELECTOR, "#summaries tbody tr")
        assert len(rows) == 3
        mean = float(rows[0].find_elements(By.TAG_NAME, "td")[2].text.split()[0])
        assert mean == pytest.approx(10 * math.log10(0.3 * 1e-7 + 1e-9) + 30, abs=0.2)  # 30 % of the tone, the noise
        browser.find_elements(By.CSS_SELECTOR, "#channels button")[2].click()
        wait.until(lambda d: abs(float(d.find_element(By.ID, "product-power-spectral-density")
                                       .get_attribute("data-x-min")) - (763 - 7)) < 0.1)
        panel = browser.find_element(By.ID, "products-panel")
        browser.execute_script("arguments[0].scrollIntoView()", panel)
        time.sleep(0.5)
        shot = tmp_path / "sea.png"
        panel.screenshot(str(shot))
        _check_screenshot(shot, "screenshot-sea.png")
