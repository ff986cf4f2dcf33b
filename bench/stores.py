"""The stores the benchmarks run on: generated through the application's commands,
in bulk, deterministically from a seed, and kept between runs.

Every event is made by the real commands of `stafettlogg.application.Stafettlogg`
(the domain checks every rule, personal data is sealed, the access log is written).
What `BulkLoader` changes is only *when* the events are written: a command's
aggregates are kept in memory and the next command on them reads them from there,
and every few thousand aggregates everything is saved in one transaction through
the application's own `save` (mapper, compression, encryption, snapshots). One
commit per few thousand commands instead of one per command (and no deep copy of
the service directory on every command) is what makes a million events take a
few minutes instead of a quarter of an hour.

A generated store is kept under `var/bench/stores/` (ignored by git), keyed by its
kind, size and seed and by a fingerprint of the code that writes events; the views
are caught up (or rebuilt, when the projections changed) before it is used. The
benchmarks work on copies, so that what they write never changes the kept store.
"""

from __future__ import annotations

import functools
import hashlib
import json
import multiprocessing
import os
import random
import shutil
import sys
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError

from domain.aggregate import Aggregate
from domain.events import CaseOpened
from domain.values import CLOSE_REASONS, Actor, age_on
from stafettlogg import demo
from stafettlogg.application import SHREDDED, Stafettlogg
from stafettlogg.keys import ChildKeyStore, SqliteKeyTable
from stafettlogg.settings import Settings
from stafettlogg.unit_of_work import UnitOfWork

ROOT = Path(__file__).resolve().parents[1]
_DIRECTORY = [ROOT / "var" / "bench"]  # kept stores, work copies, logs, results
# Aggregates changed in memory before they are saved in one transaction, and how
# many aggregates the loader keeps in memory at most (a case, its access log and its
# child are three; the demo's last nightly sweep goes over every case again).
FLUSH_EVERY = 3000
KEEP_IN_MEMORY = 100_000
# Stored events (notifications) per child of the demo's scenario, measured: 44-45
# (case, child and access-log events). Used to aim a demo store at a size (a little
# over it).
EVENTS_PER_DEMO_CHILD = 44.0
# What decides the stored events, and what decides the views built from them.
EVENT_SOURCES = ("domain", "stafettlogg/application.py", "stafettlogg/case_commands.py",
                 "stafettlogg/unit_of_work.py", "stafettlogg/demo", "stafettlogg/mapper.py",
                 "stafettlogg/keys.py", "stafettlogg/idempotency.py", "bench/stores.py")
VIEW_SOURCES = ("projections", "stafettlogg/read_models.py", "stafettlogg/statistics.py")

ADMIN = Actor(user="admin.bench", roles=frozenset({"admin"}))


def bench_dir() -> Path:
    return _DIRECTORY[0]


def use_directory(path: Path) -> None:
    """Keep stores, copies, logs and results under `path` (default var/bench)."""
    _DIRECTORY[0] = path


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


@functools.cache  # once per run: code edited during a run does not make it start over
def fingerprint(paths: tuple[str, ...]) -> str:
    digest = hashlib.sha256()
    for name in paths:
        path = ROOT / name
        for file in sorted(path.rglob("*.py")) if path.is_dir() else [path]:
            digest.update(file.relative_to(ROOT).as_posix().encode())
            digest.update(file.read_bytes())
    return digest.hexdigest()[:12]


# --- bulk loading through the application's commands --------------------------------


class _KeysInBatches(SqliteKeyTable):
    """The children's keys file, with new keys written in one transaction per flush
    (the application writes each at once, one commit per new child)."""

    def insert(self, child_id: str, wrapped: bytes, target: str) -> bool:
        # The key table's own insert, inside the batch's one transaction: stored only
        # under the master key the table wraps with (stafettlogg/keys.py).
        db = self._connect()
        if not db.in_transaction:
            db.execute("BEGIN IMMEDIATE")
        if self._target(db) != target:
            return False
        db.execute("INSERT OR IGNORE INTO child_keys (child_id, wrapped) VALUES (?, ?)",
                   (child_id, wrapped))
        return True

    def commit(self) -> None:
        db = self._connect()
        if db.in_transaction:
            db.execute("COMMIT")

    def close(self) -> None:
        self.commit()
        super().close()


