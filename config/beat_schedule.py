"""Every periodic job Tendril runs, in one place.

Each entry says why it exists and carries an expiry so that a backlog of ticks
(beat running while workers are down) does not pile up work that is stale anyway.
Apps add their entries here rather than registering schedules of their own.
"""

from typing import Any

from celery.schedules import crontab

BEAT_SCHEDULE: dict[str, dict[str, Any]] = {
    # Commerce: recommendations and reorder dates for every contact with commerce activity,
    # and each product's reorder interval (docs/commerce.md). Nightly; a stale tick is dropped.
    "commerce-run-all": {
        "task": "commerce.run_all",
        "schedule": 24 * 60 * 60,
        "options": {"expires": 60 * 60},
    },
    # Commerce: browse abandonment — views with no add or order COMMERCE_BROWSE_ABANDON_HOURS
    # later become one `product.browse_abandoned` per contact and session. Every 5 minutes.
    "commerce-browse-abandonment": {
        "task": "commerce.browse_abandonment_all",
        "schedule": 5 * 60,
        "options": {"expires": 4 * 60},
    },
    # Housekeeping: drop expired, unaccepted invitations so their links stop working
    # and the members page stays short. Daily is plenty.
    "workspaces-invitations-expire": {
        "task": "workspaces.tasks.invitations_expire",
        "schedule": 24 * 60 * 60,
        "options": {"expires": 60 * 60},
    },
    # Housekeeping: forget management-API Idempotency-Keys after their 24 hours (expired
    # keys are already ignored when reused; this keeps the table small). Hourly.
    "workspaces-idempotency-keys-expire": {
        "task": "workspaces.tasks.idempotency_keys_expire",
        "schedule": 60 * 60,
        "options": {"expires": 30 * 60},
    },
    # Scoring: recompute only the scores whose decay step / expiry / inactivity penalty is
    # due (ContactScore.valid_until <= now) — never a nightly rewrite. Every minute keeps
    # Contact.score (what segments read) within a minute of exact; reads correct themselves.
    "scoring-scores-refresh": {
        "task": "scoring.scores_refresh_all",
        "schedule": 60,
        "options": {"expires": 55},
    },
    # Messaging: the deliverability guard's sweep (docs/deliverability.md). The bounce and
    # complaint paths evaluate their source at most every few seconds; this holds any red
    # broadcast or workflow they skipped. One task per workspace, every 5 minutes.
    "messaging-deliverability-sweep": {
        "task": "messaging.deliverability_sweep_all",
        "schedule": 5 * 60,
        "options": {"expires": 4 * 60},
    },
    # Messaging: waits are rows, not Celery countdowns. Queue messages whose send_after has
    # come (quiet hours, retry backoff, send-time optimisation, contact-local time), start
    # due broadcasts and pick A/B winners. Every 5 s; a missed tick is simply redone by the next.
    "messaging-dispatch-due": {
        "task": "messaging.dispatch_due",
        "schedule": 5,
        "options": {"expires": 5},
    },
    # Messaging: recovery of sends whose worker died (docs/security.md "Faults: exactly
    # once"): rows claimed but never handed to the provider are queued again, rows handed
    # over without a recorded answer are failed (outcome unknown, never resent), queued rows
    # whose task was lost are published again. Every 5 s keeps recovery within the lease
    # (MESSAGING_SEND_LEASE) plus a few seconds; a stale tick is dropped.
    "messaging-sends-recover": {
        "task": "messaging.sends_recover",
        "schedule": 5,
        "options": {"expires": 5},
    },
    # Contacts: events accepted by /v1/ are never lost — pipeline work on record
    # (PendingProcessing) whose process_events task was lost (Redis restart, failed publish,
    # killed worker) is published again once it is EVENTS_PROCESSING_RESCUE seconds old.
    # Every 10 s; a stale tick is dropped.
    "contacts-processing-recover": {
        "task": "contacts.processing_recover",
        "schedule": 10,
        "options": {"expires": 10},
    },
    # Contacts: the event table is partitioned by month; keep EVENTS_PARTITIONS_AHEAD months
    # created ahead so no event lands in the default partition. Daily is plenty (a month
    # ahead is always there); a stale tick is dropped.
    "contacts-event-partitions-ensure": {
        "task": "contacts.event_partitions_ensure",
        "schedule": 24 * 60 * 60,
        "options": {"expires": 60 * 60},
    },
    # Contacts: raw events past each workspace's retention leave — old partitions dropped
    # whole, the rest in bounded batches per workspace (never a table-wide DELETE); a run
    # that leaves work queues the next itself. Daily.
    "contacts-events-retention": {
        "task": "contacts.events_retention_apply",
        "schedule": 24 * 60 * 60,
        "options": {"expires": 60 * 60},
    },
    # Contacts: messageIds are remembered EVENTS_DEDUPE_DAYS for deduplication; forget older
    # ones in bounded batches. Hourly keeps each run small.
    "contacts-event-messages-prune": {
        "task": "contacts.event_messages_prune",
        "schedule": 60 * 60,
        "options": {"expires": 30 * 60},
    },
    # Segments: relative dates ("signed up in the last 7 days", "no order in 30 days",
    # birthdays) change with the clock alone. Every 15 minutes, recompute the drifting
    # segments set-based (INSERT … SELECT / DELETE … WHERE NOT EXISTS) and record today's
    # size of every segment for the list's sparkline. A stale tick is dropped (the next redoes it).
    "segments-recompute-drifting": {
        "task": "segments.recompute_drifting_all",
        "schedule": 15 * 60,
        "options": {"expires": 10 * 60},
    },
    # Workflows: waits are rows (WorkflowRun.next_step_at). Every second, claim due runs
    # (FOR UPDATE SKIP LOCKED, with a lease) and dispatch them to workers in chunks. One
    # second is about the smallest interval celery beat keeps reliably (it sleeps until the
    # next due entry; sub-second schedules drift and pile up) — a tick claims everything due
    # for up to ~0.9 s, so throughput does not depend on the interval. New enrolments and
    # waits ended by an event are dispatched at once, without waiting for a tick. A tick
    # older than 2 s is dropped: the next one claims the same runs.
    "workflows-scheduler-tick": {
        "task": "workflows.scheduler_tick",
        "schedule": 1.0,
        "options": {"expires": 2},
    },
    # Analytics: recount the hours new events fell in (rollups behind the dashboard). Every
    # 10 s keeps the dashboard within seconds of the stream; a pass that leaves a backlog
    # queues the next one itself, so a stale tick is simply dropped.
    "analytics-rollups-refresh": {
        "task": "analytics.rollups_refresh",
        "schedule": 10,
        "options": {"expires": 10},
    },
    # Workflows: "date anniversary" triggers (birthdays, renewals) enrol contacts when their
    # date comes round at the trigger's time in the contact's own timezone. Every 5 minutes;
    # enrolment keys (one per contact and year) make a repeated sweep harmless.
    "workflows-anniversaries-sweep": {
        "task": "workflows.anniversaries_sweep",
        "schedule": 5 * 60,
        "options": {"expires": 4 * 60},
    },
    # Outbound webhooks: retries are rows (WebhookDelivery.next_attempt_at). Every 5 s, claim
    # the deliveries whose backoff is over — and attempts whose worker died (lease over) —
    # with SKIP LOCKED and hand each to a worker. A stale tick is dropped (the next redoes it).
    "outbound-deliveries-due": {
        "task": "outbound.deliveries_due",
        "schedule": 5,
        "options": {"expires": 5},
    },
    # Outbound webhooks: the delivery log keeps OUTBOUND_LOG_DAYS (it holds contact data and
    # is for debugging and replay). Daily.
    "outbound-deliveries-prune": {
        "task": "outbound.deliveries_prune",
        "schedule": 24 * 60 * 60,
        "options": {"expires": 60 * 60},
    },
    # Predictions: retrain every active prediction model on the day's history (earlier cut-off
    # to train, later one to judge), publish it when it passes the bar, and re-score every
    # contact of its population; segments that read the predictions recompute after. Nightly
    # at 02:30 UTC, when traffic is lowest; one run per model at a time (a model still
    # training is skipped). A tick not picked up within 6 hours waits for the next night.
    "predictions-train-nightly": {
        "task": "predictions.train_all",
        "schedule": crontab(hour=2, minute=30),
        "options": {"expires": 6 * 60 * 60},
    },
}
