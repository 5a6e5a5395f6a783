"""The workbench driven with Textual's Pilot: behaviour, not pixels."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from textual.message import Message
from textual.pilot import Pilot
from textual.widgets import DataTable, Input, Tree

from tests.virt_helpers import SessionDaemon
from workbench.ui.messages import ProbeFinished, ProbesDone, RetryFinished, RetryProgress
from workbench.ui.screens.details import DetailsScreen
from workbench.ui.widgets.log_view import LogView
from workbench.ui.widgets.status_bar import StatusBar


async def until(pilot: Pilot[Any], predicate: Callable[[], bool], timeout_s: float = 15) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError("condition not reached")
        await pilot.pause(0.05)


async def test_probe_results_arrive_in_report_order(
    make_app: Callable[..., Any], make_root: Callable[..., Path]
) -> None:
    """Each probe's result is a message, in report order, then ProbesDone; the table fills."""
    seen: list[Message] = []
    app = make_app(make_root("asrock-z170-gtx960"))
    async with app.run_test(message_hook=seen.append) as pilot:
        await until(pilot, lambda: app.probes.report is not None)
        await pilot.pause()
        table = app.screen.query_one("#probes", DataTable)
        assert table.row_count == len(app.probes.classes)
    # The screen on show gets a copy of each (same result object): counted once.
    results = {id(m.result): m.result for m in seen if isinstance(m, ProbeFinished)}
    finished = [r.id for r in results.values()]
    assert finished == [p.id for p in app.probes.classes]
    done = [i for i, m in enumerate(seen) if isinstance(m, ProbesDone)]
    first: dict[int, int] = {}  # each result's first message (the app's, not the screen's copy)
    for i, m in enumerate(seen):
        if isinstance(m, ProbeFinished):
            first.setdefault(id(m.result), i)
    assert done and done[0] > max(first.values())


def no_vtx(root: Path) -> Path:
    """The machine's CPU without vmx/svm: cpu.virtualization fails, every time it is asked."""
    (root / "proc/cpuinfo").write_text("processor\t: 0\nvendor_id\t: GenuineIntel\nflags\t: fpu\n")
    return root


async def retry_with_backoff(pilot: Pilot[Any], app: Any, probe_id: str) -> None:
    """Wait for the report, open `probe_id`'s details, press b."""
    await until(pilot, lambda: app.probes.report is not None)
    app.show_details(probe_id)
    await pilot.pause()
    assert isinstance(app.screen, DetailsScreen)
    await pilot.press("b")


async def test_retry_with_backoff_counts_attempts(
    make_app: Callable[..., Any], make_root: Callable[..., Path], minimal_facts: dict[str, Any]
) -> None:
    """b on a failing probe: three attempts reported with their countdown, then it gives up."""
    seen: list[Message] = []
    app = make_app(no_vtx(make_root(minimal_facts)), retry_attempts=3, retry_base_delay_s=0.05)
    async with app.run_test(message_hook=seen.append) as pilot:
        await retry_with_backoff(pilot, app, "cpu.virtualization")
        await until(pilot, lambda: any(isinstance(m, RetryFinished) for m in seen))
    attempts = [m.attempt for m in seen if isinstance(m, RetryProgress)]
    assert [(a.number, a.ok) for a in attempts] == [(1, False), (2, False), (3, False)]
    assert [a.delay_s is not None for a in attempts] == [True, True, False]
    finished = next(m for m in seen if isinstance(m, RetryFinished))
    assert not finished.ok and "still fail" in finished.detail


async def test_cancel_stops_a_waiting_retry(
    make_app: Callable[..., Any], make_root: Callable[..., Path], minimal_facts: dict[str, Any]
) -> None:
    """x during the countdown cancels: no further attempt."""
    seen: list[Message] = []
    app = make_app(no_vtx(make_root(minimal_facts)), retry_attempts=5, retry_base_delay_s=30)
    async with app.run_test(message_hook=seen.append) as pilot:
        await retry_with_backoff(pilot, app, "cpu.virtualization")
        await until(pilot, lambda: any(isinstance(m, RetryProgress) for m in seen))
        await pilot.press("x")
        await until(pilot, lambda: any(isinstance(m, RetryFinished) for m in seen))
    assert len([m for m in seen if isinstance(m, RetryProgress)]) == 1
    assert "cancelled" in next(m for m in seen if isinstance(m, RetryFinished)).detail


