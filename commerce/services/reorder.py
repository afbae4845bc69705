"""Reorder timing: when a contact is expected to buy a product again (docs/commerce.md).

- A product's reorder interval is the median of the intervals between repeat purchases of
  it by the same contact, across contacts — published once there are at least
  COMMERCE_REORDER_MIN_SAMPLE intervals (fewer say nothing reliable).
- A contact who bought the product at least twice has an interval of their own: the median
  of their intervals, used instead.
- The predicted date is the last purchase plus that interval.

Intervals are in whole days between the (UTC) days of purchase: two orders of one day are
one purchase (a second order in the same session is not a reorder). Each contact's earliest predicted date is kept on the contact as the datetime
attribute `predicted_reorder_at`, so segments (`within_next_days`) and every other reader of
contact attributes use it without knowing about commerce.
"""

# ruff: noqa: S608  # SQL built from constant fragments; every value is a parameter

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime

from django.conf import settings
from django.db import connection
from django.utils import timezone

from contacts.models import AttributeDefinition
from contacts.services import attributes_over_limit
from contacts.services.contacts import attribute_definition_create, contacts_attribute_set
from workspaces.models import Workspace

logger = logging.getLogger(__name__)

REORDER_ATTRIBUTE = "predicted_reorder_at"
REORDER_LABEL = "Predicted reorder date"

# One row per contact, product and (UTC) day they bought it: two orders of one day are one
# purchase. `gap`: whole days since the contact's previous day with that product.
_GAPS = """
SELECT contact_id, product_id, last_at,
       bought_on - lag(bought_on) OVER (
           PARTITION BY contact_id, product_id ORDER BY bought_on) AS gap
FROM (SELECT contact_id, product_id, (ordered_at AT TIME ZONE 'UTC')::date AS bought_on,
             max(ordered_at) AS last_at
      FROM commerce_purchase WHERE workspace_id = %(ws)s {only}
      GROUP BY contact_id, product_id, bought_on) d
"""

PRODUCT_INTERVALS_SQL = f"""
WITH gaps AS ({_GAPS.format(only="")}), stats AS (
    SELECT product_id, percentile_cont(0.5) WITHIN GROUP (ORDER BY gap) AS days, count(*) AS n
    FROM gaps WHERE gap IS NOT NULL GROUP BY product_id
)
UPDATE commerce_product p
SET reorder_days = CASE WHEN coalesce(s.n, 0) >= %(min)s THEN s.days END,
    reorder_sample = coalesce(s.n, 0)
FROM commerce_product q LEFT JOIN stats s ON s.product_id = q.id
WHERE p.id = q.id AND q.workspace_id = %(ws)s
  AND (p.reorder_days IS DISTINCT FROM CASE WHEN coalesce(s.n, 0) >= %(min)s THEN s.days END
       OR p.reorder_sample <> coalesce(s.n, 0))
"""

PREDICT_SQL = f"""
WITH gaps AS ({_GAPS.format(only="AND contact_id IN (SELECT unnest(%(contacts)s::bigint[]))")}), own AS (
    SELECT contact_id, product_id, max(last_at) AS last_at,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY gap) AS own_days
    FROM gaps GROUP BY contact_id, product_id
)
INSERT INTO commerce_reorderprediction (workspace_id, contact_id, product_id, last_purchased_at,
    interval_days, basis, predicted_at, created_at, updated_at)
SELECT %(ws)s, own.contact_id, own.product_id, own.last_at,
       coalesce(own.own_days, p.reorder_days),
       CASE WHEN own.own_days IS NOT NULL THEN 'own' ELSE 'product' END,
       own.last_at + coalesce(own.own_days, p.reorder_days) * interval '1 day', %(now)s, %(now)s
FROM own JOIN commerce_product p ON p.id = own.product_id AND p.workspace_id = %(ws)s
WHERE coalesce(own.own_days, p.reorder_days) IS NOT NULL
"""


