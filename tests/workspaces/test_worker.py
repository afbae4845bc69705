"""The Celery plumbing works end to end with a real worker process."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.support.worker import wait_for
from workspaces.models import Invitation
from workspaces.tasks import invitations_expire

pytestmark = [pytest.mark.integration]


def test_a_real_worker_runs_the_invitation_expiry_task(celery_worker, tenant):
    Invitation.objects.create(
        workspace=tenant.workspace,
        email="late@acme.test",
        token_hash="x" * 64,
        expires_at=timezone.now() - timedelta(days=1),
    )
    Invitation.objects.create(
        workspace=tenant.workspace,
        email="fresh@acme.test",
        token_hash="y" * 64,
        expires_at=timezone.now() + timedelta(days=1),
    )
    invitations_expire.delay()
    wait_for(
        lambda: not Invitation.objects.filter(email="late@acme.test").exists(), message="expiry"
    )
    assert Invitation.objects.filter(email="fresh@acme.test").exists()


def _envelopes_after(send, queue: str) -> list[dict]:  # type: ignore[no-untyped-def]
    import json

    from config.celery_app import app
    from config.fast_publish import client

    app.control.purge()
    send()
    raw = client().lrange(queue, 0, -1)
    app.control.purge()
    return [json.loads(item) for item in raw]


def _shape(value, path=""):  # type: ignore[no-untyped-def]
    """Every key path of a nested dict with its type (values differ: ids, tags)."""
    if isinstance(value, dict):
        return {k: _shape(v, f"{path}.{k}") for k, v in value.items()}
    return type(value).__name__


def test_the_fast_publish_writes_the_envelope_kombu_writes():
    """config.fast_publish reimplements kombu's Redis envelope; if a kombu or Celery
    upgrade changes it, this fails (and the workers would have). A real worker consuming
    such messages: tests/segments/test_realtime.py (/v1/track → membership)."""
    import base64
    import json

    from django.test import override_settings

    from config.celery_app import app
    from config.fast_publish import publish, queue_of
    from contacts.tasks import process_events

    args = (7, [1, 2, 3], {"5": ["email"]})
    queue = queue_of(process_events)
    assert queue == "pipeline"  # CELERY_TASK_ROUTES
    with override_settings(CELERY_TASK_ALWAYS_EAGER=False):
        assert not app.conf.task_always_eager
        (theirs,) = _envelopes_after(
            lambda: process_events.apply_async(args, argsrepr="(7, …)"), queue
        )
        (ours,) = _envelopes_after(lambda: publish(process_events, args, argsrepr="(7, …)"), queue)
    assert _shape(ours) == _shape(theirs)
    same = ("content-encoding", "content-type")
    assert {k: ours[k] for k in same} == {k: theirs[k] for k in same}
    assert json.loads(base64.b64decode(ours["body"])) == json.loads(
        base64.b64decode(theirs["body"])
    )
    for key in ("lang", "task", "argsrepr", "kwargsrepr", "retries", "ignore_result", "eta"):
        assert ours["headers"][key] == theirs["headers"][key], key
    for key in ("delivery_info", "priority", "body_encoding", "delivery_mode"):
        assert ours["properties"][key] == theirs["properties"][key], key
    assert ours["headers"]["id"] == ours["properties"]["correlation_id"]
