"""core.machinelogs: a machine's kernel, QEMU and libvirt logs, live and recorded."""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path

import pytest

from tests.conftest import run_as
from workbench.core import machinelogs
from workbench.core.host import Host
from workbench.core.machinelogs import (
    KERNEL_LOG,
    LIBVIRT_LOG,
    TAIL_BYTES,
    kernel_log,
    kmsg_line,
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


def test_recorded_log_is_a_bounded_tail_from_a_line_start(tmp_path: Path) -> None:
    """A log larger than TAIL_BYTES gives its newest part, cut at a line start."""
    line = "[    1.000000] " + "x" * 84 + "\n"  # 100 bytes
    count = TAIL_BYTES // len(line) * 3
    big = "".join(line.replace("x" * 8, f"{i:08d}", 1) for i in range(count))
    log = kernel_log(_root(tmp_path, {KERNEL_LOG: big}))
    assert log.truncated
    assert log.text is not None
    assert len(log.text) <= TAIL_BYTES
    assert log.text.startswith("[    1.000000] ")
    assert log.text.endswith(f"{count - 1:08d}" + "x" * 76 + "\n")


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
    """A /dev/kmsg record with continuation lines is one dmesg-style line."""
    record = b"3,1234,5012345678,-;vfio-pci 0000:0b:00.0: BAR 1: can't reserve\n SUBSYSTEM=pci\n"
    assert kmsg_line(record) == "[ 5012.345678] vfio-pci 0000:0b:00.0: BAR 1: can't reserve"
    assert kmsg_line(b"garbage without a header") is None


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
    monkeypatch.setenv("PATH", "/nonexistent")
    real_kmsg = machinelogs._kernel_kmsg
    monkeypatch.setattr(machinelogs, "_kernel_kmsg", lambda: real_kmsg("/nonexistent/kmsg"))
    log = kernel_log(Host("/"))
    assert log.text is None
    assert log.why is not None
    assert "journalctl not installed" in log.why
    assert "/nonexistent/kmsg: does not exist" in log.why
    assert "dmesg: not installed" in log.why
