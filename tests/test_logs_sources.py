"""The concrete log sources: files (plain and compressed), the kernel's records, QEMU names,
the grep budget, and a journal file merged with a QEMU log."""

from __future__ import annotations

import bz2
import gzip
import json
import lzma
import threading
from pathlib import Path

import pytest

from workbench.core.errors import ConfigError
from workbench.logs.grepbudget import BudgetGrep
from workbench.logs.kernelsource import dmesg_record, kmsg_record
from workbench.logs.linetimes import line_time
from workbench.logs.merge import merge_by_time
from workbench.logs.opensource import open_source
from workbench.logs.sourcefiles import FileSource, stream_lines, vm_name

LINES = b'{"level":"info","event":"one"}\nplain text two\n{"level":"error","event":"three"}\n'


@pytest.mark.parametrize("pack", [gzip.compress, lzma.compress, bz2.compress, lambda d: d])
def test_file_source_reads_compressed_by_magic(tmp_path: Path, pack: object) -> None:
    """gzip, xz and bzip2 files read as their lines, whatever their name."""
    path = tmp_path / "log.any"
    path.write_bytes(pack(LINES))  # type: ignore[operator]
    lines = list(FileSource(str(path)).lines())
    assert [line.raw for line in lines] == LINES.decode().splitlines()
    assert [line.number for line in lines] == [1, 2, 3]
    assert {line.source for line in lines} == {str(path)}


def test_stream_lines_cuts_an_absurd_line() -> None:
    """A line longer than the limit comes cut, with its length said; the next line is whole."""
    import io

    from workbench.logs.records import LINE_LIMIT

    data = b"x" * (LINE_LIMIT + 10) + b"\nnext\n"
    got = list(stream_lines(io.BytesIO(data)))
    assert got[1] == b"next"
    assert got[0].endswith(f"[cut: line of {LINE_LIMIT + 10} bytes]".encode())
    assert len(got[0]) < 2000


def test_file_follow_gives_context_then_new_lines(tmp_path: Path) -> None:
    """Following a plain file: its last lines, then a line appended after."""
    path = tmp_path / "w.log"
    path.write_bytes(b"a\nb\nc\n")
    stop = threading.Event()
    got = FileSource(str(path)).follow(stop, context=2)
    assert [next(got).raw, next(got).raw] == ["b", "c"]
    with path.open("ab") as out:
        out.write(b"d\n")
    assert next(got).raw == "d"
    stop.set()


def test_kernel_records_become_journald_json() -> None:
    """A /dev/kmsg record and a `dmesg -r` line: PRIORITY, time anchored at boot, MESSAGE."""
    line = json.loads(kmsg_record(b"3,10,2500000,-;vfio: bad\n SUBSYSTEM=pci\n", 1000.0) or "")
    assert line == {
        "PRIORITY": "3",
        "__REALTIME_TIMESTAMP": "1002500000",
        "_SOURCE_MONOTONIC_TIMESTAMP": "2500000",
        "SYSLOG_IDENTIFIER": "kernel",
        "MESSAGE": "vfio: bad",
    }
    dmesg = json.loads(dmesg_record(b"<14>[   12.345678] hello", None) or "")
    assert dmesg["PRIORITY"] == "6"
    assert dmesg["_SOURCE_MONOTONIC_TIMESTAMP"] == "12345678"
    assert kmsg_record(b"garbage", None) is None


@pytest.mark.parametrize("name", ["../etc", "a/b", "", ".", "x\x1b[2J"])
def test_qemu_names_are_validated(name: str) -> None:
    """A QEMU log's domain name cannot leave the log directory nor carry control bytes."""
    with pytest.raises(ConfigError):
        vm_name(name)
    with pytest.raises(ConfigError):
        open_source(f"qemu:{name}")


def test_grep_budget_skips_a_catastrophic_line() -> None:
    """`(a+)+$` on a long line of a's is skipped within the budget; other lines are searched."""
    grep = BudgetGrep(r"(a+)+$", budget_s=0.3)
    try:
        found = grep.search(["aaa", "a" * 64 + "b", "b", "xa"])
    finally:
        grep.close()
    assert found == [True, None, False, True]


def test_journal_json_and_qemu_log_interleave_by_time(tmp_path: Path) -> None:
    """A journald JSON file and a QEMU log merged come out in time order."""
    if line_time("2025-11-29T08:00:03.000000Z qemu-system-x86_64: x") is None:
        pytest.skip("line_time does not read QEMU times yet (the engine's part of issue 14)")
    journal = tmp_path / "libvirtd.json"
    journal.write_text(
        "\n".join(
            json.dumps({"__REALTIME_TIMESTAMP": str(usec), "PRIORITY": "6", "MESSAGE": msg})
            for usec, msg in [(1764403200000000, "j1"), (1764403202000000, "j2")]
        )
        + "\n"
    )
    qemu = tmp_path / "win11.log"
    qemu.write_text(
        "2025-11-29 08:00:01.000+0000: starting up q1\n"
        "2025-11-29T08:00:03.000000Z qemu-system-x86_64: q2\n"
    )
    merged = merge_by_time([FileSource(str(journal)).lines(), FileSource(str(qemu)).lines()])
    words = [line.raw.rsplit(" ", 1)[-1].strip('"}') for line in merged]
    assert words == ["j1", "q1", "j2", "q2"]


