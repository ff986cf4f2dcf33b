"""A client that lost the answer asks again with its `Idempotency-Key`: nothing doubles.

Three ways to lose an answer, each for every kind of write (log entry, consent,
meeting, handover request, accept, decline, opening a case):

* the client resets the connection right after sending, or gives up waiting (read
  timeout), and asks again at once with the same key and the very same bytes (the
  server may or may not have read the first request before the connection went);
  or it keeps the connection until the write is stored, then resets it unread;
* the server is killed (SIGKILL) after it committed the write but before the client
  read the answer; the client asks again after the restart;
* several copies of one request (one key) arrive at the same moment.

Each retry is answered 2xx; a retry of a write that was stored is answered with the
first answer (`Idempotent-Replayed: true`, the same id and version), and the write is
in the log exactly once (`checks.py`). The same key with another body is refused
(422) and records nothing.
"""

from __future__ import annotations

import json
import socket
import struct
import threading
import time
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx
import pytest

from tests.reliability.backends import Backend
from tests.reliability.checks import check_all
from tests.reliability.harness import (
    API,
    MUNICIPALITY,
    SERVICE_IDS,
    Answer,
    Api,
    Ledger,
    Lost,
    Server,
    Write,
    child_of,
    open_shared_case,
    run_threads,
    text_for,
    today,
)

pytestmark = [pytest.mark.reliability, pytest.mark.slow]


def encode(body: Any) -> bytes:
    return b"" if body is None else json.dumps(body, ensure_ascii=False).encode()


def raw_request(server: Server, api: Api, write: Write) -> bytes:
    body = encode(write.body)
    head = [
        f"{write.method} {API}{write.path} HTTP/1.1",
        f"Host: 127.0.0.1:{server.port}",
        f"Authorization: Bearer {api.tokens[write.user]}",
        f"Idempotency-Key: {write.key}",
        "Content-Type: application/json",
        f"Content-Length: {len(body)}",
        "Connection: close",
        "",
        "",
    ]
    return "\r\n".join(head).encode() + body


def send_and_reset(server: Server, api: Api, write: Write) -> None:
    """Send the whole request, then reset the connection without reading a byte."""
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    sock.sendall(raw_request(server, api, write))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()
    write.history.append("sent, connection reset")


def send_and_time_out(server: Server, api: Api, write: Write) -> None:
    """Send with a read timeout far shorter than any write takes."""
    try:
        answer = api.request(write.user, write.method, write.path, content=encode(write.body),
                             headers={"Idempotency-Key": write.key or ""},
                             timeout=httpx.Timeout(10.0, read=0.0005))
    except Lost as exc:
        write.history.append(f"sent, gave up waiting ({exc})")
        return
    write.history.append(f"answered before the timeout: {answer.brief()}")


def send_and_keep(server: Server, api: Api, write: Write) -> socket.socket:
    """Send the whole request and never read the answer (the socket is closed later)."""
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    sock.sendall(raw_request(server, api, write))
    write.history.append("sent, answer never read")
    return sock


def retry(api: Api, ledger: Ledger, write: Write) -> Answer:
    """Ask again with the same key and bytes until an answer comes; it decides the outcome."""
    deadline = time.monotonic() + 30
    while True:
        write.tries += 1
        try:
            answer = api.request(write.user, write.method, write.path, content=encode(write.body),
                                 headers={"Idempotency-Key": write.key or ""})
        except Exception as exc:  # noqa: BLE001 - NotSent or Lost: the server is not up yet
            write.history.append(f"retry failed ({type(exc).__name__})")
            assert time.monotonic() < deadline, write.describe()
            time.sleep(0.05)
            continue
        ledger.count(answer)
        write.history.append(answer.brief() + (" (replayed)" if answer.replayed else ""))
        write.status, write.code, write.answer = answer.status, answer.code, answer.body
        write.replayed = answer.replayed
        write.outcome = "acked" if 200 <= answer.status < 300 else "unexpected"
        if write.outcome == "unexpected":
            ledger.problem(f"retry not answered 2xx: {write.describe()}")
        return answer


