"""The parts of the reliability tests: a real server process, clients, and a ledger.

* `Server` runs `python -m stafettlogg serve` with the backend's environment and
  nothing else, and can be killed with SIGKILL and started again on the same data
  and port.
* `Api` is a thread-safe HTTP client (httpx, one connection pool per thread) that
  speaks as the test's users with real signed tokens.
* `Ledger` remembers every write a client sent, with a unique tag in its free text,
  and what became of it: `acked` (2xx), `refused` (409/412), or `unknown` (the
  answer was lost: the connection broke, the server died, or a 503).
* `step` is one client's next piece of work on a case (an entry, a consent or its
  withdrawal, a meeting, a move of the baton, a new case).

`checks.py` then says, in words, which acknowledged write is missing or doubled and
which rule is broken.
"""

from __future__ import annotations

import random
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from stafettlogg.keys import KeyFile
from stafettlogg.settings import Settings
from stafettlogg.tokens import issue_token
from tests.api.story import national_id_for

PROJECT = Path(__file__).resolve().parents[2]
API = "/api/v1"
READY_DEADLINE = 30.0
STOP_DEADLINE = 15.0
MUNICIPALITY = "4225"

SERVICES: list[tuple[str, str, str, list[str]]] = [
    ("bhg-solsikken", "Solsikken barnehage", "barnehage", ["4225"]),
    ("hauge-skole", "Hauge skole", "skole", ["4225"]),
    ("ppt-lister", "PPT Lister", "ppt", ["4225", "4227"]),
    ("hs-lyngdal", "Helsestasjonen i Lyngdal", "helsestasjon", ["4225"]),
]
SERVICE_IDS = [s[0] for s in SERVICES]

# Two workers in each service; kim coordinates the municipality (sees every case).
USERS: dict[str, dict[str, Any]] = {
    "kari": {"roles": ["worker"], "service": "bhg-solsikken", "municipalities": ["4225"]},
    "ida": {"roles": ["worker"], "service": "bhg-solsikken", "municipalities": ["4225"]},
    "per": {"roles": ["worker"], "service": "hauge-skole", "municipalities": ["4225"]},
    "siri": {"roles": ["worker"], "service": "hauge-skole", "municipalities": ["4225"]},
    "pia": {"roles": ["worker"], "service": "ppt-lister", "municipalities": ["4225", "4227"]},
    "tor": {"roles": ["worker"], "service": "ppt-lister", "municipalities": ["4225", "4227"]},
    "hanne": {"roles": ["worker"], "service": "hs-lyngdal", "municipalities": ["4225"]},
    "liv": {"roles": ["worker"], "service": "hs-lyngdal", "municipalities": ["4225"]},
    "kim": {"roles": ["worker", "coordinator"], "service": "hs-lyngdal",
            "municipalities": ["4225"]},
    "adam": {"roles": ["admin"], "municipalities": []},
    "eva": {"roles": ["evaluator"], "municipalities": ["4225"]},
}
WORKERS = ["kari", "ida", "per", "siri", "pia", "tor", "hanne", "liv"]

# What a write's free text is in the log, by the kind of write.
TEXT_KINDS = {
    "entry": {"observation", "conversation", "note", "positive", "decision"},
    "consent": {"consent-given"},
    "withdraw": {"consent-withdrawn"},
    "handover": {"handover-requested"},
    "decline": {"handover-declined"},
    "meeting": {"meeting"},
    "open": {"case-opened"},
}
# The access-log action each kind of write records.
ACTIONS = {
    "entry": "add-entry",
    "consent": "register-consent",
    "withdraw": "withdraw-consent",
    "handover": "request-handover",
    "accept": "accept-handover",
    "decline": "decline-handover",
    "cancel": "cancel-handover",
    "meeting": "hold-meeting",
    "open": "open-case",
}
# Refusals the load may meet: a rule that no longer holds when the write arrives.
EXPECTED_CODES = {
    "handover-pending", "not-holder", "no-pending-handover", "not-requester",
    "consent-not-active", "concurrent-modification", "version-mismatch", "open-case-exists",
}


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def today() -> date:
    """The date of the server's clock (the real one, in UTC)."""
    return datetime.now(UTC).date()


