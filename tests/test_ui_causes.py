"""Explained causes in the workbench: a probe's causes with their evidence, a VM's failed start
explained from libvirt's error, its QEMU log and the machine's facts."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import DataTable, Static

from tests.ui_cause_helpers import (
    CLEAN_STOP,
    FAILED_START,
    HOSTILE,
    KERNEL_LOG,
    LIBVIRT_ERROR,
    ExplainingProbe,
    PreflightProbe,
    with_kernel_log,
    with_qemu_log,
)
from workbench.explain.laststart import last_section
from workbench.explain.matcher import explain_text
from workbench.ui.causes import causes_block, causes_of, evidence_lines, ordered, top_cause
from workbench.ui.screens.details import DetailsScreen
from workbench.ui.start_failure import explain_start_failure
from workbench.ui.widgets.start_failure import StartFailureView, why_text


async def until(pilot: Pilot[Any], predicate: Callable[[], bool], timeout_s: float = 15) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError("condition not reached")
        await pilot.pause(0.05)


def explained(text: str = KERNEL_LOG) -> list[dict[str, Any]]:
    return [c.to_dict() for c in explain_text(text).causes]


# --- the cause views, as text -----------------------------------------------------------------


def test_real_causes_come_before_harmless_ones() -> None:
    """The memlock failure is the top cause; the CPU-feature warning is listed after, harmless."""
    causes = explained()
    top = top_cause(causes)
    assert top is not None and top["code"] == "MEMLOCK_LIMIT"
    codes = [c["code"] for c in ordered(causes)]
    assert codes[-1] == "CPU_MODEL_FEATURE_MISMATCH"
    shown = causes_block(causes).plain
    assert shown.index("Harmless lines") < shown.index("requested feature")
    assert shown.index("RLIMIT_MEMLOCK") < shown.index("Harmless lines")


def test_only_harmless_causes_have_no_top_cause() -> None:
    """A log of harmless lines only names no cause for the overview."""
    assert top_cause(explained(KERNEL_LOG.splitlines()[-1])) is None


def test_malformed_causes_in_facts_are_ignored() -> None:
    """A hand-edited capture's facts["causes"] may hold anything: only cause objects count."""
    good = explained()[0]
    assert causes_of({"causes": [good, "x", {"title": "no code"}, None]}) == [good]
    assert causes_of({"causes": "not a list"}) == []
    assert causes_of({}) == []


def test_evidence_is_shown_escaped_with_its_line_numbers() -> None:
    """Markup and an ANSI code in an evidence line are shown literally / escaped, after its
    line number."""
    memlock = next(c for c in explained() if c["code"] == "MEMLOCK_LIMIT")
    [line] = evidence_lines(memlock)
    assert "[bold]x[/]" in line.plain
    assert "\x1b" not in line.plain and "\\x1b[31m" in line.plain
    assert line.plain.lstrip().startswith("2 │ ")
    assert not line.spans or all(str(s.style) == "dim" for s in line.spans)


def test_evidence_beyond_the_shown_lines_is_counted() -> None:
    """Twenty memlock lines: six shown, the rest counted (those the matcher kept and not)."""
    text = "\n".join(f"vfio_pin_pages_remote: RLIMIT_MEMLOCK ({n}) exceeded" for n in range(20))
    memlock = next(c for c in explained(text) if c["code"] == "MEMLOCK_LIMIT")
    lines = evidence_lines(memlock)
    assert len(lines) == 7 and lines[-1].plain.strip() == "… 14 more line(s)"


# --- a failed start, explained ----------------------------------------------------------------


def test_last_start_is_the_text_after_the_last_starting_up() -> None:
    """An old failure in the log is not why the VM is off now: only its last start counts."""
    assert last_section(FAILED_START + CLEAN_STOP)[1] == CLEAN_STOP.splitlines()
    assert last_section("no marks\nat all") == (0, ["no marks", "at all"])


