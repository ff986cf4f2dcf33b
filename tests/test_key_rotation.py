"""Rotating the key file's keys (`stafettlogg keys rotate`, stafettlogg/key_rotation.py),
on the real stores of both backends: after each rotation every case, sealed field and
lookup still reads through the application, and what the rotation retires is refused."""

from __future__ import annotations

import shutil
import sqlite3
from datetime import date
from pathlib import Path
from uuid import UUID

import pytest
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from stafettlogg.application import Stafettlogg
from stafettlogg.key_rotation import rotate_index, rotate_master, rotate_store
from domain import errors
from stafettlogg.keys import BlindIndex, KeyFile, KeyFileError
from tests.conftest import ADMIN, KARI, PER, T0, Backend, register_services, settings_for
from tests.test_persistence import (
    CHILD_NAME,
    FREE_TEXTS,
    GUARDIAN_NUMBER,
    NATIONAL_ID,
    every_field_story,
    stored_events,
)

SECOND_CHILD = "Ola Nilsen Berg"
SECOND_CONCERN = "Ola kommer ofte sent og sulten til skolen."


def _second_case(app: Stafettlogg) -> UUID:
    return app.open_case(
        PER, child_name=SECOND_CHILD, concern=SECOND_CONCERN, birth_date=date(2016, 9, 3), at=T0,
    ).id


def _third_case(app: Stafettlogg, name: str) -> UUID:
    return app.open_case(
        KARI, child_name=name, concern=f"Bekymring for {name}.", birth_date=date(2021, 1, 5),
        at=T0,
    ).id


def wrapped_keys(backend: Backend, data_dir: Path) -> dict[str, bytes]:
    """The child keys as the key store holds them: child id -> wrapped key."""
    if backend.schema is None:
        with sqlite3.connect(data_dir / "child-keys.sqlite3") as db:
            rows = db.execute("SELECT child_id, wrapped FROM child_keys").fetchall()
    else:
        with backend.connect() as conn:
            rows = conn.execute("SELECT child_id, wrapped FROM child_keys").fetchall()
    return {child_id: bytes(wrapped) for child_id, wrapped in rows}


def opens_with(master: bytes, child_id: str, wrapped: bytes) -> bool:
    try:
        AESGCM(master).decrypt(wrapped[:12], wrapped[12:], UUID(child_id).bytes)
    except InvalidTag:
        return False
    return True


def assert_everything_reads(app: Stafettlogg, case_id: UUID, second: UUID) -> None:
    """The cases, their sealed fields and the lookups, through the application."""
    details = app.child_details(case_id)
    assert (details.name, details.national_id, details.concern) == (
        CHILD_NAME, NATIONAL_ID, FREE_TEXTS["concern"],
    )
    texts = {e.text for e in app.case_log(case_id)}
    assert FREE_TEXTS["entry"] in texts and FREE_TEXTS["closing note"] in texts
    assert app.child_details(second).name == SECOND_CHILD
    # The child found again by fødselsnummer (the blind index), and the guardian.
    case = app.get_case(case_id)
    person = app.family_person(NATIONAL_ID)
    assert person.child_id == case.state.child_id
    assert case.guardian_of(app.family_person(GUARDIAN_NUMBER).guardian_login) is not None


@pytest.fixture
def story(app: Stafettlogg) -> tuple[UUID, UUID]:
    case = every_field_story(app)
    second = _second_case(app)
    return case.id, second


def test_master_rotation_rewraps_every_child_key_and_retires_the_old_one(
    app: Stafettlogg, data_dir: Path, backend: Backend, story: tuple[UUID, UUID]
) -> None:
    case_id, second = story
    settings = app.settings
    app.close()
    before = KeyFile.load(settings.key_file)
    keys_before = wrapped_keys(backend, data_dir)
    assert len(keys_before) == 2

    done = rotate_master(settings, keep_old=True, batch_size=1)

    assert done.rewrapped == 2
    after = KeyFile.load(settings.key_file)
    assert after.master_key != before.master_key and after.next_master_key is None
    assert (after.store_cipher_key, after.index_key, after.token_secret) == (
        before.store_cipher_key, before.index_key, before.token_secret,
    )
    assert settings.key_file.stat().st_mode & 0o777 == 0o600
    # Every child key is wrapped under the new master key, and the old one opens none.
    keys_after = wrapped_keys(backend, data_dir)
    assert keys_after.keys() == keys_before.keys()
    for child_id, wrapped in keys_after.items():
        assert opens_with(after.master_key, child_id, wrapped)
        assert not opens_with(before.master_key, child_id, wrapped)
    reopened = Stafettlogg(settings_for(data_dir))
    try:
        assert_everything_reads(reopened, case_id, second)
    finally:
        reopened.close()
    # The old key file, kept aside at the operator's asking, is refused by the store.
    assert done.kept_old_file is not None
    assert KeyFile.load(done.kept_old_file) == before
    assert done.kept_old_file.stat().st_mode & 0o777 == 0o600
    shutil.copy(done.kept_old_file, settings.key_file)
    with pytest.raises(KeyFileError):
        Stafettlogg(settings_for(data_dir))


