"""Row Level Security: the database's own wall between workspaces.

Tests act as the application role on the test's own connection (inside its transaction,
so what the fixtures wrote is visible and everything is rolled back).
"""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
from celery import shared_task
from django.apps import apps
from django.conf import settings
from django.db import connection, transaction

from contacts.models import Contact, Event
from workspaces import scope_state
from workspaces.db.rls import child_tables, tables_without_policy, tenant_tables
from workspaces.models import TenantModel
from workspaces.scoping import dangerously_all_workspaces, workspace_scope

NOT_TENANT_TABLES = {
    # Accounts, sessions and Django's bookkeeping: not owned by a workspace.
    "auth_group",
    "auth_group_permissions",
    "auth_permission",
    "django_content_type",
    "django_migrations",
    "django_session",
    "workspaces_user",
    "workspaces_user_groups",
    "workspaces_user_user_permissions",
    "workspaces_workspace",
    # django-axes' login attempts: per email + address, before any workspace is known.
    "axes_accessattempt",
    "axes_accessattemptexpiration",
    "axes_accessfailurelog",
    "axes_accesslog",
}


def _raw():  # type: ignore[no-untyped-def]
    """A psycopg cursor on the test's connection, below Django (no scope is applied)."""
    connection.ensure_connection()
    return connection.connection.cursor()


@pytest.fixture
def two_workspaces(ws, other_ws):  # type: ignore[no-untyped-def]
    from datetime import UTC, datetime

    for workspace, email in ((ws, "a@acme.test"), (other_ws, "b@globex.test")):
        contact = Contact.objects.create(
            workspace=workspace, email=email, anonymous_ids=[f"anon-{email}"]
        )
        Event.objects.create(
            workspace=workspace,
            contact=contact,
            type="track",
            name="Signed Up",
            timestamp=datetime(2026, 1, 1, tzinfo=UTC),
            message_id=f"m-{email}",
        )
    return ws, other_ws


@pytest.fixture
def as_app_role() -> Iterator[None]:
    with transaction.atomic():
        with _raw() as cursor:
            cursor.execute("SELECT set_config('role', %s, true)", [settings.DB_APP_ROLE])
            cursor.execute("SELECT set_config('tendril.workspace_id', '', true)")
            cursor.execute("SELECT set_config('tendril.all_workspaces', '', true)")
        yield
        transaction.set_rollback(True)


def _count(table: str, where: str = "") -> int:
    with _raw() as cursor:
        cursor.execute(f'SELECT count(*) FROM "{table}" {where}')  # noqa: S608 — catalog names
        return int(cursor.fetchone()[0])


def test_every_tenant_table_has_the_policy(db):
    with _raw() as cursor:
        assert tables_without_policy(cursor) == []
        tables = set(tenant_tables(cursor))
        cursor.execute(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " AND n.nspname = current_schema() WHERE c.relkind IN ('r', 'p')"
            " AND NOT c.relispartition AND NOT c.relrowsecurity"
        )
        without_rls = {row[0] for row in cursor.fetchall()}
    # Every table is either a tenant table (or a link table under one) with RLS on, or one
    # of the few that belong to no workspace. A new table must be one or the other.
    assert without_rls == NOT_TENANT_TABLES
    for model in apps.get_models():
        if issubclass(model, TenantModel):
            assert model._meta.db_table in tables, model


def test_without_the_setting_no_tenant_row_is_readable(two_workspaces, as_app_role):
    with _raw() as cursor:
        tables = tenant_tables(cursor) + [t for t, _, _ in child_tables(cursor)]
    for table in tables:
        assert _count(table) == 0, table


def test_the_app_role_is_neither_owner_nor_exempt(db):
    with _raw() as cursor:
        cursor.execute(
            "SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = %s",
            [settings.DB_APP_ROLE],
        )
        assert cursor.fetchone() == (False, False)
        cursor.execute(
            "SELECT count(*) FROM pg_tables WHERE schemaname = current_schema()"
            " AND tableowner = %s",
            [settings.DB_APP_ROLE],
        )
        assert cursor.fetchone()[0] == 0


def test_with_a_workspace_setting_only_its_rows_are_readable(two_workspaces, as_app_role):
    ws, other_ws = two_workspaces
    with _raw() as cursor:
        cursor.execute("SELECT set_config('tendril.workspace_id', %s, true)", [str(ws.pk)])
        tables = tenant_tables(cursor)
    for table in tables:
        assert _count(table, f"WHERE workspace_id <> {int(ws.pk)}") == 0, table
    assert _count("contacts_contact") == 1
    assert _count("contacts_event") == 1
    assert _count("contacts_contactanonymousid") == 1  # kept by a trigger, raw SQL


