"""This boot's journal read through journalctl into a bounded keep, and its JSON entries as
dmesg lines (`[   12.345678] message`)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from workbench.core import logtools

if TYPE_CHECKING:
    from workbench.core.bounded import Newest

KERNEL_TIME = "_SOURCE_MONOTONIC_TIMESTAMP"


def read_journal(
    newest: Newest,
    args: list[str],
    timeout_s: float,
    *,
    json_lines: bool,
    cursors: list[str | None] | None = None,
) -> str | None:
    """Read this boot's journal entries selected by `args` into `newest` (each one's cursor
    into `cursors`, JSON only); None when there were some, else why not."""
    exe = logtools.which("journalctl")
    if exe is None:
        return "journalctl not installed"
    command = [exe, "-b", "0", "-q", "--no-pager", "-n", str(newest.max_lines), *args]
    done = logtools.run(command, timeout_s)
    if isinstance(done, str):
        return f"journalctl {done}"
    entries = 0
    for raw in done.stdout.splitlines():
        cursor, line = journal_entry(raw) if json_lines else (None, raw)
        if line is not None:
            newest.add(line)
            entries += 1
            if cursors is not None:
                cursors.append(cursor)
    if entries >= newest.max_lines:  # journalctl was asked for no more: older ones left out
        newest.dropped = True
    if newest.lines:
        return None
    err = logtools.first_line(done.stderr)
    if done.returncode != 0:
        return f"journalctl failed (exit {done.returncode}{': ' + err if err else ''})"
    return err or "no entries for this boot"


def journal_line(raw: bytes) -> bytes | None:
    """One `journalctl -o json` entry as a dmesg line (MESSAGE is a string, or an array of
    bytes when it is not UTF-8; null when too large), stamped with the kernel's time."""
    return journal_entry(raw)[1]


def journal_entry(raw: bytes) -> tuple[str | None, bytes | None]:
    """One `journalctl -o json` entry: its cursor and its dmesg line (see journal_line)."""
    try:
        entry = json.loads(raw)
    except ValueError:
        return None, None
    if not isinstance(entry, dict):
        return None, None
    cursor = entry.get("__CURSOR")
    cursor = cursor if isinstance(cursor, str) else None
    message = entry.get("MESSAGE")
    if isinstance(message, str):
        text = message.encode(errors="replace")
    elif isinstance(message, list) and all(isinstance(b, int) and 0 <= b < 256 for b in message):
        text = bytes(message)
    else:
        return cursor, None
    # The kernel's own time of the message; journald's time of receipt when it has none.
    usec = entry.get(KERNEL_TIME, entry.get("__MONOTONIC_TIMESTAMP"))
    when = stamp(int(usec)) if isinstance(usec, str) and usec.isdigit() else b""
    return cursor, when + _one_line(text)


def _one_line(message: bytes) -> bytes:
    """A message as one line, escaped as the kernel escapes it in /dev/kmsg."""
    return message.replace(b"\r", b"\\x0d").replace(b"\n", b"\\x0a")


def stamp(usec: int) -> bytes:
    """A kernel time in microseconds as dmesg prints it (`[   12.345678] `)."""
    return b"[%5d.%06d] " % (usec // 1_000_000, usec % 1_000_000)