async def test_fallback_choice_changes_the_display(
    make_app: Callable[..., Any], demo_env: Any
) -> None:
    """f on a VM lists the display alternatives; choosing the URI records it in the table."""
    app = make_app(demo_env.root, demo_env.uri)
    async with app.run_test(size=(120, 30)) as pilot:
        await until(pilot, lambda: len(app.virt.domains) == 4)
        await pilot.press("v")
        await pilot.pause()
        table = app.screen.query_one("#domains", DataTable)
        table.move_cursor(row=table.get_row_index("win11-gaming"))
        await pilot.press("f")
        await pilot.pause()
        await pilot.press("down", "down", "enter")  # looking-glass and viewer are unavailable
        await until(pilot, lambda: "win11-gaming" in app.virt.display_choice)
        assert app.virt.display_choice["win11-gaming"] == "uri"
        assert str(table.get_cell("win11-gaming", "display")) == "uri"


async def test_read_only_refuses_actions(make_app: Callable[..., Any], demo_env: Any) -> None:
    """Without --allow-actions the VM screen says so and nothing changes."""
    app = make_app(demo_env.root, demo_env.uri)
    async with app.run_test(size=(120, 30)) as pilot:
        await until(pilot, lambda: len(app.virt.domains) == 4)
        await pilot.press("v", "p")
        await pilot.pause()
        assert app.virt.state("ubuntu-dev") == "running"
        assert any("allow-actions" in str(n.message) for n in app._notifications)


async def test_allowed_action_moves_the_vm(make_app: Callable[..., Any], demo_env: Any) -> None:
    """With --allow-actions, p suspends the selected VM; the timeline records the operator."""
    app = make_app(demo_env.root, demo_env.uri, allow_actions=True)
    async with app.run_test(size=(120, 30)) as pilot:
        await until(pilot, lambda: len(app.virt.domains) == 4)
        await pilot.press("v")
        table = app.screen.query_one("#domains", DataTable)
        table.move_cursor(row=table.get_row_index("ubuntu-dev"))
        await pilot.press("p")
        await until(pilot, lambda: app.virt.state("ubuntu-dev") == "paused")
        causes = [t.cause for t in app.virt.history("ubuntu-dev")]
        assert "action" in causes


async def test_logs_filter_to_errors(
    make_app: Callable[..., Any], make_root: Callable[..., Path]
) -> None:
    """e shows only errors and worse; a shows everything again."""
    app = make_app(make_root("asrock-z170-gtx960"))
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.press("l", "enter")  # picker: our log alone
        view = app.screen.query_one(LogView)
        await until(pilot, lambda: view._count() == 41)
        await pilot.press("e")
        await until(pilot, lambda: view.rows is not None)
        assert view._count() == 10  # 5 error + 5 critical of 40
        await pilot.press("a")
        await until(pilot, lambda: view.rows is None)


async def test_killed_daemon_shows_reconnecting_then_recovers(
    make_app: Callable[..., Any], make_root: Callable[..., Path], libvirtd: SessionDaemon
) -> None:
    """The real session libvirtd dies under the workbench: the bar says reconnecting; when the
    daemon is back it says connected again."""
    uri = f"test+unix:///default?socket={libvirtd.socket}"
    app = make_app(make_root("asrock-z170-gtx960"), uri)
    async with app.run_test(size=(120, 30)) as pilot:
        bar = app.screen.query_one(StatusBar)
        await until(pilot, lambda: "connected" in str(bar.render()))
        libvirtd.kill()
        await until(pilot, lambda: "reconnecting" in str(bar.render()))
        libvirtd.start()
        await until(pilot, lambda: "libvirt: connected" in str(bar.render()), 30)


