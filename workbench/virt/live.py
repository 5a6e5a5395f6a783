"""The live hypervisor: one lazily opened read-only libvirt connection (and a read-write one
only for libvirt's guest-agent API), every call made through `guarded_call` (a timeout, libvirt
errors as WorkbenchErrors) under a context frame naming the gateway call
(`virt.live::list_domains`)."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from typing import Any, TypeVar

import libvirt

from workbench.core.errors import WorkbenchError, error_context
from workbench.core.lifecycle import state_name
from workbench.core.text import mask_uri
from workbench.virt.agent import agent_chain, ask_agent, via_libvirt
from workbench.virt.capabilities import parse_capabilities
from workbench.virt.connection import (
    CALL_TIMEOUT_S,
    call_with_timeout,
    from_libvirt,
    guarded_call,
    open_connection,
)
from workbench.virt.hypervisor import (
    AgentAnswer,
    Capabilities,
    DomainSnapshot,
    HypervisorInfo,
    RecordedAgents,
    closed_error,
)

T = TypeVar("T")
MODULE = "virt.live"


def version_text(number: int) -> str:
    """libvirt's packed version (9000000) as 9.0.0."""
    return f"{number // 1_000_000}.{number // 1000 % 1000}.{number % 1000}"


def read_domain(dom: Any) -> DomainSnapshot:
    """One domain as libvirt describes it now; what cannot be read or parsed is its problem."""
    name = dom.name()
    try:
        state, reason = dom.state()
        persistent = bool(dom.isPersistent())
        xml = dom.XMLDesc(0)
    except libvirt.libvirtError as exc:
        return DomainSnapshot(
            name,
            "nostate",
            persistent=False,
            config=None,
            problem=exc.get_error_message() or str(exc),
            problem_code="DOMAIN_UNREADABLE",
        )
    return DomainSnapshot.from_xml(name, state_name(state), persistent, xml, reason)


