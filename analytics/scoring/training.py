"""Training and holdout evaluation of the four scoring models (scikit-learn).

Holdout in time, with a window of ``h = SCORING_WINDOW_DAYS`` days (default 180) ending at ``now``:

* train: features at ``now − 2h``, labels from ``(now − 2h, now − h]``;
* test: features at ``now − h``, labels from ``(now − h, now]`` → the metrics stored and shown;
* then each model is refitted on the test cut-off (the most recent complete window) and that fit is
  persisted and used to score customers as of ``now``.

Only customers with at least one repair before a cut-off are in its training/test rows.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime, timedelta

import joblib
import numpy as np
import sklearn
from django.conf import settings
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.metrics import brier_score_loss, mean_absolute_error, roc_auc_score
from threadpoolctl import threadpool_limits

from .features import FEATURES, FeatureMatrix, Labels, compute_features, compute_labels
from .models import ModelKind, ScoringModel


class NotEnoughData(Exception):
    pass


def _classifier(seed: int) -> CalibratedClassifierCV:
    """Gradient-boosted trees (fast, no scaling, handles the skewed counts), calibrated with a sigmoid
    on 3 folds so the probabilities mean what they say."""
    base = HistGradientBoostingClassifier(
        max_iter=150,
        learning_rate=0.06,
        max_leaf_nodes=15,
        min_samples_leaf=20,
        l2_regularization=1.0,
        random_state=seed,
    )
    return CalibratedClassifierCV(base, method="sigmoid", cv=3)


def _regressor(loss: str, seed: int) -> HistGradientBoostingRegressor:
    return HistGradientBoostingRegressor(
        loss=loss,
        max_iter=150,
        learning_rate=0.06,
        max_leaf_nodes=15,
        min_samples_leaf=20,
        l2_regularization=1.0,
        random_state=seed,
    )


@dataclass
class _Spec:
    kind: str
    algorithm: str
    make: object  # () -> estimator
    target: object  # (Labels, window_days) -> np.ndarray
    classifier: bool


def _specs(seed: int) -> list[_Spec]:
    return [
        _Spec(
            ModelKind.CHURN,
            "HistGradientBoostingClassifier + CalibratedClassifierCV(sigmoid)",
            lambda: _classifier(seed),
            lambda labels, h: labels.churned.astype(int),
            True,
        ),
        _Spec(
            ModelKind.NEXT_REPAIR,
            "HistGradientBoostingClassifier + CalibratedClassifierCV(sigmoid)",
            lambda: _classifier(seed),
            lambda labels, h: labels.repair_90d.astype(int),
            True,
        ),
        _Spec(
            ModelKind.CLV,
            "HistGradientBoostingRegressor(loss=poisson), target scaled to 12 months",
            lambda: _regressor("poisson", seed),
            lambda labels, h: labels.value * (365.0 / h),
            False,
        ),
        _Spec(
            ModelKind.DAYS_TO_REPAIR,
            "HistGradientBoostingRegressor(loss=absolute_error), days censored at the window",
            lambda: HistGradientBoostingRegressor(
                loss="absolute_error",
                max_iter=100,
                learning_rate=0.05,
                max_leaf_nodes=7,
                min_samples_leaf=30,
                random_state=seed,
            ),
            lambda labels, h: labels.days_to_repair,
            False,
        ),
    ]


def _dump(estimator) -> bytes:
    buffer = io.BytesIO()
    joblib.dump(estimator, buffer, compress=3)
    return buffer.getvalue()


def load(model: ScoringModel):
    return joblib.load(io.BytesIO(bytes(model.blob)))


def _baseline(kind: str, test: FeatureMatrix, y_test: np.ndarray, y_train: np.ndarray, h: int) -> float:
    """A naive forecast to compare with: last 12 months' spend for CLV, the training median for days."""
    if kind == ModelKind.CLV:
        return float(mean_absolute_error(y_test, test.X[:, FEATURES.index("monetary_12m")]))
    return float(mean_absolute_error(y_test, np.full_like(y_test, np.median(y_train))))


