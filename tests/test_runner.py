"""The runner: dependency order, blocked probes, broken and hung probes, plugin discovery."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import ClassVar

import pytest

from workbench.core.errors import ConfigError, HardwareError
from workbench.core.host import Host
from workbench.core.probe import Probe, ProbeContext
from workbench.core.report import Outcome, ProbeResult, Status
from workbench.core.runner import discover_probes, order_probes, run_probes

EXPECTED_IDS = {
    "cpu.virtualization",
    "kvm.device",
    "iommu.enabled",
    "iommu.groups",
    "kernel.cmdline",
    "pci.gpus",
    "vfio.binding",
    "memory.hugepages",
    "display.looking_glass",
    "libvirt.connection",
    "libvirt.domains",
    "vm.preflight",
    "guest.agent",
    "kernel.log",
    "pci.device_state",
    "host.vhost_net",
    "host.tun",
    "host.cgroups",
    "cpu.secure_guest",
}


def fixed(pid: str, status: Status, requires: tuple[str, ...] = ()) -> type[Probe]:
    class Fixed(Probe):
        id = pid
        title = pid
        seen: ClassVar[list[str]] = []

        def run(self, ctx: ProbeContext) -> Outcome:
            Fixed.seen.append(",".join(sorted(ctx.results)))
            return Outcome(status, f"{pid} is {status}")

    Fixed.requires = requires
    return Fixed


def test_entry_points_register_every_probe() -> None:
    """The installed package registers the hardware and hypervisor probes in report order."""
    found = discover_probes()
    assert {p.id for p in found} == EXPECTED_IDS
    assert found[0].id == "cpu.virtualization"
    assert found[-1].id == "guest.agent"


def test_prerequisites_run_first_and_only_pulls_them_in() -> None:
    """Order is topological; `only` adds what the chosen probes require."""
    a, b, c = fixed("a", "pass"), fixed("b", "pass", ("c",)), fixed("c", "pass")
    assert [p.id for p in order_probes([a, b, c])] == ["a", "c", "b"]
    assert [p.id for p in order_probes([a, b, c], only=["b"])] == ["c", "b"]


def test_unknown_only_and_cycles_are_config_errors() -> None:
    """An unknown id names the known ones; a cycle is named."""
    a, b = fixed("a", "pass", ("b",)), fixed("b", "pass", ("a",))
    with pytest.raises(ConfigError, match="unknown probe id: zzz") as info:
        order_probes([a], only=["zzz"])
    assert info.value.details["known"] == ["a"]
    with pytest.raises(ConfigError, match="cycle: a -> b -> a"):
        order_probes([a, b])


@pytest.mark.parametrize(
    ("prereq", "blocked"),
    [("pass", False), ("warn", False), ("fail", True), ("error", True), ("skip", True)],
)
def test_failed_prerequisite_blocks(tmp_path: Path, prereq: Status, blocked: bool) -> None:
    """A probe whose prerequisite failed, errored or was skipped says `blocked by` and never runs."""
    dep = fixed("x.dep", prereq)
    child = fixed("x.child", "pass", ("x.dep",))
    report = run_probes(Host(tmp_path), [dep, child])
    result = report.get("x.child")
    if blocked:
        assert (result.status, result.blocked_by) == ("skip", ["x.dep"])
        assert result.summary == "blocked by x.dep"
    else:
        assert result.status == "pass" and result.blocked_by == []


def test_unregistered_prerequisite_blocks(tmp_path: Path) -> None:
    """Requiring a probe nobody registered blocks rather than crashing."""
    report = run_probes(Host(tmp_path), [fixed("x.child", "pass", ("x.ghost",))])
    assert report.get("x.child").blocked_by == ["x.ghost"]


def test_crashing_probe_becomes_error_with_context(tmp_path: Path) -> None:
    """An unexpected exception is status `error`, PROBE_FAILED, with cause and context; the
    report goes on."""

    class Crashes(Probe):
        id = "x.crash"
        title = "crash"

        def run(self, ctx: ProbeContext) -> Outcome:
            return Outcome("pass", str({}["missing"]))

    report = run_probes(Host(tmp_path), [Crashes, fixed("x.after", "pass")])
    result = report.get("x.crash")
    assert result.status == "error"
    assert result.error is not None
    assert result.error["error"] == "PROBE_FAILED"
    assert result.error["cause"] == {"type": "KeyError", "message": "'missing'"}
    assert result.error["context"] == ["probes.x.crash::run"]
    assert report.get("x.after").status == "pass"


def test_workbench_error_keeps_its_code_and_remedy(tmp_path: Path) -> None:
    """A probe raising a WorkbenchError keeps its code, remedy and details in the report."""

    class Raises(Probe):
        id = "x.raise"
        title = "raise"

        def run(self, ctx: ProbeContext) -> Outcome:
            raise HardwareError(
                "card fell off",
                code="GPU_ERROR",
                details={"bdf": "0000:01:00.0"},
                remedy="reseat it",
            )

    result = run_probes(Host(tmp_path), [Raises]).get("x.raise")
    assert result.error is not None
    assert (result.error["error"], result.error["remedy"]) == ("GPU_ERROR", "reseat it")
    assert result.error["details"] == {"bdf": "0000:01:00.0"}


def test_hung_probe_times_out_and_dependants_skip(tmp_path: Path) -> None:
    """A probe that never returns is PROBE_TIMEOUT after its limit; its dependants are blocked."""
    release = threading.Event()

    class Hangs(Probe):
        id = "x.hang"
        title = "hang"

        def run(self, ctx: ProbeContext) -> Outcome:
            release.wait(30)
            return Outcome("pass", "late")

    try:
        report = run_probes(
            Host(tmp_path), [Hangs, fixed("x.next", "pass", ("x.hang",))], timeout_s=0.2
        )
    finally:
        release.set()
    result = report.get("x.hang")
    assert result.status == "error"
    assert result.error is not None and result.error["error"] == "PROBE_TIMEOUT"
    assert result.error["recoverable"] is True
    assert report.get("x.next").blocked_by == ["x.hang"]


def test_results_stream_to_a_listener(tmp_path: Path) -> None:
    """on_result sees every result in order as it is made."""
    seen: list[ProbeResult] = []
    run_probes(Host(tmp_path), [fixed("a", "pass"), fixed("b", "warn")], on_result=seen.append)
    assert [(r.id, r.status) for r in seen] == [("a", "pass"), ("b", "warn")]


def test_report_document_shape(tmp_path: Path) -> None:
    """to_dict follows the workbench.report/1 contract."""
    doc = run_probes(Host(tmp_path), [fixed("a", "pass")]).to_dict()
    assert doc["schema"] == "workbench.report/1"
    assert set(doc["host"]) >= {"root", "live", "generated_at", "workbench_version"}
    assert set(doc["probes"][0]) == {
        "id",
        "title",
        "status",
        "summary",
        "facts",
        "findings",
        "blocked_by",
        "error",
        "duration_ms",
    }


def test_hung_pci_scan_costs_one_wait_not_one_per_probe(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A scan stuck in a read times its probe out; the next PCI probes get a `hung` read error
    with the context chain instead of each hanging until its own timeout."""
    from workbench.core import host as host_module

    release = threading.Event()

    def stuck(host: Host) -> None:
        release.wait(30)

    monkeypatch.setattr(host_module, "scan_pci", stuck)
    monkeypatch.setattr(host_module, "SCAN_WAIT_S", 0.2)

    class UsesPci(Probe):
        title = "pci"

        def run(self, ctx: ProbeContext) -> Outcome:
            return Outcome("pass", f"{len(ctx.host.pci().devices)} devices")

    probes = [type(f"P{n}", (UsesPci,), {"id": f"x.pci{n}"}) for n in range(4)]
    try:
        report = run_probes(Host(tmp_path), probes, timeout_s=1.0)
    finally:
        release.set()
    errors = [r.error for r in report.probes]
    assert errors[0] is not None and errors[0]["error"] == "PROBE_TIMEOUT"
    for n, err in enumerate(errors[1:], start=1):
        assert err is not None
        assert (err["error"], err["details"]["reason"]) == ("HOST_READ_ERROR", "hung")
        assert err["context"] == ["core.host::scan_pci", f"probes.x.pci{n}::run"]


