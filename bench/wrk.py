"""The production-like run: gunicorn (2 sync workers) on PostgreSQL, Redis for the rate limits, loaded
with wrk on the loopback for a bounded time per endpoint.

    python -m bench.wrk --database-url postgresql+psycopg://postgres@127.0.0.1/bench100 [--duration 20]

It starts gunicorn itself (`bench.app:create_bench_app()`, VIGIE_ENV=production with the keys the database
was generated with), signs the DPO in over HTTP for a session cookie, creates an API token, then runs
`wrk --latency` against the DPO dashboard, the deadline API and the bare page and bare API of the same app
(the floor), each for `--duration` seconds, and stops gunicorn. wrk is Debian's package (installed with
apt-get when missing). Requests carry the cookie or the bearer token as a header (`wrk -H`).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.parse
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.app import BARE, BARE_API
from bench.generate import BENCH_PASSWORD, CONTROLLER_DOMAIN
from bench.run import RESULTS

HOST, PORT = "127.0.0.1", 8123


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    subprocess.run(["apt-get", "install", "-y", "wrk"], check=True)  # noqa: S607 (Debian's package)
    found = shutil.which("wrk")
    if not found:
        raise SystemExit("wrk is not installed and apt-get could not install it.")
    return found


def production_env(database_url: str, data_dir: str) -> dict[str, str]:
    """Production settings with the keys of the data directory the database was generated with."""
    keys = json.loads((Path(data_dir) / "dev-keys.json").read_text())
    extra = {"VIGIE_BLIND_INDEX_KEY": keys["blind_index_key"]} if "blind_index_key" in keys else {}
    return {
        **extra,
        **os.environ,
        "VIGIE_ENV": "production",
        "VIGIE_DATABASE_URL": database_url,
        "VIGIE_DATA_DIR": data_dir,
        "VIGIE_SECRET_KEY": keys["secret_key"],
        "VIGIE_ENCRYPTION_KEYS": keys["encryption_key"],
        "VIGIE_RATELIMIT_STORAGE_URL": os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379"),
        # The bench accounts have no authenticator: the second factor is not demanded here.
        "VIGIE_TOTP_REQUIRED": "0",
    }


def start_gunicorn(env: dict[str, str], workers: int) -> subprocess.Popen[bytes]:
    gunicorn = Path(sys.executable).with_name("gunicorn")
    process = subprocess.Popen(  # noqa: S603 (our own server)
        [
            str(gunicorn),
            "-w",
            str(workers),
            "-b",
            f"{HOST}:{PORT}",
            "--access-logfile",
            "-",
            "--log-level",
            "warning",
            "bench.app:create_bench_app()",
        ],
        env=env,
        cwd=Path(__file__).resolve().parent.parent,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection(HOST, PORT, timeout=2)
            conn.request("GET", "/login")
            if conn.getresponse().status == 200:
                return process
        except OSError:
            time.sleep(0.5)
        if process.poll() is not None:
            raise SystemExit(f"gunicorn stopped: {process.stderr.read().decode() if process.stderr else ''}")
    process.terminate()
    raise SystemExit("gunicorn did not answer within 60 s.")


def _cookies(response: http.client.HTTPResponse) -> dict[str, str]:
    jar = {}
    for header in response.headers.get_all("Set-Cookie") or []:
        name, _sep, rest = header.partition("=")
        jar[name.strip()] = rest.split(";", 1)[0]
    return jar


def session_cookie(email: str) -> str:
    """Sign in through the real form over HTTP; the session cookie (the Secure flag is the browser's
    business: the server reads the cookie it is sent)."""
    conn = http.client.HTTPConnection(HOST, PORT, timeout=30)
    conn.request("GET", "/login")
    page = conn.getresponse()
    jar = _cookies(page)
    html = page.read().decode()
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
    if match is None:
        raise SystemExit("The sign-in page has no CSRF token.")
    body = urllib.parse.urlencode({"email": email, "password": BENCH_PASSWORD, "csrf_token": match[1]})
    cookie = "; ".join(f"{k}={v}" for k, v in jar.items())
    conn.request(
        "POST",
        "/login",
        body=body,
        headers={"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie},
    )
    answer = answer_read(conn)
    jar.update(_cookies(answer))
    if answer.status != 302 or "session" not in jar:
        raise SystemExit(f"Could not sign in as {email} (status {answer.status}).")
    return f"session={jar['session']}"


def answer_read(conn: http.client.HTTPConnection) -> http.client.HTTPResponse:
    response = conn.getresponse()
    response.read()
    return response


def api_token(env: dict[str, str], email: str) -> str:
    vigie = Path(sys.executable).with_name("vigie")
    done = subprocess.run(  # noqa: S603 (our own console script)
        [str(vigie), "tokens", "create", "--email", email],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip().splitlines()[-1]


def run_wrk(wrk: str, path: str, header: str, duration: int, connections: int) -> dict[str, Any]:
    done = subprocess.run(  # noqa: S603 (wrk on the loopback)
        [
            wrk,
            "-t2",
            f"-c{connections}",
            f"-d{duration}s",
            "--latency",
            "-H",
            header,
            f"http://{HOST}:{PORT}{path}",
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=duration + 60,
    )
    out = done.stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out)[1])  # type: ignore[index]
    latency = {p: _ms(re.search(rf"^\s+{p}%\s+(\S+)", out, re.M)[1]) for p in ("50", "90", "99")}  # type: ignore[index]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    total = int(re.search(r"(\d+) requests in", out)[1])  # type: ignore[index]
    return {
        "requests": total,
        "rps": rps,
        "p50_ms": latency["50"],
        "p90_ms": latency["90"],
        "p99_ms": latency["99"],
        "non_2xx": int(errors[1]) if errors else 0,
    }


def _ms(value: str) -> float:
    number, unit = re.match(r"([\d.]+)(\w+)", value).groups()  # type: ignore[union-attr]
    return round(float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit], 2)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.wrk", description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default="postgresql+psycopg://postgres@127.0.0.1/bench100")
    default_dir = "/tmp/bench/data"  # noqa: S108 (the bench's documented place, bench/README.md)
    parser.add_argument("--data-dir", default=os.environ.get("VIGIE_DATA_DIR", default_dir))
    parser.add_argument("--duration", type=int, default=20, help="seconds per endpoint")
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--label", default="")
    args = parser.parse_args(argv)
    wrk = ensure_wrk()
    env = production_env(args.database_url, args.data_dir)
    token = api_token(env, f"dpo1@{CONTROLLER_DOMAIN}")
    server = start_gunicorn(env, args.workers)
    results = []
    try:
        cookie = "Cookie: " + session_cookie(f"dpo1@{CONTROLLER_DOMAIN}")
        bearer = f"Authorization: Bearer {token}"
        for name, path, header in (
            ("bare page (floor)", BARE, cookie),
            ("DPO dashboard", "/", cookie),
            ("bare API (floor)", BARE_API, bearer),
            ("deadline API, unfiltered", "/api/v1/deadlines", bearer),
        ):
            result = {
                "name": name,
                "path": path,
                **run_wrk(wrk, path, header, args.duration, args.connections),
            }
            results.append(result)
            print(
                f"{name:28} {result['rps']:8.1f} req/s  p50 {result['p50_ms']} ms  "
                f"p90 {result['p90_ms']} ms  p99 {result['p99_ms']} ms  non-2xx {result['non_2xx']}",
                flush=True,
            )
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    RESULTS.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out = RESULTS / f"wrk-{args.label or 'run'}-{stamp}.json"
    meta = {"workers": args.workers, "connections": args.connections, "duration_s": args.duration}
    out.write_text(json.dumps({"meta": meta, "results": results}, indent=2), encoding="utf-8")
    print(out)
    return 0 if all(r["non_2xx"] == 0 for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
