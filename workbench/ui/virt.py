"""The UI's side of the hypervisor: a VirtSession whose events become messages, domain configs
loaded in workers, actions (one at a time per VM) and display choices. Workers and libvirt's
threads only post messages; the state the screens read is set here, on the UI thread."""

from __future__ import annotations

import bisect
import dataclasses
import functools
from typing import TYPE_CHECKING, Any

from workbench.core.errors import WorkbenchError
from workbench.core.lifecycle import Transition
from workbench.core.recovery import CancelToken, FallbackChain
from workbench.core.text import mask_uri
from workbench.ui.config import UiConfig
from workbench.ui.messages import (
    ConnectionChanged,
    DomainsLoaded,
    StateChange,
    VmFailureExplained,
    VmTransition,
)
from workbench.ui.plain import plain
from workbench.ui.virtmany import vm_key, worst_connection

if TYPE_CHECKING:
    from collections.abc import Callable

    from workbench.ui.app import WorkbenchApp
    from workbench.ui.start_failure import StartFailure
    from workbench.virt.display import DisplayPlan
    from workbench.virt.domains import DomainConfig
    from workbench.virt.session import VirtSession


NOT_RECORDED = "not recorded"  # a recorded machine without a usable hypervisor recording


def recording_failed(exc: WorkbenchError) -> WorkbenchError:
    """Why a capture's VMs cannot be shown, for a toast (the probes and logs still work): the
    recording's problem, or the hypervisor that did not answer at capture time, and the remedy
    of capturing again. Its frames are the recording's."""
    from workbench.core.errors import VirtConnectionError
    from workbench.virt.recorded import RECORD_AGAIN

    if isinstance(exc, VirtConnectionError) and "recorded" in exc.details:
        message = f"VMs not recorded: libvirt did not answer the capture ({exc.message})"
        remedy = "Capture the machine again once libvirt answers (`workbench capture`)."
    else:
        message = f"VMs not recorded: {exc.message}"
        remedy = RECORD_AGAIN
    failed = WorkbenchError(message, code=exc.code, cause=exc, recoverable=True, remedy=remedy)
    failed.context = list(exc.context)
    return failed


def start_error(exc: WorkbenchError) -> str:
    """The text of a failed start to explain: its message and those of its causes (libvirt's
    own words are often in the innermost one)."""
    texts: list[str] = []
    seen: BaseException | None = exc
    while seen is not None and len(texts) < 8:
        text = seen.message if isinstance(seen, WorkbenchError) else str(seen)
        if text and text not in texts:
            texts.append(text)
        seen = seen.cause if isinstance(seen, WorkbenchError) else seen.__cause__
    return "\n".join(texts)


def remote_of(root: str, uri: str | None) -> str | None:
    """The other machine whose hypervisor `uri` is (its VMs' logs are there), or None.
    Blocking (reads the machine's hostname): on worker threads only."""
    from workbench.core.host import Host
    from workbench.core.remote import machine_names, remote_host

    return remote_host(uri, machine_names(Host(root))) if uri else None


def name_cause(exc: WorkbenchError, failure: StartFailure) -> None:
    """The failed start's error names its likeliest cause: the toast or error screen then says
    why and what to do, not only libvirt's sentence."""
    from workbench.ui.causes import subject_words, top_cause

    top = top_cause(failure.causes)
    if top is None:
        return
    subject = subject_words(top)
    about = f" ({subject})" if subject else ""
    exc.details["cause"] = top["code"]
    exc.remedy = f"Likely cause: {top['title']}{about}. {top['remedy']}"


def log_start_failure(failure: StartFailure) -> None:
    """The operator's start failed: why, as the cause catalogue reads it, in our log (the
    action's own record says that it failed; this one says what the evidence points to)."""
    from workbench.core.logging import get_logger
    from workbench.ui.causes import top_cause

    top = top_cause(failure.causes) or {}
    get_logger("ui.virt").warning(
        "vm.start_explained",
        vm=failure.vm,
        cause=top.get("code", "unknown"),
        title=top.get("title"),
        confidence=top.get("confidence"),
        log_source=failure.log_source,
        log_why=failure.log_why,
    )


