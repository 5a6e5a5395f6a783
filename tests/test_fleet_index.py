"""The fleet index on disk (workbench/fleet/index.py): real captures and sosreports, real runs of
`workbench fleet`; a re-run opens only what changed, a damaged index file is never trusted."""

from __future__ import annotations

import json
import os
import shutil
import stat
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import run_cli
from tests.fleet_helpers import (
    CAPTURED,
    HOTSOS,
    REPORTED,
    bundle,
    capture_of,
    probe_statuses,
    sos_archive,
    sos_dir,
)
from workbench.fleet import fingerprint
from workbench.fleet.index import MAX_FILE, SCHEMA, FleetIndex, prune
from workbench.fleet.model import FleetEntry
from workbench.fleet.run import PROBE_OPTIONS, probe_entry

pytestmark = pytest.mark.skipif(not HOTSOS.is_dir(), reason="../shared is absent")


@pytest.fixture(scope="module")
def fleet_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """captures/ of two machines, a sosreport archive, a sosreport directory, a `sos collect`
    bundle of one node."""
    work = tmp_path_factory.mktemp("indexed")
    top = work / "fleet"
    (top / "captures").mkdir(parents=True)
    for name in CAPTURED[:2]:
        capture_of(name, work, top / "captures" / f"{name}.tar.gz")
    tree = sos_dir(REPORTED[0], work / "trees" / "sosreport-arch-2026-11-29-abcdef")
    sos_archive(tree, top / f"{tree.name}.tar.xz")
    sos_dir(REPORTED[1], top / "reports" / f"sosreport-{REPORTED[1]}")
    node = sos_dir(REPORTED[1], work / "trees" / "sosreport-node0-2026-11-29-abcdef")
    packed = sos_archive(node, work / f"{node.name}.tar.xz")
    bundle([packed], top / "sos-collector-case-2026-11-29-xyzab.tar.gz")
    return top


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """This test's own XDG_CACHE_HOME (never the developer's)."""
    home = tmp_path / "cache"
    monkeypatch.setenv("XDG_CACHE_HOME", str(home))
    monkeypatch.delenv("WORKBENCH_FLEET_INDEX", raising=False)
    return home


def fleet(*paths: Path, extra: tuple[str, ...] = ()) -> tuple[dict[str, Any], str]:
    """`workbench fleet PATH... --json`: its document and stderr."""
    done = run_cli("fleet", *map(str, paths), "--json", *extra)
    assert done.returncode in (0, 1), done.stderr
    doc: dict[str, Any] = json.loads(done.stdout)
    return doc, done.stderr


def without_indexed(doc: dict[str, Any]) -> dict[str, Any]:
    out = dict(doc)
    out["machines"] = [{k: v for k, v in m.items() if k != "indexed"} for m in doc["machines"]]
    return out


def indexed(doc: dict[str, Any]) -> dict[str, bool]:
    return {m["source"]: m["indexed"] for m in doc["machines"]}


def index_files(cache: Path) -> list[Path]:
    return sorted((cache / "workbench" / "fleet-index").glob("*/*.json"))


def test_second_run_is_the_first_from_the_index(fleet_dir: Path, cache: Path) -> None:
    """Run twice: the same document but `indexed`, every archive (captures, the sosreport
    archive, the bundle's node) from the index the second time, the directory never; each
    machine's statuses are those `probe` gives it alone."""
    first, _ = fleet(fleet_dir)
    second, _ = fleet(fleet_dir)
    assert without_indexed(second) == without_indexed(first)
    assert not any(indexed(first).values())
    again = indexed(second)
    directory = str(fleet_dir / "reports" / f"sosreport-{REPORTED[1]}")
    assert again.pop(directory) is False
    assert again and all(again.values()), again
    assert any(":" in source for source in again)  # the bundle's node, shown as bundle:file
    for name in CAPTURED[:2]:
        path = fleet_dir / "captures" / f"{name}.tar.gz"
        machine = next(m for m in second["machines"] if m["source"] == str(path))
        assert machine["statuses"] == probe_statuses("capture", path)
    archive = next(fleet_dir.glob("sosreport-arch-*.tar.xz"))
    machine = next(m for m in second["machines"] if m["source"] == str(archive))
    assert machine["statuses"] == probe_statuses("sos", archive)


