"""Broken machine roots give clear verdicts or errors, never a crash or a traceback."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import WORKBENCH, report_for, run_as

MakeRoot = Callable[..., Path]
GPU = "sys/devices/pci0000:00/0000:01:00.0"


def test_garbage_in_class_and_vendor(make_root: MakeRoot, minimal_facts: dict[str, Any]) -> None:
    """Unparseable class/vendor files are noted per device; the device is not taken for a GPU."""
    root = make_root(minimal_facts)
    (root / GPU / "class").write_bytes(b"\xde\xad garbage\n")
    (root / GPU / "vendor").write_text("0xZZZZ\n")
    report = report_for(root)
    gpus = report.get("pci.gpus").facts["gpus"]
    assert [g["bdf"] for g in gpus] == ["0000:00:02.0"]
    from workbench.core.host import Host

    dev = Host(root).pci().by_bdf["0000:01:00.0"]
    assert dev.vendor is None and dev.pci_class is None
    assert any("unparseable" in p and "class" in p for p in dev.problems)
    assert not [r.id for r in report.probes if r.status == "error"]


def test_unreadable_attribute_is_a_problem_not_a_crash(
    make_root: MakeRoot, minimal_facts: dict[str, Any]
) -> None:
    """A directory where an attribute file should be is noted; the rest of the device is read."""
    root = make_root(minimal_facts)
    (root / GPU / "boot_vga").unlink()
    (root / GPU / "boot_vga").mkdir()
    report = report_for(root)
    gpu = next(g for g in report.get("pci.gpus").facts["gpus"] if g["bdf"] == "0000:01:00.0")
    assert gpu["boot_vga"] is None
    assert gpu["isolated"] is True


def test_dangling_driver_and_group_links(
    make_root: MakeRoot, minimal_facts: dict[str, Any]
) -> None:
    """Dangling driver/iommu_group links still name the driver and group (as readlink does)."""
    root = make_root(minimal_facts)
    shutil.rmtree(root / "sys/bus/pci/drivers/vfio-pci")
    report = report_for(root)
    gpu = next(g for g in report.get("pci.gpus").facts["gpus"] if g["bdf"] == "0000:01:00.0")
    assert gpu["driver"] == "vfio-pci"
    assert gpu["iommu_group"] == 1


def test_dangling_device_link(make_root: MakeRoot, minimal_facts: dict[str, Any]) -> None:
    """A bus entry whose device directory is gone yields a device with unknown ids, no crash."""
    root = make_root(minimal_facts)
    shutil.rmtree(root / GPU)
    report = report_for(root)
    assert [g["bdf"] for g in report.get("pci.gpus").facts["gpus"]] == ["0000:00:02.0"]
    assert not [r.id for r in report.probes if r.status == "error"]


def test_group_without_devices(make_root: MakeRoot, minimal_facts: dict[str, Any]) -> None:
    """An IOMMU group directory with no devices is listed and noted."""
    root = make_root(minimal_facts)
    (root / "sys/kernel/iommu_groups/7/devices").mkdir(parents=True)
    (root / "sys/kernel/iommu_groups/bogus").mkdir()
    report = report_for(root)
    groups = report.get("iommu.groups")
    assert {"group": 7, "devices": []} in groups.facts["groups"]
    assert any(f.code == "IOMMU_EMPTY_GROUPS" and "7" in f.message for f in groups.findings)


def test_missing_cpuinfo_is_a_probe_error_with_context(
    make_root: MakeRoot, minimal_facts: dict[str, Any]
) -> None:
    """cpu.virtualization without cpuinfo is `error` with the error's dict and its context chain."""
    root = make_root(minimal_facts)
    (root / "proc/cpuinfo").unlink()
    result = report_for(root).get("cpu.virtualization")
    assert result.status == "error"
    assert result.error is not None
    assert result.error["error"] == "HOST_READ_ERROR"
    assert result.error["details"]["reason"] == "missing"
    assert result.error["context"] == ["probes.cpu.virtualization::run"]
    assert result.error["remedy"]


def test_empty_root_reports_honestly(tmp_path: Path) -> None:
    """An empty directory: no crash, the files it lacks are errors or fails with reasons."""
    report = report_for(tmp_path)
    statuses = {r.id: r.status for r in report.probes}
    assert statuses["cpu.virtualization"] == "error"
    assert statuses["kernel.cmdline"] == "error"
    assert statuses["iommu.enabled"] == "fail"
    assert statuses["iommu.groups"] == "skip"
    assert statuses["pci.gpus"] == "fail"


def test_cli_root_is_a_file(tmp_path: Path) -> None:
    """`--root FILE`: exit 2, one clear line on stderr, no traceback."""
    path = tmp_path / "file"
    path.write_text("x")
    proc = subprocess.run(
        [str(WORKBENCH), "probe", "--root", str(path)], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert len(proc.stderr.strip().splitlines()) == 1
    assert "is not a directory" in proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to drop to another user")
def test_unreadable_files_as_an_unprivileged_user(
    make_root: MakeRoot, minimal_facts: dict[str, Any]
) -> None:
    """Files this user may not read (mode 000) become clear errors naming the file, not crashes."""
    # pytest's own temp dirs are private to root: build in a world-traversable one.
    shared = Path(tempfile.mkdtemp(prefix="workbench-nobody-"))
    try:
        root = shared / "root"
        shutil.copytree(make_root(minimal_facts), root, symlinks=True)
        shared.chmod(0o755)
        (root / "proc/cpuinfo").chmod(0o000)
        (root / GPU / "class").chmod(0o000)
        report = run_as(65534, lambda: report_for(root).to_dict())
    finally:
        shutil.rmtree(shared)
    cpu = next(p for p in report["probes"] if p["id"] == "cpu.virtualization")
    assert cpu["status"] == "error"
    assert cpu["error"]["details"]["reason"] == "permission"
    assert "proc/cpuinfo" in cpu["error"]["message"]
    gpus = next(p for p in report["probes"] if p["id"] == "pci.gpus")
    assert [g["bdf"] for g in gpus["facts"]["gpus"]] == ["0000:00:02.0"]  # class unreadable
