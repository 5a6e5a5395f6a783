"""Every probe against machines built from real published listings, with a VFIO expert's verdicts."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import RECORDED, report_for
from workbench.core import pciids
from workbench.core.report import Report

Builder = Callable[[str], Path]


def gpu(report: Report, bdf: str) -> dict[str, Any]:
    found: list[dict[str, Any]] = report.get("pci.gpus").facts["gpus"]
    return next(g for g in found if g["bdf"] == bdf)


def codes(report: Report, probe_id: str) -> set[str]:
    return {f.code for f in report.get(probe_id).findings}


def test_b550_chipset_gpu_shares_group_with_usb_sata_nic(root_builder: Builder) -> None:
    """mapmanagement-b550: the Radeon 540 at 04:00.0 is not isolated (chipset USB, SATA, NIC);
    the RX 6950 XT at 08:00.0 is isolated and ready."""
    report = report_for(root_builder("mapmanagement-b550-chipset-gpu"))
    radeon = gpu(report, "0000:04:00.0")
    assert radeon["isolated"] is False
    assert radeon["blockers"] == ["0000:02:00.0", "0000:02:00.1", "0000:05:00.0"]
    assert radeon["functions"] == ["0000:04:00.1"]
    assert radeon["iommu_group"] == 15
    assert radeon["boot_vga"] is True  # no VGA on bus 00: the lowest address boots
    navi = gpu(report, "0000:08:00.0")
    assert navi["isolated"] is True
    assert navi["blockers"] == []
    assert navi["functions"] == ["0000:08:00.1"]  # its audio, although in group 19
    assert (navi["vendor"], navi["device"], navi["class"]) == ("1002", "73a5", "0300")
    gpus = report.get("pci.gpus")
    assert gpus.status == "pass"
    assert "0000:08:00.0" in gpus.summary
    not_isolated = [f for f in gpus.findings if f.code == "GPU_NOT_ISOLATED"]
    assert len(not_isolated) == 1 and "0000:04:00.0" in not_isolated[0].message
    assert "0000:05:00.0" in not_isolated[0].message
    assert report.get("iommu.enabled").status == "pass"
    assert report.get("iommu.enabled").facts["units"] == ["ivhd0"]
    assert report.get("iommu.groups").facts["groups"][15]["group"] == 15
    assert len(report.get("iommu.groups").facts["groups"]) == 25


def test_b550_names_come_from_pci_ids(root_builder: Builder) -> None:
    """GPU names are looked up in the installed pci.ids."""
    if pciids.shared() is None:
        pytest.skip("pci.ids not installed")
    report = report_for(root_builder("mapmanagement-b550-chipset-gpu"))
    assert "Radeon RX 6950 XT" in gpu(report, "0000:08:00.0")["name"]


@pytest.mark.usefixtures("no_pci_ids")
def test_names_are_null_without_pci_ids(root_builder: Builder) -> None:
    """Without pci.ids the name is null, never invented."""
    report = report_for(root_builder("mapmanagement-b550-chipset-gpu"))
    assert gpu(report, "0000:08:00.0")["name"] is None


def test_ashtonian_two_radeons_isolated_one_on_vfio(root_builder: Builder) -> None:
    """ashtonian: iGPU boots the host; RX 6700 XT alone in group 21; RX 560 + audio on vfio-pci
    isolated in group 23."""
    report = report_for(root_builder("ashtonian-adl-dual-radeon"))
    assert gpu(report, "0000:00:02.0")["boot_vga"] is True
    rx6700 = gpu(report, "0000:03:00.0")
    assert (rx6700["isolated"], rx6700["iommu_group"], rx6700["driver"]) == (True, 21, "amdgpu")
    rx560 = gpu(report, "0000:04:00.0")
    assert (rx560["isolated"], rx560["driver"], rx560["functions"]) == (
        True,
        "vfio-pci",
        ["0000:04:00.1"],
    )
    assert report.get("pci.gpus").status == "pass"
    vfio = report.get("vfio.binding")
    assert vfio.status == "pass"
    assert vfio.facts["bound"] == ["0000:04:00.0", "0000:04:00.1"]
    assert vfio.facts["module_loaded"] is True


def test_asokolsky_gt1030_isolated_with_root_port_but_unbound(root_builder: Builder) -> None:
    """asokolsky: the GT 1030 shares group 2 only with its root port and audio (isolated); it has
    no driver while its audio is on snd_hda_intel; no intel_iommu= yet the IOMMU is on."""
    report = report_for(root_builder("asokolsky-duo-z370-gt1030"))
    gt = gpu(report, "0000:01:00.0")
    assert (gt["isolated"], gt["blockers"], gt["driver"]) == (True, [], None)
    enabled = report.get("iommu.enabled")
    assert enabled.status == "pass"
    assert enabled.facts["cmdline"] == {}  # judged from the machine, not the command line
    assert "GPU_NO_DRIVER" in codes(report, "pci.gpus")
    assert report.get("vfio.binding").status == "warn"
    assert "VFIO_NONE_BOUND" in codes(report, "vfio.binding")


def test_asrock_gtx960_isolated(root_builder: Builder) -> None:
    """asrock-z170: the GTX 960 and its audio sit with their root port only: isolated."""
    report = report_for(root_builder("asrock-z170-gtx960"))
    gtx = gpu(report, "0000:01:00.0")
    assert (gtx["isolated"], gtx["iommu_group"], gtx["functions"]) == (True, 1, ["0000:01:00.1"])
    assert gpu(report, "0000:00:02.0")["boot_vga"] is True
    assert report.get("pci.gpus").status == "pass"


def test_renoir_acs_override_single_gpu(root_builder: Builder) -> None:
    """benbaker-renoir: one APU GPU, isolated only by pcie_acs_override: the command line warns
    and the GPU probe says single-GPU."""
    report = report_for(root_builder("benbaker-renoir-acs-override"))
    cmd = report.get("kernel.cmdline")
    assert cmd.status == "warn"
    assert cmd.facts["pcie_acs_override"] == "downstream,multifunction"
    assert "CMDLINE_ACS_OVERRIDE" in codes(report, "kernel.cmdline")
    apu = gpu(report, "0000:05:00.0")
    assert apu["isolated"] is True
    assert apu["functions"] == [
        "0000:05:00.1",
        "0000:05:00.2",
        "0000:05:00.3",
        "0000:05:00.4",
        "0000:05:00.6",
    ]
    gpus = report.get("pci.gpus")
    assert gpus.status == "warn"
    assert "GPU_SINGLE" in codes(report, "pci.gpus")


@pytest.mark.parametrize("name", RECORDED)
def test_every_recorded_machine_passes_cpu_and_iommu(root_builder: Builder, name: str) -> None:
    """All published machines had VT-x/AMD-V and populated IOMMU groups; no probe breaks."""
    report = report_for(root_builder(name))
    assert report.get("cpu.virtualization").status == "pass"
    assert report.get("iommu.enabled").status == "pass"
    assert report.get("iommu.groups").status == "pass"
    assert not [r.id for r in report.probes if r.status == "error"]
    # Facts the listings never had are reported as not recorded, not as failures.
    assert report.get("kvm.device").status == "skip"
    assert report.get("memory.hugepages").status == "skip"
    assert report.get("display.looking_glass").status == "skip"


def test_demo_machine_is_healthy(make_root: Callable[..., Path]) -> None:
    """The composed demo: guest RTX 3080 isolated on vfio-pci, hugepages, kvmfr: every hardware
    probe passes; without --connect the hypervisor probes say there is none."""
    report = report_for(make_root("demo-workstation"))
    statuses = {r.id: r.status for r in report.probes}
    hypervisor = {"libvirt.connection", "libvirt.domains", "guest.agent", "vm.preflight"}
    # An Alder Lake has no SEV or TDX: virt-host-validate warns "Unknown if this platform has
    # Secure Guest support" on it (its line, --format vhv); cpu.secure_guest passes with a
    # note (only confidential guests need it).
    assert {k: v for k, v in statuses.items() if k not in hypervisor} == dict.fromkeys(
        set(statuses) - hypervisor, "pass"
    )
    assert {statuses[k] for k in hypervisor} == {"skip"}
    assert gpu(report, "0000:01:00.0")["isolated"] is True
    assert report.get("memory.hugepages").facts["hugepages_bytes"] == 16 * 1024**3
    assert report.get("display.looking_glass").facts["required_mib"] == 32
    assert report.host["hostname"] == "demo-workstation"
    assert report.host["source"].startswith("composed")
