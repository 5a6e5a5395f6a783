"""`workbench.explain_logs(...)`: the causes as `workbench explain --json` finds them, a cause
by its code, and a table in Jupyter whose cells are escaped (log lines are hostile input)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import workbench
from tests.conftest import run_cli
from workbench.demo import demo_facts

CAUSE = "GROUP_MEMBER_NOT_VFIO"


@pytest.fixture
def logs(tmp_path: Path) -> list[Path]:
    """The demo's boot and media-server's QEMU log, as `demo --write` writes them."""
    facts = demo_facts()
    kernel, qemu = tmp_path / "kernel.log", tmp_path / "qemu-media-server.log"
    kernel.write_text("".join(f"{line}\n" for line in facts["kernel_log"]))
    qemu.write_text("".join(f"{line}\n" for line in facts["qemu_logs"]["media-server"]))
    return [kernel, qemu]


def test_it_finds_what_the_command_finds(logs: list[Path]) -> None:
    """Same document as `workbench explain FILE ... --json`; the cause by its code."""
    view = workbench.explain_logs(*logs)
    cli = json.loads(run_cli("explain", *map(str, logs), "--json").stdout)
    assert view.to_dict() == cli
    assert view.found and view[CAUSE].confidence == pytest.approx(0.75)
    assert "Bind every device of the group" in view[CAUSE].remedy
    with pytest.raises(KeyError):
        view["NO_SUCH_CAUSE"]


def test_the_kernel_log_alone_is_suggestive(logs: list[Path]) -> None:
    """Its driver lines alone: no cause, one suggestive, said in the text repr."""
    view = workbench.explain_logs(logs[0])
    assert not view.found and view.causes == []
    assert [c.code for c in view.suggestive] == [CAUSE]
    assert "suggestive (the machine's facts decide)" in repr(view)


def test_the_table_escapes_the_lines(tmp_path: Path) -> None:
    """A line holding HTML and a terminal escape is shown as text in the table."""
    log = tmp_path / "hostile.log"
    log.write_text(
        "qemu: vfio 0000:01:00.0: group 1 is not viable <script>alert(1)</script>\x1b[2J\n"
    )
    html = workbench.explain_logs(log)._repr_html_()
    assert "wb-explain" in html and "<script>" not in html
    assert "&lt;script&gt;" in html and "\x1b" not in html


def test_one_machine_at_a_time(logs: list[Path], tmp_path: Path) -> None:
    """Two machines, or nothing to read at all, are refused before anything is read."""
    with pytest.raises(ValueError, match="one of root, capture or sos"):
        workbench.explain_logs(*logs, root=tmp_path, sos=tmp_path)
    with pytest.raises(ValueError, match="give log files"):
        workbench.explain_logs()
