"""A VM without an IOMMU tells one story for its CPU vendor: iommu.enabled fails with the
virtual IOMMU libvirt offers for that vendor; kernel.cmdline only notes it (no second warning)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import load_facts, report_for

STORY = ["cpu.virtualization", "kvm.device", "iommu.enabled", "kernel.cmdline"]
CPU = "processor\t: 0\nvendor_id\t: {v}\nflags\t\t: fpu {f} hypervisor\n\n"


def vm_without_iommu(make_root: Callable[..., Path], vendor: str) -> Path:
    """The GTX 960 machine seen from a VM guest of `vendor` (hypervisor flag), IOMMU off."""
    facts = load_facts("asrock-z170-gtx960")
    for dev in facts["devices"]:
        dev["iommu_group"] = None
    root = make_root(facts, kernel_cmdline="ro quiet")
    vendor_id, flag = ("AuthenticAMD", "svm") if vendor == "amd" else ("GenuineIntel", "vmx")
    (root / "proc/cpuinfo").write_text(CPU.format(v=vendor_id, f=flag))
    return root


@pytest.mark.parametrize(
    ("vendor", "says", "not_said"),
    [
        ("amd", "<iommu model='amd'/>", "-device intel-iommu,intremap=on"),
        ("intel", "<iommu model='intel'/>", "model='amd'"),
    ],
)
def test_vm_story_follows_the_vendor(
    make_root: Callable[..., Path], vendor: str, says: str, not_said: str
) -> None:
    """iommu.enabled's remedy names the vendor's virtual IOMMU; kernel.cmdline passes with a
    note pointing to iommu.enabled, never a warning of its own."""
    report = report_for(vm_without_iommu(make_root, vendor), only=STORY)
    enabled = report.get("iommu.enabled")
    assert enabled.status == "fail"
    remedy = " ".join(f.remedy or "" for f in enabled.findings)
    assert says in remedy and not_said not in remedy
    cmdline = report.get("kernel.cmdline")
    assert cmdline.status == "pass"
    (note,) = [f for f in cmdline.findings if f.code.startswith("CMDLINE_IOMMU")]
    assert (note.code, note.severity) == ("CMDLINE_IOMMU_VIRTUAL", "info")
    assert "see iommu.enabled" in note.message
    assert "this VM's host must give it one" in cmdline.summary
