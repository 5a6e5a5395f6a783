"""`workbench fleet`: a fleet of real captures and sosreports, each machine as `probe` sees it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.conftest import run_cli
from tests.fleet_helpers import (
    CAPTURED,
    HOTSOS,
    REPORTED,
    bundle,
    capture_of,
    fleet_json,
    probe_statuses,
    sos_archive,
    sos_dir,
)


@pytest.fixture(scope="module")
def fleet_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """captures/ of three machines, reports/ of two sosreport directories and an archive, a
    `sos collect` bundle of two nodes, and the hotsos slice."""
    work = tmp_path_factory.mktemp("fleet")
    top = work / "fleet"
    (top / "captures").mkdir(parents=True)
    for name in CAPTURED:
        capture_of(name, work, top / "captures" / f"{name}.tar.gz")
    for name in REPORTED:
        sos_dir(name, top / "reports" / f"sosreport-{name}")
    archives = work / "archives"
    archives.mkdir()
    packed = []
    for i, name in enumerate(REPORTED):
        tree = sos_dir(name, work / "trees" / f"sosreport-node{i}-2026-11-29-abcdef")
        packed.append(sos_archive(tree, archives / f"{tree.name}.tar.xz"))
    bundle(packed, top / "sos-collector-case-2026-11-29-xyzab.tar.gz")
    if HOTSOS.is_dir():  # ../shared's real sos 4.2 slice, when present
        shutil.copytree(HOTSOS, top / "hotsos")
    return top


def test_each_machine_has_the_statuses_probe_gives_it_alone(fleet_dir: Path) -> None:
    """A fleet of captures, sosreport directories, a bundle and the hotsos slice: each machine
    has exactly the statuses `workbench probe` gives it on its own."""
    code, doc = fleet_json(fleet_dir)
    assert doc["schema"] == "workbench.fleet/1"
    machines = {m["source"]: m for m in doc["machines"]}
    assert len(machines) == len(CAPTURED) + 2 * len(REPORTED) + HOTSOS.is_dir()
    for name in CAPTURED:
        path = fleet_dir / "captures" / f"{name}.tar.gz"
        assert machines[str(path)]["statuses"] == probe_statuses("capture", path)
    for name in REPORTED:
        path = fleet_dir / "reports" / f"sosreport-{name}"
        assert machines[str(path)]["statuses"] == probe_statuses("sos", path)
    if HOTSOS.is_dir():
        assert machines[str(fleet_dir / "hotsos")]["statuses"] == probe_statuses(
            "sos", fleet_dir / "hotsos"
        )
    failing = any(s in ("fail", "error") for m in doc["machines"] for s in m["statuses"].values())
    assert code == (1 if failing else 0)


def test_a_bundle_gives_one_machine_per_node_within_it(fleet_dir: Path, tmp_path: Path) -> None:
    """Each node of a `sos collect` bundle is a machine `within` the bundle, with the statuses
    `probe` gives its report alone."""
    the_bundle = fleet_dir / "sos-collector-case-2026-11-29-xyzab.tar.gz"
    _, doc = fleet_json(the_bundle)
    nodes = doc["machines"]
    assert [m["name"] for m in nodes] == ["node0", "node1"]
    assert all(m["within"] == str(the_bundle) for m in nodes)
    for i, name in enumerate(REPORTED):
        alone = sos_dir(name, tmp_path / f"sosreport-node{i}")
        assert nodes[i]["statuses"] == probe_statuses("sos", alone)


def test_probes_group_the_machines_by_status(fleet_dir: Path) -> None:
    """`probes` names, for each probe and status, exactly the machines that have it."""
    _, doc = fleet_json(fleet_dir / "captures")
    for probe, by_status in doc["probes"].items():
        for status, names in by_status.items():
            assert names == [m["name"] for m in doc["machines"] if m["statuses"][probe] == status]


def test_text_is_a_table_of_glyphs_with_a_legend(fleet_dir: Path) -> None:
    """The text output has a row per machine, narrow headers and the legend of both."""
    done = run_cli("fleet", str(fleet_dir / "captures"))
    assert done.returncode in (0, 1), done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "Fleet of 3 machines"
    assert [line.split()[0] for line in lines[2:5]] == sorted(CAPTURED)
    assert "gpus pci.gpus" in done.stdout
    assert "pass" in done.stdout and "legend:" in done.stdout


def test_a_damaged_capture_is_a_machine_with_an_error(fleet_dir: Path, tmp_path: Path) -> None:
    """A capture that cannot be opened is its own machine's error; the others are probed."""
    good = fleet_dir / "captures" / f"{CAPTURED[0]}.tar.gz"
    shutil.copy(good, tmp_path / "good.tar.gz")
    data = good.read_bytes()
    (tmp_path / "broken.tar.gz").write_bytes(data[: len(data) // 2])
    done = run_cli("fleet", str(tmp_path), "--json")
    assert done.returncode == 1, done.stderr
    machines = {m["name"]: m for m in json.loads(done.stdout)["machines"]}
    assert machines["broken"]["error"]["error"] == "CAPTURE_REFUSED"
    assert machines["broken"]["statuses"] == {}
    assert machines["good"]["statuses"] == probe_statuses("capture", tmp_path / "good.tar.gz")


def test_no_machine_is_exit_2_in_one_line(tmp_path: Path) -> None:
    """A directory with no machine in it is refused: one line, exit 2, no traceback."""
    (tmp_path / "notes.txt").write_text("hello\n")
    done = run_cli("fleet", str(tmp_path))
    assert done.returncode == 2
    assert "no machine found" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert "Traceback" not in done.stderr


def test_a_missing_path_is_exit_2(tmp_path: Path) -> None:
    """A path that does not exist and nothing else: exit 2, said in one line."""
    done = run_cli("fleet", str(tmp_path / "absent"))
    assert done.returncode == 2
    assert "absent" in done.stderr and "Traceback" not in done.stderr


def test_a_bad_workers_count_is_exit_2(tmp_path: Path) -> None:
    """--workers takes a whole number: anything else is a usage error."""
    done = run_cli("fleet", str(tmp_path), "--workers", "many")
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
