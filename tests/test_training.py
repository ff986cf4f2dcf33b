"""The training register through the application, on both backends: one by one, an
attendance list imported (CSV and Excel, all of it or nothing, row by row reasons),
"experienced as stafettholder" from the cases, and the activity indicators as shares
with their numerator and denominator as at a day."""

from __future__ import annotations

import io
from datetime import date, timedelta
from pathlib import Path

import pytest
import xlsxwriter

from domain import errors
from domain.values import Actor
from stafettlogg.application import Stafettlogg
from stafettlogg.attendance import read_attendance
from stafettlogg.training_commands import AttendanceRefused
from tests.conftest import ADMIN, KARI, PER, T0, MovableClock, register_services, settings_for
from tests.group_attacker import bounds

LIV = Actor(user="liv", service="hauge-skole", roles=frozenset({"leader"}),
            municipalities=frozenset({"4225"}))
DAY = T0.date() - timedelta(days=30)


@pytest.fixture
def app(data_dir: Path, clock: MovableClock) -> Stafettlogg:
    application = Stafettlogg(settings_for(data_dir), clock=clock)
    register_services(application)
    application.register_staff(ADMIN, staff_id="liv", name="Liv Enhetsleder",
                               service="hauge-skole", roles=["leader"], municipalities=["4225"],
                               at=T0)
    application.change_staff(ADMIN, "per", email="per@hauge.skole.no", at=T0)
    yield application
    application.close()


def share(app: Stafettlogg, indicator: str, service: str = "all", sector: str = "all",
          on: date | None = None) -> tuple[int, int]:
    for s in app.training_shares(ADMIN, municipality="4225", on=on or T0.date()):
        if (s.indicator, s.service, s.sector) == (indicator, service, sector):
            return s.numerator, s.denominator
    raise AssertionError(f"no share {indicator} {service} {sector}")


def test_a_unit_leader_records_for_her_own_staff_only(app: Stafettlogg) -> None:
    assert app.record_training(LIV, "per", training="stafettloggen", on=DAY)
    assert not app.record_training(LIV, "per", training="stafettloggen", on=DAY)  # once
    with pytest.raises(errors.Forbidden):
        app.record_training(LIV, "kari", training="stafettloggen", on=DAY)
    with pytest.raises(errors.Forbidden):
        app.record_training(KARI, "kari", training="stafettloggen", on=DAY)
    with pytest.raises(errors.UnknownStaff):
        app.record_training(ADMIN, "nobody", training="stafettloggen", on=DAY)
    assert [s.staff_id for s in app.training_register(LIV)] == ["liv", "per"]
    with pytest.raises(errors.Forbidden):
        app.training_register(LIV, service="bhg-solsikken")
    with pytest.raises(errors.Forbidden):
        app.training_register(KARI)
    (per,) = [s for s in app.training_register(ADMIN) if s.staff_id == "per"]
    assert per.trainings == {"stafettloggen": [DAY]}


def test_shares_count_the_active_staff_of_each_service_as_at_the_day(
        app: Stafettlogg, clock: MovableClock) -> None:
    # 4225's staff with a service: kari, per, pia, hanne, kim, liv (six).
    assert share(app, "stafettloggen") == (0, 6)
    app.record_training(ADMIN, "per", training="stafettloggen", on=DAY)
    clock.now += timedelta(days=1)
    app.record_training(ADMIN, "kari", training="stafettloggen", on=clock.now.date())
    assert share(app, "stafettloggen", on=clock.now.date()) == (2, 6)
    assert share(app, "stafettloggen", on=T0.date()) == (1, 6)  # as at the day before
    assert share(app, "stafettloggen", service="hauge-skole", sector="skole") == (1, 2)
    assert share(app, "stafettloggen", sector="skole") == (1, 2)
    assert share(app, "handlingsveileder") == (0, 6)

    # Kari leaves: from that day she is counted neither above nor below the line.
    clock.now += timedelta(days=2)
    app.change_staff(ADMIN, "kari", active=False)
    assert share(app, "stafettloggen", on=clock.now.date()) == (1, 5)
    before = clock.now.date() - timedelta(days=1)
    assert share(app, "stafettloggen", on=before) == (2, 6)  # the day before, unchanged


