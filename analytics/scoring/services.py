"""Customer scoring: every write (training, scoring, GDPR) goes through here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from threadpoolctl import threadpool_limits

from . import selectors, training
from .features import FEATURES, compute_features
from .models import CustomerScore, ModelKind, ScoringModel
from .rules import Prediction, scorecard, value_at_stake


class NoModels(Exception):
    pass


@dataclass
class ScoringRun:
    scored: int
    removed: int
    scored_at: datetime
    model_versions: dict[str, int]


def train_models(now: datetime | None = None) -> list:
    """Train and persist the four models (raises training.NotEnoughData when the history is too short)."""
    return training.train_models(now=now)


def score_customers(now: datetime | None = None, customer_ids: list[int] | None = None) -> ScoringRun:
    """Score every customer (or the given ones) as of ``now`` with the newest models; one current
    ``CustomerScore`` row per customer is replaced. Raises NoModels before any training."""
    now = now or timezone.now()
    current = selectors.current_models()
    missing = [kind for kind in ModelKind.values if kind not in current]
    if missing:
        raise NoModels(
            f"No trained model yet for: {', '.join(missing)}. "
            "Train first (manage.py score_customers --train)."
        )
    estimators = {
        kind: training.load(ScoringModel.objects.get(pk=model.pk)) for kind, model in current.items()
    }
    versions = {kind: model.version for kind, model in current.items()}
    features = compute_features(now, customer_ids)
    X = features.X
    if len(X):
        with threadpool_limits(1):
            churn = estimators[ModelKind.CHURN].predict_proba(X)[:, 1]
            repair = estimators[ModelKind.NEXT_REPAIR].predict_proba(X)[:, 1]
            clv = np.clip(estimators[ModelKind.CLV].predict(X), 0, None)
            days = np.clip(estimators[ModelKind.DAYS_TO_REPAIR].predict(X), 1, None)
    currency = settings.SHOP_CURRENCY
    rows = []
    for i, customer_id in enumerate(features.customer_ids.tolist()):
        f = {name: float(value) for name, value in zip(FEATURES, X[i], strict=True)}
        p = Prediction(
            churn=float(churn[i]),
            clv_12m=float(clv[i]),
            next_repair_90d=float(repair[i]),
            days_to_repair=float(days[i]),
        )
        card = scorecard(f, p, currency)
        rows.append(
            CustomerScore(
                customer_id=customer_id,
                scored_at=now,
                engagement=card.scores["engagement"],
                conversion=card.scores["conversion"],
                loyalty=card.scores["loyalty"],
                value=card.scores["value"],
                explanations=card.explanations,
                segment=card.segment,
                segment_reason=card.segment_reason[:200],
                churn_probability=round(p.churn, 4),
                clv_12m=int(round(p.clv_12m)),
                currency=currency,
                next_repair_probability=round(p.next_repair_90d, 4),
                expected_days_to_next_repair=int(round(p.days_to_repair)),
                value_at_risk=int(round(value_at_stake(f, p))),
                actions=card.actions,
                features={name: round(value, 3) for name, value in f.items()},
                model_versions=versions,
            )
        )
    with transaction.atomic():
        if customer_ids is None:
            # A full run replaces every row: customers no longer scorable (erased) lose theirs.
            removed = CustomerScore.objects.exclude(customer_id__in=features_population(now)).count()
            CustomerScore.objects.all().delete()
        else:
            removed = 0
            CustomerScore.objects.filter(customer_id__in=features.customer_ids.tolist()).delete()
        CustomerScore.objects.bulk_create(rows, batch_size=1000)
    return ScoringRun(scored=len(rows), removed=removed, scored_at=now, model_versions=versions)


def features_population(now: datetime):
    from repairs import selectors as repair_selectors

    return repair_selectors.scoring_customers().filter(created_at__lt=now).values("pk")


def train_and_score(now: datetime | None = None) -> ScoringRun:
    train_models(now)
    return score_customers(now)


# --- GDPR (registered in revivatech.privacy by analytics.apps) -------------------------------------------


def export_scoring_data(customer) -> dict:
    score = CustomerScore.objects.filter(customer=customer).first()
    if score is None:
        return {}
    return {
        "scored_at": score.scored_at.isoformat(),
        "scores": {
            "engagement": score.engagement,
            "conversion": score.conversion,
            "loyalty": score.loyalty,
            "value": score.value,
        },
        "segment": score.segment,
        "churn_probability": score.churn_probability,
        "clv_12m": score.clv_12m,
        "currency": score.currency,
        "next_repair_probability": score.next_repair_probability,
        "expected_days_to_next_repair": score.expected_days_to_next_repair,
        "actions": score.actions,
        "explanations": score.explanations,
    }


def erase_scoring_data(customer) -> dict[str, int]:
    deleted, _ = CustomerScore.objects.filter(customer=customer).delete()
    return {"scores": deleted}
