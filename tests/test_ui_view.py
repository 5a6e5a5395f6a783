"""`workbench view`: the merged timeline's keys, driven by Textual's Pilot on real files."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from textual.containers import VerticalScroll
from textual.widgets import Static

from tests.view_helpers import make_view, merged, write_logs
from workbench.ui.widgets.merged_view import MergedView


def view_of(app: Any) -> MergedView:
    return app.screen.query_one(MergedView)


def shown(app: Any) -> str:
    """The cursor row's text."""
    view = view_of(app)
    row = view.row_at(view.cursor)
    assert row is not None
    return view.timeline.shown(row)


async def test_lines_interleave_by_time(tmp_path: Path) -> None:
    """Journal and QEMU lines alternate by time, each marked with its source."""
    app = make_view(*write_logs(tmp_path))
    async with app.run_test(size=(120, 30)) as pilot:
        await merged(pilot)
        timeline = view_of(app).timeline
        labels = [timeline.label(r) for r in range(len(timeline))]
        assert labels[:4] == ["journal.json", "qemu.log", "journal.json", "qemu.log"]
        assert len(timeline) == 11


async def test_top_bottom_and_lines(tmp_path: Path) -> None:
    """g goes to the first row, G to the last, j/k one down/up."""
    app = make_view(*write_logs(tmp_path))
    async with app.run_test(size=(120, 30)) as pilot:
        await merged(pilot)
        view = view_of(app)
        assert view.cursor == 10  # following: the last row
        await pilot.press("g")
        assert view.cursor == 0
        await pilot.press("j", "j")
        assert view.cursor == 2
        await pilot.press("k")
        assert view.cursor == 1
        await pilot.press("G")
        assert view.cursor == 10 and view.follow


async def test_space_and_b_page(tmp_path: Path) -> None:
    """Space pages down and b pages up by a screen."""
    app = make_view(*write_logs(tmp_path, lines=100))
    async with app.run_test(size=(100, 24)) as pilot:
        await merged(pilot)
        view = view_of(app)
        await pilot.press("g", "space")
        assert view.cursor == view.size.height - 1
        await pilot.press("b")
        assert view.cursor == 0


async def test_search_highlights_and_n_N(tmp_path: Path) -> None:
    """/ finds the next hit after the cursor and highlights it; n and N go to the next and
    previous hit."""
    app = make_view(*write_logs(tmp_path))
    async with app.run_test(size=(120, 30)) as pilot:
        await merged(pilot)
        await pilot.press("g", "slash", *"qemu line", "enter")
        await pilot.pause(0.2)
        assert "qemu line 0" in shown(app)
        assert view_of(app).pattern is not None
        await pilot.press("n")
        await pilot.pause(0.2)
        assert "qemu line 1" in shown(app)
        await pilot.press("N")
        await pilot.pause(0.2)
        assert "qemu line 0" in shown(app)


async def test_ampersand_filters_and_escape_clears(tmp_path: Path) -> None:
    """& narrows to the matching lines; Escape shows every line again."""
    app = make_view(*write_logs(tmp_path))
    async with app.run_test(size=(120, 30)) as pilot:
        await merged(pilot)
        await pilot.press("ampersand", *"journal", "enter")
        await pilot.pause(0.3)
        view = view_of(app)
        assert view.count() == 5
        assert all(view.timeline.label(view.row_at(i) or 0) == "journal.json" for i in range(5))
        await pilot.press("escape")
        await pilot.pause(0.1)
        assert view.count() == 11


async def test_e_E_errors_and_w_W_warnings(tmp_path: Path) -> None:
    """e/E go to the next/previous error, w/W to the next/previous warning."""
    app = make_view(*write_logs(tmp_path))
    async with app.run_test(size=(120, 30)) as pilot:
        await merged(pilot)
        await pilot.press("g", "e")
        assert "journal line 2" in shown(app)
        await pilot.press("w")
        assert "journal line 3" in shown(app)
        await pilot.press("G", "W")
        assert "journal line 3" in shown(app)
        await pilot.press("E")
        assert "journal line 2" in shown(app)


async def test_wrap_and_sideways(tmp_path: Path) -> None:
    """Right scrolls the line sideways (the source stays), ctrl+w wraps it instead."""
    app = make_view(*write_logs(tmp_path))
    async with app.run_test(size=(60, 24)) as pilot:
        await merged(pilot)
        view = view_of(app)
        await pilot.press("right", "right")
        assert view.column == 16
        await pilot.press("ctrl+w")
        assert view.wrap and view.column == 0