def test_master_rotation_keeps_no_old_file_unless_asked(
    app: Stafettlogg, data_dir: Path, story: tuple[UUID, UUID]
) -> None:
    settings = app.settings
    app.close()
    done = rotate_master(settings)
    assert done.kept_old_file is None
    assert sorted(p.name for p in data_dir.glob("keys.json*")) == ["keys.json"]
    assert not list(data_dir.glob(".keys.json*"))  # no temporary file left


def test_an_interrupted_master_rotation_loses_nothing_and_is_finished_by_running_it_again(
    app: Stafettlogg, data_dir: Path, backend: Backend, story: tuple[UUID, UUID]
) -> None:
    case_id, second = story
    _third_case(app, "Siri Dahl")
    settings = app.settings
    app.close()
    before = KeyFile.load(settings.key_file)

    rotate_master(settings, batch_size=1, stop_after_batches=1)  # "killed" after one batch

    halfway = KeyFile.load(settings.key_file)
    assert halfway.master_key == before.master_key and halfway.next_master_key is not None
    wrapped = wrapped_keys(backend, data_dir)
    under_new = [c for c, w in wrapped.items() if opens_with(halfway.next_master_key, c, w)]
    assert len(under_new) == 1  # one batch of one
    # Meanwhile the service works: reads every case and opens new ones (wrapped under
    # the new key already, so that the end of the rotation leaves none behind).
    meanwhile = Stafettlogg(settings_for(data_dir))
    try:
        assert_everything_reads(meanwhile, case_id, second)
        fourth = _third_case(meanwhile, "Jonas Lie")
    finally:
        meanwhile.close()

    done = rotate_master(settings, batch_size=1)  # run again: it carries on

    final = KeyFile.load(settings.key_file)
    assert final.master_key == halfway.next_master_key and final.next_master_key is None
    assert done.rewrapped == 2  # the two left, not the one done nor the new one
    for child_id, key in wrapped_keys(backend, data_dir).items():
        assert opens_with(final.master_key, child_id, key)
    reopened = Stafettlogg(settings_for(data_dir))
    try:
        assert_everything_reads(reopened, case_id, second)
        assert reopened.child_details(fourth).name == "Jonas Lie"
    finally:
        reopened.close()


def test_a_running_service_follows_a_master_rotation_without_a_restart(
    app: Stafettlogg, data_dir: Path, story: tuple[UUID, UUID]
) -> None:
    case_id, second = story
    settings = app.settings
    app.close()
    running = Stafettlogg(settings_for(data_dir))  # started before; caches no child key
    try:
        rotate_master(settings)
        # It opens keys wrapped under the new master key (reading the key file again)...
        assert_everything_reads(running, case_id, second)
        # ...and wraps the keys of new children under it.
        third = _third_case(running, "Siri Dahl")
    finally:
        running.close()
    reopened = Stafettlogg(settings_for(data_dir))
    try:
        assert reopened.child_details(third).name == "Siri Dahl"
    finally:
        reopened.close()


def test_store_rotation_seals_new_events_under_the_new_key_and_still_opens_the_old(
    app: Stafettlogg, data_dir: Path, backend: Backend, story: tuple[UUID, UUID]
) -> None:
    case_id, second = story
    settings = app.settings
    app.close()
    before = KeyFile.load(settings.key_file)
    running = Stafettlogg(settings_for(data_dir))  # a process not yet restarted
    try:
        rotate_store(settings)
        after = KeyFile.load(settings.key_file)
        assert after.store_cipher_key != before.store_cipher_key
        assert after.old_store_cipher_keys == (before.store_cipher_key,)
        restarted = Stafettlogg(settings_for(data_dir))
        try:
            assert_everything_reads(restarted, case_id, second)
            count = len(stored_events(backend, data_dir, second))
            restarted.add_entry(PER, second, kind="conversation", text="Etter byttet av nøkkel.")
        finally:
            restarted.close()
        # The new event is under the new key only...
        newest = stored_events(backend, data_dir, second)[count:]
        assert newest
        for _topic, state in newest:
            assert _opens_event(after.store_cipher_key, state)
            assert not _opens_event(before.store_cipher_key, state)
        # ...and the process still running with the old key file reads it.
        assert "Etter byttet av nøkkel." in {e.text for e in running.case_log(second)}
    finally:
        running.close()