def test_experience_as_stafettholder_comes_from_the_cases(
        app: Stafettlogg, clock: MovableClock) -> None:
    assert share(app, "erfaring-som-stafettholder") == (0, 6)
    case = app.open_case(KARI, child_name="Emil Strand", concern="Urolig.")
    assert share(app, "erfaring-som-stafettholder") == (1, 6)
    assert share(app, "stafettholdere-med-opplaering") == (0, 1)
    app.record_level0_step(KARI, case.id, step="beslutning", text="Vi deler med skolen.")
    app.register_consent(KARI, case.id, given_by="guardian", services=["hauge-skole"],
                         purpose="Overgang", valid_until=date(2027, 6, 30), form="written")
    handover = app.request_handover(KARI, case.id, to_user="per", to_service="hauge-skole")
    clock.now += timedelta(days=1)
    assert share(app, "erfaring-som-stafettholder", on=clock.now.date()) == (1, 6)  # asked only
    app.accept_handover(PER, case.id, handover.result)
    assert share(app, "erfaring-som-stafettholder", on=clock.now.date()) == (2, 6)
    assert share(app, "erfaring-som-stafettholder", on=T0.date()) == (1, 6)
    app.record_training(ADMIN, "per", training="stafettholderrollen", on=clock.now.date())
    assert share(app, "stafettholdere-med-opplaering", on=clock.now.date()) == (1, 2)
    (per,) = [s for s in app.training_register(ADMIN) if s.staff_id == "per"]
    assert per.held_baton_since == clock.now.date()


def csv_file(*rows: str) -> bytes:
    return ("\ufeff" + "\r\n".join(rows)).encode("utf-8")


def test_an_attendance_list_is_previewed_then_recorded_all_at_once(app: Stafettlogg) -> None:
    lines = read_attendance(csv_file(
        "navn;ansatt;e-post;dato",
        "Kari Nordmann;kari;;02.02.2026",
        "Per Hansen;;PER@hauge.skole.no;2026-02-02",
        "Pia Olsen;pia;;2.2.2026",
    ), "deltakere.csv")
    preview = app.preview_attendance(ADMIN, lines, training="tegn-og-signaler")
    assert [(x.line, x.staff_id, x.status) for x in preview.lines] == [
        (2, "kari", "new"), (3, "per", "new"), (4, "pia", "new")]
    assert share(app, "tegn-og-signaler") == (0, 6)  # a preview records nothing
    done = app.import_attendance(ADMIN, lines, training="tegn-og-signaler")
    assert done.new == 3
    assert share(app, "tegn-og-signaler") == (3, 6)
    again = app.preview_attendance(ADMIN, lines, training="tegn-og-signaler")
    assert again.recorded == 3 and again.new == 0
    app.import_attendance(ADMIN, lines, training="tegn-og-signaler")  # nothing twice
    (kari,) = [s for s in app.training_register(ADMIN) if s.staff_id == "kari"]
    assert kari.trainings == {"tegn-og-signaler": [date(2026, 2, 2)]}


def test_a_list_with_rows_that_do_not_match_records_nothing_and_says_why_row_by_row(
        app: Stafettlogg) -> None:
    lines = read_attendance(csv_file(
        "ansatt,opplæring,dato",
        "kari,Stafettloggen,02.02.2026",
        "ola,stafettloggen,02.02.2026",
        "per,førstehjelp,02.02.2026",
        "pia,stafettloggen,31.02.2026",
        "hanne,stafettloggen,02.02.2099",
        "kim,stafettloggen,",
    ), "liste.csv")
    preview = app.preview_attendance(ADMIN, lines)
    assert [(x.line, x.status, x.field, x.error) for x in preview.lines] == [
        (2, "new", None, None),
        (3, "error", "ansatt", "«ola» finnes ikke i ansattlisten."),
        (4, "error", "opplæring", "Ukjent opplæring «førstehjelp»."),
        (5, "error", "dato", "«31.02.2026» er ikke en dato: skriv DD.MM.ÅÅÅÅ."),
        (6, "error", "dato", "Datoen for opplæringen kan ikke være fram i tid."),
        (7, "error", "dato", "Raden har ingen dato."),
    ]
    with pytest.raises(AttendanceRefused) as refused:
        app.import_attendance(ADMIN, lines)
    assert refused.value.preview.errors == preview.errors
    assert share(app, "stafettloggen") == (0, 6)  # not even Kari's row


def test_a_unit_leader_s_list_may_hold_only_her_own_staff(app: Stafettlogg) -> None:
    lines = read_attendance(csv_file("ansatt;dato", "per;02.02.2026", "kari;02.02.2026"),
                            "liste.csv")
    preview = app.preview_attendance(LIV, lines, training="stafettloggen")
    assert [(x.status, x.error) for x in preview.lines] == [
        ("new", None), ("error", "Kari Nordmann hører ikke til din tjeneste.")]


