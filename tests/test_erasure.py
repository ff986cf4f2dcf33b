"""Erasure of a child's data (crypto-shredding), on both backends: after it no sealed
field of the child can be read from anything stored, with any key that remains; the
case reads `[slettet]`; the released statistics stay as they were and the case still
counts; an open case is refused with nothing recorded; and the nightly sweep erases
when the municipality's archive period has run out, and not a day before."""

from __future__ import annotations

import base64
import binascii
import sqlite3
import zlib
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import msgspec
import pytest
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from eventsourcing.cryptography import AESCipher
from eventsourcing.utils import Environment

from domain import errors
from domain.events import ChildDataErased
from projections.case_queries import access_lines
from stafettlogg.application import SHREDDED, Stafettlogg
from stafettlogg.keys import NONCE_BYTES, SEAL_FORMAT, KeyShredded
from domain.calendar import NORWAY
from stafettlogg.settings import Settings, SettingsError
from tests.conftest import ADMIN, KARI, PER, T0, Backend, MovableClock, register_services, \
    settings_for
from tests.test_persistence import (
    CHILD_NAME,
    FREE_TEXTS,
    NATIONAL_ID,
    PERSONAL,
    every_field_story,
    raw_bytes,
)

SECRETS = ["Ingrid", *PERSONAL, *FREE_TEXTS.values()]
REASON = "Krav om sletting etter GDPR art. 17, journalpost 2026/1234"
OTHER_CHILD = "Jonas Bakke"
OTHER_CONCERN = "Jonas kommer ofte for sent og virker sliten."


def at_oslo(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=NORWAY)


def open_app(data_dir: Path, clock: Any, **env: str) -> Stafettlogg:
    # Snapshots every few events, so that there are snapshots to scan too.
    return Stafettlogg(settings_for(data_dir, STAFETTLOGG_SNAPSHOT_INTERVAL="4", **env),
                       clock=clock)


@pytest.fixture
def app(data_dir: Path) -> Any:
    application = open_app(data_dir, lambda: T0)
    register_services(application)
    yield application
    application.close()


def other_child(app: Stafettlogg) -> UUID:
    """Another child's open case: its key stays, and must open nothing of Ingrid's."""
    return app.open_case(KARI, child_name=OTHER_CHILD, concern=OTHER_CONCERN).id


# What is stored, read as raw as it can be -----------------------------------------------


def stored_states(backend: Backend, data_dir: Path) -> list[bytes]:
    """The `state` of every stored event and snapshot, as the recorder wrote it."""
    if backend.schema is None:
        db = sqlite3.connect(data_dir / "stafettlogg.sqlite3")
        tables = [t for (t,) in db.execute("SELECT name FROM sqlite_master WHERE type='table'")
                  if "state" in {c[1] for c in db.execute(f"PRAGMA table_info('{t}')")}]
        return [bytes(s) for t in tables for (s,) in db.execute(f'SELECT state FROM "{t}"')]
    with backend.connect() as conn:
        tables = [t for (t,) in conn.execute(
            "SELECT table_name FROM information_schema.columns WHERE table_schema = %s"
            " AND column_name = 'state'", (backend.schema,))]
        return [bytes(s) for t in tables for (s,) in conn.execute(f'SELECT state FROM "{t}"')]


def everything_stored(backend: Backend, data_dir: Path) -> bytes:
    """Every byte of every file under the data dir and, on PostgreSQL, every value of
    every table of the test's schema."""
    found = [raw_bytes(data_dir)]
    if backend.schema is not None:
        with backend.connect() as conn:
            tables = [t for (t,) in conn.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = %s",
                (backend.schema,))]
            for table in tables:
                for row in conn.execute(f'SELECT * FROM "{table}"'):  # noqa: S608
                    found += [bytes(v) if isinstance(v, (bytes, memoryview)) else str(v).encode()
                              for v in row]
    return b"".join(found)


def remaining_child_keys(app: Stafettlogg, backend: Backend, data_dir: Path) -> list[bytes]:
    """Every child key still in the key store, unwrapped with the master key."""
    if backend.schema is None:
        rows = sqlite3.connect(data_dir / "child-keys.sqlite3").execute(
            "SELECT child_id, wrapped FROM child_keys").fetchall()
    else:
        with backend.connect() as conn:
            rows = conn.execute("SELECT child_id, wrapped FROM child_keys").fetchall()
    master = AESGCM(app.keys.master_key)
    return [master.decrypt(bytes(w)[:NONCE_BYTES], bytes(w)[NONCE_BYTES:], UUID(str(c)).bytes)
            for c, w in rows]


