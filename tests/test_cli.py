"""`workbench probe` as a user runs it: output forms, exit codes, no tracebacks."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import run_cli
from workbench.core.discovery import discover_probes

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
        "driver_known",  # added with sosreports: false when `driver` None is "not recorded"
        "iommu_group",
        "boot_vga",
        "functions",
        "isolated",
        "blockers",
        # added with the card rule (issue 17): the card's own switch, whether where the GPU
        # sits is recorded, and the members that may be its card's when it is not
        "card_switch",
        "card_recorded",
        "card_unknown",
        # added in the issue 17 fixes: every device that may be its card's when where it sits
        # is not recorded (card_unknown: those of them in its IOMMU group)
        "card_nearby",
    }
    assert all(g["driver_known"] is True for g in gpus["facts"]["gpus"])


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
    assert lines[-1].startswith(f"{len(discover_probes())} probes:")
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
    assert len(finished) == len(discover_probes())
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


# --- global options and numeric options --------------------------------------------------------


def test_global_root_is_honoured_by_probe(make_root: MakeRoot) -> None:
    """`workbench --root DIR probe` reads DIR, not the live machine."""
    root = make_root("mapmanagement-b550-chipset-gpu")
    proc = run_cli("--root", str(root), "probe", "--json", "--only", "pci.gpus")
    assert proc.returncode == 0, proc.stderr
    gpus = json.loads(proc.stdout)["probes"][0]["facts"]["gpus"]
    assert [g["bdf"] for g in gpus] == ["0000:04:00.0", "0000:08:00.0"]


@pytest.mark.parametrize(
    ("args", "option", "first", "second"),
    [
        (["--root", "{a}", "probe", "--root", "{b}"], "--root", "{a}", "{b}"),
        (
            ["--capture", "{a}.tar.gz", "probe", "--capture", "{b}.tar.gz"],
            "--capture",
            "{a}.tar.gz",
            "{b}.tar.gz",
        ),
        (
            ["--connect", "test:///default", "probe", "--root", "{a}", "--connect", "test:///x"],
            "--connect",
            "test:///default",
            "test:///x",
        ),
        (
            ["--connect", "test:///default", "vm", "start", "x", "--connect", "test:///x"],
            "--connect",
            "test:///default",
            "test:///x",
        ),
        (
            ["--connect", "test:///default", "events", "--connect", "test:///x"],
            "--connect",
            "test:///default",
            "test:///x",
        ),
        (["--root", "{a}", "capture", "--root", "{b}"], "--root", "{a}", "{b}"),
        (
            ["--capture", "{a}.tar.gz", "open", "{b}.tar.gz"],
            "--capture",
            "{a}.tar.gz",
            "{b}.tar.gz",
        ),
        (
            ["--capture", "{a}.tar.gz", "logs", "--capture", "{b}.tar.gz"],
            "--capture",
            "{a}.tar.gz",
            "{b}.tar.gz",
        ),
        (["--root", "{a}", "serve", "--root", "{b}"], "--root", "{a}", "{b}"),
    ],
)
def test_a_global_and_a_verb_option_that_disagree_are_refused(
    args: list[str], option: str, first: str, second: str, make_root: MakeRoot, tmp_path: Path
) -> None:
    """The same option before and after the verb with different values is bad usage (exit 2,
    one line naming both), never a silent choice of one."""
    a, b = make_root("mapmanagement-b550-chipset-gpu"), make_root("asrock-z170-gtx960")
    proc = run_cli(*(arg.format(a=a, b=b) for arg in args), cwd=tmp_path)  # capture writes here
    assert proc.returncode == 2, proc.stderr
    assert len(proc.stderr.splitlines()) == 1, proc.stderr
    for named in (option, first.format(a=a), second.format(b=b)):
        assert named in proc.stderr, (named, proc.stderr)
    assert proc.stdout == ""


def test_the_same_value_before_and_after_the_verb_is_fine(make_root: MakeRoot) -> None:
    """`--root DIR probe --root DIR` (twice the same machine) reads DIR."""
    root = str(make_root("mapmanagement-b550-chipset-gpu"))
    proc = run_cli("--root", root, "probe", "--root", root, "--json", "--only", "pci.gpus")
    assert proc.returncode == 0, proc.stderr
    gpus = json.loads(proc.stdout)["probes"][0]["facts"]["gpus"]
    assert [g["bdf"] for g in gpus] == ["0000:04:00.0", "0000:08:00.0"]


def test_conflicting_uris_are_named_without_their_passwords() -> None:
    """Two different --connect URIs are named in the refusal with their passwords masked."""
    proc = run_cli(
        "--connect",
        "qemu+tcp://a:s3cret@h/system",
        "events",
        "--connect",
        "qemu+tcp://a:0ther@h/system",
    )
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.count("a:***@h/system") == 2, proc.stderr
    assert "s3cret" not in proc.stderr and "0ther" not in proc.stderr


def test_global_capture_is_honoured_by_probe(make_root: MakeRoot, tmp_path: Path) -> None:
    """`workbench --capture FILE probe` reads the capture (same verdicts as --capture after)."""
    archive = tmp_path / "c.tar.gz"
    made = run_cli("capture", "--root", str(make_root("asrock-z170-gtx960")), "-o", str(archive))
    assert made.returncode == 0, made.stderr
    before = run_cli("--capture", str(archive), "probe", "--json", "--only", "pci.gpus")
    after = run_cli("probe", "--capture", str(archive), "--json", "--only", "pci.gpus")
    assert before.returncode == 0, before.stderr
    assert json.loads(before.stdout)["host"]["capture"] == str(archive)
    assert (
        json.loads(before.stdout)["probes"][0]["facts"]
        == json.loads(after.stdout)["probes"][0]["facts"]
    )


def test_global_root_is_honoured_by_capture(make_root: MakeRoot, tmp_path: Path) -> None:
    """`workbench --root DIR capture` collects DIR (its hostname names the default file)."""
    root = make_root("asrock-z170-gtx960")
    (root / "proc/sys/kernel").mkdir(parents=True, exist_ok=True)
    (root / "proc/sys/kernel/hostname").write_text("recorded-box\n")
    proc = run_cli("--root", str(root), "capture", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert [p.name.startswith("workbench-recorded-box-") for p in tmp_path.glob("*.tar.gz")] == [
        True
    ]


def test_global_connect_is_honoured_by_vm() -> None:
    """`workbench --connect URI vm ...` acts on URI's hypervisor."""
    proc = run_cli("--connect", "test:///default", "vm", "suspend", "test")
    assert (proc.returncode, proc.stdout.strip()) == (0, "suspend test: done"), proc.stderr


