"""The command protocol: the options a command takes besides its own arguments
(the time, If-Match, Idempotency-Key), what it answers (`Outcome`), and the
protocol's refusals, which are not BTI rules.

The application enforces the protocol in its unit of work; the web layer turns
headers into `CommandOptions` and the refusals into 412 and 422. Neither needs
the other.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, NamedTuple, TypedDict

from domain import errors
from stafettlogg.idempotency import Idempotency

if TYPE_CHECKING:
    from domain.case import Case


class Outcome(NamedTuple):
    """What a command did: the case right after it, and what it made (an id), if anything.

    `replayed` is true when the answer is the remembered one of an earlier request
    with the same Idempotency-Key: then nothing new was recorded."""

    case: Case
    result: Any = None
    replayed: bool = False


class CommandOptions(TypedDict, total=False):
    at: datetime | None
    expected_version: int | None
    idempotency: Idempotency | None


class VersionMismatch(errors.DomainError):
    """`If-Match` named a version of the case that is no longer the current one."""

    code = "version-mismatch"
    default_message = "Saken er endret siden du leste den. Les saken på nytt og prøv igjen."


class IdempotencyKeyReused(errors.DomainError):
    """The same Idempotency-Key came with another request."""

    code = "idempotency-key-reused"
    default_message = "Idempotency-Key er allerede brukt for en annen forespørsel."
