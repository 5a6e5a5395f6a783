"""core.machinelogs: a machine's kernel, QEMU and libvirt logs, live and recorded; the live
readers give one dmesg-style line per message, bounded, or why there is none."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import pytest

from tests.conftest import run_as
from workbench.core import bounded, livekernel, livelibvirt, logtools, machinelogs
from workbench.core.bounded import HEAD_BYTES, TAIL_BYTES, gap_line
from workbench.core.host import Host
from workbench.core.journal import journal_line
from workbench.core.livekernel import kmsg_line, live_kernel_log
from workbench.core.machinelogs import (
    GAP_SLACK,
    KERNEL_LOG,
    LIBVIRT_LOG,
    kernel_log,
    libvirt_log,
    qemu_log,
    qemu_log_path,
)

KMSG = Path("/dev/kmsg")
DMESG_LINE = re.compile(rb"^\[ *\d+\.\d{6}\] ")


def _root(
    tmp_path: Path, files: dict[str, str | bytes], manifest: dict[str, object] | None = None
) -> Host:
    root = tmp_path / "root"
    root.mkdir(parents=True)
    for rel, data in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(data, bytes):
            path.write_bytes(data)
        else:
            path.write_text(data)
    if manifest is not None:
        (root / "manifest.json").write_text(json.dumps(manifest))
    return Host(root)


def _kmsg_writable() -> bool:
    return KMSG.exists() and os.access(KMSG, os.W_OK)


def test_recorded_kernel_log_names_its_origin(tmp_path: Path) -> None:
    """A capture's logs/kernel.log is read, and the manifest's origin named."""
    host = _root(
        tmp_path,
        {KERNEL_LOG: "[    1.000000] one\n[    2.000000] two\n"},
        {"facts": {"kernel_log": {"origin": "kmsg", "lines": 2, "truncated": False}}},
    )
    log = kernel_log(host)
    assert log.text is not None and "two" in log.text
    assert log.lines == 2
    assert log.source == f"{KERNEL_LOG} (from kmsg)"
    assert log.why is None and not log.truncated


def test_recorded_kernel_log_absent_is_not_recorded(tmp_path: Path) -> None:
    """A capture without logs/kernel.log says not recorded and how to record it."""
    log = kernel_log(_root(tmp_path, {"proc/cmdline": "quiet\n"}))
    assert log.text is None
    assert log.why is not None
    assert log.why.startswith("not recorded")
    assert "records the kernel log" in log.why


def test_recorded_kernel_log_the_capture_could_not_read(tmp_path: Path) -> None:
    """When the capture says why it has no kernel log, the reason is passed on."""
    manifest = {"facts": {"kernel_log": {"origin": None, "why": "dmesg: Operation not permitted"}}}
    log = kernel_log(_root(tmp_path, {}, manifest))
    assert log.text is None and log.why is not None
    assert "Operation not permitted" in log.why and log.why.startswith("not recorded")


def test_recorded_log_is_its_first_part_and_newest_from_line_starts(tmp_path: Path) -> None:
    """A log larger than its bounds gives its first HEAD_BYTES and newest TAIL_BYTES of whole
    lines, a gap line between saying how many bytes were left out."""
    line = "[    1.000000] " + "x" * 84 + "\n"  # 100 bytes
    count = TAIL_BYTES // len(line) * 3
    big = "".join(line.replace("x" * 8, f"{i:08d}", 1) for i in range(count))
    log = kernel_log(_root(tmp_path, {KERNEL_LOG: big}))
    assert log.truncated
    assert log.text is not None
    assert len(log.text) <= TAIL_BYTES + HEAD_BYTES + GAP_SLACK + 100
    assert log.text.startswith("[    1.000000] 00000000x")
    assert log.text.endswith(f"{count - 1:08d}" + "x" * 76 + "\n")
    gap = log.gap()
    assert gap is not None and gap.head == (HEAD_BYTES + GAP_SLACK) // len(line)
    assert gap.head + gap.tail == log.lines == log.text.count("\n") - 1
    shown = log.text.encode()
    assert gap.left_out == f"{len(big) - len(shown) + len(gap_line(gap.left_out))} bytes"


def test_a_kvm_line_at_boot_survives_a_chatty_log(tmp_path: Path) -> None:
    """`kvm: disabled by bios` at boot, then 30 MB of chatter: the recorded reader still has it."""
    filler = "[  100.000000] " + "y" * 85 + "\n"
    log_text = "[    0.900000] kvm: disabled by bios\n" + filler * (30 * (1 << 20) // len(filler))
    log = kernel_log(_root(tmp_path, {KERNEL_LOG: log_text}))
    assert log.text is not None and "kvm: disabled by bios" in log.text
    assert log.gap() is not None


def test_a_small_recorded_log_has_no_gap(tmp_path: Path) -> None:
    """A log within its bounds is read whole: no gap line, not truncated."""
    text = "[    1.000000] one\n" * 20_000
    log = kernel_log(_root(tmp_path, {KERNEL_LOG: text}))
    assert log.text == text and log.gap() is None and not log.truncated and log.lines == 20_000


def test_recorded_log_link_stays_inside_the_root(tmp_path: Path) -> None:
    """A log that is a symlink to an absolute path reads inside the root, never the live file."""
    host = _root(tmp_path, {"etc/hostname": "recorded-machine\n", "logs/x": ""})
    (host.root / KERNEL_LOG).symlink_to("/etc/hostname")
    log = kernel_log(host)
    assert log.text == "recorded-machine\n"


def test_recorded_log_fifo_is_refused_without_hanging(tmp_path: Path) -> None:
    """A FIFO in place of a log is not read (it would block): not a regular file."""
    host = _root(tmp_path, {"logs/x": ""})
    os.mkfifo(host.root / KERNEL_LOG)
    log = kernel_log(host)
    assert log.text is None
    assert log.why is not None and "not a regular file" in log.why


@pytest.mark.parametrize("name", ["", "..", ".", "../../etc/passwd", "a/b", "x\0y"])
def test_qemu_log_refuses_names_that_are_not_names(tmp_path: Path, name: str) -> None:
    """A domain name with a slash, NUL, or `.`/`..` is refused, nothing read."""
    host = _root(tmp_path, {"etc/passwd": "secret\n"})
    log = qemu_log(host, name)
    assert log.text is None
    assert log.why is not None and log.why.startswith("not a domain name")


def test_qemu_log_recorded_and_absent(tmp_path: Path) -> None:
    """A recorded QEMU log is read; another domain's absent log is not recorded."""
    host = _root(tmp_path, {qemu_log_path("win11"): "2026-01-01 qemu: group 14 is not viable\n"})
    log = qemu_log(host, "win11")
    assert log.text is not None and "not viable" in log.text
    assert log.name == "qemu:win11"
    other = qemu_log(host, "linux")
    assert other.text is None and other.why is not None
    assert other.why.startswith("not recorded") and "QEMU logs" in other.why


