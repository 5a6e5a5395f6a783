"""A text log line (QEMU, libvirt, syslog, dmesg, journalctl short-iso) as a LogRecord, so the
filters and the renderer treat it like a JSON record: its time from its prefix, its level where
the layout says it (a kmsg `<3>` or `3,...;` priority, QEMU's and libvirt's `warning:` /
`error:` words, QEMU's error_report lines), the rest as its message. Bounded: only the line's
head is looked at."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from workbench.logs.linetimes import PREFIX, split_time
from workbench.logs.records import _SYSLOG, LogRecord, parse_line

HEAD = 160  # where a level word is looked for
_PRIO = re.compile(r"<([0-7])>|([0-9]{1,4}),[0-9]{1,20},[0-9]{1,20},[^;]{0,16};")
# `qemu-system-x86_64: warning: ...`, libvirt's `1234: error : qemuProcess...`, `Error: ...`
_WORD = re.compile(
    r"(?:^|[:\]] ?)\s?(warning|error|critical|fatal|debug|info)\s?:", re.IGNORECASE | re.ASCII
)
_WORDS = {"warning": "warning", "error": "error", "critical": "critical", "fatal": "critical"}
_WORDS |= {"debug": "debug", "info": "info"}
# QEMU's error_report() writes `qemu-system-x86_64: -device vfio-pci,...: msg` (the option
# it failed on) or `qemu-system-x86_64: vfio ...: msg` with no level word (warn_report() and
# info_report() add `warning:` / `info:`): such a line is an error.
QEMU_ERROR = re.compile(
    r"\s*(?:qemu-system-[A-Za-z0-9_]+|qemu-kvm): (?:-[a-z][a-z-]*[ ,=]|vfio)", re.ASCII
)


def line_level(raw: str, after: int = 0) -> str | None:
    """The level a text line's layout states (after its time prefix at `after`), or None."""
    prio = _PRIO.match(raw[:PREFIX])
    if prio:
        number = int(prio.group(1) or prio.group(2))
        return _SYSLOG[number & 7]
    word = _WORD.search(raw, after, min(len(raw), after + HEAD))
    if word:
        return _WORDS[word.group(1).lower()]
    return "error" if QEMU_ERROR.match(raw, after) else None


def iso(when: float) -> str | None:
    """Epoch seconds as ISO 8601 UTC with microseconds (`...Z`), None off the calendar."""
    try:
        stamp = datetime.fromtimestamp(when, UTC)
    except (OverflowError, OSError, ValueError):
        return None
    return stamp.isoformat(timespec="microseconds").replace("+00:00", "Z")


def text_record(
    number: int, raw: str, *, boot_time: float | None = None, year: int | None = None
) -> LogRecord:
    """A text line as a record: time (ISO), level, the message after the time prefix. A line
    without a known time keeps its whole text as the message and no timestamp."""
    when, end = split_time(raw, boot_time=boot_time, year=year)
    message = raw[end:].removeprefix(":").lstrip() if end else raw
    return LogRecord(
        number,
        raw,
        level=line_level(raw, end),
        message=message,
        timestamp=None if when is None else iso(when),
    )


def any_record(
    number: int, raw: str, *, boot_time: float | None = None, year: int | None = None
) -> LogRecord:
    """A line of any source as a record: a JSON object parsed, anything else as text."""
    if raw[:1] == "{":
        record = parse_line(number, raw.encode("utf-8", "surrogateescape"))
        if not record.malformed:
            return record
    return text_record(number, raw, boot_time=boot_time, year=year)
