"""The access log (tilgangslogg) of a case: who read or changed it, and when.

The brief (section 2): every access to personal data is logged, and the person has a
right to see that log. Each case has its own append-only access log, kept beside the
case in the same event store: every read and every write of the case adds a line.
A line names when, who (user id), which role, which service and which action; it
never holds personal data or free text, so it may be shown to everyone who may see
the case.
"""

from __future__ import annotations

import re
from datetime import datetime
from uuid import UUID, uuid5

import msgspec

from domain.aggregate import Aggregate, Snapshot
from domain.events import (
    AccessLogStarted,
    AccessRecorded,
    StatisticsLogStarted,
    StatisticsRequested,
)
from domain.values import Actor

ACTION_PATTERN = re.compile(r"^[a-z][a-z0-9-]{0,63}$")


def access_log_id(case_id: UUID) -> UUID:
    """The access log's id follows from the case's, so both are found together."""
    return uuid5(case_id, "tilgangslogg")


def primary_role(actor: Actor) -> str:
    """The role a line shows: the strongest of the actor's roles."""
    for role in ("coordinator", "worker", "admin", "evaluator", "guardian", "child"):
        if role in actor.roles:
            return role
    return "none"


class AccessLogState(msgspec.Struct):
    case_id: UUID
    lines: int = 0


class AccessLogSnapshot(Snapshot, frozen=True, kw_only=True):
    state: AccessLogState


class AccessLog(Aggregate):
    created_by = AccessLogStarted
    Snapshot = AccessLogSnapshot
    state: AccessLogState

    @classmethod
    def start(cls, case_id: UUID, at: datetime) -> AccessLog:
        log = cls(access_log_id(case_id))
        log._trigger(AccessLogStarted, at, case_id=case_id)
        return log

    def record(self, actor: Actor, action: str, at: datetime) -> None:
        if not ACTION_PATTERN.match(action):
            msg = f"an access-log action is a short code, not {action!r}"
            raise ValueError(msg)
        self._trigger(
            AccessRecorded,
            at,
            user=actor.user,
            role=primary_role(actor),
            service=actor.service,
            action=action,
        )

    def _on_AccessLogStarted(self, event: AccessLogStarted) -> None:
        self.state = AccessLogState(case_id=event.case_id)

    def _on_AccessRecorded(self, event: AccessRecorded) -> None:
        self.state.lines += 1


# --- statistics requests -----------------------------------------------------------

STATISTICS_NAMESPACE = UUID("0b0c6c1e-5d43-4e7e-9c5a-3f1f4d7b2a90")


def statistics_log_id(user: str) -> UUID:
    return uuid5(STATISTICS_NAMESPACE, user)


class StatisticsLogState(msgspec.Struct):
    user: str
    requests: int = 0


class StatisticsLogSnapshot(Snapshot, frozen=True, kw_only=True):
    state: StatisticsLogState


class StatisticsLog(Aggregate):
    """Every statistics request of one user (brief, section 4: every request is logged)."""

    created_by = StatisticsLogStarted
    Snapshot = StatisticsLogSnapshot
    state: StatisticsLogState

    @classmethod
    def start(cls, user: str, at: datetime) -> StatisticsLog:
        log = cls(statistics_log_id(user))
        log._trigger(StatisticsLogStarted, at, user=user)
        return log

    def record(self, actor: Actor, *, table: str, period: str, municipalities: tuple[str, ...],
               at: datetime, refused: bool = False) -> None:
        self._trigger(
            StatisticsRequested,
            at,
            user=actor.user,
            role=primary_role(actor),
            municipalities=municipalities,
            table=table,
            period=period,
            refused=refused,
        )

    def _on_StatisticsLogStarted(self, event: StatisticsLogStarted) -> None:
        self.state = StatisticsLogState(user=event.user)

    def _on_StatisticsRequested(self, event: StatisticsRequested) -> None:
        self.state.requests += 1
