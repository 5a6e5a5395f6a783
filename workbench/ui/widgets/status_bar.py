"""The line under the title: which machine, the hypervisor link, and the tally of verdicts."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual.widgets import Static

from workbench.ui.plain import assemble, plain

if TYPE_CHECKING:
    from workbench.ui.app import WorkbenchApp

ICONS = {
    "pass": plain("✔", "green"),
    "warn": plain("!", "yellow"),
    "fail": plain("✘", "red"),
    "skip": plain("-", "dim"),
    "error": plain("‼", "magenta"),
    "running": plain("…", "cyan"),
}


def host_label(root: str) -> str:
    """The machine's hostname as it says itself, else its root."""
    from workbench.core.errors import WorkbenchError
    from workbench.core.host import Host

    try:
        name, _ = Host(root).try_read("proc/sys/kernel/hostname")
    except WorkbenchError:
        name = None
    return (name or "").strip() or root


def connection_text(app: WorkbenchApp) -> Text:
    """The hypervisor link as the bar says it: none, recorded, connecting, connected, ...;
    with several hypervisors the first one not connected, and how many are."""
    words = connection_words(app.virt.connection, app.config.connect)
    if app.virt.several:
        up, total = app.virt.connected_count()
        words = assemble(words, plain(f" ({up} of {total} hypervisors connected)"))
    return words


def connection_words(record: dict[str, Any] | None, uri: str | None) -> Text:
    if uri is None:
        if record is not None and record.get("connection") == "recorded":
            return assemble("libvirt: ", ("recorded", "cyan"))
        return assemble("libvirt: ", ("none", "dim"))
    if record is None:
        return assemble("libvirt: ", ("connecting", "cyan"))
    state = record.get("connection")
    if state == "connected":
        return assemble("libvirt: ", ("connected", "green"))
    if state == "reconnecting" and record.get("retry_in_s") is not None:
        return assemble(
            "libvirt: ",
            (f"reconnecting in {record['retry_in_s']:.0f}s", "yellow"),
            f" (attempt {record.get('attempt')})",
        )
    return assemble("libvirt: ", plain(state, "red"))


class StatusBar(Static):
    """Host, connection state and counts; the app sets its text, nothing else."""

    DEFAULT_CSS = """
    StatusBar { height: 1; padding: 0 1; background: $boost; }
    """

    def show_text(self, host: str, connection: Text, text: str) -> None:
        self.update(assemble(plain(host, "b"), "  ·  ", connection, "  ·  ", plain(text)))

    def show(self, host: str, connection: Text, counts: dict[str, int], running: int) -> None:
        tally = Text("  ").join(assemble(ICONS[s], f" {n}") for s, n in counts.items() if n)
        if running:
            tally = assemble(tally, "  ", ICONS["running"], f" {running}")
        self.update(assemble(plain(host, "b"), "  ·  ", connection, "  ·  ", tally))
