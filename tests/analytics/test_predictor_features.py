"""Point-in-time features: PR-2, the leak property, figures by hand, one row = the batch row."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from analytics.predictor.features import (
    FEATURES,
    Events,
    Rows,
    features,
    micros,
    row_features,
    skill_prior_counts,
)
from analytics.predictor.training import category_codes
from tests.analytics.conftest import events as store_events
from tracking.models import Session, SkillInvocation

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
UTC_ZONE = ZoneInfo("UTC")
ENCODING = {"skill": {"pytest": 0, "ruff": 1}, "phase": {"": 0}}


def make(rows: list[tuple]) -> Events:
    """(id, session, skill, phase, minutes after T0, completed) rows."""
    return Events.of(
        [(i, s, skill, phase, T0 + timedelta(minutes=m), ok) for i, s, skill, phase, m, ok in rows]
    )


def column(matrix: np.ndarray, name: str) -> list[float]:
    return matrix[:, FEATURES.index(name)].tolist()


def own_features(events: Events, encoding=ENCODING, zone=UTC_ZONE) -> np.ndarray:
    return features(events, Rows.of_events(events), encoding, zone)


def test_pr2_completed_prior_uses_in_the_session_exclude_the_row_itself():
    s1 = [(1, 7, "pytest", "", 0, True), (2, 7, "pytest", "", 1, False)]
    s1 += [(3, 7, "pytest", "", 2, True), (4, 7, "ruff", "", 3, True)]
    x = own_features(make(s1))
    assert column(x, "session_skill_prior_completed") == [0, 1, 1, 0]
    # Row 3's own label flipped to ✗: the point-in-time figures do not move (the leaky count
    # of the reference would go from [1, 1, 2, 1] to [1, 1, 1, 1]).
    s1[2] = (3, 7, "pytest", "", 2, False)
    assert column(own_features(make(s1)), "session_skill_prior_completed") == [0, 1, 1, 0]


def test_the_figures_of_a_small_history_by_hand():
    rows = [
        (1, 7, "pytest", "", 0, True),
        (2, 7, "ruff", "", 5, None),  # undecided: a call, not an outcome
        (3, 8, "pytest", "", 6, False),
        (4, 7, "pytest", "", 20, False),
        (5, 7, "pytest", "", 20, True),  # the same instant as row 4: neither sees the other
        (6, -1, "pytest", "", 30, True),  # outside any session
    ]
    x = own_features(make(rows))
    assert column(x, "skill_prior_decided") == [0, 0, 1, 2, 2, 4]
    assert column(x, "skill_prior_rate") == pytest.approx(
        [1 / 2, 1 / 2, 2 / 3, 2 / 4, 2 / 4, 3 / 6]
    )
    assert column(x, "session_prior_calls")[:5] == [0, 1, 0, 2, 2]
    assert column(x, "session_prior_decided")[:5] == [0, 1, 0, 1, 1]
    assert column(x, "session_prior_rate")[:5] == pytest.approx([1 / 2, 2 / 3, 1 / 2, 2 / 3, 2 / 3])
    previous = column(x, "previous_completed")
    assert np.isnan(previous[0]) and previous[1] == 1.0 and np.isnan(previous[2])
    assert np.isnan(previous[3]) and np.isnan(previous[4])  # the previous call is undecided
    assert column(x, "session_age_s")[:5] == [0, 300, 0, 1200, 1200]
    # In the 10 minutes before 09:20, session 7 had no call (09:05 is 15 minutes before).
    assert column(x, "session_calls_10min")[:5] == [0, 1, 0, 0, 0]
    assert column(x, "session_skill_prior_decided")[:5] == [0, 0, 0, 1, 1]
    # The sessionless row has no session history: missing, not 0.
    assert all(np.isnan(x[5, FEATURES.index(name)]) for name in FEATURES if "session" in name)
    assert column(x, "skill") == [0, 1, 0, 0, 0, 0]
    assert column(x, "hour_of_day") == [9, 9, 9, 9, 9, 9]


def test_the_hour_of_day_is_the_rows_own_in_the_display_zone_and_unseen_categories_are_missing():
    x = own_features(make([(1, 7, "mypy", "review", 0, True)]), zone=ZoneInfo("Asia/Tokyo"))
    assert column(x, "hour_of_day") == [18]  # 09:00 UTC is 18:00 in Tokyo
    assert np.isnan(column(x, "skill")[0]) and np.isnan(column(x, "phase")[0])


def random_events(rng: np.random.Generator, n: int, start_id: int, minutes: tuple[int, int]):
    return [
        (
            start_id + i,
            int(rng.integers(0, 15)) if rng.random() > 0.05 else -1,
            ("pytest", "ruff", "Bash", "Edit")[int(rng.integers(4))],
            ("plan", "code", "")[int(rng.integers(3))],
            int(rng.integers(*minutes)),
            (None, True, False)[int(rng.integers(3))],
        )
        for i in range(n)
    ]


@pytest.mark.parametrize("seed", range(5))
def test_future_events_and_later_labels_change_no_past_rows_features(seed):
    rng = np.random.default_rng(seed)
    past = random_events(rng, 400, 0, (0, 600))
    encoding = {
        "skill": category_codes(np.array([r[2] for r in past]), 250),
        "phase": category_codes(np.array([r[3] for r in past]), 50),
    }
    rows = Rows.of_events(make(past))
    before = features(make(past), rows, encoding, UTC_ZONE)
    # Later events (some at exactly the latest past instant, which is not "before" any row
    # at that instant either), in the same sessions and skills, with any labels.
    later = random_events(rng, 300, 10_000, (599, 900))
    after = features(make(past + later), rows, encoding, UTC_ZONE)
    np.testing.assert_array_equal(before, after)
    # Relabelling each row's own and later calls changes nothing of that row either.
    cutoff = 300
    relabelled = [
        (i, s, k, p, m, (not ok if ok is not None else True) if m >= cutoff else ok)
        for i, s, k, p, m, ok in past
    ]
    early = np.array([r[4] < cutoff for r in past])
    again = features(make(relabelled), rows, encoding, UTC_ZONE)
    np.testing.assert_array_equal(before[early], again[early])
    # The check has teeth: relabelling does change rows after the cutoff.
    assert not np.array_equal(np.nan_to_num(before[~early]), np.nan_to_num(again[~early]))


def test_one_call_to_predict_gets_the_same_features_as_the_stored_call(project):
    store_events(
        project,
        ("pytest", T0, True, 1.0),
        ("ruff", T0 + timedelta(minutes=2), False, 1.0),
        ("pytest", T0 + timedelta(minutes=4), False, 1.0),
        ("pytest", T0 + timedelta(minutes=9), True, 1.0),
    )
    store_events(project, ("pytest", T0 + timedelta(minutes=1), True, 1.0), session="s-2")
    rows = SkillInvocation.objects.filter(project=project).values_list(
        "id", "session_id", "skill", "phase", "invoked_at", "completed"
    )
    stored = Events.of(list(rows))
    batch = features(stored, Rows.of_events(stored), ENCODING, UTC_ZONE)
    last = int(np.argmax(stored.times))
    session = Session.objects.get(project=project, external_id="s-1")
    one = row_features(
        project, session.pk, "pytest", "", T0 + timedelta(minutes=9), ENCODING, UTC_ZONE
    )
    np.testing.assert_array_equal(one[0], batch[last])
    assert column(one, "session_skill_prior_completed") == [1]
    assert column(one, "skill_prior_decided") == [3]
    assert micros(T0) == 1_793_610_000_000_000


def test_a_skills_prior_counts_come_from_the_rollups_and_the_hour_so_far(project):
    # Calls over three days (whole days from the daily tier), earlier hours of the last day
    # (hourly rows) and the hour of the prediction, before and after it (the event log).
    at = T0 + timedelta(days=3, hours=5, minutes=30)
    specs = [
        ("pytest", T0 + timedelta(hours=2), True, 1.0),
        ("pytest", T0 + timedelta(days=1, hours=23, minutes=59), False, 1.0),
        ("pytest", T0 + timedelta(days=2), None, 1.0),
        ("pytest", T0 + timedelta(days=3, hours=1), True, 1.0),
        ("ruff", T0 + timedelta(days=3, hours=4, minutes=59), True, 1.0),
        ("pytest", at - timedelta(minutes=29), True, 1.0),
        ("pytest", at - timedelta(microseconds=1), False, 1.0),
        ("pytest", at, True, 1.0),  # not before `at`
        ("pytest", at + timedelta(minutes=10), True, 1.0),  # same hour, later
        ("pytest", at + timedelta(days=1), True, 1.0),
    ]
    store_events(project, *specs)
    # pytest before `at`: completed at +2 h, +3 d 1 h, at − 29 min; failed twice; one undecided.
    assert skill_prior_counts(project, ["pytest", "ruff", "mypy"], at) == {
        "pytest": (3, 5),
        "ruff": (1, 1),
    }
    one = row_features(project, None, ["pytest", "mypy"], "", at, ENCODING, UTC_ZONE)
    assert column(one, "skill_prior_decided") == [5, 0]
    assert column(one, "skill_prior_rate") == pytest.approx([4 / 7, 1 / 2])