async def test_detail_explains_and_takes_focus(tmp_path: Path) -> None:
    """The explained row is marked; its detail names the cause, and d focuses the pane."""
    app = make_view(*write_logs(tmp_path))
    async with app.run_test(size=(120, 30)) as pilot:
        await merged(pilot)
        view = view_of(app)
        assert 10 in view.timeline.explained
        await pilot.press("k", "j")
        await pilot.pause(0.1)
        text = str(app.screen.query_one("#detail-text", Static).render())
        assert "GROUP_MEMBER_NOT_VFIO" in text and "remedy:" in text
        await pilot.press("d")
        assert app.screen.query_one("#detail", VerticalScroll).has_focus


async def test_follow_shows_new_lines(tmp_path: Path) -> None:
    """A line appended to a source appears at the end, the cursor on it."""
    journal, qemu = write_logs(tmp_path)
    app = make_view(journal, qemu)
    async with app.run_test(size=(120, 30)) as pilot:
        await merged(pilot)
        with qemu.open("a") as f:
            f.write("2025-11-29T09:00:00.000000Z qemu-system-x86_64: a new line\n")
        for _ in range(40):
            await pilot.pause(0.05)
            if view_of(app).count() == 12:
                break
        assert "a new line" in shown(app)


async def test_logs_screen_has_the_less_keys(
    make_app: Callable[..., Any], make_root: Callable[..., Path]
) -> None:
    """The workbench's log screen (`l`) takes g/G, j/k and space/b too."""
    from workbench.ui.widgets.log_view import LogView

    app = make_app(make_root("asrock-z170-gtx960"))
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.press("l", "enter")  # picker: our log alone
        view = app.screen.query_one(LogView)
        for _ in range(100):
            if view._count() == 41:
                break
            await pilot.pause(0.05)
        await pilot.press("g")
        assert view.cursor == 0
        await pilot.press("j", "j", "k")
        assert view.cursor == 1
        await pilot.press("space")
        assert view.cursor == 21
        await pilot.press("b")
        assert view.cursor == 1
        await pilot.press("G")
        assert view.cursor == 40


PEER = Path(__file__).resolve().parents[1] / ".." / "shared" / "peer-data" / "lnav"


async def test_lnav_journald_file_has_levels_and_times(tmp_path: Path) -> None:
    """lnav's journald test file: PRIORITY 1 is critical (e finds it); its two records (the
    last without a newline) sit between a QEMU log's lines by __REALTIME_TIMESTAMP."""
    journald = PEER / "logfile_journald.json"
    if not journald.exists():
        pytest.skip("peer-data/lnav not present")
    qemu = tmp_path / "qemu.log"
    qemu.write_text(
        "2018-08-21T14:04:20.000000Z qemu-system-x86_64: before them\n"
        "2018-08-21T14:04:22.000000Z qemu-system-x86_64: after them\n"
    )
    app = make_view(journald, qemu)
    async with app.run_test(size=(120, 30)) as pilot:
        await merged(pilot)
        timeline = view_of(app).timeline
        assert [timeline.label(r) for r in range(len(timeline))] == [
            "qemu.log",
            "logfile_journald.json",
            "logfile_journald.json",
            "qemu.log",
        ]
        await pilot.press("g", "e")
        assert view_of(app).cursor == 1  # the first record's PRIORITY 1 (alert)


async def test_hostile_lines_are_shown_escaped(tmp_path: Path) -> None:
    """Escape sequences and Rich markup in a line (and in a file's name) reach the screen as
    text: escaped, never interpreted."""
    hostile = tmp_path / "evil\x1b[2Jname.log"
    hostile.write_text("2025-11-29T08:00:00Z \x1b]0;owned\x07 [bold red]not markup[/] \x1b[31m\n")
    app = make_view(hostile)
    async with app.run_test(size=(120, 30)) as pilot:
        await merged(pilot)
        line = "".join(s.text for s in view_of(app).render_line(0))
        assert "\x1b" not in line and "\\x1b" in line
        assert "[bold red]not markup[/]" in line


async def test_F_pauses_and_resumes_following(tmp_path: Path) -> None:
    """F pauses the follow (the cursor stays as lines arrive), F again jumps to the end."""
    journal, qemu = write_logs(tmp_path)
    app = make_view(journal, qemu)
    async with app.run_test(size=(120, 30)) as pilot:
        await merged(pilot)
        view = view_of(app)
        await pilot.press("F")
        assert not view.follow
        with qemu.open("a") as f:
            f.write("2025-11-29T09:00:00.000000Z qemu-system-x86_64: while paused\n")
        for _ in range(40):
            await pilot.pause(0.05)
            if view.count() == 12:
                break
        assert view.cursor == 10  # stayed
        await pilot.press("F")
        assert view.follow and view.cursor == 11


