"""core.machinelogs: a machine's kernel, QEMU and libvirt logs as its readers give them,
recorded (a capture's files, first part and newest) and live (read once per Host), or why
there is none."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import uuid
from pathlib import Path

import pytest

from tests.conftest import put, run_as
from workbench.core import bounded, livekernel, logtools, machinelogs
from workbench.core.bounded import HEAD_BYTES, TAIL_BYTES, gap_line
from workbench.core.host import Host
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


def _root(
    tmp_path: Path, files: dict[str, str | bytes], manifest: dict[str, object] | None = None
) -> Host:
    root = tmp_path / "root"
    root.mkdir(parents=True)
    for rel, data in files.items():
        put(root, rel, data)
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
    real = livekernel.live_kernel_log

    def counted() -> bounded.LiveLog:
        calls.append(1)
        return real(max_bytes=4096, head_bytes=1024)

    monkeypatch.setattr(machinelogs, "live_kernel_log", counted)
    host = Host("/")
    first = kernel_log(host)
    assert kernel_log(host) is first and len(calls) == 1
    kernel_log(Host("/"))
    assert len(calls) == 2
