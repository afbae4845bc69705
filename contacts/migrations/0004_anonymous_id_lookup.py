"""contacts_contactanonymousid: the anonymous-id lookup, kept by a trigger on contacts_contact.

The trigger mirrors each contact's anonymous_ids into one row per id: on INSERT it adds
them; on UPDATE of the array it drops the ids the contact no longer holds and adds (or takes
over from another contact, as a merge or a re-assignment does) the ones it holds now.
Deletes cascade through the foreign key. The existing arrays are copied in once.
"""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('contacts', '0003_anon_gin_without_pending_list'),
        ('workspaces', '0001_initial'),
    ]

    operations = [
        migrations.CreateModel(
            name='ContactAnonymousId',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('anonymous_id', models.CharField(max_length=255)),
            ],
        ),
        migrations.RemoveIndex(
            model_name='contact',
            name='contact_anon_gin',
        ),
        migrations.AddField(
            model_name='contactanonymousid',
            name='contact',
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='contacts.contact'),
        ),
        migrations.AddField(
            model_name='contactanonymousid',
            name='workspace',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='workspaces.workspace'),
        ),
        migrations.AddConstraint(
            model_name='contactanonymousid',
            constraint=models.UniqueConstraint(fields=('workspace', 'anonymous_id'), name='contact_anonymous_id_unique'),
        ),
        migrations.RunSQL(
            sql=[
                """
CREATE FUNCTION contacts_anonymous_id_sync() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        DELETE FROM contacts_contactanonymousid
         WHERE contact_id = OLD.id AND NOT (anonymous_id = ANY (NEW.anonymous_ids));
    END IF;
    INSERT INTO contacts_contactanonymousid (workspace_id, anonymous_id, contact_id)
    SELECT DISTINCT NEW.workspace_id, a, NEW.id FROM unnest(NEW.anonymous_ids) AS a
    ON CONFLICT (workspace_id, anonymous_id) DO UPDATE SET contact_id = EXCLUDED.contact_id
     WHERE contacts_contactanonymousid.contact_id <> EXCLUDED.contact_id;
    RETURN NULL;
END $$
""",
                """
CREATE TRIGGER contact_anonymous_ids_inserted AFTER INSERT ON contacts_contact
FOR EACH ROW WHEN (cardinality(NEW.anonymous_ids) > 0)
EXECUTE FUNCTION contacts_anonymous_id_sync()
""",
                """
CREATE TRIGGER contact_anonymous_ids_updated AFTER UPDATE OF anonymous_ids ON contacts_contact
FOR EACH ROW WHEN (OLD.anonymous_ids IS DISTINCT FROM NEW.anonymous_ids)
EXECUTE FUNCTION contacts_anonymous_id_sync()
""",
                """
INSERT INTO contacts_contactanonymousid (workspace_id, anonymous_id, contact_id)
SELECT DISTINCT ON (c.workspace_id, a) c.workspace_id, a, c.id
  FROM contacts_contact AS c, unnest(c.anonymous_ids) AS a
 ORDER BY c.workspace_id, a, c.id DESC
""",
            ],
            reverse_sql=[
                "DROP TRIGGER contact_anonymous_ids_updated ON contacts_contact",
                "DROP TRIGGER contact_anonymous_ids_inserted ON contacts_contact",
                "DROP FUNCTION contacts_anonymous_id_sync()",
            ],
        ),
    ]
