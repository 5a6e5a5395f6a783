"""`workbench logs` over sources other than one plain file: several sources merged by time
(each line marked with its source), compressed files, stdin, the kernel, a QEMU log, a
journal unit. Filters apply to every line (a text line: --grep and its time; its level only
where it has one); --grep has a time limit per line (`logs.grepbudget`)."""

from __future__ import annotations

import collections
import os
import queue
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace
from typing import BinaryIO

from workbench.commands.logsjson import is_record, json_line
from workbench.core.text import safe_text
from workbench.logs.filters import LogFilter
from workbench.logs.grepbudget import BudgetGrep
from workbench.logs.render import render
from workbench.logs.sourcefiles import FileSource, decode, encode
from workbench.logs.sources import LogLine, LogSource
from workbench.logs.textlines import any_record
from workbench.logs.timewindow import TimeWindow

BATCH = 512
FOLLOW_WAIT_S = 0.05


class Shown:
    """What is printed of matching lines, and how many matched."""

    def __init__(
        self, out: BinaryIO, *, marked: bool, json: bool, tty: bool, colour: bool, encoding: str
    ) -> None:
        self.out, self.marked, self.json, self.tty = out, marked, json, tty
        self.colour, self.encoding = colour, encoding
        self.count = 0

    def line(self, line: LogLine) -> bytes:
        # JSON lines that say their source (`logsjson`); of one source, its own records as
        # written, and its text lines (QEMU, dmesg) as records too: --json is JSON throughout.
        if self.json and (self.marked or not is_record(encode(line.raw))):
            data = json_line(line)
            if not self.tty:
                return data
            shown = safe_text(data.decode("utf-8", "backslashreplace"))
            return shown.encode(self.encoding, "backslashreplace")
        data = encode(line.raw)
        if self.json and not self.tty:
            text = data
        else:
            if self.json:
                shown = safe_text(data.decode("utf-8", "backslashreplace"))
            else:
                ascii_only = self.encoding != "utf-8"
                # a text source's line (QEMU, libvirt, syslog, dmesg) is read by its layout
                record = any_record(0, line.raw)
                shown = render(record, colour=self.colour, ascii_only=ascii_only)
            text = shown.encode(self.encoding, "backslashreplace")
        if self.marked:
            mark = safe_text(line.source).encode(self.encoding, "backslashreplace")
            return b"[" + mark + b"] " + text
        return text

    def write(self, lines: Iterable[LogLine]) -> None:
        chunk = [self.line(line) for line in lines]
        if chunk:
            self.count += len(chunk)
            self.out.write(b"\n".join(chunk) + b"\n")
            self.out.flush()


class Matcher:
    """Every filter of `workbench logs` over LogLines, in batches (for --grep's budget).

    A continuation line (not JSON, no time of its own: a traceback's next line) goes with the
    record before it in its source (the last line with a time) through the record filters
    (level, logger, vm, probe, since/until); --grep selects lines, each on its own."""

    def __init__(self, flt: LogFilter, grep: BudgetGrep | None) -> None:
        self.since = None if flt.since is None else flt.since.timestamp()
        self.until = None if flt.until is None else flt.until.timestamp()
        self.fields = replace(flt, grep=None, since=None, until=None)
        self.grep = grep
        self.any_field = not self.fields.empty
        # Per source: its last record's (passed every filter but --grep, was kept).
        self._heads: dict[str, tuple[bool, bool]] = {}

    def _passes(self, line: LogLine) -> bool:
        """Every filter but --grep."""
        if self.since is not None or self.until is not None:
            if line.time is None:
                return False
            if self.since is not None and line.time < self.since:
                return False
            if self.until is not None and line.time > self.until:
                return False
        return not self.any_field or self.fields.matches(any_record(0, line.raw))

    def _continues(self, line: LogLine, heads: dict[str, tuple[bool, bool]]) -> bool:
        """Whether `line` continues the record before it in its source."""
        if line.time is not None or line.raw.lstrip().startswith("{"):
            return False
        return line.source in heads

    def batch(self, lines: list[LogLine]) -> list[LogLine]:
        # First: every filter but --grep (a continuation line takes its record's verdict).
        heads = dict(self._heads)
        continues: list[bool] = []
        passes: list[bool] = []
        for line in lines:
            follows = self._continues(line, heads)
            ok = heads[line.source][0] if follows else self._passes(line)
            if not follows:
                if line.time is not None:
                    heads[line.source] = (ok, False)
                else:  # a JSON line without a time: a record of its own, with no followers
                    heads.pop(line.source, None)
            continues.append(follows)
            passes.append(ok)
        hits: dict[int, bool | None] = {}
        if self.grep is not None:
            asked = [i for i, ok in enumerate(passes) if ok]
            found = self.grep.search([lines[i].raw for i in asked])
            hits = dict(zip(asked, found, strict=True))
        # Then --grep, and whether each record was kept.
        chosen = []
        for i, line in enumerate(lines):
            hit = hits.get(i, False) if self.grep is not None else True
            if hit is None:
                budget = self.grep.budget_s if self.grep is not None else 0
                where = f"line {line.number} of " if line.number else "a line of "
                sys.stderr.write(
                    f"logs: --grep: skipped {where}{safe_text(line.source)} "
                    f"(searching it took over {budget:g} s)\n"
                )
            if continues[i]:
                keep = self._heads[line.source][0] and bool(hit)
            else:
                keep = passes[i] and bool(hit)
                if line.time is not None:
                    self._heads[line.source] = (passes[i], keep)
                else:
                    self._heads.pop(line.source, None)
            if keep:
                chosen.append(line)
        return chosen


