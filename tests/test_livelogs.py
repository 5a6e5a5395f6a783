"""The live log readers: this boot's kernel log from the journal, /dev/kmsg or `dmesg`, one
dmesg-style line per message, its first part and newest kept within bounds; libvirt's log from
its journal else its file; each source that gave nothing says why."""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import put, run_as
from workbench.core import bounded, livekernel, livelibvirt, logtools
from workbench.core.host import Host
from workbench.core.journal import journal_line
from workbench.core.livekernel import kmsg_line, live_kernel_log

DMESG_LINE = re.compile(rb"^\[ *\d+\.\d{6}\] ")


def test_kmsg_record_becomes_a_dmesg_line() -> None:
    """`prio,seq,usec,flags;message` and its ` KEY=value` lines give one dmesg line."""
    record = b"3,1234,5012345678,-;vfio-pci 0000:0b:00.0: BAR 1: can't reserve\n SUBSYSTEM=pci\n"
    assert kmsg_line(record) == b"[ 5012.345678] vfio-pci 0000:0b:00.0: BAR 1: can't reserve"
    record = b"3,1234,4210000,-;vfio-pci 0000:0b:00.0: BAR 1: can't reserve\n SUBSYSTEM=pci\n"
    assert kmsg_line(record) == b"[    4.210000] vfio-pci 0000:0b:00.0: BAR 1: can't reserve"
    assert kmsg_line(b"garbage without a header") is None
    assert kmsg_line(b"no semicolon here") is None
    assert kmsg_line(b"3,12,notanumber,-;x") is None


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to drop to another user")
def test_the_kernel_log_unprivileged_says_why_each_source_gave_nothing() -> None:
    """As nobody, with dmesg_restrict, no log is made up: each source says why, and the
    manifest's facts carry it."""
    restrict = Path("/proc/sys/kernel/dmesg_restrict")
    if not restrict.exists() or restrict.read_text().strip() != "1":
        pytest.skip("kernel.dmesg_restrict is not 1")
    got = run_as(65534, lambda: live_kernel_log().facts())
    if got["origin"] is not None:
        pytest.skip("the journal is readable by an unprivileged user here")
    assert got["lines"] == 0
    assert "kmsg: permission denied (run as root)" in got["why"]
    assert "dmesg: " in got["why"] and "journal: " in got["why"]


def test_tools_are_not_taken_from_the_callers_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """A PATH without journalctl or dmesg changes nothing: they are looked for in the system
    directories only (a PATH of the caller's cannot put another `dmesg` in their place)."""
    monkeypatch.setenv("PATH", "/nonexistent")
    monkeypatch.setattr(livekernel, "KMSG", "/nonexistent/kmsg")
    got = live_kernel_log(max_bytes=4096)
    assert not any("not installed" in why for why in got.tried), got.tried


def test_journal_lines_become_dmesg_lines() -> None:
    """A journal entry (`-o json`: MESSAGE and the kernel's time, else journald's) is
    `[   4.210000] message`: no host, no `kernel:`; one line even when the message held
    newlines or was not UTF-8; an entry without one, or what is no entry, is skipped."""
    entry = {
        "MESSAGE": "vfio-pci 0000:0b:00.0: BAR 1: can't reserve",
        "__MONOTONIC_TIMESTAMP": "4210000",
        "_HOSTNAME": "fedora",
    }
    assert journal_line(json.dumps(entry).encode()) == (
        b"[    4.210000] vfio-pci 0000:0b:00.0: BAR 1: can't reserve"
    )
    kvm = {"MESSAGE": "kvm: disabled by bios", "_SOURCE_MONOTONIC_TIMESTAMP": "99000001"}
    assert journal_line(json.dumps(kvm).encode()) == b"[   99.000001] kvm: disabled by bios"
    raw = {"MESSAGE": list(b"bad \xff\nsecond"), "__MONOTONIC_TIMESTAMP": "12"}
    assert journal_line(json.dumps(raw).encode()) == b"[    0.000012] bad \xff\\x0asecond"
    both = {"MESSAGE": "x", "_SOURCE_MONOTONIC_TIMESTAMP": "5000000", "__MONOTONIC_TIMESTAMP": "9"}
    assert journal_line(json.dumps(both).encode()) == b"[    5.000000] x"
    assert journal_line(b'{"MESSAGE": null}') is None
    assert journal_line(b"not json") is None
    assert journal_line(b"-- Boot 0123abcd --") is None
    assert journal_line(b"[1, 2]") is None


def _fake_journalctl(tmp_path: Path, stdout: bytes, stderr: bytes = b"", code: int = 0) -> None:
    """A `journalctl` in tmp_path that prints what it is given and records its arguments."""
    (tmp_path / "out").write_bytes(stdout)
    (tmp_path / "err").write_bytes(stderr)
    script = tmp_path / "journalctl"
    script.write_text(
        "#!/bin/sh\n"
        f'echo "$@" > "{tmp_path}/argv"\n'
        f'/bin/cat "{tmp_path}/out"; /bin/cat "{tmp_path}/err" >&2; exit {code}\n'
    )
    script.chmod(0o755)


