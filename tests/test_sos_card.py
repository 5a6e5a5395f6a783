"""A sosreport's PCI tree (`lspci -tv`): devices nested where they sit, so a card behind its own
switch is one card; without the tree that card is "not recorded", never "not isolated"."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.conftest import report_for
from tests.sosfixtures import HOSTS, load_facts, write_sos_fixture
from workbench.core.host import Host
from workbench.sos.lspcitree import parse_tree
from workbench.sos.pcibuild import _sysfs_dir
from workbench.sos.translate import build_root

ARC = HOSTS / "asus-proworks-b850m-epyc4545p-arc-a310-b50-aspeed.json"
needs_hosts = pytest.mark.skipif(not ARC.exists(), reason="../shared/hosts is absent")

# Real `lspci -tv` shapes (pciutils ls-tree.c): one root bus; a switch chain on one line and a
# sibling below it; a bridge with an empty bus; several root buses, the last drawn `\-[...]`.
ONE_ROOT = (
    "-[0000:00]-+-00.0  Intel Corporation 12th Gen Core Processor Host Bridge\n"
    "           +-01.0-[01-04]----00.0-[02-04]--+-01.0-[03]----00.0  Intel Corporation DG2 "
    "[Arc A770]\n"
    "           |                               \\-04.0-[04]----00.0  Intel Corporation DG2 "
    "Audio Controller\n"
    "           +-1c.0-[05]--\n"
    "           \\-1d.0-[06]--+-00.0  Emulex Corporation OneConnect 10Gb NIC (be3)\n"
    "                        \\-00.1  Emulex Corporation OneConnect 10Gb NIC (be3)\n"
)
MANY_ROOTS = (
    "-+-[0000:20]---00.0-[21]----00.0  Red Hat, Inc Virtio filesystem\n"
    " +-[0000:02]---00.0-[03]----00.0  Huawei Technologies Co., Ltd. Device a22e\n"
    " \\-[0000:00]-+-00.0  Red Hat, Inc. QEMU PCIe Host bridge\n"
    "             +-01.0  Huawei Technologies Co., Ltd. Device a251\n"
    "             \\-03.0  Red Hat, Inc. QEMU PCIe Expander bridge\n"
)


@pytest.mark.parametrize(
    ("text", "parents", "skipped"),
    [
        (
            ONE_ROOT,
            {
                "0000:00:00.0": None,
                "0000:00:01.0": None,
                "0000:01:00.0": "0000:00:01.0",
                "0000:02:01.0": "0000:01:00.0",
                "0000:03:00.0": "0000:02:01.0",
                "0000:02:04.0": "0000:01:00.0",
                "0000:04:00.0": "0000:02:04.0",
                "0000:00:1c.0": None,
                "0000:00:1d.0": None,
                "0000:06:00.0": "0000:00:1d.0",
                "0000:06:00.1": "0000:00:1d.0",
            },
            0,
        ),
        (
            MANY_ROOTS,
            {
                "0000:20:00.0": None,
                "0000:21:00.0": "0000:20:00.0",
                "0000:02:00.0": None,
                "0000:03:00.0": "0000:02:00.0",
                "0000:00:00.0": None,
                "0000:00:01.0": None,
                "0000:00:03.0": None,
            },
            0,
        ),
        # a function drawn twice keeps its first place (no loop can be built of a tree)
        (
            "-[0000:09]---00.0-[0a]----00.0-[09]----00.0  again\n",
            {"0000:09:00.0": None, "0000:0a:00.0": "0000:09:00.0"},
            0,
        ),
        ("", {}, 0),
        ("no tree here\n\x00\x01binary\n", {}, 2),
        # a continuation at a column no line opened: not read
        ("           +-01.0  orphan\n", {}, 1),
        ("-[0000:00]-+-00.0  x\n" + "x" * 100_000 + "\n", {"0000:00:00.0": None}, 1),
    ],
    ids=["one-root", "many-roots", "twice", "empty", "noise", "orphan", "overlong"],
)
def test_parse_tree(text: str, parents: dict[str, str | None], skipped: int) -> None:
    """Each function's bridge is the one whose bus was opened at its column."""
    tree = parse_tree(text)
    assert tree.parent == parents
    assert tree.skipped == skipped


def gpus(root: Path) -> dict[str, dict[str, Any]]:
    return {g["bdf"]: g for g in report_for(root).get("pci.gpus").facts["gpus"]}


