"""The time a log line carries, whatever its layout: a JSON record's time key (journald's
`__REALTIME_TIMESTAMP` in microseconds too), a QEMU log's ISO time, a libvirt log's
`2025-11-29 08:00:01.000+0000:`, syslog's `Nov 29 08:00:01`, dmesg's `[  12.34]` (seconds
since boot: anchored to the boot time when it is known). Epoch seconds (UTC), or None."""

from __future__ import annotations


def line_time(raw: str, *, boot_time: float | None = None, year: int | None = None) -> float | None:
    """The time `raw` carries (epoch seconds), or None. `boot_time` anchors dmesg's monotonic
    seconds; `year` completes syslog's year-less times. Never raises."""
    from workbench.logs.records import parse_line
    from workbench.logs.times import parse_time

    if not raw.lstrip().startswith("{"):
        return None  # the text layouts are issue 14's engine work
    record = parse_line(0, raw.encode("utf-8", "surrogateescape"))
    when = parse_time(record.timestamp) if record.timestamp is not None else None
    return None if when is None else when.timestamp()
