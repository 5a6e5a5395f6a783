"""A capture records what virt-host-validate's checks read: the device nodes, the cgroup
lines of /proc/mounts (only those), each cgroup2 mount's controllers."""

from __future__ import annotations

import tarfile
from collections.abc import Callable
from pathlib import Path

from tests.conftest import run_cli
from tests.test_vhv_format import parsed

MOUNTS = [
    "server:/export /mnt/secret\\040share nfs4 rw,addr=10.1.2.3 0 0",
    "cgroup2 /sys/fs/cgroup cgroup2 rw,nosuid,nodev,noexec,relatime 0 0",
]


def test_capture_keeps_cgroup_mounts_only(make_root: Callable[..., Path], tmp_path: Path) -> None:
    """The capture of a root holds its cgroup2 line and controllers, never the NFS mount, and
    vhv reads the same lines from the capture as from the root."""
    root = make_root(
        "demo-workstation",
        mounts=MOUNTS,
        cgroup_controllers={"/sys/fs/cgroup": "cpuset cpu memory pids"},
    )
    archive = tmp_path / "c.tar.gz"
    assert run_cli("capture", "--root", str(root), "-o", str(archive)).returncode == 0
    with tarfile.open(archive) as tar:
        mounts = tar.extractfile("proc/mounts")
        controllers = tar.extractfile("sys/fs/cgroup/cgroup.controllers")
        assert mounts is not None and controllers is not None
        assert mounts.read().decode() == MOUNTS[1] + "\n"
        assert controllers.read() == b"cpuset cpu memory pids\n"
    from_root = run_cli("probe", "--root", str(root), "--format", "vhv")
    from_capture = run_cli("probe", "--capture", str(archive), "--format", "vhv")
    assert from_capture.stdout == from_root.stdout
    assert parsed(from_root.stdout)[10][:2] == ("for cgroup 'blkio' controller support", "WARN")
