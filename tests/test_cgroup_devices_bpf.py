"""cgroup v2 `devices` counts only when this process could run libvirt's BPF query
(probes.cgroup_devices): on machine roots, in a capture, and live as `nobody` against the real
virt-host-validate in a mount namespace with only cgroup2 mounted."""

from __future__ import annotations

import os
import shutil
import subprocess
import sysconfig
import tarfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO, report_for, run_cli
from workbench.commands.vhvtext import PROBES, render
from workbench.core.host import Host

V2 = "cgroup2 /sys/fs/cgroup cgroup2 rw,nosuid,nodev,noexec,relatime 0 0"
ALL = {"/sys/fs/cgroup": "cpuset cpu io memory pids"}
VHV = shutil.which("virt-host-validate")
DEVICES = "for cgroup 'devices' controller support"


def cgroups(make_root: Callable[..., Path], **facts: Any) -> tuple[Any, str]:
    root = make_root("demo-workstation", mounts=[V2], cgroup_controllers=ALL, **facts)
    report = report_for(root, only=list(PROBES))
    text, _, _ = render(report, Host(root))
    line = next(x for x in text.splitlines() if DEVICES in x)
    return report.get("host.cgroups"), line


@pytest.mark.parametrize(
    ("caps", "kernel", "devices"),
    [
        ("000001ffffffffff", "6.1.0", True),  # root
        ("0000000000001000", "5.10.0", True),  # CAP_NET_ADMIN alone
        ("0000000000200000", "6.9.0", True),  # CAP_SYS_ADMIN: bpf_net_capable() since 6.9
        ("0000000000200000", "6.8.0", False),  # before 6.9 only CAP_NET_ADMIN counted
        ("0000000000000000", "6.1.0", False),  # an unprivileged user
    ],
)
def test_v2_devices_follows_the_capabilities(
    make_root: Callable[..., Path], caps: str, kernel: str, devices: bool
) -> None:
    """v2 `devices` is PASS only with the capability the kernel's BPF query needs."""
    got, line = cgroups(make_root, cap_eff=caps, kernel=kernel)
    assert got.facts["controllers"]["devices"] is devices
    assert got.status == ("pass" if devices else "warn")
    assert line.endswith(": PASS") if devices else ": WARN (Enable 'devices'" in line
    if not devices:
        (missing,) = got.findings
        assert "CAP_NET_ADMIN" in missing.message


def test_v2_devices_not_recorded(make_root: Callable[..., Path]) -> None:
    """Without the capturing process's CapEff: 'not recorded' (info, vhv NOTE), not a verdict."""
    got, line = cgroups(make_root, cap_eff=None)
    assert got.facts["controllers"]["devices"] is None
    assert got.status == "pass" and "devices not recorded" in got.summary
    (note,) = got.findings
    assert (note.code, note.severity) == ("CGROUP_DEVICES_NOT_RECORDED", "info")
    assert note.remedy and "workbench capture" in note.remedy
    assert ": NOTE (not recorded: proc/self/status (CapEff) not recorded)" in line


def test_v1_devices_needs_no_bpf(make_root: Callable[..., Path]) -> None:
    """A v1 devices hierarchy counts whoever runs the check (no BPF there)."""
    mounts = [V2, "cgroup /sys/fs/cgroup/devices cgroup rw,relatime,devices 0 0"]
    root = make_root(
        "demo-workstation", mounts=mounts, cgroup_controllers=ALL, cap_eff="0000000000000000"
    )
    got = report_for(root, only=["host.cgroups"]).get("host.cgroups")
    assert got.facts["controllers"]["devices"] is True


def test_user_namespace_capabilities_do_not_count(make_root: Callable[..., Path]) -> None:
    """Root inside a user namespace is not capable in the initial one: devices is missing."""
    root = make_root("demo-workstation", mounts=[V2], cgroup_controllers=ALL, cap_eff="1ff" * 5)
    (root / "proc/self/uid_map").write_text("         0     100000      65536\n")
    got = report_for(root, only=["host.cgroups"]).get("host.cgroups")
    assert got.facts["controllers"]["devices"] is False
    assert "user namespace" in got.findings[0].message


def test_capture_records_the_capability_line_only(
    make_root: Callable[..., Path], tmp_path: Path
) -> None:
    """A capture keeps the CapEff line (no pid, name or memory) and judges as the root did."""
    root = make_root("demo-workstation", mounts=[V2], cgroup_controllers=ALL)
    (root / "proc/self/status").write_text("Name:\tsecret\nPid:\t42\nCapEff:\t0000000000000000\n")
    archive = tmp_path / "c.tar.gz"
    assert run_cli("capture", "--root", str(root), "-o", str(archive)).returncode == 0
    with tarfile.open(archive) as tar:
        member = next(m for m in tar.getmembers() if m.name.endswith("proc/self/status"))
        status = tar.extractfile(member)
        assert status is not None and status.read() == b"CapEff:\t0000000000000000\n"
    ours = run_cli("probe", "--capture", str(archive), "--format", "vhv")
    assert f"Checking {DEVICES:<60}: WARN (Enable 'devices'" in ours.stdout


