"""Hourly rollups of the event stream (see analytics/models.py for why they are recomputed).

Ingestion's pipeline marks the UTC hours a batch's events fall in (`dirty_hours_mark`, one
INSERT … ON CONFLICT DO NOTHING); beat runs `rollups_refresh` every few seconds, which
claims dirty hours (up to a week of one workspace's at a time) and recounts them from the
events table — the hourly event counts, and messaging over time per quarter hour and source
(MessageCount) — one transaction per claim: claim (DELETE … RETURNING, SKIP LOCKED so several
workers share the work), recount, replace those hours' rows. A new event for an hour being recomputed marks it again once the recount's
transaction commits (its INSERT waits for the claimed row), so the next pass picks it up.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connection, transaction

from scoring.services.pipeline import CONTACT_ACTIONS
from workspaces.models import Workspace

_MARK = """
INSERT INTO analytics_dirtyhour (workspace_id, hour, marked_at)
SELECT %s, hour, now() FROM unnest(%s::timestamptz[]) AS hour
ON CONFLICT (workspace_id, hour) DO NOTHING
"""

# Up to a week of one workspace's dirty hours, oldest mark's workspace first, in hour order:
# a backlog (a backfill, an import of last year's orders, the first build) is recounted a
# week per scan instead of an hour per scan. SKIP LOCKED lets several workers share it.
_CLAIM = """
WITH head AS (
  SELECT workspace_id FROM analytics_dirtyhour ORDER BY marked_at
  FOR UPDATE SKIP LOCKED LIMIT 1
), claimed AS (
  SELECT d.id FROM analytics_dirtyhour d JOIN head USING (workspace_id)
  ORDER BY d.hour FOR UPDATE OF d SKIP LOCKED LIMIT %(batch)s
)
DELETE FROM analytics_dirtyhour WHERE id IN (SELECT id FROM claimed)
RETURNING workspace_id, hour
"""
BATCH_HOURS = 7 * 24

# One scan of the claimed hours' events feeds both rollups. A revenue property is a number, or
# a string that reads as one ("49.90"); anything else counts as no revenue rather than failing
# the recount. Hours are UTC whatever the session's time zone (the three-argument
# date_trunc); active days and weeks are the workspace's (its time zone, weeks from Monday).
# Contact weeks only gain days here (`days | new`): a replayed recount changes nothing.
# A contact is active on a day it did anything, not on one the platform only recorded something
# about it (sent, delivered, bounced; segment, score and workflow changes) — the same line as
# scoring's inactivity rules (scoring.services.pipeline.CONTACT_ACTIONS: opens, clicks, SMS
# replies and form submissions recorded by the platform are still the contact's doing).
_RECOUNT = """
WITH zone AS (
  SELECT coalesce(nullif(w.timezone, ''), 'UTC') AS name
  FROM workspaces_workspace w WHERE w.id = %(workspace)s
), scanned AS MATERIALIZED (
  SELECT date_trunc('hour', e.timestamp, 'UTC') AS hour, e.type, e.name, e.contact_id,
         CASE
           WHEN jsonb_typeof(e.properties -> 'revenue') = 'number'
             THEN (e.properties ->> 'revenue')::numeric
           WHEN (e.properties ->> 'revenue') ~ '^\\s*-?[0-9]{1,12}(\\.[0-9]+)?\\s*$'
             THEN trim(e.properties ->> 'revenue')::numeric
         END AS revenue,
         CASE WHEN e.source <> 'platform' OR e.name = ANY(%(actions)s)
           THEN (e.timestamp AT TIME ZONE zone.name)::date END AS active_day
  FROM contacts_event e, zone
  WHERE e.workspace_id = %(workspace)s
    AND e.timestamp >= %(first)s AND e.timestamp < %(until)s  -- constants: partitions pruned
    AND date_trunc('hour', e.timestamp, 'UTC') = ANY(%(hours)s::timestamptz[])
), counted AS (
  SELECT s.hour, s.type, s.name, count(*) AS events, count(DISTINCT s.contact_id) AS contacts,
         coalesce(round(sum(s.revenue), 2), 0) AS revenue
  FROM scanned s
  GROUP BY 1, 2, 3
), active_weeks AS (
  SELECT s.contact_id, date_trunc('week', s.active_day)::date AS week,
         bit_or(1 << (extract(isodow FROM s.active_day)::int - 1))::smallint AS days
  FROM scanned s WHERE s.active_day IS NOT NULL
  GROUP BY 1, 2
), weeks_written AS (
  INSERT INTO analytics_contactweek (workspace_id, contact_id, week, days, signup_week)
  SELECT %(workspace)s, a.contact_id, a.week, a.days,
         date_trunc('week', c.created_at AT TIME ZONE zone.name)::date
  FROM active_weeks a JOIN contacts_contact c ON c.id = a.contact_id, zone
  ON CONFLICT (workspace_id, week, contact_id) DO UPDATE
  SET days = analytics_contactweek.days | EXCLUDED.days
  WHERE analytics_contactweek.days | EXCLUDED.days <> analytics_contactweek.days
), cleared AS (
  DELETE FROM analytics_hourlyeventcount h
  WHERE h.workspace_id = %(workspace)s AND h.hour = ANY(%(hours)s::timestamptz[])
    AND NOT EXISTS (
      SELECT FROM counted c WHERE c.hour = h.hour AND c.type = h.type AND c.name = h.name
    )
)
INSERT INTO analytics_hourlyeventcount
  (workspace_id, hour, type, name, events, contacts, revenue, updated_at)
