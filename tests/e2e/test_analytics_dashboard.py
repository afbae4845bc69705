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


def test_a_marketer_sees_who_comes_back_and_downloads_a_panel_as_csv(page, ws, owner, tmp_path):
    """Issue #17's panels: retention by sign-up week, active contacts, segment sizes and lead
    scores load by htmx and draw; a panel's CSV downloads with its header row. Screenshot in
    artifacts/analytics/ (git-ignored) for the reviewer."""
    import csv
    from datetime import timedelta
    from pathlib import Path

    from contacts.models import Contact
    from scoring.models import ScoringModel
    from segments.models import Segment, SegmentSizeSnapshot

    contacts_seed(workspace=ws, contacts=60, stdout=_Quiet())
    # Sign-ups spread over the last weeks, so that there are cohorts to compare.
    for n, pk in enumerate(Contact.objects.filter(workspace=ws).values_list("pk", flat=True)):
        Contact.objects.filter(pk=pk).update(
            created_at=timezone.now() - timedelta(days=7 * (n % 6) + 1), score=(n * 7) % 120
        )
    analytics_seed(workspace=ws, contacts=60, stdout=_Quiet())
    ScoringModel.objects.create(workspace=ws, name="Leads", is_primary=True, mql_threshold=50)
    vip = Segment.objects.create(workspace=ws, name="Trial users", kind="static", member_count=42)
    today = timezone.now().date()
    for back in range(1, 30):
        SegmentSizeSnapshot.objects.create(
            workspace=ws, segment=vip, day=today - timedelta(days=back), size=42 - back
        )

    browser_login(page, owner)
    page.goto("/analytics/")
    page.wait_for_selector("#retention-table")
    page.wait_for_selector("#active-total")
    page.wait_for_selector("#segment-sizes canvas[data-chart]")
    page.wait_for_selector("#scores canvas[data-chart]")
    page.wait_for_function(
        "[...document.querySelectorAll('canvas[data-chart]')].every(c => c._tendrilChart)"
    )
    assert "Trial users" in page.inner_text("#segment-sizes")
    assert page.locator("#retention-table tbody tr").count() == 12
    assert int(page.inner_text("#active-total").replace(",", "")) > 0
    assert "at or above the MQL threshold of 50" in page.inner_text("#scores")
    shots = Path(__file__).resolve().parents[2] / "artifacts" / "analytics"
    shots.mkdir(parents=True, exist_ok=True)
    page.locator("#retention").scroll_into_view_if_needed()
    page.screenshot(path=str(shots / "panels.png"), full_page=True)

    with page.expect_download() as download_info:
        page.click("#retention [data-export=retention]")
    download = download_info.value
    assert download.suggested_filename.startswith("retention-")
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    rows = list(csv.reader(saved.open(encoding="utf-8")))
    assert rows[0][:3] == ["Sign-up week", "Signed up", "Active in week 0"]
    assert len(rows) == 13  # the header and twelve sign-up weeks
    # every contact signed up in those weeks
    assert sum(int(row[1]) for row in rows[1:]) == Contact.objects.filter(workspace=ws).count()