def test_libvirt_log_recorded_and_absent(tmp_path: Path) -> None:
    """logs/libvirt.log is libvirt's recorded log; without it, not recorded."""
    host = _root(tmp_path, {LIBVIRT_LOG: "error : virPCIDeviceNew: oops\n"})
    assert (libvirt_log(host).text or "").startswith("error")
    absent = libvirt_log(_root(tmp_path / "b", {}))
    assert absent.text is None and (absent.why or "").startswith("not recorded")


def test_kmsg_record_becomes_a_dmesg_line() -> None:
    """`prio,seq,usec,flags;message` and its ` KEY=value` lines give one dmesg line."""
    record = b"3,1234,5012345678,-;vfio-pci 0000:0b:00.0: BAR 1: can't reserve\n SUBSYSTEM=pci\n"
    assert kmsg_line(record) == b"[ 5012.345678] vfio-pci 0000:0b:00.0: BAR 1: can't reserve"
    record = b"3,1234,4210000,-;vfio-pci 0000:0b:00.0: BAR 1: can't reserve\n SUBSYSTEM=pci\n"
    assert kmsg_line(record) == b"[    4.210000] vfio-pci 0000:0b:00.0: BAR 1: can't reserve"
    assert kmsg_line(b"garbage without a header") is None
    assert kmsg_line(b"no semicolon here") is None
    assert kmsg_line(b"3,12,notanumber,-;x") is None


