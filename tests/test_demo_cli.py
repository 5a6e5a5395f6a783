"""`workbench demo --sos` and `workbench demo --fleet` through the real command: the demo
machine's sosreport and a fleet of composed machines, built once in the user's cache, no
network and no hardware."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import WORKBENCH, run_cli
from tests.test_ui_tmux import keys, start_session, wait_for

CAUSE = "GROUP_MEMBER_NOT_VFIO"


def cached(cache: Path, kind: str) -> list[Path]:
    """The files the demo built under `cache` for `kind` (demo-sos, demo-fleet)."""
    return sorted(p for p in (cache / "workbench").glob(f"{kind}-*/*") if p.is_file())


def test_demo_fleet_without_a_terminal_prints_the_fleet(tmp_path: Path) -> None:
    """Piped, `demo --fleet` prints the table of four machines: demo-workstation and duo-z370
    fail vm.preflight and share the cause GROUP_MEMBER_NOT_VFIO; exit 1 (a probe failed)."""
    env = {"XDG_CACHE_HOME": str(tmp_path)}
    out = run_cli("demo", "--fleet", env=env)
    assert out.returncode == 1, out.stderr
    assert out.stdout.startswith("Fleet of 4 machines")
    shared = next(line for line in out.stdout.splitlines() if line.strip().startswith(CAUSE))
    assert shared.split(":", 1)[1].strip() == "demo-workstation, duo-z370 (2)"
    assert shared.endswith("(2)")
    built = cached(tmp_path, "demo-fleet")
    assert [p.name for p in built] == [
        "sosreport-adl-dual-radeon.tar.xz",
        "sosreport-b550-lab.tar.xz",
        "sosreport-demo-workstation.tar.xz",
        "sosreport-duo-z370.tar.xz",
    ]
    assert (built[0].parent.stat().st_mode & 0o777) == 0o700  # private to the user


def test_the_demo_archives_are_built_once(tmp_path: Path) -> None:
    """A second `demo --fleet` reuses the archives the first one built (same files, untouched)."""
    env = {"XDG_CACHE_HOME": str(tmp_path)}
    run_cli("demo", "--fleet", env=env)
    first = {p: p.stat().st_mtime_ns for p in cached(tmp_path, "demo-fleet")}
    out = run_cli("demo", "--fleet", env=env)
    assert out.returncode == 1
    assert {p: p.stat().st_mtime_ns for p in cached(tmp_path, "demo-fleet")} == first


def test_demo_sos_and_fleet_together_are_refused(tmp_path: Path) -> None:
    """`demo --sos --fleet`: one line, exit 2, nothing built."""
    out = run_cli("demo", "--sos", "--fleet", env={"XDG_CACHE_HOME": str(tmp_path)})
    assert out.returncode == 2 and "--sos or --fleet" in out.stderr
    assert not (tmp_path / "workbench").exists()


def test_the_demo_sosreport_is_read_as_the_demo_machine(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The archive `demo --sos` opens, probed with `probe --sos`: the demo workstation, its
    media-server unable to start for the same cause as on the demo machine itself."""
    from workbench.demo_sos import cached_sos

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    archive = cached_sos()
    assert archive.name.endswith(".tar.xz") and archive.is_relative_to(tmp_path)
    out = run_cli("probe", "--sos", str(archive), "--json")
    report = json.loads(out.stdout)
    assert report["host"]["hostname"] == "demo-workstation"
    preflight = next(p for p in report["probes"] if p["id"] == "vm.preflight")
    assert preflight["status"] == "fail"
    assert preflight["facts"]["vms"]["media-server"]["ready"] is False
    assert CAUSE in [c["code"] for c in preflight["facts"]["vms"]["media-server"]["causes"]]
    domains = next(p for p in report["probes"] if p["id"] == "libvirt.domains")
    assert CAUSE in [f["cause"] for f in domains["findings"]]  # said once, by libvirt.domains


@pytest.fixture
def sos_session(tmp_path: Path) -> Iterator[str]:
    env = {"XDG_STATE_HOME": str(tmp_path / "state"), "XDG_CACHE_HOME": str(tmp_path / "cache")}
    name = start_session(f"{WORKBENCH} demo --sos", env)
    yield name
    subprocess.run(["tmux", "kill-session", "-t", name], check=False)


def test_demo_sos_opens_the_workbench_on_the_report(sos_session: str) -> None:
    """In a terminal, `demo --sos` is the workbench on the demo's sosreport: its title names
    the archive, libvirt is `recorded`, vm.preflight leads with the cause; q quits."""
    shown = wait_for(sos_session, "cause: Another device of the IOMMU group")
    assert "sosreport sosreport-demo-workstation" in shown
    assert "libvirt: recorded" in shown
    keys(sos_session, "v")
    wait_for(sos_session, "shutoff · start failed")  # media-server, from the report's files
    keys(sos_session, "q")
    wait_for(sos_session, "EXITED 0")


def test_a_domain_name_is_xml_text_in_the_report(tmp_path: Path) -> None:
    """A domain whose name holds XML's specials is written as text: the report's XML parses
    and names it exactly (a composed report is read by the same hostile-input rules)."""
    import tarfile
    import xml.etree.ElementTree as ET

    from workbench.demo import demo_facts
    from workbench.demo_sos import build_sos

    name = "a<b>&c'--d"
    out = build_sos(demo_facts(), "h", [(name, "shut off", ())], tmp_path / "r.tar.xz")
    with tarfile.open(out) as tar:
        member = tar.extractfile(f"r/etc/libvirt/qemu/{name}.xml")
        assert member is not None
        root = ET.fromstring(member.read())  # noqa: S314 - our own file, just written
    assert root.findtext("name") == name
