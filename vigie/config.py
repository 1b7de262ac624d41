"""Configuration classes, read from the environment when the app is created (never at import)."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import secrets
from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Any

import holidays
from cryptography.fernet import Fernet

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


class ConfigurationError(RuntimeError):
    """The application cannot start with this configuration; the message says what to set."""


def _bool(value: str | None, default: bool) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


class BaseConfig:
    ENV_NAME = "base"
    TESTING = False
    DEBUG = False
    SQLALCHEMY_TRACK_MODIFICATIONS = False
    BABEL_DEFAULT_LOCALE = "fr"
    BABEL_DEFAULT_TIMEZONE = "Europe/Paris"
    LANGUAGES = ("fr", "en")
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = True
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_SECURE = True
    WTF_CSRF_TIME_LIMIT = None  # the session lifetime bounds the token
    PERMANENT_SESSION_LIFETIME = 12 * 3600
    MAX_CONTENT_LENGTH = 20 * 1024 * 1024
    RATELIMIT_STORAGE_URI = "memory://"
    RATELIMIT_HEADERS_ENABLED = True
    LOGIN_RATE_LIMIT_PER_ACCOUNT = "5 per 15 minutes"
    LOGIN_RATE_LIMIT_PER_ADDRESS = "20 per 15 minutes"
    PASSWORD_MIN_LENGTH = 12
    # Sessions (vigie.auth.sessions): signed out after this long without a request, and this long after
    # signing in whatever the activity (VIGIE_SESSION_IDLE_MINUTES, VIGIE_SESSION_LIFETIME_HOURS).
    SESSION_IDLE_TIMEOUT = 30 * 60  # seconds
    SESSION_LIFETIME = 12 * 3600  # seconds
    # Two-factor authentication (vigie.auth.twofactor): mandatory for these roles when TOTP_REQUIRED
    # (VIGIE_TOTP_REQUIRED; on in production, off in development so the demo needs no authenticator).
    TOTP_REQUIRED = False
    # Reverse proxies in front whose X-Forwarded-For/-Proto/-Host are believed (VIGIE_TRUSTED_PROXIES).
    # 0: none, the client address is the connection's. Behind nginx, 1: the rate limits and the sign-in
    # log then see the visitor's address, not the proxy's. More than the real number lets clients forge
    # their address.
    TRUSTED_PROXIES = 0
    TOTP_REQUIRED_ROLES: tuple[str, ...] = ("admin", "dpo")
    TOTP_ISSUER = "Vigie"  # the name authenticator applications show
    SECOND_FACTOR_RATE_LIMIT_PER_ACCOUNT = "5 per 15 minutes"
    SECOND_FACTOR_RATE_LIMIT_PER_ADDRESS = "20 per 15 minutes"
    # Single-use links (vigie.auth.account_tokens).
    INVITATION_VALIDITY = 7 * 24 * 3600  # seconds
    PASSWORD_RESET_VALIDITY = 3600  # seconds
    RESET_RATE_LIMIT_PER_ACCOUNT = "3 per hour"  # per address typed, known or not
    RESET_RATE_LIMIT_PER_ADDRESS = "10 per hour"  # per client IP address
    # Sign-in log (vigie.auth.login_log): rows older than this are deleted as new ones are written.
    # Also the period of the retention policy "sign_in_log" (VIGIE_RETENTION_SIGN_IN_LOG_DAYS).
    LOGIN_EVENTS_RETENTION_DAYS = 180
    # Retention (`vigie retention apply`; the reasons for these defaults are in vigie/retention/policies.py
    # and compliance/retention.py), each set by VIGIE_<name>.
    RETENTION_ACCESS_REQUEST_MONTHS = 12  # identities anonymised, after the answer
    RETENTION_STAFF_GRANT_YEARS = 5  # authorised staff deleted, after the partner's last convention
    RETENTION_PARTNER_DPO_YEARS = 5  # partner DPO contacts deleted, after the partner's last convention
    RETENTION_OUTBOX_DAYS = 90  # e-mails sent or given up, erased
    # Delays the convention measures (it says "immediately"): beyond these, a report is flagged late.
    BREACH_REPORT_LATE_HOURS = 24
    ACCESS_FORWARD_LATE_HOURS = 24
    UPLOAD_MAX_BYTES = 10 * 1024 * 1024
    # The periodic review of a partner's authorised staff: due this many months after its last certified
    # list (compliance.staff_lists.review).
    STAFF_REVIEW_MONTHS = 12
    SMTP_HOST = "localhost"
    SMTP_PORT = 25
    SMTP_USER: str | None = None
    SMTP_PASSWORD: str | None = None
    SMTP_TLS = False
    MAIL_FROM = "vigie@localhost"
    BASE_URL = "http://127.0.0.1:5000"
    WKHTMLTOPDF_PATH: str | None = None
    SECRET_KEY: str | None = None
    ENCRYPTION_KEYS: list[str] = []
    # Keys the blind index of people (vigie.people): HMAC-SHA256, never one of the keys above.
    BLIND_INDEX_KEY: str | None = None
    # Working-day calendar (vigie.deadlines.calendar): None is metropolitan France; a `holidays`
    # subdivision adds its local holidays ("57" Moselle, "6AE" Alsace: Good Friday, 26 December).
    HOLIDAY_SUBDIVISION: str | None = None
    CLOSURE_DAYS: tuple[date, ...] = ()  # the Département's extra closure days


class DevelopmentConfig(BaseConfig):
    ENV_NAME = "development"
    SESSION_COOKIE_SECURE = False
    REMEMBER_COOKIE_SECURE = False


class TestingConfig(DevelopmentConfig):
    ENV_NAME = "testing"
    TESTING = True
    # Argon2 at production cost would make every login in the suite slow; tests set it low.
    ARGON2_TIME_COST = 1
    ARGON2_MEMORY_COST = 1024


class ProductionConfig(BaseConfig):
    ENV_NAME = "production"
    TOTP_REQUIRED = True


CONFIGS: dict[str, type[BaseConfig]] = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}


def _dev_keys(data_dir: Path) -> dict[str, str]:
    """Keys for a local trial, generated once and kept in the data directory."""
    path = data_dir / "dev-keys.json"
    if path.exists():
        loaded: dict[str, str] = json.loads(path.read_text())
        if "blind_index_key" in loaded:
            return loaded
        keys = loaded | {"blind_index_key": secrets.token_urlsafe(48)}  # a file from before the index
    else:
        keys = {
            "secret_key": secrets.token_urlsafe(48),
            "encryption_key": Fernet.generate_key().decode(),
            "blind_index_key": secrets.token_urlsafe(48),
        }
    data_dir.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(keys))
    path.chmod(0o600)
    return keys


def load_config(
    default_data_dir: Path, env: Mapping[str, str] | None = None, overrides: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Build the configuration dict from VIGIE_* variables, then apply explicit overrides."""
    env = os.environ if env is None else env
    overrides = dict(overrides or {})
    env_name = overrides.pop("ENV_NAME", None) or env.get("VIGIE_ENV", "production")
    if env_name not in CONFIGS:
        raise ConfigurationError(
            f"VIGIE_ENV={env_name!r} is unknown: use one of {', '.join(sorted(CONFIGS))}."
        )
    cls = CONFIGS[env_name]
    cfg: dict[str, Any] = {k: getattr(cls, k) for k in dir(cls) if k.isupper()}

    data_dir = Path(overrides.get("DATA_DIR") or env.get("VIGIE_DATA_DIR") or default_data_dir)
    cfg["DATA_DIR"] = str(data_dir)
    cfg["SQLALCHEMY_DATABASE_URI"] = env.get("VIGIE_DATABASE_URL") or (
        f"sqlite:///{data_dir / 'vigie.sqlite3'}"
    )
    if env.get("VIGIE_SECRET_KEY"):
        cfg["SECRET_KEY"] = env["VIGIE_SECRET_KEY"]
    if env.get("VIGIE_ENCRYPTION_KEYS"):
        cfg["ENCRYPTION_KEYS"] = [k.strip() for k in env["VIGIE_ENCRYPTION_KEYS"].split(",") if k.strip()]
    if env.get("VIGIE_BLIND_INDEX_KEY"):
        cfg["BLIND_INDEX_KEY"] = env["VIGIE_BLIND_INDEX_KEY"].strip()
    for name in ("SMTP_HOST", "SMTP_USER", "SMTP_PASSWORD", "MAIL_FROM", "BASE_URL"):
        if env.get(f"VIGIE_{name}"):
            cfg[name] = env[f"VIGIE_{name}"]
    if env.get("VIGIE_SMTP_PORT"):
        try:
            cfg["SMTP_PORT"] = int(env["VIGIE_SMTP_PORT"])
        except ValueError as exc:
            raise ConfigurationError("VIGIE_SMTP_PORT must be a port number.") from exc
    cfg["SMTP_TLS"] = _bool(env.get("VIGIE_SMTP_TLS"), cfg["SMTP_TLS"])
    cfg["TOTP_REQUIRED"] = _bool(env.get("VIGIE_TOTP_REQUIRED"), cfg["TOTP_REQUIRED"])
    if env.get("VIGIE_SESSION_IDLE_MINUTES"):
        minutes = _positive_int(env["VIGIE_SESSION_IDLE_MINUTES"], "VIGIE_SESSION_IDLE_MINUTES")
        cfg["SESSION_IDLE_TIMEOUT"] = 60 * minutes
    if env.get("VIGIE_SESSION_LIFETIME_HOURS"):
        hours = _positive_int(env["VIGIE_SESSION_LIFETIME_HOURS"], "VIGIE_SESSION_LIFETIME_HOURS")
        cfg["SESSION_LIFETIME"] = cfg["PERMANENT_SESSION_LIFETIME"] = 3600 * hours
    for name in (
        "BREACH_REPORT_LATE_HOURS",
        "ACCESS_FORWARD_LATE_HOURS",
        "UPLOAD_MAX_BYTES",
        "STAFF_REVIEW_MONTHS",
    ):
        if env.get(f"VIGIE_{name}"):
            cfg[name] = _positive_int(env[f"VIGIE_{name}"], f"VIGIE_{name}")
    for name in (
        "RETENTION_ACCESS_REQUEST_MONTHS",
        "RETENTION_STAFF_GRANT_YEARS",
        "RETENTION_PARTNER_DPO_YEARS",
        "RETENTION_OUTBOX_DAYS",
    ):
        if env.get(f"VIGIE_{name}"):
            cfg[name] = _positive_int(env[f"VIGIE_{name}"], f"VIGIE_{name}")
    if env.get("VIGIE_RETENTION_SIGN_IN_LOG_DAYS"):
        days = env["VIGIE_RETENTION_SIGN_IN_LOG_DAYS"]
        cfg["LOGIN_EVENTS_RETENTION_DAYS"] = _positive_int(days, "VIGIE_RETENTION_SIGN_IN_LOG_DAYS")
    if env.get("VIGIE_RATELIMIT_STORAGE_URL"):
        cfg["RATELIMIT_STORAGE_URI"] = env["VIGIE_RATELIMIT_STORAGE_URL"]
    if env.get("VIGIE_TRUSTED_PROXIES", "").strip() not in ("", "0"):
        cfg["TRUSTED_PROXIES"] = _positive_int(env["VIGIE_TRUSTED_PROXIES"], "VIGIE_TRUSTED_PROXIES")
    if env.get("VIGIE_WKHTMLTOPDF"):
        cfg["WKHTMLTOPDF_PATH"] = env["VIGIE_WKHTMLTOPDF"]
    if env.get("VIGIE_HOLIDAY_SUBDIVISION"):
        cfg["HOLIDAY_SUBDIVISION"] = _subdivision(env["VIGIE_HOLIDAY_SUBDIVISION"].strip())
    if env.get("VIGIE_CLOSURE_DAYS"):
        cfg["CLOSURE_DAYS"] = _closure_days(env["VIGIE_CLOSURE_DAYS"])

    cfg.update(overrides)

    if cls is not ProductionConfig and not (
        cfg.get("SECRET_KEY") and cfg.get("ENCRYPTION_KEYS") and cfg.get("BLIND_INDEX_KEY")
    ):
        keys = _dev_keys(Path(cfg["DATA_DIR"]))
        cfg["SECRET_KEY"] = cfg["SECRET_KEY"] or keys["secret_key"]
        cfg["ENCRYPTION_KEYS"] = cfg.get("ENCRYPTION_KEYS") or [keys["encryption_key"]]
        cfg["BLIND_INDEX_KEY"] = cfg.get("BLIND_INDEX_KEY") or keys["blind_index_key"]
    _check(cfg, production=cls is ProductionConfig)
    return cfg


