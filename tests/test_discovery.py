"""Plugin discovery through real entry points: broken, misnamed and duplicate plugins become
error results (the other probes still run), and no registered probes at all is an error."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO, run_cli
from tests.plugin_dists import EXPECTED, build_plugins, forget_plugins
from workbench.core.discovery import RefusedProbe, discover_probes
from workbench.core.host import Host
from workbench.core.runner import run_probes

MakeRoot = Callable[..., Path]


@pytest.fixture
def plugins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The throwaway plugin distributions, on sys.path for this test only."""
    site = build_plugins(tmp_path / "plugins")
    monkeypatch.syspath_prepend(str(site))
    yield site
    forget_plugins()


def refused(result_error: dict[str, Any] | None) -> str | None:
    return None if result_error is None else str(result_error["error"])


def test_each_unusable_plugin_is_one_refused_stand_in(plugins: Path) -> None:
    """Every bad entry point is one stand-in named by its entry point; good ones load."""
    found = {cls.id: cls for cls in discover_probes()}
    for pid, code in EXPECTED.items():
        assert issubclass(found[pid], RefusedProbe) == (code is not None), pid
    assert "x.actual" not in found  # the misnamed class is not run under its own id
    assert found["pci.gpus"].__module__ == "probes.gpus"  # the built-in, not the plugin
    assert not issubclass(found["cpu.virtualization"], RefusedProbe)


def test_refused_plugins_are_error_results_and_the_rest_run(
    plugins: Path, make_root: MakeRoot, minimal_facts: dict[str, Any]
) -> None:
    """A run reports each refused plugin as `error` with its code, reason and remedy; the
    built-in probes and the good plugin still run; a probe requiring a broken one is blocked."""
    report = run_probes(Host(make_root(minimal_facts)))
    by_id = {r.id: r for r in report.probes}
    for pid, code in EXPECTED.items():
        if code is not None:
            assert (by_id[pid].status, refused(by_id[pid].error)) == ("error", code), pid
    assert by_id["x.good"].status == "pass"
    assert (by_id["x.after"].status, by_id["x.after"].blocked_by) == ("skip", ["x.broken"])
    assert by_id["cpu.virtualization"].status == "pass"
    broken = by_id["x.broken"].error
    assert broken is not None
    assert broken["details"]["reason"].startswith("SyntaxError")
    assert broken["details"]["distribution"] == "wbplug_main"
    assert broken["cause"]["type"] == "SyntaxError"
    assert broken["remedy"] and "wbplug_main" in broken["remedy"]
    assert broken["context"] == ["core.discovery::discover_probes", "probes.x.broken::run"]
    exits = by_id["x.exits"].error
    assert exits is not None and exits["details"]["reason"] == "SystemExit: plugin gave up"
    misnamed = by_id["x.misnamed"].error
    assert misnamed is not None and misnamed["details"]["probe_id"] == "x.actual"
    assert "'x.actual' = 'wbplug_main.good:Misnamed'" in misnamed["remedy"]
    twice = by_id["x.twice"].error
    assert twice is not None
    assert sorted(twice["details"]["registered_by"]) == [
        "wbplug_main.good:TwiceA (wbplug_main)",
        "wbplug_other.twice:TwiceB (wbplug_other)",
    ]
    clash = by_id["x.resolution"].error
    assert clash is not None
    assert (clash["details"]["option"], clash["details"]["declared_by"]) == (
        "lg_resolution",
        "display.looking_glass",  # the built-in keeps its option; the plugin is refused
    )
    assert by_id["x.shares"].summary == "1920x1080"  # the shared option, its default


def test_refused_plugin_errors_again_on_each_run(plugins: Path, tmp_path: Path) -> None:
    """A stand-in raises a fresh error each run (a retry does not pile up context frames)."""
    broken = next(cls for cls in discover_probes() if cls.id == "x.broken")
    for _ in range(2):
        error = run_probes(Host(tmp_path), [broken]).get("x.broken").error
        assert error is not None
        assert error["context"] == ["core.discovery::discover_probes", "probes.x.broken::run"]