# --- the server process ---------------------------------------------------------------


class Server:
    """`python -m stafettlogg serve` on a fixed port; started again after each kill."""

    def __init__(self, env: dict[str, str], logs: Path, port: int | None = None) -> None:
        self.env = env
        self.port = port or free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.logs = logs
        self.logs.mkdir(parents=True, exist_ok=True)
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0
        self.kills = 0
        self._log_file: Any = None

    @property
    def log_path(self) -> Path:
        return self.logs / "server.log"

    def start(self) -> None:
        assert self.process is None or self.process.poll() is not None, "already running"
        self.starts += 1
        self._log_file = self.log_path.open("ab")
        self._log_file.write(f"\n===== start {self.starts} =====\n".encode())
        self._log_file.flush()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "stafettlogg", "serve", "--port", str(self.port)],
            cwd=PROJECT, env=self.env, stdout=self._log_file, stderr=subprocess.STDOUT,
        )

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def output(self, tail: int = 6000) -> str:
        if self._log_file is not None:
            self._log_file.flush()
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return text[-tail:]

    def wait_ready(self, deadline: float = READY_DEADLINE) -> float:
        """Seconds until `/ready` answers 200; fails with the server's output if never."""
        started = time.monotonic()
        last = "no answer"
        with httpx.Client(base_url=self.base_url, timeout=5.0) as client:
            while time.monotonic() - started < deadline:
                assert self.process is not None
                if self.process.poll() is not None:
                    raise AssertionError(
                        f"server exited with {self.process.returncode} before it was ready:\n"
                        f"{self.output()}"
                    )
                try:
                    answer = client.get("/ready")
                    if answer.status_code == 200:
                        return time.monotonic() - started
                    last = f"{answer.status_code} {answer.text[:200]}"
                except httpx.TransportError as exc:
                    last = type(exc).__name__
                time.sleep(0.05)
        raise AssertionError(f"server not ready within {deadline} s ({last}):\n{self.output()}")

    def kill9(self) -> None:
        """SIGKILL: no shutdown, no flush, no goodbye."""
        assert self.process is not None and self.process.poll() is None, "not running"
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)
        self.kills += 1
        self._close_log()

    def stop(self) -> int:
        """SIGTERM and wait for a clean shutdown."""
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=STOP_DEADLINE)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
                raise AssertionError(
                    f"server ignored SIGTERM for {STOP_DEADLINE} s:\n{self.output()}"
                ) from None
        self._close_log()
        return self.process.returncode

    def close(self) -> None:
        """Never leave a server running (after a failure)."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=5)
        self._close_log()

    def _close_log(self) -> None:
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None


def run_cli(env: dict[str, str], *args: str, timeout: float = 120) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "stafettlogg", *args], cwd=PROJECT, env=env,
        capture_output=True, text=True, timeout=timeout, check=False,
    )
    assert done.returncode == 0, f"stafettlogg {' '.join(args)}: {done.returncode}\n{done.stderr}"
    return done.stdout


# --- clients ---------------------------------------------------------------------------


def mint_tokens(env: dict[str, str]) -> dict[str, str]:
    """Tokens for every user, signed with the installation's key file (as `stafettlogg token`)."""
    settings = Settings.from_env(env)
    keys = KeyFile.load_or_create(settings.key_file)
    now = datetime.now(UTC)
    return {
        user: issue_token(
            settings, keys, sub=user, name=user.title(), roles=claims["roles"],
            service=claims.get("service"), municipalities=claims["municipalities"], now=now,
        )
        for user, claims in USERS.items()
    }


