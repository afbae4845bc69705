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
