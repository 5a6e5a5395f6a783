"""A log record as one line of text for a terminal: time, level, logger, event, the rest."""

from __future__ import annotations

from typing import Any

import orjson

from workbench.core.text import safe_text
from workbench.logs.records import LogRecord
from workbench.logs.times import shown_time

COLOUR = {
    "trace": "2",
    "debug": "2",
    "info": "0",
    "notice": "36",
    "warning": "33",
    "error": "31",
    "critical": "1;31",
}
SHOWN = (
    "timestamp",
    "time",
    "ts",
    "@timestamp",
    "level",
    "lvl",
    "severity",
    "log.level",
    "event",
    "msg",
    "message",
    "logger",
    "name",
)
JOURNAL_TIME = "__REALTIME_TIMESTAMP"


def _shown_keys(record: LogRecord) -> list[str]:
    """The keys shown after the message. A journald record's own fields (upper case or
    `_`-prefixed: PRIORITY, _PID, __CURSOR, ...) are its metadata, not its words: hidden."""
    if JOURNAL_TIME in record.fields:
        return [k for k in record.fields if not (k.startswith("_") or k.isupper())]
    return [k for k in record.fields if k not in SHOWN]


def _value(value: Any) -> str:
    if isinstance(value, str):
        return value
    return orjson.dumps(value).decode()


def render(
    record: LogRecord, *, colour: bool = False, width: int = 2000, ascii_only: bool = False
) -> str:
    """One line for a terminal. Every field a log line supplies (time, level, logger, event,
    keys, values) passes through `safe_text`: no escape sequence of a log reaches the terminal.
    `ascii_only` cuts long lines with `...` rather than `…` (for a non-UTF-8 terminal)."""
    cut = "..." if ascii_only else "…"
    if record.malformed:  # shown as it is, marked, never parsed into something else
        text = safe_text(f"?? {record.display(width, cut)}")
        return f"\x1b[2m{text}\x1b[0m" if colour else text
    if not (record.fields or record.timestamp or record.level):  # a text line, a continuation
        text = record.display(width, cut)
        return safe_text(text)
    level = safe_text((record.level or str(record.raw_level or "-")).upper()[:8])
    when = shown_time(record.timestamp) if record.timestamp else "-"
    head = f"{safe_text(when)} {level:<8}"
    if colour and record.level:
        head = f"\x1b[{COLOUR[record.level]}m{head}\x1b[0m"
    rest = " ".join(f"{k}={_value(record.fields[k])}" for k in _shown_keys(record))
    body = f"{record.logger + ': ' if record.logger else ''}{record.message or ''}"
    line = f"{body}  {rest}" if rest else body
    if len(line) > width:
        line = line[: width - len(cut)] + cut
    return f"{head} {safe_text(line)}"


def render_line(
    data: bytes,
    *,
    text: bool = False,
    colour: bool = False,
    width: int = 2000,
    ascii_only: bool = False,
    year: int | None = None,
    boot_time: float | None = None,
) -> str:
    """A raw line of a source for a terminal. A JSON-lines source's line is parsed (garbage
    shown raw and marked `??`); a text source's (`text`: QEMU, libvirt, syslog, dmesg) is read
    by its layout: ISO time, level, message; a continuation line as it is."""
    from workbench.logs.records import parse_line
    from workbench.logs.textlines import any_record

    if not text:
        record = parse_line(0, data)
    else:
        raw = data.decode("utf-8", "replace")
        record = any_record(0, raw, year=year, boot_time=boot_time)
    return render(record, colour=colour, width=width, ascii_only=ascii_only)
