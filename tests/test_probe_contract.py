"""The probe contract: declared, typed options checked and defaulted by the runner, and
`results` holding only the probes a probe requires or uses."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

import pytest

from probes.looking_glass import LG_BYTES_PER_PIXEL, LG_RESOLUTION, LookingGlass
from tests.conftest import RECORDED, load_facts
from workbench.core.errors import ConfigError
from workbench.core.host import Host
from workbench.core.probe import Probe, ProbeContext, ProbeOption
from workbench.core.report import Outcome
from workbench.core.runner import discover_probes, run_probes
from workbench.machines import build_root

RATIO = ProbeOption("x_ratio", float, 0.5, "a share")
COUNT = ProbeOption("x_count", int, 3, "how many")
NAME = ProbeOption("x_name", str, "anon", "a name")


class Reads(Probe):
    """Records what it was handed."""

    id = "x.reads"
    title = "reads options"
    options = (RATIO, COUNT, NAME)
    seen: ClassVar[list[dict[str, object]]] = []

    def run(self, ctx: ProbeContext) -> Outcome:
        Reads.seen.append(
            {"values": dict(ctx.values), "ratio": ctx.option(RATIO), "count": ctx.option(COUNT)}
        )
        return Outcome("pass", "read")


class Other(Probe):
    id = "x.other"
    title = "another probe"
    options = (ProbeOption("x_other", str, "o", "only this probe's"),)

    def run(self, ctx: ProbeContext) -> Outcome:
        return Outcome("pass", "ran")


def run_reads(tmp_path: Path, options: dict[str, object], **kwargs: Any) -> dict[str, object]:
    Reads.seen.clear()
    report = run_probes(Host(tmp_path), [Reads, Other], options=options, **kwargs)
    assert report.get("x.reads").status == "pass"
    return Reads.seen[-1]


def test_defaults_fill_what_is_not_given(tmp_path: Path) -> None:
    """ctx.values holds every option the probe declares (and no other probe's): given or default."""
    seen = run_reads(tmp_path, {"x_count": 7, "x_other": "z"})
    assert seen["values"] == {"x_ratio": 0.5, "x_count": 7, "x_name": "anon"}


def test_none_means_not_given(tmp_path: Path) -> None:
    """A None value (an unset setting) leaves the default."""
    assert run_reads(tmp_path, {"x_count": None})["count"] == 3


def test_an_int_for_a_float_is_converted(tmp_path: Path) -> None:
    """An int given for a float option reaches the probe as a float."""
    seen = run_reads(tmp_path, {"x_ratio": 2})
    assert seen["ratio"] == 2.0 and isinstance(seen["ratio"], float)


@pytest.mark.parametrize(
    ("name", "value", "got"),
    [
        ("x_count", "7", "str"),
        ("x_count", 1.5, "float"),
        ("x_count", True, "bool"),
        ("x_ratio", "0.5", "str"),
        ("x_name", 4, "int"),
    ],
)
def test_a_value_of_the_wrong_type_is_a_config_error(
    tmp_path: Path, name: str, value: object, got: str
) -> None:
    """A value of another type names the option, its probe, the type it takes and its help."""
    with pytest.raises(ConfigError) as info:
        run_probes(Host(tmp_path), [Reads], options={name: value})
    err = info.value
    assert err.code == "PROBE_OPTION_TYPE"
    assert f"probe option {name!r} of x.reads takes a" in err.message
    assert err.details["got"] == got
    assert err.remedy is not None and err.remedy.startswith(f"{name}: ")


def test_an_unknown_option_names_the_known_ones(tmp_path: Path) -> None:
    """A name no probe of the run declares is refused, listing the names that are declared."""
    with pytest.raises(ConfigError) as info:
        run_probes(Host(tmp_path), [Reads, Other], options={"x_cuont": 7})
    err = info.value
    assert err.code == "PROBE_OPTION_UNKNOWN"
    assert err.message == (
        "unknown probe option 'x_cuont' (known: x_count, x_name, x_other, x_ratio)"
    )
    assert err.details["known"] == ["x_count", "x_name", "x_other", "x_ratio"]


def test_an_option_of_a_probe_left_out_by_only_is_accepted(tmp_path: Path) -> None:
    """`only` does not turn another probe's option into an unknown one (the CLI always passes
    --lg-resolution)."""
    report = run_probes(Host(tmp_path), [Reads, Other], only=["x.other"], options={"x_count": 1})
    assert [r.id for r in report.probes] == ["x.other"]


def test_reading_an_undeclared_option_is_an_error_result(tmp_path: Path) -> None:
    """A probe that reads an option it does not declare breaks visibly (its value would be
    refused or ignored), as status error naming the option."""

    class Sneaky(Probe):
        id = "x.sneaky"
        title = "reads what it does not declare"

        def run(self, ctx: ProbeContext) -> Outcome:
            return Outcome("pass", str(ctx.option(RATIO)))

    result = run_probes(Host(tmp_path), [Sneaky]).get("x.sneaky")
    assert result.status == "error"
    assert result.error is not None
    assert result.error["error"] == "PROBE_OPTION_UNDECLARED"
    assert result.error["details"]["option"] == "x_ratio"


def make(pid: str, body: Callable[[ProbeContext], str], **attrs: Any) -> type[Probe]:
    def run(self: Probe, ctx: ProbeContext) -> Outcome:
        return Outcome("pass", body(ctx))

    return type(pid, (Probe,), {"id": pid, "title": pid, "run": run, **attrs})


def test_results_hold_only_the_declared_probes(tmp_path: Path) -> None:
    """A probe sees the results of what it requires or uses, nothing else, read-only."""
    a = make("x.a", lambda ctx: "a")
    b = make("x.b", lambda ctx: "b")
    reader = make(
        "x.reader",
        lambda ctx: ",".join(f"{pid}={ctx.results[pid].summary}" for pid in sorted(ctx.results)),
        requires=("x.a",),
        uses=("x.b",),
    )
    unrelated = make("x.unrelated", lambda ctx: str(len(ctx.results)))
    report = run_probes(Host(tmp_path), [a, b, reader, unrelated])
    assert report.get("x.reader").summary == "x.a=a,x.b=b"
    assert report.get("x.unrelated").summary == "0"


def test_reading_an_undeclared_result_is_an_error_result(tmp_path: Path) -> None:
    """Reading another probe's result without declaring it is status error naming both probes,
    even when that result exists."""
    a = make("x.a", lambda ctx: "a")
    peeks = make("x.peeks", lambda ctx: ctx.results["x.a"].summary)
    result = run_probes(Host(tmp_path), [a, peeks]).get("x.peeks")
    assert result.status == "error"
    assert result.error is not None
    assert result.error["error"] == "PROBE_UNDECLARED_RESULT"
    assert result.error["details"] == {"probe": "x.peeks", "reads": "x.a", "declared": []}


def test_looking_glass_reads_its_declared_options(tmp_path: Path) -> None:
    """display.looking_glass declares its two options and sizes by both (8 bytes/pixel, 4K
    needs 256 MiB)."""
    assert set(LookingGlass.options) == {LG_RESOLUTION, LG_BYTES_PER_PIXEL}
    root = build_root(load_facts(RECORDED[0]), tmp_path / "root")
    options = {"lg_resolution": "3840x2160", "lg_bytes_per_pixel": 8}
    facts = run_probes(Host(root), [LookingGlass], options=options).get("display.looking_glass")
    assert facts.facts["required_mib"] == 256
    default = run_probes(Host(root), [LookingGlass]).get("display.looking_glass")
    assert default.facts["required_mib"] == 32


@pytest.mark.parametrize("machine", RECORDED)
def test_registered_probes_keep_the_contract(tmp_path: Path, machine: str) -> None:
    """On every recorded machine, no registered probe reads an option or a result it does
    not declare."""
    root = build_root(load_facts(machine), tmp_path / "root")
    report = run_probes(Host(root), discover_probes())
    codes = {r.id: r.error["error"] for r in report.probes if r.error is not None}
    assert not {pid: c for pid, c in codes.items() if "UNDECLARED" in c}
