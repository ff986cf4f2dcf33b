"""Which database errors the service cannot recover from by waiting, in plain words.

A database that is not up yet, or a network that broke, is *transient*: the service
answers 503 and tries again until it answers (`stafettlogg/web/app.py`,
`stafettlogg/postgres.py`). Some errors never go away by waiting: a role that does
not exist, a wrong password, a database that does not exist, a role without the
right to make its schema, or a store written by a newer version of stafettlogg.
`unrecoverable` tells them apart and says what is wrong in one sentence an
operator can act on, naming the setting; the service reports it once, stops
trying, and `/ready` names it.

The sentence is built from the settings' address (user, host, port, database),
never from the password, and never repeats the server's own message (which names
nothing secret today, but is not ours to vouch for). PostgreSQL's connection
errors carry no SQLSTATE in libpq, so they are recognised by the server's message
(English, PostgreSQL's default `lc_messages`); errors on a connection that was made
(the schema) by their SQLSTATE.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from stafettlogg.settings import PostgresAddress, Settings

# libpq's messages for a connection the server refused, and what they mean.
_ROLE = re.compile(r'role "[^"]*" does not exist')
_PASSWORD = re.compile(r"password authentication failed for user|fe_sendauth: no password supplied")
_DATABASE = re.compile(r'database "[^"]*" does not exist')
_HBA = re.compile(r"no pg_hba\.conf entry")
# The store holds an event of a newer version than this code (stafettlogg/mapper.py).
_NEWER = re.compile(r"newer than this code")
# SQLSTATEs of errors on a connection that was made, which waiting does not mend.
_PRIVILEGE = "42501"  # insufficient_privilege (e.g. CREATE SCHEMA, or a table's owner)
_UNDEFINED_COLUMN = "42703"  # a table that is not what this version made


# What /ready says of each cause: no host, user or database name (anyone may ask).
PUBLIC = {
    "unknown-role": "PostgreSQL kjenner ikke databasebrukeren i innstillingene",
    "wrong-password": "PostgreSQL godtok ikke passordet i innstillingene",
    "missing-database": "databasen i innstillingene finnes ikke",
    "not-allowed": "PostgreSQL slipper ikke inn denne maskinen (pg_hba.conf)",
    "no-privilege": "databasebrukeren mangler rettigheter til skjemaet",
    "wrong-schema": "tabellene i databasen er ikke slik denne versjonen laget dem",
    "newer-events": "lageret har hendelser fra en nyere versjon av stafettlogg",
}


@dataclass(frozen=True)
class StoreFailure:
    """An error waiting will not mend: its kind, and what to do, for the log."""

    cause: str
    message: str

    @property
    def public(self) -> str:
        return PUBLIC[self.cause]


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _where(address: PostgresAddress) -> str:
    return f"{address.host}:{address.port}"


def unrecoverable(exc: BaseException, settings: Settings) -> StoreFailure | None:
    """What is wrong, in a plain sentence (Norwegian), for an error waiting will not
    mend; None for one that may pass (the server is not up yet, the network broke)."""
    for found in _chain(exc):
        text = str(found)
        if _NEWER.search(text):
            return StoreFailure("newer-events", ("lageret har hendelser skrevet av en nyere versjon av stafettlogg enn"
                    " denne; oppgrader stafettlogg i denne prosessen"))
        if settings.backend != "postgres":
            continue
        address, variable = _address_for(settings, text)
        if _ROLE.search(text):
            return StoreFailure("unknown-role", (f"PostgreSQL på {_where(address)} kjenner ikke brukeren «{address.user}»"
                    f" ({variable}); lag rollen eller rett adressen"))
        if _PASSWORD.search(text):
            return StoreFailure("wrong-password", (f"PostgreSQL på {_where(address)} godtok ikke passordet til brukeren"
                    f" «{address.user}» ({variable} eller STAFETTLOGG_POSTGRES_PASSWORD)"))
        if _DATABASE.search(text):
            return StoreFailure("missing-database", (f"PostgreSQL på {_where(address)} har ingen database «{address.dbname}»"
                    f" ({variable}); lag databasen eller rett adressen"))
        if _HBA.search(text):
            return StoreFailure("not-allowed", (f"PostgreSQL på {_where(address)} slipper ikke inn brukeren"
                    f" «{address.user}» til databasen «{address.dbname}» fra denne maskinen"
                    " (pg_hba.conf)"))
        state = getattr(found, "sqlstate", None)
        if state == _PRIVILEGE:
            return StoreFailure("no-privilege", (f"brukeren «{address.user}» mangler rettigheter i databasen"
                    f" «{address.dbname}» (skjemaet {settings.postgres.schema}: CREATE på"
                    " databasen, eller eierskap til skjemaet og tabellene)"))
        if state == _UNDEFINED_COLUMN:
            return StoreFailure("wrong-schema", (f"tabellene i skjemaet {settings.postgres.schema} er ikke slik denne"
                    " versjonen av stafettlogg laget dem; bruk et annet skjema eller den"
                    " versjonen som laget dem"))
    return None


def _address_for(settings: Settings, text: str) -> tuple[PostgresAddress, str]:
    """The address the failing connection went to, and its setting: the key store's
    if the server's message names its database or user and not the event store's,
    else the event store's."""
    main = settings.postgres_address
    keys = settings.key_store_address
    if keys is not None and keys != main:
        names_keys = f'"{keys.dbname}"' in text or f'"{keys.user}"' in text
        names_main = f'"{main.dbname}"' in text or f'"{main.user}"' in text
        if names_keys and not names_main:
            return keys, "STAFETTLOGG_KEY_STORE"
    return main, "STAFETTLOGG_DATABASE_URL"
