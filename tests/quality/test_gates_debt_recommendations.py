"""Gates with their verdict and failing conditions, SonarQube-style debt, recommendation rules."""

from __future__ import annotations

import pytest

from quality import debt, gates
from quality.observations import Observed
from quality.recommendations import recommend


def obs(**values) -> dict:
    return {k.replace("__", "."): Observed(k.replace("__", "."), v) for k, v in values.items()}


def test_it_fails_the_default_gate_and_lists_the_failing_conditions():
    now = obs(
        tests__failed=2, tests__errors=0, coverage__line_percent=71.0,
        security__findings__high=0, complexity__max=16, types__errors=0,
    )  # fmt: skip
    verdict, results = gates.evaluate([], now, obs(coverage__line_percent=72.5))
    assert verdict == "failed"
    failed = [(r.metric, r.value, r.threshold) for r in results if r.status == "failed"]
    assert failed == [
        ("tests.failed", 2, 0),
        ("coverage.line_percent", 71.0, "start"),
        ("complexity.max", 16, 15),
    ]
    coverage = next(r for r in results if r.metric == "coverage.line_percent")
    assert coverage.baseline == 72.5
    assert coverage.as_dict() == {
        "metric": "coverage.line_percent", "op": ">=", "threshold": "start", "value": 71.0,
        "baseline": 72.5, "status": "failed", "reason": "", "passed": False,
    }  # fmt: skip


def test_it_passes_when_measured_conditions_hold_and_lists_the_rest_as_not_measured():
    verdict, results = gates.evaluate([], obs(tests__failed=0, coverage__line_percent=70.0), None)
    assert verdict == "passed"
    by_metric = {r.metric: r for r in results}
    assert by_metric["coverage.line_percent"].status == "not measured"
    coverage = by_metric["coverage.line_percent"]
    assert coverage.reason == "no session start checkpoint to compare with"
    assert by_metric["types.errors"].reason == "types.errors was not measured"
    assert gates.evaluate([], {}, None)[0] == ""


def test_a_checkpoint_without_a_session_says_so_for_a_start_threshold():
    config = [{"metric": "coverage.line_percent", "op": ">=", "threshold": "start"}]
    _, [result] = gates.evaluate(config, obs(coverage__line_percent=70.0), None, in_session=False)
    assert result.status == "not measured"
    assert result.reason == "a checkpoint without a session has no start checkpoint to compare with"


def test_it_uses_the_projects_own_conditions():
    config = [{"metric": "coverage.line_percent", "op": ">=", "threshold": 90}]
    verdict, results = gates.evaluate(config, obs(coverage__line_percent=89.99), None)
    assert verdict == "failed" and len(results) == 1


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"metric": "x"}, "gate configuration must be a list of conditions"),
        ([{"metric": "nope", "op": "<", "threshold": 1}], "condition 0: unknown metric 'nope'"),
        ([{"metric": "tests.failed", "op": "=<", "threshold": 1}], "condition 0: op must be"),
        ([{"metric": "tests.failed", "op": "<", "threshold": "1"}], "condition 0: threshold"),
        ([{"metric": "tests.failed", "op": "<"}], "condition 0: needs exactly"),
    ],
)
def test_it_refuses_a_bad_gate_configuration(config, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        gates.validate(config)


def test_it_rates_debt_from_remediation_time_against_size():
    # 2 failed tests 40 + 1 high bandit 60 + 10 low lint 10 = 110 minutes over 100 lines (3000)
    result = debt.compute(
        obs(
            tests__failed=2,
            security__findings__high=1,
            lint__findings__low=10,
            fs__python_lines=100,
        )  # fmt: skip
    )
    assert result.minutes == 110
    assert result.ratio == pytest.approx(110 / 3000)
    assert result.level == "A"
    assert "types.errors" in result.not_measured
    assert debt.rating(0.1) == "B" and debt.rating(0.2) == "C" and debt.rating(0.51) == "E"
    assert debt.compute(obs(fs__python_lines=10)).minutes is None
    assert debt.compute(obs(tests__failed=1)).level == ""


def test_it_recommends_from_measurements_and_names_them():
    now = obs(
        tests__failed=1, tests__errors=1, coverage__line_percent=60.0,
        security__findings__high=0, git__dirty=0, session__context_tokens=180_000,
    )  # fmt: skip
    found = recommend(now, obs(coverage__line_percent=65.0))
    assert [(r.rule, r.measurement, r.value) for r in found] == [
        ("failing-tests", "tests.failed", 1),
        ("coverage-fell", "coverage.line_percent", 60.0),
        ("coverage-low", "coverage.line_percent", 60.0),
        ("context", "session.context_tokens", 180_000),
    ]
    assert found[0].text == "Fix the 2 failing tests before anything else."
    assert found[1].text == "Coverage fell from 65.0 % to 60.0 % since the session start."
    missing = {"coverage.line_percent": Observed("coverage.line_percent", None, reason="x")}
    assert [r.rule for r in recommend(missing)] == ["coverage-unknown"]