SELECT %(workspace)s, c.hour, c.type, c.name, c.events, c.contacts, c.revenue, now()
FROM counted c
ON CONFLICT (workspace_id, hour, type, name) DO UPDATE
SET events = EXCLUDED.events, contacts = EXCLUDED.contacts, revenue = EXCLUDED.revenue,
    updated_at = EXCLUDED.updated_at
"""


# Messaging over time (analytics.models.MessageCount): the same hours' message events per
# quarter hour and source. A workflow's node is the second part of its source id
# ("<run>:<node>[:<visit>]"); a broadcast's owner is its id. Unique clicks are the messages'
# first clicks less those a scanner's burst took back (messaging/machine.py). Templates are
# email templates (an SMS template's id is another table's: left at 0).
MESSAGE_EVENTS = [
    "email.sent", "sms.sent", "email.delivered", "sms.delivered", "email.bounced",
    "email.opened", "email.machine_opened", "email.clicked", "sms.clicked",
    "email.machine_clicked", "sms.machine_clicked", "email.unsubscribed", "sms.unsubscribed",
    "email.complained",
]  # fmt: skip

_RECOUNT_MESSAGES = """
WITH counted AS (
  SELECT date_bin('15 minutes', e.timestamp, timestamptz '2000-01-01 00:00:00+00') AS bucket,
         e.properties ->> 'source_type' AS source_type,
         left(coalesce(e.properties ->> 'source_owner', CASE WHEN e.properties ->> 'source_type'
              = 'broadcast' THEN e.properties ->> 'source_id' END, ''), 40) AS owner,
         left(CASE WHEN e.properties ->> 'source_type' = 'workflow'
              THEN split_part(e.properties ->> 'source_id', ':', 2) ELSE '' END, 120) AS node,
         CASE WHEN e.name LIKE 'email.%%' AND jsonb_typeof(e.properties -> 'template_id') = 'number'
              THEN (e.properties ->> 'template_id')::bigint ELSE 0 END AS template_id,
         CASE WHEN jsonb_typeof(e.properties -> 'variant_id') = 'number'
              THEN (e.properties ->> 'variant_id')::bigint ELSE 0 END AS variant_id,
         count(*) FILTER (WHERE e.name IN ('email.sent', 'sms.sent')) AS sent,
         count(*) FILTER (WHERE e.name IN ('email.delivered', 'sms.delivered')) AS delivered,
         count(*) FILTER (WHERE e.name = 'email.bounced'
                          AND e.properties ->> 'bounce' = 'soft') AS soft_bounced,
         count(*) FILTER (WHERE e.name = 'email.bounced'
                          AND e.properties ->> 'bounce' IS DISTINCT FROM 'soft') AS hard_bounced,
         count(*) FILTER (WHERE e.name = 'email.opened') AS opened,
         count(*) FILTER (WHERE e.name = 'email.machine_opened') AS machine_opened,
         count(*) FILTER (WHERE e.name IN ('email.clicked', 'sms.clicked')
                          AND e.properties ->> 'first' = 'true')
           - count(*) FILTER (WHERE e.name IN ('email.machine_clicked', 'sms.machine_clicked')
                              AND e.properties ->> 'retracts_click' = 'true') AS clicked,
         count(*) FILTER (WHERE e.name IN ('email.unsubscribed', 'sms.unsubscribed'))
           AS unsubscribed,
         count(*) FILTER (WHERE e.name = 'email.complained') AS complained
  FROM contacts_event e
  WHERE e.workspace_id = %(workspace)s
    AND e.timestamp >= %(first)s AND e.timestamp < %(until)s
    AND date_trunc('hour', e.timestamp, 'UTC') = ANY(%(hours)s::timestamptz[])
    AND e.name = ANY(%(names)s) AND e.properties ->> 'source_type' IN ('broadcast', 'workflow')
  GROUP BY 1, 2, 3, 4, 5, 6
), cleared AS (
  DELETE FROM analytics_messagecount h
  WHERE h.workspace_id = %(workspace)s
    AND date_trunc('hour', h.bucket, 'UTC') = ANY(%(hours)s::timestamptz[])
    AND NOT EXISTS (
      SELECT FROM counted c WHERE c.bucket = h.bucket AND c.source_type = h.source_type
        AND c.owner = h.owner AND c.node = h.node AND c.template_id = h.template_id
        AND c.variant_id = h.variant_id
    )
)
INSERT INTO analytics_messagecount
  (workspace_id, bucket, source_type, owner, node, template_id, variant_id, sent, delivered,
   hard_bounced, soft_bounced, opened, machine_opened, clicked, unsubscribed, complained,
   updated_at)
