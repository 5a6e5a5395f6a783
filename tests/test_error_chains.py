"""Errors carry the module::operation path they crossed: real failures, real chains."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import run_cli
from workbench.capture.collect import capture
from workbench.capture.collectors import Collected, Source
from workbench.capture.unpack import open_capture
from workbench.core.errors import CaptureError, HostReadError, WorkbenchError
from workbench.core.host import Host
from workbench.core.logging import default_log_path
from workbench.logs.index import LogIndex
from workbench.logs.source import LogFileError
from workbench.virt.actions import run_action
from workbench.virt.connection import open_connection

MakeRoot = Callable[..., Path]


def _root_without_cpuinfo(make_root: MakeRoot, facts: dict[str, Any]) -> Path:
    root = make_root(facts)
    (root / "proc/cpuinfo").unlink()
    return root


def test_missing_cpuinfo_reads_as_host_then_probe_in_probe_json(
    make_root: MakeRoot, minimal_facts: dict[str, Any]
) -> None:
    """`probe --json` on a root without cpuinfo: the skip's unreadable facts keep the chain."""
    root = _root_without_cpuinfo(make_root, minimal_facts)
    proc = run_cli("probe", "--root", str(root), "--only", "cpu.virtualization", "--json")
    assert proc.returncode == 0, proc.stderr
    cpu = next(p for p in json.loads(proc.stdout)["probes"] if p["id"] == "cpu.virtualization")
    assert cpu["status"] == "skip"
    assert cpu["facts"]["unreadable"]["context"] == [
        "core.host::read_text",
        "probes.cpu.virtualization::run",
    ]


@pytest.mark.parametrize(
    ("read", "frame"),
    [
        (lambda h: h.read_text("loop/x", missing_ok=False), "core.host::read_text"),
        (lambda h: h.read_required("loop/x"), "core.host::read_text"),
        (lambda h: h.read_bytes("loop/x"), "core.host::read_bytes"),
        (lambda h: h.listdir("loop/x"), "core.host::listdir"),
        (lambda h: h.path("loop/x"), "core.host::path"),
    ],
)
def test_each_public_host_read_names_itself_once(
    tmp_path: Path, read: Callable[[Host], Any], frame: str
) -> None:
    """A read through a symlink loop fails with exactly one frame: the public method's."""
    (tmp_path / "loop").symlink_to("loop")
    with pytest.raises(HostReadError) as info:
        read(Host(tmp_path))
    assert info.value.details["reason"] == "loop"
    assert info.value.context == [frame]


def test_a_missing_required_file_keeps_its_os_cause(tmp_path: Path) -> None:
    """The chain sits beside the cause: the OS error is kept as data and as __cause__."""
    with pytest.raises(HostReadError) as info:
        Host(tmp_path).read_required("proc/cpuinfo")
    doc = info.value.to_dict()
    assert (doc["context"], doc["details"]["reason"]) == (["core.host::read_text"], "missing")
    assert doc["cause"]["type"] == "FileNotFoundError"
    assert info.value.__cause__ is info.value.cause


def _cli_failed_records() -> list[dict[str, Any]]:
    lines = default_log_path().read_text().splitlines()
    return [r for r in map(json.loads, lines) if r["event"] == "cli.failed"]


@pytest.mark.parametrize("content", [b"not a tar archive at all", None])
def test_a_bad_capture_chain_reaches_json_stdout_and_the_log(
    tmp_path: Path, content: bytes | None
) -> None:
    """A corrupt or missing capture: one line on stderr, exit 2; --json prints the error with
    [opener, verb], and the log record carries the same chain."""
    archive = tmp_path / "bad.tar.gz"
    if content is not None:
        archive.write_bytes(content)
    proc = run_cli("probe", "--capture", str(archive), "--json")
    assert proc.returncode == 2
    assert len(proc.stderr.splitlines()) == 1 and "Traceback" not in proc.stderr
    (line,) = proc.stdout.splitlines()  # one line, as readers of JSON lines expect
    doc = json.loads(line)
    assert doc["schema"] == "workbench.error/1"
    expected = "CAPTURE_REFUSED" if content is not None else "CAPTURE_MISSING"
    assert doc["error"]["error"] == expected
    assert doc["error"]["context"] == ["capture.unpack::open", "cli::probe"]
    (record,) = _cli_failed_records()
    assert (record["verb"], record["error"]["context"]) == ("probe", doc["error"]["context"])


