"""The implementation's figures for evaluators, beside the case indicators
(docs/pages.md, "The implementation's figures"). Evaluators see their own
municipalities; admins and unit leaders may open them too (the rules are the
application's: `require_results_reader`, `activity_indicators`).

* `GET /statistikk/innforing?kommune=&dato=`: the activity indicators of a
  municipality as at a day, protected (a hidden figure is ":"), and the staff
  survey's closed rounds, each a link to its results, with a form comparing two.
* `GET /statistikk/undersokelser/{id}`: a round's results: the response rate; the
  Levels of Use (a table with a bar chart beside it, median, mode, mean); the drivers
  (their answers, and Spearman's rho with the Levels of Use, n, p and interval); the
  result items (the share answering 3 or 4, with a Wilson interval); and the same per
  sector and unit. Downloads: `.../resultater.csv` and `.../resultater.xlsx`.
* `GET /statistikk/undersokelser/sammenlign?forste=&andre=`: two rounds of one
  municipality side by side: the Levels of Use and the drivers then and now.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from litestar import Response, get
from litestar.exceptions import HTTPException
from litestar.params import FromPath, FromQuery
from litestar.response import Template
from openpyxl import Workbook

from domain.calendar import day_of
from domain import errors
from domain.survey import DRIVERS, LEVELS_OF_USE, RESULT_ITEMS, ResultsNotReady
from projections.survey_results import ALL, GroupResult, mean_to_one_decimal
from projections.training import INDICATORS
from stafettlogg.application import Stafettlogg
from stafettlogg.survey_commands import SurveyResults
from stafettlogg.web.deps import App, off_loop
from stafettlogg.web.pages import words
from stafettlogg.web.pages.auth import RoleRequired, SignedIn, Viewer
from stafettlogg.web.pages.training import (
    INDICATOR_COUNTS,
    INDICATOR_NAMES,
    INDICATOR_SHORT,
    ShareCell,
    _share_rows,
    shares_choice,
)

READERS = frozenset({"evaluator", "admin", "leader"})
HIDDEN = ":"
RESULT_SHORT = {
    "kunnskap-handlingsveileder": "Kunnskap om handlingsveilederen",
    "kunnskap-tegn": "Kunnskap om tegn og signaler",
    "trygg-bekymring": "Trygg på å ta opp en bekymring",
    "brukermedvirkning": "Kompetanse i brukermedvirkning",
    "koble-inn": "Vet hvordan andre tjenester kobles inn",
}
DRIVER_SHORT = {
    "opplaering": "Opplæring", "ovelse": "Øvelse i handlingsveilederen",
    "felles-tid": "Felles tid", "ledelsesplan": "Ledelsens plan",
    "forventninger": "Tydelige forventninger", "ressurser": "Ressurser",
    "lederstotte": "Støtte fra ledere",
}


def _may_read(viewer: Viewer) -> None:
    if not READERS & set(viewer.member.roles):
        raise RoleRequired("Tallene for innføringen er for evaluatorer, administratorer og "
                           "enhetsledere i Stafettlogg.")


def _number(value: float, decimals: int = 1) -> str:
    return f"{value:.{decimals}f}".replace(".", ",").replace("-", "−")


def _percent(value: float | None) -> str:
    return HIDDEN if value is None else _number(100 * value) + "\u00a0%"


# --- the view model ------------------------------------------------------------------


@dataclass(frozen=True)
class GroupView:
    """A group's results as the pages and files show them."""

    label: str
    kind: str  # "all", "sector" or "service"
    result: GroupResult

    @property
    def hidden(self) -> bool:
        return self.result.answered is None

    @property
    def answered(self) -> str:
        return HIDDEN if self.result.answered is None else str(self.result.answered)

    @property
    def rate(self) -> str:
        r = self.result
        if r.answered is None:
            return HIDDEN
        return "–" if r.response_rate is None else _percent(r.response_rate)

    @property
    def median(self) -> str:
        levels = self.result.levels
        return HIDDEN if levels is None else _number(levels.median)

    @property
    def modes(self) -> str:
        levels = self.result.levels
        return HIDDEN if levels is None else " og ".join(str(m) for m in levels.modes)

    @property
    def mean(self) -> str:
        levels = self.result.levels
        return HIDDEN if levels is None else mean_to_one_decimal(levels)

    def item(self, code: str) -> str:
        item = self.result.results.get(code)
        if item is None:
            return HIDDEN
        return "–" if item.share is None else _percent(item.share)


