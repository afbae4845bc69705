"""Sample contacts and a month of their activity for the demo workspace (`manage.py demo_seed`).

Uses the same generator as the benchmarks (bench/generator.py): page views (including
/pricing), sign-ups, orders with revenue and email events over the last 30 days. Then the
event definitions and attribute registry are filled in, so builders offer autocomplete.
"""

from __future__ import annotations

from typing import Any

from django.db import connection, transaction

from contacts.models import AttributeDefinition
from workspaces.models import Workspace

EVENTS_PER_CONTACT = 20


@transaction.atomic
def demo_seed(*, workspace: Workspace, contacts: int, stdout: Any) -> None:
    from bench.generator import generate

    result = generate(
        workspace.pk, contacts=contacts, events=contacts * EVENTS_PER_CONTACT, days=30, seed=1
    )
    _register_definitions(workspace)
    # A fresh database has no planner statistics until ANALYZE (autovacuum may be off or not
    # have run yet); without them the segment count and funnels planned badly (seconds).
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE contacts_contact, contacts_event")
    stdout.write(
        f"  {len(result.contact_ids):,} contacts and {result.events:,} events "
        f"in {result.seconds:.1f} s"
    )


def _register_definitions(workspace: Workspace) -> None:
    """EventDefinition rows for every tracked name with its property keys, in one statement."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO contacts_eventdefinition
                (workspace_id, name, property_keys, last_seen_at, created_at, updated_at)
            SELECT %s, name,
                   ARRAY(SELECT DISTINCT jsonb_object_keys(p) FROM unnest(props) AS p ORDER BY 1),
                   max_ts, now(), now()
            FROM (
                SELECT name, array_agg(DISTINCT properties) AS props, max(timestamp) AS max_ts
                FROM contacts_event WHERE workspace_id = %s AND type = 'track'
                GROUP BY name
            ) AS seen
            ON CONFLICT (workspace_id, name) DO NOTHING
            """,
            [workspace.pk, workspace.pk],
        )
    AttributeDefinition.objects.bulk_create(
        [
            AttributeDefinition(workspace=workspace, key="plan", type="string", label="Plan"),
            AttributeDefinition(workspace=workspace, key="seats", type="number", label="Seats"),
            AttributeDefinition(
                workspace=workspace, key="signup_source", type="string", label="Signup source"
            ),
        ],
        ignore_conflicts=True,
    )