@dataclass(frozen=True)
class Answer:
    status: int
    body: Any
    headers: httpx.Headers
    seconds: float

    @property
    def code(self) -> str | None:
        return self.body.get("code") if isinstance(self.body, dict) else None

    @property
    def replayed(self) -> bool:
        return self.headers.get("idempotent-replayed") == "true"

    def brief(self) -> str:
        detail = self.body.get("detail") if isinstance(self.body, dict) else None
        return f"{self.status} {self.code or ''} {detail or ''}".strip()


class NotSent(Exception):
    """The request never reached the server (connection refused): safe to send again."""


class Lost(Exception):
    """The request may have reached the server, but its answer never came back."""


class Api:
    """HTTP as the test's users; one httpx client (and connection pool) per thread."""

    def __init__(self, base_url: str, tokens: dict[str, str], timeout: float = 60.0) -> None:
        self.base_url = base_url
        self.tokens = tokens
        self.timeout = timeout
        self._local = threading.local()
        self._clients: list[httpx.Client] = []
        self._lock = threading.Lock()

    def _client(self) -> httpx.Client:
        client = getattr(self._local, "client", None)
        if client is None:
            client = httpx.Client(base_url=self.base_url, timeout=self.timeout)
            self._local.client = client
            with self._lock:
                self._clients.append(client)
        return client

    def close(self) -> None:
        with self._lock:
            for client in self._clients:
                client.close()
            self._clients.clear()

    def request(
        self, user: str, method: str, path: str, json: Any = None,
        headers: dict[str, str] | None = None, timeout: float | httpx.Timeout | None = None,
        content: bytes | None = None,
    ) -> Answer:
        """One request; raises `NotSent` or `Lost` instead of httpx's transport errors.

        `content` sends exactly these bytes as a JSON body (a retry must send the very
        bytes of its first try: the Idempotency-Key's fingerprint covers them)."""
        all_headers = {"Authorization": f"Bearer {self.tokens[user]}", **(headers or {})}
        if content is not None:
            all_headers["Content-Type"] = "application/json"
        started = time.monotonic()
        try:
            response = self._client().request(
                method, f"{API}{path}", json=json if content is None else None,
                content=content, headers=all_headers, timeout=timeout or self.timeout,
            )
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            raise NotSent(type(exc).__name__) from exc
        except httpx.TransportError as exc:
            # A stale keep-alive connection (after a kill) or a broken one: drop the pool.
            self._local.client = None
            raise Lost(type(exc).__name__) from exc
        body = None
        if response.content:
            try:
                body = response.json()
            except ValueError:
                body = response.text[:500]
        return Answer(response.status_code, body, response.headers, time.monotonic() - started)

    def ok(self, user: str, method: str, path: str, json: Any = None,
           headers: dict[str, str] | None = None, expect: Iterable[int] = (200, 201)) -> Any:
        """A request that must succeed (set-up and checks)."""
        answer = self.request(user, method, path, json=json, headers=headers)
        assert answer.status in set(expect), f"{user} {method} {path}: {answer.brief()}"
        return answer.body


# --- the ledger of writes -----------------------------------------------------------


@dataclass
class Write:
    tag: str  # unique; stands in the write's free text (if the write has one)
    kind: str  # entry, consent, withdraw, handover, accept, decline, cancel, meeting, open
    user: str
    method: str
    path: str
    body: Any
    case: str | None  # None for an opening until it is answered
    key: str | None = None  # Idempotency-Key
    target: str | None = None  # the handover or consent the write is about
    child: str | None = None  # for openings: which child
    if_match: str | None = None  # the ETag the client read, when it sends If-Match
    outcome: str = "pending"  # acked, refused, unknown
    status: int | None = None
    code: str | None = None
    answer: Any = None
    replayed: bool = False
    tries: int = 0
    history: list[str] = field(default_factory=list)

    @property
    def text(self) -> str | None:
        if self.kind in TEXT_KINDS:
            return text_for(self.kind, self.tag)
        return None

    def describe(self) -> str:
        return (
            f"{self.kind} {self.tag!r} by {self.user} on case {self.case} "
            f"(key {self.key}, {self.method} {self.path}; outcome {self.outcome}, "
            f"status {self.status} {self.code or ''}; tries: {'; '.join(self.history)})"
        )


