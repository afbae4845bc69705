"""The funnel editor in a real browser: rows added and removed in place by htmx (nothing
saved), a bad step told next to its row, then the funnel saved."""

import re

import pytest

from analytics.models import Funnel
from tests.conftest import browser_login

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_marketer_builds_a_funnel_row_by_row(page, ws, owner):
    browser_login(page, owner)
    page.goto("/analytics/funnels/new/")
    page.fill("#id_name", "Pricing to order")
    page.select_option("#id_step-0-kind", "page")
    page.fill("#id_step-0-value", "/pricing")
    page.fill("#id_step-1-value", "Signed Up")

    page.click("#add-step")  # htmx swaps the rows; what was typed stays
    page.wait_for_selector("#id_step-2-value")
    assert page.input_value("#id_step-0-value") == "/pricing"
    assert page.input_value("#id_name") == "Pricing to order"
    page.click("text=Save funnel")  # the third row is blank: told next to it
    page.wait_for_selector("[data-error='step-2-value']")
    assert "Step 3" in page.inner_text("[data-error='step-2-value']")
    assert not Funnel.objects.exists()

    page.click("[aria-label='Remove step 3']")
    page.wait_for_function("!document.querySelector('#id_step-2-value')")
    page.click("text=Save funnel")
    page.wait_for_url(re.compile(r".*/analytics/funnels/\d+/$"))
    funnel = Funnel.objects.get(workspace=ws)
    assert funnel.steps == [{"page": "/pricing"}, {"event": "Signed Up"}]


def test_a_marketer_excludes_demo_bookers_and_breaks_the_funnel_down_by_plan(page, ws, owner):
    """Four visitors yesterday: pro ×2 (one signs up), free (signs up), and a pro who booked a
    demo before signing up. Excluding the demo between steps 1 and 2 and breaking down by the
    plan viewed: 3 entered, 2 signed up; pro 2 → 1, free 1 → 1."""
    from tests.analytics.test_funnel_editor_views import journeys_make

    journeys_make(ws)
    browser_login(page, owner)
    page.goto("/analytics/funnels/new/")
    page.fill("#id_name", "Plans without demos")
    page.fill("#id_step-0-value", "Plan Viewed")
    page.fill("#id_step-1-value", "Signed Up")
    page.click("#add-exclusion")  # htmx swaps the exclusion rows; the steps stay as typed
    page.wait_for_selector("#id_exclusion-0-value")
    assert page.input_value("#id_step-0-value") == "Plan Viewed"
    page.fill("#id_exclusion-0-value", "Demo Booked")
    page.fill("#id_exclusion-0-to_step", "2")
    page.select_option("#id_breakdown_kind", "property")
    page.fill("#id_breakdown_name", "plan")
    page.select_option("#f-days", "7")
    page.click("#run-funnel")
    page.wait_for_selector("#funnel-breakdown")
    assert "1 contact left out" in page.inner_text("#funnel-excluded")
    assert "2 of 3" in page.inner_text("#funnel-result")
    breakdown = page.inner_text("#funnel-breakdown")
    assert "pro\t2\t1 (50%)" in breakdown and "free\t1\t1 (100%)" in breakdown
    page.wait_for_function(
        "[...document.querySelectorAll('canvas[data-chart]')].every(c => c._tendrilChart)"
    )
    _shot(page, "funnel-exclusion-breakdown")

    page.click("text=Save funnel")
    page.wait_for_url(re.compile(r".*/analytics/funnels/\d+/$"))
    funnel = Funnel.objects.get(workspace=ws)
    assert funnel.exclusions == [{"event": "Demo Booked", "from_step": 1, "to_step": 2}]
    assert funnel.breakdown == {"property": "plan", "top": 8}
    page.wait_for_selector("#funnel-export")


def _shot(page, name):  # noqa: ANN001
    from pathlib import Path

    artifacts = Path(__file__).resolve().parents[2] / "artifacts" / "funnels"
    artifacts.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(artifacts / f"{name}.png"), full_page=True)
