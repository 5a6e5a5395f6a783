"""Command palette entries, "category: action", each one a method of the app."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, cast

from textual.command import DiscoveryHit, Hit, Hits, Provider

if TYPE_CHECKING:
    from workbench.ui.app import WorkbenchApp

COMMANDS = [
    ("probe: rerun all", "action_rerun", "Run every probe again"),
    ("view: overview", "action_overview", "Probe verdicts"),
    ("view: VMs", "action_vms", "Domains and their transitions"),
    ("view: logs", "action_logs", "The live JSON log"),
    ("vm: start", "action_vm_start", "Start the selected VM (with --allow-actions)"),
    ("vm: shutdown", "action_vm_shutdown", "Shut the selected VM down"),
    ("vm: display fallback", "action_vm_display", "Choose how to show the VM's screen"),
    ("logs: errors only", "action_logs_errors", "Show errors and worse"),
    ("logs: follow", "action_logs_follow", "Follow the log on or off"),
    ("help: keys", "action_help", "Every key binding"),
]


class WorkbenchCommands(Provider):
    @property
    def wb(self) -> WorkbenchApp:
        return cast("WorkbenchApp", self.app)

    async def discover(self) -> Hits:
        for name, method, help_text in COMMANDS:
            yield DiscoveryHit(name, partial(getattr(self.wb, method)), help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, method, help_text in COMMANDS:
            score = matcher.match(name)
            if score > 0:
                yield Hit(
                    score,
                    matcher.highlight(name),
                    partial(getattr(self.wb, method)),
                    help=help_text,
                )
