"""What is stored, and how: an encrypted store (a SQLite file, or PostgreSQL) that
survives a restart, keeps personal data sealed under the child's key, and loses
nothing to a concurrent writer. Every test runs on both backends."""

from __future__ import annotations

import sqlite3
import threading
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import msgspec
import pytest
from eventsourcing.cryptography import AESCipher
from eventsourcing.utils import Environment

from domain import errors
from domain.case import Case
from stafettlogg.application import SHREDDED, Stafettlogg
from stafettlogg.keys import KeyFileError, KeyShredded
from stafettlogg.mapper import decode_event
from tests.conftest import KARI, PER, T0, Backend, settings_for

CHILD_NAME = "Ingrid Solheim Aasen"
NATIONAL_ID = "02013299997"
CONCERN = "Ingrid har virket stille og lei seg i flere uker."


def open_story(app: Stafettlogg) -> Case:
    """A kindergarten opens a case, decides, gets consent, and hands over to the school."""
    case = app.open_case(
        KARI, child_name=CHILD_NAME, concern=CONCERN,
        birth_date=date(2020, 4, 17), national_id=NATIONAL_ID, at=T0,
    )
    app.record_level0_step(KARI, case.id, step="beslutning", text="Vi går videre til nivå 1.")
    app.change_level(KARI, case.id, level=1, reason="Tiltak i barnehagen sammen med foreldrene.")
    app.register_consent(
        KARI, case.id, given_by="guardian", services=["hauge-skole", "ppt-lister"],
        purpose="Overgang barnehage-skole", valid_until=date(2027, 6, 30), form="written",
    )
    handover = app.request_handover(KARI, case.id, to_user="per", to_service="hauge-skole").result
    app.accept_handover(PER, case.id, handover)
    return app.get_case(case.id)


# Every free-text and personal field a case can hold, each with a text of its own.
FREE_TEXTS = {
    "concern": CONCERN,
    "level0-step": "Vi går videre til nivå 1.",
    "level-change": "Tiltak i barnehagen sammen med foreldrene.",
    "consent purpose": "Overgang barnehage-skole",
    "entry": "Samtale med mor om søvnen hjemme.",
    "child_view": "Ingrid vil at læreren skal vite at hun gruer seg.",
    "second consent purpose": "Kontakt med helsestasjonen om søvn",
    "withdrawal": "Mor vil ikke lenger at helsestasjonen er med.",
    "declined handover": "Vi har ikke kapasitet før over jul.",
    "returned handover note": "Kan barnehagen ta stafetten tilbake i høst?",
    "minutes": "Møtet ble enige om ukentlige samtaler med Ingrid.",
    "action": "Ukentlig samtale med kontaktlærer.",
    "evaluation": "Samtalene har hjulpet, Ingrid sover bedre.",
    "closing note": "Bekymringen er løst etter et halvt år.",
}
GUARDIAN_NAME, GUARDIAN_NUMBER = "Mona Foresattesen", "02013299997"
PERSONAL = [CHILD_NAME, NATIONAL_ID, "2020-04-17", GUARDIAN_NAME, GUARDIAN_NUMBER]


def every_field_story(app: Stafettlogg) -> Case:
    """The story above, then every other step that holds free text, to its close."""
    case = open_story(app)
    t = FREE_TEXTS
    app.add_entry(PER, case.id, kind="conversation", text=t["entry"])
    app.register_consent(
        PER, case.id, given_by="guardian", services=["hs-lyngdal"],
        purpose=t["second consent purpose"], valid_until=date(2027, 6, 30), form="oral",
        child_view=t["child_view"],
    )
    consent = next(
        i for i, c in app.get_case(case.id).state.consents.items()
        if "hs-lyngdal" in c.services
    )
    app.withdraw_consent(PER, case.id, consent, reason=t["withdrawal"])
    app.record_guardian(PER, case.id, name=GUARDIAN_NAME, relation="mother",
                        national_id=GUARDIAN_NUMBER)
    back = app.request_handover(
        PER, case.id, to_user="kari", to_service="bhg-solsikken", note=t["returned handover note"],
    ).result
    app.decline_handover(KARI, case.id, back, reason=t["declined handover"])
    app.hold_meeting(
        PER, case.id, held_on=T0.date(), services=["hauge-skole", "bhg-solsikken"],
        minutes=t["minutes"],
    )
    action = app.agree_action(
        PER, case.id, description=t["action"], responsible_service="hauge-skole",
        evaluate_by=date(2026, 6, 1),
    ).result
    app.evaluate_action(PER, case.id, action, outcome="completed", text=t["evaluation"])
    app.close_case(PER, case.id, reason="concern-resolved", note=t["closing note"])
    return app.get_case(case.id)


