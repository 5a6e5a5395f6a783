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


@pytest.mark.parametrize(
    "target",
    [
        "/".join(["a", ".."] * 700),  # one link whose target has 1,400 components
        "/".join(["x"] * 1500),
    ],
    ids=["dotdot", "deep"],
)
def test_link_with_thousands_of_components_is_an_error_not_a_recursion(
    tmp_path: Path, target: str
) -> None:
    """A link whose target is thousands of components deep is a HostReadError, never a
    RecursionError; the rest of the root still reads."""
    (tmp_path / "a").mkdir()
    (tmp_path / "deep").symlink_to(target)
    (tmp_path / "ok").write_text("fine\n")
    host = Host(tmp_path)
    text, problem = host.try_read("deep/class")
    assert text is None and problem is not None
    assert host.read_text("ok") == "fine\n"
    assert host.link_name("deep/driver") is None
    assert host.exists("deep") in (True, False)


def test_long_chain_of_links_is_an_error_not_a_recursion(tmp_path: Path) -> None:
    """5,000 chained links (each naming the next) are refused as a loop, whatever was read
    before; nothing recurses."""
    (tmp_path / "end").write_text("end\n")
    (tmp_path / "l0").symlink_to("end")
    for n in range(1, 5000):
        (tmp_path / f"l{n}").symlink_to(f"l{n - 1}/../l{n - 1}")
    host = Host(tmp_path)
    with pytest.raises(HostReadError) as info:
        host.read_text("l4999")
    assert info.value.details["reason"] == "loop"
    assert host.read_text("l3") == "end\n"


def test_deeply_nested_manifest_is_a_problem_not_a_crash(
    make_root: Callable[..., Path], minimal_facts: dict[str, Any]
) -> None:
    """A manifest.json nested 100,000 deep is a problem of the machine, never a RecursionError."""
    root = make_root(minimal_facts)
    (root / "manifest.json").write_text("[" * 100_000 + "]" * 100_000)
    host = Host(root)
    assert host.manifest == {}
    assert any("nested too deeply" in p for p in host.problems)
    assert host.processes(("qemu",)) is None


@pytest.mark.parametrize(
    "pid",
    ["x", "1" * 400, 10**400, -3, "²", True],
    ids=["letter", "400-digit-str", "400-digit-int", "negative", "superscript", "bool"],
)
def test_bad_recorded_pid_is_null_and_a_problem(
    make_root: Callable[..., Path], minimal_facts: dict[str, Any], pid: Any
) -> None:
    """A recorded process whose pid is not a pid keeps its name with pid null; the machine's
    problems say which fact was bad."""
    root = make_root(
        minimal_facts,
        processes=[{"pid": pid, "name": "qemu-system-x86_64"}, {"pid": 7, "name": "qemu-kvm"}],
    )
    host = Host(root)
    found = host.processes(("qemu",))
    assert found is not None
    assert [(p.pid, p.name) for p in found] == [(None, "qemu-system-x86_64"), (7, "qemu-kvm")]
    assert any("processes[0].pid" in p for p in host.problems)


@pytest.mark.parametrize("value", ["²", "1" * 400, "-5"], ids=["superscript", "400", "negative"])
def test_bad_memtotal_is_unknown(tmp_path: Path, value: str) -> None:
    """MemTotal that is not a bounded ASCII number is unknown (None), never a crash."""
    (tmp_path / "proc").mkdir()
    (tmp_path / "proc/meminfo").write_text(f"MemTotal: {value} kB\n")
    assert Host(tmp_path).memory_total_bytes() is None


def test_the_capture_copier_and_tree_resolve_as_the_host_reads(tmp_path: Path) -> None:
    """One resolver: a capture's copier finds each path where the Host reads it, and the links
    it keeps lead its tree to the same place (relative, absolute, chained, `..` above /)."""
    from workbench.capture.tree import Copier, Tree

    (tmp_path / "sys/devices/pci0/0000:01:00.0").mkdir(parents=True)
    (tmp_path / "sys/devices/pci0/0000:01:00.0/vendor").write_text("0x10de\n")
    (tmp_path / "sys/bus/pci/devices").mkdir(parents=True)
    (tmp_path / "sys/bus/pci/devices/0000:01:00.0").symlink_to("../../../devices/pci0/0000:01:00.0")
    (tmp_path / "sys/abs").symlink_to("/sys/bus/pci/devices")
    (tmp_path / "sys/chain").symlink_to("abs")
    (tmp_path / "sys/up").symlink_to("../../../../sys/chain")
    host = Host(tmp_path)
    tree = Tree()
    copier = Copier(host, tree)
    for rel in (
        "sys/bus/pci/devices/0000:01:00.0/vendor",
        "sys/abs/0000:01:00.0/vendor",
        "sys/chain/0000:01:00.0/vendor",
        "sys/up/0000:01:00.0/vendor",
    ):
        real = copier.resolve(rel)
        assert real == "sys/devices/pci0/0000:01:00.0/vendor", rel
        assert host.path(rel) == tmp_path / real
        assert tree.real(rel) == real  # the links kept lead there too
    assert copier.resolve("sys/abs/missing/vendor") is None
    assert all(not target.startswith("/") for target in tree.links.values())


@pytest.mark.parametrize(
    ("manifest", "by"),
    [
        ('{"source": "sosreport"}', "sosreport"),
        ('{"source": {"live": true}, "collectors": {}}', "capture"),
        ('{"source": "asokolsky-duo"}', None),  # a root made from ../shared/hosts facts
        ('{"source": ["sosreport"]}', None),
        ("[1]", None),
        (None, None),
    ],
)
def test_recorded_by_reads_the_manifest_source(
    tmp_path: Path, manifest: str | None, by: str | None
) -> None:
    """recorded_by names a capture or a sosreport from the manifest, None for anything else."""
    if manifest is not None:
        (tmp_path / "manifest.json").write_text(manifest)
    assert Host(tmp_path).recorded_by == by


def test_a_live_machine_is_recorded_by_nothing() -> None:
    """The live machine has no manifest: recorded_by is None."""
    assert Host(Path("/")).recorded_by is None