class Writes:
    """Makes the ledger's writes: every one with its own key and a tagged text."""

    def __init__(self, ledger: Ledger, case_id: str) -> None:
        self.ledger = ledger
        self.case_id = case_id
        self.url = f"/cases/{case_id}"

    def make(self, kind: str, user: str, path: str, body: Any, **extra: Any) -> Write:
        tag = self.ledger.tag(user)
        if isinstance(body, dict):
            body = {k: (text_for(kind, tag) if v is None else v) for k, v in body.items()}
        return self.ledger.add(Write(
            tag=tag, kind=kind, user=user, method="POST", path=path, body=body,
            case=self.case_id, key=f"k-{uuid.uuid4().hex}", **extra,
        ))

    def entry(self, user: str) -> Write:
        return self.make("entry", user, f"{self.url}/entries", {"kind": "note", "text": None})

    def consent(self, user: str) -> Write:
        return self.make("consent", user, f"{self.url}/consents", {
            "given_by": "guardian", "services": SERVICE_IDS[:2], "purpose": None,
            "valid_until": (today() + timedelta(days=300)).isoformat(), "form": "oral",
        })

    def meeting(self, user: str) -> Write:
        return self.make("meeting", user, f"{self.url}/meetings", {
            "held_on": today().isoformat(), "services": SERVICE_IDS[1:3], "minutes": None,
        })

    def handover(self, user: str, to_user: str, to_service: str) -> Write:
        return self.make("handover", user, f"{self.url}/handovers", {
            "to_user": to_user, "to_service": to_service, "note": None,
        })

    def accept(self, user: str, handover_id: str) -> Write:
        return self.make("accept", user, f"{self.url}/handovers/{handover_id}/accept", None,
                         target=handover_id)

    def decline(self, user: str, handover_id: str) -> Write:
        return self.make("decline", user, f"{self.url}/handovers/{handover_id}/decline",
                         {"reason": None}, target=handover_id)

    def opening(self, user: str, number: int) -> Write:
        write = self.make("open", user, "/cases", {
            "child": child_of(number), "concern": None, "municipality": MUNICIPALITY,
        })
        write.case = None
        return write


def stored(api: Api, write: Write, cases_before: int | None = None) -> bool:
    """Is the write in its case's log (an opening: in its opener's case list)?"""
    if write.kind == "open":
        return len(api.ok(write.user, "GET", "/cases?limit=200")["items"]) > (cases_before or 0)
    log = api.ok("pia", "GET", f"/cases/{write.case}/log")["entries"]
    if write.kind == "accept":
        return any(e["kind"] == "handover-accepted"
                   and e["details"]["handover_id"] == write.target for e in log)
    return any(e["text"] == write.text for e in log)


def wait_until_stored(api: Api, write: Write, cases_before: int | None = None) -> None:
    deadline = time.monotonic() + 20
    while not stored(api, write, cases_before):
        assert time.monotonic() < deadline, f"never stored: {write.describe()}"
        time.sleep(0.05)


def opened(ledger: Ledger, write: Write) -> None:
    if write.outcome == "acked":
        write.case = write.answer["id"]
        ledger.readers[write.case] = write.user


def test_retry_after_the_client_lost_the_answer(
    api: Api, server: Server, backend: Backend
) -> None:
    ledger = Ledger()
    case_id = open_shared_case(api, "kari", 1)
    ledger.mark_baseline(api, [case_id])
    make = Writes(ledger, case_id)
    # How the answer is lost: the client resets the connection or gives up waiting and
    # asks again at once (racing its own first request, which the server may or may
    # not have read before the connection went: then it was never seen); or the client
    # waits until the write is stored, then resets the connection before reading the
    # answer, and asks again.
    def keep_until_stored_then_reset(server: Server, api: Api, write: Write) -> None:
        sock = send_and_keep(server, api, write)
        wait_until_stored(api, write, before)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()
        write.history.append("stored, then connection reset")

    ways: list[tuple[Callable[[Server, Api, Write], None], bool]] = [
        (send_and_reset, False), (send_and_time_out, False),
        (keep_until_stored_then_reset, True),
    ]
    before = 0
    first_retry_replayed = 0
    done: list[Write] = []

    def lose_then_retry(write: Write) -> Answer:
        nonlocal first_retry_replayed, before
        lose, wait = ways[len(done) % len(ways)]
        before = len(api.ok(write.user, "GET", "/cases?limit=200")["items"])
        lose(server, api, write)
        answer = retry(api, ledger, write)
        assert 200 <= answer.status < 300, write.describe()
        # Once the first request is stored, the retry gets its answer back.
        assert answer.replayed or not wait, (answer.brief(), write.describe())
        first_retry_replayed += answer.replayed
        # A second retry gets the same answer again, and records nothing.
        again = api.request(write.user, write.method, write.path, content=encode(write.body),
                            headers={"Idempotency-Key": write.key or ""})
        assert again.status == answer.status and again.replayed, (again.brief(), write.describe())
        assert again.body == answer.body, (again.body, answer.body, write.describe())
        done.append(write)
        return answer

    for _ in range(2):
        # Each kind twice, once per way of losing the answer.
        lose_then_retry(make.entry("kari"))
        lose_then_retry(make.consent("pia"))
        lose_then_retry(make.meeting("per"))
        baton = lose_then_retry(make.handover("kari", "per", "hauge-skole")).body["id"]
        lose_then_retry(make.accept("per", baton))
        baton = lose_then_retry(make.handover("per", "kari", "bhg-solsikken")).body["id"]
        lose_then_retry(make.decline("kari", baton))
        baton = lose_then_retry(make.handover("per", "kari", "bhg-solsikken")).body["id"]
        lose_then_retry(make.accept("kari", baton))
    openings = [make.opening("hanne", 200 + i) for i in range(2)]
    for write in openings:
        lose_then_retry(write)
        opened(ledger, write)

    print(f"\n[{backend.name}] {len(done)} writes lost their answer; {first_retry_replayed} "
          f"had been stored before the first retry came (replayed); {ledger.summary()}")
    check_all(api, ledger, [case_id, *(w.case for w in openings)])
    # A third of the writes were stored before their retry came, and answered as replayed.
    assert first_retry_replayed >= len(done) // 3, ledger.summary()
    # Two openings: two cases besides the shared one, not more.
    listed = api.ok("kim", "GET", "/cases?limit=200")["items"]
    assert sorted(c["id"] for c in listed) == sorted([case_id, *(w.case for w in openings)])

    # The same key with another body is refused, and records nothing.
    used = done[0]
    other = api.request(used.user, "POST", used.path, json={"kind": "note", "text": "Annen tekst"},
                        headers={"Idempotency-Key": used.key or ""})
    assert other.status == 422 and other.code == "idempotency-key-reused", other.brief()
    check_all(api, ledger, [case_id])


