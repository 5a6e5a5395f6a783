"""The prefilter: which lines of an input hold one of the catalogue's literals.

Only those lines reach the regular expressions, so a large log costs a few passes of fast
substring search, not a regex per line. Two engines give the same lines: Python's own
(`bytes.find` per literal over large chunks, lowercased) and, for large regular files, GNU grep
(`grep -F -i -n -a`, one pass for all literals), with the lines counted beside it. Memory is
bounded by the chunk size and the lines let through."""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

CHUNK = 8 << 20
GREP_FROM_BYTES = 4 << 20  # regular files at least this large go through grep when it exists


@dataclass(frozen=True)
class Candidate:
    line: int  # 1-based within its input
    raw: bytes  # without the newline


class Counter:
    """Lines seen in one input (a line is text up to a newline, or the last text without one)."""

    def __init__(self) -> None:
        self.lines = 0


def candidates_in_stream(
    stream: BinaryIO, literals: tuple[str, ...], counter: Counter
) -> Iterator[Candidate]:
    """The lines of `stream` holding a literal (case-insensitive, ASCII), in order."""
    needles = tuple(sorted({lit.lower().encode("utf-8") for lit in literals}))
    base_line = 0
    carry = b""
    while True:
        block = stream.read(CHUNK)
        if not block:
            break
        data = carry + block
        cut = data.rfind(b"\n") + 1
        if cut == 0 and len(data) < 4 * CHUNK:
            carry = data  # a line longer than a chunk: wait for its end (up to 4 chunks)
            continue
        if cut == 0:
            cut = len(data)  # a giant line: examined in pieces
        chunk, carry = data[:cut], data[cut:]
        yield from _chunk_candidates(chunk, needles, base_line)
        base_line += chunk.count(b"\n") + (0 if chunk.endswith(b"\n") else 1)
    if carry:
        yield from _chunk_candidates(carry, needles, base_line)
        base_line += carry.count(b"\n") + 1
    counter.lines = base_line


def _chunk_candidates(
    chunk: bytes, needles: tuple[bytes, ...], base_line: int
) -> Iterator[Candidate]:
    low = chunk.lower()
    starts: set[int] = set()
    for needle in needles:
        pos = low.find(needle)
        while pos >= 0:
            start = low.rfind(b"\n", 0, pos) + 1
            starts.add(start)
            end = low.find(b"\n", pos)
            if end < 0:
                break
            pos = low.find(needle, end)
    last_start, last_line = 0, base_line + 1
    for start in sorted(starts):
        last_line += chunk.count(b"\n", last_start, start)
        last_start = start
        end = chunk.find(b"\n", start)
        yield Candidate(last_line, chunk[start : end if end >= 0 else len(chunk)])


def grep_usable(path: str) -> str | None:
    """GNU grep's path when `path` is a large regular file and grep is installed."""
    try:
        if Path(path).stat().st_size < GREP_FROM_BYTES:
            return None
    except OSError:
        return None
    return shutil.which("grep")


def candidates_by_grep(
    grep: str, path: str, literals: tuple[str, ...], counter: Counter
) -> Iterator[Candidate]:
    """The same lines as `candidates_in_stream`, found by GNU grep; the lines are counted by a
    thread reading the file beside it (the two passes run on two cores)."""
    pattern = "\n".join(sorted({lit.lower() for lit in literals}))
    env = {"LC_ALL": "C", "PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    count_thread = threading.Thread(target=_count_lines, args=(path, counter), daemon=True)
    count_thread.start()
    proc = subprocess.Popen(  # noqa: S603 - fixed arguments, the file is only read
        [grep, "-F", "-i", "-n", "-a", "-e", pattern, "--", path],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL,
        env=env,
    )
    if proc.stdout is None:  # pragma: no cover - stdout=PIPE always gives one
        raise RuntimeError("grep has no output pipe")
    try:
        for out in proc.stdout:
            number, _, raw = out.partition(b":")
            yield Candidate(int(number), raw[:-1] if raw.endswith(b"\n") else raw)
    finally:
        proc.stdout.close()
        proc.kill()
        proc.wait()
        count_thread.join()


def _count_lines(path: str, counter: Counter) -> None:
    lines, last = 0, b"\n"
    with Path(path).open("rb") as f:
        while block := f.read(CHUNK):
            lines += block.count(b"\n")
            last = block[-1:]
    counter.lines = lines + (0 if last == b"\n" else 1)
