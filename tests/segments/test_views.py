"""The htmx pages: builder round-trips, live preview, segment page, static lists, roles."""

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from contacts.models import Contact
from segments.builder import apply_action
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


def builder_form(**extra):
    """The fields the builder posts for: all of [country is DE]."""
    return {
        "n.kind": "all",
        "n.0.kind": "field",
        "n.0.field": "country",
        "n.0.op": "eq",
        "n.0.value": "DE",
        **extra,
    }


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


def test_saving_the_builder_form_creates_and_computes_the_segment(
    owner_client, ws, people, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(
            "/segments/new/", {"name": "Germans", "kind": "dynamic", **builder_form()}
        )
    seg = Segment.objects.get(workspace=ws, name="Germans")
    assert response.status_code == 302 and response["Location"] == f"/segments/{seg.pk}/"
    assert seg.filter == {"all": [{"field": "country", "op": "eq", "value": "DE"}]}
    assert seg.member_count == 3
    page = owner_client.get(f"/segments/{seg.pk}/").content.decode()
    assert "Up to date" in page and "0@x.test" in page


def test_a_bad_condition_is_shown_next_to_its_node_and_nothing_is_saved(owner_client, ws):
    form = builder_form(
        **{
            "n.1.kind": "any",
            "n.1.0.kind": "field",
            "n.1.0.field": "score",
            "n.1.0.op": "gt",
            "n.1.0.value": "lots",
        }
    )
    response = owner_client.post("/segments/new/", {"name": "Bad", "kind": "dynamic", **form})
    assert response.status_code == 400
    html = response.content.decode()
    assert 'id="err-n-1-0"' in html
    node_html = html.split('id="err-n-1-0"')[1].split("</div></div>")[0]
    # In words next to the control, without the JSON path the API needs to name it.
    assert "Must be a number, not &#x27;lots&#x27;" in node_html
    assert "all[1]" not in node_html
    assert not Segment.objects.filter(workspace=ws).exists()


def test_the_live_preview_counts_and_lists_the_first_contacts(member_client, people):
    response = member_client.post("/segments/builder/preview/", builder_form(), **HX)
    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="live-count">3<' in html and "2@x.test" in html and "4@x.test" not in html


def test_the_live_preview_names_the_bad_node_out_of_band(member_client, people):
    form = builder_form(**{"n.0.op": "gt"})  # text field with a numeric operator
    response = member_client.post("/segments/builder/preview/", form, **HX)
    html = response.content.decode()
    # the builder reset the operator to the text field's first one; now a bad number:
    assert 'id="live-count">' in html
    bad = builder_form(
        **{"n.1.kind": "field", "n.1.field": "score", "n.1.op": "gte", "n.1.value": "x"}
    )
    html = member_client.post("/segments/builder/preview/", bad, **HX).content.decode()
    assert 'id="err-n-1" hx-swap-oob="true"><div>Must be a number' in html
    assert 'id="err-n-0" hx-swap-oob="true"></div>' in html


def test_a_condition_not_filled_in_yet_is_left_out_of_the_count_not_called_a_mistake(
    member_client, people
):
    form = builder_form(**{"n.1.kind": "event", "n.1.event": "", "n.1.count_op": "gte"})
    response = member_client.post("/segments/builder/preview/", form, **HX)
    html = response.content.decode()
    assert 'id="live-count">3<' in html
    assert "1 condition not filled in yet is left out of this count" in html
    assert 'id="err-n-1" hx-swap-oob="true"></div>' in html  # no error before anything typed


def test_saving_with_a_condition_not_filled_in_says_what_to_choose(owner_client, ws):
    form = builder_form(**{"n.1.kind": "event", "n.1.event": ""})
    response = owner_client.post("/segments/new/", {"name": "Half", "kind": "dynamic", **form})
    assert response.status_code == 400
    node_html = response.content.decode().split('id="err-n-1"')[1].split("</div></div>")[0]
    assert "Choose an event." in node_html
    assert not Segment.objects.filter(workspace=ws).exists()


def test_the_preview_ignores_the_last_focused_builder_button(member_client, people):
    """htmx sends the last focused button's name/value with later form requests: tabbing onto
    "+ where" must not make the count evaluate a property condition that was never added."""
    form = builder_form(**{"n.1.kind": "event", "n.1.event": "Signed Up", "action": "addwhere:n.1"})
    html = member_client.post("/segments/builder/preview/", form, **HX).content.decode()
    assert 'id="live-count">0<' in html
    assert "err-n-1-w-0" not in html  # the tree it counted has no property condition


def test_the_preview_echoes_its_sequence_number_so_the_page_drops_stale_answers(
    member_client, people
):
    response = member_client.post(
        "/segments/builder/preview/", builder_form(), HTTP_X_PREVIEW_SEQ="7", **HX
    )
    assert response["X-Preview-Seq"] == "7"


@pytest.mark.parametrize(
    ("action", "expected"),
    [
        (
            "add:n:event",
            {"all": [{"field": "country"}, {"event": "", "count": {"op": "gte", "value": 1}}]},
        ),
        ("add:n.0:event", {"all": [{"field": "country"}]}),  # a condition has no children
        ("remove:n.0", {"all": []}),
        ("toggle:n", {"any": [{"field": "country"}]}),
        ("negate:n.0", {"all": [{"not": {"field": "country"}}]}),
    ],
)
def test_builder_actions_reshape_the_tree(action, expected):
    tree = apply_action({"all": [{"field": "country"}]}, action)
    assert tree == expected


def test_the_builder_endpoint_renders_an_added_group_with_its_add_buttons(member_client):
    response = member_client.post(
        "/segments/builder/", {**builder_form(), "action": "add:n:group"}, **HX
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert 'name="n.1.kind" value="any"' in html and 'value="add:n.1:field"' in html
    assert response["HX-Trigger-After-Settle"] == "segment-builder-changed"


def test_changing_the_field_offers_that_types_operators(member_client, ws):
    form = builder_form(**{"n.0.field": "created_at"})  # 'eq' is not a datetime operator
    html = member_client.post("/segments/builder/", form, **HX).content.decode()
    assert '<option value="within_last_days"' in html and '<option value="contains"' not in html


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
        assert client.post("/segments/builder/preview/", builder_form()).status_code == 403
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


def test_a_filter_cannot_reference_another_workspaces_segment_from_the_builder(
    member_client, other_ws
):
    theirs = Segment.objects.create(workspace=other_ws, name="Theirs", kind="static")
    form = {"n.kind": "all", "n.0.kind": "segment", "n.0.segment": theirs.pk, "n.0.op": "exists"}
    html = member_client.post("/segments/builder/preview/", form, **HX).content.decode()
    assert "That segment is not in this workspace any more: choose another." in html
    assert 'id="live-count">—<' in html  # no count for another workspace's segment