def _entry(i: int) -> bytes:
    entry = {
        "MESSAGE": f"kvm: message {i}",
        "_SOURCE_MONOTONIC_TIMESTAMP": str(i * 1_000_000),
        "__CURSOR": f"s=1;i={i}",
    }
    return json.dumps(entry).encode() + b"\n"


def _journal_of(tools: Path, count: int, tail: int) -> None:
    """A `journalctl` whose boot holds `count` kernel entries: asked with -n, the newest
    `tail`; without, all from the first, then it waits (a journal that goes on)."""
    (tools / "tail").write_bytes(b"".join(_entry(i) for i in range(count - tail, count)))
    (tools / "head").write_bytes(b"".join(_entry(i) for i in range(count)))
    script = tools / "journalctl"
    script.write_text(
        "#!/bin/sh\n"
        f'echo "$@" >> "{tools}/argv"\n'
        f'case " $* " in *" -n "*) /bin/cat "{tools}/tail";;\n'
        f'*) /bin/cat "{tools}/head"; exec /bin/sleep 30;; esac\n'
    )
    script.chmod(0o755)


def test_the_journal_gives_the_kernel_log(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The journal (this boot, kernel only, as JSON) comes first: its entries are dmesg lines,
    its origin "journal"; a full answer to -n has the boot's first part read too, and entries
    in both are kept once: the whole boot, not truncated."""
    _journal_of(tmp_path, count=3, tail=3)
    monkeypatch.setattr(logtools, "SYSTEM_PATH", str(tmp_path))
    got = live_kernel_log(max_bytes=4096, max_lines=3)
    assert got.origin == "journal" and got.tried == ()
    assert got.data == b"".join(b"[    %d.000000] kvm: message %d\n" % (i, i) for i in range(3))
    assert not got.truncated and got.left_out is None
    first = (tmp_path / "argv").read_text().splitlines()[0].split()
    assert {"-k", "-b", "json", "-q"} <= set(first) and first[first.index("-n") + 1] == "3"
    (tmp_path / "argv").unlink()
    assert not live_kernel_log(max_bytes=4096, max_lines=4).truncated
    assert len((tmp_path / "argv").read_text().splitlines()) == 1  # all in -n: no head read


def test_a_long_journal_gives_its_first_part_and_newest(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A boot longer than head + tail: its first entries (streamed, journalctl not waited
    for), a gap line, its newest; truncated, the facts saying what was left out."""
    _journal_of(tmp_path, count=1000, tail=3)
    monkeypatch.setattr(logtools, "SYSTEM_PATH", str(tmp_path))
    started = time.monotonic()
    got = live_kernel_log(max_bytes=4096, max_lines=3, head_lines=2)
    assert time.monotonic() - started < 5  # the head read stops once full
    assert got.data == (
        b"[    0.000000] kvm: message 0\n[    1.000000] kvm: message 1\n"
        b"-- workbench: uncounted journal lines left out here --\n"
        b"[  997.000000] kvm: message 997\n[  998.000000] kvm: message 998\n"
        b"[  999.000000] kvm: message 999\n"
    )
    assert got.truncated and got.lines == 5
    facts = got.facts()
    assert facts["head_lines"] == 2 and facts["left_out"] == "uncounted journal lines"


def test_first_and_newest_lines_are_kept_and_the_rest_counted() -> None:
    """A stream (kmsg, dmesg) keeps its first lines and its newest, and counts those between."""
    kept = bounded.HeadTail(head_bytes=1000, head_lines=2, max_bytes=1000, max_lines=3)
    for i in range(10):
        kept.add(b"line %d" % i)
    got = kept.result("kmsg", [])
    assert got.data == (
        b"line 0\nline 1\n-- workbench: 5 lines left out here --\nline 7\nline 8\nline 9\n"
    )
    assert got.lines == 5 and got.truncated and got.head_lines == 2 and got.left_out == "5 lines"
    whole = bounded.HeadTail(1000, 2, 1000, 3)
    for i in range(5):
        whole.add(b"line %d" % i)
    assert whole.result("kmsg", []).data == b"".join(b"line %d\n" % i for i in range(5))


def test_a_journal_that_fails_says_why(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A journal that gives nothing says why (its exit and first line of complaint), and the
    next source is read."""
    said = b"No journal files were opened due to insufficient permissions.\n"
    _fake_journalctl(tmp_path, b"", said, code=1)
    monkeypatch.setattr(logtools, "SYSTEM_PATH", str(tmp_path))
    monkeypatch.setattr(livekernel, "KMSG", "/nonexistent/kmsg")
    got = live_kernel_log()
    assert got.data is None and got.tried[0] == (
        "journal: journalctl failed (exit 1: No journal files were opened due to insufficient"
        " permissions.)"
    )
    assert got.tried[1] == "/nonexistent/kmsg: does not exist"
    assert got.tried[2] == "dmesg: not installed"


def test_libvirts_log_is_its_journal_else_its_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """libvirt's log is the journal of its daemons (with their wall-clock times); without
    one, its log file, bounded, each source that gave nothing said."""
    tools = tmp_path / "tools"
    tools.mkdir()
    monkeypatch.setattr(logtools, "SYSTEM_PATH", str(tools))
    _fake_journalctl(tools, b"2026-11-29T12:00:01.000000+0000 h virtqemud[812]: error : x\n")
    text = "old\n" + "a" * 80 + "\n" + "b" * 40 + "\nnew\n"
    host = Host(put(tmp_path / "root", "var/log/libvirt/virtqemud.log", text).parents[3])
    got = livelibvirt.live_libvirt_log(host, max_bytes=100)
    assert got.origin == "journal" and got.data is not None and got.data.endswith(b"error : x\n")
    argv = (tools / "argv").read_text().split()
    assert {"-u", "libvirtd", "virtqemud", "short-iso-precise"} <= set(argv)
    _fake_journalctl(tools, b"")
    got = livelibvirt.live_libvirt_log(host, max_bytes=100)
    assert got.origin == "/var/log/libvirt/virtqemud.log"
    assert got.data == b"b" * 40 + b"\nnew\n" and got.truncated and got.lines == 2
    assert got.tried == (
        "journal: no entries for this boot",
        "/var/log/libvirt/libvirtd.log: not present",
    )


def test_the_newest_lines_are_kept_within_bounds() -> None:
    """Only the newest lines stay, within both the line and the byte bound."""
    newest = bounded.Newest(max_bytes=30, max_lines=3)
    for i in range(10):
        newest.add(b"line %d" % i)
    got = newest.result("kmsg", [])
    assert got.data == b"line 7\nline 8\nline 9\n" and got.truncated and got.lines == 3
    small = bounded.Newest(max_bytes=16, max_lines=100)
    for i in range(10):
        small.add(b"line %d" % i)
    assert small.result("kmsg", []).data == b"line 8\nline 9\n"


def test_the_live_kernel_log_is_bounded() -> None:
    """This machine's kernel log read with 1 kB + 4 kB bounds: at most that of whole dmesg
    lines, its first and newest, a gap line between; a source that gave nothing is listed."""
    got = live_kernel_log(max_bytes=4096, head_bytes=1024)
    assert got.origin in ("journal", "kmsg", "dmesg"), got.tried
    assert got.data is not None and 0 < len(got.data) <= 1024 + 4096 + 80
    assert got.truncated and got.left_out is not None
    lines = [x for x in got.data.splitlines() if not x.startswith(b"-- workbench: ")]
    assert len(lines) == got.lines and got.data.count(b"\n-- workbench: ") == 1
    assert all(DMESG_LINE.match(line) for line in lines), lines[:3]
    facts = got.facts()
    assert facts["origin"] == got.origin and facts["truncated"] is True
    assert all(": " in why for why in got.tried)
    assert facts.get("tried", []) == list(got.tried)


def test_kmsg_gives_dmesg_lines() -> None:
    """/dev/kmsg, read without waiting for new records, gives dmesg lines (or says why not)."""
    newest = bounded.Newest(4 << 20, 100_000)
    started = time.monotonic()
    why = livekernel._kmsg(newest, logtools.COMMAND_TIMEOUT_S)
    assert time.monotonic() - started < logtools.COMMAND_TIMEOUT_S + 1
    if why is not None:
        assert why, "said, never silent"
        return
    assert newest.lines and all(DMESG_LINE.match(line) for line in newest.lines)


def test_dmesg_gives_dmesg_lines() -> None:
    """The last fallback, `dmesg` itself, gives the same kind of lines (a real subprocess)."""
    newest = bounded.Newest(4 << 20, 100_000)
    why = livekernel._dmesg(newest, logtools.COMMAND_TIMEOUT_S)
    if why is not None:
        assert why.startswith(("failed", "no ", "not installed", "timed out")), why  # said
        return
    assert newest.lines and all(DMESG_LINE.match(line) for line in newest.lines)


def test_a_message_over_several_dmesg_lines_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    """`dmesg` prints a message with newlines over several lines: it is one, its newlines
    escaped as /dev/kmsg escapes them; `dmesg` runs with a timeout."""
    seen: dict[str, object] = {}

    def fake(command: list[str], timeout_s: float) -> subprocess.CompletedProcess[bytes]:
        seen["timeout"] = timeout_s
        out = b"[    1.000000] first\n  continued\n[    2.000000] second\n"
        return subprocess.CompletedProcess(command, 0, out, b"")

    monkeypatch.setattr(logtools, "run", fake)
    newest = bounded.Newest(4096, 100)
    assert livekernel._dmesg(newest, 3.0) is None
    assert list(newest.lines) == [
        b"[    1.000000] first\\x0acontinued\n",
        b"[    2.000000] second\n",
    ]
    assert seen["timeout"] == 3.0


def test_a_reader_that_does_not_answer_is_said_timed_out() -> None:
    """A reader's subprocess that outlives its timeout is stopped and said."""
    started = time.monotonic()
    said = logtools.run(["/bin/sleep", "5"], 0.2)
    assert said == "timed out after 0.2 s"
    assert time.monotonic() - started < 3
