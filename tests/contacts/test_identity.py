"""contact_upsert / contact_merge: one profile per person, whoever writes about them."""

from datetime import timedelta

import pytest
from django.utils import timezone

from contacts.models import (
    AttributeDefinition,
    ConsentStatus,
    Contact,
    ContactAnonymousId,
    Event,
)
from contacts.services import (
    contact_merge,
    contact_set_consent,
    contact_upsert,
    event_record,
)
from workspaces.errors import ValidationFailed

pytestmark = pytest.mark.django_db


def test_it_creates_a_contact_with_normalised_identifiers_and_mapped_traits(ws):
    contact, changed = contact_upsert(
        workspace=ws,
        email="  Ada@Example.COM ",
        traits={
            "firstName": "Ada",
            "lastName": "Lovelace",
            "phone": "+49 151 1234 5678",
            "company": {"name": "Analytical Engines", "industry": "Computing"},
            "title": "Engineer",
            "address": {"country": "GB", "city": "London", "postalCode": "N1"},
            "timezone": "Europe/London",
            "plan": "pro",
            "seats": 12,
            "trial": True,
            "renewal": "2025-03-01",
        },
        source="api",
    )
    contact.refresh_from_db()
    assert contact.email == "ada@example.com"
    assert contact.phone == "+4915112345678"
    assert (contact.first_name, contact.last_name) == ("Ada", "Lovelace")
    assert (contact.company, contact.job_title) == ("Analytical Engines", "Engineer")
    assert (contact.country, contact.city, contact.timezone) == ("GB", "London", "Europe/London")
    assert contact.attributes == {
        "plan": "pro",
        "seats": 12,
        "trial": True,
        "renewal": "2025-03-01",
        "company_industry": "Computing",
        "address_postalCode": "N1",
    }
    assert {"created", "email", "phone", "plan", "company"} <= changed
    types = dict(AttributeDefinition.objects.filter(workspace=ws).values_list("key", "type"))
    assert types["plan"] == "string"
    assert types["seats"] == "number"
    assert types["trial"] == "boolean"
    assert types["renewal"] == "date"


def test_a_second_upsert_reports_only_what_changed_and_never_erases(ws):
    contact_upsert(
        workspace=ws, email="a@b.test", traits={"firstName": "A", "plan": "free"}, source="api"
    )
    contact, changed = contact_upsert(
        workspace=ws,
        email="A@B.test",
        traits={"firstName": "A", "plan": "pro", "lastName": None, "company": ""},
        source="form",
    )
    assert changed == {"plan"}
    assert Contact.objects.filter(workspace=ws).count() == 1
    assert contact.attributes["plan"] == "pro"
    assert contact.first_name == "A"


def test_a_bad_phone_is_refused_naming_the_field_and_nothing_is_stored(ws):
    with pytest.raises(ValidationFailed) as error:
        contact_upsert(
            workspace=ws, email="a@b.test", traits={"phone": "call me maybe"}, source="api"
        )
    assert "traits.phone" in error.value.fields
    assert not Contact.objects.filter(workspace=ws).exists()


def test_a_bad_email_argument_is_refused_naming_the_field(ws):
    with pytest.raises(ValidationFailed) as error:
        contact_upsert(workspace=ws, email="not-an-email", source="form")
    assert "email" in error.value.fields


def test_a_call_without_any_identifier_is_refused(ws):
    with pytest.raises(ValidationFailed):
        contact_upsert(workspace=ws, traits={"plan": "pro"}, source="api")


def test_identify_after_anonymous_activity_turns_the_visitor_into_the_known_contact(ws):
    visitor, _ = contact_upsert(workspace=ws, anonymous_id="anon-1", source="snippet")
    contact, changed = contact_upsert(
        workspace=ws, external_id="user-1", anonymous_id="anon-1", source="api"
    )
    assert contact.pk == visitor.pk
    assert contact.external_id == "user-1"
    assert "external_id" in changed


def test_an_anonymous_profile_merges_into_an_existing_known_contact_with_its_events(ws):
    known, _ = contact_upsert(
        workspace=ws, external_id="user-1", email="k@b.test", traits={"plan": "pro"}, source="api"
    )
    visitor, _ = contact_upsert(
        workspace=ws, anonymous_id="anon-9", traits={"plan": "free", "utm": "ads"}, source="api"
    )
    page = event_record(workspace=ws, contact=visitor, name="/pricing", type="page")

    contact, changed = contact_upsert(
        workspace=ws, external_id="user-1", anonymous_id="anon-9", source="api"
    )

    assert contact.pk == known.pk
    assert not Contact.objects.filter(pk=visitor.pk).exists()
    assert Event.objects.get(pk=page.pk).contact_id == known.pk
    contact.refresh_from_db()
    assert "anon-9" in contact.anonymous_ids
    assert contact.attributes == {"plan": "pro", "utm": "ads"}  # the known profile wins
    assert "merged" in changed


def test_an_email_held_by_another_known_contact_is_not_taken_over(ws):
    other, _ = contact_upsert(workspace=ws, external_id="user-2", email="x@b.test", source="api")
    contact, _ = contact_upsert(
        workspace=ws, external_id="user-3", traits={"email": "x@b.test"}, source="api"
    )
    assert contact.pk != other.pk
    assert contact.email == ""
    other.refresh_from_db()
    assert other.email == "x@b.test"


