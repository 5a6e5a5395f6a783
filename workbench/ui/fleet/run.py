"""`workbench fleet PATH` on a terminal: the fleet table, a machine's workbench, and back."""

from __future__ import annotations

from workbench.fleet.model import Fleet


def run_fleet_ui(fleet: Fleet) -> int:
    """The table until quit; each machine opened runs its workbench, then the table again
    (the cursor where it was)."""
    from workbench.ui.fleet.app import FleetApp
    from workbench.ui.fleet.machine import FleetWorkbenchApp
    from workbench.ui.terminal import driver_class

    cursor = 0
    while True:
        app = FleetApp(fleet, cursor=cursor, driver_class=driver_class())
        app.run()
        if app.opened is None:
            return app.return_code or 0
        cursor = app.cursor
        with app.opened.stack:
            FleetWorkbenchApp(app.opened.config, driver_class=driver_class()).run()
