"""vm.preflight reads pci.device_state: a VM whose devices that run finds broken cannot start,
on recorded machines (roots from tests/conftest.py facts, a recorded hypervisor)."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from probes.vm_devstate import state_checks
from tests.conftest import report_for, run_cli
from tests.test_probe_vm_preflight import (
    SHUTOFF,
    domain_xml,
    hostdev,
    record_hypervisor,
    with_state,
)
from tests.virt_helpers import Domain, write_node
from workbench.core.report import ProbeResult, Report

GPU, AUDIO = "0000:01:00.0", "0000:01:00.1"
BOTH = [hostdev(GPU), hostdev(AUDIO)]
IOMEM_BOOTFB_IN_BAR1 = [
    "00000000-00000fff : Reserved",
    "e0000000-efffffff : 0000:01:00.0",
    "  e0000000-e02fffff : BOOTFB",
]
DEAD = {"config": "ff" * 64}
ONLY = ["vm.preflight", "pci.device_state"]


def _root(
    make_root: Callable[..., Path],
    facts: dict[str, Any],
    devices: list[str] = BOTH,
    cmdline: str = "ro quiet intel_iommu=on",
) -> Path:
    facts = copy.deepcopy(facts)
    facts["kernel_cmdline"] = cmdline
    return record_hypervisor(make_root(facts), [("gpuvm", SHUTOFF, domain_xml("gpuvm", devices))])


def _state_checks(report: Report) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for check in report.get("vm.preflight").facts["vms"]["gpuvm"]["checks"]:
        if check["check"] == "device_state":
            out.setdefault(check["subject"], []).append(check)
    return out


def test_broken_devices_make_the_vm_not_ready(
    make_root: Callable[..., Path], minimal_facts: dict[str, Any]
) -> None:
    """BOOTFB in the GPU's BAR 1, the audio reading all ones, intremap=off: each a failing
    device_state check with its cause; not ready; the findings stay pci.device_state's."""
    facts = with_state(minimal_facts, [GPU, AUDIO], {AUDIO: DEAD}, IOMEM_BOOTFB_IN_BAR1)
    root = _root(make_root, facts, cmdline="ro quiet intel_iommu=on intremap=off")
    report = report_for(root, only=ONLY)
    result = report.get("vm.preflight")
    vm = result.facts["vms"]["gpuvm"]
    assert vm["ready"] is False
    assert result.summary == "cannot: gpuvm"
    checks = _state_checks(report)
    assert [(c["status"], c["cause"]) for c in checks[GPU]] == [("fail", "BOOT_FB_HOLDS_BAR")]
    assert "BAR 1" in checks[GPU][0]["detail"]
    dead = ("fail", "DEVICE_DEAD_AFTER_UNCLEAN_RELEASE")
    assert [(c["status"], c["cause"]) for c in checks[AUDIO]] == [dead]
    assert [c["cause"] for c in checks["this machine"]] == ["INTERRUPT_REMAPPING_MISSING"]
    shown = {(c["code"], c["subject"].get("bdf")): c for c in vm["causes"]}
    bootfb = shown[("BOOT_FB_HOLDS_BAR", GPU)]
    assert bootfb["subject"]["vm"] == "gpuvm"
    assert "  e0000000-e02fffff : BOOTFB" in [e["text"] for e in bootfb["evidence"]]
    assert ("INTERRUPT_REMAPPING_MISSING", None) in shown
    said = {f.cause for f in report.get("pci.device_state").findings}
    assert said >= {"BOOT_FB_HOLDS_BAR", "DEVICE_DEAD_AFTER_UNCLEAN_RELEASE"}
    assert not said & {f.cause for f in result.findings}  # not a second finding


def test_the_cards_other_function_is_judged_too(
    make_root: Callable[..., Path], minimal_facts: dict[str, Any]
) -> None:
    """Only the GPU given, its audio function dead: the audio's state still fails the VM."""
    facts = with_state(minimal_facts, [GPU, AUDIO], {AUDIO: DEAD})
    report = report_for(_root(make_root, facts, [hostdev(GPU)]), only=ONLY)
    assert report.get("vm.preflight").facts["vms"]["gpuvm"]["ready"] is False
    checks = _state_checks(report)
    assert [c["status"] for c in checks[GPU]] == ["pass"]
    assert [c["cause"] for c in checks[AUDIO]] == ["DEVICE_DEAD_AFTER_UNCLEAN_RELEASE"]


def test_healthy_and_d3cold_devices_leave_the_vm_ready(
    make_root: Callable[..., Path], minimal_facts: dict[str, Any]
) -> None:
    """A healthy GPU passes; its audio parked in D3cold with no kernel line showing it failing
    to wake is info (vfio-pci wakes it on open): ready."""
    facts = with_state(minimal_facts, [GPU, AUDIO], {AUDIO: {"power_state": "D3cold"}})
    report = report_for(_root(make_root, facts), only=ONLY)
    result = report.get("vm.preflight")
    assert result.facts["vms"]["gpuvm"]["ready"] is True, result.facts["vms"]["gpuvm"]["checks"]
    assert result.status == "pass"
    checks = _state_checks(report)
    assert [c["status"] for c in checks[GPU]] == ["pass"]
    assert [c["status"] for c in checks[AUDIO]] == ["info"]
    assert "D3cold" in checks[AUDIO][0]["detail"]
    device_state = report.get("pci.device_state")
    assert [f.code for f in device_state.findings] == ["DEVICE_IN_D3COLD"]


