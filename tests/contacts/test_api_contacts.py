"""Management API: contacts CRUD, filters, search, cursor pagination, timeline and tags."""

from datetime import timedelta

import pytest
from django.utils import timezone

from contacts import hooks
from contacts.models import AttributeDefinition, Contact, Event
from contacts.services import event_record

pytestmark = pytest.mark.django_db


def make(ws, **fields):
    return Contact.objects.create(workspace=ws, **fields)


@pytest.fixture
def pipeline(monkeypatch):
    """Record what the events_ingested pipeline is told (the real task runs eagerly)."""
    seen = []
    monkeypatch.setattr(hooks, "_processors", [])
    hooks.on_events_ingested(order=10, name="spy")(
        lambda batch: seen.append({k: set(v) for k, v in batch.changed_fields.items()})
    )
    return seen


# --- Isolation ---------------------------------------------------------------------------


def test_the_list_shows_only_the_keys_workspace(api, ws, other_ws):
    make(ws, email="ada@acme.test")
    make(other_ws, email="eve@globex.test")
    emails = [row["email"] for row in api.get("/api/v1/contacts/").json()["results"]]
    assert emails == ["ada@acme.test"]


@pytest.mark.parametrize(
    "method,suffix,body",
    [
        ("get", "", None),
        ("patch", "", {"first_name": "Eve"}),
        ("delete", "", None),
        ("get", "timeline/", None),
        ("post", "tags/", {"tags": ["vip"]}),
        ("delete", "tags/vip/", None),
    ],
)
def test_it_404s_for_another_workspaces_contact(outsider_api, ws, method, suffix, body):
    contact = make(ws, email="ada@acme.test", first_name="Ada", tags=["vip"])
    response = getattr(outsider_api, method)(
        f"/api/v1/contacts/{contact.pk}/{suffix}", body, format="json"
    )
    assert response.status_code == 404
    contact.refresh_from_db()
    assert contact.first_name == "Ada" and contact.tags == ["vip"]


def test_the_list_costs_the_same_queries_for_one_or_fifty_contacts(
    api, ws, owner, django_assert_num_queries
):
    make(ws, email="one@acme.test")
    api.get("/api/v1/workspace/")  # the key's last-used stamp is written once a minute
    with django_assert_num_queries(1):  # the page (the key comes from the Redis key cache)
        api.get("/api/v1/contacts/")
    for i in range(50):
        make(ws, email=f"p{i}@acme.test", owner=owner, attributes={"plan": "pro"})
    with django_assert_num_queries(1):
        assert len(api.get("/api/v1/contacts/").json()["results"]) == 50


# --- Filters, search, sorting, pagination ----------------------------------------------------


@pytest.fixture
def people(ws, owner):
    AttributeDefinition.objects.create(workspace=ws, key="seats", type="number")
    return {
        "ada": make(
            ws,
            email="ada@acme.test",
            first_name="Ada",
            last_name="Lovelace",
            company="Analytical Engines",
            tags=["vip", "beta"],
            lifecycle_stage="customer",
            owner=owner,
            attributes={"plan": "pro", "seats": 12},
        ),
        "bob": make(
            ws,
            email="bob@builder.test",
            first_name="Bob",
            company="Acme",
            tags=["beta"],
            lifecycle_stage="lead",
            attributes={"plan": "free", "seats": 1},
        ),
        "cy": make(ws, email="cy@acme.test", lifecycle_stage="lead", score=90),
    }


def emails(api, query):
    response = api.get(f"/api/v1/contacts/?{query}")
    assert response.status_code == 200, response.json()
    return sorted(row["email"] for row in response.json()["results"])


@pytest.mark.parametrize(
    "query,expected",
    [
        ("email=ADA@acme.test", ["ada@acme.test"]),
        ("tag=beta", ["ada@acme.test", "bob@builder.test"]),
        ("tag=beta&tag=vip", ["ada@acme.test"]),
        ("stage=lead", ["bob@builder.test", "cy@acme.test"]),
        ("stage=lead,customer", ["ada@acme.test", "bob@builder.test", "cy@acme.test"]),
        ("owner=none", ["bob@builder.test", "cy@acme.test"]),
        ("attribute=plan=pro", ["ada@acme.test"]),
        ("attribute=seats=12", ["ada@acme.test"]),
        ("q=acme", ["ada@acme.test", "bob@builder.test", "cy@acme.test"]),
        ("q=ada+engines", ["ada@acme.test"]),
        ("q=lovelace", ["ada@acme.test"]),
    ],
)
def test_filters_and_search_narrow_the_list(api, people, query, expected):
    assert emails(api, query) == expected


def test_owner_filter_takes_a_user_id(api, people, owner):
    assert emails(api, f"owner={owner.pk}") == ["ada@acme.test"]