def sos_root(tmp_path: Path, facts: dict[str, Any], **kwargs: Any) -> Path:
    top = write_sos_fixture(facts, tmp_path / "sos", **kwargs)
    out = tmp_path / "root"
    out.mkdir()
    build_root(top, out, top.name)
    return out


@needs_hosts
def test_tree_makes_the_arc_card_as_the_machine_does(tmp_path: Path) -> None:
    """With `lspci -tv` the A310's audio on the next bus is its card's, and the devices sit
    nested as a live sysfs has them."""
    root = sos_root(tmp_path, load_facts(ARC))
    a310 = gpus(root)["0000:09:00.0"]
    assert (a310["functions"], a310["isolated"], a310["blockers"]) == (["0000:0a:00.0"], True, [])
    assert a310["card_switch"] == "0000:07:00.0"
    audio = Host(root).resolved_parts("sys/bus/pci/devices/0000:0a:00.0")
    assert audio is not None
    assert audio[-4:] == ("0000:06:00.0", "0000:07:00.0", "0000:08:04.0", "0000:0a:00.0")


@needs_hosts
def test_without_the_tree_the_card_is_not_recorded(tmp_path: Path) -> None:
    """A report without `lspci -tv`: the A310's audio is neither its card's nor a blocker, and
    the finding says what the report needs."""
    root = sos_root(tmp_path, load_facts(ARC), tree=False)
    a310 = gpus(root)["0000:09:00.0"]
    assert (a310["isolated"], a310["blockers"], a310["card_unknown"]) == (
        None,
        [],
        ["0000:0a:00.0"],
    )
    result = report_for(root).get("pci.gpus")
    notes = [f for f in result.findings if f.code == "GPU_CARD_NOT_RECORDED"]
    (said,) = [f for f in notes if "GPU 0000:09:00.0" in f.message]
    assert "not in this sosreport: needs the PCI tree (lspci -tv)" in said.message
    assert result.status != "fail"


@needs_hosts
def test_a_tree_of_other_devices_leaves_them_flat(tmp_path: Path) -> None:
    """Functions the tree does not draw sit flat (where they sit not recorded): the A310's
    card is then not judged, never built from a guess."""
    top = write_sos_fixture(load_facts(ARC), tmp_path / "sos")
    (top / "sos_commands/pci/lspci_-tv").write_text("-[0000:00]-+-01.0  Host bridge\n")
    out = tmp_path / "root"
    out.mkdir()
    build_root(top, out, top.name)
    a310 = gpus(out)["0000:09:00.0"]
    assert (a310["card_recorded"], a310["card_switch"], a310["isolated"]) == (False, None, None)


DEEP = {f"0000:{n:02x}:00.0": (f"0000:{n - 1:02x}:00.0" if n else None) for n in range(40)}


@pytest.mark.parametrize(
    ("bdf", "parents", "where"),
    [
        # nested below its bridges, under its root bus
        (
            "0000:0a:00.0",
            {"0000:06:00.0": None, "0000:07:00.0": "0000:06:00.0", "0000:0a:00.0": "0000:07:00.0"},
            "sys/devices/pci0000:06/0000:06:00.0/0000:07:00.0/0000:0a:00.0",
        ),
        ("0000:00:02.0", {"0000:00:02.0": None}, "sys/devices/pci0000:00/0000:00:02.0"),
        # not drawn by the tree: flat (not placed)
        ("0000:03:00.0", {}, "sys/devices/pci0000:00/0000:03:00.0"),
        # a loop, a parent that is no address, a chain deeper than any machine: not believed
        (
            "0000:03:00.0",
            {"0000:03:00.0": "0000:02:00.0", "0000:02:00.0": "0000:03:00.0"},
            "sys/devices/pci0000:00/0000:03:00.0",
        ),
        ("0000:03:00.0", {"0000:03:00.0": "../../etc"}, "sys/devices/pci0000:00/0000:03:00.0"),
        ("0000:27:00.0", DEEP, "sys/devices/pci0000:00/0000:27:00.0"),
    ],
    ids=["nested", "root-bus", "not-drawn", "loop", "not-an-address", "too-deep"],
)
def test_sysfs_dir(bdf: str, parents: dict[str, str | None], where: str) -> None:
    """A function's directory follows the tree's chain only while it is a believable one."""
    assert _sysfs_dir(bdf, parents) == where
