"""Training and time-holdout evaluation of the ready-by model (scikit-learn), following the pattern of
``analytics/scoring/training.py`` (joblib blob + metrics stored with each version).

Model: three ``HistGradientBoostingRegressor(loss="quantile")`` (10th, 50th, 90th percentile) of the
shop hours still needed, on log1p hours, with the 80% interval *conformalised* (CQR: widened or
narrowed by the calibration part's conformity scores) so its coverage holds on new repairs.

Holdout in time: finished repairs checked in before ``now − READY_BY_SETTLE_DAYS`` are ordered by
check-in; the last READY_BY_HOLDOUT_PERCENT are the test set (metrics), the rest train (its last
READY_BY_CALIBRATION_PERCENT calibrate the interval). The persisted model is then refitted the same
way on all of them. Headline metrics are at check-in (what the customer is told first), in working
hours, against the median by device kind (the fallback's own method).
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
from sklearn.ensemble import HistGradientBoostingRegressor
from threadpoolctl import threadpool_limits

from .calendar import WorkingCalendar, shop_calendar
from .features import CATEGORICAL, FEATURES, NUMERIC, TrainingRow, load_histories, training_rows
from .models import ReadyByModel

QUANTILES = (0.1, 0.5, 0.9)
ALPHA = 0.2  # an 80% interval
ALGORITHM = "HistGradientBoostingRegressor(loss=quantile, q=0.1/0.5/0.9) on log1p hours, conformalised (CQR)"
MAX_BRANDS = 30


class NotEnoughData(Exception):
    pass


# --- encoding ------------------------------------------------------------------------------------


def vocabularies(rows: list[TrainingRow]) -> dict[str, list[str]]:
    """Category values seen in training (brands: the most common ones); others share one code."""
    vocab: dict[str, list[str]] = {}
    for name in CATEGORICAL:
        counts: dict[str, int] = {}
        for row in rows:
            counts[row.features[name]] = counts.get(row.features[name], 0) + 1
        ordered = sorted(counts, key=lambda v: (-counts[v], v))
        vocab[name] = ordered[:MAX_BRANDS] if name == "brand" else ordered
    return vocab


def encode(features: list[dict], vocab: dict[str, list[str]]) -> np.ndarray:
    index = {name: {v: i for i, v in enumerate(values)} for name, values in vocab.items()}
    X = np.empty((len(features), len(FEATURES)), dtype=float)
    for r, row in enumerate(features):
        for c, name in enumerate(CATEGORICAL):
            X[r, c] = index[name].get(row[name], len(vocab[name]))  # unseen: its own code
        for c, name in enumerate(NUMERIC, start=len(CATEGORICAL)):
            X[r, c] = row[name]
    return X


def _regressor(quantile: float, seed: int) -> HistGradientBoostingRegressor:
    return HistGradientBoostingRegressor(
        loss="quantile",
        quantile=quantile,
        max_iter=250,
        learning_rate=0.06,
        max_leaf_nodes=15,
        min_samples_leaf=20,
        l2_regularization=1.0,
        categorical_features=list(range(len(CATEGORICAL))),
        random_state=seed,
    )


@dataclass
class Bundle:
    """What is persisted: the three regressors, the conformal correction and the vocabularies."""

    models: list
    correction: float  # added to the upper / subtracted from the lower log-quantile
    vocab: dict[str, list[str]]

    def predict(self, features: list[dict]) -> np.ndarray:
        """(n, 3) working hours still needed: 10th, 50th, 90th percentile (ordered, ≥ 0)."""
        X = encode(features, self.vocab)
        with threadpool_limits(1):
            lo, mid, hi = (m.predict(X) for m in self.models)
        lo, hi = lo - self.correction, hi + self.correction
        out = np.expm1(np.column_stack([lo, mid, hi]))
        out = np.clip(out, 0.0, None)
        out.sort(axis=1)
        return out


def fit_bundle(rows: list[TrainingRow], *, calibration_share: float, seed: int) -> Bundle:
    """Fit on the earlier repairs, calibrate the interval on the later ones (by check-in)."""
    tickets = sorted({(r.checked_in, r.ticket_id) for r in rows})
    cut = tickets[int(len(tickets) * (1 - calibration_share))][0] if calibration_share > 0 else None
    fit_rows = [r for r in rows if cut is None or r.checked_in < cut]
    cal_rows = [r for r in rows if cut is not None and r.checked_in >= cut]
    vocab = vocabularies(fit_rows)
    X = encode([r.features for r in fit_rows], vocab)
    y = np.log1p([r.target_hours for r in fit_rows])
    with threadpool_limits(1):
        models = [_regressor(q, seed).fit(X, y) for q in QUANTILES]
    correction = 0.0
    if cal_rows:
        Xc = encode([r.features for r in cal_rows], vocab)
        yc = np.log1p([r.target_hours for r in cal_rows])
        with threadpool_limits(1):
            lo, hi = models[0].predict(Xc), models[2].predict(Xc)
        scores = np.maximum(lo - yc, yc - hi)
        level = min(1.0, (1 - ALPHA) * (1 + 1 / len(scores)))
        correction = float(np.quantile(scores, level, method="higher"))
    return Bundle(models, correction, vocab)


# --- the fallback: medians by device kind ----------------------------------------------------------


def median_table(rows: list[TrainingRow], minimum: int = 5) -> dict[str, dict]:
    """Total shop hours (check-in to ready) per device kind (``"*"``: all kinds):
    ``{"laptop": {"p10", "p50", "p90", "n"}, …}``."""
    totals: dict[str, list[float]] = {}
    for row in rows:
        if row.at_check_in:
            totals.setdefault(row.features["kind"], []).append(row.total_hours)
            totals.setdefault("*", []).append(row.total_hours)
    return {
        kind: {
            "p10": round(float(np.quantile(values, 0.1)), 2),
            "p50": round(float(np.quantile(values, 0.5)), 2),
            "p90": round(float(np.quantile(values, 0.9)), 2),
            "n": len(values),
        }
        for kind, values in totals.items()
        if len(values) >= minimum
    }


# --- evaluation ------------------------------------------------------------------------------------


def evaluate(bundle: Bundle, train: list[TrainingRow], test: list[TrainingRow]) -> dict:
    """Holdout metrics (working hours): the model against the median by device kind."""
    medians = median_table(train, minimum=1)
    metrics: dict = {}
    for label, subset in (("", [r for r in test if r.at_check_in]), ("all_", test)):
        if not subset:
            continue
        predicted = bundle.predict([r.features for r in subset])
        y = np.array([r.target_hours for r in subset])
        baseline = np.array(
            [
                max(0.0, medians.get(r.features["kind"], medians["*"])["p50"] - r.features["elapsed_hours"])
                for r in subset
            ]
        )
        inside = (predicted[:, 0] <= y) & (y <= predicted[:, 2])
        metrics.update(
            {
                f"{label}rows": len(subset),
                f"{label}mae_hours": round(float(np.mean(np.abs(predicted[:, 1] - y))), 2),
                f"{label}baseline_mae_hours": round(float(np.mean(np.abs(baseline - y))), 2),
                f"{label}coverage": round(float(np.mean(inside)), 4),
                f"{label}median_width_hours": round(float(np.median(predicted[:, 2] - predicted[:, 0])), 2),
            }
        )
    at_check_in = [r for r in test if r.at_check_in]
    if at_check_in:
        y = np.array([r.total_hours for r in at_check_in])
        lo = np.array([medians.get(r.features["kind"], medians["*"])["p10"] for r in at_check_in])
        hi = np.array([medians.get(r.features["kind"], medians["*"])["p90"] for r in at_check_in])
        metrics["baseline_coverage"] = round(float(np.mean((lo <= y) & (y <= hi))), 4)
        metrics["mean_hours"] = round(float(np.mean(y)), 2)
    return metrics


# --- the run ---------------------------------------------------------------------------------------


@dataclass
class Split:
    train: list[TrainingRow]
    test: list[TrainingRow]
    test_from: datetime
    settled_before: datetime


def split(rows: list[TrainingRow], now: datetime) -> Split:
    settled_before = now - timedelta(days=settings.READY_BY_SETTLE_DAYS)
    settled = [r for r in rows if r.checked_in < settled_before]
    tickets = sorted({(r.checked_in, r.ticket_id) for r in settled})
    minimum = settings.READY_BY_MIN_TRAINING_TICKETS
    if len(tickets) < minimum:
        raise NotEnoughData(
            f"{len(tickets)} of the {minimum} finished repairs needed, "
            f"checked in before {settled_before:%Y-%m-%d}"
        )
    test_from = tickets[int(len(tickets) * (1 - settings.READY_BY_HOLDOUT_PERCENT / 100))][0]
    return Split(
        train=[r for r in settled if r.checked_in < test_from],
        test=[r for r in settled if r.checked_in >= test_from],
        test_from=test_from,
        settled_before=settled_before,
    )


def dataset(now: datetime, calendar: WorkingCalendar | None = None) -> list[TrainingRow]:
    return training_rows(load_histories(until=now), calendar or shop_calendar())


def _dump(bundle: Bundle) -> bytes:
    buffer = io.BytesIO()
    joblib.dump(bundle, buffer, compress=3)
    return buffer.getvalue()


def load(model: ReadyByModel) -> Bundle:
    return joblib.load(io.BytesIO(bytes(model.blob)))


def train_model(now: datetime | None = None) -> ReadyByModel:
    """Evaluate on the time holdout, refit on every settled repair, persist with the metrics."""
    now = now or timezone.now()
    rows = dataset(now)
    parts = split(rows, now)
    seed = settings.READY_BY_RANDOM_SEED
    share = settings.READY_BY_CALIBRATION_PERCENT / 100
    metrics = evaluate(fit_bundle(parts.train, calibration_share=share, seed=seed), parts.train, parts.test)
    everything = parts.train + parts.test
    final = fit_bundle(everything, calibration_share=share, seed=seed)
    metrics["conformal_correction_log"] = round(final.correction, 4)
    with transaction.atomic():
        latest = ReadyByModel.objects.aggregate(v=Max("version"))["v"] or 0
        return ReadyByModel.objects.create(
            version=latest + 1,
            algorithm=ALGORITHM,
            library=f"scikit-learn {sklearn.__version__}",
            trained_at=timezone.now(),
            test_from=parts.test_from,
            settled_before=parts.settled_before,
            train_rows=len(everything),
            train_tickets=len({r.ticket_id for r in parts.train}),
            test_tickets=len({r.ticket_id for r in parts.test}),
            metrics=metrics,
            features={"names": list(FEATURES), "vocab": final.vocab},
            medians=median_table(everything),
            blob=_dump(final),
        )
