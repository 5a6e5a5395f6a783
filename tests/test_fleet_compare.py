"""`workbench fleet --compare A B [PATH ...]` (alias `compare`): two machines side by side, probed by
the real CLI in a subprocess, text and workbench.fleet-compare/1 JSON."""

from __future__ import annotations

import copy
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.conftest import load_facts, run_cli

GPU = "0000:01:00.0"


def _pair(make_root: Callable[..., Path]) -> tuple[Path, Path]:
    """A: the GTX 960 on vfio-pci with the IOMMU asked for; B: the same card on nouveau, no
    IOMMU parameters (the classic 'why does A pass the GPU through and B not')."""
    facts = load_facts("asrock-z170-gtx960")
    good: dict[str, Any] = copy.deepcopy(facts)
    for dev in good["devices"]:
        if dev["bdf"].startswith("0000:01:00."):
            dev["driver"] = "vfio-pci"
    bad: dict[str, Any] = copy.deepcopy(facts)
    for dev in bad["devices"]:
        if dev["bdf"] == GPU:
            dev["driver"] = "nouveau"
    a = make_root(good, kernel_cmdline="BOOT_IMAGE=/vmlinuz intel_iommu=on iommu=pt")
    b = make_root(bad, kernel_cmdline="BOOT_IMAGE=/vmlinuz quiet")
    return a, b


def test_compare_json_puts_differences_side_by_side(make_root: Callable[..., Path]) -> None:
    """--json: the schema, both machines, statuses that differ first, then the GPU driver and
    the command line parameters only one side has."""
    a, b = _pair(make_root)
    done = run_cli("fleet", "--compare", str(a), str(b), "--json")
    assert done.returncode == 1, done.stderr
    doc = json.loads(done.stdout)
    assert doc["schema"] == "workbench.fleet-compare/1"
    assert doc["a"]["source"] == str(a) and doc["b"]["source"] == str(b)
    diffs = doc["differences"]
    areas = [d["area"] for d in diffs]
    assert areas[0] == "status"
    assert areas.index("gpus") > max(i for i, x in enumerate(areas) if x == "status")
    driver = next(d for d in diffs if d["item"] == f"{GPU} driver")
    assert (driver["a"], driver["b"]) == ("vfio-pci", "nouveau")
    cmdline = next(d for d in diffs if d["area"] == "cmdline")
    assert "intel_iommu=on" in cmdline["a"] and "quiet" in cmdline["b"]


def test_compare_same_machine_no_differences(make_root: Callable[..., Path]) -> None:
    """Two identical machines: exit 0, 'no differences'."""
    a = make_root("asrock-z170-gtx960")
    b = make_root("asrock-z170-gtx960")
    done = run_cli("fleet", "--compare", str(a), str(b))
    assert done.returncode == 0, done.stderr
    assert "no differences" in done.stdout
    alias = run_cli("compare", str(a), str(b))  # `compare A B` is kept as an alias
    assert alias.returncode == 0 and alias.stdout == done.stdout


def test_compare_text_escapes_hostile_cmdline(make_root: Callable[..., Path]) -> None:
    """A command line carrying an escape sequence is shown escaped, never sent raw."""
    a = make_root("asrock-z170-gtx960", kernel_cmdline="quiet \x1b]0;owned\x07 \x1b[31mred")
    b = make_root("asrock-z170-gtx960", kernel_cmdline="quiet")
    done = run_cli("fleet", "--compare", str(a), str(b))
    assert done.returncode == 1, done.stderr
    assert "\x1b" not in done.stdout and "\x07" not in done.stdout
    assert "\\x1b" in done.stdout


def test_compare_by_name_in_a_fleet(make_root: Callable[..., Path], tmp_path: Path) -> None:
    """With PATHs, A and B name machines of that fleet (a capture and a root)."""
    a, b = _pair(make_root)
    cap = tmp_path / "good.tar.gz"
    made = run_cli("capture", "--root", str(a), "-o", str(cap))
    assert made.returncode == 0, made.stderr
    done = run_cli("fleet", "--compare", cap.name, b.name, str(cap), str(b), "--json")
    assert done.returncode == 1, done.stderr
    doc = json.loads(done.stdout)
    assert doc["a"]["kind"] == "capture" and doc["b"]["kind"] == "root"


