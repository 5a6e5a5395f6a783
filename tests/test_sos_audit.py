"""Every probe on three sosreports (the hotsos slice, a `-p virt`-like report, an empty one):
each judges from the report's evidence or says what is missing and what collects it."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.sos_machine_helpers import HOTSOS, probe_json, report

# The probes of the machine area: their status on each report is pinned exactly.
OWN = (
    "cpu.virtualization",
    "kvm.device",
    "kernel.log",
    "kernel.cmdline",
    "memory.hugepages",
    "display.looking_glass",
    "vfio.binding",
    "pci.device_state",
)
# Probes whose evidence a `-p virt`-like report may hold (domain XML, QEMU logs, virsh).
VIRT = ("libvirt.connection", "libvirt.domains", "vm.preflight", "guest.agent")
# How a skip says what would have the evidence.
HOW = ("sos report -o", "pciutils", "libvirt running", "no sos plugin")
# Skips of other areas' probes that do not name the report's gap yet (told to their owners).
OTHERS_GAPS = {"libvirt.connection": "no hypervisor for a machine root"}

HOTSOS_OWN = {
    "cpu.virtualization": "pass",  # vmx in the VM's flags (nested)
    "kvm.device": "pass",  # /dev/kvm in the /dev listing, kvm_intel in lsmod
    "kernel.log": "pass",  # its dmesg, no known cause
    "kernel.cmdline": "pass",  # its /proc/cmdline, nothing passthrough-related
    "memory.hugepages": "skip",  # the slice has no /sys/kernel/mm/hugepages
    "display.looking_glass": "skip",  # lsmod has no kvmfr, /dev no kvmfr0, /dev/shm no file
    "vfio.binding": "skip",  # blocked by iommu.enabled (no groups in this lspci)
    "pci.device_state": "skip",  # no device on vfio-pci
}


def _virt_report(tmp_path: Path) -> Path:
    """What `sos report -p virt` holds: libvirt's files and virsh, no lspci, cmdline or dmesg."""
    top = report(tmp_path, {"sos_commands/virsh/virsh_-r_list_--all": " Id   Name   State\n"})
    if HOTSOS.is_dir():
        for rel in (
            "etc/libvirt/qemu.conf",
            "etc/libvirt/qemu/instance-00000001.xml",
            "var/log/libvirt/qemu/instance-00000001.log",
        ):
            (top / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(HOTSOS / rel, top / rel)
    return top


def _said(result: dict[str, Any]) -> bool:
    """Whether a skip says why in the report's terms: what is missing and what collects it, or
    the probe it waits for, or a verdict from evidence present."""
    summary = result["summary"]
    if result["blocked_by"]:
        return True
    return "not in this sosreport: needs" in summary and any(h in summary for h in HOW)


def _check_absent(results: dict[str, dict[str, Any]], evidence: tuple[str, ...]) -> None:
    """No probe without evidence in the report passes or fails; each skip says what is missing."""
    for pid, result in results.items():
        if pid in evidence:
            continue
        assert result["status"] == "skip", (pid, result["summary"])
        if pid in OTHERS_GAPS and OTHERS_GAPS[pid] in result["summary"]:
            continue
        assert _said(result), (pid, result["summary"])


@pytest.mark.skipif(not HOTSOS.is_dir(), reason="../shared/peer-data absent")
def test_hotsos_audit() -> None:
    """On the hotsos slice the machine probes judge what it holds and skip what it lacks."""
    results = probe_json(HOTSOS)
    for pid, status in HOTSOS_OWN.items():
        assert results[pid]["status"] == status, (pid, results[pid]["summary"])
    for pid in ("memory.hugepages",):
        assert _said(results[pid]), results[pid]["summary"]
        assert "memory plugin" in results[pid]["summary"]
    for pid, result in results.items():
        if result["status"] == "skip" and pid not in OTHERS_GAPS:
            summary = result["summary"]
            assert _said(result) or "not set up" in summary or "no passthrough device" in summary, (
                pid,
                summary,
            )
        assert "workbench capture" not in result["summary"], (pid, result["summary"])


def test_virt_only_audit(tmp_path: Path) -> None:
    """A `-p virt`-like report: every machine probe skips, naming what is missing and its plugin."""
    results = probe_json(_virt_report(tmp_path))
    _check_absent(results, VIRT)
    for pid in OWN:
        assert results[pid]["status"] == "skip", pid


def test_empty_report_audit(tmp_path: Path) -> None:
    """A report of version.txt and sos_commands/ only: every probe skips and says what it needs."""
    results = probe_json(report(tmp_path, {}))
    _check_absent(results, ())
    wants = {
        "cpu.virtualization": "processor plugin",
        "kvm.device": "block plugin",
        "kernel.log": "kernel plugin",
        "kernel.cmdline": "kernel plugin",
        "memory.hugepages": "memory plugin",
        "display.looking_glass": "kernel plugin",
    }
    for pid, words in wants.items():
        assert words in results[pid]["summary"], (pid, results[pid]["summary"])


LSPCI_VFIO = """0b:00.0 VGA compatible controller [0300]: NVIDIA Corporation GA104 [10de:2486] (rev a1)
\tKernel driver in use: vfio-pci
\tIOMMU group: 20

0b:00.1 Audio device [0403]: NVIDIA Corporation GA104 Audio [10de:228b] (rev a1)
\tKernel driver in use: vfio-pci
\tIOMMU group: 20
"""


def test_passthrough_report_audit(tmp_path: Path) -> None:
    """A report with a GPU on vfio-pci: vfio.binding judges it; device state says what no
    sosreport holds; interrupt remapping is read from its dmesg."""
    top = report(
        tmp_path,
        {
            "sos_commands/pci/lspci_-nnvv": LSPCI_VFIO,
            "sos_commands/kernel/dmesg": "[    0.5] AMD-Vi: Interrupt remapping enabled\n",
            "proc/cmdline": "BOOT_IMAGE=/vmlinuz amd_iommu=on vfio-pci.ids=10de:2486,10de:228b\n",
        },
    )
    results = probe_json(top, "vfio.binding", "pci.device_state", "kernel.cmdline")
    assert results["vfio.binding"]["status"] == "pass"
    assert results["vfio.binding"]["facts"]["module_loaded"] is None  # no lsmod: unknown
    state = results["pci.device_state"]
    said = "not in this sosreport: needs the devices' sysfs resource, config and power_state"
    assert state["status"] == "skip"
    assert state["summary"] == f"the devices' state is {said} (no sos plugin collects them: " + (
        "`workbench capture` on the machine)"
    )
    (gaps,) = [f for f in state["findings"] if f["code"] == "DEVICE_STATE_NOT_RECORDED"]
    assert gaps["remedy"].startswith(f"Their state is {said}")
    assert results["kernel.cmdline"]["status"] == "pass"
