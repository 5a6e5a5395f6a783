"""A fleet on disk for the fleet tests: real captures (`workbench capture --root`),
sosreport-shaped directories and archives, a `sos collect` bundle, the hotsos slice."""

from __future__ import annotations

import json
import tarfile
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import HOSTS, SHARED, run_cli
from tests.sosarchives import pack
from tests.sosfixtures import load_facts, write_sos_fixture
from workbench.machines import build_root

CAPTURED = ("asrock-z170-gtx960", "benbaker-renoir-acs-override", "ashtonian-adl-dual-radeon")
REPORTED = ("asokolsky-duo-z370-gt1030", "asrock-z170-gtx960")
# The machines are the repo's own snapshots/hosts (the same as ../shared/hosts): a clean clone
# runs every fleet test; only the hotsos slice is ../shared's, and its tests alone skip.
HOTSOS = SHARED / "peer-data" / "hotsos-openstack"
needs_hotsos = pytest.mark.skipif(
    not HOTSOS.is_dir(), reason="../shared/peer-data/hotsos-openstack absent"
)


def capture_of(name: str, work: Path, out: Path) -> Path:
    """A real capture of the recorded machine `name`, made by the CLI as a user makes it."""
    root = build_root(load_facts(HOSTS / f"{name}.json"), work / f"root-{name}")
    done = run_cli("capture", "--root", str(root), "-o", str(out))
    assert done.returncode == 0, done.stderr
    return out


def sos_dir(name: str, out: Path) -> Path:
    """A sosreport-shaped directory of the recorded machine `name`."""
    return write_sos_fixture(load_facts(HOSTS / f"{name}.json"), out)


def bundle(reports: list[Path], out: Path) -> Path:
    """A `sos collect` bundle: an outer tarball of one sosreport archive per node (and the
    collector's own files beside them)."""
    top = out.name.removesuffix(".tar.gz")
    with tarfile.open(out, "w:gz") as tar:
        for report in reports:
            tar.add(report, arcname=f"{top}/{report.name}")
        log = out.parent / "sos-collector.log"
        log.write_text("collected\n")
        tar.add(log, arcname=f"{top}/logs/sos-collector.log")
    return out


def sos_archive(tree: Path, out: Path) -> Path:
    """`tree` packed as sos packs it (.tar.xz)."""
    return pack(tree, out)


def fleet_json(*paths: Path, extra: tuple[str, ...] = ()) -> tuple[int, dict[str, Any]]:
    """`workbench fleet PATH... --json`: its exit code and document."""
    done = run_cli("fleet", *map(str, paths), "--json", *extra)
    assert done.returncode in (0, 1), done.stderr
    doc: dict[str, Any] = json.loads(done.stdout)
    return done.returncode, doc


def probe_statuses(option: str, path: Path) -> dict[str, str]:
    """What `workbench probe --OPTION PATH --json` gives each probe, alone."""
    done = run_cli("probe", f"--{option}", str(path), "--json")
    assert done.returncode in (0, 1), done.stderr
    return {p["id"]: p["status"] for p in json.loads(done.stdout)["probes"]}