async def test_destructive_action_asks_first(make_app: Callable[..., Any], demo_env: Any) -> None:
    """d (shutdown) asks; n leaves the VM running; y shuts it down."""
    from workbench.ui.screens.modals import ConfirmScreen

    app = make_app(demo_env.root, demo_env.uri, allow_actions=True)
    async with app.run_test(size=(120, 30)) as pilot:
        await until(pilot, lambda: len(app.virt.domains) == 4)
        await pilot.press("v")
        table = app.screen.query_one("#domains", DataTable)
        table.move_cursor(row=table.get_row_index("ubuntu-dev"))
        await pilot.press("d")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("n")
        await pilot.pause(0.3)
        assert app.virt.state("ubuntu-dev") == "running"
        await pilot.press("d")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await until(pilot, lambda: app.virt.state("ubuntu-dev") == "shutoff")


async def test_logs_search_and_next_error(
    make_app: Callable[..., Any], make_root: Callable[..., Path]
) -> None:
    """/ with a regex keeps matching lines only; n from the top jumps to the first error."""
    app = make_app(make_root("asrock-z170-gtx960"))
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.press("l", "enter")  # picker: our log alone
        view = app.screen.query_one(LogView)
        await until(pilot, lambda: view._count() == 41)
        view.action_jump(0)
        await pilot.press("n")
        await until(pilot, lambda: view.number_at(view.cursor) == 5)  # "step 5" is an error
        await pilot.press("slash")
        app.screen.query_one("#search", Input).value = 'step 1[0-9]"'
        await pilot.press("enter")
        await until(pilot, lambda: view.rows is not None and view._count() == 10)


FREEZE_SCRIPT = """
import asyncio, gc, sys
from workbench.ui.app import WorkbenchApp
from workbench.ui.config import UiConfig

async def main():
    app = WorkbenchApp(UiConfig(root=sys.argv[1], owns_process=sys.argv[2] == "owns"))
    async with app.run_test() as pilot:
        while app.probes.report is None:
            await pilot.pause(0.05)
    print(gc.get_freeze_count())

asyncio.run(main())
"""


def test_an_app_that_owns_its_process_freezes_its_startup_heap(
    make_root: Callable[..., Path],
) -> None:
    """Once start-up is over, the CLI's app moves its long-lived objects out of the collector's
    full passes (those passes were the log view's slowest frames); an embedded app leaves the
    host process's collector alone."""
    import subprocess
    import sys

    root = str(make_root("asrock-z170-gtx960"))
    counts = {}
    for mode in ("owns", "embedded"):
        out = subprocess.run(
            [sys.executable, "-c", FREEZE_SCRIPT, root, mode],
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        )
        counts[mode] = int(out.stdout.split()[-1])
    assert counts["owns"] > 20_000 and counts["embedded"] == 0, counts


async def test_the_command_palette_runs_a_command(
    make_app: Callable[..., Any], make_root: Callable[..., Path]
) -> None:
    """ctrl+p, "logs: errors only", enter: the logs screen, filtered to errors and worse."""
    from workbench.ui.screens.logs import LogsScreen

    app = make_app(make_root("asrock-z170-gtx960"))
    async with app.run_test(size=(120, 30)) as pilot:
        await until(pilot, lambda: app.probes.report is not None)
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"errors only")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, LogsScreen))
        view = app.screen.query_one(LogView)
        await until(pilot, lambda: view.rows is not None)
        assert app.screen.level == "error"
        assert view._count() == 10  # 5 error + 5 critical of the sample log's 40


# --- machine text is data: never markup, never terminal control ---------------------------------

HOSTILE = "[/] [bold]x[@click=app.quit]\x1b[2J"
SHOWN = "[/] [bold]x[@click=app.quit]\\x1b[2J"  # what the operator must read, literally


def screen_text(app: Any) -> str:
    """Every cell of the screen as drawn (what reaches the terminal, minus styles)."""
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())


