"""The Python API (`workbench.diagnose`, `.vms`, `.logs`): data, HTML for Jupyter, text for a
REPL, clear errors; and no Textual on this path."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

import workbench
from workbench.core.discovery import discover_probes
from workbench.core.errors import RootNotUsableError, VirtConnectionError
from workbench.core.host import Host
from workbench.core.runner import run_probes
from workbench.demo import demo_environment
from workbench.logs.source import LogFileError


def test_diagnose_a_machine_root(make_root: Callable[..., Path]) -> None:
    root = make_root("mapmanagement-b550-chipset-gpu")
    report = workbench.diagnose(root=root)
    expected = {r.id: r.status for r in run_probes(Host(root)).probes}
    assert {p.id: p.status for p in report} == expected
    assert len(report) == len(discover_probes())
    gpus = report["pci.gpus"]
    assert gpus.facts["gpus"] and gpus.status == expected["pci.gpus"]
    assert report.to_dict()["schema"] == "workbench.report/1"
    assert json.loads(report.to_json())["probes"][0]["id"] == "cpu.virtualization"
    with pytest.raises(KeyError):
        report["no.such.probe"]
    text = repr(report)
    assert text.startswith("Workbench 0.1.0 report for") and "pci.gpus" in text
    assert "\x1b[" not in text  # readable in a plain REPL


def test_the_report_as_html_shows_status_remedy_and_blocked_by(
    make_root: Callable[..., Path],
) -> None:
    """A machine with the IOMMU off: the failure with its remedy, the probes it blocks."""
    from tests.conftest import load_facts

    facts = load_facts("asrock-z170-gtx960")
    for dev in facts["devices"]:
        dev["iommu_group"] = None
    root = make_root(facts, kernel_cmdline="quiet")
    report = workbench.diagnose(root=root)
    html = report._repr_html_()
    assert html.count("<tr>") == 1 + len(report)
    assert 'class="wb-fail"' in html and "#cf222e" in html
    iommu = report["iommu.enabled"]
    assert iommu.status == "fail"
    assert iommu.remedies and iommu.remedies[0][:30] in html.replace("&#x27;", "'")
    blocked = [p.id for p in report if p.blocked_by == ["iommu.enabled"]]
    assert blocked and all(f"<code>{b}</code>" in html for b in blocked)
    assert "blocked by iommu.enabled" in report["iommu.groups"]._repr_html_()
    assert "remedy" in iommu._repr_html_() and "→" in repr(iommu)


def test_diagnose_a_capture(make_root: Callable[..., Path], tmp_path: Path) -> None:
    from workbench.capture.collect import capture
    from workbench.capture.collectors import Source

    root = make_root("ashtonian-adl-dual-radeon")
    made = capture(Source(Host(root)), tmp_path / "c.tar.gz")
    report = workbench.diagnose(capture=made.path)
    assert report.report.host["capture"] == str(made.path)
    assert {p.id: p.status for p in report} == {
        r.id: r.status for r in run_probes(Host(root)).probes
    }
    assert "capture" in repr(report).splitlines()[0]
    with pytest.raises(ValueError, match="not both"):
        workbench.diagnose(root=root, capture=made.path)


def test_diagnose_a_missing_root_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(RootNotUsableError) as caught:
        workbench.diagnose(root=tmp_path / "nope")
    assert "does not exist" in caught.value.message and caught.value.remedy


def test_vms_of_the_demo_hypervisor(tmp_path: Path) -> None:
    with demo_environment(tmp_path / "demo", with_agent=False) as env:
        view = workbench.vms(env.uri)
    assert [d.name for d in view.domains] == [
        "media-server",
        "truenas",
        "ubuntu-dev",
        "win11-gaming",
    ]
    states = {d.name: d.state for d in view.domains}
    assert states == {
        "media-server": "shutoff",
        "truenas": "shutoff",
        "ubuntu-dev": "running",
        "win11-gaming": "running",
    }
    win11 = view.domains[3]  # typed: the parsed configuration, not a dict
    assert win11.config is not None
    assert [h.bdf for h in win11.config.hostdevs] == ["0000:01:00.0", "0000:01:00.1"]
    as_data = view.to_dict()["domains"]  # dicts only as data
    assert {d["name"]: d["state"] for d in as_data} == states
    assert [h["bdf"] for h in as_data[3]["hostdevs"]] == ["0000:01:00.0", "0000:01:00.1"]
    json.dumps(view.to_dict())  # plain data throughout
    timeline = view.timeline("win11-gaming")
    assert timeline and timeline[0]["to"] == "running" and timeline[0]["cause"] == "resync"
    html = view._repr_html_()
    assert "0000:01:00.0, 0000:01:00.1" in html and "initial state" in html
    assert "win11-gaming" in repr(view) and "-> running" in repr(view)
    assert view.to_dict()["timelines"]["truenas"][0]["to"] == "shutoff"


def test_vms_of_an_unreachable_hypervisor_says_why() -> None:
    with pytest.raises(VirtConnectionError) as caught:
        workbench.vms("test+unix:///default?socket=/nonexistent/sock", timeout_s=1.5)
    assert "not connected within 1.5 s" in caught.value.message
    assert "Failed to connect socket" in caught.value.message
    assert caught.value.remedy


@pytest.fixture
def log(tmp_path: Path) -> Path:
    path = tmp_path / "wb.log"
    records = [
        {"timestamp": "2026-11-22T10:00:00Z", "level": "info", "event": "start", "logger": "a"},
        {"timestamp": "2026-11-22T10:00:01Z", "level": "error", "event": "broke", "vm": "w"},
        {"timestamp": "2026-11-22T10:00:02Z", "level": "warning", "event": "slow", "vm": "u"},
        {"timestamp": "2026-11-22T10:00:03Z", "level": "error", "event": "<script>x</script>"},
    ]
    path.write_text(
        "\n".join(
            [*(json.dumps(r) for r in records[:2]), "not json <b>", *map(json.dumps, records[2:])]
        )
        + "\n"
    )
    return path


def test_logs_filter_and_tail(log: Path) -> None:
    view = workbench.logs(log)
    assert len(view) == 5
    errors = view.filter(level="error")
    assert [r["event"] for r in errors.records] == ["broke", "<script>x</script>"]
    assert [r["event"] for r in view.filter(level="warning", vm="u").records] == ["slow"]
    assert [r["event"] for r in view.filter(grep="br.ke").records] == ["broke"]
    assert view.tail(4).records[1] == {"raw": "not json <b>"}  # shown raw, not dropped
    assert [r.get("event") for r in view.tail(2).records] == ["slow", "<script>x</script>"]
    text = repr(errors)
    assert "2 matching record(s)" in text and "broke" in text
    with pytest.raises(ValueError, match="unknown level"):
        view.filter(level="loud")


def test_logs_html_escapes_what_the_log_says(log: Path) -> None:
    html = workbench.logs(log)._repr_html_()
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "not json &lt;b&gt;" in html
    assert html.count("<tr>") == 1 + 5


def test_logs_of_a_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(LogFileError, match="no such file"):
        len(workbench.logs(tmp_path / "nope.log"))


def test_the_api_never_imports_textual(make_root: Callable[..., Path], log: Path) -> None:
    script = (
        "import sys, workbench\n"
        f"r = workbench.diagnose(root={str(make_root('asrock-z170-gtx960'))!r})\n"
        "r._repr_html_(); repr(r)\n"
        f"workbench.logs({str(log)!r}).tail(3)._repr_html_()\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'rich')))\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
