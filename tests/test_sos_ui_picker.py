"""`l` on a sosreport: the report's own logs are offered first; our log is this computer's."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import SelectionList

from workbench.ui.screens.logpicker import LogPickerScreen

HOTSOS = Path(__file__).resolve().parents[2] / "shared/peer-data/hotsos-openstack"


@pytest.mark.skipif(not HOTSOS.is_dir(), reason="../shared/peer-data absent")
async def test_picker_on_a_report_ticks_its_kernel_log_not_ours(
    make_app: Callable[..., Any],
) -> None:
    """On a sosreport the picker ticks the report's kernel log, and says our log is this
    computer's, never the report's (it would merge the engineer's own runs into the case)."""
    from tests.test_ui_view_picker import until
    from workbench.target import open_target

    with open_target(sos=HOTSOS) as target:
        app = make_app(target.host.root, None, local_log=True)
        async with app.run_test(size=(120, 30)) as pilot:
            await until(pilot, lambda: len(app.virt.domains) == 1)
            await pilot.press("l")
            await until(pilot, lambda: isinstance(app.screen, LogPickerScreen))
            said = {c.label: c.what for c in app.screen.choices}
            assert "of this computer (not the report's)" in said["workbench"]
            assert "not recorded" not in said["kernel"]
            assert "not recorded" not in said["qemu:instance-00000001"]
            picker = app.screen.query_one(SelectionList)
            kernel = [c.label for c in app.screen.choices].index("kernel")
            assert picker.selected == [kernel]


def test_the_config_of_a_report_marks_our_log_local() -> None:
    """UiConfig.from_target on a sosreport: our log is local; on a capture or live it is not."""
    from workbench.target import open_target
    from workbench.ui.config import UiConfig

    if not HOTSOS.is_dir():
        pytest.skip("../shared/peer-data absent")
    with open_target(sos=HOTSOS) as target:
        assert UiConfig.from_target(target).local_log is True
    with open_target(root="/") as target:
        assert UiConfig.from_target(target).local_log is False
