"""One machine, one story: cpu.virtualization and kvm.device agree when KVM runs without
VT-x/AMD-V (kvm_pvm), and kernel.cmdline names what the IOMMU lacks for the CPU vendor when
iommu.enabled finds it off; on roots built from ../shared/hosts facts and on this machine."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from probes.cmdline_iommu import NOTES
from tests.conftest import SHARED, load_facts, report_for, run_cli

MakeRoot = Callable[..., Path]
KVM_OK = {"kind": "char", "mode": "0600", "owner": "root", "group": "root", "accessible": True}
STORY = ["cpu.virtualization", "kvm.device", "iommu.enabled", "kernel.cmdline"]
SHARED_HOSTS = SHARED / "hosts"  # the real passthrough hosts, as published
HOSTS = sorted(p.stem for p in SHARED_HOSTS.glob("*.json"))
GUEST_CPU = (
    "processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC\n"
    "flags\t\t: fpu vme de pse tsc msr pae mce cx8 apic sep sse sse2 ht hypervisor\n\n"
)


def pvm_guest(make_root: MakeRoot, modules: list[str]) -> Path:
    """The Renoir machine's devices as seen from a VM without nested virtualization (no svm,
    the hypervisor flag), with `modules` loaded besides kvm and /dev/kvm there."""
    root = make_root(
        load_facts("benbaker-renoir-acs-override"),
        modules=modules,
        device_nodes={"/dev/kvm": KVM_OK},
    )
    (root / "proc/cpuinfo").write_text(GUEST_CPU)
    shutil.rmtree(root / "sys/module/kvm_amd")
    return root


def test_paravirtualized_kvm_is_one_story(make_root: MakeRoot) -> None:
    """kvm_pvm loaded and no svm: cpu.virtualization warns that KVM works paravirtualized and
    passthrough does not; kvm.device passes and says the same."""
    report = report_for(pvm_guest(make_root, ["kvm_pvm"]), only=STORY)
    cpu, kvm = report.get("cpu.virtualization"), report.get("kvm.device")
    assert cpu.status == "warn"
    (finding,) = cpu.findings
    assert finding.code == "CPU_KVM_PARAVIRTUALIZED"
    assert "KVM works here paravirtualized (kvm_pvm is loaded)" in finding.message
    assert "passthrough (VFIO) still cannot work" in finding.message
    assert finding.remedy and "virtual machine" in finding.remedy
    assert cpu.facts["paravirtualized"] == "kvm_pvm"
    assert kvm.status == "pass" and kvm.facts["paravirtualized"] == "kvm_pvm"
    assert "paravirtualized" in kvm.summary
    assert [f.code for f in kvm.findings] == ["KVM_PARAVIRTUALIZED"]


def test_no_virtualization_without_pvm_still_fails(make_root: MakeRoot) -> None:
    """The same VM without kvm_pvm: KVM cannot run at all; cpu.virtualization fails as before."""
    report = report_for(pvm_guest(make_root, []), only=STORY)
    cpu = report.get("cpu.virtualization")
    assert cpu.status == "fail"
    assert [f.code for f in cpu.findings] == ["CPU_NO_VIRT_EXT"]
    assert cpu.facts["paravirtualized"] is None
    assert "paravirtualized" not in report.get("kvm.device").summary


def iommu_off(
    make_root: MakeRoot, name: str, cmdline: str | None = None, config: str | None = None
) -> Path:
    """`name`'s machine with its IOMMU off (no groups, no unit), booted with `cmdline` (its
    own when None) and, when given, the kernel's /boot/config-RELEASE."""
    facts = load_facts(name)
    for dev in facts["devices"]:
        dev["iommu_group"] = None
    changes: dict[str, Any] = {"kernel": "6.8.0-49-generic"}
    if cmdline is not None:
        changes["kernel_cmdline"] = cmdline
    root = make_root(facts, **changes)
    if config is not None:
        (root / "boot").mkdir()
        (root / "boot/config-6.8.0-49-generic").write_text(config)
    return root


INTEL = "asokolsky-duo-z370-gt1030"  # its published cmdline: `ro quiet splash`, no intel_iommu
AMD = "benbaker-renoir-acs-override"  # its published cmdline: no amd_iommu or iommu


