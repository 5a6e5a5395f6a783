"""The line under the title: which machine, the hypervisor link, and the tally of verdicts."""

from __future__ import annotations

from typing import Any

from textual.widgets import Static

ICONS = {
    "pass": "[green]✔[/]",
    "warn": "[yellow]![/]",
    "fail": "[red]✘[/]",
    "skip": "[dim]-[/]",
    "error": "[magenta]‼[/]",
    "running": "[cyan]…[/]",
}


def connection_text(record: dict[str, Any] | None, uri: str | None) -> str:
    if uri is None:
        if record is not None and record.get("connection") == "recorded":
            return "libvirt: [cyan]recorded[/]"
        return "libvirt: [dim]none[/]"
    if record is None:
        return "libvirt: [cyan]connecting[/]"
    state = record.get("connection")
    if state == "connected":
        return "libvirt: [green]connected[/]"
    if state == "reconnecting" and record.get("retry_in_s") is not None:
        return (
            f"libvirt: [yellow]reconnecting in {record['retry_in_s']:.0f}s[/] "
            f"(attempt {record.get('attempt')})"
        )
    return f"libvirt: [red]{state}[/]"


class StatusBar(Static):
    """Host, connection state and counts; the app sets its text, nothing else."""

    DEFAULT_CSS = """
    StatusBar { height: 1; padding: 0 1; background: $boost; }
    """

    def show_text(self, host: str, connection: str, text: str) -> None:
        self.update(f"[b]{host}[/]  ·  {connection}  ·  {text}")

    def show(self, host: str, connection: str, counts: dict[str, int], running: int) -> None:
        tally = "  ".join(f"{ICONS[s]} {n}" for s, n in counts.items() if n)
        if running:
            tally += f"  {ICONS['running']} {running}"
        self.update(f"[b]{host}[/]  ·  {connection}  ·  {tally}")
