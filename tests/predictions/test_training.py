"""Training on generated histories: the planted signal is found, noise is refused."""

from __future__ import annotations

import numpy as np
import pytest
from django.utils import timezone

from predictions.features import FeatureSpec
from predictions.models import ContactPrediction, Kind, TrainingRun
from predictions.scoring import Scorer
from predictions.selectors import contact_predictions
from predictions.services import prediction_model_create, training_run_execute
from predictions.training import MIN_AUC, fit, train_and_judge
from tests.predictions.history import churn_history, history

pytestmark = pytest.mark.django_db


def _model(ws, kind=Kind.CONVERSION, goal="Order Completed", horizon=14):
    return prediction_model_create(
        workspace=ws, name="", kind=kind, goal_type="event", goal=goal, horizon_days=horizon
    )


def _train(model, now):
    run = TrainingRun.objects.create(workspace=model.workspace, model=model)
    return training_run_execute(run=run, now=now)


def test_a_planted_signal_is_found_published_and_explained(ws):
    now = timezone.now()
    history(ws, now=now, signal=True)
    model = _model(ws)

    run = _train(model, now)

    run.refresh_from_db()
    report = run.report
    assert run.status == TrainingRun.Status.DONE and run.progress == 100
    assert run.published, run.verdict
    assert report["auc"] >= 0.75
    assert report["auc"] >= report["rule_auc"] + 0.15  # the rule score follows only noise
    assert report["holdout_positives"] >= 30 and len(report["deciles"]) == 10
    assert report["deciles"][0]["lift"] > 2 > report["deciles"][-1]["lift"]
    assert len(report["reliability"]) >= 5
    assert report["weights"][0]["feature"].startswith("event:Pricing")
    model.refresh_from_db()
    assert model.published_run_id == run.pk and model.scored_count > 1000
    stored = ContactPrediction.objects.filter(workspace=ws, model=model)
    assert stored.count() == model.scored_count
    assert set(stored.values_list("tier", flat=True)) == {"high", "medium", "low"}
    # The top contact's reasons name the planted behaviour, in words, with its effect.
    top = stored.order_by("-probability").first()
    shown = contact_predictions(workspace=ws, contact=top.contact_id)
    assert shown[0].tier == "high"
    text, effect, signed = shown[0].reasons[0]
    assert "Pricing" in text and effect > 0 and signed.startswith("+")


def test_pure_noise_reports_chance_and_is_not_published(ws):
    now = timezone.now()
    history(ws, now=now, signal=False, seed=11)
    model = _model(ws)

    run = _train(model, now)

    run.refresh_from_db()
    assert run.status == TrainingRun.Status.DONE
    assert not run.published
    assert abs(run.report["auc"] - 0.5) < 0.1
    assert run.report["auc"] < MIN_AUC
    assert f"below {MIN_AUC:.2f}" in run.verdict
    assert not ContactPrediction.objects.filter(workspace=ws, model=model).exists()
    model.refresh_from_db()
    assert model.published_run_id is None


def test_too_little_history_is_refused_naming_the_counts(ws):
    now = timezone.now()
    history(ws, now=now, contacts=120, signal=True, seed=3)
    model = _model(ws)

    run = _train(model, now)

    run.refresh_from_db()
    assert not run.published and run.status == TrainingRun.Status.DONE
    assert run.verdict.startswith("Not published: too little history")
    assert "at least 50 needed" in run.verdict
    assert run.report["train_rows"] > 0 and "auc" not in run.report


def _arrays(rows, seed):
    rng = np.random.default_rng(seed)
    spec = FeatureSpec(names=["A"], pages=[], page_names=["A"])
    raw = np.zeros((rows, len(spec.columns)), dtype=np.float32)
    raw[:, 0] = rng.poisson(1.0, rows)  # A in 7 days: the signal
    raw[:, 3] = rng.uniform(0, 91, rows)  # days since A
    raw[:, 6] = rng.uniform(0, 400, rows)  # created days ago
    raw[:, 7] = rng.integers(0, 100, rows)  # rule score: noise
    labels = (rng.random(rows) < 1 / (1 + np.exp(-(raw[:, 0] * 1.5 - 3)))).astype(np.int8)
    return spec, raw, labels


def judged_arrays(train_rows: int, holdout_rows: int):
    """train_and_judge on generated arrays (A in 7 days is the signal, the rule score noise):
    (outcome, holdout raw, holdout labels)."""
    spec, raw, labels = _arrays(train_rows, 1)
    _, hold_raw, hold_labels = _arrays(holdout_rows, 2)
    outcome = train_and_judge(
        spec=spec,
        train_raw=raw,
        train_labels=labels,
        holdout_raw=hold_raw,
        holdout_labels=hold_labels,
        holdout_rule_scores=hold_raw[:, 7],
        churn=False,
    )
    return outcome, hold_raw, hold_labels


def test_the_stored_numbers_score_as_scikit_learn_does_and_tiers_split_the_holdout():
    spec, raw, labels = _arrays(6000, 1)
    _, facts = fit(spec=spec, raw=raw, labels=labels)
    assert facts["calibration"] in ("isotonic", "sigmoid")
    outcome, hold_raw, hold_labels = judged_arrays(6000, 4000)
    assert outcome.published
    scored = Scorer(outcome.parameters).score(hold_raw)
    share = {t: float(np.mean(scored.tiers == t)) for t in ("high", "medium", "low")}
    assert 0.05 <= share["high"] <= 0.2 and share["low"] >= 0.4
    # Calibrated: the mean prediction is close to the observed rate.
    assert abs(scored.probabilities.mean() - hold_labels.mean()) < 0.03
    assert abs(outcome.report["rule_auc"] - 0.5) < 0.05


def test_churn_finds_the_customers_who_lapse(ws):
    now = timezone.now()
    churn_history(ws, now=now)
    model = _model(ws, kind=Kind.CHURN, horizon=21)

    run = _train(model, now)

    run.refresh_from_db()
    assert run.published, run.verdict
    assert run.report["auc"] >= 0.8
    top = run.report["weights"][0]["feature"]
    assert top.startswith("event:Order Completed") or top.startswith("event:Home"), top
    lapsing = ContactPrediction.objects.filter(workspace=ws, model=model, tier="high")
    assert lapsing.exists()
