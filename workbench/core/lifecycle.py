"""Per-VM lifecycle state machines fed by hypervisor events, with history and stuck detection."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

# libvirt's virDomainState, by number (kept here so the core needs no libvirt import).
STATES = (
    "nostate",
    "running",
    "blocked",
    "paused",
    "shutdown",
    "shutoff",
    "crashed",
    "pmsuspended",
)
UNDEFINED = "undefined"  # the domain no longer exists
# libvirt's virDomainEventType -> the state the domain is in afterwards.
EVENTS = (
    "defined",
    "undefined",
    "started",
    "suspended",
    "resumed",
    "stopped",
    "shutdown",
    "pmsuspended",
    "crashed",
)
EVENT_TARGET = {
    "defined": None,  # config changed; the state stays (shutoff for a new domain)
    "undefined": UNDEFINED,
    "started": "running",
    "suspended": "paused",
    "resumed": "running",
    "stopped": "shutoff",
    "shutdown": "shutdown",
    "pmsuspended": "pmsuspended",
    "crashed": "crashed",
}
# The states each event may come from. An event from any other state means one was missed.
_ACTIVE = frozenset({"running", "blocked", "paused", "shutdown", "pmsuspended"})
EVENT_FROM: dict[str, frozenset[str]] = {
    "defined": frozenset(STATES) | {UNDEFINED},
    "undefined": frozenset({"shutoff", "crashed", "nostate"}),
    "started": frozenset({"shutoff", "crashed", UNDEFINED, "pmsuspended"}),
    "suspended": frozenset({"running", "blocked"}),
    "resumed": frozenset({"paused", "pmsuspended"}),
    "stopped": _ACTIVE | {"crashed"},
    "shutdown": frozenset({"running", "blocked", "paused"}),
    "pmsuspended": frozenset({"running", "blocked"}),
    "crashed": _ACTIVE,
}
# How long a state may last before it counts as stuck.
STUCK_AFTER_S = {"shutdown": 120.0, "nostate": 30.0}


def state_name(number: int) -> str:
    return STATES[number] if 0 <= number < len(STATES) else "nostate"


def event_name(number: int) -> str:
    return EVENTS[number] if 0 <= number < len(EVENTS) else f"event-{number}"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class Transition:
    """One change of a VM's state: when, from, to, and why (event, action or resync)."""

    timestamp: str
    vm: str
    from_state: str
    to_state: str
    cause: str  # "event", "action", "resync"
    detail: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "timestamp": self.timestamp,
            "vm": self.vm,
            "from": self.from_state,
            "to": self.to_state,
            "cause": self.cause,
            "detail": self.detail,
        }


Listener = Callable[[Transition], None]
# A crash is an error to whoever reads the log (`e` jumps there); a healed missed event a warning.
_LEVELS = {"crashed": "error"}


def log_transition(transition: Transition) -> None:
    """One `vm.transition` record in our log: vm, from, to, cause (the event and its detail,
    the operator's action, or why the state was re-read) and `via` (event, action, resync)."""
    from workbench.core.logging import get_logger

    level = _LEVELS.get(transition.to_state)
    if level is None:
        level = "warning" if transition.detail and "missed event" in transition.detail else "info"
    log = get_logger("core.lifecycle")
    write = {"error": log.error, "warning": log.warning}.get(level, log.info)
    write(
        "vm.transition",
        vm=transition.vm,
        **{"from": transition.from_state, "to": transition.to_state},
        cause=transition.detail or transition.cause,
        via=transition.cause,
    )