def test_the_index_holds_no_path_and_its_modes_are_private(fleet_dir: Path, cache: Path) -> None:
    """The directory (and each shard) is 0700, each file 0600; no file names a path: neither
    the fleet's, nor a temporary unpack directory's."""
    fleet(fleet_dir)
    root = cache / "workbench" / "fleet-index"
    assert stat.S_IMODE(root.stat().st_mode) == 0o700
    files = index_files(cache)
    assert len(files) == 4  # two captures, the sosreport archive, the bundle's node
    for path in files:
        assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        text = path.read_text()
        assert json.loads(text)["schema"] == SCHEMA
        assert str(fleet_dir.parent) not in text
        assert "workbench-capture-" not in text and "/tmp" not in text


def test_a_changed_byte_is_probed_afresh(fleet_dir: Path, cache: Path, tmp_path: Path) -> None:
    """One byte of a capture changed (its gzip header's time: still a valid capture): that
    capture is probed again, the other comes from the index."""
    top = tmp_path / "two"
    shutil.copytree(fleet_dir / "captures", top)
    fleet(top)
    changed = top / f"{CAPTURED[0]}.tar.gz"
    data = bytearray(changed.read_bytes())
    data[4] ^= 0x01  # gzip MTIME
    changed.write_bytes(bytes(data))
    doc, _ = fleet(top)
    assert indexed(doc) == {str(changed): False, str(top / f"{CAPTURED[1]}.tar.gz"): True}
    assert next(m for m in doc["machines"] if m["source"] == str(changed))["statuses"]


PLUGIN = """
from workbench.core.probe import Probe, ProbeContext
from workbench.core.report import Outcome


class Extra(Probe):
    id = "x.indexcheck"
    title = "a plugin installed between two runs"

    def run(self, ctx: ProbeContext) -> Outcome:
        return Outcome("pass", "ran")
"""


def test_a_new_plugin_changes_the_fingerprint(fleet_dir: Path, cache: Path, tmp_path: Path) -> None:
    """A probe plugin installed between two runs: every archive is probed afresh, and its
    probe is in every machine's statuses (nothing stale from the index)."""
    top = fleet_dir / "captures"
    fleet(top)
    site = tmp_path / "site"
    (site / "wbidx_plugin").mkdir(parents=True)
    (site / "wbidx_plugin" / "__init__.py").write_text(PLUGIN)
    info = site / "wbidx_plugin-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: wbidx-plugin\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(
        "[workbench.probes]\nx.indexcheck = wbidx_plugin:Extra\n"
    )
    done = run_cli("fleet", str(top), "--json", env={"PYTHONPATH": str(site)})
    doc = json.loads(done.stdout)
    assert not any(indexed(doc).values())
    assert all(m["statuses"].get("x.indexcheck") == "pass" for m in doc["machines"])
    assert len(index_files(cache)) == 4  # both fingerprints' entries


def test_a_changed_fingerprint_is_a_miss(fleet_dir: Path, tmp_path: Path) -> None:
    """The same archive under another code fingerprint is not found; under its own it is."""
    entry = FleetEntry("c", str(fleet_dir / "captures" / f"{CAPTURED[0]}.tar.gz"), "capture")
    old = FleetIndex(tmp_path, "a" * 64)
    assert probe_entry(entry, old).indexed is False
    assert probe_entry(entry, old).indexed is True
    assert probe_entry(entry, FleetIndex(tmp_path, "b" * 64)).indexed is False


def test_the_fingerprint_follows_the_source_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The code fingerprint is the same while nothing changes, and changes when a source file
    of a judged package is edited or a data file (a catalogue) is added."""
    package = tmp_path / "wbidx_src"
    package.mkdir()
    (package / "__init__.py").write_text("")
    module = package / "judge.py"
    module.write_text("VERDICT = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(fingerprint, "PACKAGES", ("wbidx_src",))
    before = fingerprint.code_fingerprint()
    assert fingerprint.code_fingerprint() == before
    module.write_text("VERDICT = 22\n")
    after = fingerprint.code_fingerprint()
    assert after != before
    (package / "catalogue.toml").write_text("[cause]\n")  # data judges too
    assert fingerprint.code_fingerprint() != after


def _key_path(index: FleetIndex, entry: FleetEntry) -> Path:
    """Where `entry`'s result is kept (after one probe of it)."""
    probe_entry(entry, index)
    (path,) = index.root.glob("*/*.json")
    return path


def _valid(path: Path) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(path.read_text())
    return doc