def _batches(lines: Iterable[LogLine]) -> Iterator[list[LogLine]]:
    batch: list[LogLine] = []
    for line in lines:
        batch.append(line)
        if len(batch) >= BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def prefiltered(source: FileSource, flt: LogFilter) -> Iterator[LogLine]:
    """The lines of a plain JSON-lines file that match `flt` (no --grep), by the fast scan
    (`logs.filters.scan`: only the matching lines are parsed for their time). Their numbers
    are not counted (0: unknown): nothing `logs` prints shows a line's number,
    and the one message that does (--grep's skipped line) never comes from this path."""
    from workbench.logs.filters import scan
    from workbench.logs.linetimes import line_time
    from workbench.logs.source import open_log

    fd = open_log(source.path)
    try:
        for data in scan(fd, flt):
            raw = decode(data)
            yield LogLine(source.label, 0, raw, line_time(raw))
    finally:
        os.close(fd)


def print_merged(
    sources: list[LogSource],
    matcher: Matcher,
    shown: Shown,
    last: int | None,
    fast: LogFilter | None = None,
) -> None:
    """Every matching line of `sources`, merged by time (the last `last` of them only). With
    `fast` (every source a plain JSON-lines file, no --grep), each file is filtered by the
    fast scan before the merge, and `matcher` should keep everything."""
    from workbench.logs.merge import merge_by_time

    if fast is not None:
        files = [s for s in sources if isinstance(s, FileSource)]
        merged = merge_by_time(prefiltered(source, fast) for source in files)
    else:
        merged = merge_by_time(source.lines() for source in sources)
    if last is None:
        for batch in _batches(merged):
            shown.write(matcher.batch(batch))
        return
    tail: collections.deque[LogLine] = collections.deque(maxlen=max(0, last))
    for batch in _batches(merged):
        tail.extend(matcher.batch(batch))
    shown.write(tail)


def follow_merged(
    sources: list[LogSource],
    matcher: Matcher,
    shown: Shown,
    context: int,
    stop: threading.Event,
    reader_left: Callable[[BinaryIO], bool],
) -> None:
    """Each source followed in its own thread: its last `context` lines, then new ones as
    they come (several sources: in time order within `TimeWindow`'s hold, 200 ms), until
    `stop` is set or every source has ended (a pipe closed, a compressed file's last lines
    given)."""
    arrived: queue.Queue[LogLine | BaseException] = queue.Queue(maxsize=100_000)

    def pump(source: LogSource) -> None:
        try:
            for line in source.follow(stop, context=context):
                while not stop.is_set():
                    try:
                        arrived.put(line, timeout=0.1)
                        break
                    except queue.Full:
                        continue
        except BaseException as exc:  # noqa: BLE001 - handed to the main thread, raised there
            arrived.put(exc)

    threads = [threading.Thread(target=pump, args=(s,), daemon=True) for s in sources]
    for thread in threads:
        thread.start()
    # Several sources: each line held a moment, so lines come out by time (`logs.timewindow`).
    window = TimeWindow() if len(sources) > 1 else None
    try:
        while not stop.is_set():
            now = time.monotonic()
            if window is not None:
                shown.write(matcher.batch(window.due(now)))
            wait = None if window is None else window.wait_s(now)
            batch: list[LogLine] = []
            try:
                item = arrived.get(
                    timeout=FOLLOW_WAIT_S if wait is None else min(wait, FOLLOW_WAIT_S)
                )
            except queue.Empty:
                if not any(thread.is_alive() for thread in threads) and arrived.empty():
                    if window is not None:
                        shown.write(matcher.batch(window.drain()))
                    return
                if reader_left(shown.out):
                    raise BrokenPipeError("the reader left") from None
                continue
            while True:
                if isinstance(item, BaseException):
                    raise item
                batch.append(item)
                if len(batch) >= BATCH:
                    break
                try:
                    item = arrived.get_nowait()
                except queue.Empty:
                    break
            if window is None:
                shown.write(matcher.batch(batch))
            else:
                window.add(batch, time.monotonic())
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=2)
