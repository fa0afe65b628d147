"""The units of deploy/systemd/: `systemd-analyze verify` clean, restart and sandboxing set."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.analytics.servers import ROOT

UNITS = ROOT / "deploy" / "systemd"
VERIFY = UNITS / "verify"
SERVICES = [
    "cairn-daphne@.service",
    "cairn-live-broadcast.service",
    "cairn-analytics-worker.service",
    "cairn-metrics-server.service",
    "cairn-metrics-dir.service",
]
needs_systemd = pytest.mark.skipif(
    shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed"
)


def settings_of(name: str) -> dict[str, list[str]]:
    """Each key of a unit file with every value it is given, in order."""
    found: dict[str, list[str]] = {}
    for line in (UNITS / name).read_text().splitlines():
        if "=" in line and not line.startswith(("#", "[")):
            key, value = line.split("=", 1)
            found.setdefault(key.strip(), []).append(value.strip())
    return found


@needs_systemd
def test_every_unit_passes_systemd_analyze_verify():
    done = subprocess.run([VERIFY], capture_output=True, text=True, timeout=60)  # noqa: S603
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "systemd-analyze verify: 6 units clean"
    assert done.stderr == ""


@needs_systemd
def test_verify_fails_on_a_unit_with_a_mistake(tmp_path: Path):
    broken = (UNITS / "cairn-live-broadcast.service").read_text()
    assert "Restart=on-failure" in broken
    (tmp_path / "cairn-live-broadcast.service").write_text(
        broken.replace("Restart=on-failure", "Restart=sometimes")
    )
    shutil.copy(UNITS / "cairn-metrics-dir.service", tmp_path)
    done = subprocess.run(  # noqa: S603
        [VERIFY, str(tmp_path)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 1
    assert "Failed to parse service restart specifier, ignoring: sometimes" in done.stderr


@pytest.mark.parametrize("name", SERVICES)
def test_each_service_is_sandboxed_with_its_environment_file(name):
    unit = settings_of(name)
    assert unit["EnvironmentFile"] == ["/etc/cairn/cairn.env"]
    assert unit["NoNewPrivileges"] == ["yes"]
    assert unit["ProtectSystem"] == ["strict"]
    assert unit["PrivateTmp"] == ["yes"]
    assert unit["User"] == ["cairn"]
    assert unit["PartOf"] == ["cairn.target"]


@pytest.mark.parametrize("name", SERVICES[:4])
def test_each_process_restarts_on_failure_and_may_write_only_its_folders(name):
    unit = settings_of(name)
    assert unit["Restart"] == ["on-failure"]
    # CAIRN_VAR_DIR=/var/lib/cairn (StateDirectory) and the metrics folder are writable.
    assert unit["StateDirectory"] == ["cairn"]
    assert unit["ReadWritePaths"] == ["/run/cairn/prometheus"]
    # They start after the metrics folder is wiped, and go down with it.
    assert unit["Requires"] == ["cairn-metrics-dir.service"]
    assert unit["After"][0].split()[0] == "cairn-metrics-dir.service"


def test_the_metrics_folder_is_wiped_before_the_processes_start():
    unit = settings_of("cairn-metrics-dir.service")
    assert unit["ExecStartPre"] == ["/usr/bin/find /run/cairn/prometheus -mindepth 1 -delete"]
    assert unit["ExecStart"] == [
        """/bin/sh -c 'test "$$PROMETHEUS_MULTIPROC_DIR" = /run/cairn/prometheus'"""
    ]
    assert unit["RuntimeDirectory"] == ["cairn/prometheus"]
    example = (UNITS / "cairn.env.example").read_text().splitlines()
    assert "PROMETHEUS_MULTIPROC_DIR=/run/cairn/prometheus" in example


def test_daphne_listens_to_the_proxy_only_and_believes_no_header_itself():
    [command] = settings_of("cairn-daphne@.service")["ExecStart"]
    assert " -b 127.0.0.1 -p %i " in command
    assert "--proxy-headers" not in command
    assert "--ping-interval 20" in command
