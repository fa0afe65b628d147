"""Training and evaluating a project's success predictor, and when to retrain it.

The rows are the decided calls (completed true or false) before `at`, with their
point-in-time features (`analytics.predictor.features`). Sessions are ordered by their first
call and kept whole: the first 60 % of the rows (by whole sessions) fit the model, the next
20 % calibrate it, the last 20 % test it, so every test row comes after every training row's
session began, and no session is on two sides.

- Model: `HistGradientBoostingClassifier` (skill and phase as native categories, missing
  values for "no history"), sigmoid-calibrated (`CalibratedClassifierCV` on a
  `FrozenEstimator`) on the calibration slice.
- Baselines on the test slice: the constant rate of the fit and calibration rows, and each
  skill's smoothed rate (x + 1)/(n + 2) over the same rows.
- Metrics: ROC AUC with a 95 % session-bootstrap percentile CI, Brier, log loss, and a
  reliability table (`calibration_curve` bins, quantile strategy, with their counts).
- Activation: only if Brier < the constant baseline's Brier and the AUC CI's lower bound
  > 0.5 (analytics-anchors.md §5 and §8); otherwise `reason` says which failed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import sklearn
from django.conf import settings
from django.db import transaction
from sklearn.calibration import CalibratedClassifierCV, calibration_curve
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.frozen import FrozenEstimator
from sklearn.metrics import brier_score_loss, log_loss, roc_auc_score
from threadpoolctl import threadpool_limits

from analytics.models import ModelVersion
from analytics.predictor import store
from analytics.predictor.features import (
    CATEGORICAL,
    EPOCH,
    FEATURES,
    LABEL,
    MICROSECOND,
    Events,
    Rows,
    features,
    load_events,
)
from lib.budget import before_deadline
from tracking.models import Project, SkillInvocation

log = logging.getLogger(__name__)

MIN_ROWS = 1_000
MIN_CLASS = 50
FIT_SHARE, CALIBRATION_SHARE = 0.6, 0.2
BOOTSTRAP = 200
BINS = 10
MAX_SKILL_CODES = 250  # HistGradientBoosting takes at most 255 categories per feature
MAX_PHASE_CODES = 50
RETRAIN_EVERY = timedelta(hours=24)
RETRAIN_NEW_SHARE = 0.2
RETRAIN_MIN_NEW = 100
HYPERPARAMETERS = {"learning_rate": 0.1, "max_iter": 100, "max_leaf_nodes": 31, "random_state": 0}
# OpenMP threads for fitting: one. The worker shares its cores with the Daphne processes, and
# on the loaded 2-core test machine the default (one thread per core) made a 3,000-row fit
# ten times slower (30 s against 2.9 s, tests/analytics/test_predictor_training.py).
THREADS = 1
AUC_CI_METHOD = f"percentile bootstrap over test sessions, {BOOTSTRAP} resamples, seed 0"


@dataclass
class Evaluation:
    """Test-slice figures of the model and its baselines."""

    auc: float
    auc_ci_low: float
    auc_ci_high: float
    brier: float
    brier_baseline: float
    brier_per_skill: float
    auc_per_skill: float
    log_loss: float
    log_loss_baseline: float
    calibration_bins: list[dict] = field(default_factory=list)


def reliability(y: np.ndarray, p: np.ndarray, bins: int = BINS) -> list[dict]:
    """`calibration_curve(y, p, n_bins=bins, strategy="quantile")` with each bin's count and
    bounds: [{p_low, p_high, p_mean, observed, n}], empty bins left out as sklearn does."""
    prob_true, prob_pred = calibration_curve(y, p, n_bins=bins, strategy="quantile")
    edges = np.percentile(p, np.linspace(0, 100, bins + 1))
    ids = np.searchsorted(edges[1:-1], p)
    rows = []
    for b in range(bins):
        inside = ids == b
        if inside.any():
            rows.append(
                {
                    "p_low": float(edges[b]),
                    "p_high": float(edges[b + 1]),
                    "n": int(inside.sum()),
                }
            )
    for row, observed, predicted in zip(rows, prob_true, prob_pred, strict=True):
        row["p_mean"], row["observed"] = float(predicted), float(observed)
    return rows


def weighted_auc(y: np.ndarray, p: np.ndarray, weights: np.ndarray) -> float | None:
    """ROC AUC of `p` for `y` with integer row weights: the same as `roc_auc_score` on the
    rows repeated that many times (ties count one half). None without both classes."""
    return _Ranked(y, p).auc(weights)


class _Ranked:
    """Rows grouped by equal score, lowest first, for many AUCs with different weights."""

    def __init__(self, y: np.ndarray, p: np.ndarray):
        _, self.group = np.unique(p, return_inverse=True)
        self.y = y.astype(np.float64)
        self.groups = int(self.group.max()) + 1 if len(p) else 0

    def auc(self, weights: np.ndarray) -> float | None:
        pos = np.bincount(self.group, weights * self.y, minlength=self.groups)
        neg = np.bincount(self.group, weights * (1 - self.y), minlength=self.groups)
        total = pos.sum() * neg.sum()
        if total == 0:
            return None
        below = np.cumsum(neg) - neg
        return float((pos * (below + 0.5 * neg)).sum() / total)


def bootstrap_auc(
    y: np.ndarray, p: np.ndarray, groups: np.ndarray, resamples: int = BOOTSTRAP
) -> tuple[float, float]:
    """The 2.5 and 97.5 percentiles of the AUC over resamples of whole groups (sessions):
    a group drawn k times weighs its rows k times."""
    rng = np.random.default_rng(0)
    _, inverse = np.unique(groups, return_inverse=True)
    units = int(inverse.max()) + 1
    ranked = _Ranked(y, p)
    values = []
    for _ in range(resamples):
        drawn = np.bincount(rng.integers(0, units, units), minlength=units)
        value = ranked.auc(drawn[inverse].astype(np.float64))
        if value is not None:
            values.append(value)
    low, high = np.percentile(values, [2.5, 97.5])
    return float(low), float(high)


def evaluate(
    y: np.ndarray,
    p: np.ndarray,
    groups: np.ndarray,
    base_rate: float,
    per_skill: np.ndarray,
) -> Evaluation:
    """The model's probabilities `p` against the constant and per-skill baselines."""
    low, high = bootstrap_auc(y, p, groups)
    constant = np.full(len(y), base_rate)
    return Evaluation(
        auc=float(roc_auc_score(y, p)),
        auc_ci_low=low,
        auc_ci_high=high,
        brier=float(brier_score_loss(y, p)),
        brier_baseline=float(brier_score_loss(y, constant)),
        brier_per_skill=float(brier_score_loss(y, per_skill)),
        auc_per_skill=float(roc_auc_score(y, per_skill)),
        log_loss=float(log_loss(y, p, labels=[0, 1])),
        log_loss_baseline=float(log_loss(y, constant, labels=[0, 1])),
        calibration_bins=reliability(y, p),
    )


