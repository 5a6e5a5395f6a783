"""The UI's side of the hypervisor: a VirtSession whose events become messages, domain configs
loaded on threads, actions and display choices."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from workbench.core.errors import WorkbenchError
from workbench.core.lifecycle import Transition
from workbench.core.recovery import FallbackChain
from workbench.ui.config import UiConfig
from workbench.ui.messages import ConnectionChanged, DomainsLoaded, VmTransition
from workbench.ui.plain import plain

if TYPE_CHECKING:
    from workbench.ui.app import WorkbenchApp
    from workbench.virt.display import DisplayPlan
    from workbench.virt.domains import DomainConfig
    from workbench.virt.session import VirtSession


class VirtBridge:
    def __init__(self, app: WorkbenchApp, config: UiConfig) -> None:
        self.app = app
        self.config = config
        self.session: VirtSession | None = None
        self.connection: dict[str, Any] | None = None
        self.domains: list[dict[str, Any]] = []
        self._configs: dict[str, Any] = {}
        self._recorded_states: dict[str, str] = {}
        self.display_choice: dict[str, str] = {}  # VM -> the display the operator chose

    def start(self) -> None:
        if self.config.connect is None:
            # A capture's hypervisor, as recorded (read on a thread like every file).
            threading.Thread(target=self._load_recorded, name="load-recorded", daemon=True).start()
            return
        from workbench.virt.session import VirtSession

        # Actions need a read-write connection: only when the operator allowed them.
        session = VirtSession(self.config.connect, readonly=not self.config.allow_actions)
        session.connection_listeners.append(self._on_connection)
        session.lifecycles.listeners.append(self._on_transition)
        self.session = session
        session.start()

    def stop(self) -> None:
        if self.session is not None:
            self.session.stop(timeout_s=2)

    # Called on the session's threads: only post messages from here.
    def _on_connection(self, record: dict[str, Any]) -> None:
        self.connection = record
        self.app.post_message(ConnectionChanged(record))

    def _on_transition(self, transition: Transition) -> None:
        self.app.post_message(VmTransition(transition))

    def state(self, vm: str) -> str:
        if self.session is None:
            return self._recorded_states.get(vm, "unknown")
        return self.session.lifecycles.get(vm).state

    def history(self, vm: str) -> list[Transition]:
        return [] if self.session is None else list(self.session.lifecycles.get(vm).history)

    def load_domains(self) -> None:
        threading.Thread(target=self._load, name="load-domains", daemon=True).start()

    def _load(self) -> None:
        session = self.session
        if session is None:
            return
        try:
            configs = session.domain_configs()
        except WorkbenchError as exc:
            self.app.call_from_thread(self.app.notify, exc.message, severity="warning")
            return
        self._publish(configs)

    def _publish(self, configs: list[DomainConfig]) -> None:
        self._configs = {c.name: c for c in configs}
        self.app.post_message(DomainsLoaded([c.to_dict() for c in configs]))

    def _load_recorded(self) -> None:
        from workbench.core.host import Host
        from workbench.virt.gateway import open_hypervisor

        try:
            hv = open_hypervisor(Host(self.config.root), None)
            listed = [] if hv is None else hv.domains()
        except WorkbenchError:
            return  # no recording, or one of an unreachable hypervisor: no VMs to show
        if hv is None:
            return
        self._recorded_states = {d.name: d.state for d in listed}
        configs = {d.config.name: d.config for d in listed if d.config is not None}
        self._publish(sorted(configs.values(), key=lambda c: c.name))
        self._on_connection({"connection": "recorded", "uri": hv.uri or None})

    def act(self, action: str, vm: str) -> None:
        threading.Thread(target=self._act, args=(action, vm), daemon=True).start()

    def _act(self, action: str, vm: str) -> None:
        from workbench.virt.actions import action_label, run_action

        session = self.session
        if session is None or self.config.connect is None:
            return
        try:
            result = run_action(
                self.config.connect,
                action,
                vm,
                retries=2,
                lifecycle=session.lifecycles.get(vm),
                conn=session.connection(),
            )
        except WorkbenchError as exc:
            detail = f" → {exc.remedy}" if exc.remedy else ""
            self.app.call_from_thread(
                self.app.notify,
                f"{action_label(action)} {vm} failed: {exc.message}{detail}",
                severity="error",
                timeout=10,
            )
            return
        self.app.call_from_thread(
            self.app.notify, f"{action_label(action)} {vm}: done via {result.served_by}"
        )

    def display_chain(self, vm: str) -> FallbackChain[DisplayPlan] | None:
        from workbench.virt.display import display_chain

        config = self._configs.get(vm)
        if config is None or self.config.connect is None:
            return None
        return display_chain(config, self.config.connect)

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
