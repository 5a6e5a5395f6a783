"""`workbench.fleet(paths)` in a notebook: an HTML table of machines x probes, every value
escaped, and `.to_dict()` (workbench.fleet/1)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import workbench
from tests.conftest import run_cli
from workbench.core.report import STATUSES

HOSTILE = "<script>alert(1)</script>"


def test_fleet_html_escapes_hostile_names(make_root: Callable[..., Path], tmp_path: Path) -> None:
    """A host name that is HTML reaches the table as text, never as markup."""
    root = make_root("asrock-z170-gtx960")
    (root / "proc/sys/kernel").mkdir(parents=True, exist_ok=True)
    (root / "proc/sys/kernel/hostname").write_text(HOSTILE + "\n")
    view = workbench.fleet([root])
    html = view._repr_html_()
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert view.machines[0].name == HOSTILE


def test_fleet_table_and_dict(make_root: Callable[..., Path], tmp_path: Path) -> None:
    """Two machines (a capture and a root): one row each, a column per probe, the same
    statuses as `probe` gives each alone; to_dict is workbench.fleet/1."""
    a = make_root("asrock-z170-gtx960")
    b = make_root("asokolsky-duo-z370-gt1030")
    cap = tmp_path / "a.tar.gz"
    assert run_cli("capture", "--root", str(a), "-o", str(cap)).returncode == 0
    view = workbench.fleet([cap, b])
    doc = view.to_dict()
    assert doc["schema"] == "workbench.fleet/1"
    assert [m["kind"] for m in doc["machines"]] == ["capture", "root"]
    html = view._repr_html_()
    assert html.count("<tr>") == 3  # the header and one row per machine
    assert "pci.gpus" in html
    for machine in view.machines:
        assert set(machine.statuses.values()) <= set(STATUSES)
    import json

    alone = json.loads(run_cli("probe", "--root", str(b), "--json").stdout)
    assert {p["id"]: p["status"] for p in alone["probes"]} == view.machines[1].statuses


def test_fleet_unopenable_is_a_problem_not_a_failure(
    make_root: Callable[..., Path], tmp_path: Path
) -> None:
    """A file that is no machine is passed over and said; the others are shown."""
    junk = tmp_path / "junk.tar.gz"
    junk.write_bytes(b"nope")
    view = workbench.fleet([make_root("asrock-z170-gtx960"), junk])
    assert len(view.machines) == 1
    assert view.fleet.problems and "junk" in view.fleet.problems[0]
    assert "passed over" in view._repr_html_() and "passed over" in repr(view)


def test_fleet_of_a_directory_of_captures(make_root: Callable[..., Path], tmp_path: Path) -> None:
    """A directory holding captures (as the playbook fetches them) is each machine in it."""
    folder = tmp_path / "captures"
    folder.mkdir()
    for name in ("asrock-z170-gtx960", "asokolsky-duo-z370-gt1030"):
        out = folder / f"{name}.tar.gz"
        assert run_cli("capture", "--root", str(make_root(name)), "-o", str(out)).returncode == 0
    view = workbench.fleet(folder)
    assert sorted(m.kind for m in view.machines) == ["capture", "capture"]
    assert len({m.name for m in view.machines}) == 2


def test_fleet_of_nothing_is_refused_like_the_cli(tmp_path: Path) -> None:
    """`workbench.fleet([])`, a missing path or an empty folder raise the CLI's refusal (a
    ConfigError naming what was passed over), never an empty table that reads as 'all fine'."""
    import pytest

    from workbench.core.errors import ConfigError

    (tmp_path / "empty").mkdir()
    for paths in ([], [tmp_path / "missing"], tmp_path / "empty"):
        with pytest.raises(ConfigError, match="no machine found") as caught:
            workbench.fleet(paths)
        assert caught.value.remedy
    with pytest.raises(ConfigError, match="missing"):
        workbench.fleet([tmp_path / "missing"])


def test_fleet_workers_bounds_the_machines_at_once(
    make_root: Callable[..., Path], tmp_path: Path
) -> None:
    """`workbench.fleet(paths, workers=1)` takes the CLI's --workers and gives the same
    machines and statuses as the default (workers change how, never what)."""
    roots = [str(make_root(h)) for h in ("asrock-z170-gtx960", "mapmanagement-b550-chipset-gpu")]
    one = workbench.fleet(roots, workers=1)
    two = workbench.fleet(roots)
    assert len(one.machines) == 2
    assert [m.statuses for m in one.machines] == [m.statuses for m in two.machines]
