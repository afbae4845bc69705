"""Scenario `preview`: preview on history — a draft replayed over the last 30 days of a large
workspace's real events (workflows.preview.history.preview_on_history), read-only.

    .venv/bin/python -m bench preview [--contacts 1000000] [--events 10000000]
                                      [--days 30] [--sample 500] [--reuse]

1. Fresh database `tendril_bench_preview` (or, with --reuse, the data of a previous run),
   one workspace, contacts and events written by bench.generator (COPY) over 30 days, then
   VACUUM (ANALYZE) of the events and contacts (what autovacuum keeps on a server in
   service; it is off on the development server).
2. The draft: "Added to Cart" → wait up to 1 day for "Order Completed" → (timed out) an
   email; (ordered) if they ordered 3+ times in 30 days → add a tag. The generator's
   "Added to Cart" is one of the common track events: a few hundred thousand contacts
   match at the default scale.
3. Timed (median of 3 warm runs): the whole preview (the set-based stage: one SQL over the
   window's events for the trigger's name, counting contacts and drawing the sample; then
   `--sample` contacts walked through the graph), against a baseline measured in the same
   run: a plain COUNT(*) of the workspace's events in the same window (the cheapest
   question one can ask of those rows). Prints both, the ratio, the matched population,
   the sample and the estimated emails.
"""

from __future__ import annotations

import argparse
from datetime import timedelta

from bench import harness

DATABASE = "tendril_bench_preview"
REDIS_DB = 12
SEED = 13
FOOTER = "<p>{{ workspace.physical_address }} <a href='{{ unsubscribe_url }}'>unsubscribe</a></p>"


def draft(template_id: int) -> dict:
    return {
        "nodes": [
            {"id": "start", "type": "trigger.event", "config": {"event": "Added to Cart"}},
            {"id": "wait", "type": "wait.until_event",
             "config": {"event": "Order Completed", "timeout": {"days": 1}}},
            {"id": "remind", "type": "action.email", "config": {"template": template_id}},
            {"id": "loyal", "type": "branch.condition", "config": {"filter": {"event": "Order Completed", "count": {"op": "gte", "value": 3}, "within_days": 30}}},
            {"id": "tag", "type": "action.tag_add", "config": {"tags": ["loyal"]}},
        ],
        "edges": [
            {"source": "start", "target": "wait"},
            {"source": "wait", "target": "remind", "port": "timeout"},
            {"source": "wait", "target": "loyal"},
            {"source": "loyal", "target": "tag", "port": "yes"},
        ],
    }  # fmt: skip


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="bench preview")
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--sample", type=int, default=500)
    parser.add_argument("--reuse", action="store_true", help="keep the previous run's data")
    args = parser.parse_args(argv)
    print(harness.machine_note())
    harness.setup_django(database=DATABASE, redis_db=REDIS_DB, fresh=not args.reuse)

    from django.utils import timezone

    from bench.generator import generate
    from messaging.services import EmailContent, email_template_save
    from workflows import integrations
    from workflows.models import Workflow
    from workflows.preview.history import preview_on_history
    from workflows.services import draft_save, workflow_create
    from workspaces.models import Workspace

    now = timezone.now()
    if args.reuse and Workspace.objects.filter(name="Bench preview").exists():
        workspace = Workspace.objects.get(name="Bench preview")
        print("reusing the previous run's data")
    else:
        workspace_id, _ = harness.workspace("Bench preview")
        workspace = Workspace.objects.get(pk=workspace_id)
        made = generate(
            workspace.pk,
            contacts=args.contacts,
            events=args.events,
            days=args.days,
            seed=SEED,
            now=now,
        )
        print(
            f"generated {args.contacts:,} contacts, {made.events:,} events in {made.seconds:.0f} s"
        )
        # VACUUM, not only ANALYZE: what autovacuum does to an append-only table on a server
        # in service (this development server runs without it). Without the visibility map
        # the set-based stage's index-only scan fetches every matching row from the heap.
        harness.analyze("contacts_event", "contacts_contact", vacuum=True)
    template = email_template_save(
        workspace=workspace,
        content=EmailContent(name="Cart", subject="Your cart", html=f"<p>Hi</p>{FOOTER}"),
    )
    workflow = workflow_create(
        workspace=workspace, data={"name": f"Cart {now:%H%M%S}", "reentry": "always"}
    )
    draft_save(workspace=workspace, workflow=workflow, graph=draft(template.pk))
    workflow = Workflow.objects.get(pk=workflow.pk)
    graph = workflow.versions.get().graph
    since = timezone.now() - timedelta(days=args.days)

    def baseline() -> int:
        return integrations.events_in_window(workspace=workspace, since=since, until=timezone.now())

    def preview() -> dict:
        return preview_on_history(
            workspace=workspace,
            workflow=workflow,
            graph_data=graph,
            days=args.days,
            sample=args.sample,
        )

    baseline_s, events_in_window = harness.timed(baseline)
    preview_s, result = harness.timed(preview)
    harness.report(
        f"preview on history — {args.days} days, {events_in_window:,} events in the window",
        [
            ("baseline: COUNT(*) of the window's events", f"{baseline_s:.2f} s"),
            ("preview (median of 3)", f"{preview_s:.2f} s"),
            ("  of which set-based stage", f"{result['timing_ms']['set_based'] / 1000:.2f} s"),
            ("ratio preview / baseline", f"{preview_s / baseline_s:.1f}×"),
            ("matched contacts / events", f"{result['matched']['contacts']:,} / "
                                          f"{result['matched']['events']:,}"),
            ("sample walked", f"{result['sample']['size']:,} (scale ×{result['sample']['scale']})"),
            ("estimated reminder emails", f"{result['totals']['email']:,}"),
            ("estimated entered per node", ", ".join(
                f"{node} {numbers['entered']:,}" for node, numbers in result["nodes"].items())),
        ],
    )  # fmt: skip


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
