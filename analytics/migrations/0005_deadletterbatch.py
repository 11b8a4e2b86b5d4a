# Generated for issue #15 (one bad analytics batch never blocks the others).

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("analytics", "0004_scoring"),
    ]

    operations = [
        migrations.CreateModel(
            name="DeadLetterBatch",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("created_at", models.DateTimeField(auto_now_add=True, db_index=True)),
                (
                    "source",
                    models.CharField(
                        choices=[("stream", "Redis stream"), ("direct", "Direct storage")], max_length=10
                    ),
                ),
                (
                    "entry_id",
                    models.CharField(blank=True, help_text="The Redis stream entry id.", max_length=40),
                ),
                ("payload", models.TextField()),
                ("reason", models.TextField()),
                ("attempts", models.PositiveIntegerField(default=1)),
                ("replayed_at", models.DateTimeField(blank=True, null=True)),
            ],
            options={"verbose_name": "dead-lettered event batch"},
        ),
    ]
