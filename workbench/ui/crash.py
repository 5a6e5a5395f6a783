"""What a crash of the workbench prints. Textual's own report shows every frame's local
variables: they hold what the user typed (a `--connect` URI with its password) and serve passes
the report on to its log. Ours shows the frames without their locals, and the error text with
URI passwords masked and terminal control characters escaped."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import rich
from rich.console import RenderableType
from rich.segment import Segments
from rich.text import Text
from rich.traceback import Stack, Traceback

from workbench.core.text import mask_uris, safe_text

if TYPE_CHECKING:
    from textual.app import App


def report_crash(app: App[Any], error: BaseException | None) -> None:
    """What Textual's _fatal_error does, with our report: ring, print it on exit, close."""
    app.bell()
    report = crash_report(error)
    app._exit_renderables.append(Segments(app.console.render(report, app.console.options)))
    app._close_messages_no_wait()


def crash_report(error: BaseException | None) -> RenderableType:
    """The traceback of `error` (the exception being handled), fit to be printed anywhere."""
    if error is None:
        return Text("workbench: crashed (no exception to report)")
    trace = Traceback.extract(type(error), error, error.__traceback__, show_locals=False)
    for stack in trace.stacks:
        _clean(stack)
    return Traceback(trace, show_locals=False, width=None, suppress=[rich])


def _clean(stack: Stack) -> None:
    stack.exc_value = _shown(stack.exc_value)
    stack.notes = [_shown(note) for note in stack.notes]
    for frame in stack.frames:
        frame.locals = None  # extracted without them; never shown, whatever rich's defaults
    if stack.syntax_error is not None:
        stack.syntax_error.line = _shown(stack.syntax_error.line)
        stack.syntax_error.msg = _shown(stack.syntax_error.msg)
    for member in stack.exceptions:  # an exception group's members, each its own trace
        for inner in member.stacks:
            _clean(inner)


def _shown(text: str) -> str:
    return safe_text(mask_uris(text), multiline=True)
