"""host.vhost_net, host.tun, host.cgroups, cpu.secure_guest on machine roots: the verdicts
virt-host-validate gives, and "not recorded" where a recording says nothing."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from probes.cgroups import parse_mounts
from probes.secure_guest import cpu_features, prefix_param
from tests.conftest import RECORDED, report_for
from workbench.core.report import ProbeResult

NEW = ("host.vhost_net", "host.tun", "host.cgroups", "cpu.secure_guest")
V2 = "cgroup2 /sys/fs/cgroup cgroup2 rw,nosuid,nodev,noexec,relatime 0 0"
V1 = [f"cgroup /sys/fs/cgroup/{c} cgroup rw,relatime,{c} 0 0" for c in ("cpu,cpuacct", "cpuset")]
V1 += [f"cgroup /sys/fs/cgroup/{c} cgroup rw,relatime,{c} 0 0" for c in ("memory", "blkio")]
ROOT_CAPS = "000001ffffffffff"  # root's CapEff: libvirt may query the cgroup's BPF programs
V1_DEVICES = "cgroup /sys/fs/cgroup/devices cgroup rw,relatime,devices 0 0"


def result(make_root: Callable[..., Path], pid: str, **facts: Any) -> ProbeResult:
    return report_for(make_root("demo-workstation", **facts), only=[pid]).get(pid)


@pytest.mark.parametrize(
    ("mounts", "controllers", "status", "missing"),
    [
        ([V2], {"/sys/fs/cgroup": "cpuset cpu io memory pids"}, "pass", []),
        ([V2], {"/sys/fs/cgroup": "cpu memory pids"}, "warn", ["cpuset", "blkio"]),
        ([*V1, V1_DEVICES], {}, "pass", []),
        (V1, {}, "warn", ["devices"]),
        # hybrid: systemd's v2 hierarchy with only hugetlb, the controllers on v1
        (
            [*V1, "cgroup2 /sys/fs/cgroup/unified cgroup2 rw 0 0"],
            {"/sys/fs/cgroup/unified": ""},
            "pass",
            [],
        ),
    ],
    ids=["v2", "v2-partial", "v1", "v1-no-devices", "hybrid"],
)
def test_cgroup_controllers(
    make_root: Callable[..., Path],
    mounts: list[str],
    controllers: dict[str, str],
    status: str,
    missing: list[str],
) -> None:
    """Each libvirt controller is found on v1 mount options and v2 cgroup.controllers."""
    got = result(
        make_root, "host.cgroups", mounts=mounts, cgroup_controllers=controllers, cap_eff=ROOT_CAPS
    )
    assert got.status == status
    assert [n for n, ok in got.facts["controllers"].items() if not ok] == missing
    assert all(f.remedy and "mount/enable cgroup controller" in f.remedy for f in got.findings)


def test_cgroup2_without_controllers_file_counts_as_no_backend(
    make_root: Callable[..., Path],
) -> None:
    """An empty cgroup.controllers (not even the kernel's newline) is libvirt's "no v2": with
    no v1 either, cgroups cannot be initialized, a warning that names why."""
    root = make_root("demo-workstation", mounts=[V2], cgroup_controllers={})
    (root / "sys/fs/cgroup").mkdir(parents=True)
    (root / "sys/fs/cgroup/cgroup.controllers").write_text("")
    got = report_for(root, only=["host.cgroups"]).get("host.cgroups")
    assert (got.status, got.facts["error"]) == ("warn", "no cgroup backend available")


def test_cgroups_not_recorded_without_mounts(make_root: Callable[..., Path]) -> None:
    """A machine root without /proc/mounts says what would record it, never a verdict."""
    got = result(make_root, "host.cgroups", mounts=None)
    assert got.status == "skip"
    assert "proc/mounts not recorded" in got.summary


def test_cgroup_v2_file_unrecorded_is_not_a_verdict(make_root: Callable[..., Path]) -> None:
    """/proc/mounts names a cgroup2 mount whose cgroup.controllers the recording lacks: skip."""
    got = result(make_root, "host.cgroups", mounts=[V2], cgroup_controllers={})
    assert got.status == "skip"
    assert "sys/fs/cgroup/cgroup.controllers not recorded" in got.summary


def test_mount_points_decode_octal_escapes() -> None:
    """A mount point with a space (\\040 in /proc/mounts) is read as the kernel wrote it."""
    assert parse_mounts("cgroup2 /a\\040b cgroup2 rw 0 0\nshort line\n") == [
        ("/a b", "cgroup2", "rw")
    ]


@pytest.mark.parametrize(
    ("pid", "node", "status", "code"),
    [
        ("host.vhost_net", "/dev/vhost-net", "warn", "VHOST_NET_MISSING"),
        ("host.tun", "/dev/net/tun", "fail", "TUN_MISSING"),
    ],
)
def test_absent_device_node(
    make_root: Callable[..., Path], pid: str, node: str, status: str, code: str
) -> None:
    """Recorded absent: vhost-net warns, tun fails (as vhv), with the module to load."""
    facts: dict[str, Any] = {
        "device_nodes": {"/dev/kvm": {"kind": "char", "accessible": True}, node: None}
    }
    got = result(make_root, pid, **facts)
    assert (got.status, [f.code for f in got.findings]) == (status, [code])
    assert got.findings[0].remedy and "modprobe" in got.findings[0].remedy


@pytest.mark.parametrize("pid", ["host.vhost_net", "host.tun"])
def test_device_node_not_recorded(make_root: Callable[..., Path], pid: str) -> None:
    """A recording that says nothing of the node: skip, not a missing device."""
    got = result(make_root, pid, device_nodes={})
    assert got.status == "skip" and "not recorded" in got.summary


SEV_ON = {"cpu_vendor": "amd", "cpu_flags": ["sev", "sev_es"]}
SEV_NODE = {"/dev/sev": {"kind": "char", "accessible": True}}


@pytest.mark.parametrize(
    ("facts", "status", "said"),
    [
        (
            {
                **SEV_ON,
                "module_params": {"kvm_amd": {"sev": "Y", "sev_es": "Y"}},
                "device_nodes": SEV_NODE,
            },
            "pass",
            "AMD SEV, SEV-ES available",
        ),
        (
            {**SEV_ON, "module_params": {"kvm_amd": {"sev": "1"}}, "device_nodes": SEV_NODE},
            "pass",
            "AMD SEV available",
        ),
        (
            {**SEV_ON, "module_params": {"kvm_amd": {"sev": "N"}}, "device_nodes": SEV_NODE},
            "warn",
            "disabled in kernel. Add kvm_amd.sev=1",
        ),
        (
            {
                **SEV_ON,
                "module_params": {"kvm_amd": {"sev": "Y"}},
                "device_nodes": {"/dev/sev": None},
            },
            "warn",
            "appears to be disabled in firmware.",
        ),
        (
            {**SEV_ON, "module_params": {"kvm_amd": {"sev": "Y"}}, "device_nodes": {}},
            "skip",
            "dev/sev not recorded",
        ),
        ({**SEV_ON, "module_params": {}}, "skip", "kvm_amd/parameters/sev not recorded"),
        # optional (confidential guests only): a pass with a note, vhv's WARN on its own line
        ({"cpu_vendor": "amd", "module_params": {}}, "pass", "no secure guest support (only"),
        (
            {"cpu_vendor": "intel", "module_params": {"kvm_intel": {"tdx": "Y"}}},
            "pass",
            "Intel TDX",
        ),
    ],
    ids=[
        "sev-es",
        "sev-1",
        "sev-off",
        "no-dev-sev",
        "dev-sev-unrecorded",
        "params-unrecorded",
        "none",
        "tdx",
    ],
)
def test_secure_guest(
    make_root: Callable[..., Path], facts: dict[str, Any], status: str, said: str
) -> None:
    """SEV as vhv judges it (parameter, then /dev/sev), TDX by kvm_intel.tdx, else a pass with
    an info note (the warning stays vhv's line)."""
    got = result(make_root, "cpu.secure_guest", **facts)
    assert got.status == status
    assert said in got.summary
    if said.startswith("no secure guest"):
        (note,) = got.findings
        assert (note.code, note.severity) == ("SECURE_GUEST_NONE", "info")
        assert got.facts["vhv_hint"] == "Unknown if this platform has Secure Guest support"


def test_s390_secure_execution_reads_prot_virt_by_prefix() -> None:
    """prot_virt's first occurrence decides, compared by prefix as the kernel does."""
    values = ("y", "Y", "on", "ON", "oN", "On", "1")
    assert prefix_param("ro prot_virt=yFOO", "prot_virt", values)
    assert not prefix_param("prot_virt=0 prot_virt=1", "prot_virt", values)
    s390 = cpu_features("vendor_id       : IBM/S390\nfacilities      : 0 1 2 158\n")
    assert (s390.arch, "158" in s390.flags) == ("s390", True)


@pytest.mark.parametrize("name", RECORDED)
def test_recorded_machines_verdicts(make_root: Callable[..., Path], name: str) -> None:
    """The machines of ../shared/hosts record no /dev, mounts or SEV: not recorded, and the
    secure-guest check passes with a note on a CPU without the sev flag (vhv's line warns)."""
    report = report_for(make_root(name), only=list(NEW))
    statuses = {r.id: r.status for r in report.probes}
    assert statuses == {
        "host.vhost_net": "skip",
        "host.tun": "skip",
        "host.cgroups": "skip",
        "cpu.secure_guest": "pass",
    }
