"""The pages: the segment form (the condition editor island posts its tree as JSON in a hidden
input), the live count it asks for, segment page, static lists, roles."""

import json
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from contacts.models import Contact
from segments.models import Segment, SegmentMembership, SegmentSizeSnapshot
from segments.services import static_list_add
from tests.conftest import add_member, login_client

pytestmark = pytest.mark.django_db

HX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def people(ws):
    return [
        Contact.objects.create(workspace=ws, email=f"{i}@x.test", country="DE" if i < 3 else "FR")
        for i in range(5)
    ]


GERMANS = {"all": [{"field": "country", "op": "eq", "value": "DE"}]}


def segment_form(tree=GERMANS, **extra):
    """What the segment form posts: its fields and the editor's hidden `filter` input."""
    return {"name": "Germans", "kind": "dynamic", "filter": json.dumps(tree), **extra}


def editor_boot(html):
    """The tree and the errors the page hands the condition editor island."""
    tree = html.split('id="id_filter" value="')[1].split('"')[0]
    errors = html.split('<script id="filter-errors" type="application/json">')[1].split(
        "</script>"
    )[0]
    return json.loads(tree.replace("&quot;", '"')), json.loads(errors)


def test_the_list_shows_sizes_and_a_sparkline(owner_client, ws, django_assert_max_num_queries):
    seg = Segment.objects.create(workspace=ws, name="Germans", member_count=1234)
    today = timezone.now().date()
    for days_ago, size in ((40, 5), (2, 1000), (1, 1234)):
        day = today - timedelta(days=days_ago)
        SegmentSizeSnapshot.objects.create(workspace=ws, segment=seg, day=day, size=size)
    for i in range(5):
        Segment.objects.create(workspace=ws, name=f"S{i}", kind="static")
    with django_assert_max_num_queries(10):  # session, user, membership, nav; no N+1
        response = owner_client.get("/segments/")
    html = response.content.decode()
    assert response.status_code == 200
    assert "1,234" in html and 'data-chart="sparkline"' in html and "[1000, 1234]" in html