DAMAGE = {
    "garbage": lambda doc: b"\x00\xffnot json at all",
    "truncated": lambda doc: json.dumps(doc).encode()[:-20],
    "wrong schema": lambda doc: json.dumps({**doc, "schema": "workbench.fleet-index/0"}).encode(),
    "another key": lambda doc: json.dumps({**doc, "key": "0" * 64}).encode(),
    "statuses not a dict": lambda doc: json.dumps(
        {**doc, "machine": {**doc["machine"], "statuses": ["pass"]}}
    ).encode(),
    "an unknown status": lambda doc: json.dumps(
        {**doc, "machine": {**doc["machine"], "statuses": {"pci.gpus": "great"}}}
    ).encode(),
    "causes of numbers": lambda doc: json.dumps(
        {**doc, "machine": {**doc["machine"], "causes": [1, 2]}}
    ).encode(),
    "facts of the wrong shape": lambda doc: json.dumps(
        {**doc, "machine": {**doc["machine"], "facts": {"gpus": [["nested"]]}}}
    ).encode(),
    "a path smuggled in": lambda doc: json.dumps(
        {**doc, "machine": {**doc["machine"], "source": "/etc/passwd"}}
    ).encode(),
    "too large": lambda doc: json.dumps({**doc, "pad": "x" * (MAX_FILE + 1)}).encode(),
    "a list": lambda doc: b"[1, 2, 3]",
}


@pytest.mark.parametrize("damage", sorted(DAMAGE))
def test_a_damaged_file_is_ignored_and_rewritten(
    fleet_dir: Path, tmp_path: Path, damage: str
) -> None:
    """A damaged index file is a miss (the archive probed afresh, the same result) and is
    rewritten whole, so the next run finds it again."""
    entry = FleetEntry("c", str(fleet_dir / "captures" / f"{CAPTURED[0]}.tar.gz"), "capture")
    index = FleetIndex(tmp_path / "index", "f" * 64)
    index.root.mkdir()
    path = _key_path(index, entry)
    good = _valid(path)
    expected = probe_entry(entry, index)
    path.write_bytes(DAMAGE[damage](good))
    machine = probe_entry(entry, index)
    assert machine.indexed is False
    assert machine.statuses == expected.statuses and machine.facts == expected.facts
    assert _valid(path) == good
    assert probe_entry(entry, index).indexed is True


def test_a_symlink_is_never_followed(fleet_dir: Path, tmp_path: Path) -> None:
    """An index file that is a symbolic link (to a valid record elsewhere) is not read, and is
    replaced by a file: its target is left as it was."""
    entry = FleetEntry("c", str(fleet_dir / "captures" / f"{CAPTURED[0]}.tar.gz"), "capture")
    index = FleetIndex(tmp_path / "index", "f" * 64)
    index.root.mkdir()
    path = _key_path(index, entry)
    elsewhere = tmp_path / "elsewhere.json"
    elsewhere.write_bytes(path.read_bytes())
    path.unlink()
    path.symlink_to(elsewhere)
    assert probe_entry(entry, index).indexed is False
    assert not path.is_symlink() and path.is_file()
    assert elsewhere.read_bytes() == path.read_bytes()
    shard = path.parent
    shutil.rmtree(shard)
    shard.symlink_to(tmp_path)  # a shard that is a link: replaced by a directory
    assert probe_entry(entry, index).indexed is False
    assert not shard.is_symlink() and path.is_file()
    assert not (tmp_path / path.name).exists()


def test_a_fifo_in_place_never_blocks(fleet_dir: Path, tmp_path: Path) -> None:
    """An index file that is a FIFO is not opened for reading (no hang) and is replaced."""
    entry = FleetEntry("c", str(fleet_dir / "captures" / f"{CAPTURED[0]}.tar.gz"), "capture")
    index = FleetIndex(tmp_path / "index", "f" * 64)
    index.root.mkdir()
    path = _key_path(index, entry)
    path.unlink()
    os.mkfifo(path)
    assert probe_entry(entry, index).indexed is False
    assert stat.S_ISREG(path.lstat().st_mode)


def test_unusable_cache_dir_is_said_once_and_the_fleet_still_runs(
    fleet_dir: Path, tmp_path: Path
) -> None:
    """XDG_CACHE_HOME is a file (nothing can be made under it): every machine is probed, the
    fleet's document is whole, and stderr says so once."""
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    done = run_cli(
        "fleet", str(fleet_dir / "captures"), "--json", env={"XDG_CACHE_HOME": str(blocker)}
    )
    assert done.returncode in (0, 1), done.stderr
    doc = json.loads(done.stdout)
    assert len(doc["machines"]) == 2 and all(m["statuses"] for m in doc["machines"])
    assert done.stderr.count("fleet index not used") == 1
    assert "Traceback" not in done.stderr


