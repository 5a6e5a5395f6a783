"""`workbench explain`: the causes that pasted or saved log lines (and a machine) show."""

from __future__ import annotations

import argparse
import contextlib
import gzip
import io
import json
import lzma
import os
import stat
import sys
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import IO, TYPE_CHECKING, BinaryIO, cast

from workbench.commands.common import say, text_stdout
from workbench.core.errors import ConfigError, WorkbenchError

if TYPE_CHECKING:
    from workbench.core.host import Host
    from workbench.core.machinelogs import MachineLog
    from workbench.explain.matcher import Matcher
    from workbench.explain.model import CauseMatch, Explanation

STDIN = "-"
GZIP_MAGIC = b"\x1f\x8b"
XZ_MAGIC = b"\xfd7zXZ\x00"
SHOWN_CHARS = 300  # of an evidence line on the terminal; --json keeps it whole
GLYPH = {"fail": "✘", "warn": "!", "info": "·"}
ASCII_GLYPH = {"fail": "x", "warn": "!", "info": "*"}
COLOUR = {"fail": "31", "warn": "33", "info": "2"}
MARKS = {"→": "->", "…": "...", "─": "-", "·": "-"}
OWN_MARKS = "".join([*GLYPH.values(), *MARKS])
# What a compressed input that cannot be read to its end raises (besides OSError).
DECOMPRESS_ERRORS = (EOFError, lzma.LZMAError, gzip.BadGzipFile, ValueError)


class InputError(ConfigError):
    """An input that cannot be read: missing, a directory, a device, corrupt (exit 2)."""

    code = "INPUT_UNREADABLE"


def run(args: argparse.Namespace) -> int:
    files: list[str] = list(args.files)
    machine = args.root is not None or args.capture is not None
    if not files and not machine:
        if not stdin_has_input():
            raise ConfigError(
                "explain: nothing to read: give FILE ... (a log, .gz or .xz), - for standard "
                "input, pipe the lines in, or name a machine with --root DIR or --capture FILE"
            )
        files = [STDIN]
    if files.count(STDIN) > 1:
        raise ConfigError("explain: - (standard input) can be read only once")
    if STDIN in files and sys.stdin is None:  # started with `<&-`
        raise InputError("explain: -: standard input is closed")
    for name in files:  # every input checked before any is read: a bad one reads none
        if name != STDIN:
            check_file(name)
    from workbench.explain.matcher import Matcher

    matcher = Matcher()
    if machine:
        from workbench.target import open_target

        with open_target(root=args.root, capture=args.capture) as target:
            matcher.feed_host(target.host)
            read_inputs(matcher, files)
            if not files:
                feed_machine_logs(matcher, target.host)
    else:
        read_inputs(matcher, files)
    explanation = matcher.result()
    if args.json:
        sys.stdout.write(json.dumps(explanation.to_dict(), indent=2) + "\n")
    else:
        colour = args.color == "always" or (
            args.color == "auto" and sys.stdout.isatty() and "NO_COLOR" not in os.environ
        )
        ascii_only = text_stdout(OWN_MARKS)
        several = len(files) > 1 or (machine and not files)
        sys.stdout.write(
            render_text(explanation, colour=colour, ascii_only=ascii_only, sources=several)
        )
    return 1 if explanation.found else 0


def stdin_has_input() -> bool:
    """Whether standard input is a pipe, a socket or a file (not a terminal, not /dev/null)."""
    try:
        mode = os.fstat(0).st_mode
    except (OSError, ValueError):
        return False
    return stat.S_ISFIFO(mode) or stat.S_ISREG(mode) or stat.S_ISSOCK(mode)


def check_file(name: str) -> None:
    """Refuse, in one line, an input that is not a readable regular file: a directory, a
    device or a FIFO (which may never end: give it as `-`), a missing file."""
    if not name:
        raise InputError("explain: an empty FILE name (give a path, or - for standard input)")
    try:
        mode = Path(name).stat().st_mode
    except FileNotFoundError:
        raise InputError(f"explain: {name}: no such file") from None
    except OSError as exc:
        raise InputError(f"explain: {name}: {exc.strerror or exc}") from None
    if os.path.realpath(name) == "/proc/kmsg":  # a read takes the messages from syslog
        raise InputError(
            f"explain: {name}: reading it would take the kernel's messages from the system "
            "log; give dmesg's output instead (`dmesg | workbench explain`)"
        )
    if stat.S_ISDIR(mode):
        raise InputError(f"explain: {name}: is a directory (give the log files in it)")
    if not stat.S_ISREG(mode):
        raise InputError(
            f"explain: {name}: not a regular file (a device, a pipe or a socket may never end; "
            "to read one, give - and redirect it to standard input)"
        )


