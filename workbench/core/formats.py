"""What an input is, by its first bytes (not its name): plain text, gzip, xz, bzip2 (nested up
to three times: `kern.log.gz.gz`), UTF-16 text (PowerShell's `>` writes it); a zip archive or
another container is refused, by name. Decompressed text is capped (a small bomb must not run
for minutes): the cap is said, never silent."""

from __future__ import annotations

import bz2
import codecs
import contextlib
import gzip
import io
import lzma
from collections.abc import Iterator
from typing import IO, BinaryIO, cast

from workbench.core.errors import ConfigError

GZIP_MAGIC = b"\x1f\x8b"
XZ_MAGIC = b"\xfd7zXZ\x00"
BZIP2_MAGIC = b"BZh"
HEAD = 8  # bytes enough to tell every format here
MAX_DECOMPRESSED = 1 << 30  # of one compressed input: 1 GiB of text (a real log is far less)
MAX_NESTING = 3
# What a compressed input that cannot be read to its end raises (besides OSError).
DECOMPRESS_ERRORS = (EOFError, lzma.LZMAError, gzip.BadGzipFile, ValueError)
_REFUSED = {
    b"PK\x03\x04": "a zip archive: unpack it and give the logs in it",
    b"PK\x05\x06": "a zip archive (empty): unpack it and give the logs in it",
    b"7z\xbc\xaf": "a 7-Zip archive: unpack it and give the logs in it",
    b"\x28\xb5\x2f\xfd": "zstd-compressed: decompress it (`zstd -d`) and give the result",
    b"Rar!": "a RAR archive: unpack it and give the logs in it",
}


class InputError(ConfigError):
    """An input that cannot be read: missing, a directory, a device, corrupt (exit 2)."""

    code = "INPUT_UNREADABLE"


def compressed(head: bytes) -> bool:
    """Whether an input starting with `head` needs decoding before it is text."""
    return head.startswith((GZIP_MAGIC, XZ_MAGIC, BZIP2_MAGIC)) or utf16(head)


def utf16(head: bytes) -> bool:
    """UTF-16 text: its BOM, then ASCII-range characters (a zero byte each), so that junk
    starting with bytes ff fe is not taken for it."""
    if head.startswith(codecs.BOM_UTF16_LE):
        return len(head) >= 6 and head[3] == 0 and head[5] == 0
    if head.startswith(codecs.BOM_UTF16_BE):
        return len(head) >= 6 and head[2] == 0 and head[4] == 0
    return False


def refused(head: bytes) -> str | None:
    """Why an input starting with `head` is not read (a container of files), or None."""
    for magic, why in _REFUSED.items():
        if head.startswith(magic):
            return why
    return None


class Capped:
    """Counts what is read of decompressed text; stops at MAX_DECOMPRESSED and says so."""

    def __init__(self, stream: BinaryIO, limit: int = MAX_DECOMPRESSED) -> None:
        self._stream, self._left = stream, limit
        self.cut = False

    def read(self, size: int = -1) -> bytes:
        if self._left <= 0:
            self.cut = self.cut or bool(self._stream.read(1))
            return b""
        want = self._left if size < 0 else min(size, self._left)
        data = self._stream.read(want)
        self._left -= len(data)
        return data


@contextlib.contextmanager
def opened(stream: BinaryIO, *, depth: int = 0) -> Iterator[tuple[BinaryIO, Capped | None]]:
    """`stream` as plain bytes of text (decompressed, UTF-16 re-encoded as UTF-8), with the
    cap counting it when it was compressed; InputError for a refused or too-deep input."""
    head = _peek(stream)
    why = refused(head)
    if why is not None:
        raise InputError(why)
    joined = cast(BinaryIO, Rejoined(head, stream))
    if utf16(head):
        yield cast(BinaryIO, _Utf16(joined)), None
        return
    if not compressed(head):
        yield joined, None
        return
    if depth >= MAX_NESTING:
        raise InputError(f"compressed more than {MAX_NESTING} times over: decompress it first")
    plain: BinaryIO
    with contextlib.ExitStack() as stack:
        if head.startswith(GZIP_MAGIC):
            plain = cast(BinaryIO, stack.enter_context(gzip.GzipFile(fileobj=joined, mode="rb")))
        elif head.startswith(XZ_MAGIC):
            plain = cast(BinaryIO, stack.enter_context(lzma.LZMAFile(joined, mode="rb")))
        else:
            plain = cast(BinaryIO, stack.enter_context(bz2.BZ2File(joined, mode="rb")))
        inner, inner_cap = stack.enter_context(opened(plain, depth=depth + 1))
        if inner_cap is not None:
            yield inner, inner_cap
            return
        capped = Capped(inner)
        yield cast(BinaryIO, capped), capped


def _peek(stream: IO[bytes]) -> bytes:
    """Up to HEAD bytes: a pipe may hand them over in pieces."""
    head = b""
    while len(head) < HEAD and (piece := stream.read(HEAD - len(head))):
        head += piece
    return head


class Rejoined(io.RawIOBase):
    """The bytes already read from a stream, then the rest of it."""

    def __init__(self, head: bytes, rest: IO[bytes]) -> None:
        self._head, self._rest = head, rest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def read(self, size: int | None = -1) -> bytes:
        if self._head:
            if size is None or size < 0:
                data, self._head = self._head + self._rest.read(), b""
                return data
            data, self._head = self._head[:size], self._head[size:]
            return data
        return self._rest.read(-1 if size is None else size)


class _Utf16:
    """UTF-16 text (with its BOM) read as UTF-8 bytes."""

    def __init__(self, stream: BinaryIO) -> None:
        self._text = io.TextIOWrapper(stream, encoding="utf-16", errors="replace", newline="")

    def read(self, size: int = -1) -> bytes:
        chars = self._text.read(-1 if size < 0 else max(1, size // 2))
        return chars.encode("utf-8", "surrogateescape")