def sealed_values(plain: bytes) -> list[bytes]:
    """The sealed fields in a decrypted event or snapshot (JSON: bytes stand as base64):
    every string in it that decodes to the sealed-field format."""
    found: list[bytes] = []

    def walk(value: Any) -> None:
        if isinstance(value, str):
            try:
                raw = base64.b64decode(value, validate=True)
            except (binascii.Error, ValueError):
                return
            if raw[:1] == SEAL_FORMAT and len(raw) >= 1 + NONCE_BYTES + 16:
                found.append(raw)
        elif isinstance(value, dict):
            for v in value.values():
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)

    walk(msgspec.json.decode(plain))
    return found


# After the erasure ----------------------------------------------------------------------


def test_after_erasure_no_sealed_field_of_the_child_can_be_read_from_anything_stored(
    app: Stafettlogg, data_dir: Path, backend: Backend,
) -> None:
    case = every_field_story(app)
    other = other_child(app)
    child_id = case.state.child_id
    assert app.child_details(case.id).name == CHILD_NAME  # readable before

    assert app.erase_child_data(ADMIN, case.id, reason=REASON) == [case.id]
    app.read_models.catch_up()

    # Nothing of the child stands in clear anywhere (files, WAL, every table).
    everything = everything_stored(backend, data_dir)
    for secret in SECRETS:
        assert secret.encode() not in everything, secret
    # Under the store cipher: every event and snapshot opened, every sealed field in
    # it tried with every child key that remains (the other child's): none opens.
    cipher = AESCipher(Environment(env={"CIPHER_KEY": app.keys.store_cipher_key_b64}))
    keys = remaining_child_keys(app, backend, data_dir)
    assert len(keys) == 1  # the other child's; Ingrid's is gone
    opened_other = 0
    states = stored_states(backend, data_dir)
    assert len(states) > 40
    for state in states:
        plain = zlib.decompress(cipher.decrypt(state))
        for secret in SECRETS:
            assert secret.encode() not in plain, secret
        for sealed in sealed_values(plain):
            nonce, body = sealed[1:1 + NONCE_BYTES], sealed[1 + NONCE_BYTES:]
            for key in keys:
                for associated in (child_id.bytes, app.get_case(other).state.child_id.bytes):
                    try:
                        text = AESGCM(key).decrypt(nonce, body, associated).decode()
                    except InvalidTag:
                        continue
                    assert text in (OTHER_CHILD, OTHER_CONCERN)  # the other child's own
                    opened_other += 1
    assert opened_other >= 2  # the scan does open what it can
    # The application cannot either, from the events or through its caches.
    for event in app.events.get(case.id):
        for name in event.__struct_fields__:
            value = getattr(event, name)
            if isinstance(value, bytes):
                with pytest.raises(KeyShredded):
                    app.sealer.open(child_id, value)
    assert msgspec.structs.asdict(app.child_details(case.id)) == dict.fromkeys(
        ("name", "birth_date", "national_id", "concern"), SHREDDED)
    assert {e.text for e in app.case_log(case.id) if e.text is not None} == {SHREDDED}
    # The erasure is recorded, without personal data, and in the access log.
    (erased,) = [e for e in app.events.get(case.id) if isinstance(e, ChildDataErased)]
    assert (erased.reason, erased.note, erased.user) == ("request", REASON, ADMIN.user)
    assert app.case_log(case.id)[-1].kind == "child-data-erased"
    assert [(line.user, line.action) for line in access_lines(app.read_models.views, case.id)
            ][-1] == (ADMIN.user, "erase-child-data")
    # The other child is untouched.
    assert app.child_details(other).name == OTHER_CHILD


def test_the_released_statistics_are_unchanged_and_the_case_still_counts(
    data_dir: Path, backend: Backend,
) -> None:
    clock = MovableClock(T0)
    app = open_app(data_dir, clock)
    try:
        register_services(app)
        case = every_field_story(app)
        clock.now = at_oslo(date(2026, 6, 3), 9)
        app.read_models.catch_up()
        assert app.statistics.release() >= 3  # February to May
        views = app.read_models.views
        released = ("SELECT * FROM stat_table ORDER BY period",
                    "SELECT * FROM stat_release ORDER BY month")
        facts = ("SELECT * FROM stat_cases ORDER BY 1", "SELECT * FROM stat_flows ORDER BY 1, 2, 3",
                 "SELECT * FROM stat_intervals ORDER BY 1, 2, 3")
        before = [views.read(q, ()) for q in (*released, *facts)]
        assert before[2], "the case is in the statistics' facts"
        march = app.statistics.released.table("2026-03")

        app.erase_child_data(ADMIN, case.id, reason=REASON)
        app.read_models.catch_up()
        app.statistics.release()
        assert [views.read(q, ()) for q in (*released, *facts)] == before
        assert app.statistics.released.table("2026-03") == march
        # A rebuild of every view from the events gives the same facts: the case counts.
        app.read_models.rebuild()
        assert [views.read(q, ()) for q in facts] == before[2:]
    finally:
        app.close()