def group_views(app: Stafettlogg, results: SurveyResults) -> list[GroupView]:
    names = {s.service: s.name for s in results.round.services}
    out = []
    for g in results.groups:
        if g.sector == ALL:
            out.append(GroupView("Hele kommunen", "all", g))
        elif g.service == ALL:
            out.append(GroupView(f"{words.SECTORS.get(g.sector, g.sector)} i alt", "sector", g))
        else:
            out.append(GroupView(names.get(g.service, g.service), "service", g))
    return out


def level_rows(g: GroupResult) -> list[dict[str, Any]]:
    """The Levels of Use of a shown group: level, name, description, count, share, and
    the bar's width in the chart (0-1 of the largest)."""
    assert g.levels is not None and g.answered
    largest = max(g.levels.counts) or 1
    return [{"level": level, "name": name, "description": text,
             "count": k, "share": _percent(k / g.answered), "width": k / largest}
            for (level, (name, text)), k in zip(LEVELS_OF_USE.items(), g.levels.counts,
                                                strict=True)]


def driver_rows(g: GroupResult) -> list[dict[str, Any]]:
    rows = []
    for code, statement in DRIVERS.items():
        d = g.drivers.get(code)
        row: dict[str, Any] = {"code": code, "name": DRIVER_SHORT[code], "statement": statement,
                               "hidden": d is None}
        if d is not None:
            rated = sum(d.counts)
            row.update(counts=d.counts, dont_know=d.dont_know,
                       good=_percent(sum(d.counts[2:]) / rated) if rated else "–")
            c = d.correlation
            if c is None:
                row.update(rho="–", n="–", p="–", interval="–")
            else:
                row.update(rho=_number(c.rho, 2), n=str(c.n),
                           p=("< 0,001" if c.p_value < 0.001 else _number(c.p_value, 3)),
                           interval=("–" if c.low is None or c.high is None
                                     else f"{_number(c.low, 2)} til {_number(c.high, 2)}"))
        rows.append(row)
    return rows


def item_rows(g: GroupResult) -> list[dict[str, Any]]:
    rows = []
    for code, statement in RESULT_ITEMS.items():
        i = g.results.get(code)
        row: dict[str, Any] = {"code": code, "name": RESULT_SHORT[code], "statement": statement,
                               "hidden": i is None}
        if i is not None:
            row.update(good=i.good, answered=i.answered, dont_know=i.dont_know,
                       share="–" if i.share is None else _percent(i.share),
                       interval=("–" if i.low is None or i.high is None else
                                 f"{_percent(i.low)} til {_percent(i.high)}"))
        rows.append(row)
    return rows


@dataclass(frozen=True)
class KeyFigures:
    """The municipality's training shares and its latest closed survey round, for the
    plan's overview (pages/implementation_plan.py): figures beside the reports."""

    shares: list[tuple[str, str, str]]  # (indicator's short name, share, "n av m")
    survey: GroupView | None
    survey_id: UUID | None


def key_figures(app: Stafettlogg, viewer: Viewer, municipality: str) -> KeyFigures:
    today = day_of(app.clock())
    shares = [s for s in app.activity_indicators(viewer.actor, municipality=municipality,
                                                 on=today)
              if (s.sector, s.service) == (ALL, ALL)]
    cells = []
    for s in shares:
        cell = ShareCell(s.numerator, s.denominator)
        cells.append((INDICATOR_SHORT[s.indicator], cell.share, cell.counts))
    rounds = [r for r in app.survey_rounds_for_results(viewer.actor)
              if r.municipality == municipality]
    if not rounds:
        return KeyFigures(cells, None, None)
    results = app.survey_results(viewer.actor, rounds[0].id)
    return KeyFigures(cells, group_views(app, results)[0], rounds[0].id)


# --- the pages -----------------------------------------------------------------------


def _context(viewer: Viewer, **more: Any) -> dict[str, Any]:
    return {"viewer": viewer, "words": words, "menu_here": "statistikk", "hidden": HIDDEN,
            **more}


