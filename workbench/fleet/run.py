"""Opening and probing every machine of a fleet, in worker processes."""

from __future__ import annotations

from workbench.fleet.model import Fleet, FleetEntry


def run_fleet(entries: list[FleetEntry], workers: int | None = None) -> Fleet:
    """Each entry opened (open_target) and probed (run_probes) in its own worker process, at
    most `workers` at once (default: the CPU count); a machine that cannot be opened is a
    FleetMachine with `error`, never the fleet's failure. Stub: the fleet engineer implements
    it."""
    raise NotImplementedError
