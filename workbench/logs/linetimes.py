"""The time a log line carries, whatever its layout: a JSON record's time key (journald's
`__REALTIME_TIMESTAMP` in microseconds too), a QEMU log's ISO time, a libvirt log's
`2025-11-29 08:00:01.000+0000:`, journalctl's short-iso, syslog's `Nov 29 08:00:01` (and
journalctl's short-precise `Nov 29 08:00:01.123456`), dmesg's
`[  12.34]` (seconds since boot: anchored to the boot time when it is known), dmesg -T's
`[Sun Nov 29 08:00:01 2025]` and /dev/kmsg's `6,1234,12345678,-;` (microseconds since boot).
Epoch seconds (UTC), or None.

Every pattern is anchored at the line's start and looks at its first PREFIX characters only:
the time per line is bounded whatever the line holds. Syslog's and dmesg -T's times are the
host's local time (as those tools write them)."""

from __future__ import annotations

import math
import re
import time
from datetime import UTC, datetime, timedelta, timezone

PREFIX = 64  # the longest time prefix is well within this
_ISO = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[T ]([0-9]{2}):([0-9]{2}):([0-9]{2})(\.[0-9]{1,9})?"
    r"(Z|[+-][0-9]{2}:?[0-9]{2})?(?=[\s:]|$)"
)
_MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
_MONTH = {name: i + 1 for i, name in enumerate(_MONTHS)}
_SYSLOG = re.compile(
    r"(" + "|".join(_MONTHS) + r") {1,2}([0-9]{1,2}) ([0-9]{2}):([0-9]{2}):([0-9]{2})"
    r"(?:\.([0-9]{1,9}))?(?= )"
)
_DMESG = re.compile(r"\[ *([0-9]{1,10})\.([0-9]{1,9})\]")
_DMESG_T = re.compile(
    r"\[(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) (" + "|".join(_MONTHS) + r") {1,2}([0-9]{1,2}) "
    r"([0-9]{2}):([0-9]{2}):([0-9]{2}) ([0-9]{4})\]"
)
_KMSG = re.compile(r"([0-9]{1,4}),([0-9]{1,20}),([0-9]{1,20}),[^;]{0,16};")
_PRIO = re.compile(r"<([0-9]{1,3})>")


def line_time(raw: str, *, boot_time: float | None = None, year: int | None = None) -> float | None:
    """The time `raw` carries (epoch seconds), or None. `boot_time` anchors dmesg's monotonic
    seconds; `year` completes syslog's year-less times (None: this year). Never raises."""
    return split_time(raw, boot_time=boot_time, year=year)[0]


def split_time(
    raw: str, *, boot_time: float | None = None, year: int | None = None
) -> tuple[float | None, int]:
    """The time `raw` carries and where its time prefix ends (0 when it has none, or for a
    JSON record, whose time is a key). Never raises."""
    if boot_time is not None and not math.isfinite(boot_time):
        boot_time = None  # no boot time rather than a NaN time
    head = raw[:PREFIX]
    first = head[:1]
    try:
        if first == "{":
            return _json_time(raw), 0
        start = 0
        prio = _PRIO.match(head)
        if prio:  # a kmsg priority prefix: `<3>[   12.5] ...`
            start = prio.end()
            first = head[start : start + 1]
        if first == "[":
            return _dmesg(head, start, boot_time)
        if first.isdigit():
            return _digits(head, start, boot_time)
        if first in "ADFJMNOS" and first:
            return _syslog(head, start, year)
    except (ValueError, OverflowError):
        pass
    return None, 0


_UTC_ZONES = frozenset({None, "Z", "+0000", "+00:00", "-0000", "-00:00"})


def utc_second(raw: str) -> str | None:
    """`YYYY-MM-DDTHH:MM:SS` of a line that starts with a UTC (or zone-less) ISO time, as
    `line_time` reads it; None for any other line. Compared as strings, a cheap test of a
    time window that needs no calendar (a line off the calendar has no time at all)."""
    m = _ISO.match(raw[:PREFIX])
    if m is None or m.group(8) not in _UTC_ZONES:
        return None
    y, mo, d, h, mi, s = m.group(1, 2, 3, 4, 5, 6)
    return f"{y}-{mo}-{d}T{h}:{mi}:{s}"


