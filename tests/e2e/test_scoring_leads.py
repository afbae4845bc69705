"""The sales rep's view in a real browser: the ranked list, a lead's page with its score
explained and drawn, accepting the lead, and the hot-leads feed updating by itself."""

import pytest

from contacts.models import Contact
from scoring.models import ScoringModel, ScoringRule
from scoring.services import score_adjust
from tests.conftest import add_member, browser_login
from workspaces.roles import Role

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def rep(ws):
    return add_member(ws, "rep@acme.test", Role.SALES)


@pytest.fixture
def leads(ws):
    model = ScoringModel.objects.create(
        workspace=ws, name="Main", is_primary=True, mql_threshold=50
    )
    ScoringRule.objects.create(
        workspace=ws,
        model=model,
        kind="behavioural",
        name="Requested a demo",
        event="Requested Demo",
        points=40,
    )
    hot = Contact.objects.create(
        workspace=ws,
        email="hot@prospect.test",
        first_name="Hot",
        last_name="Prospect",
        company="Bigco",
        lifecycle_stage="lead",
    )
    warm = Contact.objects.create(
        workspace=ws,
        email="warm@prospect.test",
        first_name="Warm",
        last_name="Lead",
        lifecycle_stage="lead",
    )
    score_adjust(workspace=ws, contact=hot, points=60, reason="Requested a demo")
    score_adjust(workspace=ws, contact=warm, points=20, reason="Webinar")
    return hot, warm


def test_a_rep_opens_the_hottest_lead_sees_why_and_accepts_it(page, ws, rep, leads):
    hot, warm = leads
    browser_login(page, rep)
    page.goto("/leads/")
    rows = page.locator("#leads-table tbody tr")
    assert rows.count() == 2
    assert "Hot Prospect" in rows.nth(0).inner_text() and "60" in rows.nth(0).inner_text()
    assert "Warm Lead" in rows.nth(1).inner_text()

    page.click("#leads-table >> text=Hot Prospect")
    page.wait_for_selector("#score-breakdown")
    assert "Requested a demo" in page.inner_text("#score-breakdown")
    assert page.inner_text("#lead-score") == "60"
    page.wait_for_function(
        "document.querySelectorAll('canvas[data-chart]').length === 2 && [...document.querySelectorAll('canvas[data-chart]')].every(c => c._tendrilChart)"
    )

    page.click("#accept-lead")
    page.wait_for_selector("#lead-stage:has-text('Sales qualified lead')")
    assert "sales qualified" in page.inner_text("#lead-main")
    hot.refresh_from_db()
    assert (hot.lifecycle_stage, hot.owner) == ("sql", rep)


def test_the_hot_leads_feed_updates_without_a_reload(page, ws, rep, leads):
    browser_login(page, rep)
    page.goto("/leads/")
    page.wait_for_selector("#hot-feed >> text=Hot Prospect")
    newcomer = Contact.objects.create(
        workspace=ws,
        email="new@prospect.test",
        first_name="Newly",
        last_name="Keen",
        lifecycle_stage="lead",
    )
    score_adjust(workspace=ws, contact=newcomer, points=35, reason="Pricing page")
    page.wait_for_selector("#hot-feed >> text=Newly Keen", timeout=12_000)
    assert "+35" in page.inner_text("#hot-feed")
