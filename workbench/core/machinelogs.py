"""The logs a machine holds that explain its failures: the kernel log of this boot, each
domain's QEMU log, libvirt's own log. Live, read from the journal, /dev/kmsg, `dmesg` and
/var/log; recorded (captures, later sosreports), read from the files the recording wrote.

Where a recorded machine keeps them (a contract between captures and the readers):
- `logs/kernel.log`: this boot's kernel messages, one per line, dmesg style
  (`[   12.345678] message`); the manifest's `facts.kernel_log` says from where
  (`{"origin": "journal|kmsg|dmesg", "lines": N, "truncated": bool}`). A long one keeps the
  first part of the boot (where `kvm: disabled by bios`, BAR reservations and DMAR lines are)
  and the newest part, with a gap line between them saying what was left out
  (`-- workbench: 123 lines left out here --`; facts add `head_lines` and `left_out`).
- `var/log/libvirt/qemu/NAME.log`: each domain's QEMU log (a bounded tail), where libvirt
  writes it on a live machine.
- `logs/libvirt.log`: libvirt's daemon log of this boot (journal of libvirtd/virtqemud), tail.
A log that is absent says why (`why`): not recorded, not readable, no journal, ...; absence of a
log is never read as absence of a failure.

The live readers (`live_kernel_log`, `live_libvirt_log`) are the only ones: they give the bytes
as read, bounded by their parameters; a capture stores those, the readers above decode them."""

from __future__ import annotations

import errno
import json
import os
import re
import shutil
import stat
import subprocess
import threading
import time
import weakref
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from workbench.core.errors import HostReadError
from workbench.core.text import safe_text

if TYPE_CHECKING:
    from collections.abc import Callable

    from workbench.core.host import Host

KERNEL_LOG = "logs/kernel.log"
LIBVIRT_LOG = "logs/libvirt.log"
QEMU_LOG_DIR = "var/log/libvirt/qemu"
TAIL_BYTES = 1 << 20  # the most of one log read (the newest part: a failure is at the end)
TAIL_LINES = 50_000  # what journalctl is asked for (it reads backwards: bounded time)
# The first part of this boot's kernel log, kept besides the newest: boot-time causes (`kvm:
# disabled by bios`, a BAR vfio-pci cannot reserve, DMAR) are there, and a chatty host pushes
# them out of any tail.
HEAD_BYTES = 256 * 1024
HEAD_LINES = 5_000
GAP_SLACK = 1024  # a recorded head may end with its capture's own gap line: read that too
GAP_LINE = re.compile(r"^-- workbench: ([^\n]{1,120}) left out here --$", re.MULTILINE)
# Each live source's bound in time: the journal, /dev/kmsg and `dmesg` all failing still fit
# in the kernel.log probe's and a capture collector's 30 s.
COMMAND_TIMEOUT_S = 10.0
RECORD_HINT = "capture with a workbench that records the {what}"
KMSG = "/dev/kmsg"
LIBVIRT_UNITS = ("libvirtd", "virtqemud")
# libvirt's log on a machine without a journal: the monolithic daemon's, else the modular one's
LIBVIRT_FILE_LOGS = ("var/log/libvirt/libvirtd.log", "var/log/libvirt/virtqemud.log")
# Where journalctl and dmesg are looked for (never the caller's PATH: a root's tools only).
SYSTEM_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"
_KERNEL_TIME = "_SOURCE_MONOTONIC_TIMESTAMP"
_DMESG_STAMP = re.compile(rb"\[ *\d+\.\d+\] ")


@dataclass(frozen=True)
class MachineLog:
    """One log of a machine: its text (None when it could not be had, `why` says why)."""

    name: str  # "kernel", "qemu:NAME", "libvirt"
    source: str  # where it came from: "journal", "/dev/kmsg", "dmesg", a path
    text: str | None
    why: str | None = None
    truncated: bool = False
    # Sources tried before this one and why each gave nothing (a fallback says what it fell
    # back from: "journal: no journal files").
    tried: tuple[str, ...] = ()

    @property
    def lines(self) -> int:
        """How many log lines the text holds (0 when there is none; gap lines not counted)."""
        if not self.text:
            return 0
        every = self.text.count("\n") + (0 if self.text.endswith("\n") else 1)
        return every - len(GAP_LINE.findall(self.text))

    def gap(self) -> Gap | None:
        """What was left out of the middle of the log (its gap lines), or None: read whole."""
        if not self.text:
            return None
        found = list(GAP_LINE.finditer(self.text))
        if not found:
            return None
        head = self.text.count("\n", 0, found[0].start())
        what = "; ".join(dict.fromkeys(m.group(1) for m in found))
        return Gap(head, self.lines - head, safe_text(what[:300]))

    def to_facts(self) -> dict[str, Any]:
        """What a probe's facts say of it."""
        return {
            "source": self.source,
            "lines": self.lines,
            "truncated": self.truncated,
            "why": self.why,
            "tried": list(self.tried),
        }