def test_compare_missing_file_is_one_line(tmp_path: Path) -> None:
    """A file that is not there: exit 2, one line naming it, no traceback."""
    done = run_cli("fleet", "--compare", str(tmp_path / "nope"), str(tmp_path / "other"))
    assert done.returncode == 2
    assert len(done.stderr.strip().splitlines()) == 1 and "nope" in done.stderr


def test_compare_unknown_name_is_one_line(make_root: Callable[..., Path]) -> None:
    """A name no machine of the fleet has: exit 2, one line."""
    root = make_root("asrock-z170-gtx960")
    done = run_cli("fleet", "--compare", root.name, "ghost", str(root))
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "workbench: compare: no machine named ghost in the fleet"
    ]


def test_compare_not_a_machine_is_one_line(tmp_path: Path) -> None:
    """A file that is neither a capture nor a sosreport: exit 2, one line."""
    junk = tmp_path / "junk.tar.gz"
    junk.write_bytes(b"not an archive at all")
    done = run_cli("fleet", "--compare", str(junk), str(junk))
    assert done.returncode == 2, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr


def test_compare_sosreports_identity_and_not_recorded(tmp_path: Path) -> None:
    """Two sosreport directories: identities from etc/machine-id and dmidecode, side by side;
    a report without a machine-id says not recorded, never a value."""
    from tests.sos_machine_helpers import report

    mid = "0123456789abcdef0123456789abcdef"
    a = report(
        tmp_path,
        {
            "etc/machine-id": mid + "\n",
            "sos_commands/host/hostname": "node-a\n",
            "proc/cmdline": "BOOT_IMAGE=/vmlinuz intel_iommu=on\n",
        },
        name="a",
    )
    b = report(
        tmp_path,
        {"sos_commands/host/hostname": "node-b\n", "proc/cmdline": "BOOT_IMAGE=/vmlinuz\n"},
        name="b",
    )
    done = run_cli("fleet", "--compare", str(a), str(b), "--json")
    assert done.returncode == 1, done.stderr
    doc = json.loads(done.stdout)
    assert doc["a"]["kind"] == "sos" and doc["b"]["kind"] == "sos"
    assert doc["a"]["identity"]["machine_id"] == mid
    assert doc["b"]["identity"]["machine_id"] is None
    items = {(d["area"], d["item"]) for d in doc["differences"]}
    assert ("identity", "hostname") in items and ("identity", "machine_id") in items
    text = run_cli("fleet", "--compare", str(a), str(b)).stdout
    assert "machine_id not recorded" in text


def test_fleet_without_paths_nor_compare_is_one_line() -> None:
    """`workbench fleet` with nothing: exit 2, one line."""
    done = run_cli("fleet")
    assert done.returncode == 2
    assert len(done.stderr.strip().splitlines()) == 1


def test_a_damaged_machine_is_named_once(tmp_path: Path) -> None:
    """A truncated capture given to --compare: one line naming the file once, exit 2."""
    from tests.conftest import run_cli
    from tests.fleet_helpers import capture_of

    whole = capture_of("asrock-z170-gtx960", tmp_path / "work", tmp_path / "a.tar.gz")
    cut = tmp_path / "cut.tar.gz"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    done = run_cli("fleet", "--compare", str(cut), str(whole))
    assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr
    assert done.stderr.count(str(cut)) == 1, done.stderr


def test_compare_a_folder_without_machine_says_so(tmp_path: Path) -> None:
    """A folder holding no machine: 'no machine in it', naming the folder, not a file inside
    it (what was passed over follows in brackets)."""
    empty = tmp_path / "nothing-here"
    empty.mkdir()
    (empty / "notes.txt").write_text("not a machine\n")
    done = run_cli("fleet", "--compare", str(empty), str(empty))
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"workbench: compare: {empty}: no machine in it"), lines


def test_compare_a_folder_of_two_machines_asks_for_names(
    make_root: Callable[..., Path], tmp_path: Path
) -> None:
    """A folder holding two machines as A: refused, saying how many and how to name them."""
    fleet = tmp_path / "fleet"
    fleet.mkdir()
    for host in ("asrock-z170-gtx960", "mapmanagement-b550-chipset-gpu"):
        shutil.copytree(make_root(host), fleet / host, symlinks=True)
    done = run_cli("fleet", "--compare", str(fleet), str(fleet))
    assert done.returncode == 2
    assert "2 machines, not one" in done.stderr and "--compare NAME_A NAME_B" in done.stderr
