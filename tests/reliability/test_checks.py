"""The reliability checks find what they are there to find.

`checks.case_problems` judges the real tests' results; here it is given a small case
log, access log and ledger made by hand, once as it should be and then with one
fault each: a lost write, a doubled one, a refused one that was stored anyway, a
phantom nobody sent, a second pending handover, a holder nobody handed the baton to,
a consent withdrawn twice, and an access log with a line too many.
"""

from __future__ import annotations

import copy
from collections import Counter
from typing import Any

import pytest

from tests.reliability.checks import case_problems
from tests.reliability.harness import Write, text_for

pytestmark = pytest.mark.reliability

CASE = "c1"
H1 = "h-1"
C1 = "k-1"


def entry(seq: int, kind: str, user: str, service: str, text: str | None = None,
          **details: Any) -> dict[str, Any]:
    return {"seq": seq, "at": "2026-03-02T09:00:00Z", "kind": kind, "user": user,
            "service": service, "text": text, "details": details}


def write(tag: str, kind: str, user: str, outcome: str = "acked", **extra: Any) -> Write:
    return Write(tag=tag, kind=kind, user=user, method="POST", path="/", body=None, case=CASE,
                 outcome=outcome, **extra)


def world() -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]], list[Write]]:
    """A case where kari wrote twice, gave a consent, and handed the baton to per."""
    writes = [
        write("w1", "entry", "kari"),
        write("w2", "entry", "kari", outcome="refused"),
        write("w3", "entry", "pia", outcome="unknown"),  # answer lost, not stored
        write("w4", "consent", "kari"),
        write("w5", "handover", "kari"),
        write("w6", "accept", "per", target=H1),
        write("w7", "accept", "per", outcome="refused", target=H1),  # the twin lost
    ]
    log = [
        entry(1, "case-opened", "kari", "bhg", "Bekymring"),
        entry(2, "note", "kari", "bhg", text_for("entry", "w1")),
        entry(3, "consent-given", "kari", "bhg", text_for("consent", "w4"), consent_id=C1),
        entry(4, "handover-requested", "kari", "bhg", text_for("handover", "w5"),
              handover_id=H1, to_user="per", to_service="skole"),
        entry(5, "handover-accepted", "per", "skole", None, handover_id=H1),
    ]
    case = {"holder": {"user": "per", "service": "skole"}, "pending_handover": None,
            "consents": [{"id": C1, "status": "active"}]}
    access = [
        {"user": "kari", "action": "open-case"},
        {"user": "kari", "action": "add-entry"},
        {"user": "kari", "action": "register-consent"},
        {"user": "kari", "action": "request-handover"},
        {"user": "per", "action": "accept-handover"},
        {"user": "kari", "action": "read-case"},
    ]
    return case, log, access, writes


BASELINE = Counter({("kari", "open-case"): 1})


def problems_of(case: Any, log: Any, access: Any, writes: Any) -> list[str]:
    return case_problems(case, log, access, writes, BASELINE)


def test_a_sound_case_has_no_problems() -> None:
    assert problems_of(*world()) == []


def test_a_lost_acknowledged_write_is_named() -> None:
    case, log, access, writes = world()
    del log[1]
    problems = problems_of(case, log, access, writes)
    assert any(p.startswith("LOST") and "'w1'" in p for p in problems), problems


def test_a_doubled_write_is_named() -> None:
    case, log, access, writes = world()
    log.insert(2, {**copy.deepcopy(log[1]), "seq": 2})
    for n, e in enumerate(log, 1):
        e["seq"] = n
    problems = problems_of(case, log, access, writes)
    assert any(p.startswith("DOUBLED") and "'w1'" in p for p in problems), problems


def test_a_stored_refusal_and_a_phantom_are_named() -> None:
    case, log, access, writes = world()
    log.append(entry(6, "note", "kari", "bhg", text_for("entry", "w2")))
    log.append(entry(7, "note", "kari", "bhg", text_for("entry", "w99")))
    problems = problems_of(case, log, access, writes)
    assert any("PHANTOM: refused" in p and "'w2'" in p for p in problems), problems
    assert any("PHANTOM" in p and "w99" in p for p in problems), problems


def test_a_lost_answer_may_be_stored_once_but_not_twice() -> None:
    case, log, access, writes = world()
    log.append(entry(6, "note", "pia", "ppt", text_for("entry", "w3")))
    access.append({"user": "pia", "action": "add-entry"})
    assert problems_of(case, log, access, writes) == []
    log.append(entry(7, "note", "pia", "ppt", text_for("entry", "w3")))
    access.append({"user": "pia", "action": "add-entry"})
    problems = problems_of(case, log, access, writes)
    assert any(p.startswith("DOUBLED") and "'w3'" in p for p in problems), problems


def test_two_pending_handovers_and_a_wrong_holder_are_named() -> None:
    case, log, access, writes = world()
    log.insert(4, entry(5, "handover-requested", "kari", "bhg", "x", handover_id="h-2",
                        to_user="pia", to_service="ppt"))
    log[-1]["seq"] = 6
    case["holder"] = {"user": "pia", "service": "ppt"}
    problems = problems_of(case, log, access, writes)
    assert any("a second handover while h-1 was pending" in p for p in problems), problems
    assert any("the holder is ('pia', 'ppt')" in p for p in problems), problems


def test_an_acceptance_acknowledged_twice_is_named() -> None:
    case, log, access, writes = world()
    writes[6].outcome = "acked"
    problems = problems_of(case, log, access, writes)
    assert any(f"handover {H1} answered 2x" in p for p in problems), problems


def test_a_consent_withdrawn_twice_is_named() -> None:
    case, log, access, writes = world()
    log += [entry(6, "consent-withdrawn", "kari", "bhg", None, consent_id=C1),
            entry(7, "consent-withdrawn", "kari", "bhg", None, consent_id=C1)]
    case["consents"] = [{"id": C1, "status": "withdrawn"}]
    problems = problems_of(case, log, access, writes)
    assert any(f"consent {C1} was withdrawn, not active" in p for p in problems), problems


def test_an_access_log_line_too_many_or_missing_is_named() -> None:
    case, log, access, writes = world()
    problems = problems_of(case, log, [*access, {"user": "kari", "action": "add-entry"}], writes)
    assert any("2 line(s) ('kari', 'add-entry')" in p for p in problems), problems
    problems = problems_of(case, log, access[:-2], writes)
    assert any("0 line(s) ('per', 'accept-handover')" in p for p in problems), problems
