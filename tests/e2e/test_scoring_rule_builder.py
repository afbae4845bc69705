"""A marketer writes scoring rules in a real browser with the condition builder, not JSON."""

import pytest

from scoring.models import ScoringModel, ScoringRule
from tests.conftest import browser_login
from tests.support.browser import htmx_settled

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_behaviour_with_a_property_condition_and_a_fit_rule_without_json(page, tenant):
    model = ScoringModel.objects.create(
        workspace=tenant.workspace, name="Main", is_primary=True, mql_threshold=50
    )
    browser_login(page, tenant.owner)
    page.goto(f"/scoring/models/{model.pk}/rules/new/?kind=behavioural")
    assert page.locator("textarea").count() == 0
    page.fill("#r-name", "Viewed pricing")
    page.fill("#r-points", "5")
    page.fill("input[name='n.0.event']", "Page Viewed")
    with page.expect_response("**/segments/builder/"):
        page.click("button[value='addwhere:n.0']")
    htmx_settled(page)
    page.fill("input[name='n.0.w.0.property']", "path")
    with page.expect_response("**/segments/builder/"):
        page.select_option("select[name='n.0.w.0.op']", "contains")
    htmx_settled(page)
    page.fill("input[name='n.0.w.0.value']", "/pricing")
    page.click("button:has-text('Save rule')")
    page.wait_for_url("**/rules/*/history/")
    rule = ScoringRule.objects.get(model=model, name="Viewed pricing")
    assert (rule.event, rule.where, rule.points) == (
        "Page Viewed",
        [{"property": "path", "op": "contains", "value": "/pricing"}],
        5,
    )

    page.goto(f"/scoring/models/{model.pk}/rules/new/?kind=behavioural")
    page.fill("#r-name", "Decision makers")
    page.fill("#r-points", "10")
    with page.expect_response(f"**/scoring/models/{model.pk}/rules/new/*"):
        page.select_option("#r-kind", "fit")  # the form comes back with the fit builder
    htmx_settled(page)
    assert page.input_value("#r-name") == "Decision makers"
    with page.expect_response("**/segments/builder/"):
        page.click("#node-n [data-add=field]")
    htmx_settled(page)
    with page.expect_response("**/segments/builder/"):
        page.select_option("select[name='n.0.field']", "job_title")
    htmx_settled(page)
    page.fill("input[name='n.0.value']", "VP")
    page.click("button:has-text('Save rule')")
    page.wait_for_url(f"**/scoring/models/{model.pk}/")
    fit = ScoringRule.objects.get(model=model, name="Decision makers")
    assert fit.kind == "fit"
    assert fit.filter == {"all": [{"field": "job_title", "op": "contains", "value": "VP"}]}
