"""Scenario `audience`: a broadcast's audience counted before sending (the form's live count).

    .venv/bin/python -m bench audience [--contacts 100000] [--runs 5]

1. Fresh database `tendril_bench_audience`: `--contacts` generated contacts (bench.generator),
   a dynamic segment with everyone who has an email address, an exclusion segment (country
   DE, FR or GB), 2% of the addresses suppressed, 2% opted out of the default topic,
   and a frequency cap of 3 messages in 7 days (so its subquery runs). ANALYZE.
2. Timed, cold and warm (median of --runs):
   - baseline: the segment's plain member count (`segment_contacts(...).count()`, what a
     count of "the segment" costs with nothing subtracted);
   - `selectors.audience_size` (three counts): members, minus the exclusion
     segment, minus what the send
     check refuses (address, consent, suppression by SQL sha256, topic opt-out, cap);
   - the form's htmx request (GET /messages/broadcasts/audience/, Django's test client as
     the owner: form parsing, the counts, the rendered partial).
   Each with its ratio to the baseline.
"""

from __future__ import annotations

import argparse
import time

from bench import harness

DATABASE = "tendril_bench_audience"
REDIS_DB = 7


def prepare(contacts: int) -> dict[str, int]:
    from contacts.models import Contact
    from messaging.models import Suppression, TopicOptOut
    from messaging.models.audience import address_hash
    from messaging.services.config import messaging_settings, topic_default
    from segments.services import segment_create, segment_recompute
    from workspaces.models import Workspace

    from .generator import generate

    workspace_id, _ = harness.workspace("Audience")
    workspace = Workspace.objects.get(pk=workspace_id)
    started = time.perf_counter()
    generate(workspace_id, contacts=contacts, events=contacts, seed=7)
    everyone = segment_create(
        workspace=workspace, name="Everyone", filter={"field": "email", "op": "exists"}
    )
    free = segment_create(
        workspace=workspace,
        name="Europe",
        filter={"field": "country", "op": "in", "value": ["DE", "FR", "GB"]},
    )
    segment_recompute(segment=everyone)
    segment_recompute(segment=free)
    rows = list(Contact.objects.filter(workspace=workspace).values_list("pk", "email"))
    Suppression.objects.bulk_create(
        Suppression(
            workspace=workspace,
            channel="email",
            address=email,
            address_hash=address_hash(email),
            reason="hard_bounce",
        )
        for _, email in rows[::50]
    )
    topic = topic_default(workspace=workspace)
    TopicOptOut.objects.bulk_create(
        TopicOptOut(workspace=workspace, contact_id=pk, topic=topic) for pk, _ in rows[25::50]
    )
    config = messaging_settings(workspace=workspace)
    config.frequency_cap_count, config.frequency_cap_days = 3, 7
    config.save()
    harness.analyze(
        "contacts_contact",
        "segments_segmentmembership",
        "messaging_suppression",
        "messaging_topicoptout",
        "messaging_message",
    )
    print(f"prepared {contacts:,} contacts in {time.perf_counter() - started:.1f} s", flush=True)
    return {
        "workspace": workspace_id,
        "segment": everyone.pk,
        "exclude": free.pk,
        "topic": topic.pk,
    }


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="bench audience")
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    note = harness.machine_note()
    harness.setup_django(database=DATABASE, redis_db=REDIS_DB)
    ids = prepare(args.contacts)

    from django.test import Client

    from messaging import segments_bridge
    from messaging.selectors import audience_size
    from workspaces.models import Membership, Workspace

    workspace = Workspace.objects.get(pk=ids["workspace"])

    def baseline() -> int:
        return segments_bridge.segment_contacts(
            workspace=workspace, segment_id=ids["segment"]
        ).count()

    def counted():  # noqa: ANN202
        return audience_size(
            workspace=workspace,
            segment_id=ids["segment"],
            exclude_segment_ids=[ids["exclude"]],
            channel="email",
            topic_id=ids["topic"],
        )

    client = Client()
    client.force_login(Membership.objects.filter(workspace=workspace).first().user)
    query = {
        "channel": "email",
        "segment": ids["segment"],
        "exclude_segments": ids["exclude"],
        "topic": ids["topic"],
    }

    def request() -> int:
        response = client.get("/messages/broadcasts/audience/", query, HTTP_HX_REQUEST="true")
        assert response.status_code == 200, response.status_code
        return len(response.content)

    rows = []
    cold = {}
    for label, func in (("baseline", baseline), ("audience", counted), ("request", request)):
        started = time.perf_counter()
        func()
        cold[label] = time.perf_counter() - started
    base, members = harness.timed(baseline, runs=args.runs)
    size_s, size = harness.timed(counted, runs=args.runs)
    http_s, _ = harness.timed(request, runs=args.runs)
    rows.append(("machine", note))
    rows.append(("contacts in the segment", f"{members:,}"))
    rows.append(
        (
            "audience",
            f"{size.recipients:,} recipients ({size.excluded:,} excluded, "
            f"{size.unreachable:,} unreachable)",
        )
    )
    rows.append(
        (
            "baseline: plain member count",
            f"{base * 1000:.0f} ms (cold {cold['baseline'] * 1000:.0f} ms)",
        )
    )
    rows.append(
        (
            "audience_size",
            f"{size_s * 1000:.0f} ms (cold {cold['audience'] * 1000:.0f} ms) — "
            f"{size_s / base:.1f}× the baseline",
        )
    )
    rows.append(
        (
            "the form's htmx request",
            f"{http_s * 1000:.0f} ms (cold {cold['request'] * 1000:.0f} ms) — "
            f"{http_s / base:.1f}× the baseline",
        )
    )
    harness.report(f"audience count, {args.contacts:,} contacts", rows)
