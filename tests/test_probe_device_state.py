"""`pci.device_state`: the passthrough devices' own state, on machine roots built from recorded
host facts with the device files each test needs."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import report_for, run_cli
from tests.virt_helpers import Domain, write_node
from workbench.core.machinelogs import KERNEL_LOG
from workbench.core.report import ProbeResult

GPU = "0000:01:00.0"
AUDIO = "0000:01:00.1"
# BAR 0 (registers), BAR 1 (VRAM, 64-bit prefetchable), BAR 3, an I/O BAR 5, and the ROM.
RESOURCE = "\n".join(
    [
        "0x00000000f6000000 0x00000000f6ffffff 0x0000000000040200",
        "0x00000000e0000000 0x00000000efffffff 0x000000000014220c",
        "0x0000000000000000 0x0000000000000000 0x0000000000000000",
        "0x00000000f0000000 0x00000000f1ffffff 0x000000000014220c",
        "0x0000000000000000 0x0000000000000000 0x0000000000000000",
        "0x000000000000e000 0x000000000000e07f 0x0000000000040101",
        "0x00000000f7000000 0x00000000f707ffff 0x0000000000046200",
    ]
)
IOMEM_BOOTFB_IN_BAR1 = """00000000-00000fff : Reserved
e0000000-efffffff : 0000:01:00.0
  e0000000-e02fffff : BOOTFB
f6000000-f6ffffff : 0000:01:00.0
"""
IOMEM_BOOTFB_ELSEWHERE = """00000000-00000fff : Reserved
c0000000-c02fffff : efifb
e0000000-efffffff : 0000:01:00.0
"""
CONFIG_OK = bytes.fromhex("de10011d0704100000000003") + bytes(52)
CONFIG_DEAD = b"\xff" * 64


def _devdir(root: Path, bdf: str) -> Path:
    return root / "sys/devices" / f"pci{bdf[:4]}:00" / bdf


def _machine(
    make_root: Callable[..., Path],
    facts: dict[str, Any],
    *,
    iomem: str | None = IOMEM_BOOTFB_ELSEWHERE,
    config: bytes | None = CONFIG_OK,
    power: str | None = "D0",
    resource: str | None = RESOURCE,
    params: dict[str, str] | None = None,
    cmdline: str | None = None,
    kernel: str | None = None,
) -> Path:
    """A recorded machine with the GPU card's state files (None: that file not recorded)."""
    root = make_root(facts)
    for bdf in (GPU, AUDIO):
        ddir = _devdir(root, bdf)
        if resource is not None:
            (ddir / "resource").write_text(resource + "\n" if bdf == GPU else "")
        if config is not None:
            (ddir / "config").write_bytes(config)
        if power is not None:
            (ddir / "power_state").write_text(power + "\n")
    if iomem is not None:
        (root / "proc/iomem").write_text(iomem)
    for rel, value in (params or {}).items():
        path = root / "sys/module" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(value + "\n")
    if cmdline is not None:
        (root / "proc/cmdline").write_text(cmdline + "\n")
    if kernel is not None:
        (root / KERNEL_LOG).parent.mkdir(parents=True, exist_ok=True)
        (root / KERNEL_LOG).write_text(kernel)
    return root


def _probe(root: Path, connect: str | None = None) -> ProbeResult:
    return report_for(root, connect, only=["pci.device_state"]).get("pci.device_state")


def _causes(result: ProbeResult) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for cause in result.facts["causes"]:
        out.setdefault(cause["code"], []).append(cause)
    return out


def test_healthy_card_passes_with_every_fact_recorded(
    make_root: Callable[..., Path], minimal_facts: dict[str, Any]
) -> None:
    """All state recorded and sound (efifb outside the BARs): pass, both functions judged."""
    result = _probe(_machine(make_root, minimal_facts))
    assert result.status == "pass", result.summary
    assert result.findings == [] and result.facts["causes"] == []
    assert [d["bdf"] for d in result.facts["devices"]] == [GPU, AUDIO]
    gpu = result.facts["devices"][0]
    assert [b["index"] for b in gpu["bars"]] == [0, 1, 3, 6]  # memory BARs and the ROM, no I/O
    assert gpu["config"] == "ok" and gpu["power_state"] == "D0"