def sealed_fields(app: Stafettlogg, case: Case) -> list[str]:
    """Every sealed field of the case's stored events, opened with the child's key."""
    opened = []
    for event in app.events.get(case.id):
        for name in event.__struct_fields__:
            value = getattr(event, name)
            if isinstance(value, bytes):
                opened.append(app.sealer.open(case.state.child_id, value))
    return opened


def raw_bytes(data_dir: Path) -> bytes:
    """Everything SQLite wrote under the data dir, WAL files included."""
    return b"".join(p.read_bytes() for p in sorted(data_dir.iterdir()) if p.is_file())


def stored_bytes(backend: Backend, data_dir: Path) -> bytes:
    """Everything the service stored: the files under the data dir and, on PostgreSQL,
    every value of every table in the test's schema."""
    everything = [raw_bytes(data_dir)]
    if backend.schema is not None:
        with backend.connect() as conn:
            tables = [r[0] for r in conn.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = %s",
                (backend.schema,),
            )]
            assert "stafettlogg_events" in tables
            for table in tables:
                for row in conn.execute(f'SELECT * FROM "{table}"'):  # noqa: S608
                    everything += [
                        bytes(v) if isinstance(v, (bytes, memoryview)) else str(v).encode()
                        for v in row
                    ]
    return b"".join(everything)


def stored_events(backend: Backend, data_dir: Path, case_id: Any) -> list[tuple[str, bytes]]:
    """(topic, state) of a case's events as the recorder stored them."""
    if backend.schema is None:
        return sqlite3.connect(data_dir / "stafettlogg.sqlite3").execute(
            "SELECT topic, state FROM stored_events WHERE originator_id = ?", (case_id.hex,)
        ).fetchall()
    with backend.connect() as conn:
        return [(t, bytes(s)) for t, s in conn.execute(
            "SELECT topic, state FROM stafettlogg_events WHERE originator_id = %s", (case_id,)
        )]


def test_a_case_survives_a_restart_of_the_encrypted_store(app: Stafettlogg, data_dir: Path):
    case = open_story(app)
    app.close()

    reopened = Stafettlogg(settings_for(data_dir))
    try:
        again = reopened.get_case(case.id)
        assert again.version == case.version
        assert again.state.holder_user == "per"
        assert again.state.level == 1
        assert reopened.child_details(case.id).name == CHILD_NAME
        assert [e.kind for e in reopened.case_log(case.id)][-2:] == [
            "handover-requested",
            "handover-accepted",
        ]
    finally:
        reopened.close()


def test_the_store_cannot_be_read_without_its_key(
    app: Stafettlogg, data_dir: Path, backend: Backend
):
    case = open_story(app)
    app.close()
    (data_dir / "keys.json").rename(data_dir / "keys.moved")  # a new, different key file

    if backend.name == "postgres":
        # Processes share the database: one with a key file of its own is refused at
        # start, before it could write events that no other process can read.
        with pytest.raises(KeyFileError, match="ikke den databasen ble laget med"):
            Stafettlogg(settings_for(data_dir))
        return
    # The children's key store knows the master key its keys are wrapped under: a
    # stranger's key file is refused at start.
    with pytest.raises(KeyFileError, match="har ikke hovednøkkelen"):
        Stafettlogg(settings_for(data_dir))
    # And without the key store's check the events still cannot be read.
    (data_dir / "child-keys.sqlite3").unlink()
    stranger = Stafettlogg(settings_for(data_dir))
    try:
        with pytest.raises(Exception, match="could not read stored event"):
            stranger.get_case(case.id)
    finally:
        stranger.close()