def test_an_excel_list_is_read_from_its_first_sheet_with_date_cells(app: Stafettlogg) -> None:
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    sheet = book.add_worksheet("Deltakere")
    dated = book.add_format({"num_format": "dd.mm.yyyy"})
    sheet.write_row(0, 0, ["Navn", "E-post", "Dato"])
    sheet.write_row(1, 0, ["Per Hansen", "per@hauge.skole.no"])
    sheet.write_datetime(1, 2, date(2026, 1, 20), dated)
    book.close()
    lines = read_attendance(buffer.getvalue(), "deltakere.xlsx")
    assert [(x.email, x.day) for x in lines] == [("per@hauge.skole.no", "2026-01-20")]
    app.import_attendance(ADMIN, lines, training="handlingsveileder")
    assert share(app, "handlingsveileder", service="hauge-skole", sector="skole") == (1, 2)


@pytest.mark.parametrize(("data", "name", "message"), [
    (b"", "tom.csv", "Velg en fil med deltakerlisten (CSV eller Excel)."),
    (b"Kari;02.02.2026\n", "liste.csv", "Første rad må navngi kolonnene"),
    (b"PK\x03\x04 ikke en arbeidsbok", "liste.xlsx", "Filen kan ikke leses som en Excel-fil"),
])
def test_a_file_that_is_no_attendance_list_is_refused_with_the_reason(
        data: bytes, name: str, message: str) -> None:
    with pytest.raises(errors.InvalidValue) as refused:
        read_attendance(data, name)
    assert refused.value.field == "file"
    assert refused.value.message.startswith(message)


EVALUATOR = Actor(user="eva", roles=frozenset({"evaluator"}), municipalities=frozenset({"4225"}))


def test_an_evaluator_sees_the_shares_protected_like_the_survey(app: Stafettlogg) -> None:
    # Two more schools: Lyngdal with 7 staff, Kvås with 3 (and Hauge with Per and Liv).
    for service, name, people in (("lyngdal-skole", "Lyngdal ungdomsskole", 7),
                                  ("kvas-skole", "Kvås skole", 3)):
        app.register_service(ADMIN, service_id=service, name=name, sector="skole",
                             municipalities=["4225"], at=T0)
        for n in range(people):
            app.register_staff(ADMIN, staff_id=f"{service}-{n}", name=f"Ansatt {n}",
                               service=service, roles=["worker"], municipalities=["4225"], at=T0)
            if n % 2 == 0:
                app.record_training(ADMIN, f"{service}-{n}", training="handlingsveileder", on=DAY)
    with pytest.raises(errors.Forbidden):
        app.activity_indicators(KARI, municipality="4225", on=T0.date())
    with pytest.raises(errors.Forbidden):
        app.activity_indicators(Actor(user="e", roles=frozenset({"evaluator"}),
                                      municipalities=frozenset({"4227"})),
                                municipality="4225", on=T0.date())
    shown = {(s.sector, s.service): s for s in app.activity_indicators(
        EVALUATOR, municipality="4225", on=T0.date()) if s.indicator == "handlingsveileder"}
    raw = {(s.sector, s.service): s for s in app.training_shares(
        ADMIN, municipality="4225", on=T0.date()) if s.indicator == "handlingsveileder"}
    assert raw[("skole", "kvas-skole")][4:] == (2, 3)
    assert shown[("skole", "kvas-skole")][4:] == (None, None)  # 3 staff: nothing
    assert shown[("skole", "lyngdal-skole")][4:] == (4, 7)  # 7 staff, 4 trained
    assert shown[("all", "all")][4:] == raw[("all", "all")][4:]
    # Neither its staff nor its trained can be worked out from what is shown.
    parents = {g: None if g[0] == "all" else ("all", "all") if g[1] == "all" else (g[0], "all")
               for g in shown}
    sizes = {g: s.denominator for g, s in shown.items()}
    figures = {g: None if s.numerator is None else [s.numerator, s.denominator - s.numerator]
               for g, s in shown.items()}
    low, high = bounds(parents, sizes, figures, ("skole", "kvas-skole"), "size")
    assert high >= 5 and high - low + 1 >= 5, (low, high)
    low, high = bounds(parents, sizes, figures, ("skole", "kvas-skole"), 0)
    assert low < high  # 2 trained, but 0, 1 or 2 for all anyone can tell
    # A unit where everyone (of fewer than 10) had it shows no 100 %.
    for member in ("hanne", "kim"):
        app.record_training(ADMIN, member, training="tegn-og-signaler", on=DAY)
    signs = {(s.sector, s.service): s for s in app.activity_indicators(
        EVALUATOR, municipality="4225", on=T0.date()) if s.indicator == "tegn-og-signaler"}
    assert all(s.numerator is None or 0 < s.numerator < s.denominator
               or s.denominator >= 10 for s in signs.values())
