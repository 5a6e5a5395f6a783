"""One probe in full: the causes it explained with their evidence, findings with remedies, the
error and its context chain, facts as a tree; retry now or with a visible backoff countdown."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Footer, Header, Static, Tree

from workbench.core.report import ProbeResult
from workbench.ui.causes import causes_block, causes_of
from workbench.ui.messages import ProbeFinished, RetryFinished, RetryProgress
from workbench.ui.plain import assemble, join, plain
from workbench.ui.screens.base import WorkbenchScreen
from workbench.ui.screens.error import error_text
from workbench.ui.widgets.countdown import RetryCountdown
from workbench.ui.widgets.status_bar import ICONS


def fact_value(value: Any) -> str:
    """A fact as an operator reads it: `intel`, `yes`/`no`, `none`, `a, b`; not Python's repr."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if value is None:
        return "none"
    if isinstance(value, list):
        return ", ".join(fact_value(v) for v in value) if value else "none"
    return str(value)


def item_label(item: dict[str, Any], index: int) -> str:
    """A list entry named as the operator knows it: its bdf and name, its id, else its place."""
    named = [str(item[k]) for k in ("bdf", "name") if item.get(k) not in (None, "")]
    if not named:
        named = [str(item[k]) for k in ("id", "code", "path") if item.get(k) not in (None, "")][:1]
    return " ".join(named) or f"#{index + 1}"


def _add(node: Any, key: str, value: Any) -> None:
    if isinstance(value, dict):
        branch = node.add(plain(key, "b"), expand=len(value) <= 8)
        for k, v in value.items():
            _add(branch, str(k), v)
    elif isinstance(value, list) and any(isinstance(v, dict | list) for v in value):
        label = assemble(plain(key, "b"), (f" ({len(value)})", "dim"))
        branch = node.add(label, expand=len(value) <= 4)
        for i, item in enumerate(value):
            if isinstance(item, dict):
                _add(branch, item_label(item, i), item)
            else:
                _add(branch, f"#{i + 1}", item)
    else:
        node.add_leaf(assemble(plain(key), ": ", plain(fact_value(value), "cyan")))


class DetailsScreen(WorkbenchScreen):
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back", id="details.back"),
        Binding("r", "retry(False)", "Retry now", id="probe.retry"),
        Binding("b", "retry(True)", "Retry with backoff", id="probe.backoff"),
        Binding("x", "cancel", "Cancel retry", id="probe.cancel"),
    ]
    FOLLOWS = (ProbeFinished, RetryProgress, RetryFinished)
    DEFAULT_CSS = """
    DetailsScreen #head { padding: 0 1; height: auto; }
    DetailsScreen #findings { padding: 0 1; height: auto; }
    DetailsScreen #causes { padding: 1 1 0 1; height: auto; }
    DetailsScreen Tree { height: auto; max-height: 60%; }
    """

    def __init__(self, probe_id: str) -> None:
        super().__init__()
        self.probe_id = probe_id

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll():
            yield Static(id="head")
            yield RetryCountdown(stable=self.wb.config.stable, id="countdown")
            yield Static(id="findings")
            yield Static(id="causes")
            yield Tree(Text("facts"), id="facts")
        yield Footer()

    def on_mount(self) -> None:
        self.show(self.wb.probes.results.get(self.probe_id))

    def on_screen_resume(self) -> None:
        """Back from a pop-up (help, an error, a question): results that came meanwhile were
        routed to no screen; read them afresh."""
        if self.is_mounted:
            self.show(self.wb.probes.results.get(self.probe_id))

    def show(self, result: ProbeResult | None) -> None:
        head = self.query_one("#head", Static)
        if result is None:
            head.update(assemble(plain(self.probe_id, "b"), "  ", ("running…", "dim")))
            return
        lines = [
            assemble(
                ICONS[result.status],
                " ",
                plain(result.title, "b"),
                plain(f" ({result.id}) — {result.status.upper()}"),
            ),
            plain(result.summary, multiline=True),
        ]
        if result.blocked_by:
            lines.append(plain(f"blocked by {', '.join(result.blocked_by)}", "dim"))
        head.update(join(lines))
        causes = causes_of(result.facts)
        explained = {str(c["code"]) for c in causes}
        parts = []
        for finding in result.findings:
            colour = {"fail": "red", "warn": "yellow", "info": "dim"}[finding.severity]
            parts.append(
                assemble(
                    (f"{finding.severity.upper():<4}", colour),
                    " ",
                    plain(finding.message, multiline=True),
                    plain(f"  [{finding.cause}]" if finding.cause else "", "dim"),
                )
            )
            if finding.cause in explained:
                continue  # its remedy is under the cause, with the evidence, below
            if finding.remedy and finding.severity != "info":
                parts.append(assemble("     → ", plain(finding.remedy, multiline=True)))
        if result.error:
            parts.append(error_text(result.error))
        self.query_one("#findings", Static).update(
            join(parts) if parts else plain("no findings", "dim")
        )
        panel = self.query_one("#causes", Static)
        panel.display = bool(causes)
        heading = plain(f"Causes explained ({len(causes)}), most likely first", "b underline")
        panel.update(join([heading, Text(), causes_block(causes)]) if causes else Text())
        tree = self.query_one("#facts", Tree)
        tree.clear()
        tree.root.expand()
        for key, value in result.facts.items():
            if key == "causes" and causes:
                continue  # shown in full above, evidence and all
            _add(tree.root, key, value)

    def on_probe_finished(self, message: ProbeFinished) -> None:
        if message.result.id == self.probe_id:
            self.show(message.result)

    def on_retry_progress(self, message: RetryProgress) -> None:
        self.query_one(RetryCountdown).show_attempt(message.attempt)

    def on_retry_finished(self, message: RetryFinished) -> None:
        self.query_one(RetryCountdown).finish(message.detail)

    def action_retry(self, backoff: bool) -> None:
        self.wb.probes.retry(self.probe_id, backoff=backoff)

    def action_cancel(self) -> None:
        self.wb.probes.cancel_retry()
