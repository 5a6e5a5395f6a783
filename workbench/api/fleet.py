"""`workbench.fleet(paths)`: many machines side by side in a notebook (an HTML table, every
value escaped) or a REPL (text), and `to_dict()` (workbench.fleet/1)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from workbench.api.html import badge, table, text
from workbench.fleet.model import Fleet, FleetMachine


class FleetView:
    """The machines of a fleet and each probe's status on them."""

    def __init__(self, fleet: Fleet) -> None:
        self.fleet = fleet

    @classmethod
    def open(
        cls, paths: str | Path | list[str | Path], index: bool = True, workers: int | None = None
    ) -> FleetView:
        from workbench.fleet.machine import open_fleet

        named = [paths] if isinstance(paths, str | Path) else list(paths)
        return cls(open_fleet(named, index=index, workers=workers))

    @property
    def machines(self) -> list[FleetMachine]:
        return self.fleet.machines

    def probe_ids(self) -> list[str]:
        """Every probe of any machine, in the order first seen."""
        return self.fleet.probe_ids()

    def __getitem__(self, name: str) -> FleetMachine:
        for machine in self.machines:
            if machine.name == name:
                return machine
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        return self.fleet.to_dict()

    def __repr__(self) -> str:
        from workbench.core.text import safe_text

        lines = [f"{len(self.machines)} machine(s)"]
        for m in self.machines:
            what = safe_text(m.error.get("message", "")) if m.error else safe_text(m.summary)
            lines.append(f"  {safe_text(m.name):<24} {what}")
        lines += [f"  passed over: {safe_text(p)}" for p in self.fleet.problems]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        probes = self.probe_ids()
        rows = []
        for m in self.machines:
            if m.error is not None:
                cells = [f"<i>not opened: {text(m.error.get('message'))}</i>"] + [""] * len(probes)
            else:
                cells = [
                    badge(m.statuses[p]) if p in m.statuses else "not recorded" for p in probes
                ]
                cells.append(text(", ".join(m.causes)))
            rows.append([f"<b>{text(m.name)}</b><br><small>{text(m.source)}</small>", *cells])
        html = table(["machine", *probes, "causes"], rows, cls="wb-fleet")
        if self.fleet.problems:
            items = "".join(f"<li>{text(p)}</li>" for p in self.fleet.problems)
            html += f"<p>passed over:</p><ul>{items}</ul>"
        return html