def test_failed_start_is_explained_from_its_qemu_log(make_root: Callable[..., Path]) -> None:
    """A shut-off VM whose QEMU log ends in reason=failed: failed, a real top cause whose
    evidence is the log's `not viable` line."""
    root = make_root("demo-workstation")
    with_qemu_log(root, "truenas", CLEAN_STOP + FAILED_START)
    failure = explain_start_failure(str(root), "truenas")
    assert failure.failed and failure.log_why is None and failure.error is None
    top = top_cause(failure.causes)
    assert top is not None
    assert any("group 8 is not viable" in e["text"] for e in top["evidence"])
    assert failure.tail[-1].endswith("reason=failed")


def test_a_clean_last_start_is_not_a_failure(make_root: Callable[..., Path]) -> None:
    """A log whose last start ended in a shutdown says the VM did not fail, whatever came before."""
    root = make_root("demo-workstation")
    with_qemu_log(root, "truenas", FAILED_START + CLEAN_STOP)
    failure = explain_start_failure(str(root), "truenas")
    assert not failure.failed and failure.causes == []


def test_no_qemu_log_is_not_recorded_not_a_pass(make_root: Callable[..., Path]) -> None:
    """Without a QEMU log a shut-off VM is not judged: not failed, and why it cannot be told."""
    root = make_root("demo-workstation")
    failure = explain_start_failure(str(root), "truenas")
    assert not failure.failed
    assert failure.log_why is not None and failure.log_why.startswith("QEMU log not available")
    said = why_text("truenas", failure, shutoff=True)
    assert said is not None and "not known (QEMU log not available" in said.plain
    assert why_text("truenas", failure, shutoff=False) is None


def test_libvirt_error_alone_explains_a_start(make_root: Callable[..., Path]) -> None:
    """libvirt's error text is evidence of its own: explained even with no QEMU log at all."""
    root = make_root("demo-workstation")
    failure = explain_start_failure(str(root), "nosuchvm", LIBVIRT_ERROR)
    assert failure.failed and failure.error == LIBVIRT_ERROR
    top = top_cause(failure.causes)
    assert top is not None
    assert top["evidence"][0]["source"] == "libvirt"


# --- on screen --------------------------------------------------------------------------------


def text_of(widget: Any) -> str:
    return str(widget.render())


async def test_details_show_a_probes_causes_with_evidence(
    make_app: Callable[..., Any], make_root: Callable[..., Path]
) -> None:
    """A probe that explained evidence: its details list each cause with code, evidence lines
    (escaped), remedy; the harmless one after; the overview row names the top cause."""
    app = make_app(with_kernel_log(make_root("demo-workstation")))
    app.probes.classes.insert(0, ExplainingProbe)
    async with app.run_test(size=(160, 60)) as pilot:
        await until(pilot, lambda: app.probes.report is not None)
        await pilot.pause(0.2)
        table = app.screen.query_one("#probes", DataTable)
        row = " ".join(str(c) for c in table.get_row("test.evidence"))
        assert "cause: The locked-memory limit is too low" in row
        app.show_details("test.evidence")
        await pilot.pause()
        assert isinstance(app.screen, DetailsScreen)
        shown = text_of(app.screen.query_one("#causes", Static))
        assert "MEMLOCK_LIMIT" in shown and "BOOT_FB_HOLDS_BAR" in shown
        assert "[bold]x[/]" in shown and "\\x1b[31m" in shown and "\x1b" not in shown
        assert shown.index("Harmless lines") < shown.index("CPU_MODEL_FEATURE_MISMATCH")
        assert "→ Raise the QEMU process's RLIMIT_MEMLOCK" in shown
        findings = text_of(app.screen.query_one("#findings", Static))
        assert "[MEMLOCK_LIMIT]" in findings


