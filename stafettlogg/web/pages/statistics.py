"""The evaluators' pages (`/statistikk`): the released indicator tables to read, print and
hand on. For staff with the `evaluator` role and nobody else (403 "Du har ikke tilgang
til denne siden").

* `GET /statistikk?periode=P&kommune=K`: the dashboard. A GET form chooses the period
  (every period of the years with cases; one not published yet says when it will be)
  and the municipality, by name (and all of the evaluator's together, when they have
  several). Each indicator is a table by sector x level with totals, and a chart of
  its sector totals beside it with the same numbers; a hidden cell is `:` with a
  footnote. When the period's year has released months, a section shows them month
  by month.
* `GET /statistikk/om`: what each indicator counts, and how the numbers are protected.
* `GET /statistikk/utskrift?...`: the same report as a page to print, and
  `GET /statistikk/rapport.pdf?...` as a tagged PDF/A (WeasyPrint), from the same
  template.
* `GET /statistikk/indikatorer.xlsx?...` and `/statistikk/indikatorer.csv?...` (with
  `format=excel`: for Norwegian Excel, Norwegian headings): the files of the API.

Every table read is recorded in the evaluator's statistics log as the API's requests
are (table `dashboard`, `dashboard-months` for the month-by-month section, `print`,
`report.pdf`, `indicators.xlsx`, `indicators.csv`).
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import groupby
from typing import Any

from litestar import Request, Response, get
from litestar.response import Template

from projections.indicators import ALL, INDICATORS
from projections.periods import parse_period
from stafettlogg.application import Stafettlogg
from stafettlogg.statistics import IndicatorTable, NotReleased, PeriodChoice
from stafettlogg.web.api.statistics import csv_response, xlsx_response
from stafettlogg.web.deps import App, off_loop
from stafettlogg.web.pdf import html_to_pdf
from stafettlogg.web.pages.auth import SignedIn, Viewer, require_role
from stafettlogg.web.report import (
    HIDDEN_NOTE,
    Place,
    Report,
    period_name,
    places_of,
    report_of,
    trend_of,
)
from litestar.params import FromQuery

ALL_PLACES = "alle"  # `kommune=alle`: all of the evaluator's municipalities


def _require_evaluator(viewer: Viewer) -> None:
    require_role(viewer, "evaluator", "Statistikksidene er bare for evaluatorer i Stafettlogg.")


@dataclass(frozen=True)
class Choice:
    label: str
    text: str
    selected: bool


@dataclass(frozen=True)
class Dashboard:
    """What the dashboard shows: the choices, and the report or why there is none."""

    years: list[tuple[int, list[Choice]]]
    places: list[Place]
    period: str
    period_name: str
    place: Place
    report: Report | None
    # Why there is no report: not published yet (when it will be), or a bad choice.
    notice: str | None
    errors: dict[str, str]

    @property
    def query(self) -> str:
        """The choice as a query string (for the links to the files and the print)."""
        kommune = ALL_PLACES if self.place.key == ALL else self.place.key
        return f"periode={self.period}&kommune={kommune}"

    @property
    def file_name(self) -> str:
        where = ALL_PLACES if self.place.key == ALL else self.place.key
        return f"indikatorer-{self.period}-{where}"


def _choice_text(c: PeriodChoice) -> str:
    name = period_name(c.label)
    if c.released:
        return name
    if c.opens is not None:
        return f"{name} (publiseres {c.opens:%d.%m.%Y})"
    return f"{name} (beregnes nå)"


def _default_period(choices: list[PeriodChoice]) -> str:
    """The newest published quarter, else the newest published month, else the month
    running now."""
    for months in (3, 1):
        published = [c.label for c in choices
                     if c.released and parse_period(c.label).months == months]
        if published:
            return max(published, key=lambda label: parse_period(label).start)
    running = [c for c in choices if parse_period(c.label).months == 1 and c.opens is not None]
    if running:
        return min(running, key=lambda c: c.opens or parse_period(c.label).end).label
    return choices[0].label


def _place(places: list[Place], asked: str | None) -> tuple[Place, str | None]:
    """The place asked for (`kommune`); without one, all of the evaluator's when they
    have several, else their one; an error for a place not theirs."""
    wanted = ALL if asked == ALL_PLACES else (asked or "").strip()
    for p in places:
        if p.key == wanted:
            return p, None
    default = places[-1] if len(places) > 1 else places[0]
    if asked in (None, ""):
        return default, None
    return default, "Velg en av kommunene i listen."


def _table(app: Stafettlogg, viewer: Viewer, period: str, place: Place, table: str
           ) -> IndicatorTable:
    return app.statistics.indicators(
        viewer.actor, period=period, municipality=None if place.key == ALL else place.key,
        table=table)


@dataclass(frozen=True)
class Asked:
    """The period and place a page asks for, checked; what is wrong, by field."""

    choices: list[PeriodChoice]
    places: list[Place]
    period: str
    place: Place
    errors: dict[str, str]


def asked(app: Stafettlogg, viewer: Viewer, periode: str | None, kommune: str | None) -> Asked:
    choices = app.statistics.choices()
    places = places_of(viewer.member.municipalities, app.settings.municipality_name)
    found: dict[str, str] = {}
    if not places:
        found["kommune"] = "Du er ikke registrert med noen kommune. Be administratoren legge den til."
        place = Place(ALL, "ingen kommune")
    else:
        place, wrong_place = _place(places, kommune)
        if wrong_place:
            found["kommune"] = wrong_place
    period = (periode or "").strip() or _default_period(choices)
    try:
        period = parse_period(period).label
    except ValueError as exc:
        found["periode"] = str(exc)
        period = _default_period(choices)
    return Asked(choices, places, period, place, found)


def dashboard(app: Stafettlogg, viewer: Viewer, periode: str | None, kommune: str | None,
              *, table: str = "dashboard", months: bool = True) -> Dashboard:
    """The dashboard for the asked period and place (run off the event loop); each
    table read is recorded as `table`."""
    a = asked(app, viewer, periode, kommune)
    report, notice = None, None
    if not a.errors:
        try:
            t = _table(app, viewer, a.period, a.place, table)
        except NotReleased as exc:
            notice = exc.message
        else:
            trend = _months(app, viewer, a.period, a.place, a.choices) if months else None
            report = report_of(period=t.period, place=a.place, cells=t.cells, policy=t.policy,
                               released_at=t.released_at, trend=trend)
    return _view(a, report, notice)


def _view(a: Asked, report: Report | None, notice: str | None) -> Dashboard:
    years = [
        (int(year), [Choice(c.label, _choice_text(c), c.label == a.period) for c in group])
        for year, group in groupby(a.choices, key=lambda c: c.label[:4])
    ]
    return Dashboard(years, a.places, a.period, period_name(a.period), a.place, report, notice,
                     a.errors)


def _months(app: Stafettlogg, viewer: Viewer, period: str, place: Place,
            choices: list[PeriodChoice]) -> Any:
    """The released months of the period's year, when there are two or more."""
    year = parse_period(period).year
    released = sorted(c.label for c in choices
                      if c.released and c.label[:4] == str(year) and len(c.label) == 7
                      and c.label[4] == "-" and c.label[5:].isdigit())
    if len(released) < 2:
        return None
    tables = [(m, _table(app, viewer, m, place, "dashboard-months").cells) for m in released]
    return trend_of(year, place, tables)


