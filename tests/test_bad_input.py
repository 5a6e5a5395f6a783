"""Broken machine roots give clear verdicts or errors, never a crash or a traceback."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import WORKBENCH, report_for, run_as

MakeRoot = Callable[..., Path]
GPU = "sys/devices/pci0000:00/0000:01:00.0"


def test_garbage_in_class_and_vendor(make_root: MakeRoot, minimal_facts: dict[str, Any]) -> None:
    """Unparseable class/vendor files are noted per device; the device is not taken for a GPU."""
    root = make_root(minimal_facts)
    (root / GPU / "class").write_bytes(b"\xde\xad garbage\n")
    (root / GPU / "vendor").write_text("0xZZZZ\n")
    report = report_for(root)
    gpus = report.get("pci.gpus").facts["gpus"]
    assert [g["bdf"] for g in gpus] == ["0000:00:02.0"]
    from workbench.core.host import Host

    dev = Host(root).pci().by_bdf["0000:01:00.0"]
    assert dev.vendor is None and dev.pci_class is None
    assert any("unparseable" in p and "class" in p for p in dev.problems)
    assert not [r.id for r in report.probes if r.status == "error"]


def test_unreadable_attribute_is_a_problem_not_a_crash(
    make_root: MakeRoot, minimal_facts: dict[str, Any]
) -> None:
    """A directory where an attribute file should be is noted; the rest of the device is read."""
    root = make_root(minimal_facts)
    (root / GPU / "boot_vga").unlink()
    (root / GPU / "boot_vga").mkdir()
    report = report_for(root)
    gpu = next(g for g in report.get("pci.gpus").facts["gpus"] if g["bdf"] == "0000:01:00.0")
    assert gpu["boot_vga"] is None
    assert gpu["isolated"] is True


def test_dangling_driver_and_group_links(
    make_root: MakeRoot, minimal_facts: dict[str, Any]
) -> None:
    """Dangling driver/iommu_group links still name the driver and group (as readlink does)."""
    root = make_root(minimal_facts)
    shutil.rmtree(root / "sys/bus/pci/drivers/vfio-pci")
    report = report_for(root)
    gpu = next(g for g in report.get("pci.gpus").facts["gpus"] if g["bdf"] == "0000:01:00.0")
    assert gpu["driver"] == "vfio-pci"
    assert gpu["iommu_group"] == 1


def test_dangling_device_link(make_root: MakeRoot, minimal_facts: dict[str, Any]) -> None:
    """A bus entry whose device directory is gone yields a device with unknown ids, no crash."""
    root = make_root(minimal_facts)
    shutil.rmtree(root / GPU)
    report = report_for(root)
    assert [g["bdf"] for g in report.get("pci.gpus").facts["gpus"]] == ["0000:00:02.0"]
    assert not [r.id for r in report.probes if r.status == "error"]


def test_group_without_devices(make_root: MakeRoot, minimal_facts: dict[str, Any]) -> None:
    """An IOMMU group directory with no devices is listed and noted."""
    root = make_root(minimal_facts)
    (root / "sys/kernel/iommu_groups/7/devices").mkdir(parents=True)
    (root / "sys/kernel/iommu_groups/bogus").mkdir()
    report = report_for(root)
    groups = report.get("iommu.groups")
    assert {"group": 7, "devices": []} in groups.facts["groups"]
    assert any(f.code == "IOMMU_EMPTY_GROUPS" and "7" in f.message for f in groups.findings)


def test_missing_cpuinfo_is_not_recorded(
    make_root: MakeRoot, minimal_facts: dict[str, Any]
) -> None:
    """cpu.virtualization without cpuinfo is `skip`, naming the file and how to record it."""
    root = make_root(minimal_facts)
    (root / "proc/cpuinfo").unlink()
    result = report_for(root).get("cpu.virtualization")
    assert result.status == "skip"
    assert result.summary == (
        "proc/cpuinfo not recorded: capture with `workbench capture` on the machine"
    )
    assert result.facts["unreadable"]["reason"] == "missing"


def test_empty_root_reports_honestly(tmp_path: Path) -> None:
    """An empty directory: every probe says what was not recorded; nothing is judged absent
    (no "IOMMU is off", no "no GPU among 0 devices")."""
    report = report_for(tmp_path)
    statuses = {r.id: r.status for r in report.probes}
    assert set(statuses.values()) == {"skip"}
    summaries = {r.id: r.summary for r in report.probes}
    assert summaries["cpu.virtualization"].startswith("proc/cpuinfo not recorded")
    assert summaries["kernel.cmdline"].startswith("proc/cmdline not recorded")
    assert summaries["iommu.enabled"].startswith("sys/kernel/iommu_groups not recorded")
    assert summaries["pci.gpus"].startswith("sys/bus/pci/devices not recorded")
    assert summaries["memory.hugepages"].startswith("sys/kernel/mm/hugepages not recorded")
    assert summaries["kvm.device"].startswith("dev/kvm not recorded")
    assert report.get("iommu.groups").blocked_by == ["iommu.enabled"]
    assert not report.failed


@pytest.mark.parametrize(
    ("removed", "probe", "summary"),
    [
        ("sys/kernel/iommu_groups", "iommu.enabled", "sys/kernel/iommu_groups not recorded"),
        ("sys/bus/pci/devices", "pci.gpus", "sys/bus/pci/devices not recorded"),
        ("sys/module", "display.looking_glass", "sys/module not recorded"),
    ],
)
def test_incomplete_root_skips_what_it_lacks(
    make_root: MakeRoot, minimal_facts: dict[str, Any], removed: str, probe: str, summary: str
) -> None:
    """A recorded root without one directory: the probes reading it skip with "not recorded"
    instead of judging the absence."""
    root = make_root(minimal_facts)
    shutil.rmtree(root / removed)
    if removed == "sys/kernel/iommu_groups":
        shutil.rmtree(root / "sys/class/iommu")
    report = report_for(root)
    result = report.get(probe)
    assert (result.status, result.summary.split(":")[0]) == ("skip", summary)


def test_missing_groups_leave_isolation_unjudged(
    make_root: MakeRoot, minimal_facts: dict[str, Any]
) -> None:
    """Groups not recorded: pci.gpus lists the GPUs with isolation null and says why, without
    the "no IOMMU groups" warning."""
    root = make_root(minimal_facts)
    shutil.rmtree(root / "sys/kernel/iommu_groups")
    result = report_for(root).get("pci.gpus")
    assert result.status == "pass"
    assert "isolation not recorded" in result.summary
    assert {f.code for f in result.findings} == {"GPU_GROUPS_NOT_RECORDED"}


def test_vfio_ids_absent_not_judged_without_devices(
    make_root: MakeRoot, minimal_facts: dict[str, Any]
) -> None:
    """vfio-pci.ids cannot be called absent when the devices were not recorded."""
    root = make_root(minimal_facts, kernel_cmdline="ro vfio-pci.ids=10de:ffff")
    shutil.rmtree(root / "sys/bus/pci/devices")
    result = report_for(root).get("kernel.cmdline")
    assert "CMDLINE_VFIO_IDS_ABSENT" not in {f.code for f in result.findings}


def test_cli_root_is_a_file(tmp_path: Path) -> None:
    """`--root FILE`: exit 2, one clear line on stderr, no traceback."""
    path = tmp_path / "file"
    path.write_text("x")
    proc = subprocess.run(
        [str(WORKBENCH), "probe", "--root", str(path)], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert len(proc.stderr.strip().splitlines()) == 1
    assert "is not a directory" in proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to drop to another user")
def test_unreadable_files_as_an_unprivileged_user(
    make_root: MakeRoot, minimal_facts: dict[str, Any]
) -> None:
    """Files this user may not read (mode 000) become clear errors naming the file, not crashes."""
    # pytest's own temp dirs are private to root: build in a world-traversable one.
    shared = Path(tempfile.mkdtemp(prefix="workbench-nobody-"))
    try:
        root = shared / "root"
        shutil.copytree(make_root(minimal_facts), root, symlinks=True)
        shared.chmod(0o755)
        (root / "proc/cpuinfo").chmod(0o000)
        (root / GPU / "class").chmod(0o000)
        report = run_as(65534, lambda: report_for(root).to_dict())
    finally:
        shutil.rmtree(shared)
    cpu = next(p for p in report["probes"] if p["id"] == "cpu.virtualization")
    assert cpu["status"] == "skip"
    assert cpu["facts"]["unreadable"]["reason"] == "permission"
    assert "proc/cpuinfo" in cpu["summary"] and "permission" in cpu["summary"]
    gpus = next(p for p in report["probes"] if p["id"] == "pci.gpus")
    assert [g["bdf"] for g in gpus["facts"]["gpus"]] == ["0000:00:02.0"]  # class unreadable
    # ... but the device is not lost: pci.gpus fails naming it and why.
    assert gpus["status"] == "fail"
    unreadable = next(f for f in gpus["findings"] if f["code"] == "PCI_DEVICE_UNREADABLE")
    assert "0000:01:00.0" in unreadable["message"] and "permission" in unreadable["message"]


def test_directory_instead_of_class_file_fails_pci_gpus_in_the_cli(
    make_root: MakeRoot, minimal_facts: dict[str, Any]
) -> None:
    """A device whose class cannot be read does not vanish: pci.gpus fails naming it, and the
    exit status is 1."""
    root = make_root(minimal_facts)
    (root / GPU / "class").unlink()
    (root / GPU / "class").mkdir()
    proc = subprocess.run(
        [str(WORKBENCH), "probe", "--json", "--root", str(root)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 1, proc.stderr
    gpus = next(p for p in json.loads(proc.stdout)["probes"] if p["id"] == "pci.gpus")
    assert gpus["status"] == "fail"
    finding = next(f for f in gpus["findings"] if f["code"] == "PCI_DEVICE_UNREADABLE")
    assert "0000:01:00.0" in finding["message"] and "not a regular file" in finding["message"]


def _bus(root: Path) -> Path:
    return root / "sys/bus/pci/devices"


def _loop(root: Path) -> None:
    (_bus(root) / "0000:05:00.0").symlink_to("0000:05:00.1")
    (_bus(root) / "0000:05:00.1").symlink_to("0000:05:00.0")


def _chain(root: Path) -> None:
    for n in range(5000):
        (_bus(root) / f"chain{n}").symlink_to(f"chain{n + 1}" if n < 4999 else "chain0")
    (_bus(root) / "0000:05:00.0").symlink_to("chain0")


def _deep(root: Path) -> None:
    (_bus(root) / "0000:05:00.0").symlink_to("/".join(["a", ".."] * 700))


def _dangling(root: Path) -> None:
    (_bus(root) / "0000:05:00.0").symlink_to("../../../devices/pci0000:00/0000:05:00.0")


def _group_loop(root: Path) -> None:
    groups = root / "sys/kernel/iommu_groups"
    (groups / "9").symlink_to("9")
    (groups / "1/devices/0000:05:00.0").symlink_to("/".join(["a", ".."] * 700))


@pytest.mark.parametrize(
    "breakage",
    [_loop, _chain, _deep, _dangling, _group_loop],
    ids=["loop", "chain-5000", "deep-target", "dangling", "group-links"],
)
def test_one_broken_device_link_does_not_abort_the_scan(
    make_root: MakeRoot, minimal_facts: dict[str, Any], breakage: Callable[[Path], None]
) -> None:
    """A broken link among the devices or groups (loop, 5,000-link chain, 1,400-component
    target, dangling) is that entry's problem; every other device is scanned; no probe breaks."""
    root = make_root(minimal_facts)
    breakage(root)
    report = report_for(root)
    assert not [(r.id, r.error) for r in report.probes if r.status == "error"]
    gpus = report.get("pci.gpus")
    assert [g["bdf"] for g in gpus.facts["gpus"]] == ["0000:00:02.0", "0000:01:00.0"]
    codes = {f.code for f in gpus.findings}
    assert codes & {"PCI_DEVICE_UNREADABLE", "PCI_INVENTORY_PROBLEMS"}
    assert "0000:05:00.0" in " ".join(f.message for f in gpus.findings) or breakage is _group_loop


