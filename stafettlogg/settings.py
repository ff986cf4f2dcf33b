"""Settings, read once from `STAFETTLOGG_*` environment variables.

This is the only module that reads the environment. Every setting has a default
that works on a fresh clone: data lives under `./var`, where the SQLite event
store, the child key store and the key file appear on first start.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from domain.consent import DEFAULT_YOUTH_CONSENT_AGE, YOUTH_CONSENT_AGE_RANGE


class SettingsError(ValueError):
    """A setting has a value that cannot be used; the message names the variable."""


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


@dataclass(frozen=True)
class Settings:
    data_dir: Path = Path("var")
    database_url: str = ""
    key_file: Path = Path()
    key_store: str = ""
    host: str = "127.0.0.1"
    port: int = 8000
    youth_consent_age: int = DEFAULT_YOUTH_CONSENT_AGE
    youth_consent_ages: dict[str, int] = field(default_factory=dict)
    snapshot_interval: int = 50
    token_ttl_minutes: int = 480
    token_algorithm: str = "HS256"
    rate_limit_per_minute: int = 1200
    views_path: str = ""
    disclosure_threshold: int = 5

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        data_dir = Path(env.get("STAFETTLOGG_DATA_DIR") or "var")
        return cls(
            data_dir=data_dir,
            database_url=env.get("STAFETTLOGG_DATABASE_URL")
            or f"sqlite:///{data_dir / 'stafettlogg.sqlite3'}",
            key_file=Path(env.get("STAFETTLOGG_KEY_FILE") or data_dir / "keys.json"),
            key_store=env.get("STAFETTLOGG_KEY_STORE") or str(data_dir / "child-keys.sqlite3"),
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
            snapshot_interval=_int(env, "STAFETTLOGG_SNAPSHOT_INTERVAL", 50, 2, 100_000),
            token_ttl_minutes=_int(env, "STAFETTLOGG_TOKEN_TTL_MINUTES", 480, 1, 7 * 24 * 60),
            rate_limit_per_minute=_int(
                env, "STAFETTLOGG_RATE_LIMIT_PER_MINUTE", 1200, 1, 1_000_000
            ),
            views_path=env.get("STAFETTLOGG_VIEWS_PATH") or str(data_dir / "views.sqlite3"),
            # Counts below the threshold are hidden; never below 3 (brief, section 4).
            disclosure_threshold=_int(env, "STAFETTLOGG_DISCLOSURE_THRESHOLD", 5, 3, 1000),
        )

    def youth_consent_age_for(self, municipality: str) -> int:
        return self.youth_consent_ages.get(municipality, self.youth_consent_age)

    @property
    def sqlite_path(self) -> str:
        """The SQLite database of the event store, from `sqlite:///path`."""
        prefix = "sqlite:///"
        if not self.database_url.startswith(prefix):
            msg = "STAFETTLOGG_DATABASE_URL må begynne med sqlite:/// (PostgreSQL kommer senere)"
            raise SettingsError(msg)
        return self.database_url[len(prefix) :]
