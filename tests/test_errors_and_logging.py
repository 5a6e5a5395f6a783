"""Errors as data (codes, context chain, cause) and the JSON-lines log file with rotation."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from workbench.core import logging as wlog
from workbench.core.errors import (
    GuestAgentError,
    HostReadError,
    WorkbenchError,
    error_context,
    with_context,
)


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


def test_context_chain_is_added_where_errors_cross_layers() -> None:
    """Frames are appended innermost first as the error leaves each layer; the cause nests."""

    @with_context("probes.iommu", "read_groups")
    def inner() -> None:
        try:
            Path("/nonexistent/file").read_text()
        except OSError as exc:
            raise HostReadError("cannot read groups", cause=exc) from exc

    with pytest.raises(HostReadError) as info, error_context("core.runner", "run"):
        inner()
    doc = info.value.to_dict()
    assert doc["context"] == ["probes.iommu::read_groups", "core.runner::run"]
    assert doc["cause"]["type"] == "FileNotFoundError"
    assert info.value.__cause__ is info.value.cause


def test_nested_workbench_cause_is_serialised_whole() -> None:
    """A WorkbenchError caused by another keeps the inner one's dict."""
    inner = HostReadError("x", details={"path": "p"})
    outer = WorkbenchError("y", code="CUSTOM", cause=inner, recoverable=True)
    doc = outer.to_dict()
    assert doc["error"] == "CUSTOM" and doc["recoverable"] is True
    assert doc["cause"]["error"] == "HOST_READ_ERROR"


def test_non_workbench_errors_pass_through_context_untouched() -> None:
    """error_context never swallows or rewrites foreign exceptions."""
    with pytest.raises(KeyError), error_context("m", "op"):
        raise KeyError("k")


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
