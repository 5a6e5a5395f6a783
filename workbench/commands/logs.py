"""`workbench logs [SOURCE ...]`: filter logs (files, stdin, the kernel's, QEMU's, a journal's,
ours by default), merged by time, and follow them. One JSON-lines file without --grep, --lines
or --follow takes the fast scan (`logs.parallel`); anything else the merged path
(`commands.logsmerged`). Exit 1 when no line matched. Bad usage raises ConfigError: the CLI
says it in one line (exit 2), and under --json as a workbench.error/1 document.

What a log line holds reaches the terminal escaped (`core.text.safe_text`), in the terminal's
encoding (ASCII escapes on a non-UTF-8 one). `--json` prints the original bytes when stdout is a
pipe or a file (it is for jq and scripts); on a terminal its control characters are escaped too.
"""

from __future__ import annotations

import argparse
import codecs
import os
import re
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, cast

from workbench.commands.common import reader_left, stop_on_signals
from workbench.core.errors import ConfigError

if TYPE_CHECKING:
    from workbench.core.host import Host
    from workbench.logs.filters import LogFilter
    from workbench.logs.sources import LogSource
    from workbench.target import Target

FLUSH_BYTES = 1 << 20


def _filter(args: argparse.Namespace) -> LogFilter:
    from workbench.logs.filters import LogFilter, parse_time
    from workbench.logs.records import RANK, normalise_level

    level = None
    if args.level:
        level = normalise_level(args.level)
        if level is None:
            raise ValueError(f"--level: unknown level {args.level!r} (one of {', '.join(RANK)})")
    grep = None
    if args.grep:
        try:
            grep = re.compile(args.grep)
        except re.error as exc:
            raise ValueError(f"--grep: bad regular expression: {exc}") from exc
    times = {}
    for name in ("since", "until"):
        value = getattr(args, name)
        if value:
            parsed = parse_time(value)
            if parsed is None:
                raise ValueError(f"--{name}: expected an ISO time or 10m / 2h / 1d, got {value!r}")
            times[name] = parsed
    return LogFilter(
        level=level, logger=args.logger, vm=args.vm, probe=args.probe, grep=grep, **times
    )


def _output_encoding() -> str:
    """stdout's encoding, normalised (`utf-8`, `ascii`, ...): what the output is encoded in, so a
    non-UTF-8 terminal gets escapes rather than mojibake or a UnicodeEncodeError."""
    try:
        return codecs.lookup(sys.stdout.encoding or "utf-8").name
    except LookupError:
        return "ascii"


def _specs(args: argparse.Namespace) -> list[str]:
    """The sources named, as `open_source` specs, in the order given."""
    specs = list(args.sources)
    if args.kernel:
        specs.append("kernel")
    specs += [f"qemu:{name}" for name in args.qemu or ()]
    specs += [f"journal:{unit}" for unit in args.journal or ()]
    # A source named twice is read once; `-` twice stays, to be refused as such.
    return [s for i, s in enumerate(specs) if s == "-" or s not in specs[:i]]


def run(args: argparse.Namespace) -> int:
    if args.lines is not None and args.lines < 0:
        raise ConfigError(f"--lines: expected a count of lines, got {args.lines}")
    specs = _specs(args)
    try:
        _filter(args)  # every option checked before any source is opened
    except ValueError as exc:
        raise ConfigError(str(exc)) from exc
    sos = getattr(args, "sos", None)
    if args.capture is None and sos is None:
        return _choose(args, specs or ["workbench"], None)
    named = "--capture FILE" if sos is None else "--sos FILE|DIR"
    if args.sources:
        raise ConfigError(f"logs: give a log FILE or {named}, not both")
    if args.follow:
        what = "a capture" if sos is None else "a sosreport"
        raise ConfigError(f"logs: --follow needs a live log; {what} never grows")
    from workbench.target import open_target

    with open_target(capture=args.capture, sos=sos) as target:
        if not specs:
            specs = [recorded_default(target)]
        check_report_sources(target, specs)
        return _choose(args, specs, target.host)


def check_report_sources(target: Target, specs: list[str]) -> None:
    """A sosreport's kernel or QEMU log it does not hold is said as what to collect (exit 2),
    never as a missing file of its temporary root."""
    if target.kind != "sos":
        return
    from workbench.core.machinelogs import KERNEL_LOG
    from workbench.sos.model import ASK_FOR

    for spec in specs:
        if spec == "kernel":
            rel, what = KERNEL_LOG, "--kernel"
            default = f"no kernel log read from this sosreport (its dmesg: {ASK_FOR})"
        else:  # a QEMU log it lacks is said by logs.opensource, with the logs it holds
            continue
        if not rel or not Path(target.host.path(rel)).is_file():
            facts = target.host.manifest.get("facts")
            said = facts.get("kernel_log") if isinstance(facts, dict) else None
            why = said.get("why") if spec == "kernel" and isinstance(said, dict) else None
            hint = target.host.record_hint(rel) if rel else None
            raise ConfigError(f"{what}: {why or hint or default}")


def recorded_default(target: Target) -> str:
    """What `logs`/`view` show of a recorded machine when no source is named: a capture's
    workbench log, a sosreport's kernel log (a report holds no workbench log)."""
    if target.kind == "sos":
        return "kernel"
    if target.recorded_log is None:
        raise ConfigError(f"{target.capture_file}: the capture holds no workbench log")
    return str(target.recorded_log)


