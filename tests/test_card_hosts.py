"""A card is more than its slot: every real machine of ../shared/hosts judged with the card rule
(the Arc A310's audio behind the card's own switch is its card's; no other verdict moves)."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import report_for, run_cli
from tests.sosfixtures import HOSTS as SHARED_HOSTS
from tests.sosfixtures import load_facts
from tests.test_probe_vm_preflight import SHUTOFF, domain_xml, hostdev, record_hypervisor
from workbench.core.host import Host
from workbench.explain.checks import group_member_on_host_driver
from workbench.explain.facts import Facts
from workbench.machines import build_root

ARC = "asus-proworks-b850m-epyc4545p-arc-a310-b50-aspeed"
TOOL = SHARED_HOSTS.parent / "tools" / "hostfacts_to_root.py"
PROBES = ("pci.gpus", "vfio.binding", "iommu.groups", "libvirt.domains")

# Per machine: the statuses of PROBES, then each GPU's (functions, isolated, blockers).
# Before the card rule only the Arc machine differed: pci.gpus "warn", and the A310 at
# 09:00.0 was ([], False, ["0000:0a:00.0"]): "not isolated: blocked by" its own audio.
EXPECTED: dict[str, tuple[tuple[str, ...], dict[str, tuple[list[str], bool, list[str]]]]] = {
    "ashtonian-adl-dual-radeon": (
        ("pass", "pass", "pass", "skip"),
        {
            "0000:00:02.0": ([], True, []),
            "0000:03:00.0": (["0000:03:00.1"], True, []),
            "0000:04:00.0": (["0000:04:00.1"], True, []),
        },
    ),
    "asokolsky-duo-z370-gt1030": (
        ("pass", "warn", "pass", "skip"),
        {"0000:00:02.0": ([], True, []), "0000:01:00.0": (["0000:01:00.1"], True, [])},
    ),
    "asrock-z170-gtx960": (
        ("pass", "warn", "pass", "skip"),
        {"0000:00:02.0": ([], True, []), "0000:01:00.0": (["0000:01:00.1"], True, [])},
    ),
    ARC: (
        ("pass", "warn", "pass", "skip"),
        {
            "0000:03:00.0": ([], True, []),
            "0000:09:00.0": (["0000:0a:00.0"], True, []),
            "0000:0c:00.0": ([], True, []),
            "0000:12:00.0": (["0000:12:00.2", "0000:12:00.3", "0000:12:00.4"], True, []),
        },
    ),
    "benbaker-renoir-acs-override": (
        ("warn", "warn", "pass", "skip"),
        {
            "0000:05:00.0": (
                ["0000:05:00.1", "0000:05:00.2", "0000:05:00.3", "0000:05:00.4", "0000:05:00.6"],
                True,
                [],
            )
        },
    ),
    "mapmanagement-b550-chipset-gpu": (
        ("pass", "warn", "pass", "skip"),
        {
            "0000:04:00.0": (
                ["0000:04:00.1"],
                False,
                ["0000:02:00.0", "0000:02:00.1", "0000:05:00.0"],
            ),
            "0000:08:00.0": (["0000:08:00.1"], True, []),
        },
    ),
}
pytestmark = pytest.mark.skipif(not SHARED_HOSTS.is_dir(), reason="../shared/hosts is absent")


def gpus(report: Any) -> dict[str, dict[str, Any]]:
    return {g["bdf"]: g for g in report.get("pci.gpus").facts["gpus"]}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_verdicts_of_every_machine(name: str, tmp_path: Path) -> None:
    """Each machine's statuses and per-GPU card, isolation and blockers are as recorded."""
    report = report_for(build_root(load_facts(SHARED_HOSTS / f"{name}.json"), tmp_path / "r"))
    statuses, cards = EXPECTED[name]
    assert tuple(report.get(p).status for p in PROBES) == statuses
    got = {b: (g["functions"], g["isolated"], g["blockers"]) for b, g in gpus(report).items()}
    assert got == cards


def test_every_shared_machine_is_in_the_table() -> None:
    """A machine added to ../shared/hosts is not left out of the table silently."""
    assert {p.stem for p in SHARED_HOSTS.glob("*.json")} == set(EXPECTED)