def test_the_index_note_reaches_the_terminal_escaped(fleet_dir: Path, tmp_path: Path) -> None:
    """A note naming a path with a terminal control in it (here the cache dir) is shown
    escaped, never acted on."""
    blocker = tmp_path / "bad\x1b[2Jname"
    blocker.write_text("x")
    done = run_cli(
        "fleet", str(fleet_dir / "captures"), "--json", env={"XDG_CACHE_HOME": str(blocker)}
    )
    assert done.returncode in (0, 1), done.stderr
    assert "fleet index not used" in done.stderr
    assert "\x1b" not in done.stderr and "bad\\x1b[2Jname" in done.stderr


def test_a_result_that_cannot_be_written_is_said_once(
    fleet_dir: Path, cache: Path, tmp_path: Path
) -> None:
    """Two copies of one capture whose index file's place is taken by a directory: both
    machines are probed and shown; stderr says once that their results were not kept."""
    top = tmp_path / "copies"
    top.mkdir()
    one = fleet_dir / "captures" / f"{CAPTURED[0]}.tar.gz"
    shutil.copy(one, top / "a.tar.gz")
    shutil.copy(one, top / "b.tar.gz")
    fleet(top)
    (path,) = index_files(cache)
    path.unlink()
    path.mkdir()
    doc, err = fleet(top)
    assert [m["indexed"] for m in doc["machines"]] == [False, False]
    assert all(m["statuses"] for m in doc["machines"])
    assert err.count("fleet index:") == 1 and "2 result(s) not kept" in err


def test_no_index_and_the_environment_turn_it_off(fleet_dir: Path, cache: Path) -> None:
    """--no-index and WORKBENCH_FLEET_INDEX=off neither read nor write the index."""
    top = fleet_dir / "captures"
    doc, _ = fleet(top, extra=("--no-index",))
    assert not any(indexed(doc).values())
    assert not cache.exists()
    done = run_cli("fleet", str(top), "--json", env={"WORKBENCH_FLEET_INDEX": "off"})
    assert not any(indexed(json.loads(done.stdout)).values())
    assert not cache.exists()
    fleet(top)
    doc, _ = fleet(top, extra=("--no-index",))
    assert not any(indexed(doc).values())


def test_progress_counts_the_indexed(fleet_dir: Path, cache: Path) -> None:
    """--progress says how many machines came from the index."""
    top = fleet_dir / "captures"
    fleet(top)
    _, err = fleet(top, extra=("--progress",))
    assert "2/2 machines, 2 from the index" in err


def test_api_index_false_probes_afresh(fleet_dir: Path, cache: Path) -> None:
    """`workbench.fleet(paths, index=False)` probes every archive; by default the index is
    used."""
    import workbench.fleet

    top = fleet_dir / "captures"
    workbench.fleet([top])
    fresh = workbench.fleet([top], index=False)
    assert not any(m.indexed for m in fresh.machines)
    assert all(m.indexed for m in workbench.fleet([top]).machines)


def test_prune_removes_the_least_recently_used(tmp_path: Path) -> None:
    """Beyond the count, the oldest files go; a temp file of a dead write goes too."""
    shard = tmp_path / "ab"
    shard.mkdir()
    for age in range(5):
        path = shard / f"ab{age}.json"
        path.write_text("{}")
        os.utime(path, (1000.0 - age, 1000.0 - age))
    stale = shard / ".abx.json.123.tmp"
    stale.write_text("{")
    os.utime(stale, (0.0, 0.0))
    assert prune(tmp_path, max_entries=2, now=5000.0) == 4
    assert sorted(p.name for p in shard.iterdir()) == ["ab0.json", "ab1.json"]
    assert prune(tmp_path, max_entries=10, max_bytes=2, now=5000.0) == 1


def test_the_key_depends_on_options_and_kind(tmp_path: Path) -> None:
    """Another probe option or another kind is another key."""
    index = FleetIndex(tmp_path, "a" * 64)
    base = index.key("0" * 64, "capture", PROBE_OPTIONS)
    assert base != index.key("0" * 64, "sos", PROBE_OPTIONS)
    assert base != index.key("0" * 64, "capture", {"lg_resolution": "800x600"})
    assert base != index.key("1" * 64, "capture", PROBE_OPTIONS)
