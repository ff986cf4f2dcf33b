"""Notices by e-mail, through the application and a real SMTP server on 127.0.0.1
(aiosmtpd, tests/smtp_server.py), on both backends: what is sent to whom, that it says
nothing about the child, exactly once (also across a crash, with the same Message-ID),
retries with growing pauses, the choices (at once, a daily digest, off), the guardians'
opt-in, and the time-based notices as the days pass on the service's clock."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timedelta
from pathlib import Path
from uuid import UUID

import pytest

from domain import errors
from stafettlogg.application import Stafettlogg
from domain.calendar import NORWAY
from stafettlogg.notices import MAX_ATTEMPTS
from stafettlogg.settings import Settings, SettingsError
from tests.conftest import ADMIN, KARI, PER, T0, MovableClock, register_services, settings_for
from tests.stores import env_for
from tests.smtp_server import Mailbox, smtp_env, smtp_server

EMAILS = {"kari": "kari@solsikken.no", "per": "per@hauge.skole.no"}
CHILD = "Emil Strand"
CONCERN = "Emil er urolig og sover dårlig."
NOTE = "Emil trenger en rolig overgang til skolen."
MOTHER = "02013299997"
FATHER = "30108299920"
MONA = "mona@example.no"


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    with smtp_server() as running:
        yield running


def open_app(data_dir: Path, clock: MovableClock, mailbox: Mailbox | None) -> Stafettlogg:
    extra = smtp_env(mailbox) if mailbox is not None else {}
    return Stafettlogg(settings_for(data_dir, **extra), clock=clock)


def staffed(application: Stafettlogg) -> Stafettlogg:
    """The services and people of the tests, with Kari's and Per's e-mail addresses."""
    register_services(application)
    for staff_id, address in EMAILS.items():
        application.change_staff(ADMIN, staff_id, email=address, at=T0)
    return application


@pytest.fixture
def app(data_dir: Path, clock: MovableClock, mailbox: Mailbox) -> Iterator[Stafettlogg]:
    application = staffed(open_app(data_dir, clock, mailbox))
    yield application
    application.close()


def shared_case(app: Stafettlogg, valid_until: date | None = None,
                born: date = date(2020, 5, 1)) -> UUID:
    case = app.open_case(KARI, child_name=CHILD, concern=CONCERN, birth_date=born)
    app.record_level0_step(KARI, case.id, step="beslutning", text="Vi deler med skolen.")
    app.register_consent(
        KARI, case.id, given_by="guardian", services=["hauge-skole"],
        purpose="Overgang til skolen", valid_until=valid_until or date(2027, 6, 30),
        form="written")
    return case.id


def assert_says_nothing_of_the_child(mailbox: Mailbox, case_id: UUID, *texts: str) -> None:
    for message in mailbox.messages:
        whole = mailbox.text(message)
        for secret in (CHILD, "Emil", "Strand", CONCERN, NOTE, str(case_id), *texts):
            assert secret not in whole, (secret, whole)


def outbox(app: Stafettlogg) -> list[tuple[str, str, str, int]]:
    return [tuple(r) for r in app.read_models.views.read(  # type: ignore[misc]
        "SELECT person, kind, status, attempts FROM nt_outbox ORDER BY created_at, id")]


# --- staff: the handover -------------------------------------------------------------


def test_a_handover_request_mails_the_recipient_once_and_says_nothing_of_the_child(
    app: Stafettlogg, mailbox: Mailbox,
) -> None:
    case_id = shared_case(app)
    app.request_handover(KARI, case_id, to_user="per", to_service="hauge-skole", note=NOTE)

    assert app.notices.run_once() == 1
    assert app.notices.run_once() == 0

    (message,) = mailbox.messages
    assert message["To"] == EMAILS["per"]
    assert message["From"] == "Stafettlogg <varsel@lyngdal.kommune.no>"
    assert message["Subject"] == "En stafettpinne venter på deg"
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["Message-ID"].endswith("@lyngdal.kommune.no>")
    assert message["Date"]
    assert message["List-Unsubscribe"] == "<https://stafettlogg.lyngdal.kommune.no/varsler>"
    body = message.get_body(preferencelist=("plain",)).get_content().replace("\r\n", "\n")
    assert "https://stafettlogg.lyngdal.kommune.no/saker" in body
    assert "https://stafettlogg.lyngdal.kommune.no/varsler" in body
    assert_says_nothing_of_the_child(mailbox, case_id)


def test_a_rebuild_of_the_views_queues_nothing_again(app: Stafettlogg, mailbox: Mailbox) -> None:
    case_id = shared_case(app)
    app.request_handover(KARI, case_id, to_user="per", to_service="hauge-skole")
    app.notices.run_once()
    app.read_models.rebuild("outbox")
    app.read_models.rebuild()
    app.notices.run_once()
    assert len(mailbox.messages) == 1
    assert [status for _, _, status, _ in outbox(app)] == ["sent"]


def test_two_senders_on_one_store_send_a_notice_once(
    app: Stafettlogg, mailbox: Mailbox, clock: MovableClock, data_dir: Path,
) -> None:
    """Two processes' senders (two applications on the same store) at the same time."""
    other = open_app(data_dir, clock, mailbox)
    try:
        for born in (date(2020, 5, 1), date(2021, 2, 3), date(2019, 8, 9)):
            case_id = shared_case(app, born=born)
            app.request_handover(KARI, case_id, to_user="per", to_service="hauge-skole")
        with ThreadPoolExecutor(2) as pool:
            sent = list(pool.map(lambda a: a.notices.run_once(), [app, other]))
        assert sum(sent) == 3
        assert len(mailbox.messages) == 3
        assert len({m["Message-ID"] for m in mailbox.messages}) == 3
    finally:
        other.close()


