"""A re-run skips files whose size, modification time and inode are what they were when read."""

from __future__ import annotations

import os

import pytest

from integrations.models import TranscriptFile

from .test_import_transcripts import run

pytestmark = pytest.mark.django_db
HOUR_AGO_NS = 3600 * 10**9


def age(path, ns: int) -> None:
    """Set the file's modification time `ns` into the past (a file written long ago)."""
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns - ns))


def test_it_does_not_read_a_file_whose_stat_is_unchanged(transcripts_copy):
    path = transcripts_copy / "spotter" / "short.jsonl"
    age(path, HOUR_AGO_NS)
    run(path)
    mtime = path.stat().st_mtime_ns
    assert TranscriptFile.objects.get().mtime_ns == mtime
    # Same size, same time, same inode: taken as unchanged without reading a byte, so even
    # an edit that kept all three (which appending never does) is not seen.
    data = path.read_bytes()
    path.write_bytes(data.replace(b'"type":"user"', b'"type":"oops"', 1))
    os.utime(path, ns=(mtime, mtime))
    result, err = run(path)
    assert (result["lines"], result["bad_lines"], err) == (0, 0, "")
    # A new modification time makes it read again (its head changed: rewritten).
    age(path, HOUR_AGO_NS // 2)
    result, err = run(path)
    assert "rewritten or truncated" in err and result["bad_lines"] == 1


def test_it_does_not_trust_the_time_of_a_file_changed_just_before_reading(transcripts_copy):
    path = transcripts_copy / "spotter" / "short.jsonl"
    os.utime(path)  # just written: its time is within the clock's tick of the read
    run(path)
    assert TranscriptFile.objects.get().mtime_ns is None
    mtime = path.stat().st_mtime_ns
    path.write_bytes(path.read_bytes().replace(b'"type":"user"', b'"type":"oops"', 1))
    os.utime(path, ns=(mtime, mtime))
    result, err = run(path)
    assert "rewritten or truncated" in err and result["bad_lines"] == 1
