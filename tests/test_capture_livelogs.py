"""The live machine's logs as a capture reads them: the kernel's from the journal, /dev/kmsg
or `dmesg`, one dmesg-style line per message, bounded; libvirt's, or why there is none."""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import run_as
from workbench.capture import livelogs
from workbench.capture.collectors import Collected, Source
from workbench.capture.logcollectors import (
    LIBVIRT_FILE_LOGS,
    collect_libvirt_log,
    collect_qemu_logs,
)
from workbench.core.host import Host
from workbench.core.machinelogs import LIBVIRT_LOG, QEMU_LOG_DIR
from workbench.machines import build_root

DMESG_LINE = re.compile(rb"^\[ *\d+\.\d{6}\] ")


def test_a_journal_entry_becomes_a_dmesg_line() -> None:
    """MESSAGE and the kernel's time (else journald's) give `[   4.210000] message`, one line
    even when the message held newlines or was not UTF-8; an entry without one is skipped."""
    entry = {
        "MESSAGE": "vfio-pci 0000:0b:00.0: BAR 1: can't reserve",
        "__MONOTONIC_TIMESTAMP": "4210000",
    }
    assert livelogs._journal_line(json.dumps(entry).encode()) == (
        b"[    4.210000] vfio-pci 0000:0b:00.0: BAR 1: can't reserve"
    )
    raw = {"MESSAGE": list(b"bad \xff\nsecond"), "__MONOTONIC_TIMESTAMP": "12"}
    assert livelogs._journal_line(json.dumps(raw).encode()) == b"[    0.000012] bad \xff\\x0asecond"
    both = {"MESSAGE": "x", "_SOURCE_MONOTONIC_TIMESTAMP": "5000000", "__MONOTONIC_TIMESTAMP": "9"}
    assert livelogs._journal_line(json.dumps(both).encode()) == b"[    5.000000] x"
    assert livelogs._journal_line(b'{"MESSAGE": null}') is None
    assert livelogs._journal_line(b"not json") is None
    assert livelogs._journal_line(b"[1, 2]") is None


def test_a_kmsg_record_becomes_a_dmesg_line() -> None:
    """`prio,seq,usec,flags;message` and its ` KEY=value` lines give one dmesg line."""
    record = b"3,1234,4210000,-;vfio-pci 0000:0b:00.0: BAR 1: can't reserve\n SUBSYSTEM=pci\n"
    assert (
        livelogs._kmsg_line(record) == b"[    4.210000] vfio-pci 0000:0b:00.0: BAR 1: can't reserve"
    )
    assert livelogs._kmsg_line(b"no semicolon here") is None
    assert livelogs._kmsg_line(b"3,12,notanumber,-;x") is None


def test_the_newest_lines_are_kept_within_bounds() -> None:
    """Only the newest lines stay, within both the line and the byte bound."""
    newest = livelogs._Newest(max_bytes=30, max_lines=3)
    for i in range(10):
        newest.add(b"line %d" % i)
    got = newest.result("kmsg", [])
    assert got.data == b"line 7\nline 8\nline 9\n" and got.truncated and got.lines == 3
    small = livelogs._Newest(max_bytes=16, max_lines=100)
    for i in range(10):
        small.add(b"line %d" % i)
    assert small.result("kmsg", []).data == b"line 8\nline 9\n"


def test_the_live_kernel_log_is_bounded() -> None:
    """This machine's kernel log read with a 4 kB bound: at most 4 kB of whole dmesg lines,
    said to be truncated; a source that gave nothing is listed with why."""
    got = livelogs.kernel_log(max_bytes=4096)
    assert got.origin in ("journal", "kmsg", "dmesg"), got.tried
    assert got.data is not None and 0 < len(got.data) <= 4096
    assert got.truncated
    lines = got.data.splitlines()
    assert len(lines) == got.lines
    assert all(DMESG_LINE.match(line) for line in lines), lines[:3]
    facts = got.facts()
    assert facts["origin"] == got.origin and facts["truncated"] is True
    assert all(": " in why for why in facts.get("tried", []))


def test_dmesg_gives_dmesg_lines() -> None:
    """The last fallback, `dmesg` itself, gives the same kind of lines (a real subprocess)."""
    newest = livelogs._Newest(livelogs.KERNEL_BYTES, livelogs.KERNEL_LINES)
    why = livelogs._dmesg(newest)
    if why is not None:
        assert why.startswith(("failed", "no ")), why  # said, never silent
        return
    assert newest.lines and all(DMESG_LINE.match(line) for line in newest.lines)


def test_the_live_libvirt_log_is_recorded_or_said_missing() -> None:
    """libvirt's log on this machine is a member with its origin, or the facts say each source
    tried and why it gave nothing."""
    out = Collected()
    collect_libvirt_log(Source(Host("/")), out)
    said = out.facts["libvirt_log"]
    if said["origin"] is None:
        assert LIBVIRT_LOG not in out.tree.files
        assert "journal: " in said["why"]
        assert all(f"/{rel}: not " in said["why"] for rel in LIBVIRT_FILE_LOGS)
    else:
        assert out.tree.files[LIBVIRT_LOG].count(b"\n") == said["lines"]


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to drop to another user")
def test_the_kernel_log_unprivileged_says_why_each_source_gave_nothing() -> None:
    """As nobody, with dmesg_restrict, no log is made up: each source says why, and the
    manifest's facts carry it."""
    restrict = Path("/proc/sys/kernel/dmesg_restrict")
    if not restrict.exists() or restrict.read_text().strip() != "1":
        pytest.skip("kernel.dmesg_restrict is not 1")
    got = run_as(65534, lambda: livelogs.kernel_log().facts())
    if got["origin"] is not None:
        pytest.skip("the journal is readable by an unprivileged user here")
    assert got["lines"] == 0
    assert "kmsg: permission denied (run as root)" in got["why"]
    assert "dmesg: " in got["why"] and "journal: " in got["why"]


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to drop to another user")
def test_an_unlistable_qemu_log_dir_is_said_not_readable(
    minimal_facts: dict[str, Any],
) -> None:
    """A QEMU log directory the capturing user may not list is "not readable", never "not
    present"."""
    top = Path(tempfile.mkdtemp(prefix="wb-capture-test-"))  # nobody must reach the root
    try:
        top.chmod(0o755)
        root = build_root(minimal_facts, top / "root")
        qemu = root / QEMU_LOG_DIR
        qemu.mkdir(parents=True)
        (qemu / "win11.log").write_text("error\n")
        qemu.chmod(0o700)

        def facts() -> Any:
            out = Collected()
            collect_qemu_logs(Source(Host(root)), out)
            return out.facts["qemu_logs"]

        said = run_as(65534, facts)
        assert said["domains"] == {}
        assert said["why"].startswith("not readable:") and "ermission" in said["why"]
        assert run_as(0, facts)["domains"]["win11"] == {"bytes": 6, "truncated": False}
    finally:
        shutil.rmtree(top)
