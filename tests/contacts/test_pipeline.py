"""The events_ingested hook runs processors in order and lets them chain events."""

import pytest

from contacts import hooks
from contacts.models import Contact
from contacts.services import event_record, events_enqueue_processing

pytestmark = pytest.mark.django_db


@pytest.fixture
def isolated_processors(monkeypatch):
    monkeypatch.setattr(hooks, "_processors", [])
    return hooks


def test_processors_run_in_order_and_see_events_added_before_them(
    isolated_processors, ws, django_capture_on_commit_callbacks
):
    contact = Contact.objects.create(workspace=ws, email="a@b.test")
    seen = []

    @hooks.on_events_ingested(order=30, name="late")
    def late(batch):
        seen.append(("late", sorted(e.name for e in batch.events)))

    @hooks.on_events_ingested(order=10, name="early")
    def early(batch):
        seen.append(("early", sorted(e.name for e in batch.events)))
        batch.add_events(
            [event_record(workspace=batch.workspace, contact=contact, name="score.changed")]
        )

    event = event_record(workspace=ws, contact=contact, name="Signed Up", source="api")
    with django_capture_on_commit_callbacks(execute=True):
        events_enqueue_processing(workspace=ws, event_ids=[event.pk])
    assert seen == [("early", ["Signed Up"]), ("late", ["Signed Up", "score.changed"])]


def test_event_record_is_idempotent_by_message_id(ws):
    contact = Contact.objects.create(workspace=ws, email="a@b.test")
    first = event_record(workspace=ws, contact=contact, name="x", message_id="m-1")
    second = event_record(workspace=ws, contact=contact, name="y", message_id="m-1")
    assert first.pk == second.pk and second.name == "x"


def _request(*args):
    from celery_batches import SimpleRequest

    return SimpleRequest(
        id=f"r-{args}",
        name="contacts.process_events",
        args=args,
        kwargs={},
        delivery_info={},
        hostname="test",
        ignore_result=True,
        reply_to=None,
        correlation_id=None,
        request_dict={},
    )


def test_the_worker_runs_the_requests_it_holds_merged_per_workspace(
    isolated_processors, ws, other_ws, monkeypatch
):
    from contacts.tasks import process_events, process_events_retry

    mine = Contact.objects.create(workspace=ws, email="a@b.test")
    theirs = Contact.objects.create(workspace=other_ws, email="a@b.test")
    e1 = event_record(workspace=ws, contact=mine, name="One")
    e2 = event_record(workspace=ws, contact=mine, name="Two")
    e3 = event_record(workspace=other_ws, contact=theirs, name="Three")
    runs = []

    @hooks.on_events_ingested(order=10, name="probe")
    def probe(batch):
        if batch.workspace == other_ws:
            raise RuntimeError("this workspace's processing fails")
        runs.append(
            (batch.workspace.pk, sorted(e.name for e in batch.events), dict(batch.changed_fields))
        )

    retried = []
    monkeypatch.setattr(process_events_retry, "apply_async", lambda args: retried.append(args))
    process_events.run(
        [
            _request(ws.pk, [e1.pk], {str(mine.pk): ["plan"]}),
            _request(other_ws.pk, [e3.pk]),
            _request(ws.pk, [e2.pk], {str(mine.pk): ["email"]}),
            _request(999_999, [1]),  # a deleted workspace: nothing to do
        ]
    )
    # One run for the workspace, with both requests' events and changed fields …
    assert runs == [(ws.pk, ["One", "Two"], {mine.pk: {"plan", "email"}})]
    # … and the failing workspace's merged batch handed, whole, to the retrying task.
    assert retried == [(other_ws.pk, [e3.pk], {}, [])]  # (no pending rows: old-style requests)
