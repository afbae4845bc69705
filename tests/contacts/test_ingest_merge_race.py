"""Events have no foreign-key constraint to contacts (docs/events.md), so ingestion itself
must keep a merge from deleting a contact under an event that is being written for it: an
event arriving while its visitor's profile is merged into a known contact ends up on the
survivor — never on the deleted profile."""

import threading

import pytest
from django.db import connection, transaction
from django.utils import timezone

from contacts.ingest.parsing import parse_batch
from contacts.models import Contact, Event
from contacts.services import contact_merge
from contacts.services.ingest import ingest_messages

pytestmark = pytest.mark.django_db(transaction=True)


def _ingest(ws, messages):
    received = timezone.now()
    parsed, rejected = parse_batch({"batch": messages}, received_at=received, check_sizes=False)
    assert not rejected
    return ingest_messages(workspace=ws, messages=parsed, source="api", received_at=received)


@pytest.mark.parametrize("single", [True, False], ids=["one-statement path", "batch path"])
def test_an_event_written_during_a_merge_lands_on_the_survivor(ws, single):
    visitor = Contact.objects.create(workspace=ws, anonymous_ids=["anon-1"])
    known = Contact.objects.create(workspace=ws, external_id="u-1", email="ada@acme.test")
    messages = [{"type": "page", "anonymousId": "anon-1", "messageId": "p-1"}]
    if not single:
        messages.append({"type": "page", "anonymousId": "anon-2", "messageId": "p-2"})
    merged, release, errors = threading.Event(), threading.Event(), []

    def merge() -> None:
        try:
            with transaction.atomic():  # the merge is done but not committed until released
                contact_merge(workspace=ws, into=known, source=visitor)
                merged.set()
                release.wait(10)
        except Exception as error:  # noqa: BLE001 — reported below
            errors.append(error)
        finally:
            connection.close()

    def ingest() -> None:
        try:
            result = _ingest(ws, messages)
            assert result.stored == len(messages)
        except Exception as error:  # noqa: BLE001
            errors.append(error)
        finally:
            connection.close()

    merging = threading.Thread(target=merge)
    merging.start()
    assert merged.wait(10)
    ingesting = threading.Thread(target=ingest)
    ingesting.start()
    ingesting.join(0.5)
    assert ingesting.is_alive()  # it waits for the merge rather than writing beside it
    release.set()
    merging.join(10)
    ingesting.join(10)
    assert not errors
    assert not Contact.objects.filter(pk=visitor.pk).exists()
    assert Event.objects.get(workspace=ws, message_id="p-1").contact_id == known.pk
    assert not Event.objects.filter(workspace=ws, contact_id=visitor.pk).exists()
