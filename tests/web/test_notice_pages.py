"""The notices' pages in Chromium, against the real `stafettlogg serve` process sending to
a real SMTP server on 127.0.0.1 (aiosmtpd, in this test process).

Per chooses a daily digest on /varsler (the way there is the menu). A guardian, Mona,
signing in for the first time is asked about notices before anything else: she asks
for them at once without an address (refused, in Norwegian, naming the field), then
gives it, and lands on her cases; when Kari writes in the case, the server mails her
"Det er nytt i stafettloggen" and nothing else. A handover to Pia, who has no address
in the staff directory, fails and shows on the admin's /admin/varsler, from where it is
tried again. Every page: no WCAG 2.1 A/AA violation, nothing from another host.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import date
from uuid import UUID

import httpx
import pytest
from playwright.sync_api import Browser, expect

from tests.api.story import national_id_for
from tests.conftest import ADMIN, KARI
from tests.smtp_server import Mailbox, smtp_env, smtp_server
from tests.web.people import Person
from tests.web.servers import Server, signing_in_with

MOTHER = "02013299997"
MONA = "mona@example.no"
CHILD = "Sofie Varselsen"
SECRET = "Sofie har det vanskelig hjemme for tiden."
BORN = date(2014, 1, 10)
LOGINS = {"kari": "kari-sub", "per": "per-sub", "adam": "adam-sub"}
CASES: dict[str, str] = {}


def prepare(app) -> None:
    app.register_staff(ADMIN, staff_id="adam", name="Adam Admin", service=None, roles=["admin"])
    app.change_staff(ADMIN, "per", email="per@hauge.skole.no")
    app.change_staff(ADMIN, "kari", email="kari@solsikken.no")
    case = app.open_case(KARI, child_name=CHILD, birth_date=BORN,
                         national_id=national_id_for(BORN), concern="Sofie er ofte lei seg.")
    app.record_guardian(KARI, case.id, name="Mona Varselsen", relation="mother",
                        national_id=MOTHER)
    CASES["sofie"] = str(case.id)


@pytest.fixture(scope="module")
def mailbox() -> Iterator[Mailbox]:
    with smtp_server() as running:
        yield running


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, provider: str,
           mailbox: Mailbox) -> Iterator[Server]:
    env = smtp_env(mailbox)
    env.pop("STAFETTLOGG_PUBLIC_URL")  # the server's own address
    env["STAFETTLOGG_FAMILY_NOTICE_DELAY_MINUTES"] = "0"  # the test waits for no clock
    with signing_in_with(tmp_path_factory.mktemp("varsler"), provider, LOGINS, prepare=prepare,
                         STAFETTLOGG_FAMILY_OIDC_ISSUER=provider,
                         STAFETTLOGG_FAMILY_OIDC_CLIENT_ID="stafettlogg-familie",
                         STAFETTLOGG_FAMILY_OIDC_CLIENT_SECRET="hemmelig", **env) as running:
        yield running


def wait_for_mail(mailbox: Mailbox, address: str, count: int = 1) -> None:
    deadline = time.monotonic() + 60
    while len(mailbox.to(address)) < count:
        assert time.monotonic() < deadline, f"no mail to {address} in 60 s"
        time.sleep(0.2)


def test_a_worker_chooses_a_daily_digest(browser: Browser, server: Server,
                                         provider: str) -> None:
    per = Person(browser, server, provider, LOGINS)
    try:
        per.sign_in("per")
        per.page.get_by_role("link", name="Varsler", exact=True).click()
        per.page.wait_for_url("**/varsler")
        per.check()
        expect(per.page.get_by_label("Straks: én e-post for hver ting")).to_be_checked()
        expect(per.page.locator("main")).to_contain_text("per@hauge.skole.no")
        per.tick(per.page.get_by_label("Én gang om dagen: en oversikt om morgenen"))
        per.press(per.page.get_by_role("button", name="Lagre valget"))
        per.check()
        expect(per.page.get_by_role("status")).to_contain_text("Valget ditt er lagret")
        expect(per.page.get_by_label("Én gang om dagen: en oversikt om morgenen")).to_be_checked()
        assert per.page.get_by_role("link", name="Varsler", exact=True).get_attribute(
            "aria-current") == "page"
    finally:
        per.close()


def test_a_guardian_opts_in_at_her_first_sign_in_and_hears_only_that_there_is_news(
    browser: Browser, server: Server, provider: str, mailbox: Mailbox,
) -> None:
    mona = Person(browser, server, provider, {})
    try:
        mona.page.set_viewport_size({"width": 375, "height": 800})
        httpx.put(f"{provider}/users/mona-sub", json={"pid": MOTHER}).raise_for_status()
        mona.page.goto("/familie")
        mona.check()
        mona.page.get_by_role("link", name="Logg inn med ID-porten").click()
        mona.page.fill("input[name=sub]", "mona-sub")
        mona.page.get_by_role("button", name="Authorize").click()
        mona.page.wait_for_url("**/familie/varsler?forste=1")
        mona.check()
        assert "mona" not in mona.page.url.lower() and MOTHER not in mona.page.url
        mona.tick(mona.page.get_by_label("Ja, straks det er noe nytt"))
        mona.press(mona.page.get_by_role("button", name="Lagre valget"))
        mona.check(refused=True)
        mona.console.clear()
        expect(mona.page.locator(".ds-error-summary")).to_contain_text(
            "E-post: Skriv e-postadressen du vil ha varsler på.")
        expect(mona.page.locator("input[name=email]")).to_have_attribute("aria-invalid", "true")
        mona.page.locator("input[name=email]").fill(MONA)
        mona.press(mona.page.get_by_role("button", name="Lagre valget"))
        mona.page.wait_for_url("**/familie/saker")
        mona.check()

        # Kari writes in the case: the server mails Mona, saying nothing but that.
        app = server.app()
        try:
            app.add_entry(KARI, UUID(CASES["sofie"]), kind="note", text=SECRET)
        finally:
            app.close()
        wait_for_mail(mailbox, MONA)
        (message,) = mailbox.to(MONA)
        assert message["Subject"] == "Det er nytt i stafettloggen"
        whole = mailbox.text(message)
        for secret in (CHILD, "Sofie", "Mona", SECRET, CASES["sofie"]):
            assert secret not in whole

        # Her choice, later, from the menu: the address she gave is shown to her.
        mona.page.get_by_role("link", name="Varsler").click()
        mona.page.wait_for_url("**/familie/varsler")
        mona.check()
        expect(mona.page.locator("input[name=email]")).to_have_value(MONA)
        mona.tick(mona.page.get_by_label("Nei takk"))
        mona.press(mona.page.get_by_role("button", name="Lagre valget"))
        mona.check()
        expect(mona.page.get_by_role("status")).to_contain_text("Valget ditt er lagret")
        expect(mona.page.locator("input[name=email]")).to_have_value("")
    finally:
        mona.close()


def test_a_notice_that_cannot_be_sent_shows_for_the_admin_who_tries_it_again(
    browser: Browser, server: Server, provider: str, mailbox: Mailbox,
) -> None:
    app = server.app()
    try:
        case_id = UUID(CASES["sofie"])
        app.register_consent(KARI, case_id, given_by="guardian", services=["ppt-lister"],
                             purpose="Utredning", valid_until=date(2030, 6, 30),
                             form="written")
        app.request_handover(KARI, case_id, to_user="pia", to_service="ppt-lister")
    finally:
        app.close()
    adam = Person(browser, server, provider, LOGINS)
    try:
        adam.sign_in("adam", lands_on="/admin")
        adam.page.locator("main a[href='/admin/varsler']").click()
        adam.page.wait_for_url("**/admin/varsler")
        deadline = time.monotonic() + 60
        while "ingen e-postadresse" not in adam.page.locator("main").inner_text():
            assert time.monotonic() < deadline, "the failed notice did not show"
            time.sleep(1)
            adam.page.reload()
        adam.check()
        # The nightly sweep's hour, and what it did last (if it has run on this server).
        expect(adam.page.locator("#nattlig")).to_contain_text("Hver natt kl. 02.00")
        row = adam.page.locator("tbody tr", has_text="ingen e-postadresse")
        expect(row).to_contain_text("Stafettpinne venter")
        expect(row).to_contain_text("pia")
        expect(row).to_contain_text("Mislyktes")
        assert CHILD not in adam.page.content()
        adam.press(row.get_by_role("button", name="Prøv igjen"))
        adam.check()
        expect(adam.page.get_by_role("status")).to_contain_text("Varselet sendes på nytt")
    finally:
        adam.close()
