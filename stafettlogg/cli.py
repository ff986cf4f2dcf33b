"""The `stafettlogg` command: serve the API, load demo data, issue tokens.

    stafettlogg serve [--host H] [--port P] [--demo [--seed N] [--children N]]
    stafettlogg demo [--seed N] [--children N]
    stafettlogg token --sub ID --name NAME --role ROLE [--role ...]
                      [--service SID] --municipality NNNN [--municipality ...]
    stafettlogg backup FILE
    stafettlogg restore FILE [--force]
    stafettlogg keys rotate master|store|index|token [--keep-old] [--grace MINUTES]
    stafettlogg archive export --period P --out DIR
    stafettlogg erase --case ID --reason TEXT

Configuration comes from the `STAFETTLOGG_*` environment variables (see
`stafettlogg/settings.py`). Errors are one line on stderr, never a traceback:
exit status 2 for bad arguments, 1 for anything else that stops the command.
`token` prints the token and nothing else on stdout, so that
`TOKEN=$(stafettlogg token ...)` works.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, NoReturn

from stafettlogg.keys import KeyFileError
from stafettlogg.settings import Settings, SettingsError

if TYPE_CHECKING:
    from stafettlogg.application import Stafettlogg

# The application, the API and rich are imported inside the commands, so that
# `--help` answers without loading the event store's dependencies.

EXIT_ERROR = 1
EXIT_USAGE = 2
DEFAULT_SEED = 1
DEFAULT_CHILDREN = 400


class CommandError(Exception):
    """A user-facing failure: printed as one line, exit status `code`."""

    def __init__(self, message: str, code: int = EXIT_ERROR) -> None:
        super().__init__(message)
        self.code = code


def _store_unavailable(exc: BaseException) -> bool:
    """The database does not answer (PostgreSQL down or unreachable)."""
    from eventsourcing.persistence import InterfaceError, OperationalError

    return isinstance(exc, (OperationalError, InterfaceError))


def _error(message: str) -> None:
    print(f"stafettlogg: {message}", file=sys.stderr)


# --- token ------------------------------------------------------------------------


def cmd_token(args: argparse.Namespace, settings: Settings) -> int:
    from stafettlogg.keys import KeyFile
    from stafettlogg.tokens import InvalidClaims, issue_token

    keys = KeyFile.load_or_create(settings.key_file)
    try:
        token = issue_token(
            settings,
            keys,
            sub=args.sub,
            name=args.name,
            roles=args.role,
            service=args.service,
            municipalities=args.municipality or [],
            now=datetime.now(UTC),
        )
    except InvalidClaims as exc:
        raise CommandError(f"token: {exc}", EXIT_USAGE) from None
    _refuse_deactivated(settings, args.sub)
    sys.stdout.write(token + "\n")
    return 0


def _refuse_deactivated(settings: Settings, sub: str) -> None:
    """No token for someone the staff directory has deactivated (their tokens would be
    refused anyway); an id the directory does not know is a script's: allowed."""
    from stafettlogg.application import Stafettlogg

    app = Stafettlogg(settings)
    try:
        member = app.find_staff(sub)
    finally:
        app.close()
    if member is not None and not member.active:
        raise CommandError(f"token: {sub} er deaktivert i ansattlisten", EXIT_USAGE)


# --- demo -------------------------------------------------------------------------


def _demo_app(settings: Settings, seed: int) -> Stafettlogg:
    from stafettlogg.application import Stafettlogg
    from stafettlogg.demo import demo_id_factory

    return Stafettlogg(settings, new_id=demo_id_factory(seed))


