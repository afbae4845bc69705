"""Contact pages: list (search, filters, sort, pages, constant queries), profile, timeline,
tags, edit, export — and who may do what."""

import csv
import io
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from contacts import hooks
from contacts.models import AttributeDefinition, Contact
from contacts.services import event_record
from tests.conftest import add_member, login_client
from workspaces.roles import Role

pytestmark = pytest.mark.django_db


def make(ws, **fields):
    return Contact.objects.create(workspace=ws, **fields)


@pytest.fixture(autouse=True)
def quiet_pipeline(monkeypatch):
    monkeypatch.setattr(hooks, "_processors", [])


@pytest.fixture
def viewer_client(ws):
    return login_client(add_member(ws, "viewer@acme.test", Role.VIEWER))


@pytest.fixture
def sales_client(ws):
    return login_client(add_member(ws, "sales@acme.test", Role.SALES))


@pytest.fixture
def ada(ws, owner):
    contact = make(
        ws,
        email="ada@acme.test",
        first_name="Ada",
        last_name="Lovelace",
        company="Analytical Engines",
        tags=["vip"],
        owner=owner,
        attributes={"plan": "pro"},
        email_consent="subscribed",
    )
    return contact


# --- List -------------------------------------------------------------------------------------


def test_the_list_shows_contacts_of_the_workspace_only(owner_client, ada, other_ws):
    make(other_ws, email="eve@globex.test")
    html = owner_client.get(reverse("contacts:list")).content.decode()
    assert "Ada Lovelace" in html and "eve@globex.test" not in html


def test_search_and_filters_narrow_the_list(owner_client, ws, ada):
    make(ws, email="bob@builder.test", first_name="Bob", lifecycle_stage="lead")
    html = owner_client.get(reverse("contacts:list"), {"q": "builder"}).content.decode()
    assert "Bob" in html and "Ada Lovelace" not in html
    html = owner_client.get(reverse("contacts:list"), {"tag": "vip"}).content.decode()
    assert "Ada Lovelace" in html and "bob@builder.test" not in html
    html = owner_client.get(
        reverse("contacts:list"), {"stage": "lead", "owner": ""}
    ).content.decode()
    assert "Bob" in html and "Ada Lovelace" not in html
    html = owner_client.get(reverse("contacts:list"), {"attribute": "plan=pro"}).content.decode()
    assert "Ada Lovelace" in html and "Bob" not in html


def test_an_htmx_filter_returns_only_the_results_partial(owner_client, ada):
    response = owner_client.get(
        reverse("contacts:list"),
        {"q": "ada"},
        headers={"HX-Request": "true", "HX-Target": "contact-results"},
    )
    html = response.content.decode()
    assert "Ada Lovelace" in html and "<aside" not in html
    assert 'id="export-link" hx-swap-oob="true"' in html and "q=ada" in html


def test_a_bad_filter_is_explained_not_a_500(owner_client, ada):
    response = owner_client.get(reverse("contacts:list"), {"stage": "emperor"})
    assert response.status_code == 400
    assert "is not a lifecycle stage" in response.content.decode()
    assert "Ada Lovelace" in response.content.decode()  # the other filters still apply


def test_sorting_by_score_orders_rows(owner_client, ws):
    make(ws, email="low@acme.test", score=1)
    make(ws, email="high@acme.test", score=99)
    html = owner_client.get(reverse("contacts:list"), {"sort": "-score"}).content.decode()
    assert html.index("high@acme.test") < html.index("low@acme.test")


def test_the_list_pages_fifty_at_a_time(owner_client, ws):
    Contact.objects.bulk_create(
        [Contact(workspace=ws, email=f"p{i:03}@acme.test") for i in range(120)]
    )
    first = owner_client.get(reverse("contacts:list"), {"sort": "email"}).content.decode()
    assert "1–50 of 120 contacts" in first and "p049@" in first and "p050@" not in first
    third = owner_client.get(
        reverse("contacts:list"), {"sort": "email", "page": 3}
    ).content.decode()
    assert "101–120 of 120" in third and "p119@" in third


def test_the_list_costs_the_same_queries_for_one_page_or_another(
    owner_client, ws, owner, django_assert_num_queries
):
    make(ws, email="one@acme.test", tags=["a"], owner=owner)
    owner_client.get(reverse("contacts:list"))  # session warm-up
    # session, user, membership, session save (3), count, page, tags, owners, switcher
    with django_assert_num_queries(11) as few:
        owner_client.get(reverse("contacts:list"))
    Contact.objects.bulk_create(
        [
            Contact(workspace=ws, email=f"p{i}@acme.test", tags=[f"t{i}"], owner=owner)
            for i in range(80)
        ]
    )
    with django_assert_num_queries(len(few.captured_queries)):
        response = owner_client.get(reverse("contacts:list"))
    assert response.content.decode().count('class="ct-avatar"') == 50