def text_for(kind: str, tag: str) -> str:
    words = {
        "entry": "Observasjon",
        "consent": "Samtykke til samarbeid",
        "withdraw": "Foreldrene trekker samtykket",
        "handover": "Overføring av stafettholderrollen",
        "decline": "Kan ikke ta imot nå",
        "meeting": "Referat fra tverrfaglig møte",
        "open": "Bekymring for barnet",
    }
    return f"{words[kind]} [{tag}]"


class Ledger:
    """Every write sent, and what became of it. Thread-safe."""

    def __init__(self) -> None:
        self.writes: list[Write] = []
        self.problems: list[str] = []
        self.statuses: Counter[str] = Counter()
        self.requests = 0
        self.slowest: tuple[float, str] = (0.0, "")
        self.seconds: dict[int, list[float]] = defaultdict(list)  # answer times by status
        # Access-log lines per case before the load (the set-up's own writes).
        self.baselines: dict[str, Counter[tuple[str, str]]] = {}
        # Who reads a case for the checks (a user whose service keeps access to it).
        self.readers: dict[str, str] = {}
        self._lock = threading.Lock()
        self._seq = 0
        self._children = 0

    def mark_baseline(self, api: Api, cases: Iterable[str], reader: str = "kari") -> None:
        """Remember the access-log lines the set-up wrote, before the load begins."""
        for case_id in cases:
            items = api.ok(reader, "GET", f"/cases/{case_id}/access-log")["items"]
            lines = Counter((i["user"], i["action"]) for i in items)
            for w in self.writes:  # the ledger's own writes are checked as writes
                if w.case == case_id and w.outcome == "acked":
                    lines[(w.user, ACTIONS[w.kind])] -= 1
            self.baselines[case_id] = lines

    def next_child(self) -> int:
        with self._lock:
            self._children += 1
            return self._children

    def tag(self, client: int | str) -> str:
        with self._lock:
            self._seq += 1
            return f"w{client}-{self._seq}-{uuid.uuid4().hex[:6]}"

    def add(self, write: Write) -> Write:
        with self._lock:
            self.writes.append(write)
        return write

    def count(self, answer: Answer | str) -> None:
        with self._lock:
            self.requests += 1
            if isinstance(answer, str):
                self.statuses[answer] += 1
            else:
                self.statuses[f"{answer.status} {answer.code or ''}".strip()] += 1
                self.seconds[answer.status].append(answer.seconds)
                if answer.seconds > self.slowest[0]:
                    self.slowest = (answer.seconds, answer.brief())

    def problem(self, text: str) -> None:
        with self._lock:
            self.problems.append(text)

    def by_case(self) -> dict[str, list[Write]]:
        grouped: dict[str, list[Write]] = defaultdict(list)
        for write in self.writes:
            if write.case is not None:
                grouped[write.case].append(write)
        return grouped

    def outcomes(self) -> Counter[str]:
        return Counter(w.outcome for w in self.writes)

    def summary(self) -> str:
        by_kind = Counter((w.kind, w.outcome) for w in self.writes)
        kinds = ", ".join(f"{k}/{o}: {n}" for (k, o), n in sorted(by_kind.items()))
        statuses = ", ".join(f"{s}: {n}" for s, n in self.statuses.most_common())
        return (
            f"{self.requests} requests; writes {dict(self.outcomes())}; by kind {kinds}; "
            f"answers {statuses}; slowest answer {self.slowest[0]:.2f} s ({self.slowest[1]})"
        )


ALLOWED = frozenset({200, 201, 409, 412})


