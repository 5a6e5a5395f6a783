"""A time window (--since/--until) over raw bytes: each line is judged by its own time, and the
lines whose time is plainly outside are skipped without being parsed.

The time key is learned from samples (a uniform file, like the level's fast path), so the regex
starts with a literal and runs near memory speed; a block in which any other time key's name
appears is parsed line by line instead. The regex finds the keys whose value may be in the
window: a plain UTC ISO time
(`"timestamp": "2026-11-01T10:00:00.123Z"`) at or after --since (or at or before --until),
compared digit by digit in the regex itself, or a time in any other shape (a zone offset, an
epoch number, a space for the `T`). Those lines are parsed and judged by the filter.
journald's `"__REALTIME_TIMESTAMP": "1764403200000000"` (16 digits of microseconds) is compared
digit by digit the same way. Skipping
the others is exact: their every time key holds a plain time outside the window, and the parser
can only find one of those or none (a line that is not JSON, a key nested too deep).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from workbench.logs.records import TIME_KEYS, LogRecord, parse_line

_DIGIT = b"[0-9]"
# The plain ISO shape, one pattern per character: YYYY-MM-DDTHH:MM:SS
_SHAPE = [_DIGIT] * 4 + [b"-"] + [_DIGIT] * 2 + [b"-"] + [_DIGIT] * 2 + [b"T"]
_SHAPE += [_DIGIT] * 2 + [b":"] + [_DIGIT] * 2 + [b":"] + [_DIGIT] * 2
_REST = rb'(?:\.[0-9]{1,9})?(?:Z|\+00:00)?"'  # fraction and UTC zone, then the closing quote
_ANY_KEY = rb'"(' + b"|".join(re.escape(k.encode()) for k in TIME_KEYS) + rb')"\s*:'


def _iso19(when: datetime) -> bytes:
    return when.astimezone(UTC).isoformat()[:19].encode()


_MICROS = 16  # journald's __REALTIME_TIMESTAMP: microseconds, 16 digits from 2001 to 2286
_MICRO_SHAPE = [_DIGIT] * _MICROS
_MICRO_KEY = b"__REALTIME_TIMESTAMP"


def _beyond(bound: bytes, later: bool, i: int = 0, shape: list[bytes] = _SHAPE) -> bytes:
    """A regex for plain ISO times (19 characters; or the digits of `shape`) at or after
    `bound` (at or before it when not `later`), as a trie: each character is looked at once."""
    if i == len(bound):
        return b""
    same = re.escape(bound[i : i + 1]) + _beyond(bound, later, i + 1, shape)
    char = bound[i]
    if shape[i] != _DIGIT:
        return same
    if later and char < ord("9"):
        digits = b"[" + bytes([char + 1]) + b"-9]"
    elif not later and char > ord("0"):
        digits = b"[0-" + bytes([char - 1]) + b"]"
    else:
        return same
    return b"(?:" + digits + b"".join(shape[i + 1 :]) + b"|" + same + b")"


def _micros(when: datetime) -> bytes:
    """`when` as journald writes it: microseconds since the epoch (ValueError off 16 digits)."""
    text = str((when - datetime.fromtimestamp(0, UTC)) // timedelta(microseconds=1))
    if len(text) != _MICROS:
        raise ValueError(text)
    return text.encode()


@dataclass(frozen=True)
class Window:
    regex: re.Pattern[bytes]  # the learned time key with a value that may be in the window
    others: re.Pattern[bytes]  # the other time keys' names, quoted: a block holding one is parsed


def time_key(samples: list[bytes]) -> bytes | None:
    """The one time key every sampled line has exactly once, or None."""
    keys: set[bytes] = set()
    for line in samples:
        found = [m.group(1) for m in re.finditer(_ANY_KEY, line)]
        if len(found) != 1:
            return None
        keys.add(found[0])
    return keys.pop() if len(keys) == 1 else None


def window(since: datetime | None, until: datetime | None, key: bytes | None) -> Window | None:
    """The raw-bytes form of the window over `key`, or None (no window, no uniform key, or a
    bound off the calendar: then every line is parsed)."""
    if key is None:
        return None
    micros = key == _MICRO_KEY
    shape, form, rest = (_MICRO_SHAPE, _micros, b'"') if micros else (_SHAPE, _iso19, _REST)
    try:
        if since is not None:
            wanted = _beyond(form(since), True, 0, shape)
        elif until is not None:
            wanted = _beyond(form(until), False, 0, shape)
        else:
            return None
    except (OverflowError, ValueError):
        return None
    plain = b"".join(shape)
    head = b'"' + re.escape(key) + rb'"\s*:\s*'
    # The second branch is "any other value"; (?!\s) keeps `\s*` from giving back a space
    # for it to look at.
    regex = re.compile(head + b'(?:"' + wanted + rest + rb'|(?!\s)(?!"' + plain + rest + b"))")
    names = [re.escape(k.encode()) for k in TIME_KEYS if k.encode() != key]
    return Window(regex, re.compile(b'"(?:' + b"|".join(names) + b')"'))


def in_window(
    block: bytes, end: int, win: Window, matches: Callable[[LogRecord], bool]
) -> Iterator[bytes] | None:
    """The lines of block[:end] that `matches`, parsing only those the regex finds; None when
    the block names another time key (the caller parses every line)."""
    if win.others.search(block, 0, end):
        return None
    return _found(block, end, win.regex, matches)


def _found(
    block: bytes, end: int, regex: re.Pattern[bytes], matches: Callable[[LogRecord], bool]
) -> Iterator[bytes]:
    last = -1
    for match in regex.finditer(block, 0, end):
        start = block.rfind(b"\n", 0, match.start()) + 1
        if start == last:
            continue  # another time key of a line already judged
        last = start
        stop = block.find(b"\n", match.end(), end)
        line = block[start : end if stop < 0 else stop]
        if matches(parse_line(0, line)):
            yield line