class _BulkUnitOfWork(UnitOfWork):
    """The unit of work of `BulkLoader`: it keeps aggregates in memory and saves
    them in batches (`flush`)."""

    def __init__(self, app: BulkLoader) -> None:
        super().__init__(app)
        self.bulk = app
        self.known: OrderedDict[UUID, Aggregate] = OrderedDict()
        self.unsaved: dict[UUID, Aggregate] = {}
        self.openings: dict[UUID, CaseOpened] = {}

    def _remember(self, aggregate: Aggregate) -> None:
        self.known[aggregate.id] = aggregate
        self.known.move_to_end(aggregate.id)
        if len(self.known) > KEEP_IN_MEMORY:
            self.known.popitem(last=False)  # an unsaved one is still in unsaved

    def load(self, cls: type[Any], aggregate_id: Any) -> Any:
        aggregate = self.known.get(aggregate_id) or self.unsaved.get(aggregate_id)
        if aggregate is None:
            aggregate = super().load(cls, aggregate_id)
        elif not isinstance(aggregate, cls):
            raise AggregateNotFoundError(aggregate_id)
        self._remember(aggregate)
        return aggregate

    def save(self, *aggregates: Aggregate) -> None:
        for aggregate in aggregates:
            self._remember(aggregate)
            self.unsaved[aggregate.id] = aggregate
            first = aggregate.pending_events[:1]
            if first and isinstance(first[0], CaseOpened):
                self.openings[aggregate.id] = first[0]
        if len(self.unsaved) >= FLUSH_EVERY:
            self.bulk.flush()


class BulkLoader(Stafettlogg):
    """The application, saving many commands' events in one transaction.

    Its unit of work keeps the aggregates it has loaded or saved in memory (the
    latest few thousand), so the next command on one finds it as the last command
    left it; saving only marks them, and `flush()` (every `FLUSH_EVERY` aggregates,
    and before the notification log is read) saves them all with
    `Application.save`. New children's keys (SQLite) are committed with each flush,
    before the events. Only right while nothing else writes to the store;
    single-threaded.
    """

    name = Stafettlogg.name  # the application's tables (PostgreSQL names them after it)
    uow: _BulkUnitOfWork

    def __init__(self, settings: Settings, **kwargs: Any) -> None:
        self._new_keys: _KeysInBatches | None = None
        self.saved_events = 0  # what the store holds is counted here, not from its ids
        super().__init__(settings, **kwargs)

    def construct_unit_of_work(self) -> UnitOfWork:
        return _BulkUnitOfWork(self)

    def _open_key_store(self, settings: Settings) -> ChildKeyStore:
        if settings.key_store_address is not None:  # PostgreSQL: as the application does
            return super()._open_key_store(settings)
        self._new_keys = _KeysInBatches(settings.key_store)
        return ChildKeyStore(self._new_keys, self.keys.master_key)

    def _child_age(self, case: Any, on: date) -> int | None:
        # The application reads the child's sealed birth date from the stored opening
        # event; a case opened since the last flush has it in memory instead.
        opened = self.uow.openings.get(case.id)
        if opened is None:
            return super()._child_age(case, on)
        raw = self._open(case, opened.birth_date)
        return None if raw is None or raw == SHREDDED else age_on(date.fromisoformat(raw), on)

    def flush(self) -> None:
        if self._new_keys is not None:  # the keys before the events sealed under them
            self._new_keys.commit()
        unsaved = self.uow.unsaved
        if unsaved:
            self.saved_events += sum(len(a.pending_events) for a in unsaved.values())
            self.save(*unsaved.values())
            unsaved.clear()
            self.uow.openings.clear()

    def case_ids(self, after: int = 0) -> Iterator[UUID]:
        self.flush()
        return super().case_ids(after)


# --- where a store lives: SQLite files, or a PostgreSQL database ----------------------