def test_command_lines_streams_and_ends_the_command_on_stop() -> None:
    """A command's lines come as it writes them; setting stop ends the read and the command."""
    import sys
    import time

    from workbench.logs.processsource import command_lines

    script = "import sys,time\nprint('first', flush=True)\ntime.sleep(60)\n"
    stop = threading.Event()
    lines = command_lines([sys.executable, "-c", script], stop)
    assert next(lines) == b"first"
    stop.set()
    started = time.monotonic()
    assert list(lines) == []
    assert time.monotonic() - started < 5


def test_kernel_source_reads_this_boots_kmsg() -> None:
    """The kernel source over /dev/kmsg: journald-shaped lines, each with a level and a time."""
    from workbench.logs.kernelsource import KernelSource, kmsg_readable

    if not kmsg_readable():
        pytest.skip("/dev/kmsg is not readable here")
    source = KernelSource(reader="kmsg")
    first = next(iter(source.lines()))
    record = json.loads(first.raw)
    assert first.source == "kernel" and first.number == 1
    assert record["SYSLOG_IDENTIFIER"] == "kernel" and record["PRIORITY"] in "01234567"
    if source.btime is not None:
        assert int(record["__REALTIME_TIMESTAMP"]) >= source.btime * 1_000_000


def test_continuation_lines_stay_with_their_record() -> None:
    """A traceback's lines go with the record before them through the record filters (kept
    with it, left out with it); --grep selects lines, a continuation line too."""
    from workbench.commands.logsmerged import Matcher
    from workbench.logs.filters import LogFilter
    from workbench.logs.sources import LogLine

    def lines() -> list[LogLine]:
        rows = [
            ('{"level":"error","event":"boom"}', 1.0),
            ("Traceback (most recent call last):", None),
            ("ValueError: bad", None),
            ('{"level":"info","event":"fine"}', 2.0),
            ("  an info's tail", None),
        ]
        return [LogLine("s", n, raw, when) for n, (raw, when) in enumerate(rows, 1)]

    by_level = Matcher(LogFilter(level="error"), None).batch(lines())
    assert [line.number for line in by_level] == [1, 2, 3]
    grep = BudgetGrep("ValueError")
    try:
        by_grep = Matcher(LogFilter(), grep).batch(lines())
    finally:
        grep.close()
    assert [line.number for line in by_grep] == [3]


def test_kernel_source_through_dmesg() -> None:
    """`dmesg -r` as the kernel reader: journald-shaped lines with the record's priority."""
    from workbench.core import logtools
    from workbench.logs.kernelsource import KernelSource

    exe = logtools.which("dmesg")
    if exe is None:
        pytest.skip("no dmesg here")
    done = logtools.run([exe, "-r"], 10.0)
    if isinstance(done, str) or done.returncode != 0 or not done.stdout:
        pytest.skip("dmesg gives nothing here")
    first = next(iter(KernelSource(reader="dmesg").lines()))
    record = json.loads(first.raw)
    assert record["SYSLOG_IDENTIFIER"] == "kernel" and record["PRIORITY"] in "01234567"


def test_a_decompression_bomb_is_cut_and_said(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Decompressed text past the cap ends in a line saying what was left out."""
    from workbench.core import formats

    monkeypatch.setattr(formats, "MAX_DECOMPRESSED", 1000)
    monkeypatch.setattr(formats.Capped.__init__, "__defaults__", (1000,))
    path = tmp_path / "bomb.gz"
    path.write_bytes(gzip.compress(b"line\n" * 100_000))
    lines = list(FileSource(str(path)).lines())
    assert len(lines) <= 201
    assert (
        lines[-1].raw.startswith("-- workbench: decompressed text past") and lines[-1].time is None
    )


def test_follow_leaves_the_callers_stop_alone(tmp_path: Path) -> None:
    """Closing one source's follow does not set the stop event the others share."""
    path = tmp_path / "w.log"
    path.write_bytes(b"a\n")
    stop = threading.Event()
    got = FileSource(str(path)).follow(stop, context=1)
    assert next(got).raw == "a"
    got.close()
    assert not stop.is_set()


def test_time_window_orders_lines_that_arrive_within_it() -> None:
    """A later line of one source, then an earlier one of another within the hold, come out
    in time order once the first has waited; nothing comes out before."""
    from workbench.logs.sources import LogLine
    from workbench.logs.timewindow import TimeWindow

    window = TimeWindow(hold_s=0.2)
    window.add([LogLine("b", 1, "late", 9.0)], now=100.0)
    window.add([LogLine("a", 1, "early", 5.0)], now=100.1)
    assert window.due(100.15) == []
    assert window.wait_s(100.15) == pytest.approx(0.05)
    assert [line.raw for line in window.due(100.2)] == ["early", "late"]
    assert window.due(100.5) == [] and len(window) == 0 and window.wait_s(100.5) is None


def test_time_window_keeps_a_sources_own_order() -> None:
    """A continuation line (no time) and a line stamped earlier than the one before it in its
    source stay after it; what is left comes out on drain, in order."""
    from workbench.logs.sources import LogLine
    from workbench.logs.timewindow import TimeWindow

    window = TimeWindow(hold_s=0.2)
    window.add(
        [LogLine("a", 1, "error", 5.0), LogLine("a", 2, "  traceback"), LogLine("a", 3, "x", 1.0)],
        now=0.0,
    )
    window.add([LogLine("b", 1, "b", 6.0)], now=0.1)
    assert [line.raw for line in window.due(0.2)] == ["error", "  traceback", "x"]
    assert [line.raw for line in window.drain()] == ["b"]