def _positive_int(value: str, name: str) -> int:
    try:
        number = int(value.strip())
    except ValueError:
        number = 0
    if number <= 0:
        raise ConfigurationError(f"{name}={value!r} is not a whole number above zero (e.g. 30).")
    return number


def _subdivision(value: str) -> str:
    # Checked at start-up: an unknown code would otherwise fail at the first deadline computed.
    known = (*holidays.France.subdivisions, *holidays.France.subdivisions_aliases)
    if value not in known:
        raise ConfigurationError(
            f"VIGIE_HOLIDAY_SUBDIVISION={value!r} is not a French subdivision known to the holidays "
            f"package: use one of {', '.join(sorted(known))} (e.g. 57 for Moselle, 6AE for Alsace)."
        )
    return value


def _closure_days(value: str) -> tuple[date, ...]:
    days = set()
    for item in filter(None, (part.strip() for part in value.split(","))):
        # Only YYYY-MM-DD: date.fromisoformat alone would also take 20250508 or 2025-W19-4.
        try:
            day = date.fromisoformat(item) if _ISO_DATE.fullmatch(item) else None
        except ValueError:  # well-formed but impossible, e.g. 2025-02-30
            day = None
        if day is None:
            raise ConfigurationError(
                f"VIGIE_CLOSURE_DAYS holds {item!r}, which is not a date: list the closure days as "
                "YYYY-MM-DD, comma-separated (e.g. 2025-05-02,2025-12-24)."
            )
        days.add(day)
    return tuple(sorted(days))


