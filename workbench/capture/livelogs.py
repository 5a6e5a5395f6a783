"""The live machine's logs of this boot, bounded, as a capture records them: the kernel's (the
journal, else /dev/kmsg, else `dmesg`) and libvirt's daemon (the journal of libvirtd and
virtqemud). Each reader returns what it got or why it got nothing; none ever blocks for long
(a subprocess has a timeout, /dev/kmsg is read without waiting)."""

from __future__ import annotations

import errno
import json
import os
import re
import shutil
import subprocess
import time
from collections import deque
from dataclasses import dataclass, field

KERNEL_BYTES = 4 * 1024 * 1024  # the newest 4 MiB of this boot's kernel messages
KERNEL_LINES = 100_000
LIBVIRT_BYTES = 1024 * 1024
LIBVIRT_LINES = 20_000
COMMAND_TIMEOUT_S = 20.0  # under a collector's default deadline (30 s)
KMSG = "/dev/kmsg"
LIBVIRT_UNITS = ("libvirtd", "virtqemud")
_KERNEL_TIME = "_SOURCE_MONOTONIC_TIMESTAMP"
_DMESG_STAMP = re.compile(rb"\[ *\d+\.\d+\] ")
_ENV = {"LC_ALL": "C", "PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "SYSTEMD_PAGER": ""}


@dataclass
class LogRead:
    """One log as read: its text (newest lines kept), from where, or why there is none."""

    data: bytes | None
    origin: str | None
    lines: int = 0
    truncated: bool = False
    tried: list[str] = field(default_factory=list)  # each source that gave nothing, and why

    def facts(self) -> dict[str, object]:
        """The manifest's account of this log (`facts.kernel_log` / `facts.libvirt_log`)."""
        out: dict[str, object] = {"origin": self.origin, "lines": self.lines}
        out["truncated"] = self.truncated
        if self.data is None:
            out["why"] = "; ".join(self.tried) or "not present"
        elif self.tried:
            out["tried"] = list(self.tried)
        return out


class _Newest:
    """The newest lines of a stream, bounded in bytes and lines (memory bounded by the
    result, not by the log)."""

    def __init__(self, max_bytes: int, max_lines: int) -> None:
        self.lines: deque[bytes] = deque()
        self.size = 0
        self.max_bytes = max_bytes
        self.max_lines = max_lines
        self.dropped = False

    def add(self, line: bytes) -> None:
        line = line[: self.max_bytes - 1] + b"\n"
        self.lines.append(line)
        self.size += len(line)
        while self.size > self.max_bytes or len(self.lines) > self.max_lines:
            self.size -= len(self.lines.popleft())
            self.dropped = True

    def result(self, origin: str, tried: list[str]) -> LogRead:
        return LogRead(b"".join(self.lines), origin, len(self.lines), self.dropped, tried)


def _one_line(message: bytes) -> bytes:
    """A message as one line, escaped as the kernel escapes it in /dev/kmsg."""
    return message.replace(b"\r", b"\\x0d").replace(b"\n", b"\\x0a")


def _stamp(usec: int) -> bytes:
    return b"[%5d.%06d] " % (usec // 1_000_000, usec % 1_000_000)


def kernel_log(max_bytes: int = KERNEL_BYTES, max_lines: int = KERNEL_LINES) -> LogRead:
    """This boot's kernel messages, dmesg style (`[   12.345678] message`)."""
    tried: list[str] = []
    for name, reader in (("journal", _kernel_journal), ("kmsg", _kmsg), ("dmesg", _dmesg)):
        newest = _Newest(max_bytes, max_lines)
        why = reader(newest)
        if why is None:
            return newest.result(name, tried)
        tried.append(f"{name}: {why}")
    return LogRead(None, None, tried=tried)


def libvirt_log(max_bytes: int = LIBVIRT_BYTES, max_lines: int = LIBVIRT_LINES) -> LogRead:
    """This boot's journal of libvirt's daemons (None with `tried` when there is none: a
    machine without systemd keeps it in /var/log/libvirt, read as a file by the caller)."""
    newest = _Newest(max_bytes, max_lines)
    units = [arg for unit in LIBVIRT_UNITS for arg in ("-u", unit)]
    why = _journal(newest, [*units, "-o", "short-iso-precise"], json_lines=False)
    if why is None:
        return newest.result("journal", [])
    return LogRead(None, None, tried=[f"journal: {why}"])


def _kernel_journal(newest: _Newest) -> str | None:
    return _journal(
        newest, ["-k", "-o", "json", f"--output-fields=MESSAGE,{_KERNEL_TIME}"], json_lines=True
    )


def _journal(newest: _Newest, args: list[str], *, json_lines: bool) -> str | None:
    """Read this boot's journal entries selected by `args`; None when there were some, else
    why not."""
    exe = shutil.which("journalctl", path=_ENV["PATH"])
    if exe is None:
        return "no journalctl"
    command = [exe, "-b", "0", "-q", "--no-pager", "-n", str(newest.max_lines), *args]
    done = _run(command)
    if isinstance(done, str):
        return done
    for raw in done.stdout.splitlines():
        line = _journal_line(raw) if json_lines else raw
        if line is not None:
            newest.add(line)
    if not newest.lines:
        said = done.stderr.decode(errors="replace").strip().splitlines()
        return said[0][:200] if said else "no entries"
    return None


def _journal_line(raw: bytes) -> bytes | None:
    """One `journalctl -o json` entry as a dmesg line (MESSAGE is a string, or an array of
    bytes when it is not UTF-8; null when too large), stamped with the kernel's time."""
    try:
        entry = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(entry, dict):
        return None
    message = entry.get("MESSAGE")
    if isinstance(message, str):
        text = message.encode(errors="replace")
    elif isinstance(message, list) and all(isinstance(b, int) and 0 <= b < 256 for b in message):
        text = bytes(message)
    else:
        return None
    # The kernel's own time of the message; journald's time of receipt when it has none.
    usec = entry.get(_KERNEL_TIME, entry.get("__MONOTONIC_TIMESTAMP"))
    stamp = _stamp(int(usec)) if isinstance(usec, str) and usec.isdigit() else b""
    return stamp + _one_line(text)


def _kmsg(newest: _Newest) -> str | None:
    """The kernel's ring buffer through /dev/kmsg: one record per read, from the oldest kept;
    read until it has nothing more (never waiting for new records)."""
    try:
        fd = os.open(KMSG, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except PermissionError:
        return "permission denied (run as root)"
    except OSError as exc:
        return exc.strerror or str(exc)
    deadline = time.monotonic() + COMMAND_TIMEOUT_S
    try:
        while time.monotonic() < deadline:  # a flood of new records never keeps us here
            try:
                record = os.read(fd, 16384)
            except BlockingIOError:
                break
            except OSError as exc:
                if exc.errno == errno.EPIPE:  # records overwritten under us: go on
                    continue
                return exc.strerror or str(exc)
            if not record:
                break
            line = _kmsg_line(record)
            if line is not None:
                newest.add(line)
    finally:
        os.close(fd)
    return None if newest.lines else "no records"


def _kmsg_line(record: bytes) -> bytes | None:
    """`prio,seq,usec,flags;message` (then ` KEY=value` lines) as a dmesg line."""
    head, sep, rest = record.partition(b";")
    fields = head.split(b",")
    if not sep or len(fields) < 3 or not fields[2].isdigit():
        return None
    message = rest.split(b"\n", 1)[0]
    return _stamp(int(fields[2])) + message


def _dmesg(newest: _Newest) -> str | None:
    """`dmesg` (no journal and no /dev/kmsg): a message over several lines becomes one, its
    newlines escaped as /dev/kmsg escapes them."""
    exe = shutil.which("dmesg", path=_ENV["PATH"])
    if exe is None:
        return "no dmesg"
    done = _run([exe])
    if isinstance(done, str):
        return done
    if done.returncode != 0:
        said = done.stderr.decode(errors="replace").strip().splitlines()
        why = said[0][:200] if said else f"exit {done.returncode}"
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
    return None if newest.lines else "no messages"


def _run(command: list[str]) -> subprocess.CompletedProcess[bytes] | str:
    """Run a reader (bounded in time); its result, or why it gave none."""
    try:
        return subprocess.run(  # noqa: S603 - a fixed command from PATH's system directories
            command,
            capture_output=True,
            stdin=subprocess.DEVNULL,
            timeout=COMMAND_TIMEOUT_S,
            env=_ENV,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return f"timed out after {COMMAND_TIMEOUT_S:g} s"
    except OSError as exc:
        return f"failed: {exc.strerror or exc}"
