"""Errors as data (codes, context chain, cause) and the JSON-lines log file with rotation."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import stat
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from probes.cpu import CpuVirtualization
from tests.conftest import run_cli
from workbench.core import logging as wlog
from workbench.core.errors import (
    GuestAgentError,
    HostReadError,
    WorkbenchError,
    error_context,
    with_context,
)
from workbench.core.host import Host
from workbench.core.runner import run_probes


def test_to_dict_contract() -> None:
    """to_dict has exactly the contract's keys; defaults come from the class."""
    err = GuestAgentError("agent silent", details={"vm": "win11"})
    doc = err.to_dict()
    assert set(doc) == {"error", "message", "details", "recoverable", "remedy", "context", "cause"}
    assert (doc["error"], doc["recoverable"], doc["details"]) == (
        "GUEST_AGENT_UNAVAILABLE",
        True,
        {"vm": "win11"},
    )
    assert "qemu-guest-agent" in doc["remedy"]


def test_context_chain_is_added_where_errors_cross_layers(tmp_path: Path) -> None:
    """Frames are appended innermost first as a real error leaves each layer (a Host read, then
    the probe that asked); the cause nests. More real chains: tests/test_error_chains.py."""
    with pytest.raises(HostReadError) as info:
        Host(tmp_path).read_required("proc/cpuinfo")
    assert info.value.to_dict()["cause"]["type"] == "FileNotFoundError"
    assert info.value.__cause__ is info.value.cause
    result = run_probes(Host(tmp_path), [CpuVirtualization]).get("cpu.virtualization")
    assert result.facts["unreadable"]["context"] == [
        "core.host::read_text",
        "probes.cpu.virtualization::run",
    ]


def test_nested_workbench_cause_is_serialised_whole() -> None:
    """A WorkbenchError caused by another keeps the inner one's dict."""
    inner = HostReadError("x", details={"path": "p"})
    outer = WorkbenchError("y", code="CUSTOM", cause=inner, recoverable=True)
    doc = outer.to_dict()
    assert doc["error"] == "CUSTOM" and doc["recoverable"] is True
    assert doc["cause"]["error"] == "HOST_READ_ERROR"


def test_non_workbench_errors_pass_through_context_untouched() -> None:
    """error_context and with_context never swallow or rewrite foreign exceptions."""
    with pytest.raises(KeyError), error_context("m", "op"):
        raise KeyError("k")

    @with_context("m", "op")
    def fails() -> None:
        raise KeyError("k")

    with pytest.raises(KeyError) as info:
        fails()
    assert not hasattr(info.value, "context")


def test_log_records_are_json_lines_with_contract_keys(tmp_path: Path) -> None:
    """Every record: ISO UTC timestamp, level, event, logger; errors written as their dict."""
    path = tmp_path / "wb.log"
    assert wlog.configure_logging(path) == path
    log = wlog.get_logger("test")
    log.info("probe.finished", probe="pci.gpus", attempt=2)
    log.warning("probe.error", error=HostReadError("boom", details={"path": "x"}))
    records = [json.loads(line) for line in path.read_text().splitlines()]
    assert records[0]["event"] == "probe.finished"
    assert records[0]["logger"] == "workbench.test"
    assert records[0]["level"] == "info"
    assert records[0]["timestamp"].endswith("Z")
    assert (records[0]["probe"], records[0]["attempt"]) == ("pci.gpus", 2)
    assert records[1]["error"]["error"] == "HOST_READ_ERROR"


def test_log_rotates_by_size_without_losing_records(tmp_path: Path) -> None:
    """Past max_bytes the file rotates to .1, .2 …; every record is in one of them, once."""
    path = tmp_path / "wb.log"
    wlog.configure_logging(path, max_bytes=2000, backups=50)
    log = wlog.get_logger("rot")
    for n in range(300):
        log.info("tick", n=n)
    files = sorted(tmp_path.glob("wb.log*"))
    assert len(files) > 3
    seen = [json.loads(line)["n"] for f in files for line in f.read_text().splitlines()]
    assert sorted(seen) == list(range(300))


def test_unwritable_log_path_returns_none(tmp_path: Path) -> None:
    """A log path under a regular file cannot be created: None, and nothing is printed."""
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert wlog.configure_logging(blocker / "wb.log") is None
    wlog.get_logger("x").info("dropped")


def _probe_with_log(log: Path, make_root: Callable[..., Path]) -> subprocess.CompletedProcess[str]:
    """`workbench probe` on a recorded machine with WORKBENCH_LOG_FILE=log (60 s at most)."""
    return run_cli(
        "probe",
        "--json",
        "--root",
        str(make_root("asrock-z170-gtx960")),
        env={"WORKBENCH_LOG_FILE": str(log)},
    )


