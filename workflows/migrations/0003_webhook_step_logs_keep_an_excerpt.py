"""Webhook step logs written before the outbound client kept up to 2,000 characters of the
receiver's answer (which let an internal service's response be read back through the run
API). Keep only what is kept now: the first 200 characters, as `excerpt`."""

from django.db import migrations

SCRUB = """
UPDATE workflows_steplog
SET detail = jsonb_set(
    detail #- '{response,body}',
    '{response,excerpt}',
    to_jsonb(left(regexp_replace(detail->'response'->>'body', '[[:cntrl:]]+', ' ', 'g'), 200))
)
WHERE node_type = 'action.webhook' AND detail->'response' ? 'body'
"""


class Migration(migrations.Migration):
    dependencies = [("workflows", "0002_contact_indexes")]

    operations = [migrations.RunSQL(SCRUB, migrations.RunSQL.noop, elidable=True)]