def test_device_in_two_groups_is_an_impossible_topology(
    make_root: MakeRoot, minimal_facts: dict[str, Any]
) -> None:
    """A device listed in two IOMMU groups: iommu.groups fails saying the topology is impossible."""
    root = make_root(minimal_facts)
    (root / "sys/kernel/iommu_groups/0/devices/0000:01:00.0").symlink_to(
        "../../../../devices/pci0000:00/0000:01:00.0"
    )
    result = report_for(root).get("iommu.groups")
    assert result.status == "fail"
    finding = next(f for f in result.findings if f.code == "IOMMU_DEVICE_IN_SEVERAL_GROUPS")
    assert "0000:01:00.0 in groups 0, 1" in finding.message
    assert "Impossible topology" in finding.message


def test_gpu_without_vendor_file(make_root: MakeRoot, minimal_facts: dict[str, Any]) -> None:
    """A GPU whose vendor file is missing is still listed (its vendor null), with the
    missing file as a problem; no probe breaks."""
    root = make_root(minimal_facts)
    (root / GPU / "vendor").unlink()
    devices = [dict(d) for d in minimal_facts["devices"]]
    report = report_for(root)
    assert not [(r.id, r.error) for r in report.probes if r.status == "error"]
    gpus = report.get("pci.gpus")
    gpu = next(g for g in gpus.facts["gpus"] if g["bdf"] == "0000:01:00.0")
    assert gpu["vendor"] is None and gpu["device"] == devices[2]["device"]
    problems = next(f for f in gpus.findings if f.code == "PCI_INVENTORY_PROBLEMS")
    assert "0000:01:00.0 vendor: missing" in problems.message


