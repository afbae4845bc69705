"""The analytics dashboard in a real browser: charts drawn from the rollups, the funnel and
attributed-revenue panels loading by htmx, and a period switch that swaps the figures in
place."""

import pytest
from django.utils import timezone

from analytics.demo import demo_seed as analytics_seed
from contacts.demo import demo_seed as contacts_seed
from tests.conftest import browser_login

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


class _Quiet:
    def write(self, *_):
        pass


def test_a_marketer_reads_the_dashboard_and_switches_the_period(page, ws, owner):
    contacts_seed(workspace=ws, contacts=60, stdout=_Quiet())
    analytics_seed(workspace=ws, contacts=60, stdout=_Quiet())
    browser_login(page, owner)
    page.click("nav >> text=Analytics")
    page.wait_for_url("**/analytics/")

    views_30 = page.inner_text("[data-kpi=page_views] .stat-value")
    assert int(views_30.replace(",", "")) > 0
    # Chart.js drew every chart (a drawn canvas has a chart instance attached).
    page.wait_for_function(
        "[...document.querySelectorAll('canvas[data-chart]')].every(c => c._tendrilChart)"
    )
    # The htmx panels replaced their placeholders.
    page.wait_for_selector("#funnel table")
    assert "Counting…" not in page.inner_text("#attribution")

    page.click("text=Last 7 days")
    page.wait_for_url("**/analytics/?days=7")
    page.wait_for_selector("a[aria-current=true]:has-text('Last 7 days')")
    views_7 = int(page.inner_text("[data-kpi=page_views] .stat-value").replace(",", ""))
    assert views_7 < int(views_30.replace(",", ""))
    assert timezone.now().strftime("%b %-d") in page.inner_text("#freshness")

    # On a phone the page does not scroll sideways: wide tables scroll in their own box.
    page.set_viewport_size({"width": 375, "height": 800})
    # waits for the condition (a busy machine re-lays out late), fails if it never holds
    page.wait_for_function("document.documentElement.scrollWidth <= window.innerWidth")