def send_write(
    api: Api, ledger: Ledger, write: Write, *,
    allowed: frozenset[int] = ALLOWED,
    retry_lost: bool = False, give_up_after: float = 60.0,
    on_answer: Callable[[Write, Answer], None] | None = None,
) -> Write:
    """Send a write and record its outcome.

    A write that never left (`NotSent`) is sent again. A write whose answer was lost
    (`Lost`, or a 503) is `unknown`; with `retry_lost` and an Idempotency-Key it is
    sent again with the same key until an answer comes, and that answer decides.
    Any status outside `allowed` (and 503 when retrying) is a problem.
    """
    deadline = time.monotonic() + give_up_after
    headers = {"Idempotency-Key": write.key} if write.key else {}
    if write.if_match:
        headers["If-Match"] = write.if_match
    while True:
        write.tries += 1
        try:
            answer = api.request(write.user, write.method, write.path, json=write.body,
                                 headers=headers)
        except NotSent as exc:
            ledger.count("not sent")
            write.history.append(f"not sent ({exc})")
            if time.monotonic() > deadline:
                write.outcome = write.outcome if write.outcome == "unknown" else "not-sent"
                return write
            time.sleep(0.05)
            continue
        except Lost as exc:
            ledger.count("answer lost")
            write.history.append(f"answer lost ({exc})")
            write.outcome = "unknown"
            if retry_lost and write.key and time.monotonic() < deadline:
                time.sleep(0.05)
                continue
            return write
        ledger.count(answer)
        write.history.append(answer.brief() + (" (replayed)" if answer.replayed else ""))
        if answer.status == 503 and 503 in allowed:
            write.outcome = "unknown"
            if retry_lost and write.key and time.monotonic() < deadline:
                time.sleep(0.1)
                continue
            return write
        write.status = answer.status
        write.code = answer.code
        write.answer = answer.body
        write.replayed = answer.replayed
        if answer.status not in allowed:
            write.outcome = "unexpected"
            ledger.problem(f"unexpected answer {answer.brief()} to {write.describe()}")
        elif 200 <= answer.status < 300:
            write.outcome = "acked"
        else:
            write.outcome = "refused"
            if answer.status == 409 and answer.code not in EXPECTED_CODES:
                ledger.problem(f"unexpected refusal {answer.brief()} of {write.describe()}")
        if on_answer is not None:
            on_answer(write, answer)
        return write


# --- the world: services, cases ------------------------------------------------------


def register_services(api: Api) -> None:
    """The services and their people (a handover names a member of the staff directory)."""
    for service_id, name, sector, municipalities in SERVICES:
        api.ok("adam", "POST", "/services", {
            "id": service_id, "name": name, "sector": sector, "municipalities": municipalities,
        }, expect=(201,))
    for user, claims in USERS.items():
        if "service" in claims:
            api.ok("adam", "POST", "/staff", {
                "id": user, "name": user.title(), "service": claims["service"],
                "roles": claims["roles"], "municipalities": claims["municipalities"],
            }, expect=(201,))


def child_of(number: int) -> dict[str, Any]:
    birth = today().replace(year=today().year - 6) - timedelta(days=40 + number)
    return {"name": f"Barn Nummer {number} Testesen", "birth_date": birth.isoformat(),
            "national_id": national_id_for(birth)}


def share_case(api: Api, holder: str, case_id: str) -> None:
    """A standing consent for all four services, and all four taking part."""
    url = f"/cases/{case_id}"
    api.ok(holder, "POST", f"{url}/consents", {
        "given_by": "guardian", "services": SERVICE_IDS,
        "purpose": "Samarbeid mellom barnehage, skole, PPT og helsestasjon.",
        "valid_until": (today() + timedelta(days=365)).isoformat(), "form": "written",
    }, expect=(201,))
    own = USERS[holder]["service"]
    for service in SERVICE_IDS:
        if service != own:
            api.ok(holder, "POST", f"{url}/participants", {"service": service}, expect=(201,))


