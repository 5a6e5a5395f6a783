"""Text for widgets built so that machine text (cmdlines, hostnames, VM names, log lines, error
messages) is data: rich `Text`, never parsed as markup, terminal control characters shown
escaped. Widgets take `str` as markup, where `[/]` crashes the app and `[@click=app.quit]` runs
an action: every widget here gets Text made by these functions instead."""

from __future__ import annotations

from rich.text import Text

from workbench.core.text import safe_text

Part = str | Text | tuple[str, str]


def plain(value: object, style: str = "", *, multiline: bool = False) -> Text:
    """A machine value as text, on one line unless `multiline` (else a newline in it is shown
    as `\\x0a`). The style is a span, not the Text's base style, which a DataTable cell drops."""
    text = Text()
    text.append(safe_text(str(value), multiline=multiline), style=style or None)
    return text


def assemble(*parts: Part) -> Text:
    """A line (or lines) of parts: a str is text, (str, style) is styled text, Text is kept.
    Nothing is markup; control characters but newline and tab are shown escaped."""
    out = Text()
    for part in parts:
        if isinstance(part, Text):
            out.append_text(part)
        elif isinstance(part, tuple):
            out.append(safe_text(part[0], multiline=True), style=part[1])
        else:
            out.append(safe_text(part, multiline=True))
    return out


def join(parts: list[Text], separator: str = "\n") -> Text:
    """`parts` joined by `separator`."""
    return Text(separator).join(parts)
