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
