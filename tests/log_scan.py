"""The service's log, captured as `stafettlogg serve` writes it (JSON lines), and
scanned for what must never be in it (stafettlogg/observability.py).

`LogScan` puts the service's JSON handler on the root logger for a test. `watch`
wraps a test client so that every string sent in a JSON body, a form or a query
(names, fødselsnummer, texts: what a user typed) is remembered; `check` then
asserts that every line is one JSON object, that a request line has a route
template and no path with an id, and that no line holds a token, one of those
strings, a fødselsnummer-like number or a bearer header.
"""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator
from typing import Any

from stafettlogg.observability import REQUEST_LOGGER, JsonFormatter

# Strings this short or this common are words of the contract, not a user's data.
MIN_SECRET = 6
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
ELEVEN_DIGITS = re.compile(r"(?<!\d)\d{11}(?!\d)")
JWT = re.compile(r"eyJ[\w-]+\.[\w-]+\.[\w-]+")


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _strings(item)


def _is_secret(text: str) -> bool:
    """A user's text or a name: long enough, and with a space, a digit run or a capital
    (the contract's words are lower-case identifiers: `note`, `bhg-solsikken`)."""
    return len(text) >= MIN_SECRET and (
        " " in text or any(c.isupper() for c in text) or text.isdigit())


class LogScan:
    def __init__(self) -> None:
        self.stream = io.StringIO()
        self.handler = logging.StreamHandler(self.stream)
        self.handler.setFormatter(JsonFormatter())
        self.handler.setLevel(logging.DEBUG)
        self.secrets: set[str] = set()
        self._level = logging.WARNING

    def __enter__(self) -> LogScan:
        root = logging.getLogger()
        self._level = root.level
        root.addHandler(self.handler)
        root.setLevel(logging.INFO)
        # The test client is httpx, which logs each URL it asks for: the test's own
        # lines, not the service's (`serve` quiets httpx the same way).
        self._httpx = logging.getLogger("httpx").level
        logging.getLogger("httpx").setLevel(logging.WARNING)
        return self

    def __exit__(self, *exc: object) -> None:
        root = logging.getLogger()
        root.removeHandler(self.handler)
        root.setLevel(self._level)
        logging.getLogger("httpx").setLevel(self._httpx)

    def watch(self, client: Any) -> None:
        """Remember every string the test sends through `client`."""
        original = client.request

        async def request(method: str, url: Any, *args: Any, **kwargs: Any) -> Any:
            for key in ("json", "data", "params"):
                for text in _strings(kwargs.get(key)):
                    if _is_secret(text):
                        self.secrets.add(text)
            return await original(method, url, *args, **kwargs)

        client.request = request

    def forget(self) -> None:
        """Drop what was captured so far (a test that plants leaks on purpose)."""
        self.stream.seek(0)
        self.stream.truncate()

    def lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.stream.getvalue().splitlines() if line]

    def requests(self) -> list[dict[str, Any]]:
        return [line for line in self.lines() if line["logger"] == REQUEST_LOGGER]

    def check(self) -> None:
        text = self.stream.getvalue()
        lines = self.lines()  # every line is one JSON object
        for line in lines:
            if line["logger"] == REQUEST_LOGGER:
                assert set(line) >= {"method", "route", "status", "duration_ms", "user"}, line
                assert not UUID.search(line["route"]), line
                assert "?" not in line["route"], line
        leaks = sorted(s for s in self.secrets if s in text)
        assert not leaks, f"the log holds what a user sent: {leaks[:5]}"
        assert not ELEVEN_DIGITS.search(text), ELEVEN_DIGITS.search(text)
        assert not JWT.search(text), "the log holds a token"
        assert "Bearer " not in text
