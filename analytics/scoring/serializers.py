"""DRF serializers of customer scoring (staff API)."""

from __future__ import annotations

from rest_framework import serializers

from .models import CustomerScore, ScoringModel, Segment
from .selectors import DEFAULT_ORDERING, ORDERINGS

ORDERING_CHOICES = sorted([*ORDERINGS, *(f"-{key}" for key in ORDERINGS)])


class ExplanationItemSerializer(serializers.Serializer):
    input = serializers.CharField()
    value = serializers.FloatField()
    points = serializers.FloatField()
    max_points = serializers.IntegerField()
    reason = serializers.CharField()


class ExplanationsSerializer(serializers.Serializer):
    engagement = ExplanationItemSerializer(many=True)
    conversion = ExplanationItemSerializer(many=True)
    loyalty = ExplanationItemSerializer(many=True)
    value = ExplanationItemSerializer(many=True)


class ActionSerializer(serializers.Serializer):
    code = serializers.CharField()
    text = serializers.CharField()


class CustomerScoreSerializer(serializers.ModelSerializer):
    customer_id = serializers.IntegerField(read_only=True)
    customer_name = serializers.CharField(source="customer.name", read_only=True)
    explanations = ExplanationsSerializer(read_only=True)
    actions = ActionSerializer(many=True, read_only=True)
    features = serializers.DictField(child=serializers.FloatField(), read_only=True)
    model_versions = serializers.DictField(child=serializers.IntegerField(), read_only=True)

    class Meta:
        model = CustomerScore
        fields = [
            "customer_id",
            "customer_name",
            "scored_at",
            "segment",
            "segment_reason",
            "engagement",
            "conversion",
            "loyalty",
            "value",
            "churn_probability",
            "clv_12m",
            "currency",
            "next_repair_probability",
            "expected_days_to_next_repair",
            "value_at_risk",
            "actions",
            "explanations",
            "features",
            "model_versions",
        ]
        read_only_fields = fields


class CustomerScorePageSerializer(serializers.Serializer):
    """One page of scores (``page`` query parameter, 50 per page)."""

    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = CustomerScoreSerializer(many=True)


class ScoringModelSerializer(serializers.ModelSerializer):
    metrics = serializers.DictField(child=serializers.FloatField())
    features = serializers.ListField(child=serializers.CharField())

    class Meta:
        model = ScoringModel
        fields = [
            "kind",
            "version",
            "algorithm",
            "library",
            "trained_at",
            "train_cutoff",
            "test_cutoff",
            "window_days",
            "train_rows",
            "test_rows",
            "metrics",
            "features",
        ]
        read_only_fields = fields


class ScoringModelsResponseSerializer(serializers.Serializer):
    latest = ScoringModelSerializer(many=True)
    history = ScoringModelSerializer(many=True)


class ScoreListQuerySerializer(serializers.Serializer):
    segment = serializers.ChoiceField(choices=Segment.choices, required=False, help_text="Only this segment.")
    ordering = serializers.ChoiceField(
        choices=ORDERING_CHOICES,
        required=False,
        default=DEFAULT_ORDERING,
        help_text=(
            "Sort key; prefix - for descending. "
            "Default: -value_at_risk (churn × what the customer pays in a typical year)."
        ),
    )
    page = serializers.IntegerField(required=False, min_value=1)