def _check(cfg: dict[str, Any], production: bool) -> None:
    if production:
        secret = cfg.get("SECRET_KEY")
        if not secret or secret in {"dev", "change-me", "secret"} or len(secret) < 32:
            raise ConfigurationError(
                "Vigie refuses to start in production without a secret key: set VIGIE_SECRET_KEY to "
                "a random string of at least 32 characters (or VIGIE_ENV=development for a local trial)."
            )
        if not cfg.get("ENCRYPTION_KEYS"):
            raise ConfigurationError(
                "Vigie refuses to start in production without an encryption key: set "
                "VIGIE_ENCRYPTION_KEYS to one or more Fernet keys, newest first, comma-separated "
                "(python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())')."
            )
    for key in cfg["ENCRYPTION_KEYS"]:
        try:
            Fernet(key)
        except (ValueError, TypeError) as exc:
            raise ConfigurationError(
                "VIGIE_ENCRYPTION_KEYS holds a value that is not a Fernet key "
                "(32 url-safe base64-encoded bytes)."
            ) from exc
    blind = cfg.get("BLIND_INDEX_KEY")
    if blind and len(blind) < 32:
        raise ConfigurationError(
            "VIGIE_BLIND_INDEX_KEY is too short: give a random string of at least 32 characters "
            "(python -c 'import secrets; print(secrets.token_urlsafe(48))'); after changing it, run "
            "`vigie people reindex`."
        )
    if blind and (blind == cfg.get("SECRET_KEY") or blind in cfg["ENCRYPTION_KEYS"]):
        raise ConfigurationError(
            "VIGIE_BLIND_INDEX_KEY must be a key of its own, not VIGIE_SECRET_KEY nor one of "
            "VIGIE_ENCRYPTION_KEYS: a leak of one key must not give away the others."
        )
    if not blind and cfg.get("SECRET_KEY"):
        # DESIGN.md's environment is a public contract: a deployment that sets only its variables still
        # starts. The index key is then derived from the secret key (one-way, under a label of its own);
        # changing VIGIE_SECRET_KEY then calls for `vigie people reindex`, which a key of its own avoids.
        cfg["BLIND_INDEX_KEY"] = hmac.new(
            str(cfg["SECRET_KEY"]).encode(), b"vigie blind index v1", hashlib.sha256
        ).hexdigest()
