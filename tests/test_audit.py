"""The published tables, audited by an independent attacker (tests/auditor.py).

Small stores built to tempt an attacker are released as the service releases them,
fetched as a national evaluator gets them, and audited: no hidden count of 1-4 may
be pinned (its whole-number range must reach 5 and span 5 values). The auditor is
checked for teeth on hand-made tables, and against a weakened rule (measures shown
whatever their counts) that it must catch.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from uuid import UUID

import pytest

from domain.values import Actor
from projections import publication
from stafettlogg.application import Stafettlogg
from tests import auditor
from tests.auditor import Report, audit, audit_app, made_up
from tests.conftest import ADMIN, KARI, PER, register_staff
from tests.stores import settings_for
from tests.test_statistics import MovableClock, at, decide

pytestmark = pytest.mark.slow

ALL = "all"
HANNE = Actor(user="hanne", service="hs-lyngdal", roles=frozenset({"worker"}),
              municipalities=frozenset({"4225"}))
PIA = Actor(user="pia", service="ppt-lister", roles=frozenset({"worker"}),
            municipalities=frozenset({"4225", "4227"}))


@pytest.fixture
def stores(tmp_path: Path) -> Iterator[Callable[[], Stafettlogg]]:
    """New small stores, living early in 2027 (every period of 2026 has ended)."""
    made: list[Stafettlogg] = []

    def make() -> Stafettlogg:
        app = Stafettlogg(settings_for(tmp_path / f"var{len(made)}"),
                          clock=MovableClock(at("2027-01-05")))
        made.append(app)
        for service_id, name, sector, municipalities in [
            ("bhg-solsikken", "Solsikken barnehage", "barnehage", ["4225"]),
            ("hauge-skole", "Hauge skole", "skole", ["4225"]),
            ("ppt-lister", "PPT Lister", "ppt", ["4225", "4227"]),
            ("hs-lyngdal", "Helsestasjonen i Lyngdal", "helsestasjon", ["4225"]),
        ]:
            app.register_service(ADMIN, service_id=service_id, name=name, sector=sector,
                                 municipalities=municipalities, at=at("2025-12-01"))
        register_staff(app, at=at("2025-12-01"))
        return app

    yield make
    for app in made:
        app.close()


@pytest.fixture
def small(stores: Callable[[], Stafettlogg]) -> Stafettlogg:
    return stores()


def open_case(app: Stafettlogg, actor: Actor, name: str, day: str, **extra: str) -> UUID:
    return app.open_case(actor, child_name=name, concern=f"Vi undrer oss over {name}.",
                         at=at(day), **extra).id


def nothing_pinned(report: Report) -> None:
    print(report.summary())
    assert report.model_errors == [], report.details()
    assert report.mismatches == [], report.details()
    assert report.checked > 0  # there were small hidden cells to attack
    assert report.violations == [], report.details()


# --- tables made to tempt the attacker --------------------------------------------


def test_one_child_in_one_sector_among_many_elsewhere(small: Stafettlogg) -> None:
    for i in range(12):
        open_case(small, KARI, f"Barn Bhg{i:02d} Testesen", f"2026-02-{2 + i:02d}")
    lonely = open_case(small, HANNE, "Ensom Helsestasjonsbarn", "2026-02-16")
    decide(small, HANNE, lonely, "2026-02-20")
    report = audit_app(small)
    assert ("cases_opened", "2026-02", "4225", "helsestasjon", "0") in report.bounds
    nothing_pinned(report)


def test_one_child_moving_between_quarters(small: Stafettlogg) -> None:
    cases = [open_case(small, KARI, f"Barn Kvartal{i:02d} Testesen", f"2026-01-{5 + i:02d}")
             for i in range(8)]
    for i in range(6):
        open_case(small, PER, f"Elev Kvartal{i:02d} Testesen", f"2026-02-{2 + i:02d}")
    mover = cases[0]
    small.register_consent(
        KARI, mover, given_by="guardian", services=["hauge-skole"],
        purpose="Overføring til skolen.", valid_until=date(2026, 12, 31), form="written",
        at=at("2026-04-20"),
    )
    handover = small.request_handover(
        KARI, mover, to_user="per", to_service="hauge-skole", at=at("2026-04-21")
    ).result
    small.accept_handover(PER, mover, handover, at=at("2026-05-04"))
    open_case(small, KARI, "Sen Kvartal Testesen", "2026-04-08")
    report = audit_app(small)
    assert ("handovers_completed", "2026-05", "4225", "skole", "0") in report.bounds
    nothing_pinned(report)


def test_a_municipality_that_is_the_national_total_minus_another(small: Stafettlogg) -> None:
    """4225 with 12 cases, 4227 with one: the national total minus 4225 is 4227's case."""
    for i in range(12):
        open_case(small, KARI, f"Barn Lyngdal{i:02d} Testesen", f"2026-03-{2 + i:02d}")
    alone = open_case(small, PIA, "Eneste Farsundbarn", "2026-03-10", municipality="4227")
    decide(small, PIA, alone, "2026-03-12")
    small.close_case(PIA, alone, reason="moved-away", at=at("2026-06-15"))
    report = audit_app(small)
    assert ("cases_opened", "2026-03", "4227", "ppt", "0") in report.bounds
    assert ("cases_closed_moved_away", "2026-06", "4227", ALL, ALL) in report.bounds
    nothing_pinned(report)