async def test_hostile_cmdline_and_hostname_are_shown_literally(
    make_app: Callable[..., Any], make_root: Callable[..., Path], minimal_facts: dict[str, Any]
) -> None:
    """A kernel command line and a hostname holding markup, an action link and an escape
    sequence: the overview, the status bar and the details show them as text; nothing crashes,
    nothing is run, no control character reaches the terminal."""
    root = make_root(
        minimal_facts, kernel_cmdline=f'intel_iommu="{HOSTILE}"', hostname=f"host{HOSTILE}"
    )
    app = make_app(root)
    async with app.run_test(size=(200, 40)) as pilot:
        await until(pilot, lambda: app.probes.report is not None)
        await pilot.pause(0.2)
        shown = screen_text(app)
        assert f"intel_iommu={SHOWN}" in shown
        assert f"host{SHOWN}" in shown
        await pilot.click("#status", offset=(12, 0))  # on the hostname's "link"
        await pilot.click("#probes", offset=(40, 5))  # on the cmdline's "link"
        app.show_details("kernel.cmdline")
        await pilot.pause(0.2)
        shown = screen_text(app)
        assert SHOWN in shown and "\x1b" not in shown
        assert app.is_running


def evil_node(path: Path) -> str:
    """A test-driver hypervisor whose domain names hold markup, an action link and a C1 CSI
    (libvirt itself refuses '/' in a name, so `[/]` cannot be one)."""
    from tests.virt_helpers import Domain, write_node

    node = write_node(
        path,
        [
            Domain("evil[@click=app.quit]x", hostdevs=["0000:01:00.0"]),
            Domain("vm[b]x[", running=False),
            Domain("csi\x9b2Jx"),
        ],
    )
    return f"test://{node}"


async def test_hostile_domain_names_are_shown_literally(
    make_app: Callable[..., Any], make_root: Callable[..., Path], tmp_path: Path
) -> None:
    """Domain names with markup, an action link and a C1 control: the VMs table, the timeline,
    the display chooser and the overview show them as text; clicking them runs nothing."""
    app = make_app(make_root("asrock-z170-gtx960"), evil_node(tmp_path / "evil.xml"))
    async with app.run_test(size=(160, 40)) as pilot:
        await until(pilot, lambda: app.probes.report is not None and len(app.virt.domains) == 3)
        await pilot.press("v")
        await pilot.pause(0.2)
        shown = screen_text(app)
        assert "evil[@click=app.quit]x" in shown and "vm[b]x[" in shown
        assert "csi\\x9b2Jx" in shown and "\x9b" not in shown
        table = app.screen.query_one("#domains", DataTable)
        table.move_cursor(row=table.get_row_index("evil[@click=app.quit]x"))
        await pilot.click("#domains", offset=(3, table.cursor_row + 1))
        await pilot.press("f")  # the display chooser names the VM
        await pilot.pause(0.2)
        assert "evil[@click=app.quit]x's screen" in screen_text(app)
        await pilot.press("escape")
        await pilot.press("o")
        await pilot.pause(0.2)
        assert "\x9b" not in screen_text(app)
        assert app.is_running


async def test_escape_sequences_in_the_log_are_shown_escaped(
    make_app: Callable[..., Any], make_root: Callable[..., Path], tmp_path: Path
) -> None:
    """Log records and raw lines holding escape sequences and markup: the log view and the
    record details show them escaped and literal; the terminal never receives them."""
    log = tmp_path / "hostile.log"
    log.write_text(
        '{"timestamp": "2026-11-22T10:00:00Z\\u001b[2J", "level": "error", '
        '"event": "boom\\u001b[31m [/] [@click=app.quit]", "vm": "a\\u009bb"}\n'
        f"raw {HOSTILE} line\n"
    )
    app = make_app(make_root("asrock-z170-gtx960"), log_path=log)
    async with app.run_test(size=(160, 30)) as pilot:
        await pilot.press("l", "enter")  # picker: our log alone
        view = app.screen.query_one(LogView)
        await until(pilot, lambda: view._count() == 2)
        view.action_jump(0)  # the record's details below
        await pilot.pause(0.2)
        shown = screen_text(app)
        assert "boom\\x1b[31m [/] [@click=app.quit]" in shown
        assert f"raw {SHOWN} line" in shown
        assert "\x1b" not in shown and "\x9b" not in shown
        view.action_jump(1)  # the raw line's details
        await pilot.pause(0.2)
        assert SHOWN in screen_text(app)
        assert app.is_running


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("intel", "intel"),
        (False, "no"),
        (True, "yes"),
        (None, "none"),
        (16, "16"),
        (["vfio-pci", "pci-stub"], "vfio-pci, pci-stub"),
        ([], "none"),
    ],
)
def test_facts_read_as_plain_values(value: Any, shown: str) -> None:
    """A fact in the details tree reads as the operator says it, not as Python's repr."""
    from workbench.ui.screens.details import fact_value

    assert fact_value(value) == shown


