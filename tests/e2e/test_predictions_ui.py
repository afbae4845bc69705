"""The Predictions page in a real browser (issue #18): create a model, train it now with a
real Celery worker (progress shown live), read its report — AUC next to the rule score,
the reliability curve and lift by decile drawn — then see a contact's probability and
reasons on its page. Screenshots go to artifacts/predictions/ (git-ignored)."""

from pathlib import Path

import pytest
from django.utils import timezone

from predictions.models import ContactPrediction, PredictionModel
from tests.conftest import browser_login
from tests.predictions.history import history

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "predictions"


def _shot(page, name):  # noqa: ANN001
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def test_a_marketer_trains_a_model_reads_its_report_and_sees_a_contacts_reasons(
    page, tenant, celery_worker
):
    ws = tenant.workspace
    history(ws, now=timezone.now(), signal=True)
    browser_login(page, tenant.owner)
    page.goto("/predictions/")
    assert "No prediction models yet" in page.inner_text("#models-table")

    # A mistake is named next to its field and creates nothing.
    page.select_option("#id_goal_type", "lifecycle")
    page.fill("#id_goal", "whale")
    page.fill("#id_horizon_days", "14")
    page.click("text=Create model")
    assert "a lifecycle stage: one of" in page.inner_text("#model-form")
    assert not PredictionModel.objects.filter(workspace=ws).exists()

    page.select_option("#id_goal_type", "event")
    page.fill("#id_goal", "Order Completed")
    page.click("text=Create model")
    page.wait_for_selector("text=Not trained yet")

    page.click("#train-now")
    page.wait_for_selector("#training-progress .progress")  # live progress while it trains
    page.wait_for_selector("#verdict", timeout=120_000)  # the page reloads with the report
    assert "Published." in page.inner_text("#verdict")
    auc, rule_auc = float(page.inner_text("#auc")), float(page.inner_text("#rule-auc"))
    assert auc >= 0.75 and auc >= rule_auc + 0.15
    assert page.locator("#deciles tbody tr").count() == 10
    for chart in ("Observed rate against predicted probability", "Lift by decile"):
        canvas = page.locator(f'canvas[aria-label="{chart}"]')
        canvas.wait_for()
        # drawn by Chart.js (frontend/charts.js keeps the chart on its canvas), with its data
        points = canvas.evaluate(
            "el => el._tendrilChart && el._tendrilChart.data.datasets[0].data.length"
        )
        assert points == 10 or (chart.startswith("Observed") and 5 <= points <= 10), points
    assert "Pricing" in page.inner_text("#weights")
    _shot(page, "model-report")

    page.goto("/predictions/")
    assert "Published" in page.inner_text("#models-table")
    _shot(page, "predictions-list")

    top = ContactPrediction.objects.filter(workspace=ws).order_by("-probability").first()
    page.goto(f"/contacts/{top.contact_id}/")
    card = page.locator("#contact-predictions")
    card.locator(".pr-probability").wait_for()
    text = card.inner_text()
    assert f"{round(top.probability * 100, 1)}%" in text and "high" in text
    assert "visited Pricing" in text and "+0." in text
    _shot(page, "contact-card")
