"""The web page in a real browser (Debian's headless Chromium through selenium): paste a text and see
its label, then upload a CSV and get it back labelled. Skips when chromium or chromedriver is missing.

BUWEI_SCREENSHOT=path.png saves a screenshot of the page with a result shown (for a person to look at).
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from api.app import create_app
from api.settings import Settings
from classifier.labelling import label_file
from classifier.labels import LABEL_ZH
from classifier.predict import Predictor
from classifier.train import TrainResult
from tests.live_server import live_server

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path(shutil.which("chromedriver") or "/usr/bin/chromedriver")
TEXT = "我们小区加装电梯的申请，区住建局和街道办互相推诿，打了十几次电话都说不归自己管，材料交上去三个月没人理。"


def wait_for(condition: Any, what: str, seconds: float = 30) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    if not CHROMIUM.exists() or not CHROMEDRIVER.exists():
        pytest.skip("needs Debian's chromium and chromium-driver (/usr/bin/chromium, chromedriver): apt-get install")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    downloads = tmp_path_factory.mktemp("downloads")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--window-size=1200,1500",
        f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}",
    ):
        options.add_argument(flag)
    options.add_experimental_option(
        "prefs", {"download.default_directory": str(downloads), "download.prompt_for_download": False}
    )
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(executable_path=str(CHROMEDRIVER)))
    driver.execute_cdp_cmd("Page.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)})
    driver.downloads = downloads
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture(scope="module")
def base_url(mini_bundle: TrainResult) -> Iterator[str]:
    app = create_app(Settings(models_dir=mini_bundle.path.parent, reload_poll_seconds=0, api_key=None))
    with live_server(app) as url:
        yield url


def test_paste_a_text_and_see_its_label(browser: Any, base_url: str, mini_bundle: TrainResult) -> None:
    from selenium.webdriver.common.by import By

    browser.get(base_url + "/")
    status = browser.find_element(By.ID, "model-status")
    wait_for(lambda: "就绪" in status.text, "the model status")
    assert mini_bundle.manifest["version"] in browser.find_element(By.ID, "model-version").text
    assert browser.find_element(By.ID, "report-link").get_attribute("href").endswith("/v1/model/report")

    browser.find_element(By.ID, "text").send_keys(TEXT)
    browser.find_element(By.ID, "classify-btn").click()
    result = browser.find_element(By.ID, "result")
    wait_for(result.is_displayed, "the result")

    label = browser.find_element(By.ID, "result-label").text
    assert label in LABEL_ZH.values()
    bars = browser.find_elements(By.CSS_SELECTOR, "#bars .bar-row")
    assert [b.get_attribute("data-label") for b in bars] == list(LABEL_ZH)
    assert all(b.find_element(By.CSS_SELECTOR, ".bar-value").text.endswith("%") for b in bars)
    assert browser.find_element(By.ID, "result-review").text.strip() in ("⚠ 建议人工复核", "✓ 无需复核")
    marks = browser.find_elements(By.CSS_SELECTOR, "#highlighted mark")
    assert marks, "evidence terms are highlighted in the text"
    assert all(m.text and m.text in TEXT for m in marks)
    assert browser.find_element(By.ID, "highlighted").text == TEXT  # the text itself is unchanged

    unreadable = browser.execute_script(
        "return [...document.querySelectorAll('code, .badge, .bar-name, mark')]"
        ".filter(e => { const s = getComputedStyle(e); return s.color === s.backgroundColor"
        " || s.color === 'rgb(255, 255, 255)' && ['rgb(255, 255, 255)', 'rgb(246, 248, 250)']"
        ".includes(s.backgroundColor); }).map(e => e.textContent)"
    )
    assert unreadable == [], "text drawn in its own background colour"

    if os.environ.get("BUWEI_SCREENSHOT"):
        browser.save_screenshot(os.environ["BUWEI_SCREENSHOT"])

    # Nothing was fetched from another origin, and the browser reported no errors (CSP included).
    origins = browser.execute_script("return performance.getEntriesByType('resource').map(e => new URL(e.name).origin)")
    assert set(origins) <= {base_url}
    severe = [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]
    assert severe == []


def test_the_report_opens_in_the_page(browser: Any, base_url: str) -> None:
    from selenium.webdriver.common.by import By

    browser.get(base_url + "/")
    link = browser.find_element(By.ID, "report-link")
    wait_for(link.is_displayed, "the report link")
    link.click()
    body = browser.find_element(By.ID, "report-body")
    wait_for(lambda: "模型评估报告" in body.text, "the report")
    images = body.find_elements(By.TAG_NAME, "img")
    assert images
    wait_for(lambda: all(browser.execute_script("return arguments[0].naturalWidth", i) > 0 for i in images), "figures")


def test_upload_a_csv_and_get_it_back_labelled(
    browser: Any, base_url: str, mini_model: Predictor, tmp_path: Path
) -> None:
    from selenium.webdriver.common.by import By

    source = tmp_path / "留言.csv"
    source.write_text("编号,留言详情\n1," + TEXT + "\n2,感谢社区工作人员\n", encoding="utf-8")
    expected = label_file(source, tmp_path / "expected.csv", predictor=mini_model, show_progress=False)

    browser.get(base_url + "/")
    browser.find_element(By.ID, "file").send_keys(str(source))
    browser.find_element(By.ID, "upload-btn").click()
    wait_for(browser.find_element(By.ID, "download-row").is_displayed, "the download link")
    assert "共标注 2 行" in browser.find_element(By.ID, "upload-status").text

    target = browser.downloads / "留言.labelled.csv"
    wait_for(lambda: target.exists() and not list(browser.downloads.glob("*.crdownload")), "the download")
    assert target.read_bytes() == expected.output_path.read_bytes()