def _load_with_progress(settings: Settings, seed: int, children: int) -> None:
    """Load the demo with a progress bar on stderr, then print the summary on stdout."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from stafettlogg.demo import DemoError, load_demo

    console = Console(stderr=True)
    app = _demo_app(settings, seed)
    try:
        with Progress(
            TextColumn("[bold]Demodata[/bold]"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("barn"),
            TimeElapsedColumn(),
            console=console,
            transient=not console.is_terminal,
        ) as progress:
            task = progress.add_task("demo", total=children)
            started = time.perf_counter()
            summary = load_demo(
                app,
                seed=seed,
                children=children,
                progress=lambda done, total: progress.update(task, completed=done, total=total),
            )
            elapsed = time.perf_counter() - started
    except DemoError as exc:
        raise CommandError(f"demo: {exc}") from None
    finally:
        app.close()
    _print_summary(summary.as_dict(), elapsed, settings)


def _print_summary(summary: dict, elapsed: float, settings: Settings) -> None:
    levels = summary["cases_per_level"]
    open_levels = summary["open_per_level"]
    lines = [
        f"Demodata lastet på {elapsed:.1f} s inn i {settings.data_dir} (seed {summary['seed']}).",
        (
            f"  kommuner: {summary['municipalities']}, tjenester: {summary['services']} "
            f"({summary['inter_municipal_services']} interkommunale)"
        ),
        (
            f"  barn: {summary['children']}, saker: {summary['cases']} "
            f"(åpne {summary['open']}, avsluttet {summary['closed']}), hendelser: {summary['events']}"
        ),
        "  saker per nivå: "
        + ", ".join(f"{lv}: {levels[lv]} (åpne {open_levels[lv]})" for lv in sorted(levels)),
        "  avsluttet etter årsak: "
        + ", ".join(f"{k} {v}" for k, v in summary["closed_by_reason"].items()),
        (
            f"  overføringer: {summary['handovers_requested']} bedt om, "
            f"{summary['handovers_accepted']} godtatt "
            f"({summary['barnehage_to_skole_accepted']} barnehage–skole), "
            f"{summary['handovers_declined']} avslått, {summary['handovers_cancelled']} trukket"
        ),
        (
            f"  samtykker: {summary['consents_given']} gitt "
            f"({summary['consents_by_child']} av barnet), "
            f"{summary['consents_withdrawn']} trukket, {summary['consents_expired']} utløpt"
        ),
        (
            f"  tjenester inn/ut: {summary['services_joined']}/{summary['services_left']}, "
            f"møter: {summary['meetings']}"
        ),
        (
            f"  tiltak: {summary['actions']}, evalueringer: {summary['evaluations']} "
            f"({summary['evaluations_late']} etter fristen)"
        ),
        (
            f"  ansvarsgrupper: {summary['responsibility_groups']}, "
            f"koordinatorer: {summary['coordinators_appointed']}, "
            f"individuelle planer: {summary['individual_plans']}, "
            f"tilfredshetssvar: {summary['satisfaction_answers']}"
        ),
    ]
    print("\n".join(lines))


def _store_is_empty(settings: Settings) -> bool:
    from stafettlogg.application import Stafettlogg
    from stafettlogg.demo import store_is_empty

    app = Stafettlogg(settings)
    try:
        return store_is_empty(app)
    finally:
        app.close()


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    if not _store_is_empty(settings):
        raise CommandError(
            f"lageret i {settings.data_dir} har allerede data; demodata lastes bare inn i et "
            f"tomt lager. Sett STAFETTLOGG_DATA_DIR til en ny mappe eller slett "
            f"{settings.data_dir} (the store already holds data: point STAFETTLOGG_DATA_DIR "
            f"elsewhere or delete it)"
        )
    _load_with_progress(settings, args.seed, args.children)
    return 0


# --- erase ------------------------------------------------------------------------

# Who the access log names for an erasure from the command line.
CLI_ACTOR_USER = "cli"


def cmd_erase(args: argparse.Namespace, settings: Settings) -> int:
    """Erase the data of a case's child on request (docs/operations.md, "Retention and
    erasure"): the child's key deleted, the erasure recorded; refused while open."""
    from uuid import UUID

    from domain import errors
    from domain.values import Actor
    from stafettlogg.application import Stafettlogg

    try:
        case_id = UUID(args.case)
    except ValueError:
        raise CommandError(f"--case: ikke et saksnummer (en UUID): {args.case!r}",
                           EXIT_USAGE) from None
    actor = Actor(user=CLI_ACTOR_USER, roles=frozenset({"admin"}))
    app = Stafettlogg(settings)
    try:
        erased = app.erase_child_data(actor, case_id, reason=args.reason)
    except errors.InvalidValue as exc:
        raise CommandError(f"--reason: {exc.message}", EXIT_USAGE) from None
    except errors.DomainError as exc:
        raise CommandError(f"ikke slettet: {exc.message}") from None
    finally:
        app.close()
    others = len(erased) - 1
    print(f"Slettet: barnets opplysninger i saken {case_id}"
          + (f" og {others} andre saker for barnet" if others > 0 else "")
          + " kan ikke lenger leses.")
    return 0


# --- serve ------------------------------------------------------------------------