@pytest.mark.parametrize("digits", ["²", "1" * 400, "٣"], ids=["superscript", "400", "arabic"])
def test_odd_numbers_in_sysfs_are_findings_not_crashes(
    make_root: MakeRoot, minimal_facts: dict[str, Any], digits: str
) -> None:
    """`²`, Arabic-Indic digits or 400 digits as nr_hugepages, MemTotal, kvmfr size or an IOMMU
    group name: a finding or problem, never a crash (status `error`)."""
    root = make_root(
        minimal_facts,
        memory_kb=16 * 1024 * 1024,
        hugepages={"2048": {"nr": 4}},
        modules=["kvmfr"],
        module_params={"kvmfr": {"static_size_mb": digits}},
        device_nodes={"/dev/kvmfr0": {"kind": "char", "mode": "0660", "accessible": True}},
    )
    (root / "sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages").write_text(digits + "\n")
    (root / "proc/meminfo").write_text(f"MemTotal: {digits} kB\n")
    (root / "sys/kernel/iommu_groups" / digits[:200]).mkdir()  # a name has at most 255 bytes
    report = report_for(root)
    assert not [(r.id, r.error) for r in report.probes if r.status == "error"]
    huge = report.get("memory.hugepages")
    assert huge.facts["memory_total_bytes"] is None
    assert "HUGEPAGES_UNREADABLE" in {f.code for f in huge.findings}
    looking = report.get("display.looking_glass")
    assert looking.facts["kvmfr_static_size_mb"] == []
    assert "LG_KVMFR_BAD_SIZE" in {f.code for f in looking.findings}
    assert len(report.get("iommu.groups").facts["groups"]) == 2
    assert any("not a group number" in f.message for f in report.get("pci.gpus").findings)


