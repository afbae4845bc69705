"""Finding and upserting a contact by the integration's own ids: the user id (Segment's
`userId`, Contact.external_id) and an anonymous id — as a list filter and as an address."""

from __future__ import annotations

import pytest

from contacts.models import Contact
from contacts.services import contact_upsert
from tests.conftest import add_member
from workspaces.roles import Role

from . import test_api_contacts

pytestmark = pytest.mark.django_db
pipeline = test_api_contacts.pipeline  # what the pipeline is told (a fixture)


@pytest.fixture
def ada(ws):
    contact, _ = contact_upsert(
        workspace=ws,
        external_id="user-42",
        anonymous_id="anon-7f3a",
        email="ada@example.com",
        traits={"first_name": "Ada"},
        source="api",
    )
    return contact


# --- lookup ---------------------------------------------------------------------------------


def test_the_list_filters_by_user_id_and_by_anonymous_id(api, ws, ada):
    Contact.objects.create(workspace=ws, email="bob@example.com", external_id="user-43")
    by_user = api.get("/api/v1/contacts/?user_id=user-42").json()["results"]
    assert [row["id"] for row in by_user] == [ada.pk]
    by_anon = api.get("/api/v1/contacts/?anonymous_id=anon-7f3a").json()["results"]
    assert [row["id"] for row in by_anon] == [ada.pk]
    assert api.get("/api/v1/contacts/?user_id=nobody").json()["results"] == []


@pytest.mark.parametrize(
    "path",
    ["/api/v1/contacts/by-user-id/user-42/", "/api/v1/contacts/by-anonymous-id/anon-7f3a/"],
)
def test_a_contact_is_found_at_its_identifiers_address(api, ada, path):
    response = api.get(path)
    assert response.status_code == 200
    assert response.json()["id"] == ada.pk and response.json()["external_id"] == "user-42"


def test_an_id_with_a_slash_or_spaces_is_found_percent_encoded(api, ws):
    contact, _ = contact_upsert(workspace=ws, external_id="crm/Acme 7", source="api")
    response = api.get("/api/v1/contacts/by-user-id/crm%2FAcme%207/")
    assert response.status_code == 200 and response.json()["id"] == contact.pk


def test_an_unknown_identifier_is_404(api, ada):
    for path in ("by-user-id/user-404/", "by-anonymous-id/anon-404/"):
        response = api.get(f"/api/v1/contacts/{path}")
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"


def test_another_workspaces_contact_is_404_by_its_identifiers(outsider_api, ada):
    for path in ("by-user-id/user-42/", "by-anonymous-id/anon-7f3a/"):
        assert outsider_api.get(f"/api/v1/contacts/{path}").status_code == 404
    assert outsider_api.get("/api/v1/contacts/?user_id=user-42").json()["results"] == []
    assert outsider_api.get("/api/v1/contacts/?anonymous_id=anon-7f3a").json()["results"] == []


def test_a_bad_identifier_in_the_address_is_a_400_naming_it(api, ws):
    for path, field in (
        ("by-user-id/" + "x" * 256 + "/", "user_id"),
        ("by-anonymous-id/%00/", "anonymous_id"),
        ("by-user-id/%20/", "user_id"),
    ):
        response = api.put(f"/api/v1/contacts/{path}", {"first_name": "X"}, format="json")
        assert response.status_code == 400, path
        assert field in response.json()["error"]["fields"]
    assert not Contact.objects.filter(workspace=ws).exists()


# --- upsert ---------------------------------------------------------------------------------


def test_put_by_user_id_creates_then_updates(api, ws, pipeline, django_capture_on_commit_callbacks):
    body = {"email": "Grace@Navy.test", "first_name": "Grace", "attributes": {"plan": "pro"}}
    with django_capture_on_commit_callbacks(execute=True):
        created = api.put("/api/v1/contacts/by-user-id/user-7/", body, format="json")
    assert created.status_code == 201, created.content
    contact = Contact.objects.get(workspace=ws, external_id="user-7")
    assert contact.email == "grace@navy.test" and contact.attributes == {"plan": "pro"}
    assert {"created", "email", "plan"} <= pipeline[-1][contact.pk]
    updated = api.put(
        "/api/v1/contacts/by-user-id/user-7/",
        {"last_name": "Hopper", "lifecycle_stage": "lead"},
        format="json",
    )
    assert updated.status_code == 200
    assert updated.json()["id"] == contact.pk and updated.json()["last_name"] == "Hopper"
    assert Contact.objects.filter(workspace=ws).count() == 1


def test_put_by_user_id_finds_the_contact_known_by_email_and_gives_it_the_id(api, ws):
    """identify's rules: a profile known only by email takes the user id."""
    known = Contact.objects.create(workspace=ws, email="lin@example.com")
    response = api.put(
        "/api/v1/contacts/by-user-id/user-9/", {"email": "lin@example.com"}, format="json"
    )
    assert response.status_code == 200 and response.json()["id"] == known.pk
    known.refresh_from_db()
    assert known.external_id == "user-9"


def test_put_by_anonymous_id_creates_and_later_identifies(api, ws):
    first = api.put(
        "/api/v1/contacts/by-anonymous-id/anon-1/", {"attributes": {"utm": "x"}}, format="json"
    )
    assert first.status_code == 201 and first.json()["anonymous_ids"] == ["anon-1"]
    second = api.put(
        "/api/v1/contacts/by-anonymous-id/anon-1/",
        {"external_id": "user-1", "email": "new@example.com"},
        format="json",
    )
    assert second.status_code == 200 and second.json()["id"] == first.json()["id"]
    assert second.json()["external_id"] == "user-1"
    assert api.get("/api/v1/contacts/by-user-id/user-1/").json()["id"] == first.json()["id"]


def test_bad_input_is_a_400_naming_the_field_and_stores_nothing(api, ws):
    cases = [
        ({"email": "not-an-email"}, "email"),
        ({"lifecycle_stage": "king"}, "lifecycle_stage"),
        ({"favourite": "x"}, "favourite"),
        ({"external_id": "user-other"}, "external_id"),
        ({"owner": 999999}, "owner"),
    ]
    for body, field in cases:
        response = api.put("/api/v1/contacts/by-user-id/user-5/", body, format="json")
        assert response.status_code == 400, (body, response.content)
        assert field in response.json()["error"]["fields"], body
    assert not Contact.objects.filter(workspace=ws).exists()


def test_a_viewer_may_look_up_but_not_upsert(ws, ada):
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_login(add_member(ws, "v@acme.test", Role.VIEWER))
    assert client.get("/api/v1/contacts/by-user-id/user-42/").status_code == 200
    refused = client.put("/api/v1/contacts/by-user-id/user-42/", {"first_name": "X"}, format="json")
    assert refused.status_code == 403
    ada.refresh_from_db()
    assert ada.first_name == "Ada"


def test_an_upsert_never_reaches_another_workspaces_contact(outsider_api, ws, other_ws, ada):
    response = outsider_api.put(
        "/api/v1/contacts/by-user-id/user-42/", {"first_name": "Eve"}, format="json"
    )
    assert response.status_code == 201  # their own, new contact with the same user id
    ada.refresh_from_db()
    assert ada.first_name == "Ada"
    assert Contact.objects.filter(workspace=other_ws, external_id="user-42").exists()
