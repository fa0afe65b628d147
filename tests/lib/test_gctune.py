"""A Daphne process's collector: rare collections, and start-up's objects set aside."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_loading_the_asgi_application_tunes_and_freezes_the_collector():
    probe = (
        "import gc, json, config.asgi;"
        "print(json.dumps([gc.get_threshold(), gc.get_freeze_count(), gc.get_count()[2]]))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    )
    thresholds, frozen, oldest = json.loads(done.stdout.splitlines()[-1])
    assert thresholds == [50_000, 20, 100]
    # Django, DRF, Channels and the project's modules: far more than a bare interpreter's
    # ~20,000 objects, none left in the oldest generation to be walked again.
    assert frozen > 100_000
    assert oldest == 0
