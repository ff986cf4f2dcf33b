"""What must hold after the load, and the words for what does not.

`case_problems` is pure: given a case as served, its log, its access log and the
ledger's writes on it, it lists every broken promise (`test_checks.py` shows that it
finds lost, doubled and phantom writes and broken baton rules). `check_all` fetches
those over the API for every case and fails with the whole list.

* every acknowledged write is in the log exactly once, every refused one not at
  all, every one whose answer was lost at most once;
* the baton: a handover is asked only by the holder and only when none is pending,
  answered only while pending (accepted or declined by its recipient), and the
  holder changes only by an accepted handover; the case's holder and pending
  handover are what the log says;
* consents are withdrawn only while active; the case's consents match the log;
* the access log has, per user and action, one line per acknowledged write (and at
  most one more per write whose answer was lost).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

from tests.reliability.harness import ACTIONS, TEXT_KINDS, Api, Ledger, Write

Pairs = Counter[tuple[str, str]]


def case_problems(
    case: dict[str, Any],
    entries: list[dict[str, Any]],
    access: list[dict[str, Any]],
    writes: list[Write],
    baseline: Pairs | None = None,
) -> list[str]:
    problems: list[str] = []
    seqs = [e["seq"] for e in entries]
    if seqs != sorted(set(seqs)):
        problems.append(f"log sequence numbers not strictly increasing: {seqs}")
    problems += write_problems(entries, writes)
    problems += rule_problems(case, entries)
    problems += access_problems(access, writes, baseline or Counter())
    return problems


def _tag_of(text: str) -> str | None:
    if text.endswith("]") and "[" in text:
        return text.rsplit("[", 1)[1][:-1]
    return None


def write_problems(entries: list[dict[str, Any]], writes: list[Write]) -> list[str]:
    """Each write against the log: acked once, refused never, lost answer at most once."""
    problems: list[str] = []
    texts: Counter[tuple[str, str]] = Counter(
        (e["kind"], e["text"]) for e in entries if e.get("text")
    )
    by_handover: Pairs = Counter(
        (e["kind"], str(e["details"].get("handover_id")))
        for e in entries if e["kind"].startswith("handover-")
    )
    known_tags = {w.tag for w in writes}
    for (kind, text), n in texts.items():
        tag = _tag_of(text)
        if tag is not None and tag.startswith("w") and tag not in known_tags:
            problems.append(f"PHANTOM: {kind} {text!r} ({n}x) is in the log, but no client sent it")

    for w in writes:
        if w.text is not None:
            found = sum(n for (kind, text), n in texts.items()
                        if text == w.text and kind in TEXT_KINDS[w.kind])
        elif w.kind in ("accept", "cancel"):
            event = {"accept": "handover-accepted", "cancel": "handover-cancelled"}[w.kind]
            found = by_handover[(event, str(w.target))]
            if w.outcome != "acked":
                # Another client's answer to the same handover may be the one in the log;
                # at most one answer per handover is checked by the baton rules.
                continue
        else:  # pragma: no cover
            raise AssertionError(w.kind)
        if w.outcome == "acked" and found != 1:
            problems.append(
                f"{'LOST' if found == 0 else 'DOUBLED'}: acknowledged write found {found}x "
                f"in the log: {w.describe()}"
            )
        elif w.outcome in ("refused", "not-sent", "pending") and found != 0:
            problems.append(f"PHANTOM: {w.outcome} write found {found}x in the log: {w.describe()}")
        elif found > 1:
            problems.append(f"DOUBLED: write found {found}x in the log: {w.describe()}")

    acked_answers = Counter(
        str(w.target) for w in writes
        if w.kind in ("accept", "decline", "cancel") and w.outcome == "acked"
    )
    for hid, n in acked_answers.items():
        if n > 1:
            which = [w.describe() for w in writes if str(w.target) == hid and w.outcome == "acked"]
            problems.append(f"handover {hid} answered {n}x with 2xx: {which}")
    return problems


def rule_problems(case: dict[str, Any], entries: list[dict[str, Any]]) -> list[str]:
    """Replay the log's baton and consent steps; compare with the case as served."""
    problems: list[str] = []
    if not entries or entries[0]["kind"] != "case-opened":
        return [f"the log does not start with case-opened: {entries[:1]}"]
    opened = entries[0]
    holder = (opened["user"], opened["service"])
    pending: dict[str, Any] | None = None
    consents: dict[str, str] = {}
    for e in entries[1:]:
        d = e["details"]
        where = f"log seq {e['seq']} ({e['kind']} by {e['user']})"
        if e["kind"] == "handover-requested":
            if pending is not None:
                problems.append(f"{where}: a second handover while {pending['id']} was pending")
            if (e["user"], e["service"]) != holder:
                problems.append(f"{where}: asked by {e['user']}, not by the holder {holder}")
            pending = {"id": str(d["handover_id"]), "to": (d["to_user"], d["to_service"])}
        elif e["kind"] in ("handover-accepted", "handover-declined", "handover-cancelled"):
            hid = str(d["handover_id"])
            if pending is None or pending["id"] != hid:
                problems.append(f"{where}: answers handover {hid}, but pending is {pending}")
                continue
            if e["kind"] == "handover-accepted":
                if (e["user"], e["service"]) != pending["to"]:
                    problems.append(f"{where}: accepted by {e['user']}, not by {pending['to']}")
                holder = pending["to"]
            elif e["kind"] == "handover-declined" and (e["user"], e["service"]) != pending["to"]:
                problems.append(f"{where}: declined by {e['user']}, not by {pending['to']}")
            pending = None
        elif e["kind"] == "consent-given":
            consents[str(d["consent_id"])] = "active"
        elif e["kind"] in ("consent-withdrawn", "consent-expired"):
            cid = str(d["consent_id"])
            if consents.get(cid) != "active":
                problems.append(f"{where}: consent {cid} was {consents.get(cid)}, not active")
            consents[cid] = "withdrawn" if e["kind"] == "consent-withdrawn" else "expired"
    served_holder = (case["holder"]["user"], case["holder"]["service"])
    if served_holder != holder:
        problems.append(f"the holder is {served_holder}, but the log's handovers give {holder}")
    served = case["pending_handover"]
    if (served and str(served["id"])) != (pending and pending["id"]):
        problems.append(f"the pending handover is {served}, but the log says {pending}")
    served_consents = {str(c["id"]): c["status"] for c in case["consents"]}
    if served_consents != consents:
        differ = {k: (served_consents.get(k), consents.get(k))
                  for k in sorted(set(served_consents) | set(consents))
                  if served_consents.get(k) != consents.get(k)}
        problems.append(f"consents as served differ from the log (served, log): {differ}")
    return problems


