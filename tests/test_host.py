"""The Host reads a machine root safely: confined symlinks, no hangs, clear errors."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from workbench.core.errors import HostReadError, RootNotUsableError
from workbench.core.host import Host


def test_missing_root_is_a_config_error(tmp_path: Path) -> None:
    """A root that does not exist is refused with ROOT_NOT_USABLE."""
    with pytest.raises(RootNotUsableError) as info:
        Host(tmp_path / "nope")
    assert info.value.code == "ROOT_NOT_USABLE"
    assert "does not exist" in info.value.message


def test_root_that_is_a_file_is_refused(tmp_path: Path) -> None:
    """A root that is a regular file is refused, naming the problem."""
    path = tmp_path / "root"
    path.write_text("x")
    with pytest.raises(RootNotUsableError, match="not a directory"):
        Host(path)


def test_absolute_symlinks_stay_inside_the_root(tmp_path: Path) -> None:
    """An absolute link in a recorded root resolves inside the root, never on the live machine."""
    (tmp_path / "proc").mkdir()
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "cpuinfo").write_text("recorded\n")
    (tmp_path / "proc" / "cpuinfo").symlink_to("/elsewhere/cpuinfo")
    (tmp_path / "proc" / "escape").symlink_to("/etc/hostname")
    host = Host(tmp_path)
    assert host.read_text("proc/cpuinfo") == "recorded\n"
    assert host.read_text("proc/escape") is None  # /etc/hostname of the root: absent


def test_dotdot_cannot_climb_out_of_the_root(tmp_path: Path) -> None:
    """`..` beyond the root stays at the root, like `/..` on a live machine."""
    (tmp_path / "sys").mkdir()
    (tmp_path / "sys" / "up").symlink_to("../../../../../../etc")
    host = Host(tmp_path)
    assert host.path("sys/up/passwd") == tmp_path.resolve() / "etc" / "passwd"
    assert host.read_text("sys/up/passwd") is None


def test_symlink_loop_is_an_error_not_a_hang(tmp_path: Path) -> None:
    """A link cycle is reported as HOST_READ_ERROR (reason loop)."""
    (tmp_path / "a").symlink_to("b")
    (tmp_path / "b").symlink_to("a")
    with pytest.raises(HostReadError) as info:
        Host(tmp_path).read_text("a")
    assert info.value.details["reason"] == "loop"


def test_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    """A FIFO where a file should be is refused at once (reading it would block forever)."""
    os.mkfifo(tmp_path / "cmdline")
    with pytest.raises(HostReadError, match="not a regular file"):
        Host(tmp_path).read_text("cmdline")


def test_directory_instead_of_file(tmp_path: Path) -> None:
    """A directory where a file should be is a clear read error."""
    (tmp_path / "vendor").mkdir()
    text, problem = Host(tmp_path).try_read("vendor")
    assert text is None
    assert problem is not None and "not a regular file" in problem


def test_dangling_symlink_reads_as_missing(tmp_path: Path) -> None:
    """A symlink to nothing is an absent file, not a crash."""
    (tmp_path / "driver").symlink_to("nowhere/at/all")
    host = Host(tmp_path)
    assert host.read_text("driver") is None
    assert host.link_name("driver") == "all"
    with pytest.raises(HostReadError, match="missing"):
        host.read_required("driver")


def test_oversized_file_is_refused(tmp_path: Path) -> None:
    """A file beyond 16 MiB (garbage in a capture) is refused, not slurped."""
    big = tmp_path / "cpuinfo"
    with big.open("wb") as fh:
        fh.truncate(17 * 1024 * 1024)
    with pytest.raises(HostReadError, match="too large"):
        Host(tmp_path).read_text("cpuinfo")


def test_live_host_reads_real_proc() -> None:
    """The live host is `/` and reads the real files."""
    host = Host("/")
    assert host.live
    cpuinfo = host.read_required("proc/cpuinfo")
    assert "processor" in cpuinfo


def test_live_pci_enumeration_matches_sysfs() -> None:
    """On the live machine PCI devices come from udev and match /sys/bus/pci/devices."""
    inv = Host("/").pci()
    expected = sorted(os.listdir("/sys/bus/pci/devices"))
    assert sorted(d.bdf for d in inv.devices) == expected
    assert inv.enumerated_by == "udev"
    for dev in inv.devices:
        vendor = Path(f"/sys/bus/pci/devices/{dev.bdf}/vendor").read_text().strip()
        assert dev.vendor == vendor[2:].lower()


def test_recorded_device_nodes(
    make_root: Callable[..., Path], minimal_facts: dict[str, Any]
) -> None:
    """Device nodes come from the manifest's facts; null there means absent."""
    root = make_root(
        minimal_facts,
        device_nodes={
            "/dev/kvm": {
                "kind": "char",
                "mode": "0660",
                "owner": "root",
                "group": "kvm",
                "accessible": False,
            },
            "/dev/kvmfr0": None,
        },
    )
    host = Host(root)
    node = host.device_node("/dev/kvm")
    assert node is not None and (node.kind, node.group, node.accessible) == ("char", "kvm", False)
    assert host.device_recorded("/dev/kvmfr0") and host.device_node("/dev/kvmfr0") is None
    assert not host.device_recorded("/dev/vfio/vfio")


def test_garbage_manifest_is_noted_not_fatal(
    make_root: Callable[..., Path], minimal_facts: dict[str, Any]
) -> None:
    """A manifest.json that is not JSON is recorded as a problem; the machine is still read."""
    root = make_root(minimal_facts)
    (root / "manifest.json").write_bytes(b"\x00\xffnot json")
    host = Host(root)
    assert host.manifest == {}
    assert any("not valid JSON" in p for p in host.problems)
    assert len(host.pci().devices) == 4
