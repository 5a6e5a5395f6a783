"""The display chooser (`v`, `f`) says why at once: on a sosreport its display is not in the
recording; in the live demo Enter on an unavailable alternative says why it is unavailable."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import DataTable

from tests.test_ui_snapshots import domains_loaded, select_vm, settle
from workbench.ui.screens.modals import FallbackScreen


def said(app: Any) -> list[str]:
    return [str(n.message) for n in app._notifications]


async def test_enter_on_an_unavailable_display_says_why(
    make_app: Callable[..., Any], demo_env: Any
) -> None:
    """Live demo: Enter on looking-glass (unavailable) names why, and the chooser stays."""
    app = make_app(demo_env.root, demo_env.uri)
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot, lambda: domains_loaded(pilot))
        await pilot.press("v")
        await select_vm(pilot, "win11-gaming")
        await pilot.press("f")
        await settle(pilot, lambda: isinstance(app.screen, FallbackScreen))
        await pilot.press("home", "enter")
        await settle(pilot, lambda: any("unavailable" in s for s in said(app)))
        assert any(s.startswith("looking-glass is unavailable: ") for s in said(app))
        assert isinstance(app.screen, FallbackScreen)
        assert "win11-gaming" not in app.virt.display_choice


async def test_a_sosreports_display_is_not_in_the_recording(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`demo --sos`: f on a VM says at once that its display is not in this recording."""
    from workbench.demo_sos import cached_sos
    from workbench.target import open_target
    from workbench.ui.app import WorkbenchApp
    from workbench.ui.config import UiConfig

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    with open_target(sos=str(cached_sos())) as target:
        app = WorkbenchApp(UiConfig.from_target(target, allow_actions=False))
        async with app.run_test(size=(120, 30)) as pilot:
            await settle(pilot, lambda: len(app.virt.domains) > 0)
            await pilot.press("v")
            await settle(pilot, lambda: app.screen.query_one("#domains", DataTable).row_count > 0)
            await pilot.press("f")
            await settle(pilot, lambda: bool(said(app)), timeout_s=2)
            assert any("not in this recording" in s for s in said(app)), said(app)
            assert not any("not loaded yet" in s for s in said(app))