def test_device_state_skipped_is_not_judged(
    make_root: Callable[..., Path], minimal_facts: dict[str, Any]
) -> None:
    """No device state recorded (pci.device_state skips): the preflight still runs, each device
    "device state not judged", ready null, never ready."""
    report = report_for(_root(make_root, minimal_facts), only=ONLY)
    assert report.get("pci.device_state").status == "skip"
    result = report.get("vm.preflight")
    assert result.status != "skip" and result.blocked_by == []
    assert result.facts["vms"]["gpuvm"]["ready"] is None
    assert result.summary == "not known: gpuvm"
    checks = _state_checks(report)
    assert sorted(checks) == [GPU, AUDIO]
    for (check,) in checks.values():
        assert check["status"] == "not recorded"
        assert check["detail"].startswith("device state not judged: pci.device_state skipped")


def test_iomem_not_recorded_is_not_a_pass(
    make_root: Callable[..., Path], minimal_facts: dict[str, Any]
) -> None:
    """Device files recorded but not /proc/iomem: boot framebuffers not judged, ready null."""
    facts = with_state(minimal_facts, [GPU, AUDIO])
    del facts["iomem"]
    report = report_for(_root(make_root, facts), only=ONLY)
    assert report.get("vm.preflight").facts["vms"]["gpuvm"]["ready"] is None
    (check,) = _state_checks(report)[GPU]
    assert check["status"] == "not recorded" and "/proc/iomem" in check["detail"]


def test_the_command_line_run_says_it_cannot_start(
    make_root: Callable[..., Path], minimal_facts: dict[str, Any]
) -> None:
    """`workbench probe --root R --only vm.preflight,pci.device_state`, as a user runs it: the
    BOOTFB-held GPU makes vm.preflight say the VM cannot start, exit 1."""
    facts = with_state(minimal_facts, [GPU, AUDIO], iomem=IOMEM_BOOTFB_IN_BAR1)
    root = _root(make_root, facts)
    done = run_cli("probe", "--root", str(root), "--only", ",".join(ONLY), "--json")
    assert done.returncode == 1, done.stderr
    probes = {p["id"]: p for p in json.loads(done.stdout)["probes"]}
    preflight = probes["vm.preflight"]
    assert preflight["facts"]["vms"]["gpuvm"]["ready"] is False
    assert preflight["summary"] == "cannot: gpuvm"
    assert [f["cause"] for f in probes["pci.device_state"]["findings"]] == ["BOOT_FB_HOLDS_BAR"]
    # the cause is pci.device_state's finding; vm.preflight fails, pointing there
    assert preflight["status"] == "fail"
    (pointer,) = preflight["findings"]
    assert pointer["code"] == "VM_CANNOT_START" and pointer["cause"] is None
    assert pointer["remedy"].startswith("pci.device_state's finding")


def test_the_hostile_testers_run_through_the_test_driver(
    make_root: Callable[..., Path], minimal_facts: dict[str, Any], tmp_path: Path
) -> None:
    """The reported run: `--connect test:///node.xml --only vm.preflight,pci.device_state`,
    BOOTFB in BAR 1, the audio all ones and in D3cold, intremap=off: gpuvm cannot start (the
    audio's D3cold alone is info: its config is not read there)."""
    changes = {AUDIO: {**DEAD, "power_state": "D3cold"}}
    facts = with_state(minimal_facts, [GPU, AUDIO], changes, IOMEM_BOOTFB_IN_BAR1)
    facts["kernel_cmdline"] = "ro quiet intel_iommu=on intremap=off"
    root = make_root(facts)
    node = write_node(
        tmp_path / "node.xml", [Domain("gpuvm", running=False, hostdevs=[GPU, AUDIO])]
    )
    done = run_cli(
        "probe",
        "--root",
        str(root),
        "--connect",
        f"test://{node}",
        "--only",
        ",".join(ONLY),
        "--json",
    )
    assert done.returncode == 1, done.stderr
    probes = {p["id"]: p for p in json.loads(done.stdout)["probes"]}
    vm = probes["vm.preflight"]["facts"]["vms"]["gpuvm"]
    assert vm["ready"] is False
    assert probes["vm.preflight"]["summary"] == "cannot: gpuvm"
    states = {
        (c["subject"], c["status"], c["cause"])
        for c in vm["checks"]
        if c["check"] == "device_state"
    }
    assert states == {
        (GPU, "fail", "BOOT_FB_HOLDS_BAR"),
        (AUDIO, "info", None),
        ("this machine", "fail", "INTERRUPT_REMAPPING_MISSING"),
    }


def test_device_state_errored_is_not_judged_and_escaped() -> None:
    """pci.device_state errored (its summary holding control characters and 10 kB): each device
    "not judged", the reason escaped and bounded."""
    errored = ProbeResult("pci.device_state", "t", "error", "hung \x1b[31m" + "x" * 10_000)
    found = state_checks(errored, [GPU, AUDIO])
    assert [(c.subject, c.status, cause) for c, cause in found] == [
        (GPU, "not recorded", None),
        (AUDIO, "not recorded", None),
    ]
    detail = found[0][0].detail
    assert detail.startswith("device state not judged: pci.device_state errored (hung \\x1b[31m")
    assert "\x1b" not in detail and len(detail) < 300
