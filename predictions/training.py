"""Fit on an earlier cut-off, judge on a later one, decide whether to publish.

The model is a logistic regression on standardised, log-scaled features, calibrated on a
quarter of the training rows it did not see (isotonic with enough positives, Platt's sigmoid
otherwise; scikit-learn's CalibratedClassifierCV over the frozen regression). A linear model
on purpose: its per-contact explanations are exact (coefficient × standardised value, in
log-odds), and scoring a million contacts is one matrix product (bench predict).

The report is about the *holdout*: contacts of a later cut-off whose outcome the model never
saw. It holds the model's ROC AUC there, the rule-based score's AUC on the same contacts, the
reliability curve (predicted against observed, by deciles of prediction), lift by decile and
the tiers' observed rates. A model is published only with enough positives and negatives on
both cut-offs and an AUC of at least MIN_AUC; otherwise the report says which bar it missed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.calibration import CalibratedClassifierCV, calibration_curve
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import brier_score_loss, roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from .features import FeatureSpec, columns_in_words
from .scoring import Scorer, design

MIN_POSITIVES = 50  # training rows of each class
MIN_NEGATIVES = 50
MIN_HOLDOUT_CLASS = 30  # holdout rows of each class: fewer and the AUC is noise
MIN_AUC = 0.6
MAX_TRAIN_ROWS = 200_000  # a stratified sample beyond this: bounded time and memory
ISOTONIC_MIN_POSITIVES = 200  # calibration rows' positives before isotonic beats Platt
HIGH_SHARE = 0.10  # tiers: the top 10% of the holdout's predictions are "high" …
MEDIUM_SHARE = 0.30  # … the next 30% "medium", the rest "low"
SEED = 20260


@dataclass
class Outcome:
    published: bool
    verdict: str
    report: dict[str, Any]
    parameters: dict[str, Any]


def sample_problem(*, train_labels: np.ndarray, holdout_labels: np.ndarray, churn: bool) -> str:
    """Why there is too little to learn from, or ''."""
    positive, negative = ("lapsed", "stayed") if churn else ("converted", "did not")
    train_pos = int(train_labels.sum())
    train_neg = len(train_labels) - train_pos
    hold_pos = int(holdout_labels.sum())
    hold_neg = len(holdout_labels) - hold_pos
    problems = []
    if train_pos < MIN_POSITIVES:
        problems.append(
            f"{train_pos} contacts {positive} in the training window (at least {MIN_POSITIVES} needed)"
        )
    if train_neg < MIN_NEGATIVES:
        problems.append(
            f"{train_neg} contacts {negative} in the training window (at least {MIN_NEGATIVES} needed)"
        )
    if hold_pos < MIN_HOLDOUT_CLASS:
        problems.append(
            f"{hold_pos} contacts {positive} in the validation window (at least {MIN_HOLDOUT_CLASS} needed)"
        )
    if hold_neg < MIN_HOLDOUT_CLASS:
        problems.append(
            f"{hold_neg} contacts {negative} in the validation window (at least {MIN_HOLDOUT_CLASS} needed)"
        )
    if not problems:
        return ""
    return "Not published: too little history — " + "; ".join(problems) + "."


def fit(
    *, spec: FeatureSpec, raw: np.ndarray, labels: np.ndarray, seed: int = SEED
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Fit and calibrate; returns (parameters for scoring, facts for the report)."""
    rng = np.random.default_rng(seed)
    rows = np.arange(len(labels))
    if len(rows) > MAX_TRAIN_ROWS:
        rows, _ = train_test_split(
            rows, train_size=MAX_TRAIN_ROWS, stratify=labels, random_state=seed
        )
    x = design(spec, raw[rows])
    y = labels[rows]
    fit_rows, cal_rows = train_test_split(
        np.arange(len(y)), test_size=0.25, stratify=y, random_state=int(rng.integers(1 << 30))
    )
    pipeline = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=500))
    pipeline.fit(x[fit_rows], y[fit_rows])
    method = "isotonic" if int(y[cal_rows].sum()) >= ISOTONIC_MIN_POSITIVES else "sigmoid"
    calibrated = CalibratedClassifierCV(FrozenEstimator(pipeline), method=method)
    calibrated.fit(x[cal_rows], y[cal_rows])
    scaler, regression = pipeline[0], pipeline[-1]
    calibrator = calibrated.calibrated_classifiers_[0].calibrators[0]
    calibration: dict[str, Any]
    if method == "isotonic":
        calibration = {
            "method": "isotonic",
            "x": [float(v) for v in calibrator.X_thresholds_],
            "y": [float(v) for v in calibrator.y_thresholds_],
        }
    else:
        calibration = {
            "method": "sigmoid",
            "a": float(calibrator.a_),
            "b": float(calibrator.b_),
        }
    parameters = {
        "spec": spec.as_json(),
        "mean": [float(v) for v in scaler.mean_],
        "scale": [float(v) if v > 0 else 1.0 for v in scaler.scale_],
        "coef": [float(v) for v in regression.coef_[0]],
        "intercept": float(regression.intercept_[0]),
        "calibration": calibration,
    }
    # The numpy scorer must say what scikit-learn says: checked here, on the training rows,
    # so a change in scikit-learn's internals fails the training instead of scoring wrong.
    check = rows[: min(len(rows), 5000)]
    ours = Scorer(parameters).probabilities(raw[check])
    theirs = calibrated.predict_proba(design(spec, raw[check]))[:, 1]
    if not np.allclose(ours, theirs, atol=1e-6):
        raise RuntimeError("the stored parameters do not reproduce scikit-learn's predictions")
    facts = {
        "train_rows_used": len(rows),
        "calibration": method,
        "calibration_rows": len(cal_rows),
    }
    return parameters, facts


