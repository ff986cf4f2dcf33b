"""Who may see what: the access rules of the brief and the contract, in one place.

* Case work is for workers and coordinators. Evaluators see statistics only, never a
  case; admins manage services and keys and never read case content.
* A case is visible to the services taking part (which includes the holder's) and
  to coordinators of its municipality. No case crosses municipalities except through
  a service that serves both: the user must act for the case's municipality.
* Personal data and free text (the child, the log) are for the services taking part,
  and for the named recipient of a pending handover, whose service the consent
  covers: they must be able to read the case to decide whether to take the baton.
  A coordinator who is not taking part sees the case's metadata only.
* Statistics are for evaluators, for their own municipalities only.
* A service whose consent has lapsed stops taking part that very day, whether or not
  the expiry has been recorded yet.
* The family sees its own case: a guardian recorded on the case (not removed), and
  the young person from the youth-consent age of the municipality. A guardian never
  sees an entry kept from the guardians at the child's request.
"""

from __future__ import annotations

from datetime import date
from typing import Protocol

from domain.values import Actor

CASE_WORK_ROLES = frozenset({"worker", "coordinator"})


class CaseLike(Protocol):
    """What the access rules ask of a case: a `Case`, or a row of the case list."""

    @property
    def municipality(self) -> str: ...

    @property
    def pending_recipient(self) -> tuple[str, str] | None: ...

    def has_access(self, service_id: str | None, on: date) -> bool: ...

    def is_taking_part(self, service_id: str | None, on: date) -> bool: ...


def may_do_case_work(actor: Actor) -> bool:
    return bool(actor.roles & CASE_WORK_ROLES)


def may_manage_services(actor: Actor) -> bool:
    return "admin" in actor.roles


def may_see_statistics(actor: Actor, municipalities: tuple[str, ...]) -> bool:
    """Evaluators see anonymised statistics, and only for the municipalities they act for."""
    return (
        "evaluator" in actor.roles
        and bool(municipalities)
        and set(municipalities) <= actor.municipalities
    )


def family_role(*, is_guardian: bool, is_the_child: bool, child_age: int | None,
                youth_consent_age: int) -> str | None:
    """How a family member reads a case: as `guardian`, as the young person (`child`),
    or not at all (None)."""
    if is_guardian:
        return "guardian"
    if is_the_child and child_age is not None and child_age >= youth_consent_age:
        return "child"
    return None


def family_sees_entry(role: str, withheld: bool) -> bool:
    """An entry kept from the guardians is shown to the young person only."""
    return role == "child" or not withheld


# What a guardian is not shown of the case's log and access log: that something was kept
# from them at the child's request.
KEPT_FROM_GUARDIANS = frozenset({"entry-withheld", "withhold-entry"})


def family_sees_step(role: str, kind: str) -> bool:
    """A step of the log, or a line of the access log, by its kind or action."""
    return role == "child" or kind not in KEPT_FROM_GUARDIANS


def family_sees_access(role: str, action: str, *, writes_withheld_entry: bool) -> bool:
    """A line of the access log: for a guardian, neither what is kept from them nor the
    writing of an entry kept from them (its line alone would tell that there is one)."""
    return family_sees_step(role, action) and (role == "child" or not writes_withheld_entry)


def may_see_case(case: CaseLike, actor: Actor, on: date) -> bool:
    """Visible to the services taking part and to coordinators of the municipality."""
    if not may_do_case_work(actor) or case.municipality not in actor.municipalities:
        return False
    return actor.is_coordinator or _reads_as_participant(case, actor, on)


def may_see_content(case: CaseLike, actor: Actor, on: date) -> bool:
    """The child's personal data and the free text of the log: services taking part."""
    return (
        may_do_case_work(actor)
        and case.municipality in actor.municipalities
        and _reads_as_participant(case, actor, on)
    )


def _reads_as_participant(case: CaseLike, actor: Actor, on: date) -> bool:
    if case.is_taking_part(actor.service, on):
        return True
    return case.pending_recipient == (actor.user, actor.service) and case.has_access(
        actor.service, on
    )


class ArchivedCase(CaseLike, Protocol):
    """What the archive rule asks of a case besides visibility: who held it at the end,
    and who coordinated it."""

    @property
    def holder(self) -> tuple[str, str]: ...

    @property
    def coordinator_of_case(self) -> tuple[str, str] | None: ...


def may_take_archive(case: ArchivedCase, actor: Actor, on: date) -> bool:
    """The archive package of a closed case (the whole log, the consents, the access
    log) is for the holder at closure and the case's appointed coordinator, each for
    the service they held or coordinated it for, and only while they may see the case."""
    if not may_see_case(case, actor, on):
        return False
    me = (actor.user, actor.service or "")
    return me == case.holder or me == case.coordinator_of_case


def may_erase_child_data(actor: Actor) -> bool:
    """An admin erases a child's data on request (the nightly sweep on schedule); the
    admin sees nothing of the case, only whether it may be erased."""
    return "admin" in actor.roles
