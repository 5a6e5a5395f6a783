"""`workbench explain`: the causes that pasted or saved log lines (and a machine) show."""

from __future__ import annotations

import argparse
import json
import os
import stat
import sys
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import IO, TYPE_CHECKING, BinaryIO, cast

from workbench.commands.common import say, text_stdout
from workbench.core.errors import ConfigError, WorkbenchError
from workbench.core.formats import (
    DECOMPRESS_ERRORS,
    HEAD,
    MAX_DECOMPRESSED,
    InputError,
    compressed,
    opened,
    refused,
)
from workbench.core.text import safe_text

if TYPE_CHECKING:
    from workbench.core.host import Host
    from workbench.core.machinelogs import MachineLog
    from workbench.explain.matcher import Matcher
    from workbench.explain.model import CauseMatch, Explanation

STDIN = "-"
KMSG_REFUSED = (
    "/proc/kmsg: reading it would take the kernel's messages from the system log; give "
    "dmesg's output instead (`dmesg | workbench explain`)"
)
SHOWN_CHARS = 300  # of an evidence line on the terminal; --json keeps it whole
SUGGESTIVE = (
    "── suggestive: these lines point to a cause only with the machine's facts (its drivers "
    "now, its IOMMU groups); with --root/--capture/--sos the machine's facts decide ──"
)
GLYPH = {"fail": "✘", "warn": "!", "info": "·", "unlikely": "?"}
ASCII_GLYPH = {"fail": "x", "warn": "!", "info": "*", "unlikely": "?"}
COLOUR = {"fail": "31", "warn": "33", "info": "2"}
MARKS = {"→": "->", "…": "...", "─": "-", "·": "-"}
OWN_MARKS = "".join([*GLYPH.values(), *MARKS])


