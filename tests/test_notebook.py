"""examples/diagnose.ipynb runs top to bottom in a real Jupyter kernel; any cell error fails."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO

pytest.importorskip("nbclient")

# Run in a child process: the kernel's ZeroMQ sockets stay out of pytest's process.
EXECUTE = """
import sys
import nbclient, nbformat
from jupyter_client.manager import KernelManager

source, target, sockets = sys.argv[1:4]
notebook = nbformat.read(source, as_version=4)
manager = KernelManager(kernel_name="python3", transport="ipc", ip=sockets)
client = nbclient.NotebookClient(notebook, km=manager, timeout=120)
try:
    client.execute()  # raises CellExecutionError on the first failing cell
finally:
    nbformat.write(notebook, target)
"""


def joined(value: str | list[str]) -> str:
    """A notebook file stores multi-line outputs as a list of lines."""
    return value if isinstance(value, str) else "".join(value)


def html_of(cell: dict[str, Any]) -> str:
    return "".join(
        joined(out.get("data", {}).get("text/html", ""))
        for out in cell.get("outputs", [])
        if out.get("output_type") == "execute_result"
    )


def test_the_walkthrough_notebook_runs(tmp_path: Path) -> None:
    executed = tmp_path / "diagnose.executed.ipynb"  # kept for a look
    notebook = REPO / "examples" / "diagnose.ipynb"
    run = subprocess.run(
        [sys.executable, "-c", EXECUTE, str(notebook), str(executed), str(tmp_path / "kernel")],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=600,
        check=False,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    code = [c for c in json.loads(executed.read_text())["cells"] if c["cell_type"] == "code"]

    def cell(start: str) -> dict[str, Any]:
        return next(c for c in code if "".join(c["source"]).startswith(start))

    html = html_of(cell("report = workbench.diagnose"))
    assert "<table" in html and "wb-report" in html
    assert "cpu.virtualization" in html and "wb-fail" in html  # status colours
    failed = cell("[p.id for p in report.failed]")
    assert "guest.agent" in joined(failed["outputs"][0]["data"]["text/plain"])
    assert "remedy" in html_of(cell('report["guest.agent"]'))
    vms = html_of(cell("workbench.vms"))
    assert "win11-gaming" in vms and "0000:01:00.0" in vms
    logs = html_of(next(c for c in code if "filter(level=" in "".join(c["source"])))
    assert "probe.finished" in logs and "guest.agent" in logs
