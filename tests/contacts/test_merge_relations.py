"""A merge carries every row of every app that points at the merged-away contact — also
those behind hidden reverse relations (ForeignKey(..., related_name="+")), which Django's
`related_objects` leaves out — and drops only what the survivor already has."""

import pytest
from django.apps import apps
from django.db import models

from contacts.models import Contact, ContactAnonymousId, Event
from contacts.services import contact_merge, event_record
from contacts.services.merge import contact_relations
from messaging.models import ConsentLog, Topic, TopicOptOut
from scoring.models import ContactScore, ScoreChange, ScoringModel
from segments.models import Segment, SegmentMembership

pytestmark = pytest.mark.django_db


def test_every_foreign_key_to_a_contact_is_one_a_merge_carries():
    """Found independently of Contact._meta: every model's own fields, auto-created
    many-to-many tables included. Only the trigger-kept anonymous-id lookup is left out."""
    pointing = {
        (model, field.name)
        for model in apps.get_models(include_auto_created=True)
        for field in model._meta.concrete_fields
        if isinstance(field, models.ForeignKey) and field.related_model is Contact
    }
    carried = {(rel.related_model, rel.field.name) for rel in contact_relations()}
    assert carried == pointing - {(ContactAnonymousId, "contact")}
    hidden = {model for model, _ in carried} - {
        rel.related_model for rel in Contact._meta.related_objects
    }
    assert {ConsentLog, ScoreChange, ContactScore, SegmentMembership, TopicOptOut} <= hidden


def test_every_table_referencing_contacts_has_an_index_leading_with_the_reference():
    """Deleting a contact — a merge's last step, an erasure — makes PostgreSQL look for rows
    pointing at it in every referencing table, by that column alone: a table without an
    index leading with it is scanned whole per deleted contact."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT c.conrelid::regclass::text, a.attname
              FROM pg_constraint c
              JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
             WHERE c.contype = 'f' AND c.confrelid = 'contacts_contact'::regclass
               AND NOT EXISTS (
                   SELECT FROM pg_index i
                    WHERE i.indrelid = c.conrelid AND i.indkey[0] = c.conkey[1])
            """
        )
        unindexed = cursor.fetchall()
        cursor.execute(
            "SELECT count(*) FROM pg_constraint"
            " WHERE contype = 'f' AND confrelid = 'contacts_contact'::regclass"
        )
        references = cursor.fetchone()[0]
    assert references >= 10  # the query really sees the schema
    assert unindexed == []


@pytest.fixture
def pair(ws):
    into = Contact.objects.create(workspace=ws, email="ada@acme.test", external_id="u-1")
    source = Contact.objects.create(workspace=ws, anonymous_ids=["anon-1"])
    return into, source


def test_a_merge_moves_the_rows_behind_hidden_relations(ws, pair):
    into, source = pair
    model = ScoringModel.objects.create(workspace=ws, name="Default", is_primary=True)
    history = ScoreChange.objects.create(
        workspace=ws, contact=source, model=model, points=30, reason="Asked for a demo"
    )
    log = ConsentLog.objects.create(
        workspace=ws, contact=source, channel="email", status="subscribed", source="form:1"
    )
    event = event_record(workspace=ws, contact=source, name="Requested Demo", source="api")

    contact_merge(workspace=ws, into=into, source=source)

    assert not Contact.objects.filter(pk=source.pk).exists()
    assert ScoreChange.objects.get(pk=history.pk).contact_id == into.pk
    assert ConsentLog.objects.get(pk=log.pk).contact_id == into.pk
    # Events reference their contact without a database constraint: moved all the same.
    assert Event.objects.get(pk=event.pk).contact_id == into.pk


def test_a_row_the_survivor_already_has_goes_with_the_merged_contact(ws, pair):
    into, source = pair
    both, only_source = (
        Segment.objects.create(workspace=ws, name=name, kind=Segment.Kind.STATIC)
        for name in ("Both", "Only the visitor")
    )
    for segment, contact in ((both, into), (both, source), (only_source, source)):
        SegmentMembership.objects.create(workspace=ws, segment=segment, contact=contact)
    topic = Topic.objects.create(workspace=ws, name="News", key="news")
    TopicOptOut.objects.create(workspace=ws, contact=into, topic=topic)
    TopicOptOut.objects.create(workspace=ws, contact=source, topic=topic)

    contact_merge(workspace=ws, into=into, source=source)

    memberships = SegmentMembership.objects.filter(workspace=ws)
    assert sorted(memberships.values_list("segment__name", "contact_id")) == [
        ("Both", into.pk),
        ("Only the visitor", into.pk),
    ]
    assert list(TopicOptOut.objects.values_list("contact_id", flat=True)) == [into.pk]
