"""The probes on the machine the tests run on: honest verdicts derived from what it really has."""

from __future__ import annotations

import json
import os
from pathlib import Path

from tests.conftest import report_for, run_cli


def _flags() -> set[str]:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("flags"):
            return set(line.split(":", 1)[1].split())
    return set()


def test_live_cpu_verdict_matches_cpuinfo() -> None:
    """cpu.virtualization passes exactly when vmx or svm is in the flags; without them it warns
    when KVM runs paravirtualized (kvm_pvm loaded), else fails; the remedy fits."""
    result = report_for("/").get("cpu.virtualization")
    flags = _flags()
    if flags & {"vmx", "svm"}:
        assert result.status == "pass"
    elif Path("/sys/module/kvm_pvm").is_dir():
        assert result.status == "warn"
        assert "paravirtualized (kvm_pvm" in result.findings[0].message
        assert "passthrough (VFIO) still cannot work" in result.findings[0].message
    else:
        assert result.status == "fail"
        assert result.findings[0].remedy
        if "hypervisor" in flags:
            assert "virtual machine" in (result.findings[0].remedy or "")


def test_live_iommu_verdict_matches_sysfs() -> None:
    """iommu.enabled fails exactly when /sys/kernel/iommu_groups is empty and no unit exists, and
    then the groups and vfio probes are blocked by it, not failed on their own."""
    report = report_for("/")
    groups = (
        os.listdir("/sys/kernel/iommu_groups") if Path("/sys/kernel/iommu_groups").is_dir() else []
    )
    units = os.listdir("/sys/class/iommu") if Path("/sys/class/iommu").is_dir() else []
    enabled = report.get("iommu.enabled")
    if not groups and not units:
        assert enabled.status == "fail"
        assert report.get("iommu.groups").blocked_by == ["iommu.enabled"]
        assert report.get("vfio.binding").blocked_by == ["iommu.enabled"]
    elif groups:
        assert enabled.status == "pass"


def test_live_gpu_list_matches_sysfs() -> None:
    """pci.gpus lists exactly the class-03 devices in /sys; none means fail with a remedy."""
    expected = sorted(
        d
        for d in os.listdir("/sys/bus/pci/devices")
        if Path(f"/sys/bus/pci/devices/{d}/class").read_text().startswith("0x03")
    )
    result = report_for("/").get("pci.gpus")
    assert [g["bdf"] for g in result.facts["gpus"]] == expected
    if not expected:
        assert result.status == "fail" and result.findings[0].remedy


def test_live_kvm_device_matches_stat() -> None:
    """kvm.device sees /dev/kvm as it is: present, a char device, accessible to this user."""
    result = report_for("/").get("kvm.device")
    if not Path("/dev/kvm").exists():
        assert result.status == "fail"
        return
    assert result.facts["device"]["kind"] == "char"
    assert result.facts["device"]["accessible"] == os.access("/dev/kvm", os.R_OK | os.W_OK)
    assert isinstance(result.facts["processes"], list)


def test_live_cli_exits_1_with_remedies_and_no_traceback() -> None:
    """`workbench probe` on this machine: honest fails have remedies; exit 1 iff anything failed."""
    proc = run_cli("probe", "--json")
    assert "Traceback" not in proc.stderr
    doc = json.loads(proc.stdout)
    failed = [p for p in doc["probes"] if p["status"] in ("fail", "error")]
    assert proc.returncode == (1 if failed else 0)
    for probe in failed:
        remedies = [f["remedy"] for f in probe["findings"] if f["remedy"]]
        assert remedies or (probe["error"] and probe["error"]["remedy"]), probe["id"]
    assert doc["host"]["live"] is True
