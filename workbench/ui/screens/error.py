"""Where a failed worker's error lands: a toast when retrying can help, else a screen that
says what broke (code, the module::operation frames it crossed, its cause, the remedy)."""

from __future__ import annotations

import re
from typing import Any

from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Label, Static

from workbench.core.errors import WorkbenchError
from workbench.core.text import mask_uris
from workbench.ui.plain import assemble, join, plain
from workbench.ui.screens.modals import MODAL_CSS

BUG_REMEDY = "This is a bug in the workbench: report it with the log file attached."


def as_error(exc: BaseException) -> dict[str, Any]:
    """Any exception as a WorkbenchError's `to_dict()` (one that is not ours is a bug)."""
    if isinstance(exc, WorkbenchError):
        return exc.to_dict()
    return {
        "error": type(exc).__name__,
        "message": mask_uris(str(exc)),  # an exception's text may quote a URI with a password
        "context": [],
        "cause": None,
        "recoverable": False,
        "remedy": BUG_REMEDY,
    }


def error_text(error: dict[str, Any]) -> Text:
    """An error's code and message, its context chain, its causes and its remedy, as text."""
    lines = [
        assemble(
            plain(error.get("error"), "magenta b"), " ", plain(error.get("message"), multiline=True)
        )
    ]
    for frame in error.get("context") or []:
        lines.append(assemble("  ", ("in", "dim"), " ", plain(frame)))
    cause = error.get("cause")
    while isinstance(cause, dict):
        label = cause.get("error") or cause.get("type")
        lines.append(
            assemble(
                "  ",
                ("caused by", "dim"),
                " ",
                plain(label),
                ": ",
                plain(cause.get("message"), multiline=True),
            )
        )
        cause = cause.get("cause")
    if error.get("remedy"):
        lines.append(assemble("  → ", plain(error["remedy"], multiline=True)))
    return join(lines)


def error_sheet(error: dict[str, Any]) -> Text:
    """The error screen's body: code and message, then labelled rows: the frames it crossed
    (innermost first), each cause, the remedy."""
    label = 8

    def row(name: str, value: Text) -> Text:
        return assemble((f"{name:<{label}}", "dim"), value)

    lines = [
        assemble(
            plain(error.get("error"), "magenta b"),
            "  ",
            plain(error.get("message"), multiline=True),
        ),
        Text(),
    ]
    frames = error.get("context") or []
    lines += [row("where" if i == 0 else "", plain(f)) for i, f in enumerate(frames)] or [
        row("where", plain("no frames recorded", "dim"))
    ]
    cause = error.get("cause")
    while isinstance(cause, dict):
        kind = cause.get("error") or cause.get("type")
        lines.append(
            row("cause", assemble(plain(kind), ": ", plain(cause.get("message"), multiline=True)))
        )
        cause = cause.get("cause")
    if error.get("remedy"):
        lines.append(row("remedy", plain(error["remedy"], multiline=True)))
    return join(lines)


class ErrorScreen(ModalScreen[None]):
    """An error the operator must acknowledge (enter or escape)."""

    BINDINGS = [Binding("escape,enter", "dismiss_error", "Close")]
    DEFAULT_CSS = MODAL_CSS.format(name="ErrorScreen").replace("width: 70", "width: 90") + (
        "ErrorScreen VerticalScroll { height: auto; max-height: 20; }\n"
        "ErrorScreen #keys { margin-top: 1; }"
    )

    def __init__(self, what: str, error: dict[str, Any]) -> None:
        super().__init__()
        self.what = what
        self.error = error

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(plain(f"{self.what} failed", "b red"))
            with VerticalScroll():
                yield Static(error_sheet(self.error))
            yield Label("[dim]enter or escape: close[/]", id="keys")

    def action_dismiss_error(self) -> None:
        self.dismiss(None)


def ui_frame(what: str, group: str = "") -> str:
    """The UI's own frame for a worker: `ui::` and its name in snake_case (else its group)."""
    for name in (what, group):
        words = re.findall(r"[a-z0-9]+", name.lower())
        if words:
            return f"ui::{'_'.join(words)}"
    return "ui::worker"


def show_failure(app: App[Any], what: str, exc: BaseException, group: str = "") -> None:
    """A recoverable WorkbenchError is a toast (message and remedy: an error for a VM action
    the operator asked for, else a warning); anything else an ErrorScreen. The error goes to
    the log either way, with its chain, whose outermost frame says it came through the UI."""
    from workbench.core.logging import get_logger

    module, operation = ui_frame(what, group).split("::")
    if isinstance(exc, WorkbenchError):
        exc.add_context(module, operation)
    error = as_error(exc)
    if not isinstance(exc, WorkbenchError):
        error["context"] = [f"{module}::{operation}"]
    get_logger("ui").error("ui.worker_failed", worker=what, error=exc)
    if isinstance(exc, WorkbenchError) and exc.recoverable:
        remedy = f"\n→ {exc.remedy}" if exc.remedy else ""
        app.notify(
            f"{exc.message}{remedy}",
            title=f"{what} failed",
            severity="error" if group.startswith("vm:") else "warning",
            timeout=10,
        )
        return
    app.push_screen(ErrorScreen(what, error))