@pytest.mark.skipif(not _kmsg_writable(), reason="/dev/kmsg is not writable here")
def test_live_kernel_log_holds_a_line_just_written() -> None:
    """Live: a line written to /dev/kmsg is in kernel_log(Host('/'))."""
    marker = f"workbench-test-{uuid.uuid4().hex}"
    KMSG.write_text(f"<4>machinelogs {marker}\n")
    log = kernel_log(Host("/"))
    assert log.text is not None, log.why
    assert marker in log.text
    assert log.source in ("journal", "/dev/kmsg", "dmesg")


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to drop to another user")
def test_live_kernel_log_unprivileged_says_why_each_source_failed() -> None:
    """As an unprivileged user with dmesg_restrict, each source says why it gave nothing."""
    restrict = Path("/proc/sys/kernel/dmesg_restrict")
    if not restrict.exists() or restrict.read_text().strip() != "1":
        pytest.skip("kernel.dmesg_restrict is not 1")

    def attempt() -> dict[str, object]:
        log = kernel_log(Host("/"))
        return {"text": log.text is None, "why": log.why, "tried": list(log.tried)}

    got = run_as(65534, attempt)
    if not got["text"]:  # a readable journal for everyone (systemd-journal group etc.)
        pytest.skip("the journal is readable by an unprivileged user here")
    why = str(got["why"])
    assert "/dev/kmsg: permission denied (run as root)" in why
    assert "dmesg:" in why and "run as root" in why
    assert len(got["tried"]) == 3  # type: ignore[arg-type]


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


def test_kernel_log_without_any_source_says_why(monkeypatch: pytest.MonkeyPatch) -> None:
    """Live with no journalctl, no /dev/kmsg and no dmesg, the log is None and each step says why."""
    monkeypatch.setattr(logtools, "SYSTEM_PATH", "/nonexistent")  # tools are looked for there
    monkeypatch.setattr(livekernel, "KMSG", "/nonexistent/kmsg")
    log = kernel_log(Host("/"))
    assert log.text is None
    assert log.why is not None
    assert "journalctl not installed" in log.why
    assert "/nonexistent/kmsg: does not exist" in log.why
    assert "dmesg: not installed" in log.why
    assert len(log.tried) == 3


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
    host = _root(tmp_path, {"var/log/libvirt/virtqemud.log": text})
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


def test_hostile_domain_name_is_escaped_in_why(tmp_path: Path) -> None:
    """A domain name with control characters never reaches `why` raw."""
    log = qemu_log(_root(tmp_path, {}), "\x1b]0;owned\x07win")
    assert log.text is None and log.why is not None
    assert "\x1b" not in log.why and "\x07" not in log.why


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to drop to another user")
def test_recorded_log_unreadable_says_permission() -> None:
    """A capture's QEMU log its reader may not open: permission denied, not `not recorded`."""
    base = Path(tempfile.mkdtemp(prefix="workbench-mlog-"))
    try:
        base.chmod(0o755)
        log = base / qemu_log_path("win11")
        log.parent.mkdir(parents=True)
        for d in (base / "var", base / "var/log", base / "var/log/libvirt", log.parent):
            d.chmod(0o755)
        log.write_text("secret\n")
        log.chmod(0o600)

        def attempt() -> dict[str, object]:
            got = qemu_log(Host(base), "win11")
            return {"text": got.text, "why": got.why}

        got = run_as(65534, attempt)
    finally:
        shutil.rmtree(base)
    assert got["text"] is None
    assert "permission denied" in str(got["why"])
    assert "not recorded" not in str(got["why"])


def test_the_live_kernel_log_is_read_once_per_host(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two probes of one run (one Host) reading the live kernel log read it once; another
    Host (another run) reads it again."""
    calls: list[int] = []
    real = machinelogs.live_kernel_log

    def counted() -> bounded.LiveLog:
        calls.append(1)
        return real(max_bytes=4096, head_bytes=1024)

    monkeypatch.setattr(machinelogs, "live_kernel_log", counted)
    host = Host("/")
    first = kernel_log(host)
    assert kernel_log(host) is first and len(calls) == 1
    kernel_log(Host("/"))
    assert len(calls) == 2
