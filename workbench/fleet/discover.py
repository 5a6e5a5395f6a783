"""Paths named to `workbench fleet` -> the machines in them."""

from __future__ import annotations

from pathlib import Path

from workbench.fleet.model import FleetEntry


def discover(paths: list[str | Path]) -> tuple[list[FleetEntry], list[str]]:
    """The machines in `paths` (files and directories: captures, sosreports as archives or
    directories, `sos collect` bundles), and what was passed over (said, never silent).
    Stub: the fleet engineer implements it."""
    raise NotImplementedError
