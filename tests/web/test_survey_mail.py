"""The staff survey's codes by e-mail, from the admin's round page, in Chromium
against the real server sending to the test's SMTP server (aiosmtpd on 127.0.0.1).

Adam opens a round for the health station (Hanne with an address, Kim without) and
presses *Send kodene på e-post*: Hanne gets one message with the survey's address and
a code and nothing about anyone; the page says so and shows Kim's code, once, to
print. The code from the e-mail opens the survey's form. axe-core finds nothing on
either page.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import Browser, expect

from tests.conftest import ADMIN
from tests.smtp_server import Mailbox, smtp_env, smtp_server
from tests.web.people import Person
from tests.web.servers import Server, signing_in_with

LOGINS = {"adam": "adam-sub"}
TODAY = datetime.now(UTC).date()
CODE = re.compile(r"[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}")


@pytest.fixture(scope="module")
def mailbox() -> Iterator[Mailbox]:
    with smtp_server() as running:
        yield running


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, provider: str,
           mailbox: Mailbox) -> Iterator[Server]:
    def prepare(app) -> None:
        app.register_staff(ADMIN, staff_id="adam", name="Adam Admin", service=None,
                           roles=["admin"])
        app.change_staff(ADMIN, "hanne", email="hanne@lyngdal.kommune.no")
        app.open_survey_round(ADMIN, municipality="4225", services=["hs-lyngdal"],
                              opens_on=TODAY, closes_on=TODAY + timedelta(days=14))

    env = smtp_env(mailbox)
    env.pop("STAFETTLOGG_PUBLIC_URL")  # the server's own address, for the sign-in
    with signing_in_with(tmp_path_factory.mktemp("survey-mail"), provider, LOGINS,
                         prepare=prepare, **env) as running:
        yield running


def test_an_admin_sends_the_codes_by_e_mail_and_prints_the_rest(
        browser: Browser, server: Server, provider: str, mailbox: Mailbox) -> None:
    adam = Person(browser, server, provider, LOGINS)
    try:
        adam.sign_in("adam", "/admin")
        page = adam.page
        page.goto("/undersokelser")
        page.get_by_role("link", name=re.compile("Lyngdal")).first.click()
        adam.check()
        page.get_by_label("Tjeneste").last.select_option(label="Helsestasjonen i Lyngdal")
        adam.press(page.get_by_role("button", name="Send kodene på e-post"))
        adam.check()
        expect(page.get_by_role("status")).to_contain_text("Sendt på e-post til 1 ansatt")
        expect(page.get_by_role("status")).to_contain_text("1 ansatt uten e-postadresse")
        slips = page.get_by_role("list", name="Kodelapper").get_by_role("listitem")
        expect(slips).to_have_count(1)
        printed = CODE.findall(slips.inner_text())
        assert len(printed) == 1 and printed[0] not in page.url

        (message,) = mailbox.to("hanne@lyngdal.kommune.no")
        text = mailbox.text(message)
        (mailed,) = CODE.findall(text)
        assert mailed != printed[0]
        assert f"{server.base_url}/undersokelse" in text
        for word in ("Hanne", "Kim", "Helsestasjon", "Adam"):
            assert word not in text and word not in str(message["Subject"])

        # The code from the e-mail opens the form.
        page.goto("/undersokelse")
        page.get_by_label("Kode").fill(mailed)
        adam.press(page.get_by_role("button", name="Gå videre"))
        expect(page.get_by_role("heading", level=1)).to_be_visible()
        expect(page.get_by_text("Selvvurdering tilpasset fra Levels of Use")).to_be_visible()
    finally:
        adam.close()
