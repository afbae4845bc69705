"""Scenario `predict`: nightly training and scoring throughput on 1M contacts / 10M events.

    BENCH_NAMESPACE=predict .venv/bin/python -m bench predict [--contacts 1000000]
        [--events 10000000] [--horizon 14] [--reuse]

1. Fresh database `tendril_bench_predict[_<namespace>]`, one workspace, contacts and events
   written by bench.generator (COPY) over 90 days; plus one primary `score.changed` per
   contact (COPY too), so the rule-based score has history to be read at each cut-off.
2. Training: a conversion model ("Order Completed" within --horizon days), trained the way
   the nightly task does it (predictions.services.training_run_execute, in this process):
   features at two cut-offs, fit + calibration, the holdout report, publication, and scoring
   every contact of the population with writing its row. Target: ≤ 10 min. Prints each
   stage's seconds, AUC against the rule score's, and this process's peak memory (RSS).
3. Scoring throughput on the published model, three ways on the same 1M-row feature matrix:
   - baseline A: reading the feature matrix (dataset_build at now: the SQL and its parsing);
   - baseline B: a bare numpy dot product of the matrix with the coefficients;
   - the scorer (log-scaling, standardising, calibration, tiers, top-3 reasons);
   - end to end (predictions_score: features + scorer + upsert of every row).
   Contacts/s for each and the scorer's ratio to the two baselines. Target ≥ 50,000/s.
"""

from __future__ import annotations

import argparse
import io
import random
import resource
import time
from datetime import UTC, datetime, timedelta

import numpy as np

from bench import harness

DATABASE = "tendril_bench_predict"
REDIS_DB = 5
SEED = 23


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def score_history(workspace_id: int, contact_ids: list[int], now: datetime) -> int:
    """One primary score.changed per contact at a random moment: the rule score's history
    (the generator writes no scoring events). COPY, as the generator does."""
    from django.db import connection

    rng = random.Random(SEED)
    start = now - timedelta(days=90)
    buffer = io.StringIO()
    for n, contact_id in enumerate(contact_ids):
        at = start + timedelta(seconds=rng.uniform(0, 90 * 86400))
        score = rng.randint(0, 120)
        buffer.write(
            f"{workspace_id}\t{contact_id}\ttrack\tscore.changed\t"
            f'{{"primary":true,"to":{score},"from":0,"delta":{score}}}\t{{}}\t'
            f"{at.isoformat()}\t{now.isoformat()}\tbench-score-{n}\tplatform\n"
        )
    columns = (
        "workspace_id, contact_id, type, name, properties, context, timestamp, received_at, "
        "message_id, source"
    )
    with (
        connection.owner_role(),  # type: ignore[attr-defined]
        connection.cursor() as cursor,
        cursor.copy(f"COPY contacts_event ({columns}) FROM STDIN") as copy,
    ):
        copy.write(buffer.getvalue())
    return len(contact_ids)


def prepare(args: argparse.Namespace) -> tuple[int, float | None]:
    harness.setup_django(database=DATABASE, redis_db=REDIS_DB, fresh=not args.reuse)
    from contacts.models import Contact
    from workspaces.models import Workspace

    existing = Workspace.objects.filter(name="Bench predict").first()
    if existing and Contact.objects.filter(workspace=existing).count() >= args.contacts:
        return existing.pk, None
    workspace_id, _ = harness.workspace("Bench predict")
    from bench.generator import generate

    print(f"generating {args.contacts:,} contacts and {args.events:,} events (COPY) …", flush=True)
    now = datetime.now(UTC)
    generated = generate(
        workspace_id, contacts=args.contacts, events=args.events, days=90, seed=SEED, now=now
    )
    score_history(workspace_id, generated.contact_ids, now)
    harness.analyze("contacts_contact", "contacts_event", vacuum=True)
    return workspace_id, generated.seconds