def test_personal_data_and_free_text_never_stand_in_clear_in_the_files(
    app: Stafettlogg, data_dir: Path, backend: Backend
):
    every_field_story(app)
    app.close()
    everything = stored_bytes(backend, data_dir)
    for secret in ["Ingrid", *PERSONAL, *FREE_TEXTS.values()]:
        assert secret.encode() not in everything, secret


def test_under_the_store_cipher_personal_fields_are_still_sealed(
    app: Stafettlogg, data_dir: Path, backend: Backend
):
    """Even someone holding the event-store key sees only ciphertext of the child."""
    case = every_field_story(app)
    cipher = AESCipher(Environment(env={"CIPHER_KEY": app.keys.store_cipher_key_b64}))
    rows = stored_events(backend, data_dir, case.id)
    assert rows, "the case's events are in the events table"
    import zlib

    plain = b"".join(zlib.decompress(cipher.decrypt(state)) for _, state in rows)
    assert b"4225" in plain  # statistics fields stay usable
    assert b"barnehage" in plain
    for secret in [*PERSONAL, *FREE_TEXTS.values()]:
        assert secret.encode() not in plain, secret


def test_every_free_text_and_personal_field_is_sealed_under_the_child_s_key(app: Stafettlogg):
    case = every_field_story(app)
    assert sorted(sealed_fields(app, case)) == sorted([*PERSONAL, *FREE_TEXTS.values()])


def test_forgetting_the_child_makes_its_data_unreadable_everywhere(app: Stafettlogg):
    case = every_field_story(app)
    app.forget_child(case.id)
    for event in app.events.get(case.id):
        for name in event.__struct_fields__:
            value = getattr(event, name)
            if isinstance(value, bytes):
                with pytest.raises(KeyShredded):
                    app.sealer.open(case.state.child_id, value)
            else:  # nothing personal stands beside the sealed fields
                assert not any(s in str(value) for s in [*PERSONAL, *FREE_TEXTS.values()])
    details = app.child_details(case.id)
    assert msgspec.structs.asdict(details) == {
        "name": SHREDDED, "birth_date": SHREDDED, "national_id": SHREDDED, "concern": SHREDDED,
    }
    assert {e.text for e in app.case_log(case.id) if e.text is not None} == {SHREDDED}
    # The case itself, and what statistics need, is still there.
    assert app.get_case(case.id).state.municipality == "4225"


def test_an_invalid_national_identity_number_is_refused_and_nothing_is_stored(
    app: Stafettlogg,
):
    with pytest.raises(errors.InvalidValue) as refused:
        app.open_case(KARI, child_name="Per Hansen", concern="Uro", national_id="02013299998")
    assert refused.value.field == "child.national_id"
    assert "kontrollsifre" in refused.value.message
    assert "02013299998" not in refused.value.message
    assert list(app.case_ids()) == []


def test_a_2032_style_identity_number_is_accepted(app: Stafettlogg):
    case = app.open_case(KARI, child_name="Nora", concern="Uro", national_id="30108299939")
    assert app.child_details(case.id).national_id == "30108299939"


def test_the_same_child_cannot_get_a_second_open_case_even_from_another_service(
    app: Stafettlogg,
):
    app.open_case(KARI, child_name="Ingrid", concern="Uro", national_id=NATIONAL_ID)
    with pytest.raises(errors.OpenCaseExists):
        app.open_case(PER, child_name="Ingrid S. Aasen", concern="Fravær", national_id=NATIONAL_ID)
    assert len(list(app.case_ids())) == 1