def test_arc_a310_is_a_card_with_its_audio(tmp_path: Path) -> None:
    """The A310's card is its GPU and its audio below the card's own switch; the vfio-pci ids
    line names both; the ASPEED VGA behind its PCI bridge and the B50 are nobody's card."""
    report = report_for(build_root(load_facts(SHARED_HOSTS / f"{ARC}.json"), tmp_path / "r"))
    found = gpus(report)
    a310 = found["0000:09:00.0"]
    assert (a310["card_switch"], a310["card_recorded"], a310["card_unknown"]) == (
        "0000:07:00.0",
        True,
        [],
    )
    assert found["0000:0c:00.0"]["card_switch"] is None
    assert found["0000:0c:00.0"]["functions"] == []
    # The B50's listing gives no `parent`: where it sits is not recorded; its group holds only
    # itself (isolated), but its audio on the next bus may be its card's: a note says so.
    b50 = found["0000:03:00.0"]
    assert (b50["card_recorded"], b50["card_unknown"], b50["isolated"]) == (False, [], True)
    assert b50["card_nearby"] == ["0000:04:00.0"]
    codes = {f.code for f in report.get("pci.gpus").findings}
    assert "GPU_NOT_ISOLATED" not in codes
    (note,) = [f for f in report.get("pci.gpus").findings if f.code == "GPU_CARD_NOT_RECORDED"]
    assert note.severity == "info" and "0000:04:00.0" in note.message
    assert "0000:09:00.0" in report.get("pci.gpus").summary
    candidates = report.get("vfio.binding").facts["candidates"]
    a310_card = next(c for c in candidates if c["gpu"] == "0000:09:00.0")
    assert list(a310_card["drivers"]) == ["0000:09:00.0", "0000:0a:00.0"]
    (none_bound,) = [f for f in report.get("vfio.binding").findings if f.code == "VFIO_NONE_BOUND"]
    assert "8086:56a6,8086:4f92" in (none_bound.remedy or "")


def test_flat_arc_listing_leaves_the_card_not_judged(tmp_path: Path) -> None:
    """Without the `parent` keys (a flat listing) the A310's audio is neither its card's nor a
    blocker: isolation is not judged, and the finding says what would record the topology."""
    facts = load_facts(SHARED_HOSTS / f"{ARC}.json")
    for dev in facts["devices"]:
        dev.pop("parent", None)
    report = report_for(build_root(facts, tmp_path / "r"))
    a310 = gpus(report)["0000:09:00.0"]
    assert (a310["functions"], a310["blockers"], a310["isolated"]) == ([], [], None)
    assert a310["card_unknown"] == ["0000:0a:00.0"]
    notes = [f for f in report.get("pci.gpus").findings if f.code == "GPU_CARD_NOT_RECORDED"]
    (said,) = [f for f in notes if "GPU 0000:09:00.0" in f.message]
    assert "0000:0a:00.0" in said.message and "lspci -tv" in said.message
    assert report.get("pci.gpus").status != "fail"


def test_a_foreign_blocker_still_blocks_when_the_card_is_not_recorded(tmp_path: Path) -> None:
    """A member of another vendor blocks the GPU even when its card is not recorded."""
    facts = load_facts(SHARED_HOSTS / f"{ARC}.json")
    for dev in facts["devices"]:
        dev.pop("parent", None)
        if dev["bdf"] == "0000:0d:00.0":  # the I226 NIC moved into the A310's group
            dev["iommu_group"], dev["vendor"] = 17, "10ec"
    report = report_for(build_root(facts, tmp_path / "r"))
    a310 = gpus(report)["0000:09:00.0"]
    assert (a310["blockers"], a310["isolated"]) == (["0000:0d:00.0"], False)


@pytest.mark.skipif(not TOOL.exists(), reason="../shared/tools is absent")
def test_build_root_nests_as_the_shared_tool_does(tmp_path: Path) -> None:
    """workbench.machines lays out sys/devices as ../shared/tools/hostfacts_to_root.py does."""
    facts_file = SHARED_HOSTS / f"{ARC}.json"
    ours = build_root(load_facts(facts_file), tmp_path / "ours")
    theirs = tmp_path / "theirs"
    subprocess.run([sys.executable, str(TOOL), str(facts_file), str(theirs)], check=True)

    def tree(root: Path) -> set[str]:
        base = root / "sys" / "devices"
        return {str(p.relative_to(base)) for p in base.rglob("*") if p.is_dir()}

    assert tree(ours) == tree(theirs)
    assert "pci0000:00/0000:06:00.0/0000:07:00.0/0000:08:04.0/0000:0a:00.0" in tree(ours)
    link = ours / "sys/bus/pci/devices/0000:0a:00.0"
    assert link.readlink() == (theirs / "sys/bus/pci/devices/0000:0a:00.0").readlink()


def test_a_parent_loop_ends_on_the_root_bus(tmp_path: Path) -> None:
    """Facts whose `parent` keys loop still build a root (no endless nesting)."""
    facts = load_facts(SHARED_HOSTS / f"{ARC}.json")
    by = {d["bdf"]: d for d in facts["devices"]}
    by["0000:06:00.0"]["parent"] = "0000:09:00.0"  # 09 -> 08:01 -> 07 -> 06 -> 09
    root = build_root(facts, tmp_path / "r")
    assert (root / "sys/bus/pci/devices/0000:09:00.0/vendor").read_text() == "0x8086\n"


