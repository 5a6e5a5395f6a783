"""`diff` and `fleet --compare` at their edges: refusals as workbench.error/1 documents under
--json, --force showing what tells two machines apart, a sosreport named to diff."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.conftest import run_cli
from tests.sosarchives import pack, report_tree
from tests.test_fleet_identity import MID_A, MID_B, _capture, _root


def _error_document(stdout: str) -> dict[str, Any]:
    """The workbench.error/1 document a refusal prints on stdout under --json."""
    doc: dict[str, Any] = json.loads(stdout)
    assert doc["schema"] == "workbench.error/1"
    return doc


def test_diff_json_refusing_two_machines_prints_an_error_document(
    make_root: Callable[..., Path], tmp_path: Path
) -> None:
    """diff --json of two machine-ids: exit 2, one stderr line, and on stdout the error
    document with code DIFF_DIFFERENT_MACHINES naming the key that differs."""
    a = _capture(_root(make_root, MID_A, None), tmp_path / "a.tar.gz")
    b = _capture(_root(make_root, MID_B, None), tmp_path / "b.tar.gz")
    done = run_cli("diff", "--json", str(a), str(b))
    assert done.returncode == 2, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert "--force compares them anyway" in done.stderr
    error = _error_document(done.stdout)["error"]
    assert error["error"] == "DIFF_DIFFERENT_MACHINES"
    assert error["details"]["differ"] == ["machine_id"]
    assert error["remedy"] == "--force compares them anyway"


def test_diff_force_shows_the_identity_differences_as_changes(
    make_root: Callable[..., Path], tmp_path: Path
) -> None:
    """diff --force of two machines otherwise alike: the machine-id is a change, exit 1, in
    text and JSON, never "no changes"."""
    a = _capture(_root(make_root, MID_A, "SER-A"), tmp_path / "a.tar.gz")
    b = _capture(_root(make_root, MID_B, "SER-B"), tmp_path / "b.tar.gz")
    text = run_cli("diff", "--force", str(a), str(b))
    assert text.returncode == 1, text.stderr
    assert "no changes" not in text.stdout
    assert f"identity machine_id: {MID_A} -> {MID_B}" in text.stdout
    assert "identity dmi_serial: SER-A -> SER-B" in text.stdout
    done = run_cli("diff", "--force", "--json", str(a), str(b))
    assert done.returncode == 1, done.stderr
    changes = json.loads(done.stdout)["changes"]
    assert {"area": "identity", "item": "machine_id", "before": MID_A, "after": MID_B} in changes


def test_diff_of_a_capture_and_a_sosreport_says_it_is_a_sosreport(
    make_root: Callable[..., Path], tmp_path: Path
) -> None:
    """A sosreport archive or folder named to diff: exit 2, "a sosreport: diff compares two
    captures" with the command that compares it, not "damaged"; a document under --json."""
    capture = _capture(_root(make_root, MID_A, None), tmp_path / "a.tar.gz")
    tree = report_tree(tmp_path / "unpacked")
    archive = pack(tree, tmp_path / "sosreport-gpuhost.tar.xz")
    for other in (archive, tree):
        done = run_cli("diff", str(capture), str(other))
        assert done.returncode == 2, done.stderr
        assert done.stderr.strip().splitlines() == [
            f"workbench: diff: {other} is a sosreport: diff compares two captures "
            "(use `workbench fleet --compare A B`)"
        ]
    done = run_cli("diff", "--json", str(archive), str(capture))
    assert done.returncode == 2
    assert _error_document(done.stdout)["error"]["error"] == "DIFF_NOT_A_CAPTURE"


def test_diff_of_a_damaged_archive_is_still_called_damaged(
    make_root: Callable[..., Path], tmp_path: Path
) -> None:
    """A file that is no archive at all is not taken for a sosreport: the capture reader's
    refusal, exit 2."""
    capture = _capture(_root(make_root, MID_A, None), tmp_path / "a.tar.gz")
    junk = tmp_path / "junk.tar.xz"
    junk.write_bytes(b"\xfd7zXZ\x00 not really")
    done = run_cli("diff", str(capture), str(junk))
    assert done.returncode == 2
    assert "sosreport" not in done.stderr and "Traceback" not in done.stderr


def test_compare_json_refusals_print_an_error_document(
    make_root: Callable[..., Path], tmp_path: Path
) -> None:
    """fleet --compare --json refusing (a name no machine has, a file that is no machine):
    exit 2, one stderr line, and the error document on stdout."""
    root = make_root("asrock-z170-gtx960")
    ghost = run_cli("fleet", "--compare", root.name, "ghost", str(root), "--json")
    assert ghost.returncode == 2, ghost.stderr
    assert ghost.stderr.strip().splitlines() == [
        "workbench: compare: no machine named ghost in the fleet"
    ]
    assert _error_document(ghost.stdout)["error"]["error"] == "COMPARE_NO_SUCH_MACHINE"
    junk = tmp_path / "junk.tar.gz"
    junk.write_bytes(b"not an archive at all")
    bad = run_cli("fleet", "--compare", str(junk), str(junk), "--json")
    assert bad.returncode == 2, bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1
    assert _error_document(bad.stdout)["error"]["error"].startswith("COMPARE_")