def _opens_event(key: bytes, state: bytes) -> bool:
    try:
        AESGCM(key).decrypt(state[:12], state[28:] + state[12:28], None)
    except InvalidTag:
        return False
    return True


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)  # one process owns SQLite's files
def test_a_rotated_key_file_is_the_only_one_a_postgres_database_takes(
    app: Stafettlogg, data_dir: Path, backend: Backend, story: tuple[UUID, UUID]
) -> None:
    """On PostgreSQL several processes share the database: after a rotation of the
    event-store key, a process started with the old key file would write events the
    others cannot read, and it is refused."""
    settings = app.settings
    app.close()
    old = data_dir / "keys.before"
    shutil.copy(settings.key_file, old)
    rotate_store(settings)
    shutil.copy(old, settings.key_file)
    with pytest.raises(KeyFileError, match="ikke den databasen ble laget med"):
        Stafettlogg(settings_for(data_dir))


def test_index_rotation_keeps_every_lookup_and_indexes_new_values_with_the_new_key(
    app: Stafettlogg, data_dir: Path, story: tuple[UUID, UUID]
) -> None:
    case_id, second = story
    app.register_staff(ADMIN, staff_id="siv", name="Siv Holm", service="hauge-skole",
                       roles=["worker"], municipalities=["4225"], login_subject="12345", at=T0)
    settings = app.settings
    app.close()
    before = KeyFile.load(settings.key_file)
    rotate_index(settings)
    after = KeyFile.load(settings.key_file)
    assert after.index_key != before.index_key and after.old_index_keys == (before.index_key,)
    reopened = Stafettlogg(settings_for(data_dir))
    try:
        assert_everything_reads(reopened, case_id, second)
        # The same child registered again meets its old aggregate (the same child id).
        child = reopened.get_case(case_id).state.child_id
        again = reopened.open_case(
            PER, child_name=CHILD_NAME, concern="Ny bekymring.", birth_date=date(2020, 4, 17),
            national_id=NATIONAL_ID, at=T0,
        )
        assert reopened.get_case(again.id).state.child_id == child
        # A sign-in found by a login indexed before; the same login is not taken twice;
        # a login registered now is found under the new key.
        assert reopened.staff_by_login("12345").id == "siv"
        with pytest.raises(errors.InvalidValue, match="annen ansatt"):
            reopened.register_staff(ADMIN, staff_id="sol", name="Sol Vik", service="hauge-skole",
                                    roles=["worker"], municipalities=["4225"],
                                    login_subject="12345", at=T0)
        reopened.register_staff(ADMIN, staff_id="tor", name="Tor Aas", service="hauge-skole",
                                roles=["worker"], municipalities=["4225"],
                                login_subject="67890", at=T0)
        assert reopened.staff_by_login("67890").id == "tor"
        # A new child is indexed with the new key.
        third = _third_case(reopened, "Siri Dahl")
        assert reopened.get_case(third).state.child_id == BlindIndex(after.index_key).child_id(
            national_id=None, name="Siri Dahl", birth_date=date(2021, 1, 5))
    finally:
        reopened.close()


def test_the_command_rotates_and_says_what_it_did(tmp_path: Path) -> None:
    from tests.test_cli import run_cli

    data_dir = tmp_path / "var"
    missing = run_cli(data_dir, "keys", "rotate", "master")
    assert missing.returncode == 1 and "finnes ikke" in missing.stderr
    app = Stafettlogg(settings_for(data_dir))
    register_services(app)
    _second_case(app)
    app.close()
    before = KeyFile.load(data_dir / "keys.json")

    done = run_cli(data_dir, "keys", "rotate", "master", "--keep-old")
    assert done.returncode == 0, done.stderr
    assert "1 barnenøkler pakket inn på nytt" in done.stdout
    assert "lagt til side" in done.stdout
    assert KeyFile.load(data_dir / "keys.json").master_key != before.master_key
    for which in ("store", "index", "token"):
        rotated = run_cli(data_dir, "keys", "rotate", which)
        assert rotated.returncode == 0, rotated.stderr
    wrong = run_cli(data_dir, "keys", "rotate", "store", "--grace", "5")
    assert wrong.returncode == 2 and "--grace gjelder bare token" in wrong.stderr
    after = KeyFile.load(data_dir / "keys.json")
    assert after.old_store_cipher_keys == (before.store_cipher_key,)
    assert after.old_index_keys == (before.index_key,)
    assert after.token_secret != before.token_secret
    app = Stafettlogg(settings_for(data_dir))
    try:
        assert [c.name for c in map(app.child_details, _case_ids(app))] == [SECOND_CHILD]
    finally:
        app.close()


def _case_ids(app: Stafettlogg) -> list[UUID]:
    app.read_models.catch_up()
    return [UUID(row[0]) for row in app.read_models.views.read(
        "SELECT case_id FROM cv_cases", ())]
