"""contact_anon_gin without GIN's pending list (fastupdate): an ALTER, not a rebuild."""

from django.contrib.postgres.indexes import GinIndex
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("contacts", "0002_forms_and_imports")]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunSQL(
                    "ALTER INDEX contact_anon_gin SET (fastupdate = off)",
                    reverse_sql="ALTER INDEX contact_anon_gin RESET (fastupdate)",
                )
            ],
            state_operations=[
                migrations.RemoveIndex(model_name="contact", name="contact_anon_gin"),
                migrations.AddIndex(
                    model_name="contact",
                    index=GinIndex(
                        fields=["anonymous_ids"], name="contact_anon_gin", fastupdate=False
                    ),
                ),
            ],
        )
    ]
