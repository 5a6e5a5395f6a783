"""`workbench probe --format vhv`: virt-host-validate's lines and exit status, compared with
the real `virt-host-validate qemu` on this machine and on machine roots."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import HOSTS, RECORDED, report_for, run_cli
from workbench.commands.vhvtext import PROBES, VhvLine, render, vhv_lines
from workbench.core.host import Host

VHV = shutil.which("virt-host-validate")
LINE = re.compile(r"^ {2}QEMU: Checking (.{60}): (PASS|WARN|FAIL|NOTE)(?: \((.*)\))?$")
DEMO = """\
  QEMU: Checking for hardware virtualization                                 : PASS
  QEMU: Checking if device /dev/kvm exists                                   : PASS
  QEMU: Checking if device /dev/kvm is accessible                            : PASS
  QEMU: Checking if device /dev/vhost-net exists                             : PASS
  QEMU: Checking if device /dev/net/tun exists                               : PASS
  QEMU: Checking for cgroup 'cpu' controller support                         : PASS
  QEMU: Checking for cgroup 'cpuacct' controller support                     : PASS
  QEMU: Checking for cgroup 'cpuset' controller support                      : PASS
  QEMU: Checking for cgroup 'memory' controller support                      : PASS
  QEMU: Checking for cgroup 'devices' controller support                     : PASS
  QEMU: Checking for cgroup 'blkio' controller support                       : PASS
  QEMU: Checking for device assignment IOMMU support                         : PASS
  QEMU: Checking if IOMMU is enabled by kernel                               : PASS
  QEMU: Checking for secure guest support                                    : WARN \
(Unknown if this platform has Secure Guest support)
"""


def parsed(text: str) -> list[tuple[str, str, str | None]]:
    """(check, level, hint) of each line; a line not in vhv's format fails the test."""
    out = []
    for line in text.splitlines():
        match = LINE.match(line)
        assert match, f"not a virt-host-validate line: {line!r}"
        out.append((match[1].rstrip(), match[2], match[3]))
    return out


@pytest.mark.skipif(VHV is None, reason="virt-host-validate is not installed")
def test_matches_virt_host_validate_on_this_machine(tmp_path: Path) -> None:
    """Check by check (name, PASS/WARN/FAIL, hint) and the exit status, as the real tool."""
    real = subprocess.run([str(VHV), "qemu"], capture_output=True, text=True, timeout=60)
    ours = run_cli("probe", "--format", "vhv")
    assert parsed(ours.stdout) == parsed(real.stdout)
    assert ours.stdout == real.stdout  # to the space
    assert ours.returncode == real.returncode


@pytest.mark.skipif(VHV is None, reason="virt-host-validate is not installed")
def test_capture_of_this_machine_gives_the_same_lines(tmp_path: Path) -> None:
    """A capture records what the checks need: the same lines come back from the archive."""
    real = subprocess.run([str(VHV), "qemu"], capture_output=True, text=True, timeout=60)
    archive = tmp_path / "c.tar.gz"
    assert run_cli("capture", "-o", str(archive)).returncode == 0
    ours = run_cli("probe", "--capture", str(archive), "--format", "vhv")
    assert (ours.stdout, ours.returncode) == (real.stdout, real.returncode)


def test_demo_machine_lines(make_root: Callable[..., Path]) -> None:
    """Every line of a healthy Intel host, in vhv's order, including the kernel IOMMU line."""
    root = make_root("demo-workstation")
    text, errors, status = render(report_for(root, only=list(PROBES)), Host(root))
    assert (text, errors, status) == (DEMO, [], 0)


@pytest.mark.parametrize("name", RECORDED)
def test_recorded_machines(make_root: Callable[..., Path], name: str) -> None:
    """The hardware lines follow the CPU flags and ACPI tables; what the facts lack (/dev,
    mounts, the table names) is NOTE, which never makes the exit status 1."""
    root = make_root(name)
    lines, _ = vhv_lines(report_for(root, only=list(PROBES)), Host(root))
    assert lines[0] == VhvLine("for hardware virtualization", "PASS", None, "cpu.virtualization")
    by_check = {line.check: line for line in lines}
    assert by_check["if device /dev/net/tun exists"].level == "NOTE"
    iommu = by_check["for device assignment IOMMU support"]
    tables = json.loads((HOSTS / f"{name}.json").read_text()).get("acpi_tables")
    assert iommu.level == ("PASS" if tables else "NOTE")  # no table names: not recorded
    assert all(line.level != "FAIL" for line in lines)