def open_shared_case(api: Api, holder: str, number: int) -> str:
    case = api.ok(holder, "POST", "/cases", {
        "child": child_of(number), "concern": f"Bekymring for barn nummer {number}.",
        "municipality": MUNICIPALITY,
    }, expect=(201,))
    share_case(api, holder, case["id"])
    return case["id"]


@contextmanager
def serving(
    backend: Any, logs: Path, *, register: bool = True, **env: str
) -> Iterator[tuple[Server, Api]]:
    """A server process on the backend, ready; clients with a token for every test
    user; the four services registered (unless another process did that already).
    The server is killed if still running after."""
    running = Server({**backend.env(), **env}, logs)
    running.start()
    client: Api | None = None
    try:
        running.wait_ready()
        client = Api(running.base_url, mint_tokens(backend.env()))
        if register:
            register_services(client)
        yield running, client
    finally:
        if client is not None:
            client.close()
        running.close()


# --- the load: one client's steps on a case ---------------------------------------------


@dataclass
class ClientState:
    number: int
    user: str
    rng: random.Random
    consents: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    idempotent: float = 0.0  # share of writes sent with an Idempotency-Key
    retry_lost: bool = False
    allowed: frozenset[int] = ALLOWED

    @property
    def service(self) -> str:
        return USERS[self.user]["service"]  # type: ignore[no-any-return]

    def key(self) -> str | None:
        return f"k-{uuid.uuid4().hex}" if self.rng.random() < self.idempotent else None


def _remember_consent(client: ClientState) -> Callable[[Write, Answer], None]:
    def remember(write: Write, answer: Answer) -> None:
        if write.outcome == "acked" and isinstance(answer.body, dict) and answer.body.get("id"):
            write.target = answer.body["id"]
            client.consents[write.case or ""].append(answer.body["id"])

    return remember


def _remember_opening(ledger: Ledger) -> Callable[[Write, Answer], None]:
    def remember(write: Write, answer: Answer) -> None:
        if write.outcome == "acked" and isinstance(answer.body, dict):
            write.case = answer.body["id"]
            ledger.readers[write.case] = write.user

    return remember


def _remember_handover(write: Write, answer: Answer) -> None:
    if write.outcome == "acked" and isinstance(answer.body, dict):
        write.target = answer.body.get("id")


TEXT = object()  # stands for "the write's tagged text" in a body


def step(api: Api, ledger: Ledger, client: ClientState, case_id: str,
         weights: dict[str, float]) -> None:
    """One step of a client's work on a case, chosen by `weights`."""
    kind = client.rng.choices(list(weights), weights=list(weights.values()))[0]
    url = f"/cases/{case_id}"
    rng = client.rng

    def write(kind: str, method: str, path: str, body: Any, **extra: Any) -> Write:
        tag = ledger.tag(client.number)
        if isinstance(body, dict):
            body = {k: (text_for(kind, tag) if v is TEXT else v) for k, v in body.items()}
        return ledger.add(Write(tag=tag, kind=kind, user=client.user, method=method, path=path,
                                body=body, case=case_id, key=client.key(), **extra))

    def send(w: Write, on_answer: Callable[[Write, Answer], None] | None = None) -> None:
        send_write(api, ledger, w, allowed=client.allowed, retry_lost=client.retry_lost,
                   on_answer=on_answer)

    if kind == "entry":
        send(write("entry", "POST", f"{url}/entries", {
            "kind": rng.choice(["observation", "conversation", "note", "positive"]),
            "text": TEXT}))
    elif kind == "consent":
        own = client.consents[case_id]
        if own and rng.random() < 0.4:
            consent_id = own.pop(rng.randrange(len(own)))
            send(write("withdraw", "POST", f"{url}/consents/{consent_id}/withdraw",
                       {"reason": TEXT}, target=consent_id))
        else:
            services = rng.sample(SERVICE_IDS, rng.randint(1, len(SERVICE_IDS)))
            send(write("consent", "POST", f"{url}/consents", {
                "given_by": "guardian", "services": services, "purpose": TEXT,
                "valid_until": (today() + timedelta(days=rng.randint(30, 300))).isoformat(),
                "form": rng.choice(["oral", "written"]),
            }), _remember_consent(client))
    elif kind == "meeting":
        send(write("meeting", "POST", f"{url}/meetings", {
            "held_on": today().isoformat(), "services": rng.sample(SERVICE_IDS, 2),
            "minutes": TEXT}))
    elif kind == "handover":
        handover_step(api, ledger, client, case_id, write, send)
    elif kind == "open":
        # A new case for a new child (always with a key: a lost answer is asked again).
        w = write("open", "POST", "/cases", {
            "child": child_of(1000 + ledger.next_child()), "concern": TEXT,
            "municipality": MUNICIPALITY,
        })
        w.case, w.key = None, w.key or f"k-{uuid.uuid4().hex}"
        send(w, _remember_opening(ledger))
    else:  # pragma: no cover
        raise AssertionError(kind)



