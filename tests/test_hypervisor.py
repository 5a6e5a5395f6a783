"""The Hypervisor protocol: live (libvirt's test driver, a real daemon) and recorded (a
capture's libvirt/), the gateway that picks one, and the chains their errors carry."""

from __future__ import annotations

import ast
import json
import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import REPO, run_cli
from tests.virt_helpers import Domain, SessionDaemon, write_node
from workbench.capture.collect import capture
from workbench.capture.collectors import Source, collect_libvirt
from workbench.capture.unpack import open_capture
from workbench.core.errors import GuestAgentError, WorkbenchError
from workbench.core.host import Host
from workbench.core.report import ProbeResult
from workbench.core.runner import run_probes
from workbench.virt.gateway import open_hypervisor
from workbench.virt.hypervisor import Hypervisor
from workbench.virt.live import LiveHypervisor
from workbench.virt.recorded import RecordedHypervisor


@pytest.fixture
def node(tmp_path: Path) -> Path:
    """A test-driver hypervisor: a running VM with a GPU and an agent channel, a shut-off one."""
    return write_node(
        tmp_path / "node.xml",
        [
            Domain("win11", hostdevs=["0000:01:00.0"], shmem_mib=32, agent_socket=tmp_path / "a"),
            Domain("idle", running=False),
        ],
    )


@pytest.fixture
def silent_daemon(tmp_path: Path) -> Iterator[Path]:
    """A unix socket that accepts connections and never answers (a hung libvirtd)."""
    path = tmp_path / "hung.sock"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    server.listen(8)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except TimeoutError:
                continue
            except OSError:
                return

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield path
    stop.set()
    thread.join(2)
    for conn in held:
        conn.close()
    server.close()


def test_live_info_of_the_test_driver() -> None:
    """info(): the driver, dotted versions, the URI; a LiveHypervisor is a Hypervisor."""
    hv = LiveHypervisor("test:///default")
    try:
        info = hv.info()
    finally:
        hv.close()
    assert isinstance(hv, Hypervisor)
    assert (info.uri, info.hypervisor, info.readonly, info.recorded) == (
        "test:///default",
        "TEST",
        True,
        False,
    )
    assert info.libvirt_version is not None and info.libvirt_version.count(".") == 2


def test_live_domains_are_typed_and_sorted(node: Path) -> None:
    """domains(): snapshots by name with state, persistence, the parsed config and the XML."""
    hv = LiveHypervisor(f"test://{node}")
    try:
        idle, win11 = hv.domains()
    finally:
        hv.close()
    assert (idle.name, idle.state, idle.running, idle.persistent) == (
        "idle",
        "shutoff",
        False,
        True,
    )
    assert (win11.name, win11.state, win11.running) == ("win11", "running", True)
    assert win11.config is not None and win11.problem is None
    assert [h.bdf for h in win11.config.hostdevs] == ["0000:01:00.0"]
    assert win11.config.agent is not None and win11.config.agent.kind == "unix"
    assert win11.xml is not None and "<name>win11</name>" in win11.xml


def test_live_capabilities_of_the_test_driver() -> None:
    """capabilities(): the host arch and the guest types (the test driver offers 'test')."""
    hv = LiveHypervisor("test:///default")
    try:
        caps = hv.capabilities()
    finally:
        hv.close()
    assert caps.host_arch
    assert caps.guests and all(types == ("test",) for types in caps.guests.values())
    assert caps.kvm is False
    assert caps.xml is not None and caps.xml.lstrip().startswith("<capabilities")


def test_live_agent_without_a_socket_carries_the_agent_and_gateway_frames(node: Path) -> None:
    """agent(): libvirt's agent API is not in the test driver and the socket is absent, so
    GUEST_AGENT_UNAVAILABLE, each way said, with the chain agent client -> gateway."""
    hv = LiveHypervisor(f"test://{node}")
    try:
        win11 = hv.domains()[1]
        with pytest.raises(GuestAgentError) as info:
            hv.agent(win11, 1.0)
    finally:
        hv.close()
    assert info.value.code == "GUEST_AGENT_UNAVAILABLE"
    assert info.value.context == ["virt.agent::ask", "virt.live::agent"]
    libvirt_try, socket_try = info.value.details["tried"]
    assert libvirt_try["error"]["context"] == ["virt.agent::via_libvirt"]
    assert "does not exist" in socket_try["skipped"]


def test_live_agent_answers_over_the_socket(tmp_path: Path, qga: Path) -> None:
    """agent(): a real qemu-ga behind the channel's socket answers; libvirt was tried first."""
    node = write_node(tmp_path / "n.xml", [Domain("win11", agent_socket=qga)])
    hv = LiveHypervisor(f"test://{node}")
    try:
        (win11,) = hv.domains()
        answer = hv.agent(win11, 3.0)
    finally:
        hv.close()
    assert answer.served_by == "socket"
    assert [t["name"] for t in answer.tried] == ["libvirt"]
    assert answer.answers["guest-ping"] == {}


