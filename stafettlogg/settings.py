"""Settings, read once from `STAFETTLOGG_*` environment variables.

This is the only module that reads the environment. Every setting has a default
that works on a fresh clone: data lives under `./var`, where the SQLite event
store, the child key store and the key file appear on first start.

`STAFETTLOGG_DATABASE_URL=postgresql://user@host:5432/db` puts the event store, the
views with their tracking positions and the child key store in PostgreSQL instead;
the `STAFETTLOGG_POSTGRES_*` settings size its connection pools and timeouts.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import time
from pathlib import Path
from urllib.parse import unquote, urlsplit

from domain.consent import DEFAULT_YOUTH_CONSENT_AGE, YOUTH_CONSENT_AGE_RANGE
from domain.retention import ARCHIVE_YEARS_RANGE


class SettingsError(ValueError):
    """A setting has a value that cannot be used; the message names the variable."""


def _clock_time(env: Mapping[str, str], name: str, default: time) -> time:
    """A time of day written HH:MM (24 hours)."""
    raw = (env.get(name) or "").strip()
    if not raw:
        return default
    hours, colon, minutes = raw.partition(":")
    if (colon and len(hours) == 2 and len(minutes) == 2 and hours.isdigit()
            and minutes.isdigit() and int(hours) < 24 and int(minutes) < 60):
        return time(int(hours), int(minutes))
    msg = f"{name} må være et klokkeslett skrevet TT:MM, for eksempel 02:00 (var {raw!r})"
    raise SettingsError(msg)


def _int(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        msg = f"{name} må være et heltall"
        raise SettingsError(msg) from None
    if not low <= value <= high:
        msg = f"{name} må være mellom {low} og {high}"
        raise SettingsError(msg)
    return value


LOG_FORMATS = ("json", "plain")
LOG_LEVELS = ("info", "warning", "error", "debug")
# A metrics token shorter than this is too easy to guess.
METRICS_TOKEN_MIN_LENGTH = 32


def _choice(env: Mapping[str, str], name: str, allowed: tuple[str, ...]) -> str:
    """One of `allowed` (any case); the first when the variable is not set."""
    raw = (env.get(name) or "").strip().lower()
    if not raw:
        return allowed[0]
    if raw not in allowed:
        msg = f"{name} må være {' eller '.join((', '.join(allowed[:-1]), allowed[-1]))}"
        raise SettingsError(msg)
    return raw


def _metrics_token(env: Mapping[str, str]) -> str:
    token = (env.get("STAFETTLOGG_METRICS_TOKEN") or "").strip()
    if token and (len(token) < METRICS_TOKEN_MIN_LENGTH or any(c.isspace() for c in token)):
        msg = (f"STAFETTLOGG_METRICS_TOKEN må være minst {METRICS_TOKEN_MIN_LENGTH} tegn"
               " uten mellomrom (lag et med for eksempel openssl rand -hex 32)")
        raise SettingsError(msg)
    return token


SQLITE_PREFIX = "sqlite:///"
POSTGRES_SCHEMES = ("postgresql", "postgres")
# Lower-case, unquoted identifiers only: the schema name goes into search_path.
_SCHEMA = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


@dataclass(frozen=True)
class PostgresAddress:
    """Where a PostgreSQL database is, from `postgresql://user[:password]@host[:port]/db`."""

    host: str
    port: int
    user: str
    password: str
    dbname: str

    def __repr__(self) -> str:  # never show the password
        return f"PostgresAddress({self.user}@{self.host}:{self.port}/{self.dbname})"


def is_postgres_url(url: str) -> bool:
    return url.partition("://")[0].lower() in POSTGRES_SCHEMES and "://" in url


def parse_postgres_url(name: str, url: str, password: str = "") -> PostgresAddress:
    """Parse a PostgreSQL address; a bad one is a SettingsError naming the variable.

    The message never repeats the value, which may hold a password."""
    form = "postgresql://bruker@vert:5432/database"
    try:
        parts = urlsplit(url)
        port = parts.port or 5432
    except ValueError:
        msg = f"{name} er ikke en gyldig PostgreSQL-adresse (formen er {form})"
        raise SettingsError(msg) from None
    dbname = unquote(parts.path.lstrip("/"))
    if parts.query or parts.fragment:
        msg = f"{name}: parametre (?...) støttes ikke; bruk STAFETTLOGG_POSTGRES_*-innstillingene"
        raise SettingsError(msg)
    if not parts.hostname or not parts.username or not dbname or "/" in dbname:
        msg = f"{name} må ha bruker, vert og database: {form}"
        raise SettingsError(msg)
    return PostgresAddress(
        host=parts.hostname,
        port=port,
        user=unquote(parts.username),
        password=unquote(parts.password) if parts.password is not None else password,
        dbname=dbname,
    )


@dataclass(frozen=True)
class PostgresSettings:
    """Connection pools and timeouts for PostgreSQL (`STAFETTLOGG_POSTGRES_*`)."""

    # The schema for every table (events, snapshots, views, tracking, child keys).
    schema: str = "public"
    # A password kept out of the URL (the URL's own password wins).
    password: str = ""
    # Connections each pool keeps open, and how many more it may open under load.
    pool_size: int = 5
    max_overflow: int = 10
    # Seconds a request waits for a connection (also libpq's connect timeout).
    connect_timeout: int = 5
    # Seconds a writer waits for the events table lock or a projection's writer lock.
    lock_timeout: int = 5
    # Seconds a connection may sit idle inside a transaction before it is cut off.
    idle_in_transaction_timeout: int = 5
    # Seconds one SQL statement may run before the server cancels it; the client waits
    # one second more for an answer before it gives the connection up.
    statement_timeout: int = 10

    def __repr__(self) -> str:  # never show the password
        return (
            f"PostgresSettings(schema={self.schema!r}, pool_size={self.pool_size},"
            f" max_overflow={self.max_overflow}, connect_timeout={self.connect_timeout},"
            f" lock_timeout={self.lock_timeout},"
            f" idle_in_transaction_timeout={self.idle_in_transaction_timeout},"
            f" statement_timeout={self.statement_timeout})"
        )

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> PostgresSettings:
        schema = env.get("STAFETTLOGG_POSTGRES_SCHEMA") or "public"
        if not _SCHEMA.match(schema):
            msg = (
                "STAFETTLOGG_POSTGRES_SCHEMA må være et navn med små bokstaver, sifre og _"
                " (høyst 63 tegn), for eksempel stafettlogg"
            )
            raise SettingsError(msg)
        return cls(
            schema=schema,
            password=env.get("STAFETTLOGG_POSTGRES_PASSWORD") or "",
            pool_size=_int(env, "STAFETTLOGG_POSTGRES_POOL_SIZE", 5, 1, 1000),
            max_overflow=_int(env, "STAFETTLOGG_POSTGRES_MAX_OVERFLOW", 10, 0, 1000),
            connect_timeout=_int(env, "STAFETTLOGG_POSTGRES_CONNECT_TIMEOUT", 5, 1, 300),
            lock_timeout=_int(env, "STAFETTLOGG_POSTGRES_LOCK_TIMEOUT", 5, 1, 3600),
            idle_in_transaction_timeout=_int(
                env, "STAFETTLOGG_POSTGRES_IDLE_IN_TRANSACTION_TIMEOUT", 5, 1, 3600
            ),
            statement_timeout=_int(env, "STAFETTLOGG_POSTGRES_STATEMENT_TIMEOUT", 10, 1, 86400),
        )


def _youth_ages(raw: str) -> dict[str, int]:
    """`4225=15,3201=16` -> {"4225": 15, "3201": 16}."""
    ages: dict[str, int] = {}
    for part in filter(None, (p.strip() for p in raw.split(","))):
        number, sep, age = part.partition("=")
        if not sep or not number.isdigit() or len(number) != 4 or not age.isdigit():
            msg = "STAFETTLOGG_YOUTH_CONSENT_AGES har formen 4225=15,3201=16"
            raise SettingsError(msg)
        if int(age) not in YOUTH_CONSENT_AGE_RANGE:
            msg = "STAFETTLOGG_YOUTH_CONSENT_AGES: samtykkealderen må være 12-18 år"
            raise SettingsError(msg)
        ages[number] = int(age)
    return ages


def _archive_years(raw: str) -> dict[str, int]:
    """`4225=10,3201=5` -> {"4225": 10, "3201": 5}; `*=10` for every other municipality."""
    years: dict[str, int] = {}
    low, high = ARCHIVE_YEARS_RANGE.start, ARCHIVE_YEARS_RANGE.stop - 1
    for part in filter(None, (p.strip() for p in raw.split(","))):
        number, sep, value = (x.strip() for x in part.partition("="))
        if (not sep or not (number == "*" or (number.isdigit() and len(number) == 4))
                or not value.isdigit()):
            msg = ("STAFETTLOGG_ARCHIVE_YEARS har formen 4225=10,3201=5 (kommunenummer=år"
                   " etter at saken ble avsluttet; *=10 for alle andre kommuner)")
            raise SettingsError(msg)
        if int(value) not in ARCHIVE_YEARS_RANGE:
            msg = f"STAFETTLOGG_ARCHIVE_YEARS: arkivperioden må være {low}-{high} år"
            raise SettingsError(msg)
        years[number] = int(value)
    return years


def _municipality_names(raw: str) -> dict[str, str]:
    """`4225=Lyngdal,4227=Kvinesdal` -> {"4225": "Lyngdal", "4227": "Kvinesdal"}."""
    names: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in raw.split(","))):
        number, sep, name = (x.strip() for x in part.partition("="))
        if not sep or not number.isdigit() or len(number) != 4 or not name:
            msg = "STAFETTLOGG_MUNICIPALITY_NAMES har formen 4225=Lyngdal,4227=Kvinesdal"
            raise SettingsError(msg)
        names[number] = name
    return names


SMTP_SECURITY = ("none", "starttls", "tls")
SMTP_DEFAULT_PORTS = {"none": 25, "starttls": 587, "tls": 465}


@dataclass(frozen=True)
class SmtpSettings:
    """Where notices are sent (`STAFETTLOGG_SMTP_*`); no host: no notices are sent."""

    host: str = ""
    port: int = 587
    # none: plain SMTP; starttls: SMTP upgraded with STARTTLS; tls: SMTP over TLS.
    security: str = "starttls"
    user: str = ""
    password: str = field(default="", repr=False)
    # The sender address, e.g. "Stafettlogg <stafettlogg@kommune.no>".
    sender: str = ""
    # The hour (Europe/Oslo) the daily digest is sent.
    digest_hour: int = 7
    # How long a guardian's "something new" waits, so that an entry the child asks
    # to keep from the guardians can be marked first (projections/outbox.py).
    family_delay_minutes: int = 30

    @property
    def enabled(self) -> bool:
        return bool(self.host)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> SmtpSettings:
        host = (env.get("STAFETTLOGG_SMTP_HOST") or "").strip()
        security = (env.get("STAFETTLOGG_SMTP_SECURITY") or "starttls").strip().lower()
        if security not in SMTP_SECURITY:
            msg = "STAFETTLOGG_SMTP_SECURITY må være none, starttls eller tls"
            raise SettingsError(msg)
        sender = (env.get("STAFETTLOGG_SMTP_FROM") or "").strip()
        if host and not sender:
            msg = "STAFETTLOGG_SMTP_FROM må settes når STAFETTLOGG_SMTP_HOST er satt"
            raise SettingsError(msg)
        address = sender.rsplit("<", 1)[-1].rstrip(">").strip()
        if sender and not re.match(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$", address):
            msg = ("STAFETTLOGG_SMTP_FROM må være en e-postadresse, for eksempel"
                   " stafettlogg@kommune.no eller «Stafettlogg <stafettlogg@kommune.no>»")
            raise SettingsError(msg)
        user = env.get("STAFETTLOGG_SMTP_USER") or ""
        password = env.get("STAFETTLOGG_SMTP_PASSWORD") or ""
        if password and not user:
            msg = "STAFETTLOGG_SMTP_USER må settes når STAFETTLOGG_SMTP_PASSWORD er satt"
            raise SettingsError(msg)
        return cls(
            host=host,
            port=_int(env, "STAFETTLOGG_SMTP_PORT", SMTP_DEFAULT_PORTS[security], 1, 65535),
            security=security, user=user, password=password, sender=sender,
            digest_hour=_int(env, "STAFETTLOGG_NOTICE_DIGEST_HOUR", 7, 0, 23),
            family_delay_minutes=_int(
                env, "STAFETTLOGG_FAMILY_NOTICE_DELAY_MINUTES", 30, 0, 24 * 60),
        )

    @property
    def sender_address(self) -> str:
        """The bare address of STAFETTLOGG_SMTP_FROM (for the envelope and Message-ID)."""
        return self.sender.rsplit("<", 1)[-1].rstrip(">").strip()


@dataclass(frozen=True)
class Settings:
    data_dir: Path = Path("var")
    # repr=False: a PostgreSQL address may hold a password.
    database_url: str = field(default="", repr=False)
    key_file: Path = Path()
    key_store: str = field(default="", repr=False)
    host: str = "127.0.0.1"
    port: int = 8000
    youth_consent_age: int = DEFAULT_YOUTH_CONSENT_AGE
    youth_consent_ages: dict[str, int] = field(default_factory=dict)
    # The archive period per municipality: years after closure until the nightly sweep
    # erases the child's data (`*` for every other municipality). Empty: never on
    # schedule (docs/operations.md, "Retention and erasure").
    archive_years: dict[str, int] = field(default_factory=dict)
    # The names of the municipalities, for the statistics pages and files (a number
    # without a name is shown as "Kommune 4225").
    municipality_names: dict[str, str] = field(default_factory=dict)
    snapshot_interval: int = 50
    token_ttl_minutes: int = 480
    token_algorithm: str = "HS256"
    rate_limit_per_minute: int = 1200
    views_path: str = ""
    disclosure_threshold: int = 5
    # The staff survey's results and the activity shares: nothing for a group with
    # fewer members (answers, staff); never below 3 (docs/implementation.md).
    survey_min_answers: int = 5
    postgres: PostgresSettings = field(default_factory=PostgresSettings)
    # Sign-in to the pages (OpenID Connect; docs/pages.md, "Sign-in"). Without an
    # issuer there is no OIDC sign-in (only the demo's, with `serve --demo`).
    oidc_issuer: str = ""
    oidc_client_id: str = ""
    oidc_client_secret: str = field(default="", repr=False)
    # The claim that names the person: `sub`, or `pid` (the fødselsnummer) with ID-porten.
    oidc_subject_claim: str = "sub"
    oidc_scopes: str = "openid profile"
    oidc_acr_values: str = ""
    # The families' sign-in (ID-porten: the person is named by `pid`, the fødselsnummer).
    # Without an issuer there is no family sign-in.
    family_oidc_issuer: str = ""
    family_oidc_client_id: str = ""
    family_oidc_client_secret: str = field(default="", repr=False)
    family_oidc_subject_claim: str = "pid"
    family_oidc_acr_values: str = "idporten-loa-substantial"
    public_url: str = ""
    session_idle_minutes: int = 30
    # Notices by e-mail (docs/notices.md); without a host none are sent.
    smtp: SmtpSettings = field(default_factory=SmtpSettings)
    # When the nightly sweep runs (Europe/Oslo; stafettlogg/sweep.py).
    sweep_at: time = time(2, 0)
    # The service's own log lines (stafettlogg/observability.py): one JSON object a
    # line, or plain text for a person at a terminal; and from which level.
    log_format: str = "json"
    log_level: str = "INFO"
    # Who may read /metrics: with a token, whoever sends it as a bearer token; without
    # one, only a client on this machine that came through no proxy.
    metrics_token: str = field(default="", repr=False)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        data_dir = Path(env.get("STAFETTLOGG_DATA_DIR") or "var")
        database_url = (
            env.get("STAFETTLOGG_DATABASE_URL") or f"{SQLITE_PREFIX}{data_dir / 'stafettlogg.sqlite3'}"
        )
        # On PostgreSQL the child keys are in the database too (every process must see
        # every child's key), unless STAFETTLOGG_KEY_STORE names another place.
        default_key_store = (
            database_url if is_postgres_url(database_url) else str(data_dir / "child-keys.sqlite3")
        )
        settings = cls(
            data_dir=data_dir,
            database_url=database_url,
            key_file=Path(env.get("STAFETTLOGG_KEY_FILE") or data_dir / "keys.json"),
            key_store=env.get("STAFETTLOGG_KEY_STORE") or default_key_store,
            host=env.get("STAFETTLOGG_HOST") or "127.0.0.1",
            port=_int(env, "STAFETTLOGG_PORT", 8000, 1, 65535),
            youth_consent_age=_int(
                env,
                "STAFETTLOGG_YOUTH_CONSENT_AGE",
                DEFAULT_YOUTH_CONSENT_AGE,
                YOUTH_CONSENT_AGE_RANGE.start,
                YOUTH_CONSENT_AGE_RANGE.stop - 1,
            ),
            youth_consent_ages=_youth_ages(env.get("STAFETTLOGG_YOUTH_CONSENT_AGES", "")),
            archive_years=_archive_years(env.get("STAFETTLOGG_ARCHIVE_YEARS", "")),
            municipality_names=_municipality_names(
                env.get("STAFETTLOGG_MUNICIPALITY_NAMES", "")),
            snapshot_interval=_int(env, "STAFETTLOGG_SNAPSHOT_INTERVAL", 50, 2, 100_000),
            token_ttl_minutes=_int(env, "STAFETTLOGG_TOKEN_TTL_MINUTES", 480, 1, 7 * 24 * 60),
            rate_limit_per_minute=_int(
                env, "STAFETTLOGG_RATE_LIMIT_PER_MINUTE", 1200, 1, 1_000_000
            ),
            views_path=env.get("STAFETTLOGG_VIEWS_PATH") or str(data_dir / "views.sqlite3"),
            # Counts below the threshold are hidden; never below 3 (brief, section 4).
            disclosure_threshold=_int(env, "STAFETTLOGG_DISCLOSURE_THRESHOLD", 5, 3, 1000),
            survey_min_answers=_int(env, "STAFETTLOGG_SURVEY_MIN_ANSWERS", 5, 3, 1000),
            postgres=PostgresSettings.from_env(env),
            oidc_issuer=(env.get("STAFETTLOGG_OIDC_ISSUER") or "").rstrip("/"),
            oidc_client_id=env.get("STAFETTLOGG_OIDC_CLIENT_ID") or "",
            oidc_client_secret=env.get("STAFETTLOGG_OIDC_CLIENT_SECRET") or "",
            oidc_subject_claim=env.get("STAFETTLOGG_OIDC_SUBJECT_CLAIM") or "sub",
            oidc_scopes=env.get("STAFETTLOGG_OIDC_SCOPES") or "openid profile",
            oidc_acr_values=env.get("STAFETTLOGG_OIDC_ACR_VALUES") or "",
            family_oidc_issuer=(env.get("STAFETTLOGG_FAMILY_OIDC_ISSUER") or "").rstrip("/"),
            family_oidc_client_id=env.get("STAFETTLOGG_FAMILY_OIDC_CLIENT_ID") or "",
            family_oidc_client_secret=env.get("STAFETTLOGG_FAMILY_OIDC_CLIENT_SECRET") or "",
            family_oidc_subject_claim=env.get("STAFETTLOGG_FAMILY_OIDC_SUBJECT_CLAIM") or "pid",
            family_oidc_acr_values=env.get(
                "STAFETTLOGG_FAMILY_OIDC_ACR_VALUES", "idporten-loa-substantial"),
            public_url=(env.get("STAFETTLOGG_PUBLIC_URL") or "").rstrip("/"),
            session_idle_minutes=_int(env, "STAFETTLOGG_SESSION_IDLE_MINUTES", 30, 1, 24 * 60),
            smtp=SmtpSettings.from_env(env),
            sweep_at=_clock_time(env, "STAFETTLOGG_SWEEP_AT", time(2, 0)),
            log_format=_choice(env, "STAFETTLOGG_LOG_FORMAT", LOG_FORMATS),
            log_level=_choice(env, "STAFETTLOGG_LOG_LEVEL", LOG_LEVELS).upper(),
            metrics_token=_metrics_token(env),
        )
        settings.check()
        return settings

    def check(self) -> None:
        """Raise SettingsError, naming the variable, if a database address or the
        sign-in settings are unusable."""
        _ = self.backend
        self._check_sign_in()
        if self.backend == "postgres":
            _ = self.postgres_address
        if is_postgres_url(self.key_store):
            _ = self.key_store_address

    def _check_sign_in(self) -> None:
        for name, url in (("STAFETTLOGG_PUBLIC_URL", self.public_url),
                          ("STAFETTLOGG_OIDC_ISSUER", self.oidc_issuer),
                          ("STAFETTLOGG_FAMILY_OIDC_ISSUER", self.family_oidc_issuer)):
            if url and urlsplit(url).scheme not in ("https", "http"):
                msg = f"{name} må være en adresse som begynner med https:// (eller http://)"
                raise SettingsError(msg)
        for prefix, issuer, client_id in (
            ("STAFETTLOGG_OIDC", self.oidc_issuer, self.oidc_client_id),
            ("STAFETTLOGG_FAMILY_OIDC", self.family_oidc_issuer, self.family_oidc_client_id),
        ):
            if not issuer:
                continue
            for name, value in ((f"{prefix}_CLIENT_ID", client_id),
                                ("STAFETTLOGG_PUBLIC_URL", self.public_url)):
                if not value:
                    msg = f"{name} må settes når {prefix}_ISSUER er satt"
                    raise SettingsError(msg)
        if self.smtp.enabled and not self.public_url:
            msg = ("STAFETTLOGG_PUBLIC_URL må settes når STAFETTLOGG_SMTP_HOST er satt"
                   " (varslene lenker til tjenesten)")
            raise SettingsError(msg)
        if self.oidc_issuer and "openid" not in self.oidc_scopes.split():
            msg = "STAFETTLOGG_OIDC_SCOPES må inneholde openid"
            raise SettingsError(msg)

    @property
    def secure_cookies(self) -> bool:
        """Cookies are `Secure` when the service is reached over https."""
        return self.public_url.startswith("https://")

    def municipality_name(self, number: str) -> str:
        """A municipality as people name it: "Lyngdal", or "Kommune 4225" if no name is set."""
        return self.municipality_names.get(number) or f"Kommune {number}"

    def youth_consent_age_for(self, municipality: str) -> int:
        return self.youth_consent_ages.get(municipality, self.youth_consent_age)

    def archive_years_for(self, municipality: str) -> int | None:
        """The municipality's archive period in years, or None: never erased on schedule."""
        return self.archive_years.get(municipality, self.archive_years.get("*"))

    @property
    def backend(self) -> str:
        """`sqlite` or `postgres`, from the scheme of STAFETTLOGG_DATABASE_URL."""
        if self.database_url.startswith(SQLITE_PREFIX):
            return "sqlite"
        if is_postgres_url(self.database_url):
            return "postgres"
        msg = (
            "STAFETTLOGG_DATABASE_URL må begynne med sqlite:/// eller postgresql://"
            " (for eksempel postgresql://stafettlogg@localhost:5432/stafettlogg)"
        )
        raise SettingsError(msg)

    @property
    def sqlite_path(self) -> str:
        """The SQLite database of the event store, from `sqlite:///path`."""
        if self.backend != "sqlite":
            msg = "STAFETTLOGG_DATABASE_URL er ikke en SQLite-adresse (sqlite:///sti)"
            raise SettingsError(msg)
        return self.database_url[len(SQLITE_PREFIX) :]

    @property
    def postgres_address(self) -> PostgresAddress:
        """The PostgreSQL database of the event store and the views."""
        if self.backend != "postgres":
            msg = "STAFETTLOGG_DATABASE_URL er ikke en PostgreSQL-adresse (postgresql://...)"
            raise SettingsError(msg)
        return parse_postgres_url(
            "STAFETTLOGG_DATABASE_URL", self.database_url, self.postgres.password
        )

    @property
    def key_store_address(self) -> PostgresAddress | None:
        """The PostgreSQL database of the child keys, or None for a SQLite file."""
        if not is_postgres_url(self.key_store):
            return None
        return parse_postgres_url("STAFETTLOGG_KEY_STORE", self.key_store, self.postgres.password)
