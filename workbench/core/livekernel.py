"""This boot's kernel log on the live machine, dmesg style: from the journal (its first part
and its newest), else /dev/kmsg, else `dmesg`; each source that gave nothing says why."""

from __future__ import annotations

import errno
import os
import re
import subprocess
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

from workbench.core import logtools
from workbench.core.bounded import (
    HEAD_BYTES,
    HEAD_LINES,
    TAIL_BYTES,
    TAIL_LINES,
    HeadTail,
    LiveLog,
    Newest,
)
from workbench.core.journal import KERNEL_TIME, journal_entry, read_journal, stamp

if TYPE_CHECKING:
    from collections.abc import Callable

KMSG = "/dev/kmsg"
_DMESG_STAMP = re.compile(rb"\[ *\d+\.\d+\] ")


def live_kernel_log(
    max_bytes: int = TAIL_BYTES,
    max_lines: int = TAIL_LINES,
    timeout_s: float = logtools.COMMAND_TIMEOUT_S,
    head_bytes: int = HEAD_BYTES,
    head_lines: int = HEAD_LINES,
) -> LiveLog:
    """This boot's kernel messages on the live machine, dmesg style (`[   12.345678] msg`):
    its first `head_bytes`/`head_lines` and its newest `max_bytes`/`max_lines`, a gap line
    between them when some were left out; from the journal, else /dev/kmsg, else `dmesg`;
    each source that gave nothing is in `tried` with why."""
    tried: list[str] = []
    readers: tuple[tuple[str, str, Callable[[HeadTail, float], str | None]], ...] = (
        ("journal", "journal", _kernel_journal),
        ("kmsg", KMSG, _kmsg),
        ("dmesg", "dmesg", _dmesg),
    )
    for origin, label, reader in readers:
        kept = HeadTail(head_bytes, head_lines, max_bytes, max_lines)
        why = reader(kept, timeout_s)
        if why is None:
            return kept.result(origin, tried)
        tried.append(f"{label}: {why}")
    return LiveLog(None, None, tried=tuple(tried))


def _kernel_journal(kept: HeadTail, timeout_s: float) -> str | None:
    """This boot's kernel entries in the journal: the newest (`-n`, read backwards: bounded
    time) and, when there may be older ones, the first, streamed from the boot's start until
    the head is full; entries in both (by cursor) are kept once."""
    args = ["-k", "-o", "json", f"--output-fields=MESSAGE,{KERNEL_TIME}"]
    newest = Newest(kept.max_bytes, kept.max_lines)
    cursors: list[str | None] = []
    why = read_journal(newest, args, timeout_s, json_lines=True, cursors=cursors)
    if why is not None:
        return why
    if len(cursors) < kept.max_lines and not newest.popped:  # the whole boot: kept splits it
        for line in newest.lines:
            kept.add(line[:-1])
        return None
    exe = logtools.which("journalctl")
    newest_cursors = cursors[len(cursors) - len(newest.lines) :]
    known = {c for c in newest_cursors if c is not None}
    head = _journal_head(exe, args, kept, known, timeout_s) if exe else set()
    if not kept.head:  # no first part to be had: the newest only, as before
        kept.head_lines = 0
    overlap = kept.met
    for cursor, line in zip(newest_cursors, newest.lines, strict=True):
        if cursor is not None and cursor in head:
            overlap = True
            continue
        kept.add(line[:-1])
    if not overlap:  # the newest start after the first end: some between, how many unsaid
        kept.gap = "uncounted journal lines" if head else None
        kept.dropped = True
    return None


def _journal_head(
    exe: str, args: list[str], kept: HeadTail, newest: set[str], timeout_s: float
) -> set[str]:
    """The boot's first kernel entries into `kept`'s head, streamed (journalctl stopped once
    it is full, at the first of the `newest` cursors, or after `timeout_s`); their cursors."""
    cursors: set[str] = set()
    command = [exe, "-b", "0", "-q", "--no-pager", *args]
    try:
        proc = subprocess.Popen(  # noqa: S603 - a fixed command from the system directories
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=logtools.environment(),
        )
    except OSError:
        return cursors
    timer = threading.Timer(timeout_s, proc.kill)  # a journal that stalls is stopped
    try:
        timer.start()
        for raw in proc.stdout or ():
            cursor, line = journal_entry(raw)
            if line is None:
                continue
            if cursor is not None and cursor in newest:  # met the newest: nothing between
                kept.met = True
                break
            kept.add(line)
            if cursor is not None:
                cursors.add(cursor)
            if kept.head_full:
                break
    finally:
        timer.cancel()
        proc.kill()
        proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()
    return cursors


def _kmsg(newest: Newest, timeout_s: float) -> str | None:
    """The kernel's ring buffer through /dev/kmsg: one record per read, from the oldest kept;
    read until it has nothing more (never waiting for new records, nor longer than
    `timeout_s` under a flood of them)."""
    try:
        fd = os.open(KMSG, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        return _os_why(exc)
    deadline = time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline:
            try:
                record = os.read(fd, 16384)
            except BlockingIOError:
                break  # EAGAIN: no more records
            except OSError as exc:
                if exc.errno == errno.EPIPE:  # overwritten while we read: lost, skip on
                    newest.dropped = True
                    continue
                if not newest:  # EINVAL: not a kmsg device
                    return _os_why(exc)
                break  # keep what was read
            if not record:
                break
            line = kmsg_line(record)
            if line is not None:
                newest.add(line)
    finally:
        os.close(fd)
    return None if newest else "no records"


def kmsg_line(record: bytes) -> bytes | None:
    """One /dev/kmsg record (`prio,seq,usec,flags;message` then ` KEY=value` continuation
    lines) as a dmesg line `[  sec.usec] message`; None when it is not one."""
    head, sep, rest = record.partition(b";")
    fields = head.split(b",")
    if not sep or len(fields) < 3 or not fields[2].isdigit():
        return None
    message = rest.split(b"\n", 1)[0]  # the continuation lines are KEY=value properties
    return stamp(int(fields[2])) + message


def _dmesg(newest: Newest, timeout_s: float) -> str | None:
    """`dmesg` (no journal and no /dev/kmsg): a message over several lines becomes one, its
    newlines escaped as /dev/kmsg escapes them."""
    exe = logtools.which("dmesg")
    if exe is None:
        return "not installed"
    done = logtools.run([exe], timeout_s)
    if isinstance(done, str):
        return done
    if done.returncode != 0:
        why = logtools.first_line(done.stderr) or f"exit {done.returncode}"
        if _dmesg_restricted():
            return f"failed: {why} (kernel.dmesg_restrict=1: run as root)"
        return f"failed: {why} (run as root)" if os.geteuid() != 0 else f"failed: {why}"
    pending: bytes | None = None
    for line in done.stdout.splitlines():
        if pending is not None and not _DMESG_STAMP.match(line):  # a message's next line
            pending += b"\\x0a" + line.strip()
            continue
        if pending is not None:
            newest.add(pending)
        pending = line
    if pending is not None:
        newest.add(pending)
    return None if newest else "no messages"


def _dmesg_restricted() -> bool:
    try:
        flag = Path("/proc/sys/kernel/dmesg_restrict").read_bytes()
        return flag.strip() == b"1" and os.geteuid() != 0
    except OSError:
        return False


def _os_why(exc: OSError) -> str:
    if isinstance(exc, PermissionError):
        return "permission denied (run as root)"
    if isinstance(exc, FileNotFoundError):
        return "does not exist"
    return exc.strerror or str(exc)