def read_inputs(matcher: Matcher, files: list[str]) -> None:
    for name in files:
        try:
            read_input(matcher, name)
        except InputError:
            raise
        except (OSError, *DECOMPRESS_ERRORS) as exc:
            why = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
            shown = "standard input" if name == STDIN else name
            raise InputError(f"explain: {shown}: cannot be read: {why}") from None


def read_input(matcher: Matcher, name: str) -> None:
    """One input into the matcher: plain, gzip or xz (known by its first bytes, not its name);
    a large plain file goes through the prefilter's grep engine."""
    if name == STDIN:
        if (whole := _stdin_as_file()) is not None:
            matcher.feed_path(whole, STDIN)  # a large file behind `<`: grep reads it too
        else:
            feed_stream(matcher, sys.stdin.buffer, STDIN)
        return
    fd = os.open(name, os.O_RDONLY | os.O_NOCTTY | os.O_NONBLOCK)  # no FIFO wait, no tty
    with os.fdopen(fd, "rb") as stream:
        if not stat.S_ISREG(os.fstat(fd).st_mode):  # swapped since it was checked
            raise InputError(f"explain: {name}: not a regular file")
        head = stream.read(len(XZ_MAGIC))
        if head.startswith(GZIP_MAGIC) or head.startswith(XZ_MAGIC):
            stream.seek(0)
            feed_stream(matcher, stream, name)
            return
    matcher.feed_path(name, name)


def _stdin_as_file() -> str | None:
    """A path to standard input's file when it is a large uncompressed regular file not yet
    read (`workbench explain < big.log`), so that the prefilter's grep engine can read it."""
    from workbench.explain.scan import GREP_FROM_BYTES

    try:
        info = os.fstat(0)
        if not stat.S_ISREG(info.st_mode) or info.st_size < GREP_FROM_BYTES:
            return None
        if os.lseek(0, 0, os.SEEK_CUR) != 0:
            return None  # partly read by whoever ran us: only the rest is ours
        head = os.pread(0, len(XZ_MAGIC), 0)
    except OSError:
        return None
    if head.startswith((GZIP_MAGIC, XZ_MAGIC)):
        return None
    path = f"/proc/{os.getpid()}/fd/0"  # reopens the same file, from its start
    return path if Path(path).exists() else None


def feed_stream(matcher: Matcher, stream: IO[bytes], source: str) -> None:
    head = _read_exactly(stream, len(XZ_MAGIC))
    joined = _Rejoined(head, stream)
    with _decompressed(head, cast(BinaryIO, joined)) as plain:
        matcher.feed_stream(plain, source)


def _read_exactly(stream: IO[bytes], size: int) -> bytes:
    """Up to `size` bytes: a pipe may hand them over in pieces."""
    head = b""
    while len(head) < size and (piece := stream.read(size - len(head))):
        head += piece
    return head


@contextlib.contextmanager
def _decompressed(head: bytes, stream: BinaryIO) -> Iterator[BinaryIO]:
    if head.startswith(GZIP_MAGIC):
        with gzip.GzipFile(fileobj=stream, mode="rb") as plain:
            yield cast(BinaryIO, plain)
    elif head.startswith(XZ_MAGIC):
        with lzma.LZMAFile(stream, mode="rb") as xz:
            yield cast(BinaryIO, xz)
    else:
        yield stream


class _Rejoined(io.RawIOBase):
    """The bytes already read from a stream, then the rest of it."""

    def __init__(self, head: bytes, rest: IO[bytes]) -> None:
        self._head, self._rest = head, rest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        if self._head:
            n = min(len(buffer), len(self._head))
            buffer[:n] = self._head[:n]
            self._head = self._head[n:]
            return n
        data = self._rest.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def read(self, size: int = -1) -> bytes:
        if self._head:
            if size < 0:
                data, self._head = self._head + self._rest.read(), b""
                return data
            data, self._head = self._head[:size], self._head[size:]
            return data
        return self._rest.read(size)