@dataclass(frozen=True)
class Store:
    """A data directory (key file; for SQLite every file) and, on PostgreSQL, a database."""

    backend: Backend
    data_dir: Path
    database: str
    extra_env: tuple[tuple[str, str], ...] = ()
    meta: dict[str, Any] = field(default_factory=dict, compare=False)

    def env(self) -> dict[str, str]:
        return {"STAFETTLOGG_DATA_DIR": str(self.data_dir),
                **self.backend.env(self.database), **dict(self.extra_env)}

    def settings(self) -> Settings:
        return Settings.from_env(self.env())

    def bulk_settings(self) -> Settings:
        """For generating the store: on PostgreSQL, transactions of thousands of
        aggregates need longer than the service's timeouts allow one request."""
        return Settings.from_env({**self.env(), **self.backend.bulk_env})

    def open(self, **kwargs: Any) -> Stafettlogg:
        return Stafettlogg(self.settings(), **kwargs)

    def process_env(self) -> dict[str, str]:
        """The environment of a server process on this store, and nothing stray."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("STAFETTLOGG_")}
        return {**env, **self.env()}


class Backend:
    name = "sqlite"
    bulk_env: dict[str, str] = {}  # noqa: RUF012 - read only

    def env(self, database: str) -> dict[str, str]:
        return {}

    def remove(self, store: Store) -> None:
        shutil.rmtree(store.data_dir, ignore_errors=True)

    def copy(self, source: Store, target: Store) -> None:
        self.remove(target)
        shutil.copytree(source.data_dir, target.data_dir)


class Postgres(Backend):
    """Stores as databases of one PostgreSQL server; copies made with CREATE DATABASE
    ... TEMPLATE. `server_url` names a database to connect to for that (e.g. postgres)."""

    name = "postgresql"
    bulk_env = {f"STAFETTLOGG_POSTGRES_{name}": "3600"  # noqa: RUF012 - read only
                for name in ("STATEMENT_TIMEOUT", "LOCK_TIMEOUT", "IDLE_IN_TRANSACTION_TIMEOUT")}

    def __init__(self, server_url: str) -> None:
        self.server_url = server_url

    def url(self, database: str) -> str:
        return f"{self.server_url.rsplit('/', 1)[0]}/{database}"

    def env(self, database: str) -> dict[str, str]:
        return {"STAFETTLOGG_DATABASE_URL": self.url(database)}

    def _admin(self, *statements: str) -> None:
        import psycopg  # the `postgres` extra

        with psycopg.connect(self.server_url, autocommit=True) as conn:
            for statement in statements:
                conn.execute(statement)  # type: ignore[arg-type]

    def remove(self, store: Store) -> None:
        super().remove(store)
        self._admin(f'DROP DATABASE IF EXISTS "{store.database}" WITH (FORCE)')

    def create(self, store: Store) -> None:
        self._admin(f'CREATE DATABASE "{store.database}"')

    def copy(self, source: Store, target: Store) -> None:
        super().copy(source, target)
        self._admin(
            f'DROP DATABASE IF EXISTS "{target.database}" WITH (FORCE)',
            f'CREATE DATABASE "{target.database}" TEMPLATE "{source.database}"',
        )


def backend_named(name: str) -> Backend:
    if name == "sqlite":
        return Backend()
    url = os.environ.get("STAFETTLOGG_BENCH_POSTGRES", "")
    if not url:
        msg = "STAFETTLOGG_BENCH_POSTGRES=postgresql://user@host:5432/postgres is not set"
        raise SystemExit(msg)
    return Postgres(url)


def _db_name(key: str) -> str:
    return "bench_" + key.replace("-", "_").lower()


def store_at(backend: Backend, directory: Path, *, extra_env: dict[str, str] | None = None,
             meta: dict[str, Any] | None = None) -> Store:
    return Store(backend, directory, _db_name(directory.name),
                 tuple(sorted((extra_env or {}).items())), meta or {})


def work_copy(store: Store, name: str) -> Store:
    """A throw-away copy of a kept store, for a benchmark that writes."""
    copy = store_at(store.backend, bench_dir() / "work" / name,
                    extra_env=dict(store.extra_env), meta=store.meta)
    store.backend.copy(store, copy)
    return copy


def empty_store(backend: Backend, name: str, **extra_env: str) -> Store:
    """A new store with the demo's services registered, under var/bench/work/."""
    store = store_at(backend, bench_dir() / "work" / name, extra_env=extra_env)
    backend.remove(store)
    if isinstance(backend, Postgres):
        backend.create(store)
    app = store.open()
    try:
        register_services(app)
    finally:
        app.close()
    return store


def discard(store: Store) -> None:
    store.backend.remove(store)


# --- generated, kept stores --------------------------------------------------------------