def _choose(args: argparse.Namespace, specs: list[str], host: Host | None) -> int:
    """One plain file without --grep or --lines: the fast scan; anything else: the sources,
    merged by time."""
    from workbench.logs.opensource import open_source
    from workbench.logs.source import LogFileError
    from workbench.logs.sourcefiles import FileSource

    try:
        sources = [open_source(spec, host) for spec in specs]
    except LogFileError as exc:
        exc.remedy = None  # its one line says it all: no such file, not a regular file, ...
        raise
    one = sources[0] if len(sources) == 1 else None
    if (
        isinstance(one, FileSource)
        and not one.compressed
        and one.label != "workbench"
        and not args.grep
        and args.lines is None
        and not args.follow
        and _json_lines(one.path)
    ):
        args.file = one.path
        return _run(args)
    return _run_merged(args, sources)


def _json_lines(path: str) -> bool:
    """Whether a file looks like JSON lines (the fast scan's input): its first byte that is not
    white space opens an object. A text log (QEMU's, dmesg's) takes the merged path, where its
    lines' times come from their text."""
    with open(path, "rb") as log:  # noqa: PTH123 - a path string, as open_log takes it
        head = log.read(4096)
    return head.lstrip()[:1] in (b"{", b"")


def _run_merged(args: argparse.Namespace, sources: list[LogSource]) -> int:
    from workbench.commands.logsmerged import Matcher, Shown, follow_merged, print_merged
    from workbench.logs.filters import LogFilter
    from workbench.logs.grepbudget import BudgetGrep
    from workbench.logs.sourcefiles import FileSource

    try:
        flt = _filter(args)
    except ValueError as exc:
        raise ConfigError(str(exc)) from exc
    grep = BudgetGrep(args.grep) if args.grep else None
    tty = sys.stdout.isatty()
    colour = args.color == "always" or (
        args.color == "auto" and tty and "NO_COLOR" not in os.environ
    )
    shown = Shown(
        sys.stdout.buffer,
        marked=len(sources) > 1,
        json=args.json,
        tty=tty,
        colour=colour,
        encoding=_output_encoding(),
    )
    matcher = Matcher(flt, grep)
    try:
        if args.follow:
            stop = stop_on_signals()
            context = 10 if args.lines is None else args.lines
            follow_merged(sources, matcher, shown, context, stop, reader_left)
            return 0
        plain = all(
            isinstance(s, FileSource) and not s.compressed and _json_lines(s.path) for s in sources
        )
        # Filter each file fast, then merge what matched. Not without a filter: the scan's
        # 16 MB blocks, split, cost ~60 MB a source where reading line by line costs nothing.
        if plain and grep is None and not flt.empty:
            print_merged(sources, Matcher(LogFilter(), None), shown, args.lines, fast=flt)
        else:
            print_merged(sources, matcher, shown, args.lines)
    finally:
        if grep is not None:
            grep.close()
    return 0 if shown.count else 1


class _Counted:
    """stdout, counting what is written to it (a forked scan's half is copied through it)."""

    def __init__(self, out: BinaryIO) -> None:
        self._out = out
        self.written = 0

    def write(self, data: bytes) -> int:
        self.written += len(data)
        return self._out.write(data)

    def flush(self) -> None:
        self._out.flush()

    def fileno(self) -> int:
        return self._out.fileno()


def _run(args: argparse.Namespace) -> int:
    from workbench.core.text import safe_text
    from workbench.logs.parallel import scan_to
    from workbench.logs.records import parse_line
    from workbench.logs.render import render
    from workbench.logs.source import LogFileError, open_log

    try:
        flt = _filter(args)
    except ValueError as exc:
        raise ConfigError(str(exc)) from exc
    try:
        fd = open_log(args.file)
    except LogFileError as exc:
        exc.remedy = None  # its one line says it all: no such file, not a regular file, ...
        raise
    tty = sys.stdout.isatty()
    colour = args.color == "always" or (
        args.color == "auto" and tty and "NO_COLOR" not in os.environ
    )
    out = _Counted(sys.stdout.buffer)
    encoding = _output_encoding()
    ascii_only = encoding != "utf-8"

    def shown(line: bytes) -> bytes:
        """A line as written. --json is the original bytes (it is for pipes), except on a
        terminal, where its control characters are escaped like the pretty output's."""
        if args.json:
            if not tty:
                return line
            text = safe_text(line.decode("utf-8", "backslashreplace"))
        else:
            text = render(parse_line(0, line), colour=colour, ascii_only=ascii_only)
        return text.encode(encoding, "backslashreplace")

    def render_lines(lines: Iterable[bytes]) -> Iterator[bytes]:
        """Matching lines as output chunks of about a megabyte."""
        pending: list[bytes] = []
        size = 0
        for line in lines:
            line = shown(line)
            pending.append(line)
            size += len(line)
            if size > FLUSH_BYTES:
                yield b"\n".join(pending) + b"\n"
                pending, size = [], 0
        if pending:
            yield b"\n".join(pending) + b"\n"

    try:
        end = os.fstat(fd).st_size
        scan_to(fd, flt, 0, end, render_lines, cast(BinaryIO, out))
        out.flush()
        return 0 if out.written else 1
    finally:
        os.close(fd)