def test_a_row_of_another_workspace_cannot_be_written(two_workspaces, as_app_role):
    ws, other_ws = two_workspaces
    with _raw() as cursor:
        cursor.execute("SELECT set_config('tendril.workspace_id', %s, true)", [str(ws.pk)])
        cursor.execute(
            "UPDATE contacts_contact SET first_name = 'x' WHERE workspace_id = %s", [other_ws.pk]
        )
        assert cursor.rowcount == 0
        cursor.execute("SAVEPOINT s")
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="row-level security"):
            cursor.execute(
                "UPDATE contacts_contact SET workspace_id = %s WHERE workspace_id = %s",
                [other_ws.pk, ws.pk],
            )
        cursor.execute("ROLLBACK TO SAVEPOINT s")


def test_the_all_workspaces_setting_reads_everything(two_workspaces, as_app_role):
    with _raw() as cursor:
        cursor.execute("SELECT set_config('tendril.all_workspaces', 'on', true)")
    assert _count("contacts_contact") == 2


# --- the scoping layer sets what the database checks ----------------------------------


@pytest.fixture
def rls_on(db) -> Iterator[None]:  # type: ignore[no-untyped-def]
    """TENANT_RLS for this test's connection (the whole suite runs with it, so this holds
    even with TENANT_RLS=false in the environment), and the test's own code leaves the
    operator's all-workspaces scope (tests/conftest.py): it starts with no scope, as a
    request or a task does."""
    was = connection.tenant_rls
    connection.tenant_rls = True
    token = scope_state.enter(None)
    with transaction.atomic():
        connection._assume_app_role()
        try:
            yield
        finally:
            transaction.set_rollback(True)
    scope_state.leave(token)
    connection.tenant_rls = was
    connection._tenant_setting = None


def _emails() -> list[str]:
    return sorted(Contact._base_manager.values_list("email", flat=True))


def test_the_suite_itself_runs_under_rls(db):
    """The test settings turn the wall on: the application role, not the owner."""
    assert settings.TENANT_RLS and connection.tenant_rls
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user")
        assert cursor.fetchone()[0] == settings.DB_APP_ROLE


def test_without_a_scope_no_tenant_model_reads_a_row(two_workspaces, rls_on):
    with _raw() as cursor:
        tables = set(tenant_tables(cursor)) | {t for t, _, _ in child_tables(cursor)}
    models = [
        model
        for model in apps.get_models(include_auto_created=True)
        if model._meta.db_table in tables
    ]
    assert {Contact, Event} < set(models)
    for model in models:
        assert model._base_manager.count() == 0, model
    with dangerously_all_workspaces(reason="test: the rows are there"):
        assert Contact._base_manager.count() == 2
        assert Event._base_manager.count() == 2


def test_the_scoping_layer_sets_the_workspace_for_the_database(two_workspaces, rls_on):
    ws, other_ws = two_workspaces
    assert _emails() == []  # no scope: nothing, even with no filter at all
    with workspace_scope(ws):
        assert _emails() == ["a@acme.test"]
        with workspace_scope(other_ws):
            assert _emails() == ["b@globex.test"]
        assert _emails() == ["a@acme.test"]
    with dangerously_all_workspaces(reason="test"):
        assert _emails() == ["a@acme.test", "b@globex.test"]
    assert _emails() == []


def test_a_rolled_back_savepoint_does_not_leave_a_stale_setting(two_workspaces, rls_on):
    ws, other_ws = two_workspaces
    with workspace_scope(ws):
        assert _emails() == ["a@acme.test"]
        try:
            with transaction.atomic():
                with workspace_scope(other_ws):
                    assert _emails() == ["b@globex.test"]
                raise RuntimeError("roll back")
        except RuntimeError:
            pass
        assert _emails() == ["a@acme.test"]


@shared_task(name="tests.rls_raw_contact_count")
def raw_contact_count() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM contacts_contact")
        return int(cursor.fetchone()[0])


def test_a_task_that_forgets_its_scope_reads_nothing_even_in_raw_sql(two_workspaces, rls_on):
    with dangerously_all_workspaces(reason="test: the caller's scope is not inherited"):
        assert raw_contact_count.delay().get() == 0


# --- every interface works under RLS (it would read nothing if it did not set the scope) ---


