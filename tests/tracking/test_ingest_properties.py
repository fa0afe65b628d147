"""Properties of the ingest event parser through `POST /api/v1/ingest/invocations`: any JSON
value in any field (text with NUL or lone surrogates too) is accepted or refused by index
naming the field, never a 500, and what is stored is finite, inside the ranges and storable."""

from __future__ import annotations

import itertools
import json
import math
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lib.ranges import DURATION_MAX_S, MAX_FUTURE_SKEW, TIME_MAX, TIME_MIN
from lib.text import is_storable
from tests.properties import PROPERTY
from tracking.models import Session, SkillHourly, SkillInvocation

URL = "/api/v1/ingest/invocations"
FIELDS = ["id", "session", "skill", "invoked_at", "completed", "duration_s", "phase", "error_type"]
OFFSETS = [UTC, timezone(timedelta(hours=14)), timezone(timedelta(hours=-14), "-14")]
TIMESTAMPS = st.one_of(
    st.datetimes(timezones=st.sampled_from(OFFSETS)).map(datetime.isoformat),
    st.datetimes().map(datetime.isoformat),  # naive
    st.sampled_from(["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", "2026-13-01Z"]),
)
JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)  # not JSON: a 400 for the whole body
    # Any code point, NUL and lone surrogates (which Postgres cannot store) included.
    | st.text(st.characters(codec=None, exclude_categories=()), max_size=210)
    | st.sampled_from(["\x00", "py\x00test", "\ud800", "a\udfffb"])
    | TIMESTAMPS,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=5,
)
keys = itertools.count()


def event(**fields) -> dict:
    key = f"prop-{next(keys)}"
    base = {"id": key, "session": "s1", "skill": "pytest", "invoked_at": "2026-11-20T10:00:00Z"}
    return {**base, "completed": True, "duration_s": 1.0, **fields}


@pytest.mark.parametrize("field", FIELDS)
def test_any_value_in_any_field_is_accepted_or_refused_naming_the_field(write_api, field):
    @PROPERTY
    @given(value=JSON_VALUES)
    def check(value):
        response = write_api.post(
            URL,
            json.dumps({"events": [event(**{field: value}), event()]}),
            content_type="application/json",
        )
        assert response.status_code == 200, response.content
        body = response.json()
        assert body["accepted"] + body["duplicates"] + len(body["errors"]) == 2
        assert all(e["index"] == 0 and f"'{field}'" in e["message"] for e in body["errors"])

    check()
    assert_stored_rows_are_in_range()


def assert_stored_rows_are_in_range() -> None:
    for duration, at in SkillInvocation.objects.values_list("duration_s", "invoked_at"):
        assert duration is None or 0 <= duration <= DURATION_MAX_S
        assert TIME_MIN <= at < TIME_MAX
    for row in SkillHourly.objects.all():
        assert math.isfinite(row.duration_sum) and math.isfinite(row.duration_sumsq)
        assert TIME_MIN <= row.hour < TIME_MAX
    for started in Session.objects.values_list("started_at", flat=True):
        assert TIME_MIN <= started < TIME_MAX
        assert started <= datetime.now(UTC) + MAX_FUTURE_SKEW
    text = SkillInvocation.objects.values_list("idempotency_key", "skill", "phase", "error_type")
    for value in itertools.chain.from_iterable(text):
        assert is_storable(value)
