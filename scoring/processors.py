"""Scoring's processor in the events_ingested pipeline (runs first: ORDER_SCORING)."""

from contacts.hooks import ORDER_SCORING, IngestedBatch, on_events_ingested
from predictions.hooks import PredictionsScored, on_predictions_scored


@on_events_ingested(order=ORDER_SCORING, name="scoring")
def score_ingested_events(batch: IngestedBatch) -> None:
    from scoring.services.pipeline import scoring_process_batch

    scoring_process_batch(batch)


@on_predictions_scored(name="scoring")
def rescore_on_predictions_scored(scored: PredictionsScored) -> None:
    """Fit rules that read a prediction model's likelihood or tier: after its nightly scoring,
    rescore their models set-based (who matches now, only the difference written) — the same
    rescore a rule edit starts."""
    from scoring.services.config import models_rescore_reading

    models_rescore_reading(workspace=scored.workspace, fields=set(scored.fields))
