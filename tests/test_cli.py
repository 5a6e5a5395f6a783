"""`workbench probe` as a user runs it: output forms, exit codes, no tracebacks."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import run_cli

MakeRoot = Callable[..., Path]


def test_json_report_on_a_recorded_machine(make_root: MakeRoot) -> None:
    """--json prints one workbench.report/1 object; a machine with no fail exits 0."""
    proc = run_cli("probe", "--json", "--root", str(make_root("mapmanagement-b550-chipset-gpu")))
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["schema"] == "workbench.report/1"
    gpus = next(p for p in doc["probes"] if p["id"] == "pci.gpus")
    assert {g["bdf"]: g["isolated"] for g in gpus["facts"]["gpus"]} == {
        "0000:04:00.0": False,
        "0000:08:00.0": True,
    }
    assert set(gpus["facts"]["gpus"][0]) == {
        "bdf",
        "vendor",
        "device",
        "class",
        "name",
        "driver",
        "iommu_group",
        "boot_vga",
        "functions",
        "isolated",
        "blockers",
    }


def test_text_report_lists_probes_and_remedies(
    make_root: MakeRoot, minimal_facts: dict[str, Any]
) -> None:
    """Text output: a line per probe, the remedy under a failure, a tally; no colour in a pipe."""
    root = make_root(minimal_facts, kernel_cmdline="ro quiet")
    (root / "proc/cpuinfo").write_text(
        "processor\t: 0\nvendor_id\t: GenuineIntel\nflags\t\t: fpu\n"
    )
    proc = run_cli("probe", "--root", str(root))
    assert proc.returncode == 1
    lines = proc.stdout.splitlines()
    assert any(line.startswith("✘ FAIL  cpu.virtualization") for line in lines)
    assert any("Intel Virtualization Technology" in line and "→" in line for line in lines)
    assert lines[-1].startswith("12 probes:")
    assert "\x1b[" not in proc.stdout


def test_text_report_shows_notes_under_a_pass(make_root: MakeRoot) -> None:
    """Informational findings are shown under passing probes too: the B550's host GPU shares its
    group, which an operator should know before moving cards."""
    proc = run_cli("probe", "--root", str(make_root("mapmanagement-b550-chipset-gpu")))
    lines = proc.stdout.splitlines()
    at = next(i for i, line in enumerate(lines) if "pci.gpus" in line)
    assert lines[at].startswith("✔ PASS")
    assert lines[at + 1].lstrip().startswith("· host GPU 0000:04:00.0")
    assert "0000:05:00.0 Ethernet controller [10ec:8125]" in lines[at + 1]


def test_color_always(make_root: MakeRoot) -> None:
    """--color always paints statuses."""
    proc = run_cli("probe", "--color", "always", "--root", str(make_root("asrock-z170-gtx960")))
    assert "\x1b[32m✔ PASS" in proc.stdout


def test_only_runs_the_chosen_probes_and_their_prerequisites(make_root: MakeRoot) -> None:
    """--only pci.gpus,iommu.groups runs those plus iommu.enabled."""
    proc = run_cli(
        "probe",
        "--json",
        "--only",
        "pci.gpus,iommu.groups",
        "--root",
        str(make_root("asrock-z170-gtx960")),
    )
    ids = [p["id"] for p in json.loads(proc.stdout)["probes"]]
    assert ids == ["iommu.enabled", "iommu.groups", "pci.gpus"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["probe", "--root", "/definitely/not/here"], "does not exist"),
        (["probe", "--only", "nope.probe"], "unknown probe id: nope.probe"),
        (["probe", "--lg-resolution", "big"], "--lg-resolution"),
        (["probe", "--lg-resolution", "²x²"], "--lg-resolution"),
        (["probe", "--timeout", "-1"], "--timeout"),
        (["probe", "--bogus"], "unrecognized arguments"),
        (["frobnicate"], "invalid choice"),
    ],
)
def test_bad_usage_exits_2_without_traceback(args: list[str], message: str) -> None:
    """Bad usage or input: exit 2, the reason on stderr, nothing on stdout, no traceback."""
    proc = run_cli(*args)
    assert proc.returncode == 2
    assert message in proc.stderr
    assert proc.stdout == ""
    assert "Traceback" not in proc.stderr


def test_unwritable_log_dir_warns_once_and_still_reports(
    make_root: MakeRoot, tmp_path: Path
) -> None:
    """A log file that cannot be created costs a warning on stderr, not the report."""
    blocker = tmp_path / "state"
    blocker.write_text("a file where the state dir should be")
    proc = run_cli(
        "probe",
        "--json",
        "--root",
        str(make_root("asrock-z170-gtx960")),
        env={"XDG_STATE_HOME": str(blocker)},
    )
    assert proc.returncode == 0
    assert "log file not writable" in proc.stderr
    assert json.loads(proc.stdout)["schema"] == "workbench.report/1"


def test_probe_writes_json_log_records(make_root: MakeRoot, tmp_path: Path) -> None:
    """Each probe, run or blocked, leaves one probe.finished JSON line in the rotating log."""
    log = tmp_path / "wb.log"
    run_cli(
        "probe",
        "--root",
        str(make_root("asrock-z170-gtx960")),
        env={"WORKBENCH_LOG_FILE": str(log)},
    )
    records = [json.loads(line) for line in log.read_text().splitlines()]
    finished = [r for r in records if r["event"] == "probe.finished"]
    assert len(finished) == 12
    assert {"timestamp", "level", "event", "logger", "probe", "status"} <= set(finished[0])
    # The verdict is the level: a failed probe is an error record, a warning a warning.
    expected = {
        "fail": "error",
        "error": "error",
        "warn": "warning",
        "pass": "info",
        "skip": "info",
    }
    assert {r["status"] for r in finished} >= {"warn", "pass"}
    for record in finished:
        assert record["level"] == expected[record["status"]], record


def test_workbench_on_a_missing_root_exits_2() -> None:
    """The TUI refuses a root that does not exist before it takes over the terminal."""
    proc = run_cli("--root", "/definitely/not/here")
    assert proc.returncode == 2
    assert "does not exist" in proc.stderr
    assert "Traceback" not in proc.stderr


ESC = "\x1b]0;pwned\x07\x1b[2J"  # retitle the terminal, clear the screen


def test_machine_text_is_escaped_in_text_output(
    make_root: MakeRoot, minimal_facts: dict[str, Any]
) -> None:
    """Escape sequences in the kernel command line and the hostname reach the terminal escaped
    (\\x1b) in text output, and unchanged in JSON (faithful data)."""
    root = make_root(
        minimal_facts,
        kernel_cmdline=f"ro intel_iommu=on{ESC} pcie_acs_override={ESC}",
        hostname=f"box{ESC}",
    )
    proc = run_cli("probe", "--root", str(root))
    assert "\x1b" not in proc.stdout and "\x07" not in proc.stdout
    assert "intel_iommu=on\\x1b]0;pwned\\x07" in proc.stdout
    assert "host box\\x1b]0;pwned" in proc.stdout
    doc = json.loads(run_cli("probe", "--json", "--root", str(root)).stdout)
    assert doc["host"]["hostname"] == f"box{ESC}"
    cmdline = next(p for p in doc["probes"] if p["id"] == "kernel.cmdline")
    assert cmdline["facts"]["iommu"] == {"intel_iommu": f"on{ESC}"}


@pytest.mark.parametrize(
    "env", [{"PYTHONIOENCODING": "ascii"}, {"LC_ALL": "C", "PYTHONUTF8": "0"}], ids=["ascii", "C"]
)
def test_text_report_on_an_ascii_stdout(
    make_root: MakeRoot, minimal_facts: dict[str, Any], env: dict[str, str]
) -> None:
    """A stdout that cannot encode ✔ → · gets ASCII glyphs, not a UnicodeEncodeError."""
    root = make_root(minimal_facts, kernel_cmdline="ro quiet", hostname="caf\u00e9")
    (root / "proc/cpuinfo").write_text(
        "processor\t: 0\nvendor_id\t: GenuineIntel\nflags\t\t: fpu\n"
    )
    proc = run_cli("probe", "--root", str(root), env=env)
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = proc.stdout.splitlines()
    assert any(line.startswith("x FAIL  cpu.virtualization") for line in lines)
    assert any(line.startswith("+ PASS  iommu.enabled") for line in lines)
    assert any(line.lstrip().startswith("-> Enable") for line in lines)
    assert "host caf\\xe9" in proc.stdout
    proc.stdout.encode("ascii")