@pytest.mark.parametrize("kind", ["fifo", "directory", "socket", "/dev/zero", "/dev/full"])
def test_non_regular_log_path_warns_once_and_logs_nowhere(
    kind: str, tmp_path: Path, make_root: Callable[..., Path]
) -> None:
    """A FIFO, a directory, a socket or a device as our log file: the command does not hang,
    reports as usual and warns once on stderr; nothing is written there."""
    log = tmp_path / "wb.log"
    keep = None
    if kind == "fifo":
        os.mkfifo(log)
    elif kind == "directory":
        log.mkdir()
    elif kind == "socket":
        keep = socket.socket(socket.AF_UNIX)
        keep.bind(str(log))
    else:
        log = Path(kind)
    try:
        started = time.monotonic()
        proc = _probe_with_log(log, make_root)
    finally:
        if keep is not None:
            keep.close()
    assert time.monotonic() - started < 30
    assert json.loads(proc.stdout)["schema"] == "workbench.report/1"
    assert proc.stderr.count("log file not writable") == 1
    assert "Traceback" not in proc.stderr and "Logging error" not in proc.stderr


@pytest.fixture
def full_fs(tmp_path: Path) -> Iterator[Path]:
    """A real, full filesystem: a 64 KiB tmpfs filled to the last block (needs root)."""
    mount = tmp_path / "tiny"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount)],
        capture_output=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        with (mount / "filler").open("wb", buffering=0) as fh, contextlib.suppress(OSError):
            while True:
                fh.write(b"x" * 4096)
                fh.flush()
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def test_full_disk_costs_one_warning_not_a_flood(
    full_fs: Path, make_root: Callable[..., Path]
) -> None:
    """On a full filesystem the log's write errors give one warning line on stderr, no
    `--- Logging error ---` tracebacks; the report is whole."""
    proc = _probe_with_log(full_fs / "wb.log", make_root)
    assert json.loads(proc.stdout)["schema"] == "workbench.report/1"
    assert "Logging error" not in proc.stderr and "Traceback" not in proc.stderr
    warnings = [line for line in proc.stderr.splitlines() if "log" in line]
    assert len(warnings) == 1 and "No space left on device" in warnings[0]


def test_log_file_and_dir_are_private_even_when_they_existed_wider(tmp_path: Path) -> None:
    """Our state dir is tightened to 0700, the log and every rotated file to 0600, also when
    they were there before with wider modes."""
    state = tmp_path / "state"
    ours = state / "workbench"
    ours.mkdir(parents=True, mode=0o755)
    ours.chmod(0o755)
    (ours / "workbench.log").write_text("")
    (ours / "workbench.log.1").write_text("")
    for path in (ours / "workbench.log", ours / "workbench.log.1"):
        path.chmod(0o644)
    os.environ["XDG_STATE_HOME"] = str(state)  # the autouse fixture restores it
    old_umask = os.umask(0o022)
    try:
        assert wlog.configure_logging(max_bytes=2000, backups=5) == ours / "workbench.log"
        log = wlog.get_logger("perm")
        for n in range(200):
            log.info("tick", n=n)
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE(ours.stat().st_mode) == 0o700
    files = sorted(ours.glob("workbench.log*"))
    assert len(files) == 6
    assert {stat.S_IMODE(f.stat().st_mode) for f in files} == {0o600}


def test_a_new_log_elsewhere_is_0600(tmp_path: Path) -> None:
    """WORKBENCH_LOG_FILE in someone's directory: the file is 0600, their directory untouched."""
    tmp_path.chmod(0o755)
    path = tmp_path / "wb.log"
    old_umask = os.umask(0o022)
    try:
        wlog.configure_logging(path)
        wlog.get_logger("perm").info("hello")
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(tmp_path.stat().st_mode) == 0o755


def test_uri_passwords_never_reach_the_log(tmp_path: Path) -> None:
    """`scheme://user:password@` is masked in every string the log file gets: fields, nested
    values, the event, errors and tracebacks."""
    path = tmp_path / "wb.log"
    wlog.configure_logging(path)
    log = wlog.get_logger("secrets")
    uri = "qemu+tcp://admin:s3cr3t@host/system"
    log.info(
        f"connecting to {uri}", uri=uri, nested={"uris": [uri, {"u": uri}]}, other=ValueError(uri)
    )
    try:
        raise ConnectionError(f"cannot reach {uri}")
    except ConnectionError as exc:
        log.exception("connect.failed", error=exc)
        log.warning("wrapped", error=HostReadError(f"via {uri}", details={"uri": uri}))
    import logging

    logging.getLogger("workbench.foreign").warning("stdlib record %s", uri)
    text = path.read_text()
    assert "s3cr3t" not in text
    assert text.count("admin:***@host") >= 9
