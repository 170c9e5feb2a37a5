"""The playground in a real browser: headless Chromium (Debian's chromium + chromium-driver) driven by Selenium.

Load the page, move a slider, see the curve and the numbers change, and check that the numbers shown are the
API's for the state the page is in. Skipped where no Chromium is installed (CI installs it: .ci/run).
"""

import json
import shutil
import urllib.parse

import pytest

pytest.importorskip("fastapi")
httpx = pytest.importorskip("httpx")
selenium = pytest.importorskip("selenium")
from selenium import webdriver  # noqa: E402
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

from optimlab.playground import app  # noqa: E402

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(not (CHROMIUM and DRIVER), reason="needs chromium and chromium-driver")


@pytest.fixture(scope="module")
def server():
    with app.running() as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1366,768"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    yield driver
    driver.quit()


def wait_for(driver, condition, timeout=20):
    """Poll ``condition`` until true; an element the page re-drew in the meantime is looked up again."""
    return WebDriverWait(driver, timeout, poll_frequency=0.05,
                         ignored_exceptions=(NoSuchElementException, StaleElementReferenceException)).until(
        lambda d: condition())


def value(driver, element_id):
    return driver.find_element(By.ID, element_id).get_attribute("data-value")


def api_view(server, driver):
    """What the API answers for the state the page is in (the page's own request, sent again from here)."""
    body = json.loads(driver.execute_script("return JSON.stringify(viewBody())"))
    selected = driver.execute_script("return state.sel")
    return httpx.post(server + "api/view", json=body, timeout=30).json()["runs"][selected]


def idle(driver):
    """The view on the page is the answer to the page's current state (no request in flight)."""
    return driver.execute_script("return lastView !== null && JSON.stringify(lastView.runs.map(r => r.hyperparameters))"
                                 " === JSON.stringify(state.runs.map(r => r.hyperparameters))")


def test_move_a_slider_and_see_the_numbers_follow_the_api(server, browser):
    browser.get(server)
    wait_for(browser, lambda: value(browser, "final-loss"))
    assert browser.find_element(By.ID, "error").is_displayed() is False
    # the page opens on the lecture's ravine: GD η = 0.4 selected, λ_max = 4
    assert browser.find_element(By.ID, "lr-value").get_attribute("value") == "0.4"
    first = value(browser, "final-loss")
    assert float(first) == api_view(server, browser)["final_loss"]
    curve = browser.execute_script("return document.getElementById('loss-plot').data[0].y")

    lr = browser.find_element(By.ID, "lr")
    # 30 steps of the log-scale slider (five decades over 1000 steps: ×1.0116 each): η from 0.4 to 0.56, past the
    # bound 2/λ_max = 0.5, so the run now diverges
    lr.send_keys(Keys.ARROW_RIGHT * 30)
    wait_for(browser, lambda: value(browser, "final-loss") != first and idle(browser))
    shown_lr = float(browser.find_element(By.ID, "lr-value").get_attribute("data-value"))
    assert shown_lr > 0.5
    assert f"lr={shown_lr}" in urllib.parse.unquote(browser.current_url)  # the state is in the URL
    expected = api_view(server, browser)
    assert expected["hyperparameters"]["lr"] == shown_lr
    assert float(value(browser, "final-loss")) == expected["final_loss"]
    assert "η is above it" in browser.find_element(By.ID, "bound").text
    new_curve = browser.execute_script("return document.getElementById('loss-plot').data[0].y")
    assert new_curve != curve and new_curve == expected["losses"]
    # every line's final loss beside its name is the API's too
    body = json.loads(browser.execute_script("return JSON.stringify(viewBody())"))
    for i, run in enumerate(httpx.post(server + "api/view", json=body, timeout=30).json()["runs"]):
        shown = value(browser, f"final-loss-{i}")
        assert (shown == "null") if run["final_loss"] is None else float(shown) == run["final_loss"]