def test_bootfb_inside_a_bar_names_the_bar_and_range(
    make_root: Callable[..., Path], minimal_facts: dict[str, Any]
) -> None:
    """BOOTFB inside BAR 1 of a vfio-pci GPU: BOOT_FB_HOLDS_BAR, the BAR, range and iomem line."""
    result = _probe(_machine(make_root, minimal_facts, iomem=IOMEM_BOOTFB_IN_BAR1))
    assert result.status == "fail"
    (finding,) = [f for f in result.findings if f.cause == "BOOT_FB_HOLDS_BAR"]
    assert GPU in finding.message and "BAR 1" in finding.message
    assert "e0000000-e02fffff" in finding.message
    assert finding.remedy
    (cause,) = _causes(result)["BOOT_FB_HOLDS_BAR"]
    texts = [e["text"] for e in cause["evidence"]]
    assert "  e0000000-e02fffff : BOOTFB" in texts
    assert any(t.startswith("0x00000000e0000000") for t in texts)  # the BAR's resource line


def test_config_space_all_ones_is_a_dead_device(
    make_root: Callable[..., Path], minimal_facts: dict[str, Any]
) -> None:
    """Config space reading ff ff ff ff: DEVICE_DEAD_AFTER_UNCLEAN_RELEASE for each function."""
    result = _probe(_machine(make_root, minimal_facts, config=CONFIG_DEAD))
    assert result.status == "fail"
    dead = _causes(result)["DEVICE_DEAD_AFTER_UNCLEAN_RELEASE"]
    assert sorted(c["subject"]["bdf"] for c in dead) == [GPU, AUDIO]
    assert all(f.cause == "DEVICE_DEAD_AFTER_UNCLEAN_RELEASE" for f in result.findings)


NO_WAKE = f"[ 912.1] vfio-pci {GPU}: Unable to change power state from D3cold to D0, device inaccessible\n"


@pytest.mark.parametrize(("idle_d3", "expected"), [("N", True), ("Y", False)])
def test_d3cold_that_cannot_wake_is_the_cause(
    make_root: Callable[..., Path], minimal_facts: dict[str, Any], idle_d3: str, expected: bool
) -> None:
    """D3cold with a kernel line showing it cannot wake is D3COLD_POWER_STATE (unless
    vfio_pci.disable_idle_d3 is set)."""
    params = {"vfio_pci/parameters/disable_idle_d3": idle_d3}
    root = _machine(make_root, minimal_facts, power="D3cold", params=params, kernel=NO_WAKE)
    result = _probe(root)
    assert ("D3COLD_POWER_STATE" in _causes(result)) is expected
    assert any(f.cause == "D3COLD_POWER_STATE" for f in result.findings) is expected
    if expected:
        assert result.status in ("warn", "fail")
        (cause,) = _causes(result)["D3COLD_POWER_STATE"]
        assert cause["subject"]["bdf"] == GPU


def test_d3cold_alone_is_info(
    make_root: Callable[..., Path], minimal_facts: dict[str, Any]
) -> None:
    """D3cold without a line showing the device cannot wake (vfio-pci parks idle devices
    there) is an info finding, never a failure; its config space is not read."""
    params = {"vfio_pci/parameters/disable_idle_d3": "N"}
    kernel = f"[ 5.1] vfio-pci {GPU}: enabling device (0000 -> 0003)\n"
    root = _machine(
        make_root, minimal_facts, power="D3cold", params=params, kernel=kernel, config=CONFIG_DEAD
    )
    result = _probe(root)
    assert "D3COLD_POWER_STATE" not in _causes(result)
    assert "DEVICE_DEAD_AFTER_UNCLEAN_RELEASE" not in _causes(result)  # config never read
    assert result.status in ("pass", "info")
    assert any(f.code == "DEVICE_IN_D3COLD" and f.severity == "info" for f in result.findings)
    assert all(d["config"] is None for d in result.facts["devices"])


@pytest.mark.parametrize(("unsafe", "expected"), [("N", True), ("Y", False)])
def test_interrupt_remapping_off_on_the_command_line(
    make_root: Callable[..., Path], minimal_facts: dict[str, Any], unsafe: str, expected: bool
) -> None:
    """`intremap=off` with allow_unsafe_interrupts N: INTERRUPT_REMAPPING_MISSING; Y: none."""
    params = {"vfio_iommu_type1/parameters/allow_unsafe_interrupts": unsafe}
    root = _machine(
        make_root, minimal_facts, params=params, cmdline="ro quiet intel_iommu=on intremap=off"
    )
    result = _probe(root)
    assert ("INTERRUPT_REMAPPING_MISSING" in _causes(result)) is expected
    assert result.facts["interrupt_remapping"] is False
    if expected:
        (cause,) = _causes(result)["INTERRUPT_REMAPPING_MISSING"]
        assert "intremap=off" in cause["evidence"][0]["text"]