async def test_left_and_a_bad_pattern(tmp_path: Path) -> None:
    """left scrolls back (not past the start); a bad regular expression is said, not applied,
    and escape closes the box."""
    app = make_view(*write_logs(tmp_path))
    async with app.run_test(size=(80, 24)) as pilot:
        await merged(pilot)
        view = view_of(app)
        await pilot.press("right", "left", "left")
        assert view.column == 0
        await pilot.press("slash", *"(unclosed", "enter")
        await pilot.pause(0.1)
        assert view.pattern is None
        await pilot.press("escape")
        assert view.has_focus


async def test_wrap_keeps_the_followed_end_in_view(tmp_path: Path) -> None:
    """Wrapping while following at the end: the last row is still on the screen, whole."""
    app = make_view(*write_logs(tmp_path))
    async with app.run_test(size=(60, 24)) as pilot:
        await merged(pilot)
        view = view_of(app)
        await pilot.press("ctrl+w")
        await pilot.pause(0.1)
        screen = "".join(
            "".join(s.text for s in view.render_line(y)) for y in range(view.size.height)
        )
        assert "group 8 is not viable" in screen


async def test_follow_survives_rotation_and_truncation(tmp_path: Path) -> None:
    """A rotated log (renamed, a new file in its place) and a truncated one are followed on:
    their new lines appear; rows from before a truncation say they are gone."""
    journal, qemu = write_logs(tmp_path)
    app = make_view(journal, qemu)
    async with app.run_test(size=(120, 30)) as pilot:
        await merged(pilot)
        view = view_of(app)

        async def until_rows(count: int) -> None:
            for _ in range(60):
                await pilot.pause(0.05)
                if view.count() == count:
                    return

        qemu.rename(tmp_path / "qemu.log.1")
        qemu.write_text("2025-11-29T09:00:00.000000Z qemu-system-x86_64: after rotation\n")
        await until_rows(12)
        assert "after rotation" in shown(app)
        journal.write_text(
            '{"__REALTIME_TIMESTAMP": "1764406800000000", "MESSAGE": "after truncation"}\n'
        )
        await until_rows(13)
        assert "after truncation" in shown(app)
        assert "gone" in view.timeline.shown(0)  # journal line 0, before the truncation
        assert "qemu line 0" in view.timeline.shown(1)  # the rotated file's rows stay


async def test_a_catastrophic_pattern_is_refused(tmp_path: Path) -> None:
    """`/(a+)+$` (exponential backtracking, which would hold the UI) is refused with a reason;
    the view keeps answering keys."""
    app = make_view(*write_logs(tmp_path))
    async with app.run_test(size=(80, 24)) as pilot:
        await merged(pilot)
        await pilot.press("ampersand", *"(a+)+$", "enter")
        await pilot.pause(0.1)
        view = view_of(app)
        assert view.rows is None and view.pattern is None
        await pilot.press("escape", "g")
        assert view.cursor == 0


async def test_filter_on_empty_files_takes_the_lines_that_come(tmp_path: Path) -> None:
    """`&` on sources with no line yet: the matching lines written afterwards are shown."""
    log = tmp_path / "empty.log"
    log.write_text("")
    app = make_view(log)
    async with app.run_test(size=(80, 24)) as pilot:
        await merged(pilot)
        await pilot.press("ampersand", *"keep", "enter")
        await pilot.pause(0.1)
        with log.open("a") as f:
            f.write("2025-11-29T08:00:00Z drop this\n2025-11-29T08:00:01Z keep this\n")
        view = view_of(app)
        for _ in range(60):
            await pilot.pause(0.05)
            if view.count() == 1:
                break
        assert view.count() == 1 and "keep this" in shown(app)


async def test_a_source_that_stops_is_said(tmp_path: Path) -> None:
    """A .gz whose end is corrupt: why its decoding stopped is said once, as a notification."""
    import gzip

    from workbench.ui.view.app import ViewApp
    from workbench.ui.view.filesource import FileSource
    from workbench.ui.view.spool import Spool
    from workbench.ui.view.timeline import Timeline

    good = gzip.compress(b"2025-11-29T08:00:01.000000Z qemu-system-x86_64: before the damage\n")
    bad = tmp_path / "broken.log.gz"
    bad.write_bytes(good[:-8] + b"\xff" * 8)  # its CRC and length are wrong
    spool = Spool()
    copy = spool.decoded(str(bad))
    assert copy is not None
    app = ViewApp(Timeline([FileSource(copy, "broken.log", growing=True)]), spool.problems)
    try:
        async with app.run_test(size=(100, 24)) as pilot:
            for _ in range(100):
                said = [str(n.message) for n in app._notifications]
                if said:
                    break
                await pilot.pause(0.05)
            assert len(said) == 1 and "broken.log.gz" in said[0], said
    finally:
        app.timeline.close()
        spool.close()
