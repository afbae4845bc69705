"""In Celery, tenant managers refuse a query when no workspace is in scope.

Tasks here run eagerly, which sends the same task_prerun/postrun signals a worker does; the
beat tasks are also run by a real worker in test_worker.py.
"""

from __future__ import annotations

import pytest
from celery import shared_task
from django.test import Client

from contacts.models import Contact
from workspaces import scope_state
from workspaces.models import Workspace
from workspaces.scoping import (
    ALL_WORKSPACES,
    WorkspaceScopeMissing,
    dangerously_all_workspaces,
    in_workspace,
    workspace_scope,
    workspace_task,
)


@shared_task(name="tests.unscoped_contact_count")
def unscoped_contact_count() -> int:
    return Contact.objects.count()


@shared_task(name="tests.hatch_contact_count")
def hatch_contact_count() -> int:
    with dangerously_all_workspaces(reason="test: count across workspaces"):
        return Contact.objects.count()


@workspace_task(name="tests.scoped_contact_emails")
def scoped_contact_emails(workspace: Workspace) -> list[str]:
    return sorted(Contact.objects.for_workspace(workspace).values_list("email", flat=True))


@shared_task(name="tests.reverse_relation_count")
def reverse_relation_count(contact_id: int) -> int:
    with dangerously_all_workspaces(reason="test: a contact in hand, then no scope"):
        contact = Contact._base_manager.get(pk=contact_id)
    return contact.events.count()


@shared_task(name="tests.workspace_delete")
def workspace_delete(workspace_id: int) -> None:
    # In its own scope: Row Level Security shows the cascade nothing of it without one.
    with workspace_scope(workspace_id) as workspace:
        workspace.delete()


@pytest.fixture
def contacts(ws, other_ws):  # type: ignore[no-untyped-def]
    Contact.objects.create(workspace=ws, email="a@acme.test")
    Contact.objects.create(workspace=other_ws, email="b@globex.test")


def test_a_task_that_forgets_its_scope_is_refused(contacts):
    with pytest.raises(WorkspaceScopeMissing, match="Contact queried in a Celery task"):
        unscoped_contact_count.delay()


def test_a_task_does_not_inherit_the_scope_of_its_caller(ws, contacts):
    with workspace_scope(ws), pytest.raises(WorkspaceScopeMissing):
        unscoped_contact_count.delay()
    with dangerously_all_workspaces(reason="test"), pytest.raises(WorkspaceScopeMissing):
        unscoped_contact_count.delay()


def test_a_workspace_task_queries_its_workspace(ws, contacts):
    assert scoped_contact_emails.delay(ws.pk).get() == ["a@acme.test"]


def test_the_escape_hatch_lets_a_task_work_across_workspaces(contacts):
    assert hatch_contact_count.delay().get() == 2


def test_reverse_relations_are_refused_too(ws, contacts):
    contact = Contact.objects.for_workspace(ws).get()
    with pytest.raises(WorkspaceScopeMissing):
        reverse_relation_count.delay(contact.pk)


def test_django_cascades_are_not_refused(ws, contacts):
    """Deleting a workspace (in its scope, which Row Level Security needs) collects its rows
    through _base_manager, and only its own."""
    workspace_delete.delay(ws.pk)
    assert not Workspace.objects.filter(pk=ws.pk).exists()
    assert list(Contact.objects.values_list("email", flat=True)) == ["b@globex.test"]


def test_outside_tasks_the_managers_do_not_refuse(contacts):
    assert Contact.objects.count() == 2


def test_scopes_end_with_the_task_and_restore_the_caller(ws, contacts):
    before = scope_state.current()  # the test's own (tests/conftest.py)
    with workspace_scope(ws):
        assert scoped_contact_emails.delay(ws.pk).get() == ["a@acme.test"]
        assert scope_state.current() == ws
        assert not scope_state.in_task()
    assert scope_state.current() is before


def test_in_workspace_is_a_no_op_for_a_deleted_workspace(db):
    assert in_workspace(987654321, lambda workspace: "ran") is None


def test_a_request_starts_with_no_scope_and_restores_the_caller(ws, owner):
    client = Client()
    client.force_login(owner)
    seen: list[object] = []

    from django.core.signals import request_started

    def record(**_: object) -> None:
        seen.append(scope_state.current())

    with dangerously_all_workspaces(reason="test"):
        request_started.connect(record)  # runs after the scope boundary (connected later)
        try:
            assert client.get("/").status_code in (200, 302)
        finally:
            request_started.disconnect(record)
        assert scope_state.current() is ALL_WORKSPACES
    assert seen == [None]


def test_the_hatch_needs_a_reason():
    with pytest.raises(ValueError, match="reason"), dangerously_all_workspaces(reason=""):
        pass


def _beat_entries() -> list[tuple[str, dict]]:
    from config.beat_schedule import BEAT_SCHEDULE

    return sorted(BEAT_SCHEDULE.items())


@pytest.mark.parametrize(("name", "entry"), _beat_entries(), ids=[n for n, _ in _beat_entries()])
def test_every_beat_job_runs_in_a_task_without_refusal(name, entry, contacts):
    """Beat jobs span workspaces by nature; each must say so with the escape hatch (a job
    added without it fails here, as it would in the worker)."""
    from config.celery_app import app

    app.loader.import_default_modules()  # autodiscovery is lazy outside a worker
    task = app.tasks[entry["task"]]
    task.apply(args=entry.get("args", ()), kwargs=entry.get("kwargs", {}), throw=True)
