"""The event table becomes range-partitioned by month; messageIds move to their own table.

- contacts_eventmessage (workspace_id, message_id) → event_id: the deduplication, which a
  partitioned table cannot hold (a unique index there must contain the partition key).
  Filled from the existing events (all of them on a small table; on a large one those of
  the last EVENTS_DEDUPE_DAYS, the window it keeps anyway).
- contacts_event: on a fresh install, or any table of up to INLINE_MAX_ROWS events, it is
  rebuilt partitioned right here (contacts.services.event_partitions). A larger table is
  left as it is, without its unique messageId index (the new table does that work), and
  `manage.py events_partition_convert` converts it online (docs/operations.md): the
  application works with either shape.
- contacts_eventretention: a workspace's own raw-event retention.
"""

import django.contrib.postgres.indexes
import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

INLINE_MAX_ROWS = 200_000


def partition_events(apps, schema_editor):
    from contacts.services.event_partitions import event_table_convert_inline

    cursor = schema_editor.connection.cursor()
    cursor.execute(
        "SELECT count(*) FROM (SELECT 1 FROM contacts_event LIMIT %s) AS s", [INLINE_MAX_ROWS + 1]
    )
    small = cursor.fetchone()[0] <= INLINE_MAX_ROWS
    cursor.execute(
        "INSERT INTO contacts_eventmessage (workspace_id, message_id, event_id, received_at) "
        "SELECT workspace_id, message_id, id, received_at FROM contacts_event "
        + ("" if small else "WHERE \"timestamp\" >= now() - make_interval(days => %s) ")
        + "ON CONFLICT DO NOTHING",
        [] if small else [settings.EVENTS_DEDUPE_DAYS + 1],
    )
    if small:
        event_table_convert_inline()
        return
    cursor.execute("ALTER TABLE contacts_event DROP CONSTRAINT IF EXISTS event_unique_message_id")
    print(
        "\n  contacts_event holds more than %d events: left unpartitioned. Convert it online with"
        " `manage.py events_partition_convert` (docs/operations.md)." % INLINE_MAX_ROWS
    )


class Migration(migrations.Migration):

    dependencies = [
        ("contacts", "0009_data_issues"),
        ("workspaces", "0006_api_key_can_manage_workspace"),
    ]

    operations = [
        migrations.CreateModel(
            name="EventMessage",
            fields=[
                (
                    "pk",
                    models.CompositePrimaryKey(
                        "workspace_id",
                        "message_id",
                        blank=True,
                        editable=False,
                        primary_key=True,
                        serialize=False,
                    ),
                ),
                (
                    "workspace",
                    models.ForeignKey(
                        db_constraint=False,
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="workspaces.workspace",
                    ),
                ),
                ("message_id", models.CharField(max_length=200)),
                ("event_id", models.BigIntegerField()),
                ("received_at", models.DateTimeField()),
            ],
            options={
                "indexes": [
                    django.contrib.postgres.indexes.BrinIndex(
                        fields=["received_at"], name="eventmessage_received_brin"
                    )
                ],
            },
        ),
        migrations.CreateModel(
            name="EventRetention",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "created_at",
                    models.DateTimeField(default=django.utils.timezone.now, editable=False),
                ),
                ("updated_at", models.DateTimeField(auto_now=True)),
                ("months", models.PositiveSmallIntegerField(blank=True, null=True)),
                (
                    "workspace",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="workspaces.workspace",
                    ),
                ),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(
                        fields=("workspace",), name="eventretention_one_per_workspace"
                    )
                ],
            },
        ),
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveConstraint(model_name="event", name="event_unique_message_id"),
            ],
            database_operations=[
                migrations.RunPython(partition_events, elidable=False),
            ],
        ),
    ]