def evaluate(
    *,
    parameters: dict[str, Any],
    raw: np.ndarray,
    labels: np.ndarray,
    rule_scores: np.ndarray,
) -> tuple[dict[str, Any], dict[str, float]]:
    """The holdout report, and the tiers' cut-offs (from the holdout's predictions)."""
    p = Scorer(parameters).probabilities(raw)
    base = float(labels.mean()) if len(labels) else 0.0
    auc = float(roc_auc_score(labels, p))
    rule_auc = float(roc_auc_score(labels, rule_scores))
    observed, predicted = calibration_curve(labels, p, n_bins=10, strategy="quantile")
    order = np.argsort(-p, kind="stable")
    deciles = []
    for i, chunk in enumerate(np.array_split(order, 10), start=1):
        rate = float(labels[chunk].mean()) if len(chunk) else 0.0
        deciles.append(
            {
                "decile": i,
                "contacts": len(chunk),
                "positives": int(labels[chunk].sum()),
                "rate": rate,
                "lift": rate / base if base else 0.0,
                "mean_predicted": float(p[chunk].mean()) if len(chunk) else 0.0,
            }
        )
    high = float(np.quantile(p, 1 - HIGH_SHARE))
    medium = float(np.quantile(p, 1 - HIGH_SHARE - MEDIUM_SHARE))
    tiers = {"high": high, "medium": min(medium, high)}
    tier_rows = []
    for name, mask in (
        ("high", p >= tiers["high"]),
        ("medium", (p >= tiers["medium"]) & (p < tiers["high"])),
        ("low", p < tiers["medium"]),
    ):
        count = int(mask.sum())
        tier_rows.append(
            {
                "tier": name,
                "contacts": count,
                "rate": float(labels[mask].mean()) if count else 0.0,
            }
        )
    report = {
        "holdout_rows": len(labels),
        "holdout_positives": int(labels.sum()),
        "base_rate": base,
        "auc": auc,
        "rule_auc": rule_auc,
        "brier": float(brier_score_loss(labels, p)),
        "reliability": [
            {"predicted": float(a), "observed": float(b)}
            for a, b in zip(predicted, observed, strict=True)
        ],
        "deciles": deciles,
        "top_decile_lift": deciles[0]["lift"] if deciles else 0.0,
        "tiers": tier_rows,
    }
    return report, tiers


def weights(parameters: dict[str, Any], spec: FeatureSpec, limit: int = 15) -> list[dict[str, Any]]:
    """The largest coefficients (per standard deviation of the feature), for the report."""
    words = dict(columns_in_words(spec))
    coef = np.asarray(parameters["coef"])
    order = np.argsort(-np.abs(coef), kind="stable")[:limit]
    return [
        {"feature": spec.columns[i], "words": words[spec.columns[i]], "weight": float(coef[i])}
        for i in order
        if coef[i] != 0
    ]


def train_and_judge(
    *,
    spec: FeatureSpec,
    train_raw: np.ndarray,
    train_labels: np.ndarray,
    holdout_raw: np.ndarray,
    holdout_labels: np.ndarray,
    holdout_rule_scores: np.ndarray,
    churn: bool,
) -> Outcome:
    """The whole decision: enough data? fit, evaluate on the holdout, publish or say why."""
    sizes = {
        "train_rows": len(train_labels),
        "train_positives": int(train_labels.sum()),
        "holdout_rows": len(holdout_labels),
        "holdout_positives": int(holdout_labels.sum()),
        "features": len(spec.columns),
    }
    problem = sample_problem(train_labels=train_labels, holdout_labels=holdout_labels, churn=churn)
    if problem:
        return Outcome(False, problem, sizes, {})
    parameters, facts = fit(spec=spec, raw=train_raw, labels=train_labels)
    report, tiers = evaluate(
        parameters=parameters,
        raw=holdout_raw,
        labels=holdout_labels,
        rule_scores=holdout_rule_scores,
    )
    parameters["tiers"] = tiers
    report = {**sizes, **facts, **report, "weights": weights(parameters, spec)}
    if report["auc"] < MIN_AUC:
        verdict = (
            f"Not published: AUC {report['auc']:.3f} on the held-out contacts is below "
            f"{MIN_AUC:.2f} — the model does not rank them well enough to act on "
            f"(0.5 is chance; the rule-based score reached {report['rule_auc']:.3f})."
        )
        return Outcome(False, verdict, report, parameters)
    return Outcome(True, "", report, parameters)
