"""Configuration: production refuses to start without secrets; rate limits can live in Redis."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import redis
from cryptography.fernet import Fernet

from vigie.config import ConfigurationError, load_config

VIGIE = str(Path(sys.executable).with_name("vigie"))
KEY = Fernet.generate_key().decode()


def test_production_refuses_to_start_without_a_secret_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="VIGIE_SECRET_KEY"):
        load_config(tmp_path, env={"VIGIE_ENCRYPTION_KEYS": KEY})
    with pytest.raises(ConfigurationError, match="VIGIE_SECRET_KEY"):
        load_config(tmp_path, env={"VIGIE_SECRET_KEY": "dev", "VIGIE_ENCRYPTION_KEYS": KEY})


def test_production_refuses_to_start_without_an_encryption_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="VIGIE_ENCRYPTION_KEYS"):
        load_config(tmp_path, env={"VIGIE_SECRET_KEY": "s" * 40})
    with pytest.raises(ConfigurationError, match="not a Fernet key"):
        load_config(tmp_path, env={"VIGIE_SECRET_KEY": "s" * 40, "VIGIE_ENCRYPTION_KEYS": "abc"})


def test_production_reads_the_environment(tmp_path: Path) -> None:
    other = Fernet.generate_key().decode()
    cfg = load_config(
        tmp_path,
        env={
            "VIGIE_SECRET_KEY": "s" * 40,
            "VIGIE_ENCRYPTION_KEYS": f"{KEY}, {other}",
            "VIGIE_DATABASE_URL": "postgresql+psycopg://vigie@db/vigie",
            "VIGIE_SMTP_PORT": "2525",
            "VIGIE_SMTP_TLS": "true",
            "VIGIE_RATELIMIT_STORAGE_URL": "redis://127.0.0.1:6379",
        },
    )
    assert cfg["ENCRYPTION_KEYS"] == [KEY, other]
    assert cfg["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://vigie@db/vigie"
    assert (cfg["SMTP_PORT"], cfg["SMTP_TLS"]) == (2525, True)
    assert cfg["SESSION_COOKIE_SECURE"] is True
    assert cfg["RATELIMIT_STORAGE_URI"] == "redis://127.0.0.1:6379"


def test_development_generates_and_keeps_its_keys(tmp_path: Path) -> None:
    first = load_config(tmp_path, env={"VIGIE_ENV": "development"})
    second = load_config(tmp_path, env={"VIGIE_ENV": "development"})
    assert first["SECRET_KEY"] == second["SECRET_KEY"]
    assert first["ENCRYPTION_KEYS"] == second["ENCRYPTION_KEYS"]
    assert first["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'vigie.sqlite3'}"
    assert (tmp_path / "dev-keys.json").stat().st_mode & 0o777 == 0o600


def test_unknown_environment_name(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="VIGIE_ENV"):
        load_config(tmp_path, env={"VIGIE_ENV": "staging"})


def _clean_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIGIE_", "FLASK_"))}
    env["VIGIE_DATA_DIR"] = str(tmp_path)
    env.update(extra)
    return env


def test_the_cli_says_what_to_set_and_exits_2(tmp_path: Path) -> None:
    result = subprocess.run(
        [VIGIE, "orgs", "create", "--name", "X", "--kind", "partner"],
        env=_clean_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "VIGIE_SECRET_KEY" in result.stderr
    assert "Traceback" not in result.stderr


LIMIT_SCRIPT = """
import sys
from vigie import create_app
from flask_migrate import upgrade
app = create_app({"ENV_NAME": "testing", "WTF_CSRF_ENABLED": False, "RATELIMIT_KEY_PREFIX": sys.argv[3]})
with app.app_context():
    upgrade()
client = app.test_client()
statuses = [client.post("/login", data={"email": sys.argv[1], "password": "wrong password!!"}).status_code
            for _ in range(int(sys.argv[2]))]
print(" ".join(map(str, statuses)))
"""


def test_rate_limits_are_shared_between_workers_through_redis(tmp_path: Path) -> None:
    """Two processes (two gunicorn workers) count failed logins in the same Redis storage."""
    storage = "redis://127.0.0.1:6379/0"
    email = "someone@example.fr"
    prefix = f"vigie-test-{uuid.uuid4().hex}"  # this run's counters only, whatever ran before
    env = _clean_env(tmp_path, VIGIE_RATELIMIT_STORAGE_URL=storage)

    def worker(attempts: int) -> list[int]:
        out = subprocess.run(
            [sys.executable, "-c", LIMIT_SCRIPT, email, str(attempts), prefix],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        return [int(s) for s in out.stdout.split()]

    assert worker(3) == [401, 401, 401]
    assert worker(3) == [401, 401, 429]  # the second worker sees the first one's failures
    with redis.Redis.from_url(storage) as client:
        keys = client.keys(f"*{prefix}*")
        assert any(email.encode() in key for key in keys), "the limits should be stored in Redis"
        client.delete(*keys)


def test_late_thresholds_and_upload_limit_from_the_environment(tmp_path: Path) -> None:
    cfg = load_config(
        tmp_path,
        env={
            "VIGIE_ENV": "development",
            "VIGIE_BREACH_REPORT_LATE_HOURS": "12",
            "VIGIE_ACCESS_FORWARD_LATE_HOURS": "48",
            "VIGIE_UPLOAD_MAX_BYTES": "2048",
        },
    )
    assert (cfg["BREACH_REPORT_LATE_HOURS"], cfg["ACCESS_FORWARD_LATE_HOURS"], cfg["UPLOAD_MAX_BYTES"]) == (
        12,
        48,
        2048,
    )
    with pytest.raises(ConfigurationError, match="VIGIE_BREACH_REPORT_LATE_HOURS"):
        load_config(tmp_path, env={"VIGIE_ENV": "development", "VIGIE_BREACH_REPORT_LATE_HOURS": "soon"})


@pytest.mark.parametrize(("value", "hops"), [("", 0), ("0", 0), ("1", 1), ("2", 2)])
def test_trusted_proxies_from_the_environment(tmp_path: Path, value: str, hops: int) -> None:
    env = {"VIGIE_ENV": "development", "VIGIE_TRUSTED_PROXIES": value}
    assert load_config(tmp_path, env=env)["TRUSTED_PROXIES"] == hops


def test_trusted_proxies_must_be_a_count(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="VIGIE_TRUSTED_PROXIES"):
        load_config(tmp_path, env={"VIGIE_ENV": "development", "VIGIE_TRUSTED_PROXIES": "nginx"})