def test_web_pages_set_the_workspace(two_workspaces, owner, rls_on):
    from django.test import Client

    client = Client()
    client.force_login(owner)
    page = client.get("/contacts/")
    assert page.status_code == 200
    assert b"a@acme.test" in page.content and b"b@globex.test" not in page.content
    export = client.get("/contacts/export.csv")  # streamed after the view returns
    body = b"".join(export.streaming_content)
    assert b"a@acme.test" in body and b"b@globex.test" not in body


def test_the_management_api_sets_the_workspace(two_workspaces, api, rls_on):
    listed = api.get("/api/v1/contacts/")
    assert [c["email"] for c in listed.json()["results"]] == ["a@acme.test"]
    created = api.post(
        "/api/v1/contacts/", {"email": "new@acme.test"}, format="json", HTTP_IDEMPOTENCY_KEY="k"
    )
    assert created.status_code == 201


def test_ingestion_sets_the_workspace(two_workspaces, tenant, rls_on):
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {tenant.write_key}")
    body = {"userId": "u-rls", "event": "Signed Up", "messageId": "m-rls"}
    assert client.post("/v1/track", body, format="json").status_code == 200
    with workspace_scope(tenant.workspace):
        assert Event._base_manager.filter(message_id="m-rls").count() == 1


@shared_task(name="tests.rls_scoped_emails")
def scoped_emails(workspace_id: int) -> list[str]:
    from workspaces.scoping import in_workspace

    return in_workspace(workspace_id, lambda workspace: _emails())


def test_workspace_tasks_set_the_workspace(two_workspaces, rls_on):
    ws, _ = two_workspaces
    assert scoped_emails.delay(ws.pk).get() == ["a@acme.test"]


def test_a_token_page_runs_in_the_workspace_its_token_names(two_workspaces, rls_on):
    from urllib.parse import urlsplit

    from django.test import Client

    from messaging import tokens

    ws, other_ws = two_workspaces
    with workspace_scope(ws):
        contact = Contact.objects.get(workspace=ws)
    url = urlsplit(tokens.preferences_url(ws.pk, contact.pk)).path
    page = Client().get(url)
    assert page.status_code == 200
    assert b"a@acme.test" in page.content  # without the token's scope it would find no one
    broken = Client().get(url[:-3] + "xyz")  # altered: names no workspace
    assert broken.status_code == 400


@shared_task(name="tests.rls_beat_invitations_expire")
def beat_invitations_expire() -> int:
    from workspaces.tasks import invitations_expire

    return invitations_expire()


def test_a_beat_job_reaches_every_workspace_through_the_hatch(two_workspaces, rls_on):
    from datetime import timedelta

    from django.utils import timezone

    from workspaces.models import Invitation

    ws, other_ws = two_workspaces
    past, future = timezone.now() - timedelta(days=1), timezone.now() + timedelta(days=1)
    for workspace, expires in ((ws, past), (other_ws, past), (ws, future)):
        with workspace_scope(workspace):
            Invitation.objects.create(
                workspace=workspace,
                email=f"{expires.timestamp()}@x.test",
                token_hash=f"{workspace.pk}-{expires.timestamp()}",
                expires_at=expires,
            )
    assert beat_invitations_expire.delay().get() == 2
    with dangerously_all_workspaces(reason="test"):
        assert list(Invitation.objects.values_list("workspace_id", flat=True)) == [ws.pk]


def test_health_fails_when_the_server_cannot_act_as_the_app_role(db, client, monkeypatch):
    assert client.get("/healthz").status_code == 200
    # e.g. DB_APP_ROLE was never created: the server would run as the owner, without the wall
    monkeypatch.setattr(connection, "tenant_role_active", False)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert "cannot SET ROLE tendril_app" in response.json()["checks"]["postgres"]


@pytest.mark.django_db(transaction=True)
def test_a_terminated_backend_fails_as_djangos_database_error_when_the_scope_is_set(ws):
    # The workspace setting goes ahead of the statement on a raw cursor: a backend the server
    # terminated must still surface as Django's OperationalError (the API's 503 and a
    # discarded connection), not as psycopg's own error (a 500).
    from django.db import OperationalError

    token = scope_state.enter(None)
    try:
        with dangerously_all_workspaces(reason="test: a setting other than the next one"):
            Contact.objects.count()
        pid = connection.connection.info.backend_pid
        params = connection.get_connection_params()
        with psycopg.connect(
            **{k: v for k, v in params.items() if k in {"dbname", "user", "host", "port"}},
            autocommit=True,
        ) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", [pid])
        with pytest.raises(OperationalError), workspace_scope(ws):
            Contact.objects.count()
        assert connection.errors_occurred
    finally:
        scope_state.leave(token)
        connection.close()