def cmd_rebuild(args: argparse.Namespace, settings: Settings) -> int:
    """Forget the views and read every event again, with a progress bar on stderr."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from stafettlogg.application import Stafettlogg

    console = Console(stderr=True)
    app = Stafettlogg(settings)
    try:
        with Progress(
            TextColumn("[bold]Gjenoppbygger visninger[/bold]"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("hendelser"),
            TimeElapsedColumn(),
            console=console,
            transient=not console.is_terminal,
        ) as progress:
            task = progress.add_task("rebuild", total=app.read_models.source.last_position())
            started = time.perf_counter()
            try:
                read = app.read_models.rebuild(
                    args.view,
                    progress=lambda done, total: progress.update(task, completed=done, total=total),
                )
            except ValueError as exc:
                raise CommandError(str(exc), EXIT_USAGE) from None
            elapsed = time.perf_counter() - started
    finally:
        app.close()
    print(f"Gjenoppbygget: {read} hendelser lest på {elapsed:.1f} s.")
    return 0


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from stafettlogg.web.app import create_app

    from stafettlogg.observability import configure_logging
    from stafettlogg.store_failures import unrecoverable

    configure_logging(settings)
    host = args.host or settings.host
    port = args.port or settings.port
    # Opening the store here turns a bad data dir into one line instead of a
    # traceback from the server's startup.
    try:
        empty = _store_is_empty(settings)
    except Exception as exc:
        if args.demo or not _store_unavailable(exc):
            raise
        if unrecoverable(exc, settings) is None:
            # PostgreSQL not up yet: serve 503 until it is (the server keeps trying).
            _error("databasen svarer ikke ennå; tjenesten starter og svarer 503 til den gjør det")
        # Else the server says what is wrong, once, and /ready names it.
        empty = False
    if args.demo:
        from stafettlogg.demo import with_demo_names

        settings = with_demo_names(settings)
        if empty:
            _error(f"lagrer demodata (seed {args.seed}, {args.children} barn) før oppstart")
            _load_with_progress(settings, args.seed, args.children)
        else:
            _error(f"lageret i {settings.data_dir} har allerede data; laster ikke demodata")
    # The service's own log lines, uvicorn's too (its access log off: the service
    # writes one line per request itself); STAFETTLOGG_LOG_FORMAT says JSON or plain.
    uvicorn.run(create_app(settings, demo_sign_in=args.demo), host=host, port=port,
                log_config=None, access_log=False)
    return 0


# --- backup and restore -------------------------------------------------------------


def cmd_backup(args: argparse.Namespace, settings: Settings) -> int:
    """One archive of the store while the service runs; the key file never in it."""
    from pathlib import Path

    from stafettlogg.backup import BackupError, backup

    try:
        report = backup(settings, Path(args.file), now=datetime.now(UTC))
    except BackupError as exc:
        raise CommandError(f"backup: {exc}") from None
    manifest = report.manifest
    positions = manifest["positions"]
    for note in report.notes:
        _error(f"backup: merk: {note}")
    print(
        f"Sikkerhetskopi skrevet til {report.path} ({manifest['backend']}, hendelser til"
        f" nr. {positions.get('events', 0)}, nøkkelfil {manifest['key_file_fingerprint'][:12]}…)."
        f" Nøkkelfilen {settings.key_file} er ikke med: ta vare på den et annet sted."
    )
    return 0


def cmd_restore(args: argparse.Namespace, settings: Settings) -> int:
    """Put a backup back into an empty data directory (or schema) and catch up the views."""
    from pathlib import Path

    from stafettlogg.backup import BackupError, restore

    try:
        report = restore(settings, Path(args.file), force=args.force)
    except BackupError as exc:
        raise CommandError(f"restore: {exc}") from None
    rebuilt = f"; gjenoppbygget {', '.join(report.rebuilt)}" if report.rebuilt else ""
    print(
        f"Gjenopprettet fra {args.file} (tatt {report.manifest['created_at']}):"
        f" {report.events} hendelser, visningene tatt igjen med {report.caught_up}"
        f" hendelser{rebuilt}. Tjenesten kan startes."
    )
    return 0


# --- keys -------------------------------------------------------------------------


def cmd_keys_rotate(args: argparse.Namespace, settings: Settings) -> int:
    """Rotate one key of the key file (docs/operations.md, "Keys and their rotation")."""
    from datetime import timedelta

    from stafettlogg import key_rotation

    if args.grace and args.which != "token":
        raise CommandError("keys rotate: --grace gjelder bare token", EXIT_USAGE)
    if not settings.key_file.exists():
        raise CommandError(f"keys rotate: nøkkelfilen {settings.key_file} finnes ikke")
    try:
        if args.which == "master":
            done = key_rotation.rotate_master(settings, keep_old=args.keep_old)
        elif args.which == "store":
            done = key_rotation.rotate_store(settings, keep_old=args.keep_old)
        elif args.which == "index":
            done = key_rotation.rotate_index(settings, keep_old=args.keep_old)
        else:
            done = key_rotation.rotate_token(
                settings, grace=timedelta(minutes=args.grace), keep_old=args.keep_old
            )
    except key_rotation.RotationError as exc:
        raise CommandError(f"keys rotate {args.which}: {exc}") from None
    lines = {
        "master": f"Hovednøkkelen er byttet: {done.rewrapped} barnenøkler pakket inn på nytt.",
        "store": "Hendelseslagerets nøkkel er byttet: nye hendelser krypteres med den nye"
                 " nøkkelen etter omstart; eldre hendelser åpnes med den gamle.",
        "index": "Indeksnøkkelen er byttet: nye oppslag lagres med den nye nøkkelen;"
                 " det som er lagret før, finnes med den gamle.",
        "token": "Tokenhemmeligheten er byttet: " + (
            f"gamle tokener godtas i {args.grace} minutter til."
            if args.grace else "gamle tokener avvises."),
    }
    print(lines[args.which])
    if done.kept_old_file is not None:
        print(f"Den gamle nøkkelfilen er lagt til side: {done.kept_old_file}")
    return 0


def _minutes(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"ikke et heltall: {text!r}") from None
    if not 0 <= value <= 7 * 24 * 60:
        raise argparse.ArgumentTypeError("minutter må være 0-10080 (en uke)")
    return value




# --- archive export ---------------------------------------------------------------


def cmd_archive_export(args: argparse.Namespace, settings: Settings) -> int:
    """Write the archive package (stafettlogg/archive/) of every case closed in a period
    into a directory, one zip per case; each export is a line in the case's access log.
    The zips hold the children's personal data, in clear: for the archive's intake only."""
    from pathlib import Path

    from projections.periods import InvalidPeriod, parse_period

    try:
        period = parse_period(args.period)
    except InvalidPeriod as exc:
        raise CommandError(f"archive export: --period: {exc}", EXIT_USAGE) from None
    out = Path(args.out)
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / ".stafettlogg-skriveprove"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise CommandError(
            f"archive export: --out: kan ikke skrive arkivpakker i {out} "
            f"({exc.strerror or exc}); velg en mappe du kan skrive i", EXIT_USAGE) from None

    from stafettlogg.application import Stafettlogg
    from stafettlogg.archive import package_of

    app = Stafettlogg(settings)
    written = 0
    try:
        for case_id in app.closed_in(period):
            package = package_of(app, app.export_archive_record(case_id))
            target = out / package.name
            partial = target.with_name(target.name + ".delvis")
            partial.write_bytes(package.to_zip())
            partial.chmod(0o600)
            partial.replace(target)  # a zip in DIR is always whole
            written += 1
    finally:
        app.close()
    print(f"Arkivpakker for {period.label}: {written} avsluttede saker skrevet til {out}.")
    return 0


# --- parsing ----------------------------------------------------------------------


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        _error(message)
        sys.exit(EXIT_USAGE)


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"ikke et heltall: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError("må være minst 1")
    return value


def _port(text: str) -> int:
    value = _positive(text)
    if value > 65535:
        raise argparse.ArgumentTypeError("en port er 1-65535")
    return value


def _demo_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--seed",
        type=int,
        default=DEFAULT_SEED,
        help=f"same seed, same data (default {DEFAULT_SEED})",
    )
    parser.add_argument(
        "--children",
        type=_positive,
        default=DEFAULT_CHILDREN,
        help=f"number of children (default {DEFAULT_CHILDREN})",
    )


def _version() -> str:
    """The installed package's version (its metadata, from pyproject.toml)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("stafettlogg")
    except PackageNotFoundError:  # run from a tree that was never installed
        return "(ikke installert)"


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="stafettlogg",
        description="Digital stafettlogg for BTI (Bedre tverrfaglig innsats).",
        epilog="Configuration: STAFETTLOGG_* environment variables (data in ./var by default).",
    )
    parser.add_argument("--version", action="version", version=f"stafettlogg {_version()}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    commands.required = True

    serve = commands.add_parser("serve", help="run the HTTP API (uvicorn)")
    serve.add_argument(
        "--host", help="address to listen on (default STAFETTLOGG_HOST or 127.0.0.1)"
    )
    serve.add_argument("--port", type=_port, help="port (default STAFETTLOGG_PORT or 8000)")
    serve.add_argument(
        "--demo", action="store_true", help="load demo data first if the store is empty"
    )
    _demo_options(serve)
    serve.set_defaults(handler=cmd_serve)

    demo = commands.add_parser("demo", help="load synthetic demo data into an empty store")
    _demo_options(demo)
    demo.set_defaults(handler=cmd_demo)

    token = commands.add_parser(
        "token", help="print a signed API token (JWT) for the running configuration"
    )
    token.add_argument("--sub", required=True, help="user id")
    token.add_argument("--name", required=True, help="the user's name")
    token.add_argument(
        "--role",
        required=True,
        action="append",
        choices=("worker", "coordinator", "leader", "evaluator", "admin"),
        help="role; repeat for several",
    )
    token.add_argument("--service", help="the user's service id (workers and coordinators)")
    token.add_argument(
        "--municipality",
        action="append",
        metavar="NNNN",
        help="kommunenummer the user acts for; repeat for several",
    )
    token.set_defaults(handler=cmd_token)

    projections = commands.add_parser("projections", help="the read models and statistics views")
    actions = projections.add_subparsers(dest="action", metavar="ACTION", parser_class=_Parser)
    actions.required = True
    rebuild = actions.add_parser("rebuild", help="rebuild views from the first event")
    rebuild.add_argument("--view", help="only this view (default: all)")
    rebuild.set_defaults(handler=cmd_rebuild)

    backup = commands.add_parser(
        "backup", help="write a consistent backup of the store to FILE (the key file apart)"
    )
    backup.add_argument("file", metavar="FILE", help="the archive to write (a .tar.gz)")
    backup.set_defaults(handler=cmd_backup)

    restore = commands.add_parser(
        "restore", help="restore a backup into an empty data directory or schema"
    )
    restore.add_argument("file", metavar="FILE", help="an archive made by `stafettlogg backup`")
    restore.add_argument(
        "--force", action="store_true",
        help="replace the store that is there (stop the service first)",
    )
    restore.set_defaults(handler=cmd_restore)

    keys = commands.add_parser("keys", help="the key file's keys")
    key_actions = keys.add_subparsers(dest="action", metavar="ACTION", parser_class=_Parser)
    key_actions.required = True
    rotate = key_actions.add_parser(
        "rotate", help="rotate one key (docs/operations.md, Keys and their rotation)"
    )
    rotate.add_argument(
        "which", choices=("master", "store", "index", "token"),
        help="master: wrap every child key again; store: new events under a new key;"
             " index: a new blind-index key; token: a new token secret",
    )
    rotate.add_argument(
        "--keep-old", action="store_true",
        help="keep the old key file beside the new one (KEYFILE.<time>.old)",
    )
    rotate.add_argument(
        "--grace", type=_minutes, default=0, metavar="MINUTES",
        help="token only: accept tokens of the old secret for this many minutes (default 0)",
    )
    rotate.set_defaults(handler=cmd_keys_rotate)

    archive = commands.add_parser("archive", help="the archive packages of closed cases")
    archive_actions = archive.add_subparsers(dest="action", metavar="ACTION",
                                             parser_class=_Parser)
    archive_actions.required = True
    export = archive_actions.add_parser(
        "export", help="write the archive package of every case closed in a period")
    export.add_argument("--period", required=True, metavar="P",
                        help="2026, 2026-H1, 2026-Q1 or 2026-05: the cases closed then (UTC)")
    export.add_argument("--out", required=True, metavar="DIR",
                        help="directory for the zips (made if missing)")
    export.set_defaults(handler=cmd_archive_export)

    erase = commands.add_parser(
        "erase", help="erase the data of a closed case's child on request (crypto-shredding)")
    erase.add_argument("--case", required=True, metavar="ID", help="the case id (a UUID)")
    erase.add_argument(
        "--reason", required=True, metavar="TEXT",
        help="why, kept with the erasure: a reference such as the journal number of the"
             " request, never the child's or a guardian's name or number")
    erase.set_defaults(handler=cmd_erase)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = Settings.from_env()  # checks STAFETTLOGG_DATABASE_URL early
        return args.handler(args, settings)
    except SettingsError as exc:
        _error(f"ugyldig innstilling: {exc}")
        return EXIT_ERROR
    except KeyFileError as exc:
        _error(str(exc))
        return EXIT_ERROR
    except CommandError as exc:
        _error(str(exc))
        return exc.code
    except KeyboardInterrupt:
        _error("avbrutt")
        return 130
    except OSError as exc:
        _error(f"{exc.strerror or exc}: {exc.filename or ''}".rstrip(": "))
        return EXIT_ERROR
    except Exception as exc:
        if not _store_unavailable(exc):
            raise
        from stafettlogg.store_failures import unrecoverable

        failure = unrecoverable(exc, settings)
        _error(failure.message if failure is not None else f"databasen svarer ikke: {exc}")
        return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