# Before a contact's predictions are replaced: those whose product they bought again (a day or
# more after the purchase they were made from) are checked against that reorder, once.
CHECK_SQL = """
WITH old AS (
    SELECT contact_id, product_id, predicted_at, last_purchased_at
    FROM commerce_reorderprediction
    WHERE workspace_id = %(ws)s AND contact_id IN (SELECT unnest(%(contacts)s::bigint[]))
), checked AS (
    SELECT o.product_id,
           abs(extract(epoch FROM (min(u.ordered_at) - o.predicted_at))) / 86400.0 AS error
    FROM old o JOIN commerce_purchase u
      ON u.workspace_id = %(ws)s AND u.contact_id = o.contact_id AND u.product_id = o.product_id
     AND u.ordered_at >= o.last_purchased_at + interval '1 day'
    GROUP BY o.contact_id, o.product_id, o.predicted_at
)
UPDATE commerce_product p
SET reorder_checked = p.reorder_checked + s.n, reorder_error_days = p.reorder_error_days + s.total
FROM (SELECT product_id, count(*) AS n, sum(error) AS total FROM checked GROUP BY product_id) s
WHERE p.workspace_id = %(ws)s AND p.id = s.product_id
"""


def product_intervals_refresh(*, workspace: Workspace) -> int:
    """Recompute every product's median reorder interval; how many products changed."""
    with connection.cursor() as cursor:
        cursor.execute(
            PRODUCT_INTERVALS_SQL,
            {"ws": workspace.pk, "min": settings.COMMERCE_REORDER_MIN_SAMPLE},
        )
        return cursor.rowcount


def reorder_predict(
    *, workspace: Workspace, contact_ids: Sequence[int], now: datetime | None = None
) -> list[int]:
    """Replace these contacts' predictions and their `predicted_reorder_at` attribute (the
    earliest predicted date, removed when there is none). Returns the contacts whose
    attribute changed (segments re-evaluate them)."""
    if not contact_ids:
        return []
    now = now or timezone.now()
    contacts = sorted(set(contact_ids))
    with connection.cursor() as cursor:
        cursor.execute(CHECK_SQL, {"ws": workspace.pk, "contacts": contacts})
        # Two statements: a DELETE in a CTE and the INSERT share one snapshot, and a pair
        # deleted and inserted again in one statement would conflict. `IN (SELECT unnest…)`,
        # not `= ANY(…)`: a semi-join whatever the table's statistics say (the job grows this
        # table faster than they follow; a filter on a 1,000-id array read every row).
        cursor.execute(
            "DELETE FROM commerce_reorderprediction WHERE workspace_id = %s "
            "AND contact_id IN (SELECT unnest(%s::bigint[]))",
            [workspace.pk, contacts],
        )
        cursor.execute(
            PREDICT_SQL,
            {"ws": workspace.pk, "contacts": contacts, "now": now},
        )
        cursor.execute(
            "SELECT contact_id, min(predicted_at) FROM commerce_reorderprediction "
            "WHERE workspace_id = %s AND contact_id IN (SELECT unnest(%s::bigint[])) "
            "GROUP BY contact_id",
            [workspace.pk, contacts],
        )
        earliest = dict(cursor.fetchall())
    if not _attribute_ready(workspace):
        return []
    values = {cid: earliest[cid].isoformat() if cid in earliest else None for cid in contacts}
    return contacts_attribute_set(workspace=workspace, key=REORDER_ATTRIBUTE, values=values)


def _attribute_ready(workspace: Workspace) -> bool:
    """The `predicted_reorder_at` attribute is declared (a datetime), so segments can filter
    on it; False when the workspace's attribute limit leaves no room (logged)."""
    definitions = AttributeDefinition.objects.for_workspace(workspace)
    if definitions.filter(key=REORDER_ATTRIBUTE).exists():
        return True
    if attributes_over_limit(workspace=workspace, keys=[REORDER_ATTRIBUTE]):
        logger.warning("workspace %s: no room for %s", workspace.pk, REORDER_ATTRIBUTE)
        return False
    attribute_definition_create(
        workspace=workspace,
        key=REORDER_ATTRIBUTE,
        type=AttributeDefinition.Type.DATETIME,
        label=REORDER_LABEL,
    )
    return True
