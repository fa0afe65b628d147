"""Training the predictor: PR-1's metrics, noise never activates, a real signal does."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
from scipy import stats
from sklearn.calibration import calibration_curve
from sklearn.metrics import roc_auc_score

from analytics.models import ModelVersion
from analytics.predictor import store
from analytics.predictor.training import (
    MIN_ROWS,
    Evaluation,
    activation_reason,
    evaluate,
    maybe_retrain,
    reliability,
    split,
    train,
    weighted_auc,
)
from tests.analytics.predictor_data import SIGNAL, START, store_sessions
from tracking.models import Session

PR1_Y = np.array([1, 0, 1, 1, 0, 1, 0, 1])
PR1_P = np.array([0.9, 0.2, 0.7, 0.35, 0.4, 0.8, 0.3, 0.5])
NOISE = {skill: 0.7 for skill in SIGNAL}


def test_pr1_metrics_and_the_base_rate_baseline():
    e = evaluate(PR1_Y, PR1_P, np.arange(8), PR1_Y.mean(), np.full(8, 0.5))
    assert e.auc == pytest.approx(0.933333, abs=1e-6)
    assert e.brier == pytest.approx(0.137813, abs=1e-6)
    assert e.log_loss == pytest.approx(0.439849, abs=1e-6)
    assert e.brier_baseline == pytest.approx(0.234375, abs=1e-6)
    assert 1 - e.brier / e.brier_baseline == pytest.approx(0.412, abs=1e-3)
    # The AUC is the Mann–Whitney U over positives × negatives (scipy), a different route.
    u = stats.mannwhitneyu(PR1_P[PR1_Y == 1], PR1_P[PR1_Y == 0]).statistic
    assert e.auc == pytest.approx(u / (5 * 3))


def test_the_weighted_auc_is_sklearns_on_repeated_rows():
    rng = np.random.default_rng(11)
    y = (rng.random(300) < 0.6).astype(int)
    p = np.round(rng.random(300) * 0.5 + 0.3 * y, 2)  # rounded: many ties
    for _ in range(5):
        weights = rng.integers(0, 4, 300)
        repeated = roc_auc_score(np.repeat(y, weights), np.repeat(p, weights))
        assert weighted_auc(y, p, weights.astype(float)) == pytest.approx(repeated, rel=1e-12)
    assert weighted_auc(PR1_Y, PR1_P, np.ones(8)) == pytest.approx(0.933333, abs=1e-6)
    assert weighted_auc(np.ones(3), np.ones(3), np.ones(3)) is None


def test_the_reliability_table_is_sklearns_with_counts():
    rng = np.random.default_rng(3)
    p = rng.random(500)
    y = (rng.random(500) < p).astype(int)
    bins = reliability(y, p)
    observed, predicted = calibration_curve(y, p, n_bins=10, strategy="quantile")
    assert [b["observed"] for b in bins] == pytest.approx(observed.tolist())
    assert [b["p_mean"] for b in bins] == pytest.approx(predicted.tolist())
    assert sum(b["n"] for b in bins) == 500 and all(b["n"] == 50 for b in bins)


def test_activation_needs_a_better_brier_and_an_auc_ci_above_half():
    good = Evaluation(0.7, 0.55, 0.8, 0.18, 0.2, 0.19, 0.6, 0.5, 0.6)
    assert activation_reason(good) == ""
    worse = Evaluation(0.7, 0.55, 0.8, 0.2, 0.2, 0.19, 0.6, 0.5, 0.6)
    assert activation_reason(worse).startswith("worse than the baseline")
    unsure = Evaluation(0.6, 0.5, 0.7, 0.18, 0.2, 0.19, 0.6, 0.5, 0.6)
    assert activation_reason(unsure).startswith("AUC CI not above 0.5")


def test_the_split_keeps_whole_sessions_on_one_side_in_time_order():
    sessions = np.repeat(np.arange(10), 10)
    times = np.repeat(np.arange(10) * 100, 10) + np.tile(np.arange(10), 10)
    part = split(sessions, times, np.arange(100))
    assert part.tolist() == [0] * 60 + [1] * 20 + [2] * 20
    shuffled = np.random.default_rng(0).permutation(100)
    again = split(sessions[shuffled], times[shuffled], shuffled)
    assert again.tolist() == part[shuffled].tolist()


def test_too_little_data_is_the_reason_and_nothing_is_active(project):
    store_sessions(project, SIGNAL, sessions=20)
    version = train(project, START.replace(year=2027))
    assert not version.is_active and version.artifact is None
    assert version.reason == f"too little data: 200 decided calls (needs {MIN_ROWS})"
    assert store.status(project)["reason"] == version.reason


def figures(version: ModelVersion) -> tuple[float, float, float, float, float]:
    """AUC, its CI and the two Briers of an evaluated version (none may be missing)."""
    values = (
        version.auc,
        version.auc_ci_low,
        version.auc_ci_high,
        version.brier,
        version.brier_baseline,
    )
    assert all(v is not None for v in values)
    return values  # type: ignore[return-value]


def artefact(version: ModelVersion) -> bytes:
    assert version.artifact is not None
    return bytes(version.artifact)


def test_pure_noise_does_not_activate(project):
    end = store_sessions(project, NOISE, sessions=300, seed=2)
    version = train(project, end)
    assert version.n_decided == 3000
    assert not version.is_active
    assert version.reason.startswith(("worse than the baseline", "AUC CI not above 0.5"))
    _, low, _, brier, baseline = figures(version)
    assert low <= 0.5 or brier >= baseline
    assert store.status(project) == {
        "active": False,
        "reason": version.reason,
        "version": store.shown(version),
    }


def test_a_real_per_skill_signal_activates_and_predicts(project):
    end = store_sessions(project, SIGNAL, sessions=300, seed=4)
    version = train(project, end)
    assert version.reason == "" and version.is_active
    auc, low, high, brier, baseline = figures(version)
    assert auc > 0.6 and low > 0.5
    assert brier < baseline
    assert low < auc < high
    assert (version.n_train, version.n_calibration, version.n_test) == (1800, 600, 600)
    assert version.artifact_sha256 == hashlib.sha256(artefact(version)).hexdigest()
    assert version.sklearn_version and version.features[0] == "skill"
    assert sum(b["n"] for b in version.calibration_bins) == 600
    session = Session.objects.get(project=project, external_id="session-299")
    easy = store.predict_success(project, session, "Bash", end)
    hard = store.predict_success(project, session, "ruff", end)
    assert easy["version"] == version.pk
    assert 0.8 < easy["p_success"] <= 1 and 0 <= hard["p_success"] < 0.45


def test_a_changed_artefact_is_refused(project):
    end = store_sessions(project, SIGNAL, sessions=300, seed=4)
    version = train(project, end)
    data = bytearray(artefact(version))
    data[-1] ^= 1
    ModelVersion.objects.filter(pk=version.pk).update(artifact=bytes(data))
    store._loaded.cache_clear()
    with pytest.raises(store.ArtifactMismatch, match="sha256"):
        store.predict_success(project, None, "Bash", end)


def test_the_worker_retrains_when_due_and_not_otherwise(project):
    end = store_sessions(project, SIGNAL, sessions=300, seed=4)
    assert maybe_retrain(end) == (1, 0)
    assert maybe_retrain(end) == (0, 0)  # no new calls since
    assert ModelVersion.objects.filter(project=project).count() == 1
