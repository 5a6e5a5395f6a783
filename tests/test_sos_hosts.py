"""Every real machine of ../shared/hosts, as a sosreport: the same GPU verdicts as its machine root."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.sosfixtures import host_facts, load_facts, write_sos_fixture
from workbench.machines import build_root

WORKBENCH = Path(sys.executable).with_name("workbench")
COMPARED = ("iommu.enabled", "iommu.groups", "pci.gpus", "vfio.binding")
CARD_NOTE = "GPU_CARD_NOT_RECORDED"
GPU_KEYS = ("bdf", "driver", "iommu_group", "functions", "isolated", "blockers", "boot_vga")
HOSTS = host_facts()
pytestmark = pytest.mark.skipif(not HOSTS, reason="../shared/hosts is absent")


def probe(*target: str) -> dict[str, dict[str, Any]]:
    """The probes `workbench probe --json` reports for a target, by id."""
    done = subprocess.run(
        [str(WORKBENCH), "probe", *target, "--json", "--only", ",".join(COMPARED)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode in (0, 1), done.stderr
    return {p["id"]: p for p in json.loads(done.stdout)["probes"]}


def verdicts(probes: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """What must agree: statuses, each GPU's facts, the groups, what is bound to vfio-pci."""
    gpus = probes["pci.gpus"]["facts"].get("gpus", [])
    vfio = probes["vfio.binding"]
    return {
        "status": {k: probes[k]["status"] for k in ("iommu.groups", "pci.gpus", "vfio.binding")},
        "gpus": [{k: g[k] for k in GPU_KEYS} for g in gpus],
        "groups": probes["iommu.groups"]["facts"].get("groups"),
        "vfio": (
            vfio["facts"].get("bound"),
            [c["gpu"] for c in vfio["facts"].get("candidates", [])],
        ),
        # The fixture's `lspci -tv` draws a device without `parent` on a root bus of its own
        # (its place recorded) where the machine root lists it flat (not recorded): the note
        # that a flat card may miss its audio is the root's alone.
        "findings": sorted(
            f["code"] for f in probes["pci.gpus"]["findings"] if f["code"] != CARD_NOTE
        ),
    }


@pytest.fixture(scope="module")
def roots(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """Each machine's verdicts from its machine root (workbench.machines.build_root)."""
    out = {}
    for path in HOSTS:
        root = build_root(load_facts(path), tmp_path_factory.mktemp(path.stem) / "root")
        out[path.stem] = probe("--root", str(root))
    return out


@pytest.mark.parametrize("source", ["lspci", "nodedev", "dmesg"])
@pytest.mark.parametrize("host", HOSTS, ids=lambda p: p.stem)
def test_same_verdicts_as_the_machine_root(
    host: Path, source: str, roots: dict[str, dict[str, Any]], tmp_path: Path
) -> None:
    """With the groups from each source, a host's sosreport judges its GPUs as its root does."""
    report = write_sos_fixture(load_facts(host), tmp_path / "sos", groups=source)
    got = probe("--sos", str(report))
    assert verdicts(got) == verdicts(roots[host.stem])
    assert got["iommu.enabled"]["status"] == roots[host.stem]["iommu.enabled"]["status"] == "pass"
    assert got["iommu.enabled"]["findings"] == []  # no "no unit listed": a report has no units


@pytest.mark.parametrize("host", HOSTS, ids=lambda p: p.stem)
def test_without_groups_says_not_in_this_sosreport(host: Path, tmp_path: Path) -> None:
    """No source of groups and no package list: isolation is not recorded, never 'IOMMU is off'."""
    report = write_sos_fixture(load_facts(host), tmp_path / "sos", groups="none", pciutils=None)
    got = probe("--sos", str(report))
    enabled = got["iommu.enabled"]
    assert enabled["status"] == "skip"
    assert "not in this sosreport: needs the IOMMU groups" in enabled["summary"]
    assert all(f["code"] != "IOMMU_OFF" for f in enabled["findings"])
    gpus = got["pci.gpus"]
    assert gpus["status"] != "fail"
    assert "isolation not recorded" in gpus["summary"]
    assert all(g["isolated"] is None for g in gpus["facts"]["gpus"])
    shown = " ".join(f["message"] for f in gpus["findings"])
    assert "not in this sosreport" in shown


@pytest.mark.parametrize("host", HOSTS, ids=lambda p: p.stem)
def test_kernel_lines_prove_the_iommu_on_without_groups(host: Path, tmp_path: Path) -> None:
    """The kernel's DMAR / AMD-Vi lines make iommu.enabled pass, saying the groups are missing."""
    facts = load_facts(host)
    report = write_sos_fixture(
        facts, tmp_path / "sos", groups="none", pciutils=None, iommu_lines=True
    )
    enabled = probe("--sos", str(report))["iommu.enabled"]
    assert enabled["status"] == "pass"
    line = (
        "AMD-Vi: Interrupt remapping enabled"
        if facts["cpu_vendor"] == "amd"
        else "DMAR: Intel(R) Virtualization Technology for Directed I/O"
    )
    assert enabled["summary"].startswith("on (kernel log: [")
    assert line in enabled["summary"]
    assert "not in this sosreport: needs the IOMMU groups" in enabled["summary"]
