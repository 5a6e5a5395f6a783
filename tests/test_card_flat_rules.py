"""pci.gpus on a flat listing (where devices sit not recorded): only a device that could sit
below the GPU's own switch is left unjudged; every other group member still blocks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from probes.gpus import may_be_card
from tests.conftest import report_for
from tests.sosfixtures import HOSTS as SHARED_HOSTS
from tests.sosfixtures import load_facts
from workbench.core.pci import PciDevice, PciInventory
from workbench.machines import build_root

ARC = "asus-proworks-b850m-epyc4545p-arc-a310-b50-aspeed"


def dev(bdf: str, cls: str, vendor: str, group: int, driver: str | None) -> dict[str, Any]:
    return {"bdf": bdf, "class": cls, "vendor": vendor, "device": "0001", "name": None} | {
        "iommu_group": group,
        "driver": driver,
    }


def facts(devices: list[dict[str, Any]]) -> dict[str, Any]:
    return {"source": "handmade", "complete": True, "cpu_vendor": "intel", "devices": devices}


def gpus_of(tmp_path: Path, devices: list[dict[str, Any]]) -> tuple[dict[str, Any], Any]:
    result = report_for(build_root(facts(devices), tmp_path / "r")).get("pci.gpus")
    return {g["bdf"]: g for g in result.facts["gpus"]}, result


def test_two_nvidia_cards_in_one_group_block_each_other(tmp_path: Path) -> None:
    """Two NVIDIA cards sharing a group (flat listing): the other card's GPU and audio sit in a
    slot that holds a GPU, so they are blockers, and the vfio-pci GPU fails, not 'not judged'."""
    found, result = gpus_of(
        tmp_path,
        [
            dev("0000:00:00.0", "0600", "8086", 0, None),
            dev("0000:00:01.0", "0604", "8086", 1, "pcieport"),
            dev("0000:00:01.1", "0604", "8086", 1, "pcieport"),
            dev("0000:00:02.0", "0300", "8086", 2, "i915"),
            dev("0000:01:00.0", "0300", "10de", 1, "vfio-pci"),
            dev("0000:01:00.1", "0403", "10de", 1, "vfio-pci"),
            dev("0000:02:00.0", "0300", "10de", 1, "nvidia"),
            dev("0000:02:00.1", "0403", "10de", 1, "snd_hda_intel"),
        ],
    )
    first = found["0000:01:00.0"]
    assert (first["isolated"], first["card_unknown"]) == (False, [])
    assert first["blockers"] == ["0000:02:00.0", "0000:02:00.1"]
    assert result.status == "fail"
    assert "GPU_CARD_NOT_RECORDED" not in {f.code for f in result.findings}


def test_arc_in_a_chipset_group_is_blocked_by_the_xhci(tmp_path: Path) -> None:
    """An Arc in the chipset's group with Intel's xHCI at 00:14.0: bus 00 is never the card's,
    so the xHCI blocks; only the audio on the next bus is left unjudged."""
    found, result = gpus_of(
        tmp_path,
        [
            dev("0000:00:02.0", "0300", "8086", 0, "i915"),
            dev("0000:00:14.0", "0c03", "8086", 5, "xhci_hcd"),
            dev("0000:00:1c.0", "0604", "8086", 5, "pcieport"),
            dev("0000:03:00.0", "0300", "8086", 5, "vfio-pci"),
            dev("0000:04:00.0", "0403", "8086", 5, "vfio-pci"),
        ],
    )
    arc = found["0000:03:00.0"]
    assert (arc["blockers"], arc["card_unknown"], arc["isolated"]) == (
        ["0000:00:14.0"],
        ["0000:04:00.0"],
        False,
    )
    assert result.status == "fail"
    (blocked,) = [f for f in result.findings if f.code == "GPU_NOT_ISOLATED"]
    assert "0000:00:14.0" in blocked.message and "0000:04:00.0" not in blocked.message


def pci(bdf: str, cls: str, vendor: str) -> PciDevice:
    return PciDevice(bdf, vendor, "0001", cls + "00")


GPU = pci("0000:03:00.0", "0300", "8086")


@pytest.mark.parametrize(
    ("other", "maybe"),
    [
        (pci("0000:04:00.0", "0403", "8086"), True),  # the audio on the next bus
        (pci("0000:05:00.0", "0403", "8086"), True),  # two buses on
        (pci("0000:06:00.0", "0403", "8086"), False),  # too far
        (pci("0000:02:00.0", "0403", "8086"), False),  # a bus before the GPU's
        (pci("0000:00:14.0", "0c03", "8086"), False),  # the root bus
        (pci("0000:04:00.0", "0403", "10de"), False),  # another vendor
        (pci("0000:04:00.0", "0300", "8086"), False),  # another GPU
        (pci("0000:04:00.0", "0604", "8086"), False),  # a bridge (judged as a bridge)
        (pci("0001:04:00.0", "0403", "8086"), False),  # another domain
    ],
    ids=["next-bus", "two-on", "too-far", "before", "bus-00", "vendor", "gpu", "bridge", "domain"],
)
def test_may_be_card_table(other: PciDevice, maybe: bool) -> None:
    """Only a same-vendor non-GPU device 1..2 buses after the GPU may be its card's."""
    inv = PciInventory((GPU, other), {}, "sysfs")
    assert may_be_card(inv, GPU, other) is maybe


def test_a_function_beside_another_gpu_is_not_the_card(tmp_path: Path) -> None:
    """The audio of a second card (its slot holds a GPU) on the next bus is never the first's."""
    other_gpu, audio = pci("0000:04:00.0", "0300", "8086"), pci("0000:04:00.1", "0403", "8086")
    inv = PciInventory((GPU, other_gpu, audio), {}, "sysfs")
    assert may_be_card(inv, GPU, audio) is False


def test_an_integrated_gpu_has_no_card_below_it() -> None:
    """A GPU on bus 00 (integrated) has no card switch: nothing on bus 01 is its card's."""
    igpu, nic = pci("0000:00:02.0", "0300", "8086"), pci("0000:01:00.0", "0200", "8086")
    assert may_be_card(PciInventory((igpu, nic), {}, "sysfs"), igpu, nic) is False


def test_flat_b50_says_its_audio_is_not_recorded(tmp_path: Path) -> None:
    """The B50 (no `parent` in its listing) is alone in its group, yet its audio on the next
    bus may be its card's: an info note says so, and the verdict stays a pass."""
    root = build_root(load_facts(SHARED_HOSTS / f"{ARC}.json"), tmp_path / "r")
    result = report_for(root).get("pci.gpus")
    b50 = {g["bdf"]: g for g in result.facts["gpus"]}["0000:03:00.0"]
    assert (b50["isolated"], b50["card_unknown"], b50["card_nearby"]) == (
        True,
        [],
        ["0000:04:00.0"],
    )
    (note,) = [f for f in result.findings if "GPU 0000:03:00.0" in f.message]
    assert (note.code, note.severity) == ("GPU_CARD_NOT_RECORDED", "info")
    assert "0000:04:00.0" in note.message and "vfio-pci ids line" in note.message
    assert result.status == "pass"
