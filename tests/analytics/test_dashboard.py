"""The analytics dashboard: what a marketer reads off it for a period, and that it reads
only their own workspace."""

from datetime import timedelta

import pytest
from django.utils import timezone

from analytics.rollups import rollups_refresh
from contacts.models import Contact
from messaging.models import Broadcast, Message
from tests.analytics.events import events_add
from tests.workflows.conftest import chain, make_workflow
from workflows.models import WorkflowRun

pytestmark = pytest.mark.django_db

FLOW = chain(
    ("start", "trigger.event", {"event": "Signed Up"}),
    ("wait", "wait.duration", {"days": 1}),
)


def _kpi(html, key):
    start = html.index(f'data-kpi="{key}"')
    value = html.index('class="stat-value">', start) + len('class="stat-value">')
    return html[value : html.index("</div>", value)]


@pytest.fixture
def activity(ws):
    ada = Contact.objects.create(workspace=ws, email="ada@acme.test", lifecycle_stage="customer")
    Contact.objects.create(workspace=ws, email="bob@acme.test", lifecycle_stage="lead")
    Contact.objects.create(workspace=ws, email="cy@acme.test", lifecycle_stage="lead")
    events_add(ws, ada, "Pricing", timezone.now() - timedelta(hours=2), count=5, type="page")
    events_add(
        ws, ada, "Pricing", timezone.now() - timedelta(days=20), count=7, type="page"
    )  # outside 7 days
    events_add(ws, ada, "Order Completed", timezone.now() - timedelta(hours=3), count=2, revenue=50)
    events_add(ws, ada, "email.sent", timezone.now() - timedelta(hours=5), count=4)
    rollups_refresh()
    workflow = make_workflow(ws, FLOW, name="Onboarding")
    run = WorkflowRun.objects.create(
        workspace=ws,
        workflow=workflow,
        version=workflow.current_version,
        contact=ada,
        current_node="wait",
        status="converted",
    )
    sent = timezone.now() - timedelta(hours=5)
    Message.objects.create(
        workspace=ws,
        contact=ada,
        channel="email",
        source_type="workflow",
        source_id=f"{run.pk}:hello",
        status="delivered",
        sent_at=sent,
        opened_at=sent,
    )
    broadcast = Broadcast.objects.create(
        workspace=ws, name="November news", segment_id=0, status="sent", started_at=sent
    )
    for address in ("bob", "cy"):
        Message.objects.create(
            workspace=ws,
            contact=Contact.objects.get(workspace=ws, email=f"{address}@acme.test"),
            channel="email",
            source_type="broadcast",
            source_id=str(broadcast.pk),
            broadcast=broadcast,
            status="sent",
            sent_at=sent,
            clicked_at=sent if address == "bob" else None,
        )
    return workflow


def test_the_dashboard_shows_the_periods_figures(member_client, activity):
    html = member_client.get("/analytics/?days=7").content.decode()
    assert _kpi(html, "page_views") == "5"  # the 7 of 20 days ago are outside the period
    assert _kpi(html, "emails_sent") == "4"
    assert _kpi(html, "conversions") == "2"
    assert _kpi(html, "revenue") == "$100.00"  # the workspace's currency, USD by default
    assert _kpi(html, "new_contacts") == "3"
    assert "Onboarding" in html and "November news" in html
    assert "Order Completed" in html  # top events

    wider = member_client.get("/analytics/?days=30").content.decode()
    assert _kpi(wider, "page_views") == "12"


def test_revenue_reads_in_the_workspaces_currency(member_client, ws, activity):
    ws.currency = "EUR"
    ws.save(update_fields=["currency"])
    html = member_client.get("/analytics/?days=7").content.decode()
    assert _kpi(html, "revenue") == "€100.00"
    top = html[html.index('id="top-events"') :]
    assert "<td>€100.00</td>" in top[: top.index("</table>")]
    assert "Revenue (EUR)" in html  # the chart's series
    ws.currency = "JPY"  # no minor unit
    ws.save(update_fields=["currency"])
    assert _kpi(member_client.get("/analytics/?days=7").content.decode(), "revenue") == "¥100"


