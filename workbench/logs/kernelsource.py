"""This boot's kernel log as a source: from the journal (`journalctl -k -b -o json`, streamed;
`-f` when followed), else /dev/kmsg (followed by polling it with the stop event), else
`dmesg -r`. Records from /dev/kmsg and dmesg become journald-shaped JSON lines (PRIORITY,
__REALTIME_TIMESTAMP anchored to the boot time of /proc/stat, SYSLOG_IDENTIFIER `kernel`,
MESSAGE), so every kernel line has a level and a time whichever reader gave it."""

from __future__ import annotations

import collections
import errno
import os
import re
import select
import threading
from collections.abc import Iterator
from pathlib import Path

import orjson

from workbench.core import logtools
from workbench.core.errors import ConfigError
from workbench.logs.linetimes import line_time
from workbench.logs.processsource import WAIT_S, command_lines
from workbench.logs.sourcefiles import decode
from workbench.logs.sources import LogLine, LogSource

KMSG = "/dev/kmsg"
_DMESG = re.compile(rb"<(\d+)>\[ *(\d+)\.(\d+)\] ?(.*)")


def boot_time(stat: str = "/proc/stat") -> float | None:
    """The boot time (epoch seconds) from /proc/stat's `btime`, or None."""
    try:
        text = Path(stat).read_text(encoding="ascii", errors="replace")
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith("btime "):
            value = line.split()[1]
            return float(value) if value.isdigit() else None
    return None


def record_line(priority: int, usec: int, message: bytes, btime: float | None) -> bytes:
    """A kernel message as a journald-shaped JSON line."""
    record: dict[str, str] = {"PRIORITY": str(priority & 7)}
    if btime is not None:
        record["__REALTIME_TIMESTAMP"] = str(int(btime * 1_000_000) + usec)
    record["_SOURCE_MONOTONIC_TIMESTAMP"] = str(usec)
    record["SYSLOG_IDENTIFIER"] = "kernel"
    record["MESSAGE"] = decode(message)
    return orjson.dumps(record)


def kmsg_record(record: bytes, btime: float | None) -> bytes | None:
    """One /dev/kmsg record (`prio,seq,usec,flags;message` then ` KEY=value` lines) as a JSON
    line; None when it is not one."""
    head, sep, rest = record.partition(b";")
    fields = head.split(b",")
    if not sep or len(fields) < 3 or not fields[0].isdigit() or not fields[2].isdigit():
        return None
    return record_line(int(fields[0]), int(fields[2]), rest.split(b"\n", 1)[0], btime)


def dmesg_record(line: bytes, btime: float | None) -> bytes | None:
    """One `dmesg -r` line (`<6>[   12.345678] message`) as a JSON line, or None."""
    match = _DMESG.fullmatch(line)
    if match is None:
        return None
    usec = int(match.group(2)) * 1_000_000 + int(match.group(3)[:6].ljust(6, b"0"))
    return record_line(int(match.group(1)), usec, match.group(4), btime)


def journal_has_kernel() -> bool:
    """Whether the journal holds this boot's kernel messages."""
    exe = logtools.which("journalctl")
    if exe is None:
        return False
    done = logtools.run([exe, "-k", "-b", "-o", "json", "-n", "1", "-q"], 5.0)
    return not isinstance(done, str) and done.returncode == 0 and done.stdout.strip() != b""


def kmsg_readable() -> bool:
    try:
        os.close(os.open(KMSG, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC))
    except OSError:
        return False
    return True


class KernelSource(LogSource):
    """This boot's kernel messages, from the first reader that has them."""

    label = "kernel"

    def __init__(self, reader: str | None = None) -> None:
        if reader is None:
            if journal_has_kernel():
                reader = "journal"
            elif kmsg_readable():
                reader = "kmsg"
            elif logtools.which("dmesg") is not None:
                reader = "dmesg"
            else:
                raise ConfigError(
                    "--kernel: no kernel log here (no journal, /dev/kmsg unreadable, no dmesg)"
                )
        self.reader = reader
        self.btime = boot_time()

    def _numbered(self, lines: Iterator[bytes]) -> Iterator[LogLine]:
        for number, data in enumerate(lines, 1):
            raw = decode(data)
            yield LogLine(self.label, number, raw, line_time(raw, boot_time=self.btime))

    def lines(self) -> Iterator[LogLine]:
        """Every message of this boot the reader still has."""
        yield from self._numbered(self._raw(None, None))

    def follow(self, stop: threading.Event, *, context: int = 10) -> Iterator[LogLine]:
        """The last `context` messages, then each new one until `stop` is set."""
        yield from self._numbered(self._raw(stop, max(0, context)))

    def _raw(self, stop: threading.Event | None, context: int | None) -> Iterator[bytes]:
        if self.reader == "journal":
            exe = logtools.which("journalctl") or "journalctl"
            argv = [exe, "-k", "-b", "-o", "json", "-q"]
            if context is not None:
                argv += ["-f", "-n", str(context)]
            yield from command_lines(argv, stop)
        elif self.reader == "kmsg":
            yield from self._kmsg(stop, context)
        else:
            old = (dmesg_record(line, self.btime) for line in self._dmesg_lines())
            kept = [line for line in old if line is not None]
            yield from kept if context is None else kept[len(kept) - context :]
            if stop is not None:  # dmesg cannot follow: wait for the end
                stop.wait()

    def _dmesg_lines(self) -> Iterator[bytes]:
        exe = logtools.which("dmesg") or "dmesg"
        yield from command_lines([exe, "-r"])

    def _kmsg(self, stop: threading.Event | None, context: int | None) -> Iterator[bytes]:
        """/dev/kmsg's records: those it keeps (the last `context` when following), then,
        when following, each new one as it comes (polled, with `stop` checked)."""
        fd = os.open(KMSG, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        try:
            kept: collections.deque[bytes] | None = (
                None if context is None else collections.deque(maxlen=context)
            )
            for record in _kmsg_available(fd):
                line = kmsg_record(record, self.btime)
                if line is None:
                    continue
                if kept is None:
                    yield line
                else:
                    kept.append(line)
            if stop is None or kept is None:
                return
            yield from kept
            poller = select.poll()
            poller.register(fd, select.POLLIN)
            while not stop.is_set():
                if not poller.poll(int(WAIT_S * 1000)):
                    continue
                for record in _kmsg_available(fd):
                    line = kmsg_record(record, self.btime)
                    if line is not None:
                        yield line
        finally:
            os.close(fd)


def _kmsg_available(fd: int) -> Iterator[bytes]:
    """The records /dev/kmsg has now (one per read), until it has no more."""
    while True:
        try:
            record = os.read(fd, 16384)
        except BlockingIOError:
            return
        except OSError as exc:
            if exc.errno == errno.EPIPE:  # overwritten while we read: skip on
                continue
            raise
        if not record:
            return
        yield record
