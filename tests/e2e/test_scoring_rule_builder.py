"""A marketer writes scoring rules in a real browser with the condition editor, not JSON."""

import pytest

from scoring.models import ScoringModel, ScoringRule
from tests.conftest import browser_login
from tests.support.browser import htmx_settled

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def editor_ready(page) -> None:
    page.wait_for_selector("[data-condition-editor][data-ready=true]")


@pytest.fixture
def model(page, tenant):
    """A scoring model, and the owner on a new behavioural rule's form."""
    model = ScoringModel.objects.create(
        workspace=tenant.workspace, name="Main", is_primary=True, mql_threshold=50
    )
    browser_login(page, tenant.owner)
    page.goto(f"/scoring/models/{model.pk}/rules/new/?kind=behavioural")
    editor_ready(page)
    return model


def test_a_behaviour_with_a_property_condition_and_a_fit_rule_without_json(page, model):
    assert page.locator("textarea").count() == 0
    page.fill("#r-name", "Viewed pricing")
    page.fill("#r-points", "5")
    page.get_by_label("Event name").fill("Page Viewed")
    page.get_by_role("button", name="+ Property condition").click()
    page.get_by_label("Property", exact=True).fill("path")
    page.get_by_label("Property operator").select_option("contains")
    page.get_by_label("Property value").fill("/pricing")
    page.click("button:has-text('Save rule')")
    page.wait_for_url("**/rules/*/history/")
    rule = ScoringRule.objects.get(model=model, name="Viewed pricing")
    assert (rule.event, rule.where, rule.points) == (
        "Page Viewed",
        [{"property": "path", "op": "contains", "value": "/pricing"}],
        5,
    )

    page.goto(f"/scoring/models/{model.pk}/rules/new/?kind=behavioural")
    editor_ready(page)
    page.fill("#r-name", "Decision makers")
    page.fill("#r-points", "10")
    with page.expect_response(f"**/scoring/models/{model.pk}/rules/new/*"):
        page.select_option("#r-kind", "fit")  # the form comes back with the fit editor
    htmx_settled(page)
    editor_ready(page)  # the island mounts on what htmx swapped in
    assert page.input_value("#r-name") == "Decision makers"
    page.select_option('.cb-group[data-path=""] > .cb-add select', "field")
    row = page.locator('[data-path="all[0]"]')
    row.get_by_label("Field").fill("job_title")
    row.get_by_label("Operator").select_option("contains")
    row.get_by_label("Value").fill("VP")
    page.click("button:has-text('Save rule')")
    page.wait_for_url(f"**/scoring/models/{model.pk}/")
    fit = ScoringRule.objects.get(model=model, name="Decision makers")
    assert fit.kind == "fit"
    assert fit.filter == {"all": [{"field": "job_title", "op": "contains", "value": "VP"}]}


def test_a_bad_property_name_is_shown_next_to_its_row(page, model):
    page.fill("#r-name", "Big orders")
    page.get_by_label("Event name").fill("Order Completed")
    page.get_by_role("button", name="+ Property condition").click()
    page.get_by_label("Property", exact=True).fill("r" * 201)  # only the server knows the limit
    page.get_by_label("Property operator").select_option("gt")
    page.get_by_label("Property value").fill("100")
    page.click("button:has-text('Save rule')")
    page.wait_for_selector(".cb-errors")
    assert "property 1" in page.inner_text(".cb-event-only")
    assert not ScoringRule.objects.filter(name="Big orders").exists()
