"""One definition of a bridge and of the kernel's viability rule (workbench.core.viability),
shared by pci.gpus, libvirt.domains and explain: a bridge is judged by its driver."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import report_for
from tests.test_card_flat_rules import dev, facts
from workbench.core.viability import is_bridge_class, keeps_viable
from workbench.explain.facts import Device
from workbench.machines import build_root


@pytest.mark.parametrize(
    ("driver", "viable"),
    [
        (None, True),
        ("vfio-pci", True),
        ("nvgrace_gpu_vfio_pci", True),
        ("pci-stub", True),
        ("pcieport", True),
        ("shpchp", False),  # sets no driver_managed_dma: a bridge on it blocks since 5.19
        ("snd_hda_intel", False),
    ],
)
def test_keeps_viable_table(driver: str | None, viable: bool) -> None:
    """Only no driver, vfio (and variants), pci-stub and pcieport leave a group viable."""
    assert keeps_viable(driver) is viable


@pytest.mark.parametrize(
    ("cls", "bridge"),
    [("0600", True), ("0604", True), ("0607", True), ("0609", True), ("0601", False)],
)
def test_bridge_classes(cls: str, bridge: bool) -> None:
    """Host, PCI-to-PCI, CardBus and semi-transparent bridges; an ISA bridge is a device."""
    assert is_bridge_class(cls) is bridge
    assert Device(bdf="0000:00:1f.0", pci_class=cls).is_bridge is bridge


@pytest.mark.parametrize(("driver", "blocks"), [("pcieport", False), ("shpchp", True)])
def test_pci_gpus_judges_a_bridge_by_its_driver(tmp_path: Path, driver: str, blocks: bool) -> None:
    """A bridge in the GPU's group on pcieport is no blocker; on shpchp it is one."""
    devices = [
        dev("0000:00:01.0", "0604", "8086", 1, driver),
        dev("0000:01:00.0", "0300", "10de", 1, "vfio-pci"),
        dev("0000:01:00.1", "0403", "10de", 1, "vfio-pci"),
        dev("0000:00:02.0", "0300", "8086", 2, "i915"),
    ]
    result = report_for(build_root(facts(devices), tmp_path / "r")).get("pci.gpus")
    gpu = {g["bdf"]: g for g in result.facts["gpus"]}["0000:01:00.0"]
    assert gpu["blockers"] == (["0000:00:01.0"] if blocks else [])
    assert result.status == ("fail" if blocks else "pass")
