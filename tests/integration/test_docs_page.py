"""/docs in a real headless Chromium: Swagger UI from local assets, no console error, no request off 127.0.0.1."""

from __future__ import annotations

import json
import os
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from helpers.backends import crm_config, make_app, unavailable
from helpers.servers import HOST, get, serve_app

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
WAIT = 30
# never a network: inline data (the stylesheet's images), blobs, Chromium's own pages
LOCAL_SCHEMES = {"data", "blob", "about", "chrome"}


def _missing() -> str | None:
    absent = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not os.access(p, os.X_OK)]
    return f"not installed: {', '.join(absent)} (Debian packages chromium, chromium-driver)" if absent else None


@pytest.fixture(scope="module")
def server(sqlite_backend):
    app = make_app(crm_config(sqlite_backend.connection))
    with serve_app(app) as running:
        yield running
    app.extensions["legacy_bridge"].close()


@pytest.fixture
def browser(tmp_path):
    problem = _missing()
    if problem:
        unavailable(problem, "CI runs the docs page test")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--no-first-run",
        "--disable-quic",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        f"--user-data-dir={tmp_path / 'chromium-profile'}",
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    driver = webdriver.Chrome(
        service=Service(str(CHROMEDRIVER), log_output=str(tmp_path / "chromedriver.log")), options=options
    )
    driver.set_page_load_timeout(WAIT)
    try:
        yield driver
    finally:
        driver.quit()


def _requested_urls(driver) -> list[str]:
    """Every URL the page asked the network for (DevTools performance log)."""
    urls = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            urls.append(message["params"]["request"]["url"])
    return urls


def _open_docs(driver, server):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get(server.url + "/docs")
    wait = WebDriverWait(driver, WAIT)
    wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, '.opblock[id$="list_customers"]')))
    return wait


def test_docs_page_lists_the_operations_of_every_resource(browser, server):
    from selenium.webdriver.common.by import By

    _open_docs(browser, server)
    paths = {e.get_attribute("data-path") for e in browser.find_elements(By.CSS_SELECTOR, ".opblock-summary-path")}
    assert {
        "/v1/customers",
        "/v1/customers/{id}",
        "/v1/order-lines",
        "/v1/order-lines/{order_no}/{line_no}",
        "/v1/active-customers",
        "/v1/active-customers/{id}",
        "/healthz",
        "/readyz",
    } <= paths
    summaries = {e.text for e in browser.find_elements(By.CSS_SELECTOR, ".opblock-summary-description")}
    assert {"List customers", "List order-lines", "One of customers by key"} <= summaries
    assert "legacy-bridge" in browser.find_element(By.CSS_SELECTOR, ".info .title").text


def test_docs_page_runs_a_request_against_the_live_service(browser, server):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec

    wait = _open_docs(browser, server)
    operation = browser.find_element(By.CSS_SELECTOR, '.opblock[id$="list_customers"]')
    operation.find_element(By.CSS_SELECTOR, ".opblock-summary").click()
    names = wait.until(lambda d: [e.text for e in operation.find_elements(By.CSS_SELECTOR, ".parameter__name")])
    assert any(n.startswith("opened_on[gte]") for n in names)
    assert any(n.startswith("limit") for n in names)

    operation.find_element(By.CSS_SELECTOR, ".try-out__btn").click()
    limit = operation.find_element(By.CSS_SELECTOR, 'tr[data-param-name="limit"] input')
    limit.clear()
    limit.send_keys("2")
    operation.find_element(By.CSS_SELECTOR, ".execute").click()
    status = wait.until(
        ec.visibility_of_element_located(
            (By.CSS_SELECTOR, '.opblock[id$="list_customers"] .live-responses-table tr.response .response-col_status')
        )
    )
    assert status.text.strip().startswith("200")
    body = operation.find_element(By.CSS_SELECTOR, ".live-responses-table .microlight").text
    assert '"CUSTOMER 0001"' in body and '"next"' in body


def test_docs_page_has_no_console_errors(browser, server):
    _open_docs(browser, server)
    severe = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert severe == []


def test_docs_page_never_leaves_the_machine(browser, server):
    from selenium.webdriver.common.by import By

    _open_docs(browser, server)
    urls = _requested_urls(browser)
    assert any(u.endswith("/docs/assets/swagger-ui-bundle.js") for u in urls)
    assert any(u.endswith("/openapi.json") for u in urls)
    network = [urlsplit(u) for u in urls if urlsplit(u).scheme not in LOCAL_SCHEMES]
    assert network and {(u.scheme, u.hostname) for u in network} == {("http", HOST)}
    for element in browser.find_elements(By.CSS_SELECTOR, "script[src], link[href]"):
        reference = element.get_attribute("outerHTML")
        assert 'src="/' in reference or 'href="/' in reference, reference  # served from here, relative


def test_docs_page_tells_the_browser_to_load_nothing_from_elsewhere(server):
    status, headers, body = get(server.url + "/docs")
    assert status == 200 and b'id="swagger-ui"' in body
    policy = headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "script-src 'self' 'nonce-" in policy
    nonce = policy.split("'nonce-")[1].split("'")[0]
    assert f'nonce="{nonce}"'.encode() in body  # the one inline script is allowed
    assert get(server.url + "/docs")[1]["Content-Security-Policy"] != policy  # fresh nonce per page


def test_docs_assets_are_served_locally_and_nothing_else_is(server):
    status, headers, body = get(server.url + "/docs/assets/swagger-ui-bundle.js")
    assert status == 200 and b"SwaggerUIBundle" in body
    assert "max-age" in headers.get("Cache-Control", "")
    assert get(server.url + "/docs/assets/swagger-ui.css")[0] == 200
    # only the listed assets: no path tricks into the bundle's folder or beyond
    assert get(server.url + "/docs/assets/index.html")[0] == 404
    assert get(server.url + "/docs/assets/..%2F..%2Fsetup.py")[0] == 404
