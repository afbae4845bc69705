"""/api/v1/analytics/funnels/ and /api/v1/analytics/attribution/: the numbers of the pages, for
BI tools; bad input named; another workspace's funnel is a 404 and its revenue never shows."""

from __future__ import annotations

from decimal import Decimal

import pytest

from analytics.attribution import attribution_config_save
from analytics.models import Funnel

from .test_attribution_views import broadcast_sale
from .test_funnel_editor_views import journeys  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db

STEPS = [{"event": "Plan Viewed"}, {"event": "Signed Up"}]


@pytest.fixture
def funnel(ws, owner):
    return Funnel.objects.create(
        workspace=ws,
        name="Plans",
        steps=STEPS,
        exclusions=[{"event": "Demo Booked", "from_step": 1, "to_step": 2}],
        breakdown={"property": "plan", "top": 5},
        created_by=owner,
    )


def test_the_funnels_are_listed_with_their_definitions(api, funnel):
    body = api.get("/api/v1/analytics/funnels/").json()
    [item] = body["results"]
    assert item["name"] == "Plans" and item["steps"] == STEPS
    assert item["exclusions"] == [{"event": "Demo Booked", "from_step": 1, "to_step": 2}]
    assert item["breakdown"] == {"property": "plan", "top": 5}


def test_a_funnels_counts_match_its_page(api, funnel, journeys):  # noqa: F811
    response = api.get(f"/api/v1/analytics/funnels/{funnel.pk}/", {"days": 7})
    assert response.status_code == 200
    body = response.json()
    assert (body["entered"], body["converted"], body["excluded"]) == (3, 2, 1)
    assert [step["contacts"] for step in body["steps"]] == [3, 2]
    assert body["steps"][1]["share_of_step_1"] == pytest.approx(2 / 3)
    assert body["breakdown"]["label"] == "plan (property of step 1)"
    assert [(v["value"], v["contacts"]) for v in body["breakdown"]["values"]] == [
        ("pro", [2, 1]),
        ("free", [1, 1]),
    ]
    assert body["period"]["days"] == 7


def test_a_bad_period_is_named(api, funnel):
    response = api.get(f"/api/v1/analytics/funnels/{funnel.pk}/", {"days": "12"})
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"days": "one of 7, 30, 90"}


def test_a_saved_funnel_that_no_longer_parses_is_a_400_naming_the_part(api, ws):
    broken = Funnel.objects.create(workspace=ws, name="Old", steps=[{"event": "A"}, {"x": 1}])
    response = api.get(f"/api/v1/analytics/funnels/{broken.pk}/")
    assert response.status_code == 400 and "steps[1]" in response.json()["error"]["fields"]


def test_another_workspaces_funnel_is_a_404(outsider_api, funnel):
    assert outsider_api.get(f"/api/v1/analytics/funnels/{funnel.pk}/").status_code == 404
    assert outsider_api.get("/api/v1/analytics/funnels/").json()["results"] == []


def test_the_api_is_read_only(api, funnel):
    assert api.delete(f"/api/v1/analytics/funnels/{funnel.pk}/").status_code == 405
    assert api.post("/api/v1/analytics/funnels/", {"name": "x"}, format="json").status_code == 405
    assert Funnel.objects.count() == 1


def test_an_anonymous_caller_is_refused(client, funnel):
    assert client.get("/api/v1/analytics/funnels/").status_code in (401, 403)
    assert client.get("/api/v1/analytics/attribution/").status_code in (401, 403)


# --- attribution -----------------------------------------------------------------------------


def test_attributed_revenue_matches_the_report(api, ws):
    broadcast_sale(ws, "Spring", 30)
    body = api.get("/api/v1/analytics/attribution/", {"days": 7}).json()
    assert body["totals"]["conversions"] == 1
    assert Decimal(body["totals"]["attributed_revenue"]) == Decimal("30.00")
    [source] = body["sources"]
    assert (source["label"], Decimal(source["revenue"])) == ("Spring", Decimal("30.00"))
    assert body["model"] == "last_touch" and body["recompute"]["status"] == "idle"
    assert body["settings"]["click_window_days"] == 5


def test_a_recompute_under_way_is_reported_with_the_settings_in_force(api, ws):
    broadcast_sale(ws, "Spring", 30)
    attribution_config_save(
        workspace=ws,
        data={
            "conversion_events": "Paid",
            "click_window_days": 9,
            "open_window_days": 1,
            "default_model": "linear",
        },
    )
    body = api.get("/api/v1/analytics/attribution/").json()
    assert body["recompute"]["status"] == "queued"
    assert body["recompute"]["pending_settings"]["conversion_events"] == ["Paid"]
    assert body["settings"]["conversion_events"] == ["Order Completed", "deal.won"]
    assert Decimal(body["totals"]["revenue"]) == Decimal("30.00")  # the figures in force
    assert body["model"] == "linear"


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"model": "u_shaped"}, "model"),
        ({"days": "12"}, "days"),
        ({"from": "soon"}, "from"),
        ({"from": "2026-01-01", "to": "9999-12-31"}, "to"),  # its end would not be a date
    ],
)
def test_bad_attribution_input_is_named(api, query, field):
    response = api.get("/api/v1/analytics/attribution/", query)
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]


def test_another_workspaces_revenue_never_shows(outsider_api, ws):
    broadcast_sale(ws, "Spring", 30)
    body = outsider_api.get("/api/v1/analytics/attribution/").json()
    assert body["totals"]["conversions"] == 0 and body["sources"] == []
