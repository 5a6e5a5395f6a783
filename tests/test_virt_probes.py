"""libvirt.connection, libvirt.domains and guest.agent against a real daemon and a real agent."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import load_facts, report_for, run_as
from tests.virt_helpers import Domain, SessionDaemon, write_node
from workbench.core.errors import WorkbenchError
from workbench.core.report import Report
from workbench.virt.connection import open_connection

VIRT = ["libvirt.connection", "libvirt.domains", "guest.agent"]


def virt_report(root: Path | str, uri: str) -> Report:
    return report_for(root, only=VIRT, connect=uri, options={"agent_timeout": 2})


def test_connection_to_the_test_driver() -> None:
    """test:///default: reachable, type and versions in the facts."""
    result = virt_report("/", "test:///default").get("libvirt.connection")
    assert result.status == "pass"
    assert result.facts["hypervisor"] == "TEST"
    assert result.facts["libvirt_version"].count(".") == 2


def test_unreachable_daemon_fails_with_remedy(tmp_path: Path) -> None:
    """No daemon behind the URI: fail with the start-the-daemon remedy; dependants blocked."""
    report = virt_report("/", f"qemu+unix:///system?socket={tmp_path}/nope")
    result = report.get("libvirt.connection")
    assert result.status == "fail"
    assert "systemctl start libvirtd" in (result.findings[0].remedy or "")
    assert report.get("libvirt.domains").blocked_by == ["libvirt.connection"]
    assert report.get("guest.agent").blocked_by == ["libvirt.domains"]


def test_recorded_machine_without_connect_skips() -> None:
    """A recorded machine has no hypervisor unless one is named: skip, not fail."""
    report = report_for("/", only=VIRT)
    assert report.get("libvirt.connection").status == "skip"


def test_domains_checked_against_the_demo_host(
    libvirtd: SessionDaemon, qga: Path, make_root: Callable[..., Path]
) -> None:
    """On the demo machine: win11 passes the isolated RTX 3080 (both functions) with a 32 MiB
    Looking Glass shmem and an agent that answers over its socket; 'broken' passes the GPU
    without its audio (on vfio-pci, so its group is viable, but win11 has the same group: they
    cannot run at once), a device that does not exist, a too small shmem, and has no agent
    channel."""
    node = write_node(
        libvirtd.base / "node.xml",
        [
            Domain(
                "win11", hostdevs=["0000:01:00.0", "0000:01:00.1"], shmem_mib=32, agent_socket=qga
            ),
            Domain("broken", hostdevs=["0000:01:00.0", "0000:09:00.0"], shmem_mib=16),
            Domain("idle", running=False, agent_socket=qga),
        ],
    )
    report = virt_report(make_root("demo-workstation"), libvirtd.uri(node))
    domains = report.get("libvirt.domains")
    by_name: dict[str, Any] = {d["name"]: d for d in domains.facts["domains"]}
    assert by_name["win11"]["hostdevs"] == [
        {"bdf": "0000:01:00.0", "managed": True},
        {"bdf": "0000:01:00.1", "managed": True},
    ]
    assert by_name["win11"]["shmem"] == [
        {"name": "looking-glass", "model": "ivshmem-plain", "size_mib": 32}
    ]
    assert by_name["idle"]["state"] == "shutoff"
    codes = {(f.code, f.message.split(":")[0]) for f in domains.findings}
    assert codes == {
        ("DOMAIN_HOSTDEV_MISSING", "broken"),
        ("DOMAIN_CARD_PARTIAL", "broken"),
        ("DOMAIN_GROUP_SHARED", "broken, win11"),  # group 1, given to both
        ("DOMAIN_LG_SHMEM_SMALL", "broken"),
        ("DOMAIN_NO_AGENT_CHANNEL", "broken"),
    }
    assert domains.status == "fail"
    agent = report.get("guest.agent")
    assert agent.status != "error", agent.error
    assert agent.facts["agents"]["win11"]["reachable"] is True
    assert agent.facts["agents"]["win11"]["via"] == "socket"
    assert agent.facts["agents"]["win11"]["tried"] == ["libvirt"]
    assert agent.facts["agents"]["broken"]["reachable"] is False
    assert agent.status == "fail"
    assert any(
        f.code == "GUEST_AGENT_UNAVAILABLE" and "qemu-guest-agent" in (f.remedy or "")
        for f in agent.findings
    )
    assert "idle" not in agent.facts["agents"]


def test_group_not_viable(libvirtd: SessionDaemon, make_root: Callable[..., Path]) -> None:
    """On the B550, passing the chipset-slot Radeon fails when its group's NIC is on r8169 and
    its USB on xhci_hcd: once for the group, naming both and the cause."""
    facts = load_facts("mapmanagement-b550-chipset-gpu")
    drivers = {"0000:05:00.0": "r8169", "0000:02:00.0": "xhci_hcd", "0000:04:00.0": "vfio-pci"}
    for dev in facts["devices"]:
        dev["driver"] = drivers.get(dev["bdf"], dev["driver"])
    node = write_node(
        libvirtd.base / "node.xml", [Domain("gamer", hostdevs=["0000:04:00.0", "0000:04:00.1"])]
    )
    report = virt_report(make_root(facts), libvirtd.uri(node))
    findings = report.get("libvirt.domains").findings
    (viable,) = [f for f in findings if f.code == "DOMAIN_GROUP_NOT_VIABLE"]
    assert viable.cause == "GROUP_MEMBER_NOT_VFIO"
    assert "0000:05:00.0" in viable.message and "r8169" in viable.message
    assert "0000:02:00.0" in viable.message and "xhci_hcd" in viable.message
    assert "0000:02:00.1" not in viable.message  # no driver: allowed by the kernel's rule


def test_socket_permission_denied_names_the_group(libvirtd: SessionDaemon) -> None:
    """A user who may not open the daemon's socket gets PERMISSION_DENIED with the group remedy
    (run in a child that drops to another user, as a real unprivileged operator would be)."""
    if os.geteuid() != 0:
        pytest.skip("needs root to become another user")
    uri = f"test+unix:///default?socket={libvirtd.socket}"

    def connect() -> dict[str, Any]:
        try:
            open_connection(uri)
        except WorkbenchError as exc:
            return exc.to_dict()
        return {"error": None}

    result = run_as(1, connect)  # uid 1 (daemon) does not own the daemon's socket
    assert result["error"] == "PERMISSION_DENIED"
    assert "libvirt" in result["remedy"]