@pytest.mark.parametrize(
    ("verb", "args"), [("logs", ["logs", "--capture", "{a}"]), ("diff", ["diff", "{a}", "{a}"])]
)
def test_other_verbs_name_themselves_outermost(tmp_path: Path, verb: str, args: list[str]) -> None:
    """Every verb reading a capture ends the chain with its own `cli::<verb>` frame."""
    archive = tmp_path / "bad.tar.gz"
    archive.write_bytes(b"garbage")
    proc = run_cli(*(a.format(a=archive) for a in args), "--json")
    assert proc.returncode == 2, proc.stderr
    error = json.loads(proc.stdout)["error"]
    assert error["context"] == ["capture.unpack::open", f"cli::{verb}"]


def test_a_root_that_is_a_file_names_the_host_and_the_verb(tmp_path: Path) -> None:
    """`probe --root FILE --json`: exit 2, and the error's chain is [Host open, cli verb]."""
    (tmp_path / "file").write_text("x")
    proc = run_cli("probe", "--root", str(tmp_path / "file"), "--json")
    assert proc.returncode == 2 and len(proc.stderr.splitlines()) == 1
    error = json.loads(proc.stdout)["error"]
    assert error["error"] == "ROOT_NOT_USABLE"
    assert error["context"] == ["core.host::open", "cli::probe"]


def test_without_json_a_bad_capture_prints_nothing_on_stdout(tmp_path: Path) -> None:
    """The chain is for --json and the log: plain output stays one line on stderr only."""
    proc = run_cli("probe", "--capture", str(tmp_path / "none.tar.gz"))
    assert (proc.returncode, proc.stdout) == (2, "")
    assert proc.stderr.startswith("workbench: ") and len(proc.stderr.splitlines()) == 1


def test_errors_inside_an_opened_capture_do_not_get_the_opener_frame(tmp_path: Path) -> None:
    """Only the opening is `capture.unpack::open`: a failure in the caller's block is not."""
    made = capture(Source(Host(tmp_path)), tmp_path / "c.tar.gz", collectors={})
    with pytest.raises(HostReadError) as info, open_capture(made.path) as root:
        Host(root).read_required("proc/cpuinfo")
    assert info.value.context == ["core.host::read_text"]


def test_a_corrupt_capture_opened_in_python_names_the_opener(tmp_path: Path) -> None:
    """open_capture's refusal carries `capture.unpack::open` without the CLI."""
    archive = tmp_path / "cut.tar.gz"
    archive.write_bytes(b"\x1f\x8b\x08\x00")  # a gzip header, then nothing
    with pytest.raises(CaptureError) as info, open_capture(archive):
        pass
    assert info.value.context == ["capture.unpack::open"]


def test_a_failing_collector_records_its_chain_in_the_manifest(tmp_path: Path) -> None:
    """A collector's read error is recorded with [host read, capture.collect::<name>]."""

    def cpuinfo(src: Source, out: Collected) -> None:
        data = src.host.read_bytes("proc/cpuinfo", missing_ok=False)
        out.tree.add_bytes("proc/cpuinfo", data or b"")

    made = capture(Source(Host(tmp_path)), tmp_path / "c.tar.gz", collectors={"cpu": cpuinfo})
    error = made.manifest["collectors"]["cpu"]["error"]
    assert (error["error"], error["details"]["reason"]) == ("HOST_READ_ERROR", "missing")
    assert error["context"] == ["core.host::read_bytes", "capture.collect::cpu"]


