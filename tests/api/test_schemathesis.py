"""Schemathesis fuzzes the OpenAPI document the app serves, against the app itself.

The document is fetched from `GET /schema/openapi.json` of the real ASGI app (on a real
encrypted SQLite store), and every request goes to that app in-process, through
schemathesis's ASGI transport. For every operation in the document we send

* the *coverage* cases schemathesis derives from the schema (boundary values, missing
  and wrongly typed fields, invalid patterns, unexpected methods, bad content types), and
* *fuzzing* cases drawn by Hypothesis in positive and in negative mode,

and check every answer: no 5xx, a documented status code, a documented content type,
a body that matches the documented schema (and documented headers). Nothing stops at the
first failure: all of them are collected, and the test fails with one report that names
operation, request, answer and check for each distinct finding.

To get past 401/404, requests carry real tokens (the users of `tests/api/conftest.py`,
taken in turn: the holder, a recipient, a participant, a coordinator, an evaluator, an
admin, a stranger, and now and then no or a forged token), and path ids, service ids
and users in valid bodies are often swapped for those of seeded cases: one at level 3
with responsibility group, coordinator, individual plan, an action and a pending
handover; one at level 1; a fresh one at level 0; a closed one. The world is seeded
again for every operation and every `RESEED_EVERY` requests, so that one lucky "close"
or "accept" does not leave the rest of the run facing a closed case.

The run is deterministic: coverage cases are systematic, Hypothesis is derandomized
(no example database), and every choice above depends only on a request counter.
Run with `-s` to see what it did (requests, statuses, time).
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from uuid import UUID

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.core.parameters import ParameterLocation
from schemathesis.errors import FailureGroup

from domain.values import Actor
from stafettlogg.web.app import create_app
from stafettlogg.application import Stafettlogg
from tests.conftest import ADMIN

pytestmark = pytest.mark.slow

SCHEMA_PATH = "/schema/openapi.json"
MIN_REQUESTS = 500
# Hypothesis examples per operation, in each generation mode.
FUZZ_EXAMPLES = {GenerationMode.POSITIVE: 30, GenerationMode.NEGATIVE: 15}
RESEED_EVERY = 60

CHECKS = [
    schemathesis.checks.not_a_server_error,
    schemathesis.checks.status_code_conformance,
    schemathesis.checks.content_type_conformance,
    schemathesis.checks.response_schema_conformance,
    schemathesis.checks.response_headers_conformance,
]

# Who sends the n-th request (n modulo the length). None: no token; "forged": a bad one.
IDENTITIES: tuple[str | None, ...] = (
    "kari", "per", "kari", "kim", "kari", "adam", "pia", "kari", "eva",
    "kari", "per", "kari", "stranger", "kim", "kari", None, "adam", "kari", "forged",
)
KNOWN_SERVICES = ("ppt-lister", "hauge-skole", "hs-lyngdal", "bhg-solsikken")
KNOWN_STAFF = ("kari", "per", "pia", "hanne", "kim")
SPARE_SERVICES = ("reserve-skole", "reserve-ppt")
SPARE_STAFF = ("reserve-1", "reserve-2")


def register_spares(app: Stafettlogg) -> None:
    """Services and people that the fuzzed changes (PATCH) may close and deactivate."""
    for service_id, sector in zip(SPARE_SERVICES, ("skole", "ppt"), strict=True):
        app.register_service(ADMIN, service_id=service_id, name=f"Reserve {sector}",
                             sector=sector, municipalities=["4225"])
    for staff_id in SPARE_STAFF:
        app.register_staff(ADMIN, staff_id=staff_id, name=f"Reserve {staff_id}",
                           service="hauge-skole", roles=["worker"], municipalities=["4225"])
KNOWN_USERS = ("per", "pia", "hanne", "kari")
UUID_RE = re.compile(r"^[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}$")


# --- the seeded world ---------------------------------------------------------------


@dataclass
class World:
    # level 3: consent, PPT and helsestasjon taking part, responsibility group, coordinator,
    # individual plan, an action, and a handover to per pending
    deep: UUID
    level1: UUID  # level 1, consent, an action; kari holds, nothing pending
    fresh: UUID  # level 0, no decision yet
    closed: UUID
    handover: UUID
    consent: UUID
    action: UUID
    level1_consent: UUID
    level1_action: UUID

    def children(self, case_id: str) -> dict[str, str]:
        """Ids that belong to a case: its handover, consent and action."""
        if case_id == str(self.deep):
            return {"handover_id": str(self.handover), "consent_id": str(self.consent),
                    "action_id": str(self.action)}
        if case_id == str(self.level1):
            return {"consent_id": str(self.level1_consent), "action_id": str(self.level1_action)}
        return {}


def actor_of(claims: dict[str, dict[str, Any]], user: str) -> Actor:
    c = claims[user]
    return Actor(user=user, service=c.get("service"), roles=frozenset(c["roles"]),
                 municipalities=frozenset(c.get("municipalities", ())))


def seed_world(app: Stafettlogg, claims: dict[str, dict[str, Any]], n: int) -> World:
    """Cases for kari (Solsikken barnehage) in several states, through the domain."""
    kari, pia, kim = (actor_of(claims, user) for user in ("kari", "pia", "kim"))
    today = app.clock().date()
    birth = today.replace(year=today.year - 5)
    until = today + timedelta(days=365)

    def open_case(name: str) -> UUID:
        return app.open_case(kari, child_name=f"{name} {n}", birth_date=birth,
                             concern="Vi undrer oss over språket.").id

    def decide(case_id: UUID) -> None:
        for step in ("vurdering", "konkretisering", "deling", "beslutning"):
            app.record_level0_step(kari, case_id, step=step, text=f"{step}.")

    def consent(case_id: UUID) -> UUID:
        return app.register_consent(
            kari, case_id, given_by="guardian",
            services=["ppt-lister", "hauge-skole", "hs-lyngdal"],
            purpose="Samarbeid.", valid_until=until, form="written",
        ).result

    deep = open_case("Dyp")
    decide(deep)
    app.change_level(kari, deep, level=1, reason="Tiltak i barnehagen.")
    deep_consent = consent(deep)
    app.add_participant(kari, deep, service="ppt-lister", user="pia")
    app.add_participant(kari, deep, service="hs-lyngdal", user="hanne")
    app.change_level(kari, deep, level=3, reason="Sammensatte behov.")
    app.establish_responsibility_group(
        kari, deep, services=["bhg-solsikken", "ppt-lister", "hs-lyngdal"])
    app.appoint_coordinator(kim, deep, user="hanne", service="hs-lyngdal")
    app.start_individual_plan(kari, deep)
    deep_action = app.agree_action(pia, deep, description="Språkgruppe.",
                                   responsible_service="ppt-lister",
                                   evaluate_by=today + timedelta(days=30)).result
    handover = app.request_handover(kari, deep, to_user="per", to_service="hauge-skole",
                                    note="Skolestart.").result

    level1 = open_case("Nivå-en")
    decide(level1)
    app.change_level(kari, level1, level=1, reason="Tiltak i barnehagen.")
    level1_consent = consent(level1)
    level1_action = app.agree_action(kari, level1, description="Samtaler.",
                                     responsible_service="bhg-solsikken",
                                     evaluate_by=today + timedelta(days=14)).result

    fresh = open_case("Ny")

    closed = open_case("Lukket")
    decide(closed)
    app.close_case(kari, closed, reason="concern-resolved")

    return World(deep=deep, level1=level1, fresh=fresh, closed=closed, handover=handover,
                 consent=deep_consent, action=deep_action, level1_consent=level1_consent,
                 level1_action=level1_action)


# --- the run ------------------------------------------------------------------------


def _short(value: Any, limit: int = 400) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= limit else f"{text[:limit]}… ({len(text)} chars)"


def _scenario(case: Any) -> str:
    meta = case.meta
    if meta is None:
        return "?"
    data = meta.phase.data
    return f"{meta.phase.name.value}/{meta.generation.mode.value}: {data.description or ''}".strip()


def _targeted(case: Any) -> str | None:
    """The parameter a generated case is about (that one is sent exactly as generated)."""
    meta = case.meta
    return None if meta is None else meta.phase.data.parameter


@dataclass
class Finding:
    key: tuple[str, ...]
    first: str
    count: int = 1


@dataclass
class Run:
    app: Stafettlogg
    tokens: dict[str, str]
    claims: dict[str, dict[str, Any]]
    n: int = 0  # requests answered
    worlds: int = 0
    world: World | None = None
    since_seed: int = 0
    per_operation: Counter[str] = field(default_factory=Counter)
    statuses: Counter[int] = field(default_factory=Counter)
    findings: dict[tuple[str, ...], Finding] = field(default_factory=dict)
    trace: list[str] = field(default_factory=list)  # what was sent and answered, in order

    def reseed(self) -> None:
        self.worlds += 1
        self.world = seed_world(self.app, self.claims, self.worlds)
        self.since_seed = 0

    # Making a generated case go deeper -------------------------------------------------

    def _pick(self, options: tuple[Any, ...]) -> Any:
        return options[self.n % len(options)]

    def prepare(self, case: Any) -> str | None:
        """Set identity, ids and headers for the n-th request; return who sends it."""
        assert self.world is not None
        meta = case.meta
        targeted = _targeted(case)
        negative_path = meta is not None and meta.is_negative_at(ParameterLocation.PATH)
        negative_headers = meta is not None and meta.is_negative_at(ParameterLocation.HEADER)
        negative_body = meta is not None and meta.is_negative_at(ParameterLocation.BODY)

        # Who: a real token, none, or a forged one (or what the case is about).
        who = self._pick(IDENTITIES) if targeted != "Authorization" else "(as generated)"
        headers = dict(case.headers or {})
        if targeted != "Authorization":
            headers.pop("Authorization", None)
            if who == "forged":
                headers["Authorization"] = "Bearer eyJhbGciOiJIUzI1NiJ9.e30.forged"
            elif who is not None:
                headers["Authorization"] = f"Bearer {self.tokens[who]}"

        # Optional concurrency headers: mostly left out (a generated If-Match is almost
        # always stale), and a fresh Idempotency-Key, so that writes reach the domain.
        if not negative_headers and targeted not in ("If-Match", "Idempotency-Key"):
            if self.n % 3:
                headers.pop("If-Match", None)
                if "Idempotency-Key" in headers:
                    headers["Idempotency-Key"] = f"fuzz-{self.n}"
        case.headers = headers

        # Path: ids of the seeded cases (and of their handover, consent, action).
        path = dict(case.path_parameters or {})
        if path and not negative_path:
            case_id = path.get("case_id")
            if isinstance(case_id, str) and UUID_RE.match(case_id) and targeted != "case_id":
                w = self.world
                choice = self._pick((w.deep, w.level1, w.fresh, w.level1, w.closed, w.deep,
                                     w.level1, None))
                if choice is not None:
                    path["case_id"] = str(choice)
                    for name, value in w.children(path["case_id"]).items():
                        if name in path and targeted != name and self.n % 5:
                            path[name] = value
            # A change (PATCH) goes to a spare service or person: closing a service or
            # deactivating someone the worlds are seeded with would end the run.
            changing = case.method.upper() == "PATCH"
            if "service_id" in path and targeted != "service_id" and self.n % 4:
                path["service_id"] = self._pick(SPARE_SERVICES if changing else KNOWN_SERVICES)
            if "staff_id" in path and targeted != "staff_id" and self.n % 4:
                path["staff_id"] = self._pick(SPARE_STAFF if changing else KNOWN_STAFF)
            case.path_parameters = path

        # Valid bodies, two times out of three: known services, municipalities and users
        # (the document has no item patterns for them), and in fuzzed bodies only the
        # fields the document declares (it does not say that others are refused).
        body = case.body
        if isinstance(body, dict) and not negative_body and self.n % 3:
            if meta is not None and meta.phase.name.value == "fuzzing":
                body = declared_only(body, self.body_schema(case.operation),
                                     case.operation.schema.raw_schema)
            body = dict(body)
            for name in ("service", "to_service", "responsible_service"):
                if isinstance(body.get(name), str):
                    body[name] = self._pick(KNOWN_SERVICES)
            if isinstance(body.get("services"), list) and body["services"]:
                body["services"] = list(KNOWN_SERVICES[: 1 + self.n % 3])
            if isinstance(body.get("municipalities"), list) and body["municipalities"]:
                body["municipalities"] = self._pick((["4225"], ["4225", "4227"], ["4227"]))
            for name in ("user", "to_user"):
                if isinstance(body.get(name), str):
                    body[name] = self._pick(KNOWN_USERS)
            case.body = body
        return who

    @staticmethod
    def body_schema(operation: Any) -> Any:
        request_body = operation.definition.raw.get("requestBody") or {}
        return request_body.get("content", {}).get("application/json", {}).get("schema", {})

    # Sending and checking --------------------------------------------------------------

    def send(self, case: Any, operation: str) -> None:
        if self.world is None or self.since_seed >= RESEED_EVERY:
            self.reseed()
        who = self.prepare(case)
        try:
            response = case.call()
        except Exception as exc:  # noqa: BLE001 - the app crashed, or the client refused
            key = (operation, type(exc).__name__, "-", _first_line(str(exc)))
            if key in self.findings:
                self.findings[key].count += 1
            else:
                self.findings[key] = Finding(key=key, first="\n".join([
                    f"[No answer: {type(exc).__name__}] {operation}  "
                    f"({_scenario(case)}; as {who or 'no token'})",
                    f"  request:  {case.method} {case.formatted_path} query={case.query}",
                    f"            body={_short(case.body) if case.body is not None else None}",
                    f"  error:    {_indent(str(exc))}",
                ]))
            return
        self.n += 1
        self.since_seed += 1
        self.per_operation[operation] += 1
        self.statuses[response.status_code] += 1
        self.trace.append(f"{case.method} {operation} {who} {response.status_code}")
        try:
            case.validate_response(response, checks=CHECKS)
        except FailureGroup as group:
            for failure in group.exceptions:
                self.record(case, response, who, operation, failure)

    def record(self, case: Any, response: Any, who: str | None, operation: str,
               failure: Any) -> None:
        key = (operation, type(failure).__name__, str(response.status_code),
               _first_line(failure.message))
        if key in self.findings:
            self.findings[key].count += 1
            return
        request = response.request
        sent_headers = {k: v for k, v in request.headers.items()
                        if k.lower() in ("content-type", "if-match", "idempotency-key")}
        body = request.body
        if isinstance(body, bytes):
            body = body.decode("utf-8", "replace")
        self.findings[key] = Finding(key=key, first="\n".join([
            f"[{failure.title}] {operation}  ({_scenario(case)}; as {who or 'no token'})",
            f"  request:  {request.method} {request.path_url}  headers={sent_headers}",
            f"            body={_short(body) if body else None}",
            f"  response: {response.status_code} "
            f"{', '.join(response.headers.get('content-type') or ['(no content type)'])}"
            f"  {_short(response.text)}",
            f"  check:    {_indent(failure.message)}",
        ]))

    def report(self) -> str:
        lines = [f"{len(self.findings)} distinct finding(s) in {self.n} requests:"]
        for finding in self.findings.values():
            lines += ["", f"({finding.count}x) {finding.first}"]
        return "\n".join(lines)


def resolve(document: dict[str, Any], schema: Any) -> Any:
    """`schema` with a local `$ref` (`#/components/schemas/X`) followed."""
    while isinstance(schema, dict) and "$ref" in schema:
        node: Any = document
        for part in schema["$ref"].removeprefix("#/").split("/"):
            node = node[part]
        schema = node
    return schema


def declared_only(value: Any, schema: Any, document: dict[str, Any]) -> Any:
    """`value` without the object members its schema does not declare (recursively)."""
    schema = resolve(document, schema)
    if not isinstance(value, dict) or not isinstance(schema, dict):
        return value
    for alternative in schema.get("oneOf", ()):
        alternative = resolve(document, alternative)
        if isinstance(alternative, dict) and "properties" in alternative:
            schema = alternative
    properties = schema.get("properties")
    if properties is None:
        return value
    return {key: declared_only(item, properties[key], document)
            for key, item in value.items() if key in properties}


def _first_line(text: str) -> str:
    return (text or "").strip().splitlines()[0] if (text or "").strip() else ""


def _indent(text: str, limit: int = 1200) -> str:
    text = _short(text or "", limit)
    return text.replace("\n", "\n            ")


def coverage_cases(schema: Any, operation: Any) -> Iterator[Any]:
    yield from schema.iter_coverage_cases(
        operation,
        generation_modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
        generation_config=schema.config.generation_for(operation=operation, phase="coverage"),
    )


def fuzz(operation: Any, mode: GenerationMode, each: Callable[[Any], None]) -> None:
    """Hypothesis-drawn cases for one operation, derandomized; `each` records, not raises."""

    @settings(
        max_examples=FUZZ_EXAMPLES[mode],
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
        print_blob=False,
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case: Any) -> None:
        each(case)

    try:
        run()
    except Unsatisfiable:
        # An operation with no parameters, body or required header (/health, /ready)
        # has no invalid request to make; its positive cases still run.
        if mode is not GenerationMode.NEGATIVE:
            raise


# --- the test -----------------------------------------------------------------------


@pytest.fixture
def asgi_app(stafettlogg: Stafettlogg) -> Any:
    return create_app(app=stafettlogg)


def test_the_served_openapi_document_holds_under_fuzzing(
    stafettlogg: Stafettlogg, users: Any, asgi_app: Any
) -> None:
    started = time.monotonic()
    schema = schemathesis.openapi.from_asgi(SCHEMA_PATH, asgi_app, config=schemathesis.Config())
    operations = [result.ok() for result in schema.get_all_operations()]
    labels = [op.label for op in operations]
    # The contract's endpoints are all in the document (and so all get fuzzed).
    for label in ("POST /api/v1/cases", "GET /api/v1/cases/{case_id}",
                  "POST /api/v1/cases/{case_id}/handovers/{handover_id}/accept",
                  "GET /api/v1/inbox", "POST /api/v1/services",
                  "POST /api/v1/staff", "GET /api/v1/staff", "GET /api/v1/staff/{staff_id}",
                  "PATCH /api/v1/staff/{staff_id}"):
        assert label in labels

    register_spares(stafettlogg)
    tokens = {name: users.token(name) for name in users.CLAIMS}
    run = Run(app=stafettlogg, tokens=tokens, claims=users.CLAIMS)
    for operation in operations:
        run.reseed()
        for case in coverage_cases(schema, operation):
            run.send(case, operation.label)
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            fuzz(operation, mode, lambda case, label=operation.label: run.send(case, label))
    elapsed = time.monotonic() - started

    print(  # shown with -s / -rP: what the run did
        f"\nschemathesis {schemathesis.__version__}: {run.n} requests, "
        f"{len(operations)} operations, {run.worlds} seeded worlds, {elapsed:.1f}s"
        f"\nstatuses: {dict(sorted(run.statuses.items()))}"
        f"\nper operation: {dict(run.per_operation)}"
        f"\nrun fingerprint (the same on every run of the same code): "
        f"{hashlib.sha256(chr(10).join(run.trace).encode()).hexdigest()[:16]}"
    )
    assert run.n >= MIN_REQUESTS
    missing = [label for label in labels if run.per_operation[label] == 0]
    assert not missing, f"operations never called: {missing}"
    if run.findings:
        pytest.fail(run.report(), pytrace=False)
