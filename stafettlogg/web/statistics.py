"""Statistics over HTTP: the indicator grid for evaluators, as JSON, CSV and Excel.

Only evaluators, only for their own municipalities; every request is recorded.
The tables are released and protected before they get here (projections/publication.py,
projections/protection.py): a hidden cell is `null` with `suppressed: true`; a period
not released yet is a 503 with Retry-After (web/problems.py).
"""

from __future__ import annotations

import csv
import io
import zipfile
from typing import Annotated, Any
from xml.sax.saxutils import escape

import msgspec
from litestar import Controller, Response, get
from litestar.params import QueryParameter

from projections.indicators import BY_KEY
from projections.protection import Policy
from stafettlogg.statistics import IndicatorTable
from stafettlogg.web.cases import BEARER, App, Caller, off_loop
from stafettlogg.web.problems import documented

# Checked by the service, which says in Norwegian what is wrong with a value.
Period = Annotated[
    str, QueryParameter(description="2026, 2026-H1, 2026-Q3 eller 2026-03"),
]
MunicipalityFilter = Annotated[
    str | None, QueryParameter(description="kommunenummer, fire sifre (4225)"),
]
ERRORS = documented(400, 401, 403, 429, 503)
COLUMNS = ("indicator", "label", "period", "municipality", "sector", "level", "value", "suppressed")


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


def rows(table: IndicatorTable) -> list[list[Any]]:
    return [
        [
            c.indicator,
            BY_KEY[c.indicator].label,
            c.period,
            c.municipality,
            c.sector,
            c.level,
            "" if c.value is None else c.value,
            "ja" if c.suppressed else "nei",
        ]
        for c in table.cells
    ]


def to_csv(table: IndicatorTable) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    writer.writerows(rows(table))
    return out.getvalue()


def to_xlsx(table: IndicatorTable) -> bytes:
    """A minimal Office Open XML workbook (one sheet), written with the standard library."""

    def cell(value: Any) -> str:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return f"<c><v>{value}</v></c>"
        return f'<c t="inlineStr"><is><t>{escape(str(value))}</t></is></c>'

    sheet_rows = "".join(
        f"<row>{''.join(cell(v) for v in row)}</row>" for row in [list(COLUMNS), *rows(table)]
    )
    files = {
        "[Content_Types].xml": (
            '<?xml version="1.0" encoding="UTF-8"?>'
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
            "</Types>"
        ),
        "_rels/.rels": (
            '<?xml version="1.0" encoding="UTF-8"?>'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>'
            "</Relationships>"
        ),
        "xl/workbook.xml": (
            '<?xml version="1.0" encoding="UTF-8"?>'
            '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
            'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
            f'<sheets><sheet name="{escape(table.period)}" sheetId="1" r:id="rId1"/></sheets></workbook>'
        ),
        "xl/_rels/workbook.xml.rels": (
            '<?xml version="1.0" encoding="UTF-8"?>'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>'
            "</Relationships>"
        ),
        "xl/worksheets/sheet1.xml": (
            '<?xml version="1.0" encoding="UTF-8"?>'
            '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
            f"<sheetData>{sheet_rows}</sheetData></worksheet>"
        ),
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in files.items():
            # A fixed date, so the same table is the same file.
            info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, text)
    return buffer.getvalue()


class StatisticsController(Controller):
    path = "/api/v1/statistics"
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
    ) -> Response[str]:
        table = await self._table(app, actor, period, municipality, "indicators.csv")
        return Response(
            to_csv(table),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="indikatorer-{table.period}.csv"'},
        )

    @get("/indicators.xlsx", summary="Indikatorer som Excel-fil",
         media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
         responses=ERRORS)
    async def indicators_xlsx(
        self, app: App, actor: Caller, period: Period, municipality: MunicipalityFilter = None,
    ) -> Response[bytes]:
        table = await self._table(app, actor, period, municipality, "indicators.xlsx")
        return Response(
            to_xlsx(table),
            media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            headers={
                "Content-Disposition": f'attachment; filename="indikatorer-{table.period}.xlsx"'
            },
        )