@dataclass
class VmLifecycle:
    """The state machine of one VM. Thread-safe: events arrive on the libvirt event thread."""

    vm: str
    state: str = "nostate"
    history: list[Transition] = field(default_factory=list)
    since: float = field(default_factory=time.monotonic)
    listeners: list[Listener] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def _move(self, to: str, cause: str, detail: str | None) -> Transition | None:
        if to == self.state:
            return None
        transition = Transition(_now(), self.vm, self.state, to, cause, detail)
        self.state = to
        self.since = time.monotonic()
        self.history.append(transition)
        return transition

    def _emit(self, transitions: list[Transition]) -> list[Transition]:
        for transition in transitions:
            if transition.from_state != transition.to_state:  # a note is its action's record
                log_transition(transition)
            for listener in list(self.listeners):
                listener(transition)
        return transitions

    def on_event(
        self, event: str, detail: str | None = None, reread: Callable[[], str] | None = None
    ) -> list[Transition]:
        """Apply a hypervisor event. When it cannot follow the current state (an event was
        missed), the true state is re-read with `reread` and recorded as a `resync` first."""
        target = EVENT_TARGET.get(event)
        what = event if detail is None else f"{event}: {detail}"
        with self._lock:
            if target is None:
                if event == "defined" and self.state in ("nostate", UNDEFINED):
                    target = "shutoff"
                else:
                    return []
            made: list[Transition] = []
            allowed = EVENT_FROM.get(event, frozenset())
            if self.state != "nostate" and self.state not in allowed:
                actual = reread() if reread is not None else target
                healed = self._move(
                    actual, "resync", f"missed event: {what} cannot follow {self.state}"
                )
                if healed:
                    made.append(healed)
                if actual != target:
                    return self._emit(made)
            moved = self._move(target, "event", what)
            if moved:
                made.append(moved)
        return self._emit(made)

    def note(self, cause: str, detail: str) -> list[Transition]:
        """Record something that happened to the VM without a state change (an operator's
        request, before its effect arrives as an event)."""
        with self._lock:
            transition = Transition(_now(), self.vm, self.state, self.state, cause, detail)
            self.history.append(transition)
        return self._emit([transition])

    def on_action(self, action: str, to: str) -> list[Transition]:
        """Record an operator action that put the VM in state `to` (e.g. shutdown requested)."""
        with self._lock:
            moved = self._move(to, "action", action)
        return self._emit([moved] if moved else [])

    def resync(self, actual: str, detail: str = "state re-read") -> list[Transition]:
        """Adopt the state read from the hypervisor (after a reconnect or a missed event)."""
        with self._lock:
            moved = self._move(actual, "resync", detail)
        return self._emit([moved] if moved else [])

    def stuck(
        self, now: float | None = None, limits: dict[str, float] | None = None
    ) -> float | None:
        """Seconds spent in a state that should not last this long; None when not stuck."""
        limit = (STUCK_AFTER_S if limits is None else limits).get(self.state)
        spent = (now if now is not None else time.monotonic()) - self.since
        return spent if limit is not None and spent > limit else None


class Lifecycles:
    """The state machines of every VM of one hypervisor connection."""

    def __init__(self) -> None:
        self._machines: dict[str, VmLifecycle] = {}
        self._lock = threading.Lock()
        self.listeners: list[Listener] = []

    def get(self, vm: str) -> VmLifecycle:
        with self._lock:
            machine = self._machines.get(vm)
            if machine is None:
                machine = VmLifecycle(vm, listeners=[self._relay])
                self._machines[vm] = machine
            return machine

    def _relay(self, transition: Transition) -> None:
        for listener in list(self.listeners):
            listener(transition)

    def names(self) -> list[str]:
        with self._lock:
            return sorted(self._machines)

    def resync_all(self, actual: dict[str, str]) -> list[Transition]:
        """Adopt every domain's re-read state; domains that vanished become `undefined`."""
        made: list[Transition] = []
        for vm in sorted(set(actual) | set(self.names())):
            made += self.get(vm).resync(actual.get(vm, UNDEFINED), "resync after reconnect")
        return made

    def stuck(
        self, now: float | None = None, limits: dict[str, float] | None = None
    ) -> dict[str, tuple[str, float]]:
        """{vm: (state, seconds in it)} for every VM stuck past its state's limit."""
        out = {}
        for vm in self.names():
            machine = self.get(vm)
            spent = machine.stuck(now, limits)
            if spent is not None:
                out[vm] = (machine.state, spent)
        return out