@pytest.mark.parametrize(
    ("source", "blocked"), [("pass", False), ("fail", False), ("error", True), ("skip", True)]
)
def test_uses_blocks_only_when_the_source_did_not_run(
    tmp_path: Path, source: Status, blocked: bool
) -> None:
    """A probe that only reads another's output runs after it even when it failed; it is
    blocked only when the source produced nothing (error or skip)."""
    src = fixed("x.src", source)
    reader = fixed("x.reader", "pass")
    reader.uses = ("x.src",)
    report = run_probes(Host(tmp_path), [reader, src])
    assert [r.id for r in report.probes] == ["x.src", "x.reader"]
    assert report.get("x.reader").blocked_by == (["x.src"] if blocked else [])


@pytest.mark.parametrize("source", ["pass", "fail", "error", "skip"])
def test_consults_never_blocks(tmp_path: Path, source: Status) -> None:
    """A probe that consults another runs after it and reads its result whatever its status,
    even when it produced nothing (error or skip)."""
    src = fixed("x.src", source)
    reader = fixed("x.reader", "pass")
    reader.consults = ("x.src",)
    report = run_probes(Host(tmp_path), [reader, src])
    assert [r.id for r in report.probes] == ["x.src", "x.reader"]
    assert report.get("x.reader").blocked_by == []
    assert report.get("x.reader").status == "pass"
    assert reader.seen[-1] == "x.src"  # the source's result was there to read
