"""The templates of the pages (Jinja, `web/templates/`) and what they may call.

Filters, for dates and times as Norwegian readers expect them, in Norwegian time:

* `dato`: a date or a datetime as `dd.mm.åååå` (`02.12.2026`);
* `tid`: a datetime as `dd.mm.åååå kl. HH.MM` (`02.12.2026 kl. 09.05`).

A datetime without a time zone is taken as UTC (as the store keeps them), and every
datetime is shown in Europe/Oslo. An ISO 8601 string (as the API's documents carry
them) is read first; `None` is shown as nothing.

Globals: `asset(name, file)`, the versioned address of a vendored file (web/assets.py).

`environment()` is the same set-up outside a request (for the archive packages).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.template.config import TemplateConfig

from domain.calendar import NORWAY
from stafettlogg.web import assets
from stafettlogg.case_commands import SHREDDED

TEMPLATES = Path(__file__).resolve().parents[1] / "templates"


def _in_oslo(value: datetime) -> datetime:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(NORWAY)


def _read(value: date | datetime | str) -> date | datetime:
    if isinstance(value, str):
        text = value.strip()
        return datetime.fromisoformat(text) if "T" in text or " " in text else date.fromisoformat(text)
    return value


def dato(value: date | datetime | str | None) -> str:
    """`dd.mm.åååå`; a datetime on its date in Europe/Oslo. A sealed date of a child
    whose data is erased reads `[slettet]`, as every erased field does."""
    if value is None:
        return ""
    if value == SHREDDED:
        return SHREDDED
    value = _read(value)
    if isinstance(value, datetime):
        value = _in_oslo(value)
    return f"{value.day:02d}.{value.month:02d}.{value.year:04d}"


def tid(value: datetime | str | None) -> str:
    """`dd.mm.åååå kl. HH.MM` in Europe/Oslo."""
    if value is None:
        return ""
    value = _read(value)
    if not isinstance(value, datetime):
        raise TypeError(f"tid needs a point in time, not a {type(value).__name__}")
    local = _in_oslo(value)
    return f"{dato(local)} kl. {local.hour:02d}.{local.minute:02d}"


def _register(engine: JinjaTemplateEngine) -> None:
    configure(engine.engine)


def configure(env: Environment) -> None:
    """The filters and globals of the pages' templates, on a Jinja environment."""
    env.filters["dato"] = dato
    env.filters["tid"] = tid
    env.globals["asset"] = assets.url
    from stafettlogg.web.pages import filters  # the case pages' form options

    filters.register(env)
    # Fail on a name a template does not get, rather than show nothing.
    env.undefined = StrictUndefined


def environment() -> Environment:
    """The pages' templates outside a request, as the pages have them (for the files
    made from them off the web: the archive packages, `stafettlogg/archive/`)."""
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True)
    configure(env)
    return env


def template_config() -> TemplateConfig[JinjaTemplateEngine]:
    return TemplateConfig(directory=TEMPLATES, engine=JinjaTemplateEngine, engine_callback=_register)