def test_global_connect_is_honoured_by_events() -> None:
    """`workbench --connect URI events` watches URI's hypervisor."""
    import subprocess

    from tests.conftest import WORKBENCH

    proc = subprocess.Popen(
        [str(WORKBENCH), "--connect", "test:///default", "events", "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        records = [json.loads(proc.stdout.readline()) for _ in range(2)]  # the VM, then the link
    finally:
        proc.terminate()
        proc.communicate(timeout=20)
    link = next(r for r in records if "connection" in r)
    assert (link["connection"], link["uri"]) == ("connected", "test:///default")


def test_global_root_is_honoured_by_serve(tmp_path: Path) -> None:
    """`workbench --root DIR serve` checks and serves DIR (a missing DIR is refused)."""
    proc = run_cli("--root", str(tmp_path / "nope"), "serve", "--port", "1")
    assert proc.returncode == 2
    assert "is not a directory" in proc.stderr


def test_global_capture_is_honoured_by_logs(make_root: MakeRoot, tmp_path: Path) -> None:
    """`workbench --capture FILE logs` prints the log inside FILE."""
    archive = tmp_path / "c.tar.gz"
    root = make_root("asrock-z170-gtx960")
    log = root / "logs" / "workbench.log"  # a root's own log is what a capture of it bundles
    log.parent.mkdir()
    log.write_text("".join(f'{{"level": "error", "event": "e{n}"}}\n' for n in range(3)))
    made = run_cli("capture", "--root", str(root), "-o", str(archive))
    assert made.returncode == 0, made.stderr
    before = run_cli("--capture", str(archive), "logs", "--json")
    assert before.returncode == 0, before.stderr
    assert [json.loads(line)["event"] for line in before.stdout.splitlines()][-3:] == [
        "e0",
        "e1",
        "e2",
    ]


def test_global_connect_is_honoured_by_probe(make_root: MakeRoot) -> None:
    """`workbench --connect URI probe` asks URI's hypervisor."""
    root = str(make_root("asrock-z170-gtx960"))
    proc = run_cli(
        "--connect",
        "test:///default",
        "probe",
        "--root",
        root,
        "--json",
        "--only",
        "libvirt.connection",
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["probes"][0]["facts"]["uri"] == "test:///default"


def test_global_capture_is_honoured_by_the_workbench(tmp_path: Path) -> None:
    """`workbench --capture FILE` opens FILE (a missing one is refused before the UI starts)."""
    proc = run_cli("--capture", str(tmp_path / "none.tar.gz"))
    assert proc.returncode == 2
    assert "none.tar.gz" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_global_connect_is_honoured_by_capture(make_root: MakeRoot, tmp_path: Path) -> None:
    """`workbench --connect URI capture --root DIR` records URI's hypervisor in the capture."""
    import tarfile

    root = str(make_root("asrock-z170-gtx960"))
    archive = tmp_path / "c.tar.gz"
    proc = run_cli("--connect", "test:///default", "capture", "--root", root, "-o", str(archive))
    assert proc.returncode == 0, proc.stderr
    with tarfile.open(archive) as tar:
        member = tar.extractfile("libvirt/connection.json")
        assert member is not None
        assert json.load(member)["uri"] == "test:///default"


def test_global_capture_is_honoured_by_serve(tmp_path: Path) -> None:
    """`workbench --capture FILE serve` serves FILE (a missing one is refused, exit 2)."""
    proc = run_cli("--capture", str(tmp_path / "none.tar.gz"), "serve", "--port", "1")
    assert proc.returncode == 2
    assert "none.tar.gz: no such capture file" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_global_root_is_honoured_by_the_workbench(tmp_path: Path) -> None:
    """`workbench --root DIR` opens DIR (a missing one is refused before the UI starts)."""
    proc = run_cli("--root", str(tmp_path / "nope"))
    assert proc.returncode == 2
    assert "nope' does not exist" in proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["--root", "/", "diff", "a", "b"],
        ["--connect", "test:///default", "demo"],
        ["--capture", "c.tar.gz", "capture"],
        ["--root", "/", "events"],
        ["--capture", "c.tar.gz", "vm", "start", "x"],
        ["--root", "/", "open", "c.tar.gz"],
        ["--root", "/", "--capture", "c.tar.gz", "probe"],
        ["--root", "/", "probe", "--capture", "c.tar.gz"],
        ["events", "--connect", ""],
        ["--connect", "", "vm", "start", "x"],
        ["probe", "--root", ""],
        ["--root", " ", "capture"],
        ["probe", "--capture", ""],
    ],
)
def test_a_target_option_that_cannot_be_used_is_refused(args: list[str]) -> None:
    """A global --root/--capture/--connect the verb does not use, or an empty one (which would
    mean the current directory or libvirt's default), is bad usage, not ignored."""
    proc = run_cli(*args)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    assert proc.stderr.count("\n") <= 2
    assert proc.stdout == ""


@pytest.mark.parametrize("value", ["inf", "-inf", "nan", "-1", "0", "1e400", "١", "1e9", "x"])
@pytest.mark.parametrize("verb", ["probe", "capture"])
def test_a_bad_timeout_is_bad_usage(verb: str, value: str, tmp_path: Path) -> None:
    """--timeout accepts a finite positive number of seconds (at most a day); anything else is
    exit 2 with the option named, never a traceback."""
    proc = run_cli(verb, f"--timeout={value}", cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert "--timeout" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert list(tmp_path.iterdir()) == []  # nothing collected


@pytest.mark.parametrize(
    ("args", "option"),
    [
        (["vm", "start", "x", "--retries", "1e3"], "--retries"),
        (["vm", "start", "x", "--retries", "٣"], "--retries"),
        (["vm", "start", "x", "--retries", "9" * 400], "--retries"),
        (["vm", "start", "x", "--retries", "100000"], "--retries"),
        (["serve", "--port", "٨٠٠٠"], "--port"),
        (["serve", "--port", "99999999999999999999"], "--port"),
    ],
)
def test_a_bad_count_is_bad_usage(args: list[str], option: str) -> None:
    """Integer options take ASCII digits within their bound; anything else is exit 2."""
    proc = run_cli(*args)
    assert proc.returncode == 2, proc.stderr
    assert option in proc.stderr
    assert "Traceback" not in proc.stderr


def test_global_allow_actions_is_honoured_by_serve() -> None:
    """`workbench --allow-actions serve` serves with VM actions (its warning says so)."""
    import socket

    with socket.socket() as taken:  # held, so serve stops after its warning with exit 2
        taken.bind(("0.0.0.0", 0))  # noqa: S104 - the warning is for a non-loopback address
        taken.listen(1)
        port = str(taken.getsockname()[1])
        proc = run_cli("--allow-actions", "serve", "--host", "0.0.0.0", "--port", port)  # noqa: S104
    assert proc.returncode == 2, proc.stderr
    assert "VM actions included" in proc.stderr


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