def test_saving_the_editors_tree_creates_and_computes_the_segment(
    owner_client, ws, people, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post("/segments/new/", segment_form())
    seg = Segment.objects.get(workspace=ws, name="Germans")
    assert response.status_code == 302 and response["Location"] == f"/segments/{seg.pk}/"
    assert seg.filter == GERMANS
    assert seg.member_count == 3
    page = owner_client.get(f"/segments/{seg.pk}/").content.decode()
    assert "Up to date" in page and "0@x.test" in page


def test_the_form_mounts_the_condition_editor_with_the_saved_tree(owner_client, ws):
    seg = Segment.objects.create(workspace=ws, name="Germans", filter=GERMANS)
    html = owner_client.get(f"/segments/{seg.pk}/edit/").content.decode()
    assert "data-condition-editor" in html and "dist/conditions.js" in html
    assert f'data-exclude-segment="{seg.pk}"' in html  # it cannot reference itself
    assert editor_boot(html) == (GERMANS, {})
    assert "segments/builder" not in html  # the htmx builder is gone


def test_a_bad_condition_comes_back_keyed_by_its_path_and_nothing_is_saved(owner_client, ws):
    tree = {"all": [*GERMANS["all"], {"any": [{"field": "score", "op": "gt", "value": "lots"}]}]}
    response = owner_client.post("/segments/new/", segment_form(tree, name="Bad"))
    assert response.status_code == 400
    kept, errors = editor_boot(response.content.decode())
    assert kept == tree  # what was typed comes back to the editor, as typed
    assert list(errors) == ["all[1].any[0].value"]  # the editor shows it next to that condition
    assert "number" in errors["all[1].any[0].value"]
    assert not Segment.objects.filter(workspace=ws).exists()


def test_saving_with_a_condition_not_filled_in_names_it(owner_client, ws):
    tree = {"all": [*GERMANS["all"], {"event": ""}]}
    response = owner_client.post("/segments/new/", segment_form(tree, name="Half"))
    assert response.status_code == 400
    _, errors = editor_boot(response.content.decode())
    assert list(errors) == ["all[1].event"]
    assert not Segment.objects.filter(workspace=ws).exists()


@pytest.mark.parametrize("raw", ["{not json", "x" * 200_001])
def test_a_filter_that_is_not_json_is_a_400_naming_it(owner_client, ws, raw):
    response = owner_client.post(
        "/segments/new/", {"name": "Broken", "kind": "dynamic", "filter": raw}
    )
    assert response.status_code == 400
    assert 'id="form-errors"' in response.content.decode()
    assert "filter:" in response.content.decode()
    assert not Segment.objects.filter(workspace=ws).exists()


def test_editing_keeps_the_tree_and_changes_it(owner_client, ws, people):
    seg = Segment.objects.create(workspace=ws, name="Germans", filter=GERMANS)
    french = {"all": [{"field": "country", "op": "eq", "value": "FR"}]}
    response = owner_client.post(f"/segments/{seg.pk}/edit/", segment_form(french))
    assert response.status_code == 302
    seg.refresh_from_db()
    assert seg.filter == french


def test_the_live_count_lists_the_first_contacts_with_their_names(member_client, people):
    response = member_client.post(
        "/api/v1/segments/count/", {"filter": GERMANS, "limit": 20}, content_type="application/json"
    )
    body = response.json()
    assert response.status_code == 200 and body["count"] == 3
    assert [c["email"] for c in body["contacts"]] == ["2@x.test", "1@x.test", "0@x.test"]
    assert body["contact_ids"] == [c["id"] for c in body["contacts"]]


def test_the_live_count_names_a_bad_condition_by_its_path(member_client, people):
    bad = {"all": [*GERMANS["all"], {"field": "score", "op": "gte", "value": "x"}]}
    response = member_client.post(
        "/api/v1/segments/count/", {"filter": bad}, content_type="application/json"
    )
    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["all[1].value"]


def test_the_status_block_polls_while_computing_and_stops_when_done(member_client, ws):
    seg = Segment.objects.create(
        workspace=ws, name="S", recompute_status="running", recompute_progress=40
    )
    html = member_client.get(f"/segments/{seg.pk}/status/").content.decode()
    assert 'hx-trigger="every 1s"' in html and "40%" in html
    Segment.objects.filter(pk=seg.pk).update(recompute_status="idle")
    assert "every 1s" not in member_client.get(f"/segments/{seg.pk}/status/").content.decode()


def test_static_lists_take_people_by_hand_and_by_csv(member_client, ws, people):
    lst = Segment.objects.create(workspace=ws, name="VIP", kind="static")
    member_client.post(
        f"/segments/{lst.pk}/members/add/", {"contacts": "0@x.test, " + str(people[1].pk)}
    )
    csv_file = SimpleUploadedFile(
        "l.csv", b"email\n2@x.test\nnobody@x.test\n", content_type="text/csv"
    )
    member_client.post(f"/segments/{lst.pk}/members/import/", {"file": csv_file})
    ids = set(SegmentMembership.objects.filter(segment=lst).values_list("contact_id", flat=True))
    assert ids == {people[0].pk, people[1].pk, people[2].pk}
    member_client.post(f"/segments/{lst.pk}/members/remove/", {"contact_id": people[0].pk})
    assert not SegmentMembership.objects.filter(segment=lst, contact=people[0]).exists()
    lst.refresh_from_db()
    assert lst.member_count == 2


def test_the_contact_panel_lists_segments_and_adds_to_a_list(member_client, ws, people):
    lst = Segment.objects.create(workspace=ws, name="VIP", kind="static")
    html = member_client.get(f"/segments/contact/{people[0].pk}/lists/").content.decode()
    assert "Add to list" in html
    html = member_client.post(
        f"/segments/contact/{people[0].pk}/lists/", {"list": lst.pk, "op": "add"}, **HX
    ).content.decode()
    assert (
        "VIP" in html and SegmentMembership.objects.filter(segment=lst, contact=people[0]).exists()
    )


def test_viewers_and_sales_can_read_but_not_edit(ws, people):
    lst = Segment.objects.create(workspace=ws, name="VIP", kind="static")
    for role in ("viewer", "sales"):
        client = login_client(add_member(ws, f"{role}@acme.test", role))
        assert client.get("/segments/").status_code == 200
        page = client.get(f"/segments/{lst.pk}/").content.decode()
        assert "Add people" not in page and "Edit" not in page
        assert client.get("/segments/new/").status_code == 403
        assert (
            client.post(f"/segments/{lst.pk}/members/add/", {"contacts": "0@x.test"}).status_code
            == 403
        )
        assert client.post("/segments/new/", segment_form()).status_code == 403
    assert not SegmentMembership.objects.filter(segment=lst).exists()


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("get", "/segments/{id}/"),
        ("get", "/segments/{id}/edit/"),
        ("get", "/segments/{id}/status/"),
        ("post", "/segments/{id}/edit/"),
        ("post", "/segments/{id}/recompute/"),
        ("post", "/segments/{id}/delete/"),
        ("post", "/segments/{id}/members/add/"),
        ("post", "/segments/{id}/members/remove/"),
        ("post", "/segments/{id}/members/import/"),
        ("get", "/segments/contact/{contact}/lists/"),
        ("post", "/segments/contact/{contact}/lists/"),
    ],
)
def test_it_404s_for_another_workspace(outsider_client, ws, people, method, url):
    lst = Segment.objects.create(workspace=ws, name="Ours", kind="static")
    static_list_add(segment=lst, contact_ids=[people[0].pk], source="manual")
    path = url.format(id=lst.pk, contact=people[0].pk)
    response = getattr(outsider_client, method)(
        path, {"name": "Hijack", "contacts": "1@x.test", "list": lst.pk}
    )
    assert response.status_code == 404
    assert Segment.objects.get(pk=lst.pk).name == "Ours"
    assert SegmentMembership.objects.filter(segment=lst).count() == 1


def test_a_filter_cannot_reference_another_workspaces_segment(owner_client, ws, other_ws):
    theirs = Segment.objects.create(workspace=other_ws, name="Theirs", kind="static")
    tree = {"all": [{"segment": theirs.pk}]}
    response = owner_client.post("/segments/new/", segment_form(tree, name="Sneaky"))
    assert response.status_code == 400
    _, errors = editor_boot(response.content.decode())
    assert list(errors) == ["all[0].segment"]
    assert not Segment.objects.filter(workspace=ws).exists()