def _page(template: str, viewer: Viewer, view: Dashboard, **more: Any) -> Template:
    status = 400 if view.errors else 200
    return Template(template_name=template, status_code=status, context={
        "viewer": viewer, "view": view, "menu_here": "statistikk",
        "hidden_note": HIDDEN_NOTE, **more,
    })


@get("/statistikk", include_in_schema=False)
async def statistics_page(viewer: SignedIn, app: App, periode: FromQuery[str | None] = None,
                          kommune: FromQuery[str | None] = None) -> Template:
    _require_evaluator(viewer)
    view = await off_loop(dashboard, app, viewer, periode, kommune)
    return _page("statistikk.html", viewer, view)


@get("/statistikk/om", include_in_schema=False)
async def about_page(viewer: SignedIn, app: App) -> Template:
    _require_evaluator(viewer)
    policy = app.statistics.policy
    return Template(template_name="statistikk-om.html", context={
        "viewer": viewer, "menu_here": "statistikk", "policy": policy,
        "indicators": INDICATORS, "hidden_note": HIDDEN_NOTE,
    })


@get("/statistikk/utskrift", include_in_schema=False)
async def print_page(viewer: SignedIn, app: App, periode: FromQuery[str | None] = None,
                     kommune: FromQuery[str | None] = None) -> Template:
    _require_evaluator(viewer)
    view = await off_loop(dashboard, app, viewer, periode, kommune, table="print", months=False)
    return _page("statistikk-utskrift.html", viewer, view, pdf=False)