def feed_machine_logs(matcher: Matcher, host: Host) -> None:
    """The machine's own logs: its kernel log and each domain's QEMU log; a log that cannot be
    had is said on stderr, one line each (absence of a log is not absence of a failure)."""
    from workbench.core import machinelogs

    logs = [_machine_log("kernel", lambda: machinelogs.kernel_log(host))]
    try:
        names = host.listdir(machinelogs.QEMU_LOG_DIR)
    except WorkbenchError as exc:
        say(f"qemu logs: not recorded (could not be read: {exc.message})")
        names = []
    else:
        if not any(n.endswith(".log") for n in names):
            say(f"qemu logs: not recorded (no {machinelogs.QEMU_LOG_DIR}/NAME.log)")
    vms = sorted(n[: -len(".log")] for n in names if n.endswith(".log") and len(n) > 4)
    for vm in vms:
        logs.append(_machine_log(f"qemu:{vm}", partial(machinelogs.qemu_log, host, vm)))
    for log in logs:
        if log.text is None:
            name = "kernel log" if log.name == "kernel" else f"{log.name} log"
            say(f"{name}: not recorded ({log.why or 'no reason given'})")
            continue
        matcher.feed_text(log.text, log.name)


def _machine_log(name: str, read: Callable[[], MachineLog]) -> MachineLog:
    """One of the machine's logs; one that cannot be read is a log without text saying why."""
    from workbench.core.machinelogs import MachineLog

    try:
        return read()
    except WorkbenchError as exc:
        return MachineLog(name, "", None, f"could not be read: {exc.message}")


def render_text(explanation: Explanation, *, colour: bool, ascii_only: bool, sources: bool) -> str:
    """Each cause with its evidence lines, subject, remedy and references; harmless ones after
    a separator; a one-line summary. The input's text is escaped (safe_text)."""
    glyphs = ASCII_GLYPH if ascii_only else GLYPH
    real = [c for c in explanation.causes if not c.benign]
    benign = [c for c in explanation.causes if c.benign]
    lines: list[str] = []
    for cause in real:
        lines += _cause_lines(cause, glyphs, colour, sources)
    if benign:
        if real:
            lines.append("")
        lines.append(
            _paint("── harmless: these lines look alarming but cause no failure ──", "2", colour)
        )
        for cause in benign:
            lines += _cause_lines(cause, glyphs, colour, sources)
    n_lines = explanation.lines
    found = f"{len(real)} cause{'s' if len(real) != 1 else ''}" if real else "no cause found"
    extra = f", {len(benign)} harmless" if benign else ""
    lines.append(f"{n_lines} line{'s' if n_lines != 1 else ''} read, {found}{extra}")
    text = "\n".join(lines) + "\n"
    if ascii_only:
        for mark, plain in MARKS.items():
            text = text.replace(mark, plain)
        text = text.encode("ascii", "backslashreplace").decode("ascii")
    return text


def _paint(text: str, code: str, colour: bool) -> str:
    return f"\x1b[{code}m{text}\x1b[0m" if colour else text


def _cause_lines(
    cause: CauseMatch, glyphs: dict[str, str], colour: bool, sources: bool
) -> list[str]:
    from workbench.core.text import safe_text as s

    level = "info" if cause.benign else cause.severity
    head = _paint(f"{glyphs[level]} {s(cause.title)}", COLOUR[level], colour)
    kind = "harmless" if cause.benign else cause.severity
    meta = [s(cause.code), kind, f"confidence {cause.confidence:.2f}"]
    if cause.subject:
        meta.append(" ".join(f"{s(k)}={s(v)}" for k, v in sorted(cause.subject.items())))
    lines = [head, f"    {' · '.join(meta)}"]
    for ev in cause.evidence:
        where = f"{ev.source}:{ev.line}" if sources and ev.source else str(ev.line)
        text = ev.text if len(ev.text) <= SHOWN_CHARS else ev.text[:SHOWN_CHARS] + "…"
        lines.append(f"    {s(where)}: {s(text)}")
    if cause.more_evidence:
        more = cause.more_evidence
        lines.append(f"    … and {more} more line{'s' if more != 1 else ''}")
    if cause.remedy and not cause.benign:
        lines.append(f"    → {s(cause.remedy)}")
    elif cause.remedy:
        lines.append(f"    {s(cause.remedy)}")
    for ref in cause.references:
        lines.append(f"    see {s(ref)}")
    return lines
