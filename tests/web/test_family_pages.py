"""The family's pages, in Chromium, with sign-in through a real OpenID Connect provider on
127.0.0.1 standing in for ID-porten (the person named by the `pid` claim).

Kari holds two cases. Sofie (13) has her mother Mona recorded as guardian, with her
fødselsnummer; Sofie asked that one conversation is kept from her parents. Jonas (16)
has his own fødselsnummer on his case. Mona signs in and sees Sofie's case only: who
holds the baton, the services, the consents, the log without the withheld conversation
(and without the step that withheld it), the health station brought in without consent
on a statutory basis, and the access log with Kari's steps and her
own read, as a guardian. Jonas sees his own case. Someone recorded nowhere, and Sofie
herself (under the youth-consent age, 16), are told there is no case and are not signed
in. A family session opens no staff page, API endpoint or statistic. Every page: no
WCAG 2.1 A/AA violation, nothing from another host, usable at 375 px.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from uuid import UUID

import httpx
import pytest
from playwright.sync_api import Browser, expect

from tests.api.story import national_id_for
from tests.conftest import KARI
from tests.web.people import Person
from tests.web.servers import Server, signing_in_with
from tests.web.test_pages import SCREENSHOTS

MOTHER = "02013299997"
STRANGER = "30108299920"
TODAY = datetime.now(UTC).date()
SOFIE_BORN = date(TODAY.year - 13, 1, 10)
JONAS_BORN = date(TODAY.year - 16, 1, 10)
SECRET = "Sofie fortalte om kjæresten sin og vil ikke at foreldrene skal vite det."
SHARED = "Sofie har hatt en fin uke på skolen."
BY_LAW = "Helsestasjonen er koblet inn etter at barnehagen meldte til barnevernet."
CASES: dict[str, str] = {}


def prepare(app) -> None:
    sofie = app.open_case(KARI, child_name="Sofie Foresattesen", birth_date=SOFIE_BORN,
                          national_id=national_id_for(SOFIE_BORN),
                          concern="Sofie er ofte lei seg når hun blir hentet.")
    app.record_guardian(KARI, sofie.id, name="Mona Foresattesen", relation="mother",
                        national_id=MOTHER)
    app.add_entry(KARI, sofie.id, kind="note", text=SHARED)
    secret = app.add_entry(KARI, sofie.id, kind="conversation", text=SECRET).result
    app.withhold_entry(KARI, sofie.id, secret, reason="Sofie ba om det.")
    app.bring_in_by_law(KARI, sofie.id, service="hs-lyngdal", basis="opplysningsplikt-barnevern",
                        reason=BY_LAW)
    jonas = app.open_case(KARI, child_name="Jonas Egensen", birth_date=JONAS_BORN,
                          national_id=national_id_for(JONAS_BORN),
                          concern="Jonas sover dårlig.")
    CASES.update(sofie=str(sofie.id), jonas=str(jonas.id))


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, provider: str) -> Iterator[Server]:
    with signing_in_with(tmp_path_factory.mktemp("familie"), provider, {"kari": "kari-sub"},
                         prepare=prepare,
                         STAFETTLOGG_FAMILY_OIDC_ISSUER=provider,
                         STAFETTLOGG_FAMILY_OIDC_CLIENT_ID="stafettlogg-familie",
                         STAFETTLOGG_FAMILY_OIDC_CLIENT_SECRET="hemmelig") as running:
        yield running


class FamilyMember(Person):
    """A guardian's or young person's phone: ID-porten gives their `pid`."""

    def __init__(self, browser: Browser, server: Server, provider: str, subject: str,
                 pid: str) -> None:
        super().__init__(browser, server, provider, {})
        self.page.set_viewport_size({"width": 375, "height": 800})
        httpx.put(f"{provider}/users/{subject}", json={"pid": pid}).raise_for_status()
        self.subject = subject

    def sign_in_family(self) -> None:
        self.page.goto("/familie")
        self.check()
        self.page.get_by_role("link", name="Logg inn med ID-porten").click()
        self.page.fill("input[name=sub]", self.subject)
        self.page.get_by_role("button", name="Authorize").click()
        self.page.wait_for_load_state()

    def open_form(self, title: str, *, already_open: bool = False):
        box = self.page.locator("details", has=self.page.locator("summary", has_text=title))
        if not already_open:
            box.locator("summary").click()
        return box

    def fits(self) -> None:
        assert self.page.evaluate(
            "document.documentElement.scrollWidth <= document.documentElement.clientWidth")


def test_a_guardian_reads_her_childs_log_but_not_what_is_kept_from_her(
    browser: Browser, server: Server, provider: str
) -> None:
    mona = FamilyMember(browser, server, provider, "mona-sub", MOTHER)
    try:
        mona.sign_in_family()
        page = mona.page
        assert page.url.endswith("/familie/saker")
        mona.check()
        mona.fits()
        links = page.locator("a[href^='/familie/saker/']")
        assert links.all_inner_texts() == ["Sofie Foresattesen"]
        links.first.click()
        page.wait_for_url(f"**/familie/saker/{CASES['sofie']}")
        mona.check()
        mona.fits()
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)  # for a person to look at
        page.screenshot(path=str(SCREENSHOTS / "familie-sak-375.png"), full_page=True)
        log = page.locator("#logg-tittel + ol").inner_text()
        assert SHARED in log and SECRET not in log
        assert "skjult" not in log.lower()
        expect(page.get_by_text("Har stafetten")).to_be_visible()
        access = page.locator("table tbody").inner_text()
        assert "Kari Nordmann" in access and "Foresatt" in access and "leste saken" in access
        assert "skjult" not in access  # nor that something was kept from her
        assert access.count("skrev i loggen") == 1  # not even that Kari wrote it
        # A service brought in without consent: which one, on which basis, and why.
        expect(page.locator("#samtykker").locator("..")).to_contain_text(
            "Helsestasjonen i Lyngdal, fra")
        expect(page.locator("#samtykker").locator("..")).to_contain_text(
            "Opplysningsplikten til barnevernet")
        assert BY_LAW in log and "koblet inn en tjeneste uten samtykke" in access
        assert "Mona" not in page.content().split("<main")[1].split("Loggen")[1]  # no name in the log

        # She gives a consent herself: first without a service (refused, in Norwegian,
        # nothing recorded), then to the school; writes to the log; answers the question.
        box = mona.open_form("Gi samtykke")
        box.get_by_label("Hva skal samarbeidet gjelde?").fill("Overgangen til ungdomsskolen")
        box.get_by_label("Gjelder til og med").fill(f"30.06.{TODAY.year + 1}")
        mona.press(box.get_by_role("button", name="Gi samtykket"))
        mona.check(refused=True)
        mona.console.clear()
        expect(page.locator(".ds-error-summary")).to_contain_text("Velg minst én tjeneste")
        box = mona.open_form("Gi samtykke", already_open=True)
        mona.tick(box.get_by_label("Hauge skole"))
        mona.press(box.get_by_role("button", name="Gi samtykket"))
        mona.check()
        expect(page.get_by_role("status")).to_contain_text("Samtykket er registrert")
        expect(page.locator("#samtykker + ul")).to_contain_text("Hauge skole")
        box = mona.open_form("Skriv en melding i loggen")
        box.get_by_label("Meldingen").fill("Takk for møtet i går, vi kommer gjerne igjen.")
        mona.press(box.get_by_role("button", name="Skriv i loggen"))
        expect(page.locator("#logg-tittel + ol")).to_contain_text("Takk for møtet i går")
        box = mona.open_form("Hvor fornøyd er du med samarbeidet?")
        mona.tick(box.get_by_label("4", exact=True))
        mona.press(box.get_by_role("button", name="Send svaret"))
        expect(page.get_by_role("status")).to_contain_text("Takk for svaret")
        box = mona.open_form("Trekk tilbake et samtykke")
        box.get_by_label("Samtykke").select_option(index=1)
        mona.press(box.get_by_role("button", name="Trekk tilbake"))
        mona.check()
        expect(page.locator("#samtykker + ul")).to_contain_text("trukket tilbake")
        access = page.locator("table tbody").inner_text()
        assert access.count("Foresatt") >= 5  # every step of hers, as a guardian

        # The holder sees what she did, and that the consent was given digitally.
        app = server.app()
        try:
            consents = app.get_case(UUID(CASES["sofie"])).state.consents.values()
            assert [(c.form, c.given_by, c.status) for c in consents] == [
                ("digital", "guardian", "withdrawn")]
        finally:
            app.close()

        # Not Jonas's case, and no staff page, API answer or statistic.
        other = page.goto(f"/familie/saker/{CASES['jonas']}")
        assert other is not None and other.status == 404
        staff = page.goto("/saker")
        assert staff is not None and "/logg-inn" in page.url
        answer = page.request.get("/api/v1/cases")
        assert answer.status == 401
        stats = page.request.get("/api/v1/statistics/indicators?period=2026")
        assert stats.status == 401
        page.goto("/statistikk")
        assert "/logg-inn" in page.url

        # Signing out ends it.
        page.goto("/familie/saker")
        page.get_by_role("button", name="Logg ut").click()
        page.wait_for_url("**/familie?utlogget=1")
        page.goto("/familie/saker")
        assert page.url.endswith("/familie")
    finally:
        mona.close()


def test_the_young_person_reads_their_own_case_from_the_youth_consent_age(
    browser: Browser, server: Server, provider: str
) -> None:
    jonas = FamilyMember(browser, server, provider, "jonas-sub", national_id_for(JONAS_BORN))
    try:
        jonas.sign_in_family()
        jonas.check()
        assert jonas.page.locator("a[href^='/familie/saker/']").all_inner_texts() == [
            "Jonas Egensen"]
        expect(jonas.page.get_by_text("din egen sak")).to_be_visible()
    finally:
        jonas.close()


@pytest.mark.parametrize("who", ["stranger", "sofie"])
def test_no_case_no_sign_in(browser: Browser, server: Server, provider: str, who: str) -> None:
    pid = STRANGER if who == "stranger" else national_id_for(SOFIE_BORN)  # Sofie is 13
    person = FamilyMember(browser, server, provider, f"{who}-sub", pid)
    try:
        person.sign_in_family()
        expect(person.page.get_by_role("heading", name="Vi fant ingen saker")).to_be_visible()
        person.check(refused=True)
        assert not [c for c in person.context.cookies() if c["name"] == "stafettlogg_familie"]
    finally:
        person.close()
