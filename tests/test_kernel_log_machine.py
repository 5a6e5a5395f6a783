"""The demo's kernel lines (the GTX 1650 on vfio-pci, its audio on snd_hda_intel) as evidence
(issue 18): the kernel.log probe, which has the machine, names GROUP_MEMBER_NOT_VFIO with those
lines; `explain FILE` alone calls them suggestive (no verdict, exit 0); on a machine whose audio
is on vfio-pci now, the same boot lines show nothing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import run_cli
from workbench.demo import demo_facts
from workbench.machines import build_root

CAUSE = "GROUP_MEMBER_NOT_VFIO"
AUDIO = "0000:04:00.1"


@pytest.fixture
def kernel_log(tmp_path: Path) -> Path:
    """The demo machine's boot, as `demo --write` writes it."""
    log = tmp_path / "kernel.log"
    log.write_text("".join(f"{line}\n" for line in demo_facts()["kernel_log"]))
    return log


def numbered(log: Path, needle: str) -> list[int]:
    """The line numbers of `log` holding `needle`."""
    lines = log.read_text().splitlines()
    return [n for n, line in enumerate(lines, 1) if needle in line]


def root_of(tmp_path: Path, audio_driver: str) -> Path:
    """The demo machine with its card's audio on `audio_driver` now (the boot log unchanged)."""
    facts: dict[str, Any] = demo_facts()
    for dev in facts["devices"]:
        if dev["bdf"] == AUDIO:
            dev["driver"] = audio_driver
    return build_root(facts, tmp_path / f"root-{audio_driver}")


def kernel_probe(root: Path) -> dict[str, Any]:
    out = run_cli("probe", "--root", str(root), "--only", "kernel.log", "--json")
    probe: dict[str, Any] = next(
        p for p in json.loads(out.stdout)["probes"] if p["id"] == "kernel.log"
    )
    return probe


def test_explain_of_the_kernel_log_alone_is_suggestive_not_a_verdict(kernel_log: Path) -> None:
    """`explain kernel.log`: no cause (exit 0), the driver lines shown as suggestive of the
    cause, saying that the machine's facts decide."""
    out = run_cli("explain", str(kernel_log))
    assert out.returncode == 0, out.stderr
    assert "with --root/--capture/--sos the machine's facts decide" in out.stdout
    assert f"{CAUSE} · suggestive" in out.stdout
    assert (
        out.stdout.splitlines()[-1] == "16 lines read, no cause found, 1 suggestive (not a verdict)"
    )
    doc = json.loads(run_cli("explain", str(kernel_log), "--json").stdout)
    assert doc["causes"] == [] and [c["code"] for c in doc["suggestive"]] == [CAUSE]
    shown = {e["line"] for e in doc["suggestive"][0]["evidence"]}
    assert set(numbered(kernel_log, f"snd_hda_intel {AUDIO}")) <= shown
    assert set(numbered(kernel_log, "vfio-pci 0000:04:00.0")) <= shown


def test_the_probe_names_the_cause_with_the_kernel_lines(tmp_path: Path, kernel_log: Path) -> None:
    """On the demo machine (audio on snd_hda_intel now), kernel.log fails naming the cause, its
    finding citing the kernel lines with the machine's facts, the remedy the catalogue's."""
    probe = kernel_probe(root_of(tmp_path, "snd_hda_intel"))
    assert probe["status"] == "fail"
    (finding,) = probe["findings"]
    assert finding["cause"] == CAUSE and "Bind every device of the group" in finding["remedy"]
    lines = numbered(kernel_log, f"snd_hda_intel {AUDIO}")
    assert f"{', '.join(map(str, lines))} with the machine's facts." in finding["message"]
    assert "iommu_groups/11/devices" in finding["remedy"]  # the group named, not N
    (cause,) = probe["facts"]["causes"]
    texts = [e["text"] for e in cause["evidence"]]
    assert any(f"snd_hda_intel {AUDIO}: enabling device" in t for t in texts)
    assert f"{AUDIO} driver: snd_hda_intel" in texts  # the machine's own binding


def test_the_machine_decides_when_its_audio_is_on_vfio_now(
    tmp_path: Path, kernel_log: Path
) -> None:
    """The same boot lines on a machine whose audio was rebound to vfio-pci since: kernel.log
    passes, and `explain --root` names no cause and suggests none."""
    root = root_of(tmp_path, "vfio-pci")
    probe = kernel_probe(root)
    assert probe["status"] == "pass" and probe["findings"] == []
    out = run_cli("explain", "--root", str(root), str(kernel_log), "--json")
    doc = json.loads(out.stdout)
    assert out.returncode == 0 and doc["causes"] == [] and doc["suggestive"] == []


def test_explain_with_the_qemu_log_is_unchanged_by_the_seed(
    tmp_path: Path, kernel_log: Path
) -> None:
    """With the QEMU log's `not viable` lines the cause is a verdict as before (confidence
    0.75, exit 1) and nothing is called suggestive."""
    qemu = tmp_path / "qemu-media-server.log"
    qemu.write_text("".join(f"{line}\n" for line in demo_facts()["qemu_logs"]["media-server"]))
    out = run_cli("explain", str(kernel_log), str(qemu), "--json")
    doc = json.loads(out.stdout)
    assert out.returncode == 1 and doc["suggestive"] == []
    assert doc["causes"][0]["code"] == CAUSE and doc["causes"][0]["confidence"] == 0.75
