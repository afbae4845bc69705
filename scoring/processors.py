"""Scoring's processor in the events_ingested pipeline (runs first: ORDER_SCORING)."""

from contacts.hooks import ORDER_SCORING, IngestedBatch, on_events_ingested


@on_events_ingested(order=ORDER_SCORING, name="scoring")
def score_ingested_events(batch: IngestedBatch) -> None:
    from scoring.services.pipeline import scoring_process_batch

    scoring_process_batch(batch)