Builder = Callable[[BulkLoader, int, int], dict[str, Any]]  # (app, size, seed) -> meta


@dataclass(frozen=True)
class Spec:
    """A kept store: what `build(app, size, seed)` makes, with these settings."""

    kind: str
    size: int
    seed: int
    build: Builder
    extra_env: tuple[tuple[str, str], ...] = ()


def _kept(backend: Backend, spec: Spec) -> tuple[Store, str]:
    prefix = f"{spec.kind}-{spec.size}-s{spec.seed}-{backend.name}-"
    return store_at(backend, bench_dir() / "stores" / (prefix + fingerprint(EVENT_SOURCES)),
                    extra_env=dict(spec.extra_env)), prefix


def is_kept(backend: Backend, spec: Spec) -> bool:
    store, _ = _kept(backend, spec)
    views = store.data_dir / "views.fingerprint"
    return ((store.data_dir / "bench.json").exists() and views.exists()
            and views.read_text() == fingerprint(VIEW_SOURCES))


def kept_store(backend: Backend, spec: Spec) -> Store:
    """The store `spec` makes, from the cache if it is there and current."""
    store, prefix = _kept(backend, spec)
    marker = store.data_dir / "bench.json"
    for stale in (bench_dir() / "stores").glob(prefix + "*"):
        if stale.name != store.data_dir.name:
            log(f"removing {stale.name} (made by other code)")
            backend.remove(store_at(backend, stale))
    if marker.exists():
        meta = json.loads(marker.read_text())
    else:
        backend.remove(store)
        if isinstance(backend, Postgres):
            backend.create(store)
        meta = _generate(store, spec)
        marker.write_text(json.dumps(meta, indent=1))
    kept = store_at(backend, store.data_dir, extra_env=dict(spec.extra_env), meta=meta)
    _current_views(kept)
    return kept


def prepare(backend: Backend, specs: list[Spec]) -> None:
    """Make the stores that are not kept yet, two at a time in their own processes
    (the machine's two cores), so a first run waits for the slowest, not the sum."""
    missing = [s for s in specs if not is_kept(backend, s)]
    if len(missing) < 2:
        return
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=2, mp_context=context,
                             initializer=use_directory, initargs=(bench_dir(),)) as pool:
        for done in [pool.submit(kept_store, backend, s) for s in missing]:
            done.result()


def _generate(store: Store, spec: Spec) -> dict[str, Any]:
    name = store.data_dir.name
    log(f"generating {name} through the application's commands ...")
    app = BulkLoader(store.bulk_settings(), new_id=demo.demo_id_factory(spec.seed))
    try:
        started = time.perf_counter()
        meta = spec.build(app, spec.size, spec.seed)
        app.flush()
        seconds = time.perf_counter() - started
        events = app.saved_events
    finally:
        app.close()
    log(f"{name}: {events:,} events in {seconds:.0f} s ({events / seconds:,.0f} events/s)")
    return {**meta, "events": events, "generated_in_s": round(seconds, 1)}


def _current_views(store: Store) -> None:
    """Views caught up with the events, rebuilt from zero if the projections changed."""
    marker = store.data_dir / "views.fingerprint"
    wanted = fingerprint(VIEW_SOURCES)
    app = Stafettlogg(store.bulk_settings())
    try:
        started = time.perf_counter()
        if not marker.exists() or marker.read_text() != wanted:
            log(f"building the views of {store.data_dir.name} ...")
            app.read_models.rebuild()
        else:
            app.read_models.catch_up()
        marker.write_text(wanted)
        seconds = time.perf_counter() - started
        if seconds > 1:
            log(f"views of {store.data_dir.name} ready in {seconds:.0f} s")
    finally:
        app.close()


# --- what the stores hold ----------------------------------------------------------------


def register_services(app: Stafettlogg, at: datetime = demo.START) -> None:
    """The demo's services (four municipalities, every sector, some inter-municipal)."""
    for service in demo.SERVICES:
        app.register_service(
            ADMIN, service_id=service.id, name=service.name, sector=service.sector,
            municipalities=list(service.municipalities), at=at,
        )
    # Their workers, in the staff directory: a handover or a coordinator names one.
    for service in demo.SERVICES:
        for number in range(1, WORKERS_PER_SERVICE + 1):
            person = worker(service, number)
            app.register_staff(
                ADMIN, staff_id=person.user, name=f"Ansatt {number} {service.name}",
                service=service.id, roles=["worker"],
                municipalities=list(service.municipalities), at=at,
            )


