"""/api/v1/segments/: CRUD, members, counts for unsaved trees; outsiders see nothing."""

import pytest

from contacts.models import Contact
from segments.models import Segment, SegmentMembership
from segments.services import static_list_add

pytestmark = pytest.mark.django_db

GERMANS = {"all": [{"field": "country", "op": "eq", "value": "DE"}]}


@pytest.fixture
def people(ws):
    return [
        Contact.objects.create(workspace=ws, email=f"{i}@x.test", country="DE" if i < 3 else "FR")
        for i in range(5)
    ]


@pytest.fixture
def eager_commit(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        yield


def test_create_computes_and_get_shows_the_size(api, people, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(
            "/api/v1/segments/", {"name": "Germans", "filter": GERMANS}, format="json"
        )
    assert response.status_code == 201, response.content
    body = api.get(f"/api/v1/segments/{response.json()['id']}/").json()
    assert (body["member_count"], body["recompute_status"], body["kind"]) == (3, "idle", "dynamic")
    members = api.get(f"/api/v1/segments/{body['id']}/members/").json()
    assert {m["contact_id"] for m in members["results"]} == {c.pk for c in people[:3]}


def test_a_bad_tree_is_a_400_naming_the_node_and_saves_nothing(api, ws):
    tree = {"all": [{"tag": "vip"}, {"any": [{"field": "country", "op": "gt", "value": 1}]}]}
    response = api.post("/api/v1/segments/", {"name": "Bad", "filter": tree}, format="json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["message"].startswith("all[1].any[0].op: operator 'gt' is not valid")
    assert "all[1].any[0].op" in error["fields"]
    assert not Segment.objects.filter(workspace=ws).exists()


def test_update_changes_the_filter_and_recomputes(
    api, ws, people, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        seg_id = api.post(
            "/api/v1/segments/", {"name": "S", "filter": GERMANS}, format="json"
        ).json()["id"]
        response = api.patch(
            f"/api/v1/segments/{seg_id}/",
            {"filter": {"field": "country", "op": "eq", "value": "FR"}},
            format="json",
        )
    assert response.status_code == 200, response.content
    assert Segment.objects.get(pk=seg_id).member_count == 2


def test_count_of_an_unsaved_tree_returns_count_and_first_ids(api, people):
    response = api.post("/api/v1/segments/count/", {"filter": GERMANS, "limit": 2}, format="json")
    assert response.status_code == 200
    body = response.json()
    assert (body["count"], body["contact_ids"]) == (3, [people[2].pk, people[1].pk])
    # The first matches by name too (the condition editor lists them next to the count).
    assert [c["id"] for c in body["contacts"]] == body["contact_ids"]
    assert body["contacts"][0]["email"] == people[2].email


def test_another_workspaces_segment_in_a_filter_is_an_unknown_segment(api, outsider_api, other_ws):
    theirs = Segment.objects.create(workspace=other_ws, name="Theirs", kind="static")
    response = api.post(
        "/api/v1/segments/count/", {"filter": {"segment": theirs.pk}}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"segment": f"unknown segment {theirs.pk}"}


def test_static_list_members_are_added_and_removed_by_id_or_email(api, ws, people, other_ws):
    stranger = Contact.objects.create(workspace=other_ws, email="s@x.test")
    lst = api.post("/api/v1/segments/", {"name": "VIP", "kind": "static"}, format="json").json()
    added = api.post(
        f"/api/v1/segments/{lst['id']}/members/add/",
        {"contact_ids": [people[0].pk, stranger.pk], "emails": ["1@X.test"]},
        format="json",
    )
    assert added.json() == {"added": 2, "member_count": 2}
    removed = api.post(
        f"/api/v1/segments/{lst['id']}/members/remove/",
        {"contact_ids": [people[0].pk]},
        format="json",
    )
    assert removed.json() == {"removed": 1, "member_count": 1}
    history = api.get(f"/api/v1/segments/{lst['id']}/history/").json()["results"]
    assert [(h["kind"], h["reason"]) for h in history] == [
        ("exited", "api"),
        ("entered", "api"),
        ("entered", "api"),
    ]


def test_a_dynamic_segment_refuses_hand_edits(api, ws, people, eager_commit):
    seg = Segment.objects.create(workspace=ws, name="D", filter=GERMANS)
    response = api.post(
        f"/api/v1/segments/{seg.pk}/members/add/", {"contact_ids": [people[0].pk]}, format="json"
    )
    assert response.status_code == 400
    assert not SegmentMembership.objects.filter(segment=seg).exists()


def test_a_segment_in_use_cannot_be_deleted(api, ws, eager_commit):
    base = api.post(
        "/api/v1/segments/", {"name": "Base", "filter": {"all": []}}, format="json"
    ).json()
    api.post(
        "/api/v1/segments/", {"name": "User", "filter": {"segment": base["id"]}}, format="json"
    )
    response = api.delete(f"/api/v1/segments/{base['id']}/")
    assert (
        response.status_code == 400
        and "still used by 'User'" in response.json()["error"]["message"]
    )


@pytest.mark.parametrize(
    ("method", "suffix", "body"),
    [
        ("get", "", None),
        ("patch", "", {"name": "Mine"}),
        ("delete", "", None),
        ("get", "members/", None),
        ("get", "history/", None),
        ("post", "members/add/", {"contact_ids": [1]}),
        ("post", "members/remove/", {"contact_ids": [1]}),
        ("post", "recompute/", None),
    ],
)
def test_it_404s_for_another_workspace(outsider_api, ws, method, suffix, body):
    lst = Segment.objects.create(workspace=ws, name="Ours", kind="static")
    response = getattr(outsider_api, method)(
        f"/api/v1/segments/{lst.pk}/{suffix}", body, format="json"
    )
    assert response.status_code == 404
    assert Segment.objects.get(pk=lst.pk).name == "Ours"


def test_the_list_shows_only_this_workspaces_segments(api, outsider_api, ws, other_ws):
    Segment.objects.create(workspace=ws, name="Ours", kind="static")
    Segment.objects.create(workspace=other_ws, name="Theirs", kind="static")
    assert [s["name"] for s in api.get("/api/v1/segments/").json()["results"]] == ["Ours"]
    assert [s["name"] for s in outsider_api.get("/api/v1/segments/").json()["results"]] == [
        "Theirs"
    ]


def test_members_listing_pages_with_a_cursor(api, ws, people):
    lst = Segment.objects.create(workspace=ws, name="L", kind="static")
    static_list_add(segment=lst, contact_ids=[c.pk for c in people], source="manual")
    first = api.get(f"/api/v1/segments/{lst.pk}/members/?limit=2").json()
    assert len(first["results"]) == 2 and first["next"]
    second = api.get(first["next"]).json()
    assert {m["contact_id"] for m in first["results"]}.isdisjoint(
        m["contact_id"] for m in second["results"]
    )
