"""Which hypervisor a machine has: the one function that makes a Hypervisor of a URI or a
recording."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from workbench.core.errors import error_context
from workbench.core.host import Host
from workbench.core.text import mask_uri
from workbench.virt.hypervisor import (
    AgentAnswer,
    Capabilities,
    DomainSnapshot,
    Hypervisor,
    HypervisorInfo,
    RecordedAgents,
    closed_error,
)

if TYPE_CHECKING:
    from workbench.virt.live import LiveHypervisor


def open_hypervisor(host: Host, uri: str | None) -> Hypervisor | None:
    """The live hypervisor at `uri` (opened lazily, read-only), else the recording a non-live
    root holds, else None. Nothing is connected (or read) until the first call."""
    if uri:
        return LiveOnFirstCall(uri)
    from workbench.virt.recorded import RecordedHypervisor, has_recording

    return RecordedHypervisor(host) if has_recording(host) else None


class LiveOnFirstCall:
    """A live hypervisor whose code, and libvirt's (~25 ms to import), loads at its first call:
    a run whose probes never ask (`--only cpu.virtualization`, the hardware probes) pays
    nothing for it. Closing is final, as for the live one."""

    recorded = False
    problems: tuple[str, ...] = ()

    def __init__(self, uri: str) -> None:
        self._raw = uri
        self._live: LiveHypervisor | None = None
        self._closed = False
        self._lock = threading.Lock()

    @property
    def uri(self) -> str:
        return mask_uri(self._raw)

    def __repr__(self) -> str:
        return f"LiveOnFirstCall({self.uri!r})"

    def _open(self, operation: str) -> LiveHypervisor:
        with self._lock, error_context("virt.live", operation):
            if self._closed:
                raise closed_error(self.uri)
            if self._live is None:
                from workbench.virt.live import LiveHypervisor

                self._live = LiveHypervisor(self._raw)
            return self._live

    def info(self) -> HypervisorInfo:
        return self._open("info").info()

    def domains(self) -> list[DomainSnapshot]:
        return self._open("list_domains").domains()

    def agent(self, vm: DomainSnapshot, timeout_s: float) -> AgentAnswer:
        return self._open("agent").agent(vm, timeout_s)

    def capabilities(self) -> Capabilities:
        return self._open("capabilities").capabilities()

    def recorded_agents(self) -> RecordedAgents | None:
        return None  # a live hypervisor is asked, never replayed

    def close(self) -> None:
        with self._lock:
            self._closed = True
            live = self._live
        if live is not None:
            live.close()
