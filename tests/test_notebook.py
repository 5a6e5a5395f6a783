"""examples/diagnose.ipynb runs top to bottom in a real Jupyter kernel; any cell error fails.
Its cells tell the README tour's story: the report, why media-server did not start, a log
explained, the sosreport, the demo fleet's table."""

from __future__ import annotations

import json
import os
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


FOREIGN = {"level": "error", "event": "another.run.failed", "logger": "workbench.cli"}


def joined(value: str | list[str]) -> str:
    """A notebook file stores multi-line outputs as a list of lines."""
    return value if isinstance(value, str) else "".join(value)


def html_of(cell: dict[str, Any]) -> str:
    return "".join(
        joined(out.get("data", {}).get("text/html", ""))
        for out in cell.get("outputs", [])
        if out.get("output_type") == "execute_result"
    )


def text_of(cell: dict[str, Any]) -> str:
    return "".join(
        joined(out.get("data", {}).get("text/plain", ""))
        for out in cell.get("outputs", [])
        if out.get("output_type") == "execute_result"
    )


@pytest.fixture(scope="module")
def executed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The notebook, run by a real kernel; the result kept for a look."""
    tmp_path = tmp_path_factory.mktemp("notebook")
    executed = tmp_path / "diagnose.executed.ipynb"
    # the user's own log, with another run's error: the notebook's log cell must not show it
    global_log = tmp_path / "state" / "workbench" / "workbench.log"
    global_log.parent.mkdir(parents=True)
    global_log.write_text(json.dumps({**FOREIGN, "timestamp": "2026-11-29T07:00:00Z"}) + "\n")
    notebook = REPO / "examples" / "diagnose.ipynb"
    run = subprocess.run(
        [sys.executable, "-c", EXECUTE, str(notebook), str(executed), str(tmp_path / "kernel")],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={
            **{k: v for k, v in os.environ.items() if k != "WORKBENCH_LOG_FILE"},
            "XDG_CACHE_HOME": str(tmp_path / "cache"),  # the demo's archives
            "XDG_STATE_HOME": str(tmp_path / "state"),  # the user's global log
        },
        timeout=600,
        check=False,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    return executed


def test_the_walkthrough_notebook_runs(executed: Path) -> None:
    """Every cell runs; the report, the cause, the explained log, the sosreport and the fleet
    table show what the story says."""
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
    assert FOREIGN["event"] not in logs  # the demo's own log, not the user's global one
    causes = text_of(cell("[(f.cause, f.message)"))  # why media-server did not start
    assert "GROUP_MEMBER_NOT_VFIO" in causes and "snd_hda_intel" in causes
    explained = cell("explained = workbench.explain_logs(")  # the public API, no internals
    shown = text_of(explained)
    assert shown.index("GROUP_MEMBER_NOT_VFIO") < shown.index("HOST_DRIVER_BOUND")
    assert "wb-explain" in html_of(explained) and "group 11 is not viable" in html_of(explained)
    evidence = text_of(cell('[e.text for e in explained["GROUP_MEMBER_NOT_VFIO"]'))
    assert "group 11 is not viable" in evidence and "04:00.1 driver: snd_hda_intel" in evidence
    remedy = text_of(cell('explained["GROUP_MEMBER_NOT_VFIO"].remedy'))
    assert "Bind every device of the group" in remedy
    sources = "".join("".join(c["source"]) for c in code)
    assert "workbench.core" not in sources and "workbench.explain." not in sources
    sos = html_of(cell("from workbench.demo_sos import"))
    assert "libvirt.domains" in sos and "wb-fail" in sos and "snd_hda_intel" in sos
    table = html_of(cell("fleet = workbench.fleet"))
    for machine in ("adl-dual-radeon", "b550-lab", "demo-workstation", "duo-z370"):
        assert f"sosreport-{machine}" in table
    shared = text_of(cell('fleet.to_dict()["probes"]'))
    assert "'fail': ['demo-workstation', 'duo-z370']" in shared


def test_the_executed_notebook_converts_to_html(executed: Path, tmp_path: Path) -> None:
    """`jupyter nbconvert --to html` of the run notebook: one page holding the cause and the
    fleet's machines (what a support engineer attaches to a ticket)."""
    jupyter = Path(sys.executable).parent / "jupyter"
    done = subprocess.run(
        [str(jupyter), "nbconvert", "--to", "html", "--output-dir", str(tmp_path), str(executed)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    page = (tmp_path / "diagnose.executed.html").read_text()
    assert page.startswith("<!DOCTYPE html>") and "GROUP_MEMBER_NOT_VFIO" in page
    assert "sosreport-duo-z370" in page and "wb-report" in page
