"""Stored predictor versions: saving, activating, loading and predicting.

The model is serialised with skops (`skops.io`), which rebuilds only the types it is told to
trust, unlike pickle or joblib, which run code on load. The bytes live in the `ModelVersion`
row with their sha256, so every process reads the same model from the database and a changed
artefact is refused. A loaded model is kept per process by version id: a version never
changes once stored, so that cache cannot go stale.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import UTC, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

import skops.io as sio
from django.conf import settings
from django.db import transaction
from threadpoolctl import ThreadpoolController

from analytics.models import ModelVersion
from analytics.predictor.features import row_features
from tracking.models import Project, Session

# The types a calibrated HistGradientBoostingClassifier needs beyond skops' defaults.
TRUSTED = frozenset(
    {
        "functools.partial",
        "sklearn.calibration._CalibratedClassifier",
        "sklearn.calibration._SigmoidCalibration",
        "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
        "sklearn.utils.validation.check_array",
    }
)
VERSION_FIELDS = (
    "id", "created_at", "data_until", "trained_from", "trained_to", "n_decided", "n_train",
    "n_calibration", "n_test", "features", "label", "hyperparameters", "sklearn_version",
    "auc", "auc_ci_low", "auc_ci_high", "auc_ci_method", "brier", "brier_baseline",
    "brier_per_skill", "auc_per_skill", "log_loss", "log_loss_baseline", "calibration_bins",
    "artifact_sha256", "is_active", "reason",
)  # fmt: skip


class NoActiveModel(Exception):
    """The project has no active predictor; the message says why."""


class ArtifactMismatch(Exception):
    """A stored artefact whose bytes or types are not what was stored."""


def save(version: ModelVersion, model) -> ModelVersion:
    """Store `version` (with `model`'s bytes when there is one) and make it the project's
    active version when its `reason` is empty; a version that fails leaves the active one."""
    if model is not None:
        data = sio.dumps(model)
        version.artifact = data
        version.artifact_sha256 = hashlib.sha256(data).hexdigest()
    with transaction.atomic():
        if model is not None and not version.reason:
            ModelVersion.objects.filter(project=version.project, is_active=True).update(
                is_active=False
            )
            version.is_active = True
        version.save()
    return version


@lru_cache(maxsize=16)
def _loaded(pk: int, sha256: str):
    stored = ModelVersion.objects.values_list("artifact", flat=True).get(pk=pk)
    if stored is None:
        raise ArtifactMismatch(f"model version {pk} has no artefact")
    data = bytes(stored)
    if hashlib.sha256(data).hexdigest() != sha256:
        raise ArtifactMismatch(f"model version {pk}: artefact does not match its sha256")
    untrusted = set(sio.get_untrusted_types(data=data)) - TRUSTED
    if untrusted:
        raise ArtifactMismatch(f"model version {pk}: untrusted types {sorted(untrusted)}")
    return sio.loads(data, trusted=sorted(TRUSTED))


def load(version: ModelVersion):
    """The fitted model of `version`, checked against its sha256 and trusted types."""
    return _loaded(version.pk, version.artifact_sha256)


def active(project: Project) -> ModelVersion | None:
    return ModelVersion.objects.filter(project=project, is_active=True).defer("artifact").first()


def latest(project: Project) -> ModelVersion | None:
    return (
        ModelVersion.objects.filter(project=project)
        .defer("artifact")
        .order_by("-created_at", "-pk")
        .first()
    )


def shown(version: ModelVersion | None) -> dict | None:
    return None if version is None else {name: getattr(version, name) for name in VERSION_FIELDS}


def status(project: Project) -> dict:
    """{active, reason, version}: the active version, else the latest attempt and why it is
    not active (or that no model was trained yet)."""
    current = active(project)
    if current is not None:
        return {"active": True, "reason": "", "version": shown(current)}
    last = latest(project)
    if last is None:
        return {"active": False, "reason": "not trained yet", "version": None}
    return {"active": False, "reason": last.reason, "version": shown(last)}


@lru_cache(maxsize=1)
def _threadpools() -> ThreadpoolController:
    """The process's thread pools (OpenMP, BLAS), found once: finding them reads every loaded
    library, ~5 ms, too much to do for each prediction. Called after the model is loaded, so
    the libraries it needs are among them."""
    return ThreadpoolController()


def predict_success(
    project: Project,
    session: Session | None,
    skill: str,
    at: datetime | None = None,
    phase: str = "",
) -> dict:
    """The active model's probability that a call of `skill` in `session` at `at` (default
    now) completes, from the events before `at`: {p_success, version}. Raises NoActiveModel
    with the reason when the project has none."""
    found = predict_successes(project, session, [skill], at, phase)
    return {"p_success": found["p_success"][skill], "version": found["version"], "at": found["at"]}


def predict_successes(
    project: Project,
    session: Session | None,
    skills: Sequence[str],
    at: datetime | None = None,
    phase: str = "",
    version: ModelVersion | None = None,
) -> dict:
    """`predict_success` for several skills at once (one model look-up, one read of the
    session, one grouped count): {p_success: {skill: p}, version, at}. `version` is the
    project's active one when the caller has just looked it up."""
    version = version or active(project)
    if version is None:
        raise NoActiveModel(status(project)["reason"])
    at = at or datetime.now(UTC)
    x = row_features(
        project,
        None if session is None else session.pk,
        skills,
        phase,
        at,
        version.encoding,
        ZoneInfo(settings.CAIRN_DISPLAY_TZ),
    )
    model = load(version)
    # A few rows: threads would cost more than they save, in a server process.
    with _threadpools().limit(limits=1):
        p = model.predict_proba(x)[:, 1]
    return {
        "p_success": {skill: float(value) for skill, value in zip(skills, p, strict=True)},
        "version": version.pk,
        "at": at,
    }
