"""`workbench probe --sos REPORT --format vhv`: a sosreport's /dev listing and /proc/mounts
answer virt-host-validate's checks; what the report lacks is a NOTE, never a verdict."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import run_cli
from tests.sosfixtures import HOSTS, load_facts, write_sos_fixture
from tests.test_vhv_format import parsed

DUO = HOSTS / "asokolsky-duo-z370-gt1030.json"  # Intel, vmx
needs_hosts = pytest.mark.skipif(not DUO.exists(), reason="../shared/hosts is absent")
LISTING = (
    "/dev:\ntotal 0\ncrw-rw----  1 0 36  10, 232 Nov 29 10:00 kvm\n"
    "drwxr-xr-x  2 0 0 60 Nov 29 10:00 net\n\n"
    "/dev/net:\ntotal 0\ncrw-rw-rw-  1 0 0  10, 200 Nov 29 10:00 tun\n"
)
MOUNTS = "cgroup2 /sys/fs/cgroup cgroup2 rw,nosuid,nodev,noexec,relatime 0 0\n"


@needs_hosts
def test_sosreport_lines(tmp_path: Path) -> None:
    """vhost-net absent from the listing warns, tun passes; the cgroup2 mount is named but its
    controllers are not in the report: NOTE; exit 0."""
    report = write_sos_fixture(load_facts(DUO), tmp_path / "sos")
    listing = report / "sos_commands/block/ls_-lanR_.dev"
    listing.parent.mkdir(parents=True)
    listing.write_text(LISTING)
    (report / "proc").mkdir(exist_ok=True)
    (report / "proc/mounts").write_text(MOUNTS)
    out = run_cli("probe", "--sos", str(report), "--format", "vhv")
    lines = {check: (level, hint) for check, level, hint in parsed(out.stdout)}
    assert lines["for hardware virtualization"] == ("PASS", None)
    assert lines["if device /dev/kvm exists"] == ("PASS", None)
    assert lines["if device /dev/vhost-net exists"][0] == "WARN"
    assert lines["if device /dev/net/tun exists"] == ("PASS", None)
    level, hint = lines["for cgroup 'memory' controller support"]
    assert level == "NOTE" and hint and "sys/fs/cgroup/cgroup.controllers" in hint
    assert out.returncode == 0


@needs_hosts
def test_sosreport_without_mounts_or_listing(tmp_path: Path) -> None:
    """No /dev listing, no /proc/mounts: every line that needs them is a NOTE naming the gap."""
    report = write_sos_fixture(load_facts(DUO), tmp_path / "sos")
    out = run_cli("probe", "--sos", str(report), "--format", "vhv")
    lines = {check: (level, hint) for check, level, hint in parsed(out.stdout)}
    for check in ("if device /dev/net/tun exists", "for cgroup 'cpu' controller support"):
        assert lines[check][0] == "NOTE"
    assert "proc/mounts" in str(lines["for cgroup 'cpu' controller support"][1])
    assert out.returncode == 0


@needs_hosts
def test_sosreport_cgroups_plugin_answers(tmp_path: Path) -> None:
    """With the cgroups plugin's /sys/fs/cgroup the controller lines are judged (no io: blkio
    warns with vhv's hint); without it the NOTE names the plugin."""
    report = write_sos_fixture(load_facts(DUO), tmp_path / "sos")
    (report / "proc").mkdir(exist_ok=True)
    (report / "proc/mounts").write_text(MOUNTS)
    unjudged = run_cli("probe", "--sos", str(report), "--format", "vhv")
    note = {c: h for c, _, h in parsed(unjudged.stdout)}["for cgroup 'cpu' controller support"]
    assert note and "cgroups plugin" in note
    (report / "sys/fs/cgroup").mkdir(parents=True)
    (report / "sys/fs/cgroup/cgroup.controllers").write_text("cpuset cpu memory pids\n")
    out = run_cli("probe", "--sos", str(report), "--format", "vhv")
    lines = {check: (level, hint) for check, level, hint in parsed(out.stdout)}
    assert lines["for cgroup 'memory' controller support"] == ("PASS", None)
    assert lines["for cgroup 'blkio' controller support"] == (
        "WARN",
        "Enable 'blkio' in kernel Kconfig file or mount/enable cgroup controller in your system",
    )
