"""Which virtualization-related processes run, and as whom (live: psutil; recorded: manifest)."""

from __future__ import annotations

from typing import Any

from workbench.core.host import Host


def process_facts(host: Host, names: tuple[str, ...]) -> list[dict[str, Any]] | None:
    """[{pid, name, user}] for processes whose name starts with one of `names`; None if unknown."""
    found = host.processes(names)
    if found is None:
        return None
    return [{"pid": p.pid, "name": p.name, "user": p.user} for p in found]