async def test_shutoff_vm_shows_why_its_last_start_failed(
    make_app: Callable[..., Any], demo_env: Any
) -> None:
    """truenas, shut off, its QEMU log ending in a failed start: its row says `start failed`
    and, selected, the top cause with the log's line as evidence (explained in a worker)."""
    with_qemu_log(demo_env.root, "truenas", FAILED_START)
    app = make_app(demo_env.root, demo_env.uri)
    async with app.run_test(size=(140, 50)) as pilot:
        await until(pilot, lambda: "truenas" in app.virt.failures)
        await pilot.press("v")
        await pilot.pause()
        table = app.screen.query_one("#domains", DataTable)
        await until(pilot, lambda: "start failed" in str(table.get_cell("truenas", "state")))
        table.move_cursor(row=table.get_row_index("truenas"))
        await pilot.pause()
        shown = text_of(app.screen.query_one(StartFailureView))
        top = top_cause(app.virt.failures["truenas"].causes)
        assert top is not None and top["title"] in shown
        assert "group 8 is not viable" in shown and "→ " in shown
        assert app.screen.query_one("#why-box").display
        table.move_cursor(row=table.get_row_index("win11-gaming"))  # running: nothing to say
        await pilot.pause()
        assert not app.screen.query_one("#why-box").display


async def test_failed_start_action_is_explained(
    make_app: Callable[..., Any], demo_env: Any
) -> None:
    """s on a VM whose start fails for real (it is already running): the error is explained in
    the action's worker and the VM's panel quotes libvirt's sentence."""
    app = make_app(demo_env.root, demo_env.uri, allow_actions=True)
    async with app.run_test(size=(140, 50)) as pilot:
        await until(pilot, lambda: len(app.virt.domains) == 4)
        await pilot.press("v")
        await pilot.pause()
        table = app.screen.query_one("#domains", DataTable)
        table.move_cursor(row=table.get_row_index("ubuntu-dev"))
        await pilot.press("s")
        await until(pilot, lambda: "ubuntu-dev" in app.virt.failures)
        failure = app.virt.failures["ubuntu-dev"]
        assert failure.failed and failure.error
        await until(pilot, lambda: type(app.screen).__name__ == "ErrorScreen")
        await pilot.press("escape")  # the error itself, acknowledged
        await pilot.pause(0.2)
        shown = text_of(app.screen.query_one(StartFailureView))
        assert "Why ubuntu-dev did not start" in shown
        assert f"libvirt said: {failure.error.splitlines()[0]}" in shown


def test_a_failed_starts_error_names_its_likeliest_cause(make_root: Callable[..., Path]) -> None:
    """The error a failed start raises carries the top cause's code and remedy (the toast and
    the error screen say why, not only libvirt's sentence); without a cause it is untouched."""
    from workbench.core.errors import VMError
    from workbench.ui.virt import name_cause

    root = make_root("demo-workstation")
    failure = explain_start_failure(str(root), "truenas", LIBVIRT_ERROR)
    top = top_cause(failure.causes)
    assert top is not None
    exc = VMError(LIBVIRT_ERROR)
    name_cause(exc, failure)
    assert exc.details["cause"] == top["code"]
    assert exc.remedy is not None and exc.remedy.startswith(f"Likely cause: {top['title']}")
    assert exc.remedy.endswith(top["remedy"])
    plain_error = VMError("domain is already running")
    name_cause(plain_error, explain_start_failure(str(root), "truenas", "already running"))
    assert "cause" not in plain_error.details and plain_error.remedy == VMError.default_remedy


