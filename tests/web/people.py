"""A person's browser for the page tests: their own Chromium context, signed in through
the test provider, with every page they reach checked (tests/web/conftest.py,
`assert_accessible`): accessible, nothing asked of another host (only the provider's
own sign-in page may load from elsewhere), no console error, the Content-Security-
Policy on every document."""

from __future__ import annotations

import tempfile
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from playwright.sync_api import Browser, BrowserContext, Locator, Page, Request, Route, expect
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from tests.web.conftest import assert_accessible
from tests.web.servers import LOGINS, Server


class Person:
    """One person's browser: every page checked as it is reached."""

    def __init__(self, browser: Browser, server: Server, provider: str,
                 logins: dict[str, str] | None = None) -> None:
        self.logins = LOGINS if logins is None else logins
        self.server = server
        self.provider_host = urlsplit(provider).netloc
        self.outside: list[str] = []
        self.console: list[str] = []
        self.context: BrowserContext = browser.new_context(
            base_url=server.base_url, locale="nb-NO", timezone_id="Europe/Oslo",
            viewport={"width": 1280, "height": 900})
        self.context.route("**/*", self._route)
        self.page: Page = self.context.new_page()
        self.page.on("console", lambda m: m.type == "error" and self._ours() and
                     self.console.append(m.text))
        self.page.on("pageerror", lambda e: self._ours() and self.console.append(str(e)))
        self.csp_missing: list[str] = []
        self.page.on("response", self._on_response)

    def _ours(self) -> bool:
        return urlsplit(self.page.url).netloc == self.server.host

    def _route(self, route: Route, request: Request) -> None:
        host = urlsplit(request.url).netloc
        page_host = urlsplit(request.frame.url).netloc if request.frame.url else host
        if host == self.server.host or (host == self.provider_host and (
                request.resource_type == "document" or page_host == self.provider_host)):
            route.continue_()
        else:
            # Nothing reaches another host; only what our pages ask for counts against
            # them (the provider's own sign-in page loads its style from a CDN).
            if page_host == self.server.host:
                self.outside.append(request.url)
            route.abort()

    def _on_response(self, response) -> None:
        url = urlsplit(response.url)
        if url.netloc == self.server.host and response.request.resource_type == "document":
            if "default-src 'self'" not in (response.headers.get("content-security-policy")
                                            or ""):
                self.csp_missing.append(response.url)

    def check(self, *, refused: bool = False) -> None:
        """The page as it is now: accessible, nothing from elsewhere, no console error
        (but for the page's own status, when it shows a refusal)."""
        assert_accessible(self.page)
        assert self.outside == [], self.outside
        errors = [m for m in self.console if not (
            refused and m.startswith("Failed to load resource: the server responded"))]
        assert errors == [], errors
        assert self.csp_missing == [], self.csp_missing
        assert "Stafettlogg" in self.page.title()

    def sign_in(self, staff_id: str, lands_on: str = "/saker") -> None:
        self.page.goto("/logg-inn")
        self.check()
        self.page.get_by_role("link", name="Logg inn med kommunens innlogging").click()
        self.page.fill("input[name=sub]", self.logins[staff_id])
        self.page.get_by_role("button", name="Authorize").click()
        self.page.wait_for_url(f"**{lands_on}")
        self.check()

    def press(self, button: Locator) -> None:
        """Press a form's button and wait for the page it answers with (however slow the
        machine), so that what is checked next is that page.

        On a loaded machine a click now and then sends nothing (about one run in four
        of tests/web, the server's log showing no POST), most likely because the page
        moved under the pointer between Playwright's check and the click (the browser
        scrolling to the `#logg` anchor, fonts swapping in). If no page comes in 20 s, the button is
        pressed again from the keyboard (focus, Enter), as a keyboard user would; every
        form carries an idempotency key, so a press that did arrive is not recorded
        twice. If still no page comes, the failure says what the page was and keeps a
        screenshot."""
        try:
            with self.page.expect_navigation(timeout=20_000):
                button.click()
            return
        except PlaywrightTimeout:
            pass
        try:
            with self.page.expect_navigation(timeout=60_000):
                button.focus()
                self.page.keyboard.press("Enter")
        except PlaywrightTimeout:
            shot = Path(tempfile.gettempdir()) / f"stafettlogg-no-answer-{uuid.uuid4().hex}.png"
            self.page.screenshot(path=str(shot), full_page=True)
            pytest.fail(f"pressing {button} brought no new page in 80 s; the page was "
                        f"{self.page.url} (screenshot {shot}); server log tail:\n"
                        f"{self.server.output()[-3000:]}")

    def tick(self, box: Locator) -> None:
        """Check a checkbox or radio button. A click can miss when the page moves under
        the pointer (see `press`); Playwright then says the click did not change the
        state. The box is then ticked from the keyboard (focus, Space), as a keyboard
        user would, and must be checked."""
        try:
            box.check()
        except PlaywrightError as exc:
            if "did not change its state" not in str(exc):
                raise
            box.focus()
            self.page.keyboard.press("Space")
        expect(box).to_be_checked()

    def close(self) -> None:
        self.context.close()