@dataclass(frozen=True)
class Gap:
    """The middle of a log left out: the lines read before it and after it, and what was left
    out in words ("1234 lines")."""

    head: int
    tail: int
    left_out: str


def gap_line(what: str) -> bytes:
    """The line put where the middle of a log was left out."""
    return f"-- workbench: {what} left out here --\n".encode()


def qemu_log_path(vm: str) -> str:
    """The QEMU log of domain `vm`, relative to the machine root."""
    return f"{QEMU_LOG_DIR}/{vm}.log"


# A live read per Host (a Host is one run's): the probes that judge the kernel log (kernel.log,
# device state's interrupt remapping) read it once between them.
_LIVE_READS: weakref.WeakKeyDictionary[Host, MachineLog] = weakref.WeakKeyDictionary()
_LIVE_LOCK = threading.Lock()
_LOCK_WAIT_S = 3 * COMMAND_TIMEOUT_S + 5  # a reader stuck past its own bounds is not waited for


def kernel_log(host: Host) -> MachineLog:
    """This boot's kernel messages: live from the journal, else /dev/kmsg, else `dmesg` (read
    once per Host: a second call gives the first one's reading); recorded from
    `logs/kernel.log`. A long log is its first part and its newest, with a gap line between."""
    if not host.live:
        return _recorded(
            host, "kernel", KERNEL_LOG, "kernel_log", "kernel log", HEAD_BYTES + GAP_SLACK
        )
    locked = _LIVE_LOCK.acquire(timeout=_LOCK_WAIT_S)
    try:
        cached = _LIVE_READS.get(host)
        if cached is None:
            cached = _read_live("kernel", live_kernel_log())
            _LIVE_READS[host] = cached
        return cached
    finally:
        if locked:
            _LIVE_LOCK.release()


def qemu_log(host: Host, vm: str) -> MachineLog:
    """The tail of domain `vm`'s QEMU log."""
    name = f"qemu:{vm}"
    if not vm or "/" in vm or "\0" in vm or vm in (".", ".."):
        return MachineLog(name, "none", None, why=f"not a domain name: {safe_text(repr(vm))}")
    rel = qemu_log_path(vm)
    data, truncated, problem = _tail(host, rel)
    if data is not None:
        return MachineLog(name, "/" + rel, _decoded(data), truncated=truncated)
    if problem == "missing":
        if host.live:
            why = (
                f"/{rel} does not exist (the domain has not started on this machine, or "
                "libvirt writes its logs elsewhere)"
            )
        else:
            why = f"not recorded: {rel} is not in this capture; " + RECORD_HINT.format(
                what="QEMU logs"
            )
        return MachineLog(name, "/" + rel, None, why=safe_text(why))
    return MachineLog(name, "/" + rel, None, why=safe_text(_unreadable(host, rel, problem)))


def libvirt_log(host: Host) -> MachineLog:
    """libvirt's daemon log of this boot: live from the journal of libvirtd/virtqemud (else
    /var/log/libvirt/libvirtd.log or virtqemud.log); recorded from `logs/libvirt.log`."""
    if not host.live:
        return _recorded(host, "libvirt", LIBVIRT_LOG, "libvirt_log", "libvirt log")
    return _read_live("libvirt", live_libvirt_log(host))


def _read_live(name: str, got: LiveLog) -> MachineLog:
    """A live log as the readers take it: text, or why each source gave nothing."""
    if got.data is None:
        why = f"{name} log not readable: " + "; ".join(got.tried)
        return MachineLog(name, "none", None, why=why, tried=got.tried)
    return MachineLog(name, got.source, got.text, truncated=got.truncated, tried=got.tried)


# --- recorded ------------------------------------------------------------------------------


