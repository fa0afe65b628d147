"""Long tool runs report as they go: lines streamed from a real process, pytest's percentages."""

from __future__ import annotations

import sys

import pytest

from quality.collectors.base import ToolError, run_tool
from quality.measure import pytest_progress

SLOW = "import sys, time\nprint('first', flush=False)\nprint('second')\ntime.sleep(30)\n"


def test_lines_arrive_while_the_tool_still_runs_and_a_timeout_stops_it(tmp_path):
    seen: list[str] = []
    with pytest.raises(ToolError, match="timed out after 1 s"):
        run_tool([sys.executable, "-c", SLOW], cwd=tmp_path, timeout=1, on_line=seen.append)
    # Printed without a flush: only an unbuffered child delivers them before it is killed.
    assert seen == ["first", "second"]


def test_a_streamed_run_returns_stdout_stderr_and_the_exit_code(tmp_path):
    code = "import sys\nprint('out')\nprint('err', file=sys.stderr)\nsys.exit(3)\n"
    done = run_tool([sys.executable, "-c", code], cwd=tmp_path, on_line=lambda line: None)
    assert (done.returncode, done.stdout, done.stderr) == (3, "out\n", "err\n")


def test_each_new_pytest_percentage_is_reported_once():
    messages: list[str] = []
    on_line = pytest_progress(messages.append)
    for line in [
        "........................................................ [ 42%]",
        "..F.....",
        "........................................................ [ 42%]",
        "....s................................................... [100%]",
        "1 failed, 120 passed in 3.2s",
    ]:
        on_line(line)
    assert messages == ["pytest: 42 % of the tests run", "pytest: 100 % of the tests run"]
