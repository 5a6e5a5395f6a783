"""Compressed logs (.gz, .xz, .bz2) and UTF-16 ones for the merged view: decoded by a thread,
by blocks, into a private temporary file that the view follows as it grows (the file is read
with pread like any other; the decoded text is never held in memory). Streamed sources
(standard input, the kernel's log, a journal) are spooled the same way, line by line, by a
thread that follows them until the spool is closed."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import threading
from pathlib import Path
from typing import BinaryIO

from workbench.core.formats import DECOMPRESS_ERRORS, HEAD, InputError, compressed, opened
from workbench.logs.sources import LogSource

BLOCK = 1 << 20
STREAM_CONTEXT = 100_000  # lines a streamed source gives from before the view started


class Spool:
    """Where decoded copies go (one private directory), and the threads that write them."""

    def __init__(self) -> None:
        self._dir: str | None = None
        self._stop = threading.Event()  # set on close: the followed streams stop
        self.problems: list[str] = []  # "path: why" of an input whose decoding stopped

    def decoded(self, path: str) -> str | None:
        """The path of `path`'s decoded copy (being written), or None when it is plain text."""
        try:
            with Path(path).open("rb") as fh:
                head = fh.read(HEAD)
        except OSError:
            return None  # open_log says why, in its own words
        if not compressed(head):
            return None
        copy = self._new_copy()
        threading.Thread(target=self._copy, args=(path, copy), daemon=True).start()
        return copy

    def streamed(self, source: LogSource, *, context: int = STREAM_CONTEXT) -> str:
        """The path of a private file that a thread fills with `source`'s lines, followed
        (its last `context` lines first, then each new one) until the spool is closed."""
        copy = self._new_copy()
        threading.Thread(target=self._stream, args=(source, copy, context), daemon=True).start()
        return copy

    def piped(self, stream: BinaryIO) -> str:
        """The path of a private file that a thread fills with what `stream` (standard input,
        unbuffered: each read returns what has come) carries, decoded, by blocks as they come
        (not line by line: a pipe's lines are copied at the speed of the disk)."""
        copy = self._new_copy()
        threading.Thread(target=self._pipe, args=(stream, copy), daemon=True).start()
        return copy

    def _pipe(self, stream: BinaryIO, copy: str) -> None:
        last = b"\n"
        try:
            with opened(stream) as (plain, _cap), Path(copy).open("ab") as out:
                read = getattr(plain, "read1", plain.read)
                while not self._stop.is_set() and (block := read(BLOCK)):
                    out.write(block)
                    out.flush()
                    last = block[-1:]
                if last != b"\n":  # its last line, complete now that the pipe has ended
                    out.write(b"\n")
        except (*DECOMPRESS_ERRORS, InputError, OSError, ValueError) as exc:
            self.problems.append(f"-: {exc}")

    def _new_copy(self) -> str:
        if self._dir is None:
            self._dir = tempfile.mkdtemp(prefix="workbench-view-")
        fd, copy = tempfile.mkstemp(dir=self._dir, suffix=".log")
        os.close(fd)
        return copy

    def _stream(self, source: LogSource, copy: str, context: int) -> None:
        try:
            with Path(copy).open("ab") as out:
                for line in source.follow(self._stop, context=context):
                    # One line each: a source's line never holds a newline, but guard it.
                    out.write(line.raw.replace("\n", " ").encode("utf-8", "replace") + b"\n")
                    out.flush()
        except (*DECOMPRESS_ERRORS, InputError, OSError, ValueError) as exc:
            self.problems.append(f"{source.label}: {exc}")

    def _copy(self, path: str, copy: str) -> None:
        try:
            with (
                Path(path).open("rb") as src,
                opened(src) as (plain, _cap),
                Path(copy).open("ab") as out,
            ):
                while block := plain.read(BLOCK):
                    out.write(block)
                    out.flush()
        except (*DECOMPRESS_ERRORS, InputError, OSError) as exc:
            self.problems.append(f"{path}: {exc}")

    def close(self) -> None:
        self._stop.set()
        if self._dir is not None:
            with contextlib.suppress(OSError):
                shutil.rmtree(self._dir)


def label_of(path: str) -> str:
    """A compressed file's name without its compression suffix (the view marks lines with it)."""
    name = Path(path).name
    for suffix in (".gz", ".xz", ".bz2"):
        if name.endswith(suffix):
            return name[: -len(suffix)] or name
    return name
