"""The day of an instant, as the rules count days: a day in Norway.

A consent valid until 31 December covers all of that day in Norway, a meeting held
today (Norwegian time) is not in the future at half past midnight, and a child's age
turns on the Norwegian date. The rules get instants (`at`, in UTC) and compare them
with dates the users wrote; this is the one place that says which day an instant
belongs to. (The statistics count periods by UTC dates instead: docs/indicators.md.)
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

NORWAY = ZoneInfo("Europe/Oslo")


def day_of(at: datetime) -> date:
    """The Norwegian date of an instant (a naive instant is taken as UTC)."""
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return at.astimezone(NORWAY).date()