def test_a_bad_value_shows_the_server_s_message_and_the_page_recovers(server, browser):
    browser.get(server + "?problem=quadratic-2d&run=sgd:lr=0.3")
    wait_for(browser, lambda: value(browser, "final-loss"))
    box = browser.find_element(By.ID, "lr-value")
    box.clear()
    box.send_keys("-1", Keys.ENTER)
    error = browser.find_element(By.ID, "error")
    wait_for(browser, lambda: error.is_displayed())
    assert error.text == "lr must be > 0, got -1.0"
    box.clear()
    box.send_keys("0.25", Keys.ENTER)
    wait_for(browser, lambda: not error.is_displayed() and idle(browser))
    assert float(value(browser, "final-loss")) == api_view(server, browser)["final_loss"]


def test_a_shared_url_restores_the_picture_and_a_preset_checks_its_claim(server, browser):
    browser.get(server)
    # the presets are drawn by the page's script once the registry arrives: on a busy machine, after get() returns
    wait_for(browser, lambda: browser.find_element(By.ID, "preset-lr-too-large").is_displayed())
    browser.find_element(By.ID, "preset-lr-too-large").click()
    mark = lambda: browser.find_element(By.ID, "verdict-mark").text  # noqa: E731
    wait_for(browser, lambda: browser.find_elements(By.ID, "verdict-mark") and mark() == "holds" and idle(browser))
    assert browser.find_element(By.ID, "status").text.startswith("diverged after")
    url, loss = browser.current_url, value(browser, "final-loss")
    assert "preset=lr-too-large" in url and "run=sgd%3Alr%3D3" in url
    # η = 3 made small again: the claim no longer holds at these settings
    box = browser.find_element(By.ID, "lr-value")
    box.clear()
    box.send_keys("0.1", Keys.ENTER)
    wait_for(browser, lambda: mark() == "does not hold")
    # the saved URL brings back the same picture, number for number
    browser.get(url)
    wait_for(browser, lambda: value(browser, "final-loss") == loss and mark() == "holds")


def test_clicking_a_map_cell_loads_it(server, browser):
    browser.get(server + "?problem=quadratic-2d&run=momentum:lr=0.2,momentum=0.9&epochs=50")
    wait_for(browser, lambda: browser.execute_script("return lastMap !== null"))
    lr, gamma = browser.execute_script(
        "const p = document.getElementById('map-plot');"
        "p.emit('plotly_click', {points: [{data: {type: 'heatmap'}, pointIndex: [12, 20]}]});"
        "return [lastMap.x.values[20], lastMap.y.values[12]];")
    hyper = browser.execute_script("return state.runs[0].hyperparameters")
    assert f"lr={hyper['lr']},momentum={hyper['momentum']}" in urllib.parse.unquote(browser.current_url)
    wait_for(browser, lambda: idle(browser))
    assert hyper["lr"] == pytest.approx(lr, rel=1e-3) and hyper["momentum"] == pytest.approx(gamma, rel=1e-3)
    assert float(value(browser, "final-loss")) == api_view(server, browser)["final_loss"]


def test_a_phone_sized_page_does_not_scroll_sideways(server, browser):
    # a 390 × 844 phone (mobile emulation: headless windows are at least 500 px wide): one column, nothing wider
    browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                            {"width": 390, "height": 844, "deviceScaleFactor": 2, "mobile": True})
    try:
        browser.get(server)
        wait_for(browser, lambda: idle(browser) and browser.find_elements(By.ID, "preset-lr-too-large"))
        wide = browser.execute_script(
            "const w = document.documentElement.clientWidth;"
            "return [document.documentElement.scrollWidth, w, [...document.querySelectorAll('body *')]"
            ".filter(e => e.getBoundingClientRect().right > w + 0.5).map(e => e.tagName + '#' + e.id).slice(0, 5)];")
        assert wide[1] == 390 and wide[0] <= wide[1] and wide[2] == [], wide
    finally:
        browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