@get("/statistikk/rapport.pdf", include_in_schema=False)
async def report_pdf(request: Request[Any, Any, Any], viewer: SignedIn, app: App,
                     periode: FromQuery[str | None] = None,
                     kommune: FromQuery[str | None] = None) -> Response[Any]:
    _require_evaluator(viewer)
    view = await off_loop(dashboard, app, viewer, periode, kommune, table="report.pdf",
                          months=False)
    if view.report is None:
        return _page("statistikk.html", viewer, view)
    engine = request.app.template_engine
    html = engine.get_template("statistikk-utskrift.html").render(
        viewer=viewer, view=view, menu_here="statistikk", hidden_note=HIDDEN_NOTE, pdf=True)
    pdf = await off_loop(_to_pdf, html)
    return Response(pdf, media_type="application/pdf", headers={
        "Content-Disposition": f'attachment; filename="{view.file_name}.pdf"'})


def _to_pdf(html: str) -> bytes:
    """A tagged PDF/A (PDF/A-3a: tagged, so that the tables are tables to a screen
    reader) of the printable page; its stylesheets and fonts are read from /static on
    disk, and nothing else is fetched (web/pdf.py)."""
    return html_to_pdf(html, variant="pdf/a-3a")


def _file(app: Stafettlogg, viewer: Viewer, periode: str | None, kommune: str | None,
          table: str) -> tuple[IndicatorTable | None, Dashboard]:
    """The table for a file, or the dashboard saying why there is none."""
    a = asked(app, viewer, periode, kommune)
    if a.errors:
        return None, _view(a, None, None)
    try:
        t = _table(app, viewer, a.period, a.place, table)
    except NotReleased as exc:
        return None, _view(a, None, exc.message)
    return t, _view(a, None, None)


@get("/statistikk/indikatorer.xlsx", include_in_schema=False)
async def xlsx_file(viewer: SignedIn, app: App, periode: FromQuery[str | None] = None,
                    kommune: FromQuery[str | None] = None) -> Response[Any]:
    _require_evaluator(viewer)
    t, view = await off_loop(_file, app, viewer, periode, kommune, "indicators.xlsx")
    if t is None:
        return _page("statistikk.html", viewer, view)
    return xlsx_response(t, app, name=view.file_name)


@get("/statistikk/indikatorer.csv", include_in_schema=False)
async def csv_file(viewer: SignedIn, app: App, periode: FromQuery[str | None] = None,
                   kommune: FromQuery[str | None] = None,
                   format: FromQuery[str | None] = None) -> Response[Any]:
    _require_evaluator(viewer)
    t, view = await off_loop(_file, app, viewer, periode, kommune, "indicators.csv")
    if t is None:
        return _page("statistikk.html", viewer, view)
    excel = format == "excel"
    return csv_response(t, excel=excel, norwegian=excel, name=view.file_name)


ROUTES = [statistics_page, about_page, print_page, report_pdf, xlsx_file, csv_file]
__all__ = ["ROUTES"]
