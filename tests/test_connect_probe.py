"""`workbench probe` with --connect given twice: one report per hypervisor, two real daemons."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import run_cli
from tests.virt_helpers import LIBVIRTD, Domain, SessionDaemon, write_node


@pytest.fixture
def two_daemons() -> Iterator[tuple[str, str]]:
    """Two real session libvirtds (own XDG_RUNTIME_DIRs and sockets): A serves the test
    driver's default node (domain `test`), B a node of its own (`gpu-vm`, `win11` shut off)."""
    if not Path(LIBVIRTD).exists():
        pytest.skip("libvirtd not installed (make setup installs libvirt-daemon)")
    first, second = SessionDaemon(), SessionDaemon()
    try:
        first.start()
        second.start()
        node = write_node(
            second.base / "node.xml", [Domain("gpu-vm"), Domain("win11", running=False)]
        )
        yield f"test+unix:///default?socket={first.socket}", second.uri(node)
    finally:
        first.close()
        second.close()


@pytest.fixture
def root(make_root: Callable[..., Path], minimal_facts: dict[str, Any]) -> Path:
    """A small machine root: the host probes have something to read."""
    return make_root(minimal_facts)


def _names(report: dict[str, Any]) -> set[str]:
    probe = next(p for p in report["probes"] if p["id"] == "libvirt.domains")
    return {d["name"] for d in probe["facts"]["domains"]}


def test_probe_json_is_one_report_per_uri(two_daemons: tuple[str, str], root: Path) -> None:
    """`--json`: an array, in the order given, each report naming its URI and its own VMs."""
    uri_a, uri_b = two_daemons
    proc = run_cli(
        "probe", "--json", "--root", str(root), "--only", "libvirt.domains",
        "--connect", uri_a, "--connect", uri_b,
    )  # fmt: skip
    assert proc.returncode in (0, 1), proc.stderr
    reports = json.loads(proc.stdout)
    assert [r["host"]["connect"] for r in reports] == [uri_a, uri_b]
    assert all(r["schema"] == "workbench.report/1" for r in reports)
    assert _names(reports[0]) == {"test"}
    assert _names(reports[1]) == {"gpu-vm", "win11"}


def test_probe_text_has_one_section_per_uri(two_daemons: tuple[str, str], root: Path) -> None:
    """Text: a `== hypervisor URI ==` heading before each report."""
    uri_a, uri_b = two_daemons
    proc = run_cli(
        "probe", "--root", str(root), "--only", "libvirt.connection",
        "--connect", uri_a, "--connect", uri_b,
    )  # fmt: skip
    assert proc.returncode in (0, 1), proc.stderr
    headings = [ln for ln in proc.stdout.splitlines() if ln.startswith("== hypervisor ")]
    assert headings == [f"== hypervisor {uri_a} ==", f"== hypervisor {uri_b} =="]


def test_an_unreachable_hypervisor_fails_its_own_report_only(
    two_daemons: tuple[str, str], root: Path, tmp_path: Path
) -> None:
    """A URI whose daemon is absent: its report fails libvirt.connection (exit 1), the other
    report still lists its VMs."""
    uri_a, _ = two_daemons
    gone = f"test+unix:///default?socket={tmp_path / 'no-daemon'}"
    proc = run_cli(
        "probe", "--json", "--root", str(root), "--only", "libvirt.domains",
        "--connect", gone, "--connect", uri_a,
    )  # fmt: skip
    assert proc.returncode == 1, proc.stderr
    reports = json.loads(proc.stdout)
    status = {p["id"]: p["status"] for p in reports[0]["probes"]}
    assert status["libvirt.connection"] in ("fail", "error")
    assert _names(reports[1]) == {"test"}


def test_probe_with_one_connect_prints_one_report(two_daemons: tuple[str, str], root: Path) -> None:
    """One --connect: the single workbench.report/1 object, as always (no array)."""
    uri_a, _ = two_daemons
    proc = run_cli(
        "probe", "--json", "--root", str(root), "--only", "libvirt.domains", "--connect", uri_a
    )
    assert proc.returncode in (0, 1), proc.stderr
    report = json.loads(proc.stdout)
    assert report["schema"] == "workbench.report/1"
    assert _names(report) == {"test"}
