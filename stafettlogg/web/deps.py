"""What every web handler shares, whichever audience it serves (API or pages).

* `App` and `Caller`: the application and the signed-in actor, as dependencies.
* `off_loop`: eventsourcing is synchronous, so every application call runs in a
  worker thread, never on the event loop.
* `strictly`: a JSON body decoded again without Litestar's lenient conversions
  (`"2"` is not 2).
* `Options` (If-Match and Idempotency-Key) and `IdempotencyOnly`: the request
  protocol as dependencies, turned into the application's `CommandOptions`.
* `CaseCall`: all of that for one command on a case, so that a handler is one line.
* `versioned`: one way to answer with a case's version as its ETag, and to say that
  an answer is a remembered one (`Idempotent-Replayed`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

import msgspec
from anyio import to_thread
from litestar import Request, Response
from litestar.di import NamedDependency, Provide
from litestar.params import HeaderParameter

from domain.values import Actor
from stafettlogg.application import Stafettlogg
from stafettlogg.protocol import CommandOptions
from stafettlogg.idempotency import Idempotency

T = TypeVar("T")
B = TypeVar("B")

App = NamedDependency[Stafettlogg]
Caller = NamedDependency[Actor]

IdempotencyKey = Annotated[
    str | None,
    HeaderParameter(
        name="Idempotency-Key", required=False, max_length=200, min_length=1,
        description="Send the same key again to get the first answer and record nothing new.",
    ),
]
IfMatch = Annotated[
    str | None,
    HeaderParameter(
        name="If-Match", required=False, max_length=100,
        description="The case's ETag as read; a stale one is refused with 412.",
    ),
]


async def strictly(request: Request[Any, Any, Any], data: B) -> B:
    """The body decoded again, strictly: Litestar converts `"2"` into 2; we refuse it."""
    return msgspec.json.decode(await request.body(), type=type(data))


async def off_loop(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run a synchronous application call in a worker thread."""
    return await to_thread.run_sync(functools.partial(fn, *args, **kwargs))


def etag(version: int) -> str:
    return f'"{version}"'


NO_VERSION = -1  # what a malformed If-Match asks for: no case ever has it, so 412


def parse_if_match(value: str | None) -> int | None:
    """`"7"` or `W/"7"` -> 7; `*` or absent -> None (any version).

    A malformed value matches no version; it is refused with 412 by the application,
    after the checks of who may see the case, so it reveals nothing more than they do."""
    if value is None or value.strip() == "*":
        return None
    raw = value.strip().removeprefix("W/").strip('"')
    return int(raw) if raw.isdigit() and len(raw) < 19 else NO_VERSION


async def _idempotency(
    request: Request[Any, Any, Any], idempotency_key: str | None
) -> Idempotency | None:
    if idempotency_key is None:
        return None
    return Idempotency.of(idempotency_key, request.method, request.url.path, await request.body())


async def provide_options(
    request: Request[Any, Any, Any], if_match: IfMatch = None,
    idempotency_key: IdempotencyKey = None,
) -> CommandOptions:
    """If-Match and Idempotency-Key, as the options of a command on a case."""
    options: CommandOptions = {"expected_version": parse_if_match(if_match)}
    idempotency = await _idempotency(request, idempotency_key)
    if idempotency is not None:
        options["idempotency"] = idempotency
    return options


async def provide_idempotency(
    request: Request[Any, Any, Any], idempotency_key: IdempotencyKey = None,
) -> Idempotency | None:
    """Idempotency-Key alone, for commands that make something new."""
    return await _idempotency(request, idempotency_key)


class Call:
    """One command on a case, as a request asks for it: the application, the caller,
    the request protocol's options and the body. `run` is the whole of a handler's
    work: decode the body strictly, call the command off the event loop.

    (Its dependency is named `call`: a dependency must not share its name with a
    body field, or Litestar takes the field's validation error for the dependency's
    and answers 500.)"""

    def __init__(
        self, request: Request[Any, Any, Any], app: Stafettlogg, actor: Actor,
        options: CommandOptions,
    ) -> None:
        self.request = request
        self.app = app
        self.actor = actor
        self.options = options

    async def body(self, data: B) -> B:
        return await strictly(self.request, data)

    async def run(
        self, command: Callable[..., T], *ids: Any, data: msgspec.Struct | None = None,
        **fields: Any,
    ) -> T:
        """`command(actor, *ids, **fields of the body, **fields, **options)`."""
        if data is not None:
            fields = {**msgspec.structs.asdict(await self.body(data)), **fields}
        return await off_loop(command, self.actor, *ids, **fields, **self.options)


Options = NamedDependency[CommandOptions]
IdempotencyOnly = NamedDependency[Idempotency | None]
CaseCall = NamedDependency[Call]


async def provide_call(
    request: Request[Any, Any, Any], app: App, actor: Caller, options: Options,
) -> Call:
    return Call(request, app, actor, options)


DEPENDENCIES = {
    "options": Provide(provide_options),
    "idempotency": Provide(provide_idempotency),
    "call": Provide(provide_call),
}


def versioned(body: T, version: int | None, *, status: int = 200, replayed: bool = False
              ) -> Response[T]:
    """An answer with the case's version as ETag (if it has one), marked when it is
    the remembered answer of an earlier request with the same Idempotency-Key."""
    headers = {} if version is None else {"ETag": etag(version)}
    if replayed:
        headers["Idempotent-Replayed"] = "true"
    return Response(body, status_code=status, headers=headers or None)
