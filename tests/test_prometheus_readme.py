"""The README's cron line and systemd units for workbench.prom work as written."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import REPO, WORKBENCH, put
from tests.test_probe_kernel_log import MEMLOCK_LINE
from workbench.core.machinelogs import KERNEL_LOG

TEXTFILE = "/var/lib/node_exporter/textfile/workbench.prom"
INSTALLED = "/usr/local/bin/workbench"


def _section() -> str:
    readme = (REPO / "README.md").read_text("utf-8")
    start = readme.index("### Monitoring with Prometheus")
    return readme[start : readme.index("\n## ", start)]


def _units() -> dict[str, str]:
    """The unit files of the README's ini block, by name."""
    block = re.search(r"```ini\n(.*?)```", _section(), re.S)
    assert block is not None
    parts = re.split(r"^# /etc/systemd/system/(\S+)\n", block[1], flags=re.M)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


def _real(text: str, tmp_path: Path) -> str:
    return text.replace(INSTALLED, str(WORKBENCH)).replace(TEXTFILE, str(tmp_path / "w.prom"))


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze not here")
def test_systemd_units_verify(tmp_path: Path) -> None:
    """systemd-analyze accepts the service and timer without an unknown key or a bad value."""
    units = _units()
    assert set(units) == {"workbench-textfile.service", "workbench-textfile.timer"}
    for name, text in units.items():
        (tmp_path / name).write_text(_real(text, tmp_path))
    done = subprocess.run(
        ["systemd-analyze", "verify", *(str(tmp_path / n) for n in units)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "ignoring" not in done.stderr and "nknown" not in done.stderr, done.stderr


def test_cron_line_writes_the_textfile(
    tmp_path: Path, make_root: Callable[..., Path], minimal_facts: dict[str, Any]
) -> None:
    """The cron line's command, run by sh on a machine root, writes a parseable textfile and
    counts a failing probe as success."""
    line = next(
        ln for ln in _section().splitlines() if ln.startswith("*/5 * * * * root ")
    ).removeprefix("*/5 * * * * root ")
    assert TEXTFILE in line and INSTALLED in line
    root = make_root(minimal_facts)
    put(root, KERNEL_LOG, MEMLOCK_LINE + "\n")  # kernel.log fails: exit 1, which the line accepts
    command = _real(line, tmp_path).replace(" --format", f" --root {root} --format", 1)
    command = command.replace("/var/log/workbench-textfile.log", str(tmp_path / "err.log"))
    done = subprocess.run(["sh", "-c", command], capture_output=True, timeout=60, check=False)
    assert done.returncode == 0, (tmp_path / "err.log").read_text()
    text = (tmp_path / "w.prom").read_text()
    assert 'workbench_probe_status{probe="kernel.log",status="fail"} 1\n' in text
    families = text_string_to_metric_families(text)
    assert {f.name for f in families} >= {"workbench_probe_status", "workbench_causes"}
