"""`kernel.log`: this boot's kernel messages explained; each cause a finding with `cause`."""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import SHARED, put, report_for, run_cli
from workbench.core.bounded import HEAD_BYTES, TAIL_BYTES
from workbench.core.host import Host
from workbench.core.machinelogs import GAP_SLACK, KERNEL_LOG, kernel_log
from workbench.core.report import ProbeResult
from workbench.explain.catalogue import catalogue

KMSG = Path("/dev/kmsg")
CASES = SHARED / "evidence" / "cases.jsonl"
BAR_LINE = "[    5.123456] vfio-pci 0000:01:00.0: BAR 1: can't reserve [mem 0xc0000000-0xcfffffff 64bit pref]"
MEMLOCK_LINE = "[   99.000001] vfio_pin_pages_remote: RLIMIT_MEMLOCK (65536) exceeded"


def _root_with_log(
    make_root: Callable[..., Path], facts: dict[str, Any], text: str | bytes | None
) -> Path:
    root = make_root(facts)
    if text is not None:
        put(root, KERNEL_LOG, text)
    return root


def _probe(root: Path) -> ProbeResult:
    return report_for(root, only=["kernel.log"]).get("kernel.log")


def test_recorded_log_causes_are_findings_with_cause(
    make_root: Callable[..., Path], minimal_facts: dict[str, Any]
) -> None:
    """Each cause in a recorded kernel log is a finding naming it, with its evidence in facts."""
    log = "[    0.000000] Linux version 6.8\n" + BAR_LINE + "\n" + MEMLOCK_LINE + "\n"
    result = _probe(_root_with_log(make_root, minimal_facts, log))
    assert result.status == "fail"
    by_cause = {f.cause: f for f in result.findings}
    assert {"BOOT_FB_HOLDS_BAR", "MEMLOCK_LIMIT"} <= set(by_cause)
    memlock = by_cause["MEMLOCK_LIMIT"]
    assert memlock.severity == "fail" and memlock.remedy
    assert "65536" in memlock.message
    assert "0000:01:00.0" in by_cause["BOOT_FB_HOLDS_BAR"].message
    assert result.facts["source"] == KERNEL_LOG
    assert result.facts["lines"] == 3
    causes = {c["code"]: c for c in result.facts["causes"]}
    assert causes["MEMLOCK_LIMIT"]["evidence"][0]["text"] == MEMLOCK_LINE
    assert causes["MEMLOCK_LIMIT"]["evidence"][0]["line"] == 3


def test_recorded_log_without_cause_passes_and_counts_lines(
    make_root: Callable[..., Path], minimal_facts: dict[str, Any]
) -> None:
    """A log with no known cause passes, saying how many lines it read."""
    log = "".join(f"[    {i}.000000] usb 1-{i}: new device\n" for i in range(7))
    result = _probe(_root_with_log(make_root, minimal_facts, log))
    assert result.status == "pass"
    assert result.summary.startswith("7 lines, no known cause")
    assert result.findings == [] and result.facts["causes"] == []


def test_benign_cause_is_in_facts_not_a_finding(
    make_root: Callable[..., Path], minimal_facts: dict[str, Any]
) -> None:
    """A harmless line is explained in facts but is no finding and does not fail the probe."""
    log = (
        "qemu-system-x86_64: warning: host doesn't support requested feature: CPUID.01H:ECX.pcid\n"
    )
    result = _probe(_root_with_log(make_root, minimal_facts, log))
    assert result.status == "pass"
    assert [c["code"] for c in result.facts["causes"]] == ["CPU_MODEL_FEATURE_MISMATCH"]
    assert result.findings == []


def test_capture_without_kernel_log_is_not_recorded(
    make_root: Callable[..., Path], minimal_facts: dict[str, Any]
) -> None:
    """No logs/kernel.log in a recording: skip, not recorded, and how to record it."""
    result = _probe(_root_with_log(make_root, minimal_facts, None))
    assert result.status == "skip"
    assert result.summary.startswith("not recorded")
    assert "records the kernel log" in result.summary
    assert result.findings == []


