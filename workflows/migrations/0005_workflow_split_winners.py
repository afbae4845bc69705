from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('workflows', '0004_workflow_holdout'),
    ]

    operations = [
        migrations.AddField(
            model_name='workflow',
            name='split_winners',
            field=models.JSONField(blank=True, default=dict),
        ),
    ]
