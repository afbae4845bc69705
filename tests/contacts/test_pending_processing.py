"""Events accepted by /v1/ are never lost: the pipeline work is on record in Postgres with the
events (PendingProcessing), deleted when done, and published again by the recovery sweep when
its task was lost — a Redis outage at 200 time included."""

from datetime import timedelta

import pytest
from django.utils import timezone

from contacts import hooks
from contacts.models import Contact, PendingProcessing
from contacts.services import event_record, events_enqueue_processing
from contacts.services.pending import pending_recover


@pytest.fixture
def seen(monkeypatch):
    monkeypatch.setattr(hooks, "_processors", [])
    names = []
    hooks.on_events_ingested(order=10, name="probe")(
        lambda batch: names.extend(e.name for e in batch.events)
    )
    return names


def test_the_work_is_on_record_until_the_pipeline_ran_it(
    ws, seen, django_capture_on_commit_callbacks
):
    contact = Contact.objects.create(workspace=ws, email="a@b.test")
    event = event_record(workspace=ws, contact=contact, name="Signed Up")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        events_enqueue_processing(workspace=ws, event_ids=[event.pk])
    pending = PendingProcessing.objects.get(workspace=ws)
    assert pending.event_ids == [event.pk]
    for callback in callbacks:
        callback()  # eager: the task runs here
    assert seen == ["Signed Up"]
    assert not PendingProcessing.objects.exists()


def test_a_lost_publish_is_recovered_by_the_sweep_and_runs_once(
    ws, seen, monkeypatch, django_capture_on_commit_callbacks
):
    import config.fast_publish

    contact = Contact.objects.create(workspace=ws, email="a@b.test")
    event = event_record(workspace=ws, contact=contact, name="Order Completed")

    def broker_down(*args, **kwargs):
        raise ConnectionError("Redis is restarting")

    working = config.fast_publish.publish
    monkeypatch.setattr(config.fast_publish, "publish", broker_down)
    with django_capture_on_commit_callbacks(execute=True):
        events_enqueue_processing(workspace=ws, event_ids=[event.pk])  # no exception: on record
    assert seen == [] and PendingProcessing.objects.count() == 1
    monkeypatch.setattr(config.fast_publish, "publish", working)  # Redis is back
    assert pending_recover() == 0  # not due yet: its task may still be on its way
    PendingProcessing.objects.update(due_at=timezone.now() - timedelta(seconds=1))
    assert pending_recover() == 1
    assert seen == ["Order Completed"]
    assert not PendingProcessing.objects.exists()
    assert pending_recover() == 0


def test_a_second_copy_of_done_work_is_skipped(ws, seen, django_capture_on_commit_callbacks):
    from contacts.tasks import process_events

    contact = Contact.objects.create(workspace=ws, email="a@b.test")
    event = event_record(workspace=ws, contact=contact, name="Visited")
    with django_capture_on_commit_callbacks(execute=True):
        events_enqueue_processing(workspace=ws, event_ids=[event.pk])
    assert seen == ["Visited"]
    process_events.delay(ws.pk, [event.pk], {}, 1_000_000)  # a re-delivery of done work
    assert seen == ["Visited"]
