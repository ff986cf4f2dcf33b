"""Statistics over HTTP: the indicator grid for evaluators, as JSON, CSV and Excel.

Only evaluators, only for their own municipalities; every request is recorded.
The tables are released and protected before they get here (projections/publication.py,
projections/protection.py): a hidden cell is `null` with `suppressed: true`; a period
not released yet is a 503 with Retry-After (web/api/problems.py). The files are
written by web/downloads.py.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, Response, get
from litestar.params import QueryParameter

from domain import errors
from projections.protection import Policy
from stafettlogg.statistics import IndicatorTable
from stafettlogg.web.api.cases import BEARER
from stafettlogg.web.api.problems import documented
from stafettlogg.web.deps import App, Caller, off_loop
from stafettlogg.web.downloads import XLSX, to_csv, to_xlsx

# Checked by the service, which says in Norwegian what is wrong with a value.
Period = Annotated[
    str, QueryParameter(description="2026, 2026-H1, 2026-Q3 eller 2026-03"),
]
MunicipalityFilter = Annotated[
    str | None, QueryParameter(description="kommunenummer, fire sifre (4225)"),
]
CsvFormat = Annotated[
    str | None,
    QueryParameter(description="excel: semikolon, BOM og desimalkomma, for norsk Excel"),
]
CsvHeadings = Annotated[
    str | None, QueryParameter(description="nb: norske kolonnenavn"),
]
ERRORS = documented(400, 401, 403, 429, 503)


def csv_variant(format: str | None, headings: str | None) -> tuple[bool, bool]:
    """(excel, norwegian) from `?format=excel` and `?headings=nb`; anything else is a
    400 naming the parameter."""
    if format not in (None, "excel"):
        raise errors.InvalidValue("format", "Formatet kan bare være excel (eller utelates).")
    if headings not in (None, "nb", "en"):
        raise errors.InvalidValue("headings", "Kolonnenavnene kan være nb eller en.")
    return format == "excel", headings == "nb"


def csv_response(table: IndicatorTable, *, excel: bool, norwegian: bool,
                 name: str) -> Response[str]:
    return Response(
        to_csv(table, excel=excel, norwegian=norwegian),
        media_type="text/csv",  # Litestar adds "; charset=utf-8"
        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
    )


def xlsx_response(table: IndicatorTable, app: Any, *, name: str) -> Response[bytes]:
    return Response(
        to_xlsx(table, app.settings.municipality_name), media_type=XLSX,
        headers={"Content-Disposition": f'attachment; filename="{name}.xlsx"'},
    )


def file_name(table: IndicatorTable, municipality: str | None) -> str:
    return f"indikatorer-{table.period}" + (f"-{municipality}" if municipality else "")


class ProtectionLevelsOut(msgspec.Struct):
    """For a hidden count x: how far above and how wide its possible values reach."""

    upper: str
    interval: str


class PolicyOut(msgspec.Struct):
    version: int
    threshold: int
    protection_levels: ProtectionLevelsOut
    zeros_may_be_hidden: bool
    min_answers_for_mean: int
    rule: str
    counts: str
    measures: str
    periods: str


class CellOut(msgspec.Struct):
    indicator: str
    municipality: str
    sector: str
    level: int | str
    value: float | None  # counts are whole numbers; medians and means may not be
    suppressed: bool


class IndicatorsOut(msgspec.Struct):
    period: str
    municipalities: list[str]
    policy: PolicyOut
    cells: list[CellOut]


def _level(level: str) -> int | str:
    return int(level) if level.isdigit() else level


def policy_out(policy: Policy) -> PolicyOut:
    t = policy.threshold
    return PolicyOut(
        version=policy.version,
        threshold=t,
        protection_levels=ProtectionLevelsOut(
            upper=f"x + U >= {t}: a hidden count x may be {t} or more",
            interval=f"U + D >= {t - 1}: at least {t} whole numbers are possible",
        ),
        zeros_may_be_hidden=policy.zeros_may_be_hidden,
        min_answers_for_mean=policy.min_answers_for_mean,
        rule=policy.describe(),
        counts="distinct children per cell (stocks) or happenings (flows)",
        measures=(
            f"a mean or median only where the counts behind it are published, "
            f"and from {policy.min_answers_for_mean} records"
        ),
        periods="stocks as at the end of the period, flows during it (UTC)",
    )


def indicators_out(table: IndicatorTable) -> IndicatorsOut:
    return IndicatorsOut(
        period=table.period,
        municipalities=list(table.municipalities),
        policy=policy_out(table.policy),
        cells=[
            CellOut(
                indicator=c.indicator,
                municipality=c.municipality,
                sector=c.sector,
                level=_level(c.level),
                value=c.value,
                suppressed=c.suppressed,
            )
            for c in table.cells
        ],
    )


class StatisticsController(Controller):
    path = "/v1/statistics"
    tags = ["statistikk"]
    security = BEARER

    async def _table(
        self, app: Any, actor: Any, period: str, municipality: str | None, table: str
    ) -> IndicatorTable:
        return await off_loop(
            app.statistics.indicators, actor, period=period, municipality=municipality,
            table=table,
        )

    @get("/indicators", summary="Indikatorer (anonymisert)", responses=ERRORS)
    async def indicators(
        self, app: App, actor: Caller, period: Period, municipality: MunicipalityFilter = None,
    ) -> IndicatorsOut:
        return indicators_out(await self._table(app, actor, period, municipality, "indicators"))

    @get("/indicators.csv", summary="Indikatorer som CSV", media_type="text/csv",
         responses=ERRORS)
    async def indicators_csv(
        self, app: App, actor: Caller, period: Period, municipality: MunicipalityFilter = None,
        format: CsvFormat = None, headings: CsvHeadings = None,
    ) -> Response[str]:
        excel, norwegian = csv_variant(format, headings)
        table = await self._table(app, actor, period, municipality, "indicators.csv")
        return csv_response(table, excel=excel, norwegian=norwegian,
                            name=file_name(table, municipality))

    @get("/indicators.xlsx", summary="Indikatorer som Excel-fil", media_type=XLSX,
         responses=ERRORS)
    async def indicators_xlsx(
        self, app: App, actor: Caller, period: Period, municipality: MunicipalityFilter = None,
    ) -> Response[bytes]:
        table = await self._table(app, actor, period, municipality, "indicators.xlsx")
        return xlsx_response(table, app, name=file_name(table, municipality))
