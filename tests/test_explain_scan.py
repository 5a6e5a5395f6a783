"""The prefilter's two engines (Python and GNU grep) give the same lines on real files."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import pytest

from tests.test_explain_inputs import LAYOUTS
from workbench.explain.catalogue import catalogue
from workbench.explain.lines import ENCODED_LITERALS
from workbench.explain.matcher import Matcher
from workbench.explain.scan import (
    Candidate,
    Counter,
    ScanError,
    candidates_by_grep,
    candidates_in_file,
    candidates_in_stream,
)

GREP = shutil.which("grep")
needs_grep = pytest.mark.skipif(GREP is None, reason="GNU grep is not installed")
# A few of the catalogue's literals, and what lets journal records of bytes through.
LITERALS = ("can't reserve", "rlimit_memlock", "not viable", "header type", *ENCODED_LITERALS)
LIMIT = 256


def junk_file(path: Path, final_newline: bool = True) -> Path:
    """Every layout, and the junk real logs hold: long lines, NULs, CRLF, invalid UTF-8."""
    lines = [
        b"[   12.345678] vfio-pci 0000:0b:00.0: BAR 1: can't reserve [mem 0xc0000000-0xcfffffff]",
        b"Nov 29 08:00:01 pve kernel: vfio_pin_pages_remote: RLIMIT_MEMLOCK (65536) exceeded",
        b'{"MESSAGE": "group 14 is NOT VIABLE", "_PID": 1}',
        b"plain line without a literal",
        b"\x00\x00\x00 NULs then header type 127 \x00",
        b"crlf line: group 3 is not viable\r",
        b"\xff\xfe invalid utf-8 \xc3( can't reserve",
        b"x" * (LIMIT - 5) + b" not viable",  # the literal ends past the limit: not examined
        b"y" * (LIMIT - 40) + b" not viable" + b"z" * 5000,  # within the limit, a long tail
        b"\x1b[31mheader type\x1b[0m",
        b"",
        b"w" * 50_000,
        b"last header type line",
        *(line.encode() for line in LAYOUTS.values()),  # every layout, each with a literal
    ]
    data = b"\n".join(lines) + (b"\n" if final_newline else b"")
    path.write_bytes(data)
    return path


def by_stream(path: Path, chunk: int, limit: int = LIMIT) -> tuple[list[Candidate], int]:
    counter = Counter()
    with path.open("rb") as stream:
        found = list(candidates_in_stream(stream, LITERALS, counter, chunk=chunk, limit=limit))
    return found, counter.lines


def by_grep(path: Path, limit: int = LIMIT) -> tuple[list[Candidate], int]:
    assert GREP is not None
    counter = Counter()
    found = list(candidates_by_grep(GREP, str(path), LITERALS, counter, limit=limit))
    return found, counter.lines


@needs_grep
@pytest.mark.parametrize("final_newline", [True, False])
@pytest.mark.parametrize("chunk", [1, 7, 64, 255, 256, 257, 4096, 1 << 20])
def test_engines_agree(tmp_path: Path, chunk: int, final_newline: bool) -> None:
    """Python (any chunk size) and grep let the same lines through, counted the same."""
    path = junk_file(tmp_path / "junk.log", final_newline)
    python, grep = by_stream(path, chunk), by_grep(path)
    assert python == grep
    layouts = list(range(14, 14 + len(LAYOUTS)))
    assert [c.line for c in python[0]] == [1, 2, 3, 5, 6, 7, 9, 10, 13, *layouts]
    assert python[1] == 13 + len(LAYOUTS)


@needs_grep
def test_long_line_cut_at_the_limit(tmp_path: Path) -> None:
    """A line is examined up to the limit: a literal past it is not seen, a candidate is cut."""
    path = junk_file(tmp_path / "junk.log")
    for found, _ in (by_stream(path, 64), by_grep(path)):
        long = next(c for c in found if c.line == 9)
        assert len(long.raw) == LIMIT
        assert all(len(c.raw) <= LIMIT for c in found)
        assert 8 not in [c.line for c in found]


@pytest.mark.parametrize("offset", range(12))
def test_literal_across_a_chunk_boundary(offset: int) -> None:
    """A literal cut in two by a chunk boundary is still found, on the right line."""
    data = b"a\n" * 3 + b"x" * offset + b"group 7 is not viable\nend\n"
    counter = Counter()
    found = list(candidates_in_stream(io.BytesIO(data), LITERALS, counter, chunk=8, limit=64))
    assert [c.line for c in found] == [4]
    assert found[0].raw.endswith(b"not viable")
    assert counter.lines == 5


@pytest.mark.parametrize(
    ("data", "lines"), [(b"", 0), (b"\n", 1), (b"a", 1), (b"a\nb", 2), (b"a\r\nb\r\n", 2)]
)
def test_line_count(data: bytes, lines: int) -> None:
    """Lines are counted as text up to a newline, plus a last line without one."""
    counter = Counter()
    assert list(candidates_in_stream(io.BytesIO(data), LITERALS, counter, chunk=2)) == []
    assert counter.lines == lines


@needs_grep
def test_file_engine_without_grep_on_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With no grep on PATH a large file is read by the Python engine, with the same lines."""
    path = junk_file(tmp_path / "junk.log")
    with_grep = list(candidates_in_file(str(path), LITERALS, Counter(), grep_from=1, limit=LIMIT))
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    counter = Counter()
    without = list(candidates_in_file(str(path), LITERALS, counter, grep_from=1, limit=LIMIT))
    assert without == with_grep
    assert counter.lines == 13 + len(LAYOUTS)


@needs_grep
def test_grep_exit_2_is_an_unreadable_input(tmp_path: Path) -> None:
    """Grep that cannot read its input (exit 2) raises ScanError, never an empty answer."""
    assert GREP is not None
    with pytest.raises(ScanError, match="grep could not read it"):
        list(candidates_by_grep(GREP, str(tmp_path), LITERALS, Counter()))


@needs_grep
def test_matcher_same_causes_by_either_engine(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file above the grep threshold gives the same explanation with grep as without."""
    path = tmp_path / "big.log"
    filler = b"[    1.000000] usb 1-1: new high-speed USB device number 2 using xhci_hcd\n"
    cause = b"[   12.000000] vfio_pin_pages_remote: RLIMIT_MEMLOCK (65536) exceeded\n"
    path.write_bytes(filler * 40_000 + cause + filler * 40_000 + cause)
    first = Matcher()
    first.feed_path(str(path))
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    second = Matcher()
    second.feed_path(str(path))
    assert first.result().to_dict() == second.result().to_dict()
    assert first.result().causes[0].code == "MEMLOCK_LIMIT"
    assert first.lines == 80_002


def test_catalogue_literals_are_rare_in_benign_lines() -> None:
    """The prefilter stays a prefilter: the patterns' literals let through under 5% of the
    benign kernel lines `make bench-explain` fills its log with (each let through costs a
    normalisation and its regexes). Kernel driver lines pass too, for the fact they carry,
    but a message seen once is skipped after (test_explain_matcher)."""
    from bench.bench_explain import BENIGN

    lines = [
        template.format(t=1.5, n=n, m=n * 7919, u=n % 9 + 1)
        for n in range(1, 40)
        for template in BENIGN
    ]
    data = "".join(f"[{i:6d}.000000] {line}\n" for i, line in enumerate(lines)).encode()
    counter = Counter()
    literals = tuple(catalogue().by_literal)
    found = list(candidates_in_stream(io.BytesIO(data), literals, counter))
    assert counter.lines == len(lines)
    assert len(found) < 0.05 * len(lines), sorted({c.raw.decode()[16:60] for c in found})
