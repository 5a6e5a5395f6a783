"""Messages the workers and the libvirt threads send to the UI ("attributes down, messages up").

They go to the app, which hands copies to the screen on show; none of them bubbles, or a copy
would come back up to the app and be handed down again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from textual.message import Message

from workbench.core.lifecycle import Transition
from workbench.core.recovery import Attempt
from workbench.core.report import ProbeResult, Report


@dataclass
class ProbeFinished(Message, bubble=False):
    result: ProbeResult


@dataclass
class ProbesDone(Message, bubble=False):
    report: Report


@dataclass
class VmTransition(Message, bubble=False):
    transition: Transition


@dataclass
class ConnectionChanged(Message, bubble=False):
    record: dict[str, Any]


@dataclass
class DomainsLoaded(Message, bubble=False):
    domains: list[dict[str, Any]]


@dataclass
class RetryProgress(Message, bubble=False):
    """One attempt of a retry the operator started (for the countdown)."""

    attempt: Attempt


@dataclass
class RetryFinished(Message, bubble=False):
    ok: bool
    detail: str


@dataclass
class HardwareChanged(Message, bubble=False):
    """A PCI device appeared or went, or a driver bound or unbound (live machine only)."""

    action: str
    bdf: str
    driver: str | None


@dataclass
class LogGrew(Message, bubble=False):
    """New lines were indexed; replaces an earlier one still in the queue."""

    lines: int

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, LogGrew)
