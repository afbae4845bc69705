"""Indexes on contact_id alone for runs and step logs.

Deleting a contact (the last step of a profile merge, an erasure) makes PostgreSQL check
every table with a foreign key to it for referencing rows, by contact_id alone; these two
tables had only indexes leading with the workspace, so each deletion scanned them whole.
Built CONCURRENTLY: the tables are large and written all the time.
"""

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("workflows", "0001_initial"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="steplog",
            index=models.Index(fields=["contact"], name="steplog_contact"),
        ),
        AddIndexConcurrently(
            model_name="workflowrun",
            index=models.Index(fields=["contact"], name="wfrun_contact"),
        ),
    ]