def test_big_log_is_bounded(make_root: Callable[..., Path], minimal_facts: dict[str, Any]) -> None:
    """A 24 MB kernel log is read as its first HEAD_BYTES and newest TAIL_BYTES, quickly; a
    cause at its end is found, and the summary says what was read."""
    filler = "[    1.000000] " + "x" * 85 + "\n"
    big = filler * (24 * (1 << 20) // len(filler)) + MEMLOCK_LINE + "\n"
    root = _root_with_log(make_root, minimal_facts, big)
    started = time.monotonic()
    result = _probe(root)
    elapsed = time.monotonic() - started
    assert elapsed < 5.0
    assert result.facts["truncated"] is True
    assert result.facts["lines"] <= (TAIL_BYTES + HEAD_BYTES + GAP_SLACK) // len(filler) + 1
    assert [f.cause for f in result.findings] == ["MEMLOCK_LIMIT"]
    head = result.facts["head_lines"]
    assert result.summary.startswith(f"the first {head} and last ")
    assert result.facts["left_out"].endswith(" bytes")


def test_a_boot_time_cause_is_found_in_a_chatty_log(
    make_root: Callable[..., Path], minimal_facts: dict[str, Any]
) -> None:
    """`kvm: disabled by bios` at boot, then 30 MB of chatter: still a finding."""
    filler = "[  100.000000] usb 1-1: " + "z" * 76 + "\n"
    log = "[    0.900000] kvm: disabled by bios\n" + filler * (30 * (1 << 20) // len(filler))
    result = _probe(_root_with_log(make_root, minimal_facts, log))
    assert result.findings, result.summary
    assert "kvm: disabled by bios" in json.dumps(result.facts["causes"])


def test_a_pass_with_its_middle_left_out_says_so(
    make_root: Callable[..., Path], minimal_facts: dict[str, Any]
) -> None:
    """A long clean log passes as "no known cause in the first N and last M lines", never a
    clean pass of the whole log."""
    filler = "[  100.000000] usb 1-1: " + "z" * 76 + "\n"
    result = _probe(_root_with_log(make_root, minimal_facts, filler * 40_000))
    assert result.status == "pass"
    gap = (result.facts["head_lines"], result.facts["lines"] - result.facts["head_lines"])
    left = result.facts["left_out"]
    assert result.summary == (
        f"no known cause in the first {gap[0]} and last {gap[1]} lines ({left} left out)"
    )


def test_hostile_log_reaches_the_terminal_escaped(
    make_root: Callable[..., Path], minimal_facts: dict[str, Any]
) -> None:
    """Binary junk, ANSI codes and CRLF in a recorded log: no crash, no control codes printed."""
    junk = (
        b"\x1b[31m\x1b]0;owned\x07"
        + MEMLOCK_LINE.encode()
        + b"\x1b[0m\r\n"
        + bytes(range(256))
        + b"\n"
        + b"\xff\xfe" * 1000
        + b"\r\n"
    )
    root = _root_with_log(make_root, minimal_facts, junk)
    proc = run_cli("probe", "--root", str(root), "--only", "kernel.log")
    assert "Traceback" not in proc.stderr
    assert "\x1b" not in proc.stdout and "\x07" not in proc.stdout
    assert proc.returncode == 1  # the MEMLOCK cause is still found
    doc = json.loads(run_cli("probe", "--root", str(root), "--only", "kernel.log", "--json").stdout)
    (result,) = doc["probes"]
    assert [f["cause"] for f in result["findings"]] == ["MEMLOCK_LIMIT"]


@pytest.mark.skipif(
    not (KMSG.exists() and os.access(KMSG, os.W_OK)), reason="/dev/kmsg is not writable here"
)
def test_live_line_written_to_kmsg_is_explained() -> None:
    """Done-when: a line written to /dev/kmsg is explained by `workbench probe --only kernel.log`."""
    before = (kernel_log(Host("/")).text or "").count("RLIMIT_MEMLOCK (65536) exceeded")
    marker = f"wbtest-{uuid.uuid4().hex[:12]}"
    KMSG.write_text(f"<4>vfio_pin_pages_remote: RLIMIT_MEMLOCK (65536) exceeded {marker}\n")
    proc = run_cli("probe", "--only", "kernel.log", "--json")
    assert "Traceback" not in proc.stderr
    (result,) = json.loads(proc.stdout)["probes"]
    assert result["id"] == "kernel.log"
    causes = {c["code"]: c for c in result["facts"]["causes"]}
    assert "MEMLOCK_LIMIT" in causes, result["summary"]
    memlock = causes["MEMLOCK_LIMIT"]
    # Every such line of this boot is counted (earlier runs of this test wrote some), and the
    # newest (this one) is among those shown.
    assert len(memlock["evidence"]) + memlock["more_evidence"] == before + 1
    assert any(marker in e["text"] for e in memlock["evidence"])
    finding = next(f for f in result["findings"] if f["cause"] == "MEMLOCK_LIMIT")
    assert finding["severity"] == "fail" and finding["remedy"]
    assert result["status"] == "fail" and proc.returncode == 1


def test_facts_alone_are_not_the_logs_cause(
    make_root: Callable[..., Path], minimal_facts: dict[str, Any]
) -> None:
    """efifb inside the host iGPU's range with a clean log: kernel.log passes (device state's)."""
    root = _root_with_log(make_root, minimal_facts, "[    1.000000] efifb: probing for efifb\n")
    (root / "proc/iomem").write_text(
        "4000000000-400fffffff : 0000:00:02.0\n  4000000000-40007e8fff : efifb\n"
    )
    result = _probe(root)
    assert result.status == "pass", result.summary
    assert result.facts["causes"] == []


def _kernel_cases() -> list[dict[str, Any]]:
    if not CASES.exists():
        return []
    cases = [json.loads(line) for line in CASES.read_text().splitlines() if line.strip()]
    return [c for c in cases if c["kind"] == "kernel"]


@pytest.mark.skipif(not CASES.exists(), reason="../shared/evidence is not present")
@pytest.mark.parametrize("case", _kernel_cases(), ids=lambda c: str(c["id"]))
def test_shared_kernel_case_as_a_recorded_log(
    make_root: Callable[..., Path], minimal_facts: dict[str, Any], case: dict[str, Any]
) -> None:
    """A shared kernel-log case, recorded as a machine's logs/kernel.log: its cause is the
    probe's first finding (skipped while the catalogue has no entry for it)."""
    code = case["cause_code"]
    if code not in catalogue().causes:
        pytest.skip(f"the cause catalogue has no {code} yet")
    result = _probe(_root_with_log(make_root, minimal_facts, case["log"]))
    assert result.findings, result.summary
    assert result.findings[0].cause == code


def test_ambiguous_line_is_one_finding_naming_the_other(
    make_root: Callable[..., Path], minimal_facts: dict[str, Any]
) -> None:
    """An ambiguous line's candidates are all in facts, but one finding (the likeliest)."""
    line = (
        "[  812.000000] pci 0000:02:00.0: Unknown PCI header type '127' for device '0000:02:00.0'"
    )
    facts = json.loads(json.dumps(minimal_facts))
    facts["devices"] = [d for d in facts["devices"] if d["bdf"] != "0000:01:00.0"]
    result = _probe(_root_with_log(make_root, facts, line + "\n"))
    codes = [c["code"] for c in result.facts["causes"] if not c["benign"]]
    assert len(codes) >= 2, codes
    (finding,) = result.findings
    assert finding.cause == codes[0]
    others = ", ".join(codes[1:])
    assert f"Other possible cause of the same lines: {others}." in finding.message


def test_an_empty_recorded_log_is_skipped_not_passed(
    make_root: Callable[..., Path], minimal_facts: dict[str, Any]
) -> None:
    """A recorded kernel log with no lines shows nothing: skip saying it is empty, never a
    pass of "0 lines, no known cause"."""
    result = _probe(_root_with_log(make_root, minimal_facts, "\n"))
    assert result.status == "skip"
    assert "is empty" in result.summary and result.facts["why"] == "empty"