@get("/statistikk/innforing", include_in_schema=False)
async def implementation_page(app: App, viewer: SignedIn, kommune: FromQuery[str | None] = None,
                              dato: FromQuery[str | None] = None) -> Template:
    _may_read(viewer)
    today = day_of(app.clock())
    places, chosen, day, f = await off_loop(lambda: shares_choice(
        app, viewer, kommune, dato, "innforing", latest=today))
    known = dict(places)
    found = f.errors
    rows: list[Any] = []
    rounds: list[Any] = []
    if chosen is not None:
        if day is not None:
            shares = await off_loop(lambda: app.activity_indicators(
                viewer.actor, municipality=chosen, on=day))
            rows = await off_loop(_share_rows, app, shares)
        rounds = [r for r in await off_loop(app.survey_rounds_for_results, viewer.actor)
                  if r.municipality == chosen]
    return Template(template_name="statistikk-innforing.html",
                    status_code=400 if found else 200, context=_context(
                        viewer, f=f, places=places, chosen=chosen, day=day, rows=rows,
                        place_name=known.get(chosen or "", ""), rounds=rounds,
                        minimum=app.settings.survey_min_answers,
                        indicators=[(i, INDICATOR_SHORT[i], INDICATOR_NAMES[i],
                                     INDICATOR_COUNTS[i]) for i in INDICATORS]))


async def _results(app: Stafettlogg, viewer: Viewer, round_id: str) -> SurveyResults:
    _may_read(viewer)
    try:
        return await off_loop(app.survey_results, viewer.actor, UUID(round_id))
    except (ValueError, errors.NotFound):
        raise HTTPException(status_code=404, detail="Undersøkelsen finnes ikke.") from None
    except errors.Forbidden:
        raise RoleRequired("Resultatene er for evaluatorer, administratorer og "
                           "enhetsledere i kommunen.") from None


@get("/statistikk/undersokelser/sammenlign", include_in_schema=False)
async def comparison_page(app: App, viewer: SignedIn, forste: FromQuery[str | None] = None,
                          andre: FromQuery[str | None] = None) -> Template:
    _may_read(viewer)
    try:
        first, second = UUID(forste or ""), UUID(andre or "")
        compared = await off_loop(app.compare_survey_rounds, viewer.actor, first, second)
    except (ValueError, errors.NotFound):
        raise HTTPException(status_code=404, detail="Undersøkelsen finnes ikke.") from None
    except (errors.InvalidValue, ResultsNotReady) as exc:
        raise HTTPException(status_code=400, detail=exc.message) from None
    except errors.Forbidden:
        raise RoleRequired("Resultatene er for evaluatorer, administratorer og "
                           "enhetsledere i kommunen.") from None
    later = {(g.result.sector, g.result.service): g for g in group_views(app, compared.later)}
    pairs = [(g, later[(g.result.sector, g.result.service)])
             for g in group_views(app, compared.earlier)
             if (g.result.sector, g.result.service) in later]
    town_then, town_now = pairs[0] if pairs else (None, None)
    return Template(template_name="statistikk-sammenlign.html", context=_context(
        viewer, compared=compared, pairs=pairs, then=town_then, now=town_now,
        place_name=app.settings.municipality_name(compared.earlier.round.municipality),
        levels=LEVELS_OF_USE, drivers=DRIVER_SHORT, driver_rows=driver_rows,
        level_rows=level_rows))


@get("/statistikk/undersokelser/{round_id:str}", include_in_schema=False)
async def results_page(app: App, viewer: SignedIn,
                       round_id: FromPath[str]) -> Template:
    try:
        results = await _results(app, viewer, round_id)
    except ResultsNotReady as exc:
        return Template(template_name="statistikk-undersokelse.html", status_code=409,
                        context=_context(viewer, results=None, notice=exc.message))
    groups = group_views(app, results)
    town = groups[0]
    return Template(template_name="statistikk-undersokelse.html", context=_context(
        viewer, results=results, groups=groups, town=town,
        place_name=app.settings.municipality_name(results.round.municipality),
        level_rows=level_rows(town.result) if town.result.levels else [],
        driver_rows=driver_rows(town.result), item_rows=item_rows(town.result),
        items=RESULT_SHORT, item_statements=RESULT_ITEMS, notice=None))


