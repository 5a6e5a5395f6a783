"""Many machines side by side: captures, sosreports and `sos collect` bundles, each opened and
probed in its own process (bounded memory), shown as one table (`workbench fleet PATH ...`,
the TUI, Jupyter) and as `workbench.fleet/1` JSON.

- `model.py`: FleetEntry (a machine to open), FleetMachine (its result), Fleet (all of them,
  `to_dict()` = the workbench.fleet/1 document).
- `discover.py`: paths -> entries (a directory of captures and reports, a bundle's nested
  reports), by content, never by name.
- `run.py`: entries -> Fleet, in parallel worker processes.
"""
