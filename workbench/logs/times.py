"""Times in log lines and on the command line: ISO 8601, epoch numbers, `10m` ago.

Only ASCII digits count (`²` and `٣` are no time), and anything outside the calendar is no time
(None) rather than an OverflowError: a log line's time is whatever its writer put there.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta
from typing import Any

EARLIEST = datetime.min.replace(tzinfo=UTC)
_EPOCH = re.compile(r"[0-9]{1,20}(?:\.[0-9]{1,9})?")
_RELATIVE = re.compile(r"([0-9]{1,30})\s*([smhd])")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}
_LATEST_EPOCH_S = 7.3e9  # about the year 2200: the scale (s, ms, µs, ns) that lands before it


def _from_epoch(value: float | int) -> datetime | None:
    try:
        number = float(value)
    except OverflowError:  # an int beyond any float
        return None
    if not (math.isfinite(number) and number >= 0):
        return None
    for scale in (1, 1e3, 1e6, 1e9):
        if number / scale < _LATEST_EPOCH_S:
            return datetime.fromtimestamp(number / scale, UTC)
    return None


def _relative(count: str, unit: str, now: datetime | None) -> datetime:
    """`count` units before `now`; further back than the calendar goes is its first day."""
    try:
        return (now or datetime.now(UTC)) - timedelta(**{_UNITS[unit]: int(count)})
    except OverflowError:
        return EARLIEST


def parse_time(value: Any, now: datetime | None = None) -> datetime | None:
    """ISO 8601 (with or without zone: UTC assumed), epoch seconds/ms/µs/ns, or a relative `10m`,
    `2h`, `1d` (before `now`; `999999999d` is EARLIEST). None when it is none of those."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return _from_epoch(value)
    text = str(value).strip()
    if _EPOCH.fullmatch(text):
        return _from_epoch(float(text))
    rel = _RELATIVE.fullmatch(text)
    if rel:
        return _relative(rel.group(1), rel.group(2), now)
    text = text.replace(" UTC", "+00:00")
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def shown_time(value: str) -> str:
    """A record's time for a reader: an epoch number (journald's `__REALTIME_TIMESTAMP` in
    microseconds, seconds, ms, ns) as ISO 8601 UTC (`2018-08-21T14:04:21.221373Z`); any
    other text as it is."""
    text = value.strip()
    if not _EPOCH.fullmatch(text):
        return value
    when = _from_epoch(float(text)) if "." in text else _from_epoch(int(text))
    if when is None:
        return value
    return when.isoformat(timespec="microseconds").replace("+00:00", "Z")