# --- the files -----------------------------------------------------------------------

COLUMNS = ("gruppe", "sektor", "tjeneste", "mål", "kategori", "verdi")


def result_lines(app: Stafettlogg, results: SurveyResults) -> Iterator[tuple[Any, ...]]:
    """A round's results as long rows: group, sector, service, measure, category,
    value; a hidden figure is ":" (as in the tables)."""
    for g in group_views(app, results):
        r = g.result
        key = (g.label, r.sector, r.service)
        yield (*key, "inviterte", "", r.invited)
        yield (*key, "svar", "", HIDDEN if r.answered is None else r.answered)
        if r.answered is None:
            continue
        yield (*key, "svarprosent", "", "" if r.response_rate is None
               else round(100 * r.response_rate, 1))
        if r.levels is None:
            yield (*key, "nivå for bruk", "", HIDDEN)
        else:
            for level, k in zip(LEVELS_OF_USE, r.levels.counts, strict=True):
                yield (*key, "nivå for bruk", str(level), k)
            yield (*key, "nivå for bruk", "median", r.levels.median)
            yield (*key, "nivå for bruk", "typetall", " og ".join(map(str, r.levels.modes)))
            yield (*key, "nivå for bruk", "gjennomsnitt", round(r.levels.mean, 2))
        for code in DRIVERS:
            d = r.drivers.get(code)
            if d is None:
                yield (*key, f"drivkraft {code}", "", HIDDEN)
                continue
            for value, k in zip(("1", "2", "3", "4"), d.counts, strict=True):
                yield (*key, f"drivkraft {code}", value, k)
            yield (*key, f"drivkraft {code}", "vet ikke", d.dont_know)
            if d.correlation is not None:
                c = d.correlation
                yield (*key, f"drivkraft {code}", "rho", round(c.rho, 4))
                yield (*key, f"drivkraft {code}", "n", c.n)
                yield (*key, f"drivkraft {code}", "p", round(c.p_value, 4))
                if c.low is not None and c.high is not None:
                    yield (*key, f"drivkraft {code}", "rho nedre 95 %", round(c.low, 4))
                    yield (*key, f"drivkraft {code}", "rho øvre 95 %", round(c.high, 4))
        for code in RESULT_ITEMS:
            i = r.results.get(code)
            if i is None:
                yield (*key, f"resultat {code}", "", HIDDEN)
                continue
            yield (*key, f"resultat {code}", "god (3-4)", i.good)
            yield (*key, f"resultat {code}", "svarte 1-4", i.answered)
            yield (*key, f"resultat {code}", "vet ikke", i.dont_know)
            if i.low is not None and i.high is not None:
                yield (*key, f"resultat {code}", "wilson nedre 95 %", round(i.low, 4))
                yield (*key, f"resultat {code}", "wilson øvre 95 %", round(i.high, 4))


def _file_name(results: SurveyResults, suffix: str) -> str:
    r = results.round
    return f"undersokelse-{r.municipality}-{r.opens_on.isoformat()}.{suffix}"


@get("/statistikk/undersokelser/{round_id:str}/resultater.csv", include_in_schema=False)
async def results_csv(app: App, viewer: SignedIn, round_id: FromPath[str]) -> Response:
    results = await _results(app, viewer, round_id)
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(COLUMNS)
    writer.writerows(result_lines(app, results))
    return Response("\ufeff" + out.getvalue(), media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="{_file_name(results, "csv")}"'})


@get("/statistikk/undersokelser/{round_id:str}/resultater.xlsx", include_in_schema=False)
async def results_xlsx(app: App, viewer: SignedIn, round_id: FromPath[str]) -> Response:
    results = await _results(app, viewer, round_id)
    book = Workbook()
    sheet = book.active
    sheet.title = "Resultater"
    sheet.append(COLUMNS)
    for line in result_lines(app, results):
        sheet.append(line)
    sheet.freeze_panes = "A2"
    data = io.BytesIO()
    book.save(data)
    return Response(data.getvalue(), media_type=(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"), headers={
        "Content-Disposition": f'attachment; filename="{_file_name(results, "xlsx")}"'})


ROUTES = [implementation_page, comparison_page, results_page, results_csv, results_xlsx]