def _recorded(host: Host, name: str, rel: str, fact: str, what: str, head: int = 0) -> MachineLog:
    """A log a capture wrote at `rel` (its first `head` bytes and its newest, when long); its
    manifest fact (`facts.<fact>`) says where it came from, or why the capture could not read
    it."""
    facts = host.manifest.get("facts")
    recorded = facts.get(fact) if isinstance(facts, dict) else None
    recorded = recorded if isinstance(recorded, dict) else {}
    origin = recorded.get("origin")
    data, truncated, problem = _tail(host, rel, head=head)
    if data is not None:
        source = f"{rel} (from {origin})" if isinstance(origin, str) and origin else rel
        return MachineLog(
            name, source, _decoded(data), truncated=truncated or recorded.get("truncated") is True
        )
    if problem == "missing":
        said = recorded.get("why")
        if isinstance(said, str) and said:
            why = f"not recorded: the capture could not read the {what} ({said[:200]})"
        else:
            why = f"not recorded: {rel} is not in this machine's record; " + RECORD_HINT.format(
                what=what
            )
        return MachineLog(name, rel, None, why=why)
    return MachineLog(name, rel, None, why=_unreadable(host, rel, problem))


def _unreadable(host: Host, rel: str, problem: str | None) -> str:
    if problem == "permission":
        hint = "run as root" if host.live else "make the capture readable, or run as root"
        return f"/{rel} not readable (permission denied): {hint}"
    return f"/{rel} not readable ({problem})"


