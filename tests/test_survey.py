"""The staff survey through the application, on both backends: a round opened for a
municipality's services, one-time codes (one per active staff member, shown once),
one answer per code, the response rate, and answers that nothing in the store links
to a person or a code."""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path

import pytest

from domain import errors
from domain.survey import DRIVERS, RESULT_ITEMS, CodeNotValid, RoundNotOpen, SurveyAnswer
from stafettlogg.application import Stafettlogg
from stafettlogg.survey_commands import NoMailServer
from tests.conftest import ADMIN, KARI as KARI_ACTOR
from tests.conftest import STAFF, T0, MovableClock, register_services, settings_for
from tests.smtp_server import smtp_env, smtp_server

LAST_DAY = T0.date() + timedelta(days=14)


@pytest.fixture
def app(data_dir: Path, clock: MovableClock) -> Stafettlogg:
    application = Stafettlogg(settings_for(data_dir), clock=clock)
    register_services(application)
    yield application
    application.close()


def answer(level: int = 5) -> SurveyAnswer:
    return SurveyAnswer(level_of_use=level, drivers={d: 3 for d in DRIVERS},
                        results={r: 4 for r in RESULT_ITEMS})


def a_round(app: Stafettlogg):
    return app.open_survey_round(ADMIN, municipality="4225",
                                 services=["hs-lyngdal", "hauge-skole"],
                                 opens_on=T0.date(), closes_on=LAST_DAY)


def test_codes_one_per_active_staff_member_and_one_answer_each(
        app: Stafettlogg, clock: MovableClock) -> None:
    survey = a_round(app)
    codes = app.issue_survey_codes(ADMIN, survey.id, service="hs-lyngdal")
    assert len(codes) == 2  # Hanne and Kim
    assert all(len(c) == 19 and c.count("-") == 3 for c in codes)
    school = app.issue_survey_codes(ADMIN, survey.id, service="hauge-skole", count=4)

    app.answer_survey(codes[0], answer(6))
    app.answer_survey(codes[1].lower().replace("-", " "), answer(4))  # as typed on a phone
    with pytest.raises(CodeNotValid):
        app.answer_survey(codes[0], answer(6))  # a second answer with the same code
    with pytest.raises(CodeNotValid):
        app.answer_survey("ABCD-EFGH-JKMN-PQRS", answer())
    app.answer_survey(school[0], answer(2))

    view = app.survey_round(ADMIN, survey.id)
    rates = {s.service: (s.answered, s.invited) for s in view.services}
    assert rates == {"hs-lyngdal": (2, 2), "hauge-skole": (1, 4)}
    assert (view.answered, view.invited, view.status) == (3, 6, "open")

    clock.now = clock.now + timedelta(days=15)  # after the last day
    with pytest.raises(RoundNotOpen):
        app.answer_survey(school[1], answer())
    assert app.survey_round(ADMIN, survey.id).status == "closed"
    assert [r.id for r in app.survey_rounds(ADMIN)] == [survey.id]


def test_only_an_admin_runs_a_round(app: Stafettlogg) -> None:
    from tests.conftest import KARI
    with pytest.raises(errors.Forbidden):
        app.open_survey_round(KARI, municipality="4225", services=["hauge-skole"],
                              opens_on=T0.date(), closes_on=LAST_DAY)
    survey = a_round(app)
    with pytest.raises(errors.Forbidden):
        app.issue_survey_codes(KARI, survey.id, service="hauge-skole", count=2)
    with pytest.raises(errors.Forbidden):
        app.survey_round(KARI, survey.id)