def test_the_national_count_of_children_with_a_holder_stays_published(
        small: Stafettlogg) -> None:
    """Cases open in 4225 in February, May, August and November, four at a time (each
    month's openings are a small count), and 4227 has six cases from February. The
    children with a stafettholder in all municipalities together is the number a
    reader looks for first: it is published every month and quarter, while the small
    counts are protected through the month's flows instead of by hiding it."""
    for n, month in enumerate(("02", "05", "08", "11")):
        for i, who in enumerate((KARI, KARI, PER, HANNE)):
            open_case(small, who, f"Barn Runde{n}{i} Testesen", f"2026-{month}-{3 + 4 * n + i:02d}")
    for i in range(6):
        open_case(small, PIA, f"Farsund Barn{i:02d} Testesen", f"2026-02-{10 + i:02d}",
                  municipality="4227")
    report = audit_app(small)
    nothing_pinned(report)
    munis = auditor.municipalities_of(small)
    actor = Actor(user="auditor", roles=frozenset({"evaluator"}), municipalities=frozenset(munis))
    national = {c.period: c.value for c in auditor.published_year(small, actor, 2026)
                if c.indicator == "children_with_holder"
                and (c.municipality, c.sector, c.level) == (ALL, ALL, ALL)}
    assert national["2026-01"] == 0
    held = {"02": 10, "05": 14, "08": 18, "11": 22}
    for m in range(2, 13):
        month = f"{m:02d}"
        want = held[max(k for k in held if k <= month)]
        assert national[f"2026-{month}"] == want, (month, national)
    assert [national[f"2026-Q{q}"] for q in (1, 2, 3, 4)] == [10, 14, 18, 22]
    assert (national["2026-H1"], national["2026-H2"], national["2026"]) == (14, 22, 22)


def test_a_child_whose_level_changes(small: Stafettlogg) -> None:
    cases = [open_case(small, KARI, f"Barn Niva{i:02d} Testesen", f"2026-01-{5 + i:02d}")
             for i in range(9)]
    for case_id in cases:
        decide(small, KARI, case_id, "2026-01-16")
    small.change_level(KARI, cases[0], level=1, reason="Tiltak i barnehagen.",
                       at=at("2026-03-10"))
    small.change_level(KARI, cases[0], level=0, reason="Tilbake.", at=at("2026-08-11"))
    small.close_case(KARI, cases[1], reason="concern-resolved", at=at("2026-09-01"))
    report = audit_app(small)
    assert ("level_transitions", "2026-03", "4225", "barnehage", "1") in report.bounds
    assert ("children_with_holder", "2026-03", "4225", "barnehage", "1") in report.bounds
    nothing_pinned(report)


