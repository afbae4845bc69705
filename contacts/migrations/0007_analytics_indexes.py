"""Indexes for analytics: a block-range index on the events' timestamp (hourly rollups)
and (workspace, created_at) on contacts (new contacts per day).

Built CONCURRENTLY: both tables are large and written all the time.
"""

import django.contrib.postgres.indexes
from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("contacts", "0006_event_references_without_constraints"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="event",
            index=django.contrib.postgres.indexes.BrinIndex(
                autosummarize=True,
                fields=["timestamp"],
                name="event_ts_brin",
                pages_per_range=32,
            ),
        ),
        AddIndexConcurrently(
            model_name="contact",
            index=models.Index(fields=["workspace", "created_at"], name="contact_ws_created"),
        ),
    ]
