"""Messaging over time: quarter-hour rollups of message events summed by the workspace's
local day — exact for a half-hour zone (India, +5:30) — on the broadcast, template and
workflow pages, with a CSV of the same numbers."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from analytics import selectors
from analytics.rollups import rollups_refresh
from contacts.models import Contact
from messaging.models import Broadcast, BroadcastVariant
from tests.conftest import login_client
from tests.messaging.conftest import make_template
from workflows.services import workflow_create

from .events import events_add

pytestmark = pytest.mark.django_db

KOLKATA = ZoneInfo("Asia/Kolkata")


def utc(day, hour, minute=0, second=0):
    return datetime(2026, 3, day, hour, minute, second, tzinfo=UTC)


@pytest.fixture
def india(ws):
    ws.timezone = "Asia/Kolkata"
    ws.save(update_fields=["timezone"])
    return ws


@pytest.fixture
def sent_in_india(india):
    """One broadcast's events around the local midnight between Mar 10 and Mar 11 (18:30 UTC)
    — inside a single UTC hour, which an hourly rollup could not split.

    Hand-computed local days (IST = UTC + 5:30):
      Mar 10: 3 sent (18:20 UTC = 23:50), 3 delivered (18:25 = 23:55), 1 open (18:29:59 =
              23:59:59), 2 machine opens (18:21), 1 soft bounce (Mar 9 19:00 = Mar 10 00:30)
      Mar 11: 2 sent (18:30 = 00:00), 2 opens (18:45), 2 first clicks (18:40) less 1 taken back
              by a scanner burst (18:40:01) = 1 unique click, a second-link click (not unique),
              1 hard bounce (Mar 11 05:00 = 10:30), 1 unsubscribe (Mar 11 18:29 = 23:59)
      Mar 12: 1 complaint (Mar 11 18:31 = 00:01)
    """
    layout_html = (
        "<html><body>{{ content }}<p>{{ workspace.physical_address }} "
        '<a href="{{ unsubscribe_url }}">Unsubscribe</a></p></body></html>'
    )
    from messaging.services import layout_save

    template = make_template(india, layout_save(workspace=india, name="L", html=layout_html))
    broadcast = Broadcast.objects.create(workspace=india, name="Diwali sale", segment_id=1)
    variant = BroadcastVariant.objects.create(workspace=india, broadcast=broadcast, label="B")
    ada = Contact.objects.create(workspace=india, email="ada@example.com")
    props = {
        "source_type": "broadcast",
        "source_id": str(broadcast.pk),
        "broadcast_id": broadcast.pk,
        "template_id": template.pk,
        "channel": "email",
    }

    def add(name, at, count=1, **extra):
        events_add(india, ada, name, at, count=count, **{**props, **extra})

    add("email.sent", utc(10, 18, 20), count=3)
    add("email.delivered", utc(10, 18, 25), count=3)
    add("email.opened", utc(10, 18, 29, 59))
    add("email.machine_opened", utc(10, 18, 21), count=2, reason="apple_mpp")
    add("email.bounced", utc(9, 19), bounce="soft")
    add("email.sent", utc(10, 18, 30), count=2, variant_id=variant.pk)
    add("email.opened", utc(10, 18, 45), count=2, variant_id=variant.pk)
    add("email.clicked", utc(10, 18, 40), count=2, first=True, url="https://x.test/a")
    add("email.clicked", utc(10, 18, 41), url="https://x.test/b")  # a second link
    add("email.machine_clicked", utc(10, 18, 40, 1), retracts_click=True)
    add("email.bounced", utc(11, 5), bounce="hard")
    add("email.unsubscribed", utc(11, 18, 29))
    add("email.complained", utc(11, 18, 31))
    add("email.opened", utc(10, 18, 50), source_type="test")  # a test send: never counted
    rollups_refresh()
    return broadcast, template, variant


EXPECTED = {
    date(2026, 3, 10): dict(sent=3, delivered=3, hard_bounced=0, soft_bounced=1, opened=1,
                            machine_opened=2, clicked=0, unsubscribed=0, complained=0),
    date(2026, 3, 11): dict(sent=2, delivered=0, hard_bounced=1, soft_bounced=0, opened=2,
                            machine_opened=0, clicked=1, unsubscribed=1, complained=0),
    date(2026, 3, 12): dict(sent=0, delivered=0, hard_bounced=0, soft_bounced=0, opened=0,
                            machine_opened=0, clicked=0, unsubscribed=0, complained=1),
}  # fmt: skip
PERIOD = selectors.Period(first=date(2026, 3, 10), days=3, zone=KOLKATA)


def test_a_half_hour_zone_gets_its_own_days_from_quarter_hour_rollups(india, sent_in_india):
    broadcast, template, _ = sent_in_india
    for source in (
        selectors.MessageSource("broadcast", broadcast.pk),
        selectors.MessageSource("template", template.pk),
    ):
        rows = selectors.message_counts_daily(workspace=india, period=PERIOD, source=source)
        assert {row.pop("day"): row for row in rows} == EXPECTED


def test_one_variant_and_the_breakdown_per_variant(india, sent_in_india):
    broadcast, _, variant = sent_in_india
    rows = selectors.message_counts_daily(
        workspace=india,
        period=PERIOD,
        source=selectors.MessageSource("broadcast", broadcast.pk, variant_id=variant.pk),
    )
    assert [(r["sent"], r["opened"]) for r in rows] == [(0, 0), (2, 2), (0, 0)]
    by = selectors.message_counts_by(
        workspace=india,
        period=PERIOD,
        source=selectors.MessageSource("broadcast", broadcast.pk),
        by="variant_id",
    )
    assert [(r["key"], r["sent"], r["opened_rate"]) for r in by] == [
        (0, 3, pytest.approx(1 / 3)),
        (variant.pk, 2, 1.0),
    ]


def test_utc_days_would_be_different(ws, sent_in_india):
    """The same rollups read for a UTC workspace's days put Mar 10's 18:30–19:00 events on
    Mar 10: the day boundary is the zone's, not the rollup's."""
    broadcast, _, _ = sent_in_india
    rows = selectors.message_counts_daily(
        workspace=ws,
        period=selectors.Period(first=date(2026, 3, 10), days=2, zone=ZoneInfo("UTC")),
        source=selectors.MessageSource("broadcast", broadcast.pk),
    )
    assert [(r["sent"], r["opened"]) for r in rows] == [(5, 3), (0, 0)]


def test_the_panel_table_and_its_csv_show_the_same_numbers(
    india, owner, sent_in_india, monkeypatch
):
    broadcast, _, _ = sent_in_india
    monkeypatch.setattr(selectors, "period_ending_today", lambda **_: PERIOD)
    client = login_client(owner)
    page = client.get(f"/analytics/messages/broadcast/{broadcast.pk}/", HTTP_HX_REQUEST="true")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="message-stats-table"' in html and 'data-chart="line"' in html
    assert "<html" not in html  # the htmx partial only
    assert 'data-day="2026-03-11"' in html and "Variant B" in html
    response = client.get(f"/analytics/messages/broadcast/{broadcast.pk}/csv/")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    body = b"".join(response.streaming_content).decode()
    lines = list(csv.DictReader(io.StringIO(body)))
    assert [line["day"] for line in lines] == ["2026-03-10", "2026-03-11", "2026-03-12"]
    for line in lines:
        expected = EXPECTED[date.fromisoformat(line["day"])]
        assert {key: int(value) for key, value in line.items() if key != "day"} == expected


def test_every_messages_page_is_a_404_for_another_workspace(ws, owner, outsider, sent_in_india):
    broadcast, template, variant = sent_in_india
    workflow = workflow_create(workspace=ws, data={"name": "Onboarding"})
    mine, theirs = login_client(owner), login_client(outsider)
    for path in (
        f"/analytics/messages/broadcast/{broadcast.pk}/",
        f"/analytics/messages/template/{template.pk}/",
        f"/analytics/messages/workflow/{workflow.pk}/",
    ):
        assert mine.get(path).status_code == 200, path
        assert theirs.get(path).status_code == 404, path
        assert theirs.get(path + "csv/").status_code == 404, path
    assert (
        mine.get(f"/analytics/messages/broadcast/{broadcast.pk}/?variant=999999").status_code == 404
    )
    assert mine.get(f"/analytics/messages/workflow/{workflow.pk}/?node=nope").status_code == 404
    assert mine.get(f"/analytics/messages/segment/{broadcast.pk}/").status_code == 404


def test_the_api_answers_the_csvs_lines(india, owner, api, sent_in_india, monkeypatch):
    broadcast, _, _ = sent_in_india
    monkeypatch.setattr(selectors, "period_ending_today", lambda **_: PERIOD)
    response = login_client(owner).get(f"/analytics/messages/broadcast/{broadcast.pk}/csv/")
    lines = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    body = api.get(f"/api/v1/analytics/messages/broadcast/{broadcast.pk}/").json()
    assert body["name"] == "Diwali sale" and body["period"]["time_zone"] == "Asia/Kolkata"
    assert body["columns"] == list(lines[0])
    assert [{k: str(v) for k, v in row.items()} for row in body["rows"]] == lines
    assert body["rows"][1] == {"day": "2026-03-11", **EXPECTED[date(2026, 3, 11)]}


def test_the_api_is_a_404_for_another_workspace_and_a_400_for_a_bad_period(
    ws, api, outsider_api, sent_in_india
):
    broadcast, template, _ = sent_in_india
    workflow = workflow_create(workspace=ws, data={"name": "Onboarding"})
    for path in (
        f"/api/v1/analytics/messages/broadcast/{broadcast.pk}/",
        f"/api/v1/analytics/messages/template/{template.pk}/",
        f"/api/v1/analytics/messages/workflow/{workflow.pk}/",
    ):
        assert api.get(path + "?days=7").status_code == 200, path
        assert outsider_api.get(path).status_code == 404, path
    assert api.get(f"/api/v1/analytics/messages/segment/{broadcast.pk}/").status_code == 404
    path = f"/api/v1/analytics/messages/broadcast/{broadcast.pk}/"
    assert api.get(path + "?variant=999999").status_code == 404
    for bad in ("31", "abc", "-7", "7.0"):
        response = api.get(path, {"days": bad})
        assert response.status_code == 400, bad
        assert "days" in response.content.decode(), bad


def test_the_schema_documents_the_messages_and_deliverability_paths(owner):
    schema = login_client(owner).get("/api/schema/?format=json").json()
    operation = schema["paths"]["/api/v1/analytics/messages/{kind}/{id}/"]["get"]
    kinds = next(p for p in operation["parameters"] if p["name"] == "kind")["schema"]["enum"]
    assert kinds == ["broadcast", "template", "workflow"]
    assert "get" in schema["paths"]["/api/v1/analytics/deliverability/"]
