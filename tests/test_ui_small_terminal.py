"""Small terminals (Pilot sizes 80x24 and 40x12) on the demo: the overview's selected probe in
full on a wrapping verdict line, the VMs' why pane reachable with `w` (the footer names it)
down to the remedy; a fact's evidence shows its file, never `: 0`; the catalogue's remedy for a
card's missing functions speaks of an iGPU only as one."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual.widgets import Static
from textual.widgets._footer import FooterKey

from tests.test_ui_pilot import screen_text
from tests.test_ui_snapshots import domains_loaded, select_vm, settle
from workbench.explain.catalogue import catalogue
from workbench.ui.causes import evidence_lines

TITLE = "Another device of the IOMMU group is on a host driver"


def flat(text: str) -> str:
    """The screen's words with its line breaks (and the wrap of a long line) as single spaces."""
    return " ".join(text.split())


async def test_overview_at_80x24_shows_the_selected_cause_whole(
    make_app: Callable[..., Any], demo_env: Any
) -> None:
    """Opened with no key pressed, the cursor is on the first failure with a cause (kernel.log:
    its boot lines with the machine's bindings name it): the verdict line under the table holds
    its whole cause title, its status and the key to its details."""
    app = make_app(demo_env.root, demo_env.uri)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, lambda: domains_loaded(pilot))
        line = app.screen.query_one("#verdict", Static)
        await settle(pilot, lambda: "kernel.log" in str(line.render()))
        shown = flat(str(line.render()))
        assert f"kernel.log fail · cause: {TITLE}" in shown
        assert "enter: details and remedy" in shown
        assert TITLE in flat(screen_text(app))  # drawn, not clipped


async def test_overview_at_40x12_shows_a_verdict(
    make_app: Callable[..., Any], demo_env: Any
) -> None:
    """At 40x12 the table's Verdict column is off screen; the verdict line says the selected
    probe's status and verdict (the first row's, once the operator has moved the cursor)."""
    app = make_app(demo_env.root, demo_env.uri)
    async with app.run_test(size=(40, 12)) as pilot:
        await settle(pilot, lambda: domains_loaded(pilot))
        assert "kernel.log fail" in flat(screen_text(app))
        await pilot.press("ctrl+home")  # the table's first row
        await pilot.pause(0.1)
        result = app.probes.results["cpu.virtualization"]
        shown = flat(screen_text(app))
        assert f"cpu.virtualization {result.status}" in shown
        assert flat(result.summary)[:20] in shown


async def test_vms_at_80x24_why_and_remedy_reachable(
    make_app: Callable[..., Any], demo_env: Any
) -> None:
    """The VMs screen shows why media-server did not start; the footer offers `w`, which
    gives the why pane the keys: paging down it reaches the remedy."""
    app = make_app(demo_env.root, demo_env.uri)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, lambda: domains_loaded(pilot) and "media-server" in app.virt.failures)
        await pilot.press("v")
        await select_vm(pilot, "media-server")
        await settle(pilot, lambda: "Why media-server" in screen_text(app))
        assert TITLE[:40] in flat(screen_text(app))
        footer = {k.key_display: k.description for k in app.screen.query(FooterKey)}
        assert footer.get("w") == "Why/remedy"
        await pilot.press("w")
        box = app.screen.query_one("#why-box")
        assert box.has_focus and box.max_scroll_y > 0
        seen = flat(screen_text(app))
        for _ in range(10):
            await pilot.press("pagedown")
            await pilot.pause(0.1)
            seen += flat(screen_text(app))
        assert "→ Bind every device of the group" in seen
        await pilot.press("escape")
        assert app.screen.query_one("#domains").has_focus


async def test_a_facts_evidence_shows_its_file_not_line_zero(
    make_app: Callable[..., Any], demo_env: Any
) -> None:
    """The why pane's evidence: the audio's driver fact under its sysfs path, with no `: 0`."""
    app = make_app(demo_env.root, demo_env.uri)
    async with app.run_test(size=(160, 60)) as pilot:
        await settle(pilot, lambda: domains_loaded(pilot) and "media-server" in app.virt.failures)
        await pilot.press("v")
        await select_vm(pilot, "media-server")
        await settle(pilot, lambda: "Why media-server" in screen_text(app))
        shown = screen_text(app)
        assert "/sys/bus/pci/devices/0000:04:00.1/driver │ " in shown
        assert ": 0 │" not in shown and " 0 │" not in shown
        assert "media-server.log:16 │" in shown  # a log line keeps its number


def test_evidence_lines_number_log_lines_only() -> None:
    """A log line keeps its number; a fact (line 0) its file; a bare fact says `fact`."""
    cause = {
        "evidence": [
            {"line": 12, "text": "logged", "source": "a.log"},
            {"line": 0, "text": "driver: x", "source": "sos_commands/pci/lspci_-nnvv"},
            {"line": 0, "text": "bare"},
        ]
    }
    lines = [t.plain for t in evidence_lines(cause)]
    assert lines[0] == "  a.log:12 │ logged"
    assert lines[1] == "  sos_commands/pci/lspci_-nnvv │ driver: x"
    assert lines[2] == "  fact │ bare"


def test_incomplete_functions_remedy_fits_a_discrete_card() -> None:
    """The remedy leads with the card's functions; x-igd appears only for an integrated GPU
    at 00:02.0."""
    remedy = catalogue().causes["INCOMPLETE_DEVICE_FUNCTIONS"].remedy
    assert remedy.startswith("Pass all functions of the card")
    condition = remedy.index("integrated Intel GPU (00:02.0)")
    assert remedy.index("x-igd") > condition
    assert "iGPU" not in remedy[:condition]