def _metrics(spec: _Spec, estimator, test: FeatureMatrix, y_test, y_train, h: int) -> dict:
    if spec.classifier:
        if len(set(y_test.tolist())) < 2:
            raise NotEnoughData(f"{spec.kind}: the test window has a single class.")
        p = estimator.predict_proba(test.X)[:, 1]
        return {
            "roc_auc": round(float(roc_auc_score(y_test, p)), 4),
            "brier": round(float(brier_score_loss(y_test, p)), 4),
            "base_rate": round(float(np.mean(y_test)), 4),
        }
    predicted = estimator.predict(test.X)
    return {
        "mae": round(float(mean_absolute_error(y_test, predicted)), 2),
        "baseline_mae": round(_baseline(spec.kind, test, y_test, y_train, h), 2),
        "mean_target": round(float(np.mean(y_test)), 2),
    }


def _with_history(features: FeatureMatrix, labels: Labels | None = None):
    mask = features.has_history
    sub = FeatureMatrix(
        features.as_of, features.customer_ids[mask], features.X[mask], features.has_history[mask]
    )
    if labels is None:
        return sub, None
    return sub, Labels(
        churned=labels.churned[mask],
        value=labels.value[mask],
        repair_90d=labels.repair_90d[mask],
        days_to_repair=labels.days_to_repair[mask],
    )


def train_models(now: datetime | None = None, window_days: int | None = None) -> list[ScoringModel]:
    """Train, evaluate on the time holdout and persist the four models; returns the new rows."""
    now = now or timezone.now()
    h = window_days or settings.SCORING_WINDOW_DAYS
    seed = settings.SCORING_RANDOM_SEED
    train_cutoff, test_cutoff = now - timedelta(days=2 * h), now - timedelta(days=h)
    train_x, train_y = _with_history(*_pair(train_cutoff, h))
    test_x, test_y = _with_history(*_pair(test_cutoff, h))
    minimum = settings.SCORING_MIN_TRAINING_CUSTOMERS
    if len(train_x.customer_ids) < minimum or len(test_x.customer_ids) < minimum:
        raise NotEnoughData(
            f"Need at least {minimum} customers with a repair before each cut-off "
            f"({train_cutoff:%Y-%m-%d}: {len(train_x.customer_ids)}, {test_cutoff:%Y-%m-%d}: "
            f"{len(test_x.customer_ids)}). Run `manage.py simulate_shop` for demo data."
        )
    # One thread: on small tables OpenMP threads cost more than they save (and fight other processes).
    with threadpool_limits(1):
        results = _fit_all(seed, h, train_x, train_y, test_x, test_y)
    trained_at = timezone.now()
    rows = []
    with transaction.atomic():
        for spec, metrics, final in results:
            latest = ScoringModel.objects.filter(kind=spec.kind).aggregate(v=Max("version"))["v"] or 0
            rows.append(
                ScoringModel.objects.create(
                    kind=spec.kind,
                    version=latest + 1,
                    algorithm=spec.algorithm,
                    library=f"scikit-learn {sklearn.__version__}",
                    trained_at=trained_at,
                    train_cutoff=train_cutoff,
                    test_cutoff=test_cutoff,
                    window_days=h,
                    train_rows=len(train_x.customer_ids),
                    test_rows=len(test_x.customer_ids),
                    metrics=metrics,
                    features=list(FEATURES),
                    blob=_dump(final),
                )
            )
    return rows


def _fit_all(seed: int, h: int, train_x, train_y, test_x, test_y) -> list:
    results = []
    for spec in _specs(seed):
        y_train, y_test = spec.target(train_y, h), spec.target(test_y, h)
        if spec.classifier and (len(set(y_train.tolist())) < 2 or len(set(y_test.tolist())) < 2):
            raise NotEnoughData(f"{spec.kind}: a window has a single class; more history is needed.")
        estimator = spec.make().fit(train_x.X, y_train)
        metrics = _metrics(spec, estimator, test_x, y_test, y_train, h)
        final = spec.make().fit(test_x.X, y_test)  # the latest complete window, for scoring now
        results.append((spec, metrics, final))
    return results


def _pair(cutoff: datetime, h: int) -> tuple[FeatureMatrix, Labels]:
    features = compute_features(cutoff)
    return features, compute_labels(features, h)