class VirtBridge:
    def __init__(self, app: WorkbenchApp, config: UiConfig) -> None:
        self.app = app
        self.config = config
        self.session: VirtSession | None = None
        self.connection: dict[str, Any] | None = None
        self.domains: list[DomainConfig] = []
        # Each VM's state and transitions as the UI knows them: kept here, from VmTransition
        # messages (the session's machines are written by its threads and the action workers).
        self._states: dict[str, str] = {}
        self._history: dict[str, list[Transition]] = {}
        self.display_choice: dict[str, str] = {}  # VM -> the display the operator chose
        self._cancel = CancelToken()  # stops the retries of running actions on unmount
        # Why each VM's start failed, as explained by a worker (set here, on the UI thread);
        # `_looked` are the shut-off VMs whose last start was already looked at.
        self.failures: dict[str, StartFailure] = {}
        self._looked: set[str] = set()
        # Several hypervisors (repeated --connect): one session each, `session` the first;
        # each VM key's (URI, libvirt name); each URI's last connection record and VMs.
        self.several = len(config.connects) > 1
        self.sessions: dict[str, VirtSession] = {}
        self._where: dict[str, tuple[str, str]] = {}
        self._connections: dict[str, dict[str, Any]] = {}
        self._by_uri: dict[str, list[DomainConfig]] = {}

    def handlers(self) -> dict[type[StateChange], Callable[[Any], bool]]:
        """The messages whose state this bridge keeps (set here, on the UI thread); each says
        whether screens see it."""
        return {
            ConnectionChanged: self._connection_changed,
            DomainsLoaded: self._domains_loaded,
            VmTransition: self._transition,
            VmFailureExplained: self._failure_explained,
        }

    def start(self) -> None:
        if self.config.connect is None:
            # A capture's hypervisor, as recorded (read in a worker like every file).
            self.app.run_worker(
                self._load_recorded,
                name="read the recorded hypervisor",
                group="virt:load",
                thread=True,
                exit_on_error=False,
            )
            return
        from workbench.virt.session import VirtSession

        if self.several:
            self._start_each()
            return
        # Actions need a read-write connection: only when the operator allowed them.
        session = VirtSession(self.config.connect, readonly=not self.config.allow_actions)
        session.connection_listeners.append(self._on_connection)
        session.lifecycles.listeners.append(self._on_transition)
        self.session = session
        session.start()

    def _start_each(self) -> None:
        """One session per hypervisor, each on its own threads: one that drops out reconnects
        on its own while the others' VMs stay live."""
        from workbench.virt.session import VirtSession

        for uri in self.config.connects:
            session = VirtSession(uri, readonly=not self.config.allow_actions)
            session.connection_listeners.append(functools.partial(self._on_connection_of, uri))
            session.lifecycles.listeners.append(functools.partial(self._on_transition_of, uri))
            self.sessions[uri] = session
            if self.session is None:
                self.session = session
        for session in self.sessions.values():
            session.start()

    def stop(self) -> None:
        self._cancel.cancel()
        for worker in self.app.workers:
            if worker.group.startswith(("vm:", "virt:")):
                worker.cancel()
        for session in self.sessions.values() or [self.session]:
            if session is not None:
                session.stop(timeout_s=2)

    # Called on the session's threads and in workers: only post messages from here.
    def _on_connection(self, record: dict[str, Any]) -> None:
        self.app.post_message(ConnectionChanged(record))

    def _on_transition(self, transition: Transition) -> None:
        self.app.post_message(VmTransition(transition))

    def _on_connection_of(self, uri: str, record: dict[str, Any]) -> None:
        self.app.post_message(ConnectionChanged(record, hypervisor=uri))

    def _on_transition_of(self, uri: str, transition: Transition) -> None:
        key = vm_key(uri, transition.vm)
        self.app.post_message(VmTransition(dataclasses.replace(transition, vm=key)))

    def _publish(
        self, configs: list[DomainConfig], recorded_states: dict[str, str] | None = None
    ) -> None:
        self.app.post_message(DomainsLoaded(configs, recorded_states))

    # On the UI thread.
    def _connection_changed(self, message: ConnectionChanged) -> bool:
        uri = message.hypervisor
        if uri is not None:  # one of several
            self._connections[uri] = message.record
            self.connection = worst_connection(
                [self._connections[u] for u in self.config.connects if u in self._connections]
            )
            if message.record.get("connection") == "connected":
                self._load_domains_of(uri)
            return True
        self.connection = message.record
        if message.record.get("connection") == "connected":
            self.load_domains()
        return True

    def _domains_loaded(self, message: DomainsLoaded) -> bool:
        uri = message.hypervisor
        if uri is not None:  # one hypervisor's VMs, renamed to their keys; the others stay
            self._by_uri[uri] = message.domains
            suffix = len(vm_key(uri, ""))
            for config in message.domains:
                self._where[config.name] = (uri, config.name[:-suffix])
            self.domains = [d for u in self.config.connects for d in self._by_uri.get(u, [])]
            self.look_at_shutoff()
            return True
        self.domains = message.domains
        if message.recorded_states is not None:
            self._states = dict(message.recorded_states)
        self.look_at_shutoff()
        return True

    def _transition(self, message: VmTransition) -> bool:
        """A VM's transition, in time order: two threads (events, an action) may post theirs
        out of order, and the state is that of the latest."""
        t = message.transition
        history = self._history.setdefault(t.vm, [])
        bisect.insort_right(history, t, key=lambda x: x.timestamp)
        self._states[t.vm] = history[-1].to_state
        if self._states[t.vm] == "running":
            self.failures.pop(t.vm, None)  # it started since: the old failure is history
            self._looked.discard(t.vm)
        elif self._states[t.vm] == "shutoff" and t.from_state != "shutoff":
            self._looked.discard(t.vm)  # it stopped: did its start fail?
            self.look_at_shutoff()
        return True

    def _failure_explained(self, message: VmFailureExplained) -> bool:
        failure = message.failure
        if failure.error is None and self.state(failure.vm) == "running":
            return False  # it started while its log was read: that failure is history
        self.failures[failure.vm] = failure
        return True

    # --- why a start failed (workers explain; the UI thread keeps the result) ---------------

    def explain(self, vms: list[str], error: str | None = None) -> None:
        """Explain the failed start of each of `vms` (libvirt's `error`, its QEMU log, the
        machine's facts) in one worker, never here: reading and matching logs blocks."""
        root = self.config.root
        where = [(vm, *self.locate(vm)) for vm in vms]

        def work() -> None:
            from workbench.ui.start_failure import explain_start_failure

            remotes: dict[str | None, str | None] = {}
            for vm, uri, name in where:
                if uri not in remotes:
                    remotes[uri] = remote_of(root, uri)
                failure = explain_start_failure(root, name, error, remotes[uri])
                failure = dataclasses.replace(failure, vm=vm)  # the VM as this screen keys it
                self.app.post_message(VmFailureExplained(failure))

        self.app.run_worker(
            work,
            name=f"explain why {', '.join(vms)} did not start",
            group="virt:why",
            thread=True,
            exit_on_error=False,
        )

    def look_at_shutoff(self) -> None:
        """For each shut-off VM not looked at yet: did its last start fail, and why?"""
        todo = [
            d.name
            for d in self.domains
            if self.state(d.name) == "shutoff" and d.name not in self._looked
        ]
        if todo:
            self._looked.update(todo)
            self.explain(todo)

    def connected_count(self) -> tuple[int, int]:
        """With several hypervisors: how many are connected, of how many."""
        up = sum(r.get("connection") == "connected" for r in self._connections.values())
        return up, len(self.config.connects)

    def locate(self, vm: str) -> tuple[str | None, str]:
        """The hypervisor URI and libvirt name of the VM keyed `vm`."""
        if self.several and vm in self._where:
            return self._where[vm]
        return self.uri, vm

    def name_of(self, vm: str) -> str:
        """The libvirt name of the VM keyed `vm` (its name on its own hypervisor)."""
        return self.locate(vm)[1]

    @property
    def uri(self) -> str | None:
        """The hypervisor's URI: --connect's, else the recording's."""
        recorded = (self.connection or {}).get("uri")
        return self.config.connect or (recorded if isinstance(recorded, str) else None)

    @property
    def not_recorded(self) -> bool:
        """A recorded machine whose hypervisor was not recorded (or not usably): no VMs known,
        which is not the same as none."""
        return (self.connection or {}).get("connection") == NOT_RECORDED

    def state(self, vm: str) -> str:
        """`vm`'s state as last reported (a live VM not heard of yet: nostate)."""
        return self._states.get(vm, "unknown" if self.session is None else "nostate")

    def history(self, vm: str) -> list[Transition]:
        return list(self._history.get(vm, ()))

    def load_domains(self) -> None:
        """Read every domain's config in a worker (a newer read replaces a running one); a
        failure reaches the operator through the app's worker handler."""
        if self.several:
            for uri in self.sessions:
                self._load_domains_of(uri)
            return
        session = self.session
        if session is None:
            return
        self.app.run_worker(
            lambda: self._publish(session.domain_configs()),
            name="read the VMs' configurations",
            group="virt:load",
            exclusive=True,
            thread=True,
            exit_on_error=False,
        )

    def _load_domains_of(self, uri: str) -> None:
        """One of several hypervisors' VM configs, read in its own worker (one that does not
        answer never holds up the others'), renamed to their keys."""
        session = self.sessions[uri]

        def work() -> None:
            configs = [
                dataclasses.replace(c, name=vm_key(uri, c.name)) for c in session.domain_configs()
            ]
            self.app.post_message(DomainsLoaded(configs, hypervisor=uri))

        self.app.run_worker(
            work,
            name=f"read the VMs' configurations of {mask_uri(uri)}",
            group=f"virt:load:{mask_uri(uri)}",
            exclusive=True,
            thread=True,
            exit_on_error=False,
        )

    def _load_recorded(self) -> None:
        """A recording's VMs, or why there are none: nothing recorded is said so; a recording
        that cannot be read fails this worker (a toast naming the problem, "capture again")."""
        from workbench.core.host import Host
        from workbench.virt.gateway import open_hypervisor

        host = Host(self.config.root)
        hv = open_hypervisor(host, None)
        if hv is None:
            if not host.live:
                self._on_connection({"connection": NOT_RECORDED})
            return
        uri: str | None = None
        try:
            uri = hv.uri or None
            listed = hv.domains()
        except WorkbenchError as exc:
            self._on_connection({"connection": NOT_RECORDED, "uri": uri})
            raise recording_failed(exc) from exc
        finally:
            hv.close()
        configs = {d.config.name: d.config for d in listed if d.config is not None}
        # A state the recording does not hold (a sosreport without virsh's list) is said so,
        # never shown as libvirt's nostate.
        states = {d.name: d.state if d.state_recorded else "not recorded" for d in listed}
        # The connection first: the shut-off VMs are looked at as their states arrive, and
        # whose machine their logs are on depends on its URI.
        self._on_connection({"connection": "recorded", "uri": uri})
        self._publish(sorted(configs.values(), key=lambda c: c.name), states)

    def busy(self, vm: str) -> bool:
        """An action on `vm` is still under way."""
        return any(w.group == f"vm:{vm}" and not w.is_finished for w in self.app.workers)

    def act(self, action: str, vm: str) -> None:
        """`action` on `vm` in a worker of the VM's own group: one action per VM at a time (a
        second press while one runs is refused, not queued)."""
        from workbench.virt.actions import action_label

        uri, name = self.locate(vm)
        session = self.sessions.get(uri, self.session) if uri is not None else None
        if session is None or uri is None:
            return
        if self.busy(vm):
            self.app.notify(f"{vm}: an action is still under way; {action_label(action)} refused")
            return
        lifecycle = session.lifecycles.get(name)
        cancel = self._cancel
        root = self.config.root

        def work() -> None:
            from workbench.virt.actions import run_action

            conn = session.connection()
            try:
                result = run_action(
                    uri, action, name, retries=2, lifecycle=lifecycle, conn=conn, cancel=cancel
                )
            except WorkbenchError as exc:
                if action == "start":  # say why, not only libvirt's last sentence
                    from workbench.ui.start_failure import explain_start_failure

                    remote = remote_of(root, uri)
                    failure = explain_start_failure(root, name, start_error(exc), remote)
                    failure = dataclasses.replace(failure, vm=vm)
                    self.app.post_message(VmFailureExplained(failure))
                    name_cause(exc, failure)
                    log_start_failure(failure)
                raise
            message = f"{action_label(action)} {vm}: done via {result.served_by}"
            self.app.call_from_thread(self.app.notify, message)

        self.app.run_worker(
            work,
            name=f"{action_label(action)} {vm}",
            group=f"vm:{vm}",
            exclusive=True,
            thread=True,
            exit_on_error=False,
        )

    def display_chain(self, vm: str) -> FallbackChain[DisplayPlan] | None:
        from workbench.virt.display import display_chain

        config = next((d for d in self.domains if d.name == vm), None)
        uri, name = self.locate(vm)
        if config is None or self.config.connect is None or uri is None:
            return None
        return display_chain(dataclasses.replace(config, name=name), uri)

    # --- the operator's requests (on the UI thread) -----------------------------------------

    def request_action(self, action: str, vm: str) -> None:
        """Act on `vm` if actions are allowed and make sense for its state; destructive actions
        ask first, in words that say what they do."""
        from workbench.ui.screens.modals import ConfirmScreen
        from workbench.virt.actions import CONFIRMS, DESTRUCTIVE, action_label

        if self.config.connect is None:
            self.app.notify(
                "A recorded machine: there is no live VM to act on.", severity="warning"
            )
            return
        if not self.config.allow_actions:
            self.app.notify(
                "Read-only: start the workbench with --allow-actions to act on VMs.",
                severity="warning",
            )
            return
        if action != "start" and self.state(vm) == "shutoff":
            self.app.notify(f"{vm} is already off: nothing to {action_label(action)}.")
            return
        if action not in DESTRUCTIVE:
            self.act(action, vm)
            return

        def confirmed(yes: bool | None) -> None:
            if yes:
                self.act(action, vm)

        self.app.push_screen(ConfirmScreen(plain(CONFIRMS[action].format(vm=vm))), confirmed)

    def choose_display(self, vm: str) -> None:
        """The fallback chooser for `vm`'s screen: Looking Glass, virt-viewer, the URI."""
        from workbench.ui.screens.modals import FallbackScreen

        if self.config.connect is None:  # a capture or a sosreport: nothing live to show
            self.app.notify(
                f"{vm}: its display is not in this recording (a recorded machine has no live"
                " screen to show; open the live host with --connect)",
                severity="warning",
            )
            return
        chain = self.display_chain(vm)
        if chain is None:
            self.app.notify(f"{vm}: its configuration is not loaded yet", severity="warning")
            return

        def chosen(name: str | None) -> None:
            if name:
                self.display_choice[vm] = name
                plan = chain.run(start_at=name)
                shown = " ".join(plan.value.argv) if plan.value.argv else plan.value.uri
                self.app.notify(f"{vm}: display via {plan.served_by}: {shown}")
                self.app.post_message(DomainsLoaded(self.domains))

        self.app.push_screen(
            FallbackScreen(plain(f"Show {vm}'s screen with…", "b"), chain.availability()), chosen
        )
