"""`probe --format prometheus` on recorded machines: a real capture and a real sosreport."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import SHARED, run_cli
from tests.test_prometheus_text import parse, statuses

HOTSOS = SHARED / "peer-data" / "hotsos-openstack"


def _same_as_json(*target: str) -> dict[str, str]:
    """The textfile's statuses for `target`, checked against `probe --json` on it; the exit
    status is probe's."""
    text = run_cli("probe", *target, "--format", "prometheus")
    doc = run_cli("probe", *target, "--json")
    assert text.returncode == doc.returncode, text.stderr
    assert text.returncode in (0, 1), text.stderr
    got = statuses(parse(text.stdout))
    assert got == {p["id"]: p["status"] for p in json.loads(doc.stdout)["probes"]}
    return got


def test_a_capture_made_by_the_command(make_root: Callable[..., Path], tmp_path: Path) -> None:
    """A capture written by `workbench capture --root` gives the textfile probe's statuses."""
    archive = tmp_path / "case.tar.gz"
    made = run_cli("capture", "--root", str(make_root("asrock-z170-gtx960")), "-o", str(archive))
    assert made.returncode == 0, made.stderr
    assert _same_as_json("--capture", str(archive))


@pytest.mark.skipif(not HOTSOS.is_dir(), reason="../shared/peer-data/hotsos-openstack absent")
def test_a_real_sosreport_slice() -> None:
    """The real sos 4.2 slice: probe's statuses, its unrecorded evidence one-hot on `skip`."""
    got = _same_as_json("--sos", str(HOTSOS))
    assert "skip" in got.values()
    assert "error" not in got.values()