def test_erasure_of_an_open_case_is_refused_and_records_nothing(app: Stafettlogg) -> None:
    case = app.open_case(KARI, child_name=CHILD_NAME, concern=FREE_TEXTS["concern"],
                         national_id=NATIONAL_ID)
    last = app.recorder.max_notification_id()
    with pytest.raises(errors.CaseStillOpen, match="Saken er åpen"):
        app.erase_child_data(ADMIN, case.id, reason=REASON)
    assert app.recorder.max_notification_id() == last
    assert app.child_details(case.id).name == CHILD_NAME
    assert app.erasure_preview(ADMIN, case.id).may_erase is False
    # Nobody but an admin.
    with pytest.raises(errors.Forbidden):
        app.erase_child_data(KARI, case.id, reason=REASON)


def test_a_reason_that_names_the_child_is_refused_and_records_nothing(app: Stafettlogg) -> None:
    case = every_field_story(app)
    last = app.recorder.max_notification_id()
    for reason in ("Mor til Ingrid ringte", "krav fra Mona", f"fnr {NATIONAL_ID}",
                   "født 17.04.2020", "", "x" * 201):
        with pytest.raises(errors.InvalidValue) as refused:
            app.erase_child_data(ADMIN, case.id, reason=reason)
        assert refused.value.field == "reason"
    assert app.recorder.max_notification_id() == last
    assert app.child_details(case.id).name == CHILD_NAME


def test_a_child_with_an_open_case_is_not_erased_and_one_erasure_covers_every_case(
    data_dir: Path,
) -> None:
    clock = MovableClock(T0)
    app = open_app(data_dir, clock)
    try:
        register_services(app)
        first = every_field_story(app)  # closed
        clock.now = T0 + timedelta(days=30)
        second = app.open_case(KARI, child_name=CHILD_NAME, concern="Ny bekymring i høst.",
                               national_id=NATIONAL_ID)
        assert second.state.child_id == first.state.child_id  # one child, one key
        with pytest.raises(errors.CaseStillOpen, match="alle barnets saker"):
            app.erase_child_data(ADMIN, first.id, reason=REASON)
        preview = app.erasure_preview(ADMIN, first.id)
        assert (preview.cases, preview.open_cases, preview.may_erase) == (2, 1, False)

        app.record_level0_step(KARI, second.id, step="beslutning", text="Avslutter.")
        app.close_case(KARI, second.id, reason="concern-resolved", note=None)
        assert sorted(app.erase_child_data(ADMIN, first.id, reason=REASON)) == sorted(
            [first.id, second.id])
        for case_id in (first.id, second.id):
            assert app.child_details(case_id).concern == SHREDDED
        with pytest.raises(errors.AlreadyErased):
            app.erase_child_data(ADMIN, second.id, reason=REASON)

        # The child comes back: within a minute the new case waits, then it has a new key
        # and the old cases stay erased.
        clock.now += timedelta(seconds=20)
        with pytest.raises(errors.ErasureSettling):
            app.open_case(KARI, child_name=CHILD_NAME, concern="Tilbake.",
                          national_id=NATIONAL_ID)
        clock.now += timedelta(minutes=2)
        third = app.open_case(KARI, child_name=CHILD_NAME, concern="Tilbake.",
                              national_id=NATIONAL_ID)
        assert app.child_details(third.id).name == CHILD_NAME
        assert app.child_details(first.id).name == SHREDDED
        assert {e.text for e in app.case_log(first.id) if e.text} == {SHREDDED}
    finally:
        app.close()


# On schedule ------------------------------------------------------------------------