def _tail(
    host: Host, rel: str, limit: int = TAIL_BYTES, head: int = 0
) -> tuple[bytes | None, bool, str | None]:
    """(bytes, truncated, problem): the newest `limit` bytes of a regular file below the root,
    from a line start; with `head`, its first `head` bytes (whole lines) too, a gap line
    between saying how many bytes were left out. Problem: "missing", "permission", "not a
    regular file", or an error."""
    try:
        real = host.path(rel)
    except HostReadError as exc:
        return None, False, exc.message
    try:
        fd = os.open(real, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_CLOEXEC)
    except FileNotFoundError:
        return None, False, "missing"
    except PermissionError:
        return None, False, "permission"
    except OSError as exc:
        if exc.errno == errno.ELOOP:  # a link the confined resolution did not follow
            return None, False, "not a regular file"
        return None, False, exc.strerror or str(exc)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            return None, False, "not a regular file"
        truncated = info.st_size > limit + head
        first = b""
        if truncated and head:
            first = _read_upto(fd, head)
            first = first[: first.rfind(b"\n") + 1]  # whole lines only
        if truncated:
            os.lseek(fd, info.st_size - limit, os.SEEK_SET)
        else:
            limit += head
        chunks: list[bytes] = []
        size = 0
        while size < limit:
            chunk = os.read(fd, min(1 << 16, limit - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as exc:
        return None, False, exc.strerror or str(exc)
    finally:
        os.close(fd)
    data = b"".join(chunks)
    if truncated:
        data = data[data.find(b"\n") + 1 :]  # the first line is cut: drop it
    if first:
        left = info.st_size - len(first) - len(data)
        data = first + gap_line(f"{left} bytes") + data
    return data, truncated, None


def _read_upto(fd: int, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while size < limit and (chunk := os.read(fd, min(1 << 16, limit - size))):
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def _decoded(data: bytes | None) -> str | None:
    return None if data is None else data.decode("utf-8", errors="replace")


# --- live ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class LiveLog:
    """One live log as read: its bytes exactly as read (the newest whole lines kept), from
    where (`origin`: "journal", "kmsg", "dmesg" or a file's path), or None and why not."""

    data: bytes | None
    origin: str | None
    lines: int = 0  # log lines (a gap line not counted)
    truncated: bool = False
    tried: tuple[str, ...] = ()  # each source that gave nothing, and why
    head_lines: int = 0  # with a gap: the lines of the boot's first part, before it
    left_out: str | None = None  # with a gap: what was left out between, in words

    @property
    def source(self) -> str:
        """Where it came from, as a reader names it (the device's path for kmsg)."""
        return KMSG if self.origin == "kmsg" else self.origin or "none"

    @property
    def text(self) -> str | None:
        """The bytes as text (what is not UTF-8 replaced)."""
        return _decoded(self.data)

    def facts(self) -> dict[str, object]:
        """The manifest's account of this log (`facts.kernel_log` / `facts.libvirt_log`)."""
        out: dict[str, object] = {"origin": self.origin, "lines": self.lines}
        out["truncated"] = self.truncated
        if self.left_out is not None:
            out["head_lines"] = self.head_lines
            out["left_out"] = self.left_out
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
        self.popped = 0  # lines added, then dropped for newer ones

    def add(self, line: bytes) -> None:
        line = line[: self.max_bytes - 1] + b"\n"
        self.lines.append(line)
        self.size += len(line)
        while self.size > self.max_bytes or len(self.lines) > self.max_lines:
            self.size -= len(self.lines.popleft())
            self.popped += 1
            self.dropped = True

    def __bool__(self) -> bool:
        return bool(self.lines)

    def result(self, origin: str, tried: list[str]) -> LiveLog:
        data = b"".join(self.lines)
        return LiveLog(data, origin, len(self.lines), self.dropped, tuple(tried))


class _HeadTail(_Newest):
    """The first lines of a stream (bounded) and its newest (bounded), and how many were left
    out between them: a log's start and its end, in memory bounded by both."""

    def __init__(self, head_bytes: int, head_lines: int, max_bytes: int, max_lines: int) -> None:
        super().__init__(max_bytes, max_lines)
        self.head: list[bytes] = []
        self.head_size = 0
        self.head_bytes = head_bytes
        self.head_lines = head_lines
        self.gap: str | None = None  # what was left out, when the journal cannot count it
        self.met = False  # the journal's first part reached its newest: nothing between

    @property
    def head_full(self) -> bool:
        return self.head_lines <= len(self.head) or self.head_size >= self.head_bytes

    def add(self, line: bytes) -> None:
        if not self.head_full:
            if self.head_size + len(line) < self.head_bytes:
                self.head.append(line + b"\n")
                self.head_size += len(line) + 1
                return
            self.head_bytes = 0  # a line that does not fit ends the first part
        super().add(line)

    def __bool__(self) -> bool:
        return bool(self.head or self.lines)

    def result(self, origin: str, tried: list[str]) -> LiveLog:
        lines = len(self.head) + len(self.lines)
        left = self.gap or (f"{self.popped} lines" if self.popped else None)
        gap = gap_line(left) if left else b""
        data = b"".join(self.head) + gap + b"".join(self.lines)
        return LiveLog(
            data,
            origin,
            lines,
            self.dropped,
            tuple(tried),
            head_lines=len(self.head) if left else 0,
            left_out=left,
        )


def live_kernel_log(
    max_bytes: int = TAIL_BYTES,
    max_lines: int = TAIL_LINES,
    timeout_s: float = COMMAND_TIMEOUT_S,
    head_bytes: int = HEAD_BYTES,
    head_lines: int = HEAD_LINES,
) -> LiveLog:
    """This boot's kernel messages on the live machine, dmesg style (`[   12.345678] msg`):
    its first `head_bytes`/`head_lines` and its newest `max_bytes`/`max_lines`, a gap line
    between them when some were left out; from the journal, else /dev/kmsg, else `dmesg`;
    each source that gave nothing is in `tried` with why."""
    tried: list[str] = []
    readers: tuple[tuple[str, str, Callable[[_HeadTail, float], str | None]], ...] = (
        ("journal", "journal", _kernel_journal),
        ("kmsg", KMSG, _kmsg),
        ("dmesg", "dmesg", _dmesg),
    )
    for origin, label, reader in readers:
        kept = _HeadTail(head_bytes, head_lines, max_bytes, max_lines)
        why = reader(kept, timeout_s)
        if why is None:
            return kept.result(origin, tried)
        tried.append(f"{label}: {why}")
    return LiveLog(None, None, tried=tuple(tried))


def live_libvirt_log(
    host: Host,
    max_bytes: int = TAIL_BYTES,
    max_lines: int = TAIL_LINES,
    timeout_s: float = COMMAND_TIMEOUT_S,
) -> LiveLog:
    """libvirt's daemon log of this boot on the live machine, the newest `max_bytes` /
    `max_lines`: the journal of libvirtd/virtqemud, else its log file (a machine without
    systemd), the monolithic daemon's, else the modular one's."""
    newest = _Newest(max_bytes, max_lines)
    units = [arg for unit in LIBVIRT_UNITS for arg in ("-u", unit)]
    why = _journal(newest, [*units, "-o", "short-iso-precise"], timeout_s, json_lines=False)
    if why is None:
        return newest.result("journal", [])
    tried = [f"journal: {why}"]
    for rel in LIBVIRT_FILE_LOGS:
        data, truncated, problem = _tail(host, rel, max_bytes)
        if data is not None:
            lines = data.count(b"\n")
            return LiveLog(data, "/" + rel, lines, truncated, tuple(tried))
        said = "not present" if problem == "missing" else f"not readable ({problem})"
        tried.append(f"/{rel}: {said}")
    return LiveLog(None, None, tried=tuple(tried))


def _journal(
    newest: _Newest,
    args: list[str],
    timeout_s: float,
    *,
    json_lines: bool,
    cursors: list[str | None] | None = None,
) -> str | None:
    """Read this boot's journal entries selected by `args` into `newest` (each one's cursor
    into `cursors`, JSON only); None when there were some, else why not."""
    exe = shutil.which("journalctl", path=SYSTEM_PATH)
    if exe is None:
        return "journalctl not installed"
    command = [exe, "-b", "0", "-q", "--no-pager", "-n", str(newest.max_lines), *args]
    done = _run(command, timeout_s)
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
    err = _first_line(done.stderr)
    if done.returncode != 0:
        return f"journalctl failed (exit {done.returncode}{': ' + err if err else ''})"
    return err or "no entries for this boot"


def _kernel_journal(kept: _HeadTail, timeout_s: float) -> str | None:
    """This boot's kernel entries in the journal: the newest (`-n`, read backwards: bounded
    time) and, when there may be older ones, the first, streamed from the boot's start until
    the head is full; entries in both (by cursor) are kept once."""
    args = ["-k", "-o", "json", f"--output-fields=MESSAGE,{_KERNEL_TIME}"]
    newest = _Newest(kept.max_bytes, kept.max_lines)
    cursors: list[str | None] = []
    why = _journal(newest, args, timeout_s, json_lines=True, cursors=cursors)
    if why is not None:
        return why
    if len(cursors) < kept.max_lines and not newest.popped:  # the whole boot: kept splits it
        for line in newest.lines:
            kept.add(line[:-1])
        return None
    exe = shutil.which("journalctl", path=SYSTEM_PATH)
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
    exe: str, args: list[str], kept: _HeadTail, newest: set[str], timeout_s: float
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
            env={"LC_ALL": "C", "PATH": SYSTEM_PATH, "SYSTEMD_PAGER": ""},
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
    usec = entry.get(_KERNEL_TIME, entry.get("__MONOTONIC_TIMESTAMP"))
    stamp = _stamp(int(usec)) if isinstance(usec, str) and usec.isdigit() else b""
    return cursor, stamp + _one_line(text)


def _one_line(message: bytes) -> bytes:
    """A message as one line, escaped as the kernel escapes it in /dev/kmsg."""
    return message.replace(b"\r", b"\\x0d").replace(b"\n", b"\\x0a")


def _stamp(usec: int) -> bytes:
    return b"[%5d.%06d] " % (usec // 1_000_000, usec % 1_000_000)


def _kmsg(newest: _HeadTail, timeout_s: float) -> str | None:
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
    return _stamp(int(fields[2])) + message


def _dmesg(newest: _HeadTail, timeout_s: float) -> str | None:
    """`dmesg` (no journal and no /dev/kmsg): a message over several lines becomes one, its
    newlines escaped as /dev/kmsg escapes them."""
    exe = shutil.which("dmesg", path=SYSTEM_PATH)
    if exe is None:
        return "not installed"
    done = _run([exe], timeout_s)
    if isinstance(done, str):
        return done
    if done.returncode != 0:
        why = _first_line(done.stderr) or f"exit {done.returncode}"
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


def _run(command: list[str], timeout_s: float) -> subprocess.CompletedProcess[bytes] | str:
    """Run a reader (bounded in time, in a fixed environment); its result, or why none."""
    try:
        return subprocess.run(  # noqa: S603 - a fixed command from the system directories
            command,
            capture_output=True,
            stdin=subprocess.DEVNULL,
            timeout=timeout_s,
            env={"LC_ALL": "C", "PATH": SYSTEM_PATH, "SYSTEMD_PAGER": ""},
            check=False,
        )
    except subprocess.TimeoutExpired:
        return f"timed out after {timeout_s:g} s"
    except OSError as exc:
        return f"failed: {exc.strerror or exc}"


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


def _first_line(data: bytes) -> str:
    line = data.decode("utf-8", errors="replace").strip().split("\n", 1)[0]
    return line[:200]
