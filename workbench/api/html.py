"""Small HTML helpers for notebook reprs: escaped cells, status colours, one table style."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from html import escape

from workbench.core.text import safe_text

STATUS_COLOUR = {
    "pass": "#1a7f37",
    "warn": "#9a6700",
    "fail": "#cf222e",
    "error": "#8250df",
    "skip": "#6e7781",
}
STATUS_ICON = {"pass": "✔", "warn": "!", "fail": "✘", "error": "⚠", "skip": "–"}
LEVEL_COLOUR = {"warning": "#9a6700", "error": "#cf222e", "critical": "#cf222e", "debug": "#6e7781"}


def badge(status: str) -> str:
    colour = STATUS_COLOUR.get(status, "#6e7781")
    icon = STATUS_ICON.get(status, "?")
    return (
        f'<span style="color:{colour};font-weight:bold" class="wb-{escape(status)}">'
        f"{icon} {escape(status)}</span>"
    )


def table(headers: Sequence[str], rows: Iterable[Sequence[str]], *, cls: str) -> str:
    """A table; cells are already HTML (escape text with `text()`)."""
    head = "".join(f'<th style="text-align:left">{escape(h)}</th>' for h in headers)
    body = "".join(
        "<tr>"
        + "".join(f'<td style="text-align:left;vertical-align:top">{c}</td>' for c in row)
        + "</tr>"
        for row in rows
    )
    return f'<table class="{cls}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def text(value: object, *, multiline: bool = False) -> str:
    """`value` as HTML text: escaped for HTML, and every control character (ESC, BEL, CR, LF
    unless `multiline`) shown as an escape (`\\x1b`), as the CLI and the TUI show it."""
    return escape(safe_text("" if value is None else str(value), multiline=multiline))