def test_two_writers_on_one_case_one_wins_and_nothing_recorded_is_lost(app: Stafettlogg):
    case = open_story(app)
    first = app.get_case(case.id)
    second = app.get_case(case.id)
    seal = app.sealer.seal
    first.add_entry(
        PER, kind="observation", text=seal(case.state.child_id, "først"), at=T0 + timedelta(hours=1)
    )
    second.add_entry(
        PER, kind="note", text=seal(case.state.child_id, "sist"), at=T0 + timedelta(hours=1)
    )

    app.save(first)
    with pytest.raises(Exception) as lost:
        app.uow.save(second)
    assert isinstance(lost.value, errors.ConcurrentModification)
    assert lost.value.code == "concurrent-modification"

    stored = app.get_case(case.id)
    assert stored.version == case.version + 1
    log = app.case_log(case.id)
    assert [e.text for e in log if e.kind in ("observation", "note")] == ["først"]


class Resent:
    """The same events offered to the store a second time, as the store's own retry
    does when the connection broke after the commit but before its answer."""

    def __init__(self, events: list[Any]) -> None:
        self.events = events
        self.id = events[0].originator_id

    @property
    def pending_events(self) -> list[Any]:
        return list(self.events)

    def collect_events(self) -> list[Any]:
        return list(self.events)


def test_a_write_committed_before_its_answer_was_lost_is_stored_once(app: Stafettlogg):
    case = open_story(app)
    mine = app.get_case(case.id)
    mine.add_entry(PER, kind="observation", text=app.sealer.seal(case.state.child_id, "én gang"),
                   at=T0 + timedelta(hours=1))
    events = mine.pending_events
    app.uow.save(mine)
    app.uow.save(Resent(events))  # found stored already: not an error, not a second entry
    log = app.case_log(case.id)
    assert [e.text for e in log if e.kind == "observation"] == ["én gang"]
    # Someone else's events at that version are still a concurrent modification.
    other = app.case_at(case.id, case.version)
    other.add_entry(PER, kind="note", text=app.sealer.seal(case.state.child_id, "annen"),
                    at=T0 + timedelta(hours=1))
    with pytest.raises(errors.ConcurrentModification):
        app.uow.save(Resent(other.pending_events))


def test_concurrent_commands_from_threads_lose_no_acknowledged_entry(app: Stafettlogg):
    """Many workers write at once: every entry the service acknowledged is in the log once."""
    case = open_story(app)
    acknowledged: list[str] = []
    refused: list[str] = []
    lock = threading.Lock()

    def write(n: int) -> None:
        text = f"innføring nummer {n}"
        try:
            app.add_entry(PER, case.id, kind="note", text=text)
        except errors.ConcurrentModification:
            with lock:
                refused.append(text)
        else:
            with lock:
                acknowledged.append(text)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(24)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    logged = [e.text for e in app.case_log(case.id) if e.kind == "note"]
    assert sorted(logged) == sorted(acknowledged)
    assert len(acknowledged) + len(refused) == 24
    assert acknowledged, "at least one writer wins"


def test_a_long_case_is_loaded_from_a_snapshot(data_dir: Path):
    from tests.conftest import register_services

    app = Stafettlogg(settings_for(data_dir, STAFETTLOGG_SNAPSHOT_INTERVAL="10"))
    try:
        register_services(app)
        case = app.open_case(KARI, child_name="Lang Sak", concern="Mange notater", at=T0)
        for n in range(25):
            app.add_entry(KARI, case.id, kind="note", text=f"notat {n}", at=T0)
        snapshots = list(app.snapshots.get(case.id, desc=True, limit=1))
        assert snapshots and snapshots[0].originator_version == 20
        app.repository.cache = None  # load from the store, not from memory
        loaded = app.get_case(case.id)
        assert loaded.version == 26
        assert len(loaded.state.entries) == 25
    finally:
        app.close()


def test_events_are_decoded_with_strict_types(app: Stafettlogg):
    """A stored event whose field breaks its type is refused, not half-read."""
    case = open_story(app)
    event = next(iter(app.events.get(case.id, gt=2, lte=3)))
    assert type(event).__name__ == "LevelChanged"
    state = msgspec.json.decode(msgspec.json.encode(event))
    state["to_level"] = 7
    with pytest.raises(msgspec.ValidationError, match="to_level"):
        decode_event("LevelChanged@1", msgspec.json.encode(state))
