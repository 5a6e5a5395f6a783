"""A live libvirt session: events into lifecycle machines, reconnect with backoff, resync."""

from __future__ import annotations

import contextlib
import functools
import queue
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import libvirt

from workbench.core.errors import WorkbenchError, error_context
from workbench.core.lifecycle import Lifecycles, event_name, state_name
from workbench.core.logging import get_logger
from workbench.core.recovery import Attempt, CancelledError, CancelToken, RetryPolicy, retry
from workbench.core.text import mask_uri
from workbench.virt.connection import (
    CALL_TIMEOUT_S,
    call_with_timeout,
    guarded_call,
    open_connection,
)
from workbench.virt.domains import DomainConfig
from workbench.virt.hypervisor import DomainSnapshot
from workbench.virt.live import read_domain

# virDomainEventType -> its detail names, by number.
EVENT_DETAILS: dict[str, tuple[str, ...]] = {
    "defined": ("added", "updated", "renamed", "from-snapshot"),
    "undefined": ("removed", "renamed"),
    "started": ("booted", "migrated", "restored", "from-snapshot", "wakeup"),
    "suspended": (
        "paused",
        "migrated",
        "io-error",
        "watchdog",
        "restored",
        "from-snapshot",
        "api-error",
        "postcopy",
        "postcopy-failed",
    ),
    "resumed": ("unpaused", "migrated", "from-snapshot", "postcopy", "postcopy-failed"),
    "stopped": ("shutdown", "destroyed", "crashed", "migrated", "saved", "failed", "from-snapshot"),
    "shutdown": ("finished", "guest", "host"),
    "pmsuspended": ("memory", "disk"),
    "crashed": ("panicked", "crashloaded"),
}
CLOSE_REASONS = ("error", "eof", "keepalive", "client")
RECONNECT_POLICY = RetryPolicy(
    attempts=10**9, base_delay=0.5, factor=2.0, max_delay=10.0, jitter=0.2
)
CLOSE_TIMEOUT_S = 2.0
MODULE = "virt.session"
ConnectionListener = Callable[[dict[str, Any]], None]


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def detail_name(event: str, detail: int) -> str:
    names = EVENT_DETAILS.get(event, ())
    return names[detail] if 0 <= detail < len(names) else str(detail)