def test_updated_since_keeps_recent_changes(api, people):
    Contact.objects.filter(pk=people["bob"].pk).update(
        updated_at=timezone.now() - timedelta(days=3)
    )
    since = (timezone.now() - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert emails(api, f"updated_since={since}") == ["ada@acme.test", "cy@acme.test"]


def test_sorting_by_score(api, people):
    rows = api.get("/api/v1/contacts/?sort=-score").json()["results"]
    assert rows[0]["email"] == "cy@acme.test"


@pytest.mark.parametrize(
    "query,field",
    [
        ("stage=vip", "stage"),
        ("updated_since=yesterday", "updated_since"),
        ("attribute=plan", "attribute"),
        ("attribute=seats=many", "attribute"),
        ("owner=bob", "owner"),
        ("sort=shoe_size", "sort"),
    ],
)
def test_a_bad_filter_is_a_400_naming_the_parameter(api, people, query, field):
    response = api.get(f"/api/v1/contacts/?{query}")
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]


def test_pages_follow_a_cursor_without_overlap(api, ws):
    for i in range(7):
        make(ws, email=f"p{i}@acme.test")
    seen, url = [], "/api/v1/contacts/?limit=3&sort=email"
    while url:
        body = api.get(url).json()
        seen += [row["email"] for row in body["results"]]
        url = body["next"]
    assert seen == sorted(f"p{i}@acme.test" for i in range(7))


# --- Create, update, delete ------------------------------------------------------------------