def handover_step(api: Api, ledger: Ledger, client: ClientState, case_id: str,
                  write: Callable[..., Write], send: Callable[..., None]) -> None:
    """Read the case, then do what this user may do with the baton right now."""
    url = f"/cases/{case_id}"
    rng = client.rng
    try:
        answer = api.request(client.user, "GET", url)
    except (NotSent, Lost) as exc:
        ledger.count("not sent" if isinstance(exc, NotSent) else "answer lost")
        return
    ledger.count(answer)
    if answer.status == 503 and 503 in client.allowed:
        return
    if answer.status != 200:
        ledger.problem(f"{client.user} GET {url}: {answer.brief()}")
        return
    case = answer.body
    etag = answer.headers.get("etag")
    pending = case["pending_handover"]
    me = (client.user, client.service)
    # Asking sends If-Match every other time; answering now and then (the case changes
    # under 30 writers all the time, so most answers with If-Match meet a 412).
    if_match = etag if etag and rng.random() < (0.5 if pending is None else 0.2) else None
    if pending is None:
        if (case["holder"]["user"], case["holder"]["service"]) != me:
            return
        to_user = rng.choice([u for u in WORKERS if u != client.user])
        send(write("handover", "POST", f"{url}/handovers", {
            "to_user": to_user, "to_service": USERS[to_user]["service"], "note": TEXT,
        }, if_match=if_match), _remember_handover)
    elif (pending["to_user"], pending["to_service"]) == me:
        hid = pending["id"]
        if rng.random() < 0.8:
            send(write("accept", "POST", f"{url}/handovers/{hid}/accept", None,
                       target=hid, if_match=if_match))
        else:
            send(write("decline", "POST", f"{url}/handovers/{hid}/decline",
                       {"reason": TEXT}, target=hid, if_match=if_match))
    elif pending["requested_by"] == client.user and rng.random() < 0.15:
        hid = pending["id"]
        send(write("cancel", "POST", f"{url}/handovers/{hid}/cancel", None,
                   target=hid, if_match=if_match))


# --- running many clients --------------------------------------------------------------


def run_threads(count: int, work: Callable[[int], None], timeout: float = 300.0) -> None:
    """Run `work(i)` for i in range(count) in threads; re-raise the first failure."""
    failures: list[BaseException] = []

    def run(i: int) -> None:
        try:
            work(i)
        except BaseException as exc:  # noqa: BLE001 - reported below
            failures.append(exc)

    threads = [threading.Thread(target=run, args=(i,), name=f"client-{i}") for i in range(count)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + timeout
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    alive = [t.name for t in threads if t.is_alive()]
    assert not alive, f"clients still running after {timeout} s: {alive}"
    if failures:
        raise failures[0]
