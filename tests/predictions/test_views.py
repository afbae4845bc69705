"""The Predictions page, its model pages and the contact panel: who sees what, bad input."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from contacts.models import Contact
from predictions.models import ContactPrediction, PredictionModel, TrainingRun
from predictions.services import prediction_model_create
from tests.conftest import add_member, login_client
from tests.predictions.test_training import judged_arrays
from workspaces.roles import Role

pytestmark = pytest.mark.django_db


def make_model(ws, goal="Order Completed", **extra):
    return prediction_model_create(
        workspace=ws,
        name=extra.get("name", ""),
        kind=extra.get("kind", "conversion"),
        goal_type=extra.get("goal_type", "event"),
        goal=goal,
        horizon_days=extra.get("horizon_days", 30),
    )


def trained_run(model):
    """A run with a real report: fitted and judged on generated arrays."""
    outcome, _, _ = judged_arrays(3000, 2000)
    run = TrainingRun.objects.create(
        workspace=model.workspace,
        model=model,
        status=TrainingRun.Status.DONE,
        progress=100,
        finished_at=timezone.now(),
        published=outcome.published,
        verdict=outcome.verdict,
        report=outcome.report,
        parameters=outcome.parameters,
    )
    PredictionModel.objects.filter(pk=model.pk).update(published_run=run)
    return run


def test_the_list_shows_this_workspaces_models_with_a_constant_number_of_queries(
    ws, other_ws, owner_client
):
    make_model(other_ws, goal="Secret Goal")

    def render(count):
        for i in range(count):
            model = make_model(ws, goal=f"Goal {len(PredictionModel.objects.all())}-{i}")
            trained_run(model)
        with CaptureQueriesContext(connection) as captured:
            response = owner_client.get(reverse("predictions:list"))
        assert response.status_code == 200
        return len(captured), response

    small, _ = render(1)
    large, response = render(4)
    assert small == large
    page = response.content.decode()
    assert "Likely to convert: Goal" in page and "Secret Goal" not in page
    assert "Nightly training runs next" in page


def test_a_model_is_created_from_the_form(ws, owner_client):
    response = owner_client.post(
        reverse("predictions:list"),
        {"kind": "conversion", "goal_type": "lifecycle", "goal": "customer", "horizon_days": 30},
    )
    model = PredictionModel.objects.get(workspace=ws)
    assert response.status_code == 302 and response.url == reverse(
        "predictions:detail", args=[model.pk]
    )
    assert model.key == "conversion-customer"
    assert model.filter_fields == (
        "prediction.conversion-customer.likelihood",
        "prediction.conversion-customer.tier",
    )


@pytest.mark.parametrize(
    ("posted", "field", "message"),
    [
        ({"goal_type": "lifecycle", "goal": "whale"}, "goal", "a lifecycle stage: one of"),
        ({"goal": ""}, "goal", "This field is required"),
        ({"horizon_days": 0}, "horizon_days", "greater than or equal to 1"),
        (
            {"kind": "churn", "goal_type": "lifecycle", "goal": "customer"},
            "goal_type",
            "churn is measured on an event",
        ),
    ],
)
def test_bad_input_is_named_next_to_its_field_and_changes_nothing(
    ws, owner_client, posted, field, message
):
    data = {
        "kind": "conversion",
        "goal_type": "event",
        "goal": "Order Completed",
        "horizon_days": 30,
    }
    response = owner_client.post(reverse("predictions:list"), {**data, **posted})
    assert response.status_code == 400
    assert message in response.context["form"].errors[field][0]
    assert not PredictionModel.objects.filter(workspace=ws).exists()


def test_a_viewer_sees_the_page_but_cannot_create_or_train(ws):
    viewer = login_client(add_member(ws, "viewer@acme.test", Role.VIEWER))
    model = make_model(ws)
    assert viewer.get(reverse("predictions:list")).status_code == 200
    assert "New model" not in viewer.get(reverse("predictions:list")).content.decode()
    refused = viewer.post(
        reverse("predictions:list"),
        {"kind": "conversion", "goal_type": "event", "goal": "X", "horizon_days": 30},
    )
    assert refused.status_code == 403
    assert viewer.post(reverse("predictions:train", args=[model.pk])).status_code == 403
    assert PredictionModel.objects.filter(workspace=ws).count() == 1
    assert not TrainingRun.objects.exists()


def test_train_now_queues_one_run_and_refuses_a_second_while_it_runs(ws, owner_client):
    model = make_model(ws)
    first = owner_client.post(reverse("predictions:train", args=[model.pk]), follow=True)
    assert "Training started." in first.content.decode()
    second = owner_client.post(reverse("predictions:train", args=[model.pk]), follow=True)
    assert "is already training" in second.content.decode()
    assert TrainingRun.objects.filter(model=model).count() == 1
    progress = owner_client.get(reverse("predictions:progress", args=[model.pk]))
    assert "Queued" in progress.content.decode() and "HX-Refresh" not in progress.headers


def test_the_report_shows_auc_next_to_the_rule_score_with_both_charts(ws, owner_client):
    model = make_model(ws)
    run = trained_run(model)
    page = owner_client.get(reverse("predictions:detail", args=[model.pk])).content.decode()
    assert f"{run.report['auc']:.3f}" in page and f"{run.report['rule_auc']:.3f}" in page
    assert "Reliability (calibration)" in page and "Lift by decile" in page
    assert page.count('data-chart="') == 2
    assert "prediction.conversion-order-completed.likelihood" in page
    finished = owner_client.get(reverse("predictions:progress", args=[model.pk]))
    assert finished.headers["HX-Refresh"] == "true"


def test_a_contact_shows_its_probability_and_reasons(ws, owner_client):
    model = make_model(ws)
    run = trained_run(model)
    contact = Contact.objects.create(workspace=ws, email="ada@example.test")
    ContactPrediction.objects.create(
        workspace=ws,
        model=model,
        contact=contact,
        run=run,
        probability=0.4213,
        tier="high",
        reasons=[[0, 4, 0.18], [7, 12, -0.031]],
        scored_at=timezone.now(),
    )
    page = owner_client.get(
        reverse("predictions:contact_predictions", args=[contact.pk])
    ).content.decode()
    assert "42.1%" in page and ">high<" in page
    assert "A 4× in the last 7 days" in page and "+0.18" in page
    assert "lead score 12" in page and "-0.03" in page
    for name in ("contacts:detail", "scoring:lead"):
        host = owner_client.get(reverse(name, args=[contact.pk])).content.decode()
        assert reverse("predictions:contact_predictions", args=[contact.pk]) in host


def test_another_workspaces_models_and_contacts_are_404(ws, outsider_client):
    model = make_model(ws)
    trained_run(model)
    contact = Contact.objects.create(workspace=ws, email="ada@example.test")
    for name, method in (
        ("predictions:detail", "get"),
        ("predictions:progress", "get"),
        ("predictions:train", "post"),
        ("predictions:delete", "post"),
    ):
        response = getattr(outsider_client, method)(reverse(name, args=[model.pk]))
        assert response.status_code == 404, name
    panel = outsider_client.get(reverse("predictions:contact_predictions", args=[contact.pk]))
    assert panel.status_code == 404
    assert (
        outsider_client.get(reverse("predictions:detail", args=[model.pk]) + "?run=x").status_code
        == 404
    )
    assert PredictionModel.objects.filter(pk=model.pk).exists()
    assert TrainingRun.objects.filter(model=model).count() == 1


def test_a_run_of_another_model_is_not_shown(ws, owner_client):
    first, second = make_model(ws, goal="A"), make_model(ws, goal="B")
    run = trained_run(first)
    response = owner_client.get(reverse("predictions:detail", args=[second.pk]) + f"?run={run.pk}")
    assert response.status_code == 404


def test_deleting_a_model_removes_its_predictions(ws, owner_client):
    model = make_model(ws)
    run = trained_run(model)
    contact = Contact.objects.create(workspace=ws, email="ada@example.test")
    ContactPrediction.objects.create(
        workspace=ws, model=model, contact=contact, run=run, probability=0.1, tier="low",
        scored_at=timezone.now(),
    )  # fmt: skip
    response = owner_client.post(reverse("predictions:delete", args=[model.pk]))
    assert response.status_code == 302
    assert not PredictionModel.objects.filter(pk=model.pk).exists()
    assert not ContactPrediction.objects.exists()


def test_the_leads_list_shows_the_likelihood_to_convert(ws, owner_client):
    from scoring.models import ScoringModel
    from scoring.services import score_adjust

    ScoringModel.objects.create(workspace=ws, name="Main", is_primary=True, mql_threshold=50)
    model = make_model(ws)
    run = trained_run(model)
    hot = Contact.objects.create(workspace=ws, email="hot@example.test", lifecycle_stage="lead")
    cold = Contact.objects.create(workspace=ws, email="cold@example.test", lifecycle_stage="lead")
    for contact in (hot, cold):
        score_adjust(workspace=ws, contact=contact, points=10, reason="x")
    ContactPrediction.objects.create(
        workspace=ws, model=model, contact=hot, run=run, probability=0.42, tier="high",
        scored_at=timezone.now(),
    )  # fmt: skip
    page = owner_client.get(reverse("scoring:leads")).content.decode()
    assert "Likely to convert</th>" in page
    row = page[page.index("hot@example.test") - 600 : page.index("hot@example.test")]
    assert "42.0%" in row and ">high<" in row
    assert "cold@example.test" in page
