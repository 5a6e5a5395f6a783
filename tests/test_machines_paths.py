"""workbench.machines refuses facts whose names would write outside the machine root."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO
from workbench.machines import build_root

BASE: dict[str, Any] = {"source": "x", "devices": []}


@pytest.mark.parametrize(
    "facts",
    [
        {"cgroup_controllers": {"../../escaped": "cpu"}},
        {"cgroup_controllers": {"/sys/fs/cgroup/../../../escaped": "cpu"}},
        {"modules": ["../../escaped"]},
        {"module_params": {"kvm": {"../../../escaped": "1"}}},
        {"acpi_tables": ["../../../escaped"]},
        {"shm": {"../escaped": 1}},
        {"hugepages": {"1/../../../../escaped": {"nr": 1}}},
        {
            "devices": [
                {"bdf": "../../escaped", "class": "0300", "vendor": "10de", "device": "0001"}
            ]
        },
        {
            "devices": [
                {
                    "bdf": "0000:01:00.0",
                    "class": "0300",
                    "vendor": "10de",
                    "device": "0001",
                    "driver": "../../../../escaped",
                }
            ]
        },
    ],
    ids=["cgroup", "cgroup-abs", "module", "param", "acpi", "shm", "hugepages", "bdf", "driver"],
)
def test_names_that_leave_the_root_are_refused(tmp_path: Path, facts: dict[str, Any]) -> None:
    """Each facts key that becomes a path refuses `..`: nothing is written beside the root."""
    out = tmp_path / "a" / "b" / "root"
    with pytest.raises(ValueError, match=r"cannot be a file name|not a path inside"):
        build_root({**BASE, **facts}, out)
    assert not list(tmp_path.rglob("escaped*"))


def test_a_mount_point_inside_is_written(tmp_path: Path) -> None:
    """An ordinary mount point (with a leading slash) still lands under the root."""
    root = build_root({**BASE, "cgroup_controllers": {"/sys/fs/cgroup/": "cpu"}}, tmp_path / "r")
    assert (root / "sys/fs/cgroup/cgroup.controllers").read_text() == "cpu\n"


def test_the_command_says_why_and_exits_2(tmp_path: Path) -> None:
    """`python -m workbench.machines` on such facts: exit 2, one line on stderr, no traceback."""
    facts = tmp_path / "evil.json"
    facts.write_text('{"source": "x", "devices": [], "cgroup_controllers": {"../../x": "cpu"}}')
    done = subprocess.run(
        [sys.executable, "-m", "workbench.machines", str(facts), str(tmp_path / "r")],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
    )
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "not a path inside the machine" in done.stderr
    assert not (tmp_path / "x").exists()
