"""The attributed-revenue page (also the dashboard's htmx panel) and its settings page."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from analytics.attribution import attribution_process_events
from analytics.models import AttributionConfig
from contacts.models import Contact
from messaging.models import Broadcast
from tests.conftest import add_member, login_client
from workspaces.roles import Role

from .events import events_add
from .test_attribution import make_workflow, run_in

pytestmark = pytest.mark.django_db

URL = reverse("analytics:attribution")
SETTINGS_URL = reverse("analytics:attribution_settings")
HX = {"HTTP_HX_REQUEST": "true"}
VALID = {
    "conversion_events": "Paid",
    "click_window_days": "3",
    "open_window_days": "1",
    "default_model": "linear",
}


def sale(ws, *, source_type, source_id, revenue, days_ago=1, contact=None):
    """A contact who clicked a message of the source two hours before buying, attributed."""
    contact = contact or Contact.objects.create(workspace=ws)
    bought = timezone.now() - timedelta(days=days_ago)
    properties = {"channel": "email", "source_type": source_type, "source_id": source_id}
    if source_type == "broadcast":
        properties["broadcast_id"] = int(source_id)
    clicked = bought - timedelta(hours=2)
    events_add(
        ws, contact, "email.clicked", clicked, mark=False, message_id=contact.pk, **properties
    )
    order = events_add(ws, contact, "Order Completed", bought, mark=False, revenue=revenue)
    attribution_process_events(workspace=ws, events=order)


def broadcast_sale(ws, name, revenue, **extra):
    broadcast = Broadcast.objects.create(workspace=ws, name=name, segment_id=0)
    sale(ws, source_type="broadcast", source_id=str(broadcast.pk), revenue=revenue, **extra)
    return broadcast


def workflow_sale(ws, name, revenue):
    workflow = make_workflow(ws, name)
    contact = Contact.objects.create(workspace=ws)
    run = run_in(workflow, contact)
    sale(ws, source_type="workflow", source_id=f"{run.pk}:hello", revenue=revenue, contact=contact)
    return workflow


@pytest.fixture
def viewer_client(ws):
    return login_client(add_member(ws, "viewer@acme.test", Role.VIEWER))


# --- the report --------------------------------------------------------------------------------


def test_a_member_sees_revenue_by_source_with_links_and_a_chart(ws, member_client):
    spring = broadcast_sale(ws, "Spring sale", "49.90")
    welcome = workflow_sale(ws, "Welcome series", 200)
    response = member_client.get(URL)
    assert response.status_code == 200
    html = response.content.decode()
    assert "<html" in html.lower()
    assert html.index("Welcome series") < html.index("Spring sale")  # by revenue
    assert reverse("workflows:detail", args=[welcome.pk]) in html
    assert reverse("messaging:broadcast_detail", args=[spring.pk]) in html
    assert 'data-chart="bar"' in html
    totals = response.context["totals"]
    assert totals["revenue"] == Decimal("249.90")
    assert totals["unattributed_revenue"] == Decimal("0.00")


def test_attributed_revenue_reads_in_the_workspaces_currency(ws, member_client):
    ws.currency = "GBP"
    ws.save(update_fields=["currency"])
    broadcast_sale(ws, "Spring sale", "1249.90")
    html = member_client.get(URL).content.decode()
    assert '<div class="stat-value" id="attributed-revenue">£1,249.90</div>' in html
    assert "Revenue (GBP)" in html


def test_an_htmx_request_gets_only_the_partial(ws, member_client):
    broadcast_sale(ws, "Mum's day", 10)
    response = member_client.get(URL, {"days": 30}, **HX)
    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="attribution"' in html and "Mum&#x27;s day" in html
    # the chart's JSON stays inside its single-quoted attribute
    assert "data-labels='[&quot;Mum&#x27;s day&quot;]'" in html
    assert "<html" not in html.lower()
    assert (
        'id="attribution-form"' in html and "Attributed revenue" not in html
    )  # not the page title


def test_the_period_leaves_out_older_conversions(ws, member_client):
    broadcast_sale(ws, "Old news", 10, days_ago=20)
    broadcast_sale(ws, "Fresh", 5, days_ago=1)
    html = member_client.get(URL, {"days": 7}).content.decode()
    assert "Fresh" in html and "Old news" not in html
    assert "Old news" in member_client.get(URL, {"days": 30}).content.decode()


def test_a_date_range_is_read_in_the_workspaces_time_zone(ws, member_client):
    ws.timezone = "Pacific/Auckland"
    ws.save(update_fields=["timezone"])
    broadcast_sale(ws, "Spring sale", 10, days_ago=3)
    today = timezone.now().astimezone(ZoneInfo("Pacific/Auckland")).date()
    response = member_client.get(
        URL, {"from": (today - timedelta(days=10)).isoformat(), "to": today.isoformat()}
    )
    period = response.context["period"]
    assert period.start.utcoffset() in (timedelta(hours=12), timedelta(hours=13))
    assert "Spring sale" in response.content.decode()


def test_bad_period_input_is_named_and_the_page_still_renders(ws, member_client):
    response = member_client.get(URL, {"from": "yesterday", "model": "magic"})
    assert response.status_code == 400
    html = response.content.decode()
    assert "from: “yesterday” is not a date" in html
    assert "model: one of last_touch, first_touch, linear" in html


def test_the_model_selector_changes_the_credit(ws, member_client):
    early = Broadcast.objects.create(workspace=ws, name="Early", segment_id=0)
    late = Broadcast.objects.create(workspace=ws, name="Late", segment_id=0)
    contact = Contact.objects.create(workspace=ws)
    bought = timezone.now() - timedelta(days=1)
    for broadcast, hours in ((early, 30), (late, 2)):
        events_add(
            ws,
            contact,
            "email.clicked",
            bought - timedelta(hours=hours),
            mark=False,
            message_id=broadcast.pk,
            source_type="broadcast",
            source_id=str(broadcast.pk),
            channel="email",
        )
    order = events_add(ws, contact, "Order Completed", bought, mark=False, revenue=10)
    attribution_process_events(workspace=ws, events=order)
    names = lambda model: [  # noqa: E731
        row["label"] for row in member_client.get(URL, {"model": model}).context["sources"]
    ]
    assert names("last_touch") == ["Late"]
    assert names("first_touch") == ["Early"]
    assert sorted(names("linear")) == ["Early", "Late"]


def test_the_default_model_comes_from_the_settings(ws, member_client):
    AttributionConfig.objects.create(workspace=ws, default_model="linear")
    assert member_client.get(URL).context["model"] == "linear"


def test_an_outsider_sees_only_their_own_workspaces_sources(ws, other_ws, outsider_client):
    broadcast_sale(ws, "Acme secret sale", 999)
    broadcast_sale(other_ws, "Globex promo", 5)
    response = outsider_client.get(URL)
    html = response.content.decode()
    assert "Globex promo" in html
    assert "Acme secret sale" not in html and "999" not in html
    assert response.context["totals"]["revenue"] == Decimal("5.00")


def test_an_anonymous_visitor_is_sent_to_log_in(client):
    assert client.get(URL).status_code == 302


def test_the_page_makes_the_same_number_of_queries_for_many_sources(ws, member_client):
    broadcast_sale(ws, "One", 1)
    member_client.get(URL)  # warm the session
    with CaptureQueriesContext(connection) as few:
        assert member_client.get(URL).status_code == 200
    for n in range(4):
        broadcast_sale(ws, f"Broadcast {n}", n + 2)
        workflow_sale(ws, f"Workflow {n}", n + 3)
    with CaptureQueriesContext(connection) as many:
        response = member_client.get(URL)
    assert len(response.context["sources"]) == 9
    assert len(many) == len(few) + 1  # + the workflow names (broadcast names were read before)


# --- settings ----------------------------------------------------------------------------------


def test_the_owner_saves_the_settings(ws, owner_client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):  # the recompute runs (eagerly)
        response = owner_client.post(
            SETTINGS_URL,
            {
                "conversion_events": "Order Completed\nSubscription Started, deal.won",
                "click_window_days": "7",
                "open_window_days": "2",
                "default_model": "first_touch",
            },
        )
    assert response.status_code == 302
    config = AttributionConfig.objects.get(workspace=ws)
    assert config.conversion_events == ["Order Completed", "Subscription Started", "deal.won"]
    assert (config.click_window_days, config.open_window_days, config.default_model) == (
        7,
        2,
        "first_touch",
    )


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("click_window_days", "0", "between 1 and 90 days"),
        ("open_window_days", "91", "between 1 and 90 days"),
        ("click_window_days", "five", "a whole number of days"),
        ("conversion_events", " , \n", "name at least one event"),
        ("default_model", "u_shaped", "one of last_touch, first_touch, linear"),
    ],
)
def test_bad_settings_are_named_inline_and_nothing_is_saved(
    ws, owner_client, field, value, message
):
    response = owner_client.post(SETTINGS_URL, {**VALID, field: value})
    assert response.status_code == 400
    assert set(response.context["form"].errors) == {field}
    assert message in response.context["form"].errors[field][0]
    assert message in response.content.decode()
    assert not AttributionConfig.objects.filter(workspace=ws).exists()


@pytest.mark.parametrize("role", [Role.VIEWER, Role.MARKETER])
def test_only_those_who_manage_the_workspace_can_save(ws, role):
    client = login_client(add_member(ws, f"{role}@acme.test", role))
    page = client.get(SETTINGS_URL)
    assert page.status_code == 200 and "Save settings" not in page.content.decode()
    response = client.post(SETTINGS_URL, VALID)
    assert response.status_code == 403
    assert not AttributionConfig.objects.filter(workspace=ws).exists()


def test_settings_saved_by_an_outsider_stay_in_their_own_workspace(ws, other_ws, outsider_client):
    outsider_client.post(SETTINGS_URL, VALID)
    assert not AttributionConfig.objects.filter(workspace=ws).exists()
    assert AttributionConfig.objects.get(workspace=other_ws).pending["conversion_events"] == [
        "Paid"
    ]


def test_the_settings_page_shows_the_defaults(ws, member_client):
    html = member_client.get(SETTINGS_URL).content.decode()
    assert "Order Completed\ndeal.won" in html
    assert 'name="click_window_days" value="5"' in html
