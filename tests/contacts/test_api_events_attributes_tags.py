"""Management API: events list and filters, the attribute registry, tags with counts."""

from datetime import timedelta

import pytest
from django.utils import timezone

from contacts.models import AttributeDefinition, Contact, Event
from contacts.services import event_record

pytestmark = pytest.mark.django_db


@pytest.fixture
def ada(ws):
    return Contact.objects.create(workspace=ws, email="ada@acme.test")


@pytest.fixture
def events(ws, ada):
    bob = Contact.objects.create(workspace=ws, email="bob@acme.test")
    now = timezone.now()
    return {
        "old_view": event_record(
            workspace=ws,
            contact=ada,
            name="Pricing",
            type="page",
            timestamp=now - timedelta(days=9),
        ),
        "order": event_record(
            workspace=ws,
            contact=ada,
            name="Order Completed",
            properties={"revenue": 120},
            timestamp=now - timedelta(days=1),
        ),
        "bob_order": event_record(
            workspace=ws, contact=bob, name="Order Completed", timestamp=now - timedelta(hours=1)
        ),
    }


def names(api, query=""):
    response = api.get(f"/api/v1/events/?{query}")
    assert response.status_code == 200, response.json()
    return [row["name"] for row in response.json()["results"]]


def test_events_are_listed_newest_first(api, events):
    assert names(api) == ["Order Completed", "Order Completed", "Pricing"]


def test_events_filter_by_name_type_contact_and_time(api, events, ada):
    assert names(api, "type=page") == ["Pricing"]
    assert len(names(api, "name=Order+Completed")) == 2
    assert names(api, f"contact={ada.pk}&name=Order+Completed") == ["Order Completed"]
    since = (timezone.now() - timedelta(days=2)).isoformat().replace("+00:00", "Z")
    until = (timezone.now() - timedelta(hours=2)).isoformat().replace("+00:00", "Z")
    assert names(api, f"since={since}&until={until}") == ["Order Completed"]


@pytest.mark.parametrize(
    "query,field", [("type=click", "type"), ("since=soon", "since"), ("contact=x", "contact")]
)
def test_a_bad_event_filter_names_the_parameter(api, events, query, field):
    response = api.get(f"/api/v1/events/?{query}")
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]


def test_the_events_list_costs_one_query_whatever_its_length(
    api, events, ws, ada, django_assert_num_queries
):
    api.get("/api/v1/workspace/")
    for i in range(30):
        event_record(workspace=ws, contact=ada, name=f"e{i}")
    with django_assert_num_queries(1):  # the page; the key comes from the Redis key cache
        assert len(names(api)) == 33


def test_it_404s_for_another_workspaces_event(outsider_api, events):
    assert outsider_api.get(f"/api/v1/events/{events['order'].pk}/").status_code == 404
    assert outsider_api.get("/api/v1/events/").json()["results"] == []


def test_an_event_is_read_with_its_properties(api, events):
    body = api.get(f"/api/v1/events/{events['order'].pk}/").json()
    assert body["properties"] == {"revenue": 120} and body["type"] == "track"


def test_events_cannot_be_written_through_the_management_api(api, ada):
    response = api.post("/api/v1/events/", {"name": "x"}, format="json")
    assert response.status_code == 405
    assert not Event.objects.exists()


# --- Attribute registry -----------------------------------------------------------------------


def test_attributes_are_listed_created_and_retyped(api, ws, ada):
    created = api.post(
        "/api/v1/attributes/", {"key": "seats", "type": "number", "label": "Seats"}, format="json"
    )
    assert created.status_code == 201, created.json()
    assert [a["key"] for a in api.get("/api/v1/attributes/").json()["results"]] == ["seats"]
    retyped = api.patch(
        f"/api/v1/attributes/{created.json()['id']}/", {"type": "string"}, format="json"
    )
    assert retyped.status_code == 200 and retyped.json()["type"] == "string"


def test_creating_an_existing_attribute_is_a_409_naming_key(api, ws):
    AttributeDefinition.objects.create(workspace=ws, key="plan")
    response = api.post("/api/v1/attributes/", {"key": "plan", "type": "string"}, format="json")
    assert response.status_code == 409
    assert "key" in response.json()["error"]["fields"]


@pytest.mark.parametrize("key", ["email", "1st", "has space", ""])
def test_an_attribute_key_must_be_a_name_and_not_a_contact_field(api, ws, key):
    response = api.post("/api/v1/attributes/", {"key": key, "type": "string"}, format="json")
    assert response.status_code == 400
    assert "key" in response.json()["error"]["fields"]
    assert not AttributeDefinition.objects.filter(workspace=ws).exists()


def test_a_type_change_that_stored_values_contradict_is_refused(api, ws):
    definition = AttributeDefinition.objects.create(workspace=ws, key="plan", type="string")
    Contact.objects.create(workspace=ws, email="a@acme.test", attributes={"plan": "pro"})
    response = api.patch(f"/api/v1/attributes/{definition.pk}/", {"type": "number"}, format="json")
    assert response.status_code == 400
    assert "'pro'" in response.json()["error"]["message"]
    definition.refresh_from_db()
    assert definition.type == "string"


def test_a_type_change_that_fits_is_accepted(api, ws):
    definition = AttributeDefinition.objects.create(workspace=ws, key="seats", type="string")
    Contact.objects.create(workspace=ws, email="a@acme.test", attributes={"seats": 3})
    response = api.patch(f"/api/v1/attributes/{definition.pk}/", {"type": "number"}, format="json")
    assert response.status_code == 200


def test_it_404s_for_another_workspaces_attribute(outsider_api, ws):
    definition = AttributeDefinition.objects.create(workspace=ws, key="plan")
    assert outsider_api.get(f"/api/v1/attributes/{definition.pk}/").status_code == 404
    response = outsider_api.patch(
        f"/api/v1/attributes/{definition.pk}/", {"type": "number"}, format="json"
    )
    assert response.status_code == 404


def test_the_attribute_list_costs_one_query(api, ws, django_assert_num_queries):
    api.get("/api/v1/workspace/")
    for key in ("a", "b", "c"):
        AttributeDefinition.objects.create(workspace=ws, key=key)
    with django_assert_num_queries(1):  # the page; the key comes from the Redis key cache
        assert len(api.get("/api/v1/attributes/").json()["results"]) == 3


# --- Tags ---------------------------------------------------------------------------------------


def test_tags_are_listed_with_counts_most_used_first(api, ws, other_ws, django_assert_num_queries):
    Contact.objects.create(workspace=ws, email="a@acme.test", tags=["vip", "beta"])
    Contact.objects.create(workspace=ws, email="b@acme.test", tags=["beta"])
    Contact.objects.create(workspace=other_ws, email="c@globex.test", tags=["beta", "secret"])
    api.get("/api/v1/workspace/")
    with django_assert_num_queries(1):  # the key comes from the Redis key cache
        body = api.get("/api/v1/tags/").json()
    assert body["results"] == [{"name": "beta", "count": 2}, {"name": "vip", "count": 1}]