def prefix_end(raw: str) -> int:
    """Where a known layout's time prefix ends (0: none). Its shape only, not its calendar
    (`2025-13-01T...` ends a prefix too): cheap enough to ask of every line, for telling a
    record's first line from its continuation lines."""
    head = raw[:PREFIX]
    start = 0
    prio = _PRIO.match(head)
    if prio:
        start = prio.end()
    first = head[start : start + 1]
    if first == "[":
        m = _DMESG.match(head, start) or _DMESG_T.match(head, start)
    elif first.isdigit():
        m = _ISO.match(head, start) or _KMSG.match(head, start)
    elif first and first in "ADFJMNOS":
        m = _SYSLOG.match(head, start)
    else:
        return 0
    return m.end() if m else 0


def _json_time(raw: str) -> float | None:
    from workbench.logs.records import parse_line
    from workbench.logs.times import parse_time

    record = parse_line(0, raw.encode("utf-8", "surrogateescape"))
    when = parse_time(record.timestamp) if record.timestamp is not None else None
    return None if when is None else when.timestamp()


def _digits(head: str, start: int, boot_time: float | None) -> tuple[float | None, int]:
    iso = _ISO.match(head, start)
    if iso:
        return _iso_time(iso), iso.end()
    kmsg = _KMSG.match(head, start)
    if kmsg:  # its prefix starts a record even when the boot time is unknown
        when = None if boot_time is None else boot_time + int(kmsg.group(3)) / 1e6
        return when, kmsg.end()
    return None, 0


def _iso_time(m: re.Match[str]) -> float:
    y, mo, d, h, mi, s, fraction, zone = m.groups()
    micros = int((fraction[1:] + "000000")[:6]) if fraction else 0
    tz = UTC
    if zone and zone != "Z":
        digits = zone[1:].replace(":", "")
        offset = timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
        tz = timezone(-offset if zone[0] == "-" else offset)
    return datetime(int(y), int(mo), int(d), int(h), int(mi), int(s), micros, tzinfo=tz).timestamp()


def _dmesg(head: str, start: int, boot_time: float | None) -> tuple[float | None, int]:
    mono = _DMESG.match(head, start)
    if mono:
        if boot_time is None:
            return None, mono.end()
        fraction = (mono.group(2) + "000000")[:6]
        return boot_time + int(mono.group(1)) + int(fraction) / 1e6, mono.end()
    wall = _DMESG_T.match(head, start)
    if wall:
        month, day, h, mi, s, y = wall.groups()
        local = datetime(int(y), _MONTH[month], int(day), int(h), int(mi), int(s))
        return local.timestamp(), wall.end()
    return None, 0


def _syslog(head: str, start: int, year: int | None) -> tuple[float | None, int]:
    m = _SYSLOG.match(head, start)
    if not m:
        return None, 0
    month, day, h, mi, s, fraction = m.groups()
    y = datetime.now().year if year is None else year
    micros = int((fraction + "000000")[:6]) if fraction else 0
    local = datetime(y, _MONTH[month], int(day), int(h), int(mi), int(s), micros)
    return local.timestamp(), m.end()


def file_year(mtime: float) -> int:
    """The local year of a file's modification time: the year its syslog lines most likely
    belong to (syslog writes none)."""
    return datetime.fromtimestamp(mtime).year


def boot_time_now() -> float:
    """This machine's boot time as the kernel log counts it (epoch seconds): the wall clock
    less the monotonic clock, as `dmesg -T` anchors (a suspend since boot shifts it)."""
    return time.time() - time.clock_gettime(time.CLOCK_MONOTONIC)


def boot_time_from_stat(text: str) -> float | None:
    """The boot time a `/proc/stat` records (`btime`, whole seconds): the anchor for a
    recorded machine's dmesg. None when it has none."""
    for line in text.splitlines():
        name, _, value = line.partition(" ")
        if name == "btime":
            number = value.strip()
            return float(number) if number.isascii() and number.isdigit() else None
    return None
