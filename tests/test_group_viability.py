"""Group viability is the kernel's rule (workbench.core.viability), as libvirt.domains and
vm.preflight both judge it, on roots built from ../shared/hosts facts with recorded domains."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import load_facts, report_for
from tests.test_probe_vm_preflight import (
    RUNNING,
    SHUTOFF,
    domain_xml,
    hostdev,
    record_hypervisor,
)
from workbench.core.report import Report

B550 = "mapmanagement-b550-chipset-gpu"  # group 15: USB, SATA, bridges, the Radeon, the NIC
B550_CARD = ["0000:04:00.0", "0000:04:00.1"]
GT1030 = "asokolsky-duo-z370-gt1030"  # group 2: root port, GT 1030, its audio on snd_hda_intel
GTX960 = "asrock-z170-gtx960"  # group 1: root port (no driver), GTX 960 and its audio
NOT_RECORDED = object()  # a row whose member's driver the recording does not hold

ROWS = [
    # machine, the VM's hostdevs, the member that varies, its driver, the verdict
    (B550, B550_CARD, "0000:02:00.0", "vfio-pci", "pass"),
    (B550, B550_CARD, "0000:02:00.0", "mlx5_vfio_pci", "pass"),  # a vfio variant driver
    (B550, B550_CARD, "0000:02:00.0", "pci-stub", "pass"),
    (B550, B550_CARD, "0000:02:00.0", None, "pass"),  # no driver
    (B550, B550_CARD, "0000:02:00.2", "pcieport", "pass"),
    pytest.param(
        *(B550, B550_CARD, "0000:03:08.0", "shpchp", "fail"),
        id="bridge-on-shpchp-blocks-since-5.19-shpchp-sets-no-driver_managed_dma",
    ),
    (GTX960, ["0000:01:00.0", "0000:01:00.1"], "0000:00:01.0", None, "pass"),  # bridge class
    (B550, B550_CARD, "0000:02:00.0", "xhci_hcd", "fail"),
    (GT1030, ["0000:01:00.0"], "0000:01:00.1", "snd_hda_intel", "fail"),  # as published
    (GT1030, ["0000:01:00.1"], "0000:01:00.0", "nvidia", "fail"),
    (B550, B550_CARD, "0000:02:00.0", NOT_RECORDED, "not recorded"),
]


def machine(
    make_root: Callable[..., Path], name: str, member: str, driver: object, vms: list[tuple]
) -> Path:
    """`name`'s root with `member` on `driver` (or its driver not recorded, as a sosreport
    without `lspci -k` says) and the domains `vms` recorded (name, state, hostdevs)."""
    facts = load_facts(name)
    for dev in facts["devices"]:
        if dev["bdf"] == member:
            dev["driver"] = None if driver is NOT_RECORDED else driver
    root = make_root(facts)
    if driver is NOT_RECORDED:
        manifest = json.loads((root / "manifest.json").read_text())
        path = f"sys/bus/pci/devices/{member}/driver"
        manifest["not_recorded"] = {path: "not in this sosreport: needs lspci -k"}
        (root / "manifest.json").write_text(json.dumps(manifest))
    domains = [(n, s, domain_xml(n, [hostdev(b) for b in bdfs])) for n, s, bdfs in vms]
    return record_hypervisor(root, domains)


def group_check(report: Report, vm: str) -> list[str]:
    """vm.preflight's verdicts on the VM's IOMMU groups."""
    checks = report.get("vm.preflight").facts["vms"][vm]["checks"]
    return sorted({c["status"] for c in checks if c["check"] == "iommu_group"})


@pytest.mark.parametrize(("name", "passed", "member", "driver", "verdict"), ROWS)
def test_viability_table(
    make_root: Callable[..., Path],
    name: str,
    passed: list[str],
    member: str,
    driver: object,
    verdict: str,
) -> None:
    """A member on vfio-pci (or a variant), pci-stub, pcieport or no driver keeps the group
    viable whoever gets it (a bridge too is judged by its driver); a host driver fails it with
    GROUP_MEMBER_NOT_VFIO naming the member, its driver and the remedy; an unrecorded driver
    is "not recorded", not a fail."""
    root = machine(make_root, name, member, driver, [("vm", SHUTOFF, passed)])
    report = report_for(root, only=["libvirt.domains", "vm.preflight"])
    found = report.get("libvirt.domains").findings
    failed = [f for f in found if f.code == "DOMAIN_GROUP_NOT_VIABLE"]
    unknown = [f for f in found if f.code == "DOMAIN_GROUP_NOT_RECORDED"]
    if verdict == "fail":
        (finding,) = failed
        assert finding.severity == "fail" and finding.cause == "GROUP_MEMBER_NOT_VFIO"
        assert f"{member}" in finding.message and f"on {driver}" in finding.message
        assert finding.remedy and f"Bind {member} to vfio-pci" in finding.remedy
        assert "pass it to vm too" in finding.remedy
        assert group_check(report, "vm") == ["fail"]
    elif verdict == "pass":
        assert failed == [] and unknown == []
        assert group_check(report, "vm") == ["pass"]
    else:
        assert failed == []
        (said,) = unknown
        assert said.severity == "info" and member in said.message
        assert "needs lspci -k" in said.message
        assert group_check(report, "vm") == ["not recorded"]
        assert report.get("vm.preflight").facts["vms"]["vm"]["ready"] is None


@pytest.mark.parametrize(
    ("states", "running_named", "busy"),
    [
        ((SHUTOFF, SHUTOFF), "", False),
        ((RUNNING, SHUTOFF), "(a running now)", True),
        ((RUNNING, RUNNING), "(a, b running now)", False),
    ],
)
def test_two_domains_sharing_a_group(
    make_root: Callable[..., Path],
    states: tuple[int, int],
    running_named: str,
    busy: bool,
) -> None:
    """Two domains given the GTX 960's group (both defined, or running): not a viability
    failure but one warning naming both, that they cannot run at once; a shut-off one whose
    group a running one holds cannot start now (vm.preflight: VFIO_GROUP_BUSY, a warning)."""
    card = ["0000:01:00.0", "0000:01:00.1"]
    vms = [("a", states[0], card), ("b", states[1], card[:1])]
    root = machine(make_root, GTX960, "0000:01:00.0", "vfio-pci", vms)
    report = report_for(root, only=["libvirt.domains", "vm.preflight"])
    result = report.get("libvirt.domains")
    assert not [f for f in result.findings if f.code == "DOMAIN_GROUP_NOT_VIABLE"]
    (shared,) = [f for f in result.findings if f.code == "DOMAIN_GROUP_SHARED"]
    assert shared.severity == "warn" and shared.cause is None
    assert shared.message.startswith("a, b: ") and "group 1" in shared.message
    assert running_named in shared.message and "cannot run at once" in shared.message
    preflight = report.get("vm.preflight")
    blocked = [f for f in preflight.findings if f.cause == "VFIO_GROUP_BUSY"]
    assert [f.message.split(":")[0] for f in blocked] == (["b"] if busy else [])
    # b cannot start while a runs, yet nothing is broken: a warning, the cause kept
    assert [f.severity for f in blocked] == (["warn"] if busy else [])
    if busy:
        (check,) = [
            c for c in preflight.facts["vms"]["b"]["checks"] if c["cause"] == "VFIO_GROUP_BUSY"
        ]
        assert check["status"] == "warn"
        assert preflight.status == "warn"  # the report does not fail for it
        assert preflight.facts["vms"]["b"]["ready"] is False
        assert "held by running VM a" in str(preflight.facts["vms"]["b"]["checks"])


def test_one_domain_alone_in_its_group_shares_nothing(make_root: Callable[..., Path]) -> None:
    """One domain per group: no sharing finding."""
    root = machine(
        make_root, GTX960, "0000:01:00.0", "vfio-pci", [("a", SHUTOFF, ["0000:01:00.0"])]
    )
    result = report_for(root, only=["libvirt.domains"]).get("libvirt.domains")
    assert not [f for f in result.findings if f.code == "DOMAIN_GROUP_SHARED"]


def test_many_domains_on_one_group_are_named_within_bounds(make_root: Callable[..., Path]) -> None:
    """Forty domains given one group: one warning naming eight and how many more."""
    vms = [(f"vm{n:02d}", SHUTOFF, ["0000:01:00.0"]) for n in range(40)]
    root = machine(make_root, GTX960, "0000:01:00.0", "vfio-pci", vms)
    result = report_for(root, only=["libvirt.domains"]).get("libvirt.domains")
    (shared,) = [f for f in result.findings if f.code == "DOMAIN_GROUP_SHARED"]
    assert shared.message.startswith("vm00, vm01, vm02, vm03, vm04, vm05, vm06, vm07 and 32 more:")


def test_a_huge_group_on_host_drivers_is_named_within_bounds(
    make_root: Callable[..., Path],
) -> None:
    """A recording whose group holds 500 devices on a host driver: one finding naming eight of
    them and how many more, its remedy as bounded."""
    facts = load_facts(B550)
    facts["devices"] += [
        {
            "bdf": f"0000:{40 + n // 32:02x}:{n % 32:02x}.0",
            "class": "0c03",
            "vendor": "1022",
            "device": "43ee",
            "iommu_group": 15,
            "driver": "xhci_hcd",
        }
        for n in range(500)
    ]
    root = record_hypervisor(
        make_root(facts), [("vm", SHUTOFF, domain_xml("vm", [hostdev(b) for b in B550_CARD]))]
    )
    result = report_for(root, only=["libvirt.domains"]).get("libvirt.domains")
    (finding,) = [f for f in result.findings if f.code == "DOMAIN_GROUP_NOT_VIABLE"]
    assert "; and 492 more" in finding.message and len(finding.message) < 2000
    assert finding.remedy and "and 492 more" in finding.remedy and len(finding.remedy) < 2000
