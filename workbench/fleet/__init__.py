"""Many machines side by side: captures, sosreports and `sos collect` bundles, each opened and
probed in its own process (bounded memory), shown as one table (`workbench fleet PATH ...`,
the TUI, Jupyter) and as `workbench.fleet/1` JSON.

- `model.py`: FleetEntry (a machine to open), FleetMachine (its result), Fleet (all of them,
  `to_dict()` = the workbench.fleet/1 document).
- `discover.py`: paths -> entries (a directory of captures and reports, a bundle's nested
  reports), by content, never by name.
- `run.py`: entries -> Fleet, in parallel worker processes (`probe_entry`: one machine, the
  one way a machine is probed, by the fleet and by `fleet --compare` alike).
- `pool.py`: the worker processes (a concurrent.futures pool that survives a dead worker:
  that machine's error row, the rest in a new pool; none at all: the caller probes in itself).
- `index.py`, `fingerprint.py`: the fleet index on disk (one archive's result per file, keyed
  by the archive's sha256 and the code that judges it), so a re-run opens only what changed.
- `machine.py`: the facts `--compare` sets side by side (`fill`, `compared_facts`) and
  `open_fleet` (discover + run_fleet), the one entry point of the CLI, the API and the TUI.

The package is also callable: `workbench.fleet(paths)` is `workbench.api.fleet(paths)`, the
notebook view (as `workbench.logs(path)`).
"""

from __future__ import annotations

import sys
import types
from pathlib import Path
from typing import Any


class _CallableModule(types.ModuleType):
    def __call__(
        self, paths: str | Path | list[str | Path], index: bool = True, workers: int | None = None
    ) -> Any:
        from workbench.api import fleet

        return fleet(paths, index=index, workers=workers)


sys.modules[__name__].__class__ = _CallableModule
