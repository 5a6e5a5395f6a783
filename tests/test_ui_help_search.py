"""The `?` help made from each screen's bindings (every footer key in it, every key it names
bound); search in the merged logs from the cursor, wrapping round; `e` stops on QEMU's error
line. Driven by Pilot on the demo machine."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual.pilot import Pilot
from textual.widgets import Static
from textual.widgets._footer import FooterKey

from tests.test_ui_snapshots import domains_loaded, settle
from workbench.ui.screens.help import HelpScreen
from workbench.ui.screens.machinelogs import MachineLogsScreen
from workbench.ui.widgets.merged_view import MergedView

VM = "media-server"


async def merged_logs(pilot: Pilot[Any]) -> MachineLogsScreen:
    """The demo's failed start's logs (ticked by the picker) merged."""
    app: Any = pilot.app
    await settle(pilot, lambda: domains_loaded(pilot) and VM in app.virt.failures)
    await pilot.press("l")
    await pilot.pause(0.2)
    await pilot.press("enter")
    await settle(pilot, lambda: isinstance(app.screen, MachineLogsScreen) and app.screen.merged)
    screen = app.screen
    assert isinstance(screen, MachineLogsScreen)
    return screen


async def help_matches_footer(pilot: Pilot[Any]) -> str:
    """Open `?` over the current screen: every footer key is in the help, every key the
    help names is bound on that screen; the help's text."""
    app: Any = pilot.app
    screen = app.screen
    footer = [k.key_display for k in screen.query(FooterKey)]
    bound = {app.get_key_display(a.binding) for a in screen.active_bindings.values()}
    await pilot.press("question_mark")
    await settle(pilot, lambda: isinstance(app.screen, HelpScreen))
    text = str(app.screen.query_one("#help-text", Static).render())
    rows = text.splitlines()
    for key in footer:
        assert any(row.startswith(key + " ") or f" {key} " in row for row in rows), (key, text)
    named = [
        row.split("  ")[0].split()
        for row in rows
        if row and not row.startswith(("Here", "Everywhere", "escape,")) and "  " in row
    ]
    assert named, text
    for keys in named:
        for key in keys:
            assert key in bound, (key, sorted(bound))
    await pilot.press("escape")
    await settle(pilot, lambda: not isinstance(app.screen, HelpScreen))
    return text


async def test_help_of_each_screen_is_its_bindings(
    make_app: Callable[..., Any], demo_env: Any
) -> None:
    """On the overview, the VMs and the merged logs, `?` lists exactly the keys bound there;
    the logs' help names N, &, ^w and d, and no `a: everything`."""
    app = make_app(demo_env.root, demo_env.uri)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot, lambda: domains_loaded(pilot))
        assert "Overview — keys" in await help_matches_footer(pilot)
        await pilot.press("v")
        await settle(pilot, lambda: True)
        assert "Display" in await help_matches_footer(pilot)
        await pilot.press("o")
        await merged_logs(pilot)
        text = await help_matches_footer(pilot)
        assert "Logs — keys" in text
        for key, words in (("N", "Prev hit"), ("&", "Filter"), ("^w", "Wrap"), ("d", "Detail")):
            assert any(r.startswith(key) and words in r for r in text.splitlines()), key
        assert "everything" not in text


async def test_help_scrolls_in_a_small_terminal(
    make_app: Callable[..., Any], demo_env: Any
) -> None:
    """At 40x12 the help is cut by the terminal but scrolls: End brings its last line up."""
    app = make_app(demo_env.root, demo_env.uri)
    async with app.run_test(size=(40, 12)) as pilot:
        await settle(pilot, lambda: domains_loaded(pilot))
        await pilot.press("question_mark")
        await settle(pilot, lambda: isinstance(app.screen, HelpScreen))
        scroll = app.screen.query_one("#help-scroll")
        assert scroll.max_scroll_y > 0 and scroll.has_focus
        await pilot.press("end")
        await settle(pilot, lambda: scroll.scroll_y == scroll.max_scroll_y)
        assert scroll.scroll_y > 0


async def test_search_wraps_from_the_end(make_app: Callable[..., Any], demo_env: Any) -> None:
    """The view opens following (the last line); `/not viable` finds QEMU's line above it,
    saying it wrapped; N from the first line wraps round the bottom to the last hit."""
    app = make_app(demo_env.root, demo_env.uri)
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await merged_logs(pilot)
        view = screen.query_one(MergedView)
        last = view.count() - 1
        assert view.cursor == last
        await pilot.press("slash", *"not viable", "enter")
        await settle(pilot, lambda: view.cursor != last)
        row = view.row_at(view.cursor)
        assert row is not None and "not viable" in view.timeline.shown(row)
        assert any("wrapped" in str(n.message) for n in app._notifications)
        assert not any("no further" in str(n.message) for n in app._notifications)
        await pilot.press("g", "N")  # from the first line back: round the bottom
        await settle(pilot, lambda: view.cursor > 0)
        row = view.row_at(view.cursor)
        assert row is not None and "not viable" in view.timeline.shown(row)
        assert view.cursor == max(
            i for i in range(view.count()) if "not viable" in view.timeline.shown(i)
        )


async def test_e_stops_on_qemus_error_line(make_app: Callable[..., Any], demo_env: Any) -> None:
    """From the first line, `e` visits QEMU's `group 11 is not viable` line (an error QEMU
    states without a level word), before Workbench's own record of the failed start."""
    app = make_app(demo_env.root, demo_env.uri)
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await merged_logs(pilot)
        view = screen.query_one(MergedView)
        await pilot.press("g")
        visited: list[tuple[str, str]] = []
        for _ in range(20):
            before = view.cursor
            await pilot.press("e")
            await pilot.pause(0.05)
            if view.cursor == before:
                break
            row = view.row_at(view.cursor)
            assert row is not None
            visited.append((view.timeline.label(row), view.timeline.shown(row)))
        qemu = [i for i, (label, text) in enumerate(visited) if "not viable" in text]
        assert qemu and visited[qemu[0]][0].startswith("qemu:"), visited