def test_starting_a_running_domain_names_the_action() -> None:
    """`start` of libvirt's running test domain fails with `virt.actions::start` outermost."""
    keep = open_connection("test:///default")
    try:
        with pytest.raises(WorkbenchError) as info:
            run_action("test:///default", "start", "test", retries=0)
    finally:
        keep.close()
    assert info.value.code == "VM_ALREADY_RUNNING"
    assert info.value.context == ["virt.actions::start"]


def test_a_failed_start_has_no_cycle_in_its_causes() -> None:
    """The error a failed start raises leads through its causes to an end: a cycle (the primary
    error caused by the chain's error that it caused) froze the UI, whose traceback renderer
    followed it for ever, and a cyclic error has no finite to_dict()."""
    keep = open_connection("test:///default")
    try:
        with pytest.raises(WorkbenchError) as info:
            run_action("test:///default", "start", "test", retries=0)
    finally:
        keep.close()
    seen: set[int] = set()
    stack: list[BaseException | None] = [info.value]
    while stack:
        exc = stack.pop()
        if exc is None:
            continue
        assert id(exc) not in seen, f"cycle through {type(exc).__name__}: {exc}"
        seen.add(id(exc))
        stack += [exc.__cause__, None if exc.__suppress_context__ else exc.__context__]
    assert json.dumps(info.value.to_dict())


def test_vm_start_of_a_running_domain_logs_the_chain() -> None:
    """`workbench vm start` of the running test domain: one line, exit 1, and the log record
    of the failure carries `virt.actions::start`."""
    proc = run_cli("vm", "start", "test", "--connect", "test:///default", "--retries", "0")
    assert proc.returncode == 1, proc.stderr
    assert "already running" in proc.stderr and len(proc.stderr.splitlines()) == 1
    lines = default_log_path().read_text().splitlines()
    (record,) = [r for r in map(json.loads, lines) if r["event"] == "action.failed"]
    assert (record["vm"], record["action"]) == ("test", "start")
    assert record["error"]["error"] == "VM_ALREADY_RUNNING"
    assert record["error"]["context"] == ["virt.actions::start"]


def test_an_unknown_domain_names_the_action() -> None:
    """A lookup failure of `suspend` carries `virt.actions::suspend`."""
    with pytest.raises(WorkbenchError) as info:
        run_action("test:///default", "suspend", "nosuch", retries=0)
    assert info.value.code == "VM_NOT_FOUND"
    assert info.value.context == ["virt.actions::suspend"]


@pytest.mark.parametrize(("name", "make_dir"), [("missing.log", False), ("a-directory", True)])
def test_an_unreadable_log_names_the_reader_and_the_index(
    tmp_path: Path, name: str, make_dir: bool
) -> None:
    """Opening a log index on a missing file or a directory: [open_log, index open]."""
    path = tmp_path / name
    if make_dir:
        path.mkdir()
    with pytest.raises(LogFileError) as info:
        LogIndex(path)
    assert info.value.context == ["logs.source::open_log", "logs.index::open"]


def test_a_cycle_of_causes_ends_in_to_dict() -> None:
    """An error that is (through another) its own cause is written once, not followed for ever
    (a log record of it would otherwise never end)."""
    inner = WorkbenchError("inner", code="INNER")
    outer = WorkbenchError("outer", code="OUTER", cause=inner)
    inner.cause = outer
    doc = outer.to_dict()
    assert doc["cause"]["error"] == "INNER"
    assert doc["cause"]["cause"] == {"type": "WorkbenchError", "message": "(the error above)"}


def test_a_capture_given_as_a_root_and_a_root_given_as_a_capture_name_the_right_option(
    tmp_path: Path,
) -> None:
    """The two likeliest slips between --root and --capture each name the option meant."""
    archive = tmp_path / "c.tar.gz"
    archive.write_bytes(b"")
    as_root = run_cli("probe", "--root", str(archive))
    assert as_root.returncode == 2 and "--capture c.tar.gz" in as_root.stderr, as_root.stderr
    as_capture = run_cli("probe", "--capture", str(tmp_path))
    assert as_capture.returncode == 2, as_capture.stderr
    assert "not a capture file" in as_capture.stderr and "--root DIR" in as_capture.stderr