# --- Export -------------------------------------------------------------------------------------


def test_export_streams_the_filtered_contacts_as_csv(owner_client, ws, ada):
    AttributeDefinition.objects.create(workspace=ws, key="plan")
    make(ws, email="bob@acme.test", first_name="=HYPERLINK(1)", phone="+4915112345678")
    response = owner_client.get(reverse("contacts:export"), {"tag": "vip"})
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [r["email"] for r in rows] == ["ada@acme.test"]
    assert (
        rows[0]["plan"] == "pro"
        and rows[0]["tags"] == "vip"
        and rows[0]["owner"] == "owner@acme.test"
    )
    everyone = list(
        csv.DictReader(
            io.StringIO(
                b"".join(owner_client.get(reverse("contacts:export")).streaming_content).decode()
            )
        )
    )
    bob = next(r for r in everyone if r["email"] == "bob@acme.test")
    assert bob["first_name"] == "'=HYPERLINK(1)"  # not a formula in a spreadsheet
    assert bob["phone"] == "+4915112345678"


# --- Profile, timeline, tags ------------------------------------------------------------------


def test_the_profile_shows_fields_attributes_consent_tags_and_timeline(owner_client, ws, ada):
    event_record(
        workspace=ws,
        contact=ada,
        name="Pricing",
        type="page",
        properties={"url": "https://acme.test/pricing", "title": "Pricing"},
    )
    event_record(workspace=ws, contact=ada, name="Order Completed", properties={"revenue": 99})
    event_record(
        workspace=ws, contact=ada, name="email.opened", properties={"subject": "Welcome aboard"}
    )
    event_record(
        workspace=ws,
        contact=ada,
        name="form.submitted",
        properties={"form_name": "Newsletter", "fields": {"email": "ada@acme.test"}},
    )
    html = owner_client.get(reverse("contacts:detail", args=[ada.pk])).content.decode()
    for text in (
        "Ada Lovelace",
        "Analytical Engines",
        "plan",
        "pro",
        "Subscribed",
        "vip",
        "Viewed Pricing",
        "https://acme.test/pricing",
        "Order Completed",
        "revenue",
        "Opened an email: “Welcome aboard”",
        "Submitted form Newsletter",
    ):
        assert text in html, text


def test_the_timeline_loads_more_with_htmx(owner_client, ws, ada):
    start = timezone.now() - timedelta(days=2)
    for i in range(35):
        event_record(
            workspace=ws, contact=ada, name=f"step-{i:02}", timestamp=start + timedelta(minutes=i)
        )
    html = owner_client.get(reverse("contacts:detail", args=[ada.pk])).content.decode()
    assert "step-34" in html and "step-05" in html and "step-04" not in html
    before = html.split("?before=")[1].split('"')[0]
    more = owner_client.get(
        reverse("contacts:timeline", args=[ada.pk]),
        {"before": before},
        headers={"HX-Request": "true"},
    ).content.decode()
    assert "step-04" in more and "step-00" in more and "step-05" not in more
    assert "Load more" not in more


