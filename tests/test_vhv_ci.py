"""In CI the comparison with the real virt-host-validate never silently skips."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

TEST = "tests/test_vhv_format.py::test_matches_virt_host_validate_on_this_machine"


@pytest.mark.parametrize(("ci", "outcome"), [("1", "1 failed"), ("", "1 skipped")])
def test_missing_virt_host_validate(tmp_path: Path, ci: str, outcome: str) -> None:
    """Without virt-host-validate on PATH: a failure when CI is set, a skip otherwise."""
    bindir = Path(sys.executable).parent  # the venv's: python and workbench, no libvirt tools
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env |= {"PATH": str(bindir), "HOME": str(tmp_path)} | ({"CI": ci} if ci else {})
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", TEST],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env,
        timeout=300,
    )
    assert outcome in done.stdout, done.stdout[-2000:]
    if ci:
        assert "CI is set but virt-host-validate is not installed" in done.stdout
