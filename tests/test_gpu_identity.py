"""A GPU whose vendor or device id cannot be read is never called passthrough-ready, and no
remedy proposes an id it does not know (`????`)."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import report_for, run_cli

MakeRoot = Callable[..., Path]
GTX = "0000:01:00.0"  # asrock-z170-gtx960's guest GPU (10de:1401), its audio is 01:00.1
GTX_DIR = f"sys/devices/pci0000:00/{GTX}"


def _spoil(path: Path, how: str) -> None:
    """Make a sysfs attribute unusable in one of the ways a broken recording can."""
    path.unlink()
    if how == "fifo":
        os.mkfifo(path)
    elif how == "directory":
        path.mkdir()
    elif how == "fullwidth":
        path.write_text("０x１０ｄｅ\n")


@pytest.mark.parametrize("how", ["missing", "fifo", "directory", "fullwidth"])
@pytest.mark.parametrize("attr", ["vendor", "device"])
def test_gpu_with_unknown_ids_is_not_passthrough_ready(
    make_root: MakeRoot, attr: str, how: str
) -> None:
    """An unreadable vendor/device id: pci.gpus warns that the GPU cannot be judged instead of
    calling it passthrough-ready, and no finding proposes an id with `????`."""
    root = make_root("asrock-z170-gtx960")
    _spoil(root / GTX_DIR / attr, how)
    report = report_for(root)
    gpus = report.get("pci.gpus")
    assert gpus.status == "warn"
    assert "passthrough-ready" not in gpus.summary
    assert GTX in gpus.summary
    unknown = next(f for f in gpus.findings if f.code == "GPU_IDENTITY_UNKNOWN")
    assert unknown.severity == "warn"
    assert GTX in unknown.message and f"{attr} id" in unknown.message
    shown = [(f.message, f.remedy or "") for r in report.probes for f in r.findings]
    assert not [m for m in shown if "????" in m[0] + m[1]]


def test_vfio_remedy_leaves_out_a_function_without_ids(make_root: MakeRoot) -> None:
    """vfio.binding's `vfio-pci.ids=` line holds only known ids and says which function was left
    out and why."""
    root = make_root("asrock-z170-gtx960")
    (root / GTX_DIR / "vendor").unlink()
    vfio = report_for(root).get("vfio.binding")
    finding = next(f for f in vfio.findings if f.code == "VFIO_NONE_BOUND")
    assert finding.remedy is not None
    ids = finding.remedy.split("vfio-pci.ids=", 1)[1].split()[0]
    assert ids == "10de:0fba"
    assert f"{GTX} is left out" in finding.remedy and "vendor id" in finding.remedy


def _bind(root: Path, driver: str) -> None:
    """Bind the GTX to `driver` the way sysfs shows it: a `driver` link to the driver's dir."""
    drivers = root / "sys/bus/pci/drivers" / driver
    drivers.mkdir(parents=True, exist_ok=True)
    link = root / GTX_DIR / "driver"
    if link.is_symlink():
        link.unlink()
    link.symlink_to(os.path.relpath(drivers, link.parent))


def test_split_card_remedy_leaves_out_a_function_without_ids(make_root: MakeRoot) -> None:
    """A card partly on vfio-pci whose other function has no readable ids: the remedy binds the
    known ids only and names the one left out."""
    root = make_root("asrock-z170-gtx960")
    (root / "sys/devices/pci0000:00/0000:01:00.1/device").write_text("garbage\n")
    _bind(root, "vfio-pci")
    vfio = report_for(root).get("vfio.binding")
    finding = next(f for f in vfio.findings if f.code == "VFIO_SPLIT_CARD")
    assert finding.remedy is not None and "????" not in finding.remedy
    assert "vfio-pci.ids=10de:1401 " in finding.remedy
    assert "0000:01:00.1 is left out" in finding.remedy


def test_host_driver_remedy_leaves_out_a_function_without_ids(make_root: MakeRoot) -> None:
    """A guest GPU on a host driver whose audio function has no readable ids: pci.gpus proposes
    the GPU's ids only and names the function left out."""
    root = make_root("asrock-z170-gtx960")
    (root / "sys/devices/pci0000:00/0000:01:00.1/vendor").unlink()
    _bind(root, "nouveau")
    gpus = report_for(root).get("pci.gpus")
    finding = next(f for f in gpus.findings if f.code == "GPU_ON_HOST_DRIVER")
    assert finding.remedy is not None and "????" not in finding.remedy
    assert "vfio-pci.ids=10de:1401 " in finding.remedy
    assert "0000:01:00.1 is left out: its vendor id" in finding.remedy


def test_cli_report_of_a_gpu_without_vendor(make_root: MakeRoot) -> None:
    """`workbench probe --json` on a copy whose GPU vendor file is gone: pci.gpus warns, no
    `????` anywhere in the report's findings."""
    root = make_root("asrock-z170-gtx960")
    (root / GTX_DIR / "vendor").unlink()
    proc = run_cli("probe", "--root", str(root), "--only", "pci.gpus,vfio.binding", "--json")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    statuses = {p["id"]: p["status"] for p in doc["probes"]}
    assert statuses["pci.gpus"] == "warn"
    findings = [f for p in doc["probes"] for f in p["findings"]]
    assert "????" not in json.dumps(findings)
    text = run_cli("probe", "--root", str(root), "--only", "pci.gpus,vfio.binding")
    assert f"passthrough-ready: {GTX}" not in text.stdout
    assert "????" not in text.stdout