@pytest.mark.parametrize(
    ("name", "cmdline", "config", "code", "says", "not_said"),
    [
        (INTEL, None, None, "CMDLINE_IOMMU_MISSING", "lacks intel_iommu=on", "BIOS"),
        (INTEL, None, None, "CMDLINE_IOMMU_MISSING", "unless it was built with", "amd"),
        (
            INTEL,
            None,
            "# CONFIG_INTEL_IOMMU_DEFAULT_ON is not set\n",
            "CMDLINE_IOMMU_MISSING",
            "lacks intel_iommu=on",
            "unless",
        ),
        (
            INTEL,
            None,
            "CONFIG_INTEL_IOMMU_DEFAULT_ON=y\n",
            "CMDLINE_IOMMU_NOT_EFFECTIVE",
            "enables VT-d by default",
            "lacks",
        ),
        (
            INTEL,
            "ro quiet intel_iommu=on",
            None,
            "CMDLINE_IOMMU_NOT_EFFECTIVE",
            "intel_iommu=on is set",
            "lacks",
        ),
        (AMD, None, None, "CMDLINE_IOMMU_NOT_NEEDED", "on AMD none is needed", "intel_iommu"),
    ],
)
def test_cmdline_names_what_the_vendor_lacks(
    make_root: MakeRoot,
    name: str,
    cmdline: str | None,
    config: str | None,
    code: str,
    says: str,
    not_said: str,
) -> None:
    """The IOMMU off: kernel.cmdline warns, naming intel_iommu=on on Intel (unless the kernel
    defaults to it, or it is set: then the firmware's VT-d); on AMD, where no parameter is
    needed (iommu=pt only optional), a note that points to the firmware and iommu.enabled."""
    report = report_for(iommu_off(make_root, name, cmdline, config), only=STORY)
    assert report.get("iommu.enabled").status == "fail"
    result = report.get("kernel.cmdline")
    assert result.status == "warn"  # on the AMD machine: its pcie_acs_override, not the IOMMU
    (finding,) = [f for f in result.findings if f.code.startswith("CMDLINE_IOMMU_")]
    assert finding.code == code
    assert finding.severity == ("info" if name == AMD else "warn")
    assert says in finding.message and not_said not in finding.message
    said = {
        "CMDLINE_IOMMU_MISSING": "nothing here turns it on",
        "CMDLINE_IOMMU_NOT_NEEDED": "nothing here is missing (see iommu.enabled)",
    }.get(code, "all the same")
    assert said in result.summary
    if name == AMD:
        assert finding.remedy and "firmware setup (BIOS)" in finding.remedy
        assert "`iommu=pt` on the command line is optional" in finding.remedy


def test_iommu_turned_off_on_the_cmdline_is_said_once(make_root: MakeRoot) -> None:
    """intel_iommu=off: CMDLINE_IOMMU_OFF says it; no second warning of a missing parameter."""
    root = iommu_off(make_root, INTEL, "ro quiet intel_iommu=off")
    result = report_for(root, only=STORY).get("kernel.cmdline")
    assert [f.code for f in result.findings if f.code.startswith("CMDLINE_IOMMU")] == [
        "CMDLINE_IOMMU_OFF"
    ]


@pytest.mark.skipif(not HOSTS, reason="../shared/hosts is not here")
@pytest.mark.parametrize("name", HOSTS or ["none"])
def test_recorded_hosts_keep_their_cmdline_verdict(make_root: MakeRoot, name: str) -> None:
    """Each real passthrough host (its IOMMU on) keeps kernel.cmdline as before: no IOMMU
    parameter is asked for, and only the ACS override warns."""
    facts = json.loads((SHARED_HOSTS / f"{name}.json").read_text())
    report = report_for(make_root(facts), only=STORY)
    assert report.get("iommu.enabled").status == "pass"
    result = report.get("kernel.cmdline")
    expected = "warn" if "pcie_acs_override" in (facts["kernel_cmdline"] or "") else "pass"
    assert result.status == expected
    assert not [f for f in result.findings if f.code.startswith("CMDLINE_IOMMU")]
    assert report.get("cpu.virtualization").status == "pass"


def _flags() -> set[str]:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("flags"):
            return set(line.split(":", 1)[1].split())
    return set()


def test_this_machine_tells_one_story() -> None:
    """`workbench probe` here: where KVM runs without vmx/svm (kvm_pvm), cpu.virtualization
    warns and kvm.device says paravirtualized; kernel.cmdline speaks of the IOMMU exactly when
    iommu.enabled finds it off and no parameter turns it off (a note, not a second warning, in
    a VM or on AMD)."""
    proc = run_cli("probe", "--json", "--only", ",".join(STORY))
    assert proc.returncode in (0, 1), proc.stderr
    by_id = {p["id"]: p for p in json.loads(proc.stdout)["probes"]}
    pvm = Path("/sys/module/kvm_pvm").is_dir() and not _flags() & {"vmx", "svm"}
    assert (by_id["cpu.virtualization"]["status"] == "warn") == pvm
    assert (by_id["kvm.device"]["facts"].get("paravirtualized") == "kvm_pvm") == pvm
    enabled = by_id["iommu.enabled"]
    off = enabled["status"] == "fail" and "=off" not in Path("/proc/cmdline").read_text()
    codes = {f["code"] for f in by_id["kernel.cmdline"]["findings"]}
    said = {"CMDLINE_IOMMU_MISSING", "CMDLINE_IOMMU_NOT_EFFECTIVE", *NOTES}
    assert bool(codes & said) == off
    if off and codes & NOTES:
        assert by_id["kernel.cmdline"]["status"] == "pass"
