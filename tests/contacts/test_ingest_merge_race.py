"""Events have no foreign-key constraint to contacts (docs/events.md), so ingestion itself
must keep a merge from deleting a contact under an event that is being written for it: an
event arriving while its visitor's profile is merged into a known contact ends up on the
survivor — never on the deleted profile."""

import threading
import time

import pytest
from django.db import connection, transaction
from django.utils import timezone

from contacts.ingest.parsing import parse_batch
from contacts.models import Contact, Event
from contacts.services import contact_merge
from contacts.services.ingest import ingest_messages
from tests.support import threads

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
        with transaction.atomic():  # the merge is done but not committed until released
            contact_merge(workspace=ws, into=known, source=visitor)
            merged.set()
            release.wait(10)

    def ingest() -> None:
        assert _ingest(ws, messages).stored == len(messages)

    merging = threads.start(merge, errors)
    assert merged.wait(10)
    ingesting = threads.start(ingest, errors)
    ingesting.join(0.5)
    assert ingesting.is_alive()  # it waits for the merge rather than writing beside it
    release.set()
    merging.join(10)
    ingesting.join(10)
    assert not errors
    assert not Contact.objects.filter(pk=visitor.pk).exists()
    assert Event.objects.get(workspace=ws, message_id="p-1").contact_id == known.pk
    assert not Event.objects.filter(workspace=ws, contact_id=visitor.pk).exists()


def test_an_ingestion_that_deadlocks_is_run_again(ws):
    """An identify that merges two profiles locks both (in id order). Another transaction
    holding the second and then asking for the first makes a real deadlock; PostgreSQL
    aborts the ingestion (the other side's deadlock_timeout is longer), which runs again
    once the other side is done instead of failing the request."""
    visitor = Contact.objects.create(workspace=ws, anonymous_ids=["anon-1"])
    known = Contact.objects.create(workspace=ws, external_id="u-1", email="ada@acme.test")
    assert visitor.pk < known.pk
    holding, errors, results = threading.Event(), [], []

    def other_side() -> None:
        # deadlock_timeout is a superuser's setting: this side is the test's, as the owner.
        with connection.owner_role(), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET LOCAL deadlock_timeout = '30s'")
            lock = "SELECT 1 FROM contacts_contact WHERE id = %s FOR UPDATE"
            cursor.execute(lock, [known.pk])
            holding.set()
            for _ in range(100):  # until the ingestion waits for `known`
                cursor.execute("SELECT count(*) FROM pg_locks WHERE NOT granted")
                if cursor.fetchone()[0]:
                    break
                time.sleep(0.05)
            else:
                raise AssertionError("the ingestion never waited for the locked contact")
            cursor.execute(lock, [visitor.pk])  # closes the cycle

    def ingest() -> None:
        identify = {"type": "identify", "userId": "u-1", "anonymousId": "anon-1"}
        results.append(_ingest(ws, [{**identify, "messageId": "i-1"}]))

    blocking = threads.start(other_side, errors)
    assert holding.wait(10)
    ingesting = threads.start(ingest, errors)
    blocking.join(20)
    ingesting.join(20)
    assert not errors
    assert results[0].stored == 1
    assert not Contact.objects.filter(pk=visitor.pk).exists()
    assert Event.objects.get(workspace=ws, message_id="i-1").contact_id == known.pk
