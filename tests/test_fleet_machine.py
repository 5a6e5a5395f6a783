"""fleet.run.probe_entry: one machine's small record (identity, facts, causes, errors)."""

from __future__ import annotations

from pathlib import Path

from tests.fleet_helpers import HOTSOS, capture_of, needs_hotsos, sos_dir
from workbench.fleet.model import FleetEntry
from workbench.fleet.run import probe_entry


@needs_hotsos
def test_a_sosreport_names_its_host_and_keeps_a_few_facts() -> None:
    """The hotsos slice: its hostname is its identity; GPUs, command line and hugepages are
    kept for comparison."""
    machine = probe_entry(FleetEntry("h", str(HOTSOS), "sos"))
    assert machine.error is None
    assert machine.identity["hostname"]
    assert set(machine.facts) == {"gpus", "cmdline", "hugepages", "modules"}  # compare's facts
    assert isinstance(machine.facts["gpus"], dict)


def test_what_a_record_lacks_is_none_not_a_guess(tmp_path: Path) -> None:
    """A capture of a built root has no machine-id nor DMI serial: they are None (not
    recorded), never an empty string or a made-up value."""
    capture = capture_of("asrock-z170-gtx960", tmp_path, tmp_path / "c.tar.gz")
    machine = probe_entry(FleetEntry("c", str(capture), "capture"))
    assert machine.error is None
    assert machine.identity["machine_id"] is None
    assert machine.identity["dmi_serial"] is None


def test_gpus_carry_driver_group_and_isolation(tmp_path: Path) -> None:
    """Each GPU kept has its driver, IOMMU group, whether it is isolated, and its card."""
    top = sos_dir("asrock-z170-gtx960", tmp_path / "sosreport-a")
    machine = probe_entry(FleetEntry("a", str(top), "sos"))
    gpus = machine.facts["gpus"]
    assert gpus and all(
        set(g) == {"name", "driver", "group", "isolated", "card"} for g in gpus.values()
    )


def test_a_missing_source_is_the_machines_error(tmp_path: Path) -> None:
    """A source gone between discovery and opening: that machine's error, no statuses."""
    machine = probe_entry(FleetEntry("gone", str(tmp_path / "gone.tar.gz"), "capture"))
    assert machine.error is not None and machine.statuses == {}
    assert machine.summary.startswith("not opened:")
    assert machine.to_dict()["error"]["message"]