def test_nothing_in_the_store_links_an_answer_to_a_person_or_a_code(app: Stafettlogg) -> None:
    survey = a_round(app)
    codes = app.issue_survey_codes(ADMIN, survey.id, service="hs-lyngdal")
    app.answer_survey(codes[0], answer(7))
    app.read_models.catch_up()

    # The event store, read back through the application (decrypted): no code anywhere,
    # no staff id in the round's events but the admin who ran it.
    staff_ids = {person[0] for person in STAFF}
    for notification in app.recorder.select_notifications(1, 100_000):
        event = app.mapper.to_domain_event(notification)
        text = repr(event)
        for code in codes:
            assert code not in text and code.replace("-", "") not in text
        if type(event).__name__.startswith("Survey"):
            assert not any(f"'{s}'" in text for s in staff_ids), text
    # The views: the answer's row has its service and sector, and no code or its hash.
    (row,) = app.read_models.views.read(
        "SELECT round_id, service, sector, role, level_of_use FROM sv_answers", ())
    assert row == (str(survey.id), "hs-lyngdal", "helsestasjon", None, 7)
    everything = " ".join(str(r) for table in ("sv_answers", "sv_rounds")
                          for r in app.read_models.views.read(f"SELECT * FROM {table}", ()))
    hashes = [app.blind_index.of_survey_code(c.replace("-", "")) for c in codes]
    assert not any(h in everything for h in hashes)
    assert not any(s in everything for s in staff_ids)


def test_a_round_names_its_period_and_services_rightly(app: Stafettlogg) -> None:
    app.register_service(ADMIN, service_id="kvinesdal-skole", name="Kvinesdal skole",
                         sector="skole", municipalities=["4227"], at=T0)
    with pytest.raises(errors.InvalidValue) as refused:
        app.open_survey_round(ADMIN, municipality="4225", services=["kvinesdal-skole"],
                              opens_on=T0.date(), closes_on=LAST_DAY)
    assert refused.value.field == "services"
    with pytest.raises(errors.InvalidValue) as refused:
        app.open_survey_round(ADMIN, municipality="4225", services=["hauge-skole"],
                              opens_on=T0.date(), closes_on=date(2020, 1, 1))
    assert refused.value.field == "closes_on"


def test_codes_go_by_e_mail_one_to_each_and_the_rest_are_printed(
        data_dir: Path, clock: MovableClock) -> None:
    with smtp_server() as mailbox:
        app = Stafettlogg(settings_for(data_dir, **smtp_env(mailbox)), clock=clock)
        try:
            register_services(app)
            app.change_staff(ADMIN, "hanne", email="hanne@lyngdal.kommune.no", at=T0)
            survey = a_round(app)
            # Kim has no address: his code is for the printed list.
            mailed = app.mail_survey_codes(ADMIN, survey.id, service="hs-lyngdal",
                                           address="https://stafettlogg.lyngdal.no/undersokelse")
            assert (mailed.sent, mailed.without_address, len(mailed.unsent)) == (1, 1, 1)
            (message,) = mailbox.to("hanne@lyngdal.kommune.no")
            text = mailbox.text(message)
            assert "https://stafettlogg.lyngdal.no/undersokelse" in text
            (code,) = re.findall(r"[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}", text)
            assert code not in mailed.unsent
            # Nothing about anyone: no name, no service, in the subject or the text.
            for word in ("Hanne", "Kim", "Helsestasjon", "Lyngdal skole"):
                assert word not in text and word not in message["Subject"]
            app.answer_survey(code, answer(5))
            app.answer_survey(mailed.unsent[0], answer(3))
            assert app.survey_round(ADMIN, survey.id).answered == 2
            with pytest.raises(errors.Forbidden):
                app.mail_survey_codes(KARI_ACTOR, survey.id, service="hs-lyngdal",
                                      address="https://x/undersokelse")
        finally:
            app.close()


def test_without_a_mail_server_codes_are_not_mailed(app: Stafettlogg) -> None:
    survey = a_round(app)
    with pytest.raises(NoMailServer):
        app.mail_survey_codes(ADMIN, survey.id, service="hs-lyngdal", address="https://x")
    assert app.survey_round(ADMIN, survey.id).invited == 0  # no codes made for nothing