def test_the_tables_read_the_workflows_and_broadcasts_results(member_client, activity):
    html = member_client.get("/analytics/?days=30").content.decode()
    workflows = html[html.index('id="workflows"') : html.index('id="broadcasts"')]
    cells = [c.split(">", 1)[1].split("<", 1)[0] for c in workflows.split("<td")[1:]]
    # name…, enrolled 1, in progress 0, reached goal 1 (100%), 1 message, 100% opened, 0% clicked
    assert cells[1:5] == ["1", "0", "1 ", "1"]
    assert "100%" in workflows
    broadcasts = html[html.index('id="broadcasts"') :]
    assert "50%" in broadcasts  # one of two recipients clicked


def test_the_lifecycle_funnel_counts_contacts_at_or_past_each_stage(member_client, activity):
    html = member_client.get("/analytics/").content.decode()
    funnel = html[html.index('id="lifecycle"') : html.index('id="channels"')]
    rows = [r for r in funnel.split("<tr>")[2:]]
    reached = [r.split("<td>")[2].split("<")[0] for r in rows]
    assert reached == ["3", "3", "1", "1", "1"]  # subscriber, lead, MQL, SQL, customer


def test_an_htmx_request_swaps_only_the_body(member_client, activity):
    response = member_client.get("/analytics/?days=7", headers={"HX-Request": "true"})
    html = response.content.decode()
    assert 'data-kpi="page_views"' in html and "<html" not in html


def test_an_unknown_period_falls_back_to_thirty_days(member_client, activity):
    html = member_client.get("/analytics/?days=banana").content.decode()
    assert 'aria-current="true">Last 30 days' in html


def test_another_workspace_sees_none_of_it(outsider_client, activity):
    html = outsider_client.get("/analytics/?days=30").content.decode()
    assert "Onboarding" not in html and "November news" not in html
    assert _kpi(html, "page_views") == "0"
    assert _kpi(html, "new_contacts") == "0"


def test_the_dashboard_needs_a_login(client, db):
    assert client.get("/analytics/").status_code == 302


def test_the_number_of_queries_does_not_grow_with_workflows_or_broadcasts(
    member_client, activity, ws, django_assert_max_num_queries
):
    with django_assert_max_num_queries(40) as few:
        member_client.get("/analytics/")
    for i in range(5):
        make_workflow(ws, FLOW, name=f"Flow {i}").__class__.objects.filter(
            workspace=ws, name=f"Flow {i}"
        ).update(status="active")
        Broadcast.objects.create(
            workspace=ws, name=f"B{i}", segment_id=0, status="sent", started_at=timezone.now()
        )
    with django_assert_max_num_queries(len(few.captured_queries)):
        member_client.get("/analytics/")


def test_the_first_saved_funnel_is_embedded_and_loads_its_result(member_client, ws, activity):
    from analytics.models import Funnel

    assert "Define a funnel" in member_client.get("/analytics/").content.decode()
    funnel = Funnel.objects.create(
        workspace=ws,
        name="Pricing to order",
        steps=[{"page": "Pricing"}, {"event": "Order Completed"}],
    )
    html = member_client.get("/analytics/?days=7").content.decode()
    url = f"/analytics/funnels/{funnel.pk}/?partial=result&amp;days=7"
    assert "Pricing to order" in html and url in html
    result = member_client.get(url.replace("&amp;", "&"), headers={"HX-Request": "true"})
    assert result.status_code == 200 and "<html" not in result.content.decode()


def test_the_demo_workspace_opens_on_a_full_dashboard(ws, member_client):
    import io

    from analytics.demo import demo_seed as analytics_seed
    from contacts.demo import demo_seed as contacts_seed

    out = io.StringIO()
    contacts_seed(workspace=ws, contacts=40, stdout=out)
    analytics_seed(workspace=ws, contacts=40, stdout=out)
    html = member_client.get("/analytics/").content.decode()
    assert _kpi(html, "page_views") not in ("0", "")
    assert "Sign-up → pricing → order" in html


def test_the_attributed_revenue_panel_loads_for_the_same_period(member_client, activity):
    html = member_client.get("/analytics/?days=90").content.decode()
    assert 'hx-get="/analytics/attribution/?days=90"' in html
    panel = member_client.get("/analytics/attribution/?days=90", headers={"HX-Request": "true"})
    assert panel.status_code == 200 and "<html" not in panel.content.decode()