def training(workspace_id: int, horizon: int) -> tuple[list[tuple[str, str]], object]:
    from predictions.models import PredictionModel, TrainingRun
    from predictions.services import prediction_model_create, training_run_execute
    from workspaces.models import Workspace

    workspace = Workspace.objects.get(pk=workspace_id)
    PredictionModel.objects.filter(workspace=workspace).delete()
    model = prediction_model_create(
        workspace=workspace,
        name="",
        kind="conversion",
        goal_type="event",
        goal="Order Completed",
        horizon_days=horizon,
    )
    run = TrainingRun.objects.create(workspace=workspace, model=model)
    started = time.perf_counter()
    training_run_execute(run=run)
    seconds = time.perf_counter() - started
    run.refresh_from_db()
    model.refresh_from_db()
    report = run.report
    rows = [
        ("nightly training, end to end", f"{seconds:.1f} s  (target ≤ 600 s)"),
        *[(f"  stage: {name}", f"{value:.1f} s") for name, value in report["seconds"].items()],
        (
            "rows",
            f"train {report['train_rows']:,} (fit on {report.get('train_rows_used', 0):,}), "
            f"holdout {report['holdout_rows']:,}, {report['features']} features",
        ),
        (
            "holdout AUC",
            f"{report.get('auc', float('nan')):.3f} vs rule score {report.get('rule_auc', float('nan')):.3f}",
        ),
        ("published", f"{run.published} {run.verdict}".strip()),
        ("contacts scored", f"{model.scored_count:,}"),
        ("peak memory (this process)", f"{peak_mb():,.0f} MB"),
    ]
    return rows, (model, run)


def throughput(model: object, run: object) -> list[tuple[str, str]]:
    from django.utils import timezone

    from predictions.features import FeatureSpec, dataset_build
    from predictions.scoring import Scorer
    from predictions.services import predictions_score

    parameters = run.parameters  # type: ignore[attr-defined]
    if not parameters:
        return [("scoring", "skipped: the model was not published and no parameters exist")]
    spec = FeatureSpec.from_json(parameters["spec"])
    now = timezone.now()
    read_s, data = harness.timed(
        lambda: dataset_build(model=model, spec=spec, cutoff=now, with_labels=False), runs=1
    )
    n = len(data)
    scorer = Scorer(parameters)
    weights = np.asarray(parameters["coef"], dtype=np.float32)
    dot_s, _ = harness.timed(lambda: data.raw @ weights, runs=3)

    def score_all() -> None:
        for start in range(0, n, 50_000):
            scorer.score(data.raw[start : start + 50_000])

    score_s, _ = harness.timed(score_all, runs=3)
    end_s, scored = harness.timed(lambda: predictions_score(model=model, run=run, now=now), runs=1)
    return [
        ("contacts in the population", f"{n:,}"),
        ("baseline A: read the feature matrix", f"{read_s:.2f} s  = {n / read_s:,.0f} contacts/s"),
        ("baseline B: bare numpy dot product", f"{dot_s:.3f} s  = {n / dot_s:,.0f} contacts/s"),
        (
            "scorer (p, tier, top-3 reasons)",
            f"{score_s:.2f} s  = {n / score_s:,.0f} contacts/s  "
            f"({score_s / read_s:.2f}x of A, {score_s / dot_s:.0f}x of B)",
        ),
        (
            "end to end (features + scorer + upsert)",
            f"{end_s:.1f} s  = {scored / end_s:,.0f} contacts/s  (target ≥ 50,000/s)",
        ),
        ("peak memory (this process)", f"{peak_mb():,.0f} MB"),
    ]


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="bench predict")
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--horizon", type=int, default=14)
    parser.add_argument("--reuse", action="store_true")
    args = parser.parse_args(argv)
    note = harness.machine_note()
    workspace_id, generated = prepare(args)
    rows, (model, run) = training(workspace_id, args.horizon)
    harness.report(
        f"predict: training ({note}"
        + (f"; data generated in {generated:.0f} s" if generated else "; data reused")
        + ")",
        rows,
    )
    harness.report("predict: scoring throughput", throughput(model, run))
