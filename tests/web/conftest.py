"""Browser tests of the pages: the real `stafettlogg serve` process on 127.0.0.1,
spoken to by the machine's Chromium through Playwright.

The browser is Debian's `chromium` package (`.ci/run` installs it; by hand:
`apt-get install chromium`), never one downloaded by `playwright install`. Every
request the page makes to another host than the server's is aborted and recorded,
and so is every console error (a Content-Security-Policy violation is one), so that
a test can say: nothing left the origin, and nothing failed.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page, Request, Route
from playwright.sync_api import expect, sync_playwright

from tests.web.providers import mock_provider
from tests.web.servers import Server, serving

WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
# On a loaded two-core machine a page can take seconds: wait for what a person would
# see for up to 20 s (Playwright's default is 5).
expect.set_options(timeout=20_000)
CHROMIUM_ARGS = [
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """`python -m stafettlogg serve` on an empty store, on a free port."""
    with serving(tmp_path_factory.mktemp("web")) as server:
        yield server


@pytest.fixture(scope="module")
def provider() -> Iterator[str]:
    """A working OpenID Connect provider on 127.0.0.1 (tests/web/providers.py), its issuer."""
    with mock_provider() as issuer:
        yield issuer


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Chromium for one test file. (Not for the whole session: Playwright's sync API
    keeps an event loop running while it is open, and the async tests that a worker
    runs next need theirs.)"""
    executable = shutil.which("chromium")
    if executable is None:
        pytest.fail("no `chromium` on PATH: install Debian's package (apt-get install chromium)")
    args = list(CHROMIUM_ARGS)
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        args.append("--no-sandbox")  # Chromium's sandbox refuses to run as root
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=args)
        try:
            yield launched
        finally:
            launched.close()


@dataclass
class Watched:
    """What a page did that it must not: requests elsewhere, console errors."""

    outside: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


@pytest.fixture
def watched() -> Watched:
    return Watched()


@pytest.fixture
def context(browser: Browser, live_server: Server, watched: Watched) -> Iterator[BrowserContext]:
    """A fresh browser context, 1280 px wide, that lets only the server be reached."""
    ctx = browser.new_context(
        base_url=live_server.base_url, locale="nb-NO", timezone_id="Europe/Oslo",
        viewport={"width": 1280, "height": 900},
    )

    def route(route: Route, request: Request) -> None:
        if urlsplit(request.url).netloc == live_server.host:
            route.continue_()
        else:
            watched.outside.append(request.url)
            route.abort()

    ctx.route("**/*", route)
    try:
        yield ctx
    finally:
        ctx.close()


@pytest.fixture
def page(context: BrowserContext, watched: Watched) -> Page:
    new = context.new_page()

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            watched.console_errors.append(f"{message.text} ({message.location.get('url')})")

    new.on("console", on_console)
    new.on("pageerror", lambda error: watched.console_errors.append(f"page error: {error}"))
    new.on("requestfailed", lambda request: watched.failed.append(
        f"{request.url}: {request.failure}"))
    return new


_axe = Axe()


def assert_accessible(page: Page) -> None:
    """axe-core finds no violation of WCAG 2.0/2.1 A and AA on the page as it is now."""
    results = _axe.run(page, options={
        "runOnly": {"type": "tag", "values": WCAG_TAGS},
        "resultTypes": ["violations"],
    })
    violations = results.response.get("violations", [])
    if violations:
        lines = [f"{len(violations)} accessibility violation(s) on {page.url}:"]
        for violation in violations:
            lines.append(f"- {violation['id']} ({violation['impact']}): {violation['help']}")
            lines.append(f"  {violation['helpUrl']}")
            for node in violation["nodes"][:5]:
                lines.append(f"    at {', '.join(map(str, node['target']))}")
                summary = node.get("failureSummary", "").replace("\n", "\n      ")
                lines.append(f"      {summary}")
        pytest.fail("\n".join(lines), pytrace=False)
