"""Command palette entries, "category: action", each a call on the app."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, cast

from textual.command import DiscoveryHit, Hit, Hits, Provider

if TYPE_CHECKING:
    from workbench.ui.app import WorkbenchApp

Command = Callable[["WorkbenchApp"], object]

COMMANDS: list[tuple[str, Command, str]] = [
    ("probe: rerun all", lambda app: app.action_rerun(), "Run every probe again"),
    ("view: overview", lambda app: app.switch_mode("overview"), "Probe verdicts"),
    ("view: VMs", lambda app: app.switch_mode("vms"), "Domains and their transitions"),
    ("view: logs", lambda app: app.switch_mode("logs"), "The live JSON log"),
    (
        "vm: start",
        lambda app: app.run_on("vms", "request('start')"),
        "Start the selected VM (with --allow-actions)",
    ),
    (
        "vm: shutdown",
        lambda app: app.run_on("vms", "request('shutdown')"),
        "Ask the selected VM's guest to power off",
    ),
    (
        "vm: force off",
        lambda app: app.run_on("vms", "request('force-off')"),
        "Cut the selected VM's power (asks first)",
    ),
    (
        "vm: display fallback",
        lambda app: app.run_on("vms", "fallback"),
        "Choose how to show the VM's screen",
    ),
    (
        "logs: errors only",
        lambda app: app.run_on("logs", "level('error')"),
        "Show errors and worse",
    ),
    ("logs: follow", lambda app: app.run_on("logs", "toggle_follow"), "Follow the log on or off"),
    ("help: keys", lambda app: app.action_help(), "Every key binding"),
]


class WorkbenchCommands(Provider):
    @property
    def wb(self) -> WorkbenchApp:
        return cast("WorkbenchApp", self.app)

    async def discover(self) -> Hits:
        for name, command, help_text in COMMANDS:
            yield DiscoveryHit(name, partial(command, self.wb), help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, command, help_text in COMMANDS:
            score = matcher.match(name)
            if score > 0:
                yield Hit(
                    score,
                    matcher.highlight(name),
                    partial(command, self.wb),
                    help=help_text,
                )