# --- the auditor has teeth ----------------------------------------------------------


def test_the_auditor_finds_a_count_that_plain_differencing_gives_away() -> None:
    """Only the small cells hidden (no complements): 6 meetings in 4225 at level 0, 5
    of them in barnehage, so the hidden skole cell is 6 - 5 = 1."""
    fine = {("interdisciplinary_meetings", "2026-03", "4225", "barnehage", "0"): 5,
            ("interdisciplinary_meetings", "2026-03", "4225", "skole", "0"): 1}
    cells, truth = made_up(fine, year=2026, municipalities=("4225",),
                           hidden=lambda key, value: 0 < value < 5)
    report = audit(cells, year=2026, municipalities=("4225",), truth=truth)
    print(report.details())
    assert report.model_errors == []
    pinned = {v.cell: (v.low, v.high) for v in report.violations}
    assert pinned[("interdisciplinary_meetings", "2026-03", "4225", "skole", "0")] == (1, 1)
    assert pinned[("interdisciplinary_meetings", "2026", ALL, "skole", ALL)] == (1, 1)


# A 3 x 3 x 3 table (municipality x sector x level) whose every margin is published
# and whose detail is hidden but for five cells; found by a search. The LP says cell
# (4201, skole, 2) could be up to 1.5; only whole numbers make it at most 1.
MUNIS = ("4201", "4202", "4203")
SECTORS3 = ("barnehage", "skole", "ppt")
LEVELS3 = ("0", "1", "2")
VALUES = [2, 1, 2, 3, 1, 3, 0, 0, 0, 1, 0, 1, 0, 2, 0, 2, 0, 0, 0, 2, 1, 3, 1, 0, 3, 1, 1]
PUBLISHED = [0, 1, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0]


def test_the_auditor_rounds_with_whole_numbers() -> None:
    positions = [(m, s, lvl) for m in MUNIS for s in SECTORS3 for lvl in LEVELS3]
    fine = {("interdisciplinary_meetings", "2026-03", *cell): v
            for cell, v in zip(positions, VALUES, strict=True) if v}
    detail = {cell for cell, shown in zip(positions, PUBLISHED, strict=True) if not shown}

    def hidden(key: tuple[str, ...], value: int) -> bool:
        return tuple(key[2:]) in detail

    cells, truth = made_up(fine, year=2026, municipalities=MUNIS, hidden=hidden)
    target = ("interdisciplinary_meetings", "2026-03", "4203", "barnehage", "2")
    assert truth[target] == 1
    # What linear programming alone says: up to 1.5.
    counts = {(c.indicator, c.period, c.municipality, c.sector, c.level): c.value
              for c in cells}
    system = auditor.build(("interdisciplinary_meetings",), 2026, MUNIS, counts, {},
                           measures_linked=True, min_records=5, start_empty=True)
    where, components = auditor._components(system)
    n = system.index[target]
    component = components[where[n]]
    assert auditor._lp(component, component.columns.index(n), -1.0) == pytest.approx(1.5)
    # The audit rounds it to whole numbers, and the integer program agrees.
    report = audit(cells, year=2026, municipalities=MUNIS, truth=truth, milp_sample=1000)
    assert report.model_errors == []
    assert report.bounds[target][1] == 1
    assert target in {v.cell for v in report.violations}


# --- a weakened rule is caught ----------------------------------------------------