def test_the_sweep_erases_when_the_archive_period_has_passed_and_not_before(
    data_dir: Path,
) -> None:
    clock = MovableClock(T0)  # 2 March 2026
    app = open_app(data_dir, clock, STAFETTLOGG_ARCHIVE_YEARS="4225=2")
    try:
        register_services(app)
        case = every_field_story(app)  # closed on 2 March 2026
        kept = app.open_case(PER, child_name=OTHER_CHILD, concern=OTHER_CONCERN).id
        assert app.erasure_preview(ADMIN, case.id).archive_ends == date(2028, 3, 2)

        clock.now = at_oslo(date(2028, 3, 1), 2, 5)  # the period's last day
        assert app.sweep.run_if_due()
        assert app.child_details(case.id).name == CHILD_NAME
        assert not app.get_case(case.id).is_erased

        clock.now = at_oslo(date(2028, 3, 2), 2, 5)
        assert app.sweep.run_if_due()
        assert app.child_details(case.id).name == SHREDDED
        (erased,) = [e for e in app.events.get(case.id) if isinstance(e, ChildDataErased)]
        assert (erased.reason, erased.archive_years, erased.note, erased.user) == (
            "archive-period-ended", 2, None, "system")
        assert erased.timestamp == clock.now
        assert app.child_details(kept).name == OTHER_CHILD  # open: never on schedule

        clock.now += timedelta(days=1)  # the next night: nothing twice
        assert app.sweep.run_if_due()
        assert len([e for e in app.events.get(case.id) if isinstance(e, ChildDataErased)]) == 1
    finally:
        app.close()


def test_without_an_archive_period_nothing_is_erased_on_schedule(data_dir: Path) -> None:
    clock = MovableClock(T0)
    app = open_app(data_dir, clock, STAFETTLOGG_ARCHIVE_YEARS="4227=1")  # not 4225
    try:
        register_services(app)
        case = every_field_story(app)
        clock.now = at_oslo(date(2046, 3, 3), 3)
        assert app.sweep.run_if_due()
        assert app.child_details(case.id).name == CHILD_NAME
        assert app.erasure_preview(ADMIN, case.id).archive_years is None
    finally:
        app.close()


def test_a_key_left_behind_by_an_interrupted_erasure_is_deleted_by_the_next_sweep(
    data_dir: Path,
) -> None:
    clock = MovableClock(T0)
    app = open_app(data_dir, clock)
    try:
        register_services(app)
        case = every_field_story(app)
        child_id = case.state.child_id
        shred = app.key_store.shred
        app.key_store.shred = lambda _: None  # type: ignore[method-assign] - the process "stops"
        app.erase_child_data(ADMIN, case.id, reason=REASON)
        app.key_store.shred = shred  # type: ignore[method-assign]
        assert app.key_store.key_for(child_id, create=False) is not None  # left behind
        clock.now = at_oslo(date(2026, 3, 3), 2, 1)
        assert app.sweep.run_if_due()
        with pytest.raises(KeyShredded):
            app.key_store.key_for(child_id, create=False)
    finally:
        app.close()


# The setting --------------------------------------------------------------------------


def test_the_archive_period_is_set_per_municipality() -> None:
    settings = Settings.from_env({"STAFETTLOGG_ARCHIVE_YEARS": "4225=10, 3201=5"})
    assert settings.archive_years_for("4225") == 10
    assert settings.archive_years_for("3201") == 5
    assert settings.archive_years_for("4227") is None
    assert Settings.from_env({}).archive_years == {}
    every = Settings.from_env({"STAFETTLOGG_ARCHIVE_YEARS": "*=15,4225=10"})
    assert (every.archive_years_for("4225"), every.archive_years_for("4227")) == (10, 15)
    for bad in ("4225", "4225=ti", "422=10", "4225=0", "4225=101"):
        with pytest.raises(SettingsError, match="STAFETTLOGG_ARCHIVE_YEARS"):
            Settings.from_env({"STAFETTLOGG_ARCHIVE_YEARS": bad})


def test_a_child_who_returns_after_another_process_erased_it_gets_a_new_key(
    data_dir: Path,
) -> None:
    """The service holds the child's key in its cache (on SQLite for as long as it runs);
    the erasure is done by another process (`stafettlogg erase`). The child's new case
    in the service is sealed under a new key, which every process can open."""
    clock = MovableClock(T0)
    service = open_app(data_dir, clock)
    try:
        register_services(service)
        case = every_field_story(service)
        assert service.child_details(case.id).name == CHILD_NAME  # the key is cached
        eraser = open_app(data_dir, clock)
        try:
            eraser.erase_child_data(ADMIN, case.id, reason=REASON)
        finally:
            eraser.close()
        assert service.child_details(case.id).name == SHREDDED
        clock.now += timedelta(minutes=5)
        again = service.open_case(KARI, child_name=CHILD_NAME, concern="Tilbake igjen.",
                                  national_id=NATIONAL_ID)
    finally:
        service.close()
    reader = open_app(data_dir, clock)
    try:
        assert reader.child_details(again.id).name == CHILD_NAME
        assert reader.child_details(case.id).name == SHREDDED
    finally:
        reader.close()
