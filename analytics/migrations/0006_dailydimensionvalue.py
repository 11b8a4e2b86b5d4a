# Issue #15: bounded dimensions (unknown paths and UTM values per day).

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("analytics", "0005_deadletterbatch"),
    ]

    operations = [
        migrations.CreateModel(
            name="DailyDimensionValue",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("day", models.DateField()),
                ("dimension", models.CharField(max_length=20)),
                ("value", models.CharField(max_length=200)),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(
                        fields=("day", "dimension", "value"), name="analytics_dimvalue_unique"
                    )
                ],
            },
        ),
    ]
