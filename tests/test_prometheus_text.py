"""`probe --format prometheus`: node_exporter textfile metrics, read back by prometheus_client."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import put, run_cli
from tests.test_probe_kernel_log import BAR_LINE, MEMLOCK_LINE
from workbench.core.machinelogs import KERNEL_LOG
from workbench.core.promtext import escape_label, render
from workbench.core.report import STATUSES, Finding, ProbeResult, Report

Samples = dict[str, list[tuple[dict[str, str], float]]]


def parse(text: str) -> Samples:
    """Every sample of the textfile by metric family, as Prometheus's own parser reads them."""
    out: Samples = {}
    for family in text_string_to_metric_families(text):
        assert family.type == "gauge", family.name
        assert family.documentation, family.name
        out[family.name] = [(dict(s.labels), s.value) for s in family.samples]
    return out


def statuses(samples: Samples) -> dict[str, str]:
    """The status each probe has, checking that it is one-hot over the five."""
    seen: dict[str, dict[str, float]] = {}
    for labels, value in samples["workbench_probe_status"]:
        seen.setdefault(labels["probe"], {})[labels["status"]] = value
    out = {}
    for probe, values in seen.items():
        assert sorted(values) == sorted(STATUSES), probe
        assert sorted(values.values()) == [0, 0, 0, 0, 1], probe
        out[probe] = next(s for s, v in values.items() if v == 1)
    return out


@pytest.fixture
def root_with_causes(make_root: Callable[..., Path], minimal_facts: dict[str, Any]) -> Path:
    """A machine root whose kernel log names two known causes."""
    root: Path = make_root(minimal_facts)
    put(
        root,
        KERNEL_LOG,
        "[    0.000000] Linux version 6.8\n" + BAR_LINE + "\n" + MEMLOCK_LINE + "\n",
    )
    return root


def test_textfile_gives_each_probe_the_status_probe_json_gives(root_with_causes: Path) -> None:
    """Every probe of `probe --json` is in the textfile, one-hot on the same status."""
    text = run_cli("probe", "--root", str(root_with_causes), "--format", "prometheus")
    doc = run_cli("probe", "--root", str(root_with_causes), "--json")
    assert text.returncode == doc.returncode == 1, text.stderr
    expected = {p["id"]: p["status"] for p in json.loads(doc.stdout)["probes"]}
    samples = parse(text.stdout)
    assert statuses(samples) == expected
    durations = {
        labels["probe"]: value for labels, value in samples["workbench_probe_duration_seconds"]
    }
    assert set(durations) == set(expected)
    assert all(math.isfinite(v) and v >= 0 for v in durations.values())


def test_causes_are_counted_from_findings(root_with_causes: Path) -> None:
    """workbench_causes counts the findings that name each cause, as the JSON report has them."""
    text = run_cli("probe", "--root", str(root_with_causes), "--format", "prometheus")
    doc = json.loads(run_cli("probe", "--root", str(root_with_causes), "--json").stdout)
    findings = [f["cause"] for p in doc["probes"] for f in p["findings"] if f["cause"]]
    causes = {labels["code"]: value for labels, value in parse(text.stdout)["workbench_causes"]}
    assert {"BOOT_FB_HOLDS_BAR", "MEMLOCK_LIMIT"} <= set(causes)
    assert causes == {code: float(findings.count(code)) for code in set(findings)}


def test_exit_status_is_probes(
    make_root: Callable[..., Path], minimal_facts: dict[str, Any]
) -> None:
    """Exit 0 when nothing failed, as `probe` does; the textfile is still written."""
    root = make_root(minimal_facts)
    put(root, KERNEL_LOG, "[    0.000000] Linux version 6.8\n")
    done = run_cli("probe", "--root", str(root), "--only", "kernel.log", "--format", "prometheus")
    assert done.returncode == 0, done.stderr
    assert statuses(parse(done.stdout)) == {"kernel.log": "pass"}
    assert "workbench_causes" in done.stdout  # its HELP and TYPE, with no sample


def test_json_flag_and_format_json_are_one(root_with_causes: Path) -> None:
    """`--json` still prints the report document, and `--format json` prints the same one."""
    flag = json.loads(run_cli("probe", "--root", str(root_with_causes), "--json").stdout)
    fmt = json.loads(run_cli("probe", "--root", str(root_with_causes), "--format", "json").stdout)
    assert flag["schema"] == fmt["schema"] == "workbench.report/1"
    assert [p["status"] for p in flag["probes"]] == [p["status"] for p in fmt["probes"]]