SELECT %(workspace)s, c.bucket, c.source_type, c.owner, c.node, c.template_id, c.variant_id,
       c.sent, c.delivered, c.hard_bounced, c.soft_bounced, c.opened, c.machine_opened,
       c.clicked, c.unsubscribed, c.complained, now()
FROM counted c
ON CONFLICT (workspace_id, bucket, source_type, owner, node, template_id, variant_id) DO UPDATE
SET sent = EXCLUDED.sent, delivered = EXCLUDED.delivered, hard_bounced = EXCLUDED.hard_bounced,
    soft_bounced = EXCLUDED.soft_bounced, opened = EXCLUDED.opened,
    machine_opened = EXCLUDED.machine_opened, clicked = EXCLUDED.clicked,
    unsubscribed = EXCLUDED.unsubscribed, complained = EXCLUDED.complained,
    updated_at = EXCLUDED.updated_at
"""


def _hour(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


def dirty_hours_mark(*, workspace: Workspace, timestamps: Iterable[datetime]) -> int:
    """Mark the hours these events happened in for recount; returns how many hours."""
    hours = sorted({_hour(moment) for moment in timestamps})
    if hours:
        with connection.cursor() as cursor:
            cursor.execute(_MARK, [workspace.pk, hours])
    return len(hours)


@dataclass(frozen=True)
class RefreshResult:
    hours: int  # hours recounted
    remaining: bool  # stopped at the limit with dirty hours left


def rollups_refresh(*, limit: int = 2000) -> RefreshResult:
    """Recount dirty hours, a claimed batch per transaction, until none is left or `limit`
    hours are done."""
    done = 0
    while done < limit:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(_CLAIM, {"batch": min(BATCH_HOURS, limit - done)})
            claimed = cursor.fetchall()
            if not claimed:
                return RefreshResult(hours=done, remaining=False)
            hours = sorted(hour for _, hour in claimed)
            params = {
                "workspace": claimed[0][0],
                "hours": hours,
                "first": hours[0],
                "last": hours[-1],
                "until": hours[-1] + timedelta(hours=1),
            }
            cursor.execute(_RECOUNT, {**params, "actions": sorted(CONTACT_ACTIONS)})
            cursor.execute(_RECOUNT_MESSAGES, {**params, "names": MESSAGE_EVENTS})
        done += len(claimed)
    return RefreshResult(hours=done, remaining=True)
