"""One probe in full: facts as a tree, findings with remedies, the error and its context chain;
retry now or with a visible backoff countdown."""

from __future__ import annotations

from typing import Any

from rich.markup import escape
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Footer, Header, Static, Tree

from workbench.core.report import ProbeResult
from workbench.ui.messages import ProbeFinished, RetryFinished, RetryProgress
from workbench.ui.screens.base import WorkbenchScreen
from workbench.ui.widgets.countdown import RetryCountdown
from workbench.ui.widgets.status_bar import ICONS


def _add(node: Any, key: str, value: Any) -> None:
    if isinstance(value, dict):
        branch = node.add(f"[b]{escape(key)}[/]", expand=len(value) <= 8)
        for k, v in value.items():
            _add(branch, str(k), v)
    elif isinstance(value, list):
        branch = node.add(f"[b]{escape(key)}[/] [dim]({len(value)})[/]", expand=len(value) <= 4)
        for i, item in enumerate(value):
            _add(branch, str(i), item)
    else:
        node.add_leaf(f"{escape(key)}: [cyan]{escape(repr(value))}[/]")


def error_text(error: dict[str, Any]) -> str:
    lines = [f"[magenta b]{escape(str(error.get('error')))}[/] {escape(str(error.get('message')))}"]
    for frame in error.get("context") or []:
        lines.append(f"  [dim]in[/] {escape(str(frame))}")
    cause = error.get("cause")
    while isinstance(cause, dict):
        label = cause.get("error") or cause.get("type")
        lines.append(
            f"  [dim]caused by[/] {escape(str(label))}: {escape(str(cause.get('message')))}"
        )
        cause = cause.get("cause")
    if error.get("remedy"):
        lines.append(f"  → {escape(str(error['remedy']))}")
    return "\n".join(lines)


class DetailsScreen(WorkbenchScreen):
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back", id="details.back"),
        Binding("r", "retry(False)", "Retry now", id="probe.retry"),
        Binding("b", "retry(True)", "Retry with backoff", id="probe.backoff"),
        Binding("x", "cancel", "Cancel retry", id="probe.cancel"),
    ]
    DEFAULT_CSS = """
    DetailsScreen #head { padding: 0 1; height: auto; }
    DetailsScreen #findings { padding: 0 1; height: auto; }
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
            yield Tree("facts", id="facts")
        yield Footer()

    def on_mount(self) -> None:
        self.show(self.wb.results.get(self.probe_id))

    def show(self, result: ProbeResult | None) -> None:
        head = self.query_one("#head", Static)
        if result is None:
            head.update(f"[b]{self.probe_id}[/]  [dim]running…[/]")
            return
        blocked = (
            f"\n[dim]blocked by {', '.join(result.blocked_by)}[/]" if result.blocked_by else ""
        )
        head.update(
            f"{ICONS[result.status]} [b]{result.title}[/] ({result.id}) — "
            f"{result.status.upper()}\n{escape(result.summary)}{blocked}"
        )
        parts = []
        for finding in result.findings:
            colour = {"fail": "red", "warn": "yellow", "info": "dim"}[finding.severity]
            parts.append(f"[{colour}]{finding.severity.upper():<4}[/] {escape(finding.message)}")
            if finding.remedy and finding.severity != "info":
                parts.append(f"     → {escape(finding.remedy)}")
        if result.error:
            parts.append(error_text(result.error))
        self.query_one("#findings", Static).update("\n".join(parts) or "[dim]no findings[/]")
        tree = self.query_one("#facts", Tree)
        tree.clear()
        tree.root.expand()
        for key, value in result.facts.items():
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