@pytest.mark.parametrize(
    ("raw", "written"),
    [
        ("kvm.device", "kvm.device"),
        ('a"b', 'a\\"b'),
        ("a\\b", "a\\\\b"),
        ("a\nb", "a\\nb"),
        ('\\"\n', '\\\\\\"\\n'),
        ("bad\udcffbyte", "bad?byte"),
        ("", ""),
    ],
)
def test_escape_label(raw: str, written: str) -> None:
    """Backslash, double quote and newline escaped; what UTF-8 cannot carry replaced."""
    assert escape_label(raw) == written


HOSTILE = ['x."} 1\nevil_metric 1 #', "x.\\back\\slash", "x.é\u202e\x1b[31m"]


def test_hostile_ids_and_codes_come_back_exactly() -> None:
    """Probe ids and cause codes full of quotes, backslashes, newlines and controls parse back
    to themselves: no sample is forged, none lost."""
    probes = [
        ProbeResult(
            id=name,
            title="hostile",
            status="warn",
            summary="s",
            findings=[Finding("F", "warn", "m", cause=name.replace("x.", "C"))],
            duration_ms=1500.0,
        )
        for name in HOSTILE
    ]
    samples = parse(render(Report(host={}, probes=probes)))
    assert set(samples) == {
        "workbench_probe_status",
        "workbench_probe_duration_seconds",
        "workbench_causes",
    }
    assert statuses(samples) == dict.fromkeys(HOSTILE, "warn")
    assert samples["workbench_probe_duration_seconds"] == [({"probe": n}, 1.5) for n in HOSTILE]
    codes = sorted(n.replace("x.", "C") for n in HOSTILE)
    assert samples["workbench_causes"] == [({"code": c}, 1.0) for c in codes]


def test_a_broken_duration_is_never_a_broken_sample() -> None:
    """A duration that is not a finite non-negative number is written as 0, still parseable."""
    probes = [
        ProbeResult(id=f"p{i}", title="t", status="pass", summary="s", duration_ms=d)
        for i, d in enumerate([math.nan, math.inf, -3.0, 2.0])
    ]
    samples = parse(render(Report(host={}, probes=probes)))
    got = [v for _, v in samples["workbench_probe_duration_seconds"]]
    assert got == [0.0, 0.0, 0.0, 0.002]


PLUGIN = """
from workbench.core.probe import Probe, ProbeContext
from workbench.core.report import Finding, Outcome


class Quote(Probe):
    id = 'x.q"uo\\\\te'
    title = "a plugin with a hostile id"

    def run(self, ctx: ProbeContext) -> Outcome:
        cause = 'EVIL"} 1\\nworkbench_causes{code="FORGED'
        return Outcome("warn", "odd", findings=[Finding("F", "warn", "m", cause=cause)])
"""


def test_hostile_plugin_through_the_command(tmp_path: Path, root_with_causes: Path) -> None:
    """An installed plugin's hostile id and cause code reach the textfile escaped: the parser
    reads them back whole and no forged sample appears."""
    site = tmp_path / "site"
    (site / "wbplug_prom").mkdir(parents=True)
    (site / "wbplug_prom" / "__init__.py").write_text("")
    (site / "wbplug_prom" / "quote.py").write_text(PLUGIN)
    info = site / "wbplug_prom-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: wbplug_prom\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(
        '[workbench.probes]\nx.q"uo\\te = wbplug_prom.quote:Quote\n'
    )
    done = run_cli(
        "probe",
        "--root",
        str(root_with_causes),
        "--only",
        'x.q"uo\\te',
        "--format",
        "prometheus",
        env={"PYTHONPATH": str(site)},
    )
    samples = parse(done.stdout)
    assert statuses(samples) == {'x.q"uo\\te': "warn"}, done.stderr
    causes = samples["workbench_causes"]
    assert causes == [({"code": 'EVIL"} 1\nworkbench_causes{code="FORGED'}, 1.0)]


def test_format_json_refusal_is_a_json_document(root_with_causes: Path) -> None:
    """Under `--format json` a refusal is the workbench.error/1 document, as under `--json`."""
    done = run_cli(
        "probe", "--root", str(root_with_causes), "--format", "json", "--lg-resolution", "x"
    )
    assert done.returncode == 2
    assert json.loads(done.stdout)["schema"] == "workbench.error/1"


def test_no_series_is_written_twice() -> None:
    """A probe id met twice, or two ids whose undecodable bytes read alike, is written once (the
    first): node_exporter refuses a whole file with a repeated series."""
    probes = [
        ProbeResult(id=i, title="t", status=s, summary="s")
        for i, s in [("p", "pass"), ("p", "fail"), ("q\udcff", "warn"), ("q\udcfe", "fail")]
    ]
    text = render(Report(host={}, probes=probes))
    series = [ln.rsplit(" ", 1)[0] for ln in text.splitlines() if not ln.startswith("#")]
    assert len(series) == len(set(series)) == 12
    assert statuses(parse(text)) == {"p": "pass", "q?": "warn"}
