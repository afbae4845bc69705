"""`make dev` (scripts/dev.py) with a DATABASE_URL naming a database that does not exist creates
it; what it cannot fix, it says in one line instead of the pool's traceback."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import psycopg
import pytest
from django.conf import settings
from psycopg import sql

ROOT = Path(__file__).resolve().parents[2]


def _dev_script():
    spec = importlib.util.spec_from_file_location("tendril_dev_script", ROOT / "scripts" / "dev.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _url(name: str, *, port: int | None = None) -> str:
    db = settings.DATABASES["default"]
    user = db.get("USER") or "postgres"
    auth = f"{user}:{db['PASSWORD']}" if db.get("PASSWORD") else user
    return (
        f"postgres://{auth}@{db.get('HOST') or '127.0.0.1'}:{port or db.get('PORT') or 5432}/{name}"
    )


def _exists(name: str) -> bool:
    with psycopg.connect(_url("postgres"), autocommit=True) as conn:
        return bool(
            conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        )


def _drop(name: str) -> None:
    with psycopg.connect(_url("postgres"), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))


@pytest.fixture
def missing_name():
    name = f"{settings.DATABASES['default']['TEST']['NAME']}_devcheck"
    _drop(name)
    yield name
    _drop(name)


def test_a_database_url_naming_a_missing_database_gets_it_created(missing_name, capsys):
    assert not _exists(missing_name)
    assert _dev_script().database_ready(_url(missing_name)) is None
    assert _exists(missing_name)
    assert f'created database "{missing_name}"' in capsys.readouterr().out
    assert _dev_script().database_ready(_url(missing_name)) is None  # and then it is just there


def test_a_server_that_is_not_running_is_named_in_one_line():
    with __import__("socket").socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    problem = _dev_script().database_ready(_url("tendril", port=port))
    assert problem is not None and "\n" not in problem
    assert problem.startswith(f"cannot connect to PostgreSQL at 127.0.0.1:{port}")
    assert problem.endswith("start it, or fix DATABASE_URL")


def test_a_database_it_may_not_create_says_what_to_run(missing_name):
    role = "tendril_devcheck_nocreate"
    with psycopg.connect(_url("postgres"), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))
        conn.execute(
            sql.SQL("CREATE ROLE {} LOGIN PASSWORD 'x' NOCREATEDB").format(sql.Identifier(role))
        )
    try:
        db = settings.DATABASES["default"]
        url = f"postgres://{role}:x@{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}/{missing_name}"
        problem = _dev_script().database_ready(url)
    finally:
        with psycopg.connect(_url("postgres"), autocommit=True) as conn:
            conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))
    assert problem is not None and "\n" not in problem
    assert f'database "{missing_name}" does not exist' in problem
    assert f"run `createdb {missing_name}`" in problem
    assert not _exists(missing_name)
