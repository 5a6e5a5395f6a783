"""fleet.discover: names kept on clashes (folders only when they tell machines apart), sos
host names with numbers, a bundle named twice, a truncated bundle's nodes, links and limits
said, a bundle node opened from the TUI."""

from __future__ import annotations

import asyncio
import shutil
import tarfile
from pathlib import Path

import pytest

from tests.conftest import run_cli
from tests.fleet_helpers import HOSTS, HOTSOS, bundle, capture_of, fleet_json, sos_archive
from tests.sosarchives import report_tree
from tests.sosfixtures import load_facts
from workbench.fleet import discover as discover_mod
from workbench.fleet.discover import _sos_name, discover, fleet_workdir
from workbench.machines import build_root

pytestmark = pytest.mark.skipif(not HOTSOS.is_dir(), reason="../shared is absent")


@pytest.fixture(scope="module")
def two(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Real captures of two shared machines."""
    work = tmp_path_factory.mktemp("two")
    a = capture_of("asrock-z170-gtx960", work, work / "alpha.tar.gz")
    b = capture_of("benbaker-renoir-acs-override", work, work / "beta.tar.gz")
    return a, b


@pytest.fixture(scope="module")
def nodes(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Three sosreport archives of nodes named with short numbers."""
    work = tmp_path_factory.mktemp("nodes")
    out = []
    for host in ("compute-01", "compute-02", "r640-12"):
        tree = report_tree(work / "trees", f"sosreport-{host}-2026-11-29-abcdef")
        out.append(sos_archive(tree, work / f"{tree.name}.tar.xz"))
    return out


@pytest.mark.parametrize(
    ("file_name", "host"),
    [
        ("sosreport-compute-01-2026-11-29-abcdef.tar.xz", "compute-01"),
        ("sosreport-compute-02-2026-11-29-abcdef.tar.xz", "compute-02"),
        ("sosreport-r640-12-2026-11-29-abcdef.tar.xz", "r640-12"),
        ("sosreport-host-12345-2026-11-29-abcdef.tar.xz", "host"),
        ("sosreport-db1-01234567-2026-11-29-x1y2z3.tar.gz", "db1"),
        ("sosreport-b550-lab.tar.xz", "b550-lab"),  # no date: the rest is the host
        ("sosreport-.tar.xz", "sosreport-"),  # nothing after the prefix: the name stays
        ("notes.tar.xz", "notes"),
    ],
)
def test_a_short_number_is_part_of_the_host_name(file_name: str, host: str) -> None:
    """Only a long number (5 digits or more) is a case id; a short one is the host's."""
    assert _sos_name(file_name) == host


def _days(two: tuple[Path, Path], top: Path) -> Path:
    for day in ("mon", "tue"):
        (top / "days" / day).mkdir(parents=True)
        for capture in two:
            shutil.copy(capture, top / "days" / day / capture.name)
    return top / "days"


def test_folders_that_do_not_tell_machines_apart_keep_the_names(
    two: tuple[Path, Path], tmp_path: Path
) -> None:
    """days/mon and days/tue, each with the same two hosts: the hosts' names are kept (with
    #2), never the days'; the text table shows each clashing machine's source."""
    days = _days(two, tmp_path)
    entries, _ = discover([days])
    names = sorted(e.name for e in entries)
    assert "mon" not in names and "tue" not in names
    assert len(set(names)) == 4
    assert {n.split("#")[0] for n in names} == {e.name for e in entries if "#" not in e.name}
    done = run_cli("fleet", str(days), "--text", "--no-index")
    assert "sources of the machines whose names clash:" in done.stdout
    assert str(days / "tue" / "beta.tar.gz") in done.stdout


def test_captures_and_roots_of_the_same_machines_keep_their_names(tmp_path: Path) -> None:
    """`caps/` and `roots/` (the same machines as captures and as roots): the machines' own
    names (with #2), never `caps#N`."""
    caps = tmp_path / "caps"
    caps.mkdir()
    for name in ("asrock-z170-gtx960", "benbaker-renoir-acs-override"):
        root = build_root(load_facts(HOSTS / f"{name}.json"), tmp_path / "roots" / name)
        done = run_cli("capture", "--root", str(root), "-o", str(caps / f"{name}.tar.gz"))
        assert done.returncode == 0, done.stderr
    entries, _ = discover([caps, tmp_path / "roots"])
    names = sorted(e.name for e in entries)
    assert len(names) == 4
    assert not any(n.startswith(("caps", "roots")) for n in names), names
    assert sorted({n.split("#")[0] for n in names}) == [n for n in names if "#" not in n]


def test_ansible_folders_still_name_the_hosts(two: tuple[Path, Path], tmp_path: Path) -> None:
    """captures/HOST/workbench-HOST.tar.gz of one machine recorded under one host name: the
    folders tell them apart, so they name them."""
    for host in ("web1", "web2"):
        (tmp_path / "captures" / host).mkdir(parents=True)
        shutil.copy(two[0], tmp_path / "captures" / host / f"workbench-{host}.tar.gz")
        shutil.copy(two[0], tmp_path / "captures" / host / "copy.tar.gz")
    (tmp_path / "captures" / "web2" / "copy.tar.gz").unlink()
    (tmp_path / "captures" / "web1" / "copy.tar.gz").unlink()
    entries, _ = discover([tmp_path / "captures"])
    assert sorted(e.name for e in entries) == ["web1", "web2"]


def test_a_bundle_named_twice_gives_each_node_once(nodes: list[Path], tmp_path: Path) -> None:
    """`fleet b.tar.gz b.tar.gz` (or through a link): every node once, named for its host."""
    outer = bundle(nodes, tmp_path / "sos-collector-x.tar.gz")
    (tmp_path / "link.tar.gz").symlink_to(outer)
    with fleet_workdir() as work:
        entries, _ = discover([outer, outer, tmp_path / "link.tar.gz"], work)
    assert sorted(e.name for e in entries) == ["compute-01", "compute-02", "r640-12"]


def test_a_truncated_bundle_keeps_its_complete_nodes(nodes: list[Path], tmp_path: Path) -> None:
    """A bundle that breaks off after its first nodes: those are kept, and the break is said."""
    plain = tmp_path / "b.tar"
    with tarfile.open(plain, "w") as tar:
        for node in nodes:
            tar.add(node, arcname=f"sos-collector-x/{node.name}")
    data = plain.read_bytes()
    cut = tmp_path / "sos-collector-cut.tar"
    cut.write_bytes(data[: len(data) - nodes[-1].stat().st_size // 2 - 1024])
    with fleet_workdir() as work:
        entries, problems = discover([cut], work)
    assert [e.kind for e in entries] == ["sos", "sos"]
    assert sorted(e.name for e in entries) == ["compute-01", "compute-02"]
    assert any("breaks off after" in p for p in problems), problems


def test_a_node_that_is_a_link_is_said_never_followed(nodes: list[Path], tmp_path: Path) -> None:
    """A bundle member named like a node that is a symbolic link (to /etc/shadow): said as
    a link not followed; the real node is kept."""
    outer = tmp_path / "sos-collector-l.tar.gz"
    with tarfile.open(outer, "w:gz") as tar:
        tar.add(nodes[0], arcname=f"c/{nodes[0].name}")
        link = tarfile.TarInfo("c/sosreport-evil-2026-11-29-abcdef.tar.xz")
        link.type = tarfile.SYMTYPE
        link.linkname = "/etc/shadow"
        tar.addfile(link)
    with fleet_workdir() as work:
        entries, problems = discover([outer], work)
    assert [e.name for e in entries] == ["compute-01"]
    assert any("links in the bundle, not followed" in p and "evil" in p for p in problems)


def test_nodes_past_the_limit_are_said_as_such(
    nodes: list[Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """More nodes than MAX_INNER: the rest are said as past the limit, not as badly named."""
    monkeypatch.setattr(discover_mod, "MAX_INNER", 2)
    outer = bundle(nodes, tmp_path / "sos-collector-m.tar.gz")
    with fleet_workdir() as work:
        entries, problems = discover([outer], work)
    assert len(entries) == 2
    assert any("1 sosreport(s) past the first 2" in p for p in problems), problems
    assert not any("not named" in p for p in problems)


def test_a_scan_stopped_at_its_limit_is_said(
    nodes: list[Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bundle looked at only up to SCAN_MEMBERS: the nodes after are said not taken."""
    monkeypatch.setattr(discover_mod, "SCAN_MEMBERS", 2)
    outer = bundle(nodes, tmp_path / "sos-collector-s.tar.gz")
    with fleet_workdir() as work:
        entries, problems = discover([outer], work)
    assert len(entries) == 2
    assert any("nodes after them not taken" in p for p in problems), problems


def test_the_fleet_wide_cap_names_the_bundle(
    nodes: list[Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Bundles whose nodes take more than the fleet's cap: the nodes past it are said,
    naming the bundle and the first node not taken."""
    first = nodes[0].stat().st_size
    monkeypatch.setattr(discover_mod, "FLEET_INNER_BYTES", first + 1)
    outer = bundle(nodes, tmp_path / "sos-collector-f.tar.gz")
    with fleet_workdir() as work:
        entries, problems = discover([outer], work)
    assert len(entries) == 1
    (said,) = [p for p in problems if "in all" in p]
    assert str(outer) in said and nodes[1].name in said


def test_a_bundle_nodes_error_names_the_bundle_not_a_temp_path(tmp_path: Path) -> None:
    """A bundle's node that cannot be opened: its error names BUNDLE:REPORT, never the
    deleted extracted copy."""
    broken = tmp_path / "sosreport-bad-2026-11-29-abcdef.tar.xz"
    tree = report_tree(tmp_path / "trees", "sosreport-bad-2026-11-29-abcdef")
    sos_archive(tree, broken)
    broken.write_bytes(broken.read_bytes()[:200])
    outer = bundle([broken], tmp_path / "sos-collector-e.tar.gz")
    _, doc = fleet_json(outer, extra=("--no-index",))
    (machine,) = doc["machines"]
    if "error" not in machine:
        pytest.skip("the cut report still opened")
    assert "workbench-fleet-" not in machine["error"]["message"]
    assert f"{outer}:{broken.name}" in machine["error"]["message"]


def test_enter_on_a_bundles_node_opens_it(nodes: list[Path], tmp_path: Path) -> None:
    """In the TUI, enter on a bundle's node opens its extracted report (its open_source),
    not the shown `BUNDLE:REPORT`."""
    from workbench.fleet.discover import fleet_workdir as workdir_of
    from workbench.fleet.machine import open_fleet
    from workbench.ui.fleet.app import FleetApp

    outer = bundle(nodes[:1], tmp_path / "sos-collector-t.tar.gz")

    async def go(fleet_dir: Path) -> FleetApp:
        fleet = open_fleet([outer], index=False, workdir=fleet_dir)
        app = FleetApp(fleet)
        async with app.run_test() as pilot:
            await pilot.press("enter")
            for _ in range(200):
                await pilot.pause(0.05)
                if app.opened is not None or not app.opening:
                    break
        return app

    with workdir_of() as fleet_dir:
        app = asyncio.run(go(fleet_dir))
        assert app.opened is not None
        app.opened.stack.close()
    assert app.opened.machine.source == f"{outer}:{nodes[0].name}"


def test_the_tui_shows_the_sources_of_clashing_names(
    two: tuple[Path, Path], tmp_path: Path
) -> None:
    """Two machines of one name whose folders tell nothing: the TUI has a source column with
    each one's path."""
    from rich.text import Text
    from textual.widgets import DataTable

    from workbench.fleet.machine import open_fleet
    from workbench.ui.fleet.app import FleetApp

    for sub in ("a", "b"):
        (tmp_path / sub / "site").mkdir(parents=True)
        shutil.copy(two[0], tmp_path / sub / "site" / "host.tar.gz")
    fleet = open_fleet([tmp_path / "a", tmp_path / "b"], index=False)

    async def go() -> list[str]:
        app = FleetApp(fleet)
        async with app.run_test(size=(200, 30)) as pilot:
            await pilot.pause(0.1)
            table = app.query_one("#fleet", DataTable)
            cells = [table.get_cell(str(i), "source") for i in range(2)]
        return [c.plain if isinstance(c, Text) else str(c) for c in cells]

    shown = asyncio.run(go())
    assert shown[0].endswith("a/site/host.tar.gz") and shown[1].endswith("b/site/host.tar.gz")