class VirtSession:
    """Watches one hypervisor: every domain's lifecycle, the connection's own state.

    `start()` returns at once; connecting, reconnecting (RetryPolicy with backoff and jitter)
    and resyncing run on the session's thread, events are applied on its dispatcher thread,
    and listeners are called from those threads (a UI must hand them to its own loop).
    """

    def __init__(
        self,
        uri: str,
        *,
        readonly: bool = True,
        policy: RetryPolicy = RECONNECT_POLICY,
        keepalive: tuple[int, int] = (5, 3),
        call_timeout_s: float = CALL_TIMEOUT_S,
        stuck_after: dict[str, float] | None = None,
        stuck_check_s: float = 5.0,
    ) -> None:
        self.uri = uri  # given to libvirt only; everything shown says `shown_uri`
        self.shown_uri = mask_uri(uri)
        self.readonly = readonly
        self.policy = policy
        self.keepalive = keepalive
        self.call_timeout_s = call_timeout_s
        self.lifecycles = Lifecycles()
        self.stuck_after = stuck_after  # None: the lifecycle module's limits
        self.stuck_check_s = stuck_check_s
        self.stuck_listeners: list[ConnectionListener] = []
        self._reported_stuck: set[tuple[str, str, float]] = set()
        self.agent_state: dict[str, str] = {}
        self.state = "disconnected"
        self.connection_listeners: list[ConnectionListener] = []
        self.agent_listeners: list[ConnectionListener] = []
        self.last_error: WorkbenchError | None = None
        # Set when the session stopped trying (a permanent error, or the policy gave up).
        self.gave_up = threading.Event()
        self._conn: Any = None
        self._callbacks: list[int] = []
        self._lock = threading.Lock()
        self._stop = CancelToken()
        self._wake = threading.Event()
        self._events: queue.Queue[tuple[str, Any] | None] = queue.Queue()
        self._threads: list[threading.Thread] = []
        self._log = get_logger("virt.session").bind(uri=self.shown_uri)
        self._generation = 0

    # --- life of the session ---------------------------------------------------------------

    def start(self) -> None:
        for name, target in (("libvirt-session", self._run), ("libvirt-dispatch", self._dispatch)):
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self, timeout_s: float = 5.0) -> None:
        self._stop.cancel()
        self._wake.set()
        self._events.put(None)
        deadline = time.monotonic() + timeout_s  # one wait for all threads, not one each
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))

        def drop() -> None:
            with self._lock:
                self._drop_connection()

        # Closing says goodbye to the daemon: a hung one would hold the caller until libvirt's
        # keepalive gives up (~20 s). The close is left to finish on its own thread.
        try:
            call_with_timeout(drop, min(timeout_s, CLOSE_TIMEOUT_S), "close the connection")
        except WorkbenchError as exc:
            self._log.warning("connection.close_abandoned", error=exc)

    def wait_for(self, state: str, timeout_s: float) -> bool:
        """Block until the connection reaches `state` (for scripts and tests)."""
        done = threading.Event()

        def check(_: dict[str, Any]) -> None:
            if self.state == state:
                done.set()

        self.connection_listeners.append(check)
        try:
            return self.state == state or done.wait(timeout_s)
        finally:
            self.connection_listeners.remove(check)

    def _run(self) -> None:
        """Connect, then wait; each time the connection closes, reconnect and resync."""
        first = True
        while not self._stop.cancelled:
            try:
                retry(
                    functools.partial(self._connect, first),
                    self.policy,
                    operation="libvirt.connect",
                    cancel=self._stop,
                    observer=self._on_attempt,
                )
            except CancelledError:
                return
            except WorkbenchError as exc:  # a permanent error, or the policy gave up
                self.last_error = exc
                self.gave_up.set()
                self._set_state("disconnected", error=exc.to_dict())
                return
            first = False
            # Until the close callback (or stop) wakes us, look for VMs stuck in a state.
            while not self._wake.wait(self.stuck_check_s):
                self._report_stuck()
            self._wake.clear()

    def _report_stuck(self) -> None:
        """Tell listeners once per episode that a VM has been in a state too long."""
        stuck = self.lifecycles.stuck(limits=self.stuck_after)
        for vm, (state, spent) in stuck.items():
            episode = (vm, state, self.lifecycles.get(vm).since)
            if episode in self._reported_stuck:
                continue
            self._reported_stuck.add(episode)
            record = {"timestamp": _now(), "vm": vm, "stuck": state, "for_s": round(spent, 1)}
            self._log.warning("vm.stuck", vm=vm, state=state, for_s=round(spent, 1))
            for listener in list(self.stuck_listeners):
                listener(record)

    def _on_attempt(self, attempt: Attempt) -> None:
        # A failure with no retry after it is reported by _run, as the session giving up.
        if not attempt.ok and attempt.delay_s is not None:
            self._set_state(
                "reconnecting",
                attempt=attempt.number,
                retry_in_s=attempt.delay_s,
                error=attempt.error,
            )

    def _set_state(self, state: str, **extra: Any) -> None:
        self.state = state
        record = {"timestamp": _now(), "connection": state, "uri": self.shown_uri, **extra}
        self._log.info(
            "connection.state", connection=state, **{k: v for k, v in extra.items() if k != "error"}
        )
        for listener in list(self.connection_listeners):
            listener(record)

    # --- connecting ------------------------------------------------------------------------

    def _connect(self, first: bool) -> None:
        with error_context(MODULE, "connect"):
            self._open_and_resync(first)

    def _open_and_resync(self, first: bool) -> None:
        conn = open_connection(self.uri, readonly=self.readonly, timeout_s=self.call_timeout_s)
        with self._lock:
            self._drop_connection()
            self._generation += 1
            generation = self._generation
            self._conn = conn
            # Local drivers (test:///) have no keepalive: there is no link to watch.
            with contextlib.suppress(libvirt.libvirtError):
                conn.setKeepAlive(*self.keepalive)
            conn.registerCloseCallback(self._on_close, generation)
            self._callbacks = [
                conn.domainEventRegisterAny(
                    None, libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE, self._on_lifecycle, generation
                )
            ]
            # Drivers without agent events still give lifecycle events.
            with contextlib.suppress(libvirt.libvirtError):
                self._callbacks.append(
                    conn.domainEventRegisterAny(
                        None,
                        libvirt.VIR_DOMAIN_EVENT_ID_AGENT_LIFECYCLE,
                        self._on_agent,
                        generation,
                    )
                )
        actual = self._read_states()
        detail = "initial state" if first else "resync after reconnect"
        if first:
            for vm, state in actual.items():
                self.lifecycles.get(vm).resync(state, detail)
        else:
            self.lifecycles.resync_all(actual)
        self._set_state("connected")

    def _drop_connection(self) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        for callback in self._callbacks:
            with contextlib.suppress(libvirt.libvirtError):  # the connection is already gone
                conn.domainEventDeregisterAny(callback)
        self._callbacks = []
        with contextlib.suppress(libvirt.libvirtError):
            conn.unregisterCloseCallback()
        with contextlib.suppress(libvirt.libvirtError):
            conn.close()

    def _read_states(self) -> dict[str, str]:
        def read() -> dict[str, str]:
            states = {}
            for dom in self.connection().listAllDomains():
                states[dom.name()] = state_name(dom.state()[0])
            return states

        states: dict[str, str] = self.call(read, "list_domains", "list domains")
        return states

    def connection(self) -> Any:
        """The current libvirt connection; a recoverable error while there is none."""
        conn = self._conn
        if conn is None:
            raise WorkbenchError(
                f"not connected to {self.shown_uri} ({self.state})",
                code="LIBVIRT_DISCONNECTED",
                recoverable=True,
            )
        return conn

    def call(self, fn: Callable[[], Any], operation: str, what: str | None = None) -> Any:
        """Run a libvirt call through `guarded_call` (the session's timeout, libvirt errors as
        WorkbenchErrors saying `what`) under the frame `virt.session::<operation>`."""
        with error_context(MODULE, operation):
            return guarded_call(fn, what or operation, self.uri, self.call_timeout_s)

    def domains(self) -> list[DomainSnapshot]:
        """Every domain, read now as the gateway reads it (a WorkbenchError when not
        connected)."""
        snapshots: list[DomainSnapshot] = self.call(
            lambda: [read_domain(d) for d in self.connection().listAllDomains()],
            "read_domains",
            "read domain configurations",
        )
        return sorted(snapshots, key=lambda s: s.name)

    def domain_configs(self) -> list[DomainConfig]:
        """Every domain's configuration that could be read and parsed, by name."""
        with error_context(MODULE, "domain_configs"):
            snapshots = self.domains()
        configs = {s.config.name: s.config for s in snapshots if s.config is not None}
        return sorted(configs.values(), key=lambda c: c.name)

    # --- callbacks (libvirt's event thread: queue and return) ------------------------------

    def _on_close(self, _conn: Any, reason: int, generation: int) -> None:
        if generation != self._generation:
            return
        why = CLOSE_REASONS[reason] if 0 <= reason < len(CLOSE_REASONS) else str(reason)
        self._events.put(("closed", why))

    def _on_lifecycle(self, _conn: Any, dom: Any, event: int, detail: int, _gen: int) -> None:
        name = event_name(event)
        self._events.put(("lifecycle", (dom.name(), name, detail_name(name, detail))))

    def _on_agent(self, _conn: Any, dom: Any, state: int, reason: int, _gen: int) -> None:
        connected = state == libvirt.VIR_CONNECT_DOMAIN_EVENT_AGENT_LIFECYCLE_STATE_CONNECTED
        self._events.put(
            ("agent", (dom.name(), "connected" if connected else "disconnected", reason))
        )

    def _dispatch(self) -> None:
        """Apply queued events in order; API calls (re-reading a state) are safe here."""
        while (item := self._events.get()) is not None:
            kind, payload = item
            try:
                if kind == "closed":
                    self._set_state("disconnected", reason=payload)
                    with self._lock:
                        self._drop_connection()
                    self._wake.set()
                elif kind == "lifecycle":
                    vm, event, detail = payload
                    self.lifecycles.get(vm).on_event(
                        event, detail, reread=functools.partial(self._reread, vm)
                    )
                elif kind == "agent":
                    vm, state, reason = payload
                    self.agent_state[vm] = state
                    record = {"timestamp": _now(), "vm": vm, "agent": state, "reason": reason}
                    for listener in list(self.agent_listeners):
                        listener(record)
            except WorkbenchError as exc:
                self._log.warning("event.unapplied", kind=kind, error=exc)

    def _reread(self, vm: str) -> str:
        def read() -> str:
            try:
                return state_name(self.connection().lookupByName(vm).state()[0])
            except libvirt.libvirtError as exc:
                if exc.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN:
                    return "undefined"
                raise

        state: str = self.call(read, "read_state", f"re-read state of {vm}")
        return state
