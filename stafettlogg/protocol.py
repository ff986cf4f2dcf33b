"""Refusals of the request protocol (If-Match, Idempotency-Key), not of a BTI rule.

They are raised by the application, which enforces the protocol in its unit of
work, and answered by the web layer (412 and 422); neither needs the other.
"""

from __future__ import annotations

from domain import errors


class VersionMismatch(errors.DomainError):
    """`If-Match` named a version of the case that is no longer the current one."""

    code = "version-mismatch"
    default_message = "Saken er endret siden du leste den. Les saken på nytt og prøv igjen."


class IdempotencyKeyReused(errors.DomainError):
    """The same Idempotency-Key came with another request."""

    code = "idempotency-key-reused"
    default_message = "Idempotency-Key er allerede brukt for en annen forespørsel."
