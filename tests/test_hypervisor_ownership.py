"""Who opens and closes a hypervisor: one per run, closed by the run, final once closed; and
the domains a run judges are listed once."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, ClassVar

import libvirt
import pytest

from tests.virt_helpers import Domain, write_node
from workbench.capture.collect import capture
from workbench.capture.collectors import Source
from workbench.core.errors import WorkbenchError
from workbench.core.host import Host
from workbench.core.probe import Probe, ProbeContext
from workbench.core.report import Outcome
from workbench.core.runner import run_probes
from workbench.target import open_target
from workbench.virt.live import LiveHypervisor
from workbench.virt.recorded import RecordedHypervisor

LIBVIRT_PROBES = ["libvirt.connection", "libvirt.domains", "guest.agent"]


@pytest.fixture
def node(tmp_path: Path) -> Path:
    """A test-driver hypervisor: a running VM with an agent channel, a shut-off one."""
    return write_node(
        tmp_path / "node.xml",
        [Domain("win11", agent_socket=tmp_path / "a.sock"), Domain("idle", running=False)],
    )


@pytest.fixture
def listings(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every listAllDomains libvirt is asked (the real call, counted)."""
    calls: list[str] = []
    real = libvirt.virConnect.listAllDomains

    def counted(self: Any, flags: int = 0) -> Any:
        calls.append(self.getURI())
        return real(self, flags)

    monkeypatch.setattr(libvirt.virConnect, "listAllDomains", counted)
    yield calls


class LateProbe(Probe):
    """Asks the hypervisor after its run has given up on it (its timeout passed)."""

    id = "x.late"
    title = "late"
    seen: ClassVar[list[str]] = []
    done = threading.Event()

    def run(self, ctx: ProbeContext) -> Outcome:
        time.sleep(0.5)
        assert ctx.hypervisor is not None
        try:
            ctx.hypervisor.info()
        except WorkbenchError as exc:
            LateProbe.seen.append(exc.code)
        else:
            LateProbe.seen.append("answered")
        LateProbe.done.set()
        return Outcome("pass", "late")


def test_a_probe_abandoned_by_its_timeout_cannot_reopen_the_hypervisor(tmp_path: Path) -> None:
    """A probe that outlives its timeout and then asks the hypervisor gets HYPERVISOR_CLOSED:
    the run closed it, and nothing reconnects behind its back."""
    LateProbe.seen.clear()
    LateProbe.done.clear()
    hv = LiveHypervisor("test:///default")
    report = run_probes(Host(tmp_path), [LateProbe], hypervisor=hv, timeout_s=0.1)
    assert report.get("x.late").status == "error"
    assert LateProbe.done.wait(5)
    assert LateProbe.seen == ["HYPERVISOR_CLOSED"]


def test_close_is_final_and_idempotent() -> None:
    """close() twice is fine; any call after it raises HYPERVISOR_CLOSED with the gateway's
    frame, the agent too (no read-write connection is tried again)."""
    hv = LiveHypervisor("test:///default")
    assert hv.info().hypervisor == "TEST"
    assert hv.domains()  # listed once: the list is kept, but not past close()
    hv.close()
    hv.close()
    for call in (hv.info, hv.domains, hv.capabilities):
        with pytest.raises(WorkbenchError) as info:
            call()
        assert info.value.code == "HYPERVISOR_CLOSED"
        assert not info.value.recoverable
    assert info.value.context == ["virt.live::capabilities"]


def test_a_recording_closes_for_good_too(make_root: Callable[..., Path]) -> None:
    """A RecordedHypervisor after close(): HYPERVISOR_CLOSED, as a live one."""
    root = make_root("asrock-z170-gtx960")
    (root / "libvirt").mkdir()
    (root / "libvirt" / "connection.json").write_text('{"uri": "qemu:///system"}')
    hv = RecordedHypervisor(Host(root))
    assert hv.domains() == []
    hv.close()
    with pytest.raises(WorkbenchError) as info:
        hv.domains()
    assert (info.value.code, info.value.context) == (
        "HYPERVISOR_CLOSED",
        ["virt.recorded::list_domains"],
    )


def test_a_target_gives_a_fresh_hypervisor_per_run_and_closes_them(
    make_root: Callable[..., Path],
) -> None:
    """new_hypervisor(): a new, unopened one each call; every one is closed when the target
    closes, even one no run ever took."""
    root = make_root("asrock-z170-gtx960")
    with open_target(root=root, connect="test:///default") as target:
        first, second = target.new_hypervisor(), target.new_hypervisor()
        assert first is not None and second is not None and first is not second
        assert first.info().hypervisor == "TEST"
        run_probes(target.host, only=["libvirt.connection"], hypervisor=second)
    with pytest.raises(WorkbenchError, match="closed"):
        first.info()
    with open_target(root=root) as target:
        assert target.new_hypervisor() is None  # a root without a recording has none


def test_a_run_lists_the_domains_once(node: Path, listings: list[str]) -> None:
    """libvirt.domains and guest.agent judge one listing: libvirt is asked once per run."""
    report = run_probes(Host("/"), only=LIBVIRT_PROBES, hypervisor=LiveHypervisor(f"test://{node}"))
    assert report.get("libvirt.domains").status != "error"
    assert "win11" in report.get("guest.agent").facts["agents"]
    assert len(listings) == 1


def test_a_capture_lists_the_domains_once(
    node: Path, listings: list[str], make_root: Callable[..., Path], tmp_path: Path
) -> None:
    """A capture records the domains and asks their agents from one listing, through one
    hypervisor, which it closes."""
    made: list[Any] = []

    def new_hypervisor() -> LiveHypervisor:
        made.append(LiveHypervisor(f"test://{node}"))
        return made[-1]

    source = Source(Host(make_root("asrock-z170-gtx960")), new_hypervisor=new_hypervisor)
    result = capture(source, tmp_path / "c.tar.gz")
    assert result.manifest["collectors"]["libvirt"]["error"] is None
    assert result.manifest["collectors"]["agents"]["error"] is None
    assert len(made) == 1 and len(listings) == 1
    with pytest.raises(WorkbenchError, match="closed"):
        made[0].info()
