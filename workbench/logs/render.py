"""A log record as one line of text for a terminal: time, level, logger, event, the rest."""

from __future__ import annotations

import re
from typing import Any

import orjson

from workbench.logs.records import LogRecord

COLOUR = {
    "trace": "2",
    "debug": "2",
    "info": "0",
    "notice": "36",
    "warning": "33",
    "error": "31",
    "critical": "1;31",
}
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
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


def _safe(text: str) -> str:
    """No terminal control sequences from a log line (a binary file, an ANSI-coloured msg)."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group(0)):02x}", text)


def _value(value: Any) -> str:
    if isinstance(value, str):
        return value
    return orjson.dumps(value).decode()


def render(record: LogRecord, *, colour: bool = False, width: int = 2000) -> str:
    if record.malformed:  # shown as it is, marked, never parsed into something else
        text = _safe(f"?? {record.display(width)}")
        return f"\x1b[2m{text}\x1b[0m" if colour else text
    level = (record.level or str(record.raw_level or "-")).upper()[:8]
    head = f"{record.timestamp or '-'} {level:<8}"
    if colour and record.level:
        head = f"\x1b[{COLOUR[record.level]}m{head}\x1b[0m"
    rest = " ".join(f"{k}={_value(v)}" for k, v in record.fields.items() if k not in SHOWN)
    body = f"{record.logger + ': ' if record.logger else ''}{record.message or ''}"
    line = f"{body}  {rest}" if rest else body
    if len(line) > width:
        line = line[: width - 1] + "…"
    return f"{head} {_safe(line)}"
