"""Scoring with a trained model's stored numbers: numpy only, no pickle.

    scorer = Scorer(run.parameters)
    p = scorer.probabilities(raw)            # calibrated probability per row
    scored = scorer.score(raw)               # p, tier and the top reasons per row

Reasons are exact for the linear model: a feature's contribution to the log-odds is its
coefficient × its standardised value (0 for a contact at the training mean). The effect
shown is in probability points: the calibrated probability minus what it would be with that
one feature at the training mean ("occlusion against the mean", computed through the same
calibration map) — so "+0.18" reads as "this made the likelihood 18 points higher".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .features import FeatureSpec

REASONS = 3
MIN_EFFECT = 0.005  # half a probability point: smaller effects are not worth a line


def design(spec: FeatureSpec, raw: np.ndarray) -> np.ndarray:
    """Raw counts → model inputs: counts and ages log-scaled, 'days since' as a share of the
    look-back, one-hots and the rule score as they are."""
    x = raw.astype(np.float64, copy=True)
    for i, name in enumerate(spec.columns):
        if name.endswith(":since"):
            x[:, i] /= spec.lookback_days
        elif name.startswith(("event:", "pages:")) or name == "signup_age":
            np.log1p(np.maximum(x[:, i], 0), out=x[:, i])
    return x


@dataclass
class Scored:
    probabilities: np.ndarray  # float64
    tiers: np.ndarray  # str: high / medium / low
    reason_columns: np.ndarray  # int (rows × REASONS), -1 = none
    reason_effects: np.ndarray  # float (rows × REASONS), probability points as a fraction


class Scorer:
    def __init__(self, parameters: dict[str, Any]):
        self.spec = FeatureSpec.from_json(parameters["spec"])
        self.mean = np.asarray(parameters["mean"], dtype=np.float64)
        self.scale = np.asarray(parameters["scale"], dtype=np.float64)
        self.coef = np.asarray(parameters["coef"], dtype=np.float64)
        self.intercept = float(parameters["intercept"])
        self.calibration = parameters["calibration"]
        self.tier_cuts = parameters.get("tiers") or {"high": 1.1, "medium": 1.1}
        # (x - mean) / scale · coef = x · (coef / scale) - mean · (coef / scale)
        self._weights = self.coef / self.scale
        self._offset = self.intercept - float(self.mean @ self._weights)

    def calibrate(self, logit: np.ndarray) -> np.ndarray:
        if self.calibration["method"] == "isotonic":
            return np.interp(logit, self.calibration["x"], self.calibration["y"])
        a, b = self.calibration["a"], self.calibration["b"]
        return 1.0 / (1.0 + np.exp(a * logit + b))

    def logits(self, x: np.ndarray) -> np.ndarray:
        return x @ self._weights + self._offset

    def probabilities(self, raw: np.ndarray) -> np.ndarray:
        return self.calibrate(self.logits(design(self.spec, raw)))

    def tiers(self, p: np.ndarray) -> np.ndarray:
        return np.where(
            p >= self.tier_cuts["high"],
            "high",
            np.where(p >= self.tier_cuts["medium"], "medium", "low"),
        )

    def score(self, raw: np.ndarray) -> Scored:
        x = design(self.spec, raw)
        contributions = (x - self.mean) * self._weights  # log-odds, per feature
        logit = contributions.sum(axis=1) + self.intercept
        p = self.calibrate(logit)
        k = min(REASONS, contributions.shape[1])
        top = np.argpartition(-np.abs(contributions), k - 1, axis=1)[:, :k]
        rows = np.arange(len(p))[:, None]
        chosen = contributions[rows, top]
        effects = p[:, None] - self.calibrate(logit[:, None] - chosen)
        order = np.argsort(-np.abs(effects), axis=1)
        top = top[rows, order]
        effects = effects[rows, order]
        top = np.where(np.abs(effects) >= MIN_EFFECT, top, -1)
        return Scored(p, self.tiers(p), top, effects)