def activation_reason(evaluation: Evaluation) -> str:
    """'' when the model may be activated, else why not."""
    if evaluation.brier >= evaluation.brier_baseline:
        return (
            f"worse than the baseline: Brier {evaluation.brier:.4f} is not below the "
            f"constant-rate baseline's {evaluation.brier_baseline:.4f}"
        )
    if evaluation.auc_ci_low <= 0.5:
        return f"AUC CI not above 0.5: its lower bound is {evaluation.auc_ci_low:.4f}"
    return ""


def split(sessions: np.ndarray, times: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """0 (fit), 1 (calibrate) or 2 (test) per row, by whole sessions in order of their first
    row; a row outside any session is a session of its own."""
    units = np.where(sessions >= 0, sessions, -1 - ids)
    unique, inverse = np.unique(units, return_inverse=True)
    first = np.full(len(unique), np.iinfo(np.int64).max)
    np.minimum.at(first, inverse, times)
    order = np.lexsort((unique, first))
    sizes = np.bincount(inverse, minlength=len(unique))[order]
    ends = np.cumsum(sizes) / len(units)
    slice_of_unit = np.empty(len(unique), dtype=np.int64)
    slice_of_unit[order] = np.where(
        ends <= FIT_SHARE, 0, np.where(ends <= FIT_SHARE + CALIBRATION_SHARE, 1, 2)
    )
    return slice_of_unit[inverse]


def category_codes(values: np.ndarray, limit: int) -> dict[str, int]:
    """Codes 0… for the `limit` most frequent values (ties alphabetical)."""
    names, counts = np.unique(values.astype(str), return_counts=True)
    ranked = sorted(zip(names.tolist(), counts.tolist(), strict=True), key=lambda x: (-x[1], x[0]))
    return {name: i for i, (name, _) in enumerate(ranked[:limit])}


def _datetime(us: int) -> datetime:
    return EPOCH + int(us) * MICROSECOND


def train(project: Project, at: datetime, events: Events | None = None) -> ModelVersion:
    """Train, evaluate and store a version on the project's calls before `at`; activate it
    when it passes. The version is stored either way, with `reason` when it is not active."""
    events = events if events is not None else load_events(project, at)
    version = ModelVersion(
        project=project,
        created_at=datetime.now(UTC),
        data_until=at,
        features=list(FEATURES),
        label=LABEL,
        hyperparameters={**HYPERPARAMETERS, "calibration": "sigmoid", "shares": [0.6, 0.2, 0.2]},
        sklearn_version=sklearn.__version__,
        auc_ci_method=AUC_CI_METHOD,
    )
    decided = events.take(~np.isnan(events.outcomes))
    version.n_decided = len(decided)
    if len(decided) < MIN_ROWS:
        version.reason = f"too little data: {len(decided)} decided calls (needs {MIN_ROWS})"
        return store.save(version, None)
    y = decided.outcomes.astype(np.int64)
    part = split(decided.sessions, decided.times, decided.ids)
    version.n_train, version.n_calibration, version.n_test = (
        int((part == i).sum()) for i in range(3)
    )
    version.trained_from = _datetime(decided.times.min())
    version.trained_to = _datetime(decided.times[part < 2].max()) if (part < 2).any() else None
    for name, i in (("training", 0), ("calibration", 1), ("test", 2)):
        positives = int(y[part == i].sum())
        negatives = int((part == i).sum()) - positives
        if min(positives, negatives) < MIN_CLASS:
            version.reason = (
                f"too little data: the {name} slice has {positives} completed and {negatives} "
                f"failed calls (needs {MIN_CLASS} of each)"
            )
            return store.save(version, None)
    encoding = {
        "skill": category_codes(decided.skills[part == 0], MAX_SKILL_CODES),
        "phase": category_codes(decided.phases[part == 0], MAX_PHASE_CODES),
    }
    version.encoding = encoding
    x = features(events, Rows.of_events(decided), encoding, ZoneInfo(settings.CAIRN_DISPLAY_TZ))
    with threadpool_limits(limits=THREADS):
        return _fit(version, decided, part, y, x)


def _fit(
    version: ModelVersion, decided: Events, part: np.ndarray, y: np.ndarray, x: np.ndarray
) -> ModelVersion:
    model = HistGradientBoostingClassifier(
        categorical_features=[FEATURES.index(name) for name in CATEGORICAL], **HYPERPARAMETERS
    ).fit(x[part == 0], y[part == 0])
    calibrated = CalibratedClassifierCV(FrozenEstimator(model), method="sigmoid")
    calibrated.fit(x[part == 1], y[part == 1])
    test = part == 2
    p = calibrated.predict_proba(x[test])[:, 1]
    past = part < 2
    base_rate = float(y[past].mean())
    evaluation = evaluate(
        y[test],
        p,
        decided.sessions[test],
        base_rate,
        per_skill_rates(decided.skills[past], y[past], decided.skills[test], base_rate),
    )
    for name, value in evaluation.__dict__.items():
        setattr(version, name, value)
    version.reason = activation_reason(evaluation)
    return store.save(version, calibrated)


def per_skill_rates(
    skills: np.ndarray, y: np.ndarray, wanted: np.ndarray, fallback: float
) -> np.ndarray:
    """Each wanted skill's smoothed rate (x + 1)/(n + 2) in (skills, y); `fallback` for a
    skill that is not there."""
    names, inverse = np.unique(skills, return_inverse=True)
    ok = np.bincount(inverse, weights=y, minlength=len(names))
    n = np.bincount(inverse, minlength=len(names))
    rate = dict(zip(names.tolist(), ((ok + 1) / (n + 2)).tolist(), strict=True))
    return np.array([rate.get(s, fallback) for s in wanted], dtype=np.float64)


def due(project: Project, at: datetime) -> bool:
    """Whether the project's predictor should be retrained at `at`: never trained; or
    RETRAIN_EVERY since the last version with new decided calls since; or enough new calls
    (RETRAIN_NEW_SHARE of the last version's rows, at least RETRAIN_MIN_NEW)."""
    latest = ModelVersion.objects.filter(project=project).order_by("-data_until", "-pk").first()
    if latest is None:
        return True
    new = SkillInvocation.objects.filter(
        project=project,
        completed__isnull=False,
        invoked_at__gte=latest.data_until,
        invoked_at__lt=at,
    ).count()
    if new == 0:
        return False
    if at - latest.data_until >= RETRAIN_EVERY:
        return True
    return new >= max(RETRAIN_MIN_NEW, RETRAIN_NEW_SHARE * latest.n_decided)


def maybe_retrain(at: datetime | None = None, deadline: float | None = None) -> tuple[int, int]:
    """The worker's step: retrain every project that is `due`, until the `deadline`
    (`lib.budget`). Returns the versions trained and the due projects left for a later call;
    a project that fails is logged and the others still run."""
    at = at or datetime.now(UTC)
    waiting = []
    for project in Project.objects.order_by("pk"):
        try:
            if due(project, at):
                waiting.append(project)
        except Exception:
            log.exception("the predictor schedule of project %s at %s failed", project.slug, at)
    trained = taken = 0
    for project in before_deadline(waiting, deadline):
        taken += 1
        try:
            with transaction.atomic():
                train(project, at)
            trained += 1
        except Exception:
            log.exception("training the predictor of project %s at %s failed", project.slug, at)
    return trained, len(waiting) - taken
