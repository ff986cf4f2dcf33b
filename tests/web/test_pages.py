"""The pages in a real browser: WCAG 2.1 A/AA by axe-core with no violation, the
strict Content-Security-Policy on the answer and not one violation of it, no request
to anywhere but the server, no console error, bokmål, and usable 375 px wide."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, Response

from stafettlogg.web.security import CSP
from tests.web.conftest import Watched, assert_accessible
from tests.web.servers import Server

pytestmark = pytest.mark.slow

NARROW = {"width": 375, "height": 740}

PAGES = {
    "landing": ("/", 200, "Velkommen – Stafettlogg", "Stafettlogg"),
    "not found": ("/finnes-ikke", 404, "Siden finnes ikke – Stafettlogg", "Siden finnes ikke"),
}


def open_page(page: Page, path: str) -> Response:
    response = page.goto(path, wait_until="networkidle")
    assert response is not None
    return response


def assert_clean(watched: Watched, page: Page | None = None) -> None:
    """Nothing outside asked for, nothing failed. Chromium reports an error page's own
    status (the 404 of the page shown) as a console error: that one is meant."""
    own_status = "the server responded with a status of"
    errors = [
        error for error in watched.console_errors
        if not (page is not None and own_status in error and error.endswith(f"({page.url})"))
    ]
    assert watched.outside == [], "requests outside the origin"
    assert errors == [], "console errors"
    assert watched.failed == [], "failed requests"


@pytest.mark.parametrize("name", PAGES)
def test_the_page_is_accessible_strict_and_stays_home(
    page: Page, watched: Watched, name: str,
) -> None:
    path, status, title, heading = PAGES[name]
    response = open_page(page, path)

    assert response.status == status
    headers = response.headers
    assert headers["content-security-policy"] == CSP
    assert headers["cache-control"] == "no-store"
    assert headers["x-frame-options"] == "DENY"
    assert headers["referrer-policy"] == "no-referrer"
    assert page.title() == title
    assert page.locator("html").get_attribute("lang") == "nb"
    assert page.get_by_role("heading", level=1).inner_text() == heading
    assert page.locator("main#innhold").count() == 1
    # The fonts and styles of the origin are the ones in use.
    assert page.evaluate("getComputedStyle(document.body).fontFamily").startswith("Inter")
    assert page.evaluate("document.fonts.check('16px Inter')")
    assert_accessible(page)
    assert_clean(watched, page)


@pytest.mark.parametrize("name", PAGES)
def test_the_page_is_usable_375_px_wide(page: Page, watched: Watched, name: str) -> None:
    page.set_viewport_size(NARROW)
    open_page(page, PAGES[name][0])

    assert page.evaluate("document.documentElement.scrollWidth") <= NARROW["width"]
    assert_accessible(page)
    assert_clean(watched, page)


def test_the_skip_link_leads_to_the_main_content(page: Page, watched: Watched) -> None:
    open_page(page, "/")
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Hopp til hovedinnhold")
    assert skip.evaluate("element => element === document.activeElement")
    assert skip.is_visible()
    page.keyboard.press("Enter")
    assert page.evaluate("location.hash") == "#innhold"
    assert page.evaluate("document.activeElement.id") == "innhold"
    assert_clean(watched)


def test_the_landing_page_leads_to_login_without_javascript(
    browser, live_server: Server,
) -> None:
    context = browser.new_context(base_url=live_server.base_url, java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto("/")
        login = page.get_by_role("link", name="Logg inn")
        assert login.get_attribute("href") == "/logg-inn"
    finally:
        context.close()


def test_the_api_documentation_is_served_from_here(page: Page, watched: Watched) -> None:
    """Swagger UI, vendored, under the same strict policy: it draws the API."""
    response = open_page(page, "/schema/swagger")
    assert response.headers["content-security-policy"] == CSP
    page.locator("#swagger-ui .opblock").first.wait_for(timeout=15_000)
    assert page.locator("#swagger-ui .opblock").count() > 10
    assert_clean(watched)


SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"


@pytest.mark.parametrize("width", [1280, 375])
def test_screenshot_of_the_landing_page(page: Page, watched: Watched, width: int) -> None:
    """For a person to look at: var/screenshots/forside-<width>.png."""
    page.set_viewport_size({"width": width, "height": 800})
    open_page(page, "/")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"forside-{width}.png"), full_page=True)
    assert_clean(watched)
