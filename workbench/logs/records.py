"""One log line as a record: common key names recognised, levels normalised, garbage kept raw."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson

from workbench.core.text import parse_uint

# Canonical levels, lowest first; `at_least` compares by this rank.
LEVELS = ("trace", "debug", "info", "notice", "warning", "error", "critical")
RANK = {name: i for i, name in enumerate(LEVELS)}
_ALIASES = {
    "trace": "trace",
    "verbose": "trace",
    "debug": "debug",
    "dbg": "debug",
    "info": "info",
    "information": "info",
    "informational": "info",
    "log": "info",
    "notice": "notice",
    "warn": "warning",
    "warning": "warning",
    "err": "error",
    "error": "error",
    "crit": "critical",
    "critical": "critical",
    "fatal": "critical",
    "panic": "critical",
    "alert": "critical",
    "emerg": "critical",
    "emergency": "critical",
    "severe": "critical",
}
_SYSLOG = ("critical", "critical", "critical", "error", "warning", "notice", "info", "debug")
_PINO = {10: "trace", 20: "debug", 30: "info", 40: "warning", 50: "error", 60: "critical"}

MESSAGE_KEYS = ("event", "msg", "message", "MESSAGE")
LEVEL_KEYS = ("level", "lvl", "severity", "log.level", "levelname", "error_severity", "PRIORITY")
TIME_KEYS = ("timestamp", "time", "ts", "@timestamp", "__REALTIME_TIMESTAMP")
LOGGER_KEYS = ("logger", "name", "logger_name", "SYSLOG_IDENTIFIER", "_COMM")
NESTED_KEYS = ("@fields", "fields", "log")  # objects some formats put the fields in
DISPLAY_CHARS = 2000
# A line longer than LINE_LIMIT is absurd (a core dump, a base64 disk image): it is never held
# whole, only its first LINE_KEEP bytes and a marker with its length (see cut_line).
LINE_LIMIT = 16 << 20
LINE_KEEP = 1024


def cut_line(head: bytes, length: int) -> bytes:
    """An absurdly long line as its head and a marker saying how long it was. It parses as a
    malformed record: shown raw (marked), never matched by a level."""
    return head[:LINE_KEEP] + f" ...[cut: line of {length} bytes]".encode()


def normalise_level(value: Any, key: str | None = None) -> str | None:
    """A level name from any common spelling: `ERROR`, `warn`, `DEBUG5`, syslog PRIORITY, pino
    numbers. None when the value says nothing known."""
    if isinstance(value, bool) or value is None:
        return None
    if key == "PRIORITY":
        number = value if type(value) is int else parse_uint(str(value), limit=len(_SYSLOG))
        return _SYSLOG[number] if number is not None and 0 <= number < len(_SYSLOG) else None
    if isinstance(value, int | float):
        return _PINO.get(int(value))
    if not isinstance(value, str):
        return None
    text = value.strip().lower()
    if text in _ALIASES:
        return _ALIASES[text]
    stripped = text.rstrip("0123456789")  # DEBUG5, debug2
    return _ALIASES.get(stripped)


@dataclass
class LogRecord:
    """A line of a log file. `fields` is the parsed object ({} for a malformed line)."""

    number: int  # 0-based line number in the file
    raw: str
    fields: dict[str, Any] = field(default_factory=dict)
    malformed: bool = False
    level: str | None = None
    raw_level: Any = None
    message: str | None = None
    timestamp: str | None = None
    logger: str | None = None

    @property
    def vm(self) -> Any:
        return self.fields.get("vm")

    @property
    def probe(self) -> Any:
        return self.fields.get("probe")

    @property
    def attempt(self) -> Any:
        return self.fields.get("attempt")

    @property
    def error(self) -> Any:
        return self.fields.get("error")

    def display(self, width: int = DISPLAY_CHARS, cut: str = "…") -> str:
        """The raw line cut to `width` characters, ending in `cut` (the record keeps it whole)."""
        return self.raw if len(self.raw) <= width else self.raw[: width - len(cut)] + cut

    def at_least(self, level: str) -> bool:
        return self.level is not None and RANK[self.level] >= RANK[level]


def _first(obj: dict[str, Any], keys: tuple[str, ...]) -> tuple[str | None, Any]:
    for key in keys:
        if obj.get(key) is not None:
            return key, obj[key]
    for nest in NESTED_KEYS:
        inner = obj.get(nest)
        if isinstance(inner, dict):
            for key in keys:
                if inner.get(key) is not None:
                    return key, inner[key]
    return None, None


def byte_list_text(values: list[Any]) -> str:
    """journald's non-UTF-8 MESSAGE (a list of byte values) as text: invalid bytes replaced.
    A list that is not all bytes is shown as JSON."""
    if all(type(v) is int and 0 <= v < 256 for v in values):
        return bytes(values).decode("utf-8", "replace")
    return orjson.dumps(values).decode()


def parse_line(number: int, data: bytes) -> LogRecord:
    """Parse one line (without its newline). Never raises: garbage becomes a malformed record."""
    raw = data.decode("utf-8", "replace").rstrip("\r")
    try:
        obj = orjson.loads(data)
    except orjson.JSONDecodeError:
        return LogRecord(number, raw, malformed=True)
    if not isinstance(obj, dict):
        return LogRecord(number, raw, malformed=True)
    level_key, raw_level = _first(obj, LEVEL_KEYS)
    _, message = _first(obj, MESSAGE_KEYS)
    if isinstance(message, list):  # journald's MESSAGE when it is not UTF-8: its bytes
        message = byte_list_text(message)
    _, timestamp = _first(obj, TIME_KEYS)
    _, logger = _first(obj, LOGGER_KEYS)
    return LogRecord(
        number,
        raw,
        obj,
        level=normalise_level(raw_level, level_key),
        raw_level=raw_level,
        message=None if message is None else str(message),
        timestamp=None if timestamp is None else str(timestamp),
        logger=None if logger is None or isinstance(logger, dict) else str(logger),
    )
