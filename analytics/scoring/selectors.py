"""Reads of customer scoring used by the admin panel, the staff page and the API."""

from __future__ import annotations

from django.db.models import F, QuerySet

from .models import CustomerScore, ModelKind, ScoringModel, Segment

#: ``ordering`` values the list page and the API accept (a leading "-" sorts descending).
ORDERINGS: dict[str, str] = {
    "value_at_risk": "value_at_risk",
    "churn": "churn_probability",
    "clv": "clv_12m",
    "next_repair": "next_repair_probability",
    "engagement": "engagement",
    "conversion": "conversion",
    "loyalty": "loyalty",
    "value": "value",
    "scored_at": "scored_at",
}
DEFAULT_ORDERING = "-value_at_risk"


class BadQuery(ValueError):
    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


def current_models() -> dict[str, ScoringModel]:
    """The newest model of each kind (without the blob)."""
    found: dict[str, ScoringModel] = {}
    for model in ScoringModel.objects.defer("blob").order_by("kind", "-version"):
        found.setdefault(model.kind, model)
    return {kind: found[kind] for kind in ModelKind.values if kind in found}


def model_history(limit: int = 40) -> QuerySet[ScoringModel]:
    return ScoringModel.objects.defer("blob").order_by("-trained_at", "kind")[:limit]


#: Largest primary key a database column can hold; bigger ids from a URL can match nothing.
MAX_ID = 2**63 - 1


def score_of(customer_id: int) -> CustomerScore | None:
    if not 0 < customer_id <= MAX_ID:
        return None
    return CustomerScore.objects.select_related("customer").filter(customer_id=customer_id).first()


def parse_ordering(value: str | None) -> list:
    value = (value or DEFAULT_ORDERING).strip()
    key = value.lstrip("-")
    if key not in ORDERINGS:
        allowed = ", ".join(sorted(ORDERINGS))
        raise BadQuery(
            "ordering", f"Unknown ordering {value!r}; use one of {allowed} (prefix - for descending)."
        )
    column = F(ORDERINGS[key])
    return [column.desc() if value.startswith("-") else column.asc(), "customer_id"]


def parse_segment(value: str | None) -> str | None:
    if not value:
        return None
    if value not in Segment.values:
        raise BadQuery("segment", f"Unknown segment {value!r}; use one of {', '.join(Segment.values)}.")
    return value


def scores(segment: str | None = None, ordering: str | None = None) -> QuerySet[CustomerScore]:
    """Scores with their customer, filtered by segment and sorted (raises BadQuery on bad values)."""
    rows = CustomerScore.objects.select_related("customer")
    segment = parse_segment(segment)
    if segment:
        rows = rows.filter(segment=segment)
    return rows.order_by(*parse_ordering(ordering))


def segment_counts() -> dict[str, int]:
    from django.db.models import Count

    counts = dict(
        CustomerScore.objects.values_list("segment").annotate(n=Count("pk")).values_list("segment", "n")
    )
    return {segment: counts.get(segment, 0) for segment in Segment.values}
