"""Messages the workers and the libvirt threads send to the UI ("attributes down, messages up")."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from textual.message import Message

from workbench.core.lifecycle import Transition
from workbench.core.recovery import Attempt
from workbench.core.report import ProbeResult, Report


@dataclass
class ProbeFinished(Message):
    result: ProbeResult


@dataclass
class ProbesDone(Message):
    report: Report


@dataclass
class VmTransition(Message):
    transition: Transition


@dataclass
class ConnectionChanged(Message):
    record: dict[str, Any]


@dataclass
class DomainsLoaded(Message):
    domains: list[dict[str, Any]]


@dataclass
class RetryProgress(Message):
    """One attempt of a retry the operator started (for the countdown)."""

    attempt: Attempt


@dataclass
class RetryFinished(Message):
    ok: bool
    detail: str


@dataclass
class LogGrew(Message):
    """New lines were indexed; replaces an earlier one still in the queue."""

    lines: int

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, LogGrew)