def test_unreachable_hypervisor_chain_in_the_probe_result(tmp_path: Path) -> None:
    """No daemon behind the URI: libvirt.connection fails and its error says the path it
    crossed, gateway call first, then the probe (in-process and through the CLI's --json)."""
    uri = f"qemu+unix:///system?socket={tmp_path}/nope"
    report = run_probes(Host("/"), only=["libvirt.connection"], hypervisor=LiveHypervisor(uri))
    result = report.get("libvirt.connection")
    assert result.status == "fail"
    chain = ["virt.live::info", "probes.libvirt.connection::run"]
    assert result.facts["error"]["context"] == chain
    assert result.facts["error"]["error"] == "LIBVIRT_UNREACHABLE"
    done = run_cli("probe", "--connect", uri, "--only", "libvirt.connection", "--json")
    (probe,) = json.loads(done.stdout)["probes"]
    assert probe["facts"]["error"]["context"] == chain


def test_a_hung_daemon_times_out(silent_daemon: Path) -> None:
    """A daemon that accepts and never answers: a recoverable OPERATION_TIMEOUT within the
    gateway's timeout, naming the gateway call."""
    hv = LiveHypervisor(f"qemu+unix:///system?socket={silent_daemon}", timeout_s=0.5)
    with pytest.raises(WorkbenchError) as info:
        hv.info()
    hv.close()
    assert info.value.code == "OPERATION_TIMEOUT"
    assert info.value.recoverable
    assert info.value.context == ["virt.live::info"]


def test_a_probe_timed_out_on_a_hung_daemon_says_to_check_the_hypervisor(
    silent_daemon: Path,
) -> None:
    """When the probe's own deadline ends first (--timeout below the gateway's), its remedy
    points at the hypervisor, not at a hung filesystem or device."""
    uri = f"qemu+unix:///system?socket={silent_daemon}"
    report = run_probes(
        Host("/"), only=["libvirt.connection"], hypervisor=LiveHypervisor(uri), timeout_s=0.5
    )
    error = report.get("libvirt.connection").error
    assert error is not None and error["error"] == "PROBE_TIMEOUT"
    assert "hypervisor did not answer" in error["remedy"]
    assert "D state" not in error["remedy"]


def test_a_daemon_gone_mid_session_fails_the_listing_with_its_frame(
    libvirtd: SessionDaemon,
) -> None:
    """The daemon dies after the connection is open: domains() raises a WorkbenchError (no
    libvirtError) whose chain starts at the gateway's list_domains."""
    node = write_node(libvirtd.base / "node.xml", [Domain("win11")])  # where the daemon reads
    hv = LiveHypervisor(libvirtd.uri(node), timeout_s=5)
    try:
        assert hv.info().hypervisor == "TEST"
        libvirtd.kill()
        with pytest.raises(WorkbenchError) as info:
            hv.domains()
    finally:
        hv.close()
    assert info.value.context == ["virt.live::list_domains"]


def test_a_listing_that_fails_says_gateway_then_probe(libvirtd: SessionDaemon) -> None:
    """The daemon dies once libvirt.connection has passed: libvirt.domains is an error whose
    chain is [virt.live::list_domains, probes.libvirt.domains::run]."""
    node = write_node(libvirtd.base / "node.xml", [Domain("win11")])
    hv = LiveHypervisor(libvirtd.uri(node), timeout_s=5)

    def kill_after_connection(result: ProbeResult) -> None:
        if result.id == "libvirt.connection":
            libvirtd.kill()

    report = run_probes(
        Host("/"),
        only=["libvirt.connection", "libvirt.domains"],
        hypervisor=hv,
        on_result=kill_after_connection,
    )
    assert report.get("libvirt.connection").status == "pass"
    domains = report.get("libvirt.domains")
    assert domains.status == "error" and domains.error is not None
    assert domains.error["context"] == ["virt.live::list_domains", "probes.libvirt.domains::run"]


def test_an_agent_that_does_not_answer_says_its_whole_path(tmp_path: Path) -> None:
    """guest.agent: each unanswered VM's error runs agent client -> gateway -> probe."""
    node = write_node(tmp_path / "n.xml", [Domain("a", agent_socket=tmp_path / "a.sock")])
    report = run_probes(
        Host(tmp_path),
        only=["libvirt.connection", "libvirt.domains", "guest.agent"],
        hypervisor=LiveHypervisor(f"test://{node}"),
    )
    error = report.get("guest.agent").facts["agents"]["a"]["error"]
    assert error["context"] == ["virt.agent::ask", "virt.live::agent", "probes.guest.agent::run"]