def access_problems(
    access: list[dict[str, Any]], writes: list[Write], baseline: Pairs
) -> list[str]:
    """Per user and action, after the set-up's lines: acked <= lines <= acked + unknown."""
    problems: list[str] = []
    lines: Pairs = Counter((line["user"], line["action"]) for line in access)
    lines.subtract(baseline)
    acked: Pairs = Counter()
    unknown: Pairs = Counter()
    for w in writes:
        pair = (w.user, ACTIONS[w.kind])
        if w.outcome == "acked":  # a replayed answer is this write's own first try
            acked[pair] += 1
        elif w.outcome in ("unknown", "unexpected"):
            unknown[pair] += 1
    for pair in sorted(set(acked) | set(unknown) | {p for p in lines if p[1] in ACTIONS.values()}):
        if not acked[pair] <= lines[pair] <= acked[pair] + unknown[pair]:
            problems.append(
                f"the access log has {lines[pair]} line(s) {pair} after the set-up, expected "
                f"{acked[pair]} (+ up to {unknown[pair]} whose answer was lost)"
            )
    return problems


def check_case(api: Api, case_id: str, writes: list[Write], reader: str,
               baseline: Pairs | None = None) -> list[str]:
    url = f"/cases/{case_id}"
    case = api.ok(reader, "GET", url)
    entries = api.ok(reader, "GET", f"{url}/log")["entries"]
    access = api.ok(reader, "GET", f"{url}/access-log")["items"]
    return [f"case {case_id}: {p}" for p in case_problems(case, entries, access, writes, baseline)]


def check_all(api: Api, ledger: Ledger, cases: Iterable[str], reader: str = "kari") -> None:
    """Check every case and every problem the clients met; fail with all of them."""
    grouped = ledger.by_case()
    problems = list(ledger.problems)
    for case_id in cases:
        problems += check_case(
            api, case_id, grouped.get(case_id, []), ledger.readers.get(case_id, reader),
            ledger.baselines.get(case_id),
        )
    assert not problems, (
        f"{len(problems)} problem(s):\n" + "\n".join(problems[:40]) + f"\n\n{ledger.summary()}"
    )