def test_a_form_contact_known_by_email_joins_the_user_who_identifies_with_it(ws):
    lead, _ = contact_upsert(workspace=ws, email="lead@b.test", source="form")
    contact, _ = contact_upsert(
        workspace=ws, external_id="user-7", traits={"email": "lead@b.test"}, source="api"
    )
    assert contact.pk == lead.pk
    assert contact.external_id == "user-7"


def test_merge_applies_the_documented_precedence(ws):
    now = timezone.now()
    into = Contact.objects.create(
        workspace=ws,
        email="into@b.test",
        tags=["a"],
        attributes={"plan": "pro"},
        lifecycle_stage="lead",
        email_consent=ConsentStatus.SUBSCRIBED,
        email_consent_at=now - timedelta(days=2),
    )
    source = Contact.objects.create(
        workspace=ws,
        email="source@b.test",
        first_name="Sam",
        tags=["b", "a"],
        attributes={"plan": "free", "size": 3},
        lifecycle_stage="customer",
        anonymous_ids=["anon-x"],
        email_consent=ConsentStatus.UNSUBSCRIBED,
        email_consent_at=now - timedelta(days=1),
        last_seen_at=now,
    )
    event = event_record(workspace=ws, contact=source, name="Order Completed")

    merged = contact_merge(workspace=ws, into=into, source=source)

    merged.refresh_from_db()
    assert merged.email == "into@b.test"
    assert merged.first_name == "Sam"
    assert merged.tags == ["a", "b"]
    assert merged.attributes == {"plan": "pro", "size": 3}
    assert merged.lifecycle_stage == "customer"
    assert merged.email_consent == ConsentStatus.UNSUBSCRIBED  # the more recent decision
    assert merged.anonymous_ids == ["anon-x"]
    assert merged.last_seen_at == now
    assert Event.objects.get(pk=event.pk).contact_id == merged.pk
    assert not Contact.objects.filter(pk=source.pk).exists()


def test_merge_refuses_a_contact_of_another_workspace(ws, other_ws):
    from workspaces.errors import NotFound

    mine = Contact.objects.create(workspace=ws, email="a@b.test")
    theirs = Contact.objects.create(workspace=other_ws, email="a@b.test")
    with pytest.raises(NotFound):
        contact_merge(workspace=ws, into=mine, source=theirs)
    assert Contact.objects.filter(pk=theirs.pk).exists()


def test_an_older_consent_decision_does_not_override_a_newer_one(ws):
    contact = Contact.objects.create(workspace=ws, email="a@b.test")
    now = timezone.now()
    assert contact_set_consent(
        contact=contact, channel="email", status="unsubscribed", source="link", at=now
    ) == {"email_consent"}
    assert (
        contact_set_consent(
            contact=contact,
            channel="email",
            status="subscribed",
            source="import",
            at=now - timedelta(hours=1),
        )
        == set()
    )
    contact.refresh_from_db()
    assert contact.email_consent == "unsubscribed"
    assert contact.email_consent_source == "link"


def _lookup(workspace) -> dict[str, int]:
    return dict(
        ContactAnonymousId.objects.filter(workspace=workspace).values_list(
            "anonymous_id", "contact_id"
        )
    )


def test_the_anonymous_id_lookup_follows_every_change_of_the_contacts_arrays(ws, other_ws):
    """The trigger-kept table must say exactly what the contacts' arrays say, whichever path
    changed them: create, add an id, re-assign it, merge, delete — per workspace."""
    visitor, _ = contact_upsert(workspace=ws, anonymous_id="anon-1", source="api")
    elsewhere, _ = contact_upsert(workspace=other_ws, anonymous_id="anon-1", source="api")
    assert _lookup(ws) == {"anon-1": visitor.pk}
    assert _lookup(other_ws) == {"anon-1": elsewhere.pk}

    Contact.objects.filter(pk=visitor.pk).update(anonymous_ids=["anon-1", "anon-2", "anon-2"])
    assert _lookup(ws) == {"anon-1": visitor.pk, "anon-2": visitor.pk}
    Contact.objects.filter(pk=visitor.pk).update(anonymous_ids=["anon-2"])
    assert _lookup(ws) == {"anon-2": visitor.pk}

    known, _ = contact_upsert(workspace=ws, external_id="u-1", anonymous_id="anon-3", source="api")
    contact_merge(workspace=ws, into=known, source=visitor)
    assert _lookup(ws) == {"anon-2": known.pk, "anon-3": known.pk}
    assert not Contact.objects.filter(pk=visitor.pk).exists()

    Contact.objects.filter(pk=known.pk).delete()
    assert _lookup(ws) == {}
    assert _lookup(other_ws) == {"anon-1": elsewhere.pk}


def test_a_known_anonymous_id_resolves_through_the_lookup(ws):
    visitor, _ = contact_upsert(workspace=ws, anonymous_id="anon-9", source="api")
    again, changed = contact_upsert(workspace=ws, anonymous_id="anon-9", source="api")
    assert again.pk == visitor.pk
    assert "created" not in changed