WORKERS_PER_SERVICE = 4


def worker(service: demo.ServiceDef, number: int = 1) -> Actor:
    return Actor(
        user=f"w{number}.{service.id}", service=service.id, roles=frozenset({"worker"}),
        municipalities=frozenset(service.municipalities),
    )


# Services that open cases in the small-case store: one municipality each.
OPENERS = [s for s in demo.SERVICES
           if s.sector in ("barnehage", "skole", "helsestasjon") and len(s.municipalities) == 1]


def demo_cases(app: BulkLoader, events: int, seed: int) -> dict[str, Any]:
    """The demo's scenario (cases through levels 0-3, consents, handovers, meetings,
    ...) with as many children as make about `events` stored events."""
    children = max(1, round(events / EVENTS_PER_DEMO_CHILD))
    summary = demo.load_demo(app, seed=seed, children=children,
                             progress=_progress(children, "children"))
    return {"children": children, "cases": summary.cases, "case_events": summary.events}


def small_cases(app: BulkLoader, cases: int, seed: int) -> dict[str, Any]:
    """Many small cases, each just opened (its level-0 work not begun), by a worker of
    a barnehage, school or health station, at a moment between 2025-01 and 2026-10."""
    register_services(app)
    rng = random.Random(seed)
    span = (demo.END - demo.START).total_seconds()
    tick = _progress(cases, "cases")
    for i in range(cases):
        service = rng.choice(OPENERS)
        app.open_case(
            worker(service, rng.randint(1, 4)), child_name=f"Barn {seed}-{i}",
            concern="Bekymring for barnet.",
            birth_date=date(2008, 1, 1) + timedelta(days=rng.randrange(5000)),
            at=demo.START + timedelta(seconds=rng.uniform(0, span)),
        )
        tick(i + 1, cases)
    return {"cases": cases}


# The steady stores of the history-length curve end with this month, whatever their
# length, so that the month whose release is compared is the same month of the year.
STEADY_LAST = (2026, 6)


def _month_start(year: int, month: int) -> datetime:
    return datetime(year, month, 1, tzinfo=UTC)


def months_back(month: tuple[int, int], count: int) -> tuple[int, int]:
    index = month[0] * 12 + month[1] - 1 - count
    return index // 12, index % 12 + 1


