from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('messaging', '0007_deliverability_machine_opens'),
    ]

    operations = [
        migrations.AddField(
            model_name='broadcast',
            name='ab_mode',
            field=models.CharField(choices=[('fixed', 'Test, then the winner'), ('smart', 'Smart waves')], default='fixed', max_length=8),
        ),
        migrations.AddField(
            model_name='broadcast',
            name='ab_waves',
            field=models.PositiveSmallIntegerField(default=4),
        ),
        migrations.AddField(
            model_name='broadcast',
            name='ab_floor_percent',
            field=models.PositiveSmallIntegerField(default=10),
        ),
        migrations.AddField(
            model_name='broadcast',
            name='ab_allocations',
            field=models.JSONField(blank=True, default=list),
        ),
    ]
