"""The fleet in the TUI: `FleetApp` (machines x probes, a glyph per status, a row per
machine), enter opens that machine's workbench (read only), `FleetWorkbenchApp` returns on
escape. `run_fleet_ui` alternates the two until the fleet is quit."""