def test_fleet_compare_sets_the_cards_side_by_side(tmp_path: Path) -> None:
    """`fleet --compare`: the Arc machine with its topology against its flat listing shows the
    A310's card (its audio) against "not recorded", and its isolation likewise."""
    facts = load_facts(SHARED_HOSTS / f"{ARC}.json")
    flat = copy.deepcopy(facts)
    for dev in flat["devices"]:
        dev.pop("parent", None)
    a = build_root(facts, tmp_path / "a")
    b = build_root(flat, tmp_path / "b")
    done = run_cli("fleet", "--compare", str(a), str(b), "--json")
    assert done.returncode in (0, 1), done.stderr
    diffs = {d["item"]: (d["a"], d["b"]) for d in json.loads(done.stdout)["differences"]}
    assert diffs["0000:09:00.0 card"] == (["0000:0a:00.0"], None)
    assert diffs["0000:09:00.0 isolated"] == (True, None)
    assert "0000:03:00.0 card" not in diffs  # the B50 is the same card on both sides
    text = run_cli("fleet", "--compare", str(a), str(b)).stdout
    assert "0000:09:00.0 card: 0000:0a:00.0 | not recorded" in text


def test_explain_counts_the_cards_audio_on_a_host_driver(tmp_path: Path) -> None:
    """The cause check of a group member on a host driver sees the A310's audio as its card's
    even in a group of its own (ACS split): a slot rule would miss it."""
    facts = load_facts(SHARED_HOSTS / f"{ARC}.json")
    for dev in facts["devices"]:
        if dev["bdf"] == "0000:09:00.0":
            dev["driver"] = "vfio-pci"
        if dev["bdf"] == "0000:0a:00.0":
            dev["driver"], dev["iommu_group"] = "snd_hda_intel", 99
    found = Facts()
    found.add_host(Host(build_root(facts, tmp_path / "r")))
    hit = group_member_on_host_driver(found, {"bdf": "0000:09:00.0"})
    assert hit is not None
    assert hit.subject == {"device": "0000:0a:00.0", "driver": "snd_hda_intel"}
    # the ASPEED VGA's bridge and group are no card of the A310's
    assert group_member_on_host_driver(found, {"bdf": "0000:0c:00.0"}) is None


@pytest.mark.parametrize(
    ("given", "partial"),
    [
        (["0000:09:00.0"], ["0000:0a:00.0"]),  # the GPU without its audio behind the switch
        (["0000:09:00.0", "0000:0a:00.0"], []),  # the whole card (as the machine's owner did)
    ],
)
def test_whole_card_checks_of_domains_use_the_card(
    given: list[str], partial: list[str], tmp_path: Path
) -> None:
    """libvirt.domains and vm.preflight call the A310 given without its audio on the next bus
    a partial card, and the GPU with its audio the whole card."""
    facts = load_facts(SHARED_HOSTS / f"{ARC}.json")
    for dev in facts["devices"]:
        if dev["bdf"] in ("0000:09:00.0", "0000:0a:00.0"):
            dev["driver"] = "vfio-pci"
    root = build_root(facts, tmp_path / "r")
    xml = domain_xml("debian13", [hostdev(b) for b in given])
    record_hypervisor(root, [("debian13", SHUTOFF, xml)])
    report = report_for(root, only=["libvirt.domains", "vm.preflight"])
    found = [f for f in report.get("libvirt.domains").findings if f.code == "DOMAIN_CARD_PARTIAL"]
    assert [m for f in found for m in partial if m in f.message] == partial
    assert len(found) == len(partial)
    (card,) = [
        c
        for c in report.get("vm.preflight").facts["vms"]["debian13"]["checks"]
        if c["check"] == "card"
    ]
    assert card["status"] == ("warn" if partial else "pass")


def test_a_capture_keeps_the_card(tmp_path: Path) -> None:
    """`workbench capture` of the Arc machine keeps where devices sit: probed from the archive,
    the A310 is the same card, isolated."""
    root = build_root(load_facts(SHARED_HOSTS / f"{ARC}.json"), tmp_path / "r")
    archive = tmp_path / "arc.tar.gz"
    done = run_cli("capture", "--root", str(root), "-o", str(archive))
    assert done.returncode == 0, done.stderr
    probed = run_cli("probe", "--capture", str(archive), "--only", "pci.gpus", "--json")
    found = {g["bdf"]: g for g in json.loads(probed.stdout)["probes"][0]["facts"]["gpus"]}
    a310 = found["0000:09:00.0"]
    assert (a310["functions"], a310["isolated"], a310["card_switch"]) == (
        ["0000:0a:00.0"],
        True,
        "0000:07:00.0",
    )