def test_tags_are_added_and_removed_with_htmx(owner_client, ada):
    response = owner_client.post(
        reverse("contacts:tag_add", args=[ada.pk]),
        {"tag": " beta "},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200 and "beta" in response.content.decode()
    ada.refresh_from_db()
    assert ada.tags == ["vip", "beta"]
    owner_client.post(
        reverse("contacts:tag_remove", args=[ada.pk]),
        {"tag": "vip"},
        headers={"HX-Request": "true"},
    )
    ada.refresh_from_db()
    assert ada.tags == ["beta"]


def test_edit_saves_fields_and_attributes(owner_client, ws, ada, owner):
    AttributeDefinition.objects.create(workspace=ws, key="seats", type="number")
    response = owner_client.post(
        reverse("contacts:edit", args=[ada.pk]),
        {
            "first_name": "Augusta",
            "last_name": "Lovelace",
            "email": "ada@acme.test",
            "lifecycle_stage": "customer",
            "owner": "",
            "email_consent": "unsubscribed",
            "sms_consent": "unknown",
            "timezone": "Europe/London",
            "attr__seats": "12",
        },
    )
    assert response.status_code == 302
    ada.refresh_from_db()
    assert (
        ada.first_name == "Augusta" and ada.lifecycle_stage == "customer" and ada.owner_id is None
    )
    assert ada.attributes == {"plan": "pro", "seats": 12}
    assert ada.email_consent == "unsubscribed" and ada.email_consent_source == "ui"


def test_a_bad_edit_shows_the_error_next_to_the_field_and_changes_nothing(owner_client, ws, ada):
    AttributeDefinition.objects.create(workspace=ws, key="seats", type="number")
    response = owner_client.post(
        reverse("contacts:edit", args=[ada.pk]),
        {
            "first_name": "Changed",
            "email": "ada@acme.test",
            "phone": "123",
            "lifecycle_stage": "lead",
            "email_consent": "subscribed",
            "sms_consent": "unknown",
            "attr__seats": "many",
        },
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "not a valid phone number" in html
    ada.refresh_from_db()
    assert ada.first_name == "Ada" and ada.phone == ""


def test_adding_a_contact_by_hand(owner_client, ws):
    response = owner_client.post(
        reverse("contacts:create"),
        {
            "email": "New@Acme.test",
            "first_name": "Nia",
            "lifecycle_stage": "lead",
            "email_consent": "unknown",
            "sms_consent": "unknown",
        },
    )
    contact = Contact.objects.get(workspace=ws, email="new@acme.test")
    assert response.status_code == 302 and response["Location"] == reverse(
        "contacts:detail", args=[contact.pk]
    )
    assert contact.first_name == "Nia" and contact.lifecycle_stage == "lead"


def test_adding_a_duplicate_email_says_so(owner_client, ada):
    response = owner_client.post(
        reverse("contacts:create"),
        {
            "email": "ada@acme.test",
            "lifecycle_stage": "lead",
            "email_consent": "unknown",
            "sms_consent": "unknown",
        },
    )
    assert response.status_code == 400
    assert "already has this email" in response.content.decode()


def test_delete_removes_the_contact(owner_client, ws, ada):
    response = owner_client.post(reverse("contacts:delete", args=[ada.pk]))
    assert response.status_code == 302
    assert not Contact.objects.filter(pk=ada.pk).exists()


# --- Roles ------------------------------------------------------------------------------------------


def test_a_viewer_sees_contacts_but_cannot_edit(viewer_client, ada):
    html = viewer_client.get(reverse("contacts:detail", args=[ada.pk])).content.decode()
    assert "Ada Lovelace" in html and reverse("contacts:edit", args=[ada.pk]) not in html
    assert viewer_client.get(reverse("contacts:edit", args=[ada.pk])).status_code == 403
    assert (
        viewer_client.post(reverse("contacts:tag_add", args=[ada.pk]), {"tag": "x"}).status_code
        == 403
    )
    assert viewer_client.post(reverse("contacts:delete", args=[ada.pk])).status_code == 403
    ada.refresh_from_db()
    assert ada.tags == ["vip"]


def test_sales_edit_contacts_but_never_delete_them(sales_client, member_client, ws, ada):
    html = sales_client.get(reverse("contacts:detail", args=[ada.pk])).content.decode()
    assert reverse("contacts:edit", args=[ada.pk]) in html
    assert reverse("contacts:delete", args=[ada.pk]) not in html
    assert sales_client.post(reverse("contacts:delete", args=[ada.pk])).status_code == 403
    assert Contact.objects.filter(pk=ada.pk).exists()
    marketer = member_client.get(reverse("contacts:detail", args=[ada.pk])).content.decode()
    assert reverse("contacts:delete", args=[ada.pk]) in marketer


def test_sales_can_edit_contacts(sales_client, ada):
    response = sales_client.post(reverse("contacts:tag_add", args=[ada.pk]), {"tag": "called"})
    assert response.status_code == 302
    ada.refresh_from_db()
    assert "called" in ada.tags


# --- Isolation -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name,method",
    [
        ("contacts:detail", "get"),
        ("contacts:edit", "get"),
        ("contacts:edit", "post"),
        ("contacts:timeline", "get"),
        ("contacts:tag_add", "post"),
        ("contacts:tag_remove", "post"),
        ("contacts:delete", "post"),
    ],
)
def test_every_contact_page_404s_for_the_outsider(outsider_client, ada, name, method):
    response = getattr(outsider_client, method)(
        reverse(name, args=[ada.pk]), {"tag": "vip", "first_name": "x"}
    )
    assert response.status_code == 404
    ada.refresh_from_db()
    assert ada.tags == ["vip"] and ada.first_name == "Ada"


def test_the_outsider_list_and_export_hold_none_of_our_contacts(outsider_client, ada):
    assert "ada@acme.test" not in outsider_client.get(reverse("contacts:list")).content.decode()
    export = b"".join(outsider_client.get(reverse("contacts:export")).streaming_content).decode()
    assert "ada@acme.test" not in export
