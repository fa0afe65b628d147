"""Property of every list operation's filters: any bytes in any filter give a 200 or a 400 in
the error shape naming a parameter, never a 500, and the answer holds only the key's project."""

from __future__ import annotations

from urllib.parse import quote_from_bytes

import pytest
from django.test import Client
from hypothesis import given
from hypothesis import strategies as st

from tests.properties import PROPERTY

# Each list operation with the filters its schema names.
OPERATIONS = {
    "/api/v1/sessions": ["project", "status", "since", "until", "cursor", "page_size"],
    "/api/v1/invocations": ["session", "skill", "since", "until", "cursor", "page_size"],
    "/api/v1/checkpoints": ["project", "session", "kind", "cursor", "page_size"],
    "/api/v1/skills": ["project", "window", "since", "until", "skill"],
    "/api/v1/projects/alpha/skills": ["window", "since", "until", "skill"],
    "/api/v1/anomalies": ["project", "skill", "metric", "status", "since", "cursor"],
}
VALUES = st.one_of(
    st.binary(max_size=30),
    st.text(max_size=30).map(lambda text: text.encode("utf-8", "surrogatepass")),
    st.sampled_from(
        [
            b"",
            b"\x00",
            b"\xed\xa0\x80",
            b"0001-01-01T00:00:00+14:00",
            b"2026-11-20T10:00:00+16:00",
            b"9999-12-31T23:59:59Z",
            b"-1",
            b"1e999",
            b"NaN",
            b"99999999999999999999",
            b"alpha",
        ]
    ),  # fmt: skip
)


@pytest.fixture
def reader(project, read_key, other_project) -> Client:
    other_project.create_api_key(scope="write")
    return Client(headers={"authorization": f"Bearer {read_key}"})


@pytest.mark.django_db
@PROPERTY
@given(
    path=st.sampled_from(sorted(OPERATIONS)),
    data=st.data(),
)
def test_any_filter_value_is_answered_200_or_a_400_naming_it(reader, project, path, data):
    names = data.draw(st.lists(st.sampled_from(OPERATIONS[path]), min_size=1, max_size=3))
    query = "&".join(f"{name}={quote_from_bytes(data.draw(VALUES))}" for name in names)
    response = reader.get(f"{path}?{query}")
    assert response.status_code in (200, 400, 404), response.content[:300]
    body = response.json()
    if response.status_code == 200:
        rows = body.get("results", body.get("skills", []))
        for row in rows if isinstance(rows, list) else []:
            if isinstance(row, dict) and "project" in row:
                assert row["project"] in (project.slug, None)
    else:
        assert body["error"]["code"]
        if response.status_code == 400 and "detail" in body["error"]:
            assert set(body["error"]["detail"]) & (set(names) | {"non_field_errors"})