def test_huge_recorded_shm_size_is_a_problem(
    make_root: MakeRoot, minimal_facts: dict[str, Any]
) -> None:
    """A 400-digit /dev/shm size in the manifest is not believed: a problem of the machine and
    a warning of Looking Glass, never an OverflowError."""
    shm = "/dev/shm/looking-glass"
    root = make_root(minimal_facts, device_nodes={shm: {"kind": "file", "size": 10**400}})
    (root / "dev/shm").mkdir(parents=True)
    (root / "dev/shm/looking-glass").write_text("")
    report = report_for(root)
    looking = report.get("display.looking_glass")
    assert looking.status == "warn", looking.error
    assert [f.code for f in looking.findings] == ["LG_SHM_SIZE_UNKNOWN"]
    assert any("device_nodes" in p and "size" in p for p in report.host["problems"])


@pytest.mark.parametrize("pid", ["x", "1" * 400], ids=["letter", "400-digit"])
def test_bad_manifest_pid_in_the_cli(
    make_root: MakeRoot, minimal_facts: dict[str, Any], pid: str
) -> None:
    """A recorded pid that is not a pid: kvm.device still judges, the fact is null (typed),
    the problem is in the report's host and in the text output."""
    root = make_root(
        minimal_facts,
        device_nodes={"/dev/kvm": {"kind": "char", "mode": "0660", "accessible": True}},
        processes=[{"pid": pid, "name": "qemu-system-x86_64", "user": "qemu"}],
    )
    proc = subprocess.run(
        [str(WORKBENCH), "probe", "--json", "--root", str(root)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    kvm = next(p for p in doc["probes"] if p["id"] == "kvm.device")
    assert kvm["status"] == "pass"
    assert kvm["facts"]["processes"] == [
        {"pid": None, "name": "qemu-system-x86_64", "user": "qemu"}
    ]
    assert any("processes[0].pid" in p for p in doc["host"]["problems"])
    text = subprocess.run(
        [str(WORKBENCH), "probe", "--root", str(root)], capture_output=True, text=True, timeout=60
    )
    assert "problem: manifest.json facts.processes[0].pid" in text.stdout


def test_deeply_nested_manifest_in_the_cli(
    make_root: MakeRoot, minimal_facts: dict[str, Any]
) -> None:
    """A manifest.json nested 100,000 deep: the report is made, the problem shown, no traceback."""
    root = make_root(minimal_facts)
    (root / "manifest.json").write_text("[" * 100_000 + "]" * 100_000)
    proc = subprocess.run(
        [str(WORKBENCH), "probe", "--root", str(root)], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "problem: manifest.json is nested too deeply" in proc.stdout


@pytest.mark.parametrize(
    "facts",
    [
        "[" * 100_000 + "]" * 100_000,
        '{"devices": [], "shm": {"looking-glass": "' + "9" * 400 + '"}}',
    ],
    ids=["nested", "huge-shm"],
)
def test_machine_builder_refuses_bad_facts(tmp_path: Path, facts: str) -> None:
    """`python -m workbench.machines` on facts nested 100,000 deep or with a 400-digit size:
    exit 2 with one line on stderr, no traceback."""
    path = tmp_path / "facts.json"
    path.write_text(facts)
    proc = subprocess.run(
        [
            str(Path(WORKBENCH).parent / "python"),
            "-m",
            "workbench.machines",
            str(path),
            str(tmp_path / "out"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
