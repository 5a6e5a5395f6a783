"""Every sos plugin a probe's hint names on a sosreport is in the command the report says to ask
for (issue 18: host.cgroups named the filesys plugin, missing from `sos report -o ...`)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import run_cli
from workbench.sos.reportfiles import collected_by

_NAMED = re.compile(r"\bthe ([a-z_]+) plugin\b")
_ASKED = re.compile(r"(?:sos report -o |`-o )([a-z_]+(?:,[a-z_]+)*)")


def texts(value: Any) -> list[str]:
    """Every string in a JSON document."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [t for v in value.values() for t in texts(v)]
    if isinstance(value, list):
        return [t for v in value for t in texts(v)]
    return []


def plugins_named(doc: dict[str, Any]) -> set[str]:
    """The plugins the probes' words name (`the X plugin`, `sos report -o A,B`)."""
    words = texts(doc["probes"])
    named = {m for t in words for m in _NAMED.findall(t)}
    return named | {p for t in words for m in _ASKED.findall(t) for p in m.split(",")}


@pytest.fixture
def bare_report(tmp_path: Path) -> Path:
    """A sosreport of nothing but its version: every probe's hint says what would record it."""
    top = tmp_path / "sosreport-bare"
    (top / "sos_commands").mkdir(parents=True)
    (top / "version.txt").write_text("sosreport: 4.8.1\n")
    return top


def test_every_plugin_a_hint_names_is_asked_for(bare_report: Path) -> None:
    """On a report lacking everything, the plugins the hints name (filesys for /proc/mounts,
    cgroups for the controllers, processor, memory, ...) are all in `sos_ask_for`."""
    doc = json.loads(run_cli("probe", "--sos", str(bare_report), "--json").stdout)
    ask_for = doc["host"]["sos_ask_for"]
    assert ask_for.startswith("sos report -o ")
    asked = set(ask_for.removeprefix("sos report -o ").split(","))
    named = plugins_named(doc)
    assert {"filesys", "pci", "kernel", "processor", "memory"} <= named  # the test sees hints
    assert named <= asked, named - asked
    cgroups = next(p for p in doc["probes"] if p["id"] == "host.cgroups")
    assert "the filesys plugin" in cgroups["summary"] and "filesys" in asked
    assert "cgroups" in asked  # the controllers under /sys/fs/cgroup


def test_a_hint_cannot_name_a_plugin_it_does_not_ask_for() -> None:
    """`collected_by` refuses a plugin missing from the asked-for list: the mismatch is
    caught where a hint is written, not by a customer."""
    assert "the filesys plugin: sos report -o " in collected_by("filesys")
    with pytest.raises(ValueError, match="not in the sos plugins asked for"):
        collected_by("networking")