def run(args: argparse.Namespace) -> int:
    files: list[str] = list(args.files)
    machine = args.root is not None or args.capture is not None or args.sos is not None
    if not files and not machine:
        if not stdin_has_input():
            raise ConfigError(
                "explain: nothing to read: give FILE ... (a log, .gz or .xz), - for standard "
                "input, pipe the lines in, or name a machine with --root DIR, --capture FILE "
                "or --sos FILE|DIR"
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
    not_read: list[dict[str, str]] = []
    logs_read = 0
    if machine:
        from workbench.target import open_target

        with open_target(
            root=args.root, capture=args.capture, sos=getattr(args, "sos", None)
        ) as target:
            matcher.feed_host(target.host)
            read_inputs(matcher, files)
            if not files:
                not_read, logs_read = feed_machine_logs(matcher, target.host)
    else:
        read_inputs(matcher, files)
    explanation = matcher.result()
    explanation.not_read = not_read
    if machine and not files and not logs_read and not explanation.found:
        # No log of the machine at all: "0 lines read, no cause found" would read as a clean
        # bill; with nothing read the input is unreadable for explain (exit 2), each missing
        # log and what would record it already said on stderr, one line each.
        raise InputError(
            "explain: nothing read: none of this machine's logs (kernel, libvirt, QEMU) could "
            "be had, each said above with what would record it; no log is not no failure",
            details={"not_read": not_read},
            remedy="Get those logs, or give log files: workbench explain FILE ...",
        )
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
    if os.path.realpath(name) == "/proc/kmsg":
        raise InputError(f"explain: {name}: {KMSG_REFUSED}")
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
        if _is_proc_kmsg(0):
            raise InputError(f"explain: standard input: {KMSG_REFUSED}")
        if (whole := _stdin_as_file()) is not None:
            matcher.feed_path(whole, STDIN)  # a large file behind `<`: grep reads it too
        else:
            feed_stream(matcher, sys.stdin.buffer, STDIN)
        return
    fd = os.open(name, os.O_RDONLY | os.O_NOCTTY | os.O_NONBLOCK)  # no FIFO wait, no tty
    with os.fdopen(fd, "rb") as stream:
        if not stat.S_ISREG(os.fstat(fd).st_mode):  # swapped since it was checked
            raise InputError(f"explain: {name}: not a regular file")
        head = stream.read(HEAD)
        if compressed(head) or refused(head):
            stream.seek(0)
            feed_stream(matcher, stream, name)
            return
    matcher.feed_path(name, name)


def _is_proc_kmsg(fd: int) -> bool:
    """Whether `fd` is /proc/kmsg (its reader takes the kernel's messages from syslog)."""
    try:
        mine, kmsg = os.fstat(fd), Path("/proc/kmsg").stat()
    except OSError:
        return False
    return (mine.st_dev, mine.st_ino) == (kmsg.st_dev, kmsg.st_ino)


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
        head = os.pread(0, HEAD, 0)
    except OSError:
        return None
    if compressed(head) or refused(head):
        return None
    path = f"/proc/{os.getpid()}/fd/0"  # reopens the same file, from its start
    return path if Path(path).exists() else None


def feed_stream(matcher: Matcher, stream: IO[bytes], source: str) -> None:
    """A stream in any format `formats` knows; a decompressed one stops at the cap, said."""
    try:
        with opened(cast(BinaryIO, stream)) as (plain, cap):
            matcher.feed_stream(plain, source)
    except InputError as exc:
        shown = "standard input" if source == STDIN else source
        raise InputError(f"explain: {shown}: {exc.message}") from None
    if cap is not None and cap.cut:
        shown = "standard input" if source == STDIN else source
        say(
            f"explain: {shown}: stopped after {MAX_DECOMPRESSED >> 30} GiB of decompressed "
            "text; the rest was not read"
        )


def feed_machine_logs(matcher: Matcher, host: Host) -> tuple[list[dict[str, str]], int]:
    """The machine's own logs: its kernel log, libvirt's log and each domain's QEMU log; a log
    that cannot be had is said on stderr, one line each, and returned (`{"source", "why"}`):
    absence of a log is not absence of a failure. With them, how many logs were read."""
    not_read: list[dict[str, str]] = []
    from workbench.core import machinelogs

    logs = [
        _machine_log("kernel", lambda: machinelogs.kernel_log(host)),
        _machine_log("libvirt", lambda: machinelogs.libvirt_log(host)),
    ]
    try:
        names = host.listdir(machinelogs.QEMU_LOG_DIR)
    except WorkbenchError as exc:
        not_read.append(_unread("qemu", f"could not be read: {exc.message}"))
        names = []
    else:
        if not any(n.endswith(".log") for n in names):
            hint = host.record_hint(machinelogs.QEMU_LOG_DIR)  # a sosreport's: what collects it
            why = (
                f"none in /{machinelogs.QEMU_LOG_DIR} (no domain has started here)"
                if host.live
                else f"not recorded: {hint or f'no {machinelogs.QEMU_LOG_DIR}/NAME.log'}"
            )
            not_read.append(_unread("qemu", why))
    vms = sorted(n[: -len(".log")] for n in names if n.endswith(".log") and len(n) > 4)
    for vm in vms:
        logs.append(_machine_log(f"qemu:{vm}", partial(machinelogs.qemu_log, host, vm)))
    for log in logs:
        if log.text is None:
            not_read.append(_unread(log.name, log.why or "no reason given"))
            continue
        gap = log.gap()
        if gap is not None:  # what was read is judged: say what that was
            say(
                f"{log.name} log: its first {gap.head} and last {gap.tail} lines read "
                f"({gap.left_out} left out between)"
            )
        matcher.feed_text(log.text, log.name)
    return not_read, len(logs) - sum(1 for log in logs if log.text is None)


def _unread(source: str, why: str) -> dict[str, str]:
    """A log that could not be had, said on stderr in one line (`kernel log: not recorded: ...`)."""
    said = why if why.startswith(("not ", "none ", "/")) else f"not read ({why})"
    say(f"{source} log{'s' if source == 'qemu' else ''}: {safe_text(said)}")
    return {"source": source, "why": why}


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
    if explanation.suggestive:
        if lines:
            lines.append("")
        lines.append(_paint(SUGGESTIVE, "2", colour))
        for cause in explanation.suggestive:
            lines += _cause_lines(cause, glyphs, colour, sources, suggestive=True)
    n_lines = explanation.lines
    found = f"{len(real)} cause{'s' if len(real) != 1 else ''}" if real else "no cause found"
    extra = f", {len(benign)} harmless" if benign else ""
    if explanation.suggestive:
        extra += f", {len(explanation.suggestive)} suggestive (not a verdict)"
    unread = ", ".join(f"{n['source']} log" for n in explanation.not_read)
    missing = f" (not read: {safe_text(unread)})" if unread else ""
    lines.append(f"{n_lines} line{'s' if n_lines != 1 else ''} read, {found}{extra}{missing}")
    text = "\n".join(lines) + "\n"
    if ascii_only:
        for mark, plain in MARKS.items():
            text = text.replace(mark, plain)
        text = text.encode("ascii", "backslashreplace").decode("ascii")
    return text


def _paint(text: str, code: str, colour: bool) -> str:
    return f"\x1b[{code}m{text}\x1b[0m" if colour else text


def _shown(text: str) -> str:
    """An evidence line as the terminal shows it: a journal record (`journalctl -o json`) as
    its MESSAGE (a byte array decoded), tabs as spaces; cut at SHOWN_CHARS (--json keeps the
    line whole)."""
    if text.lstrip().startswith("{"):
        from workbench.explain.lines import journal_message

        text = journal_message(text) or text
    text = text.replace("\t", "    ")
    return text if len(text) <= SHOWN_CHARS else text[:SHOWN_CHARS] + "…"


def _cause_lines(
    cause: CauseMatch, glyphs: dict[str, str], colour: bool, sources: bool, suggestive: bool = False
) -> list[str]:
    s = safe_text

    level = "info" if cause.benign else cause.severity
    # The machine's own facts argue against it, or only a log's words suggest it: shown as a
    # question, never as a plain failure.
    doubt = suggestive or (cause.against and not cause.benign)
    glyph = glyphs["unlikely"] if doubt else glyphs[level]
    head = _paint(f"{glyph} {s(cause.title)}", COLOUR["info" if suggestive else level], colour)
    kind = "suggestive" if suggestive else "harmless" if cause.benign else cause.severity
    meta = [s(cause.code), kind, f"confidence {cause.confidence:.2f}"]
    if cause.against and not cause.benign:
        meta.append(
            "unlikely: the machine's facts argue against it ("
            + ", ".join(s(name.replace("_", " ")) for name in cause.against)
            + ")"
        )
    if cause.subject:
        meta.append(" ".join(f"{s(k)}={s(v)}" for k, v in sorted(cause.subject.items())))
    lines = [head, f"    {' · '.join(meta)}"]
    for ev in cause.evidence:
        where = f"{ev.source}:{ev.line}" if sources and ev.source else str(ev.line)
        text = _shown(ev.text)
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