def test_accepted_and_declined_go_to_the_one_who_asked(app: Stafettlogg, mailbox: Mailbox) -> None:
    first = shared_case(app)
    handover = app.request_handover(KARI, first, to_user="per", to_service="hauge-skole").result
    app.decline_handover(PER, first, handover, reason="Vi har ikke kapasitet nå.")
    handover = app.request_handover(KARI, first, to_user="per", to_service="hauge-skole").result
    app.accept_handover(PER, first, handover)

    app.notices.run_once()

    to_kari = [m["Subject"] for m in mailbox.to(EMAILS["kari"])]
    assert to_kari == ["Overføringen er avslått", "Overføringen er godtatt"]
    assert len(mailbox.to(EMAILS["per"])) == 2  # two batons waited for him
    assert_says_nothing_of_the_child(mailbox, first, "kapasitet")


def test_a_crash_between_sending_and_marking_sends_again_with_the_same_message_id(
    app: Stafettlogg, mailbox: Mailbox, clock: MovableClock,
) -> None:
    case_id = shared_case(app)
    app.request_handover(KARI, case_id, to_user="per", to_service="hauge-skole")

    def crash() -> None:
        raise RuntimeError("the process died here")

    app.notices._after_send = crash
    with pytest.raises(RuntimeError):
        app.notices.run_once()
    app.notices._after_send = None
    assert len(mailbox.messages) == 1
    # Still claimed by the sender that died: not sent twice at once ...
    assert app.notices.run_once() == 0
    # ... but once its claim has run out, sent again, with the same Message-ID.
    clock.now += timedelta(minutes=6)
    assert app.notices.run_once() == 1
    first, again = mailbox.messages
    assert first["Message-ID"] == again["Message-ID"]
    assert [status for _, _, status, _ in outbox(app)] == ["sent"]
    clock.now += timedelta(hours=1)
    assert app.notices.run_once() == 0


def test_kill_9_between_sending_and_marking_sends_that_notice_again_and_no_other(
    app: Stafettlogg, mailbox: Mailbox, clock: MovableClock, data_dir: Path,
) -> None:
    """A real process is killed with SIGKILL right after the server took the first of
    two notices; after a restart the first arrives again with the same Message-ID, the
    second arrives once."""
    case_id = shared_case(app)
    handover = app.request_handover(KARI, case_id, to_user="per",
                                    to_service="hauge-skole").result
    app.decline_handover(PER, case_id, handover, reason="Ikke min klasse.")
    app.read_models.catch_up()
    assert len(outbox(app)) == 2
    env = env_for(data_dir, **smtp_env(mailbox))
    died = subprocess.run(
        [sys.executable, "-m", "tests.notice_crash", json.dumps(env), clock.now.isoformat()],
        cwd=Path(__file__).parent.parent, capture_output=True, text=True, timeout=120)
    assert died.returncode == -signal.SIGKILL, died.stderr
    assert len(mailbox.messages) == 1
    first_id = mailbox.messages[0]["Message-ID"]

    clock.now += timedelta(minutes=6)  # the dead process's claim has run out
    assert app.notices.run_once() == 2
    ids = [m["Message-ID"] for m in mailbox.messages]
    assert ids.count(first_id) == 2
    assert len(ids) == 3 and len(set(ids)) == 2
    assert [status for _, _, status, _ in outbox(app)] == ["sent", "sent"]
    clock.now += timedelta(hours=1)
    assert app.notices.run_once() == 0


