"""An attacker of figures reported per group (a unit, its sector, the municipality),
written from the words of docs/implementation.md ("How the results are protected")
and sharing no code with the producer (projections/group_disclosure.py): it solves
its own integer programs with HiGHS through highspy.

It knows every shown figure: a group's size where shown, and its counts per
category where shown (which add up to its size); that a parent's size and counts
are the sums of its children's; that every count is a whole number >= 0.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence

import highspy

Group = Hashable


def bounds(parent: Mapping[Group, Group | None], sizes: Mapping[Group, int | None],
           figures: Mapping[Group, Sequence[int] | None], target: Group,
           column: str | int) -> tuple[int, int]:
    """The smallest and the largest whole value of `target`'s size (`column` "size")
    or of its count in category `column`, over every table that agrees with what
    is shown."""
    keys = list(parent)
    width = max(len(v) for v in figures.values() if v is not None)
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    var: dict[tuple, int] = {}

    def new(key: tuple, value: int | None) -> None:
        var[key] = h.getNumCol()
        low, high = (value, value) if value is not None else (0, highspy.kHighsInf)
        h.addCol(0.0, low, high, 0, [], [])
        h.changeColIntegrality(var[key], highspy.HighsVarType.kInteger)

    for k in keys:
        new((k, "size"), sizes[k])
        shown = figures[k]
        for c in range(width):
            new((k, c), shown[c] if shown is not None else None)
        h.addRow(0, 0, width + 1, [var[(k, c)] for c in range(width)] + [var[(k, "size")]],
                 [1.0] * width + [-1.0])
    for k in keys:
        kids = [c for c in keys if parent[c] == k]
        for c in ("size", *range(width)) if kids else ():
            h.addRow(0, 0, len(kids) + 1, [var[(k, c)]] + [var[(kid, c)] for kid in kids],
                     [1.0] + [-1.0] * len(kids))
    out = []
    for sense in (highspy.ObjSense.kMinimize, highspy.ObjSense.kMaximize):
        h.changeColsCost(1, [var[(target, column)]], [1.0])
        h.changeObjectiveSense(sense)
        h.run()
        assert h.getModelStatus() == highspy.HighsModelStatus.kOptimal
        out.append(round(h.getInfo().objective_function_value))
    return out[0], out[1]
