"""An experiment from end to end: created and started through the API, 400 Claude Code
sessions assigned by the SessionStart hook, their tool calls ingested with a higher completion
rate in the treatment arm, then the results API and page checked against figures computed here
independently (numpy for the delta method, scipy's t, statsmodels' Wilson and BH)."""

from __future__ import annotations

import json
import random
from datetime import timedelta

import numpy as np
import pytest
from django.utils import timezone
from scipy import stats
from statsmodels.stats.proportion import proportion_confint

from analytics.experiments.assignment import hash_v2
from analytics.models import Exposure
from tests.analytics.experiment_data import get, post, running_experiment, session_start

pytestmark = pytest.mark.django_db
RATES = {"control": 0.6, "tests-first": 0.75}


def delta_method(pairs: list[tuple[int, int]]) -> tuple[float, float, int]:
    """(ratio, per-unit variance, n) of a ratio metric, from the numpy covariance matrix."""
    m = np.array([a for a, _ in pairs], dtype=float)
    d = np.array([b for _, b in pairs], dtype=float)
    cov = np.cov(m, d, ddof=1)
    gradient = np.array([1 / d.mean(), -m.mean() / d.mean() ** 2])
    return m.sum() / d.sum(), float(gradient @ cov @ gradient), len(pairs)


def test_an_experiment_from_creation_to_results(client, project, write_key, read_key):
    running_experiment(client, write_key)
    rng = random.Random(14)
    sessions = [f"sess-{i:04d}" for i in range(400)]
    arms = {}
    for sid in sessions:
        answer = session_start(client, write_key, sid)
        assert answer.status_code == 200
        context = answer.json()["hookSpecificOutput"]
        assert context["hookEventName"] == "SessionStart"
        # The arm by the hash computed here: control below 0.5, treatment from 0.5.
        arm = "control" if hash_v2("tests-first", sid) < 0.5 else "tests-first"
        expected = "" if arm == "control" else "Write the failing test first."
        assert context["additionalContext"] == expected
        arms[sid] = arm
    assert Exposure.objects.count() == 400
    # A second SessionStart (a resume) keeps the first exposure.
    first = Exposure.objects.get(unit_id=sessions[0]).first_exposed_at
    session_start(client, write_key, sessions[0])
    assert Exposure.objects.get(unit_id=sessions[0]).first_exposed_at == first

    after = timezone.now() + timedelta(seconds=1)
    events, counts = [], {}
    for sid in sessions:
        calls = rng.randint(3, 12)
        done = sum(rng.random() < RATES[arms[sid]] for _ in range(calls))
        counts[sid] = (done, calls)
        for k in range(calls):
            events.append(
                {"id": f"{sid}-{k}", "session": sid, "skill": "pytest",
                 "invoked_at": (after + timedelta(seconds=k)).isoformat(),
                 "completed": k < done, "duration_s": 1.0 + (k % 4)}
            )  # fmt: skip
        # Before the exposure: counted in no metric.
        events.append(
            {"id": f"{sid}-before", "session": sid, "skill": "pytest",
             "invoked_at": (first - timedelta(hours=1)).isoformat(), "completed": False}
        )  # fmt: skip
    for start in range(0, len(events), 5000):
        response = post(
            client,
            write_key,
            "/api/v1/ingest/invocations",
            {"events": events[start : start + 5000]},
        )
        assert response.status_code == 200, response.content

    response = get(client, read_key, "/api/v1/experiments/tests-first/results")
    assert response.status_code == 200
    results = response.json()
    control_pairs = [counts[s] for s in sessions if arms[s] == "control"]
    treatment_pairs = [counts[s] for s in sessions if arms[s] == "tests-first"]
    n_c, n_t = len(control_pairs), len(treatment_pairs)
    assert [u["units"] for u in results["units"]] == [n_c, n_t]
    assert results["srm_p_value"] == pytest.approx(stats.chisquare([n_c, n_t]).pvalue)

    rate = results["metrics"][0]
    assert (rate["metric"], rate["role"], rate["kind"]) == ("completion_rate", "goal", "ratio")
    control, treatment = rate["arms"]
    mc, vc, _ = delta_method(control_pairs)
    mt, vt, _ = delta_method(treatment_pairs)
    ok_c, calls_c = map(sum, zip(*control_pairs, strict=True))
    assert (control["numerator"], control["denominator"]) == (ok_c, calls_c)
    assert control["units_without_data"] == 0 and control["n"] == n_c
    assert control["mean"] == pytest.approx(mc)
    assert (control["ci_low"], control["ci_high"]) == pytest.approx(
        proportion_confint(ok_c, calls_c, method="wilson")
    )
    comparison = rate["comparisons"][0]
    se = np.sqrt(vc / n_c + vt / n_t)
    df = (vc / n_c + vt / n_t) ** 2 / ((vc / n_c) ** 2 / (n_c - 1) + (vt / n_t) ** 2 / (n_t - 1))
    assert comparison["abs_diff"] == pytest.approx(mt - mc)
    assert comparison["df"] == pytest.approx(df)
    assert comparison["abs_p_value"] == pytest.approx(2 * stats.t.sf(abs(mt - mc) / se, df))
    half = stats.t.ppf(0.975, df) * se
    assert comparison["abs_ci_low"] == pytest.approx(mt - mc - half)
    rel_se = np.sqrt(vc * mt**2 / (mc**4 * n_c) + vt / (mc**2 * n_t))
    assert comparison["rel_lift"] == pytest.approx(mt / mc - 1)
    assert comparison["p_value"] == pytest.approx(2 * stats.t.sf(abs(mt / mc - 1) / rel_se, df))
    # One goal metric: BH leaves its p as it is.
    assert comparison["q_value"] == pytest.approx(comparison["p_value"])
    assert comparison["chance_to_win"] == pytest.approx(stats.norm.sf(0, mt / mc - 1, rel_se))
    assert comparison["effect_size"] == pytest.approx(
        2 * np.arcsin(np.sqrt(mt)) - 2 * np.arcsin(np.sqrt(mc))
    )
    assert comparison["p_value"] < 1e-3 and comparison["enough_data"] is True
    assert comparison["srm_flag"] is False
    assert comparison["decision"] == "ship"
    assert results["decision"] == "ship"

    duration = results["metrics"][1]
    assert (duration["metric"], duration["role"]) == ("tool_duration", "guardrail")
    assert duration["comparisons"][0]["q_value"] is None

    page = client.get(f"/p/{project.slug}/experiments/tests-first/")
    assert page.status_code == 302  # a login first
    client.force_login(project.members.get())
    page = client.get(f"/p/{project.slug}/experiments/tests-first/")
    text = page.content.decode()
    assert page.status_code == 200
    assert "ship" in text
    assert f"{mc * 100:.1f} %" in text and f"{mt * 100:.1f} %" in text
    assert f"{n_c:,}" in text
    detail = client.get(f"/p/{project.slug}/")
    assert f"/p/{project.slug}/experiments/" in detail.content.decode()
    json.dumps(results)  # plain JSON, nothing non-finite
