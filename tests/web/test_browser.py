"""The tutor page in a real browser: Debian's headless Chromium, driven by Selenium.

Nothing downloads a browser or a driver: both come from the distribution's packages
(`apt-get install chromium chromium-driver`, which .ci/run does when they are missing).
Set NETAID_SCREENSHOT_DIR to keep the screenshot (docs/service.md shows it).
"""

from __future__ import annotations

import io
import os
import subprocess
import time
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from netaid import Case, discuss, render
from netaid.vignettes import draw_cases
from netaid.web import Settings, create_app

from .support import live_server

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")

if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
    if os.environ.get("CI"):
        raise RuntimeError("CI needs chromium and chromium-driver: .ci/run installs them")
    pytest.skip("needs Debian's chromium and chromium-driver", allow_module_level=True)

# Should Selenium Manager ever be consulted, it may look but never download.
os.environ.setdefault("SE_OFFLINE", "true")

from selenium import webdriver  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.remote.webdriver import WebDriver  # noqa: E402
from selenium.webdriver.support.ui import Select  # noqa: E402

PANCREAS = Case(
    site="pancreas",
    grade="G2",
    differentiation="well",
    stage="metastatic",
    metastases={"liver", "lymph_nodes"},
    functional_status="functioning",
    syndromes={"insulinoma"},
    symptomatic=True,
)


@pytest.fixture(scope="module")
def downloads(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("downloads")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("browser-server")
    with live_server(create_app(Settings(feedback_file=folder / "fb.jsonl"))) as url:
        yield url


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory, downloads: Path) -> Iterator[WebDriver]:
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
                 "--window-size=1280,1800",
                 f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}"):  # fmt: skip
        options.add_argument(flag)
    options.add_experimental_option(
        "prefs",
        {"download.default_directory": str(downloads), "download.prompt_for_download": False},
    )
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    driver.execute_cdp_cmd(
        "Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)}
    )
    try:
        yield driver
    finally:
        driver.quit()


def wait_for(check: Callable[[], Any], seconds: float = 20) -> Any:
    deadline = time.monotonic() + seconds
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(0.1)


def downloaded(folder: Path, name: str) -> Path:
    path = folder / name
    wait_for(lambda: path.exists() and not (folder / f"{name}.crdownload").exists())
    return path


def fill_case_form(browser: WebDriver, case: Case) -> None:
    Select(browser.find_element(By.ID, "case-site")).select_by_value(case.site.value)
    for name in ("grade", "differentiation", "stage", "functional_status"):
        Select(browser.find_element(By.ID, f"case-{name}")).select_by_value(
            getattr(case, name).value
        )
    Select(browser.find_element(By.ID, "case-symptomatic")).select_by_value("true")
    for name in ("metastases", "syndromes"):
        menu = Select(browser.find_element(By.ID, f"case-{name}"))
        menu.deselect_all()
        for member in getattr(case, name):
            menu.select_by_value(member.value)
    browser.find_element(By.ID, "show").click()


def test_fill_the_form_see_the_points_switch_download_and_draw(
    browser: WebDriver, server: str, downloads: Path
) -> None:
    browser.get(server + "/")
    assert "netaid" in browser.title
    fill_case_form(browser, PANCREAS)
    wait_for(lambda: browser.find_elements(By.ID, "handout"))
    discussion = discuss(PANCREAS)
    shown = [e.get_attribute("id") for e in browser.find_elements(By.CSS_SELECTOR, "article.point")]
    assert shown == [f"h1-point-{p.id}" for p in discussion.points]
    # The form keeps what was chosen.
    assert Select(browser.find_element(By.ID, "case-site")).first_selected_option.text == "pancreas"
    screenshot = Path(os.environ.get("NETAID_SCREENSHOT_DIR") or downloads)
    screenshot.mkdir(parents=True, exist_ok=True)
    assert browser.save_screenshot(str(screenshot / "service-tutor-page.png"))

    # Download the tutor handout as Markdown.
    browser.find_element(By.ID, "download-markdown").click()
    path = downloaded(downloads, "netaid-pancreas-tutor.md")
    assert path.read_text() == render(discussion, "markdown")

    # Switch to students: the worksheet, without the answers.
    browser.find_element(By.ID, "switch-audience").click()
    wait_for(lambda: browser.find_element(By.ID, "showing").text == "student")
    assert not browser.find_elements(By.CSS_SELECTOR, "article.point")
    assert "Why this applies" not in browser.find_element(By.ID, "handout").text
    browser.find_element(By.ID, "download-fhir").click()
    path = downloaded(downloads, "netaid-pancreas-student.json")
    assert path.read_text() == render(discussion, "fhir", audience="student")

    # Draw three vignettes, all metastatic, as a zip of Markdown handouts.
    count = browser.find_element(By.ID, "v-count")
    count.clear()
    count.send_keys("3")
    seed = browser.find_element(By.ID, "v-seed")
    seed.clear()
    seed.send_keys("5")
    Select(browser.find_element(By.ID, "v-format")).select_by_value("markdown")
    browser.find_element(By.CSS_SELECTOR, "#vignette-form summary").click()
    Select(browser.find_element(By.ID, "v-stage")).select_by_value("metastatic")
    browser.find_element(By.ID, "draw").click()
    archive = downloaded(downloads, "netaid-vignettes-seed5.zip")
    with zipfile.ZipFile(io.BytesIO(archive.read_bytes())) as files:
        texts = [files.read(name).decode() for name in sorted(files.namelist())]
    cases = draw_cases(3, 5, {"stage": "metastatic"})
    assert texts == [render(discuss(case), "markdown") for case in cases]


def test_an_invalid_case_shows_the_fields_in_the_page(browser: WebDriver, server: str) -> None:
    browser.get(server + "/")
    Select(browser.find_element(By.ID, "case-site")).select_by_value("lung")
    Select(browser.find_element(By.ID, "case-stage")).select_by_value("localized")
    Select(browser.find_element(By.ID, "case-metastases")).select_by_value("bone")
    browser.find_element(By.ID, "show").click()
    errors = wait_for(lambda: browser.find_elements(By.ID, "errors"))
    assert "metastases" in errors[0].text
    assert not browser.find_elements(By.ID, "handout")


def test_printing_hides_the_forms(browser: WebDriver, server: str) -> None:
    browser.get(server + "/?site=lung&stage=metastatic")
    browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
    try:
        assert not browser.find_element(By.ID, "case-form").is_displayed()
        assert not browser.find_element(By.ID, "vignette-form").is_displayed()
        assert browser.find_element(By.ID, "handout").is_displayed()
    finally:
        browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": ""})


def test_the_browser_is_the_distributions(browser: WebDriver) -> None:
    packaged = subprocess.run(
        [str(CHROMIUM), "--version"], capture_output=True, text=True, check=True
    ).stdout
    assert browser.capabilities["browserVersion"] in packaged
