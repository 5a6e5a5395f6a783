"""Notebook HTML shows terminal controls from hostile input escaped (`\\x1b`), as the CLI and
the TUI do: the fleet table, and every repr through workbench.api.html.text."""

from __future__ import annotations

import json
from html import unescape
from pathlib import Path

import pytest

import workbench
from tests.conftest import load_facts
from workbench.api.html import text
from workbench.machines import build_root

CONTROLS = "gpu\x1b[31mred\x07bell\rcr\nlf"
SHOWN = "gpu\\x1b[31mred\\x07bell\\x0dcr\\x0alf"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (CONTROLS, SHOWN),
        ("<b>\x1b]0;title\x07</b>", "&lt;b&gt;\\x1b]0;title\\x07&lt;/b&gt;"),
        ("a\u202eb", "a\\u202eb"),  # a bidirectional override: shown, never obeyed
        (None, ""),
        ("plain & simple", "plain &amp; simple"),
    ],
)
def test_text_escapes_html_and_controls(value: object, expected: str) -> None:
    """text() escapes HTML and shows each control character as an escape."""
    assert text(value) == expected


def test_text_multiline_keeps_newlines_only() -> None:
    """multiline keeps LF (for <pre> blocks) and still escapes ESC and CR."""
    assert text("a\nb\x1b\r", multiline=True) == "a\nb\\x1b\\x0d"


def test_fleet_html_escapes_controls_in_file_names(tmp_path: Path) -> None:
    """A machine root whose folder name holds ESC, BEL, CR and LF: the fleet's HTML shows them
    escaped, with no raw control character anywhere in it."""
    root = build_root(load_facts("asrock-z170-gtx960"), tmp_path / CONTROLS)
    html = workbench.fleet([root])._repr_html_()
    assert SHOWN in html
    assert not any(ch in html for ch in "\x1b\x07\r\n")


def test_report_facts_block_keeps_its_lines(tmp_path: Path) -> None:
    """A probe's facts stay a readable multi-line <pre> block of JSON (which escapes its own
    strings), not one line of `\\x0a`."""
    root = build_root(load_facts("asrock-z170-gtx960"), tmp_path / "root")
    html = workbench.diagnose(root=root, only=["pci.gpus"])["pci.gpus"]._repr_html_()
    pre = html.split("<pre>", 1)[1].split("</pre>", 1)[0]
    assert "\n" in pre and "\\x0a" not in pre
    assert "0000:01:00.0" in [g["bdf"] for g in json.loads(unescape(pre))["gpus"]]