class LiveHypervisor:
    """A libvirt hypervisor at `uri` (the password goes to libvirt only; `uri` shows it masked).

    Nothing connects until the first call; the domains are listed once (one snapshot: every
    probe of a run judges the same set); `close()` is final. Safe to call from any thread (a
    probe runs on its own)."""

    recorded = False
    problems: tuple[str, ...] = ()

    def __init__(self, uri: str, *, timeout_s: float = CALL_TIMEOUT_S) -> None:
        self._uri = uri
        self.timeout_s = timeout_s
        self._lock = threading.Lock()  # guards the fields below; never held across libvirt
        self._opening = threading.Lock()  # one open at a time; close() never waits for it
        self._listing = threading.Lock()  # one listing at a time: the second waits for it
        self._closed = False
        self._ro: Any = None
        self._rw: Any = None
        self._rw_problem: str | None = None
        self._rw_tried = False
        self._domains: list[DomainSnapshot] | None = None

    @property
    def uri(self) -> str:
        return mask_uri(self._uri)

    def __repr__(self) -> str:
        return f"LiveHypervisor({self.uri!r})"

    # --- the gateway calls ----------------------------------------------------------------

    def info(self) -> HypervisorInfo:
        with error_context(MODULE, "info"):
            conn = self._conn()

            def read() -> HypervisorInfo:
                return HypervisorInfo(
                    uri=mask_uri(conn.getURI()),
                    hypervisor=conn.getType(),
                    hypervisor_version=version_text(conn.getVersion()),
                    libvirt_version=version_text(conn.getLibVersion()),
                    hostname=conn.getHostname(),
                )

            return self._call(read, "read the hypervisor")

    def domains(self) -> list[DomainSnapshot]:
        with error_context(MODULE, "list_domains"), self._listing:
            if self._domains is None:
                conn = self._conn()

                def read() -> list[DomainSnapshot]:
                    return sorted((read_domain(d) for d in conn.listAllDomains()), key=_by_name)

                listed = self._call(read, "list domains")
                with self._lock:
                    self._check_open()
                    self._domains = listed
            with self._lock:
                self._check_open()  # closed means closed, even for what was listed before
            return list(self._domains)

    def capabilities(self) -> Capabilities:
        with error_context(MODULE, "capabilities"):
            conn = self._conn()
            text: str = self._call(conn.getCapabilities, "read capabilities")
            try:
                return parse_capabilities(text)
            except ValueError as exc:
                raise WorkbenchError(
                    f"read capabilities: {exc}",
                    code="LIBVIRT_ERROR",
                    details={"uri": self.uri, "operation": "read capabilities"},
                    cause=exc,
                ) from exc

    def agent(self, vm: DomainSnapshot, timeout_s: float) -> AgentAnswer:
        """libvirt's agent API (a read-write connection, QEMU only), else the channel's
        socket; only the read-only queries of workbench.virt.agent are ever sent."""
        with error_context(MODULE, "agent"):
            channel = vm.config.agent if vm.config is not None else None
            path = channel.path if channel is not None and channel.kind == "unix" else None
            rw, rw_problem = self._rw_connection()
            query = None if rw is None else self._libvirt_agent(rw, vm.name, timeout_s)
            chain = agent_chain(vm.name, query, rw_problem, path, timeout_s)
            answers, served_by, tried = ask_agent(chain)
            return AgentAnswer(answers, served_by, tried)

    def recorded_agents(self) -> RecordedAgents | None:
        return None  # a live hypervisor is asked, never replayed

    def close(self) -> None:
        """Close what was opened; final (a later call raises HYPERVISOR_CLOSED) and idempotent.
        A call still running on another thread keeps its connection until libvirt returns."""
        with self._lock:
            self._closed = True
            conns = (self._ro, self._rw)
            self._ro = self._rw = None
        for conn in conns:
            if conn is not None:
                with contextlib.suppress(libvirt.libvirtError):  # already gone: nothing to free
                    conn.close()

    # --- plumbing ---------------------------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise closed_error(self.uri)

    def _conn(self) -> Any:
        with self._lock:
            self._check_open()
            if self._ro is not None:
                return self._ro
        with self._opening:
            with self._lock:
                self._check_open()
                if self._ro is not None:  # opened while this call waited for its turn
                    return self._ro
            conn = open_connection(self._uri, readonly=True, timeout_s=self.timeout_s)
            return self._keep(conn, "_ro")

    def _keep(self, conn: Any, slot: str) -> Any:
        """`conn`, kept in `slot` to be closed by close(); closed at once (and the call
        refused) when close() came while it was being opened."""
        with self._lock:
            if not self._closed:
                setattr(self, slot, conn)
                return conn
        with contextlib.suppress(libvirt.libvirtError):
            conn.close()
        raise closed_error(self.uri)

    def _call(self, fn: Callable[[], T], what: str) -> T:
        return guarded_call(fn, what, self._uri, self.timeout_s)

    def _rw_connection(self) -> tuple[Any, str | None]:
        """libvirt allows agent commands only on a read-write connection: opened once, on the
        first agent question; why it could not be is kept (and said by every answer)."""
        with self._opening:
            with self._lock:
                self._check_open()
                if self._rw_tried:
                    return self._rw, self._rw_problem
                self._rw_tried = True
            try:
                conn = open_connection(self._uri, readonly=False, timeout_s=self.timeout_s)
            except WorkbenchError as exc:
                with self._lock:
                    self._rw_problem = f"no read-write libvirt connection ({exc.message})"
                    return None, self._rw_problem
            return self._keep(conn, "_rw"), None

    def _libvirt_agent(
        self, conn: Any, name: str, timeout_s: float
    ) -> Callable[[], dict[str, Any]]:
        def ask() -> dict[str, Any]:
            try:
                dom = conn.lookupByName(name)
            except libvirt.libvirtError as exc:
                raise from_libvirt(exc, f"look up {name}", self._uri) from exc
            return via_libvirt(dom, timeout_s=timeout_s)

        # qemuAgentCommand has its own timeout; this one bounds the lookup and a stuck daemon.
        return lambda: call_with_timeout(ask, timeout_s + 2, f"guest agent of {name}")


def _by_name(snapshot: DomainSnapshot) -> str:
    return snapshot.name
