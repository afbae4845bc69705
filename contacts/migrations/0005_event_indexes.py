"""Events: the (workspace, name, timestamp) index carries contact_id (index-only counts);
no workspace-only index (every other index leads with the workspace)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("contacts", "0004_anonymous_id_lookup"),
        ("workspaces", "0001_initial"),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="event",
            name="event_ws_name_ts",
        ),
        migrations.AlterField(
            model_name="event",
            name="workspace",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="workspaces.workspace",
            ),
        ),
        migrations.AddIndex(
            model_name="event",
            index=models.Index(
                fields=["workspace", "name", "timestamp"],
                include=("contact",),
                name="event_ws_name_ts",
            ),
        ),
    ]