def test_no_vmx_means_fail_and_no_kvm_lines(make_root: Callable[..., Path]) -> None:
    """Without vmx/svm vhv fails the first check, skips the /dev/kvm lines, says "Unknown" of
    the IOMMU, and exits 1 (as on this machine, whatever cpu.virtualization's status says)."""
    root = make_root("demo-workstation")
    cpuinfo = root / "proc/cpuinfo"
    cpuinfo.write_text(cpuinfo.read_text().replace(" vmx ", " hypervisor "))
    text, _, status = render(report_for(root, only=list(PROBES)), Host(root))
    checks = parsed(text)
    assert checks[0][1] == "FAIL" and status == 1
    assert not [c for c in checks if "/dev/kvm" in c[0]]
    assert (
        "for device assignment IOMMU support",
        "WARN",
        "Unknown if this platform has IOMMU support",
    ) in checks


def test_missing_tun_exits_1_through_the_cli(make_root: Callable[..., Path]) -> None:
    """A FAIL line (no /dev/net/tun) makes `workbench probe --format vhv` exit 1."""
    root = make_root("demo-workstation")
    manifest = json.loads((root / "manifest.json").read_text())
    manifest["facts"]["device_nodes"]["/dev/net/tun"] = None
    (root / "manifest.json").write_text(json.dumps(manifest))
    out = run_cli("probe", "--root", str(root), "--format", "vhv")
    assert out.returncode == 1
    assert (
        "if device /dev/net/tun exists",
        "FAIL",
        "Load the 'tun' module to enable networking for QEMU guests",
    ) in parsed(out.stdout)


def test_cgroups_unusable_prints_no_controller_line(make_root: Callable[..., Path]) -> None:
    """As vhv: "Unable to initialize cgroups" on stderr, no cgroup line, no exit 1 for it."""
    root = make_root("demo-workstation", mounts=["proc /proc proc rw 0 0"])
    out = run_cli("probe", "--root", str(root), "--format", "vhv")
    assert "Unable to initialize cgroups: no cgroup backend available" in out.stderr
    assert not [c for c in parsed(out.stdout) if "cgroup" in c[0]]
    assert out.returncode == 0


def test_hostile_not_recorded_hint_is_escaped(make_root: Callable[..., Path]) -> None:
    """A recording's own words about what it lacks reach the terminal escaped."""
    root = make_root("demo-workstation", mounts=None)
    manifest = json.loads((root / "manifest.json").read_text())
    manifest["not_recorded"] = {"proc/mounts": "not here \x1b[31mred\x07"}
    (root / "manifest.json").write_text(json.dumps(manifest))
    out = run_cli("probe", "--root", str(root), "--format", "vhv")
    assert "\x1b" not in out.stdout and "\\x1b[31mred" in out.stdout
    assert all(line[1] == "NOTE" for line in parsed(out.stdout) if "cgroup" in line[0])


def test_only_is_refused() -> None:
    """vhv's checks are fixed: --only with --format vhv is bad usage (exit 2)."""
    out = run_cli("probe", "--format", "vhv", "--only", "host.tun")
    assert out.returncode == 2 and "drop --only" in out.stderr


def test_colour_as_vhv_on_a_terminal(make_root: Callable[..., Path]) -> None:
    """With colour, PASS is green and WARN yellow with the hint outside the escape."""
    root = make_root("demo-workstation")
    text, _, _ = render(report_for(root, only=list(PROBES)), Host(root), colour=True)
    assert ": \x1b[32mPASS\x1b[0m\n" in text
    assert "\x1b[33mWARN\x1b[0m (Unknown if this platform has Secure Guest support)" in text


@pytest.mark.parametrize(
    ("cpuinfo", "first", "iommu"),
    [
        # aarch64: no flag vhv knows, so no hardware line; the /dev/kvm lines come first
        (
            "processor\t: 0\nFeatures\t: fp asimd evtstrm\nCPU implementer\t: 0x41\n",
            "if device /dev/kvm exists",
            "WARN",
        ),
        # s390x with sie: the hardware line passes; the IOMMU line needs PCI devices (here: some)
        (
            "vendor_id       : IBM/S390\nfeatures\t: esan3 zarch sie\nfacilities      : 0 1 158\n",
            "for hardware virtualization",
            "PASS",
        ),
    ],
    ids=["aarch64", "s390x"],
)
def test_other_architectures(
    make_root: Callable[..., Path], cpuinfo: str, first: str, iommu: str
) -> None:
    """vhv's arch rules: no hardware line where it knows no flag, sie on s390."""
    root = make_root("demo-workstation")
    (root / "proc/cpuinfo").write_text(cpuinfo)
    lines, _ = vhv_lines(report_for(root, only=list(PROBES)), Host(root))
    assert lines[0].check == first and lines[0].level in ("PASS", "NOTE")
    by_check = {line.check: line for line in lines}
    assert by_check["for device assignment IOMMU support"].level == iommu