def test_the_gateway_picks_live_recorded_or_none(make_root: Callable[..., Path]) -> None:
    """A URI -> live; no URI and a root with a recording -> recorded; otherwise none."""
    root = make_root("asrock-z170-gtx960")
    assert open_hypervisor(Host(root), None) is None
    assert open_hypervisor(Host("/"), None) is None
    (root / "libvirt").mkdir()
    (root / "libvirt" / "connection.json").write_text("{}")
    assert isinstance(open_hypervisor(Host(root), None), RecordedHypervisor)
    live = open_hypervisor(Host(root), "test:///default")
    assert isinstance(live, Hypervisor) and not live.recorded
    assert live.info().hypervisor == "TEST"  # the live one, behind its deferred loading
    live.close()


def test_a_capture_answers_as_the_live_hypervisor_did(
    node: Path, make_root: Callable[..., Path], tmp_path: Path
) -> None:
    """A capture's RecordedHypervisor answers info, domains and capabilities as the live one
    did (marked recorded), and never asks an agent."""
    uri = f"test://{node}"
    live = LiveHypervisor(uri)
    try:
        live_info, live_domains, live_caps = live.info(), live.domains(), live.capabilities()
    finally:
        live.close()
    archive = tmp_path / "c.tar.gz"
    source = Source(Host(make_root("asrock-z170-gtx960")), connect=uri)
    capture(source, archive, collectors={"libvirt": collect_libvirt})
    with open_capture(archive) as root:
        hv = open_hypervisor(Host(root), None)
        assert isinstance(hv, RecordedHypervisor) and hv.recorded
        info, domains, caps = hv.info(), hv.domains(), hv.capabilities()
        with pytest.raises(GuestAgentError) as asked:
            hv.agent(domains[1], 1.0)
        assert hv.recorded_agents() is None and hv.problems == ()
    assert (info.hypervisor, info.hypervisor_version, info.libvirt_version, info.recorded) == (
        live_info.hypervisor,
        live_info.hypervisor_version,
        live_info.libvirt_version,
        True,
    )
    shown = [(d.name, d.state, d.persistent, d.reason, d.config) for d in domains]
    assert shown == [(d.name, d.state, d.persistent, d.reason, d.config) for d in live_domains]
    assert (caps.host_arch, caps.guests) == (live_caps.host_arch, live_caps.guests)
    assert asked.value.context == ["virt.recorded::agent"]


def test_a_recorded_unreachable_hypervisor_raises_what_was_recorded(
    make_root: Callable[..., Path], tmp_path: Path
) -> None:
    """A capture of an unreachable URI: info() raises the recorded code and remedy (the recorded
    error kept as is), with the recorded gateway's frame."""
    uri = f"qemu+unix:///system?socket={tmp_path}/nope"
    archive = tmp_path / "c.tar.gz"
    source = Source(Host(make_root("asrock-z170-gtx960")), connect=uri)
    capture(source, archive, collectors={"libvirt": collect_libvirt})
    with open_capture(archive) as root:
        hv = open_hypervisor(Host(root), None)
        assert hv is not None
        with pytest.raises(WorkbenchError) as info:
            hv.domains()
    assert info.value.code == "LIBVIRT_UNREACHABLE"
    assert "systemctl start libvirtd" in (info.value.remedy or "")
    assert info.value.details["recorded"]["context"] == ["virt.live::info"]
    assert info.value.context == ["virt.recorded::list_domains"]


def test_an_unusable_recording_is_recording_invalid(make_root: Callable[..., Path]) -> None:
    """A connection.json that is not an object: RECORDING_INVALID saying why, never a crash."""
    root = make_root("asrock-z170-gtx960")
    (root / "libvirt").mkdir()
    (root / "libvirt" / "connection.json").write_text("[]")
    hv = RecordedHypervisor(Host(root))
    with pytest.raises(WorkbenchError) as info:
        hv.info()
    assert info.value.code == "RECORDING_INVALID"
    assert "a list" in info.value.details["problem"]


def _imports_libvirt(path: Path) -> bool:
    tree = ast.parse(path.read_text(), str(path))
    for node in ast.walk(tree):
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        if any(n.split(".")[0] in ("libvirt", "libvirt_qemu") for n in names):
            return True
    return False


def test_only_workbench_virt_imports_libvirt() -> None:
    """`import libvirt` (and libvirt_qemu) appears only in modules under workbench/virt/."""
    files = [p for d in ("workbench", "probes", "bench") for p in (REPO / d).rglob("*.py")]
    importers = {str(p.relative_to(REPO)) for p in files if _imports_libvirt(p)}
    assert importers, "the check found no importer at all: it would pass whatever the code"
    assert {p for p in importers if not p.startswith("workbench/virt/")} == set()
