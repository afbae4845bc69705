from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('workspaces', '0006_api_key_can_manage_workspace'),
    ]

    operations = [
        migrations.AddField(
            model_name='workspace',
            name='control_group_percent',
            field=models.PositiveSmallIntegerField(default=0),
        ),
    ]
