"""`workbench probe --format vhv`: virt-host-validate's lines and exit status, compared with
the real `virt-host-validate qemu` on this machine and on machine roots."""

from __future__ import annotations

import json
import os
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


def test_matches_virt_host_validate_on_this_machine(tmp_path: Path) -> None:
    """Check by check (name, PASS/WARN/FAIL, hint) and the exit status, as the real tool; in
    CI (where the set-up installs it) a missing virt-host-validate fails, never skips."""
    if VHV is None:
        if os.environ.get("CI"):
            pytest.fail("CI is set but virt-host-validate is not installed (libvirt-clients)")
        pytest.skip("virt-host-validate is not installed")
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
    # vhv's own stderr line, word for word (libvirt's "internal error: " included, no prefix)
    assert out.stderr == (
        "Unable to initialize cgroups: internal error: no cgroup backend available\n"
    )
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


KVM_OK = [("if device /dev/kvm exists", "PASS"), ("if device /dev/kvm is accessible", "PASS")]
NODES_OK = [("if device /dev/vhost-net exists", "PASS"), ("if device /dev/net/tun exists", "PASS")]
IOMMU_OK = [
    ("for device assignment IOMMU support", "PASS"),
    ("if IOMMU is enabled by kernel", "PASS"),
]
POWER9 = "processor\t: 0\ncpu\t\t: POWER9 (architected), altivec supported\nplatform\t: pSeries\n"


@pytest.mark.parametrize(
    ("cpuinfo", "expected"),
    [
        # aarch64: no flag vhv 9 knows, so no hardware line; the IOMMU is "unknown"
        (
            "processor\t: 0\nFeatures\t: fp asimd evtstrm\nCPU implementer\t: 0x41\n",
            [*KVM_OK, *NODES_OK, ("for device assignment IOMMU support", "WARN")],
        ),
        # s390x with sie: the hardware line passes; the IOMMU line needs PCI devices (here: some)
        (
            "vendor_id       : IBM/S390\nfeatures\t: esan3 zarch sie\nfacilities      : 0 1 158\n",
            [("for hardware virtualization", "PASS"), *KVM_OK, *NODES_OK, *IOMMU_OK],
        ),
        # ppc64: vhv counts hardware virtualization and the IOMMU as always there, and warns
        # when kvm_hv is not loaded
        (
            POWER9,
            [
                ("for hardware virtualization", "PASS"),
                *KVM_OK,
                ("for PowerPC KVM module loaded", "WARN"),
                *NODES_OK,
                *IOMMU_OK,
            ],
        ),
    ],
    ids=["aarch64", "s390x", "ppc64"],
)
def test_other_architectures(
    make_root: Callable[..., Path], cpuinfo: str, expected: list[tuple[str, str]]
) -> None:
    """vhv's arch rules, line by line with the exact level: no hardware line where it knows no
    flag, sie on s390, PPC64 always virtualizing with an IOMMU (and its kvm_hv line)."""
    root = make_root("demo-workstation")
    (root / "proc/cpuinfo").write_text(cpuinfo)
    lines, _ = vhv_lines(report_for(root, only=list(PROBES)), Host(root))
    got = [(x.check, x.level) for x in lines if "cgroup" not in x.check]
    assert got[:-1] == expected  # the secure guest line is test_vhv_probes'


def test_ppc64_with_kvm_hv_passes_its_line(make_root: Callable[..., Path]) -> None:
    """kvm_hv loaded (a /proc/modules line): the PowerPC line passes, nothing fails."""
    root = make_root("demo-workstation")
    (root / "proc/cpuinfo").write_text(POWER9)
    (root / "proc/modules").write_text("kvm_hv 155648 0 - Live 0x0\nkvm 1146880 1 kvm_hv\n")
    text, _, status = render(report_for(root, only=list(PROBES)), Host(root))
    assert f"Checking {'for PowerPC KVM module loaded':<60}: PASS\n" in text
    assert status == 0


@pytest.mark.parametrize(
    ("pci", "said"),
    [(False, "Skipped - PCI support disabled"), (True, "Skipped - No PCI devices are online")],
)
def test_s390_without_pci_says_it_skipped(
    make_root: Callable[..., Path], pci: bool, said: str
) -> None:
    """s390x without PCI devices: vhv 9's NOTE line, word for word, and no kernel line."""
    root = make_root("demo-workstation")
    (root / "proc/cpuinfo").write_text("vendor_id       : IBM/S390\nfeatures\t: esan3 zarch sie\n")
    devices = root / "sys/bus/pci/devices"
    for link in devices.iterdir():
        link.unlink()
    if not pci:
        devices.rmdir()
    lines, _ = vhv_lines(report_for(root, only=list(PROBES)), Host(root))
    by_check = {x.check: x for x in lines}
    iommu = by_check["for device assignment IOMMU support"]
    assert (iommu.level, iommu.hint) == ("NOTE", said)
    assert "if IOMMU is enabled by kernel" not in by_check