async def test_listed_devices_are_named_by_bdf_and_name(
    make_app: Callable[..., Any], make_root: Callable[..., Path]
) -> None:
    """In pci.gpus' details each GPU is a branch named by its address and name, not 0, 1, 2;
    its facts read `isolated: yes`, not `True`."""
    app = make_app(make_root("asrock-z170-gtx960"))
    async with app.run_test(size=(160, 50)) as pilot:
        await until(pilot, lambda: app.probes.report is not None)
        app.show_details("pci.gpus")
        await pilot.pause(0.2)
        tree = app.screen.query_one("#facts", Tree)
        gpus = next(n for n in tree.root.children if str(n.label).startswith("gpus"))
        labels = [str(n.label) for n in gpus.children]
        bdfs = [g["bdf"] for g in app.probes.results["pci.gpus"].facts["gpus"]]
        assert [label.split()[0] for label in labels] == bdfs
        assert all(len(label.split()) > 1 for label in labels)  # and the card's name
        shown = screen_text(app)
        assert "True" not in shown and "False" not in shown and "'" not in shown


WIDGET_CALLS = {"update", "add_row", "add", "add_leaf", "add_column", "Label", "Static", "Option"}


def test_no_widget_is_handed_formatted_markup() -> None:
    """No widget in workbench/ui is handed an f-string or a formatted str (widgets read str as
    markup, so a formatted one carries machine text into markup): Text from ui.plain instead.
    Notifications are made safe in one place, the app's notify."""
    import ast

    ui = Path(__file__).resolve().parent.parent / "workbench" / "ui"
    offenders = []
    for path in ui.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call):
                continue
            name = node.func.attr if isinstance(node.func, ast.Attribute) else None
            name = name or (node.func.id if isinstance(node.func, ast.Name) else None)
            if name not in WIDGET_CALLS:
                continue
            for arg in node.args:
                formatted = isinstance(arg, ast.JoinedStr) or (
                    isinstance(arg, ast.BinOp) and isinstance(arg.op, ast.Mod | ast.Add)
                )
                if formatted:
                    offenders.append(f"{path.name}:{node.lineno}")
    assert offenders == []


async def test_notifications_show_machine_text_literally(
    make_app: Callable[..., Any], make_root: Callable[..., Path]
) -> None:
    """A notification quoting the machine (a VM name, an error, a PCI driver) is shown as text
    whoever raises it: no markup crash, no action, no escape sequence."""
    app = make_app(make_root("asrock-z170-gtx960"))
    async with app.run_test(size=(160, 30)) as pilot:
        app.notify(f"PCI 0000:01:00.0: bind ({HOSTILE}); checking again", markup=True)
        await pilot.pause(0.3)
        [shown] = list(app._notifications)
        assert shown.message == f"PCI 0000:01:00.0: bind ({SHOWN}); checking again"
        assert shown.markup is False  # even when the caller asked for markup
        assert app.is_running


async def test_ctrl_c_says_which_key_quits_in_plain_words(
    make_app: Callable[..., Any], make_root: Callable[..., Path]
) -> None:
    """Ctrl+C does not quit: it says the key that does, as words (no raw markup shown)."""
    app = make_app(make_root("asrock-z170-gtx960"))
    async with app.run_test(size=(160, 30)) as pilot:
        await pilot.press("ctrl+c")
        await pilot.pause(0.3)
        [shown] = list(app._notifications)
        assert shown.message in ("Press ctrl+q to quit the app", "Press q to quit the app")
        assert app.is_running


async def test_a_capture_named_with_markup_titles_literally(
    make_app: Callable[..., Any], make_root: Callable[..., Path]
) -> None:
    """The title names the capture file as the operator named it: shown as text, escaped."""
    app = make_app(make_root("asrock-z170-gtx960"), title=f"Workbench — capture {HOSTILE}.tgz")
    async with app.run_test(size=(160, 30)) as pilot:
        await pilot.pause(0.2)
        assert f"capture {SHOWN}.tgz" in screen_text(app)