def test_interrupt_remapping_from_the_kernel_logs_explicit_line(
    make_root: Callable[..., Path], minimal_facts: dict[str, Any]
) -> None:
    """The recorded kernel log's own line that remapping is off is the evidence."""
    line = (
        "[  522.129925] vfio_iommu_type1_attach_group: No interrupt remapping support.  Use the "
        'module param "allow_unsafe_interrupts" to enable VFIO IOMMU support on this platform'
    )
    params = {"vfio_iommu_type1/parameters/allow_unsafe_interrupts": "N"}
    result = _probe(_machine(make_root, minimal_facts, params=params, kernel=line + "\n"))
    (cause,) = _causes(result)["INTERRUPT_REMAPPING_MISSING"]
    assert cause["evidence"][0]["text"] == line
    assert cause["evidence"][0]["source"] == KERNEL_LOG


def test_interrupt_remapping_not_judged_without_a_fact_that_says_it(
    make_root: Callable[..., Path], minimal_facts: dict[str, Any]
) -> None:
    """No command-line switch and no explicit log line: remapping is unknown, not missing."""
    params = {"vfio_iommu_type1/parameters/allow_unsafe_interrupts": "N"}
    result = _probe(_machine(make_root, minimal_facts, params=params, kernel="[ 1.0] hello\n"))
    assert result.facts["interrupt_remapping"] is None
    assert "INTERRUPT_REMAPPING_MISSING" not in _causes(result)


def test_nothing_recorded_is_not_a_pass(
    make_root: Callable[..., Path], minimal_facts: dict[str, Any]
) -> None:
    """A capture without resource, config, power_state or /proc/iomem: skip, said not recorded."""
    root = _machine(make_root, minimal_facts, iomem=None, config=None, power=None, resource=None)
    result = _probe(root)
    assert result.status == "skip"
    assert "not recorded" in result.summary
    codes = {f.code for f in result.findings}
    assert codes == {"DEVICE_STATE_NOT_RECORDED", "IOMEM_NOT_RECORDED"}
    assert all(f.severity == "info" for f in result.findings)


def test_partly_recorded_names_what_was_not_judged(
    make_root: Callable[..., Path], minimal_facts: dict[str, Any]
) -> None:
    """config and power_state missing: an info finding names them for each function."""
    result = _probe(_machine(make_root, minimal_facts, config=None, power=None))
    (gap,) = [f for f in result.findings if f.code == "DEVICE_STATE_NOT_RECORDED"]
    assert gap.severity == "info"
    assert f"{GPU}: config, power_state" in gap.message
    assert "not recorded" in result.summary


def test_iomem_without_addresses_is_not_judged(
    make_root: Callable[..., Path], minimal_facts: dict[str, Any]
) -> None:
    """/proc/iomem read without root (all zeros) cannot show a BOOTFB: said so, not passed."""
    zeros = "00000000-00000000 : Reserved\n00000000-00000000 : BOOTFB\n"
    result = _probe(_machine(make_root, minimal_facts, iomem=zeros))
    assert "BOOT_FB_HOLDS_BAR" not in _causes(result)
    (gap,) = [f for f in result.findings if f.code == "IOMEM_NOT_RECORDED"]
    assert "as root" in gap.message


def test_gpu_named_in_a_hostdev_is_judged(
    make_root: Callable[..., Path], minimal_facts: dict[str, Any], tmp_path: Path
) -> None:
    """A GPU on a host driver that a domain's hostdev names is judged too (libvirt test driver)."""
    facts = json.loads(json.dumps(minimal_facts))
    for dev in facts["devices"]:
        if dev["bdf"] in (GPU, AUDIO):
            dev["driver"] = "nouveau" if dev["bdf"] == GPU else "snd_hda_intel"
    root = _machine(make_root, facts, config=CONFIG_DEAD)
    assert _probe(root).status == "skip"  # no vfio-pci device and no hypervisor: nothing to judge
    node = write_node(tmp_path / "node.xml", [Domain("win11", running=False, hostdevs=[GPU])])
    result = _probe(root, f"test://{node}")
    assert GPU in {
        c["subject"]["bdf"] for c in _causes(result)["DEVICE_DEAD_AFTER_UNCLEAN_RELEASE"]
    }


def test_cli_json_carries_cause_on_findings(
    make_root: Callable[..., Path], minimal_facts: dict[str, Any]
) -> None:
    """`workbench probe --json`: the probe's findings carry `cause`; exit 1 on a cause."""
    root = _machine(make_root, minimal_facts, iomem=IOMEM_BOOTFB_IN_BAR1)
    proc = run_cli("probe", "--root", str(root), "--only", "pci.device_state", "--json")
    assert proc.returncode == 1, proc.stderr
    doc = json.loads(proc.stdout)
    result = next(p for p in doc["probes"] if p["id"] == "pci.device_state")
    assert [f["cause"] for f in result["findings"]] == ["BOOT_FB_HOLDS_BAR"]