async def test_a_vm_that_starts_no_longer_shows_its_old_failure(
    make_app: Callable[..., Any], demo_env: Any
) -> None:
    """truenas's failed start is shown until it starts for real; then its row and panel drop it."""
    with_qemu_log(demo_env.root, "truenas", FAILED_START)
    app = make_app(demo_env.root, demo_env.uri, allow_actions=True)
    async with app.run_test(size=(140, 50)) as pilot:
        await until(pilot, lambda: "truenas" in app.virt.failures)
        await pilot.press("v")
        await pilot.pause()
        table = app.screen.query_one("#domains", DataTable)
        table.move_cursor(row=table.get_row_index("truenas"))
        await pilot.pause()
        assert app.screen.query_one("#why-box").display
        await pilot.press("s")  # the test driver starts it
        await until(pilot, lambda: app.virt.state("truenas") == "running")
        await until(pilot, lambda: "start failed" not in str(table.get_cell("truenas", "state")))
        assert "truenas" not in app.virt.failures
        assert not app.screen.query_one("#why-box").display


async def test_vm_panel_shows_a_preflights_causes_for_that_vm(
    make_app: Callable[..., Any], demo_env: Any
) -> None:
    """A probe's cause whose subject names truenas shows under truenas (with the probe's id),
    after "not known" for its last start (no QEMU log); not under another VM."""
    app = make_app(demo_env.root, demo_env.uri)
    app.probes.classes.insert(0, PreflightProbe)
    async with app.run_test(size=(140, 50)) as pilot:
        await until(pilot, lambda: app.probes.report is not None and "truenas" in app.virt.failures)
        await pilot.press("v")
        await pilot.pause()
        table = app.screen.query_one("#domains", DataTable)
        table.move_cursor(row=table.get_row_index("truenas"))
        await pilot.pause(0.2)
        shown = text_of(app.screen.query_one(StartFailureView))
        assert "Last start of truenas: not known (QEMU log not available" in shown
        assert "Why truenas cannot start now (test.preflight)" in shown
        assert "MEMLOCK_LIMIT" in shown and "RLIMIT_MEMLOCK (65536) exceeded" in shown
        assert shown.index("not known") < shown.index("cannot start now")
        table.move_cursor(row=table.get_row_index("ubuntu-dev"))
        await pilot.pause(0.2)
        assert not app.screen.query_one("#why-box").display


@pytest.mark.parametrize("name", ["../../../../etc/shadow", ".hidden", "a\0b", ""])
def test_a_hostile_vm_name_is_never_read_as_a_path(
    name: str, make_root: Callable[..., Path]
) -> None:
    """A recorded domain name that is not a plain file name: its QEMU log is not read (no
    path outside the log directory), and the panel says why."""
    root = make_root("demo-workstation")
    (root / "etc").mkdir(exist_ok=True)
    (root / "etc/shadow.log").write_text(FAILED_START)  # where ../../../../etc/shadow would lead
    failure = explain_start_failure(str(root), name)
    assert not failure.failed and failure.causes == []
    assert failure.log_why == "QEMU log not read: the VM's name is not a file name"


def test_a_cause_only_the_machine_shows_is_not_why_a_vm_failed(
    make_root: Callable[..., Path],
) -> None:
    """The machine's own boot framebuffer (efifb inside a GPU's BAR, shown by /proc/iomem alone)
    is the device probes' finding: a clean last start stays clean, a failure is not blamed on it."""
    root = make_root("demo-workstation")
    (root / "proc/iomem").write_text(
        "4000000000-400fffffff : 0000:01:00.0\n  4000000000-40007e8fff : efifb\n"
    )
    assert any(
        c["code"] == "BOOT_FB_HOLDS_BAR" for c in explained((root / "proc/iomem").read_text())
    )
    with_qemu_log(root, "truenas", CLEAN_STOP)
    clean = explain_start_failure(str(root), "truenas")
    assert not clean.failed and clean.causes == []
    failed = explain_start_failure(str(root), "truenas", LIBVIRT_ERROR)
    assert "BOOT_FB_HOLDS_BAR" not in {c["code"] for c in failed.causes}
    assert failed.causes