SCRIPT = """
set -e
mount --make-rprivate /
umount -R /sys/fs/cgroup
mount -t cgroup2 none /sys/fs/cgroup
for who in root nobody; do
  runuser -u "$who" -- {vhv} qemu > "$OUT/real-$who" 2>/dev/null || true
  runuser -u "$who" -- env HOME="$OUT" XDG_STATE_HOME="$OUT/state" PYTHONPATH="$PYPATH" \\
    /usr/bin/python3 -m workbench probe --format vhv > "$OUT/ours-$who" 2>/dev/null || true
done
"""


@pytest.mark.skipif(VHV is None, reason="virt-host-validate is not installed")
@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to make a mount namespace")
@pytest.mark.skipif(not Path("/usr/bin/python3").exists(), reason="no system python for nobody")
def test_as_nobody_on_cgroup_v2_like_virt_host_validate(tmp_path: Path) -> None:
    """With only cgroup2 mounted, root's devices line PASSes and nobody's WARNs, as vhv's."""
    tmp_path.chmod(0o777)
    site = sysconfig.get_paths()["purelib"]
    env = {**os.environ, "OUT": str(tmp_path), "PYPATH": f"{REPO}:{site}"}
    done = subprocess.run(
        ["unshare", "-m", "bash", "-c", SCRIPT.replace("{vhv}", str(VHV))],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if done.returncode != 0 or not (tmp_path / "ours-nobody").read_text():
        pytest.skip(f"this machine allows no private cgroup2 mount: {done.stderr[-300:]}")
    for who, level in (("root", "PASS"), ("nobody", "WARN")):
        real = (tmp_path / f"real-{who}").read_text()
        ours = (tmp_path / f"ours-{who}").read_text()
        assert [x for x in ours.splitlines() if DEVICES in x] == [
            x for x in real.splitlines() if DEVICES in x
        ]
        assert f"{DEVICES:<60}: {level}" in ours
        assert ours == real  # every line, to the space


CAPS_SCRIPT = """
set -e
mount --make-rprivate /
umount -R /sys/fs/cgroup
mount -t cgroup2 none /sys/fs/cgroup
for caps in +sys_admin +net_admin +bpf; do
  as="setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all,$caps"
  as="$as --ambient-caps=-all,$caps"
  $as {vhv} qemu > "$OUT/real$caps" 2>/dev/null || true
  $as env HOME="$OUT" XDG_STATE_HOME="$OUT/state" PYTHONPATH="$PYPATH" \\
    /usr/bin/python3 -m workbench probe --format vhv > "$OUT/ours$caps" 2>/dev/null || true
done
"""


@pytest.mark.skipif(VHV is None, reason="virt-host-validate is not installed")
@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to make a mount namespace")
@pytest.mark.skipif(shutil.which("setpriv") is None, reason="no setpriv (util-linux)")
@pytest.mark.skipif(not Path("/usr/bin/python3").exists(), reason="no system python for nobody")
def test_one_capability_at_a_time_like_virt_host_validate(tmp_path: Path) -> None:
    """nobody with only CAP_SYS_ADMIN, only CAP_NET_ADMIN, only CAP_BPF: each devices line
    as vhv's (on this kernel the first two pass; CAP_BPF alone does not)."""
    tmp_path.chmod(0o777)
    site = sysconfig.get_paths()["purelib"]
    env = {**os.environ, "OUT": str(tmp_path), "PYPATH": f"{REPO}:{site}"}
    done = subprocess.run(
        ["unshare", "-m", "bash", "-c", CAPS_SCRIPT.replace("{vhv}", str(VHV))],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if done.returncode != 0 or not (tmp_path / "ours+bpf").read_text():
        pytest.skip(f"this machine allows no private cgroup2 mount: {done.stderr[-300:]}")
    for caps in ("+sys_admin", "+net_admin", "+bpf"):
        real = [x for x in (tmp_path / f"real{caps}").read_text().splitlines() if DEVICES in x]
        ours = [x for x in (tmp_path / f"ours{caps}").read_text().splitlines() if DEVICES in x]
        assert ours == real and len(ours) == 1, caps
    assert "WARN" in (tmp_path / "ours+bpf").read_text().split(DEVICES)[1].splitlines()[0]