def steady_cases(app: BulkLoader, months: int, seed: int, *, per_month: int) -> dict[str, Any]:
    """`per_month` cases opened in every one of `months` months ending with
    `STEADY_LAST`: the same monthly volume however long the history. Each case has
    its level-0 steps; most move to level 1-3 with a consent and the services the
    level needs, some are handed over (and accepted), some get a koordinator, and
    each closes three weeks to seven months after its last step (unless the window
    ends first), so that the children with a holder stay about the same too."""
    register_services(app, _month_start(*months_back(STEADY_LAST, months)))
    rng = random.Random(seed)
    end = _month_start(*months_back(STEADY_LAST, -1)) - timedelta(hours=1)
    local: dict[str, list[demo.ServiceDef]] = {}
    for service in demo.SERVICES:
        for municipality in service.municipalities:
            local.setdefault(municipality, []).append(service)
    coordinators = {m: Actor(user=f"koordinator.{m}", roles=frozenset({"coordinator"}),
                             municipalities=frozenset({m})) for m in local}
    tick = _progress(months * per_month, "cases")
    for number in range(months * per_month):
        first = _month_start(*months_back(STEADY_LAST, months - 1 - number // per_month))
        at = first + timedelta(days=rng.uniform(0, 27), hours=rng.uniform(8, 15))
        service = rng.choice(OPENERS)
        municipality = service.municipalities[0]
        holder = worker(service, rng.randint(1, 3))
        case_id = app.open_case(
            holder, child_name=f"Barn {seed}-{number}", concern="Bekymring for barnet.",
            birth_date=at.date() - timedelta(days=rng.randrange(365, 15 * 365)), at=at).id
        tick(number + 1, months * per_month)

        def later(low: float, high: float) -> datetime | None:
            nonlocal at
            at += timedelta(days=rng.uniform(low, high))
            return at if at < end else None

        if later(2, 20) is None:
            continue
        for step in ("vurdering", "konkretisering", "deling", "beslutning"):
            app.record_level0_step(holder, case_id, step=step, text="Steg.", at=at)
        if rng.random() < 0.6:
            if later(1, 20) is None:
                continue
            level = rng.choice((1, 1, 2, 2, 3))
            others = rng.sample([s for s in local[municipality] if s.id != service.id], 2)
            app.register_consent(holder, case_id, given_by="guardian",
                                 services=[o.id for o in others], purpose="Samarbeid.",
                                 valid_until=at.date() + timedelta(days=400), form="written",
                                 at=at)
            for other in others[:level - 1]:
                app.add_participant(holder, case_id, service=other.id, at=at)
            app.change_level(holder, case_id, level=level, reason="Tiltak.", at=at)
            if rng.random() < 0.35:
                to = worker(others[0])
                handover = app.request_handover(holder, case_id, to_user=to.user,
                                                to_service=others[0].id, note="Stafetten.",
                                                at=at).result
                if later(1, 10) is None:
                    continue
                app.accept_handover(to, case_id, handover, at=at)
                holder = to
            if level >= 2 and rng.random() < 0.5:
                if later(1, 20) is None:
                    continue
                app.appoint_coordinator(coordinators[municipality], case_id, user=holder.user,
                                        service=holder.service or "", at=at)
        if later(20, 200) is not None:
            app.close_case(holder, case_id, reason=rng.choice(CLOSE_REASONS), at=at)
    return {"months": months, "per_month": per_month, "cases": months * per_month}


LONG_CASE_STEPS = ("entry", "entry", "meeting", "entry", "action", "entry", "evaluation", "entry")
SHORT_CASE_EVENTS = 10


def long_and_short_case(app: BulkLoader, long_events: int, seed: int) -> dict[str, Any]:
    """One case of `long_events` events and one of `SHORT_CASE_EVENTS`, the same
    story: opened, the level-0 steps, level 1, then log entries, meetings, actions
    and their evaluations, one command a day."""
    register_services(app)
    return {"long_case": str(case_with_events(app, long_events, "Lang")),
            "short_case": str(case_with_events(app, SHORT_CASE_EVENTS, "Kort")),
            "long_events": long_events, "short_events": SHORT_CASE_EVENTS}


def case_with_events(app: Stafettlogg, events: int, name: str) -> UUID:
    service = OPENERS[0]
    actor = worker(service)
    at = datetime(2025, 1, 6, 9, tzinfo=UTC)
    case = app.open_case(actor, child_name=f"{name} Saksen", concern="Bekymring.",
                         birth_date=date(2020, 5, 1), at=at)
    plan = ["vurdering", "konkretisering", "deling", "beslutning", "level",
            *LONG_CASE_STEPS * events]
    action: UUID | None = None
    for step in plan:
        if app.get_case(case.id).version >= events:
            break
        at += timedelta(days=1)
        if step in ("vurdering", "konkretisering", "deling", "beslutning"):
            app.record_level0_step(actor, case.id, step=step, text="Steg.", at=at)
        elif step == "level":
            app.change_level(actor, case.id, level=1, reason="Tiltak i egen tjeneste.", at=at)
        elif step == "meeting":
            app.hold_meeting(actor, case.id, held_on=at.date(), services=[service.id],
                             minutes="Møte med foreldrene.", at=at)
        elif step == "action":
            outcome = app.agree_action(actor, case.id, description="Fast voksen.",
                                       responsible_service=service.id,
                                       evaluate_by=at.date() + timedelta(days=14), at=at)
            action = outcome.result
        elif step == "evaluation" and action is not None:
            app.evaluate_action(actor, case.id, action, outcome="completed", text="Nådd.", at=at)
            action = None
        else:
            app.add_entry(actor, case.id, kind="observation", text="Observasjon.", at=at)
    return case.id


def _progress(total: int, unit: str) -> Callable[[int, int], None]:
    step = max(1, total // 10)
    started = time.perf_counter()

    def tick(done: int, _total: int) -> None:
        if done % step == 0 and done < total:
            seconds = time.perf_counter() - started
            log(f"  {done:,}/{total:,} {unit} ({seconds:.0f} s)")

    return tick