def satisfaction_story(app: Stafettlogg) -> None:
    """Six answers in barnehage and two in skole in March: the skole count (2) is
    hidden, and so is its mean (two answers)."""
    kids = [open_case(app, KARI, f"Barn Svar{i:02d} Testesen", f"2026-02-{2 + i:02d}")
            for i in range(8)]
    pupils = [open_case(app, PER, f"Elev Svar{i:02d} Testesen", f"2026-02-{12 + i:02d}")
              for i in range(6)]
    for n, case_id in enumerate(kids[:6]):
        app.record_satisfaction(KARI, case_id, respondent="guardian", score=1 + n % 5,
                                at=at("2026-03-10"))
    for case_id in pupils[:2]:
        app.record_satisfaction(PER, case_id, respondent="guardian", score=4,
                                at=at("2026-03-11"))


def test_measures_shown_whatever_their_counts_give_small_counts_away(
    stores: Callable[[], Stafettlogg], monkeypatch: pytest.MonkeyPatch,
) -> None:
    small_cell = ("satisfaction_answers", "2026-03", "4225", "skole", "0")
    # The rule in force: a measure only where its count is published.
    normal = stores()
    satisfaction_story(normal)
    kept = audit_app(normal, measures_linked=True)
    assert small_cell in kept.bounds
    nothing_pinned(kept)
    # Weakened: measures no longer linked to their counts (shown iff 5 records).
    monkeypatch.setattr(publication, "MEASURE_COUNTS",
                        {k: () for k in publication.MEASURE_COUNTS})
    weak = stores()
    satisfaction_story(weak)
    broken = audit_app(weak, measures_linked=False)
    print(broken.details())
    assert broken.model_errors == []
    pinned = {v.cell: v for v in broken.violations}
    assert small_cell in pinned
    assert pinned[small_cell].high <= 4


# --- no more hidden than needed ------------------------------------------------------


def test_every_hidden_complement_is_needed(small: Stafettlogg) -> None:
    """Locally minimal: publish any one cell hidden to protect others (a zero or a
    count of 5 or more) and some small count is pinned. Checked by the auditor for
    the complements with the most totals (the ones a user misses first)."""
    from projections.indicators import INDICATORS, count_year

    for i in range(7):
        open_case(small, KARI, f"Barn Minimal{i:02d} Testesen", f"2026-02-{2 + i:02d}")
    lonely = open_case(small, HANNE, "Ensom Minimalbarn", "2026-02-16")
    decide(small, HANNE, lonely, "2026-02-20")
    small.close_case(HANNE, lonely, reason="moved-away", at=at("2026-05-12"))
    small.statistics.release()
    munis = auditor.municipalities_of(small)
    actor = Actor(user="auditor", roles=frozenset({"evaluator"}), municipalities=frozenset(munis))
    cells = auditor.published_year(small, actor, 2026)
    counts, _ = count_year(small.read_models.views, 2026, munis)
    measures = {i.key for i in INDICATORS if i.kind == "measure"}

    def true(c: object) -> int:
        table = counts[c.indicator]  # type: ignore[attr-defined]
        return next(v for k, v in table.items()
                    if (k.period, k.municipality, k.sector, k.level)
                    == (c.period, c.municipality, c.sector, c.level))  # type: ignore[attr-defined]

    complements = [c for c in cells if c.suppressed and c.indicator not in measures
                   and not 0 < true(c) < 5]
    assert complements, "nothing hidden but the small counts: nothing to check"
    complements.sort(key=lambda c: (-[c.municipality, c.sector, c.level].count(ALL),
                                    c.indicator, c.period, c.municipality, c.sector, c.level))
    assert nothing_pinned(audit(cells, year=2026, municipalities=munis, truth=counts)) is None
    for complement in complements[:6]:
        shown = [type(c)(c.indicator, c.period, c.municipality, c.sector, c.level, true(c), False)
                 if c is complement else c for c in cells]
        report = audit(shown, year=2026, municipalities=munis, truth=counts)
        assert report.violations, (
            f"{complement.indicator} {complement.period} {complement.municipality} "
            f"{complement.sector} {complement.level} could be shown: {report.summary()}")
