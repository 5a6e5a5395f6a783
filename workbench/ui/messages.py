"""Messages the workers and the libvirt threads send to the UI ("attributes down, messages up").

Each is a `StateChange`: the app hands it to the part that keeps its state (ProbeControl,
VirtBridge), then to the on_* handler of the screen on show if that screen follows it. None
bubbles: the app alone receives it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from textual.message import Message

from workbench.core.lifecycle import Transition
from workbench.core.recovery import Attempt
from workbench.core.report import ProbeResult, Report

if TYPE_CHECKING:  # the XML parser loads with the first domain read, after the first frame
    from workbench.ui.start_failure import StartFailure
    from workbench.virt.domains import DomainConfig


class StateChange(Message, bubble=False):
    """A change of the state the screens show, posted to the app by a worker or a thread."""


@dataclass
class ProbeFinished(StateChange, bubble=False):
    result: ProbeResult
    run: int = 0  # which run made it: a result of an older run than the newest is stale


@dataclass
class ProbesDone(StateChange, bubble=False):
    report: Report
    run: int = 0


@dataclass
class VmTransition(StateChange, bubble=False):
    transition: Transition


@dataclass
class ConnectionChanged(StateChange, bubble=False):
    record: dict[str, Any]
    hypervisor: str | None = None  # its URI when the workbench watches several


@dataclass
class DomainsLoaded(StateChange, bubble=False):
    domains: list[DomainConfig]
    # A recording's domain states (a live session keeps its own state machines).
    recorded_states: dict[str, str] | None = None
    hypervisor: str | None = None  # whose VMs these are when the workbench watches several


@dataclass
class VmFailureExplained(StateChange, bubble=False):
    """Why a VM's start failed (or, for a VM found shut off, whether its last start did)."""

    failure: StartFailure


@dataclass
class RetryProgress(StateChange, bubble=False):
    """One attempt of a retry the operator started (for the countdown)."""

    attempt: Attempt


@dataclass
class RetryFinished(StateChange, bubble=False):
    ok: bool
    detail: str


@dataclass
class HardwareChanged(StateChange, bubble=False):
    """A PCI device appeared or went, or a driver bound or unbound (live machine only)."""

    action: str
    bdf: str
    driver: str | None


@dataclass
class LogGrew(StateChange, bubble=False):
    """New lines were indexed; replaces an earlier one still in the queue."""

    lines: int

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, LogGrew)