def test_a_preflight_cause_the_failed_start_explained_is_not_said_twice(
    make_root: Callable[..., Path],
) -> None:
    """The preflight reads the same QEMU log: its cause already explained above is left out;
    another cause it found is still shown (the VM's name not repeated in its subject)."""
    root = make_root("demo-workstation")
    error = "error: cannot limit locked memory of process 4242 to 17179869184: Not permitted"
    failure = explain_start_failure(str(root), "truenas", error)
    assert top_cause(failure.causes)["code"] == "MEMLOCK_LIMIT"  # type: ignore[index]
    memlock = {**explained()[0], "subject": {"vm": "truenas", "limit": "65536"}}
    bootfb = next(c for c in explained() if c["code"] == "BOOT_FB_HOLDS_BAR")
    bootfb = {**bootfb, "subject": {**bootfb["subject"], "vm": "truenas"}}
    said = why_text("truenas", failure, True, [("vm.preflight", memlock)])
    assert said is not None and "cannot start now" not in said.plain
    said = why_text("truenas", failure, True, [("vm.preflight", memlock), ("vm.preflight", bootfb)])
    assert said is not None and "Why truenas cannot start now (vm.preflight)" in said.plain
    assert "BOOT_FB_HOLDS_BAR" in said.plain and "vm truenas" not in said.plain


def test_an_unexplained_failure_quotes_libvirt_and_the_logs_last_lines(
    make_root: Callable[..., Path],
) -> None:
    """No cause matches: the panel says so, shows the last lines of the start (escaped) when
    there is a log, and libvirt's first line."""
    root = make_root("demo-workstation")
    bare = explain_start_failure(str(root), "truenas", "Requested operation is not valid\nmore")
    said = why_text("truenas", bare, True)
    assert said is not None
    lines = said.plain.splitlines()
    assert lines[1:3] == [
        "No known cause matched.",
        "libvirt said: Requested operation is not valid",
    ]
    assert len(lines) == 4 and lines[3].startswith("QEMU log not available: ")
    with_qemu_log(
        root, "truenas", f"x: starting up\nqemu: odd {HOSTILE}\nshutting down, reason=failed\n"
    )
    logged = why_text("truenas", explain_start_failure(str(root), "truenas"), True)
    assert logged is not None
    assert (
        "the last lines of its start:\n  x: starting up\n  qemu: odd [bold]x[/] \\x1b[31mred"
        in (logged.plain)
    )


async def test_a_remote_hypervisors_vm_is_not_explained_from_this_machines_log(
    make_root: Callable[..., Path], make_app: Callable[..., Any]
) -> None:
    """A recording of a hypervisor on another machine (qemu+ssh://other.example): the failed
    start in the QEMU log of this root is not read for its VM; the panel says where to run."""
    from tests.test_probe_vm_preflight import SHUTOFF, domain_xml, record_hypervisor

    root = record_hypervisor(
        make_root("demo-workstation"),
        [("truenas", SHUTOFF, domain_xml("truenas", []))],
        uri="qemu+ssh://other.example/system",
    )
    with_qemu_log(root, "truenas", FAILED_START)
    assert explain_start_failure(str(root), "truenas").failed  # local: this log would say so
    app = make_app(root)
    async with app.run_test(size=(140, 50)) as pilot:
        await until(pilot, lambda: "truenas" in app.virt.failures)
        failure = app.virt.failures["truenas"]
        assert not failure.failed and failure.causes == [] and failure.tail == []
        assert failure.log_why == (
            "QEMU log not recorded (remote hypervisor: run workbench on other.example)"
        )


def test_a_remote_start_error_is_explained_by_libvirts_words_alone(
    make_root: Callable[..., Path],
) -> None:
    """A start on a remote hypervisor failed: libvirt's error explains it, no local log line."""
    root = make_root("demo-workstation")
    with_qemu_log(root, "truenas", CLEAN_STOP + FAILED_START)
    failure = explain_start_failure(str(root), "truenas", LIBVIRT_ERROR, remote="h")
    assert failure.failed and failure.log_source is None and failure.tail == []
    assert {e["source"] for c in failure.causes for e in c["evidence"]} == {"libvirt"}
