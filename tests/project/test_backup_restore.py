"""The backup and restore commands of docs/operations.md, run for real: a workspace's data
dumped with scripts/backup.sh comes back whole in a new database with scripts/restore.sh,
and the restored database is one this code can run on."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import psycopg
import pytest
from django.db import connection

from contacts.models import Contact
from contacts.services import event_record

ROOT = Path(__file__).resolve().parents[2]


def _url(dbname: str) -> str:
    s = connection.settings_dict
    return f"postgres://{s.get('USER') or 'postgres'}@{s.get('HOST') or '127.0.0.1'}:{s.get('PORT') or 5432}/{dbname}"


def _counts(url: str, workspace_id: int) -> dict[str, int]:
    tables = ["contacts_contact", "contacts_event", "workspaces_apikey"]
    with psycopg.connect(url) as conn:
        return {
            t: conn.execute(
                f"SELECT count(*) FROM {t} WHERE workspace_id = %s",  # noqa: S608
                [workspace_id],
            ).fetchone()[0]
            for t in tables
        }


@pytest.fixture
def restored_name():
    name = f"{connection.settings_dict['NAME']}_restored"
    server = _url("postgres")
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
    yield name
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _run(script: str, arg: str, database_url: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
    }
    return subprocess.run(
        ["bash", str(ROOT / "scripts" / script), arg],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_a_backup_restores_whole_into_a_new_database(
    transactional_db, tenant, restored_name, tmp_path
):
    ws = tenant.workspace
    for i in range(25):
        contact = Contact.objects.create(workspace=ws, email=f"c{i}@acme.test")
        event_record(workspace=ws, contact=contact, name="Signed Up", message_id=f"m-{i}")
    source = _url(connection.settings_dict["NAME"])
    dump = tmp_path / "tendril.dump"

    backed_up = _run("backup.sh", str(dump), source)
    assert backed_up.returncode == 0, backed_up.stderr
    restored = _run("restore.sh", str(dump), _url(restored_name))
    assert restored.returncode == 0, restored.stderr
    assert "schema is older" not in restored.stderr

    assert _counts(_url(restored_name), ws.pk) == _counts(source, ws.pk)
    assert _counts(source, ws.pk)["contacts_event"] == 25


def test_restore_refuses_to_write_over_an_existing_database(transactional_db, tmp_path):
    dump = tmp_path / "empty.dump"
    dump.write_bytes(b"")
    existing = connection.settings_dict["NAME"]
    refused = _run("restore.sh", str(dump), _url(existing))
    assert refused.returncode != 0
    assert f"database {existing} exists" in refused.stderr
