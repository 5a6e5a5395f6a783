"""The demo machine fails for a real reason: its media-server VM did not start because the
GTX 1650's HDMI audio was left on snd_hda_intel; the facts, the kernel log of the boot and the
VM's QEMU log tell the same story, and the catalogue names that cause first."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import WORKBENCH, report_for
from workbench.core.host import Host
from workbench.demo import DemoEnv, demo_environment, demo_facts
from workbench.machines import build_root

CAUSE = "GROUP_MEMBER_NOT_VFIO"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoEnv]:
    with demo_environment(tmp_path_factory.mktemp("demo"), with_agent=False) as env:
        yield env


def explain(*args: str) -> dict[str, Any]:
    done = subprocess.run(
        [str(WORKBENCH), "explain", "--json", *args], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 1, done.stderr  # 1: a cause
    out: dict[str, Any] = json.loads(done.stdout)
    return out


def test_the_facts_agree_with_the_story(demo: DemoEnv) -> None:
    """The card's audio is on snd_hda_intel in the same IOMMU group as its video on vfio-pci,
    and the boot's command line gives vfio-pci the video's id only."""
    host = Host(demo.root)
    driver = {d.bdf: d.driver for d in host.pci().devices}
    assert driver["0000:04:00.0"] == "vfio-pci" and driver["0000:04:00.1"] == "snd_hda_intel"
    group = host.path("sys/kernel/iommu_groups/11/devices")
    assert sorted(p.name for p in group.iterdir()) == ["0000:04:00.0", "0000:04:00.1"]
    cmdline = host.read_text("proc/cmdline")
    assert "10de:1f82" in cmdline and "10de:10fa" not in cmdline
    kernel = host.read_text("logs/kernel.log")
    assert "snd_hda_intel 0000:04:00.1: enabling device" in kernel
    assert f"Command line: {cmdline.strip()}" in kernel  # the boot's record of it agrees


def test_explain_names_the_cause_first_from_the_logs_alone(demo: DemoEnv) -> None:
    """`workbench explain` on the VM's QEMU log and the kernel log (no facts) puts the group
    member on a host driver first, with QEMU's `group 11 is not viable` line as evidence."""
    qemu = demo.root / "var/log/libvirt/qemu/media-server.log"
    got = explain(str(qemu), str(demo.root / "logs/kernel.log"))
    first = got["causes"][0]
    assert first["code"] == CAUSE
    assert any("group 11 is not viable" in e["text"] for e in first["evidence"])
    assert first["subject"]["bdf"] == "0000:04:00.0"


def test_explain_with_the_machine_names_the_audio_and_its_driver(demo: DemoEnv) -> None:
    """With the machine's facts, the cause says which device holds the group and on what."""
    qemu = demo.root / "var/log/libvirt/qemu/media-server.log"
    first = explain(str(qemu), "--root", str(demo.root))["causes"][0]
    assert first["code"] == CAUSE
    assert first["subject"]["device"] == "0000:04:00.1"
    assert first["subject"]["driver"] == "snd_hda_intel"


def test_the_report_says_media_server_cannot_start_and_why(demo: DemoEnv) -> None:
    """vm.preflight fails for media-server (its facts carry the cause; the finding points to
    libvirt.domains, whose finding names the cause, the member on snd_hda_intel and a remedy,
    said once)."""
    report = report_for(demo.root, connect=demo.uri)
    preflight = next(p for p in report.probes if p.id == "vm.preflight")
    assert preflight.status == "fail"
    vm = preflight.facts["vms"]["media-server"]
    assert vm["ready"] is False and CAUSE in [c["code"] for c in vm["causes"]]
    assert [f.code for f in preflight.findings if f.message.startswith("media-server:")] == [
        "VM_CANNOT_START"
    ]
    domains = next(p for p in report.probes if p.id == "libvirt.domains")
    found = [f for f in domains.findings if f.cause == CAUSE]
    assert len(found) == 1 and found[0].message.startswith("media-server:")
    assert "snd_hda_intel" in found[0].message and found[0].remedy


def test_the_story_leaves_the_workstations_own_facts(tmp_path: Path) -> None:
    """The story adds to the workstation (its devices, iomem in address order, the boot's lines
    in time order); every device it had stays as it was."""
    base = json.loads(
        (Path(__file__).parent.parent / "snapshots/hosts/demo-workstation.json").read_text()
    )
    facts = demo_facts()
    assert all(d in facts["devices"] for d in base["devices"])
    starts = [int(x.split("-")[0], 16) for x in facts["iomem"] if not x.startswith(" ")]
    assert starts == sorted(starts)
    times = [float(x[1:13]) for x in facts["kernel_log"]]
    assert times == sorted(times)
    root = build_root(facts, tmp_path / "root")
    assert (
        (root / "var/log/libvirt/qemu/media-server.log")
        .read_text()
        .endswith("shutting down, reason=failed\n")
    )


@pytest.mark.parametrize("name", ["../escape", "", "..", "a/b"])
def test_a_qemu_log_name_that_is_not_a_file_name_is_refused(name: str, tmp_path: Path) -> None:
    """build_root writes a QEMU log only under its own directory."""
    with pytest.raises(ValueError, match="not a domain name"):
        build_root({"devices": [], "qemu_logs": {name: ["x"]}}, tmp_path / "root")


def test_the_boots_kernel_lines_merge_by_time_with_the_others(
    demo: DemoEnv, tmp_path: Path
) -> None:
    """The demo root records when it booted (proc/stat btime): in the merged view its dmesg
    lines take their wall-clock times, so a line logged between the boot and the failed start
    sits between the kernel's lines and QEMU's."""
    from workbench.ui.view.opening import open_view_sources
    from workbench.ui.view.spool import Spool
    from workbench.ui.view.timeline import Timeline

    between = tmp_path / "between.log"
    between.write_text(
        "2026-11-29T07:30:00.000000Z host: before the boot\n"
        "2026-11-29T07:50:00.000000Z host: between the boot and the start\n"
    )
    spool = Spool()
    sources = open_view_sources(
        [str(between), "qemu:media-server", "kernel"], Host(demo.root), spool
    )
    timeline = Timeline(sources)
    try:
        while not timeline.complete:
            timeline.step()
        labels = [timeline.label(row) for row in range(len(timeline))]
    finally:
        timeline.close()
        spool.close()
    kernel, qemu = labels.count("kernel"), labels.count("qemu:media-server")
    # before the boot; the boot's lines; between; the failed start (unanchored, the kernel's
    # lines would have no time and lead)
    assert labels == [
        "between.log",
        *["kernel"] * kernel,
        "between.log",
        *["qemu:media-server"] * qemu,
    ]


def test_a_root_without_a_boot_time_leaves_dmesg_times_unknown(tmp_path: Path) -> None:
    """No boot time recorded: the kernel log's seconds since boot are not made into times."""
    from workbench.ui.view.opening import recorded_boot_time

    facts = demo_facts()
    assert (
        recorded_boot_time(Host(build_root(facts, tmp_path / "with"))) == 1795938070.0
    )  # 2026-11-29T07:41:10Z
    del facts["boot_time"]
    assert recorded_boot_time(Host(build_root(facts, tmp_path / "without"))) is None