@pytest.mark.parametrize("security", ["starttls", "tls"])
@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_over_tls_the_server_s_certificate_is_checked_and_the_login_used(
    security: str, data_dir: Path, clock: MovableClock, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """STARTTLS on the submission port, or TLS from the first byte, with a login: a
    server whose certificate the machine does not trust gets nothing (the notice waits,
    the error says why); once its authority is trusted (SSL_CERT_FILE, as for any
    internal certificate authority), the notice goes, over TLS, after the login."""
    login = ("varsel", "et-langt-passord")
    with smtp_server(security, tmp_path, login) as server:
        app = staffed(open_app(data_dir, clock, server))
        try:
            case_id = shared_case(app)
            app.request_handover(KARI, case_id, to_user="per", to_service="hauge-skole")
            assert app.notices.run_once() == 0
            (row,) = app.notices.troubled()
            assert (row.status, row.last_error) == ("waiting", "SSLCertVerificationError")
            assert server.messages == [] and server.logged_in == []

            monkeypatch.setenv("SSL_CERT_FILE", str(server.ca_file))
            clock.now += timedelta(minutes=1)
            assert app.notices.run_once() == 1
            assert server.logged_in == ["varsel"]
            (message,) = server.to(EMAILS["per"])
            assert message["Subject"] == "En stafettpinne venter på deg"
        finally:
            app.close()


def test_a_refusing_server_is_tried_again_with_growing_pauses_then_shows_for_the_admin(
    app: Stafettlogg, mailbox: Mailbox, clock: MovableClock,
) -> None:
    case_id = shared_case(app)
    app.request_handover(KARI, case_id, to_user="per", to_service="hauge-skole")
    mailbox.refuse = 451
    start = clock.now
    tried_at = []
    for _ in range(MAX_ATTEMPTS):
        before = mailbox.tries
        app.notices.run_once()
        if mailbox.tries > before:
            tried_at.append(clock.now)
        # Nothing is tried again before its pause is over.
        before = mailbox.tries
        app.notices.run_once()
        assert mailbox.tries == before
        (row,) = app.notices.troubled()
        clock.now = max(clock.now, datetime.fromisoformat(row.due_at + "+00:00"))
    pauses = [b - a for a, b in zip(tried_at, tried_at[1:])]
    assert len(tried_at) == MAX_ATTEMPTS
    assert pauses == sorted(pauses) and pauses[0] == timedelta(minutes=1)
    assert pauses[1] == timedelta(minutes=2) and pauses[2] == timedelta(minutes=4)
    (row,) = app.notices.troubled()
    assert (row.status, row.attempts, row.last_error) == (
        "failed", MAX_ATTEMPTS, "SMTPRecipientsRefused 451")
    assert row.recipient == "per"
    assert mailbox.messages == []
    assert clock.now - start < timedelta(days=1)

    # The server takes mail again; the admin tries the notice again.
    mailbox.refuse = None
    assert app.notices.retry(row.id, clock.now)
    assert app.notices.run_once() == 1
    assert app.notices.troubled() == []


def test_a_server_that_is_down_is_tried_again(
    app: Stafettlogg, mailbox: Mailbox, clock: MovableClock,
) -> None:
    case_id = shared_case(app)
    app.request_handover(KARI, case_id, to_user="per", to_service="hauge-skole")
    mailbox.stop()
    assert app.notices.run_once() == 0
    (row,) = app.notices.troubled()
    assert (row.status, row.attempts, row.last_error) == ("waiting", 1, "ConnectionRefusedError")
    mailbox.start()
    clock.now += timedelta(minutes=1)
    assert app.notices.run_once() == 1
    assert len(mailbox.messages) == 1


def test_a_refused_recipient_550_is_counted_too(
    app: Stafettlogg, mailbox: Mailbox,
) -> None:
    case_id = shared_case(app)
    app.request_handover(KARI, case_id, to_user="per", to_service="hauge-skole")
    mailbox.refuse = 550
    app.notices.run_once()
    (row,) = app.notices.troubled()
    assert (row.attempts, row.last_error) == (1, "SMTPRecipientsRefused 550")


def test_no_address_in_the_directory_fails_at_once(app: Stafettlogg, mailbox: Mailbox) -> None:
    case_id = shared_case(app)
    app.change_staff(ADMIN, "per", email=None)
    app.request_handover(KARI, case_id, to_user="per", to_service="hauge-skole")
    app.notices.run_once()
    (row,) = app.notices.troubled()
    assert (row.status, row.last_error) == ("failed", "ingen e-postadresse")


# --- the choices ----------------------------------------------------------------------


def test_off_sends_nothing(app: Stafettlogg, mailbox: Mailbox) -> None:
    app.choose_staff_notices(PER, "off")
    assert app.staff_notices(PER).choice == "off"
    case_id = shared_case(app)
    app.request_handover(KARI, case_id, to_user="per", to_service="hauge-skole")
    app.notices.run_once()
    assert mailbox.messages == []
    assert outbox(app) == []


def test_a_digest_is_one_message_a_day_with_counts_only(
    app: Stafettlogg, mailbox: Mailbox, clock: MovableClock,
) -> None:
    app.choose_staff_notices(PER, "digest")
    for born in (date(2020, 5, 1), date(2021, 2, 3)):  # two children
        case_id = shared_case(app, born=born)
        app.request_handover(KARI, case_id, to_user="per", to_service="hauge-skole", note=NOTE)
    app.notices.run_once()
    assert mailbox.messages == []  # after today's digest hour: tomorrow's digest

    local = clock.now.astimezone(NORWAY)
    clock.now = datetime.combine(local.date() + timedelta(days=1),
                                 datetime.min.time().replace(hour=7, minute=30), tzinfo=NORWAY)
    app.notices.run_once()
    app.notices.run_once()
    (digest,) = mailbox.messages
    assert digest["To"] == EMAILS["per"]
    assert digest["Subject"] == "Dagens oversikt fra Stafettlogg"
    body = digest.get_body(preferencelist=("plain",)).get_content().replace("\r\n", "\n")
    assert "Stafettpinner som venter på deg: 2" in body
    assert_says_nothing_of_the_child(mailbox, case_id)
    clock.now += timedelta(hours=3)
    assert app.notices.run_once() == 0


def test_a_choice_must_be_one_of_the_three(app: Stafettlogg) -> None:
    with pytest.raises(errors.InvalidValue) as refused:
        app.choose_staff_notices(PER, "hourly")
    assert refused.value.field == "choice"


# --- guardians ------------------------------------------------------------------------


def test_guardians_hear_only_when_opted_in_and_only_of_what_they_may_see(
    app: Stafettlogg, mailbox: Mailbox, clock: MovableClock,
) -> None:
    case_id = shared_case(app, born=date(2012, 5, 1))  # 13: may ask to keep things back
    app.record_guardian(KARI, case_id, name="Mona Strand", relation="mother", national_id=MOTHER)
    app.record_guardian(KARI, case_id, name="Ola Strand", relation="father", national_id=FATHER)
    mona = app.family_person(MOTHER)
    with pytest.raises(errors.InvalidValue) as refused:
        app.choose_guardian_notices(mona, "now", "ikke-en-adresse")
    assert refused.value.field == "email"
    app.choose_guardian_notices(mona, "now", MONA)
    app.choose_guardian_notices(app.family_person(FATHER), "off", None)
    assert app.guardian_notices(mona).email == MONA

    entry = app.add_entry(KARI, case_id, kind="conversation", text=NOTE).result
    app.add_entry(KARI, case_id, kind="note", text="Enda en ting.")  # one waiting per case
    app.notices.run_once()
    assert mailbox.messages == []  # a family notice waits half an hour
    clock.now += timedelta(minutes=30)
    app.notices.run_once()
    (message,) = mailbox.messages
    assert message["To"] == MONA
    assert message["Subject"] == "Det er nytt i stafettloggen"
    body = message.get_body(preferencelist=("plain",)).get_content().replace("\r\n", "\n")
    assert body.startswith("Det er nytt i stafettloggen.\n\n"
                           "https://stafettlogg.lyngdal.kommune.no/familie\n")
    assert "https://stafettlogg.lyngdal.kommune.no/familie/varsler" in body
    assert message["List-Unsubscribe"] == (
        "<https://stafettlogg.lyngdal.kommune.no/familie/varsler>")
    assert_says_nothing_of_the_child(mailbox, case_id, "Mona", "Ola", "Enda en ting")

    # What is kept from the guardians is no news to them; nor what Mona did herself.
    app.withhold_entry(KARI, case_id, entry, reason="Emil ba om det.")
    app.family_note(mona, case_id, text="Takk for samtalen.")
    clock.now += timedelta(minutes=35)
    app.notices.run_once()
    assert len(mailbox.messages) == 1

    # Mona says no more: nothing from now on, and her address is forgotten.
    app.choose_guardian_notices(mona, "off", None)
    assert app.guardian_notices(mona).email is None
    app.add_entry(KARI, case_id, kind="note", text="Ny informasjon.")
    app.notices.run_once()
    assert len(mailbox.messages) == 1


def test_an_entry_kept_from_the_guardians_soon_after_it_is_written_sends_them_nothing(
    app: Stafettlogg, mailbox: Mailbox, clock: MovableClock,
) -> None:
    """Emil (13) asks that what he told is kept from his mother; Kari marks it ten
    minutes later. Mona's "something new" would point at it: it is never sent. When
    the case also has news she may see, she hears of that."""
    case_id = shared_case(app, born=date(2012, 5, 1))
    app.record_guardian(KARI, case_id, name="Mona Strand", relation="mother", national_id=MOTHER)
    mona = app.family_person(MOTHER)
    app.choose_guardian_notices(mona, "now", MONA)

    told = app.add_entry(KARI, case_id, kind="conversation", text=NOTE).result
    clock.now += timedelta(minutes=10)
    app.withhold_entry(KARI, case_id, told, reason="Emil ba om det.")
    clock.now += timedelta(hours=1)
    app.notices.run_once()
    assert mailbox.messages == []
    assert [(kind, status) for _, kind, status, _ in outbox(app)] == [("family-new", "dropped")]

    # Another entry kept back, but with a meeting beside it: the meeting is news to her.
    told = app.add_entry(KARI, case_id, kind="conversation", text="Mer fra Emil.").result
    app.hold_meeting(KARI, case_id, held_on=clock.now.date(), services=["bhg-solsikken"],
                     minutes="Vi møttes.")
    app.withhold_entry(KARI, case_id, told, reason="Emil ba om det.")
    clock.now += timedelta(hours=1)
    app.notices.run_once()
    assert [m["To"] for m in mailbox.messages] == [MONA]


def test_a_guardian_s_address_is_sealed_in_the_events(app: Stafettlogg) -> None:
    app.choose_guardian_notices(app.family_person(MOTHER), "digest", MONA)
    stored = b"".join(n.state for n in app.recorder.select_notifications(1, 10_000))
    assert MONA.encode() not in stored
    assert b"mona" not in stored


# --- the time-based notices -------------------------------------------------------------


def test_consent_and_action_notices_fire_once_at_14_and_3_days_and_when_overdue(
    app: Stafettlogg, mailbox: Mailbox, clock: MovableClock, data_dir: Path,
) -> None:
    last_day = T0.date() + timedelta(days=20)
    case_id = shared_case(app, valid_until=last_day)
    app.add_participant(KARI, case_id, service="hauge-skole")
    app.agree_action(KARI, case_id, description="Samtaler hver uke.",
                     responsible_service="bhg-solsikken", evaluate_by=T0.date() + timedelta(days=5))

    def day(on: Stafettlogg) -> None:
        """A day on the service: the nightly sweep, then a round of sending."""
        on.sweep.run_if_due()
        on.notices.run_once()

    def subjects() -> list[str]:
        return [m["Subject"] for m in mailbox.to(EMAILS["kari"])]

    day(app)
    assert subjects() == []
    clock.now += timedelta(days=6)  # the action is overdue; 14 days left of the consent
    day(app)
    assert sorted(subjects()) == ["Et samtykke går ut om to uker", "Et tiltak skulle vært evaluert"]
    clock.now += timedelta(days=1)
    day(app)
    assert len(subjects()) == 2
    clock.now = datetime.combine(last_day - timedelta(days=3), T0.timetz())
    day(app)
    assert subjects()[-1] == "Et samtykke går ut om tre dager"

    # Again after a restart: nothing is queued twice.
    app.close()
    again = open_app(data_dir, clock, mailbox)
    try:
        day(again)
        assert len(mailbox.to(EMAILS["kari"])) == 3
        # The day after the last day: the expiry is recorded on schedule, and the school
        # is no longer in the case, though nobody touched it.
        clock.now = datetime.combine(last_day + timedelta(days=1), T0.timetz())
        day(again)
        case = again.get_case(case_id)
        assert [c.status for c in case.state.consents.values()] == ["expired"]
        assert "hauge-skole" not in {p for p in case.state.participants}
        assert len(mailbox.to(EMAILS["kari"])) == 3
        assert_says_nothing_of_the_child(mailbox, case_id, "Samtaler hver uke")
    finally:
        again.close()
        app.__dict__["close"] = lambda: None  # closed above


# --- without a host ---------------------------------------------------------------------


def test_without_an_smtp_host_nothing_is_queued_or_sent(
    data_dir: Path, clock: MovableClock,
) -> None:
    app = open_app(data_dir, clock, None)
    try:
        register_services(app)
        case_id = shared_case(app)
        app.request_handover(KARI, case_id, to_user="per", to_service="hauge-skole")
        assert app.notices.run_once() == 0
        assert outbox(app) == []
    finally:
        app.close()


def test_smtp_settings_name_the_variable_when_wrong() -> None:
    base = {"STAFETTLOGG_PUBLIC_URL": "https://s.kommune.no"}
    for env, variable in [
        ({"STAFETTLOGG_SMTP_HOST": "smtp.kommune.no"}, "STAFETTLOGG_SMTP_FROM"),
        ({"STAFETTLOGG_SMTP_SECURITY": "ssl"}, "STAFETTLOGG_SMTP_SECURITY"),
        ({"STAFETTLOGG_SMTP_PORT": "nei"}, "STAFETTLOGG_SMTP_PORT"),
        ({"STAFETTLOGG_SMTP_HOST": "h", "STAFETTLOGG_SMTP_FROM": "ikke adresse"},
         "STAFETTLOGG_SMTP_FROM"),
        ({"STAFETTLOGG_SMTP_PASSWORD": "hemmelig"}, "STAFETTLOGG_SMTP_USER"),
    ]:
        with pytest.raises(SettingsError, match=variable):
            Settings.from_env({**base, **env})
    with pytest.raises(SettingsError, match="STAFETTLOGG_PUBLIC_URL"):
        Settings.from_env({"STAFETTLOGG_SMTP_HOST": "h", "STAFETTLOGG_SMTP_FROM": "a@b.no"})
    ports = {security: Settings.from_env({**base, "STAFETTLOGG_SMTP_SECURITY": security}).smtp.port
             for security in ("none", "starttls", "tls")}
    assert ports == {"none": 25, "starttls": 587, "tls": 465}
    chosen = Settings.from_env({**base, "STAFETTLOGG_SMTP_HOST": "h",
                                "STAFETTLOGG_SMTP_FROM": "a@b.no", "STAFETTLOGG_SMTP_USER": "u",
                                "STAFETTLOGG_SMTP_PASSWORD": "hemmelig"})
    assert "hemmelig" not in repr(chosen)


def test_the_erasure_of_the_child_s_data_sends_the_guardians_nothing(
    app: Stafettlogg, mailbox: Mailbox, clock: MovableClock,
) -> None:
    case_id = shared_case(app)
    app.record_guardian(KARI, case_id, name="Mona Strand", relation="mother", national_id=MOTHER)
    app.choose_guardian_notices(app.family_person(MOTHER), "now", MONA)
    app.close_case(KARI, case_id, reason="concern-resolved", note=None)
    clock.now += timedelta(hours=1)
    app.notices.run_once()
    assert [m["To"] for m in mailbox.messages] == [MONA]  # the closing is news to her
    queued = outbox(app)

    app.erase_child_data(ADMIN, case_id, reason="Krav om sletting, journalpost 2026/1234")
    clock.now += timedelta(hours=1)
    app.read_models.catch_up()
    app.notices.run_once()
    assert len(mailbox.messages) == 1
    assert outbox(app) == queued
