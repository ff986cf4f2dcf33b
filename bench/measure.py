"""Timing helpers and the results table.

Every figure of the suite is a median over repeats (or a percentile over many
samples) and stands beside a reference measured in the same run, on the same
machine, a moment before or after: on a shared, noisy machine the ratio of the two
drifts much less than either figure.
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else math.nan


def percentile(values: Sequence[float], p: float) -> float:
    """The p-th percentile (nearest rank): p99 of 100 samples is the 99th smallest."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    """Seconds one call takes, and what it returned."""
    started = time.perf_counter()
    result = fn()
    return time.perf_counter() - started, result


def repeat(fn: Callable[[], Any], times: int) -> list[float]:
    """Seconds of each of `times` calls."""
    return [timed(fn)[0] for _ in range(times)]


def interleave(
    times: int, **variants: Callable[[], float]
) -> dict[str, list[float]]:
    """Run several measurements in turn, `times` rounds of each, so that a noisy
    moment of the machine falls on all of them alike. Each variant returns its figure."""
    figures: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(times):
        for name, measure in variants.items():
            figures[name].append(measure())
    return figures


def ms(seconds: float) -> str:
    if math.isnan(seconds):
        return "n/a"
    return f"{seconds * 1000:.3g} ms" if seconds < 1 else f"{seconds:.3g} s"


def rate(per_second: float, unit: str) -> str:
    return f"{per_second:,.0f} {unit}/s"


@dataclass
class Row:
    """One line of the results table: a figure beside its reference from the same run."""

    number: str  # the item, e.g. "1"
    measurement: str
    figure: str
    reference: str
    ratio: float | None = None  # figure / reference, as the target states it
    target: str = ""
    met: bool | None = None  # None: no target for this line
    notes: list[str] = field(default_factory=list)

    @property
    def verdict(self) -> str:
        if self.met is None:
            return ""
        return "yes" if self.met else "**no**"


def ratio_text(value: float | None) -> str:
    if value is None or math.isnan(value):
        return ""
    return f"{value:.3g}×" if value < 100 else f"{value:,.0f}×"


def markdown_table(rows: Sequence[Row]) -> str:
    lines = [
        "| # | measurement | result | reference (same run) | ratio | target | met |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r.number} | {r.measurement} | {r.figure} | {r.reference} | "
            f"{ratio_text(r.ratio)} | {r.target} | {r.verdict} |"
        )
    notes = [f"* {r.measurement}: {n}" for r in rows for n in r.notes]
    return "\n".join(lines + ([""] + notes if notes else [])) + "\n"
