"""`libvirt.connection` on a recorded machine whose recording is corrupt or incomplete: the
recording is said to be unusable or a field not recorded; the hypervisor is never judged."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import run_cli


def _root(make_root: Callable[..., Path], connection: str) -> Path:
    root = make_root("asrock-z170-gtx960")
    (root / "libvirt").mkdir()
    (root / "libvirt" / "connection.json").write_text(connection)
    return root


@pytest.mark.parametrize(
    ("connection", "why"),
    [
        ("", "not valid JSON"),
        ("garbage", "not valid JSON"),
        ("[]", "a list"),
        ("42", "a number"),
        ("null", "null"),
    ],
    ids=["empty", "garbage", "list", "number", "null"],
)
def test_an_unusable_connection_recording_is_a_skip_not_an_unreachable_hypervisor(
    make_root: Callable[..., Path], connection: str, why: str
) -> None:
    """A connection.json that is empty, not JSON or not an object: skip, the reason and how to
    record it again; no 'unreachable', exit 0."""
    root = _root(make_root, connection)
    done = run_cli("probe", "--root", str(root), "--only", "libvirt.connection")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "unreachable" not in done.stdout
    line = next(x for x in done.stdout.splitlines() if "libvirt.connection" in x)
    assert "SKIP" in line.upper()
    assert "not recorded" in done.stdout
    assert why in done.stdout
    assert "workbench capture" in done.stdout
    report = json.loads(
        run_cli("probe", "--root", str(root), "--only", "libvirt.connection", "--json").stdout
    )
    (probe,) = report["probes"]
    assert probe["status"] == "skip"
    assert probe["findings"] and all("recording" in f["message"] for f in probe["findings"])


@pytest.mark.parametrize(
    ("recorded", "shown", "missing"),
    [
        ({}, "URI not recorded", ["hypervisor", "libvirt version"]),
        ({"uri": "qemu:///system"}, "qemu:///system", ["hypervisor", "libvirt version"]),
        (
            {"uri": "qemu:///system", "hypervisor": "QEMU", "libvirt_version": "10.0.0"},
            "qemu:///system: QEMU",
            ["hypervisor version"],
        ),
    ],
    ids=["empty-object", "uri-only", "no-hypervisor-version"],
)
def test_missing_connection_fields_read_not_recorded_never_none(
    make_root: Callable[..., Path], recorded: dict[str, str], shown: str, missing: list[str]
) -> None:
    """Fields absent from connection.json are said to be not recorded; 'None' never shows."""
    root = _root(make_root, json.dumps(recorded))
    done = run_cli("probe", "--root", str(root), "--only", "libvirt.connection")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "None" not in done.stdout
    line = next(x for x in done.stdout.splitlines() if "libvirt.connection" in x)
    assert shown in line
    for field in missing:
        assert f"{field} not recorded" in line, line