def test_cli_json_carries_discovery_errors_without_a_traceback(
    tmp_path: Path, make_root: MakeRoot, minimal_facts: dict[str, Any]
) -> None:
    """`workbench probe --json` with broken plugins installed: exit 1, each refused plugin an
    error result with its code and remedy, the other probes reported, no traceback."""
    site = build_plugins(tmp_path / "plugins")
    root = make_root(minimal_facts)
    proc = run_cli("probe", "--root", str(root), "--json", env={"PYTHONPATH": str(site)})
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr and "Traceback" not in proc.stdout
    probes = {p["id"]: p for p in json.loads(proc.stdout)["probes"]}
    for pid, code in EXPECTED.items():
        if code is not None:
            assert probes[pid]["status"] == "error"
            assert probes[pid]["error"]["error"] == code
            assert probes[pid]["error"]["remedy"]
    assert probes["x.good"]["status"] == "pass"
    assert probes["cpu.virtualization"]["status"] == "pass"


def test_cli_text_report_names_the_broken_plugin(
    tmp_path: Path, make_root: MakeRoot, minimal_facts: dict[str, Any]
) -> None:
    """The text report lists the broken plugin by its entry point with the reason, no traceback."""
    site = build_plugins(tmp_path / "plugins")
    proc = run_cli("probe", "--root", str(make_root(minimal_facts)), env={"PYTHONPATH": str(site)})
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr + proc.stdout
    assert "probe plugin 'x.broken' (wbplug_main.broken:Broken) cannot be loaded" in proc.stdout


def source_tree_only(tmp_path: Path) -> Path:
    """A sys.path dir with the venv's packages and workbench's source but no installed
    workbench metadata: what running an uninstalled checkout sees."""
    site = tmp_path / "site"
    site.mkdir()
    purelib = Path(sysconfig.get_paths()["purelib"])
    for entry in purelib.iterdir():
        name = entry.name
        if name.startswith(("workbench", "__editable__")) or name.endswith(".pth"):
            continue
        (site / name).symlink_to(entry)
    for package in ("workbench", "probes"):
        (site / package).symlink_to(REPO / package)
    return site


def test_no_registered_probes_is_a_one_line_usage_error(
    tmp_path: Path, make_root: MakeRoot, minimal_facts: dict[str, Any]
) -> None:
    """Workbench run without its package metadata finds no probes: exit 2, one line naming
    NO_PROBES' cause and the remedy (reinstall), not an empty all-good report; --json gets the
    error document instead of a report."""
    site = source_tree_only(tmp_path)
    root = make_root(minimal_facts)
    proc = run_cli_python(site, tmp_path, "probe", "--root", str(root), "--json")
    assert proc.returncode == 2, proc.stderr
    doc = json.loads(proc.stdout)
    assert (doc["schema"], doc["error"]["error"]) == ("workbench.error/1", "NO_PROBES")
    assert "probes" not in doc
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "no probes are registered" in lines[0] and "Reinstall workbench" in lines[0]


def source_env(site: Path) -> dict[str, str]:
    """Only `site` importable; logs to the test's state dir."""
    return {
        "PYTHONPATH": str(site),
        "PATH": "/usr/bin:/bin",
        "XDG_STATE_HOME": os.environ["XDG_STATE_HOME"],
    }


def run_cli_python(site: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`python -S -m workbench ARGS` with only `site` (and the standard library) importable."""
    return subprocess.run(
        [sys.executable, "-S", "-m", "workbench", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=source_env(site),
        timeout=60,
        check=False,
    )


def test_empty_probe_list_is_an_empty_report_but_no_discovered_probes_is_an_error(
    tmp_path: Path,
) -> None:
    """`run_probes(host, probes=[])` asks for nothing and gets an empty report; discovery that
    finds nothing raises NO_PROBES (shown through a process without the package's metadata)."""
    report = run_probes(Host(tmp_path), probes=[])
    assert report.probes == [] and not report.failed
    site = source_tree_only(tmp_path)
    code = (
        "from workbench.core.errors import ConfigError\n"
        "from workbench.core.host import Host\n"
        "from workbench.core.runner import run_probes\n"
        "try:\n"
        f"    run_probes(Host({str(tmp_path)!r}))\n"
        "except ConfigError as exc:\n"
        "    print(exc.code, exc.remedy is not None)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-S", "-c", code],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=source_env(site),
        timeout=60,
        check=False,
    )
    assert proc.stdout.strip() == "NO_PROBES True", proc.stderr