def test_create_normalises_and_enqueues_the_pipeline(
    api, ws, pipeline, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(
            "/api/v1/contacts/",
            {
                "email": "  Grace@Navy.TEST ",
                "first_name": "Grace",
                "phone": "+44 20 7946 0958",
                "tags": ["vip", "vip", " admiral "],
                "attributes": {"plan": "pro"},
                "lifecycle_stage": "lead",
            },
            format="json",
        )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["email"] == "grace@navy.test"
    assert body["phone"] == "+442079460958"
    assert body["tags"] == ["vip", "admiral"]
    contact = Contact.objects.get(workspace=ws, email="grace@navy.test")
    assert contact.attributes == {"plan": "pro"}
    assert AttributeDefinition.objects.filter(workspace=ws, key="plan").exists()
    assert pipeline and {"created", "email", "plan", "lifecycle_stage"} <= pipeline[-1][contact.pk]


def test_create_with_a_taken_email_is_a_409_naming_email(api, ws):
    make(ws, email="ada@acme.test", first_name="Ada")
    response = api.post(
        "/api/v1/contacts/", {"email": "ADA@acme.test", "first_name": "Imposter"}, format="json"
    )
    assert response.status_code == 409
    assert "email" in response.json()["error"]["fields"]
    assert Contact.objects.get(workspace=ws).first_name == "Ada"


@pytest.mark.parametrize(
    "body,field",
    [
        ({"email": "not-an-email"}, "email"),
        ({"email": "a@b.test", "phone": "12"}, "phone"),
        ({"email": "a@b.test", "timezone": "Mars/Olympus"}, "timezone"),
        ({"email": "a@b.test", "lifecycle_stage": "king"}, "lifecycle_stage"),
        ({"email": "a@b.test", "shoe_size": 44}, "shoe_size"),
        ({"email": "a@b.test", "owner": 999999}, "owner"),
        ({"first_name": "Nobody"}, "email"),
    ],
)
def test_create_rejects_bad_input_naming_the_field_and_stores_nothing(api, ws, body, field):
    response = api.post("/api/v1/contacts/", body, format="json")
    assert response.status_code == 400, response.json()
    assert field in response.json()["error"]["fields"]
    assert not Contact.objects.filter(workspace=ws).exists()


def test_patch_updates_fields_and_tells_the_pipeline_what_changed(
    api, ws, owner, pipeline, django_capture_on_commit_callbacks
):
    contact = make(ws, email="ada@acme.test", attributes={"plan": "free", "old": 1})
    with django_capture_on_commit_callbacks(execute=True):
        response = api.patch(
            f"/api/v1/contacts/{contact.pk}/",
            {
                "lifecycle_stage": "mql",
                "owner": owner.pk,
                "attributes": {"plan": "pro", "old": None},
                "email_consent": "subscribed",
            },
            format="json",
        )
    assert response.status_code == 200, response.json()
    contact.refresh_from_db()
    assert contact.lifecycle_stage == "mql" and contact.owner_id == owner.pk
    assert contact.attributes == {"plan": "pro"}
    assert contact.email_consent == "subscribed" and contact.email_consent_source == "api"
    assert pipeline[-1][contact.pk] == {"lifecycle_stage", "owner", "plan", "old", "email_consent"}


def test_patch_checks_attribute_types_from_the_registry(api, ws):
    AttributeDefinition.objects.create(workspace=ws, key="seats", type="number")
    contact = make(ws, email="ada@acme.test", first_name="Ada")
    response = api.patch(
        f"/api/v1/contacts/{contact.pk}/",
        {"first_name": "Augusta", "attributes": {"seats": "lots"}},
        format="json",
    )
    assert response.status_code == 400
    assert "attributes.seats" in response.json()["error"]["fields"]
    contact.refresh_from_db()
    assert contact.first_name == "Ada"  # all or nothing


def test_patch_to_another_contacts_email_is_a_409(api, ws):
    make(ws, email="ada@acme.test")
    bob = make(ws, email="bob@acme.test")
    response = api.patch(f"/api/v1/contacts/{bob.pk}/", {"email": "ada@acme.test"}, format="json")
    assert response.status_code == 409
    assert "email" in response.json()["error"]["fields"]


def test_an_owner_from_another_workspace_is_refused(api, ws, outsider):
    contact = make(ws, email="ada@acme.test")
    response = api.patch(f"/api/v1/contacts/{contact.pk}/", {"owner": outsider.pk}, format="json")
    assert response.status_code == 400
    assert "owner" in response.json()["error"]["fields"]


def test_a_sales_session_may_edit_but_not_delete_a_contact(ws):
    from django.middleware.csrf import get_token
    from django.test import Client
    from django.test.client import RequestFactory

    from tests.conftest import add_member
    from workspaces.roles import Role

    contact = Contact.objects.create(workspace=ws, email="keep@x.test")
    client = Client(enforce_csrf_checks=True)
    client.force_login(add_member(ws, "rep@acme.test", Role.SALES))
    token = get_token(RequestFactory().get("/"))
    client.cookies["csrftoken"] = token
    url = f"/api/v1/contacts/{contact.pk}/"
    edited = client.patch(
        url, {"first_name": "Kept"}, content_type="application/json", HTTP_X_CSRFTOKEN=token
    )
    assert edited.status_code == 200
    refused = client.delete(url, HTTP_X_CSRFTOKEN=token)
    assert refused.status_code == 403 and "delete_contacts" in refused.json()["error"]["message"]
    assert Contact.objects.filter(pk=contact.pk).exists()


def test_delete_removes_the_contact_and_its_events(api, ws):
    contact = make(ws, email="ada@acme.test")
    event_record(workspace=ws, contact=contact, name="Signed Up")
    assert api.delete(f"/api/v1/contacts/{contact.pk}/").status_code == 204
    assert not Contact.objects.filter(pk=contact.pk).exists()
    assert not Event.objects.filter(workspace=ws).exists()


# --- Timeline and tags -------------------------------------------------------------------------


def test_the_timeline_is_newest_first_and_pages_by_cursor(api, ws):
    contact = make(ws, email="ada@acme.test")
    other = make(ws, email="bob@acme.test")
    start = timezone.now() - timedelta(hours=10)
    for i in range(5):
        event_record(
            workspace=ws, contact=contact, name=f"e{i}", timestamp=start + timedelta(hours=i)
        )
    event_record(workspace=ws, contact=other, name="not-hers")
    first = api.get(f"/api/v1/contacts/{contact.pk}/timeline/?limit=3").json()
    assert [e["name"] for e in first["results"]] == ["e4", "e3", "e2"]
    second = api.get(
        f"/api/v1/contacts/{contact.pk}/timeline/?limit=3&before={first['next']}"
    ).json()
    assert [e["name"] for e in second["results"]] == ["e1", "e0"]
    assert second["next"] is None


def test_a_forged_timeline_cursor_is_a_400(api, ws):
    contact = make(ws, email="ada@acme.test")
    response = api.get(f"/api/v1/contacts/{contact.pk}/timeline/?before=%%%")
    assert response.status_code == 400
    assert "before" in response.json()["error"]["fields"]


def test_tags_are_added_and_removed(api, ws, pipeline, django_capture_on_commit_callbacks):
    contact = make(ws, email="ada@acme.test", tags=["beta"])
    with django_capture_on_commit_callbacks(execute=True):
        added = api.post(
            f"/api/v1/contacts/{contact.pk}/tags/", {"tags": ["vip", "beta"]}, format="json"
        )
    assert added.json()["tags"] == ["beta", "vip"]
    assert pipeline[-1] == {contact.pk: {"tags"}}
    removed = api.delete(f"/api/v1/contacts/{contact.pk}/tags/beta/")
    assert removed.json()["tags"] == ["vip"]


def test_adding_no_tags_is_a_400(api, ws):
    contact = make(ws, email="ada@acme.test")
    response = api.post(f"/api/v1/contacts/{contact.pk}/tags/", {"tags": []}, format="json")
    assert response.status_code == 400
    assert "tags" in response.json()["error"]["fields"]


def test_a_timeline_page_costs_the_same_queries_however_long(api, ws, django_assert_num_queries):
    contact = make(ws, email="ada@acme.test")
    event_record(workspace=ws, contact=contact, name="first")
    api.get("/api/v1/workspace/")
    with django_assert_num_queries(2):  # the contact, the page (the key: Redis key cache)
        api.get(f"/api/v1/contacts/{contact.pk}/timeline/")
    for i in range(40):
        event_record(workspace=ws, contact=contact, name=f"e{i}")
    with django_assert_num_queries(2):
        assert len(api.get(f"/api/v1/contacts/{contact.pk}/timeline/").json()["results"]) == 41