def test_retry_after_the_server_died_after_committing(
    api: Api, server: Server, backend: Backend
) -> None:
    """Each write is sent and stored, its answer never read; then kill -9 and restart:
    the retries find every write, once, and answer as the first time would have."""
    ledger = Ledger()
    case_id = open_shared_case(api, "kari", 1)
    ledger.mark_baseline(api, [case_id])
    make = Writes(ledger, case_id)
    url = f"/cases/{case_id}"

    def send_until_stored(write: Write) -> socket.socket:
        before = len(api.ok(write.user, "GET", "/cases?limit=200")["items"])
        sock = send_and_keep(server, api, write)
        wait_until_stored(api, write, before)
        return sock

    # An acknowledged write whose answer the client did read: its replay must match.
    seen = make.entry("kari")
    first = retry(api, ledger, seen)
    assert first.status == 201 and not first.replayed, first.brief()

    sockets: list[socket.socket] = []
    unread = [make.entry("kari"), make.consent("per"), make.meeting("pia")]
    for write in unread:
        sockets.append(send_until_stored(write))
    # The handover and its acceptance: the handover's id is read from the log.
    handover = make.handover("kari", "per", "hauge-skole")
    sockets.append(send_until_stored(handover))
    log = api.ok("pia", "GET", f"{url}/log")["entries"]
    handover_id = next(e["details"]["handover_id"] for e in log if e["text"] == handover.text)
    accept = make.accept("per", handover_id)
    sockets.append(send_until_stored(accept))
    # A new case: stored when the opener's list has one more case.
    opening = make.opening("hanne", 300)
    sockets.append(send_until_stored(opening))

    server.kill9()
    for sock in sockets:
        sock.close()
    server.start()
    server.wait_ready()

    for write in [*unread, handover, accept, opening]:
        answer = retry(api, ledger, write)
        assert answer.status in (200, 201) and answer.replayed, (answer.brief(), write.describe())
    opened(ledger, opening)
    assert handover.answer["id"] == handover_id, (handover.answer, handover_id)
    assert accept.answer["holder"] == {"user": "per", "service": "hauge-skole"}, accept.answer
    again = retry(api, ledger, seen)
    assert again.replayed and again.body == first.body, (again.body, first.body)

    # Eight copies of one new request at the same moment: one is stored, all say so.
    # Once for a log entry, once for a new case of a child known by name only (whose
    # id is drawn at random, so the copies do not even meet on one child).
    twin = make.entry("per")
    twin_opening = make.opening("hanne", 400)
    twin_opening.body["child"] = {"name": "Navnet Alene Testesen"}
    listed_before = len(api.ok("hanne", "GET", "/cases?limit=200")["items"])
    for write in (twin, twin_opening):
        answers: list[Answer] = []
        lock = threading.Lock()
        start = threading.Barrier(8)

        def copy(_: int, write: Write = write, answers: list[Answer] = answers,
                 lock: threading.Lock = lock, start: threading.Barrier = start) -> None:
            start.wait()
            answer = api.request(write.user, write.method, write.path,
                                 content=encode(write.body),
                                 headers={"Idempotency-Key": write.key or ""})
            with lock:
                answers.append(answer)

        run_threads(8, copy)
        assert [a.status for a in answers] == [201] * 8, [a.brief() for a in answers]
        assert sum(not a.replayed for a in answers) == 1, [a.replayed for a in answers]
        assert len({json.dumps(a.body, sort_keys=True) for a in answers}) == 1, answers
        write.outcome, write.answer = "acked", answers[0].body
    opened(ledger, twin_opening)
    listed = api.ok("hanne", "GET", "/cases?limit=200")["items"]
    assert len(listed) == listed_before + 1, (listed_before, listed)

    print(f"\n[{backend.name}] {len(unread) + 3} writes stored, answers never read, "
          f"server killed, all replayed after the restart; {ledger.summary()}")
    check_all(api, ledger, [case_id, opening.case or "", twin_opening.case or ""])
