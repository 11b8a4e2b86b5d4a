"""Trained scoring models (with their holdout metrics) and the current score of each customer.

Named in ``analytics/models.py`` so the rows belong to the analytics app.
"""

from __future__ import annotations

from django.db import models

from repairs.models import Customer


class ModelKind(models.TextChoices):
    CHURN = "churn", "Churn probability"
    CLV = "clv", "12-month customer value"
    NEXT_REPAIR = "next_repair", "Next repair within 90 days"
    DAYS_TO_REPAIR = "days_to_repair", "Days until the next repair"


class Segment(models.TextChoices):
    NEW = "new", "New"
    ACTIVE = "active", "Active"
    LOYAL = "loyal", "Loyal"
    AT_RISK = "at_risk", "At risk"
    LOST = "lost", "Lost"
    HIGH_VALUE = "high_value", "High value"


class ScoringModel(models.Model):
    """One trained model. Every training run adds rows (the history); the newest of a kind is used."""

    kind = models.CharField(max_length=20, choices=ModelKind.choices)
    version = models.PositiveIntegerField(help_text="1, 2, 3 … per kind.")
    algorithm = models.CharField(max_length=200)
    library = models.CharField(max_length=60, help_text="e.g. scikit-learn 1.9.1")
    trained_at = models.DateTimeField()
    #: Holdout design: trained on features at ``train_cutoff`` with labels from the window after it,
    #: evaluated on features at ``test_cutoff`` with labels from the window after that one.
    train_cutoff = models.DateTimeField()
    test_cutoff = models.DateTimeField()
    window_days = models.PositiveIntegerField()
    train_rows = models.PositiveIntegerField()
    test_rows = models.PositiveIntegerField()
    #: {"roc_auc": 0.83, "brier": 0.12, "base_rate": 0.4} or {"mae": 1234.5, "baseline_mae": ...}.
    metrics = models.JSONField(default=dict)
    features = models.JSONField(default=list)
    #: joblib dump of the estimator refitted on the latest complete window (used for scoring).
    blob = models.BinaryField(editable=False)

    class Meta:
        ordering = ["kind", "-version"]
        constraints = [models.UniqueConstraint(fields=["kind", "version"], name="analytics_scoringmodel_kv")]
        verbose_name = "scoring model"

    def __str__(self) -> str:
        return f"{self.get_kind_display()} v{self.version} ({self.trained_at:%Y-%m-%d})"


class CustomerScore(models.Model):
    """The current scores of one customer (replaced at each scoring run)."""

    customer = models.OneToOneField(Customer, on_delete=models.CASCADE, related_name="score")
    scored_at = models.DateTimeField()
    engagement = models.PositiveSmallIntegerField()
    conversion = models.PositiveSmallIntegerField()
    loyalty = models.PositiveSmallIntegerField()
    value = models.PositiveSmallIntegerField()
    #: {"engagement": [{"input", "value", "points", "max_points", "reason"}, …], "conversion": …}
    explanations = models.JSONField(default=dict)
    segment = models.CharField(max_length=12, choices=Segment.choices)
    segment_reason = models.CharField(max_length=200, blank=True)
    churn_probability = models.FloatField()
    clv_12m = models.IntegerField(help_text="Expected value of the next 12 months, minor units.")
    currency = models.CharField(max_length=3)
    next_repair_probability = models.FloatField(help_text="Probability of a repair within 90 days.")
    expected_days_to_next_repair = models.PositiveIntegerField()
    #: churn probability × 12-month value: the "who to call first" order of the at-risk list.
    value_at_risk = models.IntegerField(default=0)
    actions = models.JSONField(default=list)
    features = models.JSONField(default=dict)
    #: {"churn": 3, "clv": 3, …}: versions of the models used.
    model_versions = models.JSONField(default=dict)

    class Meta:
        ordering = ["-value_at_risk", "customer_id"]
        indexes = [
            models.Index(fields=["segment", "value_at_risk"], name="analytics_score_segment"),
            models.Index(fields=["value_at_risk"], name="analytics_score_var"),
            models.Index(fields=["churn_probability"], name="analytics_score_churn"),
        ]
        verbose_name = "customer score"

    def __str__(self) -> str:
        return f"Scores of customer {self.customer_id} ({self.segment})"
